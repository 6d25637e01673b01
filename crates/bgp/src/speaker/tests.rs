//! One routing domain with real sessions: peers are brought up through `Speaker::handle`, fed
//! UPDATEs, and what each peer would receive is read back by decoding the `Output::Send` bytes.

use super::*;

use std::net::Ipv6Addr;

use ipnet::{Ipv4Net, Ipv6Net};

use crate::fsm::ErrorWait;
use crate::wire::{AsPath, AsSegment, Capability, Open, RouteRefresh, frame};

const LOCAL_AS: u32 = 12076;
const ROUTER_ID: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const OUT: Direction = Direction::Outgoing;

const A_AS: u32 = 65001;
const A_ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const A_LOCAL: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 254);
const B_AS: u32 = 65002;
const B_ADDR: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
const B_LOCAL: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 254);
const C_AS: u32 = 65003;
const C_ADDR: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xc, 0, 0, 0, 0, 1);
const C_LOCAL: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xc, 0, 0, 0, 0, 0xfe);

const GR_RESTART_TIME: u16 = 120;

// ===== helpers: configuration and sessions =====

/// Cease / Administrative Shutdown with an RFC 9003 communication.
fn shutdown(why: &str) -> Notification {
    Notification::cease_with_communication(cease_subcode::ADMINISTRATIVE_SHUTDOWN, why)
}

fn settings(name: &str, remote_as: u32, address: IpAddr) -> PeerSettings {
    PeerSettings {
        name: name.to_owned(),
        address,
        local_address: None,
        md5_key: None,
        shutdown: false,
        session: SessionConfig {
            local_as: LOCAL_AS,
            router_id: ROUTER_ID,
            remote_as,
            hold_time: Duration::from_secs(90),
            connect_retry: Duration::from_secs(10),
            passive: false,
            families: vec![Family::Ipv4Unicast, Family::Ipv6Unicast],
            error_wait: None,
        },
        max_prefixes: [None, None],
        prepend: 0,
        weight: 0,
        export: Default::default(),
    }
}

fn settings_a() -> PeerSettings {
    settings("A", A_AS, A_ADDR.into())
}

fn settings_b() -> PeerSettings {
    settings("B", B_AS, B_ADDR.into())
}

/// The OPEN a peer sends: both unicast families, route refresh, four-octet AS, and Graceful
/// Restart (restart time 120 s) when `graceful`.
fn peer_open(asn: u32, id: Ipv4Addr, graceful: bool) -> Message {
    let mut capabilities = vec![
        Capability::Multiprotocol(Family::Ipv4Unicast),
        Capability::Multiprotocol(Family::Ipv6Unicast),
        Capability::RouteRefresh,
        Capability::FourOctetAs(asn),
    ];
    if graceful {
        capabilities.push(Capability::GracefulRestart {
            restarting: false,
            restart_time: GR_RESTART_TIME,
            families: vec![(Family::Ipv4Unicast, true), (Family::Ipv6Unicast, true)],
        });
    }
    Message::Open(Open {
        version: 4,
        my_as: u16::try_from(asn).unwrap_or(crate::wire::AS_TRANS),
        hold_time: 90,
        bgp_identifier: id,
        capabilities,
    })
}

/// A speaker for AS 12076 and the peers it has been given, each with the address we use
/// on its session and the OPEN it sends.
struct Net {
    sp: Speaker,
    peers: Vec<(PeerIdx, IpAddr, Message)>,
}

impl Net {
    fn new() -> Net {
        Net {
            sp: Speaker::new(LOCAL_AS, ROUTER_ID),
            peers: Vec::new(),
        }
    }

    fn add(&mut self, settings: PeerSettings, local: IpAddr, open: Message) -> PeerIdx {
        let (idx, out) = self.sp.add_peer(settings);
        assert!(out.contains(&Output::Connect(idx)));
        self.peers.push((idx, local, open));
        idx
    }

    fn add_a(&mut self) -> PeerIdx {
        self.add(
            settings_a(),
            A_LOCAL.into(),
            peer_open(A_AS, Ipv4Addr::new(192, 0, 2, 1), false),
        )
    }

    fn add_b(&mut self) -> PeerIdx {
        self.add_b_with(settings_b())
    }

    /// B (AS 65002, sending its OPEN as such) configured with `settings`.
    fn add_b_with(&mut self, settings: PeerSettings) -> PeerIdx {
        self.add(
            settings,
            B_LOCAL.into(),
            peer_open(B_AS, Ipv4Addr::new(198, 51, 100, 1), false),
        )
    }

    /// TcpConnected → the peer's OPEN → its KEEPALIVE, then a flush; everything output.
    fn up(&mut self, idx: PeerIdx) -> Vec<Output> {
        let (_, local, open) = self
            .peers
            .iter()
            .find(|(i, _, _)| *i == idx)
            .cloned()
            .expect("a peer added to this net");
        let mut out = self.sp.event(
            idx,
            Event::TcpConnected {
                direction: OUT,
                local_addr: local,
            },
        );
        out.extend(self.sp.event(idx, Event::MessageReceived(OUT, open)));
        out.extend(
            self.sp
                .event(idx, Event::MessageReceived(OUT, Message::Keepalive)),
        );
        assert!(out.contains(&Output::PeerUp(idx)), "{idx:?} is up: {out:?}");
        out.extend(self.sp.flush());
        out
    }

    /// Delivers a message from a peer and flushes.
    fn from(&mut self, idx: PeerIdx, message: Message) -> Vec<Output> {
        let mut out = self.sp.event(idx, Event::MessageReceived(OUT, message));
        out.extend(self.sp.flush());
        out
    }

    fn event(&mut self, idx: PeerIdx, event: Event) -> Vec<Output> {
        let mut out = self.sp.event(idx, event);
        out.extend(self.sp.flush());
        out
    }

    fn counters(&self, idx: PeerIdx, family: Family) -> Counters {
        self.sp
            .peers()
            .find(|(i, _)| *i == idx)
            .map(|(_, s)| s.counters[family_index(family)])
            .expect("a configured peer")
    }

    fn state(&self, idx: PeerIdx) -> State {
        self.sp
            .peers()
            .find(|(i, _)| *i == idx)
            .map(|(_, s)| s.state)
            .expect("a configured peer")
    }
}

/// A and B, both Established, their initial End-of-RIBs already sent.
fn a_and_b() -> (Net, PeerIdx, PeerIdx) {
    let mut net = Net::new();
    let a = net.add_a();
    let b = net.add_b();
    net.up(a);
    net.up(b);
    (net, a, b)
}

// ===== helpers: what a peer receives =====

/// Every message sent to `idx`, decoded as the peer would (four-octet AS session).
fn messages_to(out: &[Output], idx: PeerIdx) -> Vec<Message> {
    let cx = Context {
        four_octet_as: true,
    };
    let mut messages = Vec::new();
    for o in out {
        let Output::Send(i, _, bytes) = o else {
            continue;
        };
        if *i != idx {
            continue;
        }
        let mut rest: &[u8] = bytes;
        while !rest.is_empty() {
            let len = frame(rest)
                .expect("a well-formed header")
                .expect("a whole message");
            messages.push(Message::decode(&rest[..len], &cx).expect("a message we can decode"));
            rest = &rest[len..];
        }
    }
    messages
}

/// The messages one `Output::Send` carries (a flush writes several at once).
fn frames(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let len = frame(rest)
            .expect("a well-formed header")
            .expect("a whole message");
        out.push(&rest[..len]);
        rest = &rest[len..];
    }
    out
}

/// The UPDATEs sent to `idx`, End-of-RIB markers included.
fn updates_to(out: &[Output], idx: PeerIdx) -> Vec<Update> {
    messages_to(out, idx)
        .into_iter()
        .filter_map(|m| match m {
            Message::Update(u) => Some(u),
            _ => None,
        })
        .collect()
}

/// The UPDATEs sent to `idx` that carry routes (End-of-RIB markers left out).
fn route_updates_to(out: &[Output], idx: PeerIdx) -> Vec<Update> {
    updates_to(out, idx)
        .into_iter()
        .filter(|u| u.is_end_of_rib().is_none())
        .collect()
}

fn notification_to(out: &[Output], idx: PeerIdx) -> Option<Notification> {
    messages_to(out, idx).into_iter().find_map(|m| match m {
        Message::Notification(n) => Some(n),
        _ => None,
    })
}

/// IPv4 prefixes announced to `idx`, sorted.
fn announced_v4(out: &[Output], idx: PeerIdx) -> Vec<Ipv4Net> {
    let mut v: Vec<Ipv4Net> = updates_to(out, idx)
        .into_iter()
        .flat_map(|u| u.nlri)
        .collect();
    v.sort();
    v
}

/// IPv4 prefixes withdrawn toward `idx`, sorted.
fn withdrawn_v4(out: &[Output], idx: PeerIdx) -> Vec<Ipv4Net> {
    let mut v: Vec<Ipv4Net> = updates_to(out, idx)
        .into_iter()
        .flat_map(|u| u.withdrawn)
        .collect();
    v.sort();
    v
}

fn v4(s: &str) -> Ipv4Net {
    s.parse().expect("test prefix")
}

fn v6(s: &str) -> Ipv6Net {
    s.parse().expect("test prefix")
}

fn as_path(asns: &[u32]) -> AsPath {
    AsPath {
        segments: vec![AsSegment::Sequence(asns.to_vec())],
    }
}

// ===== helpers: what a peer sends =====

/// `n` distinct /24s: 10.0.0.0/24, 10.0.1.0/24, …
fn many_slash_24s(n: u16) -> Vec<Ipv4Net> {
    (0..n)
        .map(|i| {
            let [x, y] = i.to_be_bytes();
            Ipv4Net::new(Ipv4Addr::new(10, x, y, 0), 24).expect("valid /24")
        })
        .collect()
}

/// Compares prefix lists without printing thousands of them on failure.
fn assert_same_prefixes(got: &[Ipv4Net], expected: &[Ipv4Net]) {
    let first_difference = got.iter().zip(expected).position(|(a, b)| a != b);
    assert!(
        got == expected,
        "{} prefixes, expected {}; first difference at {first_difference:?}",
        got.len(),
        expected.len()
    );
}

/// Attributes as a neighbour sends them, with a MED and a LOCAL_PREF we must not pass on.
fn attrs(asns: &[u32], next_hop: Ipv4Addr) -> Attributes {
    Attributes {
        origin: Some(Origin::Igp),
        as_path: as_path(asns),
        next_hop: Some(next_hop),
        med: Some(50),
        local_pref: Some(300),
        ..Attributes::default()
    }
}

/// An UPDATE from A announcing `prefixes` with AS_PATH `asns`.
fn announce(prefixes: &[&str], asns: &[u32]) -> Message {
    Message::Update(Update {
        attributes: Some(attrs(asns, A_ADDR)),
        nlri: prefixes.iter().map(|p| v4(p)).collect(),
        ..Update::default()
    })
}

fn withdraw(prefixes: &[&str]) -> Message {
    Message::Update(Update {
        withdrawn: prefixes.iter().map(|p| v4(p)).collect(),
        ..Update::default()
    })
}

fn end_of_rib(family: Family) -> Message {
    Message::Update(Update::end_of_rib(family))
}

// ===== propagation and export =====

#[test]
fn routes_from_one_peer_reach_the_other_in_one_update_with_our_as_and_next_hop_self() {
    let (mut net, a, b) = a_and_b();
    let out = net.from(a, announce(&["10.1.0.0/24", "10.1.1.0/24"], &[A_AS]));

    let updates = updates_to(&out, b);
    assert_eq!(
        updates.len(),
        1,
        "one UPDATE for one attribute set: {updates:?}"
    );
    let u = &updates[0];
    let mut nlri = u.nlri.clone();
    nlri.sort();
    assert_eq!(nlri, [v4("10.1.0.0/24"), v4("10.1.1.0/24")]);
    let attrs = u.attributes.as_ref().expect("attributes");
    assert_eq!(attrs.as_path, as_path(&[LOCAL_AS, A_AS]));
    assert_eq!(attrs.next_hop, Some(B_LOCAL));
    assert_eq!(attrs.origin, Some(Origin::Igp));
    assert_eq!(attrs.med, None, "MED is not passed to another AS");
    assert_eq!(attrs.local_pref, None, "no LOCAL_PREF to an eBGP peer");

    assert!(messages_to(&out, a).is_empty(), "nothing goes back to A");
    assert_eq!(net.counters(b, Family::Ipv4Unicast).advertised, 2);
    assert_eq!(net.counters(a, Family::Ipv4Unicast).advertised, 0);
    let c = net.counters(a, Family::Ipv4Unicast);
    assert_eq!((c.received, c.accepted), (2, 2));
}

#[test]
fn a_withdrawal_reaches_the_other_peer() {
    let (mut net, a, b) = a_and_b();
    net.from(a, announce(&["10.1.0.0/24", "10.1.1.0/24"], &[A_AS]));
    let out = net.from(a, withdraw(&["10.1.0.0/24"]));
    assert_eq!(withdrawn_v4(&out, b), [v4("10.1.0.0/24")]);
    assert!(announced_v4(&out, b).is_empty());
    assert!(messages_to(&out, a).is_empty());
    assert_eq!(net.counters(b, Family::Ipv4Unicast).advertised, 1);
    assert_eq!(net.counters(a, Family::Ipv4Unicast).accepted, 1);
}

#[test]
fn an_ipv6_route_goes_out_in_mp_reach_with_our_address_on_that_session() {
    let mut net = Net::new();
    let a = net.add_a();
    let c = net.add(
        settings("C", C_AS, C_ADDR.into()),
        C_LOCAL.into(),
        peer_open(C_AS, Ipv4Addr::new(10, 9, 9, 9), false),
    );
    net.up(a);
    net.up(c);
    let out = net.from(
        a,
        Message::Update(Update {
            attributes: Some(Attributes {
                next_hop: None,
                ..attrs(&[A_AS], A_ADDR)
            }),
            mp_reach: Some(MpReach {
                family: Family::Ipv6Unicast,
                next_hop: NextHop::V6 {
                    global: "2001:db8:a::1".parse().expect("address"),
                    link_local: None,
                },
                nlri: vec![Prefix::V6(v6("2001:db8:1::/48"))],
            }),
            ..Update::default()
        }),
    );
    let [u] = &updates_to(&out, c)[..] else {
        panic!("one UPDATE to C: {out:?}");
    };
    let mp = u.mp_reach.as_ref().expect("MP_REACH_NLRI");
    assert_eq!(mp.family, Family::Ipv6Unicast);
    assert_eq!(mp.nlri, [Prefix::V6(v6("2001:db8:1::/48"))]);
    assert_eq!(
        mp.next_hop,
        NextHop::V6 {
            global: C_LOCAL,
            link_local: None
        }
    );
    let attrs = u.attributes.as_ref().expect("attributes");
    assert_eq!(attrs.as_path, as_path(&[LOCAL_AS, A_AS]));
    assert_eq!(
        attrs.next_hop, None,
        "no IPv4 NEXT_HOP in an IPv6-only UPDATE"
    );
    assert!(u.nlri.is_empty());

    // And an IPv6 withdrawal goes out in MP_UNREACH.
    let out = net.from(
        a,
        Message::Update(Update {
            mp_unreach: Some(MpUnreach {
                family: Family::Ipv6Unicast,
                withdrawn: vec![Prefix::V6(v6("2001:db8:1::/48"))],
            }),
            ..Update::default()
        }),
    );
    let [u] = &updates_to(&out, c)[..] else {
        panic!("one UPDATE to C: {out:?}");
    };
    assert_eq!(
        u.mp_unreach.as_ref().map(|m| m.withdrawn.clone()),
        Some(vec![Prefix::V6(v6("2001:db8:1::/48"))])
    );
}

#[test]
fn a_peer_on_an_ipv6_session_gets_no_ipv4_routes_it_has_no_next_hop_for() {
    let mut net = Net::new();
    let a = net.add_a();
    let c = net.add(
        settings("C", C_AS, C_ADDR.into()),
        C_LOCAL.into(),
        peer_open(C_AS, Ipv4Addr::new(10, 9, 9, 9), false),
    );
    net.up(a);
    net.up(c);
    let out = net.from(a, announce(&["10.1.0.0/24"], &[A_AS]));
    assert!(messages_to(&out, c).is_empty(), "{out:?}");
}

#[test]
fn a_new_peer_gets_the_table_and_our_prefixes_then_end_of_rib_for_each_family() {
    let mut net = Net::new();
    net.sp.set_originated(vec![
        Prefix::V4(v4("203.0.113.0/24")),
        Prefix::V6(v6("2001:db8:ff::/48")),
    ]);
    let a = net.add_a();
    let b = net.add_b();
    net.up(a);
    net.from(a, announce(&["10.1.0.0/24"], &[A_AS]));

    let out = net.up(b);
    let updates = updates_to(&out, b);
    let eors: Vec<Option<Family>> = updates.iter().map(Update::is_end_of_rib).collect();
    let n = eors.len();
    assert!(n >= 2, "{updates:?}");
    assert!(
        eors[..n - 2].iter().all(Option::is_none),
        "End-of-RIB comes after the routes: {eors:?}"
    );
    let mut tail = [eors[n - 2], eors[n - 1]];
    tail.sort();
    assert_eq!(tail, [Some(Family::Ipv4Unicast), Some(Family::Ipv6Unicast)]);

    let path_of = |p: Ipv4Net| {
        updates
            .iter()
            .find(|u| u.nlri.contains(&p))
            .and_then(|u| u.attributes.clone())
            .map(|a| (a.as_path, a.next_hop))
    };
    assert_eq!(
        path_of(v4("10.1.0.0/24")),
        Some((as_path(&[LOCAL_AS, A_AS]), Some(B_LOCAL)))
    );
    assert_eq!(
        path_of(v4("203.0.113.0/24")),
        Some((as_path(&[LOCAL_AS]), Some(B_LOCAL)))
    );
    let v6_update = updates
        .iter()
        .find(|u| u.mp_reach.is_some())
        .expect("our IPv6 prefix");
    let mp = v6_update.mp_reach.as_ref().expect("MP_REACH_NLRI");
    assert_eq!(mp.nlri, [Prefix::V6(v6("2001:db8:ff::/48"))]);
    assert_eq!(
        v6_update.attributes.as_ref().map(|a| a.as_path.clone()),
        Some(as_path(&[LOCAL_AS]))
    );
    assert_eq!(net.counters(b, Family::Ipv4Unicast).advertised, 2);
    assert_eq!(net.counters(b, Family::Ipv6Unicast).advertised, 1);
}

#[test]
fn a_peer_with_nothing_to_learn_still_gets_end_of_rib() {
    let mut net = Net::new();
    let b = net.add_b();
    let out = net.up(b);
    let updates = updates_to(&out, b);
    let mut eors: Vec<Option<Family>> = updates.iter().map(Update::is_end_of_rib).collect();
    eors.sort();
    assert_eq!(eors, [Some(Family::Ipv4Unicast), Some(Family::Ipv6Unicast)]);
}

#[test]
fn a_configured_prepend_adds_our_as_that_many_more_times() {
    let mut net = Net::new();
    let a = net.add_a();
    let b = net.add(
        PeerSettings {
            prepend: 2,
            ..settings_b()
        },
        B_LOCAL.into(),
        peer_open(B_AS, Ipv4Addr::new(198, 51, 100, 1), false),
    );
    net.up(a);
    net.up(b);
    let out = net.from(a, announce(&["10.1.0.0/24"], &[A_AS]));
    let [u] = &updates_to(&out, b)[..] else {
        panic!("one UPDATE to B: {out:?}");
    };
    assert_eq!(
        u.attributes.as_ref().map(|a| a.as_path.clone()),
        Some(as_path(&[LOCAL_AS, LOCAL_AS, LOCAL_AS, A_AS]))
    );
}

#[test]
fn changing_only_the_prepend_resends_the_routes_without_resetting_the_session() {
    let (mut net, a, b) = a_and_b();
    net.from(a, announce(&["10.1.0.0/24", "10.1.1.0/24"], &[A_AS]));

    let mut out = net.sp.update_peer(
        b,
        PeerSettings {
            prepend: 2,
            ..settings_b()
        },
    );
    assert!(
        !out.iter()
            .any(|o| matches!(o, Output::Close(..) | Output::PeerDown(..))),
        "{out:?}"
    );
    out.extend(net.sp.flush());
    assert_eq!(notification_to(&out, b), None);
    assert_eq!(net.state(b), State::Established);
    let updates = route_updates_to(&out, b);
    assert_eq!(
        announced_v4(&out, b),
        [v4("10.1.0.0/24"), v4("10.1.1.0/24")]
    );
    for u in &updates {
        assert_eq!(
            u.attributes.as_ref().map(|a| a.as_path.clone()),
            Some(as_path(&[LOCAL_AS, LOCAL_AS, LOCAL_AS, A_AS]))
        );
    }
    assert!(messages_to(&out, a).is_empty());
}

#[test]
fn changing_the_session_settings_resets_it_with_other_configuration_change() {
    let (mut net, _, b) = a_and_b();
    let mut new = settings_b();
    new.session.hold_time = Duration::from_secs(30);
    let out = net.sp.update_peer(b, new);
    let n = notification_to(&out, b).expect("a NOTIFICATION");
    assert_eq!(
        (n.code, n.subcode),
        (error_code::CEASE, cease_subcode::OTHER_CONFIGURATION_CHANGE)
    );
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::PeerDown(i, _) if *i == b))
    );
}

#[test]
fn a_new_md5_key_or_local_address_resets_the_session_with_other_configuration_change() {
    for change in [
        (|s: &mut PeerSettings| s.md5_key = Some(Md5Key::new("new-key"))) as fn(&mut PeerSettings),
        |s: &mut PeerSettings| s.local_address = Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 253))),
    ] {
        let (mut net, _, b) = a_and_b();
        let mut new = settings_b();
        change(&mut new);
        let out = net.sp.update_peer(b, new);
        let n = notification_to(&out, b).expect("a NOTIFICATION");
        assert_eq!(
            (n.code, n.subcode),
            (error_code::CEASE, cease_subcode::OTHER_CONFIGURATION_CHANGE),
            "not Administrative Shutdown: the peer is not being shut down"
        );
        // It tries again at once with the new settings, no backoff.
        assert!(out.contains(&Output::Connect(b)), "{out:?}");
        assert!(
            !out.iter()
                .any(|o| matches!(o, Output::ArmTimer(_, Timer::IdleHold, _))),
            "{out:?}"
        );
    }
}

/// B's OPEN comes from AS `peer_as`, which is not the one configured, `times` times in a
/// row; leaves B Idle in its backoff and returns the idle hold time it last asked for.
fn fail_with_bad_peer_as(net: &mut Net, b: PeerIdx, times: usize, peer_as: u32) -> Duration {
    let mut hold = Duration::ZERO;
    for i in 0..times {
        if i > 0 {
            net.event(b, Event::TimerExpired(Timer::IdleHold));
        }
        net.event(
            b,
            Event::TcpConnected {
                direction: OUT,
                local_addr: B_LOCAL.into(),
            },
        );
        let open = peer_open(peer_as, Ipv4Addr::new(198, 51, 100, 1), false);
        let out = net.event(b, Event::MessageReceived(OUT, open));
        let n = notification_to(&out, b).expect("a NOTIFICATION");
        assert_eq!(
            (n.code, n.subcode),
            (
                error_code::OPEN_MESSAGE,
                crate::wire::open_subcode::BAD_PEER_AS
            )
        );
        hold = out
            .iter()
            .find_map(|o| match o {
                Output::ArmTimer(i, Timer::IdleHold, d) if *i == b => Some(*d),
                _ => None,
            })
            .expect("idle hold armed");
    }
    assert_eq!(net.state(b), State::Idle);
    hold
}

#[test]
fn fixing_a_wrong_peer_as_ends_the_backoff_and_connects_at_once() {
    let mut net = Net::new();
    let error_wait = Some(ErrorWait {
        min: Duration::from_secs(30),
        max: Duration::from_secs(600),
    });
    let mut wrong = settings_b();
    wrong.session.remote_as = 65099;
    wrong.session.error_wait = error_wait;
    // The peer really is AS 65002 (B_AS): every attempt fails, the backoff grows.
    let b = net.add_b_with(wrong);
    let hold = fail_with_bad_peer_as(&mut net, b, 3, B_AS);
    assert_eq!(hold, Duration::from_secs(120), "30 s doubled twice");

    let mut fixed = settings_b();
    fixed.session.error_wait = error_wait;
    let out = net.sp.update_peer(b, fixed);
    assert!(
        out.contains(&Output::CancelTimer(b, Timer::IdleHold)),
        "{out:?}"
    );
    assert!(
        out.contains(&Output::Connect(b)),
        "connects without waiting: {out:?}"
    );
    net.up(b);
    assert_eq!(net.state(b), State::Established);
}

#[test]
fn any_in_place_change_also_ends_the_backoff() {
    let mut net = Net::new();
    let b = net.add_b();
    fail_with_bad_peer_as(&mut net, b, 2, 65099);
    let mut new = settings_b();
    new.prepend = 1;
    let out = net.sp.update_peer(b, new);
    assert!(out.contains(&Output::Connect(b)), "{out:?}");
    assert!(
        notification_to(&out, b).is_none(),
        "nothing to reset: {out:?}"
    );
}

#[test]
fn a_peer_configured_down_is_shut_down_with_a_communication_and_comes_back_when_enabled() {
    let (mut net, _, b) = a_and_b();
    let mut down = settings_b();
    down.shutdown = true;
    let out = net.sp.update_peer(b, down.clone());
    let n = notification_to(&out, b).expect("a NOTIFICATION");
    assert_eq!(
        (n.code, n.subcode),
        (error_code::CEASE, cease_subcode::ADMINISTRATIVE_SHUTDOWN)
    );
    assert_eq!(
        n.shutdown_communication().as_deref(),
        Some(DISABLED_MESSAGE)
    );
    assert_eq!(net.state(b), State::Idle);
    let out = net.sp.update_peer(b, settings_b());
    assert!(out.contains(&Output::Connect(b)), "{out:?}");
    // A peer added already down never connects.
    let mut c = settings("C", C_AS, C_ADDR.into());
    c.shutdown = true;
    let (c, out) = net.sp.add_peer(c);
    assert!(!out.contains(&Output::Connect(c)), "{out:?}");
}

#[test]
fn when_a_peers_own_path_becomes_best_the_route_we_gave_it_is_withdrawn() {
    let (mut net, a, b) = a_and_b();
    net.from(a, announce(&["10.1.0.0/24"], &[A_AS, 65010]));
    // B's path is shorter: it becomes best. A now hears B's route, B must not hear its own.
    let out = net.from(
        b,
        Message::Update(Update {
            attributes: Some(attrs(&[B_AS], B_ADDR)),
            nlri: vec![v4("10.1.0.0/24")],
            ..Update::default()
        }),
    );
    assert_eq!(withdrawn_v4(&out, b), [v4("10.1.0.0/24")]);
    assert!(announced_v4(&out, b).is_empty());
    let [u] = &route_updates_to(&out, a)[..] else {
        panic!("one UPDATE to A: {out:?}");
    };
    assert_eq!(
        u.attributes.as_ref().map(|a| a.as_path.clone()),
        Some(as_path(&[LOCAL_AS, B_AS]))
    );
    assert_eq!(net.counters(b, Family::Ipv4Unicast).advertised, 0);
    assert_eq!(net.counters(a, Family::Ipv4Unicast).advertised, 1);
}

// ===== import rules =====

#[test]
fn a_route_whose_as_path_contains_our_as_is_counted_but_not_accepted() {
    let (mut net, a, b) = a_and_b();
    let out = net.from(a, announce(&["10.1.0.0/24"], &[A_AS, LOCAL_AS, 65010]));
    assert!(messages_to(&out, b).is_empty());
    assert!(net.sp.rib().get(&Prefix::V4(v4("10.1.0.0/24"))).is_none());
    let c = net.counters(a, Family::Ipv4Unicast);
    assert_eq!((c.received, c.accepted), (1, 0));
    assert_eq!(
        net.state(a),
        State::Established,
        "a loop is not a session error"
    );

    // Withdrawing it clears the count.
    net.from(a, withdraw(&["10.1.0.0/24"]));
    let c = net.counters(a, Family::Ipv4Unicast);
    assert_eq!((c.received, c.accepted), (0, 0));
}

#[test]
fn a_looped_path_replacing_an_accepted_one_withdraws_it() {
    let (mut net, a, b) = a_and_b();
    net.from(a, announce(&["10.1.0.0/24"], &[A_AS]));
    let out = net.from(a, announce(&["10.1.0.0/24"], &[A_AS, LOCAL_AS]));
    assert_eq!(withdrawn_v4(&out, b), [v4("10.1.0.0/24")]);
    let c = net.counters(a, Family::Ipv4Unicast);
    assert_eq!((c.received, c.accepted), (1, 0));
}

#[test]
fn exceeding_max_prefixes_resets_the_peer_with_cease_and_withdraws_its_routes() {
    let mut net = Net::new();
    let a = net.add(
        PeerSettings {
            max_prefixes: [Some(2), None],
            ..settings_a()
        },
        A_LOCAL.into(),
        peer_open(A_AS, Ipv4Addr::new(192, 0, 2, 1), false),
    );
    let b = net.add_b();
    net.up(a);
    net.up(b);

    let out = net.from(a, announce(&["10.1.0.0/24", "10.1.1.0/24"], &[A_AS]));
    assert_eq!(notification_to(&out, a), None, "at the limit is fine");
    assert_eq!(announced_v4(&out, b).len(), 2);

    let out = net.from(a, announce(&["10.1.2.0/24"], &[A_AS]));
    let n = notification_to(&out, a).expect("a NOTIFICATION to A");
    assert_eq!(
        (n.code, n.subcode),
        (error_code::CEASE, cease_subcode::MAXIMUM_PREFIXES_REACHED)
    );
    // AFI 1, SAFI 1, limit 2 (RFC 4486 §4).
    assert_eq!(&n.data[..], [0, 1, 1, 0, 0, 0, 2]);
    assert!(out.contains(&Output::Close(a, OUT)));
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::PeerDown(i, _) if *i == a))
    );
    assert_eq!(net.state(a), State::Idle);

    // B loses what it had from A and never hears of the prefix over the limit.
    let withdrawn = withdrawn_v4(&out, b);
    assert!(withdrawn.contains(&v4("10.1.0.0/24")), "{withdrawn:?}");
    assert!(withdrawn.contains(&v4("10.1.1.0/24")), "{withdrawn:?}");
    assert!(announced_v4(&out, b).is_empty());
    assert_eq!(net.counters(b, Family::Ipv4Unicast).advertised, 0);
    assert!(net.sp.rib().is_empty());

    assert_eq!(net.counters(a, Family::Ipv4Unicast), Counters::default());
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::ArmTimer(i, Timer::IdleHold, _) if *i == a)),
        "it comes back after the idle hold time"
    );
}

#[test]
fn a_treat_as_withdraw_update_removes_a_previously_announced_prefix() {
    let (mut net, a, b) = a_and_b();
    net.from(a, announce(&["10.1.0.0/24", "10.1.1.0/24"], &[A_AS]));
    let out = net.from(
        a,
        Message::Update(Update {
            attributes: Some(attrs(&[A_AS, 65010], A_ADDR)),
            nlri: vec![v4("10.1.0.0/24")],
            error_action: ErrorAction::TreatAsWithdraw,
            errors: vec!["malformed COMMUNITIES".to_owned()],
            ..Update::default()
        }),
    );
    assert_eq!(withdrawn_v4(&out, b), [v4("10.1.0.0/24")]);
    assert!(announced_v4(&out, b).is_empty());
    assert!(net.sp.rib().get(&Prefix::V4(v4("10.1.0.0/24"))).is_none());
    assert_eq!(net.counters(a, Family::Ipv4Unicast).accepted, 1);
    assert_eq!(net.state(a), State::Established);
}

#[test]
fn an_update_without_origin_is_not_installed() {
    let (mut net, a, b) = a_and_b();
    let out = net.from(
        a,
        Message::Update(Update {
            attributes: Some(Attributes {
                origin: None,
                ..attrs(&[A_AS], A_ADDR)
            }),
            nlri: vec![v4("10.1.0.0/24")],
            ..Update::default()
        }),
    );
    assert!(messages_to(&out, b).is_empty());
    assert!(net.sp.rib().is_empty());
}

// ===== refresh and packing =====

#[test]
fn a_route_refresh_gets_the_peer_the_whole_table_again() {
    let (mut net, a, b) = a_and_b();
    net.from(a, announce(&["10.1.0.0/24", "10.1.1.0/24"], &[A_AS]));
    net.from(a, announce(&["10.2.0.0/16"], &[A_AS, 65020]));
    let out = net.from(
        b,
        Message::RouteRefresh(RouteRefresh {
            family: Some(Family::Ipv4Unicast),
            afi: 1,
            safi: 1,
        }),
    );
    assert_eq!(
        announced_v4(&out, b),
        [v4("10.1.0.0/24"), v4("10.1.1.0/24"), v4("10.2.0.0/16")]
    );
    assert!(messages_to(&out, a).is_empty());
    assert_eq!(net.counters(b, Family::Ipv4Unicast).advertised, 3);
}

#[test]
fn thousands_of_prefixes_are_packed_into_full_size_updates_each_sent_once() {
    let (mut net, a, b) = a_and_b();
    let prefixes = many_slash_24s(3000);
    // A sends them in a few UPDATEs, as it would have to.
    let mut out = Vec::new();
    for chunk in prefixes.chunks(900) {
        out.extend(net.sp.event(
            a,
            Event::MessageReceived(
                OUT,
                Message::Update(Update {
                    attributes: Some(attrs(&[A_AS], A_ADDR)),
                    nlri: chunk.to_vec(),
                    ..Update::default()
                }),
            ),
        ));
    }
    out.extend(net.sp.flush());

    let sends: Vec<&[u8]> = out
        .iter()
        .filter_map(|o| match o {
            Output::Send(i, _, bytes) if *i == b => Some(frames(bytes)),
            _ => None,
        })
        .flatten()
        .collect();
    for m in &sends {
        assert!(m.len() <= MAX_MESSAGE_LEN, "{} bytes", m.len());
    }
    // 3,000 × 4 octets of NLRI do not fit in fewer than three messages, nor need more than
    // four.
    assert!((3..=4).contains(&sends.len()), "{} UPDATEs", sends.len());
    let mut expected = prefixes.clone();
    expected.sort();
    assert_same_prefixes(&announced_v4(&out, b), &expected);
    assert_eq!(net.counters(b, Family::Ipv4Unicast).advertised, 3000);
}

#[test]
fn thousands_of_withdrawals_are_packed_into_updates_of_at_most_4096_bytes() {
    let (mut net, a, b) = a_and_b();
    let prefixes = many_slash_24s(3000);
    net.event(
        a,
        Event::MessageReceived(
            OUT,
            Message::Update(Update {
                attributes: Some(attrs(&[A_AS], A_ADDR)),
                nlri: prefixes.clone(),
                ..Update::default()
            }),
        ),
    );
    let out = net.event(a, Event::TcpClosed(OUT));
    for o in &out {
        if let Output::Send(_, _, bytes) = o {
            for m in frames(bytes) {
                assert!(m.len() <= MAX_MESSAGE_LEN, "{} bytes", m.len());
            }
        }
    }
    let mut expected = prefixes;
    expected.sort();
    assert_same_prefixes(&withdrawn_v4(&out, b), &expected);
}

// ===== session loss =====

#[test]
fn a_peer_whose_session_drops_has_its_routes_withdrawn_from_the_others() {
    let (mut net, a, b) = a_and_b();
    net.from(a, announce(&["10.1.0.0/24", "10.1.1.0/24"], &[A_AS]));
    let out = net.event(a, Event::TcpClosed(OUT));
    assert_eq!(
        withdrawn_v4(&out, b),
        [v4("10.1.0.0/24"), v4("10.1.1.0/24")]
    );
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::PeerDown(i, _) if *i == a))
    );
    assert_eq!(net.counters(a, Family::Ipv4Unicast), Counters::default());
    assert_eq!(net.counters(b, Family::Ipv4Unicast).advertised, 0);
}

#[test]
fn removing_a_peer_sends_peer_deconfigured_and_withdraws_its_routes() {
    let (mut net, a, b) = a_and_b();
    net.from(a, announce(&["10.1.0.0/24"], &[A_AS]));
    let mut out = net.sp.remove_peer(a);
    out.extend(net.sp.flush());
    let n = notification_to(&out, a).expect("a NOTIFICATION to A");
    assert_eq!(
        (n.code, n.subcode),
        (error_code::CEASE, cease_subcode::PEER_DECONFIGURED)
    );
    assert_eq!(withdrawn_v4(&out, b), [v4("10.1.0.0/24")]);
    assert!(net.sp.peers().all(|(i, _)| i != a));
    assert!(net.sp.rib().is_empty());
}

#[test]
fn an_administrative_shutdown_tells_the_peer_why_and_withdraws_its_routes() {
    let (mut net, a, b) = a_and_b();
    net.from(a, announce(&["10.1.0.0/24"], &[A_AS]));
    let mut out = net.sp.stop_peer(a, shutdown("maintenance CHG0042"));
    out.extend(net.sp.flush());
    let n = notification_to(&out, a).expect("a NOTIFICATION to A");
    assert_eq!(
        (n.code, n.subcode),
        (error_code::CEASE, cease_subcode::ADMINISTRATIVE_SHUTDOWN)
    );
    assert_eq!(
        n.shutdown_communication().as_deref(),
        Some("maintenance CHG0042")
    );
    assert_eq!(withdrawn_v4(&out, b), [v4("10.1.0.0/24")]);
    assert_eq!(net.state(a), State::Idle);

    let out = net.sp.event(a, Event::Start);
    assert!(out.contains(&Output::Connect(a)));
}

// ===== graceful restart helper (RFC 4724) =====

/// A (Graceful Restart capable) and B up; A has announced 10.1.0.0/24 and 10.1.1.0/24, then
/// lost its TCP connection without a NOTIFICATION.
fn a_restarting() -> (Net, PeerIdx, PeerIdx, Vec<Output>) {
    let mut net = Net::new();
    let a = net.add(
        settings_a(),
        A_LOCAL.into(),
        peer_open(A_AS, Ipv4Addr::new(192, 0, 2, 1), true),
    );
    let b = net.add_b();
    net.up(a);
    net.up(b);
    net.from(a, announce(&["10.1.0.0/24", "10.1.1.0/24"], &[A_AS]));
    let out = net.event(a, Event::TcpClosed(OUT));
    (net, a, b, out)
}

#[test]
fn a_graceful_restart_peer_that_drops_its_connection_keeps_its_routes_as_stale() {
    let (net, a, b, out) = a_restarting();
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::PeerDown(i, _) if *i == a))
    );
    assert!(out.contains(&Output::ArmTimer(
        a,
        Timer::GracefulRestart,
        Duration::from_secs(u64::from(GR_RESTART_TIME))
    )));
    assert!(
        messages_to(&out, b).is_empty(),
        "B sees no withdrawal: {out:?}"
    );
    for p in ["10.1.0.0/24", "10.1.1.0/24"] {
        let best = net
            .sp
            .rib()
            .get(&Prefix::V4(v4(p)))
            .and_then(|d| d.best().cloned())
            .expect("the route is kept");
        assert_eq!(best.peer, a);
        assert!(best.stale);
    }
}

#[test]
fn after_a_graceful_restart_end_of_rib_withdraws_what_the_peer_did_not_announce_again() {
    let (mut net, a, b, _) = a_restarting();
    net.event(a, Event::TimerExpired(Timer::IdleHold));
    net.up(a);
    let out = net.from(a, announce(&["10.1.0.0/24"], &[A_AS]));
    assert!(
        messages_to(&out, b).is_empty(),
        "a route re-announced unchanged is not news to B: {out:?}"
    );
    let mut out = net.from(a, end_of_rib(Family::Ipv4Unicast));
    out.extend(net.from(a, end_of_rib(Family::Ipv6Unicast)));
    assert_eq!(withdrawn_v4(&out, b), [v4("10.1.1.0/24")]);
    assert!(announced_v4(&out, b).is_empty());
    let kept = net
        .sp
        .rib()
        .get(&Prefix::V4(v4("10.1.0.0/24")))
        .and_then(|d| d.best().cloned())
        .expect("the re-announced route stays");
    assert!(!kept.stale);
    let c = net.counters(a, Family::Ipv4Unicast);
    assert_eq!((c.received, c.accepted), (1, 1));

    // The restart timer firing later changes nothing.
    let out = net.event(a, Event::TimerExpired(Timer::GracefulRestart));
    assert!(messages_to(&out, b).is_empty());
    assert!(net.sp.rib().get(&Prefix::V4(v4("10.1.0.0/24"))).is_some());
}

#[test]
fn the_graceful_restart_timer_expiring_purges_the_stale_routes() {
    let (mut net, a, b, _) = a_restarting();
    let out = net.event(a, Event::TimerExpired(Timer::GracefulRestart));
    assert_eq!(
        withdrawn_v4(&out, b),
        [v4("10.1.0.0/24"), v4("10.1.1.0/24")]
    );
    assert!(net.sp.rib().is_empty());
    assert_eq!(net.counters(a, Family::Ipv4Unicast), Counters::default());
}

#[test]
fn a_notification_from_a_graceful_restart_peer_withdraws_its_routes_at_once() {
    let mut net = Net::new();
    let a = net.add(
        settings_a(),
        A_LOCAL.into(),
        peer_open(A_AS, Ipv4Addr::new(192, 0, 2, 1), true),
    );
    let b = net.add_b();
    net.up(a);
    net.up(b);
    net.from(a, announce(&["10.1.0.0/24"], &[A_AS]));
    let out = net.from(
        a,
        Message::Notification(Notification::new(
            error_code::CEASE,
            cease_subcode::ADMINISTRATIVE_RESET,
        )),
    );
    assert_eq!(withdrawn_v4(&out, b), [v4("10.1.0.0/24")]);
}

// ===== more =====

#[test]
fn lowering_max_prefixes_below_what_the_peer_sends_resets_it() {
    let (mut net, a, b) = a_and_b();
    net.from(
        a,
        announce(&["10.1.0.0/24", "10.1.1.0/24", "10.1.2.0/24"], &[A_AS]),
    );
    let mut out = net.sp.update_peer(
        a,
        PeerSettings {
            max_prefixes: [Some(2), None],
            ..settings_a()
        },
    );
    out.extend(net.sp.flush());
    let n = notification_to(&out, a).expect("a NOTIFICATION to A");
    assert_eq!(
        (n.code, n.subcode),
        (error_code::CEASE, cease_subcode::MAXIMUM_PREFIXES_REACHED)
    );
    assert_eq!(withdrawn_v4(&out, b).len(), 3);
}

#[test]
fn raising_max_prefixes_does_not_disturb_the_session() {
    let (mut net, a, _) = a_and_b();
    net.from(a, announce(&["10.1.0.0/24"], &[A_AS]));
    let out = net.sp.update_peer(
        a,
        PeerSettings {
            max_prefixes: [Some(100), Some(100)],
            ..settings_a()
        },
    );
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(net.state(a), State::Established);
}

#[test]
fn routes_go_out_on_the_connection_that_won_the_collision() {
    let mut net = Net::new();
    let a = net.add_a();
    net.up(a);
    net.from(a, announce(&["10.1.0.0/24"], &[A_AS]));
    // B connects to us while we connect to it; B's identifier is higher, so its connection
    // survives.
    let b = net.add_b();
    let open = peer_open(B_AS, Ipv4Addr::new(198, 51, 100, 1), false);
    for direction in [Direction::Outgoing, Direction::Incoming] {
        net.sp.event(
            b,
            Event::TcpConnected {
                direction,
                local_addr: B_LOCAL.into(),
            },
        );
    }
    let out = net
        .sp
        .event(b, Event::MessageReceived(Direction::Incoming, open));
    assert!(out.contains(&Output::Close(b, Direction::Outgoing)));
    let mut out = net.sp.event(
        b,
        Event::MessageReceived(Direction::Incoming, Message::Keepalive),
    );
    out.extend(net.sp.flush());
    let updates: Vec<Direction> = out
        .iter()
        .filter_map(|o| match o {
            Output::Send(i, d, _) if *i == b => Some(*d),
            _ => None,
        })
        .collect();
    assert!(!updates.is_empty());
    assert!(
        updates.iter().all(|d| *d == Direction::Incoming),
        "{updates:?}"
    );
    assert_eq!(announced_v4(&out, b), [v4("10.1.0.0/24")]);
}

#[test]
fn a_two_octet_peer_receives_an_as_path_it_can_read() {
    let mut net = Net::new();
    let a = net.add_a();
    let mut open = peer_open(B_AS, Ipv4Addr::new(198, 51, 100, 1), false);
    if let Message::Open(o) = &mut open {
        o.capabilities
            .retain(|c| !matches!(c, Capability::FourOctetAs(_)));
    }
    let b = net.add(settings_b(), B_LOCAL.into(), open);
    net.up(a);
    net.up(b);
    let out = net.from(a, announce(&["10.1.0.0/24"], &[A_AS, 4_200_000_001]));
    let two_octet = Context {
        four_octet_as: false,
    };
    let updates: Vec<Update> = out
        .iter()
        .filter_map(|o| match o {
            Output::Send(i, _, bytes) if *i == b => {
                match Message::decode(bytes, &two_octet).expect("decodes on a two-octet session") {
                    Message::Update(u) => Some(u),
                    _ => None,
                }
            }
            _ => None,
        })
        .collect();
    let [u] = &updates[..] else {
        panic!("one UPDATE to B: {updates:?}");
    };
    assert_eq!(
        u.attributes.as_ref().map(|a| a.as_path.clone()),
        Some(as_path(&[LOCAL_AS, A_AS, 4_200_000_001]))
    );
}

#[test]
fn thousands_of_ipv6_prefixes_are_packed_into_updates_of_at_most_4096_bytes() {
    let mut net = Net::new();
    let a = net.add_a();
    let c = net.add(
        settings("C", C_AS, C_ADDR.into()),
        C_LOCAL.into(),
        peer_open(C_AS, Ipv4Addr::new(10, 9, 9, 9), false),
    );
    net.up(a);
    net.up(c);
    let prefixes: Vec<Prefix> = (0..3000u16)
        .map(|i| {
            Prefix::V6(
                Ipv6Net::new(Ipv6Addr::new(0x2001, 0xdb8, i, 0, 0, 0, 0, 0), 48)
                    .expect("valid /48"),
            )
        })
        .collect();
    let reach = Message::Update(Update {
        attributes: Some(Attributes {
            next_hop: None,
            ..attrs(&[A_AS], A_ADDR)
        }),
        mp_reach: Some(MpReach {
            family: Family::Ipv6Unicast,
            next_hop: NextHop::V6 {
                global: "2001:db8:a::1".parse().expect("address"),
                link_local: None,
            },
            nlri: prefixes.clone(),
        }),
        ..Update::default()
    });
    let check = |out: &[Output], pick: fn(Update) -> Vec<Prefix>| {
        let mut got = Vec::new();
        for o in out {
            if let Output::Send(i, _, bytes) = o
                && *i == c
            {
                for m in frames(bytes) {
                    assert!(m.len() <= MAX_MESSAGE_LEN, "{} bytes", m.len());
                }
            }
        }
        for u in updates_to(out, c) {
            got.extend(pick(u));
        }
        got.sort();
        let mut expected = prefixes.clone();
        expected.sort();
        assert!(
            got == expected,
            "{} prefixes, expected {}",
            got.len(),
            expected.len()
        );
    };
    let out = net.from(a, reach);
    check(&out, |u| u.mp_reach.map(|m| m.nlri).unwrap_or_default());
    let out = net.event(a, Event::TcpClosed(OUT));
    check(&out, |u| {
        u.mp_unreach.map(|m| m.withdrawn).unwrap_or_default()
    });
}

#[test]
fn attribute_sets_are_freed_once_no_route_uses_them() {
    let (mut net, a, _) = a_and_b();
    let baseline = net.sp.rib().pool.len();
    net.from(a, announce(&["10.1.0.0/24", "10.1.1.0/24"], &[A_AS]));
    net.from(a, announce(&["10.2.0.0/24"], &[A_AS, 65020]));
    assert_eq!(net.sp.rib().pool.len(), baseline + 2);
    // A new path for one prefix, a withdrawal, then the session goes.
    net.from(a, announce(&["10.2.0.0/24"], &[A_AS, 65030]));
    net.from(a, withdraw(&["10.1.0.0/24"]));
    assert_eq!(net.sp.rib().pool.len(), baseline + 2);
    net.event(a, Event::TcpClosed(OUT));
    assert_eq!(net.sp.rib().pool.len(), baseline);
}

#[test]
fn routes_whose_attributes_differ_only_in_what_export_rewrites_share_one_update() {
    let (mut net, a, b) = a_and_b();
    net.from(a, announce(&["10.1.0.0/24"], &[A_AS]));
    let other_med = Message::Update(Update {
        attributes: Some(Attributes {
            med: Some(60),
            next_hop: Some(Ipv4Addr::new(192, 0, 2, 2)),
            ..attrs(&[A_AS], A_ADDR)
        }),
        nlri: vec![v4("10.1.1.0/24")],
        ..Update::default()
    });
    net.sp.event(a, Event::MessageReceived(OUT, other_med));
    let out = net.event(
        b,
        Event::MessageReceived(
            OUT,
            Message::RouteRefresh(RouteRefresh {
                family: Some(Family::Ipv4Unicast),
                afi: 1,
                safi: 1,
            }),
        ),
    );
    let updates = route_updates_to(&out, b);
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!(
        announced_v4(&out, b),
        [v4("10.1.0.0/24"), v4("10.1.1.0/24")]
    );
}

#[test]
fn a_route_announced_and_withdrawn_within_one_burst_is_never_sent_and_its_attributes_are_freed() {
    let (mut net, a, b) = a_and_b();
    let baseline = net.sp.rib().pool.len();
    // Both UPDATEs are handled before the driver flushes, as when they arrive together.
    let mut out = net.sp.event(
        a,
        Event::MessageReceived(OUT, announce(&["10.9.0.0/24"], &[A_AS])),
    );
    out.extend(
        net.sp
            .event(a, Event::MessageReceived(OUT, withdraw(&["10.9.0.0/24"]))),
    );
    out.extend(net.sp.flush());
    assert!(
        messages_to(&out, b).is_empty(),
        "B hears nothing: {:?}",
        messages_to(&out, b)
    );
    assert_eq!(
        net.sp.rib().pool.len(),
        baseline,
        "the attribute set is released"
    );
    assert_eq!(net.counters(b, Family::Ipv4Unicast).advertised, 0);
}

// ===== export policy, weight and FIB =====

/// An UPDATE from B announcing `prefixes` with AS_PATH `asns`, next hop B.
fn announce_from_b(prefixes: &[&str], asns: &[u32]) -> Message {
    Message::Update(Update {
        attributes: Some(attrs(asns, B_ADDR)),
        nlri: prefixes.iter().map(|p| v4(p)).collect(),
        ..Update::default()
    })
}

#[test]
fn a_peer_that_takes_learned_routes_only_never_sees_what_we_originate() {
    let mut net = Net::new();
    net.sp.set_originated(vec![Prefix::V4(v4("10.10.0.0/16"))]);
    let a = net.add_a();
    let b = net.add(
        PeerSettings {
            export: Export::Learned,
            ..settings_b()
        },
        B_LOCAL.into(),
        peer_open(B_AS, Ipv4Addr::new(198, 51, 100, 1), false),
    );
    let out_a = net.up(a);
    assert_eq!(announced_v4(&out_a, a), [v4("10.10.0.0/16")]);
    let out_b = net.up(b);
    assert!(announced_v4(&out_b, b).is_empty(), "{out_b:?}");
    let out = net.from(a, announce(&["192.168.1.0/24"], &[A_AS]));
    assert_eq!(announced_v4(&out, b), [v4("192.168.1.0/24")]);
}

#[test]
fn a_peer_that_takes_nothing_is_sent_nothing_but_feeds_the_rib() {
    let mut net = Net::new();
    let a = net.add_a();
    let b = net.add(
        PeerSettings {
            export: Export::Nothing,
            ..settings_b()
        },
        B_LOCAL.into(),
        peer_open(B_AS, Ipv4Addr::new(198, 51, 100, 1), false),
    );
    net.up(a);
    net.up(b);
    let out = net.from(a, announce(&["192.168.1.0/24"], &[A_AS]));
    assert!(announced_v4(&out, b).is_empty());
    let out = net.from(b, announce_from_b(&["192.168.2.0/24"], &[B_AS]));
    assert_eq!(announced_v4(&out, a), [v4("192.168.2.0/24")]);
}

#[test]
fn the_fib_follows_the_equal_cost_set_of_next_hops() {
    let (mut net, a, b) = a_and_b();
    net.sp.enable_fib();
    let p = Prefix::V4(v4("192.168.1.0/24"));
    // Same AS path length from both: one route over both next hops.
    net.from(a, announce(&["192.168.1.0/24"], &[65000]));
    net.from(b, announce_from_b(&["192.168.1.0/24"], &[65000]));
    let changes = net.sp.take_fib_changes();
    assert_eq!(
        changes,
        [FibChange {
            prefix: p,
            next_hops: vec![A_ADDR.into(), B_ADDR.into()],
        }]
    );
    assert!(net.sp.take_fib_changes().is_empty(), "nothing new");

    // A drained (longer) path leaves the set.
    net.from(a, announce(&["192.168.1.0/24"], &[65000, 65000]));
    assert_eq!(
        net.sp.take_fib_changes()[0].next_hops,
        [IpAddr::from(B_ADDR)]
    );

    // B's session goes: the route moves to A alone; A withdraws: the route goes.
    net.event(
        b,
        Event::Stop(Notification::new(
            error_code::CEASE,
            cease_subcode::ADMINISTRATIVE_SHUTDOWN,
        )),
    );
    assert_eq!(
        net.sp.take_fib_changes()[0].next_hops,
        [IpAddr::from(A_ADDR)]
    );
    net.from(a, withdraw(&["192.168.1.0/24"]));
    assert_eq!(
        net.sp.take_fib_changes(),
        [FibChange {
            prefix: p,
            next_hops: vec![],
        }]
    );
}

#[test]
fn weight_picks_the_peer_whatever_the_path_length() {
    let mut net = Net::new();
    let a = net.add_a();
    let b = net.add(
        PeerSettings {
            weight: 10,
            ..settings_b()
        },
        B_LOCAL.into(),
        peer_open(B_AS, Ipv4Addr::new(198, 51, 100, 1), false),
    );
    net.up(a);
    net.up(b);
    net.sp.enable_fib();
    net.from(a, announce(&["192.168.1.0/24"], &[65000]));
    net.from(
        b,
        announce_from_b(&["192.168.1.0/24"], &[65000, 65000, 65000]),
    );
    let changes = net.sp.take_fib_changes();
    assert_eq!(changes[0].next_hops, [IpAddr::from(B_ADDR)]);
}

/// A's OPEN with a Graceful Restart capability listing exactly `families`.
fn open_preserving(families: &[Family]) -> Message {
    let Message::Open(mut open) = peer_open(A_AS, Ipv4Addr::new(192, 0, 2, 1), false) else {
        unreachable!("peer_open builds an OPEN")
    };
    open.capabilities.push(Capability::GracefulRestart {
        restarting: false,
        restart_time: GR_RESTART_TIME,
        families: families.iter().map(|f| (*f, true)).collect(),
    });
    Message::Open(open)
}

#[test]
fn a_graceful_restart_capability_listing_no_family_preserves_nothing() {
    // RFC 4724 §4.2: only the listed families are retained. Causeway's own speakers send
    // the capability with no families (helper only): their routes go at once.
    let mut net = Net::new();
    let a = net.add(settings_a(), A_LOCAL.into(), open_preserving(&[]));
    let b = net.add_b();
    net.up(a);
    net.up(b);
    net.from(a, announce(&["10.1.0.0/24"], &[A_AS]));
    let out = net.event(a, Event::TcpClosed(OUT));
    assert_eq!(withdrawn_v4(&out, b), [v4("10.1.0.0/24")]);
    assert!(net.sp.rib().get(&Prefix::V4(v4("10.1.0.0/24"))).is_none());
    assert!(
        !out.iter()
            .any(|o| matches!(o, Output::ArmTimer(_, Timer::GracefulRestart, _)))
    );
}

#[test]
fn only_the_families_the_restarting_peer_preserves_are_kept() {
    let mut net = Net::new();
    let a = net.add(
        settings_a(),
        A_LOCAL.into(),
        open_preserving(&[Family::Ipv6Unicast]),
    );
    let b = net.add_b();
    net.up(a);
    net.up(b);
    net.sp.enable_fib();
    net.from(a, announce(&["10.1.0.0/24"], &[A_AS]));
    net.sp.take_fib_changes();
    let out = net.event(a, Event::TcpClosed(OUT));
    // IPv4 was not listed: withdrawn now, also from the FIB.
    assert_eq!(withdrawn_v4(&out, b), [v4("10.1.0.0/24")]);
    assert_eq!(
        net.sp.take_fib_changes(),
        [FibChange {
            prefix: Prefix::V4(v4("10.1.0.0/24")),
            next_hops: vec![],
        }]
    );
    assert!(out.contains(&Output::ArmTimer(
        a,
        Timer::GracefulRestart,
        Duration::from_secs(u64::from(GR_RESTART_TIME))
    )));
}

#[test]
fn the_initial_tables_are_complete_once_every_live_peer_sent_end_of_rib() {
    let (mut net, a, b) = a_and_b();
    assert!(!net.sp.initial_tables_complete());
    for f in [Family::Ipv4Unicast, Family::Ipv6Unicast] {
        net.from(a, end_of_rib(f));
    }
    assert!(!net.sp.initial_tables_complete(), "B has not finished");
    net.from(b, end_of_rib(Family::Ipv4Unicast));
    assert!(
        !net.sp.initial_tables_complete(),
        "B's IPv6 table is missing"
    );
    net.from(b, end_of_rib(Family::Ipv6Unicast));
    assert!(net.sp.initial_tables_complete());
    // A peer that is down and meant to be up keeps the table incomplete; one shut down
    // administratively does not.
    net.event(b, Event::TcpClosed(OUT));
    assert!(!net.sp.initial_tables_complete());
    let out = net.sp.stop_peer(b, shutdown("maintenance"));
    drop(out);
    assert!(net.sp.initial_tables_complete());
}
