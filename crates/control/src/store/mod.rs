//! The embedded SQLite store: one table of resources for every type, with the indexes the
//! rules need so that no request reads a whole table.
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
//! WAL journal with `synchronous = FULL`: a write is on disk when its transaction commits, and
//! the API acknowledges only after that, so an acknowledged write survives `kill -9`. Each
//! mutation and the operation record it produces commit in one transaction.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use crate::arm::lro::Operation;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
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

/// Page cache per connection, in KiB (negative: SQLite reads it as KiB, not pages).
const CACHE_KIB: i64 = -32 * 1024;

/// How many generations of the change log are kept.
const CHANGE_LOG: u64 = 200_000;

#[derive(Debug)]
pub struct Store {
    conn: Connection,
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS objects (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        sub TEXT NOT NULL,
        rg TEXT NOT NULL,
        seq INTEGER NOT NULL UNIQUE,
        body TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS objects_rg ON objects(kind, sub, rg, seq);
    CREATE INDEX IF NOT EXISTS objects_sub ON objects(kind, sub, seq);
    CREATE INDEX IF NOT EXISTS objects_kind ON objects(kind, seq);
    CREATE TABLE IF NOT EXISTS refs (
        rel TEXT NOT NULL,
        dst TEXT NOT NULL,
        seq INTEGER NOT NULL,
        src TEXT NOT NULL,
        PRIMARY KEY (rel, dst, seq, src)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS refs_src ON refs(src);
    CREATE TABLE IF NOT EXISTS uniques (
        scope TEXT NOT NULL,
        value TEXT NOT NULL,
        owner TEXT NOT NULL,
        PRIMARY KEY (scope, value)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS uniques_owner ON uniques(owner);
    CREATE TABLE IF NOT EXISTS changes (
        generation INTEGER NOT NULL,
        target TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS changes_generation ON changes(generation);
    CREATE TABLE IF NOT EXISTS operations (
        id TEXT PRIMARY KEY,
        body TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS tokens (
        id TEXT PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        principal TEXT NOT NULL,
        created TEXT NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0
    );";

impl Store {
    pub fn open(path: &Path) -> Result<Store> {
        Self::init(Connection::open(path)?)
    }

    pub fn open_in_memory() -> Result<Store> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Store> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // 32 MiB of page cache (SQLite's default is 2 MiB): the indexes of 100,000 circuits
        // stay in memory, so a write's index updates do not wait on page reads.
        conn.pragma_update(None, "cache_size", CACHE_KIB)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(SCHEMA)?;
        // Operation records name their creation time so old ones can go (added after the
        // first stores of this layout were made).
        let has_created = conn
            .prepare("SELECT 1 FROM pragma_table_info('operations') WHERE name = 'created'")?
            .exists([])?;
        if !has_created {
            conn.execute_batch(
                "ALTER TABLE operations ADD COLUMN created INTEGER NOT NULL DEFAULT 0;",
            )?;
        }
        conn.execute_batch(
            "CREATE INDEX IF NOT EXISTS operations_created ON operations(created);",
        )?;
        Ok(Store { conn })
    }

    /// A second connection to the same file, for reads beside the writer (WAL readers never
    /// wait for it). `None` for an in-memory store.
    pub fn open_reader(path: &Path) -> Result<Store> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "cache_size", CACHE_KIB)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(Store { conn })
    }

    /// Runs `f` in one transaction (taken for writing at once, so concurrent writers queue
    /// here, not in the middle): commits if it returns `Ok`, rolls back otherwise. If it
    /// changed a resource, the generation is bumped and what it touched is logged.
    pub fn write<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut Tx<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let mut t = Tx {
            tx,
            changed: false,
            touched: Vec::new(),
        };
        let out = f(&mut t)?;
        t.finish().map_err(E::from)?;
        Ok(out)
    }

    /// Legacy tables of a store written before the generic layout, if any: (type, body).
    pub fn legacy_rows(&self) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        let has = |t: &str| -> Result<bool> {
            Ok(self
                .conn
                .query_row(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                    params![t],
                    |_| Ok(()),
                )
                .optional()?
                .is_some())
        };
        if has("circuits")? {
            let mut st = self
                .conn
                .prepare("SELECT body FROM circuits ORDER BY seq")?;
            for b in st.query_map([], |r| r.get::<_, String>(0))? {
                out.push(("expressRouteCircuits".to_owned(), b?));
            }
        }
        if has("resources")? {
            let mut st = self
                .conn
                .prepare("SELECT kind, body FROM resources ORDER BY seq")?;
            for row in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))? {
                out.push(row?);
            }
        }
        Ok(out)
    }

    /// Drops the legacy tables once their rows are rewritten.
    pub fn drop_legacy(&mut self) -> Result<()> {
        self.conn
            .execute_batch("DROP TABLE IF EXISTS circuits; DROP TABLE IF EXISTS resources;")?;
        Ok(())
    }

    /// This store's random identity, made on first use.
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
        self.conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)",
            params![key, v],
        )?;
        Ok(self.meta(key)?.unwrap_or(v))
    }

    /// Sets a meta value and bumps the generation (inventory edits concern every edge).
    pub fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        self.write(|t| -> Result<()> {
            t.tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            t.changed = true;
            t.touch(GATEWAYS_TARGET);
            t.touch_all();
            Ok(())
        })
    }

    /// Records a finished operation on its own (POST actions change nothing else).
    pub fn put_operation(&mut self, op: &Operation) -> Result<()> {
        put_operation(&self.conn, op)
    }

    // ----- tokens -----

    pub fn insert_token(&mut self, t: &TokenRecord) -> Result<()> {
        self.conn.execute(
            "INSERT INTO tokens (id, hash, principal, created, revoked) VALUES (?1, ?2, ?3, ?4, 0)",
            params![t.id, t.hash, t.principal, t.created],
        )?;
        Ok(())
    }

    /// Marks a token revoked. True if it existed.
    pub fn revoke_token(&mut self, id: &str) -> Result<bool> {
        let n = self
            .conn
            .execute("UPDATE tokens SET revoked = 1 WHERE id = ?1", params![id])?;
        Ok(n > 0)
    }
}

/// Reads, on the store or inside a transaction.
pub trait Read {
    fn conn(&self) -> &Connection;

    /// One resource's body.
    fn get(&self, id: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT body FROM objects WHERE id = ?1")?
            .query_row(params![lower(id)], |r| r.get(0))
            .optional()?)
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
        let kind = lower(kind);
        let row = |r: &rusqlite::Row<'_>| Ok((r.get(0)?, r.get(1)?));
        let rows = match (sub, rg) {
            (Some(s), Some(g)) => self
                .conn()
                .prepare_cached(
                    "SELECT seq, body FROM objects WHERE kind = ?1 AND sub = ?2 AND rg = ?3
                     AND seq > ?4 ORDER BY seq LIMIT ?5",
                )?
                .query_map(params![kind, lower(s), lower(g), after, limit], row)?
                .collect::<rusqlite::Result<_>>()?,
            (Some(s), None) => self
                .conn()
                .prepare_cached(
                    "SELECT seq, body FROM objects WHERE kind = ?1 AND sub = ?2
                     AND seq > ?3 ORDER BY seq LIMIT ?4",
                )?
                .query_map(params![kind, lower(s), after, limit], row)?
                .collect::<rusqlite::Result<_>>()?,
            (None, _) => self
                .conn()
                .prepare_cached(
                    "SELECT seq, body FROM objects WHERE kind = ?1 AND seq > ?2
                     ORDER BY seq LIMIT ?3",
                )?
                .query_map(params![kind, after, limit], row)?
                .collect::<rusqlite::Result<_>>()?,
        };
        Ok(rows)
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
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT r.seq, o.body FROM refs r JOIN objects o ON o.id = r.src
                 WHERE r.rel = ?1 AND r.dst = ?2 AND r.seq > ?3 ORDER BY r.seq LIMIT ?4",
            )?
            .query_map(params![rel, lower(dst), after, limit], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// How many resources point at `dst` through `rel`.
    fn count_referrers(&self, rel: &str, dst: &str) -> Result<u64> {
        let n: i64 = self
            .conn()
            .prepare_cached("SELECT COUNT(*) FROM refs WHERE rel = ?1 AND dst = ?2")?
            .query_row(params![rel, lower(dst)], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The id of the resource holding a unique value.
    fn unique(&self, scope: &str, value: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT owner FROM uniques WHERE scope = ?1 AND value = ?2")?
            .query_row(params![scope, lower(value)], |r| r.get(0))
            .optional()?)
    }

    /// Every value held in a scope, ascending.
    fn unique_values(&self, scope: &str) -> Result<Vec<String>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT value FROM uniques WHERE scope = ?1 ORDER BY value")?
            .query_map(params![scope], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// How many resources of a type exist.
    fn count(&self, kind: &str) -> Result<u64> {
        let n: i64 = self
            .conn()
            .prepare_cached("SELECT COUNT(*) FROM objects WHERE kind = ?1")?
            .query_row(params![lower(kind)], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The edge generation: increases with every committed change, across restarts.
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
        let rows: Vec<(i64, String)> = self
            .conn()
            .prepare_cached(
                "SELECT generation, target FROM changes WHERE generation > ?1 ORDER BY generation",
            )?
            .query_map(params![after as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(Some(
            rows.into_iter()
                .map(|(g, t)| (u64::try_from(g).unwrap_or(0), t))
                .collect(),
        ))
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
            .query_row(params![key], |r| r.get(0))
            .optional()?)
    }

    fn operation(&self, id: &str) -> Result<Option<Operation>> {
        let body: Option<String> = self
            .conn()
            .prepare_cached("SELECT body FROM operations WHERE id = ?1")?
            .query_row(params![lower(id)], |r| r.get(0))
            .optional()?;
        Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
    }

    fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT id, hash, principal, created, revoked FROM tokens WHERE hash = ?1",
            )?
            .query_row(params![hash], token_row)
            .optional()?)
    }

    fn token_by_id(&self, id: &str) -> Result<Option<TokenRecord>> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT id, hash, principal, created, revoked FROM tokens WHERE id = ?1",
            )?
            .query_row(params![id], token_row)
            .optional()?)
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>> {
        Ok(self
            .conn()
            .prepare(
                "SELECT id, hash, principal, created, revoked FROM tokens ORDER BY created, id",
            )?
            .query_map([], token_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Every resource as (id, body), by id: the whole state (tests compare it).
    fn dump(&self) -> Result<Vec<(String, String)>> {
        Ok(self
            .conn()
            .prepare("SELECT id, body FROM objects ORDER BY id")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?)
    }
}

impl Read for Store {
    fn conn(&self) -> &Connection {
        &self.conn
    }
}

/// One write transaction ([`Store::write`]).
#[derive(Debug)]
pub struct Tx<'a> {
    tx: rusqlite::Transaction<'a>,
    changed: bool,
    touched: Vec<String>,
}

impl Read for Tx<'_> {
    fn conn(&self) -> &Connection {
        &self.tx
    }
}

/// The target that means "every circuit" in the change log.
pub const ALL_TARGET: &str = "*";

impl Tx<'_> {
    /// Creates or replaces a resource with its references and unique values.
    pub fn put(&mut self, r: &Record) -> Result<()> {
        let id = lower(&r.id);
        let seq: Option<i64> = self
            .tx
            .prepare_cached("SELECT seq FROM objects WHERE id = ?1")?
            .query_row(params![id], |row| row.get(0))
            .optional()?;
        let seq = match seq {
            Some(seq) => {
                self.tx
                    .prepare_cached("UPDATE objects SET body = ?2 WHERE id = ?1")?
                    .execute(params![id, r.body])?;
                seq
            }
            None => {
                let next: i64 = self
                    .tx
                    .prepare_cached("SELECT COALESCE(MAX(seq), 0) + 1 FROM objects")?
                    .query_row([], |row| row.get(0))?;
                self.tx
                    .prepare_cached(
                        "INSERT INTO objects (id, kind, sub, rg, seq, body)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )?
                    .execute(params![
                        id,
                        lower(r.kind),
                        lower(&r.sub),
                        lower(&r.rg),
                        next,
                        r.body
                    ])?;
                next
            }
        };
        self.tx
            .prepare_cached("DELETE FROM refs WHERE src = ?1")?
            .execute(params![id])?;
        for (rel, dst) in &r.refs {
            self.tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO refs (rel, dst, seq, src) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![rel, lower(dst), seq, id])?;
        }
        self.tx
            .prepare_cached("DELETE FROM uniques WHERE owner = ?1")?
            .execute(params![id])?;
        for (scope, value) in &r.uniques {
            let value = lower(value);
            if let Some(owner) = self.unique(scope, &value)? {
                return Err(StoreError::Unique {
                    scope: scope.clone(),
                    value,
                    owner,
                });
            }
            self.tx
                .prepare_cached("INSERT INTO uniques (scope, value, owner) VALUES (?1, ?2, ?3)")?
                .execute(params![scope, value, id])?;
        }
        self.changed = true;
        Ok(())
    }

    /// Deletes a resource with its references and unique values. True if it existed.
    pub fn delete(&mut self, id: &str) -> Result<bool> {
        let id = lower(id);
        let n = self
            .tx
            .prepare_cached("DELETE FROM objects WHERE id = ?1")?
            .execute(params![id])?;
        self.tx
            .prepare_cached("DELETE FROM refs WHERE src = ?1")?
            .execute(params![id])?;
        self.tx
            .prepare_cached("DELETE FROM uniques WHERE owner = ?1")?
            .execute(params![id])?;
        self.changed = true;
        Ok(n > 0)
    }

    /// Records the operation this transaction answers with.
    pub fn put_operation(&mut self, op: &Operation) -> Result<()> {
        put_operation(&self.tx, op)
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
        let Tx {
            tx,
            changed,
            touched,
        } = self;
        if changed {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('generation', '1')
                 ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
                [],
            )?;
            let generation: i64 = tx.query_row(
                "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'generation'",
                [],
                |r| r.get(0),
            )?;
            for t in &touched {
                tx.prepare_cached("INSERT INTO changes (generation, target) VALUES (?1, ?2)")?
                    .execute(params![generation, t])?;
            }
            // Keep the log bounded; readers that fell further behind reload everything.
            if generation % 1024 == 0 {
                let floor = (generation as u64).saturating_sub(CHANGE_LOG);
                tx.execute(
                    "DELETE FROM changes WHERE generation <= ?1",
                    params![floor as i64],
                )?;
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES ('changes_floor', ?1)
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    params![floor.to_string()],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRecord> {
    Ok(TokenRecord {
        id: r.get(0)?,
        hash: r.get(1)?,
        principal: r.get(2)?,
        created: r.get(3)?,
        revoked: r.get::<_, i64>(4)? != 0,
    })
}

/// How long a finished operation can be polled (clients poll within seconds; ARM keeps
/// them for hours).
pub const OPERATION_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn put_operation(conn: &Connection, op: &Operation) -> Result<()> {
    let now = unix_now();
    conn.prepare_cached(
        "INSERT OR REPLACE INTO operations (id, body, created) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![lower(&op.id), serde_json::to_string(op)?, now])?;
    // Every operation adds a row: the ones past their time go, a bounded batch at a time,
    // so the table follows the write rate, not the store's age.
    let expired = now - OPERATION_TTL.as_secs() as i64;
    conn.prepare_cached(
        "DELETE FROM operations WHERE id IN
           (SELECT id FROM operations WHERE created < ?1 ORDER BY created LIMIT 16)",
    )?
    .execute(params![expired])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, refs: Vec<(&'static str, String)>, uniques: Vec<(String, String)>) -> Record {
        Record {
            id: id.into(),
            kind: "things",
            sub: "S".into(),
            rg: "R".into(),
            body: format!("{{\"id\":\"{id}\"}}"),
            refs,
            uniques,
        }
    }

    #[test]
    fn lists_seek_by_position_and_referrers_follow_creation_order() {
        let mut s = Store::open_in_memory().expect("store");
        s.write(|t| -> Result<()> {
            for i in 0..5 {
                t.put(&rec(
                    &format!("/x/{i}"),
                    vec![("parent", "/p".into())],
                    vec![],
                ))?;
            }
            Ok(())
        })
        .expect("write");
        let first = s.list("things", Some("s"), Some("r"), 0, 2).expect("list");
        assert_eq!(first.len(), 2);
        let rest = s
            .list("things", Some("s"), None, first[1].0, 10)
            .expect("list");
        assert_eq!(rest.len(), 3);
        assert_eq!(s.count_referrers("parent", "/P").expect("count"), 5);
        let refs = s.referrers("parent", "/p", first[0].0, 2).expect("refs");
        assert_eq!(refs[0].1, "{\"id\":\"/x/1\"}");
    }

    #[test]
    fn a_unique_value_has_one_holder_and_a_failed_write_changes_nothing() {
        let mut s = Store::open_in_memory().expect("store");
        let key = || vec![("serviceKey".to_owned(), "K1".to_owned())];
        s.write(|t| t.put(&rec("/a", vec![], key())))
            .expect("first");
        let g = s.generation().expect("generation");
        let e = s.write(|t| t.put(&rec("/b", vec![], key())));
        assert!(matches!(e, Err(StoreError::Unique { .. })));
        assert_eq!(s.get("/b").expect("get"), None);
        assert_eq!(s.generation().expect("generation"), g);
        // The holder may rewrite itself, and frees the value when deleted.
        s.write(|t| t.put(&rec("/A", vec![], key())))
            .expect("rewrite");
        s.write(|t| t.delete("/a")).expect("delete");
        s.write(|t| t.put(&rec("/b", vec![], key())))
            .expect("now free");
        assert_eq!(
            s.unique("serviceKey", "k1").expect("unique"),
            Some("/b".into())
        );
    }

    #[test]
    fn operations_past_their_time_are_removed_as_new_ones_arrive() {
        let mut s = Store::open_in_memory().expect("store");
        let old = Operation::succeeded("s", None, None);
        s.put_operation(&old).expect("put");
        let long_ago = unix_now() - OPERATION_TTL.as_secs() as i64 - 60;
        s.conn
            .execute("UPDATE operations SET created = ?1", params![long_ago])
            .expect("age it");
        let new = Operation::succeeded("s", None, None);
        s.put_operation(&new).expect("put");
        assert_eq!(s.operation(&old.id).expect("read"), None);
        assert_eq!(s.operation(&new.id).expect("read"), Some(new));
    }

    #[test]
    fn the_change_log_names_what_each_generation_touched() {
        let mut s = Store::open_in_memory().expect("store");
        s.write(|t| -> Result<()> {
            t.put(&rec("/a", vec![], vec![]))?;
            t.touch("/A");
            Ok(())
        })
        .expect("write");
        let g = s.generation().expect("generation");
        assert_eq!(
            s.changes_since(0).expect("changes"),
            Some(vec![(g, "/a".to_owned())])
        );
        assert_eq!(s.changes_since(g).expect("changes"), Some(vec![]));
    }
}
