//! One task per routing domain: it owns the domain's [`Speaker`] (sessions and RIB) and
//! carries the speaker's commands out to connections and timers.
//!
//! The task drains every message already waiting before it calls [`Speaker::flush`], so a
//! burst of UPDATEs in is answered by one packed burst out.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bgp::speaker::{Export, Input, Output, PeerSettings};
use bgp::{Direction, Event, PeerIdx, SessionConfig, Speaker, Timer};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::{DomainConfig, ExportName, PeerConfig};
use crate::conn::{self, ConnEvent, ConnHandle};
use crate::fib::{Fib, FibRoute};
use crate::status::{DomainRoutes, DomainStatus, PeerView, RouteView};

/// Messages into a domain task.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum DomainMsg {
    /// A connection accepted by a listener from `remote`.
    Incoming(IpAddr, TcpStream),
    Connected {
        peer: PeerIdx,
        attempt: u64,
        result: std::io::Result<TcpStream>,
    },
    Conn {
        peer: PeerIdx,
        direction: Direction,
        event: ConnEvent,
    },
    Timer {
        peer: PeerIdx,
        timer: Timer,
        generation: u64,
    },
    Status(oneshot::Sender<DomainStatus>),
    Routes(oneshot::Sender<DomainRoutes>),
    /// A new configuration, with the edge's own AS and router id (the domain's defaults).
    Reconfigure {
        local_as: u32,
        router_id: std::net::Ipv4Addr,
        config: Box<DomainConfig>,
    },
    /// Ends every session as `Stop` says, waits (briefly) for their last messages to be
    /// written, then the task ends.
    Shutdown(Stop, oneshot::Sender<()>),
    /// A BFD session toward a peer address changed.
    Bfd {
        address: IpAddr,
        status: bfd::driver::Status,
    },
    /// Time to remove FIB routes of an earlier run that nothing re-announced.
    FibSync,
}

impl DomainMsg {
    /// How many peer messages this carries (at least 1), for the drain budget.
    fn weight(&self) -> usize {
        match self {
            DomainMsg::Conn {
                event: ConnEvent::Messages(_, m, _),
                ..
            } => m.len().max(1),
            _ => 1,
        }
    }
}

/// Why a domain stops: it decides the Cease its sessions get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The domain is gone from the configuration: Cease / Peer De-configured.
    Deconfigured,
    /// The domain starts again elsewhere (another namespace, FIB or listen port): Cease /
    /// Other Configuration Change.
    Reconfigured,
    /// The edge is stopping: Cease / Administrative Shutdown with this RFC 9003 shutdown
    /// communication. The domain's routes stay in the kernel, so forwarding carries on
    /// until the next start relearns them.
    Shutdown(String),
}

/// How long a stopping domain waits for its sessions' last messages to be written.
const STOP_FLUSH: Duration = Duration::from_secs(2);

/// The supervisor's handle on a running domain.
#[derive(Debug)]
pub struct DomainHandle {
    pub tx: mpsc::Sender<DomainMsg>,
    task: JoinHandle<()>,
}

impl Drop for DomainHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DomainHandle {
    /// Stops the domain: every session gets the Cease `why` calls for, then the task ends.
    pub async fn shutdown(self, why: Stop) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(DomainMsg::Shutdown(why, tx)).await.is_ok() {
            let _ = tokio::time::timeout(STOP_FLUSH + Duration::from_secs(1), rx).await;
        }
    }
}

/// Starts a domain task.
pub fn spawn(
    local_as: u32,
    router_id: std::net::Ipv4Addr,
    port: u16,
    config: DomainConfig,
) -> DomainHandle {
    let (tx, rx) = mpsc::channel(1024);
    let edge_identity = (local_as, router_id);
    let mut speaker = Speaker::new(
        config.local_as.unwrap_or(local_as),
        config.router_id.unwrap_or(router_id),
    );
    let fib = if config.fib {
        speaker.enable_fib();
        match Fib::spawn(config.namespace.as_deref()) {
            Ok(f) => {
                // Stale routes of an earlier run stay until the sessions had their chance to
                // re-announce them, then go (see `DomainMsg::FibSync`).
                let tx = tx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(FIB_SYNC_AFTER).await;
                    let _ = tx.send(DomainMsg::FibSync).await;
                });
                Some(f)
            }
            Err(e) => {
                tracing::error!(domain = %config.name, "cannot program the FIB: {e}");
                None
            }
        }
    } else {
        None
    };
    let domain = Domain {
        speaker,
        edge_identity,
        config: DomainConfig {
            peers: Vec::new(),
            ..config.clone()
        },
        port,
        tx: tx.clone(),
        peers: HashMap::new(),
        timers: HashMap::new(),
        next_id: 1,
        bfd: None,
        bfd_peers: HashMap::new(),
        fib,
        fib_synced: false,
        fib_static_done: false,
        closing: Vec::new(),
    };
    let task = tokio::spawn(domain.run(rx, config));
    DomainHandle { tx, task }
}

#[derive(Debug, Default)]
struct PeerRuntime {
    conns: [Option<ConnHandle>; 2],
    attempt: u64,
    up_since: Option<Instant>,
    /// The peer's BFD session state, when BFD runs toward it.
    bfd: Option<bfd::State>,
}

struct Domain {
    speaker: Speaker,
    /// The edge's AS and router id: the domain's unless its configuration names its own.
    edge_identity: (u32, std::net::Ipv4Addr),
    config: DomainConfig,
    port: u16,
    tx: mpsc::Sender<DomainMsg>,
    peers: HashMap<PeerIdx, PeerRuntime>,
    timers: HashMap<(PeerIdx, Timer), (u64, JoinHandle<()>)>,
    next_id: u64,
    /// The domain's BFD driver (sockets in its namespace), made when a peer first wants BFD.
    bfd: Option<Arc<bfd::driver::Driver>>,
    /// Peers BFD runs toward, with their settings and the task forwarding their status.
    bfd_peers: HashMap<IpAddr, (crate::config::BfdConfig, JoinHandle<()>)>,
    /// The namespace's FIB writer, when the domain programs one.
    fib: Option<Fib>,
    /// Whether the startup reconcile of the FIB has run.
    fib_synced: bool,
    /// Whether the static routes have been installed once.
    fib_static_done: bool,
    /// Writers of connections being closed, still sending their last messages.
    closing: Vec<JoinHandle<()>>,
}

/// At the latest this long after a domain starts, FIB routes of an earlier run that no
/// session re-announced are removed (earlier when every peer has sent its End-of-RIB).
pub const FIB_SYNC_AFTER: Duration = Duration::from_secs(15);

fn session_config(local_as: u32, router_id: std::net::Ipv4Addr, p: &PeerConfig) -> SessionConfig {
    SessionConfig {
        local_as,
        router_id,
        remote_as: p.remote_as,
        hold_time: p.hold_time(),
        connect_retry: p.connect_retry(),
        passive: p.passive,
        families: p.families.iter().map(|&f| f.into()).collect(),
        error_wait: p.error_wait.map(crate::config::ErrorWaitConfig::error_wait),
    }
}

fn settings(local_as: u32, router_id: std::net::Ipv4Addr, p: &PeerConfig) -> PeerSettings {
    PeerSettings {
        name: p.name.clone(),
        address: p.address,
        local_address: p.local_address,
        md5_key: p.md5_key.as_deref().map(bgp::speaker::Md5Key::new),
        shutdown: p.shutdown,
        session: session_config(local_as, router_id, p),
        max_prefixes: [p.max_prefixes.ipv4, p.max_prefixes.ipv6],
        prepend: p.prepend,
        weight: p.weight,
        export: match p.export {
            ExportName::All => Export::All,
            ExportName::Learned => Export::Learned,
            ExportName::None => Export::Nothing,
        },
    }
}

impl Domain {
    async fn run(mut self, mut rx: mpsc::Receiver<DomainMsg>, config: DomainConfig) {
        self.reconfigure(config);
        while let Some(msg) = rx.recv().await {
            if let DomainMsg::Shutdown(why, done) = msg {
                return self.stop(why, done).await;
            }
            self.contained(|d| d.handle(msg));
            // Drain what is already waiting (up to about 4096 messages from peers), then pack
            // the resulting updates.
            let mut budget: usize = 4096;
            while budget > 0 {
                match rx.try_recv() {
                    Ok(DomainMsg::Shutdown(why, done)) => return self.stop(why, done).await,
                    Ok(msg) => {
                        let weight = msg.weight();
                        self.contained(|d| d.handle(msg));
                        budget = budget.saturating_sub(weight);
                    }
                    Err(_) => break,
                }
            }
            self.contained(|d| {
                // The flush's FIB changes go to the writer before any startup reconcile, so
                // that what the sessions re-announced is never taken for stale.
                let out = d.speaker.handle(Input::Flush);
                d.execute(out);
                if !d.fib_synced && d.fib.is_some() && d.speaker.initial_tables_complete() {
                    // Every session re-announced its table: what is left is stale.
                    d.fib_sync();
                }
            });
        }
    }

    /// Runs one step; a panic inside it restarts this domain alone (its sessions reset, the
    /// other domains never notice) instead of ending the task.
    fn contained(&mut self, step: impl FnOnce(&mut Domain)) {
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| step(self))).is_err() {
            tracing::error!(domain = %self.config.name, "internal error: restarting this routing domain");
            self.restart();
        }
    }

    /// Ends every session with the Cease `why` calls for and waits up to [`STOP_FLUSH`] for
    /// the NOTIFICATIONs to be written before the connections close.
    async fn stop(mut self, why: Stop, done: oneshot::Sender<()>) {
        if matches!(why, Stop::Shutdown(_)) {
            // The writer goes without being told what the sessions' end withdraws: the
            // kernel keeps forwarding on the last routes until the next start.
            self.fib = None;
        }
        let ids: Vec<PeerIdx> = self.speaker.peers().map(|(i, _)| i).collect();
        self.contained(|d| {
            for idx in ids {
                use bgp::wire::{Notification, cease_subcode, error_code};
                let input = match &why {
                    Stop::Deconfigured => Input::RemovePeer(idx),
                    Stop::Reconfigured => Input::StopPeer(
                        idx,
                        Notification::new(
                            error_code::CEASE,
                            cease_subcode::OTHER_CONFIGURATION_CHANGE,
                        ),
                    ),
                    Stop::Shutdown(message) => Input::StopPeer(
                        idx,
                        Notification::cease_with_communication(
                            cease_subcode::ADMINISTRATIVE_SHUTDOWN,
                            message,
                        ),
                    ),
                };
                let out = d.speaker.handle(input);
                d.execute(out);
            }
        });
        let mut closing = std::mem::take(&mut self.closing);
        for (_, rt) in self.peers.drain() {
            closing.extend(rt.conns.into_iter().flatten().map(ConnHandle::close));
        }
        let _ = tokio::time::timeout(STOP_FLUSH, futures_util::future::join_all(closing)).await;
        let _ = done.send(());
    }

    fn restart(&mut self) {
        for (_, rt) in self.peers.drain() {
            for c in rt.conns.into_iter().flatten() {
                c.close();
            }
        }
        for (_, (_, h)) in self.timers.drain() {
            h.abort();
        }
        self.speaker = Speaker::new(self.speaker.local_as(), self.speaker.router_id());
        if self.fib.is_some() {
            self.speaker.enable_fib();
        }
        let config = self.config.clone();
        self.config.peers.clear();
        self.reconfigure(config);
    }

    fn handle(&mut self, msg: DomainMsg) {
        match msg {
            DomainMsg::Incoming(remote, stream) => self.incoming(remote, stream),
            DomainMsg::Connected {
                peer,
                attempt,
                result,
            } => {
                let current = self.peers.get(&peer).is_some_and(|r| r.attempt == attempt);
                if !current {
                    return;
                }
                match result {
                    Ok(stream) => self.adopt(peer, Direction::Outgoing, stream),
                    Err(e) => {
                        tracing::debug!(peer = ?self.speaker.peer_name(peer), "connect failed: {e}");
                        let out = self
                            .speaker
                            .handle(Input::Event(peer, Event::TcpConnectFailed));
                        self.execute(out);
                    }
                }
            }
            DomainMsg::Conn {
                peer,
                direction,
                event,
            } => self.conn_event(peer, direction, event),
            DomainMsg::Timer {
                peer,
                timer,
                generation,
            } => {
                if self
                    .timers
                    .get(&(peer, timer))
                    .is_some_and(|(g, _)| *g == generation)
                {
                    self.timers.remove(&(peer, timer));
                    let out = self
                        .speaker
                        .handle(Input::Event(peer, Event::TimerExpired(timer)));
                    self.execute(out);
                }
            }
            DomainMsg::Status(reply) => {
                let _ = reply.send(self.status());
            }
            DomainMsg::Routes(reply) => {
                let _ = reply.send(self.routes());
            }
            DomainMsg::Reconfigure {
                local_as,
                router_id,
                config,
            } => {
                self.edge_identity = (local_as, router_id);
                self.reconfigure(*config);
            }
            // Handled by the run loop, which awaits the sessions' end.
            DomainMsg::Shutdown(..) => {}
            DomainMsg::Bfd { address, status } => self.bfd_changed(address, status),
            DomainMsg::FibSync => self.fib_sync(),
        }
    }

    fn incoming(&mut self, remote: IpAddr, stream: TcpStream) {
        let Some(idx) = self.speaker.find_peer(remote) else {
            return;
        };
        if !self.speaker.accepts_incoming(idx) {
            // Idle (backoff or administratively down) or already has an incoming one.
            return;
        }
        self.adopt(idx, Direction::Incoming, stream);
    }

    fn adopt(&mut self, idx: PeerIdx, direction: Direction, stream: TcpStream) {
        let id = self.next_id;
        self.next_id += 1;
        let tx = self.tx.clone();
        let handle = conn::spawn(stream, id, tx, move |event| DomainMsg::Conn {
            peer: idx,
            direction,
            event,
        });
        let handle = match handle {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!("cannot start connection: {e}");
                if direction == Direction::Outgoing {
                    let out = self
                        .speaker
                        .handle(Input::Event(idx, Event::TcpConnectFailed));
                    self.execute(out);
                }
                return;
            }
        };
        let local_addr = handle.local_addr;
        let rt = self.peers.entry(idx).or_default();
        if let Some(old) = rt.conns[direction as usize].replace(handle) {
            old.close();
        }
        let out = self.speaker.handle(Input::Event(
            idx,
            Event::TcpConnected {
                direction,
                local_addr,
            },
        ));
        self.execute(out);
    }

    fn conn_event(&mut self, idx: PeerIdx, direction: Direction, event: ConnEvent) {
        let id = match &event {
            ConnEvent::Message(id, _)
            | ConnEvent::Messages(id, _, _)
            | ConnEvent::DecodeFailed(id, _)
            | ConnEvent::HoldExpired(id)
            | ConnEvent::Closed(id) => *id,
        };
        let current = self
            .peers
            .get(&idx)
            .and_then(|r| r.conns[direction as usize].as_ref())
            .is_some_and(|c| c.id == id);
        if !current {
            return;
        }
        let event = match event {
            ConnEvent::Message(_, m) => Event::MessageReceived(direction, m),
            ConnEvent::Messages(_, messages, _in_flight) => {
                for m in messages {
                    // A message may end the session: the rest are then for a gone connection.
                    let current = self
                        .peers
                        .get(&idx)
                        .and_then(|r| r.conns[direction as usize].as_ref())
                        .is_some_and(|c| c.id == id);
                    if !current {
                        return;
                    }
                    let out = self
                        .speaker
                        .handle(Input::Event(idx, Event::MessageReceived(direction, m)));
                    self.execute(out);
                }
                return;
            }
            ConnEvent::DecodeFailed(_, e) => {
                tracing::warn!(peer = ?self.speaker.peer_name(idx), "malformed message: {e}");
                Event::DecodeFailed(direction, e)
            }
            ConnEvent::HoldExpired(_) => Event::TimerExpired(Timer::Hold(direction)),
            ConnEvent::Closed(_) => {
                if let Some(rt) = self.peers.get_mut(&idx) {
                    rt.conns[direction as usize] = None;
                }
                Event::TcpClosed(direction)
            }
        };
        let out = self.speaker.handle(Input::Event(idx, event));
        self.execute(out);
    }

    fn execute(&mut self, out: Vec<Output>) {
        for o in out {
            match o {
                Output::Connect(idx) => self.connect(idx),
                Output::Send(idx, d, bytes) => {
                    if let Some(c) = self.conn(idx, d) {
                        c.send(bytes);
                    }
                }
                Output::Close(idx, d) => {
                    if let Some(c) = self
                        .peers
                        .get_mut(&idx)
                        .and_then(|r| r.conns[d as usize].take())
                    {
                        self.closing.retain(|h| !h.is_finished());
                        self.closing.push(c.close());
                    }
                }
                Output::SetContext(idx, d, cx) => {
                    if let Some(c) = self.conn(idx, d) {
                        c.set_context(cx);
                    }
                }
                Output::StartKeepalives(idx, d, every) => {
                    if let Some(c) = self.conn(idx, d) {
                        c.start_keepalives(every);
                    }
                }
                Output::SetHoldTimer(idx, d, hold) => {
                    if let Some(c) = self.conn(idx, d) {
                        c.set_hold_time(hold);
                    }
                }
                Output::ArmTimer(idx, timer, after) => self.arm(idx, timer, after),
                Output::CancelTimer(idx, timer) => {
                    if let Some((_, h)) = self.timers.remove(&(idx, timer)) {
                        h.abort();
                    }
                }
                Output::PeerAdded(_) => {}
                Output::Fib(changes) => self.program_fib(changes),
                Output::PeerUp(idx) => {
                    tracing::info!(domain = %self.config.name, peer = ?self.speaker.peer_name(idx), "session established");
                    self.peers.entry(idx).or_default().up_since = Some(Instant::now());
                }
                Output::PeerDown(idx, reason) => {
                    tracing::info!(domain = %self.config.name, peer = ?self.speaker.peer_name(idx), "session down: {reason}");
                    if let Some(rt) = self.peers.get_mut(&idx) {
                        rt.up_since = None;
                    }
                }
            }
        }
    }

    /// Hands the speaker's FIB changes to the namespace's writer; static routes win over
    /// learned ones for the same prefix.
    fn program_fib(&mut self, changes: Vec<bgp::speaker::FibChange>) {
        let Some(fib) = &self.fib else {
            return;
        };
        let routes: Vec<FibRoute> = changes
            .into_iter()
            .filter_map(|c| {
                let prefix = prefix_net(c.prefix);
                (!self.config.routes.iter().any(|r| r.prefix == prefix)).then_some(FibRoute {
                    prefix,
                    next_hops: c.next_hops,
                })
            })
            .collect();
        fib.apply(routes);
    }

    /// The startup reconcile of the FIB, once.
    fn fib_sync(&mut self) {
        if let Some(fib) = &self.fib
            && !self.fib_synced
        {
            self.fib_synced = true;
            fib.sync();
        }
    }

    /// Installs the static routes of a new configuration and removes the ones it dropped
    /// (unless a session still announces them).
    fn program_static(&mut self, old: &[crate::config::StaticRoute]) {
        let Some(fib) = &self.fib else {
            return;
        };
        let mut routes: Vec<FibRoute> = self
            .config
            .routes
            .iter()
            .map(|r| FibRoute {
                prefix: r.prefix,
                next_hops: vec![r.via],
            })
            .collect();
        for r in old {
            if !self.config.routes.iter().any(|n| n.prefix == r.prefix) {
                let learned = self.speaker.next_hops(&net_prefix(r.prefix));
                routes.push(FibRoute {
                    prefix: r.prefix,
                    next_hops: learned,
                });
            }
        }
        fib.apply(routes);
    }

    fn conn(&self, idx: PeerIdx, d: Direction) -> Option<&ConnHandle> {
        self.peers.get(&idx)?.conns[d as usize].as_ref()
    }

    fn arm(&mut self, idx: PeerIdx, timer: Timer, after: Duration) {
        let generation = self.next_id;
        self.next_id += 1;
        let tx = self.tx.clone();
        let h = tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let _ = tx
                .send(DomainMsg::Timer {
                    peer: idx,
                    timer,
                    generation,
                })
                .await;
        });
        if let Some((_, old)) = self.timers.insert((idx, timer), (generation, h)) {
            old.abort();
        }
    }

    fn connect(&mut self, idx: PeerIdx) {
        let Some((_, status)) = self.speaker.peers().find(|(i, _)| *i == idx) else {
            return;
        };
        let addr = SocketAddr::new(status.settings.address, self.port);
        let timeout = status.settings.session.connect_retry;
        let key = status.settings.md5_key.clone();
        let local = status.settings.local_address;
        let rt = self.peers.entry(idx).or_default();
        rt.attempt += 1;
        let attempt = rt.attempt;
        let ns = self.config.namespace.clone();
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let result =
                conn::connect(ns, addr, local, key.as_ref().map(|k| k.as_bytes()), timeout).await;
            let _ = tx
                .send(DomainMsg::Connected {
                    peer: idx,
                    attempt,
                    result,
                })
                .await;
        });
    }

    /// Applies a domain configuration: each peer's change is classified by
    /// [`bgp::reconfigure::classify`] and applied by the speaker — new peers start, removed
    /// ones get Cease / Peer De-configured, changed ones are updated in place or reset with
    /// Cease / Other Configuration Change. A new AS or router id of the domain changes every
    /// peer's session, so each of them resets.
    fn reconfigure(&mut self, config: DomainConfig) {
        let (local_as, router_id) = (
            config.local_as.unwrap_or(self.edge_identity.0),
            config.router_id.unwrap_or(self.edge_identity.1),
        );
        self.speaker.handle(Input::SetIdentity {
            local_as,
            router_id,
        });
        let existing: Vec<(PeerIdx, String)> = self
            .speaker
            .peers()
            .map(|(i, s)| (i, s.settings.name.clone()))
            .collect();
        for (idx, name) in &existing {
            if !config.peers.iter().any(|p| &p.name == name) {
                let out = self.speaker.handle(Input::RemovePeer(*idx));
                self.execute(out);
                if let Some(rt) = self.peers.remove(idx) {
                    for c in rt.conns.into_iter().flatten() {
                        c.close();
                    }
                }
            }
        }
        for p in &config.peers {
            let wanted = settings(local_as, router_id, p);
            let found = existing.iter().find(|(_, n)| n == &p.name).map(|(i, _)| *i);
            let out = match found {
                Some(idx) => {
                    let change =
                        bgp::reconfigure::classify(self.speaker.peer_settings(idx), Some(&wanted));
                    if change != bgp::reconfigure::PeerChange::Unchanged {
                        tracing::info!(domain = %config.name, peer = %p.name, ?change, "peer reconfigured");
                    }
                    self.speaker.handle(Input::UpdatePeer(idx, wanted))
                }
                None => self.speaker.handle(Input::AddPeer(wanted)),
            };
            self.execute(out);
        }
        self.speaker
            .handle(Input::SetOriginated(config.originate.clone()));
        self.sync_bfd(&config);
        let old_routes = std::mem::replace(&mut self.config, config).routes;
        if old_routes != self.config.routes || !self.fib_static_done {
            self.fib_static_done = true;
            self.program_static(&old_routes);
        }
        let out = self.speaker.handle(Input::Flush);
        self.execute(out);
    }

    /// Starts, retunes or stops BFD toward each peer as configured.
    fn sync_bfd(&mut self, config: &DomainConfig) {
        let wanted: HashMap<IpAddr, (IpAddr, crate::config::BfdConfig)> = config
            .peers
            .iter()
            .filter_map(|p| Some((p.address, (p.local_address?, p.bfd?))))
            .collect();
        let gone: Vec<IpAddr> = self
            .bfd_peers
            .keys()
            .filter(|a| !wanted.contains_key(a))
            .copied()
            .collect();
        for address in gone {
            if let Some((_, task)) = self.bfd_peers.remove(&address) {
                task.abort();
            }
            if let Some(d) = &self.bfd {
                let _ = d.remove_peer(address);
            }
            if let Some(idx) = self.speaker.find_peer(address)
                && let Some(rt) = self.peers.get_mut(&idx)
            {
                rt.bfd = None;
            }
        }
        for (address, (local, cfg)) in wanted {
            let timers = bfd_timers(cfg);
            match self.bfd_peers.get_mut(&address) {
                Some((old, _)) if *old == cfg => {}
                Some((old, _)) => {
                    *old = cfg;
                    if let Some(d) = &self.bfd {
                        let _ = d.set_timers(address, timers);
                    }
                }
                None => {
                    let driver = self.bfd_driver().clone();
                    let tx = self.tx.clone();
                    let peer = bfd::driver::PeerConfig::new(local, address, timers);
                    let task = tokio::spawn(async move {
                        let added = driver.add_peer(peer).await;
                        // Only the domain keeps the driver: when the domain goes, its sockets
                        // (and with them its namespace) go too.
                        drop(driver);
                        let mut rx = match added {
                            Ok(rx) => rx,
                            Err(e) => {
                                tracing::warn!(%address, "cannot start BFD: {e}");
                                return;
                            }
                        };
                        loop {
                            let status = *rx.borrow_and_update();
                            if tx.send(DomainMsg::Bfd { address, status }).await.is_err()
                                || rx.changed().await.is_err()
                            {
                                return;
                            }
                        }
                    });
                    self.bfd_peers.insert(address, (cfg, task));
                }
            }
        }
    }

    /// The domain's BFD driver; its sockets are made inside the domain's namespace.
    fn bfd_driver(&mut self) -> &Arc<bfd::driver::Driver> {
        let ns = self.config.namespace.clone();
        self.bfd.get_or_insert_with(|| {
            Arc::new(bfd::driver::Driver::spawn(move |addr| {
                crate::netns::run_in(ns.as_deref(), move || bfd::driver::bind_single_hop(addr))
            }))
        })
    }

    /// A BFD state change: Up → Down takes the BGP session down at once, unless the peer
    /// said it went AdminDown on purpose (RFC 5882 §3.2).
    fn bfd_changed(&mut self, address: IpAddr, status: bfd::driver::Status) {
        let Some(idx) = self.speaker.find_peer(address) else {
            return;
        };
        let rt = self.peers.entry(idx).or_default();
        let was_up = rt.bfd == Some(bfd::State::Up);
        rt.bfd = Some(status.state);
        let path_failed = was_up
            && status.state == bfd::State::Down
            && status.remote_state != bfd::State::AdminDown;
        if path_failed {
            tracing::info!(domain = %self.config.name, peer = %address, "BFD down: ending the BGP session");
            let out = self.speaker.handle(Input::Event(idx, Event::BfdDown));
            self.execute(out);
        } else if !was_up && status.state == bfd::State::Up {
            let out = self.speaker.handle(Input::Event(idx, Event::BfdUp));
            self.execute(out);
        }
    }

    fn status(&self) -> DomainStatus {
        DomainStatus {
            name: self.config.name.clone(),
            peers: self
                .speaker
                .peers()
                .map(|(idx, s)| {
                    let rt = self.peers.get(&idx);
                    PeerView::new(
                        &s,
                        rt.and_then(|r| r.up_since),
                        rt.and_then(|r| r.bfd).map(|b| format!("{b:?}")),
                    )
                })
                .collect(),
            fib_routes: self.fib.as_ref().map(|f| f.installed() as u64),
            fib_errors: self.fib.as_ref().map(Fib::errors),
        }
    }

    fn routes(&self) -> DomainRoutes {
        let mut routes: Vec<RouteView> = Vec::new();
        for (prefix, dest) in self.speaker.rib().iter() {
            for (i, path) in dest.paths().iter().enumerate() {
                let peer = if path.peer == PeerIdx::LOCAL {
                    "local".to_owned()
                } else {
                    self.speaker.peer_name(path.peer).unwrap_or("?").to_owned()
                };
                routes.push(RouteView::new(prefix, peer, path, i == 0));
            }
        }
        routes.sort_by_key(|r| (r.sort_key(), !r.best));
        DomainRoutes {
            name: self.config.name.clone(),
            routes,
        }
    }
}

impl Drop for Domain {
    fn drop(&mut self) {
        for (_, (_, task)) in self.bfd_peers.drain() {
            task.abort();
        }
    }
}

fn bfd_timers(cfg: crate::config::BfdConfig) -> bfd::Timers {
    let interval = Duration::from_millis(u64::from(cfg.interval_ms));
    bfd::Timers {
        desired_min_tx: interval,
        required_min_rx: interval,
        detect_mult: cfg.multiplier,
    }
}

fn prefix_net(p: bgp::wire::Prefix) -> ipnet::IpNet {
    match p {
        bgp::wire::Prefix::V4(n) => ipnet::IpNet::V4(n),
        bgp::wire::Prefix::V6(n) => ipnet::IpNet::V6(n),
    }
}

fn net_prefix(n: ipnet::IpNet) -> bgp::wire::Prefix {
    match n {
        ipnet::IpNet::V4(n) => bgp::wire::Prefix::V4(n),
        ipnet::IpNet::V6(n) => bgp::wire::Prefix::V6(n),
    }
}
