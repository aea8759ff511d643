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
    /// Each delivery event: when, what, and its detail (`true` when that is the mail server's
    /// own English rather than the catalogue's words).
    log: Vec<(String, &'static str, String, bool)>,
    /// The state filtered on, or empty; every state with its words.
    status: String,
    statuses: Vec<(&'static str, &'static str)>,
    shown: Option<String>,
    previous: Option<String>,
    next: Option<String>,
}

/// Emails shown on one page of the outbox.
const EMAILS_PER_PAGE: i64 = 100;

/// The states of an email, as the outbox's filter offers them.
const STATUSES: [&str; 4] = ["pending", "sent", "failed", "cancelled"];

#[derive(Deserialize, Default)]
pub(super) struct OutboxQuery {
    status: Option<String>,
    page: Option<i64>,
}

pub(super) async fn outbox_view(
    state: &AppState,
    ctx: &Ctx,
    staff: &Staff,
    selected: Option<OutboxMessage>,
    q: OutboxQuery,
) -> PageResult {
    let t = ctx.t;
    let row = |mut m: OutboxMessage| {
        // A confirmation link is the graduate's alone: staff see that it was sent, not the link.
        if m.kind == crate::university::mail::KIND_CONFIRM_ADDRESS {
            m.body = m
                .body
                .split_inclusive(char::is_whitespace)
                .map(|w| if w.contains("token=") { "[…]\n" } else { w })
                .collect();
        }
        let status = if STATUSES.contains(&m.status.as_str()) { m.status.as_str() } else { "pending" };
        MessageRow {
            created: t.time(m.created_at),
            sent: m.sent_at.map(|s| t.time(s)).unwrap_or_default(),
            status: t.s(&format!("console.outbox.status.{status}")),
            m,
        }
    };
    let status = q.status.filter(|s| STATUSES.contains(&s.as_str()));
    let page_number = q.page.unwrap_or(1).clamp(1, 1_000_000);
    let filter = dcert_store::OutboxFilter {
        campus: scope(staff),
        status: status.clone(),
        limit: EMAILS_PER_PAGE,
        offset: (page_number - 1) * EMAILS_PER_PAGE,
    };
    let (messages, total) = state.store.outbox_page(&filter).await?;
    let (first, last) = (filter.offset + 1, filter.offset + messages.len() as i64);
    let shown = (!messages.is_empty()).then(|| t.f("console.graduates.shown", &[&first, &last, &total]));
    let href = |n: i64| match &status {
        Some(s) => format!("/console/outbox?status={s}&page={n}"),
        None => format!("/console/outbox?page={n}"),
    };
    let log = match &selected {
        Some(m) => state
            .store
            .delivery_log(m.id)
            .await?
            .into_iter()
            .map(|e| {
                let key = format!("console.outbox.event.{}", e.event);
                let event = if crate::i18n::Texts::has(&key) { t.s(&key) } else { t.s("console.outbox.event.other") };
                // A withdrawal says why in a code of the store's: worded here.
                let cancel = format!("console.outbox.cancel.{}", e.detail);
                if e.event == "cancelled" && crate::i18n::Texts::has(&cancel) {
                    (t.time(e.at), event, t.s(&cancel).to_owned(), false)
                } else {
                    (t.time(e.at), event, e.detail, true)
                }
            })
            .collect(),
        None => Vec::new(),
    };
    page(OutboxPage {
        c: chrome(ctx, state, staff),
        rows: messages.into_iter().map(row).collect(),
        smtp: state.worker.mailer.is_some(),
        selected: selected.map(row),
        log,
        status: status.clone().unwrap_or_default(),
        statuses: STATUSES.iter().map(|s| (*s, t.s(&format!("console.outbox.status.{s}")))).collect(),
        shown,
        previous: (page_number > 1).then(|| href(page_number - 1)),
        next: (last < total).then(|| href(page_number + 1)),
    })
}

pub(super) async fn outbox(State(state): State<AppState>, ctx: Ctx, Query(q): Query<OutboxQuery>) -> PageResult {
    let staff = require(&ctx, &state.store, Action::ViewOutbox).await?;
    outbox_view(&state, &ctx, &staff, None, q).await
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
    outbox_view(&state, &ctx, &staff, Some(m), OutboxQuery::default()).await
}
