//! `/metrics` as Prometheus scrapes it, moved by what users do. The metrics are the process's,
//! so this binary holds one test and one server.

mod support;

use std::time::Duration;

use support::{assert_error, curl, jpeg_frame, open_stream, start, still_until_verdict};

/// The value of the sample `series` (name with its labels, as written), 0 if absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.split(' ').next().unwrap().parse().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_sessions_frames_verdicts_and_errors() {
    let server = start(|c| {
        c.step_time_limit = Duration::from_secs(1);
        c.session_ttl = Duration::from_millis(500);
    })
    .await;
    let metrics = server.metrics_url.clone();
    let scrape = || {
        let answer = curl(&[&metrics]);
        assert_eq!(answer.status, 200);
        assert!(
            answer
                .headers
                .to_ascii_lowercase()
                .contains("content-type: application/openmetrics-text"),
            "{}",
            answer.headers
        );
        String::from_utf8(
            std::process::Command::new("curl")
                .args(["-sS", &metrics])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap()
    };
    let before = scrape();
    assert!(before.contains("# TYPE livegate_active_streams gauge"));
    assert!(before.trim_end().ends_with("# EOF"));
    // Only on their own port: the API's port does not serve them.
    assert_eq!(curl(&[&format!("{}/metrics", server.rest_url)]).status, 404);

    // A session that nobody streams into expires.
    let created = curl(&[
        "-X",
        "POST",
        &format!("{}/api/liveness/session", server.rest_url),
    ]);
    let idle = created.json["sessionId"].as_str().unwrap().to_string();
    // An unknown session is an error by its code.
    let unknown = format!("{}/api/liveness/session/nope/results", server.rest_url);
    assert_error(&curl(&[&unknown]), 1008, 404);

    // A still photo streamed until its verdict: frames analysed, a not-live verdict.
    let (_, tx, _client, mut responses) = open_stream(&server, vec![jpeg_frame(0)]).await;
    let during = scrape();
    assert_eq!(sample(&during, "livegate_active_streams"), 1.0);
    let verdict = still_until_verdict(&tx, &mut responses, 0).await;
    assert!(!verdict.is_live);
    drop(tx);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let results = format!("{}/api/liveness/session/{idle}/results", server.rest_url);
    assert_error(&curl(&[&results]), 1007, 400);

    let after = scrape();
    let delta = |series: &str| sample(&after, series) - sample(&before, series);
    println!("{after}");
    assert!(after.contains("# TYPE livegate_stage_seconds histogram"));
    assert_eq!(delta("livegate_sessions_created_total"), 2.0);
    assert_eq!(delta("livegate_sessions_expired_total"), 1.0);
    assert_eq!(
        delta(r#"livegate_errors_total{code="SESSION_NOT_FOUND"}"#),
        1.0
    );
    assert_eq!(
        delta(r#"livegate_errors_total{code="SESSION_EXPIRED"}"#),
        1.0
    );
    assert_eq!(delta(r#"livegate_verdicts_total{outcome="not_live"}"#), 1.0);
    assert_eq!(
        delta(r#"livegate_verdict_reasons_total{reason="CHALLENGE_TIMEOUT"}"#),
        1.0
    );
    let analysed = delta("livegate_frames_analysed_total");
    assert!(analysed >= 10.0, "{analysed}");
    assert_eq!(
        delta(r#"livegate_stage_seconds_count{stage="total"}"#),
        analysed,
        "every analysed frame is timed"
    );
    assert!(delta(r#"livegate_stage_seconds_sum{stage="detect"}"#) > 0.0);
    assert_eq!(sample(&after, "livegate_active_streams"), 0.0);
}
