//! Sans-IO BGP-4 for the Causeway edge.
//!
//! Parts, in the order a route flows through them:
//! - [`wire`]: framing and the message codec (RFC 4271, 4760, 6793, 5492, 2918, 1997, 8092),
//!   with RFC 7606 error classification;
//! - [`fsm`]: the per-connection session state machine (RFC 4271 §8), timers as inputs;
//! - [`rib`]: Adj-RIB-In / Loc-RIB per routing domain with interned attributes, the decision
//!   process (§9.1) and import rules (prefix limits, AS loops);
//! - [`reconfigure`]: what a change to a peer's configuration costs (in place, reset with
//!   Cease / Other Configuration Change, shutdown, add, remove), decided in one place;
//! - [`speaker`]: one routing domain — its peers, their sessions and the RIB — driven by
//!   `Speaker::handle(Input) -> Vec<Output>`; export (next-hop-self, own-AS and configured
//!   prepends) and Adj-RIB-Out packing of UPDATEs by identical attributes.
//!
//! Nothing here touches a socket, a clock or the kernel: the edge runtime feeds facts in
//! (bytes received, timer expired, connection up) and carries commands out (send bytes, arm a
//! timer, connect, close).

pub mod fsm;
pub mod reconfigure;
pub mod rib;
pub mod speaker;
pub mod wire;

pub use fsm::{Direction, ErrorWait, Event, Session, SessionConfig, State, Timer};
pub use rib::PeerIdx;
pub use speaker::{Output, PeerSettings, Speaker};
