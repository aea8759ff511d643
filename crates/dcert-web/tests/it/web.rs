//! The portal and the console through the router: flows, roles, CSRF, the login limit, logs.

use axum::http::StatusCode;
use dcert_core::pdf::Limits;
use dcert_core::status::Offline;
use dcert_core::verify::{self, Outcome};
use dcert_store::CertificateStatus;

use crate::support::{Client, EIGHT_FIELDS, ROSTER, TestApp, check_route, issue_for, today};

const G1: &str = "C110152301";
const G3: &str = "C110152303";

#[tokio::test]
async fn the_portal_shows_the_eight_fields_and_the_banner_until_the_graduate_confirms() {
    let app = TestApp::new().await;
    let g = app.graduate_client(G1).await;
    let page = g.get("/portal").await;
    assert_eq!(page.status, StatusCode::OK);
    for label in EIGHT_FIELDS {
        assert!(page.text().contains(label), "{label} missing");
    }
    for value in [
        "王𪚥",
        "中華民國九十一年三月十四日",
        "國立高雄科技大學",
        "電子工程系",
        "輔系：資訊工程系",
        "c110152301@nkust.edu.tw",
    ] {
        assert!(page.text().contains(value), "{value} missing");
    }
    assert!(page.text().contains("尚未確認基本資料、電子信箱"));
    let r = g.post("/portal/confirm", &[("term", "113-2")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = g.get("/portal?term=113-2").await;
    assert!(!page.text().contains("尚未確認基本資料、電子信箱"));
    assert!(page.text().contains("已確認基本資料、電子信箱"));
    assert!(app.graduate(G1).await.confirmed_at.is_some());
}

#[tokio::test]
async fn the_portal_speaks_english_when_asked() {
    let app = TestApp::new().await;
    let g = app.graduate_client(G1).await;
    let switch = g.get("/lang/en?back=/portal").await;
    assert_eq!(switch.location(), Some("/portal"));
    assert_eq!(switch.cookie("lang").as_deref(), Some("en"));
    let request = axum::http::Request::get("/portal")
        .header("cookie", format!("csrf={}; session={}; lang=en", g.csrf, g.session.clone().unwrap()))
        .body(axum::body::Body::empty())
        .unwrap();
    let page = app.send(request).await;
    assert!(page.text().contains("Personal data and email addresses not yet confirmed"), "{}", page.text());
    assert!(page.text().contains("March 14, 2002"));
    let evil = g.get("/lang/en?back=//evil.example").await;
    assert_eq!(evil.location(), Some("/"), "no open redirect");
}

#[tokio::test]
async fn a_collection_is_issued_by_the_worker_and_the_graduate_downloads_the_exact_verified_file() {
    let app = TestApp::new().await;
    let id = issue_for(&app, G1).await;
    let stored = app.store.certificate_file(id).await.unwrap();
    let g = app.graduate_client(G1).await;
    let page = g.get("/portal").await;
    assert!(page.text().contains(&format!("/portal/certificates/{id}")), "listed");
    assert!(page.text().contains("2 封等待寄送"), "both emails queued:\n{}", page.text());
    let file = g.get(&format!("/portal/certificates/{id}")).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.body, stored, "byte for byte");
    let disposition = file.headers.get("content-disposition").unwrap().to_str().unwrap();
    assert!(disposition.starts_with("attachment; filename=\"NKUST-113-2-C110152301-zh-v1.pdf\""), "{disposition}");
    let report = verify::verify(&file.body, &app.trust, &Offline, dcert_web::http::now(), &Limits::default());
    assert_eq!(report.outcome, Outcome::Success, "{}", report.summary);
    // Another graduate cannot download it.
    let other = app.graduate_client(G3).await;
    assert_eq!(other.get(&format!("/portal/certificates/{id}")).await.status, StatusCode::NOT_FOUND);
    // The registry receives the issuance record.
    app.state.worker.submit_to_registry(dcert_web::http::now().unix()).await.unwrap();
    let sha = app.store.certificate(id).await.unwrap().unwrap().sha256;
    assert_eq!(app.ministry.registry_records(&sha).await.unwrap()[0].event, "issued");
}

#[tokio::test]
async fn an_unconfirmed_graduate_is_not_issued_until_confirming() {
    let app = TestApp::new().await;
    let g = app.graduate(G1).await;
    let registrar = app.staff("registrar").await;
    registrar.post(&format!("/console/graduates/{}/diploma", g.id), &[("language", "zh"), ("date", &today())]).await;
    let round = app.state.worker.issue_due(dcert_web::http::now(), 100, &|_| {}).await.unwrap();
    assert_eq!(round.issued, 0);
    let board = app.store.dashboard(dcert_web::http::now().taiwan_date()).await.unwrap();
    let jiangong = board.iter().find(|c| c.campus == "建工").unwrap();
    assert_eq!((jiangong.unconfirmed, jiangong.due), (2, 0), "waiting for the graduate, not for the office");
    app.store.confirm_graduate(g.id, 2, &crate::support::system("confirm_record")).await.unwrap();
    let board = app.store.dashboard(dcert_web::http::now().taiwan_date()).await.unwrap();
    let jiangong = board.iter().find(|c| c.campus == "建工").unwrap();
    assert_eq!((jiangong.unconfirmed, jiangong.due), (1, 1));
    assert_eq!(app.state.worker.issue_due(dcert_web::http::now(), 100, &|_| {}).await.unwrap().issued, 1);
}

#[tokio::test]
async fn a_reissue_supersedes_the_first_version_and_a_revocation_reaches_the_registry() {
    let app = TestApp::new().await;
    let first = issue_for(&app, G1).await;
    let registrar = app.staff("registrar").await;
    let r = registrar.post(&format!("/console/certificates/{first}/reissue"), &[("reason", "姓名變更")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(app.state.worker.issue_due(dcert_web::http::now(), 10, &|_| {}).await.unwrap().issued, 1);
    app.state.worker.submit_to_registry(dcert_web::http::now().unix()).await.unwrap();
    let g = app.graduate(G1).await;
    let certs = app.store.certificates_for_graduate(g.id).await.unwrap();
    let v1 = certs.iter().find(|c| c.version == 1).unwrap();
    let v2 = certs.iter().find(|c| c.version == 2).unwrap();
    assert_eq!((v1.status, v2.status), (CertificateStatus::Superseded, CertificateStatus::Current));
    assert_eq!(v2.previous_sha256.as_deref(), Some(v1.sha256.as_str()), "the hash chain");
    let events: Vec<String> =
        app.ministry.registry_records(&v1.sha256).await.unwrap().into_iter().map(|r| r.event).collect();
    assert_eq!(events, ["issued", "superseded"]);

    let r = registrar.post(&format!("/console/certificates/{}/revoke", v2.id), &[("reason", "學位撤銷")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(app.store.certificate(v2.id).await.unwrap().unwrap().status, CertificateStatus::Revoked);
    let records = app.ministry.registry_records(&v2.sha256).await.unwrap();
    assert_eq!(records.last().unwrap().event, "revoked");
    assert_eq!(records.last().unwrap().reason.as_deref(), Some("學位撤銷"));
    let audit = app.store.audit_log(&dcert_store::AuditFilter::default()).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "revoke" && e.actor == "registrar"));
}

#[tokio::test]
async fn a_form_with_a_wrong_csrf_token_is_refused_and_changes_nothing() {
    let app = TestApp::new().await;
    let g = app.graduate_client(G1).await;
    let forged = g.post_raw("/portal/confirm", &[("csrf", "forged"), ("term", "113-2")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.text().contains("表單已過期或來源不明"));
    let missing = g.post_raw("/portal/confirm", &[("term", "113-2")]).await;
    assert_ne!(missing.status, StatusCode::SEE_OTHER);
    assert!(app.graduate(G1).await.confirmed_at.is_none());

    let registrar = app.staff("registrar").await;
    let id = app.graduate(G1).await.id;
    let path = format!("/console/graduates/{id}/diploma");
    let forged = registrar.post_raw(&path, &[("csrf", "x"), ("language", "zh"), ("date", &today())]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(app.store.orders_for_graduate(id).await.unwrap().is_empty());
    let upload = Client { app: &app, csrf: "wrong".into(), session: registrar.session.clone(), lang: None };
    assert_eq!(upload.upload("/console/import", ROSTER.as_bytes()).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn logins_are_refused_after_five_failures_even_with_the_right_password() {
    let app = TestApp::new().await;
    let v = app.visitor().await;
    for _ in 0..5 {
        let r = v.post("/console/login", &[("username", "registrar"), ("password", "wrong")]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(r.text().contains("帳號或密碼錯誤"));
    }
    let right = crate::support::password_of("registrar");
    let r = v.post("/console/login", &[("username", "registrar"), ("password", &right)]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.cookie("session").is_none());
    // Graduates' logins are limited the same way.
    for _ in 0..5 {
        v.post("/login", &[("username", G1), ("password", "wrong")]).await;
    }
    let r = v.post("/login", &[("username", G1), ("password", &crate::support::password_of(G1))]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
}

/// A console route: method, path, form fields, and the roles that may use it.
type RouteCase = (&'static str, String, Vec<(&'static str, String)>, &'static [&'static str]);

/// Every console route, what it is sent, and which roles may use it.
fn route_table(graduate: i64, certificate: i64, correction: i64, email: i64) -> Vec<RouteCase> {
    const R: &str = "registrar";
    const C: &str = "office-jiangong";
    const A: &str = "admin";
    let day = today();
    let f = |pairs: &[(&'static str, &str)]| pairs.iter().map(|(k, v)| (*k, v.to_string())).collect::<Vec<_>>();
    vec![
        ("GET", "/console".into(), vec![], &[R, C, A]),
        ("GET", "/console/graduates".into(), vec![], &[R, C]),
        ("GET", format!("/console/graduates/{graduate}"), vec![], &[R, C]),
        ("POST", format!("/console/graduates/{graduate}/diploma"), f(&[("language", "en"), ("date", &day)]), &[R, C]),
        ("POST", "/console/collections".into(), f(&[("numbers", "C110152302"), ("date", &day)]), &[R, C]),
        ("POST", format!("/console/certificates/{certificate}/reissue"), f(&[("reason", "lost")]), &[R, C]),
        ("POST", format!("/console/certificates/{certificate}/resend"), vec![], &[R, C]),
        ("GET", format!("/console/certificates/{certificate}/download"), vec![], &[R, C]),
        ("POST", format!("/console/certificates/{certificate}/revoke"), f(&[("reason", "rescinded")]), &[R]),
        ("GET", "/console/import".into(), vec![], &[R]),
        ("UPLOAD", "/console/import".into(), vec![], &[R]),
        ("GET", "/console/calendar".into(), vec![], &[R, C]),
        ("POST", "/console/calendar".into(), f(&[("date", "2026-12-31"), ("kind", "holiday"), ("note", "test")]), &[R]),
        ("POST", "/console/calendar/delete".into(), f(&[("date", "2026-12-31")]), &[R]),
        ("UPLOAD", "/console/calendar/import".into(), vec![], &[R]),
        ("GET", "/console/corrections".into(), vec![], &[R, C]),
        ("POST", format!("/console/corrections/{correction}/resolve"), vec![], &[R, C]),
        ("GET", "/console/outbox".into(), vec![], &[R, C]),
        ("GET", format!("/console/outbox/{email}"), vec![], &[R, C]),
        ("POST", "/console/issue-now".into(), vec![], &[R]),
        ("GET", "/console/policy".into(), vec![], &[A]),
        ("POST", "/console/policy".into(), f(&[("first_term", "110-1")]), &[A]),
        ("GET", "/console/templates".into(), vec![], &[A]),
        ("POST", "/console/templates/zh".into(), f(&[("design", "{}")]), &[A]),
        ("GET", "/console/templates/zh/preview".into(), vec![], &[A]),
        ("GET", "/console/audit".into(), vec![], &[A]),
        ("GET", "/console/log".into(), vec![], &[R, A]),
        ("POST", "/console/log/check".into(), vec![], &[R, A]),
    ]
}

async fn call(c: &Client<'_>, method: &str, path: &str, fields: &[(&'static str, String)]) -> crate::support::Reply {
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    match method {
        "GET" => c.get(path).await,
        "POST" => c.post(path, &fields).await,
        _ if path.ends_with("calendar/import") => c.upload(path, b"date,kind,note\n2026-12-30,holiday,test\n").await,
        _ => c.upload(path, ROSTER.as_bytes()).await,
    }
}

#[tokio::test]
async fn every_console_route_is_denied_to_the_roles_that_may_not_use_it() {
    // The table must name every route the console has.
    let source = include_str!("../../src/university/console/mod.rs");
    let declared: Vec<&str> = source
        .match_indices(".route(\"")
        .map(|(at, m)| {
            let rest = &source[at + m.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect();
    let table = route_table(1, 1, 1, 1);
    // Signing in and out is open to everyone; every other route is in the table.
    for path in declared.iter().filter(|p| !matches!(**p, "/login" | "/logout")) {
        let pattern = format!("/console{}", if *path == "/" { "" } else { path });
        let pattern = pattern.replace("{id}", "1").replace("{lang}", "zh");
        assert!(table.iter().any(|(_, p, _, _)| *p == pattern), "route {path} is missing from the table");
    }

    for user in ["registrar", "office-jiangong", "admin", "anonymous"] {
        let app = TestApp::new().await;
        let certificate = issue_for(&app, G1).await;
        let graduate = app.graduate(G1).await.id;
        let correction = app
            .store
            .add_correction(graduate, "birthday wrong", 5, |_| crate::support::system("request_correction"))
            .await
            .unwrap();
        let email = app.store.emails(None, 1).await.unwrap()[0].id;
        let client = if user == "anonymous" { app.visitor().await } else { app.staff(user).await };
        for (method, path, fields, allowed) in route_table(graduate, certificate, correction, email) {
            let r = call(&client, method, &path, &fields).await;
            check_route(&r, user, &format!("{method} {path}"), user != "anonymous", allowed.contains(&user));
        }
    }
}

#[tokio::test]
async fn a_campus_office_does_not_see_another_campuses_graduates() {
    let app = TestApp::new().await;
    let certificate = issue_for(&app, G1).await;
    let jiangong = app.graduate(G1).await.id;
    let first = app.staff("office-first").await;
    let list = first.get("/console/graduates").await;
    assert!(list.text().contains(G3) && !list.text().contains(G1), "only its own campus");
    let forced = first.get("/console/graduates?campus=建工").await;
    assert!(!forced.text().contains(G1), "the campus filter cannot be widened");
    for path in [format!("/console/graduates/{jiangong}"), format!("/console/certificates/{certificate}/download")] {
        assert_eq!(first.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    let r = first.post(&format!("/console/certificates/{certificate}/reissue"), &[("reason", "x")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r =
        first.post(&format!("/console/graduates/{jiangong}/diploma"), &[("language", "en"), ("date", &today())]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(app.store.orders_for_graduate(jiangong).await.unwrap().len(), 1, "nothing recorded");
    let outbox = first.get("/console/outbox").await;
    assert!(!outbox.text().contains("c110152301@nkust.edu.tw"), "nor their emails");
}

#[tokio::test]
async fn a_bad_import_reports_every_row_and_imports_nothing() {
    let app = TestApp::new().await;
    let registrar = app.staff("registrar").await;
    let bad = ROSTER.replace("2002-05-01", "2002-13-01").replace("C110152303,113-2,第一", "C110152399,113-2,火星")
        + "C110152304,113-2,建工,張三,\"CHANG, SAN\",2002-01-01,電資學院,College,系,Dept,bachelor,學士,Bachelor,2025-06-30,D4,new@example.org,,\r\n";
    let r = registrar.upload("/console/import", bad.as_bytes()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("第 3 列"), "{}", r.text());
    assert!(r.text().contains("第 4 列"), "{}", r.text());
    assert!(app.store.graduate_terms("C110152304").await.unwrap().is_empty(), "nothing half-imported");
    let good = ROSTER.to_owned()
        + "C110152304,113-2,建工,張三,\"CHANG, SAN\",2002-01-01,電資學院,College,系,Dept,bachelor,學士,Bachelor,2025-06-30,D4,new@example.org,,\r\n";
    let r = registrar.upload("/console/import", good.as_bytes()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("新增 1、更新 0、未變更 3"), "{}", r.text());
}

#[tokio::test]
async fn the_due_date_follows_the_calendar_the_registrar_edits() {
    let app = TestApp::new().await;
    let registrar = app.staff("registrar").await;
    let g = app.graduate(G1).await;
    // Collected on Thursday 2026-11-26 (if it is not in the future): five working days later is Thursday 12-03;
    // a holiday on Monday 11-30 moves it to Friday 12-04.
    let r =
        registrar.post("/console/calendar", &[("date", "2026-11-30"), ("kind", "holiday"), ("note", "校慶補假")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = registrar
        .post(&format!("/console/graduates/{}/diploma", g.id), &[("language", "zh"), ("date", "2026-11-26")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let order = app.store.orders_for_graduate(g.id).await.unwrap().remove(0);
    assert_eq!(order.due_on.to_string(), "2026-12-04");
    let future = registrar
        .post(&format!("/console/graduates/{}/diploma", g.id), &[("language", "en"), ("date", "2999-01-01")])
        .await;
    assert_eq!(future.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_address_change_is_used_only_after_its_link_is_opened() {
    let app = TestApp::new().await;
    let g = app.graduate_client(G1).await;
    let r = g.post("/portal/email", &[("term", "113-2"), ("address", "new.address@example.net")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let before = app.graduate(G1).await;
    assert_eq!(before.permanent_email.as_deref(), Some("wang.hsiao-ming@example.org"));
    let mail = app.store.emails(None, 10).await.unwrap().into_iter().find(|m| m.kind == "confirm_address").unwrap();
    assert_eq!(mail.to, "new.address@example.net");
    let link = mail.body.split_whitespace().find(|w| w.contains("/email/confirm?token=")).unwrap();
    let path = &link[link.find("/email").unwrap()..];
    let page = g.get(path).await;
    assert!(page.text().contains("永久信箱已更新"), "{}", page.text());
    assert_eq!(app.graduate(G1).await.permanent_email.as_deref(), Some("new.address@example.net"));
    assert!(g.get(path).await.text().contains("此連結無效"), "a link works once");
    let bad = g.post("/portal/email", &[("term", "113-2"), ("address", "not an address")]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn address_changes_are_limited_per_graduate_and_one_graduate_takes_nothing_from_another() {
    let app = TestApp::new().await;
    let first = app.graduate_client(G1).await;
    for i in 0..5 {
        let r = first.post("/portal/email", &[("term", "113-2"), ("address", &format!("a{i}@example.net"))]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "link {i}");
    }
    let r = first.post("/portal/email", &[("term", "113-2"), ("address", "a5@example.net")]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.text().contains("地址變更申請次數過多"), "it says what was limited: {}", r.text());
    assert!(!r.text().contains("登入"), "not a sign-in message");
    let waits: u64 = r.headers[axum::http::header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=180).contains(&waits), "{waits}");
    let other = app.graduate_client(G3).await;
    let r = other.post("/portal/email", &[("term", "113-2"), ("address", "other@example.net")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "another graduate is not held back");
}

#[tokio::test]
async fn the_audit_log_is_for_the_admin_and_healthz_answers() {
    let app = TestApp::new().await;
    issue_for(&app, G1).await;
    let admin = app.staff("admin").await;
    let log = admin.get("/console/audit?action=record_diploma").await;
    assert!(log.text().contains("record_diploma") && !log.text().contains(">login<"), "filtered");
    assert_eq!(app.visitor().await.get("/healthz").await.status, StatusCode::OK);
    assert_eq!(app.visitor().await.get("/no-such-page").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "current_thread")]
async fn the_logs_hold_no_personal_data() {
    let (captured, _guard) = crate::support::capture_logs();
    let app = TestApp::new().await;
    issue_for(&app, G1).await;
    // A delivery that fails (no SMTP server on that port) logs too.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config: dcert_web::university::mail::SmtpConfig = toml_like(port);
    let mailer = dcert_web::university::mail::Mailer::new(&config).unwrap();
    let round = dcert_web::university::mail::deliver_due(&app.store, &mailer, dcert_web::http::now().unix() + 10, 10)
        .await
        .unwrap();
    assert_eq!(round.retried, 2);
    let g = app.graduate_client(G1).await;
    g.post("/portal/correction", &[("term", "113-2"), ("message", "生日錯誤")]).await;
    app.visitor().await.post("/login", &[("username", G1), ("password", "wrong")]).await;
    let text = captured.text();
    assert!(!text.is_empty(), "something was logged");
    for secret in
        ["王𪚥", "WANG", "C110152301", "c110152301", "wang.hsiao-ming", "2002-03-14", "生日錯誤", "password-of"]
    {
        assert!(!text.contains(secret), "the log holds {secret}:\n{text}");
    }
}

fn toml_like(port: u16) -> dcert_web::university::mail::SmtpConfig {
    serde_json::from_value(serde_json::json!({ "host": "127.0.0.1", "port": port, "from": "registrar@nkust.edu.tw" }))
        .unwrap()
}

#[tokio::test]
async fn a_rare_character_of_a_name_comes_with_a_font_cut_to_it() {
    let app = TestApp::new().await;
    let g = app.graduate_client(G1).await;
    let page = g.get("/portal").await;
    assert!(page.text().contains("<link rel=\"stylesheet\" href=\"/static/rare.css?c=2A6A5\">"), "王𪚥 needs 𪚥");
    let css = g.get("/static/rare.css?c=2A6A5").await;
    assert!(css.text().contains("url(\"/static/rare.font?c=2A6A5\")"), "{}", css.text());
    let font = g.get("/static/rare.font?c=2A6A5").await;
    assert_eq!(font.status, StatusCode::OK);
    assert_eq!(&font.body[..4], &[0, 1, 0, 0], "a TrueType font");
    assert!(font.body.len() < 20_000, "cut to one glyph, not the whole 30 MB font: {}", font.body.len());
    let face = dcert_core::pdf::Face::new("subset", std::sync::Arc::new(font.body.clone()), 0).unwrap();
    assert!(face.covers('𪚥'));
    assert_eq!(g.get("/static/rare.font?c=41").await.status, StatusCode::NOT_FOUND, "only rare characters");
}

#[tokio::test]
async fn a_revoked_certificate_cannot_be_reissued_or_resent_even_by_a_campus_office() {
    let app = TestApp::new().await;
    let id = issue_for(&app, G1).await;
    let registrar = app.staff("registrar").await;
    assert_eq!(
        registrar.post(&format!("/console/certificates/{id}/revoke"), &[("reason", "學位撤銷")]).await.status,
        StatusCode::SEE_OTHER
    );
    let office = app.staff("office-jiangong").await;
    let r = office.post(&format!("/console/certificates/{id}/reissue"), &[("reason", "姓名變更")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("只能補發有效的證書"), "{}", r.text());
    let r = office.post(&format!("/console/certificates/{id}/resend"), &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let g = app.graduate(G1).await;
    assert!(app.store.orders_for_graduate(g.id).await.unwrap().iter().all(|o| !o.is_open()));
    let cert = app.store.certificate(id).await.unwrap().unwrap();
    assert_eq!((cert.delivery.pending, cert.delivery.sent), (0, 0), "the unsent emails were withdrawn");
    let again = registrar.post(&format!("/console/certificates/{id}/revoke"), &[("reason", "again")]).await;
    assert!(again.text().contains("此證書已撤銷"));
}

#[tokio::test]
async fn sign_in_issues_a_new_csrf_token_and_the_old_one_stops_working() {
    let app = TestApp::new().await;
    let before = app.visitor().await;
    let g = app.graduate_client(G1).await;
    assert_ne!(g.csrf, before.csrf);
    let stale = Client { app: &app, csrf: before.csrf.clone(), session: g.session.clone(), lang: None };
    assert_eq!(stale.post("/portal/confirm", &[("term", "113-2")]).await.status, StatusCode::FORBIDDEN);
    assert!(app.graduate(G1).await.confirmed_at.is_none());
    assert_eq!(g.post("/portal/confirm", &[("term", "113-2")]).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_language_switch_returns_only_to_a_path_of_this_site() {
    let app = TestApp::new().await;
    let v = app.visitor().await;
    for evil in
        ["//evil.example", "/%09/evil.example", "/%0d%0aSet-Cookie:x=1", "https://evil.example", "/\\evil.example"]
    {
        let r = v.get(&format!("/lang/en?back={evil}")).await;
        assert_eq!(r.location(), Some("/"), "{evil}");
    }
    let r = v.get("/lang/en?back=%2Fportal%3Fterm%3D113-2").await;
    assert_eq!(r.location(), Some("/portal?term=113-2"));
}

#[tokio::test]
async fn a_posted_form_is_refused_for_its_token_before_it_is_read_and_for_its_fields_in_both_languages() {
    let app = TestApp::new().await;
    let admin = app.staff("admin").await;
    let before = app.store.setting("policy.first_term").await.unwrap();
    // A wrong token is refused whatever the form holds, a broken form included.
    let r = admin.post_raw("/console/policy", &[("csrf", "forged"), ("first_term", "113-1")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = admin.post_raw("/console/policy", &[("csrf", "forged")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "the token first, then the fields");
    // The right token with a field missing: a page that says so, in both languages.
    let r = admin.post("/console/policy", &[("alumni_open", "on")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("表單內容不完整") && r.text().contains("回管理系統首頁"), "{}", r.text());
    let mut english = admin;
    english.lang = Some("en");
    let r = english.post("/console/policy", &[("alumni_open", "on")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("The form was incomplete") && r.text().contains("Console home"), "{}", r.text());
    assert!(!r.text().contains("表單內容不完整"), "only the visitor's language: {}", r.text());
    let admin = english;
    assert_eq!(app.store.setting("policy.first_term").await.unwrap(), before, "nothing changed");
    // And the form as the page posts it is taken.
    let r = admin.post("/console/policy", &[("first_term", "111-1")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(app.store.setting("policy.first_term").await.unwrap().as_deref(), Some("111-1"));
}

#[tokio::test]
async fn a_first_visit_is_in_the_browsers_language_until_the_visitor_chooses() {
    use axum::body::Body;
    use axum::http::{Request, header};
    let app = TestApp::new().await;
    let visit = |accept: &'static str, cookie: Option<&'static str>| {
        let mut request = Request::get("/contact").header(header::ACCEPT_LANGUAGE, accept);
        if let Some(c) = cookie {
            request = request.header(header::COOKIE, c);
        }
        app.send(request.body(Body::empty()).unwrap())
    };
    assert!(visit("en-US,en;q=0.9", None).await.text().contains("<html lang=\"en\""), "an English browser");
    assert!(visit("zh-TW,zh;q=0.9", None).await.text().contains("<html lang=\"zh-Hant-TW\""), "a Chinese one");
    assert!(visit("fr-FR", None).await.text().contains("<html lang=\"zh-Hant-TW\""), "neither: Chinese first");
    let chosen = visit("en-US", Some("lang=zh")).await;
    assert!(chosen.text().contains("<html lang=\"zh-Hant-TW\""), "the visitor's choice wins");
}
