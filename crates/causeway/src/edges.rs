//! Edges following a control plane: in-process in `causeway serve`, or over HTTPS with
//! `causeway edge --control URL[,URL…] --name NAME --token FILE`. With several URLs (the
//! replicas of one control plane) the edge talks to one and moves to the next when a
//! request to it fails; the edge keeps running its last desired state meanwhile.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use api::{EdgeDesired, EdgeReport};
use control::service::Service;
use edge::agent::{Agent, ControlLink};

/// How long an in-process edge waits for a change before re-reading its state anyway.
const POLL: Duration = Duration::from_secs(25);

/// The control plane in the same process.
#[derive(Debug)]
pub struct InProcess {
    service: Arc<Service>,
    edge: String,
}

impl ControlLink for InProcess {
    async fn desired(&self, after: u64) -> anyhow::Result<EdgeDesired> {
        self.service
            .wait_for_edge_change(&self.edge, after, POLL)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        let service = self.service.clone();
        let edge = self.edge.clone();
        tokio::task::spawn_blocking(move || service.edge_desired(&edge))
            .await?
            .map_err(|e| anyhow!("{e}"))
    }

    async fn report(&self, report: EdgeReport) -> anyhow::Result<()> {
        self.service
            .edge_report(&self.edge, report)
            .map_err(|e| anyhow!("{e}"))
    }
}

/// The edges running inside this process (`causeway serve`), so that they can be stopped
/// as routers stop when the server does.
#[derive(Debug, Clone, Default)]
pub struct InProcessEdges {
    running: Arc<tokio::sync::Mutex<Vec<(edge::Edge, tokio::task::AbortHandle)>>>,
}

impl InProcessEdges {
    /// Starts the named edges of the inventory inside this process.
    pub fn start(&self, service: Arc<Service>, names: &[String]) {
        for name in names {
            let service = service.clone();
            let name = name.clone();
            let running = self.running.clone();
            tokio::spawn(async move {
                let edge = match edge::Edge::start(empty_config()).await {
                    Ok(e) => e,
                    Err(e) => {
                        tracing::error!(edge = %name, "cannot start: {e:#}");
                        return;
                    }
                };
                tracing::info!(edge = %name, "in-process edge following the control plane");
                let agent = Arc::new(Agent::new(name.clone(), edge.clone()));
                let link = Arc::new(InProcess {
                    service,
                    edge: name,
                });
                let task = tokio::spawn(agent.run(link));
                running.lock().await.push((edge, task.abort_handle()));
            });
        }
    }

    /// Stops following the control plane, then ends every session with Cease /
    /// Administrative Shutdown and `message`; routes stay in the kernel for the next start.
    pub async fn shutdown(&self, message: &str) {
        let running = std::mem::take(&mut *self.running.lock().await);
        for (_, agent) in &running {
            agent.abort();
        }
        let mut stopping = tokio::task::JoinSet::new();
        for (edge, _) in running {
            let message = message.to_owned();
            stopping.spawn(async move { edge.shutdown(&message).await });
        }
        stopping.join_all().await;
    }
}

fn empty_config() -> edge::config::EdgeConfig {
    edge::config::EdgeConfig {
        local_as: edge::config::DEFAULT_LOCAL_AS,
        router_id: std::net::Ipv4Addr::new(192, 0, 2, 254),
        listen_port: 179,
        status_listen: "127.0.0.1:0".parse().expect("invariant: a valid address"),
        domains: Vec::new(),
    }
}

/// The control plane over HTTPS (or HTTP on loopback), through any of its replicas.
#[derive(Debug)]
pub struct Remote {
    agent: ureq::Agent,
    /// The replicas' base URLs, in the order given.
    bases: Arc<Vec<String>>,
    /// The replica answering now (an index into `bases`), shared by the long poll and the
    /// reporter so both move together.
    current: Arc<std::sync::atomic::AtomicUsize>,
    edge: String,
    token: String,
}

impl Remote {
    pub fn new(
        bases: &[String],
        edge: &str,
        token_file: &PathBuf,
        ca: Option<&PathBuf>,
        insecure: bool,
    ) -> anyhow::Result<Remote> {
        let token = std::fs::read_to_string(token_file)
            .with_context(|| format!("cannot read the token file {}", token_file.display()))?
            .trim()
            .to_owned();
        if token.is_empty() {
            bail!("{} is empty", token_file.display());
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .tls_config(crate::client::tls_config(
                ca.map(PathBuf::as_path),
                insecure,
            )?)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(POLL + Duration::from_secs(20)))
            .build();
        let bases: Vec<String> = bases
            .iter()
            .map(|b| b.trim().trim_end_matches('/').to_owned())
            .filter(|b| !b.is_empty())
            .collect();
        if bases.is_empty() {
            bail!("--control needs at least one URL");
        }
        Ok(Remote {
            agent: ureq::Agent::new_with_config(config),
            bases: Arc::new(bases),
            current: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
            edge: edge.to_owned(),
            token,
        })
    }

    /// Runs `f` against the current replica; when it fails, against each of the others in
    /// turn (the first that answers becomes current). The last error if none answers.
    fn failover<T>(&self, f: impl Fn(&str) -> anyhow::Result<T>) -> anyhow::Result<T> {
        use std::sync::atomic::Ordering;
        let n = self.bases.len();
        let start = self.current.load(Ordering::Relaxed) % n;
        let mut last = None;
        for i in 0..n {
            let at = (start + i) % n;
            match f(&self.bases[at]) {
                Ok(v) => {
                    if at != start {
                        tracing::info!(edge = %self.edge, control = %self.bases[at], "following another control replica");
                    }
                    self.current.store(at, Ordering::Relaxed);
                    return Ok(v);
                }
                Err(e) => {
                    if n > 1 {
                        tracing::warn!(edge = %self.edge, control = %self.bases[at], "control replica failed: {e:#}");
                    }
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| anyhow!("no control URL")))
    }

    fn get_desired(&self, after: u64) -> anyhow::Result<EdgeDesired> {
        self.failover(|base| self.get_desired_from(base, after))
    }

    /// Reports go to every replica (each answers live-state GETs from the reports it
    /// holds, so any of them can serve a circuit's links and route tables); it is enough
    /// that one takes it.
    fn put_report(&self, report: &EdgeReport) -> anyhow::Result<()> {
        let mut last = None;
        let mut delivered = false;
        for base in self.bases.iter() {
            match self.put_report_to(base, report) {
                Ok(()) => delivered = true,
                Err(e) => last = Some(e),
            }
        }
        match (delivered, last) {
            (true, _) => Ok(()),
            (false, Some(e)) => Err(e),
            (false, None) => Err(anyhow!("no control URL")),
        }
    }

    fn get_desired_from(&self, base: &str, after: u64) -> anyhow::Result<EdgeDesired> {
        let url = format!("{base}/edge/v1/{}/desired?after={after}", self.edge);
        let mut resp = self
            .agent
            .get(&url)
            .header("Authorization", &format!("Bearer {}", self.token))
            .call()
            .with_context(|| format!("GET {url}"))?;
        let status = resp.status();
        let body = resp.body_mut().read_to_string()?;
        if !status.is_success() {
            bail!("GET {url}: {status}: {body}");
        }
        Ok(serde_json::from_str(&body)?)
    }

    fn put_report_to(&self, base: &str, report: &EdgeReport) -> anyhow::Result<()> {
        let url = format!("{base}/edge/v1/{}/report", self.edge);
        let mut resp = self
            .agent
            .put(&url)
            .header("Authorization", &format!("Bearer {}", self.token))
            .header("Content-Type", "application/json")
            .send(serde_json::to_string(report)?)
            .with_context(|| format!("PUT {url}"))?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.body_mut().read_to_string().unwrap_or_default();
            bail!("PUT {url}: {status}: {body}");
        }
        Ok(())
    }
}

impl ControlLink for Remote {
    async fn desired(&self, after: u64) -> anyhow::Result<EdgeDesired> {
        let this = self.clone_handle();
        tokio::task::spawn_blocking(move || this.get_desired(after)).await?
    }

    async fn report(&self, report: EdgeReport) -> anyhow::Result<()> {
        let this = self.clone_handle();
        tokio::task::spawn_blocking(move || this.put_report(&report)).await?
    }
}

impl Remote {
    fn clone_handle(&self) -> Remote {
        Remote {
            agent: self.agent.clone(),
            bases: self.bases.clone(),
            current: self.current.clone(),
            edge: self.edge.clone(),
            token: self.token.clone(),
        }
    }
}

/// `causeway edge --control URL --name NAME --token FILE`: one edge as its own process.
pub fn run_remote(
    control: Vec<String>,
    name: String,
    token: PathBuf,
    ca: Option<PathBuf>,
    insecure: bool,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(async move {
        let link = Arc::new(Remote::new(&control, &name, &token, ca.as_ref(), insecure)?);
        let edge = edge::Edge::start(empty_config()).await?;
        let agent = Arc::new(Agent::new(name.clone(), edge.clone()));
        tracing::info!(edge = %name, control = %control.join(","), "following the control plane");
        let run = tokio::spawn(agent.clone().run(link));
        control::wait_for_signal().await;
        run.abort();
        edge.shutdown(edge::SHUTDOWN_MESSAGE).await;
        Ok(())
    })
}
