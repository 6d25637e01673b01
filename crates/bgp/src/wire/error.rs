//! Decode errors: each one names the NOTIFICATION that RFC 4271 §6 says to send.

use bytes::Bytes;

use super::Notification;

/// A message that cannot be accepted: the session sends `notification` and closes.
///
/// RFC 7606 errors that do not reset the session are not `DecodeError`s; they are recorded on
/// the decoded [`super::Update`] (`error_action`, `errors`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{notification}: {reason}")]
pub struct DecodeError {
    pub notification: Notification,
    /// What was wrong, for logs and the peer's last-error status.
    pub reason: String,
}

impl DecodeError {
    pub fn new(code: u8, subcode: u8, data: impl Into<Bytes>, reason: impl Into<String>) -> Self {
        Self {
            notification: Notification {
                code,
                subcode,
                data: data.into(),
            },
            reason: reason.into(),
        }
    }
}
