//! Real people other than franck: phone selfies and webcam clips of five more people (the media
//! manifest's "more real people"). None of them turns or blinks on request, so no challenge can
//! be passed with them; what they test is everything that does not need a challenge. Every real
//! clip must pass the screen, print, injection and continuity signals, and must never be
//! flagged as an attack, whatever the camera, the face, the skin or the glasses.
//!
//! Each person is one row of the table this prints (`cargo test -p livegate-engine --test
//! real_people -- --nocapture`).

use crate::support;

use livegate_engine::pose;
use livegate_engine::{
    AttemptConfig, ChallengeKind, ChallengePlan, FrameInput, LivenessAttempt, VerdictReason,
};
use opencv::prelude::*;
use opencv::videoio;
use support::*;

/// (file, who).
const PEOPLE: [(&str, &str); 7] = [
    ("franck.mp4", "franck, webcam (our own subject)"),
    (
        "franck_laughing.mp4",
        "franck laughing, eyes shut, head down, another camera",
    ),
    ("msu_client005.mp4", "man, phone selfie"),
    ("msu_client022.mp4", "woman, phone selfie, hand in her hair"),
    ("msu_client001.mp4", "man with glasses, phone selfie"),
    ("webcam_office.mov", "man with glasses, office webcam"),
    ("webcam_still.mov", "another man, webcam, almost still"),
];

/// Evidence that says "attack": none of it may fire on a real person's clip.
const ATTACK_REASONS: [VerdictReason; 7] = [
    VerdictReason::ScreenSuspected,
    VerdictReason::DeviceOutline,
    VerdictReason::FrozenFrames,
    VerdictReason::InjectionSuspected,
    VerdictReason::FaceChanged,
    VerdictReason::MultipleFaces,
    VerdictReason::NoParallax,
];

/// Up to `seconds` of `file` at its own frame rate, as JPEG, with that rate.
fn clip(file: &str, seconds: f64) -> (Vec<Vec<u8>>, f64) {
    let mut cap =
        videoio::VideoCapture::from_file(media(file).to_str().unwrap(), videoio::CAP_ANY).unwrap();
    let fps = cap.get(videoio::CAP_PROP_FPS).unwrap();
    let fps = if fps.is_finite() && fps > 1.0 {
        fps
    } else {
        30.0
    };
    let mut frames = Vec::new();
    let mut m = opencv::core::Mat::default();
    while (frames.len() as f64) < seconds * fps && cap.read(&mut m).unwrap() && !m.empty() {
        frames.push(jpeg(&m));
    }
    (frames, fps)
}

#[test]
fn real_people_are_never_flagged_as_attacks() {
    println!(
        "| person | frames | fps | with one face | largest turn from rest (rigid fit) | framed by an outline | reasons | attack flags |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut failures = Vec::new();
    for (file, who) in PEOPLE {
        let (frames, fps) = clip(file, 8.0);
        // Steps long enough that the clip ends first: what is judged is the evidence gathered.
        let plan = ChallengePlan::movements(
            &[
                ChallengeKind::TurnLeft,
                ChallengeKind::TurnRight,
                ChallengeKind::LookUp,
            ],
            60_000,
        );
        let mut config = AttemptConfig::new(plan);
        config.declared_fps = Some(fps as f32);
        config.antispoof = false;
        let mut attempt = LivenessAttempt::new(models(), config);
        attempt.begin();
        let (mut with_face, mut rest, mut largest) = (0, None, 0f32);
        let mut analyzer = livegate_engine::FrameAnalyzer::new(
            models(),
            livegate_engine::AnalyzerConfig::default(),
        );
        for (i, jpeg) in frames.iter().enumerate() {
            let t = (i as f64 * 1000.0 / fps) as i64;
            for event in attempt.process(&FrameInput::jpeg(jpeg), t).unwrap() {
                if let livegate_engine::AttemptEvent::Feedback(f) = event
                    && f.faces == 1
                {
                    with_face += 1;
                }
            }
            // The rigid-fit rotation from the first frame with a face, for the table.
            if i % 10 != 0 {
                continue;
            }
            let bgr = livegate_engine::frame::decode(&FrameInput::jpeg(jpeg)).unwrap();
            if let Some(face) = analyzer.analyze(&bgr, &[]).unwrap().face {
                match &rest {
                    None => rest = Some(face.landmarks),
                    Some(r) => {
                        let p = pose::relative(r, &face.landmarks);
                        largest = largest.max(p.yaw.abs()).max(p.pitch.abs());
                    }
                }
            }
        }
        let verdict = attempt.abandon();
        let flags: Vec<&str> = verdict
            .reasons
            .iter()
            .filter(|r| ATTACK_REASONS.contains(r))
            .map(|r| r.code())
            .collect();
        println!(
            "| {who} | {} | {fps:.0} | {with_face} | {largest:.1}° | {} of {} | {:?} | {} |",
            frames.len(),
            verdict.evidence.outline.framed,
            verdict.evidence.outline.measured,
            verdict.reasons.iter().map(|r| r.code()).collect::<Vec<_>>(),
            if flags.is_empty() {
                "none".to_string()
            } else {
                flags.join(", ")
            }
        );
        assert!(with_face * 2 > frames.len(), "{who}: a face in most frames");
        if !flags.is_empty() {
            failures.push(format!("{who}: {flags:?} ({:?})", verdict.evidence));
        }
    }
    assert!(failures.is_empty(), "real people flagged: {failures:#?}");
}

/// The people whose clips hold a head movement of their own, each with up to 12 s of it.
const MOVERS: [&str; 4] = [
    "franck_laughing.mp4",
    "msu_client005.mp4",
    "msu_client022.mp4",
    "webcam_office.mov",
];

/// A followed face: its landmarks, and its pose by the two estimates a session has (solvePnP,
/// and the rigid fit against the clip's first face).
struct Followed {
    image: opencv::core::Mat,
    landmarks: livegate_engine::landmarks::FaceLandmarks,
    poses: [pose::HeadPose; 2],
}

/// The parallax measure on the movements other people make on their own: its thresholds were
/// placed on franck and our renderings, and a real head must never look flat. For each clip and
/// each axis, the largest change of angle within 2.5 s (rigid fit) is fed to a meter as one
/// rotation step, after the step's reaction frames, as a session would feed it. Every movement
/// the meter measures must read as a 3-D head; through a poorer camera ([`poorer_camera`]), every
/// movement as large as a session's turn (8° and more by the rigid fit: a turn step needs 9°).
/// Table: `-- --nocapture`.
#[test]
fn real_heads_turning_on_their_own_show_parallax() {
    use livegate_engine::challenge::{REACTION_FRAMES, Rotation, RotationAxis};
    use livegate_engine::evidence::ParallaxMeter;
    use livegate_engine::evidence::parallax::LIVE_PARALLAX;

    println!(
        "| clip | camera | movement | window | change (solvePnP / rigid fit) | frames measured | parallax |"
    );
    println!("|---|---|---|---|---|---|---|");
    let (mut measured, mut failures) = (0, Vec::new());
    for file in MOVERS {
        let (recorded, fps) = clip(file, 12.0);
        let poorer: Vec<Vec<u8>> = recorded.iter().map(|j| poorer_camera(j)).collect();
        for (camera, frames) in [("as recorded", recorded), ("poorer", poorer)] {
            let mut analyzer = livegate_engine::FrameAnalyzer::new(
                models(),
                livegate_engine::AnalyzerConfig::default(),
            );
            let mut rest = None;
            let seen: Vec<Option<Followed>> = frames
                .iter()
                .map(|jpeg| {
                    let image = livegate_engine::frame::decode(&FrameInput::jpeg(jpeg)).unwrap();
                    let analysis = analyzer.analyze(&image, &[]).unwrap();
                    let face = analysis
                        .face
                        .filter(|_| !analysis.detected && analysis.faces == 1)?;
                    let rest = rest.get_or_insert_with(|| face.landmarks.clone());
                    let rigid = pose::relative(rest, &face.landmarks);
                    Some(Followed {
                        image,
                        poses: [face.pose, rigid],
                        landmarks: face.landmarks,
                    })
                })
                .collect();
            for axis in [RotationAxis::Vertical, RotationAxis::Horizontal] {
                let angle = |f: &Followed| {
                    f.poses.map(|p| match axis {
                        RotationAxis::Vertical => p.yaw,
                        RotationAxis::Horizontal => p.pitch,
                    })
                };
                // The largest change by the rigid fit within 2.5 s: solvePnP alone jumps
                // (franck's pitch by 58° in 0.4 s once), which is no movement to measure.
                let span = (2.5 * fps) as usize;
                let (mut from, mut to, mut change) = (0, 0, [0f32; 2]);
                for a in REACTION_FRAMES as usize..seen.len() {
                    for b in a + 1..(a + span).min(seen.len()) {
                        if let (Some(x), Some(y)) = (&seen[a], &seen[b]) {
                            let (x, y) = (angle(x), angle(y));
                            if (y[1] - x[1]).abs() > change[1].abs() {
                                (from, to, change) = (a, b, [y[0] - x[0], y[1] - x[1]]);
                            }
                        }
                    }
                }
                if change[1].abs() < 5.0 {
                    continue;
                }
                let mut meter = ParallaxMeter::default();
                meter.begin_step(Some(Rotation {
                    axis,
                    sign: change[1].signum(),
                }));
                // The step's reaction frames come first, so that its reference is the window's
                // start.
                for f in seen[from - REACTION_FRAMES as usize..=to].iter().flatten() {
                    meter.observe(&f.image, &f.landmarks, &f.poses).unwrap();
                }
                let parallax = meter.parallax();
                println!(
                    "| {file} | {camera} | {axis:?} | {:.1}-{:.1} s | {:+.1}° / {:+.1}° | {} | {} |",
                    from as f64 / fps,
                    to as f64 / fps,
                    change[0],
                    change[1],
                    meter.samples().count(),
                    parallax.map_or("-".to_string(), |p| format!("{p:.3}")),
                );
                // A movement that never passes the meter's own rotation gate is not measured
                // (as in a session, whose steps ask for more).
                let Some(p) = parallax else {
                    continue;
                };
                measured += 1;
                let judged = camera == "as recorded" || change[1].abs() >= 8.0;
                if judged && p < LIVE_PARALLAX {
                    failures.push(format!("{file} {camera} {axis:?}: {p}"));
                }
            }
        }
    }
    assert!(measured >= 6, "movements measured: {measured}");
    assert!(failures.is_empty(), "real heads read flat: {failures:?}");
}

/// A frame as a poorer camera would have sent it: blurred (σ 0.9 px), noisier (σ 3 grey
/// levels, the same noise every run) and compressed harder (JPEG at 65), as family B's camera
/// pipeline at its worst.
fn poorer_camera(jpeg: &[u8]) -> Vec<u8> {
    let image = livegate_engine::frame::decode(&FrameInput::jpeg(jpeg)).unwrap();
    support::through_camera(&image, 0.9, 0.0, 3.0, jpeg.len() as i32, 65).unwrap()
}

/// The light step on every real person, end to end: the first seconds of each clip, lit while
/// each colour plays by our model of a screen in front of the face
/// ([`livegate_specimens::screen_lit`] at 0.10, as franck's own light test; per pixel, so faces
/// the camera already blows out stay clipped). Everyone must pass, and nobody may be read as
/// glass. (One seeded sequence each: the rates are `light_margins`'. With the glass fit on plain
/// cell means, before clipped pixels were counted out, this still passed, but franck's and the
/// woman's glare part read 0.41 and 0.34 against the 0.5 bar; now −0.18 and −0.31.)
#[test]
fn real_people_lit_by_the_screen_pass_the_light_step_and_none_reads_as_glass() {
    use livegate_engine::light::LightSequence;
    use rand::SeedableRng;

    println!("| person | light score | surface | glare | verdict | reasons |");
    println!("|---|---|---|---|---|---|");
    let mut failures = Vec::new();
    for (file, who) in PEOPLE {
        let (frames, fps) = clip(file, 4.0);
        let sequence = LightSequence::random(&mut rand::rngs::StdRng::seed_from_u64(42));
        let shown = sequence.shown_from(0);
        let mut plan = ChallengePlan::movements(&[ChallengeKind::Light], 10_000);
        plan.light = Some(sequence);
        let mut config = AttemptConfig::new(plan);
        config.declared_fps = Some(fps as f32);
        config.antispoof = false;
        let mut attempt = LivenessAttempt::new(models(), config);
        attempt.begin();
        let mut analyzer = livegate_engine::FrameAnalyzer::new(
            models(),
            livegate_engine::AnalyzerConfig::default(),
        );
        let end = shown.last().map_or(0, |f| f.end_ms);
        let mut reported = false;
        for (i, frame) in frames.iter().enumerate() {
            let t = (i as f64 * 1000.0 / fps) as i64;
            if !reported && t > end {
                attempt.light_shown(0, &shown).unwrap();
                reported = true;
            }
            let bgr = livegate_engine::frame::decode(&FrameInput::jpeg(frame)).unwrap();
            let flash = shown.iter().find(|f| (f.start_ms..f.end_ms).contains(&t));
            let face = analyzer.analyze(&bgr, &[]).unwrap().face;
            let seen = match (flash, face) {
                (Some(f), Some(face)) => {
                    jpeg(&livegate_specimens::screen_lit(&bgr, f.rgb, 0.10, &face.bbox).unwrap())
                }
                _ => frame.clone(),
            };
            attempt.process(&FrameInput::jpeg(&seen), t).unwrap();
            if attempt.verdict().is_some() {
                break;
            }
        }
        let verdict = match attempt.verdict() {
            Some(v) => v.clone(),
            None => attempt.abandon(),
        };
        let reflection = verdict.evidence.light_reflection;
        println!(
            "| {who} | {:.2} | {:.2} | {:.2} | {} | {:?} |",
            reflection.map_or(f32::NAN, |r| r.score),
            reflection.map_or(f32::NAN, |r| r.surface),
            reflection.map_or(f32::NAN, |r| r.glare),
            if verdict.is_live { "live" } else { "not live" },
            verdict.reasons.iter().map(|r| r.code()).collect::<Vec<_>>(),
        );
        if !verdict.is_live || verdict.reasons.contains(&VerdictReason::LightOnGlass) {
            failures.push(format!("{who}: {verdict:?}"));
        }
    }
    assert!(failures.is_empty(), "real people refused: {failures:#?}");
}
