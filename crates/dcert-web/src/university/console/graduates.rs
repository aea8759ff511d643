//! Graduates and their certificates: the list, one graduate, paper-diploma collections and applications, reissue, revocation, resend, download.

use super::*;

// ----- graduates -----

/// Graduates shown on one page of the list.
const GRADUATES_PER_PAGE: i64 = 100;

#[derive(Template)]
#[template(path = "console/graduates.html")]
pub(super) struct GraduatesPage {
    c: Chrome,
    rows: Vec<GraduateSummary>,
    campuses: Vec<(String, String)>,
    campus: String,
    term: String,
    q: String,
    /// The state filtered on (its code), or empty.
    state: String,
    /// Every state: its code and its words.
    states: Vec<(&'static str, &'static str)>,
    /// "Graduates 101–200 of 3,050", or nothing when none match.
    shown: Option<String>,
    /// A campus office searched and found none: only its own campus is listed.
    own_campus_only: bool,
    /// The addresses of the previous and next pages, when there are.
    previous: Option<String>,
    next: Option<String>,
    today: String,
    scoped: bool,
    notice: Option<String>,
}

#[derive(Deserialize, Default)]
pub(super) struct GraduatesQuery {
    campus: Option<String>,
    term: Option<String>,
    q: Option<String>,
    state: Option<String>,
    page: Option<i64>,
    recorded: Option<usize>,
    unconfirmed: Option<usize>,
    unknown: Option<String>,
    already: Option<String>,
    ineligible: Option<String>,
}

/// The words of a graduate's state, as the list's filter offers it.
pub(super) fn state_words(t: Texts, state: GraduateState) -> &'static str {
    t.s(&format!("console.state.{}", state.code()))
}

pub(super) async fn graduates(State(state): State<AppState>, ctx: Ctx, Query(q): Query<GraduatesQuery>) -> PageResult {
    let staff = require(&ctx, &state.store, Action::ViewGraduates).await?;
    let t = ctx.t;
    let scoped = scope(&staff);
    let campus = scoped.clone().or(crate::http::non_empty(q.campus.as_deref()));
    let chosen_state = q.state.as_deref().and_then(GraduateState::parse);
    let page_number = q.page.unwrap_or(1).clamp(1, 1_000_000);
    let filter = GraduateFilter {
        campus: campus.clone(),
        term: crate::http::non_empty(q.term.as_deref()),
        search: crate::http::non_empty(q.q.as_deref()),
        state: chosen_state,
        today: Some(today().to_string()),
        limit: GRADUATES_PER_PAGE,
        offset: (page_number - 1) * GRADUATES_PER_PAGE,
    };
    let rows = state.store.list_graduates(&filter).await?;
    let total = state.store.count_graduates(&filter).await?;
    let first = filter.offset + 1;
    let last = filter.offset + rows.len() as i64;
    let shown = (!rows.is_empty()).then(|| t.f("console.graduates.shown", &[&first, &last, &total]));
    // The same filters, on another page.
    let page_href = |n: i64| {
        let mut query = vec![];
        for (key, value) in [("campus", &filter.campus), ("term", &filter.term), ("q", &filter.search)] {
            if let Some(v) = value {
                query.push(format!("{key}={}", urlencode(v)));
            }
        }
        if let Some(s) = chosen_state {
            query.push(format!("state={}", s.code()));
        }
        query.push(format!("page={n}"));
        format!("/console/graduates?{}", query.join("&"))
    };
    let previous = (page_number > 1).then(|| page_href(page_number - 1));
    let next = (last < total).then(|| page_href(page_number + 1));
    let campuses = state
        .store
        .campuses()
        .await?
        .into_iter()
        .filter(|c| scoped.as_ref().is_none_or(|s| *s == c.code))
        .map(|c| (c.code, if t.lang == crate::i18n::Lang::Zh { c.name_zh } else { c.name_en }))
        .collect();
    let notice = q.recorded.map(|n| {
        let mut s = t.f("console.collections.done", &[&n]);
        if let Some(u) = q.unconfirmed.filter(|u| *u > 0) {
            s.push(' ');
            s.push_str(&t.f("console.collections.unconfirmed", &[&u]));
        }
        for (numbers, key) in [
            (&q.unknown, "console.collections.unknown"),
            (&q.already, "console.collections.already"),
            (&q.ineligible, "console.collections.ineligible"),
        ] {
            if let Some(numbers) = crate::http::non_empty(numbers.as_deref()) {
                s.push(' ');
                s.push_str(&t.f(key, &[&numbers]));
            }
        }
        s
    });
    page(GraduatesPage {
        c: chrome(&ctx, &state, &staff),
        rows,
        campuses,
        campus: campus.unwrap_or_default(),
        term: q.term.unwrap_or_default(),
        q: q.q.unwrap_or_default(),
        state: chosen_state.map(|s| s.code().to_owned()).unwrap_or_default(),
        states: GraduateState::ALL.into_iter().map(|s| (s.code(), state_words(t, s))).collect(),
        own_campus_only: scoped.is_some() && filter.search.is_some() && total == 0,
        shown,
        previous,
        next,
        today: today().to_string(),
        scoped: scoped.is_some(),
        notice,
    })
}

#[derive(Template)]
#[template(path = "console/graduate.html")]
pub(super) struct GraduatePage {
    c: Chrome,
    g: Graduate,
    certificates: Vec<CertRow>,
    waiting: Vec<OrderRow>,
    /// Every collection, application and reissue recorded, newest first.
    orders: Vec<String>,
    /// The languages whose paper diploma is not recorded yet: code and words.
    languages: Vec<(&'static str, &'static str)>,
    failed_orders: Vec<String>,
    today: String,
    can_revoke: bool,
    eligible: bool,
    notice: Option<&'static str>,
}

/// An order as the console lists it: what, when recorded, when due, where it stands.
fn order_line(t: Texts, o: &Order, confirmed: bool) -> String {
    let kind = t.s(&format!("console.order.{}", o.kind.code()));
    let state = if o.cancelled_at.is_some() {
        t.s("console.order.cancelled")
    } else if o.certificate_id.is_some() {
        t.s("console.order.issued")
    } else if !confirmed {
        t.s("console.order.awaiting_confirmation")
    } else {
        t.s("console.order.open")
    };
    t.f(
        "console.order.line",
        &[&kind, &language_label(t, o.language), &o.version, &t.date(&o.requested_on), &t.date(&o.due_on), &state],
    )
}

pub(super) async fn graduate(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(q): Query<DoneQuery>,
) -> PageResult {
    let staff = require(&ctx, &state.store, Action::ViewGraduates).await?;
    let g = visible_graduate(&state.store, &staff, id).await?;
    let t = ctx.t;
    let certificates = state.store.certificates_for_graduate(g.id).await?;
    let orders = state.store.orders_for_graduate(g.id).await?;
    let failed_orders = orders.iter().filter(|o| o.is_open()).filter_map(|o| o.last_error.clone()).collect();
    let policy = Policy::load(&state.store).await?;
    let notice = match q.done.as_deref() {
        Some("recorded") => Some(t.s("console.notice.recorded")),
        Some("recorded_unconfirmed") => Some(t.s("console.notice.recorded_unconfirmed")),
        Some("reissue") => Some(t.s("console.notice.reissue")),
        Some("revoked") => Some(t.s("console.notice.revoked")),
        Some("resent") => Some(t.s("console.notice.resent")),
        _ => None,
    };
    let mut rows = cert_rows(t, &certificates, None);
    // A revocation says who made it, where the audit log has the entry of that very file.
    for (row, cert) in rows.iter_mut().zip(&certificates) {
        if cert.status != dcert_store::CertificateStatus::Revoked {
            continue;
        }
        let filter = dcert_store::AuditFilter {
            action: Some("revoke".into()),
            target: Some(format!("certificate:{}", cert.id)),
            limit: 1,
            ..Default::default()
        };
        if let Some(entry) = state.store.audit_log(&filter).await?.first() {
            let who = match state.store.staff_by_username(&entry.actor).await? {
                Some(staff) => staff.display_name,
                None => entry.actor.clone(),
            };
            let on = cert.status_at.map(|at| t.date(&dcert_core::Timestamp(at).taiwan_date())).unwrap_or_default();
            let why = cert.status_reason.clone().unwrap_or_default();
            row.note = Some(t.f("console.revoked_note_by", &[&on, &who, &why]));
        }
    }
    let recorded = |l: Language| orders.iter().any(|o| o.language == l && o.kind != OrderKind::Reissue);
    let languages = [(Language::Zh, "zh", "console.diploma.zh"), (Language::En, "en", "console.diploma.en")]
        .into_iter()
        .filter(|(l, _, _)| !recorded(*l))
        .map(|(_, code, key)| (code, t.s(key)))
        .collect();
    page(GraduatePage {
        c: chrome(&ctx, &state, &staff),
        certificates: rows,
        waiting: order_rows(t, &orders, g.confirmed_at.is_some()),
        orders: orders.iter().rev().map(|o| order_line(t, o, g.confirmed_at.is_some())).collect(),
        languages,
        failed_orders,
        today: today().to_string(),
        can_revoke: permits(staff.role, Action::Revoke),
        eligible: policy.eligible(g.term()),
        g,
        notice,
    })
}

#[derive(Deserialize)]
pub(super) struct DiplomaForm {
    language: String,
    date: String,
}

pub(super) fn parse_day(t: Texts, s: &str) -> Result<Date, AppError> {
    let d: Date = s.trim().parse().map_err(|_| AppError::BadRequest(t.s("console.bad_date").into()))?;
    if d > today() {
        return Err(AppError::BadRequest(t.s("console.future_date").into()));
    }
    Ok(d)
}

/// Why a collection or application was not recorded.
pub(super) enum NotRecorded {
    /// The graduate's term is outside the eligibility policy.
    NotEligible,
    /// That language's diploma is recorded already.
    AlreadyRecorded,
}

impl NotRecorded {
    /// The refusal, as a page that says why.
    fn refusal(self, t: Texts) -> AppError {
        let key = match self {
            NotRecorded::NotEligible => "console.not_eligible",
            NotRecorded::AlreadyRecorded => "console.already_recorded",
        };
        AppError::BadRequest(t.s(key).into())
    }
}

/// What recording diplomas collected on one day needs, read once however many graduates it
/// is for: the eligibility policy and the day the certificates fall due.
pub(super) struct Recording {
    policy: Policy,
    day: Date,
    due: Date,
}

impl Recording {
    async fn on(state: &AppState, day: Date) -> Result<Recording, AppError> {
        let policy = Policy::load(&state.store).await?;
        let due = working_calendar(&state.store).await?.due_date(day);
        Ok(Recording { policy, day, due })
    }
}

/// Records a collection (Chinese) or application (English) for one graduate, or says why not.
async fn order_diploma(
    state: &AppState,
    (ctx, staff): (&Ctx, &Staff),
    g: &Graduate,
    language: Language,
    recording: &Recording,
) -> Result<Result<(), NotRecorded>, AppError> {
    if !recording.policy.eligible(g.term()) {
        return Ok(Err(NotRecorded::NotEligible));
    }
    let (day, due) = (recording.day, recording.due);
    let kind = if language == Language::Zh { OrderKind::Collection } else { OrderKind::Application };
    let order = NewOrder {
        graduate_id: g.id,
        language,
        kind,
        reason: "",
        requested_on: day,
        due_on: due,
        actor: &staff.username,
        at: now().unix(),
    };
    let detail = format!("{} {} on {day}, due {due}", kind.code(), language.code());
    let audit = |order: &Order| audit_of(ctx, staff, "record_diploma", format!("order:{}", order.id), detail);
    match state.store.create_order(&order, audit).await {
        Ok(_) => Ok(Ok(())),
        Err(dcert_store::StoreError::Conflict(_)) => Ok(Err(NotRecorded::AlreadyRecorded)),
        Err(other) => Err(other.into()),
    }
}

pub(super) async fn record_diploma(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted(ctx, form): Posted<DiplomaForm>,
) -> PageResult {
    let staff = require(&ctx, &state.store, Action::RecordDiploma).await?;
    let g = visible_graduate(&state.store, &staff, id).await?;
    let language = if form.language == "en" { Language::En } else { Language::Zh };
    let recording = Recording::on(&state, parse_day(ctx.t, &form.date)?).await?;
    if let Err(why) = order_diploma(&state, (&ctx, &staff), &g, language, &recording).await? {
        return Err(why.refusal(ctx.t));
    }
    // Recorded either way; an unconfirmed graduate's certificate waits for the confirmation.
    let done = if g.confirmed_at.is_some() { "recorded" } else { "recorded_unconfirmed" };
    Ok(redirect(&format!("/console/graduates/{id}?done={done}")))
}

#[derive(Deserialize)]
pub(super) struct CollectionsForm {
    numbers: String,
    date: String,
}

pub(super) async fn record_collections(
    State(state): State<AppState>,
    Posted(ctx, form): Posted<CollectionsForm>,
) -> PageResult {
    let staff = require(&ctx, &state.store, Action::RecordDiploma).await?;
    let day = parse_day(ctx.t, &form.date)?;
    let numbers: Vec<String> = form
        .numbers
        .split(|c: char| c.is_whitespace() || c == ',' || c == '，')
        .filter(|s| !s.is_empty())
        .map(|s| s.to_uppercase())
        .take(5000)
        .collect();
    let (found, mut unknown) = state.store.graduates_by_number(&numbers).await?;
    let recording = Recording::on(&state, day).await?;
    let (mut recorded, mut unconfirmed) = (0, 0);
    // Each number not recorded, under its reason; another campus's student is unknown to a
    // campus office, as everywhere in its console.
    let (mut already, mut ineligible) = (Vec::new(), Vec::new());
    for g in &found {
        let number = g.record.student_number.clone();
        if scope(&staff).is_some_and(|c| c != g.campus) {
            unknown.push(number);
            continue;
        }
        match order_diploma(&state, (&ctx, &staff), g, Language::Zh, &recording).await? {
            Ok(()) => {
                recorded += 1;
                unconfirmed += usize::from(g.confirmed_at.is_none());
            }
            Err(NotRecorded::AlreadyRecorded) => already.push(number),
            Err(NotRecorded::NotEligible) => ineligible.push(number),
        }
    }
    let list = |numbers: &[String]| urlencode(&numbers.join(" "));
    Ok(redirect(&format!(
        "/console/graduates?recorded={recorded}&unconfirmed={unconfirmed}&unknown={}&already={}&ineligible={}",
        list(&unknown),
        list(&already),
        list(&ineligible)
    )))
}

#[derive(Deserialize)]
pub(super) struct ReasonForm {
    reason: String,
}

pub(super) fn reason(t: Texts, r: &str) -> Result<String, AppError> {
    let r = r.trim();
    if r.is_empty() || r.chars().count() > 500 {
        return Err(AppError::BadRequest(t.s("console.reason_required").into()));
    }
    Ok(r.to_owned())
}

/// What a reissue or revocation starts with: the role for `action`, the reason,
/// and certificate `id` of a graduate this member of staff may see.
async fn certificate_action(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    form: &ReasonForm,
    action: Action,
) -> Result<(Staff, String, CertificateInfo, Graduate), AppError> {
    let staff = require(ctx, &state.store, action).await?;
    let why = reason(ctx.t, &form.reason)?;
    let cert = state.store.certificate(id).await?.ok_or(AppError::NotFound)?;
    let g = visible_graduate(&state.store, &staff, cert.graduate_id).await?;
    Ok((staff, why, cert, g))
}

#[derive(Template)]
#[template(path = "console/certificate_action.html")]
pub(super) struct CertificateActionPage {
    c: Chrome,
    g: Graduate,
    cert: CertRow,
    /// `reissue` or `revoke`.
    action: &'static str,
    /// The page's words for that action: title, consequence, reason's label, button.
    words: [&'static str; 4],
}

/// The page that names the graduate and the certificate before a reissue or a revocation, with
/// the one reason it asks for.
async fn certificate_action_page(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    (action, needs): (&'static str, Action),
) -> PageResult {
    let staff = require(ctx, &state.store, needs).await?;
    let cert = state.store.certificate(id).await?.ok_or(AppError::NotFound)?;
    let g = visible_graduate(&state.store, &staff, cert.graduate_id).await?;
    let row = cert_rows(ctx.t, std::slice::from_ref(&cert), None).remove(0);
    let t = ctx.t;
    let words = ["title", "consequence", "reason", "confirm"].map(|w| t.s(&format!("console.{action}.{w}")));
    page(CertificateActionPage { c: chrome(ctx, state, &staff), g, cert: row, action, words })
}

pub(super) async fn reissue_confirm(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    certificate_action_page(&state, &ctx, id, ("reissue", Action::Reissue)).await
}

pub(super) async fn revoke_confirm(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    certificate_action_page(&state, &ctx, id, ("revoke", Action::Revoke)).await
}

pub(super) async fn reissue(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted(ctx, form): Posted<ReasonForm>,
) -> PageResult {
    let (staff, why, cert, g) = certificate_action(&state, &ctx, id, &form, Action::Reissue).await?;
    if cert.status != dcert_store::CertificateStatus::Current {
        return Err(AppError::BadRequest(ctx.t.s("console.reissue_not_current").into()));
    }
    let day = today();
    let due = working_calendar(&state.store).await?.due_date(day);
    let order = NewOrder {
        graduate_id: g.id,
        language: cert.language,
        kind: OrderKind::Reissue,
        reason: &why,
        requested_on: day,
        due_on: due,
        actor: &staff.username,
        at: now().unix(),
    };
    let audit = |order: &Order| {
        let detail = format!("{} v{} -> v{}: {why}", cert.number, cert.version, order.version);
        audit_of(&ctx, &staff, "reissue", format!("certificate:{id}"), detail)
    };
    state.store.create_order(&order, audit).await.map_err(|e| match e {
        dcert_store::StoreError::Conflict(_) => AppError::BadRequest(ctx.t.s("console.reissue_waiting").into()),
        other => other.into(),
    })?;
    Ok(redirect(&format!("/console/graduates/{}?done=reissue", g.id)))
}

pub(super) async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted(ctx, form): Posted<ReasonForm>,
) -> PageResult {
    let (staff, why, cert, g) = certificate_action(&state, &ctx, id, &form, Action::Revoke).await?;
    let at = now().unix();
    let payload = revocation_record(&state.site.institution_id, &cert, &why, at);
    let payload = String::from_utf8(payload.to_json()).unwrap_or_default();
    let detail = format!("{} v{}: {why}", cert.number, cert.version);
    let entry = audit_of(&ctx, &staff, "revoke", format!("certificate:{id}"), detail);
    state.store.revoke_certificate(id, &why, &payload, at, &entry).await.map_err(|e| match e {
        dcert_store::StoreError::Conflict(_) => AppError::BadRequest(ctx.t.s("console.already_revoked").into()),
        other => other.into(),
    })?;
    state.worker.submit_to_registry(at).await?;
    Ok(redirect(&format!("/console/graduates/{}?done=revoked", g.id)))
}

pub(super) async fn resend(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted(ctx, NoFields {}): Posted<NoFields>,
) -> PageResult {
    let staff = require(&ctx, &state.store, Action::Resend).await?;
    let cert = state.store.certificate(id).await?.ok_or(AppError::NotFound)?;
    let g = visible_graduate(&state.store, &staff, cert.graduate_id).await?;
    if cert.status != dcert_store::CertificateStatus::Current {
        return Err(AppError::BadRequest(ctx.t.s("console.resend_not_current").into()));
    }
    let emails = state.worker.certificate_emails(&g, cert.language, cert.version, &cert.number);
    let entry = audit_of(&ctx, &staff, "resend", format!("certificate:{id}"), String::new());
    state.store.queue_emails(Some(cert.id), &emails, now().unix(), &entry).await?;
    Ok(redirect(&format!("/console/graduates/{}?done=resent", g.id)))
}

pub(super) async fn download(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let staff = require(&ctx, &state.store, Action::ViewGraduates).await?;
    let cert = state.store.certificate(id).await?.ok_or(AppError::NotFound)?;
    visible_graduate(&state.store, &staff, cert.graduate_id).await?;
    let bytes = state.store.certificate_file(id).await?;
    Ok(pdf_download(&crate::university::mail::attachment_name(&cert.number, cert.language, cert.version), bytes)
        .into_response())
}

#[cfg(test)]
mod tests {
    use dcert_store::{GraduateState, OrderKind};

    use crate::i18n::Texts;

    #[test]
    fn every_state_order_kind_and_certificate_action_is_worded_in_the_catalogue() {
        for state in GraduateState::ALL {
            assert!(Texts::has(&format!("console.state.{}", state.code())), "{state:?}");
        }
        for kind in [OrderKind::Collection, OrderKind::Application, OrderKind::Reissue] {
            assert!(Texts::has(&format!("console.order.{}", kind.code())), "{kind:?}");
        }
        for action in ["reissue", "revoke"] {
            for w in ["title", "consequence", "reason", "confirm"] {
                assert!(Texts::has(&format!("console.{action}.{w}")), "{action}.{w}");
            }
        }
    }
}
