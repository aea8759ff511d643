//! The audit log of the Ministry console.

use super::*;

// ----- audit log -----

#[derive(Template)]
#[template(path = "ministry/console/audit.html")]
pub(super) struct AuditPage {
    c: Chrome,
    rows: Vec<(String, AuditEntry)>,
    actor: String,
    action: String,
}

#[derive(Deserialize)]
pub(super) struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
}

pub(super) fn non_empty(s: Option<&String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

pub(super) async fn audit(State(state): State<MinistryState>, ctx: Ctx, Query(q): Query<AuditQuery>) -> PageResult {
    let staff = ctx.require(&state.store, Action::ViewAudit).await?;
    let filter = AuditFilter {
        actor: non_empty(q.actor.as_ref()),
        action: non_empty(q.action.as_ref()),
        since: None,
        limit: 500,
    };
    let t = ctx.t;
    let rows = state.store.audit_log(&filter).await?.into_iter().map(|e| (t.time(e.at), e)).collect();
    page(AuditPage {
        c: ctx.chrome(Some(&staff), "audit"),
        rows,
        actor: q.actor.unwrap_or_default(),
        action: q.action.unwrap_or_default(),
    })
}
