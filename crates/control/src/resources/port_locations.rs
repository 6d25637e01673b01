//! `expressRoutePortsLocations`: where ExpressRoute Direct port pairs are sold, at what
//! speeds, and the facility's address and contact — from the operator's inventory
//! (`[location.direct]`, `crate::inventory`). Read-only, the same for every subscription.
//!
//! The ports themselves (`expressRoutePorts`, links, the LOA, circuits on ports) are not
//! served yet.

use serde_json::json;

use super::sub;
use crate::arm::{ArmError, Body, Outcome, R, Verb};
use crate::inventory::LocationEdges;
use crate::service::{Call, Route, Service};

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(sub!("/ExpressRoutePortsLocations")).op(
            Verb::Get,
            "List the locations that sell ExpressRoute Direct ports",
            None,
            &[(200, None)],
            list_locations,
        ),
        Route::new(sub!("/ExpressRoutePortsLocations/{locationName}")).op(
            Verb::Get,
            "Get an ExpressRoute Direct location and its port speeds",
            None,
            &[(200, None)],
            get_location,
        ),
    ]
}

fn render(sub: &str, l: &LocationEdges) -> Option<Body> {
    let d = l.direct.as_ref()?;
    Some(Body::of(&json!({
        "id": format!("/subscriptions/{sub}/providers/Microsoft.Network/ExpressRoutePortsLocations/{}", l.name),
        "name": l.name,
        "type": "Microsoft.Network/expressRoutePortsLocations",
        "properties": {
            "address": d.address,
            "contact": d.contact,
            "availableBandwidths": d.bandwidths_gbps.iter().map(|g| json!({
                "offerName": format!("{g} Gbps"),
                "valueInGbps": g,
            })).collect::<Vec<_>>(),
            "provisioningState": "Succeeded",
        }
    })))
}

fn list_locations(svc: &Service, call: &Call) -> R<Outcome> {
    let sub = call.params.sub();
    let inv = svc.edges.inventory();
    let items = inv
        .locations
        .iter()
        .filter_map(|l| render(sub, l))
        .collect();
    Ok(svc.page_of(call, items))
}

fn get_location(svc: &Service, call: &Call) -> R<Outcome> {
    let (sub, name) = (call.params.sub(), call.params.get("locationName"));
    let inv = svc.edges.inventory();
    inv.locations
        .iter()
        .filter(|l| l.name.eq_ignore_ascii_case(name))
        .find_map(|l| render(sub, l))
        .map(Outcome::Ok)
        .ok_or_else(|| ArmError::not_found("Microsoft.Network/expressRoutePortsLocations", name))
}
