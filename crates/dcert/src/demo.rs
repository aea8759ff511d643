//! `dcert demo`: the whole system on one machine, on the embedded database.
//!
//! In a data directory it sets up a Ministry root, NKUST (degree certificates) and the Ministry
//! (teacher certificates) as issuers and a signed trust list; imports about fifty graduates of
//! NKUST's five campuses through the real CSV import; records paper-diploma collections; issues
//! certificates through the real worker (one reissued, one revoked); writes sample files; and
//! serves the university on port N and the Ministry on N+1 until Ctrl-C. Running it again reuses
//! the keys, the databases and the accounts already there.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use dcert_core::calendar::Calendar;
use dcert_core::issue::Issuance;
use dcert_core::model::{CredentialType, DegreeLevel, Language, RecordFile};
use dcert_core::pdf::{Limits, Template};
use dcert_core::trust::{Accreditation, KeyEntry, TrustList};
use dcert_core::verify::{self, Outcome};
use dcert_core::{Timestamp, issue};
use dcert_store::{
    Graduate, MinistryRole, MinistryStore, NewAccount, NewOrder, OrderKind, Role, UniversityRole, UniversityStore,
};
use dcert_web::ministry::{MinistryConfig, ministry_router};
use dcert_web::university::demo_mail::MAILBOX_PATH;
use dcert_web::university::registry_client::HttpRegistry;
use dcert_web::university::worker::{Worker, revocation_record};
use dcert_web::university::{LogWatch, SiteConfig};
use serde::{Deserialize, Serialize};

use crate::fonts;
use crate::keystore::{IssuerDir, IssuerProfile, RootDir};
use crate::server::{self, Services};

pub(crate) fn issuer(
    dir: &Path,
    root: &RootDir,
    id: &str,
    zh: &str,
    en: &str,
    types: Vec<CredentialType>,
    now: Timestamp,
) -> Result<IssuerDir> {
    if dir.join("issuer.json").exists() {
        return IssuerDir::open(dir);
    }
    let degree_levels = if types.contains(&CredentialType::Degree) {
        vec![DegreeLevel::Associate, DegreeLevel::Bachelor, DegreeLevel::Master, DegreeLevel::Doctor]
    } else {
        Vec::new()
    };
    let until = now.plus_seconds(5 * 365 * 86_400);
    let profile = IssuerProfile {
        id: id.into(),
        name_zh: zh.into(),
        name_en: en.into(),
        registry: root.info.registry.clone(),
        accreditation: Accreditation { credential_types: types, degree_levels },
        credential_key: KeyEntry::new(String::new(), now, until),
    };
    IssuerDir::create(dir, root, profile, now, until)
}

/// The accounts of a demo, written to `demo-accounts.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Accounts {
    /// The university site.
    pub university_url: String,
    /// The Ministry site.
    pub ministry_url: String,
    /// Console accounts.
    pub staff: Vec<StaffAccount>,
    /// The Ministry console's accounts.
    #[serde(default)]
    pub ministry_staff: Vec<StaffAccount>,
    /// The password every demo graduate signs in with.
    pub graduate_password: String,
    /// Graduates worth trying, with what state they are in.
    pub graduates: Vec<GraduateAccount>,
}

/// A console account.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StaffAccount {
    /// Login.
    pub username: String,
    /// Password.
    pub password: String,
    /// Role.
    pub role: String,
    /// Campus of a campus office.
    pub campus: Option<String>,
}

/// A demo graduate.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GraduateAccount {
    /// 學號.
    pub student_number: String,
    /// What to try with it.
    pub state: String,
}

fn password() -> Result<String> {
    let mut bytes = [0u8; 9];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    Ok(bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect())
}

const SURNAMES: &[&str] = &["陳", "林", "黃", "張", "李", "王", "吳", "劉", "蔡", "楊"];
const SURNAMES_EN: &[&str] = &["CHEN", "LIN", "HUANG", "CHANG", "LEE", "WANG", "WU", "LIU", "TSAI", "YANG"];
const GIVEN: &[(&str, &str)] =
    &[("怡君", "YI-CHUN"), ("志明", "CHIH-MING"), ("雅婷", "YA-TING"), ("家豪", "CHIA-HAO"), ("宗翰", "TSUNG-HAN")];
const DEPARTMENTS: &[(&str, &str, &str, &str, &str, &str, &str)] = &[
    (
        "建工",
        "電資學院",
        "College of Electrical Engineering and Computer Science",
        "電機工程系",
        "Department of Electrical Engineering",
        "工學學士",
        "Bachelor of Science in Engineering",
    ),
    (
        "第一",
        "電資學院",
        "College of Electrical Engineering and Computer Science",
        "電腦與通訊工程系",
        "Department of Computer and Communication Engineering",
        "工學學士",
        "Bachelor of Science in Engineering",
    ),
    (
        "楠梓",
        "海洋商務學院",
        "College of Maritime Commerce",
        "航運管理系",
        "Department of Shipping and Transportation Management",
        "管理學學士",
        "Bachelor of Business Administration",
    ),
    (
        "燕巢",
        "管理學院",
        "College of Management",
        "會計系",
        "Department of Accounting",
        "商學學士",
        "Bachelor of Business Administration",
    ),
    (
        "旗津",
        "水圈學院",
        "College of Hydrosphere",
        "海洋環境工程系",
        "Department of Marine Environmental Engineering",
        "工學學士",
        "Bachelor of Science in Engineering",
    ),
];

/// The roster of the demo: fifty graduates as the student information system exports them.
fn roster_csv() -> String {
    let mut csv = String::from(
        "student_number,term,campus,name_zh,name_en,birth_date,college_zh,college_en,department_zh,department_en,\
         degree_level,degree_zh,degree_en,graduation_date,diploma_number,permanent_email,minor_zh,minor_en,mid_term\n",
    );
    for i in 0..50usize {
        let (campus, college_zh, college_en, dept_zh, dept_en, degree_zh, degree_en) = DEPARTMENTS[i % 5];
        let (term, graduation, mid) = match i {
            46 | 47 => ("110-1", "2022-01-20", "yes"),
            48 | 49 => ("109-2", "2021-06-30", "no"),
            _ => ("113-2", "2025-06-30", "no"),
        };
        let year = &term[..3];
        let number = format!("C1{:02}15{:04}", (year.parse::<u32>().unwrap_or(113) - 3) % 100, 2000 + i);
        let (given, given_en) = GIVEN[(i / 10) % GIVEN.len()];
        let name_zh = if i == 24 { "王𪚥".to_owned() } else { format!("{}{given}", SURNAMES[i % 10]) };
        let name_en =
            if i == 24 { "WANG, HSIAO-MING".to_owned() } else { format!("{}, {given_en}", SURNAMES_EN[i % 10]) };
        let minor = if i % 7 == 3 {
            ("資訊工程系", "Department of Computer Science and Information Engineering")
        } else {
            ("", "")
        };
        csv.push_str(&format!(
            "{number},{term},{campus},{name_zh},\"{name_en}\",200{}-0{}-1{},{college_zh},{college_en},{dept_zh},{dept_en},\
             bachelor,{degree_zh},{degree_en},{graduation},({})高科大學字第{:06}號,graduate{i}@example.com,{},{},{mid}\n",
            i % 4,
            1 + i % 9,
            i % 10,
            &graduation[..4].parse::<i32>().map(|y| y - 1911).unwrap_or(114),
            120 + i,
            minor.0,
            minor.1,
        ));
    }
    csv
}

pub(crate) fn site(port: u16) -> SiteConfig {
    SiteConfig {
        institution_id: "nkust".into(),
        school_zh: "國立高雄科技大學".into(),
        school_en: "National Kaohsiung University of Science and Technology".into(),
        email_domain: "nkust.edu.tw".into(),
        public_url: format!("http://localhost:{port}"),
        verify_site: format!("http://localhost:{}", port + 1),
        phone: "(07)601-1000".into(),
        registrar_extension: "31113".into(),
        secure_cookies: None,
        trusted_proxies: Default::default(),
        max_upload_bytes: 10 << 20,
    }
}

/// Runs `dcert ministry ARGS` as an operator types it.
fn ministry_command(args: &[&str], now: Timestamp) -> Result<()> {
    #[derive(clap::Parser)]
    struct Line {
        #[command(subcommand)]
        command: crate::registry_cli::RegistryCommand,
    }
    let line = <Line as clap::Parser>::try_parse_from(std::iter::once("dcert ministry").chain(args.iter().copied()))?;
    crate::registry_cli::run_at(line.command, now)
}

/// Keys and the trust list, created once and reused: the Ministry's root, then each institution
/// joins the registry as a real one does (it makes its keys and a signed request, the Ministry
/// records it and certifies the signing key, the institution installs the certificate), and
/// the Ministry publishes the signed trust list.
fn keys(data_dir: &Path, registry: &str, now: Timestamp) -> Result<(IssuerDir, IssuerDir, Vec<u8>, TrustList)> {
    let keys = data_dir.join("keys");
    std::fs::create_dir_all(&keys).with_context(|| format!("cannot create {}", keys.display()))?;
    let root_dir = keys.join("moe-root");
    let root = if root_dir.join("root.json").exists() {
        RootDir::open(&root_dir)?
    } else {
        RootDir::create(&root_dir, registry, "Ministry of Education, R.O.C. (Taiwan)", now, 20)?
    };
    let database = format!("sqlite://{}", data_dir.join("ministry.db").display());
    let trust_path = data_dir.join("trust.json");
    let path = |p: &Path| p.display().to_string();
    let join = |id: &str, name_zh: &str, name_en: &str, address: &str, types: &str| -> Result<IssuerDir> {
        let dir = keys.join(id);
        if !dir.join("issuer.json").exists() {
            ministry_command(
                &[
                    "request",
                    "--out",
                    &path(&dir),
                    "--id",
                    id,
                    "--name-zh",
                    name_zh,
                    "--name-en",
                    name_en,
                    "--address",
                    address,
                    "--registry",
                    registry,
                    "--types",
                    types,
                ],
                now,
            )?;
            let certificate = keys.join(format!("{id}.cert.pem"));
            let request = dir.join(crate::registry_cli::REQUEST_FILE);
            ministry_command(
                &[
                    "onboard",
                    "--database",
                    &database,
                    "--root",
                    &path(&root_dir),
                    "--out",
                    &path(&certificate),
                    &path(&request),
                ],
                now,
            )?;
            ministry_command(&["install", "--issuer", &path(&dir), &path(&certificate)], now)?;
        }
        IssuerDir::open(&dir)
    };
    let nkust = join(
        "nkust",
        "國立高雄科技大學",
        "National Kaohsiung University of Science and Technology",
        "高雄市三民區建工路415號",
        "degree",
    )?;
    let moe = join("moe", "教育部", "Ministry of Education", "臺北市中正區中山南路5號", "teacher")?;
    // A demo directory from before the transparency log has a list that names no log: a new
    // list is published, as the Ministry would after upgrading.
    let names_a_log = std::fs::read(&trust_path)
        .ok()
        .and_then(|bytes| TrustList::verify(&bytes, Some(root.cert.fingerprint())).ok())
        .is_some_and(|list| list.log.is_some());
    if !names_a_log {
        ministry_command(
            &["publish", "--database", &database, "--root", &path(&root_dir), "--out", &path(&trust_path)],
            now,
        )?;
    }
    let trust_json = std::fs::read(&trust_path).with_context(|| format!("cannot read {}", trust_path.display()))?;
    let trust = TrustList::verify(&trust_json, Some(root.cert.fingerprint()))?;
    // The demo's verifiers trust the demo's root, as a real verifier pins the Ministry's.
    crate::verifier::VerifierState::load(Some(data_dir.join("verifier.toml")))?.set_pin(root.cert.fingerprint())?;
    Ok((nkust, moe, trust_json, trust))
}

/// Options of `dcert demo`.
pub struct Options {
    /// The data directory.
    pub data_dir: PathBuf,
    /// The university's port; the Ministry's is the next one.
    pub port: u16,
    /// Set up and write the samples, then exit instead of serving.
    pub no_serve: bool,
}

/// Runs the demo.
pub fn run(options: &Options, now: Timestamp) -> Result<()> {
    let Options { data_dir, port, no_serve } = options;
    let port = *port;
    if port == u16::MAX {
        bail!("--port must leave room for the Ministry's port (N+1)");
    }
    let registry = format!("http://localhost:{}", port + 1);
    std::fs::create_dir_all(data_dir).with_context(|| format!("cannot create {}", data_dir.display()))?;
    // The databases hold personal data and the accounts file passwords: only the owner reads them.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot restrict {}", data_dir.display()))?;
    }
    let (nkust, moe, trust_json, trust) = keys(data_dir, &registry, now)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let db = |name: &str| format!("sqlite://{}", data_dir.join(name).display());
        let store = server::open_university(&db("university.db")).await?;
        let ministry = server::open_ministry(&db("ministry.db")).await?;
        // Whom a verifier calls about NKUST's certificates (the guide's registry office).
        if ministry.institution_contact("nkust").await?.is_none() {
            let contact = dcert_store::InstitutionContact {
                office_zh: "教務處註冊組".into(),
                office_en: "Registry Office, Office of Academic Affairs".into(),
                phone: "(07)601-1000 #31113".into(),
                website: "https://www.nkust.edu.tw".into(),
            };
            let audit = dcert_store::AuditEntry::local(
                now.unix(),
                "demo",
                "system",
                "edit_institution_contact",
                "institution:nkust",
                "",
            );
            ministry.set_institution_contact("nkust", &contact, now.unix(), &audit).await?;
        }
        let site = site(port);
        let smtp = smtp_from_env()?;
        let moe_site = MinistryConfig::new(&site.verify_site);
        let moe_root = RootDir::open(&data_dir.join("keys/moe-root"))?;
        let log_key = moe_root.log_key()?;
        let ministry_state = server::ministry_state(ministry.clone(), trust_json.clone(), moe_site)
            .await?
            .with_issuance(Issuance { kit: moe.kit()?, fonts: Arc::new(fonts::load()?) })
            .with_registry_keys(server::registry_keys(&data_dir.join("keys/moe-root"))?)
            .with_status_signer(moe_root.status_key()?)
            .and_then(|s| s.with_log_key(log_key))
            .map_err(anyhow::Error::msg)?;
        // The Ministry's site on a free port while the demo sets up: the university submits its
        // issuance records to it over the signed API, as it does in production.
        let setup = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let setup_url = format!("http://{}", setup.local_addr()?);
        let app = ministry_router(ministry_state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        let setup_site = tokio::spawn(axum::serve(setup, app).into_future());
        let setup_worker = server::worker(
            store.clone(),
            server::RegistryTarget::Http(setup_url),
            &data_dir.join("keys/nkust"),
            smtp.as_ref(),
            &site.verify_site,
            None,
        )?;
        server::prepare(&store, &server::nkust_campuses()).await?;
        let accounts_path = data_dir.join("demo-accounts.json");
        let mut accounts = if accounts_path.exists() {
            // A data directory from an older version may have left it readable by everyone.
            crate::keystore::make_private(&accounts_path)?;
            let text = std::fs::read_to_string(&accounts_path)?;
            serde_json::from_str::<Accounts>(&text)
                .context("demo-accounts.json is not readable; delete the data directory")?
        } else {
            let accounts = seed(&store, &setup_worker, &site, now).await?;
            crate::keystore::write_new(&accounts_path, &serde_json::to_vec_pretty(&accounts)?, 0o600)?;
            accounts
        };
        if ministry.news(1).await?.is_empty() {
            let item = dcert_store::NewsItem {
                id: 0,
                published_on: now.taiwan_date().to_string(),
                title_zh: "數位學位證書驗證服務上線".into(),
                title_en: "Digital degree certificates can now be verified".into(),
                body_zh: "國立高雄科技大學核發的數位學位證書，以及教育部核發的電子教師證書，\
                          即日起可於本網站「證書驗證」上傳檔案驗證。請使用學校寄送的原始檔案，勿以列印另存的檔案驗證。"
                    .into(),
                body_en: "Digital degree certificates of National Kaohsiung University of Science and Technology \
                          and the Ministry's digital teacher certificates can be verified on this site from today: \
                          upload the original file the institution sent, not a printed copy."
                    .into(),
            };
            let audit =
                |id| dcert_store::AuditEntry::local(now.unix(), "demo", "system", "news_add", format!("news:{id}"), "");
            ministry.save_content(&item, "demo", now.unix(), audit).await?;
        }
        if accounts.ministry_staff.is_empty() {
            for (username, role) in [
                ("moe-admin", Role::Ministry(MinistryRole::Admin)),
                ("moe-editor", Role::Ministry(MinistryRole::Editor)),
            ] {
                let password = password()?;
                let hash = dcert_web::auth::hash_password(&password);
                let account = NewAccount {
                    username,
                    display_name: username,
                    password_hash: &hash,
                    role,
                    campus: None,
                    at: now.unix(),
                };
                ministry.create_staff(&account, &added(username, role, now.unix())).await?;
                accounts.ministry_staff.push(StaffAccount {
                    username: username.into(),
                    password,
                    role: role.code().into(),
                    campus: None,
                });
            }
        }
        accounts.university_url = site.public_url.clone();
        accounts.ministry_url = site.verify_site.clone();
        crate::keystore::replace_file(&accounts_path, &serde_json::to_vec_pretty(&accounts)?)?;
        let samples = write_samples(&store, &ministry, data_dir, &moe, now).await?;
        setup_site.abort();
        // Checked as the Ministry's site checks them: its registry, with its log's proofs.
        let status = ministry_state.store_status();
        let list = trust.clone();
        let reports = tokio::task::spawn_blocking(move || {
            let check = |(name, bytes): &(String, Vec<u8>)| {
                (name.clone(), verify::verify(bytes, &list, &status, now, &Limits::default()))
            };
            samples.iter().map(check).collect::<Vec<_>>()
        })
        .await?;
        print_summary(data_dir, &accounts, &reports);
        if *no_serve {
            return Ok(());
        }
        // Serving, the university submits to the Ministry's site on the next port.
        let registry_url = format!("http://127.0.0.1:{}", port + 1);
        let worker =
            Worker { registry: Arc::new(HttpRegistry::new(&registry_url, &setup_worker.issuance.kit)), ..setup_worker };
        // Nothing delivers the demo's mail: the mailbox shows it on the university's site.
        let log_watch = LogWatch::of(&site.verify_site, &trust);
        let services = Services { worker, site, ministry: Some(ministry_state), demo_mailbox: true, log_watch };
        let listen = format!("127.0.0.1:{port}");
        let ministry_listen = format!("127.0.0.1:{}", port + 1);
        server::run(services, &listen, Some(&ministry_listen), Duration::from_secs(10), Default::default(), || {
            println!(
                "Serving. University: {}   Ministry: {}   Demo mailbox: {}{MAILBOX_PATH}   (Ctrl-C stops)",
                accounts.university_url, accounts.ministry_url, accounts.university_url
            );
        })
        .await
    })?;
    let _ = nkust;
    Ok(())
}

/// SMTP for the demo from `DCERT_SMTP__HOST`/`__PORT`/`__FROM`, if set.
fn smtp_from_env() -> Result<Option<dcert_web::university::mail::SmtpConfig>> {
    let Ok(host) = std::env::var("DCERT_SMTP__HOST") else { return Ok(None) };
    let port = std::env::var("DCERT_SMTP__PORT").ok().map(|p| p.parse()).transpose().context("DCERT_SMTP__PORT")?;
    let text = format!(
        "host = {host:?}\nport = {}\nfrom = {:?}\n",
        port.unwrap_or(25u16),
        std::env::var("DCERT_SMTP__FROM").unwrap_or_else(|_| "國立高雄科技大學 <no-reply@nkust.edu.tw>".into())
    );
    Ok(Some(toml::from_str(&text).context("the DCERT_SMTP__ settings are wrong")?))
}

#[allow(clippy::too_many_arguments)] // a demo helper; each argument is a column of the order
async fn order(
    store: &UniversityStore,
    g: &Graduate,
    language: Language,
    kind: OrderKind,
    reason: &str,
    day: dcert_core::Date,
    cal: &Calendar,
    now: Timestamp,
) -> Result<()> {
    let new = NewOrder {
        graduate_id: g.id,
        language,
        kind,
        reason,
        requested_on: day,
        due_on: cal.due_date(day),
        actor: "registrar",
        at: now.unix(),
    };
    store.create_order(&new, |o| recorded(o, now.unix())).await?;
    Ok(())
}

/// The audit entry of the demo's setup adding the account `username`.
fn added(username: &str, role: Role, at: i64) -> dcert_store::AuditEntry {
    dcert_store::AuditEntry::local(at, "demo", "system", "add_staff", format!("staff:{username}"), role.code())
}

/// The audit entry of the registrar's import of `summary` at `at`, as the console writes it.
pub(crate) fn imported(summary: &dcert_store::ImportSummary, at: i64) -> dcert_store::AuditEntry {
    dcert_store::AuditEntry::local(at, "registrar", "registrar", "import_graduates", "graduates", summary.to_string())
}

/// The audit entry of graduate `id` confirming the record at `at`, as the portal writes it.
pub(crate) fn confirmed(id: i64, at: i64) -> dcert_store::AuditEntry {
    dcert_store::AuditEntry::local(at, "graduate", "graduate", "confirm_record", format!("graduate:{id}"), "")
}

/// The audit entry of the registrar recording `order` at `at`, as the console writes it.
pub(crate) fn recorded(order: &dcert_store::Order, at: i64) -> dcert_store::AuditEntry {
    let detail = format!("{} {} due {}", order.kind.code(), order.language.code(), order.due_on);
    dcert_store::AuditEntry::local(
        at,
        "registrar",
        "registrar",
        "record_diploma",
        format!("order:{}", order.id),
        detail,
    )
}

/// Fills a new demo database: accounts, graduates (through the CSV import), collections, and
/// certificates issued by the worker.
async fn seed(store: &UniversityStore, worker: &Worker, site: &SiteConfig, now: Timestamp) -> Result<Accounts> {
    let mut staff = Vec::new();
    let mut add = |username: &str,
                   name: &str,
                   role: Role,
                   campus: Option<&str>|
     -> Result<(String, String, Role, Option<String>, String)> {
        let pw = password()?;
        staff.push(StaffAccount {
            username: username.into(),
            password: pw.clone(),
            role: role.code().into(),
            campus: campus.map(Into::into),
        });
        Ok((username.into(), name.into(), role, campus.map(Into::into), pw))
    };
    let mut creates = vec![
        add("registrar", "教務處註冊組", Role::University(UniversityRole::Registrar), None)?,
        add("admin", "系統管理者", Role::University(UniversityRole::Admin), None)?,
    ];
    for (user, campus) in
        [("jiangong", "建工"), ("first", "第一"), ("nanzi", "楠梓"), ("yanchao", "燕巢"), ("qijin", "旗津")]
    {
        creates.push(add(
            &format!("office-{user}"),
            &format!("{campus}校區綜合業務處"),
            Role::University(UniversityRole::CampusOffice),
            Some(campus),
        )?);
    }
    for (username, name, role, campus, pw) in creates {
        store
            .create_staff(
                &NewAccount {
                    username: &username,
                    display_name: &name,
                    password_hash: &dcert_web::auth::hash_password(&pw),
                    role,
                    campus: campus.as_deref(),
                    at: now.unix(),
                },
                &added(&username, role, now.unix()),
            )
            .await?;
    }

    let codes: Vec<String> = store.campuses().await?.into_iter().map(|c| c.code).collect();
    let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
    let limits = dcert_core::roster::Limits::default();
    let rows = dcert_core::roster::parse_roster(roster_csv().as_bytes(), &site.school_names(), &codes, &limits)
        .context("the demo roster does not import")?;
    store.import_graduates(&rows, now.unix(), |s| imported(s, now.unix())).await?;
    let graduate_password = password()?;
    let hash = dcert_web::auth::hash_password(&graduate_password);
    let mut graduates = Vec::new();
    for row in &rows {
        store.set_graduate_password(&row.record.student_number, &hash, now.unix()).await?;
        graduates.extend(store.graduate_terms(&row.record.student_number).await?);
    }
    let cal = Calendar::new(store.calendar().await?);
    let today = now.taiwan_date();
    let ago = |n: u32| {
        // The n-th working day before today.
        let mut d = today;
        let mut left = n;
        while left > 0 {
            d = d.add_days(-1);
            if cal.is_workday(d) {
                left -= 1;
            }
        }
        d
    };
    let at = |g: &Graduate| now.unix() - 86_400 * 20 + g.id;
    for (i, g) in graduates.iter().enumerate() {
        match i {
            // Collected but not confirmed: due, or overdue.
            18..=21 => order(store, g, Language::Zh, OrderKind::Collection, "", ago(2), &cal, now).await?,
            22 | 23 => order(store, g, Language::Zh, OrderKind::Collection, "", ago(8), &cal, now).await?,
            10..=17 => store.confirm_graduate(g.id, at(g), &confirmed(g.id, at(g))).await?,
            24..=46 => {
                store.confirm_graduate(g.id, at(g), &confirmed(g.id, at(g))).await?;
                order(store, g, Language::Zh, OrderKind::Collection, "", ago(4), &cal, now).await?;
                if i < 30 {
                    order(store, g, Language::En, OrderKind::Application, "", ago(3), &cal, now).await?;
                }
            }
            _ => {}
        }
    }
    let round = worker.issue_due(now, 1000, &|_| {}).await?;
    if round.failed > 0 {
        bail!("{} demo certificates could not be issued", round.failed);
    }
    // A reissue after a name change: version 1 becomes superseded.
    let reissued = &graduates[44];
    let first = store
        .latest_certificate(reissued.id, Language::Zh)
        .await?
        .context("the reissued graduate has no certificate")?;
    order(store, reissued, Language::Zh, OrderKind::Reissue, "姓名變更 name change", today, &cal, now).await?;
    worker.issue_due(now, 10, &|_| {}).await?;
    // A revocation: the degree is rescinded.
    let revoked = &graduates[45];
    let cert =
        store.latest_certificate(revoked.id, Language::Zh).await?.context("the revoked graduate has no certificate")?;
    let payload = revocation_record(&site.institution_id, &cert, "學位撤銷 degree rescinded", now.unix());
    store
        .revoke_certificate(
            cert.id,
            "學位撤銷 degree rescinded",
            &String::from_utf8(payload.to_json())?,
            now.unix(),
            &dcert_store::AuditEntry::local(
                now.unix(),
                "registrar",
                "registrar",
                "revoke",
                format!("certificate:{}", cert.id),
                "the demo's revoked sample",
            ),
        )
        .await?;
    worker.submit_to_registry(now.unix()).await?;
    let _ = first;

    let pick = |i: usize, state: &str| GraduateAccount {
        student_number: graduates[i].record.student_number.clone(),
        state: state.into(),
    };
    Ok(Accounts {
        university_url: String::new(),
        ministry_url: String::new(),
        staff,
        ministry_staff: Vec::new(),
        graduate_password,
        graduates: vec![
            pick(0, "has not confirmed the data (try confirming)"),
            pick(10, "confirmed; the paper diploma not yet collected (record the collection in the console)"),
            pick(24, "Chinese and English certificates issued and waiting in the outbox (name with a rare character)"),
            pick(44, "reissued: version 1 superseded by version 2"),
            pick(45, "certificate revoked"),
            pick(48, "alumnus of 109-2: not eligible while the alumni application is closed"),
        ],
    })
}

/// Writes the sample files from the stored certificates.
async fn write_samples(
    store: &UniversityStore,
    ministry: &MinistryStore,
    data_dir: &Path,
    moe: &IssuerDir,
    now: Timestamp,
) -> Result<Vec<(String, Vec<u8>)>> {
    let samples = data_dir.join("samples");
    std::fs::create_dir_all(&samples)?;
    let find = |i: usize| {
        let store = store.clone();
        async move {
            let list = store.list_graduates(&dcert_store::GraduateFilter { limit: 1000, ..Default::default() }).await?;
            let mut list: Vec<_> = list.into_iter().collect();
            list.sort_by_key(|g| g.id);
            let g = list.get(i).context("the demo database has fewer graduates than expected")?;
            anyhow::Ok(store.certificates_for_graduate(g.id).await?)
        }
    };
    let current = find(24).await?;
    let reissued = find(44).await?;
    let revoked = find(45).await?;
    let pick = |list: &[dcert_store::CertificateInfo], language: Language, version: u32| {
        list.iter()
            .find(|c| c.language == language && c.version == version)
            .map(|c| c.id)
            .context("a sample certificate is missing")
    };
    let mut written = Vec::new();
    for (name, id) in [
        ("current-zh.pdf", pick(&current, Language::Zh, 1)?),
        ("current-en.pdf", pick(&current, Language::En, 1)?),
        ("superseded.pdf", pick(&reissued, Language::Zh, 1)?),
        ("reissued-zh.pdf", pick(&reissued, Language::Zh, 2)?),
        ("revoked.pdf", pick(&revoked, Language::Zh, 1)?),
    ] {
        let bytes = store.certificate_file(id).await?;
        std::fs::write(samples.join(name), &bytes)?;
        written.push((name.to_owned(), bytes));
    }
    // The Ministry's own teacher certificate, issued once: a second run keeps the file the
    // registry recorded (the registry takes one file per certificate version).
    let teacher_path = samples.join("teacher-zh.pdf");
    let teacher_file = match std::fs::read(&teacher_path) {
        Ok(bytes)
            if !ministry.registry_records(&dcert_core::Sha256Digest::of(&bytes).to_string()).await?.is_empty() =>
        {
            bytes
        }
        _ => {
            let teacher: RecordFile = serde_json::from_str(include_str!("../../../examples/teacher.json"))?;
            let certificate = teacher.into_certificate(Language::Zh)?;
            let template = Template::default_for(CredentialType::Teacher, Language::Zh);
            let file = issue::issue(&certificate, &moe.kit()?, &template, &fonts::load()?, now)?;
            std::fs::write(&teacher_path, &file.bytes)?;
            // The Ministry registers the teacher certificates it issues, as institutions do theirs.
            ministry
                .append_registry_record(&dcert_store::RegistryRecord {
                    institution: "moe".into(),
                    sha256: file.sha256.to_string(),
                    event: "issued".into(),
                    number: certificate.number.clone(),
                    language: "zh".into(),
                    version: i64::from(certificate.version),
                    previous_sha256: None,
                    credential_type: "teacher".into(),
                    credential_sha256: Some(file.credential_sha256.to_string()),
                    reason: None,
                    at: now.unix(),
                })
                .await?;
            file.bytes
        }
    };
    written.push(("teacher-zh.pdf".into(), teacher_file));
    let mut modified = written[0].1.clone();
    let at = modified.len() / 2;
    modified[at] ^= 0x01;
    std::fs::write(samples.join("modified.pdf"), &modified)?;
    written.push(("modified.pdf".into(), modified));
    std::fs::write(samples.join("graduates.csv"), roster_csv())?;
    Ok(written)
}

fn print_summary(data_dir: &Path, accounts: &Accounts, reports: &[(String, verify::Report)]) {
    println!("dcert demo in {}", data_dir.display());
    println!();
    println!("  University (portal and console)  {}", accounts.university_url);
    println!("  Ministry (verification, console) {}", accounts.ministry_url);
    println!("  Demo mailbox (every email)       {}{MAILBOX_PATH}", accounts.university_url);
    println!();
    println!("  Console logins ({}/console/login):", accounts.university_url);
    for s in &accounts.staff {
        println!(
            "    {:<18} {:<12} {}{}",
            s.username,
            s.password,
            s.role,
            s.campus.as_ref().map(|c| format!(" ({c})")).unwrap_or_default()
        );
    }
    println!();
    println!("  Ministry console logins ({}/console/login):", accounts.ministry_url);
    for s in &accounts.ministry_staff {
        println!("    {:<18} {:<12} {}", s.username, s.password, s.role);
    }
    println!();
    println!("  Graduate logins ({}/login), password {}:", accounts.university_url, accounts.graduate_password);
    for g in &accounts.graduates {
        println!("    {:<12} {}", g.student_number, g.state);
    }
    println!();
    println!("  Samples in {}, checked against trust.json and the registry:", data_dir.join("samples").display());
    for (name, report) in reports {
        let label = match report.outcome {
            Outcome::Success => "認證成功 success",
            Outcome::Warning => "認證警告 warning",
            Outcome::Failure => "認證失敗 failure",
        };
        println!("    {name:<16} {label:<18} {}", report.summary);
    }
    let dir = data_dir.display();
    println!("  Verify one yourself (the demo's root is pinned in verifier.toml), offline or asking the registry:");
    println!("    dcert verify --state {dir}/verifier.toml --trust {dir}/trust.json {dir}/samples/current-zh.pdf");
    println!(
        "    dcert verify --state {dir}/verifier.toml --registry {} {dir}/samples/revoked.pdf",
        accounts.ministry_url
    );
    println!("  or with the registry's signed offline bundle, which needs no network once downloaded:");
    println!("    curl -o {dir}/bundle.json {}/api/v1/offline-bundle", accounts.ministry_url);
    println!("    dcert verify --state {dir}/verifier.toml --offline {dir}/bundle.json {dir}/samples/superseded.pdf");
    println!();
    println!("  Logins are also in {}", data_dir.join("demo-accounts.json").display());
}
