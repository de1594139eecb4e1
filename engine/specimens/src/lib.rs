//! Specimen identity documents for tests, and photographs of them.
//!
//! A specimen is drawn from a seed: a made-up person (name, number, dates) printed on an ID-1
//! card (TD1 zone and an AAMVA PDF417 on the back), a TD2 card, a TD3 passport page, or a
//! driving licence (PDF417 on the back, no zone), with a real portrait (a still of franck,
//! supplied by the caller). Zones are composed by the engine's own `mrz::compose`, so every
//! check digit is right unless a test breaks one on purpose; text is set in OCR-B from Debian's
//! `fonts-ocr-b`. [`photograph`] then does to a page what a phone camera does: perspective on a
//! table, blur, glare, JPEG.
//!
//! [`covers`] renders on real photos what makes them unfit for face matching (a hand over an
//! eye, dark lenses, a mask, blur, distance); [`people`] gathers the real people of the test
//! media the matching examples share.

pub mod covers;
pub mod people;

use livegate_identity::document::aamva::{self, AamvaFields};
use livegate_identity::document::mrz::{self, MrzFields, MrzFormat};
use opencv::core::{self, Mat, Point, Point2f, Rect, Scalar, Size, Vector};
use opencv::prelude::*;
use opencv::{freetype, imgcodecs, imgproc};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Debian's `fonts-ocr-b`: the typeface ICAO 9303 prescribes for zones (the reader's too).
pub const OCR_B: &str = livegate_identity::document::glyphs::OCR_B_FONT;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// ID-1 card: portrait on the front; PDF417 (AAMVA) and a TD1 zone on the back.
    Td1Card,
    /// ID-2 card with a TD2 zone under the portrait; one side.
    Td2Card,
    /// Passport data page with a TD3 zone; one side.
    Td3Passport,
    /// Driving licence: portrait on the front, PDF417 (AAMVA) on the back, no zone.
    Licence,
}

impl Style {
    pub const ALL: [Style; 4] = [
        Style::Td1Card,
        Style::Td2Card,
        Style::Td3Passport,
        Style::Licence,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Style::Td1Card => "TD1 card + PDF417",
            Style::Td2Card => "TD2 card",
            Style::Td3Passport => "TD3 passport",
            Style::Licence => "licence (PDF417)",
        }
    }
}

/// What is printed on a specimen: the answers a reader should give.
#[derive(Debug, Clone, PartialEq)]
pub struct Truth {
    /// Given names, then surname, as the reader reports them.
    pub name: String,
    pub id_number: String,
    /// ISO 8601.
    pub date_of_birth: String,
    pub expiry_date: String,
    pub issuing_country: String,
}

pub struct Specimen {
    pub style: Style,
    pub truth: Truth,
    /// The zone's lines as printed (empty for a licence).
    pub mrz: Vec<String>,
    /// Front first; one or two pages.
    pub pages: Vec<Mat>,
}

const SURNAMES: [&str; 8] = [
    "MARTIN", "ERIKSSON", "OKAFOR", "NAKAMURA", "GARCIA", "KOWALSKI", "DUBOIS", "SILVA",
];
const GIVEN: [&str; 8] = [
    "FRANCK", "ANNA", "LUCAS", "MAYA", "OMAR", "ELENA", "JONAS", "ZOE",
];

/// A deliberate fault in a specimen, for tests of what a reader must refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// The zone's birth-date check digit is off by one (a forger's or a printer's error).
    BirthDateCheckDigit,
}

/// A specimen of `style` drawn from `seed`, with `portrait` (a BGR photo of a face, cropped to
/// the head and shoulders) as the holder's picture.
pub fn specimen(style: Style, seed: u64, portrait: &Mat) -> opencv::Result<Specimen> {
    specimen_with(style, seed, portrait, Fault::None)
}

/// [`specimen`] with a deliberate fault. (Long as a card is: it draws each of the card's parts
/// in turn, top to bottom, so that the drawing reads like the layout it makes.)
pub fn specimen_with(
    style: Style,
    seed: u64,
    portrait: &Mat,
    fault: Fault,
) -> opencv::Result<Specimen> {
    let mut rng = StdRng::seed_from_u64(seed);
    let surname = SURNAMES[rng.random_range(0..SURNAMES.len())];
    let given = GIVEN[rng.random_range(0..GIVEN.len())];
    let letters = |rng: &mut StdRng, n: usize| -> String {
        (0..n)
            .map(|_| (b'A' + rng.random_range(0..26u8)) as char)
            .collect()
    };
    let digits = |rng: &mut StdRng, n: usize| -> String {
        (0..n)
            .map(|_| (b'0' + rng.random_range(0..10u8)) as char)
            .collect()
    };
    let number = format!("{}{}", letters(&mut rng, 2), digits(&mut rng, 7));
    let (by, bm, bd) = (
        rng.random_range(1950..2005),
        rng.random_range(1..=12),
        rng.random_range(1..=28),
    );
    let (ey, em, ed) = (
        rng.random_range(2027..2036),
        rng.random_range(1..=12),
        rng.random_range(1..=28),
    );
    let country = ["UTO", "FRA", "NLD", "CAN"][rng.random_range(0..4)];
    let sex = ['M', 'F'][rng.random_range(0..2)];
    let truth = Truth {
        name: format!("{given} {surname}"),
        id_number: number.clone(),
        date_of_birth: format!("{by:04}-{bm:02}-{bd:02}"),
        expiry_date: format!("{ey:04}-{em:02}-{ed:02}"),
        issuing_country: if style == Style::Licence {
            "USA".into()
        } else {
            country.into()
        },
    };
    let fields = MrzFields {
        document_code: match style {
            Style::Td3Passport => "P".into(),
            _ => "I".into(),
        },
        issuing_country: country.into(),
        surname: surname.into(),
        given_names: given.into(),
        document_number: number.clone(),
        nationality: country.into(),
        date_of_birth: format!("{:02}{bm:02}{bd:02}", by % 100),
        sex,
        expiry_date: format!("{:02}{em:02}{ed:02}", ey % 100),
    };
    let barcode = aamva::compose(&AamvaFields {
        issuer_id: "636014".into(),
        id_number: number.clone(),
        family_name: surname.into(),
        first_name: given.into(),
        date_of_birth: truth.date_of_birth.clone(),
        expiry_date: truth.expiry_date.clone(),
        sex: if sex == 'M' { 1 } else { 2 },
        jurisdiction: "CA".into(),
        country: if style == Style::Licence {
            "USA".into()
        } else {
            // The barcode of a TD1 card repeats its data; AAMVA only knows USA and CAN.
            "CAN".into()
        },
    });
    let mut printer = Printer::new()?;
    let hue = rng.random_range(0..3);
    let (mrz, pages) = match style {
        Style::Td1Card => {
            let zone = faulty(mrz::compose(MrzFormat::Td1, &fields), MrzFormat::Td1, fault);
            let mut front = printer.blank(1012, 638, hue, &mut rng)?;
            printer.front(&mut front, "IDENTITY CARD", &truth, portrait, 0.62)?;
            let mut back = printer.blank(1012, 638, hue, &mut rng)?;
            printer.barcode(&mut back, &barcode, Rect::new(60, 40, 892, 250))?;
            printer.zone(&mut back, &zone)?;
            (zone, vec![front, back])
        }
        Style::Td2Card => {
            let zone = faulty(mrz::compose(MrzFormat::Td2, &fields), MrzFormat::Td2, fault);
            let mut front = printer.blank(1240, 874, hue, &mut rng)?;
            printer.front(&mut front, "IDENTITY CARD", &truth, portrait, 0.62)?;
            printer.zone(&mut front, &zone)?;
            (zone, vec![front])
        }
        Style::Td3Passport => {
            let zone = faulty(mrz::compose(MrzFormat::Td3, &fields), MrzFormat::Td3, fault);
            let mut page = printer.blank(1476, 1039, hue, &mut rng)?;
            printer.front(&mut page, "PASSPORT", &truth, portrait, 0.62)?;
            printer.zone(&mut page, &zone)?;
            (zone, vec![page])
        }
        Style::Licence => {
            let mut front = printer.blank(1012, 638, hue, &mut rng)?;
            printer.front(&mut front, "DRIVER LICENSE", &truth, portrait, 0.75)?;
            let mut back = printer.blank(1012, 638, hue, &mut rng)?;
            printer.barcode(&mut back, &barcode, Rect::new(60, 120, 892, 330))?;
            (Vec::new(), vec![front, back])
        }
    };
    Ok(Specimen {
        style,
        truth,
        mrz,
        pages,
    })
}

/// The zone with `fault` applied.
fn faulty(mut zone: Vec<String>, format: MrzFormat, fault: Fault) -> Vec<String> {
    if fault == Fault::BirthDateCheckDigit {
        // Line 2: position 6 in TD1, 19 in TD2 and TD3.
        let at = if format == MrzFormat::Td1 { 6 } else { 19 };
        let digit = zone[1].as_bytes()[at] - b'0';
        let wrong = char::from(b'0' + (digit + 1) % 10).to_string();
        zone[1].replace_range(at..at + 1, &wrong);
    }
    zone
}

/// Draws pages: paper with a security pattern, the portrait, text in OCR-B, barcodes.
struct Printer {
    font: core::Ptr<freetype::FreeType2>,
}

impl Printer {
    fn new() -> opencv::Result<Self> {
        let mut font = freetype::create_free_type2()?;
        font.load_font_data(OCR_B, 0)?;
        Ok(Printer { font })
    }

    /// Pale paper in one of three tints with fine wavy guilloche lines.
    fn blank(&mut self, w: i32, h: i32, hue: usize, rng: &mut StdRng) -> opencv::Result<Mat> {
        let tint = [
            Scalar::new(238.0, 232.0, 222.0, 0.0),
            Scalar::new(225.0, 238.0, 230.0, 0.0),
            Scalar::new(240.0, 228.0, 236.0, 0.0),
        ][hue % 3];
        let mut page = Mat::new_rows_cols_with_default(h, w, core::CV_8UC3, tint)?;
        let phase = rng.random_range(0.0..std::f64::consts::TAU);
        for k in 0..(h / 18) {
            let y0 = k * 18;
            let pts: Vector<Point> = (0..=w / 8)
                .map(|i| {
                    let x = i * 8;
                    let y = y0 as f64 + 6.0 * ((x as f64) / 40.0 + phase + k as f64 * 0.7).sin();
                    Point::new(x, y as i32)
                })
                .collect();
            let line = Vector::<Vector<Point>>::from_iter([pts]);
            let colour = Scalar::new(tint[0] - 28.0, tint[1] - 22.0, tint[2] - 18.0, 0.0);
            imgproc::polylines(&mut page, &line, false, colour, 1, imgproc::LINE_AA, 0)?;
        }
        Ok(page)
    }

    fn text(&mut self, page: &mut Mat, s: &str, x: i32, y: i32, height: i32) -> opencv::Result<()> {
        self.font.put_text(
            page,
            s,
            Point::new(x, y),
            height,
            Scalar::new(30.0, 30.0, 30.0, 0.0),
            -1,
            imgproc::LINE_AA,
            true,
        )
    }

    /// Title, portrait on the left, fields on the right. `portrait_height` is a share of the
    /// page's height.
    fn front(
        &mut self,
        page: &mut Mat,
        title: &str,
        truth: &Truth,
        portrait: &Mat,
        portrait_height: f32,
    ) -> opencv::Result<()> {
        let (w, h) = (page.cols(), page.rows());
        let unit = w / 40;
        self.text(page, title, unit * 2, unit * 5 / 2, unit + unit / 2)?;
        let ph = (h as f32 * portrait_height) as i32;
        let pw = ph * 3 / 4;
        let mut sized = Mat::default();
        imgproc::resize(
            portrait,
            &mut sized,
            Size::new(pw, ph),
            0.0,
            0.0,
            imgproc::INTER_AREA,
        )?;
        let at = Rect::new(unit * 2, unit * 4, pw, ph);
        let mut slot = Mat::roi_mut(page, at)?;
        sized.copy_to(&mut slot)?;
        let (x, mut y) = (unit * 3 + pw, unit * 5);
        let (given, surname) = truth.name.split_once(' ').unwrap_or(("", &truth.name));
        for (label, value) in [
            ("SURNAME", surname),
            ("GIVEN NAMES", given),
            ("DATE OF BIRTH", &truth.date_of_birth),
            ("DOCUMENT NO", &truth.id_number),
            ("EXPIRY", &truth.expiry_date),
        ] {
            self.text(page, label, x, y, unit * 2 / 3)?;
            self.text(page, value, x, y + unit, unit)?;
            y += unit * 2 + unit / 2;
        }
        Ok(())
    }

    /// The zone at the bottom, in OCR-B, its characters spread over nine tenths of the width.
    fn zone(&mut self, page: &mut Mat, lines: &[String]) -> opencv::Result<()> {
        let (w, h) = (page.cols(), page.rows());
        let chars = lines[0].len() as i32;
        // OCR-B's advance is 0.6 of the font height at this size.
        let mut height = 40;
        let mut baseline = 0;
        while height > 8 {
            let size = self
                .font
                .get_text_size(&lines[0], height, -1, &mut baseline)?;
            if size.width <= w * 9 / 10 {
                break;
            }
            height -= 1;
        }
        let size = self
            .font
            .get_text_size(&lines[0], height, -1, &mut baseline)?;
        let x = (w - size.width) / 2;
        let step = height * 3 / 2;
        let top = h - step * lines.len() as i32 - height / 2;
        for (i, line) in lines.iter().enumerate() {
            debug_assert_eq!(line.len() as i32, chars);
            self.text(page, line, x, top + step * (i as i32 + 1), height)?;
        }
        Ok(())
    }

    /// A PDF417 symbol of `text`, as large as fits `area`.
    fn barcode(&mut self, page: &mut Mat, text: &str, area: Rect) -> opencv::Result<()> {
        use rxing::Writer;
        let matrix = rxing::pdf417::PDF417Writer
            .encode(text, &rxing::BarcodeFormat::PDF_417, 0, 0)
            .map_err(|e| opencv::Error::new(core::StsError, format!("pdf417: {e}")))?;
        let (mw, mh) = (matrix.width() as i32, matrix.height() as i32);
        let module = (area.width / mw).min(area.height / mh).max(1);
        let (ox, oy) = (
            area.x + (area.width - mw * module) / 2,
            area.y + (area.height - mh * module) / 2,
        );
        // A white quiet zone, then the modules.
        imgproc::rectangle(
            page,
            Rect::new(ox - 12, oy - 12, mw * module + 24, mh * module + 24),
            Scalar::all(255.0),
            -1,
            imgproc::LINE_8,
            0,
        )?;
        for y in 0..mh {
            for x in 0..mw {
                if matrix.get(x as u32, y as u32) {
                    imgproc::rectangle(
                        page,
                        Rect::new(ox + x * module, oy + y * module, module, module),
                        Scalar::all(0.0),
                        -1,
                        imgproc::LINE_8,
                        0,
                    )?;
                }
            }
        }
        Ok(())
    }
}

/// What a camera does to a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capture {
    /// The page as printed: a flatbed scan.
    Scan,
    /// Photographed at an angle on a table.
    Perspective,
    /// Out of focus.
    Blur,
    /// A lamp's reflection on the laminate.
    Glare,
    /// Compressed hard.
    Jpeg,
    /// All of the above at once, milder each.
    Phone,
}

impl Capture {
    pub const ALL: [Capture; 6] = [
        Capture::Scan,
        Capture::Perspective,
        Capture::Blur,
        Capture::Glare,
        Capture::Jpeg,
        Capture::Phone,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Capture::Scan => "scan",
            Capture::Perspective => "perspective",
            Capture::Blur => "blur",
            Capture::Glare => "glare",
            Capture::Jpeg => "jpeg",
            Capture::Phone => "phone (all, milder)",
        }
    }
}

/// Every page of `specimen` photographed by a phone (page `i` with seed `seed + i`), as the
/// JPEGs a person uploads for a KYC check.
pub fn phone_uploads(
    specimen: &Specimen,
    seed: u64,
) -> Result<Vec<Vec<u8>>, livegate_engine::EngineError> {
    specimen
        .pages
        .iter()
        .zip(seed..)
        .map(|(page, seed)| {
            let shot = photograph(page, Capture::Phone, seed)?;
            livegate_engine::frame::encode_jpeg(&shot, 90)
        })
        .collect()
}

/// `page` as `capture` would record it; the same seed gives the same picture.
pub fn photograph(page: &Mat, capture: Capture, seed: u64) -> opencv::Result<Mat> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed_d0c5);
    let mild = capture == Capture::Phone;
    let mut img = page.clone();
    if matches!(capture, Capture::Perspective | Capture::Phone) {
        img = on_table(&img, if mild { 0.05 } else { 0.08 }, &mut rng)?;
    }
    if matches!(capture, Capture::Glare | Capture::Phone) {
        img = glare(&img, if mild { 0.6 } else { 0.85 }, &mut rng)?;
    }
    if matches!(capture, Capture::Blur | Capture::Phone) {
        let sigma = if mild {
            1.0
        } else {
            rng.random_range(1.3..1.8)
        };
        let mut out = Mat::default();
        imgproc::gaussian_blur_def(&img, &mut out, Size::new(0, 0), sigma)?;
        img = out;
    }
    if matches!(capture, Capture::Jpeg | Capture::Phone) {
        let quality = if mild { 70 } else { rng.random_range(35..50) };
        let mut buf = Vector::<u8>::new();
        let params = Vector::<i32>::from_slice(&[imgcodecs::IMWRITE_JPEG_QUALITY, quality]);
        imgcodecs::imencode(".jpg", &img, &mut buf, &params)?;
        img = imgcodecs::imdecode(&buf, imgcodecs::IMREAD_COLOR)?;
    }
    Ok(img)
}

/// The page lying on a darker table, seen from off its axis: each corner moves by up to
/// `skew` of the page's size.
fn on_table(page: &Mat, skew: f32, rng: &mut StdRng) -> opencv::Result<Mat> {
    let (w, h) = (page.cols() as f32, page.rows() as f32);
    let (cw, ch) = ((w * 1.3) as i32, (h * 1.4) as i32);
    let table = Scalar::new(
        rng.random_range(40.0..90.0),
        rng.random_range(50.0..90.0),
        rng.random_range(60.0..110.0),
        0.0,
    );
    let mut canvas = Mat::new_rows_cols_with_default(ch, cw, core::CV_8UC3, table)?;
    let (ox, oy) = ((cw as f32 - w) / 2.0, (ch as f32 - h) / 2.0);
    let mut jitter = || {
        (
            rng.random_range(-skew..skew) * w,
            rng.random_range(-skew..skew) * h,
        )
    };
    let corners = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)];
    let src = Vector::<Point2f>::from_iter(corners.iter().map(|&(x, y)| Point2f::new(x, y)));
    let dst = Vector::<Point2f>::from_iter(corners.iter().map(|&(x, y)| {
        let (dx, dy) = jitter();
        Point2f::new(x + ox + dx, y + oy + dy)
    }));
    let m = imgproc::get_perspective_transform(&src, &dst, core::DECOMP_LU)?;
    imgproc::warp_perspective(
        page,
        &mut canvas,
        &m,
        Size::new(cw, ch),
        imgproc::INTER_LINEAR,
        core::BORDER_TRANSPARENT,
        Scalar::default(),
    )?;
    Ok(canvas)
}

/// A soft bright ellipse somewhere on the picture, up to `strength` of full white.
fn glare(img: &Mat, strength: f32, rng: &mut StdRng) -> opencv::Result<Mat> {
    let (w, h) = (img.cols(), img.rows());
    let mut mask = Mat::new_rows_cols_with_default(h, w, core::CV_32FC1, Scalar::all(0.0))?;
    let centre = Point::new(
        rng.random_range(w / 5..w * 4 / 5),
        rng.random_range(h / 5..h * 4 / 5),
    );
    let axes = Size::new(
        rng.random_range(w / 10..w / 5),
        rng.random_range(h / 12..h / 6),
    );
    imgproc::ellipse(
        &mut mask,
        centre,
        axes,
        rng.random_range(0.0..180.0),
        0.0,
        360.0,
        Scalar::all(strength as f64),
        -1,
        imgproc::LINE_AA,
        0,
    )?;
    let mut soft = Mat::default();
    imgproc::gaussian_blur_def(&mask, &mut soft, Size::new(0, 0), (axes.width / 2) as f64)?;
    let mut f = Mat::default();
    img.convert_to(&mut f, core::CV_32FC3, 1.0, 0.0)?;
    let mut soft3 = Mat::default();
    imgproc::cvt_color_def(&soft, &mut soft3, imgproc::COLOR_GRAY2BGR)?;
    // out = img + (255 - img) * mask: the reflection washes the print out towards white.
    let mut white = Mat::new_rows_cols_with_default(h, w, core::CV_32FC3, Scalar::all(255.0))?;
    let mut gap = Mat::default();
    core::subtract_def(&white, &f, &mut gap)?;
    let mut lift = Mat::default();
    core::multiply_def(&gap, &soft3, &mut lift)?;
    core::add_def(&f, &lift, &mut white)?;
    let mut out = Mat::default();
    white.convert_to(&mut out, core::CV_8UC3, 1.0, 0.0)?;
    Ok(out)
}

/// The middle of a photo as a 3:4 portrait (head and shoulders for a franck still, 720×576 with
/// the face in the middle, or a portrait photo such as obama.jpg), from its top edge down.
pub fn portrait_from_still(still: &Mat) -> opencv::Result<Mat> {
    let (w, h) = (still.cols(), still.rows());
    let (cw, ch) = if w * 4 > h * 3 {
        let ch = h * 9 / 10;
        (ch * 3 / 4, ch)
    } else {
        (w, w * 4 / 3)
    };
    let r = Rect::new((w - cw) / 2, 0, cw, ch.min(h));
    Mat::roi(still, r)?.try_clone()
}

/// `frame` as a camera would see it with a screen in front of the face showing `rgb`: each
/// pixel gains `strength × channel / 255` of itself (skin reflects in proportion to its own
/// colour), fully on the face and fading with distance from it (a screen 30 cm away lights the
/// face and barely the room). 0.10 is a screen adding a tenth of the ambient light at full
/// channel. The light step's tests use it: no camera here faces a screen.
pub fn screen_lit(
    frame: &Mat,
    rgb: [u8; 3],
    strength: f32,
    face: &livegate_engine::geometry::Rect,
) -> opencv::Result<Mat> {
    let (cx, cy) = face.center();
    let mut out = frame.try_clone()?;
    for y in 0..out.rows() {
        for x in 0..out.cols() {
            let dx = (x as f32 - cx) / face.width;
            let dy = (y as f32 - cy) / face.height;
            let reach = (-(dx * dx + dy * dy)).exp();
            let px = out.at_2d_mut::<core::Vec3b>(y, x)?;
            for (channel, c) in [(0, rgb[2]), (1, rgb[1]), (2, rgb[0])] {
                let gain = 1.0 + strength * reach * c as f32 / 255.0;
                px[channel] = (px[channel] as f32 * gain).min(255.0) as u8;
            }
        }
    }
    Ok(out)
}
