//! API keys and tenants on both transports, stream tokens, and the per-key rate limit.

use crate::support;

use livegate_proto::v1 as pb;
use support::{ACME_KEY, GLOBEX_KEY, assert_error, code, curl, grpc, keyed, start, with_keys};
use tokio_stream::StreamExt;

fn create_url(server: &support::TestServer) -> String {
    format!("{}/api/liveness/session", server.rest_url)
}

fn bearer(key: &str) -> String {
    format!("Authorization: Bearer {key}")
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_needs_a_valid_key_and_a_tenant_sees_only_its_sessions() {
    let server = start(with_keys).await;
    let create = create_url(&server);
    // Missing and wrong keys.
    assert_error(&curl(&["-X", "POST", &create]), 2013, 401);
    let wrong = bearer("acme-key-0123456789abcdeX");
    assert_error(&curl(&["-X", "POST", &create, "-H", &wrong]), 2013, 401);
    // The right key, in either header.
    let acme = bearer(ACME_KEY);
    let created = curl(&["-X", "POST", &create, "-H", &acme]);
    assert_eq!(created.status, 200, "{created:?}");
    let x_key = format!("x-api-key: {GLOBEX_KEY}");
    assert_eq!(curl(&["-X", "POST", &create, "-H", &x_key]).status, 200);

    let id = created.json["sessionId"].as_str().unwrap();
    let results = format!("{}/api/liveness/session/{id}/results", server.rest_url);
    assert_eq!(curl(&[&results, "-H", &acme]).status, 200);
    // Another tenant's session does not exist for globex, exactly like a guessed id.
    assert_error(&curl(&[&results, "-H", &x_key]), 1008, 404);
    let verify = format!("{}/api/liveness/verify/{id}", server.rest_url);
    assert_error(&curl(&["-X", "POST", &verify, "-H", &x_key]), 1008, 404);
    let guessed = format!(
        "{}/api/liveness/session/{}/results",
        server.rest_url, "00000000-0000-0000-0000-000000000000"
    );
    assert_error(&curl(&[&guessed, "-H", &acme]), 1008, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_needs_a_valid_key_and_the_stream_its_one_time_token() {
    let server = start(with_keys).await;
    let mut client = grpc(&server).await;

    // No key, a wrong key.
    let e = client
        .create_session(pb::CreateSessionRequest::default())
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), code(&e)),
        (tonic::Code::Unauthenticated, Some(2013))
    );
    let e = client
        .create_session(keyed(
            pb::CreateSessionRequest::default(),
            "no-such-key-0123456789",
        ))
        .await
        .unwrap_err();
    assert_eq!(code(&e), Some(2013));

    // Health and reflection need no key.
    let channel = tonic::transport::Channel::from_shared(server.grpc_url.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let serving = health
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .unwrap();
    assert_eq!(serving.into_inner().status, 1);

    let created = client
        .create_session(keyed(pb::CreateSessionRequest::default(), ACME_KEY))
        .await
        .unwrap()
        .into_inner();
    // Another tenant cannot read, verify or stream it.
    let get = pb::GetSessionResultRequest {
        session_id: created.session_id.clone(),
    };
    let e = client
        .get_session_result(keyed(get.clone(), GLOBEX_KEY))
        .await
        .unwrap_err();
    assert_eq!((e.code(), code(&e)), (tonic::Code::NotFound, Some(1008)));
    let start = support::start_message(&created.session_id, &created.stream_token);
    let e = client
        .stream_session(keyed(tokio_stream::iter(vec![start.clone()]), GLOBEX_KEY))
        .await
        .unwrap_err();
    assert_eq!(code(&e), Some(1008), "{e:?}");
    // A wrong token for the right tenant.
    let forged = support::start_message(&created.session_id, &"0".repeat(64));
    let e = client
        .stream_session(keyed(tokio_stream::iter(vec![forged]), ACME_KEY))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), code(&e)),
        (tonic::Code::PermissionDenied, Some(2002))
    );

    // The owner streams once; the token cannot be used again.
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(start.clone()).await.unwrap();
    let mut first = client
        .stream_session(keyed(
            tokio_stream::wrappers::ReceiverStream::new(rx),
            ACME_KEY,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(matches!(
        first.next().await,
        Some(Ok(pb::StreamSessionResponse {
            message: Some(pb::stream_session_response::Message::SessionStarted(_))
        }))
    ));
    let e = client
        .stream_session(keyed(tokio_stream::iter(vec![start]), ACME_KEY))
        .await
        .unwrap_err();
    assert_eq!(code(&e), Some(2001), "{e:?}");
    drop(tx);
}

#[tokio::test(flavor = "multi_thread")]
async fn session_creation_is_rate_limited_per_key_on_both_transports() {
    let server = start(|c| {
        with_keys(c);
        c.sessions_per_minute = 1;
        c.session_burst = 2;
    })
    .await;
    let create = create_url(&server);
    let acme = bearer(ACME_KEY);
    for _ in 0..2 {
        assert_eq!(curl(&["-X", "POST", &create, "-H", &acme]).status, 200);
    }
    let limited = curl(&["-X", "POST", &create, "-H", &acme]);
    assert_error(&limited, 2014, 429);
    assert!(limited.headers.contains("retry-after:"), "{limited:?}");

    // The limit is the key's, whichever port it calls.
    let mut client = grpc(&server).await;
    let e = client
        .create_session(keyed(pb::CreateSessionRequest::default(), ACME_KEY))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), code(&e)),
        (tonic::Code::ResourceExhausted, Some(2014))
    );
    // Another key is not affected, and reading results is not limited.
    client
        .create_session(keyed(pb::CreateSessionRequest::default(), GLOBEX_KEY))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn every_operation_the_api_document_says_needs_a_key_refuses_a_keyless_call() {
    // The served OpenAPI document is the contract: an operation with `security: []` is public,
    // every other one needs a key. A route added to the wrong router breaks this.
    let server = start(|c| {
        with_keys(c);
        c.demo = true;
    })
    .await;
    let document = curl(&[&format!("{}/api/openapi.json", server.rest_url)]);
    assert_eq!(document.status, 200, "the document itself is public");
    let paths = document.json["paths"].as_object().unwrap();
    let mut checked = 0;
    for (path, operations) in paths {
        let url = format!(
            "{}{}",
            server.rest_url,
            path.replace("{sessionId}", "00000000-0000-0000-0000-000000000000")
        );
        for (method, operation) in operations.as_object().unwrap() {
            let public = operation
                .get("security")
                .is_some_and(|s| s.as_array().is_some_and(Vec::is_empty));
            let answer = curl(&["-X", &method.to_uppercase(), &url]);
            let refused = answer.status == 401 && answer.json["errorCode"] == 2013;
            assert_eq!(
                refused, !public,
                "{method} {path} (public: {public}): {answer:?}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "{checked} operations");
}
