//! Our renderings of what makes a real photo unfit for face matching: a hand over one eye, dark
//! lenses, a mask, blur, a face far away. Flat shapes placed by the detector's five points (right
//! eye, left eye, nose, mouth corners), with no texture, shading or highlights of their own: a
//! check that names them shows it can see the condition, not how often real ones are caught.

use opencv::core::{self, Mat, Point, Scalar, Size};
use opencv::imgproc;
use opencv::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cover {
    /// A skin-coloured ellipse (the cheek's own colour, a little darker) over the image-left eye.
    HandOverEye,
    /// Near-black lenses over both eyes and a bridge between them.
    DarkLenses,
    /// A light-blue surgical mask from below the nose to the chin.
    Mask,
    /// A Gaussian blur of σ = 1/6 of the eye distance.
    Blur,
    /// The picture scaled down until the eyes are 14 px apart.
    FarAway,
}

pub const COVERS: [Cover; 5] = [
    Cover::HandOverEye,
    Cover::DarkLenses,
    Cover::Mask,
    Cover::Blur,
    Cover::FarAway,
];

/// `picture` with `cover` applied to the face whose five points are `points`.
pub fn covered(picture: &Mat, points: &[(f32, f32); 5], cover: Cover) -> opencv::Result<Mat> {
    let mut img = picture.try_clone()?;
    let [re, le, nose, rm, lm] = *points;
    let d = ((le.0 - re.0).powi(2) + (le.1 - re.1).powi(2)).sqrt();
    let p = |q: (f32, f32)| Point::new(q.0 as i32, q.1 as i32);
    let axes = |w: f32, h: f32| Size::new((d * w) as i32, (d * h) as i32);
    let ellipse = |img: &mut Mat, c: (f32, f32), axes: Size, colour: Scalar| {
        imgproc::ellipse(
            img,
            p(c),
            axes,
            0.0,
            0.0,
            360.0,
            colour,
            -1,
            imgproc::LINE_AA,
            0,
        )
    };
    match cover {
        Cover::HandOverEye => {
            let cheek = (re.0, (re.1 + rm.1) / 2.0);
            let side = (d * 0.2).max(2.0) as i32;
            let r = core::Rect::new(p(cheek).x - side / 2, p(cheek).y - side / 2, side, side);
            let m = core::mean(&Mat::roi(&img, r)?, &core::no_array())?;
            let skin = Scalar::new(m[0] * 0.85, m[1] * 0.85, m[2] * 0.85, 0.0);
            ellipse(&mut img, re, axes(0.75, 0.6), skin)?;
        }
        Cover::DarkLenses => {
            let dark = Scalar::new(25.0, 25.0, 30.0, 0.0);
            ellipse(&mut img, re, axes(0.42, 0.3), dark)?;
            ellipse(&mut img, le, axes(0.42, 0.3), dark)?;
            let width = (d * 0.06).max(1.0) as i32;
            imgproc::line(&mut img, p(re), p(le), dark, width, imgproc::LINE_AA, 0)?;
        }
        Cover::Mask => {
            let (top, bottom) = (nose.1 - d * 0.1, (rm.1 + lm.1) / 2.0 + d * 0.9);
            let cx = (rm.0 + lm.0) / 2.0;
            let outline = core::Vector::<Point>::from_iter([
                p((cx - d * 1.1, top)),
                p((cx + d * 1.1, top)),
                p((cx + d * 0.9, bottom)),
                p((cx - d * 0.9, bottom)),
            ]);
            let light_blue = Scalar::new(225.0, 205.0, 170.0, 0.0);
            let polys = core::Vector::<core::Vector<Point>>::from_iter([outline]);
            imgproc::fill_poly(
                &mut img,
                &polys,
                light_blue,
                imgproc::LINE_AA,
                0,
                Point::new(0, 0),
            )?;
        }
        Cover::Blur => {
            let mut out = Mat::default();
            let sigma = (d / 6.0) as f64;
            imgproc::gaussian_blur(
                &img,
                &mut out,
                Size::new(0, 0),
                sigma,
                sigma,
                core::BORDER_DEFAULT,
            )?;
            img = out;
        }
        Cover::FarAway => {
            let f = (14.0 / d).min(1.0) as f64;
            let mut out = Mat::default();
            imgproc::resize(&img, &mut out, Size::new(0, 0), f, f, imgproc::INTER_AREA)?;
            img = out;
        }
    }
    Ok(img)
}
