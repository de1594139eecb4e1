//! Where the cosine → similarity mapping of `matching.rs` comes from: compares every pair of real
//! pictures we have and prints the genuine and impostor distributions, on both scales.
//!
//! Genuine pairs: obama ×3 with each other; franck's 11 stills with each other; those stills
//! against every 48th frame of franck.mp4 (turned, talking, blinking). Impostor pairs: every
//! picture of one person against every picture of another (obama, biden, franck, and the six
//! people of t1.jpg, whose faces each count as one picture).
//!
//!     cargo run --release -p livegate-identity --example match_calibration

use livegate_engine::models::{Models, cache_dir, default_model_dir};
use livegate_identity::matching::{self, DEFAULT_MATCH_THRESHOLD, MatchableFace};
use livegate_specimens::people::{group_faces, media_files};
use opencv::core::Mat;
use opencv::prelude::*;
use opencv::{imgcodecs, videoio};

struct Picture {
    person: String,
    name: String,
    face: MatchableFace,
}

fn main() {
    let media = cache_dir().join("media");
    let models = Models::load(&default_model_dir()).expect("models: run fetch.py models");
    let read = |name: &str| {
        imgcodecs::imread(media.join(name).to_str().unwrap(), imgcodecs::IMREAD_COLOR).unwrap()
    };
    let mut pictures = Vec::new();
    let mut add = |person: &str, name: String, bgr: &Mat| match matching::largest_face(&models, bgr)
    {
        Ok(face) => pictures.push(Picture {
            person: person.into(),
            name,
            face,
        }),
        Err(e) => eprintln!("{name}: {e}"),
    };
    for n in ["obama.jpg", "obama2.jpg", "obama3.jpg"] {
        add("obama", n.into(), &read(n));
    }
    add("biden", "biden.jpg".into(), &read("biden.jpg"));
    let stills: Vec<String> = media_files()
        .into_iter()
        .filter(|n| n.starts_with("franck_") && n.ends_with(".jpg"))
        .collect();
    for n in &stills {
        add("franck", n.clone(), &read(n));
    }
    let mut cap = videoio::VideoCapture::from_file(
        media.join("franck.mp4").to_str().unwrap(),
        videoio::CAP_ANY,
    )
    .unwrap();
    let (mut frame, mut i) = (Mat::default(), 0);
    while cap.read(&mut frame).unwrap() {
        if i % 48 == 0 {
            add("franck", format!("franck.mp4#{i}"), &frame);
        }
        i += 1;
    }
    // The group photo: each face cropped with a margin becomes one picture of its own person.
    let group = read("t1.jpg");
    for (k, crop) in group_faces(&models, &group).unwrap().iter().enumerate() {
        add(&format!("t1-{k}"), format!("t1.jpg face {k}"), crop);
    }

    let (mut genuine, mut impostor) = (Vec::new(), Vec::new());
    let mut worst_genuine = (f32::MAX, String::new());
    let mut best_impostor = (f32::MIN, String::new());
    for (i, a) in pictures.iter().enumerate() {
        for b in &pictures[i + 1..] {
            let video_pair = a.name.contains(".mp4") && b.name.contains(".mp4");
            if video_pair {
                continue; // frames of one clip against each other say little
            }
            let c = matching::compare(&a.face, &b.face);
            let label = format!("{} vs {}", a.name, b.name);
            if a.person == b.person {
                if c.cosine < worst_genuine.0 {
                    worst_genuine = (c.cosine, label);
                }
                genuine.push(c);
            } else {
                if c.cosine > best_impostor.0 {
                    best_impostor = (c.cosine, label);
                }
                impostor.push(c);
            }
        }
    }
    println!("pictures with a face: {}", pictures.len());
    // The genuine pairs the issue names, group by group.
    let group = |a: &Picture, b: &Picture| match (
        a.person.as_str(),
        a.name.contains(".mp4") || b.name.contains(".mp4"),
    ) {
        ("obama", _) => "obama x3 (photos years apart)",
        ("franck", false) => "franck stills vs stills",
        ("franck", true) => "franck stills vs video frames",
        _ => "other",
    };
    let mut groups: Vec<(&str, Vec<f32>)> = Vec::new();
    for (i, a) in pictures.iter().enumerate() {
        for b in &pictures[i + 1..] {
            if a.person != b.person || (a.name.contains(".mp4") && b.name.contains(".mp4")) {
                continue;
            }
            let g = group(a, b);
            let c = matching::compare(&a.face, &b.face);
            match groups.iter_mut().find(|(n, _)| *n == g) {
                Some((_, v)) => v.push(c.similarity),
                None => groups.push((g, vec![c.similarity])),
            }
        }
    }
    for (name, mut v) in groups {
        v.sort_by(f32::total_cmp);
        println!(
            "  genuine, {name}: {} pairs, similarity min {:.1} median {:.1} max {:.1}",
            v.len(),
            v[0],
            v[v.len() / 2],
            v[v.len() - 1]
        );
    }
    for (name, set) in [("genuine", &genuine), ("impostor", &impostor)] {
        let mut cos: Vec<f32> = set.iter().map(|c| c.cosine).collect();
        let mut sim: Vec<f32> = set.iter().map(|c| c.similarity).collect();
        cos.sort_by(f32::total_cmp);
        sim.sort_by(f32::total_cmp);
        let q = |v: &[f32], p: f32| v[((v.len() - 1) as f32 * p).round() as usize];
        println!(
            "{name:>8}: {} pairs | cosine min {:.3} p5 {:.3} median {:.3} p95 {:.3} max {:.3} | similarity min {:.1} p5 {:.1} median {:.1} p95 {:.1} max {:.1} | matched at {DEFAULT_MATCH_THRESHOLD}: {}",
            set.len(),
            q(&cos, 0.0),
            q(&cos, 0.05),
            q(&cos, 0.5),
            q(&cos, 0.95),
            q(&cos, 1.0),
            q(&sim, 0.0),
            q(&sim, 0.05),
            q(&sim, 0.5),
            q(&sim, 0.95),
            q(&sim, 1.0),
            set.iter()
                .filter(|c| c.similarity >= DEFAULT_MATCH_THRESHOLD)
                .count()
        );
        println!("          similarity histogram (10-wide bins from 0):");
        let mut bins = [0usize; 10];
        for s in &sim {
            bins[((s / 10.0) as usize).min(9)] += 1;
        }
        for (b, n) in bins.iter().enumerate() {
            if *n > 0 {
                println!("          {:>3}-{:<3} {n}", b * 10, b * 10 + 10);
            }
        }
    }
    println!(
        "least similar genuine pair: {} (cosine {:.3})",
        worst_genuine.1, worst_genuine.0
    );
    println!(
        "most similar impostor pair: {} (cosine {:.3})",
        best_impostor.1, best_impostor.0
    );
    println!("picture quality (0-1): ");
    for p in pictures
        .iter()
        .filter(|p| !p.name.contains(".mp4#") || p.name.ends_with("#0"))
    {
        let q = &p.face.quality;
        println!(
            "  {:<22} eyes {:>5.1} px  sharpness {:>6.1}  nose offset {:.2}  detector {:.2}  -> {:.2}",
            p.name, q.eye_distance_px, q.sharpness, q.nose_offset, q.detector_score, q.score
        );
    }
}
