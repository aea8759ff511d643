//! `dcert serve` as an operator runs it: keys from the CLI, a configuration file with an
//! environment override, accounts and graduates added by commands while it runs, both sites up.

use std::path::Path;
use std::time::{Duration, Instant};

use dcert_core::model::Language;
use dcert_store::{GraduateFilter, MinistryStore, NewOrder, OrderKind, UniversityStore};
use std::process::Output;

use dcert_testkit::free_port;

use crate::process::{Dir, Server, add_staff, http, serve};

/// Runs `dcert`, which must succeed.
fn dcert(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let out = crate::process::dcert(dir, args, stdin);
    assert!(
        out.status.success(),
        "dcert {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A GET of `path` on `port`: the status code and the body.
fn get(port: u16, path: &str) -> (u16, String) {
    let (status, _, body) = http(port, "GET", path, &[], b"");
    (status, String::from_utf8(body).unwrap())
}

/// The columns of the test rosters.
const ROSTER_HEAD: &str = "student_number,term,campus,name_zh,name_en,birth_date,college_zh,college_en,department_zh,\
                           department_en,degree_level,degree_zh,degree_en,graduation_date,diploma_number\n";

/// A roster line of student `number`.
fn roster_line(number: &str, diploma: &str) -> String {
    format!(
        "{number},113-2,建工,王小明,\"WANG, HSIAO-MING\",2002-03-14,電資學院,College of EECS,電子工程系,\
         Department of Electronic Engineering,bachelor,工學學士,Bachelor of Science in Engineering,2025-06-30,{diploma}\n"
    )
}

/// A directory set up as an operator would: a root, the university's keys, the trust list and
/// `dcert.toml` from the example (data beside it, the Ministry's test bed on a free port). The
/// university's port is free too, for `DCERT_SERVER__LISTEN`.
fn operator_dir(name: &str) -> (Dir, u16, u16) {
    let dir = Dir::new(name);
    let d = &dir.0;
    dcert(d, &["keys", "init-root", "--registry", "http://localhost:8081", "--out", "moe"], "");
    dcert(
        d,
        &[
            "keys",
            "new-issuer",
            "--root",
            "moe",
            "--id",
            "nkust",
            "--name-zh",
            "國立高雄科技大學",
            "--name-en",
            "National Kaohsiung University of Science and Technology",
            "--out",
            "nkust",
        ],
        "",
    );
    dcert(d, &["trust", "export", "--root", "moe", "--issuer", "nkust", "--out", "trust.json"], "");
    let (university, ministry) = (free_port(), free_port());
    let example = include_str!("../../../../examples/dcert.toml")
        .replace("dcert-data/keys/", "")
        .replace("dcert-data/", "")
        .replace("127.0.0.1:8081", &format!("127.0.0.1:{ministry}"));
    std::fs::write(d.join("dcert.toml"), example).unwrap();
    (dir, university, ministry)
}

/// `dcert serve --config dcert.toml` in `dir`, the university on `port`, the worker every second.
fn serve_config(dir: &Path, port: u16) -> Server {
    let env = [("DCERT_SERVER__LISTEN", format!("127.0.0.1:{port}")), ("DCERT_WORKER__INTERVAL_SECONDS", "1".into())];
    serve(dir, &["serve", "--config", "dcert.toml"], &env, port)
}

#[test]
fn serve_runs_both_sites_from_a_configuration_file_with_environment_overrides() {
    let (dir, university, ministry) = operator_dir("serve");
    let d = &dir.0;
    // The file says 8080; the environment moves the university to a free port.
    let _server = serve_config(d, university);
    let (status, body) = get(ministry, "/healthz");
    assert!(status == 200 && body == "ok\n", "{status} {body}");
    let (status, trust) = get(ministry, "/trust.json");
    assert_eq!(status, 200);
    assert_eq!(trust.as_bytes(), std::fs::read(d.join("trust.json")).unwrap(), "the trust list as exported");

    // Operators add accounts and graduates while it runs.
    let out = add_staff(d, &["staff", "add", "--config", "dcert.toml"], "registrar", "註冊組", "registrar");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(d.join("class.csv"), format!("{ROSTER_HEAD}{}", roster_line("C110152301", "D1"))).unwrap();
    let out = dcert(d, &["import", "graduates", "--config", "dcert.toml", "--campus", "建工", "class.csv"], "");
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 new"));
    dcert(
        d,
        &["graduates", "set-password", "--config", "dcert.toml"],
        "student_number,password\nC110152301,graduate-password\n",
    );
    let (status, page) = get(university, "/contact");
    assert_eq!(status, 200);
    assert!(page.contains("建工校區") && page.contains("51103"), "the campuses of the configuration");
    assert!(page.contains("教務處註冊組分機：31113"), "the registrar's extension, as the guide gives it");
    let (status, _) = get(university, "/console");
    assert_eq!(status, 303, "the console asks for a login");
    assert_eq!(get(university, "/demo/mail").0, 404, "a real site has no demonstration mailbox");
}

/// An audit entry of `action` by the test, as an operator's command would write it.
fn system(action: &str) -> dcert_store::AuditEntry {
    dcert_store::AuditEntry::local(1, "test", "operator", action, "-", "")
}

/// Graduates in the class: enough that the kill lands while files are still being rendered.
const CLASS: usize = 150;

/// Certificates stored for `graduates`: how many in all, and the most for one graduate.
async fn stored(store: &UniversityStore, graduates: &[i64]) -> (usize, usize) {
    let (mut total, mut most) = (0, 0);
    for id in graduates {
        let n = store.certificates_for_graduate(*id).await.unwrap().len();
        total += n;
        most = most.max(n);
    }
    (total, most)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_killed_mid_batch_and_started_again_issues_each_file_exactly_once() {
    let (dir, university, ministry) = operator_dir("crash");
    let d = &dir.0;
    let roster: String = (0..CLASS).map(|i| roster_line(&format!("C1101523{i:02}"), &format!("D{i}"))).collect();
    std::fs::write(d.join("class.csv"), format!("{ROSTER_HEAD}{roster}")).unwrap();
    dcert(d, &["import", "graduates", "--config", "dcert.toml", "--campus", "建工", "class.csv"], "");

    // Every graduate has confirmed and collected the paper diploma: a class of due orders.
    let store = UniversityStore::open(&format!("sqlite://{}", d.join("university.db").display())).await.unwrap();
    let now = dcert_web::http::now();
    let mut graduates = Vec::new();
    for g in store.list_graduates(&GraduateFilter { limit: 1000, ..Default::default() }).await.unwrap() {
        store.confirm_graduate(g.id, now.unix(), &system("confirm_record")).await.unwrap();
        let order = NewOrder {
            graduate_id: g.id,
            language: Language::Zh,
            kind: OrderKind::Collection,
            reason: "",
            requested_on: now.taiwan_date(),
            due_on: now.taiwan_date(),
            actor: "registrar",
            at: now.unix(),
        };
        store.create_order(&order, |_| system("record_diploma")).await.unwrap();
        graduates.push(g.id);
    }
    assert_eq!(graduates.len(), CLASS);

    // SIGKILL as soon as a few files are stored: no shutdown, nothing cleaned up.
    let mut server = serve_config(d, university);
    let start = Instant::now();
    while stored(&store, &graduates).await.0 < 3 {
        assert!(server.0.try_wait().unwrap().is_none(), "dcert serve stopped by itself");
        assert!(start.elapsed() < Duration::from_secs(240), "no file was issued");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    let (at_kill, most) = stored(&store, &graduates).await;
    assert!(at_kill < CLASS, "killed mid-batch: {at_kill} of {CLASS} stored");
    eprintln!("killed with {at_kill} of {CLASS} files stored");
    assert_eq!(most, 1);

    // Started again, it issues the rest and nothing twice: one file, one set of emails and one
    // registry record per graduate.
    let _server = serve_config(d, university);
    let start = Instant::now();
    loop {
        let backlog = store.registry_backlog().await.unwrap();
        if stored(&store, &graduates).await.0 == CLASS && backlog == 0 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(600), "the rest was not issued and registered");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(stored(&store, &graduates).await, (CLASS, 1), "one file per graduate");
    for id in &graduates {
        assert!(store.orders_for_graduate(*id).await.unwrap().iter().all(|o| o.certificate_id.is_some()));
        let certificate = &store.certificates_for_graduate(*id).await.unwrap()[0];
        let d = &certificate.delivery;
        assert_eq!(d.pending + d.sent + d.failed, 1, "one email to the school address, not two");
    }
    let (_, _, body) = http(ministry, "GET", "/healthz", &[], b"");
    assert_eq!(body, b"ok\n");
    let registry = MinistryStore::open(&format!("sqlite://{}", d.join("ministry.db").display())).await.unwrap();
    let records = registry.registry_log(0, 10 * CLASS as i64).await.unwrap();
    assert_eq!(records.len(), CLASS, "one registry record per file");
}
