//! Arbitrary UDP payloads through the BFD Control packet decoder: decode must return a packet
//! or a §6.8.6 discard reason, never panic, and what decodes must re-encode to a packet that
//! decodes to the same value.
#![no_main]

use bfd::ControlPacket;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(packet) = ControlPacket::decode(data) {
        assert_eq!(ControlPacket::decode(&packet.encode()), Ok(packet));
    }
});
