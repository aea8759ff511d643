//! `dcert bench issue`: a whole graduating class through the university's production path,
//! measured. The registry is the one a test bed runs (`[registry] database_url`): the Ministry's
//! database written directly, not the signed records API over HTTP that a university in
//! production submits to; the registry phase measures the worker's outbox and that database.
//!
//! In a temporary directory it creates a Ministry root and NKUST's keys, and a fresh database
//! (an SQLite file, or a new schema of a PostgreSQL server); imports `count` graduates from a
//! roster CSV through the console's parser, has each confirm, records a collection of the
//! Chinese diploma for each a few working days ago, issues every certificate with the worker and
//! submits the registry records. Each phase is timed. Then it checks that every graduate received
//! exactly one certificate, every order is fulfilled, two emails each are queued and the registry
//! holds every record, and removes everything it created.
//!
//! Two baselines are measured in the same run, rendering and signing certificates in memory
//! without the database: on one thread, and on as many threads as the worker renders at once
//! (this machine's ceiling for the issue phase). The issue phase is compared with both, which
//! says what the database and the worker cost and where the time goes.

use std::future::Future;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use dcert_core::calendar::Calendar;
use dcert_core::model::{Certificate, CredentialType, Language, Subject};
use dcert_core::roster::RosterRow;
use dcert_core::{Timestamp, issue};
use dcert_store::{
    Backend, GraduateFilter, MinistryStore, NewOrder, OrderKind, ScratchSchema, StoreError, UniversityStore,
};
use dcert_web::university::SiteConfig;
use dcert_web::university::worker::{IssueRound, Worker};
use serde::Serialize;
use tokio::task::JoinSet;

use crate::commands::wrong;
use crate::keystore::RootDir;
use crate::server;

/// The registry (and verification site) the keys name.
const REGISTRY: &str = "http://localhost:8081";
/// Orders the worker takes per round, as `dcert serve` would with a large backlog.
const ROUND: i64 = 1000;
/// Certificates rendered in memory for the baseline (fewer when the class is smaller).
const BASELINE: usize = 300;
/// Rows per roster file: the parser's limits are 10 MiB and 50,000 rows.
const ROSTER_ROWS: usize = 20_000;
/// Concurrent sessions confirming and recording collections on PostgreSQL (the store's pool
/// size); SQLite has one writer at a time, so there they run one after another.
const POSTGRES_SESSIONS: usize = 8;

/// Options of `dcert bench issue`.
pub struct Options {
    /// Graduates to issue.
    pub count: usize,
    /// `postgres://...`; default a fresh SQLite file.
    pub database: Option<String>,
    /// Certificates rendered at once; default the available cores.
    pub parallelism: Option<usize>,
}

/// Seconds of each phase.
#[derive(Serialize)]
pub struct Phases {
    /// The roster parsed and imported.
    pub import: f64,
    /// Every graduate confirms.
    pub confirm: f64,
    /// A collection recorded for each.
    pub orders: f64,
    /// The worker issues every certificate.
    pub issue: f64,
    /// The worker submits the registry records.
    pub registry: f64,
}

/// The in-memory, single-thread baseline.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Baseline {
    /// Certificates rendered and signed.
    pub count: usize,
    /// Seconds taken.
    pub seconds: f64,
    /// Certificates per second.
    pub per_second: f64,
}

/// The figures of one run.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Figures {
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// Graduates in the class.
    pub count: usize,
    /// Certificates the worker issued.
    pub issued: usize,
    /// Issuance attempts that failed (an order that fails again in a later round counts again).
    pub failed: usize,
    /// Rounds of `issue_due`.
    pub rounds: usize,
    /// Certificates rendered at once.
    pub parallelism: usize,
    /// Concurrent sessions of the confirm and orders phases.
    pub sessions: usize,
    /// Seconds of all phases.
    pub total_seconds: f64,
    /// Certificates issued per second over all phases.
    pub certificates_per_second: f64,
    /// Certificates per second in the issue phase.
    pub issue_per_second: f64,
    /// Seconds per phase.
    pub phases: Phases,
    /// Rendering in memory on one thread.
    pub baseline: Baseline,
    /// The issue phase's rate over the baseline's (1.0: as fast as one thread without a database).
    pub database_to_baseline: f64,
    /// Rendering in memory at the worker's parallelism, without a database: the ceiling this
    /// machine puts on the issue phase.
    pub in_memory: Baseline,
    /// The issue phase's rate over the in-memory rate at the same parallelism (1.0: the database
    /// and the worker cost nothing).
    pub database_to_in_memory: f64,
    /// Seconds rendering alone takes at this parallelism: count / in-memory rate.
    pub render_estimate_seconds: f64,
    /// render estimate / issue seconds: the share of the issue phase that rendering explains.
    pub render_share: f64,
    /// Registry records the Ministry's store holds.
    pub registry_records: usize,
    /// Certificate emails queued.
    pub emails_queued: usize,
    /// Bytes of the certificate files.
    pub certificate_bytes: u64,
    /// Bytes the databases take (university and Ministry), tables and indexes.
    pub database_bytes: u64,
    /// Whether every check passed.
    pub verified: bool,
    /// The checks that failed.
    pub problems: Vec<String>,
}

/// Runs the benchmark.
pub fn run(options: &Options, now: Timestamp) -> Result<Figures> {
    if options.count == 0 {
        return Err(wrong("--count must be at least 1"));
    }
    if options.parallelism == Some(0) {
        return Err(wrong("--parallelism must be at least 1"));
    }
    let dir = TempDir::new()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        match options.database.as_deref() {
            None => {
                let db = |name: &str| format!("sqlite://{}", dir.0.join(name).display());
                let store = server::open_university(&db("university.db")).await?;
                let ministry = server::open_ministry(&db("ministry.db")).await?;
                let mut figures = bench(options, &dir.0, store.clone(), ministry.clone(), now).await;
                store.close().await;
                ministry.close().await;
                if let Ok(f) = &mut figures {
                    f.database_bytes = ["university.db", "university.db-wal", "ministry.db", "ministry.db-wal"]
                        .iter()
                        .filter_map(|name| std::fs::metadata(dir.0.join(name)).ok())
                        .map(|m| m.len())
                        .sum();
                }
                figures
            }
            Some(url) if url.starts_with("postgres:") || url.starts_with("postgresql:") => {
                postgres(options, &dir.0, url, now).await
            }
            Some(_) => Err(wrong("--database must be a postgres:// URL (the default is a fresh SQLite file)")),
        }
    })
}

/// The run on fresh schemas of a PostgreSQL server, dropped at the end whatever happens.
async fn postgres(options: &Options, dir: &Path, url: &str, now: Timestamp) -> Result<Figures> {
    let university = ScratchSchema::create(url, "dcert_bench_uni").await.context("cannot make a bench schema")?;
    let moe = ScratchSchema::create(url, "dcert_bench_moe").await.context("cannot make a bench schema")?;
    let store = server::open_university(university.url()).await?;
    let ministry = server::open_ministry(moe.url()).await?;
    let mut figures = bench(options, dir, store.clone(), ministry.clone(), now).await;
    if let Ok(f) = &mut figures {
        f.database_bytes = store.size_bytes().await? + ministry.size_bytes().await?;
    }
    store.close().await;
    ministry.close().await;
    for schema in [university, moe] {
        let name = schema.name().to_owned();
        if let Err(e) = schema.drop_now().await {
            eprintln!("warning: cannot drop the bench schema {name}: {e}");
        }
    }
    figures
}

/// The whole class, on open stores.
async fn bench(
    options: &Options,
    dir: &Path,
    store: UniversityStore,
    ministry: MinistryStore,
    now: Timestamp,
) -> Result<Figures> {
    let count = options.count;
    let keys = dir.join("keys");
    keys_for_bench(&keys, now)?;
    let worker = server::worker(
        store.clone(),
        server::RegistryTarget::Store(ministry.clone()),
        &keys.join("nkust"),
        None,
        REGISTRY,
        options.parallelism,
    )?;
    server::prepare(&store, &server::nkust_campuses()).await?;
    let site = site();
    let codes: Vec<String> = store.campuses().await?.into_iter().map(|c| c.code).collect();
    let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
    let rosters: Vec<String> =
        (0..count).step_by(ROSTER_ROWS).map(|start| roster_csv(start..(start + ROSTER_ROWS).min(count))).collect();

    // The baseline first, on a quiet machine: the same records, keys, template and fonts.
    let limits = dcert_core::roster::Limits::default();
    let parse = |csv: &str| {
        dcert_core::roster::parse_roster(csv.as_bytes(), &site.school_names(), &codes, &limits)
            .context("the bench roster does not import")
    };
    let sample = parse(&rosters[0])?;
    let template = worker.template(Language::Zh).await?;
    let rows: Vec<RosterRow> = sample.into_iter().take(BASELINE.min(count)).collect();
    let parallelism = worker.parallelism.max(1);
    let (baseline, in_memory) = {
        let issuance = worker.issuance.clone();
        tokio::task::spawn_blocking(move || -> Result<(Baseline, Baseline)> {
            let one = baseline(&rows, 1, &issuance.kit, &template, &issuance.fonts, now)?;
            let all = baseline(&rows, parallelism, &issuance.kit, &template, &issuance.fonts, now)?;
            Ok((one, all))
        })
        .await
        .context("the baseline stopped")??
    };

    // Import: the registrar uploads the roster.
    let started = Instant::now();
    let mut imported = 0;
    for csv in &rosters {
        let rows = parse(csv)?;
        let audit = |s: &dcert_store::ImportSummary| crate::demo::imported(s, now.unix());
        imported += store.import_graduates(&rows, now.unix(), audit).await?.inserted;
    }
    let import = started.elapsed().as_secs_f64();
    if imported != count {
        bail!("the import inserted {imported} graduates, not {count}: is the database fresh?");
    }

    // Confirm: each graduate confirms the data in the portal.
    let started = Instant::now();
    let graduates = store.list_graduates(&GraduateFilter { limit: count as i64 + 1, ..Default::default() }).await?;
    if graduates.len() != count {
        bail!("{} graduates listed after the import, not {count}", graduates.len());
    }
    let sessions = match store.backend() {
        Backend::Sqlite => 1,
        Backend::Postgres => POSTGRES_SESSIONS,
    };
    let ids: Vec<i64> = graduates.iter().map(|g| g.id).collect();
    concurrently(&ids, sessions, |i, id| {
        let store = store.clone();
        let at = now.unix() - 86_400 * 10 + i as i64 % 86_400;
        async move { store.confirm_graduate(id, at, &crate::demo::confirmed(id, at)).await }
    })
    .await?;
    let confirm = started.elapsed().as_secs_f64();

    // Orders: each collects the paper Chinese diploma, a few working days ago.
    let started = Instant::now();
    let calendar = Calendar::new(store.calendar().await?);
    let mut day = now.taiwan_date();
    let mut left = 3;
    while left > 0 {
        day = day.add_days(-1);
        if calendar.is_workday(day) {
            left -= 1;
        }
    }
    let due_on = calendar.due_date(day);
    concurrently(&ids, sessions, |_, id| {
        let store = store.clone();
        async move {
            let order = NewOrder {
                graduate_id: id,
                language: Language::Zh,
                kind: OrderKind::Collection,
                reason: "",
                requested_on: day,
                due_on,
                actor: "registrar",
                at: now.unix(),
            };
            store.create_order(&order, |o| crate::demo::recorded(o, now.unix())).await.map(|_| ())
        }
    })
    .await?;
    let orders = started.elapsed().as_secs_f64();

    // Issue: the worker's rounds until one issues nothing.
    let progress = Progress::new(count);
    let started = Instant::now();
    let (mut issued, mut failed, mut rounds) = (0, 0, 0);
    loop {
        let before = issued + failed;
        let round =
            worker.issue_due(now, ROUND, &|r: IssueRound| progress.update(before + r.issued + r.failed)).await?;
        rounds += 1;
        issued += round.issued;
        failed += round.failed;
        if round.issued == 0 {
            break;
        }
    }
    let issue = started.elapsed().as_secs_f64();
    progress.finish(issued + failed);

    // Registry: every issuance record submitted to the Ministry.
    let started = Instant::now();
    while worker.submit_to_registry(now.unix()).await? > 0 {}
    let registry = started.elapsed().as_secs_f64();

    let check = verify(&store, &ministry, &worker, count, now).await?;
    let mut problems = check.problems;
    if failed > 0 {
        problems.push(format!("{failed} issuance attempts failed"));
    }
    if issued != count {
        problems.push(format!("the worker issued {issued} certificates, not {count}"));
    }
    let total = import + confirm + orders + issue + registry;
    let render_estimate = count as f64 / in_memory.per_second;
    Ok(Figures {
        backend: match store.backend() {
            Backend::Sqlite => "sqlite".into(),
            Backend::Postgres => "postgres".into(),
        },
        count,
        issued,
        failed,
        rounds,
        parallelism,
        sessions,
        total_seconds: total,
        certificates_per_second: issued as f64 / total,
        issue_per_second: issued as f64 / issue,
        phases: Phases { import, confirm, orders, issue, registry },
        database_to_baseline: issued as f64 / issue / baseline.per_second,
        database_to_in_memory: issued as f64 / issue / in_memory.per_second,
        baseline,
        in_memory,
        render_estimate_seconds: render_estimate,
        render_share: render_estimate / issue,
        registry_records: check.registry_records,
        emails_queued: check.emails,
        certificate_bytes: check.certificate_bytes,
        database_bytes: 0,
        verified: problems.is_empty(),
        problems,
    })
}

/// Runs `task(i, id)` for every id, `sessions` at a time, as that many users of the portal and
/// the console would.
async fn concurrently<F, T>(ids: &[i64], sessions: usize, task: F) -> Result<()>
where
    F: Fn(usize, i64) -> T,
    T: Future<Output = Result<(), StoreError>> + Send + 'static,
{
    let mut running = JoinSet::new();
    for (i, id) in ids.iter().enumerate() {
        if running.len() >= sessions.max(1)
            && let Some(done) = running.join_next().await
        {
            done.context("a session stopped")??;
        }
        running.spawn(task(i, *id));
    }
    while let Some(done) = running.join_next().await {
        done.context("a session stopped")??;
    }
    Ok(())
}

/// The root and NKUST, as the demo creates them.
fn keys_for_bench(keys: &Path, now: Timestamp) -> Result<()> {
    std::fs::create_dir_all(keys).with_context(|| format!("cannot create {}", keys.display()))?;
    let root = RootDir::create(&keys.join("moe-root"), REGISTRY, "Ministry of Education, R.O.C. (Taiwan)", now, 20)?;
    crate::demo::issuer(
        &keys.join("nkust"),
        &root,
        "nkust",
        "國立高雄科技大學",
        "National Kaohsiung University of Science and Technology",
        vec![CredentialType::Degree],
        now,
    )?;
    Ok(())
}

/// The demo's site, whose Ministry is the registry named in the bench's keys.
fn site() -> SiteConfig {
    crate::demo::site(8080)
}

/// Renders and signs a certificate of each of `rows` on `threads` threads, without a database.
fn baseline(
    rows: &[RosterRow],
    threads: usize,
    kit: &issue::IssuerKit,
    template: &dcert_core::pdf::Template,
    fonts: &dcert_core::pdf::FontBook,
    now: Timestamp,
) -> Result<Baseline> {
    let certificates: Vec<Certificate> = rows
        .iter()
        .map(|r| Certificate {
            number: format!("NKUST-{}-{}", r.record.graduation_term, r.record.student_number),
            language: Language::Zh,
            version: 1,
            previous_version_sha256: None,
            subject: Subject::Degree(r.record.clone()),
        })
        .collect();
    let started = Instant::now();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let certificates = &certificates;
                scope.spawn(move || -> Result<()> {
                    for c in certificates.iter().skip(t).step_by(threads) {
                        issue::issue(c, kit, template, fonts, now).context("the baseline cannot issue")?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| w.join().map_err(|_| anyhow::anyhow!("a baseline thread panicked"))?)
    })?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(Baseline { count: certificates.len(), seconds, per_second: certificates.len() as f64 / seconds })
}

struct Check {
    problems: Vec<String>,
    emails: usize,
    registry_records: usize,
    certificate_bytes: u64,
}

/// Checks what the run stored.
async fn verify(
    store: &UniversityStore,
    ministry: &MinistryStore,
    worker: &Worker,
    count: usize,
    now: Timestamp,
) -> Result<Check> {
    let mut problems = Vec::new();
    let graduates = store.list_graduates(&GraduateFilter { limit: count as i64 + 1, ..Default::default() }).await?;
    if graduates.len() != count {
        problems.push(format!("{} graduates stored, not {count}", graduates.len()));
    }
    let certificates: i64 = graduates.iter().map(|g| g.certificates).sum();
    if certificates != count as i64 {
        problems.push(format!("{certificates} certificates stored, not {count}"));
    }
    let not_once = graduates.iter().filter(|g| g.certificates != 1).count();
    if not_once > 0 {
        problems.push(format!("{not_once} graduates do not have exactly one certificate"));
    }
    let open: i64 = graduates.iter().map(|g| g.open_orders).sum();
    if open > 0 {
        problems.push(format!("{open} orders are not fulfilled"));
    }
    let policy = dcert_web::university::worker::Policy::load(store).await?;
    let issuable = store.issuable_orders(policy.first_term, policy.alumni_open, 10).await?;
    if !issuable.is_empty() {
        problems.push(format!("orders are still issuable (order {} and more)", issuable[0].id));
    }
    let emails = store.due_emails(now.unix(), 2 * count as i64 + 10).await?;
    let mut per_certificate = std::collections::HashMap::new();
    for e in &emails {
        if e.kind == "certificate"
            && let Some(id) = e.certificate_id
        {
            *per_certificate.entry(id).or_insert(0usize) += 1;
        }
    }
    let certificate_emails: usize = per_certificate.values().sum();
    if emails.len() != 2 * count || certificate_emails != 2 * count {
        problems.push(format!(
            "{} emails queued ({certificate_emails} with a certificate), not {}",
            emails.len(),
            2 * count
        ));
    }
    if per_certificate.len() != count || per_certificate.values().any(|n| *n != 2) {
        problems.push("not every certificate has its two emails".into());
    }
    let backlog = store.registry_backlog().await?;
    if backlog != 0 {
        problems.push(format!("the registry backlog is {backlog}, not 0"));
    }
    let mut registry_records = 0;
    let mut hashes = std::collections::HashSet::new();
    let mut after = 0;
    loop {
        let page = ministry.registry_log(after, 1000).await?;
        let Some((last, _)) = page.last() else { break };
        after = *last;
        for (_, r) in page {
            registry_records += 1;
            if r.event == "issued" && r.institution == worker.issuance.kit.issuer.id {
                hashes.insert(r.sha256);
            }
        }
    }
    if registry_records != count || hashes.len() != count {
        problems.push(format!(
            "the registry holds {registry_records} records ({} distinct issued files), not {count}",
            hashes.len()
        ));
    }
    let certificate_bytes = store.certificate_bytes().await?;
    Ok(Check { problems, emails: emails.len(), registry_records, certificate_bytes })
}

const SURNAMES: &[(&str, &str)] = &[
    ("陳", "CHEN"),
    ("林", "LIN"),
    ("黃", "HUANG"),
    ("張", "CHANG"),
    ("李", "LEE"),
    ("王", "WANG"),
    ("吳", "WU"),
    ("劉", "LIU"),
    ("蔡", "TSAI"),
    ("楊", "YANG"),
    ("許", "HSU"),
    ("鄭", "CHENG"),
    ("謝", "HSIEH"),
    ("郭", "KUO"),
    ("洪", "HUNG"),
    ("曾", "TSENG"),
    ("邱", "CHIU"),
    ("廖", "LIAO"),
    ("賴", "LAI"),
    ("周", "CHOU"),
];

const GIVEN: &[(&str, &str)] = &[
    ("怡君", "YI-CHUN"),
    ("志明", "CHIH-MING"),
    ("雅婷", "YA-TING"),
    ("家豪", "CHIA-HAO"),
    ("宗翰", "TSUNG-HAN"),
    ("淑芬", "SHU-FEN"),
    ("建宏", "CHIEN-HUNG"),
    ("佳穎", "CHIA-YING"),
    ("俊傑", "CHUN-CHIEH"),
    ("欣怡", "HSIN-YI"),
    ("冠宇", "KUAN-YU"),
    ("詩涵", "SHIH-HAN"),
    ("承恩", "CHENG-EN"),
    ("宜蓁", "YI-CHEN"),
    ("柏翰", "PO-HAN"),
    ("思妤", "SSU-YU"),
    ("彥廷", "YEN-TING"),
    ("郁婷", "YU-TING"),
    ("偉倫", "WEI-LUN"),
    ("品妍", "PIN-YEN"),
];

/// Campus, college, department and degree, in Chinese and English.
struct Department {
    campus: &'static str,
    college: (&'static str, &'static str),
    department: (&'static str, &'static str),
    degree: (&'static str, &'static str),
}

/// The departments of `departments.tsv`.
fn departments() -> Vec<Department> {
    include_str!("departments.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|line| match line.split('\t').collect::<Vec<_>>()[..] {
            [campus, college_zh, college_en, department_zh, department_en, degree_zh, degree_en] => Some(Department {
                campus,
                college: (college_zh, college_en),
                department: (department_zh, department_en),
                degree: (degree_zh, degree_en),
            }),
            _ => None,
        })
        .collect()
}

/// Graduates `range` of the class of 113-2, as the student information system exports them.
fn roster_csv(range: std::ops::Range<usize>) -> String {
    let mut csv = String::from(
        "student_number,term,campus,name_zh,name_en,birth_date,college_zh,college_en,department_zh,department_en,\
         degree_level,degree_zh,degree_en,graduation_date,diploma_number,permanent_email,minor_zh,minor_en,mid_term\n",
    );
    let departments = departments();
    for i in range {
        let d = &departments[i % departments.len()];
        let (surname, surname_en) = SURNAMES[i % SURNAMES.len()];
        let (given, given_en) = GIVEN[(i / SURNAMES.len() + i / 7) % GIVEN.len()];
        let number = format!("C1{:02}{:06}", 10 + i % departments.len(), i);
        let email =
            format!("{}.{}{i}@example.com", given_en.replace('-', "").to_lowercase(), surname_en.to_lowercase());
        let minor = if i % 13 == 5 {
            ("資訊工程系", "Department of Computer Science and Information Engineering")
        } else {
            ("", "")
        };
        csv.push_str(&format!(
            "{number},113-2,{},{surname}{given},\"{surname_en}, {given_en}\",{}-{:02}-{:02},{},{},{},{},bachelor,{},{},\
             2025-06-30,(114)高科大學字第{:06}號,{email},{},{},no\n",
            d.campus,
            2001 + i % 3,
            1 + i % 12,
            1 + i % 28,
            d.college.0,
            d.college.1,
            d.department.0,
            d.department.1,
            d.degree.0,
            d.degree.1,
            i + 1,
            minor.0,
            minor.1,
        ));
    }
    csv
}

/// The progress of the issue phase on standard error: a bar redrawn in place on a terminal, else
/// a line every 10 %.
struct Progress {
    total: usize,
    started: Instant,
    terminal: bool,
    state: Mutex<(Option<Instant>, usize)>,
}

impl Progress {
    fn new(total: usize) -> Self {
        Self { total, started: Instant::now(), terminal: std::io::stderr().is_terminal(), state: Mutex::new((None, 1)) }
    }

    fn update(&self, done: usize) {
        let Ok(mut state) = self.state.lock() else { return };
        let (last_draw, next_tenth) = &mut *state;
        if self.terminal {
            if done < self.total && last_draw.is_some_and(|t| t.elapsed() < Duration::from_millis(100)) {
                return;
            }
            *last_draw = Some(Instant::now());
            eprint!("\r{}   ", self.line(done, true));
        } else if done * 10 >= *next_tenth * self.total {
            while done * 10 >= *next_tenth * self.total && *next_tenth <= 10 {
                *next_tenth += 1;
            }
            eprintln!("{}", self.line(done, false));
        }
    }

    fn finish(&self, done: usize) {
        if self.terminal {
            eprintln!("\r{}   ", self.line(done, true));
        }
    }

    fn line(&self, done: usize, bar: bool) -> String {
        let seconds = self.started.elapsed().as_secs_f64();
        let rate = if seconds > 0.0 { done as f64 / seconds } else { 0.0 };
        let eta =
            if rate > 0.0 { format!("{:.0} s", (self.total - done.min(self.total)) as f64 / rate) } else { "-".into() };
        let shown = if bar {
            const WIDTH: usize = 20;
            let filled = (done * WIDTH / self.total.max(1)).min(WIDTH);
            format!("[{}{}]", "#".repeat(filled), ".".repeat(WIDTH - filled))
        } else {
            format!("{:>3} %", done * 100 / self.total.max(1))
        };
        format!(
            "issuing {:>w$}/{} {shown} {rate:>5.0}/s  ETA {eta}",
            thousands(done as u64),
            thousands(self.total as u64),
            w = thousands(self.total as u64).len()
        )
    }
}

/// 12345 as `12,345`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn bytes(n: u64) -> String {
    if n >= 1 << 30 {
        format!("{:.2} GiB", n as f64 / f64::from(1u32 << 30))
    } else {
        format!("{:.1} MiB", n as f64 / f64::from(1u32 << 20))
    }
}

/// The text report.
pub fn text(f: &Figures) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let backend = if f.backend == "postgres" { "PostgreSQL" } else { "SQLite" };
    let _ = writeln!(
        s,
        "dcert bench issue: {} graduates on {backend}, parallelism {}, {} session{} confirming and ordering",
        thousands(f.count as u64),
        f.parallelism,
        f.sessions,
        if f.sessions == 1 { "" } else { "s" }
    );
    let _ = writeln!(s);
    let _ = writeln!(s, "  phase        seconds   per second");
    let p = &f.phases;
    for (name, seconds) in [
        ("import", p.import),
        ("confirm", p.confirm),
        ("orders", p.orders),
        ("issue", p.issue),
        ("registry", p.registry),
        ("total", f.total_seconds),
    ] {
        let _ = writeln!(s, "  {name:<10} {seconds:>9.2}   {:>10.1}", f.count as f64 / seconds.max(1e-9));
    }
    let _ = writeln!(s);
    let b = &f.baseline;
    let _ = writeln!(
        s,
        "  baseline: {} certificates in memory on one thread in {:.2} s, {:.1}/s",
        b.count, b.seconds, b.per_second
    );
    let m = &f.in_memory;
    let _ = writeln!(
        s,
        "  in memory at parallelism {}: {} certificates in {:.2} s, {:.1}/s ({:.2}× one thread: this machine's \
         ceiling)",
        f.parallelism,
        m.count,
        m.seconds,
        m.per_second,
        m.per_second / b.per_second
    );
    let _ = writeln!(
        s,
        "  the database path issues {:.1}/s: {:.2}× the in-memory single-thread rate (parallelism {}), {:.2} of \
         the in-memory rate at the same parallelism",
        f.issue_per_second, f.database_to_baseline, f.parallelism, f.database_to_in_memory
    );
    let _ = writeln!(
        s,
        "  bottleneck: rendering alone takes {:.1} s of the {:.1} s issue phase ({:.2}); the other {:.2} is \
         the store and the worker's serial steps",
        f.render_estimate_seconds,
        f.phases.issue,
        f.render_share,
        (1.0 - f.render_share).max(0.0)
    );
    let _ = writeln!(
        s,
        "  stored: {} of certificate files, {} of database (university and registry)",
        bytes(f.certificate_bytes),
        bytes(f.database_bytes)
    );
    if f.verified {
        let _ = writeln!(
            s,
            "  verified: {} certificates, one per graduate; every order fulfilled; {} emails queued; {} registry \
             records, backlog 0",
            thousands(f.issued as u64),
            thousands(f.emails_queued as u64),
            thousands(f.registry_records as u64)
        );
    } else {
        let _ = writeln!(s, "  NOT VERIFIED:");
        for p in &f.problems {
            let _ = writeln!(s, "    {p}");
        }
    }
    s
}

/// A directory removed when dropped.
pub(super) struct TempDir(pub(super) PathBuf);

impl TempDir {
    pub(super) fn new() -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("dcert-bench-issue-{}", unique_suffix()));
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Lowercase letters and digits, different on every run.
fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{}_{nanos:09}", std::process::id())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_line_of_the_departments_file_is_a_department() {
        let lines = include_str!("departments.tsv").lines().filter(|l| !l.starts_with('#') && !l.is_empty()).count();
        assert_eq!(super::departments().len(), lines);
        assert!(lines >= 10);
    }
}
