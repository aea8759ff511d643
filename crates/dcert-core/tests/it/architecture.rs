//! The boundaries ARCHITECTURE.md promises, checked: the core does no I/O, and the two parties'
//! web code do not reach into each other.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Crates that would let the core do I/O: an async runtime, a database, HTTP.
const FORBIDDEN_IN_CORE: &[&str] = &[
    "tokio",
    "async-std",
    "smol",
    "mio",
    "futures-io",
    "sqlx",
    "rusqlite",
    "libsqlite3-sys",
    "postgres",
    "tokio-postgres",
    "hyper",
    "http",
    "axum",
    "reqwest",
    "ureq",
    "lettre",
    "tower",
    "rustls",
    "native-tls",
];

#[test]
fn the_core_depends_on_no_async_runtime_database_or_http_crate() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(workspace())
        .args(["tree", "--offline", "-p", "dcert-core", "-e", "normal", "--prefix", "none", "--format", "{p}"])
        .output()
        .expect("cargo runs");
    assert!(out.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
    let tree = String::from_utf8(out.stdout).unwrap();
    let names: Vec<&str> = tree.lines().filter_map(|l| l.split_whitespace().next()).collect();
    assert!(names.contains(&"dcert-core") && names.len() > 10, "the tree was read: {names:?}");
    for name in FORBIDDEN_IN_CORE {
        assert!(!names.contains(name), "dcert-core depends on {name}");
    }
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

#[test]
fn the_university_and_ministry_web_code_do_not_import_each_other() {
    let src = workspace().join("crates/dcert-web/src");
    for (party, other) in [("university", "ministry"), ("ministry", "university")] {
        let files = rust_files(&src.join(party));
        assert!(files.len() > 5, "{party}'s files were found");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let needle = format!("crate::{other}");
            assert!(!text.contains(&needle), "{} uses {needle}", file.display());
        }
    }
}
