//! `mailprov run`: watches the inbox, takes files moved in by rename,
//! leaves temporary names alone, stops cleanly on SIGTERM.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

#[test]
fn daemon_applies_a_file_renamed_into_the_inbox_and_stops_on_sigterm() {
    let env = Env::new();
    let inbox = env.path("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    // A file already waiting when the daemon starts is taken too.
    std::fs::copy(sample(SAMPLES[4]), inbox.join(SAMPLES[4])).unwrap();
    // Office lock files and partial copies are never touched.
    std::fs::write(inbox.join("~$01-tnmt-cap-moi.docx"), b"lock").unwrap();
    std::fs::write(inbox.join(".~lock.01-tnmt-cap-moi.docx#"), b"lock").unwrap();

    let child = env.daemon();

    assert!(
        wait_for(30, || env.slapd.person("tungbt").is_some()),
        "the waiting file was applied"
    );

    // Copy under a temporary name, then rename: the way IT staff's tools do it.
    let part = inbox.join("01-tnmt-cap-moi.docx.part");
    std::fs::copy(sample(SAMPLES[0]), &part).unwrap();
    std::thread::sleep(Duration::from_millis(600));
    assert!(part.exists(), "a .part file is not taken");
    std::fs::rename(&part, inbox.join(SAMPLES[0])).unwrap();

    assert!(
        wait_for(30, || env
            .files_in("done")
            .iter()
            .any(|f| f.ends_with("01-tnmt-cap-moi.docx"))),
        "renamed file filed in done/"
    );
    assert_eq!(
        env.slapd.uids(PEOPLE),
        vec!["anhdtl", "annv", "annv2", "hieunm", "hoangld", "ngocttb", "tungbt"]
    );
    assert!(wait_for(10, || env.smtp.mails().len() == 2));
    assert!(inbox.join("~$01-tnmt-cap-moi.docx").exists());
    assert!(inbox.join(".~lock.01-tnmt-cap-moi.docx#").exists());
    assert!(!inbox.join(SAMPLES[0]).exists());

    // SIGTERM: a clean exit, quickly (stop() allows 10 s).
    let (code, stderr) = child.stop();
    assert_eq!(code, Some(0));
    assert!(stderr.contains("shutting down"), "{stderr}");
}

#[test]
fn daemon_keeps_a_file_in_processing_while_the_directory_is_down_and_applies_it_after() {
    let env = Env::new();
    let inbox = env.path("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    // Directory down: stop slapd before the daemon sees the file.
    env.slapd.stop();

    let child = env.daemon();
    std::fs::copy(sample(SAMPLES[0]), inbox.join(SAMPLES[0])).unwrap();
    assert!(
        wait_for(20, || env.files_in("processing").len() == 1),
        "claimed and waiting"
    );
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        env.files_in("rejected").is_empty(),
        "an outage never rejects a file"
    );
    assert!(env.files_in("done").is_empty());
    assert!(env.smtp.mails().is_empty());
    assert_eq!(child.stop().0, Some(0));
    assert_eq!(
        env.files_in("processing").len(),
        1,
        "still waiting after a restart"
    );

    // The directory is back (same database, same port): the next start of
    // the daemon finishes the file.
    let db_dir = &env.slapd.dir;
    let conf = db_dir.join("slapd.conf");
    let url = env.slapd.url.clone();
    let started = Command::new("/usr/sbin/slapd")
        .args(["-f"])
        .arg(&conf)
        .args(["-h", &format!("{url}/")])
        .status()
        .unwrap();
    assert!(started.success());
    assert!(wait_for(10, || std::net::TcpStream::connect(
        url.trim_start_matches("ldap://")
    )
    .is_ok()));
    let child = env.daemon();
    assert!(
        wait_for(30, || env.files_in("done").len() == 2),
        "applied after the outage"
    );
    assert_eq!(child.stop().0, Some(0));
    assert_eq!(
        env.slapd.uids(PEOPLE),
        vec!["annv", "annv2", "hoangld", "ngocttb"]
    );
    assert_eq!(env.smtp.mails().len(), 1);
}
