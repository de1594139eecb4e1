//! What the picture-level cues make of real faces and of a real silicone mask: the passive
//! model's depth score ([`texture::AntiSpoofModel`]), the moiré peak and the glare share
//! ([`texture::screen_cues`]), on the crop a session keeps (the face with a 25 % margin); and
//! how dark the face's darkest parts are (pupils, nostrils, brows, the lips' line: the grey level
//! under which 1 % of the pixels inside FaceMesh's landmarks lie, and that over the face's
//! median), which is what a screen's raised black level would have to be told from.
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
use livegate_engine::landmarks::roi_from_detection;
use livegate_engine::models::{cache_dir, default_model_dir};
use livegate_specimens::people::{OTHER_PEOPLES_CLIPS, group_faces, media_files, person_of_still};
use opencv::core::{Mat, Point, Scalar, Vector};
use opencv::prelude::*;
use opencv::{imgcodecs, imgproc, videoio};

/// One picture's cues.
#[derive(Clone, Copy)]
struct Cues {
    depth: f32,
    moire: f32,
    glare: f32,
    /// Grey level under which 1 % of the face lies, and that over the face's median grey.
    darkest: f32,
    darkest_share: f32,
}

/// The cues of the largest face in `bgr`, if there is one.
fn cues(models: &Models, bgr: &Mat) -> Option<Cues> {
    let detections = models.detector.detect(bgr).ok()?;
    let face = largest(&detections)?;
    let rect = face.bbox.to_pixels(0.25, bgr.cols(), bgr.rows())?;
    let crop = Mat::roi(bgr, rect).ok()?.try_clone().ok()?;
    let screen = texture::screen_cues(&crop).ok()?;
    let (darkest, median) = darkest_and_median(models, bgr, face)?;
    Some(Cues {
        depth: models.antispoof.depth_score(&crop).ok()?,
        moire: screen.moire,
        glare: screen.glare,
        darkest,
        darkest_share: darkest / median.max(1.0),
    })
}

/// The grey levels under which 1 % and half of the pixels inside the hull of the face's
/// FaceMesh landmarks lie: the face alone, without hair or background.
fn darkest_and_median(
    models: &Models,
    bgr: &Mat,
    face: &livegate_engine::detector::Detection,
) -> Option<(f32, f32)> {
    let landmarks = models
        .landmarker
        .landmarks(bgr, &roi_from_detection(face))
        .ok()?;
    let points: Vector<Point> = landmarks
        .points
        .iter()
        .map(|p| Point::new(p[0].round() as i32, p[1].round() as i32))
        .collect();
    let mut hull = Vector::<Point>::new();
    imgproc::convex_hull(&points, &mut hull, false, true).ok()?;
    let mut inside = Mat::new_rows_cols_with_default(
        bgr.rows(),
        bgr.cols(),
        opencv::core::CV_8UC1,
        Scalar::all(0.0),
    )
    .ok()?;
    imgproc::fill_convex_poly(&mut inside, &hull, Scalar::all(1.0), imgproc::LINE_8, 0).ok()?;
    let mut grey = Mat::default();
    imgproc::cvt_color_def(bgr, &mut grey, imgproc::COLOR_BGR2GRAY).ok()?;
    let mut histogram = [0usize; 256];
    let (grey, inside) = (grey.data_bytes().ok()?, inside.data_bytes().ok()?);
    for (&g, _) in grey.iter().zip(inside).filter(|(_, m)| **m != 0) {
        histogram[g as usize] += 1;
    }
    let total: usize = histogram.iter().sum();
    let level = |share: f64| {
        let mut seen = 0;
        histogram.iter().position(|&n| {
            seen += n;
            seen as f64 >= share * total as f64
        })
    };
    Some((level(0.01)? as f32, level(0.5)? as f32))
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
    let min = |f: fn(&Cues) -> f32| cues.iter().map(f).fold(f32::MAX, f32::min);
    println!(
        "| {who} | {} | {:.3} / {:.3} / {:.3} | {} | {:.1} | {:.3} | {:.0} – {:.0} | {:.3} – {:.3} |",
        cues.len(),
        depth[0],
        depth[depth.len() / 2],
        depth[depth.len() - 1],
        depth.iter().filter(|&&d| d <= ANTISPOOF_REAL).count(),
        max(|c| c.moire),
        max(|c| c.glare),
        min(|c| c.darkest),
        max(|c| c.darkest),
        min(|c| c.darkest_share),
        max(|c| c.darkest_share),
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
        "| person | pictures | passive depth min / median / max | at or below {ANTISPOOF_REAL} (\"not real\") | moiré max (screen > {MOIRE_SCREEN}) | glare max | darkest 1 % of the face, grey level | the same over the face's median |"
    );
    println!("|---|---|---|---|---|---|---|---|");
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
        None => println!("| attack: silicone full-head mask | no face found | | | | | | |"),
    }
}
