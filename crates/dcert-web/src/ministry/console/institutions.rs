//! The institutions of the trust registry (發證單位管理): the list, their details, publishing the trust list.

use super::*;

// ----- institutions (發證單位管理) -----

/// Taiwan's offset from UTC, in seconds.
pub(super) const TAIWAN_OFFSET: i64 = 8 * 3600;

/// A moment typed into a form, in Taiwan time unless it says otherwise: `YYYY-MM-DD` (its
/// midnight), `YYYY-MM-DDTHH:MM[:SS]` (as a `datetime-local` field sends it), or RFC 3339.
pub(super) fn parse_moment(text: &str) -> Option<Timestamp> {
    let s = text.trim();
    if let Ok(t) = s.parse::<Timestamp>() {
        return Some(t);
    }
    match s.len() {
        10 => s.parse::<Date>().ok().map(|d| Timestamp(d.start().unix() - TAIWAN_OFFSET)),
        16 => format!("{s}:00+08:00").parse().ok(),
        19 => format!("{s}+08:00").parse().ok(),
        _ => None,
    }
}

/// `at` in Taiwan time as a `datetime-local` field shows it: `YYYY-MM-DDTHH:MM`.
pub(super) fn local_moment(at: Timestamp) -> String {
    let local = Timestamp(at.unix() + TAIWAN_OFFSET);
    let (h, m, _) = local.hms();
    format!("{}T{h:02}:{m:02}", local.date())
}

/// The end of new keys' validity typed into a form: a date means the end of that day in
/// Taiwan; empty means the default (five years, not after the root).
pub(super) fn parse_valid_until(t: Texts, text: &str) -> Result<Option<Timestamp>, String> {
    let s = text.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let end = match s.parse::<Date>() {
        Ok(d) => Some(Timestamp(d.add_days(1).start().unix() - TAIWAN_OFFSET)),
        Err(_) => parse_moment(s),
    };
    match end {
        Some(end) if end > now() => Ok(Some(end)),
        _ => Err(t.s("moe.console.institutions.error.valid_until").to_owned()),
    }
}

/// A key's or certificate's state at `now`: words and a class.
pub(super) fn window_state(
    t: Texts,
    (from, until): (i64, i64),
    revoked: Option<i64>,
    reason: Option<&str>,
    now: Timestamp,
) -> (String, &'static str) {
    match revoked {
        Some(r) => (t.f("moe.console.institutions.state.revoked", &[&t.time(r), &reason.unwrap_or("-")]), "revoked"),
        None if now.unix() < from => (t.s("moe.key.future").to_owned(), "future"),
        None if now.unix() > until => (t.s("moe.key.retired").to_owned(), "retired"),
        None => (t.s("moe.key.valid").to_owned(), "valid"),
    }
}

/// Why a registry change was refused, in the page's language. A database failure is not the
/// admin's to read: it is a 500, logged.
pub(super) fn registry_error(t: Texts, e: &RegistryError) -> Result<String, AppError> {
    use RegistryError as E;
    let key = |k: &str| format!("moe.console.institutions.error.{k}");
    Ok(match e {
        E::Request(r) => request_error(t, r),
        E::CurrentKey(problem) => current_key_words(t, *problem),
        E::IdTaken(id) => t.f1(&key("id_taken"), id),
        E::UnknownInstitution(id) => t.f1(&key("unknown_institution"), id),
        E::KeyTaken => t.s(&key("key_taken")).to_owned(),
        E::SigningKeyTaken => t.s(&key("signing_key_taken")).to_owned(),
        E::UnknownKey { .. } => t.s(&key("unknown_key")).to_owned(),
        E::AlreadyRevoked(_) => t.s(&key("already_revoked")).to_owned(),
        E::Validity { from, root_until } => t.f(&key("validity"), &[&t.time(from.unix()), &t.time(root_until.unix())]),
        E::WrongCaKey => t.s(&key("wrong_ca_key")).to_owned(),
        E::OtherRoot { published } => pick(
            t,
            "先前發布的信任清單使用另一個根憑證（指紋 {}），未以此根憑證發布。",
            "The trust lists published so far are under another root (fingerprint {}); nothing was published.",
        )
        .replacen("{}", &published.to_string(), 1),
        E::NotNewer { published, served } => pick(
            t,
            "最近發布的信任清單（第 {} 號）並不比本站目前提供的（第 {} 號）新，本站繼續提供目前的清單。",
            "The trust list published last (sequence {}) is not newer than the one served (sequence {}); the one \
             served stays.",
        )
        .replacen("{}", &published.to_string(), 1)
        .replacen("{}", &served.to_string(), 1),
        E::Certificate(detail) => t.f1(&key("certificate"), detail),
        E::TrustList(detail) => t.f1(&key("trust_list"), detail),
        E::Conflict(detail) => t.f1(&key("conflict"), detail),
        E::Store(e) => return Err(AppError::unexpected(format!("the trust registry: {e}"))),
    })
}

/// A request refused by itself, in the page's language.
pub(super) fn request_error(t: Texts, e: &RequestError) -> String {
    use RequestError as R;
    let key = |k: &str| format!("moe.console.institutions.error.{k}");
    match e {
        R::Shape(detail) => t.f1(&key("shape"), detail),
        R::TooLarge => t.f1(&key("too_large"), MAX_REQUEST_BYTES / 1024),
        R::InvalidId(id) => t.f1(&key("invalid_id"), id),
        R::InvalidText { field, max } => {
            let label = match *field {
                "the Chinese name" => t.s("moe.console.institutions.name_zh"),
                "the English name" => t.s("moe.console.institutions.name_en"),
                "the address" => t.s("moe.console.institutions.address"),
                "the reason" => t.s("moe.console.institutions.reason"),
                other => other,
            };
            t.f(&key("invalid_text"), &[&label, max])
        }
        R::ReservedName(name) => t.f1(&key("reserved_name"), name),
        R::Accreditation(why) => {
            let words = match *why {
                "it names no credential type" => t.s("moe.console.institutions.error.no_type"),
                "a credential type or degree level is named twice" => t.s("moe.console.institutions.error.twice"),
                "degree certificates need at least one degree level" => t.s("moe.console.institutions.error.no_level"),
                "degree levels apply to degree certificates only" => t.s("moe.console.institutions.error.level_only"),
                other => other,
            };
            t.f1(&key("accreditation"), words)
        }
        R::CredentialKey => t.s(&key("credential_key")).to_owned(),
        R::SigningKey => t.s(&key("signing_key")).to_owned(),
        R::Proof(which) if which.starts_with("signing") => t.s(&key("signing_proof")).to_owned(),
        R::Proof(_) => t.s(&key("proof")).to_owned(),
        R::NothingToRotate => t.s(&key("nothing_to_rotate")).to_owned(),
        R::CurrentKey(problem) => current_key_words(t, *problem),
    }
}

/// Why a rotation is not proven by a key the institution holds now, in the page's language.
fn current_key_words(t: Texts, problem: registry::CurrentKeyProblem) -> String {
    use registry::CurrentKeyProblem as P;
    let why = match problem {
        P::Missing => pick(t, "申請檔未附目前憑證金鑰的簽章", "the request carries no proof by a current key"),
        P::BadProof => pick(t, "目前憑證金鑰的簽章驗證失敗", "the current key's proof does not verify"),
        P::NotRegistered => pick(t, "所列金鑰不是此單位的憑證金鑰", "the key named is not one of its keys"),
        P::Revoked => pick(t, "所列金鑰已經撤銷", "the key named is revoked"),
        P::NotValidNow => pick(
            t,
            "所列金鑰目前不在有效期間內（已被更換或尚未生效）",
            "the key named is not valid now (replaced, or not yet valid)",
        ),
    };
    let words = pick(
        t,
        "更換金鑰申請須同時以該單位目前持有的憑證金鑰簽署（已登錄、目前有效且未撤銷）：{}。\
         遺失或外洩的金鑰無法用於更換：請撤銷該金鑰，並請學校重新提出加入申請。",
        "A rotation request must also be signed with a credential key the institution holds now \
         (registered, valid now, not revoked): {}. A lost or compromised key cannot sign one: revoke it, \
         and onboard the institution again from a new request.",
    );
    words.replacen("{}", why, 1)
}

/// An institution's credential key as the list shows it.
pub(super) struct KeyView {
    key: String,
    window: String,
    state: String,
    class: &'static str,
    revoke: Option<String>,
}

/// An institution's signing certificate as the list shows it.
pub(super) struct CertView {
    sha256: String,
    short: String,
    window: String,
    state: String,
    class: &'static str,
    revoke: Option<String>,
    download: String,
}

/// An institution as the list shows it.
pub(super) struct InstitutionView {
    id: String,
    name_zh: String,
    name_en: String,
    address: String,
    accreditation: String,
    since: String,
    keys: Vec<KeyView>,
    certificates: Vec<CertView>,
}

/// The trust list published last.
pub(super) struct PublishedView {
    /// Its sequence and time, in words.
    line: String,
    /// Whether the registry's database holds it (else it is only the list this site serves).
    recorded: bool,
    /// The sequence this site serves, when it is another.
    served: Option<u64>,
}

#[derive(Template)]
#[template(path = "ministry/console/institutions.html")]
pub(super) struct InstitutionsPage {
    c: Chrome,
    notice: Option<&'static str>,
    errors: Vec<String>,
    configured: bool,
    published: PublishedView,
    pending: bool,
    institutions: Vec<InstitutionView>,
}

pub(super) fn institution_view(t: Texts, r: &RegisteredInstitution, now: Timestamp) -> InstitutionView {
    let i = &r.institution;
    let window = |from: i64, until: i64| format!("{} – {}", t.time(from), t.time(until));
    let id = urlencode(&i.id);
    InstitutionView {
        id: i.id.clone(),
        name_zh: i.name_zh.clone(),
        name_en: i.name_en.clone(),
        address: i.address.clone(),
        accreditation: accreditation_words(t, &i.accreditation.credential_types, &i.accreditation.degree_levels),
        since: t.time(i.created_at),
        keys: r
            .keys
            .iter()
            .map(|k| {
                let (state, class) =
                    window_state(t, (k.valid_from, k.valid_until), k.revoked_from, k.revocation_reason.as_deref(), now);
                KeyView {
                    key: k.public_key_multibase.clone(),
                    window: window(k.valid_from, k.valid_until),
                    state,
                    class,
                    revoke: k.revoked_from.is_none().then(|| {
                        format!("/console/institutions/{id}/revoke?key={}", urlencode(&k.public_key_multibase))
                    }),
                }
            })
            .collect(),
        certificates: r
            .certificates
            .iter()
            .map(|c| {
                let (state, class) =
                    window_state(t, (c.not_before, c.not_after), c.revoked_from, c.revocation_reason.as_deref(), now);
                CertView {
                    sha256: c.sha256.clone(),
                    short: c.sha256.chars().take(16).collect(),
                    window: window(c.not_before, c.not_after),
                    state,
                    class,
                    revoke: c
                        .revoked_from
                        .is_none()
                        .then(|| format!("/console/institutions/{id}/revoke?key={}", urlencode(&c.sha256))),
                    download: format!("/console/institutions/{id}/certificate?sha256={}", urlencode(&c.sha256)),
                }
            })
            .collect(),
    }
}

pub(super) fn published_line(t: Texts, content: &TrustListContent) -> String {
    t.f("moe.console.institutions.published", &[&content.sequence, &t.time(content.issued.unix())])
}

/// The list of institutions, with `notice` or `errors` above it.
pub(super) async fn institutions_view(
    state: &MinistryState,
    ctx: &Ctx,
    staff: &Staff,
    notice: Option<&'static str>,
    errors: Vec<String>,
    status: StatusCode,
) -> PageResult {
    let t = ctx.t;
    let now = now();
    let registry = state.store.trust_registry().await?;
    let served = state.trust();
    let (published, listed) = match state.store.latest_trust_list().await? {
        Some(latest) => {
            let content: TrustListContent = serde_json::from_str(&latest.json)
                .map_err(|e| AppError::internal("reading the latest trust list in the database", e))?;
            let view = PublishedView {
                line: published_line(t, &content),
                recorded: true,
                served: (served.list.content.sequence != content.sequence).then_some(served.list.content.sequence),
            };
            (view, content.issuers)
        }
        None => {
            let content = &served.list.content;
            let view = PublishedView { line: published_line(t, content), recorded: false, served: None };
            (view, content.issuers.clone())
        }
    };
    let pending = registry.iter().map(registry::issuer_entry).collect::<Vec<_>>() != listed;
    let page_ = InstitutionsPage {
        c: ctx.chrome(Some(staff), "institutions"),
        notice,
        errors,
        configured: state.registry_keys.is_some(),
        published,
        pending,
        institutions: registry.iter().map(|r| institution_view(t, r, now)).collect(),
    };
    with_status(status, page(page_))
}

pub(super) async fn institutions(
    State(state): State<MinistryState>,
    ctx: Ctx,
    Query(q): Query<DoneQuery>,
) -> PageResult {
    let staff = ctx.require(&state.store, Action::ManageInstitutions).await?;
    let t = ctx.t;
    let notice = match q.done.as_deref() {
        Some("saved") => Some(t.s("moe.console.institutions.notice.saved")),
        Some("contact") => Some(t.s("moe.console.institutions.notice.contact")),
        Some("revoked") => Some(t.s("moe.console.institutions.notice.revoked")),
        Some("published") => Some(t.s("moe.console.institutions.notice.published")),
        _ => None,
    };
    institutions_view(&state, &ctx, &staff, notice, Vec::new(), StatusCode::OK).await
}

// ----- publishing -----

pub(super) async fn publish_list(
    State(state): State<MinistryState>,
    Extension(console): Extension<Console>,
    Posted(ctx, NoFields {}): Posted<NoFields>,
) -> PageResult {
    let staff = ctx.require(&state.store, Action::ManageInstitutions).await?;
    let t = ctx.t;
    let refuse = |errors: Vec<String>, status| institutions_view(&state, &ctx, &staff, None, errors, status);
    let Some(keys) = state.registry_keys.clone() else {
        let error = t.s("moe.console.institutions.not_configured").to_owned();
        return refuse(vec![error], StatusCode::SERVICE_UNAVAILABLE).await;
    };
    // A list under another root would not be served: refused before anything is kept.
    if keys.root_cert.fingerprint() != state.trust().list.root.fingerprint() {
        let error = t.s("moe.console.institutions.error.other_root").to_owned();
        return refuse(vec![error], StatusCode::CONFLICT).await;
    }
    let _one_at_a_time = console.registry.lock().await;
    let audit = |content: &TrustListContent| {
        let detail = format!("{} institution(s)", content.issuers.len());
        ctx.audit_by(&staff, "publish_trust_list", format!("trust_list:{}", content.sequence), detail)
    };
    let served = Some(state.trust().list.content.sequence);
    let published = registry::publish(&state.store, keys.list_signing(), served, now(), audit).await;
    if let Err(e) = published {
        return refuse(vec![registry_error(t, &e)?], StatusCode::CONFLICT).await;
    }
    if let Err(e) = registry::refresh(&state).await {
        let error = t.f1("moe.console.institutions.error.not_served", registry_error(t, &e)?);
        return refuse(vec![error], StatusCode::CONFLICT).await;
    }
    Ok(redirect("/console/institutions?done=published"))
}

// ----- an institution's details -----

#[derive(Clone, Default, Deserialize)]
pub(super) struct InstitutionForm {
    #[serde(default)]
    name_zh: String,
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    degree: Option<String>,
    #[serde(default)]
    teacher: Option<String>,
    #[serde(default)]
    associate: Option<String>,
    #[serde(default)]
    bachelor: Option<String>,
    #[serde(default)]
    master: Option<String>,
    #[serde(default)]
    doctor: Option<String>,
}

impl InstitutionForm {
    fn of(details: &InstitutionDetails) -> Self {
        let on = |yes: bool| yes.then(|| "on".to_owned());
        let level = |l| on(details.degree_levels.contains(&l));
        InstitutionForm {
            name_zh: details.name_zh.clone(),
            name_en: details.name_en.clone(),
            address: details.address.clone(),
            degree: on(details.credential_types.contains(&CredentialType::Degree)),
            teacher: on(details.credential_types.contains(&CredentialType::Teacher)),
            associate: level(DegreeLevel::Associate),
            bachelor: level(DegreeLevel::Bachelor),
            master: level(DegreeLevel::Master),
            doctor: level(DegreeLevel::Doctor),
        }
    }

    fn details(&self) -> InstitutionDetails {
        let mut credential_types = Vec::new();
        for (field, ty) in [(&self.degree, CredentialType::Degree), (&self.teacher, CredentialType::Teacher)] {
            if field.is_some() {
                credential_types.push(ty);
            }
        }
        let mut degree_levels = Vec::new();
        for (field, level) in [
            (&self.associate, DegreeLevel::Associate),
            (&self.bachelor, DegreeLevel::Bachelor),
            (&self.master, DegreeLevel::Master),
            (&self.doctor, DegreeLevel::Doctor),
        ] {
            if field.is_some() {
                degree_levels.push(level);
            }
        }
        InstitutionDetails {
            name_zh: self.name_zh.trim().to_owned(),
            name_en: self.name_en.trim().to_owned(),
            address: self.address.trim().to_owned(),
            credential_types,
            degree_levels,
        }
    }
}

#[derive(Template)]
#[template(path = "ministry/console/institution_form.html")]
pub(super) struct InstitutionFormPage {
    c: Chrome,
    id: String,
    form: InstitutionForm,
    errors: Vec<String>,
    contact: ContactForm,
    contact_errors: Vec<String>,
}

/// The institution's edit page: its registered details (`form`) and its contact, each with the
/// problems of its last post.
pub(super) async fn institution_form(
    state: &MinistryState,
    (ctx, staff): (&Ctx, &Staff),
    id: String,
    (form, errors): (Option<InstitutionForm>, Vec<String>),
    (contact, contact_errors): (Option<ContactForm>, Vec<String>),
) -> PageResult {
    let form = match form {
        Some(f) => f,
        None => {
            let institution = state.store.institution(&id).await?.ok_or(AppError::NotFound)?;
            InstitutionForm::of(&registry::details_of(&institution))
        }
    };
    let contact = match contact {
        Some(c) => c,
        None => ContactForm::of(state.store.institution_contact(&id).await?.unwrap_or_default()),
    };
    let ok = errors.is_empty() && contact_errors.is_empty();
    let status = if ok { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let c = ctx.chrome(Some(staff), "institutions");
    with_status(status, page(InstitutionFormPage { c, id, form, errors, contact, contact_errors }))
}

pub(super) async fn institution_edit(
    State(state): State<MinistryState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> PageResult {
    let staff = ctx.require(&state.store, Action::ManageInstitutions).await?;
    institution_form(&state, (&ctx, &staff), id, (None, Vec::new()), (None, Vec::new())).await
}

/// The contact form: whom a verifier asks about the institution's certificates.
#[derive(Deserialize)]
pub(super) struct ContactForm {
    office_zh: String,
    office_en: String,
    phone: String,
    website: String,
}

impl ContactForm {
    fn of(c: InstitutionContact) -> Self {
        ContactForm { office_zh: c.office_zh, office_en: c.office_en, phone: c.phone, website: c.website }
    }

    /// The contact, or what is wrong with the form, in the page's language.
    fn contact(&self, t: Texts) -> Result<InstitutionContact, Vec<String>> {
        let contact = InstitutionContact {
            office_zh: self.office_zh.trim().to_owned(),
            office_en: self.office_en.trim().to_owned(),
            phone: self.phone.trim().to_owned(),
            website: self.website.trim().to_owned(),
        };
        let mut errors = Vec::new();
        let plain = |s: &str, max: usize| s.chars().count() <= max && !s.chars().any(char::is_control);
        if contact.office_zh.is_empty() || !plain(&contact.office_zh, 100) || !plain(&contact.office_en, 200) {
            errors.push(t.s("moe.console.contact.bad_office").to_owned());
        }
        let phone_ok = |c: char| c.is_ascii_digit() || " ()+-#,.轉分機extEXT".contains(c);
        if contact.phone.is_empty() || contact.phone.chars().count() > 40 || !contact.phone.chars().all(phone_ok) {
            errors.push(t.s("moe.console.contact.bad_phone").to_owned());
        }
        let website_ok = contact.website.is_empty()
            || (contact.website.starts_with("https://")
                && contact.website.len() <= 200
                && contact.website.len() > "https://".len()
                && !contact.website.chars().any(|c| c.is_whitespace() || c.is_control() || "\"'<>".contains(c)));
        if !website_ok {
            errors.push(t.s("moe.console.contact.bad_website").to_owned());
        }
        if errors.is_empty() { Ok(contact) } else { Err(errors) }
    }
}

/// Saves whom to ask about an institution's certificates.
pub(super) async fn institution_contact_save(
    State(state): State<MinistryState>,
    Path(id): Path<String>,
    Posted(ctx, form): Posted<ContactForm>,
) -> PageResult {
    let staff = ctx.require(&state.store, Action::ManageInstitutions).await?;
    state.store.institution(&id).await?.ok_or(AppError::NotFound)?;
    let contact = match form.contact(ctx.t) {
        Ok(c) => c,
        Err(errors) => {
            return institution_form(&state, (&ctx, &staff), id, (None, Vec::new()), (Some(form), errors)).await;
        }
    };
    let audit = ctx.audit_by(&staff, "edit_institution_contact", format!("institution:{id}"), String::new());
    state.store.set_institution_contact(&id, &contact, now().unix(), &audit).await?;
    Ok(redirect("/console/institutions?done=contact"))
}

pub(super) async fn institution_save(
    State(state): State<MinistryState>,
    Path(id): Path<String>,
    Posted(ctx, form): Posted<InstitutionForm>,
) -> PageResult {
    let staff = ctx.require(&state.store, Action::ManageInstitutions).await?;
    let t = ctx.t;
    let before = state.store.institution(&id).await?.ok_or(AppError::NotFound)?;
    let before = registry::details_of(&before);
    let details = form.details();
    let mut changed = Vec::new();
    if (&before.name_zh, &before.name_en) != (&details.name_zh, &details.name_en) {
        changed.push("names");
    }
    if before.address != details.address {
        changed.push("address");
    }
    if before.accreditation() != details.accreditation() {
        changed.push("accreditation");
    }
    let detail = if changed.is_empty() { "no change".to_owned() } else { changed.join(", ") };
    let audit = ctx.audit_by(&staff, "edit_institution", format!("institution:{id}"), detail);
    if let Err(e) = registry::update_institution(&state.store, &id, &details, now(), &audit).await {
        return match e {
            RegistryError::UnknownInstitution(_) => Err(AppError::NotFound),
            e => {
                let error = registry_error(t, &e)?;
                institution_form(&state, (&ctx, &staff), id, (Some(form), vec![error]), (None, Vec::new())).await
            }
        };
    }
    Ok(redirect("/console/institutions?done=saved"))
}
