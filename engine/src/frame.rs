//! Turning what a client sends into an upright BGR image.
//!
//! Clients send JPEG or PNG, or raw camera buffers (RGB24, NV21, I420) with their size, plus the
//! clockwise rotation that makes the picture upright and whether they mirrored it. Everything
//! downstream works on the upright, unmirrored (camera's view) image, so that "the user's own
//! left" means the same thing for every client.

use opencv::core::{CV_8UC1, CV_8UC3, Mat, Scalar};
use opencv::prelude::*;
use opencv::{core, imgcodecs, imgproc};

use crate::error::EngineError;

/// Largest decoded frame accepted, in pixels (4096×4096). Compressed images declare their size in
/// their header; a small file that would decode to a huge bitmap is refused before decoding.
pub const MAX_FRAME_PIXELS: u64 = 4096 * 4096;
/// Longest side accepted, in pixels. OpenCV's geometric operations address rows and columns
/// with 16-bit integers, so a thin frame of a few pixels by 32,767 or more fails inside them;
/// no camera makes one.
pub const MAX_FRAME_SIDE: u64 = 8192;

/// Refuses a declared geometry beyond [`MAX_FRAME_PIXELS`] or [`MAX_FRAME_SIDE`].
fn check_size(w: u64, h: u64) -> Result<(), EngineError> {
    if w == 0 || h == 0 || w * h > MAX_FRAME_PIXELS || w.max(h) > MAX_FRAME_SIDE {
        return Err(invalid(format!(
            "{w}x{h} image is empty, larger than {MAX_FRAME_PIXELS} pixels or longer than \
             {MAX_FRAME_SIDE} on a side"
        )));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameEncoding {
    Jpeg,
    Png,
    Rgb24,
    Nv21,
    I420,
}

/// One frame as a client sent it.
#[derive(Debug, Clone, Copy)]
pub struct FrameInput<'a> {
    pub encoding: FrameEncoding,
    /// Required for raw encodings; ignored (may be 0) for JPEG and PNG.
    pub width: u32,
    pub height: u32,
    /// Clockwise degrees that make the image upright: 0, 90, 180 or 270.
    pub rotation: u32,
    /// The client mirrored the image (a selfie preview); it is flipped back.
    pub mirrored: bool,
    pub data: &'a [u8],
}

impl<'a> FrameInput<'a> {
    /// An upright, unmirrored JPEG (its size is in its header).
    pub fn jpeg(data: &'a [u8]) -> Self {
        FrameInput {
            encoding: FrameEncoding::Jpeg,
            width: 0,
            height: 0,
            rotation: 0,
            mirrored: false,
            data,
        }
    }

    /// An upright, unmirrored JPEG or PNG, whichever its first bytes say it is (uploaded images
    /// carry no declared encoding). Anything else is left as JPEG and refused by [`decode`].
    pub fn image(data: &'a [u8]) -> Self {
        let encoding = if data.starts_with(b"\x89PNG") {
            FrameEncoding::Png
        } else {
            FrameEncoding::Jpeg
        };
        FrameInput {
            encoding,
            ..FrameInput::jpeg(data)
        }
    }
}

fn invalid(msg: impl Into<String>) -> EngineError {
    EngineError::InvalidFrame(msg.into())
}

/// Decodes a frame into an upright, unmirrored 8-bit BGR image.
pub fn decode(input: &FrameInput) -> Result<Mat, EngineError> {
    if input.data.is_empty() {
        return Err(invalid("frame has no data"));
    }
    let bgr = match input.encoding {
        FrameEncoding::Jpeg | FrameEncoding::Png => decode_compressed(input)?,
        FrameEncoding::Rgb24 => {
            let (w, h) = raw_size(input, 3, 1)?;
            let mut rgb = Mat::new_rows_cols_with_default(h, w, CV_8UC3, Scalar::all(0.0))?;
            rgb.data_bytes_mut()?.copy_from_slice(input.data);
            let mut bgr = Mat::default();
            imgproc::cvt_color_def(&rgb, &mut bgr, imgproc::COLOR_RGB2BGR)?;
            bgr
        }
        FrameEncoding::Nv21 | FrameEncoding::I420 => {
            if !input.width.is_multiple_of(2) || !input.height.is_multiple_of(2) {
                return Err(invalid("NV21/I420 frames need an even width and height"));
            }
            let (w, h) = raw_size(input, 3, 2)?;
            let mut yuv = Mat::new_rows_cols_with_default(h + h / 2, w, CV_8UC1, Scalar::all(0.0))?;
            yuv.data_bytes_mut()?.copy_from_slice(input.data);
            let code = if input.encoding == FrameEncoding::Nv21 {
                imgproc::COLOR_YUV2BGR_NV21
            } else {
                imgproc::COLOR_YUV2BGR_I420
            };
            let mut bgr = Mat::default();
            imgproc::cvt_color_def(&yuv, &mut bgr, code)?;
            bgr
        }
    };
    orient(bgr, input.rotation, input.mirrored)
}

/// Checks a raw buffer's declared size: `num/den` bytes per pixel. Returns (width, height).
fn raw_size(input: &FrameInput, num: u64, den: u64) -> Result<(i32, i32), EngineError> {
    let (w, h) = (input.width as u64, input.height as u64);
    if w == 0 || h == 0 {
        return Err(invalid("raw frames need a width and a height"));
    }
    check_size(w, h)?;
    let expected = w * h * num / den;
    if input.data.len() as u64 != expected {
        return Err(invalid(format!(
            "{:?} {w}x{h} needs {expected} bytes, got {}",
            input.encoding,
            input.data.len()
        )));
    }
    Ok((w as i32, h as i32))
}

fn decode_compressed(input: &FrameInput) -> Result<Mat, EngineError> {
    let (w, h, exif) = match input.encoding {
        FrameEncoding::Png => png_size(input.data).map(|(w, h)| (w, h, false)),
        _ => jpeg_header(input.data),
    }
    .ok_or_else(|| invalid(format!("not a {:?} image", input.encoding)))?;
    check_size(w as u64, h as u64)?;
    // A camera frame's JPEG (no EXIF) goes straight to BGR through libjpeg-turbo: 0.7 ms at
    // 640×480 against OpenCV's 1.5, whose decoder gets RGB from the same library and swaps every
    // pixel after, and the same pixels. OpenCV keeps what that path does not do: PNG, JPEGs
    // with EXIF (turned upright by their orientation, as phone photos need) and any JPEG
    // libjpeg-turbo refuses (CMYK; truncated data, which OpenCV decodes as far as it goes).
    if input.encoding == FrameEncoding::Jpeg
        && !exif
        && let Some(bgr) = jpeg_to_bgr(input.data)?
    {
        return Ok(bgr);
    }
    let buf = core::Vector::<u8>::from_slice(input.data);
    let mat = imgcodecs::imdecode(&buf, imgcodecs::IMREAD_COLOR)?;
    if mat.empty() {
        return Err(invalid(format!("corrupt {:?} image", input.encoding)));
    }
    Ok(mat)
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(data: &[u8]) -> Option<(u32, u32)> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if data.len() < 24 || !data.starts_with(SIGNATURE) || &data[12..16] != b"IHDR" {
        return None;
    }
    let w = u32::from_be_bytes(data[16..20].try_into().ok()?);
    let h = u32::from_be_bytes(data[20..24].try_into().ok()?);
    Some((w, h))
}

/// A JPEG decoded by libjpeg-turbo into BGR; None when it refuses the data.
fn jpeg_to_bgr(data: &[u8]) -> Result<Option<Mat>, EngineError> {
    let Ok(mut decompressor) = turbojpeg::Decompressor::new() else {
        return Ok(None);
    };
    let Ok(header) = decompressor.read_header(data) else {
        return Ok(None);
    };
    check_size(header.width as u64, header.height as u64)?;
    let mut bgr = Mat::new_rows_cols_with_default(
        header.height as i32,
        header.width as i32,
        CV_8UC3,
        Scalar::all(0.0),
    )?;
    let image = turbojpeg::Image {
        pixels: bgr.data_bytes_mut()?,
        width: header.width,
        pitch: header.width * 3,
        height: header.height,
        format: turbojpeg::PixelFormat::BGR,
    };
    Ok(decompressor.decompress(data, image).is_ok().then_some(bgr))
}

/// Width and height from a JPEG's first start-of-frame marker, and whether an EXIF segment
/// (APP1 `Exif`) comes before it.
fn jpeg_header(data: &[u8]) -> Option<(u32, u32, bool)> {
    if data.len() < 4 || data[0] != 0xFF || data[1] != 0xD8 {
        return None;
    }
    let mut exif = false;
    let mut i = 2;
    while i + 4 <= data.len() {
        if data[i] != 0xFF {
            return None;
        }
        let marker = data[i + 1];
        if marker == 0xFF {
            i += 1; // fill byte
            continue;
        }
        let len = u16::from_be_bytes([data[i + 2], data[i + 3]]) as usize;
        let is_sof = (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            if i + 9 > data.len() {
                return None;
            }
            let h = u16::from_be_bytes([data[i + 5], data[i + 6]]) as u32;
            let w = u16::from_be_bytes([data[i + 7], data[i + 8]]) as u32;
            return Some((w, h, exif));
        }
        exif |= marker == 0xE1 && data.get(i + 4..i + 10) == Some(b"Exif\0\0");
        i += 2 + len;
    }
    None
}

fn orient(img: Mat, rotation: u32, mirrored: bool) -> Result<Mat, EngineError> {
    let code = match rotation {
        0 => None,
        90 => Some(core::ROTATE_90_CLOCKWISE),
        180 => Some(core::ROTATE_180),
        270 => Some(core::ROTATE_90_COUNTERCLOCKWISE),
        other => {
            return Err(invalid(format!(
                "rotation must be 0, 90, 180 or 270, not {other}"
            )));
        }
    };
    let img = match code {
        Some(code) => {
            let mut out = Mat::default();
            core::rotate(&img, &mut out, code)?;
            out
        }
        None => img,
    };
    if mirrored {
        let mut out = Mat::default();
        core::flip(&img, &mut out, 1)?;
        return Ok(out);
    }
    Ok(img)
}

/// Encodes a BGR image as JPEG (for reference and audit images).
pub fn encode_jpeg(img: &Mat, quality: i32) -> Result<Vec<u8>, EngineError> {
    let mut buf = core::Vector::<u8>::new();
    let params = core::Vector::<i32>::from_slice(&[imgcodecs::IMWRITE_JPEG_QUALITY, quality]);
    imgcodecs::imencode(".jpg", img, &mut buf, &params)?;
    Ok(buf.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: i32, h: i32) -> Mat {
        let mut m = Mat::new_rows_cols_with_default(h, w, CV_8UC3, Scalar::all(0.0)).unwrap();
        let bytes = m.data_bytes_mut().unwrap();
        for y in 0..h {
            for x in 0..w {
                let i = ((y * w + x) * 3) as usize;
                bytes[i] = (x * 255 / w) as u8; // B
                bytes[i + 1] = (y * 255 / h) as u8; // G
                bytes[i + 2] = 128; // R
            }
        }
        m
    }

    fn input(encoding: FrameEncoding, w: u32, h: u32, data: &[u8]) -> FrameInput<'_> {
        FrameInput {
            encoding,
            width: w,
            height: h,
            rotation: 0,
            mirrored: false,
            data,
        }
    }

    #[test]
    fn jpeg_and_png_round_trip_with_their_size() {
        let img = gradient(64, 48);
        let jpeg = encode_jpeg(&img, 95).unwrap();
        assert_eq!(jpeg_header(&jpeg), Some((64, 48, false)));
        let out = decode(&input(FrameEncoding::Jpeg, 0, 0, &jpeg)).unwrap();
        assert_eq!((out.cols(), out.rows()), (64, 48));

        let mut png = core::Vector::<u8>::new();
        imgcodecs::imencode_def(".png", &img, &mut png).unwrap();
        let png = png.to_vec();
        assert_eq!(png_size(&png), Some((64, 48)));
        let out = decode(&input(FrameEncoding::Png, 0, 0, &png)).unwrap();
        assert_eq!(
            out.data_bytes().unwrap(),
            img.data_bytes().unwrap(),
            "PNG is lossless"
        );
    }

    #[test]
    fn libjpeg_turbo_gives_the_pixels_opencv_gives() {
        // Camera frames skip OpenCV's decoder for the same library's direct BGR output: the
        // engine must see the very same pixels either way.
        let mut img = gradient(160, 120);
        core::randn(&mut img, &Scalar::all(128.0), &Scalar::all(40.0)).unwrap();
        for quality in [60, 95] {
            let jpeg = encode_jpeg(&img, quality).unwrap();
            let direct = jpeg_to_bgr(&jpeg)
                .unwrap()
                .expect("libjpeg-turbo decodes it");
            let opencv = imgcodecs::imdecode(
                &core::Vector::<u8>::from_slice(&jpeg),
                imgcodecs::IMREAD_COLOR,
            )
            .unwrap();
            assert_eq!(direct.data_bytes().unwrap(), opencv.data_bytes().unwrap());
        }
        // What it refuses goes to OpenCV: a JPEG cut short still decodes as far as it goes.
        let jpeg = encode_jpeg(&img, 90).unwrap();
        let cut = &jpeg[..jpeg.len() * 2 / 3];
        let out = decode(&input(FrameEncoding::Jpeg, 0, 0, cut)).unwrap();
        assert_eq!((out.cols(), out.rows()), (160, 120));
    }

    #[test]
    fn raw_rgb_is_converted_to_bgr() {
        let rgb = [10u8, 20, 30, 40, 50, 60];
        let out = decode(&input(FrameEncoding::Rgb24, 2, 1, &rgb)).unwrap();
        assert_eq!(out.data_bytes().unwrap(), &[30, 20, 10, 60, 50, 40]);
    }

    #[test]
    fn nv21_and_i420_of_mid_grey_decode_to_grey() {
        let (w, h) = (4u32, 2u32);
        let mut buf = vec![128u8; (w * h) as usize];
        buf.extend(std::iter::repeat_n(128u8, (w * h / 2) as usize));
        for enc in [FrameEncoding::Nv21, FrameEncoding::I420] {
            let out = decode(&input(enc, w, h, &buf)).unwrap();
            assert_eq!((out.cols(), out.rows()), (4, 2));
            assert!(
                out.data_bytes()
                    .unwrap()
                    .iter()
                    .all(|&v| (126..=130).contains(&v)),
                "{enc:?}"
            );
        }
    }

    #[test]
    fn bad_input_is_an_invalid_frame_error() {
        let cases: Vec<(FrameInput, &str)> = vec![
            (input(FrameEncoding::Jpeg, 0, 0, b""), "no data"),
            (
                input(
                    FrameEncoding::Jpeg,
                    0,
                    0,
                    b"\xFF\xD8garbage that is no jpeg",
                ),
                "Jpeg",
            ),
            (input(FrameEncoding::Png, 0, 0, b"GIF89a"), "Png"),
            (
                input(FrameEncoding::Rgb24, 2, 2, &[0; 11]),
                "needs 12 bytes",
            ),
            (input(FrameEncoding::Nv21, 3, 2, &[0; 9]), "even"),
            (input(FrameEncoding::Rgb24, 0, 2, &[0; 0]), "no data"),
        ];
        for (frame, expected) in cases {
            match decode(&frame) {
                Err(EngineError::InvalidFrame(msg)) => {
                    assert!(msg.contains(expected), "{msg} vs {expected}")
                }
                other => panic!("{expected}: {other:?}"),
            }
        }
    }

    #[test]
    fn truncated_jpeg_is_refused_not_panicking() {
        let jpeg = encode_jpeg(&gradient(64, 48), 90).unwrap();
        let cut = &jpeg[..jpeg.len() / 3];
        // OpenCV may decode a partial image or refuse it; it must never panic or hang.
        let _ = decode(&input(FrameEncoding::Jpeg, 0, 0, cut));
    }

    #[test]
    fn decompression_bomb_is_refused_before_decoding() {
        // A JPEG header declaring 60000x60000 pixels.
        let mut data = vec![0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08];
        data.extend_from_slice(&60000u16.to_be_bytes());
        data.extend_from_slice(&60000u16.to_be_bytes());
        data.extend_from_slice(&[0; 12]);
        let err = decode(&input(FrameEncoding::Jpeg, 0, 0, &data)).unwrap_err();
        assert!(err.to_string().contains("larger than"), "{err}");
    }

    #[test]
    fn a_frame_too_long_on_one_side_is_an_invalid_frame() {
        // 2 × 40,000 pixels is few pixels, but OpenCV's geometry cannot address its rows.
        let jpeg = encode_jpeg(&gradient(2, 40_000), 90).unwrap();
        let err = decode(&input(FrameEncoding::Jpeg, 0, 0, &jpeg)).unwrap_err();
        assert!(matches!(err, EngineError::InvalidFrame(_)), "{err}");
        let raw = vec![0u8; 2 * 40_000 * 3];
        let err = decode(&input(FrameEncoding::Rgb24, 2, 40_000, &raw)).unwrap_err();
        assert!(err.to_string().contains("on a side"), "{err}");
    }

    #[test]
    fn rotation_and_mirroring() {
        let img = gradient(64, 48);
        let jpeg = encode_jpeg(&img, 95).unwrap();
        let mut f = input(FrameEncoding::Jpeg, 0, 0, &jpeg);
        f.rotation = 90;
        let out = decode(&f).unwrap();
        assert_eq!((out.cols(), out.rows()), (48, 64));
        f.rotation = 45;
        assert!(matches!(decode(&f), Err(EngineError::InvalidFrame(_))));

        let rgb = [1u8, 2, 3, 4, 5, 6];
        let mut f = input(FrameEncoding::Rgb24, 2, 1, &rgb);
        f.mirrored = true;
        assert_eq!(
            decode(&f).unwrap().data_bytes().unwrap(),
            &[6, 5, 4, 3, 2, 1]
        );
    }
}
