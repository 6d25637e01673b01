//! `expressRouteCircuits/{c}/authorizations/{a}`: keys that let another subscription connect
//! a virtual network to the circuit. Stored inside the circuit record.
//!
//! Rules: a PUT may be `{}` or have no body at all; a circuit has at most 10; the key is a
//! fresh GUID, `Available` until a connection consumes it (`InUse`,
//! [`super::connections`]); one in use cannot be deleted. Authorizations mean nothing to
//! the edges, so their writes touch no circuit there.

use api::arm::circuit as arm;

use super::{circuits, put, rg};
use crate::arm::lro::Operation;
use crate::arm::{ArmError, Body, Outcome, R, Verb};
use crate::model::{Authorization, Circuit};
use crate::service::{Call, Route, Service};
use crate::validate;

const SCHEMA: Option<&str> = Some("ExpressRouteCircuitAuthorization");
const LIST: Option<&str> = Some("AuthorizationListResult");

/// How many authorizations a circuit may have.
pub const LIMIT: usize = 10;

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(rg!("/expressRouteCircuits/{circuitName}/authorizations")).op(
            Verb::Get,
            "List a circuit's authorizations",
            None,
            &[(200, LIST)],
            list_authorizations,
        ),
        Route::new(rg!(
            "/expressRouteCircuits/{circuitName}/authorizations/{authorizationName}"
        ))
        .op(
            Verb::Get,
            "Get an authorization",
            None,
            &[(200, SCHEMA)],
            get_authorization,
        )
        .op(
            Verb::Put,
            "Create or update an authorization",
            SCHEMA,
            &[(200, SCHEMA), (201, SCHEMA)],
            put_authorization,
        )
        .op(
            Verb::Delete,
            "Delete an authorization",
            None,
            &[(202, None), (204, None)],
            delete_authorization,
        ),
    ]
}

/// An authorization in ARM's shape under its circuit.
pub fn render(circuit_id: &str, a: &Authorization) -> Body {
    super::to_body(&dto(circuit_id, a))
}

pub fn dto(circuit_id: &str, a: &Authorization) -> arm::ExpressRouteCircuitAuthorization {
    arm::ExpressRouteCircuitAuthorization {
        id: format!("{circuit_id}/authorizations/{}", a.name),
        name: a.name.clone(),
        kind: "Microsoft.Network/expressRouteCircuits/authorizations".into(),
        etag: a.etag.clone(),
        properties: arm::AuthorizationPropertiesFormat {
            authorization_key: a.key.clone(),
            authorization_use_status: a.use_status.clone(),
            connection_resource_uri: a.connection_resource_uri.clone(),
            ..Default::default()
        },
    }
}

fn authorization_of<'a>(c: &'a Circuit, name: &str) -> R<&'a Authorization> {
    c.authorization(name)
        .ok_or_else(|| ArmError::not_found("authorizations", name))
}

fn list_authorizations(svc: &Service, call: &Call) -> R<Outcome> {
    let c = svc.read(|st| circuits::visible(st, call))?;
    let id = c.id();
    let items = c.authorizations.iter().map(|a| render(&id, a)).collect();
    Ok(svc.page_of(call, items))
}

fn get_authorization(svc: &Service, call: &Call) -> R<Outcome> {
    let c = svc.read(|st| circuits::visible(st, call))?;
    let a = authorization_of(&c, call.params.get("authorizationName"))?;
    Ok(Outcome::Ok(render(&c.id(), a)))
}

fn put_authorization(svc: &Service, call: &Call) -> R<Outcome> {
    call.writable(call.params.sub())?;
    let name = call.params.get("authorizationName");
    validate::resource_name("authorizations", name)?;
    // An authorization PUT may be `{}` or carry no body at all.
    if let Some(b) = &call.body
        && !b.is_object()
    {
        return Err(ArmError::bad_request(
            "InvalidRequestFormat",
            "The request body must be a JSON object.",
        ));
    }
    let (c, auth, created, op) = svc.write(|tx| {
        let mut c = circuits::visible(tx, call)?;
        let existing = c.authorization(name).cloned();
        call.pre.check(existing.as_ref().map(|a| a.etag.as_str()))?;
        let created = existing.is_none();
        let auth = match existing {
            Some(a) => Authorization {
                etag: crate::model::new_etag(),
                ..a
            },
            None => {
                if c.authorizations.len() >= LIMIT {
                    return Err(ArmError::bad_request(
                        "AuthorizationLimitReached",
                        format!("A circuit has at most {LIMIT} authorizations."),
                    ));
                }
                Authorization {
                    name: name.to_owned(),
                    key: uuid::Uuid::new_v4().to_string(),
                    use_status: "Available".into(),
                    etag: crate::model::new_etag(),
                    connection_resource_uri: None,
                }
            }
        };
        c.authorizations
            .retain(|a| !a.name.eq_ignore_ascii_case(name));
        c.authorizations.push(auth.clone());
        c.etag = crate::model::new_etag();
        put(tx, &c)?;
        let op = Operation::succeeded(
            &c.sub,
            Some(format!("{}/authorizations/{}", c.id(), auth.name)),
            None,
        );
        tx.put_operation(&op)?;
        Ok((c, auth, created, op))
    })?;
    Ok(Outcome::Written {
        created,
        body: render(&c.id(), &auth),
        lro: Some(svc.lro(call, &op, &c.location)),
    })
}

fn delete_authorization(svc: &Service, call: &Call) -> R<Outcome> {
    if !call.owns(call.params.sub()) {
        return Ok(Outcome::NoContent);
    }
    let name = call.params.get("authorizationName");
    let done = svc.write(|tx| {
        let mut c = match circuits::visible(tx, call) {
            Ok(c) => c,
            Err(_) => return Ok(None),
        };
        let Some(a) = c.authorization(name).cloned() else {
            return Ok(None);
        };
        call.pre.check(Some(&a.etag))?;
        if a.use_status == "InUse" {
            return Err(ArmError::conflict(
                "AuthorizationInUse",
                format!(
                    "Authorization '{name}' is in use by a connection; delete the connection first."
                ),
            ));
        }
        c.authorizations
            .retain(|x| !x.name.eq_ignore_ascii_case(name));
        c.etag = crate::model::new_etag();
        put(tx, &c)?;
        let op = Operation::succeeded(&c.sub, None, None);
        tx.put_operation(&op)?;
        Ok(Some((op, c.location)))
    })?;
    Ok(match done {
        Some((op, location)) => Outcome::Accepted(svc.lro(call, &op, &location)),
        None => Outcome::NoContent,
    })
}
