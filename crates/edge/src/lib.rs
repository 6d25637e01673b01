//! Causeway edge runtime.
