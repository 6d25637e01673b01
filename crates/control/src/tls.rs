//! The HTTPS certificate: the operator's, or a self-signed one made on first start with SANs
//! `DNS:localhost` and `IP:127.0.0.1` (what the Azure SDKs check when verification is on).

use std::path::{Path, PathBuf};

use anyhow::Context;

/// Paths of the certificate and key to serve.
pub fn ensure_self_signed(data_dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let cert = data_dir.join("tls.crt");
    let key = data_dir.join("tls.key");
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    let names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let generated =
        rcgen::generate_simple_self_signed(names).context("cannot make a certificate")?;
    std::fs::write(&cert, generated.cert.pem())
        .with_context(|| format!("cannot write {}", cert.display()))?;
    crate::write_private(&key, generated.signing_key.serialize_pem().as_bytes())?;
    Ok((cert, key))
}
