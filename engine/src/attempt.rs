//! One liveness attempt: frames in, challenges and feedback out, then a verdict.
//!
//! The attempt walks the user through its [`ChallengePlan`] step by step, checks that the face
//! stays the same person (SFace embeddings against the first good frontal frame), keeps the best
//! reference frame and a few audit frames, and ends with a [`Verdict`].
//!
//! ## Confidence (0–100)
//! Each step scores 0 if it was not done in time, else `0.9 + 0.1 × margin`, where the margin
//! (0–1) says how clearly the step was done beyond its threshold (see [`crate::challenge`]).
//! Confidence is 100 × the mean step score, and 0 if any identity check fell below the
//! session-continuity cosine (0.5, see [`crate::embedding`]). `is_live` needs every step done, in order, in time, by one and the same
//! face, and confidence ≥ the threshold (default 90). Passive anti-spoofing signals will join
//! this rule; until then a still photo fails because it can neither turn nor blink.

use std::sync::Arc;
use std::time::Instant;

use opencv::core::Mat;
use opencv::imgproc;
use opencv::prelude::*;

use crate::analyzer::{
    AnalyzerConfig, FaceObservation, FrameAnalysis, FrameAnalyzer, StageTimings,
};
use crate::challenge::{
    ChallengeKind, ChallengePlan, ChallengeProgress, OpennessLevel, StepInput, StepTracker,
};
use crate::embedding::{SESSION_CONTINUITY_COSINE, cosine};
use crate::error::EngineError;
use crate::frame::{self, FrameInput};
use crate::hint::Hint;
use crate::models::Models;
use crate::pose::HeadPose;
use crate::quality::Quality;

#[derive(Debug, Clone)]
pub struct AttemptConfig {
    pub plan: ChallengePlan,
    /// Confidence (0–100) at or above which the verdict is live.
    pub confidence_threshold: f32,
    /// Audit images to keep besides the reference image (0–4).
    pub audit_images_limit: usize,
    /// Cosine below which two embeddings of the session are different people.
    pub identity_threshold: f32,
    pub analyzer: AnalyzerConfig,
}

impl AttemptConfig {
    pub fn new(plan: ChallengePlan) -> Self {
        AttemptConfig {
            plan,
            confidence_threshold: 90.0,
            audit_images_limit: 0,
            identity_threshold: SESSION_CONTINUITY_COSINE,
            analyzer: AnalyzerConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerdictReason {
    /// A step was not completed within its time limit.
    ChallengeTimeout,
    /// The face changed identity during the session.
    FaceChanged,
    /// The stream ended before every step was done.
    Incomplete,
    /// Every step was done but the evidence was weaker than the threshold asks.
    LowConfidence,
}

impl VerdictReason {
    pub fn code(self) -> &'static str {
        match self {
            VerdictReason::ChallengeTimeout => "CHALLENGE_TIMEOUT",
            VerdictReason::FaceChanged => "FACE_CHANGED",
            VerdictReason::Incomplete => "INCOMPLETE",
            VerdictReason::LowConfidence => "LOW_CONFIDENCE",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub is_live: bool,
    pub confidence: f32,
    pub reasons: Vec<VerdictReason>,
    pub message: String,
}

/// What the engine says about one analysed frame.
#[derive(Debug, Clone)]
pub struct FrameFeedback {
    pub timestamp_ms: i64,
    pub faces: usize,
    pub face: Option<(crate::geometry::Rect, f32)>,
    pub pose: Option<HeadPose>,
    pub quality: Option<Quality>,
    pub eye_openness: Option<f32>,
    pub hint: Hint,
    pub challenge: Option<ChallengeProgress>,
    pub timings: StageTimings,
}

#[derive(Debug, Clone)]
pub enum AttemptEvent {
    /// A new step starts.
    Challenge {
        index: usize,
        kind: ChallengeKind,
        time_limit_ms: u32,
    },
    Feedback(FrameFeedback),
    Verdict(Verdict),
}

/// Candidate images, kept as small BGR crops until the attempt ends.
struct KeptImage {
    score: f32,
    image: Mat,
}

pub struct LivenessAttempt {
    analyzer: FrameAnalyzer,
    config: AttemptConfig,
    current: usize,
    step: Option<StepTracker>,
    finished_steps: Vec<StepTracker>,
    openness: OpennessLevel,
    anchor: Option<Vec<f32>>,
    /// Lowest cosine seen between the anchor and a later embedding.
    identity_min: f32,
    /// The face was (re)acquired by the detector: check its identity on the next good frame.
    identity_check_due: bool,
    reference: Option<KeptImage>,
    audit: Vec<Mat>,
    last_timestamp_ms: i64,
    verdict: Option<Verdict>,
}

impl LivenessAttempt {
    pub fn new(models: Arc<Models>, config: AttemptConfig) -> Self {
        LivenessAttempt {
            analyzer: FrameAnalyzer::new(models, config.analyzer.clone()),
            current: 0,
            step: None,
            finished_steps: Vec::new(),
            openness: OpennessLevel::default(),
            anchor: None,
            identity_min: 1.0,
            identity_check_due: false,
            reference: None,
            audit: Vec::new(),
            last_timestamp_ms: i64::MIN,
            verdict: None,
            config,
        }
    }

    pub fn plan(&self) -> &ChallengePlan {
        &self.config.plan
    }

    pub fn verdict(&self) -> Option<&Verdict> {
        self.verdict.as_ref()
    }

    /// Announces the first step. Call once, before the first frame.
    pub fn begin(&mut self) -> Vec<AttemptEvent> {
        self.start_step(0).into_iter().collect()
    }

    fn start_step(&mut self, index: usize) -> Option<AttemptEvent> {
        let kind = *self.config.plan.steps.get(index)?;
        self.current = index;
        self.step = Some(StepTracker::new(kind));
        Some(AttemptEvent::Challenge {
            index,
            kind,
            time_limit_ms: self.config.plan.step_time_limit_ms,
        })
    }

    /// Decodes and analyses one frame and advances the plan. Returns the events to send, in
    /// order; the last may be the verdict. Frames after the verdict are ignored.
    pub fn process(
        &mut self,
        input: &FrameInput,
        timestamp_ms: i64,
    ) -> Result<Vec<AttemptEvent>, EngineError> {
        if self.verdict.is_some() {
            return Ok(Vec::new());
        }
        let start = Instant::now();
        let bgr = frame::decode(input)?;
        let decode_us = start.elapsed().as_micros() as u64;
        let blink_step = self
            .step
            .as_ref()
            .is_some_and(|s| s.kind == ChallengeKind::Blink);
        let mut analysis = self.analyzer.analyze(&bgr, blink_step)?;
        analysis.timings.decode_us = decode_us;
        // Clients' clocks may repeat a timestamp; time never runs backwards for the plan.
        let now = timestamp_ms.max(self.last_timestamp_ms);
        self.last_timestamp_ms = now;
        self.observe(&bgr, &analysis)?;

        let single = analysis.faces == 1;
        let face = analysis.face.as_ref();
        let step_input = StepInput {
            timestamp_ms: now,
            yaw: face.filter(|_| single).map(|f| f.pose.yaw),
            eye_openness: face.filter(|_| single).and_then(|f| f.eye_openness),
        };
        let open_level = self.openness.level();
        if let Some(ear) = step_input.eye_openness {
            self.openness.push(ear);
        }

        let mut events = Vec::new();
        let limit = self.config.plan.step_time_limit_ms;
        let mut progress = None;
        if let Some(step) = self.step.as_mut() {
            step.update(&step_input, open_level);
            progress = Some(ChallengeProgress {
                index: self.current,
                kind: step.kind,
                progress: step.progress,
                completed: step.completed,
                time_left_ms: step.time_left_ms(now, limit),
            });
        }
        events.push(AttemptEvent::Feedback(FrameFeedback {
            timestamp_ms,
            faces: analysis.faces,
            face: face.map(|f| (f.bbox, f.score)),
            pose: face.map(|f| f.pose),
            quality: face.map(|f| f.quality),
            eye_openness: face.and_then(|f| f.eye_openness),
            hint: analysis.hint,
            challenge: progress,
            timings: analysis.timings,
        }));

        let completed = self.step.as_ref().is_some_and(|s| s.completed);
        let timed_out = self.step.as_ref().is_some_and(|s| s.timed_out(now, limit));
        if completed {
            // The person who did the step must be the person the session started with.
            if let Some(face) = face {
                self.check_identity(&bgr, face)?;
            }
            self.keep_audit(&bgr)?;
            self.finished_steps.extend(self.step.take());
            match self.start_step(self.current + 1) {
                Some(next) => events.push(next),
                None => events.push(AttemptEvent::Verdict(self.conclude(None))),
            }
        } else if timed_out {
            self.finished_steps.extend(self.step.take());
            events.push(AttemptEvent::Verdict(
                self.conclude(Some(VerdictReason::ChallengeTimeout)),
            ));
        }
        Ok(events)
    }

    /// Ends the attempt early (the stream closed or hit a limit) and returns its verdict.
    pub fn abandon(&mut self) -> Verdict {
        if let Some(v) = &self.verdict {
            return v.clone();
        }
        self.finished_steps.extend(self.step.take());
        self.conclude(Some(VerdictReason::Incomplete))
    }

    /// Tracks identity and picks reference and audit frames from a measured frame.
    fn observe(&mut self, bgr: &Mat, analysis: &FrameAnalysis) -> Result<(), EngineError> {
        let Some(face) = analysis.face.as_ref().filter(|_| analysis.faces == 1) else {
            return Ok(());
        };
        if analysis.detected {
            self.identity_check_due = true;
        }
        let frontal = (1.0 - (face.pose.yaw.abs() + face.pose.pitch.abs()) / 45.0).max(0.0);
        let good = analysis.hint == Hint::Ok && frontal > 0.6;
        if good && (self.anchor.is_none() || self.identity_check_due) {
            self.check_identity(bgr, face)?;
            self.identity_check_due = false;
            if self.audit.is_empty() {
                self.keep_audit(bgr)?;
            }
        }
        if analysis.hint == Hint::Ok {
            let score = frontal * (face.quality.sharpness / 100.0).min(1.0);
            let better = self.reference.as_ref().is_none_or(|r| score > r.score);
            if let Some(rect) = face
                .bbox
                .to_pixels(0.25, analysis.width, analysis.height)
                .filter(|_| better)
            {
                let image = Mat::roi(bgr, rect)?.try_clone()?;
                self.reference = Some(KeptImage { score, image });
            }
        }
        Ok(())
    }

    fn check_identity(&mut self, bgr: &Mat, face: &FaceObservation) -> Result<(), EngineError> {
        let embedding = self
            .analyzer
            .models()
            .embedder
            .embed(bgr, &face.landmarks.five_points())?;
        match &self.anchor {
            None => self.anchor = Some(embedding),
            Some(anchor) => self.identity_min = self.identity_min.min(cosine(anchor, &embedding)),
        }
        Ok(())
    }

    fn keep_audit(&mut self, bgr: &Mat) -> Result<(), EngineError> {
        if self.audit.len() >= self.config.audit_images_limit {
            return Ok(());
        }
        // Audit frames are whole frames, at most 480 px wide: context, not biometrics.
        let scale = (480.0 / bgr.cols() as f64).min(1.0);
        let mut small = Mat::default();
        imgproc::resize(
            bgr,
            &mut small,
            opencv::core::Size::new(0, 0),
            scale,
            scale,
            imgproc::INTER_AREA,
        )?;
        self.audit.push(small);
        Ok(())
    }

    fn conclude(&mut self, failure: Option<VerdictReason>) -> Verdict {
        let total = self.config.plan.steps.len().max(1) as f32;
        let done: Vec<&StepTracker> = self.finished_steps.iter().filter(|s| s.completed).collect();
        let step_scores = done
            .iter()
            .fold(0.0f32, |sum, s| sum + 0.9 + 0.1 * s.margin());
        let same_face = self.identity_min >= self.config.identity_threshold;
        let confidence = if same_face {
            100.0 * step_scores / total
        } else {
            0.0
        };
        let all_done = done.len() == self.config.plan.steps.len();

        let mut reasons: Vec<VerdictReason> = failure.into_iter().collect();
        if !same_face {
            reasons.push(VerdictReason::FaceChanged);
        }
        if reasons.is_empty() && !all_done {
            reasons.push(VerdictReason::Incomplete);
        }
        if reasons.is_empty() && confidence < self.config.confidence_threshold {
            reasons.push(VerdictReason::LowConfidence);
        }
        let is_live = reasons.is_empty();
        let message = if is_live {
            format!("Liveness verified with {confidence:.2}% confidence")
        } else {
            let codes: Vec<&str> = reasons.iter().map(|r| r.code()).collect();
            format!(
                "Liveness not verified ({}): {} of {} steps done, confidence {confidence:.2}%",
                codes.join(", "),
                done.len(),
                self.config.plan.steps.len()
            )
        };
        let verdict = Verdict {
            is_live,
            confidence,
            reasons,
            message,
        };
        self.verdict = Some(verdict.clone());
        verdict
    }

    /// JPEG of the best frontal, sharp face seen (face crop with a 25% margin).
    pub fn reference_image(&self) -> Result<Option<Vec<u8>>, EngineError> {
        self.reference
            .as_ref()
            .map(|r| frame::encode_jpeg(&r.image, 90))
            .transpose()
    }

    /// JPEGs of frames from different moments (the start and each completed step).
    pub fn audit_images(&self) -> Result<Vec<Vec<u8>>, EngineError> {
        self.audit
            .iter()
            .map(|m| frame::encode_jpeg(m, 85))
            .collect()
    }
}
