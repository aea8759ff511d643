//! Onboarding an institution and rotating its keys: request, preview, confirm.

use super::*;

// ----- onboarding and rotation: request → preview → confirm -----

/// The request form: onboarding (`rotation` false) or a key rotation.
#[derive(Template)]
#[template(path = "ministry/console/institution_request.html")]
pub(super) struct RequestPage {
    c: Chrome,
    rotation: bool,
    configured: bool,
    request: String,
    valid_until: String,
    errors: Vec<String>,
    max_kib: usize,
}

/// What confirming a request will record.
#[derive(Template)]
#[template(path = "ministry/console/institution_preview.html")]
pub(super) struct PreviewPage {
    c: Chrome,
    rotation: bool,
    id: String,
    name_zh: String,
    name_en: String,
    address: String,
    accreditation: String,
    credential_key: Option<String>,
    signing_key: Option<String>,
    window: String,
    /// The request as compact JSON, sent again with the confirmation.
    request: String,
    valid_until: String,
}

/// The certificate issued, to hand to the institution.
pub(super) struct IssuedView {
    pem: String,
    sha256: String,
    download: String,
    file_name: String,
}

#[derive(Template)]
#[template(path = "ministry/console/institution_done.html")]
pub(super) struct DonePage {
    c: Chrome,
    rotation: bool,
    id: String,
    name: String,
    credential_key: Option<String>,
    certificate: Option<IssuedView>,
    window: String,
}

/// A request form as posted: pasted text or an uploaded file, and the validity asked for.
#[derive(Default, Deserialize)]
pub(super) struct RequestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    valid_until: String,
}

/// A request form, read from a multipart upload or an ordinary form. A request over
/// [`MAX_REQUEST_BYTES`] is read no further (`request` is then longer than the limit).
pub(super) async fn read_request_form(
    state: &MinistryState,
    t: Texts,
    request: Request,
) -> Result<RequestForm, AppError> {
    let is_multipart = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let unreadable = || AppError::BadRequest(t.s("moe.console.institutions.error.unreadable").to_owned());
    if !is_multipart {
        let Form(form) = Form::<RequestForm>::from_request(request, state).await.map_err(|_| unreadable())?;
        return Ok(form);
    }
    let mut multipart = Multipart::from_request(request, state).await.map_err(|_| unreadable())?;
    let mut form = RequestForm::default();
    let mut file = Vec::new();
    while let Some(mut field) = multipart.next_field().await.map_err(|_| unreadable())? {
        let name = field.name().unwrap_or_default().to_owned();
        let cap = if matches!(name.as_str(), "request" | "file") { MAX_REQUEST_BYTES + 1 } else { 1024 };
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|_| unreadable())? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() >= cap {
                bytes.truncate(cap);
                break;
            }
        }
        match name.as_str() {
            "file" => file = bytes,
            "request" => form.request = String::from_utf8_lossy(&bytes).into_owned(),
            "csrf" => form.csrf = String::from_utf8_lossy(&bytes).into_owned(),
            "valid_until" => form.valid_until = String::from_utf8_lossy(&bytes).into_owned(),
            _ => {}
        }
    }
    if !file.is_empty() {
        // A file that is not UTF-8 is not JSON: the parser says so.
        form.request = String::from_utf8(file).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    }
    Ok(form)
}

pub(super) fn request_view(
    state: &MinistryState,
    ctx: &Ctx,
    staff: &Staff,
    rotation: bool,
    form: RequestForm,
    errors: Vec<String>,
) -> PageResult {
    let configured = state.registry_keys.is_some();
    let status = match configured {
        false => StatusCode::SERVICE_UNAVAILABLE,
        true if !errors.is_empty() => StatusCode::UNPROCESSABLE_ENTITY,
        true => StatusCode::OK,
    };
    // What was pasted comes back, unless it is too long to be a request.
    let request = if form.request.len() > MAX_REQUEST_BYTES { String::new() } else { form.request };
    let page_ = RequestPage {
        c: ctx.chrome(Some(staff), "institutions"),
        rotation,
        configured,
        request,
        valid_until: form.valid_until,
        errors,
        max_kib: MAX_REQUEST_BYTES / 1024,
    };
    with_status(status, page(page_))
}

/// The request's bytes, or what is wrong with them.
pub(super) fn request_bytes(t: Texts, form: &RequestForm) -> Result<Vec<u8>, String> {
    if form.request.len() > MAX_REQUEST_BYTES {
        return Err(request_error(t, &RequestError::TooLarge));
    }
    let text = form.request.trim();
    if text.is_empty() {
        return Err(t.s("moe.console.institutions.error.empty").to_owned());
    }
    Ok(text.as_bytes().to_vec())
}

/// The request of a form, read with `parse`, and the end of validity asked for; or what is
/// wrong with them, in the page's language.
pub(super) fn parse_form<R>(
    t: Texts,
    form: &RequestForm,
    parse: impl Fn(&[u8]) -> Result<R, RequestError>,
) -> Result<(R, Option<Timestamp>), String> {
    let bytes = request_bytes(t, form)?;
    let parsed = parse(&bytes).map_err(|e| request_error(t, &e))?;
    let until = parse_valid_until(t, &form.valid_until)?;
    Ok((parsed, until))
}

/// The validity window of keys recorded now, in words.
pub(super) fn window_words(t: Texts, from: Timestamp, until: Timestamp) -> String {
    format!("{} – {}", t.time(from.unix()), t.time(until.unix()))
}

/// One of the two flows (onboarding, or a rotation when `rotation`) at one of its steps.
struct Step<'a> {
    state: &'a MinistryState,
    ctx: &'a Ctx,
    rotation: bool,
}

/// A posted request that reads well: who posts it, the Ministry's keys and the request.
struct Checked<R> {
    staff: Staff,
    keys: Arc<RegistryKeys>,
    parsed: R,
    /// The end of validity asked for, if any.
    until: Option<Timestamp>,
    form: RequestForm,
}

impl<R> Checked<R> {
    /// Now, and the end of the validity window of keys recorded now.
    fn window(&self) -> (Timestamp, Timestamp) {
        let at = now();
        (at, self.keys.validity_end(self.until, at))
    }
}

impl Step<'_> {
    /// The request form again, with `errors`.
    fn view(&self, staff: &Staff, form: RequestForm, errors: Vec<String>) -> PageResult {
        request_view(self.state, self.ctx, staff, self.rotation, form, errors)
    }

    /// The request form again, saying what the registry refused.
    fn refused(&self, posted: Checked<impl Sized>, e: &RegistryError) -> PageResult {
        let error = registry_error(self.ctx.t, e)?;
        self.view(&posted.staff, posted.form, vec![error])
    }

    /// Checks a posted form: its token, the role, the Ministry's keys and the request read with
    /// `parse`; where one is missing or wrong, the page to answer with instead.
    async fn check<R>(
        &self,
        form: RequestForm,
        parse: impl Fn(&[u8]) -> Result<R, RequestError>,
    ) -> Result<Result<Checked<R>, Response>, AppError> {
        self.ctx.check_csrf(&form.csrf)?;
        let staff = self.ctx.require(&self.state.store, Action::ManageInstitutions).await?;
        let Some(keys) = self.state.registry_keys.clone() else {
            return self.view(&staff, form, Vec::new()).map(Err);
        };
        match parse_form(self.ctx.t, &form, parse) {
            Ok((parsed, until)) => Ok(Ok(Checked { staff, keys, parsed, until, form })),
            Err(error) => self.view(&staff, form, vec![error]).map(Err),
        }
    }

    /// The form, empty.
    async fn start(&self) -> PageResult {
        let staff = self.ctx.require(&self.state.store, Action::ManageInstitutions).await?;
        self.view(&staff, RequestForm::default(), Vec::new())
    }
}

pub(super) async fn onboard_page(State(state): State<MinistryState>, ctx: Ctx) -> PageResult {
    Step { state: &state, ctx: &ctx, rotation: false }.start().await
}

/// Checks an onboarding request as confirming it would, and records nothing.
pub(super) async fn onboard_preview(State(state): State<MinistryState>, ctx: Ctx, request: Request) -> PageResult {
    let step = Step { state: &state, ctx: &ctx, rotation: false };
    let form = read_request_form(&state, ctx.t, request).await?;
    let posted = match step.check(form, OnboardingRequest::parse).await? {
        Ok(posted) => posted,
        Err(page) => return Ok(page),
    };
    let (credential, signing) = match registry::check_onboarding(&state.store, &posted.parsed).await {
        Ok(keys) => keys,
        Err(e) => return step.refused(posted, &e),
    };
    let (at, until) = posted.window();
    let (t, parsed) = (ctx.t, &posted.parsed);
    let details = parsed.details();
    page(PreviewPage {
        c: ctx.chrome(Some(&posted.staff), "institutions"),
        rotation: false,
        id: parsed.id.clone(),
        accreditation: accreditation_words(t, &details.credential_types, &details.degree_levels),
        name_zh: details.name_zh,
        name_en: details.name_en,
        address: details.address,
        credential_key: Some(credential.to_multikey()),
        signing_key: Some(registry::signing_key_fingerprint(&signing).to_string()),
        window: window_words(t, at, until),
        request: serde_json::to_string(parsed).map_err(|e| AppError::internal("a request", e))?,
        valid_until: posted.form.valid_until,
    })
}

/// The certificate issued for `id`, as the done page offers it.
pub(super) fn issued_view(id: &str, cert: &ParsedCert) -> IssuedView {
    let sha256 = Sha256Digest::of(&cert.der).to_string();
    IssuedView {
        pem: cert.to_pem(),
        download: format!("/console/institutions/{}/certificate?sha256={sha256}", urlencode(id)),
        file_name: format!("{id}.cert.pem"),
        sha256,
    }
}

pub(super) async fn onboard_confirm(
    State(state): State<MinistryState>,
    Extension(console): Extension<Console>,
    ctx: Ctx,
    Form(form): Form<RequestForm>,
) -> PageResult {
    let step = Step { state: &state, ctx: &ctx, rotation: false };
    let posted = match step.check(form, OnboardingRequest::parse).await? {
        Ok(posted) => posted,
        Err(page) => return Ok(page),
    };
    let _one_at_a_time = console.registry.lock().await;
    let (at, until) = posted.window();
    let keys = &posted.keys;
    let audit = |cert: &ParsedCert| {
        let sha256 = Sha256Digest::of(&cert.der).to_string();
        let detail = format!("signing certificate {}, valid until {until}", &sha256[..16]);
        ctx.audit_by(&posted.staff, "onboard_institution", format!("institution:{}", posted.parsed.id), detail)
    };
    let onboarded =
        registry::onboard(&state.store, &keys.ca, &keys.root_cert, &posted.parsed, (at, until), audit).await;
    let cert = match onboarded {
        Ok(cert) => cert,
        Err(e) => return step.refused(posted, &e),
    };
    let (t, parsed, staff) = (ctx.t, &posted.parsed, &posted.staff);
    let issued = issued_view(&parsed.id, &cert);
    page(DonePage {
        c: ctx.chrome(Some(staff), "institutions"),
        rotation: false,
        id: parsed.id.clone(),
        name: pick(t, &parsed.name_zh, &parsed.name_en).to_owned(),
        credential_key: Some(parsed.credential_key.clone()),
        certificate: Some(issued),
        window: window_words(t, at, until),
    })
}

pub(super) async fn rotate_page(State(state): State<MinistryState>, ctx: Ctx) -> PageResult {
    Step { state: &state, ctx: &ctx, rotation: true }.start().await
}

/// Checks a rotation request as confirming it would, and records nothing.
pub(super) async fn rotate_preview(State(state): State<MinistryState>, ctx: Ctx, request: Request) -> PageResult {
    let step = Step { state: &state, ctx: &ctx, rotation: true };
    let form = read_request_form(&state, ctx.t, request).await?;
    let posted = match step.check(form, RotationRequest::parse).await? {
        Ok(posted) => posted,
        Err(page) => return Ok(page),
    };
    let (institution, proven) = match registry::check_rotation(&state.store, &posted.parsed).await {
        Ok(checked) => checked,
        Err(e) => return step.refused(posted, &e),
    };
    let (at, until) = posted.window();
    let t = ctx.t;
    let a = &institution.accreditation;
    page(PreviewPage {
        c: ctx.chrome(Some(&posted.staff), "institutions"),
        rotation: true,
        id: institution.id.clone(),
        accreditation: accreditation_words(t, &a.credential_types, &a.degree_levels),
        name_zh: institution.name_zh,
        name_en: institution.name_en,
        address: institution.address,
        credential_key: proven.credential.map(|k| k.to_multikey()),
        signing_key: proven.signing.map(|k| registry::signing_key_fingerprint(&k).to_string()),
        window: window_words(t, at, until),
        request: serde_json::to_string(&posted.parsed).map_err(|e| AppError::internal("a request", e))?,
        valid_until: posted.form.valid_until,
    })
}

pub(super) async fn rotate_confirm(
    State(state): State<MinistryState>,
    Extension(console): Extension<Console>,
    ctx: Ctx,
    Form(form): Form<RequestForm>,
) -> PageResult {
    let step = Step { state: &state, ctx: &ctx, rotation: true };
    let posted = match step.check(form, RotationRequest::parse).await? {
        Ok(posted) => posted,
        Err(page) => return Ok(page),
    };
    let _one_at_a_time = console.registry.lock().await;
    let (at, until) = posted.window();
    let keys = &posted.keys;
    let audit = |rotated: &registry::Rotated| {
        let sha256 = rotated.certificate.as_ref().map(|c| Sha256Digest::of(&c.der).to_string());
        let detail = match (&rotated.credential_key, sha256) {
            (Some(_), Some(sha256)) => format!("credential key and signing certificate {}", &sha256[..16]),
            (Some(_), None) => "credential key".to_owned(),
            (None, Some(sha256)) => format!("signing certificate {}", &sha256[..16]),
            (None, None) => "nothing".to_owned(),
        };
        ctx.audit_by(&posted.staff, "rotate_keys", format!("institution:{}", posted.parsed.id), detail)
    };
    let rotated =
        registry::rotate_key(&state.store, &keys.ca, &keys.root_cert, &posted.parsed, (at, until), audit).await;
    let rotated = match rotated {
        Ok(r) => r,
        Err(e) => return step.refused(posted, &e),
    };
    let (t, parsed, staff) = (ctx.t, &posted.parsed, &posted.staff);
    let issued = rotated.certificate.as_ref().map(|c| issued_view(&parsed.id, c));
    let institution = state.store.institution(&parsed.id).await?.ok_or(AppError::NotFound)?;
    page(DonePage {
        c: ctx.chrome(Some(staff), "institutions"),
        rotation: true,
        id: parsed.id.clone(),
        name: pick(t, &institution.name_zh, &institution.name_en).to_owned(),
        credential_key: rotated.credential_key,
        certificate: issued,
        window: window_words(t, at, until),
    })
}

#[derive(Deserialize)]
pub(super) struct CertificateQuery {
    sha256: Option<String>,
}

/// A signing certificate of an institution as PEM, to hand to it (`dcert ministry install`).
pub(super) async fn certificate_download(
    State(state): State<MinistryState>,
    ctx: Ctx,
    Path(institution): Path<String>,
    Query(q): Query<CertificateQuery>,
) -> PageResult {
    ctx.require(&state.store, Action::ManageInstitutions).await?;
    let sha256 = q.sha256.unwrap_or_default().to_ascii_lowercase();
    let certificates = state.store.institution_certificates(&institution).await?;
    let found = certificates.iter().find(|c| c.sha256 == sha256).ok_or(AppError::NotFound)?;
    let pem = x509::der_to_pem("CERTIFICATE", &found.der);
    let safe: String =
        institution.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).collect();
    let mut r = pem.into_response();
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-pem-file"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}.cert.pem\"")) {
        h.insert(CONTENT_DISPOSITION, v);
    }
    Ok(r)
}
