//! The all-or-nothing path at the directory level, against the real slapd:
//! what a transaction queues takes effect at commit or not at all.

mod common;

use std::time::Duration;

use common::*;
use mailprov::directory::{Directory, LdapDirectory, LdapSettings, Profile};
use mailprov::plan::{NewAccount, Operation};
use secrecy::SecretString;

fn account(uid: &str, hash: &str) -> Operation {
    Operation::Create(NewAccount {
        uid: uid.into(),
        dn: format!("uid={uid},{PEOPLE}"),
        full_name: "Lê Văn Giao".into(),
        family_name: "Lê".into(),
        given_name: "Giao".into(),
        title: "Chuyên viên".into(),
        unit: "Phòng Nội vụ".into(),
        id_hash: hash.into(),
    })
}

async fn connect(env: &Env, password: &SecretString) -> LdapDirectory {
    LdapDirectory::connect(LdapSettings {
        url: &env.slapd.url,
        bind_dn: &env.slapd.bind_dn,
        bind_password: password,
        people_base: PEOPLE,
        archive_base: ARCHIVE,
        domain: DOMAIN,
        profile: Profile::OPENLDAP,
        timeout: Duration::from_secs(10),
        starttls: false,
        ca_pem: None,
    })
    .await
    .unwrap()
}

#[test]
fn commit_applies_everything_abort_and_refusal_nothing() {
    let env = Env::new();
    // The harness's own LDAP checks are blocking; mailprov's directory is
    // async: each call gets its turn on this runtime.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let password = SecretString::from(env.slapd.password.clone());
    let hash = mailprov::password::hash_for_ldap(&mailprov::password::generate());
    let mut dir = rt.block_on(connect(&env, &password));
    let apply = |dir: &mut LdapDirectory, uid: &str, h: &str| {
        rt.block_on(dir.apply(&account(uid, h), Some(&hash)))
            .unwrap();
    };

    // Committed: both entries.
    assert!(
        rt.block_on(dir.begin()).unwrap(),
        "slapd advertises RFC 5805"
    );
    apply(&mut dir, "txa", "h-a");
    apply(&mut dir, "txb", "h-b");
    assert!(
        env.slapd.person("txa").is_none(),
        "nothing before the commit"
    );
    rt.block_on(dir.commit()).unwrap();
    assert!(env.slapd.person("txa").is_some() && env.slapd.person("txb").is_some());

    // Aborted: nothing.
    assert!(rt.block_on(dir.begin()).unwrap());
    apply(&mut dir, "txc", "h-c");
    rt.block_on(dir.abort()).unwrap();
    assert!(env.slapd.person("txc").is_none());

    // Refused at commit (the second add of txd finds it there): the server
    // applies none of the transaction, txe included.
    let before = env.slapd.dump();
    assert!(rt.block_on(dir.begin()).unwrap());
    apply(&mut dir, "txd", "h-d");
    apply(&mut dir, "txe", "h-e");
    apply(&mut dir, "txd", "h-other");
    let e = rt.block_on(dir.commit()).unwrap_err();
    assert_eq!(e.result_code(), Some(68), "{e}");
    assert_eq!(env.slapd.dump(), before, "all or nothing: nothing");
    rt.block_on(dir.close());
}
