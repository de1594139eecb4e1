//! A rectangle around the face: the outline of a phone, a tablet or a print held to the camera.
//!
//! A face shown on a device or printed on paper is bounded by the device's or the sheet's edge:
//! straight lines that close around it on the sides *and below the chin*, across where the
//! shown person's neck and body are cut off by the screen. A real person's body goes on below
//! the face: nothing behind them can draw an unbroken line across their neck, and a line in
//! front of the neck (a desk's edge) does not also meet two upright lines on either side of the
//! face. So the signal is a closed outline: a near-horizontal edge under the chin spanning the
//! face's width whose ends meet near-vertical edges beside the face, both spanning its height.
//! Bezels, paper borders and the boundary between a screen's picture and its black frame all
//! draw one; a door frame or a shelf behind a real head gives the sides at most.
//!
//! What it cannot see: a device or print that fills the camera's view (its outline is outside
//! the frame), or one held so that its lower edge is out of view. It is one cue among others,
//! never a decision on its own (see the fusion rule in [`crate::evidence`]).
//!
//! Measurement: every [`SAMPLE_EVERY`]th frame with one face; the search area is the face box
//! grown by [`SEARCH_SIDE`] face widths on each side, [`SEARCH_ABOVE`] face heights above and
//! [`SEARCH_BELOW`] below, scaled so that the face is [`WORK_FACE_WIDTH`] pixels wide; edges
//! (Canny) become straight segments (probabilistic Hough) of at least one face width, and a
//! frame is *framed* when a bottom edge and both side edges meet within [`CORNER_TOLERANCE`]
//! face sizes. The session's outline is seen when at least [`FRAMED_FRACTION`] of at least
//! [`MIN_MEASURED`] measured frames were framed: one frame with a chance alignment of edges
//! does not count.

use opencv::core::{Mat, Size, Vec4i, Vector};
use opencv::imgproc;
use opencv::prelude::*;

use crate::error::EngineError;
use crate::geometry::Rect;
use crate::resample;

/// One frame in this many (with one face) is measured.
pub const SAMPLE_EVERY: u32 = 5;
/// Fewest measured frames for a verdict on the outline.
pub const MIN_MEASURED: u32 = 3;
/// Share of measured frames that must be framed.
pub const FRAMED_FRACTION: f32 = 0.5;
/// The search area reaches this many face widths beside the face box...
pub const SEARCH_SIDE: f32 = 2.5;
/// ...this many face heights above it...
pub const SEARCH_ABOVE: f32 = 1.0;
/// ...and this many below it (a head-and-shoulders picture ends one to two face heights under
/// the chin).
pub const SEARCH_BELOW: f32 = 2.0;
/// The face's width in the working image, pixels: small enough to be cheap, large enough for
/// a bezel a few pixels wide to give an edge.
pub const WORK_FACE_WIDTH: f32 = 64.0;
/// Largest tilt, degrees, of a "horizontal" or "vertical" edge (a device held askew).
pub const MAX_TILT_DEG: f32 = 20.0;
/// How far, in face sizes, a side edge and the bottom edge may stop short of meeting.
pub const CORNER_TOLERANCE: f32 = 0.35;
/// Edges below the chin start this many face heights under the face box (the chin and jaw
/// line lie inside it, but the box may end a little above the chin).
const BELOW_CHIN: f32 = 0.1;

/// Counts framed frames over a session.
#[derive(Debug, Clone, Default)]
pub struct OutlineMeter {
    seen: u32,
    measured: u32,
    framed: u32,
}

/// What the meter saw: frames measured and how many showed a closed outline round the face.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OutlineReport {
    pub measured: u32,
    pub framed: u32,
}

impl OutlineReport {
    /// Whether the session showed the face inside an outline (see the module doc).
    pub fn outlined(&self) -> bool {
        self.measured >= MIN_MEASURED
            && self.framed as f32 >= FRAMED_FRACTION * self.measured as f32
    }
}

impl OutlineMeter {
    /// Takes a frame with exactly one face, `face` in the frame's pixels.
    pub fn observe(&mut self, bgr: &Mat, face: &Rect) -> Result<(), EngineError> {
        let due = self.seen.is_multiple_of(SAMPLE_EVERY);
        self.seen += 1;
        if !due {
            return Ok(());
        }
        if let Some(framed) = face_is_framed(bgr, face)? {
            self.measured += 1;
            self.framed += framed as u32;
        }
        Ok(())
    }

    pub fn report(&self) -> OutlineReport {
        OutlineReport {
            measured: self.measured,
            framed: self.framed,
        }
    }
}

/// A straight edge in the working image, endpoints ordered along its main direction.
#[derive(Debug, Clone, Copy)]
struct Segment {
    a: (f32, f32),
    b: (f32, f32),
}

impl Segment {
    fn tilt_from_horizontal(&self) -> f32 {
        let (dx, dy) = (self.b.0 - self.a.0, self.b.1 - self.a.1);
        dy.atan2(dx)
            .to_degrees()
            .abs()
            .min(180.0 - dy.atan2(dx).to_degrees().abs())
    }
    fn x_range(&self) -> (f32, f32) {
        (self.a.0.min(self.b.0), self.a.0.max(self.b.0))
    }
    fn y_range(&self) -> (f32, f32) {
        (self.a.1.min(self.b.1), self.a.1.max(self.b.1))
    }
    fn mid(&self) -> (f32, f32) {
        ((self.a.0 + self.b.0) / 2.0, (self.a.1 + self.b.1) / 2.0)
    }
}

/// Whether one frame shows a closed outline round `face` (see the module doc); `None` when the
/// search area is too small to tell (the face at the frame's edge).
pub fn face_is_framed(bgr: &Mat, face: &Rect) -> Result<Option<bool>, EngineError> {
    let (fw, fh) = (face.width, face.height);
    if fw < 8.0 || fh < 8.0 {
        return Ok(None);
    }
    let area = Rect {
        x: face.x - SEARCH_SIDE * fw,
        y: face.y - SEARCH_ABOVE * fh,
        width: (1.0 + 2.0 * SEARCH_SIDE) * fw,
        height: (1.0 + SEARCH_ABOVE + SEARCH_BELOW) * fh,
    };
    let Some(roi) = area.to_pixels(0.0, bgr.cols(), bgr.rows()) else {
        return Ok(None);
    };
    // Below the face there must be room for an edge under the chin.
    if (roi.y + roi.height) as f32 <= face.y + (1.0 + 2.0 * BELOW_CHIN) * fh {
        return Ok(None);
    }
    let scale = (WORK_FACE_WIDTH / fw).min(1.0);
    let lines = straight_edges(bgr, roi, scale, fw * scale)?;
    // The face box in the working image.
    let x0 = (face.x - roi.x as f32) * scale;
    let y0 = (face.y - roi.y as f32) * scale;
    let segments = lines.iter().map(|l| Segment {
        a: (l[0] as f32, l[1] as f32),
        b: (l[2] as f32, l[3] as f32),
    });
    Ok(Some(frames_box(
        segments,
        (x0, y0),
        (fw * scale, fh * scale),
    )))
}

/// Long straight edges in `roi` of the frame, scaled by `scale`, where a face is `w` wide.
fn straight_edges(
    bgr: &Mat,
    roi: opencv::core::Rect,
    scale: f32,
    w: f32,
) -> Result<Vector<Vec4i>, EngineError> {
    let mut grey = Mat::default();
    imgproc::cvt_color_def(&Mat::roi(bgr, roi)?, &mut grey, imgproc::COLOR_BGR2GRAY)?;
    let small = resample::resize_area(&grey, Size::new(0, 0), scale as f64, scale as f64)?;
    let mut blurred = Mat::default();
    imgproc::gaussian_blur_def(&small, &mut blurred, Size::new(3, 3), 0.0)?;
    let mut edges = Mat::default();
    imgproc::canny_def(&blurred, &mut edges, 40.0, 120.0)?;
    let mut lines = Vector::<Vec4i>::new();
    imgproc::hough_lines_p(
        &edges,
        &mut lines,
        1.0,
        std::f64::consts::PI / 180.0,
        (0.5 * w) as i32,
        (0.9 * w) as f64,
        (0.15 * w) as f64,
    )?;
    Ok(lines)
}

/// Whether the segments close a frame round the box at `(x0, y0)` of size `(w, h)`: a bottom
/// edge under the chin across the face's width, met by an edge beside each side.
fn frames_box(
    segments: impl Iterator<Item = Segment>,
    (x0, y0): (f32, f32),
    (w, h): (f32, f32),
) -> bool {
    let (x1, y1) = (x0 + w, y0 + h);
    let (mut bottoms, mut lefts, mut rights) = (Vec::new(), Vec::new(), Vec::new());
    for s in segments {
        let tilt = s.tilt_from_horizontal();
        let ((sx0, sx1), (sy0, sy1)) = (s.x_range(), s.y_range());
        if tilt <= MAX_TILT_DEG {
            // Under the chin, across the whole face's width.
            if sy0 > y1 + BELOW_CHIN * h && sx0 <= x0 && sx1 >= x1 {
                bottoms.push(s);
            }
        } else if tilt >= 90.0 - MAX_TILT_DEG {
            // Beside the face, along its whole height.
            let beside_height = sy0 <= y0 + 0.2 * h && sy1 >= y1 - 0.2 * h;
            if beside_height && sx1 < x0 {
                lefts.push(s);
            } else if beside_height && sx0 > x1 {
                rights.push(s);
            }
        }
    }
    let (tx, ty) = (CORNER_TOLERANCE * w, CORNER_TOLERANCE * h);
    // A side meets the bottom when the bottom reaches the side's line and the side reaches down
    // to the bottom's.
    let meets = |side: &Segment, bottom: &Segment| {
        let (bx0, bx1) = bottom.x_range();
        let side_x = side.mid().0;
        let reaches = bx0 <= side_x + tx && bx1 >= side_x - tx;
        reaches && side.y_range().1 >= bottom.mid().1 - ty
    };
    bottoms
        .iter()
        .any(|b| lefts.iter().any(|l| meets(l, b)) && rights.iter().any(|r| meets(r, b)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use opencv::core::{self, Point, Scalar};

    /// A grey room with a face-sized blob, optionally inside a dark bezel.
    fn scene(bezel: bool) -> (Mat, Rect) {
        let mut m =
            Mat::new_rows_cols_with_default(480, 640, core::CV_8UC3, Scalar::all(150.0)).unwrap();
        if bezel {
            imgproc::rectangle(
                &mut m,
                core::Rect::new(140, 40, 360, 420),
                Scalar::all(25.0),
                -1,
                imgproc::LINE_8,
                0,
            )
            .unwrap();
            imgproc::rectangle(
                &mut m,
                core::Rect::new(150, 50, 340, 400),
                Scalar::new(90.0, 110.0, 140.0, 0.0),
                -1,
                imgproc::LINE_8,
                0,
            )
            .unwrap();
        }
        // A head and shoulders that run out of the picture (or of the screen) at the bottom.
        imgproc::ellipse(
            &mut m,
            Point::new(320, 200),
            Size::new(60, 80),
            0.0,
            0.0,
            360.0,
            Scalar::new(120.0, 150.0, 200.0, 0.0),
            -1,
            imgproc::LINE_AA,
            0,
        )
        .unwrap();
        let bottom = if bezel { 449 } else { 479 };
        imgproc::rectangle(
            &mut m,
            core::Rect::new(230, 300, 180, bottom - 300),
            Scalar::new(60.0, 60.0, 60.0, 0.0),
            -1,
            imgproc::LINE_8,
            0,
        )
        .unwrap();
        let face = Rect {
            x: 265.0,
            y: 130.0,
            width: 110.0,
            height: 140.0,
        };
        (m, face)
    }

    #[test]
    fn a_bezel_round_the_face_is_an_outline_and_a_room_is_not() {
        let (framed, face) = scene(true);
        assert_eq!(face_is_framed(&framed, &face).unwrap(), Some(true));
        let (room, face) = scene(false);
        assert_eq!(face_is_framed(&room, &face).unwrap(), Some(false));
    }

    #[test]
    fn one_framed_frame_is_not_a_session_outline() {
        let (framed, face) = scene(true);
        let (room, _) = scene(false);
        let mut meter = OutlineMeter::default();
        for i in 0..40 {
            // One sampled frame in four shows the outline: a chance alignment, not a device.
            let image = if i % 20 == 0 { &framed } else { &room };
            meter.observe(image, &face).unwrap();
        }
        let report = meter.report();
        assert_eq!(report.measured, 8);
        assert!(!report.outlined(), "{report:?}");

        let mut meter = OutlineMeter::default();
        for _ in 0..40 {
            meter.observe(&framed, &face).unwrap();
        }
        assert!(meter.report().outlined());
    }
}
