//! The Ministry console (教育部 管理介面), under `/console` of the Ministry's site: sign-in for the
//! Ministry's staff, the verification statistics and registry figures, the site's news (最新消息)
//! and FAQ (常見問題), digital teacher certificates (電子教師證書), the institutions of the trust
//! registry (發證單位管理: onboarding, key rotation and revocation, their details, publishing the
//! trust list) and the audit log.
//!
//! Every handler names its [`Action`] before it reads data, and [`allowed`] is the one table of
//! who may do what: only the Ministry's roles may do anything here. A Ministry session is of its
//! own kind (`ministry`) in its own cookie, so neither console takes the other's sessions, even
//! when both sites share one database. Every change is written to the audit log.

mod audit;
mod content;
mod institutions;
mod onboarding;
mod revocation;
mod teacher;

use self::audit::*;
use self::content::*;
use self::institutions::*;
use self::onboarding::*;
use self::revocation::*;
use self::teacher::*;

use std::sync::Arc;

use askama::Template;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use dcert_core::Sha256Digest;
use dcert_core::issue::{self, IssueError};
use dcert_core::model::{
    Certificate, CredentialType, DegreeLevel, Language, Subject, TeacherRecord, is_valid_certificate_number,
};
use dcert_core::pdf::Template as Design;
use dcert_core::pdf::render::RenderError;
use dcert_core::time::{Date, Timestamp};
use dcert_core::trust::TrustListContent;
use dcert_core::x509::{self, ParsedCert};
use dcert_store::{
    AuditEntry, ContentItem, FaqItem, InstitutionContact, MinistryRole, MinistryStore, NewsItem, RegisteredInstitution,
    RegistryRecord, Role, Staff, StoreError, UniversityRole,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::site::accreditation_words;
use super::trust_registry::{
    self as registry, InstitutionDetails, MAX_REQUEST_BYTES, OnboardingRequest, RegistryError, RegistryKeys,
    RequestError, RotationRequest,
};
use super::{MINISTRY, MinistryState};
use crate::http::{
    AppError, Chrome, Ctx, DoneQuery, NoFields, PageResult, Posted, StaffSignIn, now, page, pdf_download, pick,
    redirect, redirect_with, urlencode, with_status,
};
use crate::i18n::Texts;

/// What a member of the Ministry's staff may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Enter the console at all (its home page, the menu).
    Enter,
    /// See the verification statistics and the registry's figures.
    ViewStatistics,
    /// Add, change and delete the site's news and FAQ.
    EditContent,
    /// Issue a teacher certificate.
    IssueTeacher,
    /// Read the audit log.
    ViewAudit,
    /// Onboard institutions, rotate and revoke their keys, change their details and publish the
    /// trust list (發證單位管理).
    ManageInstitutions,
}

#[cfg(test)]
impl Action {
    /// Every action, in the order declared (for tables that must cover each).
    const ALL: [Action; 6] = [
        Action::Enter,
        Action::ViewStatistics,
        Action::EditContent,
        Action::IssueTeacher,
        Action::ViewAudit,
        Action::ManageInstitutions,
    ];
}

/// Whether `role` may do `action`: the Ministry's administrator everything (the trust registry
/// included), its editor the news and FAQ.
pub fn allowed(role: MinistryRole, action: Action) -> bool {
    use Action::*;
    match role {
        MinistryRole::Admin => true,
        MinistryRole::Editor => matches!(action, Enter | EditContent),
    }
}

/// Whether a member of staff in `role` may do `action` here: a Ministry role that [`allowed`]
/// lets; a university's roles, nothing.
pub fn permits(role: Role, action: Action) -> bool {
    matches!(role, Role::Ministry(role) if allowed(role, action))
}

pub(crate) fn routes() -> Router<MinistryState> {
    Router::new()
        .route("/", get(dashboard))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/news", get(content_list::<NewsItem>).post(content_save::<NewsItem>))
        .route("/news/new", get(content_form::<NewsItem>))
        .route("/news/{id}", get(content_form::<NewsItem>).post(content_save::<NewsItem>))
        .route("/news/{id}/delete", get(content_confirm::<NewsItem>).post(content_delete::<NewsItem>))
        .route("/faq", get(content_list::<FaqItem>).post(content_save::<FaqItem>))
        .route("/faq/new", get(content_form::<FaqItem>))
        .route("/faq/{id}", get(content_form::<FaqItem>).post(content_save::<FaqItem>))
        .route("/faq/{id}/delete", get(content_confirm::<FaqItem>).post(content_delete::<FaqItem>))
        .route("/teacher", get(teacher_page).post(teacher_issue))
        .route("/teacher/{id}/download", get(teacher_download))
        .route("/institutions", get(institutions))
        .route("/institutions/onboard", get(onboard_page).post(onboard_preview))
        .route("/institutions/onboard/confirm", post(onboard_confirm))
        .route("/institutions/rotate", get(rotate_page).post(rotate_preview))
        .route("/institutions/rotate/confirm", post(rotate_confirm))
        .route("/institutions/publish", post(publish_list))
        .route("/institutions/{institution}/edit", get(institution_edit).post(institution_save))
        .route("/institutions/{institution}/contact", post(institution_contact_save))
        .route("/institutions/{institution}/revoke", get(revoke_page).post(revoke_preview))
        .route("/institutions/{institution}/revoke/confirm", post(revoke_confirm))
        .route("/institutions/{institution}/certificate", get(certificate_download))
        .route("/audit", get(audit))
        .layer(Extension(Console::default()))
}

/// What the console keeps besides the state: one per router, which [`super::ministry_router`]
/// builds once.
#[derive(Clone, Default)]
struct Console {
    /// One teacher certificate at a time: the check that its number is free and its registry
    /// record go together.
    issuing: Arc<tokio::sync::Mutex<()>>,
    /// One change of the trust registry that needs the root keys at a time on this node (the
    /// database refuses a second list of the same sequence from another).
    registry: Arc<tokio::sync::Mutex<()>>,
}

// ----- the request: the signed-in member of staff, the audit entry, the page's layout -----

/// What the console asks of a request, besides what [`Ctx`] knows.
trait ConsoleRequest {
    /// The signed-in member of staff, if allowed `action`; not signed in, the login page.
    async fn require(&self, store: &MinistryStore, action: Action) -> Result<Staff, AppError>;
    /// An audit entry by `staff` from this request.
    fn audit_by(&self, staff: &Staff, action: &str, target: String, detail: String) -> AuditEntry;
    /// The layout of a page, for `staff` (or nobody, on the login page).
    fn chrome(&self, staff: Option<&Staff>, section: &'static str) -> Chrome;
}

impl ConsoleRequest for Ctx {
    async fn require(&self, store: &MinistryStore, action: Action) -> Result<Staff, AppError> {
        let staff = match self.subject(MINISTRY).and_then(|s| s.parse::<i64>().ok()) {
            Some(id) => store.staff_by_id(id).await?,
            None => None,
        };
        let staff = staff.ok_or_else(|| AppError::Redirect("/console/login".into()))?;
        if !permits(staff.role, action) {
            return Err(AppError::Forbidden);
        }
        Ok(staff)
    }

    fn audit_by(&self, staff: &Staff, action: &str, target: String, detail: String) -> AuditEntry {
        self.audit(&staff.username, staff.role.code(), action, target, detail)
    }

    fn chrome(&self, staff: Option<&Staff>, section: &'static str) -> Chrome {
        let c = Chrome::of(self).at(section).named(String::new(), "moe.nav.other_language");
        match staff {
            Some(s) => c.signed_in(
                format!("{} ({})", s.display_name, role_label(self.t, s.role)),
                Some(s.role),
                menu,
                "/console/logout",
            ),
            None => c,
        }
    }
}

/// Whether the menu shows `role` the pages of `entry`: `statistics`, `content`, `teacher`,
/// `institutions`, `audit`.
fn menu(role: Role, entry: &str) -> bool {
    let action = match entry {
        "statistics" => Action::ViewStatistics,
        "content" => Action::EditContent,
        "teacher" => Action::IssueTeacher,
        "institutions" => Action::ManageInstitutions,
        "audit" => Action::ViewAudit,
        _ => Action::Enter,
    };
    permits(role, action)
}

fn role_label(t: Texts, role: Role) -> &'static str {
    match role {
        Role::Ministry(MinistryRole::Admin) => t.s("moe.console.role.ministry_admin"),
        Role::Ministry(MinistryRole::Editor) => t.s("moe.console.role.ministry_editor"),
        Role::University(UniversityRole::Registrar) => t.s("role.registrar"),
        Role::University(UniversityRole::CampusOffice) => t.s("role.campus_office"),
        Role::University(UniversityRole::Admin) => t.s("role.admin"),
    }
}

// ----- sign-in -----

#[derive(Template)]
#[template(path = "ministry/console/login.html")]
struct LoginPage {
    c: Chrome,
    error: Option<&'static str>,
    username: String,
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

async fn login_page(ctx: Ctx) -> PageResult {
    page(LoginPage { c: ctx.chrome(None, "login"), error: None, username: String::new() })
}

async fn login(State(state): State<MinistryState>, Posted(ctx, form): Posted<LoginForm>) -> PageResult {
    let username: String = form.username.trim().chars().take(64).collect();
    let (staff, device) = match ctx.sign_in_staff(&state, MINISTRY, &username, form.password).await? {
        StaffSignIn::Verified { staff, device } => (staff, device),
        StaffSignIn::Refused(e) => return Err(e),
        StaffSignIn::Failed => {
            let error = Some(ctx.t.s("login.failed"));
            let login = LoginPage { c: ctx.chrome(None, "login"), error, username };
            return with_status(StatusCode::UNAUTHORIZED, page(login));
        }
    };
    if !permits(staff.role, Action::Enter) {
        // A university's account in the same database: the right password, the wrong console.
        state.store.audit(&ctx.audit_by(&staff, "login_refused", format!("staff:{}", staff.id), String::new())).await?;
        return Err(AppError::Forbidden);
    }
    let mut cookies = ctx.start_session(&state, MINISTRY, &staff.id.to_string()).await?;
    cookies.push(device);
    state.store.audit(&ctx.audit_by(&staff, "login", format!("staff:{}", staff.id), String::new())).await?;
    Ok(redirect_with("/console", cookies))
}

async fn logout(State(state): State<MinistryState>, Posted(ctx, NoFields {}): Posted<NoFields>) -> PageResult {
    Ok(redirect_with("/console/login", [ctx.end_session(&state).await?]))
}

// ----- dashboard -----

/// Days of the statistics by day.
const DAYS: i64 = 30;

/// One figure, over the last [`DAYS`] days and over all time.
struct Figure {
    id: &'static str,
    label: &'static str,
    recent: i64,
    all: i64,
}

/// A reason of warnings and failures.
struct ReasonRow {
    code: String,
    words: String,
    count: i64,
}

/// A day of the last [`DAYS`].
struct DayRow {
    day: String,
    count: i64,
}

/// A recent verification: never more than the start of the file's hash.
struct RecentRow {
    at: String,
    outcome: &'static str,
    class: String,
    reason: String,
    channel: &'static str,
    hash: String,
}

/// The registry's records, counted.
#[derive(Default)]
struct RegistryFigures {
    records: i64,
    issued: i64,
    superseded: i64,
    revoked: i64,
    degree: i64,
    teacher: i64,
}

#[derive(Template)]
#[template(path = "ministry/console/dashboard.html")]
struct DashboardPage {
    c: Chrome,
    since: String,
    figures: Vec<Figure>,
    reasons: Vec<ReasonRow>,
    days: Vec<DayRow>,
    busiest: i64,
    recent: Vec<RecentRow>,
    registry: RegistryFigures,
}

fn reason_words(t: Texts, code: &str) -> String {
    let key = format!("moe.reason.{code}");
    if Texts::has(&key) { t.s(&key).to_owned() } else { code.to_owned() }
}

/// Counts the registry's records, a page at a time.
async fn registry_figures(store: &MinistryStore) -> Result<RegistryFigures, AppError> {
    let mut f = RegistryFigures::default();
    for (event, credential_type, n) in store.registry_counts().await? {
        f.records += n;
        match event.as_str() {
            "issued" => {
                f.issued += n;
                match credential_type.as_str() {
                    "teacher" => f.teacher += n,
                    _ => f.degree += n,
                }
            }
            "superseded" => f.superseded += n,
            "revoked" => f.revoked += n,
            _ => {}
        }
    }
    Ok(f)
}

async fn dashboard(State(state): State<MinistryState>, ctx: Ctx) -> PageResult {
    let staff = ctx.require(&state.store, Action::Enter).await?;
    if !permits(staff.role, Action::ViewStatistics) {
        return Ok(redirect("/console/news"));
    }
    let t = ctx.t;
    let today = now().taiwan_date();
    let first = today.add_days(1 - DAYS);
    // Midnight in Taiwan of the first day.
    let since = first.start().unix() - 8 * 3600;
    let recent = state.store.verification_stats(since).await?;
    let all = state.store.verification_stats(0).await?;
    let figure = |id, key, recent, all| Figure { id, label: t.s(key), recent, all };
    let figures = vec![
        figure("total", "moe.console.stats.total", recent.total, all.total),
        figure("success", "moe.result.success", recent.success, all.success),
        figure("warning", "moe.result.warning", recent.warning, all.warning),
        figure("failure", "moe.result.failure", recent.failure, all.failure),
        figure("distinct", "moe.console.stats.distinct", recent.distinct_files, all.distinct_files),
    ];
    let reasons = recent
        .by_reason
        .iter()
        .map(|(code, count)| ReasonRow { code: code.clone(), words: reason_words(t, code), count: *count })
        .collect();
    let days: Vec<DayRow> = (0..DAYS)
        .map(|i| {
            let day = first.add_days(i);
            let key = day.to_string();
            let count = recent.by_day.iter().find(|(d, _)| *d == key).map_or(0, |(_, n)| *n);
            DayRow { day: t.short_date(&day), count }
        })
        .collect();
    let busiest = days.iter().map(|d| d.count).max().unwrap_or(0).max(1);
    let recent_rows = state
        .store
        .recent_verifications(20)
        .await?
        .into_iter()
        .map(|v| RecentRow {
            at: t.time(v.at),
            outcome: match v.outcome.as_str() {
                "success" => t.s("moe.result.success"),
                "warning" => t.s("moe.result.warning"),
                _ => t.s("moe.result.failure"),
            },
            class: v.outcome.chars().filter(char::is_ascii_lowercase).collect(),
            reason: v.reason.as_deref().map(|r| reason_words(t, r)).unwrap_or_default(),
            channel: match v.channel.as_str() {
                "api" => t.s("moe.console.channel.api"),
                _ => t.s("moe.console.channel.page"),
            },
            hash: v.sha256.chars().take(12).collect(),
        })
        .collect();
    page(DashboardPage {
        c: ctx.chrome(Some(&staff), "dashboard"),
        since: t.date(&first),
        figures,
        reasons,
        days,
        busiest,
        recent: recent_rows,
        registry: registry_figures(&state.store).await?,
    })
}

// ----- form checks -----

/// The problems of a form, in the page's language.
struct Problems {
    t: Texts,
    list: Vec<String>,
}

impl Problems {
    fn new(t: Texts) -> Self {
        Problems { t, list: Vec::new() }
    }

    /// Checks a required text of at most `max` characters; `lines` allows line breaks.
    fn text(&mut self, label: &str, value: &str, max: usize, lines: bool) {
        let t = self.t;
        let label = t.s(label);
        if value.trim().is_empty() {
            self.list.push(t.f("moe.console.error.required", &[&label]));
        } else if value.chars().count() > max {
            self.list.push(t.f("moe.console.error.too_long", &[&label, &max]));
        } else if value.chars().any(|c| c.is_control() && !(lines && matches!(c, '\n' | '\r' | '\t'))) {
            self.list.push(t.f("moe.console.error.control", &[&label]));
        }
    }

    /// Checks a date `YYYY-MM-DD`.
    fn date(&mut self, label: &str, value: &str) -> Option<Date> {
        match value.trim().parse::<Date>() {
            Ok(d) if (1900..=2999).contains(&d.year()) => Some(d),
            _ => {
                let label = self.t.s(label);
                self.list.push(self.t.f("moe.console.error.date", &[&label]));
                None
            }
        }
    }

    fn push(&mut self, key: &str) {
        self.list.push(self.t.s(key).to_owned());
    }

    /// Checks the four texts of a news item or a question, labelled `labels`: its line (a title,
    /// a question) in Chinese and English, then its text (a body, an answer); returns them clean.
    fn texts(&mut self, labels: [&str; 4], values: [&String; 4]) -> [String; 4] {
        let limits = [(TITLE_CHARS, false), (TITLE_CHARS, false), (BODY_CHARS, true), (BODY_CHARS, true)];
        for ((label, value), (max, lines)) in labels.into_iter().zip(values).zip(limits) {
            self.text(label, value, max, lines);
        }
        values.map(|v| clean(v))
    }
}

/// The texts of a news item or question: at most this many characters.
const TITLE_CHARS: usize = 200;
const BODY_CHARS: usize = 5_000;

fn clean(s: &str) -> String {
    s.trim().replace("\r\n", "\n")
}

fn notice(t: Texts, q: &DoneQuery) -> Option<&'static str> {
    match q.done.as_deref() {
        Some("added") => Some(t.s("moe.console.notice.added")),
        Some("saved") => Some(t.s("moe.console.notice.saved")),
        Some("deleted") => Some(t.s("moe.console.notice.deleted")),
        _ => None,
    }
}

/// The confirmation before deleting a news item or a question.
#[derive(Template)]
#[template(path = "ministry/console/confirm.html")]
struct ConfirmPage {
    c: Chrome,
    question: String,
    what: String,
    action: String,
    back: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn only_the_ministrys_roles_have_any_action_and_the_editor_only_news_and_faq() {
        for action in Action::ALL {
            assert!(permits(Role::Ministry(MinistryRole::Admin), action), "{action:?}");
            let editor = permits(Role::Ministry(MinistryRole::Editor), action);
            assert_eq!(editor, matches!(action, Action::Enter | Action::EditContent));
            for university in Role::ALL.into_iter().filter(|r| matches!(r, Role::University(_))) {
                assert!(!permits(university, action), "{university:?} {action:?}");
            }
        }
    }

    #[test]
    fn a_moment_typed_into_a_form_is_taiwan_time_unless_it_says_otherwise() {
        let at = |s: &str| parse_moment(s).map(|t| t.to_string());
        assert_eq!(at("2025-07-01").as_deref(), Some("2025-06-30T16:00:00Z"));
        assert_eq!(at(" 2025-07-01T09:30 ").as_deref(), Some("2025-07-01T01:30:00Z"));
        assert_eq!(at("2025-07-01T09:30:15").as_deref(), Some("2025-07-01T01:30:15Z"));
        assert_eq!(at("2025-07-01T09:30:15Z").as_deref(), Some("2025-07-01T09:30:15Z"));
        for bad in ["", "yesterday", "2025-02-30", "2025-07-01T25:00", "2025-07-01 09:30"] {
            assert_eq!(at(bad), None, "{bad}");
        }
        assert_eq!(local_moment(Timestamp(parse_moment("2025-07-01T09:30").unwrap().unix())), "2025-07-01T09:30");
        let t = Texts::new(Lang::En);
        assert_eq!(parse_valid_until(t, " "), Ok(None));
        let end = parse_valid_until(t, "2999-12-31").unwrap().unwrap();
        assert_eq!(end.to_string(), "2999-12-31T16:00:00Z", "the end of that day in Taiwan");
        assert!(parse_valid_until(t, "2020-01-01").is_err(), "in the past");
        assert!(parse_valid_until(t, "soon").is_err());
    }

    #[test]
    fn every_refusal_of_the_registry_is_worded_in_chinese() {
        let t = Texts::new(Lang::Zh);
        let good = InstitutionDetails {
            name_zh: "國立臺灣大學".into(),
            name_en: "National Taiwan University".into(),
            address: "10617 臺北市大安區羅斯福路四段1號".into(),
            credential_types: vec![CredentialType::Degree],
            degree_levels: vec![DegreeLevel::Bachelor],
        };
        assert!(good.validate().is_ok());
        let bad = [
            InstitutionDetails { name_zh: String::new(), ..good.clone() },
            InstitutionDetails { name_en: " National Taiwan University".into(), ..good.clone() },
            InstitutionDetails { address: "臺".repeat(301), ..good.clone() },
            InstitutionDetails { credential_types: vec![], degree_levels: vec![], ..good.clone() },
            InstitutionDetails { degree_levels: vec![DegreeLevel::Bachelor, DegreeLevel::Bachelor], ..good.clone() },
            InstitutionDetails { degree_levels: vec![], ..good.clone() },
            InstitutionDetails { credential_types: vec![CredentialType::Teacher], ..good.clone() },
        ];
        let mut errors: Vec<RegistryError> = bad.iter().map(|d| d.validate().unwrap_err().into()).collect();
        errors.extend([
            RequestError::InvalidText { field: "the reason", max: 200 }.into(),
            RequestError::Proof("credential key's proof").into(),
            RequestError::Proof("signing key's proof").into(),
            RequestError::TooLarge.into(),
            RegistryError::KeyTaken,
            RegistryError::OtherRoot { published: dcert_core::Sha256Digest::of(b"root") },
            RegistryError::NotNewer { published: 3, served: 5 },
        ]);
        use registry::CurrentKeyProblem as P;
        for problem in [P::Missing, P::BadProof, P::NotRegistered, P::Revoked, P::NotValidNow] {
            errors.push(RegistryError::CurrentKey(problem));
        }
        for e in &errors {
            let words = registry_error(t, e).unwrap();
            assert!(!words.contains("the ") && !words.contains("degree"), "{e}: {words}");
        }
        assert_eq!(
            registry_error(t, &errors[0]).unwrap(),
            "名稱（中文）須為 1 到 100 個字，不含控制字元，前後不留空白。"
        );
    }
}
