//! Conversions between the engine's types and the public API's messages.

use std::time::SystemTime;

use livegate_engine::{ChallengeKind, FrameEncoding, Hint};
use livegate_identity::matching::PictureIssue;
use livegate_proto::v1 as pb;

/// Times in the API are whole seconds, as in the REST API customers know
/// ("2025-11-10T12:30:00Z"); the store keeps exact times.
pub fn timestamp(t: SystemTime) -> prost_types::Timestamp {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    prost_types::Timestamp {
        seconds: secs as i64,
        nanos: 0,
    }
}

pub fn challenge_kind(k: ChallengeKind) -> pb::ChallengeKind {
    match k {
        ChallengeKind::TurnLeft => pb::ChallengeKind::TurnLeft,
        ChallengeKind::TurnRight => pb::ChallengeKind::TurnRight,
        ChallengeKind::Blink => pb::ChallengeKind::Blink,
        ChallengeKind::LookUp => pb::ChallengeKind::LookUp,
        ChallengeKind::MoveCloser => pb::ChallengeKind::MoveCloser,
        ChallengeKind::Light => pb::ChallengeKind::Light,
    }
}

/// 0xRRGGBB, as colours travel in the protocol.
pub fn rgb_word(rgb: [u8; 3]) -> u32 {
    u32::from_be_bytes([0, rgb[0], rgb[1], rgb[2]])
}

pub fn rgb_bytes(word: u32) -> [u8; 3] {
    let [_, r, g, b] = word.to_be_bytes();
    [r, g, b]
}

pub fn engine_challenge_kind(k: pb::ChallengeKind) -> Option<ChallengeKind> {
    ChallengeKind::ALL
        .into_iter()
        .find(|&e| challenge_kind(e) == k)
}

pub fn hint(h: Hint) -> pb::Hint {
    match h {
        Hint::Ok => pb::Hint::Ok,
        Hint::NoFace => pb::Hint::NoFace,
        Hint::MultipleFaces => pb::Hint::MultipleFaces,
        Hint::MoveCloser => pb::Hint::MoveCloser,
        Hint::MoveBack => pb::Hint::MoveBack,
        Hint::CenterFace => pb::Hint::CenterFace,
        Hint::TooDark => pb::Hint::TooDark,
        Hint::TooBright => pb::Hint::TooBright,
        Hint::Blurry => pb::Hint::Blurry,
        Hint::HoldStill => pb::Hint::HoldStill,
        Hint::More => pb::Hint::More,
    }
}

/// The engine's encoding for a frame's `encoding` field, or why there is none: unset, or a
/// number this server does not know (a client built from a newer proto).
pub fn frame_encoding(value: i32) -> Result<FrameEncoding, String> {
    match pb::FrameEncoding::try_from(value) {
        Ok(pb::FrameEncoding::Jpeg) => Ok(FrameEncoding::Jpeg),
        Ok(pb::FrameEncoding::Png) => Ok(FrameEncoding::Png),
        Ok(pb::FrameEncoding::Rgb24) => Ok(FrameEncoding::Rgb24),
        Ok(pb::FrameEncoding::Nv21) => Ok(FrameEncoding::Nv21),
        Ok(pb::FrameEncoding::I420) => Ok(FrameEncoding::I420),
        Ok(pb::FrameEncoding::Unspecified) => Err("frame encoding is not set".into()),
        Err(_) => Err(format!(
            "frame encoding {value} is none this server reads (JPEG, PNG, RGB24, NV21, I420)"
        )),
    }
}

/// What makes a picture unfit for matching, as the proto's enum values.
pub fn picture_issues(issues: &[PictureIssue]) -> Vec<i32> {
    issues
        .iter()
        .map(|i| {
            (match i {
                PictureIssue::FaceTooSmall => pb::PictureIssue::FaceTooSmall,
                PictureIssue::Blurred => pb::PictureIssue::Blurred,
                PictureIssue::TurnedAway => pb::PictureIssue::TurnedAway,
                PictureIssue::EyesClosed => pb::PictureIssue::EyesClosed,
                PictureIssue::EyeCovered => pb::PictureIssue::EyeCovered,
                PictureIssue::DarkGlasses => pb::PictureIssue::DarkGlasses,
                PictureIssue::MouthCovered => pb::PictureIssue::MouthCovered,
                PictureIssue::ExtremeExpression => pb::PictureIssue::ExtremeExpression,
                PictureIssue::FaceCutOff => pb::PictureIssue::FaceCutOff,
            }) as i32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One vocabulary: the engine's name of every kind is the API's, and each maps both ways.
    #[test]
    fn every_challenge_kind_has_one_name_and_one_number() {
        for kind in ChallengeKind::ALL.into_iter().chain([ChallengeKind::Light]) {
            let api = challenge_kind(kind);
            assert_eq!(api.api_name(), kind.name());
            assert_eq!(pb::ChallengeKind::from_api_name(kind.name()), Some(api));
            assert_eq!(kind.name().parse::<ChallengeKind>(), Ok(kind));
        }
        for kind in ChallengeKind::ALL {
            assert_eq!(engine_challenge_kind(challenge_kind(kind)), Some(kind));
        }
    }
}
