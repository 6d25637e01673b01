//! Read-only status: JSON views of sessions and routes, served over local HTTP.
//!
//! `GET /status` lists every domain's peers; `GET /routes[?domain=NAME]` lists the Loc-RIB
//! with every path (the best one first, marked `best`); `GET /metrics` is the Prometheus
//! view of both plus the byte counters of the domains' namespaces ([`crate::metrics`]).

use std::net::{IpAddr, Ipv4Addr};

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use bgp::rib::Path;
use bgp::speaker::{Counters, PeerStatus, family_index};
use bgp::wire::{Family, Origin, Prefix};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::Edge;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EdgeStatus {
    pub router_id: Ipv4Addr,
    pub local_as: u32,
    pub domains: Vec<DomainStatus>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DomainStatus {
    pub name: String,
    pub peers: Vec<PeerView>,
    /// Routes the domain's FIB writer has installed (None: the domain has no FIB).
    #[serde(default)]
    pub fib_routes: Option<u64>,
    /// Kernel errors of the domain's FIB writer so far (None: the domain has no FIB).
    #[serde(default)]
    pub fib_errors: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FamilyCounters {
    pub received: u32,
    pub accepted: u32,
    pub advertised: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PrefixCounters {
    pub ipv4: FamilyCounters,
    pub ipv6: FamilyCounters,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeerView {
    pub name: String,
    pub address: IpAddr,
    pub remote_as: u32,
    pub state: String,
    pub uptime_secs: Option<u64>,
    pub last_error: Option<String>,
    pub hold_time: Option<u64>,
    pub families: Vec<Family>,
    pub prefixes: PrefixCounters,
    /// The BFD session state (Up, Down, Init, AdminDown) when BFD runs toward the peer.
    #[serde(default)]
    pub bfd: Option<String>,
}

impl From<Counters> for FamilyCounters {
    fn from(c: Counters) -> Self {
        FamilyCounters {
            received: c.received,
            accepted: c.accepted,
            advertised: c.advertised,
        }
    }
}

impl PeerView {
    pub fn new(s: &PeerStatus<'_>, up_since: Option<Instant>, bfd: Option<String>) -> PeerView {
        PeerView {
            name: s.settings.name.clone(),
            address: s.settings.address,
            remote_as: s.settings.session.remote_as,
            state: format!("{:?}", s.state),
            uptime_secs: up_since.map(|t| t.elapsed().as_secs()),
            last_error: s.last_error.map(|e| e.text.clone()),
            hold_time: s.negotiated.map(|n| n.hold_time.as_secs()),
            families: s.negotiated.map(|n| n.families.clone()).unwrap_or_default(),
            prefixes: PrefixCounters {
                ipv4: s.counters[family_index(Family::Ipv4Unicast)].into(),
                ipv6: s.counters[family_index(Family::Ipv6Unicast)].into(),
            },
            bfd,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoutesView {
    pub domains: Vec<DomainRoutes>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DomainRoutes {
    pub name: String,
    pub routes: Vec<RouteView>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RouteView {
    pub prefix: String,
    pub peer: String,
    pub as_path: String,
    pub next_hop: Option<IpAddr>,
    pub origin: String,
    pub med: Option<u32>,
    pub local_pref: u32,
    pub communities: Vec<String>,
    pub large_communities: Vec<String>,
    pub best: bool,
    pub stale: bool,
}

impl RouteView {
    pub fn new(prefix: Prefix, peer: String, path: &Path, best: bool) -> RouteView {
        let a = &path.attrs.attrs;
        RouteView {
            prefix: prefix.to_string(),
            peer,
            as_path: a.as_path.to_string(),
            next_hop: path.attrs.next_hop_addr(),
            origin: match a.origin {
                Some(Origin::Igp) => "igp",
                Some(Origin::Egp) => "egp",
                Some(Origin::Incomplete) | None => "incomplete",
            }
            .to_owned(),
            med: a.med,
            local_pref: path.attrs.local_pref(),
            communities: a
                .communities
                .iter()
                .map(|c| format!("{}:{}", c >> 16, c & 0xffff))
                .collect(),
            large_communities: a
                .large_communities
                .iter()
                .map(|c| format!("{}:{}:{}", c.0, c.1, c.2))
                .collect(),
            best,
            stale: path.stale,
        }
    }

    /// Orders routes by family, address and length.
    pub fn sort_key(&self) -> (bool, Option<ipnet::IpNet>) {
        let net = self.prefix.parse::<ipnet::IpNet>().ok();
        (net.is_some_and(|n| matches!(n, ipnet::IpNet::V6(_))), net)
    }
}

#[derive(Debug, Deserialize)]
struct RoutesQuery {
    domain: Option<String>,
}

/// The status endpoint's routes.
pub fn router(edge: Edge) -> Router {
    Router::new()
        .route("/status", get(get_status))
        .route("/routes", get(get_routes))
        .route("/metrics", get(get_metrics))
        .with_state(edge)
}

async fn get_status(State(edge): State<Edge>) -> Json<EdgeStatus> {
    Json(edge.status().await)
}

async fn get_routes(State(edge): State<Edge>, Query(q): Query<RoutesQuery>) -> Json<RoutesView> {
    Json(edge.routes(q.domain.as_deref()).await)
}

async fn get_metrics(State(edge): State<Edge>) -> impl IntoResponse {
    let status = edge.status().await;
    let namespaces = edge.namespaces().await;
    let links = tokio::task::spawn_blocking(move || link_counters(&namespaces))
        .await
        .unwrap_or_default();
    (
        [(header::CONTENT_TYPE, api::metrics::CONTENT_TYPE)],
        crate::metrics::render(&status, &links),
    )
}

/// Byte counters of every interface (but `lo`) in `namespaces`; none without CAP_NET_ADMIN.
fn link_counters(namespaces: &[String]) -> Vec<crate::metrics::LinkCounters> {
    if !crate::netns::have_net_admin() {
        return Vec::new();
    }
    let mut links = Vec::new();
    for ns in namespaces
        .iter()
        .filter(|ns| crate::lab::namespace_exists(ns))
    {
        match crate::lab::interfaces(ns) {
            Ok(ifs) => {
                links.extend(
                    ifs.into_iter()
                        .map(|(ifname, rx, tx)| crate::metrics::LinkCounters {
                            namespace: ns.clone(),
                            ifname,
                            rx_bytes: rx,
                            tx_bytes: tx,
                        }),
                )
            }
            Err(e) => tracing::debug!("no link counters for namespace {ns}: {e}"),
        }
    }
    links
}
