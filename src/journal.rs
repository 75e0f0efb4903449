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
    /// A file was taken from the inbox (or given to `process`).
    FileClaimed { sha256: String, name: String },
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

    /// Hashes of the files whose content was applied before.
    pub fn applied_files(state_dir: &Path) -> std::io::Result<HashSet<String>> {
        let mut out = HashSet::new();
        let file = match File::open(Journal::path(state_dir)) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        for line in BufReader::new(file).lines() {
            // A torn last line after a crash is skipped.
            if let Ok(Record {
                event: Event::FileFinished { sha256, status },
                ..
            }) = serde_json::from_str(&line?)
            {
                if status == "applied" {
                    out.insert(sha256);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_torn_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path()).unwrap();
        j.record(Event::FileClaimed {
            sha256: "a".into(),
            name: "x.docx".into(),
        })
        .unwrap();
        j.record(Event::FileFinished {
            sha256: "a".into(),
            status: "applied".into(),
        })
        .unwrap();
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
        let applied = Journal::applied_files(dir.path()).unwrap();
        assert_eq!(applied, HashSet::from(["a".to_string()]));
    }
}
