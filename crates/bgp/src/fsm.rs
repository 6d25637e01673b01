//! The BGP session state machine (RFC 4271 §8), one per configured peer.
//!
//! A session owns up to two transport connections at once: the one it opened (outgoing) and
//! the one the peer opened (incoming). Both run the OPEN exchange on their own; connection
//! collision detection (§6.8) keeps one of them. The session state reported to users is that
//! of its most advanced connection, or Idle / Connect / Active when it has none.
//!
//! Timers are inputs. The session asks for them with [`Action::ArmTimer`] and learns of their
//! expiry through [`Event::TimerExpired`]. Two per-connection timers are run by the transport
//! driver itself, so that bulk route processing can never delay them:
//! - [`Action::StartKeepalives`]: the driver sends a KEEPALIVE every `interval` (§4.4);
//! - [`Action::SetHoldTimer`]: the driver restarts the hold timer on every message it
//!   receives and reports [`Event::TimerExpired`] with [`Timer::Hold`] when it runs out.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::wire::{
    AS_TRANS, Capability, Context, DecodeError, Family, Message, Notification, Open, cease_subcode,
    error_code, fsm_subcode, open_subcode,
};

/// Large hold time used while waiting for the peer's OPEN (RFC 4271 §8.2.2 suggests 4 min).
pub const OPEN_HOLD_TIME: Duration = Duration::from_secs(240);
/// Ceiling of the exponential idle-hold backoff after errors, unless configured
/// ([`ErrorWait`]).
pub const MAX_IDLE_HOLD: Duration = Duration::from_secs(120);
/// How long a session must stay Established before earlier errors are forgotten and the
/// backoff starts again from its base.
pub const ERROR_FORGET_TIME: Duration = Duration::from_secs(60);
/// Restart time we advertise as a Graceful Restart helper (RFC 4724 §3).
pub const GRACEFUL_RESTART_TIME: u16 = 120;

// ===== types =====

/// Session state (RFC 4271 §8.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum State {
    Idle,
    Connect,
    Active,
    OpenSent,
    OpenConfirm,
    Established,
}

/// Which side opened a transport connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Outgoing = 0,
    Incoming = 1,
}

impl Direction {
    fn index(self) -> usize {
        self as usize
    }
    fn other(self) -> Direction {
        match self {
            Direction::Outgoing => Direction::Incoming,
            Direction::Incoming => Direction::Outgoing,
        }
    }
}

/// Session-level timers (per-connection ones are run by the driver, see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// ConnectRetryTimer (§8.1.3): time to try the outgoing connection again.
    ConnectRetry,
    /// IdleHoldTimer (§8.1.1, DampPeerOscillations): time to leave Idle after an error.
    IdleHold,
    /// Forget earlier errors once the session has been up for [`ERROR_FORGET_TIME`].
    ErrorForget,
    /// HoldTimer of one connection, reported by the driver.
    Hold(Direction),
    /// Run by the speaker: a restarting peer's stale routes are purged when it fires
    /// (RFC 4724 §4.2).
    GracefulRestart,
}

/// What a session is configured to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    pub local_as: u32,
    pub router_id: Ipv4Addr,
    pub remote_as: u32,
    /// Our proposed hold time; 0 disables keepalives and the hold timer.
    pub hold_time: Duration,
    pub connect_retry: Duration,
    /// Only accept connections, never open one.
    pub passive: bool,
    /// Address families we offer (Multiprotocol capability, RFC 4760 §8).
    pub families: Vec<Family>,
    /// The idle-hold backoff after errors; `None`: `connect_retry` doubling up to
    /// [`MAX_IDLE_HOLD`].
    pub error_wait: Option<ErrorWait>,
}

/// The idle-hold backoff after errors (RFC 4271 §8.1.1 DampPeerOscillations; BIRD's `error
/// wait time MIN, MAX`, GoBGP's `idle-hold-time-after-reset`): the first wait after an error
/// is `min`, each further consecutive error doubles it, up to `max`. Errors are forgotten
/// once a session has stayed Established for [`ERROR_FORGET_TIME`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorWait {
    pub min: Duration,
    pub max: Duration,
}

impl SessionConfig {
    /// The configured backoff, or the default one.
    pub fn error_wait(&self) -> ErrorWait {
        self.error_wait.unwrap_or(ErrorWait {
            min: self.connect_retry,
            max: MAX_IDLE_HOLD.max(self.connect_retry),
        })
    }

    /// The same configuration with the settings that only shape the next connection attempt
    /// (connect retry, passive, error wait) cleared: two configurations equal here can be
    /// swapped without touching a running session.
    pub fn session_part(&self) -> SessionConfig {
        SessionConfig {
            connect_retry: Duration::ZERO,
            passive: false,
            error_wait: None,
            ..self.clone()
        }
    }
}

/// What both sides agreed on in their OPENs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    pub remote_as: u32,
    pub remote_id: Ipv4Addr,
    pub hold_time: Duration,
    pub keepalive: Duration,
    pub families: Vec<Family>,
    pub context: Context,
    pub route_refresh: bool,
    /// The peer's Graceful Restart capability, when it sent one listing at least one of the
    /// negotiated families: its restart time.
    pub peer_restart_time: Option<Duration>,
    /// The negotiated families the peer's Graceful Restart capability lists: only their
    /// routes are kept while it restarts (RFC 4724 §4.2).
    pub graceful_families: Vec<Family>,
    /// Our address on this connection.
    pub local_addr: IpAddr,
    pub direction: Direction,
}

/// Facts the session reacts to.
// A decoded message is moved once from the reader to the session; boxing it would cost an
// allocation per UPDATE for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Event {
    /// ManualStart / AutomaticStart (§8.1.2).
    Start,
    /// ManualStop: close with Cease (the given notification) and stay Idle until Start.
    Stop(Notification),
    /// The outgoing connection, or an incoming one the driver accepted, is up.
    /// `local_addr` is our address on it (next-hop-self uses it).
    TcpConnected {
        direction: Direction,
        local_addr: IpAddr,
    },
    /// The outgoing connect attempt failed (TcpConnectionFails).
    TcpConnectFailed,
    /// A connection closed under us (TcpConnectionFails while connected).
    TcpClosed(Direction),
    /// BFD declared the path to the peer down (RFC 5882 §4.3): the Established session ends
    /// at once, without waiting for the hold timer.
    BfdDown,
    /// BFD sees the path to the peer up again: a session waiting out its idle-hold backoff
    /// tries at once (the backoff damps flapping paths, and this one is back).
    BfdUp,
    MessageReceived(Direction, Message),
    /// The driver could not decode a message: send its NOTIFICATION and close.
    DecodeFailed(Direction, DecodeError),
    TimerExpired(Timer),
}

/// Commands for the driver and for the speaker above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open the outgoing connection.
    Connect,
    /// Send a message on a connection.
    Send(Direction, Message),
    /// Close a connection once everything queued on it has been written.
    Close(Direction),
    /// The context the driver must decode this connection's messages with from now on.
    SetContext(Direction, Context),
    ArmTimer(Timer, Duration),
    CancelTimer(Timer),
    StartKeepalives(Direction, Duration),
    SetHoldTimer(Direction, Duration),
    /// The session reached Established on this connection.
    Established(Box<Negotiated>),
    /// The Established session ended: withdraw its routes. `graceful` when the peer may be
    /// restarting (RFC 4724 helper): its routes are kept as stale for `restart_time`.
    Down {
        reason: String,
        graceful: Option<Duration>,
    },
    /// An UPDATE or ROUTE-REFRESH on the Established connection, for the speaker.
    Deliver(Message),
}

/// Why the session last left Established or failed to get there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastError {
    pub text: String,
    /// Whether it was a NOTIFICATION we sent (true) or received (false); None for transport.
    pub sent: Option<bool>,
}

#[derive(Debug, Clone)]
struct Connection {
    state: State,
    local_addr: IpAddr,
    /// The peer's OPEN, once received.
    open: Option<Open>,
}

/// One peer's session.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    /// The "base" state when no connection is past Connect: Idle, Connect or Active.
    base: State,
    conns: [Option<Connection>; 2],
    /// Whether the outgoing connect attempt is in progress.
    connecting: bool,
    /// Which connection is Established, if any.
    established: Option<Direction>,
    negotiated: Option<Negotiated>,
    /// ManualStop holds the session Idle until Start.
    admin_down: bool,
    /// Consecutive errors, for the idle-hold backoff.
    errors: u32,
    pub last_error: Option<LastError>,
}

// ===== impl Session =====

impl Session {
    pub fn new(config: SessionConfig) -> Session {
        Session {
            config,
            base: State::Idle,
            conns: [None, None],
            connecting: false,
            established: None,
            negotiated: None,
            admin_down: true,
            errors: 0,
            last_error: None,
        }
    }

    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Replaces settings that apply to the next connection without disturbing this one
    /// (connect retry, passive). The caller resets the session for anything else.
    pub fn set_config(&mut self, config: SessionConfig) {
        self.config = config;
    }

    /// The state users see: that of the most advanced connection.
    pub fn state(&self) -> State {
        self.conns
            .iter()
            .flatten()
            .map(|c| c.state)
            .max()
            .unwrap_or(self.base)
            .max(self.base)
    }

    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    pub fn is_established(&self) -> bool {
        self.established.is_some()
    }

    /// Administratively down (ManualStop): the session is not expected to come up.
    pub fn is_admin_down(&self) -> bool {
        self.admin_down
    }

    /// Whether an incoming connection would be accepted now (§8.2.2: Idle refuses all).
    pub fn accepts_incoming(&self) -> bool {
        !self.admin_down
            && self.base != State::Idle
            && self.conns[Direction::Incoming.index()].is_none()
    }

    pub fn handle(&mut self, event: Event) -> Vec<Action> {
        let mut out = Vec::new();
        match event {
            Event::Start => self.start(&mut out),
            Event::Stop(notification) => {
                self.admin_down = true;
                self.errors = 0;
                self.record(notification.to_string(), Some(true));
                self.teardown_all(Some(notification), None, &mut out);
                self.base = State::Idle;
                out.push(Action::CancelTimer(Timer::ConnectRetry));
                out.push(Action::CancelTimer(Timer::IdleHold));
            }
            Event::TcpConnected {
                direction,
                local_addr,
            } => self.tcp_connected(direction, local_addr, &mut out),
            Event::TcpConnectFailed => {
                self.connecting = false;
                // §8.2.2 Connect state: TcpConnectionFails → Active, ConnectRetryTimer running.
                if self.base == State::Connect {
                    self.base = State::Active;
                }
            }
            Event::TcpClosed(direction) => {
                let before_open = self.conns[direction.index()]
                    .as_ref()
                    .is_some_and(|c| c.state == State::OpenSent);
                if before_open {
                    // §8.2.2 OpenSent: TcpConnectionFails → Active with the ConnectRetryTimer
                    // running, not an error: a peer that is not ready for us yet (e.g. its
                    // listener does not know us) must not push the session into backoff.
                    self.record("connection closed by peer before its OPEN".into(), None);
                    self.drop_connection(direction, None, None, &mut out);
                    if self.conns.iter().all(Option::is_none) && !self.admin_down {
                        self.base = State::Active;
                        out.push(Action::ArmTimer(
                            Timer::ConnectRetry,
                            self.config.connect_retry,
                        ));
                    }
                } else if self.conns[direction.index()].is_some() {
                    let graceful = self.graceful_for(direction);
                    self.record("connection closed by peer".into(), None);
                    self.drop_connection(direction, None, graceful, &mut out);
                    self.after_connection_loss(true, &mut out);
                }
            }
            Event::BfdDown => {
                if let Some(direction) = self.established {
                    // The path is gone: no NOTIFICATION could arrive, and the peer's routes
                    // are withdrawn now (not kept for a graceful restart).
                    self.record("BFD: path to the neighbor down".into(), None);
                    self.drop_connection(direction, None, None, &mut out);
                    self.after_connection_loss(true, &mut out);
                }
            }
            Event::BfdUp => {
                if self.base == State::Idle
                    && !self.admin_down
                    && self.conns.iter().all(Option::is_none)
                {
                    out.push(Action::CancelTimer(Timer::IdleHold));
                    self.leave_idle(&mut out);
                }
            }
            Event::MessageReceived(direction, message) => {
                if self.conns[direction.index()].is_some() {
                    self.message(direction, message, &mut out);
                }
            }
            Event::DecodeFailed(direction, error) => {
                if self.conns[direction.index()].is_some() {
                    self.record(format!("sent {}", error), Some(true));
                    self.drop_connection(direction, Some(error.notification), None, &mut out);
                    self.after_connection_loss(true, &mut out);
                }
            }
            Event::TimerExpired(timer) => self.timer(timer, &mut out),
        }
        out
    }

    // ----- start, connect, timers -----

    fn start(&mut self, out: &mut Vec<Action>) {
        if !self.admin_down && self.base != State::Idle {
            return;
        }
        self.admin_down = false;
        self.leave_idle(out);
    }

    /// Idle → Connect (active) or Active (passive), §8.2.2.
    fn leave_idle(&mut self, out: &mut Vec<Action>) {
        if self.config.passive {
            self.base = State::Active;
        } else {
            self.base = State::Connect;
            self.connecting = true;
            out.push(Action::Connect);
        }
        out.push(Action::ArmTimer(
            Timer::ConnectRetry,
            self.config.connect_retry,
        ));
    }

    fn timer(&mut self, timer: Timer, out: &mut Vec<Action>) {
        match timer {
            Timer::ConnectRetry => {
                if self.admin_down || self.base == State::Idle {
                    return;
                }
                out.push(Action::ArmTimer(
                    Timer::ConnectRetry,
                    self.config.connect_retry,
                ));
                // §8.2.2: in Connect/Active, ConnectRetryTimer_Expires → (re)connect. We
                // try again only while no outgoing connection exists or is being made.
                if !self.config.passive
                    && !self.connecting
                    && self.conns[Direction::Outgoing.index()].is_none()
                    && self.established.is_none()
                {
                    self.base = State::Connect;
                    self.connecting = true;
                    out.push(Action::Connect);
                }
            }
            Timer::IdleHold => {
                if !self.admin_down && self.base == State::Idle {
                    self.leave_idle(out);
                }
            }
            Timer::ErrorForget => {
                if self.established.is_some() {
                    self.errors = 0;
                }
            }
            Timer::GracefulRestart => {}
            Timer::Hold(direction) => {
                if self.conns[direction.index()].is_some() {
                    // We send a NOTIFICATION: an ordinary teardown, routes withdrawn at once
                    // (RFC 4724 §4; only RFC 8538's N-bit would keep them).
                    let n = Notification::new(error_code::HOLD_TIMER_EXPIRED, 0);
                    self.record(format!("sent {n}"), Some(true));
                    self.drop_connection(direction, Some(n), None, out);
                    self.after_connection_loss(true, out);
                }
            }
        }
    }

    // ----- connections -----

    fn tcp_connected(&mut self, direction: Direction, local_addr: IpAddr, out: &mut Vec<Action>) {
        if direction == Direction::Outgoing {
            self.connecting = false;
        }
        if let Some(established) = self.established
            && direction == Direction::Incoming
        {
            // RFC 4724 §4.2: a new connection from a peer that can restart gracefully means
            // it restarted; the old session ends with its routes kept as stale. Otherwise
            // §6.8: a connection colliding with an Established one is closed.
            match self.graceful_for(established) {
                Some(restart) => {
                    self.record("peer restarted (new connection)".into(), None);
                    self.drop_connection(established, None, Some(restart), out);
                }
                None => {
                    out.push(Action::Close(direction));
                    return;
                }
            }
        }
        let refuse =
            self.admin_down || self.base == State::Idle || self.conns[direction.index()].is_some();
        if refuse {
            // §8.2.2 Idle: "refuses all incoming BGP connections". The driver closes a
            // connection we never adopted.
            out.push(Action::Close(direction));
            return;
        }
        self.conns[direction.index()] = Some(Connection {
            state: State::OpenSent,
            local_addr,
            open: None,
        });
        out.push(Action::Send(direction, Message::Open(self.our_open())));
        out.push(Action::SetHoldTimer(direction, OPEN_HOLD_TIME));
    }

    /// The OPEN we send: four-octet AS, route refresh, multiprotocol per family, and
    /// Graceful Restart as a helper (no families: we do not preserve forwarding, RFC 4724 §3).
    pub fn our_open(&self) -> Open {
        let my_as = u16::try_from(self.config.local_as).unwrap_or(AS_TRANS);
        let mut capabilities: Vec<Capability> = self
            .config
            .families
            .iter()
            .map(|&f| Capability::Multiprotocol(f))
            .collect();
        capabilities.push(Capability::RouteRefresh);
        capabilities.push(Capability::GracefulRestart {
            restarting: false,
            restart_time: GRACEFUL_RESTART_TIME,
            families: Vec::new(),
        });
        capabilities.push(Capability::FourOctetAs(self.config.local_as));
        Open {
            version: 4,
            my_as,
            hold_time: u16::try_from(self.config.hold_time.as_secs()).unwrap_or(u16::MAX),
            bgp_identifier: self.config.router_id,
            capabilities,
        }
    }

    fn message(&mut self, direction: Direction, message: Message, out: &mut Vec<Action>) {
        let Some(state) = self.conns[direction.index()].as_ref().map(|c| c.state) else {
            return;
        };
        match (state, message) {
            (_, Message::Notification(n)) => {
                // §8.2.2: NotifMsg in any state → close, Idle. RFC 4724 §4: a NOTIFICATION
                // ends graceful restart, so routes are withdrawn at once.
                self.record(format!("received {n}"), Some(false));
                self.drop_connection(direction, None, None, out);
                let error = n.code != error_code::CEASE
                    || n.subcode != cease_subcode::CONNECTION_COLLISION_RESOLUTION;
                self.after_connection_loss(error, out);
            }
            (State::OpenSent, Message::Open(open)) => self.open_received(direction, open, out),
            (State::OpenConfirm, Message::Keepalive) => self.establish(direction, out),
            (State::Established, Message::Keepalive) => {}
            (State::Established, m @ (Message::Update(_) | Message::RouteRefresh(_))) => {
                out.push(Action::Deliver(m));
            }
            (state, other) => {
                // §8.2.2: any other message is an FSM error (RFC 6608 subcodes).
                let subcode = match state {
                    State::OpenSent => fsm_subcode::UNEXPECTED_IN_OPENSENT,
                    State::OpenConfirm => fsm_subcode::UNEXPECTED_IN_OPENCONFIRM,
                    State::Established => fsm_subcode::UNEXPECTED_IN_ESTABLISHED,
                    _ => fsm_subcode::UNSPECIFIED,
                };
                let n = Notification::new(error_code::FSM, subcode);
                self.record(
                    format!("sent {n} (unexpected {})", kind(&other)),
                    Some(true),
                );
                self.drop_connection(direction, Some(n), None, out);
                self.after_connection_loss(true, out);
            }
        }
    }

    fn open_received(&mut self, direction: Direction, open: Open, out: &mut Vec<Action>) {
        if let Err(n) = self.check_open(&open) {
            self.record(format!("sent {n}"), Some(true));
            self.drop_connection(direction, Some(n), None, out);
            self.after_connection_loss(true, out);
            return;
        }
        // §6.8 connection collision detection.
        let other = direction.other();
        if let Some(o) = &self.conns[other.index()] {
            let loser = match o.state {
                State::Established => Some(direction),
                State::OpenSent | State::OpenConfirm => {
                    // "the connection initiated by the BGP speaker with the higher BGP
                    // Identifier" survives. Equal identifiers (allowed between different ASes
                    // by RFC 6286 §2.2) compare the AS numbers instead.
                    let ours = (u32::from(self.config.router_id), self.config.local_as);
                    let theirs = (u32::from(open.bgp_identifier), self.config.remote_as);
                    Some(if ours > theirs {
                        Direction::Incoming
                    } else {
                        Direction::Outgoing
                    })
                }
                _ => None,
            };
            if let Some(loser) = loser {
                let n = Notification::new(
                    error_code::CEASE,
                    cease_subcode::CONNECTION_COLLISION_RESOLUTION,
                );
                self.drop_connection(loser, Some(n), None, out);
                if loser == direction {
                    return;
                }
            }
        }
        let four_octet_as = open
            .capabilities
            .iter()
            .any(|c| matches!(c, Capability::FourOctetAs(_)));
        out.push(Action::SetContext(direction, Context { four_octet_as }));
        let Some(conn) = self.conns[direction.index()].as_mut() else {
            return;
        };
        let hold = negotiated_hold(self.config.hold_time, open.hold_time);
        conn.state = State::OpenConfirm;
        conn.open = Some(open);
        out.push(Action::Send(direction, Message::Keepalive));
        if !hold.is_zero() {
            out.push(Action::StartKeepalives(direction, hold / 3));
        }
        out.push(Action::SetHoldTimer(direction, hold));
    }

    /// OPEN checks beyond the codec's (§6.2): peer AS, and at least one common family.
    fn check_open(&self, open: &Open) -> Result<(), Notification> {
        let remote_as = open
            .capabilities
            .iter()
            .find_map(|c| match c {
                Capability::FourOctetAs(asn) => Some(*asn),
                _ => None,
            })
            .unwrap_or(u32::from(open.my_as));
        if remote_as != self.config.remote_as {
            return Err(Notification {
                code: error_code::OPEN_MESSAGE,
                subcode: open_subcode::BAD_PEER_AS,
                data: open.my_as.to_be_bytes().to_vec().into(),
            });
        }
        if open.bgp_identifier == self.config.router_id && remote_as == self.config.local_as {
            return Err(Notification::new(
                error_code::OPEN_MESSAGE,
                open_subcode::BAD_BGP_IDENTIFIER,
            ));
        }
        if common_families(&self.config.families, open).is_empty() {
            return Err(Notification::new(
                error_code::OPEN_MESSAGE,
                open_subcode::UNSUPPORTED_CAPABILITY,
            ));
        }
        Ok(())
    }

    fn establish(&mut self, direction: Direction, out: &mut Vec<Action>) {
        let Some(conn) = self.conns[direction.index()].as_mut() else {
            return;
        };
        let Some(open) = conn.open.as_ref() else {
            return;
        };
        conn.state = State::Established;
        let hold_time = negotiated_hold(self.config.hold_time, open.hold_time);
        let mut route_refresh = false;
        let mut four_octet_as = false;
        let mut peer_restart_time = None;
        let mut graceful_families = Vec::new();
        let families = common_families(&self.config.families, open);
        let mut remote_as = u32::from(open.my_as);
        for c in &open.capabilities {
            match c {
                Capability::RouteRefresh => route_refresh = true,
                Capability::FourOctetAs(asn) => {
                    four_octet_as = true;
                    remote_as = *asn;
                }
                Capability::GracefulRestart {
                    restart_time,
                    families: listed,
                    ..
                } => {
                    graceful_families = families
                        .iter()
                        .copied()
                        .filter(|f| listed.iter().any(|(l, _)| l == f))
                        .collect();
                    // A capability that lists no family we share preserves nothing.
                    peer_restart_time = (!graceful_families.is_empty())
                        .then(|| Duration::from_secs(u64::from(*restart_time)));
                }
                _ => {}
            }
        }
        let negotiated = Negotiated {
            remote_as,
            remote_id: open.bgp_identifier,
            hold_time,
            keepalive: hold_time / 3,
            families,
            context: Context { four_octet_as },
            route_refresh,
            peer_restart_time,
            graceful_families,
            local_addr: conn.local_addr,
            direction,
        };
        self.established = Some(direction);
        self.negotiated = Some(negotiated.clone());
        self.last_error = None;
        out.push(Action::CancelTimer(Timer::ConnectRetry));
        out.push(Action::ArmTimer(Timer::ErrorForget, ERROR_FORGET_TIME));
        // A connection still in the OPEN exchange collides with this one (§6.8).
        let other = direction.other();
        if self.conns[other.index()].is_some() {
            let n = Notification::new(
                error_code::CEASE,
                cease_subcode::CONNECTION_COLLISION_RESOLUTION,
            );
            self.drop_connection(other, Some(n), None, out);
        }
        out.push(Action::Established(Box::new(negotiated)));
    }

    // ----- teardown -----

    /// Whether losing `direction` without a NOTIFICATION lets the peer restart gracefully.
    fn graceful_for(&self, direction: Direction) -> Option<Duration> {
        if self.established != Some(direction) {
            return None;
        }
        self.negotiated.as_ref()?.peer_restart_time
    }

    /// Sends `notification` (if any) and closes one connection; when it was the Established
    /// one the speaker is told to withdraw.
    fn drop_connection(
        &mut self,
        direction: Direction,
        notification: Option<Notification>,
        graceful: Option<Duration>,
        out: &mut Vec<Action>,
    ) {
        if self.conns[direction.index()].take().is_none() {
            return;
        }
        if let Some(n) = notification {
            out.push(Action::Send(direction, Message::Notification(n)));
        }
        out.push(Action::Close(direction));
        if self.established == Some(direction) {
            self.established = None;
            self.negotiated = None;
            out.push(Action::CancelTimer(Timer::ErrorForget));
            out.push(Action::Down {
                reason: self
                    .last_error
                    .as_ref()
                    .map_or_else(|| "closed".to_owned(), |e| e.text.clone()),
                graceful,
            });
        }
    }

    fn teardown_all(
        &mut self,
        notification: Option<Notification>,
        graceful: Option<Duration>,
        out: &mut Vec<Action>,
    ) {
        self.connecting = false;
        for d in [Direction::Outgoing, Direction::Incoming] {
            self.drop_connection(d, notification.clone(), graceful, out);
        }
    }

    /// After a connection is gone: if nothing else is alive, back to Idle with an idle-hold
    /// backoff when it was an error (§8.1.1 DampPeerOscillations), else keep trying.
    fn after_connection_loss(&mut self, error: bool, out: &mut Vec<Action>) {
        if self.conns.iter().any(Option::is_some) || self.admin_down {
            return;
        }
        if !error {
            // A collision loser: the other connection carries on or we retry at once.
            return;
        }
        self.base = State::Idle;
        self.connecting = false;
        self.errors = self.errors.saturating_add(1);
        out.push(Action::CancelTimer(Timer::ConnectRetry));
        out.push(Action::ArmTimer(Timer::IdleHold, self.idle_hold()));
    }

    /// The error wait's `min` × 2^(errors-1), at most its `max`.
    pub fn idle_hold(&self) -> Duration {
        let ErrorWait { min, max } = self.config.error_wait();
        let shift = self.errors.saturating_sub(1).min(16);
        min.saturating_mul(1 << shift).min(max.max(min))
    }

    /// The peer's configuration changed: whatever made the session fail may be fixed, so a
    /// session waiting out its idle-hold backoff tries again at once, and the error count
    /// starts over.
    pub fn end_backoff(&mut self) -> Vec<Action> {
        let mut out = Vec::new();
        self.errors = 0;
        if self.base == State::Idle && !self.admin_down && self.conns.iter().all(Option::is_none) {
            out.push(Action::CancelTimer(Timer::IdleHold));
            self.leave_idle(&mut out);
        }
        out
    }

    /// Ends every connection with `notification` because the configuration changed (Cease /
    /// Other Configuration Change, RFC 4486) and starts again at once with the new one: a
    /// configuration change is not an error, so there is no backoff.
    pub fn restart(&mut self, notification: Notification) -> Vec<Action> {
        let mut out = Vec::new();
        if self.conns.iter().any(Option::is_some) {
            self.record(format!("sent {notification}"), Some(true));
        }
        self.teardown_all(Some(notification), None, &mut out);
        self.base = State::Idle;
        out.push(Action::CancelTimer(Timer::ConnectRetry));
        out.extend(self.end_backoff());
        out
    }

    fn record(&mut self, text: String, sent: Option<bool>) {
        self.last_error = Some(LastError { text, sent });
    }

    /// Ends the session with `notification` because of a local decision (prefix limit); it
    /// comes back after the idle-hold backoff unless stopped.
    pub fn reset(&mut self, notification: Notification) -> Vec<Action> {
        let mut out = Vec::new();
        self.record(format!("sent {notification}"), Some(true));
        self.teardown_all(Some(notification), None, &mut out);
        self.after_connection_loss(true, &mut out);
        out
    }
}

fn negotiated_hold(ours: Duration, theirs: u16) -> Duration {
    ours.min(Duration::from_secs(u64::from(theirs)))
}

/// Families both sides offered. A peer that sent no Multiprotocol capability at all supports
/// IPv4 unicast only (RFC 4760 §8).
fn common_families(ours: &[Family], open: &Open) -> Vec<Family> {
    let theirs: Vec<Family> = open
        .capabilities
        .iter()
        .filter_map(|c| match c {
            Capability::Multiprotocol(f) => Some(*f),
            _ => None,
        })
        .collect();
    let any_mp = open.capabilities.iter().any(|c| {
        matches!(c, Capability::Multiprotocol(_))
            || matches!(c, Capability::Unknown { code: 1, .. })
    });
    ours.iter()
        .copied()
        .filter(|f| {
            if any_mp {
                theirs.contains(f)
            } else {
                *f == Family::Ipv4Unicast
            }
        })
        .collect()
}

fn kind(m: &Message) -> &'static str {
    match m {
        Message::Open(_) => "OPEN",
        Message::Update(_) => "UPDATE",
        Message::Notification(_) => "NOTIFICATION",
        Message::Keepalive => "KEEPALIVE",
        Message::RouteRefresh(_) => "ROUTE-REFRESH",
    }
}

#[cfg(test)]
mod tests;
