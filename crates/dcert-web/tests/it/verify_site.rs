//! The Ministry's verification site and its JSON API, served on a real port: certificates
//! issued by the test university's real worker and recorded in the Ministry's registry, then
//! uploaded as a person or a program would.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use dcert_core::model::Language;
use dcert_core::pdf::Limits;
use dcert_core::status::Offline;
use dcert_core::verify;
use dcert_web::ministry::{MinistryConfig, MinistryState, ministry_router};
use serde_json::Value;

use crate::support::{REGISTRY, Reply, Served, TestApp, issue_for, multipart, trust_json};

const G1: &str = "C110152301";
const G2: &str = "C110152302";
const G3: &str = "C110152303";

/// The test university's files, each in the state its name says, all recorded in the registry.
pub struct Samples {
    pub current_zh: Vec<u8>,
    pub current_en: Vec<u8>,
    pub superseded: Vec<u8>,
    pub revoked: Vec<u8>,
}

impl Samples {
    /// `current_zh` with one byte changed in the middle of the file.
    pub fn modified(&self) -> Vec<u8> {
        let mut m = self.current_zh.clone();
        let at = m.len() / 2;
        m[at] ^= 0x01;
        m
    }
}

/// Issues the samples through the console and the worker: G1 is issued, reissued (its first
/// version superseded) and applies for English; G2 is issued; G3 is issued and revoked.
pub async fn samples(app: &TestApp) -> Samples {
    let today = dcert_web::http::now().taiwan_date().to_string();
    let first = issue_for(app, G1).await;
    let registrar = app.staff("registrar").await;
    let r = registrar.post(&format!("/console/certificates/{first}/reissue"), &[("reason", "姓名變更")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let g1 = app.graduate(G1).await;
    let r =
        registrar.post(&format!("/console/graduates/{}/diploma", g1.id), &[("language", "en"), ("date", &today)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(app.state.worker.issue_due(dcert_web::http::now(), 10, &|_| {}).await.unwrap().issued, 2);
    let g2_cert = issue_for(app, G2).await;
    let g3_cert = issue_for(app, G3).await;
    let r = registrar.post(&format!("/console/certificates/{g3_cert}/revoke"), &[("reason", "學位撤銷")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    app.state.worker.submit_to_registry(dcert_web::http::now().unix()).await.unwrap();
    let latest_en = app.store.latest_certificate(g1.id, Language::En).await.unwrap().unwrap();
    Samples {
        current_zh: app.store.certificate_file(g2_cert).await.unwrap(),
        current_en: app.store.certificate_file(latest_en.id).await.unwrap(),
        superseded: app.store.certificate_file(first).await.unwrap(),
        revoked: app.store.certificate_file(g3_cert).await.unwrap(),
    }
}

/// The Ministry's site on a real port.
pub struct Site {
    pub state: MinistryState,
    served: Served,
}

impl Site {
    pub async fn start(app: &TestApp, config: impl FnOnce(&mut MinistryConfig)) -> Site {
        Site::start_on(app.ministry.clone(), config).await
    }

    /// The site over the Ministry's database `store`.
    pub async fn start_on(store: dcert_store::MinistryStore, config: impl FnOnce(&mut MinistryConfig)) -> Site {
        let mut settings = MinistryConfig::new(REGISTRY);
        config(&mut settings);
        dcert_web::ministry::prepare(&store).await.unwrap();
        let state = crate::support::ministry_site(store, trust_json(), settings).with_fonts(crate::support::fonts());
        let served = Served::start(ministry_router(state.clone())).await;
        Site { state, served }
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        self.served.send(request).await
    }

    /// Where it is served.
    pub fn base(&self) -> &str {
        &self.served.base
    }

    pub async fn get(&self, path: &str, lang: &str) -> Reply {
        self.send(Request::get(path).header(header::COOKIE, format!("lang={lang}")).body(Body::empty()).unwrap()).await
    }

    /// Posts the file to the API as the raw body.
    pub async fn api_raw(&self, file: &[u8], content_type: &str) -> Reply {
        let request = Request::post("/api/v1/verify")
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(file.to_vec()))
            .unwrap();
        self.send(request).await
    }

    /// Posts the file to the API as the multipart field `file`.
    pub async fn api_form(&self, file: &[u8], name: &str) -> Reply {
        let (content_type, body) = multipart(&[("file", Some(name), file)]);
        let request =
            Request::post("/api/v1/verify").header(header::CONTENT_TYPE, content_type).body(Body::from(body)).unwrap();
        self.send(request).await
    }

    /// Opens the verification page as a visitor (for the CSRF cookie), then posts the form.
    pub async fn page_form(&self, file: &[u8], name: &str, lang: &str) -> Reply {
        let first = self.get("/", lang).await;
        let csrf = first.cookie("csrf").expect("the page sets a CSRF cookie");
        let (content_type, body) = multipart(&[("csrf", None, csrf.as_bytes()), ("file", Some(name), file)]);
        let request = Request::post("/verify")
            .header(header::CONTENT_TYPE, content_type)
            .header(header::COOKIE, format!("csrf={csrf}; lang={lang}"))
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }
}

fn outcome(report: &Value) -> (String, Option<String>) {
    (report["outcome"].as_str().unwrap().to_owned(), report["reason"].as_str().map(str::to_owned))
}

fn pair(o: &str, r: Option<&str>) -> (String, Option<String>) {
    (o.to_owned(), r.map(str::to_owned))
}

#[tokio::test]
async fn the_api_answers_success_warning_and_failure_for_current_superseded_revoked_and_modified_files() {
    let app = TestApp::new().await;
    let s = samples(&app).await;
    let site = Site::start(&app, |_| {}).await;
    let cases = [
        ("current-zh.pdf", s.current_zh.clone(), pair("success", None)),
        ("current-en.pdf", s.current_en.clone(), pair("success", None)),
        ("superseded.pdf", s.superseded.clone(), pair("warning", Some("superseded"))),
        ("revoked.pdf", s.revoked.clone(), pair("failure", Some("revoked"))),
        ("modified.pdf", s.modified(), pair("failure", Some("modified"))),
    ];
    for (name, file, expected) in &cases {
        let form = site.api_form(file, name).await;
        assert_eq!(form.status, StatusCode::OK, "{name}: {}", form.text());
        let report = form.json();
        assert_eq!(&outcome(&report), expected, "{name} as a form: {report:#}");
        assert_eq!(report["file"], *name);
        let raw = site.api_raw(file, "application/pdf").await;
        assert_eq!(&outcome(&raw.json()), expected, "{name} as the raw body");
    }
    // The same report as `dcert verify --json`, bar the registry: the same checks in the same order.
    let offline = verify::verify(&s.current_zh, &app.trust, &Offline, dcert_web::http::now(), &Limits::default());
    let online = site.api_raw(&s.current_zh, "application/octet-stream").await.json();
    let names = |v: &Value| -> Vec<String> {
        v["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(names(&online), names(&serde_json::to_value(&offline).unwrap()));
    let registry = online["checks"].as_array().unwrap().iter().find(|c| c["name"] == "registry_status").unwrap();
    assert_eq!(registry["result"], "pass", "the registry answered: {registry}");
    assert_eq!(online["issuer"]["nameZh"], "國立高雄科技大學", "the issuer's name comes from the registry");
    let warning = site.api_raw(&s.superseded, "application/pdf").await.json();
    assert_eq!(warning["newerVersion"]["version"], 2);
}

/// The text of the checks table of a result page, without its markup.
fn checks_text(html: &str) -> String {
    let start = html.find("<table id=\"checks\"").expect("a checks table");
    let table = &html[start..start + html[start..].find("</table>").unwrap()];
    let mut text = String::new();
    let mut in_tag = false;
    for ch in table.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(ch),
            _ => {}
        }
    }
    text
}

#[tokio::test]
async fn no_chinese_result_page_has_english_check_details_and_a_picture_or_another_pdf_is_called_unverifiable() {
    let app = TestApp::new().await;
    let s = samples(&app).await;
    let site = Site::start(&app, |_| {}).await;
    let other_pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec();
    let photo = [&b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"[..], &[0u8; 64]].concat();
    let files: [(&str, Vec<u8>, &str); 8] = [
        ("current.pdf", s.current_zh.clone(), "認證成功"),
        ("english.pdf", s.current_en.clone(), "認證成功"),
        ("old.pdf", s.superseded.clone(), "認證警告"),
        ("revoked.pdf", s.revoked.clone(), "認證失敗"),
        ("printed.pdf", s.modified(), "認證失敗"),
        ("photo.jpg", photo, "無法驗證此檔案"),
        ("letter.pdf", other_pdf, "無法驗證此檔案"),
        ("notes.txt", b"hello".to_vec(), "無法驗證此檔案"),
    ];
    for (name, bytes, title) in files {
        let html = site.page_form(&bytes, name, "zh").await.text();
        assert!(html.contains(&format!("<h2 id=\"result-title\" tabindex=\"-1\">{title}</h2>")), "{name}: {title}");
        let checks = checks_text(&html);
        let english: Vec<&str> = checks
            .split(|c: char| !c.is_ascii_alphabetic())
            // "PDF" is how Chinese writes it too.
            .filter(|word| word.len() >= 3 && *word != "PDF")
            .collect();
        assert!(english.is_empty(), "{name}: English in the Chinese checks: {english:?}\n{checks}");
        if name == "old.pdf" {
            // The headline and the check give the same day (Taiwan's, not UTC's).
            let day = |text: &str| {
                let at = text.find("已於").unwrap_or_else(|| panic!("a day in {text}")) + "已於".len();
                text[at..at + text[at..].find("核發新版本").unwrap()].to_owned()
            };
            let newer = &html[html.find("id=\"result-newer\"").expect("the newer version's line")..];
            assert_eq!(day(newer), day(&checks), "one reissue day");
        }
        if title == "無法驗證此檔案" {
            assert!(!html.contains("此數位證書未受各大專院校認證"), "{name} is not called uncertified");
            assert!(html.contains("這不代表學位是假的"), "{name}: says what it does not mean");
            assert!(html.contains("原始附件"), "{name}: says what to ask for");
        }
    }
    let photo_page =
        site.page_form(&[0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'], "photo.png", "zh").await.text();
    assert!(photo_page.contains("這是圖片（照片、掃描或截圖）"), "a picture is named as one");
    assert!(photo_page.contains("QR Code"), "a picture's page points to the printout's QR code");
    let english = site.page_form(&s.current_zh, "current.pdf", "en").await.text();
    assert!(english.contains("The file has not been changed at all since the issuer signed it"), "{english}");
    assert!(english.contains("Compare the name and date of birth"), "success says what to do next");
}

#[tokio::test]
async fn a_warning_or_failure_page_says_whom_to_ask_at_the_issuing_institution_and_a_success_page_does_not() {
    let app = TestApp::new().await;
    let s = samples(&app).await;
    crate::ministry_console::onboard_directly(&app.ministry, 12).await;
    let contact = dcert_store::InstitutionContact {
        office_zh: "教務處註冊組".into(),
        office_en: "Registry Office".into(),
        phone: "(07)601-1000 轉 31113".into(),
        website: "https://www.nkust.edu.tw".into(),
    };
    let audit = crate::support::system("edit_institution_contact");
    app.ministry.set_institution_contact("nkust", &contact, 1, &audit).await.unwrap();
    let site = Site::start(&app, |_| {}).await;
    for (file, name) in [(&s.superseded, "old.pdf"), (&s.revoked, "revoked.pdf")] {
        let html = site.page_form(file, name, "zh").await.text();
        assert!(html.contains("發證學校聯絡方式") && html.contains("教務處註冊組"), "{name}");
        assert!(html.contains("(07)601-1000 轉 31113") && html.contains("href=\"https://www.nkust.edu.tw\""), "{name}");
    }
    let english = site.page_form(&s.revoked, "revoked.pdf", "en").await.text();
    assert!(english.contains("Contact the issuing institution") && english.contains("Registry Office"));
    let success = site.page_form(&s.current_zh, "current.pdf", "zh").await.text();
    assert!(!success.contains("發證學校聯絡方式"), "nothing to ask about a current certificate");
    let issuer = site.get("/issuers/nkust", "zh").await.text();
    assert!(issuer.contains("教務處註冊組") && issuer.contains("(07)601-1000 轉 31113"), "the issuer's page too");
}

#[tokio::test]
async fn the_result_pages_say_each_outcome_with_its_reason_and_what_to_do_in_chinese_and_english() {
    let app = TestApp::new().await;
    let s = samples(&app).await;
    let site = Site::start(&app, |_| {}).await;
    let page = site.page_form(&s.current_zh, "current-zh.pdf", "zh").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    for text in [
        "認證成功",
        "此數位證書已受教育部與大專院校認證",
        "國立高雄科技大學",
        "陳怡君",
        "驗證明細",
        "中華民國一一四年六月三十日",
    ] {
        assert!(html.contains(text), "the success page shows {text}");
    }
    assert!(html.contains("data-outcome=\"success\""));

    let html = site.page_form(&s.superseded, "old.pdf", "zh").await.text();
    for text in ["認證警告", "此數位證書已非最新版本，請向證書提供者、發證校方確認", "發證單位已於", "第 2 版", "王𪚥"]
    {
        assert!(html.contains(text), "the warning page shows {text}");
    }
    // 𪚥 is in no common font: the page links the certificate's own glyph for it.
    assert!(html.contains("/static/rare.css?c=2A6A5"), "the rare character's font is linked");
    let font = site.get("/static/rare.font?c=2A6A5", "zh").await;
    assert_eq!(font.status, StatusCode::OK);
    assert!(font.body.len() > 100, "a font with the glyph");
    let html = site.page_form(&s.revoked, "revoked.pdf", "zh").await.text();
    for text in [
        "認證失敗",
        "發證單位已撤銷此證書。",
        "此數位證書已被發證單位撤銷，不具效力。",
        "原因：學位撤銷",
        "此證書已被撤銷，不具效力",
    ] {
        assert!(html.contains(text), "the revoked page shows {text}");
    }
    assert!(!html.contains("不是原始檔案"), "a revoked file is intact: it is not called modified");
    let html = site.page_form(&s.modified(), "printed.pdf", "zh").await.text();
    for text in ["認證失敗", "檔案在核發後已被修改", "請向證書持有人索取學校以電子郵件寄送的原始附件檔案", "未通過"]
    {
        assert!(html.contains(text), "the modified page shows {text}");
    }
    let html = site.page_form(&s.modified(), "printed.pdf", "en").await.text();
    for text in
        ["Not verified", "The file was changed after it was issued", "Ask the holder for the original email", "Fail"]
    {
        assert!(html.contains(text), "the English modified page shows {text}");
    }
    let html = site.page_form(&s.current_en, "current-en.pdf", "en").await.text();
    for text in
        ["Verified", "National Kaohsiung University of Science and Technology", "WANG, HSIAO-MING", "June 30, 2025"]
    {
        assert!(html.contains(text), "the English success page shows {text}: {html}");
    }
    let html = site.page_form(b"%PDF-1.7\nnot really", "fake.pdf", "zh").await.text();
    assert!(html.contains("此檔案不是電子證書"), "a PDF without a certificate: {html}");
}

#[tokio::test]
async fn oversized_empty_non_pdf_and_malformed_uploads_each_get_a_clear_error_and_the_server_keeps_serving() {
    let app = TestApp::new().await;
    let site = Site::start(&app, |c| c.max_upload_bytes = 1 << 20).await;
    let big = vec![b'%'; (1 << 20) + 1];
    let r = site.api_raw(&big, "application/pdf").await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.json()["error"]["code"], "too_large");
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("larger than 1 MB"));
    let r = site.api_form(&big, "big.pdf").await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "as a form too");
    let much_bigger = vec![0u8; 8 << 20];
    let r = site.api_raw(&much_bigger, "application/pdf").await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "far over the limit");
    let r = site.page_form(&big, "big.pdf", "zh").await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.text().contains("檔案超過 1 MB"), "the page says so: {}", r.text());

    let r = site.api_raw(b"", "application/pdf").await;
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("empty")));
    let r = site.api_form(b"", "empty.pdf").await;
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("empty")));

    let r = site.api_raw(b"GIF89a this is a picture", "image/gif").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(outcome(&r.json()), pair("failure", Some("not_a_certificate")));
    let r = site.api_raw(b"%PDF-1.7\n1 0 obj << /Type /Catalog", "application/pdf").await;
    assert_eq!(outcome(&r.json()), pair("failure", Some("not_a_certificate")), "a truncated PDF");
    let r = site.api_raw(b"{\"@context\": [", "application/json").await;
    assert_eq!(outcome(&r.json()), pair("failure", Some("not_a_certificate")), "broken JSON");

    let r = site
        .send(
            Request::post("/api/v1/verify")
                .header(header::CONTENT_TYPE, "multipart/form-data; boundary=x")
                .body(Body::from("--x\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nno end"))
                .unwrap(),
        )
        .await;
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("malformed_request")));
    let (content_type, body) = multipart(&[("other", Some("x.pdf"), b"%PDF")]);
    let r = site
        .send(
            Request::post("/api/v1/verify").header(header::CONTENT_TYPE, content_type).body(Body::from(body)).unwrap(),
        )
        .await;
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("no_file")));

    let health = site.get("/healthz", "zh").await;
    assert_eq!(health.status, StatusCode::OK, "the server keeps serving");
    assert_eq!(site.get("/", "zh").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_client_over_its_rate_limit_is_answered_429_with_when_to_come_back() {
    let app = TestApp::new().await;
    let site = Site::start(&app, |c| c.verifications_per_minute = 3).await;
    for _ in 0..3 {
        assert_eq!(site.api_raw(b"%PDF-1.7", "application/pdf").await.status, StatusCode::OK);
    }
    let r = site.api_raw(b"%PDF-1.7", "application/pdf").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.json()["error"]["code"], "rate_limited");
    assert_eq!(r.headers.get(header::RETRY_AFTER).unwrap(), "20");
    let page = site.page_form(b"%PDF-1.7", "x.pdf", "zh").await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "pages and the API share the allowance");
    assert!(page.text().contains("驗證次數過多"));
}

#[tokio::test]
async fn at_the_shipped_defaults_a_file_over_10_mb_is_413_and_the_61st_verification_in_a_minute_is_429() {
    let app = TestApp::new().await;
    let defaults = MinistryConfig::new(REGISTRY);
    assert_eq!((defaults.max_upload_bytes, defaults.verifications_per_minute), (10 << 20, 60), "the defaults");
    let site = Site::start(&app, |_| {}).await;
    let started = std::time::Instant::now();
    let at_limit = vec![b' '; 10 << 20];
    let r = site.api_raw(&at_limit, "application/pdf").await;
    assert_eq!(r.status, StatusCode::OK, "a file of exactly 10 MB is read");
    let over = vec![b' '; (10 << 20) + 1];
    let r = site.api_raw(&over, "application/pdf").await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("larger than 10 MB"), "{}", r.text());
    // Two requests so far. The allowance is 60 at once, refilled at one a second: as fast as
    // this client can ask, it gets 60 and what refilled meanwhile, then 429.
    let mut allowed = 2;
    let refused = loop {
        let r = site.api_raw(b"%PDF-1.7", "application/pdf").await;
        if r.status != StatusCode::OK {
            break r;
        }
        allowed += 1;
        assert!(allowed < 200, "no limit");
    };
    let refilled = started.elapsed().as_secs() as usize + 1;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!((60..=60 + refilled).contains(&allowed), "{allowed} allowed in {refilled} s");
    assert_eq!(refused.headers.get(header::RETRY_AFTER).unwrap(), "1", "one more each second");
}

/// `psql` on the test server with `sql`, which must succeed; its output.
fn psql(sql: &str) -> String {
    let out = std::process::Command::new("psql")
        .args([dcert_testkit::postgres_url().as_str(), "-v", "ON_ERROR_STOP=1", "-Atc", sql])
        .output()
        .expect("psql (PostgreSQL's client) runs");
    assert!(out.status.success(), "psql: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verification_stalled_on_the_registry_past_the_shipped_budget_is_answered_503_and_then_served() {
    let app = TestApp::new().await;
    let s = samples(&app).await;
    let schema = dcert_store::ScratchSchema::create(&dcert_testkit::postgres_url(), "stalled").await.unwrap();
    let registry = dcert_store::MinistryStore::open(schema.url()).await.unwrap();
    let site = Site::start_on(registry, |_| {}).await;
    let budget = site.state.config.verify_budget_ms;
    assert_eq!(budget, 10_000, "the shipped budget");

    // Another session holds the registry's table (a long migration, a stuck backup): every
    // status lookup waits for it, past the budget.
    let table = format!("\"{}\".registry_records", schema.name());
    let hold = format!("BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(13); COMMIT;");
    let mut holder = std::process::Command::new("psql")
        .args([dcert_testkit::postgres_url().as_str(), "-v", "ON_ERROR_STOP=1", "-qAtc", &hold])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("psql (PostgreSQL's client) runs");
    let held = format!(
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON \
         n.oid = c.relnamespace WHERE n.nspname = '{}' AND c.relname = 'registry_records' AND l.granted \
         AND l.mode = 'AccessExclusiveLock'",
        schema.name()
    );
    while psql(&held) != "1" {
        assert!(holder.try_wait().unwrap().is_none(), "the lock holder stopped");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let started = std::time::Instant::now();
    let r = site.api_raw(&s.current_zh, "application/pdf").await;
    let waited = started.elapsed();
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.json()["error"]["code"], "timed_out");
    assert!(waited >= Duration::from_millis(budget) && waited < Duration::from_millis(budget + 4_000), "{waited:?}");

    // Once the table is free again, the same file verifies.
    assert!(holder.wait().unwrap().success());
    let r = site.api_raw(&s.current_zh, "application/pdf").await;
    assert_eq!(r.status, StatusCode::OK, "and then it answers");
    schema.drop_now().await.unwrap();
}

#[tokio::test]
async fn a_verification_that_cannot_finish_within_its_time_budget_is_answered_503() {
    let app = TestApp::new().await;
    let s = samples(&app).await;
    let site = Site::start(&app, |c| c.verify_budget_ms = 300).await;
    // Every verification slot is taken, as on a server flooded with work.
    let slots = site.state.slots.available_permits() as u32;
    let busy = site.state.slots.clone().acquire_many_owned(slots).await.unwrap();
    let r = site.api_raw(&s.current_zh, "application/pdf").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.json()["error"]["code"], "timed_out");
    let page = site.page_form(&s.current_zh, "current-zh.pdf", "zh").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.text().contains("驗證逾時"));
    drop(busy);
    assert_eq!(site.api_raw(&s.current_zh, "application/pdf").await.status, StatusCode::OK, "and then it answers");
}

#[tokio::test]
async fn the_page_form_is_refused_without_the_visitors_token() {
    let app = TestApp::new().await;
    let site = Site::start(&app, |_| {}).await;
    let (content_type, body) = multipart(&[("csrf", None, b"forged"), ("file", Some("x.pdf"), b"%PDF-1.7")]);
    let r = site
        .send(
            Request::post("/verify")
                .header(header::CONTENT_TYPE, content_type)
                .header(header::COOKIE, "csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn only_the_hash_outcome_and_time_of_a_verification_are_kept() {
    let app = TestApp::new().await;
    let s = samples(&app).await;
    let site = Site::start(&app, |_| {}).await;
    site.api_raw(&s.current_zh, "application/pdf").await;
    site.page_form(&s.revoked, "revoked.pdf", "zh").await;
    let mut kept = Vec::new();
    for _ in 0..100 {
        kept = app.ministry.recent_verifications(10).await.unwrap();
        if kept.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(kept.len(), 2, "both verifications are counted");
    let sha = dcert_core::Sha256Digest::of(&s.revoked).to_string();
    assert_eq!((kept[0].sha256.as_str(), kept[0].outcome.as_str()), (sha.as_str(), "failure"));
    assert_eq!((kept[0].reason.as_deref(), kept[0].channel.as_str()), (Some("revoked"), "page"));
    assert_eq!((kept[1].outcome.as_str(), kept[1].channel.as_str()), ("success", "api"));
    let stats = app.ministry.verification_stats(0).await.unwrap();
    assert_eq!((stats.total, stats.success, stats.failure, stats.distinct_files), (2, 1, 1, 2));
}

#[tokio::test]
async fn the_issuers_api_and_page_list_the_institutions_of_the_trust_list() {
    let app = TestApp::new().await;
    let site = Site::start(&app, |_| {}).await;
    let api = site.get("/api/v1/issuers", "zh").await.json();
    assert_eq!(api["issuers"][0]["id"], "nkust");
    assert_eq!(api["issuers"][0]["nameZh"], "國立高雄科技大學");
    assert_eq!(api["issuers"][0]["url"], format!("{REGISTRY}/issuers/nkust"));
    let page = site.get("/issuers", "zh").await.text();
    for text in ["發證單位", "國立高雄科技大學", "學士、碩士", "有效"] {
        assert!(page.contains(text), "the issuer list shows {text}");
    }
    let one = site.get("/issuers/nkust", "en").await;
    assert_eq!(one.status, StatusCode::OK);
    assert!(one.text().contains("National Kaohsiung University of Science and Technology"));
    assert_eq!(site.get("/issuers/nobody", "zh").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_status_api_answers_for_one_file_as_the_registry_records_it() {
    let app = TestApp::new().await;
    let s = samples(&app).await;
    let site = Site::start(&app, |_| {}).await;
    let status_of = |file: &[u8]| {
        let report = verify::verify(file, &app.trust, &Offline, dcert_web::http::now(), &Limits::default());
        let c = report.credential.unwrap();
        format!(
            "/api/v1/status?issuer=nkust&number={}&language={}&version={}&sha256={}",
            c.certificate_number,
            c.language.code(),
            c.version,
            report.file_sha256.unwrap()
        )
    };
    let current = site.get(&status_of(&s.current_zh), "zh").await.json();
    assert_eq!(current["status"], "current");
    let old = site.get(&status_of(&s.superseded), "zh").await.json();
    assert_eq!((old["status"].as_str(), old["latestVersion"].as_u64()), (Some("superseded"), Some(2)));
    let revoked = site.get(&status_of(&s.revoked), "zh").await.json();
    assert_eq!((revoked["status"].as_str(), revoked["reason"].as_str()), (Some("revoked"), Some("學位撤銷")));
    let answer = dcert_core::status::answer_from_json(&revoked);
    assert!(matches!(answer, dcert_core::status::StatusAnswer::Revoked { .. }), "{answer:?}");
    let path =
        status_of(&s.current_zh).replace(&dcert_core::Sha256Digest::of(&s.current_zh).to_string(), &"0".repeat(64));
    assert_eq!(site.get(&path, "zh").await.json()["status"], "not_registered");
    let bad = site.get("/api/v1/status?issuer=nkust", "zh").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let without_hash = status_of(&s.current_zh);
    let without_hash = &without_hash[..without_hash.find("&sha256=").unwrap()];
    assert_eq!(site.get(without_hash, "zh").await.status, StatusCode::BAD_REQUEST, "only holders of the file ask");
    // The address a credential's credentialStatus names answers the same.
    let report = verify::verify(&s.revoked, &app.trust, &Offline, dcert_web::http::now(), &Limits::default());
    let c = report.credential.unwrap();
    let path = format!(
        "/api/v1/status/nkust/{}/{}/{}?sha256={}",
        c.certificate_number,
        c.language.code(),
        c.version,
        report.file_sha256.unwrap()
    );
    assert_eq!(site.get(&path, "zh").await.json()["status"], "revoked");
}

#[tokio::test]
async fn the_openapi_document_describes_every_api_route_and_each_answers() {
    let app = TestApp::new().await;
    dcert_web::ministry::prepare(&app.ministry).await.unwrap();
    let state = crate::support::ministry_site(app.ministry.clone(), trust_json(), MinistryConfig::new(REGISTRY))
        .with_status_signer(crate::support::root().status_key)
        .unwrap();
    let site = Served::start(ministry_router(state)).await;
    let get = |path: &'static str| site.send(Request::get(path).body(Body::empty()).unwrap());
    let doc = get("/openapi.json").await.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    for path in [
        "/api/v1/verify",
        "/api/v1/issuers",
        "/api/v1/status",
        "/api/v1/records",
        "/trust.json",
        "/log/checkpoint",
        "/api/v1/log/entries",
        "/api/v1/log/proof/inclusion",
        "/api/v1/log/proof/consistency",
        "/api/v1/offline-bundle",
    ] {
        assert!(paths.iter().any(|p| *p == path), "{path} is described");
    }
    for path in paths {
        let method = doc["paths"][path].as_object().unwrap().keys().next().unwrap().to_uppercase();
        let r =
            site.send(Request::builder().method(method.as_str()).uri(path.as_str()).body(Body::empty()).unwrap()).await;
        assert_ne!(r.status, StatusCode::NOT_FOUND, "{method} {path} is served");
        assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path} is served");
    }
}

#[tokio::test]
async fn the_menu_pages_answer_in_both_languages_and_the_faq_comes_from_the_guide_once() {
    let app = TestApp::new().await;
    let site = Site::start(&app, |_| {}).await;
    dcert_web::ministry::prepare(&app.ministry).await.unwrap();
    let seeded = dcert_web::ministry::guide_faq().len();
    assert_eq!(app.ministry.faq().await.unwrap().len(), seeded, "seeded once, not twice");
    let faq = site.get("/faq", "zh").await.text();
    for employer in ["三種驗證結果各代表什麼", "紙本或照片", "身分證件", "可以找誰"] {
        assert!(faq.contains(employer), "the FAQ answers employers: {employer}");
    }
    let home = site.get("/", "zh").await.text();
    for text in ["關於", "證書驗證", "最新消息", "常見問題", "發證單位", "選擇證書", "上傳狀態", "驗證結果", "進行驗證"]
    {
        assert!(home.contains(text), "the verification page shows {text}");
    }
    let faq = site.get("/faq", "zh").await.text();
    assert!(faq.contains("為什麼驗證出現「驗證警告」？"));
    assert!(faq.contains("請以「下載附件」的方式下載數位證書"));
    let faq = site.get("/faq", "en").await.text();
    assert!(faq.contains("Why does verification show a warning?"));
    app.ministry
        .save_content(
            &dcert_store::NewsItem {
                id: 0,
                published_on: "2025-07-01".into(),
                title_zh: "數位學位證書驗證服務上線".into(),
                title_en: "The verification service is open".into(),
                body_zh: "即日起可驗證電子學位證書。".into(),
                body_en: "Digital degree certificates can be verified from today.".into(),
            },
            "test",
            1,
            |_| crate::support::system("news_add"),
        )
        .await
        .unwrap();
    assert!(site.get("/news", "zh").await.text().contains("數位學位證書驗證服務上線"));
    assert!(site.get("/news", "en").await.text().contains("The verification service is open"));
    for path in ["/about", "/developers", "/news", "/faq", "/issuers"] {
        for lang in ["zh", "en"] {
            assert_eq!(site.get(path, lang).await.status, StatusCode::OK, "{path} in {lang}");
        }
    }
    let missing = site.get("/nothing-here", "zh").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.text().contains("找不到此頁面"));
}

/// What the seal of the certificate in `file` states, and the address its QR code leads to.
fn seal_data(app: &TestApp, file: &[u8]) -> (String, dcert_core::seal::SealData) {
    let report = verify::verify(file, &app.trust, &Offline, dcert_web::http::now(), &Limits::default());
    let c = report.credential.unwrap();
    let d = c.degree.unwrap();
    let data = dcert_core::seal::SealData {
        issuer_id: "nkust".into(),
        number: c.certificate_number.clone(),
        language: c.language,
        version: c.version,
        credential_type: c.credential_type,
        name_zh: d.name_zh.clone(),
        name_en: d.name_en.clone(),
        birth_date: d.birth_date,
        title: d.degree_zh.clone(),
        field: d.department_zh.clone(),
        date: d.graduation_date,
        printed_number: d.diploma_number.clone(),
        issued_at: c.issued_at,
    };
    (format!("/v/nkust/{}/{}/{}", c.certificate_number, c.language.code(), c.version), data)
}

/// The seal a certificate's QR code carries, made with the test university's key for the
/// certificate in `file`.
fn seal_of(app: &TestApp, file: &[u8]) -> (String, String) {
    let (path, data) = seal_data(app, file);
    (path, dcert_core::seal::sign(&data, &app.state.worker.issuance.kit.credential_key))
}

#[tokio::test]
async fn a_seal_whose_base45_holds_what_looks_like_percent_encoding_is_read_as_it_is() {
    let app = TestApp::new().await;
    let s = samples(&app).await;
    let site = Site::start(&app, |_| {}).await;
    let (_, seal) = seal_of(&app, &s.current_zh);
    // Base45 has '%' and digits: about one seal in thirty holds "%20" or "%25". Seals of the same
    // certificate made at other times until one does.
    let (_, data) = seal_data(&app, &s.current_zh);
    let kit = &app.state.worker.issuance.kit;
    let tricky = (0..10_000)
        .map(|i| {
            let earlier = dcert_core::seal::SealData { issued_at: data.issued_at.plus_seconds(-i), ..data.clone() };
            dcert_core::seal::sign(&earlier, &kit.credential_key)
        })
        .find(|seal| seal.contains("%20") || seal.contains("%25"))
        .expect("a seal with %20 or %25 among 10,000");
    assert_ne!(tricky, seal);
    let page = site.get(&format!("/seal?s={}", query_value(&tricky)), "zh").await.text();
    assert!(page.contains("data-outcome=\"success\""), "{page}");
}

fn query_value(text: &str) -> String {
    crate::support::enc(text)
}

#[tokio::test]
async fn a_scanned_qr_code_leads_to_a_page_that_checks_its_seal_against_the_registry() {
    let app = TestApp::new().await;
    let s = samples(&app).await;
    let site = Site::start(&app, |_| {}).await;
    let (path, seal) = seal_of(&app, &s.current_zh);
    let landing = site.get(&path, "zh").await;
    assert_eq!(landing.status, StatusCode::OK, "the QR code's address is served");
    assert!(landing.text().contains("/static/seal.js"));
    assert!(landing.text().contains("上傳電子證書檔案進行完整驗證"), "without JavaScript, the file is asked for");

    let page = site.get(&format!("/seal?s={}", query_value(&seal)), "zh").await.text();
    for text in ["認證成功", "陳怡君", "國立高雄科技大學", "電機工程系", "(114)高科大電機學字第000002號"]
    {
        assert!(page.contains(text), "the seal page shows {text}: {page}");
    }
    let (_, old) = seal_of(&app, &s.superseded);
    let page = site.get(&format!("/seal?s={}", query_value(&old)), "en").await.text();
    assert!(page.contains("data-outcome=\"warning\"") && page.contains("version 2"), "{page}");
    let (_, revoked) = seal_of(&app, &s.revoked);
    let page = site.get(&format!("/seal?s={}", query_value(&revoked)), "zh").await.text();
    assert!(page.contains("data-outcome=\"failure\"") && page.contains("發證單位已撤銷此證書"));

    let mut forged: Vec<char> = seal.chars().collect();
    let at = forged.len() - 5;
    forged[at] = if forged[at] == 'A' { 'B' } else { 'A' };
    let forged: String = forged.into_iter().collect();
    let page = site.get(&format!("/seal?s={}", query_value(&forged)), "zh").await.text();
    assert!(page.contains("data-outcome=\"failure\"") && page.contains("數位封印無效"), "{page}");
    assert_eq!(site.get("/seal", "zh").await.status, StatusCode::BAD_REQUEST);
}

/// The base64 hashes of a proof in the log's JSON.
fn proof_hashes(value: &Value) -> Vec<dcert_core::tlog::Hash> {
    dcert_core::tlog::path_from_json(value).unwrap_or_else(|| panic!("no path of hashes: {value}"))
}

#[tokio::test]
async fn the_log_serves_a_signed_checkpoint_its_entries_and_proofs_that_check_against_the_trust_list() {
    use dcert_core::tlog::{self, Checkpoint};
    let app = TestApp::new().await;
    let s = samples(&app).await;
    let site = Site::start(&app, |_| {}).await;
    let verifier = app.trust.log.clone().expect("the trust list names the log");

    // The checkpoint, signed with the key the pinned trust list names.
    let reply = site.get("/log/checkpoint", "zh").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/plain"));
    let checkpoint = Checkpoint::open(&reply.text(), &verifier.name, &verifier).unwrap();
    assert!(checkpoint.size >= 4, "every issued file and status change is a leaf: {}", checkpoint.size);

    // The entries: hashes and identifiers only, and they rebuild the checkpoint's root.
    let entries = site.get("/api/v1/log/entries?start=0", "zh").await.json();
    let entries = entries["entries"].as_array().unwrap();
    assert_eq!(entries.len() as u64, checkpoint.size);
    let leaves: Vec<tlog::Hash> =
        entries.iter().map(|e| tlog::leaf_hash(e["leaf"].as_str().unwrap().as_bytes())).collect();
    assert_eq!(tlog::root(leaves.as_slice(), checkpoint.size).unwrap(), checkpoint.root);
    let first = entries[0]["leaf"].as_str().unwrap();
    assert!(first.starts_with("dcert-log-v1\ninstitution=nkust\nevent=issued\n"), "{first}");
    assert!(!first.contains("NKUST-") && !first.contains("王"), "no number or name in a leaf: {first}");
    let two = site.get("/api/v1/log/entries?start=1&limit=2", "zh").await;
    assert!(two.headers[header::CACHE_CONTROL].to_str().unwrap().contains("immutable"), "a full page never changes");
    let two = two.json();
    assert_eq!(two["entries"][0]["index"], 1);
    assert_eq!(two["entries"].as_array().unwrap().len(), 2);
    let tail = site.get(&format!("/api/v1/log/entries?start={}&limit=5", checkpoint.size - 1), "zh").await;
    assert_eq!(tail.headers[header::CACHE_CONTROL], "no-cache", "the last page grows");

    // Inclusion and consistency proofs, checked here from the proof alone.
    let size = checkpoint.size;
    for index in 0..size {
        let proof = site.get(&format!("/api/v1/log/proof/inclusion?index={index}&size={size}"), "zh").await.json();
        tlog::verify_inclusion(&leaves[index as usize], index, size, &proof_hashes(&proof), &checkpoint.root).unwrap();
    }
    for old in 1..size {
        let proof = site.get(&format!("/api/v1/log/proof/consistency?from={old}&to={size}"), "zh").await.json();
        let old_root = tlog::root(&leaves[..old as usize], old).unwrap();
        tlog::verify_consistency((old, &old_root), (size, &checkpoint.root), &proof_hashes(&proof)).unwrap();
    }
    for bad in [
        format!("/api/v1/log/proof/inclusion?index={size}&size={size}"),
        format!("/api/v1/log/proof/consistency?from=1&to={}", size + 1),
        "/api/v1/log/proof/inclusion?index=x".to_owned(),
        "/api/v1/log/entries".to_owned(),
    ] {
        let reply = site.get(&bad, "zh").await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}: {}", reply.text());
        assert_eq!(reply.json()["error"]["code"], "bad_query");
    }

    // Verifications carry the proof, checked against the log's key: the site's own and the API's.
    let report = site.api_raw(&s.current_zh, "application/pdf").await.json();
    let log = report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "transparency_log").unwrap().clone();
    assert_eq!((log["result"].as_str(), log["finding"]["code"].as_str()), (Some("pass"), Some("log_included")));
    let page = site.page_form(&s.current_zh, "cert.pdf", "zh").await.text();
    assert!(
        page.contains("公開發證日誌") && page.contains("已列入教育部公開的發證日誌"),
        "the result page shows the log check"
    );

    let developers = site.get("/developers", "zh").await.text();
    assert!(developers.contains("公開發證日誌") && developers.contains("href=\"/log/checkpoint\""), "{developers}");

    // A second site over the same database (a restart) serves the same tree, signed alike.
    let again = Site::start(&app, |_| {}).await;
    assert_eq!(again.get("/log/checkpoint", "zh").await.text(), reply.text());
}

#[tokio::test]
async fn a_site_that_keeps_no_log_says_so() {
    let app = TestApp::new().await;
    dcert_web::ministry::prepare(&app.ministry).await.unwrap();
    let state = MinistryState::new(app.ministry.clone(), trust_json(), MinistryConfig::new(REGISTRY)).unwrap();
    let served = Served::start(ministry_router(state)).await;
    for path in ["/log/checkpoint", "/api/v1/log/entries?start=0", "/api/v1/log/proof/consistency?from=1&to=2"] {
        let reply = served.send(Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.json()["error"]["code"], "no_log");
    }
}

#[tokio::test]
async fn the_console_watches_the_log_and_raises_an_alarm_for_a_record_the_school_did_not_issue() {
    let mut app = TestApp::new().await;
    let s = samples(&app).await;
    let site = Site::start(&app, |_| {}).await;
    app.state = app.state.clone().with_log_watch(site.base(), &app.trust);
    let registrar = app.staff("registrar").await;
    let page = registrar.get("/console/log").await.text();
    assert!(page.contains("教育部公開發證日誌監看") && page.contains("尚未檢查"), "{page}");

    // A first check: the log's records read and hashed to its signed root, all the school's own.
    let r = registrar.post("/console/log/check", &[]).await;
    assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, Some("/console/log")), "{}", r.text());
    let page = registrar.get("/console/log").await.text();
    assert!(page.contains("都是本校核發的檔案"), "{page}");
    assert!(page.contains("localhost:8081/log"), "the log's origin: {page}");
    assert!(!page.contains("本校未核發的紀錄") && !page.contains("role=\"alert\""), "{page}");

    // A record in the school's name of a file it never issued (a stolen key's submission).
    let forged = "e".repeat(64);
    let record = dcert_store::RegistryRecord::issued_degree(
        "nkust",
        &forged,
        "NKUST-1132-999999",
        dcert_web::http::now().unix(),
    );
    assert!(app.ministry.append_registry_record(&record).await.unwrap());
    registrar.post("/console/log/check", &[]).await;
    let page = registrar.get("/console/log").await.text();
    assert!(page.contains("1 筆以本校名義登錄、但本校未核發的紀錄") && page.contains(&forged), "{page}");
    assert!(!page.contains(&dcert_core::Sha256Digest::of(&s.current_zh).to_string()), "only unknown files are listed");
    // In English too, and the check is in the audit log.
    let mut admin = app.staff("admin").await;
    admin.lang = Some("en");
    let english = admin.get("/console/log").await.text();
    assert!(english.contains("Alarm: 1 record(s) in the log in this institution"), "{english}");
    assert!(admin.get("/console/audit").await.text().contains("check_log"));

    // A saved state that does not read is an alarm, not a fresh start that would believe any log.
    app.store.set_settings(&[("log_monitor", "{damaged")], &crate::support::system("test")).await.unwrap();
    registrar.post("/console/log/check", &[]).await;
    let page = registrar.get("/console/log").await.text();
    assert!(page.contains("上次檢查未完成") && page.contains("saved state is damaged"), "{page}");
    assert_eq!(app.store.setting("log_monitor").await.unwrap().as_deref(), Some("{damaged"), "nothing overwritten");
}

/// The report's transparency log check of `file` on `site`: result and finding.
async fn log_check_of(site: &Served, file: &[u8]) -> (String, String) {
    let request = Request::post("/api/v1/verify").header(header::CONTENT_TYPE, "application/pdf");
    let report = site.send(request.body(Body::from(file.to_vec())).unwrap()).await.json();
    assert_eq!(report["outcome"], "success", "{report}");
    let check = report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "transparency_log").unwrap().clone();
    (check["result"].as_str().unwrap().to_owned(), check["finding"]["code"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_site_upgraded_to_the_log_serves_the_first_list_naming_it_and_one_without_its_key_refuses_it() {
    use dcert_web::ministry::trust_registry;
    let app = TestApp::new().await;
    let s = samples(&app).await;
    dcert_web::ministry::prepare(&app.ministry).await.unwrap();
    let root = crate::support::root();
    // The list served before the log: it names none.
    let mut content = app.trust.content.clone();
    (content.log, content.sequence) = (None, 0);
    let before = root.sign(&content);
    let config = || MinistryConfig::new(REGISTRY);
    let state = MinistryState::new(app.ministry.clone(), before.clone(), config()).unwrap();
    let upgraded = state.with_log_key(root.log_key.clone()).unwrap();
    let served = Served::start(ministry_router(upgraded.clone())).await;
    let unchecked = (String::from("unknown"), String::from("log_not_published"));
    assert_eq!(log_check_of(&served, &s.current_zh).await, unchecked, "the status believed as before");

    // The first list naming the log, published: served at once, and every answer proven.
    let list =
        dcert_store::StoredTrustList { sequence: 1, issued_at: 0, json: String::from_utf8(trust_json()).unwrap() };
    app.ministry.append_trust_list(&list, &crate::support::system("publish_trust_list")).await.unwrap();
    let without_key = MinistryState::new(app.ministry.clone(), before, config()).unwrap();
    assert!(trust_registry::refresh(&upgraded).await.unwrap());
    assert_eq!(log_check_of(&served, &s.current_zh).await, ("pass".into(), "log_included".into()));
    // A site without the log's key keeps the list it serves rather than answer unprovably.
    let refused = trust_registry::refresh(&without_key).await;
    assert!(refused.as_ref().is_err_and(|e| e.to_string().contains("log_key")), "{refused:?}");
    assert_eq!(without_key.trust().list.content.sequence, 0);
}

/// The `credential.json` a certificate file carries, byte for byte (what a wallet keeps).
fn bare_credential(file: &[u8]) -> Vec<u8> {
    dcert_core::pdf::read::read(file, &Limits::default()).unwrap().credential.expect("a credential.json")
}

#[tokio::test]
async fn a_bare_credential_taken_out_of_a_certificate_verifies_as_the_file_does_with_a_note() {
    let app = TestApp::new().await;
    let s = samples(&app).await;
    let site = Site::start(&app, |_| {}).await;
    let current = bare_credential(&s.current_zh);
    let report = site.api_raw(&current, "application/json").await.json();
    assert_eq!(outcome(&report), pair("success", None), "{report}");
    assert!(report["summary"].as_str().unwrap().contains("without its diploma page"), "{report}");
    let log = report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "transparency_log").unwrap().clone();
    assert_eq!(log["finding"]["code"], "log_nothing_to_prove", "the log names files, not data: {log}");
    let page = site.page_form(&current, "credential.json", "zh").await.text();
    assert!(page.contains("認證成功") && page.contains("不含證書頁面"), "{page}");
    // A superseded one warns, a revoked one fails, as their files do.
    let old = site.api_raw(&bare_credential(&s.superseded), "application/json").await.json();
    assert_eq!(outcome(&old), pair("warning", Some("superseded")), "{old}");
    let revoked = site.api_raw(&bare_credential(&s.revoked), "application/json").await.json();
    assert_eq!(outcome(&revoked), pair("failure", Some("revoked")), "{revoked}");
    // The status API answers for it by its own hash.
    let c = &report["credential"];
    let path = format!(
        "/api/v1/status?issuer=nkust&number={}&language=zh&version=1&sha256={}",
        c["certificateNumber"].as_str().unwrap(),
        dcert_core::Sha256Digest::of(&current)
    );
    assert_eq!(site.get(&path, "zh").await.json()["status"], "current");
}

#[tokio::test]
async fn a_verification_gives_a_receipt_signed_by_the_ministry_that_names_the_file_and_the_log() {
    let app = TestApp::new().await;
    let s = samples(&app).await;
    dcert_web::ministry::prepare(&app.ministry).await.unwrap();
    let state = crate::support::ministry_site(app.ministry.clone(), trust_json(), MinistryConfig::new(REGISTRY))
        .with_status_signer(crate::support::root().status_key)
        .unwrap()
        .with_fonts(crate::support::fonts());
    let site = Served::start(ministry_router(state)).await;
    let request = Request::post("/api/v1/verify").header(header::CONTENT_TYPE, "application/pdf");
    let report = site.send(request.body(Body::from(s.current_zh.clone())).unwrap()).await.json();
    let receipt = serde_json::to_vec(&report["receipt"]).unwrap();
    let read = dcert_core::receipt::verify(&receipt, &app.trust, Some(&s.current_zh)).unwrap();
    assert_eq!((read.outcome.as_str(), read.issuer.as_deref()), ("success", Some("nkust")));
    assert!(read.checkpoint.is_some_and(|c| c.starts_with("localhost:8081/log\n")), "made against the log");
    // The result page offers it to download, in the visitor's words.
    let first = site.send(Request::get("/").body(Body::empty()).unwrap()).await;
    let csrf = first.cookie("csrf").unwrap();
    let (content_type, body) = multipart(&[("csrf", None, csrf.as_bytes()), ("file", Some("c.pdf"), &s.current_zh)]);
    let request = Request::post("/verify")
        .header(header::CONTENT_TYPE, content_type)
        .header(header::COOKIE, format!("csrf={csrf}; lang=zh"))
        .body(Body::from(body))
        .unwrap();
    let page = site.send(request).await.text();
    assert!(page.contains("驗證收據") && page.contains("href=\"data:application/json;base64,"), "{page}");
    // Its PDF form, in the visitor's language, signed by the status signer with the JSON inside.
    let field = page.split("name=\"receipt\" value=\"").nth(1).and_then(|v| v.split('"').next()).unwrap();
    let json = crate::support::unescape(field);
    let cookies = format!("csrf={csrf}; lang=zh");
    let fields = [("csrf", csrf.as_str()), ("receipt", json.as_str())];
    let pdf = site.send(crate::support::form_post("/receipt.pdf", cookies.clone(), &fields)).await;
    assert_eq!(pdf.status, StatusCode::OK, "{}", pdf.text());
    assert_eq!(pdf.headers[header::CONTENT_TYPE], "application/pdf");
    let read = dcert_core::receipt::verify_any(&pdf.body, &app.trust, Some(&s.current_zh)).unwrap();
    assert_eq!(read.outcome, "success");
    // Either form, uploaded to the verification form later, is recognised and checked.
    let upload = |bytes: Vec<u8>, name: &'static str| {
        let form = multipart(&[("csrf", None, csrf.as_bytes()), ("file", Some(name), &bytes)]);
        let request = Request::post("/verify")
            .header(header::CONTENT_TYPE, form.0)
            .header(header::COOKIE, format!("csrf={csrf}; lang=zh"))
            .body(Body::from(form.1))
            .unwrap();
        site.send(request)
    };
    for (bytes, name) in [(json.clone().into_bytes(), "receipt.json"), (pdf.body.clone(), "receipt.pdf")] {
        let page = upload(bytes, name).await.text();
        assert!(page.contains("收據有效") && page.contains("data-outcome=\"success\""), "{name}: {page}");
        assert!(
            page.contains("認證成功") && page.contains(&dcert_core::Sha256Digest::of(&s.current_zh).to_string()),
            "what it records: {page}"
        );
    }
    let page = upload(json.replacen("\"success\"", "\"failure\"", 1).into_bytes(), "receipt.json").await.text();
    assert!(page.contains("收據無效") && page.contains("在簽發後被修改過"), "{page}");
    // A changed receipt is not drawn; nor is one posted without the visitor's token.
    let changed = json.replacen("\"success\"", "\"failure\"", 1);
    let fields = [("csrf", csrf.as_str()), ("receipt", changed.as_str())];
    let refused = site.send(crate::support::form_post("/receipt.pdf", cookies.clone(), &fields)).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.text().contains("這份驗證收據不是本網站簽發的"), "{}", refused.text());
    let fields = [("csrf", "forged"), ("receipt", json.as_str())];
    let forged = site.send(crate::support::form_post("/receipt.pdf", cookies, &fields)).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // A failure has its receipt too (an employer keeps proof of a refusal as well).
    let request = Request::post("/api/v1/verify").header(header::CONTENT_TYPE, "application/pdf");
    let other = site.send(request.body(Body::from(b"%PDF-1.7 nothing".to_vec())).unwrap()).await.json();
    assert_eq!((&other["outcome"], &other["receipt"]["outcome"]), (&"failure".into(), &"failure".into()));
}

#[tokio::test]
async fn the_offline_bundle_gives_each_sample_the_outcome_the_site_gives_and_needs_a_status_signer() {
    let app = TestApp::new().await;
    let s = samples(&app).await;
    let unsigned = Site::start(&app, |_| {}).await;
    let reply = unsigned.get("/api/v1/offline-bundle", "zh").await;
    assert_eq!((reply.status, &reply.json()["error"]["code"]), (StatusCode::NOT_FOUND, &"no_bundle".into()));

    let state = crate::support::ministry_site(app.ministry.clone(), trust_json(), MinistryConfig::new(REGISTRY))
        .with_status_signer(crate::support::root().status_key)
        .unwrap();
    let site = Served::start(ministry_router(state)).await;
    let reply = site.send(Request::get("/api/v1/offline-bundle").body(Body::empty()).unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK);
    let bundle = dcert_core::bundle::Bundle::open(&reply.body, Some(app.trust.root.fingerprint())).unwrap();
    let log = bundle.checkpoint.as_ref().expect("the log's checkpoint");
    let (current, changed) = bundle.counts();
    assert!(current > 0 && changed >= 2, "{current} current, {changed} changed");
    let now = dcert_core::Timestamp(bundle.as_of.unix() + 60);
    let status = dcert_core::bundle::BundleStatus { bundle: &bundle, now, max_age_seconds: 86_400 };
    for (file, expected) in [
        (&s.current_zh, pair("success", None)),
        (&s.current_en, pair("success", None)),
        (&s.superseded, pair("warning", Some("superseded"))),
        (&s.revoked, pair("failure", Some("revoked"))),
    ] {
        let report = dcert_core::verify::verify(file, &bundle.trust, &status, now, &Default::default());
        let report = serde_json::to_value(&report).unwrap();
        assert_eq!(outcome(&report), expected, "{report:#}");
        let request = Request::post("/api/v1/verify").header(header::CONTENT_TYPE, "application/pdf");
        let online = site.send(request.body(Body::from(file.clone())).unwrap()).await.json();
        assert_eq!(outcome(&online), expected, "the site agrees: {online:#}");
        let log_check = report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "transparency_log").unwrap();
        assert_eq!(log_check["finding"]["size"], log.size, "{log_check}");
    }
    // Asked again with nothing changed: the same bundle, not a new one.
    let again = site.send(Request::get("/api/v1/offline-bundle").body(Body::empty()).unwrap()).await;
    assert_eq!(again.body, reply.body);
}

#[tokio::test]
async fn a_photo_of_a_printed_certificate_shows_its_sealed_data_and_status_and_its_address_needs_no_script() {
    let app = TestApp::new().await;
    let s = samples(&app).await;
    let site = Site::start(&app, |_| {}).await;
    let printed = crate::support::picture_of(&s.current_zh);
    let page = site.page_form(&printed, "photo.png", "zh").await.text();
    assert!(page.contains("data-outcome=\"success\"") && page.contains("id=\"photo-scope\""), "{page}");
    assert!(page.contains("證明封印中的資料由發證單位簽發，並非證明這張紙本或照片本身是真的"), "{page}");
    assert!(page.contains("id=\"field-number\">NKUST-"), "the sealed data to compare: {page}");
    let revoked = site.page_form(&crate::support::picture_of(&s.revoked), "r.png", "en").await.text();
    assert!(revoked.contains("data-outcome=\"failure\"") && revoked.contains("id=\"photo-scope\""), "{revoked}");
    assert!(revoked.contains("The issuer has revoked this certificate; it is no longer valid."), "{revoked}");
    assert!(!revoked.contains("not a certificate certified by an institution"), "no file here: {revoked}");
    // A picture without a certificate's QR code: what to photograph instead.
    let blank = site.page_form(crate::pages::PNG_PIXEL, "blank.png", "zh").await.text();
    assert!(blank.contains("在這張圖片中找不到證書的 QR Code"), "{blank}");

    // The code's own address: the seal in the path, read by the server, no script needed.
    let texts = dcert_core::photo::read_qr_codes(&printed, || true).unwrap();
    let text = texts.first().expect("the printout's QR code is read");
    let path = &text[text.find(dcert_core::seal::QR_PATH).unwrap()..];
    assert!(text.starts_with("HTTP://LOCALHOST:8081/S/"), "{text}");
    let page = site.get(path, "zh").await;
    assert_eq!(page.status, StatusCode::OK);
    let page = page.text();
    assert!(page.contains("data-outcome=\"success\"") && !page.contains("photo-scope"), "{page}");
    assert!(!page.contains("<script"), "no script: {page}");
    // One character changed: the seal does not verify.
    let mut changed = path.to_owned();
    let at = changed.len() - 10;
    let c = if &changed[at..=at] == "A" { "B" } else { "A" };
    changed.replace_range(at..=at, c);
    let page = site.get(&changed, "zh").await.text();
    assert!(page.contains("data-outcome=\"failure\"") && page.contains("數位封印無效"), "{page}");
    assert!(page.contains("封印的簽章不符") && !page.contains("signature does not verify"), "in Chinese: {page}");
}
