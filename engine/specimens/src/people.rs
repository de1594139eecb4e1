//! Real people in the fetched test media, as the matching examples gather them: the clips of
//! people other than franck, and the faces of the group photo, each a picture of its own.

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

/// Every face the detector finds in a group photo, cropped with a margin of 0.6 of its box
/// around it (room for the landmarks and the alignment), in the detector's order.
pub fn group_faces(models: &Models, group: &Mat) -> Result<Vec<Mat>, livegate_engine::EngineError> {
    let mut faces = Vec::new();
    for d in models.detector.detect(group)? {
        let r = d
            .bbox
            .to_pixels(0.6, group.cols(), group.rows())
            .unwrap_or(Rect::new(0, 0, 1, 1));
        faces.push(Mat::roi(group, r)?.try_clone()?);
    }
    Ok(faces)
}
