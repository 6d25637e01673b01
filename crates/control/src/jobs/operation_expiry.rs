//! Operation records past [`crate::store::OPERATION_TTL`] are removed. Each new record
//! already removes a few old ones inside its transaction; this sweep empties the rest, so
//! a store that stops taking writes does not keep a day's records forever.

use super::Job;
use crate::service::Service;

pub const JOB: Job = Job {
    name: "operation-expiry",
    run,
};

fn run(service: &Service) -> anyhow::Result<()> {
    let n = service.with_store(|s| s.expire_operations())?;
    if n > 0 {
        tracing::info!("{n} expired operation records removed");
    }
    Ok(())
}
