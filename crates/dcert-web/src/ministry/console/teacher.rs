//! Digital teacher certificates (電子教師證書): the form, issuance with the Ministry's own kit, the download.

use super::*;

// ----- teacher certificates -----

#[derive(Clone, Default, Deserialize)]
pub(super) struct TeacherForm {
    #[serde(default)]
    language: String,
    #[serde(default)]
    certificate_number: String,
    #[serde(default)]
    name_zh: String,
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    kind_zh: String,
    #[serde(default)]
    kind_en: String,
    #[serde(default)]
    subject_zh: String,
    #[serde(default)]
    subject_en: String,
    #[serde(default)]
    teacher_certificate_number: String,
    #[serde(default)]
    issue_date: String,
}

impl TeacherForm {
    /// The language, the number asked for (if any) and the record, or what is wrong with them.
    fn parts(&self, t: Texts) -> Result<(Language, Option<String>, TeacherRecord), Vec<String>> {
        let mut p = Problems::new(t);
        let language = match self.language.as_str() {
            "zh" => Some(Language::Zh),
            "en" => Some(Language::En),
            _ => {
                p.push("moe.console.error.language");
                None
            }
        };
        let number = self.certificate_number.trim();
        if !number.is_empty() && !is_valid_certificate_number(number) {
            p.push("moe.console.error.number");
        }
        let max = dcert_core::model::MAX_FIELD_CHARS;
        for (label, value) in [
            ("moe.console.teacher.name_zh", &self.name_zh),
            ("moe.console.teacher.name_en", &self.name_en),
            ("moe.console.teacher.kind_zh", &self.kind_zh),
            ("moe.console.teacher.kind_en", &self.kind_en),
            ("moe.console.teacher.subject_zh", &self.subject_zh),
            ("moe.console.teacher.subject_en", &self.subject_en),
            ("moe.field.teacher_number", &self.teacher_certificate_number),
        ] {
            p.text(label, value, max, false);
        }
        let birth = p.date("moe.field.birth", &self.birth_date);
        let issued = p.date("moe.field.teacher_issue_date", &self.issue_date);
        let today = now().taiwan_date();
        if let (Some(b), Some(i)) = (birth, issued) {
            if b >= i {
                p.push("moe.console.error.birth_after_issue");
            }
            if i > today {
                p.push("moe.console.error.future");
            }
        }
        match (language, birth, issued) {
            (Some(language), Some(birth_date), Some(issue_date)) if p.list.is_empty() => Ok((
                language,
                (!number.is_empty()).then(|| number.to_owned()),
                TeacherRecord {
                    name_zh: self.name_zh.trim().to_owned(),
                    name_en: self.name_en.trim().to_owned(),
                    birth_date,
                    kind_zh: self.kind_zh.trim().to_owned(),
                    kind_en: self.kind_en.trim().to_owned(),
                    subject_zh: self.subject_zh.trim().to_owned(),
                    subject_en: self.subject_en.trim().to_owned(),
                    teacher_certificate_number: self.teacher_certificate_number.trim().to_owned(),
                    issue_date,
                },
            )),
            _ => Err(p.list),
        }
    }
}

#[derive(Template)]
#[template(path = "ministry/console/teacher.html")]
pub(super) struct TeacherPage {
    c: Chrome,
    /// The Ministry's name as issuer, when an issuer kit is configured.
    issuer: Option<String>,
    /// Whether the published trust list accredits it for teacher certificates.
    accredited: bool,
    form: TeacherForm,
    errors: Vec<String>,
    /// The files issued, newest first (those of `search` only, when one is given).
    issued: Vec<IssuedTeacher>,
    /// The number searched for, or empty.
    search: String,
    /// How many `issued` shows, when there are more.
    more: Option<usize>,
}

/// A teacher certificate file issued, as the list shows it.
pub(super) struct IssuedTeacher {
    id: i64,
    number: String,
    language: &'static str,
    version: i64,
    at: String,
    by: String,
    /// The start of its hash (never all of it, as elsewhere in the console).
    short: String,
}

/// How many issued files the teacher page lists.
pub(super) const TEACHER_LIST: usize = 100;

#[derive(Deserialize)]
pub(super) struct TeacherQuery {
    number: Option<String>,
}

/// The start of a file's hash, as pages and audit entries show it.
pub(super) fn short_hash(sha256: &str) -> &str {
    sha256.get(..12).unwrap_or(sha256)
}

/// The file name of a teacher certificate's download.
pub(super) fn teacher_file_name(number: &str, language: &str, version: i64) -> String {
    format!("{number}-{language}-v{version}.pdf")
}

/// Whether the published trust list names the institution `id` for teacher certificates.
pub(super) fn accredited_for_teachers(state: &MinistryState, id: &str) -> bool {
    state
        .trust()
        .list
        .content
        .issuers
        .iter()
        .any(|i| i.id == id && i.accreditation.credential_types.contains(&CredentialType::Teacher))
}

pub(super) async fn teacher_view(
    state: &MinistryState,
    ctx: &Ctx,
    staff: &Staff,
    form: TeacherForm,
    errors: Vec<String>,
    search: String,
) -> PageResult {
    let t = ctx.t;
    let number = (!search.is_empty()).then_some(search.as_str());
    let mut files = state.store.teacher_certificates(number, TEACHER_LIST as i64 + 1).await?;
    let more = (files.len() > TEACHER_LIST).then_some(TEACHER_LIST);
    files.truncate(TEACHER_LIST);
    let issued = files
        .into_iter()
        .map(|f| IssuedTeacher {
            id: f.id,
            language: match f.language.as_str() {
                "en" => language_words(t, Language::En),
                _ => language_words(t, Language::Zh),
            },
            version: f.version,
            at: t.time(f.issued_at),
            by: f.issued_by,
            short: short_hash(&f.sha256).to_owned(),
            number: f.number,
        })
        .collect();
    let issuance = state.issuance.as_ref();
    let status = match issuance {
        None => StatusCode::SERVICE_UNAVAILABLE,
        Some(_) if !errors.is_empty() => StatusCode::UNPROCESSABLE_ENTITY,
        Some(_) => StatusCode::OK,
    };
    let page_ = TeacherPage {
        c: ctx.chrome(Some(staff), "teacher"),
        issuer: issuance.map(|i| pick(ctx.t, &i.kit.name_zh, &i.kit.name_en).to_owned()),
        accredited: issuance.is_some_and(|i| accredited_for_teachers(state, &i.kit.issuer.id)),
        form,
        errors,
        issued,
        search,
        more,
    };
    with_status(status, page(page_))
}

pub(super) async fn teacher_page(
    State(state): State<MinistryState>,
    ctx: Ctx,
    Query(q): Query<TeacherQuery>,
) -> PageResult {
    let staff = ctx.require(&state.store, Action::IssueTeacher).await?;
    let form = TeacherForm { language: "zh".into(), ..TeacherForm::default() };
    teacher_view(
        &state,
        &ctx,
        &staff,
        form,
        Vec::new(),
        crate::http::non_empty(q.number.as_deref()).unwrap_or_default(),
    )
    .await
}

/// A new certificate number `<ISSUER>-T-<year>-<six digits>`, free in the registry.
pub(super) async fn new_number(store: &MinistryStore, institution: &str, year: i32) -> Result<String, AppError> {
    for _ in 0..20 {
        let mut random = [0u8; 4];
        getrandom::fill(&mut random).map_err(|e| AppError::internal("drawing a teacher certificate number", e))?;
        let n = u32::from_le_bytes(random) % 1_000_000;
        let number = format!("{}-T-{year}-{n:06}", institution.to_ascii_uppercase());
        let mut taken = false;
        for language in [Language::Zh, Language::En] {
            taken |= !store.registry_certificate(institution, &number, language.code()).await?.is_empty();
        }
        if !taken {
            return Ok(number);
        }
    }
    Err(AppError::unexpected("no free teacher certificate number after 20 tries"))
}

pub(super) async fn teacher_issue(
    State(state): State<MinistryState>,
    Extension(console): Extension<Console>,
    Posted(ctx, form): Posted<TeacherForm>,
) -> PageResult {
    let staff = ctx.require(&state.store, Action::IssueTeacher).await?;
    let t = ctx.t;
    let Some(issuance) = state.issuance.clone() else {
        return teacher_view(&state, &ctx, &staff, form, Vec::new(), String::new()).await;
    };
    let institution = issuance.kit.issuer.id.clone();
    if !accredited_for_teachers(&state, &institution) {
        let errors = vec![t.s("moe.console.teacher.not_accredited").to_owned()];
        return teacher_view(&state, &ctx, &staff, form, errors, String::new()).await;
    }
    let (language, number, record) = match form.parts(t) {
        Ok(parts) => parts,
        Err(errors) => return teacher_view(&state, &ctx, &staff, form, errors, String::new()).await,
    };
    // The number is free and its record written before another issuance looks.
    let _one_at_a_time = console.issuing.lock().await;
    let issued_at = now();
    let number = match number {
        Some(n) => n,
        None => new_number(&state.store, &institution, issued_at.taiwan_date().year()).await?,
    };
    let version = 1;
    let existing = state.store.registry_certificate(&institution, &number, language.code()).await?;
    if existing.iter().any(|r| r.version == i64::from(version)) {
        let errors = vec![t.f("moe.console.teacher.taken", &[&number, &language_words(t, language), &version])];
        return teacher_view(&state, &ctx, &staff, form, errors, String::new()).await;
    }
    let certificate = Certificate {
        number: number.clone(),
        language,
        version,
        previous_version_sha256: None,
        subject: Subject::Teacher(record),
    };
    if certificate.validate().is_err() {
        // The form's checks are those of the model; this is a backstop, and its message (which
        // may quote the record) is not logged.
        let errors = vec![t.s("moe.console.error.record").to_owned()];
        return teacher_view(&state, &ctx, &staff, form, errors, String::new()).await;
    }
    let design = Design::default_for(CredentialType::Teacher, language);
    let kit = issuance.clone();
    let rendered =
        tokio::task::spawn_blocking(move || issue::issue(&certificate, &kit.kit, &design, &kit.fonts, issued_at))
            .await
            .map_err(|e| AppError::internal("issuing a teacher certificate", e))?;
    let file = match rendered {
        Ok(file) => file,
        Err(IssueError::Render(RenderError::MissingGlyph(m))) => {
            let errors = vec![t.f("moe.console.teacher.missing_glyph", &[&format!("U+{:04X}", m.code)])];
            return teacher_view(&state, &ctx, &staff, form, errors, String::new()).await;
        }
        // Only the kind of failure: the error's text may quote the record.
        Err(e) => {
            let kind = match e {
                IssueError::Credential(_) => "credential",
                IssueError::Render(_) => "render",
                IssueError::Sign(_) => "sign",
            };
            return Err(AppError::unexpected(format!("a teacher certificate could not be issued ({kind})")));
        }
    };
    let sha256 = file.sha256.to_string();
    let record = RegistryRecord {
        institution: institution.clone(),
        sha256: sha256.clone(),
        event: "issued".into(),
        number: number.clone(),
        language: language.code().into(),
        version: i64::from(version),
        previous_sha256: None,
        credential_type: "teacher".into(),
        credential_sha256: Some(file.credential_sha256.to_string()),
        reason: None,
        at: issued_at.unix(),
    };
    let detail = format!("{} v{version} sha256 {}", language.code(), short_hash(&sha256));
    let audit = ctx.audit_by(&staff, "teacher_issue", format!("certificate:{number}"), detail);
    // The registry record, the file and the audit entry in one transaction: a certificate
    // registered is a file kept, which its download (below, or later from the list) serves.
    let id = match state.store.store_teacher_certificate(&record, &file.bytes, &staff.username, &audit).await {
        Ok(id) => id,
        // Another node issued this number, language and version since the check above.
        Err(StoreError::Conflict(_)) => {
            let errors = vec![t.f("moe.console.teacher.taken", &[&number, &language_words(t, language), &version])];
            return teacher_view(&state, &ctx, &staff, form, errors, String::new()).await;
        }
        Err(e) => return Err(e.into()),
    };
    // The file is downloaded from where it is kept: a download that was lost is asked for again
    // (the browser's retry, or the list of issued files), never issued again.
    Ok(redirect(&format!("/console/teacher/{id}/download")))
}

/// A teacher certificate file as it was issued, byte for byte.
pub(super) async fn teacher_download(State(state): State<MinistryState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let staff = ctx.require(&state.store, Action::IssueTeacher).await?;
    let (info, bytes) = state.store.teacher_certificate_file(id).await?;
    let detail = format!("{} v{} sha256 {}", info.language, info.version, short_hash(&info.sha256));
    let target = format!("certificate:{}", info.number);
    state.store.audit(&ctx.audit_by(&staff, "teacher_download", target, detail)).await?;
    Ok(pdf_download(&teacher_file_name(&info.number, &info.language, info.version), bytes))
}

pub(super) fn language_words(t: Texts, language: Language) -> &'static str {
    match language {
        Language::Zh => t.s("moe.lang.zh"),
        Language::En => t.s("moe.lang.en"),
    }
}
