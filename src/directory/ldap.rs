//! LDAP backend of [`Directory`] (`ldap3`). Every value in a DN is escaped
//! by the planner (`dn_escape`); every value in a filter here with
//! `ldap_escape`.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapResult, Mod, Scope, SearchEntry};
use secrecy::{ExposeSecret, SecretString};

use super::{rc, Applied, Directory, DirectoryError, Profile};
use crate::model::{Account, Snapshot};
use crate::plan::{AccountChange, NewAccount, Operation};

/// A bound connection to the directory.
pub struct LdapDirectory {
    /// The connection updates go over (inside a transaction, when one is
    /// open); driven by a spawned task.
    ldap: Ldap,
    /// A second connection for every read: reads never go over a
    /// connection with an open transaction (Debian's slapd 2.5 was seen to
    /// crash at End Transaction after interleaved searches), and they see
    /// the committed state, which is what the checks before each update
    /// need.
    reader: Ldap,
    /// Attribute names of the mail stack.
    profile: Profile,
    /// Live accounts are searched here.
    people_base: String,
    /// Archived accounts are searched here.
    archive_base: String,
    /// Our mail domain, to turn addresses into local parts.
    domain: String,
    /// Limit for each operation.
    timeout: Duration,
    /// The open RFC 5805 transaction's identifier: while set, every update
    /// carries the Transaction Specification control and takes effect only
    /// at commit.
    txn: Option<Vec<u8>>,
}

/// RFC 5805 object identifiers.
const START_TXN: &str = "1.3.6.1.1.21.1";
const TXN_SPEC: &str = "1.3.6.1.1.21.2";
const END_TXN: &str = "1.3.6.1.1.21.3";

/// BER of `SEQUENCE { commit BOOLEAN DEFAULT TRUE, identifier OCTET STRING }`
/// (End Transaction request value).
fn end_txn_value(commit: bool, id: &[u8]) -> Vec<u8> {
    fn len(n: usize) -> Vec<u8> {
        if n < 0x80 {
            vec![n as u8]
        } else {
            let bytes: Vec<u8> = n
                .to_be_bytes()
                .into_iter()
                .skip_while(|b| *b == 0)
                .collect();
            std::iter::once(0x80 | bytes.len() as u8)
                .chain(bytes)
                .collect()
        }
    }
    let mut inner = Vec::new();
    if !commit {
        inner.extend_from_slice(&[0x01, 0x01, 0x00]);
    }
    inner.push(0x04);
    inner.extend(len(id.len()));
    inner.extend_from_slice(id);
    let mut out = vec![0x30];
    out.extend(len(inner.len()));
    out.extend(inner);
    out
}

/// Where to connect and how.
pub struct LdapSettings<'a> {
    /// `ldap://host:port` or `ldapi://…`.
    pub url: &'a str,
    /// Who mailprov binds as.
    pub bind_dn: &'a str,
    /// Its password, exposed only to the bind request.
    pub bind_password: &'a SecretString,
    /// Base of live accounts.
    pub people_base: &'a str,
    /// Base of archived accounts.
    pub archive_base: &'a str,
    /// Our mail domain.
    pub domain: &'a str,
    /// Attribute names of the mail stack.
    pub profile: Profile,
    /// Limit for connecting and for each operation.
    pub timeout: Duration,
    /// Upgrade `ldap://` with StartTLS before binding.
    pub starttls: bool,
    /// CA certificates (PEM) to trust instead of the system's.
    pub ca_pem: Option<&'a [u8]>,
}

fn check(op: &str, res: LdapResult) -> Result<LdapResult, DirectoryError> {
    if res.rc == rc::SUCCESS {
        Ok(res)
    } else {
        Err(DirectoryError::Result {
            op: op.to_string(),
            rc: res.rc,
            text: res.text,
        })
    }
}

fn proto(op: &str) -> impl FnOnce(ldap3::LdapError) -> DirectoryError + '_ {
    move |source| match source {
        ldap3::LdapError::LdapResult { result } => DirectoryError::Result {
            op: op.to_string(),
            rc: result.rc,
            text: result.text,
        },
        source => DirectoryError::Protocol {
            op: op.to_string(),
            source: Box::new(source),
        },
    }
}

fn set(values: &[&str]) -> HashSet<String> {
    values.iter().map(|v| v.to_string()).collect()
}

/// The RDN of a DN as written (`uid=annv,ou=…` → `uid=annv`). Our DNs
/// are built by the planner with `dn_escape`, so an escaped comma (`\2c`)
/// never splits a value.
fn rdn_of(dn: &str) -> String {
    dn.split(',').next().unwrap_or("").to_string()
}

impl LdapDirectory {
    pub async fn connect(s: LdapSettings<'_>) -> Result<LdapDirectory, DirectoryError> {
        let mut settings = LdapConnSettings::new().set_conn_timeout(s.timeout);
        if s.url.starts_with("ldaps://") || s.starttls {
            // The server's certificate is checked against the CA and its
            // name against the URL's host (native-tls always does both).
            let tls_error = |problem: String| DirectoryError::Unexpected {
                op: "set up TLS".into(),
                problem,
            };
            let mut builder = native_tls::TlsConnector::builder();
            if let Some(pem) = s.ca_pem {
                let ca = native_tls::Certificate::from_pem(pem)
                    .map_err(|e| tls_error(format!("bad CA certificate: {e}")))?;
                builder.add_root_certificate(ca);
            }
            let connector = builder.build().map_err(|e| tls_error(e.to_string()))?;
            settings = settings
                .set_connector(connector)
                .set_starttls(s.starttls && s.url.starts_with("ldap://"));
        }
        let ldap = Self::open(settings.clone(), &s).await?;
        let reader = Self::open(settings, &s).await?;
        Ok(LdapDirectory {
            ldap,
            reader,
            profile: s.profile,
            people_base: s.people_base.to_string(),
            archive_base: s.archive_base.to_string(),
            domain: s.domain.to_ascii_lowercase(),
            timeout: s.timeout,
            txn: None,
        })
    }

    /// One bound connection.
    async fn open(
        settings: LdapConnSettings,
        s: &LdapSettings<'_>,
    ) -> Result<Ldap, DirectoryError> {
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, s.url)
            .await
            .map_err(|source| DirectoryError::Connect {
                url: s.url.to_string(),
                source: Box::new(source),
            })?;
        ldap3::drive!(conn);
        let res = ldap
            .with_timeout(s.timeout)
            .simple_bind(s.bind_dn, s.bind_password.expose_secret())
            .await
            .map_err(|source| DirectoryError::Connect {
                url: s.url.to_string(),
                source: Box::new(source),
            })?;
        check("bind", res)?;
        Ok(ldap)
    }

    pub async fn close(mut self) {
        let _ = self.reader.unbind().await;
        let _ = self.ldap.unbind().await;
    }

    fn local(&self, address: &str) -> Option<String> {
        let a = address.trim().to_ascii_lowercase();
        match a.rsplit_once('@') {
            Some((l, d)) if d == self.domain => Some(l.to_string()),
            Some(_) => None,
            None => Some(a),
        }
    }

    async fn search_accounts(
        &mut self,
        base: &str,
        archived: bool,
    ) -> Result<Vec<Account>, DirectoryError> {
        let p = &self.profile;
        let attrs = vec![
            "uid",
            "mail",
            p.alias_attr,
            "cn",
            "title",
            "ou",
            p.id_hash_attr,
            p.lock_attr,
        ];
        let adapters: Vec<Box<dyn Adapter<_, _>>> = vec![
            Box::new(EntriesOnly::new()),
            Box::new(PagedResults::new(500)),
        ];
        let op = format!("search {base}");
        let mut stream = self
            .reader
            .with_timeout(self.timeout)
            .streaming_search_with(adapters, base, Scope::OneLevel, "(uid=*)", attrs)
            .await
            .map_err(proto(&op))?;
        let mut accounts = Vec::new();
        while let Some(entry) = stream.next().await.map_err(proto(&op))? {
            let e = SearchEntry::construct(entry);
            accounts.push(self.account_of(e, archived));
        }
        let res = stream.finish().await;
        if res.rc == rc::NO_SUCH_OBJECT {
            return Err(DirectoryError::Unexpected {
                op,
                problem: "the base entry does not exist".into(),
            });
        }
        check(&op, res)?;
        Ok(accounts)
    }

    fn account_of(&self, e: SearchEntry, archived: bool) -> Account {
        let first = |attrs: &HashMap<String, Vec<String>>, a: &str| {
            attrs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(a))
                .and_then(|(_, v)| v.first().cloned())
        };
        let all = |attrs: &HashMap<String, Vec<String>>, a: &str| {
            attrs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(a))
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let uid = first(&e.attrs, "uid")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let mut addresses: Vec<String> = Vec::new();
        for a in all(&e.attrs, "mail")
            .iter()
            .chain(all(&e.attrs, self.profile.alias_attr).iter())
        {
            if let Some(l) = self.local(a) {
                if !addresses.contains(&l) {
                    addresses.push(l);
                }
            }
        }
        if !addresses.contains(&uid) {
            addresses.push(uid.clone());
        }
        Account {
            dn: e.dn,
            uid,
            addresses,
            full_name: first(&e.attrs, "cn").unwrap_or_default(),
            title: first(&e.attrs, "title").unwrap_or_default(),
            unit: first(&e.attrs, "ou").unwrap_or_default(),
            id_hash: first(&e.attrs, self.profile.id_hash_attr),
            locked: first(&e.attrs, self.profile.lock_attr).is_some(),
            archived,
        }
    }

    /// Reads one entry's attributes, `None` if it does not exist.
    async fn read(
        &mut self,
        dn: &str,
        attrs: &[&str],
    ) -> Result<Option<HashMap<String, Vec<String>>>, DirectoryError> {
        let op = format!("read {dn}");
        let res = self
            .reader
            .with_timeout(self.timeout)
            .search(dn, Scope::Base, "(objectClass=*)", attrs.to_vec())
            .await
            .map_err(proto(&op))?;
        if res.1.rc == rc::NO_SUCH_OBJECT {
            return Ok(None);
        }
        let (entries, _) = res.success().map_err(proto(&op))?;
        Ok(entries
            .into_iter()
            .next()
            .map(|e| SearchEntry::construct(e).attrs))
    }

    /// The handle for an update: with the timeout, and inside a transaction
    /// with the Transaction Specification control (critical).
    fn update(&mut self) -> &mut Ldap {
        let txn = self.txn.clone();
        let ldap = self.ldap.with_timeout(self.timeout);
        match txn {
            Some(id) => ldap.with_controls(ldap3::controls::RawControl {
                ctype: TXN_SPEC.into(),
                crit: true,
                val: Some(id),
            }),
            None => ldap,
        }
    }

    /// Whether the server advertises RFC 5805 transactions in its root DSE.
    pub async fn supports_transactions(&mut self) -> Result<bool, DirectoryError> {
        let op = "read the root DSE";
        let (entries, _) = self
            .reader
            .with_timeout(self.timeout)
            .search(
                "",
                Scope::Base,
                "(objectClass=*)",
                vec!["supportedExtension"],
            )
            .await
            .map_err(proto(op))?
            .success()
            .map_err(proto(op))?;
        Ok(entries.into_iter().any(|e| {
            SearchEntry::construct(e)
                .attrs
                .get("supportedExtension")
                .is_some_and(|v| v.iter().any(|x| x == START_TXN) && v.iter().any(|x| x == END_TXN))
        }))
    }

    async fn end_transaction(&mut self, commit: bool) -> Result<(), DirectoryError> {
        let Some(id) = self.txn.take() else {
            return Ok(());
        };
        let op = if commit {
            "commit the transaction"
        } else {
            "abort the transaction"
        };
        let exop = ldap3::exop::Exop {
            name: Some(END_TXN.into()),
            val: Some(end_txn_value(commit, &id)),
        };
        let res = self
            .ldap
            .with_timeout(self.timeout)
            .extended(exop)
            .await
            .map_err(proto(op))?;
        check(op, res.1)?;
        Ok(())
    }

    async fn modify(
        &mut self,
        op: &str,
        dn: &str,
        mods: Vec<Mod<String>>,
    ) -> Result<LdapResult, DirectoryError> {
        self.update().modify(dn, mods).await.map_err(proto(op))
    }

    async fn create(
        &mut self,
        a: &NewAccount,
        password_hash: Option<&str>,
    ) -> Result<Applied, DirectoryError> {
        let op = format!("create {}", a.dn);
        let p = self.profile.clone();
        let hash = password_hash.ok_or_else(|| DirectoryError::Unexpected {
            op: op.clone(),
            problem: "no initial password given".into(),
        })?;
        // Check first, then act: a replay finds the entry already there.
        if let Some(existing) = self.read(&a.dn, &[p.id_hash_attr, p.lock_attr]).await? {
            return self.create_again(&op, a, hash, &existing).await;
        }
        let mail = format!("{}@{}", a.uid, self.domain);
        let mut attrs: Vec<(String, HashSet<String>)> = vec![
            ("objectClass".into(), set(p.object_classes)),
            ("uid".into(), set(&[&a.uid])),
            ("mail".into(), set(&[&mail])),
            (p.alias_attr.into(), set(&[&mail])),
            ("cn".into(), set(&[&a.full_name])),
            ("sn".into(), set(&[&a.family_name])),
            ("givenName".into(), set(&[&a.given_name])),
            ("displayName".into(), set(&[&a.full_name])),
            (p.id_hash_attr.into(), set(&[&a.id_hash])),
            ("userPassword".into(), set(&[hash])),
            (p.reset_attr.into(), set(&[p.reset_value])),
        ];
        if !a.title.is_empty() {
            attrs.push(("title".into(), set(&[&a.title])));
        }
        if !a.unit.is_empty() {
            attrs.push(("ou".into(), set(&[&a.unit])));
        }
        let res = self.update().add(&a.dn, attrs).await.map_err(proto(&op))?;
        check(&op, res)?;
        Ok(Applied::Done)
    }

    /// A create replayed (an interrupted attempt made the entry): the entry
    /// is ours only if it carries the same ID hash. It gets the new initial
    /// password (the first was never mailed) and the forced change again.
    /// ppolicy clears a lock on any password change, so a lock the account
    /// had is put back: a lock is a lock.
    async fn create_again(
        &mut self,
        op: &str,
        a: &NewAccount,
        hash: &str,
        existing: &HashMap<String, Vec<String>>,
    ) -> Result<Applied, DirectoryError> {
        let p = self.profile.clone();
        let has = |attr: &str| {
            existing
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(attr))
                .map(|(_, v)| v.clone())
        };
        let ours = has(p.id_hash_attr).is_some_and(|v| v.iter().any(|h| h == &a.id_hash));
        if !ours {
            return Err(DirectoryError::Result {
                op: op.to_string(),
                rc: rc::ENTRY_ALREADY_EXISTS,
                text: "the entry belongs to another person".into(),
            });
        }
        let lock = has(p.lock_attr);
        let mods = vec![
            Mod::Replace("userPassword".to_string(), set(&[hash])),
            Mod::Replace(p.reset_attr.to_string(), set(&[p.reset_value])),
        ];
        let res = self.modify(op, &a.dn, mods).await?;
        check(op, res)?;
        if let Some(values) = lock {
            let values: HashSet<String> = values.into_iter().collect();
            let res = self
                .modify(
                    op,
                    &a.dn,
                    vec![Mod::Replace(p.lock_attr.to_string(), values)],
                )
                .await?;
            check(op, res)?;
        }
        Ok(Applied::AlreadyDone)
    }

    async fn lock(&mut self, dn: &str) -> Result<Applied, DirectoryError> {
        let op = format!("lock {dn}");
        let p = self.profile.clone();
        let current = self.read(dn, &[p.lock_attr]).await?;
        let Some(current) = current else {
            return Err(DirectoryError::Result {
                op,
                rc: rc::NO_SUCH_OBJECT,
                text: String::new(),
            });
        };
        if current.keys().any(|k| k.eq_ignore_ascii_case(p.lock_attr)) {
            return Ok(Applied::AlreadyDone);
        }
        let res = self
            .modify(
                &op,
                dn,
                vec![Mod::Replace(p.lock_attr.to_string(), set(&[p.lock_value]))],
            )
            .await?;
        check(&op, res)?;
        Ok(Applied::Done)
    }

    async fn unlock(&mut self, dn: &str) -> Result<Applied, DirectoryError> {
        let op = format!("unlock {dn}");
        let p = self.profile.clone();
        // Check first: inside a transaction the server answers only at commit.
        let Some(current) = self.read(dn, &[p.lock_attr]).await? else {
            return Err(DirectoryError::Result {
                op,
                rc: rc::NO_SUCH_OBJECT,
                text: String::new(),
            });
        };
        if !current.keys().any(|k| k.eq_ignore_ascii_case(p.lock_attr)) {
            return Ok(Applied::AlreadyDone);
        }
        let res = self
            .modify(
                &op,
                dn,
                vec![Mod::Delete(p.lock_attr.to_string(), HashSet::new())],
            )
            .await?;
        check(&op, res)?;
        Ok(Applied::Done)
    }

    async fn archive(&mut self, dn: &str, new_dn: &str) -> Result<Applied, DirectoryError> {
        let op = format!("archive {dn}");
        if self.read(dn, &["1.1"]).await?.is_none() {
            if self.read(new_dn, &["1.1"]).await?.is_some() {
                // Moved already; make sure it is locked.
                self.lock(new_dn).await?;
                return Ok(Applied::AlreadyDone);
            }
            return Err(DirectoryError::Result {
                op,
                rc: rc::NO_SUCH_OBJECT,
                text: String::new(),
            });
        }
        self.lock(dn).await?;
        let archive_base = self.archive_base.clone();
        let res = self
            .update()
            .modifydn(dn, &rdn_of(dn), true, Some(&archive_base))
            .await
            .map_err(proto(&op))?;
        check(&op, res)?;
        Ok(Applied::Done)
    }

    async fn change(
        &mut self,
        dn: &str,
        change: &AccountChange,
    ) -> Result<Applied, DirectoryError> {
        let op = format!("modify {dn}");
        let p = self.profile.clone();
        let r = |a: &str, v: &str| Mod::Replace(a.to_string(), set(&[v]));
        let mods = match change {
            AccountChange::Name {
                full_name,
                family_name,
                given_name,
            } => vec![
                r("cn", full_name),
                r("displayName", full_name),
                r("sn", family_name),
                r("givenName", given_name),
            ],
            AccountChange::Title(t) if t.is_empty() => {
                vec![Mod::Replace("title".into(), HashSet::new())]
            }
            AccountChange::Title(t) => vec![r("title", t)],
            AccountChange::Unit(u) if u.is_empty() => {
                vec![Mod::Replace("ou".into(), HashSet::new())]
            }
            AccountChange::Unit(u) => vec![r("ou", u)],
            AccountChange::IdHash(h) => vec![r(p.id_hash_attr, h)],
        };
        let res = self.modify(&op, dn, mods).await?;
        check(&op, res)?;
        Ok(Applied::Done)
    }

    async fn rename(
        &mut self,
        dn: &str,
        new_uid: &str,
        new_dn: &str,
    ) -> Result<Applied, DirectoryError> {
        let op = format!("rename {dn}");
        let p = self.profile.clone();
        let mail = format!("{new_uid}@{}", self.domain);
        // Check first (the entry under its old or its new name), then act.
        let (applied, aliases) = if let Some(old) = self.read(dn, &[p.alias_attr]).await? {
            let res = self
                .update()
                .modifydn(dn, &rdn_of(new_dn), true, None)
                .await
                .map_err(proto(&op))?;
            check(&op, res)?;
            (Applied::Done, old)
        } else if let Some(new) = self.read(new_dn, &[p.alias_attr]).await? {
            (Applied::AlreadyDone, new)
        } else {
            return Err(DirectoryError::Result {
                op,
                rc: rc::NO_SUCH_OBJECT,
                text: String::new(),
            });
        };
        // The new address becomes the primary one; the old one stays an
        // alias (it has been one since the account was created).
        let res = self
            .modify(
                &op,
                new_dn,
                vec![Mod::Replace("mail".into(), set(&[&mail]))],
            )
            .await?;
        check(&op, res)?;
        let has_alias = aliases.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case(p.alias_attr) && v.iter().any(|a| a.eq_ignore_ascii_case(&mail))
        });
        if !has_alias {
            let res = self
                .modify(
                    &op,
                    new_dn,
                    vec![Mod::Add(p.alias_attr.to_string(), set(&[&mail]))],
                )
                .await?;
            check(&op, res)?;
        }
        Ok(applied)
    }
}

impl Directory for LdapDirectory {
    async fn begin(&mut self) -> Result<bool, DirectoryError> {
        if self.txn.is_some() || !self.supports_transactions().await? {
            return Ok(false);
        }
        let op = "start a transaction";
        let exop = ldap3::exop::Exop {
            name: Some(START_TXN.into()),
            val: None,
        };
        let res = self
            .ldap
            .with_timeout(self.timeout)
            .extended(exop)
            .await
            .map_err(proto(op))?;
        let (exop, res) = (res.0, res.1);
        check(op, res)?;
        // OpenLDAP 2.5 answers without a value through ldap3; an empty
        // identifier is then accepted on the updates and at the end.
        self.txn = Some(exop.val.unwrap_or_default());
        Ok(true)
    }

    async fn commit(&mut self) -> Result<(), DirectoryError> {
        self.end_transaction(true).await
    }

    async fn abort(&mut self) -> Result<(), DirectoryError> {
        self.end_transaction(false).await
    }

    async fn snapshot(&mut self) -> Result<Snapshot, DirectoryError> {
        let people = self.people_base.clone();
        let archive = self.archive_base.clone();
        let mut accounts = self.search_accounts(&people, false).await?;
        accounts.extend(self.search_accounts(&archive, true).await?);
        Ok(Snapshot { accounts })
    }

    async fn apply(
        &mut self,
        op: &Operation,
        password_hash: Option<&str>,
    ) -> Result<Applied, DirectoryError> {
        match op {
            Operation::Create(a) => self.create(a, password_hash).await,
            Operation::Lock { dn, .. } => self.lock(dn).await,
            Operation::Unlock { dn, .. } => self.unlock(dn).await,
            Operation::Archive { dn, new_dn, .. } => self.archive(dn, new_dn).await,
            Operation::Modify { dn, change, .. } => self.change(dn, change).await,
            Operation::Rename {
                dn,
                new_uid,
                new_dn,
                ..
            } => self.rename(dn, new_uid, new_dn).await,
        }
    }
}
