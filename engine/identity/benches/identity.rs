//! Latency of face matching and document reading on one core, printed as a table.
//!
//!     taskset -c 0 cargo bench -p livegate-identity --bench identity
//!
//! Face matching: two real stills (franck, 720×576 JPEG) decoded, their largest faces found,
//! aligned and embedded, and compared: what one `compare-faces` request costs. Documents: seeded
//! specimens, read page by page as `identity-with-liveness` reads them.

use std::time::Instant;

use livegate_engine::frame::{FrameInput, decode};
use livegate_engine::models::{Models, cache_dir, default_model_dir};
use livegate_identity::document::{self, zone::ZoneReader};
use livegate_identity::matching;
use livegate_specimens::{Capture, Style, photograph, portrait_from_still, specimen};
use opencv::imgcodecs;
use opencv::prelude::*;

const RUNS: usize = 20;

/// Median and 90th percentile of `RUNS` runs of `f`, in ms.
fn time(mut f: impl FnMut()) -> (f64, f64) {
    f(); // warm-up
    let mut ms: Vec<f64> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    (ms[RUNS / 2], ms[RUNS * 9 / 10])
}

fn main() {
    let models = Models::load(&default_model_dir()).expect("models");
    let media = cache_dir().join("media");
    let a = std::fs::read(media.join("franck_02045.jpg")).expect("fetch.py media");
    let b = std::fs::read(media.join("franck_04117.jpg")).unwrap();
    println!("| operation | median ms | p90 ms |");
    println!("|---|---|---|");
    let row = |name: &str, (median, p90): (f64, f64)| {
        println!("| {name} | {median:.1} | {p90:.1} |");
    };
    row(
        "decode + largest face + embed (one 720×576 JPEG)",
        time(|| {
            let img = decode(&FrameInput::image(&a)).unwrap();
            matching::largest_face(&models, &img).unwrap();
        }),
    );
    row(
        "compare-faces (two pictures)",
        time(|| {
            let fa = matching::largest_face(&models, &decode(&FrameInput::image(&a)).unwrap());
            let fb = matching::largest_face(&models, &decode(&FrameInput::image(&b)).unwrap());
            matching::compare(&fa.unwrap(), &fb.unwrap());
        }),
    );
    row(
        "Tesseract model load (ZoneReader::new)",
        time(|| {
            ZoneReader::new().unwrap();
        }),
    );
    let still = imgcodecs::imread(
        media.join("franck_02159.jpg").to_str().unwrap(),
        imgcodecs::IMREAD_COLOR,
    )
    .unwrap();
    let portrait = portrait_from_still(&still).unwrap();
    let mut reader = ZoneReader::new().unwrap();
    for (style, page, capture) in [
        (Style::Td3Passport, 0, Capture::Scan),
        (Style::Td3Passport, 0, Capture::Phone),
        (Style::Td1Card, 1, Capture::Phone),
        (Style::Licence, 1, Capture::Phone),
    ] {
        let s = specimen(style, 5, &portrait).unwrap();
        let picture = photograph(&s.pages[page], capture, 5).unwrap();
        row(
            &format!(
                "read page: {} {} ({}×{})",
                style.name(),
                if page == 0 { "front" } else { "back" },
                picture.cols(),
                picture.rows()
            ),
            time(|| {
                document::read_page(&models, &mut reader, &picture, 26).unwrap();
            }),
        );
    }
}
