//! A tokio driver for single-hop BFD (RFC 5881): the sockets, the clock and the randomness
//! that [`Session`] leaves to its caller.
//!
//! One [`Driver`] is one task. It is meant to run per network namespace (per circuit routing
//! domain): every socket it uses comes from the factory it was given, so a caller creates
//! them inside the namespace (`setns(2)` on a helper thread) and the driver never changes
//! namespace itself.
//!
//! Data flow:
//! - per local address, one receive socket bound to `local:3784` with `IP_MINTTL` /
//!   `IPV6_MINHOPCOUNT` 255, so the kernel drops anything that crossed a router (RFC 5881
//!   §5); a reader task forwards each datagram to the driver task;
//! - the driver task decodes it ([`ControlPacket::decode`], the §6.8.6 checks), picks the
//!   session by Your Discriminator or, when that is zero, by source address, and feeds it;
//! - per peer, one send socket bound to `local:<port>` with a port from 49152–65535 kept for
//!   the session's life, TTL / Hop Limit 255;
//! - the session's timers are deadlines kept by the driver task; each peer's [`Status`] is
//!   published on a `watch` channel after every input.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::session::{Input, Output, Session, Timers};
use crate::wire::{ControlPacket, Diag, State};
use crate::{SOURCE_PORTS, TTL, UDP_PORT};

/// Largest datagram read; a BFD packet with the longest authentication section is 52 bytes.
const RECV_BUFFER: usize = 256;
/// How many source ports are tried, from a random start, before giving up.
const PORT_ATTEMPTS: u16 = 64;

// ===== types =====

/// Creates a bound UDP socket for an address. Called on the driver task; a caller that runs
/// the driver for a network namespace creates the socket inside it (see the module doc).
pub type SocketFactory = Arc<dyn Fn(SocketAddr) -> io::Result<std::net::UdpSocket> + Send + Sync>;

/// One peer: a single-hop session between `local` and `remote`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConfig {
    pub local: IpAddr,
    pub remote: IpAddr,
    pub timers: Timers,
    /// Start in AdminDown (§6.8.16).
    pub admin_down: bool,
}

impl PeerConfig {
    pub fn new(local: IpAddr, remote: IpAddr, timers: Timers) -> PeerConfig {
        PeerConfig {
            local,
            remote,
            timers,
            admin_down: false,
        }
    }
}

/// What a peer's watch channel carries: the session as a user of BFD sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub state: State,
    /// Why the state last changed (bfd.LocalDiag).
    pub diag: Diag,
    /// The state the peer reports. A peer in AdminDown took the session down on purpose,
    /// which RFC 5882 §3.2 says must not be treated as a path failure.
    pub remote_state: State,
    /// The negotiated transmit interval, before jitter.
    pub tx_interval: Duration,
    /// The detection time in force, once the peer has been heard.
    pub detection_time: Option<Duration>,
}

impl Status {
    fn of(session: &Session) -> Status {
        Status {
            state: session.state(),
            diag: session.local_diag(),
            remote_state: session.remote_state(),
            tx_interval: session.tx_interval(),
            detection_time: session.detection_time(),
        }
    }
}

enum Command {
    AddPeer(
        PeerConfig,
        oneshot::Sender<io::Result<watch::Receiver<Status>>>,
    ),
    RemovePeer(IpAddr),
    SetTimers(IpAddr, Timers),
    Admin(IpAddr, bool),
}

/// A datagram from a reader task: payload, source, and the local address it arrived on.
struct Datagram {
    payload: Vec<u8>,
    source: SocketAddr,
    local: IpAddr,
}

/// Handle to the driver task. Dropping it stops the task and closes its sockets.
#[derive(Debug)]
pub struct Driver {
    commands: mpsc::UnboundedSender<Command>,
    task: AbortOnDrop,
}

// ===== impl Driver =====

impl Driver {
    /// Starts the driver task on the current tokio runtime. `factory` creates every socket
    /// (see [`bind_single_hop`], the usual one).
    pub fn spawn<F>(factory: F) -> Driver
    where
        F: Fn(SocketAddr) -> io::Result<std::net::UdpSocket> + Send + Sync + 'static,
    {
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (datagram_tx, datagram_rx) = mpsc::channel(1024);
        let runner = Runner {
            factory: Arc::new(factory),
            peers: HashMap::new(),
            by_discr: HashMap::new(),
            readers: HashMap::new(),
            datagram_tx,
            rng: Rng::seeded(),
        };
        let task = tokio::spawn(runner.run(command_rx, datagram_rx));
        Driver {
            commands,
            task: AbortOnDrop(task),
        }
    }

    /// Adds a peer and starts its session; the receiver sees each change of its [`Status`].
    /// Fails when its sockets cannot be created or the peer exists already.
    pub async fn add_peer(&self, config: PeerConfig) -> io::Result<watch::Receiver<Status>> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::AddPeer(config, reply))?;
        answer
            .await
            .map_err(|_| io::Error::other("the BFD driver task has stopped"))?
    }

    /// Removes a peer: its session stops and its watch channel closes.
    pub fn remove_peer(&self, remote: IpAddr) -> io::Result<()> {
        self.send(Command::RemovePeer(remote))
    }

    /// New timers for a peer, applied with a Poll Sequence (RFC 5880 §6.8.3).
    pub fn set_timers(&self, remote: IpAddr, timers: Timers) -> io::Result<()> {
        self.send(Command::SetTimers(remote, timers))
    }

    /// Takes a peer's session administratively down, or releases it.
    pub fn set_admin_down(&self, remote: IpAddr, down: bool) -> io::Result<()> {
        self.send(Command::Admin(remote, down))
    }

    fn send(&self, command: Command) -> io::Result<()> {
        self.commands
            .send(command)
            .map_err(|_| io::Error::other("the BFD driver task has stopped"))
    }

    /// Whether the task is still running (it ends only by panicking or being dropped).
    pub fn is_running(&self) -> bool {
        !self.task.0.is_finished()
    }
}

/// A UDP socket for single-hop BFD bound to `addr`: TTL / Hop Limit 255 on what it sends,
/// and `IP_MINTTL` / `IPV6_MINHOPCOUNT` 255 so the kernel discards received packets that
/// crossed a router (RFC 5881 §5, GTSM). Non-blocking, ready for tokio.
pub fn bind_single_hop(addr: SocketAddr) -> io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
        socket.set_unicast_hops_v6(u32::from(TTL))?;
        gtsm::set_min_ttl(&socket, libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT)?;
    } else {
        socket.set_ttl_v4(u32::from(TTL))?;
        gtsm::set_min_ttl(&socket, libc::IPPROTO_IP, libc::IP_MINTTL)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// The one `unsafe` call of this crate: socket2 has no setter for the minimum TTL.
mod gtsm {
    use std::os::fd::AsRawFd;

    pub(super) fn set_min_ttl(
        socket: &socket2::Socket,
        level: libc::c_int,
        name: libc::c_int,
    ) -> std::io::Result<()> {
        let value: libc::c_int = libc::c_int::from(crate::TTL);
        // SAFETY: the descriptor is open for the duration of the call (borrowed from
        // `socket`); the option value points to a live c_int and the length passed is exactly
        // its size, so the kernel reads only valid memory.
        #[allow(unsafe_code)]
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                level,
                name,
                (&raw const value).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }
}

// ===== the driver task =====

struct Peer {
    config: PeerConfig,
    session: Session,
    socket: UdpSocket,
    tx_at: Option<Instant>,
    detect_at: Option<Instant>,
    status: watch::Sender<Status>,
}

struct Runner {
    factory: SocketFactory,
    peers: HashMap<IpAddr, Peer>,
    by_discr: HashMap<NonZeroU32, IpAddr>,
    /// One reader task per local address.
    readers: HashMap<IpAddr, AbortOnDrop>,
    datagram_tx: mpsc::Sender<Datagram>,
    rng: Rng,
}

impl Runner {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut datagrams: mpsc::Receiver<Datagram>,
    ) {
        loop {
            let next = self.next_deadline();
            tokio::select! {
                command = commands.recv() => match command {
                    Some(command) => self.command(command),
                    None => return,
                },
                Some(datagram) = datagrams.recv() => self.datagram(datagram),
                () = sleep_until(next) => self.expire(Instant::now()),
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.peers
            .values()
            .flat_map(|p| [p.tx_at, p.detect_at])
            .flatten()
            .min()
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::AddPeer(config, reply) => {
                let _ = reply.send(self.add_peer(config));
            }
            Command::RemovePeer(remote) => {
                if let Some(peer) = self.peers.remove(&remote) {
                    self.by_discr.remove(&peer.session.local_discriminator());
                    let local = peer.config.local;
                    if !self.peers.values().any(|p| p.config.local == local) {
                        self.readers.remove(&local);
                    }
                }
            }
            Command::SetTimers(remote, timers) => self.input(
                remote,
                Input::SetTimers {
                    desired_min_tx: timers.desired_min_tx,
                    required_min_rx: timers.required_min_rx,
                    detect_mult: timers.detect_mult,
                },
            ),
            Command::Admin(remote, down) => self.input(
                remote,
                if down {
                    Input::AdminDown
                } else {
                    Input::AdminUp
                },
            ),
        }
    }

    fn add_peer(&mut self, config: PeerConfig) -> io::Result<watch::Receiver<Status>> {
        if self.peers.contains_key(&config.remote) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("BFD peer {} exists already", config.remote),
            ));
        }
        if !self.readers.contains_key(&config.local) {
            let socket = self.socket(SocketAddr::new(config.local, UDP_PORT))?;
            let reader = tokio::spawn(read(socket, config.local, self.datagram_tx.clone()));
            self.readers.insert(config.local, AbortOnDrop(reader));
        }
        let socket = self.source_socket(config.local)?;
        let discr = loop {
            if let Some(d) = NonZeroU32::new(self.rng.next_u32())
                && !self.by_discr.contains_key(&d)
            {
                break d;
            }
        };
        let mut session =
            Session::new(config.timers, discr, config.admin_down, self.rng.next_u32());
        let (status, receiver) = watch::channel(Status::of(&session));
        let outputs = session.start();
        let remote = config.remote;
        self.by_discr.insert(discr, remote);
        self.peers.insert(
            remote,
            Peer {
                config,
                session,
                socket,
                tx_at: None,
                detect_at: None,
                status,
            },
        );
        self.apply(remote, outputs);
        Ok(receiver)
    }

    /// The send socket of a session: a source port from 49152–65535 (RFC 5881 §4), tried
    /// from a random start.
    fn source_socket(&mut self, local: IpAddr) -> io::Result<UdpSocket> {
        let span = SOURCE_PORTS.end() - SOURCE_PORTS.start() + 1;
        let start = self.rng.next_u32() as u16 % span;
        let mut last = None;
        for i in 0..PORT_ATTEMPTS {
            let port = SOURCE_PORTS.start() + (start + i) % span;
            match self.socket(SocketAddr::new(local, port)) {
                Ok(s) => return Ok(s),
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no source port available")))
    }

    fn socket(&self, addr: SocketAddr) -> io::Result<UdpSocket> {
        let socket = (self.factory)(addr)?;
        socket.set_nonblocking(true)?;
        UdpSocket::from_std(socket)
    }

    fn datagram(&mut self, d: Datagram) {
        let packet = match ControlPacket::decode(&d.payload) {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!(source = %d.source, error = %e, "BFD packet discarded");
                return;
            }
        };
        // RFC 5880 §6.8.6: Your Discriminator selects the session; when it is zero, RFC 5881
        // §3 selects by source address (and the interface, which the local address stands
        // for here).
        let remote = match packet.your_discriminator {
            Some(d) => self.by_discr.get(&d).copied(),
            None => Some(d.source.ip()).filter(|ip| {
                self.peers
                    .get(ip)
                    .is_some_and(|p| p.config.local == d.local)
            }),
        };
        match remote {
            Some(remote) if remote == d.source.ip() => {
                self.input(remote, Input::PacketReceived(packet));
            }
            _ => tracing::debug!(source = %d.source, "BFD packet for no session discarded"),
        }
    }

    fn expire(&mut self, now: Instant) {
        let mut due = Vec::new();
        for (remote, peer) in &mut self.peers {
            if peer.tx_at.is_some_and(|t| t <= now) {
                peer.tx_at = None;
                due.push((*remote, true));
            }
            if peer.detect_at.is_some_and(|t| t <= now) {
                peer.detect_at = None;
                due.push((*remote, false));
            }
        }
        for (remote, tx) in due {
            let input = if tx {
                Input::TxTimerExpired {
                    random: self.rng.next_u32(),
                }
            } else {
                Input::DetectionTimerExpired
            };
            self.input(remote, input);
        }
    }

    fn input(&mut self, remote: IpAddr, input: Input) {
        let Some(peer) = self.peers.get_mut(&remote) else {
            return;
        };
        let outputs = peer.session.handle(input);
        self.apply(remote, outputs);
    }

    fn apply(&mut self, remote: IpAddr, outputs: Vec<Output>) {
        let Some(peer) = self.peers.get_mut(&remote) else {
            return;
        };
        let now = Instant::now();
        for output in outputs {
            match output {
                Output::Send(packet) => {
                    let to = SocketAddr::new(remote, UDP_PORT);
                    if let Err(e) = peer.socket.try_send_to(&packet.encode(), to) {
                        tracing::debug!(peer = %remote, error = %e, "BFD send failed");
                    }
                }
                Output::ArmTxTimer(after) => peer.tx_at = Some(now + after),
                Output::ArmDetectionTimer(after) => peer.detect_at = Some(now + after),
                Output::CancelDetectionTimer => peer.detect_at = None,
                Output::StateChanged { from, to, diag } => {
                    tracing::info!(
                        peer = %remote,
                        local = %peer.config.local,
                        %from,
                        %to,
                        %diag,
                        "BFD session state changed"
                    );
                }
            }
        }
        let status = Status::of(&peer.session);
        peer.status.send_if_modified(|s| {
            let changed = *s != status;
            *s = status;
            changed
        });
    }
}

/// Forwards every datagram received on `socket` to the driver task.
async fn read(socket: UdpSocket, local: IpAddr, to: mpsc::Sender<Datagram>) {
    let mut buf = [0u8; RECV_BUFFER];
    loop {
        match socket.recv_from(&mut buf).await {
            Ok((len, source)) => {
                let payload = buf.get(..len).unwrap_or_default().to_vec();
                let datagram = Datagram {
                    payload,
                    source,
                    local,
                };
                if to.send(datagram).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                // ICMP errors surface here on some kernels; they say nothing about BFD.
                tracing::debug!(%local, error = %e, "BFD receive error");
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// A task aborted when its handle is dropped.
#[derive(Debug)]
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// xorshift64*: jitter, discriminators and source ports need spread, not secrecy.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn seeded() -> Rng {
        let seed = getrandom::u64().unwrap_or_else(|_| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0x9e37_79b9_7f4a_7c15, |d| d.as_nanos() as u64)
        });
        Rng(seed | 1)
    }

    fn next_u32(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const MS: Duration = Duration::from_millis(1);

    async fn wait_state(rx: &mut watch::Receiver<Status>, state: State, within: Duration) {
        let reached = tokio::time::timeout(within, rx.wait_for(|s| s.state == state))
            .await
            .is_ok_and(|r| r.is_ok());
        assert!(reached, "not {state} within {within:?}: {:?}", *rx.borrow());
    }

    #[tokio::test]
    async fn two_drivers_on_loopback_bring_a_session_up_and_detect_its_loss() {
        // 127.0.0.1 ↔ 127.0.0.2 are two local addresses: each driver owns one.
        let a_addr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
        let b_addr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        let fast = Timers {
            desired_min_tx: 50 * MS,
            required_min_rx: 50 * MS,
            detect_mult: 3,
        };
        let a = Driver::spawn(bind_single_hop);
        let b = Driver::spawn(bind_single_hop);
        let a_rx = match a.add_peer(PeerConfig::new(a_addr, b_addr, fast)).await {
            Ok(rx) => rx,
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                eprintln!("skipping: cannot bind BFD port 3784 ({e})");
                return;
            }
            Err(e) => panic!("add peer: {e}"),
        };
        let b_rx = b
            .add_peer(PeerConfig::new(b_addr, a_addr, fast))
            .await
            .expect("add peer");
        let (mut a_rx, mut b_rx) = (a_rx, b_rx);
        wait_state(&mut a_rx, State::Up, Duration::from_secs(10)).await;
        wait_state(&mut b_rx, State::Up, Duration::from_secs(10)).await;
        // Once B's packets advertise its Up rate rather than the 1 s idle rate:
        let fast_detection = a_rx.wait_for(|s| s.detection_time == Some(150 * MS));
        let negotiated = tokio::time::timeout(Duration::from_secs(5), fast_detection)
            .await
            .is_ok_and(|r| r.is_ok());
        assert!(negotiated, "{:?}", *a_rx.borrow());
        drop(b);
        wait_state(&mut a_rx, State::Down, Duration::from_secs(2)).await;
        assert_eq!(a_rx.borrow().diag, Diag::ControlDetectionTimeExpired);
    }
}
