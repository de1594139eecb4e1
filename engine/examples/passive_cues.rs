//! What the picture-level cues make of real faces and of a real silicone mask: the passive
//! model's depth score ([`texture::AntiSpoofModel`]), the moiré peak and the glare share
//! ([`texture::screen_cues`]), on the crop a session keeps (the face with a 25 % margin).
//!
//! Real people: every still of the media manifest (franck, obama, biden, five men named John),
//! every face of its pictures of several people (a group photo, a family of six, one man's
//! grimaces) and every 30th frame of each real clip (up to ten), one row per person or picture. The attack: one
//! colour still of a person wearing a silicone full-head mask (`mask_silicone.png`), the only
//! real presentation attack in the registries we reach. It is one picture of one mask, so it
//! measures no rate; it says whether any of these cues could tell a worn mask from a face.
//!
//!     python3 engine/assets/fetch.py all
//!     cargo run --release -p livegate-engine --example passive_cues

use std::collections::BTreeMap;
use std::path::Path;

use livegate_engine::Models;
use livegate_engine::detector::largest;
use livegate_engine::evidence::MOIRE_SCREEN;
use livegate_engine::evidence::texture::{self, ANTISPOOF_REAL};
use livegate_engine::models::{cache_dir, default_model_dir};
use livegate_specimens::people::{OTHER_PEOPLES_CLIPS, group_faces, media_files, person_of_still};
use opencv::core::Mat;
use opencv::prelude::*;
use opencv::{imgcodecs, imgproc, videoio};

/// One picture's cues.
#[derive(Clone, Copy)]
struct Cues {
    depth: f32,
    moire: f32,
    glare: f32,
}

/// The cues of the largest face in `bgr`, if there is one.
fn cues(models: &Models, bgr: &Mat) -> Option<Cues> {
    let detections = models.detector.detect(bgr).ok()?;
    let face = largest(&detections)?;
    let rect = face.bbox.to_pixels(0.25, bgr.cols(), bgr.rows())?;
    let crop = Mat::roi(bgr, rect).ok()?.try_clone().ok()?;
    let screen = texture::screen_cues(&crop).ok()?;
    Some(Cues {
        depth: models.antispoof.depth_score(&crop).ok()?,
        moire: screen.moire,
        glare: screen.glare,
    })
}

fn clip_frames(path: &Path) -> Vec<Mat> {
    let Ok(mut capture) = videoio::VideoCapture::from_file(path, videoio::CAP_ANY) else {
        return Vec::new();
    };
    let (mut frames, mut frame, mut index) = (Vec::new(), Mat::default(), 0);
    while frames.len() < 10 && capture.read(&mut frame).unwrap_or(false) {
        if index % 30 == 0 {
            frames.push(frame.clone());
        }
        index += 1;
    }
    frames
}

fn row(who: &str, cues: &[Cues]) {
    let mut depth: Vec<f32> = cues.iter().map(|c| c.depth).collect();
    depth.sort_by(f32::total_cmp);
    let max = |f: fn(&Cues) -> f32| cues.iter().map(f).fold(0.0f32, f32::max);
    println!(
        "| {who} | {} | {:.3} / {:.3} / {:.3} | {} | {:.1} | {:.3} |",
        cues.len(),
        depth[0],
        depth[depth.len() / 2],
        depth[depth.len() - 1],
        depth.iter().filter(|&&d| d <= ANTISPOOF_REAL).count(),
        max(|c| c.moire),
        max(|c| c.glare),
    );
}

fn main() {
    opencv::core::set_num_threads(1).unwrap();
    let models = Models::load(&default_model_dir()).expect("python3 engine/assets/fetch.py models");
    let media = cache_dir().join("media");

    // One row per person: the stills by whose they are, each clip (one person) by its file.
    let mut people: BTreeMap<String, Vec<Cues>> = BTreeMap::new();
    for file in media_files() {
        let Some(person) = person_of_still(&file) else {
            continue;
        };
        let image = imgcodecs::imread(media.join(&file), imgcodecs::IMREAD_COLOR);
        if let Some(c) = image.ok().and_then(|img| cues(&models, &img)) {
            people.entry(person).or_default().push(c);
        }
    }
    // Pictures of several people: each face, cropped with its surroundings, is one picture. Not
    // the 24 portraits: their crops are crossed by the mosaic's thin white tile borders, which
    // no camera sees round a face and which the moiré measure reads as a grid (up to 44.1 with
    // them, 17.9 on the faces alone).
    for (file, row) in [
        ("t1.jpg", "group photo (6 people)"),
        ("family_of_six.png", "family of six"),
        ("expressions_one_man.jpg", "one man, 18 grimaces (grey)"),
    ] {
        let Ok(group) = imgcodecs::imread(media.join(file), imgcodecs::IMREAD_COLOR) else {
            continue;
        };
        let faces = group_faces(&models, &group).unwrap_or_default();
        let seen = faces.iter().filter_map(|f| cues(&models, f));
        people.entry(row.to_string()).or_default().extend(seen);
    }
    let clips = ["franck.mp4", "franck_laughing.mp4"]
        .into_iter()
        .chain(OTHER_PEOPLES_CLIPS);
    for clip in clips {
        let row = if clip.starts_with("franck") {
            "franck"
        } else {
            clip
        };
        let seen = clip_frames(&media.join(clip))
            .into_iter()
            .filter_map(|f| cues(&models, &f));
        people.entry(row.to_string()).or_default().extend(seen);
    }

    println!(
        "| person | pictures | passive depth min / median / max | at or below {ANTISPOOF_REAL} (\"not real\") | moiré max (screen > {MOIRE_SCREEN}) | glare max |"
    );
    println!("|---|---|---|---|---|---|");
    for (person, cues) in people.iter().filter(|(_, c)| !c.is_empty()) {
        row(person, cues);
    }

    let mask = media.join("mask_silicone.png");
    let stored = imgcodecs::imread(&mask, imgcodecs::IMREAD_COLOR)
        .ok()
        .filter(|m| !m.empty());
    let Some(stored) = stored else {
        println!(
            "\n{} missing: python3 engine/assets/fetch.py media",
            mask.display()
        );
        return;
    };
    // The file holds R, G, B where the reader expects B, G, R (see the media manifest).
    let mut upright = Mat::default();
    imgproc::cvt_color_def(&stored, &mut upright, imgproc::COLOR_RGB2BGR).unwrap();
    match cues(&models, &upright) {
        Some(c) => row("**attack: silicone full-head mask, worn**", &[c]),
        None => println!("| attack: silicone full-head mask | no face found | | | | |"),
    }
}
