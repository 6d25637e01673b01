//! Work that runs on one replica at a time: every [`PERIOD`] the replica holding the lease
//! ([`crate::service::Service::lease`]: always this process on SQLite, a database advisory
//! lock on PostgreSQL, taken over by another replica when its holder dies) runs each job
//! in [`JOBS`]. One file per job.

pub mod operation_expiry;

use std::sync::Arc;
use std::time::Duration;

use crate::service::Service;

/// How often the lease holder runs the jobs (and a replica without it asks again).
pub const PERIOD: Duration = Duration::from_secs(30);

/// A job: a name for the logs and what it does once.
#[derive(Debug, Clone, Copy)]
pub struct Job {
    pub name: &'static str,
    pub run: fn(&Service) -> anyhow::Result<()>,
}

/// Every job, run in this order.
pub const JOBS: &[Job] = &[operation_expiry::JOB];

/// Runs the jobs on this replica whenever it holds the lease, until the runtime stops.
pub fn start(service: Arc<Service>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PERIOD);
        loop {
            tick.tick().await;
            let service = service.clone();
            let _ = tokio::task::spawn_blocking(move || run_once(&service)).await;
        }
    });
}

/// One round: every job, if this replica holds the lease. Whether it did.
pub fn run_once(service: &Service) -> bool {
    if !service.lease() {
        return false;
    }
    for job in JOBS {
        if let Err(e) = (job.run)(service) {
            tracing::warn!(job = job.name, "failed: {e:#}");
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Read, Store};

    #[test]
    fn a_single_process_store_always_holds_the_lease_and_a_round_sweeps_expired_operations() {
        let service = Service::new(
            Store::open_in_memory().expect("store"),
            crate::catalog::Catalog::default(),
        );
        let long_ago = crate::store::unix_now() - crate::store::OPERATION_TTL.as_secs() as i64;
        service
            .with_store(|s| s.conn().put_operation("old", "{}", long_ago - 1))
            .expect("an old record");
        assert!(run_once(&service), "the only process holds the lease");
        assert_eq!(
            service.read(|s| s.conn().operation("old")).expect("read"),
            None
        );
    }
}
