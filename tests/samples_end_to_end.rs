//! The main job end to end on the sample files: real slapd, real SMTP.
//! Samples 01 → 06 processed in order, as DESIGN.md's samples README says.

mod common;

use common::*;

fn meets_rule(pw: &str) -> bool {
    pw.chars().count() >= 8
        && pw.chars().any(|c| c.is_ascii_uppercase())
        && pw.chars().any(|c| c.is_ascii_lowercase())
        && pw.chars().any(|c| c.is_ascii_digit())
        && pw.chars().any(|c| "!@#%$*&".contains(c))
}

#[test]
fn samples_01_to_06_in_order() {
    let env = Env::new();
    let s = &env.slapd;

    // 01: four new accounts, two people named Nguyễn Văn An.
    let o = env.process(&[sample(SAMPLES[0])]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(s.uids(PEOPLE), vec!["annv", "annv2", "hoangld", "ngocttb"]);
    let an = s.person("annv").unwrap();
    let oc: Vec<String> = an["objectClass"].iter().map(|c| c.to_lowercase()).collect();
    assert!(
        oc.contains(&"inetorgperson".into()) && oc.contains(&"inetlocalmailrecipient".into()),
        "{oc:?}"
    );
    assert_eq!(first(&an, "mail"), "annv@bacninh.gov.vn");
    assert_eq!(an["mailLocalAddress"], vec!["annv@bacninh.gov.vn"]);
    assert_eq!(first(&an, "cn"), "Nguyễn Văn An");
    assert_eq!(first(&an, "displayName"), "Nguyễn Văn An");
    assert_eq!(first(&an, "sn"), "Nguyễn");
    assert_eq!(first(&an, "givenName"), "An");
    assert_eq!(first(&an, "title"), "Chuyên viên");
    assert_eq!(first(&an, "ou"), "Phòng Tài nguyên và Môi trường");
    assert_eq!(first(&an, "pwdReset"), "TRUE");
    // The ID is only there as the keyed hash.
    assert_eq!(first(&an, "employeeNumber"), env.id_hash("027085001234"));
    assert!(!format!("{an:?}").contains("027085001234"));
    assert_eq!(
        first(&s.person("annv2").unwrap(), "employeeNumber"),
        env.id_hash("027095003333")
    );
    // The password is stored hashed, never in clear.
    let stored = first(&an, "userPassword");
    assert!(stored.starts_with("{CRYPT}$6$"), "{stored}");
    let ngoc = s.person("ngocttb").unwrap();
    assert_eq!(first(&ngoc, "sn"), "Trần");
    assert_eq!(first(&ngoc, "givenName"), "Ngọc");
    assert_eq!(first(&ngoc, "title"), "Phó Trưởng phòng");

    let mails = env.smtp.mails();
    assert_eq!(mails.len(), 1);
    let m = &mails[0];
    assert_eq!(m.to, vec![TNMT]);
    assert!(m.subject().contains("15/TNMT-VP"), "{}", m.subject());
    let text = m.text();
    assert!(
        text.contains("Kính gửi: Phòng Tài nguyên và Môi trường"),
        "{text}"
    );
    assert!(text.contains("đổi mật khẩu"), "{text}");
    assert!(text.contains("! @ # % $ * &"), "{text}");
    let pws = passwords(&text);
    let addrs: Vec<&str> = pws.keys().map(String::as_str).collect();
    assert_eq!(
        addrs,
        vec![
            "annv2@bacninh.gov.vn",
            "annv@bacninh.gov.vn",
            "hoangld@bacninh.gov.vn",
            "ngocttb@bacninh.gov.vn"
        ]
    );
    for (addr, pw) in &pws {
        assert!(meets_rule(pw), "{addr}: {pw}");
        assert!(!stored.contains(pw.as_str()));
        assert!(m.html().contains(addr.as_str()), "HTML part lists {addr}");
    }
    // Binding with the initial password works and must change it first.
    let (ok, said) = s.whoami(&format!("uid=annv,{PEOPLE}"), &pws["annv@bacninh.gov.vn"]);
    assert!(ok, "{said}");
    assert!(said.contains("Password must be changed"), "{said}");
    let (ok, _) = s.whoami(&format!("uid=annv,{PEOPLE}"), "Wrong#Passw0rd");
    assert!(!ok);

    // 02: lock hoangld, delete (archive) annv2, both found by ID.
    let o = env.process(&[sample(SAMPLES[1])]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let hoang = s.person("hoangld").unwrap();
    assert_eq!(first(&hoang, "pwdAccountLockedTime"), "000001010000Z");
    let (ok, said) = s.whoami(
        &format!("uid=hoangld,{PEOPLE}"),
        &pws["hoangld@bacninh.gov.vn"],
    );
    assert!(!ok, "a locked account cannot bind: {said}");
    assert!(s.person("annv2").is_none());
    let gone = s
        .archived("annv2")
        .expect("annv2 moved under the archive base");
    assert_eq!(first(&gone, "pwdAccountLockedTime"), "000001010000Z");
    assert_eq!(first(&gone, "mail"), "annv2@bacninh.gov.vn");
    assert_eq!(s.uids(ARCHIVE), vec!["annv2"]);
    let m = &env.smtp.mails()[1];
    assert_eq!(m.to, vec![TNMT]);
    assert!(m.subject().contains("21/TNMT-VP"));
    assert!(
        m.text()
            .contains("đã khóa tài khoản hoangld@bacninh.gov.vn"),
        "{}",
        m.text()
    );
    assert!(
        m.text().contains("đã hủy tài khoản annv2@bacninh.gov.vn"),
        "{}",
        m.text()
    );

    // 03: ngocttb's title, annv's name; the address stays.
    let o = env.process(&[sample(SAMPLES[2])]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(
        first(&s.person("ngocttb").unwrap(), "title"),
        "Trưởng phòng"
    );
    let an = s.person("annv").unwrap();
    assert_eq!(first(&an, "cn"), "Nguyễn Văn Ân");
    assert_eq!(first(&an, "displayName"), "Nguyễn Văn Ân");
    assert_eq!(first(&an, "givenName"), "Ân");
    assert_eq!(first(&an, "mail"), "annv@bacninh.gov.vn");
    assert_eq!(first(&an, "uid"), "annv");
    assert!(env.smtp.mails()[2].subject().contains("22/TNMT-VP"));

    // 04: Excel, real date cells, title row above the header; the ward is
    // not in [mail.units], so the office gets the mail.
    let o = env.process(&[sample(SAMPLES[3])]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    for uid in ["daodt", "vietpq", "giangnth", "ducvm", "hahtt"] {
        let e = s.person(uid).unwrap_or_else(|| panic!("{uid} created"));
        assert_eq!(first(&e, "ou"), "UBND phường Vũ Ninh");
    }
    assert_eq!(
        first(&s.person("daodt").unwrap(), "employeeNumber"),
        env.id_hash("027188005555")
    );
    let m = &env.smtp.mails()[3];
    assert_eq!(m.to, vec![OFFICE]);
    assert_eq!(passwords(&m.text()).len(), 5);

    // 05: CSV with BOM from the office itself.
    let o = env.process(&[sample(SAMPLES[4])]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    for uid in ["tungbt", "anhdtl", "hieunm"] {
        assert!(s.person(uid).is_some(), "{uid}");
    }
    assert_eq!(env.smtp.mails()[4].to, vec![VHTT]);

    // 06: six bad rows: rejected whole, nothing changed, each row reported.
    let before = s.dump();
    let o = env.process(&[sample(SAMPLES[5])]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert_eq!(s.dump(), before, "a rejected file changes nothing");
    let m = &env.smtp.mails()[5];
    assert_eq!(m.to, vec![TNMT]);
    assert!(m.subject().contains("30/TNMT-VP"));
    let text = m.text();
    for (row, phrase) in [
        (1, "11 chữ số"),
        (2, "31/02/1990"),
        (3, "thiếu họ và tên"),
        (4, "\"X\""),
        (5, "Chuyển đơn vị"),
        (6, "giới tính Nam nhưng cột Giới tính ghi Nữ"),
    ] {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("- Dòng {row}:")))
            .unwrap_or_else(|| panic!("row {row} reported:\n{text}"));
        assert!(line.contains(phrase), "row {row}: {line}");
    }
    assert!(text.contains("Không có thay đổi nào"), "{text}");

    // Files: five in done/, one in rejected/, each with its report.
    let done = env.files_in("done");
    assert_eq!(done.len(), 10, "{done:?}");
    for (i, name) in SAMPLES[..5].iter().enumerate() {
        assert!(done.iter().any(|f| f.ends_with(name)), "{name} in done/");
        assert!(
            done.iter()
                .any(|f| f.ends_with(&format!("{name}.report.txt"))),
            "report {i}"
        );
    }
    let rejected = env.files_in("rejected");
    assert_eq!(rejected.len(), 2, "{rejected:?}");
    let report = std::fs::read_to_string(
        env.path("state/rejected").join(
            rejected
                .iter()
                .find(|f| f.ends_with(".report.txt"))
                .unwrap(),
        ),
    )
    .unwrap();
    assert!(report.contains("Dòng 6"), "{report}");
    assert!(env.files_in("processing").is_empty());
    assert_eq!(env.smtp.mails().len(), 6, "one mail per file");

    // Nothing secret reached a report or the journal.
    let mut written = String::new();
    for sub in ["done", "rejected"] {
        for f in env
            .files_in(sub)
            .iter()
            .filter(|f| f.ends_with(".report.txt"))
        {
            written
                .push_str(&std::fs::read_to_string(env.path("state").join(sub).join(f)).unwrap());
        }
    }
    written.push_str(&std::fs::read_to_string(env.path("state/journal.jsonl")).unwrap());
    for pw in pws.values() {
        assert!(!written.contains(pw.as_str()), "password leaked");
    }
    for id in [
        "027085001234",
        "027190004567",
        "027078009876",
        "027095003333",
        "027188005555",
    ] {
        assert!(!written.contains(id), "ID {id} leaked");
    }
    assert!(!written.contains(s.password.as_str()));
}

#[test]
fn process_takes_several_files_in_the_given_order() {
    let env = Env::new();
    // 02 before 01: the lock and delete find nobody, so 02 is rejected; 01
    // is applied after it.
    let o = env.process(&[sample(SAMPLES[1]), sample(SAMPLES[0])]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let mails = env.smtp.mails();
    assert_eq!(mails.len(), 2);
    assert!(mails[0].subject().contains("21/TNMT-VP") && mails[0].subject().contains("Trả lại"));
    assert!(
        mails[0].text().contains("không tìm thấy tài khoản"),
        "{}",
        mails[0].text()
    );
    assert!(mails[1].subject().contains("15/TNMT-VP"));
    assert_eq!(env.slapd.uids(PEOPLE).len(), 4);
    // The given files are copied, not moved.
    assert!(sample(SAMPLES[0]).exists() && sample(SAMPLES[1]).exists());
}
