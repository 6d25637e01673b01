//! The embedded SQLite store.
//!
//! WAL journal with `synchronous = FULL`: a write is on disk when its transaction commits,
//! and the API acknowledges only after that, so an acknowledged write survives `kill -9`.
//! Each mutation and the operation record it produces commit in one transaction.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::model::Circuit;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("stored record is unreadable: {0}")]
    Corrupt(#[from] serde_json::Error),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// An asynchronous operation's record (what `Azure-AsyncOperation` and `Location` poll).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    pub id: String,
    pub sub: String,
    pub status: String,
    /// The path whose GET is the operation's result (PUT), or none (DELETE).
    pub resource_path: Option<String>,
    /// A stored result body (POST actions).
    pub result: Option<serde_json::Value>,
    pub start_time: String,
    pub end_time: String,
}

/// A bearer token's stored form: only the SHA-256 of the secret is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    pub hash: String,
    pub principal: String,
    pub created: String,
    pub revoked: bool,
}

#[derive(Debug)]
pub struct Store {
    conn: Connection,
}

fn key(sub: &str, rg: &str, name: &str) -> String {
    format!("{}/{}/{}", sub, rg, name).to_ascii_lowercase()
}

impl Store {
    pub fn open(path: &Path) -> Result<Store> {
        let conn = Connection::open(path)?;
        Self::init(conn)
    }

    pub fn open_in_memory() -> Result<Store> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Store> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS circuits (
                key TEXT PRIMARY KEY,
                sub TEXT NOT NULL,
                rg TEXT NOT NULL,
                service_key TEXT NOT NULL UNIQUE,
                provider TEXT NOT NULL,
                seq INTEGER NOT NULL,
                body TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS circuits_sub ON circuits(sub, rg, seq);
            CREATE INDEX IF NOT EXISTS circuits_provider ON circuits(provider, seq);
            CREATE TABLE IF NOT EXISTS resources (
                key TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                sub TEXT NOT NULL,
                rg TEXT NOT NULL,
                seq INTEGER NOT NULL,
                body TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS resources_kind ON resources(kind, sub, rg, seq);
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
            );",
        )?;
        Ok(Store { conn })
    }

    // ----- circuits -----

    pub fn circuit(&self, sub: &str, rg: &str, name: &str) -> Result<Option<Circuit>> {
        let body: Option<String> = self
            .conn
            .query_row(
                "SELECT body FROM circuits WHERE key = ?1",
                params![key(sub, rg, name)],
                |r| r.get(0),
            )
            .optional()?;
        Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
    }

    pub fn circuit_by_service_key(&self, service_key: &str) -> Result<Option<Circuit>> {
        let body: Option<String> = self
            .conn
            .query_row(
                "SELECT body FROM circuits WHERE service_key = ?1",
                params![service_key.to_ascii_lowercase()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
    }

    /// Circuits of a subscription (and resource group), oldest first.
    pub fn circuits(&self, sub: &str, rg: Option<&str>) -> Result<Vec<Circuit>> {
        let sub = sub.to_ascii_lowercase();
        let rows: Vec<String> = match rg {
            Some(rg) => {
                let mut st = self.conn.prepare_cached(
                    "SELECT body FROM circuits WHERE sub = ?1 AND rg = ?2 ORDER BY seq",
                )?;
                st.query_map(params![sub, rg.to_ascii_lowercase()], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?
            }
            None => {
                let mut st = self
                    .conn
                    .prepare_cached("SELECT body FROM circuits WHERE sub = ?1 ORDER BY seq")?;
                st.query_map(params![sub], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?
            }
        };
        rows.iter()
            .map(|b| serde_json::from_str(b).map_err(StoreError::from))
            .collect()
    }

    /// Circuits that name a provider, oldest first (its cross-connections).
    pub fn circuits_of_provider(&self, provider: &str) -> Result<Vec<Circuit>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT body FROM circuits WHERE provider = ?1 ORDER BY seq")?;
        let rows: Vec<String> = st
            .query_map(params![provider.to_ascii_lowercase()], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        rows.iter()
            .map(|b| serde_json::from_str(b).map_err(StoreError::from))
            .collect()
    }

    /// How many circuits there are.
    pub fn circuit_count(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM circuits", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Every circuit, oldest first.
    pub fn all_circuits(&self) -> Result<Vec<Circuit>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT body FROM circuits ORDER BY seq")?;
        let rows: Vec<String> = st
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        rows.iter()
            .map(|b| serde_json::from_str(b).map_err(StoreError::from))
            .collect()
    }

    /// Creates or replaces a circuit, recording `op` in the same transaction.
    pub fn put_circuit(&mut self, c: &Circuit, op: Option<&Operation>) -> Result<()> {
        let tx = self.conn.transaction()?;
        write_circuit(&tx, c)?;
        if let Some(op) = op {
            put_operation(&tx, op)?;
        }
        bump_generation(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// Deletes a circuit, recording `op` in the same transaction. True if it existed.
    pub fn delete_circuit(
        &mut self,
        sub: &str,
        rg: &str,
        name: &str,
        op: Option<&Operation>,
    ) -> Result<bool> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "DELETE FROM circuits WHERE key = ?1",
            params![key(sub, rg, name)],
        )?;
        if let Some(op) = op {
            put_operation(&tx, op)?;
        }
        bump_generation(&tx)?;
        tx.commit()?;
        Ok(n > 0)
    }

    /// The edge generation: increases with every committed circuit change, across restarts.
    pub fn generation(&self) -> Result<u64> {
        Ok(self
            .meta("generation")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// This store's random identity, made on first use.
    pub fn instance(&mut self) -> Result<String> {
        if let Some(id) = self.meta("instance")? {
            return Ok(id);
        }
        let id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        self.conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('instance', ?1)",
            params![id],
        )?;
        Ok(self.meta("instance")?.unwrap_or(id))
    }

    /// Bumps the generation without another change (inventory or drain edits).
    pub fn touch_generation(&mut self) -> Result<()> {
        let tx = self.conn.transaction()?;
        bump_generation(&tx)?;
        tx.commit()?;
        Ok(())
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    pub fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        bump_generation(&tx)?;
        tx.commit()?;
        Ok(())
    }

    // ----- operations -----

    pub fn put_operation(&mut self, op: &Operation) -> Result<()> {
        let tx = self.conn.transaction()?;
        put_operation(&tx, op)?;
        tx.commit()?;
        Ok(())
    }

    pub fn operation(&self, id: &str) -> Result<Option<Operation>> {
        let body: Option<String> = self
            .conn
            .query_row(
                "SELECT body FROM operations WHERE id = ?1",
                params![id.to_ascii_lowercase()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
    }

    // ----- cloud-side resources (virtual networks, gateways, connections) -----

    /// One resource's stored body.
    pub fn resource(&self, kind: &str, sub: &str, rg: &str, name: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT body FROM resources WHERE key = ?1",
                params![resource_key(kind, sub, rg, name)],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Resources of a kind, optionally in one subscription (and resource group), oldest first.
    pub fn resources(
        &self,
        kind: &str,
        sub: Option<&str>,
        rg: Option<&str>,
    ) -> Result<Vec<String>> {
        let kind = kind.to_ascii_lowercase();
        let sub = sub.map(str::to_ascii_lowercase);
        let rg = rg.map(str::to_ascii_lowercase);
        let mut st = self.conn.prepare_cached(
            "SELECT body FROM resources WHERE kind = ?1
               AND (?2 IS NULL OR sub = ?2) AND (?3 IS NULL OR rg = ?3)
             ORDER BY seq",
        )?;
        let rows = st
            .query_map(params![kind, sub, rg], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Every resource as (key, body), by key: the whole cloud-side state (tests compare it).
    pub fn resource_dump(&self) -> Result<Vec<(String, String)>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT key, body FROM resources ORDER BY key")?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Applies resource writes, circuit writes and the operation record in one transaction,
    /// and bumps the edge generation (the advertised prefixes may have changed).
    pub fn commit(&mut self, batch: &Batch) -> Result<()> {
        let tx = self.conn.transaction()?;
        for (k, body) in &batch.puts {
            let key = resource_key(&k.kind, &k.sub, &k.rg, &k.name);
            let updated = tx.execute(
                "UPDATE resources SET body = ?2 WHERE key = ?1",
                params![key, body],
            )?;
            if updated == 0 {
                tx.execute(
                    "INSERT INTO resources (key, kind, sub, rg, seq, body)
                     VALUES (?1, ?2, ?3, ?4, (SELECT COALESCE(MAX(seq), 0) + 1 FROM resources), ?5)",
                    params![
                        key,
                        k.kind.to_ascii_lowercase(),
                        k.sub.to_ascii_lowercase(),
                        k.rg.to_ascii_lowercase(),
                        body
                    ],
                )?;
            }
        }
        for k in &batch.deletes {
            tx.execute(
                "DELETE FROM resources WHERE key = ?1",
                params![resource_key(&k.kind, &k.sub, &k.rg, &k.name)],
            )?;
        }
        for c in &batch.circuits {
            write_circuit(&tx, c)?;
        }
        if let Some(op) = &batch.op {
            put_operation(&tx, op)?;
        }
        bump_generation(&tx)?;
        tx.commit()?;
        Ok(())
    }

    // ----- tokens -----

    pub fn insert_token(&mut self, t: &TokenRecord) -> Result<()> {
        self.conn.execute(
            "INSERT INTO tokens (id, hash, principal, created, revoked) VALUES (?1, ?2, ?3, ?4, 0)",
            params![t.id, t.hash, t.principal, t.created],
        )?;
        Ok(())
    }

    pub fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, hash, principal, created, revoked FROM tokens WHERE hash = ?1",
                params![hash],
                token_row,
            )
            .optional()?)
    }

    pub fn tokens(&self) -> Result<Vec<TokenRecord>> {
        let mut st = self.conn.prepare(
            "SELECT id, hash, principal, created, revoked FROM tokens ORDER BY created, id",
        )?;
        let rows = st
            .query_map([], token_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Marks a token revoked. True if it existed.
    pub fn revoke_token(&mut self, id: &str) -> Result<bool> {
        let n = self
            .conn
            .execute("UPDATE tokens SET revoked = 1 WHERE id = ?1", params![id])?;
        Ok(n > 0)
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

/// Where a cloud-side resource lives: `kind` is its ARM type (`virtualNetworks`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceKey {
    pub kind: String,
    pub sub: String,
    pub rg: String,
    pub name: String,
}

/// Writes that commit together (see [`Store::commit`]).
#[derive(Debug, Default)]
pub struct Batch {
    /// (where, JSON body): created or replaced.
    pub puts: Vec<(ResourceKey, String)>,
    pub deletes: Vec<ResourceKey>,
    /// Circuits to create or replace (authorization status changes).
    pub circuits: Vec<Circuit>,
    pub op: Option<Operation>,
}

fn resource_key(kind: &str, sub: &str, rg: &str, name: &str) -> String {
    format!("{kind}/{sub}/{rg}/{name}").to_ascii_lowercase()
}

fn write_circuit(tx: &rusqlite::Transaction<'_>, c: &Circuit) -> Result<()> {
    let body = serde_json::to_string(c)?;
    let k = key(&c.sub, &c.rg, &c.name);
    let updated = tx.execute(
        "UPDATE circuits SET body = ?2 WHERE key = ?1",
        params![k, body],
    )?;
    if updated == 0 {
        tx.execute(
            "INSERT INTO circuits (key, sub, rg, service_key, provider, seq, body)
             VALUES (?1, ?2, ?3, ?4, ?5, (SELECT COALESCE(MAX(seq), 0) + 1 FROM circuits), ?6)",
            params![
                k,
                c.sub.to_ascii_lowercase(),
                c.rg.to_ascii_lowercase(),
                c.service_key.to_ascii_lowercase(),
                c.provider.service_provider_name.to_ascii_lowercase(),
                body
            ],
        )?;
    }
    Ok(())
}

fn bump_generation(tx: &rusqlite::Transaction<'_>) -> Result<()> {
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('generation', '1')
         ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        [],
    )?;
    Ok(())
}

fn put_operation(tx: &rusqlite::Transaction<'_>, op: &Operation) -> Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO operations (id, body) VALUES (?1, ?2)",
        params![op.id.to_ascii_lowercase(), serde_json::to_string(op)?],
    )?;
    Ok(())
}
