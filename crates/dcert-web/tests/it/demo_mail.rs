//! `dcert demo`'s mailbox (示範信箱): the outbox as its recipients would read it, on the site
//! `demo_university_router` serves and on no other.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use dcert_core::model::Language;
use dcert_store::NewEmail;
use dcert_web::university::mail::attachment_name;
use dcert_web::university::{demo_university_router, university_router};
use tower::ServiceExt;

use crate::support::{Reply, TestApp, issue_for, system};

const G1: &str = "C110152301";
const BANNER_ZH: &str = "示範信箱（僅供展示，正式系統不會有此頁面）";
const BANNER_EN: &str = "Demonstration mailbox (for the demo only; the real system has no such page)";

/// GET `path` on the site with the mailbox, with `cookies` (none when empty).
async fn get(app: &TestApp, path: &str, cookies: &str) -> Reply {
    let mut request = Request::get(path);
    if !cookies.is_empty() {
        request = request.header(header::COOKIE, cookies);
    }
    let response = demo_university_router(app.state.clone()).oneshot(request.body(Body::empty()).unwrap()).await;
    Reply::read(response.unwrap()).await
}

/// A page of the mailbox, which must answer 200 and say it is a demonstration.
async fn page(app: &TestApp, path: &str, cookies: &str) -> String {
    let r = get(app, path, cookies).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
    let html = r.text();
    let banner = if cookies.contains("lang=en") { BANNER_EN } else { BANNER_ZH };
    assert!(html.contains(banner), "{path} says it is a demonstration: {html}");
    html
}

/// The values of the `href` attributes in `html`, as a browser reads them.
fn hrefs(html: &str) -> Vec<String> {
    html.split("href=\"").skip(1).map(|rest| rest[..rest.find('"').unwrap()].replace("&amp;", "&")).collect()
}

/// The links to messages on an address's page.
fn message_links(html: &str) -> Vec<String> {
    hrefs(html).into_iter().filter(|h| h.starts_with("/demo/mail/messages/") && !h.ends_with("/attachment")).collect()
}

/// The message's text, between `<pre class="mail" id="body">` and `</pre>`.
fn body_of(html: &str) -> &str {
    let start = html.find("<pre class=\"mail\" id=\"body\">").expect("the message's body");
    let rest = &html[start..];
    &rest[..rest.find("</pre>").unwrap()]
}

#[tokio::test]
async fn an_address_change_arrives_in_the_mailbox_and_its_link_confirms_the_address() {
    let app = TestApp::new().await;
    let g = app.graduate_client(G1).await;
    let r = g.post("/portal/email", &[("term", "113-2"), ("address", "new.address@example.net")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());

    let addresses = page(&app, "/demo/mail", "").await;
    assert!(addresses.contains(">new.address@example.net</a>"), "{addresses}");
    let inbox = "/demo/mail/inbox?address=new.address%40example.net";
    assert!(hrefs(&addresses).contains(&inbox.to_owned()), "{addresses}");

    let list = page(&app, inbox, "").await;
    let links = message_links(&list);
    assert_eq!(links.len(), 1, "one message to the new address: {list}");
    assert!(list.contains("請確認您的永久電子信箱"), "its subject: {list}");
    assert!(list.contains("未寄出"), "without a mail server, it says so: {list}");

    let message = page(&app, &links[0], "").await;
    assert!(message.contains("new.address@example.net"), "{message}");
    let confirm: Vec<String> =
        hrefs(body_of(&message)).into_iter().filter(|h| h.starts_with("/email/confirm?token=")).collect();
    assert_eq!(confirm.len(), 2, "the link in both languages, each a path of this site: {message}");
    assert_eq!(confirm[0], confirm[1]);

    // Opening the mail changed nothing: it waits in the outbox, neither sent nor failed.
    let id: i64 = links[0].rsplit('/').next().unwrap().parse().unwrap();
    let queued = app.store.email(id).await.unwrap().unwrap();
    assert_eq!((queued.status.as_str(), queued.attempts), ("pending", 0));
    let log: Vec<String> = app.store.delivery_log(id).await.unwrap().into_iter().map(|e| e.event).collect();
    assert_eq!(log, ["queued"]);

    // The recipient follows the link: the address is confirmed, once.
    assert_eq!(app.graduate(G1).await.permanent_email.as_deref(), Some("wang.hsiao-ming@example.org"));
    let opened = get(&app, &confirm[0], "").await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.text());
    assert!(opened.text().contains("永久信箱已更新"), "{}", opened.text());
    assert_eq!(app.graduate(G1).await.permanent_email.as_deref(), Some("new.address@example.net"));
    assert_eq!(get(&app, &confirm[0], "").await.status, StatusCode::BAD_REQUEST, "a link works once");
}

#[tokio::test]
async fn a_certificate_emails_attachment_downloads_with_the_stored_files_exact_bytes() {
    let app = TestApp::new().await;
    let certificate = issue_for(&app, G1).await;
    let stored = app.store.certificate_file(certificate).await.unwrap();
    let info = app.store.certificate(certificate).await.unwrap().unwrap();
    let name = attachment_name(&info.number, Language::Zh, 1);
    let emails = app.store.emails(Some(certificate), 10).await.unwrap();
    let mut to: Vec<&str> = emails.iter().map(|m| m.to.as_str()).collect();
    to.sort_unstable();
    assert_eq!(to, ["c110152301@nkust.edu.tw", "wang.hsiao-ming@example.org"], "both addresses");

    for m in &emails {
        let list = page(&app, &format!("/demo/mail/inbox?address={}", m.to.replace('@', "%40")), "").await;
        assert!(list.contains("附證書檔案"), "{list}");
        let message = page(&app, &format!("/demo/mail/messages/{}", m.id), "").await;
        let download = format!("/demo/mail/messages/{}/attachment", m.id);
        assert!(hrefs(&message).contains(&download), "{message}");
        assert!(message.contains(&format!(">{name}</a>")), "the attachment's name: {message}");
        let file = get(&app, &download, "").await;
        assert_eq!(file.status, StatusCode::OK);
        assert_eq!(file.headers[header::CONTENT_TYPE], "application/pdf");
        assert_eq!(
            file.headers[header::CONTENT_DISPOSITION].to_str().unwrap(),
            format!("attachment; filename=\"{name}\"")
        );
        assert!(file.body == stored, "the stored file, byte for byte ({} and {} bytes)", file.body.len(), stored.len());
        assert_eq!(app.store.email(m.id).await.unwrap().unwrap().status, "pending", "downloading sends nothing");
    }

    let g = app.graduate_client(G1).await;
    g.post("/portal/email", &[("term", "113-2"), ("address", "other@example.net")]).await;
    let confirmation = app.store.emails_to("other@example.net", 1).await.unwrap().remove(0);
    let none = get(&app, &format!("/demo/mail/messages/{}/attachment", confirmation.id), "").await;
    assert_eq!(none.status, StatusCode::NOT_FOUND, "a message without a file has no attachment");
    assert_eq!(get(&app, "/demo/mail/messages/999999", "").await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&app, "/demo/mail/messages/999999/attachment", "").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_mailbox_is_in_chinese_by_default_and_in_english_when_chosen() {
    let app = TestApp::new().await;
    let certificate = issue_for(&app, G1).await;
    let m = app.store.emails(Some(certificate), 1).await.unwrap().remove(0);
    let paths = [
        "/demo/mail".to_owned(),
        format!("/demo/mail/inbox?address={}", m.to.replace('@', "%40")),
        format!("/demo/mail/messages/{}", m.id),
    ];
    for path in &paths {
        let zh = page(&app, path, "").await;
        assert!(zh.contains("<html lang=\"zh-Hant-TW\">"), "{path}");
        assert!(!zh.contains(BANNER_EN), "{path}");
        let en = page(&app, path, "lang=en").await;
        assert!(en.contains("<html lang=\"en\">"), "{path}");
        assert!(!en.contains(BANNER_ZH), "{path}");
    }
    let zh = page(&app, &paths[0], "").await;
    assert!(zh.contains("<title>示範信箱") && zh.contains("有信件的信箱"), "{zh}");
    let en = page(&app, &paths[0], "lang=en").await;
    assert!(en.contains("<title>Demonstration mailbox") && en.contains("Addresses with mail"), "{en}");
    let en = page(&app, &paths[2], "lang=en").await;
    assert!(en.contains("Not sent: the demo has no mail server"), "{en}");
    assert!(en.contains("<dt>Attachment</dt>"), "{en}");
}

#[tokio::test]
async fn a_hostile_link_in_a_message_is_shown_as_text() {
    let app = TestApp::new().await;
    let body = "javascript:alert(1)\n\
                http://evil.example/steal?token=x\n\
                http://localhost:8080.evil.example/portal\n\
                http://localhost:8080@evil.example/portal\n\
                http://localhost:8080//evil.example/portal\n\
                http://localhost:8081/verify\n\
                <script>alert(1)</script>\n\
                <a href=\"http://evil.example/\">click</a>\n\
                http://localhost:8080/portal\n";
    let email = NewEmail {
        kind: "confirm_address".into(),
        to: "someone@example.org".into(),
        subject: "<b onmouseover=alert(1)>hello</b>".into(),
        body: body.into(),
    };
    let now = dcert_web::http::now().unix();
    app.store.queue_emails(None, &[email], now, &system("request_address_change")).await.unwrap();
    let id = app.store.emails_to("someone@example.org", 1).await.unwrap()[0].id;

    let list = page(&app, "/demo/mail/inbox?address=someone%40example.org", "").await;
    let subject = "<b onmouseover=alert(1)>hello</b>";
    assert!(
        !list.contains("<b onmouseover") && crate::support::unescape(&list).contains(subject),
        "the subject is text: {list}"
    );
    let message = page(&app, &format!("/demo/mail/messages/{id}"), "").await;
    assert!(!message.contains("<b onmouseover") && crate::support::unescape(&message).contains(subject), "{message}");
    let shown = body_of(&message);
    assert_eq!(hrefs(shown), ["/portal"], "the only link is to this site's own page: {shown}");
    assert!(!shown.contains("<script") && !shown.contains("<a href=\"http://evil"), "{shown}");
    let inside = &shown[shown.find('>').unwrap() + 1..];
    let text = crate::support::unescape(&inside.replace("<a href=\"/portal\">", "").replace("</a>", ""));
    assert_eq!(text, body, "all of it shown, as text (the one real link's tags aside)");
    for text in ["javascript:alert(1)", "evil.example/steal", "localhost:8080.evil.example", "localhost:8081/verify"] {
        assert!(shown.contains(text), "{text} is still shown, as text: {shown}");
    }
    assert!(!shown.contains("<a href=\"http") && !shown.contains("<a href=\"javascript"), "{shown}");
}

#[tokio::test]
async fn a_site_without_the_opt_in_has_no_mailbox() {
    let app = TestApp::new().await;
    let certificate = issue_for(&app, G1).await;
    let m = app.store.emails(Some(certificate), 1).await.unwrap().remove(0);
    let paths = [
        "/demo/mail".to_owned(),
        "/demo/mail/".to_owned(),
        format!("/demo/mail/inbox?address={}", m.to.replace('@', "%40")),
        format!("/demo/mail/messages/{}", m.id),
        format!("/demo/mail/messages/{}/attachment", m.id),
    ];
    for path in &paths {
        let request = Request::get(path.as_str()).body(Body::empty()).unwrap();
        let r = Reply::read(university_router(app.state.clone()).oneshot(request).await.unwrap()).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        let text = r.text();
        assert!(!text.contains(&m.to) && !text.contains("示範信箱") && !text.contains("%PDF"), "{path}: {text}");
    }
    // The same paths on the demo's site, for contrast (the one with a trailing slash aside).
    for path in paths.iter().filter(|p| !p.ends_with('/')) {
        assert_eq!(get(&app, path, "").await.status, StatusCode::OK, "{path}");
    }
    // Signed in or not, the portal and the console of a real site do not point to it.
    let g = app.graduate_client(G1).await;
    assert!(!g.get("/portal").await.text().contains("/demo/mail"));
    let registrar = app.staff("registrar").await;
    assert!(!registrar.get("/console/outbox").await.text().contains("/demo/mail"));
}
