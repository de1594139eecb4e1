//! The web flow (`clients/web`) as the server serves it, and in a real browser: headless Chromium
//! with a fake camera playing franck.mp4, through every screen a user meets on the hosted page
//! (`clients/web/tests/browser.mjs`), and inside a customer's app served by the backend example
//! (`clients/web/tests/embed.mjs`, `clients/backend-example`). Screenshots are kept in
//! `$LIVEGATE_ARTIFACTS` (else `<target>/tmp/web-client/`).

use crate::support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use opencv::core::{Mat, Size};
use opencv::prelude::*;
use opencv::{imgproc, videoio};
use support::{ACME_KEY, assert_error, curl, free_port, grpc_python, media, start, with_keys};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::Mutex;

/// One browser at a time: two Chromiums and two servers on two cores would squeeze the light
/// step's timing, which the cases measure.
static ONE_BROWSER: Mutex<()> = Mutex::const_new(());

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
    // No other site may frame the page unless the deployment lists it.
    assert!(headers.contains("frame-ancestors 'self';"), "{headers}");
    assert!(
        !headers.contains("access-control-allow-origin"),
        "{headers}"
    );
    // The module, at the unversioned and the pinned path, importable from any page.
    for path in [
        "/web/livegate-web.js",
        "/web/v1/livegate-web.js",
        "/web/v1/i18n.js",
    ] {
        let script = curl(&[&format!("{}{path}", server.rest_url)]);
        assert_eq!(script.status, 200, "{path}");
        let headers = script.headers.to_ascii_lowercase();
        assert!(
            headers.contains("content-type: text/javascript"),
            "{headers}"
        );
        assert!(
            headers.contains("access-control-allow-origin: *"),
            "{headers}"
        );
    }
    // Its types, for TypeScript apps to copy.
    let types = curl(&[&format!("{}/web/v1/livegate-web.d.ts", server.rest_url)]);
    assert_eq!(types.status, 200);
    assert!(
        types
            .headers
            .contains("content-type: application/typescript")
    );
    let config = curl(&[&format!("{}/web/config.json", server.rest_url)]);
    assert_eq!(config.json, serde_json::json!({ "origins": [] }));
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
    drop(server);

    // The deployment's apps may frame the page, and the page learns which they are.
    let server = start(|c| {
        c.web_origins = vec![
            "https://app.example.com".parse().unwrap(),
            "http://127.0.0.1:8081".parse().unwrap(),
        ];
    })
    .await;
    let page = curl(&[&format!("{}/web/", server.rest_url)]);
    assert!(
        page.headers
            .contains("frame-ancestors 'self' https://app.example.com http://127.0.0.1:8081;"),
        "{}",
        page.headers
    );
    let config = curl(&[&format!("{}/web/v1/config.json", server.rest_url)]);
    assert_eq!(
        config.json,
        serde_json::json!({ "origins": ["https://app.example.com", "http://127.0.0.1:8081"] })
    );
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

/// Chromium and playwright-core, which `deploy/dev/setup all` installs.
fn chromium() -> String {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: run `deploy/dev/setup all` (installs Debian's chromium)"
    );
    let web = repo().join("clients/web");
    for module in ["playwright-core", "axe-core"] {
        assert!(
            web.join("node_modules").join(module).exists(),
            "{module} is missing: run `deploy/dev/setup all` (npm ci in clients/web)"
        );
    }
    chromium
}

fn artifacts() -> PathBuf {
    std::env::var("LIVEGATE_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-client"))
}

/// Runs `clients/web/tests/<script>` under node with `env`; returns its stdout once every case
/// passed.
async fn run_browser_cases(script: &str, env: &[(&str, String)]) -> String {
    let mut command = tokio::process::Command::new("node");
    command
        .arg(repo().join("clients/web/tests").join(script))
        .env("LIVEGATE_Y4M", fake_camera())
        .env("LIVEGATE_ARTIFACTS", artifacts())
        .env("CHROMIUM", chromium())
        .kill_on_drop(true);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = tokio::time::timeout(Duration::from_secs(240), command.output())
        .await
        .expect("the browser run ends within 4 minutes")
        .expect("node runs (deploy/dev/setup all installs it)");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}\n{stderr}");
    assert!(
        output.status.success(),
        "{script}: browser cases failed:\n{stdout}\n{stderr}"
    );
    stdout
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_runs_in_headless_chromium_with_a_fake_camera() {
    let _browser = ONE_BROWSER.lock().await;
    let ttl = Duration::from_secs(3);
    // Keys are configured: the page needs none, as a customer's page would not have one.
    let server = start(|c| {
        with_keys(c);
        c.demo = true;
        c.session_ttl = ttl;
    })
    .await;
    let stdout = run_browser_cases(
        "browser.mjs",
        &[
            ("LIVEGATE_WEB_URL", format!("{}/web/", server.rest_url)),
            ("LIVEGATE_SESSION_TTL_MS", ttl.as_millis().to_string()),
        ],
    )
    .await;
    assert!(stdout.contains("all browser cases passed"));
    for shot in ["light-step.png", "challenge.png", "verdict.png"] {
        let png = std::fs::read(artifacts().join(shot)).expect(shot);
        assert!(png.starts_with(b"\x89PNG"), "{shot} is a PNG");
    }
    println!("screenshots in {}", artifacts().display());
}

/// The backend example (`clients/backend-example/app.py`) on `port`, talking to `server` with
/// acme's key; stops when dropped. Returns once it listens.
async fn backend_example(server: &support::TestServer, port: u16) -> tokio::process::Child {
    let stubs = Path::new(env!("CARGO_TARGET_TMPDIR")).join("backend-example-stubs");
    let mut child = tokio::process::Command::new(grpc_python())
        .arg(repo().join("clients/backend-example/app.py"))
        .args(["--livegate-grpc", &server.grpc_addr.to_string()])
        .args(["--livegate-web", &server.rest_url])
        .args(["--api-key", ACME_KEY])
        .args(["--port", &port.to_string()])
        .arg("--stubs")
        .arg(stubs)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the grpcio virtualenv's python runs");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("the example starts within a minute")
        .unwrap();
    assert!(
        first
            .as_deref()
            .is_some_and(|l| l.starts_with("listening on")),
        "the example did not start: {first:?}"
    );
    child
}

#[tokio::test(flavor = "multi_thread")]
async fn the_flow_embeds_in_a_customer_app_whose_backend_reads_the_outcome() {
    let _browser = ONE_BROWSER.lock().await;
    let port = free_port();
    let app = format!("http://127.0.0.1:{port}");
    // The customer's app is the only other site that may frame the page or be returned to; the
    // device is not told verdicts (the default).
    let server = start(|c| {
        with_keys(c);
        c.web_origins = vec![app.parse().unwrap()];
    })
    .await;
    let _example = backend_example(&server, port).await;
    let stdout = run_browser_cases("embed.mjs", &[("LIVEGATE_EXAMPLE_URL", app)]).await;
    assert!(stdout.contains("all embedding cases passed"));
}
