//! The control plane's listener: accepts TCP connections (HTTPS, or plain HTTP on loopback)
//! and serves the API on them, with deadlines and caps so that slow or idle clients cannot
//! take the server away from everyone else.
//!
//! What it enforces, per connection (the numbers are [`Limits::default`]):
//! - **TLS handshake** within 10 s of the connection being accepted, else it is closed.
//! - **Request head**: the first request's head within 10 s of the connection being
//!   accepted; a later request's head within 10 s of its first byte. Else the connection is
//!   closed without an answer (there is no request to answer yet). Bytes that trickle in do
//!   not extend it: the deadline is for the whole head.
//! - **Idle keep-alive**: a connection that has answered a request and receives no byte of
//!   the next one for 60 s is closed (HTTP/2: no open stream for 60 s).
//! - **Request body**: the whole body within 30 s of its head, else `408` with an ARM error
//!   body (code `RequestTimeout`) and the connection is closed.
//! - **Body size**: at most 4 MiB, else `413` with an ARM error body (code
//!   `RequestEntityTooLarge`); a declared `Content-Length` over the limit is refused before
//!   any of the body is read.
//! - After a `408` or `413` on HTTP/1 the rest of the body is unread, and closing a socket
//!   with unread data sends a reset that can destroy the answer before the client reads it
//!   (most clients send the whole body before reading). So the connection closes its sending
//!   side and then reads and discards what still comes for up to [`LINGER`] ("lingering
//!   close", as nginx does). HTTP/2 ends just the stream, with `RST_STREAM(NO_ERROR)`.
//! - **Writing**: a client that stops reading our answer for 30 s is cut off.
//!
//! And per server: at most 4,096 connections (never more than the descriptor limit less a
//! reserve for the store, the edges and the runtime; [`serve`] first raises RLIMIT_NOFILE's
//! soft limit to the hard one) and at most 256 per client address. A connection over a cap
//! is closed as soon as it is accepted, before any TLS work, so it costs one descriptor for a
//! moment and never stops the server from serving others.
//!
//! Why: an outside probe held 1,009 idle TLS connections from one client until the process
//! ran out of descriptors and every other request timed out, and 200 clients sending one
//! header byte every 5 s were held indefinitely.
//!
//! Design: our own accept loop over tokio's `TcpListener`, tokio-rustls and hyper-util's
//! `auto` connection builder, rather than axum-server. axum-server 0.9 offers a handshake
//! timeout, a first-request timeout and `http_builder()`, but no connection caps, no idle
//! deadline between keep-alive requests (hyper's `header_read_timeout` restarts its clock at
//! the previous response, so it cannot tell an idle connection from a slow head) and no
//! body deadline; adding those through its `Accept` hook would mean wrapping its streams and
//! services anyway. Here one small watchdog per connection (`Activity`) owns the
//! connection-level deadlines, a body wrapper owns the per-request ones, and the caps are
//! checked in the accept loop itself.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Request, StatusCode, Version, header};
use axum::response::Response;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;

use crate::arm::{ArmError, Status};

/// How long a connection that answered before reading its whole request body goes on
/// discarding the rest, so that its answer is not lost to a reset.
pub const LINGER: Duration = Duration::from_secs(5);

/// Deadlines and caps of the listener; [`Limits::default`] is what `causeway serve` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The TLS handshake, from the connection being accepted.
    pub handshake: Duration,
    /// A request head: the first from the connection being accepted, a later one from its
    /// first byte.
    pub header_read: Duration,
    /// A request body, from its head.
    pub body_read: Duration,
    /// A keep-alive connection with no request in progress and no byte of the next one.
    pub idle: Duration,
    /// A write (or flush) that the client does not let finish.
    pub write_stall: Duration,
    /// Largest request body, in bytes.
    pub max_body: usize,
    /// Connections at once (lowered to what the descriptor limit allows, see
    /// [`connection_cap`]).
    pub max_connections: usize,
    /// Connections at once from one client address.
    pub max_per_ip: usize,
    /// Descriptors kept out of the connection cap for everything else the process opens.
    pub fd_reserve: u64,
    /// How long connections get to finish their requests once shutdown starts.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            handshake: Duration::from_secs(10),
            header_read: Duration::from_secs(10),
            body_read: Duration::from_secs(30),
            idle: Duration::from_secs(60),
            write_stall: Duration::from_secs(30),
            max_body: 4 << 20,
            max_connections: 4096,
            max_per_ip: 256,
            fd_reserve: 256,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// The connection cap for a descriptor limit of `nofile`: `max_connections`, but never more
/// than `nofile - fd_reserve` (and at least one).
pub fn connection_cap(limits: &Limits, nofile: u64) -> usize {
    let room = usize::try_from(nofile.saturating_sub(limits.fd_reserve)).unwrap_or(usize::MAX);
    limits.max_connections.min(room).max(1)
}

/// Raises RLIMIT_NOFILE's soft limit as far as the hard limit allows; returns the soft limit
/// now in force (the old one if raising failed, which is logged).
pub fn raise_nofile_limit() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    // Linux refuses a soft limit above fs.nr_open (1,048,576 by default) even when the hard
    // limit is "unlimited"; more than that is never needed here.
    const CEILING: u64 = 1 << 20;
    let (soft, hard) = match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok(limits) => limits,
        Err(e) => {
            tracing::warn!("cannot read the file descriptor limit ({e}); assuming 1024");
            return 1024;
        }
    };
    let target = hard.min(CEILING).max(soft);
    if target == soft {
        return soft;
    }
    match setrlimit(Resource::RLIMIT_NOFILE, target, hard) {
        Ok(()) => target,
        Err(e) => {
            tracing::warn!("cannot raise the file descriptor limit from {soft} to {target}: {e}");
            soft
        }
    }
}

/// Connections the kernel queues before we accept them (clamped to `net.core.somaxconn`).
pub const BACKLOG: u32 = 4096;

/// Binds the listening socket for [`serve`], with a [`BACKLOG`] deep accept queue.
///
/// `TcpListener::bind` asks for 128, like std. During a burst of connections that queue
/// overflows, and Linux then drops the client's final handshake ACK: the client believes it
/// is connected while the server only learns of it at a SYN-ACK retransmission 1, 3, 7…
/// seconds later, so under a flood even legitimate clients wait seconds.
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Loads a PEM certificate chain and key for [`serve`] (ALPN: h2, http/1.1).
pub async fn tls_config(cert: &Path, key: &Path) -> io::Result<Arc<ServerConfig>> {
    let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key).await?;
    Ok(config.get_inner())
}

/// Serves `app` on `listener` (over TLS when `tls` is given) until `shutdown` resolves, then
/// stops accepting, lets open requests finish for [`Limits::shutdown_grace`] and returns.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let nofile = raise_nofile_limit();
    let cap = connection_cap(&limits, nofile);
    tracing::info!(
        "file descriptor limit {nofile}: at most {cap} connections, {} per client address",
        limits.max_per_ip
    );
    let mut builder = Builder::new(TokioExecutor::new());
    // hyper's own header timeout is off: it restarts at each response, so it would close
    // idle keep-alive connections after `header_read`; the watchdog does both jobs.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(100);
    let shared = Arc::new(Shared {
        app: app.layer(DefaultBodyLimit::max(limits.max_body)),
        limits,
        builder,
        tls: tls.map(TlsAcceptor::from),
    });
    let slots = Arc::new(Semaphore::new(cap));
    let per_ip = Arc::new(PerIp {
        max: limits.max_per_ip,
        counts: Mutex::new(HashMap::new()),
    });
    let (stop_tx, stop_rx) = watch::channel(Phase::Serving);
    let mut over_server = Refusals::new("the server's connection cap", cap);
    let mut over_ip = Refusals::new("the per-address connection cap", limits.max_per_ip);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(&e).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            over_server.note(peer);
            continue;
        };
        let Some(ip_slot) = per_ip.try_acquire(peer.ip()) else {
            over_ip.note(peer);
            continue;
        };
        let shared = shared.clone();
        let stop = stop_rx.clone();
        tokio::spawn(async move {
            connection(&shared, stream, peer, stop).await;
            drop((slot, ip_slot));
        });
    }
    drop(listener);
    tracing::info!("shutting down");
    let _ = stop_tx.send(Phase::Draining);
    let all = u32::try_from(cap).unwrap_or(u32::MAX);
    if tokio::time::timeout(limits.shutdown_grace, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!(
            "{} connections still open after {:?}; closing them",
            cap - slots.available_permits(),
            limits.shutdown_grace
        );
        let _ = stop_tx.send(Phase::Closing);
        // Each task drops its connection at once; wait for that, briefly.
        let _ = tokio::time::timeout(Duration::from_secs(1), slots.acquire_many(all)).await;
    }
    Ok(())
}

/// Where the server is in its life, for the connection tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Serving,
    /// No new requests: connections end once their answers are sent.
    Draining,
    /// The grace period is over: connections are dropped.
    Closing,
}

/// What every connection task shares.
struct Shared {
    app: Router,
    limits: Limits,
    builder: Builder<TokioExecutor>,
    tls: Option<TlsAcceptor>,
}

/// An accept error: out of descriptors or memory backs off briefly (the kernel keeps the
/// connection queued); anything else concerns one connection only.
async fn accept_failed(e: &io::Error) {
    use nix::errno::Errno;
    let errno = e.raw_os_error().map(Errno::from_raw);
    if matches!(
        errno,
        Some(Errno::EMFILE | Errno::ENFILE | Errno::ENOBUFS | Errno::ENOMEM)
    ) {
        tracing::warn!("cannot accept a connection: {e}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    } else {
        tracing::debug!("accept failed: {e}");
    }
}

/// Connections refused over one cap, logged at most every 10 s so an attack cannot flood
/// the log.
#[derive(Debug)]
struct Refusals {
    cap: &'static str,
    n: usize,
    unlogged: u64,
    last_log: Option<Instant>,
}

impl Refusals {
    fn new(cap: &'static str, n: usize) -> Refusals {
        Refusals {
            cap,
            n,
            unlogged: 0,
            last_log: None,
        }
    }

    fn note(&mut self, peer: SocketAddr) {
        self.unlogged += 1;
        let now = Instant::now();
        if self
            .last_log
            .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(10))
        {
            tracing::warn!(
                "refused {} connection(s) over {} ({}); the latest from {peer}",
                self.unlogged,
                self.cap,
                self.n
            );
            self.unlogged = 0;
            self.last_log = Some(now);
        }
    }
}

// ===== per-address cap =====

/// Open connections per client address.
#[derive(Debug)]
struct PerIp {
    max: usize,
    counts: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's place in [`PerIp`]; given back on drop.
#[derive(Debug)]
struct IpSlot {
    table: Arc<PerIp>,
    ip: IpAddr,
}

impl PerIp {
    fn lock(&self) -> MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Option<IpSlot> {
        // An IPv4 client on a dual-stack socket is the same client as over IPv4.
        let ip = ip.to_canonical();
        let mut counts = self.lock();
        let n = counts.entry(ip).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(IpSlot {
            table: self.clone(),
            ip,
        })
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut counts = self.table.lock();
        if let Some(n) = counts.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

// ===== one connection =====

async fn connection(
    shared: &Shared,
    stream: TcpStream,
    peer: SocketAddr,
    mut stop: watch::Receiver<Phase>,
) {
    let accepted = Instant::now();
    let _ = stream.set_nodelay(true);
    let Some(acceptor) = &shared.tls else {
        return serve_http(shared, stream, peer, accepted, true, stop).await;
    };
    let handshake = tokio::time::timeout_at(accepted + shared.limits.handshake, async {
        acceptor.accept(stream).await
    });
    let tls = tokio::select! {
        result = handshake => result,
        () = reached(&mut stop, Phase::Draining) => return,
    };
    match tls {
        Ok(Ok(tls)) => {
            // HTTP/2 frames (pings, window updates) are not request heads: on h2 only the
            // idle and write deadlines apply between requests.
            let h1 = tls.get_ref().1.alpn_protocol() != Some(b"h2");
            serve_http(shared, tls, peer, accepted, h1, stop).await;
        }
        Ok(Err(e)) => tracing::debug!("TLS handshake with {peer} failed: {e}"),
        Err(_) => tracing::debug!("closing {peer}: no TLS handshake within the deadline"),
    }
}

async fn serve_http<S>(
    shared: &Shared,
    stream: S,
    peer: SocketAddr,
    accepted: Instant,
    h1: bool,
    mut stop: watch::Receiver<Phase>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new(accepted));
    let io = TokioIo::new(Tracked {
        inner: stream,
        activity: activity.clone(),
        head_bytes: h1,
        shut: false,
        linger: None,
    });
    let service = Guarded {
        app: shared.app.clone(),
        limits: shared.limits,
        activity: activity.clone(),
    };
    let mut conn = std::pin::pin!(shared.builder.serve_connection(io, service));
    let mut watchdog = std::pin::pin!(activity.watchdog(shared.limits));
    let ended = tokio::select! {
        result = conn.as_mut() => Ok(result),
        expired = watchdog.as_mut() => Err(expired),
        () = reached(&mut stop, Phase::Draining) => {
            // Ends the connection once its requests are answered (at once when idle).
            conn.as_mut().graceful_shutdown();
            tokio::select! {
                result = conn.as_mut() => Ok(result),
                expired = watchdog.as_mut() => Err(expired),
                () = reached(&mut stop, Phase::Closing) => Ok(Ok(())),
            }
        }
    };
    match ended {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::debug!("connection from {peer} ended: {e}"),
        Err(expired) => tracing::debug!("closing {peer}: {expired}"),
    }
}

/// Resolves once the server has reached `phase` (or is gone).
async fn reached(stop: &mut watch::Receiver<Phase>, phase: Phase) {
    let _ = stop.wait_for(|now| *now >= phase).await;
}

/// Why the watchdog closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expiry {
    Head,
    Idle,
    Write,
}

impl std::fmt::Display for Expiry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Expiry::Head => "no complete request head within the deadline",
            Expiry::Idle => "idle past the keep-alive deadline",
            Expiry::Write => "the client stopped reading",
        })
    }
}

/// What a connection is doing, as far as its deadlines care; shared by the stream wrapper,
/// the service wrapper and the watchdog.
#[derive(Debug)]
struct Activity {
    state: Mutex<ActivityState>,
    changed: Notify,
}

#[derive(Debug)]
struct ActivityState {
    /// Requests whose answer has not been sent yet.
    in_flight: usize,
    /// Requests begun so far.
    served: u64,
    /// When the connection was accepted or its last answer was sent.
    idle_since: Instant,
    /// The first byte of the next request head, read while idle.
    head_started: Option<Instant>,
    /// A write the client has not let finish since then.
    write_blocked: Option<Instant>,
    /// An answer went out before its request body was read (HTTP/1): linger at close.
    unread_body: bool,
}

impl ActivityState {
    /// The next deadline, if any.
    fn deadline(&self, limits: &Limits) -> Option<(Instant, Expiry)> {
        let read = if self.in_flight > 0 {
            None
        } else if self.served == 0 {
            Some((self.idle_since + limits.header_read, Expiry::Head))
        } else if let Some(started) = self.head_started {
            Some((started + limits.header_read, Expiry::Head))
        } else {
            Some((self.idle_since + limits.idle, Expiry::Idle))
        };
        let write = self
            .write_blocked
            .map(|since| (since + limits.write_stall, Expiry::Write));
        match (read, write) {
            (Some(r), Some(w)) => Some(if w.0 < r.0 { w } else { r }),
            (r, w) => r.or(w),
        }
    }
}

impl Activity {
    fn new(accepted: Instant) -> Activity {
        Activity {
            state: Mutex::new(ActivityState {
                in_flight: 0,
                served: 0,
                idle_since: accepted,
                head_started: None,
                write_blocked: None,
                unread_body: false,
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ActivityState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Resolves when a connection-level deadline passes.
    async fn watchdog(&self, limits: Limits) -> Expiry {
        loop {
            let next = self.lock().deadline(&limits);
            match next {
                Some((at, why)) if at <= Instant::now() => return why,
                Some((at, _)) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = self.changed.notified() => {}
                    }
                }
                // A single waiter: `notify_one` keeps a permit if the change came first.
                None => self.changed.notified().await,
            }
        }
    }

    /// A request head has arrived; its answer is in flight until the ticket drops.
    fn begin(self: &Arc<Self>) -> Ticket {
        let mut s = self.lock();
        s.in_flight += 1;
        s.served += 1;
        s.head_started = None;
        drop(s);
        self.changed.notify_one();
        Ticket(self.clone())
    }

    fn read_some(&self) {
        let mut s = self.lock();
        if s.in_flight == 0 && s.served > 0 && s.head_started.is_none() {
            s.head_started = Some(Instant::now());
            drop(s);
            self.changed.notify_one();
        }
    }

    fn write_pending(&self, pending: bool) {
        let mut s = self.lock();
        match (pending, s.write_blocked.is_some()) {
            (true, false) => {
                s.write_blocked = Some(Instant::now());
                drop(s);
                self.changed.notify_one();
            }
            (false, true) => s.write_blocked = None,
            _ => {}
        }
    }
}

/// One request in flight, from its head to the end of its answer.
#[derive(Debug)]
struct Ticket(Arc<Activity>);

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.in_flight = s.in_flight.saturating_sub(1);
        if s.in_flight == 0 {
            s.idle_since = Instant::now();
            s.head_started = None;
        }
        drop(s);
        self.0.changed.notify_one();
    }
}

/// The connection's stream, telling [`Activity`] when bytes arrive and when writes stall.
#[derive(Debug)]
struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
    /// Whether bytes read while idle start a request head (HTTP/1).
    head_bytes: bool,
    /// Our sending side is shut down.
    shut: bool,
    /// Lingering close: until when the rest of the input is discarded.
    linger: Option<Pin<Box<Sleep>>>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if self.head_bytes && matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read_some();
        }
        result
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Tracked<S> {
    fn track<T>(&self, poll: Poll<T>) -> Poll<T> {
        self.activity.write_pending(poll.is_pending());
        poll
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.track(poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.track(poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.track(poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if !this.shut {
            let poll = Pin::new(&mut this.inner).poll_shutdown(cx);
            std::task::ready!(this.track(poll))?;
            this.shut = true;
        }
        if !this.activity.lock().unread_body {
            return Poll::Ready(Ok(()));
        }
        // Lingering close: the client sees our answer and end of stream, and its remaining
        // bytes are read (and dropped) until it closes too or LINGER runs out.
        let linger = this
            .linger
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(LINGER)));
        if linger.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Ok(()));
        }
        let mut scratch = [0u8; 8192];
        for _ in 0..64 {
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut this.inner).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if !buf.filled().is_empty() => {}
                Poll::Ready(_) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
        // A fast sender: let other tasks run, then go on.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

// ===== one request =====

/// The router behind the per-request limits: body deadline and size, ARM error bodies.
#[derive(Debug, Clone)]
struct Guarded {
    app: Router,
    limits: Limits,
    activity: Arc<Activity>,
}

impl hyper::service::Service<Request<Incoming>> for Guarded {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let ticket = self.activity.begin();
        let activity = self.activity.clone();
        let mut app = self.app.clone();
        let limits = self.limits;
        Box::pin(async move {
            let h1 = req.version() < Version::HTTP_2;
            let declared = req
                .headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            let response = if declared.is_some_and(|n| n > limits.max_body as u64) {
                too_large(&limits, h1)
            } else {
                let verdict = Arc::new(Verdict::default());
                let req = req.map(|body| {
                    Body::new(Bounded {
                        inner: body,
                        remaining: limits.max_body,
                        deadline: Box::pin(tokio::time::sleep(limits.body_read)),
                        verdict: verdict.clone(),
                    })
                });
                // `Router` is always ready (its `poll_ready` returns `Ready(Ok)`).
                let response = match tower_service::Service::call(&mut app, req).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                match verdict.get() {
                    Some(BodyFault::Slow) => body_timeout(&limits, h1),
                    Some(BodyFault::Large) => too_large(&limits, h1),
                    None if response.status() == StatusCode::PAYLOAD_TOO_LARGE
                        && !is_json(&response) =>
                    {
                        too_large(&limits, h1)
                    }
                    None => response,
                }
            };
            if h1 && response.headers().get(header::CONNECTION) == Some(&CLOSE) {
                activity.lock().unread_body = true;
            }
            Ok(response.map(|body| {
                Body::new(Answer {
                    inner: body,
                    ticket: Some(ticket),
                })
            }))
        })
    }
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

fn too_large(limits: &Limits, h1: bool) -> Response {
    closing(
        ArmError::new(
            Status::PayloadTooLarge,
            "RequestEntityTooLarge",
            format!(
                "The request body is larger than the {} bytes allowed.",
                limits.max_body
            ),
        ),
        h1,
    )
}

fn body_timeout(limits: &Limits, h1: bool) -> Response {
    closing(
        ArmError::new(
            Status::RequestTimeout,
            "RequestTimeout",
            format!(
                "The request body did not arrive within {} seconds.",
                limits.body_read.as_secs_f64()
            ),
        ),
        h1,
    )
}

const CLOSE: HeaderValue = HeaderValue::from_static("close");

/// An ARM error after which the connection cannot go on (part of the body is unread).
fn closing(error: ArmError, h1: bool) -> Response {
    let mut response = crate::http::error_response(&error);
    if h1 {
        // HTTP/2 has no `Connection` header; its stream simply ends.
        response.headers_mut().insert(header::CONNECTION, CLOSE);
    }
    response
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyFault {
    Slow,
    Large,
}

/// What went wrong with a request body, for the answer to say so.
#[derive(Debug, Default)]
struct Verdict(AtomicU8);

impl Verdict {
    fn set(&self, fault: BodyFault) {
        let v = match fault {
            BodyFault::Slow => 1,
            BodyFault::Large => 2,
        };
        let _ = self
            .0
            .compare_exchange(0, v, Ordering::Relaxed, Ordering::Relaxed);
    }

    fn get(&self) -> Option<BodyFault> {
        match self.0.load(Ordering::Relaxed) {
            1 => Some(BodyFault::Slow),
            2 => Some(BodyFault::Large),
            _ => None,
        }
    }
}

/// A request body with a deadline and a size limit.
#[derive(Debug)]
struct Bounded {
    inner: Incoming,
    remaining: usize,
    deadline: Pin<Box<Sleep>>,
    verdict: Arc<Verdict>,
}

impl http_body::Body for Bounded {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.verdict.set(BodyFault::Slow);
            return Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the request body did not arrive in time",
            ))));
        }
        let frame = match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(io::Error::other(e)))),
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => return Poll::Pending,
        };
        if let Some(data) = frame.data_ref() {
            if data.len() > self.remaining {
                self.verdict.set(BodyFault::Large);
                return Poll::Ready(Some(Err(io::Error::other(
                    "the request body is over the limit",
                ))));
            }
            self.remaining -= data.len();
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// An answer's body, holding its request's [`Ticket`] until the last byte is handed over.
#[derive(Debug)]
struct Answer {
    inner: Body,
    ticket: Option<Ticket>,
}

impl http_body::Body for Answer {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let poll = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(poll, Poll::Ready(None)) {
            self.ticket = None;
        }
        poll
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_cap_leaves_the_descriptor_reserve_free() {
        let limits = Limits::default();
        assert_eq!(connection_cap(&limits, 1024), 1024 - 256);
        assert_eq!(connection_cap(&limits, 1_048_576), 4096);
        assert_eq!(connection_cap(&limits, u64::MAX), 4096);
        assert_eq!(connection_cap(&limits, 100), 1);
    }

    #[test]
    fn raising_the_descriptor_limit_never_lowers_it() {
        use nix::sys::resource::{Resource, getrlimit};
        let (before, _) = getrlimit(Resource::RLIMIT_NOFILE).expect("invariant: readable");
        let after = raise_nofile_limit();
        assert!(after >= before, "{after} < {before}");
        let (now, _) = getrlimit(Resource::RLIMIT_NOFILE).expect("invariant: readable");
        assert_eq!(now, after);
    }

    #[test]
    fn a_quiet_connection_has_one_deadline_at_a_time() {
        let limits = Limits::default();
        let t0 = Instant::now();
        let activity = Arc::new(Activity::new(t0));
        let deadline = || activity.lock().deadline(&limits);
        assert_eq!(deadline(), Some((t0 + limits.header_read, Expiry::Head)));
        let ticket = activity.begin();
        assert_eq!(deadline(), None, "no deadline while a request is in flight");
        drop(ticket);
        let idle = activity.lock().idle_since;
        assert_eq!(deadline(), Some((idle + limits.idle, Expiry::Idle)));
        activity.read_some();
        let started = activity.lock().head_started.expect("a byte starts a head");
        assert_eq!(
            deadline(),
            Some((started + limits.header_read, Expiry::Head))
        );
    }
}
