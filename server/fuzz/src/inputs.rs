//! The three targets: how each turns fuzzer bytes into what a client sends, and what it checks
//! in the answer. A violated promise panics with what was promised, which libFuzzer records as
//! a finding with the input that caused it.

use std::time::Duration;

use axum::body::Body;

use http::{Request, header};
use livegate_engine::frame::{self, FrameEncoding, FrameInput};
use livegate_engine::{EngineError, frame::MAX_FRAME_PIXELS, frame::MAX_FRAME_SIDE};
use livegate_proto::v1 as pb;
use livegate_proto::v1::stream_session_request::Message as In;
use livegate_proto::v1::stream_session_response::Message as Out;
use livegate_server::auth::Tenant;
use livegate_server::error::{ApiError, ErrorBody};
use livegate_server::sessions::Status as SessionStatus;
use livegate_server::stream::{self, InboundError};
use opencv::core::CV_8UC3;
use opencv::prelude::*;
use pb::ErrorCode;
use prost::Message;
use tower::ServiceExt;

use crate::Harness;

/// Longer than any stream of fuzzer input may take: one that has not ended by then hangs.
const STREAM_MUST_END_WITHIN: Duration = Duration::from_secs(20);

/// Text that only an internal message would carry: source paths of OpenCV, tract or ours. A
/// message may quote what the client sent (a JSON parser's error does), so text the input
/// itself holds does not count.
fn leaks_internals(message: &str, input: &[u8]) -> bool {
    const NEEDLES: [&str; 7] = [
        ".cpp",
        ".hpp",
        ".rs:",
        "/usr/",
        "/build/",
        "/home/",
        "cargo/registry",
    ];
    NEEDLES.iter().any(|needle| {
        message.contains(needle) && !input.windows(needle.len()).any(|w| w == needle.as_bytes())
    })
}

/// Reads a little-endian u16 from the front of `data`, advancing it (0 when it runs out).
fn take_u16(data: &mut &[u8]) -> u16 {
    let (head, rest) = data.split_at(data.len().min(2));
    *data = rest;
    head.iter().rev().fold(0, |n, &b| (n << 8) | b as u16)
}

fn take_u8(data: &mut &[u8]) -> u8 {
    let (head, rest) = data.split_at(data.len().min(1));
    *data = rest;
    head.first().copied().unwrap_or(0)
}

/// Frame decoding: 6 header bytes (encoding and mirroring; width; height; rotation) declare the
/// frame's geometry as a client's `Frame` message would, the rest are its bytes.
pub fn frame_decoding(mut data: &[u8]) {
    let input = data;
    let kind = take_u8(&mut data);
    let encoding = match kind % 5 {
        0 => FrameEncoding::Jpeg,
        1 => FrameEncoding::Png,
        2 => FrameEncoding::Rgb24,
        3 => FrameEncoding::Nv21,
        _ => FrameEncoding::I420,
    };
    let width = take_u16(&mut data) as u32;
    let height = take_u16(&mut data) as u32;
    let turn = take_u8(&mut data);
    // Mostly the four valid rotations; sometimes any number a client could send.
    let rotation = if turn < 4 {
        turn as u32 * 90
    } else {
        turn as u32
    };
    let frame_input = FrameInput {
        encoding,
        width,
        height,
        rotation,
        mirrored: kind & 0x80 != 0,
        data,
    };
    match frame::decode(&frame_input) {
        Ok(image) => {
            let (rows, cols) = (image.rows() as u64, image.cols() as u64);
            assert!(rows > 0 && cols > 0, "a decoded frame is never empty");
            assert_eq!(image.typ(), CV_8UC3, "a decoded frame is 8-bit BGR");
            assert!(
                rows * cols <= MAX_FRAME_PIXELS && rows.max(cols) <= MAX_FRAME_SIDE,
                "a {cols}x{rows} frame got past the size limit"
            );
            let raw = !matches!(encoding, FrameEncoding::Jpeg | FrameEncoding::Png);
            if raw {
                let (w, h) = if rotation % 180 == 90 {
                    (height, width)
                } else {
                    (width, height)
                };
                assert_eq!(
                    (cols, rows),
                    (w as u64, h as u64),
                    "a raw frame decodes to its declared size, turned upright"
                );
            }
        }
        Err(EngineError::InvalidFrame(message)) => {
            assert!(
                !leaks_internals(&message, input),
                "internal detail: {message}"
            );
        }
        Err(other) => panic!("bad frame bytes must be an invalid frame, not: {other}"),
    }
}

/// The stream protocol: `data` is a sequence of messages, each a little-endian u16 length and
/// that many bytes of what should be a protobuf `StreamSessionRequest`. A `start` with an empty
/// session id or token gets the real ones of a fresh session, so the fuzzer reaches the frames.
pub fn stream_protocol(data: &[u8]) {
    let input = data;
    let harness = Harness::get();
    let state = &harness.state;
    let tenant = Tenant::open();
    let limit = state.config.max_stream_message_bytes();
    harness.runtime.block_on(async {
        let created =
            livegate_server::api::create_session(state, &tenant, pb::SessionSettings::default())
                .await
                .expect("a session for the fuzzer");
        let messages = split_messages(data, limit, &created);
        let mut inbound = futures_util::stream::iter(messages);
        let accepted = match stream::accept(state, Some(&tenant), &mut inbound).await {
            Ok(accepted) => accepted,
            Err(refused) => {
                check_error(refused.code(), &refused.to_string(), input);
                return;
            }
        };
        let (out, mut answers) = tokio::sync::mpsc::channel(16);
        let session_id = accepted.session.id.clone();
        let driver = tokio::spawn(stream::run(state.clone(), accepted, inbound, out));
        let mut verdicts = 0;
        let read_all = async {
            while let Some(answer) = answers.recv().await {
                match answer {
                    Ok(pb::StreamSessionResponse {
                        message: Some(Out::Verdict(_)),
                    }) => verdicts += 1,
                    Ok(_) => {}
                    Err(e) => check_error(e.code(), &e.to_string(), input),
                }
            }
        };
        tokio::time::timeout(STREAM_MUST_END_WITHIN, read_all)
            .await
            .expect("a stream whose client has sent everything ends");
        driver.await.expect("the stream driver does not panic");
        assert!(verdicts <= 1, "a stream has at most one verdict");
        let stored = state
            .sessions
            .get(&tenant, &session_id)
            .await
            .expect("the session is still there");
        assert!(
            !matches!(
                stored.status,
                SessionStatus::Created | SessionStatus::InProgress
            ),
            "a stream that ended left its session {}",
            stored.status.name()
        );
    });
}

/// `data` cut into the stream's messages (see [`stream_protocol`]), each as the gRPC transport
/// hands it over (`service::inbound_error`); an empty session id or token in a `start` becomes
/// `created`'s.
fn split_messages(
    mut data: &[u8],
    limit: usize,
    created: &pb::CreateSessionResponse,
) -> Vec<Result<pb::StreamSessionRequest, InboundError>> {
    let mut messages = Vec::new();
    while !data.is_empty() {
        let len = take_u16(&mut data) as usize;
        let (bytes, rest) = data.split_at(len.min(data.len()));
        data = rest;
        let item = if bytes.len() > limit {
            Err(InboundError::Refused(ApiError::MessageTooLarge(limit)))
        } else {
            match pb::StreamSessionRequest::decode(bytes) {
                Ok(mut request) => {
                    if let Some(In::Start(start)) = &mut request.message {
                        if start.session_id.is_empty() {
                            start.session_id = created.session_id.clone();
                        }
                        if start.stream_token.is_empty() {
                            start.stream_token = created.stream_token.clone();
                        }
                    }
                    Ok(request)
                }
                Err(e) => Err(InboundError::Refused(ApiError::Protocol(format!(
                    "a message could not be read: {e}"
                )))),
            }
        };
        messages.push(item);
    }
    messages
}

/// An error a client is shown: one of our codes, not a service failure (bad input is the
/// client's error), and nothing internal in its message.
fn check_error(code: ErrorCode, message: &str, input: &[u8]) {
    assert_ne!(
        code,
        ErrorCode::Unspecified,
        "an error without our code: {message}"
    );
    assert_ne!(
        code,
        ErrorCode::LivenessServiceError,
        "bad input made the service fail: {message}"
    );
    assert!(
        !leaks_internals(message, input),
        "internal detail: {message}"
    );
}

/// A REST route a request can take: method, path (`{id}` where a session id goes), body type.
struct Route(&'static str, &'static str, &'static str);

/// The routes a request can reach, chosen by the input's first byte.
const ROUTES: &[Route] = &[
    Route("POST", "/api/liveness/session", "application/json"),
    Route("POST", "/api/liveness/compare-faces", "application/json"),
    Route(
        "POST",
        "/api/kyc/analyze/identity-with-liveness",
        MULTIPART_CONTENT_TYPE,
    ),
    Route("POST", "/api/liveness/verify/{id}", "application/json"),
    Route("GET", "/api/liveness/session/{id}/results", ""),
    // Not a WebSocket handshake: refused, in JSON.
    Route("GET", "/api/liveness/session/{id}/stream", ""),
];

/// The boundary of multipart bodies in the corpus.
pub const MULTIPART_CONTENT_TYPE: &str = "multipart/form-data; boundary=livegate-fuzz";

/// Percent-encodes every byte, so that any bytes make a valid URI.
fn percent_encoded(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02X}")).collect()
}

/// REST bodies: the first byte picks a route; for routes with an id in the path, a second byte
/// is the id's length and that many bytes follow; the rest is the body (for `verify`, a query
/// string up to the first newline, then the body).
pub fn rest_bodies(mut data: &[u8]) {
    let input = data;
    let harness = Harness::get();
    let &Route(method, path, content_type) = &ROUTES[take_u8(&mut data) as usize % ROUTES.len()];
    let mut uri = path.to_string();
    if path.contains("{id}") {
        let len = take_u8(&mut data) as usize;
        let (id, rest) = data.split_at(len.min(data.len()));
        data = rest;
        uri = uri.replace("{id}", &percent_encoded(id));
        if method == "POST"
            && let Some(end) = data.iter().position(|&b| b == b'\n')
        {
            uri.push_str("?confidenceThreshold=");
            uri.push_str(&percent_encoded(&data[..end]));
            data = &data[end + 1..];
        }
    }
    let mut request = Request::builder().method(method).uri(&uri);
    if !content_type.is_empty() {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    let request = request
        .body(Body::from(data.to_vec()))
        .expect("a request the router can take");
    harness.runtime.block_on(async {
        let response = harness
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router always answers");
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .expect("a readable body");
        assert_eq!(
            parts
                .headers
                .get(header::CONTENT_TYPE)
                .map(|v| v.as_bytes()),
            Some(&b"application/json"[..]),
            "{method} {uri} answered {} without JSON",
            parts.status
        );
        assert_eq!(
            parts
                .headers
                .get(header::X_CONTENT_TYPE_OPTIONS)
                .map(|v| v.as_bytes()),
            Some(&b"nosniff"[..])
        );
        assert_eq!(
            parts
                .headers
                .get(header::CACHE_CONTROL)
                .map(|v| v.as_bytes()),
            Some(&b"no-store"[..])
        );
        if !parts.status.is_success() {
            let error: ErrorBody = serde_json::from_slice(&body)
                .unwrap_or_else(|e| panic!("{method} {uri}: an error body that is ours: {e}"));
            assert_eq!(error.status, parts.status.as_u16());
            let code = ErrorCode::try_from(error.error_code).unwrap_or(ErrorCode::Unspecified);
            check_error(code, &error.message, input);
        }
    });
}
