//! `expressRouteCircuits/{c}/peerings/{p}`: a circuit's BGP peerings, stored inside the
//! circuit record.
//!
//! Rules ([`input`]): a peering is named after its type
//! (AzurePrivatePeering, MicrosoftPeering), its VLAN is unique on the circuit, its link
//! subnets are two /30s (or one /29 split in two), IPv6 two /126s, its ASN is not reserved;
//! a PUT that does not mention `sharedKey` keeps the key already configured (the key is
//! never echoed, so clients that GET-modify-PUT would otherwise erase it). A private peering
//! that virtual networks use cannot be deleted. The provider writes the same peerings
//! through its cross-connection ([`super::cross_connections`]); both go through [`write`]
//! and [`remove`] here. For the edges: every write touches the circuit.

use api::arm::circuit as arm;
use api::arm::cross_connection as xc;
use serde_json::Value;

use super::{circuits, put, rg};
use crate::arm::lro::Operation;
use crate::arm::{ArmError, Body, Outcome, R, Verb};
use crate::model::{Circuit, Peering, primary_port, secondary_port};
use crate::service::{Call, Route, Service};
use crate::store::Tx;
use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::model::{AZURE_ASN, MicrosoftConfig, PeeringConfigV6};
use crate::validate::{self, canonical, field, opt_str, opt_u64, req_str};

fn bad(code: &'static str, message: impl Into<String>) -> ArmError {
    ArmError::bad_request(code, message)
}

const SCHEMA: Option<&str> = Some("ExpressRouteCircuitPeering");
const LIST: Option<&str> = Some("ExpressRouteCircuitPeeringListResult");

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(rg!("/expressRouteCircuits/{circuitName}/peerings")).op(
            Verb::Get,
            "List a circuit's peerings",
            None,
            &[(200, LIST)],
            list_peerings,
        ),
        Route::new(rg!(
            "/expressRouteCircuits/{circuitName}/peerings/{peeringName}"
        ))
        .op(
            Verb::Get,
            "Get a peering",
            None,
            &[(200, SCHEMA)],
            get_peering,
        )
        .op(
            Verb::Put,
            "Create or update a peering",
            SCHEMA,
            &[(200, SCHEMA), (201, SCHEMA)],
            put_peering,
        )
        .op(
            Verb::Delete,
            "Delete a peering",
            None,
            &[(202, None), (204, None)],
            delete_peering,
        ),
    ]
}

/// A circuit's peering by name, or the 404 a missing one answers.
pub fn peering_of<'a>(c: &'a Circuit, name: &str) -> R<&'a Peering> {
    c.peering(name)
        .ok_or_else(|| ArmError::not_found("peerings", name))
}

/// The customer's view of a peering, with its sessions' live status
/// (`properties.causeway`, a Causeway extension).
pub fn render(svc: &Service, c: &Circuit, p: &Peering) -> Body {
    super::to_body(&dto(svc, c, p))
}

/// The customer's view as its typed ARM body.
pub fn dto(svc: &Service, c: &Circuit, p: &Peering) -> arm::ExpressRouteCircuitPeering {
    arm::ExpressRouteCircuitPeering {
        id: format!("{}/peerings/{}", c.id(), p.name),
        name: p.name.clone(),
        kind: arm::ExpressRouteCircuitPeering::TYPE.into(),
        etag: p.etag.clone(),
        properties: arm::ExpressRouteCircuitPeeringPropertiesFormat {
            peering_type: p.peering_type.clone(),
            state: p.state.clone(),
            azure_asn: svc.edges.local_as,
            peer_asn: p.peer_asn,
            primary_peer_address_prefix: p.primary_prefix.clone(),
            secondary_peer_address_prefix: p.secondary_prefix.clone(),
            primary_azure_port: primary_port(c),
            secondary_azure_port: secondary_port(c),
            vlan_id: p.vlan_id,
            microsoft_peering_config: p.microsoft.as_ref().map(microsoft),
            ipv6_peering_config: p.ipv6.as_ref().map(ipv6),
            last_modified_by: p.last_modified_by.clone(),
            route_filter: p
                .route_filter
                .as_ref()
                .map(|id| api::arm::SubResource { id: id.clone() }),
            causeway: Some(arm::CausewayPeeringStatus {
                links: svc.peering_status(c, &p.name),
            }),
            ..Default::default()
        },
    }
}

/// A peering as the provider sees it under its cross-connection.
pub fn cross_dto(
    p: &Peering,
    c: &Circuit,
    parent_id: &str,
) -> xc::ExpressRouteCrossConnectionPeering {
    xc::ExpressRouteCrossConnectionPeering {
        id: format!("{parent_id}/peerings/{}", p.name),
        name: p.name.clone(),
        kind: "Microsoft.Network/expressRouteCrossConnections/peerings".into(),
        etag: p.etag.clone(),
        properties: xc::ExpressRouteCrossConnectionPeeringProperties {
            peering_type: p.peering_type.clone(),
            state: p.state.clone(),
            azure_asn: crate::model::AZURE_ASN,
            peer_asn: p.peer_asn,
            primary_peer_address_prefix: p.primary_prefix.clone(),
            secondary_peer_address_prefix: p.secondary_prefix.clone(),
            primary_azure_port: primary_port(c),
            secondary_azure_port: secondary_port(c),
            vlan_id: p.vlan_id,
            microsoft_peering_config: p.microsoft.as_ref().map(microsoft),
            ipv6_peering_config: p.ipv6.as_ref().map(ipv6),
            last_modified_by: p.last_modified_by.clone(),
            ..Default::default()
        },
    }
}

fn ipv6(v6: &crate::model::PeeringConfigV6) -> arm::Ipv6ExpressRouteCircuitPeeringConfig {
    arm::Ipv6ExpressRouteCircuitPeeringConfig {
        primary_peer_address_prefix: v6.primary_prefix.clone(),
        secondary_peer_address_prefix: v6.secondary_prefix.clone(),
        microsoft_peering_config: v6.microsoft.as_ref().map(microsoft),
        state: v6.state.clone(),
        ..Default::default()
    }
}

fn microsoft(ms: &crate::model::MicrosoftConfig) -> arm::ExpressRouteCircuitPeeringConfig {
    arm::ExpressRouteCircuitPeeringConfig {
        advertised_public_prefixes: ms.advertised_public_prefixes.clone(),
        advertised_communities: ms.advertised_communities.clone(),
        advertised_public_prefixes_state: "Configured".into(),
        legacy_mode: 0,
        customer_asn: ms.customer_asn,
        routing_registry_name: ms.routing_registry_name.clone(),
        ..Default::default()
    }
}

// ===== handlers =====

fn list_peerings(svc: &Service, call: &Call) -> R<Outcome> {
    let c = svc.read(|st| circuits::visible(st, call))?;
    let items = c.peerings.iter().map(|p| render(svc, &c, p)).collect();
    Ok(svc.page_of(call, items))
}

fn get_peering(svc: &Service, call: &Call) -> R<Outcome> {
    let c = svc.read(|st| circuits::visible(st, call))?;
    let p = peering_of(&c, call.params.get("peeringName"))?;
    Ok(Outcome::Ok(render(svc, &c, p)))
}

fn put_peering(svc: &Service, call: &Call) -> R<Outcome> {
    call.writable(call.params.sub())?;
    let (c, p, created, op) = write(svc, call, "Customer", |tx, call| {
        circuits::visible(tx, call)
    })?;
    Ok(Outcome::Written {
        created,
        body: render(svc, &c, &p),
        lro: Some(svc.lro(call, &op, &c.location)),
    })
}

fn delete_peering(svc: &Service, call: &Call) -> R<Outcome> {
    if !call.owns(call.params.sub()) {
        return Ok(Outcome::NoContent);
    }
    remove(svc, call, |tx, call| circuits::visible(tx, call).map(Some))
}

// ===== shared with the provider's side =====

/// Finds the circuit a peering call writes to, inside the transaction.
pub type Find = fn(&Tx<'_>, &Call) -> R<Circuit>;

/// A peering PUT (by the customer or, through its cross-connection, the provider): the
/// stored circuit, the peering, whether it was created, and the operation.
pub fn write(
    svc: &Service,
    call: &Call,
    modified_by: &str,
    find: Find,
) -> R<(Circuit, Peering, bool, Operation)> {
    let body = call.body()?;
    let name = call.params.get("peeringName");
    let cross = call.params.has("crossConnectionName");
    svc.write(|tx| {
        let mut c = find(tx, call)?;
        let existing = c.peering(name).cloned();
        call.pre.check(existing.as_ref().map(|p| p.etag.as_str()))?;
        let mut peering = input(body, name, &c.peerings, modified_by, existing.as_ref())?;
        if validate::field(body, "properties.sharedKey").is_none()
            && let Some(old) = &existing
        {
            peering.shared_key = old.shared_key.clone();
        }
        // The provider's view has no route filter: its writes keep the customer's.
        if cross && let Some(old) = &existing {
            peering.route_filter = old.route_filter.clone();
        }
        if let Some(f) = peering.route_filter.clone().filter(|_| !cross) {
            peering.route_filter = Some(super::route_filters::for_peering(tx, call, &peering, &f)?);
        }
        let created = existing.is_none();
        c.peerings
            .retain(|p| !p.name.eq_ignore_ascii_case(&peering.name));
        c.peerings.push(peering.clone());
        c.peerings.sort_by(|a, b| a.name.cmp(&b.name));
        c.etag = crate::model::new_etag();
        put(tx, &c)?;
        let parent_id = if cross {
            c.cross_connection_id(call.params.sub())
        } else {
            c.id()
        };
        let path = format!("{parent_id}/peerings/{}", peering.name);
        let op = Operation::succeeded(call.params.sub(), Some(path), None);
        tx.put_operation(&op)?;
        tx.touch(&c.id());
        Ok((c, peering, created, op))
    })
}

/// Finds the circuit a peering DELETE removes from (`None`: nothing to delete).
pub type FindOpt = fn(&Tx<'_>, &Call) -> R<Option<Circuit>>;

/// A peering DELETE: 204 when there is nothing to delete.
pub fn remove(svc: &Service, call: &Call, find: FindOpt) -> R<Outcome> {
    let name = call.params.get("peeringName");
    let done = svc.write(|tx| {
        let mut c = match find(tx, call) {
            Ok(Some(c)) => c,
            Ok(None) => return Ok(None),
            Err(e) if e.status == crate::arm::Status::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(p) = c.peering(name).cloned() else {
            return Ok(None);
        };
        call.pre.check(Some(&p.etag))?;
        super::connections::refuse_if_connected(tx, call, &c, Some(&p.name))?;
        if p.name.eq_ignore_ascii_case("AzurePrivatePeering") {
            super::circuit_connections::refuse_if_joined(tx, &c)?;
        }
        c.peerings.retain(|x| !x.name.eq_ignore_ascii_case(name));
        c.etag = crate::model::new_etag();
        put(tx, &c)?;
        let op = Operation::succeeded(call.params.sub(), None, None);
        tx.put_operation(&op)?;
        tx.touch(&c.id());
        Ok(Some((op, c.location)))
    })?;
    Ok(match done {
        Some((op, location)) => Outcome::Accepted(svc.lro(call, &op, &location)),
        None => Outcome::NoContent,
    })
}

// ===== validation =====

pub const PEERING_TYPES: [&str; 2] = ["AzurePrivatePeering", "MicrosoftPeering"];

/// ASNs a customer may not use: 0, AS_TRANS, Microsoft's 12076, the gateway range 65515-65520
/// and the last of each range (RFC 7300).
pub fn reserved_asn(asn: u64) -> Option<&'static str> {
    match asn {
        0 => Some("ASN 0 is reserved (RFC 7607)"),
        23456 => Some("ASN 23456 is AS_TRANS (RFC 6793)"),
        a if a == u64::from(AZURE_ASN) => Some("ASN 12076 is Microsoft's own"),
        65515..=65520 => Some("ASNs 65515-65520 are reserved for Azure gateways"),
        65535 | 4_294_967_295 => Some("the last ASN of each range is reserved (RFC 7300)"),
        _ => None,
    }
}

/// One link subnet: a /30 (IPv4) or /126 (IPv6) with no host bits set.
fn link_subnet(path: &str, s: &str, v6: bool) -> R<IpNet> {
    let (family, example, len, whole) = if v6 {
        ("IPv6", "2001:db8::/126", 126, "a /125 into two /126s")
    } else {
        (
            "IPv4",
            "192.168.15.16/30",
            30,
            "a /29 into two /30s for primary and secondary",
        )
    };
    let net = s
        .parse::<IpNet>()
        .ok()
        .filter(|n| n.network().is_ipv6() == v6)
        .ok_or_else(|| {
            bad(
                "InvalidPeerAddressPrefix",
                format!("'{path}' = '{s}' is not an {family} prefix such as {example}."),
            )
        })?;
    if net.prefix_len() != len {
        return Err(bad(
            "InvalidPeerAddressPrefix",
            format!(
                "'{path}' must be a /{len} (got /{}); split {whole}.",
                net.prefix_len()
            ),
        ));
    }
    if net.trunc() != net {
        return Err(bad(
            "InvalidPeerAddressPrefix",
            format!(
                "'{path}' = '{s}' has host bits set; did you mean {}?",
                net.trunc()
            ),
        ));
    }
    Ok(net)
}

pub(crate) fn v4_subnet(path: &str, s: &str) -> R<Ipv4Net> {
    match link_subnet(path, s, false)? {
        IpNet::V4(n) => Ok(n),
        IpNet::V6(_) => Err(bad(
            "InvalidPeerAddressPrefix",
            format!("'{path}' must be IPv4."),
        )),
    }
}

pub(crate) fn v6_subnet(path: &str, s: &str) -> R<Ipv6Net> {
    match link_subnet(path, s, true)? {
        IpNet::V6(n) => Ok(n),
        IpNet::V4(_) => Err(bad(
            "InvalidPeerAddressPrefix",
            format!("'{path}' must be IPv6."),
        )),
    }
}

/// The primary and secondary link subnets: two /30s (/126s), or one /29 (/125) given as the
/// primary prefix — with the secondary absent or the same — split in two, lower half primary.
fn split_or_pair(
    primary: &str,
    secondary: Option<&str>,
    path: &str,
    v6: bool,
) -> R<(String, String)> {
    let whole = if v6 { 125 } else { 29 };
    let net = primary
        .parse::<IpNet>()
        .ok()
        .filter(|n| n.prefix_len() == whole && n.trunc() == *n && n.network().is_ipv6() == v6);
    if let Some(net) = net
        && secondary.is_none_or(|s| s == primary)
    {
        let halves: Vec<IpNet> = net
            .subnets(whole + 1)
            .map_err(|_| {
                bad(
                    "InvalidPeerAddressPrefix",
                    format!("cannot split '{primary}'"),
                )
            })?
            .collect();
        if let [a, b] = halves.as_slice() {
            return Ok((a.to_string(), b.to_string()));
        }
    }
    let secondary = secondary.filter(|s| !s.is_empty()).ok_or_else(|| {
        bad(
            "InvalidRequestFormat",
            format!(
                "'{path}.secondaryPeerAddressPrefix' is required (or give one /{whole} as the primary prefix to split in two)."
            ),
        )
    })?;
    Ok((primary.to_owned(), secondary.to_owned()))
}

fn state(body: &Value, path: &str) -> R<String> {
    match opt_str(body, path)? {
        None => Ok("Enabled".into()),
        Some(s) => canonical(s, &["Enabled", "Disabled"])
            .map(str::to_owned)
            .ok_or_else(|| {
                bad(
                    "InvalidRequestFormat",
                    format!("'{path}' must be Enabled or Disabled."),
                )
            }),
    }
}

/// Whether a prefix may be configured on Microsoft peering: anything but private, shared
/// (100.64/10), loopback, link-local, unspecified, multicast and reserved space. The
/// documentation ranges (192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32) are
/// accepted, as Azure does at configuration time: they are what every example uses, and
/// whether a customer owns a prefix is the validation step's question, not this one.
pub(crate) fn is_public(net: &IpNet) -> bool {
    match net.network() {
        IpAddr::V4(a) => {
            !(a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_broadcast()
                || a.octets()[0] >= 224
                || (a.octets()[0] == 100 && (64..128).contains(&a.octets()[1])))
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            !(a.is_loopback()
                || a.is_unspecified()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xff00) == 0xff00)
        }
    }
}

fn microsoft_config(body: &Value, path: &str, v6: bool) -> R<Option<MicrosoftConfig>> {
    // `{}` is how az sends "no change" (`peering update --ip-version ipv6`): read as absent.
    let Some(cfg) = field(body, path).filter(|c| c.as_object().is_none_or(|o| !o.is_empty()))
    else {
        return Ok(None);
    };
    let list = |key: &str| -> R<Vec<String>> {
        match field(cfg, key) {
            None => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str().map(str::to_owned).ok_or_else(|| {
                        bad(
                            "InvalidRequestFormat",
                            format!("'{path}.{key}' must list strings."),
                        )
                    })
                })
                .collect(),
            Some(_) => Err(bad(
                "InvalidRequestFormat",
                format!("'{path}.{key}' must be an array."),
            )),
        }
    };
    let prefixes = list("advertisedPublicPrefixes")?;
    if prefixes.is_empty() {
        return Err(bad(
            "AdvertisedPublicPrefixesRequired",
            format!(
                "'{path}.advertisedPublicPrefixes' must list the public prefixes you will advertise."
            ),
        ));
    }
    if prefixes.len() > 200 {
        return Err(bad(
            "TooManyAdvertisedPublicPrefixes",
            "At most 200 advertised public prefixes per peering.",
        ));
    }
    for p in &prefixes {
        let net: IpNet = p.parse().map_err(|_| {
            bad(
                "InvalidAdvertisedPublicPrefix",
                format!("'{p}' in '{path}.advertisedPublicPrefixes' is not a prefix."),
            )
        })?;
        if net.trunc() != net {
            return Err(bad(
                "InvalidAdvertisedPublicPrefix",
                format!("'{p}' has host bits set."),
            ));
        }
        if matches!(net, IpNet::V6(_)) != v6 {
            return Err(bad(
                "InvalidAdvertisedPublicPrefix",
                format!("'{p}' is of the wrong address family for '{path}'."),
            ));
        }
        if !is_public(&net) {
            return Err(bad(
                "InvalidAdvertisedPublicPrefix",
                format!(
                    "'{p}' is not public address space; Microsoft peering takes public prefixes you own."
                ),
            ));
        }
    }
    let customer_asn = opt_u64(cfg, "customerASN")?
        .map(|a| {
            u32::try_from(a)
                .map_err(|_| bad("InvalidCustomerAsn", "'customerASN' must fit in 32 bits."))
        })
        .transpose()?
        .filter(|a| *a != 0);
    Ok(Some(MicrosoftConfig {
        advertised_public_prefixes: prefixes,
        advertised_communities: list("advertisedCommunities")?,
        customer_asn,
        routing_registry_name: opt_str(cfg, "routingRegistryName")?.map(str::to_owned),
    }))
}

/// Validates a peering PUT against its circuit's other peerings. `name` is the path name;
/// `existing` the peering it replaces: what a PUT leaves out of the IPv4 pair and the
/// Microsoft configuration is kept from it (az's `peering update --ip-version ipv6` sends
/// neither).
pub fn input(
    body: &Value,
    name: &str,
    others: &[Peering],
    modified_by: &str,
    existing: Option<&Peering>,
) -> R<Peering> {
    let by_name = canonical(name, &PEERING_TYPES).ok_or_else(|| {
        if name.eq_ignore_ascii_case("AzurePublicPeering") {
            bad("AzurePublicPeeringRetired", "Azure public peering is retired; use MicrosoftPeering.")
        } else {
            bad(
                "InvalidPeeringName",
                format!("A peering is named after its type: 'AzurePrivatePeering' or 'MicrosoftPeering', not '{name}'."),
            )
        }
    })?;
    if let Some(t) = opt_str(body, "properties.peeringType")?
        && !t.eq_ignore_ascii_case(by_name)
    {
        return Err(bad(
            "PeeringTypeMismatch",
            format!("peeringType '{t}' must equal the peering's name '{by_name}'."),
        ));
    }
    let microsoft = by_name == "MicrosoftPeering";
    let asn = opt_u64(body, "properties.peerASN")?.ok_or_else(|| {
        bad(
            "InvalidPeerAsn",
            "'properties.peerASN' is required (1-4294967295).",
        )
    })?;
    if asn > u64::from(u32::MAX) {
        return Err(bad(
            "InvalidPeerAsn",
            format!("peerASN {asn} is outside 1-4294967295."),
        ));
    }
    if let Some(why) = reserved_asn(asn) {
        return Err(bad(
            "ReservedPeerAsn",
            format!("peerASN {asn} cannot be used: {why}."),
        ));
    }
    let vlan = opt_u64(body, "properties.vlanId")?
        .ok_or_else(|| bad("InvalidVlanId", "'properties.vlanId' is required (1-4094)."))?;
    if !(1..=4094).contains(&vlan) {
        return Err(bad(
            "InvalidVlanId",
            format!("vlanId {vlan} is outside 1-4094."),
        ));
    }
    let vlan = vlan as u16;
    if let Some(other) = others
        .iter()
        .find(|p| p.vlan_id == vlan && !p.name.eq_ignore_ascii_case(by_name))
    {
        return Err(bad(
            "VlanIdInUse",
            format!(
                "vlanId {vlan} is already used by {} on this circuit; each peering needs its own VLAN.",
                other.name
            ),
        ));
    }
    let kept = existing.filter(|_| {
        field(body, "properties.primaryPeerAddressPrefix").is_none()
            && field(body, "properties.secondaryPeerAddressPrefix").is_none()
    });
    let (primary, secondary) = match kept {
        Some(old) => (old.primary_prefix.clone(), old.secondary_prefix.clone()),
        None => split_or_pair(
            req_str(body, "properties.primaryPeerAddressPrefix")?,
            opt_str(body, "properties.secondaryPeerAddressPrefix")?,
            "properties",
            false,
        )?,
    };
    let primary = v4_subnet("properties.primaryPeerAddressPrefix", &primary)?;
    let secondary = v4_subnet("properties.secondaryPeerAddressPrefix", &secondary)?;
    if primary == secondary {
        return Err(bad(
            "PeerAddressPrefixesOverlap",
            "primaryPeerAddressPrefix and secondaryPeerAddressPrefix must be two different /30s.",
        ));
    }
    if microsoft && !(is_public(&IpNet::V4(primary)) && is_public(&IpNet::V4(secondary))) {
        return Err(bad(
            "InvalidPeerAddressPrefix",
            "Microsoft peering uses public /30s that you own.",
        ));
    }
    let shared_key = match opt_str(body, "properties.sharedKey")? {
        None | Some("") => None,
        Some(k) if k.len() > 25 || !k.chars().all(|c| c.is_ascii_graphic()) => {
            return Err(bad(
                "InvalidSharedKey",
                "sharedKey (the BGP MD5 key) must be 1-25 printable ASCII characters without spaces.",
            ));
        }
        Some(k) => Some(k.to_owned()),
    };
    let ms = match microsoft_config(body, "properties.microsoftPeeringConfig", false)? {
        None if microsoft => existing.and_then(|p| p.microsoft.clone()),
        ms => ms,
    };
    if microsoft && ms.is_none() {
        return Err(bad(
            "MicrosoftPeeringConfigRequired",
            "MicrosoftPeering needs 'properties.microsoftPeeringConfig' with advertisedPublicPrefixes.",
        ));
    }
    if !microsoft && ms.is_some() {
        return Err(bad(
            "InvalidRequestFormat",
            "'microsoftPeeringConfig' applies to MicrosoftPeering only.",
        ));
    }
    let ipv6 = match field(body, "properties.ipv6PeeringConfig") {
        None => None,
        Some(_) => {
            let p = "properties.ipv6PeeringConfig";
            let (primary, secondary) = split_or_pair(
                req_str(body, &format!("{p}.primaryPeerAddressPrefix"))?,
                opt_str(body, &format!("{p}.secondaryPeerAddressPrefix"))?,
                p,
                true,
            )?;
            let primary = v6_subnet(&format!("{p}.primaryPeerAddressPrefix"), &primary)?;
            let secondary = v6_subnet(&format!("{p}.secondaryPeerAddressPrefix"), &secondary)?;
            if primary == secondary {
                return Err(bad(
                    "PeerAddressPrefixesOverlap",
                    "The IPv6 primary and secondary /126s must differ.",
                ));
            }
            let ms6 = match microsoft_config(body, &format!("{p}.microsoftPeeringConfig"), true)? {
                None if microsoft => existing
                    .and_then(|p| p.ipv6.as_ref())
                    .and_then(|v| v.microsoft.clone()),
                ms6 => ms6,
            };
            if microsoft && ms6.is_none() {
                return Err(bad(
                    "MicrosoftPeeringConfigRequired",
                    "IPv6 Microsoft peering needs 'ipv6PeeringConfig.microsoftPeeringConfig' with advertisedPublicPrefixes.",
                ));
            }
            Some(PeeringConfigV6 {
                primary_prefix: primary.to_string(),
                secondary_prefix: secondary.to_string(),
                state: state(body, &format!("{p}.state"))?,
                microsoft: ms6,
            })
        }
    };
    Ok(Peering {
        name: by_name.to_owned(),
        peering_type: by_name.to_owned(),
        state: state(body, "properties.state")?,
        peer_asn: asn as u32,
        primary_prefix: primary.to_string(),
        secondary_prefix: secondary.to_string(),
        shared_key,
        vlan_id: vlan,
        microsoft: ms,
        ipv6,
        last_modified_by: modified_by.to_owned(),
        etag: crate::model::new_etag(),
        // Checked against the store by `write`.
        route_filter: validate::opt_str(body, "properties.routeFilter.id")?.map(str::to_owned),
    })
}
