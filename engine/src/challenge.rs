//! Challenge-response: a random plan of steps per session, and following a user through them.
//!
//! A recorded video or a photo cannot know the plan, which is drawn when the session starts.
//! Each step has a time limit, counted from the first frame analysed after it was announced.
//!
//! Thresholds (documented for operators and checked by tests):
//! - turn left / right: the yaw (see [`crate::pose`]) must first be near frontal
//!   (|yaw| ≤ [`NEUTRAL_YAW_DEG`]) during the step, then reach [`TURN_YAW_DEG`] towards the asked
//!   side on [`TURN_HOLD_FRAMES`] consecutive analysed frames. Progress is yaw / TURN_YAW_DEG.
//! - blink: eye openness (eye aspect ratio of MediaPipe Iris's eye contour, [`crate::eyes`])
//!   must fall below [`BLINK_CLOSED_RATIO`] × the user's
//!   own open-eye level (the median of their recent frames), then rise above
//!   [`BLINK_REOPEN_RATIO`] × that level within [`BLINK_MAX_CLOSED_MS`].

use rand::Rng;
use rand::seq::SliceRandom;

pub const TURN_YAW_DEG: f32 = 25.0;
pub const NEUTRAL_YAW_DEG: f32 = 12.0;
pub const TURN_HOLD_FRAMES: u32 = 2;
pub const BLINK_CLOSED_RATIO: f32 = 0.7;
pub const BLINK_REOPEN_RATIO: f32 = 0.85;
pub const BLINK_MAX_CLOSED_MS: i64 = 1000;
/// Frames of eye openness the open-eye level is taken from.
const OPENNESS_WINDOW: usize = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChallengeKind {
    /// Turn the head to the user's own left.
    TurnLeft,
    /// Turn the head to the user's own right.
    TurnRight,
    Blink,
}

impl ChallengeKind {
    pub fn instruction(self) -> &'static str {
        match self {
            ChallengeKind::TurnLeft => "Turn your head to your left",
            ChallengeKind::TurnRight => "Turn your head to your right",
            ChallengeKind::Blink => "Blink",
        }
    }
}

#[derive(Debug, Clone)]
pub struct PlanConfig {
    pub steps: usize,
    pub kinds: Vec<ChallengeKind>,
    pub step_time_limit_ms: u32,
}

impl Default for PlanConfig {
    fn default() -> Self {
        PlanConfig {
            steps: 2,
            kinds: vec![
                ChallengeKind::TurnLeft,
                ChallengeKind::TurnRight,
                ChallengeKind::Blink,
            ],
            step_time_limit_ms: 10_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChallengePlan {
    pub steps: Vec<ChallengeKind>,
    pub step_time_limit_ms: u32,
}

impl ChallengePlan {
    /// `config.steps` different kinds in random order. The random source must be unpredictable
    /// to clients (the server passes an OS-seeded generator).
    pub fn random(rng: &mut impl Rng, config: &PlanConfig) -> Self {
        let mut kinds = config.kinds.clone();
        kinds.shuffle(rng);
        kinds.truncate(config.steps.clamp(1, config.kinds.len().max(1)));
        ChallengePlan {
            steps: kinds,
            step_time_limit_ms: config.step_time_limit_ms,
        }
    }
}

/// Where the user is in the current step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChallengeProgress {
    pub index: usize,
    pub kind: ChallengeKind,
    /// 0–1.
    pub progress: f32,
    pub completed: bool,
    pub time_left_ms: u32,
}

/// What one measured frame contributes to a step.
#[derive(Debug, Clone, Copy)]
pub struct StepInput {
    pub timestamp_ms: i64,
    /// Yaw in degrees, when there is exactly one face.
    pub yaw: Option<f32>,
    pub eye_openness: Option<f32>,
}

/// Follows one step of a plan across frames.
#[derive(Debug, Clone)]
pub struct StepTracker {
    pub kind: ChallengeKind,
    started_at_ms: Option<i64>,
    seen_neutral: bool,
    hold: u32,
    closed_since_ms: Option<i64>,
    /// Strongest evidence seen: peak yaw towards the asked side, or deepest closure ratio.
    pub peak: f32,
    pub progress: f32,
    pub completed: bool,
}

impl StepTracker {
    pub fn new(kind: ChallengeKind) -> Self {
        StepTracker {
            kind,
            started_at_ms: None,
            seen_neutral: false,
            hold: 0,
            closed_since_ms: None,
            peak: 0.0,
            progress: 0.0,
            completed: false,
        }
    }

    /// Milliseconds left, or 0 once the limit has passed.
    pub fn time_left_ms(&self, now_ms: i64, limit_ms: u32) -> u32 {
        match self.started_at_ms {
            None => limit_ms,
            Some(t) => (limit_ms as i64 - (now_ms - t)).max(0) as u32,
        }
    }

    pub fn timed_out(&self, now_ms: i64, limit_ms: u32) -> bool {
        !self.completed && self.started_at_ms.is_some() && self.time_left_ms(now_ms, limit_ms) == 0
    }

    /// Takes one frame into account. `open_level` is the user's open-eye openness.
    pub fn update(&mut self, input: &StepInput, open_level: Option<f32>) {
        self.started_at_ms.get_or_insert(input.timestamp_ms);
        if self.completed {
            return;
        }
        match self.kind {
            ChallengeKind::TurnLeft | ChallengeKind::TurnRight => {
                let Some(yaw) = input.yaw else {
                    self.hold = 0;
                    return;
                };
                let toward = if self.kind == ChallengeKind::TurnLeft {
                    yaw
                } else {
                    -yaw
                };
                if yaw.abs() <= NEUTRAL_YAW_DEG {
                    self.seen_neutral = true;
                }
                if !self.seen_neutral {
                    return;
                }
                self.peak = self.peak.max(toward);
                self.progress = self.progress.max((toward / TURN_YAW_DEG).clamp(0.0, 1.0));
                self.hold = if toward >= TURN_YAW_DEG {
                    self.hold + 1
                } else {
                    0
                };
                self.completed = self.hold >= TURN_HOLD_FRAMES;
            }
            ChallengeKind::Blink => {
                let (Some(ear), Some(open)) = (input.eye_openness, open_level) else {
                    return;
                };
                let ratio = ear / open.max(1e-3);
                match self.closed_since_ms {
                    None if ratio < BLINK_CLOSED_RATIO => {
                        self.closed_since_ms = Some(input.timestamp_ms);
                        self.progress = self.progress.max(0.5);
                    }
                    Some(since) if ratio > BLINK_REOPEN_RATIO => {
                        self.closed_since_ms = None;
                        if input.timestamp_ms - since <= BLINK_MAX_CLOSED_MS {
                            self.completed = true;
                            self.progress = 1.0;
                        }
                    }
                    _ => {}
                }
                if self.closed_since_ms.is_some() {
                    self.peak = self.peak.max(1.0 - ratio);
                }
            }
        }
    }

    /// Strength of the evidence for a completed step, 0–1: how far beyond its threshold it went.
    pub fn margin(&self) -> f32 {
        match self.kind {
            ChallengeKind::TurnLeft | ChallengeKind::TurnRight => {
                ((self.peak - TURN_YAW_DEG) / 15.0).clamp(0.0, 1.0)
            }
            ChallengeKind::Blink => {
                ((self.peak - (1.0 - BLINK_CLOSED_RATIO)) / 0.4).clamp(0.0, 1.0)
            }
        }
    }
}

/// The user's open-eye level: the median eye openness of their recent frames (eyes are open most
/// of the time, so a blink barely moves it).
#[derive(Debug, Clone, Default)]
pub struct OpennessLevel {
    recent: std::collections::VecDeque<f32>,
}

impl OpennessLevel {
    pub fn push(&mut self, ear: f32) {
        if self.recent.len() == OPENNESS_WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back(ear);
    }

    pub fn level(&self) -> Option<f32> {
        if self.recent.len() < 5 {
            return None;
        }
        let mut v: Vec<f32> = self.recent.iter().copied().collect();
        v.sort_by(f32::total_cmp);
        Some(v[v.len() / 2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn frame(t: i64, yaw: f32, ear: f32) -> StepInput {
        StepInput {
            timestamp_ms: t,
            yaw: Some(yaw),
            eye_openness: Some(ear),
        }
    }

    #[test]
    fn plans_are_random_distinct_and_cover_every_order() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let plan = ChallengePlan::random(&mut rng, &PlanConfig::default());
            assert_eq!(plan.steps.len(), 2);
            assert_ne!(plan.steps[0], plan.steps[1]);
            seen.insert(plan.steps.clone());
        }
        assert_eq!(seen.len(), 6, "all ordered pairs of 3 kinds occur");
    }

    #[test]
    fn turn_needs_neutral_first_then_held_yaw_on_the_asked_side() {
        let mut step = StepTracker::new(ChallengeKind::TurnLeft);
        // Already turned when the step starts: a photo of a turned head does not count.
        for t in 0..5 {
            step.update(&frame(t * 40, 35.0, 0.3), None);
        }
        assert!(!step.completed);
        step.update(&frame(200, 2.0, 0.3), None);
        step.update(&frame(240, -30.0, 0.3), None); // wrong side
        step.update(&frame(280, 30.0, 0.3), None);
        assert!(!step.completed, "one frame is not enough");
        step.update(&frame(320, 31.0, 0.3), None);
        assert!(step.completed);
        assert!(step.margin() > 0.0);
    }

    #[test]
    fn turn_right_is_negative_yaw() {
        let mut step = StepTracker::new(ChallengeKind::TurnRight);
        for (t, yaw) in [(0, 0.0), (40, -28.0), (80, -29.0)] {
            step.update(&frame(t, yaw, 0.3), None);
        }
        assert!(step.completed);
    }

    #[test]
    fn blink_is_close_then_reopen_in_time() {
        let mut step = StepTracker::new(ChallengeKind::Blink);
        let open = Some(0.30);
        step.update(&frame(0, 0.0, 0.30), open);
        step.update(&frame(40, 0.0, 0.12), open);
        assert!(!step.completed);
        assert_eq!(step.progress, 0.5);
        step.update(&frame(120, 0.0, 0.29), open);
        assert!(step.completed);

        let mut slow = StepTracker::new(ChallengeKind::Blink);
        slow.update(&frame(0, 0.0, 0.10), open);
        slow.update(&frame(2000, 0.0, 0.30), open);
        assert!(!slow.completed, "eyes shut for 2 s is not a blink");
    }

    #[test]
    fn step_times_out_from_its_first_frame() {
        let mut step = StepTracker::new(ChallengeKind::Blink);
        assert!(!step.timed_out(5_000, 1000), "not started yet");
        step.update(&frame(1_000, 0.0, 0.3), None);
        assert!(!step.timed_out(1_900, 1000));
        assert!(step.timed_out(2_000, 1000));
    }

    #[test]
    fn open_level_is_a_robust_median() {
        let mut level = OpennessLevel::default();
        for ear in [0.3, 0.31, 0.1, 0.29, 0.3, 0.32] {
            level.push(ear);
        }
        assert_eq!(level.level(), Some(0.3));
    }
}
