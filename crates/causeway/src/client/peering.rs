//! Peerings (of a circuit, or of a cross-connection on the provider side) and authorizations.

use anyhow::bail;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Map, Value, json};

use super::circuit::circuit_path;
use super::output::{Col, at, col, print_list, print_one};
use super::{Client, Conn, seg};

#[derive(Debug, Subcommand)]
pub enum PeeringCommand {
    /// Create (or replace) a peering; --ip-version ipv6 adds IPv6 subnets to an existing one.
    Create(PeeringCreateArgs),
    /// Show a peering.
    Show(PeeringRefArgs),
    /// List a circuit's peerings.
    List(CircuitRefArgs),
    /// Delete a peering.
    Delete(PeeringRefArgs),
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Create an authorization (its key lets another subscription connect).
    Create(AuthRefArgs),
    /// Show an authorization.
    Show(AuthRefArgs),
    /// List a circuit's authorizations.
    List(CircuitRefArgs),
    /// Delete an authorization.
    Delete(AuthRefArgs),
}

/// `--circuit-name` and `-g`.
#[derive(Debug, Args)]
pub struct CircuitRef {
    /// Circuit name.
    #[arg(long)]
    pub circuit_name: String,
    /// Resource group.
    #[arg(long = "resource-group", short = 'g')]
    pub resource_group: String,
}

impl CircuitRef {
    fn path(&self, c: &Client) -> anyhow::Result<String> {
        circuit_path(c, &self.resource_group, &self.circuit_name)
    }
}

#[derive(Debug, Args)]
pub struct CircuitRefArgs {
    #[command(flatten)]
    pub circuit: CircuitRef,
    #[command(flatten)]
    pub conn: Conn,
}

#[derive(Debug, Args)]
pub struct PeeringRefArgs {
    #[command(flatten)]
    pub circuit: CircuitRef,
    /// Peering name: AzurePrivatePeering or MicrosoftPeering.
    #[arg(long, short = 'n')]
    pub name: String,
    #[command(flatten)]
    pub conn: Conn,
}

#[derive(Debug, Args)]
pub struct AuthRefArgs {
    #[command(flatten)]
    pub circuit: CircuitRef,
    /// Authorization name.
    #[arg(long, short = 'n')]
    pub name: String,
    #[command(flatten)]
    pub conn: Conn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IpVersion {
    Ipv4,
    Ipv6,
}

/// What a peering PUT says (shared by circuit and cross-connection peerings).
#[derive(Debug, Args)]
pub struct PeeringSpec {
    /// AzurePrivatePeering or MicrosoftPeering (also the peering's name).
    #[arg(long)]
    pub peering_type: String,
    /// Your BGP ASN.
    #[arg(long)]
    pub peer_asn: u64,
    /// The VLAN of the peering (1-4094).
    #[arg(long)]
    pub vlan_id: u64,
    /// The primary link's /30 (IPv4) or /126 (IPv6).
    #[arg(long)]
    pub primary_peer_subnet: String,
    /// The secondary link's /30 (IPv4) or /126 (IPv6).
    #[arg(long)]
    pub secondary_peer_subnet: String,
    /// BGP MD5 key (kept when omitted; never shown back).
    #[arg(long)]
    pub shared_key: Option<String>,
    /// MicrosoftPeering: the public prefixes you will advertise.
    #[arg(long, num_args = 1.., value_name = "PREFIX")]
    pub advertised_public_prefixes: Vec<String>,
    /// MicrosoftPeering: BGP communities you attach.
    #[arg(long, num_args = 1.., value_name = "COMMUNITY")]
    pub advertised_communities: Vec<String>,
    /// MicrosoftPeering: the ASN the advertised prefixes belong to, if not --peer-asn.
    #[arg(long)]
    pub customer_asn: Option<u64>,
    /// MicrosoftPeering: the routing registry of the prefixes (ARIN, RIPENCC, ...).
    #[arg(long)]
    pub routing_registry_name: Option<String>,
    /// Which address family the subnets and prefixes are.
    #[arg(long, value_enum, default_value = "ipv4", ignore_case = true)]
    pub ip_version: IpVersion,
}

#[derive(Debug, Args)]
pub struct PeeringCreateArgs {
    #[command(flatten)]
    pub circuit: CircuitRef,
    #[command(flatten)]
    pub spec: PeeringSpec,
    #[command(flatten)]
    pub conn: Conn,
}

pub const PEERING_COLS: &[Col] = &[
    col("Name", |v| at(v, "/name")),
    col("State", |v| at(v, "/properties/state")),
    col("PeerASN", |v| at(v, "/properties/peerASN")),
    col("AzureASN", |v| at(v, "/properties/azureASN")),
    col("VlanId", |v| at(v, "/properties/vlanId")),
    col("PrimaryPeerAddressPrefix", |v| {
        at(v, "/properties/primaryPeerAddressPrefix")
    }),
    col("SecondaryPeerAddressPrefix", |v| {
        at(v, "/properties/secondaryPeerAddressPrefix")
    }),
    col("IPv6", |v| {
        let p = at(v, "/properties/ipv6PeeringConfig/primaryPeerAddressPrefix");
        let s = at(
            v,
            "/properties/ipv6PeeringConfig/secondaryPeerAddressPrefix",
        );
        if p.is_empty() { p } else { format!("{p}, {s}") }
    }),
    col("LastModifiedBy", |v| at(v, "/properties/lastModifiedBy")),
];

const AUTH_COLS: &[Col] = &[
    col("Name", |v| at(v, "/name")),
    col("AuthorizationKey", |v| {
        at(v, "/properties/authorizationKey")
    }),
    col("AuthorizationUseStatus", |v| {
        at(v, "/properties/authorizationUseStatus")
    }),
    col("ProvisioningState", |v| {
        at(v, "/properties/provisioningState")
    }),
];

/// The writable part of a Microsoft peering config as read back.
fn ms_config_of(v: Option<&Value>) -> Option<Value> {
    let v = v?;
    let mut out = Map::new();
    for k in [
        "advertisedPublicPrefixes",
        "advertisedCommunities",
        "customerASN",
        "routingRegistryName",
    ] {
        if let Some(x) = v.get(k).filter(|x| !x.is_null()) {
            out.insert(k.to_owned(), x.clone());
        }
    }
    Some(Value::Object(out))
}

/// The writable part of an IPv6 peering config as read back.
fn v6_config_of(v: Option<&Value>) -> Option<Value> {
    let v = v?;
    let mut out = json!({
        "primaryPeerAddressPrefix": v.get("primaryPeerAddressPrefix"),
        "secondaryPeerAddressPrefix": v.get("secondaryPeerAddressPrefix"),
    });
    if let Some(s) = v.get("state").filter(|s| !s.is_null()) {
        out["state"] = s.clone();
    }
    if let Some(ms) = ms_config_of(v.get("microsoftPeeringConfig")) {
        out["microsoftPeeringConfig"] = ms;
    }
    Some(out)
}

/// The Microsoft peering config the flags ask for, if any flag mentions one.
fn ms_config_from(spec: &PeeringSpec) -> Option<Value> {
    if spec.advertised_public_prefixes.is_empty()
        && spec.advertised_communities.is_empty()
        && spec.customer_asn.is_none()
        && spec.routing_registry_name.is_none()
    {
        return None;
    }
    let mut cfg = json!({"advertisedPublicPrefixes": spec.advertised_public_prefixes});
    if !spec.advertised_communities.is_empty() {
        cfg["advertisedCommunities"] = json!(spec.advertised_communities);
    }
    if let Some(a) = spec.customer_asn {
        cfg["customerASN"] = json!(a);
    }
    if let Some(r) = &spec.routing_registry_name {
        cfg["routingRegistryName"] = json!(r);
    }
    Some(cfg)
}

/// The PUT body: the flags for one address family, keeping what the existing peering has
/// for the other (a PUT replaces the whole peering).
pub fn peering_body(spec: &PeeringSpec, existing: Option<&Value>) -> anyhow::Result<Value> {
    let old = existing.and_then(|e| e.get("properties"));
    let mut props = json!({
        "peeringType": spec.peering_type,
        "peerASN": spec.peer_asn,
        "vlanId": spec.vlan_id,
    });
    match spec.ip_version {
        IpVersion::Ipv4 => {
            props["primaryPeerAddressPrefix"] = json!(spec.primary_peer_subnet);
            props["secondaryPeerAddressPrefix"] = json!(spec.secondary_peer_subnet);
            if let Some(ms) = ms_config_from(spec) {
                props["microsoftPeeringConfig"] = ms;
            }
            if let Some(v6) = v6_config_of(old.and_then(|o| o.get("ipv6PeeringConfig"))) {
                props["ipv6PeeringConfig"] = v6;
            }
        }
        IpVersion::Ipv6 => {
            let Some(old) = old else {
                bail!(
                    "PeeringNotFound: configure the peering's IPv4 subnets first (--ip-version ipv4), \
                     then add IPv6 with --ip-version ipv6"
                );
            };
            for k in [
                "primaryPeerAddressPrefix",
                "secondaryPeerAddressPrefix",
                "state",
            ] {
                if let Some(x) = old.get(k).filter(|x| !x.is_null()) {
                    props[k] = x.clone();
                }
            }
            if let Some(ms) = ms_config_of(old.get("microsoftPeeringConfig")) {
                props["microsoftPeeringConfig"] = ms;
            }
            let mut v6 = json!({
                "primaryPeerAddressPrefix": spec.primary_peer_subnet,
                "secondaryPeerAddressPrefix": spec.secondary_peer_subnet,
            });
            if let Some(ms) = ms_config_from(spec) {
                v6["microsoftPeeringConfig"] = ms;
            }
            props["ipv6PeeringConfig"] = v6;
        }
    }
    if let Some(k) = &spec.shared_key {
        props["sharedKey"] = json!(k);
    }
    Ok(json!({"name": spec.peering_type, "properties": props}))
}

/// Creates or replaces the peering under `parent` (a circuit or cross-connection path).
pub fn put_peering(c: &Client, parent: &str, spec: &PeeringSpec) -> anyhow::Result<Value> {
    let path = format!("{parent}/peerings/{}", seg(&spec.peering_type));
    let existing = c.get_opt(&path)?;
    let body = peering_body(spec, existing.as_ref())?;
    c.put(&path, &body, None)
}

pub fn peering(command: PeeringCommand) -> anyhow::Result<()> {
    match command {
        PeeringCommand::Create(a) => {
            let c = Client::connect(&a.conn)?;
            let p = put_peering(&c, &a.circuit.path(&c)?, &a.spec)?;
            print_one(a.conn.output, &p, PEERING_COLS);
        }
        PeeringCommand::Show(a) => {
            let c = Client::connect(&a.conn)?;
            let path = format!("{}/peerings/{}", a.circuit.path(&c)?, seg(&a.name));
            print_one(a.conn.output, &c.get(&path)?, PEERING_COLS);
        }
        PeeringCommand::List(a) => {
            let c = Client::connect(&a.conn)?;
            let path = format!("{}/peerings", a.circuit.path(&c)?);
            print_list(a.conn.output, &c.list(&path)?, PEERING_COLS);
        }
        PeeringCommand::Delete(a) => {
            let c = Client::connect(&a.conn)?;
            let path = format!("{}/peerings/{}", a.circuit.path(&c)?, seg(&a.name));
            c.delete(&path)?;
        }
    }
    Ok(())
}

pub fn auth(command: AuthCommand) -> anyhow::Result<()> {
    match command {
        AuthCommand::Create(a) => {
            let c = Client::connect(&a.conn)?;
            let path = format!("{}/authorizations/{}", a.circuit.path(&c)?, seg(&a.name));
            let v = c.put(&path, &json!({"properties": {}}), None)?;
            print_one(a.conn.output, &v, AUTH_COLS);
        }
        AuthCommand::Show(a) => {
            let c = Client::connect(&a.conn)?;
            let path = format!("{}/authorizations/{}", a.circuit.path(&c)?, seg(&a.name));
            print_one(a.conn.output, &c.get(&path)?, AUTH_COLS);
        }
        AuthCommand::List(a) => {
            let c = Client::connect(&a.conn)?;
            let path = format!("{}/authorizations", a.circuit.path(&c)?);
            print_list(a.conn.output, &c.list(&path)?, AUTH_COLS);
        }
        AuthCommand::Delete(a) => {
            let c = Client::connect(&a.conn)?;
            let path = format!("{}/authorizations/{}", a.circuit.path(&c)?, seg(&a.name));
            c.delete(&path)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v: IpVersion, p: &str, s: &str) -> PeeringSpec {
        PeeringSpec {
            peering_type: "MicrosoftPeering".into(),
            peer_asn: 64512,
            vlan_id: 200,
            primary_peer_subnet: p.into(),
            secondary_peer_subnet: s.into(),
            shared_key: None,
            advertised_public_prefixes: vec!["203.0.113.0/24".into()],
            advertised_communities: vec![],
            customer_asn: None,
            routing_registry_name: Some("ARIN".into()),
            ip_version: v,
        }
    }

    #[test]
    fn ipv6_is_added_to_the_existing_ipv4_peering() {
        let existing = json!({"properties": {
            "peeringType": "MicrosoftPeering", "peerASN": 64512, "vlanId": 200,
            "primaryPeerAddressPrefix": "198.51.100.0/30",
            "secondaryPeerAddressPrefix": "198.51.100.4/30",
            "azureASN": 12076, "state": "Enabled",
            "microsoftPeeringConfig": {"advertisedPublicPrefixes": ["198.51.100.0/24"],
                "advertisedPublicPrefixesState": "Configured", "legacyMode": 0},
        }});
        let s = spec(IpVersion::Ipv6, "2001:db8::/126", "2001:db8::4/126");
        let b = peering_body(&s, Some(&existing)).unwrap();
        let p = &b["properties"];
        assert_eq!(p["primaryPeerAddressPrefix"], "198.51.100.0/30");
        assert_eq!(
            p["microsoftPeeringConfig"],
            json!({"advertisedPublicPrefixes": ["198.51.100.0/24"]})
        );
        assert_eq!(
            p["ipv6PeeringConfig"]["primaryPeerAddressPrefix"],
            "2001:db8::/126"
        );
        assert_eq!(
            p["ipv6PeeringConfig"]["microsoftPeeringConfig"]["routingRegistryName"],
            "ARIN"
        );
        assert!(p.get("azureASN").is_none() && p.get("sharedKey").is_none());
        assert!(peering_body(&s, None).is_err());
    }

    #[test]
    fn ipv4_keeps_the_existing_ipv6_config() {
        let existing = json!({"properties": {"ipv6PeeringConfig": {
            "primaryPeerAddressPrefix": "2001:db8::/126",
            "secondaryPeerAddressPrefix": "2001:db8::4/126", "state": "Enabled"}}});
        let s = spec(IpVersion::Ipv4, "198.51.100.0/30", "198.51.100.4/30");
        let b = peering_body(&s, Some(&existing)).unwrap();
        assert_eq!(
            b["properties"]["ipv6PeeringConfig"]["secondaryPeerAddressPrefix"],
            "2001:db8::4/126"
        );
        assert_eq!(
            b["properties"]["microsoftPeeringConfig"]["advertisedPublicPrefixes"],
            json!(["203.0.113.0/24"])
        );
    }
}
