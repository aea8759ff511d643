#![doc = include_str!("../README.md")]

use std::path::{Path, PathBuf};

mod multipart;
pub mod pki;
pub mod sample;

pub use multipart::Multipart;

/// A new directory under the system's temporary one, removed with everything in it when
/// dropped (a panicking test included).
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A directory named `dcert-{name}-{random}`.
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("dcert-{name}-{}", random_hex(6)));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        TempDir(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A path inside it.
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `bytes` random bytes as lowercase hex.
pub fn random_hex(bytes: usize) -> String {
    let mut random = vec![0u8; bytes];
    getrandom::fill(&mut random).unwrap_or_else(|e| panic!("no randomness from the operating system: {e}"));
    random.iter().map(|b| format!("{b:02x}")).collect()
}

/// A port nothing listens on (yet) on the loopback interface.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("no free port: {e}"));
    listener.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// The PostgreSQL server the tests use: `DCERT_TEST_POSTGRES`, by default the machine's
/// `postgres://postgres@127.0.0.1:5432/test`.
pub fn postgres_url() -> String {
    std::env::var("DCERT_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_temporary_directory_is_removed_with_its_files_when_dropped() {
        let dir = TempDir::new("testkit");
        std::fs::write(dir.join("file"), b"x").unwrap();
        let path = dir.path().to_owned();
        assert!(path.join("file").is_file());
        drop(dir);
        assert!(!path.exists());
        assert_ne!(random_hex(6), random_hex(6));
        assert_ne!(free_port(), 0);
    }
}
