use std::collections::HashSet;

use chrono::NaiveDate;

use super::*;
use crate::identity::IdNumber;
use crate::model::{Gender, Person};

/// A first attempt: nothing resumed.
fn plan(
    requests: &[Request],
    snapshot: &Snapshot,
    settings: &PlanSettings,
) -> Result<Plan, Vec<RowError>> {
    super::plan(requests, snapshot, settings, &HashSet::new())
}

fn resumed(ops: &[&str]) -> HashSet<String> {
    ops.iter().map(|o| o.to_string()).collect()
}

fn settings() -> PlanSettings {
    PlanSettings {
        domain: "bacninh.gov.vn".into(),
        people_base: "ou=people,dc=x".into(),
        archive_base: "ou=archive,dc=x".into(),
        reserved: vec!["postmaster".into()],
    }
}

fn row(i: usize) -> RowRef {
    RowRef {
        index: i,
        stt: i.to_string(),
    }
}

fn person(name: &str, id: &str) -> Person {
    Person {
        full_name: name.into(),
        birth_date: NaiveDate::from_ymd_opt(1985, 3, 12),
        gender: Some(Gender::Male),
        id: IdNumber::parse(id).unwrap(),
        id_hash: format!("hash-{id}"),
        title: "Chuyên viên".into(),
        unit: "Phòng Tài nguyên và Môi trường".into(),
    }
}

fn req(i: usize, action: Action, name: &str, id: &str) -> Request {
    Request::Account(AccountRequest {
        row: row(i),
        action,
        person: person(name, id),
    })
}

fn change(i: usize, account: &str, field: Field, value: NewValue) -> Request {
    Request::Change(ChangeRequest {
        row: row(i),
        account: account.into(),
        field,
        value,
    })
}

fn account(uid: &str, id: Option<&str>) -> Account {
    Account {
        dn: format!("uid={uid},ou=people,dc=x"),
        uid: uid.into(),
        addresses: vec![uid.into()],
        full_name: "Nguyễn Văn An".into(),
        title: "Chuyên viên".into(),
        unit: "Phòng Tài nguyên và Môi trường".into(),
        id_hash: id.map(|i| format!("hash-{i}")),
        locked: false,
        archived: false,
    }
}

fn named(uid: &str, id: &str, name: &str) -> Account {
    Account {
        full_name: name.into(),
        ..account(uid, Some(id))
    }
}

fn snapshot(accounts: Vec<Account>) -> Snapshot {
    Snapshot { accounts }
}

fn ops(p: &Plan) -> Vec<&Operation> {
    p.operations().collect()
}

fn created_uids(p: &Plan) -> Vec<String> {
    p.operations()
        .filter_map(|o| match o {
            Operation::Create(a) => Some(a.uid.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn address_rule_examples() {
    assert_eq!(address_base("Trần Thị Bích Ngọc"), "ngocttb");
    assert_eq!(address_base("Nguyễn Văn An"), "annv");
    assert_eq!(address_base("Lê Đức Hoàng"), "hoangld");
    assert_eq!(address_base("Đặng Thị Đào"), "daodt");
    assert_eq!(address_base("Ngô Thị Hương Giang"), "giangnth");
    assert_eq!(address_base("Hoàng Thị Thu Hà"), "hahtt");
    assert_eq!(address_base("Vũ Minh Đức"), "ducvm");
    assert_eq!(address_base("Đỗ Thị Lan Anh"), "anhdtl");
    assert_eq!(address_base("  NGUYỄN  văn   AN "), "annv");
    assert_eq!(
        address_base("Nguyễn Thị Thuý"),
        address_base("Nguyễn Thị Thúy")
    );
}

#[test]
fn name_parts_take_first_and_last_word() {
    assert_eq!(
        name_parts("Trần Thị Bích Ngọc"),
        ("Trần".into(), "Ngọc".into())
    );
}

#[test]
fn two_people_with_one_name_in_a_batch_get_2() {
    let p = plan(
        &[
            req(1, Action::Create, "Nguyễn Văn An", "027085001234"),
            req(2, Action::Create, "Nguyễn Văn An", "027095003333"),
        ],
        &snapshot(vec![]),
        &settings(),
    )
    .unwrap();
    assert_eq!(created_uids(&p), vec!["annv", "annv2"]);
}

#[test]
fn collisions_with_directory_archive_aliases_and_reserved() {
    let mut archived = account("annv2", Some("027000000001"));
    archived.archived = true;
    let mut aliased = account("annvx", Some("027000000002"));
    aliased.addresses.push("annv3".into());
    let p = plan(
        &[req(1, Action::Create, "Nguyễn Văn An", "027085001234")],
        &snapshot(vec![
            account("annv", Some("027000000000")),
            archived,
            aliased,
        ]),
        &settings(),
    )
    .unwrap();
    assert_eq!(created_uids(&p), vec!["annv4"]);

    let p = plan(
        &[req(1, Action::Create, "Phan Master Post", "027085001234")],
        &snapshot(vec![]),
        &{
            let mut s = settings();
            s.reserved = vec!["postpm".into()];
            s
        },
    )
    .unwrap();
    assert_eq!(created_uids(&p), vec!["postpm2"]);
}

#[test]
fn create_fills_every_attribute() {
    let p = plan(
        &[req(1, Action::Create, "Trần Thị Bích Ngọc", "027190004567")],
        &snapshot(vec![]),
        &settings(),
    )
    .unwrap();
    let Operation::Create(a) = ops(&p)[0] else {
        panic!()
    };
    assert_eq!(a.dn, "uid=ngocttb,ou=people,dc=x");
    assert_eq!(a.family_name, "Trần");
    assert_eq!(a.given_name, "Ngọc");
    assert_eq!(a.id_hash, "hash-027190004567");
    assert_eq!(a.title, "Chuyên viên");
}

#[test]
fn create_for_someone_who_has_an_account_does_nothing() {
    let p = plan(
        &[req(1, Action::Create, "Nguyễn Văn An", "027085001234")],
        &snapshot(vec![account("annv", Some("027085001234"))]),
        &settings(),
    )
    .unwrap();
    assert!(ops(&p).is_empty());
    assert!(matches!(&p.rows[0].step, Step::Nothing(m) if m.contains("annv@bacninh.gov.vn")));
}

#[test]
fn create_after_deletion_issues_a_new_address() {
    let mut old = account("annv", Some("027085001234"));
    old.archived = true;
    let p = plan(
        &[req(1, Action::Create, "Nguyễn Văn An", "027085001234")],
        &snapshot(vec![old]),
        &settings(),
    )
    .unwrap();
    assert_eq!(created_uids(&p), vec!["annv2"]);
}

#[test]
fn lock_unlock_delete_find_the_account_by_id_hash() {
    let snap = snapshot(vec![
        account("annv", Some("027000000000")),
        named("hoangld", "027078009876", "Lê Đức Hoàng"),
    ]);
    let p = plan(
        &[req(1, Action::Lock, "Lê Đức Hoàng", "027078009876")],
        &snap,
        &settings(),
    )
    .unwrap();
    assert_eq!(
        ops(&p),
        vec![&Operation::Lock {
            dn: "uid=hoangld,ou=people,dc=x".into(),
            uid: "hoangld".into()
        }]
    );

    let p = plan(
        &[req(1, Action::Delete, "Lê Đức Hoàng", "027078009876")],
        &snap,
        &settings(),
    )
    .unwrap();
    assert_eq!(
        ops(&p),
        vec![&Operation::Archive {
            dn: "uid=hoangld,ou=people,dc=x".into(),
            uid: "hoangld".into(),
            new_dn: "uid=hoangld,ou=archive,dc=x".into()
        }]
    );

    let mut locked = named("hoangld", "027078009876", "Lê Đức Hoàng");
    locked.locked = true;
    let p = plan(
        &[req(1, Action::Unlock, "Lê Đức Hoàng", "027078009876")],
        &snapshot(vec![locked.clone()]),
        &settings(),
    )
    .unwrap();
    assert!(matches!(ops(&p)[0], Operation::Unlock { .. }));
    // Locking again is nothing to do.
    let p = plan(
        &[req(1, Action::Lock, "Lê Đức Hoàng", "027078009876")],
        &snapshot(vec![locked]),
        &settings(),
    )
    .unwrap();
    assert!(ops(&p).is_empty());
    // Unlocking an account that is not locked is nothing to do.
    let p = plan(
        &[req(1, Action::Unlock, "Lê Đức Hoàng", "027078009876")],
        &snap,
        &settings(),
    )
    .unwrap();
    assert!(matches!(&p.rows[0].step, Step::Nothing(m) if m.contains("không bị khóa")));
}

#[test]
fn the_name_never_overrides_the_id_hash() {
    // Same name and unit as the account, but another ID: not that account.
    let snap = snapshot(vec![account("annv", Some("027000000000"))]);
    let e = plan(
        &[req(3, Action::Lock, "Nguyễn Văn An", "027085001234")],
        &snap,
        &settings(),
    )
    .unwrap_err();
    assert_eq!(e[0].row.index, 3);
    assert!(e[0].message.contains("không tìm thấy"));
}

#[test]
fn accounts_without_hash_are_found_by_exact_name_and_unit() {
    let snap = snapshot(vec![account("annv", None)]);
    let p = plan(
        &[req(1, Action::Lock, "Nguyễn Văn An", "027085001234")],
        &snap,
        &settings(),
    )
    .unwrap();
    assert!(matches!(ops(&p)[0], Operation::Lock { uid, .. } if uid == "annv"));

    let mut other_unit = account("annv2", None);
    other_unit.unit = "UBND phường Vũ Ninh".into();
    let p = plan(
        &[req(1, Action::Lock, "Nguyễn Văn An", "027085001234")],
        &snapshot(vec![other_unit]),
        &settings(),
    );
    assert!(p.is_err());
}

#[test]
fn ambiguous_name_and_unit_is_refused() {
    let snap = snapshot(vec![account("annv", None), account("annv2", None)]);
    let e = plan(
        &[req(1, Action::Delete, "Nguyễn Văn An", "027085001234")],
        &snap,
        &settings(),
    )
    .unwrap_err();
    assert!(e[0].message.contains("có 2 tài khoản"), "{e:?}");
}

#[test]
fn deleted_accounts_cannot_be_unlocked_and_are_not_deleted_twice() {
    let mut gone = account("annv2", Some("027095003333"));
    gone.archived = true;
    gone.dn = "uid=annv2,ou=archive,dc=x".into();
    let snap = snapshot(vec![gone]);
    let p = plan(
        &[req(1, Action::Delete, "Nguyễn Văn An", "027095003333")],
        &snap,
        &settings(),
    )
    .unwrap();
    assert!(ops(&p).is_empty());
    assert!(plan(
        &[req(1, Action::Unlock, "Nguyễn Văn An", "027095003333")],
        &snap,
        &settings()
    )
    .is_err());
}

#[test]
fn every_bad_row_is_reported_not_just_the_first() {
    let e = plan(
        &[
            req(1, Action::Lock, "Nguyễn Văn An", "027085001234"),
            req(2, Action::Create, "Lê Văn Bình", "027085009999"),
            req(3, Action::Delete, "Lê Văn Chi", "027085008888"),
        ],
        &snapshot(vec![]),
        &settings(),
    )
    .unwrap_err();
    assert_eq!(
        e.iter().map(|e| e.row.index).collect::<Vec<_>>(),
        vec![1, 3]
    );
}

#[test]
fn form_two_changes() {
    let snap = snapshot(vec![
        account("annv", Some("1")),
        account("ngocttb", Some("2")),
    ]);
    let p = plan(
        &[
            change(
                1,
                "ngocttb",
                Field::Title,
                NewValue::Text("Trưởng phòng".into()),
            ),
            change(
                2,
                "annv",
                Field::FullName,
                NewValue::Text("Nguyễn Văn Ân".into()),
            ),
            change(
                3,
                "annv",
                Field::Unit,
                NewValue::Text("UBND phường Vũ Ninh".into()),
            ),
            change(
                4,
                "annv",
                Field::IdNumber,
                NewValue::Id {
                    masked: "x".into(),
                    hash: "hash-9".into(),
                },
            ),
        ],
        &snap,
        &settings(),
    )
    .unwrap();
    let o = ops(&p);
    assert_eq!(
        o[0],
        &Operation::Modify {
            dn: "uid=ngocttb,ou=people,dc=x".into(),
            uid: "ngocttb".into(),
            change: AccountChange::Title("Trưởng phòng".into())
        }
    );
    assert_eq!(
        o[1],
        &Operation::Modify {
            dn: "uid=annv,ou=people,dc=x".into(),
            uid: "annv".into(),
            change: AccountChange::Name {
                full_name: "Nguyễn Văn Ân".into(),
                family_name: "Nguyễn".into(),
                given_name: "Ân".into()
            }
        }
    );
    assert!(
        matches!(o[2], Operation::Modify { change: AccountChange::Unit(u), .. } if u == "UBND phường Vũ Ninh")
    );
    assert!(
        matches!(o[3], Operation::Modify { change: AccountChange::IdHash(h), .. } if h == "hash-9")
    );
}

#[test]
fn form_two_unknown_or_deleted_account_is_an_error() {
    let mut gone = account("annv2", Some("1"));
    gone.archived = true;
    let e = plan(
        &[
            change(1, "nobody", Field::Title, NewValue::Text("x".into())),
            change(2, "annv2", Field::Title, NewValue::Text("x".into())),
        ],
        &snapshot(vec![gone]),
        &settings(),
    )
    .unwrap_err();
    assert!(e[0].message.contains("nobody@bacninh.gov.vn"));
    assert!(e[1].message.contains("đã bị hủy"));
}

#[test]
fn form_two_unchanged_values_and_unstored_fields_are_nothing() {
    let snap = snapshot(vec![account("annv", Some("1"))]);
    let p = plan(
        &[
            change(
                1,
                "annv",
                Field::Title,
                NewValue::Text("Chuyên viên".into()),
            ),
            change(
                2,
                "annv",
                Field::BirthDate,
                NewValue::Date(NaiveDate::from_ymd_opt(1990, 1, 1).unwrap()),
            ),
        ],
        &snap,
        &settings(),
    )
    .unwrap();
    assert!(ops(&p).is_empty());
}

#[test]
fn address_change_renames_keeps_alias_and_refuses_taken_addresses() {
    let mut gone = account("old", Some("3"));
    gone.archived = true;
    let snap = snapshot(vec![
        account("annv", Some("1")),
        account("ngocttb", Some("2")),
        gone,
    ]);
    let p = plan(
        &[change(
            1,
            "annv",
            Field::Address,
            NewValue::Address("an.nguyen".into()),
        )],
        &snap,
        &settings(),
    )
    .unwrap();
    assert_eq!(
        ops(&p),
        vec![&Operation::Rename {
            dn: "uid=annv,ou=people,dc=x".into(),
            uid: "annv".into(),
            new_uid: "an.nguyen".into(),
            new_dn: "uid=an.nguyen,ou=people,dc=x".into()
        }]
    );
    for taken in ["ngocttb", "old", "postmaster"] {
        let e = plan(
            &[change(
                1,
                "annv",
                Field::Address,
                NewValue::Address(taken.into()),
            )],
            &snap,
            &settings(),
        );
        assert!(e.is_err(), "{taken}");
    }
}

#[test]
fn later_rows_see_what_earlier_rows_planned() {
    let snap = snapshot(vec![account("annv", Some("1"))]);
    let p = plan(
        &[
            change(
                1,
                "annv",
                Field::Address,
                NewValue::Address("an.nguyen".into()),
            ),
            // The old address still names the account, now under its new DN.
            change(
                2,
                "annv",
                Field::Title,
                NewValue::Text("Phó Trưởng phòng".into()),
            ),
        ],
        &snap,
        &settings(),
    )
    .unwrap();
    assert!(
        matches!(ops(&p)[1], Operation::Modify { dn, .. } if dn == "uid=an.nguyen,ou=people,dc=x")
    );

    // A renamed-away address is not issued to a new person in the same batch.
    let p = plan(
        &[
            change(
                1,
                "annv",
                Field::Address,
                NewValue::Address("an.nguyen".into()),
            ),
            req(2, Action::Create, "Nguyễn Văn An", "027085001234"),
        ],
        &snap,
        &settings(),
    )
    .unwrap();
    assert_eq!(created_uids(&p), vec!["annv2"]);
}

#[test]
fn dn_values_are_escaped() {
    let mut s = settings();
    s.people_base = "ou=people,dc=x".into();
    let p = plan(
        &[change(
            1,
            "annv",
            Field::Address,
            NewValue::Address("a,b".into()),
        )],
        &snapshot(vec![account("annv", Some("1"))]),
        &s,
    )
    .unwrap();
    assert!(
        matches!(ops(&p)[0], Operation::Rename { new_dn, .. } if new_dn == "uid=a\\2cb,ou=people,dc=x")
    );
}

#[test]
fn regression_an_id_under_another_name_never_locks_or_deletes_that_account() {
    let mut binh = account("binhpv", Some("027085000101"));
    binh.full_name = "Phạm Văn Bình".into();
    let snap = snapshot(vec![binh]);
    for action in [Action::Lock, Action::Unlock, Action::Delete, Action::Create] {
        let e = plan(
            &[req(1, action, "Người Khác Hẳn", "027085000101")],
            &snap,
            &settings(),
        )
        .unwrap_err();
        assert!(e[0].message.contains("không khớp"), "{action:?}: {e:?}");
        // The other person's address is not disclosed.
        assert!(!e[0].message.contains("binhpv"), "{e:?}");
    }
    // Diacritics typed differently are the same name.
    let p = plan(
        &[req(1, Action::Lock, "PHAM VAN BINH", "027085000101")],
        &snap,
        &settings(),
    )
    .unwrap();
    assert!(matches!(ops(&p)[0], Operation::Lock { .. }));
}

#[test]
fn regression_resumed_creates_are_planned_again_so_their_password_is_mailed() {
    let mut an = account("annv", Some("027085001234"));
    an.full_name = "Nguyễn Văn An".into();
    let snap = snapshot(vec![an]);
    let reqs = [
        req(1, Action::Create, "Nguyễn Văn An", "027085001234"),
        req(2, Action::Create, "Lê Văn Bình", "027085009999"),
    ];
    let p = super::plan(&reqs, &snap, &settings(), &resumed(&["create annv"])).unwrap();
    assert_eq!(created_uids(&p), vec!["annv", "binhlv"]);
    let Operation::Create(a) = ops(&p)[0] else {
        panic!()
    };
    assert_eq!(a.dn, "uid=annv,ou=people,dc=x");
    // Without the journal saying so, the existing account is left alone.
    let p = plan(&reqs, &snap, &settings()).unwrap();
    assert_eq!(created_uids(&p), vec!["binhlv"]);
}

#[test]
fn resumed_lock_archive_modify_and_rename_are_planned_again() {
    let mut locked = named("hoangld", "027078009876", "Lê Đức Hoàng");
    locked.full_name = "Lê Đức Hoàng".into();
    locked.locked = true;
    let mut gone = account("annv2", Some("027095003333"));
    gone.archived = true;
    gone.dn = "uid=annv2,ou=archive,dc=x".into();
    let mut renamed = account("an.nguyen", Some("1"));
    renamed.addresses = vec!["annv".into(), "an.nguyen".into()];
    renamed.title = "Trưởng phòng".into();
    let snap = snapshot(vec![locked, gone, renamed]);
    let reqs = [
        req(1, Action::Lock, "Lê Đức Hoàng", "027078009876"),
        req(2, Action::Delete, "Nguyễn Văn An", "027095003333"),
    ];
    let r = resumed(&["lock hoangld", "archive annv2"]);
    let p = super::plan(&reqs, &snap, &settings(), &r).unwrap();
    assert!(matches!(ops(&p)[0], Operation::Lock { uid, .. } if uid == "hoangld"));
    assert!(matches!(ops(&p)[1], Operation::Archive { dn, new_dn, .. }
        if dn == "uid=annv2,ou=people,dc=x" && new_dn == "uid=annv2,ou=archive,dc=x"));

    let reqs = [
        change(
            1,
            "annv",
            Field::Address,
            NewValue::Address("an.nguyen".into()),
        ),
        change(
            2,
            "annv",
            Field::Title,
            NewValue::Text("Trưởng phòng".into()),
        ),
    ];
    let r = resumed(&["rename annv -> an.nguyen", "modify an.nguyen title"]);
    let p = super::plan(&reqs, &snap, &settings(), &r).unwrap();
    assert!(matches!(ops(&p)[0], Operation::Rename { dn, new_dn, .. }
        if dn == "uid=annv,ou=people,dc=x" && new_dn == "uid=an.nguyen,ou=people,dc=x"));
    assert!(matches!(
        ops(&p)[1],
        Operation::Modify {
            change: AccountChange::Title(_),
            ..
        }
    ));
    // Not resumed: nothing to do.
    assert!(ops(&plan(&reqs, &snap, &settings()).unwrap()).is_empty());
}

#[test]
fn regression_an_account_may_take_back_its_own_old_address() {
    let mut renamed = account("an.nguyen", Some("1"));
    renamed.addresses = vec!["annv".into(), "an.nguyen".into()];
    let p = plan(
        &[change(
            1,
            "an.nguyen",
            Field::Address,
            NewValue::Address("annv".into()),
        )],
        &snapshot(vec![renamed]),
        &settings(),
    )
    .unwrap();
    assert!(matches!(ops(&p)[0], Operation::Rename { new_uid, .. } if new_uid == "annv"));
}
