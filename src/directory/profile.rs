//! Attribute names and values of a mail stack. Only OpenLDAP's is built in;
//! the pipeline reads every name from here, never from literals, so other
//! stacks are a matter of another `Profile`.

/// The attribute set of one mail stack.
#[derive(Clone, Debug)]
pub struct Profile {
    /// Object classes of a new account.
    pub object_classes: &'static [&'static str],
    /// Attribute that holds every address delivering to the account.
    pub alias_attr: &'static str,
    /// Attribute that holds the keyed hash of the ID number.
    pub id_hash_attr: &'static str,
    /// Attribute and value that lock an account.
    pub lock_attr: &'static str,
    /// The lock value (ppolicy: a time in the past locks for good).
    pub lock_value: &'static str,
    /// Attribute and value that force a password change at next login.
    pub reset_attr: &'static str,
    /// The value that forces the change.
    pub reset_value: &'static str,
}

impl Profile {
    /// OpenLDAP with the ppolicy overlay (DESIGN.md, profile `openldap`).
    pub const OPENLDAP: Profile = Profile {
        object_classes: &["inetOrgPerson", "inetLocalMailRecipient"],
        alias_attr: "mailLocalAddress",
        id_hash_attr: "employeeNumber",
        lock_attr: "pwdAccountLockedTime",
        lock_value: "000001010000Z",
        reset_attr: "pwdReset",
        reset_value: "TRUE",
    };

    pub fn by_name(name: &str) -> Option<Profile> {
        match name {
            "openldap" => Some(Profile::OPENLDAP),
            _ => None,
        }
    }
}
