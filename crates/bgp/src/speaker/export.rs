//! Export by update group: one encoding of each batch of best-path changes per set of peers
//! that would be sent identical bytes (FRR's update groups).
//!
//! Best-path changes are recorded once per prefix for the whole speaker ([`record`]): where
//! the best path came from before the batch, and the best path now. At [`flush_groups`] the
//! Established peers are grouped by everything export depends on (local address, hence next
//! hop; four-octet context; prepend; export policy; negotiated families). Within a group only
//! the "never send a route back to the peer it came from" rule differs between members, so
//! each group's output is cut into segments by who must not (or alone must) get them:
//!
//! - *all*: changes whose old and new best paths come from outside the group;
//! - *all but s*: announcements of paths learned from member `s`, and withdrawals of paths
//!   that member `s` had given us (it never had them from us);
//! - *only s*: withdrawals toward member `s` of what it had from us and now gets from itself.
//!
//! Each segment is encoded once and the same bytes (reference-counted) go to every member
//! that gets them. A peer that came up during the batch is not in any group: it gets the
//! whole table at the flush instead (`Input::Flush`), then End-of-RIB.

use std::collections::hash_map::Entry;
use std::hash::{Hash, Hasher};

use super::*;
use crate::wire::pack::{UPDATE_OVERHEAD, begin_update, chunks, finish_update, message_boundary};

/// A best-path change waiting for the next flush, shared by every peer.
#[derive(Debug)]
pub(super) struct Change {
    /// Where the best path came from before this batch (`None`: there was none). What each
    /// peer had been sent follows from it: no stored Adj-RIB-Out.
    old: Option<PeerIdx>,
    /// The best path now.
    new: Option<Path>,
}

/// Records a best-path change; a later change of the same prefix overwrites the new best.
pub(super) fn record(changes: &mut HashMap<Prefix, Change>, c: BestChange) {
    match changes.entry(c.prefix) {
        Entry::Occupied(mut o) => o.get_mut().new = c.new,
        Entry::Vacant(v) => {
            v.insert(Change {
                old: c.old.map(|p| p.peer),
                new: c.new,
            });
        }
    }
}

impl Export {
    /// Whether paths from `peer` are sent under this policy (the route-back rule aside).
    fn allows_peer(self, peer: PeerIdx) -> bool {
        match self {
            Export::All => true,
            Export::Learned => peer != PeerIdx::LOCAL,
            Export::Nothing => false,
        }
    }
}

/// Everything the bytes sent to a peer depend on, except the peer itself.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GroupKey {
    local_addr: IpAddr,
    context: Context,
    prepend: u8,
    export: Export,
    families: Vec<Family>,
}

/// Slot of changes whose source is not a member of the group.
const OUTSIDE: u32 = u32::MAX;

/// Per-member prefix counter changes of one group, per family.
#[derive(Debug, Default, Clone, Copy)]
struct Delta {
    /// Announcements of prefixes nobody in the group had, from this member (to all others).
    plus_all_but: [i64; 2],
    /// Announcements to this member of prefixes it had given us itself.
    plus_only: [i64; 2],
    /// Withdrawals of prefixes this member had given us (to all others).
    minus_all_but: [i64; 2],
    /// Withdrawals toward this member alone.
    minus_only: [i64; 2],
}

/// Source sets to announce: (slot, source attributes, IPv4 NLRI, IPv6 NLRI).
type SlotSet = (u32, Arc<PathAttrs>, Vec<Prefix>, Vec<Prefix>);

/// Encodes the recorded changes once per update group and queues the bytes toward every
/// member. Peers in `skip` (they get a full table instead) are left out.
pub(super) fn flush_groups(sp: &mut Speaker, skip: &[PeerIdx], out: &mut Vec<Output>) {
    if sp.changes.is_empty() {
        return;
    }
    let mut changes = std::mem::take(&mut sp.changes);
    let mut groups: Vec<(GroupKey, Vec<(PeerIdx, Direction)>)> = Vec::new();
    for (i, p) in sp.peers.iter().enumerate() {
        let idx = PeerIdx(i as u32);
        let Some(p) = p else { continue };
        let Some((n, direction)) = p.export_target() else {
            continue;
        };
        if p.settings.export == Export::Nothing || skip.contains(&idx) {
            continue;
        }
        let key = GroupKey {
            local_addr: n.local_addr,
            context: n.context,
            prepend: p.settings.prepend,
            export: p.settings.export,
            families: n.families.clone(),
        };
        match groups.iter_mut().find(|g| g.0 == key) {
            Some(g) => g.1.push((idx, direction)),
            None => groups.push((key, vec![(idx, direction)])),
        }
    }
    let mut member = vec![false; sp.peers.len()];
    let mut deltas = vec![Delta::default(); sp.peers.len()];
    let mut counted: Vec<(PeerIdx, [i64; 2])> = Vec::new();
    for (key, members) in &groups {
        for (idx, _) in members {
            member[idx.0 as usize] = true;
            deltas[idx.0 as usize] = Delta::default();
        }
        let is_member = |p: PeerIdx| member.get(p.0 as usize).copied().unwrap_or(false);
        let slot = |p: PeerIdx| if is_member(p) { p.0 } else { OUTSIDE };
        let family_ok = [Family::Ipv4Unicast, Family::Ipv6Unicast].map(|f| {
            key.families.contains(&f)
                && match f {
                    Family::Ipv4Unicast => key.local_addr.is_ipv4(),
                    Family::Ipv6Unicast => true,
                }
        });
        let export = key.export;
        // A group of one never sends its member's own routes anywhere.
        let lonely = members.len() == 1;
        let mut index: HashMap<(u32, usize), usize> =
            HashMap::with_capacity_and_hasher(changes.len(), Default::default());
        let mut sets: Vec<SlotSet> = Vec::new();
        // Withdrawals by slot: toward all but the slot's member ("all" for OUTSIDE), and
        // toward one member only.
        let mut withdraw_all_but: HashMap<u32, (Vec<Prefix>, Vec<Prefix>)> = HashMap::default();
        let mut withdraw_only: HashMap<u32, (Vec<Prefix>, Vec<Prefix>)> = HashMap::default();
        let mut outside = Delta::default();
        let push = |lists: &mut (Vec<Prefix>, Vec<Prefix>), p: Prefix| match p {
            Prefix::V4(_) => lists.0.push(p),
            Prefix::V6(_) => lists.1.push(p),
        };
        for (prefix, c) in &changes {
            let fi = family_index(prefix.family());
            if !family_ok[fi] {
                continue;
            }
            let old = c.old.filter(|&o| export.allows_peer(o));
            let new = c.new.as_ref().filter(|p| export.allows_peer(p.peer));
            match new {
                Some(p) => {
                    let s = slot(p.peer);
                    if s == OUTSIDE || !lonely {
                        let at = *index
                            .entry((s, Arc::as_ptr(&p.attrs) as usize))
                            .or_insert_with(|| {
                                sets.push((s, p.attrs.clone(), Vec::new(), Vec::new()));
                                sets.len() - 1
                            });
                        match prefix {
                            Prefix::V4(_) => sets[at].2.push(*prefix),
                            Prefix::V6(_) => sets[at].3.push(*prefix),
                        }
                    }
                    match old {
                        // Nobody had it from us: everyone but the source gains it.
                        None => match s {
                            OUTSIDE => outside.plus_all_but[fi] += 1,
                            s => deltas[s as usize].plus_all_but[fi] += 1,
                        },
                        Some(o) if o != p.peer => {
                            // The old source gains it; the new one loses what it had.
                            if is_member(o) {
                                deltas[o.0 as usize].plus_only[fi] += 1;
                            }
                            if s != OUTSIDE {
                                push(withdraw_only.entry(s).or_default(), *prefix);
                                deltas[s as usize].minus_only[fi] += 1;
                            }
                        }
                        Some(_) => {}
                    }
                }
                None => {
                    if let Some(o) = old {
                        let s = slot(o);
                        if s == OUTSIDE || !lonely {
                            push(withdraw_all_but.entry(s).or_default(), *prefix);
                        }
                        match s {
                            OUTSIDE => outside.minus_all_but[fi] += 1,
                            s => deltas[s as usize].minus_all_but[fi] += 1,
                        }
                    }
                }
            }
        }
        // Encode each segment once.
        let mut all = BytesMut::new();
        let mut all_but: HashMap<u32, BytesMut> = HashMap::default();
        let mut only: HashMap<u32, BytesMut> = HashMap::default();
        for (s, (v4, v6)) in &withdraw_all_but {
            let buf = match *s {
                OUTSIDE => &mut all,
                s => all_but.entry(s).or_default(),
            };
            encode_withdrawals(v4, v6, &key.context, buf);
        }
        for (s, (v4, v6)) in &withdraw_only {
            encode_withdrawals(v4, v6, &key.context, only.entry(*s).or_default());
        }
        sets.sort_by_key(|s| s.0);
        let export_to = ExportTo {
            local_as: sp.local_as,
            prepend: key.prepend,
            local_addr: key.local_addr,
            cx: key.context,
        };
        for run in sets.chunk_by(|a, b| a.0 == b.0) {
            let buf = match run[0].0 {
                OUTSIDE => &mut all,
                s => all_but.entry(s).or_default(),
            };
            encode_announcements(run.iter().map(|s| (&s.1, &s.2, &s.3)), &export_to, buf);
        }
        let all = cut(all);
        let all_but: Vec<(u32, Vec<Bytes>)> =
            all_but.into_iter().map(|(s, b)| (s, cut(b))).collect();
        let mut only: HashMap<u32, Vec<Bytes>> =
            only.into_iter().map(|(s, b)| (s, cut(b))).collect();
        // What every member gains and loses.
        let mut total = outside;
        for (idx, _) in members {
            let d = &deltas[idx.0 as usize];
            for fi in 0..2 {
                total.plus_all_but[fi] += d.plus_all_but[fi];
                total.minus_all_but[fi] += d.minus_all_but[fi];
            }
        }
        for &(idx, direction) in members {
            let send = |out: &mut Vec<Output>, pieces: &[Bytes]| {
                out.extend(
                    pieces
                        .iter()
                        .map(|b| Output::Send(idx, direction, b.clone())),
                );
            };
            send(out, &all);
            for (s, pieces) in &all_but {
                if *s != idx.0 {
                    send(out, pieces);
                }
            }
            if let Some(pieces) = only.remove(&idx.0) {
                send(out, &pieces);
            }
            let d = &deltas[idx.0 as usize];
            let mut delta = [0i64; 2];
            for (fi, delta) in delta.iter_mut().enumerate() {
                *delta = total.plus_all_but[fi] - d.plus_all_but[fi] + d.plus_only[fi]
                    - (total.minus_all_but[fi] - d.minus_all_but[fi])
                    - d.minus_only[fi];
            }
            counted.push((idx, delta));
        }
        for (idx, _) in members {
            member[idx.0 as usize] = false;
        }
    }
    for (idx, delta) in counted {
        if let Some(peer) = sp.peer_mut(idx) {
            for (a, d) in peer.advertised.iter_mut().zip(delta) {
                *a = (i64::from(*a) + d).clamp(0, i64::from(u32::MAX)) as u32;
            }
        }
    }
    // Keep the map's capacity for the next batch; the paths it held are released here,
    // before the pool's sweep.
    changes.clear();
    sp.changes = changes;
}

/// `bytes` as writes of at most [`SEND_CHUNK`], cut at message boundaries.
fn cut(bytes: BytesMut) -> Vec<Bytes> {
    let mut bytes = bytes.freeze();
    let mut pieces = Vec::new();
    while !bytes.is_empty() {
        let at = message_boundary(&bytes, SEND_CHUNK);
        pieces.push(bytes.split_to(at));
    }
    pieces
}

/// What export to one peer (or group) rewrites.
#[derive(Debug, Clone, Copy)]
pub(super) struct ExportTo {
    pub local_as: u32,
    pub prepend: u8,
    pub local_addr: IpAddr,
    pub cx: Context,
}

/// A source attribute set seen through export: equal when the exported sets would be equal
/// (they differ at most in what export removes or rewrites: NEXT_HOP, MED, LOCAL_PREF, and
/// the stored next hop), without building the exported set.
struct ExportKey<'a>(&'a PathAttrs);

impl ExportKey<'_> {
    fn parts(&self) -> ExportParts<'_> {
        // Every field named, so that a new attribute cannot be forgotten here.
        let Attributes {
            origin,
            as_path,
            next_hop: _,
            med: _,
            local_pref: _,
            atomic_aggregate,
            aggregator,
            communities,
            large_communities,
            unknown,
        } = &self.0.attrs;
        (
            origin,
            as_path,
            atomic_aggregate,
            aggregator,
            communities,
            large_communities,
            unknown,
        )
    }
}

type ExportParts<'a> = (
    &'a Option<Origin>,
    &'a wire::AsPath,
    &'a bool,
    &'a Option<wire::Aggregator>,
    &'a Vec<u32>,
    &'a Vec<wire::LargeCommunity>,
    &'a Vec<wire::RawAttribute>,
);

impl PartialEq for ExportKey<'_> {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.0, other.0) || self.parts() == other.parts()
    }
}
impl Eq for ExportKey<'_> {}
impl Hash for ExportKey<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.parts().hash(state)
    }
}

/// Appends UPDATEs withdrawing `v4` (Withdrawn Routes) and `v6` (MP_UNREACH_NLRI).
pub(super) fn encode_withdrawals(v4: &[Prefix], v6: &[Prefix], cx: &Context, out: &mut BytesMut) {
    for chunk in chunks(v4, MAX_MESSAGE_LEN - UPDATE_OVERHEAD) {
        let start = begin_update(out);
        let len_at = out.len();
        out.put_u16(0);
        for p in chunk {
            wire::put_prefix(out, p);
        }
        let withdrawn = (out.len() - len_at - 2) as u16;
        out[len_at..len_at + 2].copy_from_slice(&withdrawn.to_be_bytes());
        out.put_u16(0);
        finish_update(out, start);
    }
    // MP_UNREACH_NLRI: flags, type, 2-byte length, AFI, SAFI.
    for chunk in chunks(v6, MAX_MESSAGE_LEN - UPDATE_OVERHEAD - 7) {
        let u = Update {
            mp_unreach: Some(MpUnreach {
                family: Family::Ipv6Unicast,
                withdrawn: chunk.to_vec(),
            }),
            ..Update::default()
        };
        Message::Update(u).encode(cx, out);
    }
}

/// Appends UPDATEs announcing each source set's prefixes with the exported attributes; sets
/// that export identically are merged, and each exported set is encoded once.
pub(super) fn encode_announcements<'a>(
    sets: impl Iterator<Item = (&'a Arc<PathAttrs>, &'a Vec<Prefix>, &'a Vec<Prefix>)>,
    to: &ExportTo,
    out: &mut BytesMut,
) {
    // Sets chained per exported key: first index, and the next set with the same key.
    let sets: Vec<_> = sets.collect();
    let mut first: HashMap<ExportKey<'_>, usize> = HashMap::default();
    let mut next: Vec<usize> = vec![usize::MAX; sets.len()];
    let mut last: Vec<usize> = Vec::with_capacity(sets.len());
    let mut heads: Vec<usize> = Vec::new();
    for (i, (attrs, _, _)) in sets.iter().enumerate() {
        match first.entry(ExportKey(attrs)) {
            Entry::Occupied(o) => {
                let head = *o.get();
                let tail = last[head];
                next[tail] = i;
                last[head] = i;
                last.push(usize::MAX);
            }
            Entry::Vacant(v) => {
                v.insert(i);
                heads.push(i);
                last.push(i);
            }
        }
    }
    let v4_next_hop = match to.local_addr {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(_) => None,
    };
    let v6_next_hop = match to.local_addr {
        IpAddr::V6(a) => a,
        IpAddr::V4(a) => a.to_ipv6_mapped(),
    };
    let mut merged4: Vec<Prefix> = Vec::new();
    let mut merged6: Vec<Prefix> = Vec::new();
    let mut attr_bytes = BytesMut::new();
    for head in heads {
        let (v4, v6): (&[Prefix], &[Prefix]) = if next[head] == usize::MAX {
            (sets[head].1, sets[head].2)
        } else {
            merged4.clear();
            merged6.clear();
            let mut i = head;
            while i != usize::MAX {
                merged4.extend_from_slice(sets[i].1);
                merged6.extend_from_slice(sets[i].2);
                i = next[i];
            }
            (&merged4, &merged6)
        };
        let mut attrs = export_attributes(sets[head].0, to.local_as, to.prepend);
        if let (false, Some(nh)) = (v4.is_empty(), v4_next_hop) {
            attrs.next_hop = Some(nh);
            attr_bytes.clear();
            wire::encode_path_attributes(&attrs, &to.cx, &mut attr_bytes);
            let room = MAX_MESSAGE_LEN.saturating_sub(UPDATE_OVERHEAD + attr_bytes.len());
            for chunk in chunks(v4, room) {
                let start = begin_update(out);
                out.put_u16(0);
                out.put_u16(attr_bytes.len() as u16);
                out.extend_from_slice(&attr_bytes);
                for p in chunk {
                    wire::put_prefix(out, p);
                }
                finish_update(out, start);
            }
            attrs.next_hop = None;
        }
        if !v6.is_empty() {
            let next_hop = NextHop::V6 {
                global: v6_next_hop,
                link_local: None,
            };
            let empty = Update {
                attributes: Some(attrs.clone()),
                mp_reach: Some(MpReach {
                    family: Family::Ipv6Unicast,
                    next_hop,
                    nlri: Vec::new(),
                }),
                ..Update::default()
            };
            // One spare byte: the MP_REACH length may need the extended form.
            let mut probe = BytesMut::new();
            Message::Update(empty).encode(&to.cx, &mut probe);
            let overhead = probe.len() + 1;
            for chunk in chunks(v6, MAX_MESSAGE_LEN.saturating_sub(overhead)) {
                let u = Update {
                    attributes: Some(attrs.clone()),
                    mp_reach: Some(MpReach {
                        family: Family::Ipv6Unicast,
                        next_hop,
                        nlri: chunk.to_vec(),
                    }),
                    ..Update::default()
                };
                Message::Update(u).encode(&to.cx, out);
            }
        }
    }
}

/// Turns one peer's own queue (a full table after it came up, a route refresh, a new
/// prepend) into UPDATEs appended to `out`: withdrawals, then reachable prefixes grouped by
/// exported attributes, then End-of-RIB markers.
pub(super) fn build_updates(tx: Tx, to: &ExportTo, out: &mut BytesMut) {
    let mut withdraw4 = Vec::new();
    let mut withdraw6 = Vec::new();
    // Keyed by the interned source attributes' address.
    let mut index: HashMap<usize, usize> = HashMap::default();
    let mut sets: Vec<(Arc<PathAttrs>, Vec<Prefix>, Vec<Prefix>)> = Vec::new();
    for (prefix, pending) in tx.pending {
        match pending.attrs {
            None if !pending.was_advertised => {}
            None => match prefix {
                Prefix::V4(_) => withdraw4.push(prefix),
                Prefix::V6(_) => withdraw6.push(prefix),
            },
            Some(a) => {
                let at = *index.entry(Arc::as_ptr(&a) as usize).or_insert_with(|| {
                    sets.push((a.clone(), Vec::new(), Vec::new()));
                    sets.len() - 1
                });
                match prefix {
                    Prefix::V4(_) => sets[at].1.push(prefix),
                    Prefix::V6(_) => sets[at].2.push(prefix),
                }
            }
        }
    }
    encode_withdrawals(&withdraw4, &withdraw6, &to.cx, out);
    encode_announcements(sets.iter().map(|s| (&s.0, &s.1, &s.2)), to, out);
    for f in tx.end_of_rib {
        Message::Update(Update::end_of_rib(f)).encode(&to.cx, out);
    }
}

/// Queues the recorded changes toward one peer in its own queue, as seen by that peer (for
/// a peer that also gets a full table in this flush, so each prefix goes out once).
pub(super) fn queue_changes(sp: &mut Speaker, idx: PeerIdx) {
    let Some(peer) = sp.peers.get_mut(idx.0 as usize).and_then(Option::as_mut) else {
        return;
    };
    let Some((n, _)) = peer.export_target() else {
        return;
    };
    let family_ok = [Family::Ipv4Unicast, Family::Ipv6Unicast].map(|f| exportable(n, f));
    let export = peer.settings.export;
    for (prefix, c) in &sp.changes {
        let fi = family_index(prefix.family());
        if !family_ok[fi] {
            continue;
        }
        let was = c.old.is_some_and(|o| o != idx && export.allows_peer(o));
        let now = c
            .new
            .as_ref()
            .filter(|p| p.peer != idx && export.allows_peer(p.peer));
        match (was, now) {
            (_, Some(p)) => {
                if !was {
                    peer.advertised[fi] += 1;
                }
                peer.tx.queue(*prefix, was, Some(p.attrs.clone()));
            }
            (true, None) => {
                peer.advertised[fi] = peer.advertised[fi].saturating_sub(1);
                peer.tx.queue(*prefix, true, None);
            }
            (false, None) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    //! Update groups against a model: random announcements, withdrawals, originations, route
    //! refreshes and prepend changes from peers that share one group, flushed at random
    //! points; after every flush each peer must hold exactly what a per-peer export would
    //! have given it, and its `advertised` counter must match.

    use std::collections::BTreeMap;
    use std::net::Ipv4Addr;

    use ipnet::Ipv4Net;

    use super::*;
    use crate::SessionConfig;
    use crate::wire::{AsPath, AsSegment, Capability, Open, RouteRefresh};

    const LOCAL_AS: u32 = 12076;
    const DIR: Direction = Direction::Outgoing;

    /// What one peer holds from us: prefix → (AS path, next hop).
    type Held = BTreeMap<Prefix, (Vec<u32>, Ipv4Addr)>;

    struct Peer {
        idx: PeerIdx,
        asn: u32,
        local: Ipv4Addr,
        export: Export,
        prepend: u8,
        held: Held,
    }

    fn settings(asn: u32, address: Ipv4Addr, export: Export, prepend: u8) -> PeerSettings {
        PeerSettings {
            name: format!("AS{asn}"),
            address: IpAddr::V4(address),
            local_address: None,
            md5_key: None,
            shutdown: false,
            session: SessionConfig {
                local_as: LOCAL_AS,
                router_id: Ipv4Addr::new(10, 255, 0, 1),
                remote_as: asn,
                hold_time: Duration::from_secs(90),
                connect_retry: Duration::from_secs(10),
                passive: false,
                families: vec![Family::Ipv4Unicast],
                error_wait: None,
            },
            max_prefixes: [None, None],
            prepend,
            weight: 0,
            export,
        }
    }

    fn flat(path: &AsPath) -> Vec<u32> {
        path.segments
            .iter()
            .flat_map(|s| match s {
                AsSegment::Sequence(v) | AsSegment::Set(v) => v.clone(),
                _ => Vec::new(),
            })
            .collect()
    }

    /// Applies everything sent to each peer to what it holds.
    fn deliver(peers: &mut [Peer], out: &[Output]) {
        for o in out {
            let Output::Send(idx, _, bytes) = o else {
                continue;
            };
            let peer = peers.iter_mut().find(|p| p.idx == *idx).expect("a peer");
            let mut at = 0;
            while at < bytes.len() {
                let len = wire::frame(&bytes[at..]).expect("framed").expect("whole");
                assert!(len <= MAX_MESSAGE_LEN);
                let Message::Update(u) =
                    Message::decode(&bytes[at..at + len], &Context::default()).expect("decodes")
                else {
                    panic!("only UPDATEs");
                };
                at += len;
                for w in &u.withdrawn {
                    peer.held.remove(&Prefix::V4(*w));
                }
                if let Some(a) = &u.attributes {
                    for n in &u.nlri {
                        let nh = a.next_hop.expect("a next hop");
                        peer.held.insert(Prefix::V4(*n), (flat(&a.as_path), nh));
                    }
                }
            }
        }
    }

    /// Checks every peer against the Loc-RIB.
    fn check(sp: &Speaker, peers: &[Peer], step: usize) {
        for p in peers {
            let mut expected = Held::new();
            for (prefix, dest) in sp.rib().iter() {
                let Some(best) = dest.best() else { continue };
                if best.peer == p.idx || !p.export.allows(best) {
                    continue;
                }
                let mut path = vec![LOCAL_AS; 1 + usize::from(p.prepend)];
                path.extend(flat(&best.attrs.attrs.as_path));
                expected.insert(prefix, (path, p.local));
            }
            assert_eq!(p.held, expected, "AS{} after step {step}", p.asn);
            let advertised = sp
                .peers()
                .find(|(i, _)| *i == p.idx)
                .map(|(_, s)| s.counters[0].advertised)
                .expect("a peer");
            assert_eq!(
                advertised as usize,
                expected.len(),
                "AS{} advertised after step {step}",
                p.asn
            );
        }
    }

    #[test]
    fn peers_sharing_an_update_group_each_get_exactly_their_table() {
        let shared = Ipv4Addr::new(10, 0, 0, 1);
        let mut sp = Speaker::new(LOCAL_AS, Ipv4Addr::new(10, 255, 0, 1));
        let spec = [
            (65001, Ipv4Addr::new(10, 0, 0, 2), shared, Export::All),
            (65002, Ipv4Addr::new(10, 0, 0, 3), shared, Export::All),
            (65003, Ipv4Addr::new(10, 0, 0, 4), shared, Export::All),
            (65004, Ipv4Addr::new(10, 0, 0, 5), shared, Export::Learned),
            (
                65100,
                Ipv4Addr::new(10, 1, 0, 2),
                Ipv4Addr::new(10, 1, 0, 1),
                Export::All,
            ),
        ];
        let mut peers = Vec::new();
        let mut out = Vec::new();
        for (asn, address, local, export) in spec {
            let (idx, _) = sp.add_peer(settings(asn, address, export, 0));
            sp.event(
                idx,
                Event::TcpConnected {
                    direction: DIR,
                    local_addr: IpAddr::V4(local),
                },
            );
            let open = Message::Open(Open {
                version: 4,
                my_as: u16::try_from(asn).unwrap_or(wire::AS_TRANS),
                hold_time: 90,
                bgp_identifier: address,
                capabilities: vec![
                    Capability::Multiprotocol(Family::Ipv4Unicast),
                    Capability::RouteRefresh,
                    Capability::FourOctetAs(asn),
                ],
            });
            sp.event(idx, Event::MessageReceived(DIR, open));
            let o = sp.event(idx, Event::MessageReceived(DIR, Message::Keepalive));
            assert!(o.contains(&Output::PeerUp(idx)));
            out.extend(o);
            peers.push(Peer {
                idx,
                asn,
                local,
                export,
                prepend: 0,
                held: Held::new(),
            });
        }
        let prefixes: Vec<Ipv4Net> = (0..40u32)
            .map(|i| Ipv4Net::new(Ipv4Addr::from(0x0a64_0000 + (i << 8)), 24).expect("a /24"))
            .collect();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rand = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for step in 0..4000 {
            match rand(100) {
                0..40 => {
                    // A sender (one of the first four) announces 1–3 prefixes.
                    let p = rand(4) as usize;
                    let extra = rand(3) as u32;
                    let mut path = vec![peers[p].asn];
                    path.extend((0..extra).map(|k| 64512 + k + rand(5) as u32));
                    let nlri = (0..1 + rand(3))
                        .map(|_| prefixes[rand(prefixes.len() as u64) as usize])
                        .collect();
                    let u = Update {
                        attributes: Some(Attributes {
                            origin: Some(Origin::Igp),
                            as_path: AsPath {
                                segments: vec![AsSegment::Sequence(path)],
                            },
                            next_hop: Some(Ipv4Addr::new(10, 0, 0, 2 + p as u8)),
                            med: (rand(2) == 0).then(|| rand(3) as u32),
                            ..Attributes::default()
                        }),
                        nlri,
                        ..Update::default()
                    };
                    out.extend(sp.event(
                        peers[p].idx,
                        Event::MessageReceived(DIR, Message::Update(u)),
                    ));
                }
                40..65 => {
                    let p = rand(4) as usize;
                    let u = Update {
                        withdrawn: (0..1 + rand(3))
                            .map(|_| prefixes[rand(prefixes.len() as u64) as usize])
                            .collect(),
                        ..Update::default()
                    };
                    out.extend(sp.event(
                        peers[p].idx,
                        Event::MessageReceived(DIR, Message::Update(u)),
                    ));
                }
                65..68 => {
                    let originated = prefixes
                        .iter()
                        .filter(|_| rand(8) == 0)
                        .map(|n| Prefix::V4(*n))
                        .collect();
                    sp.set_originated(originated);
                }
                68..70 => {
                    let p = rand(peers.len() as u64) as usize;
                    let rr = Message::RouteRefresh(RouteRefresh {
                        family: Some(Family::Ipv4Unicast),
                        afi: 1,
                        safi: 1,
                    });
                    out.extend(sp.event(peers[p].idx, Event::MessageReceived(DIR, rr)));
                }
                70..72 => {
                    // The third sender's drain prepend toggles: it leaves the group (or
                    // joins it again) and gets everything re-sent.
                    let p = &mut peers[2];
                    p.prepend = 1 - p.prepend;
                    let s = settings(p.asn, Ipv4Addr::new(10, 0, 0, 4), p.export, p.prepend);
                    out.extend(sp.update_peer(p.idx, s));
                }
                _ => {
                    out.extend(sp.flush());
                    deliver(&mut peers, &out);
                    out.clear();
                    check(&sp, &peers, step);
                }
            }
        }
        out.extend(sp.flush());
        deliver(&mut peers, &out);
        check(&sp, &peers, usize::MAX);
    }
}
