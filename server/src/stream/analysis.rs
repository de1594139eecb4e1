//! One frame of a stream through the engine: a job on the engine handle that takes the attempt
//! along and brings it back, in a `frame` span whose attributes are the stages' times.

use livegate_engine::{AttemptEvent, EngineError, FrameInput, LivenessAttempt};
use livegate_proto::v1 as pb;
use tokio::task::JoinHandle;
use tracing::field::Empty;

use crate::convert;
use crate::engine::Engine;
use crate::error::ApiError;

/// What a frame's job gives back: the attempt with the frame's events; or, when the engine
/// failed on it, only the error (the attempt is lost with it).
pub type Analysed = Result<(LivenessAttempt, Result<Vec<AttemptEvent>, EngineError>), ApiError>;

/// A frame being analysed. A task of its own, so that the stream's loop can wait for it
/// beside its other events without being what drives it.
pub type FrameJob = JoinHandle<Analysed>;

/// Starts `frame`'s analysis by `attempt`.
pub fn analyse(
    engine: &Engine,
    mut attempt: LivenessAttempt,
    frame: pb::Frame,
    mirrored: bool,
) -> FrameJob {
    // Created here, inside the stream's span, which becomes its parent.
    let span = tracing::info_span!(
        "frame",
        timestamp_ms = frame.timestamp_ms,
        faces = Empty,
        hint = Empty,
        decode_us = Empty,
        detect_us = Empty,
        landmarks_us = Empty,
        pose_us = Empty,
        eyes_us = Empty,
        quality_us = Empty,
        identity_us = Empty,
        parallax_us = Empty,
        light_us = Empty,
        outline_us = Empty,
        verdict_us = Empty,
        total_us = Empty,
    );
    let engine = engine.clone();
    tokio::spawn(async move {
        engine
            .run(move |_| {
                let _entered = span.enter();
                let result = match convert::frame_encoding(frame.encoding) {
                    Ok(encoding) => {
                        let input = FrameInput {
                            encoding,
                            width: frame.width,
                            height: frame.height,
                            rotation: frame.rotation,
                            mirrored,
                            data: &frame.data,
                        };
                        attempt.process(&input, frame.timestamp_ms)
                    }
                    Err(why) => Err(EngineError::InvalidFrame(why)),
                };
                if let Ok(events) = &result {
                    record_frame(&span, events);
                }
                (attempt, result)
            })
            .await
    })
}

/// What the engine measured of a frame, as its span's attributes.
fn record_frame(span: &tracing::Span, events: &[AttemptEvent]) {
    let Some(f) = events.iter().find_map(|e| match e {
        AttemptEvent::Feedback(f) => Some(f),
        _ => None,
    }) else {
        return;
    };
    let t = &f.timings;
    span.record("faces", f.faces);
    span.record("hint", tracing::field::debug(f.hint));
    for (stage, us) in t.stages() {
        span.record(format!("{stage}_us").as_str(), us);
    }
    span.record("total_us", t.total_us());
}
