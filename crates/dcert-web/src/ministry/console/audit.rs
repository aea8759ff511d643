//! The audit log of the Ministry console, in the console's layout.

use super::*;
use crate::http::audit::{AuditQuery, AuditView};

#[derive(Template)]
#[template(path = "ministry/console/audit.html")]
pub(super) struct AuditPage {
    c: Chrome,
    v: AuditView,
}

pub(super) async fn audit(State(state): State<MinistryState>, ctx: Ctx, Query(q): Query<AuditQuery>) -> PageResult {
    let staff = ctx.require(&state.store, Action::ViewAudit).await?;
    let v = AuditView::load(&state.store, ctx.t, q).await?;
    page(AuditPage { c: ctx.chrome(Some(&staff), "audit"), v })
}
