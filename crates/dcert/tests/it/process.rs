//! What the tests that run the binary share: a temporary directory, a server process stopped
//! when dropped, a run of `dcert` with standard input, and plain HTTP to what it serves.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub use dcert_testkit::TempDir as Dir;

/// A server process, stopped when dropped.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `dcert ARGS` in `dir` with `stdin` on its standard input (no key passphrase).
pub fn dcert(dir: &Path, args: &[&str], stdin: &str) -> Output {
    run(Command::new(env!("CARGO_BIN_EXE_dcert")).args(args), dir, stdin)
}

/// Runs `dcert ARGS` in `dir` in a network namespace of its own (`unshare -rn`): no address
/// answers it, not even the loopback's.
pub fn dcert_without_network(dir: &Path, args: &[&str]) -> Output {
    let out = run(Command::new("unshare").args(["-rn", "--", env!("CARGO_BIN_EXE_dcert")]).args(args), dir, "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.starts_with("unshare:"),
        "the test needs unshare -rn (util-linux; root, or user namespaces allowed): {stderr}"
    );
    out
}

fn run(command: &mut Command, dir: &Path, stdin: &str) -> Output {
    let mut child = command
        .current_dir(dir)
        .env_remove("DCERT_KEY_PASSPHRASE")
        .env_remove("DCERT_ROOT_FINGERPRINT")
        .env("DCERT_VERIFIER_STATE", dir.join("verifier.toml"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that refuses its arguments may exit before it reads its input.
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "writing to {command:?}: {e}");
    }
    child.wait_with_output().unwrap()
}

/// A new directory named for `name` with the demo's data in `demo/` (`dcert demo --no-serve`).
pub fn demo_dir(name: &str) -> Dir {
    let dir = Dir::new(name);
    let out = dcert(&dir.0, &["demo", "--data-dir", "demo", "--no-serve"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    dir
}

/// Adds the account `username` (`name`, `role`) with `command` (`staff add` or `ministry
/// staff-add` and its `--config`), the password typed on standard input.
pub fn add_staff(dir: &Path, command: &[&str], username: &str, name: &str, role: &str) -> Output {
    let mut args = command.to_vec();
    args.extend(["--username", username, "--name", name, "--role", role]);
    dcert(dir, &args, "a long enough password\n")
}

/// One HTTP/1.1 exchange: the status code, the headers (lowercase names) and the body.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).unwrap();
    let end = answer.windows(4).position(|w| w == b"\r\n\r\n").expect("an HTTP answer");
    let head = String::from_utf8_lossy(&answer[..end]).into_owned();
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect::<Vec<_>>();
    let mut body = answer[end + 4..].to_vec();
    if headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked")) {
        body = unchunk(&body);
    }
    (status, headers, body)
}

fn unchunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[line_end + 2..line_end + 2 + size]);
        data = &data[line_end + 2 + size + 2..];
    }
}

/// Starts `dcert ARGS` in `dir` with the environment `env` (no key passphrase) and waits until
/// it answers `/healthz` on `port`.
pub fn serve(dir: &Path, args: &[&str], env: &[(&str, String)], port: u16) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dcert"));
    command.args(args).current_dir(dir).env_remove("DCERT_KEY_PASSPHRASE").stdout(Stdio::null()).stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut server = Server(command.spawn().unwrap());
    wait_healthy(&mut server, port);
    server
}

/// Waits until the server answers `/healthz` on `port`; panics with what it said if it stops.
fn wait_healthy(server: &mut Server, port: u16) {
    let start = Instant::now();
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() && http(port, "GET", "/healthz", &[], b"").0 == 200 {
            return;
        }
        if let Some(status) = server.0.try_wait().unwrap() {
            let mut err = String::new();
            server.0.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            panic!("the server stopped ({status}):\n{err}");
        }
        assert!(start.elapsed() < Duration::from_secs(240), "the site on {port} did not come up");
        std::thread::sleep(Duration::from_millis(250));
    }
}
