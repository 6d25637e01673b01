//! Synchronous validation of request bodies: every rule answers 400 with an ARM code on the
//! request itself, before anything is stored.

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde_json::Value;

use crate::arm::ArmError;
use crate::catalog::Catalog;
use crate::model::{AZURE_ASN, MicrosoftConfig, Peering, PeeringConfigV6, ProviderProperties, Sku};

type R<T> = Result<T, ArmError>;

fn bad(code: &'static str, message: impl Into<String>) -> ArmError {
    ArmError::bad_request(code, message)
}

/// The JSON object at `path` (dot-separated), if present and not null.
pub fn field<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for part in path.split('.') {
        cur = cur.get(part)?;
    }
    (!cur.is_null()).then_some(cur)
}

pub fn opt_str<'a>(v: &'a Value, path: &str) -> R<Option<&'a str>> {
    match field(v, path) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(
            "InvalidRequestFormat",
            format!("'{path}' must be a string."),
        )),
    }
}

pub fn req_str<'a>(v: &'a Value, path: &str) -> R<&'a str> {
    opt_str(v, path)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("InvalidRequestFormat", format!("'{path}' is required.")))
}

/// An integer field; numbers given as strings are accepted as clients sometimes send them.
pub fn opt_u64(v: &Value, path: &str) -> R<Option<u64>> {
    match field(v, path) {
        None => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| {
            bad(
                "InvalidRequestFormat",
                format!("'{path}' must be a non-negative integer."),
            )
        }),
        Some(Value::String(s)) => s.parse().map(Some).map_err(|_| {
            bad(
                "InvalidRequestFormat",
                format!("'{path}' must be an integer."),
            )
        }),
        Some(_) => Err(bad(
            "InvalidRequestFormat",
            format!("'{path}' must be an integer."),
        )),
    }
}

pub fn opt_bool(v: &Value, path: &str) -> R<Option<bool>> {
    match field(v, path) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(bad(
            "InvalidRequestFormat",
            format!("'{path}' must be true or false."),
        )),
    }
}

pub fn tags(v: &Value) -> R<std::collections::BTreeMap<String, String>> {
    let mut out = std::collections::BTreeMap::new();
    match field(v, "tags") {
        None => {}
        Some(Value::Object(m)) => {
            if m.len() > 50 {
                return Err(bad(
                    "InvalidTagCount",
                    "A resource can have at most 50 tags.",
                ));
            }
            for (k, val) in m {
                let Value::String(s) = val else {
                    return Err(bad(
                        "InvalidRequestFormat",
                        format!("Tag '{k}' must have a string value."),
                    ));
                };
                if k.is_empty() || k.len() > 512 || s.len() > 256 {
                    return Err(bad(
                        "InvalidTagNameOrValue",
                        format!("Tag '{k}': names are 1-512 characters and values at most 256."),
                    ));
                }
                out.insert(k.clone(), s.clone());
            }
        }
        Some(_) => return Err(bad("InvalidRequestFormat", "'tags' must be an object.")),
    }
    Ok(out)
}

/// Resource names: 1-80 characters, letters, digits, '-', '_' and '.', not ending in '.'.
pub fn resource_name(kind: &str, name: &str) -> R<()> {
    let ok = !name.is_empty()
        && name.len() <= 80
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && !name.ends_with('.');
    if ok {
        Ok(())
    } else {
        Err(bad(
            "InvalidResourceName",
            format!(
                "Resource name '{name}' is invalid for {kind}: use 1-80 letters, digits, '-', '_' or '.', \
                 starting with a letter or digit and not ending with '.'."
            ),
        ))
    }
}

// ===== circuits =====

pub const SKU_TIERS: [&str; 3] = ["Local", "Standard", "Premium"];
pub const SKU_FAMILIES: [&str; 2] = ["MeteredData", "UnlimitedData"];

fn canonical<'a>(value: &str, allowed: &[&'a str]) -> Option<&'a str> {
    allowed
        .iter()
        .copied()
        .find(|a| a.eq_ignore_ascii_case(value))
}

/// The validated parts of a circuit PUT.
#[derive(Debug)]
pub struct CircuitInput {
    pub location: String,
    pub tags: std::collections::BTreeMap<String, String>,
    pub sku: Sku,
    pub provider: ProviderProperties,
    pub allow_classic_operations: bool,
    pub global_reach_enabled: bool,
}

pub fn circuit(body: &Value, catalog: &Catalog) -> R<CircuitInput> {
    let location = req_str(body, "location")?.to_owned();
    let tier_in = opt_str(body, "sku.tier")?;
    let family_in = opt_str(body, "sku.family")?;
    let name_in = opt_str(body, "sku.name")?;
    // Terraform and the SDKs send tier and family; some templates send only the name.
    let (tier_in, family_in) = match (tier_in, family_in, name_in) {
        (Some(t), Some(f), _) => (t, f),
        (None, None, Some(n)) => n.split_once('_').ok_or_else(|| {
            bad(
                "InvalidSku",
                format!("SKU name '{n}' must be <tier>_<family>."),
            )
        })?,
        _ => {
            return Err(bad(
                "InvalidSku",
                "'sku.tier' and 'sku.family' are required.",
            ));
        }
    };
    let tier = canonical(tier_in, &SKU_TIERS).ok_or_else(|| {
        bad(
            "InvalidSku",
            format!("SKU tier '{tier_in}' is not offered: use Local, Standard or Premium."),
        )
    })?;
    let family = canonical(family_in, &SKU_FAMILIES).ok_or_else(|| {
        bad(
            "InvalidSku",
            format!("SKU family '{family_in}' is not offered: use MeteredData or UnlimitedData."),
        )
    })?;
    let sku = Sku {
        tier: tier.into(),
        family: family.into(),
    };
    if let Some(n) = name_in
        && !n.eq_ignore_ascii_case(&sku.name())
    {
        return Err(bad(
            "InvalidSku",
            format!(
                "SKU name '{n}' does not match tier and family ('{}').",
                sku.name()
            ),
        ));
    }
    if field(body, "properties.expressRoutePort").is_some() {
        return Err(bad(
            "ExpressRouteDirectNotSupported",
            "Circuits on ExpressRoute Direct ports are not offered by this deployment; \
             use serviceProviderProperties to order a circuit through a provider.",
        ));
    }
    let provider_name = req_str(
        body,
        "properties.serviceProviderProperties.serviceProviderName",
    )?;
    let peering_location = req_str(body, "properties.serviceProviderProperties.peeringLocation")?;
    let bandwidth = opt_u64(body, "properties.serviceProviderProperties.bandwidthInMbps")?
        .ok_or_else(|| {
            bad(
                "InvalidRequestFormat",
                "'properties.serviceProviderProperties.bandwidthInMbps' is required.",
            )
        })?;
    let provider = catalog.provider(provider_name).ok_or_else(|| {
        bad(
            "InvalidServiceProviderName",
            format!(
                "Service provider '{provider_name}' is not in this deployment's catalogue (see expressRouteServiceProviders): {}.",
                catalog.providers.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
            ),
        )
    })?;
    let loc = provider
        .peering_locations
        .iter()
        .find(|l| l.eq_ignore_ascii_case(peering_location))
        .ok_or_else(|| {
            bad(
                "InvalidPeeringLocation",
                format!(
                    "Provider '{}' does not serve peering location '{peering_location}'; it serves: {}.",
                    provider.name,
                    provider.peering_locations.join(", ")
                ),
            )
        })?;
    let bandwidth = u32::try_from(bandwidth)
        .ok()
        .filter(|b| provider.bandwidths_mbps.contains(b))
        .ok_or_else(|| {
            bad(
                "InvalidBandwidth",
                format!(
                    "Provider '{}' does not offer {bandwidth} Mbps; offered: {} Mbps.",
                    provider.name,
                    provider
                        .bandwidths_mbps
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
    if sku.tier == "Local" {
        if !catalog.location(loc).is_some_and(|l| l.local) {
            return Err(bad(
                "LocalSkuNotAvailable",
                format!(
                    "The Local SKU is not sold at peering location '{loc}' (no Azure region in its metro)."
                ),
            ));
        }
        if sku.family != "UnlimitedData" {
            return Err(bad(
                "InvalidSku",
                "The Local SKU is sold with the UnlimitedData family only.",
            ));
        }
    }
    Ok(CircuitInput {
        location,
        tags: tags(body)?,
        sku,
        provider: ProviderProperties {
            service_provider_name: provider.name.clone(),
            peering_location: loc.clone(),
            bandwidth_in_mbps: bandwidth,
        },
        allow_classic_operations: opt_bool(body, "properties.allowClassicOperations")?
            .unwrap_or(false),
        global_reach_enabled: opt_bool(body, "properties.globalReachEnabled")?.unwrap_or(false),
    })
}

// ===== peerings =====

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

fn v4_subnet(path: &str, s: &str) -> R<Ipv4Net> {
    match link_subnet(path, s, false)? {
        IpNet::V4(n) => Ok(n),
        IpNet::V6(_) => Err(bad(
            "InvalidPeerAddressPrefix",
            format!("'{path}' must be IPv4."),
        )),
    }
}

fn v6_subnet(path: &str, s: &str) -> R<Ipv6Net> {
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

fn is_public(net: &IpNet) -> bool {
    match net.network() {
        IpAddr::V4(a) => {
            !(a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_documentation()
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
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || (s[0] & 0xff00) == 0xff00)
        }
    }
}

fn microsoft_config(body: &Value, path: &str, v6: bool) -> R<Option<MicrosoftConfig>> {
    let Some(cfg) = field(body, path) else {
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

/// Validates a peering PUT against its circuit's other peerings. `name` is the path name.
pub fn peering(body: &Value, name: &str, others: &[Peering], modified_by: &str) -> R<Peering> {
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
    let (primary, secondary) = split_or_pair(
        req_str(body, "properties.primaryPeerAddressPrefix")?,
        opt_str(body, "properties.secondaryPeerAddressPrefix")?,
        "properties",
        false,
    )?;
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
    let ms = microsoft_config(body, "properties.microsoftPeeringConfig", false)?;
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
            let ms6 = microsoft_config(body, &format!("{p}.microsoftPeeringConfig"), true)?;
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
    })
}

#[cfg(test)]
mod tests;
