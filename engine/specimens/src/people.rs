//! Real people in the fetched test media, as the matching examples gather them: the clips of
//! people other than franck, the faces of the group photo, each a picture of its own, and the
//! four bald men of a collage, each face named.

use livegate_engine::Models;
use opencv::core::{Mat, Rect};
use opencv::prelude::*;

/// The file names of the fetched test media (`fetch.py media`), sorted.
pub fn media_files() -> Vec<String> {
    let dir = livegate_engine::models::cache_dir().join("media");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The person in one of the media manifest's stills, by its file name: `franck_01829.jpg` →
/// franck, `obama2.jpg` → obama, `johns_John_Simm_000288_00470387.jpg` → John Simm. `None` for
/// what is not one person's still (clips, the group photo, the mask).
pub fn person_of_still(file: &str) -> Option<String> {
    let stem = file.strip_suffix(".jpg")?;
    if let Some(rest) = stem.strip_prefix("johns_") {
        return Some(rest.split('_').take(2).collect::<Vec<_>>().join(" "));
    }
    let person = stem
        .split('_')
        .next()?
        .trim_end_matches(|c: char| c.is_ascii_digit());
    ["franck", "obama", "biden"]
        .contains(&person)
        .then(|| person.to_string())
}

/// Bona-fide clips of five people other than franck (`engine/assets/testmedia.toml`).
pub const OTHER_PEOPLES_CLIPS: [&str; 5] = [
    "msu_client001.mp4",
    "msu_client005.mp4",
    "msu_client022.mp4",
    "webcam_office.mov",
    "webcam_still.mov",
];

/// Every face the detector finds in a group photo, cropped by [`face_crop`], in the detector's
/// order.
pub fn group_faces(models: &Models, group: &Mat) -> Result<Vec<Mat>, livegate_engine::EngineError> {
    models
        .detector
        .detect(group)?
        .iter()
        .map(|d| face_crop(group, &d.bbox))
        .collect()
}

/// The face in `bbox` of a picture of several, with a margin of 0.6 of its box around it (room
/// for the landmarks and the alignment), as a picture of its own.
fn face_crop(
    picture: &Mat,
    bbox: &livegate_engine::geometry::Rect,
) -> Result<Mat, livegate_engine::EngineError> {
    let r = bbox
        .to_pixels(0.6, picture.cols(), picture.rows())
        .unwrap_or(Rect::new(0, 0, 1, 1));
    Ok(Mat::roi(picture, r)?.try_clone()?)
}

/// Whose each face of `bald_men.jpg` is, by the centre of its detector box in the 1986×1545
/// collage (named by looking at it: four bald men, six photos each). Men 1–4 are, in the
/// collage's reading order of first appearance: the man top left, the man with stubble next to
/// him, the man in the large photo top right, and the man in the middle with a white shirt.
const BALD_MEN: [((f32, f32), &str); 24] = [
    ((146.0, 149.0), "bald man 1"),
    ((387.0, 293.0), "bald man 1"),
    ((635.0, 185.0), "bald man 1"),
    ((142.0, 451.0), "bald man 1"),
    ((648.0, 509.0), "bald man 1"),
    ((154.0, 1376.0), "bald man 1"),
    ((394.0, 100.0), "bald man 2"),
    ((955.0, 173.0), "bald man 2"),
    ((389.0, 517.0), "bald man 2"),
    ((958.0, 477.0), "bald man 2"),
    ((147.0, 769.0), "bald man 2"),
    ((495.0, 910.0), "bald man 2"),
    ((1595.0, 240.0), "bald man 3"),
    ((1881.0, 486.0), "bald man 3"),
    ((1696.0, 749.0), "bald man 3"),
    ((1164.0, 1384.0), "bald man 3"),
    ((1513.0, 1396.0), "bald man 3"),
    ((1865.0, 1391.0), "bald man 3"),
    ((857.0, 894.0), "bald man 4"),
    ((1148.0, 838.0), "bald man 4"),
    ((1185.0, 1136.0), "bald man 4"),
    ((121.0, 1053.0), "bald man 4"),
    ((456.0, 1328.0), "bald man 4"),
    ((848.0, 1317.0), "bald man 4"),
];

/// The faces of `bald_men.jpg` (`collage`), each cropped by [`face_crop`] and named by
/// [`BALD_MEN`]; a face whose centre is not within half its width of a named one is left out.
pub fn bald_men(
    models: &Models,
    collage: &Mat,
) -> Result<Vec<(&'static str, Mat)>, livegate_engine::EngineError> {
    let mut faces = Vec::new();
    for d in models.detector.detect(collage)? {
        let (cx, cy) = d.bbox.center();
        let named = BALD_MEN
            .iter()
            .find(|((x, y), _)| (x - cx).hypot(y - cy) < d.bbox.width / 2.0);
        let Some((_, man)) = named else {
            continue;
        };
        faces.push((*man, face_crop(collage, &d.bbox)?));
    }
    Ok(faces)
}
