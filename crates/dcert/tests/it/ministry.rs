//! The Ministry's side as people meet it: the served demo answers each sample through the JSON
//! API, the verification pages and `dcert verify --registry`; `dcert ministry serve` runs the
//! site alone from the published trust list.

use std::io::{Read, Write};

use dcert_testkit::Multipart;
use serde_json::Value;

use crate::process::{Dir, Server, add_staff, dcert, dcert_without_network, demo_dir, http, serve};

/// Two free ports in a row (the demo serves on N and N+1).
pub(crate) fn free_pair() -> u16 {
    loop {
        let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = a.local_addr().unwrap().port();
        if port < u16::MAX && std::net::TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

/// `dcert ministry serve --config ministry.toml` in `d`: the site on `port`, the console on the
/// next port; answering once this returns.
pub(crate) fn ministry_serve(d: &std::path::Path, port: u16) -> Server {
    let listen = [
        ("DCERT_SERVER__LISTEN", format!("127.0.0.1:{port}")),
        ("DCERT_SERVER__CONSOLE_LISTEN", format!("127.0.0.1:{}", port + 1)),
    ];
    serve(d, &["ministry", "serve", "--config", "ministry.toml"], &listen, port)
}

/// `ministry.toml` for the demo's Ministry in `d/demo`, signing its status answers.
fn write_ministry_config(d: &std::path::Path) {
    let config = include_str!("../../../../examples/ministry.toml")
        .replace("moe-data/ministry.db", "demo/ministry.db")
        .replace("moe-data/keys/moe-root/", "demo/keys/moe-root/")
        .replace("list = \"moe-data/trust.json\"", "list = \"demo/trust.json\"")
        .replace("# status_key = ", "status_key = ");
    std::fs::write(d.join("ministry.toml"), config).unwrap();
}

/// The report the API gives for `file`.
pub(crate) fn api(port: u16, file: &[u8]) -> Value {
    let (status, _, body) = http(port, "POST", "/api/v1/verify", &[("Content-Type", "application/pdf".into())], file);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

/// The CSRF token the site gives a new visitor, as its cookie.
fn csrf_cookie(port: u16) -> String {
    let (_, headers, _) = http(port, "GET", "/", &[], b"");
    headers
        .iter()
        .find_map(|(k, v)| (k == "set-cookie").then(|| v.strip_prefix("csrf=")).flatten())
        .and_then(|v| v.split(';').next())
        .expect("a CSRF cookie")
        .to_owned()
}

/// The result page for `file`, posted as the page's form with the visitor's CSRF token.
fn page(port: u16, file: &[u8]) -> String {
    let csrf = csrf_cookie(port);
    let form = Multipart::new().field("csrf", csrf.as_bytes()).file("file", "c.pdf", "application/pdf", file);
    let (content_type, body) = form.finish();
    let headers = [("Content-Type", content_type), ("Cookie", format!("csrf={csrf}"))];
    let (status, _, body) = http(port, "POST", "/verify", &headers, &body);
    assert_eq!(status, 200);
    String::from_utf8(body).unwrap()
}

pub(crate) fn outcome(report: &Value) -> (&str, Option<&str>) {
    (report["outcome"].as_str().unwrap(), report["reason"].as_str())
}

#[test]
fn the_served_demo_answers_each_sample_through_the_api_the_pages_and_verify_registry() {
    let dir = Dir::new("ministry-demo");
    let d = &dir.0;
    let port = free_pair();
    let ministry = port + 1;
    let server = serve(d, &["demo", "--data-dir", "demo", "--port", &port.to_string()], &[], ministry);
    let sample = |name: &str| std::fs::read(d.join("demo/samples").join(name)).unwrap();

    for (name, expected, title) in [
        ("current-zh.pdf", ("success", None), "認證成功"),
        ("current-en.pdf", ("success", None), "認證成功"),
        ("teacher-zh.pdf", ("success", None), "認證成功"),
        ("superseded.pdf", ("warning", Some("superseded")), "認證警告"),
        ("revoked.pdf", ("failure", Some("revoked")), "認證失敗"),
    ] {
        let file = sample(name);
        assert_eq!(outcome(&api(ministry, &file)), expected, "{name} through the API");
        let html = page(ministry, &file);
        assert!(
            html.contains(&format!("<h2 id=\"result-title\" tabindex=\"-1\">{title}</h2>")),
            "{name} through the page"
        );
        if expected.0 != "success" {
            assert!(html.contains("教務處註冊組") && html.contains("31113"), "{name}: whom to ask at the school");
        }
    }
    // Any one byte changed: a failure, and where the signed bytes changed, "modified".
    let original = sample("current-zh.pdf");
    for at in [original.len() / 5, original.len() / 2, original.len() * 4 / 5] {
        let mut changed = original.clone();
        changed[at] ^= 0x20;
        let report = api(ministry, &changed);
        assert_eq!(report["outcome"], "failure", "a byte changed at {at}: {report:#}");
    }
    let mut changed = original.clone();
    changed[original.len() / 2] ^= 0x01;
    assert_eq!(outcome(&api(ministry, &changed)), ("failure", Some("modified")));
    assert!(page(ministry, &changed).contains("檔案在核發後已被修改"));

    // The demo's mailbox, on the university's site: graduate 24's certificate emails carry the
    // very files of the samples.
    let (status, _, inbox) = http(port, "GET", "/demo/mail/inbox?address=graduate24%40example.com", &[], b"");
    let inbox = String::from_utf8(inbox).unwrap();
    assert_eq!(status, 200, "{inbox}");
    assert!(inbox.contains("示範信箱（僅供展示，正式系統不會有此頁面）"), "{inbox}");
    let mut attached = Vec::new();
    for link in inbox.split("href=\"/demo/mail/messages/").skip(1) {
        let id = &link[..link.find('"').unwrap()];
        let (status, _, file) = http(port, "GET", &format!("/demo/mail/messages/{id}/attachment"), &[], b"");
        assert_eq!(status, 200, "message {id}");
        attached.push(file);
    }
    assert_eq!(attached.len(), 2, "the Chinese and the English certificate: {inbox}");
    assert!(attached.contains(&sample("current-zh.pdf")) && attached.contains(&sample("current-en.pdf")));

    // dcert verify --registry: the trust list and the status from the site, the root pinned.
    let trust = std::fs::read(d.join("demo/trust.json")).unwrap();
    let (status, _, served) = http(ministry, "GET", "/trust.json", &[], b"");
    assert_eq!((status, served.as_slice()), (200, trust.as_slice()), "the published list");
    let registry = format!("http://127.0.0.1:{ministry}");
    let fingerprint = String::from_utf8(
        dcert(d, &["verify", "--trust", "demo/trust.json", "demo/samples/current-zh.pdf", "--json"], "").stdout,
    )
    .unwrap();
    let fingerprint: Value = serde_json::from_str(fingerprint.lines().next().unwrap()).unwrap();
    let fingerprint = fingerprint["trustList"]["rootFingerprint"].as_str().unwrap().to_owned();
    for (name, code, reason) in
        [("current-zh.pdf", 0, None), ("superseded.pdf", 3, Some("superseded")), ("revoked.pdf", 1, Some("revoked"))]
    {
        let path = format!("demo/samples/{name}");
        let out =
            dcert(d, &["verify", "--registry", &registry, "--root-fingerprint", &fingerprint, "--json", &path], "");
        assert_eq!(out.status.code(), Some(code), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["reason"].as_str(), reason, "{name}");
        assert!(report["statusAsOf"].is_string(), "the registry answered for {name}");
    }
    let offline = dcert(d, &["verify", "--trust", "demo/trust.json", "--json", "demo/samples/revoked.pdf"], "");
    let report: Value = serde_json::from_slice(&offline.stdout).unwrap();
    let status = report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "registry_status").unwrap().clone();
    assert_eq!(status["result"], "unknown", "offline, a revocation is unknown, never a pass");

    let out = dcert(d, &["verify", "--registry", &registry, "demo/samples/current-zh.pdf"], "");
    assert_eq!(out.status.code(), Some(2), "a registry without a pinned root is refused");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--root-fingerprint"));

    drop(server);
    let out = dcert(
        d,
        &["verify", "--registry", &registry, "--root-fingerprint", &fingerprint, "demo/samples/current-zh.pdf"],
        "",
    );
    assert_eq!(out.status.code(), Some(4), "a registry that does not answer is the network failing, not the input");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn ministry_serve_runs_the_site_alone_from_the_published_trust_list() {
    let dir = demo_dir("ministry-serve");
    let d = &dir.0;
    let port = free_pair();
    let config = include_str!("../../../../examples/ministry.toml")
        .replace("moe-data/ministry.db", "demo/ministry.db")
        .replace("moe-data/keys/moe-root/", "demo/keys/moe-root/")
        .replace("list = \"moe-data/trust.json\"", "list = \"no-such-file.json\"");
    std::fs::write(d.join("ministry.toml"), config).unwrap();
    let staff_add = ["ministry", "staff-add", "--config", "ministry.toml"];
    let out = add_staff(d, &staff_add, "editor", "編輯", "ministry_editor");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = add_staff(d, &staff_add, "x", "x", "registrar");
    assert_eq!(out.status.code(), Some(2), "a university role is refused");

    let _server = ministry_serve(d, port);
    let (_, _, served) = http(port, "GET", "/trust.json", &[], b"");
    assert_eq!(served, std::fs::read(d.join("demo/trust.json")).unwrap(), "the database's latest list, not the file");
    let (_, _, issuers) = http(port, "GET", "/api/v1/issuers", &[], b"");
    let issuers: Value = serde_json::from_slice(&issuers).unwrap();
    let ids: Vec<&str> = issuers["issuers"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["moe", "nkust"]);
    let report = api(port, &std::fs::read(d.join("demo/samples/superseded.pdf")).unwrap());
    assert_eq!(outcome(&report), ("warning", Some("superseded")), "the registry the demo filled");
    // The console answers only on its own, internal address.
    assert_eq!(http(port, "GET", "/console/login", &[], b"").0, 404, "not on the public address");
    let (status, _, login) = http(port + 1, "GET", "/console/login", &[], b"");
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&login).contains("password"));
    assert_eq!(http(port + 1, "POST", "/api/v1/verify", &[], b"%PDF").0, 404, "no public API on the console's");
}

/// A registry in the middle: it serves the genuine trust list, and answers every status query
/// with `status` (a status line and a body).
fn registry_in_the_middle(trust: Vec<u8>, status: (&'static str, String)) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut byte = [0u8; 1];
            while !request.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                request.push(byte[0]);
            }
            let (line, body) = if request.starts_with(b"GET /trust.json") {
                ("200 OK", trust.clone())
            } else {
                (status.0, status.1.clone().into_bytes())
            };
            let head = format!(
                "HTTP/1.1 {line}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&body));
        }
    });
    port
}

#[test]
fn verify_registry_believes_only_status_answers_the_ministry_signed() {
    let dir = demo_dir("registry-mitm");
    let d = &dir.0;
    let trust = std::fs::read(d.join("demo/trust.json")).unwrap();
    let forged_current = serde_json::json!({
        "type": "DcertStatusAnswer", "format": 1, "issuer": "nkust", "status": "current",
        "registeredAt": "2025-07-01T02:00:00Z", "asOf": "2026-01-15T00:00:00Z",
    })
    .to_string();
    let answers = [
        ("a forged \"current\" for a revoked file", ("200 OK", forged_current)),
        (
            "the old, unsigned answer",
            (
                "200 OK",
                r#"{"status":"current","registeredAt":"2025-07-01T02:00:00Z","asOf":"2026-01-15T00:00:00Z"}"#
                    .to_owned(),
            ),
        ),
        ("an error", ("500 Internal Server Error", "{}".to_owned())),
    ];
    for (what, answer) in answers {
        let port = registry_in_the_middle(trust.clone(), answer);
        let registry = format!("http://127.0.0.1:{port}");
        let out = dcert(
            d,
            &["verify", "--state", "demo/verifier.toml", "--registry", &registry, "--json", "demo/samples/revoked.pdf"],
            "",
        );
        assert_eq!(out.status.code(), Some(1), "{what}: {}", String::from_utf8_lossy(&out.stderr));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(outcome(&report), ("failure", Some("status_unknown")), "{what}");
        let status = report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "registry_status").unwrap();
        assert_eq!(status["result"], "unknown", "{what}");
    }
}

/// Runs SQL on the SQLite database `db` as someone with the database file would: the
/// append-only triggers dropped first.
fn tamper(db: &std::path::Path, statements: &[&str]) {
    use sqlx::ConnectOptions as _;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(db);
        let mut conn = options.connect().await.unwrap();
        for sql in ["DROP TRIGGER IF EXISTS log_leaves_no_update", "DROP TRIGGER IF EXISTS log_leaves_no_delete"]
            .iter()
            .chain(statements)
        {
            sqlx::query(sqlx::AssertSqlSafe(*sql)).execute(&mut conn).await.unwrap();
        }
    });
}

#[test]
fn the_log_monitor_lists_records_the_institution_did_not_issue_and_catches_a_rewritten_log() {
    let dir = demo_dir("log-monitor");
    let d = &dir.0;
    let port = free_pair();
    write_ministry_config(d);
    let university = include_str!("../../../../examples/dcert.toml")
        .replace("ministry_listen = \"127.0.0.1:8081\"\n", "")
        .replace("dcert-data/", "demo/")
        .replace("database_url = \"sqlite://demo/ministry.db\"", &format!("url = \"http://127.0.0.1:{port}\""));
    std::fs::write(d.join("dcert.toml"), university).unwrap();
    let monitor = || {
        dcert(
            d,
            &[
                "log",
                "monitor",
                "--config",
                "dcert.toml",
                "--monitor-state",
                "seen.json",
                "--state",
                "demo/verifier.toml",
            ],
            "",
        )
    };
    let text = |out: &std::process::Output| String::from_utf8_lossy(&out.stdout).into_owned();

    let server = ministry_serve(d, port);
    // First: every record read and hashed to the signed root; all of NKUST's are its own.
    let out = monitor();
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out), String::from_utf8_lossy(&out.stderr));
    assert!(
        text(&out).contains("first check") && text(&out).contains("every record in nkust's name"),
        "{}",
        text(&out)
    );
    let seen = std::fs::read_to_string(d.join("seen.json")).unwrap();
    // A verifier remembers the log's checkpoint too.
    let registry = format!("http://127.0.0.1:{port}");
    let verify = || {
        let args = ["verify", "--registry", &registry, "--state", "demo/verifier.toml", "demo/samples/current-zh.pdf"];
        dcert(d, &args, "")
    };
    let out = verify();
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out), String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::read_to_string(d.join("demo/verifier.toml")).unwrap().contains("[log_checkpoints]"));
    // The site's receipt of a verification, kept and checked later.
    let sample = std::fs::read(d.join("demo/samples/current-zh.pdf")).unwrap();
    let receipt = api(port, &sample)["receipt"].clone();
    assert_eq!(receipt["outcome"], "success", "{receipt}");
    std::fs::write(d.join("receipt.json"), serde_json::to_vec(&receipt).unwrap()).unwrap();
    let check_receipt = |file: &str| {
        let args = ["verify-receipt", "--registry", &registry, "--state", "demo/verifier.toml", "--file", file];
        dcert(d, &[&args[..], &["receipt.json"]].concat(), "")
    };
    let out = check_receipt("demo/samples/current-zh.pdf");
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out), String::from_utf8_lossy(&out.stderr));
    assert!(text(&out).contains("signed by the Ministry's status signer") && text(&out).contains("success"));
    let out = check_receipt("demo/samples/revoked.pdf");
    assert_eq!(out.status.code(), Some(1), "another file: {}", text(&out));
    // Its PDF form, as the result page's button asks for it, checks the same way.
    let csrf = csrf_cookie(port);
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect()
    };
    let form = format!("csrf={}&receipt={}", encode(&csrf), encode(&receipt.to_string()));
    let headers =
        [("Content-Type", "application/x-www-form-urlencoded".to_owned()), ("Cookie", format!("csrf={csrf}; lang=en"))];
    let (status, _, pdf) = http(port, "POST", "/receipt.pdf", &headers, form.as_bytes());
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&pdf));
    std::fs::write(d.join("receipt.pdf"), &pdf).unwrap();
    let args = ["verify-receipt", "--registry", &registry, "--state", "demo/verifier.toml", "--file"];
    let out = dcert(d, &[&args[..], &["demo/samples/current-zh.pdf", "receipt.pdf"]].concat(), "");
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out), String::from_utf8_lossy(&out.stderr));
    let mut changed_pdf = pdf.clone();
    let at = changed_pdf.len() / 2;
    changed_pdf[at] ^= 0x20;
    std::fs::write(d.join("receipt.pdf"), &changed_pdf).unwrap();
    let out = dcert(d, &[&args[..], &["demo/samples/current-zh.pdf", "receipt.pdf"]].concat(), "");
    assert_eq!(out.status.code(), Some(1), "a changed PDF receipt: {}", text(&out));
    let mut changed = receipt.clone();
    changed["outcome"] = "failure".into();
    std::fs::write(d.join("receipt.json"), serde_json::to_vec(&changed).unwrap()).unwrap();
    assert_eq!(check_receipt("demo/samples/current-zh.pdf").status.code(), Some(1), "a changed receipt");

    // A record in NKUST's name of a file NKUST never issued, written as a submission with a
    // stolen key (or by someone with the registry's database) is: record and leaf together.
    let forged = "f".repeat(64);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let store = dcert_store::MinistryStore::open(&format!("sqlite://{}", d.join("demo/ministry.db").display()))
            .await
            .unwrap();
        let record = dcert_store::RegistryRecord::issued_degree("nkust", &forged, "NKUST-1132-999999", 1_760_000_000);
        assert!(store.append_registry_record(&record).await.unwrap());
    });
    let out = monitor();
    let report = text(&out);
    assert!(
        out.status.code() == Some(1) && report.contains("ALARM") && report.contains(&forged),
        "{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("consistent with the checkpoint"), "{report}");
    // It stays listed on the next run, with nothing new.
    let again = monitor();
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    assert!(text(&again).contains(&forged) && text(&again).contains("0 new records"), "{}", text(&again));
    drop(server);

    // The log rewritten in place: the first leaf of another file than the one verified below
    // replaced (the worker issues in parallel, so that file may be any leaf). Same size, another tree.
    let state_before = std::fs::read_to_string(d.join("seen.json")).unwrap();
    assert_ne!(state_before, seen);
    let verified = dcert_core::Sha256Digest::of(&sample).to_string();
    tamper(
        &d.join("demo/ministry.db"),
        &[&format!(
            "UPDATE log_leaves SET leaf = '{}' WHERE idx = (SELECT MIN(l.idx) FROM log_leaves l JOIN registry_records r \
             ON r.id = l.record_id WHERE r.sha256 <> '{verified}')",
            "0".repeat(64)
        )],
    );
    let server = ministry_serve(d, port);
    let out = monitor();
    let report = text(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(report.contains("rewritten or forked") && report.contains("--- seen before ---"), "{report}");
    // The verifier, whose proof for the file checks under the rewritten tree, is not fooled:
    // the tree is not the one it saw.
    let out = verify();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("not the one this verifier saw before"), "{}", text(&out));
    assert_eq!(report.matches("\n\u{2014} ").count(), 2, "both signed checkpoints as evidence: {report}");
    assert_eq!(std::fs::read_to_string(d.join("seen.json")).unwrap(), state_before, "the state is kept");
    let kept = std::fs::read_dir(d).unwrap().flatten().find(|e| e.file_name().to_string_lossy().contains(".fork-"));
    let kept = std::fs::read_to_string(kept.expect("the evidence is kept in a file").path()).unwrap();
    assert_eq!(kept.matches("\n\u{2014} ").count(), 2, "{kept}");
    drop(server);

    // A leaf removed: the log shrank.
    tamper(&d.join("demo/ministry.db"), &["DELETE FROM log_leaves WHERE idx = (SELECT MAX(idx) FROM log_leaves)"]);
    let _server = ministry_serve(d, port);
    let out = monitor();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("shrank"), "{}", text(&out));
}

#[test]
fn the_offline_bundle_gives_every_demo_sample_the_registrys_outcome_with_no_network() {
    let dir = demo_dir("offline-bundle");
    let d = &dir.0;
    let port = free_pair();
    write_ministry_config(d);
    let server = ministry_serve(d, port);
    let registry = format!("http://127.0.0.1:{port}");
    let samples =
        ["current-zh", "current-en", "teacher-zh", "superseded", "reissued-zh", "revoked", "modified"].map(|name| {
            let path = format!("demo/samples/{name}.pdf");
            let out =
                dcert(d, &["verify", "--registry", &registry, "--state", "demo/verifier.toml", "--json", &path], "");
            let report: Value = serde_json::from_slice(&out.stdout).unwrap();
            (path, out.status.code(), report)
        });
    let (status, headers, bundle) = http(port, "GET", "/api/v1/offline-bundle", &[], b"");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bundle));
    assert!(headers.iter().any(|(k, v)| k == "content-disposition" && v.contains("dcert-offline-bundle.json")));
    std::fs::write(d.join("bundle.json"), &bundle).unwrap();
    let as_of = serde_json::from_slice::<Value>(&bundle).unwrap()["asOf"].as_str().unwrap().to_owned();
    drop(server);

    // The registry stopped, and no network at all: the same outcome for every sample.
    let offline = |args: &[&str]| {
        dcert_without_network(
            d,
            &[&["verify", "--offline", "bundle.json", "--state", "demo/verifier.toml"], args].concat(),
        )
    };
    for (path, code, online) in &samples {
        let out = offline(&["--json", path]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{path}: {stderr}"));
        assert_eq!((out.status.code(), outcome(&report)), (*code, outcome(online)), "{path}: {report:#}");
        // The registry's check itself agrees, the changed file's too (asked by its credential).
        let registry_status = |r: &Value| {
            r["checks"].as_array().unwrap().iter().find(|c| c["name"] == "registry_status").unwrap()["result"].clone()
        };
        assert_eq!(registry_status(&report), registry_status(online), "{path}: {report:#}");
        assert_ne!(registry_status(online), "unknown", "{path}: {online:#}");
        assert!(stderr.contains(&format!("status as of the Ministry's offline bundle of {as_of}")), "{stderr}");
        assert_eq!(report["statusAsOf"].as_str(), Some(as_of.as_str()), "{path}");
    }
    let out = offline(&["demo/samples/current-zh.pdf"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("Status as of the Ministry's offline bundle of {as_of}")), "{text}");

    // Too old for the verifier: the status is unknown, and the file fails; allowed older, it passes.
    let later = as_of.parse::<dcert_core::Timestamp>().unwrap().plus_seconds(8 * 86_400).to_string();
    let out = offline(&["--at", &later, "--json", "demo/samples/current-zh.pdf"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((out.status.code(), outcome(&report)), (Some(1), ("failure", Some("status_unknown"))), "{report:#}");
    let out = offline(&["--at", &later, "--max-bundle-age", "9", "--json", "demo/samples/current-zh.pdf"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_ne!(report["reason"], "status_unknown", "{report:#}");

    // A bundle changed by one character is not believed at all.
    let changed = String::from_utf8(bundle).unwrap().replacen("\"revoked\"", "\"current\"", 1);
    std::fs::write(d.join("bundle.json"), changed).unwrap();
    let out = offline(&["demo/samples/revoked.pdf"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the offline bundle bundle.json is not usable"));
}
