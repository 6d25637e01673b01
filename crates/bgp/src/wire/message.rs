//! BGP messages (RFC 4271 §4) and their capabilities (RFC 5492).

use std::net::Ipv4Addr;

use bytes::{Bytes, BytesMut};
use ipnet::{Ipv4Net, Ipv6Net};

use super::{Attributes, Context, DecodeError};

// ===== Message =====

/// One BGP message.
// An UPDATE is larger than the rest, but messages are short-lived values decoded one at a time;
// boxing it would change the API the FSM and speaker match on.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Open(Open),
    Update(Update),
    Notification(Notification),
    Keepalive,
    RouteRefresh(RouteRefresh),
}

/// Message type codes (RFC 4271 §4.1, RFC 2918 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum MessageType {
    Open = 1,
    Update = 2,
    Notification = 3,
    Keepalive = 4,
    RouteRefresh = 5,
}

// ===== Open =====

/// OPEN (RFC 4271 §4.2).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+
/// |    Version    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     My Autonomous System      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           Hold Time           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         BGP Identifier                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Opt Parm Len  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |             Optional Parameters (variable)                    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    /// Always 4 on the wire; decode rejects anything else with Unsupported Version Number.
    pub version: u8,
    /// The two-octet "My Autonomous System" field as sent (AS_TRANS 23456 when the real ASN
    /// does not fit; the real one is in [`Capability::FourOctetAs`]).
    pub my_as: u16,
    /// Hold time in seconds: 0 or at least 3 (RFC 4271 §4.2).
    pub hold_time: u16,
    pub bgp_identifier: Ipv4Addr,
    /// Capabilities from Optional Parameter type 2 (RFC 5492), in the order received.
    pub capabilities: Vec<Capability>,
}

/// The AS number used in "My Autonomous System" when the real one needs four octets.
pub const AS_TRANS: u16 = 23456;

/// Address family identifier / subsequent address family identifier pair.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Family {
    Ipv4Unicast,
    Ipv6Unicast,
}

impl Family {
    pub const ALL: [Family; 2] = [Family::Ipv4Unicast, Family::Ipv6Unicast];

    /// (AFI, SAFI) on the wire: IPv4 = 1, IPv6 = 2; unicast = 1.
    pub fn afi_safi(self) -> (u16, u8) {
        match self {
            Family::Ipv4Unicast => (1, 1),
            Family::Ipv6Unicast => (2, 1),
        }
    }

    pub fn from_afi_safi(afi: u16, safi: u8) -> Option<Family> {
        match (afi, safi) {
            (1, 1) => Some(Family::Ipv4Unicast),
            (2, 1) => Some(Family::Ipv6Unicast),
            _ => None,
        }
    }
}

/// One capability (RFC 5492 §4). Unknown capabilities are kept as they came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    /// Code 1, RFC 4760 §8. Only families we know are represented; others are `Unknown`.
    Multiprotocol(Family),
    /// Code 2, RFC 2918.
    RouteRefresh,
    /// Code 64, RFC 4724 §3. `restart_time` in seconds (12 bits); `families` carries
    /// (family, forwarding state preserved).
    GracefulRestart {
        restarting: bool,
        restart_time: u16,
        families: Vec<(Family, bool)>,
    },
    /// Code 65, RFC 6793.
    FourOctetAs(u32),
    /// Any other code, value kept verbatim.
    Unknown { code: u8, value: Bytes },
}

// ===== Update =====

/// UPDATE (RFC 4271 §4.3), with MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760) lifted out of the
/// attributes into typed fields.
///
/// ```text
/// +-----------------------------------------------------+
/// |   Withdrawn Routes Length (2 octets)                |
/// +-----------------------------------------------------+
/// |   Withdrawn Routes (variable)                       |
/// +-----------------------------------------------------+
/// |   Total Path Attribute Length (2 octets)            |
/// +-----------------------------------------------------+
/// |   Path Attributes (variable)                        |
/// +-----------------------------------------------------+
/// |   Network Layer Reachability Information (variable) |
/// +-----------------------------------------------------+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Update {
    /// IPv4 unicast withdrawals from the Withdrawn Routes field.
    pub withdrawn: Vec<Ipv4Net>,
    /// Path attributes other than MP_REACH/MP_UNREACH. `None` when the UPDATE carried no
    /// attributes at all (a pure withdrawal or End-of-RIB).
    pub attributes: Option<Attributes>,
    /// IPv4 unicast NLRI.
    pub nlri: Vec<Ipv4Net>,
    /// MP_REACH_NLRI for IPv6 unicast (RFC 4760 §3, RFC 2545 §3).
    pub mp_reach: Option<MpReach>,
    /// MP_UNREACH_NLRI (RFC 4760 §4). An empty one is the End-of-RIB marker for its family.
    pub mp_unreach: Option<MpUnreach>,
    /// RFC 7606 outcome of decoding: anything but `None` was already applied to the fields
    /// above (discarded attributes removed); the speaker acts on `TreatAsWithdraw` by
    /// withdrawing every prefix in `nlri` and `mp_reach` instead of installing them.
    pub error_action: ErrorAction,
    /// Human-readable descriptions of RFC 7606 errors found (for logs and status).
    pub errors: Vec<String>,
}

/// RFC 7606 §2 error handling approaches, ordered by severity (§3 (j): the strongest wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum ErrorAction {
    #[default]
    None,
    /// "attribute discard": the malformed attribute was dropped, the route stands.
    AttributeDiscard,
    /// "treat-as-withdraw": the UPDATE's NLRI are treated as withdrawn.
    TreatAsWithdraw,
}

/// Reachable IPv6 unicast routes with their next hop(s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpReach {
    pub family: Family,
    /// Global next hop, and the link-local one when 32 bytes were sent (RFC 2545 §3).
    pub next_hop: NextHop,
    pub nlri: Vec<Prefix>,
}

/// Withdrawn routes of one family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpUnreach {
    pub family: Family,
    pub withdrawn: Vec<Prefix>,
}

/// MP_REACH next hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NextHop {
    V4(Ipv4Addr),
    V6 {
        global: std::net::Ipv6Addr,
        link_local: Option<std::net::Ipv6Addr>,
    },
}

/// An IPv4 or IPv6 prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Prefix {
    V4(Ipv4Net),
    V6(Ipv6Net),
}

impl Prefix {
    pub fn family(&self) -> Family {
        match self {
            Prefix::V4(_) => Family::Ipv4Unicast,
            Prefix::V6(_) => Family::Ipv6Unicast,
        }
    }
}

impl std::fmt::Display for Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Prefix::V4(p) => p.fmt(f),
            Prefix::V6(p) => p.fmt(f),
        }
    }
}

impl Update {
    /// The End-of-RIB marker for `family` (RFC 4724 §2): an empty UPDATE for IPv4 unicast, an
    /// UPDATE with only an empty MP_UNREACH_NLRI otherwise.
    pub fn end_of_rib(family: Family) -> Update {
        match family {
            Family::Ipv4Unicast => Update::default(),
            _ => Update {
                mp_unreach: Some(MpUnreach {
                    family,
                    withdrawn: Vec::new(),
                }),
                ..Update::default()
            },
        }
    }

    /// `Some(family)` when this UPDATE is an End-of-RIB marker.
    pub fn is_end_of_rib(&self) -> Option<Family> {
        if !self.withdrawn.is_empty() || !self.nlri.is_empty() || self.mp_reach.is_some() {
            return None;
        }
        match (&self.attributes, &self.mp_unreach) {
            (None, None) => Some(Family::Ipv4Unicast),
            (_, Some(u)) if u.withdrawn.is_empty() => {
                let attrs_empty = self.attributes.as_ref().is_none_or(Attributes::is_empty);
                attrs_empty.then_some(u.family)
            }
            _ => None,
        }
    }
}

// ===== Notification =====

/// NOTIFICATION (RFC 4271 §4.5).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Error code    | Error subcode |   Data (variable)             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub code: u8,
    pub subcode: u8,
    pub data: Bytes,
}

/// NOTIFICATION error codes (RFC 4271 §4.5, RFC 7313 adds 7).
pub mod error_code {
    pub const MESSAGE_HEADER: u8 = 1;
    pub const OPEN_MESSAGE: u8 = 2;
    pub const UPDATE_MESSAGE: u8 = 3;
    pub const HOLD_TIMER_EXPIRED: u8 = 4;
    pub const FSM: u8 = 5;
    pub const CEASE: u8 = 6;
    pub const ROUTE_REFRESH: u8 = 7;
}

/// Message Header Error subcodes (RFC 4271 §6.1).
pub mod header_subcode {
    pub const CONNECTION_NOT_SYNCHRONIZED: u8 = 1;
    pub const BAD_MESSAGE_LENGTH: u8 = 2;
    pub const BAD_MESSAGE_TYPE: u8 = 3;
}

/// OPEN Message Error subcodes (RFC 4271 §6.2, RFC 5492 §5).
pub mod open_subcode {
    pub const UNSUPPORTED_VERSION_NUMBER: u8 = 1;
    pub const BAD_PEER_AS: u8 = 2;
    pub const BAD_BGP_IDENTIFIER: u8 = 3;
    pub const UNSUPPORTED_OPTIONAL_PARAMETER: u8 = 4;
    pub const UNACCEPTABLE_HOLD_TIME: u8 = 6;
    pub const UNSUPPORTED_CAPABILITY: u8 = 7;
}

/// UPDATE Message Error subcodes (RFC 4271 §6.3).
pub mod update_subcode {
    pub const MALFORMED_ATTRIBUTE_LIST: u8 = 1;
    pub const UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE: u8 = 2;
    pub const MISSING_WELL_KNOWN_ATTRIBUTE: u8 = 3;
    pub const ATTRIBUTE_FLAGS_ERROR: u8 = 4;
    pub const ATTRIBUTE_LENGTH_ERROR: u8 = 5;
    pub const INVALID_ORIGIN_ATTRIBUTE: u8 = 6;
    pub const INVALID_NEXT_HOP_ATTRIBUTE: u8 = 8;
    pub const OPTIONAL_ATTRIBUTE_ERROR: u8 = 9;
    pub const INVALID_NETWORK_FIELD: u8 = 10;
    pub const MALFORMED_AS_PATH: u8 = 11;
}

/// FSM Error subcodes (RFC 6608 §3).
pub mod fsm_subcode {
    pub const UNSPECIFIED: u8 = 0;
    pub const UNEXPECTED_IN_OPENSENT: u8 = 1;
    pub const UNEXPECTED_IN_OPENCONFIRM: u8 = 2;
    pub const UNEXPECTED_IN_ESTABLISHED: u8 = 3;
}

/// Cease subcodes (RFC 4486 §4).
pub mod cease_subcode {
    pub const MAXIMUM_PREFIXES_REACHED: u8 = 1;
    pub const ADMINISTRATIVE_SHUTDOWN: u8 = 2;
    pub const PEER_DECONFIGURED: u8 = 3;
    pub const ADMINISTRATIVE_RESET: u8 = 4;
    pub const CONNECTION_REJECTED: u8 = 5;
    pub const OTHER_CONFIGURATION_CHANGE: u8 = 6;
    pub const CONNECTION_COLLISION_RESOLUTION: u8 = 7;
    pub const OUT_OF_RESOURCES: u8 = 8;
}

impl Notification {
    pub fn new(code: u8, subcode: u8) -> Self {
        Self {
            code,
            subcode,
            data: Bytes::new(),
        }
    }

    /// A Cease with an RFC 9003 shutdown communication (subcodes 2 and 4 only): one length
    /// octet then at most 255 octets of UTF-8, truncated on a character boundary.
    pub fn cease_with_communication(subcode: u8, text: &str) -> Self {
        let mut end = text.len().min(255);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let mut data = Vec::with_capacity(end + 1);
        data.push(end as u8);
        data.extend_from_slice(&text.as_bytes()[..end]);
        Self {
            code: error_code::CEASE,
            subcode,
            data: Bytes::from(data),
        }
    }

    /// Maximum Number of Prefixes Reached (RFC 4486 §4): data is AFI (2), SAFI (1) and the
    /// limit (4 octets).
    pub fn max_prefixes(family: Family, limit: u32) -> Self {
        let (afi, safi) = family.afi_safi();
        let mut data = Vec::with_capacity(7);
        data.extend_from_slice(&afi.to_be_bytes());
        data.push(safi);
        data.extend_from_slice(&limit.to_be_bytes());
        Self {
            code: error_code::CEASE,
            subcode: cease_subcode::MAXIMUM_PREFIXES_REACHED,
            data: Bytes::from(data),
        }
    }

    /// The RFC 9003 shutdown communication, when this is an Administrative Shutdown or Reset
    /// carrying a well-formed one.
    pub fn shutdown_communication(&self) -> Option<String> {
        if self.code != error_code::CEASE
            || !matches!(
                self.subcode,
                cease_subcode::ADMINISTRATIVE_SHUTDOWN | cease_subcode::ADMINISTRATIVE_RESET
            )
        {
            return None;
        }
        let (&len, rest) = self.data.split_first()?;
        let text = rest.get(..usize::from(len))?;
        std::str::from_utf8(text).ok().map(str::to_owned)
    }
}

impl std::fmt::Display for Notification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use error_code::*;
        let code = match self.code {
            MESSAGE_HEADER => "Message Header Error",
            OPEN_MESSAGE => "OPEN Message Error",
            UPDATE_MESSAGE => "UPDATE Message Error",
            HOLD_TIMER_EXPIRED => "Hold Timer Expired",
            FSM => "Finite State Machine Error",
            CEASE => "Cease",
            ROUTE_REFRESH => "ROUTE-REFRESH Message Error",
            _ => "Unknown error",
        };
        let sub = match (self.code, self.subcode) {
            (CEASE, 1) => Some("Maximum Number of Prefixes Reached"),
            (CEASE, 2) => Some("Administrative Shutdown"),
            (CEASE, 3) => Some("Peer De-configured"),
            (CEASE, 4) => Some("Administrative Reset"),
            (CEASE, 5) => Some("Connection Rejected"),
            (CEASE, 6) => Some("Other Configuration Change"),
            (CEASE, 7) => Some("Connection Collision Resolution"),
            (CEASE, 8) => Some("Out of Resources"),
            (OPEN_MESSAGE, 1) => Some("Unsupported Version Number"),
            (OPEN_MESSAGE, 2) => Some("Bad Peer AS"),
            (OPEN_MESSAGE, 3) => Some("Bad BGP Identifier"),
            (OPEN_MESSAGE, 4) => Some("Unsupported Optional Parameter"),
            (OPEN_MESSAGE, 6) => Some("Unacceptable Hold Time"),
            (OPEN_MESSAGE, 7) => Some("Unsupported Capability"),
            (MESSAGE_HEADER, 1) => Some("Connection Not Synchronized"),
            (MESSAGE_HEADER, 2) => Some("Bad Message Length"),
            (MESSAGE_HEADER, 3) => Some("Bad Message Type"),
            (UPDATE_MESSAGE, 1) => Some("Malformed Attribute List"),
            (UPDATE_MESSAGE, 2) => Some("Unrecognized Well-known Attribute"),
            (UPDATE_MESSAGE, 3) => Some("Missing Well-known Attribute"),
            (UPDATE_MESSAGE, 4) => Some("Attribute Flags Error"),
            (UPDATE_MESSAGE, 5) => Some("Attribute Length Error"),
            (UPDATE_MESSAGE, 6) => Some("Invalid ORIGIN Attribute"),
            (UPDATE_MESSAGE, 8) => Some("Invalid NEXT_HOP Attribute"),
            (UPDATE_MESSAGE, 9) => Some("Optional Attribute Error"),
            (UPDATE_MESSAGE, 10) => Some("Invalid Network Field"),
            (UPDATE_MESSAGE, 11) => Some("Malformed AS_PATH"),
            _ => None,
        };
        match sub {
            Some(sub) => write!(f, "{code} / {sub}")?,
            None => write!(f, "{code} (subcode {})", self.subcode)?,
        }
        if let Some(text) = self.shutdown_communication() {
            write!(f, ": \"{text}\"")?;
        }
        Ok(())
    }
}

// ===== Route refresh =====

/// ROUTE-REFRESH (RFC 2918 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteRefresh {
    /// `None` when the AFI/SAFI pair is not one we know; RFC 2918 says ignore those.
    pub family: Option<Family>,
    pub afi: u16,
    pub safi: u8,
}

// ===== codec entry points =====

impl Message {
    /// Decodes one whole message (header included) as returned by [`super::frame`].
    pub fn decode(buf: &[u8], cx: &Context) -> Result<Message, DecodeError> {
        super::codec::decode_message(buf, cx)
    }

    /// Appends the encoding of `self`, header included, to `out`.
    pub fn encode(&self, cx: &Context, out: &mut BytesMut) {
        super::codec::encode_message(self, cx, out)
    }
}

pub(super) fn frame(buf: &[u8]) -> Result<Option<usize>, DecodeError> {
    super::codec::frame(buf)
}
