//! UPDATE layout (RFC 4271 §4.3) and the multiprotocol attributes MP_REACH_NLRI /
//! MP_UNREACH_NLRI (RFC 4760 §3, §4; RFC 2545 §3 for IPv6 next hops).
//!
//! Session resets here: a Withdrawn Routes Length or Total Path Attribute Length that
//! overruns the message is Malformed Attribute List (RFC 4271 §6.3, RFC 7606 §5.1's "the
//! NLRI cannot be located"); a malformed prefix in Withdrawn Routes or NLRI is Invalid Network
//! Field (RFC 7606 §5.3); anything malformed inside MP_REACH / MP_UNREACH is Optional Attribute
//! Error (RFC 4760 §7, RFC 7606 §7.11 "session reset" rather than AFI/SAFI disable).

use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::{BufMut, BytesMut};

use super::{Reader, backpatch_u16, put_prefix, put_v4_prefix, read_prefixes, read_v4_prefixes};
use crate::wire::{
    Context, DecodeError, Family, MpReach, MpUnreach, NextHop, Update, attr_flag, attr_type,
    error_code, update_subcode,
};

// ===== decode =====

/// The UPDATE body after the header.
pub(super) fn decode_update(body: &[u8], cx: &Context) -> Result<Update, DecodeError> {
    let mut r = Reader::new(body);
    let malformed = |what: &str| {
        DecodeError::new(
            error_code::UPDATE_MESSAGE,
            update_subcode::MALFORMED_ATTRIBUTE_LIST,
            Vec::new(),
            format!("{what} overruns the message"),
        )
    };
    let withdrawn = r
        .u16()
        .and_then(|n| r.take(usize::from(n)))
        .ok_or_else(|| malformed("Withdrawn Routes Length"))?;
    let attrs = r
        .u16()
        .and_then(|n| r.take(usize::from(n)))
        .ok_or_else(|| malformed("Total Path Attribute Length"))?;
    let nlri = r.rest();
    let invalid = |field: &str, e: String| {
        DecodeError::new(
            error_code::UPDATE_MESSAGE,
            update_subcode::INVALID_NETWORK_FIELD,
            Vec::new(),
            format!("{field}: {e}"),
        )
    };
    let mut update = Update {
        withdrawn: read_v4_prefixes(withdrawn).map_err(|e| invalid("Withdrawn Routes", e))?,
        nlri: read_v4_prefixes(nlri).map_err(|e| invalid("NLRI", e))?,
        ..Update::default()
    };
    super::attr::decode_attributes(attrs, cx, &mut update)?;
    Ok(update)
}

fn mp_error(whole: &[u8], reason: String) -> DecodeError {
    DecodeError::new(
        error_code::UPDATE_MESSAGE,
        update_subcode::OPTIONAL_ATTRIBUTE_ERROR,
        whole.to_vec(),
        reason,
    )
}

/// MP_REACH_NLRI (RFC 4760 §3): AFI (2), SAFI (1), Next Hop Length (1), Next Hop, Reserved
/// (1), NLRI. `Ok(Err(_))` is a family we did not negotiate: the attribute is ignored.
pub(super) fn decode_mp_reach(
    value: &[u8],
    whole: &[u8],
) -> Result<Result<MpReach, String>, DecodeError> {
    let mut r = Reader::new(value);
    let (Some(afi), Some(safi), Some(nh_len)) = (r.u16(), r.u8(), r.u8()) else {
        return Err(mp_error(whole, "MP_REACH_NLRI header truncated".into()));
    };
    let Some(family) = Family::from_afi_safi(afi, safi) else {
        return Ok(Err(format!(
            "MP_REACH_NLRI for AFI {afi} SAFI {safi} ignored"
        )));
    };
    let nh = r
        .take(usize::from(nh_len))
        .ok_or_else(|| mp_error(whole, "MP_REACH_NLRI next hop overruns".into()))?;
    let mut nr = Reader::new(nh);
    // RFC 2545 §3: 16 octets global, or 32 with the link-local after it. RFC 8950 lets IPv4
    // NLRI carry an IPv6 next hop the same way.
    let next_hop = match (family, nh_len) {
        (Family::Ipv4Unicast, 4) => nr.u32().map(|a| NextHop::V4(Ipv4Addr::from(a))),
        (_, 16) => nr.array::<16>().map(|g| NextHop::V6 {
            global: Ipv6Addr::from(g),
            link_local: None,
        }),
        (_, 32) => match (nr.array::<16>(), nr.array::<16>()) {
            (Some(g), Some(l)) => Some(NextHop::V6 {
                global: Ipv6Addr::from(g),
                link_local: Some(Ipv6Addr::from(l)),
            }),
            _ => None,
        },
        _ => None,
    }
    .ok_or_else(|| mp_error(whole, format!("MP_REACH_NLRI next hop length {nh_len}")))?;
    // The Reserved octet (formerly SNPAs) is ignored on receipt.
    r.u8()
        .ok_or_else(|| mp_error(whole, "MP_REACH_NLRI reserved octet missing".into()))?;
    let nlri = read_prefixes(r.rest(), family)
        .map_err(|e| mp_error(whole, format!("MP_REACH_NLRI NLRI: {e}")))?;
    Ok(Ok(MpReach {
        family,
        next_hop,
        nlri,
    }))
}

/// MP_UNREACH_NLRI (RFC 4760 §4): AFI (2), SAFI (1), Withdrawn Routes.
pub(super) fn decode_mp_unreach(
    value: &[u8],
    whole: &[u8],
) -> Result<Result<MpUnreach, String>, DecodeError> {
    let mut r = Reader::new(value);
    let (Some(afi), Some(safi)) = (r.u16(), r.u8()) else {
        return Err(mp_error(whole, "MP_UNREACH_NLRI header truncated".into()));
    };
    let Some(family) = Family::from_afi_safi(afi, safi) else {
        return Ok(Err(format!(
            "MP_UNREACH_NLRI for AFI {afi} SAFI {safi} ignored"
        )));
    };
    let withdrawn = read_prefixes(r.rest(), family)
        .map_err(|e| mp_error(whole, format!("MP_UNREACH_NLRI withdrawn: {e}")))?;
    Ok(Ok(MpUnreach { family, withdrawn }))
}

// ===== encode =====

/// The UPDATE body. MP_REACH_NLRI and MP_UNREACH_NLRI go first — RFC 7606 §5.1: they "SHALL
/// be encoded as the very first path attribute" so a receiver can still find the NLRI when a
/// later attribute is malformed — then the rest in type-code order.
pub(super) fn encode_update(update: &Update, cx: &Context, out: &mut BytesMut) {
    let at = out.len();
    out.put_u16(0);
    for p in &update.withdrawn {
        put_v4_prefix(out, p);
    }
    backpatch_u16(out, at);

    let at = out.len();
    out.put_u16(0);
    if let Some(mp) = &update.mp_reach {
        put_mp_reach(mp, out);
    }
    if let Some(mp) = &update.mp_unreach {
        put_mp_attr(out, attr_type::MP_UNREACH_NLRI, |o| {
            let (afi, safi) = mp.family.afi_safi();
            o.put_u16(afi);
            o.put_u8(safi);
            mp.withdrawn.iter().for_each(|p| put_prefix(o, p));
        });
    }
    if let Some(attrs) = &update.attributes {
        super::attr::encode_path_attributes(attrs, cx, out);
    }
    backpatch_u16(out, at);

    for p in &update.nlri {
        put_v4_prefix(out, p);
    }
}

fn put_mp_reach(mp: &MpReach, out: &mut BytesMut) {
    put_mp_attr(out, attr_type::MP_REACH_NLRI, |o| {
        let (afi, safi) = mp.family.afi_safi();
        o.put_u16(afi);
        o.put_u8(safi);
        match mp.next_hop {
            NextHop::V4(a) => {
                o.put_u8(4);
                o.put_slice(&a.octets());
            }
            NextHop::V6 { global, link_local } => {
                o.put_u8(if link_local.is_some() { 32 } else { 16 });
                o.put_slice(&global.octets());
                if let Some(ll) = link_local {
                    o.put_slice(&ll.octets());
                }
            }
        }
        o.put_u8(0);
        mp.nlri.iter().for_each(|p| put_prefix(o, p));
    });
}

/// MP_* attributes are optional non-transitive (RFC 4760 §3, §4).
fn put_mp_attr(out: &mut BytesMut, code: u8, write: impl FnOnce(&mut BytesMut)) {
    super::attr::put_attr(out, attr_flag::OPTIONAL, code, write);
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::super::testutil::*;
    use super::*;
    use crate::wire::{
        AsPath, AsSegment, Attributes, ErrorAction, Message, Origin, Prefix, header_subcode,
    };

    const CX4: Context = Context {
        four_octet_as: true,
    };
    const CX2: Context = Context {
        four_octet_as: false,
    };

    fn update(bytes: &[u8], cx: &Context) -> Update {
        match Message::decode(bytes, cx) {
            Ok(Message::Update(u)) => u,
            other => panic!("expected an UPDATE, got {other:?}"),
        }
    }

    fn reset(body: &str) -> DecodeError {
        Message::decode(&msg(2, body), &CX4).unwrap_err()
    }

    fn v6(s: &str) -> Prefix {
        Prefix::V6(s.parse().unwrap())
    }

    #[test]
    fn an_ipv4_update_with_withdrawals_and_nlri_goes_both_ways() {
        let m = Message::Update(Update {
            withdrawn: vec![
                "192.0.2.0/24".parse().unwrap(),
                "10.0.0.0/8".parse().unwrap(),
            ],
            attributes: Some(Attributes {
                origin: Some(Origin::Igp),
                as_path: AsPath {
                    segments: vec![AsSegment::Sequence(vec![65001, 65002])],
                },
                next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
                ..Attributes::default()
            }),
            nlri: vec![
                "198.51.100.0/24".parse().unwrap(),
                "203.0.113.128/25".parse().unwrap(),
                "0.0.0.0/0".parse().unwrap(),
            ],
            ..Update::default()
        });
        let bytes = msg(
            2,
            "0006 18 c00002 08 0a
             0018 40 01 01 00  40 02 0a 02 02 0000fde9 0000fdea  40 03 04 c0000201
             18 c63364  19 cb007180  00",
        );
        both_ways(&bytes, &m, &CX4);
    }

    #[test]
    fn an_ipv6_end_of_rib_is_an_empty_mp_unreach_both_ways() {
        let m = Message::Update(Update::end_of_rib(Family::Ipv6Unicast));
        let bytes = msg(2, "0000 0006 80 0f 03 0002 01");
        both_ways(&bytes, &m, &CX4);
        let Message::Update(u) = Message::decode(&bytes, &CX4).unwrap() else {
            panic!()
        };
        assert_eq!(u.is_end_of_rib(), Some(Family::Ipv6Unicast));
    }

    #[test]
    fn an_ipv4_end_of_rib_decodes_as_end_of_rib() {
        let u = update(&msg(2, "0000 0000"), &CX4);
        assert_eq!(u.is_end_of_rib(), Some(Family::Ipv4Unicast));
    }

    #[test]
    fn mp_unreach_withdrawals_go_both_ways() {
        let m = Message::Update(Update {
            mp_unreach: Some(MpUnreach {
                family: Family::Ipv6Unicast,
                withdrawn: vec![v6("2001:db8:1::/48"), v6("2001:db8::1/128")],
            }),
            ..Update::default()
        });
        let bytes = msg(
            2,
            "0000 001e 80 0f 1b 0002 01 30 20010db80001 80 20010db8000000000000000000000001",
        );
        both_ways(&bytes, &m, &CX4);
    }

    #[test]
    fn mp_reach_ipv6_with_only_a_global_next_hop_goes_both_ways() {
        let m = Message::Update(Update {
            attributes: Some(Attributes {
                origin: Some(Origin::Igp),
                ..Attributes::default()
            }),
            mp_reach: Some(MpReach {
                family: Family::Ipv6Unicast,
                next_hop: NextHop::V6 {
                    global: "2001:db8::1".parse().unwrap(),
                    link_local: None,
                },
                nlri: vec![v6("2001:db8:ff::/64")],
            }),
            ..Update::default()
        });
        let bytes = msg(
            2,
            "0000 0028 80 0e 1e 0002 01 10 20010db8000000000000000000000001 00 40 20010db800ff0000
             40 01 01 00  40 02 00",
        );
        both_ways(&bytes, &m, &CX4);
    }

    #[test]
    fn an_as4_path_on_a_two_octet_session_goes_both_ways() {
        let m = Message::Update(Update {
            attributes: Some(Attributes {
                origin: Some(Origin::Igp),
                as_path: AsPath {
                    segments: vec![AsSegment::Sequence(vec![65001, 4_200_000_000, 65002])],
                },
                next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
                ..Attributes::default()
            }),
            nlri: vec!["198.51.100.0/24".parse().unwrap()],
            ..Update::default()
        });
        let bytes = msg(
            2,
            "0000 0027 40 01 01 00  40 02 08 02 03 fde9 5ba0 fdea  40 03 04 c0000201
             c0 11 0e 02 03 0000fde9 fa56ea00 0000fdea
             18 c63364",
        );
        both_ways(&bytes, &m, &CX2);
    }

    #[test]
    fn a_withdrawn_routes_length_past_the_message_is_a_malformed_attribute_list() {
        let err = reset("0010 0000");
        assert_eq!(
            err.notification.subcode,
            update_subcode::MALFORMED_ATTRIBUTE_LIST
        );
    }

    #[test]
    fn a_total_path_attribute_length_past_the_message_is_a_malformed_attribute_list() {
        let err = reset("0000 0010 40 01 01 00");
        assert_eq!(
            err.notification.subcode,
            update_subcode::MALFORMED_ATTRIBUTE_LIST
        );
    }

    #[test]
    fn an_ipv4_prefix_longer_than_32_is_an_invalid_network_field() {
        let err = reset("0000 0000 21 0a000000 00");
        assert_eq!(
            err.notification.subcode,
            update_subcode::INVALID_NETWORK_FIELD
        );
    }

    #[test]
    fn an_nlri_prefix_overrunning_the_message_is_an_invalid_network_field() {
        let err = reset("0000 0000 18 0a00");
        assert_eq!(
            err.notification.subcode,
            update_subcode::INVALID_NETWORK_FIELD
        );
    }

    #[test]
    fn a_malformed_withdrawn_prefix_is_an_invalid_network_field() {
        let err = reset("0002 18 0a 0000");
        assert_eq!(
            err.notification.subcode,
            update_subcode::INVALID_NETWORK_FIELD
        );
    }

    #[test]
    fn an_ipv6_prefix_longer_than_128_in_mp_reach_is_a_session_reset() {
        let err = reset("0000 0019 80 0e 16 0002 01 10 20010db8000000000000000000000001 00 81");
        assert_eq!(
            err.notification.subcode,
            update_subcode::OPTIONAL_ATTRIBUTE_ERROR
        );
    }

    #[test]
    fn a_malformed_prefix_in_mp_unreach_is_a_session_reset() {
        let err = reset("0000 0007 80 0f 04 0002 01 40");
        assert_eq!(
            err.notification.subcode,
            update_subcode::OPTIONAL_ATTRIBUTE_ERROR
        );
    }

    #[test]
    fn an_ipv6_next_hop_of_length_24_is_a_session_reset() {
        let nh = "00".repeat(24);
        let err = reset(&format!("0000 0020 80 0e 1d 0002 01 18 {nh} 00"));
        assert_eq!(
            err.notification.subcode,
            update_subcode::OPTIONAL_ATTRIBUTE_ERROR
        );
    }

    #[test]
    fn a_truncated_mp_reach_is_a_session_reset() {
        let err = reset("0000 0005 80 0e 02 0002");
        assert_eq!(
            err.notification.subcode,
            update_subcode::OPTIONAL_ATTRIBUTE_ERROR
        );
    }

    #[test]
    fn mp_reach_for_an_unknown_family_is_ignored_with_a_note() {
        let u = update(
            &msg(
                2,
                "0000 0019 80 0e 12 0001 80 04 c0000201 00 58 0000000100000002 40 01 01 00",
            ),
            &CX4,
        );
        assert_eq!(u.mp_reach, None);
        assert_eq!(u.error_action, ErrorAction::None);
        assert_eq!(u.errors.len(), 1);
    }

    #[test]
    fn host_bits_in_mp_reach_prefixes_are_masked() {
        let u = update(
            &msg(
                2,
                "0000 001a 80 0e 17 0002 01 10 20010db8000000000000000000000001 00 01 ff",
            ),
            &CX4,
        );
        assert_eq!(u.mp_reach.unwrap().nlri, vec![v6("8000::/1")]);
    }

    #[test]
    fn ipv4_nlri_in_mp_reach_with_an_ipv4_next_hop_is_read() {
        let u = update(
            &msg(2, "0000 0010 80 0e 0d 0001 01 04 c0000201 00 18 c63364"),
            &CX4,
        );
        let mp = u.mp_reach.unwrap();
        assert_eq!(mp.next_hop, NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)));
        assert_eq!(
            mp.nlri,
            vec![Prefix::V4("198.51.100.0/24".parse().unwrap())]
        );
    }

    #[test]
    fn every_truncation_of_a_valid_update_decodes_or_errors_without_panicking() {
        let full = msg(
            2,
            "0000 003d
             80 0e 2d 0002 01 20 20010db8000000000000000000000001 fe800000000000000000000000000001
                00 30 20010db80001 00
             40 01 01 00
             40 02 06 02 01 0000fde9",
        );
        assert!(Message::decode(&full, &CX4).is_ok());
        for cut in 19..full.len() {
            let mut m = full[..cut].to_vec();
            m[16..18].copy_from_slice(&(cut as u16).to_be_bytes());
            for cx in [CX4, CX2] {
                if let Err(e) = Message::decode(&m, &cx) {
                    assert_ne!(e.notification.code, 0);
                }
            }
        }
        let _ = header_subcode::BAD_MESSAGE_LENGTH;
    }
}
