//! Reading a zone's cells by their shape in OCR-B. ICAO 9303 prescribes one typeface for every
//! machine-readable zone, so each cell's ink can be compared with the 36 letters and digits drawn
//! in that typeface: a second reading of the zone, independent of Tesseract's (a general model
//! that confuses a lone 6 with a 0 or an L), which the check digits then weigh against it
//! ([`super::zone`]).
//!
//! Both the cell and each glyph are normalised alike: the ink's bounding box, scaled to a common
//! height, centred on a square canvas. They are compared by normalised cross-correlation, so
//! print darkness and paper tint do not matter.
//!
//! Normalising the height throws away one cue the shapes alone barely carry: in OCR-B the digits
//! stand taller than the capitals (about 8 % in `fonts-ocr-b`), which is what tells O from 0,
//! I from 1 or B from 8 when blur has rounded their corners alike. A line is read as a whole so
//! that each glyph's height can be compared with its neighbours': where the line's heights fall
//! in two groups, a character whose height in the font disagrees with the cell's loses a little
//! of its score. A print whose digits and capitals share one height shows one group, and the cue
//! is then left out rather than guessed.

use opencv::core::{self, Mat, Point, Rect, Scalar, Size};
use opencv::prelude::*;
use opencv::{freetype, imgproc};

use livegate_engine::error::EngineError;

/// Debian's `fonts-ocr-b`, the typeface ICAO 9303 prescribes for zones.
pub const OCR_B_FONT: &str = "/usr/share/fonts/opentype/ocr-b/OCRB.otf";

/// Side of the canvas a cell and a glyph are compared on; glyphs are scaled to this height.
const SIDE: i32 = 24;
const GLYPHS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Smallest ratio between the taller and the shorter group of a line's glyph heights for the
/// groups to be digits and capitals (the font's own ratio is about 1.08); below it the line is
/// taken to have one height, and heights say nothing.
const MIN_HEIGHT_STEP: f32 = 1.04;
/// Most correlation a character loses when its height in the font disagrees with the cell's by
/// [`HEIGHT_STEP`] or more: enough to settle look-alikes whose shapes score within a few
/// hundredths (O and 0), too little to overturn a clear reading on one mismeasured height.
const HEIGHT_PENALTY: f32 = 0.1;
/// A disagreement in height (relative to the line's digits) worth the full penalty: the font's
/// step from capitals to digits.
const HEIGHT_STEP: f32 = 0.07;

/// How well a cell matches each letter and digit: (character, score −1 to 1).
pub type CellScores = Vec<(char, f32)>;

/// A letter or digit of the font: its normalised ink and its height relative to the font's
/// digits.
struct Template {
    character: char,
    ink: Mat,
    height: f32,
}

/// A cell's glyph, measured once: normalised ink for the comparison, height in pixels.
struct Glyph {
    ink: Mat,
    height: f32,
}

/// The letters and digits of OCR-B, normalised for comparison.
pub struct GlyphMatcher {
    templates: Vec<Template>,
}

impl GlyphMatcher {
    /// The glyphs drawn from the font at `path`; None when the font is not installed (zones are
    /// then read by Tesseract alone).
    pub fn load(path: &str) -> Result<Option<Self>, EngineError> {
        if !std::path::Path::new(path).exists() {
            return Ok(None);
        }
        let mut font = freetype::create_free_type2()?;
        font.load_font_data(path, 0)?;
        let mut glyphs = Vec::with_capacity(GLYPHS.len());
        for c in GLYPHS.chars() {
            // FreeType draws on colour images only.
            let mut canvas =
                Mat::new_rows_cols_with_default(96, 96, core::CV_8UC3, Scalar::all(255.0))?;
            font.put_text(
                &mut canvas,
                &c.to_string(),
                Point::new(16, 80),
                64,
                Scalar::all(0.0),
                -1,
                imgproc::LINE_AA,
                true,
            )?;
            let mut grey = Mat::default();
            imgproc::cvt_color_def(&canvas, &mut grey, imgproc::COLOR_BGR2GRAY)?;
            if let Some(glyph) = measured(&grey)? {
                glyphs.push((c, glyph));
            }
        }
        let digit_height = median(
            glyphs
                .iter()
                .filter(|(c, _)| c.is_ascii_digit())
                .map(|(_, g)| g.height)
                .collect(),
        )
        .unwrap_or(1.0);
        let templates = glyphs
            .into_iter()
            .map(|(character, g)| Template {
                character,
                ink: g.ink,
                height: g.height / digit_height,
            })
            .collect();
        Ok(Some(GlyphMatcher { templates }))
    }

    /// Scores for the glyph in each cell of a line (None for a cell that holds no ink or is not
    /// to be read, such as a filler), the height cue included where the line shows it.
    pub fn read_line(
        &self,
        grey: &Mat,
        cells: &[Option<Rect>],
    ) -> Result<Vec<Option<CellScores>>, EngineError> {
        let mut glyphs = Vec::with_capacity(cells.len());
        for cell in cells {
            glyphs.push(match cell {
                Some(cell) => self.measure(grey, *cell)?,
                None => None,
            });
        }
        let mut scores = Vec::with_capacity(glyphs.len());
        for glyph in &glyphs {
            scores.push(match glyph {
                Some(g) => Some(self.correlations(g)?),
                None => None,
            });
        }
        let heights: Vec<f32> = glyphs.iter().flatten().map(|g| g.height).collect();
        let Some(digit_height) = digit_height(heights) else {
            return Ok(scores);
        };
        // The cells' heights relative to the line's digits, less the line's own offset from the
        // font (blur and thresholding raise every height alike): the median disagreement
        // between each cell and its best-matching character.
        let offsets: Vec<f32> = glyphs
            .iter()
            .zip(&scores)
            .filter_map(|(g, s)| {
                let (g, (c, _)) = (g.as_ref()?, best_match(s.as_ref()?)?);
                Some(g.height / digit_height - self.template_height(c))
            })
            .collect();
        let offset = median(offsets).unwrap_or(0.0);
        for (glyph, scores) in glyphs.iter().zip(scores.iter_mut()) {
            let (Some(glyph), Some(scores)) = (glyph, scores) else {
                continue;
            };
            let relative = glyph.height / digit_height - offset;
            // A cell's scores are in the templates' order (`correlations`).
            for ((_, score), template) in scores.iter_mut().zip(&self.templates) {
                let miss = (relative - template.height) / HEIGHT_STEP;
                *score -= HEIGHT_PENALTY * (miss * miss).min(1.0);
            }
        }
        Ok(scores)
    }

    fn template_height(&self, c: char) -> f32 {
        self.templates
            .iter()
            .find(|t| t.character == c)
            .map_or(1.0, |t| t.height)
    }

    /// The glyph in `cell` of a grey image; None when the cell holds no ink. `cell` may reach
    /// into its neighbours: the glyph is the run of inked columns around its middle.
    fn measure(&self, grey: &Mat, cell: Rect) -> Result<Option<Glyph>, EngineError> {
        let cell = cell & Rect::new(0, 0, grey.cols(), grey.rows());
        if cell.width < 4 || cell.height < 4 {
            return Ok(None);
        }
        let patch = Mat::roi(grey, cell)?.try_clone()?;
        let Some((left, right)) = glyph_columns(&patch)? else {
            return Ok(None);
        };
        let glyph = Mat::roi(&patch, Rect::new(left, 0, right - left + 1, patch.rows()))?;
        measured(&glyph.try_clone()?)
    }

    /// How well a glyph matches each letter and digit by shape alone.
    fn correlations(&self, glyph: &Glyph) -> Result<CellScores, EngineError> {
        let mut scores = Vec::with_capacity(self.templates.len());
        for t in &self.templates {
            let mut score = Mat::default();
            imgproc::match_template_def(&glyph.ink, &t.ink, &mut score, imgproc::TM_CCOEFF_NORMED)?;
            scores.push((t.character, *score.at_2d::<f32>(0, 0)?));
        }
        Ok(scores)
    }
}

/// The best-scoring character of a cell.
pub fn best_match(scores: &CellScores) -> Option<(char, f32)> {
    scores.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1))
}

/// The height of a line's digits: the median of the taller of the two groups its glyph heights
/// fall in (split where the groups are most apart, as Otsu splits grey levels); None when the
/// line does not show two heights.
fn digit_height(mut heights: Vec<f32>) -> Option<f32> {
    heights.sort_by(f32::total_cmp);
    let n = heights.len();
    if n < 4 {
        return None;
    }
    let mean = |s: &[f32]| s.iter().sum::<f32>() / s.len() as f32;
    let all = mean(&heights);
    let split = (2..=n - 2).max_by(|&a, &b| {
        let spread = |k: usize| {
            let (lo, hi) = heights.split_at(k);
            k as f32 * (mean(lo) - all).powi(2) + (n - k) as f32 * (mean(hi) - all).powi(2)
        };
        spread(a).total_cmp(&spread(b))
    })?;
    let (lo, hi) = heights.split_at(split);
    let (lo, hi) = (median(lo.to_vec())?, median(hi.to_vec())?);
    (hi >= MIN_HEIGHT_STEP * lo).then_some(hi)
}

fn median(mut values: Vec<f32>) -> Option<f32> {
    values.sort_by(f32::total_cmp);
    values.get(values.len() / 2).copied()
}

/// The run of inked columns (Otsu's split) that holds the middle of `patch`, or the one nearest
/// to it; the middle 80 % when the run spans most of the patch (glyphs blurred together).
fn glyph_columns(patch: &Mat) -> Result<Option<(i32, i32)>, EngineError> {
    let mut ink = Mat::default();
    imgproc::threshold(
        patch,
        &mut ink,
        0.0,
        255.0,
        imgproc::THRESH_BINARY_INV | imgproc::THRESH_OTSU,
    )?;
    let (w, h) = (ink.cols(), ink.rows());
    let mut inked = vec![false; w as usize];
    for (x, col) in inked.iter_mut().enumerate() {
        let mut n = 0;
        for y in 0..h {
            n += (*ink.at_2d::<u8>(y, x as i32)? > 0) as i32;
        }
        *col = n >= 1;
    }
    let mid = w / 2;
    let Some(seed) = (0..=mid)
        .flat_map(|d| [mid - d, mid + d])
        .find(|&x| (0..w).contains(&x) && inked[x as usize])
    else {
        return Ok(None);
    };
    let (mut l, mut r) = (seed, seed);
    while l > 0 && inked[(l - 1) as usize] {
        l -= 1;
    }
    while r + 1 < w && inked[(r + 1) as usize] {
        r += 1;
    }
    if (r - l + 1) as f32 > 0.85 * w as f32 {
        return Ok(Some((w / 10, w - 1 - w / 10)));
    }
    Ok(Some((l, r)))
}

/// The ink of a grey patch (dark on light, split by Otsu's threshold), cropped to its bounding
/// box, scaled to [`SIDE`] high (or wide, if wider), centred on a white [`SIDE`]² canvas, as f32;
/// and its height to a fraction of a pixel. None without ink.
fn measured(grey: &Mat) -> Result<Option<Glyph>, EngineError> {
    let mut ink = Mat::default();
    imgproc::threshold(
        grey,
        &mut ink,
        0.0,
        255.0,
        imgproc::THRESH_BINARY_INV | imgproc::THRESH_OTSU,
    )?;
    let mut points = core::Vector::<Point>::new();
    core::find_non_zero(&ink, &mut points)?;
    if points.len() < 4 {
        return Ok(None);
    }
    let bbox = imgproc::bounding_rect(&points)?;
    let glyph = Mat::roi(grey, bbox)?;
    let scale = (SIDE as f64 / bbox.height as f64).min(SIDE as f64 / bbox.width as f64);
    let size = Size::new(
        ((bbox.width as f64 * scale).round() as i32).clamp(1, SIDE),
        ((bbox.height as f64 * scale).round() as i32).clamp(1, SIDE),
    );
    let mut scaled = Mat::default();
    imgproc::resize(&glyph, &mut scaled, size, 0.0, 0.0, imgproc::INTER_AREA)?;
    let mut canvas =
        Mat::new_rows_cols_with_default(SIDE, SIDE, core::CV_8UC1, Scalar::all(255.0))?;
    let at = Rect::new(
        (SIDE - size.width) / 2,
        (SIDE - size.height) / 2,
        size.width,
        size.height,
    );
    scaled.copy_to(&mut Mat::roi_mut(&mut canvas, at)?)?;
    let mut out = Mat::default();
    canvas.convert_to(&mut out, core::CV_32F, 1.0, 0.0)?;
    Ok(Some(Glyph {
        ink: out,
        height: edge_height(grey, bbox)?,
    }))
}

/// The height of the ink in `bbox`, from the rows where the darkest pixel crosses halfway between
/// paper and ink, interpolated between rows: a glyph's height in the zone differs between a
/// capital and a digit by two pixels, so whole rows are too coarse.
fn edge_height(grey: &Mat, bbox: Rect) -> Result<f32, EngineError> {
    let (mut paper, mut ink) = (0.0f64, 0.0f64);
    core::min_max_loc(
        grey,
        Some(&mut ink),
        Some(&mut paper),
        None,
        None,
        &core::no_array(),
    )?;
    let half = ((paper + ink) / 2.0) as f32;
    // Per row, how far the darkest pixel across the glyph's columns falls below halfway.
    let rows = grey.rows();
    let mut depth = Vec::with_capacity(rows as usize);
    for y in 0..rows {
        let mut darkest = f32::MAX;
        for x in bbox.x..bbox.x + bbox.width {
            darkest = darkest.min(*grey.at_2d::<u8>(y, x)? as f32);
        }
        depth.push(half - darkest);
    }
    // The first and last rows past halfway, searched from a little outside the box, each
    // moved towards its paper-side neighbour by where the depth reaches zero between them.
    let (top, bottom) = (
        bbox.y.max(2) as usize - 2,
        (bbox.y + bbox.height + 1) as usize,
    );
    let bottom = bottom.min(depth.len() - 1);
    let (Some(first), Some(last)) = (
        (top..=bottom).find(|&y| depth[y] > 0.0),
        (top..=bottom).rev().find(|&y| depth[y] > 0.0),
    ) else {
        return Ok(bbox.height as f32);
    };
    let towards = |inside: usize, outside: Option<usize>| -> f32 {
        match outside {
            Some(o) if depth[inside] - depth[o] > 0.0 => {
                let t = depth[inside] / (depth[inside] - depth[o]);
                inside as f32 + t * (o as f32 - inside as f32)
            }
            _ => inside as f32,
        }
    };
    let upper = towards(first, first.checked_sub(1));
    let lower = towards(last, (last + 1 < depth.len()).then_some(last + 1));
    Ok((lower - upper).max(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_of_two_heights_gives_its_digits_height_and_one_height_gives_none() {
        // Capitals 24 px, digits 26 px (OCR-B's step), a little measurement noise.
        let line = vec![24.1, 26.0, 25.9, 23.8, 26.2, 24.0, 26.1, 25.8];
        assert_eq!(digit_height(line), Some(26.0));
        // A print whose digits and capitals share one height: no cue.
        assert_eq!(digit_height(vec![25.0, 25.3, 24.8, 25.1, 25.2, 24.9]), None);
        assert_eq!(digit_height(vec![24.0, 26.0]), None);
    }
}
