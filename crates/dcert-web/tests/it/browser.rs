//! The portal and the console in a real browser: the app served on a real port, headless
//! Chromium driven through chromedriver. Each test is one whole flow as a person clicks it, and
//! saves a screenshot of its key page to `target/screenshots/<test>.png`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dcert_core::model::Language;
use dcert_store::CertificateStatus;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use dcert_testkit::free_port;

use crate::support::{EIGHT_FIELDS, Served, TempDir, TestApp, issue_for, password_of, today};

const G1: &str = "C110152301";
const G3: &str = "C110152303";

/// How long to wait for anything the page should show.
const WAIT: Duration = Duration::from_secs(30);

/// Where screenshots go: `target/screenshots` of the workspace.
pub(crate) fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}

/// A plain HTTP request to chromedriver, usable where nothing can be awaited (in `Drop`).
/// Returns the response body (chromedriver answers with a Content-Length and may keep the
/// connection open, so the body is read by its length).
fn http(port: u16, method: &str, path: &str) -> Option<String> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(15))).ok()?;
    stream.set_write_timeout(Some(Duration::from_secs(5))).ok()?;
    let request =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    loop {
        if let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&response[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if let Some(length) = length
                && response.len() >= end + 4 + length
            {
                return String::from_utf8(response[end + 4..end + 4 + length].to_vec()).ok();
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => response.extend_from_slice(&chunk[..n]),
            Err(_) => return None,
        }
    }
    let end = response.windows(4).position(|w| w == b"\r\n\r\n")?;
    String::from_utf8(response[end + 4..].to_vec()).ok()
}

/// A chromedriver child process with the Chromium it starts. Dropping it ends the browser
/// session (if still open) and kills chromedriver's whole process group.
struct Driver {
    child: Child,
    port: u16,
    /// The WebDriver session, while it is open.
    session: Option<String>,
    /// Chromium's profile, removed after the browser has quit.
    profile: TempDir,
}

impl Driver {
    /// Starts chromedriver on a free port and waits until it says it is ready.
    async fn start(name: &'static str) -> Driver {
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port();
            let child = Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .expect("chromedriver runs (apt install chromium-driver)");
            let mut driver = Driver { child, port, session: None, profile: TempDir::new("chromium") };
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = driver.child.try_wait() {
                    last_error = format!("chromedriver exited with {status}");
                    break;
                }
                if http(port, "GET", "/status").is_some_and(|body| body.contains("\"ready\":true")) {
                    return driver;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if last_error.is_empty() {
                last_error = "chromedriver did not become ready in 15 s".into();
            }
        }
        panic!("{name}: {last_error}");
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The capabilities of a fresh headless Chromium; with `camera`, its camera films that video
    /// (a YUV4MPEG2 file) and the page may use it without asking.
    fn capabilities(&self, javascript: bool, camera: Option<&Path>) -> serde_json::Map<String, Value> {
        let mut caps = json!({
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--disable-quic",
                    "--window-size=1280,1000",
                    // A browser set up in Taiwan: the sites follow its Accept-Language.
                    "--lang=zh-TW",
                    "--accept-lang=zh-TW,zh",
                    format!("--user-data-dir={}", self.profile.0.display()),
                ],
                "prefs": { "intl.accept_languages": "zh-TW,zh" },
            },
        });
        if !javascript {
            caps["goog:chromeOptions"]["prefs"]["profile.managed_default_content_settings.javascript"] = json!(2);
        }
        if let Some(video) = camera {
            let args = caps["goog:chromeOptions"]["args"].as_array_mut().unwrap();
            args.push(json!("--use-fake-ui-for-media-stream"));
            args.push(json!("--use-fake-device-for-media-stream"));
            args.push(json!(format!("--use-file-for-fake-video-capture={}", video.display())));
        }
        caps.as_object().unwrap().clone()
    }

    /// Saves what the browser shows, through chromedriver directly (nothing can be awaited).
    fn screenshot_now(&self, session: &str, file: &str) {
        use base64ct::{Base64, Encoding};
        let Some(body) = http(self.port, "GET", &format!("/session/{session}/screenshot")) else { return };
        let Ok(reply) = serde_json::from_str::<Value>(&body) else { return };
        let Some(png) = reply["value"].as_str().and_then(|b| Base64::decode_vec(b).ok()) else { return };
        let _ = std::fs::write(screenshot_dir().join(file), png);
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            let _ = http(self.port, "DELETE", &format!("/session/{session}"));
        }
        // Chromedriver leads its own process group: anything left of Chromium goes with it.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The app on a real port and a browser signed in to nothing yet.
pub(crate) struct Browser {
    pub(crate) client: Client,
    pub(crate) name: &'static str,
    site: Served,
    driver: Driver,
}

impl Browser {
    /// Serves `app` on a free port and opens a fresh headless Chromium.
    pub(crate) async fn open(app: &TestApp, name: &'static str) -> Browser {
        Browser::open_router(dcert_web::university::university_router(app.state.clone()), name, true).await
    }

    /// Serves `router` on a free port and opens a fresh headless Chromium, with JavaScript on or off.
    pub(crate) async fn open_router(router: axum::Router, name: &'static str, javascript: bool) -> Browser {
        Browser::open_router_with(router, name, javascript, None).await
    }

    /// [`Browser::open_router`], the browser's camera filming the video `camera` if given.
    pub(crate) async fn open_router_with(
        router: axum::Router,
        name: &'static str,
        javascript: bool,
        camera: Option<&Path>,
    ) -> Browser {
        let site = Served::start(router).await;
        let mut driver = Driver::start(name).await;
        let mut attempt = 0;
        let client = loop {
            attempt += 1;
            let connected = ClientBuilder::new(HttpConnector::new())
                .capabilities(driver.capabilities(javascript, camera))
                .connect(&driver.url())
                .await;
            match connected {
                Ok(client) => break client,
                // Chromium sometimes fails to start on a loaded machine; try again.
                Err(e) if attempt < 3 => eprintln!("{name}: no browser session yet ({e}); trying again"),
                Err(e) => panic!("{name}: no browser session: {e}"),
            }
        };
        driver.session = client.session_id().await.ok().flatten();
        Browser { client, name, site, driver }
    }

    /// Ends the browser session; chromedriver is stopped when the browser is dropped.
    pub(crate) async fn finish(mut self) {
        if let Err(e) = self.client.clone().close().await {
            eprintln!("{}: closing the browser: {e}", self.name);
        } else {
            self.driver.session = None;
        }
    }

    pub(crate) async fn goto(&self, path: &str) {
        self.client.goto(&format!("{}{path}", self.site.base)).await.unwrap_or_else(|e| panic!("goto {path}: {e}"));
    }

    /// The page's path and query.
    pub(crate) async fn location(&self) -> String {
        match self.client.current_url().await {
            Ok(url) => match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_owned(),
            },
            Err(e) => format!("(no address: {e})"),
        }
    }

    /// Waits until the page's path is `path`.
    pub(crate) async fn wait_path(&self, path: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let at = self.location().await;
            if at.split('?').next() == Some(path) {
                return;
            }
            assert!(Instant::now() < deadline, "{}: waited for {path}, still at {at}", self.name);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for an element to be on the page.
    pub(crate) async fn find(&self, css: &str) -> Element {
        match self.client.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
            Ok(e) => e,
            Err(e) => panic!("{}: no {css} on {}: {e}", self.name, self.location().await),
        }
    }

    pub(crate) async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    pub(crate) async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    pub(crate) async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap_or_else(|e| panic!("text of {css}: {e}"))
    }

    /// Waits until an element's text contains `needle`; returns the text.
    pub(crate) async fn wait_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        let mut last = String::from("(not on the page)");
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = element.text().await
            {
                if text.contains(needle) {
                    return text;
                }
                last = text;
            }
            assert!(
                Instant::now() < deadline,
                "{}: waited for {css} to say {needle:?} on {}; it says {last:?}",
                self.name,
                self.location().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Signs in on `login` (the portal's or the console's) and waits for the page after it.
    pub(crate) async fn sign_in(&self, login: &str, user: &str, landing: &str) {
        self.goto(login).await;
        self.fill("#username", user).await;
        self.fill("#password", &password_of(user)).await;
        self.click("#login-submit").await;
        self.wait_path(landing).await;
    }

    /// Saves the page as `target/screenshots/<test>.png`.
    async fn screenshot(&self) {
        self.screenshot_as(self.name).await;
    }

    /// Saves the page as `target/screenshots/<file>.png`.
    async fn screenshot_as(&self, file: &str) {
        let png = self.client.screenshot().await.unwrap_or_else(|e| panic!("screenshot: {e}"));
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(screenshot_dir().join(format!("{file}.png")), png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Runs before the client is dropped (which ends the session): a failed test leaves a
        // picture of where it stopped.
        if std::thread::panicking()
            && let Some(session) = &self.driver.session
        {
            self.driver.screenshot_now(session, &format!("{}-failed.png", self.name));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graduate_signs_in_chooses_the_term_sees_the_eight_fields_and_confirms() {
    let app = TestApp::new().await;
    let b = Browser::open(&app, "a_graduate_signs_in_chooses_the_term_sees_the_eight_fields_and_confirms").await;
    b.sign_in("/login", G1, "/portal").await;
    b.find("#term").await.select_by_value("113-2").await.unwrap();
    b.click("#choose-term").await;
    b.wait_path("/portal").await;
    b.wait_text("#status", "尚未確認基本資料、電子信箱").await;
    let fields = b.text("#fields").await;
    for label in EIGHT_FIELDS.into_iter().chain(["電子信箱1", "電子信箱2"]) {
        assert!(fields.contains(label), "{label} missing from:\n{fields}");
    }
    assert!(fields.contains("王𪚥") && fields.contains("c110152301@nkust.edu.tw"), "{fields}");
    assert!(b.location().await.contains("term=113-2"), "the chosen term is in the address");

    b.click("#confirm").await;
    b.wait_text("#notice", "已確認").await;
    let status = b.text("#status").await;
    assert!(status.contains("已確認"), "{status}");
    let page = b.text("body").await;
    assert!(!page.contains("尚未確認基本資料、電子信箱"), "the banner is gone:\n{page}");
    assert!(b.client.find(Locator::Css("#confirm")).await.is_err(), "no second confirmation");
    assert!(app.graduate(G1).await.confirmed_at.is_some(), "the store has the confirmation");
    b.screenshot().await;
    b.finish().await;
}

/// The script that downloads `href` inside the page and reports its SHA-256 and headers.
const FETCH_AND_HASH: &str = r#"
const [href, done] = arguments;
fetch(href, { credentials: 'same-origin' })
  .then(async (r) => {
    const bytes = await r.arrayBuffer();
    const digest = await crypto.subtle.digest('SHA-256', bytes);
    const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
    done({
      status: r.status,
      type: r.headers.get('content-type'),
      disposition: r.headers.get('content-disposition'),
      size: bytes.byteLength,
      sha256: hex,
    });
  })
  .catch((e) => done({ error: String(e) }));
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campus_officer_records_the_collection_and_the_graduate_downloads_the_issued_certificate() {
    let app = TestApp::new().await;
    let g = app.graduate(G1).await;
    app.store
        .confirm_graduate(g.id, dcert_web::http::now().unix(), &crate::support::system("confirm_record"))
        .await
        .unwrap();
    let b = Browser::open(
        &app,
        "a_campus_officer_records_the_collection_and_the_graduate_downloads_the_issued_certificate",
    )
    .await;

    b.sign_in("/console/login", "office-jiangong", "/console").await;
    b.goto("/console/graduates").await;
    b.wait_text("#graduates", G1).await;
    b.find(&format!("#graduates a[href='/console/graduates/{}']", g.id)).await.click().await.unwrap();
    b.wait_path(&format!("/console/graduates/{}", g.id)).await;
    b.find("#diploma-language").await.select_by_value("zh").await.unwrap();
    let day = today();
    b.client.execute("document.getElementById('diploma-date').value = arguments[0]", vec![json!(day)]).await.unwrap();
    b.click("#record-diploma").await;
    b.wait_text("#notice", "已登記").await;
    b.wait_text("#waiting", "第1版").await;

    let round = app.state.worker.issue_due(dcert_web::http::now(), 10, &|_| {}).await.unwrap();
    assert_eq!(round.issued, 1, "the worker issues the recorded collection");
    let cert = app.store.latest_certificate(g.id, Language::Zh).await.unwrap().expect("a certificate");
    // The page shows the issued certificate by itself, and says so to a screen reader.
    let rows = b.wait_text("#certificates tbody", &cert.number).await;
    assert!(rows.contains("有效"), "{rows}");
    b.wait_text("#live-status", "已核發新的數位證書").await;

    b.click("#logout").await;
    b.wait_path("/console/login").await;
    b.sign_in("/login", G1, "/portal").await;
    let link = b.find("#certificates a.download").await;
    let href = link.attr("href").await.unwrap().expect("the link has an address");
    assert_eq!(href, format!("/portal/certificates/{}", cert.id));
    let got = b.client.execute_async(FETCH_AND_HASH, vec![json!(href)]).await.unwrap();
    assert!(got.get("error").is_none(), "the download failed: {got}");
    assert_eq!(got["status"], json!(200), "{got}");
    assert_eq!(got["type"], json!("application/pdf"), "{got}");
    assert_eq!(got["size"], json!(cert.size), "{got}");
    assert_eq!(got["sha256"].as_str(), Some(cert.sha256.as_str()), "the exact stored file");
    let disposition = got["disposition"].as_str().unwrap_or_default();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    b.client.execute("document.getElementById('certificates').scrollIntoView()", vec![]).await.unwrap();
    b.screenshot().await;
    b.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registrar_reissues_a_certificate_and_the_first_version_shows_as_superseded() {
    let app = TestApp::new().await;
    issue_for(&app, G1).await;
    let id = app.graduate(G1).await.id;
    let b = Browser::open(&app, "a_registrar_reissues_a_certificate_and_the_first_version_shows_as_superseded").await;
    b.sign_in("/console/login", "registrar", "/console").await;
    let page = format!("/console/graduates/{id}");
    b.goto(&page).await;
    b.wait_text("#certificates tbody", "有效").await;
    b.click("a.reissue").await;
    b.wait_path(&format!(
        "/console/certificates/{}/reissue",
        app.store.latest_certificate(id, Language::Zh).await.unwrap().unwrap().id
    ))
    .await;
    let named = b.text("#certificate-named").await;
    assert!(named.contains("王𪚥") && named.contains(G1) && named.contains("第 1 版"), "the page names whom: {named}");
    b.fill("#reason", "遺失補發").await;
    b.click("#confirm-action").await;
    b.wait_text("#notice", "已登記補證").await;

    // The registrar runs the worker from the dashboard.
    b.goto("/console").await;
    b.click("#issue-now").await;
    b.wait_text("#notice", "已核發 1 份證書").await;

    b.goto(&page).await;
    b.wait_text("#certificates tbody", "已由新版取代").await;
    let rows = b.client.find_all(Locator::Css("#certificates tbody tr")).await.unwrap();
    let mut texts = Vec::new();
    for row in &rows {
        texts.push(row.text().await.unwrap());
    }
    assert_eq!(texts.len(), 2, "two versions: {texts:?}");
    assert_eq!(texts.iter().filter(|t| t.contains("已由新版取代")).count(), 1, "{texts:?}");
    assert_eq!(texts.iter().filter(|t| t.contains("有效")).count(), 1, "{texts:?}");
    let certs = app.store.certificates_for_graduate(id).await.unwrap();
    let status = |v: u32| certs.iter().find(|c| c.version == v).map(|c| c.status);
    assert_eq!((status(1), status(2)), (Some(CertificateStatus::Superseded), Some(CertificateStatus::Current)));
    assert_eq!(certs.iter().find(|c| c.version == 1).unwrap().status_reason.as_deref(), Some("遺失補發"));
    b.screenshot().await;
    b.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campus_office_does_not_see_another_campuses_graduates() {
    let app = TestApp::new().await;
    let jiangong = app.graduate(G1).await.id;
    let b = Browser::open(&app, "a_campus_office_does_not_see_another_campuses_graduates").await;
    b.sign_in("/console/login", "office-first", "/console").await;
    b.goto("/console/graduates").await;
    let list = b.wait_text("#graduates", G3).await;
    assert!(!list.contains(G1), "only its own campus:\n{list}");
    let campuses = b.client.find_all(Locator::Css("#campus option")).await.unwrap();
    assert_eq!(campuses.len(), 1, "the campus filter offers only its own campus");
    b.screenshot().await;

    b.goto(&format!("/console/graduates/{jiangong}")).await;
    b.wait_text("#error-title", "找不到此頁面").await;
    assert_eq!(b.text("#error-code").await, "錯誤代碼 404");
    let home = b.find("#error-home").await.attr("href").await.unwrap();
    assert_eq!(home.as_deref(), Some("/console"), "a way back to the console");
    assert!(!b.text("body").await.contains("王𪚥"), "nothing of the graduate shows");
    b.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_language_switch_shows_the_portal_in_english() {
    let app = TestApp::new().await;
    let b = Browser::open(&app, "the_language_switch_shows_the_portal_in_english").await;
    b.goto("/login").await;
    b.wait_text("h1", "畢業生登入").await;
    b.click("#lang-switch").await;
    b.wait_text("h1", "Graduate sign-in").await;
    assert_eq!(b.location().await, "/login", "back on the same page");
    assert_eq!(b.text("#lang-switch").await, "中文");

    b.fill("#username", G1).await;
    b.fill("#password", &password_of(G1)).await;
    b.click("#login-submit").await;
    b.wait_path("/portal").await;
    b.wait_text("#status", "Personal data and email addresses not yet confirmed").await;
    let fields = b.text("#fields").await;
    assert!(fields.contains("March 14, 2002") && fields.contains("Department of Electronic Engineering"), "{fields}");
    b.screenshot().await;
    b.finish().await;
}

// ----- the Ministry's verification site -----

/// The Ministry's site over the test university's registry, in a browser.
pub(crate) async fn ministry(app: &TestApp, name: &'static str, javascript: bool) -> Browser {
    let state = ministry_state(app).await;
    Browser::open_router(dcert_web::ministry::ministry_router(state), name, javascript).await
}

/// The Ministry's site with its console able to onboard institutions (the root's keys are set).
pub(crate) async fn ministry_console(app: &TestApp, name: &'static str) -> Browser {
    let state = ministry_state(app).await.with_registry_keys(crate::support::root_keys());
    Browser::open_router(dcert_web::ministry::ministry_router(state), name, true).await
}

async fn ministry_state(app: &TestApp) -> dcert_web::ministry::MinistryState {
    use dcert_web::ministry::MinistryConfig;
    dcert_web::ministry::prepare(&app.ministry).await.unwrap();
    let config = MinistryConfig::new(crate::support::REGISTRY);
    // Signing its answers, as a production site does: its result pages offer the receipt.
    crate::support::ministry_site(app.ministry.clone(), crate::support::trust_json(), config)
        .with_status_signer(crate::support::root().status_key)
        .unwrap()
        .with_fonts(crate::support::fonts())
}

/// The first page of `pdf` as the only frame of a YUV4MPEG2 video, 1,280 pixels wide: what a
/// phone's camera held over the printed certificate films.
fn video_of_printout(pdf: &[u8], dir: &Path) -> PathBuf {
    std::fs::write(dir.join("c.pdf"), pdf).unwrap();
    let out = Command::new("pdftoppm")
        .args(["-gray", "-scale-to", "1280", "-singlefile", "c.pdf", "page"])
        .current_dir(dir)
        .output()
        .expect("pdftoppm is needed (Debian package poppler-utils; scripts/test installs it)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // A binary PGM: "P5", width, height, 255, then one byte a pixel.
    let pgm = std::fs::read(dir.join("page.pgm")).unwrap();
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8(pgm[start..at].to_vec()).unwrap());
    }
    let pixels = &pgm[at + 1..];
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    // 4:2:0 needs even sides: the last column and row go if odd.
    let (ew, eh) = (w & !1, h & !1);
    let mut video = format!("YUV4MPEG2 W{ew} H{eh} F10:1 Ip A1:1 C420jpeg\nFRAME\n").into_bytes();
    for row in 0..eh {
        video.extend_from_slice(&pixels[row * w..row * w + ew]);
    }
    video.extend(std::iter::repeat_n(128u8, ew * eh / 2));
    let path = dir.join("camera.y4m");
    std::fs::write(&path, video).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scan_page_reads_a_printed_certificate_s_qr_code_live_from_the_camera() {
    let app = TestApp::new().await;
    let s = crate::verify_site::samples(&app).await;
    let dir = TempDir::new("camera");
    let video = video_of_printout(&s.current_zh, &dir.0);
    let state = ministry_state(&app).await;
    let router = dcert_web::ministry::ministry_router(state);
    let b = Browser::open_router_with(router, "camera", true, Some(&video)).await;
    b.goto("/scan").await;
    b.click("#start-camera").await;
    // The first frame the server reads opens the seal's page: its address holds the seal.
    let deadline = Instant::now() + WAIT;
    while !b.location().await.starts_with("/S/") {
        assert!(Instant::now() < deadline, "the camera's code was not read: still at {}", b.location().await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let outcome = b.find("#result").await.attr("data-outcome").await.unwrap();
    assert_eq!(outcome.as_deref(), Some("success"));
    assert!(b.text("#field-number").await.starts_with("NKUST-"));
    b.finish().await;
}

/// A sample file: its name, where it is, its bytes, and the outcome it has.
pub(crate) type SampleFile = (&'static str, PathBuf, Vec<u8>, &'static str);

/// The test university with its samples issued, the samples written to files as a person would
/// have them (in the directory returned), and the Ministry's site over its registry in a browser.
pub(crate) async fn ministry_with_samples(
    name: &'static str,
    javascript: bool,
) -> (TestApp, TempDir, Vec<SampleFile>, Browser) {
    let app = TestApp::new().await;
    let s = crate::verify_site::samples(&app).await;
    let dir = TempDir::new("samples");
    let files = [
        ("current-zh.pdf", s.current_zh.clone(), "success"),
        ("current-en.pdf", s.current_en.clone(), "success"),
        ("superseded.pdf", s.superseded.clone(), "warning"),
        ("revoked.pdf", s.revoked.clone(), "failure"),
        ("modified.pdf", s.modified(), "failure"),
    ]
    .into_iter()
    .map(|(name, bytes, outcome)| {
        let path = dir.0.join(name);
        std::fs::write(&path, &bytes).unwrap();
        (name, path, bytes, outcome)
    })
    .collect();
    let b = ministry(&app, name, javascript).await;
    (app, dir, files, b)
}

/// The outcome's title as the result page says it.
fn title(outcome: &str, lang: &str) -> &'static str {
    match (outcome, lang) {
        ("success", "zh") => "認證成功",
        ("warning", "zh") => "認證警告",
        ("failure", "zh") => "認證失敗",
        ("success", _) => "Verified",
        ("warning", _) => "Warning",
        _ => "Not verified",
    }
}

impl Browser {
    /// Opens the verification page afresh, in `lang` (chosen with the menu's switch).
    pub(crate) async fn open_in(&self, lang: &str) {
        self.goto("/").await;
        let switch = self.text("#lang-switch").await;
        let showing_chinese = switch == "EN";
        if (lang == "en") == showing_chinese {
            self.click("#lang-switch").await;
            self.wait_text("#lang-switch", if lang == "en" { "中文" } else { "EN" }).await;
        }
    }

    /// Drops a file on the verification box as a person drags it from the desktop.
    async fn drop_file(&self, name: &str, bytes: &[u8]) {
        use base64ct::{Base64, Encoding};
        let script = r#"
            const [b64, name] = arguments;
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name, { type: "application/pdf" }));
            const zone = document.getElementById("dropzone");
            for (const type of ["dragenter", "dragover", "drop"]) {
              zone.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
            }
        "#;
        self.client.execute(script, vec![json!(Base64::encode_string(bytes)), json!(name)]).await.unwrap();
    }

    /// Verifies the file now chosen and checks the result page; saves a screenshot of it.
    async fn verify_chosen(&self, name: &str, outcome: &str, lang: &str, how: &str) {
        self.click("#verify-button").await;
        self.wait_path("/verify").await;
        let result = self.find("#result").await;
        assert_eq!(result.attr("data-outcome").await.unwrap().as_deref(), Some(outcome), "{name} by {how} in {lang}");
        assert_eq!(self.text("#result-title").await, title(outcome, lang), "{name} by {how} in {lang}");
        let checks = self.text("#checks").await;
        assert!(checks.contains(if lang == "zh" { "文件簽章" } else { "Document signature" }), "{checks}");
        self.screenshot_as(&format!("ministry-{}-{how}-{lang}", name.trim_end_matches(".pdf"))).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_picks_each_sample_with_the_file_picker_and_sees_its_result_in_both_languages() {
    let (_app, _dir, files, b) = ministry_with_samples("a_visitor_picks_each_sample_with_the_file_picker", true).await;
    for lang in ["zh", "en"] {
        for (name, path, _, outcome) in &files {
            b.open_in(lang).await;
            b.find("#file").await.send_keys(&path.display().to_string()).await.unwrap();
            b.wait_text("#status-name", name).await;
            let ready = if lang == "zh" { "已選擇檔案" } else { "File chosen" };
            b.wait_text("#status-message", ready).await;
            assert_eq!(b.find("#step-2").await.attr("class").await.unwrap().as_deref(), Some("current"));
            if *name == "current-zh.pdf" {
                b.screenshot_as(&format!("ministry-upload-status-{lang}")).await;
            }
            b.verify_chosen(name, outcome, lang, "picker").await;
        }
    }
    b.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_drops_each_sample_on_the_box_and_sees_its_result_in_both_languages() {
    let (_app, _dir, files, b) = ministry_with_samples("a_visitor_drops_each_sample_on_the_box", true).await;
    for lang in ["zh", "en"] {
        for (name, _, bytes, outcome) in &files {
            b.open_in(lang).await;
            b.find("#dropzone").await;
            b.drop_file(name, bytes).await;
            b.wait_text("#status-name", name).await;
            b.verify_chosen(name, outcome, lang, "drop").await;
            if *outcome == "warning" {
                let advice = b.text("#result-advice").await;
                assert!(advice.contains(if lang == "zh" { "最新版本" } else { "latest version" }), "{advice}");
            }
            if *name == "modified.pdf" {
                let reason = b.text("#result-reason").await;
                assert!(
                    reason.contains(if lang == "zh" { "已被修改" } else { "changed after it was issued" }),
                    "{reason}"
                );
            }
        }
    }
    b.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verification_form_works_without_javascript() {
    let (_app, _dir, files, b) = ministry_with_samples("the_verification_form_works_without_javascript", false).await;
    b.goto("/").await;
    b.wait_text("h1", "電子證書驗證").await;
    let body_class = b.find("body").await.attr("class").await.unwrap().unwrap_or_default();
    assert!(!body_class.contains("js"), "no script ran: {body_class}");
    let (name, path, _, _) = &files[0];
    b.find("#file").await.send_keys(&path.display().to_string()).await.unwrap();
    b.verify_chosen(name, "success", "zh", "nojs").await;
    let (name, path, _, _) = &files[4];
    b.click("#verify-another").await;
    b.wait_path("/").await;
    b.find("#file").await.send_keys(&path.display().to_string()).await.unwrap();
    b.verify_chosen(name, "failure", "zh", "nojs").await;
    b.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_issuer_list_shows_the_registered_institutions_and_their_keys() {
    let app = TestApp::new().await;
    let b = ministry(&app, "the_issuer_list_shows_the_registered_institutions", true).await;
    b.goto("/").await;
    b.click("#menu a[href='/issuers']").await;
    b.wait_path("/issuers").await;
    let list = b.wait_text("#issuers", "國立高雄科技大學").await;
    assert!(list.contains("學士、碩士") && list.contains("有效"), "{list}");
    b.screenshot_as("ministry-issuers-zh").await;
    b.click("#lang-switch").await;
    let list = b.wait_text("#issuers", "National Kaohsiung University of Science and Technology").await;
    assert!(list.contains("bachelor, master") && list.contains("valid"), "{list}");
    b.screenshot_as("ministry-issuers-en").await;
    b.finish().await;
}
