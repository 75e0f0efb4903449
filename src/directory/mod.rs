//! The directory stage: the [`Directory`] handler trait the pipeline talks
//! to, and its LDAP backend. Domain types stay apart from `ldap3`.

mod ldap;
mod profile;

pub use ldap::{LdapDirectory, LdapSettings};
pub use profile::Profile;

use crate::model::Snapshot;
use crate::plan::Operation;

/// LDAP result codes mailprov looks at by name.
pub mod rc {
    pub const SUCCESS: u32 = 0;
    pub const NO_SUCH_ATTRIBUTE: u32 = 16;
    pub const ATTRIBUTE_OR_VALUE_EXISTS: u32 = 20;
    pub const NO_SUCH_OBJECT: u32 = 32;
    pub const BUSY: u32 = 51;
    pub const UNAVAILABLE: u32 = 52;
    pub const ENTRY_ALREADY_EXISTS: u32 = 68;
    pub const OTHER: u32 = 80;

    /// RFC 4511 name of a result code, for messages.
    pub fn name(rc: u32) -> &'static str {
        match rc {
            0 => "success",
            1 => "operationsError",
            2 => "protocolError",
            3 => "timeLimitExceeded",
            4 => "sizeLimitExceeded",
            16 => "noSuchAttribute",
            17 => "undefinedAttributeType",
            19 => "constraintViolation",
            20 => "attributeOrValueExists",
            21 => "invalidAttributeSyntax",
            32 => "noSuchObject",
            34 => "invalidDNSyntax",
            48 => "inappropriateAuthentication",
            49 => "invalidCredentials",
            50 => "insufficientAccessRights",
            51 => "busy",
            52 => "unavailable",
            53 => "unwillingToPerform",
            64 => "namingViolation",
            65 => "objectClassViolation",
            66 => "notAllowedOnNonLeaf",
            67 => "notAllowedOnRDN",
            68 => "entryAlreadyExists",
            69 => "objectClassModsProhibited",
            80 => "other",
            _ => "unknown",
        }
    }
}

/// What went wrong talking to the directory. Result codes are kept.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("cannot connect to the directory at {url}")]
    Connect {
        url: String,
        #[source]
        source: Box<ldap3::LdapError>,
    },
    #[error("{op}: LDAP result {rc} ({name}){text}", name = rc::name(*rc), text = if text.is_empty() { String::new() } else { format!(": {text}") })]
    Result { op: String, rc: u32, text: String },
    #[error("{op}: connection to the directory failed")]
    Protocol {
        op: String,
        #[source]
        source: Box<ldap3::LdapError>,
    },
    #[error("{op}: {problem}")]
    Unexpected { op: String, problem: String },
}

impl DirectoryError {
    /// Worth trying again later (the server is down, busy or the connection
    /// broke), as opposed to a request the server will always refuse.
    pub fn is_transient(&self) -> bool {
        match self {
            DirectoryError::Connect { .. } | DirectoryError::Protocol { .. } => true,
            DirectoryError::Result { rc, .. } => matches!(*rc, rc::BUSY | rc::UNAVAILABLE | 3),
            DirectoryError::Unexpected { .. } => false,
        }
    }

    /// The LDAP result code, when the server gave one.
    pub fn result_code(&self) -> Option<u32> {
        match self {
            DirectoryError::Result { rc, .. } => Some(*rc),
            _ => None,
        }
    }
}

/// How an operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The change was made now.
    Done,
    /// The directory already showed the operation's effect (a replay).
    AlreadyDone,
}

/// What the pipeline needs from a directory. The LDAP backend implements
/// it; planning never sees it.
#[allow(async_fn_in_trait)]
pub trait Directory {
    /// Every account, live and archived.
    async fn snapshot(&mut self) -> Result<Snapshot, DirectoryError>;

    /// Starts an all-or-nothing transaction if the server offers one (RFC
    /// 5805); `false` when it does not (operations then take effect one by
    /// one).
    async fn begin(&mut self) -> Result<bool, DirectoryError>;

    /// Makes every operation since `begin` take effect, or none of them.
    async fn commit(&mut self) -> Result<(), DirectoryError>;

    /// Drops every operation since `begin`.
    async fn abort(&mut self) -> Result<(), DirectoryError>;

    /// Carries out one operation. `password_hash` is the `userPassword`
    /// value of a new account (already hashed). Each operation checks its
    /// own effect first, so applying it twice is safe.
    async fn apply(
        &mut self,
        op: &Operation,
        password_hash: Option<&str>,
    ) -> Result<Applied, DirectoryError>;
}
