//! The real listener (`control::listener::serve`, over HTTPS with a self-signed certificate
//! and over plain HTTP) against the clients an outside probe used: slow ones, silent ones,
//! many from one address, and over-large bodies. Every wait is a poll with a deadline; the
//! deadlines under test are a few seconds so the suite stays quick.
//!
//! Descriptor budget: a slow-client scenario holds 300 client sockets and the server's 300
//! in this one process (600), the other tests a few dozen each. The two scenarios take turns
//! (`HEAVY`), and each test raises the process's soft RLIMIT_NOFILE to its hard limit first,
//! then checks there is room.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use control::catalog::Catalog;
use control::http::{App, router};
use control::listener::{self, Limits};
use control::service::Service;
use control::store::Store;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, timeout};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

/// How long a legitimate request may take while the server is under attack.
const PROMPT: Duration = Duration::from_secs(1);
/// How late past its deadline a connection may still be closed (timer, scheduling).
const SLACK: Duration = Duration::from_secs(2);
/// How early a close may seem, when the server's clock starts before the client can see it.
const TOLERANCE: Duration = Duration::from_millis(50);
/// The address legitimate requests come from; attackers use others in 127.0.0.0/8.
const LEGIT: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
/// A resource path whose handler reads the body before anything else.
const CIRCUIT: &str = "/subscriptions/aaaaaaaa-0000-4000-8000-00000000000a/resourceGroups/rg\
                       /providers/Microsoft.Network/expressRouteCircuits/c?api-version=2026-03-01";

/// The two slow-client scenarios take turns: their timing and their descriptors.
static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Http,
    Https,
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}
type Conn = Box<dyn Stream>;

/// A temporary directory removed on drop.
#[derive(Debug)]
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "causeway-listener-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running listener over an in-memory control plane.
struct Server {
    addr: SocketAddr,
    tls: Option<TlsConnector>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<io::Result<()>>,
    _dir: Option<TempDir>,
}

/// Raises this process's descriptor limit and checks that `needed` more fit.
fn descriptor_budget(needed: u64) {
    let limit = listener::raise_nofile_limit();
    assert!(
        limit >= needed + 256,
        "this test holds about {needed} descriptors; the limit is {limit} (raise `ulimit -Hn`)"
    );
}

async fn start(mode: Mode, limits: Limits) -> Server {
    let store = Store::open_in_memory().expect("in-memory store");
    let service = Arc::new(Service::new(store, Catalog::default()));
    let app = router(App { service });
    let socket = listener::bind(SocketAddr::from((LEGIT, 0))).expect("bind");
    let addr = socket.local_addr().expect("local address");
    let (config, tls, dir) = match mode {
        Mode::Http => (None, None, None),
        Mode::Https => {
            let dir = TempDir::new();
            let (cert, key) = control::tls::ensure_self_signed(&dir.0).expect("certificate");
            let config = listener::tls_config(&cert, &key).await.expect("TLS config");
            let mut roots = RootCertStore::empty();
            for c in CertificateDer::pem_file_iter(&cert).expect("certificate PEM") {
                roots.add(c.expect("certificate")).expect("trusted");
            }
            let provider = tokio_rustls::rustls::crypto::ring::default_provider();
            let mut client = ClientConfig::builder_with_provider(Arc::new(provider))
                .with_safe_default_protocol_versions()
                .expect("protocol versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
            client.alpn_protocols = vec![b"http/1.1".to_vec()];
            let tls = TlsConnector::from(Arc::new(client));
            (Some(config), Some(tls), Some(dir))
        }
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(listener::serve(socket, config, app, limits, async move {
        let _ = stopped.await;
    }));
    Server {
        addr,
        tls,
        stop: Some(stop),
        task,
        _dir: dir,
    }
}

impl Server {
    /// A TCP connection from `from` (any address in 127.0.0.0/8 is this machine).
    async fn tcp(&self, from: Ipv4Addr) -> io::Result<TcpStream> {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(from.into(), 0))?;
        socket.connect(self.addr).await
    }

    /// A connection from `from`, TLS handshake done in HTTPS mode.
    async fn connect(&self, from: Ipv4Addr) -> io::Result<Conn> {
        let tcp = self.tcp(from).await?;
        match &self.tls {
            None => Ok(Box::new(tcp)),
            Some(tls) => {
                let name = ServerName::try_from("localhost").expect("server name");
                Ok(Box::new(tls.connect(name, tcp).await?))
            }
        }
    }

    /// What a legitimate client sees: a fresh connection, one request, the whole answer.
    async fn get(&self, from: Ipv4Addr, path: &str) -> io::Result<Reply> {
        let mut conn = self.connect(from).await?;
        get_on(&mut conn, path).await
    }

    /// Stops the server; resolves when `serve` has returned.
    async fn stop(mut self) -> Duration {
        let began = Instant::now();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = timeout(Duration::from_secs(10), &mut self.task)
            .await
            .expect("serve returns after the shutdown signal");
        result.expect("serve task").expect("serve");
        began.elapsed()
    }
}

/// One request on an open (keep-alive) connection and its answer.
async fn get_on(conn: &mut Conn, path: &str) -> io::Result<Reply> {
    let head = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    conn.write_all(head.as_bytes()).await?;
    read_reply(conn)
        .await?
        .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "closed without an answer"))
}

/// An HTTP/1.1 answer.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The ARM error code, checking that the body is an ARM error with ARM's content type.
    fn arm_error(&self) -> String {
        assert_eq!(
            self.header("content-type"),
            Some("application/json; charset=utf-8"),
            "{self:?}"
        );
        let v: Value = serde_json::from_slice(&self.body).expect("a JSON body");
        let message = v["error"]["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "an ARM error has a message: {v}");
        v["error"]["code"].as_str().expect("error.code").to_owned()
    }
}

/// Whether an error means the peer closed the connection.
fn is_closed(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

/// Reads one answer (by Content-Length); `None` when the connection closes before any byte.
async fn read_reply(conn: &mut Conn) -> io::Result<Option<Reply>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = match conn.read(&mut chunk).await {
            Ok(n) => n,
            Err(e) if is_closed(&e) && buf.is_empty() => return Ok(None),
            Err(e) => return Err(e),
        };
        if n == 0 {
            if buf.is_empty() {
                return Ok(None);
            }
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "partial head"));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "partial body"));
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Ok(Some(Reply {
        status,
        headers,
        body,
    }))
}

/// Reads until the server closes the connection, at most `within`; the bytes it sent.
async fn closed_within(conn: &mut Conn, within: Duration) -> Result<Vec<u8>, String> {
    let mut seen = Vec::new();
    let mut chunk = [0u8; 4096];
    let read = async {
        loop {
            match conn.read(&mut chunk).await {
                Ok(0) => return,
                Ok(n) => seen.extend_from_slice(&chunk[..n]),
                Err(_) => return,
            }
        }
    };
    match timeout(within, read).await {
        Ok(()) => Ok(seen),
        Err(_) => Err(format!("still open after {within:?}")),
    }
}

/// Whether the server turns a connection from `from` away at once (no answer, closed).
async fn refused(server: &Server, from: Ipv4Addr) -> bool {
    let attempt = async {
        let mut conn = server.connect(from).await?;
        get_on(&mut conn, "/openapi.json").await
    };
    match timeout(PROMPT, attempt).await {
        Ok(Ok(reply)) => {
            assert_eq!(reply.status, 200, "{reply:?}");
            false
        }
        Ok(Err(_)) => true,
        Err(_) => panic!("a connection over a cap hung instead of being closed at once"),
    }
}

/// Polls until `check` holds, at most `within`.
async fn eventually<F: Future<Output = bool>>(within: Duration, mut check: impl FnMut() -> F) {
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "not so within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ===== slow clients =====

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slow {
    /// Sends one byte of a request head every second.
    Trickle,
    /// Connects and sends nothing (not even a TLS handshake).
    Silent,
    /// Sends a request head and part of its body, then stalls.
    StalledBody,
}

#[derive(Debug)]
struct Outcome {
    kind: Slow,
    /// From starting to connect to the server closing the connection (or answering, for
    /// the stalled body).
    held: Duration,
    /// When the connection was closed.
    closed_at: Instant,
    reply: Option<Reply>,
    sent: usize,
}

async fn slow_client(
    server: Arc<Server>,
    kind: Slow,
    from: Ipv4Addr,
    ready: mpsc::Sender<()>,
) -> Outcome {
    let began = Instant::now();
    let limit = Duration::from_secs(30);
    let mut sent = 0;
    let mut reply = None;
    match kind {
        Slow::Silent => {
            let tcp = server.tcp(from).await.expect("connect");
            let mut conn: Conn = Box::new(tcp);
            let _ = ready.send(()).await;
            closed_within(&mut conn, limit).await.expect("closed");
        }
        Slow::Trickle => {
            let conn = server.connect(from).await.expect("connect");
            let _ = ready.send(()).await;
            let (mut rx, mut tx) = tokio::io::split(conn);
            let head = b"GET /openapi.json HTTP/1.1\r\nHost: localhost\r\nX-Padding: ".repeat(4);
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let mut byte = [0u8; 1];
            let closed = async {
                loop {
                    match rx.read(&mut byte).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                }
            };
            let mut closed = std::pin::pin!(closed);
            let mut bytes = head.iter();
            let run = async {
                loop {
                    tokio::select! {
                        () = &mut closed => return,
                        _ = tick.tick() => {
                            let Some(b) = bytes.next() else { return };
                            if tx.write_all(&[*b]).await.is_err() {
                                return;
                            }
                            sent += 1;
                        }
                    }
                }
            };
            timeout(limit, run).await.expect("closed");
        }
        Slow::StalledBody => {
            let mut conn = server.connect(from).await.expect("connect");
            let partial = format!(
                "PUT {CIRCUIT} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
                 Content-Length: 100\r\n\r\n{{\"location\":"
            );
            conn.write_all(partial.as_bytes()).await.expect("send");
            sent = partial.len();
            let _ = ready.send(()).await;
            reply = timeout(limit, read_reply(&mut conn))
                .await
                .expect("answered")
                .expect("an answer");
            let held = began.elapsed();
            closed_within(&mut conn, SLACK)
                .await
                .expect("closed after the 408");
            return Outcome {
                kind,
                held,
                closed_at: Instant::now(),
                reply,
                sent,
            };
        }
    }
    Outcome {
        kind,
        held: began.elapsed(),
        closed_at: Instant::now(),
        reply,
        sent,
    }
}

async fn slow_clients_are_held_to_their_deadlines(mode: Mode) {
    let _turn = HEAVY.lock().await;
    const EACH: usize = 100;
    descriptor_budget(6 * EACH as u64 + 50);
    let limits = Limits {
        handshake: Duration::from_secs(4),
        header_read: Duration::from_secs(5),
        body_read: Duration::from_secs(5),
        idle: Duration::from_secs(20),
        ..Limits::default()
    };
    let server = Arc::new(start(mode, limits).await);
    let (ready, mut readies) = mpsc::channel(3 * EACH);
    let mut clients = Vec::new();
    for (i, kind) in [Slow::Trickle, Slow::Silent, Slow::StalledBody]
        .into_iter()
        .enumerate()
    {
        // Under the default per-address cap (256): this test is about deadlines.
        let from = Ipv4Addr::new(127, 0, 0, 10 + i as u8);
        for _ in 0..EACH {
            clients.push(tokio::spawn(slow_client(
                server.clone(),
                kind,
                from,
                ready.clone(),
            )));
        }
    }
    drop(ready);
    let all_in_place = async {
        for _ in 0..3 * EACH {
            readies
                .recv()
                .await
                .expect("every slow client gets in place");
        }
    };
    timeout(Duration::from_secs(10), all_in_place)
        .await
        .expect("300 slow clients connected within 10 s");

    // While all 300 are held, a legitimate client is answered promptly, each time.
    for _ in 0..5 {
        let began = Instant::now();
        let reply = timeout(PROMPT, server.get(LEGIT, "/openapi.json"))
            .await
            .expect("a legitimate request is answered within PROMPT")
            .expect("a legitimate request is answered");
        assert_eq!(reply.status, 200);
        assert!(began.elapsed() < PROMPT);
    }
    let legit_done = Instant::now();

    let mut outcomes = Vec::new();
    for c in clients {
        outcomes.push(c.await.expect("slow client task"));
    }
    let first_close = outcomes
        .iter()
        .map(|o| o.closed_at)
        .min()
        .expect("outcomes");
    assert!(
        first_close > legit_done,
        "the slow clients were still held while the legitimate requests were answered"
    );
    for o in &outcomes {
        let deadline = match (o.kind, mode) {
            (Slow::Silent, Mode::Https) => limits.handshake,
            (Slow::Silent | Slow::Trickle, _) => limits.header_read,
            (Slow::StalledBody, _) => limits.body_read,
        };
        assert!(
            o.held >= deadline && o.held <= deadline + SLACK,
            "{:?} held {:?}, deadline {deadline:?}",
            o.kind,
            o.held
        );
        match o.kind {
            Slow::StalledBody => {
                let reply = o.reply.as_ref().expect("the stalled body is answered");
                assert_eq!(reply.status, 408, "{reply:?}");
                assert_eq!(reply.arm_error(), "RequestTimeout");
                assert_eq!(reply.header("connection"), Some("close"));
            }
            Slow::Trickle => {
                assert!(o.reply.is_none(), "a head that never ends gets no answer");
                assert!(
                    o.sent >= 3,
                    "it kept sending ({} bytes) and was cut",
                    o.sent
                );
            }
            Slow::Silent => assert!(o.reply.is_none()),
        }
    }
    // And the server is still there for everyone.
    let reply = server.get(LEGIT, "/openapi.json").await.expect("answered");
    assert_eq!(reply.status, 200);
    let server = Arc::into_inner(server).expect("no client holds the server");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_300_slow_clients_are_cut_at_their_deadlines_while_others_are_served() {
    slow_clients_are_held_to_their_deadlines(Mode::Https).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http_300_slow_clients_are_cut_at_their_deadlines_while_others_are_served() {
    slow_clients_are_held_to_their_deadlines(Mode::Http).await;
}

// ===== keep-alive =====

async fn an_idle_keep_alive_connection_lasts_until_the_idle_deadline(mode: Mode) {
    descriptor_budget(10);
    let limits = Limits {
        header_read: Duration::from_secs(1),
        idle: Duration::from_secs(3),
        ..Limits::default()
    };
    let server = start(mode, limits).await;
    let mut conn = server.connect(LEGIT).await.expect("connect");
    let first = get_on(&mut conn, "/openapi.json").await.expect("first");
    assert_eq!(first.status, 200);
    let second = get_on(&mut conn, "/openapi.json").await.expect("second");
    assert_eq!(second.status, 200, "the connection is kept alive");
    // The server's clock starts as it hands over the answer, a moment before we have read
    // it: hence the tolerance.
    let answered = Instant::now();
    closed_within(&mut conn, limits.idle + SLACK)
        .await
        .expect("an idle connection is closed after the idle deadline");
    let idle = answered.elapsed();
    assert!(
        idle >= limits.idle - TOLERANCE,
        "closed after {idle:?} idle, before the idle deadline (the head deadline is shorter)"
    );
    server.stop().await;
}

#[tokio::test]
async fn over_https_an_idle_keep_alive_connection_is_closed_at_the_idle_deadline_not_before() {
    an_idle_keep_alive_connection_lasts_until_the_idle_deadline(Mode::Https).await;
}

#[tokio::test]
async fn over_http_an_idle_keep_alive_connection_is_closed_at_the_idle_deadline_not_before() {
    an_idle_keep_alive_connection_lasts_until_the_idle_deadline(Mode::Http).await;
}

#[tokio::test]
async fn a_second_request_head_sent_slowly_is_cut_at_the_head_deadline() {
    descriptor_budget(10);
    let limits = Limits {
        header_read: Duration::from_secs(1),
        idle: Duration::from_secs(30),
        ..Limits::default()
    };
    let server = start(Mode::Http, limits).await;
    let mut conn = server.connect(LEGIT).await.expect("connect");
    let first = get_on(&mut conn, "/openapi.json").await.expect("first");
    assert_eq!(first.status, 200);
    conn.write_all(b"GET /openapi.json HTTP/1.1\r\n")
        .await
        .expect("start of the next head");
    let began = Instant::now();
    let seen = closed_within(&mut conn, limits.header_read + SLACK)
        .await
        .expect("an unfinished head is cut, although the idle deadline is 30 s");
    assert!(seen.is_empty(), "no answer to half a head");
    assert!(began.elapsed() >= limits.header_read - TOLERANCE);
    server.stop().await;
}

// ===== caps =====

async fn the_per_address_cap_refuses_one_client_and_serves_the_others(mode: Mode) {
    const CAP: usize = 20;
    descriptor_budget(2 * CAP as u64 + 20);
    let limits = Limits {
        max_per_ip: CAP,
        handshake: Duration::from_secs(30),
        header_read: Duration::from_secs(30),
        idle: Duration::from_secs(30),
        ..Limits::default()
    };
    let server = start(mode, limits).await;
    let greedy = Ipv4Addr::new(127, 0, 0, 2);
    let mut held = Vec::new();
    for _ in 0..CAP {
        let mut conn = server.connect(greedy).await.expect("connect");
        let reply = get_on(&mut conn, "/openapi.json").await.expect("served");
        assert_eq!(reply.status, 200);
        held.push(conn);
    }
    assert!(
        refused(&server, greedy).await,
        "connection {} from one address is refused",
        CAP + 1
    );
    let began = Instant::now();
    let reply = server.get(LEGIT, "/openapi.json").await.expect("answered");
    assert_eq!(reply.status, 200, "another address is served meanwhile");
    assert!(began.elapsed() < PROMPT);
    // The connections held are still served.
    let reply = get_on(&mut held[0], "/openapi.json").await.expect("held");
    assert_eq!(reply.status, 200);
    // One closes: the address may open one again.
    drop(held.pop());
    eventually(Duration::from_secs(5), || async {
        !refused(&server, greedy).await
    })
    .await;
    drop(held);
    server.stop().await;
}

#[tokio::test]
async fn over_https_connection_21_from_one_address_is_refused_and_the_server_keeps_serving() {
    the_per_address_cap_refuses_one_client_and_serves_the_others(Mode::Https).await;
}

#[tokio::test]
async fn over_http_connection_21_from_one_address_is_refused_and_the_server_keeps_serving() {
    the_per_address_cap_refuses_one_client_and_serves_the_others(Mode::Http).await;
}

#[tokio::test]
async fn over_the_server_cap_a_connection_is_closed_at_once_and_service_resumes_when_room_frees() {
    const CAP: usize = 30;
    descriptor_budget(2 * CAP as u64 + 20);
    let limits = Limits {
        max_connections: CAP,
        header_read: Duration::from_secs(2),
        ..Limits::default()
    };
    let server = start(Mode::Http, limits).await;
    let mut silent = Vec::new();
    for i in 0..CAP {
        // Spread over addresses: this is the server's cap, not the per-address one.
        let from = Ipv4Addr::new(127, 0, 1, 1 + (i % 3) as u8);
        silent.push(server.tcp(from).await.expect("connect"));
    }
    assert!(refused(&server, LEGIT).await, "the server is full");
    // The silent ones are cut at the head deadline; then there is room again.
    eventually(limits.header_read + SLACK, || async {
        !refused(&server, LEGIT).await
    })
    .await;
    drop(silent);
    server.stop().await;
}

// ===== body size =====

async fn put_head(conn: &mut Conn, length: Option<usize>) -> io::Result<()> {
    let framing = match length {
        Some(n) => format!("Content-Length: {n}"),
        None => "Transfer-Encoding: chunked".to_owned(),
    };
    let head = format!(
        "PUT {CIRCUIT} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         {framing}\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).await
}

async fn an_over_large_body_gets_413_with_an_arm_body(mode: Mode) {
    descriptor_budget(10);
    let limits = Limits::default();
    let server = start(mode, limits).await;

    // Declared too large: refused before a byte of the body is sent.
    let mut conn = server.connect(LEGIT).await.expect("connect");
    put_head(&mut conn, Some(limits.max_body + 1))
        .await
        .expect("head");
    let reply = timeout(PROMPT, read_reply(&mut conn))
        .await
        .expect("answered at once")
        .expect("read")
        .expect("an answer");
    assert_eq!(reply.status, 413, "{reply:?}");
    assert_eq!(reply.arm_error(), "RequestEntityTooLarge");
    closed_within(&mut conn, SLACK).await.expect("then closed");
    drop(conn);

    // Declared too large and sent whole without waiting, as most clients do (no `Expect:
    // 100-continue`): the answer still arrives, not a connection reset.
    for _ in 0..3 {
        let mut conn = server.connect(LEGIT).await.expect("connect");
        put_head(&mut conn, Some(limits.max_body + 1))
            .await
            .expect("head");
        let body = vec![b' '; limits.max_body + 1];
        conn.write_all(&body)
            .await
            .expect("the server takes the whole body");
        let reply = timeout(Duration::from_secs(5), read_reply(&mut conn))
            .await
            .expect("answered")
            .expect("an answer, not a reset")
            .expect("an answer");
        assert_eq!(reply.status, 413, "{reply:?}");
        assert_eq!(reply.arm_error(), "RequestEntityTooLarge");
    }

    // Chunked, so only counting finds out.
    let mut conn = server.connect(LEGIT).await.expect("connect");
    put_head(&mut conn, None).await.expect("head");
    let n = limits.max_body + 1;
    let mut chunk = format!("{n:x}\r\n").into_bytes();
    chunk.resize(chunk.len() + n, b' ');
    conn.write_all(&chunk).await.expect("body");
    let reply = timeout(Duration::from_secs(5), read_reply(&mut conn))
        .await
        .expect("answered")
        .expect("read")
        .expect("an answer");
    assert_eq!(reply.status, 413, "{reply:?}");
    assert_eq!(reply.arm_error(), "RequestEntityTooLarge");
    drop(conn);

    // A body under the limit goes on to the API (which wants a token).
    let mut conn = server.connect(LEGIT).await.expect("connect");
    let body = b"{\"location\":\"westeurope\"}";
    put_head(&mut conn, Some(body.len())).await.expect("head");
    conn.write_all(body).await.expect("body");
    let reply = read_reply(&mut conn).await.expect("read").expect("answer");
    assert_eq!(reply.status, 401, "{reply:?}");
    assert_eq!(reply.arm_error(), "AuthenticationFailed");
    server.stop().await;
}

#[tokio::test]
async fn over_https_a_body_over_4_mib_gets_413_with_an_arm_error_body() {
    an_over_large_body_gets_413_with_an_arm_body(Mode::Https).await;
}

#[tokio::test]
async fn over_http_a_body_over_4_mib_gets_413_with_an_arm_error_body() {
    an_over_large_body_gets_413_with_an_arm_body(Mode::Http).await;
}

// ===== shutdown =====

#[tokio::test]
async fn stopping_closes_idle_connections_and_returns_within_the_grace_period() {
    descriptor_budget(10);
    let limits = Limits {
        shutdown_grace: Duration::from_secs(3),
        ..Limits::default()
    };
    let server = start(Mode::Https, limits).await;
    let addr = server.addr;
    let mut conn = server.connect(LEGIT).await.expect("connect");
    let reply = get_on(&mut conn, "/openapi.json").await.expect("served");
    assert_eq!(reply.status, 200);
    let took = server.stop().await;
    assert!(took < limits.shutdown_grace, "took {took:?}");
    closed_within(&mut conn, SLACK)
        .await
        .expect("the idle connection is closed");
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test]
async fn a_request_unfinished_at_the_end_of_the_grace_period_is_cut_and_serve_returns() {
    descriptor_budget(10);
    let limits = Limits {
        body_read: Duration::from_secs(60),
        shutdown_grace: Duration::from_secs(1),
        ..Limits::default()
    };
    let server = start(Mode::Http, limits).await;
    let mut conn = server.connect(LEGIT).await.expect("connect");
    let head = format!(
        "PUT {CIRCUIT} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\
         Expect: 100-continue\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).await.expect("head");
    // `100 Continue` comes when the handler starts reading the body: the request is in flight.
    let interim = timeout(PROMPT, read_reply(&mut conn))
        .await
        .expect("100 Continue")
        .expect("read")
        .expect("an interim answer");
    assert_eq!(interim.status, 100);
    conn.write_all(b"{\"location\":")
        .await
        .expect("part of the body");
    let took = server.stop().await;
    assert!(
        took >= limits.shutdown_grace && took < limits.shutdown_grace + SLACK,
        "serve returned after {took:?}"
    );
    closed_within(&mut conn, SLACK)
        .await
        .expect("the unfinished request's connection is closed");
}
