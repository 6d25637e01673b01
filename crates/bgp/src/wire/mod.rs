//! BGP-4 wire codec: framing, decode and encode of every message the edge speaks.
//!
//! Data flow: bytes from TCP → [`frame`] finds one whole message → [`Message::decode`] with the
//! session's negotiated [`Context`] → a typed [`Message`], or a [`DecodeError`] that names the
//! NOTIFICATION it causes (RFC 4271 §6) or, for UPDATE attribute errors, the RFC 7606 action
//! (treat-as-withdraw, attribute discard) recorded on the decoded [`Update`] instead of failing.
//!
//! Encoding goes the other way with [`Message::encode`]; [`pack`] writes many prefixes into
//! UPDATEs that each fit in a message, as the speaker's export does. Reading wire input uses bounds-checked
//! accessors only: a malformed message is an error value, never a panic.

mod attr;
mod codec;
mod error;
mod message;
pub mod pack;

pub use attr::*;
pub use codec::{encode_path_attributes, encoded_prefix_len, put_prefix};
pub use error::*;
pub use message::*;

/// Every BGP message starts with a 16-byte all-ones marker (RFC 4271 §4.1).
pub const MARKER: [u8; 16] = [0xff; 16];
/// Header length: marker, length, type.
pub const HEADER_LEN: usize = 19;
/// Largest message without RFC 8654 extended messages.
pub const MAX_MESSAGE_LEN: usize = 4096;

/// What the session negotiated that changes how bytes are read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    /// Both sides advertised the four-octet AS capability (RFC 6793): AS_PATH carries 4-byte
    /// ASNs and AS4_PATH / AS4_AGGREGATOR are not used.
    pub four_octet_as: bool,
}

impl Default for Context {
    fn default() -> Self {
        Self {
            four_octet_as: true,
        }
    }
}

/// Finds the length of the first whole message in `buf`.
///
/// `Ok(None)` means more bytes are needed ("incomplete" is not an error). A bad marker or a
/// length outside 19..=4096 is a Message Header Error (RFC 4271 §6.1).
pub fn frame(buf: &[u8]) -> Result<Option<usize>, DecodeError> {
    message::frame(buf)
}
