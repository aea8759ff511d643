//! `dcert log monitor`: the institution's watch over the Ministry's transparency log.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use dcert_core::trust::TrustList;
use dcert_web::university::log_monitor::{self, MonitorError, MonitorState};

use super::{EXIT_FAILURE, EXIT_SUCCESS, UsageExt, runtime, wrong};
use crate::{config, keystore, online, server, verifier};

#[derive(Subcommand)]
pub enum LogCommand {
    /// Check the Ministry's transparency log in this institution's name: the latest checkpoint
    /// signed with the key the pinned trust list names, consistent with the last one seen, its
    /// new records read and hashed to the signed root, and every record in the institution's name
    /// that its own database does not know listed. Exit status 1 on an alarm (a record this
    /// institution did not issue, or a rewritten or forked log, with both checkpoints as evidence).
    Monitor {
        /// The university's settings file (its database, its institution id, the Ministry's site).
        #[arg(long)]
        config: PathBuf,
        /// The Ministry's site (default: [registry] url, else [site] verify_site).
        #[arg(long)]
        registry: Option<String>,
        /// Where the last checkpoint seen is kept (default: log-monitor.json in the issuer
        /// directory).
        #[arg(long)]
        monitor_state: Option<PathBuf>,
        #[command(flatten)]
        pin: verifier::PinArgs,
    },
}

/// `dcert log`.
pub fn run(command: LogCommand) -> Result<u8> {
    let LogCommand::Monitor { config, registry, monitor_state, pin } = command;
    let config = config::load(&config).usage()?;
    let registry = registry.unwrap_or_else(|| config.ministry_site());
    let state_path = monitor_state.unwrap_or_else(|| config.keys.issuer_dir.join("log-monitor.json"));
    let previous: Option<MonitorState> = match std::fs::read(&state_path) {
        Ok(bytes) => Some(
            serde_json::from_slice(&bytes)
                .with_context(|| format!("the monitor's state {} does not read", state_path.display()))
                .usage()?,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", state_path.display())),
    };
    let (_, pin) = pin.load().usage()?;
    let Some(pin) = pin else {
        return Err(wrong(
            "the log's key comes from the Ministry's trust list: pin its root (--root-fingerprint, \
             DCERT_ROOT_FINGERPRINT or dcert trust pin)",
        ));
    };
    let site = online::Registry::new(&registry)?;
    let trust = TrustList::verify(&site.trust_list()?, Some(pin))
        .with_context(|| format!("the trust list of {registry} is not usable"))
        .usage()?;
    let Some(log) = trust.log.clone() else {
        return Err(wrong(format!("the trust list of {registry} names no transparency log")));
    };
    let institution = config.site.institution_id.clone();
    let outcome = runtime()?.block_on(async {
        let store = server::open_university(&config.database.url).await?;
        let mut progress = |done: u64, total: u64| {
            if total >= 10_000 {
                eprint!("\r  read {done} of {total} new records");
            }
        };
        Ok::<_, anyhow::Error>(
            log_monitor::check(&registry, &log, &institution, &store, previous.as_ref(), &mut progress).await,
        )
    })?;
    match outcome {
        Ok((report, state)) => {
            keystore::replace_file(&state_path, &serde_json::to_vec_pretty(&state)?)?;
            let cp = &report.checkpoint;
            println!("Log {}: {} records under its signed checkpoint", cp.origin, cp.size);
            match report.previous_size {
                Some(before) => println!("  consistent with the checkpoint of {before} records seen before"),
                None => println!("  first check: every record read"),
            }
            println!("  {} new records, {} of them in {institution}'s name", report.new_leaves, report.ours);
            if report.unknown.is_empty() {
                println!("  every record in {institution}'s name is a file this institution issued");
                return Ok(EXIT_SUCCESS);
            }
            println!(
                "ALARM: {} record(s) in {institution}'s name of files this institution's database does not know:",
                report.unknown.len()
            );
            for r in &report.unknown {
                let at = dcert_core::Timestamp(r.at);
                println!(
                    "  leaf {:>8}  {:<10} file {}  certificate {}  at {at}",
                    r.index, r.event, r.file_sha256, r.certificate
                );
            }
            println!("  Ask the Ministry who submitted them; they stay listed until this database knows the files.");
            Ok(EXIT_FAILURE)
        }
        Err(MonitorError::Forked { why, previous, current }) => {
            println!("ALARM: the log was rewritten or forked: {why}");
            println!("Evidence: two checkpoints signed with the log's key that cannot both be true.");
            let evidence = format!("--- seen before ---\n{previous}--- seen now ---\n{current}");
            println!("{evidence}");
            let kept = state_path.with_extension(format!("fork-{}.txt", crate::now().unix()));
            keystore::replace_file(&kept, format!("{why}\n{evidence}").as_bytes())?;
            println!("Kept in {}; the state in {} is kept as it was.", kept.display(), state_path.display());
            Ok(EXIT_FAILURE)
        }
        Err(MonitorError::Unsigned(detail)) => {
            println!("ALARM: the log's checkpoint is not signed by the key the trust list names: {detail}");
            Ok(EXIT_FAILURE)
        }
        Err(e) => Err(e.into()),
    }
}
