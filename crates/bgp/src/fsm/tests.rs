//! Session state machine (RFC 4271 §8) driven through `Session::handle` only: every test feeds
//! facts in and checks the commands a driver would carry out.

use super::*;

use crate::wire::{Update, open_subcode};

const LOCAL_AS: u32 = 12076;
const PEER_AS: u32 = 65001;
const OUR_ID: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PEER_ID: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const LOCAL_ADDR: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 10));
const CONNECT_RETRY: Duration = Duration::from_secs(10);
const OUR_HOLD: Duration = Duration::from_secs(90);

const OUT: Direction = Direction::Outgoing;
const IN: Direction = Direction::Incoming;

// ===== helpers =====

fn config() -> SessionConfig {
    SessionConfig {
        local_as: LOCAL_AS,
        router_id: OUR_ID,
        remote_as: PEER_AS,
        hold_time: OUR_HOLD,
        connect_retry: CONNECT_RETRY,
        passive: false,
        families: vec![Family::Ipv4Unicast, Family::Ipv6Unicast],
        error_wait: None,
    }
}

/// The OPEN a peer sends; by default AS 65001, both unicast families, route refresh, four-octet
/// AS and a 180 s hold time.
struct PeerOpen(Open);

impl PeerOpen {
    fn new() -> PeerOpen {
        PeerOpen(Open {
            version: 4,
            my_as: PEER_AS as u16,
            hold_time: 180,
            bgp_identifier: PEER_ID,
            capabilities: vec![
                Capability::Multiprotocol(Family::Ipv4Unicast),
                Capability::Multiprotocol(Family::Ipv6Unicast),
                Capability::RouteRefresh,
                Capability::FourOctetAs(PEER_AS),
            ],
        })
    }

    fn asn(mut self, asn: u32) -> PeerOpen {
        self.0.my_as = u16::try_from(asn).unwrap_or(AS_TRANS);
        for c in &mut self.0.capabilities {
            if let Capability::FourOctetAs(a) = c {
                *a = asn;
            }
        }
        self
    }

    fn id(mut self, id: Ipv4Addr) -> PeerOpen {
        self.0.bgp_identifier = id;
        self
    }

    fn hold(mut self, secs: u16) -> PeerOpen {
        self.0.hold_time = secs;
        self
    }

    fn families(mut self, families: &[Family]) -> PeerOpen {
        self.0
            .capabilities
            .retain(|c| !matches!(c, Capability::Multiprotocol(_)));
        for &f in families.iter().rev() {
            self.0.capabilities.insert(0, Capability::Multiprotocol(f));
        }
        self
    }

    fn without_four_octet_as(mut self) -> PeerOpen {
        self.0
            .capabilities
            .retain(|c| !matches!(c, Capability::FourOctetAs(_)));
        self
    }

    fn graceful_restart(mut self, restart_time: u16) -> PeerOpen {
        self.0.capabilities.push(Capability::GracefulRestart {
            restarting: false,
            restart_time,
            families: vec![(Family::Ipv4Unicast, true)],
        });
        self
    }

    fn message(self) -> Message {
        Message::Open(self.0)
    }
}

fn connected(direction: Direction) -> Event {
    Event::TcpConnected {
        direction,
        local_addr: LOCAL_ADDR,
    }
}

fn received(direction: Direction, message: Message) -> Event {
    Event::MessageReceived(direction, message)
}

/// A started session whose outgoing connection is up: in OpenSent.
fn open_sent(config: SessionConfig) -> Session {
    let mut s = Session::new(config);
    s.handle(Event::Start);
    s.handle(connected(OUT));
    assert_eq!(s.state(), State::OpenSent);
    s
}

/// A session Established on its outgoing connection with a peer sending `open`.
fn established_with(open: PeerOpen) -> (Session, Negotiated) {
    let mut s = open_sent(config());
    s.handle(received(OUT, open.message()));
    let actions = s.handle(received(OUT, Message::Keepalive));
    let n = established_action(&actions).expect("a KEEPALIVE in OpenConfirm establishes");
    (s, n)
}

fn established() -> Session {
    established_with(PeerOpen::new()).0
}

fn sent(actions: &[Action], direction: Direction) -> Vec<&Message> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(d, m) if *d == direction => Some(m),
            _ => None,
        })
        .collect()
}

fn notification_sent(actions: &[Action], direction: Direction) -> Option<&Notification> {
    sent(actions, direction).into_iter().find_map(|m| match m {
        Message::Notification(n) => Some(n),
        _ => None,
    })
}

fn armed(actions: &[Action], timer: Timer) -> Option<Duration> {
    actions.iter().find_map(|a| match a {
        Action::ArmTimer(t, d) if *t == timer => Some(*d),
        _ => None,
    })
}

fn hold_timer_set(actions: &[Action], direction: Direction) -> Option<Duration> {
    actions.iter().find_map(|a| match a {
        Action::SetHoldTimer(d, t) if *d == direction => Some(*t),
        _ => None,
    })
}

fn keepalives_started(actions: &[Action], direction: Direction) -> Option<Duration> {
    actions.iter().find_map(|a| match a {
        Action::StartKeepalives(d, t) if *d == direction => Some(*t),
        _ => None,
    })
}

fn established_action(actions: &[Action]) -> Option<Negotiated> {
    actions.iter().find_map(|a| match a {
        Action::Established(n) => Some((**n).clone()),
        _ => None,
    })
}

/// The `graceful` field of the Down action, if the session went down.
fn went_down(actions: &[Action]) -> Option<Option<Duration>> {
    actions.iter().find_map(|a| match a {
        Action::Down { graceful, .. } => Some(*graceful),
        _ => None,
    })
}

fn closed(actions: &[Action], direction: Direction) -> bool {
    actions.contains(&Action::Close(direction))
}

/// Index of the first action matching `f`, to check ordering (NOTIFICATION before Close).
fn position(actions: &[Action], f: impl Fn(&Action) -> bool) -> usize {
    actions.iter().position(f).expect("the action is present")
}

// ===== start and connect =====

#[test]
fn start_on_an_active_session_connects_and_arms_the_connect_retry_timer() {
    let mut s = Session::new(config());
    let actions = s.handle(Event::Start);
    assert!(actions.contains(&Action::Connect));
    assert_eq!(armed(&actions, Timer::ConnectRetry), Some(CONNECT_RETRY));
    assert_eq!(s.state(), State::Connect);
}

#[test]
fn start_on_a_passive_session_waits_for_the_peer_without_connecting() {
    let mut s = Session::new(SessionConfig {
        passive: true,
        ..config()
    });
    let actions = s.handle(Event::Start);
    assert!(!actions.contains(&Action::Connect));
    assert_eq!(s.state(), State::Active);
    assert!(s.accepts_incoming());
    // The connect retry timer expiring never makes a passive session connect either.
    let actions = s.handle(Event::TimerExpired(Timer::ConnectRetry));
    assert!(!actions.contains(&Action::Connect));
}

#[test]
fn a_failed_connect_is_retried_when_the_connect_retry_timer_expires() {
    let mut s = Session::new(config());
    s.handle(Event::Start);
    s.handle(Event::TcpConnectFailed);
    assert_eq!(s.state(), State::Active);
    let actions = s.handle(Event::TimerExpired(Timer::ConnectRetry));
    assert!(actions.contains(&Action::Connect));
    assert_eq!(armed(&actions, Timer::ConnectRetry), Some(CONNECT_RETRY));
    assert_eq!(s.state(), State::Connect);
}

#[test]
fn a_connected_transport_gets_our_open_and_a_four_minute_hold_timer() {
    let mut s = Session::new(config());
    s.handle(Event::Start);
    let actions = s.handle(connected(OUT));
    let [Message::Open(open)] = sent(&actions, OUT)[..] else {
        panic!("exactly one OPEN expected: {actions:?}");
    };
    assert_eq!(open.version, 4);
    assert_eq!(open.my_as, LOCAL_AS as u16);
    assert_eq!(open.hold_time, 90);
    assert_eq!(open.bgp_identifier, OUR_ID);
    let caps = &open.capabilities;
    assert!(caps.contains(&Capability::FourOctetAs(LOCAL_AS)));
    assert!(caps.contains(&Capability::Multiprotocol(Family::Ipv4Unicast)));
    assert!(caps.contains(&Capability::Multiprotocol(Family::Ipv6Unicast)));
    assert!(caps.contains(&Capability::RouteRefresh));
    // Graceful Restart helper: a restart time, but no family whose forwarding we preserve.
    assert!(caps.contains(&Capability::GracefulRestart {
        restarting: false,
        restart_time: GRACEFUL_RESTART_TIME,
        families: Vec::new(),
    }));
    assert_eq!(
        hold_timer_set(&actions, OUT),
        Some(Duration::from_secs(240))
    );
    assert_eq!(s.state(), State::OpenSent);
}

#[test]
fn our_open_offers_multiprotocol_only_for_the_configured_families() {
    let mut s = Session::new(SessionConfig {
        families: vec![Family::Ipv6Unicast],
        ..config()
    });
    s.handle(Event::Start);
    let actions = s.handle(connected(OUT));
    let [Message::Open(open)] = sent(&actions, OUT)[..] else {
        panic!("exactly one OPEN expected: {actions:?}");
    };
    let mp: Vec<&Capability> = open
        .capabilities
        .iter()
        .filter(|c| matches!(c, Capability::Multiprotocol(_)))
        .collect();
    assert_eq!(mp, [&Capability::Multiprotocol(Family::Ipv6Unicast)]);
}

#[test]
fn a_four_octet_local_as_is_sent_as_as_trans_with_the_real_one_in_the_capability() {
    let mut s = Session::new(SessionConfig {
        local_as: 4_200_000_000,
        ..config()
    });
    s.handle(Event::Start);
    let actions = s.handle(connected(OUT));
    let [Message::Open(open)] = sent(&actions, OUT)[..] else {
        panic!("exactly one OPEN expected: {actions:?}");
    };
    assert_eq!(open.my_as, AS_TRANS);
    assert!(
        open.capabilities
            .contains(&Capability::FourOctetAs(4_200_000_000))
    );
}

#[test]
fn idle_refuses_an_incoming_connection() {
    let mut s = Session::new(config());
    assert!(!s.accepts_incoming());
    let actions = s.handle(connected(IN));
    assert_eq!(actions, [Action::Close(IN)]);
    assert_eq!(s.state(), State::Idle);
}

// ===== OPEN checks =====

#[test]
fn an_open_from_the_wrong_as_is_refused_with_bad_peer_as() {
    let mut s = open_sent(config());
    let actions = s.handle(received(OUT, PeerOpen::new().asn(65099).message()));
    let n = notification_sent(&actions, OUT).expect("a NOTIFICATION is sent");
    assert_eq!(
        (n.code, n.subcode),
        (error_code::OPEN_MESSAGE, open_subcode::BAD_PEER_AS)
    );
    assert!(
        position(&actions, |a| matches!(
            a,
            Action::Send(_, Message::Notification(_))
        )) < position(&actions, |a| *a == Action::Close(OUT)),
        "the NOTIFICATION goes out before the close"
    );
    assert!(!sent(&actions, OUT).contains(&&Message::Keepalive));
    assert_eq!(s.state(), State::Idle);
    assert_eq!(armed(&actions, Timer::IdleHold), Some(CONNECT_RETRY));
    assert_eq!(s.last_error.as_ref().and_then(|e| e.sent), Some(true));
}

#[test]
fn an_open_from_a_four_octet_peer_is_checked_against_the_capability_not_as_trans() {
    let mut s = open_sent(SessionConfig {
        remote_as: 4_200_000_001,
        ..config()
    });
    let actions = s.handle(received(OUT, PeerOpen::new().asn(4_200_000_001).message()));
    assert_eq!(notification_sent(&actions, OUT), None);
    assert_eq!(s.state(), State::OpenConfirm);
}

#[test]
fn an_open_with_no_common_family_is_refused_with_unsupported_capability() {
    let mut s = open_sent(SessionConfig {
        families: vec![Family::Ipv4Unicast],
        ..config()
    });
    let open = PeerOpen::new().families(&[Family::Ipv6Unicast]);
    let actions = s.handle(received(OUT, open.message()));
    let n = notification_sent(&actions, OUT).expect("a NOTIFICATION is sent");
    assert_eq!(
        (n.code, n.subcode),
        (
            error_code::OPEN_MESSAGE,
            open_subcode::UNSUPPORTED_CAPABILITY
        )
    );
    assert!(closed(&actions, OUT));
    assert_eq!(s.state(), State::Idle);
}

#[test]
fn an_acceptable_open_is_answered_with_a_keepalive_and_the_smaller_hold_time() {
    // Ours is 90 s; the peer proposes more, then less.
    for (theirs, hold) in [(180, 90), (30, 30)] {
        let mut s = open_sent(config());
        let actions = s.handle(received(OUT, PeerOpen::new().hold(theirs).message()));
        assert_eq!(sent(&actions, OUT), [&Message::Keepalive]);
        let hold = Duration::from_secs(hold);
        assert_eq!(keepalives_started(&actions, OUT), Some(hold / 3));
        assert_eq!(hold_timer_set(&actions, OUT), Some(hold));
        assert_eq!(s.state(), State::OpenConfirm);
    }
}

#[test]
fn a_zero_hold_time_from_the_peer_disables_keepalives_and_the_hold_timer() {
    let mut s = open_sent(config());
    let actions = s.handle(received(OUT, PeerOpen::new().hold(0).message()));
    assert_eq!(keepalives_started(&actions, OUT), None);
    // The driver reads a zero hold time as "no hold timer".
    assert_eq!(hold_timer_set(&actions, OUT), Some(Duration::ZERO));
    let actions = s.handle(received(OUT, Message::Keepalive));
    let n = established_action(&actions).expect("established");
    assert_eq!(n.hold_time, Duration::ZERO);
    assert_eq!(n.keepalive, Duration::ZERO);
}

#[test]
fn a_keepalive_in_open_confirm_establishes_with_what_both_sides_agreed() {
    let mut s = open_sent(config());
    let open = PeerOpen::new().families(&[Family::Ipv4Unicast]).hold(60);
    let actions = s.handle(received(OUT, open.message()));
    assert!(actions.contains(&Action::SetContext(
        OUT,
        Context {
            four_octet_as: true
        }
    )));
    let actions = s.handle(received(OUT, Message::Keepalive));
    let n = established_action(&actions).expect("established");
    assert_eq!(n.remote_as, PEER_AS);
    assert_eq!(n.remote_id, PEER_ID);
    assert_eq!(n.families, [Family::Ipv4Unicast]);
    assert!(n.context.four_octet_as);
    assert!(n.route_refresh);
    assert_eq!(n.hold_time, Duration::from_secs(60));
    assert_eq!(n.keepalive, Duration::from_secs(20));
    assert_eq!(n.peer_restart_time, None);
    assert_eq!(n.local_addr, LOCAL_ADDR);
    assert_eq!(n.direction, OUT);
    assert!(actions.contains(&Action::CancelTimer(Timer::ConnectRetry)));
    assert_eq!(armed(&actions, Timer::ErrorForget), Some(ERROR_FORGET_TIME));
    assert_eq!(s.state(), State::Established);
    assert!(s.is_established());
    assert_eq!(s.negotiated(), Some(&n));
}

#[test]
fn a_peer_without_the_four_octet_capability_gets_a_two_octet_context() {
    let mut s = open_sent(config());
    let actions = s.handle(received(
        OUT,
        PeerOpen::new().without_four_octet_as().message(),
    ));
    assert!(actions.contains(&Action::SetContext(
        OUT,
        Context {
            four_octet_as: false
        }
    )));
    let actions = s.handle(received(OUT, Message::Keepalive));
    let n = established_action(&actions).expect("established");
    assert!(!n.context.four_octet_as);
    assert_eq!(n.remote_as, PEER_AS);
}

#[test]
fn a_peer_without_multiprotocol_capabilities_gets_ipv4_unicast_only() {
    let (_, n) = established_with(PeerOpen::new().families(&[]));
    assert_eq!(n.families, [Family::Ipv4Unicast]);
}

// ===== errors =====

#[test]
fn an_update_in_open_sent_is_a_finite_state_machine_error() {
    let mut s = open_sent(config());
    let actions = s.handle(received(OUT, Message::Update(Update::default())));
    let n = notification_sent(&actions, OUT).expect("a NOTIFICATION is sent");
    assert_eq!(
        (n.code, n.subcode),
        (error_code::FSM, fsm_subcode::UNEXPECTED_IN_OPENSENT)
    );
    assert!(closed(&actions, OUT));
    assert_eq!(s.state(), State::Idle);
}

#[test]
fn an_open_in_established_is_a_finite_state_machine_error() {
    let mut s = established();
    let actions = s.handle(received(OUT, PeerOpen::new().message()));
    let n = notification_sent(&actions, OUT).expect("a NOTIFICATION is sent");
    assert_eq!(
        (n.code, n.subcode),
        (error_code::FSM, fsm_subcode::UNEXPECTED_IN_ESTABLISHED)
    );
    assert_eq!(went_down(&actions), Some(None));
}

#[test]
fn hold_timer_expiry_sends_hold_timer_expired_and_takes_the_session_down() {
    let mut s = established();
    let actions = s.handle(Event::TimerExpired(Timer::Hold(OUT)));
    let n = notification_sent(&actions, OUT).expect("a NOTIFICATION is sent");
    assert_eq!(n.code, error_code::HOLD_TIMER_EXPIRED);
    assert!(closed(&actions, OUT));
    assert_eq!(went_down(&actions), Some(None));
    assert_eq!(s.state(), State::Idle);
    assert!(!s.is_established());
    assert_eq!(armed(&actions, Timer::IdleHold), Some(CONNECT_RETRY));
}

#[test]
fn a_received_notification_takes_the_session_down_to_idle_with_backoff() {
    let mut s = established();
    let cease = Notification::new(error_code::CEASE, cease_subcode::ADMINISTRATIVE_RESET);
    let actions = s.handle(received(OUT, Message::Notification(cease)));
    assert_eq!(
        notification_sent(&actions, OUT),
        None,
        "no NOTIFICATION in reply"
    );
    assert!(closed(&actions, OUT));
    assert_eq!(went_down(&actions), Some(None));
    assert_eq!(s.state(), State::Idle);
    assert_eq!(armed(&actions, Timer::IdleHold), Some(CONNECT_RETRY));
    assert_eq!(s.last_error.as_ref().and_then(|e| e.sent), Some(false));
    // The idle hold timer brings it back.
    let actions = s.handle(Event::TimerExpired(Timer::IdleHold));
    assert!(actions.contains(&Action::Connect));
    assert_eq!(s.state(), State::Connect);
}

/// Takes a started session through one failed attempt (OPEN from the wrong AS) and returns
/// the idle hold time it then asks for; leaves the session reconnecting.
fn fail_once(s: &mut Session) -> Duration {
    s.handle(connected(OUT));
    let actions = s.handle(received(OUT, PeerOpen::new().asn(65099).message()));
    let idle_hold = armed(&actions, Timer::IdleHold).expect("idle hold armed");
    let actions = s.handle(Event::TimerExpired(Timer::IdleHold));
    assert!(actions.contains(&Action::Connect));
    idle_hold
}

#[test]
fn the_idle_hold_time_doubles_after_each_consecutive_error_up_to_two_minutes() {
    let mut s = Session::new(config());
    s.handle(Event::Start);
    let holds: Vec<u64> = (0..7).map(|_| fail_once(&mut s).as_secs()).collect();
    assert_eq!(holds, [10, 20, 40, 80, 120, 120, 120]);
}

#[test]
fn errors_are_forgotten_once_the_session_has_stayed_established() {
    let mut s = Session::new(config());
    s.handle(Event::Start);
    for _ in 0..3 {
        fail_once(&mut s);
    }
    let establish = |s: &mut Session| {
        s.handle(connected(OUT));
        s.handle(received(OUT, PeerOpen::new().message()));
        s.handle(received(OUT, Message::Keepalive));
        assert!(s.is_established());
    };
    let drop = |s: &mut Session| {
        let actions = s.handle(Event::TcpClosed(OUT));
        s.handle(Event::TimerExpired(Timer::IdleHold));
        armed(&actions, Timer::IdleHold).expect("idle hold armed")
    };

    // Up briefly: the backoff keeps growing.
    establish(&mut s);
    assert_eq!(drop(&mut s), Duration::from_secs(80));

    // Up long enough for ErrorForget: back to the base.
    establish(&mut s);
    s.handle(Event::TimerExpired(Timer::ErrorForget));
    assert_eq!(drop(&mut s), CONNECT_RETRY);
}

#[test]
fn error_forget_firing_outside_established_keeps_the_backoff() {
    let mut s = Session::new(config());
    s.handle(Event::Start);
    fail_once(&mut s);
    s.handle(Event::TimerExpired(Timer::ErrorForget));
    assert_eq!(fail_once(&mut s), Duration::from_secs(20));
}

#[test]
fn a_configured_error_wait_starts_at_its_minimum_and_doubles_up_to_its_maximum() {
    let mut s = Session::new(SessionConfig {
        error_wait: Some(ErrorWait {
            min: Duration::from_secs(3),
            max: Duration::from_secs(20),
        }),
        ..config()
    });
    s.handle(Event::Start);
    let holds: Vec<u64> = (0..5).map(|_| fail_once(&mut s).as_secs()).collect();
    assert_eq!(holds, [3, 6, 12, 20, 20]);
}

/// Fails `n` times and leaves the session Idle, waiting out its backoff.
fn idle_in_backoff(s: &mut Session, n: usize) -> Duration {
    s.handle(Event::Start);
    for _ in 0..n {
        fail_once(s);
    }
    s.handle(connected(OUT));
    let actions = s.handle(received(OUT, PeerOpen::new().asn(65099).message()));
    assert_eq!(s.state(), State::Idle);
    armed(&actions, Timer::IdleHold).expect("idle hold armed")
}

#[test]
fn a_configuration_change_ends_the_idle_hold_backoff_at_once() {
    let mut s = Session::new(config());
    assert_eq!(idle_in_backoff(&mut s, 4), Duration::from_secs(120));
    let actions = s.end_backoff();
    assert!(actions.contains(&Action::CancelTimer(Timer::IdleHold)));
    assert!(
        actions.contains(&Action::Connect),
        "reconnects at once: {actions:?}"
    );
    assert_eq!(s.state(), State::Connect);
    // And the error count started over: the next failure waits the minimum again.
    assert_eq!(fail_once(&mut s), CONNECT_RETRY);
}

#[test]
fn ending_the_backoff_leaves_a_session_that_is_not_waiting_alone() {
    let mut s = established();
    assert!(s.end_backoff().is_empty());
    assert!(s.is_established());
    let mut stopped = Session::new(config());
    assert!(
        stopped.end_backoff().is_empty(),
        "administratively down stays down"
    );
    assert_eq!(stopped.state(), State::Idle);
}

#[test]
fn a_restart_for_a_configuration_change_sends_the_cease_and_reconnects_without_backoff() {
    let mut s = established();
    let n = Notification::new(error_code::CEASE, cease_subcode::OTHER_CONFIGURATION_CHANGE);
    let actions = s.restart(n.clone());
    assert_eq!(notification_sent(&actions, OUT), Some(&n));
    assert!(closed(&actions, OUT));
    assert_eq!(went_down(&actions), Some(None));
    assert_eq!(
        armed(&actions, Timer::IdleHold),
        None,
        "no backoff: {actions:?}"
    );
    assert!(
        position(&actions, |a| matches!(a, Action::Close(OUT)))
            < position(&actions, |a| *a == Action::Connect),
        "the old connection closes before the new one is opened: {actions:?}"
    );
    assert_eq!(s.state(), State::Connect);
}

// ===== connection collision (§6.8) =====

/// Both connections in OpenSent, then the peer's OPEN (with identifier `peer_id`) arrives on
/// `on`. Returns the actions of that OPEN.
fn collide(our_id: Ipv4Addr, peer_id: Ipv4Addr, on: Direction) -> (Session, Vec<Action>) {
    let mut s = Session::new(SessionConfig {
        router_id: our_id,
        ..config()
    });
    s.handle(Event::Start);
    s.handle(connected(OUT));
    let actions = s.handle(connected(IN));
    assert_eq!(
        sent(&actions, IN).len(),
        1,
        "our OPEN on the incoming one too"
    );
    let actions = s.handle(received(on, PeerOpen::new().id(peer_id).message()));
    (s, actions)
}

fn assert_collision_loser(actions: &[Action], loser: Direction) {
    let n = notification_sent(actions, loser).expect("the loser gets a NOTIFICATION");
    assert_eq!(
        (n.code, n.subcode),
        (
            error_code::CEASE,
            cease_subcode::CONNECTION_COLLISION_RESOLUTION
        )
    );
    assert!(closed(actions, loser));
    let winner = loser.other();
    assert_eq!(notification_sent(actions, winner), None);
    assert!(!closed(actions, winner));
}

#[test]
fn on_collision_our_connection_survives_when_our_identifier_is_higher() {
    let ours = Ipv4Addr::new(10, 0, 0, 200);
    let theirs = Ipv4Addr::new(10, 0, 0, 100);

    // The OPEN arrives on the connection we opened: it goes on, the peer's is closed.
    let (s, actions) = collide(ours, theirs, OUT);
    assert_collision_loser(&actions, IN);
    assert_eq!(sent(&actions, OUT), [&Message::Keepalive]);
    assert_eq!(s.state(), State::OpenConfirm);

    // The OPEN arrives on the peer's connection: that one is closed, ours waits for its OPEN.
    let (mut s, actions) = collide(ours, theirs, IN);
    assert_collision_loser(&actions, IN);
    assert_eq!(s.state(), State::OpenSent);
    s.handle(received(OUT, PeerOpen::new().id(theirs).message()));
    let actions = s.handle(received(OUT, Message::Keepalive));
    assert_eq!(established_action(&actions).map(|n| n.direction), Some(OUT));
}

#[test]
fn on_collision_the_peers_connection_survives_when_its_identifier_is_higher() {
    let ours = Ipv4Addr::new(10, 0, 0, 100);
    let theirs = Ipv4Addr::new(10, 0, 0, 200);

    // The OPEN arrives on the peer's connection: it goes on, ours is closed.
    let (s, actions) = collide(ours, theirs, IN);
    assert_collision_loser(&actions, OUT);
    assert_eq!(sent(&actions, IN), [&Message::Keepalive]);
    assert_eq!(s.state(), State::OpenConfirm);

    // The OPEN arrives on ours: ours is closed, the peer's waits for its OPEN.
    let (mut s, actions) = collide(ours, theirs, OUT);
    assert_collision_loser(&actions, OUT);
    assert_eq!(s.state(), State::OpenSent);
    s.handle(received(IN, PeerOpen::new().id(theirs).message()));
    let actions = s.handle(received(IN, Message::Keepalive));
    assert_eq!(established_action(&actions).map(|n| n.direction), Some(IN));
}

#[test]
fn a_collision_does_not_send_the_session_to_idle() {
    let (s, actions) = collide(
        Ipv4Addr::new(10, 0, 0, 200),
        Ipv4Addr::new(10, 0, 0, 100),
        IN,
    );
    assert_eq!(armed(&actions, Timer::IdleHold), None);
    assert_ne!(s.state(), State::Idle);
}

#[test]
fn an_incoming_connection_while_established_is_closed() {
    let mut s = established();
    let actions = s.handle(connected(IN));
    assert_eq!(actions, [Action::Close(IN)]);
    assert!(s.is_established());
}

// ===== stop =====

#[test]
fn stop_sends_cease_with_the_shutdown_communication_and_stays_idle_until_start() {
    let mut s = established();
    let cease = Notification::cease_with_communication(
        cease_subcode::ADMINISTRATIVE_SHUTDOWN,
        "maintenance CHG0042",
    );
    let actions = s.handle(Event::Stop(cease));
    let n = notification_sent(&actions, OUT).expect("a NOTIFICATION is sent");
    assert_eq!(
        (n.code, n.subcode),
        (error_code::CEASE, cease_subcode::ADMINISTRATIVE_SHUTDOWN)
    );
    assert_eq!(
        n.shutdown_communication().as_deref(),
        Some("maintenance CHG0042")
    );
    assert!(closed(&actions, OUT));
    assert_eq!(went_down(&actions), Some(None));
    assert_eq!(armed(&actions, Timer::IdleHold), None);
    assert_eq!(s.state(), State::Idle);

    // Nothing brings it back but Start.
    for timer in [Timer::IdleHold, Timer::ConnectRetry] {
        let actions = s.handle(Event::TimerExpired(timer));
        assert!(!actions.contains(&Action::Connect), "{timer:?}");
    }
    assert_eq!(s.handle(connected(IN)), [Action::Close(IN)]);
    assert_eq!(s.state(), State::Idle);

    let actions = s.handle(Event::Start);
    assert!(actions.contains(&Action::Connect));
    assert_eq!(s.state(), State::Connect);
}

// ===== graceful restart helper (RFC 4724) =====

#[test]
fn a_graceful_restart_peer_losing_its_transport_keeps_its_routes_for_the_restart_time() {
    let (mut s, n) = established_with(PeerOpen::new().graceful_restart(90));
    assert_eq!(n.peer_restart_time, Some(Duration::from_secs(90)));
    let actions = s.handle(Event::TcpClosed(OUT));
    assert_eq!(went_down(&actions), Some(Some(Duration::from_secs(90))));
}

#[test]
fn a_notification_from_a_graceful_restart_peer_withdraws_its_routes_at_once() {
    let (mut s, _) = established_with(PeerOpen::new().graceful_restart(90));
    let cease = Notification::new(error_code::CEASE, cease_subcode::ADMINISTRATIVE_RESET);
    let actions = s.handle(received(OUT, Message::Notification(cease)));
    assert_eq!(went_down(&actions), Some(None));
}

#[test]
fn a_peer_without_graceful_restart_losing_its_transport_withdraws_at_once() {
    let mut s = established();
    let actions = s.handle(Event::TcpClosed(OUT));
    assert_eq!(went_down(&actions), Some(None));
}

#[test]
fn a_new_connection_from_a_graceful_restart_peer_ends_the_old_session_gracefully() {
    let (mut s, _) = established_with(PeerOpen::new().graceful_restart(90));
    let actions = s.handle(connected(IN));
    assert!(closed(&actions, OUT));
    assert_eq!(notification_sent(&actions, OUT), None);
    assert_eq!(went_down(&actions), Some(Some(Duration::from_secs(90))));
    // Our OPEN goes out on the new connection.
    assert!(matches!(sent(&actions, IN)[..], [Message::Open(_)]));
    assert_eq!(s.state(), State::OpenSent);
}

#[test]
fn hold_timer_expiry_on_a_graceful_restart_peer_withdraws_its_routes_at_once() {
    // We send a NOTIFICATION, which ends graceful restart (RFC 4724 §4).
    let (mut s, _) = established_with(PeerOpen::new().graceful_restart(90));
    let actions = s.handle(Event::TimerExpired(Timer::Hold(OUT)));
    assert_eq!(
        notification_sent(&actions, OUT).map(|n| n.code),
        Some(error_code::HOLD_TIMER_EXPIRED)
    );
    assert_eq!(went_down(&actions), Some(None));
}

#[test]
fn a_connection_closed_before_the_peers_open_goes_back_to_active_without_backoff() {
    // §8.2.2 OpenSent + TcpConnectionFails → Active: a peer whose listener is not ready
    // for us yet is no reason to back off.
    let mut s = Session::new(config());
    s.handle(Event::Start);
    for _ in 0..5 {
        s.handle(connected(OUT));
        assert_eq!(s.state(), State::OpenSent);
        let actions = s.handle(Event::TcpClosed(OUT));
        assert_eq!(s.state(), State::Active);
        assert_eq!(armed(&actions, Timer::ConnectRetry), Some(CONNECT_RETRY));
        assert_eq!(armed(&actions, Timer::IdleHold), None);
        let actions = s.handle(Event::TimerExpired(Timer::ConnectRetry));
        assert!(actions.contains(&Action::Connect), "{actions:?}");
    }
    assert!(
        s.last_error
            .as_ref()
            .is_some_and(|e| e.text.contains("before its OPEN"))
    );
}

#[test]
fn bfd_coming_back_up_ends_the_idle_hold_backoff() {
    let mut s = Session::new(config());
    s.handle(Event::Start);
    for _ in 0..3 {
        fail_once(&mut s);
    }
    // A failure leaves the session waiting out a long idle hold…
    s.handle(connected(OUT));
    let actions = s.handle(received(OUT, PeerOpen::new().asn(65099).message()));
    assert!(armed(&actions, Timer::IdleHold).is_some_and(|d| d > CONNECT_RETRY));
    assert_eq!(s.state(), State::Idle);
    // …until BFD reports the path up again.
    let actions = s.handle(Event::BfdUp);
    assert!(actions.contains(&Action::Connect), "{actions:?}");
    assert!(actions.contains(&Action::CancelTimer(Timer::IdleHold)));
    assert_eq!(s.state(), State::Connect);
    // Nothing happens when the session is not idle.
    assert!(s.handle(Event::BfdUp).is_empty());
}
