//! One routing domain: its peers, their sessions, the RIB, import rules and export.
//!
//! Data flow: the driver hands in every input through one entry point, [`Speaker::handle`]
//! ([`Input`]: session events, configuration, flush); UPDATEs delivered by
//! an Established session pass the import rules (AS-path loop, family, per-family prefix
//! limits counted after import) into the [`Rib`]; every best-path change is queued toward
//! the other Established peers; [`Input::Flush`] turns those queues into UPDATEs packed by
//! identical attributes (withdrawals first, End-of-RIB after an initial table) and reports
//! the FIB changes. The driver flushes when it has no more input waiting, so a burst of
//! UPDATEs in costs one packed burst out.
//!
//! Export to an eBGP peer (RFC 4271 §5.1): own AS prepended (once, plus the peer's configured
//! drain prepends), NEXT_HOP set to our address on that session, MED and LOCAL_PREF removed.
//! Routes never go back to the peer they came from.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};

use crate::fsm::{
    Action, Direction, Event, LastError, Negotiated, Session, SessionConfig, State, Timer,
};
use crate::reconfigure::{self, InPlace, PeerChange};
use crate::rib::{BestChange, HashMap, Path, PathAttrs, PeerIdx, PeerRank, Rib};
use crate::wire::{
    self, Attributes, Context, ErrorAction, Family, MAX_MESSAGE_LEN, Message, MpReach, MpUnreach,
    NextHop, Notification, Origin, Prefix, Update, cease_subcode, error_code,
};

/// How long a restarted peer's stale routes wait for its End-of-RIB once it is back
/// (FRR's stalepath-time default).
pub const STALE_PATH_TIME: Duration = Duration::from_secs(360);

/// The RFC 9003 shutdown communication of a peer configured administratively down.
pub const DISABLED_MESSAGE: &str = "peering disabled";

/// A TCP MD5 key (RFC 2385). Its `Debug` never shows it, so settings can be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Md5Key(String);

impl Md5Key {
    pub fn new(key: impl Into<String>) -> Md5Key {
        Md5Key(key.into())
    }
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl std::fmt::Debug for Md5Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Md5Key(<redacted>)")
    }
}

/// A peer as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSettings {
    pub name: String,
    pub address: IpAddr,
    /// Our address toward the peer (the driver binds it before connecting).
    pub local_address: Option<IpAddr>,
    /// The TCP MD5 key of the session (the driver sets it on its sockets).
    pub md5_key: Option<Md5Key>,
    /// Administratively down: Cease / Administrative Shutdown with [`DISABLED_MESSAGE`].
    pub shutdown: bool,
    pub session: SessionConfig,
    /// Maximum accepted prefixes per family (indexed by [`family_index`]).
    pub max_prefixes: [Option<u32>; 2],
    /// Extra own-AS prepends on export to this peer (maintenance drain).
    pub prepend: u8,
    /// Preference for everything this peer sends, before any attribute (see
    /// [`PeerRank::weight`]).
    pub weight: u32,
    /// What this peer is sent.
    pub export: Export,
}

/// Which best paths a peer is sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Export {
    /// Every best path (except the peer's own).
    #[default]
    All,
    /// Only paths learned from other peers, not what this domain originates.
    Learned,
    /// Nothing: the peer only feeds the RIB.
    Nothing,
}

impl Export {
    fn allows(self, path: &Path) -> bool {
        match self {
            Export::All => true,
            Export::Learned => path.peer != PeerIdx::LOCAL,
            Export::Nothing => false,
        }
    }
}

/// A FIB change: the next hops of a prefix (none: remove it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FibChange {
    pub prefix: Prefix,
    pub next_hops: Vec<IpAddr>,
}

/// Everything that can happen to a routing domain: the one way into the core,
/// [`Speaker::handle`]. The core is deterministic, so a recorded sequence of inputs replays
/// to the same outputs (the golden tests in `speaker/golden/` are such recordings).
// A decoded message travels once, from the driver into the core.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Input {
    /// A fact about one peer's session: a connection up or closed, a message decoded, a
    /// timer expired, BFD news.
    Event(PeerIdx, Event),
    /// A new peer; it gets the next index ([`Output::PeerAdded`]) and starts unless
    /// configured down.
    AddPeer(PeerSettings),
    /// New settings for a peer, applied as [`reconfigure::classify`] decides.
    UpdatePeer(PeerIdx, PeerSettings),
    /// The peer is gone: Cease / Peer De-configured, its routes withdrawn everywhere.
    RemovePeer(PeerIdx),
    /// Ends a peer's session with this NOTIFICATION and holds it down (ManualStop): the
    /// edge stopping, or its domain starting again elsewhere.
    StopPeer(PeerIdx, Notification),
    /// The domain's own AS and router id; every peer's settings follow with
    /// [`Input::UpdatePeer`] (their sessions depend on both).
    SetIdentity { local_as: u32, router_id: Ipv4Addr },
    /// The prefixes the domain originates.
    SetOriginated(Vec<Prefix>),
    /// Nothing else is waiting: pack what changed into UPDATEs (and FIB changes).
    Flush,
}

/// Commands for the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// A peer was added with this index ([`Input::AddPeer`]).
    PeerAdded(PeerIdx),
    /// At a flush, when the domain programs a FIB ([`Speaker::enable_fib`]): the prefixes
    /// whose equal-cost next hops changed since the last flush.
    Fib(Vec<FibChange>),
    Connect(PeerIdx),
    Send(PeerIdx, Direction, Bytes),
    Close(PeerIdx, Direction),
    SetContext(PeerIdx, Direction, Context),
    ArmTimer(PeerIdx, Timer, Duration),
    CancelTimer(PeerIdx, Timer),
    StartKeepalives(PeerIdx, Direction, Duration),
    SetHoldTimer(PeerIdx, Direction, Duration),
    /// The session reached Established (for uptime and logs).
    PeerUp(PeerIdx),
    /// The session left Established.
    PeerDown(PeerIdx, String),
}

/// Per-family prefix counters of one peer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    /// Prefixes the peer currently announces to us, accepted or not.
    pub received: u32,
    /// Of those, the ones in the RIB after import.
    pub accepted: u32,
    /// Prefixes we currently announce to the peer.
    pub advertised: u32,
}

/// A peer's state for status views.
#[derive(Debug, Clone)]
pub struct PeerStatus<'a> {
    pub settings: &'a PeerSettings,
    pub state: State,
    pub last_error: Option<&'a LastError>,
    pub negotiated: Option<&'a Negotiated>,
    pub counters: [Counters; 2],
}

pub fn family_index(f: Family) -> usize {
    match f {
        Family::Ipv4Unicast => 0,
        Family::Ipv6Unicast => 1,
    }
}

/// One prefix queued toward a peer.
#[derive(Debug)]
struct Pending {
    /// Whether the peer had the prefix from us before this batch: a withdrawal of something
    /// never sent is dropped instead of sent.
    was_advertised: bool,
    attrs: Option<Arc<PathAttrs>>,
}

impl Tx {
    fn queue(&mut self, prefix: Prefix, was_advertised: bool, attrs: Option<Arc<PathAttrs>>) {
        self.pending
            .entry(prefix)
            .and_modify(|p| p.attrs = attrs.clone())
            .or_insert(Pending {
                was_advertised,
                attrs,
            });
    }
}

#[derive(Debug, Default)]
struct Tx {
    /// Latest state to announce per prefix: `Some` = reach with these source attributes,
    /// `None` = withdraw. A later change overwrites an earlier one not yet sent.
    pending: HashMap<Prefix, Pending>,
    end_of_rib: Vec<Family>,
}

#[derive(Debug)]
struct Peer {
    settings: PeerSettings,
    session: Session,
    rank: Option<PeerRank>,
    accepted: [u32; 2],
    advertised: [u32; 2],
    /// Prefixes announced by the peer but refused on import (AS loop).
    rejected: HashSet<Prefix>,
    tx: Tx,
    /// Families whose End-of-RIB the peer has sent since it came up.
    end_of_rib: [bool; 2],
    /// The peer restarted gracefully and its stale routes wait for End-of-RIB.
    restarting: bool,
    /// The families the peer preserves across a restart (its Graceful Restart capability).
    graceful_families: Vec<Family>,
}

impl Peer {
    fn counters(&self) -> [Counters; 2] {
        let mut c = [Counters::default(); 2];
        for (i, c) in c.iter_mut().enumerate() {
            let rejected = self
                .rejected
                .iter()
                .filter(|p| family_index(p.family()) == i)
                .count() as u32;
            *c = Counters {
                received: self.accepted[i] + rejected,
                accepted: self.accepted[i],
                advertised: self.advertised[i],
            };
        }
        c
    }

    /// The family set, local address and direction of an Established session.
    fn export_target(&self) -> Option<(&Negotiated, Direction)> {
        let n = self.session.negotiated()?;
        Some((n, n.direction))
    }
}

/// One routing domain.
#[derive(Debug)]
pub struct Speaker {
    local_as: u32,
    router_id: Ipv4Addr,
    peers: Vec<Option<Peer>>,
    rib: Rib,
    originated: Vec<Prefix>,
    local_attrs: Arc<PathAttrs>,
    /// Peers with something in their own queue ([`Tx`]): a full table, End-of-RIB.
    dirty: Vec<PeerIdx>,
    /// Best-path changes since the last flush, for every peer at once (see [`export`]).
    changes: HashMap<Prefix, export::Change>,
    /// Peers to be sent the whole table at the next flush: (peer, only this family, whether
    /// the peer had routes from us before). A peer that came up in this batch has `false`.
    dumps: Vec<(PeerIdx, Option<Family>, bool)>,
    /// Prefixes whose equal-cost set may have changed since [`Speaker::take_fib_changes`],
    /// when the domain programs a FIB.
    fib: Option<HashSet<Prefix>>,
}

// ===== impl Speaker =====

impl Speaker {
    pub fn new(local_as: u32, router_id: Ipv4Addr) -> Speaker {
        let mut rib = Rib::new();
        let local_attrs = rib.pool.intern(PathAttrs {
            attrs: Attributes {
                origin: Some(Origin::Igp),
                ..Attributes::default()
            },
            next_hop: None,
        });
        Speaker {
            local_as,
            router_id,
            peers: Vec::new(),
            rib,
            originated: Vec::new(),
            local_attrs,
            dirty: Vec::new(),
            changes: HashMap::default(),
            dumps: Vec::new(),
            fib: None,
        }
    }

    /// Whether every peer that is meant to be up is Established and has sent End-of-RIB
    /// for each negotiated family: the table is as complete as it will get (a FIB can drop
    /// what an earlier run left behind). False while any such peer is down.
    pub fn initial_tables_complete(&self) -> bool {
        self.peers.iter().flatten().all(|p| {
            p.session.is_admin_down()
                || p.session
                    .negotiated()
                    .is_some_and(|n| n.families.iter().all(|f| p.end_of_rib[family_index(*f)]))
        })
    }

    /// Starts tracking FIB changes: from now on [`Speaker::take_fib_changes`] reports every
    /// prefix whose equal-cost next hops change (at first, every learned prefix).
    pub fn enable_fib(&mut self) {
        let all = self.rib.iter().map(|(p, _)| p).collect();
        self.fib = Some(all);
    }

    /// The FIB changes since the last call, in prefix order: per prefix, the next hops of its
    /// equal-cost best paths ([`crate::rib::multipath`]), sorted; empty when no learned path
    /// is left.
    fn take_fib_changes(&mut self) -> Vec<FibChange> {
        let Some(dirty) = self.fib.as_mut() else {
            return Vec::new();
        };
        if dirty.is_empty() {
            return Vec::new();
        }
        // In prefix order, so that a replay gives the same FIB writes in the same order.
        let mut dirty: Vec<Prefix> = std::mem::take(dirty).into_iter().collect();
        dirty.sort_unstable();
        dirty
            .into_iter()
            .map(|prefix| FibChange {
                prefix,
                next_hops: self.next_hops(&prefix),
            })
            .collect()
    }

    /// The next hops of a prefix's equal-cost best paths, sorted (none when no learned path
    /// is best).
    pub fn next_hops(&self, prefix: &Prefix) -> Vec<IpAddr> {
        let peers = &self.peers;
        let ranks = |i: PeerIdx| peers.get(i.0 as usize)?.as_ref()?.rank;
        let mut next_hops: Vec<IpAddr> = self
            .rib
            .get(prefix)
            .map(|d| {
                crate::rib::multipath(d.paths(), &ranks)
                    .filter_map(|p| p.attrs.next_hop_addr())
                    .collect()
            })
            .unwrap_or_default();
        next_hops.sort();
        next_hops.dedup();
        next_hops
    }

    pub fn local_as(&self) -> u32 {
        self.local_as
    }

    pub fn router_id(&self) -> Ipv4Addr {
        self.router_id
    }

    pub fn rib(&self) -> &Rib {
        &self.rib
    }

    pub fn originated(&self) -> &[Prefix] {
        &self.originated
    }

    /// Peers in index order.
    pub fn peers(&self) -> impl Iterator<Item = (PeerIdx, PeerStatus<'_>)> {
        self.peers.iter().enumerate().filter_map(|(i, p)| {
            let p = p.as_ref()?;
            Some((
                PeerIdx(i as u32),
                PeerStatus {
                    settings: &p.settings,
                    state: p.session.state(),
                    last_error: p.session.last_error.as_ref(),
                    negotiated: p.session.negotiated(),
                    counters: p.counters(),
                },
            ))
        })
    }

    pub fn peer_name(&self, idx: PeerIdx) -> Option<&str> {
        Some(self.peer(idx)?.settings.name.as_str())
    }

    /// The peer configured with this address.
    pub fn find_peer(&self, address: IpAddr) -> Option<PeerIdx> {
        self.peers.iter().enumerate().find_map(|(i, p)| {
            (p.as_ref()?.settings.address == address).then_some(PeerIdx(i as u32))
        })
    }

    /// Whether the peer's session would take an incoming connection now.
    pub fn accepts_incoming(&self, idx: PeerIdx) -> bool {
        self.peer(idx).is_some_and(|p| p.session.accepts_incoming())
    }

    fn peer(&self, idx: PeerIdx) -> Option<&Peer> {
        self.peers.get(idx.0 as usize)?.as_ref()
    }

    fn peer_mut(&mut self, idx: PeerIdx) -> Option<&mut Peer> {
        self.peers.get_mut(idx.0 as usize)?.as_mut()
    }

    // ----- the entry point -----

    /// Feeds one input; what the driver must do follows from the outputs alone.
    pub fn handle(&mut self, input: Input) -> Vec<Output> {
        match input {
            Input::Event(idx, event) => self.event(idx, event),
            Input::AddPeer(settings) => {
                let (idx, mut out) = self.add_peer(settings);
                out.insert(0, Output::PeerAdded(idx));
                out
            }
            Input::UpdatePeer(idx, settings) => self.update_peer(idx, settings),
            Input::RemovePeer(idx) => self.remove_peer(idx),
            Input::StopPeer(idx, notification) => self.stop_peer(idx, notification),
            Input::SetIdentity {
                local_as,
                router_id,
            } => {
                self.set_identity(local_as, router_id);
                Vec::new()
            }
            Input::SetOriginated(prefixes) => {
                self.set_originated(prefixes);
                Vec::new()
            }
            Input::Flush => {
                let mut out = self.flush();
                let fib = self.take_fib_changes();
                if !fib.is_empty() {
                    out.push(Output::Fib(fib));
                }
                out
            }
        }
    }

    // ----- configuration -----

    /// Adds a peer and starts its session.
    fn add_peer(&mut self, settings: PeerSettings) -> (PeerIdx, Vec<Output>) {
        let idx = PeerIdx(self.peers.len() as u32);
        let session = Session::new(settings.session.clone());
        self.peers.push(Some(Peer {
            settings,
            session,
            rank: None,
            accepted: [0; 2],
            advertised: [0; 2],
            rejected: HashSet::new(),
            tx: Tx::default(),
            end_of_rib: [false; 2],
            restarting: false,
            graceful_families: Vec::new(),
        }));
        let start = !self.peer(idx).is_some_and(|p| p.settings.shutdown);
        let out = if start {
            self.event(idx, Event::Start)
        } else {
            Vec::new()
        };
        (idx, out)
    }

    /// Removes a peer: Cease / Peer De-configured, its routes withdrawn everywhere.
    fn remove_peer(&mut self, idx: PeerIdx) -> Vec<Output> {
        let n = Notification::new(error_code::CEASE, cease_subcode::PEER_DECONFIGURED);
        let mut out = self.event(idx, Event::Stop(n));
        self.purge_routes(idx, false);
        if let Some(slot) = self.peers.get_mut(idx.0 as usize) {
            *slot = None;
        }
        for t in [
            Timer::ConnectRetry,
            Timer::IdleHold,
            Timer::ErrorForget,
            Timer::GracefulRestart,
        ] {
            out.push(Output::CancelTimer(idx, t));
        }
        out
    }

    /// Ends a peer's session with `notification` and holds it down (ManualStop), e.g. when
    /// its routing domain is about to start again elsewhere.
    fn stop_peer(&mut self, idx: PeerIdx, notification: Notification) -> Vec<Output> {
        self.event(idx, Event::Stop(notification))
    }

    /// Applies new settings to a peer as [`reconfigure::classify`] decides: in place (the
    /// peer's routes re-sent or its limits re-checked, the next attempt shaped by new
    /// timers), a reset with Cease / Other Configuration Change that starts again at once, or
    /// an administrative shutdown or start. Any change ends an idle-hold backoff: what made
    /// the session fail may be what was fixed.
    fn update_peer(&mut self, idx: PeerIdx, settings: PeerSettings) -> Vec<Output> {
        let mut out = Vec::new();
        let Some(peer) = self.peer_mut(idx) else {
            return out;
        };
        let change = reconfigure::classify(Some(&peer.settings), Some(&settings));
        peer.settings = settings;
        peer.session.set_config(peer.settings.session.clone());
        let actions = match change {
            PeerChange::Unchanged | PeerChange::Add | PeerChange::Remove => return out,
            PeerChange::Reset => peer.session.restart(Notification::new(
                error_code::CEASE,
                cease_subcode::OTHER_CONFIGURATION_CHANGE,
            )),
            PeerChange::Shutdown => {
                peer.session
                    .handle(Event::Stop(Notification::cease_with_communication(
                        cease_subcode::ADMINISTRATIVE_SHUTDOWN,
                        DISABLED_MESSAGE,
                    )))
            }
            PeerChange::Start => peer.session.handle(Event::Start),
            PeerChange::InPlace(InPlace {
                resend,
                limits,
                next_connection: _,
            }) => {
                let actions = peer.session.end_backoff();
                if resend {
                    self.dumps.push((idx, None, true));
                }
                if limits {
                    self.check_limits(idx, &mut out);
                }
                actions
            }
        };
        self.apply_actions(idx, actions, &mut out);
        out
    }

    /// Changes the domain's own AS and router id. Every peer's session depends on them: the
    /// caller follows with [`Speaker::update_peer`] for each (a reset, by [`reconfigure`]).
    fn set_identity(&mut self, local_as: u32, router_id: Ipv4Addr) {
        self.local_as = local_as;
        self.router_id = router_id;
    }

    /// The settings a peer runs with.
    pub fn peer_settings(&self, idx: PeerIdx) -> Option<&PeerSettings> {
        Some(&self.peer(idx)?.settings)
    }

    /// Replaces the prefixes this domain originates.
    fn set_originated(&mut self, prefixes: Vec<Prefix>) {
        let old: HashSet<Prefix> = self.originated.iter().copied().collect();
        let new: HashSet<Prefix> = prefixes.iter().copied().collect();
        for p in old.difference(&new) {
            self.apply_path(PeerIdx::LOCAL, *p, None);
        }
        for p in new.difference(&old) {
            self.apply_path(PeerIdx::LOCAL, *p, Some(self.local_attrs.clone()));
        }
        self.originated = prefixes;
    }

    // ----- events -----

    /// Feeds one session event for one peer.
    fn event(&mut self, idx: PeerIdx, event: Event) -> Vec<Output> {
        let mut out = Vec::new();
        if event_is_graceful_timer(&event) {
            self.end_graceful_restart(idx);
            return out;
        }
        let Some(peer) = self.peer_mut(idx) else {
            return out;
        };
        let actions = peer.session.handle(event);
        self.apply_actions(idx, actions, &mut out);
        out
    }

    fn apply_actions(&mut self, idx: PeerIdx, actions: Vec<Action>, out: &mut Vec<Output>) {
        for action in actions {
            match action {
                Action::Connect => out.push(Output::Connect(idx)),
                Action::Send(d, m) => {
                    let cx = self
                        .peer(idx)
                        .and_then(|p| p.session.negotiated())
                        .map(|n| n.context)
                        .unwrap_or_default();
                    let mut buf = BytesMut::new();
                    m.encode(&cx, &mut buf);
                    out.push(Output::Send(idx, d, buf.freeze()));
                }
                Action::Close(d) => out.push(Output::Close(idx, d)),
                Action::SetContext(d, cx) => out.push(Output::SetContext(idx, d, cx)),
                Action::ArmTimer(t, after) => out.push(Output::ArmTimer(idx, t, after)),
                Action::CancelTimer(t) => out.push(Output::CancelTimer(idx, t)),
                Action::StartKeepalives(d, every) => {
                    out.push(Output::StartKeepalives(idx, d, every))
                }
                Action::SetHoldTimer(d, t) => out.push(Output::SetHoldTimer(idx, d, t)),
                Action::Established(n) => {
                    self.peer_established(idx, &n, out);
                    out.push(Output::PeerUp(idx));
                }
                Action::Down { reason, graceful } => {
                    self.peer_down(idx, graceful, out);
                    out.push(Output::PeerDown(idx, reason));
                }
                Action::Deliver(Message::Update(u)) => self.import(idx, u, out),
                Action::Deliver(Message::RouteRefresh(rr)) => {
                    // RFC 2918 §4: re-advertise the Adj-RIB-Out of that family.
                    if let Some(f) = rr.family {
                        self.dumps.push((idx, Some(f), true));
                    }
                }
                Action::Deliver(_) => {}
            }
        }
    }

    fn peer_established(&mut self, idx: PeerIdx, n: &Negotiated, out: &mut Vec<Output>) {
        let Some(peer) = self.peer_mut(idx) else {
            return;
        };
        peer.graceful_families = n.graceful_families.clone();
        peer.rank = Some(PeerRank {
            weight: peer.settings.weight,
            router_id: n.remote_id,
            address: peer.settings.address,
            ebgp: true,
        });
        peer.advertised = [0; 2];
        peer.end_of_rib = [false; 2];
        peer.tx = Tx::default();
        peer.tx.end_of_rib = n.families.clone();
        let restarting = peer.restarting;
        // The whole table goes out at the next flush, as it is then.
        self.dumps.push((idx, None, false));
        self.mark_dirty(idx);
        if restarting {
            // RFC 4724 §4.2: the restart timer stops once the peer is back; its stale routes
            // now wait for End-of-RIB, at most STALE_PATH_TIME.
            out.push(Output::ArmTimer(
                idx,
                Timer::GracefulRestart,
                STALE_PATH_TIME,
            ));
        }
    }

    fn peer_down(&mut self, idx: PeerIdx, graceful: Option<Duration>, out: &mut Vec<Output>) {
        let Some(peer) = self.peer_mut(idx) else {
            return;
        };
        peer.tx = Tx::default();
        peer.advertised = [0; 2];
        match graceful {
            Some(restart) => {
                // RFC 4724 §4.2: keep the routes of the families the peer preserves, marked
                // stale, for the restart time; the others go now.
                peer.restarting = true;
                let families = peer.graceful_families.clone();
                let peers = &self.peers;
                let ranks = |i: PeerIdx| peers.get(i.0 as usize)?.as_ref()?.rank;
                if let Some(fib) = self.fib.as_mut() {
                    for (prefix, d) in self.rib.iter() {
                        if !families.contains(&prefix.family())
                            && d.paths().iter().any(|p| p.peer == idx)
                        {
                            fib.insert(prefix);
                        }
                    }
                }
                let (changes, removed) = self.rib.mark_stale(idx, &families, &ranks);
                if let Some(peer) = self.peer_mut(idx) {
                    for (accepted, removed) in peer.accepted.iter_mut().zip(removed) {
                        *accepted = accepted.saturating_sub(removed as u32);
                    }
                }
                for c in changes {
                    self.propagate(c);
                }
                out.push(Output::ArmTimer(idx, Timer::GracefulRestart, restart));
            }
            None => self.purge_routes(idx, false),
        }
    }

    fn end_graceful_restart(&mut self, idx: PeerIdx) {
        if let Some(peer) = self.peer_mut(idx)
            && peer.restarting
        {
            peer.restarting = false;
            self.purge_routes(idx, true);
        }
    }

    /// Withdraws a peer's paths (only the stale ones with `only_stale`).
    fn purge_routes(&mut self, idx: PeerIdx, only_stale: bool) {
        if let Some(fib) = self.fib.as_mut() {
            for (prefix, d) in self.rib.iter() {
                if d.paths()
                    .iter()
                    .any(|p| p.peer == idx && (p.stale || !only_stale))
                {
                    fib.insert(prefix);
                }
            }
        }
        let peers = &self.peers;
        let ranks = |i: PeerIdx| peers.get(i.0 as usize)?.as_ref()?.rank;
        let (changes, removed) = self.rib.remove_peer(idx, only_stale, &ranks);
        if let Some(peer) = self.peer_mut(idx) {
            for (accepted, removed) in peer.accepted.iter_mut().zip(removed) {
                *accepted = accepted.saturating_sub(removed as u32);
            }
            if !only_stale {
                peer.rejected.clear();
                peer.accepted = [0; 2];
            }
        }
        for c in changes {
            self.propagate(c);
        }
    }

    // ----- import -----

    fn import(&mut self, idx: PeerIdx, update: Update, out: &mut Vec<Output>) {
        if let Some(family) = update.is_end_of_rib() {
            self.end_of_rib_received(idx, family);
            return;
        }
        let Some(families) = self
            .peer(idx)
            .and_then(|p| p.session.negotiated())
            .map(|n| n.families.clone())
        else {
            return;
        };
        let Update {
            withdrawn,
            attributes,
            nlri,
            mp_reach,
            mp_unreach,
            error_action,
            ..
        } = update;
        for p in withdrawn {
            self.apply_import(idx, Prefix::V4(p), None, false);
        }
        if let Some(u) = mp_unreach
            && families.contains(&u.family)
        {
            for p in u.withdrawn {
                self.apply_import(idx, p, None, false);
            }
        }
        let usable = match &attributes {
            Some(a) if error_action != ErrorAction::TreatAsWithdraw => {
                a.origin.is_some() && !a.as_path.contains(self.local_as)
            }
            _ => false,
        };
        // A path refused for an AS loop still counts as received (RFC 4271 §9.1.2).
        let looped = attributes
            .as_ref()
            .is_some_and(|a| a.as_path.contains(self.local_as));
        let mut attrs = attributes.unwrap_or_default();
        // §5.1.5: LOCAL_PREF from an external peer is ignored.
        attrs.local_pref = None;
        let v4_next_hop = attrs.next_hop.take();
        if !nlri.is_empty() && families.contains(&Family::Ipv4Unicast) {
            let interned = match (usable, v4_next_hop) {
                (true, Some(nh)) => Some(self.rib.pool.intern(PathAttrs {
                    // Moved when no MP_REACH_NLRI needs them too (the usual IPv4 UPDATE).
                    attrs: if mp_reach.is_some() {
                        attrs.clone()
                    } else {
                        std::mem::take(&mut attrs)
                    },
                    next_hop: Some(NextHop::V4(nh)),
                })),
                _ => None,
            };
            for p in nlri {
                self.apply_import(idx, Prefix::V4(p), interned.clone(), looped);
            }
        }
        if let Some(MpReach {
            family,
            next_hop,
            nlri,
        }) = mp_reach
            && families.contains(&family)
        {
            let interned = usable.then(|| {
                self.rib.pool.intern(PathAttrs {
                    attrs,
                    next_hop: Some(next_hop),
                })
            });
            for p in nlri {
                self.apply_import(idx, p, interned.clone(), looped);
            }
        }
        self.check_limits(idx, out);
    }

    fn apply_import(
        &mut self,
        idx: PeerIdx,
        prefix: Prefix,
        attrs: Option<Arc<PathAttrs>>,
        looped: bool,
    ) {
        if let Some(peer) = self.peer_mut(idx) {
            if looped && attrs.is_none() {
                peer.rejected.insert(prefix);
            } else if !peer.rejected.is_empty() {
                peer.rejected.remove(&prefix);
            }
        }
        self.apply_path(idx, prefix, attrs);
    }

    /// Sets one path in the RIB and propagates a best-path change.
    fn apply_path(&mut self, idx: PeerIdx, prefix: Prefix, attrs: Option<Arc<PathAttrs>>) {
        let adding = attrs.is_some();
        if let Some(fib) = self.fib.as_mut() {
            fib.insert(prefix);
        }
        let peers = &self.peers;
        let ranks = |i: PeerIdx| peers.get(i.0 as usize)?.as_ref()?.rank;
        let (change, had) = self.rib.update(prefix, idx, attrs, &ranks);
        if let Some(peer) = self.peer_mut(idx) {
            let f = family_index(prefix.family());
            match (had, adding) {
                (false, true) => peer.accepted[f] += 1,
                (true, false) => peer.accepted[f] = peer.accepted[f].saturating_sub(1),
                _ => {}
            }
        }
        if let Some(c) = change {
            self.propagate(c);
        }
    }

    /// Over a family's limit: Cease / Maximum Number of Prefixes Reached (RFC 4486), the
    /// session goes down and comes back after the idle-hold backoff.
    fn check_limits(&mut self, idx: PeerIdx, out: &mut Vec<Output>) {
        let Some(peer) = self.peer_mut(idx) else {
            return;
        };
        let over = Family::ALL.into_iter().find(|&f| {
            let i = family_index(f);
            peer.settings.max_prefixes[i].is_some_and(|limit| peer.accepted[i] > limit)
        });
        if let Some(f) = over {
            let limit = peer.settings.max_prefixes[family_index(f)].unwrap_or(0);
            let actions = peer.session.reset(Notification::max_prefixes(f, limit));
            self.apply_actions(idx, actions, out);
        }
    }

    fn end_of_rib_received(&mut self, idx: PeerIdx, family: Family) {
        let Some(peer) = self.peer_mut(idx) else {
            return;
        };
        peer.end_of_rib[family_index(family)] = true;
        let all = peer
            .session
            .negotiated()
            .is_none_or(|n| n.families.iter().all(|f| peer.end_of_rib[family_index(*f)]));
        if peer.restarting && all {
            // RFC 4724 §4.2: End-of-RIB from the restarted peer removes what it did not
            // re-announce.
            self.end_graceful_restart(idx);
        }
    }

    // ----- export -----

    /// Records a best-path change for every Established peer (sent at the next flush).
    fn propagate(&mut self, change: BestChange) {
        export::record(&mut self.changes, change);
    }

    /// Queues every best path toward one peer (session start, route refresh, new prepend).
    fn requeue_all(&mut self, idx: PeerIdx, only: Option<Family>, sent_before: bool) {
        let Some(peer) = self.peers.get_mut(idx.0 as usize).and_then(Option::as_mut) else {
            return;
        };
        let Some((n, _)) = peer.export_target() else {
            return;
        };
        let families: Vec<Family> = n
            .families
            .iter()
            .copied()
            .filter(|f| exportable(n, *f) && only.is_none_or(|o| o == *f))
            .collect();
        let export = peer.settings.export;
        let sent = |p: &&Path| p.peer != idx && export.allows(p);
        for (prefix, dest) in self.rib.iter() {
            if !families.contains(&prefix.family()) {
                continue;
            }
            let Some(best) = dest.best().filter(sent) else {
                continue;
            };
            peer.tx.queue(prefix, sent_before, Some(best.attrs.clone()));
        }
        let mut advertised = [0u32; 2];
        for (prefix, dest) in self.rib.iter() {
            if families.contains(&prefix.family()) && dest.best().is_some_and(|p| sent(&p)) {
                advertised[family_index(prefix.family())] += 1;
            }
        }
        for f in families {
            peer.advertised[family_index(f)] = advertised[family_index(f)];
        }
        self.mark_dirty(idx);
    }

    fn mark_dirty(&mut self, idx: PeerIdx) {
        if !self.dirty.contains(&idx) {
            self.dirty.push(idx);
        }
    }

    /// Packs everything queued since the last flush into UPDATEs: the recorded best-path
    /// changes once per update group, then each full table asked for.
    fn flush(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        let dumps = std::mem::take(&mut self.dumps);
        // Peers that came up in this batch had nothing from us: they get the table as it is
        // now instead of the changes.
        let fresh: Vec<PeerIdx> = dumps.iter().filter(|d| !d.2).map(|d| d.0).collect();
        // Peers that get the table again (route refresh, new prepend) take this batch's
        // changes in their own queue, so that each prefix goes out once.
        let mut alone = fresh.clone();
        for &(idx, _, sent_before) in &dumps {
            if sent_before && !alone.contains(&idx) {
                export::queue_changes(self, idx);
                self.mark_dirty(idx);
                alone.push(idx);
            }
        }
        export::flush_groups(self, &alone, &mut out);
        for (idx, only, sent_before) in dumps {
            if sent_before && fresh.contains(&idx) {
                continue;
            }
            self.requeue_all(idx, only, sent_before);
        }
        let dirty = std::mem::take(&mut self.dirty);
        for idx in dirty {
            let local_as = self.local_as;
            let Some(peer) = self.peers.get_mut(idx.0 as usize).and_then(Option::as_mut) else {
                continue;
            };
            let Some((n, direction)) = peer.export_target() else {
                peer.tx = Tx::default();
                continue;
            };
            let to = export::ExportTo {
                local_as,
                prepend: peer.settings.prepend,
                local_addr: n.local_addr,
                cx: n.context,
            };
            let tx = std::mem::take(&mut peer.tx);
            let mut buf = BytesMut::new();
            export::build_updates(tx, &to, &mut buf);
            // Everything queued toward this peer, in writes of at most SEND_CHUNK cut at
            // message boundaries, so the driver can slip KEEPALIVEs in between.
            let mut bytes = buf.freeze();
            while !bytes.is_empty() {
                let cut = wire::pack::message_boundary(&bytes, SEND_CHUNK);
                out.push(Output::Send(idx, direction, bytes.split_to(cut)));
            }
        }
        self.rib.pool.sweep();
        out
    }
}

fn event_is_graceful_timer(e: &Event) -> bool {
    matches!(e, Event::TimerExpired(Timer::GracefulRestart))
}

/// Whether we can give this peer a next hop for `family`: IPv4 routes need an IPv4 session
/// address; IPv6 routes use the session's IPv6 address or an IPv4-mapped one.
fn exportable(n: &Negotiated, family: Family) -> bool {
    n.families.contains(&family)
        && match family {
            Family::Ipv4Unicast => n.local_addr.is_ipv4(),
            Family::Ipv6Unicast => true,
        }
}

/// The attributes sent to an eBGP peer for a path (RFC 4271 §5.1).
fn export_attributes(src: &PathAttrs, local_as: u32, prepend: u8) -> Attributes {
    let mut attrs = src.attrs.clone();
    attrs.as_path.prepend(local_as, 1 + usize::from(prepend));
    // §5.1.4: MED is not passed on to other neighbouring ASes; §5.1.5: no LOCAL_PREF to eBGP.
    attrs.med = None;
    attrs.local_pref = None;
    attrs.next_hop = None;
    attrs
}

/// Largest single write the speaker hands the driver.
pub const SEND_CHUNK: usize = 256 * 1024;

mod export;
#[cfg(test)]
mod golden;
#[cfg(test)]
mod tests;
