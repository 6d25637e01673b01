//! How a change to one peer's configuration is applied: the one decision behind the edge's
//! SIGHUP reload, a routing domain's reconfiguration and the speaker.
//!
//! [`classify`] compares a peer's old and new [`PeerSettings`] and says what the change
//! costs: nothing, an in-place update (the session stays up), a reset with Cease / Other
//! Configuration Change (RFC 4486 §4, subcode 6), an administrative shutdown or start, or a
//! peer added or removed (Cease / Peer De-configured). It is pure: callers act on the
//! answer, so every path through the code reaches the same verdict for the same change
//! (BIRD's `bgp_reconfigure`, holo's northbound configuration callbacks).

use crate::speaker::PeerSettings;

/// What a peer's configuration change requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerChange {
    /// Nothing differs.
    Unchanged,
    /// The session stays up; the parts that changed are applied where they live.
    InPlace(InPlace),
    /// The session is ended with Cease / Other Configuration Change and starts again at once
    /// with the new settings: something the OPEN exchange or the transport depends on
    /// changed (AS numbers, router id, hold time, families, peer or local address, MD5 key),
    /// or something every route of the peer depends on (weight, export policy).
    Reset,
    /// The peer is now administratively down: Cease / Administrative Shutdown with an
    /// RFC 9003 shutdown communication.
    Shutdown,
    /// The peer was administratively down and is not any more.
    Start,
    /// A new peer: its session starts.
    Add,
    /// The peer is gone: Cease / Peer De-configured, its routes withdrawn.
    Remove,
}

/// The parts of an in-place change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InPlace {
    /// The drain prepend changed: everything the peer was sent goes again.
    pub resend: bool,
    /// The prefix limits changed: the peer's accepted prefixes are checked again.
    pub limits: bool,
    /// Connect retry, passive or error wait changed: they shape the next connection attempt.
    pub next_connection: bool,
}

/// Classifies a peer's change from `old` to `new` (`None`: not configured).
pub fn classify(old: Option<&PeerSettings>, new: Option<&PeerSettings>) -> PeerChange {
    let (old, new) = match (old, new) {
        (None, None) => return PeerChange::Unchanged,
        (None, Some(_)) => return PeerChange::Add,
        (Some(_), None) => return PeerChange::Remove,
        (Some(old), Some(new)) => (old, new),
    };
    if old == new {
        return PeerChange::Unchanged;
    }
    match (old.shutdown, new.shutdown) {
        (false, true) => return PeerChange::Shutdown,
        (true, false) => return PeerChange::Start,
        // Down before and after: nothing runs that a change could disturb.
        (true, true) => return PeerChange::InPlace(InPlace::default()),
        (false, false) => {}
    }
    let session_changed = old.session.session_part() != new.session.session_part()
        || old.address != new.address
        || old.local_address != new.local_address
        || old.md5_key != new.md5_key
        || old.weight != new.weight
        || old.export != new.export;
    if session_changed {
        return PeerChange::Reset;
    }
    PeerChange::InPlace(InPlace {
        resend: old.prepend != new.prepend,
        limits: old.max_prefixes != new.max_prefixes,
        next_connection: old.session != new.session,
    })
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::time::Duration;

    use super::*;
    use crate::fsm::{ErrorWait, SessionConfig};
    use crate::speaker::{Export, Md5Key};
    use crate::wire::Family;

    fn peer() -> PeerSettings {
        PeerSettings {
            name: "a".into(),
            address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            local_address: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2))),
            md5_key: Some(Md5Key::new("s3cret")),
            shutdown: false,
            session: SessionConfig {
                local_as: 12076,
                router_id: Ipv4Addr::new(10, 0, 0, 1),
                remote_as: 65001,
                hold_time: Duration::from_secs(180),
                connect_retry: Duration::from_secs(5),
                passive: false,
                families: vec![Family::Ipv4Unicast],
                error_wait: None,
            },
            max_prefixes: [Some(4000), None],
            prepend: 0,
            weight: 0,
            export: Export::All,
        }
    }

    fn change(f: impl FnOnce(&mut PeerSettings)) -> PeerChange {
        let old = peer();
        let mut new = old.clone();
        f(&mut new);
        classify(Some(&old), Some(&new))
    }

    #[test]
    fn a_new_or_gone_peer_is_an_add_or_a_remove() {
        assert_eq!(classify(None, Some(&peer())), PeerChange::Add);
        assert_eq!(classify(Some(&peer()), None), PeerChange::Remove);
        assert_eq!(
            classify(Some(&peer()), Some(&peer())),
            PeerChange::Unchanged
        );
    }

    #[test]
    fn an_md5_key_or_local_address_change_resets_the_session() {
        assert_eq!(
            change(|p| p.md5_key = Some(Md5Key::new("other"))),
            PeerChange::Reset
        );
        assert_eq!(change(|p| p.md5_key = None), PeerChange::Reset);
        assert_eq!(
            change(|p| p.local_address = Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 3)))),
            PeerChange::Reset
        );
    }

    #[test]
    fn what_the_open_exchange_depends_on_resets_the_session() {
        assert_eq!(change(|p| p.session.remote_as = 65002), PeerChange::Reset);
        assert_eq!(change(|p| p.session.local_as = 8075), PeerChange::Reset);
        assert_eq!(
            change(|p| p.session.router_id = Ipv4Addr::new(10, 0, 0, 2)),
            PeerChange::Reset
        );
        assert_eq!(
            change(|p| p.session.hold_time = Duration::from_secs(90)),
            PeerChange::Reset
        );
        assert_eq!(
            change(|p| p.session.families.push(Family::Ipv6Unicast)),
            PeerChange::Reset
        );
        assert_eq!(change(|p| p.weight = 100), PeerChange::Reset);
        assert_eq!(change(|p| p.export = Export::Learned), PeerChange::Reset);
    }

    #[test]
    fn prepend_limits_and_retry_timers_change_in_place() {
        assert_eq!(
            change(|p| p.prepend = 3),
            PeerChange::InPlace(InPlace {
                resend: true,
                ..InPlace::default()
            })
        );
        assert_eq!(
            change(|p| p.max_prefixes = [Some(10), None]),
            PeerChange::InPlace(InPlace {
                limits: true,
                ..InPlace::default()
            })
        );
        let timers = PeerChange::InPlace(InPlace {
            next_connection: true,
            ..InPlace::default()
        });
        assert_eq!(
            change(|p| p.session.connect_retry = Duration::from_secs(1)),
            timers
        );
        assert_eq!(change(|p| p.session.passive = true), timers);
        assert_eq!(
            change(|p| p.session.error_wait = Some(ErrorWait {
                min: Duration::from_secs(1),
                max: Duration::from_secs(10),
            })),
            timers
        );
    }

    #[test]
    fn shutdown_wins_over_every_other_change() {
        assert_eq!(
            change(|p| {
                p.shutdown = true;
                p.md5_key = None;
            }),
            PeerChange::Shutdown
        );
        let mut down = peer();
        down.shutdown = true;
        let mut up = peer();
        up.session.remote_as = 65002;
        assert_eq!(classify(Some(&down), Some(&up)), PeerChange::Start);
        let mut down_changed = down.clone();
        down_changed.session.remote_as = 65002;
        assert_eq!(
            classify(Some(&down), Some(&down_changed)),
            PeerChange::InPlace(InPlace::default()),
            "a peer that stays down has no session to reset"
        );
    }
}
