//! Email delivery against a real SMTP server over TCP: Debian's python3-aiosmtpd, which stores what it
//! receives in a Maildir that the tests then read as a mail client would.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64ct::Encoding as _;
use dcert_core::model::{DegreeRecord, Language};
use dcert_core::roster::RosterRow;
use dcert_store::{Campus, Graduate, IssuedFile, NewOrder, OrderKind, UniversityStore};
use dcert_testkit::sample::{NKUST_EN as SCHOOL_EN, NKUST_ZH as SCHOOL_ZH};
use dcert_testkit::{TempDir, free_port};
use dcert_web::university::mail::{self, DeliveryRound, Mailer, SmtpConfig};
use sha2::Digest as _;

/// Debian's Python, which has python3-aiosmtpd (the `python3` on PATH may be another one).
const PYTHON: &str = "/usr/bin/python3";
const VERIFY_SITE: &str = "https://verify.example.test";
/// The number, student and name of the committed sample certificate.
const NUMBER: &str = "NKUST-1132-000123";
const STUDENT: &str = "C110152301";
const NAME_ZH: &str = "王𪚥";
const SCHOOL_ADDRESS: &str = "c110152301@nkust.edu.tw";
const PERMANENT_ADDRESS: &str = "wang.hsiao-ming@example.org";
/// 2025-07-01T02:00:00Z, when the sample was issued.
const AT: i64 = 1_751_335_200;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../dcert-core/tests/fixtures").join(name)
}

fn sha256_hex(bytes: &[u8]) -> String {
    dcert_core::digest::hex(sha2::Sha256::digest(bytes).as_slice())
}

/// An aiosmtpd process that delivers every message to a Maildir; killed on drop.
struct SmtpServer {
    child: Child,
}

impl SmtpServer {
    /// Debian's aiosmtpd with its Maildir handler.
    async fn start(port: u16, maildir: &Path) -> SmtpServer {
        SmtpServer::start_with(port, maildir, "aiosmtpd.handlers.Mailbox", None).await
    }

    /// aiosmtpd with the handler class `handler`, found on `python_path` when it is not aiosmtpd's own.
    async fn start_with(port: u16, maildir: &Path, handler: &str, python_path: Option<&Path>) -> SmtpServer {
        let mut command = Command::new(PYTHON);
        command
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", handler])
            .arg(maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(path) = python_path {
            command.env("PYTHONPATH", path);
        }
        let child = command.spawn().expect("/usr/bin/python3 must run (apt-get install python3-aiosmtpd)");
        let mut server = SmtpServer { child };
        for _ in 0..200 {
            if let Some(status) = server.child.try_wait().unwrap() {
                let mut stderr = String::new();
                if let Some(mut pipe) = server.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
                }
                panic!("aiosmtpd exited ({status}); is python3-aiosmtpd installed?\n{stderr}");
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("aiosmtpd did not listen on port {port} within 10 seconds");
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mailer(port: u16) -> Mailer {
    Mailer::new(&SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        from: format!("{SCHOOL_ZH} <no-reply@nkust.edu.tw>"),
        username: None,
        password: None,
        timeout_seconds: 10,
    })
    .unwrap()
}

/// A fresh store with one graduate whose Chinese certificate (the committed, signed sample) was
/// issued, with its two emails queued.
struct World {
    store: UniversityStore,
    certificate_id: i64,
    dir: TempDir,
}

/// The sample graduate without a minor.
fn record() -> DegreeRecord {
    DegreeRecord { other_programs: vec![], ..dcert_testkit::sample::degree(NAME_ZH) }
}

async fn world(name: &str, permanent_address: &str) -> World {
    let dir = TempDir::new(name);
    let store = UniversityStore::open(&format!("sqlite://{}", dir.0.join("db.sqlite").display())).await.unwrap();
    store
        .upsert_campus(&Campus {
            code: "jiangong".into(),
            position: 1,
            name_zh: "建工校區".into(),
            name_en: "Jiangong Campus".into(),
            office_zh: "綜合業務處".into(),
            office_en: "Office of General Affairs".into(),
            extensions: "12345".into(),
        })
        .await
        .unwrap();
    let row = RosterRow {
        line: 2,
        campus: "jiangong".into(),
        record: record(),
        school_email: SCHOOL_ADDRESS.into(),
        permanent_email: Some(permanent_address.into()),
        mid_term: false,
    };
    store.import_graduates(&[row], AT - 86_400, |_| crate::support::system("import_graduates")).await.unwrap();
    let graduate = store.graduate_terms(STUDENT).await.unwrap().remove(0);
    store.confirm_graduate(graduate.id, AT - 86_000, &crate::support::system("confirm_record")).await.unwrap();
    let file = std::fs::read(fixture("sample-zh.pdf")).expect("the committed sample certificate");
    let certificate_id = issue(&store, &graduate, OrderKind::Collection, &file, None, AT).await;
    World { store, certificate_id, dir }
}

/// Orders a Chinese certificate for the graduate and stores `file` as issued with both emails
/// queued, as the worker does; returns the certificate's id.
async fn issue(
    store: &UniversityStore,
    graduate: &Graduate,
    kind: OrderKind,
    file: &[u8],
    previous_sha256: Option<&str>,
    at: i64,
) -> i64 {
    let order = store
        .create_order(
            &NewOrder {
                graduate_id: graduate.id,
                language: Language::Zh,
                kind,
                reason: if kind == OrderKind::Reissue { "姓名更正" } else { "" },
                requested_on: "2025-07-01".parse().unwrap(),
                due_on: "2025-07-08".parse().unwrap(),
                actor: "registrar",
                at: at - 3600,
            },
            |_| crate::support::system("record_diploma"),
        )
        .await
        .unwrap();
    let emails = graduate
        .addresses()
        .iter()
        .map(|to| {
            let r = &graduate.record;
            mail::certificate_email(
                SCHOOL_ZH,
                SCHOOL_EN,
                &r.name_zh,
                &r.name_en,
                order.language,
                order.version,
                NUMBER,
                to,
                VERIFY_SITE,
            )
        })
        .collect::<Vec<_>>();
    assert_eq!(emails.len(), 2, "one email to each address");
    let info = store
        .store_issued(&IssuedFile {
            order_id: order.id,
            number: NUMBER,
            file,
            sha256: &sha256_hex(file),
            previous_sha256,
            registry_payload: "{}".into(),
            emails,
            at,
        })
        .await
        .unwrap()
        .expect("the order was open");
    info.id
}

impl World {
    fn maildir(&self) -> PathBuf {
        self.dir.0.join("maildir")
    }

    /// The events of each email of the certificate, oldest email first.
    async fn logs(&self) -> Vec<(String, Vec<String>)> {
        let mut out = Vec::new();
        for m in self.store.emails(Some(self.certificate_id), 10).await.unwrap().into_iter().rev() {
            let events = self.store.delivery_log(m.id).await.unwrap().into_iter().map(|e| e.event).collect();
            out.push((m.status, events));
        }
        out
    }
}

/// A message as the SMTP server stored it, read minimally: headers, and the parts of a multipart body.
struct Received {
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn parse(raw: &str) -> Received {
        let raw = raw.replace("\r\n", "\n");
        let (head, body) = raw.split_once("\n\n").expect("headers, a blank line, a body");
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.lines() {
            if line.starts_with([' ', '\t']) {
                let last = headers.last_mut().expect("a continuation follows a header");
                last.1.push(' ');
                last.1.push_str(line.trim());
            } else if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        Received { headers, body: body.to_owned() }
    }

    fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    /// The parts of a multipart body.
    fn parts(&self) -> Vec<Received> {
        let content_type = self.header("content-type").expect("a Content-Type");
        let boundary = content_type
            .split(';')
            .find_map(|p| p.trim().strip_prefix("boundary="))
            .expect("a multipart boundary")
            .trim_matches('"');
        let delimiter = format!("\n--{boundary}");
        let body = format!("\n{}", self.body);
        let mut parts = body.split(delimiter.as_str()).skip(1).collect::<Vec<_>>();
        assert!(parts.pop().is_some_and(|last| last.starts_with("--")), "the closing delimiter ends the body");
        parts
            .into_iter()
            .map(|p| Received::parse(p.trim_start_matches(|c| c != '\n').trim_start_matches('\n')))
            .collect()
    }

    /// The body, decoded from base64 (the only transfer encoding dcert uses).
    fn decoded(&self) -> Vec<u8> {
        assert_eq!(self.header("content-transfer-encoding"), Some("base64"));
        let b64: String = self.body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        base64ct::Base64::decode_vec(&b64).expect("valid base64")
    }
}

/// An RFC 2047 header value with base64 encoded words, decoded.
fn decode_header(value: &str) -> String {
    let mut bytes = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find("=?") {
        let between = &rest[..start];
        if !between.trim().is_empty() || bytes.is_empty() {
            bytes.extend_from_slice(between.as_bytes());
        }
        let word = &rest[start + 2..];
        let mut fields = word.splitn(3, '?');
        let (charset, encoding, tail) = (fields.next().unwrap(), fields.next().unwrap(), fields.next().unwrap());
        assert!(charset.eq_ignore_ascii_case("utf-8") && encoding.eq_ignore_ascii_case("b"), "{value}");
        let end = tail.find("?=").expect("an encoded word ends");
        bytes.extend(base64ct::Base64::decode_vec(&tail[..end]).expect("base64 in the encoded word"));
        rest = &tail[end + 2..];
    }
    bytes.extend_from_slice(rest.as_bytes());
    String::from_utf8(bytes).expect("UTF-8 once decoded")
}

/// Every message in the Maildir.
fn received(maildir: &Path) -> Vec<Received> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        let Ok(entries) = std::fs::read_dir(maildir.join(sub)) else { continue };
        for entry in entries {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            out.push(Received::parse(&String::from_utf8(bytes).expect("an ASCII message")));
        }
    }
    out
}

/// The recipients of the Maildir's messages, sorted.
fn recipients(messages: &[Received]) -> Vec<String> {
    let mut to: Vec<String> = messages.iter().map(|m| m.header("to").expect("a To header").to_owned()).collect();
    to.sort();
    to
}

fn both_addresses() -> Vec<String> {
    let mut both = vec![SCHOOL_ADDRESS.to_owned(), PERMANENT_ADDRESS.to_owned()];
    both.sort();
    both
}

#[tokio::test]
async fn both_addresses_receive_the_certificate_and_the_attachment_is_the_stored_file() {
    let w = world("delivered", PERMANENT_ADDRESS).await;
    let port = free_port();
    let _server = SmtpServer::start(port, &w.maildir()).await;

    let round = mail::deliver_due(&w.store, &mailer(port), AT + 10, 100).await.unwrap();
    assert_eq!(round, DeliveryRound { sent: 2, retried: 0, failed: 0 });

    let stored = w.store.certificate_file(w.certificate_id).await.unwrap();
    let info = w.store.certificate(w.certificate_id).await.unwrap().unwrap();
    assert_eq!(sha256_hex(&stored), info.sha256);
    let messages = received(&w.maildir());
    assert_eq!(recipients(&messages), both_addresses(), "each address gets exactly one message");
    let mut attachment = Vec::new();
    for m in &messages {
        assert_eq!(m.header("x-rcptto"), m.header("to"), "the envelope names the same recipient");
        let subject = decode_header(m.header("subject").expect("a Subject"));
        assert!(subject.contains("國立高雄科技大學數位學位證書") && subject.contains(SCHOOL_EN), "{subject}");
        assert!(decode_header(m.header("from").unwrap()).contains(SCHOOL_ZH));
        let parts = m.parts();
        assert_eq!(parts.len(), 2, "the text and the file");
        let text = String::from_utf8(parts[0].decoded()).expect("a UTF-8 body");
        assert!(parts[0].header("content-type").unwrap().starts_with("text/plain; charset=utf-8"));
        assert!(text.contains(NUMBER) && text.contains(NAME_ZH) && text.contains(VERIFY_SITE), "{text}");
        let file = &parts[1];
        assert_eq!(file.header("content-disposition"), Some("attachment; filename=\"NKUST-1132-000123-zh-v1.pdf\""),);
        assert_eq!(file.header("content-type"), Some("application/pdf"));
        attachment = file.decoded();
        assert_eq!(sha256_hex(&attachment), info.sha256, "the attachment is the stored file, byte for byte");
        assert_eq!(attachment, stored);
    }

    assert_eq!(info.delivery.sent, 2);
    for m in w.store.emails(Some(w.certificate_id), 10).await.unwrap() {
        assert_eq!((m.status.as_str(), m.attempts, m.sent_at), ("sent", 1, Some(AT + 10)));
        let log = w.store.delivery_log(m.id).await.unwrap();
        assert_eq!(log.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(), ["queued", "sent"]);
        assert!(log[1].detail.starts_with("250"), "the server's answer is logged: {}", log[1].detail);
    }

    // What the graduate received verifies with the offline verifier.
    // The binary of this very build: beside the directory of this test's executable
    // (target/<profile>/deps), whatever the target directory is.
    let this = std::env::current_exe().unwrap();
    let cli = this.parent().and_then(Path::parent).unwrap().join("dcert");
    assert!(
        cli.exists(),
        "{} is not built: run the workspace's tests (scripts/test) or cargo build -p dcert",
        cli.display()
    );
    let saved = w.dir.0.join("NKUST-1132-000123-zh-v1.pdf");
    std::fs::write(&saved, &attachment).unwrap();
    let trust = fixture("trust.json");
    // The verifier pins the fixture's root, as a real one pins the Ministry's.
    let root = dcert_core::trust::TrustList::verify(&std::fs::read(&trust).unwrap(), None).unwrap().root.fingerprint();
    let out = Command::new(&cli)
        .env("DCERT_VERIFIER_STATE", w.dir.0.join("verifier.toml"))
        .args(["verify", "--root-fingerprint", &root.to_string(), "--trust"])
        .arg(&trust)
        .args(["--at", "2026-01-15T00:00:00Z"])
        .arg(&saved)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "dcert verify:\n{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("SUCCESS"), "{stdout}");
}

#[tokio::test]
async fn with_the_smtp_server_down_messages_wait_and_are_delivered_once_when_it_returns() {
    let w = world("down", PERMANENT_ADDRESS).await;
    let port = free_port();
    let mailer = mailer(port);

    let round = mail::deliver_due(&w.store, &mailer, AT + 10, 100).await.unwrap();
    assert_eq!(round, DeliveryRound { sent: 0, retried: 2, failed: 0 });
    let waiting = w.store.emails(Some(w.certificate_id), 10).await.unwrap();
    assert_eq!(waiting.len(), 2, "nothing lost");
    for m in &waiting {
        assert_eq!((m.status.as_str(), m.attempts, m.next_attempt_at), ("pending", 1, AT + 10 + 60));
        assert!(m.last_error.as_deref().is_some_and(|e| !e.contains('@')), "{:?}", m.last_error);
    }
    assert_eq!(w.logs().await, vec![("pending".into(), vec!["queued".into(), "retry".into()]); 2]);
    assert_eq!(
        mail::deliver_due(&w.store, &mailer, AT + 69, 100).await.unwrap(),
        DeliveryRound::default(),
        "nothing is tried before its retry time"
    );

    let _server = SmtpServer::start(port, &w.maildir()).await;
    let round = mail::deliver_due(&w.store, &mailer, AT + 70, 100).await.unwrap();
    assert_eq!(round, DeliveryRound { sent: 2, retried: 0, failed: 0 });
    let again = mail::deliver_due(&w.store, &mailer, AT + 1_000_000, 100).await.unwrap();
    assert_eq!(again, DeliveryRound::default(), "a sent message is never sent again");

    let messages = received(&w.maildir());
    assert_eq!(messages.len(), 2);
    assert_eq!(recipients(&messages), both_addresses(), "each address gets exactly one message");
    let sent = vec!["queued".to_owned(), "retry".to_owned(), "sent".to_owned()];
    assert_eq!(w.logs().await, vec![("sent".into(), sent); 2]);
    assert_eq!(w.store.certificate(w.certificate_id).await.unwrap().unwrap().delivery.sent, 2);
}

/// An aiosmtpd Maildir handler that rejects every recipient whose address starts with `bounce`.
const REJECTING_HANDLER: &str = r#"
from aiosmtpd.handlers import Mailbox


class RejectingMailbox(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("bounce"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"
"#;

#[tokio::test]
async fn a_rejected_recipient_fails_for_good_without_blocking_the_other() {
    let w = world("rejected", "bounce@example.org").await;
    let handler_dir = w.dir.0.join("python");
    std::fs::create_dir_all(&handler_dir).unwrap();
    std::fs::write(handler_dir.join("dcert_test_smtp.py"), REJECTING_HANDLER).unwrap();
    let port = free_port();
    let _server =
        SmtpServer::start_with(port, &w.maildir(), "dcert_test_smtp.RejectingMailbox", Some(&handler_dir)).await;
    let mailer = mailer(port);

    let round = mail::deliver_due(&w.store, &mailer, AT + 10, 100).await.unwrap();
    assert_eq!(round, DeliveryRound { sent: 1, retried: 0, failed: 1 });
    assert_eq!(
        w.logs().await,
        vec![
            ("sent".into(), vec!["queued".into(), "sent".into()]),
            ("failed".into(), vec!["queued".into(), "failed".into()]),
        ],
        "the school address first, as queued"
    );
    let bounced = w.store.emails(Some(w.certificate_id), 10).await.unwrap().remove(0);
    assert_eq!(bounced.to, "bounce@example.org");
    assert!(bounced.last_error.as_deref().is_some_and(|e| e.contains("550")), "{:?}", bounced.last_error);
    let info = w.store.certificate(w.certificate_id).await.unwrap().unwrap();
    assert_eq!((info.delivery.sent, info.delivery.pending, info.delivery.failed), (1, 0, 1));

    assert_eq!(mail::deliver_due(&w.store, &mailer, AT + 1_000_000, 100).await.unwrap(), DeliveryRound::default());
    let messages = received(&w.maildir());
    assert_eq!(recipients(&messages), [SCHOOL_ADDRESS.to_owned()]);
}

#[tokio::test]
async fn a_certificate_reissued_before_its_emails_left_sends_only_the_new_version() {
    let w = world("reissued", PERMANENT_ADDRESS).await;
    let graduate = w.store.graduate_terms(STUDENT).await.unwrap().remove(0);
    let first = w.store.certificate_file(w.certificate_id).await.unwrap();
    // Another file stands for version 2: the store keeps bytes, it does not read them.
    let second = [first.as_slice(), b"\n%v2\n"].concat();
    let previous = sha256_hex(&first);
    let reissued = issue(&w.store, &graduate, OrderKind::Reissue, &second, Some(&previous), AT + 60).await;

    let withdrawn = w.store.emails(Some(w.certificate_id), 10).await.unwrap();
    assert_eq!(withdrawn.len(), 2);
    for m in &withdrawn {
        assert_eq!(m.status, "cancelled", "the outdated version's emails are withdrawn");
        let log = w.store.delivery_log(m.id).await.unwrap();
        let events: Vec<_> = log.iter().map(|e| (e.event.as_str(), e.detail.as_str())).collect();
        assert_eq!(events, [("queued", ""), ("cancelled", "superseded")]);
    }

    let port = free_port();
    let _server = SmtpServer::start(port, &w.maildir()).await;
    let round = mail::deliver_due(&w.store, &mailer(port), AT + 120, 100).await.unwrap();
    assert_eq!(round, DeliveryRound { sent: 2, retried: 0, failed: 0 });
    let messages = received(&w.maildir());
    assert_eq!(recipients(&messages), both_addresses(), "each address gets one message, not two");
    for m in &messages {
        let file = m.parts().remove(1);
        assert_eq!(file.header("content-disposition"), Some("attachment; filename=\"NKUST-1132-000123-zh-v2.pdf\""));
        assert_eq!(file.decoded(), second, "the attachment is the new version");
    }
    assert_eq!(w.store.certificate(reissued).await.unwrap().unwrap().delivery.sent, 2);
}
