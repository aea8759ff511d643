//! The transparency log of issuance records: an append-only Merkle tree with RFC 6962 hashing
//! (RFC 9162 §2.1), its inclusion and consistency proofs and their verification, and signed
//! checkpoints in the C2SP `tlog-checkpoint` format, signed as C2SP signed notes with Ed25519.
//!
//! A leaf is whatever bytes the log records (for dcert: an issuance record's hashes and
//! identifiers, never personal data); its hash is `SHA-256(0x00 || bytes)`, an interior node's
//! `SHA-256(0x01 || left || right)`. Proofs are made from a [`LeafHashes`] source, which only
//! has to give the roots of perfect, aligned subtrees (a store can keep them); verification needs
//! nothing but the proof, so a verifier believes no server's word for it.

use base64ct::{Base64, Encoding};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

/// The key that signs a log's checkpoints (Ed25519).
pub use ed25519_dalek::SigningKey as LogKey;

/// A SHA-256 hash of the tree.
pub type Hash = [u8; 32];

/// A hash as the log's JSON writes it: standard base64.
pub fn hash_to_base64(hash: &Hash) -> String {
    Base64::encode_string(hash)
}

/// A hash written by [`hash_to_base64`]; `None` if it is not one.
pub fn hash_from_base64(text: &str) -> Option<Hash> {
    Base64::decode_vec(text).ok()?.try_into().ok()
}

/// The `path` of a proof as the log's API gives it (`{"path": [base64, …]}`): `None` if it is not
/// a list of hashes. At most [`MAX_PATH`] + 1 are read: a longer path fails any proof anyway.
pub fn path_from_json(value: &serde_json::Value) -> Option<Vec<Hash>> {
    let path = value.get("path")?.as_array()?;
    path.iter().take(MAX_PATH + 1).map(|h| hash_from_base64(h.as_str()?)).collect()
}

/// The hash of a leaf holding `data`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// The hash of an interior node over `left` and `right`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: the hash of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Where a proof's hashes come from: the log's leaf hashes, of which a source need only answer
/// the roots of perfect subtrees aligned on their size.
pub trait LeafHashes {
    /// How many leaves the tree has.
    fn size(&self) -> u64;

    /// The root of the perfect subtree of `2^height` leaves starting at leaf `start` (a multiple
    /// of `2^height`, within the tree).
    fn perfect_root(&self, start: u64, height: u32) -> Hash;
}

impl LeafHashes for [Hash] {
    fn size(&self) -> u64 {
        self.len() as u64
    }

    fn perfect_root(&self, start: u64, height: u32) -> Hash {
        if height == 0 {
            return self[start as usize];
        }
        let half = 1u64 << (height - 1);
        node_hash(&self.perfect_root(start, height - 1), &self.perfect_root(start + half, height - 1))
    }
}

/// A tree kept in memory with every level of perfect subtrees, so that a root or a proof costs
/// a lookup for each of its hashes (a million leaves take 64 MB).
#[derive(Clone, Debug, Default)]
pub struct Tree {
    /// `levels[h][i]`: the root of the perfect subtree of height `h` starting at leaf `i << h`.
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    /// An empty tree.
    pub fn new() -> Tree {
        Tree::default()
    }

    /// Appends a leaf (its hash), completing the perfect subtrees it closes.
    pub fn push(&mut self, leaf: Hash) {
        let mut carry = leaf;
        let mut height = 0;
        loop {
            if self.levels.len() == height {
                self.levels.push(Vec::new());
            }
            let level = &mut self.levels[height];
            level.push(carry);
            if level.len() % 2 == 1 {
                return;
            }
            carry = node_hash(&level[level.len() - 2], &level[level.len() - 1]);
            height += 1;
        }
    }

    /// How many leaves it has.
    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl LeafHashes for Tree {
    fn size(&self) -> u64 {
        self.len()
    }

    fn perfect_root(&self, start: u64, height: u32) -> Hash {
        self.levels[height as usize][(start >> height) as usize]
    }
}

/// The largest power of two smaller than `n` (for `n > 1`).
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// The root of the leaves `start..start + len` (`len > 0`), the MTH of RFC 6962 over that range.
fn range_root<T: LeafHashes + ?Sized>(tree: &T, start: u64, len: u64) -> Hash {
    if len.is_power_of_two() {
        return tree.perfect_root(start, len.trailing_zeros());
    }
    let k = split(len);
    node_hash(&range_root(tree, start, k), &range_root(tree, start + k, len - k))
}

/// The tree's root hash (of its first `size` leaves).
pub fn root<T: LeafHashes + ?Sized>(tree: &T, size: u64) -> Result<Hash, ProofError> {
    if size > tree.size() {
        return Err(ProofError::BeyondTheTree);
    }
    Ok(if size == 0 { empty_root() } else { range_root(tree, 0, size) })
}

/// The audit path of leaf `index` in the tree of the first `size` leaves (RFC 6962 `PATH`), from
/// the leaf up.
pub fn inclusion_proof<T: LeafHashes + ?Sized>(tree: &T, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
    if size > tree.size() {
        return Err(ProofError::BeyondTheTree);
    }
    if index >= size {
        return Err(ProofError::IndexOutOfRange);
    }
    let mut path = Vec::new();
    // The subtree `start..start + len` holds the leaf; descend, keeping the sibling of each step.
    let mut steps = Vec::new();
    let (mut start, mut len) = (0, size);
    while len > 1 {
        let k = split(len);
        if index < start + k {
            steps.push((start + k, len - k));
            len = k;
        } else {
            steps.push((start, k));
            start += k;
            len -= k;
        }
    }
    for (sibling_start, sibling_len) in steps.into_iter().rev() {
        path.push(range_root(tree, sibling_start, sibling_len));
    }
    Ok(path)
}

/// The proof that the tree of the first `old_size` leaves is a prefix of the tree of the first
/// `new_size` (RFC 6962 `PROOF`). Empty when the sizes are equal.
pub fn consistency_proof<T: LeafHashes + ?Sized>(
    tree: &T,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, ProofError> {
    if new_size > tree.size() {
        return Err(ProofError::BeyondTheTree);
    }
    if old_size == 0 || old_size > new_size {
        return Err(ProofError::IndexOutOfRange);
    }
    let mut proof = Vec::new();
    subproof(tree, old_size, (0, new_size), true, &mut proof);
    Ok(proof)
}

/// RFC 6962 `SUBPROOF(m, D[start:start + n], b)`, its hashes appended to `proof` in order.
fn subproof<T: LeafHashes + ?Sized>(tree: &T, m: u64, (start, n): (u64, u64), whole: bool, proof: &mut Vec<Hash>) {
    if m == n {
        if !whole {
            proof.push(range_root(tree, start, n));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(tree, m, (start, k), whole, proof);
        proof.push(range_root(tree, start + k, n - k));
    } else {
        subproof(tree, m - k, (start + k, n - k), false, proof);
        proof.push(range_root(tree, start, k));
    }
}

/// Why a proof was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The index or the older size is not within the tree.
    #[error("the leaf index or the older tree size is out of range")]
    IndexOutOfRange,
    /// A size beyond the leaves the log has.
    #[error("the tree does not have that many leaves")]
    BeyondTheTree,
    /// The proof has the wrong number of hashes for those sizes.
    #[error("the proof has the wrong number of hashes")]
    WrongLength,
    /// The proof does not lead to the root (or roots) it is checked against.
    #[error("the proof does not match the root hash")]
    RootMismatch,
}

/// Walks a proof's hashes up the tree from node `f_n` of a level whose last node is `s_n`
/// (RFC 9162's loop), telling `step` each hash and whether it is the left sibling; refuses a
/// path too long or too short for the tree.
fn walk<'a>(
    mut f_n: u64,
    mut s_n: u64,
    path: impl Iterator<Item = &'a Hash>,
    mut step: impl FnMut(&Hash, bool),
) -> Result<(), ProofError> {
    for sibling in path {
        if s_n == 0 {
            return Err(ProofError::WrongLength);
        }
        let on_the_left = f_n & 1 == 1 || f_n == s_n;
        step(sibling, on_the_left);
        if on_the_left && f_n & 1 == 0 {
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(ProofError::WrongLength);
    }
    Ok(())
}

/// Checks that `leaf` (a leaf hash) is leaf `index` of the tree of `size` leaves whose root is
/// `root`, by its audit `path` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, path: &[Hash], root: &Hash) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange);
    }
    let mut r = *leaf;
    walk(index, size - 1, path.iter(), |sibling, on_the_left| {
        r = if on_the_left { node_hash(sibling, &r) } else { node_hash(&r, sibling) };
    })?;
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Checks that the tree of `old_size` leaves with root `old_root` is a prefix of the tree of
/// `new_size` leaves with root `new_root`, by their consistency `proof` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    (old_size, old_root): (u64, &Hash),
    (new_size, new_root): (u64, &Hash),
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size == 0 || old_size > new_size {
        return Err(ProofError::IndexOutOfRange);
    }
    if old_size == new_size {
        return match (proof.is_empty(), old_root == new_root) {
            (false, _) => Err(ProofError::WrongLength),
            (true, false) => Err(ProofError::RootMismatch),
            (true, true) => Ok(()),
        };
    }
    // When the old tree is a perfect subtree, its root starts the walk.
    let mut path: Vec<&Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(old_root);
    }
    path.extend(proof);
    // The old tree's last node, up past the levels where it is a right child (its root is the
    // proof's first hash).
    let mut f_n = old_size - 1;
    let mut s_n = new_size - 1;
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let Some((first, rest)) = path.split_first() else { return Err(ProofError::WrongLength) };
    let (mut fr, mut sr) = (**first, **first);
    walk(f_n, s_n, rest.iter().copied(), |c, on_the_left| {
        if on_the_left {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
        } else {
            sr = node_hash(&sr, c);
        }
    })?;
    if fr != *old_root || sr != *new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

// ----- the right edge -----

/// The right edge of a tree: the roots of its perfect subtrees, largest first. Enough to append
/// leaves and compute each new root without the leaves themselves: what a monitor keeps
/// between runs (at most 64 hashes) to check that the leaves a log serves are the ones its
/// checkpoints sign.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    roots: Vec<Hash>,
}

impl Frontier {
    /// The edge of the empty tree.
    pub fn new() -> Frontier {
        Frontier::default()
    }

    /// The edge of a tree of `size` leaves, from its subtrees' roots (one for each bit set in
    /// `size`, largest first); `None` if their number does not fit the size.
    pub fn from_parts(size: u64, roots: Vec<Hash>) -> Option<Frontier> {
        (roots.len() == size.count_ones() as usize).then_some(Frontier { size, roots })
    }

    /// How many leaves the tree has.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The subtrees' roots, largest first.
    pub fn roots(&self) -> &[Hash] {
        &self.roots
    }

    /// Appends a leaf's hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut hash = leaf;
        let mut size = self.size;
        while size & 1 == 1 {
            let left = self.roots.pop().expect("one root for each bit set in the size");
            hash = node_hash(&left, &hash);
            size >>= 1;
        }
        self.roots.push(hash);
        self.size += 1;
    }

    /// The tree's root hash.
    pub fn root(&self) -> Hash {
        let mut roots = self.roots.iter().rev();
        let Some(last) = roots.next() else { return empty_root() };
        roots.fold(*last, |right, left| node_hash(left, &right))
    }
}

// ----- leaves -----

/// What the log records of one issuance record: hashes and identifiers only, never a name or a
/// student number (the certificate is named by the hash of its number, language and version,
/// which its institution can compute and a stranger cannot reverse into a person).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry<'a> {
    /// The institution's registry id.
    pub institution: &'a str,
    /// `issued`, `superseded` or `revoked`.
    pub event: &'a str,
    /// The file's SHA-256, lowercase hex.
    pub file_sha256: &'a str,
    /// The certificate's number.
    pub number: &'a str,
    /// `zh` or `en`.
    pub language: &'a str,
    /// The version.
    pub version: i64,
    /// The previous version's file SHA-256, for an issued record that has one.
    pub previous_sha256: Option<&'a str>,
    /// `degree` or `teacher`.
    pub credential_type: &'a str,
    /// When the registry recorded it (Unix seconds).
    pub at: i64,
}

/// The hash that names a certificate in the log: SHA-256 of its number, language and version,
/// one a line.
pub fn certificate_id(number: &str, language: &str, version: i64) -> String {
    crate::Sha256Digest::of(format!("{number}\n{language}\n{version}").as_bytes()).to_string()
}

impl LogEntry<'_> {
    /// The leaf's bytes: a versioned text of `key=value` lines, one text for one record.
    pub fn bytes(&self) -> Vec<u8> {
        format!(
            "dcert-log-v1\ninstitution={}\nevent={}\nfile={}\ncertificate={}\nprevious={}\ntype={}\nat={}\n",
            self.institution,
            self.event,
            self.file_sha256,
            certificate_id(self.number, self.language, self.version),
            self.previous_sha256.unwrap_or("-"),
            self.credential_type,
            self.at
        )
        .into_bytes()
    }

    /// The leaf's hash.
    pub fn leaf_hash(&self) -> Hash {
        leaf_hash(&self.bytes())
    }
}

// ----- checkpoints -----

/// A checkpoint: the log's origin (its name), its size and root hash at a moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's unique name, e.g. `dcert.moe.gov.tw/registry`.
    pub origin: String,
    /// How many leaves the tree has.
    pub size: u64,
    /// The root hash of those leaves.
    pub root: Hash,
}

/// The most bytes a signed checkpoint may have (a few signatures' worth).
pub const MAX_NOTE_BYTES: usize = 4096;

/// Why a signed checkpoint was not accepted.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// Larger than [`MAX_NOTE_BYTES`].
    #[error("the signed checkpoint is larger than {MAX_NOTE_BYTES} bytes")]
    TooLarge,
    /// Not a checkpoint: the lines are not origin, size and root hash.
    #[error("not a checkpoint: {0}")]
    Malformed(&'static str),
    /// No signature by the expected key, or one that does not verify.
    #[error("no valid signature by {0}")]
    NotSigned(String),
    /// The checkpoint is of another log.
    #[error("the checkpoint is of the log {found}, not {expected}")]
    WrongOrigin {
        /// The origin expected.
        expected: String,
        /// The origin found.
        found: String,
    },
}

/// A note signer's key: its name and Ed25519 public key, as C2SP signed notes identify it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    /// The key's name (for dcert: the log's origin).
    pub name: String,
    /// The Ed25519 public key.
    pub key: VerifyingKey,
}

impl NoteVerifier {
    /// The key's 4-byte id: the start of `SHA-256(name || "\n" || 0x01 || public key)` (0x01
    /// names Ed25519).
    pub fn key_id(&self) -> [u8; 4] {
        let mut h = Sha256::new();
        h.update(self.name.as_bytes());
        h.update(b"\n\x01");
        h.update(self.key.as_bytes());
        let digest = h.finalize();
        [digest[0], digest[1], digest[2], digest[3]]
    }
}

impl NoteVerifier {
    /// The key as C2SP signed notes write a verifier key: `name+keyid+base64(0x01 || key)`,
    /// the key id in eight hexadecimal digits.
    pub fn to_vkey(&self) -> String {
        let mut blob = vec![1u8];
        blob.extend_from_slice(self.key.as_bytes());
        format!("{}+{}+{}", self.name, crate::digest::hex(&self.key_id()), Base64::encode_string(&blob))
    }

    /// Reads a verifier key written by [`NoteVerifier::to_vkey`]: an Ed25519 key whose stated
    /// id is its own.
    pub fn from_vkey(vkey: &str) -> Result<NoteVerifier, CheckpointError> {
        let bad = || CheckpointError::Malformed("the verifier key");
        // The name holds no '+'; the key's base64 may.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id), Some(blob)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        if name.is_empty() || name.contains(char::is_whitespace) || id.len() != 8 {
            return Err(bad());
        }
        let blob = Base64::decode_vec(blob).map_err(|_| bad())?;
        let key: [u8; 32] = match blob.split_first() {
            Some((1, key)) => key.try_into().map_err(|_| bad())?,
            _ => return Err(bad()),
        };
        let key = VerifyingKey::from_bytes(&key).map_err(|_| bad())?;
        let verifier = NoteVerifier { name: name.to_owned(), key };
        if crate::digest::hex(&verifier.key_id()) != id {
            return Err(bad());
        }
        Ok(verifier)
    }
}

/// The origin (the unique name) of the log of the registry at `registry_url`: the URL without
/// its scheme or trailing slash, then `/log` (`https://dcert.moe.gov.tw` → `dcert.moe.gov.tw/log`).
pub fn origin_for(registry_url: &str) -> String {
    let url = registry_url.trim_end_matches('/');
    let bare = url.split_once("://").map_or(url, |(_, rest)| rest);
    format!("{bare}/log")
}

impl Checkpoint {
    /// The checkpoint's text: origin, size and base64 root hash, one a line.
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, Base64::encode_string(&self.root))
    }

    /// The checkpoint as a signed note, signed with `key` under the name `name`.
    pub fn sign(&self, name: &str, key: &SigningKey) -> String {
        let body = self.body();
        let verifier = NoteVerifier { name: name.to_owned(), key: key.verifying_key() };
        let signature = key.sign(body.as_bytes());
        let mut blob = verifier.key_id().to_vec();
        blob.extend_from_slice(&signature.to_bytes());
        format!("{body}\n\u{2014} {name} {}\n", Base64::encode_string(&blob))
    }

    /// Reads a signed checkpoint of the log `origin`, believing it only if `verifier` signed it
    /// (signatures by other keys are ignored, as C2SP allows cosigners).
    pub fn open(note: &str, origin: &str, verifier: &NoteVerifier) -> Result<Checkpoint, CheckpointError> {
        if note.len() > MAX_NOTE_BYTES {
            return Err(CheckpointError::TooLarge);
        }
        let split = note.find("\n\n").ok_or(CheckpointError::Malformed("no blank line before the signatures"))?;
        let (body, signatures) = (&note[..split + 1], &note[split + 2..]);
        let mut signed = false;
        for line in signatures.split_terminator('\n') {
            let rest = line.strip_prefix("\u{2014} ").ok_or(CheckpointError::Malformed("a signature line"))?;
            let (name, blob) = rest.split_once(' ').ok_or(CheckpointError::Malformed("a signature line"))?;
            let Ok(blob) = Base64::decode_vec(blob) else { continue };
            if name != verifier.name || blob.len() != 68 || blob[..4] != verifier.key_id() {
                continue;
            }
            let Ok(signature) = Signature::from_slice(&blob[4..]) else { continue };
            if verifier.key.verify(body.as_bytes(), &signature).is_ok() {
                signed = true;
            }
        }
        if !signed {
            return Err(CheckpointError::NotSigned(verifier.name.clone()));
        }
        let checkpoint = Checkpoint::parse(body)?;
        if checkpoint.origin != origin {
            return Err(CheckpointError::WrongOrigin { expected: origin.to_owned(), found: checkpoint.origin });
        }
        Ok(checkpoint)
    }

    /// The checkpoint in a note's text (extension lines after the root are allowed and ignored).
    fn parse(body: &str) -> Result<Checkpoint, CheckpointError> {
        let mut lines = body.split_terminator('\n');
        let origin = lines.next().filter(|o| !o.is_empty()).ok_or(CheckpointError::Malformed("no origin"))?;
        let size = lines.next().ok_or(CheckpointError::Malformed("no tree size"))?;
        // Decimal, without sign or leading zeros: one text for one checkpoint.
        let canonical = size.bytes().all(|b| b.is_ascii_digit()) && (size == "0" || !size.starts_with('0'));
        let size: u64 = size.parse().ok().filter(|_| canonical).ok_or(CheckpointError::Malformed("the tree size"))?;
        let root = lines.next().ok_or(CheckpointError::Malformed("no root hash"))?;
        let root = Base64::decode_vec(root).map_err(|_| CheckpointError::Malformed("the root hash"))?;
        let root: Hash = root.try_into().map_err(|_| CheckpointError::Malformed("the root hash"))?;
        if lines.any(str::is_empty) {
            return Err(CheckpointError::Malformed("an empty extension line"));
        }
        Ok(Checkpoint { origin: origin.to_owned(), size, root })
    }
}

// ----- inclusion evidence -----

/// The most hashes an inclusion path may have (a tree of 2^64 leaves).
pub const MAX_PATH: usize = 64;

/// A registry's evidence that one record is in its log: a signed checkpoint, the record's leaf
/// index and its inclusion path under that checkpoint, and when the record was made (a field
/// of its leaf that the verifier cannot know otherwise).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inclusion {
    /// The signed checkpoint the proof is made against (a signed note).
    pub checkpoint: String,
    /// The record's leaf index.
    pub leaf_index: u64,
    /// When the registry recorded it (Unix seconds): the leaf's `at`.
    pub recorded_at: i64,
    /// The inclusion path, from the leaf up.
    pub path: Vec<Hash>,
}

/// Why inclusion evidence was not accepted.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum InclusionError {
    /// The checkpoint is not the log's, or not signed by its key.
    #[error("the checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The path does not lead from the leaf to the checkpoint's root.
    #[error("the inclusion proof: {0}")]
    Proof(#[from] ProofError),
}

impl Inclusion {
    /// Checks that `leaf` is at this evidence's index in the tree of its checkpoint, which the
    /// log's key `verifier` (named by the log's origin) signed: the checkpoint, on success.
    pub fn verify(&self, leaf: &Hash, verifier: &NoteVerifier) -> Result<Checkpoint, InclusionError> {
        let checkpoint = Checkpoint::open(&self.checkpoint, &verifier.name, verifier)?;
        if self.path.len() > MAX_PATH {
            return Err(ProofError::WrongLength.into());
        }
        verify_inclusion(leaf, self.leaf_index, checkpoint.size, &self.path, &checkpoint.root)?;
        Ok(checkpoint)
    }
}

/// A log kept in memory, signing its own checkpoints: the registry's log for tests and benches,
/// and the model the Ministry's site follows.
pub struct MemoryLog {
    tree: Tree,
    origin: String,
    key: SigningKey,
}

impl MemoryLog {
    /// An empty log named `origin`, signing with `key`.
    pub fn new(origin: &str, key: SigningKey) -> MemoryLog {
        MemoryLog { tree: Tree::new(), origin: origin.to_owned(), key }
    }

    /// The key that verifies this log's checkpoints.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier { name: self.origin.clone(), key: self.key.verifying_key() }
    }

    /// Appends `entry`; its leaf index.
    pub fn append(&mut self, entry: &LogEntry<'_>) -> u64 {
        self.tree.push(entry.leaf_hash());
        self.tree.len() - 1
    }

    /// The checkpoint of the whole tree, signed.
    pub fn checkpoint(&self) -> String {
        let size = self.tree.len();
        let root = root(&self.tree, size).expect("the tree's own size");
        Checkpoint { origin: self.origin.clone(), size, root }.sign(&self.origin, &self.key)
    }

    /// The evidence that leaf `index`, recorded at `recorded_at`, is in the whole tree.
    pub fn inclusion(&self, index: u64, recorded_at: i64) -> Result<Inclusion, ProofError> {
        let path = inclusion_proof(&self.tree, index, self.tree.len())?;
        Ok(Inclusion { checkpoint: self.checkpoint(), leaf_index: index, recorded_at, path })
    }
}
