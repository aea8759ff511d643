//! The audit log page both consoles show: the newest entries, filtered by actor and action, with
//! times in the page's language. Each console wraps it in its own layout.

use dcert_store::{AuditEntry, AuditFilter, Db};
use serde::Deserialize;

use super::{AppError, non_empty};
use crate::i18n::Texts;

/// The entries a page shows at most.
const LIMIT: i64 = 500;

/// The filters of the page's form.
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    /// Only this actor's entries.
    pub actor: Option<String>,
    /// Only entries of this action.
    pub action: Option<String>,
}

/// What the page shows: the entries with their times written out, and the filters as typed.
pub struct AuditView {
    /// (time, entry), newest first.
    pub rows: Vec<(String, AuditEntry)>,
    /// The actor filter as typed.
    pub actor: String,
    /// The action filter as typed.
    pub action: String,
}

impl AuditView {
    /// The entries of `db`'s audit log that `query` asks for.
    pub async fn load(db: &Db, t: Texts, query: AuditQuery) -> Result<AuditView, AppError> {
        let filter = AuditFilter {
            actor: non_empty(query.actor.as_deref()),
            action: non_empty(query.action.as_deref()),
            target: None,
            since: None,
            limit: LIMIT,
        };
        let rows = db.audit_log(&filter).await?.into_iter().map(|e| (t.time(e.at), e)).collect();
        Ok(AuditView { rows, actor: query.actor.unwrap_or_default(), action: query.action.unwrap_or_default() })
    }
}
