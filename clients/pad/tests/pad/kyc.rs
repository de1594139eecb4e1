//! KYC end to end: a live user streams a real session over gRPC, then the seed's multipart
//! `identity-with-liveness` (and gRPC's `AnalyzeIdentityWithLiveness`) checks a photographed
//! specimen document against it. The same person passes; another person's portrait fails the
//! match; a zone with a wrong check digit is reported invalid; a session backs one check.
//! And the live user's session with the passive model on: scored on its own thread.

use std::path::PathBuf;
use std::process::Command;

use livegate_pad::Species;
use livegate_pad::report::run_session;
use livegate_proto::v1 as pb;
use livegate_specimens::{Fault, Style, Truth, phone_uploads, portrait_from_still, specimen_with};
use livegate_testkit::TestServer;
use opencv::core::Mat;

/// A server on loopback ports; the passive model on when `antispoof`.
async fn start_with(antispoof: bool) -> TestServer {
    livegate_testkit::start(|c| c.antispoof = antispoof).await
}

async fn start() -> TestServer {
    start_with(false).await
}

/// A live session of the cooperative user; its id.
async fn live_session(server: &TestServer, seed: u64) -> String {
    let mut client = livegate_cli::connect(&server.grpc_url, None).await.unwrap();
    let outcome = run_session(&mut client, Species::Live, seed, false)
        .await
        .unwrap();
    assert!(outcome.is_live, "the live user passes: {outcome:?}");
    outcome.session_id
}

/// Pictures of a specimen document, photographed, as JPEG bytes; and what is printed on it.
fn document(style: Style, seed: u64, portrait_of: &str, fault: Fault) -> (Vec<Vec<u8>>, Truth) {
    let still = livegate_pad::media::image(portrait_of).unwrap();
    let portrait: Mat = portrait_from_still(&still).unwrap();
    let s = specimen_with(style, seed, &portrait, fault).unwrap();
    (phone_uploads(&s, seed).unwrap(), s.truth)
}

/// The seed's multipart request, sent by curl.
fn kyc_rest(server: &TestServer, pictures: &[Vec<u8>], session: &str) -> (u16, serde_json::Value) {
    let dir = std::env::temp_dir().join(format!("livegate-pad-kyc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files: Vec<PathBuf> = pictures
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let path = dir.join(format!("id_{i}.jpg"));
            std::fs::write(&path, p).unwrap();
            path
        })
        .collect();
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-w", "\n%{http_code}", "-X", "POST"])
        .arg(format!(
            "{}/api/kyc/analyze/identity-with-liveness",
            server.rest_url
        ));
    for f in &files {
        cmd.arg("-F").arg(format!("files=@{}", f.display()));
    }
    cmd.arg("-F").arg(format!("liveness_session_id={session}"));
    let out = cmd.output().expect("curl");
    std::fs::remove_dir_all(&dir).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, status) = stdout.rsplit_once('\n').unwrap();
    (
        status.trim().parse().unwrap(),
        serde_json::from_str(body).unwrap_or_default(),
    )
}

async fn kyc_grpc(
    server: &TestServer,
    pictures: Vec<Vec<u8>>,
    session: &str,
) -> Result<pb::AnalyzeIdentityResponse, tonic::Status> {
    let mut identity = pb::identity_client::IdentityClient::connect(server.grpc_url.clone())
        .await
        .unwrap();
    identity
        .analyze_identity_with_liveness(pb::AnalyzeIdentityRequest {
            documents: pictures,
            liveness_session_id: session.into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner())
}

#[tokio::test(flavor = "multi_thread")]
async fn kyc_with_a_live_session() {
    let server = start().await;

    // The same person: franck streams, franck's ID card (front and back) is uploaded.
    let session = live_session(&server, 1).await;
    let (pictures, truth) = document(Style::Td1Card, 21, "franck_02159.jpg", Fault::None);
    let (status, j) = kyc_rest(&server, &pictures, &session);
    assert_eq!(status, 200, "{j}");
    assert_eq!(j["overallSuccess"], true, "{j}");
    assert_eq!(j["faceMatchResult"]["isMatch"], true, "{j}");
    assert_eq!(j["livenessVerification"]["isLive"], true, "{j}");
    let data = &j["kycAnalysis"]["extractedData"];
    assert_eq!(data["name"], truth.name.as_str(), "{j}");
    assert_eq!(data["idNumber"], truth.id_number.as_str(), "{j}");
    assert_eq!(data["dateOfBirth"], truth.date_of_birth.as_str(), "{j}");
    assert!(
        j["message"]
            .as_str()
            .unwrap()
            .starts_with("KYC verification successful. Documents: 2, Liveness: "),
        "{j}"
    );
    // One identity check per session: the same request again is refused.
    let (status, again) = kyc_rest(&server, &pictures, &session);
    assert_eq!(
        (status, again["errorCode"].as_i64()),
        (409, Some(2011)),
        "{again}"
    );

    // Another person's portrait on the document: the match fails, so does the check.
    let session = live_session(&server, 2).await;
    let (pictures, _) = document(Style::Td3Passport, 22, "obama.jpg", Fault::None);
    let r = kyc_grpc(&server, pictures, &session).await.unwrap();
    let face = r.face_match_result.unwrap();
    assert!(!face.is_match && face.similarity < 90.0, "{face:?}");
    assert!(r.liveness_verification.unwrap().is_live);
    assert!(!r.overall_success);
    assert!(r.message.contains("face does not match"), "{}", r.message);

    // A zone whose birth-date check digit is wrong: that field and the zone are invalid.
    let session = live_session(&server, 3).await;
    let (pictures, truth) = document(
        Style::Td3Passport,
        23,
        "franck_02159.jpg",
        Fault::BirthDateCheckDigit,
    );
    let r = kyc_grpc(&server, pictures, &session).await.unwrap();
    let kyc = r.kyc_analysis.unwrap();
    let data = kyc.extracted_data.unwrap();
    assert_eq!(data.date_of_birth, truth.date_of_birth);
    assert!(!data.validity.unwrap().date_of_birth, "{data:?}");
    assert!(!kyc.mrz_valid);
    assert!(r.face_match_result.unwrap().is_match);
    assert!(!r.overall_success);
    assert!(r.message.contains("date of birth invalid"), "{}", r.message);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_passive_model_scores_a_live_session_off_the_frame_path() {
    // The process's metrics, read in place: the passive model's crop is scored once, timed as
    // its own stage, on the pool's thread (not in an engine slot, where it would be a frame
    // stage of that frame). Scored in time or late depends on how fast the lock-step client
    // finishes its last steps, so either counts; skipped or failed does not.
    let sample = |series: &str| {
        let text = livegate_server::metrics::metrics().render();
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .map_or(0.0, |v| {
                v.split(' ').next().unwrap().parse::<f64>().unwrap()
            })
    };
    let passive =
        |outcome: &str| sample(&format!("livegate_passive_total{{outcome=\"{outcome}\"}}"));
    let runs = || sample(r#"livegate_stage_seconds_count{stage="passive"}"#);
    let before = (passive("scored"), passive("late"), runs());
    let server = start_with(true).await;
    live_session(&server, 1).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while runs() == before.2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (scored, late) = (passive("scored") - before.0, passive("late") - before.1);
    println!(
        "passive: scored {scored}, late {late}, {:.2} s",
        sample(r#"livegate_stage_seconds_sum{stage="passive"}"#)
    );
    assert_eq!(
        runs() - before.2,
        1.0,
        "one crop scored on the pool's thread"
    );
    assert_eq!(scored + late, 1.0);
    assert_eq!(passive("skipped_busy") + passive("failed"), 0.0);
}
