//! Malformed input from one peer: RFC 7606 / RFC 4271 §6 behaviour on the wire, and no other
//! session notices. Runs on loopback (127.0.0.x), no privileges needed.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use bgp::wire::{
    self, AsPath, AsSegment, Attributes, Capability, Context, Family, Message, Notification, Open,
    Origin, Update, error_code, update_subcode,
};
use bytes::BytesMut;
use edge::Edge;
use edge::config::{DomainConfig, EdgeConfig, FamilyName, MaxPrefixes, PeerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{Instant, timeout};

const DEADLINE: Duration = Duration::from_secs(20);

fn peer(name: &str, addr: Ipv4Addr, remote_as: u32) -> PeerConfig {
    PeerConfig {
        name: name.into(),
        address: IpAddr::V4(addr),
        local_address: None,
        remote_as,
        md5_key: None,
        max_prefixes: MaxPrefixes::default(),
        prepend: 0,
        passive: true,
        shutdown: false,
        bfd: None,
        hold_time: 30,
        connect_retry: 1,
        error_wait: None,
        families: vec![FamilyName::Ipv4],
        weight: 0,
        export: Default::default(),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

async fn start_edge(peers: Vec<PeerConfig>) -> (Edge, u16) {
    let port = free_port();
    let config = EdgeConfig {
        local_as: 12076,
        router_id: Ipv4Addr::new(192, 0, 2, 1),
        listen_port: port,
        status_listen: "127.0.0.1:0".parse().expect("address"),
        domains: vec![DomainConfig {
            name: "d".into(),
            namespace: None,
            originate: Vec::new(),
            peers,
            local_as: None,
            router_id: None,
            fib: false,
            routes: Vec::new(),
        }],
    };
    (Edge::start(config).await.expect("edge starts"), port)
}

/// A minimal BGP speaker driven by the test.
struct RawPeer {
    stream: TcpStream,
    buf: BytesMut,
}

impl RawPeer {
    async fn connect(local: Ipv4Addr, port: u16, asn: u32) -> RawPeer {
        let socket = TcpSocket::new_v4().expect("socket");
        socket
            .bind(SocketAddr::new(IpAddr::V4(local), 0))
            .expect("bind a loopback source address");
        let stream = socket
            .connect(SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .expect("connect to the edge");
        let mut p = RawPeer {
            stream,
            buf: BytesMut::new(),
        };
        p.send(&Message::Open(Open {
            version: 4,
            my_as: u16::try_from(asn).unwrap_or(wire::AS_TRANS),
            hold_time: 30,
            bgp_identifier: local,
            capabilities: vec![
                Capability::Multiprotocol(Family::Ipv4Unicast),
                Capability::FourOctetAs(asn),
            ],
        }))
        .await;
        assert!(
            matches!(p.recv().await, Some(Message::Open(_))),
            "edge answers with OPEN"
        );
        assert!(
            matches!(p.recv().await, Some(Message::Keepalive)),
            "edge confirms the OPEN"
        );
        p.send(&Message::Keepalive).await;
        p
    }

    async fn send(&mut self, m: &Message) {
        let mut out = BytesMut::new();
        m.encode(&Context::default(), &mut out);
        self.send_raw(&out).await;
    }

    async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// The next message, or None when the edge closed the connection.
    async fn recv(&mut self) -> Option<Message> {
        loop {
            if let Some(len) = wire::frame(&self.buf).expect("edge sends well-formed frames") {
                let frame = self.buf.split_to(len);
                return Some(Message::decode(&frame, &Context::default()).expect("decodable"));
            }
            let n = timeout(DEADLINE, self.stream.read_buf(&mut self.buf))
                .await
                .expect("edge answers in time")
                .expect("read");
            if n == 0 {
                return None;
            }
        }
    }

    /// Reads until a NOTIFICATION arrives (or the connection closes without one).
    async fn notification(&mut self) -> Option<Notification> {
        while let Some(m) = self.recv().await {
            if let Message::Notification(n) = m {
                return Some(n);
            }
        }
        None
    }
}

fn announce(prefix: &str, asn: u32, next_hop: Ipv4Addr) -> Message {
    Message::Update(Update {
        attributes: Some(Attributes {
            origin: Some(Origin::Igp),
            as_path: AsPath {
                segments: vec![AsSegment::Sequence(vec![asn])],
            },
            next_hop: Some(next_hop),
            ..Attributes::default()
        }),
        nlri: vec![prefix.parse().expect("prefix")],
        ..Update::default()
    })
}

async fn wait_for(
    edge: &Edge,
    what: &str,
    cond: impl Fn(&edge::status::EdgeStatus, &edge::status::RoutesView) -> bool,
) {
    let start = Instant::now();
    loop {
        let status = edge.status().await;
        let routes = edge.routes(None).await;
        if cond(&status, &routes) {
            return;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "timed out waiting for {what}: {status:?} {routes:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn state(status: &edge::status::EdgeStatus, name: &str) -> String {
    status.domains[0]
        .peers
        .iter()
        .find(|p| p.name == name)
        .map(|p| p.state.clone())
        .unwrap_or_default()
}

fn has_route(routes: &edge::status::RoutesView, prefix: &str, peer: &str) -> bool {
    routes.domains[0]
        .routes
        .iter()
        .any(|r| r.prefix == prefix && r.peer == peer)
}

/// A well-formed UPDATE carrying one IPv4 prefix, with its attribute block patched by `f`.
fn update_with_attrs(attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&0u16.to_be_bytes()); // withdrawn routes length
    body.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    body.extend_from_slice(attrs);
    body.extend_from_slice(nlri);
    let mut msg = vec![0xff; 16];
    msg.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    msg.push(2);
    msg.extend_from_slice(&body);
    msg
}

#[tokio::test]
async fn a_malformed_update_resets_only_its_own_session() {
    let a = Ipv4Addr::new(127, 0, 0, 2);
    let b = Ipv4Addr::new(127, 0, 0, 3);
    let (edge, port) = start_edge(vec![peer("a", a, 65001), peer("b", b, 65002)]).await;
    let mut pa = RawPeer::connect(a, port, 65001).await;
    let mut pb = RawPeer::connect(b, port, 65002).await;
    pb.send(&announce("10.2.0.0/24", 65002, b)).await;
    wait_for(&edge, "b's route", |s, r| {
        state(s, "b") == "Established" && has_route(r, "10.2.0.0/24", "b")
    })
    .await;

    // An attribute whose length runs past the attribute block after an MP_UNREACH: RFC 7606
    // §5.2 leaves no way to find the NLRI, so the session is reset (Malformed Attribute List).
    let attrs = [
        0x80, 15, 3, 0, 1, 1, // MP_UNREACH_NLRI IPv4 unicast, nothing withdrawn
        0x40, 1, 9, 0, // ORIGIN claiming 9 bytes
    ];
    pa.send_raw(&update_with_attrs(&attrs, &[])).await;
    let n = pa
        .notification()
        .await
        .expect("a NOTIFICATION before the close");
    assert_eq!(
        (n.code, n.subcode),
        (
            error_code::UPDATE_MESSAGE,
            update_subcode::MALFORMED_ATTRIBUTE_LIST
        )
    );
    wait_for(&edge, "a down, b untouched", |s, r| {
        state(s, "a") != "Established"
            && state(s, "b") == "Established"
            && has_route(r, "10.2.0.0/24", "b")
    })
    .await;
    // b's session is alive: it still exchanges routes.
    pb.send(&announce("10.2.1.0/24", 65002, b)).await;
    wait_for(&edge, "b's second route", |_, r| {
        has_route(r, "10.2.1.0/24", "b")
    })
    .await;
}

#[tokio::test]
async fn an_update_with_a_bad_origin_is_treated_as_withdraw_and_the_session_stays_up() {
    let a = Ipv4Addr::new(127, 0, 0, 4);
    let (edge, port) = start_edge(vec![peer("a", a, 65001)]).await;
    let mut pa = RawPeer::connect(a, port, 65001).await;
    pa.send(&announce("10.1.0.0/24", 65001, a)).await;
    wait_for(&edge, "the route", |_, r| has_route(r, "10.1.0.0/24", "a")).await;

    // Same prefix, ORIGIN value 7 (RFC 7606 §7.1: treat-as-withdraw).
    let mut attrs = vec![0x40, 1, 1, 7];
    attrs.extend_from_slice(&[0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xe9]); // AS_PATH 65001
    attrs.extend_from_slice(&[0x40, 3, 4]);
    attrs.extend_from_slice(&a.octets());
    pa.send_raw(&update_with_attrs(&attrs, &[24, 10, 1, 0]))
        .await;
    wait_for(&edge, "the route withdrawn, session up", |s, r| {
        !has_route(r, "10.1.0.0/24", "a") && state(s, "a") == "Established"
    })
    .await;
    // The session still works: a good announcement is accepted again.
    pa.send(&announce("10.1.0.0/24", 65001, a)).await;
    wait_for(&edge, "the route back", |_, r| {
        has_route(r, "10.1.0.0/24", "a")
    })
    .await;
}

#[tokio::test]
async fn a_bad_marker_gets_connection_not_synchronized() {
    let a = Ipv4Addr::new(127, 0, 0, 5);
    let (_edge, port) = start_edge(vec![peer("a", a, 65001)]).await;
    let mut pa = RawPeer::connect(a, port, 65001).await;
    let mut junk = vec![0u8; 19];
    junk[17] = 19;
    junk[18] = 4;
    pa.send_raw(&junk).await;
    let n = pa.notification().await.expect("a NOTIFICATION");
    assert_eq!((n.code, n.subcode), (error_code::MESSAGE_HEADER, 1));
}

#[tokio::test]
async fn an_open_from_the_wrong_as_is_refused_with_bad_peer_as() {
    let a = Ipv4Addr::new(127, 0, 0, 6);
    let (edge, port) = start_edge(vec![peer("a", a, 65001)]).await;
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(IpAddr::V4(a), 0))
        .expect("bind");
    let stream = socket
        .connect(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .expect("connect");
    let mut p = RawPeer {
        stream,
        buf: BytesMut::new(),
    };
    p.send(&Message::Open(Open {
        version: 4,
        my_as: 65099,
        hold_time: 30,
        bgp_identifier: a,
        capabilities: vec![Capability::FourOctetAs(65099)],
    }))
    .await;
    let n = p.notification().await.expect("a NOTIFICATION");
    assert_eq!((n.code, n.subcode), (error_code::OPEN_MESSAGE, 2));
    wait_for(&edge, "the error in status", |s, _| {
        s.domains[0].peers[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("Bad Peer AS"))
    })
    .await;
}
