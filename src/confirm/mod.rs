//! The confirm stage: one mail per request file to the unit that sent it,
//! in Vietnamese, text and HTML, listing each row's result (or each row
//! error of a rejected file). Sent over SMTP or written as `.eml` files.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::config::{parse_smtp_url, Config, SmtpTls, Transport};
use crate::report::{FileOutcome, Status};
use crate::text::key;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use secrecy::SecretString;

/// Why a confirmation could not be built or sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("cannot build the confirmation mail")]
    Build(#[from] lettre::error::Error),
    #[error("bad mail address {0:?}")]
    Address(String),
    #[error("SMTP delivery failed")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("cannot write mail file {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Where a confirmation goes and whom it greets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    /// The address the mail goes to.
    pub mailbox: Mailbox,
    /// The unit's name as configured (or as the file wrote it).
    pub unit: Option<String>,
}

/// Finds the requesting unit's address in `[mail.units]` (names match
/// ignoring case, NFC/NFD and spacing), else `default_recipient`.
pub fn recipient(config: &Config, candidates: &[String]) -> Result<Recipient, MailError> {
    for c in candidates {
        let k = key(c);
        if let Some((name, addr)) = config.mail.units.iter().find(|(name, _)| key(name) == k) {
            let mailbox = addr.parse().map_err(|_| MailError::Address(addr.clone()))?;
            return Ok(Recipient {
                mailbox,
                unit: Some(name.clone()),
            });
        }
    }
    let addr = &config.mail.default_recipient;
    let mailbox = addr.parse().map_err(|_| MailError::Address(addr.clone()))?;
    Ok(Recipient {
        mailbox,
        unit: candidates.first().cloned(),
    })
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The city's password rule, as the unit reads it.
pub const PASSWORD_NOTE: &str = "Mật khẩu ban đầu chỉ dùng cho lần đăng nhập đầu tiên: khi đăng nhập, hệ thống bắt buộc đổi mật khẩu ngay. Mật khẩu mới phải có ít nhất 8 ký tự, gồm chữ hoa, chữ thường, chữ số và ít nhất một ký tự đặc biệt trong các ký tự ! @ # % $ * &. Đề nghị đơn vị chuyển mật khẩu ban đầu riêng cho từng người, không chuyển tiếp thư này.";

/// Builds the confirmation of one file.
pub fn compose(
    outcome: &FileOutcome,
    from: &Mailbox,
    to: &Recipient,
    signer: &str,
) -> Result<Message, MailError> {
    let doc = outcome.document_label();
    let subject = match outcome.status {
        Status::Applied => format!("Kết quả xử lý {doc} về tài khoản thư điện tử công vụ"),
        Status::Rejected => {
            format!("Trả lại {doc}: danh sách đề nghị tài khoản thư điện tử chưa được xử lý")
        }
        Status::Failed => {
            format!("Kết quả xử lý chưa trọn vẹn {doc} về tài khoản thư điện tử công vụ")
        }
        Status::Held => format!(
            "{} đang chờ phê duyệt: đề nghị khóa, hủy nhiều tài khoản",
            capitalise(&doc)
        ),
    };
    let greeting = format!(
        "Kính gửi: {}",
        to.unit.clone().unwrap_or_else(|| "Quý đơn vị".into())
    );
    let intro = match outcome.status {
                Status::Applied => format!(
            "{signer} đã xử lý {doc}{} đề nghị về tài khoản thư điện tử công vụ. Kết quả từng dòng như sau:",
            file_note(outcome)
        ),
                Status::Rejected => format!(
            "{doc}{} chưa được xử lý. Không có thay đổi nào được thực hiện đối với các tài khoản trong danh sách.",
            file_note(outcome)
        ),
                Status::Failed => format!(
            "{doc}{} chưa được xử lý trọn vẹn do hệ thống thư điện tử báo lỗi. Bộ phận kỹ thuật đã được thông báo; kết quả từng dòng như sau:",
            file_note(outcome)
        ),
                Status::Held => format!(
            "{doc}{} chưa được thực hiện: để tránh khóa hoặc hủy nhầm hàng loạt, tệp được giữ lại cho đến khi cán bộ phụ trách của {signer} phê duyệt. Chưa có thay đổi nào được thực hiện.",
            file_note(outcome)
        ),
    };
    let intro = capitalise(&intro);
    let has_passwords = outcome.rows.iter().any(|r| r.initial_password.is_some());

    let mut text = String::new();
    let mut html = String::from("<html><body style=\"font-family: Arial, sans-serif\">");
    let _ = writeln!(text, "{greeting}\n\n{intro}\n");
    let _ = write!(
        html,
        "<p>{}</p><p>{}</p>",
        html_escape(&greeting),
        html_escape(&intro)
    );

    if let Some(e) = &outcome.file_error {
        let _ = writeln!(text, "Lý do: {e}\n");
        let _ = write!(html, "<p><b>Lý do:</b> {}</p>", html_escape(e));
    }
    if !outcome.errors.is_empty() {
        let _ = writeln!(
            text,
            "Danh sách có {} lỗi; đề nghị đơn vị sửa các dòng sau và gửi lại toàn bộ danh sách:",
            outcome.errors.len()
        );
        let _ = write!(
            html,
            "<p>Danh sách có {} lỗi; đề nghị đơn vị sửa các dòng sau và gửi lại toàn bộ danh sách:</p><table border=\"1\" cellpadding=\"4\" style=\"border-collapse: collapse\"><tr><th>Dòng</th><th>Lỗi</th></tr>",
            outcome.errors.len()
        );
        for e in &outcome.errors {
            let _ = writeln!(text, "  - {}: {}", e.row, e.message);
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td></tr>",
                html_escape(&e.row.to_string()),
                html_escape(&e.message)
            );
        }
        html.push_str("</table>");
        text.push('\n');
    }
    if !outcome.rows.is_empty() {
        let _ = write!(
            html,
            "<table border=\"1\" cellpadding=\"4\" style=\"border-collapse: collapse\"><tr><th>Dòng</th><th>Nội dung</th><th>Kết quả</th><th>Địa chỉ thư</th><th>Mật khẩu ban đầu</th></tr>"
        );
        for r in &outcome.rows {
            let _ = write!(text, "  - {} — {}: {}", r.row, r.subject, r.text);
            if let Some(pw) = &r.initial_password {
                let _ = write!(text, "\n      Mật khẩu ban đầu: {}", pw.expose_secret());
            }
            text.push('\n');
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                html_escape(&r.row.to_string()),
                html_escape(&r.subject),
                html_escape(&r.text),
                html_escape(r.address.as_deref().unwrap_or("")),
                html_escape(
                    r.initial_password
                        .as_ref()
                        .map(|p| p.expose_secret())
                        .unwrap_or("")
                )
            );
        }
        html.push_str("</table>");
        text.push('\n');
    }
    if !outcome.warnings.is_empty() {
        let _ = writeln!(text, "Ghi chú khi đọc tệp:");
        html.push_str("<p>Ghi chú khi đọc tệp:</p><ul>");
        for w in &outcome.warnings {
            let _ = writeln!(text, "  - {w}");
            let _ = write!(html, "<li>{}</li>", html_escape(w));
        }
        html.push_str("</ul>");
        text.push('\n');
    }
    if outcome.passwords_elsewhere {
        let note = "Mật khẩu ban đầu của các tài khoản mới không gửi kèm thư này; bộ phận kỹ thuật sẽ chuyển riêng cho từng người.";
        let _ = writeln!(text, "{note}\n");
        let _ = write!(html, "<p>{}</p>", html_escape(note));
    }
    if has_passwords || outcome.passwords_elsewhere {
        let _ = writeln!(text, "Lưu ý: {PASSWORD_NOTE}\n");
        let _ = write!(html, "<p><b>Lưu ý:</b> {}</p>", html_escape(PASSWORD_NOTE));
    }
    let _ = writeln!(text, "Trân trọng,\n{signer}");
    let _ = write!(
        html,
        "<p>Trân trọng,<br>{}</p></body></html>",
        html_escape(signer)
    );

    let msg = Message::builder()
        .from(from.clone())
        .to(to.mailbox.clone())
        .subject(subject)
        .multipart(MultiPart::alternative_plain_html(text, html))?;
    Ok(msg)
}

/// " (tệp X)" after a document number; nothing when the file name is the
/// label already.
fn file_note(outcome: &FileOutcome) -> String {
    if outcome.meta.doc_number.is_some() {
        format!(" (tệp {})", outcome.file_name)
    } else {
        String::new()
    }
}

fn capitalise(s: &str) -> String {
    let mut cs = s.chars();
    match cs.next() {
        Some(c) => c.to_uppercase().chain(cs).collect(),
        None => String::new(),
    }
}

/// How a mail left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Accepted by the SMTP relay.
    Sent,
    /// Written as an `.eml` file (transport `file`).
    Written(PathBuf),
    /// The relay could not be reached; kept in the outbox.
    Queued(PathBuf),
}

/// Sends confirmations.
pub struct Mailer {
    /// SMTP relay, or `None` for the file transport.
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
    /// Where `.eml` files go with the file transport.
    file_dir: PathBuf,
    /// Where mails wait when the relay cannot be reached.
    outbox: PathBuf,
    /// Sender of every confirmation.
    pub from: Mailbox,
    /// The sender's display name, used to sign the mail.
    pub signer: String,
}

impl Mailer {
    pub fn new(
        config: &Config,
        smtp_password: Option<&SecretString>,
        outbox: PathBuf,
    ) -> Result<Mailer, MailError> {
        let from: Mailbox = config
            .mail
            .from
            .parse()
            .map_err(|_| MailError::Address(config.mail.from.clone()))?;
        let signer = from
            .name
            .clone()
            .unwrap_or_else(|| "Phòng Văn hóa và Thông tin".into());
        let smtp = match config.mail.transport {
            Transport::Smtp => {
                let url = config.mail.smtp_url.as_deref().unwrap_or_default();
                let (host, port) =
                    parse_smtp_url(url).map_err(|_| MailError::Address(url.to_string()))?;
                let mut builder =
                    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
                        .port(port)
                        .timeout(Some(Duration::from_secs(30)));
                let tls_mode = config.smtp_tls();
                if tls_mode != SmtpTls::None {
                    let mut params = TlsParameters::builder(host.clone());
                    if let Some(ca) = &config.mail.smtp_ca_file {
                        let pem = std::fs::read(ca).map_err(|source| MailError::Write {
                            path: ca.clone(),
                            source,
                        })?;
                        params = params.add_root_certificate(Certificate::from_pem(&pem)?);
                    }
                    let params = params.build()?;
                    builder = builder.tls(match tls_mode {
                        SmtpTls::Starttls => Tls::Required(params),
                        _ => Tls::Wrapper(params),
                    });
                }
                if let (Some(user), Some(pw)) = (&config.mail.smtp_user, smtp_password) {
                    builder = builder.credentials(Credentials::new(
                        user.clone(),
                        pw.expose_secret().to_string(),
                    ));
                }
                Some(builder.build())
            }
            Transport::File => None,
        };
        Ok(Mailer {
            smtp,
            file_dir: config.mail_file_dir(),
            outbox,
            from,
            signer,
        })
    }

    /// Sends (or writes) one mail. A relay that cannot be reached leaves the
    /// mail in the outbox and says so; that is not an error of the file.
    pub async fn send(&self, msg: &Message, stem: &str) -> Result<Delivery, MailError> {
        match &self.smtp {
            None => Ok(Delivery::Written(write_eml(&self.file_dir, stem, msg)?)),
            Some(t) => match t.send(msg.clone()).await {
                Ok(_) => Ok(Delivery::Sent),
                Err(e) => {
                    tracing::warn!(error = %crate::error_chain(&e), "SMTP delivery failed; the mail waits in the outbox");
                    let path = write_eml(&self.outbox, stem, msg)?;
                    let envelope = OutboxEnvelope {
                        from: msg
                            .envelope()
                            .from()
                            .map(|a| a.to_string())
                            .unwrap_or_default(),
                        to: msg.envelope().to().iter().map(|a| a.to_string()).collect(),
                    };
                    let json = serde_json::to_vec(&envelope).expect("plain strings serialize");
                    let side = envelope_path(&path);
                    crate::intake::write_private(&side, &json)
                        .map_err(|source| MailError::Write { path: side, source })?;
                    Ok(Delivery::Queued(path))
                }
            },
        }
    }

    /// Tries to send every mail waiting in the outbox, oldest first; a mail
    /// the relay refuses for good (5xx) goes to `outbox/failed/`; stops at
    /// the first other failure (the relay is still down). Returns how many
    /// left the outbox and how many still wait.
    pub async fn flush_outbox(&self) -> (usize, usize) {
        let Some(t) = &self.smtp else { return (0, 0) };
        let waiting = outbox_mails(&self.outbox);
        let total = waiting.len();
        let mut handled = 0;
        for path in waiting {
            let Some((envelope, bytes)) = read_outbox_mail(&path) else {
                continue;
            };
            match t.send_raw(&envelope, &bytes).await {
                Ok(_) => {
                    let _ = std::fs::remove_file(&path);
                    let _ = std::fs::remove_file(envelope_path(&path));
                    tracing::info!(mail = %path.display(), "queued confirmation sent");
                    handled += 1;
                }
                Err(e) if e.is_permanent() => {
                    // The relay answered 5xx: retrying cannot help, and this
                    // mail must not hold up the others.
                    let failed = self.outbox.join("failed");
                    let moved = std::fs::create_dir_all(&failed).and_then(|_| {
                        let name = path.file_name().unwrap_or_default();
                        std::fs::rename(&path, failed.join(name))?;
                        std::fs::rename(envelope_path(&path), envelope_path(&failed.join(name)))
                    });
                    tracing::error!(mail = %path.display(), error = %crate::error_chain(&e), moved = moved.is_ok(), "the relay refused a confirmation for good; moved to outbox/failed/");
                    handled += 1;
                }
                Err(e) => {
                    tracing::warn!(error = %crate::error_chain(&e), "SMTP relay still unreachable; mails stay in the outbox");
                    break;
                }
            }
        }
        (handled, total - handled)
    }
}

/// Envelope of a mail waiting in the outbox, kept beside its `.eml`.
#[derive(serde::Serialize, serde::Deserialize)]
struct OutboxEnvelope {
    /// Envelope sender.
    from: String,
    /// Envelope recipients.
    to: Vec<String>,
}

fn envelope_path(eml: &Path) -> PathBuf {
    let mut s = eml.as_os_str().to_owned();
    s.push(".envelope.json");
    PathBuf::from(s)
}

/// Mails waiting in an outbox, oldest first.
pub fn outbox_mails(outbox: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(outbox)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn read_outbox_mail(path: &Path) -> Option<(lettre::address::Envelope, Vec<u8>)> {
    let side: OutboxEnvelope =
        serde_json::from_slice(&std::fs::read(envelope_path(path)).ok()?).ok()?;
    let from = side.from.parse().ok();
    let to = side.to.iter().filter_map(|a| a.parse().ok()).collect();
    let envelope = lettre::address::Envelope::new(from, to).ok()?;
    Some((envelope, std::fs::read(path).ok()?))
}

/// Writes a mail as `<dir>/<time>-<stem>.eml`, mode 0600 (it may carry
/// initial passwords).
fn write_eml(dir: &Path, stem: &str, msg: &Message) -> Result<PathBuf, MailError> {
    let err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| MailError::Write { path, source }
    };
    std::fs::create_dir_all(dir).map_err(err(dir))?;
    let name = format!(
        "{}-{}.eml",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.3f"),
        stem
    );
    let path = dir.join(name);
    crate::intake::write_private(&path, &msg.formatted()).map_err(err(&path))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RowError, RowRef};
    use crate::report::RowResult;
    use secrecy::SecretString;

    fn to() -> Recipient {
        Recipient {
            mailbox: "tnmt@bacninh.gov.vn".parse().unwrap(),
            unit: Some("Phòng Tài nguyên và Môi trường".into()),
        }
    }

    fn body(m: &Message) -> String {
        String::from_utf8(m.formatted()).unwrap()
    }

    #[test]
    fn applied_mail_lists_rows_passwords_and_the_rule() {
        let mut o = FileOutcome::new("01.docx", "x");
        o.status = Status::Applied;
        o.meta.doc_number = Some("15/TNMT-VP".into());
        o.rows.push(RowResult {
            row: RowRef {
                index: 1,
                stt: "1".into(),
            },
            subject: "Nguyễn Văn An".into(),
            text: "Cấp mới: đã tạo tài khoản annv@bacninh.gov.vn".into(),
            address: Some("annv@bacninh.gov.vn".into()),
            initial_password: Some(SecretString::from("Ab3#defgHJKm".to_string())),
        });
        let from: Mailbox = "Phòng Văn hóa và Thông tin <vhtt@bacninh.gov.vn>"
            .parse()
            .unwrap();
        let m = compose(&o, &from, &to(), "Phòng Văn hóa và Thông tin").unwrap();
        let raw = body(&m);
        assert!(raw.contains("To: tnmt@bacninh.gov.vn"), "{raw}");
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("text/html"));
        // Bodies are encoded; headers of the subject too. Check the parts.
        let text = match &m.headers().get_raw("Subject") {
            Some(s) => s.to_string(),
            None => String::new(),
        };
        assert!(text.contains("15/TNMT-VP"), "{text}");
    }

    #[test]
    fn rejected_mail_lists_every_error() {
        let mut o = FileOutcome::new("06.docx", "x");
        o.errors = (1..=3)
            .map(|i| RowError {
                row: RowRef {
                    index: i,
                    stt: i.to_string(),
                },
                message: format!("lỗi {i}"),
            })
            .collect();
        let from: Mailbox = "vhtt@bacninh.gov.vn".parse().unwrap();
        let m = compose(&o, &from, &to(), "VHTT").unwrap();
        assert!(m.headers().get_raw("Subject").unwrap().contains("Trả lại"));
    }

    #[test]
    fn recipient_matches_unit_names_loosely() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/example.toml"))
                .unwrap();
        let c = Config::parse(&text, Path::new("/")).unwrap();
        let r = recipient(&c, &["PHÒNG TÀI NGUYÊN  VÀ MÔI TRƯỜNG".into()]).unwrap();
        assert_eq!(r.mailbox.email.to_string(), "tnmt@bacninh.gov.vn");
        assert_eq!(r.unit.as_deref(), Some("Phòng Tài nguyên và Môi trường"));
        let r = recipient(&c, &["UBND phường Vũ Ninh".into()]).unwrap();
        assert_eq!(r.mailbox.email.to_string(), "vhtt@bacninh.gov.vn");
    }
}
