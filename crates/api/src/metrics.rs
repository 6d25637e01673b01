//! Prometheus text exposition (format 0.0.4): the small writer behind the edge's and the
//! control plane's `GET /metrics`.
//!
//! Samples may be added in any order; [`Exposition::render`] groups them by family (each
//! family's `# HELP` and `# TYPE` once, then its samples), families in the order first used.

use std::fmt::{Display, Write as _};

/// The `Content-Type` of a rendered exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4";

/// A metric family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
}

/// A metric family: its name, type and help text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Family {
    pub name: &'static str,
    pub kind: Kind,
    pub help: &'static str,
}

impl Family {
    pub const fn gauge(name: &'static str, help: &'static str) -> Family {
        Family {
            name,
            kind: Kind::Gauge,
            help,
        }
    }

    pub const fn counter(name: &'static str, help: &'static str) -> Family {
        Family {
            name,
            kind: Kind::Counter,
            help,
        }
    }
}

// Families both the edge and the control plane expose (with their own labels).

pub const BGP_SESSION_ESTABLISHED: Family = Family::gauge(
    "causeway_bgp_session_established",
    "Whether the BGP session is Established (1) or not (0).",
);
pub const BGP_SESSION_STATE: Family = Family::gauge(
    "causeway_bgp_session_state",
    "The BGP session's RFC 4271 state: 1 for the current one.",
);
pub const BGP_SESSION_UPTIME: Family = Family::gauge(
    "causeway_bgp_session_uptime_seconds",
    "Seconds since the BGP session became Established (0 when it is not).",
);
pub const BGP_PREFIXES_RECEIVED: Family = Family::gauge(
    "causeway_bgp_prefixes_received",
    "Prefixes received from the peer, rejected ones included.",
);
pub const BGP_PREFIXES_ACCEPTED: Family = Family::gauge(
    "causeway_bgp_prefixes_accepted",
    "Prefixes accepted from the peer.",
);
pub const BGP_PREFIXES_ADVERTISED: Family = Family::gauge(
    "causeway_bgp_prefixes_advertised",
    "Prefixes advertised to the peer.",
);
pub const BFD_SESSION_UP: Family = Family::gauge(
    "causeway_bfd_session_up",
    "Whether the BFD session toward the peer is Up (1) or not (0).",
);
pub const BFD_SESSION_STATE: Family = Family::gauge(
    "causeway_bfd_session_state",
    "The BFD session's state (AdminDown, Down, Init, Up): 1 for the current one.",
);
pub const FIB_ROUTES: Family = Family::gauge(
    "causeway_fib_routes",
    "Routes the routing domain has installed in its namespace's kernel FIB.",
);
pub const FIB_ERRORS: Family = Family::counter(
    "causeway_fib_errors_total",
    "Kernel errors while programming the routing domain's FIB.",
);
pub const LINK_RECEIVE_BYTES: Family = Family::counter(
    "causeway_link_receive_bytes_total",
    "Bytes received on the link.",
);
pub const LINK_TRANSMIT_BYTES: Family = Family::counter(
    "causeway_link_transmit_bytes_total",
    "Bytes sent on the link.",
);

/// Samples collected per family.
#[derive(Debug, Default)]
pub struct Exposition {
    families: Vec<(Family, Vec<String>)>,
}

impl Exposition {
    pub fn new() -> Exposition {
        Exposition::default()
    }

    /// Adds one sample of `family` with `labels` (names are fixed identifiers; values are
    /// escaped here).
    pub fn sample(&mut self, family: &Family, labels: &[(&str, &str)], value: impl Display) {
        let mut line = String::from(family.name);
        if !labels.is_empty() {
            line.push('{');
            for (i, (name, v)) in labels.iter().enumerate() {
                if i > 0 {
                    line.push(',');
                }
                let _ = write!(line, "{name}=\"{}\"", escape_label(v));
            }
            line.push('}');
        }
        let _ = write!(line, " {value}");
        match self
            .families
            .iter_mut()
            .find(|(f, _)| f.name == family.name)
        {
            Some((_, samples)) => samples.push(line),
            None => self.families.push((*family, vec![line])),
        }
    }

    /// The exposition text: every family with at least one sample.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (f, samples) in &self.families {
            let kind = match f.kind {
                Kind::Gauge => "gauge",
                Kind::Counter => "counter",
            };
            let _ = writeln!(out, "# HELP {} {}", f.name, escape_help(f.help));
            let _ = writeln!(out, "# TYPE {} {kind}", f.name);
            for s in samples {
                out.push_str(s);
                out.push('\n');
            }
        }
        out
    }
}

/// Labels `a` followed by labels `b`.
pub fn join<'a>(a: &[(&'a str, &'a str)], b: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    [a, b].concat()
}

/// A label value as the format wants it: backslash, double quote and newline escaped.
pub fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Help text: backslash and newline escaped.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const UP: Family = Family::gauge("x_up", "Whether x is up.");
    const BYTES: Family = Family::counter("x_bytes_total", "Bytes, with a \\ and\na newline.");

    #[test]
    fn samples_are_grouped_by_family_with_help_and_type_once() {
        let mut e = Exposition::new();
        e.sample(&UP, &[("name", "a")], 1);
        e.sample(&BYTES, &[], 10u64);
        e.sample(&UP, &[("name", "b\"\\\nc"), ("n", "2")], 0);
        assert_eq!(
            e.render(),
            "# HELP x_up Whether x is up.\n\
             # TYPE x_up gauge\n\
             x_up{name=\"a\"} 1\n\
             x_up{name=\"b\\\"\\\\\\nc\",n=\"2\"} 0\n\
             # HELP x_bytes_total Bytes, with a \\\\ and\\na newline.\n\
             # TYPE x_bytes_total counter\n\
             x_bytes_total 10\n"
        );
        assert_eq!(Exposition::new().render(), "");
    }
}
