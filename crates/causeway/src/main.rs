//! `causeway`: one binary for every part of the service.
//!
//! - `causeway serve` runs the control plane (ARM-compatible API) on its embedded defaults;
//! - `causeway token create|list|revoke` manages bearer tokens in a data directory;
//! - `causeway edge --config FILE` runs an edge router from a static file;
//! - `causeway edge status|routes` read a running edge's status endpoint.

mod client;
mod edges;
mod lab;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use edge::status::{EdgeStatus, RoutesView};

#[derive(Debug, Parser)]
#[command(
    name = "causeway",
    version,
    about = "Self-hostable private interconnect (the ExpressRoute model)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the control plane: HTTPS on 127.0.0.1:8443, SQLite store, admin token on first start.
    Serve(ServeArgs),
    /// Run one control-plane replica: the API and the edge endpoints, no in-process edges.
    /// Any number of replicas share one `--store postgres://…`; edges follow them with
    /// `causeway edge --control URL1,URL2`.
    Control(ServeArgs),
    /// Manage bearer tokens (works on the data directory, with or without a running server).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
        #[arg(long, global = true, env = "CAUSEWAY_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// The store the tokens live in (as `serve --store`); default: the data directory's.
        #[arg(long, global = true, env = "CAUSEWAY_STORE")]
        store: Option<String>,
    },
    /// Run an edge router, or query a running one.
    Edge(EdgeArgs),
    /// A complete lab topology in network namespaces on a running `causeway serve`: an
    /// on-premises site, the circuit, a virtual network; cut and heal links, probe traffic.
    Lab {
        #[command(subcommand)]
        command: lab::LabCommand,
    },
    /// Client commands shaped like `az network express-route` (see client/mod.rs).
    #[command(flatten)]
    Client(Box<client::ClientCommand>),
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// The URL clients reach this server at (`https://host[:port]`): every operation and
    /// nextLink URL is built from it, never from a request's Host header. Default: the
    /// listen address.
    #[arg(long)]
    public_url: Option<String>,
    /// Where the store, the certificate and admin.token live (default: the XDG data dir).
    #[arg(long, env = "CAUSEWAY_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The store: `postgres://user@host/db` (shared by every replica; schema migrated at
    /// start), or a SQLite file. Default: `causeway.db` in the data directory.
    #[arg(long, env = "CAUSEWAY_STORE")]
    store: Option<String>,
    /// PEM certificate to serve instead of the self-signed one.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Plain HTTP instead of HTTPS (loopback only).
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    http: bool,
    /// Provider catalogue (TOML); default: the built-in one with the lab provider.
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Edge inventory (TOML): peering locations, edge pairs, ports. Default: the one saved
    /// through the admin API, else the built-in lab pair.
    #[arg(long)]
    inventory: Option<PathBuf>,
    /// Edges of the inventory to run inside this process (comma-separated, or `none`).
    /// Default: every lab edge and the gateway host.
    #[arg(long, value_delimiter = ',')]
    local_edges: Option<Vec<String>>,
    /// The edges' BGP AS, shown to customers as azureASN (default 12076, Microsoft's).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    local_as: Option<u32>,
    /// BFD interval of the edges' private peering sessions, in ms (default 300, as Azure;
    /// at least 50).
    #[arg(long, value_parser = clap::value_parser!(u32).range(50..=10_000))]
    bfd_interval_ms: Option<u32>,
    /// BFD detection multiplier (default 3).
    #[arg(long, value_parser = clap::value_parser!(u8).range(2..=50))]
    bfd_multiplier: Option<u8>,
    /// The IPv4 prefix public IP addresses are allocated from (default 198.51.100.0/24,
    /// a documentation range for the lab).
    #[arg(long, value_name = "CIDR")]
    public_ip_pool: Option<ipnet::Ipv4Net>,
    /// Idle-hold backoff of the customer sessions after an error, in seconds: the first wait
    /// (default 5, the connect retry). It doubles after each further error up to
    /// --error-wait-max; a change to the peering ends it at once.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=86_400))]
    error_wait_min: Option<u32>,
    /// The longest idle-hold backoff, in seconds (default 120).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=86_400))]
    error_wait_max: Option<u32>,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token and print its secret (shown once).
    Create {
        /// An admin token.
        #[arg(long, conflicts_with_all = ["customer", "provider", "edge"])]
        admin: bool,
        /// A customer token scoped to these subscriptions (comma-separated or repeated).
        #[arg(long, visible_alias = "subscription", value_delimiter = ',')]
        customer: Vec<String>,
        /// A provider token for this provider name.
        #[arg(long)]
        provider: Option<String>,
        /// An edge token for this edge of the inventory.
        #[arg(long, conflicts_with_all = ["customer", "provider"])]
        edge: Option<String>,
        /// `json` prints a service principal the way `az ad sp create-for-rbac` does
        /// (appId, password, tenant, displayName) for `az login --service-principal` and
        /// Terraform's ARM_CLIENT_ID / ARM_CLIENT_SECRET / ARM_TENANT_ID.
        #[arg(short = 'o', long, default_value = "text", value_parser = ["text", "json"])]
        output: String,
    },
    /// List tokens (ids and scopes; secrets are never stored).
    List,
    /// Revoke a token by id.
    Revoke { id: String },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
struct EdgeArgs {
    /// Run from this static configuration file (SIGHUP reloads it).
    #[arg(long, conflicts_with = "control")]
    config: Option<PathBuf>,
    /// Follow this control plane (its base URL) instead of a file; several URLs
    /// (comma-separated) are replicas of one control plane, tried in turn when one fails.
    #[arg(long, requires_all = ["name", "token"], value_delimiter = ',')]
    control: Option<Vec<String>>,
    /// This edge's name in the control plane's inventory.
    #[arg(long)]
    name: Option<String>,
    /// File holding this edge's bearer token (`causeway token create --edge NAME`).
    #[arg(long)]
    token: Option<PathBuf>,
    /// CA certificate (PEM) to trust for the control plane, e.g. its tls.crt.
    #[arg(long)]
    ca_cert: Option<PathBuf>,
    /// Do not verify the control plane's certificate.
    #[arg(long)]
    insecure: bool,
    #[command(subcommand)]
    command: Option<EdgeCommand>,
}

#[derive(Debug, Subcommand)]
enum EdgeCommand {
    /// Sessions per domain: state, uptime, last error, prefix counters.
    Status(QueryArgs),
    /// The Loc-RIB per domain with AS path and next hop.
    Routes {
        #[command(flatten)]
        query: QueryArgs,
        /// Only this routing domain.
        #[arg(long)]
        domain: Option<String>,
    },
}

#[derive(Debug, Args)]
struct QueryArgs {
    /// The edge's status endpoint.
    #[arg(long, env = "CAUSEWAY_EDGE_STATUS", default_value = "127.0.0.1:8179")]
    status: SocketAddr,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => run_serve(args),
        Command::Control(mut args) => {
            if args
                .local_edges
                .as_ref()
                .is_some_and(|l| l.iter().any(|n| n != "none"))
            {
                bail!("`causeway control` runs no edges; run them with `causeway edge --control`");
            }
            args.local_edges = Some(Vec::new());
            run_serve(args)
        }
        Command::Token {
            command,
            data_dir,
            store,
        } => token(command, data_dir, store),
        Command::Edge(args) => match (args.config, args.command) {
            (None, None) if args.control.is_some() => {
                init_tracing();
                let (Some(control), Some(name), Some(token)) =
                    (args.control, args.name, args.token)
                else {
                    bail!("--control needs --name and --token");
                };
                edges::run_remote(control, name, token, args.ca_cert, args.insecure)
            }
            (Some(config), None) => run_edge(config),
            (None, Some(EdgeCommand::Status(q))) => edge_status(&q),
            (None, Some(EdgeCommand::Routes { query, domain })) => edge_routes(&query, domain),
            _ => {
                bail!("use `causeway edge --config FILE` to run, or `causeway edge status|routes`")
            }
        },
        Command::Client(command) => client::run(*command),
        Command::Lab { command } => lab::run(command).map_err(|e| {
            eprintln!("error: {e:#}");
            std::process::exit(1)
        }),
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
}

fn run_edge(config: PathBuf) -> anyhow::Result<()> {
    init_tracing();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(edge::run(config))
}

fn run_serve(args: ServeArgs) -> anyhow::Result<()> {
    init_tracing();
    let error_wait = match (args.error_wait_min, args.error_wait_max) {
        (None, None) => None,
        (min, max) => {
            let min = min.unwrap_or(u32::from(edge::agent::CONNECT_RETRY));
            let max = max.unwrap_or(120).max(min);
            if args.error_wait_max.is_some_and(|m| m < min) {
                bail!("--error-wait-max must be at least --error-wait-min ({min})");
            }
            Some(api::ErrorWait { min, max })
        }
    };
    let opts = control::ServeOptions {
        listen: args.listen,
        data_dir: args.data_dir.unwrap_or_else(control::default_data_dir),
        store: args.store,
        tls_cert: args.tls_cert,
        tls_key: args.tls_key,
        http: args.http,
        catalog: args.catalog,
        inventory: args.inventory,
        public_url: args.public_url,
        public_ip_pool: args.public_ip_pool,
        local_as: args.local_as,
        bfd: (args.bfd_interval_ms.is_some() || args.bfd_multiplier.is_some()).then(|| {
            let d = api::BfdTimers::default();
            api::BfdTimers {
                interval_ms: args.bfd_interval_ms.unwrap_or(d.interval_ms),
                multiplier: args.bfd_multiplier.unwrap_or(d.multiplier),
            }
        }),
        error_wait,
    };
    let local_edges = args.local_edges;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let edges = edges::InProcessEdges::default();
    let in_process = edges.clone();
    runtime.block_on(async move {
        let served = serve_with_edges(opts, local_edges, in_process).await;
        // Stopped (SIGTERM/SIGINT) or failed: the in-process edges stop as routers do.
        edges.shutdown(edge::SHUTDOWN_MESSAGE).await;
        served
    })
}

async fn serve_with_edges(
    opts: control::ServeOptions,
    local_edges: Option<Vec<String>>,
    in_process: edges::InProcessEdges,
) -> anyhow::Result<()> {
    control::serve(opts, move |service| {
        let names: Vec<String> = match local_edges {
            Some(list) => list
                .into_iter()
                .filter(|n| n != "none" && !n.is_empty())
                .collect(),
            None => {
                let inventory = service.edges.inventory();
                inventory
                    .edges()
                    .filter(|e| e.lab)
                    .map(|e| e.name.clone())
                    .chain(inventory.gateway.iter().map(|g| g.name.clone()))
                    .collect()
            }
        };
        in_process.start(service, &names);
    })
    .await
}

fn token(
    command: TokenCommand,
    data_dir: Option<PathBuf>,
    store: Option<String>,
) -> anyhow::Result<()> {
    use control::auth::{Principal, create_token};
    let data_dir = data_dir.unwrap_or_else(control::default_data_dir);
    let mut store = control::open_store_at(&data_dir, store.as_deref())?;
    match command {
        TokenCommand::Create {
            admin,
            customer,
            provider,
            edge,
            output,
        } => {
            let principal = match (admin, customer.is_empty(), provider, edge) {
                (true, true, None, None) => Principal::Admin,
                (false, false, None, None) => {
                    for sub in &customer {
                        control::arm::id::check_subscription(sub)
                            .map_err(|e| anyhow::anyhow!("--customer {sub:?}: {}", e.message))?;
                    }
                    Principal::Customer {
                        subscriptions: customer,
                    }
                }
                (false, true, Some(name), None) => Principal::Provider { name },
                (false, true, None, Some(name)) => Principal::Edge { name },
                _ => bail!(
                    "give exactly one of --admin, --customer SUB[,SUB], --provider NAME, --edge NAME"
                ),
            };
            let (id, secret) = create_token(&mut store, &principal)?;
            if output == "json" {
                let tenant = control::identity::Directory::open(&mut store)?.tenant;
                let sp = serde_json::json!({
                    "appId": id,
                    "displayName": format!("causeway-{}-{}", principal.kind(), &id[..8]),
                    "password": secret,
                    "tenant": tenant,
                });
                println!("{}", serde_json::to_string_pretty(&sp)?);
            } else {
                eprintln!("token {id} for {principal}");
                println!("{secret}");
            }
        }
        TokenCommand::List => {
            println!("{:<36} {:<8} {:<26} PRINCIPAL", "ID", "STATE", "CREATED");
            for t in control::store::Read::tokens(&store)? {
                println!(
                    "{:<36} {:<8} {:<26} {}",
                    t.id,
                    if t.revoked { "revoked" } else { "active" },
                    t.created,
                    t.principal
                );
            }
        }
        TokenCommand::Revoke { id } => {
            if !store.revoke_token(&id)? {
                bail!("no token with id {id}");
            }
            println!("revoked {id}");
        }
    }
    Ok(())
}

/// A plain HTTP/1.1 GET against the local status endpoint.
fn http_get(addr: SocketAddr, path: &str) -> anyhow::Result<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .with_context(|| format!("cannot reach the edge status endpoint at {addr}"))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8(raw).context("status endpoint answered non-UTF-8")?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .context("malformed HTTP answer")?;
    if !head.starts_with("HTTP/1.1 200") {
        bail!(
            "status endpoint answered {}",
            head.lines().next().unwrap_or("")
        );
    }
    Ok(body.to_owned())
}

fn edge_status(q: &QueryArgs) -> anyhow::Result<()> {
    let body = http_get(q.status, "/status")?;
    if q.json {
        println!("{body}");
        return Ok(());
    }
    let status: EdgeStatus = serde_json::from_str(&body)?;
    println!(
        "router id {}  local AS {}",
        status.router_id, status.local_as
    );
    println!(
        "{:<16} {:<14} {:<28} {:>10} {:<12} {:>8} {:<9} {:>15} {:>15}  last error",
        "DOMAIN",
        "PEER",
        "ADDRESS",
        "AS",
        "STATE",
        "UPTIME",
        "BFD",
        "V4 RCV/ACC/ADV",
        "V6 RCV/ACC/ADV"
    );
    for d in &status.domains {
        for p in &d.peers {
            let c4 = &p.prefixes.ipv4;
            let c6 = &p.prefixes.ipv6;
            println!(
                "{:<16} {:<14} {:<28} {:>10} {:<12} {:>8} {:<9} {:>15} {:>15}  {}",
                d.name,
                p.name,
                p.address,
                p.remote_as,
                p.state,
                p.uptime_secs.map_or("-".into(), |s| format!("{s}s")),
                p.bfd.as_deref().unwrap_or("-"),
                format!("{}/{}/{}", c4.received, c4.accepted, c4.advertised),
                format!("{}/{}/{}", c6.received, c6.accepted, c6.advertised),
                p.last_error.as_deref().unwrap_or("")
            );
        }
    }
    Ok(())
}

fn edge_routes(q: &QueryArgs, domain: Option<String>) -> anyhow::Result<()> {
    let path = match &domain {
        Some(d) => format!("/routes?domain={d}"),
        None => "/routes".to_owned(),
    };
    let body = http_get(q.status, &path)?;
    if q.json {
        println!("{body}");
        return Ok(());
    }
    let routes: RoutesView = serde_json::from_str(&body)?;
    println!(
        "{:<16} {:<2}{:<44} {:<40} {:<14} AS PATH",
        "DOMAIN", "", "PREFIX", "NEXT HOP", "FROM"
    );
    for d in &routes.domains {
        for r in &d.routes {
            println!(
                "{:<16} {:<2}{:<44} {:<40} {:<14} {}",
                d.name,
                if r.best { "*>" } else { "* " },
                r.prefix,
                r.next_hop.map_or("self".into(), |n| n.to_string()),
                r.peer,
                r.as_path
            );
        }
    }
    Ok(())
}
