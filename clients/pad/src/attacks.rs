//! Seeded attack generators, each made from real media.
//!
//! - [`Species::PrintedPhoto`]: a franck still as a sheet of paper held up and moved by hand: small
//!   rotations and shifts, and tilts of up to ±30° about either axis (the attacker tries to imitate
//!   turns), seen through a pinhole camera (one homography per frame), lighting drifting ±12%,
//!   sensor noise.
//! - [`Species::Puppet`]: the same photo warped on purpose in time with the challenges: squeezed
//!   and sheared for turn and look-up steps (a 2-D imitation of a head turning), enlarged for
//!   move-closer, the eye band squashed for a blink.
//! - [`Species::CurvedPrint`]: a stronger puppet than the issue asks for: the photo wrapped round
//!   a cylinder and turned, so its sides foreshorten like a head's (a print bent round a bottle
//!   does this). Only the nose, which stands off the cylinder on a real head, tells them apart.
//! - [`Species::VideoReplay`]: franck.mp4 from a random point, injected as the camera, ignoring
//!   the challenges.
//! - [`Species::ScreenReplay`]: the same replay shown on a phone and re-captured: black bezel,
//!   display gamma, moiré of the pixel grid, a glare patch on the glass.
//! - [`Species::FaceSwap`]: the live user for the first step, then another real person (obama.jpg
//!   or biden.jpg) as a puppet that does the remaining steps.
//! - [`Species::FrozenFrames`]: the live user, with a virtual camera freezing the picture for
//!   runs of 10–20 frames every 20–40 frames.

use opencv::core::{self, Mat, Point2f, Scalar, Size, Vector};
use opencv::imgproc;
use opencv::prelude::*;
use opencv::videoio;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::independent;
use crate::light::LightResponse;
use crate::live::LiveUser;
use crate::media;
use crate::{Clock, Shot, Step, Subject};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Species {
    Live,
    PrintedPhoto,
    Puppet,
    CurvedPrint,
    VideoReplay,
    ScreenReplay,
    FaceSwap,
    FrozenFrames,
    AdaptiveScreen,
    // Family B: independent renderings ([`crate::independent`]).
    PhoneStripe,
    TabletPentile,
    HalftonePrint,
    NosePuppet,
    DepthPuppet,
    InjectedReplay,
    InjectedRelit,
}

/// Who wrote a species' renderings: the thresholds were placed on family A only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Live,
    A,
    B,
}

impl Species {
    pub const ALL: [Species; 16] = [
        Species::Live,
        Species::PrintedPhoto,
        Species::Puppet,
        Species::CurvedPrint,
        Species::VideoReplay,
        Species::ScreenReplay,
        Species::FaceSwap,
        Species::FrozenFrames,
        Species::AdaptiveScreen,
        Species::PhoneStripe,
        Species::TabletPentile,
        Species::HalftonePrint,
        Species::NosePuppet,
        Species::DepthPuppet,
        Species::InjectedReplay,
        Species::InjectedRelit,
    ];

    pub fn family(self) -> Family {
        match self {
            Species::Live => Family::Live,
            Species::PhoneStripe
            | Species::TabletPentile
            | Species::HalftonePrint
            | Species::NosePuppet
            | Species::DepthPuppet
            | Species::InjectedReplay
            | Species::InjectedRelit => Family::B,
            _ => Family::A,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Species::Live => "live user",
            Species::PrintedPhoto => "printed photo",
            Species::Puppet => "2-D puppet",
            Species::CurvedPrint => "curved print",
            Species::VideoReplay => "video replay",
            Species::ScreenReplay => "screen replay",
            Species::FaceSwap => "face swap",
            Species::FrozenFrames => "frozen frames",
            Species::AdaptiveScreen => "adaptive screen replay",
            Species::PhoneStripe => "B: phone replay, adaptive",
            Species::TabletPentile => "B: tablet replay, adaptive",
            Species::HalftonePrint => "B: halftone print",
            Species::NosePuppet => "B: nose-shifting puppet",
            Species::DepthPuppet => "B: depth-warped photo",
            Species::InjectedReplay => "B: injected adaptive replay",
            Species::InjectedRelit => "B: injected replay, relit",
        }
    }

    pub fn is_attack(self) -> bool {
        self != Species::Live
    }

    /// The subject for one session of this species.
    pub fn subject(self, seed: u64) -> opencv::Result<Box<dyn Subject>> {
        Ok(match self {
            Species::Live => Box::new(LiveUser::new(seed)?),
            Species::PrintedPhoto => {
                Box::new(Photo::new(seed, franck_still(seed)?, Puppetry::None)?)
            }
            Species::Puppet => Box::new(Photo::new(seed, franck_still(seed)?, Puppetry::Flat)?),
            Species::CurvedPrint => {
                Box::new(Photo::new(seed, franck_still(seed)?, Puppetry::Curved)?)
            }
            Species::VideoReplay => Box::new(Replay::new(seed, false)?),
            Species::ScreenReplay => Box::new(Replay::new(seed, true)?),
            Species::FaceSwap => Box::new(FaceSwap::new(seed)?),
            Species::FrozenFrames => Box::new(Frozen::new(seed)?),
            Species::AdaptiveScreen => Box::new(AdaptiveScreen::new(seed)?),
            Species::PhoneStripe => Box::new(independent::DeviceReplay::phone(seed)?),
            Species::TabletPentile => Box::new(independent::DeviceReplay::tablet(seed)?),
            Species::HalftonePrint => Box::new(independent::HalftonePrint::new(seed)?),
            Species::NosePuppet => Box::new(independent::NosePuppet::new(seed)?),
            Species::DepthPuppet => Box::new(independent::NosePuppet::with_depth(seed)?),
            Species::InjectedReplay => Box::new(independent::InjectedReplay::new(seed)?),
            Species::InjectedRelit => Box::new(independent::InjectedReplay::relit(seed)?),
        })
    }
}

fn franck_still(seed: u64) -> opencv::Result<Mat> {
    media::image(media::FRANCK_STILLS[(seed % media::FRANCK_STILLS.len() as u64) as usize])
}

/// Frame size of the generated camera (that of franck.mp4).
pub(crate) const FRAME: Size = Size {
    width: 360,
    height: 288,
};

/// How a photo is made to follow the challenges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Puppetry {
    /// Not at all: a print held by hand, tilted to imitate the steps.
    None,
    /// Squeezed and sheared in the image plane.
    Flat,
    /// Wrapped round a cylinder and turned.
    Curved,
}

/// A photo in front of the camera: held by hand, or warped as a puppet.
pub struct Photo {
    rng: StdRng,
    clock: Clock,
    photo: Mat,
    puppetry: Puppetry,
    frame: u32,
    /// Frames since the asked step changed.
    in_step: u32,
    asked: Option<Step>,
    phase: f64,
    /// How strongly the screen lights the sheet in a light step.
    screen_light: f32,
}

impl Photo {
    pub fn new(seed: u64, source: Mat, puppetry: Puppetry) -> opencv::Result<Self> {
        // The print fills most of the view, as it must for the face to be big enough.
        let mut photo = Mat::default();
        let scale = 0.9 * FRAME.width as f64 / source.cols() as f64;
        imgproc::resize(
            &source,
            &mut photo,
            Size::new(0, 0),
            scale,
            scale,
            imgproc::INTER_AREA,
        )?;
        let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
        let phase = rng.random_range(0.0..std::f64::consts::TAU);
        let screen_light = rng.random_range(0.04..0.10);
        Ok(Photo {
            screen_light,
            rng,
            clock: Clock::default(),
            photo,
            puppetry,
            frame: 0,
            in_step: 0,
            asked: None,
            phase,
        })
    }

    /// (yaw, pitch, roll in degrees, scale) of the sheet for this frame.
    fn pose(&mut self, asked: Option<Step>) -> (f64, f64, f64, f64) {
        let t = self.frame as f64 / media::FRANCK_FPS;
        let jitter = |rng: &mut StdRng| rng.random_range(-0.6..0.6);
        // A hand's slow sway plus tremor.
        let mut yaw = 4.0 * (0.7 * t + self.phase).sin() + jitter(&mut self.rng);
        let mut pitch = 3.0 * (0.5 * t + 2.0 * self.phase).sin() + jitter(&mut self.rng);
        let roll = 3.0 * (0.3 * t + self.phase).sin() + jitter(&mut self.rng);
        let mut scale = 1.0 + 0.03 * (0.4 * t).sin();
        // Tilting to imitate the step: ramps to 30° in a second and holds.
        let ramp = (self.in_step as f64 / media::FRANCK_FPS).min(1.0);
        match asked {
            Some(Step::TurnLeft) => yaw += 30.0 * ramp,
            Some(Step::TurnRight) => yaw -= 30.0 * ramp,
            Some(Step::LookUp) => pitch += 25.0 * ramp,
            Some(Step::MoveCloser) => scale *= 1.0 + 0.25 * ramp,
            Some(Step::Blink) | None => {}
        }
        (yaw, pitch, roll, scale)
    }
}

impl Subject for Photo {
    fn light_response(&self) -> LightResponse {
        LightResponse::Diffuse {
            strength: self.screen_light,
        }
    }

    fn next(&mut self, asked: Option<Step>) -> opencv::Result<Option<Shot>> {
        if asked != self.asked {
            self.asked = asked;
            self.in_step = 0;
        }
        let (yaw, pitch, roll, scale) = self.pose(asked);
        let puppet = self.puppetry != Puppetry::None;
        let source = if puppet {
            puppet_warp(&self.photo, asked, self.puppetry, yaw, pitch, self.in_step)?
        } else {
            self.photo.try_clone()?
        };
        // A puppet's movements come from its warp; the sheet itself is held square to the camera.
        let (y, p) = if puppet { (0.0, 0.0) } else { (yaw, pitch) };
        let mut image = held_plane(&source, y, p, roll, scale)?;
        let gain = 1.0 + 0.12 * (0.2 * self.frame as f64 / media::FRANCK_FPS + self.phase).sin();
        add_light_and_noise(&mut image, gain, 2.0, &mut self.rng)?;
        self.frame += 1;
        self.in_step += 1;
        Ok(Some(Shot {
            image,
            timestamp_ms: self.clock.tick(),
        }))
    }
}

/// A flat picture rotated in 3-D and seen by a pinhole camera, on a grey wall.
pub(crate) fn held_plane(
    picture: &Mat,
    yaw: f64,
    pitch: f64,
    roll: f64,
    scale: f64,
) -> opencv::Result<Mat> {
    let (w, h) = (picture.cols() as f64, picture.rows() as f64);
    let f = 420.0;
    let distance = f * FRAME.width as f64 / (w * scale).max(1.0) * 0.95;
    let (sy, cy) = yaw.to_radians().sin_cos();
    let (sp, cp) = pitch.to_radians().sin_cos();
    let (sr, cr) = roll.to_radians().sin_cos();
    let corners = [
        (-w / 2.0, -h / 2.0),
        (w / 2.0, -h / 2.0),
        (w / 2.0, h / 2.0),
        (-w / 2.0, h / 2.0),
    ];
    let mut dst = Vector::<Point2f>::new();
    for (x, y) in corners {
        // roll in the plane, then yaw about the vertical axis, then pitch about the horizontal.
        let (x, y) = (x * cr - y * sr, x * sr + y * cr);
        let (x, z) = (x * cy, -x * sy);
        let (y, z) = (y * cp + z * sp, -y * sp + z * cp);
        let z = z + distance;
        dst.push(Point2f::new(
            (f * x / z + FRAME.width as f64 / 2.0) as f32,
            (f * y / z + FRAME.height as f64 / 2.0) as f32,
        ));
    }
    let src: Vector<Point2f> = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)]
        .iter()
        .map(|&(x, y)| Point2f::new(x as f32, y as f32))
        .collect();
    let m = imgproc::get_perspective_transform(&src, &dst, core::DECOMP_LU)?;
    let mut out = Mat::default();
    imgproc::warp_perspective(
        picture,
        &mut out,
        &m,
        FRAME,
        imgproc::INTER_LINEAR,
        core::BORDER_CONSTANT,
        Scalar::new(150.0, 150.0, 145.0, 0.0),
    )?;
    Ok(out)
}

/// The photo warped to imitate the asked step: squeezed and sheared (flat) or wrapped round a
/// cylinder and turned (curved) for turns and look-up, enlarged for move-closer, its eye band
/// squashed for a blink.
fn puppet_warp(
    photo: &Mat,
    asked: Option<Step>,
    puppetry: Puppetry,
    yaw: f64,
    pitch: f64,
    in_step: u32,
) -> opencv::Result<Mat> {
    let (w, h) = (photo.cols(), photo.rows());
    let mut map_x = Mat::new_rows_cols_with_default(h, w, core::CV_32F, Scalar::all(0.0))?;
    let mut map_y = Mat::new_rows_cols_with_default(h, w, core::CV_32F, Scalar::all(0.0))?;
    let (cx, cy) = (w as f64 / 2.0, h as f64 * 0.45);
    let radius = w as f64 * 0.35;
    let blink = asked == Some(Step::Blink) && (12..16).contains(&in_step);
    for y in 0..h {
        for x in 0..w {
            let (mut sx, mut sy) = (x as f64, y as f64);
            let curved = puppetry == Puppetry::Curved;
            let turning = matches!(asked, Some(Step::TurnLeft | Step::TurnRight));
            let looking_up = asked == Some(Step::LookUp);
            if turning && !curved {
                let (s, c) = yaw.to_radians().sin_cos();
                sx = cx + (sx - cx) / c + 0.2 * s * (sy - cy);
            }
            if looking_up && !curved {
                let (s, c) = pitch.to_radians().sin_cos();
                sy = cy + (sy - cy) / c - 0.2 * s * (sx - cx);
            }
            if turning && curved {
                let u = ((sx - cx) / radius).clamp(-1.0, 1.0);
                let angle = u.asin() - yaw.to_radians();
                sx = if angle.abs() < std::f64::consts::FRAC_PI_2 {
                    cx + radius * angle.sin()
                } else {
                    -1.0
                };
            }
            if looking_up && curved {
                let v = ((sy - cy) / radius).clamp(-1.0, 1.0);
                let angle = v.asin() + pitch.to_radians();
                sy = if angle.abs() < std::f64::consts::FRAC_PI_2 {
                    cy + radius * angle.sin()
                } else {
                    -1.0
                };
            }
            if asked == Some(Step::MoveCloser) {
                let s = 1.0 / (1.0 + 0.25 * (in_step as f64 / media::FRANCK_FPS).min(1.0));
                sx = cx + (sx - cx) * s;
                sy = cy + (sy - cy) * s;
            }
            if blink {
                // Squash the band around the eyes (about 40% down the face) to a slit.
                let eyes = h as f64 * 0.42;
                let band = h as f64 * 0.05;
                if (sy - eyes).abs() < band {
                    sy = eyes + (sy - eyes) * 3.0;
                }
            }
            *map_x.at_2d_mut::<f32>(y, x)? = sx as f32;
            *map_y.at_2d_mut::<f32>(y, x)? = sy as f32;
        }
    }
    let mut out = Mat::default();
    imgproc::remap(
        photo,
        &mut out,
        &map_x,
        &map_y,
        imgproc::INTER_LINEAR,
        core::BORDER_CONSTANT,
        Scalar::new(150.0, 150.0, 145.0, 0.0),
    )?;
    Ok(out)
}

fn add_light_and_noise(
    image: &mut Mat,
    gain: f64,
    sigma: f64,
    rng: &mut StdRng,
) -> opencv::Result<()> {
    let mut lit = Mat::default();
    image.convert_to(&mut lit, core::CV_8UC3, gain, 0.0)?;
    let mut noise =
        Mat::new_rows_cols_with_default(lit.rows(), lit.cols(), core::CV_16SC3, Scalar::all(0.0))?;
    core::set_rng_seed(rng.random_range(0..i32::MAX))?;
    core::randn(&mut noise, &Scalar::all(0.0), &Scalar::all(sigma))?;
    let mut out = Mat::default();
    core::add(&lit, &noise, &mut out, &core::no_array(), core::CV_8UC3)?;
    *image = out;
    Ok(())
}

/// franck.mp4 replayed from a random point, straight into the stream or off a phone's screen.
pub struct Replay {
    rng: StdRng,
    clock: Clock,
    capture: videoio::VideoCapture,
    screen: Option<Phone>,
}

/// A phone held to the camera showing a video, as family A renders it: the display fills 78 % of
/// the view inside a black bezel on a grey wall, with display gamma, the moiré of its pixel grid
/// against the sensor's and a glare patch drifting on the glass.
pub struct Phone {
    frame: u32,
    moire_angle: f64,
    moire_pitch: f64,
    glare: (f64, f64),
    /// How much of the light step's flash the glass reflects.
    reflectance: f32,
}

impl Replay {
    pub fn new(seed: u64, screen: bool) -> opencv::Result<Self> {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x0e91a7);
        let file = media::path("franck.mp4");
        let mut capture =
            videoio::VideoCapture::from_file(&*file.to_string_lossy(), videoio::CAP_ANY)?;
        if !capture.is_opened()? {
            return Err(opencv::Error::new(
                core::StsError,
                format!("{} is missing", file.display()),
            ));
        }
        capture.set(
            videoio::CAP_PROP_POS_FRAMES,
            rng.random_range(0..4000) as f64,
        )?;
        Ok(Replay {
            clock: Clock::default(),
            capture,
            screen: screen.then(|| Phone::new(&mut rng)),
            rng,
        })
    }
}

impl Phone {
    pub fn new(rng: &mut StdRng) -> Self {
        Phone {
            frame: 0,
            moire_angle: rng.random_range(-0.3..0.3),
            moire_pitch: rng.random_range(2.6..3.6),
            glare: (rng.random_range(0.2..0.8), rng.random_range(0.2..0.6)),
            // 0.2-0.8 %: what an independent evaluation measured on real glass.
            reflectance: rng.random_range(0.002..0.008),
        }
    }

    /// The frame as the phone shows it and the camera re-captures it.
    pub fn show(&mut self, frame: &Mat, rng: &mut StdRng) -> opencv::Result<Mat> {
        // The display: 78% of the view, a black bezel round it, on a grey wall.
        let mut canvas = Mat::new_size_with_default(
            FRAME,
            core::CV_8UC3,
            Scalar::new(150.0, 150.0, 145.0, 0.0),
        )?;
        let (sw, sh) = (
            (FRAME.width as f64 * 0.78) as i32,
            (FRAME.height as f64 * 0.78) as i32,
        );
        let (x0, y0) = ((FRAME.width - sw) / 2, (FRAME.height - sh) / 2);
        imgproc::rectangle(
            &mut canvas,
            core::Rect::new(x0 - 10, y0 - 14, sw + 20, sh + 28),
            Scalar::new(12.0, 12.0, 12.0, 0.0),
            -1,
            imgproc::LINE_8,
            0,
        )?;
        let mut shown = Mat::default();
        imgproc::resize(
            frame,
            &mut shown,
            Size::new(sw, sh),
            0.0,
            0.0,
            imgproc::INTER_AREA,
        )?;
        // Display gamma, then the beat between the display's pixel grid and the sensor's.
        let mut f = Mat::default();
        shown.convert_to(&mut f, core::CV_32FC3, 1.0 / 255.0, 0.0)?;
        let mut g = Mat::default();
        core::pow(&f, 1.3, &mut g)?;
        let (sa, ca) = self.moire_angle.sin_cos();
        let t = self.frame as f64 / media::FRANCK_FPS;
        let (gx, gy) = (
            (self.glare.0 + 0.03 * t.sin()) * sw as f64,
            (self.glare.1 + 0.02 * t.cos()) * sh as f64,
        );
        for y in 0..sh {
            for x in 0..sw {
                let phase =
                    2.0 * std::f64::consts::PI * (x as f64 * ca + y as f64 * sa) / self.moire_pitch;
                let moire = 1.0 + 0.12 * phase.sin();
                let d2 = ((x as f64 - gx) / 40.0).powi(2) + ((y as f64 - gy) / 28.0).powi(2);
                let glare = 0.9 * (-d2).exp();
                let px = g.at_2d_mut::<core::Vec3f>(y, x)?;
                for c in 0..3 {
                    px[c] = ((px[c] as f64 * moire + glare).min(1.0)) as f32;
                }
            }
        }
        let mut bytes = Mat::default();
        g.convert_to(&mut bytes, core::CV_8UC3, 255.0, 0.0)?;
        bytes.copy_to(&mut Mat::roi_mut(
            &mut canvas,
            core::Rect::new(x0, y0, sw, sh),
        )?)?;
        add_light_and_noise(&mut canvas, 1.0, 2.0, rng)?;
        self.frame += 1;
        Ok(canvas)
    }

    pub fn light_response(&self) -> LightResponse {
        LightResponse::Glass {
            reflectance: self.reflectance,
        }
    }
}

impl Subject for Replay {
    fn light_response(&self) -> LightResponse {
        self.screen
            .as_ref()
            .map_or(LightResponse::None, Phone::light_response)
    }

    fn next(&mut self, _asked: Option<Step>) -> opencv::Result<Option<Shot>> {
        let mut frame = Mat::default();
        if !self.capture.read(&mut frame)? {
            return Ok(None);
        }
        let image = match &mut self.screen {
            Some(phone) => phone.show(&frame, &mut self.rng)?,
            None => frame,
        };
        Ok(Some(Shot {
            image,
            timestamp_ms: self.clock.tick(),
        }))
    }
}

/// The live user for the first step, then someone else, as a puppet, for the rest.
pub struct FaceSwap {
    live: LiveUser,
    other: Photo,
    first: Option<Step>,
    swapped: bool,
    clock: Clock,
}

impl FaceSwap {
    pub fn new(seed: u64) -> opencv::Result<Self> {
        let other = media::image(if seed.is_multiple_of(2) {
            "obama.jpg"
        } else {
            "biden.jpg"
        })?;
        Ok(FaceSwap {
            live: LiveUser::new(seed)?,
            other: Photo::new(seed, other, Puppetry::Flat)?,
            first: None,
            swapped: false,
            clock: Clock::default(),
        })
    }
}

impl Subject for FaceSwap {
    fn light_response(&self) -> LightResponse {
        if self.swapped {
            self.other.light_response()
        } else {
            self.live.light_response()
        }
    }

    fn next(&mut self, asked: Option<Step>) -> opencv::Result<Option<Shot>> {
        if self.first.is_none() {
            self.first = asked;
        }
        self.swapped |= asked.is_some() && asked != self.first;
        let shot = if self.swapped {
            self.other.next(asked)?
        } else {
            self.live.next(asked)?
        };
        Ok(shot.map(|s| Shot {
            image: s.image,
            timestamp_ms: self.clock.tick(),
        }))
    }
}

/// The live user through a virtual camera that freezes the picture now and then.
pub struct Frozen {
    rng: StdRng,
    live: LiveUser,
    held: Option<(Mat, u32)>,
    until_freeze: u32,
    clock: Clock,
}

impl Frozen {
    pub fn new(seed: u64) -> opencv::Result<Self> {
        Ok(Frozen {
            rng: StdRng::seed_from_u64(seed ^ 0xf002e),
            live: LiveUser::new(seed)?,
            held: None,
            until_freeze: 12,
            clock: Clock::default(),
        })
    }
}

impl Subject for Frozen {
    fn light_response(&self) -> LightResponse {
        self.live.light_response()
    }

    fn next(&mut self, asked: Option<Step>) -> opencv::Result<Option<Shot>> {
        let image = match self.held.take() {
            Some((image, left)) if left > 0 => {
                self.held = Some((image.try_clone()?, left - 1));
                image
            }
            _ => {
                let Some(shot) = self.live.next(asked)? else {
                    return Ok(None);
                };
                // Every 20–40 frames, freeze this one for 10–20 frames.
                self.until_freeze = self.until_freeze.saturating_sub(1);
                if self.until_freeze == 0 {
                    self.held = Some((shot.image.try_clone()?, self.rng.random_range(10..20)));
                    self.until_freeze = self.rng.random_range(20..40);
                }
                shot.image
            }
        };
        Ok(Some(Shot {
            image,
            timestamp_ms: self.clock.tick(),
        }))
    }
}

/// The live user's clips, doing what each step asks, shown on a phone held to the camera: the
/// attack an independent evaluation found accepted half the time. Only the screen gives it away.
pub struct AdaptiveScreen {
    rng: StdRng,
    live: LiveUser,
    phone: Phone,
}

impl AdaptiveScreen {
    pub fn new(seed: u64) -> opencv::Result<Self> {
        let mut rng = StdRng::seed_from_u64(seed ^ 0xada9);
        Ok(AdaptiveScreen {
            phone: Phone::new(&mut rng),
            live: LiveUser::new(seed)?,
            rng,
        })
    }
}

impl Subject for AdaptiveScreen {
    fn light_response(&self) -> LightResponse {
        self.phone.light_response()
    }

    fn next(&mut self, asked: Option<Step>) -> opencv::Result<Option<Shot>> {
        let Some(shot) = self.live.next(asked)? else {
            return Ok(None);
        };
        Ok(Some(Shot {
            image: self.phone.show(&shot.image, &mut self.rng)?,
            timestamp_ms: shot.timestamp_ms,
        }))
    }
}
