//! One BFD session in Asynchronous mode (RFC 5880 §6.2 state machine, §6.8 procedures).
//!
//! Inputs are facts ([`Input`]: a packet was received, a timer expired, the operator changed
//! something); outputs are commands ([`Output`]: send this packet, arm that timer). The session
//! never reads a clock or draws a random number: the caller supplies a random value with each
//! [`Input::TxTimerExpired`], and the session uses the latest one to jitter the transmit
//! interval (§6.8.7).
//!
//! Timer semantics for the driver: [`Output::ArmTxTimer`] and [`Output::ArmDetectionTimer`]
//! replace any running timer of the same kind. The transmit timer is never cancelled; when it
//! fires while periodic transmission is not allowed, the session sends nothing and does not
//! re-arm it until it may transmit again.
//!
//! Timers in use (§6.8.2–§6.8.4, §6.5):
//! - transmit interval = max(our Desired Min TX, the peer's Required Min RX), jittered down by
//!   0–25 % (10–25 % at Detect Mult 1);
//! - detection time = the peer's Detect Mult × max(our Required Min RX, the peer's Desired Min
//!   TX);
//! - while not Up we advertise a Desired Min TX of at least one second (§6.8.3);
//! - any change of the intervals we advertise starts a Poll Sequence. While Up, a slower
//!   transmit rate and a shorter detection time take effect only when the peer's Final
//!   arrives; the safe direction (faster transmit, longer detection) applies at once.

use std::num::NonZeroU32;
use std::time::Duration;

use crate::wire::{ControlPacket, Diag, State};

/// Desired Min TX advertised while the session is not Up (§6.8.3: "not less than one second").
pub const SLOW_TX_INTERVAL: Duration = Duration::from_secs(1);
/// The fastest timers Causeway accepts in configuration (50 ms × 3 = 150 ms detection).
pub const MIN_INTERVAL: Duration = Duration::from_millis(50);
/// The largest interval the wire can carry: 2³²−1 µs.
pub const MAX_INTERVAL: Duration = Duration::from_micros(u32::MAX as u64);

// ===== types =====

/// The timers one side configures (§6.8.1 bfd.DesiredMinTxInterval,
/// bfd.RequiredMinRxInterval, bfd.DetectMult).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timers {
    pub desired_min_tx: Duration,
    pub required_min_rx: Duration,
    pub detect_mult: u8,
}

impl Timers {
    /// 300 ms × 3: Azure's MSEE side, AWS Direct Connect's minimum and FRR's default.
    pub const AZURE: Timers = Timers {
        desired_min_tx: Duration::from_millis(300),
        required_min_rx: Duration::from_millis(300),
        detect_mult: 3,
    };

    /// Checks configured timers: intervals from [`MIN_INTERVAL`] to [`MAX_INTERVAL`], a
    /// nonzero multiplier. The session itself accepts anything (it treats a multiplier of 0
    /// as 1), so configuration is where bad values are refused.
    pub fn validate(&self) -> Result<(), TimersError> {
        for (name, value) in [
            ("desired_min_tx", self.desired_min_tx),
            ("required_min_rx", self.required_min_rx),
        ] {
            if !(MIN_INTERVAL..=MAX_INTERVAL).contains(&value) {
                return Err(TimersError::Interval { name, value });
            }
        }
        if self.detect_mult == 0 {
            return Err(TimersError::DetectMultZero);
        }
        Ok(())
    }
}

impl Default for Timers {
    fn default() -> Self {
        Timers::AZURE
    }
}

/// Why configured timers are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimersError {
    #[error("{name} of {value:?} is outside 50 ms ..= 4294.967295 s")]
    Interval { name: &'static str, value: Duration },
    #[error("detect_mult must be at least 1")]
    DetectMultZero,
}

/// Facts the session reacts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A Control packet that passed [`ControlPacket::decode`], from this session's peer.
    PacketReceived(ControlPacket),
    /// The transmit timer ran out. `random` is a fresh uniformly random value from the
    /// caller; it jitters this and later transmit intervals (§6.8.7).
    TxTimerExpired { random: u32 },
    /// No packet arrived for a detection time (§6.8.4).
    DetectionTimerExpired,
    /// The operator took the session administratively down (§6.8.16).
    AdminDown,
    /// The operator released it.
    AdminUp,
    /// New configured timers (§6.8.3); they are advertised at once with a Poll Sequence.
    SetTimers {
        desired_min_tx: Duration,
        required_min_rx: Duration,
        detect_mult: u8,
    },
}

/// Commands for the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send this packet to the peer now.
    Send(ControlPacket),
    /// (Re)arm the transmit timer; report [`Input::TxTimerExpired`] when it runs out.
    ArmTxTimer(Duration),
    /// (Re)arm the detection timer; report [`Input::DetectionTimerExpired`] when it runs out.
    ArmDetectionTimer(Duration),
    CancelDetectionTimer,
    /// bfd.SessionState changed; `diag` is the reason (bfd.LocalDiag).
    StateChanged {
        from: State,
        to: State,
        diag: Diag,
    },
}

/// The intervals we advertise: Desired Min TX and Required Min RX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Intervals {
    tx: Duration,
    rx: Duration,
}

/// What the last packet from the peer told us about its timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RemoteTiming {
    detect_mult: u8,
    desired_min_tx: Duration,
}

/// One BFD session: the §6.8.1 state variables and the procedures that change them.
#[derive(Debug, Clone)]
pub struct Session {
    /// bfd.SessionState
    state: State,
    /// bfd.RemoteSessionState
    remote_state: State,
    /// bfd.LocalDiscr
    local_discr: NonZeroU32,
    /// bfd.RemoteDiscr; `None` is the RFC's zero ("not known").
    remote_discr: Option<NonZeroU32>,
    /// bfd.LocalDiag
    local_diag: Diag,
    /// Configured timers; what we advertise derives from them and the state.
    timers: Timers,
    /// The advertised intervals in effect before the running Poll Sequence started.
    committed: Intervals,
    /// A Poll Sequence is in progress (§6.5): our periodic packets carry P.
    poll: bool,
    /// bfd.RemoteMinRxInterval (initially 1 µs).
    remote_min_rx: Duration,
    /// bfd.RemoteDemandMode
    remote_demand: bool,
    remote_timing: Option<RemoteTiming>,
    /// The caller's latest random value, for jitter: 0 sends at the full interval,
    /// `u32::MAX` a quarter earlier.
    random: u32,
    /// The unjittered interval the transmit timer was last armed with; `None` when it is
    /// not running.
    tx_armed: Option<Duration>,
}

// ===== impl Session =====

impl Session {
    /// A session in Down (or AdminDown when `admin_down`), not yet transmitting. `local_discr`
    /// must be unique among the caller's sessions; `random` seeds the first jitter. Call
    /// [`Session::start`] to send the first packet.
    pub fn new(timers: Timers, local_discr: NonZeroU32, admin_down: bool, random: u32) -> Session {
        let timers = sanitize(timers);
        let mut s = Session {
            state: if admin_down {
                State::AdminDown
            } else {
                State::Down
            },
            remote_state: State::Down,
            local_discr,
            remote_discr: None,
            local_diag: if admin_down {
                Diag::AdministrativelyDown
            } else {
                Diag::NoDiagnostic
            },
            timers,
            committed: Intervals {
                tx: Duration::ZERO,
                rx: Duration::ZERO,
            },
            poll: false,
            remote_min_rx: Duration::from_micros(1),
            remote_demand: false,
            remote_timing: None,
            random,
            tx_armed: None,
        };
        s.committed = s.advertised();
        s
    }

    /// Sends the first packet and arms the transmit timer.
    pub fn start(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        self.send_now(&mut out);
        out
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// The state the peer last reported (Down until it reports one). The edge uses it to tell
    /// a peer's AdminDown, which must not be treated as a failure (RFC 5882 §3.2), from a
    /// real one.
    pub fn remote_state(&self) -> State {
        self.remote_state
    }

    pub fn local_diag(&self) -> Diag {
        self.local_diag
    }

    pub fn local_discriminator(&self) -> NonZeroU32 {
        self.local_discr
    }

    pub fn remote_discriminator(&self) -> Option<NonZeroU32> {
        self.remote_discr
    }

    pub fn timers(&self) -> Timers {
        self.timers
    }

    /// Whether a Poll Sequence is waiting for the peer's Final.
    pub fn poll_in_progress(&self) -> bool {
        self.poll
    }

    /// The negotiated transmit interval before jitter (§6.8.7).
    pub fn tx_interval(&self) -> Duration {
        self.tx_in_use().max(self.remote_min_rx)
    }

    /// The detection time in force (§6.8.4), once the peer has sent a packet.
    pub fn detection_time(&self) -> Option<Duration> {
        self.remote_timing
            .map(|r| r.desired_min_tx.max(self.rx_in_use()) * u32::from(r.detect_mult))
    }

    pub fn handle(&mut self, input: Input) -> Vec<Output> {
        let mut out = Vec::new();
        match input {
            Input::PacketReceived(packet) => self.receive(packet, &mut out),
            Input::TxTimerExpired { random } => {
                self.random = random;
                if self.may_transmit_periodically() {
                    self.send_now(&mut out);
                } else {
                    self.tx_armed = None;
                }
            }
            Input::DetectionTimerExpired => self.detection_expired(&mut out),
            Input::AdminDown => {
                // §6.8.16: "set bfd.SessionState to AdminDown [...] set bfd.LocalDiag to an
                // appropriate value"; we keep transmitting so the peer learns why.
                if self.state != State::AdminDown {
                    self.set_state(State::AdminDown, Diag::AdministrativelyDown, &mut out);
                    out.push(Output::CancelDetectionTimer);
                    self.send_now(&mut out);
                }
            }
            Input::AdminUp => {
                // §6.8.16: "the system MUST set bfd.SessionState to Down".
                if self.state == State::AdminDown {
                    self.set_state(State::Down, Diag::NoDiagnostic, &mut out);
                    self.send_now(&mut out);
                }
            }
            Input::SetTimers {
                desired_min_tx,
                required_min_rx,
                detect_mult,
            } => {
                let timers = sanitize(Timers {
                    desired_min_tx,
                    required_min_rx,
                    detect_mult,
                });
                if timers != self.timers {
                    let before = self.advertised();
                    self.timers = timers;
                    self.advertised_changed(before);
                    self.send_now(&mut out);
                }
            }
        }
        out
    }

    // ----- reception (§6.8.6) -----

    fn receive(&mut self, p: ControlPacket, out: &mut Vec<Output>) {
        // "If the Your Discriminator field is nonzero, it MUST be used to select the session
        // with which this BFD packet is associated. If no session is found, the packet MUST
        // be discarded." The stateless checks were made by ControlPacket::decode.
        if p.your_discriminator.is_some_and(|d| d != self.local_discr) {
            return;
        }
        self.remote_discr = Some(p.my_discriminator);
        self.remote_state = p.state;
        self.remote_demand = p.demand;
        self.remote_min_rx = p.required_min_rx;
        self.remote_timing = Some(RemoteTiming {
            detect_mult: p.detect_mult,
            desired_min_tx: p.desired_min_tx,
        });
        // "If a Poll Sequence is being transmitted by the local system and the Final (F) bit
        // in the received packet is set, the Poll Sequence MUST be terminated."
        if self.poll && p.final_ {
            self.poll = false;
            self.committed = self.advertised();
        }
        // "If bfd.SessionState is AdminDown: Discard the packet."
        if self.state == State::AdminDown {
            return;
        }
        let change = match (self.state, p.state) {
            // "If received state is AdminDown: If bfd.SessionState is not Down, set
            // bfd.LocalDiag to 3 (Neighbor signaled session down), set bfd.SessionState to
            // Down." A Down session stays Down: no flapping through Init.
            (State::Down, State::AdminDown) => None,
            (_, State::AdminDown) => Some((State::Down, Diag::NeighborSignaledSessionDown)),
            (State::Down, State::Down) => Some((State::Init, self.local_diag)),
            (State::Down, State::Init) | (State::Init, State::Init | State::Up) => {
                Some((State::Up, Diag::NoDiagnostic))
            }
            (State::Up, State::Down) => Some((State::Down, Diag::NeighborSignaledSessionDown)),
            _ => None,
        };
        // "If the packet was not discarded, it has been received for purposes of the
        // Detection Time expiration rules in section 6.8.4."
        if let Some(detection) = self.detection_time() {
            out.push(Output::ArmDetectionTimer(detection));
        }
        let mut sent = false;
        if let Some((to, diag)) = change {
            self.set_state(to, diag, out);
            self.send_now(out);
            sent = true;
        }
        // "If the Poll (P) bit is set, send a BFD Control packet to the remote system with the
        // Poll (P) bit clear, and the Final (F) bit set" (§6.8.6), "without respect to the
        // transmission timer" (§6.8.7).
        if p.poll {
            out.push(Output::Send(self.packet(true)));
        }
        // A changed interval (the peer's Required Min RX, or our own after its Final) or a
        // transmitter that may run again re-arms the timer; otherwise its phase is kept.
        if !sent && self.may_transmit_periodically() && self.tx_armed != Some(self.tx_interval()) {
            self.arm_tx(out);
        }
    }

    // ----- detection (§6.8.4) -----

    fn detection_expired(&mut self, out: &mut Vec<Output>) {
        if self.state == State::AdminDown {
            return;
        }
        // §6.8.1 bfd.RemoteDiscr: "If the Detection Timer expires [...] it MUST be reset to
        // zero"; the peer's timing is unknown again, so no detection timer runs until its
        // next packet.
        self.remote_discr = None;
        self.remote_timing = None;
        self.remote_state = State::Down;
        // "if bfd.SessionState is Init or Up, the session has gone down -- it MUST set
        // bfd.LocalDiag to 1 (Control Detection Time Expired) and MUST set
        // bfd.SessionState to Down."
        if matches!(self.state, State::Init | State::Up) {
            self.set_state(State::Down, Diag::ControlDetectionTimeExpired, out);
            self.send_now(out);
        }
    }

    // ----- state, timers, transmission -----

    /// The one place bfd.SessionState changes.
    fn set_state(&mut self, to: State, diag: Diag, out: &mut Vec<Output>) {
        let before = self.advertised();
        let from = self.state;
        self.state = to;
        self.local_diag = diag;
        out.push(Output::StateChanged { from, to, diag });
        self.advertised_changed(before);
    }

    /// What we advertise now: the configured intervals, with Desired Min TX raised to one
    /// second while not Up (§6.8.3).
    fn advertised(&self) -> Intervals {
        let tx = if self.state == State::Up {
            self.timers.desired_min_tx
        } else {
            self.timers.desired_min_tx.max(SLOW_TX_INTERVAL)
        };
        Intervals {
            tx,
            rx: self.timers.required_min_rx,
        }
    }

    /// §6.8.3: "If either bfd.DesiredMinTxInterval is changed or bfd.RequiredMinRxInterval is
    /// changed, a Poll Sequence MUST be initiated". While Up the values before the change
    /// stay `committed` until the Final; otherwise they apply at once.
    fn advertised_changed(&mut self, before: Intervals) {
        let now = self.advertised();
        if self.state != State::Up {
            self.committed = now;
        } else if !self.poll && now != before {
            self.committed = before;
        }
        if now != before && self.state != State::AdminDown {
            self.poll = true;
        }
    }

    /// Desired Min TX in force: "if bfd.DesiredMinTxInterval is increased and
    /// bfd.SessionState is Up, the actual transmission interval used MUST NOT change until
    /// the Poll Sequence described above has terminated."
    fn tx_in_use(&self) -> Duration {
        let tx = self.advertised().tx;
        if self.poll && self.state == State::Up {
            tx.min(self.committed.tx)
        } else {
            tx
        }
    }

    /// Required Min RX in force: "If bfd.RequiredMinRxInterval is reduced and
    /// bfd.SessionState is Up, the previous value of bfd.RequiredMinRxInterval MUST be used
    /// when calculating the Detection Time for the remote system until the Poll Sequence
    /// described above has terminated."
    fn rx_in_use(&self) -> Duration {
        let rx = self.advertised().rx;
        if self.poll && self.state == State::Up {
            rx.max(self.committed.rx)
        } else {
            rx
        }
    }

    /// §6.8.7: no periodic packets when the peer asks for none (Required Min RX 0) or runs
    /// Demand mode with both sides Up.
    fn may_transmit_periodically(&self) -> bool {
        let remote_demand =
            self.remote_demand && self.state == State::Up && self.remote_state == State::Up;
        !self.remote_min_rx.is_zero() && !remote_demand
    }

    /// Sends a packet now and restarts the transmit timer from here.
    fn send_now(&mut self, out: &mut Vec<Output>) {
        out.push(Output::Send(self.packet(false)));
        if self.may_transmit_periodically() {
            self.arm_tx(out);
        } else {
            self.tx_armed = None;
        }
    }

    fn arm_tx(&mut self, out: &mut Vec<Output>) {
        let interval = self.tx_interval();
        self.tx_armed = Some(interval);
        out.push(Output::ArmTxTimer(self.jittered(interval)));
    }

    /// §6.8.7: "The periodic transmission of BFD Control packets MUST be jittered on a
    /// per-packet basis by up to 25%, that is, the interval MUST be reduced by a random value
    /// of 0 to 25% [...] If bfd.DetectMult is equal to 1, the interval [...] MUST be no more
    /// than 90% of the negotiated transmission interval, and MUST be no less than 75%".
    fn jittered(&self, interval: Duration) -> Duration {
        let n = interval.as_nanos();
        let r = u128::from(self.random);
        let cut = if self.timers.detect_mult == 1 {
            n / 10 + n * 15 * r / (100 << 32)
        } else {
            n * 25 * r / (100 << 32)
        };
        Duration::from_nanos(u64::try_from(n - cut).unwrap_or(u64::MAX))
    }

    /// Our Control packet: a Final answers a Poll and never carries P (§6.8.7: "A BFD
    /// Control packet MUST NOT have both the Poll (P) and Final (F) bits set").
    fn packet(&self, final_: bool) -> ControlPacket {
        let adv = self.advertised();
        ControlPacket {
            diag: self.local_diag,
            state: self.state,
            poll: self.poll && !final_,
            final_,
            control_plane_independent: false,
            demand: false,
            detect_mult: self.timers.detect_mult,
            my_discriminator: self.local_discr,
            your_discriminator: self.remote_discr,
            desired_min_tx: adv.tx,
            required_min_rx: adv.rx,
            required_min_echo_rx: Duration::ZERO,
        }
    }
}

/// A multiplier of 0 would make every packet we send invalid (§6.8.6); treat it as 1.
fn sanitize(mut timers: Timers) -> Timers {
    timers.detect_mult = timers.detect_mult.max(1);
    timers
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn discr(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).expect("nonzero")
    }

    fn timers(tx_ms: u64, rx_ms: u64, mult: u8) -> Timers {
        Timers {
            desired_min_tx: MS * tx_ms as u32,
            required_min_rx: MS * rx_ms as u32,
            detect_mult: mult,
        }
    }

    fn sends(out: &[Output]) -> Vec<ControlPacket> {
        out.iter()
            .filter_map(|o| match o {
                Output::Send(p) => Some(*p),
                _ => None,
            })
            .collect()
    }

    fn changes(out: &[Output]) -> Vec<(State, State, Diag)> {
        out.iter()
            .filter_map(|o| match o {
                Output::StateChanged { from, to, diag } => Some((*from, *to, *diag)),
                _ => None,
            })
            .collect()
    }

    fn tx_arms(out: &[Output]) -> Vec<Duration> {
        out.iter()
            .filter_map(|o| match o {
                Output::ArmTxTimer(d) => Some(*d),
                _ => None,
            })
            .collect()
    }

    /// Through the codec, as the driver would deliver it.
    fn over_the_wire(p: ControlPacket) -> Input {
        Input::PacketReceived(ControlPacket::decode(&p.encode()).expect("our packets decode"))
    }

    /// Two sessions wired back to back; every output of each side is kept in its trace.
    struct Pair {
        a: Session,
        b: Session,
        trace_a: Vec<Output>,
        trace_b: Vec<Output>,
    }

    #[derive(Clone, Copy)]
    enum Side {
        A,
        B,
    }

    impl Pair {
        fn new(ta: Timers, tb: Timers) -> Pair {
            Pair {
                a: Session::new(ta, discr(0xa), false, 0),
                b: Session::new(tb, discr(0xb), false, 0),
                trace_a: Vec::new(),
                trace_b: Vec::new(),
            }
        }

        /// Both start and exchange packets until neither has anything more to say.
        fn up(ta: Timers, tb: Timers) -> Pair {
            let mut pair = Pair::new(ta, tb);
            let oa = pair.a.start();
            let ob = pair.b.start();
            pair.pump(oa, ob);
            assert_eq!((pair.a.state(), pair.b.state()), (State::Up, State::Up));
            pair
        }

        fn input(&mut self, side: Side, input: Input) {
            match side {
                Side::A => {
                    let oa = self.a.handle(input);
                    self.pump(oa, Vec::new());
                }
                Side::B => {
                    let ob = self.b.handle(input);
                    self.pump(Vec::new(), ob);
                }
            }
        }

        /// Both transmit timers fire once, and the packets are exchanged.
        fn tick(&mut self) {
            let oa = self.a.handle(Input::TxTimerExpired { random: 0 });
            let ob = self.b.handle(Input::TxTimerExpired { random: 0 });
            self.pump(oa, ob);
        }

        fn pump(&mut self, mut oa: Vec<Output>, mut ob: Vec<Output>) {
            for _ in 0..100 {
                let to_b = sends(&oa);
                let to_a = sends(&ob);
                self.trace_a.append(&mut oa);
                self.trace_b.append(&mut ob);
                if to_a.is_empty() && to_b.is_empty() {
                    return;
                }
                oa = to_a
                    .into_iter()
                    .flat_map(|p| self.a.handle(over_the_wire(p)))
                    .collect();
                ob = to_b
                    .into_iter()
                    .flat_map(|p| self.b.handle(over_the_wire(p)))
                    .collect();
            }
            panic!("the sessions never stopped talking");
        }
    }

    #[test]
    fn two_sessions_wired_back_to_back_reach_up_through_down_init_up() {
        let pair = Pair::up(Timers::AZURE, Timers::AZURE);
        for trace in [&pair.trace_a, &pair.trace_b] {
            assert_eq!(
                changes(trace),
                [
                    (State::Down, State::Init, Diag::NoDiagnostic),
                    (State::Init, State::Up, Diag::NoDiagnostic),
                ]
            );
        }
        assert_eq!(pair.a.remote_discriminator(), Some(discr(0xb)));
        assert_eq!(pair.b.remote_discriminator(), Some(discr(0xa)));
        // The switch from the 1 s idle rate to 300 ms was confirmed with Poll/Final.
        assert!(!pair.a.poll_in_progress() && !pair.b.poll_in_progress());
        assert_eq!(pair.a.tx_interval(), 300 * MS);
        assert_eq!(pair.a.detection_time(), Some(900 * MS));
    }

    #[test]
    fn a_new_session_transmits_at_one_second_until_it_is_up() {
        let mut s = Session::new(timers(50, 50, 3), discr(1), false, 0);
        let out = s.start();
        let p = sends(&out)[0];
        assert_eq!((p.state, p.desired_min_tx), (State::Down, SLOW_TX_INTERVAL));
        assert_eq!(p.required_min_rx, 50 * MS);
        assert_eq!(tx_arms(&out), [SLOW_TX_INTERVAL]);
    }

    #[test]
    fn detection_time_expiry_takes_an_up_session_down_with_diag_1() {
        let mut pair = Pair::up(Timers::AZURE, Timers::AZURE);
        let out = pair.a.handle(Input::DetectionTimerExpired);
        assert_eq!(
            changes(&out),
            [(State::Up, State::Down, Diag::ControlDetectionTimeExpired)]
        );
        let p = sends(&out)[0];
        assert_eq!(p.state, State::Down);
        assert_eq!(p.diag, Diag::ControlDetectionTimeExpired);
        assert_eq!(p.your_discriminator, None, "bfd.RemoteDiscr is reset");
        assert_eq!(p.desired_min_tx, SLOW_TX_INTERVAL, "back to the idle rate");
        assert!(
            !out.iter()
                .any(|o| matches!(o, Output::ArmDetectionTimer(_)))
        );
    }

    #[test]
    fn the_peer_going_down_takes_an_up_session_down_with_diag_3_and_it_recovers() {
        let mut pair = Pair::up(Timers::AZURE, Timers::AZURE);
        pair.trace_a.clear();
        // B lost A's packets; A still hears B's Down and follows, then both come back.
        pair.input(Side::B, Input::DetectionTimerExpired);
        assert_eq!(
            changes(&pair.trace_a),
            [
                (State::Up, State::Down, Diag::NeighborSignaledSessionDown),
                // B answers A's Down with Init, which takes A straight to Up (§6.8.6).
                (State::Down, State::Up, Diag::NoDiagnostic),
            ]
        );
    }

    #[test]
    fn the_peers_admin_down_gives_down_with_diag_3_and_no_flapping() {
        let mut pair = Pair::up(Timers::AZURE, Timers::AZURE);
        pair.trace_a.clear();
        pair.trace_b.clear();
        pair.input(Side::B, Input::AdminDown);
        for _ in 0..10 {
            pair.tick();
        }
        assert_eq!(
            changes(&pair.trace_a),
            [(State::Up, State::Down, Diag::NeighborSignaledSessionDown)]
        );
        assert_eq!(pair.a.state(), State::Down);
        assert_eq!(pair.a.remote_state(), State::AdminDown);
        assert_eq!(pair.b.state(), State::AdminDown);
        assert!(
            sends(&pair.trace_b)
                .iter()
                .all(|p| p.state == State::AdminDown && p.diag == Diag::AdministrativelyDown)
        );

        pair.trace_a.clear();
        pair.input(Side::B, Input::AdminUp);
        assert_eq!((pair.a.state(), pair.b.state()), (State::Up, State::Up));
    }

    #[test]
    fn local_admin_down_stops_detection_and_ignores_the_peer() {
        let mut pair = Pair::up(Timers::AZURE, Timers::AZURE);
        let out = pair.a.handle(Input::AdminDown);
        assert_eq!(
            changes(&out),
            [(State::Up, State::AdminDown, Diag::AdministrativelyDown)]
        );
        assert!(out.contains(&Output::CancelDetectionTimer));
        assert!(pair.a.handle(Input::DetectionTimerExpired).is_empty());
        let from_b = sends(&pair.b.handle(Input::TxTimerExpired { random: 0 }))[0];
        let out = pair.a.handle(over_the_wire(from_b));
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(pair.a.state(), State::AdminDown);
    }

    #[test]
    fn a_session_created_admin_down_advertises_diag_7_until_released() {
        let mut s = Session::new(Timers::AZURE, discr(1), true, 0);
        let p = sends(&s.start())[0];
        assert_eq!(
            (p.state, p.diag),
            (State::AdminDown, Diag::AdministrativelyDown)
        );
        let out = s.handle(Input::AdminUp);
        assert_eq!(
            changes(&out),
            [(State::AdminDown, State::Down, Diag::NoDiagnostic)]
        );
    }

    #[test]
    fn timer_negotiation_picks_the_slower_side() {
        // A wants 50 ms × 3, B offers only 300 ms × 5.
        let pair = Pair::up(timers(50, 50, 3), timers(300, 300, 5));
        // A may not send faster than B wants to receive, and B sends no faster than 300 ms.
        assert_eq!(pair.a.tx_interval(), 300 * MS);
        assert_eq!(pair.a.detection_time(), Some(5 * 300 * MS));
        assert_eq!(pair.b.tx_interval(), 300 * MS);
        assert_eq!(pair.b.detection_time(), Some(3 * 300 * MS));
        let last_arm_a = *tx_arms(&pair.trace_a).last().expect("armed");
        assert!(
            last_arm_a <= 300 * MS && last_arm_a >= 225 * MS,
            "{last_arm_a:?}"
        );
    }

    #[test]
    fn fifty_milliseconds_times_three_on_both_sides_detects_in_150_ms() {
        let pair = Pair::up(timers(50, 50, 3), timers(50, 50, 3));
        assert_eq!(pair.a.tx_interval(), 50 * MS);
        assert_eq!(pair.a.detection_time(), Some(150 * MS));
    }

    #[test]
    fn a_slower_tx_rate_runs_a_poll_sequence_and_applies_only_after_final() {
        let mut pair = Pair::up(Timers::AZURE, Timers::AZURE);
        let out = pair.a.handle(Input::SetTimers {
            desired_min_tx: Duration::from_secs(1),
            required_min_rx: 300 * MS,
            detect_mult: 3,
        });
        let poll = sends(&out)[0];
        assert!(poll.poll && !poll.final_);
        assert_eq!(poll.desired_min_tx, Duration::from_secs(1));
        assert_eq!(pair.a.tx_interval(), 300 * MS, "old rate until Final");
        // Periodic packets keep asking, at the old rate.
        let out = pair.a.handle(Input::TxTimerExpired { random: 0 });
        assert!(sends(&out)[0].poll);
        assert_eq!(tx_arms(&out), [300 * MS]);

        // B adopts the longer detection time at once and answers with Final.
        let answer = pair.b.handle(over_the_wire(poll));
        assert_eq!(pair.b.detection_time(), Some(Duration::from_secs(3)));
        let finals = sends(&answer);
        assert_eq!(finals.len(), 1);
        assert!(finals[0].final_ && !finals[0].poll);

        let out = pair.a.handle(over_the_wire(finals[0]));
        assert!(!pair.a.poll_in_progress());
        assert_eq!(pair.a.tx_interval(), Duration::from_secs(1));
        assert_eq!(tx_arms(&out), [1000 * MS], "re-armed at the new rate");
        let next = sends(&pair.a.handle(Input::TxTimerExpired { random: 0 }))[0];
        assert!(!next.poll);
    }

    #[test]
    fn a_shorter_required_min_rx_tightens_detection_only_after_final() {
        // B transmits at 50 ms but A asks for no more than one packet per 300 ms.
        let mut pair = Pair::up(timers(300, 300, 3), timers(50, 50, 3));
        assert_eq!(pair.a.detection_time(), Some(900 * MS));
        let out = pair.a.handle(Input::SetTimers {
            desired_min_tx: 300 * MS,
            required_min_rx: 50 * MS,
            detect_mult: 3,
        });
        let poll = sends(&out)[0];
        assert!(poll.poll);
        assert_eq!(
            pair.a.detection_time(),
            Some(900 * MS),
            "old value until Final"
        );
        let final_ = sends(&pair.b.handle(over_the_wire(poll)))[0];
        pair.a.handle(over_the_wire(final_));
        assert_eq!(pair.a.detection_time(), Some(150 * MS));
    }

    #[test]
    fn changing_timers_while_up_never_takes_the_session_down() {
        let mut pair = Pair::up(Timers::AZURE, timers(50, 50, 3));
        pair.trace_a.clear();
        pair.trace_b.clear();
        pair.input(
            Side::A,
            Input::SetTimers {
                desired_min_tx: 50 * MS,
                required_min_rx: 50 * MS,
                detect_mult: 5,
            },
        );
        assert!(changes(&pair.trace_a).is_empty() && changes(&pair.trace_b).is_empty());
        assert!(!pair.a.poll_in_progress());
        assert_eq!(pair.a.tx_interval(), 50 * MS);
        assert_eq!(pair.b.detection_time(), Some(5 * 50 * MS));
    }

    #[test]
    fn a_poll_from_the_peer_is_answered_at_once_with_final() {
        let mut pair = Pair::up(Timers::AZURE, Timers::AZURE);
        let mut poll = sends(&pair.b.handle(Input::TxTimerExpired { random: 0 }))[0];
        poll.poll = true;
        let out = pair.a.handle(over_the_wire(poll));
        let answer = sends(&out);
        assert_eq!(answer.len(), 1);
        assert!(answer[0].final_ && !answer[0].poll);
        assert!(
            tx_arms(&out).is_empty(),
            "a Final leaves the periodic timer alone"
        );
    }

    #[test]
    fn a_packet_for_another_discriminator_is_discarded_and_changes_nothing() {
        let mut pair = Pair::up(Timers::AZURE, Timers::AZURE);
        let mut stray = sends(&pair.b.handle(Input::TxTimerExpired { random: 0 }))[0];
        stray.your_discriminator = Some(discr(0xdead));
        stray.state = State::Down;
        let before = format!("{:?}", pair.a);
        assert!(pair.a.handle(over_the_wire(stray)).is_empty());
        assert_eq!(format!("{:?}", pair.a), before);
    }

    #[test]
    fn malformed_packets_are_discarded_before_the_session_and_change_nothing() {
        let mut pair = Pair::up(Timers::AZURE, Timers::AZURE);
        let good = sends(&pair.b.handle(Input::TxTimerExpired { random: 0 }))[0].encode();
        let before = format!("{:?}", pair.a);
        let mut rules: Vec<Vec<u8>> = Vec::new();
        for (i, f) in [
            |b: &mut Vec<u8>| b[0] = 0x40,        // version 2
            |b: &mut Vec<u8>| b[3] = 20,          // length < 24
            |b: &mut Vec<u8>| b[3] = 40,          // length > payload
            |b: &mut Vec<u8>| b[2] = 0,           // detect mult 0
            |b: &mut Vec<u8>| b[1] |= 0x01,       // multipoint
            |b: &mut Vec<u8>| b[4..8].fill(0),    // my discriminator 0
            |b: &mut Vec<u8>| b[8..12].fill(0),   // your discriminator 0 while Up
            |b: &mut Vec<u8>| b[1] = 0x40 | 0x04, // A bit (and Length 24 < 26)
            |b: &mut Vec<u8>| b.truncate(10),     // short
        ]
        .into_iter()
        .enumerate()
        {
            let mut b = good.to_vec();
            f(&mut b);
            assert!(ControlPacket::decode(&b).is_err(), "rule {i} must discard");
            rules.push(b);
        }
        // The driver feeds the session only what decodes; show that nothing got through.
        for b in rules {
            if let Ok(p) = ControlPacket::decode(&b) {
                pair.a.handle(Input::PacketReceived(p));
            }
        }
        assert_eq!(format!("{:?}", pair.a), before);
        assert_eq!(pair.a.state(), State::Up);
    }

    #[test]
    fn jitter_reduces_the_interval_by_up_to_a_quarter() {
        let mut s = Session::new(Timers::AZURE, discr(1), false, 0);
        let arm = |s: &mut Session, random| tx_arms(&s.handle(Input::TxTimerExpired { random }))[0];
        assert_eq!(arm(&mut s, 0), SLOW_TX_INTERVAL);
        assert_eq!(arm(&mut s, 1 << 31), 875 * MS);
        let low = arm(&mut s, u32::MAX);
        assert!(low >= 750 * MS && low < 751 * MS, "{low:?}");
    }

    #[test]
    fn with_detect_mult_1_jitter_keeps_the_interval_between_75_and_90_percent() {
        let mut s = Session::new(timers(1000, 1000, 1), discr(1), false, 0);
        let arm = |s: &mut Session, random| tx_arms(&s.handle(Input::TxTimerExpired { random }))[0];
        assert_eq!(arm(&mut s, 0), 900 * MS);
        let low = arm(&mut s, u32::MAX);
        assert!(low >= 750 * MS && low < 751 * MS, "{low:?}");
    }

    #[test]
    fn a_peer_asking_for_no_packets_gets_no_periodic_ones() {
        let mut pair = Pair::up(Timers::AZURE, Timers::AZURE);
        let mut quiet = sends(&pair.b.handle(Input::TxTimerExpired { random: 0 }))[0];
        quiet.required_min_rx = Duration::ZERO;
        let out = pair.a.handle(over_the_wire(quiet));
        assert!(tx_arms(&out).is_empty());
        let out = pair.a.handle(Input::TxTimerExpired { random: 0 });
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn timers_below_50_ms_or_with_multiplier_zero_are_refused_in_configuration() {
        assert_eq!(Timers::AZURE.validate(), Ok(()));
        assert_eq!(timers(50, 50, 3).validate(), Ok(()));
        assert!(matches!(
            timers(49, 50, 3).validate(),
            Err(TimersError::Interval {
                name: "desired_min_tx",
                ..
            })
        ));
        assert_eq!(
            timers(300, 300, 0).validate(),
            Err(TimersError::DetectMultZero)
        );
    }
}
