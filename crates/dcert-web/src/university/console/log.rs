//! Watching the Ministry's public issuance log from the console: the last check, the records in
//! the institution's name that it did not issue, a rewritten log's evidence, and "check now".

use super::*;
use crate::university::log_monitor::{self, LoggedRecord, MonitorError, MonitorState};

/// The settings the watch keeps: what was seen, the last check's summary, the last alarm.
const SEEN: &str = "log_monitor";
const CHECKED: &str = "log_monitor_checked";
const ALARM: &str = "log_monitor_alarm";

/// The last check that passed its proofs.
#[derive(Serialize, Deserialize)]
struct Checked {
    at: i64,
    origin: String,
    size: u64,
    new_leaves: u64,
    ours: u64,
}

/// The last check that did not: why, and the evidence of a fork.
#[derive(Serialize, Deserialize)]
struct Alarm {
    at: i64,
    /// `forked`, `unsigned` or `unreachable`.
    kind: String,
    detail: String,
    #[serde(default)]
    previous: String,
    #[serde(default)]
    current: String,
}

struct UnknownRow {
    record: LoggedRecord,
    event: String,
    at: String,
}

/// The last check, in words.
struct CheckedText {
    at: String,
    size: String,
    new: String,
}

#[derive(Template)]
#[template(path = "console/log.html")]
pub(super) struct LogPage {
    c: Chrome,
    configured: bool,
    registry: String,
    checked: Option<CheckedText>,
    alarm: Option<Alarm>,
    alarm_title: String,
    alarm_at: String,
    unknown: Vec<UnknownRow>,
    unknown_title: String,
}

async fn setting<T: serde::de::DeserializeOwned>(store: &UniversityStore, key: &str) -> Result<Option<T>, AppError> {
    Ok(store.setting(key).await?.filter(|v| !v.is_empty()).and_then(|v| serde_json::from_str(&v).ok()))
}

pub(super) async fn log_page(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let staff = require(&ctx, &state.store, Action::WatchLog).await?;
    let t = ctx.t;
    let seen: Option<MonitorState> = setting(&state.store, SEEN).await?;
    let checked: Option<Checked> = setting(&state.store, CHECKED).await?;
    let alarm: Option<Alarm> = setting(&state.store, ALARM).await?;
    let unknown: Vec<UnknownRow> = seen
        .map(|s| s.unknown)
        .unwrap_or_default()
        .into_iter()
        .map(|record| {
            let event = match record.event.as_str() {
                "issued" | "superseded" | "revoked" => t.s(&format!("console.log.event.{}", record.event)).to_owned(),
                other => other.to_owned(),
            };
            UnknownRow { at: t.time(record.at), event, record }
        })
        .collect();
    let alarm_title = match alarm.as_ref().map(|a| a.kind.as_str()) {
        Some("forked") => t.s("console.log.alarm.forked"),
        Some("unsigned") => t.s("console.log.alarm.unsigned"),
        Some(_) => t.s("console.log.alarm.unreachable"),
        None => "",
    };
    page(LogPage {
        c: chrome(&ctx, &state, &staff),
        configured: state.log_watch.is_some(),
        registry: state.log_watch.as_ref().map(|w| w.registry.clone()).unwrap_or_default(),
        checked: checked.map(|c| CheckedText {
            at: t.time(c.at),
            size: t.f("console.log.size.value", &[&c.origin, &c.size]),
            new: t.f("console.log.new.value", &[&c.new_leaves, &c.ours]),
        }),
        alarm_title: alarm_title.to_owned(),
        alarm_at: alarm.as_ref().map(|a| t.f1("console.log.alarm.at", t.time(a.at))).unwrap_or_default(),
        alarm,
        unknown_title: t.f1("console.log.unknown", unknown.len()),
        unknown,
    })
}

pub(super) async fn log_check(State(state): State<AppState>, Posted(ctx, NoFields {}): Posted<NoFields>) -> PageResult {
    let staff = require(&ctx, &state.store, Action::WatchLog).await?;
    let Some(watch) = state.log_watch.clone() else { return Err(AppError::NotFound) };
    let at = now().unix();
    // What was seen: a saved state that does not read is an alarm, never a fresh start (a fresh
    // start would believe whatever checkpoint the log shows now).
    let seen = match state.store.setting(SEEN).await?.filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(text) => serde_json::from_str::<MonitorState>(&text).map(Some),
    };
    let institution = state.site.institution_id.clone();
    let outcome = match &seen {
        Ok(seen) => {
            log_monitor::check(&watch.registry, &watch.log, &institution, &state.store, seen.as_ref(), &mut |_, _| {})
                .await
        }
        Err(e) => Err(MonitorError::State(e.to_string())),
    };
    let alarm = |kind: &str, detail: String, previous: String, current: String| {
        serde_json::to_string(&Alarm { at, kind: kind.into(), detail, previous, current }).unwrap_or_default()
    };
    // A fork's evidence stays on the page whatever later runs find (a log that answers 500 once,
    // or consistently again, must not erase it); it is in the audit log too.
    let fork_shown = setting::<Alarm>(&state.store, ALARM).await?.is_some_and(|a| a.kind == "forked");
    let (settings, detail) = match outcome {
        Ok((report, seen)) => {
            let checked = Checked {
                at,
                origin: report.checkpoint.origin.clone(),
                size: report.checkpoint.size,
                new_leaves: report.new_leaves,
                ours: report.ours,
            };
            let detail = format!("size {} unknown {}", report.checkpoint.size, report.unknown.len());
            let seen = serde_json::to_string(&seen).map_err(|e| AppError::internal("saving what the log showed", e))?;
            let checked = serde_json::to_string(&checked).map_err(|e| AppError::internal("saving the check", e))?;
            let mut settings = vec![(SEEN, seen), (CHECKED, checked)];
            if !fork_shown {
                settings.push((ALARM, String::new()));
            }
            (settings, detail)
        }
        Err(MonitorError::Forked { why, previous, current }) => {
            let detail = format!("forked: {why}\n{previous}\n{current}");
            (vec![(ALARM, alarm("forked", why, previous, current))], detail)
        }
        Err(MonitorError::Unsigned(why)) => {
            (vec![(ALARM, alarm("unsigned", why.clone(), String::new(), String::new()))], format!("unsigned: {why}"))
        }
        Err(e @ (MonitorError::Unreachable { .. } | MonitorError::State(_))) => {
            let why = e.to_string();
            let settings = if fork_shown {
                Vec::new()
            } else {
                vec![(ALARM, alarm("unreachable", why.clone(), String::new(), String::new()))]
            };
            (settings, why)
        }
        Err(MonitorError::Store(e)) => return Err(e.into()),
    };
    let pairs: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let audit = audit_of(&ctx, &staff, "check_log", "log".into(), detail);
    state.store.set_settings(&pairs, &audit).await?;
    Ok(redirect("/console/log"))
}
