//! `Microsoft.Network/expressRouteCircuits`: the customer's circuit.
//!
//! Rules: the SKU and the provider's offer are validated against the catalogue ([`input`]); an update may raise the bandwidth but not lower it, move
//! MeteredData to UnlimitedData but not back, and never change provider, peering location,
//! region or the Local tier; a circuit the provider still has provisioned cannot be deleted,
//! nor one that virtual networks are connected to. Every circuit gets a fresh service key,
//! unique in the store. For the edges: a circuit is its own routing domain on both edges of
//! its peering location, so every write touches that circuit.

use std::collections::BTreeMap;

use api::arm::circuit as arm;
use serde_json::Value;

use super::{Stored, list, load, put, rg, sub};
use crate::arm::lro::Operation;
use crate::arm::{Body, Outcome, R, Verb, region};
use crate::catalog::Catalog;
use crate::model::{Circuit, cross_connection_rg};
use crate::model::{ProviderProperties, Sku};
use crate::service::{Call, Route, Service};
use crate::store::Read;
use crate::validate::{self, canonical, field, opt_bool, opt_str, opt_u64, req_str, tags};

fn bad(code: &'static str, message: impl Into<String>) -> crate::arm::ArmError {
    crate::arm::ArmError::bad_request(code, message)
}

pub const KIND: &str = "expressRouteCircuits";
const SCHEMA: Option<&str> = Some("ExpressRouteCircuit");
const LIST: Option<&str> = Some("ExpressRouteCircuitListResult");

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(sub!("/expressRouteCircuits")).op(
            Verb::Get,
            "List the circuits of a subscription",
            None,
            &[(200, LIST)],
            list_circuits,
        ),
        Route::new(rg!("/expressRouteCircuits")).op(
            Verb::Get,
            "List the circuits of a resource group",
            None,
            &[(200, LIST)],
            list_circuits,
        ),
        Route::new(rg!("/expressRouteCircuits/{circuitName}"))
            .op(
                Verb::Get,
                "Get a circuit",
                None,
                &[(200, SCHEMA)],
                get_circuit,
            )
            .op(
                Verb::Put,
                "Create or update a circuit",
                SCHEMA,
                &[(200, SCHEMA), (201, SCHEMA)],
                put_circuit,
            )
            .op(
                Verb::Patch,
                "Update a circuit's tags",
                Some("TagsObject"),
                &[(200, SCHEMA)],
                patch_circuit,
            )
            .op(
                Verb::Delete,
                "Delete a circuit",
                None,
                &[(202, None), (204, None)],
                delete_circuit,
            ),
    ]
}

impl Stored for Circuit {
    const KIND: &'static str = KIND;
    fn id(&self) -> String {
        Circuit::id(self)
    }
    fn sub(&self) -> &str {
        &self.sub
    }
    fn rg(&self) -> &str {
        &self.rg
    }
    fn refs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("provider", self.provider.service_provider_name.clone()),
            ("location", self.provider.peering_location.clone()),
            (
                "crossConnectionGroup",
                provider_group(
                    &self.provider.service_provider_name,
                    &cross_connection_rg(&self.provider.peering_location),
                ),
            ),
        ]
        .into_iter()
        // The peer circuits of this circuit's Global Reach connections: each finds the
        // connections pointing at it by this index.
        .chain(self.global_reach.iter().map(|g| {
            (
                super::circuit_connections::PEER_REL,
                g.peer.to_ascii_lowercase(),
            )
        }))
        // The route filters its Microsoft peering names.
        .chain(
            self.peerings
                .iter()
                .filter_map(|p| p.route_filter.clone())
                .map(|f| (super::route_filters::REL, f.to_ascii_lowercase())),
        )
        .collect()
    }
    fn uniques(&self) -> Vec<(String, String)> {
        let mut u = vec![("serviceKey".to_owned(), self.service_key.clone())];
        if let Some(stag) = self.stag {
            u.push((
                stag_scope(&self.provider.peering_location),
                stag_value(stag),
            ));
        }
        u
    }
}

/// The index key of a provider's cross-connections in one resource group.
pub fn provider_group(provider: &str, rg: &str) -> String {
    format!("{provider}|{rg}")
}

/// The S-tags of one peering location are unique within it.
pub fn stag_scope(location: &str) -> String {
    format!("stag:{}", location.to_ascii_lowercase())
}

pub fn stag_value(stag: u16) -> String {
    format!("{stag:04}")
}

pub fn circuit_id(sub: &str, rg: &str, name: &str) -> String {
    crate::arm::id::Ref::new(sub, rg, name).id(KIND)
}

/// The circuit a call's path names, if the principal may read it; another tenant's reads
/// exactly like a missing one.
pub fn visible(st: &impl Read, call: &Call) -> R<Circuit> {
    super::visible(st, call, "circuitName")
}

/// The circuit body, with its peerings as a GET of each answers and its links' live
/// status (`properties.causeway`, a Causeway extension).
pub fn render(svc: &Service, c: &Circuit) -> Body {
    super::to_body(&dto(svc, c))
}

/// The circuit as its typed ARM body.
pub fn dto(svc: &Service, c: &Circuit) -> arm::ExpressRouteCircuit {
    let id = c.id();
    arm::ExpressRouteCircuit {
        id: id.clone(),
        name: c.name.clone(),
        kind: arm::ExpressRouteCircuit::TYPE.into(),
        location: c.location.clone(),
        tags: c.tags.clone(),
        etag: c.etag.clone(),
        sku: arm::ExpressRouteCircuitSku {
            name: c.sku.name(),
            tier: c.sku.tier.clone(),
            family: c.sku.family.clone(),
        },
        properties: arm::ExpressRouteCircuitPropertiesFormat {
            service_provider_provisioning_state: c.provider_state.clone(),
            service_provider_notes: Some(c.provider_notes.clone()),
            service_key: c.service_key.clone(),
            stag: c.stag.unwrap_or(0),
            allow_classic_operations: c.allow_classic_operations,
            global_reach_enabled: c.global_reach_enabled,
            service_provider_properties: Some(arm::ExpressRouteCircuitServiceProviderProperties {
                service_provider_name: c.provider.service_provider_name.clone(),
                peering_location: c.provider.peering_location.clone(),
                bandwidth_in_mbps: c.provider.bandwidth_in_mbps,
            }),
            peerings: c
                .peerings
                .iter()
                .map(|p| super::peerings::dto(svc, c, p))
                .collect(),
            authorizations: c
                .authorizations
                .iter()
                .map(|a| super::authorizations::dto(&id, a))
                .collect(),
            causeway: Some(arm::CausewayCircuitStatus {
                links: svc.link_status(c),
                reach: crate::reach::circuit_reach(&svc.catalog, c),
            }),
            ..Default::default()
        },
    }
}

// ===== handlers =====

fn list_circuits(svc: &Service, call: &Call) -> R<Outcome> {
    let p = &call.params;
    if !call.owns(p.sub()) {
        return Ok(svc.page_rows(call, Vec::new()));
    }
    let rg = p.has("resourceGroupName").then(|| p.rg());
    let rows =
        svc.read(|st| list::<Circuit>(st, Some(p.sub()), rg, call.page.after, call.page.size + 1))?;
    let rows = rows
        .into_iter()
        .map(|(pos, c)| (pos, render(svc, &c)))
        .collect();
    Ok(svc.page_rows(call, rows))
}

fn get_circuit(svc: &Service, call: &Call) -> R<Outcome> {
    let c = svc.read(|st| visible(st, call))?;
    Ok(Outcome::Ok(render(svc, &c)))
}

fn put_circuit(svc: &Service, call: &Call) -> R<Outcome> {
    let p = &call.params;
    let (sub, rg, name) = (p.sub(), p.rg(), p.get("circuitName"));
    call.writable(sub)?;
    validate::resource_name(KIND, name)?;
    validate::resource_name("resourceGroups", rg)?;
    let input = input(call.body()?, &svc.catalog)?;
    region::validate(&input.location, "location")?;
    let id = circuit_id(sub, rg, name);
    let (circuit, created, op) = svc.write(|tx| {
        let existing: Option<Circuit> = load(tx, &id)?;
        call.pre.check(existing.as_ref().map(|c| c.etag.as_str()))?;
        let created = existing.is_none();
        let circuit = match existing {
            None => Circuit {
                sub: sub.to_owned(),
                rg: rg.to_owned(),
                name: name.to_owned(),
                location: input.location,
                tags: input.tags,
                sku: input.sku,
                service_key: uuid::Uuid::new_v4().to_string(),
                provider: input.provider,
                provider_state: "NotProvisioned".into(),
                provider_notes: String::new(),
                allow_classic_operations: input.allow_classic_operations,
                global_reach_enabled: input.global_reach_enabled,
                peerings: Vec::new(),
                authorizations: Vec::new(),
                etag: crate::model::new_etag(),
                cross_connection_tags: BTreeMap::new(),
                stag: None,
                drain: BTreeMap::new(),
                global_reach: Vec::new(),
            },
            Some(old) => {
                update_rules(&old, &input)?;
                if old.sku.tier != input.sku.tier {
                    narrower_sku_keeps_links(svc, tx, &old, &input.sku.tier)?;
                }
                Circuit {
                    location: old.location.clone(),
                    tags: input.tags,
                    sku: input.sku,
                    provider: input.provider,
                    allow_classic_operations: input.allow_classic_operations,
                    global_reach_enabled: input.global_reach_enabled,
                    etag: crate::model::new_etag(),
                    ..old
                }
            }
        };
        put(tx, &circuit)?;
        let op = Operation::succeeded(sub, Some(circuit.id()), None);
        tx.put_operation(&op)?;
        tx.touch(&circuit.id());
        Ok((circuit, created, op))
    })?;
    Ok(Outcome::Written {
        created,
        body: render(svc, &circuit),
        lro: Some(svc.lro(call, &op, &circuit.location)),
    })
}

fn patch_circuit(svc: &Service, call: &Call) -> R<Outcome> {
    call.writable(call.params.sub())?;
    let tags = validate::tags(call.body()?)?;
    let c = svc.write(|tx| {
        let mut c = visible(tx, call)?;
        call.pre.check(Some(&c.etag))?;
        // UpdateTags: the whole tag set is replaced.
        c.tags = tags;
        c.etag = crate::model::new_etag();
        put(tx, &c)?;
        Ok(c)
    })?;
    Ok(Outcome::Ok(render(svc, &c)))
}

fn delete_circuit(svc: &Service, call: &Call) -> R<Outcome> {
    let p = &call.params;
    if !call.owns(p.sub()) {
        return Ok(Outcome::NoContent);
    }
    let id = circuit_id(p.sub(), p.rg(), p.get("circuitName"));
    let done = svc.write(|tx| {
        let Some(c) = load::<Circuit>(tx, &id)? else {
            return Ok(None);
        };
        call.pre.check(Some(&c.etag))?;
        if c.provider_state != "NotProvisioned" {
            return Err(crate::arm::ArmError::conflict(
                "CircuitNotDeprovisioned",
                format!(
                    "Circuit '{}' is {} by its provider '{}'. Ask the provider to deprovision it \
                     (serviceProviderProvisioningState must be NotProvisioned) before deleting it.",
                    c.name, c.provider_state, c.provider.service_provider_name
                ),
            ));
        }
        super::connections::refuse_if_connected(tx, call, &c, None)?;
        super::circuit_connections::refuse_if_joined(tx, &c)?;
        tx.delete(&id)?;
        let op = Operation::succeeded(p.sub(), None, None);
        tx.put_operation(&op)?;
        tx.touch(&id);
        Ok(Some((op, c.location)))
    })?;
    Ok(match done {
        Some((op, location)) => Outcome::Accepted(svc.lro(call, &op, &location)),
        None => Outcome::NoContent,
    })
}

/// A tier change (Premium → Standard) may not strand what the circuit already carries: every
/// linked virtual network must stay within reach, the links within the new tier's count, and
/// the routes the customer announces on private peering within its limit.
fn narrower_sku_keeps_links(
    svc: &Service,
    st: &impl crate::store::Read,
    old: &Circuit,
    tier: &str,
) -> R<()> {
    let bad = |code, m: String| Err(crate::arm::ArmError::bad_request(code, m));
    let conns: Vec<super::connections::Connection> = super::referrers(st, "circuit", &old.id())?;
    for conn in &conns {
        let region = match &conn.vnet_region {
            Some(r) => r.clone(),
            None => load::<super::gateways::Gateway>(st, &conn.gateway.id(super::gateways::KIND))?
                .map_or_else(|| conn.location.clone(), |g| g.location),
        };
        if let Err(e) = crate::reach::check(&svc.catalog, old, tier, &region) {
            return bad(
                "CircuitSkuChangeStrandsConnection",
                format!(
                    "The circuit cannot become {tier}: its connection '{}' links a virtual network in '{region}', which a {tier} circuit does not reach ({}). Delete that connection first.",
                    conn.name, e.message
                ),
            );
        }
    }
    let limit = super::connections::circuit_connection_limit(tier, old.provider.bandwidth_in_mbps);
    if conns.len() > limit {
        return bad(
            "CircuitSkuChangeExceedsConnectionLimit",
            format!(
                "The circuit cannot become {tier}: it has {} virtual network connections and a {tier} circuit of {} Mbps takes {limit}.",
                conns.len(),
                old.provider.bandwidth_in_mbps
            ),
        );
    }
    if let Some(p) = old.peering(super::gateways::PRIVATE_PEERING) {
        let (v4_limit, _) = crate::edges::route_limits_at(tier, p);
        let links = svc.peering_status(old, super::gateways::PRIVATE_PEERING);
        let most = links
            .primary
            .iter()
            .chain(&links.secondary)
            .filter(|s| !s.neighbor.contains(':'))
            .map(|s| s.prefixes_received)
            .max()
            .unwrap_or(0);
        if most > v4_limit {
            return bad(
                "CircuitSkuChangeExceedsRouteLimit",
                format!(
                    "The circuit cannot become {tier}: its private peering receives {most} IPv4 prefixes and a {tier} circuit accepts {v4_limit}. Announce fewer routes first."
                ),
            );
        }
    }
    Ok(())
}

/// What a circuit update may change (Azure's rules): provider and location never; bandwidth
/// only up; MeteredData → UnlimitedData but not back; Standard ↔ Premium freely.
fn update_rules(old: &Circuit, new: &CircuitInput) -> R<()> {
    let bad = |code, m: String| Err(crate::arm::ArmError::bad_request(code, m));
    if !old
        .provider
        .service_provider_name
        .eq_ignore_ascii_case(&new.provider.service_provider_name)
        || !old
            .provider
            .peering_location
            .eq_ignore_ascii_case(&new.provider.peering_location)
    {
        return bad(
            "CannotChangeServiceProviderOrLocation",
            "A circuit's provider and peering location cannot change; create a new circuit instead.".into(),
        );
    }
    if new.provider.bandwidth_in_mbps < old.provider.bandwidth_in_mbps {
        return bad(
            "CannotDecreaseBandwidth",
            format!(
                "Bandwidth can only be increased in place ({} → {} Mbps); delete and recreate the circuit to lower it.",
                old.provider.bandwidth_in_mbps, new.provider.bandwidth_in_mbps
            ),
        );
    }
    if old.sku.family == "UnlimitedData" && new.sku.family == "MeteredData" {
        return bad(
            "CannotChangeSkuFamily",
            "A circuit can move from MeteredData to UnlimitedData, not back.".into(),
        );
    }
    if (old.sku.tier == "Local") != (new.sku.tier == "Local") {
        return bad(
            "CannotChangeSkuTier",
            format!(
                "The SKU tier cannot change between Local and {}.",
                if old.sku.tier == "Local" {
                    &new.sku.tier
                } else {
                    &old.sku.tier
                }
            ),
        );
    }
    if !region::same(&old.location, &new.location) {
        return bad(
            "CannotChangeLocation",
            format!(
                "The circuit's location is '{}' and cannot change.",
                old.location
            ),
        );
    }
    Ok(())
}

// ===== validation =====

pub const SKU_TIERS: [&str; 3] = ["Local", "Standard", "Premium"];
pub const SKU_FAMILIES: [&str; 2] = ["MeteredData", "UnlimitedData"];

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

/// Validates a circuit PUT against the provider catalogue.
pub fn input(body: &Value, catalog: &Catalog) -> R<CircuitInput> {
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
    // ARM derives the name from tier and family: `az network express-route update
    // --sku-tier Premium` sends the old name back beside the new tier.
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
