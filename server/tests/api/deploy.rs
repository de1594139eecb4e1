//! The deployment files in `deploy/` against the server they deploy: every LIVEGATE_* variable
//! they set is one the server reads, the Kubernetes ConfigMap's values start the real binary to
//! readiness, and the example Secret's placeholder key is refused (it must be replaced).
//! (Their schemas are checked by `deploy/check`.)

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clap::CommandFactory;

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

/// The files an operator deploys with.
fn deploy_files() -> Vec<PathBuf> {
    let dir = deploy_dir();
    let mut files = vec![dir.join("Dockerfile"), dir.join("compose.yaml")];
    for entry in std::fs::read_dir(dir.join("k8s")).unwrap() {
        files.push(entry.unwrap().path());
    }
    files
}

/// Every `LIVEGATE_*` name in `text`.
fn variables(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("LIVEGATE_") {
        let name: String = rest[at..]
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        rest = &rest[at + name.len()..];
        // `LIVEGATE_*` in prose is the family, not a variable.
        if !name.ends_with('_') {
            names.insert(name);
        }
    }
    names
}

/// A ConfigMap's or Secret's `data`/`stringData` entries (flat `  KEY: value` lines; comments
/// skipped, quotes removed).
fn entries(manifest: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(manifest).unwrap();
    text.lines()
        .filter_map(|line| {
            let line = line.strip_prefix("  ")?;
            let (key, value) = line.split_once(": ")?;
            key.starts_with("LIVEGATE_").then(|| {
                let value = value.trim().trim_matches('"');
                (key.to_string(), value.to_string())
            })
        })
        .collect()
}

#[test]
fn every_variable_the_deploy_files_set_is_one_the_server_reads() {
    let mut known: BTreeSet<String> = livegate_server::Config::command()
        .get_arguments()
        .filter_map(|arg| arg.get_env())
        .map(|name| name.to_string_lossy().into_owned())
        .collect();
    // Read outside the flags: the log filter (telemetry) and the models' cache (fetch.py, and
    // the default model directory).
    known.extend(["LIVEGATE_LOG".into(), "LIVEGATE_CACHE_DIR".into()]);
    let mut seen = 0;
    for file in deploy_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        for name in variables(&text) {
            seen += 1;
            assert!(
                known.contains(&name),
                "{} names {name}, which the server does not read",
                file.display()
            );
        }
    }
    assert!(seen >= 15, "only {seen} variables found in deploy/");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_config_map_starts_the_server_and_the_example_secret_must_be_replaced() {
    let config = entries(&deploy_dir().join("k8s/configmap.yaml"));
    assert!(config.len() >= 10, "{config:?}");
    let secret = entries(&deploy_dir().join("k8s/secret.example.yaml"));

    // The ConfigMap as it ships, on loopback ports of our own, with the Secret's Redis address
    // left out (the Redis tests cover it): the server comes up ready.
    let mut child = Command::new(env!("CARGO_BIN_EXE_livegate-server"))
        .envs(&config)
        .env("LIVEGATE_ADDR", "127.0.0.1:0")
        .env("LIVEGATE_REST_ADDR", "127.0.0.1:0")
        .env("LIVEGATE_METRICS_ADDR", "127.0.0.1:0")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let log = support::log_lines(&mut child);
    let rest_addr = support::listening_addr(&log, "REST");
    let metrics_addr = support::listening_addr(&log, "Prometheus");
    let ready = support::curl(&["-m", "10", &format!("http://{rest_addr}/ready")]);
    // Prometheus finds the metrics where the Deployment's annotations say.
    let metrics = support::curl(&["-m", "10", &format!("http://{metrics_addr}/metrics")]);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(ready.status, 200, "{ready:?}");
    assert_eq!(metrics.status, 200, "{metrics:?}");

    // The example Secret's key is a placeholder: the server refuses to start on it.
    let out = Command::new(env!("CARGO_BIN_EXE_livegate-server"))
        .envs(&config)
        .env("LIVEGATE_API_KEYS", &secret["LIVEGATE_API_KEYS"])
        .env("LIVEGATE_ADDR", "127.0.0.1:0")
        .env("LIVEGATE_REST_ADDR", "127.0.0.1:0")
        .env("LIVEGATE_METRICS_ADDR", "127.0.0.1:0")
        .stdout(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("at least 16 characters"), "{stderr}");
}
