//! Face matching and identity checks over both transports, against a real server: the seed's
//! `compare-faces` and `identity-with-liveness`, and gRPC's `Identity`. (A KYC check with a
//! really live session is in `clients/pad/tests/pad/kyc.rs`, where the live user is.)

use crate::support;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use livegate_proto::v1 as pb;
use livegate_specimens::{Style, phone_uploads, portrait_from_still, specimen};
use opencv::core::{CV_8UC3, Mat, Scalar};
use opencv::imgcodecs;
use support::{Answer, assert_error, code, curl, grpc, jpeg_frame, media, start};
use tokio_stream::StreamExt;

fn base64_of(name: &str) -> String {
    BASE64.encode(std::fs::read(media(name)).unwrap())
}

/// POSTs `body` to compare-faces (from a file: pictures in base64 outgrow a command line).
fn compare(server: &support::TestServer, body: serde_json::Value) -> Answer {
    let path = std::env::temp_dir().join(format!(
        "livegate-compare-{}-{:?}.json",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::write(&path, body.to_string()).unwrap();
    let answer = curl(&[
        "-X",
        "POST",
        &format!("{}/api/liveness/compare-faces", server.rest_url),
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        &format!("@{}", path.display()),
    ]);
    std::fs::remove_file(&path).unwrap();
    answer
}

/// A grey picture: readable, no face.
fn blank_jpeg() -> Vec<u8> {
    let grey = Mat::new_rows_cols_with_default(240, 320, CV_8UC3, Scalar::all(128.0)).unwrap();
    livegate_engine::frame::encode_jpeg(&grey, 90).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn compare_faces_matches_one_man_and_not_two() {
    let server = start(|_| {}).await;
    let same = compare(
        &server,
        serde_json::json!({
            "sourceImage": base64_of("franck_02045.jpg"),
            "targetImage": base64_of("franck_04117.jpg"),
        }),
    );
    assert_eq!(same.status, 200, "{same:?}");
    assert_eq!(same.json["isMatch"], true, "{same:?}");
    assert!(same.json["similarity"].as_f64().unwrap() >= 90.0);
    assert_eq!(same.json["threshold"], 90.0);
    assert!(same.json["confidence"].as_f64().unwrap() > 80.0, "{same:?}");
    assert_eq!(
        same.json["sourceImageIssues"],
        serde_json::json!([]),
        "{same:?}"
    );
    assert_eq!(
        same.json["targetImageIssues"],
        serde_json::json!([]),
        "{same:?}"
    );

    let different = compare(
        &server,
        serde_json::json!({
            "sourceImage": base64_of("obama.jpg"),
            "targetImage": base64_of("biden.jpg"),
        }),
    );
    assert_eq!(different.status, 200);
    assert_eq!(different.json["isMatch"], false, "{different:?}");
    assert!(different.json["similarity"].as_f64().unwrap() < 90.0);

    // Asked to enforce the match, the same pair is the seed's 1011.
    let enforced = compare(
        &server,
        serde_json::json!({
            "sourceImage": base64_of("obama.jpg"),
            "targetImage": base64_of("biden.jpg"),
            "enforceMatch": true,
        }),
    );
    assert_error(&enforced, 1011, 422);

    // A threshold per request: obama against another photo of himself at 99.9.
    let strict = compare(
        &server,
        serde_json::json!({
            "sourceImage": base64_of("obama.jpg"),
            "targetImage": base64_of("obama2.jpg"),
            "threshold": 99.9,
        }),
    );
    assert_eq!(strict.json["threshold"], 99.9, "{strict:?}");
    assert_eq!(strict.json["isMatch"], false, "{strict:?}");
}

/// Frame `n` of a clip, as a JPEG in base64.
fn base64_frame(clip: &str, n: usize) -> String {
    use opencv::prelude::*;
    let mut cap =
        opencv::videoio::VideoCapture::from_file(media(clip).to_str().unwrap(), 0).unwrap();
    let mut frame = Mat::default();
    for _ in 0..=n {
        assert!(cap.read(&mut frame).unwrap(), "{clip} has {n} frames");
    }
    let mut jpeg = opencv::core::Vector::<u8>::new();
    imgcodecs::imencode(".jpg", &frame, &mut jpeg, &opencv::core::Vector::new()).unwrap();
    BASE64.encode(jpeg.as_slice())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_picture_with_closed_eyes_is_named_unfit_and_its_confidence_asks_for_another() {
    let server = start(|_| {}).await;
    // franck mid-blink (frame 1392 of his video): a real picture, eyes shut.
    let answer = compare(
        &server,
        serde_json::json!({
            "sourceImage": base64_frame("franck.mp4", 1392),
            "targetImage": base64_of("franck_04117.jpg"),
        }),
    );
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        answer.json["sourceImageIssues"],
        serde_json::json!(["EYES_CLOSED"]),
        "{answer:?}"
    );
    assert_eq!(
        answer.json["targetImageIssues"],
        serde_json::json!([]),
        "{answer:?}"
    );
    assert!(
        answer.json["confidence"].as_f64().unwrap() <= 30.0,
        "{answer:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn identity_checks_past_the_cap_are_refused_at_once_with_retry_after() {
    let server = std::sync::Arc::new(
        start(|c| {
            c.max_identity_requests = Some(1);
            c.engine_workers = Some(1);
        })
        .await,
    );
    let body = serde_json::json!({
        "sourceImage": base64_of("franck_02045.jpg"),
        "targetImage": base64_of("franck_04117.jpg"),
    });
    // Six at once: one is checked, the others are told to come back rather than queued with
    // their pictures in memory.
    let calls = (0..6).map(|_| {
        let (server, body) = (server.clone(), body.clone());
        tokio::task::spawn_blocking(move || compare(&server, body))
    });
    let answers: Vec<Answer> = futures_util::future::join_all(calls)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let served = answers.iter().filter(|a| a.status == 200).count();
    let refused: Vec<&Answer> = answers.iter().filter(|a| a.status == 429).collect();
    assert!(served >= 1, "{answers:?}");
    assert!(!refused.is_empty(), "{answers:?}");
    assert_eq!(served + refused.len(), answers.len(), "{answers:?}");
    for answer in refused {
        assert_error(answer, 5001, 429);
        assert!(answer.headers.contains("retry-after: 1"), "{answer:?}");
    }
    // Once they are answered, the next is served.
    assert_eq!(compare(&server, body).status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn pictures_without_a_face_or_unreadable_are_the_seeds_1010() {
    let server = start(|_| {}).await;
    let franck = base64_of("franck_02045.jpg");
    for (source, why) in [
        (BASE64.encode(blank_jpeg()), "no face"),
        (BASE64.encode(b"definitely not a JPEG"), "cannot be read"),
        ("...".to_string(), "not valid base64"),
    ] {
        let answer = compare(
            &server,
            serde_json::json!({"sourceImage": source, "targetImage": franck}),
        );
        assert_error(&answer, 1010, 500);
        let message = answer.json["message"].as_str().unwrap();
        assert!(message.contains(why), "{why}: {message}");
    }
    // A missing image is a malformed request, not a failed match.
    assert_error(
        &compare(&server, serde_json::json!({"sourceImage": franck})),
        2012,
        400,
    );
    assert_error(
        &compare(
            &server,
            serde_json::json!({"sourceImage": franck, "targetImage": franck, "threshold": 101}),
        ),
        2012,
        400,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn identity_checks_are_rate_limited_per_key_on_both_transports() {
    use support::{ACME_KEY, GLOBEX_KEY, keyed, with_keys};
    let server = start(|c| {
        with_keys(c);
        c.identity_checks_per_minute = 1;
        c.identity_check_burst = 2;
    })
    .await;
    // Faceless pictures: cheap to check (1010), and they count like any other call.
    let body = serde_json::json!({
        "sourceImage": BASE64.encode(blank_jpeg()),
        "targetImage": BASE64.encode(blank_jpeg()),
    })
    .to_string();
    let rest = |key: &str| {
        curl(&[
            "-X",
            "POST",
            &format!("{}/api/liveness/compare-faces", server.rest_url),
            "-H",
            &format!("x-api-key: {key}"),
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            &body,
        ])
    };
    // acme's burst of two is answered; the third is refused with when to come back.
    for _ in 0..2 {
        assert_error(&rest(ACME_KEY), 1010, 500);
    }
    let refused = rest(ACME_KEY);
    assert_error(&refused, 2014, 429);
    let retry_after = support::retry_after(&refused);
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    // The same bucket on gRPC, and for KYC.
    let mut identity = pb::identity_client::IdentityClient::connect(server.grpc_url.clone())
        .await
        .unwrap();
    let refused = identity
        .compare_faces(keyed(
            pb::CompareFacesRequest {
                source_image: blank_jpeg(),
                target_image: blank_jpeg(),
                ..Default::default()
            },
            ACME_KEY,
        ))
        .await
        .unwrap_err();
    assert_eq!(code(&refused), Some(2014));
    assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
    let refused = identity
        .analyze_identity_with_liveness(keyed(
            pb::AnalyzeIdentityRequest {
                documents: vec![blank_jpeg()],
                liveness_session_id: "no-such-session".into(),
                ..Default::default()
            },
            ACME_KEY,
        ))
        .await
        .unwrap_err();
    assert_eq!(code(&refused), Some(2014));
    // Another key has its own bucket.
    assert_error(&rest(GLOBEX_KEY), 1010, 500);
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_compare_faces_speaks_the_same_codes() {
    let server = start(|_| {}).await;
    let mut identity = pb::identity_client::IdentityClient::connect(server.grpc_url.clone())
        .await
        .unwrap();
    let franck = |n: &str| std::fs::read(media(n)).unwrap();
    let answer = identity
        .compare_faces(pb::CompareFacesRequest {
            source_image: franck("franck_02045.jpg"),
            target_image: franck("franck_03909.jpg"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(answer.is_match && answer.similarity >= 90.0, "{answer:?}");
    let refused = identity
        .compare_faces(pb::CompareFacesRequest {
            source_image: blank_jpeg(),
            target_image: franck("franck_03909.jpg"),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(code(&refused), Some(1010));
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    let too_low = identity
        .compare_faces(pb::CompareFacesRequest {
            source_image: franck("franck_02045.jpg"),
            target_image: std::fs::read(media("obama.jpg")).unwrap(),
            enforce_match: true,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(code(&too_low), Some(1011));
}

/// A franck TD1 card, front and back, photographed, written where curl can upload it.
fn document_files(dir: &std::path::Path) -> [std::path::PathBuf; 2] {
    let still = imgcodecs::imread(
        media("franck_02159.jpg").to_str().unwrap(),
        imgcodecs::IMREAD_COLOR,
    )
    .unwrap();
    let card = specimen(Style::Td1Card, 3, &portrait_from_still(&still).unwrap()).unwrap();
    let uploads = phone_uploads(&card, 3).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    [0, 1].map(|i| {
        let path = dir.join(format!("side{i}.jpg"));
        std::fs::write(&path, &uploads[i]).unwrap();
        path
    })
}

fn kyc(server: &support::TestServer, files: &[std::path::PathBuf], session: &str) -> Answer {
    let mut args = vec![
        "-X".to_string(),
        "POST".to_string(),
        format!("{}/api/kyc/analyze/identity-with-liveness", server.rest_url),
    ];
    for f in files {
        args.extend(["-F".into(), format!("files=@{}", f.display())]);
    }
    args.extend(["-F".into(), format!("liveness_session_id={session}")]);
    curl(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// A session that ends not live: a few frames, then the client hangs up.
async fn abandoned_session(server: &support::TestServer) -> String {
    let frames = (0..5).map(|i| jpeg_frame(i * 100)).collect();
    let (created, tx, _client, mut responses) = support::open_stream(server, frames).await;
    drop(tx);
    while let Some(Ok(_)) = responses.next().await {}
    created.session_id
}

#[tokio::test(flavor = "multi_thread")]
async fn identity_with_a_session_that_was_not_live_fails_and_consumes_it() {
    let server = start(|_| {}).await;
    let dir = std::env::temp_dir().join(format!("livegate-kyc-{}", std::process::id()));
    let files = document_files(&dir);
    let session = abandoned_session(&server).await;
    let answer = kyc(&server, &files, &session);
    assert_eq!(answer.status, 200, "{answer:?}");
    let j = &answer.json;
    assert_eq!(j["overallSuccess"], false, "{answer:?}");
    assert_eq!(j["livenessVerification"]["isLive"], false);
    assert_eq!(j["kycAnalysis"]["totalDocuments"], 2);
    // The document itself was read, and its checks held.
    let data = &j["kycAnalysis"]["extractedData"];
    assert!(
        data["validity"]["idNumber"].as_bool().unwrap(),
        "{answer:?}"
    );
    assert_eq!(data["documentType"], "ID_CARD");
    assert_eq!(j["kycAnalysis"]["mrzValid"], true);
    let message = j["message"].as_str().unwrap();
    assert!(
        message.starts_with("KYC verification failed") && message.contains("liveness"),
        "{message}"
    );
    // One identity check per session.
    assert_error(&kyc(&server, &files, &session), 2011, 409);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn identity_refusals_use_the_seeds_codes() {
    let server = start(|c| c.session_ttl = Duration::from_secs(1)).await;
    let dir = std::env::temp_dir().join(format!("livegate-kyc-refusals-{}", std::process::id()));
    let files = document_files(&dir);
    // Unknown session: 1008.
    assert_error(&kyc(&server, &files, "abc123-def456-ghi789"), 1008, 404);
    // A session still waiting for its stream: no result yet.
    let mut client = grpc(&server).await;
    let fresh = client
        .create_session(pb::CreateSessionRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_error(&kyc(&server, &files, &fresh.session_id), 2010, 409);
    // Expired: 1007.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_error(&kyc(&server, &files, &fresh.session_id), 1007, 400);
    // No documents, too many, or not multipart at all.
    assert_error(&kyc(&server, &[], &fresh.session_id), 2012, 400);
    let five: Vec<_> = (0..5).map(|i| files[i % 2].clone()).collect();
    assert_error(&kyc(&server, &five, &fresh.session_id), 2012, 400);
    let url = format!("{}/api/kyc/analyze/identity-with-liveness", server.rest_url);
    assert_error(
        &curl(&[
            "-X",
            "POST",
            &url,
            "-H",
            "Content-Type: application/json",
            "-d",
            "{}",
        ]),
        2012,
        400,
    );
    // gRPC: the same codes.
    let mut identity = pb::identity_client::IdentityClient::connect(server.grpc_url.clone())
        .await
        .unwrap();
    let unknown = identity
        .analyze_identity_with_liveness(pb::AnalyzeIdentityRequest {
            documents: vec![std::fs::read(&files[0]).unwrap()],
            liveness_session_id: "nope".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(code(&unknown), Some(1008));
    std::fs::remove_dir_all(&dir).unwrap();
}
