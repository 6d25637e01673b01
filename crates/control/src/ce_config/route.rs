//! `POST …/expressRouteCircuits/{circuitName}/customerEdgeConfiguration` (a Causeway
//! extension): the customer-edge configuration of a circuit, for `causeway ce-config` and
//! the console's download button. A POST, not a GET: the answer may hold MD5 keys, and a
//! POST body keeps the request for them out of URLs and access logs.
//!
//! Who may ask: whoever may read the circuit (its customer, the admin); another tenant's
//! circuit reads exactly like a missing one.

use api::BfdTimers;
use api::arm::ce_config::CustomerEdgeConfiguration;
use ipnet::IpNet;
use serde_json::Value;

use super::{Request, Vendor};
use crate::arm::{ArmError, Outcome, R, Verb};
use crate::model::Circuit;
use crate::resources::{circuits, rg, to_body};
use crate::service::{Call, Route, Service};
use crate::validate::{field, opt_bool, opt_str, opt_u64, req_str};

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(rg!(
            "/expressRouteCircuits/{circuitName}/customerEdgeConfiguration"
        ))
        .op(
            Verb::Post,
            "The customer-side router configuration of both links of a circuit (Causeway extension)",
            Some("CustomerEdgeConfigurationParameters"),
            &[(200, Some("CustomerEdgeConfiguration"))],
            post,
        ),
    ]
}

fn bad(code: &'static str, message: impl Into<String>) -> ArmError {
    ArmError::bad_request(code, message)
}

/// The request body, validated: nothing is looked up before it is well-formed.
pub fn parse_request(body: &Value) -> R<Request> {
    const KNOWN: [&str; 8] = [
        "vendor",
        "peeringName",
        "includeSecrets",
        "announcePrefixes",
        "primaryInterface",
        "secondaryInterface",
        "bfdIntervalMs",
        "bfdMultiplier",
    ];
    if let Some(obj) = body.as_object()
        && let Some(k) = obj.keys().find(|k| !KNOWN.contains(&k.as_str()))
    {
        return Err(bad(
            "InvalidRequestFormat",
            format!(
                "Unknown property '{}'; known: {}.",
                k.chars().take(80).collect::<String>(),
                KNOWN.join(", ")
            ),
        ));
    }
    let vendor_name = req_str(body, "vendor")?;
    let vendor = Vendor::parse(vendor_name).ok_or_else(|| {
        bad(
            "InvalidVendor",
            format!(
                "Vendor '{}' is not one Causeway writes for: use {}.",
                vendor_name.chars().take(40).collect::<String>(),
                Vendor::ALL.map(Vendor::as_str).join(", ")
            ),
        )
    })?;
    let mut req = Request::new(vendor);
    req.peering = opt_str(body, "peeringName")?.map(str::to_owned);
    req.with_secrets = opt_bool(body, "includeSecrets")?.unwrap_or(false);
    match field(body, "announcePrefixes") {
        None => {}
        Some(Value::Array(items)) => {
            if items.len() > 10_000 {
                return Err(bad(
                    "RouteLimitExceeded",
                    "At most 10,000 prefixes can be announced on any circuit.",
                ));
            }
            for (i, item) in items.iter().enumerate() {
                let s = item.as_str().ok_or_else(|| {
                    bad(
                        "InvalidRequestFormat",
                        format!("'announcePrefixes[{i}]' must be a string."),
                    )
                })?;
                let net: IpNet = s.parse().map_err(|_| {
                    bad(
                        "InvalidPrefix",
                        format!(
                            "'announcePrefixes[{i}]' = '{}' is not an IPv4 or IPv6 prefix (a.b.c.d/len).",
                            s.chars().take(60).collect::<String>()
                        ),
                    )
                })?;
                if net.trunc() != net {
                    return Err(bad(
                        "InvalidPrefix",
                        format!(
                            "'announcePrefixes[{i}]' = '{s}' has host bits set; did you mean {}?",
                            net.trunc()
                        ),
                    ));
                }
                req.announce.push(net);
            }
        }
        Some(_) => {
            return Err(bad(
                "InvalidRequestFormat",
                "'announcePrefixes' must be a list of prefixes.",
            ));
        }
    }
    req.interfaces = [
        opt_str(body, "primaryInterface")?.map(str::to_owned),
        opt_str(body, "secondaryInterface")?.map(str::to_owned),
    ];
    let interval = opt_u64(body, "bfdIntervalMs")?;
    let multiplier = opt_u64(body, "bfdMultiplier")?;
    if let Some(i) = interval
        && !(50..=10_000).contains(&i)
    {
        return Err(bad(
            "InvalidBfdTimers",
            "'bfdIntervalMs' must be 50 to 10000.",
        ));
    }
    if let Some(m) = multiplier
        && !(2..=50).contains(&m)
    {
        return Err(bad("InvalidBfdTimers", "'bfdMultiplier' must be 2 to 50."));
    }
    if interval.is_some() || multiplier.is_some() {
        let d = BfdTimers::default();
        req.bfd = Some(BfdTimers {
            interval_ms: interval.map_or(d.interval_ms, |i| i as u32),
            multiplier: multiplier.map_or(d.multiplier, |m| m as u8),
        });
    }
    Ok(req)
}

/// The configuration of `circuit` for `req`, with the service's inventory, AS and BFD.
pub fn generate(svc: &Service, circuit: &Circuit, req: &Request) -> R<CustomerEdgeConfiguration> {
    let plan = super::plan(
        circuit,
        &svc.edges.inventory(),
        svc.edges.local_as,
        svc.edges.bfd,
        req,
    )?;
    Ok(CustomerEdgeConfiguration {
        vendor: req.vendor.as_str().to_owned(),
        file_name: super::file_name(&plan, req.vendor),
        includes_secrets: plan
            .peerings
            .iter()
            .any(|p| matches!(p.md5, super::Md5::Key(_))),
        content: super::render(&plan, req.vendor),
    })
}

fn post(svc: &Service, call: &Call) -> R<Outcome> {
    let req = parse_request(call.body()?)?;
    let circuit = svc.read(|st| circuits::visible(st, call))?;
    Ok(Outcome::Ok(to_body(&generate(svc, &circuit, &req)?)))
}
