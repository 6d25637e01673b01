//! Replays a scenario's UPDATE streams through one `bgp::Speaker` in-process: no sockets, no
//! tasks, deterministic, so two variants of the core can be compared by instruction count
//! (`valgrind --tool=callgrind`) or wall time on the same input.
//!
//! ```sh
//! cargo run --release -p bench --example replay -- 2 [prefixes] [flush_every]
//! ```
//!
//! Senders' messages are decoded up front (not timed), then fed round-robin one UPDATE per
//! sender at a time, as ten readers racing into one domain task would; `flush_every`
//! messages (default 1024, the domain's channel capacity) are handled between flushes.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bench::plan::{self, Scenario, Sizes};
use bgp::speaker::{Input, Output, PeerSettings};
use bgp::wire::{Capability, Context, Family, Message, Open};
use bgp::{Direction, Event, PeerIdx, SessionConfig, Speaker};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let scenario = Scenario::from_number(args.get(1).map_or(Ok(2), |s| s.parse())?)?;
    let prefixes: Option<usize> = args.get(2).map(|s| s.parse()).transpose()?;
    let flush_every: usize = args.get(3).map_or(Ok(1024), |s| s.parse())?;
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data");
    let csv = bench::data::csv_path(&data)?;
    let mut table = bench::data::load(&csv)?;
    table.routes.retain(|r| r.origin_as != plan::TARGET_AS);
    let plan = plan::build(
        scenario,
        &table.routes,
        &[],
        Sizes {
            prefixes,
            peers: 10,
            circuits: 1,
            circuit_prefixes: 4000,
            hold_time: 90,
        },
    );
    let topo = &plan.topology;
    let mut sp = Speaker::new(topo.target_as, topo.sender_side);
    let mut idx = Vec::new();
    for p in &topo.domains[0].peers {
        let IpAddr::V4(address) = p.address else {
            anyhow::bail!("the replay is IPv4 only");
        };
        let local = if p.monitor {
            topo.monitor_side
        } else {
            topo.sender_side
        };
        let settings = PeerSettings {
            name: p.name.clone(),
            address: IpAddr::V4(address),
            local_address: None,
            md5_key: None,
            shutdown: false,
            session: SessionConfig {
                local_as: topo.target_as,
                router_id: topo.sender_side,
                remote_as: p.asn,
                hold_time: Duration::from_secs(90),
                connect_retry: Duration::from_secs(10),
                passive: true,
                families: vec![Family::Ipv4Unicast],
                error_wait: None,
            },
            max_prefixes: [None, None],
            prepend: 0,
            weight: 0,
            export: Default::default(),
        };
        let i = add_peer(&mut sp, settings);
        bring_up(&mut sp, i, p.asn, address, local);
        idx.push((i, p.monitor));
    }
    sp.handle(Input::Flush);
    let cx = Context::default();
    let mut streams: Vec<Vec<Message>> = plan
        .senders
        .iter()
        .map(|s| {
            let mut msgs = Vec::new();
            for chunk in &s.phases[0].chunks {
                let mut at = 0;
                while at < chunk.len() {
                    let len = bgp::wire::frame(&chunk[at..])
                        .expect("framed")
                        .expect("whole");
                    msgs.push(Message::decode(&chunk[at..at + len], &cx).expect("decodes"));
                    at += len;
                }
            }
            msgs.reverse();
            msgs
        })
        .collect();
    let total: usize = streams.iter().map(Vec::len).sum();
    eprintln!("{total} UPDATEs from {} senders", streams.len());
    let started = Instant::now();
    let sent = replay(&mut sp, &idx, &mut streams, flush_every);
    let elapsed = started.elapsed();
    for ((i, monitor), (bytes, msgs)) in idx.iter().zip(&sent) {
        eprintln!(
            "peer {} {}: {msgs} UPDATEs, {bytes} octets",
            i.0,
            if *monitor { "monitor" } else { "sender" }
        );
    }
    eprintln!(
        "replayed in {:.3} s, {} prefixes in the RIB",
        elapsed.as_secs_f64(),
        sp.rib().len(Family::Ipv4Unicast)
    );
    Ok(())
}

/// The timed part (callgrind: `--toggle-collect=*replay::replay*`).
#[inline(never)]
fn replay(
    sp: &mut Speaker,
    idx: &[(PeerIdx, bool)],
    streams: &mut [Vec<Message>],
    flush_every: usize,
) -> Vec<(usize, usize)> {
    let mut sent = vec![(0usize, 0usize); idx.len()];
    let count = |out: Vec<Output>, sent: &mut Vec<(usize, usize)>| {
        for o in out {
            if let Output::Send(i, _, b) = o {
                let s = &mut sent[i.0 as usize];
                s.0 += b.len();
                let mut at = 0;
                while at < b.len() {
                    let len = bgp::wire::frame(&b[at..]).expect("framed").expect("whole");
                    s.1 += 1;
                    at += len;
                }
            }
        }
    };
    let mut since_flush = 0;
    loop {
        let mut any = false;
        for (s, stream) in streams.iter_mut().enumerate() {
            let Some(m) = stream.pop() else { continue };
            any = true;
            let out = sp.handle(Input::Event(
                idx[s].0,
                Event::MessageReceived(Direction::Incoming, m),
            ));
            count(out, &mut sent);
            since_flush += 1;
            if since_flush >= flush_every {
                since_flush = 0;
                count(sp.handle(Input::Flush), &mut sent);
            }
        }
        if !any {
            break;
        }
    }
    count(sp.handle(Input::Flush), &mut sent);
    sent
}

fn bring_up(sp: &mut Speaker, idx: PeerIdx, asn: u32, id: Ipv4Addr, local: Ipv4Addr) {
    let dir = Direction::Incoming;
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
}

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
