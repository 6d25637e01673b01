//! `connections/{c}/sharedkey`: a connection's IPsec shared key (`ConnectionSharedKey`).
//!
//! An ExpressRoute connection has no IPsec tunnel and so no key: GET answers the key
//! resource with an empty `value` (Terraform azurerm reads it on every connection read and
//! fails on any error), and PUT, which sets a VPN connection's key, is refused with a clear
//! error rather than storing a key nothing would use. A missing (or another tenant's)
//! connection reads as missing.

use api::arm::network::ConnectionSharedKey;

use super::connections::Connection;
use super::rg;
use crate::arm::{ArmError, Outcome, R, Verb};
use crate::service::{Call, Route, Service};
use crate::validate;

const SCHEMA: Option<&str> = Some("ConnectionSharedKey");

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(rg!(
            "/connections/{virtualNetworkGatewayConnectionName}/sharedkey"
        ))
        .op(
            Verb::Get,
            "Get a connection's shared key (empty on ExpressRoute connections)",
            None,
            &[(200, SCHEMA)],
            get_shared_key,
        )
        .op(
            Verb::Put,
            "Set a connection's shared key (VPN connections only)",
            SCHEMA,
            &[(200, SCHEMA), (201, SCHEMA)],
            put_shared_key,
        ),
    ]
}

fn visible(svc: &Service, call: &Call) -> R<Connection> {
    svc.read(|st| super::visible(st, call, "virtualNetworkGatewayConnectionName"))
}

fn get_shared_key(svc: &Service, call: &Call) -> R<Outcome> {
    let conn = visible(svc, call)?;
    Ok(Outcome::Ok(super::to_body(&ConnectionSharedKey {
        id: Some(format!("{}/sharedkey", super::Stored::id(&conn))),
        value: String::new(),
    })))
}

fn put_shared_key(svc: &Service, call: &Call) -> R<Outcome> {
    call.writable(call.params.sub())?;
    let body = call.body()?;
    validate::req_str(body, "value")?;
    let conn = visible(svc, call)?;
    Err(ArmError::bad_request(
        "SharedKeyNotSupportedOnExpressRouteConnection",
        format!(
            "Connection '{}' is an ExpressRoute connection: it has no IPsec tunnel, so no shared key can be set on it.",
            conn.name
        ),
    ))
}
