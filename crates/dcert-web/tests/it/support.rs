//! A test university: a fresh SQLite store with two campuses, staff of every role, three
//! graduates imported through the real CSV path, real keys and fonts, and helpers to send
//! requests as a signed-in person, through the router (no socket) or over a real port.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, Response, StatusCode, header};
use dcert_core::issue::Issuance;
use dcert_core::issue::IssuerKit;
use dcert_core::model::{DegreeLevel, Language};
use dcert_core::pdf::FontBook;
use dcert_core::trust::{Accreditation, IssuerEntry, TrustList};
use dcert_store::{Campus, Graduate, MinistryStore, Role, UniversityRole, UniversityStore};
use dcert_testkit::Multipart;
use dcert_testkit::pki::{Registration, Root};
use dcert_testkit::sample::{NKUST_EN, NKUST_ZH};
use dcert_web::ministry::RegistryKeys;
use dcert_web::university::worker::{StoreRegistry, Worker};
use dcert_web::university::{AppState, SiteConfig, university_router};
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tower::ServiceExt;

pub const REGISTRY: &str = "http://localhost:8081";

pub fn fonts() -> Arc<FontBook> {
    dcert_testkit::sample::fonts().clone()
}

/// NKUST's kit and a trust list that names it, valid from 2024 to 2034.
pub fn keys() -> (IssuerKit, TrustList) {
    let (kit, trust, _) = keys_and_trust_json();
    (kit, trust)
}

/// The signed trust list of [`keys`], as the Ministry publishes it.
pub fn trust_json() -> Vec<u8> {
    keys_and_trust_json().2
}

fn keys_and_trust_json() -> (IssuerKit, TrustList, Vec<u8>) {
    let root = root();
    let accreditation = Accreditation {
        credential_types: vec![dcert_core::CredentialType::Degree],
        degree_levels: vec![DegreeLevel::Bachelor, DegreeLevel::Master],
    };
    let (kit, entry) = institution(&root, "nkust", NKUST_ZH, NKUST_EN, 10, accreditation);
    let (trust, json) = root.trust_list(REGISTRY, vec![entry]);
    (kit, trust, json)
}

/// The test Ministry root: its CA (2024 to 2044), the trust list signer and the status signer
/// (2024 to 2034), from the seeds 1, 2 and 3.
pub fn root() -> Root {
    Root::from_seeds(1, 2, 3)
}

/// The Ministry's site over `store`, serving `trust_list` (one of [`root`]'s lists) and keeping
/// the transparency log with the root's log key, as a production site does.
pub fn ministry_site(
    store: dcert_store::MinistryStore,
    trust_list: Vec<u8>,
    config: dcert_web::ministry::MinistryConfig,
) -> dcert_web::ministry::MinistryState {
    dcert_web::ministry::MinistryState::new(store, trust_list, config).unwrap().with_log_key(root().log_key).unwrap()
}

/// The keys of [`root`], as the Ministry's site holds them.
pub fn root_keys() -> RegistryKeys {
    let root = root();
    RegistryKeys {
        ca: root.key,
        root_cert: root.cert,
        signer: root.signer_key,
        signer_cert: root.signer_cert,
        registry_url: REGISTRY.into(),
        status_cert: Some(root.status_cert),
        log: Some(dcert_core::trust::LogDescriptor::of(REGISTRY, &root.log_key)),
    }
}

/// An institution's kit and its trust list entry: a credential key from `seed`, a PDF signing
/// key from `seed + 1` certified by `root`, both valid from June 2024 to June 2034.
pub fn institution(
    root: &Root,
    id: &str,
    name_zh: &str,
    name_en: &str,
    seed: u8,
    accreditation: Accreditation,
) -> (IssuerKit, IssuerEntry) {
    let registration =
        Registration { id, name_zh, name_en, accreditation, registry: REGISTRY, valid_until: "2034-06-01T00:00:00Z" };
    root.institution(&registration, seed)
}

pub use dcert_testkit::TempDir;

/// The roster of the test university: two graduates in 建工, one in 第一, all of 113-2.
pub const ROSTER: &str = "\u{feff}student_number,term,campus,name_zh,name_en,birth_date,college_zh,college_en,department_zh,department_en,degree_level,degree_zh,degree_en,graduation_date,diploma_number,permanent_email,minor_zh,minor_en\r\n\
C110152301,113-2,建工,王𪚥,\"WANG, HSIAO-MING\",2002-03-14,電資學院,College of Electrical Engineering and Computer Science,電子工程系,Department of Electronic Engineering,bachelor,工學學士,Bachelor of Science in Engineering,2025-06-30,(114)高科大電子學字第012345號,wang.hsiao-ming@example.org,資訊工程系,Department of Computer Science and Information Engineering\r\n\
C110152302,113-2,建工,陳怡君,\"CHEN, YI-CHUN\",2002-05-01,電資學院,College of Electrical Engineering and Computer Science,電機工程系,Department of Electrical Engineering,bachelor,工學學士,Bachelor of Science in Engineering,2025-06-30,(114)高科大電機學字第000002號,chen.yichun@example.org,,\r\n\
C110152303,113-2,第一,林志明,\"LIN, CHIH-MING\",2002-07-09,管理學院,College of Management,會計系,Department of Accounting,bachelor,商學學士,Bachelor of Business Administration,2025-06-30,(114)高科大會計學字第000003號,lin.chihming@example.org,,\r\n";

pub fn site() -> SiteConfig {
    SiteConfig {
        institution_id: "nkust".into(),
        school_zh: NKUST_ZH.into(),
        school_en: NKUST_EN.into(),
        email_domain: "nkust.edu.tw".into(),
        public_url: "http://localhost:8080".into(),
        verify_site: REGISTRY.into(),
        phone: "(07)601-1000".into(),
        registrar_extension: "31113".into(),
        secure_cookies: None,
        trusted_proxies: Default::default(),
        max_upload_bytes: 1 << 20,
    }
}

pub struct TestApp {
    pub store: UniversityStore,
    pub ministry: MinistryStore,
    pub state: AppState,
    pub trust: TrustList,
    _dir: TempDir,
}

pub fn password_of(user: &str) -> String {
    format!("password-of-{user}")
}

impl TestApp {
    pub async fn new() -> TestApp {
        let dir = TempDir::new("app");
        let store =
            UniversityStore::open(&format!("sqlite://{}", dir.0.join("university.db").display())).await.unwrap();
        let ministry = MinistryStore::open(&format!("sqlite://{}", dir.0.join("ministry.db").display())).await.unwrap();
        for (i, (code, en, ext)) in [("建工", "Jiangong", "51103"), ("第一", "First", "53103")].into_iter().enumerate()
        {
            store
                .upsert_campus(&Campus {
                    code: code.into(),
                    position: i as i64,
                    name_zh: format!("{code}校區"),
                    name_en: format!("{en} Campus"),
                    office_zh: "綜合業務處".into(),
                    office_en: "Office of General Affairs".into(),
                    extensions: ext.into(),
                })
                .await
                .unwrap();
        }
        let seeded = dcert_store::AuditEntry {
            at: 1,
            actor: "system".into(),
            role: "system".into(),
            action: "calendar_import".into(),
            target: "calendar".into(),
            detail: String::new(),
            ip: "-".into(),
        };
        store.upsert_calendar(&dcert_core::calendar::taiwan_official(), &seeded).await.unwrap();
        for (user, role, campus) in [
            ("registrar", Role::University(UniversityRole::Registrar), None),
            ("admin", Role::University(UniversityRole::Admin), None),
            ("office-jiangong", Role::University(UniversityRole::CampusOffice), Some("建工")),
            ("office-first", Role::University(UniversityRole::CampusOffice), Some("第一")),
        ] {
            let hash = dcert_web::auth::hash_password(&password_of(user));
            store.create_staff(&account(user, user, &hash, role, campus), &system("add_staff")).await.unwrap();
        }
        let limits = dcert_core::roster::Limits::default();
        let rows =
            dcert_core::roster::parse_roster(ROSTER.as_bytes(), &site().school_names(), &["建工", "第一"], &limits)
                .unwrap();
        store.import_graduates(&rows, 1, |_| crate::support::system("import_graduates")).await.unwrap();
        for r in &rows {
            let n = &r.record.student_number;
            store.set_graduate_password(n, &dcert_web::auth::hash_password(&password_of(n)), 1).await.unwrap();
        }
        let (kit, trust) = keys();
        let worker = Worker {
            store: store.clone(),
            issuance: Arc::new(Issuance { kit, fonts: fonts() }),
            registry: Arc::new(StoreRegistry { store: ministry.clone() }),
            mailer: None,
            verify_site: REGISTRY.into(),
            parallelism: 2,
        };
        let state = AppState::new(store.clone(), site(), worker);
        TestApp { store, ministry, state, trust, _dir: dir }
    }

    pub async fn graduate(&self, number: &str) -> Graduate {
        self.store.graduate_terms(number).await.unwrap().remove(0)
    }

    /// Sends a request through the router.
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = university_router(self.state.clone()).oneshot(request).await.unwrap();
        Reply::read(response).await
    }

    /// A visitor with a CSRF cookie (from a first page) and no session.
    pub async fn visitor(&self) -> Client<'_> {
        let reply = self.send(Request::get("/").body(Body::empty()).unwrap()).await;
        let csrf = reply.cookie("csrf").expect("the first page sets a CSRF cookie");
        Client { app: self, csrf, session: None, lang: None }
    }

    /// A member of staff, signed in.
    pub async fn staff(&self, user: &str) -> Client<'_> {
        self.signed_in("/console/login", user).await
    }

    /// A graduate, signed in.
    pub async fn graduate_client(&self, number: &str) -> Client<'_> {
        self.signed_in("/login", number).await
    }

    /// `user`, signed in with their password on the form at `login`.
    async fn signed_in(&self, login: &str, user: &str) -> Client<'_> {
        let mut c = self.visitor().await;
        let r = c.post(login, &[("username", user), ("password", &password_of(user))]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{user} signs in: {}", r.text());
        c.session = Some(r.cookie("session").expect("a session cookie"));
        c.csrf = r.cookie("csrf").expect("a new CSRF token at sign-in");
        c
    }
}

/// The day in Taiwan now, as the console's date fields take it.
pub fn today() -> String {
    dcert_web::http::now().taiwan_date().to_string()
}

/// The labels of the eight fields the portal shows a graduate.
pub const EIGHT_FIELDS: [&str; 8] = [
    "01. 姓名",
    "02. 生日",
    "03. 學號",
    "04. 畢業學校",
    "05. 畢業學院",
    "06. 畢業系所",
    "07. 其他資訊",
    "08. 電子信箱",
];

/// Confirms `number`, records the Chinese collection of the paper diploma as the registrar and
/// runs the worker; returns the certificate's id.
pub async fn issue_for(app: &TestApp, number: &str) -> i64 {
    let g = app.graduate(number).await;
    app.store.confirm_graduate(g.id, 1, &crate::support::system("confirm_record")).await.unwrap();
    let registrar = app.staff("registrar").await;
    let r = registrar
        .post(&format!("/console/graduates/{}/diploma", g.id), &[("language", "zh"), ("date", &today())])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let round = app.state.worker.issue_due(dcert_web::http::now(), 100, &|_| {}).await.unwrap();
    assert_eq!(round.issued, 1);
    app.store.latest_certificate(g.id, Language::Zh).await.unwrap().unwrap().id
}

/// Checks a console's answer to `who` at `route` (`METHOD /path`) in a table of who may do
/// what: without a session of the console's kind, the sign-in page; with one, the page where
/// the table `allowed` it and 403 where it did not.
pub fn check_route(r: &Reply, who: &str, route: &str, session: bool, allowed: bool) {
    if !session {
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{who}: {route} without a session of this console");
        assert_eq!(r.location(), Some("/console/login"), "{who}: {route}");
    } else if allowed {
        assert_ne!(r.status, StatusCode::FORBIDDEN, "{who} may {route}: {}", r.text());
        assert_ne!(r.location(), Some("/console/login"), "{who} {route}");
        assert!(r.status.as_u16() < 500, "{who} {route}: {}", r.text());
    } else {
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{who} may not {route}");
    }
}

/// A reply, read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    /// `response` with its body (empty if the connection broke off before its end).
    pub async fn read<B: http_body::Body>(response: Response<B>) -> Reply {
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
        Reply { status: parts.status, headers: parts.headers, body }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The whole `Set-Cookie` line of the cookie `name`.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
            let (k, _) = v.split_once('=')?;
            (k == name).then(|| v.to_owned())
        })
    }

    /// The value the reply sets the cookie `name` to.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let line = self.set_cookie(name)?;
        Some(line.split_once('=')?.1.split(';').next().unwrap_or_default().to_owned())
    }

    pub fn location(&self) -> Option<&str> {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok())
    }
}

/// A router served on a free port of the loopback interface, as `axum::serve` serves it (with
/// each connection's address), until dropped.
pub struct Served {
    /// Where it is served: `http://127.0.0.1:PORT`.
    pub base: String,
    server: tokio::task::AbortHandle,
}

impl Served {
    pub async fn start(router: Router) -> Served {
        Served::start_with(|_| router).await
    }

    /// Serves the router `make` gives for the address it is served at.
    pub async fn start_with(make: impl FnOnce(&str) -> Router) -> Served {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let service = make(&base).into_make_service_with_connect_info::<SocketAddr>();
        let server = tokio::spawn(axum::serve(listener, service).into_future()).abort_handle();
        Served { base, server }
    }

    /// Sends `request` (its address a path) to the server over a new connection.
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let client: HttpClient<HttpConnector, Body> =
            HttpClient::builder(TokioExecutor::new()).build(HttpConnector::new());
        let (mut parts, body) = request.into_parts();
        parts.uri = format!("{}{}", self.base, parts.uri).parse().unwrap();
        let response = client.request(Request::from_parts(parts, body)).await.expect("the site answers");
        Reply::read(response).await
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub struct Client<'a> {
    pub app: &'a TestApp,
    pub csrf: String,
    pub session: Option<String>,
    /// The language the visitor chose (the `lang` cookie), if any.
    pub lang: Option<&'static str>,
}

impl Client<'_> {
    fn cookies(&self) -> String {
        let mut c = format!("csrf={}", self.csrf);
        if let Some(s) = &self.session {
            c.push_str(&format!("; session={s}"));
        }
        if let Some(lang) = self.lang {
            c.push_str(&format!("; lang={lang}"));
        }
        c
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.app.send(Request::get(path).header(header::COOKIE, self.cookies()).body(Body::empty()).unwrap()).await
    }

    /// Posts a form with the client's CSRF token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        self.post_raw(path, &csrf_first(&self.csrf, fields)).await
    }

    /// Posts exactly these fields.
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        self.app.send(form_post(path, self.cookies(), fields)).await
    }

    /// Posts a multipart form with the CSRF token and one file.
    pub async fn upload(&self, path: &str, file: &[u8]) -> Reply {
        let form = Multipart::new().field("csrf", self.csrf.as_bytes()).file("file", "f.csv", "text/csv", file);
        self.app.send(multipart_post(path, self.cookies(), form.finish())).await
    }
}

/// `fields` after the CSRF token `csrf`, as the sites' forms post them.
pub fn csrf_first<'a>(csrf: &'a str, fields: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = vec![("csrf", csrf)];
    all.extend_from_slice(fields);
    all
}

/// A post of the form `fields` (exactly these) to `path`, with the cookies `cookies`.
pub fn form_post(path: &str, cookies: String, fields: &[(&str, &str)]) -> Request<Body> {
    Request::post(path)
        .header(header::COOKIE, cookies)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form(fields)))
        .unwrap()
}

/// A post of the multipart body `form` (its Content-Type and bytes) to `path`, with the cookies
/// `cookies`.
pub fn multipart_post(path: &str, cookies: String, form: (String, Vec<u8>)) -> Request<Body> {
    let (content_type, body) = form;
    Request::post(path)
        .header(header::COOKIE, cookies)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap()
}

/// `fields` as an `application/x-www-form-urlencoded` body.
pub fn form(fields: &[(&str, &str)]) -> String {
    fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

/// A multipart body of `(field, file name, bytes)`; a field with a file name is a PDF file.
pub fn multipart(fields: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let mut form = Multipart::new();
    for (name, file, bytes) in fields {
        form = match file {
            Some(file) => form.file(name, file, "application/pdf", bytes),
            None => form.field(name, bytes),
        };
    }
    form.finish()
}

pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A writer that keeps what the log says.
#[derive(Clone, Default)]
pub struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl Captured {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures every log line of this thread, at every level, until the guard is dropped.
pub fn capture_logs() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

/// An audit entry of `action` by the tests themselves.
pub fn system(action: &str) -> dcert_store::AuditEntry {
    dcert_store::AuditEntry::local(1, "test", "system", action, "-", "")
}

/// A console account `username` (`name`, `role`, `campus`) with the password hash `hash`.
pub fn account<'a>(
    username: &'a str,
    name: &'a str,
    hash: &'a str,
    role: Role,
    campus: Option<&'a str>,
) -> dcert_store::NewAccount<'a> {
    dcert_store::NewAccount { username, display_name: name, password_hash: hash, role, campus, at: 1 }
}

/// The first page of `pdf` as a 150 dpi PNG, as a scan or a phone's photo of the printout gives
/// it (Poppler's pdftoppm, which must be installed: a missing tool fails the test).
pub fn picture_of(pdf: &[u8]) -> Vec<u8> {
    let dir = dcert_testkit::TempDir::new("picture");
    std::fs::write(dir.join("c.pdf"), pdf).unwrap();
    let out = std::process::Command::new("pdftoppm")
        .args(["-r", "150", "-gray", "-png", "-singlefile", "c.pdf", "page"])
        .current_dir(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("pdftoppm is needed (Debian package poppler-utils; scripts/test installs it): {e}"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::read(dir.join("page.png")).unwrap()
}

/// `html`'s text with the escapes askama writes read back.
pub fn unescape(html: &str) -> String {
    [("&#60;", "<"), ("&lt;", "<"), ("&#62;", ">"), ("&gt;", ">"), ("&#34;", "\""), ("&quot;", "\""), ("&#39;", "'")]
        .iter()
        .fold(html.to_owned(), |text, (escape, c)| text.replace(escape, c))
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}
