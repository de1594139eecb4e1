//! Machine-readable zones (ICAO Doc 9303): TD1 (ID cards, 3 × 30), TD2 (2 × 36) and TD3
//! (passports, 2 × 44). Splits the lines into fields, repairs the letter/digit confusions OCR
//! makes where the format allows only one of them, and checks every check digit.

use super::{DocumentField, DocumentKind, iso_date};

/// Which layout an MRZ has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MrzFormat {
    Td1,
    Td2,
    Td3,
}

impl MrzFormat {
    /// Lines and characters per line.
    pub const fn shape(self) -> (usize, usize) {
        match self {
            MrzFormat::Td1 => (3, 30),
            MrzFormat::Td2 => (2, 36),
            MrzFormat::Td3 => (2, 44),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            MrzFormat::Td1 => "TD1",
            MrzFormat::Td2 => "TD2",
            MrzFormat::Td3 => "TD3",
        }
    }

    /// The layouts with this many lines.
    pub fn with_lines(lines: usize) -> &'static [MrzFormat] {
        match lines {
            3 => &[MrzFormat::Td1],
            2 => &[MrzFormat::Td3, MrzFormat::Td2],
            _ => &[],
        }
    }
}

/// The ICAO 9303 check digit: weights 7, 3, 1 repeating; digits count as themselves, A–Z as
/// 10–35, the filler `<` as 0.
pub fn check_digit(field: &str) -> u8 {
    let sum: u32 = field
        .bytes()
        .zip([7u32, 3, 1].iter().cycle())
        .map(|(c, w)| w * char_value(c))
        .sum();
    (sum % 10) as u8
}

/// Two different characters a check digit cannot tell apart: their values differ by a
/// multiple of 10 (G and 6, L and 1, S and 8, ...), so either reading passes the same checks.
pub fn check_blind(a: u8, b: u8) -> bool {
    let known = |c: u8| c.is_ascii_digit() || c.is_ascii_uppercase();
    a != b && known(a) && known(b) && char_value(a) % 10 == char_value(b) % 10
}

fn char_value(c: u8) -> u32 {
    match c {
        b'0'..=b'9' => (c - b'0') as u32,
        b'A'..=b'Z' => (c - b'A') as u32 + 10,
        _ => 0,
    }
}

/// `check` is the right digit for `field`. A check position left as `<` counts as 0, which
/// 9303 allows for optional fields that are all filler.
fn verifies(field: &str, check: u8) -> bool {
    let expected = check_digit(field);
    match check {
        b'0'..=b'9' => check - b'0' == expected,
        b'<' => expected == 0 && field.bytes().all(|c| c == b'<'),
        _ => false,
    }
}

/// What each position may hold, so that OCR's confusions can be undone where only one reading
/// is possible.
#[derive(Clone, Copy)]
enum Slot {
    Digit,
    Alpha,
}

fn repair(c: u8, slot: Slot) -> u8 {
    match slot {
        Slot::Digit => match c {
            b'O' | b'Q' | b'D' => b'0',
            b'I' | b'L' => b'1',
            b'Z' => b'2',
            b'S' => b'5',
            b'G' => b'6',
            b'B' => b'8',
            other => other,
        },
        Slot::Alpha => match c {
            b'0' => b'O',
            b'1' => b'I',
            b'2' => b'Z',
            b'5' => b'S',
            b'8' => b'B',
            other => other,
        },
    }
}

fn repaired(s: &str, slot: Slot) -> String {
    s.bytes().map(|c| repair(c, slot) as char).collect()
}

/// A date YYMMDD as ISO 8601, or None when it is not a calendar date. `future_ok` picks the
/// century: birth dates are in the past (relative to `today_yy`), expiry dates may be ahead.
fn date(yymmdd: &str, birth: bool, today_yy: u32) -> Option<String> {
    if yymmdd.len() != 6 || !yymmdd.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| yymmdd[r].parse::<u32>().ok();
    let (yy, mm, dd) = (n(0..2)?, n(2..4)?, n(4..6)?);
    let year = if birth {
        if yy > today_yy { 1900 + yy } else { 2000 + yy }
    } else if yy >= 70 {
        1900 + yy
    } else {
        2000 + yy
    };
    iso_date(year, mm, dd)
}

/// `SURNAME<<GIVEN<NAMES<<<` as "GIVEN NAMES SURNAME". Valid when it holds only letters and
/// fillers, a surname, and nothing after the given names' fillers: ICAO 9303 writes `<<` once,
/// between surname and given names, and a name has no check digit, so a filler misread as a
/// letter at the end of the line (`MAYA<<<<…<<K`) would otherwise pass as a name
/// ("MAYA K DUBOIS").
fn name(field: &str) -> DocumentField {
    let field = repaired(field, Slot::Alpha);
    let (surname, given) = field.split_once("<<").unwrap_or((&field, ""));
    let well_formed = !given.trim_end_matches('<').contains("<<");
    let words = |s: &str| {
        s.split('<')
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (surname, given) = (words(surname), words(given));
    let value = [given.as_str(), surname.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let valid = !surname.is_empty()
        && well_formed
        && field.bytes().all(|c| c == b'<' || c.is_ascii_uppercase());
    DocumentField { value, valid }
}

fn code(field: &str) -> DocumentField {
    let field = repaired(field, Slot::Alpha);
    let value = field.trim_end_matches('<').to_string();
    DocumentField {
        valid: !value.is_empty() && value.bytes().all(|c| c.is_ascii_uppercase() || c == b'<'),
        value: value.replace('<', ""),
    }
}

/// Everything an MRZ says, each field with whether its checks passed.
#[derive(Debug, Clone, PartialEq)]
pub struct MrzData {
    pub format: MrzFormat,
    pub kind: DocumentKind,
    /// The document code as printed (P, I, ID, AC, ...).
    pub document_code: String,
    pub issuing_country: DocumentField,
    pub name: DocumentField,
    pub document_number: DocumentField,
    pub nationality: DocumentField,
    pub date_of_birth: DocumentField,
    pub sex: DocumentField,
    pub expiry_date: DocumentField,
    /// The composite check digit over the number, dates and optional data.
    pub composite_valid: bool,
    /// The lines as read (after repairs), for audit.
    pub lines: Vec<String>,
}

impl MrzData {
    /// Every check digit of the zone held.
    pub fn all_checks_pass(&self) -> bool {
        self.composite_valid
            && self.document_number.valid
            && self.date_of_birth.valid
            && self.expiry_date.valid
    }
}

/// Parses MRZ lines of `format`. `today_yy` (two-digit current year) places birth years in the
/// right century. None when the lines do not have the format's shape. A number that fails its
/// check digit is tried with one O and 0 swapped ([`resolve`]).
pub fn parse(format: MrzFormat, lines: &[String], today_yy: u32) -> Option<MrzData> {
    parse_with(format, lines, today_yy, Swaps::OneOAnd0)
}

/// [`parse`] without the O/0 swap: for a zone read twice (`zone.rs`: Tesseract and the glyphs'
/// shapes), whose disagreements the check digits weigh. A swap there guesses against both
/// readings: one turned a 0 both read into an O to pass a number whose Q was a misread 0
/// (`MEQ28O127` for `ME0280127`; the number's and the composite check digits each pass one such
/// guess in ten).
pub fn parse_as_read(format: MrzFormat, lines: &[String], today_yy: u32) -> Option<MrzData> {
    parse_with(format, lines, today_yy, Swaps::None)
}

/// Whether a number failing its check digit may be read with an O and a 0 swapped.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Swaps {
    OneOAnd0,
    None,
}

fn parse_with(format: MrzFormat, lines: &[String], today_yy: u32, swaps: Swaps) -> Option<MrzData> {
    let (rows, cols) = format.shape();
    if lines.len() != rows || lines.iter().any(|l| l.len() != cols || !l.is_ascii()) {
        return None;
    }
    let mut data = match format {
        MrzFormat::Td1 => parse_td1(lines, today_yy, swaps),
        MrzFormat::Td2 | MrzFormat::Td3 => parse_two_line(format, lines, today_yy, swaps),
    };
    // The composite check digit covers the number, both dates and the optional data with their
    // own check digits. Each of those digits misses a misread one time in ten (two wrong
    // characters, or a run shifted by one cell so that a number's last character lands on its
    // check digit); the composite catches most of these. When it fails, which field is wrong
    // cannot be told, so none of them is trusted.
    if !data.composite_valid {
        data.document_number.valid = false;
        data.date_of_birth.valid = false;
        data.expiry_date.valid = false;
    }
    Some(data)
}

/// An alphanumeric field as its check digit confirms it. OCR's one frequent confusion in these
/// fields is the letter O with the digit 0 (OCR-B draws them alike); when the reading fails its
/// check, the readings with one O and 0 swapped are tried, and taken only if exactly one passes.
/// Trying more swaps would let the check digit pass misreads (and forgeries) far more often than
/// its one time in ten.
fn resolve(field: &str, check: u8, swaps: Swaps) -> String {
    if swaps == Swaps::None || verifies(field, check) {
        return field.to_string();
    }
    let passing: Vec<String> = field
        .bytes()
        .enumerate()
        .filter_map(|(i, c)| {
            let swapped = match c {
                b'O' => b'0',
                b'0' => b'O',
                _ => return None,
            };
            let mut candidate = field.as_bytes().to_vec();
            candidate[i] = swapped;
            String::from_utf8(candidate).ok()
        })
        .filter(|candidate| verifies(candidate, check))
        .collect();
    match passing.as_slice() {
        [only] => only.clone(),
        _ => field.to_string(),
    }
}

/// A number with its check digit; `<` fillers at the end are not part of the number.
fn checked_number(number: &str, check: u8) -> DocumentField {
    DocumentField {
        valid: verifies(number, check),
        value: number.trim_end_matches('<').replace('<', ""),
    }
}

fn checked_date(field: &str, check: u8, birth: bool, today_yy: u32) -> DocumentField {
    let field = repaired(field, Slot::Digit);
    match date(&field, birth, today_yy) {
        Some(value) => DocumentField {
            valid: verifies(&field, check),
            value,
        },
        None => DocumentField {
            value: field,
            valid: false,
        },
    }
}

fn digit(c: u8) -> u8 {
    repair(c, Slot::Digit)
}

fn sex(c: u8) -> DocumentField {
    let c = repair(c, Slot::Alpha);
    DocumentField {
        value: if c == b'<' {
            "X".into()
        } else {
            (c as char).into()
        },
        valid: matches!(c, b'M' | b'F' | b'X' | b'<'),
    }
}

fn kind_of(code: &str) -> DocumentKind {
    match code.as_bytes().first() {
        Some(b'P') => DocumentKind::Passport,
        Some(b'I' | b'A' | b'C') => DocumentKind::IdentityCard,
        Some(b'V') => DocumentKind::Visa,
        _ => DocumentKind::Unknown,
    }
}

fn parse_td1(lines: &[String], today_yy: u32, swaps: Swaps) -> MrzData {
    let mut l1s = lines[0].clone();
    if l1s.as_bytes()[14] != b'<' {
        let number = resolve(&l1s[5..14], digit(l1s.as_bytes()[14]), swaps);
        l1s.replace_range(5..14, &number);
    }
    let (l1, l2, l3) = (l1s.as_bytes(), &lines[1], &lines[2]);
    let l1s = &l1s;
    let document_code = repaired(&l1s[0..2], Slot::Alpha)
        .trim_end_matches('<')
        .to_string();
    // A number longer than 9 characters continues in the optional field: position 14 is then
    // `<`, and the optional field holds the rest, its last character being the check digit.
    let document_number = if l1[14] == b'<' && l1[15] != b'<' {
        let rest = l1s[15..30].trim_end_matches('<');
        match rest.len() {
            0 => checked_number(&l1s[5..14], b'?'),
            n => {
                let number = format!("{}{}", &l1s[5..14], &rest[..n - 1]);
                checked_number(&number, digit(rest.as_bytes()[n - 1]))
            }
        }
    } else {
        checked_number(&l1s[5..14], digit(l1[14]))
    };
    let l2r: String = repaired(&l2[0..7], Slot::Digit)
        + &l2[7..8]
        + &repaired(&l2[8..15], Slot::Digit)
        + &l2[15..29]
        + &repaired(&l2[29..30], Slot::Digit);
    let b2 = l2r.as_bytes();
    let composite_field = format!(
        "{}{}{}{}",
        &l1s[5..30],
        &l2r[0..7],
        &l2r[8..15],
        &l2r[18..29]
    );
    MrzData {
        format: MrzFormat::Td1,
        kind: kind_of(&document_code),
        document_code,
        issuing_country: code(&l1s[2..5]),
        name: name(l3),
        document_number,
        nationality: code(&l2r[15..18]),
        date_of_birth: checked_date(&l2r[0..6], b2[6], true, today_yy),
        sex: sex(b2[7]),
        expiry_date: checked_date(&l2r[8..14], b2[14], false, today_yy),
        composite_valid: verifies(&composite_field, b2[29]),
        lines: vec![l1s.clone(), l2r.clone(), l3.clone()],
    }
}

fn parse_two_line(format: MrzFormat, lines: &[String], today_yy: u32, swaps: Swaps) -> MrzData {
    let (l1, l2) = (&lines[0], &lines[1]);
    let document_code = repaired(&l1[0..2], Slot::Alpha)
        .trim_end_matches('<')
        .to_string();
    let cols = format.shape().1;
    // Positions that can only be digits: check digits, dates.
    let mut l2r = String::with_capacity(cols);
    l2r += &l2[0..9];
    l2r += &repaired(&l2[9..10], Slot::Digit);
    l2r += &repaired(&l2[10..13], Slot::Alpha);
    l2r += &repaired(&l2[13..20], Slot::Digit);
    l2r += &l2[20..21];
    l2r += &repaired(&l2[21..28], Slot::Digit);
    match format {
        MrzFormat::Td3 => {
            l2r += &l2[28..42];
            l2r += &repaired(&l2[42..44], Slot::Digit);
        }
        _ => {
            l2r += &l2[28..35];
            l2r += &repaired(&l2[35..36], Slot::Digit);
        }
    }
    let number = resolve(&l2r[0..9], l2r.as_bytes()[9], swaps);
    l2r.replace_range(0..9, &number);
    let b2 = l2r.as_bytes();
    let composite_field = match format {
        MrzFormat::Td3 => format!("{}{}{}", &l2r[0..10], &l2r[13..20], &l2r[21..43]),
        _ => format!("{}{}{}", &l2r[0..10], &l2r[13..20], &l2r[21..35]),
    };
    let mut composite_valid = verifies(&composite_field, b2[cols - 1]);
    if format == MrzFormat::Td3 {
        // The personal number has its own check digit.
        composite_valid &= verifies(&l2r[28..42], b2[42]);
    }
    MrzData {
        format,
        kind: kind_of(&document_code),
        document_code,
        issuing_country: code(&l1[2..5]),
        name: name(&l1[5..]),
        document_number: checked_number(&l2r[0..9], b2[9]),
        nationality: code(&l2r[10..13]),
        date_of_birth: checked_date(&l2r[13..19], b2[19], true, today_yy),
        sex: sex(b2[20]),
        expiry_date: checked_date(&l2r[21..27], b2[27], false, today_yy),
        composite_valid,
        lines: vec![l1.clone(), l2r.clone()],
    }
}

/// Builds the MRZ lines of a document, with every check digit computed: what a document
/// printer does. Used to make specimens and in tests; fields are given already in MRZ
/// characters (upper case, `<` for spaces) and are padded or cut to their widths.
pub fn compose(format: MrzFormat, fields: &MrzFields) -> Vec<String> {
    let pad = |s: &str, n: usize| {
        let mut s: String = s.chars().take(n).collect();
        while s.len() < n {
            s.push('<');
        }
        s
    };
    let cd = |s: &str| char::from(b'0' + check_digit(s));
    let name = format!("{}<<{}", fields.surname, fields.given_names).replace(' ', "<");
    let number = pad(&fields.document_number, 9);
    match format {
        MrzFormat::Td1 => {
            let l1 = format!(
                "{}{}{}{}{}",
                pad(&fields.document_code, 2),
                pad(&fields.issuing_country, 3),
                number,
                cd(&number),
                pad("", 15)
            );
            let mut l2 = format!(
                "{}{}{}{}{}{}{}{}",
                fields.date_of_birth,
                cd(&fields.date_of_birth),
                fields.sex,
                fields.expiry_date,
                cd(&fields.expiry_date),
                pad(&fields.nationality, 3),
                pad("", 11),
                ""
            );
            let composite = format!("{}{}{}{}", &l1[5..30], &l2[0..7], &l2[8..15], &l2[18..29]);
            l2.push(cd(&composite));
            vec![l1, l2, pad(&name, 30)]
        }
        MrzFormat::Td2 | MrzFormat::Td3 => {
            let cols = format.shape().1;
            let l1 = format!(
                "{}{}{}",
                pad(&fields.document_code, 2),
                pad(&fields.issuing_country, 3),
                pad(&name, cols - 5)
            );
            let optional = pad("", if format == MrzFormat::Td3 { 14 } else { 7 });
            let mut l2 = format!(
                "{}{}{}{}{}{}{}{}{}{}",
                number,
                cd(&number),
                pad(&fields.nationality, 3),
                fields.date_of_birth,
                cd(&fields.date_of_birth),
                fields.sex,
                fields.expiry_date,
                cd(&fields.expiry_date),
                optional,
                if format == MrzFormat::Td3 { "<" } else { "" }
            );
            let composite = if format == MrzFormat::Td3 {
                format!("{}{}{}", &l2[0..10], &l2[13..20], &l2[21..43])
            } else {
                format!("{}{}{}", &l2[0..10], &l2[13..20], &l2[21..35])
            };
            l2.push(cd(&composite));
            vec![l1, l2]
        }
    }
}

/// The fields [`compose`] writes, in MRZ characters.
#[derive(Debug, Clone, PartialEq)]
pub struct MrzFields {
    pub document_code: String,
    pub issuing_country: String,
    pub surname: String,
    pub given_names: String,
    pub document_number: String,
    pub nationality: String,
    /// YYMMDD.
    pub date_of_birth: String,
    /// M, F or <.
    pub sex: char,
    /// YYMMDD.
    pub expiry_date: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits_are_blind_to_characters_ten_apart() {
        // G (16) and 6, L (21) and 1, S (28) and 8 give the same check digits...
        for (a, b) in [(b'G', b'6'), (b'L', b'1'), (b'S', b'8')] {
            assert!(check_blind(a, b), "{} {}", a as char, b as char);
            assert_eq!(
                check_digit(&format!("X{}Y", a as char)),
                check_digit(&format!("X{}Y", b as char))
            );
        }
        // ...while the usual OCR confusions O/0, I/1, B/8, Z/2 change them.
        for (a, b) in [(b'O', b'0'), (b'I', b'1'), (b'B', b'8'), (b'Z', b'2')] {
            assert!(!check_blind(a, b), "{} {}", a as char, b as char);
        }
        assert!(!check_blind(b'?', b'6') && !check_blind(b'6', b'6'));
    }

    fn lines(s: &[&str]) -> Vec<String> {
        s.iter().map(|l| l.to_string()).collect()
    }

    /// ICAO 9303 part 4's specimen passport.
    const TD3: [&str; 2] = [
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
    ];
    /// ICAO 9303 part 5's specimen ID card.
    const TD1: [&str; 3] = [
        "I<UTOD231458907<<<<<<<<<<<<<<<",
        "7408122F1204159UTO<<<<<<<<<<<6",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    ];
    /// ICAO 9303 part 6's specimen TD2 document.
    const TD2: [&str; 2] = [
        "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
        "D231458907UTO7408122F1204159<<<<<<<6",
    ];

    #[test]
    fn check_digits_of_the_icao_specimens() {
        assert_eq!(check_digit("L898902C3"), 6);
        assert_eq!(check_digit("740812"), 2);
        assert_eq!(check_digit("120415"), 9);
        assert_eq!(check_digit("ZE184226B<<<<<"), 1);
    }

    #[test]
    fn td3_specimen_reads_and_verifies() {
        let m = parse(MrzFormat::Td3, &lines(&TD3), 26).unwrap();
        assert_eq!(m.kind, DocumentKind::Passport);
        assert_eq!(m.name.value, "ANNA MARIA ERIKSSON");
        assert_eq!(m.document_number.value, "L898902C3");
        assert_eq!(m.date_of_birth.value, "1974-08-12");
        assert_eq!(m.expiry_date.value, "2012-04-15");
        assert_eq!(m.issuing_country.value, "UTO");
        assert_eq!(m.sex.value, "F");
        assert!(m.all_checks_pass(), "{m:?}");
    }

    #[test]
    fn a_zone_read_twice_is_parsed_without_guessing_an_o_for_a_0() {
        // Tesseract's reading of a specimen card photographed at an angle: its Q is a misread 0
        // (printed ME0280127). Swapping the 0 at position 5 for an O passes the number's check
        // digit and the composite, one chance in ten each.
        let read = lines(&[
            "I<CANKOWALSKI<<FRANCK<<<<<<<<<<<<<<<",
            "MEQ2801274CAN0312118F3010013<<<<<<<2",
        ]);
        let guessed = parse(MrzFormat::Td2, &read, 26).unwrap();
        assert_eq!(guessed.document_number.value, "MEQ28O127");
        assert!(guessed.all_checks_pass());
        let as_read = parse_as_read(MrzFormat::Td2, &read, 26).unwrap();
        assert!(!as_read.document_number.valid && !as_read.all_checks_pass());
    }

    #[test]
    fn a_letter_after_the_given_names_fillers_makes_the_name_invalid() {
        // What a phone photograph of a specimen read (the last filler as K), and its truth.
        let misread = name("DUBOIS<<MAYA<<<<<<<<<<<<<<<<<<<<<<<<<<K");
        assert!(!misread.valid, "{misread:?}");
        let printed = name("DUBOIS<<MAYA<<<<<<<<<<<<<<<<<<<<<<<<<<<");
        assert_eq!(
            (printed.value.as_str(), printed.valid),
            ("MAYA DUBOIS", true)
        );
        // Given names are one filler apart, and a name may fill the field to its end.
        assert!(name("ERIKSSON<<ANNA<MARIA<<<<<<<<<<").valid);
        assert!(name("VANDERBERG<<ALEXANDRA<KATHARINA").valid);
    }

    #[test]
    fn td1_and_td2_specimens_read_and_verify() {
        let m = parse(MrzFormat::Td1, &lines(&TD1), 26).unwrap();
        assert_eq!(m.document_number.value, "D23145890");
        assert_eq!(m.kind, DocumentKind::IdentityCard);
        assert_eq!(m.name.value, "ANNA MARIA ERIKSSON");
        assert!(m.all_checks_pass(), "{m:?}");
        let m = parse(MrzFormat::Td2, &lines(&TD2), 26).unwrap();
        assert_eq!(m.document_number.value, "D23145890");
        assert_eq!(m.date_of_birth.value, "1974-08-12");
        assert!(m.all_checks_pass(), "{m:?}");
    }

    #[test]
    fn a_wrong_check_digit_invalidates_its_field_and_the_composite() {
        let mut l = lines(&TD3);
        l[1].replace_range(19..20, "3"); // birth date's check digit 2 → 3
        let m = parse(MrzFormat::Td3, &l, 26).unwrap();
        assert!(!m.date_of_birth.valid);
        assert!(!m.composite_valid && !m.all_checks_pass());
        // The composite failed: nothing it covers is trusted, the name still is.
        assert!(!m.document_number.valid && !m.expiry_date.valid);
        assert!(m.name.valid);
        let mut l = lines(&TD3);
        l[1].replace_range(0..1, "M"); // the number changes, its check digit does not
        let m = parse(MrzFormat::Td3, &l, 26).unwrap();
        assert!(!m.document_number.valid && !m.composite_valid);
    }

    #[test]
    fn a_misread_that_passes_its_own_check_digit_is_caught_by_the_composite() {
        // One wrong digit always fails a check digit; two can pass it (one time in ten). A birth
        // date misread that way still fails the composite.
        let misread = |d: &str| {
            let mut l = lines(&TD3);
            l[1].replace_range(13..19, d);
            parse(MrzFormat::Td3, &l, 26).unwrap()
        };
        let passing_own_digit: Vec<String> = (0..10_000)
            .map(|n| format!("74{n:04}"))
            .filter(|d| d != "740812" && check_digit(d) == 2 && date(d, true, 26).is_some())
            .collect();
        let caught = passing_own_digit
            .iter()
            .filter(|d| !misread(d).composite_valid)
            .count();
        // Most such misreads are caught by the composite (the rest change its sum by a multiple
        // of ten as well).
        assert!(
            caught * 10 > passing_own_digit.len() * 8,
            "{caught} of {}",
            passing_own_digit.len()
        );
        let wrong = passing_own_digit
            .iter()
            .find(|d| !misread(d).composite_valid)
            .unwrap();
        let m = misread(wrong);
        assert!(!m.date_of_birth.valid, "{m:?}");
        assert!(!m.document_number.valid && !m.expiry_date.valid);
        assert!(m.name.valid, "names are not under the composite");
    }

    #[test]
    fn ocr_confusions_are_repaired_where_only_digits_fit() {
        let mut l = lines(&TD3);
        l[1].replace_range(13..19, "74O8I2"); // O for 0, I for 1 in the birth date
        let m = parse(MrzFormat::Td3, &l, 26).unwrap();
        assert_eq!(m.date_of_birth.value, "1974-08-12");
        assert!(m.all_checks_pass());
    }

    #[test]
    fn a_misread_lookalike_in_the_number_is_settled_by_its_check_digit() {
        let td1 = compose(
            MrzFormat::Td1,
            &MrzFields {
                document_code: "I".into(),
                issuing_country: "UTO".into(),
                surname: "ERIKSSON".into(),
                given_names: "ANNA".into(),
                document_number: "OE6776340".into(),
                nationality: "UTO".into(),
                date_of_birth: "740812".into(),
                sex: 'F',
                expiry_date: "320415".into(),
            },
        );
        let mut misread = td1.clone();
        misread[0].replace_range(5..6, "0"); // the letter O read as the digit 0
        let m = parse(MrzFormat::Td1, &misread, 26).unwrap();
        assert_eq!(m.document_number.value, "OE6776340");
        assert!(m.all_checks_pass(), "{m:?}");
    }

    #[test]
    fn impossible_dates_are_invalid() {
        let mut l = lines(&TD3);
        l[1].replace_range(13..19, "741312");
        l[1].replace_range(19..20, &check_digit("741312").to_string());
        let m = parse(MrzFormat::Td3, &l, 26).unwrap();
        assert!(!m.date_of_birth.valid, "month 13");
    }

    #[test]
    fn composed_zones_parse_back_with_every_check_passing() {
        let fields = MrzFields {
            document_code: "I".into(),
            issuing_country: "UTO".into(),
            surname: "ERIKSSON".into(),
            given_names: "ANNA MARIA".into(),
            document_number: "D23145890".into(),
            nationality: "UTO".into(),
            date_of_birth: "740812".into(),
            sex: 'F',
            expiry_date: "120415".into(),
        };
        assert_eq!(compose(MrzFormat::Td1, &fields), lines(&TD1));
        assert_eq!(compose(MrzFormat::Td2, &fields), lines(&TD2));
        let td3 = compose(MrzFormat::Td3, &fields);
        let m = parse(MrzFormat::Td3, &td3, 26).unwrap();
        assert!(m.all_checks_pass(), "{td3:?}");
        assert_eq!(m.name.value, "ANNA MARIA ERIKSSON");
    }

    #[test]
    fn wrong_shapes_are_not_parsed() {
        assert!(parse(MrzFormat::Td3, &lines(&TD1[..2]), 26).is_none());
        assert!(parse(MrzFormat::Td1, &lines(&TD3), 26).is_none());
    }
}
