//! Injection cues from the stream itself: are these frames a camera's?
//!
//! A camera delivers a new exposure for every frame, with increasing timestamps at about the
//! rate it declared. A virtual camera or a tampered client may repeat frames (a frozen picture
//! between real ones), stamp them out of order, or pump them faster than it claims.
//!
//! **Frozen frames.** Each analysed frame is shrunk to a 64-px-wide grey thumbnail and compared
//! with the previous one; a mean absolute difference below [`FROZEN_MEAN_DIFF`] grey levels is a
//! repeat: the same picture sent again. The bar is that low because a still person under a video
//! codec comes close: 21 of 71 consecutive franck.mp4 frames differed by less than 0.35. The stream
//! is *frozen* when more than [`FROZEN_FRACTION`] of its frames repeat, or [`FROZEN_RUN`] in a row do.
//!
//! **Timestamps.** Analysed frames must carry strictly increasing timestamps, and their median
//! interval must not be shorter than half the interval of the declared frame rate. (The server
//! analyses the newest frame and drops the rest when busy, so longer intervals are normal.)

use opencv::core::{self, Mat, Size};
use opencv::imgproc;
use opencv::prelude::*;

use crate::error::EngineError;

pub const FROZEN_MEAN_DIFF: f64 = 0.02;
pub const FROZEN_FRACTION: f32 = 0.2;
pub const FROZEN_RUN: u32 = 8;
const THUMB_WIDTH: i32 = 64;

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct InjectionReport {
    pub frames: u32,
    pub repeated_frames: u32,
    pub longest_repeat_run: u32,
    /// Frames whose timestamp was not later than the previous frame's.
    pub non_increasing_timestamps: u32,
    /// Median interval between analysed frames, milliseconds.
    pub median_interval_ms: Option<f32>,
    /// Frame rate the client declared in `start`.
    pub declared_fps: Option<f32>,
}

impl InjectionReport {
    pub fn frozen(&self) -> bool {
        self.longest_repeat_run >= FROZEN_RUN
            || self.repeated_frames as f32 > FROZEN_FRACTION * self.frames.max(1) as f32
    }

    /// Timestamps that no camera produces.
    pub fn implausible_timing(&self) -> bool {
        let too_fast = match (self.median_interval_ms, self.declared_fps) {
            (Some(median), Some(fps)) if fps > 0.0 => median < 0.5 * 1000.0 / fps,
            _ => false,
        };
        too_fast || self.non_increasing_timestamps > 0
    }
}

#[derive(Default)]
pub struct InjectionMeter {
    report: InjectionReport,
    last_thumb: Option<Mat>,
    last_timestamp_ms: Option<i64>,
    run: u32,
    intervals: Vec<i64>,
}

impl InjectionMeter {
    pub fn new(declared_fps: Option<f32>) -> Self {
        InjectionMeter {
            report: InjectionReport {
                declared_fps: declared_fps.filter(|f| *f > 0.0),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    pub fn observe(&mut self, timestamp_ms: i64, bgr: &Mat) -> Result<(), EngineError> {
        self.report.frames += 1;
        if let Some(last) = self.last_timestamp_ms {
            if timestamp_ms <= last {
                self.report.non_increasing_timestamps += 1;
            } else {
                self.intervals.push(timestamp_ms - last);
            }
        }
        self.last_timestamp_ms = Some(timestamp_ms);

        let thumb = thumbnail(bgr)?;
        if let Some(last) = &self.last_thumb
            && last.size()? == thumb.size()?
        {
            let mut diff = Mat::default();
            core::absdiff(last, &thumb, &mut diff)?;
            if core::mean_def(&diff)?[0] < FROZEN_MEAN_DIFF {
                self.report.repeated_frames += 1;
                self.run += 1;
                self.report.longest_repeat_run = self.report.longest_repeat_run.max(self.run);
            } else {
                self.run = 0;
            }
        }
        self.last_thumb = Some(thumb);
        Ok(())
    }

    pub fn report(&self) -> InjectionReport {
        let mut report = self.report;
        if !self.intervals.is_empty() {
            let mut v = self.intervals.clone();
            v.sort_unstable();
            report.median_interval_ms = Some(v[v.len() / 2] as f32);
        }
        report
    }
}

fn thumbnail(bgr: &Mat) -> Result<Mat, EngineError> {
    let mut grey = Mat::default();
    imgproc::cvt_color_def(bgr, &mut grey, imgproc::COLOR_BGR2GRAY)?;
    let height = (grey.rows() * THUMB_WIDTH / grey.cols().max(1)).max(1);
    let mut thumb = Mat::default();
    imgproc::resize(
        &grey,
        &mut thumb,
        Size::new(THUMB_WIDTH, height),
        0.0,
        0.0,
        imgproc::INTER_AREA,
    )?;
    Ok(thumb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_rules() {
        let mut r = InjectionReport {
            frames: 30,
            median_interval_ms: Some(40.0),
            declared_fps: Some(25.0),
            ..Default::default()
        };
        assert!(!r.implausible_timing());
        r.median_interval_ms = Some(10.0);
        assert!(r.implausible_timing(), "4× faster than declared");
        r.median_interval_ms = Some(120.0);
        r.non_increasing_timestamps = 1;
        assert!(r.implausible_timing(), "a timestamp went backwards");
    }
}
