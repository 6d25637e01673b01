//! What the circuit page polls: its links' health from the edges' latest reports, every
//! session with its uptime, prefixes and BFD state, the route and ARP tables, the byte
//! counters the traffic graph differentiates, and the events the console observed.
//!
//! The circuit is read through the ARM GET first ([`super::arm`]): a circuit the principal
//! may not read answers 404 here exactly as in the API, before any report is looked at.
//!
//! Events are changes seen between two snapshots of a circuit (session up/down, BFD up/down,
//! a new last error such as a prefix limit reached): kept per circuit, the last
//! [`EVENTS_KEPT`], for the circuits someone has looked at.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use serde_json::{Value, json};

use super::session::Session;
use crate::arm::R;
use crate::arm::path::Verb;
use crate::service::Service;

const EVENTS_KEPT: usize = 50;
const CIRCUITS_TRACKED: usize = 2_000;
/// Rows of a route or ARP table sent per link (the table shows the first ones).
const TABLE_ROWS: usize = 500;

/// (peering, link, neighbor) → (state, bfd, last error).
type Seen = HashMap<(String, String, String), (String, Option<String>, Option<String>)>;

#[derive(Debug, Default)]
pub struct Events {
    by_circuit: Mutex<HashMap<String, (Seen, VecDeque<Value>)>>,
}

impl Events {
    /// Records what changed since the last snapshot of `circuit`; answers its recent events,
    /// newest first.
    fn observe(&self, circuit: &str, now: Seen) -> Vec<Value> {
        let mut all = self.by_circuit.lock().unwrap_or_else(|e| e.into_inner());
        if all.len() >= CIRCUITS_TRACKED && !all.contains_key(circuit) {
            all.clear();
        }
        let (seen, events) = all.entry(circuit.to_owned()).or_default();
        let at = crate::time::now_rfc3339();
        let first = seen.is_empty();
        for (k, (state, bfd, err)) in &now {
            let (peering, link, neighbor) = k;
            let before = seen.get(k);
            let mut push = |text: String| {
                events.push_front(json!({"at": at, "text": text}));
            };
            match before {
                None if !first => push(format!(
                    "{peering} {link}: session toward {neighbor} appeared ({state})"
                )),
                None => {}
                Some((s0, b0, e0)) => {
                    if s0 != state {
                        push(format!(
                            "{peering} {link}: session toward {neighbor} {s0} → {state}"
                        ));
                    }
                    if b0 != bfd {
                        push(format!(
                            "{peering} {link}: BFD toward {neighbor} {} → {}",
                            b0.as_deref().unwrap_or("off"),
                            bfd.as_deref().unwrap_or("off")
                        ));
                    }
                    if e0 != err
                        && let Some(e) = err
                    {
                        push(format!("{peering} {link}: {neighbor}: {e}"));
                    }
                }
            }
        }
        for k in seen.keys() {
            if !now.contains_key(k) {
                events.push_front(json!({"at": at, "text": format!(
                    "{} {}: session toward {} removed", k.0, k.1, k.2
                )}));
            }
        }
        events.truncate(EVENTS_KEPT);
        *seen = now;
        events.iter().cloned().collect()
    }
}

/// Each peering's own ASN (lower-case peering name → peerASN) from a circuit's properties:
/// sessions toward it are the customer's, the others the edge's toward gateways.
pub fn customer_asns(props: &Value) -> HashMap<String, u64> {
    props["peerings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            Some((
                p["name"].as_str()?.to_ascii_lowercase(),
                p["properties"]["peerASN"].as_u64()?,
            ))
        })
        .collect()
}

/// One link's health from its edge's fresh report: `up` when every customer session is
/// Established with BFD not down, `down` otherwise, `unknown` without a report.
pub fn health(svc: &Service, edge: &str, key: &str, asns: &HashMap<String, u64>) -> &'static str {
    let Some(r) = svc.edges.report_for(edge, key) else {
        return "unknown";
    };
    let mut customer = 0;
    for p in &r.peerings {
        let own = asns.get(&p.name.to_ascii_lowercase()).copied();
        for s in p
            .sessions
            .iter()
            .filter(|s| own == Some(u64::from(s.remote_as)))
        {
            customer += 1;
            if s.state != "Established" || s.bfd.as_deref() == Some("Down") {
                return "down";
            }
        }
    }
    if customer > 0 { "up" } else { "down" }
}

fn millis_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The live state of circuit `id` (its ARM path) for `session`'s principal.
pub fn snapshot(svc: &Service, events: &Events, session: &Session, id: &str) -> R<Value> {
    let circuit = super::arm(svc, &session.principal, Verb::Get, id, None, None)?;
    let props = &circuit["properties"];
    let key = props["serviceKey"].as_str().unwrap_or_default();
    // Customer sessions are those toward the peering's own ASN; the rest are the edge's
    // sessions toward virtual network gateways.
    let customer_as = customer_asns(props);
    let mut links = serde_json::Map::new();
    let mut peerings: BTreeMap<String, serde_json::Map<String, Value>> = BTreeMap::new();
    let mut routes = serde_json::Map::new();
    let mut arp = serde_json::Map::new();
    let mut seen = Seen::new();
    for role in ["primary", "secondary"] {
        let l = &props["causeway"]["links"][role];
        let edge = l["edge"].as_str();
        let report = edge.and_then(|e| svc.edges.report_for(e, key));
        let (mut bytes_in, mut bytes_out) = (0u64, 0u64);
        let (mut customer, mut established, mut bfd_down) = (0, 0, false);
        let (mut route_rows, mut arp_rows) = (Vec::new(), Vec::new());
        if let Some(r) = &report {
            for p in &r.peerings {
                bytes_in += p.bytes_in;
                bytes_out += p.bytes_out;
                let own_as = customer_as.get(&p.name.to_ascii_lowercase()).copied();
                let mut sessions = Vec::new();
                for s in &p.sessions {
                    let is_customer = own_as == Some(u64::from(s.remote_as));
                    if is_customer {
                        customer += 1;
                        if s.state == "Established" {
                            established += 1;
                        }
                        if s.bfd.as_deref() == Some("Down") {
                            bfd_down = true;
                        }
                    }
                    seen.insert(
                        (p.name.clone(), role.to_owned(), s.neighbor.clone()),
                        (s.state.clone(), s.bfd.clone(), s.last_error.clone()),
                    );
                    sessions.push(json!({
                        "neighbor": s.neighbor,
                        "remoteAs": s.remote_as,
                        "family": s.family,
                        "state": s.state,
                        "uptimeSecs": s.uptime_secs,
                        "prefixesReceived": s.prefixes_received,
                        "prefixesAdvertised": s.prefixes_advertised,
                        "bfd": s.bfd,
                        "lastError": s.last_error,
                        "customer": is_customer,
                    }));
                }
                peerings
                    .entry(p.name.clone())
                    .or_default()
                    .insert(role.to_owned(), Value::Array(sessions));
                for rt in p
                    .routes
                    .iter()
                    .take(TABLE_ROWS.saturating_sub(route_rows.len()))
                {
                    route_rows.push(json!({
                        "peering": p.name, "network": rt.network, "nextHop": rt.next_hop,
                        "asPath": rt.as_path, "learned": rt.learned,
                    }));
                }
                for a in p.arp.iter().take(TABLE_ROWS.saturating_sub(arp_rows.len())) {
                    arp_rows.push(json!({
                        "peering": p.name, "ipAddress": a.ip_address, "macAddress": a.mac_address,
                        "interface": a.interface, "ageSecs": a.age_secs,
                    }));
                }
            }
        }
        let health = match &report {
            None => "unknown",
            Some(_) if customer > 0 && established == customer && !bfd_down => "up",
            Some(_) => "down",
        };
        links.insert(
            role.to_owned(),
            json!({
                "edge": edge,
                "state": l["state"],
                "error": l["error"],
                "health": health,
                "bytesIn": bytes_in,
                "bytesOut": bytes_out,
            }),
        );
        routes.insert(role.to_owned(), Value::Array(route_rows));
        arp.insert(role.to_owned(), Value::Array(arp_rows));
    }
    let recent = events.observe(&id.to_ascii_lowercase(), seen);
    Ok(json!({
        "at": millis_now(),
        "providerState": props["serviceProviderProvisioningState"],
        "links": links,
        "peerings": peerings
            .into_iter()
            .map(|(name, l)| json!({"name": name, "primary": l.get("primary").cloned().unwrap_or(json!([])), "secondary": l.get("secondary").cloned().unwrap_or(json!([]))}))
            .collect::<Vec<_>>(),
        "routes": routes,
        "arp": arp,
        "events": recent,
    }))
}
