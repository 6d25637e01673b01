//! Durability against the real `causeway serve`: every write the server acknowledged
//! survives `kill -9`, and concurrent writes to one circuit are serialized, none lost.
//!
//! The binary is `$CAUSEWAY_BIN`, else `$CARGO_TARGET_DIR/debug/causeway`, else
//! `<workspace>/target/debug/causeway` (`cargo build -p causeway`; scripts/test builds it
//! first). Without it these tests skip with a message, or fail when `CI=true`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const API: &str = "2024-05-01";
const SUB: &str = "dddddddd-0000-4000-8000-00000000000d";

fn causeway_bin() -> Option<PathBuf> {
    let bin = match std::env::var_os("CAUSEWAY_BIN") {
        Some(p) => PathBuf::from(p),
        None => std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
            .join("debug/causeway"),
    };
    if bin.is_file() {
        return Some(bin);
    }
    let msg = format!(
        "causeway binary {} not found: build it with `cargo build -p causeway` or set CAUSEWAY_BIN",
        bin.display()
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "causeway-{tag}-{}-{}",
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

/// The `--store` of a server on `dir`: under `CAUSEWAY_TEST_STORE=postgres` a schema of
/// its own on the server `CAUSEWAY_TEST_POSTGRES` names (made once per directory, so a
/// restarted server finds its data), else the SQLite file in the data directory.
fn store_args(dir: &Path) -> Vec<String> {
    if std::env::var("CAUSEWAY_TEST_STORE").as_deref() != Ok("postgres") {
        return Vec::new();
    }
    let saved = dir.join("store-url");
    if let Ok(url) = std::fs::read_to_string(&saved) {
        return vec!["--store".into(), url];
    }
    let base = std::env::var("CAUSEWAY_TEST_POSTGRES")
        .expect("CAUSEWAY_TEST_STORE=postgres needs CAUSEWAY_TEST_POSTGRES");
    let schema = format!("d_{}", uuid::Uuid::new_v4().simple());
    drop(control::store::postgres::Pool::connect(&base, Some(&schema)).expect("schema"));
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    std::fs::write(&saved, &url).expect("save the store URL");
    vec!["--store".into(), url]
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A running `causeway serve --http`, SIGKILLed on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
    token: String,
}

impl Server {
    fn start(bin: &Path, dir: &Path, port: u16) -> Server {
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("server.log"))
            .expect("log");
        let child = Command::new(bin)
            // The store is under test, not the edges: nothing is built in the kernel.
            .args([
                "serve",
                "--local-edges",
                "none",
                "--http",
                "--listen",
                &addr.to_string(),
                "--data-dir",
            ])
            .arg(dir)
            .args(store_args(dir))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn causeway serve");
        let mut server = Server {
            child,
            addr,
            token: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "causeway serve exited with {status}: {}",
                    std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
                );
            }
            if let Ok(t) = std::fs::read_to_string(dir.join("admin.token"))
                && TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
            {
                server.token = t.trim().to_owned();
                return server;
            }
            assert!(Instant::now() < deadline, "causeway serve did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn kill9(&mut self) {
        // std's Child::kill sends SIGKILL on Unix.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> std::io::Result<(u16, String)> {
        http(self.addr, &self.token, method, path, body)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A minimal HTTP/1.1 client: one request per connection.
fn http(
    addr: SocketAddr,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let sep = if path.contains('?') { '&' } else { '?' };
    let req = format!(
        "{method} {path}{sep}api-version={API} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("incomplete response: {text:?}")))?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line: {head:?}")))?;
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase().starts_with("transfer-encoding:")
            && l.to_ascii_lowercase().contains("chunked")
    });
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    if let Some(len) = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())
            .flatten()
    }) && body.len() < len
    {
        return Err(std::io::Error::other("truncated body"));
    }
    Ok((status, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

fn circuit_path(rg: &str, name: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Network/expressRouteCircuits/{name}"
    )
}

/// Version `v` of a circuit: bandwidth and tags both say which write it was.
fn circuit_version(v: usize) -> Value {
    const BW: [u32; 3] = [50, 100, 200];
    json!({
        "location": "westeurope",
        "tags": {"version": v.to_string()},
        "sku": {"tier": "Standard", "family": "MeteredData"},
        "properties": {"serviceProviderProperties": {
            "serviceProviderName": "Causeway Lab", "peeringLocation": "Lab",
            "bandwidthInMbps": BW[v]
        }}
    })
}

#[derive(Debug, Default, Clone, Copy)]
struct Track {
    /// Highest version the server acknowledged (2xx), if any.
    acked: Option<usize>,
    /// Highest version sent.
    sent: Option<usize>,
}

#[test]
fn every_acknowledged_write_survives_kill_9() {
    let Some(bin) = causeway_bin() else { return };
    let dir = TempDir::new("durability");
    let port = free_port();
    let mut server = Server::start(&bin, &dir.0, port);
    let addr = server.addr;
    let token = server.token.clone();

    const THREADS: usize = 8;
    const PER_THREAD: usize = 25;
    const VERSIONS: usize = 3;
    let tracks: Arc<Mutex<Vec<Track>>> =
        Arc::new(Mutex::new(vec![Track::default(); THREADS * PER_THREAD]));
    let acks = Arc::new(AtomicUsize::new(0));
    let dead = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for t in 0..THREADS {
        let (tracks, acks, dead, token) =
            (tracks.clone(), acks.clone(), dead.clone(), token.clone());
        workers.push(std::thread::spawn(move || {
            // Each circuit is created, then updated twice (bandwidth up, tags changed).
            for v in 0..VERSIONS {
                for i in 0..PER_THREAD {
                    if dead.load(Ordering::SeqCst) {
                        return;
                    }
                    let n = t * PER_THREAD + i;
                    tracks.lock().expect("lock")[n].sent = Some(v);
                    let path = circuit_path(&format!("rg{t}"), &format!("c{n}"));
                    match http(addr, &token, "PUT", &path, Some(&circuit_version(v))) {
                        Ok((s, _)) if (200..300).contains(&s) => {
                            tracks.lock().expect("lock")[n].acked = Some(v);
                            acks.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok((s, body)) => panic!("PUT {path} v{v}: {s} {body}"),
                        Err(_) => return, // the server was killed
                    }
                }
            }
        }));
    }
    // Kill the server while writes are in flight.
    let total = THREADS * PER_THREAD * VERSIONS;
    let target = total / 2;
    let deadline = Instant::now() + Duration::from_secs(120);
    while acks.load(Ordering::SeqCst) < target {
        assert!(
            Instant::now() < deadline,
            "the server acknowledged too little in 120 s"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    server.kill9();
    dead.store(true, Ordering::SeqCst);
    for w in workers {
        w.join().expect("worker");
    }
    let tracks = tracks.lock().expect("lock").clone();
    let acked = tracks.iter().filter(|t| t.acked.is_some()).count();
    let acked_writes = acks.load(Ordering::SeqCst);
    assert!(
        acked_writes >= target && acked_writes < total,
        "killed mid-stream: {acked_writes}/{total}"
    );

    // Restart on the same data directory: every acknowledged write is there.
    let restarted = Server::start(&bin, &dir.0, free_port());
    assert_eq!(restarted.token, token, "the admin token survives too");
    for (n, track) in tracks.iter().enumerate() {
        let t = n / PER_THREAD;
        let path = circuit_path(&format!("rg{t}"), &format!("c{n}"));
        let (status, body) = restarted.request("GET", &path, None).expect("GET");
        let Some(acked) = track.acked else {
            // Never acknowledged: it may or may not exist, but if it does it is whole.
            assert!(status == 200 || status == 404, "{path}: {status} {body}");
            continue;
        };
        assert_eq!(status, 200, "acknowledged circuit {path} is lost: {body}");
        let v: Value = serde_json::from_str(&body).expect("json");
        let version: usize = v["tags"]["version"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{path}: tags {}", v["tags"]));
        // The acknowledged version, or a later one the server committed before dying.
        let sent = track.sent.expect("sent");
        assert!(
            (acked..=sent).contains(&version),
            "{path}: acknowledged v{acked} (sent up to v{sent}) but found v{version}"
        );
        let expected = circuit_version(version);
        assert_eq!(
            v["properties"]["serviceProviderProperties"]["bandwidthInMbps"],
            expected["properties"]["serviceProviderProperties"]["bandwidthInMbps"],
            "{path}: bandwidth and tags come from the same write"
        );
        assert_eq!(v["properties"]["provisioningState"], "Succeeded");
    }
    // The list (followed through its nextLinks) agrees with the GETs.
    let mut listed = 0;
    let mut next = Some(format!(
        "/subscriptions/{SUB}/providers/Microsoft.Network/expressRouteCircuits"
    ));
    while let Some(path) = next.take() {
        let (status, body) = restarted.request("GET", &path, None).expect("list");
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).expect("json");
        listed += v["value"].as_array().expect("value").len();
        if let Some(link) = v["nextLink"].as_str() {
            // Back to a path; `request` appends the api-version again, harmlessly last.
            let link = link.split_once("://").map_or(link, |(_, rest)| rest);
            next = Some(link[link.find('/').expect("path")..].to_owned());
        }
    }
    assert!(listed >= acked, "listed {listed} < acknowledged {acked}");
    eprintln!(
        "{acked_writes} of {total} writes acknowledged before kill -9; {acked} circuits verified"
    );
}

#[test]
fn concurrent_writes_to_one_circuit_are_serialized_and_none_is_lost() {
    let Some(bin) = causeway_bin() else { return };
    let dir = TempDir::new("serialize");
    let mut server = Server::start(&bin, &dir.0, free_port());
    let path = circuit_path("rg", "shared");
    let (s, body) = server
        .request("PUT", &path, Some(&circuit_version(0)))
        .expect("create");
    assert_eq!(s, 201, "{body}");
    let addr = server.addr;
    let token = server.token.clone();

    let peerings = [
        (
            "AzurePrivatePeering",
            json!({"properties": {"peerASN": 65001, "vlanId": 100,
                "primaryPeerAddressPrefix": "192.168.1.0/30", "secondaryPeerAddressPrefix": "192.168.1.4/30",
                "sharedKey": "k1"}}),
        ),
        (
            "MicrosoftPeering",
            json!({"properties": {"peerASN": 64512, "vlanId": 200,
                "primaryPeerAddressPrefix": "123.0.0.0/30", "secondaryPeerAddressPrefix": "123.0.0.4/30",
                "microsoftPeeringConfig": {"advertisedPublicPrefixes": ["123.1.0.0/24"]}}}),
        ),
    ];
    let barrier = Arc::new(std::sync::Barrier::new(2 + 8 + 4));
    let mut workers = Vec::new();
    // The two peerings, each PUT several times over.
    for (name, body) in peerings.clone() {
        let (barrier, token, path) = (barrier.clone(), token.clone(), path.clone());
        workers.push(std::thread::spawn(move || {
            barrier.wait();
            for _ in 0..5 {
                let (s, b) = http(
                    addr,
                    &token,
                    "PUT",
                    &format!("{path}/peerings/{name}"),
                    Some(&body),
                )
                .expect("PUT");
                assert!(s == 200 || s == 201, "{name}: {s} {b}");
            }
        }));
    }
    // Eight authorizations.
    for i in 0..8 {
        let (barrier, token, path) = (barrier.clone(), token.clone(), path.clone());
        workers.push(std::thread::spawn(move || {
            barrier.wait();
            let (s, b) = http(
                addr,
                &token,
                "PUT",
                &format!("{path}/authorizations/auth{i}"),
                Some(&json!({})),
            )
            .expect("PUT");
            assert_eq!(s, 201, "auth{i}: {b}");
        }));
    }
    // Tag updates racing with the children (each replaces the whole tag set).
    for i in 0..4 {
        let (barrier, token, path) = (barrier.clone(), token.clone(), path.clone());
        workers.push(std::thread::spawn(move || {
            barrier.wait();
            let (s, b) = http(
                addr,
                &token,
                "PATCH",
                &path,
                Some(&json!({"tags": {"writer": i.to_string()}})),
            )
            .expect("PATCH");
            assert_eq!(s, 200, "PATCH {i}: {b}");
        }));
    }
    for w in workers {
        w.join().expect("worker");
    }
    let check = |server: &Server| {
        let (s, body) = server.request("GET", &path, None).expect("GET");
        assert_eq!(s, 200, "{body}");
        let v: Value = serde_json::from_str(&body).expect("json");
        let mut peerings: Vec<&str> = v["properties"]["peerings"]
            .as_array()
            .expect("peerings")
            .iter()
            .map(|p| p["name"].as_str().expect("name"))
            .collect();
        peerings.sort_unstable();
        assert_eq!(
            peerings,
            ["AzurePrivatePeering", "MicrosoftPeering"],
            "{body}"
        );
        let mut auths: Vec<String> = v["properties"]["authorizations"]
            .as_array()
            .expect("authorizations")
            .iter()
            .map(|a| a["name"].as_str().expect("name").to_owned())
            .collect();
        auths.sort_unstable();
        let expected: Vec<String> = (0..8).map(|i| format!("auth{i}")).collect();
        assert_eq!(auths, expected, "no authorization lost");
        let writer = v["tags"]["writer"].as_str().expect("a writer's tags");
        assert!(writer.parse::<u32>().is_ok_and(|w| w < 4));
        assert_eq!(
            v["tags"].as_object().expect("tags").len(),
            1,
            "tags from one write only"
        );
        assert!(!body.contains("k1"), "the shared key is not echoed");
    };
    check(&server);
    // And still so after kill -9 and a restart.
    server.kill9();
    let restarted = Server::start(&bin, &dir.0, free_port());
    check(&restarted);
}

#[test]
fn sigterm_shuts_down_cleanly_and_the_admin_token_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let Some(bin) = causeway_bin() else { return };
    let dir = TempDir::new("shutdown");
    let mut server = Server::start(&bin, &dir.0, free_port());
    let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(
        mode(&dir.0.join("admin.token")),
        0o600,
        "admin.token is mode 0600"
    );
    let path = circuit_path("rg", "before-sigterm");
    let (s, body) = server
        .request("PUT", &path, Some(&circuit_version(1)))
        .expect("PUT");
    assert_eq!(s, 201, "{body}");
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(exit) = server.child.try_wait().expect("wait") {
            break exit;
        }
        assert!(Instant::now() < deadline, "no exit within 15 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "exit status after SIGTERM: {exit}");
    let restarted = Server::start(&bin, &dir.0, free_port());
    let (s, body) = restarted.request("GET", &path, None).expect("GET");
    assert_eq!(s, 200, "{body}");
}
