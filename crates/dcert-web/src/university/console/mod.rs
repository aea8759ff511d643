//! The registrar console: the dashboard, graduates, paper-diploma collections and applications,
//! reissue, revocation, resend, imports, the working-day calendar, correction requests, the email
//! outbox, the eligibility policy, templates and the audit log.
//!
//! Every handler names its [`Action`]; [`allowed`] is the one table of which role may do what,
//! and a campus office only ever sees its own campus's graduates.

mod calendar;
mod graduates;
mod import;
mod log;
mod outbox;
mod settings;

use self::calendar::*;
use self::graduates::*;
use self::import::*;
use self::log::*;
use self::outbox::*;
use self::settings::*;

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use dcert_core::calendar::{Calendar, DayOverride};
use dcert_core::model::{Language, RecordFile};
use dcert_core::pdf::Template as Design;
use dcert_core::roster;
use dcert_core::time::Date;
use dcert_store::{
    CampusCounts, CertificateInfo, Correction, Graduate, GraduateFilter, GraduateState, GraduateSummary, ImportSummary,
    MinistryRole, NewOrder, Order, OrderKind, OutboxMessage, Role, Staff, UniversityRole, UniversityStore,
};
use serde::{Deserialize, Serialize};

use super::worker::{Policy, revocation_record};
use super::{AppState, STAFF, Signed};
use crate::http::{
    AppError, Chrome, Ctx, DoneQuery, NoFields, PageResult, Posted, StaffSignIn, now, page, pdf_download, redirect,
    redirect_with, urlencode, with_status,
};
use crate::i18n::Texts;
use crate::university::portal::{
    CertRow, LoginForm, LoginPage, OrderRow, cert_rows, language_label, order_rows, page_chrome,
};

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
    /// Watch the Ministry's public issuance log in the institution's name.
    WatchLog,
}

impl Action {
    /// Every action, in the order declared (for tables that must cover each).
    pub const ALL: [Action; 16] = {
        use Action::*;
        [
            ViewDashboard,
            ViewGraduates,
            RecordDiploma,
            Reissue,
            Revoke,
            Resend,
            Import,
            ViewCalendar,
            EditCalendar,
            Corrections,
            ViewOutbox,
            IssueNow,
            EditPolicy,
            EditTemplates,
            ViewAudit,
            WatchLog,
        ]
    };
}

/// Whether `role` may do `action`: the registrar runs issuance for every campus, a campus office
/// for its own, the institution admin holds policy, templates and the audit log.
pub fn allowed(role: UniversityRole, action: Action) -> bool {
    use Action::*;
    use UniversityRole::*;
    match action {
        ViewDashboard => true,
        ViewGraduates | RecordDiploma | Reissue | Resend | Corrections | ViewOutbox | ViewCalendar => {
            matches!(role, Registrar | CampusOffice)
        }
        Revoke | Import | EditCalendar | IssueNow => role == Registrar,
        EditPolicy | EditTemplates | ViewAudit => role == Admin,
        WatchLog => matches!(role, Registrar | Admin),
    }
}

/// Whether a member of staff in `role` may do `action` here: a university role that
/// [`allowed`] lets; the Ministry's roles, nothing.
pub fn permits(role: Role, action: Action) -> bool {
    matches!(role, Role::University(role) if allowed(role, action))
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
        .route("/certificates/{id}/reissue", get(reissue_confirm).post(reissue))
        .route("/certificates/{id}/revoke", get(revoke_confirm).post(revoke))
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
        .route("/log", get(log_page))
        .route("/log/check", post(log_check))
}

/// The signed-in member of staff, if allowed `action`.
async fn require(ctx: &Ctx, store: &UniversityStore, action: Action) -> Result<Staff, AppError> {
    let staff = ctx.staff(store).await?;
    if !permits(staff.role, action) {
        return Err(AppError::Forbidden);
    }
    Ok(staff)
}

/// The campus a member of staff is limited to.
fn scope(staff: &Staff) -> Option<String> {
    if staff.role == Role::University(UniversityRole::CampusOffice) { staff.campus.clone() } else { None }
}

/// A graduate the member of staff may see: another campus's is "not found".
async fn visible_graduate(store: &UniversityStore, staff: &Staff, id: i64) -> Result<Graduate, AppError> {
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
        page_chrome(ctx, state, "console", Some(format!("{} ({})", staff.display_name, role_label(ctx.t, staff.role))));
    c.role = Some(staff.role);
    c
}

fn role_label(t: Texts, role: Role) -> &'static str {
    match role {
        Role::University(UniversityRole::Registrar) => t.s("role.registrar"),
        Role::University(UniversityRole::CampusOffice) => t.s("role.campus_office"),
        Role::University(UniversityRole::Admin) => t.s("role.admin"),
        Role::Ministry(MinistryRole::Admin) => t.s("moe.console.role.ministry_admin"),
        Role::Ministry(MinistryRole::Editor) => t.s("moe.console.role.ministry_editor"),
    }
}

fn audit_of(ctx: &Ctx, staff: &Staff, action: &str, target: String, detail: String) -> dcert_store::AuditEntry {
    ctx.audit(&staff.username, staff.role.code(), action, target, detail)
}

/// Today in Taiwan.
fn today() -> Date {
    now().taiwan_date()
}

async fn working_calendar(store: &UniversityStore) -> Result<Calendar, AppError> {
    Ok(Calendar::new(store.calendar().await?))
}

// ----- sign-in -----

async fn login_page(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let t = ctx.t;
    page(LoginPage {
        c: page_chrome(&ctx, &state, "console", None),
        action: "/console/login",
        title: t.s("console.login.title"),
        user_label: t.s("console.login.username"),
        error: None,
        username: String::new(),
    })
}

async fn login(State(state): State<AppState>, Posted(ctx, form): Posted<LoginForm>) -> PageResult {
    let username = form.username.trim().to_owned();
    let (staff, device) = match ctx.sign_in_staff(&state, STAFF, &username, form.password).await? {
        StaffSignIn::Verified { staff, device } => (staff, device),
        StaffSignIn::Refused(e) => return Err(e),
        StaffSignIn::Failed => {
            let t = ctx.t;
            let login = LoginPage {
                c: page_chrome(&ctx, &state, "console", None),
                action: "/console/login",
                title: t.s("console.login.title"),
                user_label: t.s("console.login.username"),
                error: Some(t.s("login.failed").into()),
                username: username.chars().take(40).collect(),
            };
            return with_status(axum::http::StatusCode::UNAUTHORIZED, page(login));
        }
    };
    let mut cookies = ctx.start_session(&state, STAFF, &staff.id.to_string()).await?;
    cookies.push(device);
    state.store.audit(&audit_of(&ctx, &staff, "login", format!("staff:{}", staff.id), String::new())).await?;
    Ok(redirect_with("/console", cookies))
}

async fn logout(State(state): State<AppState>, Posted(ctx, NoFields {}): Posted<NoFields>) -> PageResult {
    Ok(redirect_with("/console/login", [ctx.end_session(&state).await?]))
}

// ----- dashboard -----

struct BoardRow {
    campus: String,
    /// The list of this campus's graduates (add `&state=…`), for those who may see it.
    list: Option<String>,
    counts: CampusCounts,
}

#[derive(Template)]
#[template(path = "console/dashboard.html")]
struct DashboardPage {
    c: Chrome,
    role: Role,
    rows: Vec<BoardRow>,
    /// The outbox may be opened (its failed emails are a link).
    can_outbox: bool,
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
    let can_list = permits(staff.role, Action::ViewGraduates);
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
            let list = can_list.then(|| format!("/console/graduates?campus={}", urlencode(&counts.campus)));
            BoardRow { campus, list, counts }
        })
        .collect();
    page(DashboardPage {
        c: chrome(&ctx, &state, &staff),
        role: staff.role,
        rows,
        can_outbox: permits(staff.role, Action::ViewOutbox),
        today: t.date(&today()),
        registry_backlog: state.store.registry_backlog().await?,
        notice: q.issued.map(|n| t.f("console.issue_now.done", &[&n])),
    })
}

async fn issue_now(State(state): State<AppState>, Posted(ctx, NoFields {}): Posted<NoFields>) -> PageResult {
    let staff = require(&ctx, &state.store, Action::IssueNow).await?;
    let round = state.worker.issue_due(now(), 1000, &|_| {}).await?;
    state.worker.submit_to_registry(now().unix()).await?;
    let detail = format!("issued {} failed {}", round.issued, round.failed);
    state.store.audit(&audit_of(&ctx, &staff, "issue_now", "worker".into(), detail)).await?;
    Ok(redirect(&format!("/console?issued={}", round.issued)))
}

#[cfg(test)]
mod tests {
    use dcert_store::{MinistryRole, Role};

    #[test]
    fn the_university_console_refuses_the_ministrys_roles_everything() {
        for action in super::Action::ALL {
            for role in [Role::Ministry(MinistryRole::Admin), Role::Ministry(MinistryRole::Editor)] {
                assert!(!super::permits(role, action), "{role:?} {action:?}");
            }
        }
    }
}
