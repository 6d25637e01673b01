//! Sans-IO BFD for the Causeway edge: RFC 5880 Asynchronous mode over RFC 5881 single hop,
//! authentication off.
//!
//! Parts, in the order a packet flows through them:
//! - [`wire`]: the Control packet codec; decoding applies every stateless reception check of
//!   RFC 5880 §6.8.6, so what decodes is fit for a session;
//! - [`session`]: one session's state machine (§6.2, §6.8), driven by
//!   `Session::handle(Input) -> Vec<Output>`: packets and timer expiries in, packets to send,
//!   timers to arm and state changes out. Timer negotiation, the one-second idle rate,
//!   Poll/Final and jitter (from a random value the caller supplies) live here;
//! - `driver` (feature `tokio-driver`): UDP sockets on port 3784 with GTSM (TTL 255 sent,
//!   `IP_MINTTL` 255 required), one task driving the sessions of one network namespace and
//!   publishing each session's state on a `tokio::sync::watch` channel.
//!
//! Nothing outside `driver` touches a socket, a clock or a random number generator.

pub mod session;
pub mod wire;

#[cfg(feature = "tokio-driver")]
pub mod driver;

pub use session::{Input, Output, Session, Timers, TimersError};
pub use wire::{ControlPacket, DecodeError, Diag, State};

/// RFC 5881 §4: "BFD Control packets MUST be transmitted in UDP packets with destination port
/// 3784".
pub const UDP_PORT: u16 = 3784;
/// RFC 5881 §4: "The source port MUST be in the range 49152 through 65535. The same UDP source
/// port number MUST be used for all BFD Control packets associated with a particular session."
pub const SOURCE_PORTS: std::ops::RangeInclusive<u16> = 49152..=65535;
/// RFC 5881 §5: packets are sent with a TTL / Hop Limit of 255, and received ones with any
/// other value are discarded (GTSM, RFC 5082).
pub const TTL: u8 = 255;
