//! The resource types, a module each: its routes, its stored record, its validation, its
//! rules against other resources, its rendering (one function serves GET, list and the
//! result of a write) and what it means for the edges (the circuits a write touches).
//!
//! Adding a resource type is one module and one line in [`routes`].

pub mod authorizations;
pub mod circuit_connections;
pub mod circuits;
pub mod connections;
pub mod cross_connections;
pub mod deployments;
pub mod diagnostics;
pub mod gateways;
pub mod generic;
pub mod operations;
pub mod peerings;
pub mod port_locations;
pub mod providers;
pub mod public_ips;
pub mod resource_groups;
pub mod resource_providers;
pub mod route_filters;
pub mod shared_keys;
pub mod subnets;
pub mod subscriptions;
pub mod vnets;

/// A route template under a subscription: `sub!("/expressRouteCircuits")`.
macro_rules! sub {
    ($rest:literal) => {
        concat!(
            "/subscriptions/{subscriptionId}/providers/Microsoft.Network",
            $rest
        )
    };
}
/// A route template under a resource group: `rg!("/expressRouteCircuits/{circuitName}")`.
macro_rules! rg {
    ($rest:literal) => {
        concat!(
            "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network",
            $rest
        )
    };
}
pub(crate) use {rg, sub};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::arm::{ArmError, R};
use crate::service::Route;
use crate::store::{Read, Record, Store, StoreError, Tx};

/// Every route the control plane serves, in match order.
pub fn routes() -> Vec<Route> {
    [
        providers::routes(),
        circuits::routes(),
        peerings::routes(),
        authorizations::routes(),
        circuit_connections::routes(),
        route_filters::routes(),
        deployments::routes(),
        port_locations::routes(),
        diagnostics::routes(),
        cross_connections::routes(),
        vnets::routes(),
        subnets::routes(),
        gateways::routes(),
        public_ips::routes(),
        connections::routes(),
        shared_keys::routes(),
        operations::routes(),
        subscriptions::routes(),
        resource_groups::routes(),
        resource_providers::routes(),
        generic::routes(),
        crate::ce_config::route::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A resource kept as one row of the store.
pub trait Stored: Serialize + DeserializeOwned {
    /// Its ARM type (`expressRouteCircuits`).
    const KIND: &'static str;
    fn id(&self) -> String;
    fn sub(&self) -> &str;
    fn rg(&self) -> &str;
    /// What it points at, for indexed look-ups from the other side.
    fn refs(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
    /// Values no other resource may hold.
    fn uniques(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}

fn record<T: Stored>(r: &T) -> R<Record> {
    Ok(Record {
        id: r.id(),
        kind: T::KIND,
        sub: r.sub().to_owned(),
        rg: r.rg().to_owned(),
        body: serde_json::to_string(r).map_err(StoreError::from)?,
        refs: r.refs(),
        uniques: r.uniques(),
    })
}

fn parse<T: Stored>(body: &str) -> R<T> {
    Ok(serde_json::from_str(body).map_err(StoreError::from)?)
}

/// One resource by id.
pub fn load<T: Stored>(st: &impl Read, id: &str) -> R<Option<T>> {
    st.get(id)?.map(|b| parse(&b)).transpose()
}

/// Resources of `T` in a scope after position `after`: (position, resource).
pub fn list<T: Stored>(
    st: &impl Read,
    sub: Option<&str>,
    rg: Option<&str>,
    after: i64,
    limit: usize,
) -> R<Vec<(i64, T)>> {
    st.list(T::KIND, sub, rg, after, limit)?
        .into_iter()
        .map(|(p, b)| Ok((p, parse(&b)?)))
        .collect()
}

/// Every `T` pointing at `dst` through `rel`, in creation order.
pub fn referrers<T: Stored>(st: &impl Read, rel: &str, dst: &str) -> R<Vec<T>> {
    st.referrers(rel, dst, 0, usize::MAX)?
        .into_iter()
        .map(|(_, b)| parse(&b))
        .collect()
}

/// Writes a resource.
pub fn put<T: Stored>(tx: &mut Tx<'_>, r: &T) -> R<()> {
    tx.put(&record(r)?)?;
    Ok(())
}

/// A typed ARM body, serialized once for the answer.
pub fn to_body<T: Serialize>(body: &T) -> crate::arm::Body {
    crate::arm::Body::of(body)
}

/// A typed ARM body as JSON (the DTOs of `api::arm` always serialize).
pub fn to_value<T: Serialize>(body: &T) -> serde_json::Value {
    serde_json::to_value(body).unwrap_or_default()
}

/// The top-level resource a call's path names (its name in parameter `name_param`), if the
/// principal may read it; another tenant's reads exactly like a missing one.
pub fn visible<T: Stored>(st: &impl Read, call: &crate::service::Call, name_param: &str) -> R<T> {
    let p = &call.params;
    let name = p.get(name_param);
    let found = if call.owns(p.sub()) {
        load(
            st,
            &crate::arm::id::Ref::new(p.sub(), p.rg(), name).id(T::KIND),
        )?
    } else {
        None
    };
    found.ok_or_else(|| missing(T::KIND, name))
}

/// A 404 for a resource of `kind` named `name` (also what another tenant's answers).
pub fn missing(kind: &str, name: &str) -> ArmError {
    ArmError::not_found(&format!("Microsoft.Network/{kind}"), name)
}

/// Rewrites the rows of a store made before the generic layout, then drops the old tables.
pub fn migrate_legacy(store: &mut Store) -> R<()> {
    let rows = store.legacy_rows()?;
    if rows.is_empty() {
        store.drop_legacy()?;
        return Ok(());
    }
    store.write(|tx| -> R<()> {
        for (kind, body) in &rows {
            match kind.as_str() {
                k if k.eq_ignore_ascii_case(circuits::KIND) => {
                    put(tx, &parse::<crate::model::Circuit>(body)?)?
                }
                k if k.eq_ignore_ascii_case(vnets::KIND) => {
                    put(tx, &parse::<vnets::VirtualNetwork>(body)?)?
                }
                k if k.eq_ignore_ascii_case(gateways::KIND) => {
                    put(tx, &parse::<gateways::Gateway>(body)?)?
                }
                k if k.eq_ignore_ascii_case(connections::KIND) => {
                    put(tx, &parse::<connections::Connection>(body)?)?
                }
                other => tracing::warn!("legacy row of unknown type {other} dropped"),
            }
        }
        tx.touch_all();
        Ok(())
    })?;
    store.drop_legacy()?;
    tracing::info!(
        "rewrote {} resources into the indexed store layout",
        rows.len()
    );
    Ok(())
}
