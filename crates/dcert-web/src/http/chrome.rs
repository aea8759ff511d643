//! The page chrome every site's layout reads: the language and its switch, the CSRF token for
//! forms, the section the menu marks, and the signed-in user with the menu their role allows.
//! Written once; each site fills in its name, its menu and where signing out goes.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use dcert_store::Role;

use super::layer::CsrfToken;
use super::session::Ctx;
use super::{lang_href, pick};
use crate::i18n::Texts;

/// Which menu entries a role sees: `menu(role, entry)`.
pub type Menu = fn(Role, &str) -> bool;

/// What a page's layout needs.
pub struct Chrome {
    /// The texts of the page's language.
    pub t: Texts,
    /// The CSRF token for forms.
    pub csrf: String,
    /// The path asked for, which the language switch comes back to.
    pub path: String,
    /// The area or menu entry of this page (`portal`, `console`, `verify`, `news`, …).
    pub section: &'static str,
    /// The signed-in person as the page names them.
    pub user: Option<String>,
    /// The signed-in member of staff's role, which decides the menu.
    pub role: Option<Role>,
    /// The site's name in the page's language, where the layout shows one (the school's).
    pub site_name: String,
    menu: Menu,
    logout: &'static str,
    lang_label: &'static str,
}

fn no_menu(_: Role, _: &str) -> bool {
    false
}

impl Chrome {
    /// The chrome of a page in `t`'s language at `path`, with nobody signed in.
    pub fn new(t: Texts, csrf: String, path: String) -> Chrome {
        Chrome {
            t,
            csrf,
            path,
            section: "",
            user: None,
            role: None,
            site_name: String::new(),
            menu: no_menu,
            logout: "/logout",
            lang_label: "nav.other_language",
        }
    }

    /// The chrome of a request a site has read into its [`Ctx`].
    pub fn of(ctx: &Ctx) -> Chrome {
        Chrome::new(ctx.t, ctx.csrf.clone(), ctx.path.clone())
    }

    /// The page is in `section`.
    pub fn at(mut self, section: &'static str) -> Chrome {
        self.section = section;
        self
    }

    /// The language switch comes back to `path` instead of the page asked for (a result page
    /// posted to goes back to its form).
    pub fn back_to(mut self, path: &str) -> Chrome {
        self.path = path.to_owned();
        self
    }

    /// `user` is signed in, with `role`'s menu from `menu`; signing out posts to `logout`.
    pub fn signed_in(mut self, user: String, role: Option<Role>, menu: Menu, logout: &'static str) -> Chrome {
        self.user = Some(user);
        self.role = role;
        self.menu = menu;
        self.logout = logout;
        self
    }

    /// The layout shows the site's name `name`, and the language switch's words from `label`.
    pub fn named(mut self, name: String, label: &'static str) -> Chrome {
        self.site_name = name;
        self.lang_label = label;
        self
    }

    /// Whether the menu shows the page of `entry`.
    pub fn can(&self, entry: &str) -> bool {
        self.role.is_some_and(|r| (self.menu)(r, entry))
    }

    /// The catalogue key of the language switch's words.
    pub fn lang_label_key(&self) -> &'static str {
        self.lang_label
    }

    /// Where the sign-out form posts.
    pub fn logout_href(&self) -> &'static str {
        self.logout
    }

    /// The language switch's address, coming back to this page.
    pub fn lang_href(&self) -> String {
        lang_href(self.t, &self.path)
    }

    /// A day stored as `YYYY-MM-DD`, as the page's language writes dates in lists.
    pub fn day(&self, text: &str) -> String {
        text.parse::<dcert_core::time::Date>().map(|d| self.t.short_date(&d)).unwrap_or_else(|_| text.to_owned())
    }

    /// Chinese or English, as the page's language.
    pub fn pick<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        pick(self.t, zh, en)
    }
}

/// The chrome of a public page, where nobody signs in.
impl<S: Send + Sync> FromRequestParts<S> for Chrome {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let lang = super::page_lang(&parts.headers);
        let csrf = parts.extensions.get::<CsrfToken>().map(|c| c.0.clone()).unwrap_or_default();
        let path = super::asked_path(parts);
        Ok(Chrome::new(Texts::new(lang), csrf, path))
    }
}
