//! PROTOCOL.md §1: logging in and changing one's password.

use super::User;

/// `POST /api/login`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct LoginRequest {
    /// Login (账号).
    pub login: String,
    /// Password.
    pub password: String,
    /// A stable id of the device (phone install), `[A-Za-z0-9_.-]{1,32}`.
    pub device_id: String,
}

/// The answer to a good login.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct LoginOk {
    /// The bearer token: send as `Authorization: Bearer <token>`.
    pub token: String,
    /// Unix seconds after which the token is refused.
    pub expires_at: i64,
    /// Who logged in.
    pub user: User,
}

/// `POST /api/password`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct PasswordChange {
    /// The current password.
    pub old: String,
    /// The new one.
    pub new: String,
}
