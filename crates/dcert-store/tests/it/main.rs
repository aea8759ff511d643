//! The store against real databases: every test runs on an SQLite file and on a fresh schema of
//! the PostgreSQL server (`DCERT_TEST_POSTGRES`, by default `postgres://postgres@127.0.0.1:5432/test`).

mod ministry;
mod trust_registry;

use dcert_core::calendar::DayOverride;
use dcert_core::model::{DegreeRecord, Language, Term};
use dcert_core::roster::RosterRow;
use dcert_core::time::Date;
use dcert_store::{
    AuditEntry, AuditFilter, Backend, Campus, CertificateStatus, Db, Graduate, GraduateFilter, GraduateState,
    ImportSummary, IssuedFile, MinistryStore, NewAccount, NewEmail, NewOrder, OrderKind, RegistryRecord, Role,
    ScratchSchema, Session, StoreError, UniversityRole, UniversityStore,
};
use dcert_testkit::{TempDir, postgres_url, sample};

/// A store on each backend, each fresh.
struct Fixture<S> {
    stores: Vec<S>,
    urls: Vec<String>,
    /// The PostgreSQL schema, dropped (with everything in it) when the fixture is, even after a
    /// panic.
    _schema: ScratchSchema,
    _dir: TempDir,
}

/// A store of one party.
trait Party: Sized + std::ops::Deref<Target = Db> {
    async fn open(url: &str) -> Result<Self, StoreError>;
}

impl Party for UniversityStore {
    async fn open(url: &str) -> Result<Self, StoreError> {
        UniversityStore::open(url).await
    }
}

impl Party for MinistryStore {
    async fn open(url: &str) -> Result<Self, StoreError> {
        MinistryStore::open(url).await
    }
}

/// A fresh university store on each backend.
async fn fixture() -> Fixture<UniversityStore> {
    fresh().await
}

/// A fresh Ministry store on each backend.
async fn ministry_fixture() -> Fixture<MinistryStore> {
    fresh().await
}

async fn fresh<S: Party>() -> Fixture<S> {
    let dir = TempDir::new("store");
    let sqlite_url = format!("sqlite://{}", dir.join("dcert.db").display());
    let sqlite = S::open(&sqlite_url).await.unwrap();
    let schema =
        ScratchSchema::create(&postgres_url(), "t").await.expect("PostgreSQL must answer at DCERT_TEST_POSTGRES");
    let postgres = S::open(schema.url()).await.expect("PostgreSQL must answer at DCERT_TEST_POSTGRES");
    assert_eq!(postgres.backend(), Backend::Postgres);
    let urls = vec![sqlite_url, schema.url().to_owned()];
    Fixture { stores: vec![sqlite, postgres], urls, _schema: schema, _dir: dir }
}

impl<S: Party> Fixture<S> {
    async fn finish(self) {
        for s in &self.stores {
            s.close().await;
        }
    }

    /// Whether the `i`th store's database has `table`.
    async fn has_table(&self, i: usize, table: &str) -> bool {
        self.raw(i, &format!("SELECT COUNT(*) FROM {table}")).await.is_ok()
    }

    /// Runs one statement on the `i`th store's database as another client would, bypassing the
    /// store (to show what the database itself refuses).
    async fn raw(&self, i: usize, statement: &str) -> Result<u64, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&self.urls[i]).await?;
        let result = sqlx::query(sqlx::AssertSqlSafe(statement.to_owned())).execute(&pool).await;
        pool.close().await;
        Ok(result?.rows_affected())
    }
}

/// The test kit's sample graduate named `name`, as student `number` graduating in `term`.
fn record(number: &str, term: &str, name: &str) -> DegreeRecord {
    DegreeRecord {
        student_number: number.into(),
        graduation_term: term.parse().unwrap(),
        diploma_number: format!("D{number}"),
        ..sample::degree(name)
    }
}

fn row(number: &str, term: &str, name: &str) -> RosterRow {
    RosterRow {
        line: 2,
        campus: "jiangong".into(),
        record: record(number, term, name),
        school_email: format!("{}@nkust.edu.tw", number.to_lowercase()),
        permanent_email: Some("graduate@example.org".into()),
        mid_term: false,
    }
}

async fn seed(store: &UniversityStore) {
    for (i, code) in ["jiangong", "first"].iter().enumerate() {
        store
            .upsert_campus(&Campus {
                code: (*code).into(),
                position: i as i64,
                name_zh: format!("{code}校區"),
                name_en: format!("{code} campus"),
                office_zh: "綜合業務處".into(),
                office_en: "Office of General Affairs".into(),
                extensions: "51103".into(),
            })
            .await
            .unwrap();
    }
}

/// Imports one graduate, 王小明 (C110123456, 113-2), into a seeded store; returns the record.
async fn import_one(store: &UniversityStore) -> Graduate {
    store.import_graduates(&[row("C110123456", "113-2", "王小明")], 1, |_| by("import_graduates")).await.unwrap();
    store.graduate_terms("C110123456").await.unwrap().remove(0)
}

/// The graduate of [`import_one`], confirmed.
async fn confirmed_one(store: &UniversityStore) -> Graduate {
    let g = import_one(store).await;
    store.confirm_graduate(g.id, 2, &by("confirm_record")).await.unwrap();
    g
}

/// An audit entry of `action` by the registrar.
fn by(action: &str) -> AuditEntry {
    AuditEntry {
        at: 1,
        actor: "registrar".into(),
        role: "registrar".into(),
        action: action.into(),
        target: "-".into(),
        detail: String::new(),
        ip: "-".into(),
    }
}

fn day(s: &str) -> Date {
    s.parse().unwrap()
}

async fn order(
    store: &UniversityStore,
    graduate_id: i64,
    kind: OrderKind,
    reason: &str,
) -> Result<dcert_store::Order, StoreError> {
    store
        .create_order(
            &NewOrder {
                graduate_id,
                language: Language::Zh,
                kind,
                reason,
                requested_on: day("2025-07-01"),
                due_on: day("2025-07-08"),
                actor: "registrar",
                at: 1_751_328_000,
            },
            |o| AuditEntry { target: format!("order:{}", o.id), ..by("record_diploma") },
        )
        .await
}

fn issued<'a>(order_id: i64, file: &'a [u8], sha: &'a str, previous: Option<&'a str>) -> IssuedFile<'a> {
    IssuedFile {
        order_id,
        number: "NKUST-113-2-C110123456",
        file,
        sha256: sha,
        previous_sha256: previous,
        registry_payload: format!("{{\"sha256\":\"{sha}\"}}"),
        emails: vec![
            NewEmail { kind: "certificate".into(), to: "a@nkust.edu.tw".into(), subject: "s".into(), body: "b".into() },
            NewEmail { kind: "certificate".into(), to: "b@example.org".into(), subject: "s".into(), body: "b".into() },
        ],
        at: 1_751_400_000,
    }
}

#[cfg(unix)]
#[tokio::test]
async fn a_sqlite_database_and_its_journal_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("store");
    let mode = |name: &str| std::fs::metadata(dir.0.join(name)).unwrap().permissions().mode() & 0o777;
    let store = UniversityStore::open(&format!("sqlite://{}", dir.0.join("new.db").display())).await.unwrap();
    store.set_settings(&[("probe", "1")], &by("set_policy")).await.unwrap();
    assert_eq!(mode("new.db"), 0o600);
    assert_eq!(mode("new.db-wal"), 0o600, "SQLite gives its journal the database's permissions");
    // A database an older version left readable by everyone is made private when opened.
    std::fs::write(dir.0.join("old.db"), b"").unwrap();
    std::fs::set_permissions(dir.0.join("old.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    UniversityStore::open(&format!("sqlite://{}", dir.0.join("old.db").display())).await.unwrap();
    assert_eq!(mode("old.db"), 0o600);
}

#[tokio::test]
async fn an_import_inserts_then_updates_by_student_number_and_term_and_clears_a_stale_confirmation() {
    let f = fixture().await;
    for store in &f.stores {
        seed(store).await;
        let rows = vec![row("C110123456", "113-2", "王小明"), row("C110123457", "113-2", "陳美麗")];
        let first = store.import_graduates(&rows, 100, |_| by("import_graduates")).await.unwrap();
        assert_eq!((first.inserted, first.updated, first.unchanged), (2, 0, 0));
        let again = store.import_graduates(&rows, 200, |_| by("import_graduates")).await.unwrap();
        assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 2));

        let id = store.graduate_terms("C110123456").await.unwrap()[0].id;
        store.confirm_graduate(id, 300, &by("confirm_record")).await.unwrap();
        assert_eq!(store.graduate(id).await.unwrap().unwrap().confirmed_at, Some(300));

        let changed = vec![row("C110123456", "113-2", "王大明")];
        let third = store.import_graduates(&changed, 400, |_| by("import_graduates")).await.unwrap();
        assert_eq!((third.inserted, third.updated), (0, 1));
        let g = store.graduate(id).await.unwrap().unwrap();
        assert_eq!(g.record.name_zh, "王大明");
        assert_eq!(g.confirmed_at, None, "changed data must be confirmed again");

        // Another term of the same student is another record.
        let other_term = store
            .import_graduates(&[row("C110123456", "114-1", "王大明")], 500, |_| by("import_graduates"))
            .await
            .unwrap();
        assert_eq!(other_term.inserted, 1);
        assert_eq!(store.graduate_terms("C110123456").await.unwrap().len(), 2);
    }
    f.finish().await;
}

#[tokio::test]
async fn an_import_with_an_unknown_campus_changes_nothing() {
    let f = fixture().await;
    for store in &f.stores {
        seed(store).await;
        let mut bad = row("C110000002", "113-2", "李四");
        bad.campus = "atlantis".into();
        let rows = vec![row("C110000001", "113-2", "張三"), bad];
        assert!(store.import_graduates(&rows, 100, |_| by("import_graduates")).await.is_err());
        let listed = store.list_graduates(&GraduateFilter::default()).await.unwrap();
        assert!(listed.is_empty(), "nothing half-imported: {listed:?}");
    }
    f.finish().await;
}

#[tokio::test]
async fn a_campus_filter_lists_only_that_campus() {
    let f = fixture().await;
    for store in &f.stores {
        seed(store).await;
        let mut other = row("C110000009", "113-2", "林九");
        other.campus = "first".into();
        store
            .import_graduates(&[row("C110000001", "113-2", "張三"), other], 1, |_| by("import_graduates"))
            .await
            .unwrap();
        let filter = GraduateFilter { campus: Some("first".into()), ..Default::default() };
        let listed = store.list_graduates(&filter).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].student_number, "C110000009");
        let search = GraduateFilter { search: Some("張".into()), ..Default::default() };
        assert_eq!(store.list_graduates(&search).await.unwrap()[0].student_number, "C110000001");
        // States, counts and pages, on either database.
        let state = |s| GraduateFilter { state: Some(s), today: Some("2025-07-01".into()), ..Default::default() };
        assert_eq!(store.count_graduates(&state(GraduateState::Unconfirmed)).await.unwrap(), 2);
        for s in
            [GraduateState::AwaitingConfirmation, GraduateState::Waiting, GraduateState::Overdue, GraduateState::Issued]
        {
            assert_eq!(store.count_graduates(&state(s)).await.unwrap(), 0, "{s:?}");
            assert!(store.list_graduates(&state(s)).await.unwrap().is_empty(), "{s:?}");
        }
        let second = GraduateFilter { limit: 1, offset: 1, ..Default::default() };
        assert_eq!(store.list_graduates(&second).await.unwrap().len(), 1);
        assert_eq!(store.count_graduates(&second).await.unwrap(), 2, "the count ignores the page");
    }
    f.finish().await;
}

#[tokio::test]
async fn issuing_stores_the_file_closes_the_order_and_queues_both_emails_in_one_step() {
    let f = fixture().await;
    for store in &f.stores {
        seed(store).await;
        let g = import_one(store).await;
        let o = order(store, g.id, OrderKind::Collection, "").await.unwrap();
        assert_eq!(o.version, 1);
        let term: Term = "110-1".parse().unwrap();
        assert!(store.issuable_orders(term, false, 10).await.unwrap().is_empty(), "unconfirmed: not issuable");
        store.confirm_graduate(g.id, 2, &by("confirm_record")).await.unwrap();
        assert_eq!(store.issuable_orders(term, false, 10).await.unwrap().len(), 1);
        assert!(store.issuable_orders("114-1".parse().unwrap(), false, 10).await.unwrap().is_empty());
        assert_eq!(store.issuable_orders("114-1".parse().unwrap(), true, 10).await.unwrap().len(), 1);

        let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
        let cert = store.store_issued(&issued(o.id, &bytes, "aa11", None)).await.unwrap().unwrap();
        assert_eq!(store.certificate_file(cert.id).await.unwrap(), bytes, "the exact bytes come back");
        assert_eq!(cert.delivery.pending, 2);
        assert!(store.issuable_orders(term, false, 10).await.unwrap().is_empty());
        // A second worker that rendered the same order stores nothing.
        assert!(store.store_issued(&issued(o.id, b"other", "bb22", None)).await.unwrap().is_none());
        assert_eq!(store.certificates_for_graduate(g.id).await.unwrap().len(), 1);
        assert_eq!(store.due_emails(2_000_000_000, 10).await.unwrap().len(), 2);
        assert_eq!(store.due_registry_submissions(2_000_000_000, 10).await.unwrap().len(), 1);
        let filter = AuditFilter { action: Some("issue_certificate".into()), ..Default::default() };
        assert_eq!(store.audit_log(&filter).await.unwrap().len(), 1);
    }
    f.finish().await;
}

#[tokio::test]
async fn a_change_and_its_audit_entry_are_written_together_or_not_at_all() {
    let f = fixture().await;
    for store in &f.stores {
        seed(store).await;
        let rows = [row("C110000001", "113-2", "張三")];
        let audit = |s: &ImportSummary| AuditEntry { detail: s.to_string(), ..by("import_graduates") };
        store.import_graduates(&rows, 1, audit).await.unwrap();
        let g = store.graduate_terms("C110000001").await.unwrap().remove(0);
        store.confirm_graduate(g.id, 2, &by("confirm_record")).await.unwrap();
        store.confirm_graduate(g.id, 3, &by("confirm_record")).await.unwrap();
        let o = order(store, g.id, OrderKind::Collection, "").await.unwrap();
        assert!(order(store, g.id, OrderKind::Collection, "").await.is_err(), "recorded twice");
        let id = store
            .add_correction(g.id, "生日有誤", 3, |id| AuditEntry {
                target: format!("correction:{id}"),
                ..by("request_correction")
            })
            .await
            .unwrap();
        assert!(store.confirm_graduate(g.id + 100, 4, &by("confirm_record")).await.is_err(), "no such graduate");

        let log = store.audit_log(&AuditFilter::default()).await.unwrap();
        let entries: Vec<(&str, &str)> = log.iter().map(|e| (e.action.as_str(), e.target.as_str())).rev().collect();
        let (order_target, correction_target) = (format!("order:{}", o.id), format!("correction:{id}"));
        assert_eq!(
            entries,
            [
                ("import_graduates", "-"),
                ("confirm_record", "-"),
                ("record_diploma", order_target.as_str()),
                ("request_correction", correction_target.as_str())
            ],
            "one entry per change made, none for a change refused or a confirmation made already"
        );
        assert_eq!(log.last().unwrap().detail, "inserted 1 updated 0 unchanged 0");
    }
    f.finish().await;
}

#[tokio::test]
async fn a_file_rendered_before_an_import_changed_the_record_waits_for_the_graduate_to_confirm_again() {
    let f = fixture().await;
    for store in &f.stores {
        seed(store).await;
        let g = confirmed_one(store).await;
        let o = order(store, g.id, OrderKind::Collection, "").await.unwrap();
        assert_eq!(store.issuable("110-1".parse().unwrap(), false, 10).await.unwrap().len(), 1);
        // While the file is rendered, the registrar imports a corrected record.
        let mut corrected = row("C110123456", "113-2", "王小明");
        corrected.record.name_en = "WANG, HSIAO-MIN".into();
        store.import_graduates(&[corrected], 3, |_| by("import_graduates")).await.unwrap();
        assert!(store.store_issued(&issued(o.id, b"old data", "aa", None)).await.unwrap().is_none());
        assert!(store.certificates_for_graduate(g.id).await.unwrap().is_empty(), "nothing stored");
        assert!(store.issuable("110-1".parse().unwrap(), false, 10).await.unwrap().is_empty(), "until confirmed");
        store.confirm_graduate(g.id, 4, &by("confirm_record")).await.unwrap();
        assert_eq!(store.issuable_orders("110-1".parse().unwrap(), false, 10).await.unwrap()[0].id, o.id);
        assert!(store.store_issued(&issued(o.id, b"new data", "bb", None)).await.unwrap().is_some());
    }
    f.finish().await;
}

#[tokio::test]
async fn a_batch_stores_every_file_in_one_step_or_none_of_them() {
    let f = fixture().await;
    for store in &f.stores {
        seed(store).await;
        let numbers = ["C110000001", "C110000002", "C110000003"];
        let rows: Vec<RosterRow> = numbers.iter().map(|n| row(n, "113-2", "張三")).collect();
        store.import_graduates(&rows, 1, |_| by("import_graduates")).await.unwrap();
        let mut orders = Vec::new();
        for number in numbers {
            let g = store.graduate_terms(number).await.unwrap().remove(0);
            store.confirm_graduate(g.id, 2, &by("confirm_record")).await.unwrap();
            orders.push(order(store, g.id, OrderKind::Collection, "").await.unwrap());
        }
        let issuable = store.issuable("110-1".parse().unwrap(), false, 10).await.unwrap();
        let graduates: Vec<&str> = issuable.iter().map(|(_, g)| g.record.student_number.as_str()).collect();
        assert_eq!(graduates, numbers, "each order comes with its graduate");
        let (first, second, third) = (orders[0].id, orders[1].id, orders[2].id);
        store.store_issued(&issued(second, b"2", "22", None)).await.unwrap().unwrap();

        // A file that cannot be stored (its hash is taken) takes the whole batch back.
        let refused =
            store.store_issued_batch(&[issued(first, b"1", "11", None), issued(third, b"3", "22", None)]).await;
        assert!(refused.is_err());
        assert_eq!(store.issuable_orders("110-1".parse().unwrap(), false, 10).await.unwrap().len(), 2);

        // An order fulfilled already is answered None; the others are stored; answers in order.
        let batch =
            [issued(third, b"3", "33", None), issued(second, b"x", "xx", None), issued(first, b"1", "11", None)];
        let answers = store.store_issued_batch(&batch).await.unwrap();
        let stored: Vec<bool> = answers.iter().map(Option::is_some).collect();
        assert_eq!(stored, [true, false, true]);
        assert_eq!(answers[0].as_ref().unwrap().sha256, "33");
        assert!(store.issuable_orders("110-1".parse().unwrap(), false, 10).await.unwrap().is_empty());
        assert_eq!(store.due_registry_submissions(2_000_000_000, 10).await.unwrap().len(), 3);
    }
    f.finish().await;
}

#[tokio::test]
async fn a_reissue_supersedes_the_previous_version_and_a_first_order_cannot_be_recorded_twice() {
    let f = fixture().await;
    for store in &f.stores {
        seed(store).await;
        let g = confirmed_one(store).await;
        assert!(matches!(order(store, g.id, OrderKind::Reissue, "lost").await, Err(StoreError::Conflict(_))));
        let first = order(store, g.id, OrderKind::Collection, "").await.unwrap();
        assert!(matches!(order(store, g.id, OrderKind::Collection, "").await, Err(StoreError::Conflict(_))));
        let v1 = store.store_issued(&issued(first.id, b"v1", "11", None)).await.unwrap().unwrap();
        let second = order(store, g.id, OrderKind::Reissue, "name change").await.unwrap();
        assert_eq!(second.version, 2);
        assert!(matches!(order(store, g.id, OrderKind::Reissue, "again").await, Err(StoreError::Conflict(_))));
        store.store_issued(&issued(second.id, b"v2", "22", Some("11"))).await.unwrap().unwrap();
        let certs = store.certificates_for_graduate(g.id).await.unwrap();
        assert_eq!(certs.len(), 2);
        let old = certs.iter().find(|c| c.id == v1.id).unwrap();
        assert_eq!(old.status, CertificateStatus::Superseded);
        assert_eq!(old.status_reason.as_deref(), Some("name change"));
        let latest = store.latest_certificate(g.id, Language::Zh).await.unwrap().unwrap();
        assert_eq!((latest.version, latest.status), (2, CertificateStatus::Current));
        assert_eq!(latest.previous_sha256.as_deref(), Some("11"));
        // The superseded version's unsent emails were withdrawn, and a resend of it queues none.
        let withdrawn = store.emails(Some(v1.id), 10).await.unwrap();
        assert!(!withdrawn.is_empty() && withdrawn.iter().all(|m| m.status == "cancelled"), "{withdrawn:?}");
        let resend = store.queue_emails(Some(v1.id), &issued(0, b"", "", None).emails, 3, &by("resend")).await;
        assert!(matches!(resend, Err(StoreError::Conflict(_))), "{resend:?}");
        assert_eq!(store.emails(Some(v1.id), 10).await.unwrap().len(), withdrawn.len());
    }
    f.finish().await;
}

#[tokio::test]
async fn revocation_is_recorded_once_with_its_reason() {
    let f = fixture().await;
    for store in &f.stores {
        seed(store).await;
        let g = confirmed_one(store).await;
        let o = order(store, g.id, OrderKind::Collection, "").await.unwrap();
        let c = store.store_issued(&issued(o.id, b"v1", "11", None)).await.unwrap().unwrap();
        let reissue = order(store, g.id, OrderKind::Reissue, "lost").await.unwrap();
        store.revoke_certificate(c.id, "degree rescinded", "{}", 9, &by("revoke")).await.unwrap();
        assert!(matches!(
            store.revoke_certificate(c.id, "again", "{}", 10, &by("revoke")).await,
            Err(StoreError::Conflict(_))
        ));
        // The audit entry is written with the change it records, or not at all.
        let revocations = AuditFilter { action: Some("revoke".into()), limit: 10, ..Default::default() };
        assert_eq!(store.audit_log(&revocations).await.unwrap().len(), 1, "the refused revocation left no entry");
        let c = store.certificate(c.id).await.unwrap().unwrap();
        assert_eq!(c.status, CertificateStatus::Revoked);
        assert_eq!(store.registry_backlog().await.unwrap(), 2);
        // The revocation covers the language: the waiting reissue is cancelled, the unsent emails
        // withdrawn, and no new order is accepted.
        assert!(store.order(reissue.id).await.unwrap().unwrap().cancelled_at.is_some());
        assert!(store.store_issued(&issued(reissue.id, b"v2", "22", Some("11"))).await.unwrap().is_none());
        assert!(store.issuable_orders("100-1".parse().unwrap(), true, 10).await.unwrap().is_empty());
        assert!(store.due_emails(2_000_000_000, 10).await.unwrap().is_empty(), "nothing left to send");
        assert_eq!(c.delivery.pending, 0);
        assert!(matches!(order(store, g.id, OrderKind::Reissue, "x").await, Err(StoreError::Conflict(_))));
    }
    f.finish().await;
}

#[tokio::test]
async fn an_email_is_marked_sent_once_and_failures_are_logged_with_their_retries() {
    let f = fixture().await;
    for store in &f.stores {
        seed(store).await;
        let email = NewEmail {
            kind: "confirm_address".into(),
            to: "x@example.org".into(),
            subject: "s".into(),
            body: "b".into(),
        };
        store.queue_emails(None, std::slice::from_ref(&email), 10, &by("request_address_change")).await.unwrap();
        let m = store.due_emails(10, 10).await.unwrap().remove(0);
        store.email_attempt_failed(m.id, "connection refused", Some(70), 11).await.unwrap();
        assert!(store.due_emails(69, 10).await.unwrap().is_empty(), "waits for its retry time");
        assert_eq!(store.due_emails(70, 10).await.unwrap().len(), 1);
        assert!(store.email_sent(m.id, "250 OK", 71).await.unwrap());
        assert!(!store.email_sent(m.id, "250 OK", 72).await.unwrap(), "never marked sent twice");
        let log: Vec<String> = store.delivery_log(m.id).await.unwrap().into_iter().map(|e| e.event).collect();
        assert_eq!(log, ["queued", "retry", "sent"]);
        let m = store.email(m.id).await.unwrap().unwrap();
        assert_eq!((m.status.as_str(), m.attempts), ("sent", 2));
    }
    f.finish().await;
}

#[tokio::test]
async fn the_outbox_lists_its_addresses_newest_first_and_each_ones_emails() {
    let f = fixture().await;
    for store in &f.stores {
        seed(store).await;
        let email = |to: &str, subject: &str| NewEmail {
            kind: "confirm_address".into(),
            to: to.into(),
            subject: subject.into(),
            body: "b".into(),
        };
        let queue = |emails: Vec<NewEmail>, at| async move {
            store.queue_emails(None, &emails, at, &by("request_address_change")).await.unwrap()
        };
        queue(vec![email("a@example.org", "1"), email("b@example.org", "2")], 10).await;
        queue(vec![email("a@example.org", "3")], 30).await;
        queue(vec![email("c@example.org", "4")], 20).await;
        let failed = store.emails_to("b@example.org", 10).await.unwrap().remove(0);
        store.email_attempt_failed(failed.id, "550 no such user", None, 40).await.unwrap();
        let recipients: Vec<(String, i64, i64)> = store
            .email_recipients(10)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.address, r.messages, r.latest_at))
            .collect();
        let expected = [("a@example.org", 2, 30), ("c@example.org", 1, 20), ("b@example.org", 1, 10)];
        assert_eq!(recipients, expected.map(|(a, n, at)| (a.to_owned(), n, at)), "sent or not, newest first");
        assert_eq!(store.email_recipients(1).await.unwrap().len(), 1);
        let to_a: Vec<String> =
            store.emails_to("a@example.org", 10).await.unwrap().into_iter().map(|m| m.subject).collect();
        assert_eq!(to_a, ["3", "1"], "newest first");
        assert_eq!(store.emails_to("b@example.org", 10).await.unwrap()[0].status, "failed");
        assert!(store.emails_to("A@example.org", 10).await.unwrap().is_empty(), "the address as queued");
    }
    f.finish().await;
}

#[tokio::test]
async fn the_audit_log_and_registry_records_refuse_updates_and_deletes() {
    let entry = AuditEntry {
        at: 1,
        actor: "admin".into(),
        role: "admin".into(),
        action: "set_policy".into(),
        target: "policy".into(),
        detail: "alumni open".into(),
        ip: "127.0.0.1".into(),
    };
    let f = fixture().await;
    for (i, store) in f.stores.iter().enumerate() {
        store.audit(&entry).await.unwrap();
        assert!(f.raw(i, "UPDATE audit_log SET actor = 'someone else'").await.is_err());
        assert!(f.raw(i, "DELETE FROM audit_log").await.is_err());
        assert_eq!(store.audit_log(&AuditFilter::default()).await.unwrap(), vec![entry.clone()]);
    }
    f.finish().await;

    let record = RegistryRecord::issued_degree("nkust", "ab", "N-1", 5);
    let f = ministry_fixture().await;
    for (i, store) in f.stores.iter().enumerate() {
        store.audit(&entry).await.unwrap();
        assert!(f.raw(i, "DELETE FROM audit_log").await.is_err(), "the Ministry's audit log too");
        assert!(store.append_registry_record(&record).await.unwrap());
        assert!(!store.append_registry_record(&record).await.unwrap(), "idempotent");
        assert!(f.raw(i, "UPDATE registry_records SET event = 'revoked'").await.is_err());
        assert!(f.raw(i, "UPDATE registry_records SET at = 6").await.is_err());
        assert!(f.raw(i, "DELETE FROM registry_records").await.is_err());
        assert_eq!(store.registry_records("ab").await.unwrap(), vec![record.clone()]);
        assert_eq!(
            store.registry_log(0, 10).await.unwrap().into_iter().map(|(_, r)| r).collect::<Vec<_>>(),
            vec![record.clone()]
        );
    }
    f.finish().await;
}

#[tokio::test]
async fn an_address_change_takes_effect_only_through_its_newest_link() {
    let f = fixture().await;
    for store in &f.stores {
        seed(store).await;
        let g = import_one(store).await;
        let link = |to: &str| NewEmail { kind: "address".into(), to: to.into(), subject: "s".into(), body: "b".into() };
        let asked = by("request_address_change");
        let first = ("old-link@example.org", link("old-link@example.org"));
        store.start_email_change((g.id, first.0), "hash1", &first.1, 100, &asked).await.unwrap();
        let second = ("new@example.org", link("new@example.org"));
        store.start_email_change((g.id, second.0), "hash2", &second.1, 110, &asked).await.unwrap();
        assert_eq!(store.due_emails(2_000_000_000, 10).await.unwrap().len(), 2, "each link queued with its change");
        assert_eq!(store.pending_email_change(g.id).await.unwrap().as_deref(), Some("new@example.org"));
        assert_eq!(
            store.graduate(g.id).await.unwrap().unwrap().permanent_email.as_deref(),
            Some("graduate@example.org")
        );
        assert_eq!(
            store.confirm_email_change("hash1", (120, 3600), |_| by("confirm_address")).await.unwrap(),
            None,
            "superseded link"
        );
        assert_eq!(
            store.confirm_email_change("hash2", (100_000, 3600), |_| by("confirm_address")).await.unwrap(),
            None,
            "expired link"
        );
        let done = store.confirm_email_change("hash2", (200, 3600), |_| by("confirm_address")).await.unwrap();
        assert_eq!(done, Some((g.id, "new@example.org".to_string())));
        assert_eq!(store.graduate(g.id).await.unwrap().unwrap().permanent_email.as_deref(), Some("new@example.org"));
        assert_eq!(
            store.confirm_email_change("hash2", (201, 3600), |_| by("confirm_address")).await.unwrap(),
            None,
            "used once"
        );
        let filter = AuditFilter { action: Some("confirm_address".into()), ..Default::default() };
        assert_eq!(store.audit_log(&filter).await.unwrap().len(), 1, "audited once, with the change");
    }
    f.finish().await;
}

#[tokio::test]
async fn staff_sessions_calendar_and_dashboard_round_trip() {
    let f = fixture().await;
    for store in &f.stores {
        seed(store).await;
        let office = Role::University(UniversityRole::CampusOffice);
        let account = |username, role, campus| NewAccount {
            username,
            display_name: "第一校區",
            password_hash: "$argon2id$x",
            role,
            campus,
            at: 1,
        };
        let id = store.create_staff(&account("first-office", office, Some("first")), &by("add_staff")).await.unwrap();
        let registrar = Role::University(UniversityRole::Registrar);
        let taken = store.create_staff(&account("first-office", registrar, None), &by("add_staff")).await;
        assert!(taken.is_err(), "a username is taken once");
        assert!(store.create_staff(&account("nocampus", office, None), &by("add_staff")).await.is_err());
        let filter = AuditFilter { action: Some("add_staff".into()), ..Default::default() };
        assert_eq!(store.audit_log(&filter).await.unwrap().len(), 1, "audited with the one account added");
        let s = store.staff_by_username("first-office").await.unwrap().unwrap();
        assert_eq!(
            (s.id, s.role, s.campus.as_deref()),
            (id, Role::University(UniversityRole::CampusOffice), Some("first"))
        );

        let session = Session { kind: "staff".into(), subject: id.to_string(), csrf: "c".into(), expires_at: 50 };
        store.create_session("tok", &session, 1).await.unwrap();
        assert_eq!(store.session("tok", 10).await.unwrap(), Some(session));
        assert_eq!(store.session("tok", 50).await.unwrap(), None, "expired");
        store.delete_session("tok", 10).await.unwrap();
        assert_eq!(store.session("tok", 10).await.unwrap(), None);

        let days = vec![
            DayOverride { date: day("2025-02-08"), workday: true, note: "補班".into() },
            DayOverride { date: day("2025-01-27"), workday: false, note: "彈性放假".into() },
        ];
        store.upsert_calendar(&days, &by("calendar_import")).await.unwrap();
        assert_eq!(store.calendar().await.unwrap().len(), 2);
        assert!(store.delete_calendar_day(day("2025-02-08"), &by("calendar_delete")).await.unwrap());
        assert_eq!(store.calendar().await.unwrap()[0].note, "彈性放假");

        let g = import_one(store).await;
        order(store, g.id, OrderKind::Collection, "").await.unwrap();
        let board = store.dashboard(day("2025-07-09")).await.unwrap();
        let jiangong = board.iter().find(|c| c.campus == "jiangong").unwrap();
        assert_eq!((jiangong.unconfirmed, jiangong.due, jiangong.overdue), (1, 0, 0), "waiting for the graduate");
        store.confirm_graduate(g.id, 2, &by("confirm_record")).await.unwrap();
        let board = store.dashboard(day("2025-07-09")).await.unwrap();
        let jiangong = board.iter().find(|c| c.campus == "jiangong").unwrap();
        assert_eq!((jiangong.unconfirmed, jiangong.due, jiangong.overdue), (0, 0, 1));
        let board = store.dashboard(day("2025-07-02")).await.unwrap();
        assert_eq!(board.iter().find(|c| c.campus == "jiangong").unwrap().overdue, 0);
        assert_eq!(board.iter().find(|c| c.campus == "jiangong").unwrap().due, 1);

        store.set_settings(&[("policy.first_term", "110-1")], &by("set_policy")).await.unwrap();
        store.set_settings(&[("policy.first_term", "111-1")], &by("set_policy")).await.unwrap();
        assert_eq!(store.setting("policy.first_term").await.unwrap().as_deref(), Some("111-1"));
    }
    f.finish().await;
}

#[tokio::test]
async fn opening_a_store_twice_runs_the_migrations_once() {
    let dir = TempDir::new("store");
    let url = format!("sqlite://{}", dir.join("db.sqlite").display());
    UniversityStore::open(&url).await.unwrap().close().await;
    let again = UniversityStore::open(&url).await.unwrap();
    again.set_settings(&[("k", "v")], &by("set_policy")).await.unwrap();
    again.close().await;
    drop(dir);
    assert!(matches!(UniversityStore::open("mysql://x").await, Err(StoreError::UnsupportedUrl)));
}

#[tokio::test]
async fn each_party_migrates_only_its_own_tables_and_a_newer_schema_is_refused() {
    let university = fixture().await;
    let ministry = ministry_fixture().await;
    for i in 0..2 {
        for shared in ["staff", "sessions", "audit_log"] {
            assert!(university.has_table(i, shared).await && ministry.has_table(i, shared).await);
        }
        for own in ["graduates", "certificates", "outbox", "registry_outbox"] {
            assert!(university.has_table(i, own).await, "{own}");
            assert!(!ministry.has_table(i, own).await, "the Ministry has no {own}");
        }
        for own in ["registry_records", "institutions", "trust_lists", "verifications"] {
            assert!(ministry.has_table(i, own).await, "{own}");
            assert!(!university.has_table(i, own).await, "a university has no {own}");
        }
        // A release newer than this one migrated the university's part further: refused, untouched.
        university
            .raw(i, "INSERT INTO schema_parts (part, version, name) VALUES ('university', 99, 'future')")
            .await
            .unwrap();
        let refused = UniversityStore::open(&university.urls[i]).await;
        assert!(matches!(refused, Err(StoreError::SchemaTooNew { found: 99, .. })), "{refused:?}");
        // The Ministry's part of the same database is still its own business.
        ministry
            .raw(i, "INSERT INTO schema_parts (part, version, name) VALUES ('university', 99, 'future')")
            .await
            .unwrap();
        assert!(MinistryStore::open(&ministry.urls[i]).await.is_ok(), "a part it does not hold");
    }
    university.finish().await;
    ministry.finish().await;
}

#[tokio::test]
async fn a_database_of_the_earlier_release_is_adopted_with_everything_it_holds() {
    // The earlier release kept one history for every part, in schema_migrations: a database at
    // its version 5 holds every table; opening it records that, and applies what came since.
    let f = fixture().await;
    for i in 0..2 {
        f.raw(i, "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)")
            .await
            .unwrap();
        for v in 1..=5 {
            f.raw(i, &format!("INSERT INTO schema_migrations (version, name, applied_at) VALUES ({v}, 'v{v}', 0)"))
                .await
                .unwrap();
        }
        f.raw(i, "DELETE FROM schema_parts").await.unwrap();
        let store = UniversityStore::open(&f.urls[i]).await.unwrap();
        store.set_settings(&[("adopted", "yes")], &by("set_policy")).await.unwrap();
        assert_eq!(
            f.raw(i, "UPDATE schema_parts SET name = name WHERE part = 'ministry' AND version = 5").await.unwrap(),
            1
        );
        store.close().await;
    }
    f.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_storing_the_same_order_at_once_store_one_file() {
    let f = fixture().await;
    for store in &f.stores {
        seed(store).await;
        let g = confirmed_one(store).await;
        let o = order(store, g.id, OrderKind::Collection, "").await.unwrap();
        let (a, b) = (store.clone(), store.clone());
        let (ra, rb) = tokio::join!(
            tokio::spawn(async move { a.store_issued(&issued(o.id, b"first", "aa", None)).await }),
            tokio::spawn(async move { b.store_issued(&issued(o.id, b"second", "bb", None)).await }),
        );
        let stored = [ra.unwrap().unwrap(), rb.unwrap().unwrap()].into_iter().flatten().count();
        assert_eq!(stored, 1, "{:?}", store.backend());
        assert_eq!(store.certificates_for_graduate(g.id).await.unwrap().len(), 1);
        assert_eq!(store.due_emails(2_000_000_000, 10).await.unwrap().len(), 2, "the winner's emails only");
    }
    f.finish().await;
}
