//! A client that is not ours: Python grpcio, with stubs generated from our `.proto` files alone
//! (`tests/python/liveness_client.py`), drives CreateSession → StreamSession → GetSessionResult
//! → VerifySession, and Identity/CompareFaces, against a real server with API keys.

use crate::support;

use std::process::Command;

use support::{ACME_KEY, grpc_python as python, media, start, with_keys};

#[tokio::test(flavor = "multi_thread")]
async fn python_grpcio_generated_from_the_proto_drives_a_whole_session() {
    let server = start(|c| {
        with_keys(c);
        c.step_time_limit = std::time::Duration::from_secs(1);
    })
    .await;
    let address = server.grpc_url.trim_start_matches("http://").to_string();
    let stubs = std::env::temp_dir().join(format!("livegate-py-stubs-{}", std::process::id()));
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/liveness_client.py"
    );
    let frame = media("franck_02045.jpg");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python())
            .arg(script)
            .args([&address, ACME_KEY])
            .arg(frame)
            .arg(&stubs)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON report");

    // Generated Python names carry the enum's prefix (see the note in liveness.proto).
    assert_eq!(
        report["created"]["status"], "SESSION_STATUS_CREATED",
        "{report}"
    );
    assert_eq!(report["created"]["has_token"], true);
    let stream = &report["stream"];
    assert_eq!(stream["session_started"], 1, "{report}");
    assert!(stream["challenge"].as_u64().unwrap() >= 1, "{report}");
    // The script sends as fast as it can; the server analyses the newest frame and drops the
    // rest (backpressure), so only some frames get feedback.
    assert!(stream["feedback"].as_u64().unwrap() >= 1, "{report}");
    // The device learns that the attempt is over, not how it went (the server's default).
    let verdict = &report["verdict"];
    assert_eq!(verdict["status"], "SESSION_STATUS_COMPLETED", "{report}");
    assert_eq!(verdict["is_live"], false, "{report}");
    assert_eq!(verdict["confidence"], 0.0, "{report}");
    assert_eq!(verdict["reasons"], serde_json::json!([]), "{report}");
    // The backend, with its key, reads it: a still photo, repeated, cannot answer the challenge
    // in its second.
    assert!(
        report["result"]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "CHALLENGE_TIMEOUT"),
        "{report}"
    );
    assert_eq!(
        report["result"]["status"], "SESSION_STATUS_FAILED",
        "{report}"
    );
    assert_eq!(report["result"]["has_reference_image"], true, "{report}");
    // Verify refuses a session that was not live, with our error details in the trailers.
    let verify = &report["verify"];
    assert_eq!(verify["code"], "FAILED_PRECONDITION", "{report}");
    assert!(
        verify["message"]
            .as_str()
            .unwrap()
            .contains("below required threshold"),
        "{report}"
    );
    assert_eq!(verify["has_error_details"], true, "{report}");
    // The Identity service from the same stubs: a picture matches itself.
    let compare = &report["compare"];
    assert_eq!(compare["is_match"], true, "{report}");
    assert!(compare["similarity"].as_f64().unwrap() >= 99.0, "{report}");
    assert_eq!(compare["threshold"], 90.0, "{report}");
}
