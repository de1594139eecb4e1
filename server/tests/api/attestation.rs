//! Client attestation end to end: a verifier on loopback (an HTTP service of its own, as a
//! customer's backend would run it) that accepts one token, and the server posting it each
//! stream's token under the deployment's policy.

use crate::support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use livegate_proto::v1 as pb;
use livegate_server::attestation::AttestationPolicy;
use livegate_server::config::Config;
use sha2::{Digest, Sha256};
use support::{code, jpeg_frame, start, start_message};
use tokio_stream::StreamExt;

/// The one token the verifier accepts: what a genuine app's platform would have signed.
const GENUINE: &[u8] = b"token of the customer's genuine app";
const VERIFIER_SECRET: &str = "verifier-secret-0123456789";

/// What the verifier was asked, as it received it.
#[derive(Debug, Clone)]
struct Asked {
    authorization: Option<String>,
    body: serde_json::Value,
}

/// A verifier on a loopback port: `{"valid": true}` for [`GENUINE`] bound to the session's
/// challenge (computed here from the documented rule, not by the server's code), `false` for
/// anything else.
async fn verifier() -> (String, Arc<Mutex<Vec<Asked>>>) {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let log = asked.clone();
    let app = axum::Router::new().route(
        "/verify",
        axum::routing::post(
            move |headers: http::HeaderMap, body: axum::Json<serde_json::Value>| {
                let log = log.clone();
                async move {
                    let body = body.0;
                    let expected_challenge = {
                        let session = body["sessionId"].as_str().unwrap_or_default();
                        let digest = Sha256::digest(
                            format!("livegate-attestation-v1\n{session}").as_bytes(),
                        );
                        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
                    };
                    let token = base64::engine::general_purpose::STANDARD
                        .decode(body["token"].as_str().unwrap_or_default())
                        .unwrap_or_default();
                    let valid = token == GENUINE && body["challenge"] == expected_challenge;
                    log.lock().unwrap().push(Asked {
                        authorization: headers
                            .get(http::header::AUTHORIZATION)
                            .map(|v| v.to_str().unwrap().to_string()),
                        body,
                    });
                    axum::Json(serde_json::json!({ "valid": valid }))
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/verify", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, asked)
}

fn require_attestation(config: &mut Config, url: &str) {
    config.attestation = AttestationPolicy::Required;
    config.attestation_verifier = Some(url.parse().unwrap());
    config.attestation_verifier_token = Some(VERIFIER_SECRET.parse().unwrap());
    config.attestation_timeout = Duration::from_secs(3);
}

fn attested_start(created: &pb::CreateSessionResponse, token: &[u8]) -> pb::StreamSessionRequest {
    let mut start = start_message(&created.session_id, &created.stream_token);
    if let Some(pb::stream_session_request::Message::Start(s)) = &mut start.message {
        s.attestation = Some(pb::ClientAttestation {
            kind: "play-integrity".into(),
            token: token.to_vec(),
        });
    }
    start
}

/// Streams `start` and three frames into `created`'s session, closes the stream, and returns the
/// verdict the device got and the result the backend reads.
async fn stream_and_close(
    server: &support::TestServer,
    created: &pb::CreateSessionResponse,
    start: pb::StreamSessionRequest,
) -> (pb::Verdict, pb::SessionResult) {
    let mut client = support::grpc(server).await;
    let frames = (0..3).map(|i| jpeg_frame(i * 100));
    let (tx, mut responses) =
        support::stream_messages(&mut client, std::iter::once(start).chain(frames)).await;
    drop(tx);
    let mut verdict = None;
    while let Some(message) = tokio::time::timeout(Duration::from_secs(20), responses.next())
        .await
        .expect("the stream ends")
    {
        if let Some(pb::stream_session_response::Message::Verdict(v)) = message.unwrap().message {
            verdict = Some(v);
        }
    }
    let result = client
        .get_session_result(pb::GetSessionResultRequest {
            session_id: created.session_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    (verdict.expect("a verdict"), result)
}

async fn create(server: &support::TestServer) -> pb::CreateSessionResponse {
    support::grpc(server)
        .await
        .create_session(pb::CreateSessionRequest::default())
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test(flavor = "multi_thread")]
async fn required_refuses_a_stream_without_a_token_and_keeps_its_session() {
    let (url, asked) = verifier().await;
    let server = start(|c| require_attestation(c, &url)).await;
    let created = create(&server).await;
    let mut client = support::grpc(&server).await;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(start_message(&created.session_id, &created.stream_token))
        .await
        .unwrap();
    let refused = client
        .stream_session(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .expect_err("refused at start");
    drop(tx);
    assert_eq!(
        (refused.code(), code(&refused)),
        (tonic::Code::FailedPrecondition, Some(2020)),
        "{refused:?}"
    );
    assert!(asked.lock().unwrap().is_empty(), "nothing to verify");
    // The session was not used up: the app streams it with its token.
    let (_, result) = stream_and_close(&server, &created, attested_start(&created, GENUINE)).await;
    assert_ne!(result.status, pb::SessionStatus::Created as i32);
    assert_eq!(asked.lock().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_the_verifier_refuses_fails_the_session_and_the_device_is_not_told() {
    let (url, asked) = verifier().await;
    let server = start(|c| require_attestation(c, &url)).await;
    let created = create(&server).await;
    let (verdict, result) = stream_and_close(
        &server,
        &created,
        attested_start(&created, b"token from another app"),
    )
    .await;
    assert_eq!(verdict.status, pb::SessionStatus::Completed as i32);
    assert!(verdict.reasons.is_empty(), "{verdict:?}");
    assert_eq!(result.status, pb::SessionStatus::Failed as i32);
    assert!(
        result.reasons.iter().any(|r| r == "CLIENT_NOT_ATTESTED"),
        "{result:?}"
    );
    assert_eq!(result.confidence, 0.0);
    // What the verifier was sent: the session, its challenge, the kind, the token, our secret.
    let asked = asked.lock().unwrap()[0].clone();
    assert_eq!(
        asked.authorization.as_deref(),
        Some(format!("Bearer {VERIFIER_SECRET}").as_str())
    );
    assert_eq!(asked.body["sessionId"], created.session_id.as_str());
    assert_eq!(asked.body["kind"], "play-integrity");
    assert_eq!(
        asked.body["challenge"],
        livegate_server::attestation::challenge(&created.session_id).as_str()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_genuine_token_adds_nothing_and_a_silent_verifier_fails_closed() {
    let (url, _) = verifier().await;
    let server = start(|c| require_attestation(c, &url)).await;
    let created = create(&server).await;
    let (_, result) = stream_and_close(&server, &created, attested_start(&created, GENUINE)).await;
    assert!(
        !result
            .reasons
            .iter()
            .any(|r| r == "CLIENT_NOT_ATTESTED" || r == "ATTESTATION_UNAVAILABLE"),
        "{result:?}"
    );

    // A verifier that accepts the connection and never answers: the stream's outcome waits for
    // it no longer than the timeout, and is not live. With the verdict disclosed (a demo), the
    // device reads why.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}/verify", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    let server = start(|c| {
        require_attestation(c, &silent_url);
        c.attestation_timeout = Duration::from_millis(500);
        c.disclose_verdict = true;
    })
    .await;
    let created = create(&server).await;
    let (verdict, result) =
        stream_and_close(&server, &created, attested_start(&created, GENUINE)).await;
    assert!(!verdict.is_live);
    assert!(
        verdict
            .reasons
            .iter()
            .any(|r| r == "ATTESTATION_UNAVAILABLE"),
        "{verdict:?}"
    );
    assert_eq!(result.status, pb::SessionStatus::Failed as i32);
    held.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn observe_verifies_without_refusing_or_failing_anyone() {
    let (url, asked) = verifier().await;
    let server = start(|c| {
        require_attestation(c, &url);
        c.attestation = AttestationPolicy::Observe;
    })
    .await;
    let created = create(&server).await;
    let (_, result) = stream_and_close(
        &server,
        &created,
        start_message(&created.session_id, &created.stream_token),
    )
    .await;
    assert!(result.reasons.iter().all(|r| r != "CLIENT_NOT_ATTESTED"));
    let created = create(&server).await;
    let (_, result) = stream_and_close(
        &server,
        &created,
        attested_start(&created, b"token from another app"),
    )
    .await;
    assert!(result.reasons.iter().all(|r| r != "CLIENT_NOT_ATTESTED"));
    assert_eq!(
        asked.lock().unwrap().len(),
        1,
        "the token was still verified"
    );
}
