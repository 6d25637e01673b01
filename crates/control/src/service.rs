//! The ExpressRoute rules: one function per ARM operation, each validating first and then
//! writing in one transaction, so a rejected request changes nothing.
//!
//! All mutations go through one lock on the store: requests on the same circuit are
//! serialized (queued), never interleaved or lost.

use std::sync::{Mutex, MutexGuard};

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::arm::{ArmError, CircuitPath, Target};
use crate::auth::Principal;
use crate::catalog::Catalog;
use crate::model::{Authorization, Circuit, Peering, cross_connection_rg, new_etag};
use crate::store::{Operation, Store, StoreError};
use crate::time::now_rfc3339;
use crate::validate;

/// How many items a list answers per page before giving a `nextLink`.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// Provider-side provisioning states (§ the cross-connection workflow).
pub const PROVIDER_STATES: [&str; 4] = [
    "NotProvisioned",
    "Provisioning",
    "Provisioned",
    "Deprovisioning",
];

#[derive(Debug)]
pub struct Service {
    store: Mutex<Store>,
    pub catalog: Catalog,
    pub page_size: usize,
    /// The edges: inventory, generation clock, live reports.
    pub edges: crate::edges::EdgeHub,
}

/// One ARM request, already authenticated and parsed.
#[derive(Debug)]
pub struct Request {
    pub principal: Principal,
    pub method: Method,
    pub target: Target,
    pub api_version: String,
    /// `scheme://host` the client used: links we hand out point back at it.
    pub base: String,
    /// The request path as sent (for nextLink).
    pub path: String,
    pub body: Option<Value>,
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
    pub skip: usize,
}

/// What to answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Option<Value>,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub(crate) fn ok(body: Value) -> Reply {
        Reply {
            status: StatusCode::OK,
            body: Some(body),
            headers: Vec::new(),
        }
    }
    pub(crate) fn no_content() -> Reply {
        Reply {
            status: StatusCode::NO_CONTENT,
            body: None,
            headers: Vec::new(),
        }
    }
}

impl From<StoreError> for ArmError {
    fn from(e: StoreError) -> Self {
        tracing::error!("store failure: {e}");
        ArmError::internal()
    }
}

type R<T> = Result<T, ArmError>;

pub(crate) fn method_not_allowed(method: &Method) -> ArmError {
    ArmError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        format!("The method {method} is not allowed on this resource."),
    )
}

pub(crate) fn forbidden(principal: &Principal, sub: &str) -> ArmError {
    ArmError::new(
        StatusCode::FORBIDDEN,
        "AuthorizationFailed",
        format!(
            "The client '{}' does not have authorization to write in scope '/subscriptions/{sub}'.",
            principal_kind(principal)
        ),
    )
}

fn principal_kind(p: &Principal) -> &'static str {
    match p {
        Principal::Admin => "admin",
        Principal::Customer { .. } => "customer",
        Principal::Provider { .. } => "provider",
        Principal::Edge { .. } => "edge",
    }
}

pub(crate) fn require_body(req: &Request) -> R<&Value> {
    match &req.body {
        Some(v @ Value::Object(_)) => Ok(v),
        Some(_) => Err(ArmError::bad_request(
            "InvalidRequestFormat",
            "The request body must be a JSON object.",
        )),
        None => Err(ArmError::bad_request(
            "InvalidRequestFormat",
            "A JSON request body is required.",
        )),
    }
}

/// `If-Match` / `If-None-Match` against the current etag (`None` = does not exist).
pub(crate) fn check_preconditions(req: &Request, current: Option<&str>) -> R<()> {
    let failed = |m: String| {
        Err(ArmError::new(
            StatusCode::PRECONDITION_FAILED,
            "PreconditionFailed",
            m,
        ))
    };
    if let Some(m) = &req.if_match {
        match current {
            None => return failed("If-Match was given but the resource does not exist.".into()),
            Some(cur) if m != "*" && m.trim() != cur => {
                return failed(format!(
                    "If-Match {m} does not match the current etag {cur}."
                ));
            }
            _ => {}
        }
    }
    if let (Some(m), Some(cur)) = (&req.if_none_match, current)
        && (m == "*" || m.trim() == cur)
    {
        return failed("If-None-Match: the resource already exists.".into());
    }
    Ok(())
}

impl Service {
    /// A service with the built-in edge inventory (the lab location's pair).
    pub fn new(store: Store, catalog: Catalog) -> Service {
        Service::with_inventory(store, catalog, crate::inventory::Inventory::default())
    }

    pub fn with_inventory(
        mut store: Store,
        catalog: Catalog,
        inventory: crate::inventory::Inventory,
    ) -> Service {
        let generation = store.generation().unwrap_or(0);
        let instance = store.instance().unwrap_or_else(|_| "00000000".into());
        Service {
            store: Mutex::new(store),
            catalog,
            page_size: DEFAULT_PAGE_SIZE,
            edges: crate::edges::EdgeHub::new(inventory, generation, instance),
        }
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` with the store (token commands, tests).
    pub fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        f(&mut self.store())
    }

    pub fn handle(&self, req: &Request) -> R<Reply> {
        let reply = self.handle_locked(req)?;
        if req.method != Method::GET {
            // A committed change may concern the edges: wake them.
            self.publish_generation();
        }
        Ok(reply)
    }

    fn handle_locked(&self, req: &Request) -> R<Reply> {
        let m = &req.method;
        let mut store = self.store();
        let st = &mut *store;
        match &req.target {
            Target::ServiceProviders { sub } => match *m {
                Method::GET => Ok(self.page(req, self.catalog.render(sub))),
                _ => Err(method_not_allowed(m)),
            },
            Target::Circuits { sub, rg } => match *m {
                Method::GET => {
                    let items = if req.principal.owns_subscription(sub) {
                        st.circuits(sub, rg.as_deref())?
                            .iter()
                            .map(|c| self.render_circuit(c))
                            .collect()
                    } else {
                        Vec::new()
                    };
                    Ok(self.page(req, items))
                }
                _ => Err(method_not_allowed(m)),
            },
            Target::Circuit(cp) => match *m {
                Method::GET => Ok(Reply::ok(
                    self.render_circuit(&self.visible_circuit(st, req, cp)?),
                )),
                Method::PUT => self.put_circuit(st, req, cp),
                Method::PATCH => self.patch_circuit(st, req, cp),
                Method::DELETE => self.delete_circuit(st, req, cp),
                _ => Err(method_not_allowed(m)),
            },
            Target::CircuitStats(cp) => match *m {
                Method::GET => {
                    let c = self.visible_circuit(st, req, cp)?;
                    Ok(Reply::ok(self.link_stats(&c, None)))
                }
                _ => Err(method_not_allowed(m)),
            },
            Target::Peerings(cp) => match *m {
                Method::GET => {
                    let c = self.visible_circuit(st, req, cp)?;
                    // Each item is exactly what a GET of that peering answers.
                    let items = c
                        .peerings
                        .iter()
                        .map(|p| self.render_peering(&c, &p.name))
                        .collect::<R<Vec<_>>>()?;
                    Ok(self.page(req, items))
                }
                _ => Err(method_not_allowed(m)),
            },
            Target::Peering(cp, name) => match *m {
                Method::GET => {
                    let c = self.visible_circuit(st, req, cp)?;
                    Ok(Reply::ok(self.render_peering(&c, name)?))
                }
                Method::PUT => {
                    let c = self.writable_circuit(st, req, cp)?;
                    self.put_peering(st, req, c, name, "Customer", false)
                }
                Method::DELETE => {
                    let Some(c) = self.deletable_circuit(st, req, cp)? else {
                        return Ok(Reply::no_content());
                    };
                    self.delete_peering(st, req, c, name)
                }
                _ => Err(method_not_allowed(m)),
            },
            Target::PeeringStats(cp, name) => match *m {
                Method::GET => {
                    let c = self.visible_circuit(st, req, cp)?;
                    peering_of(&c, name)?;
                    Ok(Reply::ok(self.link_stats(&c, Some(name))))
                }
                _ => Err(method_not_allowed(m)),
            },
            Target::PeeringAction(cp, name, action, device) => match *m {
                Method::POST => {
                    let c = self.visible_circuit(st, req, cp)?;
                    peering_of(&c, name)?;
                    let result = self.diagnostics(&c, name, *action, *device, false);
                    self.action(st, req, &c, result)
                }
                _ => Err(method_not_allowed(m)),
            },
            Target::Authorizations(cp) => match *m {
                Method::GET => {
                    let c = self.visible_circuit(st, req, cp)?;
                    let id = c.id();
                    let items = c.authorizations.iter().map(|a| a.render(&id)).collect();
                    Ok(self.page(req, items))
                }
                _ => Err(method_not_allowed(m)),
            },
            Target::Authorization(cp, name) => match *m {
                Method::GET => {
                    let c = self.visible_circuit(st, req, cp)?;
                    let a = c
                        .authorization(name)
                        .ok_or_else(|| ArmError::not_found("authorizations", name))?;
                    Ok(Reply::ok(a.render(&c.id())))
                }
                Method::PUT => {
                    let c = self.writable_circuit(st, req, cp)?;
                    self.put_authorization(st, req, c, name)
                }
                Method::DELETE => {
                    let Some(c) = self.deletable_circuit(st, req, cp)? else {
                        return Ok(Reply::no_content());
                    };
                    self.delete_authorization(st, req, c, name)
                }
                _ => Err(method_not_allowed(m)),
            },
            Target::CrossConnections { sub, rg } => match *m {
                Method::GET => {
                    let items = self
                        .cross_connections(st, req, sub)?
                        .into_iter()
                        .filter(|c| {
                            rg.as_ref().is_none_or(|rg| {
                                rg.eq_ignore_ascii_case(&cross_connection_rg(
                                    &c.provider.peering_location,
                                ))
                            })
                        })
                        .map(|c| c.render_cross_connection(sub))
                        .collect();
                    Ok(self.page(req, items))
                }
                _ => Err(method_not_allowed(m)),
            },
            Target::CrossConnection(cp) => match *m {
                Method::GET => {
                    let c = self.cross_connection(st, req, cp)?;
                    Ok(Reply::ok(c.render_cross_connection(&cp.sub)))
                }
                Method::PUT => self.put_cross_connection(st, req, cp),
                Method::PATCH => {
                    let mut c = self.cross_connection(st, req, cp)?;
                    let body = require_body(req)?;
                    check_preconditions(req, Some(&c.etag))?;
                    c.cross_connection_tags = validate::tags(body)?;
                    c.etag = new_etag();
                    st.put_circuit(&c, None)?;
                    Ok(Reply::ok(c.render_cross_connection(&cp.sub)))
                }
                _ => Err(method_not_allowed(m)),
            },
            Target::CrossConnectionPeerings(cp) => match *m {
                Method::GET => {
                    let c = self.cross_connection(st, req, cp)?;
                    let id = c.cross_connection_id(&cp.sub);
                    let items = c
                        .peerings
                        .iter()
                        .map(|p| p.render(&id, "expressRouteCrossConnections", &c))
                        .collect();
                    Ok(self.page(req, items))
                }
                _ => Err(method_not_allowed(m)),
            },
            Target::CrossConnectionPeering(cp, name) => match *m {
                Method::GET => {
                    let c = self.cross_connection(st, req, cp)?;
                    let p = peering_of(&c, name)?;
                    Ok(Reply::ok(p.render(
                        &c.cross_connection_id(&cp.sub),
                        "expressRouteCrossConnections",
                        &c,
                    )))
                }
                Method::PUT => {
                    let c = self.cross_connection(st, req, cp)?;
                    self.put_peering(st, req, c, name, "ServiceProvider", true)
                }
                Method::DELETE => {
                    let c = match self.cross_connection(st, req, cp) {
                        Ok(c) => c,
                        Err(e) if e.status == StatusCode::NOT_FOUND => {
                            return Ok(Reply::no_content());
                        }
                        Err(e) => return Err(e),
                    };
                    self.delete_peering(st, req, c, name)
                }
                _ => Err(method_not_allowed(m)),
            },
            Target::CrossConnectionPeeringAction(cp, name, action, device) => match *m {
                Method::POST => {
                    let c = self.cross_connection(st, req, cp)?;
                    peering_of(&c, name)?;
                    let result = self.diagnostics(&c, name, *action, *device, true);
                    self.action(st, req, &c, result)
                }
                _ => Err(method_not_allowed(m)),
            },
            Target::Operation {
                sub, id, result, ..
            } => match *m {
                Method::GET => self.operation(st, req, sub, id, *result),
                _ => Err(method_not_allowed(m)),
            },
            Target::Cloud(t) => self.cloud(st, req, t),
        }
    }

    // ----- lookups with tenant isolation -----

    /// A circuit the principal may read; another tenant's answers exactly like a missing one.
    fn visible_circuit(&self, st: &Store, req: &Request, cp: &CircuitPath) -> R<Circuit> {
        let found = if req.principal.owns_subscription(&cp.sub) {
            st.circuit(&cp.sub, &cp.rg, &cp.name)?
        } else {
            None
        };
        found.ok_or_else(|| ArmError::not_found("Microsoft.Network/expressRouteCircuits", &cp.name))
    }

    /// A circuit the principal may change a child of (403 outside its scope, 404 missing).
    fn writable_circuit(&self, st: &Store, req: &Request, cp: &CircuitPath) -> R<Circuit> {
        if !req.principal.owns_subscription(&cp.sub) {
            return Err(forbidden(&req.principal, &cp.sub));
        }
        self.visible_circuit(st, req, cp)
    }

    /// For DELETE of a child: `None` when there is nothing to delete (answer 204).
    fn deletable_circuit(&self, st: &Store, req: &Request, cp: &CircuitPath) -> R<Option<Circuit>> {
        if !req.principal.owns_subscription(&cp.sub) {
            return Ok(None);
        }
        Ok(st.circuit(&cp.sub, &cp.rg, &cp.name)?)
    }

    /// Circuits whose cross-connections live in `sub` and are visible to the principal.
    fn cross_connections(&self, st: &Store, req: &Request, sub: &str) -> R<Vec<Circuit>> {
        let Some(provider) = self.catalog.provider_by_subscription(sub) else {
            return Ok(Vec::new());
        };
        if !req.principal.is_provider(&provider.name) {
            return Ok(Vec::new());
        }
        Ok(st.circuits_of_provider(&provider.name)?)
    }

    fn cross_connection(&self, st: &Store, req: &Request, cp: &CircuitPath) -> R<Circuit> {
        let not_found =
            || ArmError::not_found("Microsoft.Network/expressRouteCrossConnections", &cp.name);
        let provider = self
            .catalog
            .provider_by_subscription(&cp.sub)
            .filter(|p| req.principal.is_provider(&p.name))
            .ok_or_else(not_found)?;
        let c = st.circuit_by_service_key(&cp.name)?.ok_or_else(not_found)?;
        let same_provider = c
            .provider
            .service_provider_name
            .eq_ignore_ascii_case(&provider.name);
        let same_rg = cp
            .rg
            .eq_ignore_ascii_case(&cross_connection_rg(&c.provider.peering_location));
        if !same_provider || !same_rg {
            return Err(not_found());
        }
        Ok(c)
    }

    // ----- circuits -----

    fn put_circuit(&self, st: &mut Store, req: &Request, cp: &CircuitPath) -> R<Reply> {
        if !req.principal.owns_subscription(&cp.sub) {
            return Err(forbidden(&req.principal, &cp.sub));
        }
        validate::resource_name("expressRouteCircuits", &cp.name)?;
        validate::resource_name("resourceGroups", &cp.rg)?;
        let body = require_body(req)?;
        let input = validate::circuit(body, &self.catalog)?;
        let existing = st.circuit(&cp.sub, &cp.rg, &cp.name)?;
        check_preconditions(req, existing.as_ref().map(|c| c.etag.as_str()))?;
        let created = existing.is_none();
        let circuit = match existing {
            None => Circuit {
                sub: cp.sub.clone(),
                rg: cp.rg.clone(),
                name: cp.name.clone(),
                location: input.location,
                tags: input.tags,
                sku: input.sku,
                service_key: uuid::Uuid::new_v4().to_string(),
                provider: input.provider,
                provider_state: "NotProvisioned".into(),
                provider_notes: String::new(),
                allow_classic_operations: input.allow_classic_operations,
                global_reach_enabled: input.global_reach_enabled,
                peerings: Vec::new(),
                authorizations: Vec::new(),
                etag: new_etag(),
                cross_connection_tags: Default::default(),
                stag: None,
                drain: Default::default(),
            },
            Some(old) => {
                update_rules(&old, &input)?;
                Circuit {
                    location: old.location.clone(),
                    tags: input.tags,
                    sku: input.sku,
                    provider: input.provider,
                    allow_classic_operations: input.allow_classic_operations,
                    global_reach_enabled: input.global_reach_enabled,
                    etag: new_etag(),
                    ..old
                }
            }
        };
        let op = self.operation_record(&cp.sub, Some(circuit.id()), None);
        st.put_circuit(&circuit, Some(&op))?;
        let status = if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        Ok(self.lro(
            req,
            status,
            Some(self.render_circuit(&circuit)),
            &circuit.location,
            &op,
        ))
    }

    fn patch_circuit(&self, st: &mut Store, req: &Request, cp: &CircuitPath) -> R<Reply> {
        if !req.principal.owns_subscription(&cp.sub) {
            return Err(forbidden(&req.principal, &cp.sub));
        }
        let body = require_body(req)?;
        let mut c = self.visible_circuit(st, req, cp)?;
        check_preconditions(req, Some(&c.etag))?;
        // UpdateTags: the whole tag set is replaced.
        c.tags = validate::tags(body)?;
        c.etag = new_etag();
        st.put_circuit(&c, None)?;
        Ok(Reply::ok(self.render_circuit(&c)))
    }

    fn delete_circuit(&self, st: &mut Store, req: &Request, cp: &CircuitPath) -> R<Reply> {
        let Some(c) = self.deletable_circuit(st, req, cp)? else {
            return Ok(Reply::no_content());
        };
        check_preconditions(req, Some(&c.etag))?;
        if c.provider_state != "NotProvisioned" {
            return Err(ArmError::conflict(
                "CircuitNotDeprovisioned",
                format!(
                    "Circuit '{}' is {} by its provider '{}'. Ask the provider to deprovision it \
                     (serviceProviderProvisioningState must be NotProvisioned) before deleting it.",
                    c.name, c.provider_state, c.provider.service_provider_name
                ),
            ));
        }
        self.refuse_if_connected(st, req, &c, None)?;
        let op = self.operation_record(&cp.sub, None, None);
        st.delete_circuit(&cp.sub, &cp.rg, &cp.name, Some(&op))?;
        Ok(self.lro(req, StatusCode::ACCEPTED, None, &c.location, &op))
    }

    // ----- peerings -----

    fn put_peering(
        &self,
        st: &mut Store,
        req: &Request,
        mut c: Circuit,
        name: &str,
        modified_by: &str,
        cross: bool,
    ) -> R<Reply> {
        let body = require_body(req)?;
        let others: Vec<Peering> = c.peerings.clone();
        let existing = c.peering(name).cloned();
        check_preconditions(req, existing.as_ref().map(|p| p.etag.as_str()))?;
        let mut peering = validate::peering(body, name, &others, modified_by)?;
        // A PUT without sharedKey keeps the key already configured only if the body never
        // mentions it; sending "" removes it. The key is never echoed, so clients that
        // GET-modify-PUT would otherwise erase it.
        if validate::field(body, "properties.sharedKey").is_none()
            && let Some(old) = &existing
        {
            peering.shared_key = old.shared_key.clone();
        }
        let created = existing.is_none();
        c.peerings
            .retain(|p| !p.name.eq_ignore_ascii_case(&peering.name));
        c.peerings.push(peering.clone());
        c.peerings.sort_by(|a, b| a.name.cmp(&b.name));
        c.etag = new_etag();
        let parent = if cross {
            c.cross_connection_id(&req_sub(req))
        } else {
            c.id()
        };
        let kind = if cross {
            "expressRouteCrossConnections"
        } else {
            "expressRouteCircuits"
        };
        let path = format!("{parent}/peerings/{}", peering.name);
        let op = self.operation_record(&req_sub(req), Some(path), None);
        st.put_circuit(&c, Some(&op))?;
        let status = if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        let rendered = if cross {
            peering.render(&parent, kind, &c)
        } else {
            self.render_peering(&c, &peering.name)?
        };
        Ok(self.lro(req, status, Some(rendered), &c.location, &op))
    }

    fn delete_peering(
        &self,
        st: &mut Store,
        req: &Request,
        mut c: Circuit,
        name: &str,
    ) -> R<Reply> {
        let Some(p) = c.peering(name).cloned() else {
            return Ok(Reply::no_content());
        };
        check_preconditions(req, Some(&p.etag))?;
        self.refuse_if_connected(st, req, &c, Some(&p.name))?;
        c.peerings.retain(|x| !x.name.eq_ignore_ascii_case(name));
        c.etag = new_etag();
        let op = self.operation_record(&req_sub(req), None, None);
        st.put_circuit(&c, Some(&op))?;
        Ok(self.lro(req, StatusCode::ACCEPTED, None, &c.location, &op))
    }

    // ----- authorizations -----

    fn put_authorization(
        &self,
        st: &mut Store,
        req: &Request,
        mut c: Circuit,
        name: &str,
    ) -> R<Reply> {
        validate::resource_name("authorizations", name)?;
        // An authorization PUT may be `{}` or carry no body at all.
        if let Some(b) = &req.body
            && !b.is_object()
        {
            return Err(ArmError::bad_request(
                "InvalidRequestFormat",
                "The request body must be a JSON object.",
            ));
        }
        let existing = c.authorization(name).cloned();
        check_preconditions(req, existing.as_ref().map(|a| a.etag.as_str()))?;
        let created = existing.is_none();
        let auth = match existing {
            Some(a) => Authorization {
                etag: new_etag(),
                ..a
            },
            None => {
                if c.authorizations.len() >= 10 {
                    return Err(ArmError::bad_request(
                        "AuthorizationLimitReached",
                        "A circuit has at most 10 authorizations.",
                    ));
                }
                Authorization {
                    name: name.to_owned(),
                    key: uuid::Uuid::new_v4().to_string(),
                    use_status: "Available".into(),
                    etag: new_etag(),
                    connection_resource_uri: None,
                }
            }
        };
        c.authorizations
            .retain(|a| !a.name.eq_ignore_ascii_case(name));
        c.authorizations.push(auth.clone());
        c.etag = new_etag();
        let op = self.operation_record(
            &c.sub,
            Some(format!("{}/authorizations/{}", c.id(), auth.name)),
            None,
        );
        st.put_circuit(&c, Some(&op))?;
        let status = if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        Ok(self.lro(req, status, Some(auth.render(&c.id())), &c.location, &op))
    }

    fn delete_authorization(
        &self,
        st: &mut Store,
        req: &Request,
        mut c: Circuit,
        name: &str,
    ) -> R<Reply> {
        let Some(a) = c.authorization(name).cloned() else {
            return Ok(Reply::no_content());
        };
        check_preconditions(req, Some(&a.etag))?;
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
        c.etag = new_etag();
        let op = self.operation_record(&c.sub, None, None);
        st.put_circuit(&c, Some(&op))?;
        Ok(self.lro(req, StatusCode::ACCEPTED, None, &c.location, &op))
    }

    // ----- provider side -----

    fn put_cross_connection(&self, st: &mut Store, req: &Request, cp: &CircuitPath) -> R<Reply> {
        let mut c = self.cross_connection(st, req, cp)?;
        let body = require_body(req)?;
        check_preconditions(req, Some(&c.etag))?;
        if let Some(state) = validate::opt_str(body, "properties.serviceProviderProvisioningState")?
        {
            let to = PROVIDER_STATES
                .iter()
                .find(|s| s.eq_ignore_ascii_case(state))
                .ok_or_else(|| {
                    ArmError::bad_request(
                        "InvalidServiceProviderProvisioningState",
                        format!("'{state}' is not one of {}.", PROVIDER_STATES.join(", ")),
                    )
                })?;
            provider_transition(&c, to)?;
            if *to == "Provisioned" && c.stag.is_none() {
                c.stag = Some(allocate_stag(st, &c)?);
            }
            c.provider_state = (*to).to_owned();
        }
        if let Some(notes) = validate::opt_str(body, "properties.serviceProviderNotes")? {
            c.provider_notes = notes.to_owned();
        }
        if validate::field(body, "tags").is_some() {
            c.cross_connection_tags = validate::tags(body)?;
        }
        c.etag = new_etag();
        let op = self.operation_record(&cp.sub, Some(c.cross_connection_id(&cp.sub)), None);
        st.put_circuit(&c, Some(&op))?;
        Ok(self.lro(
            req,
            StatusCode::OK,
            Some(c.render_cross_connection(&cp.sub)),
            &c.location,
            &op,
        ))
    }

    // ----- diagnostics -----

    /// ARP, route table and route summary of one link: live data from the edge carrying it
    /// (empty tables, in the shape clients expect, until that edge reports). Answered as a
    /// long-running operation whose result is kept with the operation record.
    fn action(&self, st: &mut Store, req: &Request, c: &Circuit, result: Value) -> R<Reply> {
        let op = self.operation_record(&req_sub(req), None, Some(result));
        st.put_operation(&op)?;
        Ok(self.lro(req, StatusCode::ACCEPTED, None, &c.location, &op))
    }

    /// A peering body with its sessions' live status (`properties.causeway`).
    fn render_peering(&self, c: &Circuit, name: &str) -> R<Value> {
        let p = peering_of(c, name)?;
        let mut v = p.render(&c.id(), "expressRouteCircuits", c);
        v["properties"]["azureASN"] = json!(self.edges.local_as);
        v["properties"]["causeway"] = json!({"links": self.peering_status(c, name)});
        Ok(v)
    }

    /// The circuit body with its links' live status (`properties.causeway`).
    fn render_circuit(&self, c: &Circuit) -> Value {
        let mut v = c.render();
        // Embedded peerings are exactly what a GET of each answers.
        let peerings: Vec<Value> = c
            .peerings
            .iter()
            .filter_map(|p| self.render_peering(c, &p.name).ok())
            .collect();
        v["properties"]["peerings"] = Value::Array(peerings);
        v["properties"]["causeway"] = json!({"links": self.link_status(c)});
        v
    }

    fn operation(&self, st: &Store, req: &Request, sub: &str, id: &str, result: bool) -> R<Reply> {
        let visible = req.principal.owns_subscription(sub)
            || self
                .catalog
                .provider_by_subscription(sub)
                .is_some_and(|p| req.principal.is_provider(&p.name));
        let op = st
            .operation(id)?
            .filter(|op| visible && op.sub.eq_ignore_ascii_case(sub))
            .ok_or_else(|| ArmError::not_found("operations", id))?;
        if !result {
            return Ok(Reply::ok(json!({
                "id": req.path,
                "name": op.id,
                "status": op.status,
                "startTime": op.start_time,
                "endTime": op.end_time,
            })));
        }
        if let Some(r) = op.result {
            return Ok(Reply::ok(r));
        }
        let Some(path) = op.resource_path else {
            return Ok(Reply::no_content());
        };
        // The result of a PUT is the resource as it is now.
        let Some(target) = crate::arm::parse_path(&path) else {
            return Ok(Reply::no_content());
        };
        let get = Request {
            principal: req.principal.clone(),
            method: Method::GET,
            target,
            api_version: req.api_version.clone(),
            base: req.base.clone(),
            path,
            body: None,
            if_match: None,
            if_none_match: None,
            skip: 0,
        };
        self.read_only(st, &get)
    }

    /// GET handling for an operation result, with the store already locked.
    fn read_only(&self, st: &Store, req: &Request) -> R<Reply> {
        match &req.target {
            Target::Circuit(cp) => Ok(Reply::ok(
                self.render_circuit(&self.visible_circuit(st, req, cp)?),
            )),
            Target::Peering(cp, name) => {
                let c = self.visible_circuit(st, req, cp)?;
                Ok(Reply::ok(self.render_peering(&c, name)?))
            }
            Target::Authorization(cp, name) => {
                let c = self.visible_circuit(st, req, cp)?;
                let a = c
                    .authorization(name)
                    .ok_or_else(|| ArmError::not_found("authorizations", name))?;
                Ok(Reply::ok(a.render(&c.id())))
            }
            Target::CrossConnection(cp) => {
                let c = self.cross_connection(st, req, cp)?;
                Ok(Reply::ok(c.render_cross_connection(&cp.sub)))
            }
            Target::CrossConnectionPeering(cp, name) => {
                let c = self.cross_connection(st, req, cp)?;
                let p = peering_of(&c, name)?;
                Ok(Reply::ok(p.render(
                    &c.cross_connection_id(&cp.sub),
                    "expressRouteCrossConnections",
                    &c,
                )))
            }
            Target::Cloud(t) => self.cloud_get(st, req, t),
            _ => Ok(Reply::no_content()),
        }
    }

    // ----- helpers -----

    pub(crate) fn operation_record(
        &self,
        sub: &str,
        resource_path: Option<String>,
        result: Option<Value>,
    ) -> Operation {
        let now = now_rfc3339();
        Operation {
            id: uuid::Uuid::new_v4().to_string(),
            sub: sub.to_owned(),
            status: "Succeeded".into(),
            resource_path,
            result,
            start_time: now.clone(),
            end_time: now,
        }
    }

    /// A long-running operation's first answer: `Azure-AsyncOperation`, `Location`,
    /// `Retry-After`. Work is done by the time we answer, so the first poll reads Succeeded.
    pub(crate) fn lro(
        &self,
        req: &Request,
        status: StatusCode,
        body: Option<Value>,
        location: &str,
        op: &Operation,
    ) -> Reply {
        let region: String = location
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        let region = if region.is_empty() {
            "global".to_owned()
        } else {
            region
        };
        let prefix = format!(
            "{}/subscriptions/{}/providers/Microsoft.Network/locations/{region}",
            req.base, op.sub
        );
        Reply {
            status,
            body,
            headers: vec![
                (
                    "Azure-AsyncOperation",
                    format!(
                        "{prefix}/operations/{}?api-version={}",
                        op.id, req.api_version
                    ),
                ),
                (
                    "Location",
                    format!(
                        "{prefix}/operationResults/{}?api-version={}",
                        op.id, req.api_version
                    ),
                ),
                ("Retry-After", "1".into()),
            ],
        }
    }

    /// One page of a list, with a `nextLink` carrying the api-version when more remain.
    pub(crate) fn page(&self, req: &Request, items: Vec<Value>) -> Reply {
        let start = req.skip.min(items.len());
        let end = (start + self.page_size).min(items.len());
        let mut body = json!({"value": items[start..end]});
        if end < items.len() {
            body["nextLink"] = json!(format!(
                "{}{}?api-version={}&$skipToken={end}",
                req.base, req.path, req.api_version
            ));
        }
        Reply::ok(body)
    }
}

fn req_sub(req: &Request) -> String {
    match &req.target {
        Target::ServiceProviders { sub }
        | Target::Circuits { sub, .. }
        | Target::CrossConnections { sub, .. }
        | Target::Operation { sub, .. } => sub.clone(),
        Target::Circuit(cp)
        | Target::CircuitStats(cp)
        | Target::Peerings(cp)
        | Target::Peering(cp, _)
        | Target::PeeringStats(cp, _)
        | Target::PeeringAction(cp, ..)
        | Target::Authorizations(cp)
        | Target::Authorization(cp, _)
        | Target::CrossConnection(cp)
        | Target::CrossConnectionPeerings(cp)
        | Target::CrossConnectionPeering(cp, _)
        | Target::CrossConnectionPeeringAction(cp, ..) => cp.sub.clone(),
        Target::Cloud(t) => t.sub().to_owned(),
    }
}

/// The lowest QinQ S-tag from 100 not used by another circuit at the same location.
fn allocate_stag(st: &Store, c: &Circuit) -> R<u16> {
    let used: std::collections::HashSet<u16> = st
        .all_circuits()?
        .iter()
        .filter(|o| {
            o.service_key != c.service_key
                && o.provider
                    .peering_location
                    .eq_ignore_ascii_case(&c.provider.peering_location)
        })
        .filter_map(|o| o.stag)
        .collect();
    (100..=4094).find(|s| !used.contains(s)).ok_or_else(|| {
        ArmError::conflict(
            "NoFreeSTag",
            "Every S-tag at this peering location is in use.",
        )
    })
}

/// What a circuit update may change (Azure's rules): provider and location never; bandwidth
/// only up; MeteredData → UnlimitedData but not back; Standard ↔ Premium freely.
fn update_rules(old: &Circuit, new: &validate::CircuitInput) -> R<()> {
    let bad = |code, m: String| Err(ArmError::bad_request(code, m));
    if !old
        .provider
        .service_provider_name
        .eq_ignore_ascii_case(&new.provider.service_provider_name)
        || !old
            .provider
            .peering_location
            .eq_ignore_ascii_case(&new.provider.peering_location)
    {
        return bad(
            "CannotChangeServiceProviderOrLocation",
            "A circuit's provider and peering location cannot change; create a new circuit instead.".into(),
        );
    }
    if new.provider.bandwidth_in_mbps < old.provider.bandwidth_in_mbps {
        return bad(
            "CannotDecreaseBandwidth",
            format!(
                "Bandwidth can only be increased in place ({} → {} Mbps); delete and recreate the circuit to lower it.",
                old.provider.bandwidth_in_mbps, new.provider.bandwidth_in_mbps
            ),
        );
    }
    if old.sku.family == "UnlimitedData" && new.sku.family == "MeteredData" {
        return bad(
            "CannotChangeSkuFamily",
            "A circuit can move from MeteredData to UnlimitedData, not back.".into(),
        );
    }
    if (old.sku.tier == "Local") != (new.sku.tier == "Local") {
        return bad(
            "CannotChangeSkuTier",
            format!(
                "The SKU tier cannot change between Local and {}.",
                if old.sku.tier == "Local" {
                    &new.sku.tier
                } else {
                    &old.sku.tier
                }
            ),
        );
    }
    if !old.location.eq_ignore_ascii_case(&new.location) {
        return bad(
            "CannotChangeLocation",
            format!(
                "The circuit's location is '{}' and cannot change.",
                old.location
            ),
        );
    }
    Ok(())
}

/// The provider's workflow: NotProvisioned → Provisioning → Provisioned → Deprovisioning →
/// NotProvisioned (Provisioning may be skipped, and abandoned back to NotProvisioned).
fn provider_transition(c: &Circuit, to: &str) -> R<()> {
    let from = c.provider_state.as_str();
    let allowed = from == to
        || matches!(
            (from, to),
            ("NotProvisioned", "Provisioning")
                | ("NotProvisioned", "Provisioned")
                | ("Provisioning", "Provisioned")
                | ("Provisioning", "NotProvisioned")
                | ("Provisioned", "Deprovisioning")
                | ("Deprovisioning", "NotProvisioned")
        );
    if allowed {
        Ok(())
    } else {
        Err(ArmError::bad_request(
            "InvalidServiceProviderProvisioningStateTransition",
            format!(
                "serviceProviderProvisioningState cannot go from {from} to {to}; the order is NotProvisioned → Provisioning → Provisioned → Deprovisioning → NotProvisioned."
            ),
        ))
    }
}

/// A circuit's peering by name, or the 404 a missing one answers.
fn peering_of<'a>(c: &'a Circuit, name: &str) -> R<&'a crate::model::Peering> {
    c.peering(name)
        .ok_or_else(|| ArmError::not_found("peerings", name))
}
