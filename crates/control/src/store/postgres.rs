//! The PostgreSQL backend: one database shared by any number of control replicas.
//!
//! - Driver: tokio-postgres with a deadpool-postgres connection pool. The store's contract
//!   is synchronous (handlers run on the blocking pool, GETs on the runtime's threads), so
//!   the connections' I/O tasks run on a small runtime of their own ([`runtime`]) and a
//!   statement is awaited with a plain executor ([`wait`]): the client's futures only talk
//!   to the connection task over channels, so they can be awaited from any thread, a
//!   runtime worker included, with no nested-runtime panic.
//! - Every connection runs with `synchronous_commit = on`: a commit the API acknowledged is
//!   on the primary's disk.
//! - A write transaction takes a transaction-scoped advisory lock ([`WRITE_LOCK`]) first,
//!   so writers on every replica queue in the database and each sees every commit before
//!   it; the rules checked inside it (etags, uniqueness, limits) hold at commit, and the
//!   generation row it bumps numbers commits in commit order. The lock goes with the
//!   transaction, or with the connection if its replica dies.
//! - Each commit that changed something notifies `causeway_changes` with its generation;
//!   every replica listens ([`Pool::listen`]; one channel per schema) and wakes its edges' long polls.
//! - Schema migrations are versioned (`causeway_schema`), applied at start under an
//!   advisory lock (two replicas starting at once do not race), and a database whose
//!   version is newer than this binary's is refused.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, RecyclingMethod};
use tokio_postgres::types::ToSql;
use tokio_postgres::{AsyncMessage, NoTls, Row};

use super::{Ops, Result, Store, StoreError, TokenRecord};

/// The advisory lock every write transaction holds ("Causeway" in ASCII, as an i64).
pub const WRITE_LOCK: i64 = 0x4361_7573_6577_6179;
/// The advisory lock migrations run under.
const MIGRATE_LOCK: i64 = WRITE_LOCK + 1;
/// The advisory lock of the replica that runs the work done once (see [`Pool::lease`]).
const LEASE_LOCK: i64 = WRITE_LOCK + 2;
/// The notification channel commits announce their generation on, per schema (stores in
/// other schemas of the same database have channels of their own).
fn channel(schema: &str) -> String {
    let clean: String = schema
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("causeway_changes_{clean}")
}
/// Connections per pool (per replica).
const POOL_SIZE: usize = 16;

/// The schema, one entry per version: version N is `MIGRATIONS[N - 1]`. Never edit an
/// entry once released; add one.
const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE objects (
        id TEXT COLLATE \"C\" PRIMARY KEY,
        kind TEXT COLLATE \"C\" NOT NULL,
        sub TEXT COLLATE \"C\" NOT NULL,
        rg TEXT COLLATE \"C\" NOT NULL,
        seq BIGINT NOT NULL UNIQUE,
        body TEXT NOT NULL
    );
    CREATE INDEX objects_rg ON objects(kind, sub, rg, seq);
    CREATE INDEX objects_sub ON objects(kind, sub, seq);
    CREATE INDEX objects_kind ON objects(kind, seq);
    CREATE TABLE refs (
        rel TEXT COLLATE \"C\" NOT NULL,
        dst TEXT COLLATE \"C\" NOT NULL,
        seq BIGINT NOT NULL,
        src TEXT COLLATE \"C\" NOT NULL,
        PRIMARY KEY (rel, dst, seq, src)
    );
    CREATE INDEX refs_src ON refs(src);
    CREATE TABLE uniques (
        scope TEXT COLLATE \"C\" NOT NULL,
        value TEXT COLLATE \"C\" NOT NULL,
        owner TEXT COLLATE \"C\" NOT NULL,
        PRIMARY KEY (scope, value)
    );
    CREATE INDEX uniques_owner ON uniques(owner);
    CREATE TABLE changes (
        generation BIGINT NOT NULL,
        target TEXT COLLATE \"C\" NOT NULL
    );
    CREATE INDEX changes_generation ON changes(generation);
    CREATE TABLE operations (
        id TEXT COLLATE \"C\" PRIMARY KEY,
        body TEXT NOT NULL,
        created BIGINT NOT NULL DEFAULT 0
    );
    CREATE INDEX operations_created ON operations(created);
    CREATE TABLE meta (
        key TEXT COLLATE \"C\" PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE tokens (
        id TEXT COLLATE \"C\" PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        principal TEXT NOT NULL,
        created TEXT COLLATE \"C\" NOT NULL,
        revoked BOOLEAN NOT NULL DEFAULT FALSE
    );",
    "
    CREATE INDEX objects_scope_sub ON objects(sub, seq);
    CREATE INDEX objects_scope_rg ON objects(sub, rg, seq);",
];

/// The schema version this binary writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The runtime the connections' I/O tasks run on (never dropped: pools come and go in
/// tests, often inside another runtime, where dropping a runtime is not allowed).
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("causeway-pg")
            .enable_all()
            .build()
            .expect("invariant: the PostgreSQL I/O runtime starts")
    })
}

/// Awaits a client future on this thread (see the module documentation).
fn wait<F: Future>(f: F) -> F::Output {
    futures_executor::block_on(f)
}

/// Runs a future on the I/O runtime and waits for it (pool checkouts, which may open a
/// connection and so spawn its task).
fn on_runtime<T: Send + 'static>(f: impl Future<Output = T> + Send + 'static) -> Result<T> {
    wait(runtime().spawn(f)).map_err(|e| StoreError::Unavailable(e.to_string()))
}

/// The connections of one replica to the shared database.
pub struct Pool {
    pool: deadpool_postgres::Pool,
    config: tokio_postgres::Config,
    channel: Arc<str>,
    listener: std::sync::Mutex<Option<tokio::task::AbortHandle>>,
    /// The lease's own connection (a session-level advisory lock lives as long as it).
    lease: std::sync::Mutex<Option<LeaseConn>>,
}

/// A connection holding, or trying for, the lease.
struct LeaseConn {
    client: tokio_postgres::Client,
    task: tokio::task::JoinHandle<()>,
    held: bool,
}

impl Drop for LeaseConn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("hosts", &self.config.get_hosts())
            .field("dbname", &self.config.get_dbname())
            .finish_non_exhaustive()
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        if let Some(h) = self
            .listener
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            h.abort();
        }
        self.pool.close();
    }
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl Pool {
    /// Connects to `url`, applies the migrations this binary has and the database lacks,
    /// and refuses a database written by a newer binary. `schema`, if given, is created
    /// when missing and used instead of the database's default (`public`).
    pub fn connect(url: &str, schema: Option<&str>) -> Result<Pool> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Schema(format!("invalid PostgreSQL URL: {e}")))?;
        if config.get_application_name().is_none() {
            config.application_name("causeway");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        let mut options = config.get_options().unwrap_or_default().to_owned();
        options.push_str(" -c synchronous_commit=on");
        if let Some(schema) = schema {
            if schema.is_empty()
                || !schema
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                return Err(StoreError::Schema(format!(
                    "schema name {schema:?}: use lower-case letters, digits and '_'"
                )));
            }
            let plain = config.clone();
            let create = format!("CREATE SCHEMA IF NOT EXISTS {schema}");
            on_runtime(async move {
                let (client, conn) = plain.connect(NoTls).await?;
                let task = tokio::spawn(conn);
                let r = client.batch_execute(&create).await;
                drop(client);
                let _ = task.await;
                r
            })??;
            options.push_str(&format!(" -c search_path={schema}"));
        }
        config.options(options.trim());
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(5)))
            .wait_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(unavailable)?;
        let mut pool = Pool {
            pool,
            config,
            channel: Arc::from(""),
            listener: std::sync::Mutex::new(None),
            lease: std::sync::Mutex::new(None),
        };
        let conn = pool.conn()?;
        let schema: String = conn.query_one("SELECT current_schema()", &[])?.get(0);
        pool.channel = Arc::from(channel(&schema));
        drop(conn);
        let conn = pool.conn()?;
        conn.migrate()?;
        let sync: String = conn
            .query_one("SELECT current_setting('synchronous_commit')", &[])?
            .get(0);
        if sync == "off" {
            return Err(StoreError::Schema(format!(
                "synchronous_commit is {sync}: an acknowledged write could be lost"
            )));
        }
        Ok(pool)
    }

    fn conn(&self) -> Result<Conn> {
        let pool = self.pool.clone();
        let client = on_runtime(async move { pool.get().await })?.map_err(unavailable)?;
        Ok(Conn {
            client,
            channel: self.channel.clone(),
        })
    }

    /// One connection as a [`Store`] (one that answers every statement with the reason
    /// when the database cannot be reached).
    pub fn store(&self) -> Store {
        match self.conn() {
            Ok(c) => Store::postgres(c),
            Err(e) => Store::down(e.to_string()),
        }
    }

    /// Whether this replica holds the lease on the work that runs on one replica at a time
    /// (operation expiry, anything periodic), taking it if it is free. The lease is a
    /// session-level advisory lock on a connection of its own: it is this replica's until
    /// that connection ends, and the database releases it when the replica dies, so the
    /// next replica to ask takes it over.
    pub fn lease(&self) -> bool {
        let mut slot = self.lease.lock().unwrap_or_else(|e| e.into_inner());
        if slot.as_ref().is_some_and(|l| l.client.is_closed()) {
            *slot = None;
        }
        if slot.is_none() {
            let config = self.config.clone();
            let connected = on_runtime(async move {
                let (client, conn) = config.connect(NoTls).await?;
                let task = tokio::spawn(async move {
                    let _ = conn.await;
                });
                Ok::<_, tokio_postgres::Error>((client, task))
            });
            match connected {
                Ok(Ok((client, task))) => {
                    *slot = Some(LeaseConn {
                        client,
                        task,
                        held: false,
                    })
                }
                Ok(Err(e)) => {
                    tracing::warn!("lease: {e}");
                    return false;
                }
                Err(e) => {
                    tracing::warn!("lease: {e}");
                    return false;
                }
            }
        }
        let Some(l) = slot.as_mut() else {
            return false;
        };
        let q = if l.held {
            // Still ours while the connection answers.
            "SELECT TRUE".to_owned()
        } else {
            format!("SELECT pg_try_advisory_lock({LEASE_LOCK})")
        };
        match wait(l.client.query_one(&q, &[])) {
            Ok(row) => {
                let held: bool = row.get(0);
                if held && !l.held {
                    tracing::info!("this replica holds the lease on the work done once");
                }
                l.held = held;
                held
            }
            Err(e) => {
                tracing::warn!("lease: {e}");
                *slot = None;
                false
            }
        }
    }

    /// Calls `f` with the generation of every commit any replica makes, and with the
    /// current one each time the listening connection is (re)established, so a missed
    /// notification is never a missed change.
    pub fn listen(&self, f: impl Fn(u64) + Send + Sync + 'static) {
        let config = self.config.clone();
        let channel = self.channel.clone();
        let f = Arc::new(f);
        let task = runtime().spawn(async move {
            loop {
                if let Err(e) = listen_once(&config, &channel, f.as_ref()).await {
                    tracing::warn!("change notifications: {e}; reconnecting");
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        if let Some(old) = self
            .listener
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(task.abort_handle())
        {
            old.abort();
        }
    }
}

async fn listen_once(
    config: &tokio_postgres::Config,
    channel: &str,
    f: &(dyn Fn(u64) + Send + Sync),
) -> std::result::Result<(), tokio_postgres::Error> {
    let (client, mut conn) = config.connect(NoTls).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        while let Some(m) = std::future::poll_fn(|cx| conn.poll_message(cx)).await {
            match m {
                Ok(AsyncMessage::Notification(n)) => {
                    if tx.send(Some(n.payload().to_owned())).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        let _ = tx.send(None);
    });
    let result = async {
        client.batch_execute(&format!("LISTEN {channel}")).await?;
        if let Some(row) = client
            .query_opt("SELECT value FROM meta WHERE key = 'generation'", &[])
            .await?
            && let Ok(g) = row.get::<_, String>(0).parse()
        {
            f(g);
        }
        while let Some(Some(payload)) = rx.recv().await {
            if let Ok(g) = payload.parse() {
                f(g);
            }
        }
        Ok(())
    }
    .await;
    driver.abort();
    result
}

/// Creates database `name` on the server at `url` (tests and benchmarks give each run a
/// database of its own); the new database's URL.
pub fn create_database(url: &str, name: &str) -> Result<String> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(StoreError::Schema(format!(
            "database name {name:?}: use a-z, 0-9 and '_'"
        )));
    }
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| StoreError::Schema(format!("invalid PostgreSQL URL: {e}")))?;
    let sql = format!("CREATE DATABASE {name}");
    let plain = config.clone();
    on_runtime(async move {
        let (client, conn) = plain.connect(NoTls).await?;
        let task = tokio::spawn(conn);
        let r = client.batch_execute(&sql).await;
        drop(client);
        let _ = task.await;
        r
    })??;
    config.dbname(name);
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let root = match base.rfind('/') {
        Some(i) if i > base.find("://").map_or(0, |s| s + 2) => &base[..i],
        _ => base,
    };
    Ok(match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    })
}

// ===== one connection =====

/// One pooled connection.
pub struct Conn {
    client: Object,
    channel: Arc<str>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn").finish_non_exhaustive()
    }
}

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

impl Conn {
    fn query(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
        wait(async {
            let st = self.client.prepare_cached(sql).await?;
            Ok(self.client.query(&st, params).await?)
        })
    }

    fn query_opt(&self, sql: &str, params: Params<'_>) -> Result<Option<Row>> {
        wait(async {
            let st = self.client.prepare_cached(sql).await?;
            Ok(self.client.query_opt(&st, params).await?)
        })
    }

    fn query_one(&self, sql: &str, params: Params<'_>) -> Result<Row> {
        wait(async {
            let st = self.client.prepare_cached(sql).await?;
            Ok(self.client.query_one(&st, params).await?)
        })
    }

    fn execute(&self, sql: &str, params: Params<'_>) -> Result<u64> {
        wait(async {
            let st = self.client.prepare_cached(sql).await?;
            Ok(self.client.execute(&st, params).await?)
        })
    }

    fn batch(&self, sql: &str) -> Result<()> {
        Ok(wait(self.client.batch_execute(sql))?)
    }

    fn pairs(&self, sql: &str, params: Params<'_>) -> Result<Vec<(i64, String)>> {
        Ok(self
            .query(sql, params)?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    fn one_string(&self, sql: &str, params: Params<'_>) -> Result<Option<String>> {
        Ok(self.query_opt(sql, params)?.map(|r| r.get(0)))
    }

    /// Applies the missing migrations in one transaction.
    fn migrate(&self) -> Result<()> {
        self.batch(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock({MIGRATE_LOCK});
             CREATE TABLE IF NOT EXISTS causeway_schema (version BIGINT NOT NULL);"
        ))?;
        let result = (|| -> Result<()> {
            let version: i64 = self
                .query_one("SELECT COALESCE(MAX(version), 0) FROM causeway_schema", &[])?
                .get(0);
            if version > SCHEMA_VERSION {
                return Err(StoreError::Schema(format!(
                    "the database's schema version is {version}, newer than this binary's \
                     ({SCHEMA_VERSION}): run a causeway at least as new as the newest replica"
                )));
            }
            for (i, m) in MIGRATIONS.iter().enumerate().skip(version as usize) {
                self.batch(m)?;
                self.execute(
                    "INSERT INTO causeway_schema (version) VALUES ($1)",
                    &[&(i as i64 + 1)],
                )?;
                tracing::info!("database schema migrated to version {}", i + 1);
            }
            Ok(())
        })();
        match result {
            Ok(()) => self.batch("COMMIT"),
            Err(e) => {
                let _ = self.batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Begins a write transaction: waits for the database-wide write lock.
    pub(super) fn begin(&mut self) -> Result<Transaction<'_>> {
        self.batch(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})"
        ))?;
        Ok(Transaction {
            conn: self,
            done: false,
        })
    }
}

/// An open write transaction; rolled back unless committed.
#[derive(Debug)]
pub struct Transaction<'a> {
    conn: &'a Conn,
    done: bool,
}

impl Transaction<'_> {
    pub(super) fn conn(&self) -> &Conn {
        self.conn
    }

    pub(super) fn commit(mut self) -> Result<()> {
        self.done = true;
        self.conn.batch("COMMIT")
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if !self.done
            && let Err(e) = self.conn.batch("ROLLBACK")
        {
            tracing::warn!("rollback failed: {e}");
        }
    }
}

fn token(r: &Row) -> TokenRecord {
    TokenRecord {
        id: r.get(0),
        hash: r.get(1),
        principal: r.get(2),
        created: r.get(3),
        revoked: r.get(4),
    }
}

impl Ops for Conn {
    fn get(&self, id: &str) -> Result<Option<String>> {
        self.one_string("SELECT body FROM objects WHERE id = $1", &[&id])
    }

    fn list(
        &self,
        kind: &str,
        sub: Option<&str>,
        rg: Option<&str>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, String)>> {
        match (sub, rg) {
            (Some(s), Some(g)) => self.pairs(
                "SELECT seq, body FROM objects WHERE kind = $1 AND sub = $2 AND rg = $3
                 AND seq > $4 ORDER BY seq LIMIT $5",
                &[&kind, &s, &g, &after, &limit],
            ),
            (Some(s), None) => self.pairs(
                "SELECT seq, body FROM objects WHERE kind = $1 AND sub = $2
                 AND seq > $3 ORDER BY seq LIMIT $4",
                &[&kind, &s, &after, &limit],
            ),
            (None, _) => self.pairs(
                "SELECT seq, body FROM objects WHERE kind = $1 AND seq > $2
                 ORDER BY seq LIMIT $3",
                &[&kind, &after, &limit],
            ),
        }
    }

    fn referrers(
        &self,
        rel: &str,
        dst: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, String)>> {
        self.pairs(
            "SELECT r.seq, o.body FROM refs r JOIN objects o ON o.id = r.src
             WHERE r.rel = $1 AND r.dst = $2 AND r.seq > $3 ORDER BY r.seq LIMIT $4",
            &[&rel, &dst, &after, &limit],
        )
    }

    fn count_referrers(&self, rel: &str, dst: &str) -> Result<i64> {
        Ok(self
            .query_one(
                "SELECT COUNT(*) FROM refs WHERE rel = $1 AND dst = $2",
                &[&rel, &dst],
            )?
            .get(0))
    }

    fn unique(&self, scope: &str, value: &str) -> Result<Option<String>> {
        self.one_string(
            "SELECT owner FROM uniques WHERE scope = $1 AND value = $2",
            &[&scope, &value],
        )
    }

    fn unique_values(&self, scope: &str) -> Result<Vec<String>> {
        Ok(self
            .query(
                "SELECT value FROM uniques WHERE scope = $1 ORDER BY value",
                &[&scope],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn count(&self, kind: &str) -> Result<i64> {
        Ok(self
            .query_one("SELECT COUNT(*) FROM objects WHERE kind = $1", &[&kind])?
            .get(0))
    }

    fn changes_after(&self, after: i64) -> Result<Vec<(i64, String)>> {
        self.pairs(
            "SELECT generation, target FROM changes WHERE generation > $1 ORDER BY generation",
            &[&after],
        )
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        self.one_string("SELECT value FROM meta WHERE key = $1", &[&key])
    }

    fn operation(&self, id: &str) -> Result<Option<String>> {
        self.one_string("SELECT body FROM operations WHERE id = $1", &[&id])
    }

    fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>> {
        Ok(self
            .query_opt(
                "SELECT id, hash, principal, created, revoked FROM tokens WHERE hash = $1",
                &[&hash],
            )?
            .as_ref()
            .map(token))
    }

    fn token_by_id(&self, id: &str) -> Result<Option<TokenRecord>> {
        Ok(self
            .query_opt(
                "SELECT id, hash, principal, created, revoked FROM tokens WHERE id = $1",
                &[&id],
            )?
            .as_ref()
            .map(token))
    }

    fn list_scope(
        &self,
        sub: &str,
        rg: Option<&str>,
        kinds: &[String],
        suffix: Option<&str>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, String, String)>> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .query(
                "SELECT seq, kind, body FROM objects WHERE sub = $1
                 AND ($2::text IS NULL OR rg = $2) AND seq > $3
                 AND ($4::text IS NULL OR right(id, length($4)) = $4)
                 AND kind = ANY($5) ORDER BY seq LIMIT $6",
                &[&sub, &rg, &after, &suffix, &kinds, &limit],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>> {
        Ok(self
            .query(
                "SELECT id, hash, principal, created, revoked FROM tokens ORDER BY created, id",
                &[],
            )?
            .iter()
            .map(token)
            .collect())
    }

    fn dump(&self) -> Result<Vec<(String, String)>> {
        Ok(self
            .query("SELECT id, body FROM objects ORDER BY id", &[])?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    fn seq_of(&self, id: &str) -> Result<Option<i64>> {
        Ok(self
            .query_opt("SELECT seq FROM objects WHERE id = $1", &[&id])?
            .map(|r| r.get(0)))
    }

    fn update_body(&self, id: &str, body: &str) -> Result<()> {
        self.execute("UPDATE objects SET body = $2 WHERE id = $1", &[&id, &body])?;
        Ok(())
    }

    fn insert_object(&self, id: &str, kind: &str, sub: &str, rg: &str, body: &str) -> Result<i64> {
        Ok(self
            .query_one(
                "INSERT INTO objects (id, kind, sub, rg, seq, body)
                 SELECT $1, $2, $3, $4, COALESCE(MAX(seq), 0) + 1, $5 FROM objects
                 RETURNING seq",
                &[&id, &kind, &sub, &rg, &body],
            )?
            .get(0))
    }

    fn delete_object(&self, id: &str) -> Result<bool> {
        Ok(self.execute("DELETE FROM objects WHERE id = $1", &[&id])? > 0)
    }

    fn delete_refs(&self, src: &str) -> Result<()> {
        self.execute("DELETE FROM refs WHERE src = $1", &[&src])?;
        Ok(())
    }

    fn insert_ref(&self, rel: &str, dst: &str, seq: i64, src: &str) -> Result<()> {
        self.execute(
            "INSERT INTO refs (rel, dst, seq, src) VALUES ($1, $2, $3, $4)",
            &[&rel, &dst, &seq, &src],
        )?;
        Ok(())
    }

    fn delete_uniques(&self, owner: &str) -> Result<()> {
        self.execute("DELETE FROM uniques WHERE owner = $1", &[&owner])?;
        Ok(())
    }

    fn insert_unique(&self, scope: &str, value: &str, owner: &str) -> Result<()> {
        self.execute(
            "INSERT INTO uniques (scope, value, owner) VALUES ($1, $2, $3)",
            &[&scope, &value, &owner],
        )?;
        Ok(())
    }

    fn put_operation(&self, id: &str, body: &str, created: i64) -> Result<()> {
        self.execute(
            "INSERT INTO operations (id, body, created) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET body = excluded.body, created = excluded.created",
            &[&id, &body, &created],
        )?;
        Ok(())
    }

    fn expire_operations(&self, before: i64, limit: i64) -> Result<u64> {
        self.execute(
            "DELETE FROM operations WHERE id IN
               (SELECT id FROM operations WHERE created < $1 ORDER BY created LIMIT $2
                FOR UPDATE SKIP LOCKED)",
            &[&before, &limit],
        )
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )?;
        Ok(())
    }

    fn init_meta(&self, key: &str, value: &str) -> Result<()> {
        self.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            &[&key, &value],
        )?;
        Ok(())
    }

    fn next_generation(&self) -> Result<i64> {
        let g: i64 = self
            .query_one(
                "INSERT INTO meta (key, value) VALUES ('generation', '1')
                 ON CONFLICT (key) DO UPDATE SET value = (meta.value::bigint + 1)::text
                 RETURNING value::bigint",
                &[],
            )?
            .get(0);
        // Delivered at commit, to every replica listening (this one too).
        self.execute(
            "SELECT pg_notify($1, $2)",
            &[&&*self.channel, &g.to_string()],
        )?;
        Ok(g)
    }

    fn log_change(&self, generation: i64, target: &str) -> Result<()> {
        self.execute(
            "INSERT INTO changes (generation, target) VALUES ($1, $2)",
            &[&generation, &target],
        )?;
        Ok(())
    }

    fn prune_changes(&self, floor: i64) -> Result<()> {
        self.execute("DELETE FROM changes WHERE generation <= $1", &[&floor])?;
        Ok(())
    }

    fn insert_token(&self, t: &TokenRecord) -> Result<()> {
        self.execute(
            "INSERT INTO tokens (id, hash, principal, created, revoked)
             VALUES ($1, $2, $3, $4, FALSE)",
            &[&t.id, &t.hash, &t.principal, &t.created],
        )?;
        Ok(())
    }

    fn revoke_token(&self, id: &str) -> Result<bool> {
        Ok(self.execute("UPDATE tokens SET revoked = TRUE WHERE id = $1", &[&id])? > 0)
    }
}
