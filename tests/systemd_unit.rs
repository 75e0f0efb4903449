//! The shipped systemd unit is valid (`systemd-analyze verify`, installed
//! by scripts/test.sh) and asks for what the daemon does: notify, watchdog,
//! credentials, hardening.

mod common;

use std::process::Command;

#[test]
fn the_unit_file_verifies_and_is_hardened() {
    let unit =
        std::fs::read_to_string(common::manifest_dir().join("systemd/mailprov.service")).unwrap();
    for want in [
        "Type=notify",
        "WatchdogSec=",
        "Restart=on-failure",
        "User=mailprov",
        "LoadCredential=ldap.secret:",
        "ProtectSystem=strict",
        "ReadWritePaths=",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "CapabilityBoundingSet=\n",
    ] {
        assert!(unit.contains(want), "unit lacks {want:?}");
    }
    // verify checks that ExecStart exists: point it at the binary under test.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mailprov.service");
    std::fs::write(
        &path,
        unit.replace("/usr/local/bin/mailprov", env!("CARGO_BIN_EXE_mailprov")),
    )
    .unwrap();
    let o = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        o.status.success() && !said.contains("mailprov.service:"),
        "systemd-analyze verify: {said}"
    );
}

#[test]
fn the_daemon_tells_systemd_it_is_ready_and_stopping() {
    let env = common::Env::new();
    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("notify");
    let sock = std::os::unix::net::UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailprov"))
        .args(["run", "--config"])
        .arg(&env.config)
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "400000")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 256];
    let mut seen = Vec::new();
    while !seen.iter().any(|m: &String| m.starts_with("WATCHDOG=1")) {
        let n = sock.recv(&mut buf).expect("a notification");
        seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert!(seen[0].starts_with("READY=1"), "{seen:?}");
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(child.wait().unwrap().code(), Some(0));
    loop {
        let n = sock.recv(&mut buf).expect("STOPPING=1");
        if buf[..n].starts_with(b"STOPPING=1") {
            break;
        }
    }
}
