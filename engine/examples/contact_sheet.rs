//! Contact sheets of a video, for choosing clips by eye (the cooperative live user's time ranges
//! in the PAD test support were picked this way, not by asking the engine).
//!
//! `cargo run --release -p livegate-engine --example contact_sheet -- VIDEO OUT_DIR FROM TO STEP`
//! writes `OUT_DIR/sheet_FROM.png`…: 8 × 6 thumbnails per sheet, each labelled with its frame index.

use opencv::core::{Mat, Point, Rect, Scalar, Size};
use opencv::prelude::*;
use opencv::{imgcodecs, imgproc, videoio};

fn main() -> opencv::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, video, out, from, to, step] = args.as_slice() else {
        eprintln!("usage: contact_sheet VIDEO OUT_DIR FROM TO STEP");
        std::process::exit(2);
    };
    let (from, to, step): (usize, usize, usize) = (
        from.parse().unwrap(),
        to.parse().unwrap(),
        step.parse().unwrap(),
    );
    let (cols, rows, tw, th) = (8, 6, 180, 144);
    let mut cap = videoio::VideoCapture::from_file(video, videoio::CAP_ANY)?;
    let mut sheet = Mat::default();
    let mut sheet_start = from;
    let mut slot = 0;
    let mut frame = Mat::default();
    let mut index = 0;
    let flush = |sheet: &Mat, start: usize| -> opencv::Result<()> {
        let path = format!("{out}/sheet_{start:05}.png");
        imgcodecs::imwrite(&path, sheet, &opencv::core::Vector::new())?;
        println!("{path}");
        Ok(())
    };
    while index <= to && cap.read(&mut frame)? {
        if index >= from && (index - from).is_multiple_of(step) {
            if slot == 0 {
                sheet = Mat::new_rows_cols_with_default(
                    rows * th,
                    cols * tw,
                    opencv::core::CV_8UC3,
                    Scalar::all(0.0),
                )?;
                sheet_start = index;
            }
            let mut thumb = Mat::default();
            imgproc::resize(
                &frame,
                &mut thumb,
                Size::new(tw, th),
                0.0,
                0.0,
                imgproc::INTER_AREA,
            )?;
            imgproc::put_text(
                &mut thumb,
                &index.to_string(),
                Point::new(4, 18),
                imgproc::FONT_HERSHEY_SIMPLEX,
                0.6,
                Scalar::new(0.0, 255.0, 255.0, 0.0),
                2,
                imgproc::LINE_8,
                false,
            )?;
            let r = Rect::new((slot % cols) * tw, (slot / cols) * th, tw, th);
            thumb.copy_to(&mut Mat::roi_mut(&mut sheet, r)?)?;
            slot += 1;
            if slot == cols * rows {
                flush(&sheet, sheet_start)?;
                slot = 0;
            }
        }
        index += 1;
    }
    if slot > 0 {
        flush(&sheet, sheet_start)?;
    }
    Ok(())
}
