//! The connection layer both stores stand on: one pool on SQLite or PostgreSQL, the migrations of
//! the parts a deployment holds, transactions, and the helpers every table group shares.

use dcert_core::model::Language;
use dcert_core::time::Date;
use sqlx::any::{AnyArguments, AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, AssertSqlSafe, Execute, Executor, Row};

use crate::schema::{self, Migration, Part};
use crate::{AuditEntry, Backend, Result, StoreError};

/// A connection pool, the backend it talks to, and the shared tables (staff, sessions, the audit
/// log; see [`crate::accounts`]). Each party's store derefs to it.
#[derive(Clone, Debug)]
pub struct Db {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
}

/// A transaction.
pub(crate) type Tx<'c> = sqlx::Transaction<'c, sqlx::Any>;

/// A query as `sqlx::query` makes it for the `Any` driver, with its parameters bound.
pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, Any, AnyArguments>;

/// Reading a query's rows into the store's types: each row goes through a function that may
/// find a stored value corrupt (a [`StoreError`], which sqlx's own mapping cannot return).
pub(crate) trait FetchWith<'q>: Execute<'q, Any> + 'q {
    /// Every row the query returns, each made into a `T` by `row`.
    async fn fetch_all_with<'c, T>(
        self,
        executor: impl Executor<'c, Database = Any>,
        row: impl Fn(&AnyRow) -> Result<T>,
    ) -> Result<Vec<T>> {
        executor.fetch_all(self).await?.iter().map(row).collect()
    }

    /// The row the query returns, if any, made into a `T` by `row`.
    async fn fetch_optional_with<'c, T>(
        self,
        executor: impl Executor<'c, Database = Any>,
        row: impl Fn(&AnyRow) -> Result<T>,
    ) -> Result<Option<T>> {
        executor.fetch_optional(self).await?.as_ref().map(row).transpose()
    }

    /// The one row the query returns, made into a `T` by `row`.
    async fn fetch_one_with<'c, T>(
        self,
        executor: impl Executor<'c, Database = Any>,
        row: impl Fn(&AnyRow) -> Result<T>,
    ) -> Result<T> {
        row(&executor.fetch_one(self).await?)
    }
}

impl<'q> FetchWith<'q> for AnyQuery<'q> {}

/// Makes a struct that holds a [`Db`] in its field `db` a party's store: `open` opens the
/// database and migrates the parts of the schema the party holds (`$tables` names them in the
/// docs), and the store derefs to its [`Db`] for the shared tables and the pool.
macro_rules! party_store {
    ($store:ident, $tables:literal, $parts:expr) => {
        impl $store {
            /// Opens the database at `url` (`sqlite://PATH`, `sqlite::memory:`, `postgres://...`) and
            #[doc = concat!("migrates ", $tables, " (and the shared ones).")]
            pub async fn open(url: &str) -> $crate::Result<$store> {
                Ok($store { db: $crate::db::Db::open(url, $parts).await? })
            }
        }

        impl std::ops::Deref for $store {
            type Target = $crate::db::Db;

            fn deref(&self) -> &$crate::db::Db {
                &self.db
            }
        }
    };
}

pub(crate) use party_store;

/// The path of a SQLite database URL's file, if it names one (not `:memory:`).
fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.contains(":memory:") && !url.contains("mode=memory")).then(|| path.into())
}

/// Creates a SQLite database's file readable by its owner only (0600), or makes an existing one
/// so, with its journal files: the database holds personal data and session hashes. SQLite
/// gives the `-wal` and `-shm` files it creates later the database file's permissions.
fn private_sqlite_files(url: &str) -> Result<()> {
    let Some(path) = sqlite_path(url) else { return Ok(()) };
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let io = |path: &std::path::Path, source| StoreError::File { path: path.to_owned(), source };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(false).mode(0o600);
        options.open(&path).map_err(|e| io(&path, e))?;
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
            if file.exists() {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).map_err(|e| io(&file, e))?;
            }
        }
    }
    Ok(())
}

impl Db {
    /// Opens the database at `url` (`sqlite://PATH`, `sqlite::memory:`, `postgres://...`) and migrates it.
    pub(crate) async fn open(url: &str, parts: &[Part]) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        let options = AnyPoolOptions::new().max_connections(match backend {
            // One writer at a time is what SQLite allows anyway; a few readers beside it.
            Backend::Sqlite => 4,
            Backend::Postgres => 8,
        });
        let options = if backend == Backend::Sqlite {
            options.after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    Ok(())
                })
            })
        } else {
            options
        };
        let url = if backend == Backend::Sqlite && !url.contains("mode=") && !url.contains(":memory:") {
            if url.contains('?') { format!("{url}&mode=rwc") } else { format!("{url}?mode=rwc") }
        } else {
            url.to_owned()
        };
        if backend == Backend::Sqlite {
            private_sqlite_files(&url)?;
        }
        let pool = options.connect(&url).await?;
        let db = Db { pool, backend };
        db.migrate(parts).await?;
        Ok(db)
    }

    /// A transaction that will write. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`): a transaction that reads first and writes later could otherwise fail with
    /// "database is locked" when another one wrote in between, whatever the busy timeout.
    pub(crate) async fn write_tx(&self) -> Result<Tx<'static>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the database answers (for `/healthz`).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").fetch_one(&self.pool).await?;
        Ok(())
    }

    /// The bytes the tables and indexes of this store take on disk.
    pub async fn size_bytes(&self) -> Result<u64> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT CAST(page_count * page_size AS BIGINT) FROM pragma_page_count(), pragma_page_size()"
            }
            Backend::Postgres => {
                "SELECT CAST(COALESCE(SUM(pg_total_relation_size(c.oid)), 0) AS BIGINT) FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'"
            }
        };
        let bytes: i64 = sqlx::query(sql).fetch_one(&self.pool).await?.try_get(0)?;
        Ok(u64::try_from(bytes).unwrap_or_default())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Brings `parts` up to date, each in its own history. A database an earlier release made
    /// (one history for every part, in `schema_migrations`) is adopted first: everything up to
    /// its version is recorded as applied to every part.
    async fn migrate(&self, parts: &[Part]) -> Result<()> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_parts \
             (part TEXT NOT NULL, version BIGINT NOT NULL, name TEXT NOT NULL, PRIMARY KEY (part, version))",
        )
        .execute(&self.pool)
        .await?;
        self.adopt_legacy().await?;
        for &part in parts {
            let applied: Option<i64> = sqlx::query("SELECT MAX(version) AS v FROM schema_parts WHERE part = $1")
                .bind(part.code())
                .fetch_one(&self.pool)
                .await?
                .try_get("v")?;
            let applied = applied.unwrap_or(0);
            let known = schema::MIGRATIONS.iter().filter(|m| m.part == part).map(|m| m.version).max().unwrap_or(0);
            if applied > known {
                return Err(StoreError::SchemaTooNew { found: applied, known });
            }
            for migration in schema::MIGRATIONS.iter().filter(|m| m.part == part && m.version > applied) {
                let mut tx = self.write_tx().await?;
                let specific = match self.backend {
                    Backend::Sqlite => migration.sqlite_only,
                    Backend::Postgres => migration.postgres_only,
                };
                for statement in migration.statements.iter().chain(specific) {
                    sqlx::query(AssertSqlSafe(schema::dialect(statement, self.backend))).execute(&mut *tx).await?;
                }
                record_applied(&mut tx, migration).await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// Records the history of a database an earlier release made, once.
    async fn adopt_legacy(&self) -> Result<()> {
        let legacy = sqlx::query(match self.backend {
            Backend::Sqlite => "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
            Backend::Postgres => {
                "SELECT 1 FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = 'schema_migrations'"
            }
        })
        .fetch_optional(&self.pool)
        .await?;
        if legacy.is_none() {
            return Ok(());
        }
        let adopted = sqlx::query("SELECT 1 FROM schema_parts").fetch_optional(&self.pool).await?;
        if adopted.is_some() {
            return Ok(());
        }
        let version: Option<i64> =
            sqlx::query("SELECT MAX(version) AS v FROM schema_migrations").fetch_one(&self.pool).await?.try_get("v")?;
        let version = version.unwrap_or(0);
        if version > schema::LEGACY_VERSION {
            return Err(StoreError::SchemaTooNew { found: version, known: schema::LEGACY_VERSION });
        }
        if version < schema::LEGACY_VERSION {
            // Every release since version 5 has been out for long; an older database is upgraded
            // by that release first.
            return Err(StoreError::Corrupt {
                what: "schema",
                detail: format!("version {version} is too old to adopt: open it once with the release of version 5"),
            });
        }
        let mut tx = self.write_tx().await?;
        for migration in schema::MIGRATIONS.iter().filter(|m| m.version <= version) {
            record_applied(&mut tx, migration).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Records `migration` as applied to its part, in the caller's transaction.
async fn record_applied(tx: &mut Tx<'_>, migration: &Migration) -> Result<()> {
    sqlx::query("INSERT INTO schema_parts (part, version, name) VALUES ($1, $2, $3)")
        .bind(migration.part.code())
        .bind(migration.version)
        .bind(migration.name)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub(crate) async fn append_audit(tx: &mut Tx<'_>, e: &AuditEntry) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, role, action, target, detail, ip) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(e.at)
    .bind(&e.actor)
    .bind(&e.role)
    .bind(&e.action)
    .bind(&e.target)
    .bind(&e.detail)
    .bind(&e.ip)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A unique constraint broken by a concurrent writer becomes a conflict in words.
pub(crate) fn unique_as(message: impl Fn() -> String) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(message()),
        other => other.into(),
    }
}

pub(crate) fn corrupt(what: &'static str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt { what, detail: e.to_string() }
}

pub(crate) fn parse_language(s: &str) -> Result<Language> {
    match s {
        "zh" => Ok(Language::Zh),
        "en" => Ok(Language::En),
        other => Err(corrupt("language", other)),
    }
}

pub(crate) fn parse_date(s: &str) -> Result<Date> {
    s.parse().map_err(|e| corrupt("date", e))
}
