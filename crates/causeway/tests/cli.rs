//! End to end: a real `causeway serve` driven through the `causeway` client commands.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_causeway");
const SUB: &str = "11111111-2222-3333-4444-555555555555";
/// The built-in catalogue's lab provider and where its cross-connections live.
const LAB: &str = "Causeway Lab";
const LAB_SUB: &str = "00000000-0000-0000-0000-00000000c0de";

struct Server {
    child: Child,
    dir: PathBuf,
    endpoint: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn scratch_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "causeway-cli-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `causeway serve` and waits (with a deadline) until it accepts connections.
fn start(http: bool) -> Server {
    let dir = scratch_dir();
    let port = free_port();
    let mut cmd = Command::new(BIN);
    // The client is under test, not the edges: no in-process edges, nothing in the kernel.
    cmd.arg("serve")
        .args(["--local-edges", "none"])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if http {
        cmd.arg("--http");
    }
    let mut child = cmd.spawn().expect("cannot start causeway serve");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("causeway serve exited early: {status}");
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() && dir.join("data/admin.token").exists()
        {
            break;
        }
        assert!(Instant::now() < deadline, "causeway serve never listened");
        std::thread::sleep(Duration::from_millis(20));
    }
    let scheme = if http { "http" } else { "https" };
    Server {
        child,
        endpoint: format!("{scheme}://127.0.0.1:{port}"),
        dir,
    }
}

impl Server {
    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The client, with the environment a user on the server's machine would have.
    fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        for v in [
            "CAUSEWAY_TOKEN",
            "CAUSEWAY_PROFILE",
            "CAUSEWAY_CA_CERT",
            "CAUSEWAY_ENDPOINT",
        ] {
            c.env_remove(v);
        }
        c.env("CAUSEWAY_ENDPOINT", &self.endpoint)
            .env("CAUSEWAY_DATA_DIR", self.data())
            .env("CAUSEWAY_SUBSCRIPTION", SUB)
            .env("XDG_CONFIG_HOME", self.dir.join("config"))
            .env("HOME", &self.dir);
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    /// Runs and expects success; answers stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "causeway {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let text = self.ok(args);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: {e}: {text}"))
    }

    /// Runs and expects exit status 1 with `error: <code>: ...` on stderr.
    fn fails(&self, args: &[&str], code: &str) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with(&format!("error: {code}: ")),
            "{args:?}: expected {code}, got: {stderr}"
        );
        stderr
    }
}

/// `causeway token create ARGS` on the server's data directory: the secret.
fn token(data: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(["token", "create"])
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn a_circuit_from_order_to_deletion_through_the_cli() {
    let s = start(true);
    let providers = s.ok(&["list-service-providers"]);
    assert!(providers.contains(LAB), "{providers}");
    assert!(providers.contains("10Gbps"), "{providers}");

    let created = s.json(&[
        "create",
        "-n",
        "er1",
        "-g",
        "rg1",
        "-l",
        "westeurope",
        "--provider",
        LAB,
        "--peering-location",
        "Lab",
        "--bandwidth",
        "50",
        "Mbps",
        "--tags",
        "env=lab",
        "owner",
    ]);
    assert_eq!(created["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        created["properties"]["serviceProviderProperties"]["bandwidthInMbps"],
        50
    );
    assert_eq!(created["sku"]["name"], "Standard_MeteredData");
    assert_eq!(
        created["tags"],
        serde_json::json!({"env": "lab", "owner": ""})
    );
    assert_eq!(
        created["properties"]["serviceProviderProvisioningState"],
        "NotProvisioned"
    );
    let key = created["properties"]["serviceKey"]
        .as_str()
        .unwrap()
        .to_owned();

    let shown = s.json(&["show", "-n", "er1", "-g", "rg1"]);
    assert_eq!(shown["name"], "er1");
    assert_eq!(shown["properties"]["serviceKey"], key.as_str());

    let table = s.ok(&["list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("Name"), "{table}");
    assert!(lines[1].starts_with("----"), "{table}");
    assert!(lines.iter().any(|l| l.starts_with("er1 ")), "{table}");
    assert!(table.contains(&key));
    let in_rg = s.json(&["list", "-g", "rg1", "-o", "json"]);
    assert_eq!(in_rg.as_array().unwrap().len(), 1);
    assert_eq!(
        s.json(&["list", "-g", "other", "-o", "json"]),
        serde_json::json!([])
    );

    // Updates: bandwidth by GET/PUT, tags alone by PATCH.
    let up = s.json(&["update", "-n", "er1", "-g", "rg1", "--bandwidth", "1 Gbps"]);
    assert_eq!(
        up["properties"]["serviceProviderProperties"]["bandwidthInMbps"],
        1000
    );
    assert_eq!(up["tags"]["env"], "lab");
    let up = s.json(&["update", "-n", "er1", "-g", "rg1", "--tags", "team=net"]);
    assert_eq!(up["tags"], serde_json::json!({"team": "net"}));

    // Validation errors: exit 1, the ARM code on stderr, nothing changed.
    s.fails(
        &["update", "-n", "er1", "-g", "rg1", "--bandwidth", "50"],
        "CannotDecreaseBandwidth",
    );
    s.fails(
        &[
            "create",
            "-n",
            "er2",
            "-g",
            "rg1",
            "-l",
            "westeurope",
            "--provider",
            LAB,
            "--peering-location",
            "Lab",
            "--bandwidth",
            "42",
        ],
        "InvalidBandwidth",
    );
    let private = [
        "peering",
        "create",
        "--circuit-name",
        "er1",
        "-g",
        "rg1",
        "--peering-type",
        "AzurePrivatePeering",
        "--peer-asn",
        "65010",
        "--primary-peer-subnet",
        "192.168.15.16/30",
        "--secondary-peer-subnet",
        "192.168.15.20/30",
    ];
    s.fails(
        &[&private[..], &["--vlan-id", "5000"]].concat(),
        "InvalidVlanId",
    );
    s.fails(&["show", "-n", "er2", "-g", "rg1"], "ResourceNotFound");

    // A peering before the provider has provisioned: staged.
    let p = s.json(
        &[
            &private[..],
            &["--vlan-id", "100", "--shared-key", "s3cret"],
        ]
        .concat(),
    );
    assert_eq!(p["name"], "AzurePrivatePeering");
    assert_eq!(p["properties"]["vlanId"], 100);
    assert_eq!(p["properties"]["azureASN"], 12076);
    assert!(p["properties"].get("sharedKey").is_none());
    let p = s.json(&[
        "peering",
        "create",
        "--circuit-name",
        "er1",
        "-g",
        "rg1",
        "--peering-type",
        "AzurePrivatePeering",
        "--peer-asn",
        "65010",
        "--vlan-id",
        "100",
        "--ip-version",
        "ipv6",
        "--primary-peer-subnet",
        "2001:db8::/126",
        "--secondary-peer-subnet",
        "2001:db8::4/126",
    ]);
    assert_eq!(
        p["properties"]["primaryPeerAddressPrefix"],
        "192.168.15.16/30"
    );
    assert_eq!(
        p["properties"]["ipv6PeeringConfig"]["secondaryPeerAddressPrefix"],
        "2001:db8::4/126"
    );
    let peerings = s.ok(&["peering", "list", "--circuit-name", "er1", "-g", "rg1"]);
    assert!(peerings.contains("AzurePrivatePeering"), "{peerings}");

    // Authorizations.
    let a = s.json(&[
        "auth",
        "create",
        "--circuit-name",
        "er1",
        "-g",
        "rg1",
        "-n",
        "a1",
    ]);
    assert_eq!(a["properties"]["authorizationUseStatus"], "Available");
    assert!(
        s.ok(&["auth", "list", "--circuit-name", "er1", "-g", "rg1"])
            .contains("a1")
    );
    s.ok(&[
        "auth",
        "delete",
        "--circuit-name",
        "er1",
        "-g",
        "rg1",
        "-n",
        "a1",
    ]);
    assert_eq!(
        s.json(&[
            "auth",
            "list",
            "--circuit-name",
            "er1",
            "-g",
            "rg1",
            "-o",
            "json"
        ]),
        serde_json::json!([])
    );

    // Diagnostics: empty tables while the peering is only staged (not provisioned).
    let summary = s.ok(&[
        "list-route-tables-summary",
        "-n",
        "er1",
        "-g",
        "rg1",
        "--peering-name",
        "AzurePrivatePeering",
        "--path",
        "primary",
    ]);
    let lines: Vec<&str> = summary.lines().collect();
    assert_eq!(lines.len(), 2, "{summary}");
    assert!(lines[0].starts_with("Neighbor"), "{summary}");
    let routes = s.json(&[
        "list-route-tables",
        "-n",
        "er1",
        "-g",
        "rg1",
        "--peering-name",
        "AzurePrivatePeering",
        "--path",
        "secondary",
        "-o",
        "json",
    ]);
    assert_eq!(routes["value"], serde_json::json!([]));
    let stats = s.json(&["get-stats", "-n", "er1", "-g", "rg1"]);
    assert_eq!(stats["primarybytesIn"], 0);

    // The provider provisions the circuit through its cross-connection.
    let pt = token(&s.data(), &["--provider", LAB]);
    let as_provider = |args: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        v.extend([
            "--token".into(),
            pt.clone(),
            "--subscription".into(),
            LAB_SUB.into(),
        ]);
        v
    };
    let run_p = |args: &[&str]| {
        let v = as_provider(args);
        s.json(&v.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let listed = s.ok(&as_provider(&["cross-connection", "list"])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    assert!(listed.contains(&key), "{listed}");
    let cc = run_p(&[
        "cross-connection",
        "update",
        "-n",
        &key,
        "-g",
        "CrossConnection-Lab",
        "--provisioning-state",
        "Provisioned",
        "--notes",
        "handed over",
    ]);
    assert_eq!(
        cc["properties"]["serviceProviderProvisioningState"],
        "Provisioned"
    );
    let shown = s.json(&["show", "-n", "er1", "-g", "rg1"]);
    assert_eq!(
        shown["properties"]["serviceProviderProvisioningState"],
        "Provisioned"
    );
    assert_eq!(shown["properties"]["serviceProviderNotes"], "handed over");
    // A customer's token sees its circuit but not the provider's cross-connection.
    let ct = token(&s.data(), &["--customer", SUB]);
    let mine = s.json(&["show", "-n", "er1", "-g", "rg1", "--token", &ct]);
    assert_eq!(mine["properties"]["serviceKey"], key.as_str());
    s.fails(
        &[
            "cross-connection",
            "show",
            "-n",
            &key,
            "-g",
            "CrossConnection-Lab",
            "--subscription",
            LAB_SUB,
            "--token",
            &ct,
        ],
        "ResourceNotFound",
    );

    // After provisioning the tables are the edges' live data: same shapes.
    let summary = s.ok(&[
        "list-route-tables-summary",
        "-n",
        "er1",
        "-g",
        "rg1",
        "--peering-name",
        "AzurePrivatePeering",
    ]);
    assert!(summary.starts_with("Neighbor"), "{summary}");
    let stats = s.json(&["get-stats", "-n", "er1", "-g", "rg1"]);
    assert!(stats["primarybytesIn"].is_u64(), "{stats}");

    // Deleting needs the provider to deprovision first.
    let why = s.fails(
        &["delete", "-n", "er1", "-g", "rg1"],
        "CircuitNotDeprovisioned",
    );
    assert!(why.contains("deprovision"), "{why}");
    for state in ["Deprovisioning", "NotProvisioned"] {
        run_p(&[
            "cross-connection",
            "update",
            "-n",
            &key,
            "--provisioning-state",
            state,
        ]);
    }
    s.ok(&[
        "peering",
        "delete",
        "--circuit-name",
        "er1",
        "-g",
        "rg1",
        "-n",
        "AzurePrivatePeering",
    ]);
    s.ok(&["delete", "-n", "er1", "-g", "rg1"]);
    s.fails(&["show", "-n", "er1", "-g", "rg1"], "ResourceNotFound");
    // Deleting what does not exist succeeds (ARM answers 204).
    s.ok(&["delete", "-n", "er1", "-g", "rg1"]);
}

#[test]
fn https_trusts_the_local_certificate_and_profiles_supply_the_connection() {
    let s = start(false);
    // CAUSEWAY_DATA_DIR points at the server's data: its tls.crt and admin.token are used.
    assert!(s.ok(&["list-service-providers"]).contains(LAB));

    // Elsewhere, the self-signed certificate is not trusted...
    let token = std::fs::read_to_string(s.data().join("admin.token")).unwrap();
    let token = token.trim();
    let elsewhere = |extra: &[&str]| {
        let mut c = s.cmd();
        c.env("CAUSEWAY_DATA_DIR", s.dir.join("nowhere"))
            .args(["list", "-o", "json", "--token", token])
            .args(extra);
        c.output().unwrap()
    };
    let out = elsewhere(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("certificate"));
    // ...unless given, or verification is off.
    let cert = s.data().join("tls.crt");
    assert!(
        elsewhere(&["--ca-cert", cert.to_str().unwrap()])
            .status
            .success()
    );
    assert!(elsewhere(&["--insecure"]).status.success());

    // A profile supplies endpoint, token file, subscription and TLS trust.
    let cfg = s.dir.join("config/causeway");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(cfg.join("token"), format!("{token}\n")).unwrap();
    std::fs::write(
        cfg.join("profile.toml"),
        format!(
            "endpoint = \"{}\"\ntoken_file = \"token\"\nsubscription = \"{SUB}\"\nca_cert = \"{}\"\n",
            s.endpoint,
            cert.display()
        ),
    )
    .unwrap();
    let out = s
        .cmd()
        .env_remove("CAUSEWAY_ENDPOINT")
        .env_remove("CAUSEWAY_SUBSCRIPTION")
        .env("CAUSEWAY_DATA_DIR", s.dir.join("nowhere"))
        .args(["list", "-o", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        serde_json::json!([])
    );

    // A bad token is an ARM authentication error.
    s.fails(&["list", "--token", "cw_bogus"], "AuthenticationFailed");
}

#[test]
fn ce_config_writes_the_router_side_and_the_key_only_when_asked() {
    let s = start(true);
    s.json(&[
        "create",
        "-n",
        "ce1",
        "-g",
        "rg1",
        "-l",
        "westeurope",
        "--provider",
        LAB,
        "--peering-location",
        "Lab",
        "--bandwidth",
        "50",
    ]);
    // Before any peering there is nothing to configure: a clear error.
    s.fails(
        &["ce-config", "-n", "ce1", "-g", "rg1", "--vendor", "bird"],
        "CircuitHasNoPeering",
    );
    s.json(&[
        "peering",
        "create",
        "--circuit-name",
        "ce1",
        "-g",
        "rg1",
        "--peering-type",
        "AzurePrivatePeering",
        "--peer-asn",
        "65010",
        "--primary-peer-subnet",
        "192.168.15.16/30",
        "--secondary-peer-subnet",
        "192.168.15.20/30",
        "--vlan-id",
        "100",
        "--shared-key",
        "s3cret",
    ]);
    let junos = s.ok(&[
        "ce-config",
        "-n",
        "ce1",
        "-g",
        "rg1",
        "--vendor",
        "junos",
        "--announce",
        "10.50.0.0/16",
    ]);
    for want in [
        "address 192.168.15.17/30;",
        "neighbor 192.168.15.18 {",
        "neighbor 192.168.15.22 {",
        "peer-as 12076;",
        "autonomous-system 65010;",
        "minimum-interval 300;",
        "multiplier 3;",
        "10.50.0.0/16;",
    ] {
        assert!(junos.contains(want), "junos text lacks {want:?}:\n{junos}");
    }
    assert!(
        !junos.contains("s3cret"),
        "the key leaked without --with-secrets"
    );

    let file = s.dir.join("ios.cfg");
    s.ok(&[
        "ce-config",
        "-n",
        "ce1",
        "-g",
        "rg1",
        "--vendor",
        "ios-xe",
        "--with-secrets",
        "-f",
        file.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("neighbor 192.168.15.18 password s3cret"),
        "{text}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "a file with secrets is the owner's only");

    s.fails(
        &[
            "ce-config",
            "-n",
            "ce1",
            "-g",
            "rg1",
            "--vendor",
            "frr",
            "--announce",
            "10.50.0.1/16",
        ],
        "InvalidPrefix",
    );
    // Another tenant's circuit reads like a missing one.
    let other = token(
        &s.data(),
        &["--customer", "bbbbbbbb-0000-4000-8000-000000000001"],
    );
    let out = s
        .cmd()
        .env("CAUSEWAY_TOKEN", other)
        .args(["ce-config", "-n", "ce1", "-g", "rg1", "--vendor", "eos"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: ResourceNotFound: "), "{stderr}");
}
