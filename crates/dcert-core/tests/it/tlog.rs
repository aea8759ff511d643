//! The transparency log against an independent RFC 6962 implementation (`ct-merkle`): the same
//! roots and byte-identical inclusion and consistency proofs for every tree up to 300 leaves,
//! each proof verified and every tampered one refused; and signed checkpoints.

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use dcert_core::tlog::{
    self, Checkpoint, CheckpointError, Hash, NoteVerifier, ProofError, consistency_proof, inclusion_proof, leaf_hash,
    root, verify_consistency, verify_inclusion,
};
use ed25519_dalek::SigningKey;
use sha2::Sha256;

/// The data of leaf `i`: distinct, of varied lengths.
fn data(i: usize) -> Vec<u8> {
    format!("record {i} {}", "x".repeat(i % 7)).into_bytes()
}

fn concat(hashes: &[Hash]) -> Vec<u8> {
    hashes.concat()
}

#[test]
fn roots_and_proofs_are_byte_identical_to_an_independent_implementation_for_every_tree_up_to_300_leaves() {
    let mut reference: MemoryBackedTree<Sha256, Vec<u8>> = MemoryBackedTree::new();
    let mut leaves: Vec<Hash> = Vec::new();
    let mut roots: Vec<Hash> = Vec::new();
    let mut checks = 0;
    for n in 1..=300usize {
        reference.push(data(n - 1));
        leaves.push(leaf_hash(&data(n - 1)));
        let size = n as u64;
        let ours = root(leaves.as_slice(), size).unwrap();
        assert_eq!(ours.as_slice(), reference.root().as_bytes().as_slice(), "root of {n}");
        roots.push(ours);
        // Inclusion: every leaf of the small trees, a spread of them in the larger.
        let indices: Vec<usize> = if n <= 64 { (0..n).collect() } else { vec![0, 1, n / 3, n / 2, n - 2, n - 1] };
        for i in indices {
            let path = inclusion_proof(leaves.as_slice(), i as u64, size).unwrap();
            assert_eq!(concat(&path), reference.prove_inclusion(i).as_bytes(), "inclusion of {i} in {n}");
            verify_inclusion(&leaves[i], i as u64, size, &path, &ours).unwrap();
            checks += 1;
        }
        // Consistency with every older size (of the small trees) or a spread of them.
        let olds: Vec<usize> = if n <= 64 { (1..n).collect() } else { vec![1, 2, n / 2, n - 1] };
        for m in olds {
            let proof = consistency_proof(leaves.as_slice(), m as u64, size).unwrap();
            let theirs = reference.prove_consistency(n - m);
            assert_eq!(concat(&proof), theirs.as_bytes(), "consistency {m} -> {n}");
            verify_consistency((m as u64, &roots[m - 1]), (size, &ours), &proof).unwrap();
            checks += 1;
        }
    }
    assert!(checks > 5000, "{checks} proofs compared");
}

#[test]
fn a_changed_leaf_a_removed_leaf_or_a_tampered_proof_is_refused() {
    let leaves: Vec<Hash> = (0..37).map(|i| leaf_hash(&data(i))).collect();
    let size = leaves.len() as u64;
    let r = root(leaves.as_slice(), size).unwrap();
    let path = inclusion_proof(leaves.as_slice(), 11, size).unwrap();
    verify_inclusion(&leaves[11], 11, size, &path, &r).unwrap();
    // A changed leaf, another index, another size, a flipped bit, a short or long path.
    assert_eq!(verify_inclusion(&leaf_hash(b"forged"), 11, size, &path, &r), Err(ProofError::RootMismatch));
    assert!(verify_inclusion(&leaves[11], 12, size, &path, &r).is_err());
    // (Another size may share this path: the checkpoint's signature binds the size to the root.)
    let mut flipped = path.clone();
    flipped[2][0] ^= 1;
    assert_eq!(verify_inclusion(&leaves[11], 11, size, &flipped, &r), Err(ProofError::RootMismatch));
    assert_eq!(verify_inclusion(&leaves[11], 11, size, &path[..path.len() - 1], &r), Err(ProofError::WrongLength));
    let mut longer = path.clone();
    longer.push([0; 32]);
    assert_eq!(verify_inclusion(&leaves[11], 11, size, &longer, &r), Err(ProofError::WrongLength));
    assert_eq!(verify_inclusion(&leaves[11], size, size, &path, &r), Err(ProofError::IndexOutOfRange));

    // A log that removed a leaf, or changed one, is not consistent with what it said before.
    let old = root(leaves.as_slice(), 20).unwrap();
    let proof = consistency_proof(leaves.as_slice(), 20, size).unwrap();
    verify_consistency((20, &old), (size, &r), &proof).unwrap();
    let mut removed = leaves.clone();
    removed.remove(5);
    let removed_root = root(removed.as_slice(), size - 1).unwrap();
    let proof_removed = consistency_proof(removed.as_slice(), 20, size - 1).unwrap();
    assert_eq!(
        verify_consistency((20, &old), (size - 1, &removed_root), &proof_removed),
        Err(ProofError::RootMismatch)
    );
    let mut changed = leaves.clone();
    changed[3] = leaf_hash(b"rewritten");
    let changed_root = root(changed.as_slice(), size).unwrap();
    let proof_changed = consistency_proof(changed.as_slice(), 20, size).unwrap();
    assert_eq!(verify_consistency((20, &old), (size, &changed_root), &proof_changed), Err(ProofError::RootMismatch));
    // A fork: two trees of the same size with different roots.
    assert_eq!(verify_consistency((size, &r), (size, &changed_root), &[]), Err(ProofError::RootMismatch));
    let mut flipped = proof.clone();
    flipped[0][31] ^= 0x80;
    assert_eq!(verify_consistency((20, &old), (size, &r), &flipped), Err(ProofError::RootMismatch));
    assert!(verify_consistency((20, &old), (size, &r), &proof[1..]).is_err());
    assert_eq!(verify_consistency((0, &old), (size, &r), &proof), Err(ProofError::IndexOutOfRange));
    assert_eq!(consistency_proof(leaves.as_slice(), 20, size + 1), Err(ProofError::BeyondTheTree));
}

#[test]
fn the_empty_tree_and_a_single_leaf_have_the_roots_rfc_6962_gives_them() {
    let empty: &[Hash] = &[];
    // RFC 6962 test vectors: the hash of nothing, and of the empty leaf.
    let hex = |h: &Hash| h.iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_eq!(hex(&root(empty, 0).unwrap()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_eq!(hex(&leaf_hash(b"")), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
    assert_eq!(root(empty, 1), Err(ProofError::BeyondTheTree));
}

fn signer(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

#[test]
fn a_checkpoint_opens_only_under_its_key_and_origin_and_says_exactly_what_was_signed() {
    const ORIGIN: &str = "dcert.moe.gov.tw/registry";
    let leaves: Vec<Hash> = (0..5).map(|i| leaf_hash(&data(i))).collect();
    let checkpoint = Checkpoint { origin: ORIGIN.into(), size: 5, root: root(leaves.as_slice(), 5).unwrap() };
    let key = signer(7);
    let note = checkpoint.sign(ORIGIN, &key);
    assert!(note.starts_with(&format!("{ORIGIN}\n5\n")), "{note}");
    assert!(note.contains(&format!("\n\n\u{2014} {ORIGIN} ")), "{note}");
    let verifier = NoteVerifier { name: ORIGIN.into(), key: key.verifying_key() };
    assert_eq!(Checkpoint::open(&note, ORIGIN, &verifier).unwrap(), checkpoint);

    // Another key, another log, a changed size or root: refused.
    let stranger = NoteVerifier { name: ORIGIN.into(), key: signer(8).verifying_key() };
    assert!(matches!(Checkpoint::open(&note, ORIGIN, &stranger), Err(CheckpointError::NotSigned(_))));
    assert!(matches!(Checkpoint::open(&note, "another.log", &verifier), Err(CheckpointError::WrongOrigin { .. })));
    let bigger = note.replacen("\n5\n", "\n6\n", 1);
    assert!(matches!(Checkpoint::open(&bigger, ORIGIN, &verifier), Err(CheckpointError::NotSigned(_))));
    let padded = note.replacen("\n5\n", "\n05\n", 1);
    assert!(Checkpoint::open(&padded, ORIGIN, &verifier).is_err(), "one text for one checkpoint");
    // A cosigner's line beside the log's own is ignored; a note too large is not read.
    let cosigned = format!("{note}\u{2014} witness.example AAAA{}\n", "A".repeat(88));
    assert_eq!(Checkpoint::open(&cosigned, ORIGIN, &verifier).unwrap(), checkpoint);
    let huge = format!("{ORIGIN}\n5\n{}\n{}\n\n", tlog::empty_root().len(), "x".repeat(tlog::MAX_NOTE_BYTES));
    assert_eq!(Checkpoint::open(&huge, ORIGIN, &verifier), Err(CheckpointError::TooLarge));
    assert!(matches!(Checkpoint::open("nonsense", ORIGIN, &verifier), Err(CheckpointError::Malformed(_))));
}

#[test]
fn a_log_leaf_names_the_certificate_by_a_hash_and_holds_no_personal_data() {
    let entry = tlog::LogEntry {
        institution: "nkust",
        event: "issued",
        file_sha256: &"a".repeat(64),
        number: "NKUST-113-2-C110152301",
        language: "zh",
        version: 2,
        previous_sha256: Some(&"b".repeat(64)),
        credential_type: "degree",
        at: 1_751_297_400,
    };
    let text = String::from_utf8(entry.bytes()).unwrap();
    assert!(!text.contains("C110152301"), "no student number: {text}");
    let id = tlog::certificate_id("NKUST-113-2-C110152301", "zh", 2);
    assert!(text.starts_with("dcert-log-v1\n") && text.contains(&format!("certificate={id}\n")), "{text}");
    assert_ne!(id, tlog::certificate_id("NKUST-113-2-C110152301", "zh", 1), "each version its own");
    assert_eq!(entry.leaf_hash(), leaf_hash(text.as_bytes()));
}

#[test]
fn a_tree_kept_in_memory_gives_the_same_roots_and_proofs_as_its_leaves_alone() {
    let mut tree = tlog::Tree::new();
    let mut leaves: Vec<Hash> = Vec::new();
    assert!(tree.is_empty());
    for n in 1..=130u64 {
        let leaf = leaf_hash(&data(n as usize));
        tree.push(leaf);
        leaves.push(leaf);
        assert_eq!(tree.len(), n);
        assert_eq!(root(&tree, n).unwrap(), root(leaves.as_slice(), n).unwrap(), "root of {n}");
        for i in [0, n / 2, n - 1] {
            assert_eq!(inclusion_proof(&tree, i, n).unwrap(), inclusion_proof(leaves.as_slice(), i, n).unwrap());
        }
        for m in [1, n / 2, n - 1].into_iter().filter(|m| *m >= 1) {
            assert_eq!(consistency_proof(&tree, m, n).unwrap(), consistency_proof(leaves.as_slice(), m, n).unwrap());
        }
        // A proof for an older size of the same tree.
        assert_eq!(root(&tree, n / 2 + 1).unwrap(), root(leaves.as_slice(), n / 2 + 1).unwrap());
    }
}

#[test]
fn a_verifier_key_is_written_as_signed_notes_write_it_and_read_back_only_when_intact() {
    let verifier = NoteVerifier { name: "dcert.moe.gov.tw/log".into(), key: signer(7).verifying_key() };
    let vkey = verifier.to_vkey();
    // name + 8 hex digits of key id + base64 of 0x01 and the key: 33 bytes, 44 characters.
    let parts: Vec<&str> = vkey.split('+').collect();
    assert_eq!((parts[0], parts[1].len(), parts[2].len()), ("dcert.moe.gov.tw/log", 8, 44), "{vkey}");
    assert_eq!(NoteVerifier::from_vkey(&vkey).unwrap(), verifier);
    // Keys whose base64 holds '+' and '/' read back too.
    for seed in 0..64 {
        let any = NoteVerifier { name: "127.0.0.1:8081/log".into(), key: signer(seed).verifying_key() };
        assert_eq!(NoteVerifier::from_vkey(&any.to_vkey()).unwrap(), any, "{}", any.to_vkey());
    }
    // Another name keeps the key but not the id; a changed key, id or algorithm: refused.
    let renamed = vkey.replacen("dcert.moe.gov.tw/log", "other.log", 1);
    assert!(NoteVerifier::from_vkey(&renamed).is_err(), "the id names the key under its name");
    let other = NoteVerifier { name: verifier.name.clone(), key: signer(8).verifying_key() }.to_vkey();
    let swapped = format!("{}+{}+{}", parts[0], parts[1], other.rsplit('+').next().unwrap());
    assert!(NoteVerifier::from_vkey(&swapped).is_err());
    for bad in ["", "name+1234+AAAA", "no-plus-signs", &vkey.replacen("+A", "+B", 1)] {
        assert!(NoteVerifier::from_vkey(bad).is_err(), "{bad}");
    }
    assert_eq!(tlog::origin_for("https://dcert.moe.gov.tw/"), "dcert.moe.gov.tw/log");
    assert_eq!(tlog::origin_for("http://127.0.0.1:8081"), "127.0.0.1:8081/log");
}

#[test]
fn inclusion_evidence_holds_for_its_own_leaf_only_under_the_log_s_key() {
    let mut log = tlog::MemoryLog::new("registry.test/log", signer(3));
    for i in 0..7 {
        let entry = entry(i);
        assert_eq!(log.append(&entry), i as u64);
    }
    let verifier = log.verifier();
    for i in 0..7u64 {
        let evidence = log.inclusion(i, 1_750_000_000 + i as i64).unwrap();
        let checkpoint = evidence.verify(&entry(i as usize).leaf_hash(), &verifier).unwrap();
        assert_eq!(checkpoint.size, 7);
        // Another record's leaf does not lead to the root.
        let other = entry((i as usize + 1) % 7).leaf_hash();
        assert!(matches!(evidence.verify(&other, &verifier), Err(tlog::InclusionError::Proof(_))));
    }
    let stranger = NoteVerifier { name: verifier.name.clone(), key: signer(4).verifying_key() };
    let evidence = log.inclusion(2, 0).unwrap();
    assert!(matches!(evidence.verify(&entry(2).leaf_hash(), &stranger), Err(tlog::InclusionError::Checkpoint(_))));
    assert_eq!(log.inclusion(7, 0), Err(ProofError::IndexOutOfRange));
}

/// A log entry numbered `i`.
fn entry(i: usize) -> tlog::LogEntry<'static> {
    const FILES: [&str; 7] = ["a0", "a1", "a2", "a3", "a4", "a5", "a6"];
    tlog::LogEntry {
        institution: "nkust",
        event: "issued",
        file_sha256: FILES[i],
        number: "NKUST-1",
        language: "zh",
        version: i as i64 + 1,
        previous_sha256: None,
        credential_type: "degree",
        at: 1_750_000_000 + i as i64,
    }
}

#[test]
fn the_right_edge_alone_gives_every_root_and_goes_on_from_a_saved_edge() {
    let leaves: Vec<Hash> = (0..300).map(|i| leaf_hash(&data(i))).collect();
    let mut edge = tlog::Frontier::new();
    assert_eq!(edge.root(), tlog::empty_root());
    for (n, leaf) in leaves.iter().enumerate() {
        edge.push(*leaf);
        let size = n as u64 + 1;
        assert_eq!(edge.size(), size);
        assert_eq!(edge.roots().len(), size.count_ones() as usize);
        assert_eq!(edge.root(), root(leaves.as_slice(), size).unwrap(), "size {size}");
        // Saved and read back, it goes on the same.
        let saved = tlog::Frontier::from_parts(size, edge.roots().to_vec()).unwrap();
        assert_eq!(saved, edge);
    }
    assert!(tlog::Frontier::from_parts(7, vec![[0; 32]; 2]).is_none(), "7 leaves have three subtrees");
}
