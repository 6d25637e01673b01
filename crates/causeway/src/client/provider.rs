//! The provider side: `expressRouteCrossConnections`, named by the circuit's service key and
//! living in the provider's subscription, resource group `CrossConnection-<location>`.

use anyhow::anyhow;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::output::{Col, at, col, print_list, print_one, resource_group, rg_of_id};
use super::peering::{PEERING_COLS, PeeringSpec, put_peering};
use super::{Client, Conn, seg, tags_json};

#[derive(Debug, Subcommand)]
pub enum CrossConnectionCommand {
    /// List the cross-connections of circuits ordered through you.
    List(CrossListArgs),
    /// Show a cross-connection.
    Show(CrossRefArgs),
    /// Move the provisioning state on, or change the notes or tags.
    Update(CrossUpdateArgs),
    /// Layer-3 providers: the cross-connection's peerings.
    Peering {
        #[command(subcommand)]
        command: CrossPeeringCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum CrossPeeringCommand {
    /// Create (or replace) a peering on the customer's behalf.
    Create(CrossPeeringCreateArgs),
    /// Show a peering.
    Show(CrossPeeringRefArgs),
    /// List the peerings.
    List(CrossParentArgs),
    /// Delete a peering.
    Delete(CrossPeeringRefArgs),
}

#[derive(Debug, Args)]
pub struct CrossListArgs {
    /// Only this resource group (CrossConnection-<PeeringLocation>).
    #[arg(long = "resource-group", short = 'g')]
    pub resource_group: Option<String>,
    #[command(flatten)]
    pub conn: Conn,
}

/// A cross-connection: its name (the service key) and, optionally, its resource group.
#[derive(Debug, Args)]
pub struct CrossName {
    /// The cross-connection's name: the circuit's service key.
    #[arg(long, short = 'n')]
    pub name: String,
    /// Resource group, CrossConnection-<PeeringLocation> [default: found by listing].
    #[arg(long = "resource-group", short = 'g')]
    pub resource_group: Option<String>,
}

#[derive(Debug, Args)]
pub struct CrossRefArgs {
    #[command(flatten)]
    pub cross: CrossName,
    #[command(flatten)]
    pub conn: Conn,
}

#[derive(Debug, Args)]
pub struct CrossUpdateArgs {
    #[command(flatten)]
    pub cross: CrossName,
    /// NotProvisioned, Provisioning, Provisioned or Deprovisioning.
    #[arg(long)]
    pub provisioning_state: Option<String>,
    /// Notes the customer sees on the circuit.
    #[arg(long)]
    pub notes: Option<String>,
    /// Replace the cross-connection's tags: key[=value] ... ("" clears them).
    #[arg(long, num_args = 0.., value_name = "KEY[=VALUE]")]
    pub tags: Option<Vec<String>>,
    #[command(flatten)]
    pub conn: Conn,
}

/// `--cross-connection-name` and `-g` of a peering's parent.
#[derive(Debug, Args)]
pub struct CrossParent {
    /// The cross-connection's name (the circuit's service key).
    #[arg(long)]
    pub cross_connection_name: String,
    /// Resource group, CrossConnection-<PeeringLocation> [default: found by listing].
    #[arg(long = "resource-group", short = 'g')]
    pub resource_group: Option<String>,
}

#[derive(Debug, Args)]
pub struct CrossParentArgs {
    #[command(flatten)]
    pub parent: CrossParent,
    #[command(flatten)]
    pub conn: Conn,
}

#[derive(Debug, Args)]
pub struct CrossPeeringRefArgs {
    #[command(flatten)]
    pub parent: CrossParent,
    /// Peering name: AzurePrivatePeering or MicrosoftPeering.
    #[arg(long, short = 'n')]
    pub name: String,
    #[command(flatten)]
    pub conn: Conn,
}

#[derive(Debug, Args)]
pub struct CrossPeeringCreateArgs {
    #[command(flatten)]
    pub parent: CrossParent,
    #[command(flatten)]
    pub spec: PeeringSpec,
    #[command(flatten)]
    pub conn: Conn,
}

const CROSS_COLS: &[Col] = &[
    col("Name", |v| at(v, "/name")),
    col("ResourceGroup", resource_group),
    col("PeeringLocation", |v| at(v, "/properties/peeringLocation")),
    col("Bandwidth", |v| {
        let m = at(v, "/properties/bandwidthInMbps");
        if m.is_empty() { m } else { format!("{m} Mbps") }
    }),
    col("ProviderState", |v| {
        at(v, "/properties/serviceProviderProvisioningState")
    }),
    col("Notes", |v| at(v, "/properties/serviceProviderNotes")),
    col("Circuit", |v| at(v, "/properties/expressRouteCircuit/id")),
];

fn collection(c: &Client, rg: Option<&str>) -> anyhow::Result<String> {
    match rg {
        Some(rg) => c.sub_path(&format!(
            "/resourceGroups/{}/providers/Microsoft.Network/expressRouteCrossConnections",
            seg(rg)
        )),
        None => c.sub_path("/providers/Microsoft.Network/expressRouteCrossConnections"),
    }
}

/// The cross-connection's path; without `-g`, its resource group is found by listing.
fn cross_path(c: &Client, name: &str, rg: Option<&str>) -> anyhow::Result<String> {
    let rg = match rg {
        Some(rg) => rg.to_owned(),
        None => c
            .list(&collection(c, None)?)?
            .iter()
            .find(|x| {
                x.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .and_then(|x| x.get("id").and_then(Value::as_str).and_then(rg_of_id))
            .ok_or_else(|| {
                anyhow!(
                    "ResourceNotFound: The Resource 'Microsoft.Network/expressRouteCrossConnections/{name}' \
                     was not found in subscription '{}'.",
                    c.subscription().unwrap_or("")
                )
            })?,
    };
    Ok(format!("{}/{}", collection(c, Some(&rg))?, seg(name)))
}

pub fn cross_connection(command: CrossConnectionCommand) -> anyhow::Result<()> {
    match command {
        CrossConnectionCommand::List(a) => {
            let c = Client::connect(&a.conn)?;
            let items = c.list(&collection(&c, a.resource_group.as_deref())?)?;
            print_list(a.conn.output, &items, CROSS_COLS);
        }
        CrossConnectionCommand::Show(a) => {
            let c = Client::connect(&a.conn)?;
            let path = cross_path(&c, &a.cross.name, a.cross.resource_group.as_deref())?;
            print_one(a.conn.output, &c.get(&path)?, CROSS_COLS);
        }
        CrossConnectionCommand::Update(a) => {
            let c = Client::connect(&a.conn)?;
            let path = cross_path(&c, &a.cross.name, a.cross.resource_group.as_deref())?;
            let mut body = c.get(&path)?;
            let etag = body.get("etag").and_then(Value::as_str).map(str::to_owned);
            if let Some(s) = &a.provisioning_state {
                body["properties"]["serviceProviderProvisioningState"] = json!(s);
            }
            if let Some(n) = &a.notes {
                body["properties"]["serviceProviderNotes"] = json!(n);
            }
            if let Some(t) = &a.tags {
                body["tags"] = tags_json(t);
            }
            let v = c.put(&path, &body, etag.as_deref())?;
            print_one(a.conn.output, &v, CROSS_COLS);
        }
        CrossConnectionCommand::Peering { command } => cross_peering(command)?,
    }
    Ok(())
}

fn cross_peering(command: CrossPeeringCommand) -> anyhow::Result<()> {
    let parent = |c: &Client, p: &CrossParent| {
        cross_path(c, &p.cross_connection_name, p.resource_group.as_deref())
    };
    match command {
        CrossPeeringCommand::Create(a) => {
            let c = Client::connect(&a.conn)?;
            let p = put_peering(&c, &parent(&c, &a.parent)?, &a.spec)?;
            print_one(a.conn.output, &p, PEERING_COLS);
        }
        CrossPeeringCommand::Show(a) => {
            let c = Client::connect(&a.conn)?;
            let path = format!("{}/peerings/{}", parent(&c, &a.parent)?, seg(&a.name));
            print_one(a.conn.output, &c.get(&path)?, PEERING_COLS);
        }
        CrossPeeringCommand::List(a) => {
            let c = Client::connect(&a.conn)?;
            let path = format!("{}/peerings", parent(&c, &a.parent)?);
            print_list(a.conn.output, &c.list(&path)?, PEERING_COLS);
        }
        CrossPeeringCommand::Delete(a) => {
            let c = Client::connect(&a.conn)?;
            let path = format!("{}/peerings/{}", parent(&c, &a.parent)?, seg(&a.name));
            c.delete(&path)?;
        }
    }
    Ok(())
}
