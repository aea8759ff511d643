//! What the tests that run the binary share: a temporary directory, a server process stopped
//! when dropped, and a run of `dcert` with standard input.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

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
    let mut child = Command::new(env!("CARGO_BIN_EXE_dcert"))
        .args(args)
        .current_dir(dir)
        .env_remove("DCERT_KEY_PASSPHRASE")
        .env_remove("DCERT_ROOT_FINGERPRINT")
        .env("DCERT_VERIFIER_STATE", dir.join("verifier.toml"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}
