//! `Microsoft.Network/publicIPAddresses`: the public address a gateway's IP configuration
//! names (what `az network public-ip create` and Terraform's `azurerm_public_ip` write).
//!
//! Rules, as Azure now applies them to new addresses: SKU `Standard` (Basic is retired),
//! tier `Regional`, allocation `Static` (`StandardSkuPublicIPAddressesMustBeStatic`), IPv4,
//! zones among 1-3 and fixed once set, idle timeout 4-30 minutes (default 4). The address
//! is drawn from the operator's pool (`causeway serve --public-ip-pool`), the lowest free
//! one, and kept for the resource's life; the store's uniques hold one owner per address,
//! so two concurrent creates can never share one. An address a gateway uses shows that
//! gateway's IP configuration and cannot be deleted (`InUsePublicIpAddressCannotBeDeleted`).
//! Nothing here reaches the edges: the address is a label on the gateway.

use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;

use api::arm::public_ip as pip;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::gateways::Gateway;
use super::{Stored, list, load, put, rg, sub};
use crate::arm::id::{self, Ref};
use crate::arm::lro::Operation;
use crate::arm::{ArmError, Body, Outcome, R, Verb, region};
use crate::model::new_etag;
use crate::service::{Call, Route, Service};
use crate::store::{Read, Tx};
use crate::validate;

pub const KIND: &str = "publicIPAddresses";
const SCHEMA: Option<&str> = Some("PublicIPAddress");
const LIST: Option<&str> = Some("PublicIPAddressListResult");
/// The uniques scope of allocated addresses.
const ADDRESS: &str = "publicIpAddress";
/// The lab's pool when the operator names none (TEST-NET-2, RFC 5737).
pub const DEFAULT_POOL: &str = "198.51.100.0/24";

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(sub!("/publicIPAddresses")).op(
            Verb::Get,
            "List the public IP addresses of a subscription",
            None,
            &[(200, LIST)],
            list_ips,
        ),
        Route::new(rg!("/publicIPAddresses")).op(
            Verb::Get,
            "List the public IP addresses of a resource group",
            None,
            &[(200, LIST)],
            list_ips,
        ),
        Route::new(rg!("/publicIPAddresses/{publicIpAddressName}"))
            .op(
                Verb::Get,
                "Get a public IP address",
                None,
                &[(200, SCHEMA)],
                get_ip,
            )
            .op(
                Verb::Put,
                "Create or update a public IP address",
                SCHEMA,
                &[(200, SCHEMA), (201, SCHEMA)],
                put_ip,
            )
            .op(
                Verb::Patch,
                "Update a public IP address's tags",
                Some("TagsObject"),
                &[(200, SCHEMA)],
                patch_ip,
            )
            .op(
                Verb::Delete,
                "Delete a public IP address",
                None,
                &[(200, None), (202, None), (204, None)],
                delete_ip,
            ),
    ]
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicIp {
    pub sub: String,
    pub rg: String,
    pub name: String,
    pub location: String,
    pub tags: BTreeMap<String, String>,
    pub zones: Vec<String>,
    pub idle_timeout_minutes: u32,
    pub address: Ipv4Addr,
    pub resource_guid: String,
    pub etag: String,
}

impl Stored for PublicIp {
    const KIND: &'static str = KIND;
    fn id(&self) -> String {
        Ref::new(&self.sub, &self.rg, &self.name).id(KIND)
    }
    fn sub(&self) -> &str {
        &self.sub
    }
    fn rg(&self) -> &str {
        &self.rg
    }
    fn uniques(&self) -> Vec<(String, String)> {
        vec![(ADDRESS.to_owned(), self.address.to_string())]
    }
}

fn bad(code: &'static str, message: impl Into<String>) -> ArmError {
    ArmError::bad_request(code, message)
}

fn visible(st: &impl Read, call: &Call) -> R<PublicIp> {
    super::visible(st, call, "publicIpAddressName")
}

/// The gateway whose IP configuration uses the address, if one does.
fn user(st: &impl Read, ip: &PublicIp) -> R<Option<Gateway>> {
    Ok(super::referrers::<Gateway>(st, "publicIp", &ip.id())?
        .into_iter()
        .next())
}

/// A public IP address in ARM's shape.
pub fn render(ip: &PublicIp, gateway: Option<&Gateway>) -> Body {
    super::to_body(&pip::PublicIPAddress {
        id: ip.id(),
        name: ip.name.clone(),
        kind: pip::PublicIPAddress::TYPE.into(),
        location: ip.location.clone(),
        tags: ip.tags.clone(),
        etag: ip.etag.clone(),
        sku: pip::PublicIPAddressSku {
            name: "Standard".into(),
            tier: "Regional".into(),
        },
        zones: ip.zones.clone(),
        properties: pip::PublicIPAddressPropertiesFormat {
            ip_address: Some(ip.address.to_string()),
            idle_timeout_in_minutes: ip.idle_timeout_minutes,
            ip_configuration: gateway.map(|g| api::arm::SubResource {
                id: format!("{}/ipConfigurations/{}", g.id(), g.ip_config_name),
            }),
            ddos_settings: Some(pip::DdosSettings {
                protection_mode: "VirtualNetworkInherited".into(),
            }),
            resource_guid: ip.resource_guid.clone(),
            ..Default::default()
        },
    })
}

fn render_loaded(st: &impl Read, ip: &PublicIp) -> R<Body> {
    Ok(render(ip, user(st, ip)?.as_ref()))
}

// ===== validation =====

/// What a PUT may set.
struct IpInput {
    location: String,
    tags: BTreeMap<String, String>,
    zones: Vec<String>,
    idle_timeout_minutes: u32,
}

fn ip_input(body: &Value, id: &str) -> R<IpInput> {
    let location = validate::req_str(body, "location")?.to_owned();
    region::validate(&location, "location")?;
    let tags = validate::tags(body)?;
    match validate::opt_str(body, "sku.name")? {
        None => {}
        Some(s) if s.eq_ignore_ascii_case("Standard") => {}
        Some(s) if s.eq_ignore_ascii_case("Basic") => {
            return Err(bad(
                "BasicSkuPublicIpAddressNotSupported",
                "Basic SKU public IP addresses are retired and new ones cannot be created; use sku.name Standard.",
            ));
        }
        Some(s) => {
            return Err(bad(
                "InvalidRequestFormat",
                format!("'sku.name' = '{s}': use Standard."),
            ));
        }
    }
    if let Some(t) = validate::opt_str(body, "sku.tier")?
        && !t.eq_ignore_ascii_case("Regional")
    {
        return Err(bad(
            "InvalidRequestFormat",
            format!(
                "'sku.tier' = '{t}': this deployment offers Regional public IP addresses only."
            ),
        ));
    }
    match validate::opt_str(body, "properties.publicIPAllocationMethod")? {
        None => {}
        Some(m) if m.eq_ignore_ascii_case("Static") => {}
        Some(m) if m.eq_ignore_ascii_case("Dynamic") => {
            return Err(bad(
                "StandardSkuPublicIPAddressesMustBeStatic",
                format!("Standard sku publicIp {id} must have AllocationMethod set to Static."),
            ));
        }
        Some(m) => {
            return Err(bad(
                "InvalidRequestFormat",
                format!("'properties.publicIPAllocationMethod' = '{m}': use Static."),
            ));
        }
    }
    if let Some(v) = validate::opt_str(body, "properties.publicIPAddressVersion")?
        && !v.eq_ignore_ascii_case("IPv4")
    {
        return Err(bad(
            "InvalidRequestFormat",
            format!(
                "'properties.publicIPAddressVersion' = '{v}': this deployment's pool holds IPv4 addresses only."
            ),
        ));
    }
    for (path, what) in [
        ("properties.publicIPPrefix.id", "Public IP prefixes"),
        ("properties.dnsSettings.domainNameLabel", "DNS name labels"),
    ] {
        if validate::opt_str(body, path)?.is_some() {
            return Err(bad(
                "InvalidRequestFormat",
                format!("'{path}': {what} are not offered by this deployment."),
            ));
        }
    }
    let idle = validate::opt_u64(body, "properties.idleTimeoutInMinutes")?.unwrap_or(4);
    if !(4..=30).contains(&idle) {
        return Err(bad(
            "PublicIPIdleTimeoutIsOutOfRange",
            format!("'properties.idleTimeoutInMinutes' = {idle}: it must be 4-30 minutes."),
        ));
    }
    let zones = match validate::field(body, "zones") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => {
            let mut out: Vec<String> = Vec::new();
            for z in a {
                let z = z
                    .as_str()
                    .filter(|z| matches!(*z, "1" | "2" | "3"))
                    .ok_or_else(|| {
                        bad(
                            "InvalidRequestFormat",
                            format!("'zones' lists {z}: zones are \"1\", \"2\" and \"3\"."),
                        )
                    })?;
                if !out.iter().any(|o| o == z) {
                    out.push(z.to_owned());
                }
            }
            out.sort();
            out
        }
        Some(_) => {
            return Err(bad("InvalidRequestFormat", "'zones' must be an array."));
        }
    };
    Ok(IpInput {
        location,
        tags,
        zones,
        idle_timeout_minutes: idle as u32,
    })
}

/// The lowest address of `pool` no resource holds (network and broadcast excluded on
/// prefixes up to /30).
fn allocate(tx: &Tx<'_>, pool: ipnet::Ipv4Net) -> R<Ipv4Addr> {
    let taken: HashSet<Ipv4Addr> = tx
        .unique_values(ADDRESS)?
        .iter()
        .filter_map(|v| v.parse().ok())
        .collect();
    pool.hosts().find(|a| !taken.contains(a)).ok_or_else(|| {
        ArmError::bad_request(
            "PublicIPCountLimitReached",
            format!(
                "The public IP address pool {pool} of this deployment has no free address; delete an unused public IP address or ask the operator to widen --public-ip-pool."
            ),
        )
    })
}

/// The public IP address a gateway's IP configuration names: it must exist (where the
/// caller may see it) and not serve another gateway. Returns its id as stored.
pub fn for_gateway(tx: &Tx<'_>, call: &Call, given: &str, gateway_id: &str) -> R<String> {
    let unknown = || {
        bad(
            "InvalidResourceReference",
            format!(
                "Resource {given} referenced by resource {gateway_id} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region."
            ),
        )
    };
    let (r, _) = id::parse(given, KIND, 0).ok_or_else(unknown)?;
    if !call.owns(&r.sub) {
        return Err(unknown());
    }
    let ip: PublicIp = load(tx, &r.id(KIND))?.ok_or_else(unknown)?;
    if let Some(other) = user(tx, &ip)?.filter(|g| !g.id().eq_ignore_ascii_case(gateway_id)) {
        return Err(bad(
            "PublicIPAddressInUse",
            format!(
                "Public IP address {} is already allocated to resource {}/ipConfigurations/{}.",
                ip.id(),
                other.id(),
                other.ip_config_name
            ),
        ));
    }
    Ok(ip.id())
}

// ===== handlers =====

fn list_ips(svc: &Service, call: &Call) -> R<Outcome> {
    let p = &call.params;
    if !call.owns(p.sub()) {
        return Ok(svc.page_rows(call, Vec::new()));
    }
    let rg = p.has("resourceGroupName").then(|| p.rg());
    let rows = svc.read(|st| -> R<Vec<(i64, Body)>> {
        list::<PublicIp>(st, Some(p.sub()), rg, call.page.after, call.page.size + 1)?
            .into_iter()
            .map(|(pos, ip)| Ok((pos, render_loaded(st, &ip)?)))
            .collect()
    })?;
    Ok(svc.page_rows(call, rows))
}

fn get_ip(svc: &Service, call: &Call) -> R<Outcome> {
    svc.read(|st| Ok(Outcome::Ok(render_loaded(st, &visible(st, call)?)?)))
}

fn put_ip(svc: &Service, call: &Call) -> R<Outcome> {
    let p = &call.params;
    let (sub, rg, name) = (p.sub(), p.rg(), p.get("publicIpAddressName"));
    call.writable(sub)?;
    validate::resource_name(KIND, name)?;
    validate::resource_name("resourceGroups", rg)?;
    let id = Ref::new(sub, rg, name).id(KIND);
    let input = ip_input(call.body()?, &id)?;
    let pool = svc.public_ip_pool;
    let (ip, gateway, created, op) = svc.write(|tx| {
        let existing: Option<PublicIp> = load(tx, &id)?;
        call.pre
            .check(existing.as_ref().map(|ip| ip.etag.as_str()))?;
        if let Some(old) = &existing {
            if !region::same(&old.location, &input.location) {
                return Err(bad(
                    "CannotChangeLocation",
                    format!(
                        "The public IP address's location is '{}' and cannot change.",
                        old.location
                    ),
                ));
            }
            if old.zones != input.zones {
                return Err(bad(
                    "ZonesCannotBeChanged",
                    format!(
                        "The zones of public IP address {id} are [{}] and cannot change.",
                        old.zones.join(", ")
                    ),
                ));
            }
        }
        let address = match &existing {
            Some(old) => old.address,
            None => allocate(tx, pool)?,
        };
        let ip = PublicIp {
            sub: sub.to_owned(),
            rg: rg.to_owned(),
            name: existing
                .as_ref()
                .map_or_else(|| name.to_owned(), |o| o.name.clone()),
            location: existing
                .as_ref()
                .map_or_else(|| input.location.clone(), |o| o.location.clone()),
            tags: input.tags.clone(),
            zones: input.zones.clone(),
            idle_timeout_minutes: input.idle_timeout_minutes,
            address,
            resource_guid: existing.as_ref().map_or_else(
                || uuid::Uuid::new_v4().to_string(),
                |o| o.resource_guid.clone(),
            ),
            etag: new_etag(),
        };
        put(tx, &ip)?;
        let gateway = user(tx, &ip)?;
        let op = Operation::succeeded(sub, Some(ip.id()), None);
        tx.put_operation(&op)?;
        Ok((ip, gateway, existing.is_none(), op))
    })?;
    Ok(Outcome::Written {
        created,
        body: render(&ip, gateway.as_ref()),
        lro: Some(svc.lro(call, &op, &ip.location)),
    })
}

fn patch_ip(svc: &Service, call: &Call) -> R<Outcome> {
    call.writable(call.params.sub())?;
    let tags = validate::tags(call.body()?)?;
    let (ip, g) = svc.write(|tx| {
        let mut ip = visible(tx, call)?;
        call.pre.check(Some(&ip.etag))?;
        ip.tags = tags;
        ip.etag = new_etag();
        put(tx, &ip)?;
        let g = user(tx, &ip)?;
        Ok((ip, g))
    })?;
    Ok(Outcome::Ok(render(&ip, g.as_ref())))
}

fn delete_ip(svc: &Service, call: &Call) -> R<Outcome> {
    if !call.owns(call.params.sub()) {
        return Ok(Outcome::NoContent);
    }
    let done = svc.write(|tx| {
        let Ok(ip) = visible(tx, call) else {
            return Ok(None);
        };
        call.pre.check(Some(&ip.etag))?;
        if let Some(g) = user(tx, &ip)? {
            return Err(bad(
                "InUsePublicIpAddressCannotBeDeleted",
                format!(
                    "Public IP address {} can not be deleted since it is still allocated to resource {}/ipConfigurations/{}. In order to delete the public IP, disassociate it from the gateway (or delete the gateway) first.",
                    ip.id(),
                    g.id(),
                    g.ip_config_name
                ),
            ));
        }
        tx.delete(&ip.id())?;
        let op = Operation::succeeded(&ip.sub, None, None);
        tx.put_operation(&op)?;
        Ok(Some((op, ip.location)))
    })?;
    Ok(match done {
        Some((op, location)) => Outcome::Accepted(svc.lro(call, &op, &location)),
        None => Outcome::NoContent,
    })
}
