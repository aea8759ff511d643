//! `dcert demo`'s mailbox (示範信箱): the university's emails as their recipients would read
//! them, for a demonstration where no mail server delivers them, so that a graduate's
//! confirmation link can be opened and a certificate attachment downloaded from the browser.
//!
//! Only [`super::demo_university_router`] serves it, and only `dcert demo` uses that router;
//! [`super::university_router`] (`dcert serve`) has none of these routes. Every page says, first
//! in Chinese, that it is a demonstration page that the real system does not have.
//!
//! The messages are the outbox's rows, whatever became of them (waiting, sent, failed,
//! withdrawn): what the university queued is what its recipients would get. Reading them changes
//! nothing, so the console's outbox and the portal's delivery status say what they always say:
//! without a mail server, a message waits in the outbox, neither lost nor failed. A certificate
//! email's attachment is the one delivery attaches ([`super::mail::load_attachment`]), the
//! stored file byte for byte.
//!
//! A message's text is shown as text; only the addresses of this site's own pages
//! ([`SiteConfig::public_url`](super::SiteConfig::public_url) and below) become links, to their
//! path on this site ([`pieces`]). Anyone who reaches the demo's site reads every message,
//! confirmation links included: that is what a demonstration mailbox is for, and why no real site
//! has one.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::get;
use dcert_store::OutboxMessage;
use serde::Deserialize;

use super::portal::page_chrome;
use super::{AppState, Signed};
use crate::http::{AppError, Chrome, Ctx, PageResult, page, pdf_download, redirect, urlencode};
use crate::i18n::Texts;

/// The mailbox's first page: the addresses that have mail.
pub const MAILBOX_PATH: &str = "/demo/mail";

/// The most addresses, or messages of one address, a page lists.
const LIMIT: i64 = 500;

/// The mailbox's routes, under [`MAILBOX_PATH`].
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(MAILBOX_PATH, get(addresses))
        .route("/demo/mail/inbox", get(inbox))
        .route("/demo/mail/messages/{id}", get(message))
        .route("/demo/mail/messages/{id}/attachment", get(attachment))
}

/// The chrome of a mailbox page.
fn chrome(ctx: &Ctx, state: &AppState) -> Chrome {
    page_chrome(ctx, state, "demo-mail", ctx.graduate().ok())
}

/// The mailbox of `address`.
fn inbox_href(address: &str) -> String {
    format!("/demo/mail/inbox?address={}", urlencode(address))
}

/// A message's state, as its recipient's side would put it.
fn state_text(t: Texts, m: &OutboxMessage, has_mailer: bool) -> &'static str {
    match m.status.as_str() {
        "sent" => t.s("portal.demo_mail.state.sent"),
        "failed" => t.s("portal.demo_mail.state.failed"),
        "cancelled" => t.s("portal.demo_mail.state.cancelled"),
        _ if has_mailer => t.s("portal.demo_mail.state.pending"),
        _ => t.s("portal.demo_mail.state.unsent"),
    }
}

/// An address that has mail.
struct AddressRow {
    address: String,
    href: String,
    summary: String,
}

#[derive(Template)]
#[template(path = "demo_mail/addresses.html")]
struct AddressesPage {
    c: Chrome,
    rows: Vec<AddressRow>,
}

async fn addresses(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let t = ctx.t;
    let rows = state
        .store
        .email_recipients(LIMIT)
        .await?
        .into_iter()
        .map(|r| AddressRow {
            href: inbox_href(&r.address),
            summary: t.f("portal.demo_mail.summary", &[&r.messages, &t.time(r.latest_at)]),
            address: r.address,
        })
        .collect();
    page(AddressesPage { c: chrome(&ctx, &state), rows })
}

/// A message in an address's list.
struct MessageRow {
    href: String,
    subject: String,
    time: String,
    state: &'static str,
    status: String,
    attachment: bool,
}

#[derive(Template)]
#[template(path = "demo_mail/inbox.html")]
struct InboxPage {
    c: Chrome,
    address: String,
    rows: Vec<MessageRow>,
}

#[derive(Deserialize)]
struct InboxQuery {
    address: Option<String>,
}

async fn inbox(State(state): State<AppState>, ctx: Ctx, Query(q): Query<InboxQuery>) -> PageResult {
    let Some(address) = q.address.filter(|a| !a.is_empty()) else {
        return Ok(redirect(MAILBOX_PATH));
    };
    let t = ctx.t;
    let has_mailer = state.worker.mailer.is_some();
    let rows = state
        .store
        .emails_to(&address, LIMIT)
        .await?
        .into_iter()
        .map(|m| MessageRow {
            href: format!("/demo/mail/messages/{}", m.id),
            time: t.time(m.created_at),
            state: state_text(t, &m, has_mailer),
            attachment: m.certificate_id.is_some(),
            subject: m.subject,
            status: m.status,
        })
        .collect();
    page(InboxPage { c: chrome(&ctx, &state), address, rows })
}

/// A run of a message's text: plain text, or the address of one of this site's pages with the
/// path to link to.
pub(crate) struct Piece {
    /// The text as the message has it.
    pub text: String,
    /// For an address of this site, its path (and query) on this site.
    pub href: Option<String>,
}

/// `body` in runs: the addresses of this site's own pages (`public_url` and what lies below it,
/// over `http` or `https`) become links to their path on this site; everything else, another
/// site's address, a `javascript:` or `data:` one, markup, stays text for the page to escape.
///
/// An address runs to the first space, control, non-ASCII or `<>"'\^`{|}` character, without a
/// sentence's closing punctuation. A link's target is always a path of this site: never one that
/// starts with `//` (which a browser would read as another host).
pub(crate) fn pieces(body: &str, public_url: &str) -> Vec<Piece> {
    let site = public_url.trim_end_matches('/');
    let mut out = Vec::new();
    let mut text_from = 0;
    let mut from = 0;
    while let Some(found) = body[from..].find("http").map(|i| from + i) {
        let end = address_end(body, found);
        if let Some(href) = own_path(&body[found..end], site) {
            if text_from < found {
                out.push(Piece { text: body[text_from..found].to_owned(), href: None });
            }
            out.push(Piece { text: body[found..end].to_owned(), href: Some(href) });
            text_from = end;
        }
        from = end.max(found + 4);
    }
    if text_from < body.len() {
        out.push(Piece { text: body[text_from..].to_owned(), href: None });
    }
    out
}

/// Where the address that starts at `start` ends.
fn address_end(body: &str, start: usize) -> usize {
    let rest = &body[start..];
    let len = rest.find(|c: char| !c.is_ascii_graphic() || "<>\"'\\^`{|}".contains(c)).unwrap_or(rest.len());
    start + rest[..len].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']']).len()
}

/// The path on this site of `address`, when it is one of the pages of `site` (its public address
/// without a trailing `/`).
fn own_path(address: &str, site: &str) -> Option<String> {
    let authority_at = ["http://", "https://"].iter().find(|s| site.starts_with(**s))?.len();
    let rest = address.strip_prefix(site)?;
    if !(rest.is_empty() || rest.starts_with(['/', '?', '#'])) {
        return None;
    }
    let base = site[authority_at..].find('/').map_or("", |i| &site[authority_at + i..]);
    let path = format!("{base}{rest}");
    let path = if path.starts_with('/') { path } else { format!("/{path}") };
    (!path.starts_with("//")).then_some(path)
}

/// A certificate attached to a message, as the page names it.
struct AttachmentInfo {
    name: String,
    size: String,
}

#[derive(Template)]
#[template(path = "demo_mail/message.html")]
struct MessagePage {
    c: Chrome,
    id: i64,
    subject: String,
    to: String,
    to_href: String,
    time: String,
    sent: Option<String>,
    state: &'static str,
    status: String,
    body: Vec<Piece>,
    attachment: Option<AttachmentInfo>,
}

async fn message(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let t = ctx.t;
    let m = state.store.email(id).await?.ok_or(AppError::NotFound)?;
    let attachment = match super::mail::load_attachment(&state.store, &m).await? {
        Ok(Some(a)) => Some(AttachmentInfo { size: a.bytes.len().div_ceil(1024).to_string(), name: a.filename }),
        Ok(None) | Err(_) => None,
    };
    page(MessagePage {
        c: chrome(&ctx, &state),
        id: m.id,
        to_href: inbox_href(&m.to),
        time: t.time(m.created_at),
        sent: m.sent_at.map(|at| t.time(at)),
        state: state_text(t, &m, state.worker.mailer.is_some()),
        body: pieces(&m.body, &state.site.public_url),
        subject: m.subject,
        to: m.to,
        status: m.status,
        attachment,
    })
}

async fn attachment(State(state): State<AppState>, Path(id): Path<i64>) -> PageResult {
    let m = state.store.email(id).await?.ok_or(AppError::NotFound)?;
    match super::mail::load_attachment(&state.store, &m).await? {
        Ok(Some(a)) => Ok(pdf_download(&a.filename, a.bytes).into_response()),
        Ok(None) | Err(_) => Err(AppError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SITE: &str = "http://localhost:8080";

    /// The pieces as (text, link) pairs.
    fn split(body: &str, site: &str) -> Vec<(String, Option<String>)> {
        pieces(body, site).into_iter().map(|p| (p.text, p.href)).collect()
    }

    fn link(text: &str, href: &str) -> (String, Option<String>) {
        (text.to_owned(), Some(href.to_owned()))
    }

    fn text(text: &str) -> (String, Option<String>) {
        (text.to_owned(), None)
    }

    #[test]
    fn the_sites_own_addresses_become_links_to_their_path() {
        let body = "請開啟以下連結確認：\n\nhttp://localhost:8080/email/confirm?token=abc_DEF-1\n\n謝謝。";
        assert_eq!(
            split(body, SITE),
            [
                text("請開啟以下連結確認：\n\n"),
                link("http://localhost:8080/email/confirm?token=abc_DEF-1", "/email/confirm?token=abc_DEF-1"),
                text("\n\n謝謝。"),
            ]
        );
        assert_eq!(split("http://localhost:8080", SITE), [link("http://localhost:8080", "/")]);
        assert_eq!(
            split("http://localhost:8080?x=1", &format!("{SITE}/")),
            [link("http://localhost:8080?x=1", "/?x=1")]
        );
        assert_eq!(
            split("見http://localhost:8080/portal。", SITE),
            [text("見"), link("http://localhost:8080/portal", "/portal"), text("。")],
            "Chinese text around an address is not part of it"
        );
        assert_eq!(
            split("(see http://localhost:8080/contact).", SITE),
            [text("(see "), link("http://localhost:8080/contact", "/contact"), text(").")],
            "nor is a sentence's punctuation"
        );
        assert_eq!(
            split("https://dcert.example.edu/app/email/confirm?token=t", "https://dcert.example.edu/app/"),
            [link("https://dcert.example.edu/app/email/confirm?token=t", "/app/email/confirm?token=t")],
            "a site below a path keeps it"
        );
    }

    #[test]
    fn every_other_address_stays_text() {
        for body in [
            "javascript:alert(1)",
            "JavaScript:alert(document.cookie)//http://localhost:8080/",
            "data:text/html,<script>alert(1)</script>",
            "http://localhost:8081/verify",
            "https://localhost:8080/portal",
            "http://localhost:8080.evil.example/portal",
            "http://localhost:8080@evil.example/portal",
            "http://localhost:80800/portal",
            "http://localhost:8080//evil.example/portal",
            "http://LOCALHOST:8080/portal",
            "ftp://localhost:8080/portal",
            "<a href=\"http://evil.example\">x</a>",
        ] {
            let found = split(body, SITE);
            let links: Vec<_> = found.iter().filter(|(_, href)| href.is_some()).collect();
            let harmless = links.iter().all(|(_, href)| {
                let href = href.as_deref().unwrap();
                href.starts_with('/') && !href.starts_with("//") && !href.contains(['\\', '"', '<'])
            });
            assert!(harmless, "{body}: {found:?}");
            let text: String = found.iter().map(|(t, _)| t.as_str()).collect();
            assert_eq!(text, body, "nothing is lost");
        }
        assert!(split("javascript:alert(1) http://localhost:8081/verify", SITE).iter().all(|(_, h)| h.is_none()));
        assert!(split("http://localhost:8080.evil.example/", SITE).iter().all(|(_, h)| h.is_none()));
        assert!(split("http://localhost:8080//evil.example/", SITE).iter().all(|(_, h)| h.is_none()));
        assert_eq!(
            split("http://localhost:8080/\\evil.example", SITE),
            [link("http://localhost:8080/", "/"), text("\\evil.example")],
            "a backslash ends an address: a browser reads /\\ as //"
        );
        assert!(split("x", "javascript:alert(1)").iter().all(|(_, h)| h.is_none()), "a site must be http(s)");
    }
}
