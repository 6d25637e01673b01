//! The decision process (RFC 4271 §9.1.2.2) and attribute interning, driven through
//! `Rib::update` / `Rib::remove_peer` and read back through `Rib::get`.

use super::*;

use crate::wire::{AsPath, AsSegment};

// ===== helpers =====

fn v4(s: &str) -> Prefix {
    Prefix::V4(s.parse().expect("test prefix"))
}

/// Peer `i` has router id 10.0.0.i and address 192.0.2.i unless a test says otherwise.
fn rank(i: u32) -> PeerRank {
    let i = u8::try_from(i).expect("small peer index");
    PeerRank {
        weight: 0,
        router_id: Ipv4Addr::new(10, 0, 0, i),
        address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, i)),
        ebgp: true,
    }
}

fn default_ranks(p: PeerIdx) -> Option<PeerRank> {
    (p != PeerIdx::LOCAL).then(|| rank(p.0))
}

/// A path as learned from a neighbour: ORIGIN IGP, the given AS_PATH, next hop 192.0.2.1.
#[derive(Clone)]
struct Attrs(PathAttrs);

impl Attrs {
    fn path(asns: &[u32]) -> Attrs {
        Attrs(PathAttrs {
            attrs: Attributes {
                origin: Some(Origin::Igp),
                as_path: AsPath {
                    segments: vec![AsSegment::Sequence(asns.to_vec())],
                },
                ..Attributes::default()
            },
            next_hop: Some(NextHop::V4(Ipv4Addr::new(192, 0, 2, 1))),
        })
    }
    fn local_pref(mut self, lp: u32) -> Attrs {
        self.0.attrs.local_pref = Some(lp);
        self
    }
    fn med(mut self, med: u32) -> Attrs {
        self.0.attrs.med = Some(med);
        self
    }
    fn origin(mut self, origin: Origin) -> Attrs {
        self.0.attrs.origin = Some(origin);
        self
    }
}

/// Announces `attrs` from `peer` for `prefix`.
fn announce(rib: &mut Rib, prefix: Prefix, peer: u32, attrs: Attrs) -> Option<BestChange> {
    let arc = rib.pool.intern(attrs.0);
    rib.update(prefix, PeerIdx(peer), Some(arc), &default_ranks)
        .0
}

fn withdraw(rib: &mut Rib, prefix: Prefix, peer: u32) -> Option<BestChange> {
    rib.update(prefix, PeerIdx(peer), None, &default_ranks).0
}

fn best_peer(rib: &Rib, prefix: Prefix) -> Option<PeerIdx> {
    Some(rib.get(&prefix)?.best()?.peer)
}

/// Every order of `items`.
fn permutations<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut p in permutations(&rest) {
            p.insert(0, first.clone());
            out.push(p);
        }
    }
    out
}

// ===== decision process =====

#[test]
fn the_path_with_the_higher_local_pref_wins_over_a_shorter_as_path() {
    let p = v4("10.1.0.0/24");
    let mut rib = Rib::new();
    announce(&mut rib, p, 1, Attrs::path(&[65001]));
    announce(
        &mut rib,
        p,
        2,
        Attrs::path(&[65002, 65020, 65030]).local_pref(200),
    );
    assert_eq!(best_peer(&rib, p), Some(PeerIdx(2)));
}

#[test]
fn a_path_without_local_pref_counts_as_one_hundred() {
    let p = v4("10.1.0.0/24");
    let mut rib = Rib::new();
    announce(&mut rib, p, 1, Attrs::path(&[65001]));
    announce(&mut rib, p, 2, Attrs::path(&[65002, 65020]).local_pref(101));
    assert_eq!(best_peer(&rib, p), Some(PeerIdx(2)));
    let mut rib = Rib::new();
    announce(&mut rib, p, 1, Attrs::path(&[65001]));
    announce(&mut rib, p, 2, Attrs::path(&[65002, 65020]).local_pref(99));
    assert_eq!(best_peer(&rib, p), Some(PeerIdx(1)));
}

#[test]
fn the_shorter_as_path_wins() {
    let p = v4("10.1.0.0/24");
    let mut rib = Rib::new();
    announce(&mut rib, p, 1, Attrs::path(&[65001, 65010]));
    announce(&mut rib, p, 2, Attrs::path(&[65002]));
    assert_eq!(best_peer(&rib, p), Some(PeerIdx(2)));
}

#[test]
fn an_as_set_counts_as_one_in_the_path_length() {
    let p = v4("10.1.0.0/24");
    let mut rib = Rib::new();
    let mut with_set = Attrs::path(&[65001]);
    with_set
        .0
        .attrs
        .as_path
        .segments
        .push(AsSegment::Set(vec![65010, 65011, 65012]));
    announce(&mut rib, p, 1, with_set);
    announce(&mut rib, p, 2, Attrs::path(&[65002, 65020, 65030]));
    assert_eq!(best_peer(&rib, p), Some(PeerIdx(1)));
}

#[test]
fn the_lower_origin_wins() {
    let p = v4("10.1.0.0/24");
    let mut rib = Rib::new();
    announce(
        &mut rib,
        p,
        1,
        Attrs::path(&[65001]).origin(Origin::Incomplete),
    );
    announce(&mut rib, p, 2, Attrs::path(&[65002]).origin(Origin::Egp));
    assert_eq!(best_peer(&rib, p), Some(PeerIdx(2)));
    announce(&mut rib, p, 3, Attrs::path(&[65003]).origin(Origin::Igp));
    assert_eq!(best_peer(&rib, p), Some(PeerIdx(3)));
}

#[test]
fn the_lower_med_wins_between_paths_from_the_same_neighbour_as() {
    let p = v4("10.1.0.0/24");
    let mut rib = Rib::new();
    // Peer 1 has the lower router id, but its MED is higher.
    announce(&mut rib, p, 1, Attrs::path(&[65000, 65010]).med(50));
    announce(&mut rib, p, 2, Attrs::path(&[65000, 65020]).med(10));
    assert_eq!(best_peer(&rib, p), Some(PeerIdx(2)));
}

#[test]
fn med_is_not_compared_between_paths_from_different_neighbour_ases() {
    let p = v4("10.1.0.0/24");
    let mut rib = Rib::new();
    // A higher MED from AS 65001 still wins on router id against AS 65002.
    announce(&mut rib, p, 1, Attrs::path(&[65001]).med(500));
    announce(&mut rib, p, 2, Attrs::path(&[65002]).med(0));
    assert_eq!(best_peer(&rib, p), Some(PeerIdx(1)));
}

#[test]
fn a_missing_med_counts_as_zero() {
    let p = v4("10.1.0.0/24");
    let mut rib = Rib::new();
    announce(&mut rib, p, 1, Attrs::path(&[65000]).med(1));
    announce(&mut rib, p, 2, Attrs::path(&[65000]));
    assert_eq!(best_peer(&rib, p), Some(PeerIdx(2)));
}

#[test]
fn the_best_path_does_not_depend_on_the_order_paths_arrive_in() {
    // The classic MED cycle: pairwise, a beats c (router id), b beats a (MED, same AS) and c
    // beats b (router id, MED not comparable). b knocks a out, then c beats b: c is best.
    let p = v4("10.1.0.0/24");
    let paths = [
        (1, Attrs::path(&[65100]).med(20)),
        (3, Attrs::path(&[65100]).med(10)),
        (2, Attrs::path(&[65200]).med(0)),
    ];
    for order in permutations(&paths) {
        let mut rib = Rib::new();
        for (peer, attrs) in &order {
            announce(&mut rib, p, *peer, attrs.clone());
        }
        let peers: Vec<u32> = order.iter().map(|(p, _)| *p).collect();
        assert_eq!(best_peer(&rib, p), Some(PeerIdx(2)), "order {peers:?}");
    }
}

#[test]
fn the_best_path_does_not_depend_on_arrival_order_or_on_which_path_left() {
    // Four paths in two neighbour ASes with mixed MEDs: every order gives the same best, and
    // withdrawing that best gives the same runner-up.
    let p = v4("10.1.0.0/24");
    let paths = [
        (1, Attrs::path(&[65100, 1]).med(30)),
        (2, Attrs::path(&[65200, 1]).med(5)),
        (3, Attrs::path(&[65100, 1]).med(10)),
        (4, Attrs::path(&[65200, 1]).med(1)),
    ];
    for order in permutations(&paths) {
        let mut rib = Rib::new();
        for (peer, attrs) in &order {
            announce(&mut rib, p, *peer, attrs.clone());
        }
        let peers: Vec<u32> = order.iter().map(|(p, _)| *p).collect();
        // Out on MED: 1 (3 has 10) and 2 (4 has 1). Of 3 and 4, router id picks 3.
        assert_eq!(best_peer(&rib, p), Some(PeerIdx(3)), "order {peers:?}");
        withdraw(&mut rib, p, 3);
        // Now 1 is the lowest MED of AS 65100, and wins on router id over 4.
        assert_eq!(best_peer(&rib, p), Some(PeerIdx(1)), "order {peers:?}");
    }
}

#[test]
fn the_lower_router_id_breaks_a_tie() {
    let p = v4("10.1.0.0/24");
    let mut rib = Rib::new();
    let ranks = |i: PeerIdx| {
        Some(PeerRank {
            router_id: match i.0 {
                1 => Ipv4Addr::new(10, 0, 0, 9),
                _ => Ipv4Addr::new(10, 0, 0, 3),
            },
            ..rank(i.0)
        })
    };
    for peer in [1, 2] {
        let a = rib.pool.intern(Attrs::path(&[65000 + peer]).0);
        rib.update(p, PeerIdx(peer), Some(a), &ranks);
    }
    assert_eq!(best_peer(&rib, p), Some(PeerIdx(2)));
}

#[test]
fn the_lower_peer_address_breaks_a_tie_of_router_ids() {
    let p = v4("10.1.0.0/24");
    let mut rib = Rib::new();
    let ranks = |i: PeerIdx| {
        Some(PeerRank {
            weight: 0,
            router_id: Ipv4Addr::new(10, 0, 0, 1),
            address: match i.0 {
                1 => "192.0.2.200".parse().expect("address"),
                _ => "192.0.2.7".parse().expect("address"),
            },
            ebgp: true,
        })
    };
    for peer in [1, 2] {
        let a = rib.pool.intern(Attrs::path(&[65000 + peer]).0);
        rib.update(p, PeerIdx(peer), Some(a), &ranks);
    }
    assert_eq!(best_peer(&rib, p), Some(PeerIdx(2)));
}

#[test]
fn a_locally_originated_route_beats_learned_ones() {
    let p = v4("10.1.0.0/24");
    let mut rib = Rib::new();
    announce(&mut rib, p, 1, Attrs::path(&[65001]).local_pref(1000));
    let local = rib.pool.intern(PathAttrs {
        attrs: Attributes {
            origin: Some(Origin::Incomplete),
            ..Attributes::default()
        },
        next_hop: None,
    });
    let (change, _) = rib.update(p, PeerIdx::LOCAL, Some(local), &default_ranks);
    assert_eq!(best_peer(&rib, p), Some(PeerIdx::LOCAL));
    let change = change.expect("the best path changed");
    assert_eq!(change.old.map(|p| p.peer), Some(PeerIdx(1)));
    assert_eq!(change.new.map(|p| p.peer), Some(PeerIdx::LOCAL));
    // A later learned path does not displace it either.
    announce(&mut rib, p, 2, Attrs::path(&[65002]).local_pref(2000));
    assert_eq!(best_peer(&rib, p), Some(PeerIdx::LOCAL));
}

// ===== updates and withdrawals =====

#[test]
fn withdrawing_the_best_path_promotes_the_next_best() {
    let p = v4("10.1.0.0/24");
    let mut rib = Rib::new();
    announce(&mut rib, p, 1, Attrs::path(&[65001]));
    announce(&mut rib, p, 2, Attrs::path(&[65002, 65020]));
    announce(&mut rib, p, 3, Attrs::path(&[65003, 65030, 65031]));
    let change = withdraw(&mut rib, p, 1).expect("the best path changed");
    assert_eq!(change.prefix, p);
    assert_eq!(change.old.map(|p| p.peer), Some(PeerIdx(1)));
    assert_eq!(change.new.map(|p| p.peer), Some(PeerIdx(2)));
    assert_eq!(best_peer(&rib, p), Some(PeerIdx(2)));
    assert_eq!(rib.get(&p).map(|d| d.paths().len()), Some(2));
}

#[test]
fn withdrawing_a_path_that_is_not_the_best_changes_nothing_visible() {
    let p = v4("10.1.0.0/24");
    let mut rib = Rib::new();
    announce(&mut rib, p, 1, Attrs::path(&[65001]));
    announce(&mut rib, p, 2, Attrs::path(&[65002, 65020]));
    assert!(withdraw(&mut rib, p, 2).is_none());
    assert_eq!(best_peer(&rib, p), Some(PeerIdx(1)));
}

#[test]
fn withdrawing_the_last_path_removes_the_destination() {
    let p = v4("10.1.0.0/24");
    let mut rib = Rib::new();
    announce(&mut rib, p, 1, Attrs::path(&[65001]));
    let change = withdraw(&mut rib, p, 1).expect("the best path changed");
    assert!(change.new.is_none());
    assert!(rib.get(&p).is_none());
    assert_eq!(rib.len(Family::Ipv4Unicast), 0);
    assert!(rib.is_empty());
    // Withdrawing what is not there is a no-op.
    assert!(withdraw(&mut rib, p, 1).is_none());
}

#[test]
fn a_repeated_identical_announcement_is_not_a_change() {
    let p = v4("10.1.0.0/24");
    let mut rib = Rib::new();
    assert!(announce(&mut rib, p, 1, Attrs::path(&[65001])).is_some());
    assert!(announce(&mut rib, p, 1, Attrs::path(&[65001])).is_none());
    // New attributes from the same peer replace its path.
    let change = announce(&mut rib, p, 1, Attrs::path(&[65001, 65010]))
        .expect("the best path's attributes changed");
    assert_eq!(change.new.map(|p| p.attrs.attrs.as_path.len()), Some(2));
    assert_eq!(rib.get(&p).map(|d| d.paths().len()), Some(1));
}

#[test]
fn ipv4_and_ipv6_destinations_are_kept_apart() {
    let mut rib = Rib::new();
    let p6 = Prefix::V6("2001:db8:1::/48".parse().expect("prefix"));
    announce(&mut rib, v4("10.1.0.0/24"), 1, Attrs::path(&[65001]));
    announce(&mut rib, p6, 1, Attrs::path(&[65001]));
    assert_eq!(rib.len(Family::Ipv4Unicast), 1);
    assert_eq!(rib.len(Family::Ipv6Unicast), 1);
    assert_eq!(best_peer(&rib, p6), Some(PeerIdx(1)));
}

// ===== attribute pool =====

#[test]
fn paths_with_identical_attributes_share_one_copy() {
    let mut rib = Rib::new();
    let (a, b) = (v4("10.1.0.0/24"), v4("10.1.1.0/24"));
    announce(&mut rib, a, 1, Attrs::path(&[65001]));
    announce(&mut rib, b, 2, Attrs::path(&[65001]));
    let attrs = |p: Prefix| rib.get(&p).and_then(|d| d.best()).map(|p| p.attrs.clone());
    let (x, y) = (attrs(a).expect("path"), attrs(b).expect("path"));
    assert!(Arc::ptr_eq(&x, &y));
    assert_eq!(rib.pool.len(), 1);
    // A different set is stored separately.
    announce(&mut rib, v4("10.1.2.0/24"), 1, Attrs::path(&[65001]).med(5));
    assert_eq!(rib.pool.len(), 2);
}

#[test]
fn an_attribute_set_is_released_when_its_last_path_is_withdrawn() {
    let mut rib = Rib::new();
    let baseline = rib.pool.len();
    let (a, b) = (v4("10.1.0.0/24"), v4("10.1.1.0/24"));
    announce(&mut rib, a, 1, Attrs::path(&[65001]));
    announce(&mut rib, b, 1, Attrs::path(&[65001]));
    assert_eq!(rib.pool.len(), baseline + 1);
    withdraw(&mut rib, a, 1);
    assert_eq!(rib.pool.len(), baseline + 1, "still used by {b}");
    withdraw(&mut rib, b, 1);
    assert_eq!(rib.pool.len(), baseline);
}

#[test]
fn an_attribute_set_is_released_when_its_path_is_replaced() {
    let mut rib = Rib::new();
    let p = v4("10.1.0.0/24");
    announce(&mut rib, p, 1, Attrs::path(&[65001]));
    announce(&mut rib, p, 1, Attrs::path(&[65001]).med(7));
    assert_eq!(rib.pool.len(), 1);
}

#[test]
fn an_attribute_set_is_released_when_its_peer_is_removed() {
    let mut rib = Rib::new();
    announce(&mut rib, v4("10.1.0.0/24"), 1, Attrs::path(&[65001]));
    announce(&mut rib, v4("10.1.1.0/24"), 1, Attrs::path(&[65001]).med(1));
    announce(&mut rib, v4("10.1.1.0/24"), 2, Attrs::path(&[65002]));
    let _ = rib.remove_peer(PeerIdx(1), false, &default_ranks);
    assert_eq!(rib.pool.len(), 1, "only peer 2's set remains");
}

// ===== remove_peer =====

#[test]
fn removing_a_peer_withdraws_all_its_paths_and_promotes_others() {
    let mut rib = Rib::new();
    let (a, b) = (v4("10.1.0.0/24"), v4("10.1.1.0/24"));
    let c = Prefix::V6("2001:db8:1::/48".parse().expect("prefix"));
    announce(&mut rib, a, 1, Attrs::path(&[65001]));
    announce(&mut rib, b, 1, Attrs::path(&[65001]));
    announce(&mut rib, c, 1, Attrs::path(&[65001]));
    announce(&mut rib, b, 2, Attrs::path(&[65002, 65020]));
    let (changes, removed) = rib.remove_peer(PeerIdx(1), false, &default_ranks);
    assert_eq!(removed, [2, 1]);
    assert_eq!(changes.len(), 3);
    assert!(rib.get(&a).is_none());
    assert!(rib.get(&c).is_none());
    assert_eq!(best_peer(&rib, b), Some(PeerIdx(2)));
    let to_b = changes
        .iter()
        .find(|ch| ch.prefix == b)
        .expect("a change for the shared prefix");
    assert_eq!(to_b.new.as_ref().map(|p| p.peer), Some(PeerIdx(2)));
}

#[test]
fn removing_only_stale_paths_keeps_the_ones_refreshed_since() {
    let mut rib = Rib::new();
    let (a, b, c) = (v4("10.1.0.0/24"), v4("10.1.1.0/24"), v4("10.1.2.0/24"));
    for p in [a, b, c] {
        announce(&mut rib, p, 1, Attrs::path(&[65001]));
    }
    announce(&mut rib, a, 2, Attrs::path(&[65002]));
    rib.mark_stale(PeerIdx(1), &[Family::Ipv4Unicast], &default_ranks);
    assert!(rib.get(&b).and_then(|d| d.best()).is_some_and(|p| p.stale));
    // Peer 1 re-announces b after restarting; a and c stay stale.
    announce(&mut rib, b, 1, Attrs::path(&[65001]));
    assert!(rib.get(&b).and_then(|d| d.best()).is_some_and(|p| !p.stale));

    let (changes, removed) = rib.remove_peer(PeerIdx(1), true, &default_ranks);
    assert_eq!(removed, [2, 0]);
    assert_eq!(best_peer(&rib, a), Some(PeerIdx(2)));
    assert_eq!(best_peer(&rib, b), Some(PeerIdx(1)));
    assert!(rib.get(&c).is_none());
    let mut changed: Vec<Prefix> = changes.iter().map(|c| c.prefix).collect();
    changed.sort();
    assert_eq!(changed, [a, c]);
}

#[test]
fn a_stale_path_is_not_marked_for_other_peers() {
    let mut rib = Rib::new();
    let p = v4("10.1.0.0/24");
    announce(&mut rib, p, 1, Attrs::path(&[65001]));
    announce(&mut rib, p, 2, Attrs::path(&[65002]));
    rib.mark_stale(PeerIdx(2), &[Family::Ipv4Unicast], &default_ranks);
    let (_, removed) = rib.remove_peer(PeerIdx(1), true, &default_ranks);
    assert_eq!(removed, [0, 0]);
    assert_eq!(rib.get(&p).map(|d| d.paths().len()), Some(2));
}

#[test]
fn weight_wins_over_every_attribute() {
    let p = v4("10.1.0.0/24");
    let mut rib = Rib::new();
    // Peer 2's path is longer but its peer carries the higher weight.
    let ranks = |i: PeerIdx| {
        Some(PeerRank {
            weight: if i.0 == 2 { 100 } else { 0 },
            ..rank(i.0)
        })
    };
    let short = rib.pool.intern(Attrs::path(&[65001]).0);
    let long = rib.pool.intern(Attrs::path(&[65002, 65002, 65002]).0);
    rib.update(p, PeerIdx(1), Some(short), &ranks);
    rib.update(p, PeerIdx(2), Some(long), &ranks);
    assert_eq!(best_peer(&rib, p), Some(PeerIdx(2)));
}

#[test]
fn multipath_holds_the_paths_equal_up_to_the_router_id() {
    let p = v4("10.1.0.0/24");
    let mut rib = Rib::new();
    let a = rib.pool.intern(Attrs::path(&[12076, 65001]).0);
    let b = rib.pool.intern(Attrs::path(&[12076, 65001]).0);
    let longer = rib.pool.intern(Attrs::path(&[12076, 12076, 65001]).0);
    rib.update(p, PeerIdx(1), Some(a), &default_ranks);
    rib.update(p, PeerIdx(2), Some(b), &default_ranks);
    rib.update(p, PeerIdx(3), Some(longer), &default_ranks);
    let d = rib.get(&p).expect("destination");
    let mut peers: Vec<u32> = crate::rib::multipath(d.paths(), &default_ranks)
        .map(|p| p.peer.0)
        .collect();
    peers.sort();
    assert_eq!(peers, [1, 2], "the prepended path is not equal-cost");

    // A higher weight on one peer leaves it alone in the set.
    let weighted = |i: PeerIdx| {
        Some(PeerRank {
            weight: if i.0 == 3 { 10 } else { 0 },
            ..rank(i.0)
        })
    };
    let mut rib = Rib::new();
    for (peer, path) in [
        (1, &[12076, 65001][..]),
        (2, &[12076, 65001]),
        (3, &[12076, 12076, 65001]),
    ] {
        let a = rib.pool.intern(Attrs::path(path).0);
        rib.update(p, PeerIdx(peer), Some(a), &weighted);
    }
    let d = rib.get(&p).expect("destination");
    let peers: Vec<u32> = crate::rib::multipath(d.paths(), &weighted)
        .map(|p| p.peer.0)
        .collect();
    assert_eq!(peers, [3]);
}

#[test]
fn a_locally_originated_best_has_no_multipath() {
    let p = v4("10.1.0.0/24");
    let mut rib = Rib::new();
    let local = rib.pool.intern(Attrs::path(&[]).0);
    let learned = rib.pool.intern(Attrs::path(&[65001]).0);
    rib.update(p, PeerIdx::LOCAL, Some(local), &default_ranks);
    rib.update(p, PeerIdx(1), Some(learned), &default_ranks);
    let d = rib.get(&p).expect("destination");
    assert_eq!(crate::rib::multipath(d.paths(), &default_ranks).count(), 0);
}
