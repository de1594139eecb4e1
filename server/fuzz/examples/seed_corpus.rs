//! Writes the seed corpus committed in `server/fuzz/corpus/` (one well-formed input of each
//! kind the targets read, from which libFuzzer mutates): small synthetic images (no person's
//! face: the corpus is in the repository), stream messages, REST bodies.
//!
//! `cargo run -p livegate-fuzz --example seed_corpus` rewrites it; findings that become
//! regression inputs live in `corpus/<target>/` too, under names starting `crash-`.

use std::fs;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use livegate_proto::v1 as pb;
use livegate_proto::v1::stream_session_request::Message as In;
use opencv::core::{CV_8UC3, Mat, Point, Scalar, Vector};
use opencv::imgcodecs;
use opencv::imgproc;
use opencv::prelude::*;
use prost::Message;

/// A small picture with edges and colour: a gradient and a circle.
fn picture(width: i32, height: i32) -> Mat {
    let mut img =
        Mat::new_rows_cols_with_default(height, width, CV_8UC3, Scalar::all(0.0)).unwrap();
    for y in 0..height {
        for x in 0..width {
            let px = img.at_2d_mut::<opencv::core::Vec3b>(y, x).unwrap();
            *px =
                opencv::core::Vec3b::from([(x * 255 / width) as u8, (y * 255 / height) as u8, 128]);
        }
    }
    imgproc::circle(
        &mut img,
        Point::new(width / 2, height / 2),
        height / 3,
        Scalar::new(40.0, 90.0, 200.0, 0.0),
        -1,
        imgproc::LINE_8,
        0,
    )
    .unwrap();
    img
}

fn encoded(ext: &str, img: &Mat) -> Vec<u8> {
    let mut buf = Vector::<u8>::new();
    imgcodecs::imencode(ext, img, &mut buf, &Vector::new()).unwrap();
    buf.to_vec()
}

/// A frame target input: kind (encoding, mirrored bit), width, height, rotation index, bytes.
fn frame_input(kind: u8, width: u16, height: u16, turn: u8, data: &[u8]) -> Vec<u8> {
    let mut out = vec![kind];
    out.extend(width.to_le_bytes());
    out.extend(height.to_le_bytes());
    out.push(turn);
    out.extend(data);
    out
}

/// A stream target input: each message with its u16 length.
fn messages(list: &[pb::StreamSessionRequest]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in list {
        let bytes = m.encode_to_vec();
        out.extend((bytes.len() as u16).to_le_bytes());
        out.extend(bytes);
    }
    out
}

fn start(can_show_colour: bool) -> pb::StreamSessionRequest {
    pb::StreamSessionRequest {
        message: Some(In::Start(pb::StreamStart {
            session_id: String::new(),
            stream_token: String::new(),
            client: Some(pb::ClientInfo {
                device: "fuzz".into(),
                camera_width: 96,
                camera_height: 64,
                fps: 10.0,
                mirrored: false,
                can_show_colour,
            }),
            attestation: None,
        })),
    }
}

fn frame(
    ts: i64,
    encoding: pb::FrameEncoding,
    width: u32,
    height: u32,
    data: Vec<u8>,
) -> pb::StreamSessionRequest {
    pb::StreamSessionRequest {
        message: Some(In::Frame(pb::Frame {
            timestamp_ms: ts,
            encoding: encoding as i32,
            width,
            height,
            rotation: 0,
            data,
        })),
    }
}

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let dir = dir.join(target);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(name), bytes).unwrap();
}

fn main() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let img = picture(96, 64);
    let jpeg = encoded(".jpg", &img);
    let png = encoded(".png", &picture(32, 24));
    let mut rgb = Vec::new();
    for i in 0..8 * 6 * 3 {
        rgb.push((i * 7) as u8);
    }
    let yuv: Vec<u8> = (0..8 * 6 * 3 / 2).map(|i| (i * 5) as u8).collect();

    let f = "frame_decoding";
    write(&corpus, f, "jpeg", &frame_input(0, 0, 0, 0, &jpeg));
    write(
        &corpus,
        f,
        "png-turned-mirrored",
        &frame_input(0x81, 0, 0, 1, &png),
    );
    write(&corpus, f, "rgb24", &frame_input(2, 8, 6, 0, &rgb));
    write(&corpus, f, "nv21-turned", &frame_input(3, 8, 6, 2, &yuv));
    write(&corpus, f, "i420-turned", &frame_input(4, 8, 6, 3, &yuv));

    let s = "stream_protocol";
    let jpegs: Vec<_> = (0..3)
        .map(|i| frame(i * 100, pb::FrameEncoding::Jpeg, 0, 0, jpeg.clone()))
        .collect();
    let mut stream = vec![start(false)];
    stream.extend(jpegs.iter().cloned());
    write(&corpus, s, "start-and-jpeg-frames", &messages(&stream));
    let light = pb::StreamSessionRequest {
        message: Some(In::LightShown(pb::LightShown {
            challenge_index: 0,
            flashes: vec![
                pb::ShownFlash {
                    rgb: 0xFF0000,
                    start_ms: 100,
                    end_ms: 400,
                },
                pb::ShownFlash {
                    rgb: 0x0000FF,
                    start_ms: 400,
                    end_ms: 700,
                },
            ],
        })),
    };
    write(
        &corpus,
        s,
        "light-step",
        &messages(&[start(true), jpegs[0].clone(), light, jpegs[1].clone()]),
    );
    write(
        &corpus,
        s,
        "raw-frames",
        &messages(&[
            start(false),
            frame(0, pb::FrameEncoding::Rgb24, 8, 6, rgb.clone()),
            frame(100, pb::FrameEncoding::Nv21, 8, 6, yuv.clone()),
            frame(200, pb::FrameEncoding::I420, 8, 6, yuv.clone()),
        ]),
    );
    write(
        &corpus,
        s,
        "frame-before-start",
        &messages(&[jpegs[0].clone(), start(false)]),
    );

    let r = "rest_bodies";
    write(
        &corpus,
        r,
        "create-session",
        b"\x00{\"settings\":{\"auditImagesLimit\":2,\"confidenceThreshold\":80,\"challengeKinds\":[\"BLINK\",\"TURN_LEFT\"],\"minChallengeSteps\":1,\"maxChallengeSteps\":3,\"lightStep\":false}}",
    );
    let compare = serde_json::json!({
        "sourceImage": STANDARD.encode(&jpeg),
        "targetImage": STANDARD.encode(&png),
        "threshold": 90.0,
        "enforceMatch": false,
    });
    let mut body = vec![1u8];
    body.extend(compare.to_string().into_bytes());
    write(&corpus, r, "compare-faces", &body);
    let mut kyc = vec![2u8];
    kyc.extend(b"--livegate-fuzz\r\nContent-Disposition: form-data; name=\"files\"; filename=\"id.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n");
    kyc.extend(&jpeg);
    kyc.extend(b"\r\n--livegate-fuzz\r\nContent-Disposition: form-data; name=\"liveness_session_id\"\r\n\r\n0123456789abcdef\r\n--livegate-fuzz--\r\n");
    write(&corpus, r, "kyc-multipart", &kyc);
    let mut verify = vec![3u8, 16];
    verify.extend(b"0123456789abcdef90\n{\"confidenceThreshold\":90}");
    write(&corpus, r, "verify", &verify);
    let mut results = vec![4u8, 16];
    results.extend(b"0123456789abcdef");
    write(&corpus, r, "results", &results);
    let mut stream = vec![5u8, 16];
    stream.extend(b"0123456789abcdef");
    write(&corpus, r, "stream-without-handshake", &stream);
}
