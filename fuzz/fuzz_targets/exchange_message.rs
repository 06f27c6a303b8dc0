#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    trustreg_fuzz::exchange_message(data);
});
