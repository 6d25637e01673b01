//! Arbitrary OPEN bodies behind a valid header, decoded on a session chosen by the first
//! byte: decode must return a message or an error, never panic.
#![no_main]

use bgp::wire::{Context, Message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let cx = Context {
        four_octet_as: first & 1 == 1,
    };
    let body = body.get(..body.len().min(4096 - 19)).unwrap_or_default();
    let mut msg = vec![0xff; 16];
    msg.extend_from_slice(
        &u16::try_from(19 + body.len())
            .unwrap_or(u16::MAX)
            .to_be_bytes(),
    );
    msg.push(1);
    msg.extend_from_slice(body);
    let _ = Message::decode(&msg, &cx);
});
