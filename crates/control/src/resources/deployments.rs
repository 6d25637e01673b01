//! `Microsoft.Resources/deployments` in a resource group: ARM templates, as far as the tools
//! need them. `az network vpn-connection create` (and a plain `az deployment group create`
//! of a simple template) sends one: a list of resources with literal properties, secure
//! values as `[parameters('name')]`, and outputs as `[reference('name')]`.
//!
//! What is evaluated: `parameters('x')` (from the deployment's parameters, else the
//! template's `defaultValue`), `reference('name')` in outputs (the deployed resource's
//! `properties`), `[[` as a literal `[`, resources with `condition: false` skipped. Each
//! resource is deployed in order through its own PUT — the same handler, validation and
//! rules as a direct request, as the caller. Anything else (other functions, `copy`, child
//! resources by a `/` name, resource types outside Microsoft.Network, nested deployments)
//! is refused up front (`InvalidTemplate`) with nothing deployed. A resource's refusal stops
//! the deployment (`DeploymentFailed`, naming the resource and its error); resources
//! deployed before it stay, as ARM's incremental mode leaves them. Secure parameters are
//! never stored or echoed: a deployment keeps only its parameters' types.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{Stored, load, put};
use crate::arm::lro::Operation;
use crate::arm::{ArmError, Body, Outcome, R, Verb};
use crate::service::{Call, Route, Service};
use crate::store::Read;

pub const KIND: &str = "deployments";
const PATH: &str = "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/providers/Microsoft.Resources/deployments/{deploymentName}";

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(PATH)
            .op(Verb::Get, "Get a template deployment", None, &[(200, None)], get_deployment)
            .op(
                Verb::Put,
                "Deploy an ARM template into a resource group (literal resources, parameters and reference outputs)",
                None,
                &[(200, None), (201, None)],
                put_deployment,
            )
            .op(
                Verb::Delete,
                "Delete a deployment's record (its resources stay)",
                None,
                &[(202, None), (204, None)],
                delete_deployment,
            ),
    ]
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    pub sub: String,
    pub rg: String,
    pub name: String,
    /// Parameter name → declared type (never the value).
    pub parameter_types: BTreeMap<String, String>,
    pub outputs: Map<String, Value>,
    pub output_resources: Vec<String>,
    pub timestamp: String,
    pub correlation_id: String,
}

impl Stored for Deployment {
    const KIND: &'static str = KIND;
    fn id(&self) -> String {
        deployment_id(&self.sub, &self.rg, &self.name)
    }
    fn sub(&self) -> &str {
        &self.sub
    }
    fn rg(&self) -> &str {
        &self.rg
    }
}

fn deployment_id(sub: &str, rg: &str, name: &str) -> String {
    format!(
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Resources/deployments/{name}"
    )
}

fn invalid(message: impl Into<String>) -> ArmError {
    ArmError::bad_request("InvalidTemplate", message)
}

fn render(d: &Deployment) -> Body {
    let parameters: Map<String, Value> = d
        .parameter_types
        .iter()
        .map(|(k, t)| (k.clone(), json!({ "type": t })))
        .collect();
    Body::of(&json!({
        "id": d.id(),
        "name": d.name,
        "type": "Microsoft.Resources/deployments",
        "properties": {
            "provisioningState": "Succeeded",
            "mode": "Incremental",
            "timestamp": d.timestamp,
            "duration": "PT0S",
            "correlationId": d.correlation_id,
            "parameters": parameters,
            "outputs": d.outputs,
            "outputResources": d.output_resources.iter().map(|id| json!({ "id": id })).collect::<Vec<_>>(),
        }
    }))
}

/// One template expression: `[f('arg')]` with `f` one of `names`; returns (f, arg).
fn call_of<'a>(expr: &'a str, names: &[&str]) -> Option<(&'a str, &'a str)> {
    let inner = expr.strip_prefix('[')?.strip_suffix(']')?.trim();
    let open = inner.find('(')?;
    let (f, rest) = (
        inner[..open].trim(),
        inner[open + 1..].strip_suffix(')')?.trim(),
    );
    let arg = rest.strip_prefix('\'')?.strip_suffix('\'')?;
    (names.contains(&f) && !arg.contains('\'')).then_some((f, arg))
}

/// A template value with `parameters('x')` replaced; any other expression is refused.
fn expand(v: &Value, params: &Map<String, Value>, at: &str) -> R<Value> {
    Ok(match v {
        Value::String(s) if s.starts_with("[[") => Value::String(s[1..].to_owned()),
        Value::String(s) if s.starts_with('[') && s.ends_with(']') => {
            match call_of(s, &["parameters"]) {
                Some((_, name)) => params
                    .get(name)
                    .cloned()
                    .ok_or_else(|| invalid(format!("{at}: parameter '{name}' has no value.")))?,
                None => {
                    let shown: String = s.chars().take(80).collect();
                    return Err(invalid(format!(
                        "{at}: the expression {shown} is not supported here; this deployment evaluates parameters('…') in resources and reference('…') in outputs."
                    )));
                }
            }
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .enumerate()
                .map(|(i, x)| expand(x, params, &format!("{at}[{i}]")))
                .collect::<R<_>>()?,
        ),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| Ok((k.clone(), expand(x, params, &format!("{at}.{k}"))?)))
                .collect::<R<_>>()?,
        ),
        other => other.clone(),
    })
}

/// A resource of the template, ready to PUT: its path and body.
struct Planned {
    name: String,
    path: String,
    body: Value,
}

/// What a deployment will do, checked whole before any of it runs.
struct Plan {
    resources: Vec<Planned>,
    outputs: Map<String, Value>,
    parameter_types: BTreeMap<String, String>,
}

fn plan(call: &Call, body: &Value) -> R<Plan> {
    let (sub, rg) = (call.params.sub(), call.params.rg());
    let props = body
        .get("properties")
        .ok_or_else(|| invalid("The deployment needs 'properties' with a 'template'."))?;
    if props.get("templateLink").is_some() {
        return Err(invalid(
            "templateLink: only an inline 'template' is deployed here.",
        ));
    }
    let template = props
        .get("template")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid("'properties.template' must be a template object."))?;
    let given = props.get("parameters").and_then(Value::as_object);
    let declared = template.get("parameters").and_then(Value::as_object);
    let mut params = Map::new();
    let mut types = BTreeMap::new();
    for (name, decl) in declared.into_iter().flatten() {
        let t = decl.get("type").and_then(Value::as_str).unwrap_or("string");
        types.insert(name.clone(), t.to_owned());
        let value = given
            .and_then(|g| g.get(name))
            .and_then(|p| p.get("value"))
            .or_else(|| decl.get("defaultValue"))
            .cloned();
        if let Some(v) = value {
            params.insert(
                name.clone(),
                expand(&v, &Map::new(), &format!("parameters.{name}"))?,
            );
        }
    }
    let mut planned = Vec::new();
    let resources = template
        .get("resources")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, r) in resources.iter().enumerate() {
        let at = format!("resources[{i}]");
        if r.get("condition").is_some_and(|c| c == &Value::Bool(false)) {
            continue;
        }
        if r.get("copy").is_some() {
            return Err(invalid(format!(
                "{at}: 'copy' loops are not supported here."
            )));
        }
        let kind = r.get("type").and_then(Value::as_str).unwrap_or_default();
        let Some(short) = kind
            .split_once('/')
            .filter(|(ns, t)| ns.eq_ignore_ascii_case("Microsoft.Network") && !t.contains('/'))
            .map(|(_, t)| t)
        else {
            return Err(invalid(format!(
                "{at}: type '{kind}' is not deployed here; a template may hold top-level Microsoft.Network resources."
            )));
        };
        let name = expand(
            r.get("name").unwrap_or(&Value::Null),
            &params,
            &format!("{at}.name"),
        )?;
        let name = name
            .as_str()
            .filter(|n| !n.is_empty() && !n.contains('/'))
            .ok_or_else(|| invalid(format!("{at}.name must be a plain resource name.")))?
            .to_owned();
        let mut b = Map::new();
        for (k, v) in r.as_object().into_iter().flatten() {
            if !matches!(
                k.as_str(),
                "type" | "name" | "apiVersion" | "dependsOn" | "condition" | "comments"
            ) {
                b.insert(k.clone(), expand(v, &params, &format!("{at}.{k}"))?);
            }
        }
        planned.push(Planned {
            path: format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/{short}/{name}"),
            name,
            body: Value::Object(b),
        });
    }
    // Outputs: literals, or a reference to a resource deployed here; checked before anything runs.
    let mut outputs = Map::new();
    for (key, o) in template
        .get("outputs")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let value = o.get("value").cloned().unwrap_or(Value::Null);
        if let Some(s) = value
            .as_str()
            .filter(|s| s.starts_with('[') && !s.starts_with("[["))
        {
            match call_of(s, &["reference"]) {
                Some((_, n)) if planned.iter().any(|p| p.name.eq_ignore_ascii_case(n)) => {}
                _ => {
                    return Err(invalid(format!(
                        "outputs.{key}: only reference('name') of a resource in this template is evaluated here."
                    )));
                }
            }
        }
        outputs.insert(
            key.clone(),
            json!({"type": o.get("type").cloned().unwrap_or(json!("string")), "value": value}),
        );
    }
    Ok(Plan {
        resources: planned,
        outputs,
        parameter_types: types,
    })
}

fn put_deployment(svc: &Service, call: &Call) -> R<Outcome> {
    let p = &call.params;
    let (sub, rg, name) = (p.sub(), p.rg(), p.get("deploymentName"));
    call.writable(sub)?;
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')'))
    {
        return Err(ArmError::bad_request(
            "InvalidDeploymentName",
            "A deployment name is 1-64 letters, digits, '-', '_', '.', '(' or ')'.",
        ));
    }
    let Plan {
        resources: planned,
        mut outputs,
        parameter_types: types,
    } = plan(call, call.body()?)?;
    let mut deployed: Vec<(String, String, Value)> = Vec::new();
    for r in planned {
        let out = svc
            .dispatch_as(call, Verb::Put, &r.path, Some(r.body))
            .map_err(|e| {
                ArmError::new(
                    e.status,
                    "DeploymentFailed",
                    format!("Deploying {} failed: ({}) {}", r.path, e.code, e.message),
                )
            })?;
        let body = match out {
            Outcome::Ok(b) | Outcome::Written { body: b, .. } => {
                serde_json::from_str(&b.into_string()).unwrap_or(Value::Null)
            }
            _ => {
                return Err(invalid(format!(
                    "{}: this resource type is not served here.",
                    r.path
                )));
            }
        };
        let id = body
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or(&r.path)
            .to_owned();
        deployed.push((r.name, id, body));
    }
    for o in outputs.values_mut() {
        let Some(s) = o.get("value").and_then(Value::as_str).map(str::to_owned) else {
            continue;
        };
        if let Some((_, n)) = call_of(&s, &["reference"]) {
            let props = deployed
                .iter()
                .find(|(name, _, _)| name.eq_ignore_ascii_case(n))
                .and_then(|(_, _, b)| b.get("properties").cloned())
                .unwrap_or(Value::Null);
            o["value"] = props;
        } else if let Some(lit) = s.strip_prefix('[').filter(|x| x.starts_with('[')) {
            o["value"] = Value::String(lit.to_owned());
        }
    }
    let d = Deployment {
        sub: sub.to_owned(),
        rg: rg.to_owned(),
        name: name.to_owned(),
        parameter_types: types,
        outputs,
        output_resources: deployed.into_iter().map(|(_, id, _)| id).collect(),
        timestamp: crate::time::now_rfc3339(),
        correlation_id: uuid::Uuid::new_v4().to_string(),
    };
    let id = d.id();
    let (created, op) = svc.write(|tx| {
        let created = load::<Deployment>(tx, &id)?.is_none();
        put(tx, &d)?;
        let op = Operation::succeeded(sub, Some(id.clone()), None);
        tx.put_operation(&op)?;
        Ok((created, op))
    })?;
    Ok(Outcome::Written {
        created,
        body: render(&d),
        lro: Some(svc.lro(call, &op, "global")),
    })
}

fn visible(st: &impl Read, call: &Call) -> R<Deployment> {
    let p = &call.params;
    let found = if call.owns(p.sub()) {
        load(st, &deployment_id(p.sub(), p.rg(), p.get("deploymentName")))?
    } else {
        None
    };
    found.ok_or_else(|| {
        ArmError::new(
            crate::arm::Status::NotFound,
            "DeploymentNotFound",
            format!(
                "Deployment '{}' could not be found.",
                p.get("deploymentName")
            ),
        )
    })
}

fn get_deployment(svc: &Service, call: &Call) -> R<Outcome> {
    Ok(Outcome::Ok(render(&svc.read(|st| visible(st, call))?)))
}

fn delete_deployment(svc: &Service, call: &Call) -> R<Outcome> {
    if !call.owns(call.params.sub()) {
        return Ok(Outcome::NoContent);
    }
    let done = svc.write(|tx| {
        let Ok(d) = visible(tx, call) else {
            return Ok(None);
        };
        tx.delete(&d.id())?;
        let op = Operation::succeeded(&d.sub, None, None);
        tx.put_operation(&op)?;
        Ok(Some(op))
    })?;
    Ok(match done {
        Some(op) => Outcome::Accepted(svc.lro(call, &op, "global")),
        None => Outcome::NoContent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_parameters_and_reference_calls_are_read_as_expressions() {
        assert_eq!(
            call_of("[parameters('sharedKey')]", &["parameters"]),
            Some(("parameters", "sharedKey"))
        );
        assert_eq!(
            call_of("[reference('conn1')]", &["reference"]),
            Some(("reference", "conn1"))
        );
        assert_eq!(call_of("[concat('a', 'b')]", &["parameters"]), None);
        assert_eq!(call_of("[parameters('a')]", &["reference"]), None);
        let params: Map<String, Value> = [("k".to_owned(), json!("secret"))].into_iter().collect();
        let v = expand(
            &json!({"a": "[parameters('k')]", "b": ["[[literal]"], "c": 1}),
            &params,
            "x",
        )
        .expect("expanded");
        assert_eq!(v, json!({"a": "secret", "b": ["[literal]"], "c": 1}));
        let e = expand(&json!("[resourceGroup().location]"), &params, "x").expect_err("refused");
        assert_eq!(e.code, "InvalidTemplate");
    }
}
