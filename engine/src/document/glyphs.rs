//! Reading a zone's cells by their shape in OCR-B. ICAO 9303 prescribes one typeface for every
//! machine-readable zone, so each cell's ink can be compared with the 36 letters and digits drawn
//! in that typeface: a second reading of the zone, independent of Tesseract's (a general model
//! that confuses a lone 6 with a 0 or an L), which the check digits then weigh against it
//! ([`super::zone`]).
//!
//! Both the cell and each glyph are normalised alike: the ink's bounding box, scaled to a common
//! height (capitals and digits share one height in OCR-B), centred on a square canvas. They are
//! compared by normalised cross-correlation, so print darkness and paper tint do not matter.

use opencv::core::{self, Mat, Point, Rect, Scalar, Size};
use opencv::prelude::*;
use opencv::{freetype, imgproc};

use crate::error::EngineError;

/// Debian's `fonts-ocr-b`, the typeface ICAO 9303 prescribes for zones.
pub const OCR_B_FONT: &str = "/usr/share/fonts/opentype/ocr-b/OCRB.otf";

/// Side of the canvas a cell and a glyph are compared on; glyphs are scaled to this height.
const SIDE: i32 = 24;
const GLYPHS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// The letters and digits of OCR-B, normalised for comparison.
pub struct GlyphMatcher {
    templates: Vec<(char, Mat)>,
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
        let mut templates = Vec::with_capacity(GLYPHS.len());
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
            if let Some(t) = normalised(&grey)? {
                templates.push((c, t));
            }
        }
        Ok(Some(GlyphMatcher { templates }))
    }

    /// The character whose glyph best matches the glyph in `cell` of a grey image, with the
    /// correlation (−1 to 1); None when the cell holds no ink. `cell` may reach into its
    /// neighbours: the glyph is the run of inked columns around its middle.
    pub fn read(&self, grey: &Mat, cell: Rect) -> Result<Option<(char, f32)>, EngineError> {
        let Some(scores) = self.scores(grey, cell)? else {
            return Ok(None);
        };
        Ok(scores.into_iter().max_by(|a, b| a.1.total_cmp(&b.1)))
    }

    /// How well the glyph in `cell` matches each letter and digit (correlation, −1 to 1); None
    /// when the cell holds no ink.
    pub fn scores(&self, grey: &Mat, cell: Rect) -> Result<Option<Vec<(char, f32)>>, EngineError> {
        let cell = cell & Rect::new(0, 0, grey.cols(), grey.rows());
        if cell.width < 4 || cell.height < 4 {
            return Ok(None);
        }
        let patch = Mat::roi(grey, cell)?.try_clone()?;
        let Some((left, right)) = glyph_columns(&patch)? else {
            return Ok(None);
        };
        let glyph = Mat::roi(&patch, Rect::new(left, 0, right - left + 1, patch.rows()))?;
        let Some(ink) = normalised(&glyph.try_clone()?)? else {
            return Ok(None);
        };
        let mut scores = Vec::with_capacity(self.templates.len());
        for (c, template) in &self.templates {
            let mut score = Mat::default();
            imgproc::match_template_def(&ink, template, &mut score, imgproc::TM_CCOEFF_NORMED)?;
            scores.push((*c, *score.at_2d::<f32>(0, 0)?));
        }
        Ok(Some(scores))
    }
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
/// box, scaled to [`SIDE`] high (or wide, if wider), centred on a white [`SIDE`]² canvas, as f32.
fn normalised(grey: &Mat) -> Result<Option<Mat>, EngineError> {
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
    Ok(Some(out))
}
