//! Identity documents: what a photographed or scanned ID says, and whose face is on it.
//!
//! One picture ([`read_page`]): the document is found and flattened ([`card`]); its portrait is
//! the largest face on it ([`crate::matching`]); its machine-readable zone is read by Tesseract
//! ([`zone`]) and checked digit by digit ([`mrz`]); a PDF417 barcode is decoded by rxing and read
//! as AAMVA licence data ([`aamva`]). The pages of one document (front and back) are then merged
//! into one set of fields ([`merge`]), each with whether every check that applies to it held.

pub mod aamva;
pub mod card;
mod deblur;
pub mod glyphs;
pub mod mrz;
pub mod zone;

use opencv::core::Mat;
use opencv::imgproc;
use opencv::prelude::*;

use crate::matching::{self, MatchableFace};
use livegate_engine::error::EngineError;
use livegate_engine::models::Models;

/// A value read off a document and whether it passed every check that applies to it: its check
/// digit, being a real date, agreeing with the other source on the document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocumentField {
    pub value: String,
    pub valid: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    Passport,
    IdentityCard,
    DrivingLicence,
    Visa,
    Unknown,
}

impl DocumentKind {
    pub fn name(self) -> &'static str {
        match self {
            DocumentKind::Passport => "PASSPORT",
            DocumentKind::IdentityCard => "ID_CARD",
            DocumentKind::DrivingLicence => "DRIVING_LICENCE",
            DocumentKind::Visa => "VISA",
            DocumentKind::Unknown => "UNKNOWN",
        }
    }
}

/// A calendar date as ISO 8601, or None when there is no such day.
pub(crate) fn iso_date(year: u32, month: u32, day: u32) -> Option<String> {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days)
        .contains(&day)
        .then(|| format!("{year:04}-{month:02}-{day:02}"))
}

/// Everything found on one picture of a document.
#[derive(Debug, Clone)]
pub struct PageReading {
    /// The document's outline was found and flattened (false: read as a scan).
    pub outline_found: bool,
    pub portrait: Option<MatchableFace>,
    pub mrz: Option<mrz::MrzData>,
    pub barcode: Option<aamva::AamvaData>,
}

/// Reads one picture. `today_yy` is the current year's last two digits (for MRZ birth years).
pub fn read_page(
    models: &Models,
    zone_reader: &mut zone::ZoneReader,
    bgr: &Mat,
    today_yy: u32,
) -> Result<PageReading, EngineError> {
    let (flat, outline_found) = card::flatten(bgr)?;
    let portrait = match matching::largest_face(models, &flat) {
        Ok(face) => Some(face),
        Err(EngineError::NoFace) => None,
        Err(e) => return Err(e),
    };
    let mrz = zone_reader.read(&flat, today_yy)?;
    let mut barcode = read_barcode(&flat)?.or(if outline_found {
        read_barcode(bgr)?
    } else {
        None
    });
    // A back page (no portrait) whose barcode did not decode may be out of focus: PDF417's
    // narrow modules are the first thing blur takes. Undo the likeliest blurs and try again.
    if barcode.is_none() && portrait.is_none() {
        let mut grey = Mat::default();
        imgproc::cvt_color_def(&flat, &mut grey, imgproc::COLOR_BGR2GRAY)?;
        'tries: for noise_to_signal in deblur::NOISE_TO_SIGNAL {
            for sigma in deblur::LIKELY_BLUR_PX {
                barcode = decode_pdf417(&deblur::deconvolved(&grey, sigma, noise_to_signal)?)?;
                if barcode.is_some() {
                    break 'tries;
                }
            }
        }
    }
    Ok(PageReading {
        outline_found,
        portrait,
        mrz,
        barcode,
    })
}

/// The AAMVA data of a PDF417 barcode in the picture, if there is one. (Sharpening a blurred
/// picture first was tried: it decoded none of the blurred licences that failed without it;
/// deconvolution does, see [`read_page`].)
pub fn read_barcode(bgr: &Mat) -> Result<Option<aamva::AamvaData>, EngineError> {
    let mut grey = Mat::default();
    imgproc::cvt_color_def(bgr, &mut grey, imgproc::COLOR_BGR2GRAY)?;
    decode_pdf417(&grey)
}

fn decode_pdf417(grey: &Mat) -> Result<Option<aamva::AamvaData>, EngineError> {
    let grey = if grey.is_continuous() {
        grey.clone()
    } else {
        grey.try_clone()?
    };
    let (w, h) = (grey.cols() as u32, grey.rows() as u32);
    let found = rxing::helpers::detect_in_luma_slice(
        grey.data_bytes()?,
        w,
        h,
        Some(rxing::BarcodeFormat::PDF_417),
    );
    Ok(found.ok().and_then(|r| aamva::parse(r.getText())))
}

/// A document's fields, merged from all its pages: the MRZ where there is one (its check digits
/// make it the stronger source), else the barcode; where both exist, a field is valid only if
/// they agree.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IdentityFields {
    pub kind: Option<DocumentKind>,
    pub name: DocumentField,
    pub id_number: DocumentField,
    pub date_of_birth: DocumentField,
    pub expiry_date: DocumentField,
    pub issuing_country: DocumentField,
    /// Which sources were read: "MRZ_TD1", "MRZ_TD2", "MRZ_TD3", "PDF417_AAMVA".
    pub sources: Vec<String>,
    /// Every MRZ check digit held (None: no MRZ).
    pub mrz_checks_passed: Option<bool>,
}

impl IdentityFields {
    fn from_mrz(m: &mrz::MrzData) -> Self {
        IdentityFields {
            kind: Some(m.kind),
            name: m.name.clone(),
            id_number: m.document_number.clone(),
            date_of_birth: m.date_of_birth.clone(),
            expiry_date: m.expiry_date.clone(),
            issuing_country: m.issuing_country.clone(),
            sources: vec![format!("MRZ_{}", m.format.name())],
            mrz_checks_passed: Some(m.all_checks_pass()),
        }
    }

    fn from_barcode(b: &aamva::AamvaData) -> Self {
        IdentityFields {
            kind: Some(b.kind),
            name: b.name.clone(),
            id_number: b.id_number.clone(),
            date_of_birth: b.date_of_birth.clone(),
            expiry_date: b.expiry_date.clone(),
            issuing_country: b.issuing_country.clone(),
            sources: vec!["PDF417_AAMVA".into()],
            mrz_checks_passed: None,
        }
    }
}

/// Merges the pages of one document.
pub fn merge(pages: &[PageReading]) -> IdentityFields {
    let mrz = pages.iter().find_map(|p| p.mrz.as_ref());
    let barcode = pages.iter().find_map(|p| p.barcode.as_ref());
    match (mrz, barcode) {
        (Some(m), Some(b)) => {
            let mut out = IdentityFields::from_mrz(m);
            out.sources.push("PDF417_AAMVA".into());
            // Two sources on one document must agree; a disagreement is a forgery or a misread.
            let agree = |f: &mut DocumentField, other: &DocumentField| {
                f.valid &= other.value.eq_ignore_ascii_case(&f.value);
            };
            agree(&mut out.name, &b.name);
            agree(&mut out.id_number, &b.id_number);
            agree(&mut out.date_of_birth, &b.date_of_birth);
            agree(&mut out.expiry_date, &b.expiry_date);
            out
        }
        (Some(m), None) => IdentityFields::from_mrz(m),
        (None, Some(b)) => IdentityFields::from_barcode(b),
        (None, None) => IdentityFields::default(),
    }
}
