//! Golden tests: whole scenarios recorded as JSONL steps next to this file
//! (`golden/NN-name.jsonl`), each line one [`Input`] to [`Speaker::handle`] and the outputs
//! it must give. Replaying a recording must give the same outputs (messages sent are decoded
//! and shown as what a peer would read; the prefixes of one UPDATE are listed sorted, since
//! their order on the wire follows the per-process hash seed).
//!
//! Input (JSON, one key): `add_peer` / `update_peer` (peer settings), `remove_peer`,
//! `stop_peer` (`{peer, code, subcode}`), `originate`, `connected`, `closed`, `received`
//! (`{peer, message}`), `timer` (`{peer, timer}`), `bfd_down`, `flush`. Messages: `open`
//! (`{as, id, hold}`), `"keepalive"`, `update` (`{announce, as_path, next_hop, withdraw}`),
//! `notification` (`[code, subcode]`).
//!
//! To rewrite the expected outputs after an intended change, run the tests with
//! `CAUSEWAY_GOLDEN_UPDATE=1` and review the diff of the `.jsonl` files like code:
//! `CAUSEWAY_GOLDEN_UPDATE=1 cargo test -p bgp --lib speaker::golden`.

use std::path::PathBuf;

use ipnet::Ipv4Net;
use serde_json::{Value, json};

use super::*;
use crate::fsm::ErrorWait;
use crate::wire::{AsPath, AsSegment, Capability, Open};

const LOCAL_AS: u32 = 12076;
const ROUTER_ID: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const UPDATE_ENV: &str = "CAUSEWAY_GOLDEN_UPDATE";

// ===== reading inputs =====

fn field<'a>(v: &'a Value, name: &str) -> &'a Value {
    v.get(name)
        .unwrap_or_else(|| panic!("missing {name:?} in {v}"))
}

fn u32_of(v: &Value) -> u32 {
    v.as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or_else(|| panic!("not a u32: {v}"))
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

fn peer_of(v: &Value) -> PeerIdx {
    PeerIdx(u32_of(if v.is_object() { field(v, "peer") } else { v }))
}

fn prefixes_of(v: Option<&Value>) -> Vec<Prefix> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| match str_of(p).parse::<ipnet::IpNet>() {
            Ok(ipnet::IpNet::V4(n)) => Prefix::V4(n),
            Ok(ipnet::IpNet::V6(n)) => Prefix::V6(n),
            Err(e) => panic!("bad prefix {p}: {e}"),
        })
        .collect()
}

fn settings_of(v: &Value) -> PeerSettings {
    let secs = |name: &str, default: u64| {
        Duration::from_secs(v.get(name).and_then(Value::as_u64).unwrap_or(default))
    };
    PeerSettings {
        name: str_of(field(v, "name")).to_owned(),
        address: str_of(field(v, "address")).parse().expect("an address"),
        local_address: v
            .get("local_address")
            .map(|a| str_of(a).parse().expect("address")),
        md5_key: v.get("md5_key").map(|k| Md5Key::new(str_of(k))),
        shutdown: v.get("shutdown").and_then(Value::as_bool).unwrap_or(false),
        session: SessionConfig {
            local_as: LOCAL_AS,
            router_id: ROUTER_ID,
            remote_as: u32_of(field(v, "remote_as")),
            hold_time: secs("hold_time", 90),
            connect_retry: secs("connect_retry", 10),
            passive: false,
            families: vec![Family::Ipv4Unicast],
            error_wait: v.get("error_wait").map(|w| ErrorWait {
                min: Duration::from_secs(field(w, "min").as_u64().expect("secs")),
                max: Duration::from_secs(field(w, "max").as_u64().expect("secs")),
            }),
        },
        max_prefixes: [v.get("max_prefixes").map(u32_of), None],
        prepend: v
            .get("prepend")
            .map_or(0, |p| u8::try_from(u32_of(p)).expect("a u8")),
        weight: 0,
        export: Export::All,
    }
}

fn message_of(v: &Value) -> Message {
    if v.as_str() == Some("keepalive") {
        return Message::Keepalive;
    }
    if let Some(o) = v.get("open") {
        let asn = u32_of(field(o, "as"));
        return Message::Open(Open {
            version: 4,
            my_as: u16::try_from(asn).unwrap_or(crate::wire::AS_TRANS),
            hold_time: u16::try_from(u32_of(field(o, "hold"))).expect("a u16"),
            bgp_identifier: str_of(field(o, "id")).parse().expect("an id"),
            capabilities: vec![
                Capability::Multiprotocol(Family::Ipv4Unicast),
                Capability::RouteRefresh,
                Capability::FourOctetAs(asn),
            ],
        });
    }
    if let Some(u) = v.get("update") {
        let nlri: Vec<Ipv4Net> = prefixes_of(u.get("announce"))
            .into_iter()
            .filter_map(|p| match p {
                Prefix::V4(n) => Some(n),
                Prefix::V6(_) => None,
            })
            .collect();
        let withdrawn = prefixes_of(u.get("withdraw"))
            .into_iter()
            .filter_map(|p| match p {
                Prefix::V4(n) => Some(n),
                Prefix::V6(_) => None,
            })
            .collect();
        let attributes = (!nlri.is_empty()).then(|| Attributes {
            origin: Some(Origin::Igp),
            as_path: AsPath {
                segments: vec![AsSegment::Sequence(
                    field(u, "as_path")
                        .as_array()
                        .expect("a list")
                        .iter()
                        .map(u32_of)
                        .collect(),
                )],
            },
            next_hop: Some(str_of(field(u, "next_hop")).parse().expect("an address")),
            ..Attributes::default()
        });
        return Message::Update(Update {
            withdrawn,
            attributes,
            nlri,
            ..Update::default()
        });
    }
    if let Some(n) = v.get("notification") {
        let n = n.as_array().expect("[code, subcode]");
        return Message::Notification(Notification::new(
            u8::try_from(u32_of(&n[0])).expect("a u8"),
            u8::try_from(u32_of(&n[1])).expect("a u8"),
        ));
    }
    panic!("unknown message {v}")
}

fn timer_of(name: &str) -> Timer {
    match name {
        "connect_retry" => Timer::ConnectRetry,
        "idle_hold" => Timer::IdleHold,
        "error_forget" => Timer::ErrorForget,
        "graceful_restart" => Timer::GracefulRestart,
        "hold" => Timer::Hold(Direction::Outgoing),
        other => panic!("unknown timer {other}"),
    }
}

fn input_of(v: &Value) -> Input {
    let (kind, arg) = v
        .as_object()
        .and_then(|o| o.iter().next())
        .unwrap_or_else(|| panic!("an input is an object with one key: {v}"));
    let event = |e: Event| Input::Event(peer_of(arg), e);
    match kind.as_str() {
        "add_peer" => Input::AddPeer(settings_of(arg)),
        "update_peer" => Input::UpdatePeer(peer_of(arg), settings_of(arg)),
        "remove_peer" => Input::RemovePeer(peer_of(arg)),
        "stop_peer" => Input::StopPeer(
            peer_of(arg),
            Notification::new(
                u8::try_from(u32_of(field(arg, "code"))).expect("a u8"),
                u8::try_from(u32_of(field(arg, "subcode"))).expect("a u8"),
            ),
        ),
        "originate" => Input::SetOriginated(prefixes_of(Some(arg))),
        "connected" => event(Event::TcpConnected {
            direction: Direction::Outgoing,
            local_addr: str_of(field(arg, "local")).parse().expect("an address"),
        }),
        "closed" => event(Event::TcpClosed(Direction::Outgoing)),
        "received" => event(Event::MessageReceived(
            Direction::Outgoing,
            message_of(field(arg, "message")),
        )),
        "timer" => event(Event::TimerExpired(timer_of(str_of(field(arg, "timer"))))),
        "bfd_down" => event(Event::BfdDown),
        "flush" => Input::Flush,
        other => panic!("unknown input {other}"),
    }
}

// ===== describing outputs =====

fn dir(d: Direction) -> &'static str {
    match d {
        Direction::Outgoing => "out",
        Direction::Incoming => "in",
    }
}

fn timer_name(t: Timer) -> &'static str {
    match t {
        Timer::ConnectRetry => "connect_retry",
        Timer::IdleHold => "idle_hold",
        Timer::ErrorForget => "error_forget",
        Timer::GracefulRestart => "graceful_restart",
        Timer::Hold(_) => "hold",
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn strings<T: std::fmt::Display>(v: impl IntoIterator<Item = T>) -> Vec<String> {
    v.into_iter().map(|x| x.to_string()).collect()
}

/// A message as the peer reads it.
fn describe_message(m: &Message) -> Value {
    match m {
        Message::Keepalive => json!("keepalive"),
        Message::Open(o) => json!({"open": {
            "as": o.my_as, "id": o.bgp_identifier.to_string(), "hold": o.hold_time,
            "capabilities": o.capabilities.iter().map(|c| format!("{c:?}")).collect::<Vec<_>>(),
        }}),
        Message::Notification(n) => match n.shutdown_communication() {
            Some(text) => json!({"notification": [n.code, n.subcode, text]}),
            None => json!({"notification": [n.code, n.subcode]}),
        },
        Message::RouteRefresh(r) => json!({"route_refresh": [r.afi, r.safi]}),
        Message::Update(u) => {
            if let Some(f) = u.is_end_of_rib() {
                return json!({"end_of_rib": format!("{f:?}")});
            }
            let mut d = serde_json::Map::new();
            // Sorted: the order of prefixes inside one UPDATE follows the hash maps' seed,
            // which is random per process (so that peers cannot aim at collisions).
            let sorted = |v: &[Ipv4Net]| {
                let mut v = v.to_vec();
                v.sort();
                strings(v)
            };
            if !u.withdrawn.is_empty() {
                d.insert("withdraw".into(), json!(sorted(&u.withdrawn)));
            }
            if !u.nlri.is_empty() {
                d.insert("announce".into(), json!(sorted(&u.nlri)));
            }
            if let Some(a) = &u.attributes {
                d.insert("as_path".into(), json!(a.as_path.to_string()));
                if let Some(nh) = a.next_hop {
                    d.insert("next_hop".into(), json!(nh.to_string()));
                }
            }
            json!({ "update": d })
        }
    }
}

fn describe(o: &Output) -> Value {
    match o {
        Output::PeerAdded(i) => json!({"peer_added": i.0}),
        Output::Fib(changes) => json!({"fib": changes.iter().map(|c| json!({
            "prefix": c.prefix.to_string(),
            "next_hops": strings(&c.next_hops),
        })).collect::<Vec<_>>()}),
        Output::Connect(i) => json!({"connect": i.0}),
        Output::Send(i, d, bytes) => {
            let cx = Context {
                four_octet_as: true,
            };
            let mut messages = Vec::new();
            let mut rest = &bytes[..];
            while let Ok(Some(len)) = crate::wire::frame(rest) {
                let m = Message::decode(&rest[..len], &cx).expect("the core sends valid messages");
                messages.push(describe_message(&m));
                rest = &rest[len..];
            }
            assert!(rest.is_empty(), "whole messages only");
            json!({"send": {"peer": i.0, "dir": dir(*d), "messages": messages}})
        }
        Output::Close(i, d) => json!({"close": [i.0, dir(*d)]}),
        Output::SetContext(i, d, cx) => {
            json!({"set_context": [i.0, dir(*d), {"four_octet_as": cx.four_octet_as}]})
        }
        Output::ArmTimer(i, t, after) => json!({"arm": [i.0, timer_name(*t), ms(*after)]}),
        Output::CancelTimer(i, t) => json!({"cancel": [i.0, timer_name(*t)]}),
        Output::StartKeepalives(i, d, every) => {
            json!({"keepalives": [i.0, dir(*d), ms(*every)]})
        }
        Output::SetHoldTimer(i, d, hold) => json!({"hold_timer": [i.0, dir(*d), ms(*hold)]}),
        Output::PeerUp(i) => json!({"up": i.0}),
        Output::PeerDown(i, reason) => json!({"down": [i.0, reason]}),
    }
}

// ===== replay =====

fn replay(name: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/speaker/golden")
        .join(format!("{name}.jsonl"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let update = std::env::var_os(UPDATE_ENV).is_some();
    let mut sp = Speaker::new(LOCAL_AS, ROUTER_ID);
    sp.enable_fib();
    let mut rewritten = String::new();
    for (n, line) in text.lines().enumerate() {
        let step: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{}:{}: not JSON: {e}", path.display(), n + 1));
        let input = field(&step, "input");
        let got: Vec<Value> = sp.handle(input_of(input)).iter().map(describe).collect();
        if update {
            let line = json!({"input": input, "output": got});
            rewritten.push_str(&serde_json::to_string(&line).expect("JSON"));
            rewritten.push('\n');
            continue;
        }
        let want = step
            .get("output")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            got,
            want,
            "{}:{}: input {input}\n  got:  {}\n  want: {}\n(rerun with {UPDATE_ENV}=1 to accept an intended change)",
            path.display(),
            n + 1,
            Value::Array(got.clone()),
            Value::Array(want.clone()),
        );
    }
    if update {
        std::fs::write(&path, rewritten)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}

/// Input: A and B come up; A announces two prefixes, then withdraws one, then goes away
/// (connection closed). Output: B is sent each change as one UPDATE, End-of-RIB after its
/// initial table, the FIB follows A's routes.
#[test]
fn two_peers_exchange_routes_and_a_lost_peer_is_withdrawn() {
    replay("01-two-peers-exchange-routes");
}

/// Input: A is limited to 2 prefixes and announces 3. Output: Cease / Maximum Number of
/// Prefixes Reached, its routes withdrawn from B and the FIB, an idle-hold backoff.
#[test]
fn a_prefix_limit_breach_resets_the_session_with_cease_and_backs_off() {
    replay("02-prefix-limit");
}

/// Input: A's OPEN comes from the wrong AS twice (the backoff grows, 30 s then 60 s); the
/// configuration is fixed; then its MD5 key changes; then it is shut down. Output: Bad Peer
/// AS, a connect at once on the fix, Cease / Other Configuration Change on the key change,
/// Cease / Administrative Shutdown with the communication.
#[test]
fn a_fixed_peer_as_connects_at_once_and_key_and_shutdown_changes_send_their_cease() {
    replay("03-reconfigure");
}
