//! Configuration: parsing (pure, from text) is split from reading (files).
//! Unknown keys are errors; secrets come only from files named by `*_file`
//! keys, never from the config itself.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use secrecy::{SecretBox, SecretString};
use serde::Deserialize;

/// Why the configuration cannot be used (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config is not valid")]
    Parse(#[from] toml::de::Error),
    #[error("config key {key}: {problem}")]
    Invalid { key: &'static str, problem: String },
    #[error("cannot read secrets file {path} (named by {key})")]
    Secret {
        key: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn invalid(key: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        problem: problem.into(),
    }
}

/// The whole configuration file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where request files arrive and where state is kept.
    pub inbox: InboxConfig,
    /// The LDAP directory behind the mail system.
    pub directory: DirectoryConfig,
    /// How accounts are named and IDs hashed.
    pub accounts: AccountsConfig,
    /// How confirmations are sent.
    pub mail: MailConfig,
    /// Guards against mass changes by mistake.
    #[serde(default)]
    pub safety: SafetyConfig,
    /// Personal data kept no longer than needed.
    #[serde(default)]
    pub privacy: PrivacyConfig,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConfig {
    /// Request files (they hold ID numbers in clear) are deleted from done/
    /// and rejected/ this many days after they were taken; their reports
    /// stay. 0 keeps them for ever.
    #[serde(default = "default_keep_days")]
    pub keep_originals_days: u32,
}

impl Default for PrivacyConfig {
    fn default() -> PrivacyConfig {
        PrivacyConfig {
            keep_originals_days: default_keep_days(),
        }
    }
}

fn default_keep_days() -> u32 {
    365
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SafetyConfig {
    /// A file that would lock or delete more accounts than this is held in
    /// `held/` until an officer runs `mailprov approve`.
    #[serde(default = "default_max_destructive")]
    pub max_destructive: usize,
}

impl Default for SafetyConfig {
    fn default() -> SafetyConfig {
        SafetyConfig {
            max_destructive: default_max_destructive(),
        }
    }
}

fn default_max_destructive() -> usize {
    20
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboxConfig {
    /// IT staff drop approved files here.
    pub dir: PathBuf,
    /// processing/, done/, rejected/, outbox/, the journal.
    pub state_dir: PathBuf,
    /// A file must be unchanged (size and mtime) this long before it is
    /// taken, so half-copied files are never read.
    #[serde(default = "default_settle_ms")]
    pub settle_ms: u64,
    /// How often the inbox is rescanned even without file-system events
    /// (network shares do not always deliver them).
    #[serde(default = "default_scan_interval_ms")]
    pub scan_interval_ms: u64,
    /// Larger files are rejected unread: a request list is a few hundred
    /// kilobytes, and a huge file is a mistake or an attack.
    #[serde(default = "default_max_file_bytes")]
    pub max_file_bytes: u64,
    /// Watch by polling only (network shares deliver no file-system
    /// events); the inbox is rescanned every `scan_interval_ms`.
    #[serde(default)]
    pub poll: bool,
    /// The local users (names or uids) allowed to put files in the inbox;
    /// files of anybody else are refused unread. Empty: any local user (a
    /// world-writable inbox then gets a warning).
    #[serde(default)]
    pub allowed_owners: Vec<Owner>,
}

/// A local user, by name or uid.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum Owner {
    Uid(u32),
    Name(String),
}

impl InboxConfig {
    /// `allowed_owners` as uids; a name that is no local user is an error.
    pub fn allowed_owner_uids(&self) -> Result<Vec<u32>, ConfigError> {
        self.allowed_owners
            .iter()
            .map(|o| match o {
                Owner::Uid(u) => Ok(*u),
                Owner::Name(n) => uid_of(n)
                    .ok_or_else(|| invalid("inbox.allowed_owners", format!("no local user {n:?}"))),
            })
            .collect()
    }
}

/// The uid of a local user name.
fn uid_of(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpwnam_r writes into `pwd` and `buf`, both live and sized
    // as passed; `result` points at `pwd` or is null.
    let rc = unsafe {
        libc::getpwnam_r(
            c.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    (rc == 0 && !result.is_null()).then_some(pwd.pw_uid)
}

fn default_max_file_bytes() -> u64 {
    20 * 1024 * 1024
}

fn default_settle_ms() -> u64 {
    2000
}
fn default_scan_interval_ms() -> u64 {
    5000
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryConfig {
    /// Which mail stack's attribute set; only `openldap` for now.
    #[serde(default = "default_profile")]
    pub profile: String,
    /// `ldap://host:port` (or `ldapi://`).
    pub url: String,
    /// The account mailprov binds as.
    pub bind_dn: String,
    /// File holding the bind password (one line).
    pub bind_password_file: PathBuf,
    /// Live accounts: `uid=<local>,<people_base>`.
    pub people_base: String,
    /// Deleted accounts are moved here; their addresses are never reissued.
    pub archive_base: String,
    /// Seconds to wait for the directory on connect and on each operation.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Apply each file in one RFC 5805 transaction (all or nothing) when
    /// the server advertises it. Off by default: Debian 12's slapd 2.5.13
    /// was seen to crash at End Transaction on files that lock accounts
    /// (ppolicy attributes in a transaction); the default path applies
    /// operation by operation, each journalled and idempotent.
    #[serde(default)]
    pub transactions: bool,
    /// Upgrade an `ldap://` connection with StartTLS before binding.
    #[serde(default)]
    pub starttls: bool,
    /// CA certificate(s) (PEM) to trust for `ldaps://` and StartTLS instead
    /// of the system's; the server's name is always verified.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Allow a simple bind with the password in clear over plain `ldap://`
    /// to a host that is not this machine. Off: such a config is refused.
    #[serde(default)]
    pub allow_insecure: bool,
}

fn default_true() -> bool {
    true
}

fn default_profile() -> String {
    "openldap".into()
}
fn default_timeout_secs() -> u64 {
    10
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountsConfig {
    /// Every address issued is `<local>@<domain>`.
    pub domain: String,
    /// File holding the key of the ID-number hash (any bytes; 32 random
    /// bytes recommended). Changing it orphans every stored hash.
    pub id_hash_key_file: PathBuf,
    /// Local parts never issued to a person, besides those of the addresses
    /// in `[mail]` (which are always reserved).
    #[serde(default = "default_reserved")]
    pub reserved: Vec<String>,
}

fn default_reserved() -> Vec<String> {
    [
        "postmaster",
        "abuse",
        "hostmaster",
        "webmaster",
        "admin",
        "administrator",
        "root",
        "noreply",
        "no-reply",
        "info",
    ]
    .map(String::from)
    .to_vec()
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// Send through an SMTP relay.
    Smtp,
    /// Write `.eml` files (demo, air-gapped sites).
    File,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    /// `smtp` or `file`.
    pub transport: Transport,
    /// `smtp://host:port` of the relay; required for `smtp`.
    #[serde(default)]
    pub smtp_url: Option<String>,
    /// Where `.eml` files go with `file` (default `<state_dir>/mail`).
    #[serde(default)]
    pub file_dir: Option<PathBuf>,
    /// Sender of confirmations, e.g. `Phòng Văn hóa và Thông tin <vhtt@…>`.
    pub from: String,
    /// Where confirmations for units not listed in `units` go.
    pub default_recipient: String,
    /// Requesting unit → address of its confirmations. Names match
    /// ignoring case, diacritic form (NFC/NFD) and spacing.
    #[serde(default)]
    pub units: BTreeMap<String, String>,
    /// Whether initial passwords go into the unit's confirmation. `false`:
    /// they are written to a 0600 file under `<state_dir>/passwords/` for
    /// IT staff to hand over, and the mail says so.
    #[serde(default = "default_true")]
    pub include_initial_passwords: bool,
    /// TLS to the relay: "none", "starttls" (required) or "tls" (implicit,
    /// also implied by an `smtps://` URL).
    #[serde(default)]
    pub smtp_tls: SmtpTls,
    /// CA certificate(s) (PEM) to trust for the relay instead of the
    /// system's.
    #[serde(default)]
    pub smtp_ca_file: Option<PathBuf>,
    /// User for SMTP authentication; its password comes from
    /// `smtp_password_file`.
    #[serde(default)]
    pub smtp_user: Option<String>,
    /// File holding the SMTP password.
    #[serde(default)]
    pub smtp_password_file: Option<PathBuf>,
    /// Allow SMTP authentication without TLS to a relay that is not this
    /// machine. Off: such a config is refused.
    #[serde(default)]
    pub allow_insecure: bool,
}

/// TLS to the SMTP relay.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP (a relay on this machine).
    #[default]
    None,
    /// STARTTLS, required: no mail goes out without it.
    Starttls,
    /// TLS from the first byte (`smtps://`, port 465).
    Tls,
}

/// Whether a host name or address is this machine.
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h == "localhost"
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The host of an `ldap://host:port` style URL.
pub fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let hostport = rest.split('/').next().unwrap_or("");
    if hostport.starts_with('[') {
        return hostport
            .split_once(']')
            .map(|(h, _)| &h[1..])
            .unwrap_or(hostport);
    }
    hostport
        .rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(hostport)
}

impl Config {
    /// Reads and parses a config file; relative paths in it are taken
    /// relative to the file's folder.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Config::parse(&text, base)
    }

    /// Parses config text. `base` resolves relative paths.
    pub fn parse(text: &str, base: &Path) -> Result<Config, ConfigError> {
        let mut c: Config = toml::from_str(text)?;
        // Under systemd, secrets come as credentials (`LoadCredential=`):
        // `${CREDENTIALS_DIRECTORY}` in a path names that folder.
        let credentials = std::env::var("CREDENTIALS_DIRECTORY").ok();
        let abs = |p: &mut PathBuf| {
            let text = p.to_string_lossy().into_owned();
            if let (Some(rest), Some(dir)) =
                (text.strip_prefix("${CREDENTIALS_DIRECTORY}"), &credentials)
            {
                *p = PathBuf::from(format!("{dir}{rest}"));
            }
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        abs(&mut c.inbox.dir);
        abs(&mut c.inbox.state_dir);
        abs(&mut c.directory.bind_password_file);
        abs(&mut c.accounts.id_hash_key_file);
        if let Some(d) = c.mail.file_dir.as_mut() {
            abs(d);
        }
        for p in [
            &mut c.directory.ca_file,
            &mut c.mail.smtp_ca_file,
            &mut c.mail.smtp_password_file,
        ]
        .into_iter()
        .flatten()
        {
            abs(p);
        }
        c.check()?;
        Ok(c)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.directory.profile != "openldap" {
            return Err(invalid(
                "directory.profile",
                format!(
                    "unknown profile {:?} (supported: \"openldap\")",
                    self.directory.profile
                ),
            ));
        }
        let url = &self.directory.url;
        if !(url.starts_with("ldap://")
            || url.starts_with("ldaps://")
            || url.starts_with("ldapi://"))
        {
            return Err(invalid(
                "directory.url",
                format!("{url:?} must start with ldap://, ldaps:// or ldapi://"),
            ));
        }
        if url.starts_with("ldap://")
            && !self.directory.starttls
            && !is_loopback(url_host(url))
            && !self.directory.allow_insecure
        {
            return Err(invalid(
                "directory.url",
                format!("{url:?} would carry the bind password in clear over the network: use ldaps://, starttls = true, or (if you must) allow_insecure = true"),
            ));
        }
        for (key, dn) in [
            ("directory.bind_dn", &self.directory.bind_dn),
            ("directory.people_base", &self.directory.people_base),
            ("directory.archive_base", &self.directory.archive_base),
        ] {
            if !dn.contains('=') {
                return Err(invalid(key, format!("{dn:?} is not a DN")));
            }
        }
        let d = &self.accounts.domain;
        if d.is_empty()
            || !d.contains('.')
            || !d
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        {
            return Err(invalid(
                "accounts.domain",
                format!("{d:?} is not a domain name"),
            ));
        }
        if self.mail.transport == Transport::Smtp {
            let url =
                self.mail.smtp_url.as_deref().ok_or_else(|| {
                    invalid("mail.smtp_url", "required when transport = \"smtp\"")
                })?;
            let (host, _) = parse_smtp_url(url)?;
            if self.mail.smtp_user.is_some() != self.mail.smtp_password_file.is_some() {
                return Err(invalid(
                    "mail.smtp_user",
                    "smtp_user and smtp_password_file go together",
                ));
            }
            if self.mail.smtp_user.is_some()
                && self.smtp_tls() == SmtpTls::None
                && !is_loopback(&host)
                && !self.mail.allow_insecure
            {
                return Err(invalid(
                    "mail.smtp_tls",
                    "SMTP authentication without TLS to another machine would send the password in clear: set smtp_tls, or allow_insecure = true",
                ));
            }
        }
        self.mail
            .from
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| invalid("mail.from", e.to_string()))?;
        self.mail
            .default_recipient
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| invalid("mail.default_recipient", e.to_string()))?;
        for (unit, addr) in &self.mail.units {
            addr.parse::<lettre::message::Mailbox>()
                .map_err(|e| invalid("mail.units", format!("address of {unit:?}: {e}")))?;
        }
        if self.inbox.settle_ms > 3_600_000 {
            return Err(invalid("inbox.settle_ms", "more than an hour"));
        }
        Ok(())
    }

    /// Where `.eml` files go with the `file` transport.
    pub fn mail_file_dir(&self) -> PathBuf {
        self.mail
            .file_dir
            .clone()
            .unwrap_or_else(|| self.inbox.state_dir.join("mail"))
    }

    /// Local parts that are never issued: the configured ones and those of
    /// every address in `[mail]` that lies in our domain.
    pub fn reserved_addresses(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .accounts
            .reserved
            .iter()
            .map(|r| r.to_ascii_lowercase())
            .collect();
        let suffix = format!("@{}", self.accounts.domain.to_ascii_lowercase());
        let addrs = std::iter::once(&self.mail.from)
            .chain(std::iter::once(&self.mail.default_recipient))
            .chain(self.mail.units.values());
        for a in addrs {
            if let Ok(m) = a.parse::<lettre::message::Mailbox>() {
                let email = m.email.to_string().to_ascii_lowercase();
                if let Some(local) = email.strip_suffix(&suffix) {
                    out.push(local.to_string());
                }
            }
        }
        out
    }
}

impl Config {
    /// The TLS mode for the relay (`smtps://` implies implicit TLS).
    pub fn smtp_tls(&self) -> SmtpTls {
        match self.mail.smtp_url.as_deref() {
            Some(u) if u.starts_with("smtps://") => SmtpTls::Tls,
            _ => self.mail.smtp_tls,
        }
    }
}

/// `smtp://host[:port]` or `smtps://host[:port]` → (host, port).
pub fn parse_smtp_url(url: &str) -> Result<(String, u16), ConfigError> {
    let (rest, default_port) = match (url.strip_prefix("smtp://"), url.strip_prefix("smtps://")) {
        (Some(r), _) => (r, 25),
        (_, Some(r)) => (r, 465),
        _ => {
            return Err(invalid(
                "mail.smtp_url",
                format!("{url:?} must start with smtp:// or smtps://"),
            ))
        }
    };
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse()
                .map_err(|_| invalid("mail.smtp_url", format!("bad port in {url:?}")))?,
        ),
        None => (rest, default_port),
    };
    if host.is_empty() {
        return Err(invalid("mail.smtp_url", format!("no host in {url:?}")));
    }
    Ok((host.to_string(), port))
}

/// A secrets file others may read is a leak waiting to happen: say so.
fn warn_if_readable_by_others(key: &str, path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata(path) {
        if m.permissions().mode() & 0o077 != 0 {
            tracing::warn!(key, path = %path.display(), mode = format!("{:o}", m.permissions().mode() & 0o777), "secrets file is readable by group or others; chmod 600 it");
        }
    }
}

/// Secrets read from the files the config names.
pub struct Secrets {
    /// LDAP bind password.
    pub bind_password: SecretString,
    /// SMTP password, when the relay wants authentication.
    pub smtp_password: Option<SecretString>,
    /// Key of the ID-number HMAC.
    pub id_hash_key: SecretBox<Vec<u8>>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(..)")
    }
}

impl Secrets {
    pub fn load(config: &Config) -> Result<Secrets, ConfigError> {
        let read = |key: &'static str, path: &Path| {
            if path.to_string_lossy().contains("${CREDENTIALS_DIRECTORY}") {
                return Err(invalid(
                    key,
                    "names ${CREDENTIALS_DIRECTORY}, but mailprov was not started with systemd credentials",
                ));
            }
            warn_if_readable_by_others(key, path);
            std::fs::read(path).map_err(|source| ConfigError::Secret {
                key,
                path: path.into(),
                source,
            })
        };
        let pw = read(
            "directory.bind_password_file",
            &config.directory.bind_password_file,
        )?;
        let pw = String::from_utf8(pw)
            .map_err(|_| invalid("directory.bind_password_file", "the file is not UTF-8 text"))?;
        let pw = pw.trim_end_matches(['\n', '\r']).to_string();
        let key = read(
            "accounts.id_hash_key_file",
            &config.accounts.id_hash_key_file,
        )?;
        if key.len() < 16 {
            return Err(invalid(
                "accounts.id_hash_key_file",
                "the key must be at least 16 bytes",
            ));
        }
        let smtp_password = match &config.mail.smtp_password_file {
            Some(path) => {
                let pw = read("mail.smtp_password_file", path)?;
                let pw = String::from_utf8(pw).map_err(|_| {
                    invalid("mail.smtp_password_file", "the file is not UTF-8 text")
                })?;
                Some(SecretString::from(
                    pw.trim_end_matches(['\n', '\r']).to_string(),
                ))
            }
            None => None,
        };
        Ok(Secrets {
            bind_password: SecretString::from(pw),
            smtp_password,
            id_hash_key: SecretBox::new(Box::new(key)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[inbox]
dir = "inbox"
state_dir = "/var/lib/mailprov"

[directory]
url = "ldap://127.0.0.1:389"
bind_dn = "cn=admin,dc=bacninh,dc=gov,dc=vn"
bind_password_file = "ldap.secret"
people_base = "ou=people,dc=bacninh,dc=gov,dc=vn"
archive_base = "ou=archive,dc=bacninh,dc=gov,dc=vn"

[accounts]
domain = "bacninh.gov.vn"
id_hash_key_file = "/etc/mailprov/id.key"

[mail]
transport = "smtp"
smtp_url = "smtp://127.0.0.1:2525"
from = "Phòng Văn hóa và Thông tin <vhtt@bacninh.gov.vn>"
default_recipient = "vhtt@bacninh.gov.vn"

[mail.units]
"Phòng Tài nguyên và Môi trường" = "tnmt@bacninh.gov.vn"
"#;

    #[test]
    fn parses_and_resolves_relative_paths() {
        let c = Config::parse(GOOD, Path::new("/etc/mailprov")).unwrap();
        assert_eq!(c.inbox.dir, Path::new("/etc/mailprov/inbox"));
        assert_eq!(c.inbox.state_dir, Path::new("/var/lib/mailprov"));
        assert_eq!(c.inbox.settle_ms, 2000);
        assert_eq!(c.directory.profile, "openldap");
        assert_eq!(
            parse_smtp_url(c.mail.smtp_url.as_deref().unwrap()).unwrap(),
            ("127.0.0.1".into(), 2525)
        );
        let reserved = c.reserved_addresses();
        assert!(reserved.contains(&"vhtt".to_string()) && reserved.contains(&"tnmt".to_string()));
    }

    #[test]
    fn clear_passwords_to_other_machines_need_an_explicit_yes() {
        let remote = GOOD.replace("ldap://127.0.0.1:389", "ldap://ldap.bacninh.gov.vn:389");
        let e = Config::parse(&remote, Path::new("/")).unwrap_err();
        assert!(e.to_string().contains("in clear"), "{e}");
        for ok in ["starttls = true", "allow_insecure = true"] {
            let text = remote.replace("[directory]", &format!("[directory]\n{ok}"));
            assert!(Config::parse(&text, Path::new("/")).is_ok(), "{ok}");
        }
        let ldaps = GOOD.replace("ldap://127.0.0.1:389", "ldaps://ldap.bacninh.gov.vn");
        assert!(Config::parse(&ldaps, Path::new("/")).is_ok());
        // SMTP authentication likewise.
        let smtp = GOOD
            .replace("smtp://127.0.0.1:2525", "smtp://relay.bacninh.gov.vn:587")
            .replace(
                "[mail]",
                "[mail]\nsmtp_user = \"mailprov\"\nsmtp_password_file = \"smtp.secret\"",
            );
        assert!(Config::parse(&smtp, Path::new("/")).is_err());
        let starttls = smtp.replace("[mail]", "[mail]\nsmtp_tls = \"starttls\"");
        let c = Config::parse(&starttls, Path::new("/")).unwrap();
        assert_eq!(c.smtp_tls(), SmtpTls::Starttls);
        let smtps = GOOD.replace("smtp://127.0.0.1:2525", "smtps://relay.bacninh.gov.vn");
        let c = Config::parse(&smtps, Path::new("/")).unwrap();
        assert_eq!(c.smtp_tls(), SmtpTls::Tls);
        assert_eq!(
            parse_smtp_url("smtps://relay.bacninh.gov.vn").unwrap().1,
            465
        );
    }

    #[test]
    fn unknown_keys_are_errors() {
        let text = GOOD.replace("[accounts]", "[accounts]\nbind_password = \"hunter2\"");
        let e = Config::parse(&text, Path::new("/")).unwrap_err();
        assert!(format!("{:#}", anyhow::Error::from(e)).contains("unknown field"));
    }

    #[test]
    fn smtp_needs_a_url_and_profile_must_be_known() {
        let text = GOOD.replace("smtp_url = \"smtp://127.0.0.1:2525\"", "");
        assert!(matches!(
            Config::parse(&text, Path::new("/")),
            Err(ConfigError::Invalid {
                key: "mail.smtp_url",
                ..
            })
        ));
        let text = GOOD.replace("[directory]", "[directory]\nprofile = \"zimbra\"");
        assert!(matches!(
            Config::parse(&text, Path::new("/")),
            Err(ConfigError::Invalid {
                key: "directory.profile",
                ..
            })
        ));
    }

    #[test]
    fn systemd_credentials_folder_in_secret_paths() {
        let text = GOOD.replace(
            "bind_password_file = \"ldap.secret\"",
            "bind_password_file = \"${CREDENTIALS_DIRECTORY}/ldap.secret\"",
        );
        std::env::set_var("CREDENTIALS_DIRECTORY", "/run/credentials/mailprov.service");
        let c = Config::parse(&text, Path::new("/etc/mailprov")).unwrap();
        std::env::remove_var("CREDENTIALS_DIRECTORY");
        assert_eq!(
            c.directory.bind_password_file,
            Path::new("/run/credentials/mailprov.service/ldap.secret")
        );
        // Without systemd, the path is refused with a reason, not read.
        let c = Config::parse(&text, Path::new("/etc/mailprov")).unwrap();
        let e = Secrets::load(&c).unwrap_err();
        assert!(
            e.to_string().contains("directory.bind_password_file"),
            "{e}"
        );
    }

    #[test]
    fn allowed_owners_by_name_or_uid() {
        let text = GOOD.replace(
            "state_dir = \"/var/lib/mailprov\"",
            "state_dir = \"/var/lib/mailprov\"\nallowed_owners = [\"root\", 1234]",
        );
        let c = Config::parse(&text, Path::new("/")).unwrap();
        assert_eq!(c.inbox.allowed_owner_uids().unwrap(), vec![0, 1234]);
        let text = GOOD.replace(
            "state_dir = \"/var/lib/mailprov\"",
            "state_dir = \"/var/lib/mailprov\"\nallowed_owners = [\"no-such-user-here\"]",
        );
        let c = Config::parse(&text, Path::new("/")).unwrap();
        assert!(c.inbox.allowed_owner_uids().is_err());
    }

    #[test]
    fn missing_secret_file_names_the_key() {
        let c = Config::parse(GOOD, Path::new("/nonexistent")).unwrap();
        let e = Secrets::load(&c).unwrap_err();
        assert!(
            e.to_string().contains("directory.bind_password_file"),
            "{e}"
        );
    }
}
