//! Hostile files change nothing; the inbox is a trust boundary.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::*;

const HEADER: &str =
    "STT;Họ và tên;Ngày sinh;Giới tính;Số CMT/CCCD;Chức vụ;Đơn vị công tác;Nội dung đề nghị\n";

#[test]
fn ldap_injection_rows_are_row_errors_and_change_nothing() {
    let env = Env::new();
    assert_eq!(env.process(&[sample(SAMPLES[0])]).status.code(), Some(0));
    let before = env.slapd.dump();
    let rows = [
        "1;*;01/01/1990;Nam;027090000001;CV;Phòng Nội vụ;Cấp mới",
        "2;Lê Văn An;01/01/1990;Nam;*;CV;Phòng Nội vụ;Hủy bỏ",
        "3;Lê)(uid=*;01/01/1990;Nam;027090000003;CV;Phòng Nội vụ;Cấp mới",
        "4;Lê Văn Bốn;01/01/1990;Nam;027090000004;CV;Phòng A,ou=archive,dc=bacninh,dc=gov,dc=vn;Cấp mới",
        "5;Lê Văn Năm;01/01/1990;Nam;027090000005;x)(objectClass=*;Phòng Nội vụ;Cấp mới",
        "6;Nguyễn Văn An;12/03/1985;Nam;027085001234*;CV;Phòng Nội vụ;Tạm khóa",
    ];
    let f = env.path("inject.csv");
    std::fs::write(&f, format!("{HEADER}{}\n", rows.join("\n"))).unwrap();
    let o = env.process(&[f]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert_eq!(
        env.slapd.dump(),
        before,
        "the directory is unchanged entry by entry"
    );
    let text = env.smtp.mails()[1].text();
    for row in 1..=6 {
        assert!(
            text.contains(&format!("- Dòng {row}:")),
            "row {row} reported:\n{text}"
        );
    }

    let change = env.path("change.csv");
    std::fs::write(
        &change,
        "STT;Thông tin cần thay đổi;Thông tin mới;Ghi chú\n1;Chức vụ của tài khoản *@bacninh.gov.vn;Trưởng phòng;\n2;Địa chỉ thư annv@bacninh.gov.vn;a)(uid=*@bacninh.gov.vn;\n",
    )
    .unwrap();
    let o = env.process(&[change]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert_eq!(env.slapd.dump(), before);
}

/// A `.docx` whose document.xml inflates to `size` bytes of spaces.
fn bomb(size: usize) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1))
        .large_file(true);
    w.start_file("word/document.xml", opts).unwrap();
    let chunk = vec![b' '; 1 << 20];
    for _ in 0..size / chunk.len() {
        w.write_all(&chunk).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Runs `mailprov check` and returns (exit code, stdout, peak RSS in KiB).
/// The child is reaped with `wait4` (for its resource usage), not `wait`.
#[allow(clippy::zombie_processes)]
fn check_with_rusage(env: &Env, file: &std::path::Path) -> (i32, String, i64) {
    let child = Command::new(env!("CARGO_BIN_EXE_mailprov"))
        .args(["check", "--config"])
        .arg(&env.config)
        .arg(file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.unwrap(), &mut stdout).unwrap();
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own child, writing into locals.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(rc, pid);
    (libc::WEXITSTATUS(status), stdout, usage.ru_maxrss)
}

#[test]
fn a_one_gigabyte_zip_bomb_is_refused_in_little_memory() {
    let env = Env::new();
    let file = env.path("bomb.docx");
    let bytes = bomb(1 << 30);
    assert!(
        bytes.len() < 16 << 20,
        "the bomb is small: {} bytes",
        bytes.len()
    );
    std::fs::write(&file, bytes).unwrap();
    let (code, stdout, rss_kib) = check_with_rusage(&env, &file);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("larger than") || stdout.contains("bất thường"),
        "{stdout}"
    );
    assert!(rss_kib < 256 * 1024, "peak memory {rss_kib} KiB");

    // Through the pipeline: rejected with a clear message, nothing changed.
    let before = env.slapd.dump();
    let o = env.process(&[file]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(env.slapd.dump(), before);
    assert!(
        env.smtp.mails()[0].text().contains("cấu trúc bất thường"),
        "{}",
        env.smtp.mails()[0].text()
    );
}

#[test]
fn billion_laughs_is_refused() {
    let env = Env::new();
    let mut lol = String::from(r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">"#);
    let mut prev = "lol".to_string();
    for i in 1..10 {
        let name = format!("lol{i}");
        lol.push_str(&format!(
            r#"<!ENTITY {name} "{}">"#,
            format!("&{prev};").repeat(10)
        ));
        prev = name;
    }
    lol.push_str(&format!(r#"]><w:document xmlns:w="w"><w:body><w:p><w:r><w:t>&{prev};</w:t></w:r></w:p></w:body></w:document>"#));
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file(
        "word/document.xml",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    w.write_all(lol.as_bytes()).unwrap();
    let file = env.path("lol.docx");
    std::fs::write(&file, w.finish().unwrap().into_inner()).unwrap();
    let (code, stdout, rss_kib) = check_with_rusage(&env, &file);
    assert_eq!(code, 1);
    assert!(stdout.contains("DTD"), "{stdout}");
    assert!(rss_kib < 256 * 1024);
}

#[test]
fn a_symlink_in_the_inbox_is_never_followed() {
    let env = Env::new();
    let inbox = env.path("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    // A link to a real request file elsewhere: tempting, but not a file
    // somebody put in the inbox.
    let target = env.path("elsewhere.docx");
    std::fs::copy(sample(SAMPLES[0]), &target).unwrap();
    std::os::unix::fs::symlink(&target, inbox.join("link.docx")).unwrap();
    let daemon = env.daemon();
    std::thread::sleep(std::time::Duration::from_secs(2));
    let (code, stderr) = daemon.stop();
    assert_eq!(code, Some(0));
    assert!(stderr.contains("not a regular file"), "{stderr}");
    assert!(inbox.join("link.docx").exists() && target.exists());
    assert!(env.slapd.uids(PEOPLE).is_empty());
    assert!(env.files_in("processing").is_empty() && env.files_in("done").is_empty());
}

#[test]
fn files_from_users_not_allowed_are_refused_unread() {
    let env = Env::with(|t| {
        *t = t.replace(
            "settle_ms = 200",
            "settle_ms = 200\nallowed_owners = [\"nobody\"]",
        )
    });
    let inbox = env.path("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let daemon = env.daemon();
    // Root's file: refused. nobody's file: taken.
    std::fs::copy(sample(SAMPLES[0]), inbox.join(SAMPLES[0])).unwrap();
    assert!(
        wait_for(20, || env.files_in("rejected").len() == 2),
        "refused"
    );
    let theirs = inbox.join(SAMPLES[4]);
    std::fs::copy(sample(SAMPLES[4]), &theirs).unwrap();
    std::os::unix::fs::chown(&theirs, Some(65534), None).unwrap();
    assert!(
        wait_for(20, || env.files_in("done").len() == 2),
        "allowed owner's file applied"
    );
    assert_eq!(daemon.stop().0, Some(0));
    assert!(
        env.slapd.person("annv").is_none(),
        "the refused file was not applied"
    );
    assert!(env.slapd.person("tungbt").is_some());
    let mails = env.smtp.mails();
    assert_eq!(
        mails[0].to,
        vec![OFFICE],
        "the office hears of the refused file"
    );
    assert!(
        mails[0].text().contains("không được phép"),
        "{}",
        mails[0].text()
    );
    let journal = std::fs::read_to_string(env.path("state/journal.jsonl")).unwrap();
    assert!(
        journal.contains("\"owner\":0") && journal.contains("\"owner\":65534"),
        "owners journalled"
    );
}

#[test]
fn initial_passwords_can_stay_out_of_the_mail() {
    let env =
        Env::with(|t| *t = t.replace("[mail]\n", "[mail]\ninclude_initial_passwords = false\n"));
    assert_eq!(env.process(&[sample(SAMPLES[0])]).status.code(), Some(0));
    let text = env.smtp.mails()[0].text();
    assert!(!text.contains("Mật khẩu ban đầu:"), "{text}");
    assert!(text.contains("bộ phận kỹ thuật sẽ chuyển riêng"), "{text}");
    let dir = env.path("state/passwords");
    let sheets: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(sheets.len(), 1);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&sheets[0]).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let sheet = std::fs::read_to_string(&sheets[0]).unwrap();
    let line = sheet
        .lines()
        .find(|l| l.starts_with("ngocttb@bacninh.gov.vn\t"))
        .expect("a line per account");
    let pw = line.rsplit('\t').next().unwrap();
    let (ok, said) = env.slapd.whoami(&format!("uid=ngocttb,{PEOPLE}"), pw);
    assert!(ok && said.contains("Password must be changed"), "{said}");
    assert!(!text.contains(pw) && !env.smtp.mails()[0].html().contains(pw));
}

#[test]
fn old_request_files_are_deleted_after_keep_originals_days_reports_stay() {
    let env = Env::with(|t| t.push_str("\n[privacy]\nkeep_originals_days = 30\n"));
    assert_eq!(env.process(&[sample(SAMPLES[0])]).status.code(), Some(0));
    // A file taken long ago (the spool's stamp says when).
    let old = env.path("state/done/20240101T000000Z-1-old.docx");
    std::fs::write(&old, b"old").unwrap();
    std::fs::write(
        env.path("state/done/20240101T000000Z-1-old.docx.report.txt"),
        b"report",
    )
    .unwrap();
    let daemon = env.daemon();
    assert!(wait_for(10, || !old.exists()), "old original deleted");
    assert_eq!(daemon.stop().0, Some(0));
    assert!(env
        .path("state/done/20240101T000000Z-1-old.docx.report.txt")
        .exists());
    assert_eq!(
        env.files_in("done").len(),
        3,
        "today's file and its report stay, and the old report"
    );
}
