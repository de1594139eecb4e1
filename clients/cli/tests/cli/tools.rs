//! The server as other tools see it: grpcurl through reflection, and the `livegate` binary.

use livegate_testkit as support;
use livegate_testkit::start as start_server;

use livegate_server::config::LightPolicyArg;
use std::process::Command;
use std::time::Duration;

use support::*;

async fn run(cmd: Command) -> std::process::Output {
    let mut cmd = cmd;
    tokio::task::spawn_blocking(move || cmd.output().expect("command runs"))
        .await
        .unwrap()
}

/// `grpcurl -plaintext FLAGS ADDR ARGS`.
fn grpcurl(flags: &[&str], addr: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(media("grpcurl"));
    cmd.arg("-plaintext").args(flags).arg(addr).args(args);
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcurl_lists_services_and_creates_a_session_with_the_seed_body() {
    let server = start_server(|_| {}).await;
    let addr = server.grpc_addr.to_string();

    let out = run(grpcurl(&[], &addr, &["list"])).await;
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for service in ["livegate.v1.Liveness", "grpc.health.v1.Health"] {
        assert!(list.lines().any(|l| l == service), "{service} in {list}");
    }

    let out = run(grpcurl(&[], &addr, &["describe", "livegate.v1.Liveness"])).await;
    let described = String::from_utf8_lossy(&out.stdout);
    assert!(described.contains("rpc StreamSession ( stream .livegate.v1.StreamSessionRequest ) returns ( stream .livegate.v1.StreamSessionResponse )"), "{described}");

    // The REST API's example body, verbatim, is a valid CreateSession request.
    let body = r#"{"settings": {"auditImagesLimit": 4}}"#;
    let out = run(grpcurl(
        &["-d", body],
        &addr,
        &["livegate.v1.Liveness/CreateSession"],
    ))
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    println!("{json}");
    // gRPC's JSON names enum values as the proto does, prefixed (REST says "CREATED").
    assert_eq!(json["status"], "SESSION_STATUS_CREATED");
    let seed_shape = "2025-11-10T12:30:00Z";
    for field in ["createdAt", "expiryDate"] {
        let value = json[field].as_str().unwrap();
        assert!(
            value.len() == seed_shape.len() && value.ends_with('Z'),
            "{field} in whole seconds like the seed: {value}"
        );
    }
    assert_eq!(json["sessionId"].as_str().unwrap().len(), 36);
    let created = humantime::parse_rfc3339(json["createdAt"].as_str().unwrap()).unwrap();
    let expiry = humantime::parse_rfc3339(json["expiryDate"].as_str().unwrap()).unwrap();
    assert_eq!(
        expiry.duration_since(created).unwrap(),
        Duration::from_secs(600),
        "10 minutes by default"
    );
    assert_eq!(json["streamToken"].as_str().unwrap().len(), 64);

    let out = run(grpcurl(&[], &addr, &["grpc.health.v1.Health/Check"])).await;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["status"], "SERVING");

    // Our error codes reach grpcurl users too.
    let out = run(grpcurl(
        &["-d", r#"{"sessionId": "nope"}"#],
        &addr,
        &["livegate.v1.Liveness/GetSessionResult"],
    ))
    .await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("NotFound") && err.contains("liveness session not found"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_streams_a_still_and_exits_1_for_not_live() {
    let server = start_server(|c| c.step_time_limit = Duration::from_secs(1)).await;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_livegate"));
    cmd.args([
        "--server",
        &server.grpc_url,
        "stream",
        "--repeat",
        "60",
        "--fps",
        "15",
    ])
    .arg(media("franck_02683.jpg"));
    let out = run(cmd).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("challenge 1:"));
    assert!(stdout.contains("verdict: NOT LIVE"));
    assert!(stdout.contains("CHALLENGE_TIMEOUT"));

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_livegate"));
    cmd.args(["--server", &server.grpc_url, "result", "no-such-session"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("(code 1008)"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_load_runs_paced_streams_and_reports_what_users_would_feel() {
    // Steps of 1 s, so sessions end (by timeout: the video does not follow them) within the run.
    let server = start_server(|c| c.step_time_limit = Duration::from_secs(1)).await;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_livegate"));
    cmd.args([
        "--server",
        &server.grpc_url,
        "load",
        "--streams",
        "2",
        "--fps",
        "5",
        "--duration",
        "6s",
        // The server runs inside this test's process.
        "--server-pid",
        &std::process::id().to_string(),
        "--sample-every",
        "2s",
    ])
    .arg(media("franck.mp4"));
    let out = run(cmd).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("2 streams at 5 fps"), "{stdout}");
    let row = |name: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("| {name} |")))
            .unwrap_or_else(|| panic!("no row {name}: {stdout}"))
            .to_string()
    };
    // Both streams reached verdicts, frames were answered, and nothing was refused.
    let sessions: u32 = row("sessions with a verdict")
        .split('|')
        .nth(2)
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("a count");
    assert!(sessions >= 2, "{stdout}");
    assert!(
        row("feedback latency p50 / p95 / p99").contains(" ms"),
        "{stdout}"
    );
    assert!(row("errors by code").contains("none"), "{stdout}");
    // What it cost the server: CPU and memory, sampled through the run.
    let server_line = stdout
        .lines()
        .find(|l| l.starts_with("Server process:"))
        .unwrap_or_else(|| panic!("no server line: {stdout}"));
    assert!(server_line.contains("cores busy") && server_line.contains("MB a minute"));
    let samples = stdout
        .lines()
        .filter(|l| l.ends_with('|') && l.contains(" s | "))
        .count();
    assert!(samples >= 3, "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_compares_faces_and_answers_scripts_in_json() {
    let server = start_server(|_| {}).await;
    let compare = |a: &str, b: &str| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_livegate"));
        cmd.args(["--server", &server.grpc_url, "--json", "compare"])
            .arg(media(a))
            .arg(media(b));
        cmd
    };
    let out = run(compare("franck_02045.jpg", "franck_04117.jpg")).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(answer["isMatch"], true);
    assert!(answer["similarity"].as_f64().unwrap() >= 90.0, "{answer}");
    assert_eq!(answer["threshold"], 90.0);

    // Two different men: exit 1, and the same shape.
    let out = run(compare("obama.jpg", "biden.jpg")).await;
    assert_eq!(out.status.code(), Some(1));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["isMatch"], false);

    // A KYC check against a session that does not exist: exit 2, the server's code on stderr.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_livegate"));
    cmd.args(["--server", &server.grpc_url, "kyc", "no-such-session"])
        .arg(media("franck_02045.jpg"));
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1008"));

    // A camera that is not there is a clear error, not a hang (CI machines have no camera).
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_livegate"));
    cmd.args(["--server", &server.grpc_url, "stream", "--camera", "97"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot open camera 97"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A file that is not there, or a count or rate that could send nothing: said at once,
    // before a session is spent on it.
    for args in [
        &["/no/such/clip.mp4"][..],
        &["--repeat", "0", "/no/such/photo.jpg"],
        &["--fps", "0", "/no/such/folder"],
    ] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_livegate"));
        cmd.args(["--server", &server.grpc_url, "stream"])
            .args(args);
        let out = run(cmd).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        let named = if args.len() == 1 {
            "no such file or folder"
        } else {
            args[0]
        };
        assert!(stderr.contains(named), "{args:?}: {stderr}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("session "));
    }
    // A load of no time, or of frames no camera makes, is refused rather than reported as NaN
    // or an OpenCV assertion.
    for args in [&["--duration", "0s"][..], &["--width", "0"]] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_livegate"));
        cmd.args(["--server", &server.grpc_url, "load"])
            .args(args)
            .arg(media("franck.mp4"));
        let out = run(cmd).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(args[0]), "{args:?}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_refuses_a_deployment_that_requires_the_light_step_up_front() {
    // The CLI cannot fill a screen with colours: it says so at once instead of timing out.
    let server = start_server(|c| c.light_step = LightPolicyArg::Required).await;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_livegate"));
    cmd.args(["--server", &server.grpc_url, "stream"])
        .arg(media("franck_02683.jpg"));
    let out = run(cmd).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("2017") && stderr.contains("can_show_colour"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_shows_colours_only_on_the_frames_clock() {
    // Colours need real-time frames to be stamped against: a lock-step file is refused before
    // any session is spent.
    let server = start_server(|_| {}).await;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_livegate"));
    cmd.args([
        "--server",
        &server.grpc_url,
        "stream",
        "--show-colours",
        "always",
    ])
    .arg(media("franck_02683.jpg"));
    let out = run(cmd).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--realtime"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("session "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_kyc_reads_a_document_and_tells_a_failed_check_by_its_exit_status() {
    use livegate_specimens::{Style, phone_uploads, portrait_from_still, specimen};
    use opencv::imgcodecs;

    let server = start_server(|c| c.step_time_limit = Duration::from_secs(1)).await;
    // A still photo held to the camera: not live, but the session has a reference face.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_livegate"));
    cmd.args([
        "--server",
        &server.grpc_url,
        "--json",
        "stream",
        "--repeat",
        "45",
        "--fps",
        "15",
    ])
    .arg(media("franck_02159.jpg"));
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(1), "not live is exit 1");
    let streamed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one object");
    assert_eq!(streamed["isLive"], false);
    let session = streamed["sessionId"].as_str().unwrap().to_string();

    // The same man's ID card, front and back, photographed by a phone.
    let still = imgcodecs::imread(
        media("franck_02159.jpg").to_str().unwrap(),
        imgcodecs::IMREAD_COLOR,
    )
    .unwrap();
    let card = specimen(Style::Td1Card, 5, &portrait_from_still(&still).unwrap()).unwrap();
    let dir = std::env::temp_dir().join(format!("livegate-cli-kyc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sides: Vec<_> = phone_uploads(&card, 5)
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, jpeg)| {
            let path = dir.join(format!("side{i}.jpg"));
            std::fs::write(&path, jpeg).unwrap();
            path
        })
        .collect();

    let kyc = |json: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_livegate"));
        cmd.args(["--server", &server.grpc_url]);
        if json {
            cmd.arg("--json");
        }
        cmd.args(["kyc", &session]).args(&sides);
        cmd
    };
    let out = run(kyc(true)).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The document was read right, and the face matches; the liveness check did not pass, so
    // neither does the KYC check: exit 1.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one object");
    let data = &answer["kycAnalysis"]["extractedData"];
    assert_eq!(data["name"], card.truth.name.as_str(), "{answer}");
    assert_eq!(data["idNumber"], card.truth.id_number.as_str(), "{answer}");
    assert_eq!(data["dateOfBirth"], card.truth.date_of_birth.as_str());
    assert_eq!(answer["kycAnalysis"]["mrzValid"], true, "{answer}");
    assert_eq!(answer["faceMatchResult"]["isMatch"], true, "{answer}");
    assert_eq!(answer["livenessVerification"]["isLive"], false);
    assert_eq!(answer["overallSuccess"], false);

    // A session backs one identity check: the second is the server's 2011, exit 2.
    let out = run(kyc(false)).await;
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("2011"), "{stderr}");
}
