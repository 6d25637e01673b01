//! Edges following two control replicas on one PostgreSQL database: when the replica the
//! edges talk to is killed, their BGP sessions and routes stay up, and they follow a change
//! made through the other replica.

use std::time::Duration;

use e2e::control::{ServeFlags, fresh_postgres_database};
use e2e::{
    Bird, BirdSession, BirdSpec, CONVERGE, Circuit, Control, ControlOptions, CustomerLink, EDGE_AS,
    PrivatePeering, customer_link, hold_for, require_root, wait_for,
};

const SUB: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
const ROLES: [&str; 2] = ["primary", "secondary"];

fn customer_bird(link: &CustomerLink, asn: u32, announce: &[&str]) -> Bird {
    let spec = BirdSpec::new(asn, link.customer_v4)
        .session(BirdSession::new(
            "edge4",
            link.customer_v4,
            link.edge_v4,
            EDGE_AS,
        ))
        .announce(announce);
    Bird::start(&link.ns, &format!("bird-{}", link.role), spec)
}

fn established(ctl: &Control, c: &Circuit, link: &CustomerLink, bird: &Bird, what: &str) {
    wait_for(CONVERGE, what, || {
        bird.established("edge4")?;
        ctl.established(c, &link.role, &link.customer_v4.to_string())
    });
}

#[test]
fn edges_keep_their_sessions_when_their_control_replica_dies_and_follow_the_other() {
    let test = "edges_keep_their_sessions_when_their_control_replica_dies_and_follow_the_other";
    if !require_root(test) {
        return;
    }
    let Some(store) = fresh_postgres_database(test) else {
        return;
    };
    let flags = ServeFlags {
        store: Some(store),
        local_edges: Some(Vec::new()),
        ..ServeFlags::default()
    };
    let a = Control::start_with_flags(test, ControlOptions::default(), flags.clone());
    let b = Control::start_with_flags(test, ControlOptions::default(), flags);
    // Both edges of the lab pair as processes of their own, A first in their list.
    let edges: Vec<_> = [a.primary_edge(), a.secondary_edge()]
        .iter()
        .map(|e| {
            let token = a.edge_token(e);
            a.start_edge_following(e, &token, &[a.url(), b.url()])
        })
        .collect();

    let c = a.create_circuit(SUB, "rg-replicas", "er-replicas-1");
    a.provision(&c);
    let peering = PrivatePeering::new(65001, 4);
    a.put_peering(&c, &peering);
    let links = ROLES.map(|role| customer_link(&c, &peering, role));
    let birds: Vec<Bird> = links
        .iter()
        .map(|l| customer_bird(l, 65001, &["10.214.0.0/24"]))
        .collect();
    for (link, bird) in links.iter().zip(&birds) {
        established(
            &b,
            &c,
            link,
            bird,
            &format!("the {} session (seen through B)", link.role),
        );
    }
    let since: Vec<String> = birds
        .iter()
        .map(|b| {
            b.established("edge4")
                .unwrap_or_else(|e| panic!("{e}"))
                .since
        })
        .collect();

    // kill -9 of replica A, which both edges were following.
    a.kill();
    // A change through B: a second circuit at the same location. The edges follow it.
    let c2 = b.create_circuit(SUB, "rg-replicas", "er-replicas-2");
    b.provision(&c2);
    let peering2 = PrivatePeering::new(65002, 5);
    b.put_peering(&c2, &peering2);
    let links2 = ROLES.map(|role| customer_link(&c2, &peering2, role));
    let birds2: Vec<Bird> = links2
        .iter()
        .map(|l| customer_bird(l, 65002, &["10.215.0.0/24"]))
        .collect();
    for (link, bird) in links2.iter().zip(&birds2) {
        established(
            &b,
            &c2,
            link,
            bird,
            &format!("the new circuit's {} session", link.role),
        );
    }
    // Meanwhile the first circuit's sessions never went down.
    hold_for(
        Duration::from_secs(3),
        "the first circuit's sessions stay up",
        || {
            for (i, bird) in birds.iter().enumerate() {
                let p = bird.established("edge4")?;
                if p.since != since[i] {
                    return Err(format!(
                        "{} session re-established at {} (was up since {})",
                        ROLES[i], p.since, since[i]
                    ));
                }
            }
            Ok(())
        },
    );
    for e in &edges {
        e.assert_running();
    }
}
