//! The server's test helpers: clients that are not ours (curl for REST, tungstenite for
//! WebSocket, the generated tonic client for gRPC) and the protocol's messages, beside the
//! workspace's shared support (a real server on loopback ports, media, models:
//! `livegate-testkit`), re-exported here.

#![allow(dead_code)]

use std::process::Command;
use std::sync::OnceLock;

use livegate_proto::v1 as pb;
use livegate_server::Config;
#[allow(unused_imports)]
pub use livegate_testkit::{TestServer, media, models, start};
use tonic::transport::Channel;

pub const ACME_KEY: &str = "acme-key-0123456789abcdef";
pub const GLOBEX_KEY: &str = "globex-key-0123456789abcdef";

/// A loopback port that nothing listens on (now): for a process the test starts, or a Redis
/// that is not there.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The pinned grpcio virtualenv that `python3 engine/assets/fetch.py media` creates: the
/// Python gRPC client and the backend example run in it.
pub fn grpc_python() -> std::path::PathBuf {
    let python = livegate_engine::models::cache_dir().join("grpc-client-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `python3 engine/assets/fetch.py media`",
        python.display()
    );
    python
}

/// Two tenants, acme and globex.
pub fn with_keys(config: &mut Config) {
    config.api_keys = vec![
        format!("acme:{ACME_KEY}").parse().unwrap(),
        format!("globex:{GLOBEX_KEY}").parse().unwrap(),
    ];
}

/// An HTTP answer: status and JSON body (Null when the body is not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub json: serde_json::Value,
    pub headers: String,
}

/// Runs curl with `args` (the URL among them) and returns the answer.
pub fn curl(args: &[&str]) -> Answer {
    let out = Command::new("curl")
        .args(["-sS", "-D", "/dev/stderr", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl is installed (deploy/dev/setup installs it)");
    parse_curl(&out)
}

/// Runs a shell command line (a seed example, verbatim but for the host) and returns the answer.
pub fn curl_line(line: &str, dir: &std::path::Path) -> Answer {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("{line} -sS -D /dev/stderr -w '\\n%{{http_code}}'"))
        .current_dir(dir)
        .output()
        .unwrap();
    parse_curl(&out)
}

fn parse_curl(out: &std::process::Output) -> Answer {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let (body, code) = stdout.rsplit_once('\n').unwrap_or(("", &stdout));
    Answer {
        status: code.trim().parse().unwrap_or(0),
        json: serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
        headers: String::from_utf8_lossy(&out.stderr).to_lowercase(),
    }
}

/// The seconds of an answer's `Retry-After` header.
pub fn retry_after(answer: &Answer) -> u64 {
    answer
        .headers
        .lines()
        .find_map(|l| l.strip_prefix("retry-after:"))
        .unwrap_or_else(|| panic!("no Retry-After: {answer:?}"))
        .trim()
        .parse()
        .unwrap()
}

/// The server binary on loopback ports the system picks, logging at `info` without colours to
/// a piped stdout (read it with [`log_lines`]), with `args` added.
pub fn server_process(args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_livegate-server"))
        .args(["--addr", "127.0.0.1:0", "--rest-addr", "127.0.0.1:0"])
        .args(["--metrics-addr", "127.0.0.1:0"])
        .args(args)
        .env("LIVEGATE_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the server binary starts")
}

/// Asserts the seed's error shape `{errorCode, message, status, timestamp}` with `code`, `status`.
pub fn assert_error(answer: &Answer, code: i64, status: u16) {
    assert_eq!(answer.status, status, "{answer:?}");
    let j = &answer.json;
    assert_eq!(j["errorCode"].as_i64(), Some(code), "{answer:?}");
    assert_eq!(j["status"].as_u64(), Some(status as u64), "{answer:?}");
    assert!(
        j["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{answer:?}"
    );
    let ts = j["timestamp"].as_str().expect("timestamp");
    humantime::parse_rfc3339(ts).expect("RFC 3339 timestamp");
}

pub async fn grpc(server: &TestServer) -> pb::liveness_client::LivenessClient<Channel> {
    pb::liveness_client::LivenessClient::connect(server.grpc_url.clone())
        .await
        .unwrap()
}

/// A request carrying `key` as a bearer token.
pub fn keyed<T>(message: T, key: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(message);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {key}").parse().unwrap());
    r
}

/// Our error code in a gRPC status, read by the server's own `error::code_of`.
pub fn code(status: &tonic::Status) -> Option<i32> {
    let code = livegate_server::error::code_of(status);
    (code != pb::ErrorCode::Unspecified).then_some(code as i32)
}

/// A frame message holding a real JPEG, `ts` ms into the stream.
pub fn jpeg_frame(ts: i64) -> pb::StreamSessionRequest {
    static JPEG: OnceLock<Vec<u8>> = OnceLock::new();
    let data = JPEG
        .get_or_init(|| std::fs::read(media("franck_02045.jpg")).unwrap())
        .clone();
    frame_message(ts, data)
}

/// A frame message holding `jpeg`, `ts` ms into the stream.
pub fn frame_message(ts: i64, data: Vec<u8>) -> pb::StreamSessionRequest {
    pb::StreamSessionRequest {
        message: Some(pb::stream_session_request::Message::Frame(pb::Frame {
            timestamp_ms: ts,
            encoding: pb::FrameEncoding::Jpeg as i32,
            data,
            ..Default::default()
        })),
    }
}

pub fn start_message(session_id: &str, token: &str) -> pb::StreamSessionRequest {
    pb::StreamSessionRequest {
        message: Some(pb::stream_session_request::Message::Start(
            pb::StreamStart {
                session_id: session_id.to_string(),
                stream_token: token.to_string(),
                client: Some(pb::ClientInfo {
                    device: "api test".into(),
                    fps: 10.0,
                    ..Default::default()
                }),
                attestation: None,
            },
        )),
    }
}

/// The `start` of a client that can show the light step's colours (a browser, a phone app).
pub fn screen_start_message(session_id: &str, token: &str) -> pb::StreamSessionRequest {
    let mut start = start_message(session_id, token);
    if let Some(pb::stream_session_request::Message::Start(s)) = &mut start.message {
        let client = s.client.get_or_insert_default();
        client.device = "browser test".into();
        client.can_show_colour = true;
    }
    start
}

/// A new session with `frames` (after its `start`) queued on its stream, and the stream open.
/// Returns the session, the request sender (drop it to close the stream, keep it to leave the
/// stream open and idle), the gRPC client and the server's responses.
pub async fn open_stream(
    server: &TestServer,
    frames: Vec<pb::StreamSessionRequest>,
) -> (
    pb::CreateSessionResponse,
    tokio::sync::mpsc::Sender<pb::StreamSessionRequest>,
    pb::liveness_client::LivenessClient<Channel>,
    tonic::Streaming<pb::StreamSessionResponse>,
) {
    let mut client = grpc(server).await;
    let created = client
        .create_session(pb::CreateSessionRequest::default())
        .await
        .unwrap()
        .into_inner();
    let (tx, responses) = start_stream(
        &mut client,
        &created.session_id,
        &created.stream_token,
        frames,
    )
    .await;
    (created, tx, client, responses)
}

/// Opens the stream of an existing session over `client`, with its `start` and then `frames`
/// queued. Returns the request sender (drop it to close the stream) and the server's responses.
pub async fn start_stream(
    client: &mut pb::liveness_client::LivenessClient<Channel>,
    session_id: &str,
    token: &str,
    frames: Vec<pb::StreamSessionRequest>,
) -> (
    tokio::sync::mpsc::Sender<pb::StreamSessionRequest>,
    tonic::Streaming<pb::StreamSessionResponse>,
) {
    let messages = std::iter::once(start_message(session_id, token)).chain(frames);
    stream_messages(client, messages).await
}

/// Opens a stream over `client` with `messages` queued (a `start` of the caller's own first).
/// Returns the request sender (drop it to close the stream) and the server's responses.
pub async fn stream_messages(
    client: &mut pb::liveness_client::LivenessClient<Channel>,
    messages: impl IntoIterator<Item = pb::StreamSessionRequest>,
) -> (
    tokio::sync::mpsc::Sender<pb::StreamSessionRequest>,
    tonic::Streaming<pb::StreamSessionResponse>,
) {
    let (tx, rx) = tokio::sync::mpsc::channel(1024);
    for m in messages {
        tx.send(m).await.unwrap();
    }
    let responses = client
        .stream_session(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    (tx, responses)
}

/// Streams the still photo of [`jpeg_frame`] in lock-step until the verdict: each time the
/// frame stamped `last` (already sent) is answered, the next one, 100 ms later, goes out.
pub async fn still_until_verdict(
    tx: &tokio::sync::mpsc::Sender<pb::StreamSessionRequest>,
    responses: &mut tonic::Streaming<pb::StreamSessionResponse>,
    mut last: i64,
) -> pb::Verdict {
    use pb::stream_session_response::Message as Out;
    loop {
        let message = responses
            .message()
            .await
            .unwrap()
            .expect("open until the verdict");
        match message.message.unwrap() {
            Out::Verdict(v) => return v,
            Out::Feedback(f) if f.frame_timestamp_ms == last => {
                last += 100;
                // The call's request side closes once the server has decided the verdict.
                let _ = tx.send(jpeg_frame(last)).await;
            }
            _ => {}
        }
    }
}

/// The log lines of a server binary started with its stdout piped, as they come. A thread keeps
/// reading to the end, so the server never blocks on, or writes into, an unread pipe.
pub fn log_lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let out = child.stdout.take().expect("the server's stdout is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

/// Waits (up to a minute) for the log's "listening (`listener`" line, e.g. "gRPC" or "REST", and
/// returns its `addr=`.
pub fn listening_addr(log: &std::sync::mpsc::Receiver<String>, listener: &str) -> String {
    let wanted = format!("listening ({listener}");
    loop {
        let line = log
            .recv_timeout(std::time::Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("the server starts within a minute and logs {wanted}"));
        if line.contains(&wanted) {
            let at = line.find("addr=").expect("the address in the line") + "addr=".len();
            return line[at..].split_whitespace().next().unwrap().to_string();
        }
    }
}
