//! The Ministry console on a real port, over a real SQLite store: sign-in and roles (with a
//! university registrar in the same database), CSRF, the login limit, news and FAQ as the public
//! pages show them, statistics of verifications posted to the API, teacher certificates that
//! verify, the institutions of the trust registry (onboarding, rotation, revocation, details,
//! publishing) with files issued under them verified through the API, and logs without names,
//! passwords or key material.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use dcert_core::Timestamp;
use dcert_core::issue::Issuance;
use dcert_core::issue::IssuerKit;
use dcert_core::model::CredentialType;
use dcert_core::pdf::Limits;
use dcert_core::trust::{Accreditation, TrustList};
use dcert_core::verify::{self, CheckResult, Outcome};
use dcert_core::x509::{self, ParsedCert};
use dcert_store::{AuditFilter, MinistryRole, MinistryStore, Role, Session, UniversityRole};
use dcert_web::ministry::trust_registry::{self as registry, OnboardingRequest, RotationRequest};
use dcert_web::ministry::{MinistryConfig, MinistryState, ministry_router};

use crate::support::{
    REGISTRY, Reply, Served, TempDir, check_route, csrf_first, enc, fonts, form_post, institution, multipart,
    multipart_post, root, root_keys,
};
use crate::trust_registry::{Keys, issue_at, nkust, request};

mod institutions;

pub(crate) use self::institutions::onboard_directly;

const ADMIN: &str = "moe-admin";
const EDITOR: &str = "moe-editor";
/// A university's registrar whose account is in the Ministry's database too.
const REGISTRAR: &str = "registrar";

fn password_of(user: &str) -> String {
    format!("secret-password-of-{user}")
}

/// The Ministry's own kit and a signed trust list that accredits it for teacher certificates
/// (`teacher` false: a list that names it for degrees only).
fn ministry_keys(teacher: bool) -> (IssuerKit, TrustList, Vec<u8>) {
    let root = root();
    let accreditation = Accreditation {
        credential_types: vec![if teacher { CredentialType::Teacher } else { CredentialType::Degree }],
        degree_levels: if teacher { vec![] } else { vec![dcert_core::model::DegreeLevel::Bachelor] },
    };
    let (kit, entry) = institution(&root, "moe", "教育部", "Ministry of Education", 20, accreditation);
    let (trust, json) = root.trust_list(REGISTRY, vec![entry]);
    (kit, trust, json)
}

/// How a test site is set up.
#[derive(Clone, Copy)]
struct Setup {
    /// The Ministry's issuer kit is configured.
    kit: bool,
    /// The trust list accredits the Ministry for teacher certificates.
    teacher: bool,
    /// The Ministry root's keys are configured (onboarding and publishing from the console).
    registry: bool,
}

const FULL: Setup = Setup { kit: true, teacher: true, registry: true };

/// The Ministry's site on a real port, with its store, its staff and a registrar.
struct ConsoleSite {
    store: MinistryStore,
    state: MinistryState,
    trust: TrustList,
    served: Served,
    _dir: TempDir,
}

impl ConsoleSite {
    async fn start(setup: Setup) -> ConsoleSite {
        let dir = TempDir::new("ministry-console");
        let store = MinistryStore::open(&format!("sqlite://{}", dir.0.join("ministry.db").display())).await.unwrap();
        dcert_web::ministry::prepare(&store).await.unwrap();
        for (user, role) in [
            (ADMIN, Role::Ministry(MinistryRole::Admin)),
            (EDITOR, Role::Ministry(MinistryRole::Editor)),
            (REGISTRAR, Role::University(UniversityRole::Registrar)),
        ] {
            let hash = dcert_web::auth::hash_password(&password_of(user));
            let name = format!("{user} name");
            store
                .create_staff(
                    &crate::support::account(user, &name, &hash, role, None),
                    &crate::support::system("add_staff"),
                )
                .await
                .unwrap();
        }
        let (kit, trust, json) = ministry_keys(setup.teacher);
        let mut state = crate::support::ministry_site(store.clone(), json, MinistryConfig::new(REGISTRY));
        if setup.kit {
            state = state.with_issuance(Issuance { kit, fonts: fonts() });
        }
        if setup.registry {
            state = state.with_registry_keys(root_keys());
        }
        let served = Served::start(ministry_router(state.clone())).await;
        ConsoleSite { store, state, trust, served, _dir: dir }
    }

    /// `file` verified against this site's registry and its log, as its own pages verify.
    async fn verify(&self, file: &[u8]) -> verify::Report {
        let status = self.state.store_status();
        let (file, trust) = (file.to_vec(), self.trust.clone());
        let verifying = move || verify::verify(&file, &trust, &status, status.now, &Limits::default());
        tokio::task::spawn_blocking(verifying).await.unwrap()
    }

    async fn send(&self, request: Request<Body>) -> Reply {
        self.served.send(request).await
    }

    /// A public page, as anyone sees it.
    async fn public(&self, path: &str, lang: &str) -> String {
        let r =
            self.send(Request::get(path).header(header::COOKIE, format!("lang={lang}")).body(Body::empty()).unwrap());
        r.await.text()
    }

    /// A visitor with the site's CSRF cookie and no session.
    async fn visitor(&self) -> Browser<'_> {
        let first = self.send(Request::get("/console/login").body(Body::empty()).unwrap()).await;
        let csrf = first.cookie("csrf").expect("the login page sets a CSRF cookie");
        Browser { site: self, csrf, session: None, lang: "zh" }
    }

    /// A member of staff, signed in.
    async fn signed_in(&self, user: &str) -> Browser<'_> {
        let mut b = self.visitor().await;
        let r = b.post("/console/login", &[("username", user), ("password", &password_of(user))]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{user} signs in: {}", r.text());
        b.session = Some(r.cookie("moe_session").expect("a session cookie"));
        let csrf = r.cookie("csrf").expect("a new CSRF token at sign-in");
        assert_ne!(csrf, b.csrf, "the token changes at sign-in");
        b.csrf = csrf;
        b
    }

    /// A browser holding a session written straight into the store (one the console would not
    /// give this account).
    async fn planted(&self, user: &str, kind: &str) -> Browser<'_> {
        let mut b = self.visitor().await;
        let staff = self.store.staff_by_username(user).await.unwrap().unwrap();
        let token = dcert_web::auth::random_token();
        let csrf = dcert_web::auth::random_token();
        let now = dcert_web::http::now().unix();
        let session =
            Session { kind: kind.into(), subject: staff.id.to_string(), csrf: csrf.clone(), expires_at: now + 3600 };
        self.store.create_session(&dcert_web::auth::token_hash(&token), &session, now).await.unwrap();
        b.session = Some(token);
        if kind == "ministry" {
            b.csrf = csrf;
        }
        b
    }

    async fn audit_actions(&self) -> Vec<(String, String)> {
        let log = self.store.audit_log(&AuditFilter::default()).await.unwrap();
        log.into_iter().map(|e| (e.actor, e.action)).collect()
    }
}

/// Cookies and a CSRF token, as a browser keeps them.
struct Browser<'a> {
    site: &'a ConsoleSite,
    csrf: String,
    session: Option<String>,
    lang: &'static str,
}

impl Browser<'_> {
    fn cookies(&self) -> String {
        let mut c = format!("csrf={}; lang={}", self.csrf, self.lang);
        if let Some(s) = &self.session {
            c.push_str(&format!("; moe_session={s}"));
        }
        c
    }

    async fn get(&self, path: &str) -> Reply {
        self.site.send(Request::get(path).header(header::COOKIE, self.cookies()).body(Body::empty()).unwrap()).await
    }

    /// Posts a form with the browser's CSRF token.
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        self.post_raw(path, &csrf_first(&self.csrf, fields)).await
    }

    /// Posts a multipart form (an upload) with the browser's CSRF token: `(name, file name, bytes)`.
    async fn post_multipart(&self, path: &str, fields: &[(&str, Option<&str>, &[u8])]) -> Reply {
        let mut all = vec![("csrf", None, self.csrf.as_bytes())];
        all.extend_from_slice(fields);
        self.site.send(multipart_post(path, self.cookies(), multipart(&all))).await
    }

    /// Posts exactly these fields.
    async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        self.site.send(form_post(path, self.cookies(), fields)).await
    }
}

/// The sample teacher (examples/teacher.json) as the console's form, in `language`.
fn teacher_form<'a>(language: &'a str, number: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("language", language),
        ("certificate_number", number),
        ("name_zh", "林堃"),
        ("name_en", "LIN, KUN"),
        ("birth_date", "1990-09-09"),
        ("kind_zh", "中等學校教師證書"),
        ("kind_en", "Secondary School Teacher Certificate"),
        ("subject_zh", "數學"),
        ("subject_en", "Mathematics"),
        ("teacher_certificate_number", "中字第1140042號"),
        ("issue_date", "2025-08-01"),
    ]
}

/// The news item the tests add, as the console's form.
fn news_form() -> Vec<(&'static str, &'static str)> {
    vec![
        ("published_on", "2025-07-01"),
        ("title_zh", "驗證服務上線"),
        ("title_en", "Verification is open"),
        ("body_zh", "即日起提供驗證。"),
        ("body_en", "Certificates can be verified from today."),
    ]
}

/// `form` with the values of `changes` in place of its own.
fn changed<'a>(mut form: Vec<(&'a str, &'a str)>, changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    for (name, value) in changes {
        let field = form.iter_mut().find(|(n, _)| n == name).unwrap_or_else(|| panic!("the form has no {name}"));
        field.1 = value;
    }
    form
}

/// Issues a teacher certificate in the console as a browser does: the form, then the download
/// it is sent to. Returns the download and its address.
async fn issue_teacher(admin: &Browser<'_>, form: &[(&str, &str)]) -> (Reply, String) {
    let issued = admin.post("/console/teacher", form).await;
    assert_eq!(issued.status, StatusCode::SEE_OTHER, "{}", issued.text());
    let to = issued.location().expect("sent to the download").to_owned();
    assert!(to.starts_with("/console/teacher/") && to.ends_with("/download"), "{to}");
    let download = admin.get(&to).await;
    assert_eq!(download.status, StatusCode::OK, "{}", download.text());
    assert_eq!(download.headers.get(header::CONTENT_TYPE).unwrap(), "application/pdf");
    (download, to)
}

/// A teacher certificate file written straight into the store (not a real PDF), with its id.
async fn teacher_file_directly(store: &MinistryStore) -> i64 {
    let file = b"%PDF-1.7\nnot really a certificate".to_vec();
    let sha256 = dcert_core::Sha256Digest::of(&file).to_string();
    let record = dcert_store::RegistryRecord {
        institution: "moe".into(),
        sha256,
        event: "issued".into(),
        number: "MOE-T-2025-000099".into(),
        language: "zh".into(),
        version: 1,
        previous_sha256: None,
        credential_type: "teacher".into(),
        credential_sha256: None,
        reason: None,
        at: 1,
    };
    let audit = dcert_store::AuditEntry {
        at: 1,
        actor: "test".into(),
        role: "test".into(),
        action: "teacher_issue".into(),
        target: "certificate:MOE-T-2025-000099".into(),
        detail: String::new(),
        ip: "-".into(),
    };
    store.store_teacher_certificate(&record, &file, "test", &audit).await.unwrap()
}

// ----- roles -----

/// A console route: method, path, form fields, and the accounts that may use it.
type RouteCase = (&'static str, String, Vec<(&'static str, &'static str)>, &'static [&'static str]);

/// Every console route and who may use it; changes come last, deletions at the very end.
fn route_table(news: i64, faq: i64, teacher: i64) -> Vec<RouteCase> {
    const A: &str = ADMIN;
    const E: &str = EDITOR;
    let news_fields = news_form();
    let faq_fields =
        vec![("position", "9"), ("question_zh", "問"), ("question_en", "Q"), ("answer_zh", "答"), ("answer_en", "A")];
    let details = vec![
        ("name_zh", "國立高雄科技大學"),
        ("name_en", "National Kaohsiung University of Science and Technology"),
        ("address", "807618 高雄市三民區建工路415號"),
        ("degree", "on"),
        ("bachelor", "on"),
    ];
    // A request that is not one: refused with its reason, quickly, by whoever may onboard.
    let not_a_request = vec![("request", "{}")];
    let contact = vec![("office_zh", "教務處"), ("office_en", ""), ("phone", "(07)601-1000"), ("website", "")];
    // The institution `nkust` is registered (see `onboard_directly`); these name no key of it.
    let no_such_key = vec![("key", "z6MkNotAKey"), ("from", "2025-07-01T00:00"), ("reason", "test")];
    vec![
        ("GET", "/console".into(), vec![], &[A, E]),
        ("GET", "/console/news".into(), vec![], &[A, E]),
        ("GET", "/console/news/new".into(), vec![], &[A, E]),
        ("GET", format!("/console/news/{news}"), vec![], &[A, E]),
        ("GET", format!("/console/news/{news}/delete"), vec![], &[A, E]),
        ("GET", "/console/faq".into(), vec![], &[A, E]),
        ("GET", "/console/faq/new".into(), vec![], &[A, E]),
        ("GET", format!("/console/faq/{faq}"), vec![], &[A, E]),
        ("GET", format!("/console/faq/{faq}/delete"), vec![], &[A, E]),
        ("GET", "/console/teacher".into(), vec![], &[A]),
        ("GET", format!("/console/teacher/{teacher}/download"), vec![], &[A]),
        ("GET", "/console/audit".into(), vec![], &[A]),
        ("GET", "/console/institutions".into(), vec![], &[A]),
        ("GET", "/console/institutions/onboard".into(), vec![], &[A]),
        ("GET", "/console/institutions/rotate".into(), vec![], &[A]),
        ("GET", "/console/institutions/nkust/edit".into(), vec![], &[A]),
        ("GET", "/console/institutions/nkust/revoke".into(), vec![], &[A]),
        ("GET", "/console/institutions/nkust/certificate".into(), vec![], &[A]),
        ("POST", "/console/news".into(), news_fields.clone(), &[A, E]),
        ("POST", format!("/console/news/{news}"), news_fields, &[A, E]),
        ("POST", "/console/faq".into(), faq_fields.clone(), &[A, E]),
        ("POST", format!("/console/faq/{faq}"), faq_fields, &[A, E]),
        // Without the teacher's fields: refused as incomplete, quickly, by whoever may issue.
        ("POST", "/console/teacher".into(), vec![("language", "zh")], &[A]),
        ("POST", "/console/institutions/onboard".into(), not_a_request.clone(), &[A]),
        ("POST", "/console/institutions/onboard/confirm".into(), not_a_request.clone(), &[A]),
        ("POST", "/console/institutions/rotate".into(), not_a_request.clone(), &[A]),
        ("POST", "/console/institutions/rotate/confirm".into(), not_a_request, &[A]),
        ("POST", "/console/institutions/nkust/edit".into(), details, &[A]),
        ("POST", "/console/institutions/nkust/contact".into(), contact, &[A]),
        ("POST", "/console/institutions/nkust/revoke".into(), no_such_key.clone(), &[A]),
        ("POST", "/console/institutions/nkust/revoke/confirm".into(), no_such_key, &[A]),
        ("POST", "/console/institutions/publish".into(), vec![], &[A]),
        ("POST", format!("/console/news/{news}/delete"), vec![], &[A, E]),
        ("POST", format!("/console/faq/{faq}/delete"), vec![], &[A, E]),
    ]
}

/// The routes the console declares, with their methods: `(method, "/news/{id}")`.
fn declared_routes() -> Vec<(&'static str, &'static str)> {
    let source = include_str!("../../src/ministry/console/mod.rs");
    let mut routes = Vec::new();
    for (at, m) in source.match_indices(".route(\"") {
        let rest = &source[at + m.len()..];
        let path = &rest[..rest.find('"').unwrap()];
        let line = &rest[..rest.find('\n').unwrap()];
        for (method, call) in [("GET", "get("), ("POST", "post(")] {
            if line.contains(call) {
                routes.push((method, path));
            }
        }
    }
    assert!(routes.len() > 10, "the routes were found: {routes:?}");
    routes
}

#[tokio::test]
async fn every_console_route_is_refused_to_the_accounts_that_may_not_use_it() {
    // The table must name every route and method the console has.
    let table = route_table(1, 1, 1);
    for (method, path) in declared_routes().into_iter().filter(|(_, p)| !matches!(*p, "/login" | "/logout")) {
        let pattern = format!("/console{}", if path == "/" { "" } else { path })
            .replace("{id}", "1")
            .replace("{institution}", "nkust");
        assert!(
            table.iter().any(|(m, p, _, _)| *m == method && *p == pattern),
            "{method} {path} is missing from the table"
        );
    }

    for user in [ADMIN, EDITOR, REGISTRAR, "university session", "anonymous"] {
        let site = ConsoleSite::start(FULL).await;
        let news = site
            .store
            .save_content(
                &dcert_store::NewsItem {
                    id: 0,
                    published_on: "2025-07-01".into(),
                    title_zh: "消息".into(),
                    title_en: "News".into(),
                    body_zh: "內容".into(),
                    body_en: "Text".into(),
                },
                "test",
                1,
                |_| crate::support::system("news_add"),
            )
            .await
            .unwrap();
        let faq = site.store.faq().await.unwrap()[0].id;
        onboard_directly(&site.store, 10).await;
        let teacher = teacher_file_directly(&site.store).await;
        let browser = match user {
            "anonymous" => site.visitor().await,
            // The university console's kind of session, for the registrar: not a Ministry session.
            "university session" => site.planted(REGISTRAR, "staff").await,
            REGISTRAR => {
                // The registrar's password is right, but this is not its console.
                let v = site.visitor().await;
                let r =
                    v.post("/console/login", &[("username", REGISTRAR), ("password", &password_of(REGISTRAR))]).await;
                assert_eq!(r.status, StatusCode::FORBIDDEN, "a university account does not sign in here");
                assert!(r.cookie("moe_session").is_none());
                // Even holding a Ministry session, the role is refused.
                site.planted(REGISTRAR, "ministry").await
            }
            _ => site.signed_in(user).await,
        };
        for (method, path, fields, allowed) in route_table(news, faq, teacher) {
            let r = match method {
                "GET" => browser.get(&path).await,
                _ => browser.post(&path, &fields).await,
            };
            let ministry_session = !matches!(user, "anonymous" | "university session");
            check_route(&r, user, &format!("{method} {path}"), ministry_session, allowed.contains(&user));
        }
    }
}

#[tokio::test]
async fn the_menu_shows_each_role_only_its_pages_and_the_editor_starts_at_the_news() {
    let site = ConsoleSite::start(FULL).await;
    let admin = site.signed_in(ADMIN).await;
    let home = admin.get("/console").await.text();
    for link in
        ["/console/news", "/console/faq", "/console/teacher", "/console/institutions", "/console/audit", "驗證統計"]
    {
        assert!(home.contains(link), "the administrator's menu has {link}");
    }
    let editor = site.signed_in(EDITOR).await;
    let home = editor.get("/console").await;
    assert_eq!(home.location(), Some("/console/news"));
    let news = editor.get("/console/news").await.text();
    assert!(news.contains("/console/faq") && news.contains("moe-editor name (教育部網站編輯)"));
    assert!(!news.contains("/console/teacher") && !news.contains("/console/audit"), "{news}");
    assert!(!news.contains("/console/institutions") && !news.contains("發證單位管理"), "{news}");
    let r = editor.post("/console/logout", &[]).await;
    assert_eq!(r.location(), Some("/console/login"));
    assert_eq!(editor.get("/console/news").await.location(), Some("/console/login"), "signed out for good");
}

#[tokio::test]
async fn the_university_console_refuses_a_ministry_account_in_its_database() {
    let app = crate::support::TestApp::new().await;
    let hash = dcert_web::auth::hash_password(&password_of(ADMIN));
    let admin = crate::support::account(ADMIN, "教育部", &hash, Role::Ministry(MinistryRole::Admin), None);
    app.store.create_staff(&admin, &crate::support::system("add_staff")).await.unwrap();
    let v = app.visitor().await;
    let r = v.post("/console/login", &[("username", ADMIN), ("password", &password_of(ADMIN))]).await;
    let session = r.cookie("session");
    let b = crate::support::Client { app: &app, csrf: r.cookie("csrf").unwrap_or(v.csrf.clone()), session, lang: None };
    for path in ["/console", "/console/graduates", "/console/audit", "/console/policy"] {
        let r = b.get(path).await;
        assert!(
            r.status == StatusCode::FORBIDDEN || r.location() == Some("/console/login"),
            "{path}: {} {:?}",
            r.status,
            r.location()
        );
    }
}

// ----- CSRF and the login limit -----

#[tokio::test]
async fn a_console_form_without_the_sessions_token_is_refused_and_changes_nothing() {
    let site = ConsoleSite::start(FULL).await;
    let visitor = site.visitor().await;
    let no_token = visitor.post_raw("/console/login", &[("username", ADMIN), ("password", &password_of(ADMIN))]).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN, "sign-in needs the token too");
    let stale = visitor.csrf.clone();
    let admin = site.signed_in(ADMIN).await;
    let fields = news_form();
    let missing = admin.post_raw("/console/news", &fields).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert!(missing.text().contains("表單已過期或來源不明"));
    let forged = csrf_first("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &fields);
    assert_eq!(admin.post_raw("/console/news", &forged).await.status, StatusCode::FORBIDDEN);
    // The visitor's token from before sign-in no longer works.
    let old = csrf_first(&stale, &fields);
    let before = Browser { site: &site, csrf: stale.clone(), session: admin.session.clone(), lang: "zh" };
    assert_eq!(before.post_raw("/console/news", &old).await.status, StatusCode::FORBIDDEN);
    let faq = site.store.faq().await.unwrap()[0].id;
    assert_eq!(admin.post_raw(&format!("/console/faq/{faq}/delete"), &[]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(admin.post_raw("/console/teacher", &teacher_form("zh", "")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(admin.post_raw("/console/institutions/publish", &[]).await.status, StatusCode::FORBIDDEN);
    let json = String::from_utf8(request("nkust", &nkust(), &Keys::new(10)).to_json()).unwrap();
    let r = admin.post_raw("/console/institutions/onboard/confirm", &[("request", &json)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(admin.post_raw("/console/logout", &[]).await.status, StatusCode::FORBIDDEN);
    assert!(site.store.news(10).await.unwrap().is_empty(), "no news was added");
    assert_eq!(
        site.store.faq().await.unwrap().len(),
        dcert_web::ministry::guide_faq().len(),
        "no question was deleted"
    );
    assert!(site.store.registry_log(0, 10).await.unwrap().is_empty(), "nothing was issued");
    assert!(site.store.institutions().await.unwrap().is_empty(), "no institution was onboarded");
    assert!(site.store.latest_trust_list().await.unwrap().is_none(), "no trust list was published");
    assert_eq!(admin.get("/console").await.status, StatusCode::OK, "still signed in");
    // With the session's token, the same form goes through.
    assert_eq!(admin.post("/console/news", &fields).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn ministry_sign_ins_are_refused_with_429_after_five_failures_even_with_the_right_password() {
    let site = ConsoleSite::start(FULL).await;
    let v = site.visitor().await;
    for _ in 0..5 {
        let r = v.post("/console/login", &[("username", ADMIN), ("password", "wrong")]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(r.text().contains("帳號或密碼錯誤"));
    }
    let r = v.post("/console/login", &[("username", ADMIN), ("password", &password_of(ADMIN))]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.cookie("moe_session").is_none());
    let actions = site.audit_actions().await;
    assert_eq!(actions.iter().filter(|(_, a)| a == "login_failed").count(), 5);
    assert!(actions.contains(&(ADMIN.into(), "login_rate_limited".into())));
    // Another account from elsewhere is not held back by this one's failures.
    site.signed_in(EDITOR).await;
}

// ----- news and FAQ -----

#[tokio::test]
async fn news_added_edited_and_deleted_in_the_console_shows_on_the_public_news_page() {
    let site = ConsoleSite::start(FULL).await;
    let editor = site.signed_in(EDITOR).await;
    let form = editor.get("/console/news/new").await;
    assert!(form.text().contains("name=\"title_en\""));
    let no_english = editor.post("/console/news", &changed(news_form(), &[("title_en", ""), ("body_en", "  ")])).await;
    assert_eq!(no_english.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_english.text().contains("標題（英文）：必填。"), "{}", no_english.text());
    assert!(no_english.text().contains("驗證服務上線"), "what was typed is kept");
    let bad_date = editor.post("/console/news", &changed(news_form(), &[("published_on", "2025-02-30")])).await;
    assert_eq!(bad_date.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_date.text().contains("發布日期：請以 YYYY-MM-DD 填寫有效的日期。"));
    assert!(site.store.news(10).await.unwrap().is_empty(), "nothing saved");

    let added = editor.post("/console/news", &news_form()).await;
    assert_eq!((added.status, added.location()), (StatusCode::SEE_OTHER, Some("/console/news?done=added")));
    assert!(site.public("/news", "zh").await.contains("驗證服務上線"));
    assert!(site.public("/news", "en").await.contains("Certificates can be verified from today."));
    let id = site.store.news(10).await.unwrap()[0].id;
    assert!(editor.get("/console/news?done=added").await.text().contains("已新增。"));

    let edit = editor.get(&format!("/console/news/{id}")).await.text();
    assert!(edit.contains("value=\"Verification is open\""), "the form holds the item");
    let edited = [
        ("published_on", "2025-07-02"),
        ("title_zh", "驗證服務正式上線"),
        ("title_en", "Verification is open for everyone"),
    ];
    let saved = editor.post(&format!("/console/news/{id}"), &changed(news_form(), &edited)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let public = site.public("/news", "zh").await;
    assert!(public.contains("驗證服務正式上線") && public.contains("114/07/02"));
    assert!(site.public("/news", "en").await.contains("Verification is open for everyone"));

    let confirm = editor.get(&format!("/console/news/{id}/delete")).await.text();
    assert!(confirm.contains("確定要刪除這則消息嗎") && confirm.contains("驗證服務正式上線"));
    assert!(site.public("/news", "zh").await.contains("驗證服務正式上線"), "asking deletes nothing");
    let deleted = editor.post(&format!("/console/news/{id}/delete"), &[]).await;
    assert_eq!(deleted.location(), Some("/console/news?done=deleted"));
    assert!(!site.public("/news", "zh").await.contains("驗證服務正式上線"));
    assert_eq!(editor.get(&format!("/console/news/{id}")).await.status, StatusCode::NOT_FOUND);

    let actions = site.audit_actions().await;
    for action in ["news_add", "news_edit", "news_delete", "login"] {
        assert!(actions.contains(&(EDITOR.into(), action.into())), "{action} is in the audit log: {actions:?}");
    }
}

#[tokio::test]
async fn a_faq_edited_added_and_deleted_in_the_console_shows_on_the_public_faq_page() {
    let site = ConsoleSite::start(FULL).await;
    let editor = site.signed_in(EDITOR).await;
    let first = site.store.faq().await.unwrap()[0].clone();
    let saved = editor
        .post(
            &format!("/console/faq/{}", first.id),
            &[
                ("position", "1"),
                ("question_zh", "如何確認數位證書為真？"),
                ("question_en", "How do I know a certificate is genuine?"),
                ("answer_zh", &first.answer_zh),
                ("answer_en", &first.answer_en),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    assert!(site.public("/faq", "zh").await.contains("如何確認數位證書為真？"));
    assert!(site.public("/faq", "en").await.contains("How do I know a certificate is genuine?"));
    let bad = editor
        .post(
            "/console/faq",
            &[("position", "zero"), ("question_zh", "問"), ("question_en", "Q"), ("answer_zh", ""), ("answer_en", "A")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().contains("順序須為 1 到 9999 的整數") && bad.text().contains("回答（中文）：必填。"));
    let last = dcert_web::ministry::guide_faq().len() + 1;
    let next = format!("value=\"{last}\"");
    assert!(editor.get("/console/faq/new").await.text().contains(&next), "a new question goes last");
    let added = editor
        .post(
            "/console/faq",
            &[
                ("position", &last.to_string()),
                ("question_zh", "驗證需要付費嗎？"),
                ("question_en", "Does verification cost anything?"),
                ("answer_zh", "不需要。"),
                ("answer_en", "No."),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    assert!(site.public("/faq", "zh").await.contains(&format!("Q{last}. 驗證需要付費嗎？")));
    let id = site.store.faq().await.unwrap().iter().find(|q| q.position == last as i64).unwrap().id;
    assert!(editor.get(&format!("/console/faq/{id}/delete")).await.text().contains("驗證需要付費嗎？"));
    editor.post(&format!("/console/faq/{id}/delete"), &[]).await;
    assert!(!site.public("/faq", "zh").await.contains("驗證需要付費嗎？"));
    let actions = site.audit_actions().await;
    for action in ["faq_edit", "faq_add", "faq_delete"] {
        assert!(actions.contains(&(EDITOR.into(), action.into())), "{action}");
    }
}

// ----- statistics -----

/// Posts a file to the public API as a program would.
async fn verify_api(site: &ConsoleSite, file: &[u8]) -> Reply {
    let request = Request::post("/api/v1/verify")
        .header(header::CONTENT_TYPE, "application/pdf")
        .body(Body::from(file.to_vec()))
        .unwrap();
    site.send(request).await
}

#[tokio::test]
async fn the_dashboard_counts_the_verifications_posted_to_the_api_and_shows_only_the_start_of_each_hash() {
    let site = ConsoleSite::start(FULL).await;
    let admin = site.signed_in(ADMIN).await;
    let (issued, _) = issue_teacher(&admin, &teacher_form("zh", "MOE-T-2025-000001")).await;
    let mut modified = issued.body.clone();
    let middle = modified.len() / 2;
    modified[middle] ^= 0x01;
    let not_a_certificate = b"%PDF-1.7\nnot really".to_vec();
    for file in [&issued.body, &issued.body, &modified, &not_a_certificate, &not_a_certificate] {
        assert_eq!(verify_api(&site, file).await.status, StatusCode::OK);
    }
    // The statistics are written in batches, off the request path.
    for _ in 0..100 {
        if site.store.recent_verifications(10).await.unwrap().len() == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let page = admin.get("/console").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    for (figure, n) in [("total", 5), ("success", 2), ("warning", 0), ("failure", 3), ("distinct", 3)] {
        let row = format!("<tr id=\"figure-{figure}\">");
        let at = html.find(&row).unwrap_or_else(|| panic!("{row} in {html}"));
        let cells = &html[at..at + html[at..].find("</tr>").unwrap()];
        assert!(
            cells.contains(&format!("<td class=\"recent\">{n}</td><td class=\"all\">{n}</td>")),
            "{figure}: {cells}"
        );
    }
    assert!(html.contains("檔案在核發後已被修改"), "a reason in words");
    assert!(html.contains("此檔案不是電子證書"));
    let sha = dcert_core::Sha256Digest::of(&issued.body).to_string();
    assert!(html.contains(&format!("{}…", &sha[..12])), "the start of the hash");
    assert!(!html.contains(&sha[..13]), "never more than twelve digits");
    assert!(html.contains("API"));
    let registry = &html[html.find("id=\"registry-teacher\"").unwrap()..];
    assert!(registry.starts_with("id=\"registry-teacher\"><th>電子教師證書</th><td>1</td>"), "{registry}");
    let english = Browser { lang: "en", ..admin };
    let html = english.get("/console").await.text();
    assert!(html.contains("The file was changed after it was issued") && html.contains("Verifications per day"));
}

// ----- teacher certificates -----

#[tokio::test]
async fn an_issued_teacher_certificate_verifies_as_a_teacher_credential_and_the_registry_has_its_record() {
    let site = ConsoleSite::start(FULL).await;
    let admin = site.signed_in(ADMIN).await;
    let page = admin.get("/console/teacher").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("由教育部簽署"));

    let (r, _) = issue_teacher(&admin, &teacher_form("zh", "")).await;
    let disposition = r.headers.get(header::CONTENT_DISPOSITION).unwrap().to_str().unwrap().to_owned();
    let records: Vec<_> = site.store.registry_log(0, 10).await.unwrap().into_iter().map(|(_, r)| r).collect();
    assert_eq!(records.len(), 1);
    let record = &records[0];
    let year = dcert_web::http::now().taiwan_date().year();
    let number = record.number.clone();
    assert!(number.starts_with(&format!("MOE-T-{year}-")) && number.len() == 17, "a new number: {number}");
    assert_eq!(disposition, format!("attachment; filename=\"{number}-zh-v1.pdf\""));
    assert_eq!(
        (record.institution.as_str(), record.event.as_str(), record.credential_type.as_str()),
        ("moe", "issued", "teacher")
    );
    assert_eq!((record.language.as_str(), record.version), ("zh", 1));
    assert_eq!(record.sha256, dcert_core::Sha256Digest::of(&r.body).to_string());

    let report = site.verify(&r.body).await;
    assert_eq!(report.outcome, Outcome::Success, "{}", report.summary);
    let registry = report.checks.iter().find(|c| c.name == verify::CheckName::RegistryStatus).unwrap();
    assert_eq!(registry.result, CheckResult::Pass, "the registry knows the file");
    let credential = report.credential.unwrap();
    assert_eq!(credential.credential_type, CredentialType::Teacher);
    assert_eq!(credential.certificate_number, number);
    let teacher = credential.teacher.unwrap();
    assert_eq!((teacher.name_zh.as_str(), teacher.subject_en.as_str()), ("林堃", "Mathematics"));
    assert_eq!(report.issuer.unwrap().name_zh, "教育部");

    // The English file of the same certificate takes its number; the same again is refused.
    issue_teacher(&admin, &teacher_form("en", &number)).await;
    let again = admin.post("/console/teacher", &teacher_form("en", &number)).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.text().contains("已核發"), "{}", again.text());
    assert_eq!(site.store.registry_log(0, 10).await.unwrap().len(), 2, "nothing more recorded");
    assert_eq!(site.store.teacher_certificates(None, 10).await.unwrap().len(), 2, "no file more kept");
    let filter = AuditFilter { action: Some("teacher_issue".into()), ..Default::default() };
    let audit = site.store.audit_log(&filter).await.unwrap();
    assert_eq!(audit.len(), 2);
    assert!(audit.iter().all(|e| e.actor == ADMIN && e.target == format!("certificate:{number}")));
    assert!(audit.iter().all(|e| !e.detail.contains("林堃") && !e.detail.contains("LIN")), "no names in the audit log");
}

#[tokio::test]
async fn an_issued_teacher_certificate_is_kept_listed_and_downloaded_again_byte_for_byte_after_a_lost_response() {
    let site = ConsoleSite::start(FULL).await;
    let admin = site.signed_in(ADMIN).await;
    let empty = admin.get("/console/teacher").await.text();
    assert!(empty.contains("id=\"no-issued\"") && empty.contains("尚未核發任何電子教師證書"), "{empty}");

    // The response of the issuance is lost: the browser never follows it to the file.
    let lost = admin.post("/console/teacher", &teacher_form("zh", "MOE-T-2025-000123")).await;
    assert_eq!(lost.status, StatusCode::SEE_OTHER, "{}", lost.text());
    let sent_to = lost.location().unwrap().to_owned();
    let records: Vec<_> = site.store.registry_log(0, 10).await.unwrap().into_iter().map(|(_, r)| r).collect();
    assert_eq!(records.len(), 1, "registered");
    let record = &records[0];

    // The teacher page lists it, with the start of its hash and a link to the file.
    let page = admin.get("/console/teacher").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    let kept = site.store.teacher_certificates(None, 10).await.unwrap();
    assert_eq!(kept.len(), 1);
    let id = kept[0].id;
    let at = html.find(&format!("<tr id=\"issued-{id}\">")).unwrap_or_else(|| panic!("the row in {html}"));
    let row = &html[at..at + html[at..].find("</tr>").unwrap()];
    for cell in ["<td>MOE-T-2025-000123</td>", "<td>中文</td>", "<td>1</td>", &format!("<td>{ADMIN}</td>")] {
        assert!(row.contains(cell), "{cell} in {row}");
    }
    assert!(row.contains(&format!("<code>{}…</code>", &record.sha256[..12])), "the start of the hash: {row}");
    assert!(!html.contains(&record.sha256[..13]), "never more than twelve digits");
    assert!(!html.contains("林堃") && !html.contains("LIN, KUN"), "no holder's name in the list");
    let href = format!("/console/teacher/{id}/download");
    assert_eq!(sent_to, href, "the issuance sent the browser to the same file");
    assert!(row.contains(&format!("href=\"{href}\"")), "{row}");

    // Downloaded from the list: the file registered, byte for byte, and it verifies.
    let download = admin.get(&href).await;
    assert_eq!(download.status, StatusCode::OK, "{}", download.text());
    assert_eq!(download.headers.get(header::CONTENT_TYPE).unwrap(), "application/pdf");
    assert_eq!(
        download.headers.get(header::CONTENT_DISPOSITION).unwrap(),
        "attachment; filename=\"MOE-T-2025-000123-zh-v1.pdf\""
    );
    assert_eq!(dcert_core::Sha256Digest::of(&download.body).to_string(), record.sha256);
    assert_eq!(kept[0].sha256, record.sha256);
    let report = site.verify(&download.body).await;
    assert_eq!(report.outcome, Outcome::Success, "{}", report.summary);
    assert_eq!(report.credential.unwrap().certificate_number, "MOE-T-2025-000123");
    assert_eq!(admin.get(&href).await.body, download.body, "the same bytes every time");

    // Issuing it again is refused: the file to hand over is the one kept.
    let again = admin.post("/console/teacher", &teacher_form("zh", "MOE-T-2025-000123")).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.text().contains(&format!("<tr id=\"issued-{id}\">")), "the page still lists the file");
    assert_eq!(site.store.teacher_certificates(None, 10).await.unwrap().len(), 1);

    // The English file of it comes next; a search by number finds both, another number none.
    let (english, _) = issue_teacher(&admin, &teacher_form("en", "MOE-T-2025-000123")).await;
    let found = admin.get("/console/teacher?number=MOE-T-2025-000123").await.text();
    assert_eq!(found.matches("<tr id=\"issued-").count(), 2, "{found}");
    assert!(found.contains("<td>英文</td>"));
    let none = admin.get("/console/teacher?number=MOE-T-2025-000999").await.text();
    assert!(none.contains("查無此證書編號的電子教師證書") && !none.contains("<tr id=\"issued-"), "{none}");
    let english_record = site.store.registry_log(0, 10).await.unwrap().pop().unwrap().1;
    assert_eq!(dcert_core::Sha256Digest::of(&english.body).to_string(), english_record.sha256);

    assert_eq!(admin.get("/console/teacher/999/download").await.status, StatusCode::NOT_FOUND);
    let filter = AuditFilter { action: Some("teacher_download".into()), ..Default::default() };
    let audit = site.store.audit_log(&filter).await.unwrap();
    assert_eq!(audit.len(), 3, "every download is in the audit log");
    assert!(audit.iter().all(|e| e.actor == ADMIN && e.target == "certificate:MOE-T-2025-000123"));
    assert!(audit.iter().all(|e| !e.detail.contains("林堃") && !e.detail.contains("LIN")), "no names");
}

#[tokio::test]
async fn a_teacher_form_with_bad_dates_or_number_is_refused_and_nothing_is_issued() {
    let site = ConsoleSite::start(FULL).await;
    let admin = site.signed_in(ADMIN).await;
    let form =
        changed(teacher_form("zh", "not a number!"), &[("birth_date", "1990-13-01"), ("issue_date", "2999-01-01")]);
    let r = admin.post("/console/teacher", &form).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text();
    assert!(html.contains("證書編號限 1 到 64 個"), "{html}");
    assert!(html.contains("生日：請以 YYYY-MM-DD 填寫有效的日期。"), "{html}");
    assert!(html.contains("value=\"林堃\""), "what was typed is kept");
    let late = changed(teacher_form("zh", ""), &[("issue_date", "2999-01-01")]);
    assert!(admin.post("/console/teacher", &late).await.text().contains("發證日期不可晚於今天"));
    assert!(site.store.registry_log(0, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn without_an_issuer_kit_the_teacher_page_says_teacher_certificates_are_not_configured() {
    let site = ConsoleSite::start(Setup { kit: false, teacher: true, registry: true }).await;
    let admin = site.signed_in(ADMIN).await;
    let page = admin.get("/console/teacher").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.text().contains("電子教師證書尚未設定"));
    assert!(!page.text().contains("name=\"name_zh\""), "no form");
    let r = admin.post("/console/teacher", &teacher_form("zh", "")).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(site.store.registry_log(0, 10).await.unwrap().is_empty());

    let site = ConsoleSite::start(Setup { kit: true, teacher: false, registry: true }).await;
    let admin = site.signed_in(ADMIN).await;
    assert!(admin.get("/console/teacher").await.text().contains("未授權教育部核發電子教師證書"));
    let r = admin.post("/console/teacher", &teacher_form("zh", "")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "a file that would not verify is not issued");
    assert!(site.store.registry_log(0, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_audit_log_page_lists_the_consoles_changes_for_the_administrator() {
    let site = ConsoleSite::start(FULL).await;
    let editor = site.signed_in(EDITOR).await;
    let faq = site.store.faq().await.unwrap()[0].id;
    editor.post(&format!("/console/faq/{faq}/delete"), &[]).await;
    let admin = site.signed_in(ADMIN).await;
    let log = admin.get("/console/audit?action=faq_delete").await;
    assert_eq!(log.status, StatusCode::OK);
    let html = log.text();
    assert!(html.contains(&format!("faq:{faq}")) && html.contains("ministry_editor"), "{html}");
    assert!(!html.contains(">login<"), "filtered");
    assert!(admin.get("/console/audit").await.text().contains(">login<"));
}

// ----- logs -----

#[tokio::test(flavor = "current_thread")]
async fn the_logs_of_a_whole_console_flow_hold_no_teacher_name_or_password() {
    let (captured, _guard) = crate::support::capture_logs();
    let site = ConsoleSite::start(FULL).await;
    let v = site.visitor().await;
    v.post("/console/login", &[("username", ADMIN), ("password", "wrong-secret-typed")]).await;
    v.post("/console/login", &[("username", "wrong-secret-as-name"), ("password", "x")]).await;
    let admin = site.signed_in(ADMIN).await;
    let (issued, _) = issue_teacher(&admin, &teacher_form("zh", "")).await;
    admin.get("/console/teacher").await;
    let missing_glyph = changed(teacher_form("zh", ""), &[("name_zh", "林\u{0378}")]);
    let r = admin.post("/console/teacher", &missing_glyph).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "a character no font has: {}", r.text());
    verify_api(&site, &issued.body).await;
    admin.post("/console/news", &news_form()).await;
    admin.get("/console").await;
    admin.get("/console/audit").await;
    admin.post("/console/logout", &[]).await;
    let text = captured.text();
    assert!(!text.is_empty(), "something was logged");
    for secret in ["林堃", "LIN, KUN", "LIN%2C", "1990-09-09", "中字第1140042號", "secret-password", "wrong-secret"]
    {
        assert!(!text.contains(secret), "the log holds {secret}:\n{text}");
    }
    let audit = site.store.audit_log(&AuditFilter::default()).await.unwrap();
    for e in &audit {
        let all = format!("{} {} {} {}", e.actor, e.target, e.detail, e.action);
        assert!(!all.contains("林堃") && !all.contains("secret"), "the audit log holds {all}");
    }
}
