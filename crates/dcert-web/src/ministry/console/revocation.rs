//! Revoking an institution's key or certificate: preview, then confirm.

use super::*;

// ----- revoking a key or certificate -----

#[derive(Clone, Default, Deserialize)]
pub(super) struct RevokeForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize)]
pub(super) struct RevokeQuery {
    key: Option<String>,
}

/// The revocation asked for, checked, before it is confirmed.
pub(super) struct RevokeConfirm {
    from: String,
    from_words: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "ministry/console/institution_revoke.html")]
pub(super) struct RevokePage {
    c: Chrome,
    id: String,
    name: String,
    what: String,
    form: RevokeForm,
    confirm: Option<RevokeConfirm>,
    errors: Vec<String>,
}

/// What `key` names among the institution's keys and certificates, in words, and whether it is
/// revoked already; `None` if it names none.
pub(super) async fn revocation_target(
    store: &MinistryStore,
    t: Texts,
    id: &str,
    key: &str,
) -> Result<Option<(String, bool)>, AppError> {
    let keys = store.institution_keys(id).await?;
    if let Some(k) = keys.iter().find(|k| k.public_key_multibase == key) {
        return Ok(Some((t.f1("moe.console.institutions.what_key", key), k.revoked_from.is_some())));
    }
    let certificates = store.institution_certificates(id).await?;
    let sha = key.to_ascii_lowercase();
    Ok(certificates
        .iter()
        .find(|c| c.sha256 == sha)
        .map(|c| (t.f1("moe.console.institutions.what_certificate", &sha), c.revoked_from.is_some())))
}

pub(super) struct RevokeContext {
    id: String,
    name: String,
    what: String,
    revoked: bool,
}

pub(super) async fn revoke_context(
    state: &MinistryState,
    t: Texts,
    id: &str,
    key: &str,
) -> Result<RevokeContext, AppError> {
    let institution = state.store.institution(id).await?.ok_or(AppError::NotFound)?;
    let (what, revoked) = revocation_target(&state.store, t, id, key.trim()).await?.ok_or(AppError::NotFound)?;
    Ok(RevokeContext {
        id: id.to_owned(),
        name: pick(t, &institution.name_zh, &institution.name_en).to_owned(),
        what,
        revoked,
    })
}

pub(super) fn revoke_view(
    ctx: &Ctx,
    staff: &Staff,
    target: RevokeContext,
    form: RevokeForm,
    confirm: Option<RevokeConfirm>,
    errors: Vec<String>,
) -> PageResult {
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page_ = RevokePage {
        c: ctx.chrome(Some(staff), "institutions"),
        id: target.id,
        name: target.name,
        what: target.what,
        form,
        confirm,
        errors,
    };
    with_status(status, page(page_))
}

/// The moment and reason of a revocation form, or what is wrong with them.
pub(super) fn revocation(t: Texts, form: &RevokeForm, revoked: bool) -> Result<(Timestamp, String), Vec<String>> {
    let mut p = Problems::new(t);
    if revoked {
        p.push("moe.console.institutions.error.already_revoked");
    }
    let from = parse_moment(&form.from);
    if from.is_none() {
        let label = t.s("moe.console.institutions.from");
        p.list.push(t.f1("moe.console.institutions.error.from", label));
    }
    p.text("moe.console.institutions.reason", &form.reason, 200, false);
    match from {
        Some(from) if p.list.is_empty() => Ok((from, form.reason.trim().to_owned())),
        _ => Err(p.list),
    }
}

pub(super) async fn revoke_page(
    State(state): State<MinistryState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<RevokeQuery>,
) -> PageResult {
    let staff = ctx.require(&state.store, Action::ManageInstitutions).await?;
    let key = q.key.unwrap_or_default();
    let target = revoke_context(&state, ctx.t, &id, &key).await?;
    let errors = if target.revoked {
        vec![ctx.t.s("moe.console.institutions.error.already_revoked").to_owned()]
    } else {
        Vec::new()
    };
    let form = RevokeForm { key, from: local_moment(now()), ..RevokeForm::default() };
    revoke_view(&ctx, &staff, target, form, None, errors)
}

/// What both steps start with: the role, and what the form would revoke.
async fn revoke_posted(
    state: &MinistryState,
    ctx: &Ctx,
    id: &str,
    form: &RevokeForm,
) -> Result<(Staff, RevokeContext), AppError> {
    let staff = ctx.require(&state.store, Action::ManageInstitutions).await?;
    let target = revoke_context(state, ctx.t, id, &form.key).await?;
    Ok((staff, target))
}

/// The confirmation step: what will be revoked, from when and why.
pub(super) async fn revoke_preview(
    State(state): State<MinistryState>,
    Path(id): Path<String>,
    Posted(ctx, form): Posted<RevokeForm>,
) -> PageResult {
    let (staff, target) = revoke_posted(&state, &ctx, &id, &form).await?;
    let t = ctx.t;
    match revocation(t, &form, target.revoked) {
        Ok((from, reason)) => {
            let confirm = RevokeConfirm { from: from.to_string(), from_words: t.time(from.unix()), reason };
            revoke_view(&ctx, &staff, target, form, Some(confirm), Vec::new())
        }
        Err(errors) => revoke_view(&ctx, &staff, target, form, None, errors),
    }
}

pub(super) async fn revoke_confirm(
    State(state): State<MinistryState>,
    Path(id): Path<String>,
    Posted(ctx, form): Posted<RevokeForm>,
) -> PageResult {
    let (staff, target) = revoke_posted(&state, &ctx, &id, &form).await?;
    let t = ctx.t;
    let (from, reason) = match revocation(t, &form, target.revoked) {
        Ok(r) => r,
        Err(errors) => return revoke_view(&ctx, &staff, target, form, None, errors),
    };
    let audit = |revoked| {
        let detail = match revoked {
            registry::Revoked::CredentialKey => format!("credential key from {from}"),
            registry::Revoked::SigningCertificate => {
                let sha: String = form.key.trim().to_ascii_lowercase().chars().take(16).collect();
                format!("signing certificate {sha} from {from}")
            }
        };
        ctx.audit_by(&staff, "revoke_key", format!("institution:{id}"), detail)
    };
    let revoked = registry::revoke_key(&state.store, &id, form.key.trim(), (from, &reason), audit).await;
    if let Err(e) = revoked {
        let errors = vec![registry_error(t, &e)?];
        return revoke_view(&ctx, &staff, target, form, None, errors);
    }
    Ok(redirect("/console/institutions?done=revoked"))
}
