//! The harness's own BGP speakers: the senders that push a table at the target and the
//! monitors that receive what the target exports.
//!
//! Sockets are created in the sender's or monitor's network namespace by a [`Connector`]
//! thread (setns(2) on that thread only), then handed to tokio. A session is
//! OPEN → OPEN → KEEPALIVE → KEEPALIVE and then two tasks:
//! - the reader frames every message from the target, keeps [`Liveness`] (longest silence,
//!   NOTIFICATION, close) and gives UPDATE bodies to a callback (the monitor's table; a sender
//!   discards them);
//! - the writer sends KEEPALIVEs every hold/3 and, on command, a pre-encoded [`Stream`] as fast
//!   as the socket takes it, with KEEPALIVEs between its 64 KiB chunks when one is due. It
//!   reports when the first and the last byte went into the socket.

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bgp::wire::{AS_TRANS, Capability, Context, Family, Message, Open, frame};
use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::pack::Stream;

// ===== Connector =====

/// A thread inside a network namespace that opens TCP connections on request.
#[derive(Debug)]
pub struct Connector {
    tx: Option<std::sync::mpsc::Sender<ConnectRequest>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

type ConnectRequest = (
    SocketAddr,
    SocketAddr,
    oneshot::Sender<std::io::Result<std::net::TcpStream>>,
);

impl Connector {
    /// Starts the thread and moves it into namespace `ns` (a name under /run/netns).
    pub fn new(ns: &str) -> anyhow::Result<Connector> {
        let path = format!("/run/netns/{ns}");
        let file = File::open(&path).with_context(|| format!("cannot open {path}"))?;
        let (tx, rx) = std::sync::mpsc::channel::<ConnectRequest>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(format!("connect-{ns}"))
            .spawn(move || {
                let entered = nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET);
                let ok = entered.is_ok();
                let _ = ready_tx.send(entered.map_err(|e| e.to_string()));
                if !ok {
                    return;
                }
                for (local, remote, reply) in rx {
                    // The session gave up waiting (timeout, interrupt): skip its connect.
                    if !reply.is_closed() {
                        let _ = reply.send(connect(local, remote));
                    }
                }
            })?;
        ready_rx
            .recv()
            .context("connector thread died")?
            .map_err(|e| anyhow::anyhow!("setns into {ns}: {e}"))?;
        Ok(Connector {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Connects from `local` to `remote` inside the namespace.
    pub async fn connect(
        &self,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> std::io::Result<TcpStream> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .as_ref()
            .expect("invariant: the sender lives until drop")
            .send((local, remote, reply))
            .map_err(|_| std::io::Error::other("connector thread gone"))?;
        let std = rx
            .await
            .map_err(|_| std::io::Error::other("connector thread gone"))??;
        TcpStream::from_std(std)
    }
}

impl Drop for Connector {
    /// Closes the request channel; the thread ends after the connect in progress (at most
    /// the 5 s connect timeout) and is not waited for.
    fn drop(&mut self) {
        self.tx.take();
        self.thread.take();
    }
}

fn connect(local: SocketAddr, remote: SocketAddr) -> std::io::Result<std::net::TcpStream> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(
        Domain::for_address(remote),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    s.set_reuse_address(true)?;
    s.bind(&local.into())?;
    s.connect_timeout(&remote.into(), Duration::from_secs(5))?;
    s.set_tcp_nodelay(true)?;
    s.set_nonblocking(true)?;
    Ok(s.into())
}

// ===== Liveness =====

/// What the reader saw of the target's side of one session.
#[derive(Debug, Clone, Default)]
pub struct Liveness {
    /// Longest time between two messages from the target (KEEPALIVE or UPDATE) while
    /// Established: compared with the hold time, it says whether keepalives came late.
    pub max_silence: Duration,
    /// A NOTIFICATION the target sent, as text.
    pub notification: Option<String>,
    /// The connection ended (and why) while the harness still wanted it.
    pub closed: Option<String>,
    pub updates: u64,
    pub bytes: u64,
}

/// One Established session.
#[derive(Debug)]
pub struct Established {
    pub hold_time: Duration,
    pub liveness: Arc<Mutex<Liveness>>,
    commands: mpsc::Sender<WriterCommand>,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

impl Drop for Established {
    fn drop(&mut self) {
        self.reader.abort();
        self.writer.abort();
    }
}

/// When a stream's first and last bytes were handed to the socket.
#[derive(Debug, Clone, Copy)]
pub struct Sent {
    pub first: Instant,
    pub last: Instant,
}

#[derive(Debug)]
enum WriterCommand {
    Send(Arc<Stream>, oneshot::Sender<std::io::Result<Sent>>),
}

impl Established {
    /// Writes `stream`; resolves when its last byte is in the socket.
    pub async fn send(&self, stream: Arc<Stream>) -> anyhow::Result<Sent> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(WriterCommand::Send(stream, tx))
            .await
            .map_err(|_| anyhow::anyhow!("session writer gone"))?;
        Ok(rx
            .await
            .map_err(|_| anyhow::anyhow!("session writer gone"))??)
    }
}

/// Our side of a session.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    pub local_as: u32,
    pub router_id: Ipv4Addr,
    pub hold_time: u16,
    pub families: Vec<Family>,
}

/// Connects (retrying until `deadline`: a daemon may listen before it accepts this peer),
/// exchanges OPENs and KEEPALIVEs, and starts the reader and writer.
pub async fn establish(
    connector: &Connector,
    local: SocketAddr,
    remote: SocketAddr,
    spec: &SessionSpec,
    deadline: Instant,
    on_update: impl FnMut(&[u8]) + Send + 'static,
) -> anyhow::Result<Established> {
    let mut on_update = Some(on_update);
    loop {
        let attempt = async {
            let mut stream = connector.connect(local, remote).await?;
            let mut buf = BytesMut::with_capacity(1 << 16);
            let hold = handshake(&mut stream, spec, &mut buf).await?;
            anyhow::Ok((stream, buf, hold))
        };
        match tokio::time::timeout(Duration::from_secs(20), attempt).await {
            Ok(Ok((stream, buf, hold))) => {
                let cb = on_update.take().expect("invariant: taken once on success");
                return Ok(start(stream, buf, hold, cb));
            }
            _ if crate::run::INTERRUPTED.load(std::sync::atomic::Ordering::Relaxed) => {
                bail!("session {local} -> {remote}: interrupted")
            }
            Ok(Err(e)) if Instant::now() >= deadline => {
                return Err(e.context(format!("session {local} -> {remote}")));
            }
            Err(_) if Instant::now() >= deadline => {
                bail!("session {local} -> {remote}: handshake timed out")
            }
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

async fn handshake(
    stream: &mut TcpStream,
    spec: &SessionSpec,
    buf: &mut BytesMut,
) -> anyhow::Result<Duration> {
    let cx = Context::default();
    let mut capabilities: Vec<Capability> = spec
        .families
        .iter()
        .map(|f| Capability::Multiprotocol(*f))
        .collect();
    capabilities.push(Capability::RouteRefresh);
    capabilities.push(Capability::FourOctetAs(spec.local_as));
    let open = Message::Open(Open {
        version: 4,
        my_as: u16::try_from(spec.local_as).unwrap_or(AS_TRANS),
        hold_time: spec.hold_time,
        bgp_identifier: spec.router_id,
        capabilities,
    });
    let mut out = BytesMut::new();
    open.encode(&cx, &mut out);
    stream.write_all(&out).await?;
    let theirs = match read_message(stream, buf).await? {
        Message::Open(o) => o,
        Message::Notification(n) => bail!("target refused the session: {n}"),
        m => bail!("expected OPEN, got {m:?}"),
    };
    out.clear();
    Message::Keepalive.encode(&cx, &mut out);
    stream.write_all(&out).await?;
    match read_message(stream, buf).await? {
        Message::Keepalive => {}
        Message::Notification(n) => bail!("target refused the session: {n}"),
        m => bail!("expected KEEPALIVE, got {m:?}"),
    }
    Ok(Duration::from_secs(u64::from(
        spec.hold_time.min(theirs.hold_time),
    )))
}

async fn read_message(stream: &mut TcpStream, buf: &mut BytesMut) -> anyhow::Result<Message> {
    loop {
        if let Some(n) = frame(buf).map_err(|e| anyhow::anyhow!("bad framing: {e:?}"))? {
            let msg = Message::decode(&buf[..n], &Context::default())
                .map_err(|e| anyhow::anyhow!("undecodable message: {e:?}"))?;
            buf.advance(n);
            return Ok(msg);
        }
        if stream.read_buf(buf).await? == 0 {
            bail!("connection closed during the handshake");
        }
    }
}

fn start(
    stream: TcpStream,
    buf: BytesMut,
    hold_time: Duration,
    on_update: impl FnMut(&[u8]) + Send + 'static,
) -> Established {
    let (rd, wr) = stream.into_split();
    let liveness = Arc::new(Mutex::new(Liveness::default()));
    let (tx, rx) = mpsc::channel(4);
    let reader = tokio::spawn(read_loop(rd, buf, liveness.clone(), on_update));
    let writer = tokio::spawn(write_loop(wr, rx, hold_time / 3, liveness.clone()));
    Established {
        hold_time,
        liveness,
        commands: tx,
        reader,
        writer,
    }
}

async fn read_loop(
    mut rd: OwnedReadHalf,
    mut buf: BytesMut,
    liveness: Arc<Mutex<Liveness>>,
    mut on_update: impl FnMut(&[u8]),
) {
    let mut last = Instant::now();
    let mut bytes = 0u64;
    loop {
        loop {
            let n = match frame(&buf) {
                Ok(Some(n)) => n,
                Ok(None) => break,
                Err(e) => {
                    lock(&liveness).closed = Some(format!("bad framing from the target: {e:?}"));
                    return;
                }
            };
            let now = Instant::now();
            let mut l = lock(&liveness);
            l.max_silence = l.max_silence.max(now - last);
            last = now;
            match buf[18] {
                2 => {
                    l.updates += 1;
                    drop(l);
                    on_update(&buf[19..n]);
                }
                3 => {
                    let text = match Message::decode(&buf[..n], &Context::default()) {
                        Ok(Message::Notification(n)) => n.to_string(),
                        _ => "undecodable NOTIFICATION".to_string(),
                    };
                    l.notification = Some(text);
                }
                _ => {}
            }
            buf.advance(n);
        }
        if buf.capacity() - buf.len() < 8192 {
            buf.reserve(1 << 16);
        }
        match rd.read_buf(&mut buf).await {
            Ok(0) => {
                let mut l = lock(&liveness);
                l.bytes = bytes;
                l.closed = Some("closed by the target".to_string());
                return;
            }
            Ok(n) => {
                bytes += n as u64;
                lock(&liveness).bytes = bytes;
            }
            Err(e) => {
                lock(&liveness).closed = Some(format!("read error: {e}"));
                return;
            }
        }
    }
}

async fn write_loop(
    mut wr: OwnedWriteHalf,
    mut commands: mpsc::Receiver<WriterCommand>,
    keepalive: Duration,
    liveness: Arc<Mutex<Liveness>>,
) {
    let mut ka = BytesMut::new();
    Message::Keepalive.encode(&Context::default(), &mut ka);
    let ka = ka.freeze();
    let keepalive = (!keepalive.is_zero()).then_some(keepalive);
    let mut next_ka = keepalive.map(|k| Instant::now() + k);
    loop {
        let sleep = async {
            match next_ka {
                Some(t) => tokio::time::sleep_until(t.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            cmd = commands.recv() => {
                let Some(WriterCommand::Send(stream, reply)) = cmd else { return };
                let result = async {
                    let first = Instant::now();
                    for chunk in &stream.chunks {
                        wr.write_all(chunk).await?;
                        if let (Some(t), Some(k)) = (next_ka, keepalive)
                            && Instant::now() >= t
                        {
                            wr.write_all(&ka).await?;
                            next_ka = Some(Instant::now() + k);
                        }
                    }
                    Ok(Sent { first, last: Instant::now() })
                }
                .await;
                let failed = result.is_err();
                let _ = reply.send(result);
                if failed {
                    return;
                }
            }
            () = sleep => {
                if let Err(e) = wr.write_all(&ka).await {
                    lock(&liveness).closed = Some(format!("write error: {e}"));
                    return;
                }
                next_ka = keepalive.map(|k| Instant::now() + k);
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
