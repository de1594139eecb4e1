//! The cooperative live user: franck.mp4 clips in which his head really does what each step
//! asks, played when the server asks for that step, with calm frontal frames in between.
//!
//! The clips were chosen by looking at contact sheets of the video (every 12th frame of the
//! whole video, then every 2nd frame around each candidate; `cargo run --release -p
//! livegate-engine --example contact_sheet`), not by asking the engine. What a person sees in
//! each is in [`CLIPS`]. The engine's view of them (`clip_trace` example) was checked
//! afterwards: he rests at 13–17° of yaw and turns about 14° more, which set the challenge
//! thresholds' modest values.

use std::collections::VecDeque;
use std::sync::Arc;

use opencv::core::Mat;
use opencv::prelude::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::light::LightResponse;
use crate::media;
use crate::{Clock, Shot, Step, Subject};

/// A time range of franck.mp4 showing one movement.
pub struct Clip {
    pub step: Step,
    pub from: usize,
    pub to: usize,
    /// Played backwards: a real movement, reversed in time, is still a real head moving.
    pub reversed: bool,
    pub seen: &'static str,
}

pub const CLIPS: [Clip; 7] = [
    Clip {
        step: Step::TurnLeft,
        from: 1040,
        to: 1092,
        reversed: false,
        seen: "resting, then turns to his own left (nose towards the image's right) by 1088–1090",
    },
    Clip {
        step: Step::TurnLeft,
        from: 3870,
        to: 3890,
        reversed: false,
        seen: "frontal at 3870–3878, turned to his left at 3882–3890",
    },
    Clip {
        step: Step::TurnRight,
        from: 3844,
        to: 3878,
        reversed: true,
        seen: "turned to his own right at 3846–3864, frontal by 3876; reversed: frontal, then turns right",
    },
    Clip {
        step: Step::LookUp,
        from: 3840,
        to: 3870,
        reversed: false,
        seen: "head bowed laughing at 3840, raises it to level by 3866",
    },
    Clip {
        step: Step::Blink,
        from: 100,
        to: 200,
        reversed: false,
        seen: "frontal, eyelids shut at 165–166",
    },
    Clip {
        step: Step::Blink,
        from: 1216,
        to: 1250,
        reversed: false,
        seen: "frontal, blinks at 1236",
    },
    Clip {
        step: Step::MoveCloser,
        from: 1140,
        to: 1170,
        reversed: false,
        seen: "leans towards the camera: face and shoulders grow from 1150 to 1168",
    },
];

/// Calm, frontal frames played between steps (576–700: he sits still and looks at the camera).
pub const NEUTRAL: (usize, usize) = (576, 700);

pub struct LiveUser {
    rng: StdRng,
    /// How strongly the screen lights his face in a light step (see [`Subject::light_response`]).
    screen_light: f32,
    clock: Clock,
    asked: Option<Step>,
    queue: VecDeque<Mat>,
    neutral: Arc<Vec<Mat>>,
    /// Position in the neutral frames and direction (they play back and forth).
    at: usize,
    forward: bool,
}

impl LiveUser {
    pub fn new(seed: u64) -> opencv::Result<Self> {
        let neutral = media::franck(NEUTRAL.0, NEUTRAL.1)?;
        let mut rng = StdRng::seed_from_u64(seed);
        let at = rng.random_range(0..neutral.len());
        Ok(LiveUser {
            // A phone or laptop screen at full brightness adds a few to ten percent of an
            // office's light to a face at arm's length.
            screen_light: rng.random_range(0.04..0.10),
            rng,
            clock: Clock::default(),
            asked: None,
            queue: VecDeque::new(),
            neutral,
            at,
            forward: true,
        })
    }

    fn clip_for(&mut self, step: Step) -> opencv::Result<VecDeque<Mat>> {
        let choices: Vec<&Clip> = CLIPS.iter().filter(|c| c.step == step).collect();
        let clip = choices[self.rng.random_range(0..choices.len())];
        let frames = media::franck(clip.from, clip.to)?;
        let mut frames: VecDeque<Mat> = frames
            .iter()
            .map(|m| m.try_clone())
            .collect::<Result<_, _>>()?;
        if clip.reversed {
            frames.make_contiguous().reverse();
        }
        Ok(frames)
    }

    fn neutral_frame(&mut self) -> opencv::Result<Mat> {
        let last = self.neutral.len() - 1;
        if (self.forward && self.at == last) || (!self.forward && self.at == 0) {
            self.forward = !self.forward;
        }
        self.at = if self.forward {
            self.at + 1
        } else {
            self.at - 1
        };
        self.neutral[self.at].try_clone()
    }
}

impl Subject for LiveUser {
    fn light_response(&self) -> LightResponse {
        LightResponse::Face {
            strength: self.screen_light,
            size: 0.3,
        }
    }

    fn next(&mut self, asked: Option<Step>) -> opencv::Result<Option<Shot>> {
        if asked != self.asked {
            self.asked = asked;
            self.queue = match asked {
                Some(step) => self.clip_for(step)?,
                None => VecDeque::new(),
            };
        }
        let image = match self.queue.pop_front() {
            Some(m) => m,
            None => self.neutral_frame()?,
        };
        Ok(Some(Shot {
            image,
            timestamp_ms: self.clock.tick(),
        }))
    }
}
