//! Per-prefix costs of the BGP pipeline: UPDATE decode, UPDATE encode, the decision process
//! (`Rib::update` with several paths per prefix) and update packing (`Speaker::flush` of
//! queued best-path changes toward one peer).
//!
//! Every group reports elements = prefixes (or paths), so criterion prints time and
//! throughput per prefix. Run with
//! `cargo bench -p bgp --bench pipeline` (docs/benchmarks.md has the numbers).

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use bgp::rib::{PathAttrs, PeerIdx, PeerRank, Rib};
use bgp::speaker::{Input, Output, PeerSettings, Speaker};
use bgp::wire::{
    AsPath, AsSegment, Attributes, Capability, Context, Family, Message, NextHop, Open, Origin,
    Prefix, Update,
};
use bgp::{Direction, Event, SessionConfig};
use bytes::BytesMut;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ipnet::Ipv4Net;

const LOCAL_AS: u32 = 12076;

/// `n` distinct IPv4 prefixes, mostly /24 with some /22 and /20, as in a real table.
fn prefixes(n: usize) -> Vec<Ipv4Net> {
    (0..n as u32)
        .map(|i| {
            let len = match i % 10 {
                0 => 20,
                1 | 2 => 22,
                _ => 24,
            };
            let addr = Ipv4Addr::from(0x0b00_0000u32.wrapping_add(i << 12));
            Ipv4Net::new(addr, len).expect("a valid length").trunc()
        })
        .collect()
}

/// A realistic attribute set: a 4-AS path, MED, two communities.
fn attributes(first_as: u32, len: usize, next_hop: Ipv4Addr) -> Attributes {
    let mut path = vec![first_as];
    path.extend(
        [3356, 1299, 13335, 15169]
            .iter()
            .take(len.saturating_sub(1)),
    );
    Attributes {
        origin: Some(Origin::Igp),
        as_path: AsPath {
            segments: vec![AsSegment::Sequence(path)],
        },
        next_hop: Some(next_hop),
        med: Some(10),
        communities: vec![
            (first_as & 0xffff) << 16 | 1001,
            (first_as & 0xffff) << 16 | 2000,
        ],
        ..Attributes::default()
    }
}

fn update(n: usize) -> Message {
    Message::Update(Update {
        attributes: Some(attributes(65001, 4, Ipv4Addr::new(10, 0, 0, 1))),
        nlri: prefixes(n),
        ..Update::default()
    })
}

// ===== codec =====

fn codec(c: &mut Criterion) {
    let cx = Context::default();
    let mut decode = c.benchmark_group("update_decode");
    // 1, 10, 100 prefixes and a full 4 KiB UPDATE (900 prefixes of the mix above).
    for n in [1usize, 10, 100, 900] {
        let mut bytes = BytesMut::new();
        update(n).encode(&cx, &mut bytes);
        assert!(
            bytes.len() <= 4096,
            "{n} prefixes take {} octets",
            bytes.len()
        );
        decode.throughput(Throughput::Elements(n as u64));
        decode.bench_function(format!("{n}_prefixes"), |b| {
            b.iter(|| Message::decode(black_box(&bytes), &cx).expect("decodes"))
        });
    }
    decode.finish();

    let mut encode = c.benchmark_group("update_encode");
    for n in [1usize, 10, 100, 900] {
        let msg = update(n);
        let mut out = BytesMut::with_capacity(4096);
        encode.throughput(Throughput::Elements(n as u64));
        encode.bench_function(format!("{n}_prefixes"), |b| {
            b.iter(|| {
                out.clear();
                black_box(&msg).encode(&cx, &mut out);
            })
        });
    }
    encode.finish();
}

// ===== decision process =====

fn rank(p: PeerIdx) -> Option<PeerRank> {
    Some(PeerRank {
        weight: 0,
        router_id: Ipv4Addr::from(0x0a00_0000 + p.0),
        address: IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + p.0)),
        ebgp: true,
    })
}

fn decision(c: &mut Criterion) {
    const PREFIXES: usize = 10_000;
    let nets = prefixes(PREFIXES);
    let mut g = c.benchmark_group("rib_update");
    g.sample_size(20);
    // Each peer's path is a different length, and the peers arrive worst-first, so every new
    // path displaces the best: the decision process runs in full each time.
    for peers in [1u32, 4, 10] {
        g.throughput(Throughput::Elements(PREFIXES as u64 * u64::from(peers)));
        g.bench_function(format!("{peers}_paths_per_prefix"), |b| {
            b.iter_batched(
                || {
                    let mut rib = Rib::new();
                    let attrs: Vec<_> = (0..peers)
                        .map(|p| {
                            rib.pool.intern(PathAttrs {
                                attrs: attributes(
                                    65001 + p,
                                    (peers - p) as usize % 5 + 1,
                                    Ipv4Addr::from(0x0a00_0000 + p),
                                ),
                                next_hop: Some(NextHop::V4(Ipv4Addr::from(0x0a00_0000 + p))),
                            })
                        })
                        .collect();
                    (rib, attrs)
                },
                |(mut rib, attrs)| {
                    for (p, a) in attrs.iter().enumerate() {
                        for n in &nets {
                            black_box(rib.update(
                                Prefix::V4(*n),
                                PeerIdx(p as u32),
                                Some(a.clone()),
                                &rank,
                            ));
                        }
                    }
                    rib
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

// ===== update packing =====

fn peer_settings(name: &str, remote_as: u32, address: Ipv4Addr) -> PeerSettings {
    PeerSettings {
        name: name.to_string(),
        address: IpAddr::V4(address),
        local_address: None,
        md5_key: None,
        shutdown: false,
        session: SessionConfig {
            local_as: LOCAL_AS,
            router_id: Ipv4Addr::new(10, 0, 0, 1),
            remote_as,
            hold_time: Duration::from_secs(90),
            connect_retry: Duration::from_secs(10),
            passive: false,
            families: vec![Family::Ipv4Unicast],
            error_wait: None,
        },
        max_prefixes: [None, None],
        prepend: 0,
        weight: 0,
        export: Default::default(),
    }
}

fn bring_up(sp: &mut Speaker, idx: PeerIdx, asn: u32, id: Ipv4Addr, local: Ipv4Addr) {
    let dir = Direction::Outgoing;
    sp.handle(Input::Event(
        idx,
        Event::TcpConnected {
            direction: dir,
            local_addr: IpAddr::V4(local),
        },
    ));
    let open = Message::Open(Open {
        version: 4,
        my_as: u16::try_from(asn).unwrap_or(bgp::wire::AS_TRANS),
        hold_time: 90,
        bgp_identifier: id,
        capabilities: vec![
            Capability::Multiprotocol(Family::Ipv4Unicast),
            Capability::FourOctetAs(asn),
        ],
    });
    sp.handle(Input::Event(idx, Event::MessageReceived(dir, open)));
    let out = sp.handle(Input::Event(
        idx,
        Event::MessageReceived(dir, Message::Keepalive),
    ));
    assert!(out.contains(&Output::PeerUp(idx)), "{out:?}");
    sp.handle(Input::Flush);
}

/// A speaker with peers A and B up, and A's `n` prefixes (ten per attribute set, so the
/// output packs by set as a real table would) received and queued toward B.
fn speaker_with_queue(n: usize) -> Speaker {
    let mut sp = Speaker::new(LOCAL_AS, Ipv4Addr::new(10, 0, 0, 1));
    let a_addr = Ipv4Addr::new(192, 0, 2, 1);
    let b_addr = Ipv4Addr::new(198, 51, 100, 1);
    let a = add_peer(&mut sp, peer_settings("A", 65001, a_addr));
    let b = add_peer(&mut sp, peer_settings("B", 65002, b_addr));
    bring_up(&mut sp, a, 65001, a_addr, Ipv4Addr::new(192, 0, 2, 254));
    bring_up(&mut sp, b, 65002, b_addr, Ipv4Addr::new(198, 51, 100, 254));
    for (i, chunk) in prefixes(n).chunks(10).enumerate() {
        let mut attrs = attributes(65001, 3, a_addr);
        attrs.med = Some(i as u32);
        let u = Message::Update(Update {
            attributes: Some(attrs),
            nlri: chunk.to_vec(),
            ..Update::default()
        });
        sp.handle(Input::Event(
            a,
            Event::MessageReceived(Direction::Outgoing, u),
        ));
    }
    sp
}

fn packing(c: &mut Criterion) {
    let mut g = c.benchmark_group("speaker_flush");
    g.sample_size(20);
    for n in [1_000usize, 10_000] {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("{n}_prefixes_toward_one_peer"), |b| {
            b.iter_batched(
                || speaker_with_queue(n),
                |mut sp| {
                    let out = sp.handle(Input::Flush);
                    assert!(out.iter().any(|o| matches!(o, Output::Send(..))));
                    (sp, out)
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();

    // The whole path for one received UPDATE: import, decision, queueing, and the flush.
    let mut g = c.benchmark_group("speaker_receive_and_flush");
    g.sample_size(20);
    let n = 10_000;
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function(format!("{n}_prefixes"), |b| {
        b.iter_batched(
            || {
                let mut sp = speaker_with_queue(0);
                sp.handle(Input::Flush);
                sp
            },
            |mut sp| {
                let a = PeerIdx(0);
                for (i, chunk) in prefixes(n).chunks(10).enumerate() {
                    let mut attrs = attributes(65001, 3, Ipv4Addr::new(192, 0, 2, 1));
                    attrs.med = Some(i as u32);
                    let u = Message::Update(Update {
                        attributes: Some(attrs),
                        nlri: chunk.to_vec(),
                        ..Update::default()
                    });
                    sp.handle(Input::Event(
                        a,
                        Event::MessageReceived(Direction::Outgoing, u),
                    ));
                }
                let out = sp.handle(Input::Flush);
                (sp, out)
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, codec, decision, packing);
criterion_main!(benches);

/// Adds a peer through the core's one entry point and returns its index.
fn add_peer(sp: &mut Speaker, settings: PeerSettings) -> PeerIdx {
    sp.handle(Input::AddPeer(settings))
        .into_iter()
        .find_map(|o| match o {
            Output::PeerAdded(idx) => Some(idx),
            _ => None,
        })
        .expect("invariant: AddPeer reports the new index")
}
