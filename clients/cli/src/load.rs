//! `livegate load`: camera-like load on a server. N streams, each sending a video's frames at a
//! camera's pace (whatever the server answers), one session after another for a set time, and a
//! report of what a user would feel: analysed frames per second per stream, frames never
//! answered, feedback latency, verdict latency, sessions completed and errors by code.
//!
//! The video is decoded and JPEG-encoded once, before the clock starts, so the generator's own
//! cost is sending and reading. Latency is taken from the moment a frame is handed to the
//! connection to the moment its feedback arrives. All streams use one API key: give the server
//! a session rate limit that allows the load (`LIVEGATE_SESSIONS_PER_MINUTE`), or its 2014s are
//! what gets measured.
//!
//! With the server's process id (`--server-pid`, the generator on the same machine) the report
//! adds what the load cost the server: CPU (cores busy on average) and resident memory, sampled
//! through the run ([`crate::process`]), with its growth in MB a minute; a long run with a
//! sample a minute is a soak test.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use livegate_proto::v1 as pb;
use pb::stream_session_request::Message as In;
use pb::stream_session_response::Message as Out;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use crate::source::FrameSource;
use crate::{Client, ClientError};

/// How long a stream waits after a session that failed before it starts the next.
const ERROR_BACKOFF: Duration = Duration::from_secs(1);

/// What the generator does.
pub struct LoadPlan {
    pub streams: usize,
    pub fps: f64,
    pub duration: Duration,
    /// The server's process, to sample its CPU and memory.
    pub server_pid: Option<u32>,
    /// How often the server's process is sampled.
    pub sample_every: Duration,
}

/// What one session measured.
#[derive(Default)]
struct SessionLog {
    sent: u32,
    answered: u32,
    latencies_ms: Vec<f64>,
    verdict_ms: Option<f64>,
    error: Option<String>,
    seconds: f64,
}

/// Frames kept from the video, at most: a minute at 10 fps; streams loop over them.
const MOST_FRAMES: usize = 600;

/// The first [`MOST_FRAMES`] frames of `video`, scaled to `width` × `height` (a camera's size,
/// whatever the video's) and JPEG-encoded once.
pub fn frames(video: &Path, width: i32, height: i32) -> Result<Arc<Vec<Vec<u8>>>, ClientError> {
    use opencv::core::{Mat, Size, Vector, VectorToVec};
    use opencv::{imgcodecs, imgproc};
    let mut source = FrameSource::open(video, None)?;
    let mut out = Vec::new();
    let opencv = |e: opencv::Error| ClientError::from(crate::source::SourceError::from(e));
    while out.len() < MOST_FRAMES
        && let Some(frame) = source.next_frame()?
    {
        let decoded =
            imgcodecs::imdecode(&Vector::from_slice(&frame.jpeg), imgcodecs::IMREAD_COLOR)
                .map_err(opencv)?;
        let mut scaled = Mat::default();
        imgproc::resize(
            &decoded,
            &mut scaled,
            Size::new(width, height),
            0.0,
            0.0,
            imgproc::INTER_LINEAR,
        )
        .map_err(opencv)?;
        let mut jpeg = Vector::<u8>::new();
        let quality = Vector::from_slice(&[imgcodecs::IMWRITE_JPEG_QUALITY, 85]);
        imgcodecs::imencode(".jpg", &scaled, &mut jpeg, &quality).map_err(opencv)?;
        out.push(jpeg.to_vec());
    }
    if out.is_empty() {
        return Err(crate::source::SourceError::Empty(video.to_path_buf()).into());
    }
    Ok(Arc::new(out))
}

/// Runs `plan` against the server `connect` reaches and returns the report as a table.
pub async fn run<F, Fut>(
    connect: F,
    frames: Arc<Vec<Vec<u8>>>,
    plan: LoadPlan,
) -> Result<String, ClientError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Client, ClientError>>,
{
    let started = Instant::now();
    let deadline = started + plan.duration;
    let sampler = plan
        .server_pid
        .map(|pid| tokio::spawn(crate::process::sample(pid, plan.sample_every, deadline)));
    let mut tasks = Vec::new();
    for _ in 0..plan.streams {
        let mut client = connect().await?;
        let frames = frames.clone();
        let fps = plan.fps;
        tasks.push(tokio::spawn(async move {
            let mut logs = Vec::new();
            while Instant::now() < deadline {
                let log = one_session(&mut client, &frames, fps, deadline).await;
                let failed = log.error.is_some();
                logs.push(log);
                // A refused session (a rate limit, a busy server) is retried a second later,
                // as a client would, not in a loop that would only load this machine.
                if failed {
                    tokio::time::sleep(ERROR_BACKOFF).await;
                }
            }
            logs
        }));
    }
    let mut logs = Vec::new();
    let mut per_stream_fps = Vec::new();
    for task in tasks {
        let stream_logs = task.await.expect("a load stream panicked");
        let answered: u32 = stream_logs.iter().map(|l| l.answered).sum();
        let seconds: f64 = stream_logs.iter().map(|l| l.seconds).sum();
        per_stream_fps.push(answered as f64 / seconds.max(1e-3));
        logs.extend(stream_logs);
    }
    let elapsed = started.elapsed();
    let mut out = report(&plan, &logs, &mut per_stream_fps, elapsed);
    if let Some(sampler) = sampler {
        let samples = sampler.await.expect("the process sampler panicked");
        out += &server_report(&samples);
    }
    Ok(out)
}

/// What the load cost the server: CPU, memory, and memory over time.
fn server_report(samples: &[crate::process::Sample]) -> String {
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
        return "
The server's process could not be read (is it on this machine?).
"
        .into();
    };
    let seconds = (last.at - first.at).as_secs_f64().max(1e-3);
    let peak = samples.iter().map(|s| s.rss_mb).fold(0.0, f64::max);
    let mut out = format!(
        "
Server process: {:.2} cores busy on average; resident memory {:.0} MB at the start, {:.0} MB at the peak, {:.0} MB at the end; growth {:+.2} MB a minute (least squares over {} samples).

| time | resident MB | cores busy since the last sample |
|---|---|---|
",
        (last.cpu_s - first.cpu_s) / seconds,
        first.rss_mb,
        peak,
        last.rss_mb,
        crate::process::rss_slope_mb_per_min(samples),
        samples.len(),
    );
    let mut previous = first;
    for s in samples {
        let dt = (s.at - previous.at).as_secs_f64();
        let cores = if dt > 0.0 {
            format!("{:.2}", (s.cpu_s - previous.cpu_s) / dt)
        } else {
            "—".into()
        };
        out += &format!(
            "| {:.0} s | {:.0} | {cores} |
",
            s.at.as_secs_f64(),
            s.rss_mb
        );
        previous = s;
    }
    out
}

/// One session: create it, send frames at `fps` until the verdict or the deadline.
async fn one_session(
    client: &mut Client,
    frames: &[Vec<u8>],
    fps: f64,
    deadline: Instant,
) -> SessionLog {
    let began = Instant::now();
    let mut log = SessionLog::default();
    if let Err(e) = session(client, frames, fps, deadline, &mut log).await {
        log.error = Some(match &e {
            ClientError::Server(status) => crate::error_code(status)
                .map(|c| c.to_string())
                .unwrap_or_else(|| format!("{:?}", status.code())),
            other => other.to_string(),
        });
    }
    log.seconds = began.elapsed().as_secs_f64();
    log
}

async fn session(
    client: &mut Client,
    frames: &[Vec<u8>],
    fps: f64,
    deadline: Instant,
    log: &mut SessionLog,
) -> Result<(), ClientError> {
    let created = crate::create_session(client, 0).await?;
    let (tx, rx) = mpsc::channel(64);
    // The receiver is right here: this send cannot fail.
    let _ = tx
        .send(pb::StreamSessionRequest {
            message: Some(In::Start(pb::StreamStart {
                session_id: created.session_id.clone(),
                stream_token: created.stream_token.clone(),
                client: Some(pb::ClientInfo {
                    device: "livegate load".into(),
                    fps: fps as f32,
                    ..Default::default()
                }),
                // A command-line tool has no platform to vouch for it: a deployment that requires
                // attestation refuses it (ATTESTATION_REQUIRED).
                attestation: None,
            })),
        })
        .await;
    let mut responses = client
        .stream_session(ReceiverStream::new(rx))
        .await?
        .into_inner();
    let mut sent_at: HashMap<i64, Instant> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / fps));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let start = Instant::now();
    let mut last_sent = start;
    let mut next = 0usize;
    loop {
        tokio::select! {
            _ = tick.tick(), if Instant::now() < deadline => {
                let timestamp_ms = start.elapsed().as_millis() as i64;
                let frame = pb::Frame {
                    timestamp_ms,
                    encoding: pb::FrameEncoding::Jpeg as i32,
                    data: frames[next % frames.len()].clone(),
                    ..Default::default()
                };
                next += 1;
                if tx.send(pb::StreamSessionRequest { message: Some(In::Frame(frame)) }).await.is_err() {
                    continue;
                }
                last_sent = Instant::now();
                sent_at.insert(timestamp_ms, last_sent);
                log.sent += 1;
            }
            message = responses.next() => match message {
                Some(Ok(m)) => match m.message {
                    Some(Out::Feedback(f)) => {
                        if let Some(at) = sent_at.remove(&f.frame_timestamp_ms) {
                            log.answered += 1;
                            log.latencies_ms.push(at.elapsed().as_secs_f64() * 1e3);
                        }
                    }
                    Some(Out::Verdict(_)) => {
                        log.verdict_ms = Some(last_sent.elapsed().as_secs_f64() * 1e3);
                        return Ok(());
                    }
                    _ => {}
                },
                Some(Err(status)) => return Err(status.into()),
                None => return Ok(()),
            },
            _ = tokio::time::sleep_until(deadline.into()), if Instant::now() >= deadline => {
                return Ok(());
            }
        }
    }
}

/// The `p`-quantile (0–1) of sorted `values`.
fn quantile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values[((values.len() - 1) as f64 * p).round() as usize]
}

fn report(
    plan: &LoadPlan,
    logs: &[SessionLog],
    per_stream_fps: &mut [f64],
    elapsed: Duration,
) -> String {
    let mut latencies: Vec<f64> = logs.iter().flat_map(|l| l.latencies_ms.clone()).collect();
    latencies.sort_by(f64::total_cmp);
    let mut verdicts: Vec<f64> = logs.iter().filter_map(|l| l.verdict_ms).collect();
    verdicts.sort_by(f64::total_cmp);
    per_stream_fps.sort_by(f64::total_cmp);
    let sent: u32 = logs.iter().map(|l| l.sent).sum();
    let answered: u32 = logs.iter().map(|l| l.answered).sum();
    let mut errors: BTreeMap<&str, usize> = BTreeMap::new();
    for e in logs.iter().filter_map(|l| l.error.as_deref()) {
        *errors.entry(e).or_default() += 1;
    }
    let completed = logs.iter().filter(|l| l.verdict_ms.is_some()).count();
    let seconds = elapsed.as_secs_f64();
    let mut out = format!(
        "{} streams at {} fps for {:.0} s\n\n| measure | value |\n|---|---|\n",
        plan.streams, plan.fps, seconds
    );
    let mut row = |name: &str, value: String| out += &format!("| {name} | {value} |\n");
    row(
        "sessions with a verdict",
        format!("{completed} ({:.2} per second)", completed as f64 / seconds),
    );
    row(
        "analysed fps per stream, p5 / p50",
        format!(
            "{:.1} / {:.1}",
            quantile(per_stream_fps, 0.05),
            quantile(per_stream_fps, 0.5)
        ),
    );
    row(
        "frames never answered",
        format!(
            "{:.1} % of {sent}",
            100.0 * (sent - answered.min(sent)) as f64 / sent.max(1) as f64
        ),
    );
    row(
        "feedback latency p50 / p95 / p99",
        format!(
            "{:.0} / {:.0} / {:.0} ms",
            quantile(&latencies, 0.5),
            quantile(&latencies, 0.95),
            quantile(&latencies, 0.99)
        ),
    );
    row(
        "verdict after the last frame p50 / p95",
        format!(
            "{:.0} / {:.0} ms",
            quantile(&verdicts, 0.5),
            quantile(&verdicts, 0.95)
        ),
    );
    row(
        "errors by code",
        if errors.is_empty() {
            "none".into()
        } else {
            errors
                .iter()
                .map(|(code, n)| format!("{code}×{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        },
    );
    out
}
