//! The store: one table of resources for every type, with the indexes the rules need so that
//! no request reads a whole table, on one of two backends behind one contract.
//!
//! - `objects`: one row per top-level resource (id, type, subscription, resource group,
//!   creation sequence, JSON body). Lists seek by (type, scope, sequence).
//! - `refs`: what a resource points at (a connection's circuit, a circuit's provider), with
//!   the referrer's sequence, so "the connections of this circuit" is an index range in
//!   creation order and counts for limits are index counts.
//! - `uniques`: values only one resource may hold (service keys, an S-tag per location, one
//!   gateway per virtual network); the database enforces them, the rules check them first
//!   to answer with a precise ARM error.
//! - `changes`: per committed generation, which circuits (or `gateways`) it touched, so the
//!   edges' desired state is recomputed for those only.
//!
//! Backends ([`sqlite`], [`postgres`]) implement the same primitive statements ([`Ops`]);
//! everything with a rule in it (sequences, references, uniqueness, the generation and its
//! change log, operation expiry) is written once here on top of them. A write transaction
//! is exclusive on both: SQLite's `BEGIN IMMEDIATE`, PostgreSQL's transaction-scoped
//! advisory lock, so every rule a transaction checks still holds when it commits, whichever
//! replica runs it. An acknowledged write is committed and durable (SQLite: WAL with
//! `synchronous = FULL`; PostgreSQL: `synchronous_commit = on`), and each mutation commits in
//! one transaction with the operation record it produces.

pub mod postgres;
pub mod sqlite;

use std::path::Path;

use crate::arm::lro::Operation;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("database: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// The database cannot be reached (no connection from the pool).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database's schema is not one this binary can use.
    #[error("{0}")]
    Schema(String),
    #[error("stored record is unreadable: {0}")]
    Corrupt(#[from] serde_json::Error),
    /// A uniqueness rule the database enforces was violated (a concurrent writer won).
    #[error("{scope} {value} is already held by {owner}")]
    Unique {
        scope: String,
        value: String,
        owner: String,
    },
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A bearer token's stored form: only the SHA-256 of the secret is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    pub hash: String,
    pub principal: String,
    pub created: String,
    pub revoked: bool,
}

/// A resource as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The ARM id (compared without regard to case).
    pub id: String,
    /// The ARM type, e.g. `expressRouteCircuits`.
    pub kind: &'static str,
    pub sub: String,
    pub rg: String,
    pub body: String,
    /// (relation, target) pairs: `("circuit", "<circuit id>")`.
    pub refs: Vec<(&'static str, String)>,
    /// (scope, value) pairs no other resource may hold.
    pub uniques: Vec<(String, String)>,
}

/// What a change means for the edges: the circuits it touched.
pub const GATEWAYS_TARGET: &str = "gateways";

/// The target that means "every circuit" in the change log.
pub const ALL_TARGET: &str = "*";

/// How many generations of the change log are kept.
const CHANGE_LOG: u64 = 200_000;

/// How long a finished operation can be polled (clients poll within seconds; ARM keeps
/// them for hours).
pub const OPERATION_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// How many expired operation records one new record removes.
const EXPIRE_BATCH: i64 = 16;

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Where the store lives: `postgres://…` (or `postgresql://…`) is a PostgreSQL database,
/// anything else a SQLite file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Location {
    pub fn parse(s: &str) -> Location {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Location::Postgres(s.to_owned())
        } else {
            Location::Sqlite(s.into())
        }
    }
}

// ===== the primitive statements each backend implements =====

/// The statements a backend runs; arguments are already lower-cased where the contract
/// compares without case. Reads are valid on any connection, writes inside a transaction
/// (or, for tokens, meta and operations, on their own).
pub trait Ops {
    fn get(&self, id: &str) -> Result<Option<String>>;
    /// (position, body) of a type in a scope after `after`.
    fn list(
        &self,
        kind: &str,
        sub: Option<&str>,
        rg: Option<&str>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, String)>>;
    fn referrers(&self, rel: &str, dst: &str, after: i64, limit: i64)
    -> Result<Vec<(i64, String)>>;
    fn count_referrers(&self, rel: &str, dst: &str) -> Result<i64>;
    fn unique(&self, scope: &str, value: &str) -> Result<Option<String>>;
    fn unique_values(&self, scope: &str) -> Result<Vec<String>>;
    fn count(&self, kind: &str) -> Result<i64>;
    fn changes_after(&self, after: i64) -> Result<Vec<(i64, String)>>;
    fn meta(&self, key: &str) -> Result<Option<String>>;
    fn operation(&self, id: &str) -> Result<Option<String>>;
    fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>>;
    fn token_by_id(&self, id: &str) -> Result<Option<TokenRecord>>;
    /// (position, kind, body) of any of `kinds` in a subscription (or one of its groups)
    /// after `after`, only ids ending in `suffix` when given.
    fn list_scope(
        &self,
        sub: &str,
        rg: Option<&str>,
        kinds: &[String],
        suffix: Option<&str>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, String, String)>>;
    fn tokens(&self) -> Result<Vec<TokenRecord>>;
    fn dump(&self) -> Result<Vec<(String, String)>>;

    fn seq_of(&self, id: &str) -> Result<Option<i64>>;
    fn update_body(&self, id: &str, body: &str) -> Result<()>;
    /// Inserts a new object at the next creation sequence; returns it.
    fn insert_object(&self, id: &str, kind: &str, sub: &str, rg: &str, body: &str) -> Result<i64>;
    /// Deletes an object; true if it existed.
    fn delete_object(&self, id: &str) -> Result<bool>;
    fn delete_refs(&self, src: &str) -> Result<()>;
    fn insert_ref(&self, rel: &str, dst: &str, seq: i64, src: &str) -> Result<()>;
    fn delete_uniques(&self, owner: &str) -> Result<()>;
    fn insert_unique(&self, scope: &str, value: &str, owner: &str) -> Result<()>;
    fn put_operation(&self, id: &str, body: &str, created: i64) -> Result<()>;
    /// Removes up to `limit` operation records created before `before`; how many went.
    fn expire_operations(&self, before: i64, limit: i64) -> Result<u64>;
    fn set_meta(&self, key: &str, value: &str) -> Result<()>;
    /// Sets a meta value unless one is there.
    fn init_meta(&self, key: &str, value: &str) -> Result<()>;
    /// Increments the generation (in the transaction) and returns it; tells the other
    /// replicas at commit where the backend can.
    fn next_generation(&self) -> Result<i64>;
    fn log_change(&self, generation: i64, target: &str) -> Result<()>;
    fn prune_changes(&self, floor: i64) -> Result<()>;
    fn insert_token(&self, t: &TokenRecord) -> Result<()>;
    fn revoke_token(&self, id: &str) -> Result<bool>;
}

/// A connection that cannot serve: every statement answers the reason (the database was
/// unreachable when a connection was asked of the pool).
#[derive(Debug)]
struct Down(String);

macro_rules! down {
    ($($name:ident($($arg:ty),*) -> $ret:ty;)*) => {
        impl Ops for Down {
            $(fn $name(&self, $(_: $arg),*) -> Result<$ret> {
                Err(StoreError::Unavailable(self.0.clone()))
            })*
        }
    };
}

down! {
    get(&str) -> Option<String>;
    list(&str, Option<&str>, Option<&str>, i64, i64) -> Vec<(i64, String)>;
    referrers(&str, &str, i64, i64) -> Vec<(i64, String)>;
    count_referrers(&str, &str) -> i64;
    unique(&str, &str) -> Option<String>;
    unique_values(&str) -> Vec<String>;
    count(&str) -> i64;
    changes_after(i64) -> Vec<(i64, String)>;
    meta(&str) -> Option<String>;
    operation(&str) -> Option<String>;
    token_by_hash(&str) -> Option<TokenRecord>;
    token_by_id(&str) -> Option<TokenRecord>;
    list_scope(&str, Option<&str>, &[String], Option<&str>, i64, i64) -> Vec<(i64, String, String)>;
    tokens() -> Vec<TokenRecord>;
    dump() -> Vec<(String, String)>;
    seq_of(&str) -> Option<i64>;
    update_body(&str, &str) -> ();
    insert_object(&str, &str, &str, &str, &str) -> i64;
    delete_object(&str) -> bool;
    delete_refs(&str) -> ();
    insert_ref(&str, &str, i64, &str) -> ();
    delete_uniques(&str) -> ();
    insert_unique(&str, &str, &str) -> ();
    put_operation(&str, &str, i64) -> ();
    expire_operations(i64, i64) -> u64;
    set_meta(&str, &str) -> ();
    init_meta(&str, &str) -> ();
    next_generation() -> i64;
    log_change(i64, &str) -> ();
    prune_changes(i64) -> ();
    insert_token(&TokenRecord) -> ();
    revoke_token(&str) -> bool;
}

// ===== the store =====

/// One connection to the store: SQLite's file (or memory), or one PostgreSQL connection
/// from a [`postgres::Pool`].
#[derive(Debug)]
pub struct Store {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Sqlite(rusqlite::Connection),
    Postgres(postgres::Conn),
    Down(Down),
}

impl Store {
    pub fn open(path: &Path) -> Result<Store> {
        Ok(Store {
            inner: Inner::Sqlite(sqlite::open(path)?),
        })
    }

    pub fn open_in_memory() -> Result<Store> {
        Ok(Store {
            inner: Inner::Sqlite(sqlite::open_in_memory()?),
        })
    }

    /// A second connection to the same file, for reads beside the writer (WAL readers never
    /// wait for it).
    pub fn open_reader(path: &Path) -> Result<Store> {
        Ok(Store {
            inner: Inner::Sqlite(sqlite::open_reader(path)?),
        })
    }

    pub(crate) fn postgres(conn: postgres::Conn) -> Store {
        Store {
            inner: Inner::Postgres(conn),
        }
    }

    pub(crate) fn down(reason: String) -> Store {
        Store {
            inner: Inner::Down(Down(reason)),
        }
    }

    /// Whether this is a PostgreSQL connection (shared by every replica).
    pub fn is_shared(&self) -> bool {
        matches!(self.inner, Inner::Postgres(_) | Inner::Down(_))
    }

    fn ops(&self) -> &dyn Ops {
        match &self.inner {
            Inner::Sqlite(c) => c,
            Inner::Postgres(c) => c,
            Inner::Down(d) => d,
        }
    }

    /// Runs `f` in one transaction (taken for writing at once, so concurrent writers queue
    /// here, not in the middle — on every replica): commits if it returns `Ok`, rolls back
    /// otherwise. If it changed a resource, the generation is bumped and what it touched is
    /// logged.
    pub fn write<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut Tx<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let inner = match &mut self.inner {
            Inner::Sqlite(c) => TxInner::Sqlite(
                c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .map_err(StoreError::from)?,
            ),
            Inner::Postgres(c) => TxInner::Postgres(c.begin()?),
            Inner::Down(d) => return Err(E::from(StoreError::Unavailable(d.0.clone()))),
        };
        let mut t = Tx {
            inner,
            changed: false,
            touched: Vec::new(),
        };
        let out = f(&mut t)?;
        t.finish().map_err(E::from)?;
        Ok(out)
    }

    /// Legacy tables of a store written before the generic layout, if any: (type, body).
    pub fn legacy_rows(&self) -> Result<Vec<(String, String)>> {
        match &self.inner {
            Inner::Sqlite(c) => sqlite::legacy_rows(c),
            _ => Ok(Vec::new()),
        }
    }

    /// Drops the legacy tables once their rows are rewritten.
    pub fn drop_legacy(&mut self) -> Result<()> {
        match &self.inner {
            Inner::Sqlite(c) => sqlite::drop_legacy(c),
            _ => Ok(()),
        }
    }

    /// This store's random identity, made on first use (one for every replica).
    pub fn instance(&mut self) -> Result<String> {
        self.meta_or_insert("instance", || {
            uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
        })
    }

    /// A meta value, made by `make` and kept on first use (the first writer wins).
    pub fn meta_or_insert(&mut self, key: &str, make: impl FnOnce() -> String) -> Result<String> {
        if let Some(v) = self.meta(key)? {
            return Ok(v);
        }
        let v = make();
        self.ops().init_meta(key, &v)?;
        Ok(self.meta(key)?.unwrap_or(v))
    }

    /// Sets a meta value and bumps the generation (inventory edits concern every edge).
    pub fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        self.write(|t| -> Result<()> {
            t.ops().set_meta(key, value)?;
            t.changed = true;
            t.touch(GATEWAYS_TARGET);
            t.touch_all();
            Ok(())
        })
    }

    /// Records a finished operation on its own (POST actions change nothing else).
    pub fn put_operation(&mut self, op: &Operation) -> Result<()> {
        put_operation(self.ops(), op)
    }

    /// Removes every operation record past [`OPERATION_TTL`], in batches; how many went.
    pub fn expire_operations(&mut self) -> Result<u64> {
        let before = unix_now() - OPERATION_TTL.as_secs() as i64;
        let mut total = 0;
        loop {
            let n = self.ops().expire_operations(before, 512)?;
            total += n;
            if n < 512 {
                return Ok(total);
            }
        }
    }

    // ----- tokens -----

    pub fn insert_token(&mut self, t: &TokenRecord) -> Result<()> {
        self.ops().insert_token(t)
    }

    /// Marks a token revoked. True if it existed.
    pub fn revoke_token(&mut self, id: &str) -> Result<bool> {
        self.ops().revoke_token(id)
    }
}

/// Reads, on the store or inside a transaction.
pub trait Read {
    /// The backend's statements (the contract's methods below are built on them).
    fn conn(&self) -> &dyn Ops;

    /// One resource's body.
    fn get(&self, id: &str) -> Result<Option<String>> {
        self.conn().get(&lower(id))
    }

    /// Resources of a type in a scope, in creation order after position `after`:
    /// (position, body). `sub` None = every subscription.
    fn list(
        &self,
        kind: &str,
        sub: Option<&str>,
        rg: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, String)>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let sub = sub.map(lower);
        let rg = sub.as_ref().and(rg.map(lower));
        self.conn()
            .list(&lower(kind), sub.as_deref(), rg.as_deref(), after, limit)
    }

    /// Resources of any of `kinds` in a subscription (or one of its resource groups), in
    /// creation order after `after`, optionally only those named `name`: (position, kind,
    /// body). `kinds` are type names the caller chose (`expressRouteCircuits`), never input.
    fn list_scope(
        &self,
        sub: &str,
        rg: Option<&str>,
        kinds: &[&str],
        name: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, String, String)>> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let kinds: Vec<String> = kinds.iter().map(|k| lower(k)).collect();
        let suffix = name.map(|n| format!("/{}", lower(n)));
        self.conn().list_scope(
            &lower(sub),
            rg.map(lower).as_deref(),
            &kinds,
            suffix.as_deref(),
            after,
            limit,
        )
    }

    /// Resources that point at `dst` through `rel`, in creation order after `after`.
    fn referrers(
        &self,
        rel: &str,
        dst: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, String)>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.conn().referrers(rel, &lower(dst), after, limit)
    }

    /// How many resources point at `dst` through `rel`.
    fn count_referrers(&self, rel: &str, dst: &str) -> Result<u64> {
        let n = self.conn().count_referrers(rel, &lower(dst))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The id of the resource holding a unique value.
    fn unique(&self, scope: &str, value: &str) -> Result<Option<String>> {
        self.conn().unique(scope, &lower(value))
    }

    /// Every value held in a scope, ascending.
    fn unique_values(&self, scope: &str) -> Result<Vec<String>> {
        self.conn().unique_values(scope)
    }

    /// How many resources of a type exist.
    fn count(&self, kind: &str) -> Result<u64> {
        let n = self.conn().count(&lower(kind))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The edge generation: increases with every committed change, across restarts (and
    /// across replicas: it is a row of the database).
    fn generation(&self) -> Result<u64> {
        Ok(self
            .meta("generation")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// What the generations after `after` touched: (generation, target), oldest first, or
    /// `None` when the log no longer reaches back that far.
    fn changes_since(&self, after: u64) -> Result<Option<Vec<(u64, String)>>> {
        let floor: u64 = self
            .meta("changes_floor")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if after < floor {
            return Ok(None);
        }
        let rows = self
            .conn()
            .changes_after(i64::try_from(after).unwrap_or(i64::MAX))?;
        Ok(Some(
            rows.into_iter()
                .map(|(g, t)| (u64::try_from(g).unwrap_or(0), t))
                .collect(),
        ))
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        self.conn().meta(key)
    }

    fn operation(&self, id: &str) -> Result<Option<Operation>> {
        let body = self.conn().operation(&lower(id))?;
        Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
    }

    fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>> {
        self.conn().token_by_hash(hash)
    }

    fn token_by_id(&self, id: &str) -> Result<Option<TokenRecord>> {
        self.conn().token_by_id(id)
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>> {
        self.conn().tokens()
    }

    /// Every resource as (id, body), by id: the whole state (tests compare it).
    fn dump(&self) -> Result<Vec<(String, String)>> {
        self.conn().dump()
    }
}

impl Read for Store {
    fn conn(&self) -> &dyn Ops {
        self.ops()
    }
}

// ===== write transactions =====

/// One write transaction ([`Store::write`]).
#[derive(Debug)]
pub struct Tx<'a> {
    inner: TxInner<'a>,
    changed: bool,
    touched: Vec<String>,
}

#[derive(Debug)]
enum TxInner<'a> {
    Sqlite(rusqlite::Transaction<'a>),
    Postgres(postgres::Transaction<'a>),
}

impl Read for Tx<'_> {
    fn conn(&self) -> &dyn Ops {
        self.ops()
    }
}

impl Tx<'_> {
    fn ops(&self) -> &dyn Ops {
        match &self.inner {
            TxInner::Sqlite(t) => &**t,
            TxInner::Postgres(t) => t.conn(),
        }
    }

    /// Creates or replaces a resource with its references and unique values.
    pub fn put(&mut self, r: &Record) -> Result<()> {
        let id = lower(&r.id);
        let ops = self.ops();
        let seq = match ops.seq_of(&id)? {
            Some(seq) => {
                ops.update_body(&id, &r.body)?;
                seq
            }
            None => {
                ops.insert_object(&id, &lower(r.kind), &lower(&r.sub), &lower(&r.rg), &r.body)?
            }
        };
        ops.delete_refs(&id)?;
        let mut refs: Vec<(&str, String)> =
            r.refs.iter().map(|(rel, d)| (*rel, lower(d))).collect();
        refs.sort();
        refs.dedup();
        for (rel, dst) in &refs {
            ops.insert_ref(rel, dst, seq, &id)?;
        }
        ops.delete_uniques(&id)?;
        for (scope, value) in &r.uniques {
            let value = lower(value);
            if let Some(owner) = ops.unique(scope, &value)? {
                return Err(StoreError::Unique {
                    scope: scope.clone(),
                    value,
                    owner,
                });
            }
            ops.insert_unique(scope, &value, &id)?;
        }
        self.changed = true;
        Ok(())
    }

    /// Deletes a resource with its references and unique values. True if it existed.
    pub fn delete(&mut self, id: &str) -> Result<bool> {
        let id = lower(id);
        let ops = self.ops();
        let existed = ops.delete_object(&id)?;
        ops.delete_refs(&id)?;
        ops.delete_uniques(&id)?;
        self.changed = true;
        Ok(existed)
    }

    /// Records the operation this transaction answers with.
    pub fn put_operation(&mut self, op: &Operation) -> Result<()> {
        put_operation(self.ops(), op)
    }

    /// Notes that the change concerns circuit `id` (or [`GATEWAYS_TARGET`]) on the edges.
    pub fn touch(&mut self, target: &str) {
        let t = lower(target);
        if !self.touched.contains(&t) {
            self.touched.push(t);
        }
    }

    /// Notes that the change concerns every circuit (inventory, settings).
    pub fn touch_all(&mut self) {
        self.touch(ALL_TARGET);
    }

    fn finish(self) -> Result<()> {
        if self.changed {
            let ops = self.ops();
            let generation = ops.next_generation()?;
            for t in &self.touched {
                ops.log_change(generation, t)?;
            }
            // Keep the log bounded; readers that fell further behind reload everything.
            if generation % 1024 == 0 {
                let floor = (generation as u64).saturating_sub(CHANGE_LOG);
                ops.prune_changes(floor as i64)?;
                ops.set_meta("changes_floor", &floor.to_string())?;
            }
        }
        match self.inner {
            TxInner::Sqlite(t) => t.commit()?,
            TxInner::Postgres(t) => t.commit()?,
        }
        Ok(())
    }
}

fn put_operation(ops: &dyn Ops, op: &Operation) -> Result<()> {
    let now = unix_now();
    ops.put_operation(&lower(&op.id), &serde_json::to_string(op)?, now)?;
    // Every operation adds a row: the ones past their time go, a bounded batch at a time,
    // so the table follows the write rate, not the store's age.
    ops.expire_operations(now - OPERATION_TTL.as_secs() as i64, EXPIRE_BATCH)?;
    Ok(())
}

#[cfg(test)]
mod contract;
