//! Resource providers of a subscription: what Terraform azurerm registers at start and what
//! `az resource show` reads the api-versions of a type from.
//!
//! The namespaces Causeway serves (Microsoft.Network, Microsoft.Resources) are registered
//! in every subscription, with the resource types their routes declare. Any other namespace
//! can be registered and unregistered — a per-subscription flag, as in ARM — but serves
//! nothing: a request for its types still answers 404 InvalidResourceType.

use api::arm::resources as res;
use serde::{Deserialize, Serialize};

use super::{Stored, load, put, to_body};
use crate::arm::{ArmError, Outcome, R, Verb, version};
use crate::service::{Call, Route, Service};

pub const KIND: &str = "providerRegistrations";

/// The namespaces served, registered everywhere.
const SERVED: &[&str] = &["Microsoft.Network", "Microsoft.Resources"];

/// api-versions listed for every served type, newest first (any version in the served
/// range is accepted; these are the ones clients pick from).
const API_VERSIONS: &[&str] = &[
    version::NEWEST_API_VERSION,
    "2025-07-01",
    "2025-05-01",
    "2025-03-01",
    "2025-01-01",
    "2024-10-01",
    "2024-07-01",
    "2024-05-01",
    "2024-03-01",
    "2024-01-01",
    "2023-11-01",
    "2023-09-01",
    "2023-06-01",
    "2023-04-01",
    "2023-02-01",
    "2022-11-01",
    "2022-09-01",
    "2022-07-01",
    "2022-05-01",
    "2022-01-01",
    "2021-08-01",
    "2021-05-01",
    "2021-03-01",
    "2021-02-01",
    "2020-11-01",
];

pub fn routes() -> Vec<Route> {
    vec![
        Route::new("/subscriptions/{subscriptionId}/providers").op(
            Verb::Get,
            "List the resource providers of a subscription",
            None,
            &[(200, Some("ProviderListResult"))],
            list_providers,
        ),
        Route::new("/subscriptions/{subscriptionId}/providers/{resourceProviderNamespace}").op(
            Verb::Get,
            "Get a resource provider",
            None,
            &[(200, Some("Provider"))],
            get_provider,
        ),
        Route::new(
            "/subscriptions/{subscriptionId}/providers/{resourceProviderNamespace}/register",
        )
        .op(
            Verb::Post,
            "Register a resource provider with a subscription",
            None,
            &[(200, Some("Provider"))],
            register,
        ),
        Route::new(
            "/subscriptions/{subscriptionId}/providers/{resourceProviderNamespace}/unregister",
        )
        .op(
            Verb::Post,
            "Unregister a resource provider",
            None,
            &[(200, Some("Provider"))],
            unregister,
        ),
    ]
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    pub sub: String,
    pub namespace: String,
    pub registered: bool,
}

fn registration_id(sub: &str, namespace: &str) -> String {
    format!("/subscriptions/{sub}/providers/{namespace}")
}

impl Stored for Registration {
    const KIND: &'static str = KIND;
    fn id(&self) -> String {
        registration_id(&self.sub, &self.namespace)
    }
    fn sub(&self) -> &str {
        &self.sub
    }
    fn rg(&self) -> &str {
        ""
    }
}

fn served(namespace: &str) -> Option<&'static str> {
    SERVED
        .iter()
        .copied()
        .find(|n| n.eq_ignore_ascii_case(namespace))
}

/// The resource types of a served namespace, from the routes themselves: every path below
/// `providers/{namespace}/` names its types (`expressRouteCircuits`,
/// `expressRouteCircuits/peerings`, …).
fn resource_types(svc: &Service, namespace: &str) -> Vec<res::ProviderResourceType> {
    let mut types: Vec<String> = Vec::new();
    if namespace == "Microsoft.Resources" {
        types = ["resourceGroups", "subscriptions", "tenants", "providers"]
            .map(str::to_owned)
            .to_vec();
    } else {
        for r in svc.routes() {
            let segs: Vec<&str> = r
                .template
                .text
                .split('/')
                .filter(|s| !s.is_empty())
                .collect();
            let Some(i) = segs
                .windows(2)
                .position(|w| w[0] == "providers" && w[1].eq_ignore_ascii_case(namespace))
            else {
                continue;
            };
            // Literal segments after the namespace at even steps are type names.
            let rest = &segs[i + 2..];
            let mut name = Vec::new();
            for (j, s) in rest.iter().enumerate() {
                if j % 2 == 0 {
                    if s.starts_with('{') {
                        break;
                    }
                    name.push(*s);
                }
            }
            if !name.is_empty() {
                let t = name.join("/");
                if !types.contains(&t) {
                    types.push(t);
                }
            }
        }
    }
    let versions: Vec<String> = API_VERSIONS.iter().map(|v| (*v).to_owned()).collect();
    types
        .into_iter()
        .map(|t| res::ProviderResourceType {
            resource_type: t,
            locations: Vec::new(),
            api_versions: versions.clone(),
            default_api_version: Some("2024-05-01".into()),
            capabilities: "None".into(),
        })
        .collect()
}

fn dto(svc: &Service, sub: &str, namespace: &str, registered: bool) -> res::Provider {
    let served = served(namespace);
    res::Provider {
        id: registration_id(sub, served.unwrap_or(namespace)),
        namespace: served.unwrap_or(namespace).to_owned(),
        registration_state: if served.is_some() || registered {
            "Registered"
        } else {
            "NotRegistered"
        }
        .into(),
        registration_policy: "RegistrationRequired".into(),
        resource_types: served.map(|n| resource_types(svc, n)).unwrap_or_default(),
    }
}

fn check_namespace(ns: &str) -> R<()> {
    let ok = !ns.is_empty()
        && ns.len() <= 100
        && ns.contains('.')
        && ns.chars().all(|c| c.is_ascii_alphanumeric() || c == '.');
    if ok {
        Ok(())
    } else {
        Err(ArmError::bad_request(
            "InvalidResourceNamespace",
            format!(
                "The resource namespace '{}' is invalid.",
                ns.chars().take(100).collect::<String>()
            ),
        ))
    }
}

fn list_providers(svc: &Service, call: &Call) -> R<Outcome> {
    let sub = call.params.sub();
    let mut items: Vec<res::Provider> = SERVED.iter().map(|n| dto(svc, sub, n, true)).collect();
    if call.owns(sub) {
        let registered =
            svc.read(|st| super::list::<Registration>(st, Some(sub), None, 0, usize::MAX))?;
        items.extend(
            registered
                .into_iter()
                .filter(|(_, r)| served(&r.namespace).is_none())
                .map(|(_, r)| dto(svc, sub, &r.namespace, r.registered)),
        );
    }
    Ok(svc.page_of(call, items.iter().map(to_body).collect()))
}

fn get_provider(svc: &Service, call: &Call) -> R<Outcome> {
    let (sub, ns) = (
        call.params.sub(),
        call.params.get("resourceProviderNamespace"),
    );
    check_namespace(ns)?;
    let registered = call.owns(sub)
        && svc
            .read(|st| load::<Registration>(st, &registration_id(sub, ns)))?
            .is_some_and(|r| r.registered);
    Ok(Outcome::Ok(to_body(&dto(svc, sub, ns, registered))))
}

fn set(svc: &Service, call: &Call, registered: bool) -> R<Outcome> {
    let (sub, ns) = (
        call.params.sub(),
        call.params.get("resourceProviderNamespace"),
    );
    check_namespace(ns)?;
    call.writable(sub)?;
    if served(ns).is_none() {
        svc.write(|tx| {
            let old = load::<Registration>(tx, &registration_id(sub, ns))?;
            put(
                tx,
                &Registration {
                    sub: sub.to_owned(),
                    namespace: old.map_or_else(|| ns.to_owned(), |o| o.namespace),
                    registered,
                },
            )
        })?;
    }
    Ok(Outcome::Ok(to_body(&dto(svc, sub, ns, registered))))
}

fn register(svc: &Service, call: &Call) -> R<Outcome> {
    set(svc, call, true)
}

fn unregister(svc: &Service, call: &Call) -> R<Outcome> {
    set(svc, call, false)
}
