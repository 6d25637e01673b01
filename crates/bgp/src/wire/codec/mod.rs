//! The codec behind [`super::frame`], [`Message::decode`] and [`Message::encode`].
//!
//! Parts: this file frames, checks the header (RFC 4271 §4.1, §6.1) and handles the small
//! messages (NOTIFICATION, KEEPALIVE, ROUTE-REFRESH) plus the NLRI prefix encoding shared by
//! everything else; [`open`] does OPEN and its capabilities; [`update`] does the UPDATE layout
//! and MP_REACH / MP_UNREACH; [`attr`] does the other path attributes with RFC 7606 handling.
//!
//! Wire input is only read through [`Reader`], whose every accessor returns `Option`: a short
//! buffer is an error value, never a panic. Encoding writes straight into the caller's
//! `BytesMut` and backpatches lengths.

mod attr;
mod open;
mod update;

pub use attr::encode_path_attributes;

use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::{BufMut, BytesMut};
use ipnet::{Ipv4Net, Ipv6Net};

use super::{
    Context, DecodeError, HEADER_LEN, MARKER, MAX_MESSAGE_LEN, Message, MessageType, Notification,
    Prefix, RouteRefresh, error_code, header_subcode,
};

// ===== framing =====

/// Minimum lengths per message type, header included (RFC 4271 §4.2–4.5, RFC 2918 §3).
const OPEN_MIN_LEN: usize = 29;
const UPDATE_MIN_LEN: usize = 23;
const KEEPALIVE_LEN: usize = 19;
const NOTIFICATION_MIN_LEN: usize = 21;
const ROUTE_REFRESH_LEN: usize = 23;

/// Finds the first whole message: see [`super::frame`].
pub(super) fn frame(buf: &[u8]) -> Result<Option<usize>, DecodeError> {
    let mut r = Reader::new(buf);
    let (Some(marker), Some(len)) = (r.array::<16>(), r.u16()) else {
        return Ok(None);
    };
    if r.is_empty() {
        // The type octet has not arrived yet.
        return Ok(None);
    }
    check_marker_and_length(marker, len)?;
    let len = usize::from(len);
    Ok((buf.len() >= len).then_some(len))
}

/// RFC 4271 §6.1: "If the Marker field of the message header is not as expected, then a
/// synchronization error has occurred and the Error Subcode MUST be set to Connection Not
/// Synchronized." A length outside 19..=4096 is Bad Message Length "and the Data field MUST
/// contain the erroneous Length field".
fn check_marker_and_length(marker: [u8; 16], len: u16) -> Result<(), DecodeError> {
    if marker != MARKER {
        return Err(DecodeError::new(
            error_code::MESSAGE_HEADER,
            header_subcode::CONNECTION_NOT_SYNCHRONIZED,
            Vec::new(),
            "marker is not all ones",
        ));
    }
    let n = usize::from(len);
    if !(HEADER_LEN..=MAX_MESSAGE_LEN).contains(&n) {
        return Err(bad_length(len, format!("length {n} outside 19..=4096")));
    }
    Ok(())
}

fn bad_length(len: u16, reason: impl Into<String>) -> DecodeError {
    DecodeError::new(
        error_code::MESSAGE_HEADER,
        header_subcode::BAD_MESSAGE_LENGTH,
        len.to_be_bytes().to_vec(),
        reason,
    )
}

// ===== decode =====

/// Decodes one whole message, header included. The buffer must be exactly as long as the
/// header's Length field says (what [`frame`] returned).
pub(super) fn decode_message(buf: &[u8], cx: &Context) -> Result<Message, DecodeError> {
    let mut r = Reader::new(buf);
    let (Some(marker), Some(len), Some(kind)) = (r.array::<16>(), r.u16(), r.u8()) else {
        return Err(bad_length(
            u16::try_from(buf.len()).unwrap_or(u16::MAX),
            "shorter than the 19-octet header",
        ));
    };
    check_marker_and_length(marker, len)?;
    let n = usize::from(len);
    if n != buf.len() {
        return Err(bad_length(
            len,
            format!("length field {n} but {} octets given", buf.len()),
        ));
    }
    // RFC 4271 §6.1: the length must also fit the message type.
    let (ok, what) = match kind {
        1 => (n >= OPEN_MIN_LEN, "OPEN shorter than 29"),
        2 => (n >= UPDATE_MIN_LEN, "UPDATE shorter than 23"),
        3 => (n >= NOTIFICATION_MIN_LEN, "NOTIFICATION shorter than 21"),
        4 => (n == KEEPALIVE_LEN, "KEEPALIVE not 19 octets"),
        5 => (n == ROUTE_REFRESH_LEN, "ROUTE-REFRESH not 23 octets"),
        _ => {
            return Err(DecodeError::new(
                error_code::MESSAGE_HEADER,
                header_subcode::BAD_MESSAGE_TYPE,
                vec![kind],
                format!("unknown message type {kind}"),
            ));
        }
    };
    if !ok {
        return Err(bad_length(len, what));
    }
    let body = r.rest();
    match kind {
        1 => open::decode_open(body, n).map(Message::Open),
        2 => update::decode_update(body, cx).map(Message::Update),
        3 => Ok(Message::Notification(decode_notification(body))),
        4 => Ok(Message::Keepalive),
        _ => Ok(Message::RouteRefresh(decode_route_refresh(body))),
    }
}

/// NOTIFICATION body (RFC 4271 §4.5): code, subcode, data to the end. The caller checked the
/// two fixed octets are there.
fn decode_notification(body: &[u8]) -> Notification {
    let mut r = Reader::new(body);
    let code = r.u8().unwrap_or(0);
    let subcode = r.u8().unwrap_or(0);
    Notification {
        code,
        subcode,
        data: bytes::Bytes::copy_from_slice(r.rest()),
    }
}

/// ROUTE-REFRESH body (RFC 2918 §3): AFI (2), Reserved (1, the RFC 7313 subtype), SAFI (1).
fn decode_route_refresh(body: &[u8]) -> RouteRefresh {
    let mut r = Reader::new(body);
    let afi = r.u16().unwrap_or(0);
    let _subtype = r.u8();
    let safi = r.u8().unwrap_or(0);
    RouteRefresh {
        family: super::Family::from_afi_safi(afi, safi),
        afi,
        safi,
    }
}

// ===== encode =====

/// Appends `msg`, header included, to `out`.
pub(super) fn encode_message(msg: &Message, cx: &Context, out: &mut BytesMut) {
    let start = begin_message(out, message_type(msg));
    match msg {
        Message::Open(open) => open::encode_open(open, out),
        Message::Update(update) => update::encode_update(update, cx, out),
        Message::Notification(n) => {
            out.put_u8(n.code);
            out.put_u8(n.subcode);
            out.put_slice(&n.data);
        }
        Message::Keepalive => {}
        Message::RouteRefresh(rr) => {
            out.put_u16(rr.afi);
            out.put_u8(0);
            out.put_u8(rr.safi);
        }
    }
    finish_message(out, start);
}

fn message_type(msg: &Message) -> MessageType {
    match msg {
        Message::Open(_) => MessageType::Open,
        Message::Update(_) => MessageType::Update,
        Message::Notification(_) => MessageType::Notification,
        Message::Keepalive => MessageType::Keepalive,
        Message::RouteRefresh(_) => MessageType::RouteRefresh,
    }
}

/// Writes the header with a zero length; returns where the message starts.
fn begin_message(out: &mut BytesMut, kind: MessageType) -> usize {
    let start = out.len();
    out.reserve(HEADER_LEN);
    out.put_slice(&MARKER);
    out.put_u16(0);
    out.put_u8(kind as u8);
    start
}

/// Backpatches the header length. The codec does not split messages: callers keep UPDATEs
/// under 4096 octets (see [`encoded_prefix_len`]); a longer one is written with its true length
/// (saturated at 65535) and the peer will reject it.
fn finish_message(out: &mut BytesMut, start: usize) {
    let len = u16::try_from(out.len() - start).unwrap_or(u16::MAX);
    if let Some(field) = out.get_mut(start + 16..start + 18) {
        field.copy_from_slice(&len.to_be_bytes());
    }
}

/// Writes a 2-octet length at `at` covering everything written after `at + 2`.
pub(super) fn backpatch_u16(out: &mut BytesMut, at: usize) {
    let len = u16::try_from(out.len() - at - 2).unwrap_or(u16::MAX);
    if let Some(field) = out.get_mut(at..at + 2) {
        field.copy_from_slice(&len.to_be_bytes());
    }
}

// ===== prefixes =====

/// Octets one prefix takes in an NLRI or Withdrawn Routes field: the length octet plus
/// ceil(length / 8) address octets (RFC 4271 §4.3). The speaker uses it to pack UPDATEs under
/// 4096 octets.
pub fn encoded_prefix_len(p: &Prefix) -> usize {
    let bits = match p {
        Prefix::V4(n) => n.prefix_len(),
        Prefix::V6(n) => n.prefix_len(),
    };
    1 + usize::from(bits).div_ceil(8)
}

/// Reads one (length, prefix) pair of up to `N` address octets. Host bits beyond the length are
/// masked rather than rejected.
fn read_prefix<const N: usize>(r: &mut Reader<'_>) -> Result<([u8; N], u8), String> {
    let len = r.u8().ok_or("prefix length octet missing")?;
    let max = N * 8;
    if usize::from(len) > max {
        return Err(format!("prefix length {len} exceeds {max}"));
    }
    let n = usize::from(len).div_ceil(8);
    let bytes = r
        .take(n)
        .ok_or_else(|| format!("prefix /{len} overruns the field"))?;
    let mut addr = [0u8; N];
    if let Some(dst) = addr.get_mut(..n) {
        dst.copy_from_slice(bytes);
    }
    Ok((addr, len))
}

fn read_v4_prefix(r: &mut Reader<'_>) -> Result<Ipv4Net, String> {
    let (addr, len) = read_prefix::<4>(r)?;
    Ipv4Net::new(Ipv4Addr::from(addr), len)
        .map(|n| n.trunc())
        .map_err(|e| e.to_string())
}

fn read_v6_prefix(r: &mut Reader<'_>) -> Result<Ipv6Net, String> {
    let (addr, len) = read_prefix::<16>(r)?;
    Ipv6Net::new(Ipv6Addr::from(addr), len)
        .map(|n| n.trunc())
        .map_err(|e| e.to_string())
}

/// An IPv4 NLRI or Withdrawn Routes field.
pub(super) fn read_v4_prefixes(buf: &[u8]) -> Result<Vec<Ipv4Net>, String> {
    let mut r = Reader::new(buf);
    let mut out = Vec::with_capacity(buf.len() / 4);
    while !r.is_empty() {
        out.push(read_v4_prefix(&mut r)?);
    }
    Ok(out)
}

/// The NLRI of an MP_REACH / MP_UNREACH of `family`.
pub(super) fn read_prefixes(buf: &[u8], family: super::Family) -> Result<Vec<Prefix>, String> {
    let mut r = Reader::new(buf);
    let mut out = Vec::with_capacity(buf.len() / 4);
    while !r.is_empty() {
        out.push(match family {
            super::Family::Ipv4Unicast => Prefix::V4(read_v4_prefix(&mut r)?),
            super::Family::Ipv6Unicast => Prefix::V6(read_v6_prefix(&mut r)?),
        });
    }
    Ok(out)
}

pub(super) fn put_v4_prefix(out: &mut BytesMut, p: &Ipv4Net) {
    let n = usize::from(p.prefix_len()).div_ceil(8);
    out.put_u8(p.prefix_len());
    out.put_slice(p.network().octets().get(..n).unwrap_or_default());
}

/// Appends one prefix as NLRI / withdrawn-routes encoding (length octet, then the octets).
pub fn put_prefix(out: &mut BytesMut, p: &Prefix) {
    match p {
        Prefix::V4(p) => put_v4_prefix(out, p),
        Prefix::V6(p) => {
            let n = usize::from(p.prefix_len()).div_ceil(8);
            out.put_u8(p.prefix_len());
            out.put_slice(p.network().octets().get(..n).unwrap_or_default());
        }
    }
}

// ===== Reader =====

/// A bounds-checked cursor over wire bytes: every read returns `None` when the bytes are not
/// there, and consumes nothing in that case.
#[derive(Debug, Clone, Copy)]
pub(super) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    pub(super) fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Peeks at the next octet without consuming it.
    pub(super) fn peek(&self) -> Option<u8> {
        self.buf.first().copied()
    }

    pub(super) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.buf.split_at_checked(n)?;
        self.buf = tail;
        Some(head)
    }

    pub(super) fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, tail) = self.buf.split_first_chunk::<N>()?;
        self.buf = tail;
        Some(*head)
    }

    pub(super) fn u8(&mut self) -> Option<u8> {
        let (&b, tail) = self.buf.split_first()?;
        self.buf = tail;
        Some(b)
    }

    pub(super) fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_be_bytes)
    }

    pub(super) fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_be_bytes)
    }

    /// Everything not yet read.
    pub(super) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }
}

// ===== test helpers =====

#[cfg(test)]
pub(super) mod testutil {
    use bytes::BytesMut;

    use crate::wire::{Context, Message};

    /// Hex literal to bytes; whitespace and `|` separators are ignored.
    pub(crate) fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s
            .bytes()
            .filter(|b| b.is_ascii_hexdigit())
            .map(|b| (b as char).to_digit(16).expect("invariant: hex digit") as u8)
            .collect();
        assert!(digits.len().is_multiple_of(2), "odd number of hex digits");
        digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect()
    }

    pub(crate) fn to_hex(b: &[u8]) -> String {
        b.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub(crate) fn encode(msg: &Message, cx: &Context) -> Vec<u8> {
        let mut out = BytesMut::new();
        msg.encode(cx, &mut out);
        out.to_vec()
    }

    /// A whole message from a type and a hex body, the header computed.
    pub(crate) fn msg(kind: u8, body: &str) -> Vec<u8> {
        let body = hex(body);
        let mut v = vec![0xff; 16];
        v.extend_from_slice(&u16::try_from(19 + body.len()).expect("test").to_be_bytes());
        v.push(kind);
        v.extend_from_slice(&body);
        v
    }

    /// Decodes `bytes`, checks it equals `expected`, and that encoding `expected` gives `bytes`
    /// back (printing both as hex when not).
    pub(crate) fn both_ways(bytes: &[u8], expected: &Message, cx: &Context) {
        let decoded = Message::decode(bytes, cx).expect("vector decodes");
        assert_eq!(&decoded, expected);
        let encoded = encode(expected, cx);
        assert_eq!(
            to_hex(&encoded),
            to_hex(bytes),
            "encoding differs (left: ours, right: vector)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;
    use crate::wire::{Family, Update};

    const CX: Context = Context {
        four_octet_as: true,
    };

    #[test]
    fn frame_waits_for_a_whole_header() {
        assert_eq!(frame(&[0xff; 18]), Ok(None));
        assert_eq!(frame(&[]), Ok(None));
    }

    #[test]
    fn frame_waits_until_the_whole_message_has_arrived() {
        let ka = msg(4, "");
        let mut open = msg(1, "04 fde8 00b4 0a000001 00");
        assert_eq!(frame(&ka), Ok(Some(19)));
        open.truncate(28);
        assert_eq!(frame(&open), Ok(None));
    }

    #[test]
    fn frame_returns_the_first_message_length_when_more_follow() {
        let mut two = msg(4, "");
        two.extend(msg(4, ""));
        assert_eq!(frame(&two), Ok(Some(19)));
    }

    #[test]
    fn a_bad_marker_is_connection_not_synchronized() {
        let mut ka = msg(4, "");
        ka[3] = 0;
        let err = frame(&ka).unwrap_err();
        assert_eq!(err.notification.code, error_code::MESSAGE_HEADER);
        assert_eq!(
            err.notification.subcode,
            header_subcode::CONNECTION_NOT_SYNCHRONIZED
        );
    }

    #[test]
    fn a_length_below_19_or_above_4096_is_bad_message_length_with_the_length_as_data() {
        for len in [0u16, 18, 4097, 0xffff] {
            let mut ka = msg(4, "");
            ka[16..18].copy_from_slice(&len.to_be_bytes());
            let err = frame(&ka).unwrap_err();
            assert_eq!(err.notification.subcode, header_subcode::BAD_MESSAGE_LENGTH);
            assert_eq!(&err.notification.data[..], &len.to_be_bytes());
        }
    }

    #[test]
    fn an_unknown_message_type_is_bad_message_type_with_the_type_as_data() {
        let err = Message::decode(&msg(9, ""), &CX).unwrap_err();
        assert_eq!(err.notification.subcode, header_subcode::BAD_MESSAGE_TYPE);
        assert_eq!(&err.notification.data[..], &[9]);
    }

    #[test]
    fn messages_too_short_or_long_for_their_type_are_bad_message_length() {
        for (kind, body) in [
            (1, "04 fde8 00b4 0a000001"),
            (2, "0000"),
            (3, "06"),
            (4, "00"),
            (5, "0001 00"),
            (5, "0001 00 01 00"),
        ] {
            let m = msg(kind, body);
            let err = Message::decode(&m, &CX).unwrap_err();
            assert_eq!(
                err.notification.subcode,
                header_subcode::BAD_MESSAGE_LENGTH,
                "type {kind}"
            );
            assert_eq!(&err.notification.data[..], &(m.len() as u16).to_be_bytes());
        }
    }

    #[test]
    fn a_buffer_longer_than_the_length_field_is_rejected() {
        let mut ka = msg(4, "");
        ka.push(0);
        assert!(Message::decode(&ka, &CX).is_err());
    }

    #[test]
    fn keepalive_is_19_octets_both_ways() {
        both_ways(
            &hex("ffffffffffffffffffffffffffffffff 0013 04"),
            &Message::Keepalive,
            &CX,
        );
    }

    #[test]
    fn a_cease_notification_with_shutdown_communication_goes_both_ways() {
        let n = Notification::cease_with_communication(2, "bye");
        both_ways(&msg(3, "06 02 03 627965"), &Message::Notification(n), &CX);
    }

    #[test]
    fn route_refresh_for_ipv6_unicast_goes_both_ways() {
        let rr = RouteRefresh {
            family: Some(Family::Ipv6Unicast),
            afi: 2,
            safi: 1,
        };
        both_ways(&msg(5, "0002 00 01"), &Message::RouteRefresh(rr), &CX);
    }

    #[test]
    fn route_refresh_for_an_unknown_family_has_no_family() {
        let m = Message::decode(&msg(5, "0001 00 80"), &CX).unwrap();
        assert_eq!(
            m,
            Message::RouteRefresh(RouteRefresh {
                family: None,
                afi: 1,
                safi: 128
            })
        );
    }

    #[test]
    fn ipv4_end_of_rib_is_the_minimal_update() {
        let m = Message::Update(Update::end_of_rib(Family::Ipv4Unicast));
        both_ways(&msg(2, "0000 0000"), &m, &CX);
    }

    #[test]
    fn encoded_prefix_len_counts_the_length_octet_and_whole_address_octets() {
        let p = |s: &str| -> Prefix {
            match s.parse::<Ipv4Net>() {
                Ok(n) => Prefix::V4(n),
                Err(_) => Prefix::V6(s.parse().unwrap()),
            }
        };
        assert_eq!(encoded_prefix_len(&p("0.0.0.0/0")), 1);
        assert_eq!(encoded_prefix_len(&p("10.0.0.0/8")), 2);
        assert_eq!(encoded_prefix_len(&p("10.1.0.0/9")), 3);
        assert_eq!(encoded_prefix_len(&p("10.1.2.3/32")), 5);
        assert_eq!(encoded_prefix_len(&p("2001:db8::/32")), 5);
        assert_eq!(encoded_prefix_len(&p("2001:db8::1/128")), 17);
    }

    #[test]
    fn host_bits_past_the_prefix_length_are_masked() {
        let v = read_v4_prefixes(&hex("18 0a0102 07 ff")).unwrap();
        assert_eq!(
            v,
            vec![
                "10.1.2.0/24".parse::<Ipv4Net>().unwrap(),
                "254.0.0.0/7".parse().unwrap()
            ]
        );
    }
}
