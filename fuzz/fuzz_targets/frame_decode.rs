//! Frame then decode arbitrary bytes on both kinds of session. Whatever decodes must encode
//! to bytes that decode to the same message (RFC 7606 notes aside, on four-octet sessions
//! where no AS4_PATH reconstruction is involved).
#![no_main]

use bgp::wire::{Context, ErrorAction, Message, frame};
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;

fn clear_notes(m: Message) -> Message {
    match m {
        Message::Update(mut u) => {
            u.error_action = ErrorAction::None;
            u.errors.clear();
            Message::Update(u)
        }
        m => m,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(Some(len)) = frame(data) else {
        return;
    };
    let Some(msg) = data.get(..len) else {
        panic!("frame returned {len} for {} bytes", data.len());
    };
    for four_octet_as in [true, false] {
        let cx = Context { four_octet_as };
        let Ok(first) = Message::decode(msg, &cx) else {
            continue;
        };
        let mut out = BytesMut::new();
        first.encode(&cx, &mut out);
        if out.len() > bgp::wire::MAX_MESSAGE_LEN {
            continue;
        }
        let second = Message::decode(&out, &cx).expect("our own encoding decodes");
        if four_octet_as {
            assert_eq!(clear_notes(second), clear_notes(first));
        }
    }
});
