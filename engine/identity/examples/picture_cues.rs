//! Where the limits of `matching/fitness.rs` come from, and what they catch: every real picture
//! we have (photos, and a frame every two seconds of every clip) must be named fit; our
//! renderings of an eye covered, sunglasses, a mask, blur and a tiny face on the photos show
//! which of them are named, and how much similarity each condition costs.
//!
//! The renderings are ours (flat shapes placed by the detector's five points), so a cue that
//! separates them only shows it can; the real pictures show what it must never flag.
//!
//!     cargo run --release -p livegate-identity --example picture_cues

use livegate_engine::detector::largest;
use livegate_engine::embedding::cosine;
use livegate_engine::models::{Models, cache_dir, default_model_dir};
use livegate_identity::matching::{self, FaceImageQuality, MatchableFace};
use livegate_specimens::covers::{COVERS, Cover, covered};
use livegate_specimens::people::{OTHER_PEOPLES_CLIPS, media_files, person_of_still};
use opencv::core::Mat;
use opencv::prelude::*;
use opencv::{imgcodecs, videoio};

/// A real picture untouched, or with one of our covers.
type Rendering = Option<Cover>;

fn renderings() -> impl Iterator<Item = Rendering> {
    std::iter::once(None).chain(COVERS.into_iter().map(Some))
}

fn label(r: Rendering) -> String {
    r.map_or("untouched".into(), |c| format!("{c:?}"))
}

struct Seen {
    person: String,
    name: String,
    rendering: Rendering,
    face: MatchableFace,
}

fn main() {
    let media = cache_dir().join("media");
    let models = Models::load(&default_model_dir()).expect("models: run fetch.py models");
    let files = media_files();
    let mut seen = Vec::new();
    let mut undetected: Vec<(Rendering, usize)> = renderings().map(|r| (r, 0)).collect();
    let mut pictures: Vec<(String, String, Mat)> = Vec::new();
    for f in &files {
        let Some(person) = person_of_still(f) else {
            continue;
        };
        let bgr =
            imgcodecs::imread(media.join(f).to_str().unwrap(), imgcodecs::IMREAD_COLOR).unwrap();
        pictures.push((person, f.clone(), bgr));
    }
    // Real pictures that are only checked untouched: frames of every clip.
    for clip in std::iter::once("franck.mp4").chain(OTHER_PEOPLES_CLIPS) {
        let mut cap =
            videoio::VideoCapture::from_file(media.join(clip).to_str().unwrap(), videoio::CAP_ANY)
                .unwrap();
        let (mut frame, mut i) = (Mat::default(), 0);
        while cap.read(&mut frame).unwrap() && i < 2400 {
            if i % 48 == 0 {
                pictures.push((
                    clip.into(),
                    format!("{clip}#{i}"),
                    frame.try_clone().unwrap(),
                ));
            }
            i += 1;
        }
    }
    for (person, name, bgr) in &pictures {
        let clip = name.contains('#');
        let clean = models.detector.detect(bgr).unwrap();
        let Some(clean) = largest(&clean) else {
            continue;
        };
        for how in renderings() {
            if clip && how.is_some() {
                continue;
            }
            let img = match how {
                Some(cover) => covered(bgr, &clean.keypoints, cover).unwrap(),
                None => bgr.clone(),
            };
            match matching::largest_face(&models, &img) {
                Ok(face) => seen.push(Seen {
                    person: person.clone(),
                    name: name.clone(),
                    rendering: how,
                    face,
                }),
                Err(_) => undetected.iter_mut().find(|(r, _)| *r == how).unwrap().1 += 1,
            }
        }
    }
    println!(
        "| rendering | pictures with a face | no face found | named unfit | by reason | similarity to the person's untouched pictures, median cosine (fit / unfit) |"
    );
    println!("|---|---|---|---|---|---|");
    for how in renderings() {
        let set: Vec<&Seen> = seen.iter().filter(|c| c.rendering == how).collect();
        let mut reasons: std::collections::BTreeMap<&str, usize> = Default::default();
        for c in &set {
            for i in &c.face.quality.issues {
                *reasons.entry(i.name()).or_default() += 1;
            }
        }
        let median = |fit: bool| {
            let mut v = Vec::new();
            for c in set
                .iter()
                .filter(|c| c.face.quality.is_fit() == fit && !c.name.contains('#'))
            {
                for o in seen.iter().filter(|o| {
                    o.rendering.is_none()
                        && o.person == c.person
                        && o.name != c.name
                        && !o.name.contains('#')
                }) {
                    v.push(cosine(&c.face.embedding, &o.face.embedding));
                }
            }
            v.sort_by(f32::total_cmp);
            v.get(v.len() / 2)
                .map_or("-".to_string(), |m| format!("{m:.3}"))
        };
        println!(
            "| {} | {} | {} | {} | {:?} | {} / {} |",
            label(how),
            set.len(),
            undetected.iter().find(|(r, _)| *r == how).unwrap().1,
            set.iter().filter(|c| !c.face.quality.is_fit()).count(),
            reasons,
            median(true),
            median(false)
        );
    }
    let widest = seen
        .iter()
        .filter(|c| c.rendering.is_none())
        .max_by(|a, b| {
            a.face
                .quality
                .mouth_opening
                .total_cmp(&b.face.quality.mouth_opening)
        });
    if let Some(c) = widest {
        println!(
            "\nWidest mouth of the real pictures: {:.3} ({}), limit {}",
            c.face.quality.mouth_opening,
            c.name,
            matching::MAX_MOUTH_OPENING
        );
    }
    println!("\nReal pictures named unfit:");
    for c in seen
        .iter()
        .filter(|c| c.rendering.is_none() && !c.face.quality.is_fit())
    {
        let q = &c.face.quality;
        println!(
            "  {}: {:?} (eyes {:.0} px, presence {:.3}, openness {:.3}, eye contrast {:.2}, eye brightness {:.2}, nose offset {:.2})",
            c.name,
            q.issues.iter().map(|i| i.name()).collect::<Vec<_>>(),
            q.eye_distance_px,
            q.face_presence,
            q.eye_openness,
            q.eye_contrast,
            q.eye_brightness,
            q.nose_offset
        );
    }
    for how in COVERS {
        let mut v: Vec<f32> = seen
            .iter()
            .filter(|c| c.rendering == Some(how))
            .map(|c| c.face.quality.sharpness)
            .collect();
        v.sort_by(f32::total_cmp);
        if let (Some(lo), Some(hi)) = (v.first(), v.last()) {
            println!(
                "sharpness under {how:?}: {lo:.0} to {hi:.0}, median {:.0}",
                v[v.len() / 2]
            );
        }
    }
    for how in renderings() {
        let set: Vec<&Seen> = seen.iter().filter(|c| c.rendering == how).collect();
        let mut a: Vec<f32> = set
            .iter()
            .map(|c| c.face.quality.mouth_colour_shift)
            .collect();
        let mut b: Vec<f32> = set.iter().map(|c| c.face.quality.mouth_lightness).collect();
        a.sort_by(f32::total_cmp);
        b.sort_by(f32::total_cmp);
        if !a.is_empty() {
            println!(
                "{}: mouth shift {:.1} / {:.1} / {:.1}  lightness {:.2} / {:.2} / {:.2}",
                label(how),
                a[0],
                a[a.len() / 2],
                a[a.len() - 1],
                b[0],
                b[b.len() / 2],
                b[b.len() - 1]
            );
        }
    }
    let real: Vec<&Seen> = seen.iter().filter(|c| c.rendering.is_none()).collect();
    let lo = |f: fn(&FaceImageQuality) -> f32| {
        real.iter()
            .map(|c| f(&c.face.quality))
            .fold(f32::MAX, f32::min)
    };
    println!(
        "Real pictures ({}): lowest sharpness {:.1}, presence {:.3}, openness {:.3}, eye contrast {:.2}, eye brightness {:.2}",
        real.len(),
        lo(|q| q.sharpness),
        lo(|q| q.face_presence),
        lo(|q| q.eye_openness),
        lo(|q| q.eye_contrast),
        lo(|q| q.eye_brightness)
    );
}
