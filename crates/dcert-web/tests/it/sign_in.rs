//! The shared HTTP layer, tried the same way on every door people sign in through: the portal,
//! the university console and the Ministry console. Each case runs against all three.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use dcert_store::{MinistryRole, Role};
use dcert_web::ministry::{MinistryConfig, ministry_router};
use dcert_web::university::{AppState, university_router};
use tower::ServiceExt;

use crate::support::{Reply, TestApp, csrf_first, enc, form, password_of, site, trust_json};

const GRADUATE: &str = "C110152301";
const MINISTRY_ADMIN: &str = "moe-admin";

/// One door: where its form is, what it guards, its cookies and an account that may pass it.
struct Door {
    name: &'static str,
    router: Router,
    login: &'static str,
    logout: &'static str,
    guarded: &'static str,
    session_cookie: &'static str,
    device_cookie: &'static str,
    account: &'static str,
    /// An account of the same site that must not pass this door, with its own sign-in form.
    other_kind: Option<(&'static str, &'static str)>,
}

/// The three doors of a university and a Ministry whose sites trust `proxies` and are served at
/// `https` or plain addresses.
async fn doors(proxies: &[&str], https: bool) -> (TestApp, Vec<Door>) {
    let app = TestApp::new().await;
    let scheme = if https { "https" } else { "http" };
    let mut config = site();
    config.public_url = format!("{scheme}://dcert.nkust.edu.tw");
    config.trusted_proxies = config_proxies(proxies);
    let university = university_router(AppState::new(app.store.clone(), config, app.state.worker.clone()));
    let hash = dcert_web::auth::hash_password(&password_of(MINISTRY_ADMIN));
    app.ministry
        .create_staff(
            &crate::support::account(MINISTRY_ADMIN, "Admin", &hash, Role::Ministry(MinistryRole::Admin), None),
            &crate::support::system("add_staff"),
        )
        .await
        .unwrap();
    let mut moe = MinistryConfig::new(&format!("{scheme}://dcert.moe.gov.tw"));
    moe.trusted_proxies = config_proxies(proxies);
    let ministry = ministry_router(crate::support::ministry_site(app.ministry.clone(), trust_json(), moe));
    let doors = vec![
        Door {
            name: "the portal",
            router: university.clone(),
            login: "/login",
            logout: "/logout",
            guarded: "/portal",
            session_cookie: "session",
            device_cookie: "device",
            account: GRADUATE,
            other_kind: Some(("registrar", "/console/login")),
        },
        Door {
            name: "the university console",
            router: university,
            login: "/console/login",
            logout: "/console/logout",
            guarded: "/console",
            session_cookie: "session",
            device_cookie: "device",
            account: "registrar",
            other_kind: Some((GRADUATE, "/login")),
        },
        Door {
            name: "the Ministry console",
            router: ministry,
            login: "/console/login",
            logout: "/console/logout",
            guarded: "/console",
            session_cookie: "moe_session",
            device_cookie: "moe_device",
            account: MINISTRY_ADMIN,
            other_kind: None,
        },
    ];
    (app, doors)
}

fn config_proxies(proxies: &[&str]) -> dcert_web::http::client::TrustedProxies {
    proxies.iter().map(|p| p.to_string()).collect::<Vec<_>>().try_into().unwrap()
}

/// A browser at one address (or behind a proxy that says it is at one), with its cookies.
struct Browser<'a> {
    door: &'a Door,
    peer: SocketAddr,
    forwarded_for: Option<String>,
    cookies: Vec<(String, String)>,
}

impl<'a> Browser<'a> {
    async fn at(door: &'a Door, peer: &str) -> Browser<'a> {
        let mut b =
            Browser { door, peer: format!("{peer}:50000").parse().unwrap(), forwarded_for: None, cookies: vec![] };
        let first = b.get(door.login).await;
        assert_eq!(first.status, StatusCode::OK, "{}: the sign-in page", door.name);
        b
    }

    fn behind_proxy(mut self, client: &str) -> Self {
        self.forwarded_for = Some(client.into());
        self
    }

    fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    async fn send(&mut self, request: axum::http::request::Builder, body: Body) -> Reply {
        let jar = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let mut request = request.header(header::COOKIE, jar);
        if let Some(f) = &self.forwarded_for {
            request = request.header("x-forwarded-for", f);
        }
        let mut request = request.body(body).unwrap();
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let reply = Reply::read(self.door.router.clone().oneshot(request).await.unwrap()).await;
        for v in reply.headers.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()) {
            let Some((k, rest)) = v.split_once('=') else { continue };
            let value = rest.split(';').next().unwrap_or_default().to_owned();
            self.cookies.retain(|(name, _)| name != k);
            if !value.is_empty() {
                self.cookies.push((k.to_owned(), value));
            }
        }
        reply
    }

    async fn get(&mut self, path: &str) -> Reply {
        self.send(Request::get(path), Body::empty()).await
    }

    /// Posts `fields` with the browser's CSRF token.
    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let csrf = self.cookie("csrf").unwrap_or_default().to_owned();
        let body = form(&csrf_first(&csrf, fields));
        let request = Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        self.send(request, Body::from(body)).await
    }

    async fn sign_in(&mut self, account: &str, password: &str) -> Reply {
        self.post(self.door.login, &[("username", account), ("password", password)]).await
    }
}

#[tokio::test]
async fn every_door_guards_its_pages_until_sign_in_and_again_after_sign_out() {
    let (_app, doors) = doors(&[], false).await;
    for door in &doors {
        let mut b = Browser::at(door, "198.51.100.1").await;
        let r = b.get(door.guarded).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}: not signed in", door.name);
        assert_eq!(r.headers[header::LOCATION], door.login, "{}", door.name);
        let r = b.sign_in(door.account, &password_of(door.account)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}: {}", door.name, r.text());
        assert!(r.cookie(door.session_cookie).is_some(), "{}: a session", door.name);
        assert_eq!(b.get(door.guarded).await.status, StatusCode::OK, "{}: signed in", door.name);
        assert_eq!(b.post(door.logout, &[]).await.status, StatusCode::SEE_OTHER, "{}", door.name);
        assert_eq!(b.get(door.guarded).await.status, StatusCode::SEE_OTHER, "{}: signed out", door.name);
    }
}

#[tokio::test]
async fn every_door_refuses_a_form_without_the_visitors_csrf_token_before_checking_anything() {
    let (_app, doors) = doors(&[], false).await;
    for door in &doors {
        let mut b = Browser::at(door, "198.51.100.1").await;
        b.cookies.retain(|(k, _)| k != "csrf");
        b.cookies.push(("csrf".into(), "x".repeat(43)));
        let r = b.send(
            Request::post(door.login).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded"),
            Body::from(format!("csrf=other&username={}&password={}", door.account, enc(&password_of(door.account)))),
        );
        let r = r.await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", door.name);
        assert!(r.cookie(door.session_cookie).is_none(), "{}: no session", door.name);
    }
}

#[tokio::test]
async fn a_session_of_another_kind_opens_nothing_behind_a_door() {
    let (_app, doors) = doors(&[], false).await;
    for door in &doors {
        let Some((other, form)) = door.other_kind else { continue };
        let mut b = Browser::at(door, "198.51.100.1").await;
        let r = b.post(form, &[("username", other), ("password", &password_of(other))]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}: {other} signs in at {form}", door.name);
        assert_eq!(
            b.get(door.guarded).await.status,
            StatusCode::SEE_OTHER,
            "{}: {other} is sent to sign in",
            door.name
        );
    }
    // The Ministry console takes no university session, even with the right cookie name.
    let (ministry, university) = (&doors[2], &doors[1]);
    let mut staff = Browser::at(university, "198.51.100.1").await;
    staff.sign_in("registrar", &password_of("registrar")).await;
    let token = staff.cookie("session").unwrap().to_owned();
    let mut b = Browser::at(ministry, "198.51.100.1").await;
    b.cookies.push(("moe_session".into(), token));
    assert_eq!(b.get("/console").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn five_wrong_passwords_hold_an_account_back_from_new_devices_but_not_from_its_own() {
    let (_app, doors) = doors(&[], false).await;
    for door in &doors {
        let password = password_of(door.account);
        // The account's owner signed in from this device yesterday.
        let mut owner = Browser::at(door, "10.1.1.1").await;
        assert_eq!(owner.sign_in(door.account, &password).await.status, StatusCode::SEE_OTHER, "{}", door.name);
        assert!(owner.cookie(door.device_cookie).is_some(), "{}: a device cookie", door.name);
        owner.post(door.logout, &[]).await;
        let mut attacker = Browser::at(door, "203.0.113.66").await;
        for _ in 0..5 {
            let r = attacker.sign_in(door.account, "wrong").await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", door.name);
        }
        let r = attacker.sign_in(door.account, &password).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}: even the right password", door.name);
        let wait: u64 = r.headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
        assert!((800..=900).contains(&wait), "{}: {wait} s", door.name);
        assert!(r.text().contains("分鐘後再試"), "{}", door.name);
        let mut new_laptop = Browser::at(door, "10.1.1.2").await;
        assert_eq!(new_laptop.sign_in(door.account, &password).await.status, StatusCode::TOO_MANY_REQUESTS);
        // The owner's device passes, even from the attacker's own network.
        owner.peer = "203.0.113.66:50001".parse().unwrap();
        let r = owner.sign_in(door.account, &password).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}: the known device signs in: {}", door.name, r.text());
        assert_eq!(owner.get(door.guarded).await.status, StatusCode::OK, "{}", door.name);
    }
}

#[tokio::test]
async fn thirty_failures_hold_back_the_client_that_made_them_and_no_client_beside_it() {
    let (_app, doors) = doors(&[], false).await;
    // The portal and the university console are one site, and count a client's failures together.
    for (n, door) in doors.iter().enumerate() {
        let mut guesser = Browser::at(door, &format!("203.0.113.{}", 10 + n)).await;
        for i in 0..30 {
            let r = guesser.sign_in(&format!("nobody-{i}"), "wrong").await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", door.name);
        }
        let r = guesser.sign_in(door.account, &password_of(door.account)).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", door.name);
        let mut neighbour = Browser::at(door, &format!("203.0.113.{}", 20 + n)).await;
        let r = neighbour.sign_in(door.account, &password_of(door.account)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}: another client signs in", door.name);
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_is_counted_apart_and_a_forged_header_is_ignored() {
    let (_app, doors) = doors(&["10.0.0.1"], false).await;
    for door in &doors {
        // Thirty failures from one client behind the proxy...
        let mut guesser = Browser::at(door, "10.0.0.1").await.behind_proxy("203.0.113.66");
        for i in 0..30 {
            guesser.sign_in(&format!("nobody-{i}"), "wrong").await;
        }
        assert_eq!(
            guesser.sign_in(door.account, &password_of(door.account)).await.status,
            StatusCode::TOO_MANY_REQUESTS
        );
        // ...leave everyone else behind the same proxy signing in.
        let mut colleague = Browser::at(door, "10.0.0.1").await.behind_proxy("198.51.100.20");
        let r = colleague.sign_in(door.account, &password_of(door.account)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}: {}", door.name, r.text());
        // Straight from the internet, X-Forwarded-For is the client's own claim: not believed.
        let mut direct = Browser::at(door, "203.0.113.66").await.behind_proxy("198.51.100.99");
        for i in 0..30 {
            direct.sign_in(&format!("someone-{i}"), "wrong").await;
        }
        let mut liar = Browser::at(door, "203.0.113.66").await.behind_proxy("198.51.100.100");
        let r = liar.sign_in(door.account, &password_of(door.account)).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}: the peer is the client", door.name);
    }
}

#[tokio::test]
async fn cookies_are_secure_by_default_on_an_https_site_and_not_on_a_plain_one() {
    for https in [true, false] {
        let (_app, doors) = doors(&[], https).await;
        for door in &doors {
            let mut b = Browser::at(door, "198.51.100.1").await;
            let r = b.sign_in(door.account, &password_of(door.account)).await;
            for name in [door.session_cookie, "csrf", door.device_cookie] {
                let line = r.set_cookie(name).unwrap_or_else(|| panic!("{}: {name} is set", door.name));
                assert_eq!(line.contains("; Secure"), https, "{}: {line}", door.name);
                assert!(line.contains("HttpOnly"), "{}: {line}", door.name);
            }
        }
    }
}

#[tokio::test]
async fn healthz_answers_503_on_every_site_when_its_database_does_not() {
    let (app, doors) = doors(&[], false).await;
    let (university, ministry) = (&doors[0], &doors[2]);
    for door in [university, ministry] {
        let mut b = Browser::at(door, "198.51.100.1").await;
        let r = b.get("/healthz").await;
        assert_eq!((r.status, r.text().as_str()), (StatusCode::OK, "ok\n"), "{}", door.name);
    }
    // The databases go away under the running sites.
    app.store.close().await;
    app.ministry.close().await;
    for door in [university, ministry] {
        let mut b = Browser { door, peer: "198.51.100.1:50000".parse().unwrap(), forwarded_for: None, cookies: vec![] };
        let r = b.get("/healthz").await;
        assert_eq!(
            (r.status, r.text().as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n"),
            "{}",
            door.name
        );
    }
}
