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
    /// Operations (as [`Operation::describe`] names them) that an earlier,
    /// interrupted attempt at this same file started: when the directory
    /// already shows their effect they are planned again, not skipped, so
    /// the unit is told what this file did (and new accounts get the
    /// password that is mailed).
    resumed: &'a HashSet<String>,
}

impl<'a> World<'a> {
    fn new(
        snapshot: &Snapshot,
        settings: &'a PlanSettings,
        resumed: &'a HashSet<String>,
    ) -> World<'a> {
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
            resumed,
        }
    }

    /// `op` if an earlier attempt at this file started it, else `otherwise`.
    fn resume_or(&self, op: Operation, otherwise: Step) -> Step {
        if self.resumed.contains(&op.describe()) {
            Step::Apply(op)
        } else {
            otherwise
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
        // An ID that belongs to an account under another name is a typo or
        // a mix-up: acting on it would lock or delete somebody else. Names
        // compare without case or diacritics; the account is not named.
        let name = fold(&req.person.full_name);
        if by_hash
            .iter()
            .any(|&i| fold(&self.accounts[i].full_name) != name)
        {
            return Err("họ và tên không khớp với tài khoản đã đăng ký bằng số CMT/CCCD này; đề nghị kiểm tra lại họ tên hoặc số CMT/CCCD".into());
        }
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
        let unit = key(&req.person.unit);
        let by_name: Vec<usize> = (0..self.accounts.len())
            .filter(|&i| {
                let a = &self.accounts[i];
                a.id_hash.is_none()
                    && !a.archived
                    && key(&a.full_name) == key(&req.person.full_name)
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
///
/// `resumed` names the operations an earlier, interrupted attempt at the
/// same file started (from the journal; empty on a first attempt).
pub fn plan(
    requests: &[Request],
    snapshot: &Snapshot,
    settings: &PlanSettings,
    resumed: &HashSet<String>,
) -> Result<Plan, Vec<RowError>> {
    let mut world = World::new(snapshot, settings, resumed);
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
    let (family_name, given_name) = name_parts(&req.person.full_name);
    if req.action == Action::Create {
        if let Some(i) = found {
            let a = &world.accounts[i];
            if !a.archived {
                let again = Operation::Create(NewAccount {
                    uid: a.uid.clone(),
                    dn: a.dn.clone(),
                    full_name: req.person.full_name.clone(),
                    family_name,
                    given_name,
                    title: req.person.title.clone(),
                    unit: req.person.unit.clone(),
                    id_hash: req.person.id_hash.clone(),
                });
                let reason = format!(
                    "người này đã có tài khoản {} từ trước, không cấp thêm",
                    world.mail(&a.uid)
                );
                return Ok(world.resume_or(again, Step::Nothing(reason)));
            }
        }
        let base = address_base(&req.person.full_name);
        if base.is_empty() {
            return Err("không tạo được địa chỉ thư từ họ tên này".into());
        }
        let uid = world.allocate(&base);
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
        return Ok(Step::Apply(Operation::Create(new)));
    }

    let Some(i) = found else {
        return Err(
            "không tìm thấy tài khoản của người này (theo số CMT/CCCD, hoặc họ tên và đơn vị)"
                .into(),
        );
    };
    let a = world.accounts[i].clone();
    let mail = world.mail(&a.uid);
    if a.archived {
        let again = Operation::Archive {
            dn: dn_for(&a.uid, &settings.people_base),
            uid: a.uid.clone(),
            new_dn: a.dn.clone(),
        };
        return match req.action {
            Action::Unlock => Err(format!("tài khoản {mail} đã bị hủy, không thể mở khóa")),
            Action::Delete => Ok(world.resume_or(
                again,
                Step::Nothing(format!("tài khoản {mail} đã được hủy từ trước")),
            )),
            _ => Ok(Step::Nothing(format!(
                "tài khoản {mail} đã được hủy từ trước"
            ))),
        };
    }
    let (dn, uid) = (a.dn.clone(), a.uid.clone());
    let step = match req.action {
        Action::Lock if a.locked => world.resume_or(
            Operation::Lock { dn, uid },
            Step::Nothing(format!("tài khoản {mail} đã bị khóa từ trước")),
        ),
        Action::Lock => {
            world.accounts[i].locked = true;
            Step::Apply(Operation::Lock { dn, uid })
        }
        Action::Unlock if !a.locked => world.resume_or(
            Operation::Unlock { dn, uid },
            Step::Nothing(format!("tài khoản {mail} đang không bị khóa")),
        ),
        Action::Unlock => {
            world.accounts[i].locked = false;
            Step::Apply(Operation::Unlock { dn, uid })
        }
        _ => {
            let new_dn = dn_for(&uid, &settings.archive_base);
            let acc = &mut world.accounts[i];
            acc.archived = true;
            acc.locked = true;
            acc.dn = new_dn.clone();
            Step::Apply(Operation::Archive { dn, uid, new_dn })
        }
    };
    Ok(step)
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
    let unchanged_text = format!(
        "{} của tài khoản đã đúng như đề nghị",
        req.field.vietnamese()
    );
    // A value already in place: nothing to do, unless an interrupted
    // attempt at this file is the one that put it there.
    let unchanged = |world: &World<'_>, change: AccountChange| {
        let again = Operation::Modify {
            dn: dn.clone(),
            uid: uid.clone(),
            change,
        };
        Ok(world.resume_or(again, Step::Nothing(unchanged_text.clone())))
    };
    let change = match (&req.field, &req.value) {
        (Field::FullName, NewValue::Text(name)) => {
            let (family_name, given_name) = name_parts(name);
            let change = AccountChange::Name {
                full_name: name.clone(),
                family_name,
                given_name,
            };
            if world.accounts[i].full_name == *name {
                return unchanged(world, change);
            }
            world.accounts[i].full_name = name.clone();
            change
        }
        (Field::Title, NewValue::Text(t)) => {
            if world.accounts[i].title == *t {
                return unchanged(world, AccountChange::Title(t.clone()));
            }
            world.accounts[i].title = t.clone();
            AccountChange::Title(t.clone())
        }
        (Field::Unit, NewValue::Text(u)) => {
            if world.accounts[i].unit == *u {
                return unchanged(world, AccountChange::Unit(u.clone()));
            }
            world.accounts[i].unit = u.clone();
            AccountChange::Unit(u.clone())
        }
        (Field::IdNumber, NewValue::Id { hash, .. }) => {
            if world.accounts[i].id_hash.as_deref() == Some(hash.as_str()) {
                return unchanged(world, AccountChange::IdHash(hash.clone()));
            }
            let used =
                world.accounts.iter().enumerate().any(|(j, a)| {
                    j != i && a.id_hash.as_deref() == Some(hash.as_str()) && !a.archived
                });
            if used {
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
                // Renamed already: by this file in an interrupted attempt
                // (then the old address names it), or long ago.
                let old = req.account.clone();
                let again = Operation::Rename {
                    dn: dn_for(&old, &settings.people_base),
                    uid: old,
                    new_uid: new_uid.clone(),
                    new_dn: dn.clone(),
                };
                return Ok(world.resume_or(again, Step::Nothing(unchanged_text)));
            }
            // The account's own earlier addresses may be taken back.
            let own = world.accounts[i].addresses.contains(new_uid);
            if world.taken.contains(new_uid) && !own {
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
            if !own {
                a.addresses.push(new_uid.clone());
            }
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
