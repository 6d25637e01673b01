//! Interop harness: Causeway's edge against real BGP speakers in network namespaces.
//!
//! Parts:
//! - [`gate`]: the privilege gate every test takes first ([`require_root`]). Outside CI a
//!   test without root skips loudly; under `CI=true` it fails, so nothing skips in CI.
//! - [`netns`]: [`Netns`], an RAII network namespace (deleted with everything started in
//!   it on drop), and [`veth`] links between two namespaces.
//! - [`lab`]: the addressing plan ([`Link`]: the peer takes the first usable address of each
//!   /30 and /126, the edge the second) and small helpers shared by the tests.
//! - [`process`]: [`Daemon`], a child process with its log file, killed on drop; when the
//!   test is failing its log tail is printed, so a failure shows every speaker's side.
//! - [`control`]: [`Control`], `causeway serve` on the host driven through its ARM API
//!   (circuits, provisioning, peerings, diagnostics), `causeway edge --control` processes,
//!   and [`customer_link`], the customer's end of a circuit's lab cross-connect.
//! - [`bird`], [`gobgp`], [`frr`], [`openbgpd`], [`exabgp`], [`edge`]: drivers that write a config,
//!   start the daemon inside a namespace and read its view back (session state, routes).
//! - [`mrt`]: the BGP messages in BIRD's MRT dumps, as on the wire (NOTIFICATION subcodes).
//! - [`wait`]: [`wait_until`] / [`wait_for`] poll a condition every 100 ms up to a deadline;
//!   nothing sleeps in place of synchronisation.
//!
//! Data flow in a test: build namespaces and links → start peers and the edge, each from a
//! config written to the namespace's work directory → poll each side's own view (birdc,
//! gobgp CLI, the edge's HTTP status endpoint queried from inside its namespace) until the
//! behaviour under test is visible or the deadline passes.
//!
//! IPv6 runs over its own sessions between IPv6 addresses (one IPv4 session carrying the
//! ipv4-unicast family and one IPv6 session carrying ipv6-unicast per link). That is how
//! most operators peer, and it keeps next hops native to the session's family for every
//! implementation.

pub mod bird;
pub mod control;
pub mod edge;
pub mod exabgp;
pub mod frr;
pub mod gate;
pub mod gobgp;
pub mod lab;
pub mod mrt;
pub mod netns;
pub mod openbgpd;
pub mod process;
pub mod wait;

pub use bird::{Bird, BirdSession, BirdSpec};
pub use control::{Circuit, Control, ControlOptions, CustomerLink, PrivatePeering, customer_link};
pub use edge::{Edge, EdgeDomain, EdgePeer, EdgeSpec};
pub use exabgp::{Exabgp, ExabgpSpec};
pub use frr::{Frr, FrrNeighbor, FrrSpec};
pub use gate::require_root;
pub use gobgp::{Gobgp, GobgpNeighbor, GobgpSpec};
pub use lab::{EDGE_AS, Link, link};
pub use netns::{Netns, veth};
pub use openbgpd::{Openbgpd, OpenbgpdNeighbor, OpenbgpdSpec};
pub use process::Daemon;
pub use wait::{hold_for, wait_for, wait_until};

use std::time::Duration;

/// How long any convergence may take before a test gives up. Generous on purpose: the
/// machine running the suite may be busy, and a wait ends as soon as its condition holds.
pub const CONVERGE: Duration = Duration::from_secs(60);

/// A route as any speaker reports it: what a user compares across implementations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRoute {
    pub prefix: String,
    /// AS numbers separated by single spaces, nearest first ("12076 65001"); empty for a
    /// locally originated route.
    pub as_path: String,
    pub next_hop: String,
    /// The neighbor (or edge peer name) it was learned from; `None` when originated locally.
    pub from: Option<String>,
}

/// Finds `prefix` in `routes`, or explains what was there instead.
pub fn find_route<'a>(routes: &'a [SeenRoute], prefix: &str) -> Result<&'a SeenRoute, String> {
    routes.iter().find(|r| r.prefix == prefix).ok_or_else(|| {
        let seen: Vec<&str> = routes.iter().map(|r| r.prefix.as_str()).collect();
        format!("{prefix} not present; present: {seen:?}")
    })
}

/// `Ok` when `prefix` is not in `routes`; otherwise the route that is still there.
pub fn absent(routes: &[SeenRoute], prefix: &str) -> Result<(), String> {
    match routes.iter().find(|r| r.prefix == prefix) {
        Some(r) => Err(format!("{prefix} still present: {r:?}")),
        None => Ok(()),
    }
}
