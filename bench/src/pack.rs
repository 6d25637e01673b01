//! Pre-encoding: a sender's whole stream of UPDATEs, built before it connects.
//!
//! Routes sharing one attribute set go into as few UPDATEs as fit in 4,096 octets (RFC 4271
//! §4), encoded with the `bgp` crate's codec on a four-octet-AS session. Messages are cut into
//! chunks of about 64 KiB on message boundaries, so the writer can slip a KEEPALIVE between
//! two chunks without splitting a message.

use std::net::{Ipv4Addr, Ipv6Addr};

use bgp::wire::{
    Attributes, Context, Family, MAX_MESSAGE_LEN, Message, MpReach, MpUnreach, NextHop, Prefix,
    Update, encode_path_attributes, encoded_prefix_len,
};
use bytes::{Bytes, BytesMut};

const CHUNK: usize = 64 * 1024;
/// Header (19), Withdrawn Routes Length (2), Total Path Attribute Length (2).
const FIXED: usize = 23;
/// MP_REACH_NLRI around the NLRI: flags, type, extended length (4), AFI, SAFI, next-hop
/// length (4), a 16-octet next hop, reserved (1).
const MP_REACH_OVERHEAD: usize = 25;
/// MP_UNREACH_NLRI around the prefixes: flags, type, extended length, AFI, SAFI.
const MP_UNREACH_OVERHEAD: usize = 7;

/// Encoded UPDATEs ready to write.
#[derive(Debug, Clone, Default)]
pub struct Stream {
    pub chunks: Vec<Bytes>,
    pub messages: usize,
    pub prefixes: usize,
    pub bytes: usize,
}

impl Stream {
    fn push(&mut self, cur: &mut BytesMut, msg: &Message, cx: &Context) {
        let before = cur.len();
        msg.encode(cx, cur);
        let len = cur.len() - before;
        assert!(
            len <= MAX_MESSAGE_LEN,
            "invariant: packed UPDATE of {len} octets"
        );
        self.messages += 1;
        self.bytes += len;
        if cur.len() >= CHUNK {
            self.chunks.push(cur.split().freeze());
        }
    }

    fn finish(&mut self, mut cur: BytesMut) {
        if !cur.is_empty() {
            self.chunks.push(cur.split().freeze());
        }
    }

    /// Appends `other` after `self`.
    pub fn extend(&mut self, other: Stream) {
        self.chunks.extend(other.chunks);
        self.messages += other.messages;
        self.prefixes += other.prefixes;
        self.bytes += other.bytes;
    }
}

/// UPDATEs announcing each group's prefixes with its attributes and our next hop.
pub fn announce(groups: &[(Attributes, Vec<Prefix>)], nh4: Ipv4Addr, nh6: Ipv6Addr) -> Stream {
    let cx = Context::default();
    let mut s = Stream::default();
    let mut cur = BytesMut::with_capacity(CHUNK + MAX_MESSAGE_LEN);
    let mut scratch = BytesMut::new();
    for (attrs, prefixes) in groups {
        for family in Family::ALL {
            let of_family: Vec<Prefix> = prefixes
                .iter()
                .copied()
                .filter(|p| p.family() == family)
                .collect();
            if of_family.is_empty() {
                continue;
            }
            let mut attrs = attrs.clone();
            attrs.next_hop = (family == Family::Ipv4Unicast).then_some(nh4);
            scratch.clear();
            encode_path_attributes(&attrs, &cx, &mut scratch);
            let mut room = MAX_MESSAGE_LEN - FIXED - scratch.len();
            if family == Family::Ipv6Unicast {
                room -= MP_REACH_OVERHEAD;
            }
            for batch in batches(&of_family, room) {
                s.prefixes += batch.len();
                let update = match family {
                    Family::Ipv4Unicast => Update {
                        attributes: Some(attrs.clone()),
                        nlri: batch.iter().filter_map(v4).collect(),
                        ..Update::default()
                    },
                    Family::Ipv6Unicast => Update {
                        attributes: Some(attrs.clone()),
                        mp_reach: Some(MpReach {
                            family,
                            next_hop: NextHop::V6 {
                                global: nh6,
                                link_local: None,
                            },
                            nlri: batch.to_vec(),
                        }),
                        ..Update::default()
                    },
                };
                s.push(&mut cur, &Message::Update(update), &cx);
            }
        }
    }
    s.finish(cur);
    s
}

/// UPDATEs withdrawing `prefixes`.
pub fn withdraw(prefixes: &[Prefix]) -> Stream {
    let cx = Context::default();
    let mut s = Stream::default();
    let mut cur = BytesMut::with_capacity(CHUNK + MAX_MESSAGE_LEN);
    for family in Family::ALL {
        let of_family: Vec<Prefix> = prefixes
            .iter()
            .copied()
            .filter(|p| p.family() == family)
            .collect();
        let room = match family {
            Family::Ipv4Unicast => MAX_MESSAGE_LEN - FIXED,
            Family::Ipv6Unicast => MAX_MESSAGE_LEN - FIXED - MP_UNREACH_OVERHEAD,
        };
        for batch in batches(&of_family, room) {
            s.prefixes += batch.len();
            let update = match family {
                Family::Ipv4Unicast => Update {
                    withdrawn: batch.iter().filter_map(v4).collect(),
                    ..Update::default()
                },
                Family::Ipv6Unicast => Update {
                    mp_unreach: Some(MpUnreach {
                        family,
                        withdrawn: batch.to_vec(),
                    }),
                    ..Update::default()
                },
            };
            s.push(&mut cur, &Message::Update(update), &cx);
        }
    }
    s.finish(cur);
    s
}

fn v4(p: &Prefix) -> Option<ipnet::Ipv4Net> {
    match p {
        Prefix::V4(n) => Some(*n),
        Prefix::V6(_) => None,
    }
}

/// Splits `prefixes` into runs whose encodings fit in `room` octets.
fn batches(prefixes: &[Prefix], room: usize) -> Vec<&[Prefix]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut used = 0;
    for (i, p) in prefixes.iter().enumerate() {
        let len = encoded_prefix_len(p);
        if used + len > room {
            out.push(&prefixes[start..i]);
            start = i;
            used = 0;
        }
        used += len;
    }
    if start < prefixes.len() {
        out.push(&prefixes[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bgp::wire::{AsPath, AsSegment, Origin, frame};
    use ipnet::{Ipv4Net, Ipv6Net};

    fn decode_all(s: &Stream) -> Vec<Update> {
        let mut out = Vec::new();
        for c in &s.chunks {
            let mut buf = &c[..];
            while let Some(n) = frame(buf).expect("framed") {
                match Message::decode(&buf[..n], &Context::default()).expect("decodes") {
                    Message::Update(u) => out.push(u),
                    m => panic!("not an update: {m:?}"),
                }
                buf = &buf[n..];
            }
            assert!(buf.is_empty());
        }
        out
    }

    #[test]
    fn a_large_group_is_split_into_full_updates_that_decode_to_every_prefix() {
        let prefixes: Vec<Prefix> = (0..5000u32)
            .map(|i| Prefix::V4(Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 + (i << 8)), 24).unwrap()))
            .chain((0..700u32).map(|i| {
                Prefix::V6(
                    Ipv6Net::new(
                        Ipv6Addr::from((0x2a00u128 << 112) | (u128::from(i) << 80)),
                        48,
                    )
                    .unwrap(),
                )
            }))
            .collect();
        let attrs = Attributes {
            origin: Some(Origin::Igp),
            as_path: AsPath {
                segments: vec![AsSegment::Sequence(vec![65001, 3356, 13335])],
            },
            communities: vec![1, 2, 3],
            ..Attributes::default()
        };
        let s = announce(
            &[(attrs, prefixes.clone())],
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv6Addr::LOCALHOST,
        );
        let updates = decode_all(&s);
        let mut got: Vec<Prefix> = updates
            .iter()
            .flat_map(|u| {
                u.nlri
                    .iter()
                    .map(|n| Prefix::V4(*n))
                    .chain(u.mp_reach.iter().flat_map(|m| m.nlri.clone()))
            })
            .collect();
        got.sort();
        let mut want = prefixes;
        want.sort();
        assert_eq!(got, want);
        assert_eq!(s.prefixes, 5700);
        // 5,000 /24s at 4 octets each need at least five 4 KiB messages, and no more than six.
        assert!(updates.len() <= 8, "{} updates", updates.len());
        let w = decode_all(&withdraw(&got));
        assert_eq!(
            w.iter()
                .map(|u| u.withdrawn.len() + u.mp_unreach.as_ref().map_or(0, |m| m.withdrawn.len()))
                .sum::<usize>(),
            5700
        );
    }
}
