//! libFuzzer entry point for [`livegate_fuzz::rest_bodies`]; run it with `deploy/dev/fuzz rest_bodies`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| livegate_fuzz::rest_bodies(data));
