//! The one instruction shown to the user for a frame, chosen from what the analyzer measured.

use crate::quality::Quality;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    Ok,
    NoFace,
    MultipleFaces,
    MoveCloser,
    MoveBack,
    CenterFace,
    TooDark,
    TooBright,
    Blurry,
    HoldStill,
    /// A movement step is under way in the right direction but not yet far enough: "a bit
    /// more". Chosen by the attempt (it knows the step), never by [`choose`].
    More,
}

/// Limits that trigger each hint. Defaults were set on the real test media (a 360×288 webcam
/// video, 720×576 stills) so that a cooperative user in ordinary light gets `Ok`. Sharpness:
/// sharp stills measure 150–260, the same blurred with σ = 2 px 37, σ = 4 px 10.
#[derive(Debug, Clone)]
pub struct HintThresholds {
    pub min_brightness: f32,
    pub max_brightness: f32,
    pub min_face_size: f32,
    pub max_face_size: f32,
    pub max_centering: f32,
    pub min_sharpness: f32,
    /// Face-centre movement between analysed frames, in face widths, above which the user is
    /// asked to hold still.
    pub max_motion: f32,
}

impl Default for HintThresholds {
    fn default() -> Self {
        HintThresholds {
            min_brightness: 50.0,
            max_brightness: 210.0,
            min_face_size: 0.15,
            max_face_size: 0.75,
            max_centering: 0.45,
            min_sharpness: 20.0,
            max_motion: 0.25,
        }
    }
}

/// The most important problem first: no face or several, then light, distance, position, blur,
/// motion. `quality` is that of the main face, when there is one.
pub fn choose(faces: usize, quality: Option<&Quality>, motion: f32, t: &HintThresholds) -> Hint {
    let Some(q) = quality else {
        return Hint::NoFace;
    };
    match faces {
        0 => Hint::NoFace,
        1 if q.brightness < t.min_brightness => Hint::TooDark,
        1 if q.brightness > t.max_brightness => Hint::TooBright,
        1 if q.face_size < t.min_face_size => Hint::MoveCloser,
        1 if q.face_size > t.max_face_size => Hint::MoveBack,
        1 if q.centering > t.max_centering => Hint::CenterFace,
        1 if q.sharpness < t.min_sharpness => Hint::Blurry,
        1 if motion > t.max_motion => Hint::HoldStill,
        1 => Hint::Ok,
        _ => Hint::MultipleFaces,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> Quality {
        Quality {
            brightness: 120.0,
            contrast: 40.0,
            sharpness: 100.0,
            face_size: 0.3,
            centering: 0.1,
        }
    }

    #[test]
    fn each_problem_gets_its_hint_in_priority_order() {
        let t = HintThresholds::default();
        assert_eq!(choose(1, Some(&good()), 0.0, &t), Hint::Ok);
        assert_eq!(choose(0, None, 0.0, &t), Hint::NoFace);
        assert_eq!(choose(2, Some(&good()), 0.0, &t), Hint::MultipleFaces);
        let dark = Quality {
            brightness: 20.0,
            face_size: 0.05,
            ..good()
        };
        assert_eq!(
            choose(1, Some(&dark), 0.0, &t),
            Hint::TooDark,
            "light before distance"
        );
        assert_eq!(
            choose(
                1,
                Some(&Quality {
                    face_size: 0.05,
                    ..good()
                }),
                0.0,
                &t
            ),
            Hint::MoveCloser
        );
        assert_eq!(
            choose(
                1,
                Some(&Quality {
                    face_size: 0.9,
                    ..good()
                }),
                0.0,
                &t
            ),
            Hint::MoveBack
        );
        assert_eq!(
            choose(
                1,
                Some(&Quality {
                    centering: 0.6,
                    ..good()
                }),
                0.0,
                &t
            ),
            Hint::CenterFace
        );
        assert_eq!(
            choose(
                1,
                Some(&Quality {
                    sharpness: 1.0,
                    ..good()
                }),
                0.0,
                &t
            ),
            Hint::Blurry
        );
        assert_eq!(choose(1, Some(&good()), 0.5, &t), Hint::HoldStill);
    }
}
