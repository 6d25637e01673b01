//! OPEN (RFC 4271 §4.2) with Capabilities (RFC 5492) and the RFC 9072 extended Optional
//! Parameters Length.
//!
//! Malformed capabilities: RFC 5492 names no subcode for a capability whose length does not
//! fit its code, so we follow RFC 4271 §6.2, "If one of the Optional Parameters in the OPEN
//! message is recognized, but is malformed, then the Error Subcode MUST be set to 0
//! (Unspecific)" — OPEN Message Error / 0 for a capability or parameter that overruns its
//! container and for a known capability of the wrong length. An Optional Parameters Length
//! inconsistent with the message length is Bad Message Length, as BIRD and FRR send.

use std::net::Ipv4Addr;

use bytes::{BufMut, Bytes, BytesMut};

use super::Reader;
use crate::wire::{
    Capability, DecodeError, Family, Open, error_code, header_subcode, open_subcode,
};

/// Optional Parameter type carrying capabilities (RFC 5492 §4).
const PARAM_CAPABILITIES: u8 = 2;
/// RFC 9072 §2: Non-Ext OP Type 255 after a Non-Ext OP Len of 255 marks the extended format.
const PARAM_EXTENDED: u8 = 255;

mod cap_code {
    pub const MULTIPROTOCOL: u8 = 1;
    pub const ROUTE_REFRESH: u8 = 2;
    pub const GRACEFUL_RESTART: u8 = 64;
    pub const FOUR_OCTET_AS: u8 = 65;
}

/// Graceful restart header bits (RFC 4724 §3): Restart State in the top bit of the 16-bit
/// flags/time field, Forwarding State in the top bit of each family's flags.
const GR_RESTARTING: u16 = 0x8000;
const GR_TIME_MASK: u16 = 0x0fff;
const GR_FORWARDING: u8 = 0x80;

// ===== decode =====

/// The OPEN body after the header; `msg_len` is the whole message length for Bad Message Length
/// data.
pub(super) fn decode_open(body: &[u8], msg_len: usize) -> Result<Open, DecodeError> {
    let mut r = Reader::new(body);
    let (Some(version), Some(my_as), Some(hold_time), Some(id), Some(opt_len)) =
        (r.u8(), r.u16(), r.u16(), r.u32(), r.u8())
    else {
        return Err(bad_length(msg_len, "OPEN fixed fields truncated"));
    };
    // RFC 4271 §6.2: "the Data field is a 2-octet unsigned integer, which indicates the largest,
    // locally-supported version number less than the version the remote BGP peer bid".
    if version != 4 {
        return Err(DecodeError::new(
            error_code::OPEN_MESSAGE,
            open_subcode::UNSUPPORTED_VERSION_NUMBER,
            4u16.to_be_bytes().to_vec(),
            format!("version {version}"),
        ));
    }
    // RFC 4271 §6.2: "An implementation MUST reject Hold Time values of one or two seconds."
    if matches!(hold_time, 1 | 2) {
        return Err(DecodeError::new(
            error_code::OPEN_MESSAGE,
            open_subcode::UNACCEPTABLE_HOLD_TIME,
            Vec::new(),
            format!("hold time {hold_time}"),
        ));
    }
    if id == 0 {
        return Err(DecodeError::new(
            error_code::OPEN_MESSAGE,
            open_subcode::BAD_BGP_IDENTIFIER,
            Vec::new(),
            "BGP identifier 0.0.0.0",
        ));
    }
    let capabilities = decode_parameters(opt_len, r.rest(), msg_len)?;
    Ok(Open {
        version,
        my_as,
        hold_time,
        bgp_identifier: Ipv4Addr::from(id),
        capabilities,
    })
}

fn bad_length(msg_len: usize, reason: &str) -> DecodeError {
    DecodeError::new(
        error_code::MESSAGE_HEADER,
        header_subcode::BAD_MESSAGE_LENGTH,
        u16::try_from(msg_len)
            .unwrap_or(u16::MAX)
            .to_be_bytes()
            .to_vec(),
        reason,
    )
}

fn malformed(reason: impl Into<String>) -> DecodeError {
    DecodeError::new(error_code::OPEN_MESSAGE, 0, Vec::new(), reason)
}

/// The Optional Parameters, plain (1-octet lengths) or RFC 9072 extended (2-octet lengths).
fn decode_parameters(
    opt_len: u8,
    rest: &[u8],
    msg_len: usize,
) -> Result<Vec<Capability>, DecodeError> {
    let mut r = Reader::new(rest);
    // RFC 9072 §2: "Non-Ext OP Len" 255 followed by "Non-Ext OP Type" 255, then a 2-octet
    // "Extended Opt. Parm. Length".
    let extended = opt_len == 255 && r.peek() == Some(PARAM_EXTENDED);
    let params = if extended {
        let _ = r.u8();
        let len = r
            .u16()
            .ok_or_else(|| bad_length(msg_len, "extended optional parameters length truncated"))?;
        r.rest().get(..).filter(|p| p.len() == usize::from(len))
    } else {
        r.rest().get(..).filter(|p| p.len() == usize::from(opt_len))
    };
    let params = params.ok_or_else(|| {
        bad_length(
            msg_len,
            "optional parameters length disagrees with the message length",
        )
    })?;

    let mut r = Reader::new(params);
    let mut caps = Vec::new();
    while !r.is_empty() {
        let kind = r.u8().ok_or_else(|| malformed("parameter type missing"))?;
        let len = if extended {
            r.u16()
        } else {
            r.u8().map(u16::from)
        }
        .ok_or_else(|| malformed("parameter length truncated"))?;
        let value = r
            .take(usize::from(len))
            .ok_or_else(|| malformed(format!("parameter {kind} overruns the parameters")))?;
        if kind != PARAM_CAPABILITIES {
            return Err(DecodeError::new(
                error_code::OPEN_MESSAGE,
                open_subcode::UNSUPPORTED_OPTIONAL_PARAMETER,
                Vec::new(),
                format!("optional parameter type {kind}"),
            ));
        }
        // RFC 5492 §4: one parameter may carry several capabilities.
        decode_capabilities(value, &mut caps)?;
    }
    Ok(caps)
}

/// Capabilities (RFC 5492 §4): Code (1), Length (1), Value.
fn decode_capabilities(buf: &[u8], caps: &mut Vec<Capability>) -> Result<(), DecodeError> {
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let (Some(code), Some(len)) = (r.u8(), r.u8()) else {
            return Err(malformed("capability header truncated"));
        };
        let value = r
            .take(usize::from(len))
            .ok_or_else(|| malformed(format!("capability {code} overruns its parameter")))?;
        caps.push(decode_capability(code, value)?);
    }
    Ok(())
}

fn decode_capability(code: u8, value: &[u8]) -> Result<Capability, DecodeError> {
    let wrong_len = || malformed(format!("capability {code} with length {}", value.len()));
    let mut r = Reader::new(value);
    Ok(match code {
        // RFC 4760 §8: AFI (2), Reserved (1), SAFI (1).
        cap_code::MULTIPROTOCOL => {
            let (Some(afi), Some(_), Some(safi), true) = (r.u16(), r.u8(), r.u8(), r.is_empty())
            else {
                return Err(wrong_len());
            };
            match Family::from_afi_safi(afi, safi) {
                Some(f) => Capability::Multiprotocol(f),
                None => unknown(code, value),
            }
        }
        // RFC 2918 §2: "Capability Length: 0".
        cap_code::ROUTE_REFRESH if value.is_empty() => Capability::RouteRefresh,
        cap_code::ROUTE_REFRESH => return Err(wrong_len()),
        // RFC 4724 §3: Restart Flags (4 bits), Restart Time (12 bits), then per family AFI (2),
        // SAFI (1), Flags (1).
        cap_code::GRACEFUL_RESTART => {
            let head = r.u16().ok_or_else(wrong_len)?;
            if !r.remaining().is_multiple_of(4) {
                return Err(wrong_len());
            }
            let mut families = Vec::with_capacity(r.remaining() / 4);
            while let (Some(afi), Some(safi), Some(flags)) = (r.u16(), r.u8(), r.u8()) {
                // Families we do not speak cannot be restarted for; they are dropped.
                if let Some(f) = Family::from_afi_safi(afi, safi) {
                    families.push((f, flags & GR_FORWARDING != 0));
                }
            }
            Capability::GracefulRestart {
                restarting: head & GR_RESTARTING != 0,
                restart_time: head & GR_TIME_MASK,
                families,
            }
        }
        // RFC 6793 §3: the four-octet AS number.
        cap_code::FOUR_OCTET_AS => match (r.u32(), r.is_empty()) {
            (Some(asn), true) => Capability::FourOctetAs(asn),
            _ => return Err(wrong_len()),
        },
        _ => unknown(code, value),
    })
}

fn unknown(code: u8, value: &[u8]) -> Capability {
    Capability::Unknown {
        code,
        value: Bytes::copy_from_slice(value),
    }
}

// ===== encode =====

/// The OPEN body. All capabilities go into one Capabilities parameter (BIRD does the same);
/// when that parameter would exceed 255 octets the RFC 9072 extended format is used.
pub(super) fn encode_open(open: &Open, out: &mut BytesMut) {
    out.put_u8(open.version);
    out.put_u16(open.my_as);
    out.put_u16(open.hold_time);
    out.put_u32(u32::from(open.bgp_identifier));
    if open.capabilities.is_empty() {
        out.put_u8(0);
        return;
    }
    let caps_len: usize = open
        .capabilities
        .iter()
        .map(|c| 2 + capability_len(c))
        .sum();
    if caps_len + 2 <= 255 {
        out.put_u8((caps_len + 2) as u8);
        out.put_u8(PARAM_CAPABILITIES);
        out.put_u8(caps_len as u8);
    } else {
        // RFC 9072 §2: Non-Ext OP Len 255, Non-Ext OP Type 255, Extended Opt. Parm. Length,
        // then parameters with 2-octet lengths.
        out.put_u8(255);
        out.put_u8(PARAM_EXTENDED);
        out.put_u16(u16::try_from(caps_len + 3).unwrap_or(u16::MAX));
        out.put_u8(PARAM_CAPABILITIES);
        out.put_u16(u16::try_from(caps_len).unwrap_or(u16::MAX));
    }
    for cap in &open.capabilities {
        encode_capability(cap, out);
    }
}

/// Value length of one capability. A capability length is one octet: values longer than 255
/// octets (an `Unknown` built by hand, a GracefulRestart with over 63 families) are cut there.
fn capability_len(cap: &Capability) -> usize {
    let len = match cap {
        Capability::Multiprotocol(_) => 4,
        Capability::RouteRefresh => 0,
        Capability::GracefulRestart { families, .. } => 2 + 4 * families.len().min(63),
        Capability::FourOctetAs(_) => 4,
        Capability::Unknown { value, .. } => value.len(),
    };
    len.min(255)
}

fn encode_capability(cap: &Capability, out: &mut BytesMut) {
    let len = capability_len(cap) as u8;
    match cap {
        Capability::Multiprotocol(f) => {
            let (afi, safi) = f.afi_safi();
            out.put_slice(&[cap_code::MULTIPROTOCOL, len]);
            out.put_u16(afi);
            out.put_u8(0);
            out.put_u8(safi);
        }
        Capability::RouteRefresh => out.put_slice(&[cap_code::ROUTE_REFRESH, 0]),
        Capability::GracefulRestart {
            restarting,
            restart_time,
            families,
        } => {
            out.put_slice(&[cap_code::GRACEFUL_RESTART, len]);
            let flag = if *restarting { GR_RESTARTING } else { 0 };
            out.put_u16(flag | (restart_time & GR_TIME_MASK));
            for (f, forwarding) in families.iter().take(63) {
                let (afi, safi) = f.afi_safi();
                out.put_u16(afi);
                out.put_u8(safi);
                out.put_u8(if *forwarding { GR_FORWARDING } else { 0 });
            }
        }
        Capability::FourOctetAs(asn) => {
            out.put_slice(&[cap_code::FOUR_OCTET_AS, len]);
            out.put_u32(*asn);
        }
        Capability::Unknown { code, value } => {
            out.put_slice(&[*code, len]);
            out.put_slice(value.get(..usize::from(len)).unwrap_or_default());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::wire::{Context, Message};

    const CX: Context = Context {
        four_octet_as: true,
    };

    fn open_err(body: &str) -> DecodeError {
        Message::decode(&msg(1, body), &CX).unwrap_err()
    }

    /// What BIRD 2 sends for `local as 4200000001; ipv4 { }; ipv6 { }; graceful restart on;`:
    /// My AS is AS_TRANS, hold time 240, and one Capabilities parameter carrying MP IPv4, MP
    /// IPv6, route refresh, graceful restart (120 s, both families, forwarding preserved) and
    /// the four-octet AS.
    const BIRD_OPEN: &str = "04 5ba0 00f0 c0000201 22
        02 20
           01 04 0001 00 01
           01 04 0002 00 01
           02 00
           40 0a 0078 0001 01 80 0002 01 80
           41 04 fa56ea01";

    fn bird_open() -> Open {
        Open {
            version: 4,
            my_as: 23456,
            hold_time: 240,
            bgp_identifier: Ipv4Addr::new(192, 0, 2, 1),
            capabilities: vec![
                Capability::Multiprotocol(Family::Ipv4Unicast),
                Capability::Multiprotocol(Family::Ipv6Unicast),
                Capability::RouteRefresh,
                Capability::GracefulRestart {
                    restarting: false,
                    restart_time: 120,
                    families: vec![(Family::Ipv4Unicast, true), (Family::Ipv6Unicast, true)],
                },
                Capability::FourOctetAs(4_200_000_001),
            ],
        }
    }

    #[test]
    fn a_bird_style_open_with_mp_route_refresh_gr_and_four_octet_as_goes_both_ways() {
        both_ways(&msg(1, BIRD_OPEN), &Message::Open(bird_open()), &CX);
    }

    #[test]
    fn capabilities_split_over_several_parameters_are_all_read() {
        let m = Message::decode(
            &msg(
                1,
                "04 fde8 005a 0a000001 10 02 06 01 04 0002 00 01 02 06 41 04 0000fde8",
            ),
            &CX,
        )
        .unwrap();
        let Message::Open(open) = m else { panic!() };
        assert_eq!(
            open.capabilities,
            vec![
                Capability::Multiprotocol(Family::Ipv6Unicast),
                Capability::FourOctetAs(65000)
            ]
        );
    }

    #[test]
    fn an_open_without_parameters_goes_both_ways() {
        let open = Open {
            version: 4,
            my_as: 65001,
            hold_time: 0,
            bgp_identifier: Ipv4Addr::new(10, 0, 0, 1),
            capabilities: vec![],
        };
        both_ways(
            &msg(1, "04 fde9 0000 0a000001 00"),
            &Message::Open(open),
            &CX,
        );
    }

    #[test]
    fn a_restarting_gr_capability_keeps_its_flags_and_time() {
        let m = Message::decode(
            &msg(1, "04 fde8 005a 0a000001 0a 02 08 40 06 8fff 0001 01 00"),
            &CX,
        )
        .unwrap();
        let Message::Open(open) = m else { panic!() };
        assert_eq!(
            open.capabilities,
            vec![Capability::GracefulRestart {
                restarting: true,
                restart_time: 4095,
                families: vec![(Family::Ipv4Unicast, false)],
            }]
        );
    }

    #[test]
    fn unknown_capabilities_and_families_are_kept_verbatim() {
        let bytes = msg(
            1,
            "04 fde8 005a 0a000001 0e 02 0c 01 04 0001 00 80 46 00 49 02 6869",
        );
        let open = Open {
            version: 4,
            my_as: 65000,
            hold_time: 90,
            bgp_identifier: Ipv4Addr::new(10, 0, 0, 1),
            capabilities: vec![
                Capability::Unknown {
                    code: 1,
                    value: Bytes::from_static(&[0, 1, 0, 0x80]),
                },
                Capability::Unknown {
                    code: 70,
                    value: Bytes::new(),
                },
                Capability::Unknown {
                    code: 73,
                    value: Bytes::from_static(b"hi"),
                },
            ],
        };
        both_ways(&bytes, &Message::Open(open), &CX);
    }

    #[test]
    fn an_open_with_version_three_is_unsupported_with_version_four_as_data() {
        let err = open_err("03 fde8 005a 0a000001 00");
        assert_eq!(
            err.notification.subcode,
            open_subcode::UNSUPPORTED_VERSION_NUMBER
        );
        assert_eq!(&err.notification.data[..], &[0, 4]);
    }

    #[test]
    fn an_open_with_hold_time_two_is_rejected_as_unacceptable() {
        for hold in ["0001", "0002"] {
            let err = open_err(&format!("04 fde8 {hold} 0a000001 00"));
            assert_eq!(err.notification.code, error_code::OPEN_MESSAGE);
            assert_eq!(
                err.notification.subcode,
                open_subcode::UNACCEPTABLE_HOLD_TIME
            );
        }
    }

    #[test]
    fn an_open_with_hold_time_three_is_accepted() {
        assert!(Message::decode(&msg(1, "04 fde8 0003 0a000001 00"), &CX).is_ok());
    }

    #[test]
    fn an_open_with_identifier_zero_is_a_bad_bgp_identifier() {
        let err = open_err("04 fde8 005a 00000000 00");
        assert_eq!(err.notification.subcode, open_subcode::BAD_BGP_IDENTIFIER);
    }

    #[test]
    fn an_authentication_parameter_is_an_unsupported_optional_parameter() {
        let err = open_err("04 fde8 005a 0a000001 03 01 01 00");
        assert_eq!(
            err.notification.subcode,
            open_subcode::UNSUPPORTED_OPTIONAL_PARAMETER
        );
    }

    #[test]
    fn an_optional_parameters_length_past_the_message_is_bad_message_length() {
        let err = open_err("04 fde8 005a 0a000001 08 02 02 02 00");
        assert_eq!(err.notification.code, error_code::MESSAGE_HEADER);
        assert_eq!(err.notification.subcode, header_subcode::BAD_MESSAGE_LENGTH);
    }

    #[test]
    fn a_parameter_overrunning_the_parameters_is_open_message_error_unspecific() {
        let err = open_err("04 fde8 005a 0a000001 04 02 05 02 00");
        assert_eq!(
            (err.notification.code, err.notification.subcode),
            (error_code::OPEN_MESSAGE, 0)
        );
    }

    #[test]
    fn a_capability_overrunning_its_parameter_is_open_message_error_unspecific() {
        let err = open_err("04 fde8 005a 0a000001 04 02 02 41 04");
        assert_eq!(
            (err.notification.code, err.notification.subcode),
            (error_code::OPEN_MESSAGE, 0)
        );
    }

    #[test]
    fn known_capabilities_of_the_wrong_length_are_open_message_error_unspecific() {
        for cap in [
            "01 03 000100",
            "01 05 0001000100",
            "02 01 00",
            "40 01 00",
            "40 04 0078 0001",
            "41 02 fde8",
        ] {
            let len = crate::wire::codec::testutil::hex(cap).len();
            let err = open_err(&format!(
                "04 fde8 005a 0a000001 {:02x} 02 {:02x} {cap}",
                len + 2,
                len
            ));
            assert_eq!(
                (err.notification.code, err.notification.subcode),
                (error_code::OPEN_MESSAGE, 0),
                "{cap}"
            );
        }
    }

    #[test]
    fn rfc9072_extended_optional_parameters_are_decoded() {
        // Non-Ext OP Len 255, Non-Ext OP Type 255, Ext length 7, then type 2 with a 2-octet
        // length of 4 holding the route refresh and an empty unknown capability.
        let m = Message::decode(
            &msg(1, "04 fde8 005a 0a000001 ff ff 0007 02 0004 02 00 46 00"),
            &CX,
        )
        .unwrap();
        let Message::Open(open) = m else { panic!() };
        assert_eq!(
            open.capabilities,
            vec![
                Capability::RouteRefresh,
                Capability::Unknown {
                    code: 70,
                    value: Bytes::new()
                }
            ]
        );
    }

    #[test]
    fn capabilities_over_255_octets_are_encoded_in_the_extended_format_and_read_back() {
        let mut open = bird_open();
        for code in 100..110 {
            open.capabilities.push(Capability::Unknown {
                code,
                value: Bytes::from(vec![code; 30]),
            });
        }
        let bytes = encode(&Message::Open(open.clone()), &CX);
        assert_eq!(&bytes[28..30], &[0xff, 0xff]);
        assert_eq!(Message::decode(&bytes, &CX).unwrap(), Message::Open(open));
    }

    #[test]
    fn truncated_opens_never_panic() {
        let full = msg(1, BIRD_OPEN);
        for cut in 0..full.len() {
            let mut m = full[..cut].to_vec();
            if m.len() >= 18 {
                m[16..18].copy_from_slice(&(cut as u16).to_be_bytes());
            }
            let _ = Message::decode(&m, &CX);
        }
    }
}
