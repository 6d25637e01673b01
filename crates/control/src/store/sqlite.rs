//! The embedded SQLite backend: one file (WAL journal, `synchronous = FULL`), one writer
//! connection and readers beside it. The default: `causeway serve` needs no database.
//!
//! Its schema version is `PRAGMA user_version`; a file written by a newer binary is refused.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use super::{Ops, Result, StoreError, TokenRecord};

/// Page cache per connection, in KiB (negative: SQLite reads it as KiB, not pages).
const CACHE_KIB: i64 = -32 * 1024;

/// The layout this binary writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

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
    CREATE INDEX IF NOT EXISTS objects_scope_sub ON objects(sub, seq);
    CREATE INDEX IF NOT EXISTS objects_scope_rg ON objects(sub, rg, seq);
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

pub(super) fn open(path: &Path) -> Result<Connection> {
    init(Connection::open(path)?)
}

pub(super) fn open_in_memory() -> Result<Connection> {
    init(Connection::open_in_memory()?)
}

fn init(conn: Connection) -> Result<Connection> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Schema(format!(
            "the store's schema version is {version}, newer than this binary's \
             ({SCHEMA_VERSION}): run a causeway at least as new as the one that wrote it"
        )));
    }
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
    conn.execute_batch("CREATE INDEX IF NOT EXISTS operations_created ON operations(created);")?;
    conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    Ok(conn)
}

pub(super) fn open_reader(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "cache_size", CACHE_KIB)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}

pub(super) fn legacy_rows(conn: &Connection) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let has = |t: &str| -> Result<bool> {
        Ok(conn
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                params![t],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    };
    if has("circuits")? {
        let mut st = conn.prepare("SELECT body FROM circuits ORDER BY seq")?;
        for b in st.query_map([], |r| r.get::<_, String>(0))? {
            out.push(("expressRouteCircuits".to_owned(), b?));
        }
    }
    if has("resources")? {
        let mut st = conn.prepare("SELECT kind, body FROM resources ORDER BY seq")?;
        for row in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))? {
            out.push(row?);
        }
    }
    Ok(out)
}

pub(super) fn drop_legacy(conn: &Connection) -> Result<()> {
    conn.execute_batch("DROP TABLE IF EXISTS circuits; DROP TABLE IF EXISTS resources;")?;
    Ok(())
}

fn pairs(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<Vec<(i64, String)>> {
    Ok(conn
        .prepare_cached(sql)?
        .query_map(p, |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?)
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

impl Ops for Connection {
    fn get(&self, id: &str) -> Result<Option<String>> {
        Ok(self
            .prepare_cached("SELECT body FROM objects WHERE id = ?1")?
            .query_row(params![id], |r| r.get(0))
            .optional()?)
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
            (Some(s), Some(g)) => pairs(
                self,
                "SELECT seq, body FROM objects WHERE kind = ?1 AND sub = ?2 AND rg = ?3
                 AND seq > ?4 ORDER BY seq LIMIT ?5",
                params![kind, s, g, after, limit],
            ),
            (Some(s), None) => pairs(
                self,
                "SELECT seq, body FROM objects WHERE kind = ?1 AND sub = ?2
                 AND seq > ?3 ORDER BY seq LIMIT ?4",
                params![kind, s, after, limit],
            ),
            (None, _) => pairs(
                self,
                "SELECT seq, body FROM objects WHERE kind = ?1 AND seq > ?2
                 ORDER BY seq LIMIT ?3",
                params![kind, after, limit],
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
        pairs(
            self,
            "SELECT r.seq, o.body FROM refs r JOIN objects o ON o.id = r.src
             WHERE r.rel = ?1 AND r.dst = ?2 AND r.seq > ?3 ORDER BY r.seq LIMIT ?4",
            params![rel, dst, after, limit],
        )
    }

    fn count_referrers(&self, rel: &str, dst: &str) -> Result<i64> {
        Ok(self
            .prepare_cached("SELECT COUNT(*) FROM refs WHERE rel = ?1 AND dst = ?2")?
            .query_row(params![rel, dst], |r| r.get(0))?)
    }

    fn unique(&self, scope: &str, value: &str) -> Result<Option<String>> {
        Ok(self
            .prepare_cached("SELECT owner FROM uniques WHERE scope = ?1 AND value = ?2")?
            .query_row(params![scope, value], |r| r.get(0))
            .optional()?)
    }

    fn unique_values(&self, scope: &str) -> Result<Vec<String>> {
        Ok(self
            .prepare_cached("SELECT value FROM uniques WHERE scope = ?1 ORDER BY value")?
            .query_map(params![scope], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn count(&self, kind: &str) -> Result<i64> {
        Ok(self
            .prepare_cached("SELECT COUNT(*) FROM objects WHERE kind = ?1")?
            .query_row(params![kind], |r| r.get(0))?)
    }

    fn changes_after(&self, after: i64) -> Result<Vec<(i64, String)>> {
        pairs(
            self,
            "SELECT generation, target FROM changes WHERE generation > ?1 ORDER BY generation",
            params![after],
        )
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
            .query_row(params![key], |r| r.get(0))
            .optional()?)
    }

    fn operation(&self, id: &str) -> Result<Option<String>> {
        Ok(self
            .prepare_cached("SELECT body FROM operations WHERE id = ?1")?
            .query_row(params![id], |r| r.get(0))
            .optional()?)
    }

    fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>> {
        Ok(self
            .prepare_cached(
                "SELECT id, hash, principal, created, revoked FROM tokens WHERE hash = ?1",
            )?
            .query_row(params![hash], token_row)
            .optional()?)
    }

    fn token_by_id(&self, id: &str) -> Result<Option<TokenRecord>> {
        Ok(self
            .prepare_cached(
                "SELECT id, hash, principal, created, revoked FROM tokens WHERE id = ?1",
            )?
            .query_row(params![id], token_row)
            .optional()?)
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
        let marks = (0..kinds.len())
            .map(|i| format!("?{}", i + 6))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT seq, kind, body FROM objects WHERE sub = ?1 AND (?2 IS NULL OR rg = ?2)
             AND seq > ?3 AND (?4 IS NULL OR substr(id, -length(?4)) = ?4)
             AND kind IN ({marks}) ORDER BY seq LIMIT ?5"
        );
        let mut args: Vec<&dyn rusqlite::ToSql> = vec![&sub, &rg, &after, &suffix, &limit];
        args.extend(kinds.iter().map(|k| k as &dyn rusqlite::ToSql));
        Ok(self
            .prepare_cached(&sql)?
            .query_map(rusqlite::params_from_iter(args), |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>> {
        Ok(self
            .prepare(
                "SELECT id, hash, principal, created, revoked FROM tokens ORDER BY created, id",
            )?
            .query_map([], token_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn dump(&self) -> Result<Vec<(String, String)>> {
        Ok(self
            .prepare("SELECT id, body FROM objects ORDER BY id")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn seq_of(&self, id: &str) -> Result<Option<i64>> {
        Ok(self
            .prepare_cached("SELECT seq FROM objects WHERE id = ?1")?
            .query_row(params![id], |row| row.get(0))
            .optional()?)
    }

    fn update_body(&self, id: &str, body: &str) -> Result<()> {
        self.prepare_cached("UPDATE objects SET body = ?2 WHERE id = ?1")?
            .execute(params![id, body])?;
        Ok(())
    }

    fn insert_object(&self, id: &str, kind: &str, sub: &str, rg: &str, body: &str) -> Result<i64> {
        let next: i64 = self
            .prepare_cached("SELECT COALESCE(MAX(seq), 0) + 1 FROM objects")?
            .query_row([], |row| row.get(0))?;
        self.prepare_cached(
            "INSERT INTO objects (id, kind, sub, rg, seq, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![id, kind, sub, rg, next, body])?;
        Ok(next)
    }

    fn delete_object(&self, id: &str) -> Result<bool> {
        let n = self
            .prepare_cached("DELETE FROM objects WHERE id = ?1")?
            .execute(params![id])?;
        Ok(n > 0)
    }

    fn delete_refs(&self, src: &str) -> Result<()> {
        self.prepare_cached("DELETE FROM refs WHERE src = ?1")?
            .execute(params![src])?;
        Ok(())
    }

    fn insert_ref(&self, rel: &str, dst: &str, seq: i64, src: &str) -> Result<()> {
        self.prepare_cached("INSERT INTO refs (rel, dst, seq, src) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![rel, dst, seq, src])?;
        Ok(())
    }

    fn delete_uniques(&self, owner: &str) -> Result<()> {
        self.prepare_cached("DELETE FROM uniques WHERE owner = ?1")?
            .execute(params![owner])?;
        Ok(())
    }

    fn insert_unique(&self, scope: &str, value: &str, owner: &str) -> Result<()> {
        self.prepare_cached("INSERT INTO uniques (scope, value, owner) VALUES (?1, ?2, ?3)")?
            .execute(params![scope, value, owner])?;
        Ok(())
    }

    fn put_operation(&self, id: &str, body: &str, created: i64) -> Result<()> {
        self.prepare_cached(
            "INSERT OR REPLACE INTO operations (id, body, created) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![id, body, created])?;
        Ok(())
    }

    fn expire_operations(&self, before: i64, limit: i64) -> Result<u64> {
        let n = self
            .prepare_cached(
                "DELETE FROM operations WHERE id IN
                   (SELECT id FROM operations WHERE created < ?1 ORDER BY created LIMIT ?2)",
            )?
            .execute(params![before, limit])?;
        Ok(n as u64)
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.prepare_cached(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        )?
        .execute(params![key, value])?;
        Ok(())
    }

    fn init_meta(&self, key: &str, value: &str) -> Result<()> {
        self.prepare_cached("INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)")?
            .execute(params![key, value])?;
        Ok(())
    }

    fn next_generation(&self) -> Result<i64> {
        Ok(self
            .prepare_cached(
                "INSERT INTO meta (key, value) VALUES ('generation', '1')
                 ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1
                 RETURNING CAST(value AS INTEGER)",
            )?
            .query_row([], |r| r.get(0))?)
    }

    fn log_change(&self, generation: i64, target: &str) -> Result<()> {
        self.prepare_cached("INSERT INTO changes (generation, target) VALUES (?1, ?2)")?
            .execute(params![generation, target])?;
        Ok(())
    }

    fn prune_changes(&self, floor: i64) -> Result<()> {
        self.execute("DELETE FROM changes WHERE generation <= ?1", params![floor])?;
        Ok(())
    }

    fn insert_token(&self, t: &TokenRecord) -> Result<()> {
        self.execute(
            "INSERT INTO tokens (id, hash, principal, created, revoked) VALUES (?1, ?2, ?3, ?4, 0)",
            params![t.id, t.hash, t.principal, t.created],
        )?;
        Ok(())
    }

    fn revoke_token(&self, id: &str) -> Result<bool> {
        let n = self.execute("UPDATE tokens SET revoked = 1 WHERE id = ?1", params![id])?;
        Ok(n > 0)
    }
}
