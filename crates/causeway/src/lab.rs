//! `causeway lab`: a complete ExpressRoute topology in network namespaces, on top of a running
//! `causeway serve` (with its in-process lab edges and gateway host), configured through the
//! public API like a customer and a provider would.
//!
//! ```text
//!  cwlab-N-host ── lan0 ┐                                         ┌ vnet0 ── cwlab-N-vm
//!  192.168.50.10        cwlab-N-onprem (BIRD, AS 65010)           cwg-… (the VNet gateway,
//!                  wan1 ┘  └ wan2                                  AS 65515, FIB over both edges)
//!                   │         │                                     │ fab0
//!   cw-…-primary: xc0 bridge  cw-…-secondary: xc0 bridge    cwf-… : br0 (the VNet's fabric)
//!                   │ ce0     │ ce0                           │            │
//!   cwe-lab-edge-1-… cust0    cwe-lab-edge-2-… cust0 ── vn… ──┘ ─── vn… ───┘
//! ```
//!
//! `up` creates (idempotently) the circuit, has the provider provision it, configures private
//! peering, a virtual network with a gateway and a connection, then builds the on-premises
//! site: a BIRD router peering with both edges (BFD on, ECMP into its kernel) and a host
//! behind it, and a host in the virtual network. `fail primary|secondary` cuts one link
//! silently (the customer-side port leaves its bridge: carrier stays up, packets vanish, so
//! BFD is what notices); `restore` heals it; `drain` prepends on one link through the admin
//! API. `probe` sends timestamped UDP at millisecond intervals from the on-premises host to
//! the virtual-network host and back and reports the longest outage. `down` removes it all.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use edge::lab as kernel;
use serde_json::{Value, json};

use crate::client::{Client, Conn};

/// The subscription the lab's resources live in unless one is given.
pub const LAB_SUBSCRIPTION: &str = "00000000-0000-0000-0000-0000000001ab";
const PROVIDER: &str = "Causeway Lab";
const PROVIDER_SUBSCRIPTION: &str = "00000000-0000-0000-0000-00000000c0de";
const PROVIDER_GROUP: &str = "CrossConnection-Lab";
const LOCATION: &str = "Lab";
const REGION: &str = "westeurope";

/// The on-premises side.
const ONPREM_AS: u32 = 65010;
const ONPREM_LAN: &str = "192.168.50.0/24";
const ONPREM_ROUTER: Ipv4Addr = Ipv4Addr::new(192, 168, 50, 1);
const ONPREM_HOST: Ipv4Addr = Ipv4Addr::new(192, 168, 50, 10);
const PRIMARY_LINK: &str = "172.16.0.0/30";
const SECONDARY_LINK: &str = "172.16.0.4/30";
/// The virtual network.
const VNET_SPACE: &str = "10.20.0.0/16";
const VNET_SUBNET: &str = "10.20.1.0/24";
const GATEWAY_SUBNET: &str = "10.20.255.0/27";
const VM: Ipv4Addr = Ipv4Addr::new(10, 20, 1, 10);
const VM_GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 20, 1, 1);
/// The probe's UDP port on the virtual-network host.
const PROBE_PORT: u16 = 50007;

#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// Build the lab (root): circuit, peering, virtual network, gateway, connection, an
    /// on-premises BIRD router with a host, and a host in the virtual network.
    Up(UpArgs),
    /// Remove every trace of the lab: its resources, namespaces and BIRD.
    Down(Common),
    /// Cut one link silently (no carrier loss: BFD has to notice).
    Fail(LinkArgs),
    /// Heal a cut link (both when none is named).
    Restore(RestoreArgs),
    /// Drain one link with AS-path prepends on the edge (0 undrains).
    Drain(DrainArgs),
    /// Timestamped UDP from the on-premises host to the virtual-network host and back:
    /// prints the longest outage and the loss, as JSON.
    Probe(ProbeArgs),
}

#[derive(Debug, Clone, Args)]
pub struct Common {
    /// The lab's name: several labs can run side by side on one host.
    #[arg(long, default_value = "lab")]
    pub name: String,
    #[command(flatten)]
    pub conn: Conn,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub common: Common,
    /// The on-premises router's BFD interval toward the edges, in ms (the edges' own comes
    /// from `causeway serve --bfd-interval-ms`).
    #[arg(long, default_value_t = 300)]
    pub bfd_interval_ms: u32,
    #[arg(long, default_value_t = 3)]
    pub bfd_multiplier: u8,
    /// How long to wait for the sessions and routes.
    #[arg(long, default_value_t = 90)]
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Link {
    Primary,
    Secondary,
}

impl Link {
    fn as_str(self) -> &'static str {
        match self {
            Link::Primary => "primary",
            Link::Secondary => "secondary",
        }
    }
}

#[derive(Debug, Args)]
pub struct LinkArgs {
    #[arg(value_enum)]
    pub link: Link,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[arg(value_enum)]
    pub link: Option<Link>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct DrainArgs {
    #[arg(value_enum)]
    pub link: Link,
    /// Extra prepends of the edge's AS on that link (0 restores it).
    #[arg(long, default_value_t = 3)]
    pub prepend: u8,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// How long to send.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Interval between packets of one flow, in ms.
    #[arg(long, default_value_t = 1.0)]
    pub interval_ms: f64,
    /// Parallel flows (distinct source ports, so they spread over both links).
    #[arg(long, default_value_t = 8)]
    pub flows: u16,
    #[arg(long, default_value = "lab")]
    pub name: String,
}

pub fn run(command: LabCommand) -> anyhow::Result<()> {
    match command {
        LabCommand::Up(a) => up(a),
        LabCommand::Down(c) => down(&c),
        LabCommand::Fail(a) => cut(&a.common, a.link, true),
        LabCommand::Restore(a) => match a.link {
            Some(l) => cut(&a.common, l, false),
            None => {
                cut(&a.common, Link::Primary, false)?;
                cut(&a.common, Link::Secondary, false)
            }
        },
        LabCommand::Drain(a) => drain(&a),
        LabCommand::Probe(a) => {
            let lab = Lab::new(&a.name)?;
            let result = probe(&lab, &a)?;
            println!("{}", serde_json::to_string_pretty(&result)?);
            Ok(())
        }
    }
}

/// Names of one lab's resources and namespaces.
#[derive(Debug, Clone)]
struct Lab {
    name: String,
}

impl Lab {
    fn new(name: &str) -> anyhow::Result<Lab> {
        let ok = !name.is_empty()
            && name.len() <= 12
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok {
            bail!("lab name {name:?}: use 1-12 lowercase letters, digits or '-'");
        }
        Ok(Lab { name: name.into() })
    }

    fn ns(&self, what: &str) -> String {
        format!("cwlab-{}-{what}", self.name)
    }

    fn run_dir(&self) -> PathBuf {
        PathBuf::from("/run/causeway-lab").join(&self.name)
    }

    fn group(&self, sub: &str) -> String {
        format!(
            "/subscriptions/{sub}/resourceGroups/causeway-{}/providers/Microsoft.Network",
            self.name
        )
    }

    fn circuit(&self, sub: &str) -> String {
        format!(
            "{}/expressRouteCircuits/{}-circuit",
            self.group(sub),
            self.name
        )
    }

    fn vnet(&self, sub: &str) -> String {
        format!("{}/virtualNetworks/{}-vnet", self.group(sub), self.name)
    }

    fn gateway(&self, sub: &str) -> String {
        format!(
            "{}/virtualNetworkGateways/{}-gw",
            self.group(sub),
            self.name
        )
    }

    fn connection(&self, sub: &str) -> String {
        format!("{}/connections/{}-connection", self.group(sub), self.name)
    }
}

fn client(common: &Common) -> anyhow::Result<(Client, String)> {
    let mut conn = common.conn.clone();
    if conn.subscription.is_none() {
        conn.subscription = Some(LAB_SUBSCRIPTION.into());
    }
    let client = Client::connect(&conn)?;
    let sub = client.subscription()?.to_owned();
    Ok((client, sub))
}

fn need_root() -> anyhow::Result<()> {
    if !edge::netns::have_net_admin() {
        bail!("the lab builds network namespaces: run it as root (CAP_NET_ADMIN)");
    }
    Ok(())
}

/// Polls `f` until it yields a value or `timeout` passes; `what` names the wait in errors.
fn wait<T>(
    what: &str,
    timeout: Duration,
    mut f: impl FnMut() -> anyhow::Result<Option<T>>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + timeout;
    let mut last = None;
    loop {
        match f() {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last = Some(e),
        }
        if Instant::now() >= deadline {
            return Err(match last {
                Some(e) => e.context(format!("timed out waiting for {what}")),
                None => anyhow!("timed out waiting for {what}"),
            });
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn up(args: UpArgs) -> anyhow::Result<()> {
    need_root()?;
    which("bird").context("the on-premises router is BIRD 2: install bird2")?;
    let lab = Lab::new(&args.common.name)?;
    let (api, sub) = client(&args.common)?;
    let timeout = Duration::from_secs(args.timeout_secs);

    // The customer orders a circuit; the provider provisions it.
    let circuit_path = lab.circuit(&sub);
    let circuit = api.put(
        &circuit_path,
        &json!({
            "location": REGION,
            "sku": {"name": "Standard_MeteredData", "tier": "Standard", "family": "MeteredData"},
            "properties": {"serviceProviderProperties": {
                "serviceProviderName": PROVIDER,
                "peeringLocation": LOCATION,
                "bandwidthInMbps": 1000
            }}
        }),
        None,
    )?;
    let key = circuit["properties"]["serviceKey"]
        .as_str()
        .ok_or_else(|| anyhow!("the circuit has no serviceKey"))?
        .to_owned();
    eprintln!("circuit {circuit_path} (service key {key})");
    let cross = format!(
        "/subscriptions/{PROVIDER_SUBSCRIPTION}/resourceGroups/{PROVIDER_GROUP}/providers/Microsoft.Network/expressRouteCrossConnections/{key}"
    );
    let state = circuit["properties"]["serviceProviderProvisioningState"]
        .as_str()
        .unwrap_or_default();
    if state != "Provisioned" {
        api.put(
            &cross,
            &json!({"properties": {"serviceProviderProvisioningState": "Provisioned"}}),
            None,
        )
        .context("provisioning the circuit as its provider (use the admin token)")?;
    }
    api.put(
        &format!("{circuit_path}/peerings/AzurePrivatePeering"),
        &json!({"properties": {
            "peeringType": "AzurePrivatePeering",
            "peerASN": ONPREM_AS,
            "primaryPeerAddressPrefix": PRIMARY_LINK,
            "secondaryPeerAddressPrefix": SECONDARY_LINK,
            "vlanId": 100,
            "state": "Enabled"
        }}),
        None,
    )?;

    // The cloud side: a virtual network, its ExpressRoute gateway, the connection.
    let vnet = api.put(
        &lab.vnet(&sub),
        &json!({
            "location": REGION,
            "properties": {
                "addressSpace": {"addressPrefixes": [VNET_SPACE]},
                "subnets": [
                    {"name": "default", "properties": {"addressPrefix": VNET_SUBNET}},
                    {"name": "GatewaySubnet", "properties": {"addressPrefix": GATEWAY_SUBNET}}
                ]
            }
        }),
        None,
    )?;
    let guid = vnet["properties"]["resourceGuid"]
        .as_str()
        .ok_or_else(|| anyhow!("the virtual network has no resourceGuid"))?;
    let gateway_ns = format!(
        "cwg-{}",
        guid.chars()
            .filter(char::is_ascii_hexdigit)
            .take(8)
            .collect::<String>()
    );
    api.put(
        &lab.gateway(&sub),
        &json!({
            "location": REGION,
            "properties": {
                "gatewayType": "ExpressRoute",
                "sku": {"name": "ErGw1AZ", "tier": "ErGw1AZ"},
                "ipConfigurations": [{
                    "name": "gwipconfig",
                    "properties": {"subnet": {"id": format!("{}/subnets/GatewaySubnet", lab.vnet(&sub))}}
                }]
            }
        }),
        None,
    )?;
    api.put(
        &lab.connection(&sub),
        &json!({
            "location": REGION,
            "properties": {
                "connectionType": "ExpressRoute",
                "virtualNetworkGateway1": {"id": lab.gateway(&sub)},
                "peer": {"id": circuit_path},
                "routingWeight": 0
            }
        }),
        None,
    )?;

    // The edges build the circuit's links and the gateway; wait for their namespaces.
    let customer = |link: Link| -> anyhow::Result<Option<String>> {
        let c = api.get(&circuit_path)?;
        let l = &c["properties"]["causeway"]["links"][link.as_str()];
        let ns = l["customerNamespace"].as_str().map(str::to_owned);
        Ok(ns.filter(|ns| kernel::link_exists(ns, "ce0")))
    };
    let primary_ns = wait("the primary link's customer end", timeout, || {
        customer(Link::Primary)
    })?;
    let secondary_ns = wait("the secondary link's customer end", timeout, || {
        customer(Link::Secondary)
    })?;
    wait("the virtual network gateway", timeout, || {
        Ok(kernel::link_exists(&gateway_ns, "vnet0").then_some(()))
    })?;

    // On-premises: the router with both links and a LAN with one host.
    let onprem = lab.ns("onprem");
    let host = lab.ns("host");
    let vm = lab.ns("vm");
    for ns in [&onprem, &host, &vm] {
        kernel::ensure_namespace(ns)?;
    }
    kernel::ensure_router(&onprem)?;
    for (link, ns, wan, addr) in [
        (
            Link::Primary,
            &primary_ns,
            "wan1",
            link_address(PRIMARY_LINK, 1)?,
        ),
        (
            Link::Secondary,
            &secondary_ns,
            "wan2",
            link_address(SECONDARY_LINK, 1)?,
        ),
    ] {
        kernel::ensure_bridge_member(&onprem, wan, ns, "xc0", "up0")?;
        kernel::set_master(ns, "ce0", Some("xc0"))
            .with_context(|| format!("joining the {} cross-connect", link.as_str()))?;
        kernel::ensure_address(&onprem, wan, IpAddr::V4(addr), 30)?;
    }
    kernel::ensure_cross_connect(&onprem, "lan0", &host, "eth0")?;
    kernel::ensure_address(&onprem, "lan0", IpAddr::V4(ONPREM_ROUTER), 24)?;
    kernel::ensure_address(&host, "eth0", IpAddr::V4(ONPREM_HOST), 24)?;
    kernel::ensure_default_route(&host, IpAddr::V4(ONPREM_ROUTER))?;
    // The virtual network's host, on the gateway's host bridge.
    kernel::ensure_bridge_member(
        &vm,
        "eth0",
        &gateway_ns,
        "vnet0",
        &format!("vm-{}", lab.name),
    )?;
    kernel::ensure_address(&vm, "eth0", IpAddr::V4(VM), 24)?;
    kernel::ensure_default_route(&vm, IpAddr::V4(VM_GATEWAY))?;

    // The on-premises router runs what `causeway ce-config --vendor bird` writes for it.
    let generated = crate::client::ce_config::fetch(
        &api,
        &circuit_path,
        &json!({
            "vendor": "bird",
            "peeringName": "AzurePrivatePeering",
            "includeSecrets": true,
            "announcePrefixes": [ONPREM_LAN],
            "primaryInterface": "wan1",
            "secondaryInterface": "wan2",
            "bfdIntervalMs": args.bfd_interval_ms,
            "bfdMultiplier": args.bfd_multiplier,
        }),
    )
    .context("generating the on-premises router's configuration")?;
    start_bird(&lab, &onprem, &generated)?;

    // Ready when both sessions are up and each side routes over both links.
    let peering = format!("{circuit_path}/peerings/AzurePrivatePeering");
    let customer_primary = link_address(PRIMARY_LINK, 1)?.to_string();
    let customer_secondary = link_address(SECONDARY_LINK, 1)?.to_string();
    wait("both BGP sessions", timeout, || {
        let p = api.get(&peering)?;
        // The link's sessions include the edge's toward the gateway: look at the customer's.
        let up = |link: &str, neighbor: &str| {
            p["properties"]["causeway"]["links"][link]
                .as_array()
                .is_some_and(|s| {
                    s.iter()
                        .any(|s| s["neighbor"] == neighbor && s["state"] == "Established")
                })
        };
        Ok(
            (up("primary", &customer_primary) && up("secondary", &customer_secondary))
                .then_some(()),
        )
    })?;
    wait("on-premises routes over both links", timeout, || {
        Ok((next_hops(&onprem, VNET_SPACE)?.len() == 2).then_some(()))
    })?;
    wait("the gateway's routes over both edges", timeout, || {
        Ok((next_hops(&gateway_ns, ONPREM_LAN)?.len() == 2).then_some(()))
    })?;

    println!("lab {} is up.", lab.name);
    println!("  on-premises host {ONPREM_HOST} in {host}; virtual-network host {VM} in {vm}");
    println!("  ping:   ip netns exec {host} ping {VM}");
    println!("  probe:  causeway lab probe --name {}", lab.name);
    println!("  fail:   causeway lab fail primary --name {}", lab.name);
    println!("  down:   causeway lab down --name {}", lab.name);
    Ok(())
}

/// The `n`th address of a link subnet (the customer takes the first, the edge the second).
fn link_address(subnet: &str, n: u32) -> anyhow::Result<Ipv4Addr> {
    let (net, _) = subnet
        .split_once('/')
        .ok_or_else(|| anyhow!("{subnet} is not a prefix"))?;
    let net: Ipv4Addr = net.parse()?;
    Ok(Ipv4Addr::from(u32::from(net) + n))
}

/// The next hops of `prefix` in a namespace's main table.
fn next_hops(ns: &str, prefix: &str) -> anyhow::Result<Vec<String>> {
    let out = Command::new("ip")
        .args(["-n", ns, "-j", "route", "show", "exact", prefix])
        .output()?;
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let mut hops = Vec::new();
    for r in v.as_array().into_iter().flatten() {
        if let Some(g) = r["gateway"].as_str() {
            hops.push(g.to_owned());
        }
        for n in r["nexthops"].as_array().into_iter().flatten() {
            if let Some(g) = n["gateway"].as_str() {
                hops.push(g.to_owned());
            }
        }
    }
    Ok(hops)
}

fn which(program: &str) -> anyhow::Result<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .ok_or_else(|| anyhow!("{program} not found"))
}

/// BIRD on the on-premises router: the generated customer-edge configuration (a session
/// per link with BFD, the LAN announced), plus the lab's own: a log file, and the routes
/// learned from both edges merged into one multipath kernel route.
fn start_bird(lab: &Lab, ns: &str, generated: &str) -> anyhow::Result<()> {
    let dir = lab.run_dir();
    std::fs::create_dir_all(&dir)?;
    stop_bird(lab);
    let conf = format!(
        r#"log "{log}" all;

{generated}
# The lab's own: what the edges announce goes into the kernel, over both links at once.
protocol kernel {{
    ipv4 {{ import none; export where source = RTS_BGP; }};
    merge paths yes;
}}
"#,
        log = dir.join("bird.log").display(),
    );
    let conf_path = dir.join("bird.conf");
    std::fs::write(&conf_path, conf)?;
    let status = Command::new("ip")
        .args(["netns", "exec", ns, "bird", "-c"])
        .arg(&conf_path)
        .arg("-s")
        .arg(dir.join("bird.ctl"))
        .arg("-P")
        .arg(dir.join("bird.pid"))
        .status()
        .context("cannot start bird")?;
    if !status.success() {
        bail!(
            "bird did not start ({status}); see {}",
            dir.join("bird.log").display()
        );
    }
    Ok(())
}

fn stop_bird(lab: &Lab) {
    let pid_file = lab.run_dir().join("bird.pid");
    if let Ok(pid) = std::fs::read_to_string(&pid_file)
        && let Ok(pid) = pid.trim().parse::<u32>()
    {
        let _ = Command::new("kill").arg(pid.to_string()).status();
        let gone = || !std::path::Path::new(&format!("/proc/{pid}")).exists();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !gone() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if !gone() {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }
    let _ = std::fs::remove_file(pid_file);
}

fn down(common: &Common) -> anyhow::Result<()> {
    let lab = Lab::new(&common.name)?;
    stop_bird(&lab);
    let (api, sub) = client(common)?;
    let circuit_path = lab.circuit(&sub);
    let key = api
        .get_opt(&circuit_path)?
        .and_then(|c| c["properties"]["serviceKey"].as_str().map(str::to_owned));
    // Dependents first, as the API requires.
    for path in [lab.connection(&sub), lab.gateway(&sub), lab.vnet(&sub)] {
        api.delete(&path)?;
    }
    if let Some(key) = &key {
        api.delete(&format!("{circuit_path}/peerings/AzurePrivatePeering"))?;
        let cross = format!(
            "/subscriptions/{PROVIDER_SUBSCRIPTION}/resourceGroups/{PROVIDER_GROUP}/providers/Microsoft.Network/expressRouteCrossConnections/{key}"
        );
        for state in ["Deprovisioning", "NotProvisioned"] {
            let _ = api.put(
                &cross,
                &json!({"properties": {"serviceProviderProvisioningState": state}}),
                None,
            );
        }
        api.delete(&circuit_path)?;
    }
    for what in ["onprem", "host", "vm"] {
        kernel::delete_namespace(&lab.ns(what))?;
    }
    let _ = std::fs::remove_dir_all(lab.run_dir());
    println!("lab {} is down.", lab.name);
    Ok(())
}

/// The customer-side namespace of one link, from the circuit's status.
fn customer_namespace(common: &Common, link: Link) -> anyhow::Result<(Client, String, String)> {
    let lab = Lab::new(&common.name)?;
    let (api, sub) = client(common)?;
    let c = api.get(&lab.circuit(&sub))?;
    let ns = c["properties"]["causeway"]["links"][link.as_str()]["customerNamespace"]
        .as_str()
        .ok_or_else(|| {
            anyhow!(
                "the circuit's {} link has no lab customer end",
                link.as_str()
            )
        })?
        .to_owned();
    let key = c["properties"]["serviceKey"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Ok((api, ns, key))
}

fn cut(common: &Common, link: Link, fail: bool) -> anyhow::Result<()> {
    need_root()?;
    let (_, ns, _) = customer_namespace(common, link)?;
    kernel::set_master(&ns, "ce0", (!fail).then_some("xc0"))?;
    println!(
        "{} link {}",
        link.as_str(),
        if fail { "cut" } else { "restored" }
    );
    Ok(())
}

fn drain(args: &DrainArgs) -> anyhow::Result<()> {
    let (api, _, key) = customer_namespace(&args.common, args.link)?;
    api.put_absolute(
        &format!("/admin/v1/circuits/{key}/drain"),
        &json!({"link": args.link.as_str(), "prepend": args.prepend}),
    )?;
    println!(
        "{} link drained with {} prepend(s)",
        args.link.as_str(),
        args.prepend
    );
    Ok(())
}

// ===== the probe =====

/// What a probe measured.
#[derive(Debug, serde::Serialize)]
pub struct ProbeResult {
    pub flows: u16,
    pub interval_ms: f64,
    pub sent: u64,
    pub received: u64,
    pub lost: u64,
    /// The longest run of lost packets of any flow, in time: the outage an application on
    /// that flow saw.
    pub outage_ms: f64,
    /// Per flow: the longest run of lost packets, in time.
    pub flow_outage_ms: Vec<f64>,
}

fn probe(lab: &Lab, args: &ProbeArgs) -> anyhow::Result<ProbeResult> {
    need_root()?;
    if args.flows == 0 || args.interval_ms <= 0.0 || args.seconds <= 0.0 {
        bail!("flows, interval and duration must be positive");
    }
    let interval = Duration::from_secs_f64(args.interval_ms / 1000.0);
    let count = (args.seconds / (args.interval_ms / 1000.0)).ceil() as u64;
    let stop = Arc::new(AtomicBool::new(false));

    // The echo on the virtual-network host.
    let echo = edge::netns::run_in(Some(&lab.ns("vm")), || {
        UdpSocket::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, PROBE_PORT)))
    })
    .context("cannot open the echo socket on the virtual-network host")?;
    echo.set_read_timeout(Some(Duration::from_millis(100)))?;
    let echo_stop = stop.clone();
    let echo_thread = std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        while !echo_stop.load(Ordering::Relaxed) {
            if let Ok((n, from)) = echo.recv_from(&mut buf) {
                let _ = echo.send_to(&buf[..n], from);
            }
        }
    });

    // One socket per flow on the on-premises host.
    let target = SocketAddr::from((VM, PROBE_PORT));
    let mut sockets = Vec::new();
    for _ in 0..args.flows {
        let s = edge::netns::run_in(Some(&lab.ns("host")), move || {
            let s = UdpSocket::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)))?;
            s.connect(target)?;
            Ok(s)
        })
        .context("cannot open a probe socket on the on-premises host")?;
        s.set_read_timeout(Some(Duration::from_millis(100)))?;
        sockets.push(s);
    }
    let mut receivers = Vec::new();
    for s in &sockets {
        let s = s.try_clone()?;
        let stop = stop.clone();
        receivers.push(std::thread::spawn(move || {
            let mut got = vec![false; count as usize];
            let mut buf = [0u8; 64];
            while !stop.load(Ordering::Relaxed) {
                if let Ok(n) = s.recv(&mut buf)
                    && n >= 8
                {
                    let seq = u64::from_be_bytes(buf[..8].try_into().unwrap_or_default());
                    if let Some(g) = got.get_mut(seq as usize) {
                        *g = true;
                    }
                }
            }
            got
        }));
    }
    let start = Instant::now();
    for seq in 0..count {
        let due = start + interval.mul_f64(seq as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        for s in &sockets {
            let _ = s.send(&seq.to_be_bytes());
        }
    }
    // Late echoes still count; then stop everything.
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let mut received = 0;
    let mut flow_outage_ms = Vec::new();
    for r in receivers {
        let got = r.join().map_err(|_| anyhow!("a probe receiver panicked"))?;
        received += got.iter().filter(|g| **g).count() as u64;
        let mut run = 0u64;
        let mut longest = 0u64;
        for g in &got {
            if *g {
                run = 0;
            } else {
                run += 1;
                longest = longest.max(run);
            }
        }
        flow_outage_ms.push(longest as f64 * args.interval_ms);
    }
    let _ = echo_thread.join();
    let sent = count * u64::from(args.flows);
    Ok(ProbeResult {
        flows: args.flows,
        interval_ms: args.interval_ms,
        sent,
        received,
        lost: sent - received,
        outage_ms: flow_outage_ms.iter().copied().fold(0.0, f64::max),
        flow_outage_ms,
    })
}
