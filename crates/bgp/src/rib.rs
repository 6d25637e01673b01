//! The routing information base of one routing domain.
//!
//! One structure per destination holds every peer's path to it: the Adj-RIB-In of each peer
//! and the Loc-RIB are views of the same [`Destination`], whose first path is the best one
//! (RFC 4271 §9.1). Paths share their attributes through an [`AttrPool`], so a full table of
//! routes carrying a few thousand distinct attribute sets stores each set once.

use std::cmp::Ordering;
use std::collections::HashMap as StdHashMap;
use std::collections::hash_map::Entry;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use ipnet::{Ipv4Net, Ipv6Net};

use crate::wire::{Attributes, Family, NextHop, Origin, Prefix};

/// The maps on the route path hash with foldhash (randomly seeded per process, so a peer
/// cannot aim collisions, and several times faster than SipHash on these small keys).
pub type HashMap<K, V> = StdHashMap<K, V, foldhash::fast::RandomState>;

/// Index of a peer within its speaker; [`PeerIdx::LOCAL`] marks routes the domain originates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerIdx(pub u32);

impl PeerIdx {
    pub const LOCAL: PeerIdx = PeerIdx(u32::MAX);
}

/// A path's attributes as stored: what the peer sent, with the next hop lifted out of
/// NEXT_HOP / MP_REACH_NLRI so both families share one shape. `next_hop` is `None` for routes
/// the domain originates.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PathAttrs {
    pub attrs: Attributes,
    pub next_hop: Option<NextHop>,
}

impl PathAttrs {
    /// LOCAL_PREF for the decision process: eBGP-learned routes carry none and get 100.
    pub fn local_pref(&self) -> u32 {
        self.attrs.local_pref.unwrap_or(100)
    }

    /// The next hop as one address (the global one for IPv6).
    pub fn next_hop_addr(&self) -> Option<IpAddr> {
        match self.next_hop? {
            NextHop::V4(a) => Some(IpAddr::V4(a)),
            NextHop::V6 { global, .. } => Some(IpAddr::V6(global)),
        }
    }
}

/// One path to a destination.
#[derive(Debug, Clone)]
pub struct Path {
    pub peer: PeerIdx,
    /// Kept across a peer's graceful restart until refreshed or purged (RFC 4724 §4.2).
    pub stale: bool,
    pub attrs: Arc<PathAttrs>,
}

impl Path {
    /// Same peer and the very same interned attributes.
    pub fn same(&self, other: &Path) -> bool {
        self.peer == other.peer && Arc::ptr_eq(&self.attrs, &other.attrs)
    }
}

/// All paths to one prefix, best first.
#[derive(Debug, Clone, Default)]
pub struct Destination {
    paths: Vec<Path>,
}

impl Destination {
    pub fn best(&self) -> Option<&Path> {
        self.paths.first()
    }
    pub fn paths(&self) -> &[Path] {
        &self.paths
    }
}

/// What the decision process needs to know about a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerRank {
    /// Local preference of everything from this peer over everything else, before any
    /// attribute is looked at (higher wins; what routers call *weight*, and what an
    /// ExpressRoute connection's `routingWeight` means on the gateway).
    pub weight: u32,
    /// The peer's BGP Identifier (tie-break g).
    pub router_id: Ipv4Addr,
    /// The peer's address (tie-break h).
    pub address: IpAddr,
    pub ebgp: bool,
}

/// Old and new best path of a prefix whose best path changed.
#[derive(Debug, Clone)]
pub struct BestChange {
    pub prefix: Prefix,
    pub old: Option<Path>,
    pub new: Option<Path>,
}

// ===== AttrPool =====

/// Interned attribute sets: every distinct [`PathAttrs`] is stored once.
///
/// Each entry keeps its hash, so a set is hashed once when it is interned (and once when it
/// goes), never again when the table grows.
#[derive(Debug, Default)]
pub struct AttrPool {
    set: hashbrown::HashTable<(u64, Arc<PathAttrs>)>,
    hasher: foldhash::fast::RandomState,
    /// Sets released while something else (a queued export) still held them: checked again
    /// by [`AttrPool::sweep`] once those queues are gone.
    deferred: Vec<std::sync::Weak<PathAttrs>>,
}

impl AttrPool {
    fn hash(&self, attrs: &PathAttrs) -> u64 {
        use std::hash::BuildHasher;
        self.hasher.hash_one(attrs)
    }

    /// The shared copy of `attrs`.
    pub fn intern(&mut self, attrs: PathAttrs) -> Arc<PathAttrs> {
        let hash = self.hash(&attrs);
        if let Some((_, a)) = self.set.find(hash, |(h, a)| *h == hash && **a == attrs) {
            return a.clone();
        }
        let arc = Arc::new(attrs);
        self.set
            .insert_unique(hash, (hash, arc.clone()), |(h, _)| *h);
        arc
    }

    /// Removes the pool's copy of this very set.
    fn remove(&mut self, attrs: &Arc<PathAttrs>) {
        let hash = self.hash(attrs);
        if let Ok(entry) = self
            .set
            .find_entry(hash, |(h, a)| *h == hash && Arc::ptr_eq(a, attrs))
        {
            entry.remove();
        }
    }

    /// Drops `attrs` from the pool when the caller held the last path reference to it.
    pub fn release(&mut self, attrs: Arc<PathAttrs>) {
        self.release_with_copies(attrs, 0);
    }

    /// As [`AttrPool::release`], while `copies` more clones of `attrs` that are not paths are
    /// alive (the old best path of a [`BestChange`] about to be reported).
    fn release_with_copies(&mut self, attrs: Arc<PathAttrs>, copies: usize) {
        // The pool's own reference, `attrs` and the copies.
        if Arc::strong_count(&attrs) == 2 + copies {
            self.remove(&attrs);
        } else {
            self.deferred.push(Arc::downgrade(&attrs));
        }
    }

    /// Drops the deferred sets nothing but the pool holds any more. The speaker calls it
    /// after each flush, when its export queues are empty.
    pub fn sweep(&mut self) {
        for weak in std::mem::take(&mut self.deferred) {
            // The pool's reference and the one just upgraded: nothing else holds it.
            if let Some(attrs) = weak.upgrade()
                && Arc::strong_count(&attrs) == 2
            {
                self.remove(&attrs);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.set.len()
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

// ===== Rib =====

/// Destinations of both families.
#[derive(Debug, Default)]
pub struct Rib {
    v4: HashMap<Ipv4Net, Destination>,
    v6: HashMap<Ipv6Net, Destination>,
    pub pool: AttrPool,
}

impl Rib {
    pub fn new() -> Rib {
        Rib::default()
    }

    pub fn len(&self, family: Family) -> usize {
        match family {
            Family::Ipv4Unicast => self.v4.len(),
            Family::Ipv6Unicast => self.v6.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    pub fn get(&self, prefix: &Prefix) -> Option<&Destination> {
        match prefix {
            Prefix::V4(p) => self.v4.get(p),
            Prefix::V6(p) => self.v6.get(p),
        }
    }

    /// Every destination, IPv4 first, in no particular order within a family.
    pub fn iter(&self) -> impl Iterator<Item = (Prefix, &Destination)> {
        self.v4
            .iter()
            .map(|(p, d)| (Prefix::V4(*p), d))
            .chain(self.v6.iter().map(|(p, d)| (Prefix::V6(*p), d)))
    }

    /// Sets `peer`'s path to `prefix` (`None` withdraws it) and reruns the decision process
    /// for that prefix. Returns the change of best path, if any, and whether the peer had a
    /// path there before (for per-peer counters).
    pub fn update(
        &mut self,
        prefix: Prefix,
        peer: PeerIdx,
        attrs: Option<Arc<PathAttrs>>,
        ranks: &dyn Fn(PeerIdx) -> Option<PeerRank>,
    ) -> (Option<BestChange>, bool) {
        match prefix {
            Prefix::V4(p) => update_map(
                &mut self.v4,
                &mut self.pool,
                p,
                Prefix::V4,
                peer,
                attrs,
                ranks,
            ),
            Prefix::V6(p) => update_map(
                &mut self.v6,
                &mut self.pool,
                p,
                Prefix::V6,
                peer,
                attrs,
                ranks,
            ),
        }
    }

    /// Removes every path of `peer` (only its stale ones with `only_stale`), returning the
    /// best-path changes and the number of paths removed per family.
    pub fn remove_peer(
        &mut self,
        peer: PeerIdx,
        only_stale: bool,
        ranks: &dyn Fn(PeerIdx) -> Option<PeerRank>,
    ) -> (Vec<BestChange>, [usize; 2]) {
        let mut changes = Vec::new();
        let mut removed = [0usize; 2];
        let pool = &mut self.pool;
        remove_from_map(
            &mut self.v4,
            pool,
            Prefix::V4,
            peer,
            only_stale,
            ranks,
            &mut changes,
            &mut removed[0],
        );
        remove_from_map(
            &mut self.v6,
            pool,
            Prefix::V6,
            peer,
            only_stale,
            ranks,
            &mut changes,
            &mut removed[1],
        );
        (changes, removed)
    }

    /// Marks every path of `peer` in `families` stale (the peer is restarting, RFC 4724
    /// §4.2); its paths of other families are removed, with the best-path changes that
    /// causes.
    pub fn mark_stale(
        &mut self,
        peer: PeerIdx,
        families: &[Family],
        ranks: &dyn Fn(PeerIdx) -> Option<PeerRank>,
    ) -> (Vec<BestChange>, [usize; 2]) {
        let mut changes = Vec::new();
        let mut removed = [0usize; 2];
        let keep = |f| families.contains(&f);
        let pool = &mut self.pool;
        stale_or_remove(
            &mut self.v4,
            pool,
            Prefix::V4,
            peer,
            keep(Family::Ipv4Unicast),
            ranks,
            &mut changes,
            &mut removed[0],
        );
        stale_or_remove(
            &mut self.v6,
            pool,
            Prefix::V6,
            peer,
            keep(Family::Ipv6Unicast),
            ranks,
            &mut changes,
            &mut removed[1],
        );
        (changes, removed)
    }
}

/// One family of [`Rib::mark_stale`]: `peer`'s paths marked stale when the family is kept,
/// else removed.
#[allow(clippy::too_many_arguments)]
fn stale_or_remove<K: Hash + Eq + Copy>(
    map: &mut HashMap<K, Destination>,
    pool: &mut AttrPool,
    wrap: fn(K) -> Prefix,
    peer: PeerIdx,
    keep: bool,
    ranks: &dyn Fn(PeerIdx) -> Option<PeerRank>,
    changes: &mut Vec<BestChange>,
    removed: &mut usize,
) {
    if !keep {
        remove_from_map(map, pool, wrap, peer, false, ranks, changes, removed);
        return;
    }
    for d in map.values_mut() {
        for p in d.paths.iter_mut().filter(|p| p.peer == peer) {
            p.stale = true;
        }
    }
}

fn update_map<K: Hash + Eq + Copy>(
    map: &mut HashMap<K, Destination>,
    pool: &mut AttrPool,
    key: K,
    wrap: fn(K) -> Prefix,
    peer: PeerIdx,
    attrs: Option<Arc<PathAttrs>>,
    ranks: &dyn Fn(PeerIdx) -> Option<PeerRank>,
) -> (Option<BestChange>, bool) {
    match map.entry(key) {
        Entry::Vacant(v) => {
            let Some(attrs) = attrs else {
                return (None, false);
            };
            let path = Path {
                peer,
                stale: false,
                attrs,
            };
            v.insert(Destination {
                paths: vec![path.clone()],
            });
            let change = BestChange {
                prefix: wrap(key),
                old: None,
                new: Some(path),
            };
            (Some(change), false)
        }
        Entry::Occupied(mut o) => {
            let dest = o.get_mut();
            let old_best = dest.paths.first().cloned();
            let pos = dest.paths.iter().position(|p| p.peer == peer);
            let had = pos.is_some();
            match (pos, attrs) {
                (Some(i), Some(attrs)) => {
                    let path = &mut dest.paths[i];
                    let unchanged = Arc::ptr_eq(&path.attrs, &attrs) && !path.stale;
                    if unchanged {
                        return (None, true);
                    }
                    path.stale = false;
                    let old = std::mem::replace(&mut path.attrs, attrs);
                    let copies = copies_in(&old_best, &old);
                    pool.release_with_copies(old, copies);
                }
                (Some(i), None) => {
                    let old = dest.paths.remove(i);
                    let copies = copies_in(&old_best, &old.attrs);
                    pool.release_with_copies(old.attrs, copies);
                }
                (None, Some(attrs)) => dest.paths.push(Path {
                    peer,
                    stale: false,
                    attrs,
                }),
                (None, None) => return (None, false),
            }
            select_best(&mut dest.paths, ranks);
            let new_best = dest.paths.first().cloned();
            if dest.paths.is_empty() {
                o.remove();
            }
            let changed = match (&old_best, &new_best) {
                (Some(a), Some(b)) => !a.same(b),
                (None, None) => false,
                _ => true,
            };
            let change = changed.then(|| BestChange {
                prefix: wrap(key),
                old: old_best,
                new: new_best,
            });
            (change, had)
        }
    }
}

/// 1 when `old_best` (cloned before a change, to be reported) shares `attrs`.
fn copies_in(old_best: &Option<Path>, attrs: &Arc<PathAttrs>) -> usize {
    usize::from(
        old_best
            .as_ref()
            .is_some_and(|b| Arc::ptr_eq(&b.attrs, attrs)),
    )
}

#[allow(clippy::too_many_arguments)]
fn remove_from_map<K: Hash + Eq + Copy>(
    map: &mut HashMap<K, Destination>,
    pool: &mut AttrPool,
    wrap: fn(K) -> Prefix,
    peer: PeerIdx,
    only_stale: bool,
    ranks: &dyn Fn(PeerIdx) -> Option<PeerRank>,
    changes: &mut Vec<BestChange>,
    removed: &mut usize,
) {
    map.retain(|key, dest| {
        let Some(i) = dest
            .paths
            .iter()
            .position(|p| p.peer == peer && (!only_stale || p.stale))
        else {
            return true;
        };
        *removed += 1;
        let was_best = i == 0;
        let old = dest.paths.remove(i);
        if was_best {
            select_best(&mut dest.paths, ranks);
            changes.push(BestChange {
                prefix: wrap(*key),
                old: Some(old.clone()),
                new: dest.paths.first().cloned(),
            });
        }
        // The change reported for a removed best path holds a copy of its attributes.
        pool.release_with_copies(old.attrs, usize::from(was_best));
        !dest.paths.is_empty()
    });
}

// ===== decision process =====

/// Moves the best path to the front (RFC 4271 §9.1.2.2, with the MED rule applied per
/// neighbouring AS so that the outcome does not depend on arrival order).
pub fn select_best(paths: &mut [Path], ranks: &dyn Fn(PeerIdx) -> Option<PeerRank>) {
    if paths.len() < 2 {
        return;
    }
    let mut best = 0;
    for i in 1..paths.len() {
        if compare(&paths[i], &paths[best], paths, ranks) == Ordering::Less {
            best = i;
        }
    }
    paths.swap(0, best);
}

/// The paths that share the best path's rank up to the tie-breaks that only make a choice
/// (router id, peer address): the equal-cost set a FIB spreads traffic over. Locally
/// originated paths are never part of it. `paths` is a destination's paths, best first.
pub fn multipath<'a>(
    paths: &'a [Path],
    ranks: &'a dyn Fn(PeerIdx) -> Option<PeerRank>,
) -> impl Iterator<Item = &'a Path> + 'a {
    let best = paths.first().filter(|b| b.peer != PeerIdx::LOCAL);
    paths.iter().filter(move |p| {
        best.is_some_and(|b| {
            std::ptr::eq(*p, b)
                || matches!(
                    compare_with_reason(b, p, paths, ranks).1,
                    Reason::RouterId | Reason::PeerAddress | Reason::Equal
                )
        })
    })
}

/// Why one path is preferred over another (step of §9.1.2.2 that decided).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Local,
    Weight,
    LocalPref,
    AsPathLength,
    Origin,
    Med,
    ExternalOverInternal,
    RouterId,
    PeerAddress,
    Equal,
}

/// Compares two paths: `Less` means `a` is preferred. `all` is the full candidate set, for
/// the MED step (a path loses on MED only to a path from the same neighbouring AS).
pub fn compare(
    a: &Path,
    b: &Path,
    all: &[Path],
    ranks: &dyn Fn(PeerIdx) -> Option<PeerRank>,
) -> Ordering {
    compare_with_reason(a, b, all, ranks).0
}

pub fn compare_with_reason(
    a: &Path,
    b: &Path,
    all: &[Path],
    ranks: &dyn Fn(PeerIdx) -> Option<PeerRank>,
) -> (Ordering, Reason) {
    // Locally originated routes win over learned ones.
    let local = (b.peer == PeerIdx::LOCAL).cmp(&(a.peer == PeerIdx::LOCAL));
    if local != Ordering::Equal {
        return (local, Reason::Local);
    }
    let (ra, rb) = (ranks(a.peer), ranks(b.peer));
    let weight = rb.map_or(0, |r| r.weight).cmp(&ra.map_or(0, |r| r.weight));
    if weight != Ordering::Equal {
        return (weight, Reason::Weight);
    }
    let (aa, ba) = (&a.attrs, &b.attrs);
    let lp = ba.local_pref().cmp(&aa.local_pref());
    if lp != Ordering::Equal {
        return (lp, Reason::LocalPref);
    }
    let len = aa.attrs.as_path.len().cmp(&ba.attrs.as_path.len());
    if len != Ordering::Equal {
        return (len, Reason::AsPathLength);
    }
    let origin = origin_rank(aa.attrs.origin).cmp(&origin_rank(ba.attrs.origin));
    if origin != Ordering::Equal {
        return (origin, Reason::Origin);
    }
    // (c) MED: a path is out if another path from the same neighbouring AS has a lower MED.
    let a_out = loses_on_med(a, all);
    let b_out = loses_on_med(b, all);
    if a_out != b_out {
        return (a_out.cmp(&b_out), Reason::Med);
    }
    if aa.attrs.as_path.first_as().is_some()
        && aa.attrs.as_path.first_as() == ba.attrs.as_path.first_as()
    {
        let med = aa.attrs.med.unwrap_or(0).cmp(&ba.attrs.med.unwrap_or(0));
        if med != Ordering::Equal {
            return (med, Reason::Med);
        }
    }
    let ebgp = rb.map(|r| r.ebgp).cmp(&ra.map(|r| r.ebgp));
    if ebgp != Ordering::Equal {
        return (ebgp, Reason::ExternalOverInternal);
    }
    let id = ra.map(|r| r.router_id).cmp(&rb.map(|r| r.router_id));
    if id != Ordering::Equal {
        return (id, Reason::RouterId);
    }
    let addr = ra.map(|r| r.address).cmp(&rb.map(|r| r.address));
    if addr != Ordering::Equal {
        return (addr, Reason::PeerAddress);
    }
    (a.peer.cmp(&b.peer), Reason::Equal)
}

fn origin_rank(o: Option<Origin>) -> u8 {
    match o {
        Some(Origin::Igp) => 0,
        Some(Origin::Egp) => 1,
        Some(Origin::Incomplete) | None => 2,
    }
}

fn loses_on_med(p: &Path, all: &[Path]) -> bool {
    let Some(nas) = p.attrs.attrs.as_path.first_as() else {
        return false;
    };
    let med = p.attrs.attrs.med.unwrap_or(0);
    let pa = &p.attrs;
    all.iter().any(|q| {
        let qa = &q.attrs;
        q.peer != p.peer
            && (q.peer == PeerIdx::LOCAL) == (p.peer == PeerIdx::LOCAL)
            && qa.local_pref() == pa.local_pref()
            && qa.attrs.as_path.len() == pa.attrs.as_path.len()
            && origin_rank(qa.attrs.origin) == origin_rank(pa.attrs.origin)
            && qa.attrs.as_path.first_as() == Some(nas)
            && qa.attrs.med.unwrap_or(0) < med
    })
}

/// The IPv4 next hop of a path, if it has one of that family.
pub fn next_hop_v4(attrs: &PathAttrs) -> Option<Ipv4Addr> {
    match attrs.next_hop? {
        NextHop::V4(a) => Some(a),
        _ => None,
    }
}

/// The IPv6 global next hop of a path, if it has one of that family.
pub fn next_hop_v6(attrs: &PathAttrs) -> Option<Ipv6Addr> {
    match attrs.next_hop? {
        NextHop::V6 { global, .. } => Some(global),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
