//! Circuits, the provider catalogue, stats and the route/ARP tables of a peering's links.

use anyhow::{anyhow, bail};
use clap::Args;
use serde_json::{Value, json};

use super::output::{Col, at, col, print_list, print_one, resource_group};
use super::{Client, Conn, seg, tags_json};

/// `-n/--name` and `-g/--resource-group` of a circuit.
#[derive(Debug, Args)]
pub struct CircuitName {
    /// Circuit name.
    #[arg(long, short = 'n')]
    pub name: String,
    /// Resource group.
    #[arg(long = "resource-group", short = 'g')]
    pub resource_group: String,
}

impl CircuitName {
    pub fn path(&self, c: &Client) -> anyhow::Result<String> {
        circuit_path(c, &self.resource_group, &self.name)
    }
}

pub fn circuit_path(c: &Client, rg: &str, name: &str) -> anyhow::Result<String> {
    c.sub_path(&format!(
        "/resourceGroups/{}/providers/Microsoft.Network/expressRouteCircuits/{}",
        seg(rg),
        seg(name)
    ))
}

#[derive(Debug, Args)]
pub struct ListProvidersArgs {
    #[command(flatten)]
    pub conn: Conn,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub circuit: CircuitName,
    /// Azure region of the circuit resource (e.g. westeurope).
    #[arg(long, short = 'l')]
    pub location: String,
    /// Connectivity provider, as `list-service-providers` names it.
    #[arg(long)]
    pub provider: String,
    /// Peering location served by the provider.
    #[arg(long)]
    pub peering_location: String,
    /// Bandwidth: 50, "50 Mbps", "1 Gbps" (Mbps when no unit is given).
    #[arg(long, num_args = 1..=2, required = true, value_name = "BANDWIDTH")]
    pub bandwidth: Vec<String>,
    /// SKU tier: Local, Standard or Premium.
    #[arg(long, default_value = "Standard")]
    pub sku_tier: String,
    /// SKU family: MeteredData or UnlimitedData.
    #[arg(long, default_value = "MeteredData")]
    pub sku_family: String,
    /// Space-separated tags: key[=value] ...
    #[arg(long, num_args = 0.., value_name = "KEY[=VALUE]")]
    pub tags: Vec<String>,
    /// Allow classic (ASM) operations on the circuit.
    #[arg(long, value_name = "BOOL")]
    pub allow_classic_operations: Option<bool>,
    #[command(flatten)]
    pub conn: Conn,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub circuit: CircuitName,
    #[command(flatten)]
    pub conn: Conn,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this resource group (default: the whole subscription).
    #[arg(long = "resource-group", short = 'g')]
    pub resource_group: Option<String>,
    #[command(flatten)]
    pub conn: Conn,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub circuit: CircuitName,
    /// New bandwidth (can only grow): 50, "50 Mbps", "1 Gbps".
    #[arg(long, num_args = 1..=2, value_name = "BANDWIDTH")]
    pub bandwidth: Vec<String>,
    /// New SKU tier: Standard or Premium (Local stays Local).
    #[arg(long)]
    pub sku_tier: Option<String>,
    /// New SKU family: MeteredData → UnlimitedData.
    #[arg(long)]
    pub sku_family: Option<String>,
    /// Replace the tags: key[=value] ... ("" clears them).
    #[arg(long, num_args = 0.., value_name = "KEY[=VALUE]")]
    pub tags: Option<Vec<String>>,
    /// Allow classic (ASM) operations on the circuit.
    #[arg(long, value_name = "BOOL")]
    pub allow_classic_operations: Option<bool>,
    #[command(flatten)]
    pub conn: Conn,
}

#[derive(Debug, Clone, Copy)]
pub enum TableKind {
    Routes,
    Summary,
    Arp,
}

#[derive(Debug, Args)]
pub struct TableArgs {
    /// Circuit name.
    #[arg(long, short = 'n')]
    pub name: String,
    /// Resource group.
    #[arg(long = "resource-group", short = 'g')]
    pub resource_group: String,
    /// Peering: AzurePrivatePeering or MicrosoftPeering.
    #[arg(long)]
    pub peering_name: String,
    /// Which link: primary or secondary.
    #[arg(long, default_value = "primary", value_parser = ["primary", "secondary"], ignore_case = true)]
    pub path: String,
    #[command(flatten)]
    pub conn: Conn,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub circuit: CircuitName,
    /// Only this peering's counters.
    #[arg(long)]
    pub peering_name: Option<String>,
    #[command(flatten)]
    pub conn: Conn,
}

// ===== columns =====

pub const CIRCUIT_COLS: &[Col] = &[
    col("Name", |v| at(v, "/name")),
    col("ResourceGroup", resource_group),
    col("Location", |v| at(v, "/location")),
    col("Provider", |v| {
        at(
            v,
            "/properties/serviceProviderProperties/serviceProviderName",
        )
    }),
    col("PeeringLocation", |v| {
        at(v, "/properties/serviceProviderProperties/peeringLocation")
    }),
    col("Bandwidth", |v| {
        let m = at(v, "/properties/serviceProviderProperties/bandwidthInMbps");
        if m.is_empty() { m } else { format!("{m} Mbps") }
    }),
    col("Sku", |v| at(v, "/sku/name")),
    col("ProviderState", |v| {
        at(v, "/properties/serviceProviderProvisioningState")
    }),
    col("ServiceKey", |v| at(v, "/properties/serviceKey")),
];

const PROVIDER_COLS: &[Col] = &[
    col("Name", |v| at(v, "/name")),
    col("PeeringLocations", |v| {
        at(v, "/properties/peeringLocations")
    }),
    col("BandwidthsOffered", |v| {
        v.pointer("/properties/bandwidthsOffered")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|b| at(b, "/offerName"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    }),
];

const ROUTE_COLS: &[Col] = &[
    col("Network", |v| at(v, "/network")),
    col("NextHop", |v| at(v, "/nextHop")),
    col("LocPrf", |v| at(v, "/locPrf")),
    col("Weight", |v| at(v, "/weight")),
    col("Path", |v| at(v, "/path")),
];

const SUMMARY_COLS: &[Col] = &[
    col("Neighbor", |v| at(v, "/neighbor")),
    col("V", |v| at(v, "/v")),
    col("AS", |v| at(v, "/as")),
    col("UpDown", |v| at(v, "/upDown")),
    col("StatePfxRcd", |v| at(v, "/statePfxRcd")),
];

const ARP_COLS: &[Col] = &[
    col("Age", |v| at(v, "/age")),
    col("Interface", |v| at(v, "/interface")),
    col("IpAddress", |v| at(v, "/ipAddress")),
    col("MacAddress", |v| at(v, "/macAddress")),
];

const STATS_COLS: &[Col] = &[
    col("PrimaryBytesIn", |v| at(v, "/primarybytesIn")),
    col("PrimaryBytesOut", |v| at(v, "/primarybytesOut")),
    col("SecondaryBytesIn", |v| at(v, "/secondarybytesIn")),
    col("SecondaryBytesOut", |v| at(v, "/secondarybytesOut")),
];

// ===== bandwidth =====

/// "50", "50 Mbps", "50Mbps", "1 Gbps", "1.5Gbps" → Mbps.
pub fn parse_bandwidth(parts: &[String]) -> anyhow::Result<u32> {
    let given = parts.join(" ");
    let s: String = given
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    let (num, mult) = if let Some(n) = s.strip_suffix("gbps") {
        (n, 1000.0)
    } else if let Some(n) = s.strip_suffix("mbps") {
        (n, 1.0)
    } else {
        (s.as_str(), 1.0)
    };
    let bad = || {
        anyhow!(
            "InvalidBandwidth: '{given}' is not a bandwidth such as 50, \"50 Mbps\" or \"1 Gbps\""
        )
    };
    let value: f64 = num.parse().map_err(|_| bad())?;
    let mbps = value * mult;
    let rounded = mbps.round();
    if !mbps.is_finite() || rounded < 1.0 || rounded > f64::from(u32::MAX) {
        return Err(bad());
    }
    if (mbps - rounded).abs() > 1e-6 {
        return Err(bad());
    }
    Ok(rounded as u32)
}

// ===== commands =====

pub fn list_service_providers(a: &ListProvidersArgs) -> anyhow::Result<()> {
    let c = Client::connect(&a.conn)?;
    let path = c.sub_path("/providers/Microsoft.Network/expressRouteServiceProviders")?;
    print_list(a.conn.output, &c.list(&path)?, PROVIDER_COLS);
    Ok(())
}

pub fn create(a: &CreateArgs) -> anyhow::Result<()> {
    let c = Client::connect(&a.conn)?;
    let bandwidth = parse_bandwidth(&a.bandwidth)?;
    let mut props = json!({
        "serviceProviderProperties": {
            "serviceProviderName": a.provider,
            "peeringLocation": a.peering_location,
            "bandwidthInMbps": bandwidth,
        }
    });
    if let Some(b) = a.allow_classic_operations {
        props["allowClassicOperations"] = json!(b);
    }
    let body = json!({
        "location": a.location,
        "tags": tags_json(&a.tags),
        "sku": {
            "name": format!("{}_{}", a.sku_tier, a.sku_family),
            "tier": a.sku_tier,
            "family": a.sku_family,
        },
        "properties": props,
    });
    let circuit = c.put(&a.circuit.path(&c)?, &body, None)?;
    print_one(a.conn.output, &circuit, CIRCUIT_COLS);
    Ok(())
}

pub fn show(a: &ShowArgs) -> anyhow::Result<()> {
    let c = Client::connect(&a.conn)?;
    print_one(a.conn.output, &c.get(&a.circuit.path(&c)?)?, CIRCUIT_COLS);
    Ok(())
}

pub fn list(a: &ListArgs) -> anyhow::Result<()> {
    let c = Client::connect(&a.conn)?;
    let path = match &a.resource_group {
        Some(rg) => c.sub_path(&format!(
            "/resourceGroups/{}/providers/Microsoft.Network/expressRouteCircuits",
            seg(rg)
        ))?,
        None => c.sub_path("/providers/Microsoft.Network/expressRouteCircuits")?,
    };
    print_list(a.conn.output, &c.list(&path)?, CIRCUIT_COLS);
    Ok(())
}

/// Tags alone go by PATCH (ARM's UpdateTags); anything else is GET, modify, PUT with If-Match.
pub fn update(a: &UpdateArgs) -> anyhow::Result<()> {
    let c = Client::connect(&a.conn)?;
    let path = a.circuit.path(&c)?;
    let only_tags = a.bandwidth.is_empty()
        && a.sku_tier.is_none()
        && a.sku_family.is_none()
        && a.allow_classic_operations.is_none();
    let circuit = match (&a.tags, only_tags) {
        (None, true) => bail!(
            "nothing to update: give --bandwidth, --sku-tier, --sku-family, --tags or --allow-classic-operations"
        ),
        (Some(tags), true) => c.patch(&path, &json!({"tags": tags_json(tags)}))?,
        (tags, false) => {
            let mut body = c.get(&path)?;
            let etag = body.get("etag").and_then(Value::as_str).map(str::to_owned);
            if !a.bandwidth.is_empty() {
                body["properties"]["serviceProviderProperties"]["bandwidthInMbps"] =
                    json!(parse_bandwidth(&a.bandwidth)?);
            }
            if let Some(t) = &a.sku_tier {
                body["sku"]["tier"] = json!(t);
            }
            if let Some(f) = &a.sku_family {
                body["sku"]["family"] = json!(f);
            }
            let name = format!("{}_{}", at(&body, "/sku/tier"), at(&body, "/sku/family"));
            body["sku"]["name"] = json!(name);
            if let Some(t) = tags {
                body["tags"] = tags_json(t);
            }
            if let Some(b) = a.allow_classic_operations {
                body["properties"]["allowClassicOperations"] = json!(b);
            }
            c.put(&path, &body, etag.as_deref())?
        }
    };
    print_one(a.conn.output, &circuit, CIRCUIT_COLS);
    Ok(())
}

pub fn delete(a: &ShowArgs) -> anyhow::Result<()> {
    let c = Client::connect(&a.conn)?;
    c.delete(&a.circuit.path(&c)?)
}

pub fn table(a: &TableArgs, kind: TableKind) -> anyhow::Result<()> {
    let c = Client::connect(&a.conn)?;
    let (action, cols) = match kind {
        TableKind::Routes => ("routeTables", ROUTE_COLS),
        TableKind::Summary => ("routeTablesSummary", SUMMARY_COLS),
        TableKind::Arp => ("arpTables", ARP_COLS),
    };
    let path = format!(
        "{}/peerings/{}/{action}/{}",
        circuit_path(&c, &a.resource_group, &a.name)?,
        seg(&a.peering_name),
        a.path.to_ascii_lowercase()
    );
    let result = c.post_action(&path)?;
    let items = result
        .get("value")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    match a.conn.output {
        Some(super::Output::Json) => super::output::print_json(&result),
        out => print_list(out, &items, cols),
    }
    Ok(())
}

pub fn stats(a: &StatsArgs) -> anyhow::Result<()> {
    let c = Client::connect(&a.conn)?;
    let base = a.circuit.path(&c)?;
    let path = match &a.peering_name {
        Some(p) => format!("{base}/peerings/{}/stats", seg(p)),
        None => format!("{base}/stats"),
    };
    print_one(a.conn.output, &c.get(&path)?, STATS_COLS);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bw(s: &[&str]) -> Option<u32> {
        parse_bandwidth(&s.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()).ok()
    }

    #[test]
    fn bandwidths_parse_like_az() {
        assert_eq!(bw(&["50"]), Some(50));
        assert_eq!(bw(&["50 Mbps"]), Some(50));
        assert_eq!(bw(&["50", "Mbps"]), Some(50));
        assert_eq!(bw(&["50mbps"]), Some(50));
        assert_eq!(bw(&["1 Gbps"]), Some(1000));
        assert_eq!(bw(&["10Gbps"]), Some(10000));
        assert_eq!(bw(&["1.5", "gbps"]), Some(1500));
        assert_eq!(bw(&["0"]), None);
        assert_eq!(bw(&["fast"]), None);
        assert_eq!(bw(&["50 Kbps"]), None);
        assert_eq!(bw(&["0.5 Mbps"]), None);
    }
}
