//! `dcert serve` as an operator runs it: keys from the CLI, a configuration file with an
//! environment override, accounts and graduates added by commands while it runs, both sites up.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use dcert_testkit::free_port;

use crate::process::{Dir, Server};
use std::time::{Duration, Instant};

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

/// A plain HTTP GET: the status line and the body.
fn get(port: u16, path: &str) -> Option<(String, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.lines().next()?.to_owned();
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Some((status, body))
}

#[test]
fn serve_runs_both_sites_from_a_configuration_file_with_environment_overrides() {
    let dir = Dir::new("serve");
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

    // The file says 8080; the environment moves the university to a free port.
    let server = Command::new(env!("CARGO_BIN_EXE_dcert"))
        .args(["serve", "--config", "dcert.toml"])
        .current_dir(d)
        .env("DCERT_SERVER__LISTEN", format!("127.0.0.1:{university}"))
        .env("DCERT_WORKER__INTERVAL_SECONDS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = Server(server);
    let start = Instant::now();
    while get(university, "/healthz").is_none_or(|(s, _)| !s.contains("200")) {
        if let Some(status) = server.0.try_wait().unwrap() {
            let mut err = String::new();
            server.0.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            panic!("dcert serve stopped ({status}):\n{err}");
        }
        assert!(start.elapsed() < Duration::from_secs(60), "the university site did not come up");
        std::thread::sleep(Duration::from_millis(200));
    }
    let (status, body) = get(ministry, "/healthz").unwrap();
    assert!(status.contains("200") && body == "ok\n", "{status} {body}");
    let (status, trust) = get(ministry, "/trust.json").unwrap();
    assert!(status.contains("200"));
    assert_eq!(trust.as_bytes(), std::fs::read(d.join("trust.json")).unwrap(), "the trust list as exported");

    // Operators add accounts and graduates while it runs.
    dcert(
        d,
        &[
            "staff",
            "add",
            "--config",
            "dcert.toml",
            "--username",
            "registrar",
            "--name",
            "註冊組",
            "--role",
            "registrar",
        ],
        "a long enough password\n",
    );
    let roster = "student_number,term,campus,name_zh,name_en,birth_date,college_zh,college_en,department_zh,\
                  department_en,degree_level,degree_zh,degree_en,graduation_date,diploma_number\n\
                  C110152301,113-2,建工,王小明,\"WANG, HSIAO-MING\",2002-03-14,電資學院,College of EECS,\
                  電子工程系,Department of Electronic Engineering,bachelor,工學學士,Bachelor of Science in Engineering,\
                  2025-06-30,D1\n";
    std::fs::write(d.join("class.csv"), roster).unwrap();
    let out = dcert(d, &["import", "graduates", "--config", "dcert.toml", "--campus", "建工", "class.csv"], "");
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 new"));
    dcert(
        d,
        &["graduates", "set-password", "--config", "dcert.toml"],
        "student_number,password\nC110152301,graduate-password\n",
    );
    let (status, page) = get(university, "/contact").unwrap();
    assert!(status.contains("200"));
    assert!(page.contains("建工校區") && page.contains("51103"), "the campuses of the configuration");
    let (status, _) = get(university, "/console").unwrap();
    assert!(status.contains("303"), "the console asks for a login: {status}");
}
