//! The message catalogue: every text of the pages in Traditional Chinese (zh-TW, the default)
//! and English, from one file, `i18n/messages.tsv` (key, zh-TW, English; tab-separated).
//!
//! Texts may hold `{}` placeholders, filled in order by [`Texts::f`].

use std::collections::HashMap;
use std::sync::LazyLock;

use dcert_core::time::Date;

/// The language of a page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    /// 繁體中文 (zh-TW), the default.
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// The language of a `lang` cookie or query value; anything else is Chinese.
    pub fn from_code(code: &str) -> Lang {
        if code.eq_ignore_ascii_case("en") { Lang::En } else { Lang::Zh }
    }

    /// `zh` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The value of the page's `lang` attribute.
    pub fn html(self) -> &'static str {
        match self {
            Lang::Zh => "zh-Hant-TW",
            Lang::En => "en",
        }
    }
}

const CATALOGUE: &str = include_str!("../i18n/messages.tsv");

struct Entry {
    zh: &'static str,
    en: &'static str,
}

static MESSAGES: LazyLock<HashMap<&'static str, Entry>> = LazyLock::new(|| {
    CATALOGUE
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|line| {
            let mut parts = line.split('\t');
            let key = parts.next()?;
            let zh = parts.next()?;
            let en = parts.next().unwrap_or(zh);
            Some((key, Entry { zh, en }))
        })
        .collect()
});

/// The texts of one language, handed to every page.
#[derive(Clone, Copy, Debug, Default)]
pub struct Texts {
    /// The language.
    pub lang: Lang,
}

impl Texts {
    /// The texts of `lang`.
    pub fn new(lang: Lang) -> Texts {
        Texts { lang }
    }

    /// The text of `key`; an unknown key shows itself (a test checks that none is unknown).
    pub fn s(&self, key: &str) -> &'static str {
        match MESSAGES.get(key) {
            Some(e) => match self.lang {
                Lang::Zh => e.zh,
                Lang::En => e.en,
            },
            None => {
                tracing::warn!(key, "missing message");
                "??"
            }
        }
    }

    /// The text of `key` with its `{}` placeholders filled in order.
    pub fn f(&self, key: &str, args: &[&dyn std::fmt::Display]) -> String {
        let mut out = String::new();
        let mut args = args.iter();
        let mut rest = self.s(key);
        while let Some(at) = rest.find("{}") {
            out.push_str(&rest[..at]);
            if let Some(a) = args.next() {
                out.push_str(&a.to_string());
            }
            rest = &rest[at + 2..];
        }
        out.push_str(rest);
        out
    }

    /// The text of `key` with its one placeholder filled (for templates).
    pub fn f1(&self, key: &str, a: impl std::fmt::Display) -> String {
        self.f(key, &[&a])
    }

    /// A date as the page's language writes it: 中華民國一一四年六月三十日, or 30 June 2025.
    pub fn date(&self, date: &Date) -> String {
        match self.lang {
            Lang::Zh => date.to_minguo_zh(),
            Lang::En => date.to_english(),
        }
    }

    /// A date in a table: 114/06/30 (Minguo) or 2025-06-30.
    pub fn short_date(&self, date: &Date) -> String {
        match self.lang {
            Lang::Zh => date.to_minguo_short(),
            Lang::En => date.to_string(),
        }
    }

    /// A time (Unix seconds) in Taiwan time: 114/06/30 14:05 or 2025-06-30 14:05.
    pub fn time(&self, unix: i64) -> String {
        let t = dcert_core::time::Timestamp(unix + 8 * 3600);
        let (h, m, _) = t.hms();
        format!("{} {h:02}:{m:02}", self.short_date(&t.date()))
    }

    /// Whether the catalogue has `key` (for tests).
    pub fn has(key: &str) -> bool {
        MESSAGES.contains_key(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_used_by_a_template_or_handler_is_in_the_catalogue() {
        let mut sources = Vec::new();
        for dir in ["templates", "src"] {
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
            let mut stack = vec![root];
            while let Some(d) = stack.pop() {
                for e in std::fs::read_dir(&d).unwrap() {
                    let p = e.unwrap().path();
                    if p.is_dir() {
                        stack.push(p);
                    } else {
                        sources.push((p.clone(), std::fs::read_to_string(&p).unwrap()));
                    }
                }
            }
        }
        let mut missing = Vec::new();
        for (path, text) in &sources {
            for pattern in ["t.s(\"", "t.f(\"", "t.f1(\""] {
                for (at, _) in text.match_indices(pattern) {
                    let rest = &text[at + pattern.len()..];
                    let key = &rest[..rest.find('"').unwrap()];
                    if !Texts::has(key) && key != "key" {
                        missing.push(format!("{}: {key}", path.display()));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "keys missing from i18n/messages.tsv: {missing:#?}");
    }

    #[test]
    fn every_entry_has_both_languages_and_no_key_twice() {
        let mut seen = std::collections::HashSet::new();
        for line in CATALOGUE.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
            let parts: Vec<&str> = line.split('\t').collect();
            assert_eq!(parts.len(), 3, "line {line:?} needs key, zh-TW and English");
            assert!(parts.iter().all(|p| !p.trim().is_empty()), "empty text in {line:?}");
            assert!(seen.insert(parts[0]), "key {} twice", parts[0]);
        }
    }

    #[test]
    fn placeholders_are_filled_in_order() {
        let t = Texts::new(Lang::En);
        assert_eq!(t.f("console.import.done", &[&3, &2, &1]), "Imported: 3 new, 2 updated, 1 unchanged.");
    }
}
