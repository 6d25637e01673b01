//! The BFD Control packet (RFC 5880 §4.1) and the stateless reception checks of §6.8.6.
//!
//! [`ControlPacket::decode`] takes a UDP payload and either returns a packet that passed every
//! check that needs no session state, or a [`DecodeError`] naming the rule that discards it.
//! The one check that needs a session (Your Discriminator selects no session) is the
//! caller's: the driver's demultiplexer and [`crate::Session`] both apply it.
//!
//! Authentication is off in Causeway. A packet with the A bit set is parsed far enough to
//! name its Auth Type, then discarded (§6.8.6: "If the A bit is set and no authentication is
//! in use (bfd.AuthType is zero), the packet MUST be discarded").

use std::num::NonZeroU32;
use std::time::Duration;

/// Length of the mandatory section, and of every packet we send (no authentication).
pub const MANDATORY_LEN: usize = 24;
/// The protocol version this codec speaks (§4.1).
pub const VERSION: u8 = 1;
/// Smallest packet that can carry an authentication section (§6.8.6: "less than the minimum
/// correct value (24 if the A bit is clear, 26 if the A bit is set)").
const MIN_AUTH_LEN: usize = 26;

// ===== types =====

/// Session state as carried in the Sta field (§4.1) and held in `bfd.SessionState` (§6.8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    AdminDown = 0,
    Down = 1,
    Init = 2,
    Up = 3,
}

impl State {
    fn from_bits(bits: u8) -> State {
        match bits & 0b11 {
            0 => State::AdminDown,
            1 => State::Down,
            2 => State::Init,
            _ => State::Up,
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            State::AdminDown => "AdminDown",
            State::Down => "Down",
            State::Init => "Init",
            State::Up => "Up",
        })
    }
}

/// Diagnostic code (§4.1, "Diag"): why the sender's session last changed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Diag {
    /// 0 -- No Diagnostic
    NoDiagnostic,
    /// 1 -- Control Detection Time Expired
    ControlDetectionTimeExpired,
    /// 2 -- Echo Function Failed
    EchoFunctionFailed,
    /// 3 -- Neighbor Signaled Session Down
    NeighborSignaledSessionDown,
    /// 4 -- Forwarding Plane Reset
    ForwardingPlaneReset,
    /// 5 -- Path Down
    PathDown,
    /// 6 -- Concatenated Path Down
    ConcatenatedPathDown,
    /// 7 -- Administratively Down
    AdministrativelyDown,
    /// 8 -- Reverse Concatenated Path Down
    ReverseConcatenatedPathDown,
    /// 9-31 -- Reserved for future use; kept so that decode/encode round-trips.
    Reserved(u8),
}

impl Diag {
    /// The 5-bit code.
    pub fn code(self) -> u8 {
        match self {
            Diag::NoDiagnostic => 0,
            Diag::ControlDetectionTimeExpired => 1,
            Diag::EchoFunctionFailed => 2,
            Diag::NeighborSignaledSessionDown => 3,
            Diag::ForwardingPlaneReset => 4,
            Diag::PathDown => 5,
            Diag::ConcatenatedPathDown => 6,
            Diag::AdministrativelyDown => 7,
            Diag::ReverseConcatenatedPathDown => 8,
            Diag::Reserved(c) => c & 0x1f,
        }
    }

    /// The diagnostic for a 5-bit code (higher bits ignored).
    pub fn from_code(code: u8) -> Diag {
        match code & 0x1f {
            0 => Diag::NoDiagnostic,
            1 => Diag::ControlDetectionTimeExpired,
            2 => Diag::EchoFunctionFailed,
            3 => Diag::NeighborSignaledSessionDown,
            4 => Diag::ForwardingPlaneReset,
            5 => Diag::PathDown,
            6 => Diag::ConcatenatedPathDown,
            7 => Diag::AdministrativelyDown,
            8 => Diag::ReverseConcatenatedPathDown,
            c => Diag::Reserved(c),
        }
    }
}

impl std::fmt::Display for Diag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Diag::NoDiagnostic => f.write_str("No Diagnostic"),
            Diag::ControlDetectionTimeExpired => f.write_str("Control Detection Time Expired"),
            Diag::EchoFunctionFailed => f.write_str("Echo Function Failed"),
            Diag::NeighborSignaledSessionDown => f.write_str("Neighbor Signaled Session Down"),
            Diag::ForwardingPlaneReset => f.write_str("Forwarding Plane Reset"),
            Diag::PathDown => f.write_str("Path Down"),
            Diag::ConcatenatedPathDown => f.write_str("Concatenated Path Down"),
            Diag::AdministrativelyDown => f.write_str("Administratively Down"),
            Diag::ReverseConcatenatedPathDown => f.write_str("Reverse Concatenated Path Down"),
            Diag::Reserved(c) => write!(f, "Reserved ({c})"),
        }
    }
}

/// A BFD Control packet without an authentication section (RFC 5880 §4.1).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                       My Discriminator                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                      Your Discriminator                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                    Desired Min TX Interval                    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                   Required Min RX Interval                    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                 Required Min Echo RX Interval                 |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///
/// An optional Authentication Section MAY be present (A bit set):
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   Auth Type   |   Auth Len    |    Authentication Data...     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// Intervals are microseconds on the wire and [`Duration`]s here. The A bit (authentication)
/// and the M bit (multipoint) are not fields: a packet with either set never decodes, and we
/// never send one. Version is always 1 and Length always 24 on encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ControlPacket {
    pub diag: Diag,
    pub state: State,
    /// P: the sender asks for verification of a parameter change (§6.5).
    pub poll: bool,
    /// F: the sender answers a Poll.
    pub final_: bool,
    /// C: the sender's BFD does not share fate with its control plane.
    pub control_plane_independent: bool,
    /// D: the sender wishes to run Demand mode.
    pub demand: bool,
    /// Detect Mult, never 0 (§6.8.6).
    pub detect_mult: u8,
    /// My Discriminator, never 0 (§6.8.6).
    pub my_discriminator: NonZeroU32,
    /// Your Discriminator; `None` while the sender does not know it (sent as 0).
    pub your_discriminator: Option<NonZeroU32>,
    pub desired_min_tx: Duration,
    /// Zero: the sender does not want to receive periodic Control packets.
    pub required_min_rx: Duration,
    /// Zero: the sender does not support the Echo function.
    pub required_min_echo_rx: Duration,
}

/// Why a received packet is discarded. Every variant is a §6.8.6 rule; none changes a
/// session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("{0} bytes is shorter than a BFD Control packet (24)")]
    Short(usize),
    #[error("version {0}; only version 1 is accepted")]
    Version(u8),
    #[error("Length field {length} is below the minimum of {min}")]
    LengthTooSmall { length: u8, min: u8 },
    #[error("Length field {length} exceeds the UDP payload of {payload} bytes")]
    LengthBeyondPayload { length: u8, payload: usize },
    #[error("Detect Mult is zero")]
    DetectMultZero,
    #[error("Multipoint (M) bit is set")]
    Multipoint,
    #[error("My Discriminator is zero")]
    MyDiscriminatorZero,
    #[error("Your Discriminator is zero while the State field is {0}")]
    YourDiscriminatorZero(State),
    #[error("authentication section present (Auth Type {auth_type}) but authentication is off")]
    AuthenticationPresent { auth_type: u8 },
}

// ===== impl ControlPacket =====

impl ControlPacket {
    /// Decodes one UDP payload, applying every stateless reception check of RFC 5880 §6.8.6.
    /// Bytes past the Length field are ignored. Never panics.
    pub fn decode(payload: &[u8]) -> Result<ControlPacket, DecodeError> {
        let Some(head) = payload.first_chunk::<MANDATORY_LEN>() else {
            return Err(DecodeError::Short(payload.len()));
        };
        // "If the version number is not correct (1), the packet MUST be discarded."
        let version = head[0] >> 5;
        if version != VERSION {
            return Err(DecodeError::Version(version));
        }
        let flags = head[1];
        let auth = flags & flag::A != 0;
        // "If the Length field is less than the minimum correct value (24 if the A bit is
        // clear, 26 if the A bit is set), the packet MUST be discarded."
        let length = head[3];
        let min = if auth { MIN_AUTH_LEN } else { MANDATORY_LEN };
        if usize::from(length) < min {
            return Err(DecodeError::LengthTooSmall {
                length,
                min: u8::try_from(min).unwrap_or(u8::MAX),
            });
        }
        // "If the Length field is greater than the payload of the encapsulating protocol,
        // the packet MUST be discarded."
        if usize::from(length) > payload.len() {
            return Err(DecodeError::LengthBeyondPayload {
                length,
                payload: payload.len(),
            });
        }
        // "If the Detect Mult field is zero, the packet MUST be discarded."
        let detect_mult = head[2];
        if detect_mult == 0 {
            return Err(DecodeError::DetectMultZero);
        }
        // "If the Multipoint (M) bit is nonzero, the packet MUST be discarded."
        if flags & flag::M != 0 {
            return Err(DecodeError::Multipoint);
        }
        // "If the My Discriminator field is zero, the packet MUST be discarded."
        let Some(my_discriminator) = NonZeroU32::new(be_u32(head, 4)) else {
            return Err(DecodeError::MyDiscriminatorZero);
        };
        // "If the Your Discriminator field is zero and the State field is not Down or
        // AdminDown, the packet MUST be discarded."
        let state = State::from_bits(flags >> 6);
        let your_discriminator = NonZeroU32::new(be_u32(head, 8));
        if your_discriminator.is_none() && !matches!(state, State::Down | State::AdminDown) {
            return Err(DecodeError::YourDiscriminatorZero(state));
        }
        // "If the A bit is set and no authentication is in use (bfd.AuthType is zero), the
        // packet MUST be discarded." Length ≥ 26 was checked, so Auth Type is in bounds.
        if auth {
            let auth_type = payload.get(MANDATORY_LEN).copied().unwrap_or_default();
            return Err(DecodeError::AuthenticationPresent { auth_type });
        }
        Ok(ControlPacket {
            diag: Diag::from_code(head[0]),
            state,
            poll: flags & flag::P != 0,
            final_: flags & flag::F != 0,
            control_plane_independent: flags & flag::C != 0,
            demand: flags & flag::D != 0,
            detect_mult,
            my_discriminator,
            your_discriminator,
            desired_min_tx: micros(be_u32(head, 12)),
            required_min_rx: micros(be_u32(head, 16)),
            required_min_echo_rx: micros(be_u32(head, 20)),
        })
    }

    /// Encodes the packet: 24 bytes, version 1, no authentication section. Intervals beyond
    /// what 32 bits of microseconds hold (about 71 minutes) are sent as the largest value.
    pub fn encode(&self) -> [u8; MANDATORY_LEN] {
        let mut b = [0u8; MANDATORY_LEN];
        b[0] = (VERSION << 5) | self.diag.code();
        let mut flags = (self.state as u8) << 6;
        for (set, bit) in [
            (self.poll, flag::P),
            (self.final_, flag::F),
            (self.control_plane_independent, flag::C),
            (self.demand, flag::D),
        ] {
            if set {
                flags |= bit;
            }
        }
        b[1] = flags;
        b[2] = self.detect_mult;
        b[3] = MANDATORY_LEN as u8;
        b[4..8].copy_from_slice(&self.my_discriminator.get().to_be_bytes());
        let your = self.your_discriminator.map_or(0, NonZeroU32::get);
        b[8..12].copy_from_slice(&your.to_be_bytes());
        b[12..16].copy_from_slice(&to_micros(self.desired_min_tx).to_be_bytes());
        b[16..20].copy_from_slice(&to_micros(self.required_min_rx).to_be_bytes());
        b[20..24].copy_from_slice(&to_micros(self.required_min_echo_rx).to_be_bytes());
        b
    }
}

/// Bits of the second octet after the 2-bit state.
mod flag {
    pub const P: u8 = 0x20;
    pub const F: u8 = 0x10;
    pub const C: u8 = 0x08;
    pub const A: u8 = 0x04;
    pub const D: u8 = 0x02;
    pub const M: u8 = 0x01;
}

fn be_u32(b: &[u8; MANDATORY_LEN], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn micros(us: u32) -> Duration {
    Duration::from_micros(u64::from(us))
}

/// Microseconds for the wire, saturating at `u32::MAX`.
pub(crate) fn to_micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn up_packet() -> ControlPacket {
        ControlPacket {
            diag: Diag::NoDiagnostic,
            state: State::Up,
            poll: false,
            final_: false,
            control_plane_independent: false,
            demand: false,
            detect_mult: 3,
            my_discriminator: NonZeroU32::new(0x0102_0304).expect("nonzero"),
            your_discriminator: NonZeroU32::new(0x0a0b_0c0d),
            desired_min_tx: Duration::from_millis(300),
            required_min_rx: Duration::from_millis(300),
            required_min_echo_rx: Duration::ZERO,
        }
    }

    /// 300 ms × 3, Up, discriminators 0x01020304 / 0x0a0b0c0d: laid out by hand from §4.1.
    const UP_BYTES: [u8; 24] = [
        0x20, 0xc0, 0x03, 0x18, // vers 1, diag 0 | Up | mult 3 | len 24
        0x01, 0x02, 0x03, 0x04, // my discriminator
        0x0a, 0x0b, 0x0c, 0x0d, // your discriminator
        0x00, 0x04, 0x93, 0xe0, // 300,000 µs
        0x00, 0x04, 0x93, 0xe0, // 300,000 µs
        0x00, 0x00, 0x00, 0x00, // no echo
    ];

    #[test]
    fn an_up_packet_encodes_to_the_rfc_layout_and_back() {
        assert_eq!(hex(&up_packet().encode()), hex(&UP_BYTES));
        assert_eq!(ControlPacket::decode(&UP_BYTES), Ok(up_packet()));
    }

    #[test]
    fn trailing_bytes_past_the_length_field_are_ignored() {
        let mut b = UP_BYTES.to_vec();
        b.extend_from_slice(&[0xde, 0xad]);
        assert_eq!(ControlPacket::decode(&b), Ok(up_packet()));
    }

    #[test]
    fn flags_and_diag_survive_a_round_trip() {
        let p = ControlPacket {
            diag: Diag::NeighborSignaledSessionDown,
            state: State::Down,
            poll: true,
            final_: false,
            control_plane_independent: true,
            demand: true,
            your_discriminator: None,
            ..up_packet()
        };
        let b = p.encode();
        assert_eq!(b[0], 0x23);
        assert_eq!(b[1], 0x40 | 0x20 | 0x08 | 0x02);
        assert_eq!(ControlPacket::decode(&b), Ok(p));
    }

    /// Each §6.8.6 rule: the bytes, and the error that discards them.
    fn malformed() -> Vec<(&'static str, Vec<u8>, DecodeError)> {
        let with = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = UP_BYTES.to_vec();
            f(&mut b);
            b
        };
        vec![
            ("empty payload", vec![], DecodeError::Short(0)),
            ("23 bytes", UP_BYTES[..23].to_vec(), DecodeError::Short(23)),
            (
                "version 0",
                with(&|b| b[0] &= 0x1f),
                DecodeError::Version(0),
            ),
            (
                "version 2",
                with(&|b| b[0] = 0x40 | (b[0] & 0x1f)),
                DecodeError::Version(2),
            ),
            (
                "length 23",
                with(&|b| b[3] = 23),
                DecodeError::LengthTooSmall {
                    length: 23,
                    min: 24,
                },
            ),
            (
                "length 25 with the A bit",
                with(&|b| {
                    b[1] |= flag::A;
                    b[3] = 25;
                    b.push(0);
                }),
                DecodeError::LengthTooSmall {
                    length: 25,
                    min: 26,
                },
            ),
            (
                "length beyond the payload",
                with(&|b| b[3] = 28),
                DecodeError::LengthBeyondPayload {
                    length: 28,
                    payload: 24,
                },
            ),
            (
                "detect mult 0",
                with(&|b| b[2] = 0),
                DecodeError::DetectMultZero,
            ),
            (
                "multipoint bit",
                with(&|b| b[1] |= flag::M),
                DecodeError::Multipoint,
            ),
            (
                "my discriminator 0",
                with(&|b| b[4..8].fill(0)),
                DecodeError::MyDiscriminatorZero,
            ),
            (
                "your discriminator 0 in Up",
                with(&|b| b[8..12].fill(0)),
                DecodeError::YourDiscriminatorZero(State::Up),
            ),
            (
                "your discriminator 0 in Init",
                with(&|b| {
                    b[8..12].fill(0);
                    b[1] = (b[1] & 0x3f) | 0x80;
                }),
                DecodeError::YourDiscriminatorZero(State::Init),
            ),
            (
                "simple password authentication",
                with(&|b| {
                    b[1] |= flag::A;
                    b[3] = 28;
                    b.extend_from_slice(&[1, 4, 1, b'x']);
                }),
                DecodeError::AuthenticationPresent { auth_type: 1 },
            ),
        ]
    }

    #[test]
    fn every_section_6_8_6_violation_is_discarded_with_its_rule() {
        for (what, bytes, want) in malformed() {
            assert_eq!(ControlPacket::decode(&bytes), Err(want), "{what}");
        }
    }

    #[test]
    fn your_discriminator_zero_is_accepted_in_down_and_admin_down() {
        for state in [State::Down, State::AdminDown] {
            let p = ControlPacket {
                state,
                your_discriminator: None,
                ..up_packet()
            };
            assert_eq!(ControlPacket::decode(&p.encode()), Ok(p));
        }
    }

    #[test]
    fn intervals_beyond_32_bits_of_microseconds_saturate() {
        let p = ControlPacket {
            desired_min_tx: Duration::from_secs(100_000),
            ..up_packet()
        };
        let back = ControlPacket::decode(&p.encode()).expect("decodes");
        assert_eq!(
            back.desired_min_tx,
            Duration::from_micros(u64::from(u32::MAX))
        );
    }

    fn hex(b: &[u8]) -> String {
        b.iter()
            .map(|x| format!("{x:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    prop_compose! {
        fn any_packet()(
            diag in 0u8..32,
            state in 0u8..4,
            poll: bool, final_: bool, cpi: bool, demand: bool,
            detect_mult in 1u8..=255,
            my in 1u32..,
            your: u32,
            tx: u32, rx: u32, echo: u32,
        ) -> ControlPacket {
            let state = State::from_bits(state);
            let your = if matches!(state, State::Down | State::AdminDown) { your } else { your.max(1) };
            ControlPacket {
                diag: Diag::from_code(diag),
                state,
                poll,
                final_,
                control_plane_independent: cpi,
                demand,
                detect_mult,
                my_discriminator: NonZeroU32::new(my).expect("strategy starts at 1"),
                your_discriminator: NonZeroU32::new(your),
                desired_min_tx: micros(tx),
                required_min_rx: micros(rx),
                required_min_echo_rx: micros(echo),
            }
        }
    }

    proptest! {
        #[test]
        fn any_valid_packet_survives_encode_then_decode(p in any_packet()) {
            prop_assert_eq!(ControlPacket::decode(&p.encode()), Ok(p));
        }

        #[test]
        fn arbitrary_bytes_never_panic_and_what_decodes_reencodes_the_same(
            bytes in proptest::collection::vec(any::<u8>(), 0..64)
        ) {
            if let Ok(p) = ControlPacket::decode(&bytes) {
                let again = p.encode();
                prop_assert_eq!(ControlPacket::decode(&again), Ok(p));
                // Everything but the Length field and trailing bytes is carried bit for bit.
                prop_assert_eq!(&again[..3], &bytes[..3]);
                prop_assert_eq!(&again[4..], &bytes[4..24]);
            }
        }
    }
}
