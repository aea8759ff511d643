//! `dcert bench log`: the transparency log in memory on one thread: appending records (each
//! leaf encoded and hashed, the tree completed), inclusion and consistency proofs made and
//! verified at the full size, the size of a proof, and signed checkpoints. The floor, measured in
//! the same run, is one interior-node hash (SHA-256 of 65 bytes): each figure is also given as
//! node hashes' worth of work. With `--store-records`, records are also appended through the
//! Ministry's store (each with its leaf, in its transaction) and its log checked against memory.

use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::Result;
use dcert_core::tlog::{self, Checkpoint, NoteVerifier, Tree};
use ed25519_dalek::SigningKey;
use serde::Serialize;

use super::core::{Rate, measure};

/// The figures of one run.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogFigures {
    /// Leaves in the tree.
    pub leaves: u64,
    /// Records appended (encoded, hashed, added to the tree).
    pub append: Rate,
    /// Inclusion proofs made and verified, at random leaves of the full tree.
    pub inclusion: Rate,
    /// Consistency proofs made and verified, from random older sizes to the full tree.
    pub consistency: Rate,
    /// Checkpoints signed and opened again.
    pub checkpoint: Rate,
    /// Interior-node hashes (the floor).
    pub floor: Rate,
    /// Bytes of an inclusion proof at the full size (the longest over a sample of leaves).
    pub inclusion_proof_bytes: usize,
    /// Bytes of a consistency proof at the full size (the longest over a sample of sizes).
    pub consistency_proof_bytes: usize,
    /// Records appended through the Ministry's store (each with its leaf, in its transaction),
    /// if asked for: the database, the records a transaction, and the rate.
    pub store: Option<StoreFigures>,
}

/// Records appended through the store.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreFigures {
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// Records a transaction (a signed submission's worth).
    pub batch: u64,
    /// The records appended.
    pub append: Rate,
    /// Whether the store's leaves give the same root as the same records in memory.
    pub same_root: bool,
}

/// A pseudo-random sequence (xorshift), so that runs pick the same leaves and sizes.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// What to measure through the store: how many records, in transactions of `batch`, on a fresh
/// SQLite file or on fresh schemas of the PostgreSQL server `database`.
pub struct StoreRun {
    pub records: u64,
    pub batch: u64,
    pub database: Option<String>,
}

pub fn run(leaves: u64, seconds: f64, store: Option<&StoreRun>) -> Result<LogFigures> {
    let budget = Duration::from_secs_f64(seconds);
    let mut tree = Tree::new();
    let start = Instant::now();
    for i in 0..leaves {
        tree.push(dcert_store::log_entry_hash(&record(i)));
    }
    let took = start.elapsed().as_secs_f64();
    let append = Rate { count: leaves, seconds: took, per_second: leaves as f64 / took };
    let size = tree.len();
    let root = tlog::root(&tree, size)?;

    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut longest_inclusion = 0;
    let inclusion = measure(budget, |_| {
        let index = next(&mut state) % size;
        let path = tlog::inclusion_proof(&tree, index, size).expect("a leaf of the tree");
        let leaf = tree_leaf(&tree, index);
        tlog::verify_inclusion(&leaf, index, size, &path, &root).expect("a proof of the tree verifies");
        longest_inclusion = longest_inclusion.max(path.len());
    });
    // Older sizes' roots: computed as a verifier would have them from earlier checkpoints.
    let mut longest_consistency = 0;
    let consistency = measure(budget, |_| {
        let old = 1 + next(&mut state) % (size - 1).max(1);
        let old = old.min(size);
        let old_root = tlog::root(&tree, old).expect("an older size");
        let proof = tlog::consistency_proof(&tree, old, size).expect("an older size");
        tlog::verify_consistency((old, &old_root), (size, &root), &proof).expect("consistent");
        longest_consistency = longest_consistency.max(proof.len());
    });
    let key = SigningKey::from_bytes(&[7; 32]);
    let origin = "bench.dcert/log";
    let verifier = NoteVerifier { name: origin.into(), key: key.verifying_key() };
    let checkpoint = Checkpoint { origin: origin.into(), size, root };
    let signed = measure(budget, |_| {
        let note = checkpoint.sign(origin, &key);
        black_box(Checkpoint::open(&note, origin, &verifier).expect("its own checkpoint opens"));
    });
    let (a, b) = (root, tlog::empty_root());
    let floor = measure(budget, |_| {
        black_box(tlog::node_hash(black_box(&a), black_box(&b)));
    });
    Ok(LogFigures {
        leaves: size,
        append,
        inclusion,
        consistency,
        checkpoint: signed,
        floor,
        inclusion_proof_bytes: longest_inclusion * 32,
        consistency_proof_bytes: longest_consistency * 32,
        store: match store {
            Some(run) => Some(store_append(run)?),
            None => None,
        },
    })
}

/// Registry record `i` of a run: an issued degree certificate of a made-up number.
fn record(i: u64) -> dcert_store::RegistryRecord {
    dcert_store::RegistryRecord {
        institution: "bench".into(),
        sha256: format!("{i:064x}"),
        event: "issued".into(),
        number: format!("BENCH-113-2-C{i:09}"),
        language: "zh".into(),
        version: 1,
        previous_sha256: None,
        credential_type: "degree".into(),
        credential_sha256: Some(format!("{:064x}", i + (1 << 62))),
        reason: None,
        at: 1_751_297_400 + i as i64,
    }
}

/// Appends `run.records` registry records through the Ministry's store as signed submissions of
/// `run.batch` records, then checks the store's log against the same records in memory.
fn store_append(run: &StoreRun) -> Result<StoreFigures> {
    let dir = super::issue::TempDir::new()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let (store, schema) = match run.database.as_deref() {
            None => {
                (crate::server::open_ministry(&format!("sqlite://{}", dir.0.join("log.db").display())).await?, None)
            }
            Some(url) if url.starts_with("postgres:") || url.starts_with("postgresql:") => {
                let schema = dcert_store::ScratchSchema::create(url, "dcert_bench_log").await?;
                (crate::server::open_ministry(schema.url()).await?, Some(schema))
            }
            Some(_) => return Err(crate::commands::wrong("--database must be a postgres:// URL")),
        };
        let backend = if schema.is_some() { "postgres" } else { "sqlite" };
        let start = Instant::now();
        let mut i = 0;
        while i < run.records {
            let records: Vec<_> = (i..(i + run.batch).min(run.records)).map(record).collect();
            store.append_signed_records("bench", &format!("bench-nonce-{i:016}"), 1_751_297_400, &records).await?;
            i += records.len() as u64;
        }
        let took = start.elapsed().as_secs_f64();
        let leaves = store.log_leaves(0, run.records as i64).await?;
        let mut memory = Tree::new();
        for i in 0..run.records {
            memory.push(dcert_store::log_entry_hash(&record(i)));
        }
        let same_root = leaves.len() as u64 == run.records
            && tlog::root(leaves.as_slice(), run.records)? == tlog::root(&memory, run.records)?;
        store.close().await;
        if let Some(schema) = schema {
            schema.drop_now().await?;
        }
        Ok(StoreFigures {
            backend: backend.into(),
            batch: run.batch,
            append: Rate { count: run.records, seconds: took, per_second: run.records as f64 / took },
            same_root,
        })
    })
}

/// Leaf `index` of `tree`.
fn tree_leaf(tree: &Tree, index: u64) -> tlog::Hash {
    use tlog::LeafHashes;
    tree.perfect_root(index, 0)
}

pub fn text(f: &LogFigures) -> String {
    let row = |name: &str, r: &Rate| {
        format!(
            "  {name:<12} {:>11.0} /s  {:>10.1} node hashes each  ({} in {:.1} s)\n",
            r.per_second,
            f.floor.per_second / r.per_second,
            r.count,
            r.seconds
        )
    };
    let mut s = format!("dcert bench log: one thread, {} leaves in memory\n", f.leaves);
    s.push_str(&row("append", &f.append));
    s.push_str(&row("inclusion", &f.inclusion));
    s.push_str(&row("consistency", &f.consistency));
    s.push_str(&row("checkpoint", &f.checkpoint));
    s.push_str(&row("floor", &f.floor));
    s.push_str(&format!(
        "  proof sizes at {} leaves: inclusion {} bytes, consistency {} bytes\n",
        f.leaves, f.inclusion_proof_bytes, f.consistency_proof_bytes
    ));
    if let Some(store) = &f.store {
        s.push_str(&format!(
            "  through the store ({}, {} records a transaction): {:.0} records/s ({} in {:.1} s), same root: {}\n",
            store.backend,
            store.batch,
            store.append.per_second,
            store.append.count,
            store.append.seconds,
            store.same_root
        ));
    }
    s
}
