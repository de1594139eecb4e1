//! Writes specimens and their photographs as PNG files, to look at them.
//!
//!     cargo run -p livegate-specimens --example dump -- OUT_DIR
use livegate_specimens::{Capture, Style, photograph, portrait_from_still, specimen};
use opencv::imgcodecs;

fn main() {
    let out = std::path::PathBuf::from(std::env::args().nth(1).expect("output folder"));
    std::fs::create_dir_all(&out).unwrap();
    let media = livegate_engine::models::cache_dir().join("media");
    let still = imgcodecs::imread(
        media.join("franck_02159.jpg").to_str().unwrap(),
        imgcodecs::IMREAD_COLOR,
    )
    .unwrap();
    let portrait = portrait_from_still(&still).unwrap();
    for (k, style) in Style::ALL.into_iter().enumerate() {
        let s = specimen(style, k as u64, &portrait).unwrap();
        for (p, page) in s.pages.iter().enumerate() {
            for capture in [Capture::Scan, Capture::Phone] {
                let img = photograph(page, capture, k as u64).unwrap();
                let name = out.join(format!("{k}-{p}-{:?}.png", capture));
                imgcodecs::imwrite_def(name.to_str().unwrap(), &img).unwrap();
            }
        }
        println!("{style:?}: {:?} {:?}", s.truth, s.mrz);
    }
}
