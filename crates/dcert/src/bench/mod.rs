//! `dcert bench`: throughput and robustness figures, each with its baseline measured in the
//! same run. `core`: issue and verify on one thread; `hostile`: crafted files in processes of
//! their own; `issue`: a whole class through the university's production path; `log`: the
//! transparency log in memory.

mod core;
mod hostile;
mod issue;
mod log;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use dcert_core::pdf::Limits;
use dcert_core::trust::TrustList;

use crate::commands::{EXIT_FAILURE, EXIT_SUCCESS};
use crate::{now, verifier};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Verify each crafted hostile file (arrays of a million empty arrays, endless strings, …) and
    /// a genuine certificate, each in a process of its own: peak memory and time, and their
    /// ratios to the genuine certificate's.
    Hostile {
        /// The trust list.
        #[arg(long)]
        trust: PathBuf,
        #[command(flatten)]
        pin: verifier::PinArgs,
        /// The size of each crafted file, in bytes (default: just under the 10 MiB limit).
        #[arg(long)]
        size: Option<usize>,
        /// The dcert binary to measure (default: this one), e.g. an older build.
        #[arg(long)]
        dcert: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// A genuine certificate, the baseline.
        file: PathBuf,
    },
    /// Write the crafted hostile files into a directory (what bench hostile measures).
    #[command(hide = true)]
    HostileShapes {
        /// The size of each file, in bytes.
        #[arg(long)]
        size: usize,
        /// The directory.
        dir: PathBuf,
    },
    /// Issue and verify on one thread, with the floor (SHA-256 + Ed25519 verify) in the same run.
    Core {
        /// Seconds per measurement.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Spend the time on one measurement only, e.g. to profile it.
        #[arg(long, value_parser = ["issue", "verify", "verify-logged", "verify-signed-logged", "verify-bundle", "floor"])]
        only: Option<String>,
        /// The size of the log the inclusion proofs are made in.
        #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
        log_leaves: u64,
    },
    /// The transparency log in memory on one thread: appending records, inclusion and
    /// consistency proofs made and verified at the full size, proof sizes, signed checkpoints,
    /// with the floor (one interior-node hash) in the same run.
    Log {
        /// Leaves in the tree.
        #[arg(long, default_value_t = 1_000_000)]
        leaves: u64,
        /// Seconds per measurement.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
        /// Also append this many registry records through the Ministry's store (0: none).
        #[arg(long, default_value_t = 0)]
        store_records: u64,
        /// Records a transaction when appending through the store.
        #[arg(long, default_value_t = 100)]
        batch: u64,
        /// The store's PostgreSQL server (fresh schemas, dropped after); a fresh SQLite file if
        /// not given.
        #[arg(long)]
        database: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Verify one file in process, over and over, on one thread and on every core: the
    /// baseline that scripts/load-test compares the HTTP API with.
    Verify {
        /// The trust list.
        #[arg(long)]
        trust: PathBuf,
        #[command(flatten)]
        pin: verifier::PinArgs,
        /// Seconds per measurement.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// The certificate file.
        file: PathBuf,
    },
    /// Issue a whole graduating class through the university's production path (import,
    /// confirmation, collection orders, the worker) on a fresh database, the registry records
    /// into a test bed's registry database (not over HTTP), time each phase, check every
    /// graduate got exactly one certificate, and compare with rendering in memory.
    Issue {
        /// Graduates in the class.
        #[arg(long, default_value_t = 10_000)]
        count: usize,
        /// A PostgreSQL server (postgres://...): the bench works in a new schema and drops it.
        /// Default: a new SQLite file in a temporary directory.
        #[arg(long)]
        database: Option<String>,
        /// Certificates rendered at once; default the available cores.
        #[arg(long)]
        parallelism: Option<usize>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `dcert bench`.
pub fn run(command: BenchCommand) -> Result<u8> {
    match command {
        BenchCommand::Hostile { trust, pin, size, dcert, json, file } => {
            let pin = pin.required("bench hostile")?;
            let options = hostile::Options {
                trust: &trust,
                root_fingerprint: pin.to_string(),
                genuine: &file,
                size: size.unwrap_or(Limits::default().max_file_bytes - 4096),
                dcert: match dcert {
                    Some(path) => path,
                    None => std::env::current_exe().context("cannot find this program")?,
                },
            };
            let figures = hostile::run(&options)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&figures)?);
            } else {
                print!("{}", hostile::text(&figures));
            }
            Ok(EXIT_SUCCESS)
        }
        BenchCommand::HostileShapes { size, dir } => {
            hostile::write_shapes(&dir, size)?;
            Ok(EXIT_SUCCESS)
        }
        BenchCommand::Core { seconds, json, only, log_leaves } => {
            let figures = core::run(seconds, log_leaves, only.as_deref())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&figures)?);
            } else {
                print!("{}", core::text(&figures));
            }
            Ok(EXIT_SUCCESS)
        }
        BenchCommand::Verify { trust, pin, seconds, json, file } => {
            let trust_bytes =
                std::fs::read(&trust).with_context(|| format!("cannot read the trust list {}", trust.display()))?;
            let pin = pin.required("bench verify")?;
            let trust = TrustList::verify(&trust_bytes, Some(pin)).context("the trust list is not usable")?;
            let bytes = verifier::read_bounded(&file, Limits::default().max_file_bytes)?;
            let figures = core::verify_file(&bytes, &trust, seconds)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&figures)?);
            } else {
                println!(
                    "verify {} ({} bytes) in process, status offline\n  one thread   {:>9.1}/s\n  {} threads    {:>9.1}/s",
                    file.display(),
                    bytes.len(),
                    figures.one_thread.per_second,
                    figures.threads,
                    figures.all_threads.per_second
                );
            }
            Ok(EXIT_SUCCESS)
        }
        BenchCommand::Log { leaves, seconds, store_records, batch, database, json } => {
            if leaves == 0 {
                return Err(crate::commands::wrong("--leaves must be at least 1"));
            }
            if batch == 0 {
                return Err(crate::commands::wrong("--batch must be at least 1"));
            }
            let store = (store_records > 0).then_some(log::StoreRun { records: store_records, batch, database });
            let figures = log::run(leaves, seconds, store.as_ref())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&figures)?);
            } else {
                print!("{}", log::text(&figures));
            }
            // The store's log must be the one the same records make in memory.
            Ok(if figures.store.as_ref().is_some_and(|s| !s.same_root) { EXIT_FAILURE } else { EXIT_SUCCESS })
        }
        BenchCommand::Issue { count, database, parallelism, json } => {
            let figures = issue::run(&issue::Options { count, database, parallelism }, now())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&figures)?);
            } else {
                print!("{}", issue::text(&figures));
            }
            Ok(if figures.verified { EXIT_SUCCESS } else { EXIT_FAILURE })
        }
    }
}
