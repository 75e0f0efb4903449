//! `mailprov` keeps a city's official e-mail accounts in step with the
//! request files its units send in.
//!
//! The crate is laid out as the pipeline of `DESIGN.md`, one module per stage:
//!
//! ```text
//! intake ─▶ forms ─▶ validate ─▶ plan ─▶ directory ─▶ confirm
//! ```
//!
//! `plan` is pure (no I/O); everything that talks to the outside world
//! (`intake`, `directory`, `confirm`) sits behind a small type of its own so
//! the stages in the middle can be tested without it.

pub mod check;
pub mod cli;
pub mod config;
pub mod confirm;
pub mod directory;
pub mod forms;
pub mod identity;
pub mod intake;
pub mod journal;
pub mod model;
pub mod password;
pub mod pipeline;
pub mod plan;
pub mod report;
pub mod status;
pub mod systemd;
pub mod text;
pub mod validate;

/// An error and all its causes on one line (`a: b: c`), for logs and
/// messages: the chain is what tells an operator what to fix.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

/// Lower-case hex of bytes (SHA-256 of files, HMAC of IDs).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
