//! The `livegate` client: creates a session and streams frames into it over gRPC, reporting
//! everything the server says. It speaks only the public API (`livegate-proto`).

pub mod light;
pub mod load;
pub mod process;
pub mod source;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use livegate_proto::v1 as pb;
use pb::liveness_client::LivenessClient;
use pb::stream_session_request::Message as In;
use pb::stream_session_response::Message as Out;
use tokio::sync::{mpsc, watch};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use light::LightPlayer;
pub use source::{FrameSource, SourceFrame};

/// Longest a lock-step sender waits for the answer to its previous frame.
const LOCKSTEP_WAIT: Duration = Duration::from_secs(5);

/// How frames are paced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pacing {
    /// At the source's frame rate, as a camera would, whatever the server does with them.
    Realtime,
    /// Each frame once the server has answered the previous one: as fast as it takes them.
    Lockstep,
}

#[derive(Debug, Clone)]
pub struct StreamOptions {
    pub pacing: Pacing,
    /// Stop after this many frames.
    pub max_frames: Option<u32>,
    pub mirrored: bool,
    pub device: String,
    /// Where to show a light step's colours. With a screen (and real-time pacing, so that the
    /// frames and the colours share a clock) the client declares `can_show_colour`.
    pub colours: Option<Arc<std::sync::Mutex<light::ColourScreen>>>,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            pacing: Pacing::Lockstep,
            max_frames: None,
            mirrored: false,
            device: format!("livegate-cli {}", env!("CARGO_PKG_VERSION")),
            colours: None,
        }
    }
}

/// Everything a stream produced.
#[derive(Debug, Default, Clone)]
pub struct StreamReport {
    pub session_id: String,
    pub started: Option<pb::SessionStarted>,
    pub challenges: Vec<pb::Challenge>,
    pub feedback: Vec<pb::FrameFeedback>,
    pub verdict: Option<pb::Verdict>,
    pub frames_sent: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("server refused: {message} ({code})", message = .0.message(), code = code_name(.0))]
    Server(Status),
    #[error("cannot connect: {0}")]
    Connect(#[from] tonic::transport::Error),
    #[error(transparent)]
    Source(#[from] source::SourceError),
    #[error("cannot read {path}: {error}")]
    File { path: String, error: std::io::Error },
}

/// The bytes of a file to upload (a picture, a document).
pub fn read_file(path: &std::path::Path) -> Result<Vec<u8>, ClientError> {
    std::fs::read(path).map_err(|error| ClientError::File {
        path: path.display().to_string(),
        error,
    })
}

impl From<Status> for ClientError {
    fn from(s: Status) -> Self {
        ClientError::Server(s)
    }
}

/// Livegate's numeric error code carried by a status (e.g. 1008 session not found), if any.
pub fn error_code(status: &Status) -> Option<i32> {
    status
        .get_details_error_info()?
        .metadata
        .get("errorCode")?
        .parse()
        .ok()
}

/// How an error message names what refused: Livegate's code where the status carries one,
/// else the gRPC status (a proxy's refusal, a server from before the codes).
fn code_name(status: &Status) -> String {
    match error_code(status) {
        Some(code) => format!("code {code}"),
        None => format!("gRPC status {:?}", status.code()),
    }
}

/// Adds the API key, when there is one, to every call as `authorization: Bearer <key>`.
#[derive(Clone, Default)]
pub struct ApiKey(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for ApiKey {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// A connected client of the Liveness service.
pub type Client = LivenessClient<InterceptedService<Channel, ApiKey>>;

/// A connected client of the Identity service (face matching, KYC).
pub type IdentityClient = pb::identity_client::IdentityClient<InterceptedService<Channel, ApiKey>>;

/// Messages up to this size both ways: results carry images, identity requests documents.
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Opens a channel to `server` (for example `http://127.0.0.1:50051`) and the interceptor that
/// presents `api_key`, if given.
async fn open(server: &str, api_key: Option<&str>) -> Result<(Channel, ApiKey), ClientError> {
    let key = api_key
        .map(|k| format!("Bearer {k}").parse())
        .transpose()
        .map_err(|_| ClientError::Server(Status::invalid_argument("the API key is not ASCII")))?;
    let channel = Channel::from_shared(server.to_string())
        .map_err(|e| {
            ClientError::Server(Status::invalid_argument(format!("bad server address: {e}")))
        })?
        .connect()
        .await?;
    Ok((channel, ApiKey(key)))
}

/// Connects to the Liveness service of `server`, presenting `api_key` if given.
pub async fn connect(server: &str, api_key: Option<&str>) -> Result<Client, ClientError> {
    let (channel, key) = open(server, api_key).await?;
    Ok(LivenessClient::with_interceptor(channel, key).max_decoding_message_size(MAX_MESSAGE_BYTES))
}

/// Connects to the Identity service of `server`, presenting `api_key` if given.
pub async fn connect_identity(
    server: &str,
    api_key: Option<&str>,
) -> Result<IdentityClient, ClientError> {
    let (channel, key) = open(server, api_key).await?;
    Ok(
        pb::identity_client::IdentityClient::with_interceptor(channel, key)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES),
    )
}

pub async fn create_session(
    client: &mut Client,
    audit_images_limit: i32,
) -> Result<pb::CreateSessionResponse, ClientError> {
    let request = pb::CreateSessionRequest {
        // The light step is the deployment's to decide: the stream's `start` says whether the
        // client can show colours, and a deployment that requires the step refuses one that
        // cannot at once (2017), leaving the session for a client that can.
        settings: Some(pb::SessionSettings {
            audit_images_limit,
            ..Default::default()
        }),
    };
    Ok(client.create_session(request).await?.into_inner())
}

/// The verdict as the backend sees it: a stream verdict that does not disclose the outcome
/// (status COMPLETED, the server's default) is filled in from the session's result, which this
/// client reads with its key. When the server could not store the outcome yet
/// (`result_pending`), the result is read again until it is there, for up to
/// [`PENDING_RESULT_WAIT`].
pub async fn disclosed(
    client: &mut Client,
    session_id: &str,
    verdict: pb::Verdict,
) -> Result<pb::Verdict, ClientError> {
    if verdict.status != pb::SessionStatus::Completed as i32 {
        return Ok(verdict);
    }
    let waited = std::time::Instant::now();
    loop {
        let read = client
            .get_session_result(pb::GetSessionResultRequest {
                session_id: session_id.to_string(),
            })
            .await;
        let still_pending = match &read {
            Ok(r) => r.get_ref().status == pb::SessionStatus::InProgress as i32,
            // The store is still away.
            Err(_) => true,
        };
        if verdict.result_pending && still_pending && waited.elapsed() < PENDING_RESULT_WAIT {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            continue;
        }
        let result = read?.into_inner();
        return Ok(pb::Verdict {
            is_live: result.is_live,
            confidence: result.confidence,
            status: result.status,
            reasons: result.reasons,
            message: result.message,
            result_pending: result.status == pb::SessionStatus::InProgress as i32,
        });
    }
}

/// How long [`disclosed`] waits for a result the server has not stored yet.
pub const PENDING_RESULT_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Streams `source` into the session, calling `on_message` for every server message, until the
/// verdict (or the source's end). An undisclosed verdict is read back from the session's result
/// ([`disclosed`]). Frames are read on a blocking thread so decoding never stalls
/// the connection.
pub async fn stream(
    client: &mut Client,
    session_id: &str,
    stream_token: &str,
    source: FrameSource,
    options: &StreamOptions,
    on_message: impl FnMut(&Out),
) -> Result<StreamReport, ClientError> {
    let fps = source.fps();
    // The frames' clock: a camera's own; for a file sent in real time, the moment sending starts
    // (each frame goes at its timestamp from then).
    let clock = source.clock().unwrap_or_else(Instant::now);
    let (reader, frames) = spawn_reader(source, options.max_frames.unwrap_or(u32::MAX));
    let (out_tx, out_rx) = mpsc::channel::<pb::StreamSessionRequest>(8);
    let colours = match options.pacing {
        Pacing::Realtime => options.colours.clone(),
        Pacing::Lockstep => None,
    };
    out_tx
        .send(start_message(
            session_id,
            stream_token,
            fps,
            options,
            colours.is_some(),
        ))
        .await
        .ok();
    let mut responses = client
        .stream_session(ReceiverStream::new(out_rx))
        .await?
        .into_inner();

    // The sender learns from the receiver which frame the server answered last.
    let (answered_tx, answered_rx) = watch::channel(i64::MIN);
    let (faces_tx, faces) = watch::channel(0u32);
    let light = colours.map(|screen| LightPlayer {
        screen,
        clock,
        out: out_tx.clone(),
        faces,
        showing: Arc::new(AtomicBool::new(false)),
    });
    let sender = tokio::spawn(send_frames(
        frames,
        out_tx,
        options.pacing,
        clock,
        answered_rx,
    ));
    let mut report = StreamReport {
        session_id: session_id.to_string(),
        ..Default::default()
    };
    let answers = Answers {
        answered: answered_tx,
        faces: faces_tx,
        light,
    };
    let failure = read_answers(&mut responses, answers, on_message, &mut report).await;
    // The verdict (or the server's end) ends the attempt: stop reading and sending.
    if !sender.is_finished() {
        sender.abort();
    }
    reader.abort();
    match sender.await {
        Ok(Ok(sent)) => report.frames_sent = sent,
        Ok(Err(e)) => return Err(e.into()),
        Err(_) => report.frames_sent = report.feedback.len() as u32, // aborted after the verdict
    }
    if let Some(status) = failure {
        return Err(status.into());
    }
    if let Some(verdict) = report.verdict.take() {
        report.verdict = Some(disclosed(client, session_id, verdict).await?);
    }
    Ok(report)
}

type SourceFrames = mpsc::Receiver<Result<SourceFrame, source::SourceError>>;

/// Reads up to `max_frames` of `source` on a blocking thread, a few frames ahead.
fn spawn_reader(
    mut source: FrameSource,
    max_frames: u32,
) -> (tokio::task::JoinHandle<()>, SourceFrames) {
    let (frames_tx, frames_rx) = mpsc::channel(4);
    let reader = tokio::task::spawn_blocking(move || {
        let mut n = 0;
        while n < max_frames {
            match source.next_frame() {
                Ok(Some(f)) => {
                    if frames_tx.blocking_send(Ok(f)).is_err() {
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    let _ = frames_tx.blocking_send(Err(e));
                    return;
                }
            }
            n += 1;
        }
    });
    (reader, frames_rx)
}

/// The `start` message: the session, its token, and what this client is.
fn start_message(
    session_id: &str,
    stream_token: &str,
    fps: f64,
    options: &StreamOptions,
    can_show_colour: bool,
) -> pb::StreamSessionRequest {
    pb::StreamSessionRequest {
        message: Some(In::Start(pb::StreamStart {
            session_id: session_id.to_string(),
            stream_token: stream_token.to_string(),
            client: Some(pb::ClientInfo {
                device: options.device.clone(),
                fps: fps as f32,
                mirrored: options.mirrored,
                can_show_colour,
                ..Default::default()
            }),
            // A command-line tool has no platform to vouch for it: a deployment that requires
            // attestation refuses it (ATTESTATION_REQUIRED).
            attestation: None,
        })),
    }
}

/// Sends the frames at the pace asked for; returns how many it sent.
async fn send_frames(
    mut frames: SourceFrames,
    out: mpsc::Sender<pb::StreamSessionRequest>,
    pacing: Pacing,
    start: Instant,
    mut answered: watch::Receiver<i64>,
) -> Result<u32, source::SourceError> {
    let mut sent = 0u32;
    let mut last_sent_ts = None;
    while let Some(frame) = frames.recv().await {
        let frame = frame?;
        match (pacing, last_sent_ts) {
            (Pacing::Realtime, _) => {
                let due = start + Duration::from_millis(frame.timestamp_ms.max(0) as u64);
                tokio::time::sleep_until(due.into()).await;
            }
            (Pacing::Lockstep, Some(previous)) => {
                // Wait for the answer to the previous frame. The server may skip a frame (rate
                // limit) and never answer it, so do not wait forever.
                let answer = answered.wait_for(|&t| t >= previous);
                if let Ok(Err(_stream_ended)) = tokio::time::timeout(LOCKSTEP_WAIT, answer).await {
                    break;
                }
            }
            (Pacing::Lockstep, None) => {}
        }
        last_sent_ts = Some(frame.timestamp_ms);
        let request = pb::StreamSessionRequest {
            message: Some(In::Frame(pb::Frame {
                timestamp_ms: frame.timestamp_ms,
                encoding: pb::FrameEncoding::Jpeg as i32,
                width: frame.width,
                height: frame.height,
                rotation: 0,
                data: frame.jpeg,
            })),
        };
        if out.send(request).await.is_err() {
            break;
        }
        sent += 1;
    }
    Ok(sent)
}

/// What the reader of the server's answers passes on: the last answered frame (for lock-step
/// pacing), the faces in view, and the light step's player, if this client shows colours.
struct Answers {
    answered: watch::Sender<i64>,
    faces: watch::Sender<u32>,
    light: Option<LightPlayer>,
}

/// Reads the server's messages into `report` until the verdict or the stream's end; the status
/// the stream failed with, if it did. A light step is played on its own task; while its colours
/// are on screen, feedback is not passed to `on_message` (its lines would draw over them).
async fn read_answers(
    responses: &mut tonic::Streaming<pb::StreamSessionResponse>,
    answers: Answers,
    mut on_message: impl FnMut(&Out),
    report: &mut StreamReport,
) -> Option<tonic::Status> {
    let showing = answers.light.as_ref().map(|l| l.showing.clone());
    let is_showing = || showing.as_ref().is_some_and(|s| s.load(Ordering::SeqCst));
    while let Some(message) = responses.next().await {
        let message = match message {
            Ok(m) => m,
            Err(status) => return Some(status),
        };
        let Some(message) = message.message else {
            continue;
        };
        if !(matches!(message, Out::Feedback(_)) && is_showing()) {
            on_message(&message);
        }
        match message {
            Out::SessionStarted(s) => report.started = Some(s),
            Out::Challenge(c) => {
                if !c.light_sequence.is_empty()
                    && let Some(player) = answers.light.clone()
                {
                    tokio::spawn(player.play(c.clone()));
                }
                report.challenges.push(c);
            }
            Out::Feedback(f) => {
                answers.answered.send_replace(f.frame_timestamp_ms);
                answers.faces.send_replace(f.faces);
                report.feedback.push(f);
            }
            Out::Verdict(v) => {
                report.verdict = Some(v);
                return None;
            }
        }
    }
    None
}
