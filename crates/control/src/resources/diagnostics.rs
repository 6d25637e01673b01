//! Live diagnostics of a circuit's links, answered from the edges' reports
//! ([`crate::edges`]): `stats` of a circuit or peering, and the POST actions `arpTables`,
//! `routeTables` and `routeTablesSummary` per link (`primary` / `secondary`), for the
//! customer's circuit and the provider's cross-connection alike.
//!
//! The actions answer as long-running operations whose result is kept with the operation
//! record; until an edge reports, their tables are empty in the shape clients expect.

use super::{circuits, cross_connections, peerings, rg};
use crate::arm::lro::Operation;
use crate::arm::{ArmError, Outcome, R, Status, Verb};
use crate::model::Circuit;
use crate::service::{Call, Route, Service};

const STATS: Option<&str> = Some("ExpressRouteCircuitStats");

/// The link an action asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Primary,
    Secondary,
}

impl Device {
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Primary => "primary",
            Device::Secondary => "secondary",
        }
    }
}

/// The table an action asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ArpTable,
    RouteTable,
    RouteTableSummary,
}

pub fn routes() -> Vec<Route> {
    let mut out = vec![
        Route::new(rg!("/expressRouteCircuits/{circuitName}/stats")).op(
            Verb::Get,
            "Bytes in and out of a circuit's links",
            None,
            &[(200, STATS)],
            circuit_stats,
        ),
        Route::new(rg!(
            "/expressRouteCircuits/{circuitName}/peerings/{peeringName}/stats"
        ))
        .op(
            Verb::Get,
            "Bytes in and out of a peering's links",
            None,
            &[(200, STATS)],
            peering_stats,
        ),
    ];
    out.extend([
        Route::new(rg!(
            "/expressRouteCircuits/{circuitName}/peerings/{peeringName}/arpTables/{devicePath}"
        ))
        .op(
            Verb::Post,
            "The ARP table of one link",
            None,
            &[(200, Some("ExpressRouteCircuitsArpTableListResult")), (202, None)],
            |s, c| circuit_action(s, c, Action::ArpTable),
        ),
        Route::new(rg!(
            "/expressRouteCircuits/{circuitName}/peerings/{peeringName}/routeTables/{devicePath}"
        ))
        .op(
            Verb::Post,
            "The route table of one link",
            None,
            &[(200, Some("ExpressRouteCircuitsRoutesTableListResult")), (202, None)],
            |s, c| circuit_action(s, c, Action::RouteTable),
        ),
        Route::new(rg!(
            "/expressRouteCircuits/{circuitName}/peerings/{peeringName}/routeTablesSummary/{devicePath}"
        ))
        .op(
            Verb::Post,
            "The BGP session summary of one link",
            None,
            &[(200, Some("ExpressRouteCircuitsRoutesTableSummaryListResult")), (202, None)],
            |s, c| circuit_action(s, c, Action::RouteTableSummary),
        ),
        Route::new(rg!(
            "/expressRouteCrossConnections/{crossConnectionName}/peerings/{peeringName}/arpTables/{devicePath}"
        ))
        .op(
            Verb::Post,
            "The ARP table of one link (provider)",
            None,
            &[(200, Some("ExpressRouteCircuitsArpTableListResult")), (202, None)],
            |s, c| cross_action(s, c, Action::ArpTable),
        ),
        Route::new(rg!(
            "/expressRouteCrossConnections/{crossConnectionName}/peerings/{peeringName}/routeTables/{devicePath}"
        ))
        .op(
            Verb::Post,
            "The route table of one link (provider)",
            None,
            &[(200, Some("ExpressRouteCircuitsRoutesTableListResult")), (202, None)],
            |s, c| cross_action(s, c, Action::RouteTable),
        ),
        Route::new(rg!(
            "/expressRouteCrossConnections/{crossConnectionName}/peerings/{peeringName}/routeTablesSummary/{devicePath}"
        ))
        .op(
            Verb::Post,
            "The BGP session summary of one link (provider)",
            None,
            &[(200, Some("ExpressRouteCrossConnectionsRoutesTableSummaryListResult")), (202, None)],
            |s, c| cross_action(s, c, Action::RouteTableSummary),
        ),
    ]);
    out
}

fn device(call: &Call) -> R<Device> {
    let d = call.params.get("devicePath");
    if d.eq_ignore_ascii_case("primary") {
        Ok(Device::Primary)
    } else if d.eq_ignore_ascii_case("secondary") {
        Ok(Device::Secondary)
    } else {
        Err(ArmError::new(
            Status::NotFound,
            "InvalidResourceType",
            format!("'{d}' is not a link of the circuit: use primary or secondary."),
        ))
    }
}

fn circuit_stats(svc: &Service, call: &Call) -> R<Outcome> {
    let c = svc.read(|st| circuits::visible(st, call))?;
    Ok(Outcome::Ok(svc.link_stats(&c, None).into()))
}

fn peering_stats(svc: &Service, call: &Call) -> R<Outcome> {
    let c = svc.read(|st| circuits::visible(st, call))?;
    let name = call.params.get("peeringName");
    peerings::peering_of(&c, name)?;
    Ok(Outcome::Ok(svc.link_stats(&c, Some(name)).into()))
}

fn circuit_action(svc: &Service, call: &Call, action: Action) -> R<Outcome> {
    let d = device(call)?;
    let c = svc.read(|st| circuits::visible(st, call))?;
    answer(svc, call, &c, action, d, false)
}

fn cross_action(svc: &Service, call: &Call, action: Action) -> R<Outcome> {
    let d = device(call)?;
    let c = svc.read(|st| cross_connections::visible(svc, st, call))?;
    answer(svc, call, &c, action, d, true)
}

fn answer(
    svc: &Service,
    call: &Call,
    c: &Circuit,
    action: Action,
    d: Device,
    cross: bool,
) -> R<Outcome> {
    let name = call.params.get("peeringName");
    peerings::peering_of(c, name)?;
    let result = svc.diagnostics(c, name, action, d, cross);
    let op = Operation::succeeded(call.params.sub(), None, Some(result));
    svc.with_store(|st| st.put_operation(&op))?;
    Ok(Outcome::Accepted(svc.lro(call, &op, &c.location)))
}
