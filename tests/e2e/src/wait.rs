//! Polling with deadlines: the only way tests synchronise with daemons.

use std::thread;
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(100);

/// Polls `cond` every 100 ms until it is true; panics naming `what` after `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    wait_for(timeout, what, || {
        if cond() {
            Ok(())
        } else {
            Err("condition still false".to_string())
        }
    })
}

/// Polls `probe` every 100 ms until it returns `Ok`, and returns that value. On timeout it
/// panics with `what` and the last observation (the last `Err`).
pub fn wait_for<T>(
    timeout: Duration,
    what: &str,
    mut probe: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match probe() {
            Ok(v) => return v,
            Err(last) => {
                if Instant::now() >= deadline {
                    panic!(
                        "timed out after {timeout:?} waiting for {what}; last observation: {last}"
                    );
                }
            }
        }
        thread::sleep(POLL);
    }
}

/// Asserts that `probe` stays `Ok` for the whole of `period`, polling every 100 ms.
///
/// Only for properties that are about absence over time ("an MD5 mismatch never
/// establishes"); pair it with a positive wait in the same test that bounds the period.
pub fn hold_for(period: Duration, what: &str, mut probe: impl FnMut() -> Result<(), String>) {
    let end = Instant::now() + period;
    while Instant::now() < end {
        if let Err(seen) = probe() {
            panic!("expected {what} to hold for {period:?}, but: {seen}");
        }
        thread::sleep(POLL);
    }
}
