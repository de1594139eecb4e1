//! Finding the document in a photograph: the largest convex quadrilateral that stands out from
//! the background, warped flat. A scan (the document fills the picture) is used as it is.

use opencv::core::{Mat, Point, Point2f, Size, Vector};
use opencv::imgproc;
use opencv::prelude::*;

use livegate_engine::error::EngineError;

/// The document's quadrilateral must cover at least this share of the picture; smaller ones are
/// the portrait, the barcode or other printed boxes.
const MIN_AREA_SHARE: f64 = 0.35;

/// The document, flattened, and whether its outline was found (false: the whole picture).
pub fn flatten(bgr: &Mat) -> Result<(Mat, bool), EngineError> {
    let Some(quad) = outline(bgr)? else {
        return Ok((bgr.clone(), false));
    };
    let dist = |a: Point2f, b: Point2f| ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt();
    let width = dist(quad[0], quad[1]).max(dist(quad[3], quad[2])).round() as i32;
    let height = dist(quad[0], quad[3]).max(dist(quad[1], quad[2])).round() as i32;
    let src = Vector::<Point2f>::from_slice(&quad);
    let dst = Vector::<Point2f>::from_slice(&[
        Point2f::new(0.0, 0.0),
        Point2f::new(width as f32 - 1.0, 0.0),
        Point2f::new(width as f32 - 1.0, height as f32 - 1.0),
        Point2f::new(0.0, height as f32 - 1.0),
    ]);
    let m = imgproc::get_perspective_transform(&src, &dst, opencv::core::DECOMP_LU)?;
    let mut flat = Mat::default();
    imgproc::warp_perspective(
        bgr,
        &mut flat,
        &m,
        Size::new(width.max(1), height.max(1)),
        imgproc::INTER_LINEAR,
        opencv::core::BORDER_REPLICATE,
        opencv::core::Scalar::default(),
    )?;
    Ok((flat, true))
}

/// The document's corners, top-left first, clockwise; None when no large quadrilateral stands
/// out (a scan, or a document filling the picture).
fn outline(bgr: &Mat) -> Result<Option<[Point2f; 4]>, EngineError> {
    // Work at about 800 px: edges of a card are long and strong; texture on it is not wanted.
    let scale = 800.0 / bgr.cols().max(bgr.rows()) as f64;
    let mut small = Mat::default();
    imgproc::resize(
        bgr,
        &mut small,
        Size::default(),
        scale,
        scale,
        imgproc::INTER_AREA,
    )?;
    let mut grey = Mat::default();
    imgproc::cvt_color_def(&small, &mut grey, imgproc::COLOR_BGR2GRAY)?;
    let mut blurred = Mat::default();
    imgproc::gaussian_blur_def(&grey, &mut blurred, Size::new(5, 5), 0.0)?;
    let mut edges = Mat::default();
    imgproc::canny_def(&blurred, &mut edges, 40.0, 120.0)?;
    let mut closed = Mat::default();
    let kernel = imgproc::get_structuring_element_def(imgproc::MORPH_RECT, Size::new(5, 5))?;
    imgproc::dilate_def(&edges, &mut closed, &kernel)?;
    let mut contours = Vector::<Vector<Point>>::new();
    imgproc::find_contours_def(
        &closed,
        &mut contours,
        imgproc::RETR_EXTERNAL,
        imgproc::CHAIN_APPROX_SIMPLE,
    )?;
    let total = (small.cols() * small.rows()) as f64;
    let mut best: Option<(f64, Vector<Point>)> = None;
    for c in contours.iter() {
        let mut hull = Vector::<Point>::new();
        imgproc::convex_hull_def(&c, &mut hull)?;
        let perimeter = imgproc::arc_length(&hull, true)?;
        let mut poly = Vector::<Point>::new();
        imgproc::approx_poly_dp(&hull, &mut poly, 0.02 * perimeter, true)?;
        let area = imgproc::contour_area_def(&poly)?;
        if poly.len() == 4
            && area >= MIN_AREA_SHARE * total
            && area < 0.98 * total
            && best.as_ref().is_none_or(|(a, _)| area > *a)
        {
            best = Some((area, poly));
        }
    }
    let Some((_, poly)) = best else {
        return Ok(None);
    };
    let pts: Vec<Point2f> = poly
        .iter()
        .map(|p| Point2f::new(p.x as f32 / scale as f32, p.y as f32 / scale as f32))
        .collect();
    Ok(Some(order_corners(&pts)))
}

/// Top-left, top-right, bottom-right, bottom-left: the smallest and largest x + y are the
/// top-left and bottom-right corners, the smallest and largest y − x the top-right and
/// bottom-left ones.
fn order_corners(p: &[Point2f]) -> [Point2f; 4] {
    let by = |f: &dyn Fn(&Point2f) -> f32, max: bool| {
        *p.iter()
            .max_by(|a, b| {
                let o = f(a).total_cmp(&f(b));
                if max { o } else { o.reverse() }
            })
            .unwrap()
    };
    [
        by(&|q| q.x + q.y, false),
        by(&|q| q.y - q.x, false),
        by(&|q| q.x + q.y, true),
        by(&|q| q.y - q.x, true),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corners_are_ordered_clockwise_from_top_left() {
        let p = [
            Point2f::new(90.0, 80.0),
            Point2f::new(10.0, 5.0),
            Point2f::new(12.0, 70.0),
            Point2f::new(95.0, 8.0),
        ];
        let o = order_corners(&p);
        assert_eq!(o[0], Point2f::new(10.0, 5.0));
        assert_eq!(o[1], Point2f::new(95.0, 8.0));
        assert_eq!(o[2], Point2f::new(90.0, 80.0));
        assert_eq!(o[3], Point2f::new(12.0, 70.0));
    }
}
