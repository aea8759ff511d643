//! A PostgreSQL schema of its own, for a bench or a test: made with a unique name on a server,
//! reached through its own URL, and dropped with everything in it when it is no longer wanted,
//! even when the code using it panicked.

use sqlx::AnyPool;

use crate::{Result, StoreError};

/// A schema made for one run.
#[derive(Debug)]
pub struct ScratchSchema {
    server: String,
    name: String,
    url: String,
    dropped: bool,
}

impl ScratchSchema {
    /// Makes a schema named `{prefix}_{random}` on the PostgreSQL server at `server_url`.
    pub async fn create(server_url: &str, prefix: &str) -> Result<ScratchSchema> {
        if !(server_url.starts_with("postgres:") || server_url.starts_with("postgresql:")) {
            return Err(StoreError::UnsupportedUrl);
        }
        if !prefix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(StoreError::Conflict(format!("{prefix:?} is not a schema name")));
        }
        let mut random = [0u8; 6];
        getrandom::fill(&mut random).map_err(|e| StoreError::Conflict(format!("no randomness: {e}")))?;
        let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let name = format!("{prefix}_{suffix}");
        run(server_url, &format!("CREATE SCHEMA {name}")).await?;
        let separator = if server_url.contains('?') { '&' } else { '?' };
        let url = format!("{server_url}{separator}options=-c%20search_path%3D{name}");
        Ok(ScratchSchema { server: server_url.to_owned(), name, url, dropped: false })
    }

    /// The URL that opens a store in this schema.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Drops the schema and everything in it (close the stores opened on it first).
    pub async fn drop_now(mut self) -> Result<()> {
        self.dropped = true;
        run(&self.server, &format!("DROP SCHEMA {} CASCADE", self.name)).await
    }
}

impl Drop for ScratchSchema {
    /// Drops the schema if [`ScratchSchema::drop_now`] was not called (a panic, an early
    /// return), on a thread of its own so that it works inside an async runtime too.
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        let (server, statement) = (self.server.clone(), format!("DROP SCHEMA {} CASCADE", self.name));
        let dropping = std::thread::Builder::new().name("drop-scratch-schema".into()).spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(run(&server, &statement)).ok()
        });
        let dropped = dropping.ok().and_then(|thread| thread.join().ok()).flatten();
        if dropped.is_none() {
            tracing::warn!(schema = %self.name, "a scratch schema could not be dropped");
        }
    }
}

/// Runs one statement of the schema's lifecycle on the server.
async fn run(server_url: &str, statement: &str) -> Result<()> {
    sqlx::any::install_default_drivers();
    let pool = AnyPool::connect(server_url).await?;
    // A transaction still open on the schema (a test that panicked in it) must not hold the
    // drop forever.
    sqlx::query("SET lock_timeout = '10s'").execute(&pool).await?;
    let result = sqlx::query(sqlx::AssertSqlSafe(statement.to_owned())).execute(&pool).await;
    pool.close().await;
    result?;
    Ok(())
}
