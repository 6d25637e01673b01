//! Request paths and route templates.
//!
//! ARM treats a path as a list of segments: empty segments are ignored (clients build
//! `.../Microsoft.Network//expressRouteCircuits/...` and Azure serves it), each segment is
//! percent-decoded exactly once (`er%31` is `er1`), and literal segments match whatever their
//! casing. Names keep the casing the user gave them.
//!
//! A route is a template such as
//! `/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/expressRouteCircuits/{circuitName}`;
//! the same template string is the OpenAPI path, so the document cannot drift from the router.

use super::{ArmError, Status};

/// The HTTP methods ARM uses, as the service sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    Get,
    Put,
    Patch,
    Delete,
    Post,
    Head,
}

impl Verb {
    pub fn parse(m: &str) -> Option<Verb> {
        Some(match m {
            "GET" => Verb::Get,
            "PUT" => Verb::Put,
            "PATCH" => Verb::Patch,
            "DELETE" => Verb::Delete,
            "POST" => Verb::Post,
            "HEAD" => Verb::Head,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Put => "PUT",
            Verb::Patch => "PATCH",
            Verb::Delete => "DELETE",
            Verb::Post => "POST",
            Verb::Head => "HEAD",
        }
    }

    /// The OpenAPI operation key.
    pub fn openapi(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::Put => "put",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
            Verb::Post => "post",
            Verb::Head => "head",
        }
    }

    /// Whether requests with this verb change state.
    pub fn writes(self) -> bool {
        !matches!(self, Verb::Get | Verb::Head)
    }
}

/// Splits a request path into decoded segments, dropping empty ones.
pub fn segments(path: &str) -> Result<Vec<String>, ArmError> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(decode)
        .collect()
}

/// Percent-decodes one segment. Invalid escapes or UTF-8 are a malformed request.
pub fn decode(s: &str) -> Result<String, ArmError> {
    if !s.contains('%') {
        return Ok(s.to_owned());
    }
    let bad = || {
        ArmError::new(
            Status::BadRequest,
            "InvalidRequestUri",
            "The request path has an invalid percent-encoding.",
        )
    };
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or_else(bad)?;
            let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

/// Percent-encodes a name for use in a URL we hand out (unreserved characters stay).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One segment of a route template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Literal(&'static str),
    Param(&'static str),
}

/// A parsed route template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub text: &'static str,
    segs: Vec<Seg>,
}

impl Template {
    pub fn new(text: &'static str) -> Template {
        let segs = text
            .split('/')
            .filter(|s| !s.is_empty())
            .map(
                |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(p) => Seg::Param(p),
                    None => Seg::Literal(s),
                },
            )
            .collect();
        Template { text, segs }
    }

    /// Matches decoded segments; parameters must be non-empty.
    pub fn matches(&self, segments: &[String]) -> Option<Params> {
        if segments.len() != self.segs.len() {
            return None;
        }
        let mut params = Params::default();
        for (seg, got) in self.segs.iter().zip(segments) {
            match seg {
                Seg::Literal(l) if l.eq_ignore_ascii_case(got) => {}
                Seg::Literal(_) => return None,
                Seg::Param(name) => params.0.push((name, got.clone())),
            }
        }
        Some(params)
    }

    /// The template's parameter names, in order.
    pub fn params(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.segs.iter().filter_map(|s| match s {
            Seg::Param(p) => Some(*p),
            Seg::Literal(_) => None,
        })
    }
}

/// The parameters a route captured, by template name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(&'static str, String)>);

impl Params {
    /// A captured parameter. Routes only ask for the names their template has.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| *n == name)
    }

    pub fn sub(&self) -> &str {
        self.get("subscriptionId")
    }

    pub fn rg(&self) -> &str {
        self.get("resourceGroupName")
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.0.iter().map(|(n, v)| (*n, v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_segments_are_ignored_and_names_are_decoded_once() {
        let s = segments("/subscriptions/s//resourceGroups/r/providers/Microsoft.Network//expressRouteCircuits/er%31%2525")
            .expect("segments");
        assert_eq!(
            s,
            [
                "subscriptions",
                "s",
                "resourceGroups",
                "r",
                "providers",
                "Microsoft.Network",
                "expressRouteCircuits",
                "er1%25"
            ]
        );
        assert!(segments("/subscriptions/%zz").is_err());
        assert!(segments("/subscriptions/%ff").is_err(), "not UTF-8");
    }

    #[test]
    fn templates_match_literals_whatever_their_casing_and_capture_names() {
        let t = Template::new(
            "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/expressRouteCircuits/{circuitName}",
        );
        let segs = segments(
            "/SUBSCRIPTIONS/s1/resourcegroups/MyRg/PROVIDERS/microsoft.network/EXPRESSROUTECIRCUITS/Er1",
        )
        .expect("segments");
        let p = t.matches(&segs).expect("match");
        assert_eq!(
            (p.sub(), p.rg(), p.get("circuitName")),
            ("s1", "MyRg", "Er1")
        );
        assert!(t.matches(&segs[..7]).is_none());
        assert_eq!(
            t.params().collect::<Vec<_>>(),
            ["subscriptionId", "resourceGroupName", "circuitName"]
        );
    }

    #[test]
    fn names_in_urls_we_hand_out_are_escaped() {
        assert_eq!(encode("west?europe#x/.."), "west%3Feurope%23x%2F..");
        assert_eq!(encode("er-1_a.b"), "er-1_a.b");
    }
}
