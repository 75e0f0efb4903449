//! Test harness: a real slapd started by the project's own script, a real
//! SMTP server speaking the protocol on loopback, and a config that points
//! mailprov at both. Nothing here is a mock.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use ldap3::{LdapConn, Scope, SearchEntry};

pub mod office;

pub const DOMAIN: &str = "bacninh.gov.vn";
pub const BASE: &str = "dc=bacninh,dc=gov,dc=vn";
pub const PEOPLE: &str = "ou=people,dc=bacninh,dc=gov,dc=vn";
pub const ARCHIVE: &str = "ou=archive,dc=bacninh,dc=gov,dc=vn";

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn sample(name: &str) -> PathBuf {
    manifest_dir().join("tests/fixtures/samples").join(name)
}

pub const SAMPLES: [&str; 6] = [
    "01-tnmt-cap-moi.docx",
    "02-tnmt-tam-khoa-huy-bo.docx",
    "03-tnmt-thay-doi-thong-tin.docx",
    "04-vuninh-cap-moi.xlsx",
    "05-vhtt-cap-moi.csv",
    "06-tnmt-co-loi.docx",
];

/// A throwaway slapd (Debian's package, ppolicy on) from scripts/slapd.sh.
pub struct Slapd {
    /// Holds the database and config; removed on drop.
    pub dir: PathBuf,
    pub url: String,
    pub bind_dn: String,
    pub password_file: PathBuf,
    pub password: String,
    /// Its process, killed on drop if the stop script could not do it.
    pub pid: i32,
}

impl Slapd {
    pub fn start(dir: &Path) -> Slapd {
        Slapd::start_with(dir, &[])
    }

    /// With extra environment for the script (e.g. SLAPD_TLS_*).
    pub fn start_with(dir: &Path, env: &[(&str, &Path)]) -> Slapd {
        let mut cmd = Command::new("bash");
        cmd.arg(manifest_dir().join("scripts/slapd.sh"))
            .arg("start")
            .arg(dir);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run scripts/slapd.sh");
        assert!(
            out.status.success(),
            "slapd.sh start failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let env = std::fs::read_to_string(dir.join("env")).unwrap();
        let get = |k: &str| {
            env.lines()
                .find_map(|l| l.strip_prefix(&format!("{k}=")))
                .unwrap_or_else(|| panic!("{k} missing in env"))
                .trim_matches('\'')
                .to_string()
        };
        let password_file = PathBuf::from(get("LDAP_BIND_PASSWORD_FILE"));
        let password = std::fs::read_to_string(&password_file).unwrap();
        Slapd {
            dir: dir.to_path_buf(),
            url: get("LDAP_URL"),
            bind_dn: get("LDAP_BIND_DN"),
            password_file,
            password,
            pid: get("SLAPD_PID").parse().unwrap(),
        }
    }

    /// Stops the server (a directory outage), through the project's script.
    pub fn stop(&self) {
        let o = Command::new("bash")
            .arg(manifest_dir().join("scripts/slapd.sh"))
            .arg("stop")
            .arg(&self.dir)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "slapd.sh stop: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    pub fn conn(&self) -> LdapConn {
        let mut l = LdapConn::new(&self.url).unwrap();
        l.simple_bind(&self.bind_dn, &self.password)
            .unwrap()
            .success()
            .unwrap();
        l
    }

    /// One entry's attributes (operational ones included), or None.
    pub fn entry(&self, dn: &str) -> Option<BTreeMap<String, Vec<String>>> {
        let mut l = self.conn();
        let res = l
            .search(dn, Scope::Base, "(objectClass=*)", vec!["*", "+"])
            .unwrap();
        if res.1.rc == 32 {
            return None;
        }
        let (entries, _) = res.success().unwrap();
        entries
            .into_iter()
            .next()
            .map(|e| SearchEntry::construct(e).attrs.into_iter().collect())
    }

    pub fn person(&self, uid: &str) -> Option<BTreeMap<String, Vec<String>>> {
        self.entry(&format!("uid={uid},{PEOPLE}"))
    }

    pub fn archived(&self, uid: &str) -> Option<BTreeMap<String, Vec<String>>> {
        self.entry(&format!("uid={uid},{ARCHIVE}"))
    }

    /// uids under a base, sorted.
    pub fn uids(&self, base: &str) -> Vec<String> {
        let mut l = self.conn();
        let (entries, _) = l
            .search(base, Scope::OneLevel, "(uid=*)", vec!["uid"])
            .unwrap()
            .success()
            .unwrap();
        let mut v: Vec<String> = entries
            .into_iter()
            .map(|e| SearchEntry::construct(e).attrs["uid"][0].clone())
            .collect();
        v.sort();
        v
    }

    /// Every entry of the tree with every attribute, user and operational
    /// (minus the ones slapd changes on its own), to prove nothing changed.
    pub fn dump(&self) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
        let mut l = self.conn();
        let (entries, _) = l
            .search(BASE, Scope::Subtree, "(objectClass=*)", vec!["*", "+"])
            .unwrap()
            .success()
            .unwrap();
        entries
            .into_iter()
            .map(|e| {
                let e = SearchEntry::construct(e);
                let mut attrs: BTreeMap<String, Vec<String>> = e.attrs.into_iter().collect();
                for (_, v) in attrs.iter_mut() {
                    v.sort();
                }
                attrs.remove("contextCSN");
                (e.dn, attrs)
            })
            .collect()
    }

    /// What `ldapwhoami -e ppolicy` says when binding as `dn` with `pw`.
    pub fn whoami(&self, dn: &str, pw: &str) -> (bool, String) {
        let out = Command::new("ldapwhoami")
            .env("LDAPNOINIT", "1")
            .args(["-x", "-H", &self.url, "-D", dn, "-w", pw, "-e", "ppolicy"])
            .output()
            .expect("ldapwhoami (ldap-utils) is installed by scripts/slapd.sh");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(manifest_dir().join("scripts/slapd.sh"))
            .arg("stop")
            .arg(&self.dir)
            .output();
        // A test that restarted slapd by hand wrote a new pid file, which the
        // script stopped; whatever is left of the first process is ours.
        let comm = std::fs::read_to_string(format!("/proc/{}/comm", self.pid)).unwrap_or_default();
        if comm.trim() == "slapd" {
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
        }
    }
}

/// One SMTP transaction as the server received it.
#[derive(Clone, Debug)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
}

impl Received {
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.data)
            .expect("a parseable mail")
    }
    pub fn subject(&self) -> String {
        self.parsed().subject().unwrap_or_default().to_string()
    }
    pub fn text(&self) -> String {
        self.parsed()
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default()
    }
    pub fn html(&self) -> String {
        self.parsed()
            .body_html(0)
            .map(|t| t.into_owned())
            .unwrap_or_default()
    }
}

/// A small SMTP server on loopback that accepts every message (RFC 5321
/// commands a client like lettre sends) and keeps it for the test.
pub struct SmtpSink {
    pub port: u16,
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        SmtpSink::start_on(0)
    }

    /// On a given port (0: any free one).
    pub fn start_on(port: u16) -> SmtpSink {
        SmtpSink::start_refusing(port, None)
    }

    /// One that answers 550 to RCPT TO this address.
    pub fn start_refusing(port: u16, refuse: Option<&str>) -> SmtpSink {
        let refuse = refuse.map(str::to_string);
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let r = received.clone();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let r = r.clone();
                let refuse = refuse.clone();
                thread::spawn(move || {
                    let _ = session(stream, r, refuse);
                });
            }
        });
        SmtpSink { port, received }
    }

    pub fn mails(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

fn session(
    stream: TcpStream,
    received: Arc<Mutex<Vec<Received>>>,
    refuse: Option<String>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut w = stream.try_clone()?;
    let mut r = BufReader::new(stream);
    w.write_all(b"220 sink.test ESMTP\r\n")?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            w.write_all(b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")?;
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            w.write_all(b"250 ok\r\n")?;
        } else if upper.starts_with("RSET") {
            from.clear();
            to.clear();
            w.write_all(b"250 ok\r\n")?;
        } else if upper.starts_with("MAIL FROM:") {
            from = cmd[10..]
                .trim()
                .trim_matches(['<', '>'])
                .split('>')
                .next()
                .unwrap_or("")
                .to_string();
            w.write_all(b"250 ok\r\n")?;
        } else if upper.starts_with("RCPT TO:") {
            let rcpt = cmd[8..].trim().trim_matches(['<', '>']).to_string();
            if refuse.as_deref() == Some(rcpt.as_str()) {
                w.write_all(b"550 no such mailbox\r\n")?;
                continue;
            }
            to.push(rcpt);
            w.write_all(b"250 ok\r\n")?;
        } else if upper == "DATA" {
            w.write_all(b"354 go ahead\r\n")?;
            let mut data = Vec::new();
            loop {
                let mut l = Vec::new();
                if r.read_until(b'\n', &mut l)? == 0 {
                    return Ok(());
                }
                if l == b".\r\n" {
                    break;
                }
                let l = if l.starts_with(b"..") {
                    l[1..].to_vec()
                } else {
                    l
                };
                data.extend_from_slice(&l);
            }
            received.lock().unwrap().push(Received {
                from: from.clone(),
                to: std::mem::take(&mut to),
                data,
            });
            w.write_all(b"250 queued\r\n")?;
        } else if upper.starts_with("QUIT") {
            w.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            w.write_all(b"502 not implemented\r\n")?;
        }
    }
}

/// A whole deployment in a temporary folder: slapd, SMTP sink, config.
///
/// Fields drop in declaration order: slapd is stopped before its folder
/// (`root`, last) is removed. The other way round, the stop script found no
/// folder and left slapd running.
pub struct Env {
    /// The directory server; stopped first.
    pub slapd: Slapd,
    /// Receives the confirmations.
    pub smtp: SmtpSink,
    /// The config file mailprov is run with.
    pub config: PathBuf,
    /// The ID-hash key written for mailprov, to check hashes independently.
    pub key: Vec<u8>,
    /// Everything on disk; removed last.
    pub root: tempfile::TempDir,
}

pub const TNMT: &str = "tnmt@bacninh.gov.vn";
pub const VHTT: &str = "vhtt@bacninh.gov.vn";
pub const OFFICE: &str = "office@bacninh.gov.vn";

impl Env {
    pub fn new() -> Env {
        Env::with(|_| {})
    }

    /// `edit` may change the config text before it is written.
    pub fn with(edit: impl FnOnce(&mut String)) -> Env {
        Env::with_slapd_env(&[], edit)
    }

    /// A deployment whose slapd gets extra script environment.
    pub fn with_slapd_env(slapd_env: &[(&str, &Path)], edit: impl FnOnce(&mut String)) -> Env {
        let root = tempfile::tempdir().unwrap();
        let slapd = Slapd::start_with(&root.path().join("ldap"), slapd_env);
        let smtp = SmtpSink::start();
        let key: Vec<u8> = (0u8..32)
            .map(|i| i.wrapping_mul(37).wrapping_add(11))
            .collect();
        std::fs::write(root.path().join("id.key"), &key).unwrap();
        let mut text = format!(
            r#"[inbox]
dir = "inbox"
state_dir = "state"
settle_ms = 200
scan_interval_ms = 200

[directory]
url = "{url}"
bind_dn = "{dn}"
bind_password_file = "{pwfile}"
people_base = "{PEOPLE}"
archive_base = "{ARCHIVE}"

[accounts]
domain = "{DOMAIN}"
id_hash_key_file = "id.key"

[mail]
transport = "smtp"
smtp_url = "smtp://127.0.0.1:{port}"
from = "Phòng Văn hóa và Thông tin <{VHTT}>"
default_recipient = "{OFFICE}"

[mail.units]
"Phòng Tài nguyên và Môi trường" = "{TNMT}"
"Phòng Văn hóa và Thông tin" = "{VHTT}"
"#,
            url = slapd.url,
            dn = slapd.bind_dn,
            pwfile = slapd.password_file.display(),
            port = smtp.port,
        );
        edit(&mut text);
        let config = root.path().join("mailprov.toml");
        std::fs::write(&config, text).unwrap();
        Env {
            root,
            slapd,
            smtp,
            config,
            key,
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    pub fn mailprov(&self, args: &[&str]) -> Output {
        self.mailprov_env(args, &[])
    }

    pub fn mailprov_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mailprov"));
        cmd.arg(args[0])
            .arg("--config")
            .arg(&self.config)
            .args(&args[1..]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    pub fn process(&self, files: &[PathBuf]) -> Output {
        let mut args: Vec<String> = vec!["process".into()];
        args.extend(files.iter().map(|p| p.display().to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.mailprov(&refs)
    }

    /// Names of the files in a state sub-folder, sorted.
    pub fn files_in(&self, sub: &str) -> Vec<String> {
        let dir = self.path("state").join(sub);
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// The keyed hash mailprov must have stored for an ID (computed here
    /// independently with the same key).
    pub fn id_hash(&self, id: &str) -> String {
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&self.key).unwrap();
        mac.update(id.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Waits for `cond` up to `secs`, polling.
pub fn wait_for(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if cond() {
            return true;
        }
        thread::sleep(Duration::from_millis(100));
    }
    cond()
}

pub fn out(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub fn first(attrs: &BTreeMap<String, Vec<String>>, a: &str) -> String {
    attrs
        .get(a)
        .and_then(|v| v.first())
        .cloned()
        .unwrap_or_default()
}

/// A loopback port nothing listens on (right now).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `mailprov run` on an [`Env`]'s config.
pub struct Daemon {
    /// The daemon process.
    pub child: std::process::Child,
    /// Where its log goes: a file, not a pipe, so a chatty daemon never
    /// blocks on a full pipe nobody reads.
    pub log: PathBuf,
}

impl Env {
    /// Starts `mailprov run`; its log is kept for [`Daemon::stop`].
    pub fn daemon(&self) -> Daemon {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let log = self.path(&format!("daemon-{nanos}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_mailprov"))
            .args(["run", "--config"])
            .arg(&self.config)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Daemon { child, log }
    }
}

impl Daemon {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then waits (at most 10 s) for a clean exit; returns the
    /// exit code and what the daemon logged.
    pub fn stop(mut self) -> (Option<i32>, String) {
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let end = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < end, "daemon did not stop on SIGTERM");
            thread::sleep(Duration::from_millis(50));
        };
        (
            status.code(),
            std::fs::read_to_string(&self.log).unwrap_or_default(),
        )
    }
}

/// (address, initial password) pairs of a confirmation's text part.
pub fn passwords(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut current = None;
    for line in text.lines() {
        if let Some(i) = line.find("đã tạo tài khoản ") {
            current = Some(line[i + "đã tạo tài khoản ".len()..].trim().to_string());
        } else if let Some(i) = line.find("Mật khẩu ban đầu: ") {
            let pw = line[i + "Mật khẩu ban đầu: ".len()..].trim().to_string();
            out.insert(current.take().expect("a password follows an address"), pw);
        }
    }
    out
}

/// The config text with the line of `key` replaced by `line`.
pub fn with_line(text: &str, key: &str, line: &str) -> String {
    text.lines()
        .map(|l| {
            if l.starts_with(&format!("{key} = ")) {
                line.to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
