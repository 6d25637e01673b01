//! TCP MD5 signatures (RFC 2385) through Linux's `TCP_MD5SIG` socket option.
//!
//! There is no safe wrapper for this option in socket2 or nix, so this module holds the one
//! `unsafe` call of the edge: a `setsockopt` with the kernel's `struct tcp_md5sig`. The key
//! is set on the listening socket per peer address (for passive sessions) and on the
//! connecting socket before `connect` (for active ones). An empty key removes it.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;

use socket2::SockAddr;

/// Longest key the kernel accepts (`TCP_MD5SIG_MAXKEYLEN`).
pub const MAX_KEY_LEN: usize = 80;

/// `struct tcp_md5sig` from linux/tcp.h.
#[repr(C)]
struct TcpMd5Sig {
    addr: libc::sockaddr_storage,
    flags: u8,
    prefixlen: u8,
    keylen: u16,
    ifindex: libc::c_int,
    key: [u8; MAX_KEY_LEN],
}

/// Sets (or with `None` removes) the MD5 key for segments to and from `peer` on `socket`.
pub fn set_key(socket: &impl AsRawFd, peer: IpAddr, key: Option<&[u8]>) -> io::Result<()> {
    let key = key.unwrap_or_default();
    if key.len() > MAX_KEY_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "TCP MD5 key longer than 80 bytes",
        ));
    }
    let addr = SockAddr::from(SocketAddr::new(peer, 0));
    // SAFETY: sockaddr_storage is plain old data for which all-zero is a valid value.
    #[allow(unsafe_code)]
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = (addr.len() as usize).min(std::mem::size_of::<libc::sockaddr_storage>());
    // SAFETY: both pointers are valid for `len` bytes (bounded by either size) and do not
    // overlap.
    #[allow(unsafe_code)]
    unsafe {
        std::ptr::copy_nonoverlapping(
            addr.as_ptr().cast::<u8>(),
            (&mut storage as *mut libc::sockaddr_storage).cast::<u8>(),
            len,
        );
    }
    let mut sig = TcpMd5Sig {
        addr: storage,
        flags: 0,
        prefixlen: 0,
        keylen: key.len() as u16,
        ifindex: 0,
        key: [0; MAX_KEY_LEN],
    };
    sig.key[..key.len()].copy_from_slice(key);
    // SAFETY: `sig` is a properly initialised `struct tcp_md5sig` that outlives the call,
    // and the length passed is its exact size.
    #[allow(unsafe_code)]
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_MD5SIG,
            (&sig as *const TcpMd5Sig).cast::<libc::c_void>(),
            std::mem::size_of::<TcpMd5Sig>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    // Removing a key that was never set is not an error.
    if key.is_empty() && err.raw_os_error() == Some(libc::ENOENT) {
        return Ok(());
    }
    Err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_can_be_set_and_removed_on_a_listening_socket() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let peer: IpAddr = "127.0.0.2".parse().expect("address");
        set_key(&listener, peer, Some(b"s3cret")).expect("set key");
        set_key(&listener, peer, None).expect("remove key");
    }

    #[test]
    fn a_key_longer_than_the_kernel_allows_is_refused() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let err = set_key(
            &listener,
            "127.0.0.2".parse().expect("address"),
            Some(&[b'k'; 81]),
        )
        .expect_err("81-byte key");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
