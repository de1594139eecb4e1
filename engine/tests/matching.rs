//! Face matching on real pictures: the same person matches at the default threshold, different
//! people do not, and a picture without a face is an error rather than a low score.

mod support;

use livegate_engine::EngineError;
use livegate_engine::matching::{self, DEFAULT_MATCH_THRESHOLD};
use opencv::core::{Mat, Size};
use opencv::imgproc;
use opencv::prelude::*;

fn face(name: &str) -> matching::MatchableFace {
    matching::largest_face(&support::models(), &support::image(name)).expect(name)
}

#[test]
fn three_photos_of_one_man_match_each_other_and_not_another_man() {
    let obama = ["obama.jpg", "obama2.jpg", "obama3.jpg"].map(face);
    for (i, a) in obama.iter().enumerate() {
        for b in &obama[i + 1..] {
            let c = matching::compare(a, b);
            assert!(c.similarity >= DEFAULT_MATCH_THRESHOLD, "{c:?}");
            assert!(c.confidence > 80.0, "sharp frontal photos: {c:?}");
        }
    }
    let biden = face("biden.jpg");
    for a in &obama {
        let c = matching::compare(a, &biden);
        assert!(c.similarity < DEFAULT_MATCH_THRESHOLD, "{c:?}");
    }
}

#[test]
fn video_frames_match_a_still_of_the_same_man() {
    let still = face("franck_02159.jpg");
    let models = support::models();
    for frame in support::video_frames("franck.mp4", 0, 480, 8) {
        let f = matching::largest_face(&models, &frame).unwrap();
        let c = matching::compare(&still, &f);
        assert!(c.similarity >= DEFAULT_MATCH_THRESHOLD, "{c:?}");
    }
}

#[test]
fn the_largest_face_of_a_group_is_the_one_compared() {
    let group = support::image("t1.jpg");
    let found = matching::largest_face(&support::models(), &group).unwrap();
    assert_eq!(found.faces_in_image, 6);
    let largest = support::models()
        .detector
        .detect(&group)
        .unwrap()
        .iter()
        .map(|d| d.bbox.area())
        .fold(0.0, f32::max);
    assert_eq!(found.bbox.area(), largest);
}

#[test]
fn a_small_blurred_copy_lowers_confidence_not_identity() {
    let sharp = support::image("obama.jpg");
    let (mut small, mut blurred) = (Mat::default(), Mat::default());
    imgproc::resize(
        &sharp,
        &mut small,
        Size::new(sharp.cols() / 5, sharp.rows() / 5),
        0.0,
        0.0,
        imgproc::INTER_AREA,
    )
    .unwrap();
    imgproc::gaussian_blur_def(&small, &mut blurred, Size::new(5, 5), 2.0).unwrap();
    let models = support::models();
    let degraded = matching::largest_face(&models, &blurred).unwrap();
    let good = matching::compare(&face("obama.jpg"), &face("obama2.jpg"));
    let poor = matching::compare(&degraded, &face("obama2.jpg"));
    assert!(
        poor.confidence < good.confidence - 30.0,
        "{poor:?} vs {good:?}"
    );
}

#[test]
fn a_picture_without_a_face_is_an_error() {
    let frame = &support::video_frames("bigbuckbunny.mp4", 120, 1, 1)[0];
    let err = matching::largest_face(&support::models(), frame).unwrap_err();
    assert!(matches!(err, EngineError::NoFace), "{err}");
}
