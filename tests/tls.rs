//! TLS to the directory: ldaps:// and StartTLS against a slapd whose
//! certificate comes from a CA made here; a wrong CA is refused; a password
//! in clear to another machine is refused before any connection.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn openssl(dir: &Path, args: &[&str]) {
    let o = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A CA and a server certificate for 127.0.0.1 signed by it; and a second,
/// unrelated CA. Returns (ca, wrong_ca, cert, key).
fn pki(dir: &Path) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    for ca in ["ca", "wrong"] {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &format!("{ca}.key"),
                "-out",
                &format!("{ca}.pem"),
                "-days",
                "2",
                "-subj",
                &format!("/CN=mailprov test {ca}"),
            ],
        );
    }
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
    (
        dir.join("ca.pem"),
        dir.join("wrong.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

fn tls_env(
    ca_for_mailprov: impl Fn(&Path, &Path) -> PathBuf,
    url: impl Fn(&Slapd) -> String,
    starttls: bool,
) -> Env {
    let tmp = tempfile::tempdir().unwrap();
    let (ca, wrong, cert, key) = pki(tmp.path());
    let env = Env::with_slapd_env(
        &[
            ("SLAPD_TLS_CA", &ca),
            ("SLAPD_TLS_CERT", &cert),
            ("SLAPD_TLS_KEY", &key),
        ],
        |_| {},
    );
    let trusted = ca_for_mailprov(&ca, &wrong);
    let kept = env.path("trusted-ca.pem");
    std::fs::copy(&trusted, &kept).unwrap();
    let text = std::fs::read_to_string(&env.config).unwrap();
    let text = with_line(
        &text,
        "url",
        &format!(
            "url = \"{}\"\nstarttls = {starttls}\nca_file = \"trusted-ca.pem\"",
            url(&env.slapd)
        ),
    );
    std::fs::write(&env.config, text).unwrap();
    env
}

fn ldaps_url(s: &Slapd) -> String {
    let env = std::fs::read_to_string(s.dir.join("env")).unwrap();
    env.lines()
        .find_map(|l| l.strip_prefix("LDAPS_URL="))
        .expect("LDAPS_URL")
        .trim_matches('\'')
        .to_string()
}

#[test]
fn ldaps_with_the_right_ca_works() {
    let env = tls_env(|ca, _| ca.to_path_buf(), ldaps_url, false);
    let o = env.process(&[sample(SAMPLES[0])]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(env.slapd.uids(PEOPLE).len(), 4);
}

#[test]
fn starttls_with_the_right_ca_works() {
    let env = tls_env(|ca, _| ca.to_path_buf(), |s| s.url.clone(), true);
    let o = env.process(&[sample(SAMPLES[0])]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(env.slapd.uids(PEOPLE).len(), 4);
    let log = std::fs::read_to_string(env.slapd.dir.join("slapd.log")).unwrap();
    assert!(
        log.contains("oid=1.3.6.1.4.1.1466.20037"),
        "StartTLS was used"
    );
}

#[test]
fn a_wrong_ca_is_refused_and_nothing_is_sent() {
    for (url, starttls) in [
        (ldaps_url as fn(&Slapd) -> String, false),
        (|s: &Slapd| s.url.clone(), true),
    ] {
        let env = tls_env(|_, wrong| wrong.to_path_buf(), url, starttls);
        // Only what happens from here on counts (the start script binds
        // once itself to see the server is up).
        let log_path = env.slapd.dir.join("slapd.log");
        let seen = std::fs::read_to_string(&log_path).unwrap().len();
        let o = env.process(&[sample(SAMPLES[0])]);
        let log = std::fs::read_to_string(&log_path).unwrap()[seen..].to_string();
        assert!(log.contains("ACCEPT"), "mailprov did connect:\n{log}");
        assert!(!log.contains("BIND"), "no bind reached the server:\n{log}");
        assert_eq!(o.status.code(), Some(1), "{}", out(&o));
        let said = String::from_utf8_lossy(&o.stdout);
        assert!(said.contains("not processed"), "{said}");
        assert!(env.slapd.uids(PEOPLE).is_empty());
        assert!(env.smtp.mails().is_empty());
    }
}

#[test]
fn a_clear_password_to_another_machine_is_refused_before_connecting() {
    // 192.0.2.1 (TEST-NET-1) is never contacted: the config is refused first.
    let env = Env::with(|t| *t = with_line(t, "url", "url = \"ldap://192.0.2.1:389\""));
    let o = env.mailprov(&["check", &sample(SAMPLES[0]).display().to_string()]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("in clear"),
        "{}",
        out(&o)
    );
}
