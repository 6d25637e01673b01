//! Routing data: the real IPv4 table and the attributes derived from it.
//!
//! Prefixes and origin ASes come from rotonda-store 0.5.0's `data/uniq_pfx_asn_dfz_rnd.csv`
//! (a RIPE RIS whois view of May 2021 at the latest: 893,943 rows `net,len,asn`, shuffled),
//! fetched with `cargo fetch` on a throwaway manifest and extracted from the downloaded
//! `.crate`, then cached under `target/bench-data/`.
//!
//! A few rows are dropped (see [`usable`]): prefixes shorter than /8, martians (0/8, 127/8,
//! 224/3), origins that are private, reserved or documentation ASNs (they could collide with
//! the harness's own ASes and trip loop detection), and repeats of a prefix (the first origin
//! wins). That leaves 884,6xx distinct prefixes for the full table.
//!
//! Everything else is derived deterministically (a fixed hash, no RNG state) so every target
//! in a run, and every run, sees byte-identical input:
//! - AS_PATH: `sender, transit…, origin`, 2–7 ASes (1 % longer), the length drawn per
//!   (sender, origin); the first transit from the big transit networks, the next ones from the
//!   2,000 busiest origins of the table itself. Every prefix of an origin shares the path, as
//!   in a real table.
//! - ORIGIN: IGP, INCOMPLETE for 8 % of origins.
//! - MED on 35 % of prefixes (0/10/20/50/100/200); a location community `sender:10xx` (one of
//!   12) on 70 %, plus `sender:2000` on every route. Splitting each origin's prefixes by
//!   location and MED is what makes the full table carry a few hundred thousand distinct
//!   attribute sets (printed with each run), the way real tables do.
//!
//! IPv6 (optional, `--ipv6`): a synthetic table per reference/bgp.md §4.3 — the parameterisation
//! /48 46 %, /32 12 %, /44 11 %, /40 8 %, /45–/47 7 %, /36 4 %, /33–/35 3 %, /29 2 %, /28–/43
//! otherwise 7 %, under 2a00::/12 with origins borrowed from the IPv4 table.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use bgp::wire::{AsPath, AsSegment, Attributes, Origin, Prefix};
use ipnet::{Ipv4Net, Ipv6Net};

/// The file inside the crate.
const CSV_IN_CRATE: &str = "rotonda-store-0.5.0/data/uniq_pfx_asn_dfz_rnd.csv";
const CSV_NAME: &str = "uniq_pfx_asn_dfz_rnd.csv";

/// One real route: a prefix and the AS that originates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origination {
    pub prefix: Prefix,
    pub origin_as: u32,
}

/// The table, in the file's (shuffled) order.
#[derive(Debug, Clone)]
pub struct Table {
    pub routes: Vec<Origination>,
    /// Rows in the CSV before filtering.
    pub rows: usize,
}

// ===== fetching =====

/// The cached CSV under `cache_dir`, fetched through cargo when missing.
pub fn csv_path(cache_dir: &Path) -> anyhow::Result<PathBuf> {
    let dest = cache_dir.join(CSV_NAME);
    if dest.is_file() {
        return Ok(dest);
    }
    std::fs::create_dir_all(cache_dir)
        .with_context(|| format!("cannot create {}", cache_dir.display()))?;
    let krate = fetch_crate()?;
    let file =
        std::fs::File::open(&krate).with_context(|| format!("cannot open {}", krate.display()))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    for entry in archive.entries().context("reading the .crate archive")? {
        let mut entry = entry.context("reading the .crate archive")?;
        if entry.path().ok().as_deref() == Some(Path::new(CSV_IN_CRATE)) {
            let mut text = Vec::new();
            entry.read_to_end(&mut text).context("extracting the CSV")?;
            // Per process: several harness runs may fill an empty cache at once; each
            // renames its own complete copy into place.
            let tmp = dest.with_extension(format!("csv.part.{}", std::process::id()));
            std::fs::write(&tmp, &text).with_context(|| format!("writing {}", tmp.display()))?;
            std::fs::rename(&tmp, &dest)?;
            return Ok(dest);
        }
    }
    bail!("{CSV_IN_CRATE} not found in {}", krate.display())
}

/// Runs `cargo fetch` on a throwaway manifest that depends on `rotonda-store = "=0.5.0"` and
/// returns the downloaded `.crate`.
fn fetch_crate() -> anyhow::Result<PathBuf> {
    let home = cargo_home()?;
    if let Some(p) = find_cached_crate(&home) {
        return Ok(p);
    }
    let dir = std::env::temp_dir().join(format!("causeway-bench-fetch-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"causeway-bench-data\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
         publish = false\n\n[dependencies]\nrotonda-store = \"=0.5.0\"\n\n[workspace]\n",
    )?;
    std::fs::write(dir.join("src/lib.rs"), "")?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let status = Command::new(&cargo)
        .arg("fetch")
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .status()
        .with_context(|| format!("cannot run {cargo}"))?;
    let _ = std::fs::remove_dir_all(&dir);
    if !status.success() {
        bail!("cargo fetch of rotonda-store 0.5.0 failed ({status})");
    }
    find_cached_crate(&home)
        .context("cargo fetch succeeded but rotonda-store-0.5.0.crate is not in the registry cache")
}

fn cargo_home() -> anyhow::Result<PathBuf> {
    if let Some(h) = std::env::var_os("CARGO_HOME") {
        return Ok(PathBuf::from(h));
    }
    let home = std::env::var_os("HOME").context("neither CARGO_HOME nor HOME is set")?;
    Ok(PathBuf::from(home).join(".cargo"))
}

fn find_cached_crate(home: &Path) -> Option<PathBuf> {
    let cache = home.join("registry/cache");
    std::fs::read_dir(cache).ok()?.flatten().find_map(|d| {
        let p = d.path().join("rotonda-store-0.5.0.crate");
        p.is_file().then_some(p)
    })
}

// ===== parsing =====

/// Reads the CSV (`net,len,asn`, a UTF-8 BOM before the header) and keeps the usable rows.
pub fn load(csv: &Path) -> anyhow::Result<Table> {
    let text =
        std::fs::read_to_string(csv).with_context(|| format!("cannot read {}", csv.display()))?;
    let text = text.trim_start_matches('\u{feff}');
    let mut lines = text.lines();
    match lines.next() {
        Some(h) if h.trim() == "net,len,asn" => {}
        other => bail!("{}: unexpected header {other:?}", csv.display()),
    }
    let mut seen = HashSet::new();
    let mut routes = Vec::new();
    let mut rows = 0;
    for (n, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        rows += 1;
        let mut cols = line.trim().split(',');
        let (Some(net), Some(len), Some(asn)) = (cols.next(), cols.next(), cols.next()) else {
            bail!(
                "{}:{}: expected net,len,asn: {line:?}",
                csv.display(),
                n + 2
            );
        };
        let parse = || -> Option<(Ipv4Net, u32)> {
            let addr: Ipv4Addr = net.parse().ok()?;
            let len: u8 = len.parse().ok()?;
            Some((Ipv4Net::new(addr, len).ok()?.trunc(), asn.parse().ok()?))
        };
        let (net, origin_as) =
            parse().with_context(|| format!("{}:{}: bad row {line:?}", csv.display(), n + 2))?;
        if usable(net, origin_as) && seen.insert(net) {
            routes.push(Origination {
                prefix: Prefix::V4(net),
                origin_as,
            });
        }
    }
    Ok(Table { routes, rows })
}

/// Whether a CSV row goes into the benchmark table.
pub fn usable(net: Ipv4Net, origin_as: u32) -> bool {
    let first = net.network().octets()[0];
    net.prefix_len() >= 8 && first != 0 && first != 127 && first < 224 && public_asn(origin_as)
}

/// Not 0, AS_TRANS, documentation, private or reserved (RFC 5398, 6996, 7300).
pub fn public_asn(asn: u32) -> bool {
    !matches!(asn, 0 | 23456 | 64496..=131071 | 4_200_000_000..)
}

/// A synthetic IPv6 table of `n` prefixes (module docs), origins taken from `v4`.
pub fn synthetic_ipv6(n: usize, v4: &[Origination]) -> Vec<Origination> {
    // (length, weight in tenths of a percent); the 7 % "other" spread over /28–/43.
    let mut weights: Vec<(u8, u32)> = vec![
        (48, 460),
        (32, 120),
        (44, 110),
        (40, 80),
        (45, 24),
        (46, 23),
        (47, 23),
        (36, 40),
        (33, 10),
        (34, 10),
        (35, 10),
        (29, 20),
    ];
    let others = [28u8, 30, 31, 37, 38, 39, 41, 42, 43];
    for l in others {
        weights.push((l, 70 / others.len() as u32));
    }
    let total: u32 = weights.iter().map(|w| w.1).sum();
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(n);
    let mut i = 0u64;
    while out.len() < n {
        i += 1;
        let h = mix(0x6_6666 ^ i);
        let mut pick = (h % u64::from(total)) as u32;
        let len = weights
            .iter()
            .find(|(_, w)| {
                if pick < *w {
                    true
                } else {
                    pick -= w;
                    false
                }
            })
            .map(|w| w.0)
            .unwrap_or(48);
        // 2a00::/12, random bits below.
        let bits = (u128::from(mix(h)) << 64 | u128::from(mix(h ^ 1))) >> 12;
        let addr = (0x2a0u128 << 116) | bits;
        let net = Ipv6Net::new(Ipv6Addr::from(addr), len)
            .expect("invariant: length <= 48")
            .trunc();
        if seen.insert(net) {
            let origin_as = v4
                .get((mix(h ^ 2) as usize) % v4.len().max(1))
                .map(|o| o.origin_as)
                .unwrap_or(3356);
            out.push(Origination {
                prefix: Prefix::V6(net),
                origin_as,
            });
        }
    }
    out
}

// ===== deriving attributes =====

/// splitmix64: a fixed, fast hash so derived attributes are the same in every run.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn prefix_hash(p: &Prefix) -> u64 {
    match p {
        Prefix::V4(n) => mix(u64::from(u32::from(n.network())) << 8 | u64::from(n.prefix_len())),
        Prefix::V6(n) => {
            let a = u128::from(n.network());
            mix((a >> 64) as u64 ^ mix(a as u64) ^ u64::from(n.prefix_len()))
        }
    }
}

/// Big transit networks: the first hop after the sender.
const TIER1: [u32; 16] = [
    3356, 1299, 174, 2914, 3257, 6762, 6939, 6453, 3491, 1273, 5511, 6461, 7018, 701, 6830, 9002,
];

/// How AS paths are drawn for one run.
#[derive(Debug, Clone)]
pub struct PathModel {
    /// Regional transit candidates: the busiest origins of the table.
    regional: Vec<u32>,
}

impl PathModel {
    /// `forbidden`: the harness's own ASes (target, senders, monitor), never used as transit.
    pub fn new(table: &[Origination], forbidden: &[u32]) -> PathModel {
        let mut counts: HashMap<u32, usize> = HashMap::new();
        for o in table {
            *counts.entry(o.origin_as).or_default() += 1;
        }
        let mut by_count: Vec<(u32, usize)> = counts.into_iter().collect();
        by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let regional = by_count
            .into_iter()
            .map(|(asn, _)| asn)
            .filter(|a| !forbidden.contains(a) && !TIER1.contains(a))
            .take(2000)
            .collect();
        PathModel { regional }
    }

    /// Path length (sender and origin included) for `origin` as seen from sender `salt`.
    fn base_len(origin: u32, salt: u64) -> usize {
        let r = mix(u64::from(origin) ^ salt.wrapping_mul(0x1000_0001)) % 1000;
        match r {
            0..120 => 2,
            120..420 => 3,
            420..700 => 4,
            700..870 => 5,
            870..950 => 6,
            950..990 => 7,
            990..995 => 8,
            995..998 => 9,
            _ => 10,
        }
    }

    /// The AS path sender `sender_as` (index `salt` among the senders) announces for `origin`,
    /// `len` ASes long.
    fn path(&self, sender_as: u32, salt: u64, origin: u32, len: usize) -> Vec<u32> {
        let mut path = vec![sender_as];
        let transits = len.saturating_sub(2);
        let mut j = 0u64;
        while path.len() < 1 + transits {
            j += 1;
            let h = mix(u64::from(origin) ^ salt << 40 ^ j << 20);
            let cand = if path.len() == 1 {
                TIER1[(h % TIER1.len() as u64) as usize]
            } else {
                self.regional[(h % self.regional.len().max(1) as u64) as usize]
            };
            if cand != origin && !path.contains(&cand) {
                path.push(cand);
            }
        }
        if origin != sender_as {
            path.push(origin);
        }
        path
    }
}

/// The attributes of one route, in a compact form that groups identical sets cheaply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttrKey {
    pub origin_as: u32,
    /// AS path length from the sender (sender and origin included).
    pub len: u8,
    /// Extra prepends of the sender's AS (scenario 4's re-announcement, scenario 3's
    /// secondary session).
    pub prepend: u8,
    /// 0 = none, else location community 1..=12.
    pub location: u8,
    /// 0 = no MED, else index + 1 into [`MEDS`].
    pub med: u8,
    pub incomplete: bool,
}

const MEDS: [u32; 6] = [0, 10, 20, 50, 100, 200];

/// One sender's view of the table: for each route the attributes it announces.
#[derive(Debug, Clone, Copy)]
pub struct SenderProfile {
    pub asn: u32,
    /// Index among the run's senders (0-based).
    pub index: usize,
    /// How many senders announce the same prefixes (scenario 2). For each origin one of them
    /// — `mix(origin) % peers` — has the strictly shortest path, so every implementation's
    /// decision process picks the same best path.
    pub peers: usize,
}

impl SenderProfile {
    /// The attributes sender `self` gives `route`.
    pub fn key(&self, route: &Origination) -> AttrKey {
        let h = prefix_hash(&route.prefix) ^ (self.index as u64).wrapping_mul(0x51_7cc1);
        let salt = if self.peers > 1 {
            self.index as u64 + 1
        } else {
            0
        };
        let mut len = PathModel::base_len(route.origin_as, 0);
        if self.peers > 1 {
            let winner = (mix(u64::from(route.origin_as) ^ 0xabc) % self.peers as u64) as usize;
            if winner != self.index {
                len += 1 + (mix(u64::from(route.origin_as) ^ salt) % 2) as usize;
            }
        }
        AttrKey {
            origin_as: route.origin_as,
            len: len as u8,
            prepend: 0,
            location: if mix(h) % 100 < 70 {
                1 + (mix(h ^ 7) % 12) as u8
            } else {
                0
            },
            med: if mix(h ^ 3) % 100 < 35 {
                1 + (mix(h ^ 5) % MEDS.len() as u64) as u8
            } else {
                0
            },
            incomplete: mix(u64::from(route.origin_as) ^ 0x77) % 100 < 8,
        }
    }

    /// The AS_PATH length the monitor sees for `key` behind a target that prepends its AS once.
    pub fn seen_len(key: &AttrKey) -> u8 {
        key.len + key.prepend + 1
    }

    /// The wire attributes for `key` (NEXT_HOP is set by the encoder per session).
    pub fn attributes(&self, model: &PathModel, key: &AttrKey) -> Attributes {
        let salt = if self.peers > 1 {
            self.index as u64 + 1
        } else {
            0
        };
        let mut path = model.path(self.asn, salt, key.origin_as, usize::from(key.len));
        for _ in 0..key.prepend {
            path.insert(0, self.asn);
        }
        let tag = (self.asn & 0xffff) << 16;
        let mut communities = vec![tag | 2000];
        if key.location > 0 {
            communities.insert(0, tag | (1000 + u32::from(key.location)));
        }
        Attributes {
            origin: Some(if key.incomplete {
                Origin::Incomplete
            } else {
                Origin::Igp
            }),
            as_path: AsPath {
                segments: vec![AsSegment::Sequence(path)],
            },
            med: (key.med > 0).then(|| MEDS[usize::from(key.med - 1)]),
            communities,
            ..Attributes::default()
        }
    }
}

/// Groups `routes` by the attributes `profile` gives them (with `adjust` applied to each key),
/// sorted by key so the output is deterministic.
pub fn group(
    routes: &[Origination],
    mut key_of: impl FnMut(&Origination) -> AttrKey,
) -> Vec<(AttrKey, Vec<Prefix>)> {
    let mut groups: HashMap<AttrKey, Vec<Prefix>> = HashMap::new();
    for r in routes {
        groups.entry(key_of(r)).or_default().push(r.prefix);
    }
    let mut v: Vec<_> = groups.into_iter().collect();
    v.sort_by_key(|(k, _)| *k);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(n: u32) -> Vec<Origination> {
        (0..n)
            .map(|i| Origination {
                prefix: Prefix::V4(
                    Ipv4Net::new(Ipv4Addr::from(0x0b00_0000 + (i << 8)), 24).unwrap(),
                ),
                origin_as: 1000 + i % 97,
            })
            .collect()
    }

    #[test]
    fn paths_start_with_the_sender_end_with_the_origin_and_never_loop() {
        let t = table(5000);
        let model = PathModel::new(&t, &[12076, 65001]);
        let s = SenderProfile {
            asn: 65001,
            index: 0,
            peers: 1,
        };
        for r in &t {
            let k = s.key(r);
            let a = s.attributes(&model, &k);
            let AsSegment::Sequence(p) = &a.as_path.segments[0] else {
                panic!("a sequence")
            };
            assert_eq!(p.first(), Some(&65001));
            assert_eq!(p.last(), Some(&r.origin_as));
            assert_eq!(p.len(), usize::from(k.len));
            let uniq: HashSet<_> = p.iter().collect();
            assert_eq!(uniq.len(), p.len(), "{p:?}");
            assert!(!p.contains(&12076));
        }
    }

    #[test]
    fn with_several_senders_exactly_one_has_the_shortest_path_per_prefix() {
        let t = table(2000);
        let senders: Vec<_> = (0..10)
            .map(|i| SenderProfile {
                asn: 65001 + i as u32,
                index: i,
                peers: 10,
            })
            .collect();
        for r in &t {
            let lens: Vec<u8> = senders.iter().map(|s| s.key(r).len).collect();
            let min = *lens.iter().min().unwrap();
            assert_eq!(lens.iter().filter(|l| **l == min).count(), 1, "{lens:?}");
        }
    }

    #[test]
    fn synthetic_ipv6_lengths_average_about_43_and_stop_at_48() {
        let v6 = synthetic_ipv6(20_000, &table(10));
        let lens: Vec<u8> = v6
            .iter()
            .map(|o| match o.prefix {
                Prefix::V6(n) => n.prefix_len(),
                Prefix::V4(_) => panic!("v6 only"),
            })
            .collect();
        let mean = lens.iter().map(|l| f64::from(*l)).sum::<f64>() / lens.len() as f64;
        assert!((42.0..44.5).contains(&mean), "mean {mean}");
        assert!(lens.iter().all(|l| (28..=48).contains(l)));
    }
}
