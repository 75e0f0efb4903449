//! What happened to one request file: the outcome every later stage
//! (confirmation mail, report file, journal, exit code) is written from.
//! The report text never contains a password or a clear ID number.

use std::fmt::Write as _;

use secrecy::SecretString;

use crate::forms::FormKind;
use crate::model::{Meta, RowError, RowRef};

/// The end state of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Status {
    /// Every row applied (or already in effect); filed in `done/`.
    Applied,
    /// Not applied because of bad input; nothing changed; filed in
    /// `rejected/`.
    Rejected,
    /// The directory refused an operation part-way; filed in `rejected/`
    /// with what was and was not applied.
    Failed,
    /// It would lock or delete more accounts than `[safety]
    /// max_destructive`; kept in `held/` until an officer approves it.
    Held,
}

impl Status {
    /// The status a journal word names.
    pub fn from_word(word: &str) -> Option<Status> {
        [
            Status::Applied,
            Status::Rejected,
            Status::Failed,
            Status::Held,
        ]
        .into_iter()
        .find(|s| s.word() == word)
    }

    /// The word the journal and the command line use.
    pub fn word(self) -> &'static str {
        match self {
            Status::Applied => "applied",
            Status::Rejected => "rejected",
            Status::Failed => "failed",
            Status::Held => "held",
        }
    }

    pub fn vietnamese(self) -> &'static str {
        match self {
            Status::Applied => "đã xử lý",
            Status::Rejected => "bị từ chối, không có thay đổi nào",
            Status::Failed => "xử lý không trọn vẹn",
            Status::Held => "được giữ lại chờ phê duyệt",
        }
    }
}

/// One row's result, as the unit reads it.
#[derive(Debug)]
pub struct RowResult {
    /// The row it answers.
    pub row: RowRef,
    /// Who or what the row is about: a name (Form 1) or an address (Form 2).
    pub subject: String,
    /// What was done, in Vietnamese.
    pub text: String,
    /// The address of a new account.
    pub address: Option<String>,
    /// The initial password of a new account: only ever written into the
    /// confirmation mail, never into the report or a log.
    pub initial_password: Option<SecretString>,
}

/// Everything known about a processed file.
#[derive(Debug)]
pub struct FileOutcome {
    /// The name the file had in the inbox.
    pub file_name: String,
    /// SHA-256 of its content, hex.
    pub sha256: String,
    /// Which form it was, once read.
    pub kind: Option<FormKind>,
    /// Letter head, quoted in the mail and the report.
    pub meta: Meta,
    /// The requesting unit as the file names it.
    pub unit: Option<String>,
    /// Where the file ends: done/ or rejected/.
    pub status: Status,
    /// Results of the rows, in order (applied files).
    pub rows: Vec<RowResult>,
    /// Row errors (rejected files).
    pub errors: Vec<RowError>,
    /// A problem with the whole file (unreadable, duplicate, directory
    /// refusal), in Vietnamese.
    pub file_error: Option<String>,
    /// Corrections made while reading.
    pub warnings: Vec<String>,
    /// The initial passwords were written for IT staff instead of mailed
    /// (`[mail] include_initial_passwords = false`).
    pub passwords_elsewhere: bool,
}

impl FileOutcome {
    pub fn new(file_name: &str, sha256: &str) -> FileOutcome {
        FileOutcome {
            file_name: file_name.to_string(),
            sha256: sha256.to_string(),
            kind: None,
            meta: Meta::default(),
            unit: None,
            status: Status::Rejected,
            rows: Vec::new(),
            errors: Vec::new(),
            file_error: None,
            warnings: Vec::new(),
            passwords_elsewhere: false,
        }
    }

    /// "văn bản số 15/TNMT-VP" or the file name when there is no number.
    pub fn document_label(&self) -> String {
        match &self.meta.doc_number {
            Some(n) => format!("văn bản số {n}"),
            None => format!("tệp {}", self.file_name),
        }
    }

    /// The report filed next to the request: for IT staff and auditors.
    pub fn report_text(&self, processed_at: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "Báo cáo xử lý đề nghị tài khoản thư điện tử công vụ (mailprov)"
        );
        let _ = writeln!(s, "Tệp: {}", self.file_name);
        let _ = writeln!(s, "SHA-256: {}", self.sha256);
        let _ = writeln!(s, "Thời điểm xử lý: {processed_at}");
        if let Some(n) = &self.meta.doc_number {
            let _ = writeln!(s, "Số văn bản: {n}");
        }
        if let Some(d) = &self.meta.doc_date {
            let _ = writeln!(s, "Ngày văn bản: {d}");
        }
        if let Some(u) = &self.unit {
            let _ = writeln!(s, "Đơn vị đề nghị: {u}");
        }
        if let Some(k) = self.kind {
            let form = match k {
                FormKind::Accounts => "Mẫu 1 (cấp mới, tạm khóa, mở khóa, hủy bỏ)",
                FormKind::Changes => "Mẫu 2 (thay đổi thông tin)",
            };
            let _ = writeln!(s, "Loại mẫu: {form}");
        }
        let _ = writeln!(s, "Kết quả: {}", self.status.vietnamese());
        if let Some(e) = &self.file_error {
            let _ = writeln!(s, "Lỗi: {e}");
        }
        if !self.warnings.is_empty() {
            let _ = writeln!(s, "\nGhi chú khi đọc tệp:");
            for w in &self.warnings {
                let _ = writeln!(s, "  - {w}");
            }
        }
        if !self.errors.is_empty() {
            let _ = writeln!(s, "\nCác dòng có lỗi:");
            for e in &self.errors {
                let _ = writeln!(s, "  - {e}");
            }
        }
        if !self.rows.is_empty() {
            let _ = writeln!(s, "\nKết quả từng dòng:");
            for r in &self.rows {
                let _ = writeln!(s, "  - {} — {}: {}", r.row, r.subject, r.text);
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_never_contains_the_initial_password() {
        let mut o = FileOutcome::new("a.docx", "abc");
        o.status = Status::Applied;
        o.rows.push(RowResult {
            row: RowRef {
                index: 1,
                stt: "1".into(),
            },
            subject: "Nguyễn Văn An".into(),
            text: "đã tạo tài khoản annv@bacninh.gov.vn".into(),
            address: Some("annv@bacninh.gov.vn".into()),
            initial_password: Some(SecretString::from("Secret#Pw9x".to_string())),
        });
        let r = o.report_text("now");
        assert!(r.contains("annv@bacninh.gov.vn"));
        assert!(!r.contains("Secret#Pw9x"));
        assert!(!format!("{o:?}").contains("Secret#Pw9x"));
    }
}
