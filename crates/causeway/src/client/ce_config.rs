//! `causeway ce-config`: the customer-side router configuration of a circuit's two links, as
//! the control plane writes it (`POST …/customerEdgeConfiguration`), printed or saved.

use anyhow::{Context, anyhow};
use clap::{Args, ValueEnum};
use serde_json::{Value, json};

use super::circuit::CircuitName;
use super::{Client, Conn};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Vendor {
    Bird,
    Frr,
    Junos,
    IosXe,
    Eos,
}

impl Vendor {
    fn as_str(self) -> &'static str {
        match self {
            Vendor::Bird => "bird",
            Vendor::Frr => "frr",
            Vendor::Junos => "junos",
            Vendor::IosXe => "ios-xe",
            Vendor::Eos => "eos",
        }
    }
}

#[derive(Debug, Args)]
pub struct CeConfigArgs {
    #[command(flatten)]
    pub circuit: CircuitName,
    /// Only this peering (AzurePrivatePeering, MicrosoftPeering); default: every peering.
    #[arg(long)]
    pub peering: Option<String>,
    /// The router the configuration is for.
    #[arg(long, value_enum)]
    pub vendor: Vendor,
    /// Include the BGP MD5 keys (otherwise each is replaced by a comment).
    #[arg(long)]
    pub with_secrets: bool,
    /// A prefix to announce over private peering (repeat it; within the SKU's route limit).
    #[arg(long = "announce", value_name = "PREFIX")]
    pub announce: Vec<String>,
    /// The router's interface toward the primary link [default: the vendor's first port].
    #[arg(long)]
    pub primary_interface: Option<String>,
    /// The router's interface toward the secondary link.
    #[arg(long)]
    pub secondary_interface: Option<String>,
    /// BFD interval in ms [default: the edges' own].
    #[arg(long)]
    pub bfd_interval_ms: Option<u32>,
    /// BFD multiplier [default: the edges' own].
    #[arg(long)]
    pub bfd_multiplier: Option<u8>,
    /// Write the configuration to this file (mode 0600 with secrets) instead of stdout.
    #[arg(long, short = 'f')]
    pub file: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub conn: Conn,
}

impl CeConfigArgs {
    /// The request body of `POST …/customerEdgeConfiguration`.
    pub fn body(&self) -> Value {
        let mut b = json!({
            "vendor": self.vendor.as_str(),
            "includeSecrets": self.with_secrets,
            "announcePrefixes": self.announce,
        });
        let opt = [
            ("peeringName", self.peering.clone().map(Value::from)),
            (
                "primaryInterface",
                self.primary_interface.clone().map(Value::from),
            ),
            (
                "secondaryInterface",
                self.secondary_interface.clone().map(Value::from),
            ),
            ("bfdIntervalMs", self.bfd_interval_ms.map(Value::from)),
            ("bfdMultiplier", self.bfd_multiplier.map(Value::from)),
        ];
        for (k, v) in opt {
            if let Some(v) = v {
                b[k] = v;
            }
        }
        b
    }
}

/// The configuration text of a circuit, as the control plane answers it.
pub fn fetch(c: &Client, circuit_path: &str, body: &Value) -> anyhow::Result<String> {
    let r = c.post(&format!("{circuit_path}/customerEdgeConfiguration"), body)?;
    r["content"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("the answer has no configuration text"))
}

pub fn ce_config(a: &CeConfigArgs) -> anyhow::Result<()> {
    let c = Client::connect(&a.conn)?;
    let text = fetch(&c, &a.circuit.path(&c)?, &a.body())?;
    match &a.file {
        Some(path) if a.with_secrets => control::write_private(path, text.as_bytes())?,
        Some(path) => std::fs::write(path, &text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(())
}
