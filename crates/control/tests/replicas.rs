//! Two `causeway control` replicas on one PostgreSQL database, as an operator runs them
//! behind a load balancer: a write through one reads back at once through the other, a
//! long poll on one wakes when the other commits, and `kill -9` of one in the middle of a
//! write load loses no acknowledged write while the clients carry on against the other.
//!
//! Needs the binary (`$CAUSEWAY_BIN`, else `$CARGO_TARGET_DIR/debug/causeway`) and a server
//! (`CAUSEWAY_TEST_POSTGRES`, which scripts/test starts); each test gets a schema of its
//! own. Without them the tests skip with a message, or fail when `CI=true`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const API: &str = "2024-05-01";
const SUB: &str = "eeeeeeee-0000-4000-8000-00000000000e";

fn skip(msg: &str) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
}

/// The binary and a fresh store URL (a new schema on the test server), or `None` (skipped).
fn setup() -> Option<(PathBuf, String)> {
    let bin = match std::env::var_os("CAUSEWAY_BIN") {
        Some(p) => PathBuf::from(p),
        None => std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
            .join("debug/causeway"),
    };
    if !bin.is_file() {
        skip(&format!("causeway binary {} not found", bin.display()));
        return None;
    }
    let Some(base) = std::env::var("CAUSEWAY_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        skip("CAUSEWAY_TEST_POSTGRES is not set (scripts/test starts a server)");
        return None;
    };
    let schema = format!("r_{}", uuid::Uuid::new_v4().simple());
    drop(control::store::postgres::Pool::connect(&base, Some(&schema)).expect("schema"));
    let sep = if base.contains('?') { '&' } else { '?' };
    Some((
        bin,
        format!("{base}{sep}options=-c%20search_path%3D{schema}"),
    ))
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("causeway-{tag}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One `causeway control --http` replica with its own data directory, SIGKILLed on drop.
struct Replica {
    child: Child,
    addr: SocketAddr,
    token: String,
    dir: TempDir,
}

impl Replica {
    fn start(bin: &Path, store: &str, tag: &str) -> Replica {
        let dir = TempDir::new(tag);
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let log = std::fs::File::create(dir.0.join("control.log")).expect("log");
        let child = Command::new(bin)
            .args([
                "control",
                "--http",
                "--listen",
                &addr.to_string(),
                "--store",
                store,
            ])
            .arg("--data-dir")
            .arg(&dir.0)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn causeway control");
        let mut r = Replica {
            child,
            addr,
            token: String::new(),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = r.child.try_wait() {
                panic!("causeway control exited with {status}: {}", r.log());
            }
            if let Ok(t) = std::fs::read_to_string(r.dir.0.join("admin.token"))
                && TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
            {
                r.token = t.trim().to_owned();
                return r;
            }
            assert!(Instant::now() < deadline, "causeway control did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("control.log")).unwrap_or_default()
    }

    fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
        http(self.addr, &self.token, method, path, body, &[])
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A minimal HTTP/1.1 client: one request per connection; (status, body).
fn http(
    addr: SocketAddr,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(40)))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let sep = if path.contains('?') { '&' } else { '?' };
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let req = format!(
        "{method} {path}{sep}api-version={API} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         {extra}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
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
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
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

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[test]
fn a_write_through_one_replica_reads_back_at_once_through_the_other() {
    let Some((bin, store)) = setup() else { return };
    let a = Replica::start(&bin, &store, "replica-a");
    let b = Replica::start(&bin, &store, "replica-b");
    let path = circuit_path("rg", "shared");

    let (s, created) = a.request("PUT", &path, Some(&circuit_version(0)));
    assert_eq!(s, 201, "{created}");
    let created = json_of(&created);
    let (s, read) = b.request("GET", &path, None);
    assert_eq!(s, 200, "the other replica does not see the write: {read}");
    let read = json_of(&read);
    assert_eq!(read["etag"], created["etag"]);
    assert_eq!(
        read["properties"]["serviceKey"],
        created["properties"]["serviceKey"]
    );

    // An etag taken from one replica guards a write through the other.
    let etag = read["etag"].as_str().expect("etag").to_owned();
    let (s, _) = http(
        b.addr,
        &b.token,
        "PUT",
        &path,
        Some(&circuit_version(1)),
        &[("If-Match", &etag)],
    )
    .expect("PUT");
    assert_eq!(s, 200);
    let (s, body) = http(
        a.addr,
        &a.token,
        "PUT",
        &path,
        Some(&circuit_version(2)),
        &[("If-Match", &etag)],
    )
    .expect("PUT");
    assert_eq!(
        s, 412,
        "a stale etag must be refused on every replica: {body}"
    );
    let (_, now) = a.request("GET", &path, None);
    assert_eq!(json_of(&now)["tags"]["version"], "1");

    // The service key is unique across replicas: the provider reaches the circuit through
    // either one.
    let key = created["properties"]["serviceKey"].as_str().expect("key");
    let cross = format!(
        "/subscriptions/00000000-0000-0000-0000-00000000c0de/resourceGroups/CrossConnection-Lab/providers/Microsoft.Network/expressRouteCrossConnections/{key}"
    );
    assert_eq!(b.request("GET", &cross, None).0, 200);
    assert_eq!(a.request("GET", &cross, None).0, 200);
}

#[test]
fn a_long_poll_on_one_replica_wakes_when_the_other_commits() {
    let Some((bin, store)) = setup() else { return };
    let a = Replica::start(&bin, &store, "replica-a");
    let b = Replica::start(&bin, &store, "replica-b");
    let out = Command::new(&bin)
        .args(["token", "create", "--edge", "lab-edge-1", "--store", &store])
        .arg("--data-dir")
        .arg(&b.dir.0)
        .output()
        .expect("token create");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let edge_token = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .expect("a secret")
        .trim()
        .to_owned();
    let desired = "/edge/v1/lab-edge-1/desired";
    let (s, body) = http(b.addr, &edge_token, "GET", desired, None, &[]).expect("desired");
    assert_eq!(s, 200, "{body}");
    let generation = json_of(&body)["generation"].as_u64().expect("generation");

    let (addr, token) = (b.addr, edge_token.clone());
    let poll = std::thread::spawn(move || {
        let started = Instant::now();
        let r = http(
            addr,
            &token,
            "GET",
            &format!("{desired}?after={generation}"),
            None,
            &[],
        );
        (r, started.elapsed())
    });
    // The poll is parked on B; a circuit at the edge's location is created through A.
    std::thread::sleep(Duration::from_millis(300));
    let (s, body) = a.request(
        "PUT",
        &circuit_path("rg", "wake"),
        Some(&circuit_version(0)),
    );
    assert_eq!(s, 201, "{body}");
    let (r, waited) = poll.join().expect("poll");
    let (s, body) = r.expect("the long poll");
    assert_eq!(s, 200, "{body}");
    assert!(
        json_of(&body)["generation"].as_u64().expect("generation") > generation,
        "the long poll answered an unchanged generation: {body}"
    );
    // The long poll lasts 25 s; an answer well before that is the other replica's commit.
    assert!(
        waited < Duration::from_secs(10),
        "B's long poll woke only after {waited:?}"
    );
}

#[derive(Debug, Default, Clone, Copy)]
struct Track {
    acked: Option<usize>,
    sent: Option<usize>,
}

#[test]
fn kill_9_of_one_replica_under_four_writers_loses_no_acknowledged_write() {
    let Some((bin, store)) = setup() else { return };
    let mut a = Replica::start(&bin, &store, "replica-a");
    let b = Replica::start(&bin, &store, "replica-b");
    let token_a = a.token.clone();
    let token_b = b.token.clone();

    const CLIENTS: usize = 4;
    const PER_CLIENT: usize = 30;
    const VERSIONS: usize = 3;
    let total = CLIENTS * PER_CLIENT * VERSIONS;
    let tracks = Arc::new(Mutex::new(vec![Track::default(); CLIENTS * PER_CLIENT]));
    let acks = Arc::new(AtomicUsize::new(0));
    let after_kill = Arc::new(AtomicUsize::new(0));
    let killed = Arc::new(AtomicBool::new(false));
    let replicas = [(a.addr, token_a), (b.addr, token_b)];
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (tracks, acks, after_kill, killed, replicas) = (
            tracks.clone(),
            acks.clone(),
            after_kill.clone(),
            killed.clone(),
            replicas.clone(),
        );
        clients.push(std::thread::spawn(move || {
            // Every client starts on A and moves to B when A stops answering, as behind a
            // load balancer; a failed write is retried there (PUT is idempotent).
            let mut at = 0;
            for v in 0..VERSIONS {
                for i in 0..PER_CLIENT {
                    let n = c * PER_CLIENT + i;
                    let path = circuit_path(&format!("rg{c}"), &format!("c{n}"));
                    tracks.lock().expect("lock")[n].sent = Some(v);
                    loop {
                        let (addr, token) = &replicas[at];
                        match http(*addr, token, "PUT", &path, Some(&circuit_version(v)), &[]) {
                            Ok((s, _)) if (200..300).contains(&s) => {
                                tracks.lock().expect("lock")[n].acked = Some(v);
                                acks.fetch_add(1, Ordering::SeqCst);
                                if killed.load(Ordering::SeqCst) {
                                    after_kill.fetch_add(1, Ordering::SeqCst);
                                }
                                break;
                            }
                            Ok((s, body)) if s < 500 => panic!("PUT {path} v{v}: {s} {body}"),
                            _ if at == 0 => at = 1,
                            Ok((s, body)) => panic!("PUT {path} v{v} on the survivor: {s} {body}"),
                            Err(e) => panic!("PUT {path} v{v} on the survivor: {e}"),
                        }
                    }
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while acks.load(Ordering::SeqCst) < total / 3 {
        assert!(
            Instant::now() < deadline,
            "too few writes acknowledged in 120 s"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    a.kill9();
    killed.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().expect("a client gave up");
    }
    assert_eq!(
        acks.load(Ordering::SeqCst),
        total,
        "every write was acknowledged in the end"
    );
    assert!(
        after_kill.load(Ordering::SeqCst) > 0,
        "the clients carried on after the kill"
    );
    for (n, t) in tracks.lock().expect("lock").iter().enumerate() {
        let path = circuit_path(&format!("rg{}", n / PER_CLIENT), &format!("c{n}"));
        let (s, body) = b.request("GET", &path, None);
        assert_eq!(s, 200, "acknowledged circuit {path} is lost: {body}");
        let v = json_of(&body);
        assert_eq!(v["tags"]["version"], (VERSIONS - 1).to_string(), "{path}");
        assert_eq!(t.acked, Some(VERSIONS - 1));
        assert_eq!(t.sent, Some(VERSIONS - 1));
    }
    eprintln!(
        "{total} writes acknowledged, {} of them by the survivor after kill -9",
        after_kill.load(Ordering::SeqCst)
    );
}
