//! The eligibility policy, the certificate templates and the audit log (the institution admin's pages).

use super::*;
use crate::http::audit::{AuditQuery, AuditView};

// ----- policy, templates, audit -----

#[derive(Template)]
#[template(path = "console/policy.html")]
pub(super) struct PolicyPage {
    c: Chrome,
    first_term: String,
    alumni_open: bool,
}

pub(super) async fn policy_page(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let staff = require(&ctx, &state.store, Action::EditPolicy).await?;
    let p = Policy::load(&state.store).await?;
    page(PolicyPage {
        c: chrome(&ctx, &state, &staff),
        first_term: p.first_term.to_string(),
        alumni_open: p.alumni_open,
    })
}

#[derive(Deserialize)]
pub(super) struct PolicyForm {
    first_term: String,
    alumni_open: Option<String>,
}

pub(super) async fn policy_save(State(state): State<AppState>, Posted(ctx, form): Posted<PolicyForm>) -> PageResult {
    let staff = require(&ctx, &state.store, Action::EditPolicy).await?;
    let term: dcert_core::model::Term =
        form.first_term.trim().parse().map_err(|_| AppError::BadRequest(ctx.t.s("console.policy.bad_term").into()))?;
    let open = form.alumni_open.is_some();
    let detail = format!("first term {term}, alumni {}", if open { "open" } else { "closed" });
    let settings = [(Policy::FIRST_TERM, term.to_string()), (Policy::ALUMNI_OPEN, open.to_string())];
    let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    state.store.set_settings(&settings, &audit_of(&ctx, &staff, "set_policy", "policy".into(), detail)).await?;
    Ok(redirect("/console/policy"))
}

pub(super) struct DesignRow {
    code: &'static str,
    label: &'static str,
    json: String,
    custom: bool,
}

#[derive(Template)]
#[template(path = "console/templates.html")]
pub(super) struct TemplatesPage {
    c: Chrome,
    designs: Vec<DesignRow>,
    error: Option<String>,
}

pub(super) async fn templates_view(
    state: &AppState,
    ctx: &Ctx,
    staff: &Staff,
    error: Option<String>,
    draft: Option<(Language, String)>,
) -> PageResult {
    let t = ctx.t;
    let mut designs = Vec::new();
    for language in [Language::Zh, Language::En] {
        let stored = state.store.template(language).await?;
        let json = match (&draft, &stored) {
            (Some((l, d)), _) if *l == language => d.clone(),
            (_, Some(s)) => s.clone(),
            _ => {
                serde_json::to_string_pretty(&Design::default_for(dcert_core::model::CredentialType::Degree, language))
                    .map_err(|e| AppError::internal("the built-in design", e))?
            }
        };
        designs.push(DesignRow {
            code: language.code(),
            label: crate::university::portal::language_label(t, language),
            json,
            custom: stored.is_some(),
        });
    }
    let mut r = page(TemplatesPage { c: chrome(ctx, state, staff), designs, error: error.clone() })?;
    if error.is_some() {
        *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

pub(super) async fn templates_page(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let staff = require(&ctx, &state.store, Action::EditTemplates).await?;
    templates_view(&state, &ctx, &staff, None, None).await
}

#[derive(Deserialize)]
pub(super) struct TemplateForm {
    design: String,
}

pub(super) fn language_of(code: &str) -> Result<Language, AppError> {
    match code {
        "zh" => Ok(Language::Zh),
        "en" => Ok(Language::En),
        _ => Err(AppError::NotFound),
    }
}

pub(super) async fn template_save(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Posted(ctx, form): Posted<TemplateForm>,
) -> PageResult {
    let staff = require(&ctx, &state.store, Action::EditTemplates).await?;
    let language = language_of(&code)?;
    let checked = Design::parse(&form.design).and_then(|d| d.check().map(|()| d));
    let design = match checked {
        Ok(d) => d,
        Err(e) => {
            let message = ctx.t.f("console.templates.invalid", &[&e]);
            return templates_view(&state, &ctx, &staff, Some(message), Some((language, form.design))).await;
        }
    };
    let sample = sample_certificate(language)?;
    if let Err(e) = design.check_fits(&sample) {
        let message = ctx.t.f("console.templates.invalid", &[&e]);
        return templates_view(&state, &ctx, &staff, Some(message), Some((language, form.design))).await;
    }
    let entry = audit_of(&ctx, &staff, "set_template", format!("template:{code}"), String::new());
    state.store.set_template(language, &form.design, &entry).await?;
    Ok(redirect("/console/templates"))
}

pub(super) fn sample_certificate(language: Language) -> Result<dcert_core::model::Certificate, AppError> {
    let record: RecordFile = serde_json::from_str(include_str!("../../../../../examples/record.json"))
        .map_err(|e| AppError::internal("the sample record", e))?;
    record.into_certificate(language).map_err(|e| AppError::internal("the sample certificate", e))
}

pub(super) async fn template_preview(State(state): State<AppState>, ctx: Ctx, Path(code): Path<String>) -> PageResult {
    let _staff = require(&ctx, &state.store, Action::EditTemplates).await?;
    let language = language_of(&code)?;
    let design = state.worker.template(language).await?;
    let bytes = state.worker.render_preview(sample_certificate(language)?, design, now()).await?;
    let mut r = pdf_download(&format!("preview-{code}.pdf"), bytes);
    // A preview is shown in the browser, not saved.
    r.headers_mut().insert(axum::http::header::CONTENT_DISPOSITION, axum::http::HeaderValue::from_static("inline"));
    Ok(r)
}

#[derive(Template)]
#[template(path = "console/audit.html")]
pub(super) struct AuditPage {
    c: Chrome,
    v: AuditView,
}

pub(super) async fn audit(State(state): State<AppState>, ctx: Ctx, Query(q): Query<AuditQuery>) -> PageResult {
    let staff = require(&ctx, &state.store, Action::ViewAudit).await?;
    let v = AuditView::load(&state.store, ctx.t, q).await?;
    page(AuditPage { c: chrome(&ctx, &state, &staff), v })
}
