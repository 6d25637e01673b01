//! `causeway-bench`: Causeway's edge side by side with BIRD, FRR, GoBGP and OpenBGPD, in the
//! style of bgperf — a fast sender of our own → the target daemon → a monitor peer that
//! records when the last route arrives.
//!
//! Parts, in the order a run uses them:
//! - [`data`]: the real IPv4 table (rotonda-store 0.5.0's RIS-derived CSV, fetched through
//!   cargo and cached under `target/bench-data/`) and the AS paths, MEDs and communities
//!   derived from it, plus an optional synthetic IPv6 table (`--ipv6`, carried over IPv6-only
//!   MP-BGP sessions of its own);
//! - [`plan`]: the four scenarios as plans — the topology, each sender's pre-encoded streams
//!   ([`pack`]) and what each monitor must hold at the end of each phase;
//! - [`targets`]: the daemons' configs (same semantics for all) and start-up in a namespace;
//! - [`session`]: the harness's BGP speakers (senders and monitors), with sockets opened
//!   inside their namespaces;
//! - [`monitor`]: the monitor's table and its convergence rule;
//! - [`run`]: one measured run of one target (namespaces, daemon, sessions, phases, CPU and
//!   memory from [`procstat`]);
//! - [`report`]: medians, ratios against Causeway, the table and the JSON.
//!
//! Needs root (network namespaces; daemons on port 179). The benchmark never runs as a timed
//! test: the suite only checks, on a tiny input, that the harness runs end to end.

pub mod data;
pub mod monitor;
pub mod pack;
pub mod plan;
pub mod procstat;
pub mod report;
pub mod run;
pub mod session;
pub mod targets;
