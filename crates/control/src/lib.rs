//! The Causeway control plane: an Azure Resource Manager compatible API for ExpressRoute.
//!
//! Parts and data flow: [`http`] authenticates the bearer token ([`auth`]), parses the body
//! and hands the request to the [`service`], which matches it against the routes every
//! resource module declares ([`resources`]: one module per resource type, with its rules,
//! its rendering and what it means for the edges) and applies the ARM mechanics once for all
//! of them ([`arm`]: paths, api-version, etags, long-running operations, paging, regions).
//! Handlers validate the body ([`validate`], against the provider [`catalog`]) and commit to
//! the SQLite [`store`] in one transaction before answering; the [`edges`] follow the
//! circuits a write touched. [`openapi`] is generated from the same route declarations.
//! [`serve`] runs it all over HTTPS ([`tls`]) with an admin token made on first start,
//! through the [`listener`] (deadlines and connection caps).

pub mod arm;
pub mod auth;
pub mod catalog;
pub mod ce_config;
pub mod console;
pub mod edges;
pub mod http;
pub mod identity;
pub mod inventory;
pub mod jobs;
pub mod json;
pub mod listener;
pub mod metrics;
pub mod model;
pub mod openapi;
pub mod reach;
pub mod resources;
pub mod service;
pub mod store;
pub mod time;
pub mod tls;
pub mod validate;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};

use crate::auth::Principal;
use crate::catalog::Catalog;
use crate::service::Service;
use crate::store::{Read, Store};

/// `causeway serve` settings.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// The store: `postgres://…` for a database shared by several replicas, else a SQLite
    /// file; default: `causeway.db` in the data directory.
    pub store: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Plain HTTP (loopback only).
    pub http: bool,
    pub catalog: Option<PathBuf>,
    /// Edge inventory (TOML); default: the one saved through the admin API, else the
    /// built-in lab pair.
    pub inventory: Option<PathBuf>,
    /// The edges' AS (default 12076, Microsoft's), shown as `azureASN`.
    pub local_as: Option<u32>,
    /// BFD timers of the edges' private peering sessions (default 300 ms × 3).
    pub bfd: Option<api::BfdTimers>,
    /// The idle-hold backoff of the edges' customer sessions after errors (default: the
    /// edges' own, connect retry doubling up to 120 s).
    pub error_wait: Option<api::ErrorWait>,
    /// The base of every URL handed out (operation polls, nextLink); default: the listen
    /// address.
    pub public_url: Option<String>,
    /// Where public IP addresses are drawn from (default 198.51.100.0/24, for the lab).
    pub public_ip_pool: Option<ipnet::Ipv4Net>,
}

/// The XDG data directory: `$XDG_DATA_HOME/causeway`, else `~/.local/share/causeway`.
pub fn default_data_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("causeway");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
    PathBuf::from(home).join(".local/share/causeway")
}

/// Writes a file only its owner can read (mode 0600), replacing any previous one.
pub fn write_private(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    f.write_all(data)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The store file in a data directory.
pub fn store_path(data_dir: &Path) -> PathBuf {
    data_dir.join("causeway.db")
}

/// Creates the data directory (mode 0700) when needed.
fn make_data_dir(data_dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))
}

/// Opens the store in `data_dir`, creating the directory (mode 0700) when needed.
pub fn open_store(data_dir: &Path) -> anyhow::Result<Store> {
    make_data_dir(data_dir)?;
    Store::open(&store_path(data_dir)).context("cannot open the store")
}

/// Opens the store `store` names (see [`ServeOptions::store`]), else the one in `data_dir`.
pub fn open_store_at(data_dir: &Path, store: Option<&str>) -> anyhow::Result<Store> {
    match store.map(store::Location::parse) {
        Some(store::Location::Postgres(url)) => Ok(connect_postgres(&url)?.store()),
        Some(store::Location::Sqlite(path)) => {
            Store::open(&path).with_context(|| format!("cannot open the store {}", path.display()))
        }
        None => open_store(data_dir),
    }
}

/// Connects to a PostgreSQL store, migrating its schema.
pub fn connect_postgres(url: &str) -> anyhow::Result<store::postgres::Pool> {
    store::postgres::Pool::connect(url, None)
        .with_context(|| format!("cannot open the PostgreSQL store at {}", redact(url)))
}

/// A database URL without its password.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..s + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// Makes sure `<data-dir>/admin.token` holds a working admin token; returns its path.
pub fn ensure_admin_token(store: &mut Store, data_dir: &Path) -> anyhow::Result<PathBuf> {
    let path = data_dir.join("admin.token");
    if let Ok(existing) = std::fs::read_to_string(&path)
        && auth::authenticate(&*store, existing.trim())? == Some(Principal::Admin)
    {
        return Ok(path);
    }
    let (_, secret) = auth::create_token(store, &Principal::Admin)?;
    write_private(&path, format!("{secret}\n").as_bytes())?;
    Ok(path)
}

/// The inventory to start with: the file, else the saved one, else the built-in.
fn load_inventory(
    opts: &ServeOptions,
    store: &mut Store,
    catalog: &Catalog,
) -> anyhow::Result<inventory::Inventory> {
    let inv = match &opts.inventory {
        Some(p) => {
            let inv = inventory::Inventory::load(p)?;
            inv.validate(catalog)?;
            store.set_meta("inventory", &serde_json::to_string(&inv)?)?;
            inv
        }
        None => match store.meta("inventory")? {
            Some(saved) => {
                serde_json::from_str(&saved).context("the saved inventory is unreadable")?
            }
            None => inventory::Inventory::default(),
        },
    };
    inv.validate(catalog)?;
    Ok(inv)
}

/// Runs the control plane until SIGINT or SIGTERM; `on_start` gets the service once it is
/// ready (`causeway serve` starts its in-process edges there).
pub async fn serve(opts: ServeOptions, on_start: impl FnOnce(Arc<Service>)) -> anyhow::Result<()> {
    if opts.http && !opts.listen.ip().is_loopback() {
        bail!(
            "--http serves plain HTTP on loopback only; {} is not a loopback address",
            opts.listen
        );
    }
    let catalog = match &opts.catalog {
        Some(p) => Catalog::load(p)?,
        None => Catalog::default(),
    };
    let (mut service, token_path, store_shown) =
        match opts.store.as_deref().map(store::Location::parse) {
            Some(store::Location::Postgres(url)) => {
                make_data_dir(&opts.data_dir)?;
                let pool = connect_postgres(&url)?;
                let mut store = pool.store();
                let token_path = ensure_admin_token(&mut store, &opts.data_dir)?;
                let inventory = load_inventory(&opts, &mut store, &catalog)?;
                drop(store);
                let service = Service::open_postgres(pool, catalog, inventory);
                (service, token_path, redact(&url))
            }
            location => {
                let path = match location {
                    Some(store::Location::Sqlite(p)) => p,
                    _ => store_path(&opts.data_dir),
                };
                make_data_dir(&opts.data_dir)?;
                let mut store = Store::open(&path)
                    .with_context(|| format!("cannot open the store {}", path.display()))?;
                let token_path = ensure_admin_token(&mut store, &opts.data_dir)?;
                let inventory = load_inventory(&opts, &mut store, &catalog)?;
                let service = Service::open(store, &path, catalog, inventory)
                    .context("cannot open the store's readers")?;
                (service, token_path, path.display().to_string())
            }
        };
    if let Some(asn) = opts.local_as {
        service.edges.local_as = asn;
    }
    if let Some(bfd) = opts.bfd {
        service.edges.bfd = bfd;
    }
    service.edges.error_wait = opts.error_wait;
    let scheme = if opts.http { "http" } else { "https" };
    let host = match opts.listen.ip() {
        std::net::IpAddr::V6(a) => format!("[{a}]"),
        a => a.to_string(),
    };
    service.public_url = match &opts.public_url {
        Some(u) => check_public_url(u)?,
        None => format!("{scheme}://{host}:{}", opts.listen.port()),
    };
    if let Some(pool) = opts.public_ip_pool {
        service.public_ip_pool = pool.trunc();
    }
    let service = Arc::new(service);
    jobs::start(service.clone());
    on_start(service.clone());
    let app = http::router(http::App { service });
    println!(
        "Causeway control plane on {scheme}://{host}:{}",
        opts.listen.port()
    );
    println!("  data directory: {}", opts.data_dir.display());
    println!("  store:          {store_shown}");
    println!("  admin token:    {}", token_path.display());
    let tls = if opts.http {
        None
    } else {
        let (cert, key) = match (&opts.tls_cert, &opts.tls_key) {
            (Some(c), Some(k)) => (c.clone(), k.clone()),
            (None, None) => tls::ensure_self_signed(&opts.data_dir)?,
            _ => bail!("--tls-cert and --tls-key go together"),
        };
        println!("  certificate:    {}", cert.display());
        let config = listener::tls_config(&cert, &key)
            .await
            .with_context(|| format!("cannot load {} / {}", cert.display(), key.display()))?;
        Some(config)
    };
    let socket =
        listener::bind(opts.listen).with_context(|| format!("cannot serve on {}", opts.listen))?;
    listener::serve(
        socket,
        tls,
        app,
        listener::Limits::default(),
        wait_for_signal(),
    )
    .await
    .with_context(|| format!("cannot serve on {}", opts.listen))?;
    Ok(())
}

/// A public URL: `http(s)://host[:port]`, nothing after it.
fn check_public_url(u: &str) -> anyhow::Result<String> {
    let u = u.trim_end_matches('/');
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))
        .with_context(|| format!("--public-url {u:?} must start with https:// or http://"))?;
    if rest.is_empty()
        || !rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    {
        bail!(
            "--public-url {u:?} must be scheme://host[:port], with no path, query or credentials"
        );
    }
    Ok(u.to_owned())
}

/// Resolves at the first SIGINT or SIGTERM.
pub async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
