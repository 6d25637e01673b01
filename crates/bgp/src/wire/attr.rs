//! Path attributes (RFC 4271 §4.3, §5) as one comparable, hashable value so that routes which
//! carry the same set can share one interned copy.

use std::net::Ipv4Addr;

use bytes::Bytes;

/// Attribute type codes.
pub mod attr_type {
    pub const ORIGIN: u8 = 1;
    pub const AS_PATH: u8 = 2;
    pub const NEXT_HOP: u8 = 3;
    pub const MULTI_EXIT_DISC: u8 = 4;
    pub const LOCAL_PREF: u8 = 5;
    pub const ATOMIC_AGGREGATE: u8 = 6;
    pub const AGGREGATOR: u8 = 7;
    pub const COMMUNITIES: u8 = 8;
    pub const MP_REACH_NLRI: u8 = 14;
    pub const MP_UNREACH_NLRI: u8 = 15;
    pub const AS4_PATH: u8 = 17;
    pub const AS4_AGGREGATOR: u8 = 18;
    pub const LARGE_COMMUNITIES: u8 = 32;
}

/// Attribute flag bits (RFC 4271 §4.3).
pub mod attr_flag {
    pub const OPTIONAL: u8 = 0x80;
    pub const TRANSITIVE: u8 = 0x40;
    pub const PARTIAL: u8 = 0x20;
    pub const EXTENDED_LENGTH: u8 = 0x10;
}

/// ORIGIN (type 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    Igp = 0,
    Egp = 1,
    Incomplete = 2,
}

/// One AS_PATH segment (RFC 4271 §4.3 b, RFC 5065 for the confederation types).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AsSegment {
    Set(Vec<u32>),
    Sequence(Vec<u32>),
    ConfedSequence(Vec<u32>),
    ConfedSet(Vec<u32>),
}

/// AS_PATH with four-octet ASNs, whatever the session negotiated (the codec converts with
/// AS4_PATH for old speakers, RFC 6793 §4.2.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct AsPath {
    pub segments: Vec<AsSegment>,
}

impl AsPath {
    /// Path length for the decision process (RFC 4271 §9.1.2.2 a): a set counts as one,
    /// confederation segments count as zero (RFC 5065 §5.3).
    pub fn len(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s {
                AsSegment::Sequence(v) => v.len(),
                AsSegment::Set(_) => 1,
                AsSegment::ConfedSequence(_) | AsSegment::ConfedSet(_) => 0,
            })
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// Whether `asn` appears anywhere in the path (loop detection, RFC 4271 §9.1.2).
    pub fn contains(&self, asn: u32) -> bool {
        self.segments.iter().any(|s| match s {
            AsSegment::Set(v)
            | AsSegment::Sequence(v)
            | AsSegment::ConfedSequence(v)
            | AsSegment::ConfedSet(v) => v.contains(&asn),
        })
    }

    /// The neighbouring AS: the first ASN of a leading AS_SEQUENCE (used for MED comparison).
    pub fn first_as(&self) -> Option<u32> {
        match self.segments.first()? {
            AsSegment::Sequence(v) => v.first().copied(),
            _ => None,
        }
    }

    /// The originating AS: the last ASN of a trailing AS_SEQUENCE.
    pub fn origin_as(&self) -> Option<u32> {
        match self.segments.last()? {
            AsSegment::Sequence(v) => v.last().copied(),
            _ => None,
        }
    }

    /// Prepends `asn` `count` times, opening a new leading AS_SEQUENCE when the path starts
    /// with a set or a full (255) sequence (RFC 4271 §5.1.2).
    pub fn prepend(&mut self, asn: u32, count: usize) {
        for _ in 0..count {
            match self.segments.first_mut() {
                Some(AsSegment::Sequence(v)) if v.len() < 255 => v.insert(0, asn),
                _ => self.segments.insert(0, AsSegment::Sequence(vec![asn])),
            }
        }
    }
}

impl std::fmt::Display for AsPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for seg in &self.segments {
            let (open, close, v) = match seg {
                AsSegment::Sequence(v) => ("", "", v),
                AsSegment::Set(v) => ("{", "}", v),
                AsSegment::ConfedSequence(v) => ("(", ")", v),
                AsSegment::ConfedSet(v) => ("[", "]", v),
            };
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            f.write_str(open)?;
            for (i, asn) in v.iter().enumerate() {
                if i > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{asn}")?;
            }
            f.write_str(close)?;
        }
        Ok(())
    }
}

/// AGGREGATOR (type 7), with a four-octet ASN (AS4_AGGREGATOR merged for old speakers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Aggregator {
    pub asn: u32,
    pub address: Ipv4Addr,
}

/// One LARGE_COMMUNITY (RFC 8092): global administrator, local data 1, local data 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LargeCommunity(pub u32, pub u32, pub u32);

/// An attribute this implementation does not interpret, kept to be passed on (optional
/// transitive ones get the Partial bit set on re-advertisement, RFC 4271 §5).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RawAttribute {
    pub flags: u8,
    pub type_code: u8,
    pub value: Bytes,
}

/// The path attributes of an UPDATE other than MP_REACH / MP_UNREACH.
///
/// Mandatory well-known attributes are `Option` because a received UPDATE may lack them; the
/// decoder reports that per RFC 7606 §3 (d) and the speaker never installs such a route.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Attributes {
    pub origin: Option<Origin>,
    pub as_path: AsPath,
    /// NEXT_HOP (type 3): the IPv4 next hop for IPv4 NLRI in the UPDATE's own NLRI field.
    pub next_hop: Option<Ipv4Addr>,
    pub med: Option<u32>,
    pub local_pref: Option<u32>,
    pub atomic_aggregate: bool,
    pub aggregator: Option<Aggregator>,
    /// COMMUNITIES (RFC 1997), in received order.
    pub communities: Vec<u32>,
    /// LARGE_COMMUNITIES (RFC 8092), in received order, duplicates removed.
    pub large_communities: Vec<LargeCommunity>,
    /// Unrecognised optional transitive attributes, in type-code order.
    pub unknown: Vec<RawAttribute>,
}

impl Attributes {
    /// True when no attribute is present at all.
    pub fn is_empty(&self) -> bool {
        *self == Attributes::default()
    }
}
