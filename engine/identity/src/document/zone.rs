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

use super::glyphs::{CellScores, GlyphMatcher, OCR_B_FONT, best_match};
use super::mrz::{self, MrzData, MrzFormat};
use livegate_engine::error::EngineError;

/// Working width of the document: an MRZ character is then 27 (TD3) to 40 (TD1) pixels wide.
const WIDTH: i32 = 1200;
/// Height the runs are scaled to for Tesseract, which reads best with capitals 30–40 px tall.
const OCR_LINE_HEIGHT: f64 = 48.0;
/// Width of the document's edge left out of the search for the zone, working pixels (the zone's
/// margin is 3 mm, about 40 px).
const EDGE: i32 = 8;
const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Tesseract set up for MRZ characters, reading one line at a time. Loading the model takes
/// tens of milliseconds; keep a reader for a document's pages.
pub struct ZoneReader {
    line: Ptr<OCRTesseract>,
    /// OCR-B's glyphs, for a second reading when a check fails; None without the font.
    glyphs: Option<GlyphMatcher>,
}

fn ocr_error(e: opencv::Error) -> EngineError {
    EngineError::Analysis(format!(
        "tesseract: {e} (is Debian's tesseract-ocr-eng installed?)"
    ))
}

impl ZoneReader {
    pub fn new() -> Result<Self, EngineError> {
        // OEM 1: the LSTM engine (the only one Debian's model carries). PSM 7: one text line.
        Ok(ZoneReader {
            line: OCRTesseract::create(Some(""), Some("eng"), Some(ALPHABET), 1, 7)
                .map_err(ocr_error)?,
            glyphs: GlyphMatcher::load(OCR_B_FONT)?,
        })
    }

    /// Whether zones get a second reading by their OCR-B shapes (the font is installed).
    pub fn reads_shapes(&self) -> bool {
        self.glyphs.is_some()
    }

    /// The zone of a flattened document, parsed and checked; None when the document has no
    /// zone that could be found and cut into cells.
    pub fn read(&mut self, document: &Mat, today_yy: u32) -> Result<Option<MrzData>, EngineError> {
        let (sized, ink) = ink_of(document)?;
        let Some((format, cells)) = best_layout(&ink)? else {
            return Ok(None);
        };
        let mut text = Vec::new();
        for line in &cells {
            text.push(self.read_line(&sized, line)?);
        }
        // Wide rules or blocks of pattern can pass for lines; a zone has characters.
        if text
            .iter()
            .all(|l| l.bytes().all(|c| c == b'<' || c == b'?'))
        {
            return Ok(None);
        }
        let Some(glyphs) = &self.glyphs else {
            return Ok(mrz::parse(format, &text, today_yy));
        };
        // A second, independent reading: every cell by its shape (and height) in OCR-B.
        let mut shapes = Vec::with_capacity(cells.len());
        for line in &cells {
            let rects: Vec<Option<Rect>> = (0..line.filler.len())
                .map(|i| (!line.filler[i]).then(|| line.cell(i)))
                .collect();
            shapes.push(glyphs.read_line(&sized, &rects)?);
        }
        let mut second = shape_text(&shapes, &cells);
        let mut text: Vec<Vec<u8>> = text.into_iter().map(String::into_bytes).collect();
        settle_check_blind_pairs(&mut text, &mut second, &shapes);
        keep_clear_disputes_of_unchecked_fields(format, &text, &mut second, &shapes);
        let lines = |bytes: Vec<Vec<u8>>| -> Vec<String> {
            bytes
                .into_iter()
                .map(|l| String::from_utf8(l).unwrap_or_default())
                .collect()
        };
        let (text, second) = (lines(text), lines(second));
        let first = mrz::parse_as_read(format, &text, today_yy);
        let disputed = Disputed::between(first.as_ref(), format, &text, &second, today_yy);
        if first.as_ref().is_some_and(MrzData::all_checks_pass) {
            return Ok(disputed.void(first));
        }
        // A check failed: the check digits choose between the two readings where they differ;
        // else the shape reading alone, when all its checks pass.
        let by_shape =
            mrz::parse_as_read(format, &second, today_yy).filter(MrzData::all_checks_pass);
        // Last, the one repair a single reading has: an O and a 0 swapped in a number, which
        // OCR-B draws alike and both readings can misread the same way. Tried only after the
        // readings' own disagreements had their turn (a swap once passed a number whose real
        // misread was elsewhere).
        let swapped = mrz::parse(format, &text, today_yy);
        let swapped_passes = swapped.clone().filter(MrzData::all_checks_pass);
        // Nothing passes: Tesseract's reading, with the swap's guess at a number (whose checks
        // failed, so nothing it covers is valid).
        Ok(disputed.void(
            reconcile(format, &text, &second, today_yy)
                .or(by_shape)
                .or(swapped_passes)
                .or(swapped),
        ))
    }

    /// A line's characters: fillers from their shape, the runs between them from Tesseract.
    fn read_line(&mut self, grey: &Mat, line: &LineCells) -> Result<String, EngineError> {
        let n = line.filler.len();
        let runs = runs_between_fillers(&line.filler);
        let mut out = vec!['<'; n];
        // First the whole line with its fillers painted out: Tesseract reads short runs (a
        // lone `P`, a check digit) far better among their neighbours than alone.
        let (mut crop, scale, left) = ocr_crop(grey, line, 0, n)?;
        paint_out_fillers(&mut crop, line, scale, left)?;
        let (mut text, mut boxes, mut words) = (
            String::new(),
            Vector::<Rect>::new(),
            Vector::<String>::new(),
        );
        let mut confidences = Vector::<f32>::new();
        OCRTesseractTrait::run_multiple(
            &mut self.line,
            &mut crop,
            &mut text,
            Some(&mut boxes),
            Some(&mut words),
            Some(&mut confidences),
            0,
        )
        .map_err(ocr_error)?;
        // Each word Tesseract finds is placed by its box onto the run it starts in. A word may
        // span several runs (a single painted filler is not always a word break for it): it is
        // kept when its length is that of the runs it covers, and split among them.
        let mut read = vec![false; runs.len()];
        for (b, w) in boxes.iter().zip(words.iter()) {
            let x = (b.x - CROP_MARGIN) as f32 / scale as f32 + left;
            let cell = ((x - line.x0) / line.pitch + 0.3).floor();
            let chars = clean(&w);
            let Some(first) = runs.iter().position(|r| r.start as f32 == cell) else {
                continue;
            };
            let (mut last, mut covered) = (first, runs[first].len());
            while covered < chars.len() && last + 1 < runs.len() {
                last += 1;
                covered += runs[last].len();
            }
            if covered != chars.len() || read[first..=last].iter().any(|r| *r) {
                continue;
            }
            let mut rest = chars.as_slice();
            for k in first..=last {
                let (head, tail) = rest.split_at(runs[k].len());
                out[runs[k].clone()].copy_from_slice(head);
                read[k] = true;
                rest = tail;
            }
        }
        let unread: Vec<_> = runs
            .into_iter()
            .zip(read)
            .filter(|(_, done)| !done)
            .map(|(r, _)| r)
            .collect();
        let runs = unread;
        for r in runs {
            let chars = self.read_run(grey, line, r.start, r.end)?;
            out[r].copy_from_slice(&chars);
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
            let (crop, _, _) = ocr_crop(grey, line, start, end)?;
            let text =
                clean(&OCRTesseractTrait::run(&mut self.line, &crop, 0, 0).map_err(ocr_error)?);
            if text.len() == len {
                return Ok(text);
            }
        }
        // A single character, or a run Tesseract read with the wrong length: cell by cell.
        (start..end)
            .map(|cell| self.read_cell(grey, line, cell))
            .collect()
    }

    /// One cell's character. The model reads a character poorly alone, so the cell is shown
    /// three times in a row and the reading the copies agree on is kept; `?` when they do not.
    fn read_cell(
        &mut self,
        grey: &Mat,
        line: &LineCells,
        cell: usize,
    ) -> Result<char, EngineError> {
        let (crop, _, _) = ocr_crop(grey, line, cell, cell + 1)?;
        let mut row = Vector::<Mat>::new();
        for _ in 0..3 {
            row.push(crop.clone());
        }
        let mut tiled = Mat::default();
        core::hconcat(&row, &mut tiled)?;
        let text = clean(&OCRTesseractTrait::run(&mut self.line, &tiled, 0, 0).map_err(ocr_error)?);
        let agreed = text
            .iter()
            .copied()
            .max_by_key(|c| text.iter().filter(|d| *d == c).count())
            .filter(|c| text.iter().filter(|d| *d == c).count() >= 2);
        Ok(agreed.unwrap_or('?'))
    }
}

/// How much better (in correlation) the shape reading's character must match a cell than
/// Tesseract's to settle a disagreement the check digits are blind to; below it, the shapes do
/// not really tell the two apart, and Tesseract's character stands.
const SHAPE_SETTLES_MARGIN: f32 = 0.1;

/// Most positions where two readings of a zone may differ for [`reconcile`] to weigh them:
/// 2^10 parses at most, and beyond that many differences neither reading is trustworthy.
const MAX_DISAGREEMENTS: usize = 10;

/// The document in grey at the zone reader's width, and its ink (dark print, white on black).
fn ink_of(document: &Mat) -> Result<(Mat, Mat), EngineError> {
    let scale = WIDTH as f64 / document.cols().max(1) as f64;
    let mut grey = Mat::default();
    imgproc::cvt_color_def(document, &mut grey, imgproc::COLOR_BGR2GRAY)?;
    let mut sized = Mat::default();
    imgproc::resize(
        &grey,
        &mut sized,
        Size::default(),
        scale,
        scale,
        imgproc::INTER_AREA,
    )?;
    let mut ink = Mat::default();
    imgproc::adaptive_threshold(
        &sized,
        &mut ink,
        255.0,
        imgproc::ADAPTIVE_THRESH_MEAN_C,
        imgproc::THRESH_BINARY_INV,
        31,
        30.0,
    )?;
    // The flattened document's own edges (and a sliver of the table beyond them) are not
    // print: a frame of paper colour keeps them from joining the zone's last line.
    let (w, h) = (ink.cols(), ink.rows());
    for r in [
        Rect::new(0, 0, w, EDGE),
        Rect::new(0, h - EDGE, w, EDGE),
        Rect::new(0, 0, EDGE, h),
        Rect::new(w - EDGE, 0, EDGE, h),
    ] {
        imgproc::rectangle(&mut ink, r, Scalar::all(0.0), -1, imgproc::LINE_8, 0)?;
    }
    Ok((sized, ink))
}

/// The zone's lines cut into cells by the layout that fits them best: each layout the line count
/// allows is tried, and the one whose cells sit on the glyphs best is kept.
fn best_layout(ink: &Mat) -> Result<Option<(MrzFormat, Vec<LineCells>)>, EngineError> {
    let lines = zone_lines(ink)?;
    let formats = MrzFormat::with_lines(lines.len());
    let mut best: Option<(f32, MrzFormat, Vec<LineCells>)> = None;
    for &format in formats {
        let n = format.shape().1;
        let cells: Option<Vec<LineCells>> = lines
            .iter()
            .map(|r| LineCells::cut(ink, *r, n))
            .collect::<Result<Option<_>, _>>()?;
        let Some(cells) = cells else { continue };
        let fit = cells.iter().map(|c| c.registration).sum::<f32>() / cells.len() as f32;
        if best.as_ref().is_none_or(|(f, _, _)| fit > *f) {
            best = Some((fit, format, cells));
        }
    }
    Ok(best.map(|(_, format, cells)| (format, cells)))
}

/// The shape reading as text: each cell's best match, `<` for fillers, `?` where no glyph fits.
fn shape_text(shapes: &[Vec<Option<CellScores>>], cells: &[LineCells]) -> Vec<Vec<u8>> {
    shapes
        .iter()
        .zip(cells)
        .map(|(scores, line)| {
            scores
                .iter()
                .zip(&line.filler)
                .map(|(s, filler)| match s.as_ref().and_then(best_match) {
                    _ if *filler => b'<',
                    Some((c, _)) => c as u8,
                    None => b'?',
                })
                .collect()
        })
        .collect()
}

/// Check digits cannot tell G from 6, L from 1 or S from 8 (their values differ by a multiple of
/// 10): where the two readings disagree by such a pair, a passing check says nothing, so the
/// shapes settle it. The shape reading's character stands when it matches the cell clearly
/// better than Tesseract's; otherwise Tesseract's does (the two glyphs are then too alike in
/// this print to tell apart, and Tesseract reads with context). Both readings then carry the
/// settled character, so the checks weigh only the disagreements they can see.
fn settle_check_blind_pairs(
    text: &mut [Vec<u8>],
    second: &mut [Vec<u8>],
    shapes: &[Vec<Option<CellScores>>],
) {
    for (l, scores) in shapes.iter().enumerate() {
        for (i, scores) in scores.iter().enumerate() {
            let (Some(&a), Some(&b)) = (text[l].get(i), second[l].get(i)) else {
                continue;
            };
            if !mrz::check_blind(a, b) {
                continue;
            }
            let clear = shapes_prefer(scores.as_ref(), a, b) >= SHAPE_SETTLES_MARGIN;
            let settled = if clear { b } else { a };
            text[l][i] = settled;
            second[l][i] = settled;
        }
    }
}

/// How much better the shapes match a cell with their own character `shape` than with
/// Tesseract's `tesseract` (correlation; a character the matcher did not score counts as the
/// worst match for Tesseract's and the best for its own).
fn shapes_prefer(scores: Option<&CellScores>, tesseract: u8, shape: u8) -> f32 {
    let score = |c: u8| {
        scores
            .into_iter()
            .flatten()
            .find(|(d, _)| *d == c as char)
            .map(|s| s.1)
    };
    score(shape).unwrap_or(1.0) - score(tesseract).unwrap_or(-1.0)
}

/// Where the two readings differ in a field no check digit covers (name, issuing state, sex),
/// the disagreement stands (and [`reconcile`] will not call the field valid) only where the
/// shapes clearly prefer their own character; elsewhere Tesseract's stands in both readings,
/// as in [`settle_check_blind_pairs`]: the glyph matcher misreads letters of a tilted page
/// (R as P, O as C) more often than Tesseract does, and would otherwise cost good names.
fn keep_clear_disputes_of_unchecked_fields(
    format: MrzFormat,
    text: &[Vec<u8>],
    second: &mut [Vec<u8>],
    shapes: &[Vec<Option<CellScores>>],
) {
    for (l, cells) in unchecked_cells(format) {
        for i in cells {
            let (Some(&a), Some(&b)) = (text[l].get(i), second[l].get(i)) else {
                continue;
            };
            if a == b || b == b'?' {
                continue;
            }
            let scores = shapes
                .get(l)
                .and_then(|s| s.get(i))
                .and_then(Option::as_ref);
            if shapes_prefer(scores, a, b) < SHAPE_SETTLES_MARGIN {
                second[l][i] = a;
            }
        }
    }
}

/// The cells of the fields no check digit covers: issuing state, name, sex (ICAO 9303 parts 4–6).
fn unchecked_cells(format: MrzFormat) -> Vec<(usize, std::ops::Range<usize>)> {
    match format {
        MrzFormat::Td1 => vec![(0, 2..5), (1, 7..8), (2, 0..30)],
        MrzFormat::Td2 => vec![(0, 2..36), (1, 20..21)],
        MrzFormat::Td3 => vec![(0, 2..44), (1, 20..21)],
    }
}

/// The fields no check digit covers (name, issuing state, sex) that the two readings still read
/// differently (after [`keep_clear_disputes_of_unchecked_fields`], only where the shapes clearly
/// preferred their own character; an unreadable cell is no dispute; a digit for its look-alike
/// letter is repaired by the field's slot first). Nothing can settle them, so they are not valid
/// whichever reading the answer took its letters from (`NED` once passed for `NLD` so).
#[derive(Debug, Clone, Copy, Default)]
struct Disputed {
    name: bool,
    issuing_country: bool,
    sex: bool,
}

impl Disputed {
    /// The disputes between `first` (the first reading, `text`, as parsed) and `second`.
    fn between(
        first: Option<&MrzData>,
        format: MrzFormat,
        text: &[String],
        second: &[String],
        today_yy: u32,
    ) -> Self {
        let filled: Vec<String> = text
            .iter()
            .zip(second)
            .map(|(a, b)| {
                a.chars()
                    .zip(b.chars())
                    .map(|(x, y)| if y == '?' { x } else { y })
                    .collect()
            })
            .collect();
        let (Some(a), Some(b)) = (first, mrz::parse_as_read(format, &filled, today_yy)) else {
            return Disputed::default();
        };
        Disputed {
            name: a.name.value != b.name.value,
            issuing_country: a.issuing_country.value != b.issuing_country.value,
            sex: a.sex.value != b.sex.value,
        }
    }

    /// `data` with its disputed fields not valid.
    fn void(self, data: Option<MrzData>) -> Option<MrzData> {
        data.map(|mut d| {
            d.name.valid &= !self.name;
            d.issuing_country.valid &= !self.issuing_country;
            d.sex.valid &= !self.sex;
            d
        })
    }
}

/// The zone two independent readings agree on, where the check digits settle every
/// disagreement: each combination of their differing characters is parsed, and the answer is
/// the one whose checks all pass, provided every passing combination gives the same number,
/// dates and nationality (a field no check digit covers keeps the first reading's letters: see
/// [`Disputed`]). None when no combination, or no single answer, passes.
fn reconcile(
    format: MrzFormat,
    first: &[String],
    second: &[String],
    today_yy: u32,
) -> Option<MrzData> {
    let mut differing = Vec::new();
    for (l, (a, b)) in first.iter().zip(second).enumerate() {
        for (i, (x, y)) in a.bytes().zip(b.bytes()).enumerate() {
            if x != y && y != b'?' {
                differing.push((l, i, y));
            }
        }
    }
    if differing.is_empty() || differing.len() > MAX_DISAGREEMENTS {
        return None;
    }
    let mut passing: Vec<(u32, MrzData)> = Vec::new();
    for mask in 0u32..(1 << differing.len()) {
        let mut lines: Vec<Vec<u8>> = first.iter().map(|l| l.as_bytes().to_vec()).collect();
        for (k, &(l, i, y)) in differing.iter().enumerate() {
            if mask & (1 << k) != 0 {
                lines[l][i] = y;
            }
        }
        let lines: Vec<String> = lines
            .into_iter()
            .map(|l| String::from_utf8(l).unwrap_or_default())
            .collect();
        if let Some(data) =
            mrz::parse_as_read(format, &lines, today_yy).filter(MrzData::all_checks_pass)
        {
            passing.push((mask.count_ones(), data));
        }
    }
    let key = |d: &MrzData| {
        (
            d.document_number.value.clone(),
            d.date_of_birth.value.clone(),
            d.expiry_date.value.clone(),
            d.nationality.value.clone(),
        )
    };
    let first_key = key(&passing.first()?.1);
    if passing.iter().any(|(_, d)| key(d) != first_key) {
        return None;
    }
    passing
        .into_iter()
        .min_by_key(|(changes, _)| *changes)
        .map(|(_, d)| d)
}

fn clean(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        .collect()
}

/// The zone's lines, top to bottom: the bottom-most group of 2 or 3 wide text lines of equal
/// height, evenly stacked and aligned on the left.
fn zone_lines(ink: &Mat) -> Result<Vec<Rect>, EngineError> {
    let w = ink.cols();
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
    /// A box around cell `i` in the working image, centred on the cell's middle: 1.3 pitches
    /// across (a glyph and the gaps on either side of it, so that a slightly misplaced cell
    /// still holds its whole glyph), the line's height and a margin above and below.
    fn cell(&self, i: usize) -> Rect {
        let pad = self.rect.height / 8;
        let middle = self.x0 + (i as f32 + 0.35) * self.pitch;
        let left = middle - 0.65 * self.pitch;
        Rect::new(
            self.rect.x + left.max(0.0) as i32,
            self.rect.y - pad,
            (1.3 * self.pitch).ceil() as i32,
            self.rect.height + 2 * pad,
        )
    }

    fn cut(ink: &Mat, rect: Rect, n: usize) -> Result<Option<LineCells>, EngineError> {
        let line = Mat::roi(ink, rect)?;
        let (w, h) = (rect.width as usize, rect.height as usize);
        // A continuous copy of the line, read in place.
        let owned = line.try_clone()?;
        let bytes = owned.data_bytes()?;
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
        // That first guess is then refined to the pitch and start that put the most ink in the
        // middle of the cells: wide first or last glyphs, blur and a slightly off flattening
        // all shift it, and an error of 1% of the pitch is half a cell by the 44th character.
        let guess = (last - first + 1) as f32 / (n as f32 - 0.3);
        if guess < 4.0 {
            return Ok(None);
        }
        let (mut registration, mut x0, mut pitch) = (f32::MIN, first as f32, guess);
        for k in -8..=8 {
            let p = guess * (1.0 + k as f32 * 0.004);
            for j in -4..=4 {
                let start = first as f32 + j as f32 * 0.04 * p;
                let r = registration_of(&column_ink, start, p, n);
                if r > registration {
                    (registration, x0, pitch) = (r, start, p);
                }
            }
        }
        let inked = |x: usize, y: usize| bytes[y * w + x] > 0;
        let filler = (0..n)
            .map(|i| {
                let a = (x0 + (i as f32 - 0.05) * pitch).max(0.0) as usize;
                let b = ((x0 + (i as f32 + 0.75) * pitch) as usize).min(w);
                is_filler(&inked, a..b, top..bottom + 1, cap)
            })
            .collect();
        Ok(Some(LineCells {
            rect,
            x0,
            pitch,
            filler,
            registration,
        }))
    }
}

/// Share of a line's ink that falls in the middle of its `n` cells when the first starts at
/// `x0` and they are `pitch` apart.
fn registration_of(column_ink: &[u32], x0: f32, pitch: f32, n: usize) -> f32 {
    let (mut central, mut total) = (0u32, 0u32);
    for (x, &count) in column_ink.iter().enumerate() {
        let at = (x as f32 - x0) / pitch + 0.15;
        if at < 0.0 || at >= n as f32 {
            total += count;
            continue;
        }
        total += count;
        if (0.2..0.8).contains(&at.fract()) {
            central += count;
        }
    }
    central as f32 / total.max(1) as f32
}

/// The filler `<` is a chevron: shorter than a capital, its left tip a short stroke in the middle
/// of its height, its right end two arms reaching top and bottom. No letter or digit of OCR-B
/// has all three (`T`'s left end is at the top, `4`'s is low and `4` is full height).
fn is_filler(
    inked: &dyn Fn(usize, usize) -> bool,
    columns: std::ops::Range<usize>,
    rows: std::ops::Range<usize>,
    cap: f32,
) -> bool {
    let ink_rows = |cols: std::ops::Range<usize>| -> Option<(usize, usize, f32)> {
        let rows: Vec<usize> = rows
            .clone()
            .filter(|&y| cols.clone().any(|x| inked(x, y)))
            .collect();
        let (lo, hi) = (*rows.first()?, *rows.last()?);
        let mean = rows.iter().sum::<usize>() as f32 / rows.len() as f32;
        Some((lo, hi, mean))
    };
    let ink_cols: Vec<usize> = columns
        .clone()
        .filter(|&x| rows.clone().any(|y| inked(x, y)))
        .collect();
    let (Some(&gx0), Some(&gx1)) = (ink_cols.first(), ink_cols.last()) else {
        // An empty cell: only a filler leaves this much paper (or glare took the glyph).
        return true;
    };
    let Some((gy0, gy1, _)) = ink_rows(gx0..gx1 + 1) else {
        return true;
    };
    let height = (gy1 - gy0 + 1) as f32;
    let quarter = ((gx1 - gx0 + 1) / 4).max(1);
    let (Some(left), Some(right)) = (
        ink_rows(gx0..gx0 + quarter),
        ink_rows(gx1 + 1 - quarter..gx1 + 1),
    ) else {
        return false;
    };
    let left_extent = (left.1 - left.0 + 1) as f32 / height;
    let left_middle = (left.2 - gy0 as f32) / height;
    let right_extent = (right.1 - right.0 + 1) as f32 / height;
    height < 0.9 * cap
        && left_extent < 0.55
        && (0.3..0.7).contains(&left_middle)
        && right_extent > 0.8
}

/// White margin around a crop for Tesseract, pixels.
const CROP_MARGIN: i32 = 12;

/// Cells `start..end` of a line from the grey working image, scaled for Tesseract and set on a
/// white margin; with the scale and the crop's left edge (line coordinates) to place cells in it.
fn ocr_crop(
    grey: &Mat,
    line: &LineCells,
    start: usize,
    end: usize,
) -> Result<(Mat, f64, f32), EngineError> {
    let p = line.pitch;
    let left = (line.x0 + (start as f32 - 0.2) * p).max(0.0);
    let right = line.x0 + (end as f32 - 0.1) * p;
    let pad = line.rect.height / 4;
    let x = line.rect.x + left as i32;
    let y = (line.rect.y - pad).max(0);
    let r = Rect::new(
        x,
        y,
        ((line.rect.x + right as i32).min(grey.cols()) - x).max(1),
        ((line.rect.y + line.rect.height + pad).min(grey.rows()) - y).max(1),
    );
    let crop = Mat::roi(grey, r)?;
    let scale = OCR_LINE_HEIGHT / line.rect.height.max(1) as f64;
    let mut sized = Mat::default();
    imgproc::resize(
        &crop,
        &mut sized,
        Size::default(),
        scale,
        scale,
        imgproc::INTER_CUBIC,
    )?;
    let mut framed = Mat::default();
    core::copy_make_border(
        &sized,
        &mut framed,
        CROP_MARGIN,
        CROP_MARGIN,
        CROP_MARGIN,
        CROP_MARGIN,
        core::BORDER_CONSTANT,
        Scalar::all(255.0),
    )?;
    Ok((framed, scale, left))
}

/// The runs of character cells between a line's fillers (`<`), as cell ranges.
fn runs_between_fillers(filler: &[bool]) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < filler.len() {
        if filler[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < filler.len() && !filler[i] {
            i += 1;
        }
        runs.push(start..i);
    }
    runs
}

/// Paints `line`'s filler cells white in `crop` (the line as [`ocr_crop`] cut it, at `scale`
/// from `left`), so Tesseract reads only the characters, each run among its neighbours.
fn paint_out_fillers(
    crop: &mut Mat,
    line: &LineCells,
    scale: f64,
    left: f32,
) -> Result<(), EngineError> {
    for (cell, _) in line.filler.iter().enumerate().filter(|(_, f)| **f) {
        let a = ((line.x0 + (cell as f32 - 0.15) * line.pitch) - left) * scale as f32;
        let b = ((line.x0 + (cell as f32 + 0.85) * line.pitch) - left) * scale as f32;
        let cells = Rect::new(
            CROP_MARGIN + a.max(0.0) as i32,
            0,
            (b - a).ceil() as i32,
            crop.rows(),
        );
        imgproc::rectangle(crop, cells, Scalar::all(255.0), -1, imgproc::LINE_8, 0)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &[&str]) -> Vec<String> {
        s.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn an_issuing_state_the_readings_dispute_is_not_valid() {
        // A specimen card under hard JPEG: Tesseract read the state NED and a 1 as T (its
        // number fails), the shapes NLD and the 1 (and an O as 0 in the name, which the
        // letters-only slot repairs). The check digits settle the number, nothing the state.
        let tesseract = lines(&[
            "I<NEDZY8T172925<<<<<<<<<<<<<<<",
            "9711172M2801038NLD<<<<<<<<<<<6",
            "DUBOIS<<ZOE<<<<<<<<<<<<<<<<<<<",
        ]);
        let shapes = lines(&[
            "I<NLDZY81172925<<<<<<<<<<<<<<<",
            "9711172M2801038NLD<<<<<<<<<<<6",
            "DUB0IS<<ZOE<<<<<<<<<<<<<<<<<<<",
        ]);
        let first = mrz::parse_as_read(MrzFormat::Td1, &tesseract, 26);
        let disputed = Disputed::between(first.as_ref(), MrzFormat::Td1, &tesseract, &shapes, 26);
        let read = disputed
            .void(reconcile(MrzFormat::Td1, &tesseract, &shapes, 26))
            .expect("a reading");
        assert_eq!(read.document_number.value, "ZY8117292");
        assert!(read.document_number.valid);
        assert!(!read.issuing_country.valid, "{:?}", read.issuing_country);
        assert_eq!(read.name.value, "ZOE DUBOIS");
        assert!(read.name.valid);
    }
}
