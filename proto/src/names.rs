//! The API's enums by name, as text carries them: the value's name without its enum's prefix
//! (`SUCCEEDED` for `SESSION_STATUS_SUCCEEDED`). The proto's own names are prefixed because
//! proto3 enum values share the package's scope; text never was, and stays so (see the note
//! above `SessionStatus` in `liveness.proto`). One place for every enum, so that REST bodies,
//! error reasons, metrics labels and stored records cannot disagree.

use super::v1::{ChallengeKind, ErrorCode, FrameEncoding, Hint, PictureIssue, SessionStatus};

macro_rules! api_name {
    ($enum:ty, $prefix:literal $(, $retired:expr)?) => {
        impl $enum {
            /// Names the API used before, and the value each stands for now.
            pub const RETIRED: &'static [(&'static str, Self)] = &[$($retired)?];

            /// The value's name without the enum's prefix: `MOVE_CLOSER`, `SESSION_EXPIRED`.
            pub fn api_name(self) -> &'static str {
                let full = self.as_str_name();
                full.strip_prefix($prefix).unwrap_or(full)
            }

            /// The value a text name stands for: the unprefixed name, the proto's prefixed one,
            /// or a retired name still accepted (`RETIRED`). Case matters, as in the proto.
            pub fn from_api_name(name: &str) -> Option<Self> {
                if let Some(&(_, value)) = Self::RETIRED.iter().find(|(old, _)| *old == name) {
                    return Some(value);
                }
                if name.starts_with($prefix) {
                    Self::from_str_name(name)
                } else {
                    Self::from_str_name(&format!("{}{name}", $prefix))
                }
            }
        }
    };
}

api_name!(SessionStatus, "SESSION_STATUS_");
api_name!(FrameEncoding, "FRAME_ENCODING_");
api_name!(
    ChallengeKind,
    "CHALLENGE_KIND_",
    ("COME_CLOSER", ChallengeKind::MoveCloser)
);
api_name!(Hint, "HINT_");
api_name!(ErrorCode, "ERROR_CODE_");
api_name!(PictureIssue, "PICTURE_ISSUE_");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_names_are_unprefixed_and_read_back_in_every_form() {
        assert_eq!(SessionStatus::Succeeded.api_name(), "SUCCEEDED");
        assert_eq!(ErrorCode::SessionExpired.api_name(), "SESSION_EXPIRED");
        assert_eq!(ChallengeKind::MoveCloser.api_name(), "MOVE_CLOSER");
        assert_eq!(Hint::MoveCloser.api_name(), "MOVE_CLOSER");
        for name in ["MOVE_CLOSER", "CHALLENGE_KIND_MOVE_CLOSER", "COME_CLOSER"] {
            assert_eq!(
                ChallengeKind::from_api_name(name),
                Some(ChallengeKind::MoveCloser),
                "{name}"
            );
        }
        assert_eq!(ChallengeKind::from_api_name("move_closer"), None);
        assert_eq!(Hint::from_api_name("COME_CLOSER"), None);
    }

    #[test]
    fn every_error_code_keeps_the_name_it_had() {
        // The codes' names are in every error body and ErrorInfo reason: spot-check both ends.
        assert_eq!(
            ErrorCode::SessionCreationFailed.api_name(),
            "SESSION_CREATION_FAILED"
        );
        assert_eq!(
            ErrorCode::ServerShuttingDown.api_name(),
            "SERVER_SHUTTING_DOWN"
        );
        assert_eq!(
            ErrorCode::from_api_name("STREAM_IDLE"),
            Some(ErrorCode::StreamIdle)
        );
    }
}
