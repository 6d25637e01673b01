//! Circuits come alive: `causeway serve` drives a redundant lab edge pair, a BIRD router in
//! each of the customer's namespaces peers with it, and everything the API shows is live
//! data from the edges.
//!
//! Each test runs its own serve (temp data directory, free port, the built-in lab edges
//! `lab-edge-1` / `lab-edge-2`; see `e2e::control`), its own circuits with their own /30s,
//! and cleans up on drop, also when it fails. Tests may run in parallel: a circuit's
//! namespaces carry its service key, and edges remove only what they recorded building.

use std::io::Write;
use std::time::Duration;

use e2e::control::{ip, link_names, links_of_process};
use e2e::{
    Bird, BirdSession, BirdSpec, CONVERGE, Circuit, Control, ControlOptions, CustomerLink, EDGE_AS,
    PrivatePeering, customer_link, find_route, hold_for, require_root, wait_for,
};
use serde_json::Value;

const SUB_A: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
const SUB_B: &str = "bbbbbbbb-0000-4000-8000-00000000000b";
const ROLES: [&str; 2] = ["primary", "secondary"];
const SHARED_KEY: &str = "Md5-S3cret!Key#42";

/// One BIRD in the customer's namespace of `link`, AS `asn`, with an IPv4 session `edge4`
/// (and `edge6` when the peering has IPv6) toward the edge, MD5 with `key`.
fn customer_bird(link: &CustomerLink, asn: u32, key: &str, announce: &[&str]) -> Bird {
    let mut spec = BirdSpec::new(asn, link.customer_v4)
        .session(BirdSession::new("edge4", link.customer_v4, link.edge_v4, EDGE_AS).password(key))
        .announce(announce);
    if let (Some(customer), Some(edge)) = (link.customer_v6(), link.edge_v6()) {
        spec = spec.session(BirdSession::new("edge6", customer, edge, EDGE_AS).password(key));
    }
    Bird::start(&link.ns, &format!("bird-{}", link.role), spec)
}

/// Both sides agree the IPv4 session of `link` is up: BIRD and the peering's status.
fn both_established(ctl: &Control, c: &Circuit, link: &CustomerLink, bird: &Bird) {
    wait_for(
        CONVERGE,
        &format!("the {} IPv4 session to establish", link.role),
        || {
            bird.established("edge4")?;
            ctl.established(c, &link.role, &link.customer_v4.to_string())
        },
    );
}

/// The route table entry for `network` on link `role`, or what the table holds instead.
fn route_entry(ctl: &Control, c: &Circuit, role: &str, network: &str) -> Result<Value, String> {
    let table = ctl.action(c, "routeTables", role);
    table
        .iter()
        .find(|r| r["network"] == network)
        .cloned()
        .ok_or_else(|| format!("{network} not in the {role} route table: {table:?}"))
}

#[test]
fn a_customer_router_peers_on_both_links_with_md5_and_its_routes_show_in_the_route_tables() {
    let test =
        "a_customer_router_peers_on_both_links_with_md5_and_its_routes_show_in_the_route_tables";
    if !require_root(test) {
        return;
    }
    let ctl = Control::start(test);
    let c = ctl.create_circuit(SUB_A, "rg-e2e", "er-md5-routes");
    ctl.provision(&c);
    let peering = PrivatePeering::new(65001, 1)
        .shared_key(SHARED_KEY)
        .ipv6("fd00:77:1::/126", "fd00:77:1::4/126");
    ctl.put_peering(&c, &peering);

    let announced = ["10.201.1.0/24", "10.201.2.0/24", "2001:db8:201::/48"];
    let links = ROLES.map(|role| customer_link(&c, &peering, role));
    let birds: Vec<Bird> = links
        .iter()
        .map(|l| customer_bird(l, 65001, SHARED_KEY, &announced))
        .collect();

    // The circuit names each link's edge and the customer's namespace.
    for (role, edge) in [
        ("primary", ctl.primary_edge()),
        ("secondary", ctl.secondary_edge()),
    ] {
        let link = wait_for(CONVERGE, &format!("the {role} link to be Active"), || {
            let l = ctl.link(&c, role);
            if l["state"] == "Active" {
                Ok(l)
            } else {
                Err(l.to_string())
            }
        });
        assert_eq!(link["edge"], edge, "{link}");
        assert_eq!(
            link["customerNamespace"].as_str(),
            Some(c.customer_namespace(role).as_str()),
            "{link}"
        );
        assert!(link.get("error").is_none_or(Value::is_null), "{link}");
    }

    for (link, bird) in links.iter().zip(&birds) {
        both_established(&ctl, &c, link, bird);
        let v6 = link
            .customer_v6()
            .expect("the peering has IPv6")
            .to_string();
        wait_for(
            CONVERGE,
            &format!("the {} IPv6 session to establish", link.role),
            || {
                bird.established("edge6")?;
                ctl.established(&c, &link.role, &v6)
            },
        );
    }

    for link in &links {
        let role = link.role.as_str();
        let customer = link.customer_v4.to_string();
        // Both IPv4 prefixes, learned from the customer's AS with the customer as next hop.
        for network in &announced[..2] {
            let r = wait_for(
                CONVERGE,
                &format!("{network} in the {role} route table"),
                || route_entry(&ctl, &c, role, network),
            );
            assert_eq!(r["path"], "65001", "{role} {network}: {r}");
            assert_eq!(r["nextHop"], customer.as_str(), "{role} {network}: {r}");
        }
        let r = wait_for(
            CONVERGE,
            &format!("the IPv6 prefix in the {role} route table"),
            || route_entry(&ctl, &c, role, announced[2]),
        );
        assert_eq!(r["path"], "65001", "{role}: {r}");

        // The summary shows the neighbor with its prefix count.
        let s = wait_for(
            CONVERGE,
            &format!("the {role} summary to count 2 prefixes"),
            || {
                let summary = ctl.action(&c, "routeTablesSummary", role);
                let s = summary
                    .iter()
                    .find(|s| s["neighbor"] == customer.as_str())
                    .cloned()
                    .ok_or_else(|| format!("{customer} not in {summary:?}"))?;
                if s["statePfxRcd"] == "2" {
                    Ok(s)
                } else {
                    Err(s.to_string())
                }
            },
        );
        assert_eq!(s["as"], 65001, "{s}");
        assert_eq!(s["v"], 4, "{s}");

        // The edge has resolved the customer's address.
        let arp = wait_for(
            CONVERGE,
            &format!("the customer's address in the {role} ARP table"),
            || {
                let arp = ctl.action(&c, "arpTables", role);
                arp.iter()
                    .find(|a| a["ipAddress"] == customer.as_str())
                    .cloned()
                    .ok_or_else(|| format!("{customer} not in {arp:?}"))
            },
        );
        assert!(
            arp["macAddress"].as_str().is_some_and(|m| m.len() == 17),
            "{arp}"
        );
    }

    // Traffic flowed both ways on both links (BGP itself is traffic).
    wait_for(CONVERGE, "bytes in and out on both links", || {
        let stats = ctl.stats(&c);
        let all = [
            "primarybytesIn",
            "primarybytesOut",
            "secondarybytesIn",
            "secondarybytesOut",
        ];
        if all
            .iter()
            .all(|k| stats[*k].as_u64().is_some_and(|b| b > 0))
        {
            Ok(())
        } else {
            Err(stats.to_string())
        }
    });

    // The cloud side: a virtual network connected to the circuit is advertised to the
    // customer on both links, and the customer's routes are the gateway's learned routes.
    let vnet = "10.50.0.0/16";
    let Some(cloud) =
        ctl.connect_virtual_network(&c, "rg-e2e-cloud", "vnet-md5", vnet, "10.50.255.0/27")
    else {
        // Past the harness's output capture, so it shows in a passing run.
        let _ = writeln!(
            std::io::stderr(),
            "{test}: this control plane answers 404 for virtualNetworks: the connected \
             virtual network part is not checked"
        );
        return;
    };
    for (link, bird) in links.iter().zip(&birds) {
        let r = wait_for(
            CONVERGE,
            &format!("BIRD on {} to learn the virtual network", link.role),
            || find_route(&bird.routes("edge4")?, vnet).cloned(),
        );
        assert_eq!(r.as_path, EDGE_AS.to_string(), "{} {r:?}", link.role);
        assert_eq!(r.next_hop, link.edge_v4.to_string(), "{} {r:?}", link.role);
        let r = wait_for(
            CONVERGE,
            &format!("the virtual network in the {} route table", link.role),
            || route_entry(&ctl, &c, &link.role, vnet),
        );
        assert_eq!(r["path"], EDGE_AS.to_string(), "{r}");
    }
    let learned = wait_for(
        CONVERGE,
        "the customer's prefixes among the gateway's learned routes",
        || {
            let routes = ctl.gateway_routes(&cloud, "getLearnedRoutes");
            let from = |network: &str, hop: &str| {
                routes
                    .iter()
                    .any(|r| r["network"] == network && r["nextHop"] == hop)
            };
            let all = links.iter().all(|l| {
                announced[..2]
                    .iter()
                    .all(|n| from(n, &l.customer_v4.to_string()))
            });
            if all {
                Ok(routes)
            } else {
                Err(format!("{routes:?}"))
            }
        },
    );
    assert!(
        learned
            .iter()
            .filter(|r| r["network"] == announced[0])
            .all(|r| r["asPath"] == "12076-65001"),
        "{learned:?}"
    );
    let advertised = ctl.gateway_routes(&cloud, "getAdvertisedRoutes");
    assert!(
        advertised.iter().any(|r| r["network"] == vnet),
        "{advertised:?}"
    );
}

#[test]
fn a_standard_circuit_over_its_route_limit_drops_the_session_and_recovers_under_it() {
    let test = "a_standard_circuit_over_its_route_limit_drops_the_session_and_recovers_under_it";
    if !require_root(test) {
        return;
    }
    let ctl = Control::start(test);
    let c = ctl.create_circuit(SUB_A, "rg-e2e", "er-route-limit");
    ctl.provision(&c);
    let peering = PrivatePeering::new(65001, 2).shared_key("limit-key");
    ctl.put_peering(&c, &peering);
    let link = customer_link(&c, &peering, "primary");
    let customer = link.customer_v4.to_string();

    // 4,001 /24s: one over the Standard limit of 4,000.
    let over: Vec<String> = (0..4001u32)
        .map(|i| format!("10.{}.{}.0/24", 100 + i / 256, i % 256))
        .collect();
    let over: Vec<&str> = over.iter().map(String::as_str).collect();
    let mut bird = customer_bird(&link, 65001, "limit-key", &over);

    let dropped = wait_for(
        CONVERGE,
        "the peering status to show the primary session dropped over its limit",
        || {
            let s = ctl.session(&c, "primary", &customer)?;
            let error = s["lastError"].as_str().unwrap_or("");
            if s["state"] != "Established" && error.to_lowercase().contains("maximum") {
                Ok(s)
            } else {
                Err(s.to_string())
            }
        },
    );
    assert!(
        dropped["lastError"]
            .as_str()
            .is_some_and(|e| e.to_lowercase().contains("prefixes")),
        "the error says why: {dropped}"
    );
    wait_for(CONVERGE, "BIRD to report the Cease it received", || {
        let p = bird.protocol("edge4")?;
        if p.bgp_state != "Established" && p.info.contains("Maximum number of prefixes") {
            Ok(p)
        } else {
            Err(format!("{p:?}"))
        }
    });

    // Back under the limit: the session returns by itself with the 10 prefixes.
    let ten = &over[..10];
    bird.announce(ten);
    let back = wait_for(
        CONVERGE,
        "the primary session to return under the limit",
        || {
            bird.established("edge4")?;
            let s = ctl.established(&c, "primary", &customer)?;
            if s["prefixesReceived"] == 10 {
                Ok(s)
            } else {
                Err(s.to_string())
            }
        },
    );
    assert_eq!(back["state"], "Established", "{back}");
    wait_for(
        CONVERGE,
        "the 10 prefixes in the primary route table",
        || {
            let table = ctl.action(&c, "routeTables", "primary");
            let learned = table.iter().filter(|r| r["path"] == "65001").count();
            if learned == 10 {
                Ok(())
            } else {
                Err(format!("{learned} routes from 65001"))
            }
        },
    );
}

#[test]
fn two_circuits_with_the_same_addresses_and_prefixes_stay_isolated() {
    let test = "two_circuits_with_the_same_addresses_and_prefixes_stay_isolated";
    if !require_root(test) {
        return;
    }
    let ctl = Control::start(test);
    // Same /30s, same VLAN, same prefix; different customers (and subscriptions).
    let a = ctl.create_circuit(SUB_A, "rg-e2e", "er-isolated-a");
    let b = ctl.create_circuit(SUB_B, "rg-e2e", "er-isolated-b");
    let pa = PrivatePeering::new(65001, 3).shared_key("key-a");
    let pb = PrivatePeering::new(65002, 3).shared_key("key-b");
    assert_eq!(pa.primary, pb.primary);
    assert_eq!(pa.secondary, pb.secondary);
    for (c, p) in [(&a, &pa), (&b, &pb)] {
        ctl.provision(c);
        ctl.put_peering(c, p);
    }
    let shared = "10.99.0.0/24";
    let mut running = Vec::new();
    for (c, p, asn, key, own) in [
        (&a, &pa, 65001, "key-a", "10.98.1.0/24"),
        (&b, &pb, 65002, "key-b", "10.98.2.0/24"),
    ] {
        for role in ROLES {
            let link = customer_link(c, p, role);
            let bird = customer_bird(&link, asn, key, &[shared, own]);
            running.push((c, asn, link, bird));
        }
    }
    for (c, _, link, bird) in &running {
        both_established(&ctl, c, link, bird);
    }
    for (c, own, other, path) in [
        (&a, "10.98.1.0/24", "10.98.2.0/24", "65001"),
        (&b, "10.98.2.0/24", "10.98.1.0/24", "65002"),
    ] {
        for role in ROLES {
            let table = wait_for(
                CONVERGE,
                &format!("{} {role}: its customer's two prefixes", c.sk8()),
                || {
                    let table = ctl.action(c, "routeTables", role);
                    let has = |n: &str| table.iter().any(|r| r["network"] == n);
                    if has(shared) && has(own) {
                        Ok(table)
                    } else {
                        Err(format!("{table:?}"))
                    }
                },
            );
            let entries: Vec<&Value> = table.iter().filter(|r| r["network"] == shared).collect();
            assert_eq!(entries.len(), 1, "{role} of {}: {table:?}", c.sk8());
            assert_eq!(
                entries[0]["path"],
                path,
                "{role} of {} shows only its own customer's path: {table:?}",
                c.sk8()
            );
            assert!(
                table.iter().all(|r| r["network"] != other),
                "{role} of {} shows the other customer's prefix: {table:?}",
                c.sk8()
            );
            assert!(
                table.iter().all(|r| r["path"] == path),
                "{role} of {}: a path from elsewhere: {table:?}",
                c.sk8()
            );
        }
    }
    // Neither customer's router hears about the other's routes.
    for (_, asn, link, bird) in &running {
        let routes = bird.routes("edge4").unwrap_or_else(|e| panic!("{e}"));
        assert!(
            routes.iter().all(|r| !r.as_path.contains("6500")),
            "BIRD of AS{asn} on {} learned a customer route: {routes:?}",
            link.role
        );
    }
}

#[test]
fn an_edge_restart_brings_sessions_back_with_no_api_call_and_deleting_leaves_nothing() {
    let test = "an_edge_restart_brings_sessions_back_with_no_api_call_and_deleting_leaves_nothing";
    if !require_root(test) {
        return;
    }
    // HTTPS; the secondary edge runs as its own process trusting the data dir's tls.crt.
    let ctl = Control::start_with(
        test,
        ControlOptions {
            https: true,
            only_primary_in_process: true,
        },
    );
    let token = ctl.edge_token(ctl.secondary_edge());
    let remote = ctl.start_edge(ctl.secondary_edge(), &token);

    let c = ctl.create_circuit(SUB_A, "rg-e2e", "er-restart");
    ctl.provision(&c);
    let peering = PrivatePeering::new(65001, 4).shared_key("restart-key");
    ctl.put_peering(&c, &peering);
    let links = ROLES.map(|role| customer_link(&c, &peering, role));
    let birds: Vec<Bird> = links
        .iter()
        .map(|l| customer_bird(l, 65001, "restart-key", &["10.204.0.0/24"]))
        .collect();
    for (link, bird) in links.iter().zip(&birds) {
        both_established(&ctl, &c, link, bird);
    }
    let secondary_link = ctl.link(&c, "secondary");
    assert_eq!(secondary_link["edge"], ctl.secondary_edge());
    assert_eq!(secondary_link["state"], "Active", "{secondary_link}");
    let primary_since = birds[0]
        .established("edge4")
        .unwrap_or_else(|e| panic!("{e}"))
        .since;

    // kill -9 the separate edge: the secondary session goes down.
    remote.kill();
    assert!(remote.exited().is_some(), "the killed edge is gone");
    wait_for(
        CONVERGE,
        "the secondary session to go down",
        || match birds[1].established("edge4") {
            Ok(p) => Err(format!("still Established since {}", p.since)),
            Err(seen) => Ok(seen),
        },
    );

    // The same command again, and nothing else: the session comes back.
    let restarted = ctl.start_edge(ctl.secondary_edge(), &token);
    wait_for(
        CONVERGE,
        "the secondary session to return after the edge restart",
        || {
            restarted.assert_running();
            birds[1].established("edge4")?;
            ctl.established(&c, "secondary", &links[1].customer_v4.to_string())
        },
    );
    wait_for(CONVERGE, "the secondary route table to fill again", || {
        route_entry(&ctl, &c, "secondary", "10.204.0.0/24")
    });
    // The primary session never noticed.
    let primary = birds[0]
        .established("edge4")
        .unwrap_or_else(|e| panic!("primary: {e}"));
    assert_eq!(
        primary.since, primary_since,
        "the primary session flapped during the secondary edge's restart"
    );

    // Delete the peering: both edges remove the circuit's namespaces.
    ctl.delete(&c.peering("AzurePrivatePeering"))
        .expect(&[200, 202, 204]);
    wait_for(CONVERGE, "the circuit's namespaces to go", || {
        let left = c.namespaces();
        if left.is_empty() {
            Ok(())
        } else {
            Err(format!("left: {left:?}"))
        }
    });
    // The cross-connects are gone too: each BIRD still runs in its (now nameless)
    // namespace, and its end of the veth disappeared with the edge's end.
    for (link, bird) in links.iter().zip(&birds) {
        wait_for(
            CONVERGE,
            &format!("ce0 to disappear from the {} customer side", link.role),
            || {
                let names = links_of_process(bird.daemon().pid())?;
                if names.iter().any(|n| n == "ce0") {
                    Err(format!("still there: {names:?}"))
                } else {
                    Ok(())
                }
            },
        );
    }
    ctl.deprovision(&c);
    ctl.delete(&c.path).expect(&[200, 202, 204]);
    ctl.get(&c.path).expect(&[404]);
    let left = c.namespaces();
    assert!(left.is_empty(), "namespaces after deletion: {left:?}");
    // No veth (cross-connect halves, or their temporary names) on the host. Other tests may
    // be making a cross-connect right now, whose temporary name lives for milliseconds.
    wait_for(CONVERGE, "no cross-connect veth on the host", || {
        let veths = link_names(&ip(&["-o", "link", "show", "type", "veth"])?);
        let ours: Vec<&String> = veths
            .iter()
            .filter(|n| n.starts_with("cwt") || *n == "cust0" || *n == "ce0")
            .collect();
        if ours.is_empty() {
            Ok(())
        } else {
            Err(format!("{ours:?}"))
        }
    });
    // Still nothing a few seconds later: no edge rebuilds what was removed.
    hold_for(
        Duration::from_secs(3),
        "no namespace of the deleted circuit",
        || {
            let left = c.namespaces();
            if left.is_empty() {
                Ok(())
            } else {
                Err(format!("{left:?}"))
            }
        },
    );
}

#[test]
fn disabling_a_peering_shuts_both_sessions_down_and_enabling_brings_them_back() {
    let test = "disabling_a_peering_shuts_both_sessions_down_and_enabling_brings_them_back";
    if !require_root(test) {
        return;
    }
    let ctl = Control::start(test);
    let c = ctl.create_circuit(SUB_A, "rg-e2e", "er-disabled");
    ctl.provision(&c);
    let peering = PrivatePeering::new(65001, 5).shared_key("disable-key");
    ctl.put_peering(&c, &peering);
    let links = ROLES.map(|role| customer_link(&c, &peering, role));
    let birds: Vec<Bird> = links
        .iter()
        .map(|l| customer_bird(l, 65001, "disable-key", &["10.205.0.0/24"]))
        .collect();
    for (link, bird) in links.iter().zip(&birds) {
        both_established(&ctl, &c, link, bird);
    }

    ctl.put_peering(&c, &peering.clone().enabled(false));
    for (link, bird) in links.iter().zip(&birds) {
        // BIRD got the Cease / Administrative Shutdown (RFC 8203, with the reason); its
        // protocol's last-error column is overwritten by its next connection attempt, which
        // the disabled edge refuses, so the log is the record.
        wait_for(
            CONVERGE,
            &format!("the {} session to shut down administratively", link.role),
            || {
                let p = bird.protocol("edge4")?;
                if p.bgp_state == "Established" {
                    return Err(format!("{p:?}"));
                }
                if bird
                    .daemon()
                    .log()
                    .contains("edge4: Received: Administrative shutdown")
                {
                    Ok(p)
                } else {
                    Err(format!("no Administrative shutdown in BIRD's log; {p:?}"))
                }
            },
        );
        // The peering's status says it is down, and why.
        let s = wait_for(
            CONVERGE,
            &format!("the peering status to show the {} session down", link.role),
            || {
                let s = ctl.session(&c, &link.role, &link.customer_v4.to_string())?;
                let error = s["lastError"].as_str().unwrap_or("");
                if s["state"] != "Established" && error.contains("Administrative Shutdown") {
                    Ok(s)
                } else {
                    Err(s.to_string())
                }
            },
        );
        assert_eq!(s["state"], "Idle", "{s}");
    }
    // And they stay down while disabled (BIRD keeps trying every second).
    hold_for(
        Duration::from_secs(3),
        "both sessions down while disabled",
        || {
            for (link, bird) in links.iter().zip(&birds) {
                if let Ok(p) = bird.established("edge4") {
                    return Err(format!("{} Established again: {p:?}", link.role));
                }
            }
            Ok(())
        },
    );

    ctl.put_peering(&c, &peering.clone().enabled(true));
    for (link, bird) in links.iter().zip(&birds) {
        both_established(&ctl, &c, link, bird);
    }
    for role in ROLES {
        wait_for(CONVERGE, &format!("the {role} route back"), || {
            route_entry(&ctl, &c, role, "10.205.0.0/24")
        });
    }
}

#[test]
fn an_operator_drain_prepends_our_as_on_one_link_only_and_undraining_restores_it() {
    let test = "an_operator_drain_prepends_our_as_on_one_link_only_and_undraining_restores_it";
    if !require_root(test) {
        return;
    }
    let ctl = Control::start(test);
    let c = ctl.create_circuit(SUB_A, "rg-e2e", "er-drain");
    ctl.provision(&c);
    let peering = PrivatePeering::new(65001, 6).shared_key("drain-key");
    ctl.put_peering(&c, &peering);
    let links = ROLES.map(|role| customer_link(&c, &peering, role));
    let birds: Vec<Bird> = links
        .iter()
        .map(|l| customer_bird(l, 65001, "drain-key", &["10.206.0.0/24"]))
        .collect();
    for (link, bird) in links.iter().zip(&birds) {
        both_established(&ctl, &c, link, bird);
    }
    let vnet = "10.60.0.0/16";
    let Some(_cloud) =
        ctl.connect_virtual_network(&c, "rg-e2e-drain", "vnet-drain", vnet, "10.60.255.0/27")
    else {
        panic!("{test}: the control plane does not serve virtualNetworks");
    };
    let path_at = |i: usize, want: &str| {
        wait_for(
            CONVERGE,
            &format!("BIRD on {} to see {vnet} with path {want:?}", links[i].role),
            || {
                let r = find_route(&birds[i].routes("edge4")?, vnet).cloned()?;
                if r.as_path == want {
                    Ok(r)
                } else {
                    Err(format!("{r:?}"))
                }
            },
        )
    };
    let once = EDGE_AS.to_string();
    path_at(0, &once);
    path_at(1, &once);

    // Azure's maintenance behaviour: the primary link is drained with a longer AS path.
    let drain = |prepend: u32| {
        let body = serde_json::json!({"link": "primary", "prepend": prepend});
        ctl.put(
            &format!("/admin/v1/circuits/{}/drain", c.service_key),
            &body,
        )
        .expect(&[204]);
    };
    drain(3);
    let drained = [EDGE_AS; 4].map(|a| a.to_string()).join(" ");
    path_at(0, &drained);
    // The secondary link is untouched and its session never reset.
    path_at(1, &once);
    birds[1]
        .established("edge4")
        .expect("the secondary session stays up");

    drain(0);
    path_at(0, &once);
}

#[test]
fn bfd_ends_a_frozen_customer_routers_session_long_before_the_hold_timer() {
    let test = "bfd_ends_a_frozen_customer_routers_session_long_before_the_hold_timer";
    if !require_root(test) {
        return;
    }
    let ctl = Control::start(test);
    let c = ctl.create_circuit(SUB_A, "rg-e2e", "er-bfd");
    ctl.provision(&c);
    let peering = PrivatePeering::new(65001, 7).shared_key("bfd-key");
    ctl.put_peering(&c, &peering);
    let link = customer_link(&c, &peering, "primary");
    // A 90 s hold time: only BFD can notice a frozen router within seconds.
    let spec = BirdSpec::new(65001, link.customer_v4)
        .session(
            BirdSession::new("edge4", link.customer_v4, link.edge_v4, EDGE_AS)
                .password("bfd-key")
                .hold_time(90)
                .bfd(),
        )
        .announce(&["10.207.0.0/24"]);
    let bird = Bird::start(&link.ns, "bird-primary", spec);
    both_established(&ctl, &c, &link, &bird);
    let neighbor = link.customer_v4.to_string();
    wait_for(
        CONVERGE,
        "the edge's BFD session toward BIRD to come up",
        || {
            let s = ctl.session(&c, "primary", &neighbor)?;
            if s["bfd"] == "Up" {
                Ok(s)
            } else {
                Err(s.to_string())
            }
        },
    );

    bird.freeze();
    // 300 ms × 3 detection plus one report interval (2 s); the hold timer would take 90 s.
    let s = wait_for(
        Duration::from_secs(6),
        "BFD to end the session of the frozen router",
        || {
            let s = ctl.session(&c, "primary", &neighbor)?;
            let error = s["lastError"].as_str().unwrap_or("");
            if s["state"] != "Established" && error.contains("BFD") {
                Ok(s)
            } else {
                Err(s.to_string())
            }
        },
    );
    assert_ne!(s["bfd"], "Up", "{s}");
    // The customer's route is gone from the edge's table at once.
    wait_for(
        Duration::from_secs(6),
        "the frozen router's route withdrawn",
        || match route_entry(&ctl, &c, "primary", "10.207.0.0/24") {
            Ok(r) => Err(format!("still there: {r}")),
            Err(_) => Ok(()),
        },
    );

    bird.thaw();
    both_established(&ctl, &c, &link, &bird);
}
