//! TLS on both transports with a certificate generated for the test.

use crate::support;

use livegate_proto::v1 as pb;
use support::{curl, start};
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

#[tokio::test(flavor = "multi_thread")]
async fn grpc_and_rest_speak_tls_with_the_configured_certificate() {
    let dir = std::env::temp_dir().join(format!("livegate-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert_pem, key_pem) = (generated.cert.pem(), generated.signing_key.serialize_pem());
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, &cert_pem).unwrap();
    std::fs::write(&key, &key_pem).unwrap();
    let server = start(|c| {
        c.tls_cert = Some(cert.clone());
        c.tls_key = Some(key.clone());
    })
    .await;

    // gRPC over TLS, trusting only the generated certificate.
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&cert_pem))
        .domain_name("localhost");
    let channel = Channel::from_shared(format!("https://localhost:{}", server.grpc_addr.port()))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let created = pb::liveness_client::LivenessClient::new(channel)
        .create_session(pb::CreateSessionRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.status, pb::SessionStatus::Created as i32);
    // A plaintext client gets nowhere.
    let plain = pb::liveness_client::LivenessClient::connect(server.grpc_url.clone()).await;
    match plain {
        Err(_) => {}
        Ok(mut client) => assert!(
            client
                .create_session(pb::CreateSessionRequest::default())
                .await
                .is_err()
        ),
    }

    // REST over TLS: the seed's create call, with curl trusting the generated certificate.
    let port = server.rest_addr.port();
    let cacert = cert.to_string_lossy().to_string();
    let created = curl(&[
        "--cacert",
        &cacert,
        "-X",
        "POST",
        &format!("https://localhost:{port}/api/liveness/session"),
    ]);
    assert_eq!(created.status, 200, "{created:?}");
    assert_eq!(created.json["status"], "CREATED");
    // Without the certificate curl refuses the server; in plaintext the server refuses curl.
    assert_eq!(
        curl(&[&format!("https://localhost:{port}/health")]).status,
        0
    );
    assert_eq!(
        curl(&[&format!("http://localhost:{port}/health")]).status,
        0
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
