//! The console's HTML: sign-in, the circuit list, a circuit's page (topology, links,
//! peerings, sessions, traffic, routes, ARP, events, forms), and the forms' effects.
//!
//! Everything a page shows comes from an ARM answer for the signed-in principal
//! ([`super::arm`]); the only direct store read is the admin's list of every circuit (the
//! admin may read every subscription) and the virtual networks behind a circuit's
//! connections, each shown by name only when the principal owns it.

use std::fmt::Write;

use serde_json::{Value, json};

use super::session::Session;
use super::{arm, field};
use crate::arm::path::{Verb, encode};
use crate::arm::{ArmError, R};
use crate::auth::Principal;
use crate::model::Circuit;
use crate::resources::connections::Connection;
use crate::resources::gateways::Gateway;
use crate::resources::vnets::VirtualNetwork;
use crate::service::Service;

/// HTML-escapes text for element content and quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn url_arg(s: &str) -> String {
    encode(s).replace('/', "%2F")
}

fn who(p: &Principal) -> String {
    match p {
        Principal::Admin => "admin".into(),
        Principal::Customer { subscriptions } => {
            format!("customer of {}", subscriptions.join(", "))
        }
        Principal::Provider { name } => format!("provider {name}"),
        Principal::Edge { name } => format!("edge {name}"),
    }
}

fn layout(title: &str, session: Option<&Session>, circuit: Option<&str>, body: &str) -> String {
    let mut h = String::with_capacity(body.len() + 1024);
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · Causeway</title><link rel=\"stylesheet\" href=\"/console/assets/console.css\">\
         <script src=\"/console/assets/console.js\" defer></script></head><body{}>",
        esc(title),
        circuit.map_or(String::new(), |c| format!(" data-circuit=\"{}\"", esc(c)))
    );
    h.push_str("<header><a class=\"brand\" href=\"/\">Causeway</a>");
    if let Some(s) = session {
        let _ = write!(
            h,
            "<span class=\"who\">{}</span><form method=\"post\" action=\"/console/logout\" class=\"inline\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\"><button>Sign out</button></form>",
            esc(&who(&s.principal)),
            esc(&s.csrf)
        );
    }
    h.push_str("</header><main>");
    h.push_str(body);
    h.push_str("</main></body></html>");
    h
}

pub fn login_page(error: Option<&str>) -> String {
    let mut b = String::from("<section class=\"card narrow\"><h1>Sign in</h1>");
    if let Some(e) = error {
        let _ = write!(b, "<p class=\"error\" role=\"alert\">{}</p>", esc(e));
    }
    b.push_str(
        "<form method=\"post\" action=\"/console/login\">\
         <label>Bearer token <input type=\"password\" name=\"token\" autocomplete=\"off\" required></label>\
         <button type=\"submit\">Sign in</button></form>\
         <p class=\"hint\">An admin token is in <code>&lt;data-dir&gt;/admin.token</code>; \
         <code>causeway token create --customer SUB</code> makes a customer's.</p></section>",
    );
    layout("Sign in", None, None, &b)
}

pub fn message_page(title: &str, message: &str) -> String {
    let b = format!(
        "<section class=\"card\"><h1>{}</h1><p class=\"error\" role=\"alert\">{}</p><p><a href=\"/\">Back to the circuits</a></p></section>",
        esc(title),
        esc(message)
    );
    layout(title, None, None, &b)
}

fn flash(b: &mut String, flash: Option<&ArmError>) {
    if let Some(e) = flash {
        let _ = write!(
            b,
            "<p class=\"error\" role=\"alert\" id=\"flash\"><strong>{}</strong>: {}</p>",
            esc(e.code),
            esc(&e.message)
        );
    }
}

fn csrf(s: &Session) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(&s.csrf)
    )
}

/// The class a link state gets in lists: ok, wait or bad.
fn state_class(state: &str) -> &'static str {
    match state {
        "Active" => "ok",
        "Failed" | "EdgeNotReporting" | "NoEdge" => "bad",
        _ => "wait",
    }
}

// ===== the circuit list =====

/// One circuit row from its ARM body.
fn circuit_row(out: &mut String, svc: &Service, c: &Value) {
    let p = &c["properties"];
    let id = c["id"].as_str().unwrap_or_default();
    let parts: Vec<&str> = id.split('/').collect();
    let (sub, rg) = (
        parts.get(2).copied().unwrap_or_default(),
        parts.get(4).copied().unwrap_or_default(),
    );
    let key = p["serviceKey"].as_str().unwrap_or_default();
    let asns = super::live::customer_asns(p);
    let _ = write!(
        out,
        "<tr data-id=\"{}\"><td><a href=\"/console/circuit?id={}\">{}</a></td><td>{}</td><td class=\"mono\">{}</td>\
         <td>{}</td><td>{} Mb/s</td><td>{}</td>",
        esc(id),
        esc(&url_arg(id)),
        esc(c["name"].as_str().unwrap_or_default()),
        esc(rg),
        esc(sub),
        esc(c["sku"]["name"].as_str().unwrap_or_default()),
        p["serviceProviderProperties"]["bandwidthInMbps"],
        esc(p["serviceProviderProvisioningState"]
            .as_str()
            .unwrap_or_default()),
    );
    for role in ["primary", "secondary"] {
        let l = &p["causeway"]["links"][role];
        let state = l["state"].as_str().unwrap_or("Unknown");
        let health = l["edge"]
            .as_str()
            .map_or("unknown", |e| super::live::health(svc, e, key, &asns));
        let class = match (health, state_class(state)) {
            ("up", _) => "ok",
            ("down", _) => "bad",
            (_, c) => c,
        };
        let _ = write!(
            out,
            "<td><span class=\"badge {class}\" data-link=\"{role}\">{} · {}</span></td>",
            esc(state),
            health
        );
    }
    out.push_str("</tr>");
}

pub fn circuits_page(
    svc: &Service,
    s: &Session,
    skip: Option<String>,
    error: Option<&ArmError>,
) -> R<String> {
    let mut b = String::new();
    match &s.principal {
        Principal::Provider { name } => return provider_page(svc, s, name),
        Principal::Edge { .. } => {
            return Err(ArmError::new(
                crate::arm::Status::Forbidden,
                "AuthorizationFailed",
                "Edge tokens cannot use the console.",
            ));
        }
        _ => {}
    }
    b.push_str("<section class=\"card\"><h1>ExpressRoute circuits</h1><table class=\"list\" id=\"circuits\"><thead><tr>\
        <th>Name</th><th>Resource group</th><th>Subscription</th><th>SKU</th><th>Bandwidth</th>\
        <th>Provider state</th><th>Primary link</th><th>Secondary link</th></tr></thead><tbody>");
    let mut more = None;
    match &s.principal {
        Principal::Admin => {
            // The admin reads every subscription: one page of the whole store.
            let after = skip
                .as_deref()
                .and_then(|t| t.parse::<i64>().ok())
                .unwrap_or(0);
            let page = svc.page_size;
            let rows =
                svc.read(|st| crate::resources::list::<Circuit>(st, None, None, after, page + 1))?;
            if rows.len() > page {
                more = rows.get(page - 1).map(|(p, _)| p.to_string());
            }
            for (_, c) in rows.iter().take(page) {
                let v = serde_json::to_value(crate::resources::circuits::dto(svc, c))
                    .unwrap_or_default();
                circuit_row(&mut b, svc, &v);
            }
        }
        Principal::Customer { subscriptions } => {
            for sub in subscriptions {
                let list = arm(
                    svc,
                    &s.principal,
                    Verb::Get,
                    &format!(
                        "/subscriptions/{}/providers/Microsoft.Network/expressRouteCircuits",
                        encode(sub)
                    ),
                    None,
                    None,
                )?;
                for c in list["value"].as_array().into_iter().flatten() {
                    circuit_row(&mut b, svc, c);
                }
            }
        }
        _ => {}
    }
    b.push_str("</tbody></table>");
    if let Some(m) = more {
        let _ = write!(b, "<p><a href=\"/?skip={m}\">Next page</a></p>");
    }
    b.push_str("</section>");
    create_circuit_form(&mut b, svc, s, error);
    Ok(layout("Circuits", Some(s), None, &b))
}

fn provider_page(svc: &Service, s: &Session, name: &str) -> R<String> {
    let mut b = String::from(
        "<section class=\"card\"><h1>Cross-connections</h1><table class=\"list\" id=\"circuits\"><thead><tr>\
        <th>Service key</th><th>Peering location</th><th>Bandwidth</th><th>Provisioning state</th><th>Peerings</th></tr></thead><tbody>",
    );
    for p in svc
        .catalog
        .providers
        .iter()
        .filter(|p| p.name.eq_ignore_ascii_case(name))
    {
        let list = arm(
            svc,
            &s.principal,
            Verb::Get,
            &format!(
                "/subscriptions/{}/providers/Microsoft.Network/expressRouteCrossConnections",
                encode(&p.subscription)
            ),
            None,
            None,
        )?;
        for x in list["value"].as_array().into_iter().flatten() {
            let pr = &x["properties"];
            let _ = write!(
                b,
                "<tr><td class=\"mono\">{}</td><td>{}</td><td>{} Mb/s</td><td>{}</td><td>{}</td></tr>",
                esc(x["name"].as_str().unwrap_or_default()),
                esc(pr["peeringLocation"].as_str().unwrap_or_default()),
                pr["bandwidthInMbps"],
                esc(pr["serviceProviderProvisioningState"]
                    .as_str()
                    .unwrap_or_default()),
                pr["peerings"].as_array().map_or(0, Vec::len)
            );
        }
    }
    b.push_str("</tbody></table></section>");
    Ok(layout("Cross-connections", Some(s), None, &b))
}

fn create_circuit_form(b: &mut String, svc: &Service, s: &Session, error: Option<&ArmError>) {
    b.push_str("<section class=\"card\" id=\"create-circuit\"><h2>Create a circuit</h2>");
    flash(b, error);
    let _ = write!(
        b,
        "<form method=\"post\" action=\"/console/action\" class=\"grid\">{}<input type=\"hidden\" name=\"op\" value=\"create_circuit\">",
        csrf(s)
    );
    match &s.principal {
        Principal::Customer { subscriptions } => {
            b.push_str("<label>Subscription <select name=\"sub\">");
            for sub in subscriptions {
                let _ = write!(b, "<option>{}</option>", esc(sub));
            }
            b.push_str("</select></label>");
        }
        _ => b.push_str(
            "<label>Subscription <input name=\"sub\" required placeholder=\"00000000-0000-0000-0000-000000000000\"></label>",
        ),
    }
    b.push_str(
        "<label>Resource group <input name=\"rg\" required></label>\
         <label>Name <input name=\"name\" required></label>\
         <label>Region <input name=\"location\" value=\"westeurope\" required></label>\
         <label>Provider <select name=\"provider\">",
    );
    for p in &svc.catalog.providers {
        let _ = write!(b, "<option>{}</option>", esc(&p.name));
    }
    b.push_str("</select></label><label>Peering location <select name=\"peering_location\">");
    let mut locations: Vec<&str> = svc
        .catalog
        .providers
        .iter()
        .flat_map(|p| p.peering_locations.iter().map(String::as_str))
        .collect();
    locations.sort_unstable();
    locations.dedup();
    for l in locations {
        let _ = write!(b, "<option>{}</option>", esc(l));
    }
    b.push_str(
        "</select></label>\
         <label>Bandwidth (Mb/s) <input name=\"bandwidth\" value=\"1000\" required></label>\
         <label>Tier <select name=\"tier\"><option>Standard</option><option>Premium</option><option>Local</option></select></label>\
         <label>Family <select name=\"family\"><option>MeteredData</option><option>UnlimitedData</option></select></label>\
         <button type=\"submit\">Create circuit</button></form></section>",
    );
}

// ===== a circuit's page =====

/// The gateways and virtual networks connected to a circuit: (gateway, vnet, prefixes), by
/// name only where the principal owns them.
fn cloud_side(svc: &Service, s: &Session, circuit_id: &str) -> R<Vec<(String, String, String)>> {
    svc.read(|st| {
        let mut out = Vec::new();
        for conn in crate::resources::referrers::<Connection>(st, "circuit", circuit_id)? {
            if !s.principal.owns_subscription(&conn.sub) {
                out.push((
                    "gateway (another subscription)".to_owned(),
                    "virtual network".to_owned(),
                    String::new(),
                ));
                continue;
            }
            let g: Option<Gateway> =
                crate::resources::load(st, &conn.gateway.id(crate::resources::gateways::KIND))?;
            let Some(g) = g else { continue };
            let v: Option<VirtualNetwork> =
                crate::resources::load(st, &g.vnet.id(crate::resources::vnets::KIND))?;
            out.push((
                g.name.clone(),
                v.as_ref().map_or_else(String::new, |v| v.name.clone()),
                v.map_or_else(String::new, |v| v.address_prefixes.join(" ")),
            ));
        }
        Ok(out)
    })
}

/// The topology: on-premises router ↔ two links ↔ edges ↔ gateways ↔ virtual networks.
/// Elements carry ids the page script recolours from the live state.
fn topology(b: &mut String, c: &Value, cloud: &[(String, String, String)]) {
    let links = &c["properties"]["causeway"]["links"];
    let rows = cloud.len().max(1);
    let height = 260.max(80 + rows * 70);
    let _ = write!(
        b,
        "<svg id=\"topology\" viewBox=\"0 0 960 {height}\" role=\"img\" aria-label=\"circuit topology\">"
    );
    let node = |b: &mut String, id: &str, x: u32, y: usize, label: &str, sub: &str| {
        let _ = write!(
            b,
            "<g id=\"{id}\" class=\"node\"><rect x=\"{x}\" y=\"{}\" width=\"170\" height=\"50\" rx=\"8\"/>\
             <text x=\"{}\" y=\"{}\">{}</text><text class=\"sub\" x=\"{}\" y=\"{}\">{}</text></g>",
            y,
            x + 85,
            y + 22,
            esc(label),
            x + 85,
            y + 40,
            esc(sub)
        );
    };
    let mid = height / 2 - 25;
    node(b, "onprem", 10, mid, "On-premises router", "customer edge");
    for (i, role) in ["primary", "secondary"].into_iter().enumerate() {
        let y = 40 + i * 140;
        let edge = links[role]["edge"].as_str().unwrap_or("no edge");
        let _ = write!(
            b,
            "<line id=\"link-{role}\" class=\"link unknown\" x1=\"180\" y1=\"{}\" x2=\"330\" y2=\"{}\"/>\
             <text class=\"linklabel\" x=\"255\" y=\"{}\">{role}</text>",
            mid + 25,
            y + 25,
            (mid + y) / 2 + 18
        );
        node(b, &format!("edge-{role}"), 330, y, edge, role);
        for (j, _) in cloud.iter().enumerate() {
            let gy = 40 + j * 70;
            let _ = write!(
                b,
                "<line id=\"fabric-{role}-{j}\" class=\"link fabric\" x1=\"500\" y1=\"{}\" x2=\"600\" y2=\"{}\"/>",
                y + 25,
                gy + 25
            );
        }
    }
    for (j, (gw, vnet, prefixes)) in cloud.iter().enumerate() {
        let gy = 40 + j * 70;
        node(
            b,
            &format!("gateway-{j}"),
            600,
            gy,
            gw,
            "ExpressRoute gateway",
        );
        let _ = write!(
            b,
            "<line class=\"link fabric\" x1=\"770\" y1=\"{}\" x2=\"790\" y2=\"{}\"/>",
            gy + 25,
            gy + 25
        );
        let _ = write!(
            b,
            "<g class=\"node vnet\"><rect x=\"790\" y=\"{gy}\" width=\"160\" height=\"50\" rx=\"8\"/>\
             <text x=\"870\" y=\"{}\">{}</text><text class=\"sub\" x=\"870\" y=\"{}\">{}</text></g>",
            gy + 22,
            esc(vnet),
            gy + 40,
            esc(prefixes)
        );
    }
    if cloud.is_empty() {
        b.push_str("<text class=\"sub\" x=\"700\" y=\"65\">no virtual network connected</text>");
    }
    b.push_str("</svg>");
}

pub fn circuit_page(svc: &Service, s: &Session, id: &str, error: Option<&ArmError>) -> R<String> {
    let c = arm(svc, &s.principal, Verb::Get, id, None, None)?;
    let id = c["id"].as_str().unwrap_or(id).to_owned();
    let p = &c["properties"];
    let name = c["name"].as_str().unwrap_or_default();
    let cloud = cloud_side(svc, s, &id)?;
    let mut b = String::with_capacity(16 * 1024);
    let _ = write!(b, "<section class=\"card\"><h1>{}</h1>", esc(name));
    flash(&mut b, error);
    let _ = write!(
        b,
        "<dl class=\"facts\"><dt>SKU</dt><dd>{}</dd><dt>Bandwidth</dt><dd>{} Mb/s</dd>\
         <dt>Provider</dt><dd>{} at {}</dd><dt>Provider state</dt><dd id=\"provider-state\">{}</dd>\
         <dt>Service key</dt><dd class=\"mono\">{}</dd><dt>Region</dt><dd>{}</dd></dl>",
        esc(c["sku"]["name"].as_str().unwrap_or_default()),
        p["serviceProviderProperties"]["bandwidthInMbps"],
        esc(p["serviceProviderProperties"]["serviceProviderName"]
            .as_str()
            .unwrap_or_default()),
        esc(p["serviceProviderProperties"]["peeringLocation"]
            .as_str()
            .unwrap_or_default()),
        esc(p["serviceProviderProvisioningState"]
            .as_str()
            .unwrap_or_default()),
        esc(p["serviceKey"].as_str().unwrap_or_default()),
        esc(c["location"].as_str().unwrap_or_default()),
    );
    topology(&mut b, &c, &cloud);
    b.push_str("<p class=\"legend\"><span class=\"badge ok\">up</span> BGP established and BFD up \
        <span class=\"badge bad\">down</span> a session or BFD down <span class=\"badge wait\">unknown</span> no live report</p></section>");

    b.push_str("<section class=\"card\"><h2>Links</h2><table class=\"list\"><thead><tr><th>Link</th><th>Edge</th><th>State</th>\
        <th>Health</th><th>Bytes in</th><th>Bytes out</th></tr></thead><tbody id=\"links\">");
    for role in ["primary", "secondary"] {
        let l = &p["causeway"]["links"][role];
        let _ = write!(
            b,
            "<tr data-link=\"{role}\"><td>{role}</td><td>{}</td><td>{}</td><td class=\"health\">…</td><td class=\"in\">…</td><td class=\"out\">…</td></tr>",
            esc(l["edge"].as_str().unwrap_or("—")),
            esc(l["state"].as_str().unwrap_or_default())
        );
    }
    b.push_str("</tbody></table><h3>Traffic</h3><canvas id=\"traffic\" width=\"900\" height=\"180\"></canvas>\
        <p class=\"legend\" id=\"traffic-legend\">bits per second, per link, in and out (from the edges' counters)</p></section>");

    // Peerings with their forms.
    b.push_str("<section class=\"card\" id=\"peerings\"><h2>Peerings</h2><table class=\"list\"><thead><tr><th>Peering</th><th>VLAN</th>\
        <th>Peer ASN</th><th>Primary subnet</th><th>Secondary subnet</th><th>State</th><th></th></tr></thead><tbody>");
    for peering in p["peerings"].as_array().into_iter().flatten() {
        let pp = &peering["properties"];
        let pname = peering["name"].as_str().unwrap_or_default();
        let _ = write!(
            b,
            "<tr data-peering=\"{pn}\"><td>{pn}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>\
             <form method=\"post\" action=\"/console/action\" class=\"inline\">{}<input type=\"hidden\" name=\"op\" value=\"delete_peering\">\
             <input type=\"hidden\" name=\"id\" value=\"{}\"><input type=\"hidden\" name=\"peering\" value=\"{pn}\">\
             <button class=\"danger\" type=\"submit\">Delete {pn}</button></form></td></tr>",
            pp["vlanId"],
            pp["peerASN"],
            esc(pp["primaryPeerAddressPrefix"].as_str().unwrap_or_default()),
            esc(pp["secondaryPeerAddressPrefix"]
                .as_str()
                .unwrap_or_default()),
            esc(pp["state"].as_str().unwrap_or_default()),
            csrf(s),
            esc(&id),
            pn = esc(pname),
        );
    }
    b.push_str("</tbody></table><h3>Sessions</h3><table class=\"list\"><thead><tr><th>Peering</th><th>Link</th><th>Neighbor</th>\
        <th>AS</th><th>State</th><th>Uptime</th><th>Received</th><th>Advertised</th><th>BFD</th><th>Last error</th></tr></thead>\
        <tbody id=\"sessions\"><tr><td colspan=\"10\">waiting for the edges…</td></tr></tbody></table>");
    let _ = write!(
        b,
        "<h3>Add a peering</h3><form method=\"post\" action=\"/console/action\" class=\"grid\" id=\"peering-form\">{}\
         <input type=\"hidden\" name=\"op\" value=\"create_peering\"><input type=\"hidden\" name=\"id\" value=\"{}\">\
         <label>Type <select name=\"type\"><option>AzurePrivatePeering</option><option>MicrosoftPeering</option></select></label>\
         <label>Peer ASN <input name=\"peer_asn\" required></label>\
         <label>Primary subnet <input name=\"primary\" placeholder=\"172.16.0.0/30\" required></label>\
         <label>Secondary subnet <input name=\"secondary\" placeholder=\"172.16.0.4/30\" required></label>\
         <label>VLAN <input name=\"vlan\" required></label>\
         <label>MD5 key <input name=\"shared_key\" type=\"password\" autocomplete=\"off\"></label>\
         <label>Advertised public prefixes (Microsoft) <input name=\"public_prefixes\" placeholder=\"203.0.113.0/27\"></label>\
         <button type=\"submit\">Add peering</button></form></section>",
        csrf(s),
        esc(&id)
    );

    // Tables and events.
    b.push_str("<section class=\"card\"><h2>Route table</h2><table class=\"list\"><thead><tr><th>Link</th><th>Peering</th><th>Network</th>\
        <th>Next hop</th><th>AS path</th><th>From</th></tr></thead><tbody id=\"routes\"></tbody></table>\
        <h2>ARP table</h2><table class=\"list\"><thead><tr><th>Link</th><th>Peering</th><th>IP address</th><th>MAC address</th>\
        <th>Interface</th><th>Age</th></tr></thead><tbody id=\"arp\"></tbody></table></section>\
        <section class=\"card\"><h2>Recent events</h2><ul id=\"events\" class=\"events\"><li>none observed yet</li></ul></section>");

    // Authorizations, configuration downloads, deletion.
    b.push_str("<section class=\"card\" id=\"authorizations\"><h2>Authorizations</h2><table class=\"list\"><thead><tr><th>Name</th>\
        <th>Status</th><th></th></tr></thead><tbody>");
    for a in p["authorizations"].as_array().into_iter().flatten() {
        let an = a["name"].as_str().unwrap_or_default();
        let _ = write!(
            b,
            "<tr><td>{an}</td><td>{}</td><td><form method=\"post\" action=\"/console/action\" class=\"inline\">{}\
             <input type=\"hidden\" name=\"op\" value=\"delete_authorization\"><input type=\"hidden\" name=\"id\" value=\"{}\">\
             <input type=\"hidden\" name=\"authorization\" value=\"{an}\"><button class=\"danger\">Delete</button></form></td></tr>",
            esc(a["properties"]["authorizationUseStatus"]
                .as_str()
                .unwrap_or_default()),
            csrf(s),
            esc(&id),
            an = esc(an)
        );
    }
    let _ = write!(
        b,
        "</tbody></table><form method=\"post\" action=\"/console/action\" class=\"grid\">{}\
         <input type=\"hidden\" name=\"op\" value=\"create_authorization\"><input type=\"hidden\" name=\"id\" value=\"{}\">\
         <label>Name <input name=\"authorization\" required></label><button type=\"submit\">Add authorization</button></form></section>",
        csrf(s),
        esc(&id)
    );
    b.push_str("<section class=\"card\"><h2>Customer-edge configuration</h2><p>The router side of both links (MD5 keys withheld; \
        <code>causeway ce-config --with-secrets</code> includes them):");
    for (v, label) in [
        ("bird", "BIRD 2"),
        ("frr", "FRR"),
        ("junos", "Junos"),
        ("ios-xe", "IOS XE"),
        ("eos", "EOS"),
    ] {
        let _ = write!(
            b,
            " <a class=\"button\" href=\"/console/ce-config?id={}&amp;vendor={v}\">{label}</a>",
            esc(&url_arg(&id))
        );
    }
    let _ = write!(
        b,
        "</p></section><section class=\"card\"><h2>Delete this circuit</h2>\
         <form method=\"post\" action=\"/console/action\">{}<input type=\"hidden\" name=\"op\" value=\"delete_circuit\">\
         <input type=\"hidden\" name=\"id\" value=\"{}\"><button class=\"danger\" type=\"submit\">Delete circuit {}</button></form></section>",
        csrf(s),
        esc(&id),
        esc(name)
    );
    Ok(layout(name, Some(s), Some(&id), &b))
}

// ===== forms =====

/// What a form did: where to go next, or the page to show again with the API's error.
#[derive(Debug)]
pub enum FormResult {
    Done(String),
    Failed { status: u16, body: String },
}

fn circuit_url(id: &str) -> String {
    format!("/console/circuit?id={}", url_arg(id))
}

fn list_of(s: &str) -> Vec<String> {
    s.split([',', ' '])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Applies one form through the ARM dispatcher; an error re-renders the page it came from
/// with the API's code and message as they are.
pub fn apply_form(svc: &Service, s: &Session, f: &[(String, String)]) -> FormResult {
    let id = field(f, "id").to_owned();
    let result: R<String> = (|| match field(f, "op") {
        "create_circuit" => {
            let path = format!(
                "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Network/expressRouteCircuits/{}",
                encode(field(f, "sub").trim()),
                encode(field(f, "rg").trim()),
                encode(field(f, "name").trim())
            );
            let bandwidth: Value = field(f, "bandwidth")
                .trim()
                .parse::<u64>()
                .map_or_else(|_| json!(field(f, "bandwidth")), Value::from);
            let body = json!({
                "location": field(f, "location").trim(),
                "sku": {
                    "name": format!("{}_{}", field(f, "tier"), field(f, "family")),
                    "tier": field(f, "tier"),
                    "family": field(f, "family"),
                },
                "properties": {"serviceProviderProperties": {
                    "serviceProviderName": field(f, "provider"),
                    "peeringLocation": field(f, "peering_location"),
                    "bandwidthInMbps": bandwidth,
                }},
            });
            let c = arm(svc, &s.principal, Verb::Put, &path, Some(body), None)?;
            Ok(circuit_url(c["id"].as_str().unwrap_or(&path)))
        }
        "delete_circuit" => {
            arm(svc, &s.principal, Verb::Delete, &id, None, None)?;
            Ok("/".to_owned())
        }
        "create_peering" => {
            let kind = field(f, "type");
            let asn: Value = field(f, "peer_asn")
                .trim()
                .parse::<u64>()
                .map_or_else(|_| json!(field(f, "peer_asn")), Value::from);
            let vlan: Value = field(f, "vlan")
                .trim()
                .parse::<u64>()
                .map_or_else(|_| json!(field(f, "vlan")), Value::from);
            let mut props = json!({
                "peeringType": kind,
                "peerASN": asn,
                "primaryPeerAddressPrefix": field(f, "primary").trim(),
                "secondaryPeerAddressPrefix": field(f, "secondary").trim(),
                "vlanId": vlan,
                "state": "Enabled",
            });
            let key = field(f, "shared_key");
            if !key.is_empty() {
                props["sharedKey"] = json!(key);
            }
            let public = list_of(field(f, "public_prefixes"));
            if kind == "MicrosoftPeering" {
                props["microsoftPeeringConfig"] = json!({"advertisedPublicPrefixes": public});
            }
            arm(
                svc,
                &s.principal,
                Verb::Put,
                &format!("{id}/peerings/{}", encode(kind)),
                Some(json!({"properties": props})),
                None,
            )?;
            Ok(circuit_url(&id))
        }
        "delete_peering" => {
            arm(
                svc,
                &s.principal,
                Verb::Delete,
                &format!("{id}/peerings/{}", encode(field(f, "peering"))),
                None,
                None,
            )?;
            Ok(circuit_url(&id))
        }
        "create_authorization" => {
            arm(
                svc,
                &s.principal,
                Verb::Put,
                &format!(
                    "{id}/authorizations/{}",
                    encode(field(f, "authorization").trim())
                ),
                Some(json!({"properties": {}})),
                None,
            )?;
            Ok(circuit_url(&id))
        }
        "delete_authorization" => {
            arm(
                svc,
                &s.principal,
                Verb::Delete,
                &format!("{id}/authorizations/{}", encode(field(f, "authorization"))),
                None,
                None,
            )?;
            Ok(circuit_url(&id))
        }
        other => Err(ArmError::bad_request(
            "UnknownConsoleAction",
            format!("The console has no action '{}'.", esc(other)),
        )),
    })();
    match result {
        Ok(to) => FormResult::Done(to),
        Err(e) => {
            let status = e.status.code();
            // Back to the page the form was on, with the API's message as it is.
            let page = if id.is_empty() || field(f, "op") == "create_circuit" {
                circuits_page(svc, s, None, Some(&e)).ok()
            } else {
                circuit_page(svc, s, &id, Some(&e)).ok()
            };
            FormResult::Failed {
                status,
                body: page.unwrap_or_else(|| message_page(e.code, &e.message)),
            }
        }
    }
}
