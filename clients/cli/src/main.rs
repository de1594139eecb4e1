//! `livegate`: the command-line client. `livegate stream VIDEO_OR_FOLDER` creates a session,
//! streams the frames, prints each challenge, hint and the verdict; the exit status is 0 when
//! live, 1 when not live, 2 on error.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use livegate_cli::{FrameSource, Pacing, StreamOptions, connect, create_session, stream};
use livegate_proto::v1 as pb;
use pb::stream_session_response::Message as Out;

#[derive(Parser)]
#[command(name = "livegate", version, about = "Livegate face-liveness client")]
struct Cli {
    /// Server address.
    #[arg(
        long,
        env = "LIVEGATE_SERVER",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    server: String,
    /// API key of the caller's tenant (sent as `authorization: Bearer <key>`); not needed by a
    /// server that runs without keys.
    #[arg(long, env = "LIVEGATE_API_KEY", global = true, hide_env_values = true)]
    api_key: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a session and stream a video file, a folder of images, or one image repeated.
    Stream {
        /// Video file (any format OpenCV/FFmpeg reads) or folder of JPEG/PNG images.
        source: PathBuf,
        /// Send frames at the source's frame rate, as a camera would (default: as fast as the
        /// server answers them).
        #[arg(long)]
        realtime: bool,
        /// Frame rate for image folders and repeated images (videos use their own).
        #[arg(long)]
        fps: Option<f64>,
        /// Send SOURCE (an image) this many times: a still photo held to the camera.
        #[arg(long)]
        repeat: Option<u32>,
        /// Stop after this many frames.
        #[arg(long)]
        max_frames: Option<u32>,
        /// Audit images to keep (0-4).
        #[arg(long, default_value_t = 0)]
        audit_images: i32,
        /// Print every feedback message, not only changes of hint.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Print a session's result.
    Result { session_id: String },
    /// Verify a session's result (consumes it).
    Verify {
        session_id: String,
        #[arg(long)]
        threshold: Option<f32>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("livegate: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, livegate_cli::ClientError> {
    let mut client = connect(&cli.server, cli.api_key.as_deref()).await?;
    match cli.command {
        Command::Stream {
            source,
            realtime,
            fps,
            repeat,
            max_frames,
            audit_images,
            verbose,
        } => {
            let frames = match repeat {
                Some(n) => FrameSource::still(&source, n, fps.unwrap_or(15.0))?,
                None => FrameSource::open(&source, fps)?,
            };
            let session = create_session(&mut client, audit_images).await?;
            println!("session {}", session.session_id);
            let options = StreamOptions {
                pacing: if realtime {
                    Pacing::Realtime
                } else {
                    Pacing::Lockstep
                },
                max_frames,
                ..Default::default()
            };
            let mut last_hint = -1;
            let report = stream(
                &mut client,
                &session.session_id,
                &session.stream_token,
                frames,
                &options,
                |m| print_message(m, verbose, &mut last_hint),
            )
            .await?;
            println!(
                "{} frames sent, {} analysed",
                report.frames_sent,
                report.feedback.len()
            );
            Ok(match report.verdict {
                Some(v) if v.is_live => ExitCode::SUCCESS,
                _ => ExitCode::from(1),
            })
        }
        Command::Result { session_id } => {
            let r = client
                .get_session_result(pb::GetSessionResultRequest { session_id })
                .await?
                .into_inner();
            println!(
                "status {:?}, live {}, confidence {:.2}, reference image {} bytes, {} audit images: {}",
                pb::SessionStatus::try_from(r.status).unwrap_or_default(),
                r.is_live,
                r.confidence,
                r.reference_image.len(),
                r.audit_images.len(),
                r.message
            );
            Ok(if r.is_live {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Verify {
            session_id,
            threshold,
        } => {
            let r = client
                .verify_session(pb::VerifySessionRequest {
                    session_id,
                    confidence_threshold: threshold,
                })
                .await?
                .into_inner();
            println!(
                "verified: live {}, confidence {:.2}",
                r.is_live, r.confidence
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_message(m: &Out, verbose: bool, last_hint: &mut i32) {
    let kind = |k: i32| format!("{:?}", pb::ChallengeKind::try_from(k).unwrap_or_default());
    match m {
        Out::SessionStarted(s) => {
            let plan: Vec<String> = s.plan.iter().map(|k| kind(*k)).collect();
            println!("plan: {}", plan.join(" → "));
        }
        Out::Challenge(c) => println!(
            "challenge {}: {} ({} s)",
            c.index + 1,
            c.instruction,
            c.time_limit_ms / 1000
        ),
        Out::Feedback(f) => {
            if verbose || f.hint != *last_hint {
                let hint = format!("{:?}", pb::Hint::try_from(f.hint).unwrap_or_default());
                let pose = f
                    .pose
                    .map(|p| format!("yaw {:+.0}° pitch {:+.0}°", p.yaw, p.pitch))
                    .unwrap_or_default();
                let progress = f
                    .challenge
                    .map(|c| format!("step {:.0}%", c.progress * 100.0))
                    .unwrap_or_default();
                println!(
                    "  t={:>6} ms  hint {hint:<14} {pose:<22} {progress}",
                    f.frame_timestamp_ms
                );
                *last_hint = f.hint;
            }
        }
        Out::Verdict(v) => println!(
            "verdict: {} (confidence {:.2}) {}",
            if v.is_live { "LIVE" } else { "NOT LIVE" },
            v.confidence,
            v.message
        ),
    }
}
