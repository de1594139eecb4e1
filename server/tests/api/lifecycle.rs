//! Shutting down as an orchestrator asks (SIGTERM): running streams may finish within the drain
//! time, and are ended with SERVER_SHUTTING_DOWN (5002, UNAVAILABLE) when it is up.

use crate::support;

use std::time::{Duration, Instant};

use livegate_proto::v1 as pb;
use pb::stream_session_response::Message as Out;
use support::{code, jpeg_frame, open_stream, start};

/// Reads responses until one answers the frame stamped `ts` (or a verdict comes).
async fn answer(
    responses: &mut tonic::Streaming<pb::StreamSessionResponse>,
    ts: i64,
) -> Result<Out, tonic::Status> {
    loop {
        let message = responses
            .message()
            .await?
            .expect("the stream is open")
            .message
            .unwrap();
        match &message {
            Out::Feedback(f) if f.frame_timestamp_ms == ts => return Ok(message),
            Out::Verdict(_) => return Ok(message),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_running_at_sigterm_finishes_within_the_drain_time() {
    let mut server = start(|c| {
        c.step_time_limit = Duration::from_secs(1);
        c.drain_timeout = Duration::from_secs(30);
        c.disclose_verdict = true;
    })
    .await;
    let (_, tx, _client, mut responses) = open_stream(&server, vec![jpeg_frame(0)]).await;
    answer(&mut responses, 0).await.unwrap();

    server.signal_shutdown();
    let signalled = Instant::now();
    // The stream goes on after the signal: a still photo cannot do the first step, which times
    // out after 1 s of frames, and the verdict arrives as it would have.
    let mut verdict = None;
    for i in 1..40 {
        // The verdict may follow the feedback just read, after the call's request side closed.
        let _ = tx.send(jpeg_frame(i * 100)).await;
        if let Out::Verdict(v) = answer(&mut responses, i * 100).await.unwrap() {
            verdict = Some(v);
            break;
        }
    }
    let verdict = verdict.expect("a verdict while draining");
    assert!(
        verdict.reasons.iter().any(|r| r == "CHALLENGE_TIMEOUT"),
        "{verdict:?}"
    );
    drop(tx);
    server.stopped().await;
    assert!(
        signalled.elapsed() < Duration::from_secs(15),
        "the server stops once its last stream ends, not at the drain deadline: {:?}",
        signalled.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_draining_server_says_so_before_it_closes_its_doors() {
    let mut server = start(|c| c.drain_grace = Duration::from_secs(3)).await;
    let ready = format!("http://{}/ready", server.rest_addr);
    assert_eq!(support::curl(&[&ready]).status, 200);

    server.signal_shutdown();
    // During the grace a probe sees 503 and a new session is refused with our 5002, on new
    // connections as on old ones: the load balancer learns before connections are refused.
    let probe = (0..50)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(20));
            support::curl(&[&ready])
        })
        .find(|a| a.status != 200)
        .expect("readiness turns 503");
    assert_eq!(probe.status, 503, "{probe:?}");
    let create = support::curl(&[
        "-X",
        "POST",
        &format!("http://{}/api/liveness/session", server.rest_addr),
    ]);
    support::assert_error(&create, 5002, 503);
    let mut client = support::grpc(&server).await;
    let refused = client
        .create_session(pb::CreateSessionRequest::default())
        .await
        .unwrap_err();
    assert_eq!(
        (refused.code(), code(&refused)),
        (tonic::Code::Unavailable, Some(5002))
    );
    server.stopped().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_still_running_when_the_drain_time_is_up_is_ended_with_a_clear_status() {
    let mut server = start(|c| {
        c.step_time_limit = Duration::from_secs(120);
        c.drain_timeout = Duration::from_millis(1500);
    })
    .await;
    let (_, tx, _client, mut responses) = open_stream(&server, vec![jpeg_frame(0)]).await;
    answer(&mut responses, 0).await.unwrap();

    server.signal_shutdown();
    let signalled = Instant::now();
    let mut ended = None;
    for i in 1..100 {
        // Once the server ended the call, the request side is closed too.
        let _ = tx.send(jpeg_frame(i * 100)).await;
        match answer(&mut responses, i * 100).await {
            Ok(Out::Verdict(v)) => panic!("no verdict was due: {v:?}"),
            Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(status) => {
                ended = Some(status);
                break;
            }
        }
    }
    let status = ended.expect("the stream is ended at the drain deadline");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert_eq!(
        code(&status),
        Some(pb::ErrorCode::ServerShuttingDown as i32)
    );
    assert!(status.message().contains("shutting down"), "{status:?}");
    let after = signalled.elapsed();
    assert!(
        after >= Duration::from_millis(1400) && after < Duration::from_secs(10),
        "ended at the deadline: {after:?}"
    );
    drop(tx);
    server.stopped().await;
}
