//! The parallax measure ([`livegate_engine::evidence::parallax`]) on each head-rotation step of
//! each species, four seeds each: the numbers its thresholds were placed by (family A and the
//! live user; family B's puppet, print and phone replay are printed too, and were not used to
//! place them).
//! Rotations are measured as a session measures them: the larger of the solvePnP pose's and the
//! rigid fit's against the first followed frame ([`livegate_engine::pose::relative`]).
//!
//! `cargo run -p livegate-pad --example parallax_probe` (`SERIES=1` adds every frame's value).
//! At the end it prints what `ParallaxMeter::observe` cost per frame that it measured.

use std::sync::Arc;

use livegate_engine::analyzer::{AnalyzerConfig, FrameAnalyzer};
use livegate_engine::challenge::ChallengeKind;
use livegate_engine::evidence::ParallaxMeter;
use livegate_engine::models::{Models, default_model_dir};
use livegate_engine::pose;
use livegate_pad::{Species, Step};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let models = Arc::new(Models::load(&default_model_dir())?);
    let steps = [
        (Step::TurnLeft, ChallengeKind::TurnLeft),
        (Step::TurnRight, ChallengeKind::TurnRight),
        (Step::LookUp, ChallengeKind::LookUp),
    ];
    println!("species        step        seed  frames  max rotation  parallax");
    let (mut measured, mut measuring_time) = (0usize, std::time::Duration::ZERO);
    for species in [
        Species::Live,
        Species::PrintedPhoto,
        Species::Puppet,
        Species::CurvedPrint,
        Species::NosePuppet,
        Species::HalftonePrint,
        Species::PhoneStripe,
    ] {
        for (step, kind) in steps {
            for seed in 0..4u64 {
                let mut subject = species.subject(seed)?;
                let mut analyzer = FrameAnalyzer::new(models.clone(), AnalyzerConfig::default());
                // Settle on a few frames before the step, as a session does.
                for _ in 0..10 {
                    if let Some(shot) = subject.next(None)? {
                        analyzer.analyze(&shot.image, &[])?;
                    }
                }
                let mut meter = ParallaxMeter::default();
                meter.begin_step(kind.rotation());
                let mut frames = 0;
                let mut rest = None;
                // Two and a half seconds of the step.
                for _ in 0..60 {
                    let Some(shot) = subject.next(Some(step))? else {
                        break;
                    };
                    let analysis = analyzer.analyze(&shot.image, &[])?;
                    if let Some(face) = analysis.face.filter(|_| !analysis.detected) {
                        let rest = rest.get_or_insert_with(|| face.landmarks.clone());
                        let rotation = pose::relative(rest, &face.landmarks);
                        let before = meter.samples().count();
                        let started = std::time::Instant::now();
                        meter.observe(&shot.image, &face.landmarks, &[face.pose, rotation])?;
                        if meter.samples().count() > before {
                            measured += 1;
                            measuring_time += started.elapsed();
                        }
                        frames += 1;
                    }
                }
                let parallax = meter
                    .parallax()
                    .map_or("-".to_string(), |p| format!("{p:.3}"));
                if std::env::var("SERIES").is_ok() {
                    let series: Vec<String> = meter
                        .samples()
                        .map(|(r, v)| format!("{r:.0}°:{v:.3}"))
                        .collect();
                    println!("  {}", series.join(" "));
                }
                println!(
                    "{:14} {:11} {seed:4}  {frames:6}  {:11.1}°  {parallax:>8}",
                    species.name(),
                    format!("{step:?}"),
                    meter.max_rotation(),
                );
            }
        }
    }
    println!(
        "observe() on a measured frame: {:.2} ms on average over {measured} frames",
        measuring_time.as_secs_f64() * 1000.0 / measured.max(1) as f64
    );
    Ok(())
}
