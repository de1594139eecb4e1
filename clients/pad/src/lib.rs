//! Presentation-attack test support: who (or what) stands in front of the camera.
//!
//! A [`Subject`] produces camera frames one at a time, told which challenge step the server is
//! asking for (a live person reacts to it; most attacks cannot). Every subject is made from the
//! real media of `engine/assets/testmedia.toml` and is deterministic for a given seed, so every
//! run sees the same attacks.
//!
//! Species ([`Species`]):
//! - **live**: the cooperative user. Real clips of franck.mp4 in which his head really does what
//!   a step asks, chosen by looking at contact sheets of the video (the `contact_sheet`
//!   example), stitched in the order the server asks; see [`live`].
//! - **printed photo**, **2-D puppet**, **video replay**, **screen replay**, **face swap**,
//!   **frozen frames**, **adaptive screen replay**: see [`attacks`] (family A, the renderings the
//!   thresholds were placed on).
//! - family B, an independent set of renderings never used for tuning: see [`independent`].
//!
//! During a light step the report lights each subject's frames as its physics says
//! ([`light`]).

pub mod attacks;
pub mod independent;
pub mod light;
pub mod live;
pub mod media;
pub mod passive;
pub mod report;

use opencv::core::Mat;

pub use attacks::Species;

/// The step the server asks for, in this crate's own terms (it speaks to the engine in tests
/// and to the public API in the report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    TurnLeft,
    TurnRight,
    LookUp,
    Blink,
    MoveCloser,
}

/// One camera frame.
pub struct Shot {
    pub image: Mat,
    pub timestamp_ms: i64,
}

/// Whoever is in front of the camera.
pub trait Subject: Send {
    /// The next frame, given the step being asked now (None before the first or after the
    /// last). None when the subject has nothing more to show.
    fn next(&mut self, asked: Option<Step>) -> opencv::Result<Option<Shot>>;
    /// The frame rate the subject's camera declares.
    fn fps(&self) -> f64 {
        media::FRANCK_FPS
    }
    /// How the subject's picture answers a screen's light in front of it (the light step):
    /// an injected feed, the default, does not.
    fn light_response(&self) -> light::LightResponse {
        light::LightResponse::None
    }
}

/// A camera clock: frame `n` of a `fps` camera.
#[derive(Debug, Clone, Copy, Default)]
pub struct Clock {
    frame: u64,
}

impl Clock {
    pub fn tick(&mut self) -> i64 {
        let t = (self.frame as f64 * 1000.0 / media::FRANCK_FPS).round() as i64;
        self.frame += 1;
        t
    }
}
