//! The server's integration tests, in one binary: a real server on loopback for each test, and
//! clients that are not ours (curl, tungstenite, the generated tonic and Python clients,
//! Chromium). One binary links OpenCV, tract, tonic, axum and redis once instead of once a file,
//! and its tests share one load of the models. `metrics.rs` and `tracing.rs` stay binaries of
//! their own: each asserts on what is the process's (the metrics registry, the global tracing
//! subscriber), which other tests in the same process would move.

#[path = "../support/mod.rs"]
mod support;

mod attestation;
mod connections;
mod deploy;
mod identity;
mod keys;
mod lifecycle;
mod limits;
mod python_client;
mod redis_store;
mod rest;
mod startup;
mod tls;
mod web_client;
mod websocket;
