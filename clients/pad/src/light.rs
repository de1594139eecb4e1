//! What the light step's colours do to each subject's picture: the physics the light step
//! relies on, as our renderings model it (no camera here ever faced a screen).
//!
//! - A **face** in front of the screen: skin reflects the screen's light in proportion to its own
//!   colour (multiplicative), strongest on the face, which is nearest, and falling off with
//!   distance from it, so the room behind gets little.
//! - A **print** (paper, a puppet): paper is diffuse like skin, but flat: the picture is lit as
//!   one surface, the face and the printed background around it alike.
//! - A **screen** replaying a video: an emissive display shows its own content; only its glass
//!   reflects a little of the flash, added evenly over the device.
//! - An **injected** feed (a virtual camera): never sees the screen at all.

use opencv::core::{self, Mat, Scalar};
use opencv::prelude::*;

/// How a subject's picture answers the screen's light.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LightResponse {
    /// Injected: the picture does not change.
    None,
    /// A face near the screen: each pixel × (1 + `strength` × reach × channel / 255), reach 1 on
    /// the face's centre, exp(−d²) at d face sizes from it. The face sits at the frame's centre
    /// (horizontally) and 45 % down, `size` × the frame's width across: where our subjects put it.
    Face { strength: f32, size: f32 },
    /// A flat diffuse picture filling the view: every pixel × (1 + `strength` × channel / 255).
    Diffuse { strength: f32 },
    /// A screen's glass: `reflectance` × the flash's colour added to every pixel.
    Glass { reflectance: f32 },
}

/// `image` while the screen shows `rgb`.
pub fn apply(image: &Mat, rgb: [u8; 3], response: LightResponse) -> opencv::Result<Mat> {
    let bgr = [rgb[2], rgb[1], rgb[0]].map(|c| c as f32 / 255.0);
    let mut out = image.try_clone()?;
    match response {
        LightResponse::None => {}
        LightResponse::Glass { reflectance } => {
            let add = Scalar::new(
                (255.0 * reflectance * bgr[0]) as f64,
                (255.0 * reflectance * bgr[1]) as f64,
                (255.0 * reflectance * bgr[2]) as f64,
                0.0,
            );
            core::add(image, &add, &mut out, &core::no_array(), -1)?;
        }
        LightResponse::Diffuse { strength } => {
            let gain = Scalar::new(
                (1.0 + strength * bgr[0]) as f64,
                (1.0 + strength * bgr[1]) as f64,
                (1.0 + strength * bgr[2]) as f64,
                0.0,
            );
            core::multiply(image, &gain, &mut out, 1.0, -1)?;
        }
        LightResponse::Face { strength, size } => {
            let (w, h) = (image.cols() as f32, image.rows() as f32);
            let (cx, cy, side) = (w / 2.0, h * 0.45, size * w);
            for y in 0..out.rows() {
                for x in 0..out.cols() {
                    let dx = (x as f32 - cx) / side;
                    let dy = (y as f32 - cy) / (side * 1.3);
                    let reach = (-(dx * dx + dy * dy)).exp();
                    let px = out.at_2d_mut::<core::Vec3b>(y, x)?;
                    for c in 0..3 {
                        let gain = 1.0 + strength * reach * bgr[c];
                        px[c] = (px[c] as f32 * gain).min(255.0) as u8;
                    }
                }
            }
        }
    }
    Ok(out)
}
