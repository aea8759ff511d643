//! The command line, run as a user runs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dcert_testkit::TempDir;

/// A directory to run commands in, removed when dropped.
struct Workdir(TempDir);

impl Workdir {
    fn new(name: &str) -> Self {
        Self(TempDir::new(&format!("cli-{name}")))
    }

    /// A work directory with the pinned root and, in `issuer`, an institution whose keys are
    /// valid through 2025 to 2029.
    fn with_dated_issuer(name: &str, issuer: &str) -> Self {
        let w = Workdir::new(name);
        w.init_root();
        dated_issuer(&w, issuer);
        w
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn dcert(&self, args: &[&str]) -> Output {
        self.dcert_env(args, &[])
    }

    fn dcert_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dcert"));
        // Each test keeps its own verifier state (pin and trust list sequences).
        command
            .args(args)
            .current_dir(self.0.path())
            .env_remove("DCERT_KEY_PASSPHRASE")
            .env_remove("DCERT_ROOT_FINGERPRINT")
            .env("DCERT_VERIFIER_STATE", self.path("verifier.toml"));
        for (k, v) in env {
            command.env(k, v);
        }
        command.output().unwrap()
    }

    /// Runs a command that must succeed and returns its standard output.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.dcert(args);
        assert!(out.status.success(), "dcert {args:?} failed:\n{}{}", stdout(&out), stderr(&out));
        stdout(&out)
    }

    /// Runs a command that must be refused as a usage error saying `expected`, leaving `file` as
    /// it was.
    fn refused_leaving(&self, args: &[&str], expected: &str, file: &str) {
        let before = std::fs::read(self.path(file)).unwrap();
        assert_usage_error(&self.dcert(args), expected);
        assert_eq!(std::fs::read(self.path(file)).unwrap(), before, "{file} is as it was");
    }

    /// Issues the sample record (`examples/record.json`) with the keys in `issuer`, in `lang`,
    /// dated `at`, to `out`.
    fn issue_at(&self, issuer: &str, lang: &str, at: &str, out: &str) {
        let record = example("record.json");
        self.ok(&["issue", "--issuer", issuer, "--record", &record, "--lang", lang, "--at", at, "--out", out]);
    }

    /// The Ministry root in `moe`, pinned as the command that makes it says.
    fn init_root(&self) {
        let created = self.ok(&["keys", "init-root", "--registry", "http://localhost:8081", "--out", "moe"]);
        let pin = created.lines().find_map(|l| l.strip_prefix("Verifiers pin this root: ")).expect("the pin command");
        let args: Vec<&str> = pin.split_whitespace().skip(1).collect();
        assert_eq!(args[..2], ["trust", "pin"], "{pin}");
        self.ok(&args);
    }

    /// The README's walk-through: a pinned root, NKUST, a trust list.
    fn setup(&self) {
        self.init_root();
        self.ok(&new_issuer(
            "nkust",
            "國立高雄科技大學",
            "National Kaohsiung University of Science and Technology",
            "nkust",
            &[],
        ));
        self.ok(&["trust", "export", "--root", "moe", "--issuer", "nkust", "--out", "trust.json"]);
    }
}

/// The arguments of `keys new-issuer` under the root `moe`, followed by `extra`.
fn new_issuer<'a>(id: &'a str, name_zh: &'a str, name_en: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "keys",
        "new-issuer",
        "--root",
        "moe",
        "--id",
        id,
        "--name-zh",
        name_zh,
        "--name-en",
        name_en,
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    args
}

/// Checks that `out` is a usage error (exit status 2) that says `expected`.
fn assert_usage_error(out: &Output, expected: &str) {
    assert_eq!(out.status.code(), Some(2), "{}{}", stdout(out), stderr(out));
    assert!(stderr(out).contains(expected), "{}", stderr(out));
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(name).display().to_string()
}

#[test]
fn the_readme_walkthrough_issues_and_verifies_both_languages() {
    let w = Workdir::new("walkthrough");
    w.setup();
    let record = example("record.json");
    for lang in ["zh", "en"] {
        let out = format!("cert-{lang}.pdf");
        let printed = w.ok(&["issue", "--issuer", "nkust", "--record", &record, "--lang", lang, "--out", &out]);
        assert!(printed.contains("sha256"), "{printed}");
        let report = w.dcert(&["verify", "--trust", "trust.json", &out]);
        assert_eq!(report.status.code(), Some(0), "{}", stdout(&report));
        let text = stdout(&report);
        assert!(text.contains("認證成功 SUCCESS"), "{text}");
        assert!(
            text.contains("國立高雄科技大學 (National Kaohsiung University of Science and Technology) [nkust]"),
            "{text}"
        );
        assert!(text.contains("unknown  registry_status"), "offline, the status is unknown: {text}");
        assert!(text.contains("status as of the trust list"), "{text}");
    }
}

#[test]
fn verify_json_gives_one_report_per_file_with_the_documented_fields() {
    let w = Workdir::new("json");
    w.setup();
    w.ok(&["issue", "--issuer", "nkust", "--record", &example("record.json"), "--lang", "zh", "--out", "a.pdf"]);
    let mut tampered = std::fs::read(w.path("a.pdf")).unwrap();
    let at = tampered.len() / 2;
    tampered[at] ^= 0x01;
    std::fs::write(w.path("b.pdf"), &tampered).unwrap();
    std::fs::write(w.path("c.txt"), "hello").unwrap();
    let out = w.dcert(&["verify", "--trust", "trust.json", "--json", "a.pdf", "b.pdf", "c.txt"]);
    assert_eq!(out.status.code(), Some(1), "a failure among the files gives exit status 1");
    let reports: Vec<serde_json::Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(reports.len(), 3);
    assert_eq!(reports[0]["file"], "a.pdf");
    assert_eq!(reports[0]["outcome"], "success");
    assert_eq!(reports[0]["reason"], serde_json::Value::Null);
    assert_eq!(reports[0]["issuer"]["nameZh"], "國立高雄科技大學");
    assert_eq!(reports[0]["credential"]["degree"]["nameZh"], "王𪚥");
    for check in reports[0]["checks"].as_array().unwrap() {
        assert!(check["name"].is_string() && check["detail"].is_string());
        assert!(["pass", "unknown"].contains(&check["result"].as_str().unwrap()), "{check}");
    }
    assert_eq!(reports[1]["outcome"], "failure");
    assert!(["modified", "signature_invalid"].contains(&reports[1]["reason"].as_str().unwrap()), "{}", reports[1]);
    assert_eq!(reports[2]["reason"], "not_a_certificate");
}

#[test]
fn a_teacher_certificate_from_the_ministry_verifies() {
    let w = Workdir::new("teacher");
    w.setup();
    w.ok(&new_issuer("moe", "教育部", "Ministry of Education", "moe-issuer", &["--types", "teacher"]));
    w.ok(&["trust", "export", "--root", "moe", "--issuer", "nkust", "--issuer", "moe-issuer", "--out", "trust2.json"]);
    w.ok(&["issue", "--issuer", "moe-issuer", "--record", &example("teacher.json"), "--lang", "zh", "--out", "t.pdf"]);
    let text = w.ok(&["verify", "--trust", "trust2.json", "t.pdf"]);
    assert!(text.contains("認證成功") && text.contains("林堃"), "{text}");
    // NKUST may not issue teacher certificates, nor degrees of another school: issue refuses
    // what verification would refuse.
    let out = w.dcert(&[
        "issue",
        "--issuer",
        "nkust",
        "--record",
        &example("teacher.json"),
        "--lang",
        "zh",
        "--out",
        "t2.pdf",
    ]);
    assert_usage_error(&out, "not accredited for teacher certificates");
    assert!(!w.path("t2.pdf").exists());
    let out = w.dcert(&[
        "issue",
        "--issuer",
        "moe-issuer",
        "--record",
        &example("record.json"),
        "--lang",
        "zh",
        "--out",
        "d.pdf",
    ]);
    assert_usage_error(&out, "not accredited for degree");
}

#[test]
fn private_keys_are_0600_and_encrypted_with_the_passphrase() {
    let w = Workdir::new("keys");
    let pass = [("DCERT_KEY_PASSPHRASE", "correct horse battery staple")];
    let out = w.dcert_env(&["keys", "init-root", "--registry", "http://localhost:8081", "--out", "moe"], &pass);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("encrypted with DCERT_KEY_PASSPHRASE"));
    let names = ("國立高雄科技大學", "National Kaohsiung University of Science and Technology");
    let out = w.dcert_env(&new_issuer("nkust", names.0, names.1, "nkust", &[]), &pass);
    assert!(out.status.success(), "{}", stderr(&out));
    for key in ["moe/root-ca.key.pem", "moe/trust-signer.key.pem", "nkust/credential.key.pem", "nkust/signing.key.pem"]
    {
        let text = std::fs::read_to_string(w.path(key)).unwrap();
        assert!(text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"), "{key}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(w.path(key)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{key}");
        }
    }
    let issue = ["issue", "--issuer", "nkust", "--record", &example("record.json"), "--lang", "zh", "--out", "c.pdf"];
    let out = w.dcert(&issue);
    assert_usage_error(&out, "DCERT_KEY_PASSPHRASE");
    let out = w.dcert_env(&issue, &[("DCERT_KEY_PASSPHRASE", "wrong")]);
    assert_usage_error(&out, "passphrase does not open");
    assert!(!w.path("c.pdf").exists(), "nothing is written on failure");
    let out = w.dcert_env(&issue, &pass);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn keys_are_never_overwritten() {
    let w = Workdir::new("overwrite");
    w.setup();
    let init = ["keys", "init-root", "--registry", "http://localhost:8081", "--out", "moe"];
    w.refused_leaving(&init, "already holds root.json", "moe/root-ca.key.pem");
}

#[test]
fn usage_errors_exit_with_status_2_and_say_what_is_wrong() {
    let w = Workdir::new("usage");
    w.setup();
    let cases: &[(&[&str], &str)] = &[
        (&["verify"], "--trust"),
        (&["verify", "--trust", "missing.json", "x.pdf"], "cannot read the trust list"),
        (&["issue", "--issuer", "nkust", "--record", "r.json", "--lang", "fr", "--out", "x.pdf"], "not zh or en"),
        (
            &["verify", "--trust", "trust.json", "--root-fingerprint", &"ab".repeat(32), "x.pdf"],
            "is not the expected root",
        ),
        (&["verify", "--trust", "moe/root.json", "x.pdf"], "not usable"),
        (&new_issuer("Bad Id", "x", "x", "b", &[]), "lowercase"),
        (&["bench", "issue", "--count", "0"], "--count must be at least 1"),
        (&["bench", "log", "--leaves", "0"], "--leaves must be at least 1"),
        (&["bench", "issue", "--count", "1", "--database", "mysql://x"], "postgres://"),
    ];
    for (args, expected) in cases {
        let out = w.dcert(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(expected), "{args:?}: {}", stderr(&out));
    }
    let out = w.dcert(&["--help"]);
    assert!(stdout(&out).contains("dcert verify --trust trust.json cert-zh.pdf"), "the help walks a newcomer through");
}

#[test]
fn a_runtime_failure_exits_with_status_4_and_a_wrong_settings_file_with_2() {
    let w = Workdir::new("exit-status");
    w.setup();
    let settings = include_str!("../../../../examples/dcert.toml")
        .replace("dcert-data/keys/", "")
        .replace("dcert-data/", "")
        .replace("127.0.0.1:8081", "127.0.0.1:0")
        .replace("127.0.0.1:8080", "127.0.0.1:0");
    std::fs::write(w.path("dcert.toml"), settings).unwrap();
    // The settings are right; the database cannot be opened.
    let broken = [("DCERT_DATABASE__URL", "sqlite:///nonexistent-directory/university.db")];
    for args in [&["serve", "--config", "dcert.toml"][..], &["graduates", "set-password", "--config", "dcert.toml"]] {
        let out = w.dcert_env(args, &broken);
        assert_eq!(out.status.code(), Some(4), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("nonexistent-directory"), "{args:?}: {}", stderr(&out));
    }
    // A port another program holds.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = taken.local_addr().unwrap().to_string();
    let out = w.dcert_env(&["serve", "--config", "dcert.toml"], &[("DCERT_SERVER__LISTEN", &listen)]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    drop(taken);
    // The settings are wrong: nothing is tried.
    let out = w.dcert(&["serve", "--config", "missing.toml"]);
    assert_usage_error(&out, "cannot read missing.toml");
    let out = w.dcert_env(&["serve", "--config", "dcert.toml"], &[("DCERT_SITE__TRUSTED_PROXIES", "a proxy")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = w.dcert_env(
        &["staff", "add", "--config", "dcert.toml", "--username", "u", "--name", "U", "--role", "ministry_admin"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "a Ministry role in a university: {}", stderr(&out));
}

#[test]
fn a_pinned_root_fingerprint_is_accepted() {
    let w = Workdir::new("pin");
    w.setup();
    let root: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("moe/root.json")).unwrap()).unwrap();
    let fingerprint = root["rootFingerprint"].as_str().unwrap();
    w.ok(&["issue", "--issuer", "nkust", "--record", &example("record.json"), "--lang", "en", "--out", "c.pdf"]);
    w.ok(&["verify", "--trust", "trust.json", "--root-fingerprint", fingerprint, "c.pdf"]);
}

#[test]
fn the_hostile_corpus_fails_cleanly_within_a_memory_limit() {
    let w = Workdir::new("corpus");
    w.setup();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dcert-core/tests/corpus");
    let mut files: Vec<String> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e != "md"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    let mut big = vec![b' '; 100 << 20];
    big[..9].copy_from_slice(b"%PDF-1.7\n");
    std::fs::write(w.path("big.pdf"), &big).unwrap();
    files.push(w.path("big.pdf").display().to_string());
    // 512 MiB of address space: a deflate bomb or an unbounded read would die here.
    let mut command = Command::new("prlimit");
    command.arg("--as=536870912").arg(env!("CARGO_BIN_EXE_dcert")).env("DCERT_VERIFIER_STATE", w.path("verifier.toml"));
    command.args(["verify", "--json", "--trust", "trust.json"]).args(&files).current_dir(w.0.path());
    let out = command.output().expect("prlimit (util-linux) is needed for this test");
    assert_eq!(out.status.code(), Some(1), "every file fails, and the process exits normally: {}", stderr(&out));
    let reports: Vec<serde_json::Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(reports.len(), files.len());
    assert!(reports.iter().all(|r| r["outcome"] == "failure"));
    assert_eq!(reports.last().unwrap()["reason"], "too_large");
}

/// An institution whose keys are valid through 2025 to 2029, for tests that set times.
fn dated_issuer(w: &Workdir, out: &str) {
    w.ok(&new_issuer(
        "nkust",
        "國立高雄科技大學",
        "National Kaohsiung University of Science and Technology",
        out,
        &["--valid-from", "2025-01-01T00:00:00Z", "--valid-until", "2030-01-01T00:00:00Z"],
    ));
}

fn verify_reason(w: &Workdir, trust: &str, file: &str, at: &str) -> (i32, serde_json::Value) {
    let out = w.dcert(&["verify", "--trust", trust, "--json", "--at", at, file]);
    let report: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    (out.status.code().unwrap(), report["reason"].clone())
}

#[test]
fn a_rotated_key_keeps_old_certificates_valid_and_signs_nothing_new() {
    let w = Workdir::with_dated_issuer("rotate", "old");
    w.issue_at("old", "zh", "2025-03-01T00:00:00Z", "before.pdf");
    dated_issuer(&w, "new");
    let printed = w.ok(&["keys", "retire", "--issuer", "old", "--at", "2025-06-01T00:00:00Z"]);
    assert!(printed.contains("valid until 2025-06-01T00:00:00Z"), "{printed}");
    w.issue_at("old", "zh", "2025-07-01T00:00:00Z", "old-key-after.pdf");
    w.issue_at("new", "zh", "2025-07-01T00:00:00Z", "new-key.pdf");
    w.ok(&["trust", "export", "--root", "moe", "--issuer", "old", "--issuer", "new", "--out", "trust.json"]);
    let trust: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("trust.json")).unwrap()).unwrap();
    assert_eq!(trust["issuers"].as_array().unwrap().len(), 1, "one institution with both key sets");
    assert_eq!(trust["issuers"][0]["credentialKeys"].as_array().unwrap().len(), 2);
    let at = "2026-01-01T00:00:00Z";
    assert_eq!(verify_reason(&w, "trust.json", "before.pdf", at), (0, serde_json::Value::Null));
    assert_eq!(verify_reason(&w, "trust.json", "new-key.pdf", at), (0, serde_json::Value::Null));
    assert_eq!(verify_reason(&w, "trust.json", "old-key-after.pdf", at), (1, "key_not_valid".into()));
}

#[test]
fn revoked_keys_fail_what_they_signed_after_the_revocation() {
    let w = Workdir::with_dated_issuer("revoke", "nkust");
    w.issue_at("nkust", "en", "2025-03-01T00:00:00Z", "before.pdf");
    w.issue_at("nkust", "en", "2025-07-01T00:00:00Z", "after.pdf");
    let out = w.dcert(&["keys", "revoke", "--issuer", "nkust", "--from", "2025-06-01T00:00:00Z", "--reason", " "]);
    assert_eq!(out.status.code(), Some(2), "a revocation needs a reason");
    w.ok(&["keys", "revoke", "--issuer", "nkust", "--from", "2025-06-01T00:00:00Z", "--reason", "key compromise"]);
    w.ok(&["trust", "export", "--root", "moe", "--issuer", "nkust", "--out", "trust.json"]);
    let at = "2026-01-01T00:00:00Z";
    assert_eq!(verify_reason(&w, "trust.json", "before.pdf", at), (0, serde_json::Value::Null));
    assert_eq!(verify_reason(&w, "trust.json", "after.pdf", at), (1, "key_revoked".into()));
    let text = stdout(&w.dcert(&["verify", "--trust", "trust.json", "--at", at, "after.pdf"]));
    assert!(text.contains("key compromise"), "{text}");
}

#[test]
fn an_issued_file_is_never_overwritten() {
    let w = Workdir::new("no-overwrite");
    w.setup();
    let record = example("record.json");
    w.ok(&["issue", "--issuer", "nkust", "--record", &record, "--lang", "zh", "--out", "c.pdf"]);
    let again = ["issue", "--issuer", "nkust", "--record", &record, "--lang", "en", "--out", "c.pdf"];
    w.refused_leaving(&again, "must not exist yet", "c.pdf");
}

#[test]
fn a_file_that_cannot_be_read_is_an_input_error_with_a_json_line() {
    let w = Workdir::new("unreadable");
    w.setup();
    w.ok(&["issue", "--issuer", "nkust", "--record", &example("record.json"), "--lang", "zh", "--out", "c.pdf"]);
    let out = w.dcert(&["verify", "--trust", "trust.json", "--json", "c.pdf", "missing.pdf"]);
    assert_eq!(out.status.code(), Some(2));
    let lines: Vec<serde_json::Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["outcome"], "success");
    assert_eq!(lines[1]["file"], "missing.pdf");
    assert!(lines[1]["error"].as_str().unwrap().contains("cannot open"), "{}", lines[1]);
}

#[test]
fn the_demo_issues_and_verifies_its_samples_and_reuses_its_keys() {
    let w = Workdir::new("demo");
    let first = w.ok(&["demo", "--data-dir", "d", "--no-serve"]);
    for (name, outcome) in [
        ("current-zh.pdf", "認證成功 success"),
        ("current-en.pdf", "認證成功 success"),
        ("superseded.pdf", "認證警告 warning"),
        ("revoked.pdf", "認證失敗 failure"),
        ("teacher-zh.pdf", "認證成功 success"),
        ("modified.pdf", "認證失敗 failure"),
    ] {
        let line = first.lines().find(|l| l.contains(name)).unwrap_or_else(|| panic!("{name} missing:\n{first}"));
        assert!(line.contains(outcome), "{line}");
        assert!(w.path("d/samples").join(name).is_file());
    }
    assert!(first.contains("Certified by the Ministry of Education."), "the Ministry is named once:\n{first}");
    assert!(first.contains("Demo mailbox (every email)       http://localhost:8080/demo/mail"), "{first}");
    let key = std::fs::read(w.path("d/keys/nkust/credential.key.pem")).unwrap();
    let accounts = std::fs::read(w.path("d/demo-accounts.json")).unwrap();
    w.ok(&["demo", "--data-dir", "d", "--no-serve"]);
    assert_eq!(std::fs::read(w.path("d/keys/nkust/credential.key.pem")).unwrap(), key, "keys are reused");
    let again: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.path("d/demo-accounts.json")).unwrap()).unwrap();
    let before: serde_json::Value = serde_json::from_slice(&accounts).unwrap();
    assert_eq!(again["staff"], before["staff"], "accounts are reused");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &str| std::fs::metadata(w.path(p)).unwrap().permissions().mode() & 0o777;
        for secret in ["d/demo-accounts.json", "d/university.db", "d/ministry.db", "d/keys/nkust/credential.key.pem"] {
            assert_eq!(mode(secret), 0o600, "{secret} is its owner's only");
        }
    }
    let out = w.dcert(&["verify", "--state", "d/verifier.toml", "--trust", "d/trust.json", "d/samples/current-zh.pdf"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn bench_issue_issues_every_graduate_exactly_once() {
    let w = Workdir::new("bench-issue");
    let postgres =
        std::env::var("DCERT_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    for (count, database) in [(30, None), (20, Some(postgres.as_str()))] {
        let count_arg = count.to_string();
        let mut args = vec!["bench", "issue", "--count", count_arg.as_str(), "--json"];
        if let Some(url) = database {
            args.extend(["--database", url]);
        }
        let out = w.ok(&args);
        let figures: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        assert_eq!(figures["backend"], if database.is_some() { "postgres" } else { "sqlite" });
        assert_eq!(figures["count"], count, "{out}");
        assert_eq!(figures["issued"], count, "{out}");
        assert_eq!(figures["failed"], 0, "{out}");
        assert_eq!(figures["emailsQueued"], 2 * count, "{out}");
        assert_eq!(figures["registryRecords"], count, "{out}");
        assert_eq!(figures["verified"], true, "{out}");
        assert!(figures["phases"]["issue"].as_f64().unwrap() > 0.0, "{out}");
        assert!(figures["certificateBytes"].as_u64().unwrap() > 0, "{out}");
    }
}

#[test]
fn bench_log_makes_and_verifies_proofs_and_reports_their_sizes() {
    let w = Workdir::new("bench-log");
    let out = w.ok(&["bench", "log", "--leaves", "1000", "--seconds", "0.05", "--json"]);
    let figures: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(figures["leaves"], 1000, "{out}");
    assert_eq!(figures["append"]["count"], 1000, "{out}");
    // A tree of 1,000 leaves is 10 levels deep: an audit path has at most 10 hashes.
    assert!(figures["inclusionProofBytes"].as_u64().unwrap() <= 320, "{out}");
    assert!(figures["inclusionProofBytes"].as_u64().unwrap() >= 9 * 32, "{out}");
    for rate in ["inclusion", "consistency", "checkpoint", "floor"] {
        assert!(figures[rate]["count"].as_u64().unwrap() > 0, "{rate}: {out}");
    }
    // Through the store too, on SQLite and PostgreSQL: the same log as in memory.
    let postgres =
        std::env::var("DCERT_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    for database in [None, Some(postgres.as_str())] {
        let mut args = vec!["bench", "log", "--leaves", "10", "--seconds", "0.01", "--store-records", "250", "--json"];
        if let Some(url) = database {
            args.extend(["--database", url]);
        }
        let out = w.ok(&args);
        let figures: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        let store = &figures["store"];
        assert_eq!(store["backend"], if database.is_some() { "postgres" } else { "sqlite" }, "{out}");
        assert_eq!((store["append"]["count"].as_u64(), store["batch"].as_u64()), (Some(250), Some(100)), "{out}");
        assert_eq!(store["sameRoot"], true, "{out}");
    }
}

#[test]
fn bench_core_measures_verification_with_the_signed_status_the_log_proof_and_the_offline_bundle() {
    let w = Workdir::new("bench-core");
    let out = w.ok(&["bench", "core", "--seconds", "0.02", "--log-leaves", "1000", "--json"]);
    let figures: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(figures["logLeaves"], 1000, "{out}");
    for rate in ["issue", "verify", "verifyLogged", "verifySignedLogged", "verifyBundle", "floor"] {
        assert!(figures[rate]["count"].as_u64().unwrap() > 0, "{rate}: {out}");
    }
    // The offline bundle of the log's 1,000 certificates: 2,000 records of 27 bytes of JSON, and
    // the trust list, the checkpoint and the signature.
    let bytes = figures["bundle"]["bytes"].as_u64().unwrap();
    assert!((54_000..70_000).contains(&bytes), "{out}");
    // Checking a signed answer and a proof costs something, and not more than the verification.
    let ratio = figures["loggedToVerify"].as_f64().unwrap();
    assert!(ratio > 0.0 && ratio < 1.5, "{out}");
}

#[test]
fn a_trust_list_made_at_home_is_unpinned_never_succeeds_and_exits_non_zero() {
    // The forger: a root, an issuer named like the real university and a list, all made with
    // dcert keys, and a certificate issued with them.
    let w = Workdir::new("unpinned");
    w.ok(&["keys", "init-root", "--registry", "http://localhost:8081", "--out", "moe"]);
    w.ok(&new_issuer(
        "nkust",
        "國立高雄科技大學",
        "National Kaohsiung University of Science and Technology",
        "nkust",
        &[],
    ));
    w.ok(&["trust", "export", "--root", "moe", "--issuer", "nkust", "--out", "home-made.json"]);
    w.ok(&["issue", "--issuer", "nkust", "--record", &example("record.json"), "--lang", "zh", "--out", "forged.pdf"]);
    let out = w.dcert(&["verify", "--trust", "home-made.json", "forged.pdf"]);
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(!text.contains("SUCCESS") && !text.contains("Certified"), "{text}");
    assert!(text.contains("Not authenticated") && text.contains("not pinned"), "{text}");
    assert!(stderr(&out).contains("UNPINNED"), "{}", stderr(&out));
    let json = w.dcert(&["verify", "--json", "--trust", "home-made.json", "forged.pdf"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!((report["outcome"].as_str(), report["reason"].as_str()), (Some("failure"), Some("unpinned")));
    assert!(report["issuer"].is_null() && report["credential"].is_null(), "no name or data from an unpinned list");

    // Pinned by the environment to the real Ministry's root, the forged list is refused.
    let real = &"ab".repeat(32);
    let out = w.dcert_env(&["verify", "--trust", "home-made.json", "forged.pdf"], &[("DCERT_ROOT_FINGERPRINT", real)]);
    assert_usage_error(&out, "is not the expected root");
}

#[test]
fn the_root_can_be_pinned_by_the_environment_or_the_state_file() {
    let w = Workdir::new("pin-sources");
    w.setup();
    w.ok(&["issue", "--issuer", "nkust", "--record", &example("record.json"), "--lang", "zh", "--out", "c.pdf"]);
    let state = std::fs::read_to_string(w.path("verifier.toml")).unwrap();
    let fingerprint = state
        .lines()
        .find_map(|l| l.strip_prefix("root_fingerprint = "))
        .expect("setup pinned the root in the state file")
        .trim_matches('"')
        .to_owned();
    // The state file's pin.
    assert!(w.ok(&["verify", "--trust", "trust.json", "c.pdf"]).contains("SUCCESS"));
    // The environment's pin, with no state file.
    std::fs::remove_file(w.path("verifier.toml")).unwrap();
    let out = w.dcert_env(&["verify", "--trust", "trust.json", "c.pdf"], &[("DCERT_ROOT_FINGERPRINT", &fingerprint)]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    // Without either, the same file is an unpinned failure.
    let out = w.dcert(&["verify", "--trust", "trust.json", "c.pdf"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
}

#[test]
fn an_older_trust_list_than_one_already_seen_is_refused() {
    let w = Workdir::new("sequence");
    w.setup();
    w.ok(&["issue", "--issuer", "nkust", "--record", &example("record.json"), "--lang", "zh", "--out", "c.pdf"]);
    for (name, sequence) in [("old.json", "5"), ("new.json", "7")] {
        w.ok(&["trust", "export", "--root", "moe", "--issuer", "nkust", "--out", name, "--sequence", sequence]);
    }
    w.ok(&["verify", "--trust", "old.json", "c.pdf"]);
    w.ok(&["verify", "--trust", "new.json", "c.pdf"]);
    // The old list is genuine, but a verifier that has seen list 7 does not go back to 5.
    let out = w.dcert(&["verify", "--trust", "old.json", "c.pdf"]);
    assert_usage_error(&out, "older than list 7");
    let state = std::fs::read_to_string(w.path("verifier.toml")).unwrap();
    assert!(state.contains("= 7"), "the state file keeps the newest sequence: {state}");
}

#[test]
fn every_crafted_shape_of_ten_megabytes_fails_cleanly_within_a_memory_limit() {
    let w = Workdir::new("shapes");
    w.setup();
    let mut files = Vec::new();
    for shape in dcert_core::pdf::hostile::shapes(dcert_core::pdf::Limits::default().max_file_bytes - 4096) {
        let name = format!("{}.pdf", shape.name);
        std::fs::write(w.path(&name), &shape.bytes).unwrap();
        files.push(name);
    }
    // 256 MiB of address space for the whole process, its code and its threads included: the
    // shapes cost 640 MB to 6.3 GB before the reader had a budget.
    let mut command = Command::new("prlimit");
    command
        .arg("--as=268435456")
        .arg(env!("CARGO_BIN_EXE_dcert"))
        .env("DCERT_VERIFIER_STATE", w.path("verifier.toml"))
        .args(["verify", "--json", "--trust", "trust.json"])
        .args(&files)
        .current_dir(w.0.path());
    let out = command.output().expect("prlimit (util-linux) is needed for this test");
    assert_eq!(out.status.code(), Some(1), "every file fails, and the process exits normally: {}", stderr(&out));
    let reports: Vec<serde_json::Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(reports.len(), files.len());
    for (file, report) in files.iter().zip(&reports) {
        assert_eq!(
            (report["outcome"].as_str(), report["reason"].as_str()),
            (Some("failure"), Some("not_a_certificate")),
            "{file}"
        );
    }
}

#[test]
fn bench_hostile_measures_each_crafted_shape_against_a_genuine_certificate() {
    let w = Workdir::new("bench-hostile");
    w.setup();
    w.ok(&["issue", "--issuer", "nkust", "--record", &example("record.json"), "--lang", "zh", "--out", "c.pdf"]);
    let out = w.ok(&["bench", "hostile", "--trust", "trust.json", "--size", "65536", "--json", "c.pdf"]);
    let figures: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(figures["genuine"]["result"], "success", "{out}");
    let shapes = figures["shapes"].as_array().unwrap();
    assert_eq!(shapes.len(), dcert_core::pdf::hostile::shapes(65536).len());
    for row in shapes.iter().chain([&figures["genuine"]]) {
        assert!(row["peakRssBytes"].as_u64().unwrap() > 1 << 20, "a process's peak memory is measured: {row}");
        assert!(row["seconds"].as_f64().unwrap() > 0.0, "{row}");
    }
    for row in shapes {
        assert_eq!(row["result"], "failure not_a_certificate", "{row}");
    }
}
