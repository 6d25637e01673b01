//! Transport drivers: one reader and one writer task per BGP connection, the outgoing
//! connect, and the listeners.
//!
//! The reader frames and decodes (with the context the session negotiated) and runs the hold
//! timer against the time the last message arrived, so a busy routing domain never makes a
//! live peer look dead. The writer sends KEEPALIVEs on its own tick, ahead of anything queued,
//! so a full table being written never starves them (RFC 4271 §4.4).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bgp::wire::{self, Context, DecodeError, Message};
use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::md5;

/// What a connection tells its routing domain. Every event carries the connection's id so
/// that news from a connection the domain already dropped is ignored.
// Decoded messages move once, reader to domain; boxing them would allocate per UPDATE.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum ConnEvent {
    Message(u64, Message),
    /// Several messages in arrival order: what one read brought, up to [`BATCH`], so that
    /// a full table costs one channel hop (and at most one wake-up) per batch rather than
    /// per UPDATE.
    Messages(u64, Vec<Message>, InFlight),
    DecodeFailed(u64, DecodeError),
    HoldExpired(u64),
    Closed(u64),
}

/// Holds a batch's share of its connection's in-flight allowance until the domain has
/// handled it (drop it then): a reader never runs more than [`IN_FLIGHT`] decoded messages
/// ahead of its domain, so a fast peer cannot pile decoded UPDATEs up in memory.
#[derive(Debug)]
pub struct InFlight(#[allow(dead_code)] tokio::sync::OwnedSemaphorePermit);

/// The domain's side of a connection.
#[derive(Debug)]
pub struct ConnHandle {
    pub id: u64,
    pub local_addr: IpAddr,
    writer: mpsc::UnboundedSender<WriterCmd>,
    shared: Arc<Shared>,
    reader: tokio::task::JoinHandle<()>,
    writer_task: tokio::task::JoinHandle<()>,
}

#[derive(Debug)]
struct Shared {
    four_octet_as: AtomicBool,
    /// Hold time in milliseconds; 0 = no hold timer.
    hold_ms: AtomicU64,
}

#[derive(Debug)]
enum WriterCmd {
    Data(Bytes),
    Keepalives(Duration),
    Close,
}

impl ConnHandle {
    pub fn send(&self, bytes: Bytes) {
        let _ = self.writer.send(WriterCmd::Data(bytes));
    }
    /// Writes what is queued, then closes the connection. The handle resolves once the
    /// writer is done (dropping it detaches the writer, which finishes on its own).
    pub fn close(self) -> tokio::task::JoinHandle<()> {
        let _ = self.writer.send(WriterCmd::Close);
        self.reader.abort();
        self.writer_task
    }
    pub fn set_context(&self, cx: Context) {
        self.shared
            .four_octet_as
            .store(cx.four_octet_as, Ordering::Relaxed);
    }
    pub fn set_hold_time(&self, hold: Duration) {
        self.shared.hold_ms.store(
            hold.as_millis().min(u128::from(u64::MAX)) as u64,
            Ordering::Relaxed,
        );
    }
    pub fn start_keepalives(&self, every: Duration) {
        let _ = self.writer.send(WriterCmd::Keepalives(every));
    }
}

/// Starts the reader and writer of an established TCP connection. Events reach the domain
/// through `events`, wrapped by `wrap`.
pub fn spawn<M: Send + 'static>(
    stream: TcpStream,
    id: u64,
    events: mpsc::Sender<M>,
    wrap: impl Fn(ConnEvent) -> M + Send + Sync + 'static,
) -> io::Result<ConnHandle> {
    let local_addr = stream.local_addr()?.ip();
    let local_addr = match local_addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    stream.set_nodelay(true)?;
    let (rd, wr) = stream.into_split();
    let shared = Arc::new(Shared {
        four_octet_as: AtomicBool::new(false),
        hold_ms: AtomicU64::new(0),
    });
    let (tx, rx) = mpsc::unbounded_channel();
    let wrap = Arc::new(wrap);
    let reader = tokio::spawn(read_loop(
        rd,
        id,
        shared.clone(),
        events.clone(),
        wrap.clone(),
    ));
    let writer_task = tokio::spawn(write_loop(wr, id, rx, events, wrap));
    Ok(ConnHandle {
        id,
        local_addr,
        writer: tx,
        shared,
        reader,
        writer_task,
    })
}

async fn read_loop<M>(
    mut rd: OwnedReadHalf,
    id: u64,
    shared: Arc<Shared>,
    events: mpsc::Sender<M>,
    wrap: Arc<dyn Fn(ConnEvent) -> M + Send + Sync>,
) {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut last_rx = Instant::now();
    let mut batch: Vec<Message> = Vec::new();
    let in_flight = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let events = Batcher {
        events,
        in_flight,
        id,
    };
    loop {
        // Deliver every whole message already buffered, in batches.
        loop {
            let len = match wire::frame(&buf) {
                Ok(Some(len)) => len,
                Ok(None) => break,
                Err(e) => {
                    if events.send_batch(&*wrap, &mut batch).await.is_err() {
                        return;
                    }
                    let _ = events
                        .events
                        .send(wrap(ConnEvent::DecodeFailed(id, e)))
                        .await;
                    return;
                }
            };
            let frame = buf.split_to(len);
            last_rx = Instant::now();
            let cx = Context {
                four_octet_as: shared.four_octet_as.load(Ordering::Relaxed),
            };
            // The codec never panics by design; should it ever, this connection fails with a
            // NOTIFICATION and the rest of the edge carries on.
            let decoded = std::panic::catch_unwind(|| Message::decode(&frame, &cx));
            let event = match decoded {
                Ok(Ok(m)) => {
                    // An OPEN goes at once: what follows it is decoded with the context the
                    // session negotiates from it.
                    let open = matches!(m, Message::Open(_));
                    batch.push(m);
                    if (open || batch.len() >= BATCH)
                        && events.send_batch(&*wrap, &mut batch).await.is_err()
                    {
                        return;
                    }
                    continue;
                }
                Ok(Err(e)) => ConnEvent::DecodeFailed(id, e),
                Err(_) => ConnEvent::DecodeFailed(
                    id,
                    DecodeError::new(
                        bgp::wire::error_code::MESSAGE_HEADER,
                        0,
                        Vec::new(),
                        "internal decoder error",
                    ),
                ),
            };
            // Only failures get here: what was decoded before them goes first.
            if events.send_batch(&*wrap, &mut batch).await.is_err() {
                return;
            }
            let _ = events.events.send(wrap(event)).await;
            return;
        }
        if events.send_batch(&*wrap, &mut batch).await.is_err() {
            return;
        }
        let hold = Duration::from_millis(shared.hold_ms.load(Ordering::Relaxed));
        if buf.capacity() - buf.len() < 8192 {
            buf.reserve(64 * 1024);
        }
        let read = rd.read_buf(&mut buf);
        let result = if hold.is_zero() {
            read.await
        } else {
            match tokio::time::timeout_at(last_rx + hold, read).await {
                Ok(r) => r,
                Err(_) => {
                    let _ = events.events.send(wrap(ConnEvent::HoldExpired(id))).await;
                    return;
                }
            }
        };
        match result {
            Ok(0) | Err(_) => {
                let _ = events.events.send(wrap(ConnEvent::Closed(id))).await;
                return;
            }
            Ok(_) => {}
        }
    }
}

/// Most messages handed to the domain in one event.
pub const BATCH: usize = 128;
/// Most decoded messages of one connection waiting for its domain.
pub const IN_FLIGHT: usize = 1024;

struct Batcher<M> {
    events: mpsc::Sender<M>,
    in_flight: Arc<tokio::sync::Semaphore>,
    id: u64,
}

impl<M> Batcher<M> {
    /// Sends what `batch` holds (one message as itself), leaving it empty.
    async fn send_batch(
        &self,
        wrap: &(dyn Fn(ConnEvent) -> M + Send + Sync),
        batch: &mut Vec<Message>,
    ) -> Result<(), ()> {
        let event = match batch.len() {
            0 => return Ok(()),
            1 => ConnEvent::Message(self.id, batch.pop().expect("one message")),
            n => {
                let permit = self
                    .in_flight
                    .clone()
                    .acquire_many_owned(n as u32)
                    .await
                    .map_err(|_| ())?;
                ConnEvent::Messages(self.id, std::mem::take(batch), InFlight(permit))
            }
        };
        self.events.send(wrap(event)).await.map_err(|_| ())
    }
}

/// Buffers smaller than this are copied together into one write; larger ones go alone.
const COALESCE_BELOW: usize = 16 * 1024;

const KEEPALIVE: [u8; 19] = {
    let mut m = [0xffu8; 19];
    m[16] = 0;
    m[17] = 19;
    m[18] = 4;
    m
};

async fn write_loop<M>(
    mut wr: OwnedWriteHalf,
    id: u64,
    mut rx: mpsc::UnboundedReceiver<WriterCmd>,
    events: mpsc::Sender<M>,
    wrap: Arc<dyn Fn(ConnEvent) -> M + Send + Sync>,
) {
    let mut keepalive: Option<tokio::time::Interval> = None;
    let mut batch = BytesMut::new();
    loop {
        let cmd = tokio::select! {
            biased;
            _ = async { keepalive.as_mut().expect("guarded").tick().await }, if keepalive.is_some() => {
                if wr.write_all(&KEEPALIVE).await.is_err() {
                    break;
                }
                continue;
            }
            cmd = rx.recv() => cmd,
        };
        match cmd {
            Some(WriterCmd::Data(first)) if first.len() >= COALESCE_BELOW => {
                // Large buffers (the speaker sends at most 256 KiB, cut at message
                // boundaries) go out as they are; the keepalive tick is checked between them.
                if wr.write_all(&first).await.is_err() {
                    break;
                }
            }
            Some(WriterCmd::Data(first)) => {
                // Coalesce small messages already queued into one write of up to 256 KiB.
                batch.clear();
                batch.extend_from_slice(&first);
                let mut close = false;
                while batch.len() < 256 * 1024 {
                    match rx.try_recv() {
                        Ok(WriterCmd::Data(b)) => batch.extend_from_slice(&b),
                        Ok(WriterCmd::Keepalives(every)) => keepalive = Some(interval(every)),
                        Ok(WriterCmd::Close) => {
                            close = true;
                            break;
                        }
                        Err(_) => break,
                    }
                }
                if wr.write_all(&batch).await.is_err() {
                    break;
                }
                if close {
                    let _ = wr.shutdown().await;
                    return;
                }
            }
            Some(WriterCmd::Keepalives(every)) => keepalive = Some(interval(every)),
            Some(WriterCmd::Close) | None => {
                let _ = wr.shutdown().await;
                return;
            }
        }
    }
    let _ = events.send(wrap(ConnEvent::Closed(id))).await;
}

fn interval(every: Duration) -> tokio::time::Interval {
    let mut i = tokio::time::interval_at(
        Instant::now() + every,
        every.max(Duration::from_millis(100)),
    );
    i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    i
}

/// Opens an outgoing BGP connection from namespace `ns`: MD5 key and local address set
/// before `connect`.
pub async fn connect(
    ns: Option<String>,
    peer: SocketAddr,
    local: Option<IpAddr>,
    md5_key: Option<&[u8]>,
    timeout: Duration,
) -> io::Result<TcpStream> {
    use socket2::{Domain, Protocol, Socket, Type};
    let domain = if peer.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let socket = tokio::task::spawn_blocking(move || {
        crate::netns::run_in(ns.as_deref(), move || {
            let s = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
            s.set_nonblocking(true)?;
            Ok(std::net::TcpStream::from(s))
        })
    })
    .await
    .map_err(io::Error::other)??;
    let socket = TcpSocket::from_std_stream(socket);
    if let Some(key) = md5_key {
        md5::set_key(&socket, peer.ip(), Some(key))?;
    }
    if let Some(local) = local {
        socket.bind(SocketAddr::new(local, 0))?;
    }
    match tokio::time::timeout(timeout, socket.connect(peer)).await {
        Ok(r) => r,
        Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")),
    }
}

/// A listening socket on all addresses of one family, inside namespace `ns`.
pub fn listen(ns: Option<&str>, v6: bool, port: u16) -> io::Result<TcpListener> {
    let std = crate::netns::run_in(ns, move || listen_here(v6, port))?;
    TcpListener::from_std(std)
}

fn listen_here(v6: bool, port: u16) -> io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let (domain, addr): (Domain, SocketAddr) = if v6 {
        (
            Domain::IPV6,
            SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, port)),
        )
    } else {
        (
            Domain::IPV4,
            SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, port)),
        )
    };
    let socket = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    if v6 {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}
