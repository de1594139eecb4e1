//! The browser's transport: `StreamSession` over a WebSocket with binary protobuf frames, then
//! the result and a one-time verify over REST.

use crate::support;

use futures_util::{SinkExt, StreamExt};
use livegate_proto::v1 as pb;
use pb::stream_session_response::Message as Out;
use prost::Message as _;
use support::{assert_error, curl, jpeg_frame, screen_start_message, start, start_message};
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn create(rest_url: &str) -> (String, String) {
    create_with(rest_url, "{}")
}

/// A session created over REST with this JSON body: its id and stream token.
fn create_with(rest_url: &str, body: &str) -> (String, String) {
    let created = curl(&[
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "-d",
        body,
        &format!("{rest_url}/api/liveness/session"),
    ]);
    (
        created.json["sessionId"].as_str().unwrap().to_string(),
        created.json["streamToken"].as_str().unwrap().to_string(),
    )
}

async fn connect(ws_url: &str, id: &str) -> Socket {
    let url = format!("{ws_url}/api/liveness/session/{id}/stream");
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

async fn send(socket: &mut Socket, message: pb::StreamSessionRequest) {
    socket
        .send(Message::Binary(message.encode_to_vec().into()))
        .await
        .unwrap();
}

/// The error body and close code that end a refused socket (or the reading half of one).
async fn refusal(
    socket: &mut (
             impl futures_util::Stream<Item = tokio_tungstenite::tungstenite::Result<Message>> + Unpin
         ),
) -> (serde_json::Value, u16) {
    let mut body = serde_json::Value::Null;
    while let Some(Ok(m)) = socket.next().await {
        match m {
            Message::Text(t) => body = serde_json::from_str(&t).unwrap(),
            Message::Close(Some(frame)) => return (body, frame.code.into()),
            _ => {}
        }
    }
    panic!("the socket ended without a close frame; body {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_browser_streams_over_websocket_and_verifies_once_over_rest() {
    let server = start(|c| c.step_time_limit = std::time::Duration::from_secs(1)).await;
    let (id, token) = create(&server.rest_url).await;
    let mut socket = connect(&server.ws_url, &id).await;
    send(&mut socket, start_message(&id, &token)).await;

    // A still photo cannot do the challenge: its first step times out after 1 s of frames.
    let mut seen = (false, false, 0);
    let mut verdict = None;
    for i in 0..40 {
        send(&mut socket, jpeg_frame(i * 100)).await;
        while verdict.is_none() {
            let Some(Ok(Message::Binary(bytes))) = socket.next().await else {
                panic!("expected a binary message");
            };
            match pb::StreamSessionResponse::decode(bytes).unwrap().message {
                Some(Out::SessionStarted(_)) => seen.0 = true,
                Some(Out::Challenge(_)) => seen.1 = true,
                Some(Out::Feedback(f)) => {
                    seen.2 += 1;
                    if f.frame_timestamp_ms == i * 100 {
                        break;
                    }
                }
                Some(Out::Verdict(v)) => verdict = Some(v),
                None => {}
            }
        }
        if verdict.is_some() {
            break;
        }
    }
    let verdict = verdict.expect("a verdict over the socket");
    assert!(seen.0 && seen.1 && seen.2 > 5, "{seen:?}");
    // The device is not told how it went (the server's default): no oracle for an attacker.
    assert_eq!(
        verdict,
        pb::Verdict {
            status: pb::SessionStatus::Completed as i32,
            message: "Done. Your provider will confirm the result.".into(),
            ..Default::default()
        }
    );
    // The server closes normally after the verdict, even though frames the browser sent before
    // it saw the verdict are still arriving: they must not cost it the close frame.
    for i in 0..10 {
        send(&mut socket, jpeg_frame(10_000 + i * 100)).await;
    }
    let mut closed = None;
    while let Some(Ok(m)) = socket.next().await {
        if let Message::Close(frame) = m {
            closed = frame.map(|f| u16::from(f.code));
        }
    }
    assert_eq!(closed, Some(1000));

    let results = curl(&[&format!(
        "{}/api/liveness/session/{id}/results",
        server.rest_url
    )]);
    // The backend, with its key, reads what the device was not told.
    assert_eq!(results.json["status"], "FAILED", "{results:?}");
    assert_eq!(results.json["isLive"], false);
    assert!(results.json["confidence"].as_f64().unwrap() < 90.0);
    assert!(
        results.json["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "CHALLENGE_TIMEOUT"),
        "{results:?}"
    );
    let verify = format!("{}/api/liveness/verify/{id}", server.rest_url);
    assert_error(&curl(&["-X", "POST", &verify]), 1009, 422);
    assert_error(&curl(&["-X", "POST", &verify]), 2011, 409);

    // The session was streamed: its token opens nothing any more.
    let mut again = connect(&server.ws_url, &id).await;
    send(&mut again, start_message(&id, &token)).await;
    let (body, close) = refusal(&mut again).await;
    assert_eq!((body["errorCode"].as_i64(), close), (Some(2001), 1008));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_socket_is_refused_with_our_codes() {
    let server = start(|c| {
        c.start_timeout = std::time::Duration::from_millis(300);
        c.max_frame_bytes = 64 * 1024;
    })
    .await;

    // A wrong token.
    let (id, _) = create(&server.rest_url).await;
    let mut s = connect(&server.ws_url, &id).await;
    send(&mut s, start_message(&id, &"f".repeat(64))).await;
    let (body, close) = refusal(&mut s).await;
    assert_eq!((body["errorCode"].as_i64(), close), (Some(2002), 1008));
    assert_eq!(body["status"].as_u64(), Some(403));

    // A guessed session id.
    let guessed = "00000000-0000-0000-0000-000000000000";
    let mut s = connect(&server.ws_url, guessed).await;
    send(&mut s, start_message(guessed, &"f".repeat(64))).await;
    assert_eq!(refusal(&mut s).await.0["errorCode"].as_i64(), Some(1008));

    // Nothing within the start timeout.
    let (id, token) = create(&server.rest_url).await;
    let mut s = connect(&server.ws_url, &id).await;
    assert_eq!(refusal(&mut s).await.0["errorCode"].as_i64(), Some(2004));

    // Text instead of protobuf.
    let mut s = connect(&server.ws_url, &id).await;
    s.send(Message::Text(r#"{"start": {}}"#.into()))
        .await
        .unwrap();
    assert_eq!(refusal(&mut s).await.0["errorCode"].as_i64(), Some(2003));

    // A frame over the limit.
    let mut s = connect(&server.ws_url, &id).await;
    send(&mut s, start_message(&id, &token)).await;
    let mut big = jpeg_frame(0);
    if let Some(pb::stream_session_request::Message::Frame(f)) = &mut big.message {
        f.data = vec![0xff; 100 * 1024];
    }
    send(&mut s, big).await;
    assert_eq!(refusal(&mut s).await.0["errorCode"].as_i64(), Some(2006));

    // A `start` for another session than the URL's: its token is not valid here, as on gRPC.
    let (other, other_token) = create(&server.rest_url).await;
    let (id, _) = create(&server.rest_url).await;
    let mut s = connect(&server.ws_url, &id).await;
    send(&mut s, start_message(&other, &other_token)).await;
    let (body, close) = refusal(&mut s).await;
    assert_eq!((body["errorCode"].as_i64(), close), (Some(2002), 1008));

    // A message over the socket's limit: our error and a close frame, not a dropped connection.
    // The server stops reading it at its header, so the rest of it is sent from another task
    // while this one reads the answer, as a browser does.
    let (mut to_server, mut from_server) = connect(&server.ws_url, &id).await.split();
    let sending = tokio::spawn(async move {
        let _ = to_server
            .send(Message::Binary(vec![0u8; 8 * 1024 * 1024].into()))
            .await;
    });
    let (body, close) = refusal(&mut from_server).await;
    assert_eq!((body["errorCode"].as_i64(), close), (Some(2016), 1008));
    sending.abort();
}

/// The next message that is not feedback, reading past feedback.
async fn next_event(socket: &mut Socket) -> Out {
    loop {
        match socket.next().await {
            Some(Ok(Message::Binary(bytes))) => {
                match pb::StreamSessionResponse::decode(bytes).unwrap().message {
                    Some(Out::Feedback(_)) | None => continue,
                    Some(other) => return other,
                }
            }
            other => panic!("expected a binary message, got {other:?}"),
        }
    }
}

fn light_report(index: u32, colours: &[u32]) -> pb::StreamSessionRequest {
    light_report_from(index, colours, 0)
}

/// The report of `colours` shown 400 ms each from `start_ms` on the frames' clock.
fn light_report_from(index: u32, colours: &[u32], start_ms: i64) -> pb::StreamSessionRequest {
    let flashes = colours
        .iter()
        .enumerate()
        .map(|(i, &rgb)| pb::ShownFlash {
            rgb,
            start_ms: start_ms + i as i64 * 400,
            end_ms: start_ms + (i as i64 + 1) * 400,
        })
        .collect();
    pb::StreamSessionRequest {
        message: Some(pb::stream_session_request::Message::LightShown(
            pb::LightShown {
                challenge_index: index,
                flashes,
            },
        )),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_light_step_follows_what_the_client_can_show() {
    let server = start(|_| {}).await;
    let plan_of = |started: Out| match started {
        Out::SessionStarted(s) => s.plan,
        other => panic!("session_started first, not {other:?}"),
    };

    // By default (`when-capable`), a client that can show colours begins with the light step.
    let (id, token) = create(&server.rest_url).await;
    let mut socket = connect(&server.ws_url, &id).await;
    send(&mut socket, screen_start_message(&id, &token)).await;
    let plan = plan_of(next_event(&mut socket).await);
    assert_eq!(plan[0], pb::ChallengeKind::Light as i32, "{plan:?}");
    assert_eq!(plan.len(), 4, "{plan:?}");

    // One that cannot (a video file, the CLI) gets the movements alone.
    let (id, token) = create(&server.rest_url).await;
    let mut socket = connect(&server.ws_url, &id).await;
    send(&mut socket, start_message(&id, &token)).await;
    let plan = plan_of(next_event(&mut socket).await);
    assert_eq!(plan.len(), 3, "{plan:?}");
    assert!(!plan.contains(&(pb::ChallengeKind::Light as i32)));

    // A session that requires the step refuses it with its own code, and stays usable for a
    // client that can show it.
    let (id, token) = create_with(&server.rest_url, r#"{"settings": {"lightStep": true}}"#);
    let mut socket = connect(&server.ws_url, &id).await;
    send(&mut socket, start_message(&id, &token)).await;
    let (body, close) = refusal(&mut socket).await;
    assert_eq!(
        (body["errorCode"].as_i64(), close),
        (Some(2017), 1008),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("can_show_colour")
    );
    let mut socket = connect(&server.ws_url, &id).await;
    send(&mut socket, screen_start_message(&id, &token)).await;
    assert_eq!(
        plan_of(next_event(&mut socket).await)[0],
        pb::ChallengeKind::Light as i32
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_light_step_sends_its_colours_and_checks_what_the_page_reports() {
    // Reasons reach the page only where the deployment discloses verdicts (as a demo does).
    let server = start(|c| c.disclose_verdict = true).await;
    let create = |body: &str| create_with(&server.rest_url, body);
    let light = r#"{"settings": {"lightStep": true}}"#;

    // The page reports other colours than it was sent: the step fails at the next frame.
    let (id, token) = create(light);
    let mut socket = connect(&server.ws_url, &id).await;
    send(&mut socket, screen_start_message(&id, &token)).await;
    let Out::SessionStarted(started) = next_event(&mut socket).await else {
        panic!("session_started first");
    };
    assert_eq!(started.plan[0], pb::ChallengeKind::Light as i32);
    assert_eq!(
        started.plan.len(),
        4,
        "the light step comes on top of three movements"
    );
    let Out::Challenge(challenge) = next_event(&mut socket).await else {
        panic!("then the first challenge");
    };
    assert_eq!(challenge.kind, pb::ChallengeKind::Light as i32);
    assert_eq!(challenge.light_sequence.len(), 8);
    assert_eq!(challenge.time_limit_ms, 5_000 + 8 * 400);
    let mut colours: Vec<u32> = challenge.light_sequence.iter().map(|f| f.rgb).collect();
    assert!(colours.iter().all(|c| *c <= 0xffffff));
    colours[5] = 0xffffff;
    send(&mut socket, jpeg_frame(0)).await;
    send(&mut socket, light_report(0, &colours)).await;
    send(&mut socket, jpeg_frame(3300)).await;
    let Out::Verdict(verdict) = next_event(&mut socket).await else {
        panic!("a verdict");
    };
    assert!(!verdict.is_live);
    assert_eq!(verdict.reasons[0], "LIGHT_NOT_SHOWN", "{verdict:?}");

    // A report for a step that is not a light step breaks the protocol.
    let (id, token) = create(light);
    let mut socket = connect(&server.ws_url, &id).await;
    send(&mut socket, screen_start_message(&id, &token)).await;
    send(&mut socket, light_report(1, &colours)).await;
    send(&mut socket, jpeg_frame(0)).await;
    assert_eq!(
        refusal(&mut socket).await.0["errorCode"].as_i64(),
        Some(2003)
    );

    // Colours are 0xRRGGBB: anything wider breaks the protocol too.
    let (id, token) = create(light);
    let mut socket = connect(&server.ws_url, &id).await;
    send(&mut socket, screen_start_message(&id, &token)).await;
    send(&mut socket, light_report(0, &[0x0100_0000; 8])).await;
    send(&mut socket, jpeg_frame(0)).await;
    assert_eq!(
        refusal(&mut socket).await.0["errorCode"].as_i64(),
        Some(2003)
    );

    // A session that leaves it out (in a deployment that does not require it) has none, even
    // for a client that can show colours.
    let (id, token) = create(r#"{"settings": {"lightStep": false}}"#);
    let mut socket = connect(&server.ws_url, &id).await;
    send(&mut socket, screen_start_message(&id, &token)).await;
    let Out::SessionStarted(started) = next_event(&mut socket).await else {
        panic!("session_started first");
    };
    assert!(!started.plan.contains(&(pb::ChallengeKind::Light as i32)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_face_lit_by_the_colours_passes_the_light_step_and_the_plan_goes_on() {
    use livegate_engine::{AnalyzerConfig, FrameAnalyzer};
    use opencv::prelude::*;

    let server = start(|c| {
        c.step_time_limit = std::time::Duration::from_secs(1);
        c.disclose_verdict = true;
    })
    .await;
    let (id, token) = create_with(&server.rest_url, r#"{"settings": {"lightStep": true}}"#);
    let mut socket = connect(&server.ws_url, &id).await;
    let mut start = screen_start_message(&id, &token);
    if let Some(pb::stream_session_request::Message::Start(s)) = &mut start.message {
        s.client.as_mut().unwrap().fps = 24.0;
    }
    send(&mut socket, start).await;
    let Out::SessionStarted(_) = next_event(&mut socket).await else {
        panic!("session_started first");
    };
    let Out::Challenge(light) = next_event(&mut socket).await else {
        panic!("then the light step");
    };
    let colours =
        |c: &pb::Challenge| -> Vec<u32> { c.light_sequence.iter().map(|f| f.rgb).collect() };
    // The light step on screen: its index, its colours, when it began, and whether it was
    // reported. A second sequence comes when the first was unclear (rarely, lit this much).
    let mut showing = (light.index, colours(&light), 0i64, false);
    let mut shown_again = false;

    // franck.mp4 at 24 fps, lit by each colour while it is on screen (400 ms each): what a
    // camera would see of a real face in front of the page.
    let models = livegate_server::load_models(&livegate_server::Config::defaults()).unwrap();
    let mut analyzer = FrameAnalyzer::new(models, AnalyzerConfig::default());
    let mut video = opencv::videoio::VideoCapture::from_file(
        support::media("franck.mp4").to_str().unwrap(),
        opencv::videoio::CAP_ANY,
    )
    .unwrap();
    let mut frame = opencv::core::Mat::default();
    let mut next_challenge = None;
    for i in 0..240 {
        assert!(video.read(&mut frame).unwrap());
        let ts = (i as f64 * 1000.0 / 24.0) as i64;
        let shown = frame.try_clone().unwrap();
        let (index, on_screen, start, reported) = &mut showing;
        let flash = (ts >= *start)
            .then(|| on_screen.get(((ts - *start) / 400) as usize))
            .flatten();
        let image = match flash {
            Some(&rgb) => {
                let face = analyzer.analyze(&frame, &[]).unwrap().face.unwrap().bbox;
                let rgb = livegate_server::convert::rgb_bytes(rgb);
                livegate_specimens::screen_lit(&shown, rgb, 0.10, &face).unwrap()
            }
            None => shown,
        };
        let data = livegate_engine::frame::encode_jpeg(&image, 90).unwrap();
        send(&mut socket, support::frame_message(ts, data)).await;
        // Once the last colour has ended, the page reports what it showed.
        if !*reported && ts >= *start + 3200 {
            send(&mut socket, light_report_from(*index, on_screen, *start)).await;
            *reported = true;
        }
        // Lock-step: wait for this frame's answer, noting a new challenge.
        loop {
            let Some(Ok(Message::Binary(bytes))) = socket.next().await else {
                panic!("the socket closed early");
            };
            match pb::StreamSessionResponse::decode(bytes).unwrap().message {
                Some(Out::Feedback(f)) if f.frame_timestamp_ms == ts => break,
                Some(Out::Challenge(c)) if c.again => {
                    assert_eq!(c.kind, pb::ChallengeKind::Light as i32, "{c:?}");
                    assert!(!shown_again, "shown again once at most");
                    shown_again = true;
                    showing = (c.index, colours(&c), ts + 1, false);
                }
                Some(Out::Challenge(c)) => next_challenge = Some(c),
                Some(Out::Verdict(v)) => {
                    // A movement step timed out (the clip does not follow the plan); the light
                    // step itself passed: its reflection is not among the reasons.
                    assert!(
                        next_challenge.is_some(),
                        "the plan went past the light step"
                    );
                    assert!(v.reasons.iter().any(|r| r == "CHALLENGE_TIMEOUT"), "{v:?}");
                    assert!(!v.reasons.iter().any(|r| r.contains("LIGHT")), "{v:?}");
                    let done = if shown_again { "2 of 5" } else { "1 of 4" };
                    assert!(v.message.contains(&format!("{done} steps done")), "{v:?}");
                    return;
                }
                _ => {}
            }
        }
    }
    panic!("no verdict within 10 s of frames (next challenge: {next_challenge:?})");
}
