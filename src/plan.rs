//! Planning: a pure function of (requests, directory snapshot, settings) to
//! the operations that carry them out. It picks addresses, resolves
//! collisions (directory, archive, inside the batch) and finds the accounts
//! that lock, unlock, delete and change rows mean. No I/O.

use std::collections::HashSet;

use crate::model::{
    Account, AccountRequest, Action, ChangeRequest, Field, NewValue, Request, RowError, RowRef,
    Snapshot,
};
use crate::text::{clean_line, fold, key};

/// Settings planning depends on.
#[derive(Clone, Debug)]
pub struct PlanSettings {
    /// Mail domain of every address we issue.
    pub domain: String,
    /// Where live accounts are (`uid=…,<people_base>`).
    pub people_base: String,
    /// Where deleted accounts are moved.
    pub archive_base: String,
    /// Local parts never issued to a person (postmaster, the office's own
    /// addresses…).
    pub reserved: Vec<String>,
}

/// The attributes of a new account, ready for the directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAccount {
    /// The address chosen (local part), also the RDN value.
    pub uid: String,
    /// `uid=<uid>,<people_base>`, escaped.
    pub dn: String,
    /// `cn` and `displayName`.
    pub full_name: String,
    /// `sn`: the family name, first word of the full name.
    pub family_name: String,
    /// `givenName`: the last word of the full name.
    pub given_name: String,
    /// `title` (Chức vụ); omitted when empty.
    pub title: String,
    /// `ou` (Đơn vị công tác); omitted when empty.
    pub unit: String,
    /// Keyed hash of the ID, to find the account again.
    pub id_hash: String,
}

/// A change to one attribute group of an existing account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountChange {
    Name {
        full_name: String,
        family_name: String,
        given_name: String,
    },
    Title(String),
    Unit(String),
    IdHash(String),
}

/// One directory operation. Each is idempotent when applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    Create(NewAccount),
    Lock {
        dn: String,
        uid: String,
    },
    Unlock {
        dn: String,
        uid: String,
    },
    /// Lock, then move under the archive base.
    Archive {
        dn: String,
        uid: String,
        new_dn: String,
    },
    Modify {
        dn: String,
        uid: String,
        change: AccountChange,
    },
    /// A new address: the entry is renamed, the old address kept as an
    /// alias in `mailLocalAddress`.
    Rename {
        dn: String,
        uid: String,
        new_uid: String,
        new_dn: String,
    },
}

impl Operation {
    /// The account the operation is about (its address before the change).
    pub fn uid(&self) -> &str {
        match self {
            Operation::Create(a) => &a.uid,
            Operation::Lock { uid, .. }
            | Operation::Unlock { uid, .. }
            | Operation::Archive { uid, .. }
            | Operation::Modify { uid, .. }
            | Operation::Rename { uid, .. } => uid,
        }
    }

    /// Short English description for logs and the journal (no personal data
    /// beyond the address).
    pub fn describe(&self) -> String {
        match self {
            Operation::Create(a) => format!("create {}", a.uid),
            Operation::Lock { uid, .. } => format!("lock {uid}"),
            Operation::Unlock { uid, .. } => format!("unlock {uid}"),
            Operation::Archive { uid, .. } => format!("archive {uid}"),
            Operation::Modify { uid, change, .. } => {
                let what = match change {
                    AccountChange::Name { .. } => "name",
                    AccountChange::Title(_) => "title",
                    AccountChange::Unit(_) => "unit",
                    AccountChange::IdHash(_) => "id hash",
                };
                format!("modify {uid} {what}")
            }
            Operation::Rename { uid, new_uid, .. } => format!("rename {uid} -> {new_uid}"),
        }
    }
}

/// What one row comes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Apply(Operation),
    /// Nothing to do; the Vietnamese reason is told to the unit.
    Nothing(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedRow {
    /// The row this step carries out.
    pub row: RowRef,
    /// What it comes to.
    pub step: Step,
}

/// The operations for a whole file, in row order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// One step per request, in row order.
    pub rows: Vec<PlannedRow>,
}

impl Plan {
    pub fn operations(&self) -> impl Iterator<Item = &Operation> {
        self.rows.iter().filter_map(|r| match &r.step {
            Step::Apply(op) => Some(op),
            Step::Nothing(_) => None,
        })
    }
}

/// The default address rule: given name + initials of the family and
/// middle names, lower-case ASCII (`đ` → `d`).
/// *Trần Thị Bích Ngọc* → `ngocttb`.
pub fn address_base(full_name: &str) -> String {
    let words: Vec<String> = fold(full_name)
        .split(' ')
        .map(|w| {
            w.chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect();
    let Some((given, others)) = words.split_last() else {
        return String::new();
    };
    let mut out = given.clone();
    out.extend(others.iter().filter_map(|w| w.chars().next()));
    out
}

/// Splits a full name into (family name, given name).
pub fn name_parts(full_name: &str) -> (String, String) {
    let name = clean_line(full_name);
    let words: Vec<&str> = name.split(' ').collect();
    let family = words.first().copied().unwrap_or_default().to_string();
    let given = words.last().copied().unwrap_or_default().to_string();
    (family, given)
}

fn dn_for(uid: &str, base: &str) -> String {
    format!("uid={},{}", ldap3::dn_escape(uid), base)
}

/// The planner's working copy of the directory: the snapshot plus what
/// earlier rows of the batch already decided.
struct World<'a> {
    settings: &'a PlanSettings,
    accounts: Vec<Account>,
    /// Every local part in use or once used, plus those reserved.
    taken: HashSet<String>,
}

impl<'a> World<'a> {
    fn new(snapshot: &Snapshot, settings: &'a PlanSettings) -> World<'a> {
        let mut taken: HashSet<String> = settings
            .reserved
            .iter()
            .map(|r| r.to_ascii_lowercase())
            .collect();
        for a in &snapshot.accounts {
            taken.insert(a.uid.to_ascii_lowercase());
            taken.extend(a.addresses.iter().map(|x| x.to_ascii_lowercase()));
        }
        World {
            settings,
            accounts: snapshot.accounts.clone(),
            taken,
        }
    }

    fn allocate(&mut self, base: &str) -> String {
        let mut candidate = base.to_string();
        let mut n = 2;
        while self.taken.contains(&candidate) {
            candidate = format!("{base}{n}");
            n += 1;
        }
        self.taken.insert(candidate.clone());
        candidate
    }

    /// The live account a Form 1 row means: by ID hash, else (accounts that
    /// have no hash yet) by exact full name and unit.
    fn find_person(&self, req: &AccountRequest) -> Result<Option<usize>, String> {
        let by_hash: Vec<usize> = (0..self.accounts.len())
            .filter(|&i| self.accounts[i].id_hash.as_deref() == Some(req.person.id_hash.as_str()))
            .collect();
        let live: Vec<usize> = by_hash
            .iter()
            .copied()
            .filter(|&i| !self.accounts[i].archived)
            .collect();
        match live.len() {
            1 => return Ok(Some(live[0])),
            n if n > 1 => {
                return Err(
                    "có nhiều tài khoản cùng số CMT/CCCD này; đề nghị liên hệ bộ phận kỹ thuật"
                        .into(),
                )
            }
            _ => {}
        }
        if !by_hash.is_empty() {
            // Only archived accounts have this ID.
            return Ok(Some(by_hash[0]));
        }
        let name = key(&req.person.full_name);
        let unit = key(&req.person.unit);
        let by_name: Vec<usize> = (0..self.accounts.len())
            .filter(|&i| {
                let a = &self.accounts[i];
                a.id_hash.is_none()
                    && !a.archived
                    && key(&a.full_name) == name
                    && key(&a.unit) == unit
            })
            .collect();
        match by_name.len() {
            0 => Ok(None),
            1 => Ok(Some(by_name[0])),
            _ => Err(format!(
                "có {} tài khoản cùng họ tên và đơn vị nhưng chưa có số CMT/CCCD trong hệ thống; không xác định được tài khoản nào",
                by_name.len()
            )),
        }
    }

    fn find_address(&self, local: &str) -> Option<usize> {
        self.accounts
            .iter()
            .position(|a| a.uid == local && !a.archived)
            .or_else(|| self.accounts.iter().position(|a| a.uid == local))
            .or_else(|| {
                self.accounts
                    .iter()
                    .position(|a| a.addresses.iter().any(|x| x == local))
            })
    }

    fn mail(&self, local: &str) -> String {
        format!("{local}@{}", self.settings.domain)
    }
}

/// Plans a validated file against a snapshot. Errors are row errors in
/// Vietnamese (an account that cannot be found, an address in use…); a file
/// with any is rejected whole.
pub fn plan(
    requests: &[Request],
    snapshot: &Snapshot,
    settings: &PlanSettings,
) -> Result<Plan, Vec<RowError>> {
    let mut world = World::new(snapshot, settings);
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for request in requests {
        let step = match request {
            Request::Account(r) => plan_account(&mut world, r),
            Request::Change(r) => plan_change(&mut world, r),
        };
        match step {
            Ok(step) => rows.push(PlannedRow {
                row: request.row().clone(),
                step,
            }),
            Err(message) => errors.push(RowError {
                row: request.row().clone(),
                message,
            }),
        }
    }
    if errors.is_empty() {
        Ok(Plan { rows })
    } else {
        Err(errors)
    }
}

fn plan_account(world: &mut World<'_>, req: &AccountRequest) -> Result<Step, String> {
    let found = world.find_person(req)?;
    let settings = world.settings;
    match req.action {
        Action::Create => {
            if let Some(i) = found {
                let a = &world.accounts[i];
                if !a.archived {
                    return Ok(Step::Nothing(format!(
                        "người này đã có tài khoản {} từ trước, không cấp thêm",
                        world.mail(&a.uid)
                    )));
                }
            }
            let base = address_base(&req.person.full_name);
            if base.is_empty() {
                return Err("không tạo được địa chỉ thư từ họ tên này".into());
            }
            let uid = world.allocate(&base);
            let (family_name, given_name) = name_parts(&req.person.full_name);
            let new = NewAccount {
                dn: dn_for(&uid, &settings.people_base),
                uid: uid.clone(),
                full_name: req.person.full_name.clone(),
                family_name,
                given_name,
                title: req.person.title.clone(),
                unit: req.person.unit.clone(),
                id_hash: req.person.id_hash.clone(),
            };
            world.accounts.push(Account {
                dn: new.dn.clone(),
                uid: uid.clone(),
                addresses: vec![uid],
                full_name: new.full_name.clone(),
                title: new.title.clone(),
                unit: new.unit.clone(),
                id_hash: Some(new.id_hash.clone()),
                locked: false,
                archived: false,
            });
            Ok(Step::Apply(Operation::Create(new)))
        }
        Action::Lock | Action::Unlock | Action::Delete => {
            let Some(i) = found else {
                return Err("không tìm thấy tài khoản của người này (theo số CMT/CCCD, hoặc họ tên và đơn vị)".into());
            };
            let a = &mut world.accounts[i];
            let mail = format!("{}@{}", a.uid, settings.domain);
            if a.archived {
                return match req.action {
                    Action::Unlock => Err(format!("tài khoản {mail} đã bị hủy, không thể mở khóa")),
                    _ => Ok(Step::Nothing(format!(
                        "tài khoản {mail} đã được hủy từ trước"
                    ))),
                };
            }
            let (dn, uid) = (a.dn.clone(), a.uid.clone());
            Ok(match req.action {
                Action::Lock if a.locked => {
                    Step::Nothing(format!("tài khoản {mail} đã bị khóa từ trước"))
                }
                Action::Lock => {
                    a.locked = true;
                    Step::Apply(Operation::Lock { dn, uid })
                }
                Action::Unlock if !a.locked => {
                    Step::Nothing(format!("tài khoản {mail} đang không bị khóa"))
                }
                Action::Unlock => {
                    a.locked = false;
                    Step::Apply(Operation::Unlock { dn, uid })
                }
                _ => {
                    let new_dn = dn_for(&uid, &settings.archive_base);
                    a.archived = true;
                    a.locked = true;
                    a.dn = new_dn.clone();
                    Step::Apply(Operation::Archive { dn, uid, new_dn })
                }
            })
        }
    }
}

fn plan_change(world: &mut World<'_>, req: &ChangeRequest) -> Result<Step, String> {
    let mail = world.mail(&req.account);
    let Some(i) = world.find_address(&req.account) else {
        return Err(format!("không tìm thấy tài khoản {mail}"));
    };
    if world.accounts[i].archived {
        return Err(format!(
            "tài khoản {mail} đã bị hủy, không thể thay đổi thông tin"
        ));
    }
    let settings = world.settings;
    let (dn, uid) = (world.accounts[i].dn.clone(), world.accounts[i].uid.clone());
    let unchanged = || {
        Ok(Step::Nothing(format!(
            "{} của tài khoản đã đúng như đề nghị",
            req.field.vietnamese()
        )))
    };
    let change =
        match (&req.field, &req.value) {
            (Field::FullName, NewValue::Text(name)) => {
                if world.accounts[i].full_name == *name {
                    return unchanged();
                }
                world.accounts[i].full_name = name.clone();
                let (family_name, given_name) = name_parts(name);
                AccountChange::Name {
                    full_name: name.clone(),
                    family_name,
                    given_name,
                }
            }
            (Field::Title, NewValue::Text(t)) => {
                if world.accounts[i].title == *t {
                    return unchanged();
                }
                world.accounts[i].title = t.clone();
                AccountChange::Title(t.clone())
            }
            (Field::Unit, NewValue::Text(u)) => {
                if world.accounts[i].unit == *u {
                    return unchanged();
                }
                world.accounts[i].unit = u.clone();
                AccountChange::Unit(u.clone())
            }
            (Field::IdNumber, NewValue::Id { hash, .. }) => {
                if world.accounts[i].id_hash.as_deref() == Some(hash.as_str()) {
                    return unchanged();
                }
                if world.accounts.iter().enumerate().any(|(j, a)| {
                    j != i && a.id_hash.as_deref() == Some(hash.as_str()) && !a.archived
                }) {
                    return Err("số CMT/CCCD mới đã thuộc về một tài khoản khác".into());
                }
                world.accounts[i].id_hash = Some(hash.clone());
                AccountChange::IdHash(hash.clone())
            }
            (Field::BirthDate | Field::Gender, _) => {
                return Ok(Step::Nothing(format!(
                    "{} không được lưu trong hệ thống thư điện tử nên không cần thay đổi",
                    req.field.vietnamese()
                )))
            }
            (Field::Address, NewValue::Address(new_uid)) => {
                if *new_uid == uid {
                    return unchanged();
                }
                if world.taken.contains(new_uid) {
                    return Err(format!(
                        "địa chỉ {} đã được sử dụng hoặc không được cấp",
                        world.mail(new_uid)
                    ));
                }
                world.taken.insert(new_uid.clone());
                let new_dn = dn_for(new_uid, &settings.people_base);
                let a = &mut world.accounts[i];
                a.uid = new_uid.clone();
                a.dn = new_dn.clone();
                a.addresses.push(new_uid.clone());
                return Ok(Step::Apply(Operation::Rename {
                    dn,
                    uid,
                    new_uid: new_uid.clone(),
                    new_dn,
                }));
            }
            _ => return Err("thông tin mới không phù hợp với thông tin cần thay đổi".into()),
        };
    Ok(Step::Apply(Operation::Modify { dn, uid, change }))
}

#[cfg(test)]
mod tests;
