//! The kernel FIB writer: the routes a routing domain selects go into the main table of its
//! network namespace, over rtnetlink.
//!
//! One writer task per namespace owns a netlink socket created inside that namespace (on a
//! short-lived thread, like every other socket of the edge: see [`crate::netns`]). Callers
//! queue changes without waiting ([`Fib::apply`]); the task coalesces what is queued per
//! prefix (the last change wins) and writes the result with a bounded number of requests in
//! flight, so a full table arriving in one burst costs one kernel write per prefix.
//!
//! Routes are tagged with protocol [`RTPROT_BGP`] (186, as BIRD and FRR do) and metric
//! [`METRIC`], and nothing else is ever touched: the kernel's `NLM_F_REPLACE` replaces the
//! first route with the same prefix, TOS and metric whatever its protocol, so a metric of our
//! own is what keeps a BGP route for, say, a link's own subnet from replacing the connected
//! route (metric 0 for IPv4, 256 for IPv6) — the two coexist and the kernel picks by metric.
//!
//! Forwarding survives a restart of the edge: dropping the writer leaves its routes in the
//! kernel. The next writer dumps the proto-186 routes of the main table at start and keeps
//! them as *stale*; each prefix written again stops being stale, and [`Fib::sync`] (called
//! once the domain has relearned its routes) deletes the rest.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use futures_util::{StreamExt as _, stream};
use ipnet::IpNet;
use netlink_packet_core::{
    NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_CREATE, NLM_F_DUMP, NLM_F_REPLACE,
    NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::route::{
    RouteAttribute, RouteHeader, RouteMessage, RouteNextHop, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_proto::sys::{AsyncSocket, SocketAddr, TokioSocket, protocols::NETLINK_ROUTE};
use netlink_proto::{ConnectionHandle, NetlinkCodec};
use tokio::sync::{mpsc, oneshot};

/// Routes the edge installs are tagged with this protocol number (RTPROT_BGP, as BIRD/FRR use).
pub const RTPROT_BGP: u8 = 186;

/// The metric (`RTA_PRIORITY`) of the routes the edge installs: FRR's for BGP. Any value
/// other than the kernel's own (0 for IPv4, 256 and 1024 for IPv6) would do; see the module
/// documentation for why it must not be 0.
pub const METRIC: u32 = 20;

/// Kernel requests in flight at once per writer.
const IN_FLIGHT: usize = 64;
/// Commands taken from the queue into one coalesced batch at most.
const MAX_BATCH: usize = 4096;

/// One FIB entry: prefix → next hops (ECMP when more than one). Empty next hops = delete.
/// Host bits of the prefix are ignored; the order and repetitions of next hops do not matter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FibRoute {
    pub prefix: IpNet,
    pub next_hops: Vec<IpAddr>,
}

impl FibRoute {
    /// A route to install (or replace).
    pub fn new(prefix: IpNet, next_hops: impl IntoIterator<Item = IpAddr>) -> FibRoute {
        FibRoute {
            prefix,
            next_hops: next_hops.into_iter().collect(),
        }
    }

    /// The removal of `prefix`.
    pub fn delete(prefix: IpNet) -> FibRoute {
        FibRoute {
            prefix,
            next_hops: Vec::new(),
        }
    }
}

/// Handle to the FIB writer task of one namespace (cheap to clone).
#[derive(Debug, Clone)]
pub struct Fib {
    tx: mpsc::UnboundedSender<Command>,
    stats: Arc<Stats>,
}

#[derive(Debug, Default)]
struct Stats {
    installed: AtomicUsize,
    errors: AtomicU64,
}

#[derive(Debug)]
enum Command {
    Apply(Vec<FibRoute>),
    Sync,
    Settled(oneshot::Sender<()>),
}

impl Fib {
    /// Starts a writer task for namespace `ns` (None = the current namespace). The netlink
    /// socket is created inside the namespace; at start, the writer dumps the IPv4 and IPv6
    /// main-table routes with protocol 186 there and remembers them as stale.
    ///
    /// Must be called from within a tokio runtime.
    pub fn spawn(ns: Option<&str>) -> io::Result<Fib> {
        let runtime = tokio::runtime::Handle::try_current().map_err(io::Error::other)?;
        let socket = crate::netns::run_in(ns, move || {
            // The socket is registered with the runtime's reactor from the namespace thread;
            // after that it is an ordinary tokio I/O object.
            let _runtime = runtime.enter();
            let socket = TokioSocket::new(NETLINK_ROUTE)?;
            // Error messages carry the kernel's explanation ("Nexthop has invalid gateway")
            // and not the whole request back. Both are best effort.
            let _ = socket.socket_ref().set_ext_ack(true);
            let _ = socket.socket_ref().set_cap_ack(true);
            Ok(socket)
        })?;
        let (connection, nl, unsolicited) = netlink_proto::from_socket_with_codec::<
            RouteNetlinkMessage,
            TokioSocket,
            NetlinkCodec,
        >(socket);
        // We join no multicast group; nothing unsolicited is expected.
        drop(unsolicited);
        tokio::spawn(connection);
        let (tx, rx) = mpsc::unbounded_channel();
        let stats = Arc::new(Stats::default());
        let writer = Writer {
            nl,
            ns: ns.unwrap_or("(own)").to_owned(),
            stats: stats.clone(),
            stale: HashMap::new(),
            installed: HashSet::new(),
        };
        tokio::spawn(writer.run(rx));
        Ok(Fib { tx, stats })
    }

    /// Queues changes (never waits for the kernel). Queued changes are coalesced per prefix,
    /// the last one winning; a route with no next hops deletes the prefix.
    pub fn apply(&self, changes: Vec<FibRoute>) {
        if !changes.is_empty() {
            let _ = self.tx.send(Command::Apply(changes));
        }
    }

    /// Ends the startup reconcile: deletes every stale proto-186 route that was not written
    /// since spawn. Routes of other protocols are never touched.
    pub fn sync(&self) {
        let _ = self.tx.send(Command::Sync);
    }

    /// Waits until everything queued before this call has been written (or has failed).
    pub async fn settled(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Command::Settled(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Number of routes this writer currently has installed.
    pub fn installed(&self) -> usize {
        self.stats.installed.load(Ordering::Relaxed)
    }

    /// Number of kernel errors so far.
    pub fn errors(&self) -> u64 {
        self.stats.errors.load(Ordering::Relaxed)
    }
}

/// Requests to the writer's netlink connection.
type Netlink = ConnectionHandle<RouteNetlinkMessage>;

/// The writer task's state.
struct Writer {
    nl: Netlink,
    /// For logs.
    ns: String,
    stats: Arc<Stats>,
    /// Proto-186 routes found at start and not written since, by prefix.
    stale: HashMap<IpNet, Vec<RouteMessage>>,
    /// Prefixes this writer has installed.
    installed: HashSet<IpNet>,
}

/// The work for one prefix in a batch.
struct Job {
    prefix: IpNet,
    next_hops: Vec<IpAddr>,
    /// Whether the kernel may hold a route of ours for the prefix (installed by this writer,
    /// or found stale with our metric).
    had_route: bool,
    /// Stale proto-186 routes for the prefix that a write does not replace (another metric
    /// or TOS, left by an older version or by hand): deleted once the prefix is written.
    leftovers: Vec<RouteMessage>,
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Command>) {
        self.load_stale().await;
        while let Some(first) = rx.recv().await {
            let mut changes: BTreeMap<IpNet, Vec<IpAddr>> = BTreeMap::new();
            let mut sync = false;
            let mut waiting = Vec::new();
            let mut next = Some(first);
            let mut taken = 0;
            while let Some(command) = next {
                match command {
                    Command::Apply(routes) => {
                        for r in routes {
                            changes.insert(r.prefix.trunc(), normalize(r.next_hops));
                        }
                    }
                    Command::Sync => sync = true,
                    Command::Settled(tx) => waiting.push(tx),
                }
                taken += 1;
                next = if taken < MAX_BATCH {
                    rx.try_recv().ok()
                } else {
                    None
                };
            }
            self.write(changes).await;
            if sync {
                self.delete_stale().await;
            }
            for tx in waiting {
                let _ = tx.send(());
            }
        }
        tracing::debug!(namespace = %self.ns, "FIB writer stopped; its routes stay in the kernel");
    }

    /// Remembers the proto-186 routes of the main table as stale.
    async fn load_stale(&mut self) {
        for family in [AddressFamily::Inet, AddressFamily::Inet6] {
            let mut request = RouteMessage::default();
            request.header.address_family = family;
            match request_route(
                &self.nl,
                RouteNetlinkMessage::GetRoute(request),
                NLM_F_REQUEST | NLM_F_DUMP,
            )
            .await
            {
                Ok(replies) => {
                    for m in replies {
                        if let RouteNetlinkMessage::NewRoute(m) = m
                            && is_ours(&m)
                            && let Some(prefix) = prefix_of(&m)
                        {
                            self.stale.entry(prefix).or_default().push(m);
                        }
                    }
                }
                Err(e) => {
                    self.stats.errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(namespace = %self.ns, ?family, "cannot dump the routing table: {e}");
                }
            }
        }
        if !self.stale.is_empty() {
            tracing::info!(namespace = %self.ns, routes = self.stale.len(), "routes of a previous run kept until the reconcile ends");
        }
    }

    async fn write(&mut self, changes: BTreeMap<IpNet, Vec<IpAddr>>) {
        if changes.is_empty() {
            return;
        }
        let jobs: Vec<Job> = changes
            .into_iter()
            .map(|(prefix, next_hops)| {
                let (replaced, leftovers): (Vec<_>, Vec<_>) = self
                    .stale
                    .remove(&prefix)
                    .unwrap_or_default()
                    .into_iter()
                    .partition(|m| priority(m) == METRIC && m.header.tos == 0);
                Job {
                    prefix,
                    next_hops,
                    had_route: self.installed.contains(&prefix) || !replaced.is_empty(),
                    leftovers,
                }
            })
            .collect();
        let nl = &self.nl;
        let ns = self.ns.as_str();
        let results: Vec<(IpNet, bool, u64)> = stream::iter(jobs)
            .map(|job| run_job(nl, ns, job))
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        let mut errors = 0;
        for (prefix, installed, e) in results {
            if installed {
                self.installed.insert(prefix);
            } else {
                self.installed.remove(&prefix);
            }
            errors += e;
        }
        self.stats.errors.fetch_add(errors, Ordering::Relaxed);
        self.stats
            .installed
            .store(self.installed.len(), Ordering::Relaxed);
    }

    /// Deletes every stale route (the end of the startup reconcile).
    async fn delete_stale(&mut self) {
        let stale: Vec<RouteMessage> = self.stale.drain().flat_map(|(_, v)| v).collect();
        if stale.is_empty() {
            return;
        }
        tracing::info!(namespace = %self.ns, routes = stale.len(), "removing routes of a previous run");
        let nl = &self.nl;
        let ns = self.ns.as_str();
        let errors: u64 = stream::iter(stale)
            .map(|m| async move { u64::from(!delete_exact(nl, ns, m).await) })
            .buffer_unordered(IN_FLIGHT)
            .fold(0, |a, b| async move { a + b })
            .await;
        self.stats.errors.fetch_add(errors, Ordering::Relaxed);
    }
}

/// Writes one prefix; returns whether a route of ours is now installed for it, and the
/// number of kernel errors met.
async fn run_job(nl: &Netlink, ns: &str, job: Job) -> (IpNet, bool, u64) {
    let Job {
        prefix,
        next_hops,
        had_route,
        leftovers,
    } = job;
    let mut errors = 0;
    let installed = if next_hops.is_empty() {
        if !delete_ours(nl, ns, prefix).await {
            errors += 1;
        }
        false
    } else {
        let request = RouteNetlinkMessage::NewRoute(new_route(prefix, &next_hops));
        let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
        match request_route(nl, request, flags).await {
            Ok(_) => true,
            Err(e) => {
                errors += 1;
                tracing::warn!(namespace = %ns, %prefix, ?next_hops, "cannot install route: {e}");
                // The route we had for the prefix leads where BGP no longer goes: withdraw
                // it. The next change for the prefix tries again.
                if had_route && !delete_ours(nl, ns, prefix).await {
                    errors += 1;
                }
                false
            }
        }
    };
    for m in leftovers {
        if !delete_exact(nl, ns, m).await {
            errors += 1;
        }
    }
    (prefix, installed, errors)
}

/// Deletes our route for `prefix`; a route already gone is fine. False on a kernel error.
async fn delete_ours(nl: &Netlink, ns: &str, prefix: IpNet) -> bool {
    delete(nl, ns, prefix, delete_route(prefix)).await
}

/// Deletes the route `m` as dumped. False on a kernel error.
async fn delete_exact(nl: &Netlink, ns: &str, m: RouteMessage) -> bool {
    let Some(prefix) = prefix_of(&m) else {
        return true;
    };
    delete(nl, ns, prefix, delete_dumped(&m)).await
}

async fn delete(nl: &Netlink, ns: &str, prefix: IpNet, m: RouteMessage) -> bool {
    let flags = NLM_F_REQUEST | NLM_F_ACK;
    match request_route(nl, RouteNetlinkMessage::DelRoute(m), flags).await {
        Ok(_) => true,
        Err(e) if e.is_gone() => true,
        Err(e) => {
            tracing::warn!(namespace = %ns, %prefix, "cannot delete route: {e}");
            false
        }
    }
}

/// A failed netlink request.
#[derive(Debug)]
struct KernelError {
    /// The kernel's errno (positive), when it answered.
    errno: Option<i32>,
    /// The kernel's extended-ack message, or what went wrong on our side.
    detail: Option<String>,
}

impl KernelError {
    /// Whether the error says the route does not exist.
    fn is_gone(&self) -> bool {
        matches!(self.errno, Some(libc::ENOENT | libc::ESRCH))
    }
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.errno, &self.detail) {
            (Some(errno), Some(detail)) => {
                write!(f, "{} ({detail})", io::Error::from_raw_os_error(errno))
            }
            (Some(errno), None) => write!(f, "{}", io::Error::from_raw_os_error(errno)),
            (None, Some(detail)) => f.write_str(detail),
            (None, None) => f.write_str("netlink request failed"),
        }
    }
}

/// Sends one request and collects the messages of its answer.
async fn request_route(
    nl: &Netlink,
    message: RouteNetlinkMessage,
    flags: u16,
) -> Result<Vec<RouteNetlinkMessage>, KernelError> {
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    let mut request = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(message));
    request.finalize();
    let mut answer = nl
        .request(request, SocketAddr::new(0, 0))
        .map_err(|e| KernelError {
            errno: None,
            detail: Some(format!("netlink connection: {e}")),
        })?;
    let mut out = Vec::new();
    while let Some(reply) = answer.next().await {
        match reply.payload {
            NetlinkPayload::InnerMessage(m) => out.push(m),
            NetlinkPayload::Error(e) => {
                if let Some(code) = e.code {
                    return Err(KernelError {
                        errno: Some(code.get().abs()),
                        detail: ext_ack_message(reply.header.flags, &e.header),
                    });
                }
            }
            NetlinkPayload::Overrun(_) => {
                return Err(KernelError {
                    errno: None,
                    detail: Some("netlink overrun".to_owned()),
                });
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The `NLMSGERR_ATTR_MSG` text of an error message (what follows the errno: the request's
/// header, or the whole request when not capped, then TLVs when `NLM_F_ACK_TLVS` is set).
fn ext_ack_message(flags: u16, body: &[u8]) -> Option<String> {
    const NLMSGERR_ATTR_MSG: u16 = 1;
    const NLMSG_HDRLEN: usize = 16;
    if flags & NLM_F_ACK_TLVS == 0 {
        return None;
    }
    let echoed = if flags & NLM_F_CAPPED != 0 {
        NLMSG_HDRLEN
    } else {
        u32::from_ne_bytes(body.get(..4)?.try_into().ok()?) as usize
    };
    let mut tlvs = body.get(align4(echoed)..)?;
    while tlvs.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([tlvs[0], tlvs[1]]));
        let kind = u16::from_ne_bytes([tlvs[2], tlvs[3]]) & 0x3fff;
        if len < 4 || len > tlvs.len() {
            return None;
        }
        if kind == NLMSGERR_ATTR_MSG {
            let text = tlvs[4..len].split(|b| *b == 0).next()?;
            let text = String::from_utf8_lossy(text)
                .trim()
                .trim_end_matches('.')
                .to_owned();
            return (!text.is_empty()).then_some(text);
        }
        tlvs = tlvs.get(align4(len)..).unwrap_or(&[]);
    }
    None
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Next hops in a stable order, without duplicates (IPv4-mapped IPv6 addresses as IPv4).
fn normalize(mut next_hops: Vec<IpAddr>) -> Vec<IpAddr> {
    for h in &mut next_hops {
        *h = h.to_canonical();
    }
    next_hops.sort_unstable();
    next_hops.dedup();
    next_hops
}

fn family(prefix: IpNet) -> AddressFamily {
    match prefix {
        IpNet::V4(_) => AddressFamily::Inet,
        IpNet::V6(_) => AddressFamily::Inet6,
    }
}

/// The header every message about one of our routes starts from.
fn header(prefix: IpNet) -> RouteHeader {
    RouteHeader {
        address_family: family(prefix),
        destination_prefix_length: prefix.prefix_len(),
        table: RouteHeader::RT_TABLE_MAIN,
        protocol: RouteProtocol::from(RTPROT_BGP),
        ..RouteHeader::default()
    }
}

/// A next hop of the route's own family is a gateway; one of the other family (an IPv4
/// route over an IPv6 next hop, RFC 8950) goes through `RTA_VIA`.
fn gateway(prefix: IpNet, next_hop: IpAddr) -> RouteAttribute {
    if prefix.addr().is_ipv4() == next_hop.is_ipv4() {
        RouteAttribute::Gateway(next_hop.into())
    } else {
        RouteAttribute::Via(next_hop.into())
    }
}

/// `RTM_NEWROUTE` for `prefix` via `next_hops` (at least one).
fn new_route(prefix: IpNet, next_hops: &[IpAddr]) -> RouteMessage {
    let mut m = RouteMessage::default();
    m.header = header(prefix);
    m.header.scope = RouteScope::Universe;
    m.header.kind = RouteType::Unicast;
    m.attributes = vec![
        RouteAttribute::Destination(prefix.addr().into()),
        RouteAttribute::Table(u32::from(RouteHeader::RT_TABLE_MAIN)),
        RouteAttribute::Priority(METRIC),
    ];
    match next_hops {
        [one] => m.attributes.push(gateway(prefix, *one)),
        many => m.attributes.push(RouteAttribute::MultiPath(
            many.iter()
                .map(|h| {
                    // Weight 1 (hops = weight - 1); the kernel resolves the interface.
                    let mut nh = RouteNextHop::default();
                    nh.attributes = vec![gateway(prefix, *h)];
                    nh
                })
                .collect(),
        )),
    }
    m
}

/// `RTM_DELROUTE` of our route for `prefix` (whatever its next hops).
fn delete_route(prefix: IpNet) -> RouteMessage {
    let mut m = RouteMessage::default();
    m.header = header(prefix);
    m.header.scope = RouteScope::NoWhere;
    m.attributes = vec![
        RouteAttribute::Destination(prefix.addr().into()),
        RouteAttribute::Table(u32::from(RouteHeader::RT_TABLE_MAIN)),
        RouteAttribute::Priority(METRIC),
    ];
    m
}

/// `RTM_DELROUTE` matching exactly the dumped route `dumped`. IPv4 takes a missing metric as
/// "any", so IPv4 deletes also name the next hops; IPv6 metrics are never 0, and naming a
/// gateway there would delete that one hop of a multipath route only.
fn delete_dumped(dumped: &RouteMessage) -> RouteMessage {
    let mut m = RouteMessage::default();
    m.header = dumped.header.clone();
    m.header.scope = RouteScope::NoWhere;
    m.header.flags = Default::default();
    let ipv4 = dumped.header.address_family == AddressFamily::Inet;
    let nh_id = dumped
        .attributes
        .iter()
        .any(|a| matches!(a, RouteAttribute::NhId(_)));
    m.attributes = dumped
        .attributes
        .iter()
        .filter(|a| match a {
            RouteAttribute::Destination(_)
            | RouteAttribute::Table(_)
            | RouteAttribute::Priority(_)
            | RouteAttribute::NhId(_) => true,
            RouteAttribute::Gateway(_)
            | RouteAttribute::Via(_)
            | RouteAttribute::Oif(_)
            | RouteAttribute::MultiPath(_) => ipv4 && !nh_id,
            _ => false,
        })
        .cloned()
        .collect();
    m
}

fn table(m: &RouteMessage) -> u32 {
    m.attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(u32::from(m.header.table))
}

fn priority(m: &RouteMessage) -> u32 {
    m.attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Priority(p) => Some(*p),
            _ => None,
        })
        .unwrap_or(0)
}

/// Whether a dumped route is one of ours: protocol 186 in the main table.
fn is_ours(m: &RouteMessage) -> bool {
    m.header.protocol == RouteProtocol::from(RTPROT_BGP)
        && table(m) == u32::from(RouteHeader::RT_TABLE_MAIN)
}

fn prefix_of(m: &RouteMessage) -> Option<IpNet> {
    let len = m.header.destination_prefix_length;
    let dst = m.attributes.iter().find_map(|a| match a {
        RouteAttribute::Destination(d) => Some(d),
        _ => None,
    });
    let addr = match (m.header.address_family, dst) {
        (AddressFamily::Inet, None) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        (AddressFamily::Inet6, None) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        (_, Some(netlink_packet_route::route::RouteAddress::Inet(a))) => IpAddr::V4(*a),
        (_, Some(netlink_packet_route::route::RouteAddress::Inet6(a))) => IpAddr::V6(*a),
        _ => return None,
    };
    IpNet::new(addr, len).ok().map(|n| n.trunc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::Emitable as _;

    fn net(s: &str) -> IpNet {
        s.parse().expect("prefix")
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn next_hops_are_sorted_and_deduplicated() {
        let hops = normalize(vec![ip("10.0.0.2"), ip("::ffff:10.0.0.1"), ip("10.0.0.2")]);
        assert_eq!(hops, vec![ip("10.0.0.1"), ip("10.0.0.2")]);
    }

    #[test]
    fn one_next_hop_is_a_gateway_several_are_multipath() {
        let one = new_route(net("10.9.0.0/24"), &[ip("10.1.0.2")]);
        assert_eq!(one.header.protocol, RouteProtocol::Bgp);
        assert_eq!(one.header.table, 254);
        assert!(
            one.attributes
                .contains(&RouteAttribute::Gateway(ip("10.1.0.2").into()))
        );
        assert!(one.attributes.contains(&RouteAttribute::Priority(METRIC)));

        let two = new_route(
            net("2001:db8:9::/48"),
            &[ip("2001:db8:1::2"), ip("2001:db8:2::2")],
        );
        let hops = two
            .attributes
            .iter()
            .find_map(|a| match a {
                RouteAttribute::MultiPath(h) => Some(h),
                _ => None,
            })
            .expect("multipath");
        assert_eq!(hops.len(), 2);
        assert!(hops.iter().all(|h| h.hops == 0 && h.interface_index == 0));
        // It encodes.
        let mut buf = vec![0; two.buffer_len()];
        two.emit(&mut buf);
    }

    #[test]
    fn a_next_hop_of_the_other_family_goes_through_via() {
        let m = new_route(net("10.9.0.0/24"), &[ip("fe80::1")]);
        assert!(
            m.attributes
                .iter()
                .any(|a| matches!(a, RouteAttribute::Via(_)))
        );
    }

    #[test]
    fn dumped_routes_are_keyed_by_prefix() {
        let m = new_route(net("10.9.0.0/24"), &[ip("10.1.0.2")]);
        assert_eq!(prefix_of(&m), Some(net("10.9.0.0/24")));
        assert!(is_ours(&m));
        let mut default = RouteMessage::default();
        default.header.address_family = AddressFamily::Inet6;
        assert_eq!(prefix_of(&default), Some(net("::/0")));
    }

    #[test]
    fn ipv4_stale_deletes_name_the_next_hop_ipv6_ones_do_not() {
        let v4 = delete_dumped(&new_route(net("10.9.0.0/24"), &[ip("10.1.0.2")]));
        assert!(
            v4.attributes
                .iter()
                .any(|a| matches!(a, RouteAttribute::Gateway(_)))
        );
        let v6 = delete_dumped(&new_route(net("2001:db8::/32"), &[ip("2001:db8:1::2")]));
        assert!(
            !v6.attributes
                .iter()
                .any(|a| matches!(a, RouteAttribute::Gateway(_)))
        );
        assert_eq!(v6.header.scope, RouteScope::NoWhere);
    }

    #[test]
    fn the_extended_ack_message_is_read() {
        let mut body = vec![0u8; 16]; // the echoed request header (capped)
        let text = b"Nexthop has invalid gateway.\0";
        let len = 4 + text.len();
        body.extend_from_slice(&(len as u16).to_ne_bytes());
        body.extend_from_slice(&1u16.to_ne_bytes());
        body.extend_from_slice(text);
        body.resize(align4(body.len()), 0);
        let flags = NLM_F_ACK_TLVS | NLM_F_CAPPED;
        assert_eq!(
            ext_ack_message(flags, &body).as_deref(),
            Some("Nexthop has invalid gateway")
        );
        assert_eq!(ext_ack_message(NLM_F_CAPPED, &body), None);
    }
}
