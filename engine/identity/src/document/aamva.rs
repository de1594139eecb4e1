//! AAMVA driver's licence data (the PDF417 barcode on the back of North American licences and
//! ID cards, AAMVA DL/ID Card Design Standard, 2005–2020 versions): the header, the subfile
//! directory and the data elements that matter for identity.

use std::collections::HashMap;

use super::{DocumentField, DocumentKind, iso_date};

/// What a licence's barcode says.
#[derive(Debug, Clone, PartialEq)]
pub struct AamvaData {
    pub kind: DocumentKind,
    /// Issuer identification number (6 digits): which jurisdiction issued it.
    pub issuer_id: String,
    pub version: u32,
    pub name: DocumentField,
    pub id_number: DocumentField,
    pub date_of_birth: DocumentField,
    pub expiry_date: DocumentField,
    /// USA or CAN (DCG).
    pub issuing_country: DocumentField,
    /// State or province (DAJ).
    pub jurisdiction: DocumentField,
}

/// Parses barcode text. None when it is not AAMVA data (no `ANSI ` header or no subfile).
pub fn parse(text: &str) -> Option<AamvaData> {
    let start = text.find("ANSI ").or_else(|| text.find("AAMVA"))?;
    let header = &text[start..];
    let digits = |r: std::ops::Range<usize>| {
        header
            .get(r)
            .filter(|s| s.bytes().all(|c| c.is_ascii_digit()))
    };
    let issuer_id = digits(5..11)?.to_string();
    let version = digits(11..13)?.parse().ok()?;
    let elements = elements(header);
    if elements.is_empty() {
        return None;
    }
    let get = |k: &str| elements.get(k).map(|v| v.trim().to_string());

    let country = get("DCG").unwrap_or_default();
    let issuing_country = DocumentField {
        valid: matches!(country.as_str(), "USA" | "CAN"),
        value: country.clone(),
    };
    let jurisdiction = get("DAJ")
        .map(|v| DocumentField {
            valid: v.len() == 2 && v.bytes().all(|c| c.is_ascii_uppercase()),
            value: v,
        })
        .unwrap_or_default();
    let name = name(&get);
    let id_number = get("DAQ")
        .map(|v| DocumentField {
            valid: !v.is_empty() && v.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'),
            value: v,
        })
        .unwrap_or_default();
    let canadian = country == "CAN";
    let date_field = |k: &str| {
        get(k)
            .map(|v| match date(&v, canadian) {
                Some(iso) => DocumentField {
                    value: iso,
                    valid: true,
                },
                None => DocumentField {
                    value: v,
                    valid: false,
                },
            })
            .unwrap_or_default()
    };
    Some(AamvaData {
        kind: if header.get(17..19) == Some("DL") || elements.contains_key("DCA") {
            DocumentKind::DrivingLicence
        } else {
            DocumentKind::IdentityCard
        },
        issuer_id,
        version,
        name,
        id_number,
        date_of_birth: date_field("DBB"),
        expiry_date: date_field("DBA"),
        issuing_country,
        jurisdiction,
    })
}

/// Every `Dxx` data element of every subfile. The header's directory lists the subfiles (type,
/// offset, length); each starts with its two-letter type, its elements are separated by line
/// feeds and it ends at a carriage return. Offsets are often wrong in the field, so a subfile is
/// found by its type after the directory.
fn elements(header: &str) -> HashMap<String, String> {
    // "ANSI " IIN(6) version(2) jurisdiction version(2) entries(2), then 10 bytes an entry.
    let entries: usize = header.get(15..17).and_then(|n| n.parse().ok()).unwrap_or(0);
    let directory_end = 17 + 10 * entries.min(16);
    let mut out = HashMap::new();
    for i in 0..entries.min(16) {
        let Some(kind) = header.get(17 + 10 * i..19 + 10 * i) else {
            continue;
        };
        let Some(body) = header.get(directory_end.min(header.len())..) else {
            continue;
        };
        let Some(at) = body.find(&format!("{kind}D")) else {
            continue;
        };
        let subfile = &body[at + 2..];
        let subfile = subfile.split('\r').next().unwrap_or("");
        for line in subfile.split('\n') {
            if line.len() >= 3
                && line.starts_with('D')
                && line[..3].bytes().all(|c| c.is_ascii_uppercase())
            {
                out.entry(line[..3].to_string())
                    .or_insert_with(|| line[3..].to_string());
            }
        }
    }
    out
}

fn name(get: &dyn Fn(&str) -> Option<String>) -> DocumentField {
    let clean = |s: Option<String>| s.filter(|v| !v.is_empty() && v != "NONE" && v != "unavl");
    let family = clean(get("DCS"));
    let first = clean(get("DAC")).or_else(|| clean(get("DCT")).map(|v| v.replace(',', " ")));
    let middle = clean(get("DAD"));
    let parts: Vec<String> = [first, middle, family.clone()]
        .into_iter()
        .flatten()
        .collect();
    let value = if parts.is_empty() {
        // Version 1 put the whole name in DAA: FAMILY,FIRST,MIDDLE.
        clean(get("DAA"))
            .map(|v| {
                let mut p: Vec<&str> = v.split(',').collect();
                p.rotate_left(1);
                p.join(" ").trim().to_string()
            })
            .unwrap_or_default()
    } else {
        parts.join(" ")
    };
    DocumentField {
        valid: !value.is_empty()
            && value
                .chars()
                .all(|c| c.is_alphabetic() || " -'".contains(c)),
        value,
    }
}

/// A barcode date as ISO 8601: MMDDCCYY in the USA, CCYYMMDD in Canada; the other order is
/// tried when the first is not a date (some issuers do not follow their country's).
fn date(v: &str, canadian: bool) -> Option<String> {
    if v.len() != 8 || !v.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let us = (&v[4..8], &v[0..2], &v[2..4]);
    let ca = (&v[0..4], &v[4..6], &v[6..8]);
    let orders = if canadian { [ca, us] } else { [us, ca] };
    orders.into_iter().find_map(|(y, m, d)| {
        let (y, m, d): (u32, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
        iso_date(y, m, d).filter(|_| (1900..=2100).contains(&y))
    })
}

/// Builds AAMVA barcode text (version 10, one DL subfile): what a licence printer encodes.
/// Used to make specimens. Dates are ISO 8601 and written in the country's order.
pub fn compose(fields: &AamvaFields) -> String {
    let date = |iso: &str| {
        let (y, m, d) = (&iso[0..4], &iso[5..7], &iso[8..10]);
        if fields.country == "CAN" {
            format!("{y}{m}{d}")
        } else {
            format!("{m}{d}{y}")
        }
    };
    let body = [
        format!("DAQ{}", fields.id_number),
        format!("DCS{}", fields.family_name),
        format!("DAC{}", fields.first_name),
        "DADNONE".to_string(),
        format!("DBB{}", date(&fields.date_of_birth)),
        format!("DBA{}", date(&fields.expiry_date)),
        format!("DBC{}", fields.sex),
        format!("DAJ{}", fields.jurisdiction),
        format!("DCG{}", fields.country),
        "DCAD".to_string(),
    ]
    .join("\n");
    let subfile = format!("DL{body}\r");
    let header_len = 21 + 10;
    format!(
        "@\n\x1e\rANSI {}100101DL{:04}{:04}{subfile}",
        fields.issuer_id,
        header_len,
        subfile.len()
    )
}

/// The fields [`compose`] writes.
#[derive(Debug, Clone, PartialEq)]
pub struct AamvaFields {
    pub issuer_id: String,
    pub id_number: String,
    pub family_name: String,
    pub first_name: String,
    /// ISO 8601.
    pub date_of_birth: String,
    pub expiry_date: String,
    /// 1 male, 2 female, 9 not specified.
    pub sex: u8,
    pub jurisdiction: String,
    pub country: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> AamvaFields {
        AamvaFields {
            issuer_id: "636014".into(),
            id_number: "D1234567".into(),
            family_name: "SAMPLE".into(),
            first_name: "ALEX".into(),
            date_of_birth: "1988-02-29".into(),
            expiry_date: "2030-07-01".into(),
            sex: 2,
            jurisdiction: "CA".into(),
            country: "USA".into(),
        }
    }

    #[test]
    fn composed_barcode_text_parses_back() {
        let d = parse(&compose(&fields())).unwrap();
        assert_eq!(d.issuer_id, "636014");
        assert_eq!(d.version, 10);
        assert_eq!(d.kind, DocumentKind::DrivingLicence);
        assert_eq!(d.name.value, "ALEX SAMPLE");
        assert_eq!(d.id_number.value, "D1234567");
        assert_eq!(d.date_of_birth.value, "1988-02-29");
        assert_eq!(d.expiry_date.value, "2030-07-01");
        assert_eq!(d.jurisdiction.value, "CA");
        for f in [
            &d.name,
            &d.id_number,
            &d.date_of_birth,
            &d.expiry_date,
            &d.issuing_country,
        ] {
            assert!(f.valid, "{f:?}");
        }
    }

    #[test]
    fn canadian_dates_are_year_first() {
        let f = AamvaFields {
            country: "CAN".into(),
            jurisdiction: "ON".into(),
            ..fields()
        };
        let text = compose(&f);
        assert!(text.contains("DBB19880229"), "{text:?}");
        assert_eq!(parse(&text).unwrap().date_of_birth.value, "1988-02-29");
    }

    #[test]
    fn a_date_that_is_no_date_is_invalid() {
        let text = compose(&fields()).replace("DBB02291988", "DBB13451988");
        let d = parse(&text).unwrap();
        assert!(!d.date_of_birth.valid);
        assert!(d.id_number.valid);
    }

    #[test]
    fn text_that_is_not_aamva_is_refused() {
        assert!(parse("https://example.com").is_none());
        assert!(parse("ANSI 63601").is_none());
    }
}
