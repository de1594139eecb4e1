//! Sessions in a real Redis (Debian's `redis-server`, started by this test on a loopback port),
//! shared by two servers: create on A, stream on B, read and verify from A; verify-once when A
//! and B verify at the same instant; finished results outlive a restart of A; readiness (REST and
//! gRPC health) follows Redis going away and coming back; expiry by TTL; a Redis that speaks only
//! TLS, with a password and client certificates; no outcome lost and no session stuck when
//! Redis stops across a stream's end or a replica is killed mid-stream.

use crate::support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use livegate_proto::v1 as pb;
use livegate_server::sessions::{RedisTlsFiles, SessionStore};
use support::{TestServer, assert_error, curl, jpeg_frame, start, start_message};

/// A redis-server of our own, without persistence, killed at the end.
struct Redis {
    child: Child,
    port: u16,
    url: String,
}

impl Redis {
    fn start() -> Self {
        Self::start_on(support::free_port())
    }

    /// A (new, empty) Redis on `port`: how a restarted Redis looks to the replicas.
    fn start_on(port: u16) -> Self {
        Self::start_with(port, &["--port", &port.to_string()])
    }

    /// A Redis that speaks only TLS with `pki`'s certificates, asks clients for theirs (Redis's
    /// default) and wants `password`.
    fn start_tls(pki: &Pki, password: &str) -> Self {
        let port = support::free_port();
        let path = |name: &str| pki.dir.join(name).to_str().unwrap().to_string();
        let mut redis = Self::start_with(
            port,
            &[
                "--port",
                "0",
                "--tls-port",
                &port.to_string(),
                "--tls-cert-file",
                &path("redis.pem"),
                "--tls-key-file",
                &path("redis.key"),
                "--tls-ca-cert-file",
                &path("ca.pem"),
                "--requirepass",
                password,
            ],
        );
        redis.url = format!("rediss://:{password}@localhost:{port}");
        redis
    }

    /// A Redis on `port` that keeps its data in `dir` (an append-only file, synced on every
    /// write): stopped and started again, it has what it had.
    fn start_persistent(port: u16, dir: &std::path::Path) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        Self::start_with(
            port,
            &[
                "--port",
                &port.to_string(),
                "--dir",
                dir.to_str().unwrap(),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ],
        )
    }

    /// Without persistence unless `args` say otherwise.
    fn start_with(port: u16, args: &[&str]) -> Self {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(args)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (deploy/dev/setup all installs Debian's redis-server)");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Redis {
            child,
            port,
            url: format!("redis://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn replica(redis: &Redis, tune: impl FnOnce(&mut livegate_server::Config)) -> TestServer {
    let url = redis.url.clone();
    start(move |c| {
        c.redis_url = Some(url.parse().unwrap());
        c.step_time_limit = Duration::from_secs(1);
        tune(c);
    })
    .await
}

/// A new session on `server` (REST): its id and stream token.
fn create(server: &TestServer) -> (String, String) {
    let created = curl(&[
        "-X",
        "POST",
        &format!("{}/api/liveness/session", server.rest_url),
    ]);
    let field = |name: &str| created.json[name].as_str().unwrap().to_string();
    (field("sessionId"), field("streamToken"))
}

/// Streams a still photo into the session over `server`'s gRPC until its verdict.
async fn stream_still(server: &TestServer, id: &str, token: &str) -> pb::Verdict {
    let mut client = support::grpc(server).await;
    let (tx, mut responses) =
        support::start_stream(&mut client, id, token, vec![jpeg_frame(0)]).await;
    support::still_until_verdict(&tx, &mut responses, 0).await
}

#[tokio::test(flavor = "multi_thread")]
async fn two_replicas_share_sessions_verify_once_and_keep_results_across_a_restart() {
    let redis = Redis::start();
    let a = replica(&redis, |_| {}).await;
    let b = replica(&redis, |_| {}).await;

    // Created on A, streamed on B.
    let (id, token) = create(&a);
    let verdict = stream_still(&b, &id, &token).await;
    assert!(!verdict.is_live);

    // Read from A: the outcome B stored, with the reference image B kept.
    assert_still_timed_out_with_its_image(&results(&a, &id));

    // The same token cannot stream again, on either replica.
    assert_no_second_stream(&a, &id, &token).await;

    // A and B verify at the same instant: exactly one consumes the result.
    let verify = |server: &TestServer| {
        let url = format!("{}/api/liveness/verify/{id}", server.rest_url);
        std::thread::spawn(move || curl(&["-X", "POST", &url]))
    };
    let (on_a, on_b) = (verify(&a), verify(&b));
    let mut codes = [
        on_a.join().unwrap().json["errorCode"].as_i64(),
        on_b.join().unwrap().json["errorCode"].as_i64(),
    ];
    codes.sort();
    assert_eq!(
        codes,
        [Some(1009), Some(2011)],
        "one verify (below threshold), one refused as already verified"
    );

    // A restarts: the finished result is still there.
    drop(a);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let a = replica(&redis, |_| {}).await;
    let seen = results(&a, &id);
    assert_eq!(seen.json["status"], "FAILED", "{seen:?}");
    assert_eq!(seen.json["sessionId"], id.as_str());

    // Readiness follows the store, on both probes: without Redis the replica is not ready...
    let ready = format!("{}/ready", a.rest_url);
    assert_eq!(curl(&["-m", "10", &ready]).status, 200);
    assert_eq!(grpc_health(&a).await, SERVING);
    let port = redis.port;
    drop(redis);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let answer = curl(&["-m", "10", &ready]);
    assert_eq!(answer.status, 503, "{answer:?}");
    assert!(
        health_becomes(&a, NOT_SERVING).await,
        "gRPC health still SERVING 10 s after Redis went away"
    );
    let refused = curl(&[
        "-X",
        "POST",
        &format!("{}/api/liveness/session", a.rest_url),
    ]);
    assert_error(&refused, 5001, 503);

    // ...and once Redis is back (a new, empty one on the same address), the same replica
    // reconnects by itself: ready again, and it creates and reads sessions.
    let _redis = Redis::start_on(port);
    assert!(
        health_becomes(&a, SERVING).await,
        "gRPC health not SERVING 10 s after Redis came back"
    );
    assert_eq!(curl(&["-m", "10", &ready]).status, 200);
    let (fresh, _) = create(&a);
    let read = curl(&[&format!(
        "{}/api/liveness/session/{fresh}/results",
        a.rest_url
    )]);
    assert_eq!(read.json["status"], "CREATED", "{read:?}");
}

/// The session's result as read on `server` (REST).
fn results(server: &TestServer, id: &str) -> support::Answer {
    curl(&[
        "-m",
        "10",
        &format!("{}/api/liveness/session/{id}/results", server.rest_url),
    ])
}

/// The result of a still photo's stream ([`stream_still`]): FAILED by a challenge's timeout,
/// with the reference image kept.
fn assert_still_timed_out_with_its_image(seen: &support::Answer) {
    assert_eq!(seen.json["status"], "FAILED", "{seen:?}");
    assert!(
        seen.json["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "CHALLENGE_TIMEOUT"),
        "{seen:?}"
    );
    assert!(
        seen.json["referenceImage"]
            .as_str()
            .is_some_and(|i| i.len() > 100),
        "{seen:?}"
    );
}

/// Reads the session's result on `server` until its status is no longer IN_PROGRESS (or
/// `within` has passed); returns the last answer and when it came.
async fn result_once_settled(
    server: &TestServer,
    id: &str,
    within: Duration,
) -> (support::Answer, std::time::Instant) {
    let deadline = std::time::Instant::now() + within;
    loop {
        let seen = results(server, id);
        let settled = seen.status == 200 && seen.json["status"] != "IN_PROGRESS";
        if settled || std::time::Instant::now() >= deadline {
            return (seen, std::time::Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outcome_is_held_while_redis_is_down_and_stored_when_it_returns() {
    let port = support::free_port();
    let dir = std::env::temp_dir().join(format!("livegate-redis-aof-{}", std::process::id()));
    let redis = Redis::start_persistent(port, &dir);
    let server = replica(&redis, |_| {}).await;
    let (id, token) = create(&server);
    let mut client = support::grpc(&server).await;
    // The stream has claimed its session once its responses open.
    let (tx, mut responses) =
        support::start_stream(&mut client, &id, &token, vec![jpeg_frame(0)]).await;

    // Redis stops while the stream runs, and is away when it ends.
    drop(redis);
    let verdict = support::still_until_verdict(&tx, &mut responses, 0).await;
    assert_eq!(verdict.status, pb::SessionStatus::Completed as i32);
    assert!(
        verdict.result_pending,
        "the verdict says its result is not stored yet: {verdict:?}"
    );
    // Meanwhile the backend is told the store is away, not a wrong status.
    let asked = std::time::Instant::now();
    assert_error(&results(&server, &id), 5001, 503);
    println!(
        "result read with Redis down: 5001 in {:.2} s",
        asked.elapsed().as_secs_f32()
    );

    // Redis comes back with its data: the held outcome lands, images and all.
    let _redis = Redis::start_persistent(port, &dir);
    let (seen, _) = result_once_settled(&server, &id, Duration::from_secs(20)).await;
    assert_still_timed_out_with_its_image(&seen);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replica_killed_mid_stream_leaves_its_session_failed_on_every_replica() {
    use pb::stream_session_response::Message as Out;
    let redis = Redis::start();
    let a = replica(&redis, |_| {}).await;
    // Replica B is a process of its own, to be killed as an orchestrator or the kernel would.
    let lease = Duration::from_secs(2);
    let mut b = support::server_process(&["--redis-url", &redis.url, "--stream-lease", "2s"]);
    let log = support::log_lines(&mut b);
    let b_grpc = support::listening_addr(&log, "gRPC");

    // Created on A, streaming on B.
    let (id, token) = create(&a);
    let mut on_b = pb::liveness_client::LivenessClient::connect(format!("http://{b_grpc}"))
        .await
        .unwrap();
    let (_tx, mut responses) =
        support::start_stream(&mut on_b, &id, &token, vec![jpeg_frame(0)]).await;
    while !matches!(
        responses.message().await.unwrap().unwrap().message,
        Some(Out::Feedback(_))
    ) {}
    // B is in the middle of the stream, renewing its lease: A reads IN_PROGRESS.
    tokio::time::sleep(lease * 2).await;
    assert_eq!(results(&a, &id).json["status"], "IN_PROGRESS");

    b.kill().unwrap(); // SIGKILL: no drain, no outcome
    b.wait().unwrap();
    let killed = std::time::Instant::now();

    // Within the lease, A reads the session as FAILED, with the reason that says what happened.
    let (seen, settled) = result_once_settled(&a, &id, Duration::from_secs(30)).await;
    assert_eq!(seen.json["status"], "FAILED", "{seen:?}");
    assert_eq!(seen.json["reasons"], serde_json::json!(["STREAM_LOST"]));
    println!(
        "FAILED with STREAM_LOST {:.1} s after the kill (lease {lease:?})",
        (settled - killed).as_secs_f32()
    );
    // It is an answer the backend can act on: verify answers it (not live: below threshold)...
    let verified = curl(&[
        "-X",
        "POST",
        &format!("{}/api/liveness/verify/{id}", a.rest_url),
    ]);
    assert_eq!(verified.json["errorCode"], 1009, "{verified:?}");
    // ...and its token opens no second stream.
    assert_no_second_stream(&a, &id, &token).await;
}

/// A session whose stream has ended refuses another stream with its token (2001) on `server`.
async fn assert_no_second_stream(server: &TestServer, id: &str, token: &str) {
    let mut again = support::grpc(server).await;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(start_message(id, token)).await.unwrap();
    let Err(refused) = again
        .stream_session(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
    else {
        panic!("a streamed session's token opens no second stream");
    };
    assert_eq!(support::code(&refused), Some(2001));
}

const SERVING: i32 = 1;
const NOT_SERVING: i32 = 2;

/// The server's overall gRPC health status (`""`), as a Kubernetes gRPC probe asks for it.
async fn grpc_health(server: &TestServer) -> i32 {
    let channel = tonic::transport::Endpoint::from_shared(server.grpc_url.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    tonic_health::pb::health_client::HealthClient::new(channel)
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .unwrap()
        .into_inner()
        .status
}

/// Whether the gRPC health status reaches `status` within 10 s (it is re-checked every 2 s).
async fn health_becomes(server: &TestServer, status: i32) -> bool {
    for _ in 0..50 {
        if grpc_health(server).await == status {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_and_images_expire_through_redis_ttls() {
    let redis = Redis::start();
    let server = replica(&redis, |c| {
        c.session_ttl = Duration::from_millis(400);
        c.result_retention = Duration::from_millis(1200);
    })
    .await;
    let (id, _) = create(&server);
    let results = format!("{}/api/liveness/session/{id}/results", server.rest_url);
    assert_eq!(curl(&[&results]).json["status"], "CREATED");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_error(&curl(&[&results]), 1007, 400);
    // Past the result retention Redis has dropped the record: nothing is left to find.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_error(&curl(&[&results]), 1008, 404);

    // Images leave Redis when their retention ends; the result stays.
    let server = replica(&redis, |c| {
        c.image_retention = Some(Duration::from_millis(2500))
    })
    .await;
    let (id, token) = create(&server);
    let created_at = std::time::Instant::now();
    stream_still(&server, &id, &token).await;
    let results = format!("{}/api/liveness/session/{id}/results", server.rest_url);
    assert!(curl(&[&results]).json["referenceImage"].is_string());
    tokio::time::sleep(Duration::from_millis(2700).saturating_sub(created_at.elapsed())).await;
    let later = curl(&[&results]);
    assert_eq!(later.json["status"], "FAILED");
    assert!(later.json["referenceImage"].is_null(), "{later:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_session_rate_limit_is_the_keys_across_replicas() {
    use support::{ACME_KEY, GLOBEX_KEY, with_keys};
    let redis = Redis::start();
    let limited = |c: &mut livegate_server::Config| {
        with_keys(c);
        c.sessions_per_minute = 1;
        c.session_burst = 3;
    };
    let a = replica(&redis, limited).await;
    let b = replica(&redis, limited).await;
    let create = |server: &TestServer, key: &str| {
        curl(&[
            "-X",
            "POST",
            "-H",
            &format!("x-api-key: {key}"),
            &format!("{}/api/liveness/session", server.rest_url),
        ])
    };
    // acme's burst of 3, spent on two replicas: a fourth is refused on either.
    for server in [&a, &b, &a] {
        assert_eq!(create(server, ACME_KEY).status, 200);
    }
    for server in [&b, &a] {
        let refused = create(server, ACME_KEY);
        assert_error(&refused, 2014, 429);
        // One session a minute: the next is 40 s to 60 s away.
        let retry_after = support::retry_after(&refused);
        assert!((40..=60).contains(&retry_after), "{retry_after}");
    }
    // gRPC draws on the same bucket.
    let mut client = support::grpc(&b).await;
    let refused = client
        .create_session(support::keyed(
            pb::CreateSessionRequest::default(),
            ACME_KEY,
        ))
        .await
        .unwrap_err();
    assert_eq!(support::code(&refused), Some(2014));
    // Another key has its own bucket.
    assert_eq!(create(&b, GLOBEX_KEY).status, 200);

    // The bucket is Redis's, and expires once it would be full again (about 3 minutes).
    let ttl = Command::new("redis-cli")
        .args([
            "-p",
            &redis.port.to_string(),
            "pttl",
            "livegate:ratelimit:acme",
        ])
        .output()
        .expect("redis-cli");
    let ttl: i64 = String::from_utf8_lossy(&ttl.stdout).trim().parse().unwrap();
    assert!((120_000..=180_000).contains(&ttl), "{ttl} ms");
}

/// A private certificate authority and the certificates it signed, as PEM files in `dir`:
/// `ca.pem`; `redis.pem`/`redis.key` for `localhost`; `client.pem`/`client.key`.
struct Pki {
    dir: std::path::PathBuf,
}

impl Pki {
    fn generate() -> Self {
        use rcgen::{
            BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
            KeyUsagePurpose,
        };
        let dir = std::env::temp_dir().join(format!("livegate-redis-pki-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        // Distinct names: a certificate whose issuer is its own subject reads as self-signed.
        ca.distinguished_name
            .push(DnType::CommonName, "Livegate test authority");
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        for (name, names) in [("redis", vec!["localhost".to_string()]), ("client", vec![])] {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(names).unwrap();
            params.distinguished_name.push(DnType::CommonName, name);
            let cert = params.signed_by(&key, &ca).unwrap();
            std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).unwrap();
            std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
        }
        Pki { dir }
    }

    fn file(&self, name: &str) -> std::path::PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Connects a session store to `url` with `tls`, as a replica does at start: the error's
/// message when Redis does not take the connection.
async fn store_refusal(url: &str, tls: RedisTlsFiles) -> Option<String> {
    let hour = Duration::from_secs(3600);
    SessionStore::redis(&url.parse().unwrap(), &tls, hour, hour, hour)
        .await
        .err()
        .map(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_in_a_redis_that_speaks_only_tls_with_a_password_and_client_certificates() {
    let pki = Pki::generate();
    let redis = Redis::start_tls(&pki, "tls-redis-pass-0123");
    let url = redis.url.clone();
    let (ca, cert, key) = (
        pki.file("ca.pem"),
        pki.file("client.pem"),
        pki.file("client.key"),
    );
    let server = start({
        let (url, ca, cert, key) = (url.clone(), ca.clone(), cert.clone(), key.clone());
        move |c| {
            c.redis_url = Some(url.parse().unwrap());
            c.redis_tls_ca = Some(ca);
            c.redis_tls_cert = Some(cert);
            c.redis_tls_key = Some(key);
        }
    })
    .await;
    assert_eq!(curl(&[&format!("{}/ready", server.rest_url)]).status, 200);
    let (id, token) = create(&server);
    let verdict = stream_still(&server, &id, &token).await;
    assert!(!verdict.is_live);
    let seen = curl(&[&format!(
        "{}/api/liveness/session/{id}/results",
        server.rest_url
    )]);
    assert_eq!(seen.json["status"], "FAILED", "{seen:?}");

    // The session is in that Redis: read it there, over TLS, as redis-cli would.
    let keys = Command::new("redis-cli")
        .args(["--tls", "--cacert"])
        .arg(&ca)
        .arg("--cert")
        .arg(&cert)
        .arg("--key")
        .arg(&key)
        .args(["-h", "localhost", "-p", &redis.port.to_string()])
        .args(["--no-auth-warning", "-a", "tls-redis-pass-0123"])
        .args(["exists", &format!("livegate:session:{id}")])
        .output()
        .expect("redis-cli (Debian's redis-tools)");
    assert_eq!(
        String::from_utf8_lossy(&keys.stdout).trim(),
        "1",
        "{keys:?}"
    );

    // What a replica that is set up wrong meets: a refusal at start, never a quiet fallback.
    // (Each refusal comes after the store's connection retries: they run together.)
    let full = RedisTlsFiles {
        ca: Some(ca.clone()),
        client: Some((cert.clone(), key.clone())),
    };
    // Redis's certificate is checked: the system's roots do not know our authority.
    let untrusted = RedisTlsFiles {
        ca: None,
        ..full.clone()
    };
    // Redis asks for a client certificate.
    let anonymous = RedisTlsFiles {
        client: None,
        ..full.clone()
    };
    let wrong_password = url.replace("tls-redis-pass-0123", "not-the-password");
    let plain = url.replace("rediss://", "redis://");
    let (accepted, untrusted, anonymous, wrong_password, plain, mixed) = tokio::join!(
        store_refusal(&url, full.clone()),
        store_refusal(&url, untrusted),
        store_refusal(&url, anonymous),
        store_refusal(&wrong_password, full.clone()),
        store_refusal(&plain, RedisTlsFiles::default()),
        store_refusal(&plain, full),
    );
    println!(
        "untrusted: {untrusted:?}\nanonymous: {anonymous:?}\nwrong password: {wrong_password:?}\nplain: {plain:?}\nmixed: {mixed:?}"
    );
    assert_eq!(accepted, None);
    let untrusted = untrusted.expect("an unknown authority is refused");
    assert!(untrusted.contains("certificate"), "{untrusted}");
    assert!(anonymous.is_some(), "Redis wants a client certificate");
    let wrong_password = wrong_password.expect("a wrong password is refused");
    assert!(
        !wrong_password.contains("not-the-password"),
        "{wrong_password}"
    );
    assert!(plain.is_some(), "plain Redis protocol on the TLS port");
    let mixed = mixed.expect("TLS files with a plain URL are refused");
    assert!(mixed.contains("not rediss://"), "{mixed}");
}
