//! The intake stage: the spool folders and the moves between them. Files
//! move by atomic rename only (inbox → processing → done/rejected), so a
//! crash leaves each file in exactly one place.

mod watch;

pub use watch::{run_daemon, Settle};

use std::fs;
use std::io::Write;

use std::path::{Path, PathBuf};

use crate::report::Status;

/// The folders of one deployment.
#[derive(Clone, Debug)]
pub struct Spool {
    /// Where IT staff drop files.
    pub inbox: PathBuf,
    /// Files being worked on (claimed, not yet filed).
    pub processing: PathBuf,
    /// Applied files and their reports.
    pub done: PathBuf,
    /// Rejected or failed files and their reports.
    pub rejected: PathBuf,
    /// Mails waiting for the relay.
    pub outbox: PathBuf,
    /// The state folder itself (journal).
    pub state_dir: PathBuf,
    /// Files that would lock or delete too many accounts, waiting for an
    /// officer's `mailprov approve`.
    pub held: PathBuf,
}

/// Holds the spool's lock file for as long as it lives: one mailprov at a
/// time works on a spool.
#[derive(Debug)]
pub struct SpoolLock {
    /// The open, `flock`ed lock file; closing it releases the lock.
    _file: fs::File,
}

/// Why the spool could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another mailprov (pid {pid}) is already working on {state_dir}; stop it first, or drop files into its inbox instead")]
    Busy { state_dir: PathBuf, pid: String },
    #[error("cannot open the lock file {0}")]
    Io(PathBuf, #[source] std::io::Error),
}

/// Names that are never request files: Office lock and temporary files,
/// partial copies, hidden files.
pub fn is_ignored(name: &str) -> bool {
    name.starts_with('.')
        || name.starts_with("~$")
        || name.starts_with(".~lock")
        || name.ends_with(".part")
        || name.ends_with(".tmp")
        || name.ends_with('~')
}

/// Writes a file readable by its owner only.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Makes a file name safe to use inside our folders: no separators or
/// control characters, no leading dots, at most 150 bytes with the
/// extension kept (it decides which reader reads the file).
fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let cleaned = cleaned.trim_start_matches('.').to_string();
    let cleaned = if cleaned.is_empty() {
        "file".to_string()
    } else {
        cleaned
    };
    const MAX: usize = 150;
    if cleaned.len() <= MAX {
        return cleaned;
    }
    let (stem, ext) = match cleaned.rsplit_once('.') {
        Some((s, e)) if e.len() <= 8 && !s.is_empty() => (s, format!(".{e}")),
        _ => (cleaned.as_str(), String::new()),
    };
    let mut end = MAX - ext.len();
    while !stem.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{ext}", &stem[..end])
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

impl Spool {
    pub fn new(inbox: &Path, state_dir: &Path) -> Spool {
        Spool {
            inbox: inbox.to_path_buf(),
            processing: state_dir.join("processing"),
            done: state_dir.join("done"),
            rejected: state_dir.join("rejected"),
            outbox: state_dir.join("outbox"),
            held: state_dir.join("held"),
            state_dir: state_dir.to_path_buf(),
        }
    }

    /// Takes the spool's lock (`<state_dir>/mailprov.lock`, `flock`), or
    /// says who holds it.
    pub fn lock(&self) -> Result<SpoolLock, LockError> {
        use std::io::{Read, Seek, SeekFrom};
        use std::os::unix::io::AsRawFd;
        let path = self.state_dir.join("mailprov.lock");
        let mut file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| LockError::Io(path.clone(), e))?;
        // SAFETY: flock on a file descriptor we own; no memory involved.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            return Err(LockError::Busy {
                state_dir: self.state_dir.clone(),
                pid: pid.trim().to_string(),
            });
        }
        let _ = file.set_len(0);
        let _ = file.seek(SeekFrom::Start(0));
        let _ = write!(file, "{}", std::process::id());
        let _ = file.sync_all();
        Ok(SpoolLock { _file: file })
    }

    /// Creates the folders (state folders 0700).
    pub fn ensure(&self) -> std::io::Result<()> {
        fs::create_dir_all(&self.inbox)?;
        for d in [
            &self.state_dir,
            &self.processing,
            &self.done,
            &self.rejected,
            &self.outbox,
            &self.held,
        ] {
            fs::create_dir_all(d)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(d, fs::Permissions::from_mode(0o700))?;
            }
        }
        Ok(())
    }

    /// A free path `<dir>/<time>-<n>-<name>`; the counter is always there
    /// so the original name can be recovered whatever it starts with.
    fn stamped(dir: &Path, name: &str) -> PathBuf {
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let name = safe_name(name);
        let mut n = 1;
        loop {
            let path = dir.join(format!("{stamp}-{n}-{name}"));
            let report = dir.join(format!("{stamp}-{n}-{name}.report.txt"));
            if !path.exists() && !report.exists() {
                return path;
            }
            n += 1;
        }
    }

    /// The name a file had before the spool stamped it.
    pub fn original_name(path: &Path) -> String {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut parts = name.splitn(3, '-');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(stamp), Some(n), Some(rest))
                if stamp.len() == 16
                    && stamp.ends_with('Z')
                    && !n.is_empty()
                    && n.chars().all(|c| c.is_ascii_digit()) =>
            {
                rest.to_string()
            }
            _ => name,
        }
    }

    /// Takes a file from the inbox by atomic rename into processing/.
    pub fn claim(&self, path: &Path) -> std::io::Result<PathBuf> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let target = Spool::stamped(&self.processing, &name);
        fs::rename(path, &target)?;
        // Request files hold ID numbers: owner-only from here on.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = fs::set_permissions(&target, fs::Permissions::from_mode(0o600));
        }
        sync_dir(&self.processing)?;
        Ok(target)
    }

    /// Copies a file into processing/ (for `mailprov process`: the given
    /// file stays where it is). If a file with the same content already
    /// waits there (an earlier run was interrupted or deferred), that one is
    /// returned instead of a second copy.
    pub fn copy_in(&self, path: &Path) -> std::io::Result<PathBuf> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes = fs::read(path)?;
        for waiting in self.pending()? {
            if fs::metadata(&waiting).map(|m| m.len()).ok() == Some(bytes.len() as u64)
                && fs::read(&waiting).map(|b| b == bytes).unwrap_or(false)
            {
                return Ok(waiting);
            }
        }
        let target = Spool::stamped(&self.processing, &name);
        let tmp = self.processing.join(format!(".{}.part", safe_name(&name)));
        write_private(&tmp, &bytes)?;
        fs::rename(&tmp, &target)?;
        sync_dir(&self.processing)?;
        Ok(target)
    }

    /// Deletes request files taken more than `days` days ago from done/
    /// and rejected/ (their reports stay). The age comes from the time
    /// stamp the spool put in the name when it took the file, not from the
    /// file's own modification time. Returns how many were deleted.
    pub fn sweep_originals(&self, days: u32, now: chrono::DateTime<chrono::Utc>) -> usize {
        if days == 0 {
            return 0;
        }
        let limit = now - chrono::Duration::days(i64::from(days));
        let mut deleted = 0;
        for dir in [&self.done, &self.rejected] {
            let Ok(entries) = fs::read_dir(dir) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.ends_with(".report.txt") {
                    continue;
                }
                let taken = name
                    .get(..16)
                    .and_then(|stamp| {
                        chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ").ok()
                    })
                    .map(|t| t.and_utc());
                if taken.is_some_and(|t| t < limit) && fs::remove_file(e.path()).is_ok() {
                    deleted += 1;
                }
            }
        }
        deleted
    }

    /// Files left in processing/ (by a crash or an outage), oldest first.
    pub fn pending(&self) -> std::io::Result<Vec<PathBuf>> {
        let mut files: Vec<PathBuf> = fs::read_dir(&self.processing)?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
            .filter(|e| !is_ignored(&e.file_name().to_string_lossy()))
            .map(|e| e.path())
            .collect();
        files.sort();
        Ok(files)
    }

    /// Files the report belongs beside, and the report itself, go to done/
    /// (applied) or rejected/ (anything else). Returns the filed path.
    pub fn file_away(
        &self,
        processing_path: &Path,
        status: Status,
        report: &str,
    ) -> std::io::Result<PathBuf> {
        let dir = match status {
            Status::Applied => &self.done,
            Status::Held => &self.held,
            Status::Rejected | Status::Failed => &self.rejected,
        };
        let name = processing_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut target = dir.join(&name);
        if target.exists() {
            target = Spool::stamped(dir, &Spool::original_name(processing_path));
        }
        let report_path = target.with_file_name(format!(
            "{}.report.txt",
            target.file_name().unwrap_or_default().to_string_lossy()
        ));
        write_private(&report_path, report.as_bytes())?;
        fs::rename(processing_path, &target)?;
        sync_dir(dir)?;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_are_ignored() {
        for n in [
            "~$mau.docx",
            ".~lock.mau.docx#",
            "mau.docx.part",
            ".hidden.docx",
            "a.tmp",
        ] {
            assert!(is_ignored(n), "{n}");
        }
        for n in ["01-tnmt-cap-moi.docx", "danh sach.xlsx", "a.csv"] {
            assert!(!is_ignored(n), "{n}");
        }
    }

    #[test]
    fn claim_stamps_and_original_name_recovers() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::new(&dir.path().join("inbox"), &dir.path().join("state"));
        spool.ensure().unwrap();
        let f = spool.inbox.join("01-tnmt-cap-moi.docx");
        fs::write(&f, b"x").unwrap();
        let p = spool.claim(&f).unwrap();
        assert!(!f.exists());
        assert!(p.starts_with(&spool.processing));
        assert_eq!(Spool::original_name(&p), "01-tnmt-cap-moi.docx");
        let g = spool.inbox.join("01-tnmt-cap-moi.docx");
        fs::write(&g, b"y").unwrap();
        let q = spool.claim(&g).unwrap();
        assert_ne!(p, q);
        assert_eq!(Spool::original_name(&q), "01-tnmt-cap-moi.docx");
        let filed = spool.file_away(&p, Status::Applied, "report").unwrap();
        assert!(filed.starts_with(&spool.done));
        assert_eq!(
            fs::read_to_string(filed.with_file_name(format!(
                "{}.report.txt",
                filed.file_name().unwrap().to_string_lossy()
            )))
            .unwrap(),
            "report"
        );
    }

    #[test]
    fn regression_long_names_keep_their_extension() {
        let long = format!("{}.csv", "Danh sách đề nghị cấp mới ".repeat(8));
        let safe = safe_name(&long);
        assert!(safe.len() <= 150 && safe.ends_with(".csv"), "{safe}");
    }

    #[test]
    fn old_originals_are_swept_reports_stay() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::new(&dir.path().join("inbox"), &dir.path().join("state"));
        spool.ensure().unwrap();
        for name in [
            "20250101T000000Z-1-a.docx",
            "20250101T000000Z-1-a.docx.report.txt",
            "20261201T000000Z-1-b.docx",
            "odd-name.docx",
        ] {
            fs::write(spool.done.join(name), b"x").unwrap();
        }
        fs::write(spool.rejected.join("20250101T000000Z-1-c.csv"), b"x").unwrap();
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-03T00:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(spool.sweep_originals(0, now), 0, "0 keeps for ever");
        assert_eq!(spool.sweep_originals(365, now), 2);
        assert!(!spool.done.join("20250101T000000Z-1-a.docx").exists());
        assert!(spool
            .done
            .join("20250101T000000Z-1-a.docx.report.txt")
            .exists());
        assert!(spool.done.join("20261201T000000Z-1-b.docx").exists());
        assert!(spool.done.join("odd-name.docx").exists());
    }

    #[test]
    fn names_cannot_escape_the_spool() {
        assert_eq!(safe_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_name("..."), "file");
    }
}
