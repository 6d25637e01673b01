//! The Causeway edge: the router that terminates customers' BGP sessions.
//!
//! Parts and data flow:
//! - [`config`]: the static file (`causeway edge --config edge.toml`), validated up front;
//! - listeners (in [`conn`]) accept connections on the BGP port and hand each one to the
//!   routing domain whose peer has the remote address; MD5 keys are set per peer address on
//!   the listening sockets ([`md5`]);
//! - [`domain`]: one task per routing domain owning its `bgp::Speaker` (sessions, RIB,
//!   export); routes never cross from one domain to another;
//! - [`conn`]: per connection a reader (framing, decoding, hold timer) and a writer
//!   (KEEPALIVEs ahead of bulk updates);
//! - [`status`]: the read-only HTTP JSON endpoint behind `causeway edge status|routes`,
//!   and Prometheus [`metrics`] at `GET /metrics`.
//!
//! SIGHUP reloads the file and applies only what changed (see [`Edge::reload`]).

pub mod agent;
pub mod config;
pub mod conn;
pub mod domain;
pub mod fib;
pub mod lab;
pub mod md5;
pub mod metrics;
pub mod netns;
pub mod status;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::config::EdgeConfig;
use crate::domain::{DomainHandle, DomainMsg};
use crate::status::{DomainRoutes, EdgeStatus, RoutesView};

/// A namespace name, or `None` for the edge's own.
type Namespace = Option<String>;
type AddressMap = Arc<RwLock<HashMap<(Namespace, IpAddr), mpsc::Sender<DomainMsg>>>>;

/// A running edge; cheap to clone.
#[derive(Debug, Clone)]
pub struct Edge {
    inner: Arc<Mutex<Running>>,
    addresses: AddressMap,
}

#[derive(Debug)]
struct Running {
    config: EdgeConfig,
    domains: BTreeMap<String, DomainHandle>,
    listeners: HashMap<Namespace, Listeners>,
}

/// The BGP listeners of one namespace (IPv4, and IPv6 where available).
#[derive(Debug)]
struct Listeners {
    sockets: Vec<Arc<TcpListener>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Listeners {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Edge {
    /// Binds the BGP listeners and starts every routing domain.
    pub async fn start(config: EdgeConfig) -> anyhow::Result<Edge> {
        let edge = Edge {
            inner: Arc::new(Mutex::new(Running {
                config: EdgeConfig {
                    domains: Vec::new(),
                    ..config.clone()
                },
                domains: BTreeMap::new(),
                listeners: HashMap::new(),
            })),
            addresses: Arc::default(),
        };
        edge.reload(config).await?;
        Ok(edge)
    }

    fn start_domain(&self, running: &mut Running, d: config::DomainConfig) {
        let c = &running.config;
        let handle = domain::spawn(c.local_as, c.router_id, c.listen_port, d.clone());
        running.domains.insert(d.name.clone(), handle);
    }

    /// Opens listeners for every namespace a domain uses and closes those no longer used.
    fn refresh_listeners(&self, running: &mut Running) -> anyhow::Result<()> {
        let wanted: HashSet<Namespace> = running
            .config
            .domains
            .iter()
            .map(|d| d.namespace.clone())
            .collect();
        running.listeners.retain(|ns, _| wanted.contains(ns));
        for ns in wanted {
            if running.listeners.contains_key(&ns) {
                continue;
            }
            let l = bind_listeners(&self.addresses, ns.clone(), running.config.listen_port)?;
            running.listeners.insert(ns, l);
        }
        Ok(())
    }

    /// Rebuilds the (namespace, address) → domain map and the MD5 keys on the listeners.
    fn refresh_addresses(&self, running: &Running) {
        let mut map = HashMap::new();
        for d in &running.config.domains {
            let Some(h) = running.domains.get(&d.name) else {
                continue;
            };
            let listeners = running.listeners.get(&d.namespace);
            for p in &d.peers {
                map.insert((d.namespace.clone(), p.address), h.tx.clone());
                for l in listeners.iter().flat_map(|l| &l.sockets) {
                    let family_matches = l
                        .local_addr()
                        .is_ok_and(|a| a.is_ipv4() == p.address.is_ipv4());
                    if family_matches
                        && let Err(e) =
                            md5::set_key(&**l, p.address, p.md5_key.as_deref().map(str::as_bytes))
                    {
                        tracing::error!(peer = %p.address, "cannot set TCP MD5 key: {e}");
                    }
                }
            }
        }
        let old = std::mem::replace(
            &mut *self.addresses.write().unwrap_or_else(|e| e.into_inner()),
            map,
        );
        // Keys of peers that are gone are removed from the listeners still open.
        let current = self.addresses.read().unwrap_or_else(|e| e.into_inner());
        for (ns, addr) in old.keys().filter(|k| !current.contains_key(*k)) {
            for l in running.listeners.get(ns).iter().flat_map(|l| &l.sockets) {
                if l.local_addr().is_ok_and(|a| a.is_ipv4() == addr.is_ipv4()) {
                    let _ = md5::set_key(&**l, *addr, None);
                }
            }
        }
    }

    /// Status of every domain's peers.
    pub async fn status(&self) -> EdgeStatus {
        let running = self.inner.lock().await;
        let mut domains = Vec::new();
        for h in running.domains.values() {
            let (tx, rx) = oneshot::channel();
            if h.tx.send(DomainMsg::Status(tx)).await.is_ok()
                && let Ok(s) = rx.await
            {
                domains.push(s);
            }
        }
        EdgeStatus {
            router_id: running.config.router_id,
            local_as: running.config.local_as,
            domains,
        }
    }

    /// The namespaces the domains run in (each once, sorted; the edge's own is left out).
    pub async fn namespaces(&self) -> Vec<String> {
        let running = self.inner.lock().await;
        let set: std::collections::BTreeSet<String> = running
            .config
            .domains
            .iter()
            .filter_map(|d| d.namespace.clone())
            .collect();
        set.into_iter().collect()
    }

    /// The Loc-RIB of one domain, or of all.
    pub async fn routes(&self, domain: Option<&str>) -> RoutesView {
        let running = self.inner.lock().await;
        let mut domains: Vec<DomainRoutes> = Vec::new();
        for (name, h) in &running.domains {
            if domain.is_some_and(|d| d != name) {
                continue;
            }
            let (tx, rx) = oneshot::channel();
            if h.tx.send(DomainMsg::Routes(tx)).await.is_ok()
                && let Ok(r) = rx.await
            {
                domains.push(r);
            }
        }
        RoutesView { domains }
    }

    /// Applies a new configuration, changing only what differs. Each domain's peers are
    /// classified by the domain itself with [`bgp::reconfigure::classify`] (a new edge AS or
    /// router id resets each session there with Cease / Other Configuration Change). Only a
    /// domain's placement restarts it: another namespace, FIB or listen port (its sessions
    /// get Cease / Other Configuration Change); a domain gone from the file stops with Cease
    /// / Peer De-configured.
    pub async fn reload(&self, new: EdgeConfig) -> anyhow::Result<()> {
        new.validate()?;
        let mut running = self.inner.lock().await;
        let old = running.config.clone();
        if old.status_listen != new.status_listen {
            tracing::warn!("status_listen changes take effect at the next start");
        }
        let names: Vec<String> = running.domains.keys().cloned().collect();
        for name in names {
            let why = match new.domains.iter().find(|d| d.name == name) {
                None => Some(domain::Stop::Deconfigured),
                Some(d) => {
                    let moved = old.listen_port != new.listen_port
                        || !old.domains.iter().any(|o| {
                            o.name == name && o.namespace == d.namespace && o.fib == d.fib
                        });
                    moved.then_some(domain::Stop::Reconfigured)
                }
            };
            if let Some(why) = why
                && let Some(h) = running.domains.remove(&name)
            {
                h.shutdown(why).await;
            }
        }
        if old.listen_port != new.listen_port {
            running.listeners.clear();
        }
        running.config = new.clone();
        self.refresh_listeners(&mut running)?;
        for d in &new.domains {
            match running.domains.get(&d.name) {
                Some(h) => {
                    let _ =
                        h.tx.send(DomainMsg::Reconfigure {
                            local_as: new.local_as,
                            router_id: new.router_id,
                            config: Box::new(d.clone()),
                        })
                        .await;
                }
                None => self.start_domain(&mut running, d.clone()),
            }
        }
        self.refresh_addresses(&running);
        Ok(())
    }

    /// Stops the edge as a router does: every session ends with Cease / Administrative
    /// Shutdown carrying `message` (RFC 9003), the NOTIFICATIONs are written before the
    /// connections close, and the routes in the kernel stay for the next start.
    pub async fn shutdown(&self, message: &str) {
        let mut running = self.inner.lock().await;
        running.listeners.clear();
        let domains = std::mem::take(&mut running.domains);
        futures_util::future::join_all(
            domains
                .into_values()
                .map(|h| h.shutdown(domain::Stop::Shutdown(message.to_owned()))),
        )
        .await;
    }
}

/// The shutdown communication (RFC 9003) every peer gets when the edge is stopped.
pub const SHUTDOWN_MESSAGE: &str = "Causeway edge shutting down";

fn bind_listeners(addresses: &AddressMap, ns: Namespace, port: u16) -> anyhow::Result<Listeners> {
    let v4 = conn::listen(ns.as_deref(), false, port).with_context(|| {
        format!(
            "cannot listen on 0.0.0.0:{port} in namespace {}",
            ns.as_deref().unwrap_or("(own)")
        )
    })?;
    let mut sockets = vec![Arc::new(v4)];
    match conn::listen(ns.as_deref(), true, port) {
        Ok(v6) => sockets.push(Arc::new(v6)),
        Err(e) => tracing::warn!("no IPv6 listener on port {port}: {e}"),
    }
    let tasks = sockets
        .iter()
        .map(|l| tokio::spawn(accept_loop(l.clone(), ns.clone(), addresses.clone())))
        .collect();
    Ok(Listeners { sockets, tasks })
}

async fn accept_loop(listener: Arc<TcpListener>, ns: Namespace, addresses: AddressMap) {
    loop {
        let (stream, remote) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let ip = match remote.ip() {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        let tx = addresses
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(ns.clone(), ip))
            .cloned();
        match tx {
            Some(tx) => {
                let _ = tx.send(DomainMsg::Incoming(ip, stream)).await;
            }
            None => tracing::debug!(%remote, "connection from an unknown peer refused"),
        }
    }
}

/// Runs an edge from a configuration file until SIGINT or SIGTERM; SIGHUP reloads the file.
pub async fn run(config_path: PathBuf) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let config = EdgeConfig::load(&config_path)?;
    let status_listen = config.status_listen;
    let edge = Edge::start(config).await?;
    let listener = TcpListener::bind(status_listen)
        .await
        .with_context(|| format!("cannot bind the status endpoint on {status_listen}"))?;
    tracing::info!("status on http://{status_listen}/status");
    let app = status::router(edge.clone());
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("status endpoint failed: {e}");
        }
    });
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    loop {
        tokio::select! {
            _ = hup.recv() => reload_from(&edge, &config_path).await,
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    tracing::info!("shutting down");
    edge.shutdown(SHUTDOWN_MESSAGE).await;
    Ok(())
}

async fn reload_from(edge: &Edge, path: &Path) {
    match EdgeConfig::load(path) {
        Ok(config) => match edge.reload(config).await {
            Ok(()) => tracing::info!("configuration reloaded from {}", path.display()),
            Err(e) => tracing::error!("reload failed: {e:#}"),
        },
        Err(e) => tracing::error!("configuration not reloaded, keeping the running one: {e}"),
    }
}
