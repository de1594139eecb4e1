//! One liveness attempt: frames in, challenges and feedback out, then a verdict.
//!
//! The attempt walks the user through its [`ChallengePlan`] step by step, checks that the face
//! stays the same person (SFace embeddings against the first good frontal frame), keeps the best
//! reference frame and a few audit frames, and ends with a [`Verdict`].
//!
//! Along the way it feeds the evidence meters ([`crate::evidence`]): parallax on followed
//! frames, frozen frames and timestamps on every frame. When the plan ends it runs the screen
//! cues on the reference crop and on a crop from the first completed step, the anti-spoofing
//! model on the reference crop, and fuses
//! everything into the confidence by the rule documented in [`crate::evidence`].

use std::sync::Arc;
use std::time::Instant;

use opencv::core::Mat;
use opencv::imgproc;
use opencv::prelude::*;

use crate::analyzer::{
    AnalyzerConfig, FaceObservation, FrameAnalysis, FrameAnalyzer, StageTimings,
};
use crate::challenge::{
    ChallengeKind, ChallengePlan, ChallengeProgress, EyeSchedule, MORE_HINT_PROGRESS,
    OpennessLevel, REACTION_FRAMES, StepInput, StepTracker,
};
use crate::embedding::{SESSION_CONTINUITY_COSINE, cosine};
use crate::error::EngineError;
use crate::evidence::{
    self, EvidenceReport, InjectionMeter, OutlineMeter, ParallaxMeter, ScreenCues, texture,
};
use crate::eyes::{Eye, mean_openness};
use crate::frame::{self, FrameInput};
use crate::hint::Hint;
use crate::landmarks::FaceLandmarks;
use crate::light::{self, FlashResponse, LightMeter, LightSequence, LightState, ShownFlash};
use crate::models::Models;
use crate::pose::{self, HeadPose};
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
    /// Frame rate the client declared, for the timestamp checks.
    pub declared_fps: Option<f32>,
    /// Weigh the passive anti-spoofing model's score of the reference crop (off unless asked
    /// for, see [`crate::evidence::texture`]). The attempt does not run the model itself (0.2 s
    /// on onnxruntime, 0.4 s on tract, too long for a frame's turn): it offers the crop
    /// ([`LivenessAttempt::take_passive_crop`]) and takes the score when the caller has it
    /// ([`LivenessAttempt::passive_scored`]), or judges again once it has it
    /// ([`LivenessAttempt::rejudge`]).
    pub antispoof: bool,
    pub analyzer: AnalyzerConfig,
}

impl AttemptConfig {
    pub fn new(plan: ChallengePlan) -> Self {
        AttemptConfig {
            plan,
            confidence_threshold: 90.0,
            audit_images_limit: 0,
            identity_threshold: SESSION_CONTINUITY_COSINE,
            declared_fps: None,
            antispoof: false,
            analyzer: AnalyzerConfig::default(),
        }
    }
}

pub use crate::evidence::VerdictReason;

#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub is_live: bool,
    pub confidence: f32,
    pub reasons: Vec<VerdictReason>,
    pub message: String,
    /// The measurements the confidence was fused from.
    pub evidence: EvidenceReport,
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
        /// The colours to show, for a light step.
        light: Option<LightSequence>,
        /// This step repeats the one before it, whose evidence was unclear: a light step shown
        /// again, for which the client should ask for more screen brightness.
        again: bool,
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
    /// Follows the current step when it is a light step.
    light: Option<LightMeter>,
    /// Each light step's measured flashes and its own score, once it was shown as asked.
    light_shown: Vec<(Vec<FlashResponse>, Option<f32>)>,
    finished_steps: Vec<StepTracker>,
    openness: OpennessLevel,
    eye_schedule: EyeSchedule,
    anchor: Option<Vec<f32>>,
    /// Lowest cosine seen between the anchor and a later embedding.
    identity_min: f32,
    /// The face was (re)acquired by the detector: check its identity on the next good frame.
    identity_check_due: bool,
    reference: Option<KeptImage>,
    /// Face crop from the first completed step, for the texture cues.
    step_crop: Option<Mat>,
    audit: Vec<Mat>,
    parallax: ParallaxMeter,
    outline: OutlineMeter,
    /// The face the head's rotations are measured from in the current step
    /// ([`pose::relative`]): its first followed frame with a usable face after the reaction
    /// frames, where the user starts the step from.
    step_pose: Option<FaceLandmarks>,
    injection: InjectionMeter,
    frames_with_face: u32,
    frames_multiple_faces: u32,
    usable_frames: u32,
    last_timestamp_ms: i64,
    verdict: Option<Verdict>,
    /// The passive model's crop was handed out ([`Self::take_passive_crop`]).
    passive_asked: bool,
    /// Its score, once the caller has it.
    passive_depth: Option<f32>,
    /// Why the verdict failed, as [`Self::conclude`] was told (for [`Self::rejudge`]).
    failure: Option<VerdictReason>,
}

impl LivenessAttempt {
    pub fn new(models: Arc<Models>, config: AttemptConfig) -> Self {
        debug_assert_eq!(
            config.plan.steps.contains(&ChallengeKind::Light),
            config.plan.light.is_some(),
            "a plan has a light sequence exactly when it has a light step"
        );
        LivenessAttempt {
            analyzer: FrameAnalyzer::new(models, config.analyzer.clone()),
            current: 0,
            step: None,
            light: None,
            light_shown: Vec::new(),
            finished_steps: Vec::new(),
            openness: OpennessLevel::default(),
            eye_schedule: EyeSchedule::default(),
            anchor: None,
            identity_min: 1.0,
            identity_check_due: false,
            reference: None,
            step_crop: None,
            audit: Vec::new(),
            parallax: ParallaxMeter::default(),
            outline: OutlineMeter::default(),
            step_pose: None,
            injection: InjectionMeter::new(config.declared_fps),
            frames_with_face: 0,
            frames_multiple_faces: 0,
            usable_frames: 0,
            last_timestamp_ms: i64::MIN,
            verdict: None,
            passive_asked: false,
            passive_depth: None,
            failure: None,
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
        let plan = &self.config.plan;
        let kind = *plan.steps.get(index)?;
        let again = kind == ChallengeKind::Light && !self.light_shown.is_empty();
        let light = match kind {
            ChallengeKind::Light if again => plan.light_again.clone(),
            ChallengeKind::Light => plan.light.clone(),
            _ => None,
        };
        self.current = index;
        self.step = Some(StepTracker::new(kind));
        self.step_pose = None;
        self.light = light.clone().map(LightMeter::new);
        self.parallax.begin_step(kind.rotation());
        Some(AttemptEvent::Challenge {
            index,
            kind,
            time_limit_ms: plan.time_limit_ms(kind),
            light,
            again,
        })
    }

    /// Takes the client's report of what it displayed in light step `challenge_index`. The
    /// step ends with the next frame. Refused when that step is not the current light step (a
    /// protocol error).
    pub fn light_shown(
        &mut self,
        challenge_index: usize,
        shown: &[ShownFlash],
    ) -> Result<(), NotALightStep> {
        match self.light.as_mut() {
            Some(meter) if self.verdict.is_none() && self.current == challenge_index => {
                meter.report(shown);
                Ok(())
            }
            _ => Err(NotALightStep),
        }
    }

    /// Decodes and analyses one frame and advances the plan. Returns the events to send, in
    /// order; the last may be the verdict. Frames after the verdict are ignored.
    /// The face crop the passive anti-spoofing model should score, handed out once when the
    /// attempt weighs that model: the reference face (the best frontal, sharp face so far) as
    /// soon as the first step is done, so that the score can be ready before the last step is
    /// (when it is not, [`Self::rejudge`] weighs it after the verdict).
    pub fn take_passive_crop(&mut self) -> Option<PassiveCrop> {
        if !self.config.antispoof || self.passive_asked || self.finished_steps.is_empty() {
            return None;
        }
        let crop = self.reference.as_ref()?.image.clone();
        self.passive_asked = true;
        Some(PassiveCrop(crop))
    }

    /// The passive model's depth score of the crop [`Self::take_passive_crop`] gave.
    pub fn passive_scored(&mut self, depth: f32) {
        self.passive_depth = Some(depth);
    }

    /// One frame: measured, the current step moved on, and the events it gives (always its
    /// feedback; a new challenge or the verdict when the step ends).
    pub fn process(
        &mut self,
        input: &FrameInput,
        timestamp_ms: i64,
    ) -> Result<Vec<AttemptEvent>, EngineError> {
        if self.verdict.is_some() {
            return Ok(Vec::new());
        }
        let (bgr, analysis) = self.analyse(input, timestamp_ms)?;
        // Clients' clocks may repeat a timestamp; time never runs backwards for the plan.
        let now = timestamp_ms.max(self.last_timestamp_ms);
        self.last_timestamp_ms = now;
        let mut timings = analysis.timings;
        let step_input = self.measure(&bgr, &analysis, now, &mut timings)?;
        let (progress, light_refused) = self.advance_step(&step_input, now);
        let face = analysis.face.as_ref();
        let mut events = vec![AttemptEvent::Feedback(FrameFeedback {
            timestamp_ms,
            faces: analysis.faces,
            face: face.map(|f| (f.bbox, f.score)),
            pose: face.map(|f| f.pose),
            quality: face.map(|f| f.quality),
            eye_openness: face.and_then(|f| mean_openness(&f.eye_openness)),
            hint: guidance(analysis.hint, progress.as_ref()),
            challenge: progress,
            timings,
        })];
        let done = progress.as_ref().is_some_and(|p| p.completed);
        if let Some(end) = self.step_end(now, done, light_refused) {
            events.extend(self.end_step(end, &bgr, &analysis, &mut timings)?);
        }
        // The feedback went first, but its timings include what this frame cost after it.
        if let Some(AttemptEvent::Feedback(f)) = events.first_mut() {
            f.timings = timings;
        }
        Ok(events)
    }

    /// Decodes the frame and analyses it, measuring the eyes a blink step needs.
    fn analyse(
        &mut self,
        input: &FrameInput,
        timestamp_ms: i64,
    ) -> Result<(Mat, FrameAnalysis), EngineError> {
        let start = Instant::now();
        let bgr = frame::decode(input)?;
        let decode_us = start.elapsed().as_micros() as u64;
        self.injection.observe(timestamp_ms, &bgr)?;
        let eyes: &[Eye] = if self.in_blink_step() {
            self.eye_schedule.next(&self.openness)
        } else {
            &[]
        };
        let mut analysis = self.analyzer.analyze(&bgr, eyes)?;
        analysis.timings.decode_us = decode_us;
        Ok((bgr, analysis))
    }

    fn in_blink_step(&self) -> bool {
        self.step
            .as_ref()
            .is_some_and(|s| s.kind == ChallengeKind::Blink)
    }

    /// What the frame shows of the step's motion (rotation since the step's pose, eye
    /// openness, face size), after gathering its evidence ([`Self::observe`]) and the light
    /// step's colour samples.
    fn measure(
        &mut self,
        bgr: &Mat,
        analysis: &FrameAnalysis,
        now: i64,
        timings: &mut StageTimings,
    ) -> Result<StepInput, EngineError> {
        let measured = analysis.face.as_ref().filter(|_| analysis.faces == 1);
        // Frames that left before the user could react show the pose being left (in our stitched
        // live user, another moment of the video): the step's pose is taken after them.
        let reacting = self
            .step
            .as_ref()
            .is_some_and(|s| s.frames_seen() < REACTION_FRAMES);
        if self.step_pose.is_none()
            && !reacting
            && analysis.hint == Hint::Ok
            && !analysis.detected
            && let Some(face) = measured
        {
            self.step_pose = Some(face.landmarks.clone());
        }
        let rotation = measured
            .zip(self.step_pose.as_ref())
            .map(|(f, from)| pose::relative(from, &f.landmarks));
        self.observe(bgr, analysis, rotation, timings)?;

        let step_input = StepInput {
            timestamp_ms: now,
            yaw: rotation.map(|r| r.yaw),
            pitch: rotation.map(|r| r.pitch),
            eye_openness_ratio: measured.and_then(|f| self.openness.ratio(&f.eye_openness)),
            // Turning the head shortens the eye span by cos(yaw); undo that, or turning away
            // and back would read as moving closer (1/cos 20° = +6%).
            eye_span: measured
                .filter(|_| !analysis.detected)
                .map(|f| f.landmarks.eye_span() / f.pose.yaw.to_radians().cos().max(0.5)),
        };
        if self.in_blink_step() {
            self.eye_schedule.observed(step_input.eye_openness_ratio);
        }
        if let Some(face) = measured {
            self.openness.push_all(&face.eye_openness);
        }
        if let (Some(meter), Some(face)) = (self.light.as_mut(), measured) {
            let start = Instant::now();
            meter.observe(now, bgr, &face.bbox)?;
            timings.light_us += start.elapsed().as_micros() as u64;
        }
        Ok(step_input)
    }

    /// Moves the current step on by the frame's measures; its progress, and whether the client
    /// said it did not show the light step's colours.
    fn advance_step(
        &mut self,
        step_input: &StepInput,
        now: i64,
    ) -> (Option<ChallengeProgress>, bool) {
        let Some(step) = self.step.as_mut() else {
            return (None, false);
        };
        step.update(step_input);
        let mut light_refused = false;
        if let Some(meter) = &self.light {
            match meter.state() {
                LightState::Waiting => {}
                LightState::Shown { reflection, .. } => step.complete_light(*reflection),
                LightState::NotShown(_) => light_refused = true,
            }
        }
        let held = self.held_for_depth(now);
        let Some(step) = self.step.as_ref() else {
            return (None, light_refused);
        };
        let progress = ChallengeProgress {
            index: self.current,
            kind: step.kind,
            progress: step.progress,
            // Held open, the user sees "a bit more" ([`guidance`]), not a finished step.
            completed: step.completed && !held,
            time_left_ms: step.time_left_ms(now, self.config.plan.time_limit_ms(step.kind)),
        };
        (Some(progress), light_refused)
    }

    /// Whether the current step, done by its angle, is kept open because its 3-D evidence is
    /// unsettled ([`ParallaxMeter::unsettled`]): while its time lasts, the user is asked to go on
    /// turning. When the time is up the step ends done, with the evidence it has.
    fn held_for_depth(&self, now: i64) -> bool {
        self.step.as_ref().is_some_and(|step| {
            step.completed
                && step.kind.rotates_head()
                && step.time_left_ms(now, self.config.plan.time_limit_ms(step.kind)) > 0
                && self.parallax.unsettled()
        })
    }

    /// Whether the current step ends with this frame, and how: `done` is the frame's progress
    /// saying the step is completed (and not held for its 3-D evidence). A light step's
    /// measured flashes are kept when it ends (later steps have no meter).
    fn step_end(&mut self, now: i64, done: bool, light_refused: bool) -> Option<StepEnd> {
        let step = self.step.as_ref()?;
        let limit = self.config.plan.time_limit_ms(step.kind);
        let end = if light_refused {
            StepEnd::LightRefused
        } else if done {
            StepEnd::Completed
        } else if step.timed_out(now, limit) {
            StepEnd::TimedOut
        } else {
            return None;
        };
        if let Some(LightState::Shown {
            responses,
            reflection,
        }) = self.light.take().map(|m| m.state().clone())
        {
            self.light_shown.push((responses, reflection));
        }
        Some(end)
    }

    /// Closes the current step: the next step's challenge, or the verdict.
    fn end_step(
        &mut self,
        end: StepEnd,
        bgr: &Mat,
        analysis: &FrameAnalysis,
        timings: &mut StageTimings,
    ) -> Result<Option<AttemptEvent>, EngineError> {
        let reason = match end {
            StepEnd::LightRefused => Some(VerdictReason::LightNotShown),
            StepEnd::TimedOut => Some(VerdictReason::ChallengeTimeout),
            StepEnd::Completed => {
                // The person who did the step must be the person the session started with.
                if let Some(face) = analysis.face.as_ref() {
                    self.check_identity(bgr, face, timings)?;
                    let lit = self
                        .step
                        .as_ref()
                        .is_some_and(|s| s.kind == ChallengeKind::Light);
                    // The texture cues want the face in the room's own light.
                    if self.step_crop.is_none() && !lit {
                        self.step_crop = face_crop(bgr, analysis, face)?;
                    }
                }
                self.keep_audit(bgr)?;
                self.finished_steps.extend(self.step.take());
                if self.unclear_light() {
                    self.config
                        .plan
                        .steps
                        .insert(self.current + 1, ChallengeKind::Light);
                }
                if let Some(next) = self.start_step(self.current + 1) {
                    return Ok(Some(next));
                }
                None
            }
        };
        self.finished_steps.extend(self.step.take());
        Ok(Some(AttemptEvent::Verdict(
            self.conclude_timed(reason, timings),
        )))
    }

    /// Whether the light step just shown was unclear ([`light::worth_again`]) and is to be
    /// shown once more with the plan's other colours: only after the first, and only when the
    /// plan has them.
    fn unclear_light(&self) -> bool {
        let [(_, first)] = self.light_shown.as_slice() else {
            return false;
        };
        let just_shown = self
            .finished_steps
            .last()
            .is_some_and(|s| s.kind == ChallengeKind::Light);
        just_shown && self.config.plan.light_again.is_some() && light::worth_again(*first)
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
    /// `rotation` is the face's rotation since the step's pose, once that is known.
    fn observe(
        &mut self,
        bgr: &Mat,
        analysis: &FrameAnalysis,
        rotation: Option<HeadPose>,
        timings: &mut StageTimings,
    ) -> Result<(), EngineError> {
        if analysis.face.is_some() {
            self.frames_with_face += 1;
            if analysis.faces > 1 {
                self.frames_multiple_faces += 1;
            }
            if analysis.hint == Hint::Ok {
                self.usable_frames += 1;
            }
        }
        let Some(face) = analysis.face.as_ref().filter(|_| analysis.faces == 1) else {
            return Ok(());
        };
        if analysis.detected {
            self.identity_check_due = true;
        }
        let frontal = (1.0 - (face.pose.yaw.abs() + face.pose.pitch.abs()) / 45.0).max(0.0);
        let good = analysis.hint == Hint::Ok && frontal > 0.6;
        let start = Instant::now();
        self.outline.observe(bgr, &face.bbox)?;
        timings.outline_us += start.elapsed().as_micros() as u64;
        if !analysis.detected {
            // Before the step's pose is known (its reaction frames, which the parallax meter
            // skips too) the face is where that pose will be taken: no rotation yet.
            let rotation = rotation.unwrap_or_default();
            let start = Instant::now();
            self.parallax
                .observe(bgr, &face.landmarks, &[face.pose, rotation])?;
            timings.parallax_us += start.elapsed().as_micros() as u64;
        }
        if good && (self.anchor.is_none() || self.identity_check_due) {
            self.check_identity(bgr, face, timings)?;
            self.identity_check_due = false;
            if self.audit.is_empty() {
                self.keep_audit(bgr)?;
            }
        }
        // Frames lit by the light step's colours would give a tinted reference photo.
        if analysis.hint == Hint::Ok && self.light.is_none() {
            let score = frontal * (face.quality.sharpness / 100.0).min(1.0);
            let better = self.reference.as_ref().is_none_or(|r| score > r.score);
            if better && let Some(image) = face_crop(bgr, analysis, face)? {
                self.reference = Some(KeptImage { score, image });
            }
        }
        Ok(())
    }

    fn check_identity(
        &mut self,
        bgr: &Mat,
        face: &FaceObservation,
        timings: &mut StageTimings,
    ) -> Result<(), EngineError> {
        let start = Instant::now();
        let embedding = self
            .analyzer
            .models()
            .embedder
            .embed(bgr, &face.landmarks.five_points())?;
        timings.identity_us += start.elapsed().as_micros() as u64;
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

    /// [`Self::conclude`], its time added to the frame's `timings`.
    fn conclude_timed(
        &mut self,
        failure: Option<VerdictReason>,
        timings: &mut StageTimings,
    ) -> Verdict {
        let start = Instant::now();
        let verdict = self.conclude(failure);
        timings.verdict_us += start.elapsed().as_micros() as u64;
        verdict
    }

    /// The verdict given again with what arrived after it (the passive model's score, when the
    /// caller had it only then); the same verdict when nothing did.
    pub fn rejudge(&mut self) -> Verdict {
        self.conclude(self.failure)
    }

    fn conclude(&mut self, failure: Option<VerdictReason>) -> Verdict {
        self.failure = failure;
        let evidence = self.evidence();
        let fusion = evidence::fuse(&evidence);
        let confidence = fusion.confidence;
        let is_live = fusion.is_live(self.config.confidence_threshold);
        let mut reasons: Vec<VerdictReason> = failure.into_iter().collect();
        for reason in fusion.reasons {
            if !reasons.contains(&reason) {
                reasons.push(reason);
            }
        }
        if !fusion.all_steps_done && reasons.is_empty() {
            reasons.push(VerdictReason::Incomplete);
        }
        if !is_live && reasons.is_empty() {
            reasons.push(VerdictReason::LowConfidence);
        }
        let done = evidence.steps.iter().filter(|s| s.1).count();
        let codes: Vec<&str> = reasons.iter().map(|r| r.code()).collect();
        let message = if is_live {
            format!("Liveness verified with {confidence:.2}% confidence")
        } else {
            format!(
                "Liveness not verified ({}): {} of {} steps done, confidence {confidence:.2}%",
                codes.join(", "),
                done,
                evidence.steps.len()
            )
        };
        let verdict = Verdict {
            is_live,
            confidence,
            reasons,
            message,
            evidence,
        };
        self.verdict = Some(verdict.clone());
        verdict
    }

    /// Gathers every signal, running the texture cues on the kept crops.
    fn evidence(&self) -> EvidenceReport {
        let mut steps: Vec<(ChallengeKind, bool, f32)> = self
            .finished_steps
            .iter()
            .map(|s| (s.kind, s.completed, s.margin()))
            .collect();
        for kind in self.config.plan.steps.iter().skip(steps.len()) {
            steps.push((*kind, false, 0.0));
        }
        let shown: Vec<&[FlashResponse]> =
            self.light_shown.iter().map(|(r, _)| r.as_slice()).collect();
        let light_reflection = light::reflection(&shown);
        let blink_depth = self
            .finished_steps
            .iter()
            .find(|s| s.kind == ChallengeKind::Blink)
            .map(|s| s.peak);
        let crops: Vec<&Mat> = self
            .reference
            .as_ref()
            .map(|r| &r.image)
            .into_iter()
            .chain(self.step_crop.as_ref())
            .collect();
        // Texture cues are evidence, not a gate: if they cannot run on a crop, that crop is
        // left out rather than failing the user's attempt.
        let screen = crops
            .iter()
            .filter_map(|c| texture::screen_cues(c).ok())
            .reduce(|a, b| ScreenCues {
                moire: a.moire.max(b.moire),
                glare: a.glare.max(b.glare),
            });
        let antispoof_depth = self.passive_depth.filter(|_| self.config.antispoof);
        EvidenceReport {
            steps,
            parallax: self.parallax.parallax(),
            max_rotation_deg: self.parallax.max_rotation(),
            blink_depth,
            light_reflection,
            identity_min_cosine: self.identity_min,
            identity_threshold: self.config.identity_threshold,
            frames_with_face: self.frames_with_face,
            frames_multiple_faces: self.frames_multiple_faces,
            usable_frames: self.usable_frames,
            injection: self.injection.report(),
            outline: self.outline.report(),
            screen,
            antispoof_depth,
        }
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

/// A face crop for the passive anti-spoofing model, to be scored apart from the frames
/// ([`LivenessAttempt::take_passive_crop`]).
pub struct PassiveCrop(Mat);

impl PassiveCrop {
    /// The model's depth score of the crop ([`crate::evidence::texture`]).
    pub fn score(&self, models: &Models) -> Result<f32, EngineError> {
        models.antispoof.depth_score(&self.0)
    }
}

/// How a step ends.
enum StepEnd {
    Completed,
    TimedOut,
    /// The client said it could not show the light step's colours.
    LightRefused,
}

/// The hint shown for a frame: the frame's own (light, distance, position…) unless it is fine
/// and a movement step is under way but short of done, when the user is told to go on ("a bit
/// more") instead of being left to time out.
fn guidance(quality: Hint, progress: Option<&ChallengeProgress>) -> Hint {
    match progress {
        Some(p)
            if quality == Hint::Ok
                && !p.completed
                && p.progress >= MORE_HINT_PROGRESS
                && p.kind.is_movement() =>
        {
            Hint::More
        }
        _ => quality,
    }
}

/// The face of `face` with a 25% margin, cropped out of the frame.
fn face_crop(
    bgr: &Mat,
    analysis: &FrameAnalysis,
    face: &FaceObservation,
) -> Result<Option<Mat>, EngineError> {
    match face.bbox.to_pixels(0.25, analysis.width, analysis.height) {
        Some(rect) => Ok(Some(Mat::roi(bgr, rect)?.try_clone()?)),
        None => Ok(None),
    }
}

/// A light-step report arrived while no light step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a light report was sent while no light step runs")]
pub struct NotALightStep;

#[cfg(test)]
mod tests {
    use super::*;

    fn at(kind: ChallengeKind, progress: f32, completed: bool) -> ChallengeProgress {
        ChallengeProgress {
            index: 0,
            kind,
            progress,
            completed,
            time_left_ms: 3_000,
        }
    }

    #[test]
    fn a_movement_short_of_done_asks_for_a_bit_more() {
        let turn = at(ChallengeKind::TurnLeft, 0.6, false);
        assert_eq!(guidance(Hint::Ok, Some(&turn)), Hint::More);
        let closer = at(ChallengeKind::MoveCloser, 0.4, false);
        assert_eq!(guidance(Hint::Ok, Some(&closer)), Hint::More);
        // Not before the user has moved, not once done, not for a blink, and never over a
        // problem with the picture itself.
        for (p, quality) in [
            (at(ChallengeKind::TurnLeft, 0.1, false), Hint::Ok),
            (at(ChallengeKind::TurnLeft, 1.0, true), Hint::Ok),
            (at(ChallengeKind::Blink, 0.5, false), Hint::Ok),
            (turn, Hint::TooDark),
        ] {
            assert_eq!(guidance(quality, Some(&p)), quality, "{p:?}");
        }
        assert_eq!(guidance(Hint::Ok, None), Hint::Ok);
    }
}
