//! Scenarios as plans: the topology every target gets, what each sender writes (pre-encoded,
//! one stream per phase) and what each monitor must hold at the end of each phase.
//!
//! 1. One full table from one peer.
//! 2. `--peers` full tables (default 10) from as many peers: the same prefixes over different
//!    AS paths, next hops, MEDs and communities. For every origin exactly one sender has the
//!    strictly shortest AS path, so the best path is decided before any implementation-specific
//!    tie-break and the monitor knows which one each target must end with.
//! 3. ExpressRoute shape: `--circuits` circuits, each its own routing domain, each with two
//!    sessions (primary and secondary, as customers run them) announcing the same
//!    `--circuit-prefixes` prefixes (default 4,000, the Standard limit) — the secondary with
//!    its AS prepended once — plus one monitor session (AS 65515, the VNet gateway's ASN).
//!    Circuit i takes the next 4,000 real prefixes of the table, wrapping around, so circuits
//!    overlap in address space the way private address plans do.
//! 4. Churn: the table of scenario 1, then 10 % of it (every tenth by hash) withdrawn and
//!    re-announced at once with one more prepend, so the re-announcement is distinguishable
//!    from the original at the monitor. Phase 2's time is the churn figure.
//!
//! With `--ipv6 N` (scenarios 1, 2 and 4) every sender also announces N synthetic IPv6
//! prefixes ([`data::synthetic_ipv6`]), their attributes derived exactly as for IPv4, over a
//! second session of its own at an IPv6 address (MP_REACH_NLRI, RFC 4760, with that address
//! as the next hop); the target exports them to a second monitor session at an IPv6 address,
//! which must end up holding exactly them, by the same rule as the IPv4 monitor.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use bgp::wire::{AsPath, AsSegment, Attributes, Origin, Prefix};

use crate::data::{self, AttrKey, Origination, PathModel, SenderProfile};
use crate::monitor::{Key, key, signature};
use crate::pack::{self, Stream};
use crate::targets::{Domain, Peer, Topology};

/// The target's AS in every configuration (Azure's, which Causeway uses by default).
pub const TARGET_AS: u32 = 12076;
/// The monitor's AS (an Azure VNet gateway's).
pub const MONITOR_AS: u32 = 65515;
/// Sender i of scenarios 1, 2 and 4 is AS 65001 + i.
pub const FIRST_SENDER_AS: u32 = 65001;
/// Customer ASes of scenario 3: 64600 + circuit % 800.
pub const FIRST_CUSTOMER_AS: u32 = 64600;

pub const TARGET_SENDER_SIDE: Ipv4Addr = Ipv4Addr::new(10, 100, 0, 1);
pub const TARGET_MONITOR_SIDE: Ipv4Addr = Ipv4Addr::new(10, 200, 0, 1);
pub const TARGET_SENDER_SIDE6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x100, 0, 0, 0, 0, 0, 1);
pub const TARGET_MONITOR_SIDE6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x200, 0, 0, 0, 0, 0, 1);

/// Sender session i's address (10.100.0.0/16 from .2 on).
pub fn sender_addr(i: usize) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 100, 0, 2)) + i as u32)
}

/// Monitor session i's address (10.200.0.0/16 from .2 on).
pub fn monitor_addr(i: usize) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 200, 0, 2)) + i as u32)
}

/// Sender i's IPv6 session address (fd00:100::/64 from ::2 on); its BGP identifier is
/// 10.101.0.2 + i, so no two sessions share one.
pub fn sender_addr6(i: usize) -> Ipv6Addr {
    Ipv6Addr::from(u128::from(TARGET_SENDER_SIDE6) + 1 + i as u128)
}

/// Monitor i's IPv6 session address (fd00:200::/64 from ::2 on); identifier 10.201.0.2 + i.
pub fn monitor_addr6(i: usize) -> Ipv6Addr {
    Ipv6Addr::from(u128::from(TARGET_MONITOR_SIDE6) + 1 + i as u128)
}

fn id6(side: u8, i: usize) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(10, side, 0, 2)) + i as u32)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    FullTable,
    ManyPeers,
    ExpressRoute,
    Churn,
}

impl Scenario {
    pub fn from_number(n: u8) -> anyhow::Result<Scenario> {
        Ok(match n {
            1 => Scenario::FullTable,
            2 => Scenario::ManyPeers,
            3 => Scenario::ExpressRoute,
            4 => Scenario::Churn,
            _ => anyhow::bail!("scenario must be 1, 2, 3 or 4"),
        })
    }

    pub fn number(self) -> u8 {
        match self {
            Scenario::FullTable => 1,
            Scenario::ManyPeers => 2,
            Scenario::ExpressRoute => 3,
            Scenario::Churn => 4,
        }
    }
}

/// Sizes from the command line.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Prefixes of the table to use (all when `None`).
    pub prefixes: Option<usize>,
    pub peers: usize,
    pub circuits: usize,
    pub circuit_prefixes: usize,
    pub hold_time: u16,
}

#[derive(Debug)]
pub struct SenderPlan {
    /// An IPv6 address: an IPv6-unicast-only session; IPv4: IPv4 unicast only.
    pub address: IpAddr,
    /// The BGP identifier in its OPEN.
    pub router_id: Ipv4Addr,
    pub asn: u32,
    /// One stream per phase.
    pub phases: Vec<Arc<Stream>>,
}

#[derive(Debug)]
pub struct MonitorPlan {
    /// As for [`SenderPlan::address`].
    pub address: IpAddr,
    pub router_id: Ipv4Addr,
    /// What the monitor must hold at the end of each phase.
    pub expected: Vec<Arc<HashMap<Key, u64>>>,
}

#[derive(Debug)]
pub struct Plan {
    pub scenario: Scenario,
    pub topology: Topology,
    pub senders: Vec<SenderPlan>,
    pub monitors: Vec<MonitorPlan>,
    /// Paths the target holds once converged (prefixes × sessions announcing them).
    pub paths: usize,
    /// Distinct prefixes per monitor, summed over monitors.
    pub expected_prefixes: usize,
    /// Of which IPv6.
    pub expected_ipv6: usize,
    /// Distinct attribute sets over all senders' first phase.
    pub attribute_sets: usize,
    pub updates: usize,
    pub update_bytes: usize,
}

impl Plan {
    pub fn phases(&self) -> usize {
        self.monitors.first().map_or(0, |m| m.expected.len())
    }

    pub fn sessions(&self) -> usize {
        self.senders.len() + self.monitors.len()
    }
}

fn domain_peer(name: String, address: impl Into<IpAddr>, asn: u32, monitor: bool) -> Peer {
    Peer {
        name,
        address: address.into(),
        asn,
        monitor,
    }
}

/// Builds the plan for `scenario` from the real table and the IPv6 table `v6` (empty
/// without `--ipv6`; scenario 3 takes none).
pub fn build(scenario: Scenario, table: &[Origination], v6: &[Origination], sizes: Sizes) -> Plan {
    match scenario {
        Scenario::ExpressRoute => express_route(table, sizes),
        _ => full_tables(scenario, table, v6, sizes),
    }
}

fn full_tables(
    scenario: Scenario,
    table: &[Origination],
    v6: &[Origination],
    sizes: Sizes,
) -> Plan {
    let routes = &table[..sizes.prefixes.unwrap_or(table.len()).min(table.len())];
    let peers = if scenario == Scenario::ManyPeers {
        sizes.peers.max(1)
    } else {
        1
    };
    let profiles: Vec<SenderProfile> = (0..peers)
        .map(|i| SenderProfile {
            asn: FIRST_SENDER_AS + i as u32,
            index: i,
            peers,
        })
        .collect();
    let mut forbidden = vec![TARGET_AS, MONITOR_AS];
    forbidden.extend(profiles.iter().map(|p| p.asn));
    let model = PathModel::new(table, &forbidden);

    let mut senders = Vec::new();
    let mut monitors = Vec::new();
    let mut peers_cfg: Vec<Peer> = Vec::new();
    let mut sets = 0;
    let mut updates = 0;
    let mut bytes = 0;
    // IPv4 first (its sessions, configs and streams are those of a run without IPv6), then
    // IPv6 on sessions of its own.
    for (routes, ipv6) in [(routes, false), (v6, true)] {
        if ipv6 && routes.is_empty() {
            continue;
        }
        let family = family_plan(scenario, routes, ipv6, &profiles, &model);
        sets += family.sets;
        updates += family.updates;
        bytes += family.bytes;
        for (i, s) in family.senders.iter().enumerate() {
            let name = if ipv6 {
                format!("sender{i}v6")
            } else {
                format!("sender{i}")
            };
            peers_cfg.push(domain_peer(name, s.address, s.asn, false));
        }
        senders.extend(family.senders);
        let (address, router_id): (IpAddr, Ipv4Addr) = if ipv6 {
            (monitor_addr6(0).into(), id6(201, 0))
        } else {
            (monitor_addr(0).into(), monitor_addr(0))
        };
        let name = if ipv6 { "monitorv6" } else { "monitor" };
        peers_cfg.push(domain_peer(name.into(), address, MONITOR_AS, true));
        monitors.push(MonitorPlan {
            address,
            router_id,
            expected: family.expected,
        });
    }
    Plan {
        scenario,
        topology: Topology {
            target_as: TARGET_AS,
            sender_side: TARGET_SENDER_SIDE,
            monitor_side: TARGET_MONITOR_SIDE,
            sender_side6: TARGET_SENDER_SIDE6,
            monitor_side6: TARGET_MONITOR_SIDE6,
            hold_time: sizes.hold_time,
            domains: vec![Domain {
                name: "bench".into(),
                peers: peers_cfg,
            }],
        },
        senders,
        monitors,
        paths: (routes.len() + v6.len()) * peers,
        expected_prefixes: routes.len() + v6.len(),
        expected_ipv6: v6.len(),
        attribute_sets: sets,
        updates,
        update_bytes: bytes,
    }
}

/// One address family of a full-table scenario: one session per sender, one monitor.
struct FamilyPlan {
    senders: Vec<SenderPlan>,
    expected: Vec<Arc<HashMap<Key, u64>>>,
    sets: usize,
    updates: usize,
    bytes: usize,
}

fn family_plan(
    scenario: Scenario,
    routes: &[Origination],
    ipv6: bool,
    profiles: &[SenderProfile],
    model: &PathModel,
) -> FamilyPlan {
    // The final signature per prefix: the sender with the shortest path.
    let mut expected: HashMap<Key, u64> = HashMap::with_capacity(routes.len());
    let mut best_len: HashMap<Key, u8> = HashMap::with_capacity(routes.len());
    let churned: HashSet<Prefix> = routes
        .iter()
        .filter(|r| data::mix(prefix_bits(&r.prefix) ^ 0xc4).is_multiple_of(10))
        .map(|r| r.prefix)
        .collect();
    let mut expected_after_churn = HashMap::new();

    let mut senders = Vec::new();
    let mut sets = 0;
    let mut updates = 0;
    let mut bytes = 0;
    for p in profiles {
        let (address, router_id, nh4, nh6): (IpAddr, _, _, _) = if ipv6 {
            let a = sender_addr6(p.index);
            (a.into(), id6(101, p.index), Ipv4Addr::UNSPECIFIED, a)
        } else {
            let a = sender_addr(p.index);
            (a.into(), a, a, Ipv6Addr::UNSPECIFIED)
        };
        let groups = data::group(routes, |r| p.key(r));
        sets += groups.len();
        for (k, prefixes) in &groups {
            let seen = SenderProfile::seen_len(k);
            for pfx in prefixes {
                let kk = key(pfx);
                if best_len.get(&kk).is_none_or(|l| seen < *l) {
                    best_len.insert(kk, seen);
                    expected.insert(kk, signature(p.asn, seen));
                }
            }
        }
        let stream = encode(p, model, &groups, nh4, nh6);
        updates += stream.messages;
        bytes += stream.bytes;
        let mut phases = vec![Arc::new(stream)];
        if scenario == Scenario::Churn {
            let gone: Vec<Prefix> = routes
                .iter()
                .map(|r| r.prefix)
                .filter(|p| churned.contains(p))
                .collect();
            let mut s = pack::withdraw(&gone);
            let again = data::group(
                &routes
                    .iter()
                    .filter(|r| churned.contains(&r.prefix))
                    .copied()
                    .collect::<Vec<_>>(),
                |r| AttrKey {
                    prepend: 1,
                    ..p.key(r)
                },
            );
            for (k, prefixes) in &again {
                for pfx in prefixes {
                    expected_after_churn
                        .insert(key(pfx), signature(p.asn, SenderProfile::seen_len(k)));
                }
            }
            s.extend(encode(p, model, &again, nh4, nh6));
            phases.push(Arc::new(s));
        }
        senders.push(SenderPlan {
            address,
            router_id,
            asn: p.asn,
            phases,
        });
    }
    let mut phases = vec![Arc::new(expected.clone())];
    if scenario == Scenario::Churn {
        let mut after = expected;
        after.extend(expected_after_churn);
        phases.push(Arc::new(after));
    }
    FamilyPlan {
        senders,
        expected: phases,
        sets,
        updates,
        bytes,
    }
}

fn encode(
    p: &SenderProfile,
    model: &PathModel,
    groups: &[(AttrKey, Vec<Prefix>)],
    nh4: Ipv4Addr,
    nh6: Ipv6Addr,
) -> Stream {
    let wire: Vec<(Attributes, Vec<Prefix>)> = groups
        .iter()
        .map(|(k, v)| (p.attributes(model, k), v.clone()))
        .collect();
    pack::announce(&wire, nh4, nh6)
}

fn prefix_bits(p: &Prefix) -> u64 {
    let (a, l) = key(p);
    (a as u64) ^ ((a >> 64) as u64) ^ u64::from(l) << 56
}

fn express_route(table: &[Origination], sizes: Sizes) -> Plan {
    let per = sizes.circuit_prefixes.min(table.len());
    let mut senders = Vec::new();
    let mut monitors = Vec::new();
    let mut domains = Vec::new();
    let mut updates = 0;
    let mut bytes = 0;
    for c in 0..sizes.circuits {
        let cust = FIRST_CUSTOMER_AS + (c % 800) as u32;
        let start = (c * per) % table.len();
        let prefixes: Vec<Prefix> = (0..per)
            .map(|j| table[(start + j) % table.len()].prefix)
            .collect();
        let mut peers = Vec::new();
        for (s, prepend) in [(0usize, 0usize), (1, 1)] {
            let idx = 2 * c + s;
            let address = sender_addr(idx);
            let attrs = Attributes {
                origin: Some(Origin::Igp),
                as_path: AsPath {
                    segments: vec![AsSegment::Sequence(vec![cust; 1 + prepend])],
                },
                ..Attributes::default()
            };
            let stream =
                pack::announce(&[(attrs, prefixes.clone())], address, Ipv6Addr::UNSPECIFIED);
            updates += stream.messages;
            bytes += stream.bytes;
            senders.push(SenderPlan {
                address: address.into(),
                router_id: address,
                asn: cust,
                phases: vec![Arc::new(stream)],
            });
            let role = if s == 0 { "primary" } else { "secondary" };
            peers.push(domain_peer(role.into(), address, cust, false));
        }
        let m = monitor_addr(c);
        peers.push(domain_peer("gateway".into(), m, MONITOR_AS, true));
        let expected: HashMap<Key, u64> = prefixes
            .iter()
            .map(|p| (key(p), signature(cust, 2)))
            .collect();
        monitors.push(MonitorPlan {
            address: m.into(),
            router_id: m,
            expected: vec![Arc::new(expected)],
        });
        domains.push(Domain {
            name: format!("circuit{c}"),
            peers,
        });
    }
    let expected_prefixes = monitors.iter().map(|m| m.expected[0].len()).sum();
    Plan {
        scenario: Scenario::ExpressRoute,
        topology: Topology {
            target_as: TARGET_AS,
            sender_side: TARGET_SENDER_SIDE,
            monitor_side: TARGET_MONITOR_SIDE,
            sender_side6: TARGET_SENDER_SIDE6,
            monitor_side6: TARGET_MONITOR_SIDE6,
            hold_time: sizes.hold_time,
            domains,
        },
        paths: per * 2 * sizes.circuits,
        expected_prefixes,
        expected_ipv6: 0,
        attribute_sets: 2 * sizes.circuits,
        senders,
        monitors,
        updates,
        update_bytes: bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bgp::wire::{Context, Message, NextHop, frame};
    use ipnet::Ipv4Net;

    fn table(n: u32) -> Vec<Origination> {
        (0..n)
            .map(|i| Origination {
                prefix: Prefix::V4(
                    Ipv4Net::new(Ipv4Addr::from(0x0b00_0000 + (i << 8)), 24).unwrap(),
                ),
                origin_as: 1000 + i % 97,
            })
            .collect()
    }

    fn sizes() -> Sizes {
        Sizes {
            prefixes: None,
            peers: 3,
            circuits: 1,
            circuit_prefixes: 10,
            hold_time: 90,
        }
    }

    fn updates(s: &Stream) -> Vec<bgp::wire::Update> {
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
        }
        out
    }

    #[test]
    fn ipv6_adds_sessions_of_its_own_and_leaves_the_ipv4_plan_as_it_was() {
        let t = table(3000);
        let v6 = data::synthetic_ipv6(500, &t);
        for scenario in [Scenario::FullTable, Scenario::ManyPeers, Scenario::Churn] {
            let without = build(scenario, &t, &[], sizes());
            let with = build(scenario, &t, &v6, sizes());
            let n = without.senders.len();
            assert_eq!(with.senders.len(), 2 * n);
            assert_eq!(with.monitors.len(), 2);
            assert_eq!(with.expected_prefixes, 3500);
            assert_eq!(with.expected_ipv6, 500);
            // The IPv4 sessions and their streams are byte for byte those of a run without.
            for (a, b) in without.senders.iter().zip(&with.senders) {
                assert_eq!(
                    (a.address, a.router_id, a.asn),
                    (b.address, b.router_id, b.asn)
                );
                assert_eq!(a.phases.len(), b.phases.len());
                for (x, y) in a.phases.iter().zip(&b.phases) {
                    assert_eq!(x.chunks, y.chunks);
                }
            }
            assert_eq!(without.monitors[0].expected, with.monitors[0].expected);
            let peers = &with.topology.domains[0].peers;
            assert_eq!(peers[..=n].len(), without.topology.domains[0].peers.len());
            // The IPv6 sessions carry every IPv6 prefix, over MP_REACH_NLRI with the session's
            // own address as the next hop, and nothing else.
            for (i, s) in with.senders[n..].iter().enumerate() {
                assert_eq!(s.address, IpAddr::V6(sender_addr6(i)));
                let mut got = 0;
                for u in updates(&s.phases[0]) {
                    assert!(u.nlri.is_empty() && u.withdrawn.is_empty());
                    let a = u.attributes.expect("attributes");
                    assert_eq!(a.next_hop, None);
                    let m = u.mp_reach.expect("MP_REACH_NLRI");
                    assert_eq!(
                        m.next_hop,
                        NextHop::V6 {
                            global: sender_addr6(i),
                            link_local: None
                        }
                    );
                    got += m.nlri.len();
                }
                assert_eq!(got, 500);
            }
            let m6 = &with.monitors[1];
            assert_eq!(m6.address, IpAddr::V6(monitor_addr6(0)));
            for phase in &m6.expected {
                assert_eq!(phase.len(), 500);
                assert!(phase.keys().all(|k| k.1 & 0x80 != 0));
            }
        }
    }

    #[test]
    fn every_target_config_gets_the_ipv6_sessions_and_v4_only_configs_mention_no_ipv6() {
        let t = table(100);
        let v6 = data::synthetic_ipv6(10, &t);
        let without = build(Scenario::FullTable, &t, &[], sizes()).topology;
        let with = build(Scenario::FullTable, &t, &v6, sizes()).topology;
        let configs = |t: &Topology| {
            [
                crate::targets::causeway_config(t),
                crate::targets::bird_config(t),
                crate::targets::frr_config(t),
                crate::targets::gobgp_config(t),
                crate::targets::openbgpd_config(t, "/x"),
            ]
        };
        for c in configs(&without) {
            assert!(
                !c.contains("fd00") && !c.contains("ipv6") && !c.contains("IPv6"),
                "{c}"
            );
        }
        let [cw, bird, frr, gobgp, obgpd] = configs(&with);
        assert!(cw.contains("address = \"fd00:100::2\"\nlocal_address = \"fd00:100::1\""));
        assert!(cw.contains("families = [\"ipv6\"]"));
        assert!(bird.contains("neighbor fd00:200::2 as 65515;"));
        assert!(bird.contains("  ipv6 {\n    import all;\n    export all;\n    next hop self;"));
        assert!(frr.contains(" address-family ipv6 unicast\n  neighbor fd00:100::2 activate\n"));
        assert!(frr.contains("  neighbor fd00:200::2 next-hop-self\n"));
        assert!(frr.contains("  no neighbor fd00:100::2 activate\n"));
        assert!(gobgp.contains("afi-safi-name = \"ipv6-unicast\""));
        assert!(obgpd.contains("listen on fd00:100::1\n"));
        assert!(obgpd.contains("neighbor fd00:200::2 {"));
        assert!(obgpd.contains("announce IPv6 unicast"));
    }
}
