//! Every committed corpus input (seeds and past findings) through its target's checks, on every
//! test run: a fix that regresses fails here without a fuzzer. The fuzzing itself is
//! `deploy/dev/fuzz`.

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "{} has no inputs", dir.display());
    for path in inputs {
        let data = std::fs::read(&path).unwrap();
        eprintln!("{target}: {}", path.display());
        run(&data);
    }
}

#[test]
fn frames_in_the_corpus_decode_or_are_refused_as_invalid_frames() {
    replay("frame_decoding", livegate_fuzz::frame_decoding);
}

#[test]
fn streams_in_the_corpus_end_with_our_codes_and_a_stored_outcome() {
    replay("stream_protocol", livegate_fuzz::stream_protocol);
}

#[test]
fn rest_requests_in_the_corpus_get_json_answers_with_our_codes() {
    replay("rest_bodies", livegate_fuzz::rest_bodies);
}
