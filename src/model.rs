//! Domain types shared by the stages: what a request says, what an account
//! in the directory looks like. No I/O here.

use std::fmt;

use chrono::NaiveDate;

use crate::identity::IdNumber;

/// Where a row sits in the request file, as the unit clerk will look for it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RowRef {
    /// 1-based position among the data rows of the request table; always
    /// present, so a row with an empty STT can still be found.
    pub index: usize,
    /// The STT cell as written (`1`, `1.`, empty…), cleaned; what the clerk
    /// sees on paper.
    pub stt: String,
}

impl fmt::Display for RowRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stt = self.stt.trim_end_matches(['.', ')']);
        if stt.is_empty() || stt == self.index.to_string() {
            write!(f, "Dòng {}", self.index)
        } else {
            write!(f, "Dòng {} (STT {})", self.index, stt)
        }
    }
}

/// A row problem, reported to the unit in Vietnamese.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    /// Which row is wrong.
    pub row: RowRef,
    /// What is wrong, in Vietnamese, for a clerk.
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.row, self.message)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Gender {
    Male,
    Female,
}

impl Gender {
    pub fn vietnamese(self) -> &'static str {
        match self {
            Gender::Male => "Nam",
            Gender::Female => "Nữ",
        }
    }
}

/// What a Form 1 row asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Action {
    Create,
    Lock,
    Unlock,
    Delete,
}

impl Action {
    pub fn vietnamese(self) -> &'static str {
        match self {
            Action::Create => "Cấp mới",
            Action::Lock => "Tạm khóa",
            Action::Unlock => "Mở khóa",
            Action::Delete => "Hủy bỏ",
        }
    }
}

/// A person as a Form 1 row describes them, after validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    /// Full name, NFC, normal Vietnamese capitalisation (`cn`).
    pub full_name: String,
    /// Required for a new account; lock/unlock/delete rows may leave it out.
    pub birth_date: Option<NaiveDate>,
    /// Required for a new account, like `birth_date`.
    pub gender: Option<Gender>,
    /// The ID number itself; never logged (its `Debug` is masked).
    pub id: IdNumber,
    /// Keyed hash of the ID, the only form the directory ever holds.
    pub id_hash: String,
    /// Chức vụ (`title`); may be empty.
    pub title: String,
    /// Đơn vị công tác (`ou`); may be empty.
    pub unit: String,
}

/// A validated Form 1 row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRequest {
    /// Where the row is, for every message about it.
    pub row: RowRef,
    /// What the row asks for.
    pub action: Action,
    /// Who it is about.
    pub person: Person,
}

/// The field a Form 2 row changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Field {
    FullName,
    Title,
    Unit,
    BirthDate,
    Gender,
    IdNumber,
    Address,
}

impl Field {
    pub fn vietnamese(self) -> &'static str {
        match self {
            Field::FullName => "Họ và tên",
            Field::Title => "Chức vụ",
            Field::Unit => "Đơn vị công tác",
            Field::BirthDate => "Ngày sinh",
            Field::Gender => "Giới tính",
            Field::IdNumber => "Số CMT/CCCD",
            Field::Address => "Địa chỉ thư",
        }
    }
}

/// The new value of a Form 2 row, already checked for its field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NewValue {
    Text(String),
    Date(NaiveDate),
    Gender(Gender),
    /// A new ID number: only its hash and masked form travel on.
    Id {
        masked: String,
        hash: String,
    },
    /// A new local part in our domain.
    Address(String),
}

/// A validated Form 2 row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeRequest {
    /// Where the row is, for every message about it.
    pub row: RowRef,
    /// Local part of the account the row names.
    pub account: String,
    /// Which information changes.
    pub field: Field,
    /// Its new value, checked for that field.
    pub value: NewValue,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    Account(AccountRequest),
    Change(ChangeRequest),
}

impl Request {
    pub fn row(&self) -> &RowRef {
        match self {
            Request::Account(r) => &r.row,
            Request::Change(r) => &r.row,
        }
    }
}

/// Letter-head facts of a request file.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Meta {
    /// The issuing unit as printed in the letter head, if there is one.
    pub issuing_unit: Option<String>,
    /// Document number such as `15/TNMT-VP`, quoted in the confirmation.
    pub doc_number: Option<String>,
    /// The place-and-date line, as written.
    pub doc_date: Option<String>,
}

/// An account as the directory holds it: what planning needs to know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Where the entry is now (people or archive base).
    pub dn: String,
    /// Its primary address (local part), also the RDN value.
    pub uid: String,
    /// Every address (local parts) that delivers here or once did.
    pub addresses: Vec<String>,
    /// `cn`, to find accounts that have no ID hash yet.
    pub full_name: String,
    /// `title`, to tell an unchanged value from a change.
    pub title: String,
    /// `ou`, with `full_name` the fallback key of accounts without hash.
    pub unit: String,
    /// Keyed hash of the ID number, when the account has one.
    pub id_hash: Option<String>,
    /// Carries the lock attribute: locking again is nothing to do.
    pub locked: bool,
    /// Under the archive base: deleted, its addresses never reissued.
    pub archived: bool,
}

/// What the directory held when planning started.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Live and archived accounts alike.
    pub accounts: Vec<Account>,
}
