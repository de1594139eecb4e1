//! libFuzzer entry point for [`livegate_fuzz::frame_decoding`]; run it with `deploy/dev/fuzz frame_decoding`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| livegate_fuzz::frame_decoding(data));
