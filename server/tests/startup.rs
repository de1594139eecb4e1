//! The server binary refuses to start without its models, and says what to do.

use std::process::Command;

#[test]
fn missing_models_stop_start_up_with_the_file_and_the_fetch_command() {
    let empty = std::env::temp_dir().join(format!("livegate-empty-models-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_livegate-server"))
        .args(["--addr", "127.0.0.1:0", "--model-dir"])
        .arg(&empty)
        .env("LIVEGATE_LOG", "off")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("face_detection_yunet_2023mar.onnx"),
        "{stderr}"
    );
    assert!(
        stderr.contains("python3 engine/assets/fetch.py models"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    std::fs::remove_dir_all(&empty).unwrap();
}
