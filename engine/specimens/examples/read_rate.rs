//! The document reader's read rate per field on seeded specimens, for each way of capturing
//! them: a field counts as read when its value equals what was printed and it is marked valid.
//!
//!     cargo run --release -p livegate-specimens --example read_rate -- [SPECIMENS_PER_STYLE]
use std::time::Instant;

use livegate_engine::models::{Models, cache_dir, default_model_dir};
use livegate_identity::document::{self, zone::ZoneReader};
use livegate_specimens::{Capture, Style, photograph, portrait_from_still, specimen};
use opencv::imgcodecs;

fn main() {
    let per_style: u64 = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("a number"))
        .unwrap_or(5);
    let verbose = std::env::var_os("VERBOSE").is_some();
    // CAPTURE=scan (a capture's name) measures that row only; SEED=653 that specimen only.
    let only = std::env::var("CAPTURE").ok();
    let only_seed: Option<u64> = std::env::var("SEED")
        .ok()
        .map(|s| s.parse().expect("a seed"));
    let models = Models::load(&default_model_dir()).expect("models");
    let still = imgcodecs::imread(
        cache_dir().join("media/franck_02159.jpg").to_str().unwrap(),
        imgcodecs::IMREAD_COLOR,
    )
    .expect("run fetch.py media");
    let portrait = portrait_from_still(&still).unwrap();
    let mut reader = ZoneReader::new().unwrap();
    println!(
        "| capture | documents | name | idNumber | dateOfBirth | expiryDate | issuingCountry | all MRZ checks | portrait | valid but wrong | ms/page |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for capture in Capture::ALL {
        if only.as_deref().is_some_and(|name| name != capture.name()) {
            continue;
        }
        let mut counts = [0usize; 7];
        let (mut docs, mut zoned, mut pages, mut ms) = (0, 0, 0, 0.0);
        // Fields the reader marked valid whose value is not what was printed: the errors that
        // matter most, since nothing downstream would question them.
        let mut valid_but_wrong = 0;
        for style in Style::ALL {
            for k in 0..per_style {
                let seed = k * 31 + style as u64;
                if only_seed.is_some_and(|only| only != seed) {
                    continue;
                }
                let s = specimen(style, seed, &portrait).unwrap();
                let mut readings = Vec::new();
                for (p, page) in s.pages.iter().enumerate() {
                    let img = photograph(page, capture, seed * 7 + p as u64).unwrap();
                    let t = Instant::now();
                    readings.push(document::read_page(&models, &mut reader, &img, 26).unwrap());
                    ms += t.elapsed().as_secs_f64() * 1000.0;
                    pages += 1;
                }
                let f = document::merge(&readings);
                let t = &s.truth;
                let ok = |field: &document::DocumentField, want: &str| {
                    field.valid && field.value == want
                };
                let hits = [
                    ok(&f.name, &t.name),
                    ok(&f.id_number, &t.id_number),
                    ok(&f.date_of_birth, &t.date_of_birth),
                    ok(&f.expiry_date, &t.expiry_date),
                    ok(&f.issuing_country, &t.issuing_country),
                    f.mrz_checks_passed == Some(true),
                    readings[0].portrait.is_some(),
                ];
                for (field, want) in [
                    (&f.name, &t.name),
                    (&f.id_number, &t.id_number),
                    (&f.date_of_birth, &t.date_of_birth),
                    (&f.expiry_date, &t.expiry_date),
                    (&f.issuing_country, &t.issuing_country),
                ] {
                    if field.valid && &field.value != want {
                        valid_but_wrong += 1;
                        eprintln!(
                            "valid but wrong: {} {:?} seed {seed}: read {:?}, printed {want:?}",
                            capture.name(),
                            style,
                            field.value
                        );
                    }
                }
                for (c, h) in counts.iter_mut().zip(hits) {
                    *c += h as usize;
                }
                docs += 1;
                if !s.mrz.is_empty() {
                    zoned += 1;
                }
                if verbose && hits.iter().any(|h| !h) {
                    eprintln!(
                        "{} {:?} seed {seed}: printed {:?}\n  read {:?}\n  fields {:?}",
                        capture.name(),
                        style,
                        s.mrz,
                        readings
                            .iter()
                            .map(|r| (r.outline_found, r.mrz.as_ref().map(|m| m.lines.clone())))
                            .collect::<Vec<_>>(),
                        f
                    );
                }
            }
        }
        let pct = |n: usize, of: usize| format!("{:.0}% ({n}/{of})", 100.0 * n as f64 / of as f64);
        println!(
            "| {} | {docs} | {} | {} | {} | {} | {} | {} | {} | {valid_but_wrong} | {:.0} |",
            capture.name(),
            pct(counts[0], docs),
            pct(counts[1], docs),
            pct(counts[2], docs),
            pct(counts[3], docs),
            pct(counts[4], docs),
            pct(counts[5], zoned),
            pct(counts[6], docs),
            ms / pages as f64
        );
    }
}
