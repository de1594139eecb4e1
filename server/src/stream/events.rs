//! Engine events in the protocol's words, on the stream's outbound channel: challenges,
//! feedback (with the frames dropped so far), and the stream's last message or error.

use livegate_engine::AttemptEvent;
use livegate_engine::attempt::FrameFeedback;
use livegate_proto::v1 as pb;
use pb::stream_session_response::Message as Out;

use super::Outbound;
use crate::convert;
use crate::error::ApiError;
use crate::metrics::metrics;

/// Turns engine events into protocol messages on the outbound channel.
pub struct EventSender {
    out: Outbound,
    dropped: u32,
}

impl EventSender {
    pub fn new(out: Outbound) -> Self {
        EventSender { out, dropped: 0 }
    }

    /// A frame received and not analysed.
    pub fn drop_frame(&mut self) {
        self.dropped += 1;
        metrics().frame_dropped();
    }

    pub async fn send(&self, message: Out) {
        // A client that went away cannot be told anything; the stream ends on its side.
        let _ = self
            .out
            .send(Ok(pb::StreamSessionResponse {
                message: Some(message),
            }))
            .await;
    }

    /// Ends the stream with `error`, which each transport words its own way. Counted here,
    /// once, whether or not the client is still there to read it.
    pub async fn fail(&self, error: ApiError) {
        metrics().error(error.code());
        let _ = self.out.send(Err(error)).await;
    }

    pub async fn send_events(&self, events: Vec<AttemptEvent>) {
        for event in events {
            match event {
                AttemptEvent::Challenge {
                    index,
                    kind,
                    time_limit_ms,
                    light,
                    again,
                } => {
                    self.send(Out::Challenge(pb::Challenge {
                        index: index as u32,
                        kind: convert::challenge_kind(kind) as i32,
                        instruction: if again {
                            kind.instruction_again()
                        } else {
                            kind.instruction()
                        }
                        .to_string(),
                        time_limit_ms,
                        light_sequence: light
                            .iter()
                            .flat_map(|s| &s.flashes)
                            .map(|f| pb::LightFlash {
                                rgb: convert::rgb_word(f.rgb),
                                duration_ms: f.duration_ms,
                            })
                            .collect(),
                        again,
                    }))
                    .await
                }
                AttemptEvent::Feedback(f) => {
                    metrics().frame_analysed(&f.timings);
                    self.send(Out::Feedback(self.feedback(f))).await
                }
                // The verdict is sent by `run` once the outcome is stored, so that a client that
                // reads its result right after the verdict finds it.
                AttemptEvent::Verdict(_) => {}
            }
        }
    }

    fn feedback(&self, f: FrameFeedback) -> pb::FrameFeedback {
        pb::FrameFeedback {
            frame_timestamp_ms: f.timestamp_ms,
            faces: f.faces as u32,
            face: f.face.map(|(b, score)| pb::FaceBox {
                x: b.x,
                y: b.y,
                width: b.width,
                height: b.height,
                score,
            }),
            pose: f.pose.map(|p| pb::HeadPose {
                yaw: p.yaw,
                pitch: p.pitch,
                roll: p.roll,
            }),
            quality: f.quality.map(|q| pb::Quality {
                brightness: q.brightness,
                contrast: q.contrast,
                sharpness: q.sharpness,
                face_size: q.face_size,
                centering: q.centering,
            }),
            hint: convert::hint(f.hint) as i32,
            challenge: f.challenge.map(|c| pb::ChallengeProgress {
                index: c.index as u32,
                kind: convert::challenge_kind(c.kind) as i32,
                progress: c.progress,
                completed: c.completed,
                time_left_ms: c.time_left_ms,
            }),
            dropped_frames: self.dropped,
            eye_openness: f.eye_openness.unwrap_or_default(),
            analysis_ms: f.timings.total_us() as f32 / 1000.0,
        }
    }
}
