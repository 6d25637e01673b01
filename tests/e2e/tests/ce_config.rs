//! The customer-edge configuration Causeway writes (`POST …/customerEdgeConfiguration`),
//! loaded as written into a real BIRD and a real FRR on a lab circuit: both links' sessions
//! come up (IPv4 and IPv6, with the MD5 key), BFD runs on them, the announced prefixes reach
//! both edges and the virtual network's prefix reaches the router over both links.
//!
//! The router lives in a namespace of its own with one interface per link (`wan1`, `wan2`),
//! bridged into the customer end of each cross-connect the lab edges leave (`ce0`), as
//! `causeway lab` does. BIRD creates no interfaces: the test runs the `ip` commands the
//! text lists in its header, as a user would. FRR's zebra sets the addresses itself.
//!
//! Each test runs its own serve and names, so they may run in parallel.

use std::path::Path;
use std::process::{Command, Stdio};

use e2e::control::{ServeFlags, ip};
use e2e::{
    CONVERGE, Circuit, Control, ControlOptions, Daemon, Netns, PrivatePeering, require_root,
    wait_for,
};
use serde_json::{Value, json};

const SUB: &str = "aaaaaaaa-0000-4000-8000-0000000000ce";
const ROLES: [(&str, &str); 2] = [("primary", "wan1"), ("secondary", "wan2")];
const CUSTOMER_AS: u32 = 65030;
const MD5: &str = "ce-config-key";
const VNET: &str = "10.31.0.0/16";

/// A circuit with private peering (IPv4 + IPv6, MD5) connected to a virtual network, and
/// the router namespace bridged to both of its links.
struct Site {
    ctl: Control,
    circuit: Circuit,
    peering: PrivatePeering,
    router: Netns,
    announce_v4: String,
    announce_v6: String,
}

fn site(test: &str, n: u8) -> Site {
    let ctl = Control::start_with_flags(test, ControlOptions::default(), ServeFlags::lab());
    let circuit = ctl.create_circuit(SUB, "ce", &format!("ce{n}"));
    ctl.provision(&circuit);
    let peering = PrivatePeering::new(CUSTOMER_AS, n).shared_key(MD5).ipv6(
        &format!("2001:db8:ce{n}::/126"),
        &format!("2001:db8:ce{n}::4/126"),
    );
    ctl.put_peering(&circuit, &peering);
    ctl.connect_virtual_network(&circuit, "ce", &format!("vnet{n}"), VNET, "10.31.255.0/27")
        .expect("this control plane serves virtual networks");
    let router = Netns::new(test, "ce");
    for (role, wan) in ROLES {
        let customer = circuit.customer_namespace(role);
        wait_for(
            CONVERGE,
            &format!("the edge to make {customer} with ce0"),
            || {
                if !Path::new("/run/netns").join(&customer).exists() {
                    return Err(format!("{customer} does not exist"));
                }
                ip(&["-n", &customer, "link", "show", "dev", "ce0"]).map(|_| ())
            },
        );
        let r = router.name();
        for args in [
            vec!["-n", &customer, "link", "add", "xc0", "type", "bridge"],
            vec![
                "-n", r, "link", "add", wan, "type", "veth", "peer", "name", "up0", "netns",
                &customer,
            ],
            vec!["-n", &customer, "link", "set", "up0", "master", "xc0", "up"],
            vec!["-n", &customer, "link", "set", "ce0", "master", "xc0", "up"],
            vec!["-n", &customer, "link", "set", "xc0", "up"],
            vec!["-n", r, "link", "set", wan, "up"],
        ] {
            ip(&args).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    Site {
        ctl,
        circuit,
        peering,
        router,
        announce_v4: format!("10.99.{n}.0/24"),
        announce_v6: format!("2001:db8:99{n}::/48"),
    }
}

impl Site {
    /// What `causeway ce-config --vendor VENDOR --with-secrets` answers for this router.
    fn config(&self, vendor: &str) -> String {
        let r = self.ctl.request(
            "POST",
            &format!("{}/customerEdgeConfiguration", self.circuit.path),
            Some(&json!({
                "vendor": vendor,
                "includeSecrets": true,
                "announcePrefixes": [self.announce_v4, self.announce_v6],
                "primaryInterface": "wan1",
                "secondaryInterface": "wan2",
            })),
        );
        r.expect(&[200]);
        let body = r.json();
        assert_eq!(body["includesSecrets"], true, "{}", r.text);
        let text = body["content"]
            .as_str()
            .unwrap_or_else(|| panic!("no content: {}", r.text))
            .to_string();
        std::fs::write(self.router.dir().join(format!("generated.{vendor}")), &text)
            .expect("keep the generated text");
        text
    }

    /// The customer's (first usable) and the edge's (second) addresses of every session.
    fn neighbors(&self) -> Vec<(&'static str, String, String)> {
        let mut out = Vec::new();
        for (role, _) in ROLES {
            let v4 = self.peering.prefix(role);
            let v6 = self.peering.prefix_v6(role).expect("IPv6 configured");
            for (net, v6) in [(v4, false), (v6, true)] {
                let base = net.split('/').next().expect("a prefix");
                let (customer, edge) = if v6 {
                    let b = u128::from(base.parse::<std::net::Ipv6Addr>().expect("v6"));
                    (
                        std::net::Ipv6Addr::from(b + 1).to_string(),
                        std::net::Ipv6Addr::from(b + 2).to_string(),
                    )
                } else {
                    let b = u32::from(base.parse::<std::net::Ipv4Addr>().expect("v4"));
                    (
                        std::net::Ipv4Addr::from(b + 1).to_string(),
                        std::net::Ipv4Addr::from(b + 2).to_string(),
                    )
                };
                out.push((role, customer, edge));
            }
        }
        out
    }

    /// The edges' IPv4 addresses (where BFD runs).
    fn edges_v4(&self) -> Vec<String> {
        self.neighbors()
            .into_iter()
            .filter(|n| !n.2.contains(':'))
            .map(|n| n.2)
            .collect()
    }

    /// The edges' side: every session Established, the IPv4 ones with BFD Up (the edges run
    /// BFD on IPv4 sessions only), as the API shows it.
    fn wait_edges_established_with_bfd(&self) {
        for (role, customer, _) in self.neighbors() {
            wait_for(
                CONVERGE,
                &format!("the {role} edge's session toward {customer} with BFD up"),
                || {
                    let s = self.ctl.established(&self.circuit, role, &customer)?;
                    if customer.contains(':') || s["bfd"] == "Up" {
                        Ok(())
                    } else {
                        Err(format!("{role} {customer}: BFD {}", s["bfd"]))
                    }
                },
            );
        }
    }

    /// Both edges hold the router's IPv4 announcement in their route table.
    fn wait_edges_learned_announcement(&self) {
        for (role, _) in ROLES {
            wait_for(
                CONVERGE,
                &format!("{} in the {role} route table", self.announce_v4),
                || {
                    let table = self.ctl.action(&self.circuit, "routeTables", role);
                    let found = table
                        .iter()
                        .find(|r| r["network"] == self.announce_v4.as_str());
                    match found {
                        Some(r) if r["path"] == CUSTOMER_AS.to_string().as_str() => Ok(()),
                        Some(r) => Err(format!("{role}: unexpected path {r}")),
                        None => Err(format!("{role}: {table:?}")),
                    }
                },
            );
        }
    }

    /// The edges' sessions count the router's IPv6 announcement as received.
    fn wait_edges_received_v6(&self) {
        for (role, customer, _) in self.neighbors().into_iter().filter(|n| n.1.contains(':')) {
            wait_for(
                CONVERGE,
                &format!("{role} IPv6 prefix from {customer}"),
                || {
                    let s = self.ctl.established(&self.circuit, role, &customer)?;
                    if s["prefixesReceived"].as_u64() >= Some(1) {
                        Ok(())
                    } else {
                        Err(format!("{s}"))
                    }
                },
            );
        }
    }
}

// ===== BIRD =====

fn birdc(socket: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("birdc")
        .arg("-s")
        .arg(socket)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run birdc: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() && !text.contains("Unable to connect") {
        Ok(text)
    } else {
        Err(format!("birdc {args:?}: {text}"))
    }
}

#[test]
fn the_generated_bird_config_brings_up_both_links_with_bfd_and_exchanges_routes() {
    let test = "the_generated_bird_config_brings_up_both_links_with_bfd_and_exchanges_routes";
    if !require_root(test) {
        return;
    }
    let site = site(test, 41);
    let conf = site.config("bird");
    // BIRD makes no interfaces: run what the header says to.
    let setup: Vec<&str> = conf
        .lines()
        .filter_map(|l| l.strip_prefix("#   ip "))
        .collect();
    assert!(
        setup.contains(&"address replace 10.77.41.1/30 dev wan1"),
        "the header lists the customer's addresses: {setup:?}"
    );
    for cmd in setup {
        let mut args = vec!["-n", site.router.name()];
        args.extend(cmd.split_whitespace());
        ip(&args).unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(conf.contains(&format!("password \"{MD5}\"")), "{conf}");
    let dir = site.router.dir();
    let path = dir.join("bird.conf");
    std::fs::write(&path, &conf).expect("write bird.conf");
    let socket = dir.join("bird.ctl");
    let bird = Daemon::spawn(
        &site.router,
        "bird",
        &dir.join("bird.log"),
        "bird",
        &[
            "-f",
            "-c",
            &path.to_string_lossy(),
            "-s",
            &socket.to_string_lossy(),
            "-P",
            &dir.join("bird.pid").to_string_lossy(),
        ],
        &[],
    );

    site.wait_edges_established_with_bfd();
    for role in ["primary", "secondary"] {
        for family in ["v4", "v6"] {
            let name = format!("cw_private_{role}_{family}");
            wait_for(CONVERGE, &format!("BIRD's {name} to establish"), || {
                bird.assert_running();
                let out = birdc(&socket, &["show", "protocols", "all", &name])?;
                out.contains("BGP state:          Established")
                    .then_some(())
                    .ok_or(out)
            });
        }
    }
    wait_for(CONVERGE, "BIRD's BFD sessions toward both edges up", || {
        let out = birdc(&socket, &["show", "bfd", "sessions"])?;
        let up = |edge: &str| {
            out.lines()
                .any(|l| l.split_whitespace().next() == Some(edge) && l.contains(" Up "))
        };
        site.edges_v4()
            .iter()
            .all(|e| up(e))
            .then_some(())
            .ok_or(out.clone())
    });
    site.wait_edges_learned_announcement();
    site.wait_edges_received_v6();
    wait_for(
        CONVERGE,
        "the virtual network's prefix over both links",
        || {
            let out = birdc(&socket, &["show", "route", VNET, "all"])?;
            let links = ["cw_private_primary_v4", "cw_private_secondary_v4"];
            links
                .iter()
                .all(|p| out.contains(p))
                .then_some(())
                .ok_or(out)
        },
    );
}

// ===== FRR =====

/// zebra, staticd, bfdd and bgpd (as user `frr`) in the router's namespace, each with no configuration of
/// its own and every socket in one directory; `vtysh -f` then loads the generated text.
struct FrrStack {
    dir: std::path::PathBuf,
    daemons: Vec<Daemon>,
}

impl FrrStack {
    fn start(ns: &Netns) -> FrrStack {
        let dir = ns.dir().join("frr");
        std::fs::create_dir_all(&dir).expect("frr dir");
        let empty = dir.join("empty.conf");
        std::fs::write(&empty, "").expect("empty config");
        // The daemons run as Debian's `frr` user (root is not in the vty group they were
        // built with): their pid files and sockets go in a directory it owns.
        let chown = Command::new("chown")
            .args(["-R", "frr:frr"])
            .arg(&dir)
            .status()
            .expect("run chown");
        assert!(chown.success(), "chown frr {}", dir.display());
        let zserv = dir.join("zserv.api");
        let mut daemons = Vec::new();
        for name in ["zebra", "staticd", "bfdd", "bgpd"] {
            let pid = dir.join(format!("{name}.pid"));
            let (empty, zserv, pid, vty) = (
                empty.to_string_lossy().into_owned(),
                zserv.to_string_lossy().into_owned(),
                pid.to_string_lossy().into_owned(),
                dir.to_string_lossy().into_owned(),
            );
            let bfdctl = dir.join("bfdd.sock").to_string_lossy().into_owned();
            let mut args: Vec<&str> = vec![
                "-f",
                &empty,
                "-i",
                &pid,
                "-z",
                &zserv,
                "--vty_socket",
                &vty,
                "-P",
                "0",
                "-u",
                "frr",
                "-g",
                "frr",
            ];
            if name == "bfdd" {
                args.extend(["--bfdctl", &bfdctl]);
            }
            let daemon = Daemon::spawn(
                ns,
                name,
                &dir.join(format!("{name}.log")),
                &format!("/usr/lib/frr/{name}"),
                &args,
                &[],
            );
            let stack_dir = dir.clone();
            wait_for(CONVERGE, &format!("{name} to answer vtysh"), || {
                daemon.assert_running();
                vtysh(&stack_dir, name, &["show version"]).map(|_| ())
            });
            daemons.push(daemon);
        }
        FrrStack { dir, daemons }
    }

    fn vtysh(&self, commands: &[&str]) -> Result<String, String> {
        for d in &self.daemons {
            d.assert_running();
        }
        vtysh(&self.dir, "", commands)
    }
}

/// vtysh on the stack's socket directory (`daemon` empty: all of them).
fn vtysh(dir: &Path, daemon: &str, commands: &[&str]) -> Result<String, String> {
    let mut cmd = Command::new("vtysh");
    cmd.arg("--vty_socket").arg(dir);
    if !daemon.is_empty() {
        cmd.args(["-d", daemon]);
    }
    for c in commands {
        cmd.args(["-c", c]);
    }
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run vtysh: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!(
            "vtysh {commands:?}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

#[test]
fn the_generated_frr_config_brings_up_both_links_with_bfd_and_exchanges_routes() {
    let test = "the_generated_frr_config_brings_up_both_links_with_bfd_and_exchanges_routes";
    if !require_root(test) {
        return;
    }
    let site = site(test, 42);
    let conf = site.config("frr");
    assert!(conf.contains(&format!("password {MD5}")), "{conf}");
    let frr = FrrStack::start(&site.router);
    let path = frr.dir.join("frr.conf");
    std::fs::write(&path, &conf).expect("write frr.conf");
    let out = Command::new("vtysh")
        .arg("--vty_socket")
        .arg(&frr.dir)
        .arg("-f")
        .arg(&path)
        .stdin(Stdio::null())
        .output()
        .expect("run vtysh -f");
    assert!(
        out.status.success(),
        "vtysh -f refused the generated config: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    site.wait_edges_established_with_bfd();
    for (role, _, edge) in site.neighbors() {
        wait_for(
            CONVERGE,
            &format!("FRR's {role} session toward {edge}"),
            || {
                let out = frr.vtysh(&["show bgp neighbors json"])?;
                let v: Value = serde_json::from_str(&out).map_err(|e| format!("{e}: {out}"))?;
                match v[&edge]["bgpState"].as_str() {
                    Some("Established") => Ok(()),
                    other => Err(format!(
                        "{edge}: {other:?} ({})",
                        v[&edge]["lastResetDueTo"]
                    )),
                }
            },
        );
    }
    wait_for(CONVERGE, "FRR's BFD peers toward both edges up", || {
        let out = frr.vtysh(&["show bfd peers json"])?;
        let v: Value = serde_json::from_str(&out).map_err(|e| format!("{e}: {out}"))?;
        let up = |edge: &str| {
            v.as_array().is_some_and(|peers| {
                peers
                    .iter()
                    .any(|p| p["peer"] == edge && p["status"] == "up")
            })
        };
        site.edges_v4()
            .iter()
            .all(|e| up(e))
            .then_some(())
            .ok_or(out.clone())
    });
    site.wait_edges_learned_announcement();
    site.wait_edges_received_v6();
    wait_for(
        CONVERGE,
        "the virtual network's prefix over both links",
        || {
            let out = frr.vtysh(&[&format!("show bgp ipv4 unicast {VNET} json")])?;
            let v: Value = serde_json::from_str(&out).map_err(|e| format!("{e}: {out}"))?;
            let paths = v["paths"].as_array().map_or(0, Vec::len);
            (paths == 2).then_some(()).ok_or(out)
        },
    );
}
