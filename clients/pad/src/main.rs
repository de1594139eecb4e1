//! `livegate-pad`: the presentation-attack detection report. Starts a Livegate server on
//! loopback (or uses `--server`), runs `--sessions` sessions of the live user and of every attack
//! species through it over gRPC, and prints an ISO/IEC 30107-3 style table.

use clap::Parser;
use livegate_pad::report::{PadTable, run_session};
use livegate_pad::{Species, passive};

#[derive(Parser)]
#[command(
    name = "livegate-pad",
    about = "ISO/IEC 30107-3 style PAD report against a real Livegate server"
)]
struct Args {
    /// Sessions per species.
    #[arg(long, default_value_t = 10)]
    sessions: u64,
    /// First seed; session i of a species uses seed + i.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// A running server to test (default: start one in this process on 127.0.0.1).
    #[arg(long)]
    server: Option<String>,
    /// Only these species (by name, for example `live user`); default: all.
    #[arg(long)]
    species: Vec<String>,
    /// The client declares it can show the light step's colours (as the web page and phone
    /// apps do), so under the server's default policy every plan begins with the light step.
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set)]
    light: bool,
    /// Run the server's passive anti-spoofing model (CDCN++, ~3 s of one core a session; off by
    /// default, as in the server).
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set)]
    antispoof: bool,
    /// Also run the passive model here on each session's reference image and report its scores
    /// per species beside the verdicts (best with `--antispoof false`, so the verdicts are the
    /// cheap signals' alone).
    #[arg(long)]
    passive_scores: bool,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args = Args::parse();
    let mut config = livegate_server::config::Config::defaults();
    config.antispoof = args.antispoof;
    let threshold = config.confidence_threshold;
    let models = livegate_server::load_models(&config)?;
    let url = match args.server {
        Some(url) => url,
        None => {
            let (listener, addr) = livegate_server::bind("127.0.0.1:0".parse()?).await?;
            let listeners = livegate_server::Listeners {
                grpc: listener,
                rest: None,
                metrics: None,
            };
            tokio::spawn(livegate_server::serve(
                config,
                models.clone(),
                listeners,
                std::future::pending(),
            ));
            format!("http://{addr}")
        }
    };
    let mut client = livegate_cli::connect(&url, None).await?;
    let mut outcomes = Vec::new();
    let chosen = Species::ALL
        .into_iter()
        .filter(|s| args.species.is_empty() || args.species.iter().any(|n| n == s.name()));
    for species in chosen {
        for i in 0..args.sessions {
            let mut outcome = run_session(&mut client, species, args.seed + i, args.light).await?;
            if args.passive_scores {
                outcome.passive_depth =
                    passive::depth_of_session(&mut client, &models, &outcome.session_id).await?;
            }
            eprintln!(
                "{:14} seed {:3} plan {:?}: {} {:.1} {:?} ({} frames, {:.1} s){}",
                species.name(),
                args.seed + i,
                outcome.plan,
                if outcome.is_live { "LIVE" } else { "not live" },
                outcome.confidence,
                outcome.reasons,
                outcome.frames,
                outcome.elapsed.as_secs_f32(),
                outcome
                    .passive_depth
                    .map(|d| format!(" passive depth {d:.3}"))
                    .unwrap_or_default()
            );
            outcomes.push(outcome);
        }
    }
    println!(
        "light step: {}; passive model: {}; seeds {}..{}",
        if args.light {
            "shown (the client can show colours)"
        } else {
            "not shown (the client cannot)"
        },
        if args.antispoof { "on" } else { "off" },
        args.seed,
        args.seed + args.sessions - 1
    );
    print!(
        "{}",
        PadTable {
            outcomes,
            threshold
        }
        .render()
    );
    Ok(())
}
