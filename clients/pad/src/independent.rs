//! Family B: a second, independent set of attack renderings. It was written apart from
//! [`crate::attacks`] (family A), after the engine's thresholds were placed, and nothing is ever
//! tuned on it: a signal that holds on A and fails here was fitted to our own renderings.
//!
//! It differs from family A in every part of the chain an attacker controls or a camera adds:
//! devices (a phone with an RGB-stripe panel and a thin bezel with rounded corners; a tablet with
//! a PenTile panel filling the whole view), pixel pitches, display black level, gamma and gamut,
//! a broad window reflection instead of a glare spot, print process (CMY halftone on warm paper),
//! camera pipelines (blur, noise, JPEG recompression, sharpening), distances, and an operator who
//! needs 300–900 ms to react to a new challenge.
//!
//! - [`DeviceReplay`] (phone, tablet): the live user's clips, doing what each step asks, replayed
//!   on a device held to the camera: an adaptive screen replay.
//! - [`HalftonePrint`]: a franck still printed in CMY halftone, held and tilted by hand.
//! - [`NosePuppet`]: an adaptive 2-D puppet by an attacker who knows the parallax measure: the
//!   photo is warped so that its nose moves further than its outline when it "turns"; and
//!   [`NosePuppet::with_depth`], written after the measure became the nose's lead over the face's
//!   relief: the same warp with a head's depth profile as well (cheeks behind the centre line),
//!   a "3-D photo" that moves as a head does.
//! - [`InjectedReplay`]: the live user's clips injected through a virtual camera in the order the
//!   server asks: nothing in the picture is fake; only the light step can tell. And
//!   [`InjectedReplay::relit`] (added at stop 32 to measure a gap the README names, not tuned
//!   on): the same feed relit by the attacker with the colours the server sent the client, as
//!   our own model says a screen lights a face, so that not even the light step can tell.

use opencv::core::{self, Mat, Point2f, Scalar, Size};
use opencv::imgproc;
use opencv::prelude::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::attacks::FRAME;
use crate::light::LightResponse;
use crate::live::LiveUser;
use crate::{Clock, Shot, Step, Subject, media};

/// An operator who switches to the clip for a new challenge only after reacting to it.
struct Operator {
    delay: u32,
    seen: Option<Step>,
    acting: Option<Step>,
    waited: u32,
    /// Frames since the step being acted out changed.
    in_step: u32,
}

impl Operator {
    fn new(rng: &mut StdRng) -> Self {
        Operator {
            delay: (rng.random_range(0.3..0.9) * media::FRANCK_FPS) as u32,
            seen: None,
            acting: None,
            waited: 0,
            in_step: 0,
        }
    }

    /// The step the attacker is acting out at this frame, given the one asked, and how many
    /// frames it has been acted out before this one.
    fn act(&mut self, asked: Option<Step>) -> (Option<Step>, u32) {
        if asked != self.seen {
            self.seen = asked;
            self.waited = 0;
        }
        if self.acting != self.seen {
            self.waited += 1;
            if self.waited > self.delay {
                self.acting = self.seen;
                self.in_step = 0;
            }
        }
        let frames = self.in_step;
        self.in_step += 1;
        (self.acting, frames)
    }
}

/// The camera's own processing of whatever it films: a little blur, sensor noise, JPEG at a
/// phone camera's quality, and sharpening.
struct CameraPipeline {
    blur: f64,
    noise: f64,
    quality: i32,
    sharpen: f64,
}

impl CameraPipeline {
    fn new(rng: &mut StdRng) -> Self {
        CameraPipeline {
            blur: rng.random_range(0.4..0.9),
            noise: rng.random_range(1.5..3.0),
            quality: rng.random_range(65..86),
            sharpen: rng.random_range(0.0..0.6),
        }
    }

    fn capture(&self, image: &Mat, rng: &mut StdRng) -> opencv::Result<Mat> {
        let jpeg = livegate_testkit::through_camera(
            image,
            self.blur,
            self.sharpen,
            self.noise,
            rng.random_range(0..i32::MAX),
            self.quality,
        )?;
        opencv::imgcodecs::imdecode(&Mat::from_slice(&jpeg)?, opencv::imgcodecs::IMREAD_COLOR)
    }
}

/// A display panel's subpixel layout.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Panel {
    /// Red, green and blue columns side by side.
    RgbStripe,
    /// Red and blue on alternating diamonds, green on every pixel (OLED phones and tablets).
    Pentile,
}

/// A device replaying video to the camera, as family B renders it.
struct Device {
    panel: Panel,
    /// Display pixel pitch, in camera pixels.
    pitch: f64,
    /// Subpixel contrast seen by the camera.
    modulation: f64,
    black: f64,
    gamma: f64,
    saturation: f64,
    /// The screen's height as a fraction of the view (1 or more: it fills the view).
    fill: f64,
    bezel: i32,
    corner: i32,
    /// The device's roll, degrees.
    roll: f64,
    /// A window reflected in the glass: a broad band, its strength and slow drift.
    reflection: (f64, f64),
    reflectance: f32,
    wall: Scalar,
}

impl Device {
    fn phone(rng: &mut StdRng) -> Self {
        Device {
            panel: Panel::RgbStripe,
            pitch: rng.random_range(1.6..2.8),
            modulation: rng.random_range(0.08..0.2),
            black: rng.random_range(8.0..22.0),
            gamma: rng.random_range(0.85..1.2),
            saturation: rng.random_range(0.8..0.95),
            fill: rng.random_range(0.7..0.9),
            bezel: rng.random_range(3..7),
            corner: rng.random_range(10..19),
            roll: rng.random_range(-4.0..4.0),
            reflection: (rng.random_range(0.05..0.25), rng.random_range(0.0..1.0)),
            reflectance: rng.random_range(0.002..0.008),
            wall: Scalar::new(
                rng.random_range(100.0..130.0),
                rng.random_range(125.0..150.0),
                rng.random_range(150.0..175.0),
                0.0,
            ),
        }
    }

    fn tablet(rng: &mut StdRng) -> Self {
        Device {
            panel: Panel::Pentile,
            pitch: rng.random_range(1.4..2.4),
            fill: rng.random_range(1.05..1.25),
            bezel: 0,
            corner: 0,
            ..Device::phone(rng)
        }
    }

    /// `frame` as this device shows it and the camera, `t` seconds into the replay, sees it.
    fn show(&self, frame: &Mat, t: f64) -> opencv::Result<Mat> {
        let panel = self.panel(frame, t)?;
        self.in_view(&panel)
    }

    /// The panel's picture: `frame` scaled to the panel, through its subpixels, tone curve and
    /// black level, with a window's reflection sliding over the glass.
    fn panel(&self, frame: &Mat, t: f64) -> opencv::Result<Mat> {
        let sh = (FRAME.height as f64 * self.fill) as i32;
        let sw = (sh as f64 * frame.cols() as f64 / frame.rows() as f64) as i32;
        let mut shown = Mat::default();
        imgproc::resize(
            frame,
            &mut shown,
            Size::new(sw, sh),
            0.0,
            0.0,
            imgproc::INTER_LINEAR,
        )?;
        let mut screen = Mat::default();
        shown.convert_to(&mut screen, core::CV_32FC3, 1.0 / 255.0, 0.0)?;
        let band_at = (self.reflection.1 + 0.05 * t).fract();
        for y in 0..sh {
            for x in 0..sw {
                let weights = self.subpixel_weights(x as f64 / self.pitch, y as f64 / self.pitch);
                // A window's reflection: a soft diagonal band sliding across the glass.
                let u = (x as f64 / sw as f64 + 0.6 * y as f64 / sh as f64) / 1.6;
                let band = self.reflection.0 * (-((u - band_at) / 0.12).powi(2)).exp();
                let px = screen.at_2d_mut::<core::Vec3f>(y, x)?;
                let luma = 0.114 * px[0] + 0.587 * px[1] + 0.299 * px[2];
                for c in 0..3 {
                    let saturated = luma + self.saturation as f32 * (px[c] - luma);
                    let lit = (saturated.max(0.0) as f64).powf(self.gamma);
                    let black = self.black / 255.0;
                    let v = (black + (1.0 - black) * lit) * weights[c] + band;
                    px[c] = v.clamp(0.0, 1.0) as f32;
                }
            }
        }
        let mut panel = Mat::default();
        screen.convert_to(&mut panel, core::CV_8UC3, 255.0, 0.0)?;
        Ok(panel)
    }

    /// How bright each channel (B, G, R) is at panel position (`fx`, `fy`), in pixel pitches:
    /// the subpixel layout's pattern.
    fn subpixel_weights(&self, fx: f64, fy: f64) -> [f64; 3] {
        let tau = std::f64::consts::TAU;
        match self.panel {
            Panel::RgbStripe => {
                let phase = fx.fract();
                // B, G, R columns in a BGR pixel: red first on the panel.
                [2.0 / 3.0, 1.0 / 3.0, 0.0]
                    .map(|c| 1.0 + self.modulation * (tau * (phase - c)).cos())
            }
            Panel::Pentile => {
                let diamond = (std::f64::consts::PI * (fx + fy)).cos();
                let green = (tau * fx).cos() * (tau * fy).cos();
                [
                    1.0 - self.modulation * diamond,
                    1.0 + 0.5 * self.modulation * green,
                    1.0 + self.modulation * diamond,
                ]
            }
        }
    }

    /// The device around `panel` (bezel with rounded corners, on the wall), rolled and centred
    /// in the camera's view.
    fn in_view(&self, panel: &Mat) -> opencv::Result<Mat> {
        let (sw, sh) = (panel.cols(), panel.rows());
        let (dw, dh) = (sw + 2 * self.bezel, sh + 2 * self.bezel);
        let mut device = Mat::new_size_with_default(Size::new(dw, dh), core::CV_8UC3, self.wall)?;
        let body = Scalar::new(28.0, 28.0, 30.0, 0.0);
        rounded_rect(
            &mut device,
            core::Rect::new(0, 0, dw, dh),
            self.corner,
            body,
        )?;
        panel.copy_to(&mut Mat::roi_mut(
            &mut device,
            core::Rect::new(self.bezel, self.bezel, sw, sh),
        )?)?;
        let centre = Point2f::new(dw as f32 / 2.0, dh as f32 / 2.0);
        let mut m = imgproc::get_rotation_matrix_2d(centre, self.roll, 1.0)?;
        // Centre the device in the camera's view.
        *m.at_2d_mut::<f64>(0, 2)? += (FRAME.width - dw) as f64 / 2.0;
        *m.at_2d_mut::<f64>(1, 2)? += (FRAME.height - dh) as f64 / 2.0;
        let mut view = Mat::default();
        imgproc::warp_affine(
            &device,
            &mut view,
            &m,
            FRAME,
            imgproc::INTER_LINEAR,
            core::BORDER_CONSTANT,
            self.wall,
        )?;
        Ok(view)
    }
}

/// Fills `r` with `colour`, its corners rounded by `radius`.
fn rounded_rect(image: &mut Mat, r: core::Rect, radius: i32, colour: Scalar) -> opencv::Result<()> {
    let radius = radius.min(r.width / 2).min(r.height / 2);
    let fill = |image: &mut Mat, rect: core::Rect| {
        imgproc::rectangle(image, rect, colour, -1, imgproc::LINE_8, 0)
    };
    fill(
        image,
        core::Rect::new(r.x + radius, r.y, r.width - 2 * radius, r.height),
    )?;
    fill(
        image,
        core::Rect::new(r.x, r.y + radius, r.width, r.height - 2 * radius),
    )?;
    for (cx, cy) in [
        (r.x + radius, r.y + radius),
        (r.x + r.width - radius - 1, r.y + radius),
        (r.x + radius, r.y + r.height - radius - 1),
        (r.x + r.width - radius - 1, r.y + r.height - radius - 1),
    ] {
        imgproc::circle(
            image,
            core::Point::new(cx, cy),
            radius,
            colour,
            -1,
            imgproc::LINE_AA,
            0,
        )?;
    }
    Ok(())
}

/// The live user's clips replayed on a phone or a tablet by an operator who follows the
/// challenges.
pub struct DeviceReplay {
    rng: StdRng,
    live: LiveUser,
    operator: Operator,
    device: Device,
    camera: CameraPipeline,
    frame: u32,
}

impl DeviceReplay {
    pub fn phone(seed: u64) -> opencv::Result<Self> {
        Self::new(seed, Device::phone)
    }

    pub fn tablet(seed: u64) -> opencv::Result<Self> {
        Self::new(seed, Device::tablet)
    }

    fn new(seed: u64, device: fn(&mut StdRng) -> Device) -> opencv::Result<Self> {
        let mut rng = StdRng::seed_from_u64(seed ^ 0xb0b);
        Ok(DeviceReplay {
            live: LiveUser::new(seed ^ 0x1b)?,
            operator: Operator::new(&mut rng),
            device: device(&mut rng),
            camera: CameraPipeline::new(&mut rng),
            frame: 0,
            rng,
        })
    }
}

impl Subject for DeviceReplay {
    fn light_response(&self) -> LightResponse {
        LightResponse::Glass {
            reflectance: self.device.reflectance,
        }
    }

    fn next(&mut self, asked: Option<Step>) -> opencv::Result<Option<Shot>> {
        let (acting, _) = self.operator.act(asked);
        let Some(shot) = self.live.next(acting)? else {
            return Ok(None);
        };
        let t = self.frame as f64 / media::FRANCK_FPS;
        self.frame += 1;
        let view = self.device.show(&shot.image, t)?;
        Ok(Some(Shot {
            image: self.camera.capture(&view, &mut self.rng)?,
            timestamp_ms: shot.timestamp_ms,
        }))
    }
}

/// Franck still number `index` (modulo their count), `width` × the camera frame's width wide:
/// the size a sheet held up to the camera shows.
fn franck_still(index: usize, width: f64) -> opencv::Result<Mat> {
    let still = media::image(media::FRANCK_STILLS[index % media::FRANCK_STILLS.len()])?;
    let scale = width * FRAME.width as f64 / still.cols() as f64;
    let mut out = Mat::default();
    imgproc::resize(
        &still,
        &mut out,
        Size::new(0, 0),
        scale,
        scale,
        imgproc::INTER_AREA,
    )?;
    Ok(out)
}

/// `photo` printed in CMY halftone (dot screens at 15°, 75° and 45°, `cell` pixels) on warm
/// paper.
fn halftone(photo: &Mat, cell: f64) -> opencv::Result<Mat> {
    let mut out = photo.try_clone()?;
    let paper = [228.0f64, 240.0, 247.0]; // BGR: warm white
    let angles = [15f64, 75.0, 45.0].map(f64::to_radians); // cyan, magenta, yellow
    for y in 0..out.rows() {
        for x in 0..out.cols() {
            let px = out.at_2d_mut::<core::Vec3b>(y, x)?;
            // Ink coverage of cyan (absorbs red), magenta (green), yellow (blue).
            let ink = [
                1.0 - px[2] as f64 / 255.0,
                1.0 - px[1] as f64 / 255.0,
                1.0 - px[0] as f64 / 255.0,
            ];
            let mut absorbed = [0f64; 3]; // per BGR channel
            for (k, angle) in angles.iter().enumerate() {
                let (s, c) = angle.sin_cos();
                let (u, v) = (x as f64 * c + y as f64 * s, -x as f64 * s + y as f64 * c);
                let tau = std::f64::consts::TAU;
                let screen = 0.5 + 0.25 * ((tau * u / cell).cos() + (tau * v / cell).cos());
                if ink[k] > screen {
                    // Cyan absorbs red (BGR index 2), magenta green (1), yellow blue (0).
                    absorbed[2 - k] = 0.85;
                }
            }
            for c in 0..3 {
                px[c] = (paper[c] * (1.0 - absorbed[c])) as u8;
            }
        }
    }
    let mut soft = Mat::default();
    imgproc::gaussian_blur_def(&out, &mut soft, Size::new(0, 0), 0.5)?;
    Ok(soft)
}

/// A franck still printed in halftone, held up by hand: tilted 15–25° for turns and look-up,
/// brought towards the camera for move-closer, with a slow lurching sway.
pub struct HalftonePrint {
    rng: StdRng,
    clock: Clock,
    print: Mat,
    operator: Operator,
    camera: CameraPipeline,
    tilt: f64,
    frame: u32,
    screen_light: f32,
}

impl HalftonePrint {
    pub fn new(seed: u64) -> opencv::Result<Self> {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x4a1f);
        let small = franck_still(seed as usize * 7 + 3, 0.85)?;
        let print = halftone(&small, rng.random_range(2.5..4.5))?;
        Ok(HalftonePrint {
            print,
            operator: Operator::new(&mut rng),
            camera: CameraPipeline::new(&mut rng),
            tilt: rng.random_range(15.0..25.0),
            screen_light: rng.random_range(0.04..0.10),
            clock: Clock::default(),
            frame: 0,
            rng,
        })
    }
}

impl Subject for HalftonePrint {
    fn light_response(&self) -> LightResponse {
        LightResponse::Diffuse {
            strength: self.screen_light,
        }
    }

    fn next(&mut self, asked: Option<Step>) -> opencv::Result<Option<Shot>> {
        let (acting, in_step) = self.operator.act(asked);
        let t = self.frame as f64 / media::FRANCK_FPS;
        let ramp = (in_step as f64 / (0.6 * media::FRANCK_FPS)).min(1.0);
        let (mut yaw, mut pitch) = (2.0 * (1.3 * t).sin(), 1.5 * (0.9 * t).cos());
        let roll = 2.0 * (0.5 * t).sin();
        let mut scale = 1.0;
        match acting {
            Some(Step::TurnLeft) => yaw += self.tilt * ramp,
            Some(Step::TurnRight) => yaw -= self.tilt * ramp,
            Some(Step::LookUp) => pitch += self.tilt * ramp,
            Some(Step::MoveCloser) => scale += 0.3 * ramp,
            Some(Step::Blink) | None => {}
        }
        let view = crate::attacks::held_plane(&self.print, yaw, pitch, roll, scale)?;
        self.frame += 1;
        Ok(Some(Shot {
            image: self.camera.capture(&view, &mut self.rng)?,
            timestamp_ms: self.clock.tick(),
        }))
    }
}

/// The face's nose tip and size in a still, found by the engine's detector once per still.
fn nose_and_size(still: &Mat) -> opencv::Result<((f64, f64), f64)> {
    use livegate_engine::backend::BackendChoice;
    use livegate_engine::detector::FaceDetector;
    use livegate_engine::models::{ModelLoader, default_model_dir};
    use std::sync::OnceLock;
    static DETECTOR: OnceLock<Option<FaceDetector>> = OnceLock::new();
    let fail = |what: String| opencv::Error::new(core::StsError, what);
    let detector = DETECTOR
        .get_or_init(|| {
            ModelLoader::new(&default_model_dir(), BackendChoice::Auto)
                .and_then(|loader| FaceDetector::load(&loader))
                .ok()
        })
        .as_ref()
        .ok_or_else(|| fail("the face detector is missing: run fetch.py models".into()))?;
    let faces = detector.detect(still).map_err(|e| fail(e.to_string()))?;
    let face = faces
        .first()
        .ok_or_else(|| fail("no face in the puppet's still".into()))?;
    let nose = face.keypoints[2];
    Ok(((nose.0 as f64, nose.1 as f64), face.bbox.width as f64))
}

/// A 2-D puppet whose maker knows that a real nose moves further than the face's outline when
/// the head turns: the photo is squeezed as in a turn, and the region round the nose is pushed
/// further the same way; its eyes are squashed for a blink and it grows for move-closer.
pub struct NosePuppet {
    rng: StdRng,
    clock: Clock,
    photo: Mat,
    nose: (f64, f64),
    face: f64,
    operator: Operator,
    camera: CameraPipeline,
    /// How much further the nose moves than the outline, in face widths at full turn.
    relief: f64,
    /// How far the face's centre line stands in front of its sides, in face widths (0: a flat
    /// photo but for the nose).
    depth: f64,
    angle: f64,
    screen_light: f32,
}

impl NosePuppet {
    pub fn new(seed: u64) -> opencv::Result<Self> {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x9a5e);
        let photo = franck_still(seed as usize * 5 + 1, 0.9)?;
        let (nose, face) = nose_and_size(&photo)?;
        Ok(NosePuppet {
            photo,
            nose,
            face,
            operator: Operator::new(&mut rng),
            camera: CameraPipeline::new(&mut rng),
            relief: rng.random_range(0.08..0.2),
            depth: 0.0,
            angle: rng.random_range(15.0..30.0),
            screen_light: rng.random_range(0.04..0.10),
            clock: Clock::default(),
            rng,
        })
    }

    /// The puppet with a head's depth profile besides its nose: the centre line 0.25–0.45 face
    /// widths in front of the sides, falling off as a parabola across the face.
    pub fn with_depth(seed: u64) -> opencv::Result<Self> {
        let mut puppet = NosePuppet::new(seed)?;
        puppet.depth = puppet.rng.random_range(0.25..0.45);
        Ok(puppet)
    }

    /// Depth (pixels) in front of the face's sides at `u` half-widths from its centre line.
    fn depth_at(&self, u: f64) -> f64 {
        self.depth * self.face * (1.0 - u * u).max(-0.5)
    }

    fn warp(&self, acting: Option<Step>, ramp: f64) -> opencv::Result<Mat> {
        let (w, h) = (self.photo.cols(), self.photo.rows());
        let mut map_x = Mat::new_rows_cols_with_default(h, w, core::CV_32F, Scalar::all(0.0))?;
        let mut map_y = Mat::new_rows_cols_with_default(h, w, core::CV_32F, Scalar::all(0.0))?;
        let (nx, ny) = self.nose;
        let theta = (self.angle * ramp).to_radians();
        let sigma = 0.18 * self.face;
        for y in 0..h {
            for x in 0..w {
                let (mut sx, mut sy) = (x as f64, y as f64);
                let near_nose = (-((sx - nx).powi(2) + (sy - ny).powi(2)) / (sigma * sigma)).exp();
                let push = self.relief * self.face * theta.sin() * near_nose;
                match acting {
                    Some(Step::TurnLeft | Step::TurnRight) => {
                        let side = if acting == Some(Step::TurnLeft) {
                            1.0
                        } else {
                            -1.0
                        };
                        // Inverse map: the output at x shows the source at…
                        let shift = self.depth_at((sx - nx) / (0.6 * self.face)) * theta.sin();
                        sx = nx + (sx - nx) / theta.cos() - side * (push + shift);
                    }
                    Some(Step::LookUp) => {
                        let shift = self.depth_at((sy - ny) / (0.8 * self.face)) * theta.sin();
                        sy = ny + (sy - ny) / theta.cos() + push + shift;
                    }
                    Some(Step::MoveCloser) => {
                        let s = 1.0 / (1.0 + 0.25 * ramp);
                        sx = nx + (sx - nx) * s;
                        sy = ny + (sy - ny) * s;
                    }
                    Some(Step::Blink) if (0.3..0.5).contains(&ramp) => {
                        let eyes = ny - 0.28 * self.face;
                        let band = 0.06 * self.face;
                        if (sy - eyes).abs() < band {
                            sy = eyes + (sy - eyes) * 3.0;
                        }
                    }
                    _ => {}
                }
                *map_x.at_2d_mut::<f32>(y, x)? = sx as f32;
                *map_y.at_2d_mut::<f32>(y, x)? = sy as f32;
            }
        }
        let mut out = Mat::default();
        imgproc::remap(
            &self.photo,
            &mut out,
            &map_x,
            &map_y,
            imgproc::INTER_LINEAR,
            core::BORDER_REPLICATE,
            Scalar::all(0.0),
        )?;
        Ok(out)
    }
}

impl Subject for NosePuppet {
    fn light_response(&self) -> LightResponse {
        LightResponse::Diffuse {
            strength: self.screen_light,
        }
    }

    fn next(&mut self, asked: Option<Step>) -> opencv::Result<Option<Shot>> {
        let (acting, in_step) = self.operator.act(asked);
        let ramp = (in_step as f64 / (0.8 * media::FRANCK_FPS)).min(1.0);
        let warped = self.warp(acting, ramp)?;
        let view = crate::attacks::held_plane(&warped, 0.0, 0.0, 0.0, 1.0)?;
        Ok(Some(Shot {
            image: self.camera.capture(&view, &mut self.rng)?,
            timestamp_ms: self.clock.tick(),
        }))
    }
}

/// The live user's clips through a virtual camera, switched by an operator as the server asks.
pub struct InjectedReplay {
    rng: StdRng,
    live: LiveUser,
    operator: Operator,
    camera: CameraPipeline,
    /// The attacker lights each injected frame with the light step's colours.
    relit: bool,
}

impl InjectedReplay {
    pub fn new(seed: u64) -> opencv::Result<Self> {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x1e7);
        Ok(InjectedReplay {
            live: LiveUser::new(seed ^ 0x2c)?,
            operator: Operator::new(&mut rng),
            camera: CameraPipeline::new(&mut rng),
            rng,
            relit: false,
        })
    }

    /// The same feed, relit: the client is told the colours (it must show them), so an attacker
    /// who injects the camera feed can light its frames with them as a screen would a face.
    pub fn relit(seed: u64) -> opencv::Result<Self> {
        Ok(InjectedReplay {
            relit: true,
            ..InjectedReplay::new(seed)?
        })
    }
}

impl Subject for InjectedReplay {
    fn light_response(&self) -> LightResponse {
        if self.relit {
            self.live.light_response()
        } else {
            LightResponse::None
        }
    }

    fn next(&mut self, asked: Option<Step>) -> opencv::Result<Option<Shot>> {
        let (acting, _) = self.operator.act(asked);
        let Some(shot) = self.live.next(acting)? else {
            return Ok(None);
        };
        Ok(Some(Shot {
            image: self.camera.capture(&shot.image, &mut self.rng)?,
            timestamp_ms: shot.timestamp_ms,
        }))
    }
}
