//! Reading BIRD's MRT dumps (RFC 6396 BGP4MP): the BGP messages a peer received exactly as
//! they were on the wire, for what `birdc` does not show (NOTIFICATION subcodes and data).

/// One BGP message from a BGP4MP record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MrtMessage {
    /// Received from the peer (`BGP4MP_MESSAGE[_AS4]`); false for the ones the dumping
    /// speaker sent (`…_LOCAL`).
    pub received: bool,
    /// The whole message, marker included.
    pub bytes: Vec<u8>,
}

const BGP4MP: u16 = 16;
const BGP4MP_ET: u16 = 17;

/// Every BGP message in an MRT dump, in order. Records of other types are skipped; a
/// truncated last record (the daemon still writing) ends the list.
pub fn messages(dump: &[u8]) -> Vec<MrtMessage> {
    let mut out = Vec::new();
    let mut at = 0;
    while dump.len() >= at + 12 {
        let kind = u16::from_be_bytes([dump[at + 4], dump[at + 5]]);
        let subtype = u16::from_be_bytes([dump[at + 6], dump[at + 7]]);
        let len =
            u32::from_be_bytes([dump[at + 8], dump[at + 9], dump[at + 10], dump[at + 11]]) as usize;
        let Some(body) = dump.get(at + 12..at + 12 + len) else {
            break;
        };
        at += 12 + len;
        let body = match kind {
            BGP4MP => body,
            BGP4MP_ET if body.len() >= 4 => &body[4..],
            _ => continue,
        };
        // MESSAGE (1) and MESSAGE_LOCAL (6) have 2-octet ASes, the _AS4 ones (4, 7) 4-octet.
        let (as_len, received) = match subtype {
            1 => (2, true),
            4 => (4, true),
            6 => (2, false),
            7 => (4, false),
            _ => continue,
        };
        // peer AS, local AS, interface index (2), AFI (2), peer and local address.
        let afi_at = 2 * as_len + 2;
        let Some(afi) = body.get(afi_at..afi_at + 2) else {
            continue;
        };
        let addr_len = if afi == [0, 2] { 16 } else { 4 };
        if let Some(message) = body.get(afi_at + 2 + 2 * addr_len..) {
            out.push(MrtMessage {
                received,
                bytes: message.to_vec(),
            });
        }
    }
    out
}

/// A NOTIFICATION: error code, subcode and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenNotification {
    pub code: u8,
    pub subcode: u8,
    pub data: Vec<u8>,
}

impl SeenNotification {
    /// The RFC 9003 shutdown communication of a Cease / Administrative Shutdown or Reset
    /// (a length octet, then UTF-8), if it carries one.
    pub fn shutdown_communication(&self) -> Option<String> {
        let (&len, text) = self.data.split_first()?;
        let text = text.get(..usize::from(len))?;
        String::from_utf8(text.to_vec()).ok()
    }
}

/// The NOTIFICATIONs the dumping speaker received, in order.
pub fn notifications_received(dump: &[u8]) -> Vec<SeenNotification> {
    messages(dump)
        .into_iter()
        .filter(|m| m.received && m.bytes.len() >= 21 && m.bytes[18] == 3)
        .map(|m| SeenNotification {
            code: m.bytes[19],
            subcode: m.bytes[20],
            data: m.bytes[21..].to_vec(),
        })
        .collect()
}
