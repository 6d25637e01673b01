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

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, Ipv6Addr};
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

/// Sender session i's address (10.100.0.0/16 from .2 on).
pub fn sender_addr(i: usize) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 100, 0, 2)) + i as u32)
}

/// Monitor session i's address (10.200.0.0/16 from .2 on).
pub fn monitor_addr(i: usize) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 200, 0, 2)) + i as u32)
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
    pub address: Ipv4Addr,
    pub asn: u32,
    /// One stream per phase.
    pub phases: Vec<Arc<Stream>>,
}

#[derive(Debug)]
pub struct MonitorPlan {
    pub address: Ipv4Addr,
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

fn domain_peer(name: String, address: Ipv4Addr, asn: u32, monitor: bool) -> Peer {
    Peer {
        name,
        address,
        asn,
        monitor,
    }
}

/// Builds the plan for `scenario` from the real table.
pub fn build(scenario: Scenario, table: &[Origination], sizes: Sizes) -> Plan {
    match scenario {
        Scenario::ExpressRoute => express_route(table, sizes),
        _ => full_tables(scenario, table, sizes),
    }
}

fn full_tables(scenario: Scenario, table: &[Origination], sizes: Sizes) -> Plan {
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
    for p in &profiles {
        let address = sender_addr(p.index);
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
        let stream = encode(p, &model, &groups, address);
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
            s.extend(encode(p, &model, &again, address));
            phases.push(Arc::new(s));
        }
        senders.push(SenderPlan {
            address,
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
    let mut peers_cfg: Vec<Peer> = senders
        .iter()
        .enumerate()
        .map(|(i, s)| domain_peer(format!("sender{i}"), s.address, s.asn, false))
        .collect();
    peers_cfg.push(domain_peer(
        "monitor".into(),
        monitor_addr(0),
        MONITOR_AS,
        true,
    ));
    Plan {
        scenario,
        topology: Topology {
            target_as: TARGET_AS,
            sender_side: TARGET_SENDER_SIDE,
            monitor_side: TARGET_MONITOR_SIDE,
            hold_time: sizes.hold_time,
            domains: vec![Domain {
                name: "bench".into(),
                peers: peers_cfg,
            }],
        },
        senders,
        monitors: vec![MonitorPlan {
            address: monitor_addr(0),
            expected: phases,
        }],
        paths: routes.len() * peers,
        expected_prefixes: routes.len(),
        attribute_sets: sets,
        updates,
        update_bytes: bytes,
    }
}

fn encode(
    p: &SenderProfile,
    model: &PathModel,
    groups: &[(AttrKey, Vec<Prefix>)],
    address: Ipv4Addr,
) -> Stream {
    let wire: Vec<(Attributes, Vec<Prefix>)> = groups
        .iter()
        .map(|(k, v)| (p.attributes(model, k), v.clone()))
        .collect();
    pack::announce(&wire, address, Ipv6Addr::UNSPECIFIED)
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
                address,
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
            address: m,
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
            hold_time: sizes.hold_time,
            domains,
        },
        paths: per * 2 * sizes.circuits,
        expected_prefixes,
        attribute_sets: 2 * sizes.circuits,
        senders,
        monitors,
        updates,
        update_bytes: bytes,
    }
}
