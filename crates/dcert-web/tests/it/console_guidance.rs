//! The university console guides its staff: a collection recorded for a graduate who has not
//! confirmed says what will (not) happen and is counted; the list of graduates filters by state
//! and pages; a graduate's page shows what was recorded; reissue and revocation ask first; a
//! refusal is a page in the person's language with a way back.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use crate::support::{ROSTER, TestApp, form_post, issue_for, site, today};

const G1: &str = "C110152301";
const G2: &str = "C110152302";

#[tokio::test]
async fn a_collection_for_a_graduate_who_has_not_confirmed_is_recorded_with_a_warning_counted_and_listed() {
    let app = TestApp::new().await;
    let registrar = app.staff("registrar").await;
    let g2 = app.graduate(G2).await;
    let page = registrar.get(&format!("/console/graduates/{}", g2.id)).await.text();
    assert!(page.contains("id=\"unconfirmed-warning\""), "the page warns before recording");
    let r = registrar
        .post(&format!("/console/graduates/{}/diploma", g2.id), &[("language", "zh"), ("date", &today())])
        .await;
    assert_eq!(r.location(), Some(format!("/console/graduates/{}?done=recorded_unconfirmed", g2.id).as_str()));
    let page = registrar.get(r.location().unwrap()).await.text();
    assert!(page.contains("此畢業生尚未確認資料，確認之前不會核發數位證書"), "{page}");
    assert!(page.contains("領取紙本中文證書：中文證書第 1 版"), "the collection is listed with its date: {page}");
    assert!(!page.contains("<option value=\"zh\">"), "the Chinese diploma is not offered twice");
    assert!(
        page.contains("等待畢業生確認資料（確認後才核發）") && !page.contains("預計"),
        "no due day promised: {page}"
    );
    let portal = app.graduate_client(G2).await.get("/portal").await.text();
    assert!(portal.contains("請先確認上方的基本資料，確認後 5 個工作日內寄發"), "{portal}");
    // In a list too: the notice counts who has not confirmed.
    let r = registrar.post("/console/collections", &[("numbers", "C110152303"), ("date", &today())]).await;
    assert!(r.location().unwrap().contains("unconfirmed=1"), "{:?}", r.location());
    let listed = registrar.get(r.location().unwrap()).await.text();
    assert!(listed.contains("其中 1 位尚未確認資料，確認前不會核發"), "{listed}");

    let board = registrar.get("/console").await.text();
    let awaiting = "state=awaiting_confirmation\">1</a>";
    assert!(board.contains(awaiting), "the dashboard counts it and links to the list: {board}");
    let list = registrar.get("/console/graduates?campus=%E5%BB%BA%E5%B7%A5&state=awaiting_confirmation").await.text();
    assert!(list.contains(G2) && !list.contains(G1), "{list}");
    assert!(list.contains("第 1–1 筆，共 1 筆"), "{list}");

    // Nothing is issued until the graduate confirms.
    let round = app.state.worker.issue_due(dcert_web::http::now(), 10, &|_| {}).await.unwrap();
    assert_eq!(round.issued, 0);
}

#[tokio::test]
async fn recording_twice_is_refused_on_a_page_in_the_persons_language_with_a_way_back() {
    let app = TestApp::new().await;
    let registrar = app.staff("registrar").await;
    let g1 = app.graduate(G1).await;
    let path = format!("/console/graduates/{}/diploma", g1.id);
    let day = today();
    let fields = [("language", "zh"), ("date", day.as_str())];
    assert_eq!(registrar.post(&path, &fields).await.status, StatusCode::SEE_OTHER);
    for (lang, title, message, back) in [
        ("zh", "無法完成", "此語言的證書已登記過", "回上一頁"),
        ("en", "This could not be done", "Already recorded for that language", "Go back"),
    ] {
        let cookies = format!("csrf={}; session={}; lang={lang}", registrar.csrf, registrar.session.clone().unwrap());
        let mut request = form_post(&path, cookies, &crate::support::csrf_first(&registrar.csrf, &fields));
        let referer = format!("http://localhost/console/graduates/{}", g1.id);
        request.headers_mut().insert(header::REFERER, referer.parse().unwrap());
        request.headers_mut().insert(header::HOST, "localhost".parse().unwrap());
        let r = app.send(request).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        let html = r.text();
        assert!(html.contains(title) && html.contains(message) && html.contains(back), "{lang}: {html}");
        assert!(html.contains(&format!("href=\"/console/graduates/{}\"", g1.id)), "back to the graduate: {html}");
    }
}

#[tokio::test]
async fn a_reissue_and_a_revocation_name_the_certificate_first_and_the_revocation_says_when_why_and_by_whom() {
    let app = TestApp::new().await;
    let id = issue_for(&app, G1).await;
    let registrar = app.staff("registrar").await;
    for action in ["reissue", "revoke"] {
        let page = registrar.get(&format!("/console/certificates/{id}/{action}")).await;
        assert_eq!(page.status, StatusCode::OK, "{action}");
        let html = page.text();
        assert!(html.contains("王𪚥") && html.contains(G1) && html.contains("第 1 版"), "{action} names whom: {html}");
        assert!(html.contains("<label for=\"reason\">"), "{action}: one labelled reason");
    }
    let office = app.staff("office-jiangong").await;
    assert_eq!(office.get(&format!("/console/certificates/{id}/revoke")).await.status, StatusCode::FORBIDDEN);

    let r = registrar.post(&format!("/console/certificates/{id}/revoke"), &[("reason", "學位撤銷")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let g1 = app.graduate(G1).await;
    let page = registrar.get(&format!("/console/graduates/{}", g1.id)).await.text();
    assert!(page.contains("由 registrar 撤銷，原因：學位撤銷"), "{page}");
    let graduate = app.graduate_client(G1).await;
    let portal = graduate.get("/portal").await.text();
    assert!(portal.contains("撤銷此證書，原因：學位撤銷") && portal.contains("分機 31113"), "{portal}");
}

#[tokio::test]
async fn the_list_of_graduates_pages_by_a_hundred_and_keeps_its_filters() {
    let app = TestApp::new().await;
    let header = ROSTER.lines().next().unwrap();
    let template = ROSTER.lines().nth(2).unwrap().trim_end_matches('\r');
    let mut roster = format!("{header}\n");
    for i in 0..150 {
        let row = template
            .replacen("C110152302", &format!("C11016{i:04}"), 1)
            .replacen("(114)高科大電機學字第000002號", &format!("(114)高科大電機學字第{:06}號", 1000 + i), 1)
            .replacen("chen.yichun@example.org", &format!("g{i}@example.org"), 1);
        roster.push_str(&row);
        roster.push('\n');
    }
    let limits = dcert_core::roster::Limits::default();
    let rows = dcert_core::roster::parse_roster(roster.as_bytes(), &site().school_names(), &["建工", "第一"], &limits)
        .expect("the generated roster reads");
    app.store.import_graduates(&rows, 2, |_| crate::support::system("import_graduates")).await.unwrap();
    let registrar = app.staff("registrar").await;
    let first = registrar.get("/console/graduates?campus=%E5%BB%BA%E5%B7%A5").await.text();
    assert!(first.contains("第 1–100 筆，共 152 筆"), "{first}");
    assert!(!first.contains("id=\"previous-page\""), "no page before the first");
    let next = "/console/graduates?campus=%E5%BB%BA%E5%B7%A5&#38;page=2";
    assert!(first.contains(&format!("href=\"{next}\"")), "the next page keeps the campus: {first}");
    let second = registrar.get(&next.replace("&#38;", "&")).await.text();
    assert!(second.contains("第 101–152 筆，共 152 筆") && second.contains("id=\"previous-page\""), "{second}");
    assert!(!second.contains("id=\"next-page\""), "no page after the last");
    let request = Request::get("/console/graduates?state=issued")
        .header(header::COOKIE, format!("csrf={}; session={}", registrar.csrf, registrar.session.clone().unwrap()));
    let none = app.send(request.body(Body::empty()).unwrap()).await.text();
    assert!(none.contains("id=\"graduates\"") && !none.contains("C11016"), "no one is issued yet");
}

#[tokio::test]
async fn the_outbox_filters_by_state_keeps_to_a_campus_and_words_each_delivery_event() {
    let app = TestApp::new().await;
    let first = issue_for(&app, G1).await;
    issue_for(&app, "C110152303").await;
    let email = app.store.emails(Some(first), 10).await.unwrap()[0].id;
    let now = dcert_web::http::now().unix();
    app.store.email_attempt_failed(email, "550 mailbox unavailable", None, now).await.unwrap();
    let registrar = app.staff("registrar").await;
    let all = registrar.get("/console/outbox").await.text();
    assert!(all.contains("共 4 筆"), "two emails for each of two certificates: {all}");
    let failed = registrar.get("/console/outbox?status=failed").await.text();
    assert!(failed.contains("第 1–1 筆，共 1 筆") && failed.contains(&format!(">{email}</a>")), "{failed}");
    let board = registrar.get("/console").await.text();
    assert!(board.contains("href=\"/console/outbox?status=failed\""), "the dashboard's failures link here");
    let office = app.staff("office-first").await;
    let search = office.get("/console/graduates?q=C110152301").await.text();
    assert!(search.contains("只列出本校區的畢業生"), "a search that finds another campus's student says why: {search}");
    let theirs = office.get("/console/outbox").await.text();
    assert!(theirs.contains("共 2 筆") && !theirs.contains("c110152301"), "only the campus's own: {theirs}");
    let message = registrar.get(&format!("/console/outbox/{email}")).await.text();
    assert!(message.contains("排入寄送") && message.contains("寄送失敗，不再重試"), "{message}");
    assert!(!message.contains(">queued<"), "no English event on a Chinese page");
}

#[tokio::test]
async fn a_form_too_large_for_its_page_is_refused_with_a_page_in_the_persons_language() {
    let app = TestApp::new().await;
    let graduate = app.graduate_client(G1).await;
    let huge = "字".repeat(600_000);
    let r = graduate.post("/portal/correction", &[("term", "113-2"), ("message", &huge)]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    let html = r.text();
    assert!(html.contains("送出的內容太大") && html.contains("id=\"error-home\""), "{html}");
    assert!(!html.contains("length limit"), "not the framework's English: {html}");
}

#[tokio::test]
async fn the_language_switch_in_the_console_comes_back_to_the_same_console_page() {
    let app = TestApp::new().await;
    let registrar = app.staff("registrar").await;
    let page = registrar.get("/console/graduates?state=issued").await.text();
    assert!(page.contains("/lang/en?back=/console/graduates%3Fstate%3Dissued"), "{page}");
}

#[tokio::test]
async fn the_dashboards_overdue_count_lists_the_graduates_whose_certificate_is_overdue() {
    let app = TestApp::new().await;
    let g1 = app.graduate(G1).await;
    app.store.confirm_graduate(g1.id, 1, &crate::support::system("confirm_record")).await.unwrap();
    let registrar = app.staff("registrar").await;
    let long_ago = dcert_web::http::now().taiwan_date().add_days(-30).to_string();
    let r = registrar
        .post(&format!("/console/graduates/{}/diploma", g1.id), &[("language", "zh"), ("date", &long_ago)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let board = registrar.get("/console").await.text();
    assert!(board.contains("state=overdue\">1</a>"), "{board}");
    let overdue = registrar.get("/console/graduates?state=overdue").await.text();
    assert!(overdue.contains(G1) && overdue.contains("共 1 筆"), "{overdue}");
    let waiting = registrar.get("/console/graduates?state=waiting").await.text();
    assert!(waiting.contains(G1), "an overdue certificate is still waiting: {waiting}");
}

#[tokio::test]
async fn a_graduate_whose_sign_in_fails_is_told_whom_to_ask() {
    let app = TestApp::new().await;
    let visitor = app.visitor().await;
    let r = visitor.post("/login", &[("username", G1), ("password", "wrong")]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text().contains("帳號或密碼錯誤。 帳號為學號；忘記密碼請洽所屬校區綜合業務處"), "{}", r.text());
}

#[tokio::test]
async fn a_list_of_collections_says_which_numbers_were_not_recorded_and_why() {
    let app = TestApp::new().await;
    let office = app.staff("office-jiangong").await;
    let day = today();
    let first = office.post("/console/collections", &[("numbers", G1), ("date", &day)]).await;
    assert!(first.location().unwrap().contains("recorded=1"), "{:?}", first.location());
    // G1 again, G2 new, another campus's student and a number nobody has.
    let numbers = format!("{G1} {G2} C110152303 X999");
    let r = office.post("/console/collections", &[("numbers", &numbers), ("date", &day)]).await;
    let page = office.get(r.location().unwrap()).await.text();
    assert!(page.contains("已登記 1 位。"), "{page}");
    assert!(page.contains(&format!("已登記過，未重複登記：{G1}")), "{page}");
    assert!(page.contains("查無此學號（或非本校區的畢業生），未登記：X999 C110152303"), "{page}");
}
