//! The pipeline of one file, from claimed bytes to a filed report:
//! read → interpret → validate → snapshot → plan → apply → confirm → file.
//! Shared by `run`, `process` and (up to the plan) `check`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::check::CheckReport;
use crate::config::{Config, Secrets};
use crate::confirm::{self, Delivery, Mailer};
use crate::directory::{Applied, Directory, DirectoryError, LdapDirectory, Profile};
use crate::forms::{self, Form};
use crate::identity::IdHasher;
use crate::intake::Spool;
use crate::journal::{Event, History, Journal};
use crate::model::Request;
use crate::plan::{self, AccountChange, Operation, Plan, PlanSettings, Step};
use crate::report::{FileOutcome, RowResult, Status};
use crate::validate::{self, Rules};

/// Why the pipeline could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("cannot prepare the spool folders under {0}")]
    Spool(PathBuf, #[source] std::io::Error),
    #[error("cannot open the journal in {0}")]
    Journal(PathBuf, #[source] std::io::Error),
    #[error("mail settings are not usable")]
    Mail(#[from] confirm::MailError),
    #[error("cannot read directory.ca_file {0}")]
    Ca(PathBuf, #[source] std::io::Error),
    #[error("inbox.allowed_owners")]
    Owners(#[source] crate::config::ConfigError),
}

/// What became of a file.
#[derive(Debug)]
pub enum FileResult {
    /// Filed in done/ (applied) or rejected/ with its report.
    Filed { status: Status, path: PathBuf },
    /// Left in processing/ to be tried again (directory unreachable…).
    Deferred { reason: String },
}

/// After this many attempts that killed mailprov (no record of their end),
/// a file is set aside in rejected/ instead of being tried again.
const MAX_CRASHED_ATTEMPTS: usize = 2;

/// Told to the unit when the same content comes again.
const DUPLICATE: &str =
    "tệp có nội dung trùng hoàn toàn với một tệp đã được xử lý trước đây nên không được áp dụng lại";

/// Reads a file unless it is larger than `max`: (its bytes or `None`, its
/// SHA-256, its size). The hash is streamed, so a huge file costs no memory.
/// Never follows a symbolic link, and reads only regular files.
fn read_capped(path: &Path, max: u64) -> std::io::Result<(Option<Vec<u8>>, String, u64)> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut hasher = Sha256::new();
    let mut kept = Vec::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        if size + n as u64 <= max {
            kept.extend_from_slice(&buf[..n]);
        }
        size += n as u64;
    }
    let sha = crate::hex(&hasher.finalize());
    Ok(((size <= max).then_some(kept), sha, size))
}

/// Where a file's report waits while its confirmation goes out.
fn pending_report(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}.report.txt"))
}

/// A reason to stop working on a file for now and try again later.
struct Defer(String);

/// Everything one deployment needs to process files.
pub struct Pipeline {
    /// The configuration, checked.
    config: Config,
    /// LDAP bind password.
    bind_password: secrecy::SecretString,
    /// Hashes ID numbers with the deployment's key.
    hasher: IdHasher,
    /// The spool folders.
    spool: Spool,
    /// Sends confirmations.
    mailer: Mailer,
    /// What planning needs from the config.
    plan_settings: PlanSettings,
    /// Attribute names of the mail stack.
    profile: Profile,
    /// CA certificates (PEM) trusted for the directory's TLS, if not the
    /// system's.
    ldap_ca: Option<Vec<u8>>,
    /// Uids allowed to put files in the inbox; empty: anybody.
    allowed_owners: Vec<u32>,
    /// The journal; a mutex because `&self` methods append to it. `None`
    /// for `check`, which writes nothing.
    journal: Mutex<Option<Journal>>,
}

fn now() -> String {
    chrono::Local::now()
        .format("%d/%m/%Y %H:%M:%S %z")
        .to_string()
}

impl Pipeline {
    /// A pipeline that processes files: creates the spool folders and opens
    /// the journal.
    pub fn new(config: Config, secrets: Secrets) -> Result<Pipeline, SetupError> {
        Pipeline::open(config, secrets, true)
    }

    /// A pipeline for `check`: reads the journal if there is one, writes
    /// nothing.
    pub fn read_only(config: Config, secrets: Secrets) -> Result<Pipeline, SetupError> {
        Pipeline::open(config, secrets, false)
    }

    fn open(config: Config, secrets: Secrets, writable: bool) -> Result<Pipeline, SetupError> {
        let spool = Spool::new(&config.inbox.dir, &config.inbox.state_dir);
        let journal = if writable {
            spool
                .ensure()
                .map_err(|e| SetupError::Spool(spool.state_dir.clone(), e))?;
            Some(
                Journal::open(&spool.state_dir)
                    .map_err(|e| SetupError::Journal(spool.state_dir.clone(), e))?,
            )
        } else {
            None
        };
        let mailer = Mailer::new(
            &config,
            secrets.smtp_password.as_ref(),
            spool.outbox.clone(),
        )?;
        let ldap_ca = match &config.directory.ca_file {
            Some(path) => Some(std::fs::read(path).map_err(|e| SetupError::Ca(path.clone(), e))?),
            None => None,
        };
        let plan_settings = PlanSettings {
            domain: config.accounts.domain.to_ascii_lowercase(),
            people_base: config.directory.people_base.clone(),
            archive_base: config.directory.archive_base.clone(),
            reserved: config.reserved_addresses(),
        };
        let profile = Profile::by_name(&config.directory.profile).unwrap_or(Profile::OPENLDAP);
        let allowed_owners = config
            .inbox
            .allowed_owner_uids()
            .map_err(SetupError::Owners)?;
        let Secrets {
            bind_password,
            id_hash_key,
            ..
        } = secrets;
        Ok(Pipeline {
            config,
            bind_password,
            hasher: IdHasher::new(id_hash_key),
            spool,
            mailer,
            plan_settings,
            profile,
            journal: Mutex::new(journal),
            allowed_owners,
            ldap_ca,
        })
    }

    pub fn spool(&self) -> &Spool {
        &self.spool
    }

    /// Records an officer's approval of a held file and moves it back to
    /// processing/. Returns its new path.
    pub fn approve(&self, held: &Path) -> std::io::Result<PathBuf> {
        let (_, sha, _) = read_capped(held, u64::MAX)?;
        self.journal(Event::FileApproved { sha256: sha });
        let target = self
            .spool
            .processing
            .join(held.file_name().unwrap_or_default());
        std::fs::rename(held, &target)?;
        // Its report in held/ is superseded by the one written when it is filed again.
        let report = held.with_file_name(format!(
            "{}.report.txt",
            held.file_name().unwrap_or_default().to_string_lossy()
        ));
        let _ = std::fs::remove_file(report);
        tracing::info!(file = %target.display(), "approved by an officer");
        Ok(target)
    }

    /// Writes the new accounts' initial passwords to a file only IT staff
    /// can read: `<state_dir>/passwords/<time>-<file>.txt`, 0600 in 0700.
    fn write_password_sheet(&self, outcome: &FileOutcome) -> std::io::Result<PathBuf> {
        use secrecy::ExposeSecret;
        use std::os::unix::fs::PermissionsExt;
        let dir = self.spool.state_dir.join("passwords");
        std::fs::create_dir_all(&dir)?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        let mut text = format!(
            "# Mật khẩu ban đầu — {} ({})\n# Chuyển riêng cho từng người; xóa tệp này sau khi đã chuyển.\n",
            outcome.document_label(),
            outcome.unit.as_deref().unwrap_or("-")
        );
        for r in &outcome.rows {
            if let (Some(addr), Some(pw)) = (&r.address, &r.initial_password) {
                text.push_str(&format!("{addr}\t{}\t{}\n", r.subject, pw.expose_secret()));
            }
        }
        let stem: String = Path::new(&outcome.file_name)
            .file_stem()
            .map(|s| {
                s.to_string_lossy()
                    .chars()
                    .map(|c| {
                        if c.is_alphanumeric() || c == '-' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let path = dir.join(format!(
            "{}-{stem}.txt",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
        ));
        crate::intake::write_private(&path, text.as_bytes())?;
        Ok(path)
    }

    /// Tries the mails waiting in the outbox: (sent, still waiting).
    pub async fn flush_outbox(&self) -> (usize, usize) {
        self.mailer.flush_outbox().await
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Appends a journal record; `sync` waits until it is on disk.
    fn journal_with(&self, event: Option<Event>, sync: bool) {
        let mut guard = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        let Some(j) = guard.as_mut() else {
            return;
        };
        let mut result = match event {
            Some(e) => j.append(e),
            None => Ok(()),
        };
        if sync && result.is_ok() {
            result = j.sync();
        }
        if let Err(e) = result {
            tracing::error!(error = %e, journal = %j.file_path().display(), "cannot write the journal");
        }
    }

    /// A record that must be on disk before going on.
    fn journal(&self, event: Event) {
        self.journal_with(Some(event), true);
    }

    async fn connect(&self) -> Result<LdapDirectory, DirectoryError> {
        let d = &self.config.directory;
        LdapDirectory::connect(crate::directory::LdapSettings {
            url: &d.url,
            bind_dn: &d.bind_dn,
            bind_password: &self.bind_password,
            people_base: &d.people_base,
            archive_base: &d.archive_base,
            domain: &self.config.accounts.domain,
            profile: self.profile.clone(),
            timeout: Duration::from_secs(d.timeout_secs),
            starttls: d.starttls,
            ca_pem: self.ldap_ca.as_deref(),
        })
        .await
    }

    fn rules(&self) -> Rules<'_> {
        Rules {
            domain: &self.plan_settings.domain,
            hasher: &self.hasher,
            today: chrono::Local::now().date_naive(),
        }
    }

    /// Reads and checks a file: the form and its requests, or the outcome
    /// of a rejection already filled in.
    fn read_and_validate(
        &self,
        name: &str,
        bytes: &[u8],
        outcome: &mut FileOutcome,
    ) -> Option<Vec<Request>> {
        let form = match forms::read(name, bytes).and_then(|doc| forms::interpret(&doc)) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(file = %name, error = %e, "file cannot be read as a request form");
                outcome.file_error = Some(e.vietnamese());
                return None;
            }
        };
        self.validate_form(name, &form, outcome)
    }

    /// Records what the form says in the outcome and the journal, then
    /// checks its rows: the requests, or `None` with the row errors in the
    /// outcome.
    fn validate_form(
        &self,
        name: &str,
        form: &Form,
        outcome: &mut FileOutcome,
    ) -> Option<Vec<Request>> {
        outcome.kind = Some(form.kind);
        outcome.meta = form.meta.clone();
        outcome.unit = form.requesting_unit();
        outcome.warnings = form.warnings.clone();
        self.journal_with(
            Some(Event::FileRead {
                sha256: outcome.sha256.clone(),
                doc_number: form.meta.doc_number.clone(),
                unit: outcome.unit.clone(),
                rows: form.rows.len(),
            }),
            false,
        );
        match validate::validate(form, &self.rules()) {
            Ok(requests) => Some(requests),
            Err(errors) => {
                tracing::info!(file = %name, errors = errors.len(), "rows are invalid; file rejected");
                outcome.errors = errors;
                None
            }
        }
    }

    /// Runs the whole pipeline on a file already in processing/.
    pub async fn process(&self, path: &Path) -> FileResult {
        let name = Spool::original_name(path);
        let max = self.config.inbox.max_file_bytes;
        let (bytes, sha, size) = match read_capped(path, max) {
            Ok(x) => x,
            Err(e) => {
                return FileResult::Deferred {
                    reason: format!("cannot read {}: {e}", path.display()),
                }
            }
        };
        let history = match Journal::history(&self.spool.state_dir, &sha) {
            Ok(h) => h,
            Err(e) => {
                return FileResult::Deferred {
                    reason: format!("cannot read the journal: {e}"),
                }
            }
        };
        tracing::info!(file = %name, sha256 = %&sha[..16], "processing");
        let owner = {
            use std::os::unix::fs::MetadataExt;
            std::fs::symlink_metadata(path).ok().map(|m| m.uid())
        };
        let allowed = &self.allowed_owners;
        let owner_refused = !allowed.is_empty() && !owner.is_some_and(|o| allowed.contains(&o));
        self.journal(Event::FileClaimed {
            sha256: sha.clone(),
            name: name.clone(),
            owner,
        });

        // Confirmed before a crash: only the filing is left to do; doing the
        // file again would mail new passwords and void the ones sent.
        if let Some(status) = history.confirmed.as_deref().and_then(Status::from_word) {
            tracing::info!(file = %name, "confirmed before an interruption; filing it");
            let report = std::fs::read_to_string(pending_report(path)).unwrap_or_else(|_| {
                format!("Tệp: {name}\nSHA-256: {sha}\nKết quả: {} (đã gửi thư xác nhận trước khi chương trình bị dừng)\n", status.vietnamese())
            });
            return self.file(path, &name, &sha, status, &report);
        }
        let mut outcome = FileOutcome::new(&name, &sha);
        let mut candidates = Vec::new();
        if owner_refused {
            tracing::warn!(file = %name, owner = ?owner, "file put in the inbox by a user not in inbox.allowed_owners; refused unread");
            outcome.file_error = Some(
                "tệp được đặt vào thư mục nhận bởi một tài khoản máy chủ không được phép nên không được xử lý".into(),
            );
        } else if history.crashed_attempts >= MAX_CRASHED_ATTEMPTS {
            tracing::error!(file = %name, attempts = history.crashed_attempts, "mailprov died while processing this file before; setting it aside");
            outcome.status = Status::Failed;
            outcome.file_error = Some(
                "tệp này đã làm chương trình xử lý dừng bất thường nhiều lần nên được để riêng, chưa xử lý; bộ phận kỹ thuật sẽ kiểm tra".into(),
            );
        } else if let Some(bytes) = bytes {
            if let Err(Defer(reason)) = self
                .work(&bytes, &history, &mut outcome, &mut candidates)
                .await
            {
                tracing::warn!(file = %name, %reason, "file left in processing/ to be retried");
                self.journal(Event::FileDeferred {
                    sha256: sha,
                    reason: reason.clone(),
                });
                return FileResult::Deferred { reason };
            }
        } else {
            tracing::warn!(file = %name, size, max, "file larger than inbox.max_file_bytes; rejected");
            outcome.file_error = Some(format!(
                "tệp quá lớn ({:.1} MB), vượt giới hạn {:.1} MB; đề nghị chỉ gửi danh sách đề nghị theo mẫu",
                size as f64 / 1e6,
                max as f64 / 1e6
            ));
        }

        // Initial passwords not for the unit's mail go to IT staff's file.
        if !self.config.mail.include_initial_passwords
            && outcome.rows.iter().any(|r| r.initial_password.is_some())
        {
            match self.write_password_sheet(&outcome) {
                Ok(sheet) => {
                    tracing::info!(file = %name, sheet = %sheet.display(), "initial passwords written for IT staff");
                    for r in &mut outcome.rows {
                        r.initial_password = None;
                    }
                    outcome.passwords_elsewhere = true;
                }
                Err(e) => {
                    // Without the sheet the passwords would be lost: try
                    // again later (the creates are replayed with new ones).
                    let reason = format!("cannot write the password sheet: {e}");
                    self.journal(Event::FileDeferred {
                        sha256: sha,
                        reason: reason.clone(),
                    });
                    return FileResult::Deferred { reason };
                }
            }
        }

        // The report is written before the mail goes, beside the file (a
        // dot name: never taken for a request), so that a crash after the
        // mail files it with this report instead of doing the file again.
        let report = outcome.report_text(&now());
        let pending = pending_report(path);
        if let Err(e) = crate::intake::write_private(&pending, report.as_bytes()) {
            tracing::error!(file = %name, error = %e, "cannot write the report; the file stays in processing/");
            return FileResult::Deferred {
                reason: format!("cannot write the report: {e}"),
            };
        }

        // Confirm: to the unit; a held file also to the office, as its own
        // mail (one refused address must not silence the other).
        match confirm::recipient(&self.config, &candidates) {
            Ok(to) => {
                let mut recipients = vec![to.clone()];
                if outcome.status == Status::Held {
                    if let Ok(office) = self
                        .config
                        .mail
                        .default_recipient
                        .parse::<lettre::message::Mailbox>()
                    {
                        if office.email != to.mailbox.email {
                            recipients.push(confirm::Recipient {
                                mailbox: office,
                                unit: to.unit.clone(),
                            });
                        }
                    }
                }
                let stem: String = Path::new(&name)
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
                    .chars()
                    .map(|c| {
                        if c.is_alphanumeric() || c == '-' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                for to in &recipients {
                    self.confirm(&outcome, to, &name, &stem).await;
                }
            }
            Err(e) => {
                tracing::error!(file = %name, error = %crate::error_chain(&e), "no recipient for the confirmation")
            }
        }

        self.journal(Event::Confirmed {
            sha256: sha.clone(),
            status: outcome.status.word().into(),
        });
        self.file(path, &name, &sha, outcome.status, &report)
    }

    /// Composes and sends (or writes, or queues) one confirmation.
    async fn confirm(
        &self,
        outcome: &FileOutcome,
        to: &confirm::Recipient,
        name: &str,
        stem: &str,
    ) {
        let msg = match confirm::compose(outcome, &self.mailer.from, to, &self.mailer.signer) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(file = %name, error = %crate::error_chain(&e), "confirmation could not be built");
                return;
            }
        };
        match self.mailer.send(&msg, stem).await {
            Ok(Delivery::Sent) => {
                tracing::info!(file = %name, to = %to.mailbox.email, "confirmation sent")
            }
            Ok(Delivery::Written(p)) => {
                tracing::info!(file = %name, to = %to.mailbox.email, mail = %p.display(), "confirmation written")
            }
            Ok(Delivery::Queued(p)) => {
                tracing::warn!(file = %name, mail = %p.display(), "confirmation queued in the outbox")
            }
            Err(e) => {
                tracing::error!(file = %name, error = %crate::error_chain(&e), "confirmation could not be sent or saved")
            }
        }
    }

    /// Files a processed request with its report in done/, rejected/ or
    /// held/, and journals it.
    fn file(&self, path: &Path, name: &str, sha: &str, status: Status, report: &str) -> FileResult {
        let filed = match self.spool.file_away(path, status, report) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(file = %name, error = %e, "cannot file the request away; it stays in processing/");
                return FileResult::Deferred {
                    reason: format!("cannot file away: {e}"),
                };
            }
        };
        let _ = std::fs::remove_file(pending_report(path));
        self.journal(Event::FileFinished {
            sha256: sha.to_string(),
            status: status.word().into(),
        });
        tracing::info!(file = %name, status = status.word(), filed = %filed.display(), "done");
        FileResult::Filed {
            status,
            path: filed,
        }
    }

    async fn work(
        &self,
        bytes: &[u8],
        history: &History,
        outcome: &mut FileOutcome,
        candidates: &mut Vec<String>,
    ) -> Result<(), Defer> {
        outcome.status = Status::Rejected;
        let name = outcome.file_name.clone();
        let parsed = self.read_and_validate(&name, bytes, outcome);
        if let Some(u) = &outcome.meta.issuing_unit {
            candidates.push(u.clone());
        }
        if let Some(u) = &outcome.unit {
            candidates.push(u.clone());
        }
        if history.applied_before {
            tracing::warn!(file = %name, "same content as a file applied before; not applied again");
            outcome.errors.clear();
            outcome.file_error = Some(DUPLICATE.into());
            return Ok(());
        }
        let Some(requests) = parsed else {
            return Ok(());
        };

        let mut dir = self
            .connect()
            .await
            .map_err(|e| Defer(crate::error_chain(&e)))?;
        let snapshot = dir
            .snapshot()
            .await
            .map_err(|e| Defer(crate::error_chain(&e)))?;
        let plan = match plan::plan(
            &requests,
            &snapshot,
            &self.plan_settings,
            &history.started_ops,
        ) {
            Ok(p) => p,
            Err(errors) => {
                tracing::info!(file = %name, errors = errors.len(), "rows cannot be carried out; file rejected");
                outcome.errors = errors;
                dir.close().await;
                return Ok(());
            }
        };
        let destructive = plan
            .operations()
            .filter(|op| matches!(op, Operation::Lock { .. } | Operation::Archive { .. }))
            .count();
        let max = self.config.safety.max_destructive;
        if destructive > max && !history.approved {
            tracing::warn!(file = %name, destructive, max, "too many locks and deletions; file held for approval");
            outcome.status = Status::Held;
            outcome.file_error = Some(format!(
                "văn bản đề nghị khóa hoặc hủy {destructive} tài khoản, vượt ngưỡng {max} tài khoản cho một văn bản"
            ));
            dir.close().await;
            return Ok(());
        }
        let result = self
            .apply(&mut dir, &requests, &plan, &history.started_ops, outcome)
            .await;
        dir.close().await;
        result
    }

    async fn apply<D: Directory>(
        &self,
        dir: &mut D,
        requests: &[Request],
        plan: &Plan,
        resumed: &HashSet<String>,
        outcome: &mut FileOutcome,
    ) -> Result<(), Defer> {
        let domain = &self.plan_settings.domain;
        let mail = |uid: &str| format!("{uid}@{domain}");
        let sha = outcome.sha256.clone();
        self.journal(Event::Planned {
            sha256: sha.clone(),
            ops: plan.operations().map(Operation::describe).collect(),
        });
        // All or nothing when the server offers RFC 5805 transactions.
        let in_txn = if self.config.directory.transactions && plan.operations().next().is_some() {
            dir.begin()
                .await
                .map_err(|e| Defer(crate::error_chain(&e)))?
        } else {
            false
        };
        // In a transaction, operations are in effect only once committed:
        // their "done" records wait for the commit.
        let mut done_later: Vec<Event> = Vec::new();
        // Rows (indices into outcome.rows) whose operation took effect, or
        // will at commit.
        let mut applied_rows: Vec<usize> = Vec::new();
        let mut watchdog_pinged = std::time::Instant::now();
        // The row and LDAP result code of the refused operation.
        let mut refused: Option<(String, String)> = None;
        for (request, planned) in requests.iter().zip(&plan.rows) {
            let subject = match request {
                Request::Account(r) => r.person.full_name.clone(),
                Request::Change(r) => mail(&r.account),
            };
            let action = match request {
                Request::Account(r) => r.action.vietnamese().to_string(),
                Request::Change(r) => format!("Thay đổi {}", r.field.vietnamese().to_lowercase()),
            };
            let mut result = RowResult {
                row: planned.row.clone(),
                subject,
                text: String::new(),
                address: None,
                initial_password: None,
            };
            let op = match &planned.step {
                Step::Nothing(reason) => {
                    result.text = format!("{action}: không có thay đổi — {reason}");
                    outcome.rows.push(result);
                    continue;
                }
                Step::Apply(_) if refused.is_some() => {
                    result.text = format!("{action}: chưa thực hiện do dòng trước bị lỗi");
                    outcome.rows.push(result);
                    continue;
                }
                Step::Apply(op) => op,
            };
            let described = op.describe();
            let password = matches!(op, Operation::Create(_)).then(crate::password::generate);
            let hash = password.as_ref().map(crate::password::hash_for_ldap);
            // Not synced one by one: the plan was synced before the first
            // operation, every operation is idempotent, and the journal is
            // synced again after the last one.
            self.journal_with(
                Some(Event::OpStarted {
                    sha256: sha.clone(),
                    op: described.clone(),
                }),
                false,
            );
            // A long file must not look like a hang to systemd's watchdog.
            if let Some(every) = crate::systemd::watchdog_interval() {
                if watchdog_pinged.elapsed() >= every {
                    crate::systemd::notify("WATCHDOG=1");
                    watchdog_pinged = std::time::Instant::now();
                }
            }
            match dir.apply(op, hash.as_deref()).await {
                Ok(applied) => {
                    tracing::info!(op = %described, already = (applied == Applied::AlreadyDone), in_txn, "applied");
                    let done = Event::OpDone {
                        sha256: sha.clone(),
                        op: described.clone(),
                        already: applied == Applied::AlreadyDone,
                    };
                    if in_txn {
                        done_later.push(done);
                    } else {
                        self.journal_with(Some(done), false);
                    }
                    // Say so only when it was not this file's own earlier
                    // attempt that made the change.
                    let already = if applied == Applied::AlreadyDone
                        && !matches!(op, Operation::Create(_))
                        && !resumed.contains(&described)
                    {
                        " (đã có hiệu lực từ trước)"
                    } else {
                        ""
                    };
                    result.text = crate::identity::redact(&format!(
                        "{action}: {}{already}",
                        done_text(op, &mail)
                    ));
                    if let Operation::Create(a) = op {
                        result.address = Some(mail(&a.uid));
                        result.initial_password = password;
                    }
                    applied_rows.push(outcome.rows.len());
                }
                Err(e) => {
                    let chain = crate::error_chain(&e);
                    self.journal(Event::OpFailed {
                        sha256: sha.clone(),
                        op: described.clone(),
                        error: chain.clone(),
                    });
                    if in_txn {
                        if let Err(abort) = dir.abort().await {
                            tracing::warn!(error = %crate::error_chain(&abort), "cannot abort the transaction");
                        }
                    }
                    if e.is_transient() {
                        return Err(Defer(chain));
                    }
                    tracing::error!(op = %described, error = %chain, "the directory refused an operation");
                    let code = e
                        .result_code()
                        .map(|c| format!(" (mã lỗi LDAP {c})"))
                        .unwrap_or_default();
                    result.text = format!(
                        "{action}: không thực hiện được, hệ thống thư điện tử từ chối{code}"
                    );
                    refused = Some((planned.row.to_string().to_lowercase(), code));
                }
            }
            outcome.rows.push(result);
        }
        if in_txn && refused.is_none() {
            if let Err(e) = dir.commit().await {
                let chain = crate::error_chain(&e);
                self.journal(Event::OpFailed {
                    sha256: sha.clone(),
                    op: "commit".into(),
                    error: chain.clone(),
                });
                if e.is_transient() {
                    return Err(Defer(chain));
                }
                tracing::error!(error = %chain, "the directory refused the transaction; nothing applied");
                let code = e
                    .result_code()
                    .map(|c| format!(" (mã lỗi LDAP {c})"))
                    .unwrap_or_default();
                refused = Some(("khi hoàn tất".into(), code));
            }
        }
        match refused {
            Some((place, code)) if in_txn => {
                // Nothing of the file is in effect: no row may claim it is,
                // and no initial password of an account that does not exist
                // may be mailed.
                for i in applied_rows {
                    let r = &mut outcome.rows[i];
                    r.text = "không thực hiện: hệ thống thư điện tử từ chối văn bản, không có thay đổi nào".into();
                    r.address = None;
                    r.initial_password = None;
                }
                outcome.file_error = Some(format!(
                    "hệ thống thư điện tử từ chối thao tác ở {place}{code}; toàn bộ văn bản không được thực hiện, không có thay đổi nào"
                ));
                outcome.status = Status::Failed;
            }
            Some((place, code)) => {
                outcome.file_error = Some(format!(
                    "hệ thống thư điện tử từ chối thao tác ở {place}{code}; các dòng trước đó đã được thực hiện, các dòng sau đó chưa được thực hiện"
                ));
                outcome.status = Status::Failed;
            }
            None => {
                for done in done_later {
                    self.journal_with(Some(done), false);
                }
                outcome.status = Status::Applied;
            }
        }
        self.journal_with(None, true);
        Ok(())
    }

    /// `mailprov check`: parse, validate and plan against the live
    /// directory; change nothing.
    pub async fn check(&self, path: &Path) -> Result<CheckReport, DirectoryError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut report = CheckReport::new(&name);
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                report.read_error = Some(format!("cannot read: {e}"));
                return Ok(report);
            }
        };
        let mut outcome = FileOutcome::new(&name, &crate::hex(&Sha256::digest(&bytes)));
        let form = match forms::read(&name, &bytes).and_then(|doc| forms::interpret(&doc)) {
            Ok(f) => f,
            Err(e) => {
                report.read_error = Some(format!("{e} ({})", e.vietnamese()));
                return Ok(report);
            }
        };
        report.set_form(&form);
        let requests = match self.validate_form(&name, &form, &mut outcome) {
            Some(r) => r,
            None => {
                report.errors = outcome.errors;
                return Ok(report);
            }
        };
        let history = Journal::history(&self.spool.state_dir, &outcome.sha256).unwrap_or_default();
        if history.applied_before {
            report.duplicate = true;
            return Ok(report);
        }
        let mut dir = self.connect().await?;
        let snapshot = dir.snapshot().await?;
        dir.close().await;
        match plan::plan(
            &requests,
            &snapshot,
            &self.plan_settings,
            &history.started_ops,
        ) {
            Ok(plan) => {
                report.set_plan(&plan);
                report.ok = true;
            }
            Err(errors) => report.errors = errors,
        }
        Ok(report)
    }
}

/// What an applied operation did, in Vietnamese.
fn done_text(op: &Operation, mail: &dyn Fn(&str) -> String) -> String {
    match op {
        Operation::Create(a) => format!("đã tạo tài khoản {}", mail(&a.uid)),
        Operation::Lock { uid, .. } => format!("đã khóa tài khoản {}", mail(uid)),
        Operation::Unlock { uid, .. } => format!("đã mở khóa tài khoản {}", mail(uid)),
        Operation::Archive { uid, .. } => format!(
            "đã hủy tài khoản {} (tài khoản bị khóa và chuyển vào lưu trữ; địa chỉ không cấp lại cho người khác)",
            mail(uid)
        ),
        Operation::Modify { change, .. } => match change {
            AccountChange::Name { full_name, .. } => format!("đã đổi họ và tên thành \"{full_name}\" (địa chỉ thư giữ nguyên)"),
            AccountChange::Title(t) => format!("đã đổi chức vụ thành \"{t}\""),
            AccountChange::Unit(u) => format!("đã đổi đơn vị công tác thành \"{u}\""),
            AccountChange::IdHash(_) => "đã cập nhật số CMT/CCCD".into(),
        },
        Operation::Rename { uid, new_uid, .. } => format!(
            "đã đổi địa chỉ thư thành {}; địa chỉ cũ {} vẫn tiếp tục nhận thư",
            mail(new_uid),
            mail(uid)
        ),
    }
}
