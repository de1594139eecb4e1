//! The server binary: it refuses to start without its models and says what to do, keeps a
//! Redis password out of its log, and on SIGTERM it drains and exits cleanly.

use crate::support;

use std::process::Command;

use support::{jpeg_frame, listening_addr, log_lines, start_stream, still_until_verdict};

#[test]
fn missing_models_stop_start_up_with_the_file_and_the_fetch_command() {
    let empty = std::env::temp_dir().join(format!("livegate-empty-models-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_livegate-server"))
        .args(["--addr", "127.0.0.1:0", "--model-dir"])
        .arg(&empty)
        .env("LIVEGATE_LOG", "off")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("face_detection_yunet_2023mar.onnx"),
        "{stderr}"
    );
    assert!(
        stderr.contains("python3 engine/assets/fetch.py models"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    std::fs::remove_dir_all(&empty).unwrap();
}

#[test]
fn a_redis_password_stays_out_of_the_log_even_when_start_up_fails() {
    const PASSWORD: &str = "s3cret-redis-pass";
    let closed = support::free_port();
    let out = Command::new(env!("CARGO_BIN_EXE_livegate-server"))
        .args(["--addr", "127.0.0.1:0", "--rest-addr", "127.0.0.1:0"])
        .args(["--metrics-addr", "127.0.0.1:0"])
        .env(
            "LIVEGATE_REDIS_URL",
            format!("redis://:{PASSWORD}@127.0.0.1:{closed}/0"),
        )
        .env("LIVEGATE_LOG", "info")
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("session store (Redis) unavailable"), "{log}");
    // The configuration line still says where Redis is.
    assert!(
        log.contains(&format!("redis://:redacted@127.0.0.1:{closed}/0")),
        "{log}"
    );
    assert!(!log.contains(PASSWORD), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_a_running_stream_finish_then_the_process_exits_cleanly() {
    use livegate_proto::v1 as pb;
    use pb::stream_session_response::Message as Out;
    use std::time::{Duration, Instant};

    let mut child = support::server_process(&[
        "--antispoof",
        "false",
        "--step-time-limit",
        "1s",
        "--drain-timeout",
        "30s",
        "--disclose-verdict",
        "true",
    ]);
    let log = log_lines(&mut child);
    let grpc_addr = listening_addr(&log, "gRPC");
    let metrics_addr = listening_addr(&log, "Prometheus");

    let mut client = pb::liveness_client::LivenessClient::connect(format!("http://{grpc_addr}"))
        .await
        .unwrap();
    let created = client
        .create_session(pb::CreateSessionRequest::default())
        .await
        .unwrap()
        .into_inner();
    let (tx, mut responses) = start_stream(
        &mut client,
        &created.session_id,
        &created.stream_token,
        vec![jpeg_frame(0)],
    )
    .await;
    while !matches!(
        responses.message().await.unwrap().unwrap().message,
        Some(Out::Feedback(_))
    ) {}

    // SIGTERM, as an orchestrator sends it.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let signalled = Instant::now();

    // Once the drain has begun, Prometheus still sees the stream it waits for.
    let drain_logged = log
        .iter()
        .any(|line| line.contains("draining: no new sessions or streams"));
    assert!(drain_logged, "the drain is logged");
    let scraped = Command::new("curl")
        .args(["-sS", "-m", "5", &format!("http://{metrics_addr}/metrics")])
        .output()
        .unwrap();
    let scraped = String::from_utf8_lossy(&scraped.stdout);
    assert!(
        scraped.lines().any(|l| l == "livegate_active_streams 1"),
        "{scraped}"
    );

    // The stream goes on to its verdict (its first step times out after 1 s of frames).
    let _ = tx.send(jpeg_frame(100)).await;
    let verdict = still_until_verdict(&tx, &mut responses, 100).await;
    assert!(
        verdict.reasons.iter().any(|r| r == "CHALLENGE_TIMEOUT"),
        "{verdict:?}"
    );
    drop(tx);

    // Then the process ends by itself, cleanly, long before the 30 s drain deadline.
    let exit = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(exit.success(), "{exit:?}");
    assert!(
        signalled.elapsed() < Duration::from_secs(15),
        "{:?}",
        signalled.elapsed()
    );
}
