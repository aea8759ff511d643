//! The institutions of the trust registry in the Ministry console (發證單位管理): onboarding,
//! rotation, revocation, details and publishing, with files issued under them verified through
//! the API.

use super::*;

// ----- institutions (發證單位管理) -----

/// Onboards `nkust` with `Keys::new(seed)` straight into the registry, as the CLI would.
pub(crate) async fn onboard_directly(store: &MinistryStore, seed: u8) -> (Keys, ParsedCert) {
    let root = root();
    let keys = Keys::new(seed);
    let now = dcert_web::http::now();
    let request = request("nkust", &nkust(), &keys);
    let until = now.plus_seconds(365 * 86_400);
    let cert = registry::onboard(store, &root.key, &root.cert, &request, (now, until), |_| {
        crate::support::system("onboard_institution")
    })
    .await
    .unwrap();
    (keys, cert)
}

/// Undoes the escaping of an HTML attribute.
fn unescape(text: &str) -> String {
    text.replace("&#34;", "\"").replace("&#39;", "'").replace("&#60;", "<").replace("&#62;", ">").replace("&#38;", "&")
}

/// The value of the attribute that follows `marker` (e.g. `name="request" value="`) in `html`.
fn attribute(html: &str, marker: &str) -> String {
    let at = html.find(marker).unwrap_or_else(|| panic!("{marker} in {html}")) + marker.len();
    unescape(&html[at..at + html[at..].find('"').unwrap()])
}

fn hidden(html: &str, name: &str) -> String {
    attribute(html, &format!("name=\"{name}\" value=\""))
}

/// Confirms the preview in `preview` (its hidden fields, as a browser posts them) at `action`.
async fn confirm_preview(admin: &Browser<'_>, preview: &Reply, action: &str) -> Reply {
    assert_eq!(preview.status, StatusCode::OK, "the preview: {}", preview.text());
    let html = preview.text();
    admin.post(action, &[("request", &hidden(&html, "request")), ("valid_until", &hidden(&html, "valid_until"))]).await
}

/// The certificate a done page offers for download.
async fn downloaded_certificate(admin: &Browser<'_>, done: &Reply) -> ParsedCert {
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    let href = attribute(&done.text(), "id=\"download\" href=\"");
    let r = admin.get(&href).await;
    assert_eq!(r.status, StatusCode::OK, "{href}");
    assert_eq!(r.headers.get(header::CONTENT_TYPE).unwrap(), "application/x-pem-file");
    let disposition = r.headers.get(header::CONTENT_DISPOSITION).unwrap().to_str().unwrap();
    assert_eq!(disposition, "attachment; filename=\"nkust.cert.pem\"");
    ParsedCert::from_der(&x509::pem_to_der("CERTIFICATE", &r.text()).expect("a PEM certificate")).unwrap()
}

/// Onboards `nkust` with `keys` through the console: the request file uploaded, the preview
/// confirmed; returns the certificate the page offers.
async fn onboard_through_console(admin: &Browser<'_>, keys: &Keys) -> ParsedCert {
    let json = request("nkust", &nkust(), keys).to_json();
    let file = [("file", Some("registry-request.json"), json.as_slice()), ("valid_until", None, b"".as_slice())];
    let preview = admin.post_multipart("/console/institutions/onboard", &file).await;
    let done = confirm_preview(admin, &preview, "/console/institutions/onboard/confirm").await;
    downloaded_certificate(admin, &done).await
}

/// `keys`' kit for the certificate `cert`, under the test site's registry.
fn kit_of(keys: &Keys, cert: &ParsedCert) -> IssuerKit {
    let mut kit = keys.nkust_kit(cert);
    kit.issuer.registry = REGISTRY.into();
    kit
}

/// A degree certificate issued by `kit` at `at` (Unix seconds) and recorded in the registry then,
/// as the university's worker would submit it.
async fn issued_and_registered(site: &ConsoleSite, kit: &IssuerKit, number: &str, at: i64) -> Vec<u8> {
    let file = issue_at(kit, number, &Timestamp(at).to_string());
    let record = dcert_store::RegistryRecord {
        language: "en".into(),
        ..dcert_store::RegistryRecord::issued_degree("nkust", &file.sha256.to_string(), number, at)
    };
    site.store.append_registry_record(&record).await.unwrap();
    file.bytes
}

/// The outcome and reason of the report the API gives for `file`.
async fn api_verdict(site: &ConsoleSite, file: &[u8]) -> (String, Option<String>) {
    let r = verify_api(site, file).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let report = r.json();
    (report["outcome"].as_str().unwrap().to_owned(), report["reason"].as_str().map(str::to_owned))
}

fn success() -> (String, Option<String>) {
    ("success".into(), None)
}

/// Publishes the trust list from the console.
async fn publish(admin: &Browser<'_>) {
    let r = admin.post("/console/institutions/publish", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(r.location(), Some("/console/institutions?done=published"));
}

#[tokio::test]
async fn an_institution_onboarded_in_the_console_is_published_and_a_file_it_issues_verifies_through_the_api() {
    let site = ConsoleSite::start(FULL).await;
    let admin = site.signed_in(ADMIN).await;
    let list = admin.get("/console/institutions").await;
    assert_eq!(list.status, StatusCode::OK);
    let html = list.text();
    assert!(html.contains("id=\"no-institutions\"") && html.contains("href=\"/console/institutions/onboard\""));
    assert!(html.contains("目前發布的信任清單：第 1 號"), "{html}");

    // The request file as the institution sent it: uploaded, checked, shown, not recorded.
    let keys = Keys::new(10);
    let json = request("nkust", &nkust(), &keys).to_json();
    let upload = [("file", Some("registry-request.json"), json.as_slice()), ("valid_until", None, b"".as_slice())];
    let preview = admin.post_multipart("/console/institutions/onboard", &upload).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text());
    let html = preview.text();
    let fingerprint = registry::signing_key_fingerprint(&keys.signing.public()).to_string();
    for shown in [
        "<code>nkust</code>",
        "國立高雄科技大學",
        "National Kaohsiung University of Science and Technology",
        "807618 高雄市三民區建工路415號",
        "數位學位證書 (學士、碩士)",
        keys.credential.public().to_multikey().as_str(),
        fingerprint.as_str(),
        "id=\"confirm\"",
    ] {
        assert!(html.contains(shown), "the preview shows {shown}: {html}");
    }
    assert!(site.store.institutions().await.unwrap().is_empty(), "a preview records nothing");

    // Confirmed: recorded, and the certificate is offered for the institution.
    let done = confirm_preview(&admin, &preview, "/console/institutions/onboard/confirm").await;
    let html = done.text();
    assert!(html.contains("已登錄 國立高雄科技大學。") && html.contains("-----BEGIN CERTIFICATE-----"), "{html}");
    assert!(html.contains("變更須發布信任清單後才會生效") && html.contains("action=\"/console/institutions/publish\""));
    let cert = downloaded_certificate(&admin, &done).await;
    assert_eq!(cert.key, keys.signing.public(), "the institution's own key, certified");
    assert!(cert.is_issued_by(&root().cert));
    let recorded = site.store.institution_certificates("nkust").await.unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].sha256, dcert_core::Sha256Digest::of(&cert.der).to_string());
    let key = site.store.institution_keys("nkust").await.unwrap()[0].clone();
    assert_eq!(key.public_key_multibase, keys.credential.public().to_multikey());
    assert!(site.audit_actions().await.contains(&(ADMIN.into(), "onboard_institution".into())));

    // Recorded but not published: the public pages do not know it yet.
    let html = admin.get("/console/institutions").await.text();
    assert!(html.contains("id=\"institution-nkust\"") && html.contains("id=\"pending\""), "{html}");
    assert!(!site.public("/issuers", "zh").await.contains("國立高雄科技大學"));

    publish(&admin).await;
    let html = admin.get("/console/institutions?done=published").await.text();
    assert!(html.contains("已發布新的信任清單") && html.contains("id=\"up-to-date\""), "{html}");
    let issuers = site.public("/issuers", "zh").await;
    assert!(issuers.contains("國立高雄科技大學") && issuers.contains("id=\"issuer-nkust\""), "{issuers}");
    let api = site.send(Request::get("/api/v1/issuers").body(Body::empty()).unwrap()).await.json();
    let ids: Vec<&str> = api["issuers"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["nkust"], "the registry's institutions, as published");
    let served = site.send(Request::get("/trust.json").body(Body::empty()).unwrap()).await;
    let latest = site.store.latest_trust_list().await.unwrap().unwrap();
    assert_eq!(served.body, latest.json.into_bytes(), "the list just published, byte for byte");
    assert!(site.audit_actions().await.contains(&(ADMIN.into(), "publish_trust_list".into())));

    // A certificate issued with the institution's keys verifies through the API.
    let file = issued_and_registered(&site, &kit_of(&keys, &cert), "NKUST-1132-000001", key.valid_from + 1).await;
    assert_eq!(api_verdict(&site, &file).await, success());
}

#[tokio::test]
async fn a_bad_onboarding_request_in_the_console_is_refused_in_the_pages_language_and_records_nothing() {
    let site = ConsoleSite::start(FULL).await;
    let admin = site.signed_in(ADMIN).await;
    let text = |r: &OnboardingRequest| String::from_utf8(r.to_json()).unwrap();

    // Changed after it was signed: refused at the preview and at the confirmation.
    let mut changed = request("nkust", &nkust(), &Keys::new(10));
    changed.address = "100 臺北市中正區中山南路5號".into();
    for action in ["/console/institutions/onboard", "/console/institutions/onboard/confirm"] {
        let r = admin.post(action, &[("request", &text(&changed))]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{action}");
        let html = r.text();
        assert!(html.contains("憑證金鑰的簽章驗證失敗"), "{html}");
        assert!(html.contains("100 臺北市中正區中山南路5號"), "what was pasted is kept");
    }
    let english = Browser { site: &site, csrf: admin.csrf.clone(), session: admin.session.clone(), lang: "en" };
    let r = english.post("/console/institutions/onboard", &[("request", &text(&changed))]).await;
    assert!(r.text().contains("The credential key&#39;s proof does not verify"), "{}", r.text());

    // Not JSON, a member twice, too large (pasted or uploaded), nothing at all.
    let json = text(&request("nkust", &nkust(), &Keys::new(10)));
    let twice = json.replacen('{', "{\"id\": \"ntu\",", 1);
    for (bad, says) in [
        ("{not json".to_owned(), "申請檔不是有效的申請"),
        (twice, "申請檔不是有效的申請"),
        (" ".repeat(70_000), "申請檔超過 64 KiB"),
        (String::new(), "請貼上或上傳申請檔"),
    ] {
        let r = admin.post("/console/institutions/onboard", &[("request", &bad)]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains(says), "{says}: {}", r.text());
    }
    let big = vec![b' '; 70_000];
    let fields = [("file", Some("big.json"), big.as_slice()), ("valid_until", None, b"2030-01-01".as_slice())];
    let r = admin.post_multipart("/console/institutions/onboard", &fields).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("申請檔超過 64 KiB"), "{}", r.text());
    assert!(site.store.institutions().await.unwrap().is_empty(), "nothing recorded");

    // A taken id, whatever the keys; a key already registered, whatever the id.
    onboard_through_console(&admin, &Keys::new(10)).await;
    let taken = text(&request("nkust", &nkust(), &Keys::new(30)));
    for action in ["/console/institutions/onboard", "/console/institutions/onboard/confirm"] {
        let r = admin.post(action, &[("request", &taken)]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{action}");
        assert!(r.text().contains("單位代碼 nkust 已經登錄，未登錄任何資料。"), "{}", r.text());
    }
    let same_keys = text(&request("nkust-2", &nkust(), &Keys::new(10)));
    let r = admin.post("/console/institutions/onboard", &[("request", &same_keys)]).await;
    assert!(r.text().contains("此憑證金鑰已經登錄"), "{}", r.text());
    let registry = site.store.trust_registry().await.unwrap();
    assert_eq!(registry.len(), 1);
    assert_eq!((registry[0].keys.len(), registry[0].certificates.len()), (1, 1));
    let onboarded = site.audit_actions().await.iter().filter(|(_, a)| a == "onboard_institution").count();
    assert_eq!(onboarded, 1, "one onboarding in the audit log");
}

#[tokio::test]
async fn a_key_revoked_in_the_console_fails_files_claiming_a_later_signing_time_through_the_api() {
    let site = ConsoleSite::start(FULL).await;
    let admin = site.signed_in(ADMIN).await;
    let keys = Keys::new(10);
    let cert = onboard_through_console(&admin, &keys).await;
    publish(&admin).await;
    let kit = kit_of(&keys, &cert);
    let start = site.store.institution_keys("nkust").await.unwrap()[0].valid_from;
    let before = issued_and_registered(&site, &kit, "NKUST-1132-000001", start + 1).await;
    let after = issued_and_registered(&site, &kit, "NKUST-1132-000002", start + 120).await;
    assert_eq!(api_verdict(&site, &after).await, success(), "not revoked yet");

    let multikey = keys.credential.public().to_multikey();
    let list = admin.get("/console/institutions").await.text();
    let href = format!("/console/institutions/nkust/revoke?key={}", enc(&multikey));
    assert!(list.contains(&href), "{list}");
    let form = admin.get(&href).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.text().contains(&format!("憑證金鑰 {multikey}")) && form.text().contains("name=\"reason\""));

    // A reason is needed; the confirmation step shows what will happen and records nothing.
    let from = Timestamp(start + 60);
    let from_text = from.to_string();
    let revoke = "/console/institutions/nkust/revoke";
    let no_reason = [("key", multikey.as_str()), ("from", from_text.as_str()), ("reason", "  ")];
    let r = admin.post(revoke, &no_reason).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("撤銷原因：必填。"), "{}", r.text());
    let fields = [("key", multikey.as_str()), ("from", from_text.as_str()), ("reason", "  key compromise  ")];
    let confirm = admin.post(revoke, &fields).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.text());
    let html = confirm.text();
    assert!(html.contains("id=\"confirm-revoke\"") && html.contains("確定要撤銷嗎"), "{html}");
    assert_eq!(hidden(&html, "reason"), "key compromise", "the reason, trimmed");
    assert_eq!(site.store.institution_keys("nkust").await.unwrap()[0].revoked_from, None, "asking revokes nothing");

    let (key, from_field, reason) = (hidden(&html, "key"), hidden(&html, "from"), hidden(&html, "reason"));
    let confirmed = [("key", key.as_str()), ("from", from_field.as_str()), ("reason", reason.as_str())];
    let r = admin.post("/console/institutions/nkust/revoke/confirm", &confirmed).await;
    assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, Some("/console/institutions?done=revoked")));
    let key = site.store.institution_keys("nkust").await.unwrap()[0].clone();
    assert_eq!((key.revoked_from, key.revocation_reason.as_deref()), (Some(from.unix()), Some("key compromise")));
    let again = admin.post("/console/institutions/nkust/revoke/confirm", &confirmed).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.text().contains("此金鑰已經撤銷"));
    let list = admin.get("/console/institutions?done=revoked").await.text();
    assert!(list.contains("已撤銷；請發布信任清單。") && list.contains("（key compromise）"), "{list}");
    assert!(list.contains("id=\"pending\""), "{list}");
    let filter = AuditFilter { action: Some("revoke_key".into()), ..Default::default() };
    let audit = site.store.audit_log(&filter).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].target, "institution:nkust");
    assert_eq!(audit[0].detail, format!("credential key from {from}"));

    // Published: what claims a later signing time fails, what was signed before still verifies.
    publish(&admin).await;
    assert_eq!(api_verdict(&site, &after).await, ("failure".to_owned(), Some("key_revoked".to_owned())));
    assert_eq!(api_verdict(&site, &before).await, success());
}

#[tokio::test]
async fn a_rotation_and_a_change_of_details_in_the_console_reach_the_published_list() {
    let site = ConsoleSite::start(FULL).await;
    let admin = site.signed_in(ADMIN).await;
    let old = Keys::new(10);
    onboard_through_console(&admin, &old).await;

    let new = Keys::new(30);
    let rotation = RotationRequest::sign("nkust", &old.credential, Some(&new.credential), Some(&new.signing)).unwrap();
    let json = String::from_utf8(rotation.to_json()).unwrap();
    let preview = admin.post("/console/institutions/rotate", &[("request", &json)]).await;
    let html = preview.text();
    assert!(html.contains(&new.credential.public().to_multikey()) && html.contains("id=\"rotation-note\""), "{html}");
    assert_eq!(site.store.institution_keys("nkust").await.unwrap().len(), 1, "a preview records nothing");
    let done = confirm_preview(&admin, &preview, "/console/institutions/rotate/confirm").await;
    assert!(done.text().contains("已為 國立高雄科技大學 登錄新的金鑰"), "{}", done.text());
    let cert = downloaded_certificate(&admin, &done).await;
    assert_eq!(cert.key, new.signing.public());
    let keys = site.store.institution_keys("nkust").await.unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0].valid_until, keys[1].valid_from, "the old key's window ends at the rotation");
    assert_eq!(site.store.institution_certificates("nkust").await.unwrap().len(), 2);
    let again = admin.post("/console/institutions/rotate", &[("request", &json)]).await;
    assert!(again.text().contains("此憑證金鑰已經登錄"), "a rotation is recorded once");

    let form = admin.get("/console/institutions/nkust/edit").await.text();
    assert!(form.contains("驗證時會比對證書上的學校名稱") && form.contains("value=\"國立高雄科技大學\""), "{form}");
    assert!(form.contains("name=\"bachelor\" id=\"bachelor\" checked") && !form.contains("id=\"doctor\" checked"));
    let mut fields = vec![
        ("name_zh", "國立高雄科技大學"),
        ("name_en", "National Kaohsiung University of Science and Technology"),
        ("address", " 824005 高雄市燕巢區大學路1號 "),
        ("degree", "on"),
    ];
    let r = admin.post("/console/institutions/nkust/edit", &fields).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("數位學位證書須至少指定一個學位等級"), "{}", r.text());
    fields.extend([("bachelor", "on"), ("master", "on"), ("doctor", "on")]);
    let r = admin.post("/console/institutions/nkust/edit", &fields).await;
    assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, Some("/console/institutions?done=saved")));
    let institution = site.store.institution("nkust").await.unwrap().unwrap();
    assert_eq!(institution.address, "824005 高雄市燕巢區大學路1號", "trimmed");
    assert_eq!(institution.accreditation.degree_levels.len(), 3);
    let filter = AuditFilter { action: Some("edit_institution".into()), ..Default::default() };
    assert_eq!(site.store.audit_log(&filter).await.unwrap()[0].detail, "address, accreditation");
    assert!(site.audit_actions().await.contains(&(ADMIN.into(), "rotate_keys".into())));

    publish(&admin).await;
    let api = site.send(Request::get("/api/v1/issuers").body(Body::empty()).unwrap()).await.json();
    let nkust = &api["issuers"][0];
    assert_eq!(nkust["credentialKeys"].as_array().unwrap().len(), 2);
    assert_eq!(nkust["signingCertificates"].as_array().unwrap().len(), 2);
    assert_eq!(nkust["accreditation"]["degreeLevels"].as_array().unwrap().len(), 3);
    assert!(site.public("/issuers", "zh").await.contains("博士"));
}

#[tokio::test]
async fn without_the_root_keys_the_institutions_page_lists_the_registry_and_its_actions_answer_503() {
    let site = ConsoleSite::start(Setup { kit: true, teacher: true, registry: false }).await;
    onboard_directly(&site.store, 10).await;
    let admin = site.signed_in(ADMIN).await;
    let page = admin.get("/console/institutions").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("id=\"institution-nkust\"") && html.contains("國立高雄科技大學"), "{html}");
    assert!(html.contains("本站未設定教育部根憑證金鑰"), "{html}");
    assert!(!html.contains("href=\"/console/institutions/onboard\"") && !html.contains("id=\"publish\""));

    let json = String::from_utf8(request("ntu", &nkust(), &Keys::new(30)).to_json()).unwrap();
    let rotation =
        RotationRequest::sign("nkust", &Keys::new(10).credential, Some(&Keys::new(40).credential), None).unwrap();
    let rotation = String::from_utf8(rotation.to_json()).unwrap();
    for path in ["/console/institutions/onboard", "/console/institutions/rotate"] {
        let r = admin.get(path).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(r.text().contains("本站未設定教育部根憑證金鑰") && !r.text().contains("name=\"request\""));
    }
    for (path, request) in [
        ("/console/institutions/onboard", &json),
        ("/console/institutions/onboard/confirm", &json),
        ("/console/institutions/rotate", &rotation),
        ("/console/institutions/rotate/confirm", &rotation),
        ("/console/institutions/publish", &json),
    ] {
        let r = admin.post(path, &[("request", request)]).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{path}: {}", r.text());
    }
    assert_eq!(site.store.institutions().await.unwrap().len(), 1, "nothing onboarded");
    assert_eq!(site.store.institution_keys("nkust").await.unwrap().len(), 1, "nothing rotated");
    assert!(site.store.latest_trust_list().await.unwrap().is_none(), "nothing published");
    let served = site.send(Request::get("/trust.json").body(Body::empty()).unwrap()).await;
    assert_eq!(TrustList::verify(&served.body, None).unwrap().content.issuers[0].id, "moe", "the list served stays");
    // Changes that need no root key are still made (and published with `dcert ministry publish`).
    let sha = site.store.institution_certificates("nkust").await.unwrap()[0].sha256.clone();
    let r = admin.get(&format!("/console/institutions/nkust/certificate?sha256={sha}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().starts_with("-----BEGIN CERTIFICATE-----"));
}

#[tokio::test(flavor = "current_thread")]
async fn the_logs_and_audit_entries_of_the_institutions_pages_hold_no_key_material() {
    use base64ct::Encoding as _;
    let (captured, _guard) = crate::support::capture_logs();
    let site = ConsoleSite::start(FULL).await;
    let admin = site.signed_in(ADMIN).await;
    let keys = Keys::new(10);
    onboard_through_console(&admin, &keys).await;
    let bad = admin.post("/console/institutions/onboard", &[("request", "{\"proof\": \"zSecretLooking\"")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let sha = site.store.institution_certificates("nkust").await.unwrap()[0].sha256.clone();
    let fields = [("key", sha.as_str()), ("from", "2030-01-01T00:00"), ("reason", "key compromise")];
    admin.post("/console/institutions/nkust/revoke/confirm", &fields).await;
    publish(&admin).await;

    let root = root_keys();
    let secrets: Vec<String> = [&root.ca, &root.signer, &keys.signing]
        .iter()
        .map(|k| base64ct::Base64::encode_string(&k.to_pkcs8_der()))
        .chain([base64ct::Base64::encode_string(&keys.credential.to_pkcs8_der())])
        .collect();
    let debug = format!("{root:?}");
    let text = captured.text();
    assert!(!text.is_empty(), "something was logged");
    let request = request("nkust", &nkust(), &keys);
    let audit = site.store.audit_log(&AuditFilter::default()).await.unwrap();
    let audit: String = audit.iter().map(|e| format!("{} {} {}\n", e.target, e.detail, e.action)).collect();
    for secret in secrets.iter().map(|s| s[s.len() - 40..].to_owned()) {
        assert!(!text.contains(&secret) && !debug.contains(&secret) && !audit.contains(&secret), "a private key");
    }
    for public in [request.proof.as_str(), request.signing_proof.as_str(), request.signing_key.as_str(), "BEGIN"] {
        assert!(!text.contains(public) && !audit.contains(public), "{public} in the log or audit:\n{text}\n{audit}");
    }
    assert!(!text.contains("zSecretLooking"), "a request's text is not logged");
}

#[tokio::test]
async fn the_console_records_whom_to_ask_about_an_institution_and_refuses_a_bad_contact_changing_nothing() {
    let site = ConsoleSite::start(FULL).await;
    let admin = site.signed_in(ADMIN).await;
    onboard_directly(&site.store, 11).await;
    let form = admin.get("/console/institutions/nkust/edit").await.text();
    assert!(form.contains("id=\"contact-title\"") && form.contains("name=\"phone\""), "{form}");
    let bad = [
        ("office_zh", "教務處註冊組"),
        ("office_en", "Registry Office"),
        ("phone", "<script>"),
        ("website", "javascript:alert(1)"),
    ];
    let r = admin.post("/console/institutions/nkust/contact", &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("請填寫電話") && r.text().contains("網站須以 https:// 開頭"), "{}", r.text());
    assert_eq!(site.store.institution_contact("nkust").await.unwrap(), None, "nothing recorded");
    let good = [
        ("office_zh", "教務處註冊組"),
        ("office_en", "Registry Office"),
        ("phone", "(07)601-1000 轉 31113"),
        ("website", "https://www.nkust.edu.tw"),
    ];
    let r = admin.post("/console/institutions/nkust/contact", &good).await;
    assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, Some("/console/institutions?done=contact")));
    let saved = admin.get("/console/institutions?done=contact").await.text();
    assert!(saved.contains("已儲存聯絡窗口；驗證網站已開始顯示"), "no publication needed: {saved}");
    let contact = site.store.institution_contact("nkust").await.unwrap().unwrap();
    assert_eq!(
        (contact.phone.as_str(), contact.website.as_str()),
        ("(07)601-1000 轉 31113", "https://www.nkust.edu.tw")
    );
    assert!(admin.get("/console/institutions/nkust/edit").await.text().contains("value=\"(07)601-1000 轉 31113\""));
    assert!(site.audit_actions().await.contains(&(ADMIN.into(), "edit_institution_contact".into())));
    let unknown = admin.post("/console/institutions/nobody/contact", &good).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let editor = site.signed_in(EDITOR).await;
    let r = editor.post("/console/institutions/nkust/contact", &good).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "an editor of news may not change the registry");
}
