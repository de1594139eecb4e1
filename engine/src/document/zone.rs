//! Reading the machine-readable zone off a flattened document.
//!
//! Tesseract's stock English model (Debian's `tesseract-ocr-eng`, through OpenCV's text module)
//! reads OCR-B letters and digits well, but it miscounts runs of the filler `<`, which it has
//! rarely seen. So the zone is read the way its format allows: its 2 or 3 lines are found at the
//! bottom of the document; each is cut into the fixed-pitch cells of the format (30, 36 or 44);
//! a cell whose ink does not reach the full height of a capital is a filler; and Tesseract reads
//! each run of letters and digits between fillers, knowing how many characters the run holds.

use opencv::core::{self, Mat, Ptr, Rect, Scalar, Size, Vector};
use opencv::imgproc;
use opencv::prelude::*;
use opencv::text::OCRTesseract;

use super::mrz::{self, MrzData, MrzFormat};
use crate::error::EngineError;

/// Working width of the document: an MRZ character is then 27 (TD3) to 40 (TD1) pixels wide.
const WIDTH: i32 = 1200;
/// A filler's ink spans about half a capital's height; letters and digits span all of it.
const FILLER_MAX_HEIGHT: f32 = 0.72;
/// Height the runs are scaled to for Tesseract, which reads best with capitals 30–40 px tall.
const OCR_LINE_HEIGHT: f64 = 48.0;
const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Tesseract set up for MRZ characters: one engine for runs (a single line) and one for single
/// characters. Loading the model takes tens of milliseconds; keep a reader for a document's pages.
pub struct ZoneReader {
    line: Ptr<OCRTesseract>,
    single: Ptr<OCRTesseract>,
}

fn ocr_error(e: opencv::Error) -> EngineError {
    EngineError::Analysis(format!(
        "tesseract: {e} (is Debian's tesseract-ocr-eng installed?)"
    ))
}

impl ZoneReader {
    pub fn new() -> Result<Self, EngineError> {
        // OEM 1: the LSTM engine (the only one Debian's model carries). PSM 7: one text line;
        // PSM 10: one character.
        let make = |psm| {
            OCRTesseract::create(Some(""), Some("eng"), Some(ALPHABET), 1, psm).map_err(ocr_error)
        };
        Ok(ZoneReader {
            line: make(7)?,
            single: make(10)?,
        })
    }

    /// The zone of a flattened document, parsed and checked; None when the document has no
    /// zone that could be found and cut into cells.
    pub fn read(&mut self, document: &Mat, today_yy: u32) -> Result<Option<MrzData>, EngineError> {
        let scale = WIDTH as f64 / document.cols().max(1) as f64;
        let mut grey = Mat::default();
        imgproc::cvt_color_def(document, &mut grey, imgproc::COLOR_BGR2GRAY)?;
        let mut sized = Mat::default();
        imgproc::resize(&grey, &mut sized, Size::default(), scale, scale, imgproc::INTER_AREA)?;
        let mut ink = Mat::default();
        imgproc::adaptive_threshold(
            &sized,
            &mut ink,
            255.0,
            imgproc::ADAPTIVE_THRESH_MEAN_C,
            imgproc::THRESH_BINARY_INV,
            31,
            12.0,
        )?;
        let lines = zone_lines(&ink)?;
        let Some(formats) = Some(MrzFormat::with_lines(lines.len())).filter(|f| !f.is_empty())
        else {
            return Ok(None);
        };
        // Each layout the line count allows is cut into cells; the one whose cells sit on the
        // glyphs best is read.
        let mut best: Option<(f32, MrzFormat, Vec<LineCells>)> = None;
        for &format in formats {
            let n = format.shape().1;
            let cells: Option<Vec<LineCells>> =
                lines.iter().map(|r| LineCells::cut(&ink, *r, n)).collect::<Result<Option<_>, _>>()?;
            let Some(cells) = cells else { continue };
            let fit = cells.iter().map(|c| c.registration).sum::<f32>() / cells.len() as f32;
            if best.as_ref().is_none_or(|(f, _, _)| fit > *f) {
                best = Some((fit, format, cells));
            }
        }
        let Some((_, format, cells)) = best else {
            return Ok(None);
        };
        let mut text = Vec::new();
        for line in &cells {
            text.push(self.read_line(&sized, line)?);
        }
        Ok(mrz::parse(format, &text, today_yy))
    }

    /// A line's characters: fillers from their shape, the runs between them from Tesseract.
    fn read_line(&mut self, grey: &Mat, line: &LineCells) -> Result<String, EngineError> {
        let mut out = vec!['<'; line.filler.len()];
        let mut i = 0;
        while i < out.len() {
            if line.filler[i] {
                i += 1;
                continue;
            }
            let start = i;
            while i < out.len() && !line.filler[i] {
                i += 1;
            }
            let run = self.read_run(grey, line, start, i)?;
            out[start..i].copy_from_slice(&run);
        }
        Ok(out.into_iter().collect())
    }

    fn read_run(
        &mut self,
        grey: &Mat,
        line: &LineCells,
        start: usize,
        end: usize,
    ) -> Result<Vec<char>, EngineError> {
        let len = end - start;
        if len > 1 {
            let crop = ocr_crop(grey, line, start, end)?;
            let text = clean(&OCRTesseractTrait::run(&mut self.line, &crop, 0, 0).map_err(ocr_error)?);
            if text.len() == len {
                return Ok(text);
            }
        }
        // A single character, or a run Tesseract read with the wrong length: cell by cell.
        let mut chars = Vec::with_capacity(len);
        for cell in start..end {
            let crop = ocr_crop(grey, line, cell, cell + 1)?;
            let text = clean(&OCRTesseractTrait::run(&mut self.single, &crop, 0, 0).map_err(ocr_error)?);
            chars.push(text.first().copied().unwrap_or('?'));
        }
        Ok(chars)
    }
}

fn clean(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        .collect()
}

/// The zone's lines, top to bottom: the bottom-most group of 2 or 3 wide text lines of equal
/// height, evenly stacked and aligned on the left.
fn zone_lines(ink: &Mat) -> Result<Vec<Rect>, EngineError> {
    let (w, h) = (ink.cols(), ink.rows());
    // Join each line's characters (and its fillers) into one blob.
    let mut joined = Mat::default();
    let kernel = imgproc::get_structuring_element_def(imgproc::MORPH_RECT, Size::new(25, 3))?;
    imgproc::morphology_ex_def(&ink, &mut joined, imgproc::MORPH_CLOSE, &kernel)?;
    let mut contours = Vector::<Vector<core::Point>>::new();
    imgproc::find_contours_def(
        &joined,
        &mut contours,
        imgproc::RETR_EXTERNAL,
        imgproc::CHAIN_APPROX_SIMPLE,
    )?;
    let mut wide: Vec<Rect> = Vec::new();
    for c in contours.iter() {
        let r = imgproc::bounding_rect(&c)?;
        if r.width as f32 >= 0.6 * w as f32 && r.height >= w / 120 && r.height <= w / 18 {
            wide.push(r);
        }
    }
    wide.sort_by_key(|r| std::cmp::Reverse(r.y));
    let mut group: Vec<Rect> = Vec::new();
    for r in wide {
        let Some(last) = group.last() else {
            group.push(r);
            continue;
        };
        let similar = (r.height as f32 / last.height as f32 - 1.0).abs() < 0.4
            && (r.x - last.x).abs() < w / 20
            && last.y - (r.y + r.height) < 2 * last.height
            && r.y + r.height <= last.y + last.height / 3;
        if similar && group.len() < 3 {
            group.push(r);
        } else if group.len() >= 2 {
            break;
        } else {
            group = vec![r];
        }
    }
    group.reverse();
    let _ = h;
    Ok(if group.len() >= 2 { group } else { Vec::new() })
}

/// A zone line cut into its cells.
struct LineCells {
    /// The line's box in the working image.
    rect: Rect,
    /// Left edge of the first glyph's ink and the pitch, in working pixels.
    x0: f32,
    pitch: f32,
    /// Per cell: the filler `<`.
    filler: Vec<bool>,
    /// 0–1: how much of the ink falls in the middle of the cells rather than between them. The
    /// right layout puts every glyph in the middle of its cell.
    registration: f32,
}

impl LineCells {
    fn cut(ink: &Mat, rect: Rect, n: usize) -> Result<Option<LineCells>, EngineError> {
        let line = Mat::roi(ink, rect)?;
        let (w, h) = (rect.width as usize, rect.height as usize);
        let bytes: Vec<u8> = {
            let owned = line.try_clone()?;
            owned.data_bytes()?.to_vec()
        };
        let column_ink: Vec<u32> = (0..w)
            .map(|x| (0..h).filter(|&y| bytes[y * w + x] > 0).count() as u32)
            .collect();
        let (Some(first), Some(last)) = (
            column_ink.iter().position(|&c| c >= 2),
            column_ink.iter().rposition(|&c| c >= 2),
        ) else {
            return Ok(None);
        };
        let row_ink: Vec<bool> = (0..h)
            .map(|y| (first..=last).filter(|&x| bytes[y * w + x] > 0).count() >= 3)
            .collect();
        let (Some(top), Some(bottom)) = (
            row_ink.iter().position(|&b| b),
            row_ink.iter().rposition(|&b| b),
        ) else {
            return Ok(None);
        };
        let cap = (bottom - top + 1) as f32;
        // A glyph is about 0.7 of the pitch wide: the ink spans (n - 1) pitches and one glyph.
        let pitch = (last - first + 1) as f32 / (n as f32 - 0.3);
        if pitch < 4.0 {
            return Ok(None);
        }
        let x0 = first as f32;
        let (mut central, mut total) = (0u32, 0u32);
        let mut filler = Vec::with_capacity(n);
        for i in 0..n {
            let a = (x0 + (i as f32 - 0.15) * pitch).max(0.0) as usize;
            let b = ((x0 + (i as f32 + 0.85) * pitch) as usize).min(w);
            let (mut lo, mut hi) = (usize::MAX, 0usize);
            for x in a..b {
                let inside = ((x as f32 - x0) / pitch - i as f32 - 0.35).abs() < 0.3;
                if inside {
                    central += column_ink[x];
                }
                total += column_ink[x];
                for y in top..=bottom {
                    if bytes[y * w + x] > 0 {
                        lo = lo.min(y);
                        hi = hi.max(y);
                    }
                }
            }
            let height = if hi >= lo { (hi - lo + 1) as f32 / cap } else { 0.0 };
            filler.push(height < FILLER_MAX_HEIGHT);
        }
        Ok(Some(LineCells {
            rect,
            x0,
            pitch,
            filler,
            registration: central as f32 / total.max(1) as f32,
        }))
    }
}

/// Cells `start..end` of a line from the grey working image, scaled for Tesseract and set on a
/// white margin.
fn ocr_crop(grey: &Mat, line: &LineCells, start: usize, end: usize) -> Result<Mat, EngineError> {
    let p = line.pitch;
    let left = line.rect.x as f32 + line.x0 + (start as f32 - 0.2) * p;
    let right = line.rect.x as f32 + line.x0 + (end as f32 - 0.1) * p;
    let pad = line.rect.height / 4;
    let r = Rect::new(
        left.max(0.0) as i32,
        (line.rect.y - pad).max(0),
        0,
        0,
    );
    let r = Rect::new(
        r.x,
        r.y,
        ((right as i32).min(grey.cols()) - r.x).max(1),
        ((line.rect.y + line.rect.height + pad).min(grey.rows()) - r.y).max(1),
    );
    let crop = Mat::roi(grey, r)?;
    let scale = OCR_LINE_HEIGHT / line.rect.height.max(1) as f64;
    let mut sized = Mat::default();
    imgproc::resize(&crop, &mut sized, Size::default(), scale, scale, imgproc::INTER_CUBIC)?;
    let mut framed = Mat::default();
    core::copy_make_border(
        &sized,
        &mut framed,
        12,
        12,
        12,
        12,
        core::BORDER_CONSTANT,
        Scalar::all(255.0),
    )?;
    Ok(framed)
}
