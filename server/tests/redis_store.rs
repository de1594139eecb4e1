//! Sessions in a real Redis (Debian's `redis-server`, started by this test on a loopback port),
//! shared by two servers: create on A, stream on B, read and verify from A; verify-once when A
//! and B verify at the same instant; finished results outlive a restart of A; readiness (REST and
//! gRPC health) follows Redis going away and coming back; expiry by TTL.

mod support;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use livegate_proto::v1 as pb;
use support::{TestServer, assert_error, curl, jpeg_frame, start, start_message};

/// A redis-server of our own, without persistence, killed at the end.
struct Redis {
    child: Child,
    port: u16,
    url: String,
}

impl Redis {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self::start_on(port)
    }

    /// A (new, empty) Redis on `port`: how a restarted Redis looks to the replicas.
    fn start_on(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
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
        c.redis_url = Some(url);
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
    let results = |server: &TestServer| {
        curl(&[&format!(
            "{}/api/liveness/session/{id}/results",
            server.rest_url
        )])
    };
    let seen = results(&a);
    assert_eq!(seen.json["status"], "FAILED", "{seen:?}");
    assert!(
        seen.json["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "CHALLENGE_TIMEOUT")
    );
    assert!(
        seen.json["referenceImage"]
            .as_str()
            .is_some_and(|i| i.len() > 100)
    );

    // The same token cannot stream again, on either replica.
    let mut again = support::grpc(&a).await;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(start_message(&id, &token)).await.unwrap();
    let Err(refused) = again
        .stream_session(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
    else {
        panic!("a streamed session's token opens no second stream");
    };
    assert_eq!(support::code(&refused), Some(2001));

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
    let seen = results(&a);
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
