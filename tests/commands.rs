//! `check`, exit codes, configuration errors, the file transport, and
//! regressions of the pipeline beyond the samples — all against the real
//! slapd and SMTP server.

mod common;

use std::path::PathBuf;

use common::*;

fn write(env: &Env, name: &str, text: &str) -> PathBuf {
    let p = env.path(name);
    std::fs::write(&p, text).unwrap();
    p
}

const HEADER: &str =
    "STT;Họ và tên;Ngày sinh;Giới tính;Số CMT/CCCD;Chức vụ;Đơn vị công tác;Nội dung đề nghị\n";

#[test]
fn check_prints_the_plan_and_changes_nothing() {
    let env = Env::new();
    let before = env.slapd.dump();
    let o = env.mailprov(&["check", &sample(SAMPLES[0]).display().to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    for want in [
        "15/TNMT-VP",
        "Trần Thị Bích Ngọc",
        "create annv",
        "create ngocttb",
        "create hoangld",
        "create annv2",
        "027******234",
    ] {
        assert!(stdout.contains(want), "{want} in:\n{stdout}");
    }
    assert!(!stdout.contains("027085001234"), "IDs are masked");
    assert_eq!(env.slapd.dump(), before);
    assert!(env.smtp.mails().is_empty());
    assert!(env.files_in("done").is_empty() && env.files_in("processing").is_empty());

    let o = env.mailprov(&["check", &sample(SAMPLES[5]).display().to_string()]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("6 row error(s)"));
}

#[test]
fn config_and_command_errors_exit_2_with_the_cause() {
    let env = Env::with(|t| *t = t.replace("[accounts]", "[accounts]\nbind_password = \"secret\""));
    let o = env.mailprov(&["process", &sample(SAMPLES[0]).display().to_string()]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("unknown field `bind_password`"),
        "{}",
        out(&o)
    );

    let env = Env::with(|t| {
        *t = t.replace(
            "id_hash_key_file = \"id.key\"",
            "id_hash_key_file = \"missing.key\"",
        )
    });
    let o = env.mailprov(&["check", &sample(SAMPLES[0]).display().to_string()]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("accounts.id_hash_key_file") && err.contains("missing.key"),
        "{err}"
    );
    assert!(env.slapd.uids(PEOPLE).is_empty());

    let o = std::process::Command::new(env!("CARGO_BIN_EXE_mailprov"))
        .args(["frobnicate"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_mailprov"))
        .args(["run", "--config", "/nonexistent/mailprov.toml"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/mailprov.toml"));
}

#[test]
fn file_transport_writes_the_same_mail_as_eml() {
    let env = Env::with(|t| {
        *t = t.replace(
            "transport = \"smtp\"",
            "transport = \"file\"\nfile_dir = \"mail-out\"",
        );
    });
    let o = env.process(&[sample(SAMPLES[0])]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(env.smtp.mails().is_empty());
    let files: Vec<_> = std::fs::read_dir(env.path("mail-out"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let raw = std::fs::read(&files[0]).unwrap();
    let mail = Received {
        from: String::new(),
        to: vec![],
        data: raw,
    };
    let parsed = mail.parsed();
    assert_eq!(
        parsed.to().unwrap().first().unwrap().address().unwrap(),
        TNMT
    );
    assert!(mail.subject().contains("15/TNMT-VP"));
    assert!(mail.text().contains("annv2@bacninh.gov.vn"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "mails with initial passwords are private");
    }
}

#[test]
fn regression_same_file_twice_is_not_applied_again() {
    let env = Env::new();
    assert_eq!(env.process(&[sample(SAMPLES[0])]).status.code(), Some(0));
    let before = env.slapd.dump();
    let o = env.process(&[sample(SAMPLES[0])]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert_eq!(env.slapd.dump(), before);
    assert_eq!(
        env.slapd.uids(PEOPLE),
        vec!["annv", "annv2", "hoangld", "ngocttb"],
        "no annv3"
    );
    let mails = env.smtp.mails();
    assert_eq!(mails.len(), 2);
    assert!(
        mails[1].text().contains("trùng hoàn toàn"),
        "{}",
        mails[1].text()
    );
}

#[test]
fn directory_down_leaves_the_file_waiting_not_rejected() {
    let env = Env::with(|t| {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // Nothing listens there once the listener above is dropped.
        *t = with_line(t, "url", &format!("url = \"ldap://127.0.0.1:{port}\""));
    });
    let o = env.process(&[sample(SAMPLES[0])]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert_eq!(env.files_in("processing").len(), 1);
    assert!(env.files_in("rejected").is_empty() && env.files_in("done").is_empty());
    assert!(env.smtp.mails().is_empty());
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("not processed"),
        "{}",
        out(&o)
    );
}

#[test]
fn lock_then_unlock_restores_login_and_keeps_the_password_change_forced() {
    let env = Env::new();
    let create = write(
        &env,
        "a.csv",
        &format!(
            "{HEADER}1;Phạm Thị Mai;02/03/1991;Nữ;027191001111;Chuyên viên;Phòng Nội vụ;Cấp mới\n"
        ),
    );
    let o = env.process(&[create]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let text = env.smtp.mails()[0].text();
    let pw = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Mật khẩu ban đầu: "))
        .unwrap()
        .to_string();
    let dn = format!("uid=maipt,{PEOPLE}");

    let lock = write(&env, "b.csv", &format!("{HEADER}1;Phạm Thị Mai;02/03/1991;Nữ;027191001111;Chuyên viên;Phòng Nội vụ;tạm  KHOÁ\n"));
    let o = env.process(&[lock]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(!env.slapd.whoami(&dn, &pw).0);

    let unlock = write(
        &env,
        "c.csv",
        &format!("{HEADER}1;Phạm Thị Mai;;;027191001111;;;Mở khóa\n"),
    );
    let o = env.process(&[unlock]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let e = env.slapd.person("maipt").unwrap();
    assert!(!e.contains_key("pwdAccountLockedTime"), "{e:?}");
    let (ok, said) = env.slapd.whoami(&dn, &pw);
    assert!(ok && said.contains("Password must be changed"), "{said}");
}

#[test]
fn form_two_address_change_keeps_the_old_address_delivering() {
    let env = Env::new();
    assert_eq!(env.process(&[sample(SAMPLES[0])]).status.code(), Some(0));
    let change = write(
        &env,
        "doi.csv",
        "STT,Thông tin cần thay đổi,Thông tin mới,Ghi chú\n1,Địa chỉ thư của tài khoản hoangld@bacninh.gov.vn,hoang.le@bacninh.gov.vn,\n2,Đơn vị công tác (hoangld@bacninh.gov.vn),UBND phường Vũ Ninh,Điều động\n",
    );
    let o = env.process(&[change]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(env.slapd.person("hoangld").is_none());
    let e = env.slapd.person("hoang.le").unwrap();
    assert_eq!(first(&e, "mail"), "hoang.le@bacninh.gov.vn");
    let mut aliases = e["mailLocalAddress"].clone();
    aliases.sort();
    assert_eq!(
        aliases,
        vec!["hoang.le@bacninh.gov.vn", "hoangld@bacninh.gov.vn"]
    );
    assert_eq!(first(&e, "ou"), "UBND phường Vũ Ninh");

    // The old address is never issued again, even to a namesake.
    let create = write(
        &env,
        "moi.csv",
        &format!(
            "{HEADER}1;Lê Đức Hoàng;01/01/1990;Nam;027090002222;Chuyên viên;Phòng Nội vụ;Cấp mới\n"
        ),
    );
    assert_eq!(env.process(&[create]).status.code(), Some(0));
    assert!(env.slapd.person("hoangld2").is_some());
}

#[test]
fn no_password_or_clear_id_reaches_the_logs_even_at_trace() {
    let env = Env::new();
    let files: Vec<PathBuf> = SAMPLES.iter().map(|s| sample(s)).collect();
    let o = env.mailprov_env(
        &[
            "process",
            &files[0].display().to_string(),
            &files[3].display().to_string(),
            &files[5].display().to_string(),
        ],
        &[("RUST_LOG", "trace")],
    );
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "trace logging was on"
    );
    let mut secrets: Vec<String> = vec![env.slapd.password.clone()];
    for m in env.smtp.mails() {
        secrets.extend(
            m.text()
                .lines()
                .filter_map(|l| l.trim().strip_prefix("Mật khẩu ban đầu: "))
                .map(String::from),
        );
    }
    assert!(secrets.len() > 5);
    secrets.extend(
        [
            "027085001234",
            "027190004567",
            "027078009876",
            "027095003333",
            "027188005555",
            "02708700123",
            "027084007878",
        ]
        .map(String::from),
    );
    let journal = std::fs::read_to_string(env.path("state/journal.jsonl")).unwrap();
    for s in &secrets {
        assert!(!logs.contains(s.as_str()), "leaked into the logs");
        assert!(!journal.contains(s.as_str()), "leaked into the journal");
    }
}

#[test]
fn regression_a_delete_with_someone_elses_id_and_another_name_changes_nothing() {
    let env = Env::new();
    assert_eq!(env.process(&[sample(SAMPLES[0])]).status.code(), Some(0));
    let before = env.slapd.dump();
    // Lê Đức Hoàng's ID, another person's name and unit.
    let f = write(&env, "sai.csv", &format!("{HEADER}1;Người Khác Hẳn;23/07/1978;Nam;027078009876;Bảo vệ;UBND phường Vũ Ninh;Hủy bỏ\n"));
    let o = env.process(&[f]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert_eq!(env.slapd.dump(), before);
    let text = env.smtp.mails()[1].text();
    assert!(text.contains("không khớp"), "{text}");
    assert!(
        !text.contains("hoangld"),
        "the other person's address is not disclosed: {text}"
    );
}

#[test]
fn regression_an_id_typed_in_the_name_column_is_masked_everywhere() {
    let env = Env::new();
    let f = write(
        &env,
        "lech.csv",
        &format!(
            "{HEADER}1;027085000181;01/02/1985;Nam;027085000181;Chuyên viên;Phòng Nội vụ;Cấp mới\n"
        ),
    );
    let o = env.mailprov(&["check", &f.display().to_string()]);
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains("027085000181"),
        "{}",
        out(&o)
    );
    let o = env.process(&[f]);
    assert_eq!(o.status.code(), Some(1));
    let m = &env.smtp.mails()[0];
    assert!(m.text().contains("027******181"), "{}", m.text());
    assert!(!m.text().contains("027085000181") && !m.html().contains("027085000181"));
    let report = env
        .files_in("rejected")
        .into_iter()
        .find(|f| f.ends_with(".report.txt"))
        .unwrap();
    assert!(
        !std::fs::read_to_string(env.path("state/rejected").join(report))
            .unwrap()
            .contains("027085000181")
    );
}

#[test]
fn check_json_reports_table_errors_and_plan_for_machines() {
    let env = Env::new();
    let o = env.mailprov(&[
        "check",
        "--json",
        &sample(SAMPLES[0]).display().to_string(),
        &sample(SAMPLES[5]).display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    let a = &v[0];
    assert_eq!(a["ok"], true);
    assert_eq!(a["doc_number"], "15/TNMT-VP");
    assert_eq!(a["rows"][1]["cells"]["Name"], "Trần Thị Bích Ngọc");
    assert_eq!(a["rows"][0]["cells"]["Id"], "027******234");
    let ops: Vec<&str> = a["plan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["operation"].as_str().unwrap())
        .collect();
    assert_eq!(
        ops,
        vec![
            "create annv",
            "create ngocttb",
            "create hoangld",
            "create annv2"
        ]
    );
    let b = &v[1];
    assert_eq!(b["ok"], false);
    assert_eq!(b["errors"].as_array().unwrap().len(), 6);
    assert!(!String::from_utf8_lossy(&o.stdout).contains("027085001234"));
    assert!(env.slapd.uids(PEOPLE).is_empty());
}
