//! Our renderings of what makes a real photo unfit for face matching: a hand over one eye, dark
//! lenses, a mask, blur, a face far away. Flat shapes placed by the detector's five points (right
//! eye, left eye, nose, mouth corners), with no texture, shading or highlights of their own,
//! except the surgical masks: photographs of four real masks (`surgical_mask_*.jpg`, fetched
//! with the test media) laid over the mouth in the picture's own shading. A check that names
//! them shows it can see the condition, not how often real ones are caught: a real mask also
//! curves round the face, casts its own shadows and sits where its wearer put it.

use opencv::core::{self, Mat, Point, Scalar, Size};
use opencv::prelude::*;
use opencv::{imgcodecs, imgproc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cover {
    /// A skin-coloured ellipse (the cheek's own colour, a little darker) over the image-left eye.
    HandOverEye,
    /// Near-black lenses over both eyes and a bridge between them.
    DarkLenses,
    /// A flat light-blue surgical mask from below the nose to the chin.
    Mask,
    /// A photograph of a real surgical mask in the same place, in the picture's shading.
    SurgicalMask(Cloth),
    /// A Gaussian blur of σ = 1/6 of the eye distance.
    Blur,
    /// The picture scaled down until the eyes are 14 px apart.
    FarAway,
}

/// The colour of a photographed surgical mask: black and white ones differ from skin less in
/// colour than in lightness, blue and green ones in colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloth {
    Black,
    Blue,
    Green,
    White,
}

impl Cloth {
    /// The mask's photograph, read from the fetched test media.
    fn photo(self) -> opencv::Result<Mat> {
        let name = match self {
            Cloth::Black => "surgical_mask_black.jpg",
            Cloth::Blue => "surgical_mask_blue.jpg",
            Cloth::Green => "surgical_mask_green.jpg",
            Cloth::White => "surgical_mask_white.jpg",
        };
        let path = livegate_engine::models::cache_dir()
            .join("media")
            .join(name);
        let photo = imgcodecs::imread(&path, imgcodecs::IMREAD_COLOR)?;
        if photo.empty() {
            return Err(opencv::Error::new(
                core::StsObjectNotFound,
                format!(
                    "{}: run python3 engine/assets/fetch.py media",
                    path.display()
                ),
            ));
        }
        Ok(photo)
    }
}

pub const COVERS: [Cover; 9] = [
    Cover::HandOverEye,
    Cover::DarkLenses,
    Cover::Mask,
    Cover::SurgicalMask(Cloth::Black),
    Cover::SurgicalMask(Cloth::Blue),
    Cover::SurgicalMask(Cloth::Green),
    Cover::SurgicalMask(Cloth::White),
    Cover::Blur,
    Cover::FarAway,
];

/// `picture` with `cover` applied to the face whose five points are `points`.
pub fn covered(picture: &Mat, points: &[(f32, f32); 5], cover: Cover) -> opencv::Result<Mat> {
    let mut img = picture.try_clone()?;
    let [re, le, _, rm, _] = *points;
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
            let outline = core::Vector::<Point>::from_iter(mask_corners(points, d).map(p));
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
        Cover::SurgicalMask(cloth) => {
            lay_over(&mut img, &cloth.photo()?, mask_corners(points, d), d)?;
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

/// Where a mask sits: from just below the nose's tip to well under the mouth, wider at the top
/// (over the cheeks) than at the chin, for a face whose eyes are `d` apart. Top left, top
/// right, bottom right, bottom left.
fn mask_corners(points: &[(f32, f32); 5], d: f32) -> [(f32, f32); 4] {
    let [_, _, nose, rm, lm] = *points;
    let (top, bottom) = (nose.1 - d * 0.1, (rm.1 + lm.1) / 2.0 + d * 0.9);
    let cx = (rm.0 + lm.0) / 2.0;
    [
        (cx - d * 1.1, top),
        (cx + d * 1.1, top),
        (cx + d * 0.9, bottom),
        (cx - d * 0.9, bottom),
    ]
}

/// Paints `photo` (a flat object, photographed square on) over the quadrilateral `corners` of
/// `picture`, warped to fit, in the face's own shading there (its grey, blurred over a third of the eye distance
/// `d`, relative to its mean under the mask). Not in the light's colour: estimated from the
/// picture's average (grey world), a blue backdrop turned a white mask blue, so the masks keep
/// the colour they were photographed in, which flatters the colour check under warm or cold
/// light. The photo keeps its own exposure too: a white mask stays near white, as in a
/// well-exposed picture.
fn lay_over(
    picture: &mut Mat,
    photo: &Mat,
    corners: [(f32, f32); 4],
    d: f32,
) -> opencv::Result<()> {
    // The photos have a few pixels of table round the mask.
    let (w, h) = (photo.cols() as f32, photo.rows() as f32);
    let (ix, iy) = (w * 0.04, h * 0.06);
    let src = core::Vector::<core::Point2f>::from_iter(
        [(ix, iy), (w - ix, iy), (w - ix, h - iy), (ix, h - iy)]
            .map(|(x, y)| core::Point2f::new(x, y)),
    );
    let dst =
        core::Vector::<core::Point2f>::from_iter(corners.map(|(x, y)| core::Point2f::new(x, y)));
    let warp = imgproc::get_perspective_transform(&src, &dst, core::DECOMP_LU)?;
    let size = picture.size()?;
    let mut cloth = Mat::default();
    imgproc::warp_perspective(
        photo,
        &mut cloth,
        &warp,
        size,
        imgproc::INTER_AREA,
        core::BORDER_CONSTANT,
        Scalar::default(),
    )?;
    let mut inside = Mat::zeros_size(size, core::CV_8UC1)?.to_mat()?;
    let outline =
        core::Vector::<core::Vector<Point>>::from_iter([core::Vector::<Point>::from_iter(
            corners.map(|(x, y)| Point::new(x as i32, y as i32)),
        )]);
    imgproc::fill_poly(
        &mut inside,
        &outline,
        Scalar::all(255.0),
        imgproc::LINE_8,
        0,
        Point::new(0, 0),
    )?;

    let mut grey = Mat::default();
    imgproc::cvt_color_def(picture, &mut grey, imgproc::COLOR_BGR2GRAY)?;
    let mut shade = Mat::default();
    grey.convert_to(&mut shade, core::CV_32F, 1.0, 0.0)?;
    let mut blurred = Mat::default();
    let sigma = (d / 3.0).max(1.0) as f64;
    imgproc::gaussian_blur(
        &shade,
        &mut blurred,
        Size::new(0, 0),
        sigma,
        sigma,
        core::BORDER_REPLICATE,
    )?;
    let under = core::mean(&blurred, &inside)?[0].max(1.0) as f32;

    for y in 0..size.height {
        let (mask_row, shade_row) = (inside.at_row::<u8>(y)?, blurred.at_row::<f32>(y)?);
        let cloth_row = cloth.at_row::<core::Vec3b>(y)?;
        let out_row = picture.at_row_mut::<core::Vec3b>(y)?;
        for x in 0..size.width as usize {
            if mask_row[x] == 0 {
                continue;
            }
            let light = (shade_row[x] / under).clamp(0.4, 1.6);
            for c in 0..3 {
                let v = cloth_row[x][c] as f32 * light;
                out_row[x][c] = v.clamp(0.0, 255.0) as u8;
            }
        }
    }
    Ok(())
}
