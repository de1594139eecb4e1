//! libFuzzer entry point for [`livegate_fuzz::stream_protocol`]; run it with `deploy/dev/fuzz stream_protocol`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| livegate_fuzz::stream_protocol(data));
