//! `locations/{location}/operations/{id}` and `operationResults/{id}`: the status and result
//! of a long-running operation ([`crate::arm::lro`]).
//!
//! Visible to the principal that owns the operation's subscription (or, in a provider's
//! catalogue subscription, to that provider); anything else reads as missing. The result of
//! a PUT is the resource as a GET answers it now, through the same route and renderer.

use super::sub;
use crate::arm::{ArmError, Outcome, R, Verb};
use crate::service::{Call, Route, Service};
use crate::store::Read;

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(sub!("/locations/{location}/operations/{operationId}")).op(
            Verb::Get,
            "The status of an asynchronous operation",
            None,
            &[(200, Some("AsyncOperationStatus"))],
            status,
        ),
        Route::new(sub!("/locations/{location}/operationResults/{operationId}")).op(
            Verb::Get,
            "The result of an asynchronous operation",
            None,
            &[(200, Some("OperationResult")), (204, None)],
            result,
        ),
    ]
}

fn load(svc: &Service, call: &Call) -> R<crate::arm::lro::Operation> {
    let sub = call.params.sub();
    let id = call.params.get("operationId");
    let visible = call.owns(sub)
        || svc
            .catalog
            .provider_by_subscription(sub)
            .is_some_and(|p| call.principal.is_provider(&p.name));
    svc.read(|st| st.operation(id))?
        .filter(|op| visible && op.sub.eq_ignore_ascii_case(sub))
        .ok_or_else(|| ArmError::not_found("operations", id))
}

fn status(svc: &Service, call: &Call) -> R<Outcome> {
    let op = load(svc, call)?;
    let p = &call.params;
    Ok(Outcome::Ok(super::to_body(
        &api::arm::AsyncOperationStatus {
            id: Some(format!(
                "/subscriptions/{}/providers/Microsoft.Network/locations/{}/operations/{}",
                p.sub(),
                p.get("location"),
                op.id
            )),
            name: Some(op.id),
            status: op.status,
            start_time: Some(op.start_time),
            end_time: Some(op.end_time),
            ..Default::default()
        },
    )))
}

fn result(svc: &Service, call: &Call) -> R<Outcome> {
    let op = load(svc, call)?;
    if let Some(r) = op.result {
        return Ok(Outcome::Ok(r.into()));
    }
    match op.resource_path {
        Some(path) => svc.get_path(call, &path),
        None => Ok(Outcome::NoContent),
    }
}
