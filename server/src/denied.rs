//! `Denied`: why an operation below the HTTP handlers (accounts and logins, admin work,
//! roster imports) did not happen. Either a refusal the caller can act on (its kind, a
//! stable code, both messages), or a failure of the store or of the server itself. No
//! HTTP here: `error.rs` gives each kind its status at the edge and logs failures
//! there, once; the CLI prints the messages.

use crate::store::StoreError;
use shared::api::ErrorCode;

/// What kind of refusal: the edge maps each to one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The input breaks a rule (a bad login, a weak password, a malformed area).
    Invalid,
    /// The login or password is wrong.
    WrongCredentials,
    /// The caller may not do this.
    Forbidden,
    /// No such thing (or not in the caller's scope: one answer for both).
    NotFound,
    /// The state does not allow it now (exists already, changed since, disabled).
    Conflict,
    /// Too many wrong passwords: try again later.
    Locked,
    /// Well-formed, but the data it leads to breaks the document layout.
    Unprocessable,
}

/// Why an operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum Denied {
    /// Refused, with a stable code and a message in both languages.
    #[error("{en} ({zh})")]
    Refused {
        /// What kind of refusal.
        kind: Kind,
        /// Stable machine-readable code.
        code: ErrorCode,
        /// 中文说明.
        zh: String,
        /// English message.
        en: String,
        /// Seconds to wait ([`Kind::Locked`]).
        retry_after: Option<u64>,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something that should not happen did (hashing, a document that does not load).
    #[error("{0}")]
    Internal(String),
}

impl Denied {
    /// A refusal of `kind`.
    pub fn new(kind: Kind, code: ErrorCode, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Denied::Refused { kind, code, zh: zh.into(), en: en.into(), retry_after: None }
    }
    /// The input breaks a rule.
    pub fn invalid(code: ErrorCode, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(Kind::Invalid, code, zh, en)
    }
    /// The caller may not do this.
    pub fn forbidden(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(Kind::Forbidden, ErrorCode::Forbidden, zh, en)
    }
    /// `what` does not exist (or is outside the caller's scope).
    pub fn not_found(what: &str) -> Self {
        Self::new(Kind::NotFound, ErrorCode::NotFound, format!("未找到 {what}"), format!("{what} not found"))
    }
    /// A failure that is not the caller's doing.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Denied::Internal(cause.to_string())
    }
    /// The same refusal with `zh` and `en` put before its messages (which item of a
    /// list it is about); failures are left as they are.
    pub fn prefixed(self, zh: &str, en: &str) -> Self {
        match self {
            Denied::Refused { kind, code, zh: z, en: e, retry_after } => {
                Denied::Refused { kind, code, zh: format!("{zh}{z}"), en: format!("{en}{e}"), retry_after }
            }
            other => other,
        }
    }
}

/// A result of an operation below the handlers.
pub type DeniedResult<T> = Result<T, Denied>;
