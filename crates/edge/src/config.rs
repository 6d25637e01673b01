//! The edge's static configuration file (`causeway edge --config edge.toml`).
//!
//! ```toml
//! local_as = 12076                 # default 12076
//! router_id = "192.0.2.1"
//! listen_port = 179                # BGP port for passive sessions, default 179
//! status_listen = "127.0.0.1:8179" # read-only status endpoint, default 127.0.0.1:8179
//!
//! [[domain]]                       # one routing domain per circuit
//! name = "circuit-a"
//! namespace = "cust-a"             # optional: the network namespace of its sessions
//! originate = ["10.100.0.0/16", "2001:db8:100::/48"]
//!
//! [[domain.peer]]
//! name = "primary"
//! address = "10.0.0.1"             # the peer's address
//! local_address = "10.0.0.2"       # our address toward it (bind before connect)
//! remote_as = 65001
//! md5_key = "s3cret"               # optional, RFC 2385
//! max_prefixes = { ipv4 = 4000, ipv6 = 100 }   # optional, per family, counted after import
//! prepend = 0                      # extra own-AS prepends on export (maintenance drain)
//! passive = false                  # only accept, never connect
//! shutdown = false                 # administratively down (Cease, RFC 9003 message)
//! bfd = { interval_ms = 300, multiplier = 3 }   # optional; needs local_address
//! hold_time = 180                  # seconds, default 180 as on Azure's MSEEs; 0 disables keepalives
//! connect_retry = 5                # seconds, default 5
//! error_wait = { min = 5, max = 120 }   # idle-hold backoff after errors, seconds: min, doubled
//!                                  # per consecutive error up to max; default connect_retry, 120
//! families = ["ipv4", "ipv6"]      # default: both
//! ```

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use bgp::wire::{Family, Prefix};
use serde::{Deserialize, Serialize};

/// Azure's ASN on the Microsoft side of every ExpressRoute peering.
pub const DEFAULT_LOCAL_AS: u32 = 12076;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdgeConfig {
    #[serde(default = "default_local_as")]
    pub local_as: u32,
    pub router_id: Ipv4Addr,
    #[serde(default = "default_listen_port")]
    pub listen_port: u16,
    #[serde(default = "default_status_listen")]
    pub status_listen: SocketAddr,
    #[serde(default, rename = "domain")]
    pub domains: Vec<DomainConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainConfig {
    pub name: String,
    /// The network namespace the domain's sessions live in (default: the edge's own). Each
    /// namespace gets its own listeners, so domains in different namespaces may reuse the
    /// same peer addresses.
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default, with = "prefix_list")]
    pub originate: Vec<Prefix>,
    #[serde(default, rename = "peer")]
    pub peers: Vec<PeerConfig>,
    /// The domain's own AS and router id, when it is not the edge's (a virtual network
    /// gateway runs as AS 65515).
    #[serde(default)]
    pub local_as: Option<u32>,
    #[serde(default)]
    pub router_id: Option<Ipv4Addr>,
    /// Program the best routes into the namespace's kernel FIB (protocol 186, equal-cost
    /// next hops as one multipath route), with `routes` as static entries.
    #[serde(default)]
    pub fib: bool,
    #[serde(default, rename = "route")]
    pub routes: Vec<StaticRoute>,
}

/// A static FIB entry of a domain (e.g. a virtual network's address space via its gateway).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticRoute {
    pub prefix: ipnet::IpNet,
    pub via: IpAddr,
}

/// Which best paths a peer is sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportName {
    /// Every best path.
    #[default]
    All,
    /// Only routes learned from other peers (not the domain's originated prefixes).
    Learned,
    /// Nothing.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    pub name: String,
    pub address: IpAddr,
    pub local_address: Option<IpAddr>,
    pub remote_as: u32,
    pub md5_key: Option<String>,
    #[serde(default)]
    pub max_prefixes: MaxPrefixes,
    #[serde(default)]
    pub prepend: u8,
    #[serde(default)]
    pub passive: bool,
    /// Administratively down: the session is closed with Cease / Administrative Shutdown.
    #[serde(default)]
    pub shutdown: bool,
    /// BFD toward this peer (RFC 5880/5881 single hop, from `local_address`): when it
    /// declares the path down the BGP session ends at once.
    #[serde(default)]
    pub bfd: Option<BfdConfig>,
    #[serde(default = "default_hold_time")]
    pub hold_time: u16,
    #[serde(default = "default_connect_retry")]
    pub connect_retry: u16,
    /// The idle-hold backoff after errors (default: `connect_retry` doubling up to 120 s).
    /// Any change to the peer's configuration ends a backoff at once.
    #[serde(default)]
    pub error_wait: Option<ErrorWaitConfig>,
    #[serde(default = "default_families")]
    pub families: Vec<FamilyName>,
    /// Preference for this peer's routes over any path attribute (higher wins).
    #[serde(default)]
    pub weight: u32,
    #[serde(default)]
    pub export: ExportName,
}

/// BFD timers: both directions at `interval_ms`, detection after `multiplier` missed
/// packets. Default 300 ms × 3, as on Azure's side; at least 50 ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BfdConfig {
    #[serde(default = "default_bfd_interval")]
    pub interval_ms: u32,
    #[serde(default = "default_bfd_multiplier")]
    pub multiplier: u8,
}

impl Default for BfdConfig {
    fn default() -> Self {
        BfdConfig {
            interval_ms: default_bfd_interval(),
            multiplier: default_bfd_multiplier(),
        }
    }
}

fn default_bfd_interval() -> u32 {
    300
}
fn default_bfd_multiplier() -> u8 {
    3
}

/// The idle-hold backoff after errors, in seconds: `min` after the first, doubled after each
/// further consecutive error, at most `max` (BIRD's `error wait time MIN, MAX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorWaitConfig {
    pub min: u32,
    pub max: u32,
}

impl ErrorWaitConfig {
    pub fn error_wait(self) -> bgp::ErrorWait {
        bgp::ErrorWait {
            min: Duration::from_secs(u64::from(self.min)),
            max: Duration::from_secs(u64::from(self.max)),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxPrefixes {
    pub ipv4: Option<u32>,
    pub ipv6: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FamilyName {
    Ipv4,
    Ipv6,
}

impl From<FamilyName> for Family {
    fn from(f: FamilyName) -> Family {
        match f {
            FamilyName::Ipv4 => Family::Ipv4Unicast,
            FamilyName::Ipv6 => Family::Ipv6Unicast,
        }
    }
}

fn default_local_as() -> u32 {
    DEFAULT_LOCAL_AS
}
fn default_listen_port() -> u16 {
    179
}
fn default_status_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8179))
}
fn default_hold_time() -> u16 {
    180
}
fn default_connect_retry() -> u16 {
    5
}
fn default_families() -> Vec<FamilyName> {
    vec![FamilyName::Ipv4, FamilyName::Ipv6]
}

/// Why a configuration file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: String,
        source: toml::de::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

impl EdgeConfig {
    pub fn load(path: &Path) -> Result<EdgeConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let config: EdgeConfig = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.display().to_string(),
            source,
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what serde cannot: unique names, unique peer addresses, sane timers.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        if self.local_as == 0 {
            return bad("local_as must not be 0".into());
        }
        if self.router_id.is_unspecified() {
            return bad("router_id must not be 0.0.0.0".into());
        }
        let mut domains = std::collections::HashSet::new();
        let mut addresses = std::collections::HashSet::new();
        for d in &self.domains {
            if !domains.insert(d.name.as_str()) {
                return bad(format!("domain {:?} is defined twice", d.name));
            }
            let mut peers = std::collections::HashSet::new();
            for p in &d.peers {
                if !peers.insert(p.name.as_str()) {
                    return bad(format!(
                        "domain {:?}: peer {:?} is defined twice",
                        d.name, p.name
                    ));
                }
                if !addresses.insert((d.namespace.clone(), p.address)) {
                    return bad(format!(
                        "peer address {} is used twice in one namespace: a session is identified by its peer address",
                        p.address
                    ));
                }
                if p.remote_as == 0 {
                    return bad(format!("peer {:?}: remote_as must not be 0", p.name));
                }
                if matches!(p.hold_time, 1 | 2) {
                    return bad(format!(
                        "peer {:?}: hold_time must be 0 or at least 3",
                        p.name
                    ));
                }
                if let Some(key) = &p.md5_key
                    && (key.is_empty() || key.len() > 80)
                {
                    return bad(format!("peer {:?}: md5_key must be 1 to 80 bytes", p.name));
                }
                if p.families.is_empty() {
                    return bad(format!("peer {:?}: families must not be empty", p.name));
                }
                if let Some(b) = p.bfd {
                    if b.interval_ms < 50 || b.multiplier == 0 {
                        return bad(format!(
                            "peer {:?}: bfd needs interval_ms of at least 50 and a multiplier of at least 1",
                            p.name
                        ));
                    }
                    if p.local_address.is_none() {
                        return bad(format!("peer {:?}: bfd needs local_address", p.name));
                    }
                }
                if let Some(w) = p.error_wait
                    && (w.min == 0 || w.max < w.min || w.max > 86_400)
                {
                    return bad(format!(
                        "peer {:?}: error_wait needs 1 <= min <= max <= 86400 seconds",
                        p.name
                    ));
                }
                if p.connect_retry == 0 {
                    return bad(format!(
                        "peer {:?}: connect_retry must be at least 1",
                        p.name
                    ));
                }
            }
        }
        Ok(())
    }
}

impl PeerConfig {
    pub fn hold_time(&self) -> Duration {
        Duration::from_secs(u64::from(self.hold_time))
    }
    pub fn connect_retry(&self) -> Duration {
        Duration::from_secs(u64::from(self.connect_retry))
    }
}

mod prefix_list {
    use bgp::wire::Prefix;
    use ipnet::IpNet;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &[Prefix], s: S) -> Result<S::Ok, S::Error> {
        v.iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Prefix>, D::Error> {
        let raw = Vec::<String>::deserialize(d)?;
        raw.iter()
            .map(|s| {
                let net: IpNet = s.parse().map_err(serde::de::Error::custom)?;
                if net.trunc() != net {
                    return Err(serde::de::Error::custom(format!(
                        "{s}: host bits set (did you mean {}?)",
                        net.trunc()
                    )));
                }
                Ok(match net {
                    IpNet::V4(n) => Prefix::V4(n),
                    IpNet::V6(n) => Prefix::V6(n),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(peer_line: &str) -> Result<EdgeConfig, String> {
        let text = format!(
            "router_id = \"192.0.2.1\"\n[[domain]]\nname = \"d\"\n[[domain.peer]]\nname = \"a\"\n\
             address = \"10.0.0.1\"\nremote_as = 65001\n{peer_line}\n"
        );
        let config: EdgeConfig = toml::from_str(&text).map_err(|e| e.to_string())?;
        config.validate().map_err(|e| e.to_string())?;
        Ok(config)
    }

    #[test]
    fn an_error_wait_is_read_in_seconds_and_becomes_the_sessions_backoff() {
        let c = parse("error_wait = { min = 2, max = 30 }").expect("valid");
        let w = c.domains[0].peers[0].error_wait.expect("set");
        assert_eq!(
            w.error_wait(),
            bgp::ErrorWait {
                min: Duration::from_secs(2),
                max: Duration::from_secs(30),
            }
        );
        let default = parse("").expect("valid");
        assert_eq!(default.domains[0].peers[0].error_wait, None);
    }

    #[test]
    fn an_error_wait_with_max_below_min_or_a_zero_min_is_refused() {
        for bad in [
            "error_wait = { min = 30, max = 2 }",
            "error_wait = { min = 0, max = 2 }",
        ] {
            let e = parse(bad).expect_err(bad);
            assert!(e.contains("error_wait"), "{bad}: {e}");
        }
        assert!(
            parse("error_wait = { min = 1 }").is_err(),
            "max is required"
        );
    }
}
