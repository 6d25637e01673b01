//! Resource ids: building them, reading the ones clients put in bodies (`peer.id`,
//! `subnet.id`), and the subscription ids ARM requires to be GUIDs.

use serde::{Deserialize, Serialize};

use super::ArmError;

/// The provider namespace of every resource here.
pub const NETWORK: &str = "Microsoft.Network";

/// A top-level resource in a resource group, as stored (the resource's own casing).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Ref {
    pub sub: String,
    pub rg: String,
    pub name: String,
}

impl Ref {
    pub fn new(sub: &str, rg: &str, name: &str) -> Ref {
        Ref {
            sub: sub.to_owned(),
            rg: rg.to_owned(),
            name: name.to_owned(),
        }
    }

    /// The ARM id of the resource of type `kind` this names.
    pub fn id(&self, kind: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/{NETWORK}/{kind}/{}",
            self.sub, self.rg, self.name
        )
    }

    /// The same resource whatever the casing.
    pub fn same(&self, o: &Ref) -> bool {
        self.sub.eq_ignore_ascii_case(&o.sub)
            && self.rg.eq_ignore_ascii_case(&o.rg)
            && self.name.eq_ignore_ascii_case(&o.name)
    }
}

/// Parses `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Network/{kind}/{name}`
/// followed by exactly `extra` further segments (returned too).
pub fn parse<'a>(id: &'a str, kind: &str, extra: usize) -> Option<(Ref, Vec<&'a str>)> {
    let segs: Vec<&str> = id.trim_end_matches('/').split('/').collect();
    let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let ok = segs.len() == 9 + extra
        && segs[0].is_empty()
        && eq(segs[1], "subscriptions")
        && eq(segs[3], "resourceGroups")
        && eq(segs[5], "providers")
        && eq(segs[6], NETWORK)
        && eq(segs[7], kind)
        && segs[2..].iter().all(|s| !s.is_empty());
    ok.then(|| (Ref::new(segs[2], segs[4], segs[8]), segs[9..].to_vec()))
}

/// Whether `s` is a GUID (8-4-4-4-12 hex digits), as ARM requires of subscription ids.
pub fn is_guid(s: &str) -> bool {
    let groups = [8, 4, 4, 4, 12];
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip(groups)
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Checks a subscription id from a path or a token.
pub fn check_subscription(sub: &str) -> Result<(), ArmError> {
    if is_guid(sub) {
        return Ok(());
    }
    let shown: String = sub.chars().take(40).collect();
    Err(ArmError::bad_request(
        "InvalidSubscriptionId",
        format!(
            "The provided subscription identifier '{shown}' is malformed or invalid: it must be a GUID."
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_exactly() {
        let (r, rest) = parse(
            "/subscriptions/s/resourceGroups/r/providers/microsoft.network/VIRTUALNETWORKS/v/subnets/GatewaySubnet",
            "virtualNetworks",
            2,
        )
        .expect("subnet id");
        assert_eq!(
            (r.sub.as_str(), r.rg.as_str(), r.name.as_str()),
            ("s", "r", "v")
        );
        assert_eq!(rest, ["subnets", "GatewaySubnet"]);
        let c = "expressRouteCircuits";
        assert!(parse("/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/expressRouteCircuits/c/x", c, 0).is_none());
        assert!(parse("subscriptions/s/resourceGroups/r/providers/Microsoft.Network/expressRouteCircuits/c", c, 0).is_none());
    }

    #[test]
    fn subscription_ids_are_guids() {
        assert!(is_guid("aaaaaaaa-0000-4000-8000-00000000000A"));
        for bad in [
            "not a guid/../x",
            "",
            "aaaaaaaa-0000-4000-8000-00000000000",
            &"a".repeat(5000),
        ] {
            assert!(check_subscription(bad).is_err(), "{bad}");
        }
    }
}
