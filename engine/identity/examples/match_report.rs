//! How well face matching separates people we never tuned on: every picture of every person we
//! have against every other, with false non-match rates at stated false-match rates and their
//! 95 % bounds, per group of genuine pairs, for the face aligned by the detector's five points,
//! by FaceMesh's five points, the latter averaged with the mirrored face (compare-faces until
//! 2026-12-07 evening), and both alignments averaged (compare-faces since). Draws the DET curve
//! of compare-faces.
//!
//! People: five men named John, 11 press photos each, years apart (dlib's example set); obama
//! ×3 and biden (face_recognition's tests); franck's 11 stills (one video: easy pairs, reported
//! apart); one frame of each of the five other people's clips (MSU-MFSD phone selfies, the bob
//! webcam clips); the six faces of the group photo t1.jpg; one man's 18 expressions (a grid of
//! small grey faces); four bald men, six photos each, years apart (dlib's example collage:
//! look-alikes, whose impostor pairs are also reported apart); a family of six (relatives:
//! their pairs are also reported apart) and 24 strangers' portraits. Genuine pairs: a person's
//! pictures with each other. Impostor pairs: any two pictures of different people.
//!
//!     python3 engine/assets/fetch.py media
//!     cargo run --release -p livegate-identity --example match_report [-- det.png]

use livegate_engine::detector::largest;
use livegate_engine::embedding::{align, cosine};
use livegate_engine::models::{Models, cache_dir, default_model_dir};
use livegate_engine::stats::clopper_pearson;
use livegate_identity::matching::{self, similarity_from_cosine};
use livegate_specimens::covers::{COVERS, covered};
use livegate_specimens::people::{
    OTHER_PEOPLES_CLIPS, bald_men, group_faces, media_files, person_of_still,
};
use opencv::core::{self, Mat, Point, Scalar};
use opencv::prelude::*;
use opencv::{imgcodecs, imgproc, videoio};

struct Picture {
    person: String,
    /// Genuine pairs are reported by group (e.g. "johns", "franck, one video").
    group: &'static str,
    name: String,
    /// Aligned by the detector's five points (compare-faces before 2026-12-07).
    plain: Vec<f32>,
    /// [`Picture::mesh_aligned`] averaged with the embedding of its mirror image (compare-faces
    /// from 2026-12-07 morning to evening).
    mesh_flip: Vec<f32>,
    /// What compare-faces reads: [`Picture::plain`] and [`Picture::mesh_aligned`] averaged.
    compared: Vec<f32>,
    /// Aligned by five points taken from FaceMesh's 468 (`FaceLandmarks::five_points`, as
    /// liveness sessions align) instead of the detector's five (compare-faces until
    /// 2026-12-07).
    mesh_aligned: Vec<f32>,
    /// The issues compare-faces names in the picture (empty: fit for matching).
    unfit: Vec<String>,
}

/// A family of six in one picture: grandparents, parents, a daughter and a son.
const FAMILY: &str = "family_of_six.png";
/// One man making 18 faces, in a grid.
const EXPRESSIONS: &str = "expressions_one_man.jpg";
/// Four bald men, six photos each, in a collage.
const BALD_MEN: &str = "bald_men.jpg";

/// The false non-match rate at the lowest threshold whose false-match count is at most
/// `allowed`, with the threshold.
fn fnmr_at(genuine: &[f32], impostor_desc: &[f32], allowed: usize) -> (f32, usize) {
    // Above the (allowed+1)-th highest impostor score: at most `allowed` impostors pass.
    let threshold = impostor_desc
        .get(allowed)
        .map(|s| s + 1e-6)
        .unwrap_or(f32::MIN);
    let rejected = genuine.iter().filter(|&&g| g < threshold).count();
    (threshold, rejected)
}

fn main() {
    let det_path = std::env::args().nth(1);
    let media = cache_dir().join("media");
    let models = Models::load(&default_model_dir()).expect("models: run fetch.py models");
    let mut pictures = Vec::new();
    let mut add = |person: &str, group: &'static str, name: String, bgr: &Mat| {
        let faces = models.detector.detect(bgr).unwrap();
        let Some(face) = largest(&faces) else {
            eprintln!("{name}: no face found, left out");
            return;
        };
        let plain = models
            .embedder
            .embed_aligned(&align(bgr, &face.keypoints).unwrap())
            .unwrap();
        let mesh = models
            .landmarker
            .landmarks(bgr, &livegate_engine::landmarks::roi_from_detection(face))
            .unwrap();
        let by_mesh = align(bgr, &mesh.five_points()).unwrap();
        let mesh_aligned = models.embedder.embed_aligned(&by_mesh).unwrap();
        let mesh_flip = models.embedder.embed_flip_averaged(&by_mesh).unwrap();
        // What compare-faces itself reads of the picture: its embedding and its named issues.
        let Ok(compared) = matching::largest_face(&models, bgr) else {
            eprintln!("{name}: no face for compare-faces, left out");
            return;
        };
        let unfit = compared
            .quality
            .issues
            .iter()
            .map(|i| format!("{i:?}"))
            .collect();
        pictures.push(Picture {
            person: person.into(),
            group,
            name,
            plain,
            mesh_flip,
            compared: compared.embedding,
            mesh_aligned,
            unfit,
        });
    };
    let read = |name: &str| {
        imgcodecs::imread(media.join(name).to_str().unwrap(), imgcodecs::IMREAD_COLOR).unwrap()
    };
    let files = media_files();
    for f in &files {
        let Some(person) = person_of_still(f) else {
            continue;
        };
        let group = match person.as_str() {
            "franck" => "franck (stills of one video)",
            "obama" => "obama (three photos)",
            "biden" => "-",
            _ => "johns (press photos, years apart)",
        };
        add(&person, group, f.clone(), &read(f));
    }
    for clip in OTHER_PEOPLES_CLIPS {
        let mut cap =
            videoio::VideoCapture::from_file(media.join(clip).to_str().unwrap(), videoio::CAP_ANY)
                .unwrap();
        let mut frame = Mat::default();
        // A frame a second in, past any fade-in.
        for _ in 0..30 {
            cap.read(&mut frame).unwrap();
        }
        add(clip, "-", format!("{clip}#30"), &frame);
    }
    let group = read("t1.jpg");
    for (k, crop) in group_faces(&models, &group).unwrap().iter().enumerate() {
        add(&format!("t1-{k}"), "-", format!("t1.jpg face {k}"), crop);
    }
    // One man's 18 faces: the genuine pairs of expressions (grimaces, tongue out, eyes shut).
    let grid = read(EXPRESSIONS);
    for (k, crop) in group_faces(&models, &grid).unwrap().iter().enumerate() {
        let name = format!("{EXPRESSIONS} face {k}");
        add(
            "one man",
            "one man, 18 expressions (grey, ~60 px faces)",
            name,
            crop,
        );
    }
    // Four bald men: genuine pairs across years, and look-alike impostors (reported apart below).
    let collage = read(BALD_MEN);
    let men = bald_men(&models, &collage).unwrap();
    if men.len() != 24 {
        eprintln!("{BALD_MEN}: {} of 24 faces named", men.len());
    }
    for (k, (man, crop)) in men.iter().enumerate() {
        add(
            man,
            "four bald men, 6 photos each, years apart",
            format!("{BALD_MEN} face {k} ({man})"),
            crop,
        );
    }
    // Six relatives and 24 strangers: impostors only, the relatives reported apart below.
    for (file, prefix) in [(FAMILY, "family"), ("portraits_24.jpg", "portrait")] {
        for (k, crop) in group_faces(&models, &read(file))
            .unwrap()
            .iter()
            .enumerate()
        {
            add(
                &format!("{prefix}-{k}"),
                "-",
                format!("{file} face {k}"),
                crop,
            );
        }
    }
    let people: std::collections::BTreeSet<&str> =
        pictures.iter().map(|p| p.person.as_str()).collect();
    println!("{} pictures of {} people", pictures.len(), people.len());

    let mut curves = Vec::new();
    for (variant, embedding) in [
        (
            "aligned by the detector's points",
            (|p: &Picture| &p.plain) as fn(&Picture) -> &Vec<f32>,
        ),
        ("aligned by FaceMesh", |p: &Picture| &p.mesh_aligned),
        ("aligned by FaceMesh, flip-averaged", |p: &Picture| {
            &p.mesh_flip
        }),
        ("both alignments averaged (compare-faces)", |p: &Picture| {
            &p.compared
        }),
    ] {
        let (mut genuine, mut impostor) = (Vec::new(), Vec::new());
        let mut by_group: Vec<(&str, Vec<f32>)> = Vec::new();
        let mut worst = (f32::MAX, String::new());
        let mut closest = (f32::MIN, String::new());
        for (i, a) in pictures.iter().enumerate() {
            for b in &pictures[i + 1..] {
                let c = cosine(embedding(a), embedding(b));
                let label = format!("{} vs {}", a.name, b.name);
                if a.person == b.person {
                    genuine.push(c);
                    match by_group.iter_mut().find(|(g, _)| *g == a.group) {
                        Some((_, v)) => v.push(c),
                        None => by_group.push((a.group, vec![c])),
                    }
                    if c < worst.0 {
                        worst = (c, label);
                    }
                } else {
                    impostor.push(c);
                    if c > closest.0 {
                        closest = (c, label);
                    }
                }
            }
        }
        impostor.sort_by(|a, b| b.total_cmp(a));
        println!(
            "\n## {variant}: {} genuine pairs, {} impostor pairs",
            genuine.len(),
            impostor.len()
        );
        println!(
            "| target FMR | threshold (cosine → similarity) | false matches | FNMR [95 % CI], all genuine pairs | FNMR per group |"
        );
        println!("|---|---|---|---|---|");
        let n_imp = impostor.len();
        let targets = [
            ("0", 0usize),
            ("1e-3", (n_imp as f64 * 1e-3).floor() as usize),
            ("1e-4", (n_imp as f64 * 1e-4).floor() as usize),
        ];
        for (name, allowed) in targets {
            let (t, rejected) = fnmr_at(&genuine, &impostor, allowed);
            let (lo, hi) = clopper_pearson(rejected, genuine.len());
            let fm = impostor.iter().filter(|&&s| s >= t).count();
            let groups: Vec<String> = by_group
                .iter()
                .map(|(g, v)| {
                    let r = v.iter().filter(|&&c| c < t).count();
                    format!("{g}: {r}/{}", v.len())
                })
                .collect();
            println!(
                "| {name} | {t:.3} → {:.1} | {fm}/{n_imp} (FMR ≤ {:.1e} at 95 %) | {:.1} % [{:.1}, {:.1}] | {} |",
                similarity_from_cosine(t),
                clopper_pearson(fm, n_imp).1,
                100.0 * rejected as f64 / genuine.len() as f64,
                100.0 * lo,
                100.0 * hi,
                groups.join("; ")
            );
        }
        for (name, t) in [
            ("default 90 (cosine 0.500)", 0.5f32),
            ("OpenCV Zoo's 0.363", 0.363),
        ] {
            let rejected = genuine.iter().filter(|&&g| g < t).count();
            let fm = impostor.iter().filter(|&&s| s >= t).count();
            let (lo, hi) = clopper_pearson(rejected, genuine.len());
            println!(
                "| at {name} | {t:.3} → {:.1} | {fm}/{n_imp} | {:.1} % [{:.1}, {:.1}] | |",
                similarity_from_cosine(t),
                100.0 * rejected as f64 / genuine.len() as f64,
                100.0 * lo,
                100.0 * hi
            );
        }
        let mut sorted = genuine.clone();
        sorted.sort_by(f32::total_cmp);
        let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len().max(1) as f32;
        println!(
            "genuine cosine mean {:.3}, p5 {:.3}, lowest {:.3}; impostor mean {:.3}, p99 {:.3}, highest {:.3}; margin {:.3}",
            mean(&genuine),
            sorted[sorted.len() / 20],
            sorted[0],
            mean(&impostor),
            impostor[impostor.len() / 100],
            impostor[0],
            sorted[0] - impostor[0]
        );
        println!(
            "least similar genuine pair: {} (cosine {:.3})",
            worst.1, worst.0
        );
        println!(
            "most similar impostor pair: {} (cosine {:.3})",
            closest.1, closest.0
        );
        for (what, file) in [("relatives", FAMILY), ("look-alikes", BALD_MEN)] {
            print_closest_within(&pictures, what, file, embedding);
        }
        if variant.ends_with("(compare-faces)") {
            fit_report(&pictures, embedding);
            curves.push(("real photos", genuine, impostor));
        }
    }

    // Our covers on the photos (hand, lenses, mask, blur, distance) against the same person's
    // untouched photos: what each costs, and whether the pairs it breaks are named.
    println!(
        "\n## our covers on the photos, against the person's untouched photos (as compare-faces reads both)"
    );
    println!(
        "| cover | pictures with a face | pairs | below 90 | of those, the covered picture named unfit | below 90 and not named |"
    );
    println!("|---|---|---|---|---|---|");
    let (mut with_covers, mut fit_only) = (curves[0].1.clone(), curves[0].1.clone());
    for cover in COVERS {
        let (mut faces, mut pairs, mut below, mut named) = (0, 0, 0, 0);
        for f in files.iter().filter(|f| {
            f.starts_with("johns_")
                || f.starts_with("obama")
                || (f.starts_with("franck_") && f.ends_with(".jpg"))
        }) {
            let photo = read(f);
            let clean = models.detector.detect(&photo).unwrap();
            let Some(clean) = largest(&clean) else {
                continue;
            };
            let Ok(face) =
                matching::largest_face(&models, &covered(&photo, &clean.keypoints, cover).unwrap())
            else {
                continue;
            };
            faces += 1;
            let person = &pictures.iter().find(|p| &p.name == f).unwrap().person;
            for other in pictures
                .iter()
                .filter(|p| &p.person == person && &p.name != f)
            {
                let c = cosine(&face.embedding, &other.compared);
                pairs += 1;
                with_covers.push(c);
                if face.quality.is_fit() {
                    fit_only.push(c);
                }
                if similarity_from_cosine(c) < 90.0 {
                    below += 1;
                    if !face.quality.is_fit() {
                        named += 1;
                    }
                }
            }
        }
        println!(
            "| {cover:?} | {faces} | {pairs} | {below} | {named} | {} |",
            below - named
        );
    }
    let impostor = curves[0].2.clone();
    curves.push(("+ our covers", with_covers, impostor.clone()));
    curves.push(("+ covers, unfit left out", fit_only, impostor));
    if let Some(path) = det_path {
        draw_det(&curves, &path);
        println!("\nDET curve: {path}");
    }
}

/// The pairs of different people within one picture `file` (a family, a collage of look-alikes):
/// how many, the closest, and how many reach the default threshold.
fn print_closest_within(
    pictures: &[Picture],
    what: &str,
    file: &str,
    embedding: fn(&Picture) -> &Vec<f32>,
) {
    let mut pairs: Vec<(f32, String)> = Vec::new();
    for (i, a) in pictures.iter().enumerate() {
        for b in &pictures[i + 1..] {
            if a.name.starts_with(file) && b.name.starts_with(file) && a.person != b.person {
                let label = format!("{} vs {}", a.name, b.name);
                pairs.push((cosine(embedding(a), embedding(b)), label));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    if let Some((highest, label)) = pairs.first() {
        println!(
            "{what} ({file}, different people): {} pairs, highest cosine {highest:.3} ({:.1}, {label}), at or above 0.5: {}",
            pairs.len(),
            similarity_from_cosine(*highest),
            pairs.iter().filter(|(c, _)| *c >= 0.5).count()
        );
    }
}

/// Genuine pairs below the default threshold per group, with and without the pairs in which
/// compare-faces names a picture unfit (issue 18 counts those apart), and which pictures it names.
fn fit_report(pictures: &[Picture], embedding: fn(&Picture) -> &Vec<f32>) {
    println!(
        "\nat the default 90, per group: below 90 of all pairs; of the pairs of two fit pictures"
    );
    let mut groups: Vec<&str> = Vec::new();
    for p in pictures.iter().filter(|p| p.group != "-") {
        if !groups.contains(&p.group) {
            groups.push(p.group);
        }
    }
    for group in groups {
        let (mut all, mut below, mut fit, mut fit_below) = (0, 0, 0, 0);
        for (i, a) in pictures.iter().enumerate() {
            for b in pictures[i + 1..].iter().filter(|b| b.person == a.person) {
                if a.group != group {
                    continue;
                }
                let similarity = similarity_from_cosine(cosine(embedding(a), embedding(b)));
                let under = similarity < matching::DEFAULT_MATCH_THRESHOLD;
                all += 1;
                below += under as usize;
                if a.unfit.is_empty() && b.unfit.is_empty() {
                    fit += 1;
                    fit_below += under as usize;
                }
            }
        }
        let (lo, hi) = clopper_pearson(fit_below, fit);
        println!(
            "- {group}: {below}/{all}; fit pairs {fit_below}/{fit} ({:.1} % [{:.1}, {:.1}])",
            100.0 * fit_below as f64 / fit.max(1) as f64,
            100.0 * lo,
            100.0 * hi
        );
    }
    for p in pictures.iter().filter(|p| !p.unfit.is_empty()) {
        println!("  named unfit: {} ({})", p.name, p.unfit.join(", "));
    }
}

/// A DET plot: false non-match rate against false match rate, both on log axes from 1e-4 to 1,
/// one line per variant.
fn draw_det(curves: &[(&str, Vec<f32>, Vec<f32>)], path: &str) {
    let (w, h, m) = (640, 480, 60);
    let mut img = Mat::new_rows_cols_with_default(h, w, core::CV_8UC3, Scalar::all(255.0)).unwrap();
    let x = |fmr: f64| m + ((fmr.max(1e-4).log10() + 4.0) / 4.0 * (w - 2 * m) as f64) as i32;
    let y = |fnmr: f64| h - m - ((fnmr.max(1e-4).log10() + 4.0) / 4.0 * (h - 2 * m) as f64) as i32;
    let text = |img: &mut Mat, s: &str, at: Point, size: f64, colour: Scalar| {
        let font = imgproc::FONT_HERSHEY_SIMPLEX;
        imgproc::put_text(img, s, at, font, size, colour, 1, imgproc::LINE_AA, false).unwrap();
    };
    let line = |img: &mut Mat, a: Point, b: Point, colour: Scalar, width: i32| {
        imgproc::line(img, a, b, colour, width, imgproc::LINE_AA, 0).unwrap();
    };
    let (grey, black) = (Scalar::new(200.0, 200.0, 200.0, 0.0), Scalar::all(0.0));
    for d in 0..=4 {
        let v = 10f64.powi(-d);
        line(
            &mut img,
            Point::new(x(v), y(1e-4)),
            Point::new(x(v), y(1.0)),
            grey,
            1,
        );
        line(
            &mut img,
            Point::new(x(1e-4), y(v)),
            Point::new(x(1.0), y(v)),
            grey,
            1,
        );
        let label = format!("1e-{d}");
        text(
            &mut img,
            &label,
            Point::new(x(v) - 18, h - m + 20),
            0.4,
            black,
        );
        text(&mut img, &label, Point::new(8, y(v) + 4), 0.4, black);
    }
    text(
        &mut img,
        "false match rate",
        Point::new(w / 2 - 60, h - 15),
        0.5,
        black,
    );
    text(
        &mut img,
        "false non-match rate",
        Point::new(m, 30),
        0.5,
        black,
    );
    let colours = [
        Scalar::new(200.0, 80.0, 0.0, 0.0),
        Scalar::new(0.0, 120.0, 220.0, 0.0),
        Scalar::new(60.0, 160.0, 60.0, 0.0),
    ];
    for (k, (name, genuine, impostor_desc)) in curves.iter().enumerate() {
        let colour = colours[k % colours.len()];
        let mut steps: Vec<f32> = impostor_desc.clone();
        steps.extend(genuine);
        steps.sort_by(|a, b| b.total_cmp(a));
        let points: Vec<Point> = steps
            .into_iter()
            .map(|t| {
                let fmr = impostor_desc.iter().filter(|&&s| s >= t).count() as f64
                    / impostor_desc.len() as f64;
                let fnmr = genuine.iter().filter(|&&g| g < t).count() as f64 / genuine.len() as f64;
                Point::new(x(fmr), y(fnmr))
            })
            .collect();
        for p in points.windows(2) {
            line(&mut img, p[0], p[1], colour, 2);
        }
        text(
            &mut img,
            name,
            Point::new(w - m - 220, m + 20 + 20 * k as i32),
            0.5,
            colour,
        );
    }
    imgcodecs::imwrite(path, &img, &core::Vector::new()).unwrap();
}
