//! `mailprov status`: what waits, for the officer on duty.

use std::fmt::Write as _;
use std::path::Path;

use crate::config::Config;
use crate::intake::{LockError, Spool};

fn listing(dir: &Path) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
                .filter(|e| !e.file_name().to_string_lossy().ends_with(".report.txt"))
                .map(|e| {
                    let since = e
                        .metadata()
                        .and_then(|m| m.modified())
                        .map(|t| {
                            chrono::DateTime::<chrono::Local>::from(t)
                                .format("%d/%m/%Y %H:%M")
                                .to_string()
                        })
                        .unwrap_or_default();
                    (e.file_name().to_string_lossy().into_owned(), since)
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The status text.
pub fn status(config: &Config) -> String {
    let spool = Spool::new(&config.inbox.dir, &config.inbox.state_dir);
    let mut out = String::new();
    let daemon = if !spool.state_dir.exists() {
        "not running (no state folder yet)".to_string()
    } else {
        match spool.lock() {
            Ok(_lock) => "not running".to_string(),
            Err(LockError::Busy { pid, .. }) => format!("running (pid {pid})"),
            Err(e) => format!("unknown ({e})"),
        }
    };
    let _ = writeln!(out, "daemon: {daemon}");
    let inbox = listing(&spool.inbox)
        .into_iter()
        .filter(|(n, _)| !crate::intake::is_ignored(n))
        .collect::<Vec<_>>();
    for (title, files) in [
        ("inbox (not taken yet)", inbox),
        (
            "processing (being worked on, or waiting for the directory)",
            listing(&spool.processing),
        ),
        (
            "held (waiting for `mailprov approve`)",
            listing(&spool.held),
        ),
    ] {
        let _ = writeln!(out, "{title}: {}", files.len());
        for (name, since) in files {
            let _ = writeln!(out, "  {since}  {name}");
        }
    }
    let failed = crate::confirm::outbox_mails(&spool.outbox.join("failed"));
    if !failed.is_empty() {
        let _ = writeln!(
            out,
            "outbox/failed (refused for good by the relay; see the log): {}",
            failed.len()
        );
        for m in failed {
            let _ = writeln!(
                out,
                "  {}",
                m.file_name().unwrap_or_default().to_string_lossy()
            );
        }
    }
    let mails = crate::confirm::outbox_mails(&spool.outbox);
    let _ = writeln!(
        out,
        "outbox (confirmations waiting for the SMTP relay): {}",
        mails.len()
    );
    for m in mails {
        let to = std::fs::read_to_string(&m)
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("To: ").map(str::to_string))
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {}  to {to}",
            m.file_name().unwrap_or_default().to_string_lossy()
        );
    }
    out
}
