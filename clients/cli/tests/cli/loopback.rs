//! End to end over loopback: a real server, the real client, real video and real models.

use livegate_testkit as support;
use livegate_testkit::start as start_server;

use std::time::Duration;

use livegate_cli::{
    Client, ClientError, FrameSource, Pacing, StreamOptions, StreamReport, connect, create_session,
    error_code, stream,
};
use livegate_engine::ChallengeKind;
use livegate_proto::v1 as pb;
use support::*;

/// The status of a call the server refused.
fn refused<T: std::fmt::Debug>(result: Result<T, ClientError>) -> tonic::Status {
    match result {
        Err(ClientError::Server(status)) => status,
        other => panic!("expected the server to refuse, got {other:?}"),
    }
}

/// franck.mp4 streamed into `session` as `options` say.
async fn stream_franck(
    client: &mut Client,
    session: &pb::CreateSessionResponse,
    options: &StreamOptions,
) -> StreamReport {
    let source = FrameSource::open(&media("franck.mp4"), None).unwrap();
    stream(
        client,
        &session.session_id,
        &session.stream_token,
        source,
        options,
        |_| {},
    )
    .await
    .unwrap()
}

fn lockstep(max_frames: u32) -> StreamOptions {
    StreamOptions {
        pacing: Pacing::Lockstep,
        max_frames: Some(max_frames),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_video_gets_feedback_with_a_face_and_varying_pose() {
    // The whole clip must be analysed, so the plan must be one these 480 frames cannot finish.
    // Played straight, they complete [turn right, turn left], [blink, turn left] and
    // [blink, turn right] (checked by running every ordered pair through the engine), but
    // neither order of look-up and move-closer. A deployment asking for two steps gets two.
    let server = start_server(|c| {
        c.step_time_limit = Duration::from_secs(120);
        c.challenge_kinds = vec![ChallengeKind::LookUp, ChallengeKind::MoveCloser];
        c.min_challenge_steps = 2;
        c.max_challenge_steps = 2;
    })
    .await;
    let mut client = connect(&server.grpc_url, None).await.unwrap();
    let session = create_session(&mut client, 2).await.unwrap();
    let report = stream_franck(&mut client, &session, &lockstep(480)).await;

    let started = report.started.as_ref().expect("session_started");
    assert_eq!(started.plan.len(), 2);
    assert_eq!(report.challenges.first().map(|c| c.index), Some(0));
    let analysed = report.feedback.len();
    let with_face = report
        .feedback
        .iter()
        .filter(|f| f.faces == 1 && f.face.is_some())
        .count();
    let yaws: Vec<f32> = report
        .feedback
        .iter()
        .filter_map(|f| f.pose.map(|p| p.yaw))
        .collect();
    let (lo, hi) = yaws
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), &y| (a.min(y), b.max(y)));
    println!(
        "{analysed} analysed of {} sent, {with_face} with a face, yaw {lo:.1}..{hi:.1}",
        report.frames_sent
    );
    assert!(
        analysed >= 400,
        "lock-step pacing analyses (nearly) every frame: {analysed}"
    );
    assert!(with_face as f32 >= 0.95 * analysed as f32);
    assert!(hi - lo > 15.0, "poses vary as the head does");
    let verdict = report.verdict.expect("a verdict when the stream ends");
    assert_eq!(
        verdict.status == pb::SessionStatus::Succeeded as i32,
        verdict.is_live
    );

    // The result is stored and readable.
    let result = client
        .get_session_result(pb::GetSessionResultRequest {
            session_id: session.session_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(result.is_live, verdict.is_live);
    assert!(
        !result.reference_image.is_empty(),
        "a reference image of the face"
    );
    assert!(result.reference_image.starts_with(&[0xFF, 0xD8]), "JPEG");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn still_photo_as_150_frames_is_not_live() {
    let server = start_server(|c| c.step_time_limit = Duration::from_secs(4)).await;
    let mut client = connect(&server.grpc_url, None).await.unwrap();
    let session = create_session(&mut client, 0).await.unwrap();
    let source = FrameSource::still(&media("franck_02159.jpg"), 150, 30.0).unwrap();
    let report = stream(
        &mut client,
        &session.session_id,
        &session.stream_token,
        source,
        &lockstep(150),
        |_| {},
    )
    .await
    .unwrap();
    let verdict = report.verdict.expect("verdict");
    println!("{verdict:?} after {} frames", report.feedback.len());
    assert!(!verdict.is_live);
    assert_eq!(verdict.status, pb::SessionStatus::Failed as i32);
    assert!(
        verdict.reasons.contains(&"CHALLENGE_TIMEOUT".to_string()),
        "{:?}",
        verdict.reasons
    );

    // And it cannot be verified.
    let err = client
        .verify_session(pb::VerifySessionRequest {
            session_id: session.session_id,
            confidence_threshold: None,
        })
        .await
        .unwrap_err();
    assert_eq!(
        error_code(&err),
        Some(pb::ErrorCode::ConfidenceTooLow as i32)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_stream_on_a_session_is_refused() {
    let server = start_server(|c| c.step_time_limit = Duration::from_secs(2)).await;
    let mut client = connect(&server.grpc_url, None).await.unwrap();
    let session = create_session(&mut client, 0).await.unwrap();
    let first = FrameSource::still(&media("franck_02159.jpg"), 5, 15.0).unwrap();
    stream(
        &mut client,
        &session.session_id,
        &session.stream_token,
        first,
        &lockstep(5),
        |_| {},
    )
    .await
    .unwrap();
    let again = FrameSource::still(&media("franck_02159.jpg"), 5, 15.0).unwrap();
    let status = refused(
        stream(
            &mut client,
            &session.session_id,
            &session.stream_token,
            again,
            &lockstep(5),
            |_| {},
        )
        .await,
    );
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert_eq!(
        error_code(&status),
        Some(pb::ErrorCode::SessionAlreadyStreamed as i32)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_session_or_wrong_token_is_refused_with_our_code() {
    let server = start_server(|_| {}).await;
    let mut client = connect(&server.grpc_url, None).await.unwrap();
    let frames = || FrameSource::still(&media("franck_02159.jpg"), 3, 15.0).unwrap();

    let status = refused(
        stream(
            &mut client,
            "00000000-0000-0000-0000-000000000000",
            "x",
            frames(),
            &lockstep(3),
            |_| {},
        )
        .await,
    );
    assert_eq!(status.code(), tonic::Code::NotFound);
    assert_eq!(error_code(&status), Some(1008));

    let session = create_session(&mut client, 0).await.unwrap();
    let status = refused(
        stream(
            &mut client,
            &session.session_id,
            "not-the-token",
            frames(),
            &lockstep(3),
            |_| {},
        )
        .await,
    );
    assert_eq!(
        error_code(&status),
        Some(pb::ErrorCode::InvalidStreamToken as i32)
    );

    let err = client
        .get_session_result(pb::GetSessionResultRequest {
            session_id: "guess".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), Some(1008));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realtime_pacing_sends_at_the_video_frame_rate() {
    let server = start_server(|c| c.step_time_limit = Duration::from_secs(60)).await;
    let mut client = connect(&server.grpc_url, None).await.unwrap();
    let session = create_session(&mut client, 0).await.unwrap();
    let options = StreamOptions {
        pacing: Pacing::Realtime,
        max_frames: Some(48),
        ..Default::default()
    };
    // Opened before the clock starts: only the sending is timed.
    let source = FrameSource::open(&media("franck.mp4"), None).unwrap();
    let start = std::time::Instant::now();
    let report = stream(
        &mut client,
        &session.session_id,
        &session.stream_token,
        source,
        &options,
        |_| {},
    )
    .await
    .unwrap();
    let elapsed = start.elapsed();
    println!(
        "48 frames in {elapsed:?}, {} analysed",
        report.feedback.len()
    );
    // 48 frames at 24 fps take two seconds of the client's clock, whatever the server does.
    assert!(elapsed >= Duration::from_millis(1900), "{elapsed:?}");
    assert_eq!(report.frames_sent, 48);
    let dropped = report
        .feedback
        .last()
        .map(|f| f.dropped_frames)
        .unwrap_or(0) as usize;
    assert!(report.feedback.len() + dropped <= 48);
    assert!(!report.feedback.is_empty());
}

/// A writer the test reads back: what the terminal would have been sent.
#[derive(Clone, Default)]
struct Terminal(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Terminal {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_shows_colours_gets_the_light_step_first_and_reports_it() {
    // The deployment's default light policy: a client that can show colours starts with them.
    let server = start_server(|c| c.step_time_limit = Duration::from_secs(1)).await;
    let mut client = connect(&server.grpc_url, None).await.unwrap();
    let session = create_session(&mut client, 0).await.unwrap();
    let terminal = Terminal::default();
    let options = StreamOptions {
        pacing: Pacing::Realtime,
        colours: Some(livegate_cli::light::ColourScreen::to_writer(terminal.clone()).shared()),
        ..Default::default()
    };
    let report = stream_franck(&mut client, &session, &options).await;
    let first = &report.challenges[0];
    assert_eq!(first.kind, pb::ChallengeKind::Light as i32, "{report:?}");
    // A video's face does not follow the colours: about a quarter of the time its first
    // sequence looks unclear and a second is asked for, right after; the client plays it too.
    let lights: Vec<&pb::Challenge> = report
        .challenges
        .iter()
        .filter(|c| c.kind == pb::ChallengeKind::Light as i32)
        .collect();
    assert!(
        lights.len() == 1 || (lights.len() == 2 && lights[1].again && !lights[0].again),
        "{lights:?}"
    );
    // The terminal was filled with each colour of each sequence, on the alternate screen, and
    // given back after each.
    let painted = String::from_utf8(terminal.0.lock().unwrap().clone()).unwrap();
    let colours: usize = lights.iter().map(|c| c.light_sequence.len()).sum();
    assert_eq!(
        painted.matches("\x1b[48;2;").count(),
        colours,
        "one fill per colour"
    );
    assert_eq!(painted.matches("\x1b[?1049h").count(), lights.len());
    assert!(painted.starts_with("\x1b[?1049h") && painted.ends_with("\x1b[?1049l"));
    // The server took the report: the light step is not "not shown". (A video's face does not
    // follow the colours, so the verdict is not live.)
    let verdict = report.verdict.expect("a verdict");
    assert!(!verdict.is_live);
    assert!(
        !verdict.reasons.iter().any(|r| r == "LIGHT_NOT_SHOWN"),
        "{:?}",
        verdict.reasons
    );
    println!("reasons: {:?}", verdict.reasons);
}
