//! The journal: an append-only, fsynced log of every file taken and every
//! operation before and after it is applied (JSON lines in
//! `<state_dir>/journal.jsonl`). It holds addresses and hashes, never a
//! password or a clear ID number.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One journal record.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A file was taken from the inbox (or given to `process`), with the
    /// uid of the user who put it there.
    FileClaimed {
        sha256: String,
        name: String,
        #[serde(default)]
        owner: Option<u32>,
    },
    /// What the file is: its document number and unit, as read.
    FileRead {
        sha256: String,
        doc_number: Option<String>,
        unit: Option<String>,
        rows: usize,
    },
    /// The operations planned for a file, before any is applied.
    Planned { sha256: String, ops: Vec<String> },
    /// About to apply an operation.
    OpStarted { sha256: String, op: String },
    /// The operation is in effect (`already` when it was already).
    OpDone {
        sha256: String,
        op: String,
        already: bool,
    },
    /// The operation failed.
    OpFailed {
        sha256: String,
        op: String,
        error: String,
    },
    /// Work on the file stopped for now (directory unreachable…); it stays
    /// in processing/ and is tried again.
    FileDeferred { sha256: String, reason: String },
    /// The confirmation went out (or was queued) with this status; only
    /// the filing is left.
    Confirmed { sha256: String, status: String },
    /// An officer approved a held file (`mailprov approve`).
    FileApproved { sha256: String },
    /// The file was filed away with this status.
    FileFinished { sha256: String, status: String },
}

/// A record with its time.
#[derive(Serialize, Deserialize)]
struct Record {
    /// RFC 3339 time of the record.
    ts: String,
    #[serde(flatten)]
    event: Event,
}

/// Appends records to the journal file.
pub struct Journal {
    /// Open for appending.
    file: File,
    /// Its path, for messages.
    path: PathBuf,
}

impl Journal {
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join("journal.jsonl")
    }

    pub fn open(state_dir: &Path) -> std::io::Result<Journal> {
        let path = Journal::path(state_dir);
        let mut opts = OpenOptions::new();
        opts.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let file = opts.open(&path)?;
        Ok(Journal { file, path })
    }

    /// Writes one record and waits until it (and every record appended
    /// before it) is on disk.
    pub fn record(&mut self, event: Event) -> std::io::Result<()> {
        self.append(event)?;
        self.file.sync_data()
    }

    /// Writes one record without waiting for the disk. Used for per-operation
    /// records: the planned operations are synced before any is applied and
    /// every operation is idempotent, so a record lost in a crash only means
    /// the operation is replayed, harmlessly. `record` or `sync` follows.
    pub fn append(&mut self, event: Event) -> std::io::Result<()> {
        let rec = Record {
            ts: chrono::Utc::now().to_rfc3339(),
            event,
        };
        let mut line = serde_json::to_string(&rec).map_err(std::io::Error::other)?;
        line.push('\n');
        self.file.write_all(line.as_bytes())
    }

    /// Waits until every record written so far is on disk.
    pub fn sync(&mut self) -> std::io::Result<()> {
        self.file.sync_data()
    }

    pub fn file_path(&self) -> &Path {
        &self.path
    }

    /// What the journal knows of earlier attempts at a file's content.
    pub fn history(state_dir: &Path, sha256: &str) -> std::io::Result<History> {
        let mut h = History::default();
        let file = match File::open(Journal::path(state_dir)) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(h),
            Err(e) => return Err(e),
        };
        // A claim with no deferral or end after it: the process died. It
        // counts against the file only if it died before planning (while
        // reading the file): a death while applying is a power cut or an
        // operator, not the file's doing.
        let mut open_claim = false;
        let mut planned = false;
        for line in BufReader::new(file).lines() {
            // A torn last line after a crash is skipped.
            let Ok(record) = serde_json::from_str::<Record>(&line?) else {
                continue;
            };
            match record.event {
                Event::FileClaimed { sha256: s, .. } if s == sha256 => {
                    if open_claim && !planned {
                        h.crashed_attempts += 1;
                    }
                    open_claim = true;
                    planned = false;
                }
                Event::Planned { sha256: s, .. } if s == sha256 => planned = true,
                Event::FileDeferred { sha256: s, .. } if s == sha256 => open_claim = false,
                Event::FileFinished { sha256: s, status } if s == sha256 => {
                    open_claim = false;
                    // Filed away: a new drop of the same content starts afresh.
                    h.crashed_attempts = 0;
                    h.confirmed = None;
                    if status == "applied" {
                        h.applied_before = true;
                    }
                }
                Event::FileApproved { sha256: s } if s == sha256 => h.approved = true,
                Event::Confirmed { sha256: s, status } if s == sha256 => h.confirmed = Some(status),
                Event::OpStarted { sha256: s, op } if s == sha256 => {
                    h.started_ops.insert(op);
                }
                _ => {}
            }
        }
        if open_claim && !planned {
            h.crashed_attempts += 1;
        }
        Ok(h)
    }
}

/// Earlier attempts at one file's content, as the journal tells them.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct History {
    /// The same content was applied and filed in done/ before.
    pub applied_before: bool,
    /// An officer approved this content past the mass-change guard.
    pub approved: bool,
    /// The last attempt confirmed the file (this status) but did not file
    /// it away.
    pub confirmed: Option<String>,
    /// Operations earlier attempts started ([`crate::plan::Operation::describe`]).
    pub started_ops: HashSet<String>,
    /// Attempts that ended with no record at all: the process died (power
    /// cut, `kill -9`, out of memory). A file that keeps killing mailprov is
    /// set aside instead of being tried for ever.
    pub crashed_attempts: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claimed(sha: &str) -> Event {
        Event::FileClaimed {
            sha256: sha.into(),
            name: "x.docx".into(),
            owner: Some(1000),
        }
    }

    #[test]
    fn history_of_applied_rejected_and_torn_records() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path()).unwrap();
        j.record(claimed("a")).unwrap();
        j.append(Event::OpStarted {
            sha256: "a".into(),
            op: "create annv".into(),
        })
        .unwrap();
        j.record(Event::FileFinished {
            sha256: "a".into(),
            status: "applied".into(),
        })
        .unwrap();
        j.record(claimed("b")).unwrap();
        j.record(Event::FileFinished {
            sha256: "b".into(),
            status: "rejected".into(),
        })
        .unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(Journal::path(dir.path()))
            .unwrap()
            .write_all(b"{\"ts\":")
            .unwrap();
        let a = Journal::history(dir.path(), "a").unwrap();
        assert!(a.applied_before);
        assert_eq!(a.started_ops, HashSet::from(["create annv".to_string()]));
        assert_eq!(a.crashed_attempts, 0);
        let b = Journal::history(dir.path(), "b").unwrap();
        assert!(!b.applied_before);
        assert_eq!(
            Journal::history(dir.path(), "c").unwrap(),
            History::default()
        );
    }

    #[test]
    fn claims_without_an_end_count_as_crashes_deferrals_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path()).unwrap();
        j.record(claimed("a")).unwrap();
        j.record(Event::FileDeferred {
            sha256: "a".into(),
            reason: "down".into(),
        })
        .unwrap();
        j.record(claimed("a")).unwrap();
        j.record(claimed("a")).unwrap();
        assert_eq!(
            Journal::history(dir.path(), "a").unwrap().crashed_attempts,
            2
        );
        // Deaths while applying (after planning) do not count.
        j.record(claimed("b")).unwrap();
        j.record(Event::Planned {
            sha256: "b".into(),
            ops: vec![],
        })
        .unwrap();
        j.record(claimed("b")).unwrap();
        j.record(Event::Planned {
            sha256: "b".into(),
            ops: vec![],
        })
        .unwrap();
        assert_eq!(
            Journal::history(dir.path(), "b").unwrap().crashed_attempts,
            0
        );
        // A file filed away starts afresh when dropped again.
        j.record(Event::FileFinished {
            sha256: "a".into(),
            status: "failed".into(),
        })
        .unwrap();
        assert_eq!(
            Journal::history(dir.path(), "a").unwrap().crashed_attempts,
            0
        );
    }
}
