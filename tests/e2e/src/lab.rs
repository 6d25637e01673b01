//! The addressing plan shared by the tests.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::bird::BirdSession;
use crate::edge::EdgePeer;
use crate::frr::FrrNeighbor;
use crate::gobgp::GobgpNeighbor;
use crate::netns::{Netns, veth};
use crate::openbgpd::OpenbgpdNeighbor;

/// A point-to-point link between a customer router (the peer) and the edge.
///
/// Link `n` uses 10.0.n.0/30 and fd00:n::/126; as in ExpressRoute the customer router takes
/// the first usable address and the edge the second. The interface is `e<n>` in the edge's
/// namespace and `c<n>` in the peer's.
#[derive(Debug, Clone, Copy)]
pub struct Link {
    pub n: u8,
    pub peer_v4: Ipv4Addr,
    pub edge_v4: Ipv4Addr,
    pub peer_v6: Ipv6Addr,
    pub edge_v6: Ipv6Addr,
}

/// Builds link `n` between `edge` and `peer` (see [`Link`]). `n` must be unique per test.
pub fn link(edge: &Netns, peer: &Netns, n: u8) -> Link {
    let l = Link {
        n,
        peer_v4: Ipv4Addr::new(10, 0, n, 1),
        edge_v4: Ipv4Addr::new(10, 0, n, 2),
        peer_v6: Ipv6Addr::new(0xfd00, u16::from(n), 0, 0, 0, 0, 0, 1),
        edge_v6: Ipv6Addr::new(0xfd00, u16::from(n), 0, 0, 0, 0, 0, 2),
    };
    veth(
        edge,
        &format!("e{n}"),
        &[&format!("{}/30", l.edge_v4), &format!("{}/126", l.edge_v6)],
        peer,
        &format!("c{n}"),
        &[&format!("{}/30", l.peer_v4), &format!("{}/126", l.peer_v6)],
    );
    l
}

/// The edge's AS (the Azure ASN Causeway uses by default).
pub const EDGE_AS: u32 = 12076;

impl Link {
    /// BIRD's two sessions toward the edge over this link: `<name>_v4` and `<name>_v6`.
    pub fn bird_sessions(&self, name: &str) -> [BirdSession; 2] {
        [
            BirdSession::new(&format!("{name}_v4"), self.peer_v4, self.edge_v4, EDGE_AS),
            BirdSession::new(&format!("{name}_v6"), self.peer_v6, self.edge_v6, EDGE_AS),
        ]
    }

    /// GoBGP's two neighbors toward the edge over this link (IPv4, IPv6).
    pub fn gobgp_neighbors(&self) -> [GobgpNeighbor; 2] {
        [
            GobgpNeighbor::new(self.edge_v4, self.peer_v4, EDGE_AS),
            GobgpNeighbor::new(self.edge_v6, self.peer_v6, EDGE_AS),
        ]
    }

    /// FRR's two neighbors toward the edge over this link (IPv4, IPv6).
    pub fn frr_neighbors(&self) -> [FrrNeighbor; 2] {
        [
            FrrNeighbor::new(self.edge_v4, EDGE_AS),
            FrrNeighbor::new(self.edge_v6, EDGE_AS),
        ]
    }

    /// OpenBGPD's two neighbors toward the edge over this link (IPv4, IPv6).
    pub fn openbgpd_neighbors(&self) -> [OpenbgpdNeighbor; 2] {
        [
            OpenbgpdNeighbor::new(self.edge_v4, self.peer_v4, EDGE_AS),
            OpenbgpdNeighbor::new(self.edge_v6, self.peer_v6, EDGE_AS),
        ]
    }

    /// The edge's two peers over this link: `<name>-v4` and `<name>-v6`.
    pub fn edge_peers(&self, name: &str, remote_as: u32) -> [EdgePeer; 2] {
        [
            EdgePeer::new(&format!("{name}-v4"), self.peer_v4, self.edge_v4, remote_as),
            EdgePeer::new(&format!("{name}-v6"), self.peer_v6, self.edge_v6, remote_as),
        ]
    }
}
