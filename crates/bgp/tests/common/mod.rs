//! Proptest strategies for well-formed messages, shared by the round-trip and differential
//! tests.

#![allow(dead_code)]

use std::net::{Ipv4Addr, Ipv6Addr};

use bgp::wire::{
    Aggregator, AsPath, AsSegment, Attributes, Capability, ErrorAction, Family, LargeCommunity,
    Message, MpReach, MpUnreach, NextHop, Notification, Open, Origin, Prefix, RawAttribute,
    RouteRefresh, Update,
};
use bytes::Bytes;
use ipnet::{Ipv4Net, Ipv6Net};
use proptest::prelude::*;

pub fn v4_net() -> impl Strategy<Value = Ipv4Net> {
    (any::<u32>(), 0u8..=32).prop_map(|(a, l)| {
        Ipv4Net::new(Ipv4Addr::from(a), l)
            .expect("invariant: length <= 32")
            .trunc()
    })
}

pub fn v6_net() -> impl Strategy<Value = Ipv6Net> {
    (any::<u128>(), 0u8..=128).prop_map(|(a, l)| {
        Ipv6Net::new(Ipv6Addr::from(a), l)
            .expect("invariant: length <= 128")
            .trunc()
    })
}

pub fn prefixes(family: Family, max: usize) -> BoxedStrategy<Vec<Prefix>> {
    match family {
        Family::Ipv4Unicast => prop::collection::vec(v4_net().prop_map(Prefix::V4), 0..max).boxed(),
        Family::Ipv6Unicast => prop::collection::vec(v6_net().prop_map(Prefix::V6), 0..max).boxed(),
    }
}

pub fn family() -> impl Strategy<Value = Family> {
    prop_oneof![Just(Family::Ipv4Unicast), Just(Family::Ipv6Unicast)]
}

pub fn asns(max_asn: u32) -> impl Strategy<Value = Vec<u32>> {
    prop::collection::vec(
        prop_oneof![0..=max_asn, 64512u32..=65535, Just(23456u32)],
        1..8,
    )
}

/// An AS_PATH that survives the session's encoding: on a two-octet session confederation
/// segments (whose ASNs AS4_PATH cannot carry, RFC 6793 §4.2.2) only lead and fit 16 bits.
pub fn as_path(four_octet: bool) -> impl Strategy<Value = AsPath> {
    let plain = prop::collection::vec(
        prop_oneof![
            3 => asns(u32::MAX).prop_map(AsSegment::Sequence),
            1 => asns(u32::MAX).prop_map(AsSegment::Set),
            1 => prop::collection::vec(any::<u32>(), 200..=255).prop_map(AsSegment::Sequence),
        ],
        0..4,
    );
    let confed_max = if four_octet { u32::MAX } else { 65535 };
    let confed = prop::collection::vec(
        prop_oneof![
            asns(confed_max).prop_map(AsSegment::ConfedSequence),
            asns(confed_max).prop_map(AsSegment::ConfedSet),
        ],
        0..2,
    );
    (confed, plain).prop_map(|(mut c, p)| {
        c.extend(p);
        AsPath { segments: c }
    })
}

/// Codes we pass through (not interpreted by the codec).
pub fn unknown_code() -> impl Strategy<Value = u8> {
    any::<u8>().prop_filter("interpreted types", |c| {
        !matches!(c, 1..=8 | 14 | 15 | 17 | 18 | 32)
    })
}

pub fn attributes(
    four_octet: bool,
    reachable_v4: bool,
    reachable: bool,
) -> impl Strategy<Value = Attributes> {
    let origin = prop_oneof![
        Just(Origin::Igp),
        Just(Origin::Egp),
        Just(Origin::Incomplete)
    ];
    (
        (
            if reachable {
                origin.prop_map(Some).boxed()
            } else {
                prop::option::of(origin).boxed()
            },
            as_path(four_octet),
            if reachable_v4 {
                any::<u32>().prop_map(|a| Some(Ipv4Addr::from(a))).boxed()
            } else {
                prop::option::of(any::<u32>().prop_map(Ipv4Addr::from)).boxed()
            },
            prop::option::of(any::<u32>()),
            prop::option::of(any::<u32>()),
            any::<bool>(),
        ),
        (
            prop::option::of(
                (any::<u32>(), any::<u32>()).prop_map(|(asn, a)| Aggregator {
                    asn,
                    address: Ipv4Addr::from(a),
                }),
            ),
            prop::collection::vec(any::<u32>(), 0..70),
            prop::collection::vec(
                (any::<u32>(), any::<u32>(), any::<u32>())
                    .prop_map(|(a, b, c)| LargeCommunity(a, b, c)),
                0..6,
            ),
            prop::collection::btree_map(
                unknown_code(),
                prop::collection::vec(any::<u8>(), 0..300),
                0..3,
            ),
        ),
    )
        .prop_map(
            |(
                (origin, as_path, next_hop, med, local_pref, atomic_aggregate),
                (aggregator, communities, lcs, unknown),
            )| {
                let mut large_communities = Vec::new();
                for lc in lcs {
                    if !large_communities.contains(&lc) {
                        large_communities.push(lc);
                    }
                }
                Attributes {
                    origin,
                    as_path,
                    next_hop,
                    med,
                    local_pref,
                    atomic_aggregate,
                    aggregator,
                    communities,
                    large_communities,
                    // Received optional transitive attributes carry Partial (RFC 4271 §5).
                    unknown: unknown
                        .into_iter()
                        .map(|(type_code, v)| RawAttribute {
                            flags: 0xe0,
                            type_code,
                            value: Bytes::from(v),
                        })
                        .collect(),
                }
            },
        )
}

pub fn next_hop(family: Family) -> BoxedStrategy<NextHop> {
    let v6 = (any::<u128>(), prop::option::of(any::<u128>())).prop_map(|(g, l)| NextHop::V6 {
        global: Ipv6Addr::from(g),
        link_local: l.map(Ipv6Addr::from),
    });
    match family {
        Family::Ipv4Unicast => {
            prop_oneof![any::<u32>().prop_map(|a| NextHop::V4(a.into())), v6].boxed()
        }
        Family::Ipv6Unicast => v6.boxed(),
    }
}

pub fn mp_reach() -> impl Strategy<Value = MpReach> {
    family().prop_flat_map(|f| {
        (next_hop(f), prefixes(f, 12)).prop_map(move |(next_hop, nlri)| MpReach {
            family: f,
            next_hop,
            nlri,
        })
    })
}

pub fn mp_unreach() -> impl Strategy<Value = MpUnreach> {
    family().prop_flat_map(|f| {
        prefixes(f, 12).prop_map(move |withdrawn| MpUnreach {
            family: f,
            withdrawn,
        })
    })
}

/// A well-formed UPDATE: mandatory attributes present whenever there is NLRI to install.
pub fn update(four_octet: bool) -> impl Strategy<Value = Update> {
    (
        prop::collection::vec(v4_net(), 0..12),
        prop::collection::vec(v4_net(), 0..12),
        prop::option::of(mp_reach()),
        prop::option::of(mp_unreach()),
        any::<bool>(),
    )
        .prop_flat_map(move |(withdrawn, nlri, mp_reach, mp_unreach, with_attrs)| {
            let reachable_v4 = !nlri.is_empty();
            let reachable = reachable_v4 || mp_reach.as_ref().is_some_and(|m| !m.nlri.is_empty());
            let attrs = if reachable || with_attrs {
                attributes(four_octet, reachable_v4, reachable)
                    .prop_map(Some)
                    .boxed()
            } else {
                Just(None).boxed()
            };
            attrs.prop_map(move |attributes| Update {
                withdrawn: withdrawn.clone(),
                attributes,
                nlri: nlri.clone(),
                mp_reach: mp_reach.clone(),
                mp_unreach: mp_unreach.clone(),
                error_action: ErrorAction::None,
                errors: Vec::new(),
            })
        })
}

pub fn capability() -> impl Strategy<Value = Capability> {
    prop_oneof![
        family().prop_map(Capability::Multiprotocol),
        Just(Capability::RouteRefresh),
        (
            any::<bool>(),
            0u16..4096,
            prop::collection::vec((family(), any::<bool>()), 0..3)
        )
            .prop_map(
                |(restarting, restart_time, families)| Capability::GracefulRestart {
                    restarting,
                    restart_time,
                    families,
                }
            ),
        any::<u32>().prop_map(Capability::FourOctetAs),
        (
            any::<u8>().prop_filter("known codes", |c| !matches!(c, 1 | 2 | 64 | 65)),
            prop::collection::vec(any::<u8>(), 0..40),
        )
            .prop_map(|(code, v)| Capability::Unknown {
                code,
                value: Bytes::from(v),
            }),
    ]
}

pub fn open() -> impl Strategy<Value = Open> {
    (
        any::<u16>(),
        prop_oneof![Just(0u16), 3u16..],
        1u32..,
        prop::collection::vec(capability(), 0..20),
    )
        .prop_map(|(my_as, hold_time, id, capabilities)| Open {
            version: 4,
            my_as,
            hold_time,
            bgp_identifier: Ipv4Addr::from(id),
            capabilities,
        })
}

pub fn message(four_octet: bool) -> impl Strategy<Value = Message> {
    prop_oneof![
        1 => open().prop_map(Message::Open),
        4 => update(four_octet).prop_map(Message::Update),
        1 => (any::<u8>(), any::<u8>(), prop::collection::vec(any::<u8>(), 0..64)).prop_map(
            |(code, subcode, data)| Message::Notification(Notification {
                code,
                subcode,
                data: Bytes::from(data),
            })
        ),
        1 => Just(Message::Keepalive),
        1 => (any::<u16>(), any::<u8>()).prop_map(|(afi, safi)| Message::RouteRefresh(RouteRefresh {
            family: Family::from_afi_safi(afi, safi),
            afi,
            safi,
        })),
    ]
}
