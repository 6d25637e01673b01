//! `expressRouteServiceProviders`: the operator's catalogue ([`crate::catalog`]), read-only.

use super::sub;
use crate::arm::{Outcome, R, Verb};
use crate::service::{Call, Route, Service};

pub fn routes() -> Vec<Route> {
    vec![Route::new(sub!("/expressRouteServiceProviders")).op(
        Verb::Get,
        "List the connectivity providers of the catalogue",
        None,
        &[(200, Some("ExpressRouteServiceProviderListResult"))],
        list_providers,
    )]
}

fn list_providers(svc: &Service, call: &Call) -> R<Outcome> {
    let items = svc.catalog.render(call.params.sub());
    Ok(svc.page_of(call, items.into_iter().map(Into::into).collect()))
}
