//! The departure portal (畢業生離校作業) for graduates: the home and contact pages, sign-in, the
//! eight fields of the chosen term, confirmation, correction requests, the permanent address,
//! and the certificates with their delivery status.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use dcert_core::model::Language;
use dcert_core::roster::is_plausible_email;
use dcert_store::{Campus, CertificateInfo, CertificateStatus, Graduate, Order};
use serde::Deserialize;

use super::worker::Policy;
use super::{AppState, GRADUATE, Signed};
use crate::auth;
use crate::http::{
    AppError, Chrome, Ctx, Limit, NoFields, PageResult, Posted, SignIn, now, page, pdf_download, pick, redirect,
    redirect_with, urlencode, with_status,
};
use crate::i18n::Texts;

/// How long an address-confirmation link works.
pub const EMAIL_LINK_SECONDS: i64 = 3 * 86_400;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/contact", get(contact))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/portal", get(portal))
        .route("/portal/confirm", post(confirm))
        .route("/portal/correction", post(correction))
        .route("/portal/email", post(change_email))
        .route("/portal/certificates/{id}", get(download))
        .route("/email/confirm", get(confirm_email))
        .route("/static/live.js", get(|| async { crate::http::javascript(include_str!("../../static/live.js")) }))
}

/// The chrome of a university page in `area` (`portal` or `console`), `user` signed in.
pub(crate) fn page_chrome(ctx: &Ctx, state: &AppState, area: &'static str, user: Option<String>) -> Chrome {
    let school = pick(ctx.t, &state.site.school_zh, &state.site.school_en).to_owned();
    let c = Chrome::of(ctx).at(area).named(school, "nav.other_language");
    match user {
        Some(user) => {
            let logout = if area == "console" { "/console/logout" } else { "/logout" };
            c.signed_in(user, None, console_menu, logout)
        }
        None => c,
    }
}

/// Whether the console's menu shows `role` the page of `entry` (a name of [`super::Action`]).
fn console_menu(role: dcert_store::Role, entry: &str) -> bool {
    use super::console::Action::*;
    let action = match entry {
        "graduates" => ViewGraduates,
        "import" => Import,
        "calendar" => ViewCalendar,
        "corrections" => Corrections,
        "outbox" => ViewOutbox,
        "policy" => EditPolicy,
        "templates" => EditTemplates,
        "audit" => ViewAudit,
        "log" => WatchLog,
        _ => ViewDashboard,
    };
    super::console::permits(role, action)
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    c: Chrome,
    verify_site: String,
}

async fn home(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let user = ctx.graduate().ok();
    page(HomePage { c: page_chrome(&ctx, &state, "portal", user), verify_site: state.site.verify_site.clone() })
}

#[derive(Template)]
#[template(path = "contact.html")]
struct ContactPage {
    c: Chrome,
    campuses: Vec<Campus>,
    phone: String,
    registrar_extension: String,
}

async fn contact(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let user = ctx.graduate().ok();
    let campuses = state.store.campuses().await?;
    page(ContactPage {
        c: page_chrome(&ctx, &state, "portal", user),
        campuses,
        phone: state.site.phone.clone(),
        registrar_extension: state.site.registrar_extension.clone(),
    })
}

#[derive(Template)]
#[template(path = "login.html")]
pub(crate) struct LoginPage {
    pub c: Chrome,
    pub action: &'static str,
    pub title: &'static str,
    pub user_label: &'static str,
    pub error: Option<String>,
    pub username: String,
}

async fn login_page(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let t = ctx.t;
    page(LoginPage {
        c: page_chrome(&ctx, &state, "portal", None),
        action: "/login",
        title: t.s("portal.login.title"),
        user_label: t.s("portal.login.student_number"),
        error: None,
        username: String::new(),
    })
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    pub username: String,
    pub password: String,
}

async fn login(State(state): State<AppState>, Posted(ctx, form): Posted<LoginForm>) -> PageResult {
    let number = form.username.trim().to_uppercase();
    let check = async {
        let ok = state.graduate_auth.check(&number, &form.password).await?;
        Ok(ok && !state.store.graduate_terms(&number).await?.is_empty())
    };
    let device = match ctx.sign_in(&state, GRADUATE, &number, None, check).await? {
        SignIn::Verified(device) => device,
        SignIn::Refused(e) => return Err(e),
        SignIn::Failed => {
            let t = ctx.t;
            let login = LoginPage {
                c: page_chrome(&ctx, &state, "portal", None),
                action: "/login",
                title: t.s("portal.login.title"),
                user_label: t.s("portal.login.student_number"),
                // A graduate is told whom to ask; staff have their administrator.
                error: Some(format!("{} {}", t.s("login.failed"), t.s("portal.login.help"))),
                username: form.username.trim().chars().take(40).collect(),
            };
            return with_status(axum::http::StatusCode::UNAUTHORIZED, page(login));
        }
    };
    let mut cookies = ctx.start_session(&state, GRADUATE, &number).await?;
    cookies.push(device);
    state.store.audit(&ctx.audit(&number, "graduate", "login", format!("student:{number}"), String::new())).await?;
    Ok(redirect_with("/portal", cookies))
}

async fn logout(State(state): State<AppState>, Posted(ctx, NoFields {}): Posted<NoFields>) -> PageResult {
    Ok(redirect_with("/", [ctx.end_session(&state).await?]))
}

/// One line of 基本資料.
struct Field {
    no: &'static str,
    label: &'static str,
    value: String,
    /// The name in English, marked as English for screen readers (field 01 only).
    english: Option<String>,
}

/// A certificate as the graduate sees it.
pub(crate) struct CertRow {
    pub id: i64,
    pub language: &'static str,
    pub version: u32,
    pub number: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub issued: String,
    pub delivery: String,
    pub sha256: String,
    /// What a revoked certificate's holder should know: when, why, and whom to ask.
    pub note: Option<String>,
}

/// The certificates as pages list them; `contact` is whom a graduate asks about a revocation
/// (the registry office's phone and extension), none on the console's pages.
pub(crate) fn cert_rows(t: Texts, certs: &[CertificateInfo], contact: Option<(&str, &str)>) -> Vec<CertRow> {
    certs
        .iter()
        .map(|c| CertRow {
            id: c.id,
            language: language_label(t, c.language),
            version: c.version,
            number: c.number.clone(),
            status: match c.status {
                CertificateStatus::Current => t.s("cert.status.current"),
                CertificateStatus::Superseded => t.s("cert.status.superseded"),
                CertificateStatus::Revoked => t.s("cert.status.revoked"),
            },
            status_class: c.status.code(),
            issued: t.time(c.issued_at),
            delivery: if c.delivery.failed > 0 {
                t.f("cert.delivery.failed", &[&c.delivery.failed])
            } else if c.delivery.pending > 0 {
                t.f("cert.delivery.pending", &[&c.delivery.pending])
            } else if c.delivery.sent > 0 {
                t.f("cert.delivery.sent", &[&c.delivery.sent])
            } else {
                t.s("cert.delivery.none").into()
            },
            sha256: c.sha256.clone(),
            note: (c.status == CertificateStatus::Revoked).then(|| {
                let on = c.status_at.map(|at| t.date(&dcert_core::Timestamp(at).taiwan_date())).unwrap_or_default();
                let reason = c.status_reason.clone().unwrap_or_default();
                match contact {
                    Some((phone, extension)) => t.f("portal.revoked_note", &[&on, &reason, &phone, &extension]),
                    None => t.f("console.revoked_note", &[&on, &reason]),
                }
            }),
        })
        .collect()
}

pub(crate) fn language_label(t: Texts, l: Language) -> &'static str {
    match l {
        Language::Zh => t.s("cert.language.zh"),
        Language::En => t.s("cert.language.en"),
    }
}

/// An order waiting for issuance, as the graduate sees it.
pub(crate) struct OrderRow {
    pub text: String,
}

/// The orders still waiting, for a graduate who has `confirmed` the data or not (then nothing
/// is issued, and no due day is promised).
pub(crate) fn order_rows(t: Texts, orders: &[Order], confirmed: bool) -> Vec<OrderRow> {
    orders
        .iter()
        .filter(|o| o.is_open())
        .map(|o| {
            let (language, recorded) = (language_label(t, o.language), t.short_date(&o.requested_on));
            let text = if confirmed {
                t.f("portal.waiting", &[&language, &o.version, &recorded, &t.short_date(&o.due_on)])
            } else {
                t.f("portal.waiting.unconfirmed", &[&language, &o.version, &recorded])
            };
            OrderRow { text }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "portal.html")]
struct PortalPage {
    c: Chrome,
    terms: Vec<String>,
    term: String,
    fields: Vec<Field>,
    school_email: String,
    permanent_email: String,
    pending_email: Option<String>,
    confirmed: Option<String>,
    eligible: bool,
    certificates: Vec<CertRow>,
    waiting: Vec<OrderRow>,
    /// The graduate's correction requests not yet handled, with when they were sent.
    corrections: Vec<String>,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
struct PortalQuery {
    term: Option<String>,
    done: Option<String>,
}

fn fields(t: Texts, g: &Graduate) -> Vec<Field> {
    let r = &g.record;
    let zh = t.lang == crate::i18n::Lang::Zh;
    let pick = |a: &str, b: &str| if zh { a.to_owned() } else { b.to_owned() };
    let others: Vec<String> = r
        .other_programs
        .iter()
        .map(|p| {
            let kind = if zh { p.kind.label_zh() } else { p.kind.label_en() };
            if zh { format!("{kind}：{}", p.name_zh) } else { format!("{kind}: {}", p.name_en) }
        })
        .collect();
    vec![
        Field { no: "01", label: t.s("field.name"), value: r.name_zh.clone(), english: Some(r.name_en.clone()) },
        Field { no: "02", label: t.s("field.birthday"), value: t.date(&r.birth_date), english: None },
        Field { no: "03", label: t.s("field.student_number"), value: r.student_number.clone(), english: None },
        Field { no: "04", label: t.s("field.school"), value: pick(&r.school_zh, &r.school_en), english: None },
        Field { no: "05", label: t.s("field.college"), value: pick(&r.college_zh, &r.college_en), english: None },
        Field {
            no: "06",
            label: t.s("field.department"),
            value: pick(&r.department_zh, &r.department_en),
            english: None,
        },
        Field {
            no: "07",
            label: t.s("field.other"),
            value: if others.is_empty() { t.s("field.none").into() } else { others.join("、") },
            english: None,
        },
    ]
}

/// The graduate's record of the chosen term (or the newest).
async fn chosen(state: &AppState, number: &str, term: Option<&str>) -> Result<(Vec<Graduate>, Graduate), AppError> {
    let all = state.store.graduate_terms(number).await?;
    let chosen = match term {
        Some(term) => all.iter().find(|g| g.term().to_string() == term).cloned(),
        None => all.first().cloned(),
    };
    let chosen = chosen.ok_or(AppError::NotFound)?;
    Ok((all, chosen))
}

async fn portal(State(state): State<AppState>, ctx: Ctx, Query(q): Query<PortalQuery>) -> PageResult {
    let number = ctx.graduate()?;
    let (all, g) = chosen(&state, &number, q.term.as_deref()).await?;
    let t = ctx.t;
    let policy = Policy::load(&state.store).await?;
    let certificates = state.store.certificates_for_graduate(g.id).await?;
    let orders = state.store.orders_for_graduate(g.id).await?;
    let notice = match q.done.as_deref() {
        Some("confirmed") => Some(t.s("portal.notice.confirmed")),
        Some("correction") => Some(t.s("portal.notice.correction")),
        Some("email") => Some(t.s("portal.notice.email_sent")),
        _ => None,
    };
    page(PortalPage {
        c: page_chrome(&ctx, &state, "portal", Some(number.clone())),
        terms: all.iter().map(|g| g.term().to_string()).collect(),
        term: g.term().to_string(),
        fields: fields(t, &g),
        school_email: g.school_email.clone(),
        permanent_email: g.permanent_email.clone().unwrap_or_default(),
        pending_email: state.store.pending_email_change(g.id).await?,
        confirmed: g.confirmed_at.map(|at| t.time(at)),
        eligible: policy.eligible(g.term()),
        certificates: cert_rows(t, &certificates, Some((&state.site.phone, &state.site.registrar_extension))),
        waiting: order_rows(t, &orders, g.confirmed_at.is_some()),
        corrections: state
            .store
            .open_corrections(g.id)
            .await?
            .into_iter()
            .map(|r| t.f("portal.correction.item", &[&t.time(r.created_at), &r.message]))
            .collect(),
        notice,
    })
}

#[derive(Deserialize)]
struct TermForm {
    term: String,
}

async fn confirm(State(state): State<AppState>, Posted(ctx, form): Posted<TermForm>) -> PageResult {
    let number = ctx.graduate()?;
    let (_, g) = chosen(&state, &number, Some(&form.term)).await?;
    let entry = ctx.audit(&number, "graduate", "confirm_record", format!("graduate:{}", g.id), form.term.clone());
    state.store.confirm_graduate(g.id, now().unix(), &entry).await?;
    Ok(redirect(&format!("/portal?term={}&done=confirmed", urlencode(&form.term))))
}

#[derive(Deserialize)]
struct CorrectionForm {
    term: String,
    message: String,
}

async fn correction(State(state): State<AppState>, Posted(ctx, form): Posted<CorrectionForm>) -> PageResult {
    let number = ctx.graduate()?;
    let message = form.message.trim();
    if message.is_empty() || message.chars().count() > 1000 {
        return Err(AppError::BadRequest(ctx.t.s("portal.correction.invalid").into()));
    }
    let (_, g) = chosen(&state, &number, Some(&form.term)).await?;
    let entry = |id| {
        ctx.audit(&number, "graduate", "request_correction", format!("graduate:{}", g.id), format!("correction:{id}"))
    };
    state.store.add_correction(g.id, message, now().unix(), entry).await?;
    Ok(redirect(&format!("/portal?term={}&done=correction", urlencode(&form.term))))
}

#[derive(Deserialize)]
struct EmailForm {
    term: String,
    address: String,
}

async fn change_email(State(state): State<AppState>, Posted(ctx, form): Posted<EmailForm>) -> PageResult {
    let number = ctx.graduate()?;
    let address = form.address.trim();
    if !is_plausible_email(address) {
        return Err(AppError::BadRequest(ctx.t.s("portal.email.invalid").into()));
    }
    let (_, g) = chosen(&state, &number, Some(&form.term)).await?;
    let at = now().unix();
    // A few links per quarter hour for each graduate: the school's mail server is not a way to
    // mail anyone at will, and one graduate's links take nothing from another's.
    if let Err(retry_after) = state.address_changes.take(&format!("graduate:{}", g.id), at as f64) {
        return Err(AppError::TooMany { limit: Limit::AddressChange, retry_after });
    }
    let token = auth::random_token();
    let link = format!("{}/email/confirm?token={token}", state.site.public_url.trim_end_matches('/'));
    let email = super::mail::address_confirmation_email(&state.site.school_zh, &state.site.school_en, address, &link);
    let entry = ctx.audit(&number, "graduate", "request_address_change", format!("graduate:{}", g.id), String::new());
    state.store.start_email_change((g.id, address), &auth::token_hash(&token), &email, at, &entry).await?;
    Ok(redirect(&format!("/portal?term={}&done=email", urlencode(&form.term))))
}

#[derive(Deserialize)]
struct TokenQuery {
    token: String,
}

#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct MessagePage {
    pub c: Chrome,
    pub title: &'static str,
    pub text: String,
    pub ok: bool,
}

async fn confirm_email(State(state): State<AppState>, ctx: Ctx, Query(q): Query<TokenQuery>) -> PageResult {
    let audit =
        |graduate_id| ctx.audit("-", "graduate", "confirm_address", format!("graduate:{graduate_id}"), String::new());
    let token = auth::token_hash(&q.token);
    let done = state.store.confirm_email_change(&token, (now().unix(), EMAIL_LINK_SECONDS), audit).await?;
    let t = ctx.t;
    let user = ctx.graduate().ok();
    let (ok, text) = match done {
        Some(_) => (true, t.s("portal.email.confirmed").to_owned()),
        None => (false, t.s("portal.email.link_invalid").to_owned()),
    };
    let mut r =
        page(MessagePage { c: page_chrome(&ctx, &state, "portal", user), title: t.s("portal.email.title"), text, ok })?;
    if !ok {
        *r.status_mut() = axum::http::StatusCode::BAD_REQUEST;
    }
    Ok(r)
}

async fn download(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let number = ctx.graduate()?;
    let cert = state.store.certificate(id).await?.ok_or(AppError::NotFound)?;
    let owner = state.store.graduate(cert.graduate_id).await?.ok_or(AppError::NotFound)?;
    if owner.record.student_number != number {
        return Err(AppError::NotFound);
    }
    let bytes = state.store.certificate_file(id).await?;
    let name = super::mail::attachment_name(&cert.number, cert.language, cert.version);
    Ok(pdf_download(&name, bytes).into_response())
}
