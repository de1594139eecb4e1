//! The REST API as the seed documents it: its curl examples run verbatim (but for the host)
//! against a real server, and every answer has the seed's shape.

use crate::support;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use support::{Answer, assert_error, curl, curl_line, start};

/// The seed's curl examples, verbatim. The tests only swap its host for ours.
const CREATE: &str = r#"curl -X POST https://api.botskyc.com/api/liveness/session \
-H "Content-Type: application/json" \
-d '{"settings": {"auditImagesLimit": 4}}'"#;
const RESULTS: &str =
    "curl https://api.botskyc.com/api/liveness/session/abc123-def456-ghi789/results";
const COMPARE: &str = r#"curl -X POST https://api.botskyc.com/api/liveness/compare-faces \
-H "Content-Type: application/json" \
-d '{
"sourceImage": "...",
"targetImage": "..."
}'"#;
const KYC: &str = r#"curl -X POST https://api.botskyc.com/api/kyc/analyze/identity-with-liveness \
-F "files=@id_front.jpg" \
-F "files=@id_back.jpg" \
-F "liveness_session_id=abc123-def456-ghi789""#;

fn run(example: &str, rest_url: &str, dir: &std::path::Path) -> Answer {
    curl_line(&example.replace("https://api.botskyc.com", rest_url), dir)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seed_examples_run_verbatim_and_answer_in_its_shapes() {
    let server = start(|_| {}).await;
    let dir = std::env::temp_dir().join(format!("livegate-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The KYC example uploads two files from the working directory.
    for name in ["id_front.jpg", "id_back.jpg"] {
        std::fs::copy(support::media("franck_02045.jpg"), dir.join(name)).unwrap();
    }

    let created = run(CREATE, &server.rest_url, &dir);
    assert_eq!(created.status, 200, "{created:?}");
    let c = &created.json;
    assert_eq!(c["status"], "CREATED");
    let id = c["sessionId"].as_str().unwrap();
    assert_eq!(id.replace('-', "").len(), 32, "128 random bits: {id}");
    let created_at = humantime::parse_rfc3339(c["createdAt"].as_str().unwrap()).unwrap();
    let expiry = humantime::parse_rfc3339(c["expiryDate"].as_str().unwrap()).unwrap();
    assert_eq!(expiry.duration_since(created_at).unwrap().as_secs(), 600);
    assert_eq!(c["streamToken"].as_str().unwrap().len(), 64);

    // The results example names a session that does not exist here: the seed's 404 and 1008.
    assert_error(&run(RESULTS, &server.rest_url, &dir), 1008, 404);
    // The same request for the session just created: CREATED, no result yet.
    let results = run(
        &RESULTS.replace("abc123-def456-ghi789", id),
        &server.rest_url,
        &dir,
    );
    assert_eq!(results.status, 200, "{results:?}");
    assert_eq!(results.json["sessionId"], id);
    assert_eq!(results.json["status"], "CREATED");
    assert!(results.json.get("isLive").is_none(), "{results:?}");

    // Verify, as the seed's browser example sends it (POST, no body): nothing to verify yet.
    let url = format!("{}/api/liveness/verify/{id}", server.rest_url);
    assert_error(&curl(&["-X", "POST", &url]), 2010, 409);

    // The compare example's images are "...": not base64, so not readable, the seed's 1010.
    let compare = run(COMPARE, &server.rest_url, &dir);
    assert_error(&compare, 1010, 500);
    assert!(
        compare.json["message"]
            .as_str()
            .unwrap()
            .contains("sourceImage is not valid base64"),
        "{compare:?}"
    );
    // The KYC example names a session that does not exist here: 1008.
    assert_error(&run(KYC, &server.rest_url, &dir), 1008, 404);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_our_codes_in_the_seed_error_shape() {
    let server = start(|c| c.max_request_bytes = 4096).await;
    let create = format!("{}/api/liveness/session", server.rest_url);
    let json = ["-H", "Content-Type: application/json"];

    let mut args = vec!["-X", "POST", &create];
    args.extend(json);
    // Not JSON, wrong types, values out of range, unknown challenge kinds.
    for body in [
        "{not json",
        r#"{"settings": {"auditImagesLimit": "four"}}"#,
        r#"{"settings": {"auditImagesLimit": 5}}"#,
        r#"{"settings": {"confidenceThreshold": 120}}"#,
        r#"{"settings": {"challengeKinds": ["JUMP"]}}"#,
        r#"{"settings": {"minChallengeSteps": 4, "maxChallengeSteps": 2}}"#,
    ] {
        let mut a = args.clone();
        a.extend(["-d", body]);
        assert_error(&curl(&a), 2012, 400);
    }
    // A field the API does not know is refused by name, not dropped: a session asked to require
    // the light step, with the setting outside `settings` or misspelt, would otherwise run
    // without it; a compare with a misspelt threshold would match at 90.
    let compare = format!("{}/api/liveness/compare-faces", server.rest_url);
    for (url, body, field) in [
        (&create, r#"{"lightStep": true}"#, "lightStep"),
        (&create, r#"{"settings": {"lightstep": true}}"#, "lightstep"),
        (
            &compare,
            r#"{"sourceImage": "", "targetImage": "", "treshold": 95}"#,
            "treshold",
        ),
    ] {
        let mut a = vec!["-X", "POST", url.as_str()];
        a.extend(json);
        a.extend(["-d", body]);
        let refused = curl(&a);
        assert_error(&refused, 2012, 400);
        let message = refused.json["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("unknown field `{field}`")),
            "{message}"
        );
    }
    // A body over the limit.
    let big = format!(r#"{{"settings": {{}}, "padding": "{}"}}"#, "x".repeat(8192));
    let mut a = args.clone();
    a.extend(["-d", &big]);
    assert_error(&curl(&a), 2016, 413);
    // A body declared over the limit is refused before any of it is sent, not buffered first.
    let mut conn = tokio::net::TcpStream::connect(server.rest_addr)
        .await
        .unwrap();
    conn.write_all(
        b"POST /api/liveness/compare-faces HTTP/1.1\r\nhost: livegate\r\n\
          content-type: application/json\r\ncontent-length: 100000000\r\n\r\n",
    )
    .await
    .unwrap();
    let mut answer = vec![0u8; 1024];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), conn.read(&mut answer))
        .await
        .expect("answered without waiting for the body")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains(r#""errorCode":2016"#), "{answer}");
    // An empty body is the default settings, as in the seed's browser example.
    assert_eq!(curl(&["-X", "POST", &create]).status, 200);
    // A verify threshold out of range.
    let created = curl(&["-X", "POST", &create]);
    let id = created.json["sessionId"].as_str().unwrap();
    let verify = format!(
        "{}/api/liveness/verify/{id}?confidenceThreshold=101",
        server.rest_url
    );
    assert_error(&curl(&["-X", "POST", &verify]), 2012, 400);
    // A threshold that is not a number: the same code and shape, not a plain-text 400.
    let verify = format!(
        "{}/api/liveness/verify/{id}?confidenceThreshold=abc",
        server.rest_url
    );
    let refused = curl(&["-X", "POST", &verify]);
    assert_error(&refused, 2012, 400);
    // A misspelt threshold, which would leave the session's own in force.
    let verify = format!(
        "{}/api/liveness/verify/{id}?confidenceTreshold=95",
        server.rest_url
    );
    assert_error(&curl(&["-X", "POST", &verify]), 2012, 400);
    // Two thresholds that differ, one in the query and one in the body: neither is picked.
    let verify = format!(
        "{}/api/liveness/verify/{id}?confidenceThreshold=95",
        server.rest_url
    );
    let both = curl(&[
        "-X",
        "POST",
        &verify,
        "-H",
        "content-type: application/json",
        "-d",
        r#"{"confidenceThreshold": 10}"#,
    ]);
    assert_error(&both, 2012, 400);
    assert!(
        both.json["message"]
            .as_str()
            .is_some_and(|m| m.contains("both the body (10) and the query (95)")),
        "{both:?}"
    );
    // A session id that is not UTF-8 once decoded, a path or a method outside the API, a
    // stream request that is no WebSocket handshake: our codes in JSON, not axum's plain text
    // or an empty 404 (found by the REST fuzz target).
    let not_utf8 = format!("{}/api/liveness/session/ab%8Dcd/results", server.rest_url);
    assert_error(&curl(&[&not_utf8]), 2012, 400);
    assert_error(
        &curl(&[
            "-X",
            "POST",
            &format!("{}/api/liveness/verify/", server.rest_url),
        ]),
        2019,
        404,
    );
    // A path of the API with a method it does not take: 405, naming the ones it does.
    let wrong_method = curl(&[&create]);
    assert_error(&wrong_method, 2021, 405);
    assert!(
        wrong_method.headers.contains("\nallow: post"),
        "{wrong_method:?}"
    );
    let no_handshake = format!("{}/api/liveness/session/{id}/stream", server.rest_url);
    assert_error(&curl(&[&no_handshake]), 2012, 400);
    // API answers, errors included, are neither cached nor sniffed (results carry faces).
    let answer = curl(&[&format!(
        "{}/api/liveness/session/{id}/results",
        server.rest_url
    )]);
    assert_eq!(answer.status, 200, "{answer:?}");
    for answer in [&answer, &refused] {
        let headers = &answer.headers;
        assert!(headers.contains("cache-control: no-store"), "{headers}");
        assert!(
            headers.contains("x-content-type-options: nosniff"),
            "{headers}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_is_served_and_names_every_route() {
    let server = start(support::with_keys).await;
    // Public, like /health: a client generator needs no key.
    let doc = curl(&[&format!("{}/api/openapi.json", server.rest_url)]);
    assert_eq!(doc.status, 200);
    let checked_in: serde_json::Value =
        serde_json::from_str(include_str!("../../openapi.json")).unwrap();
    assert_eq!(doc.json, checked_in);
    assert_eq!(doc.json["openapi"], "3.1.0");
    let paths = doc.json["paths"].as_object().unwrap();
    for path in [
        "/api/liveness/session",
        "/api/liveness/session/{sessionId}/results",
        "/api/liveness/verify/{sessionId}",
        "/api/liveness/compare-faces",
        "/api/kyc/analyze/identity-with-liveness",
        "/api/liveness/session/{sessionId}/stream",
    ] {
        assert!(paths.contains_key(path), "{path} is not documented");
    }
    let health = curl(&[&format!("{}/health", server.rest_url)]);
    assert_eq!(health.json["status"], "SERVING");
}
