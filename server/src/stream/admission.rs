//! A stream's limits on frames, applied to each frame as it arrives: which to analyse, which to
//! skip (counted as dropped), and which end the stream.

use std::time::Instant;

use livegate_proto::v1 as pb;

use crate::config::Config;
use crate::error::ApiError;

/// What becomes of a frame the limits let in.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission {
    /// The newest frame to analyse.
    Analyse,
    /// Closer to the last one (by the client's clock) than the allowed rate: skipped, since
    /// cameras jitter.
    Skip,
}

pub struct FrameAdmission {
    max_frames: u32,
    max_frame_bytes: u32,
    /// No rate limit at all when 0.
    max_fps: f32,
    min_interval_ms: i64,
    most_per_second: u32,
    most_arriving_per_second: u32,
    received: u32,
    last_accepted_ts: Option<i64>,
    by_timestamp: RateWindow,
    by_arrival: RateWindow,
    started: Instant,
}

impl FrameAdmission {
    pub fn new(config: &Config) -> Self {
        let most_per_second = (2.0 * config.max_fps).ceil().max(1.0) as u32;
        FrameAdmission {
            max_frames: config.max_frames,
            max_frame_bytes: config.max_frame_bytes,
            max_fps: config.max_fps,
            min_interval_ms: if config.max_fps > 0.0 {
                (1000.0 / config.max_fps) as i64
            } else {
                0
            },
            most_per_second,
            most_arriving_per_second: 2 * most_per_second,
            received: 0,
            last_accepted_ts: None,
            by_timestamp: RateWindow::default(),
            by_arrival: RateWindow::default(),
            started: Instant::now(),
        }
    }

    /// Judges a frame that just arrived; `waits` is whether another frame is in the engine or
    /// waiting for it.
    pub fn admit(&mut self, frame: &pb::Frame, waits: bool) -> Result<Admission, ApiError> {
        self.received += 1;
        if self.received > self.max_frames {
            return Err(ApiError::TooManyFrames(self.max_frames));
        }
        if frame.data.len() > self.max_frame_bytes as usize {
            return Err(ApiError::FrameTooLarge {
                size: frame.data.len(),
                limit: self.max_frame_bytes,
            });
        }
        let arrived_ms = self.started.elapsed().as_millis() as i64;
        // By the server's clock only frames that must wait count: a lock-step client (the next
        // frame once the last is answered) is paced by the engine itself.
        if self.max_fps > 0.0
            && (self.by_timestamp.count(frame.timestamp_ms) > self.most_per_second
                || (waits && self.by_arrival.count(arrived_ms) > self.most_arriving_per_second))
        {
            return Err(ApiError::FrameRateExceeded(self.most_per_second));
        }
        if let Some(last) = self.last_accepted_ts
            && frame.timestamp_ms - last < self.min_interval_ms
        {
            return Ok(Admission::Skip);
        }
        self.last_accepted_ts = Some(frame.timestamp_ms);
        Ok(Admission::Analyse)
    }
}

/// Frames counted in one-second windows of a clock (the frames' timestamps or the server's).
#[derive(Default)]
struct RateWindow {
    start_ms: Option<i64>,
    frames: u32,
}

impl RateWindow {
    /// Counts a frame at `now_ms`; returns the frames in its window so far. A clock that goes
    /// backwards opens a new window, as a second that has passed does.
    fn count(&mut self, now_ms: i64) -> u32 {
        match self.start_ms {
            Some(start) if (start..start + 1000).contains(&now_ms) => self.frames += 1,
            _ => {
                self.start_ms = Some(now_ms);
                self.frames = 1;
            }
        }
        self.frames
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn admission(args: &[&str]) -> FrameAdmission {
        let config =
            Config::try_parse_from(std::iter::once("livegate").chain(args.iter().copied()))
                .expect("valid flags");
        FrameAdmission::new(&config)
    }

    fn frame(timestamp_ms: i64, bytes: usize) -> pb::Frame {
        pb::Frame {
            timestamp_ms,
            data: vec![0; bytes],
            ..Default::default()
        }
    }

    #[test]
    fn frames_faster_than_the_rate_are_skipped_not_refused() {
        let mut a = admission(&["--max-fps", "10"]);
        assert_eq!(a.admit(&frame(0, 10), false).unwrap(), Admission::Analyse);
        assert_eq!(a.admit(&frame(40, 10), false).unwrap(), Admission::Skip);
        assert_eq!(a.admit(&frame(100, 10), false).unwrap(), Admission::Analyse);
    }

    #[test]
    fn more_than_twice_the_rate_by_timestamps_ends_the_stream() {
        let mut a = admission(&["--max-fps", "10"]);
        let refused = (0..=20)
            .map(|i| a.admit(&frame(i * 10, 10), false))
            .find_map(Result::err);
        assert!(
            matches!(refused, Some(ApiError::FrameRateExceeded(20))),
            "{refused:?}"
        );
    }

    #[test]
    fn size_and_count_limits_end_the_stream() {
        let mut a = admission(&["--max-frames", "2", "--max-frame-bytes", "100"]);
        assert!(matches!(
            a.admit(&frame(0, 101), false),
            Err(ApiError::FrameTooLarge {
                size: 101,
                limit: 100
            })
        ));
        assert!(a.admit(&frame(1000, 10), false).is_ok());
        assert!(matches!(
            a.admit(&frame(2000, 10), false),
            Err(ApiError::TooManyFrames(2))
        ));
    }
}
