//! Any bytes named `.csv`: the reader and the interpreter must return (an
//! error is fine) without panicking, hanging or blowing up memory.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = mailprov::forms::read("fuzz.csv", data) {
        let _ = mailprov::forms::interpret(&doc);
    }
});
