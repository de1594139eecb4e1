//! A KYC check: a document's pictures read, its portrait compared with the face of a liveness
//! session, and the rule that says whether it all passes ([`KycJudgement`]), with the calendar
//! the rule needs (documents expire; MRZ years have two digits).

use std::time::{SystemTime, UNIX_EPOCH};

use livegate_engine::Models;
use livegate_engine::frame::{FrameInput, decode};

use crate::document::{self, IdentityFields, zone::ZoneReader};
use crate::error::IdentityError;
use crate::matching::{self, FaceComparison, MatchableFace, PictureIssue};

/// What the document says, and the session's face compared with its portrait.
pub struct DocumentCheck {
    pub fields: IdentityFields,
    pub portrait_found: bool,
    /// None when the document shows no portrait or the session kept no face to compare.
    pub face_match: Option<FaceMatch>,
}

/// The document's portrait compared with the session's reference image.
pub struct FaceMatch {
    pub comparison: FaceComparison,
    pub portrait_issues: Vec<PictureIssue>,
    pub selfie_issues: Vec<PictureIssue>,
}

/// The largest face of an uploaded picture; `what` names the picture in errors.
pub fn face_in(models: &Models, bytes: &[u8], what: &str) -> Result<MatchableFace, IdentityError> {
    if bytes.is_empty() {
        return Err(IdentityError::UnusablePicture(format!(
            "the {what} is empty"
        )));
    }
    let bgr = decode(&FrameInput::image(bytes)).map_err(|e| {
        IdentityError::UnusablePicture(format!("the {what} cannot be read as JPEG or PNG ({e})"))
    })?;
    matching::largest_face(models, &bgr).map_err(|e| match e {
        livegate_engine::EngineError::NoFace => {
            IdentityError::UnusablePicture(format!("no face found in the {what}"))
        }
        other => other.into(),
    })
}

/// Reads the document's pictures (front and back, in any order) and compares its portrait with
/// `reference`, the session's face (a JPEG). `today_yy` is this year's last two digits.
pub fn check_document(
    models: &Models,
    reader: &mut ZoneReader,
    pictures: &[Vec<u8>],
    reference: Option<&[u8]>,
    today_yy: u32,
) -> Result<DocumentCheck, IdentityError> {
    let mut pages = Vec::with_capacity(pictures.len());
    for (i, bytes) in pictures.iter().enumerate() {
        let bgr =
            decode(&FrameInput::image(bytes)).map_err(|e| IdentityError::UnreadableDocument {
                index: i + 1,
                reason: e.to_string(),
            })?;
        pages.push(document::read_page(models, reader, &bgr, today_yy)?);
    }
    let portrait = pages.iter().find_map(|p| p.portrait.clone());
    let face_match = match (&portrait, reference) {
        (Some(portrait), Some(jpeg)) => {
            let selfie = face_in(models, jpeg, "session's reference image")?;
            Some(FaceMatch {
                comparison: matching::compare(portrait, &selfie),
                portrait_issues: portrait.quality.issues.clone(),
                selfie_issues: selfie.quality.issues,
            })
        }
        _ => None,
    };
    Ok(DocumentCheck {
        fields: document::merge(&pages),
        portrait_found: portrait.is_some(),
        face_match,
    })
}

/// The KYC rule: every field read and valid, the document not expired, the person live, and
/// the face the document's; each failure named.
pub struct KycJudgement {
    pub expired: bool,
    pub similarity: f32,
    pub match_confidence: f32,
    pub is_match: bool,
    pub portrait_issues: Vec<PictureIssue>,
    pub selfie_issues: Vec<PictureIssue>,
    /// Empty when the check passes.
    pub problems: Vec<String>,
}

impl KycJudgement {
    /// `today` is (year, month, day), as [`civil_date`] gives it.
    pub fn of(
        check: &DocumentCheck,
        live: bool,
        similarity_threshold: f32,
        today: (u32, u32, u32),
    ) -> Self {
        let f = &check.fields;
        let today_iso = format!("{:04}-{:02}-{:02}", today.0, today.1, today.2);
        let expired = f.expiry_date.valid && f.expiry_date.value < today_iso;
        let (similarity, match_confidence) = check.face_match.as_ref().map_or((0.0, 0.0), |m| {
            (m.comparison.similarity, m.comparison.confidence)
        });
        let no_issues = (Vec::new(), Vec::new());
        let (portrait_issues, selfie_issues) = check.face_match.as_ref().map_or(no_issues, |m| {
            (m.portrait_issues.clone(), m.selfie_issues.clone())
        });
        let is_match = check.face_match.is_some() && similarity >= similarity_threshold;

        let mut problems = Vec::new();
        for (field, name) in [
            (&f.name, "name"),
            (&f.id_number, "document number"),
            (&f.date_of_birth, "date of birth"),
            (&f.expiry_date, "expiry date"),
        ] {
            if !field.valid {
                problems.push(if field.value.is_empty() {
                    format!("{name} not read")
                } else {
                    format!("{name} invalid")
                });
            }
        }
        if expired {
            problems.push("document expired".into());
        }
        if !live {
            problems.push("liveness not confirmed".into());
        }
        if !check.portrait_found {
            problems.push("no portrait found on the document".into());
        } else if !is_match {
            problems.push("face does not match the document".into());
            // A match failed on an unfit picture says little either way: say which, so the
            // caller asks for a better one rather than suspecting another person.
            for (issues, picture) in [(&portrait_issues, "portrait"), (&selfie_issues, "selfie")] {
                if !issues.is_empty() {
                    let names: Vec<&str> = issues.iter().map(|i| i.name()).collect();
                    problems.push(format!(
                        "{picture} unfit for matching ({})",
                        names.join(", ")
                    ));
                }
            }
        }
        KycJudgement {
            expired,
            similarity,
            match_confidence,
            is_match,
            portrait_issues,
            selfie_issues,
            problems,
        }
    }
}

/// Today's (year, month, day) in UTC: days since the epoch to the civil calendar (Howard
/// Hinnant's algorithm), to place MRZ birth years in their century and tell expired documents.
pub fn civil_date(now: SystemTime) -> (u32, u32, u32) {
    let days = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as u32;
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::DocumentField;
    use std::time::Duration;

    #[test]
    fn civil_dates_of_known_days() {
        assert_eq!(civil_date(UNIX_EPOCH), (1970, 1, 1));
        // 2000-02-29 and 2026-11-26, days since the epoch.
        assert_eq!(
            civil_date(UNIX_EPOCH + Duration::from_secs(11_016 * 86_400)),
            (2000, 2, 29)
        );
        assert_eq!(
            civil_date(UNIX_EPOCH + Duration::from_secs(20_783 * 86_400 + 3_600)),
            (2026, 11, 26)
        );
    }

    fn field(value: &str) -> DocumentField {
        DocumentField {
            value: value.into(),
            valid: true,
        }
    }

    fn read_document(expiry: &str) -> DocumentCheck {
        let fields = IdentityFields {
            name: field("MAYA DUBOIS"),
            id_number: field("X1234567"),
            date_of_birth: field("1990-04-01"),
            expiry_date: field(expiry),
            ..Default::default()
        };
        DocumentCheck {
            fields,
            portrait_found: false,
            face_match: None,
        }
    }

    #[test]
    fn an_expired_document_and_a_missing_portrait_are_each_named() {
        let kyc = KycJudgement::of(&read_document("2026-12-05"), true, 90.0, (2026, 12, 6));
        assert!(kyc.expired);
        assert_eq!(
            kyc.problems,
            ["document expired", "no portrait found on the document"]
        );
        let kyc = KycJudgement::of(&read_document("2026-12-06"), false, 90.0, (2026, 12, 6));
        assert!(!kyc.expired, "a document is valid on its expiry date");
        assert_eq!(
            kyc.problems,
            [
                "liveness not confirmed",
                "no portrait found on the document"
            ]
        );
    }
}
