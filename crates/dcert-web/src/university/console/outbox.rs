//! Correction requests and the email outbox.

use super::*;

// ----- corrections, outbox -----

#[derive(Template)]
#[template(path = "console/corrections.html")]
pub(super) struct CorrectionsPage {
    c: Chrome,
    rows: Vec<(Correction, String)>,
}

pub(super) async fn corrections(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let staff = require(&ctx, &state.store, Action::Corrections).await?;
    let t = ctx.t;
    let rows = state.store.corrections(scope(&staff).as_deref()).await?.into_iter().map(|c| {
        let at = t.time(c.created_at);
        (c, at)
    });
    page(CorrectionsPage { c: chrome(&ctx, &state, &staff), rows: rows.collect() })
}

pub(super) async fn resolve_correction(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted(ctx, NoFields {}): Posted<NoFields>,
) -> PageResult {
    let staff = require(&ctx, &state.store, Action::Corrections).await?;
    let open = state.store.corrections(scope(&staff).as_deref()).await?;
    if !open.iter().any(|c| c.id == id) {
        return Err(AppError::NotFound);
    }
    let audit = |graduate| {
        audit_of(&ctx, &staff, "resolve_correction", format!("graduate:{graduate}"), format!("correction:{id}"))
    };
    state.store.resolve_correction(id, (&staff.username, now().unix()), audit).await?;
    Ok(redirect("/console/corrections"))
}

pub(super) struct MessageRow {
    m: OutboxMessage,
    created: String,
    sent: String,
    status: &'static str,
}

#[derive(Template)]
#[template(path = "console/outbox.html")]
pub(super) struct OutboxPage {
    c: Chrome,
    rows: Vec<MessageRow>,
    smtp: bool,
    selected: Option<MessageRow>,
    log: Vec<(String, String, String)>,
}

pub(super) async fn outbox_view(
    state: &AppState,
    ctx: &Ctx,
    staff: &Staff,
    selected: Option<OutboxMessage>,
) -> PageResult {
    let t = ctx.t;
    let scoped = scope(staff);
    let row = |mut m: OutboxMessage| {
        // A confirmation link is the graduate's alone: staff see that it was sent, not the link.
        if m.kind == crate::university::mail::KIND_CONFIRM_ADDRESS {
            m.body = m
                .body
                .split_inclusive(char::is_whitespace)
                .map(|w| if w.contains("token=") { "[…]\n" } else { w })
                .collect();
        }
        MessageRow {
            created: t.time(m.created_at),
            sent: m.sent_at.map(|s| t.time(s)).unwrap_or_default(),
            status: match m.status.as_str() {
                "sent" => t.s("console.outbox.status.sent"),
                "failed" => t.s("console.outbox.status.failed"),
                "cancelled" => t.s("console.outbox.status.cancelled"),
                _ => t.s("console.outbox.status.pending"),
            },
            m,
        }
    };
    let mut rows = Vec::new();
    for m in state.store.emails(None, 300).await? {
        if let Some(campus) = &scoped {
            let Some(cid) = m.certificate_id else { continue };
            let Some(cert) = state.store.certificate(cid).await? else { continue };
            let Some(g) = state.store.graduate(cert.graduate_id).await? else { continue };
            if g.campus != *campus {
                continue;
            }
        }
        rows.push(row(m));
    }
    let log = match &selected {
        Some(m) => {
            state.store.delivery_log(m.id).await?.into_iter().map(|e| (t.time(e.at), e.event, e.detail)).collect()
        }
        None => Vec::new(),
    };
    page(OutboxPage {
        c: chrome(ctx, state, staff),
        rows,
        smtp: state.worker.mailer.is_some(),
        selected: selected.map(row),
        log,
    })
}

pub(super) async fn outbox(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let staff = require(&ctx, &state.store, Action::ViewOutbox).await?;
    outbox_view(&state, &ctx, &staff, None).await
}

pub(super) async fn outbox_message(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let staff = require(&ctx, &state.store, Action::ViewOutbox).await?;
    let m = state.store.email(id).await?.ok_or(AppError::NotFound)?;
    if scope(&staff).is_some() {
        let cert = match m.certificate_id {
            Some(c) => state.store.certificate(c).await?,
            None => None,
        };
        let cert = cert.ok_or(AppError::NotFound)?;
        visible_graduate(&state.store, &staff, cert.graduate_id).await?;
    }
    outbox_view(&state, &ctx, &staff, Some(m)).await
}
