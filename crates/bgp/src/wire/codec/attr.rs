//! Path attributes other than MP_REACH / MP_UNREACH: decode with RFC 7606 error handling and
//! RFC 6793 AS4 reconstruction, encode in type-code order.
//!
//! RFC 7606 choices where the RFC leaves one:
//! - A flag error (Optional/Transitive bits wrong for a known type, §3 c) takes that
//!   attribute's own malformed action: treat-as-withdraw for most, attribute discard for
//!   ATOMIC_AGGREGATE, AGGREGATOR (§7.6, §7.7), AS4_PATH and AS4_AGGREGATOR (RFC 6793 §6).
//!   The Partial bit is not checked on receipt.
//! - An attribute header or length that overruns the path attributes (§4) is treat-as-withdraw
//!   when no MP_REACH/MP_UNREACH was seen before it, otherwise session reset; what follows the
//!   overrun is not parsed.
//! - A duplicate of anything but MP_* (§3 g) keeps the first and counts as attribute discard.
//! - An AS4_PATH carrying confederation segments is treated as malformed (RFC 6793 §3 says they
//!   are never sent) and discarded.
//! - AS4_PATH / AS4_AGGREGATOR on a four-octet session are dropped without an error action.

use std::net::Ipv4Addr;

use bytes::{BufMut, Bytes, BytesMut};

use super::Reader;
use crate::wire::{
    AS_TRANS, Aggregator, AsPath, AsSegment, Attributes, Context, DecodeError, ErrorAction,
    LargeCommunity, Origin, RawAttribute, Update, attr_flag, attr_type, error_code, update_subcode,
};

/// Optional + Transitive bits.
const OT_MASK: u8 = attr_flag::OPTIONAL | attr_flag::TRANSITIVE;
const WELL_KNOWN: u8 = attr_flag::TRANSITIVE;
const OPTIONAL_TRANSITIVE: u8 = attr_flag::OPTIONAL | attr_flag::TRANSITIVE;
const OPTIONAL_NON_TRANSITIVE: u8 = attr_flag::OPTIONAL;

mod seg_type {
    pub const AS_SET: u8 = 1;
    pub const AS_SEQUENCE: u8 = 2;
    pub const AS_CONFED_SEQUENCE: u8 = 3;
    pub const AS_CONFED_SET: u8 = 4;
}

/// The Optional/Transitive bits each type we interpret must carry (RFC 4271 §5, RFC 4760 §3,
/// RFC 6793 §3, RFC 8092 §3).
fn expected_flags(code: u8) -> Option<u8> {
    use attr_type::*;
    Some(match code {
        ORIGIN | AS_PATH | NEXT_HOP | LOCAL_PREF | ATOMIC_AGGREGATE => WELL_KNOWN,
        MULTI_EXIT_DISC | MP_REACH_NLRI | MP_UNREACH_NLRI => OPTIONAL_NON_TRANSITIVE,
        AGGREGATOR | COMMUNITIES | AS4_PATH | AS4_AGGREGATOR | LARGE_COMMUNITIES => {
            OPTIONAL_TRANSITIVE
        }
        _ => return None,
    })
}

/// What RFC 7606 §7 (and RFC 6793 §6, RFC 8092 §5) says to do with a malformed instance.
fn malformed_action(code: u8) -> ErrorAction {
    use attr_type::*;
    match code {
        ATOMIC_AGGREGATE | AGGREGATOR | AS4_PATH | AS4_AGGREGATOR => ErrorAction::AttributeDiscard,
        _ => ErrorAction::TreatAsWithdraw,
    }
}

fn attr_name(code: u8) -> &'static str {
    use attr_type::*;
    match code {
        ORIGIN => "ORIGIN",
        AS_PATH => "AS_PATH",
        NEXT_HOP => "NEXT_HOP",
        MULTI_EXIT_DISC => "MULTI_EXIT_DISC",
        LOCAL_PREF => "LOCAL_PREF",
        ATOMIC_AGGREGATE => "ATOMIC_AGGREGATE",
        AGGREGATOR => "AGGREGATOR",
        COMMUNITIES => "COMMUNITIES",
        MP_REACH_NLRI => "MP_REACH_NLRI",
        MP_UNREACH_NLRI => "MP_UNREACH_NLRI",
        AS4_PATH => "AS4_PATH",
        AS4_AGGREGATOR => "AS4_AGGREGATOR",
        LARGE_COMMUNITIES => "LARGE_COMMUNITIES",
        _ => "attribute",
    }
}

// ===== decode =====

/// Set of attribute type codes seen so far.
#[derive(Default)]
struct Seen([u64; 4]);

impl Seen {
    /// Marks `code`; true when it was already there.
    fn insert(&mut self, code: u8) -> bool {
        let (word, bit) = (usize::from(code / 64), 1u64 << (code % 64));
        let slot = self.0.get_mut(word);
        match slot {
            Some(w) => {
                let had = *w & bit != 0;
                *w |= bit;
                had
            }
            None => false,
        }
    }

    fn contains(&self, code: u8) -> bool {
        let (word, bit) = (usize::from(code / 64), 1u64 << (code % 64));
        self.0.get(word).is_some_and(|w| w & bit != 0)
    }
}

fn session_reset(subcode: u8, data: &[u8], reason: impl Into<String>) -> DecodeError {
    DecodeError::new(error_code::UPDATE_MESSAGE, subcode, data.to_vec(), reason)
}

/// Decodes the Path Attributes field into `update` (attributes, MP_REACH, MP_UNREACH, the RFC
/// 7606 outcome). `update.nlri` must already hold the NLRI field for the mandatory-attribute
/// check. Errors are the ones RFC 7606 resolves with "session reset".
pub(super) fn decode_attributes(
    buf: &[u8],
    cx: &Context,
    update: &mut Update,
) -> Result<(), DecodeError> {
    let mut d = Decoder {
        cx,
        update,
        attrs: Attributes::default(),
        seen: Seen::default(),
        any_plain: false,
        as4_path: None,
        as4_aggregator: None,
    };
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let whole_start = r;
        let (Some(flags), Some(code)) = (r.u8(), r.u8()) else {
            d.overrun("attribute header")?;
            break;
        };
        let len = if flags & attr_flag::EXTENDED_LENGTH != 0 {
            r.u16()
        } else {
            r.u8().map(u16::from)
        };
        let Some(value) = len.and_then(|len| r.take(usize::from(len))) else {
            d.overrun(attr_name(code))?;
            break;
        };
        let whole = whole_start
            .clone_take(whole_start.remaining() - r.remaining())
            .unwrap_or_default();
        d.attribute(flags, code, value, whole)?;
    }
    d.finish();
    Ok(())
}

struct Decoder<'a> {
    cx: &'a Context,
    update: &'a mut Update,
    attrs: Attributes,
    seen: Seen,
    /// Some attribute other than MP_* was on the wire: `update.attributes` is `Some`.
    any_plain: bool,
    as4_path: Option<AsPath>,
    as4_aggregator: Option<Aggregator>,
}

impl Decoder<'_> {
    fn note(&mut self, action: ErrorAction, what: String) {
        self.update.error_action = self.update.error_action.max(action);
        self.update.errors.push(what);
    }

    /// RFC 7606 §4: an attribute that cannot be delimited. Treat-as-withdraw is only safe when
    /// no MP_REACH/MP_UNREACH was seen (§5.1 has senders put those first; a later one is lost
    /// with the rest and nothing we hold refers to it).
    fn overrun(&mut self, what: &str) -> Result<(), DecodeError> {
        if self.seen.contains(attr_type::MP_REACH_NLRI)
            || self.seen.contains(attr_type::MP_UNREACH_NLRI)
        {
            return Err(session_reset(
                update_subcode::MALFORMED_ATTRIBUTE_LIST,
                &[],
                format!("{what} overruns the path attributes after MP_REACH/MP_UNREACH"),
            ));
        }
        self.note(
            ErrorAction::TreatAsWithdraw,
            format!("{what} overruns the path attributes"),
        );
        Ok(())
    }

    fn attribute(
        &mut self,
        flags: u8,
        code: u8,
        value: &[u8],
        whole: &[u8],
    ) -> Result<(), DecodeError> {
        use attr_type::*;
        let is_mp = matches!(code, MP_REACH_NLRI | MP_UNREACH_NLRI);
        if !is_mp {
            self.any_plain = true;
        }
        // RFC 7606 §3 (g).
        if self.seen.insert(code) {
            if is_mp {
                return Err(session_reset(
                    update_subcode::MALFORMED_ATTRIBUTE_LIST,
                    &[],
                    format!("{} appears twice", attr_name(code)),
                ));
            }
            self.note(
                ErrorAction::AttributeDiscard,
                format!("duplicate attribute {code} discarded"),
            );
            return Ok(());
        }
        let Some(expected) = expected_flags(code) else {
            return self.unrecognized(flags, code, value, whole);
        };
        if flags & OT_MASK != expected {
            // RFC 7606 §3 (c); for MP_* the attribute's action is session reset (§7.11).
            if is_mp {
                return Err(session_reset(
                    update_subcode::ATTRIBUTE_FLAGS_ERROR,
                    whole,
                    format!("{} flags {flags:#04x}", attr_name(code)),
                ));
            }
            self.note(
                malformed_action(code),
                format!("{} has flags {flags:#04x}", attr_name(code)),
            );
            return Ok(());
        }
        match code {
            MP_REACH_NLRI => {
                match super::update::decode_mp_reach(value, whole)? {
                    Ok(mp) => self.update.mp_reach = Some(mp),
                    Err(ignored) => self.update.errors.push(ignored),
                }
                Ok(())
            }
            MP_UNREACH_NLRI => {
                match super::update::decode_mp_unreach(value, whole)? {
                    Ok(mp) => self.update.mp_unreach = Some(mp),
                    Err(ignored) => self.update.errors.push(ignored),
                }
                Ok(())
            }
            _ => {
                if let Err(e) = self.known(code, value) {
                    self.note(malformed_action(code), format!("{}: {e}", attr_name(code)));
                }
                Ok(())
            }
        }
    }

    /// RFC 4271 §5: unknown well-known → Unrecognized Well-known Attribute; unknown optional
    /// transitive → passed on with Partial set; unknown optional non-transitive → dropped.
    fn unrecognized(
        &mut self,
        flags: u8,
        code: u8,
        value: &[u8],
        whole: &[u8],
    ) -> Result<(), DecodeError> {
        if flags & attr_flag::OPTIONAL == 0 {
            return Err(session_reset(
                update_subcode::UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
                whole,
                format!("unrecognized well-known attribute {code}"),
            ));
        }
        if flags & attr_flag::TRANSITIVE != 0 {
            self.attrs.unknown.push(RawAttribute {
                flags: (flags & (OT_MASK | attr_flag::PARTIAL)) | attr_flag::PARTIAL,
                type_code: code,
                value: Bytes::copy_from_slice(value),
            });
        }
        Ok(())
    }

    /// The attributes we interpret; `Err` describes a malformed one.
    fn known(&mut self, code: u8, value: &[u8]) -> Result<(), String> {
        use attr_type::*;
        let mut r = Reader::new(value);
        let exact = |n: usize| {
            if value.len() == n {
                Ok(())
            } else {
                Err(format!("length {} (expected {n})", value.len()))
            }
        };
        match code {
            // RFC 7606 §7.1.
            ORIGIN => {
                exact(1)?;
                self.attrs.origin = Some(match r.u8() {
                    Some(0) => Origin::Igp,
                    Some(1) => Origin::Egp,
                    Some(2) => Origin::Incomplete,
                    v => return Err(format!("value {v:?}")),
                });
            }
            // RFC 7606 §7.2.
            AS_PATH => self.attrs.as_path = decode_as_path(value, self.cx.four_octet_as, true)?,
            // RFC 7606 §7.3.
            NEXT_HOP => {
                exact(4)?;
                self.attrs.next_hop = r.u32().map(Ipv4Addr::from);
            }
            // RFC 7606 §7.4, §7.5.
            MULTI_EXIT_DISC => {
                exact(4)?;
                self.attrs.med = r.u32();
            }
            LOCAL_PREF => {
                exact(4)?;
                self.attrs.local_pref = r.u32();
            }
            // RFC 7606 §7.6.
            ATOMIC_AGGREGATE => {
                exact(0)?;
                self.attrs.atomic_aggregate = true;
            }
            // RFC 7606 §7.7: 6 octets from an old speaker, 8 with four-octet ASNs.
            AGGREGATOR => {
                let asn = if self.cx.four_octet_as {
                    exact(8)?;
                    r.u32()
                } else {
                    exact(6)?;
                    r.u16().map(u32::from)
                };
                if let (Some(asn), Some(addr)) = (asn, r.u32()) {
                    self.attrs.aggregator = Some(Aggregator {
                        asn,
                        address: Ipv4Addr::from(addr),
                    });
                }
            }
            // RFC 7606 §7.8: "not a non-zero multiple of 4".
            COMMUNITIES => {
                if value.is_empty() || !value.len().is_multiple_of(4) {
                    return Err(format!("length {}", value.len()));
                }
                // Exactly sized: interned sets keep these vectors for as long as routes use them.
                let mut communities = Vec::with_capacity(value.len() / 4);
                communities.extend(std::iter::from_fn(|| r.u32()));
                self.attrs.communities = communities;
            }
            // RFC 8092 §5: "not a non-zero multiple of 12"; duplicates removed.
            LARGE_COMMUNITIES => {
                if value.is_empty() || !value.len().is_multiple_of(12) {
                    return Err(format!("length {}", value.len()));
                }
                let mut out: Vec<LargeCommunity> = Vec::with_capacity(value.len() / 12);
                while let (Some(a), Some(b), Some(c)) = (r.u32(), r.u32(), r.u32()) {
                    let lc = LargeCommunity(a, b, c);
                    if !out.contains(&lc) {
                        out.push(lc);
                    }
                }
                self.attrs.large_communities = out;
            }
            // RFC 6793 §6: malformed ones are discarded; on a four-octet session they are not
            // used at all (§3: "MUST NOT" be sent between NEW speakers).
            AS4_PATH => {
                let path = decode_as_path(value, true, false)?;
                if !self.cx.four_octet_as {
                    self.as4_path = Some(path);
                }
            }
            AS4_AGGREGATOR => {
                exact(8)?;
                if let (Some(asn), Some(addr), false) = (r.u32(), r.u32(), self.cx.four_octet_as) {
                    self.as4_aggregator = Some(Aggregator {
                        asn,
                        address: Ipv4Addr::from(addr),
                    });
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(mut self) {
        use attr_type::*;
        if !self.cx.four_octet_as {
            self.reconstruct_as4();
        }
        // RFC 7606 §3 (d): mandatory attributes missing while there is NLRI to install. NEXT_HOP
        // is mandatory only for NLRI in the NLRI field (RFC 4760 §3).
        let has_v4 = !self.update.nlri.is_empty();
        let has_mp = self
            .update
            .mp_reach
            .as_ref()
            .is_some_and(|m| !m.nlri.is_empty());
        if has_v4 || has_mp {
            let mut missing = vec![];
            for (code, needed) in [(ORIGIN, true), (AS_PATH, true), (NEXT_HOP, has_v4)] {
                if needed && !self.seen.contains(code) {
                    missing.push(attr_name(code));
                }
            }
            if !missing.is_empty() {
                self.note(
                    ErrorAction::TreatAsWithdraw,
                    format!("missing well-known attribute(s) {}", missing.join(", ")),
                );
            }
        }
        self.attrs.unknown.sort_by_key(|a| a.type_code);
        if self.any_plain {
            self.update.attributes = Some(self.attrs);
        }
    }

    /// RFC 6793 §4.2.3: rebuild four-octet information from an old speaker.
    fn reconstruct_as4(&mut self) {
        let as4_path = self.as4_path.take();
        let as4_aggregator = self.as4_aggregator.take();
        if let (Some(agg), Some(as4_agg)) = (self.attrs.aggregator, as4_aggregator) {
            // "if the AS number in the AGGREGATOR attribute is not AS_TRANS, then: the
            // AS4_AGGREGATOR attribute and the AS4_PATH attribute SHALL be ignored".
            if agg.asn != u32::from(AS_TRANS) {
                return;
            }
            self.attrs.aggregator = Some(as4_agg);
        }
        if let Some(as4) = as4_path {
            self.attrs.as_path = merge_as4_path(&self.attrs.as_path, as4);
        }
    }
}

impl<'a> Reader<'a> {
    /// The first `n` octets without consuming them.
    fn clone_take(mut self, n: usize) -> Option<&'a [u8]> {
        self.take(n)
    }
}

/// RFC 6793 §4.2.3: "If the number of AS numbers in the AS_PATH attribute is less than the
/// number of AS numbers in the AS4_PATH attribute, then the AS4_PATH attribute SHALL be
/// ignored"; otherwise the leading part of AS_PATH that AS4_PATH does not cover is kept and
/// AS4_PATH appended. Counting follows the RFC: a set counts as one, confederation segments as
/// zero (so leading confederation segments are always kept).
pub(super) fn merge_as4_path(as_path: &AsPath, as4: AsPath) -> AsPath {
    let (n, m) = (as_path.len(), as4.len());
    if n < m {
        return as_path.clone();
    }
    let mut need = n - m;
    let mut segments = Vec::with_capacity(as_path.segments.len() + as4.segments.len());
    for seg in &as_path.segments {
        match seg {
            AsSegment::ConfedSequence(_) | AsSegment::ConfedSet(_) => segments.push(seg.clone()),
            AsSegment::Set(_) if need >= 1 => {
                segments.push(seg.clone());
                need -= 1;
            }
            AsSegment::Sequence(v) if need > 0 => {
                let k = need.min(v.len());
                segments.push(AsSegment::Sequence(v.iter().take(k).copied().collect()));
                need -= k;
            }
            _ => break,
        }
    }
    segments.extend(as4.segments);
    AsPath { segments }
}

/// AS_PATH / AS4_PATH segments (RFC 4271 §4.3 b, RFC 5065 §3). RFC 7606 §7.2: malformed when a
/// segment overruns, has length zero, or has an unknown type.
fn decode_as_path(value: &[u8], four_octet: bool, allow_confed: bool) -> Result<AsPath, String> {
    let mut r = Reader::new(value);
    // Exactly sized for the usual single segment: interned sets keep these vectors.
    let mut segments = Vec::with_capacity(1);
    while !r.is_empty() {
        let (Some(kind), Some(count)) = (r.u8(), r.u8()) else {
            return Err("segment header truncated".into());
        };
        if count == 0 {
            return Err("zero-length segment".into());
        }
        let width = if four_octet { 4 } else { 2 };
        let raw = r
            .take(usize::from(count) * width)
            .ok_or("segment overruns the attribute")?;
        let mut sr = Reader::new(raw);
        let mut asns: Vec<u32> = Vec::with_capacity(usize::from(count));
        if four_octet {
            asns.extend(std::iter::from_fn(|| sr.u32()));
        } else {
            asns.extend(std::iter::from_fn(|| sr.u16().map(u32::from)));
        }
        segments.push(match kind {
            seg_type::AS_SET => AsSegment::Set(asns),
            seg_type::AS_SEQUENCE => AsSegment::Sequence(asns),
            seg_type::AS_CONFED_SEQUENCE if allow_confed => AsSegment::ConfedSequence(asns),
            seg_type::AS_CONFED_SET if allow_confed => AsSegment::ConfedSet(asns),
            _ => return Err(format!("segment type {kind}")),
        });
    }
    Ok(AsPath { segments })
}

// ===== encode =====

/// Appends one attribute: flags, type, length, value. The value is written first with room for
/// a 2-octet length; when it fits in one octet the header is narrowed and the Extended Length
/// bit cleared (so the bit is set exactly when the value exceeds 255 octets).
pub(super) fn put_attr(out: &mut BytesMut, flags: u8, code: u8, write: impl FnOnce(&mut BytesMut)) {
    let start = out.len();
    out.put_u8(flags | attr_flag::EXTENDED_LENGTH);
    out.put_u8(code);
    out.put_u16(0);
    write(out);
    let len = out.len() - start - 4;
    if let Ok(short) = u8::try_from(len) {
        let end = out.len();
        out.copy_within(start + 4..end, start + 3);
        out.truncate(end - 1);
        if let Some(head) = out.get_mut(start..start + 3) {
            head.copy_from_slice(&[flags & !attr_flag::EXTENDED_LENGTH, code, short]);
        }
    } else if let Some(field) = out.get_mut(start + 2..start + 4) {
        field.copy_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
    }
}

fn segment_parts(seg: &AsSegment) -> (u8, &[u32]) {
    match seg {
        AsSegment::Set(v) => (seg_type::AS_SET, v),
        AsSegment::Sequence(v) => (seg_type::AS_SEQUENCE, v),
        AsSegment::ConfedSequence(v) => (seg_type::AS_CONFED_SEQUENCE, v),
        AsSegment::ConfedSet(v) => (seg_type::AS_CONFED_SET, v),
    }
}

/// Writes segments, splitting any longer than 255 ASNs and skipping empty ones. With
/// `four_octet` false, ASNs above 65535 become AS_TRANS (RFC 6793 §4.2.2).
fn put_segments(out: &mut BytesMut, path: &AsPath, four_octet: bool, skip_confed: bool) {
    for seg in &path.segments {
        let (kind, asns) = segment_parts(seg);
        if skip_confed && matches!(kind, seg_type::AS_CONFED_SEQUENCE | seg_type::AS_CONFED_SET) {
            continue;
        }
        for chunk in asns.chunks(255) {
            out.put_u8(kind);
            out.put_u8(chunk.len() as u8);
            for &asn in chunk {
                if four_octet {
                    out.put_u32(asn);
                } else {
                    out.put_u16(u16::try_from(asn).unwrap_or(AS_TRANS));
                }
            }
        }
    }
}

/// Whether an old-speaker encoding loses anything that AS4_PATH must carry.
fn needs_as4_path(path: &AsPath) -> bool {
    path.segments.iter().any(|s| match s {
        AsSegment::Set(v) | AsSegment::Sequence(v) => v.iter().any(|&a| a > 0xffff),
        _ => false,
    })
}

/// Type codes this module encodes from typed fields; `unknown` entries with these codes are
/// skipped so an UPDATE never carries one twice.
const KNOWN: [u8; 13] = [1, 2, 3, 4, 5, 6, 7, 8, 14, 15, 17, 18, 32];

/// Appends the path attributes in `attrs` (not MP_REACH/MP_UNREACH) in type-code order, with
/// the encoding `cx` asks for. AS_PATH is always written, empty when the path is (an iBGP
/// origination), because it is mandatory.
pub fn encode_path_attributes(attrs: &Attributes, cx: &Context, out: &mut BytesMut) {
    use attr_type::*;
    let mut unknown = attrs
        .unknown
        .iter()
        .filter(|a| !KNOWN.contains(&a.type_code))
        .peekable();
    let as4 = !cx.four_octet_as;
    for code in [
        ORIGIN,
        AS_PATH,
        NEXT_HOP,
        MULTI_EXIT_DISC,
        LOCAL_PREF,
        ATOMIC_AGGREGATE,
        AGGREGATOR,
        COMMUNITIES,
        AS4_PATH,
        AS4_AGGREGATOR,
        LARGE_COMMUNITIES,
    ] {
        while let Some(raw) = unknown.next_if(|a| a.type_code < code) {
            put_raw(out, raw);
        }
        match code {
            ORIGIN => {
                if let Some(o) = attrs.origin {
                    put_attr(out, WELL_KNOWN, code, |o2| o2.put_u8(o as u8));
                }
            }
            AS_PATH => put_attr(out, WELL_KNOWN, code, |o| {
                put_segments(o, &attrs.as_path, cx.four_octet_as, false)
            }),
            NEXT_HOP => {
                if let Some(nh) = attrs.next_hop {
                    put_attr(out, WELL_KNOWN, code, |o| o.put_u32(nh.into()));
                }
            }
            MULTI_EXIT_DISC => {
                if let Some(med) = attrs.med {
                    put_attr(out, OPTIONAL_NON_TRANSITIVE, code, |o| o.put_u32(med));
                }
            }
            LOCAL_PREF => {
                if let Some(lp) = attrs.local_pref {
                    put_attr(out, WELL_KNOWN, code, |o| o.put_u32(lp));
                }
            }
            ATOMIC_AGGREGATE => {
                if attrs.atomic_aggregate {
                    put_attr(out, WELL_KNOWN, code, |_| {});
                }
            }
            AGGREGATOR => {
                if let Some(agg) = attrs.aggregator {
                    put_attr(out, OPTIONAL_TRANSITIVE, code, |o| {
                        if cx.four_octet_as {
                            o.put_u32(agg.asn);
                        } else {
                            o.put_u16(u16::try_from(agg.asn).unwrap_or(AS_TRANS));
                        }
                        o.put_u32(agg.address.into());
                    });
                }
            }
            COMMUNITIES => {
                if !attrs.communities.is_empty() {
                    put_attr(out, OPTIONAL_TRANSITIVE, code, |o| {
                        attrs.communities.iter().for_each(|&c| o.put_u32(c))
                    });
                }
            }
            // RFC 6793 §4.2.2: an old-speaker session gets the real path in AS4_PATH when
            // AS_PATH had to say AS_TRANS, without confederation segments.
            AS4_PATH => {
                if as4 && needs_as4_path(&attrs.as_path) {
                    put_attr(out, OPTIONAL_TRANSITIVE, code, |o| {
                        put_segments(o, &attrs.as_path, true, true)
                    });
                }
            }
            AS4_AGGREGATOR => {
                if let Some(agg) = attrs.aggregator.filter(|a| as4 && a.asn > 0xffff) {
                    put_attr(out, OPTIONAL_TRANSITIVE, code, |o| {
                        o.put_u32(agg.asn);
                        o.put_u32(agg.address.into());
                    });
                }
            }
            _ => {
                if !attrs.large_communities.is_empty() {
                    put_attr(out, OPTIONAL_TRANSITIVE, code, |o| {
                        for lc in &attrs.large_communities {
                            o.put_u32(lc.0);
                            o.put_u32(lc.1);
                            o.put_u32(lc.2);
                        }
                    });
                }
            }
        }
    }
    for raw in unknown {
        put_raw(out, raw);
    }
}

/// An uninterpreted attribute with its stored flags (Partial included), length recomputed.
fn put_raw(out: &mut BytesMut, raw: &RawAttribute) {
    let flags = raw.flags & (OT_MASK | attr_flag::PARTIAL);
    put_attr(out, flags, raw.type_code, |o| o.put_slice(&raw.value));
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::wire::{Message, MpReach, NextHop, Prefix};

    const CX4: Context = Context {
        four_octet_as: true,
    };
    const CX2: Context = Context {
        four_octet_as: false,
    };

    /// An UPDATE body with the given attributes and 10.0.0.0/8 as NLRI.
    fn with_attrs(attrs: &str) -> Vec<u8> {
        let a = hex(attrs);
        msg(2, &format!("0000 {:04x} {} 08 0a", a.len(), to_hex(&a)))
    }

    /// Valid ORIGIN, AS_PATH (65001) and NEXT_HOP, for tests that add one more attribute.
    const BASE: &str = "40 01 01 00  40 02 06 02 01 0000fde9  40 03 04 c0000201";

    fn decode(bytes: &[u8], cx: &Context) -> Update {
        match Message::decode(bytes, cx) {
            Ok(Message::Update(u)) => u,
            other => panic!("expected an UPDATE, got {other:?}"),
        }
    }

    fn action(attrs: &str) -> (ErrorAction, Update) {
        let u = decode(&with_attrs(attrs), &CX4);
        assert!(!u.errors.is_empty() || u.error_action == ErrorAction::None);
        (u.error_action, u)
    }

    fn reset(attrs: &str) -> DecodeError {
        Message::decode(&with_attrs(attrs), &CX4).unwrap_err()
    }

    #[test]
    fn the_base_attributes_decode_without_error() {
        let (a, u) = action(BASE);
        assert_eq!(a, ErrorAction::None);
        assert_eq!(u.nlri, vec!["10.0.0.0/8".parse().unwrap()]);
    }

    #[test]
    fn an_origin_of_the_wrong_length_is_treat_as_withdraw() {
        let (a, u) = action("40 01 02 0000  40 02 00  40 03 04 c0000201");
        assert_eq!(a, ErrorAction::TreatAsWithdraw);
        assert_eq!(u.nlri.len(), 1, "NLRI kept for the speaker to withdraw");
    }

    #[test]
    fn an_origin_value_above_incomplete_is_treat_as_withdraw() {
        let (a, _) = action("40 01 01 03  40 02 00  40 03 04 c0000201");
        assert_eq!(a, ErrorAction::TreatAsWithdraw);
    }

    #[test]
    fn an_as_path_segment_overrunning_the_attribute_is_treat_as_withdraw() {
        let (a, _) = action("40 01 01 00  40 02 06 02 02 0000fde9  40 03 04 c0000201");
        assert_eq!(a, ErrorAction::TreatAsWithdraw);
    }

    #[test]
    fn a_zero_length_as_path_segment_is_treat_as_withdraw() {
        let (a, _) = action("40 01 01 00  40 02 02 02 00  40 03 04 c0000201");
        assert_eq!(a, ErrorAction::TreatAsWithdraw);
    }

    #[test]
    fn an_unknown_as_path_segment_type_is_treat_as_withdraw() {
        let (a, _) = action("40 01 01 00  40 02 06 05 01 0000fde9  40 03 04 c0000201");
        assert_eq!(a, ErrorAction::TreatAsWithdraw);
    }

    #[test]
    fn a_truncated_as_path_segment_header_is_treat_as_withdraw() {
        let (a, _) = action("40 01 01 00  40 02 01 02  40 03 04 c0000201");
        assert_eq!(a, ErrorAction::TreatAsWithdraw);
    }

    #[test]
    fn a_next_hop_of_the_wrong_length_is_treat_as_withdraw() {
        let (a, _) = action("40 01 01 00  40 02 00  40 03 05 c000020100");
        assert_eq!(a, ErrorAction::TreatAsWithdraw);
    }

    #[test]
    fn a_med_of_the_wrong_length_is_treat_as_withdraw() {
        let (a, _) = action(&format!("{BASE} 80 04 02 0001"));
        assert_eq!(a, ErrorAction::TreatAsWithdraw);
    }

    #[test]
    fn a_local_pref_of_the_wrong_length_is_treat_as_withdraw() {
        let (a, _) = action(&format!("{BASE} 40 05 03 000064"));
        assert_eq!(a, ErrorAction::TreatAsWithdraw);
    }

    #[test]
    fn an_atomic_aggregate_with_a_value_is_discarded_and_the_route_stands() {
        let (a, u) = action(&format!("{BASE} 40 06 01 00"));
        assert_eq!(a, ErrorAction::AttributeDiscard);
        assert!(!u.attributes.unwrap().atomic_aggregate);
    }

    #[test]
    fn an_aggregator_of_the_wrong_length_is_discarded() {
        let (a, u) = action(&format!("{BASE} c0 07 06 fde9 c0000201"));
        assert_eq!(a, ErrorAction::AttributeDiscard);
        assert_eq!(u.attributes.unwrap().aggregator, None);
    }

    #[test]
    fn communities_not_a_multiple_of_four_are_treat_as_withdraw() {
        let (a, _) = action(&format!("{BASE} c0 08 05 fde90064 00"));
        assert_eq!(a, ErrorAction::TreatAsWithdraw);
    }

    #[test]
    fn empty_communities_are_treat_as_withdraw() {
        let (a, _) = action(&format!("{BASE} c0 08 00"));
        assert_eq!(a, ErrorAction::TreatAsWithdraw);
    }

    #[test]
    fn large_communities_not_a_multiple_of_twelve_are_treat_as_withdraw() {
        let (a, _) = action(&format!("{BASE} c0 20 08 0000fde9 00000001"));
        assert_eq!(a, ErrorAction::TreatAsWithdraw);
    }

    #[test]
    fn duplicate_large_communities_are_removed() {
        let lc = "0000fde9 00000001 00000002";
        let (a, u) = action(&format!(
            "{BASE} c0 20 24 {lc} 0000fde9 00000003 00000004 {lc}"
        ));
        assert_eq!(a, ErrorAction::None);
        assert_eq!(
            u.attributes.unwrap().large_communities,
            vec![LargeCommunity(65001, 1, 2), LargeCommunity(65001, 3, 4)]
        );
    }

    #[test]
    fn a_malformed_as4_path_on_a_two_octet_session_is_discarded() {
        let bytes = with_attrs(
            "40 01 01 00  40 02 04 02 01 5ba0  40 03 04 c0000201  c0 11 06 02 02 00030d41",
        );
        let u = decode(&bytes, &CX2);
        assert_eq!(u.error_action, ErrorAction::AttributeDiscard);
        assert_eq!(
            u.attributes.unwrap().as_path.segments,
            vec![AsSegment::Sequence(vec![23456])]
        );
    }

    #[test]
    fn an_as4_path_with_confederation_segments_is_discarded() {
        let bytes = with_attrs(
            "40 01 01 00  40 02 04 02 01 5ba0  40 03 04 c0000201  c0 11 06 03 01 00030d41",
        );
        let u = decode(&bytes, &CX2);
        assert_eq!(u.error_action, ErrorAction::AttributeDiscard);
    }

    #[test]
    fn a_malformed_as4_aggregator_is_discarded() {
        let bytes = with_attrs(
            "40 01 01 00  40 02 04 02 01 5ba0  40 03 04 c0000201  c0 07 06 5ba0 c0000201  c0 12 06 00030d41 0000",
        );
        let u = decode(&bytes, &CX2);
        assert_eq!(u.error_action, ErrorAction::AttributeDiscard);
        assert_eq!(u.attributes.unwrap().aggregator.unwrap().asn, 23456);
    }

    #[test]
    fn as4_attributes_on_a_four_octet_session_are_ignored() {
        let u = decode(
            &with_attrs(&format!("{BASE} c0 11 06 02 01 00030d41")),
            &CX4,
        );
        assert_eq!(u.error_action, ErrorAction::None);
        assert_eq!(
            u.attributes.unwrap().as_path.segments,
            vec![AsSegment::Sequence(vec![65001])]
        );
    }

    #[test]
    fn as4_path_is_merged_on_a_two_octet_session() {
        // AS_PATH 65001 23456 23456 65002, AS4_PATH 200001 4200000000 65002.
        let bytes = with_attrs(
            "40 01 01 00  40 02 0a 02 04 fde9 5ba0 5ba0 fdea  40 03 04 c0000201
             c0 11 0e 02 03 00030d41 fa56ea00 0000fdea",
        );
        let u = decode(&bytes, &CX2);
        assert_eq!(u.error_action, ErrorAction::None);
        assert_eq!(
            u.attributes.unwrap().as_path.segments,
            vec![
                AsSegment::Sequence(vec![65001]),
                AsSegment::Sequence(vec![200_001, 4_200_000_000, 65002])
            ]
        );
    }

    #[test]
    fn an_as4_path_longer_than_as_path_is_ignored() {
        let bytes = with_attrs(
            "40 01 01 00  40 02 04 02 01 5ba0  40 03 04 c0000201  c0 11 0a 02 02 00030d41 00030d42",
        );
        let u = decode(&bytes, &CX2);
        assert_eq!(
            u.attributes.unwrap().as_path.segments,
            vec![AsSegment::Sequence(vec![23456])]
        );
    }

    #[test]
    fn as4_aggregator_replaces_an_as_trans_aggregator() {
        let bytes = with_attrs(
            "40 01 01 00  40 02 04 02 01 5ba0  40 03 04 c0000201  c0 07 06 5ba0 c0000201  c0 11 06 02 01 00030d41  c0 12 08 00030d41 c0000201",
        );
        let a = decode(&bytes, &CX2).attributes.unwrap();
        assert_eq!(a.aggregator.unwrap().asn, 200_001);
        assert_eq!(a.as_path.segments, vec![AsSegment::Sequence(vec![200_001])]);
    }

    #[test]
    fn a_real_aggregator_makes_as4_path_and_as4_aggregator_ignored() {
        let bytes = with_attrs(
            "40 01 01 00  40 02 04 02 01 5ba0  40 03 04 c0000201  c0 07 06 fde9 c0000201  c0 11 06 02 01 00030d41  c0 12 08 00030d41 c0000201",
        );
        let a = decode(&bytes, &CX2).attributes.unwrap();
        assert_eq!(a.aggregator.unwrap().asn, 65001);
        assert_eq!(a.as_path.segments, vec![AsSegment::Sequence(vec![23456])]);
    }

    #[test]
    fn a_second_med_is_discarded_and_the_first_kept() {
        let (a, u) = action(&format!("{BASE} 80 04 04 00000001 80 04 04 00000002"));
        assert_eq!(a, ErrorAction::AttributeDiscard);
        assert_eq!(u.attributes.unwrap().med, Some(1));
    }

    #[test]
    fn a_second_mp_reach_is_a_malformed_attribute_list() {
        let mp = "80 0e 16 0002 01 10 20010db8000000000000000000000001 00 00";
        let err = reset(&format!("{mp} {mp} {BASE}"));
        assert_eq!(
            err.notification.subcode,
            update_subcode::MALFORMED_ATTRIBUTE_LIST
        );
    }

    #[test]
    fn a_second_mp_unreach_is_a_malformed_attribute_list() {
        let err = reset("80 0f 03 0002 01  80 0f 03 0002 01");
        assert_eq!(
            err.notification.subcode,
            update_subcode::MALFORMED_ATTRIBUTE_LIST
        );
    }

    #[test]
    fn an_attribute_length_overrunning_the_attributes_is_treat_as_withdraw() {
        let (a, u) = action(&format!("{BASE} c0 08 08 fde90064"));
        assert_eq!(a, ErrorAction::TreatAsWithdraw);
        assert_eq!(u.nlri.len(), 1);
    }

    #[test]
    fn a_truncated_attribute_header_is_treat_as_withdraw() {
        let (a, _) = action(&format!("{BASE} c0"));
        assert_eq!(a, ErrorAction::TreatAsWithdraw);
    }

    #[test]
    fn an_overrun_after_mp_reach_is_a_session_reset() {
        let mp = "80 0e 16 0002 01 10 20010db8000000000000000000000001 00 00";
        let err = reset(&format!("{mp} {BASE} c0 08 08 fde90064"));
        assert_eq!(
            err.notification.subcode,
            update_subcode::MALFORMED_ATTRIBUTE_LIST
        );
    }

    #[test]
    fn missing_origin_with_nlri_is_treat_as_withdraw() {
        let (a, _) = action("40 02 00  40 03 04 c0000201");
        assert_eq!(a, ErrorAction::TreatAsWithdraw);
    }

    #[test]
    fn missing_as_path_with_nlri_is_treat_as_withdraw() {
        let (a, _) = action("40 01 01 00  40 03 04 c0000201");
        assert_eq!(a, ErrorAction::TreatAsWithdraw);
    }

    #[test]
    fn missing_next_hop_with_ipv4_nlri_is_treat_as_withdraw() {
        let (a, _) = action("40 01 01 00  40 02 00");
        assert_eq!(a, ErrorAction::TreatAsWithdraw);
    }

    #[test]
    fn nlri_without_any_attribute_is_treat_as_withdraw() {
        let u = decode(&msg(2, "0000 0000 08 0a"), &CX4);
        assert_eq!(u.error_action, ErrorAction::TreatAsWithdraw);
        assert_eq!(u.attributes, None);
    }

    #[test]
    fn missing_next_hop_is_fine_when_the_nlri_is_in_mp_reach() {
        let a = hex(
            "80 0e 1a 0002 01 10 20010db8000000000000000000000001 00 20 20010db8 40 01 01 00 40 02 00",
        );
        let u = decode(
            &msg(2, &format!("0000 {:04x} {}", a.len(), to_hex(&a))),
            &CX4,
        );
        assert_eq!(u.error_action, ErrorAction::None);
        assert_eq!(u.mp_reach.unwrap().nlri.len(), 1);
    }

    #[test]
    fn attributes_without_nlri_are_accepted() {
        let a = hex("40 01 01 00");
        let u = decode(
            &msg(2, &format!("0000 {:04x} {}", a.len(), to_hex(&a))),
            &CX4,
        );
        assert_eq!(u.error_action, ErrorAction::None);
        assert_eq!(u.attributes.unwrap().origin, Some(Origin::Igp));
    }

    #[test]
    fn an_origin_marked_optional_is_treat_as_withdraw() {
        let (a, _) = action("c0 01 01 00  40 02 00  40 03 04 c0000201");
        assert_eq!(a, ErrorAction::TreatAsWithdraw);
    }

    #[test]
    fn an_aggregator_marked_well_known_is_discarded() {
        let (a, u) = action(&format!("{BASE} 40 07 08 0000fde9 c0000201"));
        assert_eq!(a, ErrorAction::AttributeDiscard);
        assert_eq!(u.attributes.unwrap().aggregator, None);
    }

    #[test]
    fn a_med_marked_transitive_is_treat_as_withdraw() {
        let (a, _) = action(&format!("{BASE} c0 04 04 00000001"));
        assert_eq!(a, ErrorAction::TreatAsWithdraw);
    }

    #[test]
    fn mp_reach_with_wrong_flags_is_a_session_reset() {
        let err = reset("c0 0f 03 0002 01");
        assert_eq!(
            err.notification.subcode,
            update_subcode::ATTRIBUTE_FLAGS_ERROR
        );
    }

    #[test]
    fn an_unrecognized_well_known_attribute_is_a_session_reset_naming_it() {
        let err = reset(&format!("{BASE} 40 63 01 aa"));
        assert_eq!(
            err.notification.subcode,
            update_subcode::UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE
        );
        assert_eq!(&err.notification.data[..], &[0x40, 0x63, 0x01, 0xaa]);
    }

    #[test]
    fn an_unknown_optional_transitive_attribute_is_kept_with_partial_set() {
        let (a, u) = action(&format!("{BASE} c0 63 02 abcd"));
        assert_eq!(a, ErrorAction::None);
        assert_eq!(
            u.attributes.unwrap().unknown,
            vec![RawAttribute {
                flags: 0xe0,
                type_code: 99,
                value: Bytes::from_static(&[0xab, 0xcd])
            }]
        );
    }

    #[test]
    fn an_unknown_optional_non_transitive_attribute_is_dropped_silently() {
        let (a, u) = action(&format!("{BASE} 80 63 02 abcd"));
        assert_eq!(a, ErrorAction::None);
        assert!(u.attributes.unwrap().unknown.is_empty());
    }

    #[test]
    fn an_unknown_optional_transitive_attribute_is_passed_on_with_partial_set() {
        // ORIGINATOR-like type 99 optional transitive, extended length on the wire.
        let received = with_attrs(&format!("{BASE} d0 63 0002 abcd"));
        let u = decode(&received, &CX4);
        let sent = encode(&Message::Update(u), &CX4);
        assert_eq!(
            to_hex(&sent),
            to_hex(&with_attrs(&format!("{BASE} e0 63 02 abcd")))
        );
    }

    #[test]
    fn values_over_255_octets_use_the_extended_length_flag() {
        let attrs = Attributes {
            origin: Some(Origin::Igp),
            communities: (0..100).collect(),
            ..Attributes::default()
        };
        let mut out = BytesMut::new();
        encode_path_attributes(&attrs, &CX4, &mut out);
        // ORIGIN (4) then empty AS_PATH (3), then COMMUNITIES with a 2-octet length of 400.
        assert_eq!(&out[7..11], &[0xd0, 8, 0x01, 0x90]);
        assert_eq!(out.len(), 7 + 4 + 400);
    }

    #[test]
    fn an_as_sequence_longer_than_255_is_split_into_segments() {
        let attrs = Attributes {
            as_path: AsPath {
                segments: vec![AsSegment::Sequence((1..=300).collect())],
            },
            ..Attributes::default()
        };
        let mut out = BytesMut::new();
        encode_path_attributes(&attrs, &CX4, &mut out);
        let mut u = Update::default();
        decode_attributes(&out, &CX4, &mut u).unwrap();
        assert_eq!(
            u.attributes.unwrap().as_path.segments,
            vec![
                AsSegment::Sequence((1..=255).collect()),
                AsSegment::Sequence((256..=300).collect())
            ]
        );
    }

    #[test]
    fn a_two_octet_session_gets_as_trans_and_as4_path_for_large_asns() {
        let attrs = Attributes {
            origin: Some(Origin::Igp),
            as_path: AsPath {
                segments: vec![AsSegment::Sequence(vec![65001, 4_200_000_000])],
            },
            next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
            aggregator: Some(Aggregator {
                asn: 4_200_000_000,
                address: Ipv4Addr::new(192, 0, 2, 1),
            }),
            ..Attributes::default()
        };
        let mut out = BytesMut::new();
        encode_path_attributes(&attrs, &CX2, &mut out);
        assert_eq!(
            to_hex(&out),
            to_hex(&hex(
                "40 01 01 00  40 02 06 02 02 fde9 5ba0  40 03 04 c0000201
                 c0 07 06 5ba0 c0000201  c0 11 0a 02 02 0000fde9 fa56ea00
                 c0 12 08 fa56ea00 c0000201"
            ))
        );
        let mut u = Update::default();
        decode_attributes(&out, &CX2, &mut u).unwrap();
        assert_eq!(u.attributes, Some(attrs));
    }

    #[test]
    fn an_update_with_communities_goes_both_ways() {
        let m = Message::Update(Update {
            attributes: Some(Attributes {
                origin: Some(Origin::Incomplete),
                as_path: AsPath {
                    segments: vec![
                        AsSegment::Sequence(vec![65001, 65002]),
                        AsSegment::Set(vec![65010, 65011]),
                    ],
                },
                next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
                med: Some(10),
                local_pref: Some(200),
                atomic_aggregate: true,
                aggregator: Some(Aggregator {
                    asn: 65002,
                    address: Ipv4Addr::new(192, 0, 2, 2),
                }),
                communities: vec![0xfde9_0064, 0xffff_ff01],
                large_communities: vec![LargeCommunity(65001, 1, 2)],
                unknown: vec![],
            }),
            nlri: vec!["198.51.100.0/24".parse().unwrap()],
            ..Update::default()
        });
        let bytes = msg(
            2,
            "0000 0058
             40 01 01 02
             40 02 14 02 02 0000fde9 0000fdea 01 02 0000fdf2 0000fdf3
             40 03 04 c0000201
             80 04 04 0000000a
             40 05 04 000000c8
             40 06 00
             c0 07 08 0000fdea c0000202
             c0 08 08 fde90064 ffffff01
             c0 20 0c 0000fde9 00000001 00000002
             18 c63364",
        );
        both_ways(&bytes, &m, &CX4);
    }

    #[test]
    fn mp_reach_ipv6_with_a_link_local_next_hop_goes_both_ways() {
        let m = Message::Update(Update {
            attributes: Some(Attributes {
                origin: Some(Origin::Igp),
                as_path: AsPath {
                    segments: vec![AsSegment::Sequence(vec![65001])],
                },
                ..Attributes::default()
            }),
            mp_reach: Some(MpReach {
                family: crate::wire::Family::Ipv6Unicast,
                next_hop: NextHop::V6 {
                    global: "2001:db8::1".parse().unwrap(),
                    link_local: Some("fe80::1".parse().unwrap()),
                },
                nlri: vec![
                    Prefix::V6("2001:db8:1::/48".parse().unwrap()),
                    Prefix::V6("::/0".parse().unwrap()),
                ],
            }),
            ..Update::default()
        });
        let bytes = msg(
            2,
            "0000 003d
             80 0e 2d 0002 01 20 20010db8000000000000000000000001 fe800000000000000000000000000001
                00 30 20010db80001 00
             40 01 01 00
             40 02 06 02 01 0000fde9",
        );
        both_ways(&bytes, &m, &CX4);
    }
}
