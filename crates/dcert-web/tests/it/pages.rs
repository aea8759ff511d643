//! Every page of the three sites in a real browser, as a person meets them: in Chinese and in
//! English, on a phone (390×844, and 360 px wide for the narrowest phones) and on a desktop
//! (1280×1000). On each: axe-core finds no WCAG 2.1 A or AA violation, nothing is wider than
//! the phone's screen (a data table may scroll inside its own region), and a screenshot is saved
//! to `target/screenshots/pages/{phone,desktop}/`. The last tour to finish draws the contact
//! sheet of every phone screenshot, `target/screenshots/contact-sheet.png`.
//!
//! axe-core is not part of the build: `scripts/test` fetches the pinned release from the npm
//! registry (and checks its hash); `DCERT_AXE_JS` names another copy. Without it these tests
//! fail, saying how to get it.

use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::browser::{Browser, screenshot_dir};
use crate::support::{TestApp, issue_for};

/// A phone's screen (an iPhone 12 to 15), and the narrowest phones' width.
const PHONE: (u32, u32) = (390, 844);
const NARROWEST: u32 = 360;
const DESKTOP: (u32, u32) = (1280, 1000);

/// The rules axe-core runs: WCAG 2.0 and 2.1, levels A and AA.
const AXE_RUN: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, {
  runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
  resultTypes: ["violations"],
}).then(
  (r) => done(r.violations.map((v) => ({
    rule: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.slice(0, 4).map((n) => n.target.join(" ") + " — " + (n.failureSummary || "").replace(/\s+/g, " ").slice(0, 240)),
  }))),
  (e) => done([{ rule: "axe-error", help: String(e), nodes: [] }]),
);
"#;

/// The elements that reach past the right edge of the screen, outside any region of their own
/// that scrolls sideways (where a wide data table may live).
const OVERFLOW: &str = r##"
const width = document.documentElement.clientWidth;
const wide = [];
if (document.documentElement.scrollWidth > width) {
  wide.push("the page is " + document.documentElement.scrollWidth + " px wide");
}
const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
  (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "");
for (const el of document.body.querySelectorAll("*")) {
  const box = el.getBoundingClientRect();
  if (box.width === 0 || box.height === 0 || box.right <= width + 1) continue;
  let scrolls = false;
  for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
    const o = getComputedStyle(p).overflowX;
    if (o === "auto" || o === "scroll") { scrolls = true; break; }
  }
  if (!scrolls) wide.push(name(el) + " reaches " + Math.round(box.right) + " px");
  if (wide.length >= 8) break;
}
return wide;
"##;

/// axe-core's source, read once.
fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = std::env::var_os("DCERT_AXE_JS").map(PathBuf::from).unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/tools/axe-core/axe.min.js")
        });
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "axe-core is not at {} ({e}): run scripts/test, which fetches it, or set DCERT_AXE_JS",
                path.display()
            )
        })
    })
}

/// What went wrong on the pages of one tour, all reported together at its end.
#[derive(Default)]
struct Findings(Vec<String>);

impl Findings {
    fn assert_none(self, tour: &str) {
        assert!(self.0.is_empty(), "{tour}: {} problems:\n{}", self.0.len(), self.0.join("\n"));
    }
}

/// Where one size's screenshots go.
fn shots(size: &str) -> PathBuf {
    let dir = screenshot_dir().join("pages").join(size);
    std::fs::create_dir_all(&dir).expect("create the screenshot directory");
    dir
}

impl Browser {
    /// Makes the page `width` px wide inside. A loaded browser may apply a new window size late,
    /// or with a frame around it: measure, correct, and try again a few times.
    async fn resize(&self, (width, height): (u32, u32)) {
        let mut outer = width;
        let mut inner = 0;
        for _ in 0..10 {
            self.client.set_window_size(outer, height).await.unwrap_or_else(|e| panic!("resize to {width}: {e}"));
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let measured = self.client.execute("return window.innerWidth", vec![]).await.unwrap();
            inner = measured.as_u64().unwrap_or(0) as u32;
            if inner == width {
                return;
            }
            outer = (outer + width).saturating_sub(inner).max(width);
        }
        panic!("{}: the window is {inner} px wide inside, not {width}", self.name);
    }

    /// axe-core's violations on the page shown, one line each.
    async fn axe(&self) -> Vec<String> {
        self.client.execute(axe_source(), vec![]).await.unwrap_or_else(|e| panic!("load axe-core: {e}"));
        let found = self.client.execute_async(AXE_RUN, vec![]).await.unwrap_or_else(|e| panic!("run axe-core: {e}"));
        let Value::Array(violations) = found else { panic!("axe-core answered {found}") };
        violations
            .iter()
            .map(|v| {
                let nodes: Vec<&str> = v["nodes"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                format!("{} ({}): {}\n      {}", v["rule"], v["impact"], v["help"], nodes.join("\n      "))
            })
            .collect()
    }

    /// Presses Tab, as a person on a keyboard does.
    async fn press_tab(&self) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let tab = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: '\u{E004}' })
            .then(KeyAction::Up { value: '\u{E004}' });
        self.client.perform_actions(tab).await.unwrap_or_else(|e| panic!("press Tab: {e}"));
    }

    async fn overflow(&self) -> Vec<String> {
        let wide = self.client.execute(OVERFLOW, vec![]).await.unwrap();
        wide.as_array().into_iter().flatten().filter_map(|w| w.as_str().map(str::to_owned)).collect()
    }

    /// Checks the page shown (after `load` brings it) at each size and in the current language;
    /// `file` names its screenshots.
    async fn check_page(&self, file: &str, findings: &mut Findings) {
        self.resize(PHONE).await;
        for problem in self.overflow().await {
            findings.0.push(format!("{file} at 390 px: {problem}"));
        }
        for violation in self.axe().await {
            findings.0.push(format!("{file} at 390 px: {violation}"));
        }
        self.save(&shots("phone").join(format!("{file}.png"))).await;
        self.resize((NARROWEST, PHONE.1)).await;
        for problem in self.overflow().await {
            findings.0.push(format!("{file} at 360 px: {problem}"));
        }
        self.resize(DESKTOP).await;
        for violation in self.axe().await {
            findings.0.push(format!("{file} at 1280 px: {violation}"));
        }
        self.save(&shots("desktop").join(format!("{file}.png"))).await;
    }

    async fn save(&self, path: &std::path::Path) {
        let png = self.client.screenshot().await.unwrap_or_else(|e| panic!("screenshot: {e}"));
        std::fs::write(path, png).unwrap();
    }

    /// Removes the screenshots an earlier run left of the pages of `site` (named `{site}-…`),
    /// so that the contact sheet shows only pages that still exist.
    fn forget_screenshots(site: &str) {
        for size in ["phone", "desktop"] {
            for entry in std::fs::read_dir(shots(size)).unwrap().flatten() {
                if entry.file_name().to_string_lossy().starts_with(&format!("{site}-")) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
    }

    /// Visits each of `pages` (`(file name, path)`) in both languages and checks it.
    async fn tour(&self, site: &str, pages: &[(&str, String)], findings: &mut Findings) {
        for lang in ["zh", "en"] {
            self.goto(&format!("/lang/{lang}?back=/")).await;
            for (page, path) in pages {
                self.goto(path).await;
                self.find("main").await;
                self.check_page(&format!("{site}-{page}-{lang}"), findings).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_portal_page_passes_axe_and_fits_a_phone_in_both_languages() {
    let app = TestApp::new().await;
    issue_for(&app, "C110152301").await;
    Browser::forget_screenshots("portal");
    let b = Browser::open(&app, "every_portal_page_passes_axe_and_fits_a_phone").await;
    let mut findings = Findings::default();
    let public: Vec<(&str, String)> = vec![
        ("home", "/".into()),
        ("login", "/login".into()),
        ("contact", "/contact".into()),
        ("not-found", "/no-such-page".into()),
        ("email-link-invalid", "/email/confirm?token=not-a-token".into()),
    ];
    b.tour("portal", &public, &mut findings).await;
    b.sign_in("/login", "C110152301", "/portal").await;
    b.tour("portal", &[("certificates", "/portal".into())], &mut findings).await;
    b.sign_in("/login", "C110152302", "/portal").await;
    b.tour("portal", &[("to-confirm", "/portal".into())], &mut findings).await;
    b.finish().await;
    contact_sheet().await;
    findings.assert_none("the portal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_demo_mailbox_page_passes_axe_and_fits_a_phone_in_both_languages() {
    let app = TestApp::new().await;
    let certificate = issue_for(&app, "C110152301").await;
    let email = app.store.emails(Some(certificate), 1).await.unwrap().remove(0);
    let graduate = app.graduate_client("C110152301").await;
    graduate.post("/portal/email", &[("term", "113-2"), ("address", "new.address@example.net")]).await;
    let confirmation = app.store.emails_to("new.address@example.net", 1).await.unwrap().remove(0);
    Browser::forget_screenshots("mailbox");
    let router = dcert_web::university::demo_university_router(app.state.clone());
    let b = Browser::open_router(router, "every_demo_mailbox_page_passes_axe_and_fits_a_phone", true).await;
    let mut findings = Findings::default();
    let pages: Vec<(&str, String)> = vec![
        ("addresses", "/demo/mail".into()),
        ("inbox", format!("/demo/mail/inbox?address={}", email.to.replace('@', "%40"))),
        ("certificate", format!("/demo/mail/messages/{}", email.id)),
        ("confirmation", format!("/demo/mail/messages/{}", confirmation.id)),
    ];
    b.tour("mailbox", &pages, &mut findings).await;
    b.finish().await;
    contact_sheet().await;
    findings.assert_none("the demo mailbox");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_university_console_page_passes_axe_and_fits_a_phone_in_both_languages() {
    let mut app = TestApp::new().await;
    let certificate = issue_for(&app, "C110152301").await;
    let graduate = app.graduate("C110152301").await.id;
    let email = app.store.emails(Some(certificate), 1).await.unwrap()[0].id;
    // The log watch with everything it can show at once, as a check saved it: a forked log's
    // evidence (two long signed notes) and a record the school did not issue.
    app.state = app.state.clone().with_log_watch("https://dcert.moe.gov.tw", &app.trust);
    let signature = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/".repeat(3);
    let note = |root: &str| format!("dcert.moe.gov.tw/log\n12\n{root}=\n\n\u{2014} dcert.moe.gov.tw/log {signature}\n");
    let seen = serde_json::json!({
        "checkpoint": note("q3Zr6b2vJ8kYfQ0nH7p1sX4mC9wE5tLdGiAaBcDeFgH"),
        "edge": [],
        "unknown": [{
            "index": 11, "event": "issued", "fileSha256": "e".repeat(64), "certificate": "c".repeat(64),
            "at": 1_760_000_000,
        }],
    });
    let alarm = serde_json::json!({
        "at": 1_760_000_100, "kind": "forked", "detail": "two different trees of 12 records",
        "previous": note("q3Zr6b2vJ8kYfQ0nH7p1sX4mC9wE5tLdGiAaBcDeFgH"),
        "current": note("z9Zr6b2vJ8kYfQ0nH7p1sX4mC9wE5tLdGiAaBcDeFgH"),
    });
    let checked = serde_json::json!({
        "at": 1_760_000_000, "origin": "dcert.moe.gov.tw/log", "size": 12, "new_leaves": 12, "ours": 12,
    });
    let settings = [
        ("log_monitor", seen.to_string()),
        ("log_monitor_alarm", alarm.to_string()),
        ("log_monitor_checked", checked.to_string()),
    ];
    let pairs: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.store.set_settings(&pairs, &crate::support::system("check_log")).await.unwrap();
    Browser::forget_screenshots("console");
    let b = Browser::open(&app, "every_university_console_page_passes_axe_and_fits_a_phone").await;
    let mut findings = Findings::default();
    b.tour("console", &[("login", "/console/login".into())], &mut findings).await;
    b.sign_in("/console/login", "registrar", "/console").await;
    let pages: Vec<(&str, String)> = vec![
        ("dashboard", "/console".into()),
        ("graduates", "/console/graduates".into()),
        ("graduate", format!("/console/graduates/{graduate}")),
        ("import", "/console/import".into()),
        ("calendar", "/console/calendar".into()),
        ("corrections", "/console/corrections".into()),
        ("outbox", "/console/outbox".into()),
        ("email", format!("/console/outbox/{email}")),
        ("reissue", format!("/console/certificates/{certificate}/reissue")),
        ("revoke", format!("/console/certificates/{certificate}/revoke")),
        ("refused", "/console/policy".into()),
    ];
    b.tour("console", &pages, &mut findings).await;
    b.sign_in("/console/login", "admin", "/console").await;
    let pages: Vec<(&str, String)> = vec![
        ("policy", "/console/policy".into()),
        ("templates", "/console/templates".into()),
        ("audit", "/console/audit".into()),
        ("log", "/console/log".into()),
    ];
    b.tour("console", &pages, &mut findings).await;
    b.finish().await;
    contact_sheet().await;
    findings.assert_none("the university console");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_verification_site_page_and_result_passes_axe_and_fits_a_phone_in_both_languages() {
    Browser::forget_screenshots("verify");
    let (app, dir, files, b) = crate::browser::ministry_with_samples("every_verification_site_page", true).await;
    let mut findings = Findings::default();
    let g2 = app.graduate("C110152302").await.id;
    let cert = app.store.latest_certificate(g2, dcert_core::model::Language::Zh).await.unwrap().unwrap();
    let pages: Vec<(&str, String)> = vec![
        ("verify", "/".into()),
        ("about", "/about".into()),
        ("developers", "/developers".into()),
        ("news", "/news".into()),
        ("faq", "/faq".into()),
        ("issuers", "/issuers".into()),
        ("issuer", "/issuers/nkust".into()),
        // Where a printout's QR code leads (without its seal: the status alone).
        ("scanned", format!("/v/nkust/{}/zh/1", cert.number)),
        ("scan", "/scan".into()),
        ("not-found", "/no-such-page".into()),
    ];
    b.tour("verify", &pages, &mut findings).await;
    let photo = dir.0.join("photo.png");
    std::fs::write(&photo, PNG_PIXEL).unwrap();
    let mut uploads: Vec<(&str, PathBuf)> = files.iter().map(|(name, path, _, _)| (*name, path.clone())).collect();
    uploads.push(("photo.png", photo));
    // A receipt kept from an earlier verification, uploaded to be checked.
    let report = dcert_core::verify::verify(
        &files[0].2,
        &app.trust,
        &dcert_core::status::Offline,
        dcert_web::http::now(),
        &Default::default(),
    );
    let receipt = dcert_core::receipt::sign(
        &report,
        None,
        dcert_web::http::now(),
        crate::support::REGISTRY,
        &crate::support::root().status_key,
    )
    .unwrap();
    let receipt_path = dir.0.join("receipt.json");
    std::fs::write(&receipt_path, serde_json::to_vec(&receipt).unwrap()).unwrap();
    uploads.push(("receipt.json", receipt_path));
    for lang in ["zh", "en"] {
        for (name, path) in &uploads {
            b.open_in(lang).await;
            b.find("#file").await.send_keys(&path.display().to_string()).await.unwrap();
            b.click("#verify-button").await;
            b.wait_path("/verify").await;
            b.find("main").await;
            let page = format!("verify-result-{}-{lang}", name.split('.').next().unwrap_or(name));
            b.check_page(&page, &mut findings).await;
        }
    }
    // A photo of a printout, taken through the scan page: the seal's data and status.
    let printed = dir.0.join("printed.png");
    std::fs::write(&printed, crate::support::picture_of(&std::fs::read(&files[0].1).unwrap())).unwrap();
    for lang in ["zh", "en"] {
        b.open_in(lang).await;
        b.goto("/scan").await;
        b.find("#photo").await.send_keys(&printed.display().to_string()).await.unwrap();
        b.click("#scan-button").await;
        b.wait_path("/verify").await;
        b.find("#photo-scope").await;
        b.check_page(&format!("verify-photo-{lang}"), &mut findings).await;
    }
    b.finish().await;
    contact_sheet().await;
    findings.assert_none("the verification site");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ministry_console_page_passes_axe_and_fits_a_phone_in_both_languages() {
    let app = TestApp::new().await;
    crate::ministry_console::onboard_directly(&app.ministry, 7).await;
    let hash = dcert_web::auth::hash_password(&crate::support::password_of("moe-admin"));
    let admin = crate::support::account(
        "moe-admin",
        "Ministry administrator",
        &hash,
        dcert_store::Role::Ministry(dcert_store::MinistryRole::Admin),
        None,
    );
    app.ministry.create_staff(&admin, &crate::support::system("add_staff")).await.unwrap();
    Browser::forget_screenshots("moe-console");
    let b = crate::browser::ministry_console(&app, "every_ministry_console_page_passes_axe_and_fits_a_phone").await;
    let mut findings = Findings::default();
    b.tour("moe-console", &[("login", "/console/login".into())], &mut findings).await;
    b.sign_in("/console/login", "moe-admin", "/console").await;
    let mut pages: Vec<(&str, String)> = vec![
        ("statistics", "/console".into()),
        ("news", "/console/news".into()),
        ("news-new", "/console/news/new".into()),
        ("faq", "/console/faq".into()),
        ("faq-new", "/console/faq/new".into()),
        ("teacher", "/console/teacher".into()),
        ("institutions", "/console/institutions".into()),
        ("onboard", "/console/institutions/onboard".into()),
        ("rotate", "/console/institutions/rotate".into()),
        ("institution-edit", "/console/institutions/nkust/edit".into()),
        ("audit", "/console/audit".into()),
    ];
    let faq = app.ministry.faq().await.unwrap();
    if let Some(first) = faq.first() {
        pages.push(("faq-edit", format!("/console/faq/{}", first.id)));
    }
    b.tour("moe-console", &pages, &mut findings).await;
    b.finish().await;
    contact_sheet().await;
    findings.assert_none("the Ministry console");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tabbing_through_the_upload_form_always_shows_where_the_focus_is() {
    let app = TestApp::new().await;
    let b = crate::browser::ministry(&app, "tabbing_through_the_upload_form", true).await;
    for lang in ["zh", "en"] {
        b.open_in(lang).await;
        b.resize(PHONE).await;
        b.client.execute("document.activeElement.blur(); window.scrollTo(0, 0)", vec![]).await.unwrap();
        let mut seen = Vec::new();
        for _ in 0..40 {
            b.press_tab().await;
            let focus = b.client.execute(FOCUS, vec![]).await.unwrap();
            let name = focus["name"].as_str().unwrap_or_default().to_owned();
            assert!(
                focus["visible"] == json!(true),
                "{lang}: the focus on {name} cannot be seen: {focus}\n(after {seen:?})"
            );
            seen.push(name.clone());
            if name.contains("#verify-button") {
                break;
            }
        }
        assert!(seen.iter().any(|n| n.starts_with("a.skip")), "{lang}: the skip link comes first: {seen:?}");
        assert!(seen.iter().any(|n| n.contains("#file")), "{lang}: the file field is reached: {seen:?}");
        assert!(seen.iter().any(|n| n.contains("#verify-button")), "{lang}: the button is reached: {seen:?}");
    }
    b.finish().await;
}

/// Whether the focused element can be seen: on the screen, not transparent, with an outline or
/// a ring (box shadow) that only focus gives it.
const FOCUS: &str = r##"
const el = document.activeElement;
const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className ? "." + String(el.className).trim().split(/\s+/).join(".") : "");
const box = el.getBoundingClientRect();
const style = getComputedStyle(el);
const ring = (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2) || style.boxShadow !== "none";
const visible = el !== document.body && box.width >= 8 && box.height >= 8 && parseFloat(style.opacity) > 0.5
  && style.visibility === "visible" && box.bottom > 0 && box.top < window.innerHeight && box.left >= 0
  && box.right <= window.innerWidth && ring;
return { name, visible, width: box.width, height: box.height, top: box.top, outline: style.outlineStyle + " " + style.outlineWidth, shadow: style.boxShadow };
"##;

/// A one-pixel PNG: what a photo of a printout is to the verifier, a file that is not a
/// certificate.
pub(crate) const PNG_PIXEL: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d,
    0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// Draws every phone screenshot, in name order, into one picture: `contact-sheet.png` beside
/// the screenshots. The tours finish in any order and may run in separate processes: a lock
/// file makes them draw one at a time, so the last to finish draws all of them.
async fn contact_sheet() {
    let dir = screenshot_dir();
    tokio::task::spawn_blocking(move || {
        let lock = std::fs::File::create(dir.join(".contact-sheet.lock")).unwrap();
        lock.lock().unwrap();
        let sheet = crate::contact_sheet::draw(&dir.join("pages/phone")).unwrap();
        let partial = dir.join(".contact-sheet.png.part");
        std::fs::write(&partial, sheet).unwrap();
        std::fs::rename(&partial, dir.join("contact-sheet.png")).unwrap();
    })
    .await
    .unwrap();
}
