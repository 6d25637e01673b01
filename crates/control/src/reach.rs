//! Where a circuit reaches, by SKU (ExpressRoute's rules):
//!
//! - **Local**: only the Azure region(s) of its peering location's metro;
//! - **Standard**: every region of its peering location's geopolitical region;
//! - **Premium**: every region of its cloud (never across into a sovereign cloud, or out of
//!   one).
//!
//! The rule is checked where Azure checks it — when a virtual network's gateway is linked to
//! the circuit, and when a circuit's SKU changes under existing links — and shown on the
//! circuit and on each connection (`properties.causeway.reach`) so a user sees where a
//! circuit reaches before trying. The error codes are Causeway's own (Azure documents the
//! rule, not the code).

use api::arm::circuit::{CircuitReach, ConnectionReach};

use crate::arm::region::{self, Region};
use crate::arm::{ArmError, R};
use crate::catalog::{Catalog, Location};
use crate::model::Circuit;

/// How far a SKU reaches from a peering location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The location's local region(s).
    Metro,
    /// The location's geopolitical region.
    GeopoliticalRegion,
    /// Every region of the location's cloud.
    Global,
}

impl Scope {
    pub fn of_tier(tier: &str) -> Scope {
        match tier {
            "Local" => Scope::Metro,
            "Premium" => Scope::Global,
            _ => Scope::GeopoliticalRegion,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Scope::Metro => "Metro",
            Scope::GeopoliticalRegion => "GeopoliticalRegion",
            Scope::Global => "Global",
        }
    }
}

/// A peering location's place: its geopolitical region, that region's cloud, and its local
/// regions.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    pub location: &'a Location,
    pub area: &'static str,
    pub cloud: &'static str,
}

impl<'a> Place<'a> {
    pub fn of(catalog: &'a Catalog, peering_location: &str) -> Option<Place<'a>> {
        let location = catalog.location(peering_location)?;
        let area = region::area(&location.geo)?;
        Some(Place {
            location,
            area,
            cloud: region::cloud_of(area)?,
        })
    }

    /// Whether a circuit of this scope at this place reaches `r`.
    pub fn reaches(&self, scope: Scope, r: &Region) -> bool {
        r.cloud() == self.cloud
            && match scope {
                Scope::Metro => self
                    .location
                    .local_regions
                    .iter()
                    .any(|l| region::same(l, r.name)),
                Scope::GeopoliticalRegion => r.area == self.area,
                Scope::Global => true,
            }
    }

    /// The SKU tiers under which a circuit here reaches `r`, narrowest first.
    pub fn tiers_reaching(&self, r: &Region) -> Vec<&'static str> {
        let local = self.location.local;
        [
            ("Local", Scope::Metro),
            ("Standard", Scope::GeopoliticalRegion),
            ("Premium", Scope::Global),
        ]
        .into_iter()
        .filter(|&(t, s)| (t != "Local" || local) && self.reaches(s, r))
        .map(|(t, _)| t)
        .collect()
    }

    /// What a circuit of `tier` here reaches, as the circuit shows it.
    pub fn render(&self, tier: &str) -> CircuitReach {
        let scope = Scope::of_tier(tier);
        let regions = match scope {
            Scope::Metro => self
                .location
                .local_regions
                .iter()
                .filter_map(|l| region::find_any(l))
                .map(|r| r.name.to_owned())
                .collect(),
            Scope::GeopoliticalRegion => region::in_area(self.area)
                .map(|r| r.name.to_owned())
                .collect(),
            // Every region of the cloud: not listed.
            Scope::Global => Vec::new(),
        };
        CircuitReach {
            scope: scope.name().into(),
            geopolitical_region: self.area.into(),
            cloud: self.cloud.into(),
            regions,
        }
    }
}

/// What the circuit reaches, for its body; `None` when its peering location has left the
/// catalogue.
pub fn circuit_reach(catalog: &Catalog, c: &Circuit) -> Option<CircuitReach> {
    Place::of(catalog, &c.provider.peering_location).map(|p| p.render(&c.sku.tier))
}

/// A connection's reach: the virtual network's region and the SKUs that allow the link.
pub fn connection_reach(
    catalog: &Catalog,
    c: &Circuit,
    vnet_region: &str,
) -> Option<ConnectionReach> {
    let place = Place::of(catalog, &c.provider.peering_location)?;
    let r = region::find_any(vnet_region)?;
    Some(ConnectionReach {
        virtual_network_region: r.name.into(),
        virtual_network_geopolitical_region: r.area.into(),
        circuit_geopolitical_region: place.area.into(),
        circuit_sku_tier: c.sku.tier.clone(),
        reachable_with: place
            .tiers_reaching(r)
            .into_iter()
            .map(String::from)
            .collect(),
    })
}

/// Refuses a link from circuit `c` (at its SKU `tier`) to a virtual network in `vnet_region`
/// that the SKU does not reach, naming the SKU that would.
pub fn check(catalog: &Catalog, c: &Circuit, tier: &str, vnet_region: &str) -> R<()> {
    let loc = &c.provider.peering_location;
    let Some(place) = Place::of(catalog, loc) else {
        return Err(ArmError::bad_request(
            "PeeringLocationNotInCatalog",
            format!(
                "Circuit '{}' is at peering location '{loc}', which this deployment's catalogue no longer places in a geopolitical region.",
                c.name
            ),
        ));
    };
    let Some(r) = region::find_any(vnet_region) else {
        return Err(region::validate(vnet_region, "location")
            .err()
            .unwrap_or_else(|| {
                ArmError::bad_request("LocationNotAvailableForResourceType", "unknown region")
            }));
    };
    let scope = Scope::of_tier(tier);
    if place.reaches(scope, r) {
        return Ok(());
    }
    let name = &c.name;
    let (vr, va) = (r.name, r.area);
    Err(if r.cloud() != place.cloud {
        ArmError::bad_request(
            "CircuitCannotReachOtherCloud",
            format!(
                "Circuit '{name}' at '{loc}' is in {} ({}); region '{vr}' is in {va} ({}). No SKU links across clouds.",
                place.area,
                place.cloud,
                r.cloud()
            ),
        )
    } else if scope == Scope::Metro {
        let local = place.location.local_regions.join(", ");
        let (needs, tier) = if va == place.area {
            (
                format!("a Standard circuit (all of {va}) or a Premium one"),
                "Standard",
            )
        } else {
            (
                format!("a Premium circuit ({va} is another geopolitical region)"),
                "Premium",
            )
        };
        ArmError::bad_request(
            "LocalCircuitCannotReachRegion",
            format!(
                "Circuit '{name}' is Local: from '{loc}' it reaches only {local}. Region '{vr}' needs {needs}; a Local circuit cannot change tier, so create a {tier} circuit."
            ),
        )
    } else {
        ArmError::bad_request(
            "CircuitNotPremiumForGeopoliticalRegion",
            format!(
                "Circuit '{name}' is {tier}: from '{loc}' it reaches the regions of {}. Region '{vr}' is in {va}: upgrade the circuit to Premium (sku.tier Premium) to link it.",
                place.area
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn circuit(tier: &str, loc: &str) -> Circuit {
        serde_json::from_value(serde_json::json!({
            "sub": "s", "rg": "rg", "name": "er", "location": "westeurope",
            "sku": {"tier": tier, "family": "UnlimitedData"},
            "service_key": "k",
            "provider": {"service_provider_name": "Equinix", "peering_location": loc,
                         "bandwidth_in_mbps": 50},
            "provider_state": "Provisioned", "provider_notes": "", "tags": {},
            "allow_classic_operations": false, "global_reach_enabled": false,
            "peerings": [], "authorizations": [], "etag": "e"
        }))
        .expect("circuit")
    }

    #[test]
    fn each_sku_reaches_its_scope_and_no_further() {
        let cat = Catalog::default();
        let cases = [
            ("Local", "Amsterdam", "westeurope", true),
            ("Local", "Amsterdam", "northeurope", false),
            ("Standard", "Amsterdam", "northeurope", true),
            ("Standard", "Amsterdam", "uksouth", true),
            ("Standard", "Amsterdam", "eastus", false),
            ("Premium", "Amsterdam", "eastus", true),
            ("Premium", "Amsterdam", "australiaeast", true),
            ("Premium", "Amsterdam", "usgovvirginia", false),
            ("Standard", "Silicon Valley", "canadacentral", true),
            ("Standard", "Sydney", "australiacentral", false),
        ];
        for (tier, loc, region, ok) in cases {
            let r = check(&cat, &circuit(tier, loc), tier, region);
            assert_eq!(r.is_ok(), ok, "{tier} at {loc} → {region}: {r:?}");
        }
    }

    #[test]
    fn a_refusal_names_the_sku_that_would_allow_the_link() {
        let cat = Catalog::default();
        let e = check(
            &cat,
            &circuit("Standard", "Amsterdam"),
            "Standard",
            "eastus",
        )
        .unwrap_err();
        assert_eq!(e.code, "CircuitNotPremiumForGeopoliticalRegion");
        assert!(
            e.message.contains("Premium") && e.message.contains("North America"),
            "{}",
            e.message
        );
        let e = check(&cat, &circuit("Local", "Amsterdam"), "Local", "northeurope").unwrap_err();
        assert_eq!(e.code, "LocalCircuitCannotReachRegion");
        assert!(
            e.message.contains("Standard") && e.message.contains("westeurope"),
            "{}",
            e.message
        );
        let e = check(
            &cat,
            &circuit("Premium", "Amsterdam"),
            "Premium",
            "chinanorth",
        )
        .unwrap_err();
        assert_eq!(e.code, "CircuitCannotReachOtherCloud");
    }

    #[test]
    fn a_circuit_shows_where_it_reaches() {
        let cat = Catalog::default();
        let local = circuit_reach(&cat, &circuit("Local", "London")).expect("reach");
        assert_eq!(
            (local.scope.as_str(), local.regions.as_slice()),
            ("Metro", &["uksouth".to_owned()][..])
        );
        let std = circuit_reach(&cat, &circuit("Standard", "London")).expect("reach");
        assert_eq!(std.geopolitical_region, "Europe");
        assert!(
            std.regions.iter().any(|r| r == "westeurope")
                && !std.regions.iter().any(|r| r == "eastus")
        );
        let prem = circuit_reach(&cat, &circuit("Premium", "London")).expect("reach");
        assert_eq!(
            (prem.scope.as_str(), prem.cloud.as_str()),
            ("Global", "AzureCloud")
        );
        let conn = connection_reach(&cat, &circuit("Standard", "London"), "eastus").expect("reach");
        assert_eq!(conn.reachable_with, ["Premium"]);
        let conn =
            connection_reach(&cat, &circuit("Standard", "London"), "uksouth").expect("reach");
        assert_eq!(conn.reachable_with, ["Local", "Standard", "Premium"]);
    }
}
