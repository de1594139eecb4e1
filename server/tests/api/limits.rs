//! Stream limits over gRPC, each ending the stream with its own code: frames in all, frame
//! rate, duration, silence and message size (frame size and the start timeout: `clients/cli/tests` and
//! `websocket.rs`); and the unary requests tonic refuses before our handlers run.

use crate::support;

use std::time::Duration;

use livegate_proto::v1 as pb;
use support::{code, jpeg_frame, start};
use tokio_stream::StreamExt;

/// Streams `frames` into a new session, then closes the request stream (or, with `stay_open`,
/// keeps it open and idle); returns the call's final error and the session's result.
async fn stream_until_error(
    server: &support::TestServer,
    frames: Vec<pb::StreamSessionRequest>,
    stay_open: bool,
) -> (tonic::Status, pb::SessionResult) {
    let (created, tx, mut client, mut responses) = support::open_stream(server, frames).await;
    let keep = stay_open.then_some(tx);
    let error = loop {
        match tokio::time::timeout(Duration::from_secs(20), responses.next())
            .await
            .expect("the server ends the stream")
        {
            Some(Ok(_)) => continue,
            Some(Err(e)) => break e,
            None => panic!("the stream ended without an error"),
        }
    };
    drop(keep);
    let result = client
        .get_session_result(pb::GetSessionResultRequest {
            session_id: created.session_id,
        })
        .await
        .unwrap()
        .into_inner();
    (error, result)
}

fn assert_failed_with(result: &pb::SessionResult, reason: &str) {
    assert_eq!(
        result.status,
        pb::SessionStatus::Failed as i32,
        "{result:?}"
    );
    assert_eq!(result.reasons, [reason], "{result:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn too_many_frames() {
    let server = start(|c| c.max_frames = 5).await;
    let frames = (0..8).map(|i| jpeg_frame(i * 100)).collect();
    let (e, result) = stream_until_error(&server, frames, false).await;
    assert_eq!(
        (e.code(), code(&e)),
        (tonic::Code::ResourceExhausted, Some(2008))
    );
    assert_failed_with(&result, "TOO_MANY_FRAMES");
}

#[tokio::test(flavor = "multi_thread")]
async fn frames_far_faster_than_the_limit() {
    // 5 fps allowed: up to 10 frames in a second are skipped, not refused; here 20 in 200 ms.
    let server = start(|c| c.max_fps = 5.0).await;
    let frames = (0..20).map(|i| jpeg_frame(i * 10)).collect();
    let (e, result) = stream_until_error(&server, frames, false).await;
    assert_eq!(
        (e.code(), code(&e)),
        (tonic::Code::ResourceExhausted, Some(2007))
    );
    assert_failed_with(&result, "FRAME_RATE_EXCEEDED");
}

#[tokio::test(flavor = "multi_thread")]
async fn frames_that_pile_up_far_faster_than_real_time() {
    // Timestamps 250 ms apart (4 fps, within 5), but all 40 sent at once: they arrive while the
    // engine is busy, more than four times the limit within a second of the server's clock.
    // (A lock-step client, which waits for each answer, is not counted: `clients/cli/tests`.)
    let server = start(|c| c.max_fps = 5.0).await;
    let frames = (0..40).map(|i| jpeg_frame(i * 250)).collect();
    let (e, result) = stream_until_error(&server, frames, false).await;
    assert_eq!(
        (e.code(), code(&e)),
        (tonic::Code::ResourceExhausted, Some(2007))
    );
    assert_failed_with(&result, "FRAME_RATE_EXCEEDED");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_that_never_ends() {
    let server = start(|c| c.max_stream_duration = Duration::from_millis(600)).await;
    let (e, result) = stream_until_error(&server, vec![jpeg_frame(0)], true).await;
    assert_eq!(
        (e.code(), code(&e)),
        (tonic::Code::DeadlineExceeded, Some(2009))
    );
    assert_failed_with(&result, "STREAM_DURATION_EXCEEDED");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_that_falls_silent() {
    // One frame, answered, then nothing while the stream stays open: a stopped camera, or a
    // client holding a connection. It ends long before the stream's two minutes.
    let server = start(|c| c.stream_idle_timeout = Duration::from_millis(800)).await;
    let (e, result) = stream_until_error(&server, vec![jpeg_frame(0)], true).await;
    assert_eq!(
        (e.code(), code(&e)),
        (tonic::Code::DeadlineExceeded, Some(2018))
    );
    assert_failed_with(&result, "STREAM_IDLE");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_over_the_transport_limit() {
    // Frames up to 16 KiB; the gRPC message limit is twice that plus 64 KiB.
    let server = start(|c| c.max_frame_bytes = 16 * 1024).await;
    let mut big = jpeg_frame(0);
    if let Some(pb::stream_session_request::Message::Frame(f)) = &mut big.message {
        f.data = vec![0xff; 200 * 1024];
    }
    let (e, result) = stream_until_error(&server, vec![big], false).await;
    assert_eq!(code(&e), Some(2016), "{e:?}");
    assert_failed_with(&result, "MESSAGE_TOO_LARGE");

    // A `start` over it is refused the same way, before any session is claimed.
    let mut client = support::grpc(&server).await;
    let created = client
        .create_session(pb::CreateSessionRequest::default())
        .await
        .unwrap()
        .into_inner();
    let mut start = support::start_message(&created.session_id, &created.stream_token);
    if let Some(pb::stream_session_request::Message::Start(s)) = &mut start.message {
        s.client.get_or_insert_default().device = "x".repeat(1024 * 1024);
    }
    let refused = client
        .stream_session(tokio_stream::iter([start]))
        .await
        .expect_err("refused before any answer");
    assert_eq!(code(&refused), Some(2016), "{refused:?}");
}

/// POSTs `body` (a gRPC frame: flag, length, message) to the unary `method` with curl over
/// HTTP/2, as a client with a broken encoder would; returns the status tonic's answer carries.
fn raw_unary(server: &support::TestServer, method: &str, body: &[u8]) -> tonic::Status {
    let path = std::env::temp_dir().join(format!(
        "livegate-raw-grpc-{}-{}",
        std::process::id(),
        body.len()
    ));
    std::fs::write(&path, body).unwrap();
    let out = std::process::Command::new("curl")
        .args([
            "-sS",
            "--http2-prior-knowledge",
            "-o",
            "/dev/null",
            "-D",
            "-",
        ])
        .args(["-H", "content-type: application/grpc", "-H", "te: trailers"])
        .arg("--data-binary")
        .arg(format!("@{}", path.display()))
        .arg(format!("{}{method}", server.grpc_url))
        .output()
        .expect("curl");
    std::fs::remove_file(&path).unwrap();
    let mut headers = http::HeaderMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some((name, value)) = line.split_once(": ")
            && let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(name.trim().as_bytes()),
                http::HeaderValue::from_str(value.trim()),
            )
        {
            headers.append(name, value);
        }
    }
    tonic::Status::from_header_map(&headers).unwrap_or_else(|| {
        panic!(
            "no grpc-status in the answer's headers: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn unary_requests_tonic_cannot_read_get_our_codes() {
    let server = start(|c| c.max_request_bytes = 64 * 1024).await;
    // Not a protobuf message: wire type 7 does not exist.
    let garbage = [0u8, 0, 0, 0, 3, 0xff, 0xff, 0xff];
    let refused = raw_unary(&server, "/livegate.v1.Liveness/CreateSession", &garbage);
    assert_eq!(
        (refused.code(), code(&refused)),
        (tonic::Code::InvalidArgument, Some(2012)),
        "{refused:?}"
    );
    let refused = raw_unary(&server, "/livegate.v1.Identity/CompareFaces", &garbage);
    assert_eq!(code(&refused), Some(2012), "{refused:?}");
    // A message declared over the limit: refused as too large, not out of range, as soon as its
    // length is read (the rest is not sent: the server would reset the stream under curl).
    let mut big = vec![0u8];
    big.extend_from_slice(&(100 * 1024u32).to_be_bytes());
    big.extend_from_slice(&[0; 16]);
    let refused = raw_unary(&server, "/livegate.v1.Identity/CompareFaces", &big);
    assert_eq!(
        (refused.code(), code(&refused)),
        (tonic::Code::ResourceExhausted, Some(2016)),
        "{refused:?}"
    );
}
