//! Customer-edge configuration: the customer's side of a circuit's two links, written for the
//! router the customer runs (BIRD 2, FRR, Junos, IOS XE, EOS).
//!
//! Data flow: a stored [`Circuit`] and the operator's inventory (which port type carries the
//! circuit at each edge) → [`plan`] builds one vendor-neutral [`Plan`]: per link the interface
//! and its encapsulation (untagged, dot1q C-tag, QinQ S+C tags), per peering the VLAN, the
//! customer's and Azure's ASNs, the MD5 key (only when asked for), the BGP sessions at the
//! first usable address of each subnet toward the edge at the second (IPv4 and IPv6), BFD
//! timers and the prefixes to announce (checked against the SKU's route limit) → one
//! renderer per vendor turns the plan into text ([`render`]). Every fact is decided here once;
//! a renderer only spells it.
//!
//! The ARM surface is [`route`]: `POST …/expressRouteCircuits/{name}/customerEdgeConfiguration`.

mod bird;
mod eos;
mod frr;
mod iosxe;
mod junos;
pub mod route;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use api::{BfdTimers, Role};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::arm::{ArmError, R};
use crate::inventory::Inventory;
use crate::model::{Circuit, Peering};

/// The routers Causeway writes configuration for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    Bird,
    Frr,
    Junos,
    IosXe,
    Eos,
}

impl Vendor {
    pub const ALL: [Vendor; 5] = [
        Vendor::Bird,
        Vendor::Frr,
        Vendor::Junos,
        Vendor::IosXe,
        Vendor::Eos,
    ];

    /// The name on the command line and in the API (`ios-xe`).
    pub fn as_str(self) -> &'static str {
        match self {
            Vendor::Bird => "bird",
            Vendor::Frr => "frr",
            Vendor::Junos => "junos",
            Vendor::IosXe => "ios-xe",
            Vendor::Eos => "eos",
        }
    }

    pub fn parse(s: &str) -> Option<Vendor> {
        Vendor::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
    }

    /// What the router calls the interface toward each link unless told otherwise.
    pub fn default_interfaces(self) -> [&'static str; 2] {
        match self {
            Vendor::Bird | Vendor::Frr => ["eth1", "eth2"],
            Vendor::Junos => ["ge-0/0/0", "ge-0/0/1"],
            Vendor::IosXe => ["GigabitEthernet0/0/0", "GigabitEthernet0/0/1"],
            Vendor::Eos => ["Ethernet1", "Ethernet2"],
        }
    }

    /// The usual file name ending of the vendor's configuration.
    fn extension(self) -> &'static str {
        match self {
            Vendor::Bird | Vendor::Frr | Vendor::Junos => "conf",
            Vendor::IosXe | Vendor::Eos => "cfg",
        }
    }
}

/// What the caller asks for.
#[derive(Debug, Clone)]
pub struct Request {
    pub vendor: Vendor,
    /// One peering (by name, any case); every peering of the circuit when `None`.
    pub peering: Option<String>,
    /// Put the MD5 keys in the text; otherwise each is replaced by a comment.
    pub with_secrets: bool,
    /// Prefixes the customer announces over private peering (Microsoft peering announces
    /// its advertised public prefixes).
    pub announce: Vec<IpNet>,
    /// The router's interfaces toward the primary and secondary link.
    pub interfaces: [Option<String>; 2],
    /// BFD timers; default: those the edges run.
    pub bfd: Option<BfdTimers>,
}

impl Request {
    pub fn new(vendor: Vendor) -> Request {
        Request {
            vendor,
            peering: None,
            with_secrets: false,
            announce: Vec::new(),
            interfaces: [None, None],
            bfd: None,
        }
    }
}

/// How a link's frames are tagged on the port the circuit uses at the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encapsulation {
    /// One circuit per port, no tag.
    Untagged,
    /// The peering's VLAN id as the 802.1Q C-tag.
    Dot1q,
    /// The circuit's S-tag (802.1ad) outside the peering's C-tag.
    Qinq { stag: u16 },
}

/// One link as the customer's router sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub role: Role,
    /// The router's physical interface toward this link.
    pub interface: String,
    pub encapsulation: Encapsulation,
    /// The edge at the other end (for descriptions).
    pub edge: String,
}

/// The VLAN tags a peering's frames carry on a link: `(outer S-tag, C-tag)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tags {
    pub stag: Option<u16>,
    pub ctag: u16,
}

impl Link {
    /// The tags of `peering` on this link; `None` when untagged.
    pub fn tags(&self, peering: &PeeringPlan) -> Option<Tags> {
        match self.encapsulation {
            Encapsulation::Untagged => None,
            Encapsulation::Dot1q => Some(Tags {
                stag: None,
                ctag: peering.vlan_id,
            }),
            Encapsulation::Qinq { stag } => Some(Tags {
                stag: Some(stag),
                ctag: peering.vlan_id,
            }),
        }
    }
}

/// The two peering types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeeringKind {
    Private,
    Microsoft,
}

impl PeeringKind {
    /// A short lower-case name for identifiers (`private`, `microsoft`).
    pub fn short(self) -> &'static str {
        match self {
            PeeringKind::Private => "private",
            PeeringKind::Microsoft => "microsoft",
        }
    }
}

/// The MD5 key of a peering's sessions as the text may show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Md5 {
    None,
    /// A key is configured but was not asked for.
    Withheld,
    Key(String),
}

/// One BGP session: the customer's address on a link toward the edge's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    pub role: Role,
    /// The customer's address: the first usable address of the link's subnet.
    pub local: IpAddr,
    /// The edge's address: the second.
    pub neighbor: IpAddr,
    pub prefix_len: u8,
}

impl Session {
    pub fn v6(&self) -> bool {
        self.neighbor.is_ipv6()
    }

    /// `local/len`.
    pub fn local_cidr(&self) -> String {
        format!("{}/{}", self.local, self.prefix_len)
    }
}

/// One peering as the customer configures it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeeringPlan {
    /// The ARM name (`AzurePrivatePeering`).
    pub name: String,
    pub kind: PeeringKind,
    pub vlan_id: u16,
    /// The customer's ASN on this peering (its peerASN).
    pub customer_as: u32,
    pub md5: Md5,
    /// The primary link's sessions then the secondary's, IPv4 before IPv6.
    pub sessions: Vec<Session>,
    pub announce_v4: Vec<Ipv4Net>,
    pub announce_v6: Vec<Ipv6Net>,
    /// The most prefixes the edge accepts per family (the SKU's limit).
    pub limit_v4: u32,
    pub limit_v6: u32,
}

impl PeeringPlan {
    pub fn sessions_on(&self, role: Role) -> impl Iterator<Item = &Session> {
        self.sessions.iter().filter(move |s| s.role == role)
    }

    pub fn has_v6(&self) -> bool {
        self.sessions.iter().any(Session::v6)
    }

    /// Identifier stem for this peering's objects (`cw_private`).
    pub fn ident(&self) -> String {
        format!("cw_{}", self.kind.short())
    }

    /// Identifier of one session's object (`cw_private_primary_v4`).
    pub fn session_ident(&self, s: &Session) -> String {
        format!(
            "{}_{}_{}",
            self.ident(),
            s.role.as_str(),
            if s.v6() { "v6" } else { "v4" }
        )
    }

    /// Upper-case name of the peering's prefix list for one family (`CW-PRIVATE-V4`).
    pub fn prefix_list(&self, v6: bool) -> String {
        format!(
            "CW-{}-{}",
            self.kind.short().to_ascii_uppercase(),
            if v6 { "V6" } else { "V4" }
        )
    }
}

/// Everything the customer's router needs, decided once for every vendor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub circuit: String,
    pub circuit_id: String,
    pub service_key: String,
    pub sku: String,
    pub bandwidth_mbps: u32,
    pub provider: String,
    pub peering_location: String,
    /// Azure's side (12076 unless the operator runs another).
    pub azure_as: u32,
    pub bfd: BfdTimers,
    /// BGP keepalive and hold time (Azure's edges run 60 s / 180 s).
    pub keepalive_secs: u16,
    pub hold_secs: u16,
    pub links: [Link; 2],
    pub peerings: Vec<PeeringPlan>,
}

impl Plan {
    pub fn link(&self, role: Role) -> &Link {
        match role {
            Role::Primary => &self.links[0],
            Role::Secondary => &self.links[1],
        }
    }

    /// The AS the router runs BGP as: the first peering's (others use local-as).
    pub fn router_as(&self) -> u32 {
        self.peerings.first().map_or(0, |p| p.customer_as)
    }

    /// The router id: the customer's first IPv4 address on the primary link.
    pub fn router_id(&self) -> Ipv4Addr {
        self.peerings
            .iter()
            .flat_map(|p| &p.sessions)
            .find_map(|s| match s.local {
                IpAddr::V4(a) => Some(a),
                IpAddr::V6(_) => None,
            })
            .unwrap_or(Ipv4Addr::new(192, 0, 2, 1))
    }

    /// Every announced prefix of every peering, IPv4 then IPv6, each once.
    pub fn anchors(&self) -> (Vec<Ipv4Net>, Vec<Ipv6Net>) {
        let mut v4: Vec<Ipv4Net> = self
            .peerings
            .iter()
            .flat_map(|p| p.announce_v4.iter().copied())
            .collect();
        let mut v6: Vec<Ipv6Net> = self
            .peerings
            .iter()
            .flat_map(|p| p.announce_v6.iter().copied())
            .collect();
        v4.sort();
        v4.dedup();
        v6.sort();
        v6.dedup();
        (v4, v6)
    }

    /// The header every vendor's text opens with, as lines (the renderer adds its comment
    /// marker).
    fn header(&self, vendor: Vendor) -> Vec<String> {
        let mut h = vec![
            format!(
                "Causeway customer-edge configuration ({}) for circuit {}",
                vendor.as_str(),
                self.circuit
            ),
            format!("  id:          {}", self.circuit_id),
            format!("  service key: {}", self.service_key),
            format!(
                "  {} {} Mb/s, provider {} at {}",
                self.sku, self.bandwidth_mbps, self.provider, self.peering_location
            ),
            format!(
                "  BFD {} ms x {}, BGP keepalive {} s / hold {} s, Azure AS {}",
                self.bfd.interval_ms,
                self.bfd.multiplier,
                self.keepalive_secs,
                self.hold_secs,
                self.azure_as
            ),
        ];
        for l in &self.links {
            h.push(format!(
                "  {} link: {} ({}) toward edge {}",
                l.role.as_str(),
                l.interface,
                match l.encapsulation {
                    Encapsulation::Untagged => "untagged".to_owned(),
                    Encapsulation::Dot1q => "802.1Q C-tag = the peering's VLAN".to_owned(),
                    Encapsulation::Qinq { stag } =>
                        format!("QinQ S-tag {stag}, C-tag = the peering's VLAN"),
                },
                l.edge
            ));
        }
        for p in &self.peerings {
            h.push(format!(
                "  {}: VLAN {}, AS {} <-> {}, announce at most {} IPv4 / {} IPv6 prefixes",
                p.name, p.vlan_id, p.customer_as, self.azure_as, p.limit_v4, p.limit_v6
            ));
            if p.md5 == Md5::Withheld {
                h.push(
                    "    MD5 key withheld: generate again with --with-secrets to include it"
                        .to_owned(),
                );
            }
        }
        h
    }
}

/// The text for `plan` in its vendor's syntax.
pub fn render(plan: &Plan, vendor: Vendor) -> String {
    match vendor {
        Vendor::Bird => bird::render(plan),
        Vendor::Frr => frr::render(plan),
        Vendor::Junos => junos::render(plan),
        Vendor::IosXe => iosxe::render(plan),
        Vendor::Eos => eos::render(plan),
    }
}

/// A file name for the text: `<circuit>-<vendor>.<ext>`.
pub fn file_name(plan: &Plan, vendor: Vendor) -> String {
    let safe: String = plan
        .circuit
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{safe}-{}.{}", vendor.as_str(), vendor.extension())
}

fn bad(code: &'static str, message: impl Into<String>) -> ArmError {
    ArmError::bad_request(code, message)
}

/// Builds the plan of `circuit` for `req`: every rule the text obeys is applied here.
pub fn plan(
    circuit: &Circuit,
    inventory: &Inventory,
    azure_as: u32,
    edge_bfd: BfdTimers,
    req: &Request,
) -> R<Plan> {
    let defaults = req.vendor.default_interfaces();
    let location = inventory
        .location(&circuit.provider.peering_location)
        .ok_or_else(|| {
            bad(
                "PeeringLocationHasNoEdges",
                format!(
                    "No edge pair serves peering location '{}' yet, so the circuit's links are not known.",
                    circuit.provider.peering_location
                ),
            )
        })?;
    let link = |role: Role, i: usize| -> R<Link> {
        let edge = match role {
            Role::Primary => &location.primary,
            Role::Secondary => &location.secondary,
        };
        let interface = req.interfaces[i]
            .clone()
            .unwrap_or_else(|| defaults[i].to_owned());
        check_interface(&interface)?;
        let encapsulation = if edge.lab {
            Encapsulation::Untagged
        } else {
            let port = edge
                .ports
                .iter()
                .find(|p| {
                    p.owner
                        .eq_ignore_ascii_case(&circuit.provider.service_provider_name)
                })
                .ok_or_else(|| {
                    bad(
                        "NoPortForProvider",
                        format!(
                            "Edge '{}' has no port of provider '{}'.",
                            edge.name, circuit.provider.service_provider_name
                        ),
                    )
                })?;
            match port.encapsulation.as_str() {
                "dot1q" => Encapsulation::Dot1q,
                "qinq" => Encapsulation::Qinq {
                    stag: circuit.stag.ok_or_else(|| {
                        bad(
                            "CircuitHasNoSTag",
                            "The circuit's S-tag is assigned when its provider provisions it; \
                             its QinQ configuration cannot be written before.",
                        )
                    })?,
                },
                _ => Encapsulation::Untagged,
            }
        };
        Ok(Link {
            role,
            interface,
            encapsulation,
            edge: edge.name.clone(),
        })
    };
    let links = [link(Role::Primary, 0)?, link(Role::Secondary, 1)?];

    let chosen: Vec<&Peering> = match &req.peering {
        Some(name) => vec![circuit.peering(name).ok_or_else(|| {
            crate::arm::ArmError::not_found("Microsoft.Network/expressRouteCircuits/peerings", name)
        })?],
        None => circuit.peerings.iter().collect(),
    };
    if chosen.is_empty() {
        return Err(bad(
            "CircuitHasNoPeering",
            format!(
                "Circuit '{}' has no peering yet: create AzurePrivatePeering or MicrosoftPeering first.",
                circuit.name
            ),
        ));
    }
    let mut peerings = Vec::new();
    for p in chosen {
        peerings.push(peering_plan(circuit, p, req)?);
    }
    Ok(Plan {
        circuit: circuit.name.clone(),
        circuit_id: circuit.id(),
        service_key: circuit.service_key.clone(),
        sku: circuit.sku.name(),
        bandwidth_mbps: circuit.provider.bandwidth_in_mbps,
        provider: circuit.provider.service_provider_name.clone(),
        peering_location: circuit.provider.peering_location.clone(),
        azure_as,
        bfd: req.bfd.unwrap_or(edge_bfd),
        keepalive_secs: 60,
        hold_secs: 180,
        links,
        peerings,
    })
}

/// Interface names go into every vendor's syntax: letters, digits and `/ . : - _` only.
fn check_interface(name: &str) -> R<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | ':' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(bad(
            "InvalidInterfaceName",
            format!(
                "Interface name '{}' is invalid: use 1-64 letters, digits, '/', '.', ':', '-' or '_'.",
                name.chars().take(80).collect::<String>()
            ),
        ))
    }
}

/// The first and second usable address of a link subnet: (customer, edge, length).
fn v4_pair(prefix: &str) -> Option<(IpAddr, IpAddr, u8)> {
    let net: Ipv4Net = prefix.parse().ok()?;
    let base = u32::from(net.network());
    Some((
        IpAddr::V4(Ipv4Addr::from(base + 1)),
        IpAddr::V4(Ipv4Addr::from(base + 2)),
        net.prefix_len(),
    ))
}

fn v6_pair(prefix: &str) -> Option<(IpAddr, IpAddr, u8)> {
    let net: Ipv6Net = prefix.parse().ok()?;
    let base = u128::from(net.network());
    Some((
        IpAddr::V6(Ipv6Addr::from(base + 1)),
        IpAddr::V6(Ipv6Addr::from(base + 2)),
        net.prefix_len(),
    ))
}

fn peering_plan(circuit: &Circuit, p: &Peering, req: &Request) -> R<PeeringPlan> {
    let kind = if p.peering_type.eq_ignore_ascii_case("MicrosoftPeering") {
        PeeringKind::Microsoft
    } else {
        PeeringKind::Private
    };
    let v6 = p.ipv6.as_ref().filter(|x| x.state == "Enabled");
    let mut sessions = Vec::new();
    for (role, v4p, v6p) in [
        (
            Role::Primary,
            &p.primary_prefix,
            v6.map(|x| &x.primary_prefix),
        ),
        (
            Role::Secondary,
            &p.secondary_prefix,
            v6.map(|x| &x.secondary_prefix),
        ),
    ] {
        let pairs = std::iter::once(v4_pair(v4p)).chain(v6p.map(|s| v6_pair(s)));
        for (local, neighbor, prefix_len) in pairs.flatten() {
            sessions.push(Session {
                role,
                local,
                neighbor,
                prefix_len,
            });
        }
    }
    let (announce_v4, announce_v6) = match kind {
        PeeringKind::Private => split(&req.announce),
        PeeringKind::Microsoft => {
            let mut all: Vec<IpNet> = Vec::new();
            let lists = p
                .microsoft
                .iter()
                .chain(v6.and_then(|x| x.microsoft.as_ref()));
            for m in lists {
                for s in &m.advertised_public_prefixes {
                    all.push(s.parse().map_err(|_| {
                        bad(
                            "InvalidAdvertisedPublicPrefix",
                            format!("The stored advertised public prefix '{s}' does not parse."),
                        )
                    })?);
                }
            }
            split(&all)
        }
    };
    let (limit_v4, limit_v6) = crate::edges::route_limits(circuit, p);
    for (n, limit, family) in [
        (announce_v4.len(), limit_v4, "IPv4"),
        (announce_v6.len(), limit_v6, "IPv6"),
    ] {
        if n > limit as usize {
            return Err(bad(
                "RouteLimitExceeded",
                format!(
                    "{} would announce {n} {family} prefixes; circuit '{}' ({}) accepts at most {limit} on it.",
                    p.name,
                    circuit.name,
                    circuit.sku.name()
                ),
            ));
        }
    }
    let md5 = match (&p.shared_key, req.with_secrets) {
        (None, _) => Md5::None,
        (Some(_), false) => Md5::Withheld,
        (Some(k), true) => Md5::Key(k.clone()),
    };
    Ok(PeeringPlan {
        name: p.name.clone(),
        kind,
        vlan_id: p.vlan_id,
        customer_as: p.peer_asn,
        md5,
        sessions,
        announce_v4,
        announce_v6,
        limit_v4,
        limit_v6,
    })
}

/// IPv4 and IPv6 prefixes apart, each list sorted and without duplicates.
fn split(all: &[IpNet]) -> (Vec<Ipv4Net>, Vec<Ipv6Net>) {
    let mut v4: Vec<Ipv4Net> = Vec::new();
    let mut v6: Vec<Ipv6Net> = Vec::new();
    for n in all {
        match n.trunc() {
            IpNet::V4(n) => v4.push(n),
            IpNet::V6(n) => v6.push(n),
        }
    }
    v4.sort();
    v4.dedup();
    v6.sort();
    v6.dedup();
    (v4, v6)
}

// ===== shared by the renderers =====

/// A dotted netmask (`255.255.255.252`) for IOS.
pub(crate) fn netmask(len: u8) -> Ipv4Addr {
    Ipv4Addr::from(u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0))
}

/// The Linux name of the (sub)interface carrying `tags` on `link`: `eth1`, `eth1.100`, or
/// `eth1.200.100` for QinQ (shortened to fit the kernel's 15 characters when needed).
pub(crate) fn linux_ifname(link: &Link, tags: Option<Tags>) -> String {
    let base = &link.interface;
    let name = match tags {
        None => return base.clone(),
        Some(Tags { stag: None, ctag }) => format!("{base}.{ctag}"),
        Some(Tags {
            stag: Some(s),
            ctag,
        }) => format!("{base}.{s}.{ctag}"),
    };
    if name.len() <= 15 {
        return name;
    }
    let r = match link.role {
        Role::Primary => 'p',
        Role::Secondary => 's',
    };
    match tags {
        Some(Tags {
            stag: Some(s),
            ctag,
        }) => format!("cw{r}{s}.{ctag}"),
        Some(t) => format!("cw{r}.{}", t.ctag),
        None => base.clone(),
    }
}

/// The Linux commands that make a link's (sub)interface and give it the customer's
/// addresses, for the BIRD and FRR texts (neither creates interfaces).
pub(crate) fn linux_setup(plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    let mut made = std::collections::BTreeSet::new();
    for p in &plan.peerings {
        for link in &plan.links {
            let tags = link.tags(p);
            let dev = linux_ifname(link, tags);
            if let Some(Tags { stag, ctag }) = tags {
                let parent = match stag {
                    Some(s) => {
                        let outer = linux_ifname(
                            link,
                            Some(Tags {
                                stag: None,
                                ctag: s,
                            }),
                        );
                        if made.insert(outer.clone()) {
                            out.push(format!(
                                "ip link add link {} name {outer} type vlan proto 802.1ad id {s}",
                                link.interface
                            ));
                            out.push(format!("ip link set dev {outer} up"));
                        }
                        outer
                    }
                    None => link.interface.clone(),
                };
                if made.insert(dev.clone()) {
                    out.push(format!(
                        "ip link add link {parent} name {dev} type vlan id {ctag}"
                    ));
                }
            }
            for s in p.sessions_on(link.role) {
                let nodad = if s.v6() { " nodad" } else { "" };
                out.push(format!(
                    "ip address replace {} dev {dev}{nodad}",
                    s.local_cidr()
                ));
            }
            out.push(format!("ip link set dev {dev} up"));
        }
    }
    out.dedup();
    out
}

#[cfg(test)]
mod tests;
