//! The reference web client (`clients/web`) as the server serves it, and in a real browser:
//! headless Chromium with a fake camera playing franck.mp4, through every screen a user meets
//! (`clients/web/tests/browser.mjs`). Its screenshots are kept in `$LIVEGATE_ARTIFACTS` (else
//! `<target>/tmp/web-client/`).

use crate::support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use opencv::core::{Mat, Size};
use opencv::prelude::*;
use opencv::{imgproc, videoio};
use support::{ACME_KEY, assert_error, curl, media, start, with_keys};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_is_served_keyless_with_a_strict_policy_and_demo_sessions_only_when_enabled() {
    let server = start(with_keys).await;
    let page = curl(&[&format!("{}/web/", server.rest_url)]);
    assert_eq!(page.status, 200);
    let headers = page.headers.to_ascii_lowercase();
    assert!(headers.contains("content-type: text/html"), "{headers}");
    assert!(
        headers.contains("content-security-policy: default-src 'self'"),
        "{headers}"
    );
    let script = curl(&[&format!("{}/web/app.js", server.rest_url)]);
    assert_eq!(script.status, 200);
    assert!(
        script
            .headers
            .to_ascii_lowercase()
            .contains("content-type: text/javascript")
    );
    let bare = curl(&[&format!("{}/web", server.rest_url)]);
    assert_eq!(bare.status, 308, "/web redirects to /web/");

    // Demo sessions are off by default: the route does not exist, key or not.
    let demo = format!("{}/web/demo-session", server.rest_url);
    assert_eq!(curl(&["-X", "POST", &demo]).status, 404);
    drop(server);

    let server = start(|c| {
        with_keys(c);
        c.demo = true;
    })
    .await;
    let demo = format!("{}/web/demo-session", server.rest_url);
    let created = curl(&["-X", "POST", "-d", r#"{"lightStep": true}"#, &demo]);
    assert_eq!(created.status, 200, "{created:?}");
    let id = created.json["sessionId"].as_str().unwrap();
    assert!(created.json["streamToken"].as_str().unwrap().len() >= 32);
    // The session belongs to the demo tenant, not to a customer's.
    let results = format!("{}/api/liveness/session/{id}/results", server.rest_url);
    let auth = format!("x-api-key: {ACME_KEY}");
    assert_error(&curl(&["-H", &auth, &results]), 1008, 404);
    // The page may choose the light step and nothing else.
    let other = curl(&["-X", "POST", "-d", r#"{"confidenceThreshold": 1}"#, &demo]);
    assert_error(&other, 2012, 400);
}

/// franck.mp4's first 10 s as the fake camera's .y4m (640×512, 4:2:0, 24 fps), made once.
fn fake_camera() -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("franck-640x512-10s.y4m");
    if path.exists() {
        return path;
    }
    let mut capture =
        videoio::VideoCapture::from_file(media("franck.mp4").to_str().unwrap(), videoio::CAP_ANY)
            .unwrap();
    let (width, height, frames) = (640, 512, 240);
    let mut out = format!("YUV4MPEG2 W{width} H{height} F24:1 Ip A1:1 C420jpeg\n").into_bytes();
    let (mut bgr, mut small, mut yuv) = (Mat::default(), Mat::default(), Mat::default());
    for _ in 0..frames {
        assert!(capture.read(&mut bgr).unwrap(), "franck.mp4 has 10 s");
        imgproc::resize(
            &bgr,
            &mut small,
            Size::new(width, height),
            0.0,
            0.0,
            imgproc::INTER_AREA,
        )
        .unwrap();
        imgproc::cvt_color_def(&small, &mut yuv, imgproc::COLOR_BGR2YUV_I420).unwrap();
        out.extend_from_slice(b"FRAME\n");
        out.extend_from_slice(yuv.data_bytes().unwrap());
    }
    let partial = path.with_extension("partial");
    std::fs::write(&partial, out).unwrap();
    std::fs::rename(&partial, &path).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_runs_in_headless_chromium_with_a_fake_camera() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: run `deploy/dev/setup all` (installs Debian's chromium)"
    );
    let web = repo().join("clients/web");
    assert!(
        web.join("node_modules/playwright-core").exists(),
        "playwright-core is missing: run `deploy/dev/setup all` (npm ci in clients/web)"
    );
    let ttl = Duration::from_secs(3);
    // Keys are configured: the page needs none, as a customer's page would not have one.
    let server = start(|c| {
        with_keys(c);
        c.demo = true;
        c.session_ttl = ttl;
    })
    .await;
    let artifacts = std::env::var("LIVEGATE_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-client"));
    let y4m = fake_camera();

    let run = tokio::process::Command::new("node")
        .arg(web.join("tests/browser.mjs"))
        .env("LIVEGATE_WEB_URL", format!("{}/web/", server.rest_url))
        .env("LIVEGATE_Y4M", &y4m)
        .env("LIVEGATE_ARTIFACTS", &artifacts)
        .env("LIVEGATE_SESSION_TTL_MS", ttl.as_millis().to_string())
        .env("CHROMIUM", &chromium)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(240), run)
        .await
        .expect("the browser run ends within 4 minutes")
        .expect("node runs (deploy/dev/setup all installs it)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}\n{stderr}");
    assert!(
        output.status.success(),
        "browser cases failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all browser cases passed"));
    for shot in ["light-step.png", "challenge.png", "verdict.png"] {
        let png = std::fs::read(artifacts.join(shot)).expect(shot);
        assert!(png.starts_with(b"\x89PNG"), "{shot} is a PNG");
    }
    println!("screenshots in {}", artifacts.display());
}
