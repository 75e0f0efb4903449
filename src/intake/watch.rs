//! The daemon loop: watch the inbox (`notify` events are only hints: the
//! inbox is rescanned on start and on a timer too), take files once they
//! have settled, process them one at a time in arrival order, retry files
//! left in processing/ with backoff, stop cleanly on shutdown.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use notify::{RecursiveMode, Watcher};

use super::{is_ignored, Spool};
use crate::pipeline::{FileResult, Pipeline};

/// Tracks inbox files until they have stopped changing.
#[derive(Debug)]
pub struct Settle {
    /// How long a file must stay unchanged.
    settle: Duration,
    /// Per file: size and mtime last seen, and since when they are so.
    seen: HashMap<PathBuf, (u64, Option<SystemTime>, Instant)>,
}

impl Settle {
    pub fn new(settle: Duration) -> Settle {
        Settle {
            settle,
            seen: HashMap::new(),
        }
    }

    /// Feeds one scan of the inbox (path, size, mtime) at time `now`;
    /// returns the files that have settled, oldest first.
    pub fn observe(
        &mut self,
        files: Vec<(PathBuf, u64, Option<SystemTime>)>,
        now: Instant,
    ) -> Vec<PathBuf> {
        let mut ready = Vec::new();
        let present: Vec<PathBuf> = files.iter().map(|(p, _, _)| p.clone()).collect();
        for (path, size, mtime) in files {
            match self.seen.get(&path) {
                Some((s, m, since)) if *s == size && *m == mtime => {
                    if now.duration_since(*since) >= self.settle {
                        ready.push((mtime, path.clone()));
                    }
                }
                _ => {
                    self.seen.insert(path, (size, mtime, now));
                }
            }
        }
        self.seen.retain(|p, _| present.contains(p));
        ready.sort();
        ready.into_iter().map(|(_, p)| p).collect()
    }

    pub fn forget(&mut self, path: &Path) {
        self.seen.remove(path);
    }
}

/// Regular files in the inbox that are not temporary names. Anything else
/// (symbolic links, folders, pipes) is left alone and reported once.
fn scan(inbox: &Path, warned: &mut HashSet<PathBuf>) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    let Ok(entries) = std::fs::read_dir(inbox) else {
        tracing::warn!(inbox = %inbox.display(), "cannot read the inbox");
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| !is_ignored(&e.file_name().to_string_lossy()))
        .filter_map(|e| {
            // symlink_metadata: a link is never followed, and is not a
            // regular file, so it is left alone.
            let md = std::fs::symlink_metadata(e.path()).ok()?;
            if !md.file_type().is_file() {
                if warned.insert(e.path()) {
                    tracing::warn!(path = %e.path().display(), "not a regular file (link, folder…); left in the inbox");
                }
                return None;
            }
            Some((e.path(), md.len(), md.modified().ok()))
        })
        .collect()
}

/// Runs until `shutdown` completes. The file in flight is finished first.
pub async fn run_daemon<F>(pipeline: &Pipeline, shutdown: F) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let spool: &Spool = pipeline.spool();
    let inbox_cfg = &pipeline.config().inbox;
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let stopping = |rx: &tokio::sync::watch::Receiver<bool>| *rx.borrow();

    // Wake-ups from the file system; a failed watcher only means we rely on
    // the timer.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    // Events are only hints (an overflow loses some): the inbox is also
    // rescanned on every tick. `poll = true` relies on the ticks alone.
    let mut watcher = if inbox_cfg.poll {
        None
    } else {
        notify::recommended_watcher(move |_res: notify::Result<notify::Event>| {
            let _ = tx.send(());
        })
        .ok()
    };
    if let Some(w) = watcher.as_mut() {
        if let Err(e) = w.watch(&spool.inbox, RecursiveMode::NonRecursive) {
            tracing::warn!(error = %e, "cannot watch the inbox; polling only");
        }
    }

    if inbox_cfg.allowed_owners.is_empty() {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(&spool.inbox) {
            if m.permissions().mode() & 0o002 != 0 {
                tracing::warn!(inbox = %spool.inbox.display(), "the inbox is world-writable and inbox.allowed_owners is empty: any local user can submit requests");
            }
        }
    }
    let settle = Duration::from_millis(inbox_cfg.settle_ms);
    let scan_every = Duration::from_millis(inbox_cfg.scan_interval_ms.max(100));
    // Poll often enough to notice a file as soon as it has settled.
    let tick = scan_every.min((settle / 2).max(Duration::from_millis(100)));
    let keep_days = pipeline.config().privacy.keep_originals_days;
    let mut swept_at: Option<Instant> = None;
    let mut settling = Settle::new(settle);
    let mut warned = HashSet::new();
    let mut retry_at = Instant::now();
    let mut backoff = Duration::from_secs(5);
    // Mails waiting for the relay are retried on their own clock.
    let mut outbox_at = Instant::now();
    let mut outbox_backoff = Duration::from_secs(30);
    tracing::info!(inbox = %spool.inbox.display(), "watching the inbox");
    crate::systemd::notify("READY=1\nSTATUS=watching the inbox");
    let watchdog = crate::systemd::watchdog_interval();
    let mut pinged = Instant::now();

    loop {
        if stopping(&stop_rx) {
            break;
        }
        // Old originals (they hold ID numbers) go; hourly is often enough.
        if swept_at.is_none_or(|t| t.elapsed() >= Duration::from_secs(3600)) {
            let n = spool.sweep_originals(keep_days, chrono::Utc::now());
            if n > 0 {
                tracing::info!(
                    deleted = n,
                    keep_days,
                    "old request files deleted; their reports stay"
                );
            }
            swept_at = Some(Instant::now());
        }
        if let Some(every) = watchdog {
            if pinged.elapsed() >= every {
                crate::systemd::notify("WATCHDOG=1");
                pinged = Instant::now();
            }
        }
        // Files left in processing/ (a crash, an outage) come first.
        if Instant::now() >= retry_at {
            let mut deferred = false;
            for path in spool.pending()? {
                if stopping(&stop_rx) {
                    break;
                }
                if let FileResult::Deferred { .. } = pipeline.process(&path).await {
                    deferred = true;
                    break;
                }
            }
            if deferred {
                retry_at = Instant::now() + backoff;
                tracing::info!(
                    retry_in_secs = backoff.as_secs(),
                    "will retry files in processing/"
                );
                backoff = (backoff * 2).min(Duration::from_secs(600));
                // New files wait behind deferred ones: arrival order.
            } else {
                backoff = Duration::from_secs(5);
                retry_at = Instant::now() + scan_every;
                for path in settling.observe(scan(&spool.inbox, &mut warned), Instant::now()) {
                    if stopping(&stop_rx) {
                        break;
                    }
                    settling.forget(&path);
                    let claimed = match spool.claim(&path) {
                        Ok(p) => p,
                        Err(e) => {
                            tracing::warn!(file = %path.display(), error = %e, "cannot claim file");
                            continue;
                        }
                    };
                    if let FileResult::Deferred { .. } = pipeline.process(&claimed).await {
                        retry_at = Instant::now() + backoff;
                        break;
                    }
                }
                // Processed files may have let time pass: rescan at once.
                retry_at = retry_at.min(Instant::now() + tick);
            }
        }
        if Instant::now() >= outbox_at {
            let (_, waiting) = pipeline.flush_outbox().await;
            if waiting > 0 {
                outbox_at = Instant::now() + outbox_backoff;
                outbox_backoff = (outbox_backoff * 2).min(Duration::from_secs(600));
            } else {
                outbox_backoff = Duration::from_secs(30);
                outbox_at = Instant::now() + scan_every;
            }
        }
        tokio::select! {
            _ = stop_rx.changed() => {}
            _ = rx.recv() => {}
            _ = tokio::time::sleep(tick) => {}
        }
    }
    tracing::info!("shutting down");
    crate::systemd::notify("STOPPING=1");
    drop(watcher);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_ready_only_after_it_stopped_changing() {
        let mut s = Settle::new(Duration::from_millis(100));
        let t0 = Instant::now();
        let p = PathBuf::from("/in/a.docx");
        assert!(s.observe(vec![(p.clone(), 10, None)], t0).is_empty());
        // Grew: the clock starts again.
        assert!(s
            .observe(vec![(p.clone(), 20, None)], t0 + Duration::from_millis(150))
            .is_empty());
        assert!(s
            .observe(vec![(p.clone(), 20, None)], t0 + Duration::from_millis(200))
            .is_empty());
        assert_eq!(
            s.observe(vec![(p.clone(), 20, None)], t0 + Duration::from_millis(260)),
            vec![p.clone()]
        );
        // Gone from the inbox: forgotten.
        assert!(s
            .observe(vec![], t0 + Duration::from_millis(300))
            .is_empty());
        assert!(s.seen.is_empty());
    }

    #[test]
    fn ready_files_come_in_arrival_order() {
        let mut s = Settle::new(Duration::ZERO);
        let t0 = Instant::now();
        let old = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let new = SystemTime::UNIX_EPOCH + Duration::from_secs(200);
        let files = vec![
            (PathBuf::from("/in/z-new"), 1, Some(new)),
            (PathBuf::from("/in/b-old"), 1, Some(old)),
        ];
        s.observe(files.clone(), t0);
        assert_eq!(
            s.observe(files, t0),
            vec![PathBuf::from("/in/b-old"), PathBuf::from("/in/z-new")]
        );
    }
}
