//! Property tests for the wire codec: every well-formed message survives encode → frame →
//! decode unchanged on both kinds of session, and no input — random or a mutated valid
//! message — makes frame or decode panic.

mod common;

use bgp::wire::{Context, ErrorAction, Message, frame};
use bytes::BytesMut;
use common::message;
use proptest::prelude::*;

fn encode(msg: &Message, cx: &Context) -> Vec<u8> {
    let mut out = BytesMut::new();
    msg.encode(cx, &mut out);
    out.to_vec()
}

fn roundtrip(msg: &Message, cx: &Context) -> Result<(), TestCaseError> {
    let bytes = encode(msg, cx);
    // The codec does not split: messages the speaker would not send are out of scope.
    prop_assume!(bytes.len() <= 4096);
    prop_assert_eq!(frame(&bytes), Ok(Some(bytes.len())));
    let decoded = Message::decode(&bytes, cx);
    prop_assert_eq!(decoded.as_ref(), Ok(msg));
    Ok(())
}

/// Decodes `bytes` as a whole message (after framing) without panicking; when it decodes on a
/// four-octet session, encoding and decoding again gives the same message (RFC 7606 notes
/// aside: what was discarded is gone the second time).
fn decode_survives(bytes: &[u8]) -> Result<(), TestCaseError> {
    let Ok(Some(len)) = frame(bytes) else {
        return Ok(());
    };
    for four_octet_as in [true, false] {
        let cx = Context { four_octet_as };
        let Ok(first) = Message::decode(&bytes[..len], &cx) else {
            continue;
        };
        let again = encode(&first, &cx);
        if again.len() > 4096 {
            continue;
        }
        let second = Message::decode(&again, &cx);
        prop_assert!(
            second.is_ok(),
            "re-encoding of {first:?} does not decode: {second:?}"
        );
        if four_octet_as {
            prop_assert_eq!(clear_notes(second.unwrap()), clear_notes(first));
        }
    }
    Ok(())
}

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

/// Byte-level damage to a valid message: flips, truncation, insertion, a rewritten length.
#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Truncate(usize),
    Insert(usize, u8),
    FixLength,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        2 => Just(Mutation::FixLength),
    ]
}

fn mutate(mut bytes: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    for m in muts {
        let n = bytes.len().max(1);
        match *m {
            // Mostly damage the body, not the marker.
            Mutation::Set(i, b) => {
                let i = 16 + i % n.saturating_sub(16).max(1);
                if let Some(x) = bytes.get_mut(i) {
                    *x = b;
                }
            }
            Mutation::Truncate(i) => bytes.truncate(19 + i % n.saturating_sub(18).max(1)),
            Mutation::Insert(i, b) => bytes.insert((19 + i % n).min(bytes.len()), b),
            Mutation::FixLength => {
                let len = u16::try_from(bytes.len()).unwrap_or(u16::MAX).to_be_bytes();
                if let Some(f) = bytes.get_mut(16..18) {
                    f.copy_from_slice(&len);
                }
            }
        }
    }
    bytes
}

// ===== properties =====

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn every_valid_message_round_trips_on_a_four_octet_session(msg in message(true)) {
        roundtrip(&msg, &Context { four_octet_as: true })?;
    }

    #[test]
    fn every_valid_message_round_trips_on_a_two_octet_session_via_as4_path(msg in message(false)) {
        roundtrip(&msg, &Context { four_octet_as: false })?;
    }

    #[test]
    fn arbitrary_bytes_never_panic_frame_or_decode(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        decode_survives(&bytes)?;
        // The same bytes behind a valid header reach the type-specific decoders.
        for kind in 1u8..=5 {
            let mut m = vec![0xff; 16];
            m.extend_from_slice(&u16::try_from((19 + bytes.len()).min(4096)).unwrap().to_be_bytes());
            m.push(kind);
            m.extend_from_slice(&bytes);
            decode_survives(&m)?;
        }
    }

    #[test]
    fn mutated_valid_messages_never_panic_and_reencode_stably(
        msg in message(true),
        four_octet_as in any::<bool>(),
        muts in prop::collection::vec(mutation(), 1..4),
    ) {
        let bytes = encode(&msg, &Context { four_octet_as });
        decode_survives(&mutate(bytes, &muts))?;
    }
}
