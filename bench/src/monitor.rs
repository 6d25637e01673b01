//! The monitor's view: what the target exported on one session, compared with what it should
//! export once converged.
//!
//! Each UPDATE body is read with a minimal parser (withdrawn routes, AS_PATH, MP_REACH_NLRI,
//! MP_UNREACH_NLRI, NLRI; nothing else is looked at) so the monitor costs little CPU on a
//! machine it shares with the target. Per prefix it keeps a *signature* of the path it holds:
//! the neighbouring AS behind the target (the second ASN) and the AS_PATH length. The run
//! knows the signature each prefix must end with, so "converged" means every expected prefix
//! is held with its final path and nothing else is held — the same rule for every target,
//! with one path per prefix (scenario 1) or ten (scenario 2), and for churn (scenario 4).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bgp::wire::Prefix;

/// A prefix as a map key: address bits (IPv4 in the low 32) and length, 0x80 set for IPv6.
pub type Key = (u128, u8);

pub fn key(p: &Prefix) -> Key {
    match p {
        Prefix::V4(n) => (u128::from(u32::from(n.network())), n.prefix_len()),
        Prefix::V6(n) => (u128::from(n.network()), n.prefix_len() | 0x80),
    }
}

/// Neighbouring AS and AS_PATH length as one number.
pub fn signature(neighbor_as: u32, path_len: u8) -> u64 {
    u64::from(neighbor_as) << 8 | u64::from(path_len)
}

/// One monitor session's table.
#[derive(Debug, Default)]
pub struct Table {
    expected: HashMap<Key, u64>,
    held: HashMap<Key, u64>,
    /// Held prefixes whose signature is the expected one.
    matching: usize,
    /// Held prefixes that are not expected at all.
    unexpected: usize,
    pub held_v4: usize,
    pub held_v6: usize,
    /// UPDATEs that did not parse (counted, skipped).
    pub malformed: u64,
    /// When the table last became complete; `None` while it is not.
    pub complete_at: Option<Instant>,
}

/// Shared between the session's reader and the run.
pub type Shared = Arc<Mutex<Table>>;

impl Table {
    pub fn new(expected: HashMap<Key, u64>) -> Table {
        Table {
            expected,
            ..Table::default()
        }
    }

    pub fn expected_len(&self) -> usize {
        self.expected.len()
    }

    pub fn unexpected(&self) -> usize {
        self.unexpected
    }

    /// Expected prefixes not (yet) held with their final path.
    pub fn missing(&self) -> usize {
        self.expected.len() - self.matching
    }

    pub fn is_complete(&self) -> bool {
        self.matching == self.expected.len() && self.unexpected == 0
    }

    /// Replaces what the table should converge to (the next phase of a churn run).
    pub fn set_expected(&mut self, expected: HashMap<Key, u64>) {
        self.expected = expected;
        self.matching = 0;
        self.unexpected = 0;
        for (k, sig) in &self.held {
            match self.expected.get(k) {
                Some(e) if e == sig => self.matching += 1,
                Some(_) => {}
                None => self.unexpected += 1,
            }
        }
        self.complete_at = self.is_complete().then(Instant::now);
    }

    fn reach(&mut self, k: Key, sig: u64) {
        let exp = self.expected.get(&k).copied();
        match self.held.insert(k, sig) {
            Some(old) => {
                if exp == Some(old) {
                    self.matching -= 1;
                }
            }
            None => {
                if exp.is_none() {
                    self.unexpected += 1;
                }
                self.count(k, 1);
            }
        }
        if exp == Some(sig) {
            self.matching += 1;
        }
    }

    fn withdraw(&mut self, k: Key) {
        if let Some(old) = self.held.remove(&k) {
            match self.expected.get(&k) {
                Some(e) if *e == old => self.matching -= 1,
                Some(_) => {}
                None => self.unexpected -= 1,
            }
            self.count(k, -1);
        }
    }

    fn count(&mut self, k: Key, d: isize) {
        let c = if k.1 & 0x80 != 0 {
            &mut self.held_v6
        } else {
            &mut self.held_v4
        };
        *c = c.saturating_add_signed(d);
    }

    /// Applies one UPDATE body (after the 19-octet header).
    pub fn apply(&mut self, body: &[u8]) {
        if parse(body, self).is_none() {
            self.malformed += 1;
        }
        if self.is_complete() {
            if self.complete_at.is_none() {
                self.complete_at = Some(Instant::now());
            }
        } else {
            self.complete_at = None;
        }
    }
}

/// Reads an UPDATE body: withdrawals first, then reachable prefixes with the path signature.
fn parse(body: &[u8], t: &mut Table) -> Option<()> {
    let wlen = usize::from(u16::from_be_bytes([*body.first()?, *body.get(1)?]));
    let withdrawn = body.get(2..2 + wlen)?;
    let rest = body.get(2 + wlen..)?;
    let alen = usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
    let mut attrs = rest.get(2..2 + alen)?;
    let nlri = rest.get(2 + alen..)?;
    prefixes(withdrawn, false, |k| t.withdraw(k))?;
    let mut sig = None;
    let mut mp_reach: Option<&[u8]> = None;
    while !attrs.is_empty() {
        let flags = *attrs.first()?;
        let code = *attrs.get(1)?;
        let (len, hdr) = if flags & 0x10 != 0 {
            (
                usize::from(u16::from_be_bytes([*attrs.get(2)?, *attrs.get(3)?])),
                4,
            )
        } else {
            (usize::from(*attrs.get(2)?), 3)
        };
        let value = attrs.get(hdr..hdr + len)?;
        match code {
            2 => sig = Some(as_path_signature(value)?),
            14 => mp_reach = Some(value),
            15 => {
                // AFI (2), SAFI (1), withdrawn prefixes.
                let v6 = u16::from_be_bytes([*value.first()?, *value.get(1)?]) == 2;
                prefixes(value.get(3..)?, v6, |k| t.withdraw(k))?;
            }
            _ => {}
        }
        attrs = &attrs[hdr + len..];
    }
    let sig = sig.unwrap_or(0);
    prefixes(nlri, false, |k| t.reach(k, sig))?;
    if let Some(v) = mp_reach {
        let v6 = u16::from_be_bytes([*v.first()?, *v.get(1)?]) == 2;
        let nh_len = usize::from(*v.get(3)?);
        prefixes(v.get(4 + nh_len + 1..)?, v6, |k| t.reach(k, sig))?;
    }
    Some(())
}

/// Neighbouring AS (the second ASN: the first is the target's own) and the path length, for
/// four-octet AS_PATHs.
fn as_path_signature(mut v: &[u8]) -> Option<u64> {
    let mut asns: Vec<u32> = Vec::with_capacity(2);
    let mut len = 0usize;
    while !v.is_empty() {
        let seg_type = *v.first()?;
        let n = usize::from(*v.get(1)?);
        let body = v.get(2..2 + 4 * n)?;
        if seg_type == 2 {
            len += n;
            for c in body.chunks_exact(4).take(2usize.saturating_sub(asns.len())) {
                asns.push(u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
            }
        } else if seg_type == 1 {
            len += 1;
        }
        v = &v[2 + 4 * n..];
    }
    Some(signature(
        asns.get(1).copied().unwrap_or(0),
        u8::try_from(len).unwrap_or(u8::MAX),
    ))
}

fn prefixes(mut v: &[u8], v6: bool, mut f: impl FnMut(Key)) -> Option<()> {
    while !v.is_empty() {
        let len = *v.first()?;
        let octets = usize::from(len).div_ceil(8);
        let bytes = v.get(1..1 + octets)?;
        let k = if v6 {
            let mut a = [0u8; 16];
            a.get_mut(..octets)?.copy_from_slice(bytes);
            (u128::from_be_bytes(a), len | 0x80)
        } else {
            let mut a = [0u8; 4];
            a.get_mut(..octets)?.copy_from_slice(bytes);
            (u128::from(u32::from_be_bytes(a)), len)
        };
        f(k);
        v = &v[1 + octets..];
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bgp::wire::{AsPath, AsSegment, Attributes, Context, Message, Origin, Update};
    use bytes::BytesMut;
    use ipnet::Ipv4Net;

    fn body(u: Update) -> Vec<u8> {
        let mut out = BytesMut::new();
        Message::Update(u).encode(&Context::default(), &mut out);
        out[19..].to_vec()
    }

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    fn reach(prefixes: &[&str], path: Vec<u32>) -> Vec<u8> {
        body(Update {
            attributes: Some(Attributes {
                origin: Some(Origin::Igp),
                as_path: AsPath {
                    segments: vec![AsSegment::Sequence(path)],
                },
                next_hop: Some("10.200.0.1".parse().unwrap()),
                ..Attributes::default()
            }),
            nlri: prefixes.iter().map(|p| net(p)).collect(),
            ..Update::default()
        })
    }

    #[test]
    fn the_table_is_complete_only_with_every_final_path_and_nothing_else() {
        let a = key(&Prefix::V4(net("10.1.0.0/16")));
        let b = key(&Prefix::V4(net("10.2.0.0/24")));
        let mut t = Table::new(HashMap::from([
            (a, signature(65001, 3)),
            (b, signature(65002, 3)),
        ]));
        t.apply(&reach(
            &["10.1.0.0/16", "10.2.0.0/24"],
            vec![12076, 65001, 3356],
        ));
        assert!(!t.is_complete(), "10.2/24 came over the losing path");
        t.apply(&reach(&["10.2.0.0/24"], vec![12076, 65002, 174]));
        assert!(t.is_complete());
        assert!(t.complete_at.is_some());
        t.apply(&reach(&["192.0.2.0/24"], vec![12076, 65001, 1]));
        assert!(!t.is_complete(), "an unexpected prefix");
        t.apply(&body(Update {
            withdrawn: vec![net("192.0.2.0/24")],
            ..Update::default()
        }));
        assert!(t.is_complete());
        assert_eq!((t.held_v4, t.held_v6), (2, 0));
    }
}
