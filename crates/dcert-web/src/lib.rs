//! The web side of dcert, split by party over one shared layer:
//!
//! - [`http`]: what every site shares, written once: errors, the client's address behind trusted
//!   proxies, sessions, CSRF, the sign-in flow and its limits, security headers, page helpers.
//! - [`university`]: the university's site (the departure portal for graduates, 畢業生離校作業,
//!   and the registrar console, 教務處註冊組 and the campus offices), the issuance worker, email
//!   delivery and the client of the Ministry's records API.
//! - [`ministry`]: the Ministry of Education's site: public verification, the APIs, the records
//!   API institutions submit to, and the Ministry console.
//!
//! Only this crate knows HTTP and HTML. Pages are askama templates whose every text comes from
//! one catalogue (`i18n/messages.tsv`), zh-TW first. Handlers check the CSRF token and the role
//! before they change anything; every change is written to the audit log.

pub mod auth;
pub mod http;
pub mod i18n;
pub mod ministry;
pub mod serve;
pub mod university;
