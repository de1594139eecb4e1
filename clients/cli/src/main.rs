//! `livegate`: the command-line client. `livegate stream VIDEO_OR_FOLDER` creates a session,
//! streams the frames, prints each challenge, hint and the verdict; `livegate compare` matches two
//! faces; `livegate kyc` checks an identity document against a session. The exit status is 0
//! when live (a match, a successful check), 1 when not, 2 on error; `--json` prints the answer
//! as JSON for scripts.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use livegate_cli::light::ColourScreen;
use livegate_cli::{
    FrameSource, Pacing, StreamOptions, connect, connect_identity, create_session, read_file,
    stream,
};
use livegate_proto::v1 as pb;
use pb::stream_session_response::Message as Out;

mod output;

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
    /// Print the answer as one JSON object (the REST API's field names) instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    #[command(flatten)]
    Liveness(LivenessCommand),
    /// Compare the largest face of two pictures (JPEG or PNG): exit 0 on a match, 1 otherwise.
    Compare {
        /// The reference, e.g. the photo on an ID.
        source: PathBuf,
        /// The face to check, e.g. a selfie.
        target: PathBuf,
        /// Similarity (0-100) at or above which the faces match (server default 90).
        #[arg(long)]
        threshold: Option<f32>,
    },
    /// Check pictures of an identity document against a finished liveness session (consumes
    /// the session's result): exit 0 when every check passes, 1 otherwise.
    Kyc {
        session_id: String,
        /// Pictures of the document (front, back), JPEG or PNG.
        #[arg(required = true)]
        documents: Vec<PathBuf>,
        /// Face match threshold (0-100, default 90).
        #[arg(long)]
        similarity_threshold: Option<f32>,
    },
    /// Camera-like load: STREAMS streams each sending VIDEO's frames at FPS, one session after
    /// another, for DURATION; prints what users would feel (fps, latency, verdicts, errors).
    Load {
        /// A video file whose frames are sent (decoded once, before the clock starts).
        video: PathBuf,
        #[arg(long, default_value_t = 16, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
        streams: usize,
        #[arg(long, default_value_t = 10.0, value_parser = positive_rate)]
        fps: f64,
        #[arg(long, default_value = "60s", value_parser = positive_duration)]
        duration: std::time::Duration,
        /// Frames are scaled to this width and height, as a camera would send them.
        #[arg(long, default_value_t = 640, value_parser = clap::value_parser!(i32).range(16..=8192))]
        width: i32,
        #[arg(long, default_value_t = 480, value_parser = clap::value_parser!(i32).range(16..=8192))]
        height: i32,
        /// The server's process id (the server on this machine): report its CPU and resident
        /// memory over the run.
        #[arg(long)]
        server_pid: Option<u32>,
        /// How often the server's process is sampled (a soak: `--duration 30m --sample-every 1m`).
        #[arg(long, default_value = "10s", value_parser = positive_duration)]
        sample_every: std::time::Duration,
    },
}

/// The commands of the Liveness service.
#[derive(Subcommand)]
enum LivenessCommand {
    /// Create a session and stream a camera, a video file, a folder of images, or one image
    /// repeated.
    Stream(StreamArgs),
    /// Print a session's result.
    Result { session_id: String },
    /// Verify a session's result (consumes it).
    Verify {
        session_id: String,
        #[arg(long)]
        threshold: Option<f32>,
    },
}

#[derive(clap::Args)]
struct StreamArgs {
    /// Video file (any format OpenCV/FFmpeg reads) or folder of JPEG/PNG images.
    #[arg(required_unless_present = "camera", conflicts_with = "camera")]
    source: Option<PathBuf>,
    /// Stream from a camera instead (0: the first), following the challenges live.
    #[arg(long)]
    camera: Option<i32>,
    /// Send frames at the source's frame rate, as a camera would (default: as fast as the
    /// server answers them).
    #[arg(long)]
    realtime: bool,
    /// Frame rate for image folders and repeated images (videos use their own).
    #[arg(long, value_parser = positive_rate)]
    fps: Option<f64>,
    /// Send SOURCE (an image) this many times: a still photo held to the camera.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    repeat: Option<u32>,
    /// Stop after this many frames.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    max_frames: Option<u32>,
    /// Audit images to keep (0-4).
    #[arg(long, default_value_t = 0)]
    audit_images: i32,
    /// Print every feedback message, not only changes of hint.
    #[arg(long, short)]
    verbose: bool,
    /// Show the light step's colours by filling this terminal with them (maximise it and face
    /// it), and so declare that this client can: `auto` with `--camera` on a terminal that has
    /// 24-bit colour (`COLORTERM=truecolor`); `always` also for a file sent with `--realtime`.
    #[arg(long, value_enum, default_value_t = ShowColours::Auto)]
    show_colours: ShowColours,
}

/// When the stream shows the light step's colours on this terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ShowColours {
    Auto,
    Always,
    Never,
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

/// A duration above zero: a load of no time measures nothing.
fn positive_duration(s: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(s) {
        Ok(d) if d.is_zero() => Err("must be longer than 0s".into()),
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    }
}

/// A frame rate above zero (a file's frames at 0 fps would never come).
fn positive_rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        Ok(v) => Err(format!("{v} is not above 0")),
        Err(e) => Err(e.to_string()),
    }
}

/// Exit status 0 when `ok`, else 1.
fn exit(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

async fn run(cli: Cli) -> Result<ExitCode, livegate_cli::ClientError> {
    let (server, key, json) = (cli.server.as_str(), cli.api_key.as_deref(), cli.json);
    match cli.command {
        Command::Compare {
            source,
            target,
            threshold,
        } => compare(server, key, json, &source, &target, threshold).await,
        Command::Kyc {
            session_id,
            documents,
            similarity_threshold,
        } => {
            kyc(
                server,
                key,
                json,
                session_id,
                &documents,
                similarity_threshold,
            )
            .await
        }
        Command::Liveness(command) => liveness(connect(server, key).await?, json, command).await,
        Command::Load {
            video,
            streams,
            fps,
            duration,
            width,
            height,
            server_pid,
            sample_every,
        } => {
            let frames =
                tokio::task::block_in_place(|| livegate_cli::load::frames(&video, width, height))?;
            let plan = livegate_cli::load::LoadPlan {
                streams,
                fps,
                duration,
                server_pid,
                sample_every,
            };
            let report = livegate_cli::load::run(|| connect(server, key), frames, plan).await?;
            print!("{report}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn compare(
    server: &str,
    key: Option<&str>,
    json: bool,
    source: &std::path::Path,
    target: &std::path::Path,
    threshold: Option<f32>,
) -> Result<ExitCode, livegate_cli::ClientError> {
    let mut identity = connect_identity(server, key).await?;
    let r = identity
        .compare_faces(pb::CompareFacesRequest {
            source_image: read_file(source)?,
            target_image: read_file(target)?,
            threshold,
            enforce_match: false,
        })
        .await?
        .into_inner();
    if json {
        println!("{}", output::compare(&r));
    } else {
        println!(
            "{}: similarity {:.2} (threshold {:.0}), confidence {:.0}",
            if r.is_match { "MATCH" } else { "NO MATCH" },
            r.similarity,
            r.threshold,
            r.confidence
        );
        for (picture, issues) in [("source", &r.source_issues), ("target", &r.target_issues)] {
            if !issues.is_empty() {
                println!(
                    "{picture} picture unfit for matching: {} (take another)",
                    livegate_proto::rest::issue_names(issues).join(", ")
                );
            }
        }
    }
    Ok(exit(r.is_match))
}

async fn kyc(
    server: &str,
    key: Option<&str>,
    json: bool,
    session_id: String,
    documents: &[PathBuf],
    similarity_threshold: Option<f32>,
) -> Result<ExitCode, livegate_cli::ClientError> {
    let mut identity = connect_identity(server, key).await?;
    let documents = documents
        .iter()
        .map(|p| read_file(p))
        .collect::<Result<_, _>>()?;
    let r = identity
        .analyze_identity_with_liveness(pb::AnalyzeIdentityRequest {
            documents,
            liveness_session_id: session_id,
            similarity_threshold,
            confidence_threshold: None,
        })
        .await?
        .into_inner();
    if json {
        println!("{}", output::kyc(&r));
    } else {
        print!("{}", output::kyc_text(&r));
    }
    Ok(exit(r.overall_success))
}

/// `stream`, `result` and `verify`: the Liveness service.
async fn liveness(
    mut client: livegate_cli::Client,
    json: bool,
    command: LivenessCommand,
) -> Result<ExitCode, livegate_cli::ClientError> {
    match command {
        LivenessCommand::Stream(args) => stream_command(&mut client, json, args).await,
        LivenessCommand::Result { session_id } => {
            let r = client
                .get_session_result(pb::GetSessionResultRequest { session_id })
                .await?
                .into_inner();
            if json {
                println!("{}", output::result(&r));
            } else {
                println!(
                    "status {}, live {}, confidence {:.2}, reference image {} bytes, {} audit images: {}",
                    pb::SessionStatus::try_from(r.status)
                        .unwrap_or_default()
                        .api_name(),
                    r.is_live,
                    r.confidence,
                    r.reference_image.len(),
                    r.audit_images.len(),
                    r.message
                );
            }
            Ok(exit(r.is_live))
        }
        LivenessCommand::Verify {
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
            if json {
                let verified = livegate_proto::rest::VerifyResponse::from(r);
                println!("{}", serde_json::json!(verified));
            } else {
                println!(
                    "verified: live {}, confidence {:.2}",
                    r.is_live, r.confidence
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `stream`: a new session, the source streamed into it, the verdict.
async fn stream_command(
    client: &mut livegate_cli::Client,
    json: bool,
    args: StreamArgs,
) -> Result<ExitCode, livegate_cli::ClientError> {
    let StreamArgs {
        source,
        camera,
        realtime,
        fps,
        repeat,
        max_frames,
        audit_images,
        verbose,
        show_colours,
    } = args;
    let frames = match (camera, source, repeat) {
        (Some(index), _, _) => FrameSource::camera(index)?,
        (None, Some(source), Some(n)) => FrameSource::still(&source, n, fps.unwrap_or(15.0))?,
        (None, Some(source), None) => FrameSource::open(&source, fps)?,
        (None, None, _) => unreachable!("clap requires a source without --camera"),
    };
    // A camera delivers frames in real time: send each as it comes.
    let realtime = realtime || frames.is_live();
    // The colours and the frames must share a clock: only a stream sent in real time can show
    // them (a camera's, or a file's with --realtime).
    if show_colours == ShowColours::Always && !realtime {
        eprintln!(
            "--show-colours always needs --camera or --realtime: colours are shown on the frames' clock"
        );
        return Ok(ExitCode::from(2));
    }
    let colours = match show_colours {
        ShowColours::Auto => frames.is_live() && ColourScreen::terminal_can_show(),
        ShowColours::Always => true,
        ShowColours::Never => false,
    };
    let session = create_session(client, audit_images).await?;
    if !json {
        println!("session {}", session.session_id);
    }
    let options = StreamOptions {
        pacing: if realtime {
            Pacing::Realtime
        } else {
            Pacing::Lockstep
        },
        max_frames,
        colours: colours.then(|| ColourScreen::stdout().shared()),
        ..Default::default()
    };
    let mut progress = Progress::new(verbose);
    let report = stream(
        client,
        &session.session_id,
        &session.stream_token,
        frames,
        &options,
        |m| {
            if !json {
                progress.show(m)
            }
        },
    )
    .await?;
    if json {
        println!("{}", output::stream(&report));
    } else {
        if let Some(v) = &report.verdict {
            println!(
                "verdict: {} (confidence {:.2}) {}",
                if v.is_live { "LIVE" } else { "NOT LIVE" },
                v.confidence,
                v.message
            );
        }
        println!(
            "{} frames sent, {} analysed",
            report.frames_sent,
            report.feedback.len()
        );
    }
    Ok(exit(report.verdict.is_some_and(|v| v.is_live)))
}

/// What the stream prints as it goes. On a terminal (and without `--verbose`) the current step
/// is one line redrawn in place: its progress, the hint and the time left; elsewhere (a log, a
/// pipe) each change of hint is a line of its own.
struct Progress {
    verbose: bool,
    live_line: bool,
    last_hint: i32,
    steps: usize,
}

impl Progress {
    fn new(verbose: bool) -> Self {
        use std::io::IsTerminal;
        Progress {
            verbose,
            live_line: !verbose && std::io::stdout().is_terminal(),
            last_hint: -1,
            steps: 0,
        }
    }

    /// Ends the line being redrawn, so that the next message starts on its own.
    fn break_line(&self) {
        if self.live_line {
            println!();
        }
    }

    fn show(&mut self, m: &Out) {
        let kind = |k: i32| format!("{:?}", pb::ChallengeKind::try_from(k).unwrap_or_default());
        match m {
            Out::SessionStarted(s) => {
                let plan: Vec<String> = s.plan.iter().map(|k| kind(*k)).collect();
                self.steps = plan.len();
                println!("plan: {}", plan.join(" → "));
            }
            Out::Challenge(c) => {
                if c.index > 0 {
                    self.break_line();
                }
                println!(
                    "challenge {}: {} ({} s)",
                    c.index + 1,
                    c.instruction,
                    c.time_limit_ms / 1000
                );
            }
            Out::Feedback(f) => {
                let hint = format!("{:?}", pb::Hint::try_from(f.hint).unwrap_or_default());
                if self.live_line {
                    let Some(c) = f.challenge else { return };
                    let filled = (c.progress.clamp(0.0, 1.0) * 20.0).round() as usize;
                    print!(
                        "\r  step {}/{} [{}{}] {:>3.0}%  {hint:<14} {:>4.1} s left ",
                        c.index + 1,
                        self.steps.max(1),
                        "#".repeat(filled),
                        "-".repeat(20 - filled),
                        c.progress * 100.0,
                        c.time_left_ms as f32 / 1000.0
                    );
                    use std::io::Write;
                    let _ = std::io::stdout().flush();
                } else if self.verbose || f.hint != self.last_hint {
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
                }
                self.last_hint = f.hint;
            }
            // Printed once the stream has ended: by default the server does not tell the device
            // the outcome, and the CLI reads it back with its key (`livegate_cli::disclosed`).
            Out::Verdict(_) => self.break_line(),
        }
    }
}
