//! The registrar console: the dashboard, graduates, paper-diploma collections and applications,
//! reissue, revocation, resend, imports, the working-day calendar, correction requests, the email
//! outbox, the eligibility policy, templates and the audit log.
//!
//! Every handler names its [`Action`]; [`allowed`] is the one table of which role may do what,
//! and a campus office only ever sees its own campus's graduates.

use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::header::SET_COOKIE;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Form, Router};
use dcert_core::calendar::{self, Calendar, DayOverride};
use dcert_core::model::{Language, RecordFile};
use dcert_core::pdf::Template as Design;
use dcert_core::roster::{self, RosterError, SchoolNames};
use dcert_core::time::Date;
use dcert_store::{
    AuditFilter, CampusCounts, Correction, Graduate, GraduateFilter, GraduateSummary, ImportRow, NewOrder, OrderKind,
    OutboxMessage, Role, Staff, Store,
};
use serde::Deserialize;

use crate::auth;
use crate::i18n::Texts;
use crate::portal::{CertRow, Chrome, CsrfForm, LoginForm, LoginPage, OrderRow, cert_rows, order_rows, urlencode};
use crate::worker::{Policy, RegistryPayload};
use crate::{AppError, AppState, Ctx, PageResult, now, page, pdf_download, redirect};

/// What a member of staff may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// See the dashboard.
    ViewDashboard,
    /// See graduates and their certificates.
    ViewGraduates,
    /// Record a paper-diploma collection or English application.
    RecordDiploma,
    /// Order a reissue (補證).
    Reissue,
    /// Revoke a certificate.
    Revoke,
    /// Send a certificate's emails again.
    Resend,
    /// Import graduates.
    Import,
    /// See the calendar.
    ViewCalendar,
    /// Change the calendar.
    EditCalendar,
    /// Read and resolve correction requests.
    Corrections,
    /// See the email outbox.
    ViewOutbox,
    /// Run the worker now.
    IssueNow,
    /// Change the eligibility policy.
    EditPolicy,
    /// Change and preview templates.
    EditTemplates,
    /// Read the audit log.
    ViewAudit,
}

/// Whether `role` may do `action`: the registrar runs issuance for every campus, a campus office
/// for its own, the institution admin holds policy, templates and the audit log. The Ministry's
/// roles may do nothing here.
pub fn allowed(role: Role, action: Action) -> bool {
    use Action::*;
    match action {
        ViewDashboard => matches!(role, Role::Registrar | Role::CampusOffice | Role::Admin),
        ViewGraduates | RecordDiploma | Reissue | Resend | Corrections | ViewOutbox | ViewCalendar => {
            matches!(role, Role::Registrar | Role::CampusOffice)
        }
        Revoke | Import | EditCalendar | IssueNow => role == Role::Registrar,
        EditPolicy | EditTemplates | ViewAudit => role == Role::Admin,
    }
}

/// The console; the two imports take files up to `upload_limit` bytes.
pub(crate) fn routes(upload_limit: usize) -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/graduates", get(graduates))
        .route("/graduates/{id}", get(graduate))
        .route("/graduates/{id}/diploma", post(record_diploma))
        .route("/collections", post(record_collections))
        .route("/certificates/{id}/reissue", post(reissue))
        .route("/certificates/{id}/revoke", post(revoke))
        .route("/certificates/{id}/resend", post(resend))
        .route("/certificates/{id}/download", get(download))
        .route("/import", get(import_page).post(import).layer(DefaultBodyLimit::max(upload_limit)))
        .route("/calendar", get(calendar_page).post(calendar_add))
        .route("/calendar/delete", post(calendar_delete))
        .route("/calendar/import", post(calendar_import).layer(DefaultBodyLimit::max(upload_limit)))
        .route("/corrections", get(corrections))
        .route("/corrections/{id}/resolve", post(resolve_correction))
        .route("/outbox", get(outbox))
        .route("/outbox/{id}", get(outbox_message))
        .route("/issue-now", post(issue_now))
        .route("/policy", get(policy_page).post(policy_save))
        .route("/templates", get(templates_page))
        .route("/templates/{lang}", post(template_save))
        .route("/templates/{lang}/preview", get(template_preview))
        .route("/audit", get(audit))
}

/// The signed-in member of staff, if allowed `action`.
async fn require(ctx: &Ctx, store: &Store, action: Action) -> Result<Staff, AppError> {
    let staff = ctx.staff(store).await?;
    if !allowed(staff.role, action) {
        return Err(AppError::Forbidden);
    }
    Ok(staff)
}

/// The campus a member of staff is limited to.
fn scope(staff: &Staff) -> Option<String> {
    if staff.role == Role::CampusOffice { staff.campus.clone() } else { None }
}

/// A graduate the member of staff may see: another campus's is "not found".
async fn visible_graduate(store: &Store, staff: &Staff, id: i64) -> Result<Graduate, AppError> {
    let g = store.graduate(id).await?.ok_or(AppError::NotFound)?;
    if let Some(campus) = scope(staff)
        && g.campus != campus
    {
        return Err(AppError::NotFound);
    }
    Ok(g)
}

fn chrome(ctx: &Ctx, state: &AppState, staff: &Staff) -> Chrome {
    let mut c =
        Chrome::new(ctx, state, "console", Some(format!("{} ({})", staff.display_name, role_label(ctx.t, staff.role))));
    c.role = Some(staff.role);
    c
}

fn role_label(t: Texts, role: Role) -> &'static str {
    match role {
        Role::Registrar => t.s("role.registrar"),
        Role::CampusOffice => t.s("role.campus_office"),
        Role::Admin => t.s("role.admin"),
        Role::MinistryAdmin => t.s("moe.console.role.ministry_admin"),
        Role::MinistryEditor => t.s("moe.console.role.ministry_editor"),
    }
}

fn audit_of(ctx: &Ctx, staff: &Staff, action: &str, target: String, detail: String) -> dcert_store::AuditEntry {
    ctx.audit(&staff.username, staff.role.code(), action, target, detail)
}

/// Today in Taiwan.
fn today() -> Date {
    now().taiwan_date()
}

async fn working_calendar(store: &Store) -> Result<Calendar, AppError> {
    Ok(Calendar::new(store.calendar().await?))
}

// ----- sign-in -----

async fn login_page(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let t = ctx.t;
    page(LoginPage {
        c: Chrome::new(&ctx, &state, "console", None),
        action: "/console/login",
        title: t.s("console.login.title"),
        user_label: t.s("console.login.username"),
        error: None,
        username: String::new(),
    })
}

async fn login(State(state): State<AppState>, ctx: Ctx, Form(form): Form<LoginForm>) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let username = form.username.trim().to_owned();
    let at = now().unix();
    if !state.limiter.allowed(&username, &ctx.ip, at) {
        if let Some(s) = state.store.staff_by_username(&username).await? {
            let entry =
                ctx.audit(&s.username, s.role.code(), "login_rate_limited", format!("staff:{}", s.id), String::new());
            state.store.audit(&entry).await?;
        }
        return Err(AppError::TooManyRequests);
    }
    let staff = state.store.staff_by_username(&username).await?;
    if !auth::verify_password(&form.password, staff.as_ref().map(|s| s.password_hash.as_str())) {
        state.limiter.failed(&username, &ctx.ip, at);
        // Only a known account is named: a password typed into the name field stays out of the log.
        if let Some(s) = &staff {
            let entry = ctx.audit(&s.username, s.role.code(), "login_failed", format!("staff:{}", s.id), String::new());
            state.store.audit(&entry).await?;
        }
        let t = ctx.t;
        let mut r = page(LoginPage {
            c: Chrome::new(&ctx, &state, "console", None),
            action: "/console/login",
            title: t.s("console.login.title"),
            user_label: t.s("console.login.username"),
            error: Some(t.s("login.failed").into()),
            username: username.chars().take(40).collect(),
        })?;
        *r.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
        return Ok(r);
    }
    let Some(staff) = staff else { return Err(AppError::Internal("verified without an account".into())) };
    state.limiter.succeeded(&username);
    let cookies = ctx.start_session(&state, "staff", &staff.id.to_string()).await?;
    state.store.audit(&audit_of(&ctx, &staff, "login", format!("staff:{}", staff.id), String::new())).await?;
    let mut r = redirect("/console");
    for c in cookies {
        r.headers_mut().append(SET_COOKIE, c);
    }
    Ok(r)
}

async fn logout(State(state): State<AppState>, ctx: Ctx, Form(form): Form<CsrfForm>) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let cookie = ctx.end_session(&state).await?;
    let mut r = redirect("/console/login");
    r.headers_mut().append(SET_COOKIE, cookie);
    Ok(r)
}

// ----- dashboard -----

struct BoardRow {
    campus: String,
    counts: CampusCounts,
}

#[derive(Template)]
#[template(path = "console/dashboard.html")]
struct DashboardPage {
    c: Chrome,
    role: Role,
    rows: Vec<BoardRow>,
    today: String,
    registry_backlog: i64,
    notice: Option<String>,
}

#[derive(Deserialize)]
struct NoticeQuery {
    issued: Option<usize>,
}

async fn dashboard(State(state): State<AppState>, ctx: Ctx, Query(q): Query<NoticeQuery>) -> PageResult {
    let staff = require(&ctx, &state.store, Action::ViewDashboard).await?;
    let t = ctx.t;
    let campuses = state.store.campuses().await?;
    let scope = scope(&staff);
    let rows = state
        .store
        .dashboard(today())
        .await?
        .into_iter()
        .filter(|r| scope.as_ref().is_none_or(|s| *s == r.campus))
        .map(|counts| {
            let campus = campuses
                .iter()
                .find(|c| c.code == counts.campus)
                .map(|c| if t.lang == crate::i18n::Lang::Zh { c.name_zh.clone() } else { c.name_en.clone() })
                .unwrap_or_else(|| counts.campus.clone());
            BoardRow { campus, counts }
        })
        .collect();
    page(DashboardPage {
        c: chrome(&ctx, &state, &staff),
        role: staff.role,
        rows,
        today: t.date(&today()),
        registry_backlog: state.store.registry_backlog().await?,
        notice: q.issued.map(|n| t.f("console.issue_now.done", &[&n])),
    })
}

async fn issue_now(State(state): State<AppState>, ctx: Ctx, Form(form): Form<CsrfForm>) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let staff = require(&ctx, &state.store, Action::IssueNow).await?;
    let round = state.worker.issue_due(now(), 1000, &|_| {}).await?;
    state.worker.submit_to_registry(now().unix()).await?;
    let detail = format!("issued {} failed {}", round.issued, round.failed);
    state.store.audit(&audit_of(&ctx, &staff, "issue_now", "worker".into(), detail)).await?;
    Ok(redirect(&format!("/console?issued={}", round.issued)))
}

// ----- graduates -----

#[derive(Template)]
#[template(path = "console/graduates.html")]
struct GraduatesPage {
    c: Chrome,
    rows: Vec<GraduateSummary>,
    campuses: Vec<(String, String)>,
    campus: String,
    term: String,
    q: String,
    today: String,
    scoped: bool,
    notice: Option<String>,
}

#[derive(Deserialize, Default)]
struct GraduatesQuery {
    campus: Option<String>,
    term: Option<String>,
    q: Option<String>,
    recorded: Option<usize>,
    unknown: Option<String>,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

async fn graduates(State(state): State<AppState>, ctx: Ctx, Query(q): Query<GraduatesQuery>) -> PageResult {
    let staff = require(&ctx, &state.store, Action::ViewGraduates).await?;
    let t = ctx.t;
    let scoped = scope(&staff);
    let campus = scoped.clone().or(non_empty(q.campus));
    let filter = GraduateFilter {
        campus: campus.clone(),
        term: non_empty(q.term.clone()),
        search: non_empty(q.q.clone()),
        limit: 300,
    };
    let rows = state.store.list_graduates(&filter).await?;
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
        if let Some(u) = non_empty(q.unknown) {
            s.push(' ');
            s.push_str(&t.f("console.collections.unknown", &[&u]));
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
        today: today().to_string(),
        scoped: scoped.is_some(),
        notice,
    })
}

#[derive(Template)]
#[template(path = "console/graduate.html")]
struct GraduatePage {
    c: Chrome,
    g: Graduate,
    certificates: Vec<CertRow>,
    waiting: Vec<OrderRow>,
    failed_orders: Vec<String>,
    today: String,
    can_revoke: bool,
    eligible: bool,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn graduate(
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
        Some("reissue") => Some(t.s("console.notice.reissue")),
        Some("revoked") => Some(t.s("console.notice.revoked")),
        Some("resent") => Some(t.s("console.notice.resent")),
        _ => None,
    };
    page(GraduatePage {
        c: chrome(&ctx, &state, &staff),
        certificates: cert_rows(t, &certificates),
        waiting: order_rows(t, &orders),
        failed_orders,
        today: today().to_string(),
        can_revoke: allowed(staff.role, Action::Revoke),
        eligible: policy.eligible(g.term()),
        g,
        notice,
    })
}

#[derive(Deserialize)]
struct DiplomaForm {
    csrf: String,
    language: String,
    date: String,
}

fn parse_day(t: Texts, s: &str) -> Result<Date, AppError> {
    let d: Date = s.trim().parse().map_err(|_| AppError::BadRequest(t.s("console.bad_date").into()))?;
    if d > today() {
        return Err(AppError::BadRequest(t.s("console.future_date").into()));
    }
    Ok(d)
}

/// Records a collection (Chinese) or application (English) for one graduate.
async fn order_diploma(
    state: &AppState,
    ctx: &Ctx,
    staff: &Staff,
    g: &Graduate,
    language: Language,
    day: Date,
) -> Result<(), AppError> {
    let t = ctx.t;
    if !Policy::load(&state.store).await?.eligible(g.term()) {
        return Err(AppError::BadRequest(t.s("console.not_eligible").into()));
    }
    let due = working_calendar(&state.store).await?.due_date(day);
    let kind = if language == Language::Zh { OrderKind::Collection } else { OrderKind::Application };
    let order = state
        .store
        .create_order(&NewOrder {
            graduate_id: g.id,
            language,
            kind,
            reason: "",
            requested_on: day,
            due_on: due,
            actor: &staff.username,
            at: now().unix(),
        })
        .await
        .map_err(|e| match e {
            dcert_store::StoreError::Conflict(_) => AppError::BadRequest(t.s("console.already_recorded").into()),
            other => other.into(),
        })?;
    let detail = format!("{} {} on {day}, due {due}", kind.code(), language.code());
    state.store.audit(&audit_of(ctx, staff, "record_diploma", format!("order:{}", order.id), detail)).await?;
    Ok(())
}

async fn record_diploma(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<DiplomaForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let staff = require(&ctx, &state.store, Action::RecordDiploma).await?;
    let g = visible_graduate(&state.store, &staff, id).await?;
    let language = if form.language == "en" { Language::En } else { Language::Zh };
    let day = parse_day(ctx.t, &form.date)?;
    order_diploma(&state, &ctx, &staff, &g, language, day).await?;
    Ok(redirect(&format!("/console/graduates/{id}?done=recorded")))
}

#[derive(Deserialize)]
struct CollectionsForm {
    csrf: String,
    numbers: String,
    date: String,
}

async fn record_collections(State(state): State<AppState>, ctx: Ctx, Form(form): Form<CollectionsForm>) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
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
    let mut recorded = 0;
    for g in &found {
        if scope(&staff).is_some_and(|c| c != g.campus) {
            unknown.push(g.record.student_number.clone());
            continue;
        }
        match order_diploma(&state, &ctx, &staff, g, Language::Zh, day).await {
            Ok(()) => recorded += 1,
            Err(AppError::BadRequest(_)) => unknown.push(g.record.student_number.clone()),
            Err(e) => return Err(e),
        }
    }
    Ok(redirect(&format!("/console/graduates?recorded={recorded}&unknown={}", urlencode(&unknown.join(" ")))))
}

#[derive(Deserialize)]
struct ReasonForm {
    csrf: String,
    reason: String,
}

fn reason(t: Texts, r: &str) -> Result<String, AppError> {
    let r = r.trim();
    if r.is_empty() || r.chars().count() > 500 {
        return Err(AppError::BadRequest(t.s("console.reason_required").into()));
    }
    Ok(r.to_owned())
}

async fn reissue(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<ReasonForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let staff = require(&ctx, &state.store, Action::Reissue).await?;
    let why = reason(ctx.t, &form.reason)?;
    let cert = state.store.certificate(id).await?.ok_or(AppError::NotFound)?;
    let g = visible_graduate(&state.store, &staff, cert.graduate_id).await?;
    if cert.status != dcert_store::CertificateStatus::Current {
        return Err(AppError::BadRequest(ctx.t.s("console.reissue_not_current").into()));
    }
    let day = today();
    let due = working_calendar(&state.store).await?.due_date(day);
    let order = state
        .store
        .create_order(&NewOrder {
            graduate_id: g.id,
            language: cert.language,
            kind: OrderKind::Reissue,
            reason: &why,
            requested_on: day,
            due_on: due,
            actor: &staff.username,
            at: now().unix(),
        })
        .await
        .map_err(|e| match e {
            dcert_store::StoreError::Conflict(_) => AppError::BadRequest(ctx.t.s("console.reissue_waiting").into()),
            other => other.into(),
        })?;
    let detail = format!("{} v{} -> v{}: {why}", cert.number, cert.version, order.version);
    state.store.audit(&audit_of(&ctx, &staff, "reissue", format!("certificate:{id}"), detail)).await?;
    Ok(redirect(&format!("/console/graduates/{}?done=reissue", g.id)))
}

async fn revoke(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<ReasonForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let staff = require(&ctx, &state.store, Action::Revoke).await?;
    let why = reason(ctx.t, &form.reason)?;
    let cert = state.store.certificate(id).await?.ok_or(AppError::NotFound)?;
    let g = visible_graduate(&state.store, &staff, cert.graduate_id).await?;
    let at = now().unix();
    let payload = RegistryPayload::revoked(&state.site.institution_id, &cert, &why, at);
    let payload = serde_json::to_string(&payload).map_err(|e| AppError::Internal(e.to_string()))?;
    state.store.revoke_certificate(id, &why, &payload, at).await.map_err(|e| match e {
        dcert_store::StoreError::Conflict(_) => AppError::BadRequest(ctx.t.s("console.already_revoked").into()),
        other => other.into(),
    })?;
    state.worker.submit_to_registry(at).await?;
    let detail = format!("{} v{}: {why}", cert.number, cert.version);
    state.store.audit(&audit_of(&ctx, &staff, "revoke", format!("certificate:{id}"), detail)).await?;
    Ok(redirect(&format!("/console/graduates/{}?done=revoked", g.id)))
}

async fn resend(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let staff = require(&ctx, &state.store, Action::Resend).await?;
    let cert = state.store.certificate(id).await?.ok_or(AppError::NotFound)?;
    let g = visible_graduate(&state.store, &staff, cert.graduate_id).await?;
    if cert.status != dcert_store::CertificateStatus::Current {
        return Err(AppError::BadRequest(ctx.t.s("console.resend_not_current").into()));
    }
    let emails = state.worker.certificate_emails(&g, cert.language, cert.version, &cert.number);
    state.store.queue_emails(Some(cert.id), &emails, now().unix()).await?;
    state.store.audit(&audit_of(&ctx, &staff, "resend", format!("certificate:{id}"), String::new())).await?;
    Ok(redirect(&format!("/console/graduates/{}?done=resent", g.id)))
}

async fn download(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let staff = require(&ctx, &state.store, Action::ViewGraduates).await?;
    let cert = state.store.certificate(id).await?.ok_or(AppError::NotFound)?;
    visible_graduate(&state.store, &staff, cert.graduate_id).await?;
    let bytes = state.store.certificate_file(id).await?;
    Ok(pdf_download(&crate::mail::attachment_name(&cert.number, cert.language, cert.version), bytes).into_response())
}

// ----- import -----

#[derive(Template)]
#[template(path = "console/import.html")]
struct ImportPage {
    c: Chrome,
    errors: Vec<String>,
    summary: Option<String>,
    columns: String,
    optional: String,
    campuses: String,
}

async fn import_view(
    state: &AppState,
    ctx: &Ctx,
    staff: &Staff,
    errors: Vec<String>,
    summary: Option<String>,
) -> PageResult {
    let campuses =
        state.store.campuses().await?.into_iter().map(|c| format!("{} ({})", c.code, c.name_zh)).collect::<Vec<_>>();
    let mut r = page(ImportPage {
        c: chrome(ctx, state, staff),
        columns: roster::COLUMNS.join(", "),
        optional: roster::OPTIONAL_COLUMNS.join(", "),
        campuses: campuses.join(", "),
        summary,
        errors: errors.clone(),
    })?;
    if !errors.is_empty() {
        *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

async fn import_page(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let staff = require(&ctx, &state.store, Action::Import).await?;
    import_view(&state, &ctx, &staff, Vec::new(), None).await
}

/// Reads a multipart form: the CSRF field and one file.
async fn upload(ctx: &Ctx, mut multipart: Multipart) -> Result<Vec<u8>, AppError> {
    let mut csrf = None;
    let mut file = None;
    while let Some(field) = multipart.next_field().await.map_err(|e| AppError::BadRequest(e.body_text()))? {
        match field.name() {
            Some("csrf") => csrf = Some(field.text().await.map_err(|e| AppError::BadRequest(e.body_text()))?),
            Some("file") => file = Some(field.bytes().await.map_err(|e| AppError::BadRequest(e.body_text()))?.to_vec()),
            _ => {}
        }
    }
    ctx.check_csrf(csrf.as_deref().unwrap_or(""))?;
    file.filter(|f| !f.is_empty()).ok_or_else(|| AppError::BadRequest(ctx.t.s("console.upload.missing").into()))
}

/// Parses a roster CSV into store rows, or the list of problems in words.
pub fn roster_rows(bytes: &[u8], site: &crate::SiteConfig, campuses: &[&str]) -> Result<Vec<ImportRow>, Vec<String>> {
    let school = SchoolNames {
        school_zh: site.school_zh.clone(),
        school_en: site.school_en.clone(),
        email_domain: site.email_domain.clone(),
    };
    match roster::parse_roster(bytes, &school, campuses, &roster::Limits::default()) {
        Ok(rows) => Ok(rows
            .into_iter()
            .map(|r| ImportRow {
                campus: r.campus,
                record: r.record,
                school_email: r.school_email,
                permanent_email: r.permanent_email,
                mid_term: r.mid_term,
            })
            .collect()),
        Err(RosterError::Rows(errors)) => Err(errors.iter().map(|e| e.to_string()).collect()),
        Err(other) => Err(vec![other.to_string()]),
    }
}

async fn import(State(state): State<AppState>, ctx: Ctx, multipart: Multipart) -> PageResult {
    let staff = require(&ctx, &state.store, Action::Import).await?;
    let bytes = upload(&ctx, multipart).await?;
    let campuses = state.store.campuses().await?;
    let codes: Vec<&str> = campuses.iter().map(|c| c.code.as_str()).collect();
    let rows = match roster_rows(&bytes, &state.site, &codes) {
        Ok(rows) => rows,
        Err(errors) => return import_view(&state, &ctx, &staff, errors, None).await,
    };
    let s = state.store.import_graduates(&rows, now().unix()).await?;
    let detail = format!("inserted {} updated {} unchanged {}", s.inserted, s.updated, s.unchanged);
    state.store.audit(&audit_of(&ctx, &staff, "import_graduates", "graduates".into(), detail)).await?;
    let summary = ctx.t.f("console.import.done", &[&s.inserted, &s.updated, &s.unchanged]);
    import_view(&state, &ctx, &staff, Vec::new(), Some(summary)).await
}

// ----- calendar -----

struct DayRow {
    date: String,
    shown: String,
    weekday: &'static str,
    workday: bool,
    note: String,
}

#[derive(Template)]
#[template(path = "console/calendar.html")]
struct CalendarPage {
    c: Chrome,
    days: Vec<DayRow>,
    can_edit: bool,
    example_from: String,
    example_due: String,
    errors: Vec<String>,
}

fn weekday(t: Texts, d: Date) -> &'static str {
    const KEYS: [&str; 7] =
        ["weekday.mon", "weekday.tue", "weekday.wed", "weekday.thu", "weekday.fri", "weekday.sat", "weekday.sun"];
    t.s(KEYS[usize::from(d.weekday()) % 7])
}

async fn calendar_view(state: &AppState, ctx: &Ctx, staff: &Staff, errors: Vec<String>) -> PageResult {
    let t = ctx.t;
    let cal = working_calendar(&state.store).await?;
    let from = today();
    let days = cal
        .overrides()
        .filter(|d| d.date >= from.add_days(-366))
        .map(|d| DayRow {
            date: d.date.to_string(),
            shown: t.short_date(&d.date),
            weekday: weekday(t, d.date),
            workday: d.workday,
            note: d.note.clone(),
        })
        .collect();
    let mut r = page(CalendarPage {
        c: chrome(ctx, state, staff),
        days,
        can_edit: allowed(staff.role, Action::EditCalendar),
        example_from: t.date(&from),
        example_due: t.date(&cal.due_date(from)),
        errors: errors.clone(),
    })?;
    if !errors.is_empty() {
        *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

async fn calendar_page(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let staff = require(&ctx, &state.store, Action::ViewCalendar).await?;
    calendar_view(&state, &ctx, &staff, Vec::new()).await
}

#[derive(Deserialize)]
struct DayForm {
    csrf: String,
    date: String,
    kind: String,
    note: String,
}

async fn calendar_add(State(state): State<AppState>, ctx: Ctx, Form(form): Form<DayForm>) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let staff = require(&ctx, &state.store, Action::EditCalendar).await?;
    let date: Date = form.date.trim().parse().map_err(|_| AppError::BadRequest(ctx.t.s("console.bad_date").into()))?;
    let day = DayOverride { date, workday: form.kind == "workday", note: form.note.trim().chars().take(100).collect() };
    state.store.upsert_calendar(std::slice::from_ref(&day)).await?;
    let detail = format!("{} {} {}", day.date, day.kind(), day.note);
    state.store.audit(&audit_of(&ctx, &staff, "calendar_set", format!("day:{date}"), detail)).await?;
    Ok(redirect("/console/calendar"))
}

#[derive(Deserialize)]
struct DateForm {
    csrf: String,
    date: String,
}

async fn calendar_delete(State(state): State<AppState>, ctx: Ctx, Form(form): Form<DateForm>) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let staff = require(&ctx, &state.store, Action::EditCalendar).await?;
    let date: Date = form.date.trim().parse().map_err(|_| AppError::BadRequest(ctx.t.s("console.bad_date").into()))?;
    state.store.delete_calendar_day(date).await?;
    state.store.audit(&audit_of(&ctx, &staff, "calendar_delete", format!("day:{date}"), String::new())).await?;
    Ok(redirect("/console/calendar"))
}

async fn calendar_import(State(state): State<AppState>, ctx: Ctx, multipart: Multipart) -> PageResult {
    let staff = require(&ctx, &state.store, Action::EditCalendar).await?;
    let bytes = upload(&ctx, multipart).await?;
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(_) => return calendar_view(&state, &ctx, &staff, vec![ctx.t.s("console.not_utf8").into()]).await,
    };
    match calendar::parse_calendar_csv(text) {
        Ok(days) => {
            state.store.upsert_calendar(&days).await?;
            let detail = format!("{} days", days.len());
            state.store.audit(&audit_of(&ctx, &staff, "calendar_import", "calendar".into(), detail)).await?;
            Ok(redirect("/console/calendar"))
        }
        Err(errors) => {
            let errors = errors.0.iter().map(|e| e.to_string()).collect();
            calendar_view(&state, &ctx, &staff, errors).await
        }
    }
}

// ----- corrections, outbox -----

#[derive(Template)]
#[template(path = "console/corrections.html")]
struct CorrectionsPage {
    c: Chrome,
    rows: Vec<(Correction, String)>,
}

async fn corrections(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let staff = require(&ctx, &state.store, Action::Corrections).await?;
    let t = ctx.t;
    let rows = state.store.corrections(scope(&staff).as_deref()).await?.into_iter().map(|c| {
        let at = t.time(c.created_at);
        (c, at)
    });
    page(CorrectionsPage { c: chrome(&ctx, &state, &staff), rows: rows.collect() })
}

async fn resolve_correction(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let staff = require(&ctx, &state.store, Action::Corrections).await?;
    let open = state.store.corrections(scope(&staff).as_deref()).await?;
    if !open.iter().any(|c| c.id == id) {
        return Err(AppError::NotFound);
    }
    let graduate = state.store.resolve_correction(id, &staff.username, now().unix()).await?;
    state
        .store
        .audit(&audit_of(
            &ctx,
            &staff,
            "resolve_correction",
            format!("graduate:{graduate}"),
            format!("correction:{id}"),
        ))
        .await?;
    Ok(redirect("/console/corrections"))
}

struct MessageRow {
    m: OutboxMessage,
    created: String,
    sent: String,
    status: &'static str,
}

#[derive(Template)]
#[template(path = "console/outbox.html")]
struct OutboxPage {
    c: Chrome,
    rows: Vec<MessageRow>,
    smtp: bool,
    selected: Option<MessageRow>,
    log: Vec<(String, String, String)>,
}

async fn outbox_view(state: &AppState, ctx: &Ctx, staff: &Staff, selected: Option<OutboxMessage>) -> PageResult {
    let t = ctx.t;
    let scoped = scope(staff);
    let row = |mut m: OutboxMessage| {
        // A confirmation link is the graduate's alone: staff see that it was sent, not the link.
        if m.kind == crate::mail::KIND_CONFIRM_ADDRESS {
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

async fn outbox(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let staff = require(&ctx, &state.store, Action::ViewOutbox).await?;
    outbox_view(&state, &ctx, &staff, None).await
}

async fn outbox_message(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
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

// ----- policy, templates, audit -----

#[derive(Template)]
#[template(path = "console/policy.html")]
struct PolicyPage {
    c: Chrome,
    first_term: String,
    alumni_open: bool,
}

async fn policy_page(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let staff = require(&ctx, &state.store, Action::EditPolicy).await?;
    let p = Policy::load(&state.store).await?;
    page(PolicyPage {
        c: chrome(&ctx, &state, &staff),
        first_term: p.first_term.to_string(),
        alumni_open: p.alumni_open,
    })
}

#[derive(Deserialize)]
struct PolicyForm {
    csrf: String,
    first_term: String,
    alumni_open: Option<String>,
}

async fn policy_save(State(state): State<AppState>, ctx: Ctx, Form(form): Form<PolicyForm>) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let staff = require(&ctx, &state.store, Action::EditPolicy).await?;
    let term: dcert_core::model::Term =
        form.first_term.trim().parse().map_err(|_| AppError::BadRequest(ctx.t.s("console.policy.bad_term").into()))?;
    let open = form.alumni_open.is_some();
    state.store.set_setting(Policy::FIRST_TERM, &term.to_string()).await?;
    state.store.set_setting(Policy::ALUMNI_OPEN, if open { "true" } else { "false" }).await?;
    let detail = format!("first term {term}, alumni {}", if open { "open" } else { "closed" });
    state.store.audit(&audit_of(&ctx, &staff, "set_policy", "policy".into(), detail)).await?;
    Ok(redirect("/console/policy"))
}

struct DesignRow {
    code: &'static str,
    label: &'static str,
    json: String,
    custom: bool,
}

#[derive(Template)]
#[template(path = "console/templates.html")]
struct TemplatesPage {
    c: Chrome,
    designs: Vec<DesignRow>,
    error: Option<String>,
}

async fn templates_view(
    state: &AppState,
    ctx: &Ctx,
    staff: &Staff,
    error: Option<String>,
    draft: Option<(Language, String)>,
) -> PageResult {
    let t = ctx.t;
    let mut designs = Vec::new();
    for language in [Language::Zh, Language::En] {
        let stored = state.store.template(language).await?;
        let json = match (&draft, &stored) {
            (Some((l, d)), _) if *l == language => d.clone(),
            (_, Some(s)) => s.clone(),
            _ => {
                serde_json::to_string_pretty(&Design::default_for(dcert_core::model::CredentialType::Degree, language))
                    .map_err(|e| AppError::Internal(e.to_string()))?
            }
        };
        designs.push(DesignRow {
            code: language.code(),
            label: crate::portal::language_label(t, language),
            json,
            custom: stored.is_some(),
        });
    }
    let mut r = page(TemplatesPage { c: chrome(ctx, state, staff), designs, error: error.clone() })?;
    if error.is_some() {
        *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

async fn templates_page(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let staff = require(&ctx, &state.store, Action::EditTemplates).await?;
    templates_view(&state, &ctx, &staff, None, None).await
}

#[derive(Deserialize)]
struct TemplateForm {
    csrf: String,
    design: String,
}

fn language_of(code: &str) -> Result<Language, AppError> {
    match code {
        "zh" => Ok(Language::Zh),
        "en" => Ok(Language::En),
        _ => Err(AppError::NotFound),
    }
}

async fn template_save(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    Form(form): Form<TemplateForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let staff = require(&ctx, &state.store, Action::EditTemplates).await?;
    let language = language_of(&code)?;
    let checked = Design::parse(&form.design).and_then(|d| d.check().map(|()| d));
    let design = match checked {
        Ok(d) => d,
        Err(e) => {
            let message = ctx.t.f("console.templates.invalid", &[&e]);
            return templates_view(&state, &ctx, &staff, Some(message), Some((language, form.design))).await;
        }
    };
    let sample = sample_certificate(language)?;
    if let Err(e) = design.check_fits(&sample) {
        let message = ctx.t.f("console.templates.invalid", &[&e]);
        return templates_view(&state, &ctx, &staff, Some(message), Some((language, form.design))).await;
    }
    state.store.set_template(language, &form.design, &staff.username, now().unix()).await?;
    state.store.audit(&audit_of(&ctx, &staff, "set_template", format!("template:{code}"), String::new())).await?;
    Ok(redirect("/console/templates"))
}

fn sample_certificate(language: Language) -> Result<dcert_core::model::Certificate, AppError> {
    let record: RecordFile = serde_json::from_str(include_str!("../../../examples/record.json"))
        .map_err(|e| AppError::Internal(e.to_string()))?;
    record.into_certificate(language).map_err(|e| AppError::Internal(e.to_string()))
}

async fn template_preview(State(state): State<AppState>, ctx: Ctx, Path(code): Path<String>) -> PageResult {
    let _staff = require(&ctx, &state.store, Action::EditTemplates).await?;
    let language = language_of(&code)?;
    let design = state.worker.template(language).await?;
    let bytes =
        state.worker.render_preview(sample_certificate(language)?, design, now()).await.map_err(AppError::Internal)?;
    let mut r = pdf_download(&format!("preview-{code}.pdf"), bytes);
    // A preview is shown in the browser, not saved.
    r.headers_mut().insert(axum::http::header::CONTENT_DISPOSITION, axum::http::HeaderValue::from_static("inline"));
    Ok(r)
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    c: Chrome,
    rows: Vec<(String, dcert_store::AuditEntry)>,
    actor: String,
    action: String,
}

#[derive(Deserialize)]
struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
}

async fn audit(State(state): State<AppState>, ctx: Ctx, Query(q): Query<AuditQuery>) -> PageResult {
    let staff = require(&ctx, &state.store, Action::ViewAudit).await?;
    let filter =
        AuditFilter { actor: non_empty(q.actor.clone()), action: non_empty(q.action.clone()), since: None, limit: 500 };
    let t = ctx.t;
    let rows = state.store.audit_log(&filter).await?.into_iter().map(|e| (t.time(e.at), e)).collect();
    page(AuditPage {
        c: chrome(&ctx, &state, &staff),
        rows,
        actor: q.actor.unwrap_or_default(),
        action: q.action.unwrap_or_default(),
    })
}
