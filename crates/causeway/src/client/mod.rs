//! The `causeway` client: commands shaped like `az network express-route` that talk ARM to a
//! running control plane.
//!
//! Where the endpoint and the token come from, first match wins: flags (`--endpoint`,
//! `--token`), the environment (`CAUSEWAY_ENDPOINT`, `CAUSEWAY_TOKEN`,
//! `CAUSEWAY_SUBSCRIPTION`), the profile (`--profile PATH`, else
//! `$XDG_CONFIG_HOME/causeway/profile.toml` or `~/.config/causeway/profile.toml`), and last
//! the local server's defaults: `https://127.0.0.1:8443` and `<data-dir>/admin.token`, the
//! data directory being `CAUSEWAY_DATA_DIR` or the XDG one `causeway serve` uses. Over
//! HTTPS to a loopback endpoint the server's self-signed `<data-dir>/tls.crt` is trusted when
//! it exists; `--ca-cert PEM` trusts another, `--insecure` skips verification.
//!
//! ```toml
//! endpoint = "https://causeway.example.net:8443"
//! token_file = "~/.config/causeway/token"     # or: token = "cw_..."
//! subscription = "6f1c...-..."
//! insecure = false
//! ca_cert = "/etc/causeway/ca.pem"
//! ```
//!
//! Errors print as `error: <Code>: <message>` (the ARM error body) and exit with status 1.
//! Long-running operations are followed to their end (`Azure-AsyncOperation`, honouring
//! `Retry-After`), so `create` prints the final resource.

pub mod ce_config;
mod circuit;
pub mod output;
mod peering;
mod provider;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand};
use serde::Deserialize;
use serde_json::Value;

use self::output::Output;

/// The api-version the client speaks (what Terraform azurerm pins).
pub const API_VERSION: &str = "2024-05-01";
/// Where `causeway serve` listens by default.
pub const DEFAULT_ENDPOINT: &str = "https://127.0.0.1:8443";
/// How long a long-running operation may take before the client gives up waiting.
const LRO_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Upper bound on one `Retry-After` wait.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The client subcommands (flattened into `causeway`'s own).
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// List the connectivity providers with their peering locations and bandwidths.
    ListServiceProviders(circuit::ListProvidersArgs),
    /// Create (or replace) an ExpressRoute circuit.
    Create(circuit::CreateArgs),
    /// Show a circuit.
    Show(circuit::ShowArgs),
    /// List circuits in a resource group, or in the whole subscription.
    List(circuit::ListArgs),
    /// Change a circuit's bandwidth, SKU or tags.
    Update(circuit::UpdateArgs),
    /// Delete a circuit (its provider must have deprovisioned it).
    Delete(circuit::ShowArgs),
    /// Circuit peerings (AzurePrivatePeering, MicrosoftPeering).
    Peering {
        #[command(subcommand)]
        command: peering::PeeringCommand,
    },
    /// Circuit authorizations (keys that let another subscription connect).
    Auth {
        #[command(subcommand)]
        command: peering::AuthCommand,
    },
    /// The routes of one link of a peering (POST routeTables).
    ListRouteTables(circuit::TableArgs),
    /// The BGP neighbour summary of one link of a peering (POST routeTablesSummary).
    ListRouteTablesSummary(circuit::TableArgs),
    /// The ARP table of one link of a peering (POST arpTables).
    ListArpTables(circuit::TableArgs),
    /// Traffic counters of a circuit or one of its peerings.
    GetStats(circuit::StatsArgs),
    /// The customer-side router configuration of both links (BIRD, FRR, Junos, IOS XE, EOS).
    CeConfig(ce_config::CeConfigArgs),
    /// Provider side: the cross-connections of circuits ordered through you.
    CrossConnection {
        #[command(subcommand)]
        command: provider::CrossConnectionCommand,
    },
}

/// Connection and output options every client command takes.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Connection")]
pub struct Conn {
    /// Control plane URL [default: the profile's, else https://127.0.0.1:8443].
    #[arg(long, env = "CAUSEWAY_ENDPOINT")]
    pub endpoint: Option<String>,
    /// Bearer token [default: the profile's, else <data-dir>/admin.token].
    #[arg(long, env = "CAUSEWAY_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Subscription id [default: the profile's].
    #[arg(long, env = "CAUSEWAY_SUBSCRIPTION")]
    pub subscription: Option<String>,
    /// Profile file [default: ~/.config/causeway/profile.toml].
    #[arg(long, env = "CAUSEWAY_PROFILE")]
    pub profile: Option<PathBuf>,
    /// Do not verify the server's TLS certificate.
    #[arg(long)]
    pub insecure: bool,
    /// Trust this PEM certificate (or CA) for HTTPS.
    #[arg(long, env = "CAUSEWAY_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    /// Output format [default: table for lists, json otherwise].
    #[arg(long, short = 'o', value_enum)]
    pub output: Option<Output>,
    /// The api-version to send.
    #[arg(long, hide = true, default_value = API_VERSION)]
    pub api_version: String,
}

/// Runs a client command; failures print `error: ...` and exit with status 1.
pub fn run(command: ClientCommand) -> anyhow::Result<()> {
    if let Err(e) = dispatch(command) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
    Ok(())
}

fn dispatch(command: ClientCommand) -> anyhow::Result<()> {
    match command {
        ClientCommand::ListServiceProviders(a) => circuit::list_service_providers(&a),
        ClientCommand::Create(a) => circuit::create(&a),
        ClientCommand::Show(a) => circuit::show(&a),
        ClientCommand::List(a) => circuit::list(&a),
        ClientCommand::Update(a) => circuit::update(&a),
        ClientCommand::Delete(a) => circuit::delete(&a),
        ClientCommand::Peering { command } => peering::peering(command),
        ClientCommand::Auth { command } => peering::auth(command),
        ClientCommand::ListRouteTables(a) => circuit::table(&a, circuit::TableKind::Routes),
        ClientCommand::ListRouteTablesSummary(a) => circuit::table(&a, circuit::TableKind::Summary),
        ClientCommand::ListArpTables(a) => circuit::table(&a, circuit::TableKind::Arp),
        ClientCommand::GetStats(a) => circuit::stats(&a),
        ClientCommand::CeConfig(a) => ce_config::ce_config(&a),
        ClientCommand::CrossConnection { command } => provider::cross_connection(command),
    }
}

// ===== profile =====

/// `profile.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub endpoint: Option<String>,
    pub token: Option<String>,
    pub token_file: Option<PathBuf>,
    pub subscription: Option<String>,
    pub insecure: Option<bool>,
    pub ca_cert: Option<PathBuf>,
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// `$XDG_CONFIG_HOME/causeway/profile.toml`, else `~/.config/causeway/profile.toml`.
pub fn default_profile_path() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
        return Some(PathBuf::from(x).join("causeway/profile.toml"));
    }
    home().map(|h| h.join(".config/causeway/profile.toml"))
}

/// `~/x` is the home directory's `x`; relative paths are relative to the profile's directory.
fn resolve(path: &Path, base: &Path) -> PathBuf {
    if let Ok(rest) = path.strip_prefix("~")
        && let Some(h) = home()
    {
        return h.join(rest);
    }
    if path.is_relative() {
        base.join(path)
    } else {
        path.to_owned()
    }
}

impl Profile {
    /// The profile named by `--profile` (must exist) or the default one (may be absent).
    pub fn load(explicit: Option<&Path>) -> anyhow::Result<Profile> {
        let (path, required) = match explicit {
            Some(p) => (p.to_owned(), true),
            None => match default_profile_path() {
                Some(p) => (p, false),
                None => return Ok(Profile::default()),
            },
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Profile::default());
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let mut p: Profile =
            toml::from_str(&text).with_context(|| format!("profile {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new(".")).to_owned();
        p.token_file = p.token_file.map(|f| resolve(&f, &base));
        p.ca_cert = p.ca_cert.map(|f| resolve(&f, &base));
        Ok(p)
    }
}

/// TLS settings for talking to a control plane: no verification (`insecure`), or the
/// platform's roots replaced by the certificate(s) in `ca_cert`, or the platform's roots.
pub fn tls_config(ca_cert: Option<&Path>, insecure: bool) -> anyhow::Result<ureq::tls::TlsConfig> {
    let mut tls = ureq::tls::TlsConfig::builder();
    if insecure {
        tls = tls.disable_verification(true);
    } else if let Some(path) = ca_cert {
        let pem = std::fs::read(path)
            .with_context(|| format!("cannot read certificate {}", path.display()))?;
        let certs = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(Ok(c)),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            })
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("cannot parse certificate {}", path.display()))?;
        if certs.is_empty() {
            bail!("{} holds no PEM certificate", path.display());
        }
        tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
    }
    Ok(tls.build())
}

/// Where `causeway serve` keeps `admin.token` and `tls.crt` on this machine.
fn local_data_dir() -> PathBuf {
    std::env::var_os("CAUSEWAY_DATA_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(control::default_data_dir)
}

// ===== URLs =====

/// `(scheme, host, port)` of an absolute http(s) URL.
fn origin(url: &str) -> Option<(String, String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None => default_port,
        };
        (h.to_owned(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), p.parse().ok()?),
            None => (authority.to_owned(), default_port),
        }
    };
    if host.is_empty() {
        return None;
    }
    Some((scheme, host.to_ascii_lowercase(), port))
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|a| a.is_loopback())
}

/// Percent-encodes one path segment (names may hold spaces and the like).
pub fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ===== the HTTP client =====

/// An ARM error answer, printed as `Code: message`.
#[derive(Debug)]
pub struct ArmError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for ArmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ArmError {}

/// One answer: status, the headers the client needs, the JSON body if any.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub async_operation: Option<String>,
    pub location: Option<String>,
    pub retry_after: Option<Duration>,
    pub body: Option<Value>,
}

/// A connection to the control plane.
#[derive(Debug)]
pub struct Client {
    agent: ureq::Agent,
    endpoint: String,
    origin: (String, String, u16),
    token: String,
    subscription: Option<String>,
    api_version: String,
}

impl Client {
    pub fn connect(conn: &Conn) -> anyhow::Result<Client> {
        let profile = Profile::load(conn.profile.as_deref())?;
        let endpoint = conn
            .endpoint
            .clone()
            .or(profile.endpoint)
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned());
        let endpoint = endpoint.trim().trim_end_matches('/').to_owned();
        let origin = origin(&endpoint)
            .ok_or_else(|| anyhow!("endpoint '{endpoint}' is not an http:// or https:// URL"))?;
        let data_dir = local_data_dir();
        let token = match (conn.token.clone(), profile.token, profile.token_file) {
            (Some(t), _, _) | (None, Some(t), _) => t,
            (None, None, Some(file)) => std::fs::read_to_string(&file).with_context(|| {
                format!("cannot read the profile's token_file {}", file.display())
            })?,
            (None, None, None) => {
                let file = data_dir.join("admin.token");
                std::fs::read_to_string(&file).map_err(|e| {
                    anyhow!(
                        "no token: give --token, set CAUSEWAY_TOKEN or put token/token_file in the \
                         profile (the local admin token {} cannot be read: {e})",
                        file.display()
                    )
                })?
            }
        };
        let token = token.trim().to_owned();
        if token.is_empty() {
            bail!("the bearer token is empty");
        }
        let insecure = conn.insecure || profile.insecure.unwrap_or(false);
        let ca_cert = conn.ca_cert.clone().or(profile.ca_cert).or_else(|| {
            let local = data_dir.join("tls.crt");
            (origin.0 == "https" && is_loopback(&origin.1) && local.exists()).then_some(local)
        });
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .tls_config(tls_config(ca_cert.as_deref(), insecure)?)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(Duration::from_secs(120)))
            .user_agent(format!("causeway-cli/{}", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Client {
            agent: ureq::Agent::new_with_config(config),
            endpoint,
            origin,
            token,
            subscription: conn.subscription.clone().or(profile.subscription),
            api_version: conn.api_version.clone(),
        })
    }

    /// The subscription every path starts with.
    pub fn subscription(&self) -> anyhow::Result<&str> {
        self.subscription.as_deref().ok_or_else(|| {
            anyhow!(
                "no subscription: give --subscription, set CAUSEWAY_SUBSCRIPTION or put \
                 subscription in the profile"
            )
        })
    }

    /// `/subscriptions/{sub}` + `rest`.
    pub fn sub_path(&self, rest: &str) -> anyhow::Result<String> {
        Ok(format!(
            "/subscriptions/{}{rest}",
            seg(self.subscription()?)
        ))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}?api-version={}", self.endpoint, self.api_version)
    }

    /// Links the server hands out must point back at it: the token goes nowhere else.
    fn check_origin(&self, url: &str) -> anyhow::Result<()> {
        if origin(url).as_ref() == Some(&self.origin) {
            Ok(())
        } else {
            bail!(
                "the server sent a link to '{url}', outside {}; not following it",
                self.endpoint
            )
        }
    }

    /// One request to an absolute URL; ARM error answers become [`ArmError`].
    pub fn send(
        &self,
        method: &str,
        url: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> anyhow::Result<Resp> {
        let auth = format!("Bearer {}", self.token);
        macro_rules! decorate {
            ($rb:expr) => {{
                let rb = $rb
                    .header("Authorization", auth.as_str())
                    .header("Accept", "application/json");
                match if_match {
                    Some(m) => rb.header("If-Match", m),
                    None => rb,
                }
            }};
        }
        let payload = body.map(Value::to_string).unwrap_or_default();
        let json = "application/json";
        let result = match method {
            "GET" => decorate!(self.agent.get(url)).call(),
            "DELETE" => decorate!(self.agent.delete(url)).call(),
            "PUT" => decorate!(self.agent.put(url))
                .header("Content-Type", json)
                .send(payload.as_bytes()),
            "PATCH" => decorate!(self.agent.patch(url))
                .header("Content-Type", json)
                .send(payload.as_bytes()),
            "POST" => decorate!(self.agent.post(url))
                .header("Content-Type", json)
                .send(payload.as_bytes()),
            other => bail!("unsupported method {other}"),
        };
        let mut resp = result.map_err(|e| {
            let hint = if e.to_string().contains("certificate") {
                " (trust the server's certificate with --ca-cert PEM, or skip checking with --insecure)"
            } else {
                ""
            };
            anyhow!("cannot reach {}: {e}{hint}", self.endpoint)
        })?;
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let async_operation = header("azure-asyncoperation");
        let location = header("location");
        let retry_after = header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = resp
            .body_mut()
            .read_to_string()
            .map_err(|e| anyhow!("cannot read the answer from {}: {e}", self.endpoint))?;
        let parsed: Option<Value> = if text.trim().is_empty() {
            None
        } else {
            serde_json::from_str(&text).ok()
        };
        if status >= 400 {
            let err = parsed.as_ref().and_then(|b| b.get("error"));
            let field = |k: &str| {
                err.and_then(|e| e.get(k))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            return Err(ArmError {
                status,
                code: field("code").unwrap_or_else(|| format!("HTTP{status}")),
                message: field("message").unwrap_or_else(|| {
                    let t = text.trim();
                    if t.is_empty() {
                        format!("{method} {url} answered {status}")
                    } else {
                        t.chars().take(500).collect()
                    }
                }),
            }
            .into());
        }
        if parsed.is_none() && !text.trim().is_empty() {
            bail!("{method} {url} answered {status} with a body that is not JSON");
        }
        Ok(Resp {
            status,
            async_operation,
            location,
            retry_after,
            body: parsed,
        })
    }

    /// GET a resource.
    pub fn get(&self, path: &str) -> anyhow::Result<Value> {
        let r = self.send("GET", &self.url(path), None, None)?;
        r.body
            .ok_or_else(|| anyhow!("GET {path} answered {} without a body", r.status))
    }

    /// GET a resource; `None` when it does not exist.
    pub fn get_opt(&self, path: &str) -> anyhow::Result<Option<Value>> {
        match self.get(path) {
            Ok(v) => Ok(Some(v)),
            Err(e)
                if e.downcast_ref::<ArmError>()
                    .is_some_and(|a| a.status == 404) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Every item of a collection, following `nextLink`.
    pub fn list(&self, path: &str) -> anyhow::Result<Vec<Value>> {
        let mut items = Vec::new();
        let mut url = self.url(path);
        loop {
            let r = self.send("GET", &url, None, None)?;
            let body = r.body.unwrap_or(Value::Null);
            if let Some(v) = body.get("value").and_then(Value::as_array) {
                items.extend(v.iter().cloned());
            }
            match body.get("nextLink").and_then(Value::as_str) {
                Some(next) if !next.is_empty() => {
                    self.check_origin(next)?;
                    url = next.to_owned();
                }
                _ => return Ok(items),
            }
        }
    }

    /// PUT and wait for the operation; the resource as it is at the end.
    pub fn put(&self, path: &str, body: &Value, if_match: Option<&str>) -> anyhow::Result<Value> {
        let url = self.url(path);
        let r = self.send("PUT", &url, Some(body), if_match)?;
        if r.async_operation.is_some() || r.status == 202 {
            self.follow(&r, false)?;
            return self.get(path);
        }
        r.body
            .ok_or_else(|| anyhow!("PUT {path} answered {} without a body", r.status))
    }

    /// PUT to a path outside ARM (the admin API), no operation to follow.
    pub fn put_absolute(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.endpoint);
        let r = self.send("PUT", &url, Some(body), None)?;
        Ok(r.body.unwrap_or(Value::Null))
    }

    /// PATCH (synchronous in ARM for tags).
    pub fn patch(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let url = self.url(path);
        let r = self.send("PATCH", &url, Some(body), None)?;
        if r.async_operation.is_some() || r.status == 202 {
            self.follow(&r, false)?;
            return self.get(path);
        }
        r.body
            .ok_or_else(|| anyhow!("PATCH {path} answered {} without a body", r.status))
    }

    /// DELETE and wait for the operation.
    pub fn delete(&self, path: &str) -> anyhow::Result<()> {
        let r = self.send("DELETE", &self.url(path), None, None)?;
        if r.status == 202 || r.async_operation.is_some() {
            self.follow(&r, false)?;
        }
        Ok(())
    }

    /// POST a JSON body to `path` and answer the body (no long-running operation).
    pub fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let r = self.send("POST", &self.url(path), Some(body), None)?;
        r.body
            .ok_or_else(|| anyhow!("POST {path} answered {} without a body", r.status))
    }

    /// POST an action and wait for its result.
    pub fn post_action(&self, path: &str) -> anyhow::Result<Value> {
        let r = self.send("POST", &self.url(path), None, None)?;
        if r.status == 202 || r.async_operation.is_some() {
            return Ok(self.follow(&r, true)?.unwrap_or(Value::Null));
        }
        Ok(r.body.unwrap_or(Value::Null))
    }

    /// Follows a long-running operation: polls `Azure-AsyncOperation` (else `Location`)
    /// after each `Retry-After` until it ends. With `want_result`, answers the body of the
    /// operation's result (the `Location` URL).
    fn follow(&self, first: &Resp, want_result: bool) -> anyhow::Result<Option<Value>> {
        let deadline = Instant::now() + LRO_TIMEOUT;
        let wait = |r: &Resp| {
            std::thread::sleep(
                r.retry_after
                    .unwrap_or(Duration::from_secs(1))
                    .min(MAX_RETRY_AFTER),
            );
        };
        if let Some(op_url) = &first.async_operation {
            self.check_origin(op_url)?;
            let mut last = None::<Resp>;
            loop {
                wait(last.as_ref().unwrap_or(first));
                let r = self.send("GET", op_url, None, None)?;
                let body = r.body.clone().unwrap_or(Value::Null);
                let status = body.get("status").and_then(Value::as_str).unwrap_or("");
                if status.eq_ignore_ascii_case("Succeeded") {
                    break;
                }
                if status.eq_ignore_ascii_case("Failed") || status.eq_ignore_ascii_case("Canceled")
                {
                    let e = body.get("error");
                    let field = |k: &str| {
                        e.and_then(|e| e.get(k))
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    };
                    return Err(ArmError {
                        status: 200,
                        code: field("code").unwrap_or_else(|| format!("Operation{status}")),
                        message: field("message")
                            .unwrap_or_else(|| format!("the operation ended {status}")),
                    }
                    .into());
                }
                if Instant::now() > deadline {
                    bail!("gave up waiting for the operation at {op_url}");
                }
                last = Some(r);
            }
            if !want_result {
                return Ok(None);
            }
            let Some(loc) = &first.location else {
                return Ok(None);
            };
            self.check_origin(loc)?;
            return Ok(self.send("GET", loc, None, None)?.body);
        }
        if let Some(loc) = &first.location {
            self.check_origin(loc)?;
            let mut last = None::<Resp>;
            loop {
                wait(last.as_ref().unwrap_or(first));
                let r = self.send("GET", loc, None, None)?;
                if r.status != 202 {
                    return Ok(r.body);
                }
                if Instant::now() > deadline {
                    bail!("gave up waiting for the operation at {loc}");
                }
                last = Some(r);
            }
        }
        Ok(first.body.clone())
    }
}

/// `--tags k=v k2=v2` as a JSON object (`--tags ""` clears them).
pub fn tags_json(tags: &[String]) -> Value {
    let mut m = serde_json::Map::new();
    for t in tags {
        let t = t.trim();
        if t.is_empty() {
            continue;
        }
        let (k, v) = t.split_once('=').unwrap_or((t, ""));
        m.insert(k.to_owned(), Value::String(v.to_owned()));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_compare_scheme_host_and_port() {
        assert_eq!(
            origin("https://127.0.0.1:8443/subscriptions/x?api-version=1"),
            Some(("https".into(), "127.0.0.1".into(), 8443))
        );
        assert_eq!(
            origin("HTTP://LocalHost/x"),
            Some(("http".into(), "localhost".into(), 80))
        );
        assert_eq!(
            origin("https://[::1]/x"),
            Some(("https".into(), "::1".into(), 443))
        );
        assert_eq!(origin("ftp://x"), None);
        assert_eq!(origin("127.0.0.1:8443"), None);
        assert!(is_loopback("::1") && is_loopback("127.0.0.1") && is_loopback("localhost"));
        assert!(!is_loopback("example.net"));
    }

    #[test]
    fn tags_parse_like_az() {
        let t = tags_json(&["env=prod".into(), "owner".into(), "".into(), "a=b=c".into()]);
        assert_eq!(
            t,
            serde_json::json!({"env": "prod", "owner": "", "a": "b=c"})
        );
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(seg("Causeway Lab"), "Causeway%20Lab");
        assert_eq!(seg("rg-1_x.y"), "rg-1_x.y");
    }
}
