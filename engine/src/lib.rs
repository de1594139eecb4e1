//! Livegate's liveness engine: frames in, feedback and verdicts out.
//!
//! Pure computation: no async runtime, no network, no global state. The models are loaded once
//! into [`Models`] and shared (read-only) by every session; everything a session accumulates
//! lives in its own [`LivenessAttempt`]. The server feeds decoded frames in and turns the events
//! that come out into protocol messages.
//!
//! Per frame: decode ([`frame`]) → detect faces (YuNet, [`detector`], only when the track is lost
//! or every `redetect_every` frames) → 468 landmarks on the main face (FaceMesh, [`landmarks`]) →
//! head pose ([`pose`]) and eye openness (MediaPipe Iris, [`eyes`]) → quality ([`quality`]) → a hint ([`hint`]) → challenge progress
//! ([`challenge`]) → feedback; at the end the evidence is fused ([`evidence`]) into a verdict
//! ([`attempt`]).

pub mod analyzer;
pub mod attempt;
pub mod backend;
pub mod challenge;
pub mod detector;
pub mod embedding;
pub mod error;
pub mod evidence;
pub mod eyes;
pub mod frame;
pub mod geometry;
pub mod hint;
pub mod landmarks;
pub mod light;
pub mod loader;
pub mod models;
pub mod pose;
pub mod quality;
pub mod resample;
pub mod stats;

pub use analyzer::{AnalyzerConfig, FaceObservation, FrameAnalysis, FrameAnalyzer, StageTimings};
pub use attempt::{AttemptConfig, AttemptEvent, LivenessAttempt, Verdict, VerdictReason};
pub use challenge::{ChallengeKind, ChallengePlan, ChallengeProgress, PlanConfig};
pub use error::EngineError;
pub use evidence::{EvidenceReport, InjectionReport, ScreenCues};
pub use frame::{FrameEncoding, FrameInput};
pub use hint::Hint;
pub use models::Models;
pub use pose::HeadPose;
pub use quality::Quality;
