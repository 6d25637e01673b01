//! Packing many prefixes into UPDATEs that each fit in [`MAX_MESSAGE_LEN`]: the helpers the
//! speaker's export uses to write UPDATEs directly into one buffer (headers backpatched,
//! prefix lists cut by their encoded size), and to cut that buffer into writes at message
//! boundaries.
//!
//! [`MAX_MESSAGE_LEN`]: super::MAX_MESSAGE_LEN

use bytes::{BufMut, BytesMut};

use super::{MARKER, MessageType, Prefix, encoded_prefix_len, frame};

/// An UPDATE's fixed part: header (19) + Withdrawn Routes Length (2) + Total Path Attribute
/// Length (2) (RFC 4271 §4.3).
pub const UPDATE_OVERHEAD: usize = 23;

/// Writes a BGP header for an UPDATE with a zero length, to be filled in by
/// [`finish_update`]; returns where the message starts.
pub fn begin_update(out: &mut BytesMut) -> usize {
    let start = out.len();
    out.extend_from_slice(&MARKER);
    out.put_u16(0);
    out.put_u8(MessageType::Update as u8);
    start
}

/// Backpatches the length of the UPDATE begun at `start` (callers keep it within
/// [`super::MAX_MESSAGE_LEN`] with [`chunks`]).
pub fn finish_update(out: &mut BytesMut, start: usize) {
    let len = u16::try_from(out.len() - start).unwrap_or(u16::MAX);
    if let Some(field) = out.get_mut(start + 16..start + 18) {
        field.copy_from_slice(&len.to_be_bytes());
    }
}

/// Splits `prefixes` into runs whose encoding fits in `room` octets each (a prefix longer
/// than `room` goes alone).
pub fn chunks(prefixes: &[Prefix], room: usize) -> Vec<&[Prefix]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut used = 0;
    for (i, p) in prefixes.iter().enumerate() {
        let l = encoded_prefix_len(p);
        if used + l > room && i > start {
            out.push(&prefixes[start..i]);
            start = i;
            used = 0;
        }
        used += l;
    }
    if start < prefixes.len() {
        out.push(&prefixes[start..]);
    }
    out
}

/// The length of the longest run of whole messages at the start of `bytes` that fits in
/// `limit` (at least one message; all of `bytes` if they do not frame).
pub fn message_boundary(bytes: &[u8], limit: usize) -> usize {
    let mut at = 0;
    while at < bytes.len() {
        let Ok(Some(len)) = frame(&bytes[at..]) else {
            return bytes.len();
        };
        if at > 0 && at + len > limit {
            break;
        }
        at += len;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Context, Message};

    fn p(s: &str) -> Prefix {
        Prefix::V4(s.parse().expect("prefix"))
    }

    #[test]
    fn chunks_never_exceed_their_room_and_keep_every_prefix_in_order() {
        let prefixes: Vec<Prefix> = (0..=255u8).map(|i| p(&format!("10.{i}.0.0/24"))).collect();
        let runs = chunks(&prefixes, 40);
        assert!(runs.iter().all(|r| r.len() * 4 <= 40), "{runs:?}");
        assert_eq!(runs.concat(), prefixes);
        assert_eq!(runs.len(), 256usize.div_ceil(10));
    }

    #[test]
    fn a_begun_and_finished_update_frames_as_one_whole_message() {
        let mut out = BytesMut::new();
        let start = begin_update(&mut out);
        out.put_u16(0);
        out.put_u16(0);
        finish_update(&mut out, start);
        assert_eq!(out.len(), UPDATE_OVERHEAD);
        assert_eq!(frame(&out).expect("frames"), Some(UPDATE_OVERHEAD));
        let decoded = Message::decode(&out, &Context::default()).expect("decodes");
        assert!(matches!(decoded, Message::Update(_)), "{decoded:?}");
    }

    #[test]
    fn message_boundaries_cut_between_whole_messages_only() {
        let mut out = BytesMut::new();
        for _ in 0..3 {
            Message::Keepalive.encode(&Context::default(), &mut out);
        }
        assert_eq!(message_boundary(&out, 40), 38, "two keepalives fit in 40");
        assert_eq!(message_boundary(&out, 5), 19, "at least one message");
        assert_eq!(message_boundary(&out, 1000), 57);
    }
}
