//! `dcert verify`: the pinned Ministry root, the verifier's state file, and the verification of
//! files against a trust list file or the Ministry's site.
//!
//! A verifier believes a trust list only if its root is the pinned one: from
//! `--root-fingerprint`, `DCERT_ROOT_FINGERPRINT` or the state file. Without a pin the files are
//! still checked, but the report is labelled unpinned and never succeeds. The state file also
//! keeps the highest trust list sequence seen for each root, so that an older list, genuinely
//! signed but replayed, is refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use dcert_core::bundle::{Bundle, BundleStatus};
use dcert_core::pdf::Limits;
use dcert_core::status::{Offline, StatusSource};
use dcert_core::trust::TrustList;
use dcert_core::verify::{self, CheckResult, Outcome};
use dcert_core::{Sha256Digest, Timestamp};
use serde::{Deserialize, Serialize};

use crate::commands::{EXIT_FAILURE, EXIT_SUCCESS, EXIT_USAGE, EXIT_WARNING};
use crate::{online, report};

#[derive(Args)]
#[command(after_help = "Exit status: 0 every file succeeded, 1 a file failed (an unpinned verification always \
    fails), 3 a file is superseded by a newer version (and none failed), 2 a file could not be read or the \
    trust list is not usable.\n\
    The Ministry's root fingerprint is taken from --root-fingerprint, DCERT_ROOT_FINGERPRINT or the state file \
    (root_fingerprint). Offline (--trust), whether a certificate was superseded or revoked is reported as \
    unknown; with --registry it is asked of the Ministry, and an answer that cannot be believed (unreachable, \
    unsigned, stale) makes the status unknown and the file fail. With --offline BUNDLE it is the status as of \
    the Ministry's signed bundle; a bundle older than --max-bundle-age days, or one that does not know the file, \
    makes the status unknown and the file fail.")]
pub struct VerifyArgs {
    /// The trust list (from trust export or the Ministry's site): offline verification.
    #[arg(long, required_unless_present_any = ["registry", "offline"], conflicts_with_all = ["registry", "offline"])]
    trust: Option<PathBuf>,
    /// The Ministry's site, e.g. https://dcert.moe.gov.tw: the trust list and each file's status
    /// (current, superseded, revoked) are asked of it. Needs a pinned root.
    #[arg(long, conflicts_with = "offline")]
    registry: Option<String>,
    /// The Ministry's signed offline bundle (from its site's /api/v1/offline-bundle): the trust
    /// list and each file's status as of the bundle, with no network.
    #[arg(long, value_name = "BUNDLE")]
    offline: Option<PathBuf>,
    /// How old an offline bundle may be, in days, before the status it gives is unknown.
    #[arg(long, default_value_t = 7, value_name = "DAYS", requires = "offline")]
    max_bundle_age: u32,
    /// Print one JSON report per file, one per line, instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    pin: PinArgs,
    /// Verify as of this time (RFC 3339); default now.
    #[arg(long)]
    at: Option<Timestamp>,
    /// The files to verify.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Where a command that verifies finds the pinned Ministry root.
#[derive(Args)]
pub struct PinArgs {
    /// The Ministry root's SHA-256 fingerprint (hex) that the trust list must chain to.
    #[arg(long, env = "DCERT_ROOT_FINGERPRINT")]
    root_fingerprint: Option<Sha256Digest>,
    /// The verifier's state file (the pinned root and the newest trust list seen); default
    /// $XDG_CONFIG_HOME/dcert/verifier.toml or ~/.config/dcert/verifier.toml.
    #[arg(long, env = "DCERT_VERIFIER_STATE")]
    state: Option<PathBuf>,
}

impl PinArgs {
    /// The state file and the pin: the option's or the environment's, else the state file's.
    pub fn load(&self) -> Result<(VerifierState, Option<Sha256Digest>)> {
        let state = VerifierState::load(self.state.clone())?;
        let pin = self.root_fingerprint.or_else(|| state.pin());
        Ok((state, pin))
    }

    /// The pin, which a benchmark needs.
    pub fn required(&self, what: &str) -> Result<Sha256Digest> {
        match self.load()?.1 {
            Some(pin) => Ok(pin),
            None => bail!("{what} measures a pinned verification: give --root-fingerprint or --state"),
        }
    }
}

/// The state file, as written: the pin and the newest sequence seen per root.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    /// The pinned Ministry root, used when no other pin is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    root_fingerprint: Option<Sha256Digest>,
    /// Per root fingerprint (hex), the highest trust list sequence seen.
    #[serde(default)]
    trust_list_sequences: BTreeMap<String, u64>,
    /// Per log origin, the largest checkpoint seen (as signed): every later one must be
    /// consistent with it.
    #[serde(default)]
    log_checkpoints: BTreeMap<String, String>,
}

/// The verifier's state: where it lives, and what it holds.
#[derive(Debug)]
pub struct VerifierState {
    path: Option<PathBuf>,
    file: StateFile,
}

impl VerifierState {
    /// The default place of the state file, if the environment names a home.
    fn default_path() -> Option<PathBuf> {
        let config = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".config")))?;
        Some(config.join("dcert").join("verifier.toml"))
    }

    /// Reads the state at `path` (or the default place); a missing file is an empty state.
    pub fn load(path: Option<PathBuf>) -> Result<Self> {
        let path = path.or_else(Self::default_path);
        let file = match &path {
            Some(p) => match std::fs::read_to_string(p) {
                Ok(text) => toml::from_str(&text)
                    .with_context(|| format!("the verifier state file {} is not readable", p.display()))?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => StateFile::default(),
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot read the verifier state file {}", p.display()));
                }
            },
            None => StateFile::default(),
        };
        Ok(Self { path, file })
    }

    /// The pinned root of the state file.
    pub fn pin(&self) -> Option<Sha256Digest> {
        self.file.root_fingerprint
    }

    /// Sets the pinned root and writes the file.
    pub fn set_pin(&mut self, root: Sha256Digest) -> Result<()> {
        self.file.root_fingerprint = Some(root);
        self.save()
    }

    /// Where the state lives.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Refuses a list older than one seen before for the same root; remembers a newer one.
    pub fn accept_sequence(&mut self, root: Sha256Digest, sequence: u64) -> Result<()> {
        let key = root.to_string();
        match self.file.trust_list_sequences.get(&key) {
            Some(&seen) if sequence < seen => bail!(
                "the trust list has sequence {sequence}, older than list {seen} already seen for this root: an old \
                 list may have been replayed to hide a revocation; get the Ministry's current list"
            ),
            Some(&seen) if sequence == seen => Ok(()),
            _ => {
                self.file.trust_list_sequences.insert(key, sequence);
                if self.path.is_some() { self.save() } else { Ok(()) }
            }
        }
    }

    /// Holds the checkpoint `note` of the log `log` (already checked under its key) against the
    /// largest one seen before: the same tree, or one proven to extend it (or be extended by it)
    /// by the registry's consistency proof; remembers the larger. An error says why the log
    /// cannot be believed, with both checkpoints.
    pub fn accept_checkpoint(
        &mut self,
        log: &dcert_core::tlog::NoteVerifier,
        note: &str,
        registry: &online::Registry,
    ) -> Result<()> {
        use dcert_core::tlog::{self, Checkpoint};
        let current = Checkpoint::open(note, &log.name, log)?;
        let seen = self.file.log_checkpoints.get(&log.name).and_then(|n| Checkpoint::open(n, &log.name, log).ok());
        let fork = |why: String| {
            let before = self.file.log_checkpoints.get(&log.name).cloned().unwrap_or_default();
            anyhow::anyhow!(
                "the registry's log is not the one this verifier saw before ({why}): a rewritten or forked log.\n\
                 --- seen before ---\n{before}--- seen now ---\n{note}"
            )
        };
        let larger = match &seen {
            None => true,
            Some(seen) if seen.size == current.size => {
                if seen.root != current.root {
                    return Err(fork(format!("two different trees of {} records", seen.size)));
                }
                false
            }
            Some(seen) => {
                let (old, new) = if seen.size < current.size { (seen, &current) } else { (&current, seen) };
                if old.size > 0 {
                    let proof = registry.consistency(old.size, new.size)?;
                    tlog::verify_consistency((old.size, &old.root), (new.size, &new.root), &proof).map_err(|e| {
                        fork(format!(
                            "no proof that the tree of {} records extends the one of {}: {e}",
                            new.size, old.size
                        ))
                    })?;
                }
                seen.size < current.size
            }
        };
        if larger {
            self.file.log_checkpoints.insert(log.name.clone(), note.to_owned());
            if self.path.is_some() {
                self.save()?;
            }
        }
        Ok(())
    }

    /// Holds an offline bundle's checkpoint of the log `log` against the largest one seen
    /// before. Offline there is no consistency proof to ask for, so only a different tree of the
    /// same size is caught (a fork, shown with both); nothing is remembered.
    pub fn hold_offline(
        &self,
        log: &dcert_core::tlog::NoteVerifier,
        current: &dcert_core::tlog::Checkpoint,
    ) -> Result<()> {
        let Some(note) = self.file.log_checkpoints.get(&log.name) else { return Ok(()) };
        let Ok(seen) = dcert_core::tlog::Checkpoint::open(note, &log.name, log) else { return Ok(()) };
        if seen.size == current.size && seen.root != current.root {
            bail!(
                "the bundle's log is not the one this verifier saw before (two different trees of {} records): a \
                 rewritten or forked log.\n--- seen before ---\n{note}--- in the bundle ---\n{} records, root {}",
                seen.size,
                current.size,
                dcert_core::tlog::hash_to_base64(&current.root)
            );
        }
        Ok(())
    }

    /// Writes the state: a new file beside the old one, then renamed over it.
    fn save(&self) -> Result<()> {
        let Some(path) = &self.path else {
            bail!("no place for the verifier state file: give --state FILE or set HOME");
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let text = format!(
            "# dcert verifier state: the pinned Ministry root, the newest trust list seen per root and the largest\n\
             # checkpoint seen per transparency log.\n{}",
            toml::to_string(&self.file).context("cannot write the verifier state")?
        );
        let partial = path.with_extension("toml.partial");
        std::fs::write(&partial, text).with_context(|| format!("cannot write {}", partial.display()))?;
        std::fs::rename(&partial, path).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    }
}

/// `dcert trust pin HEX`: writes the pin into the state file.
pub fn pin(root: Sha256Digest, state: Option<PathBuf>) -> Result<u8> {
    let mut verifier = VerifierState::load(state)?;
    verifier.set_pin(root)?;
    let path = verifier.path().map(|p| p.display().to_string()).unwrap_or_default();
    println!("Pinned the Ministry root {root} in {path}");
    Ok(EXIT_SUCCESS)
}

/// The trust list from the file `trust` or the registry's site, verified under `pin` (and its
/// sequence held against the state's); the list and where it came from.
fn pinned_list(
    trust: Option<&Path>,
    registry: Option<&online::Registry>,
    pin: Option<Sha256Digest>,
    state: &mut VerifierState,
) -> Result<(TrustList, String)> {
    let (bytes, source) = match (registry, trust) {
        (Some(r), _) => {
            if pin.is_none() {
                bail!(
                    "--registry needs the Ministry's root pinned (--root-fingerprint, DCERT_ROOT_FINGERPRINT or the \
                     state file), so that the list is the Ministry's whoever answers"
                );
            }
            (r.trust_list()?, format!("{}/trust.json", r.base()))
        }
        (None, Some(path)) => (
            std::fs::read(path).with_context(|| format!("cannot read the trust list {}", path.display()))?,
            path.display().to_string(),
        ),
        (None, None) => bail!("give --trust FILE or --registry URL"),
    };
    let trust = TrustList::verify(&bytes, pin).with_context(|| format!("the trust list {source} is not usable"))?;
    if trust.pinned {
        state.accept_sequence(trust.root.fingerprint(), trust.content.sequence)?;
    }
    Ok((trust, source))
}

#[derive(Args)]
#[command(after_help = "Exit status: 0 the receipt is the Ministry's and unchanged (and about --file, when given), \
    1 it is not, 2 it could not be read or the trust list is not usable.")]
pub struct ReceiptArgs {
    /// The trust list (from trust export or the Ministry's site).
    #[arg(long, required_unless_present = "registry", conflicts_with = "registry")]
    trust: Option<PathBuf>,
    /// The Ministry's site, whose trust list names the status signer.
    #[arg(long)]
    registry: Option<String>,
    /// The certificate file the receipt must be about.
    #[arg(long)]
    file: Option<PathBuf>,
    #[command(flatten)]
    pin: PinArgs,
    /// The receipt, JSON or PDF, as the verification site gave it.
    receipt: PathBuf,
}

/// `dcert verify-receipt`.
pub fn verify_receipt(args: ReceiptArgs) -> Result<u8> {
    let (mut state, pin) = args.pin.load()?;
    if pin.is_none() {
        bail!(
            "a receipt is checked against the Ministry's root: pin it (--root-fingerprint, DCERT_ROOT_FINGERPRINT or dcert trust pin)"
        );
    }
    let registry = args.registry.as_deref().map(online::Registry::new).transpose()?;
    let (trust, _) = pinned_list(args.trust.as_deref(), registry.as_ref(), pin, &mut state)?;
    // The JSON, or its PDF form (the page signed by the status signer, the JSON attached).
    let bytes = read_bounded(&args.receipt, Limits::default().max_file_bytes)?;
    let file = args.file.as_deref().map(|f| read_bounded(f, Limits::default().max_file_bytes)).transpose()?;
    match dcert_core::receipt::verify_any(&bytes, &trust, file.as_deref()) {
        Ok(r) => {
            println!("{}: a receipt signed by the Ministry's status signer", args.receipt.display());
            println!("  verified at  {}", r.verified_at);
            println!("  file         {}{}", r.file_sha256, if file.is_some() { " (this file)" } else { "" });
            println!("  outcome      {}{}", r.outcome, r.reason.map(|x| format!(" ({x})")).unwrap_or_default());
            if let Some(issuer) = r.issuer {
                println!("  issuer       {issuer}");
            }
            for (name, result) in &r.checks {
                println!("    {result:<8} {name}");
            }
            if let Some(checkpoint) = r.checkpoint {
                println!("  log checkpoint\n{}", checkpoint.lines().map(|l| format!("    {l}\n")).collect::<String>());
            }
            Ok(EXIT_SUCCESS)
        }
        Err(dcert_core::receipt::ReceiptError::OtherFile(sha)) => {
            println!(
                "{}: a receipt signed by the Ministry, but about another file (SHA-256 {sha}), not this one",
                args.receipt.display()
            );
            Ok(EXIT_FAILURE)
        }
        Err(e) => {
            println!("{}: NOT a valid receipt: {e}", args.receipt.display());
            Ok(EXIT_FAILURE)
        }
    }
}

/// `dcert verify`.
pub fn run(args: VerifyArgs) -> Result<u8> {
    let (mut state, pin) = args.pin.load()?;
    let registry = args.registry.as_deref().map(online::Registry::new).transpose()?;
    let bundle = args.offline.as_deref().map(|path| open_bundle(path, pin, &mut state)).transpose()?;
    let listed;
    let (trust, source) = match &bundle {
        Some(bundle) => (&bundle.trust, args.offline.as_deref().unwrap_or(Path::new("")).display().to_string()),
        None => {
            listed = pinned_list(args.trust.as_deref(), registry.as_ref(), pin, &mut state)?;
            (&listed.0, listed.1.clone())
        }
    };
    if !trust.pinned {
        eprintln!(
            "note: UNPINNED: no Ministry root is pinned, so the trust list {source} is not authenticated (its root is \
             {}); no file can succeed. Pin the Ministry's published root fingerprint with --root-fingerprint, \
             DCERT_ROOT_FINGERPRINT or `dcert trust pin`.",
            trust.root.fingerprint()
        );
    }
    let at = args.at.unwrap_or_else(crate::now);
    let signed = registry.as_ref().map(|registry| online::SignedStatus { registry, trust, last: Default::default() });
    let from_bundle = bundle.as_ref().map(|bundle| BundleStatus {
        bundle,
        now: at,
        max_age_seconds: i64::from(args.max_bundle_age) * 86_400,
    });
    let status: &dyn StatusSource = match (&signed, &from_bundle) {
        (Some(s), _) => s,
        (None, Some(b)) => b,
        (None, None) => &Offline,
    };
    if trust.is_stale(at) && !args.json {
        eprintln!(
            "note: the trust list is past its next update ({}); get a newer one from the Ministry",
            trust.content.next_update.map(|t| t.to_string()).unwrap_or_default()
        );
    }
    let limits = Limits::default();
    let (mut failed, mut warned, mut unreadable) = (false, false, false);
    for path in &args.files {
        let name = path.display().to_string();
        let bytes = match read_bounded(path, limits.max_file_bytes) {
            Ok(b) => b,
            Err(e) => {
                unreadable = true;
                if args.json {
                    println!("{}", serde_json::json!({ "file": name, "error": format!("{e:#}") }));
                } else {
                    eprintln!("error: {name}: {e:#}");
                }
                continue;
            }
        };
        let mut report = verify::verify(&bytes, trust, status, at, &limits);
        // Across verifications the verifier remembers the log's largest checkpoint, and holds
        // every new one against it (the core keeps no memory: this is the command's).
        if let (Some(signed), Some(log)) = (&signed, &trust.log)
            && let Some(inclusion) = signed.last.take()
            && report.check(verify::CheckName::TransparencyLog).is_some_and(|c| c.result == CheckResult::Pass)
            && let Err(e) = state.accept_checkpoint(log, &inclusion.checkpoint, signed.registry)
        {
            distrust_log(&mut report, &format!("{e:#}"));
        }
        match report.outcome {
            Outcome::Success => {}
            Outcome::Warning => warned = true,
            Outcome::Failure => failed = true,
        }
        if args.json {
            let mut value = serde_json::to_value(&report)?;
            value["file"] = serde_json::Value::String(name);
            println!("{}", serde_json::to_string(&value)?);
        } else {
            print!("{}", report::text(&name, &report));
        }
    }
    Ok(if unreadable {
        EXIT_USAGE
    } else if failed {
        EXIT_FAILURE
    } else if warned {
        EXIT_WARNING
    } else {
        EXIT_SUCCESS
    })
}

/// The offline bundle at `path`, checked under `pin` (its trust list's sequence held against
/// the state's, as any list's), with a note of what it holds.
fn open_bundle(path: &Path, pin: Option<Sha256Digest>, state: &mut VerifierState) -> Result<Bundle> {
    if pin.is_none() {
        bail!(
            "--offline needs the Ministry's root pinned (--root-fingerprint, DCERT_ROOT_FINGERPRINT or the state \
             file), so that the bundle is the Ministry's whoever handed it over"
        );
    }
    let bytes = read_bounded(path, dcert_core::bundle::MAX_BUNDLE_BYTES)?;
    let bundle =
        Bundle::open(&bytes, pin).with_context(|| format!("the offline bundle {} is not usable", path.display()))?;
    if bundle.trust.pinned {
        state.accept_sequence(bundle.trust.root.fingerprint(), bundle.trust.content.sequence)?;
    }
    if let (Some(log), Some(checkpoint)) = (&bundle.trust.log, &bundle.checkpoint) {
        state
            .hold_offline(log, checkpoint)
            .with_context(|| format!("the offline bundle {} is not usable", path.display()))?;
    }
    let (current, changed) = bundle.counts();
    eprintln!(
        "note: status as of the Ministry's offline bundle of {} ({current} current files and credentials, {changed} \
         superseded or revoked{})",
        bundle.as_of,
        bundle.checkpoint.as_ref().map(|c| format!("; the log's checkpoint of {} records", c.size)).unwrap_or_default()
    );
    Ok(bundle)
}

/// `report`, its log check failed for `why`: the registry's status is then not believed.
fn distrust_log(report: &mut verify::Report, why: &str) {
    if let Some(check) = report.checks.iter_mut().find(|c| c.name == verify::CheckName::TransparencyLog) {
        check.result = CheckResult::Fail;
        check.finding = verify::Finding::LogProofInvalid;
        check.detail = why.to_owned();
    }
    report.outcome = Outcome::Failure;
    report.reason = Some(verify::Reason::StatusUnknown);
    report.summary = verify::Reason::StatusUnknown.explain().to_owned();
}

/// Reads at most one byte more than `limit`, so that verification can report a file as too large.
pub fn read_bounded(path: &Path, limit: usize) -> Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1).read_to_end(&mut bytes).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lower_sequence_than_one_seen_is_refused_and_a_higher_one_remembered() {
        let dir = std::env::temp_dir().join(format!("dcert-verifier-state-{}", std::process::id()));
        let path = dir.join("verifier.toml");
        let root = Sha256Digest([7; 32]);
        let mut state = VerifierState::load(Some(path.clone())).unwrap();
        state.accept_sequence(root, 5).unwrap();
        state.accept_sequence(root, 5).unwrap();
        let mut again = VerifierState::load(Some(path.clone())).unwrap();
        let refused = again.accept_sequence(root, 4).unwrap_err().to_string();
        assert!(refused.contains("older than list 5"), "{refused}");
        again.accept_sequence(root, 9).unwrap();
        // Another root has its own sequence.
        again.accept_sequence(Sha256Digest([8; 32]), 1).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("= 9") && text.contains("= 1"), "{text}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_offline_bundle_s_checkpoint_of_another_tree_of_the_same_size_is_refused() {
        use dcert_core::tlog::{Checkpoint, LogKey, NoteVerifier};
        let key = LogKey::from_bytes(&[3; 32]);
        let origin = "registry.test/log";
        let log = NoteVerifier { name: origin.into(), key: key.verifying_key() };
        let seen = Checkpoint { origin: origin.into(), size: 10, root: [1; 32] };
        let mut state = VerifierState { path: None, file: StateFile::default() };
        state.file.log_checkpoints.insert(origin.into(), seen.sign(origin, &key));
        assert!(state.hold_offline(&log, &seen).is_ok(), "the same tree");
        assert!(state.hold_offline(&log, &Checkpoint { size: 12, ..seen.clone() }).is_ok(), "a larger one");
        let fork = state.hold_offline(&log, &Checkpoint { root: [2; 32], ..seen.clone() }).unwrap_err().to_string();
        assert!(fork.contains("two different trees of 10 records"), "{fork}");
    }
}
