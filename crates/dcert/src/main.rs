#![doc = include_str!("../README.md")]

mod bench;
mod commands;
mod config;
mod demo;
mod fonts;
mod keystore;
mod online;
mod registry_cli;
mod report;
mod server;
mod verifier;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::commands::{files, log, ministry, university, usage_unless_disk};
pub(crate) use dcert_web::http::now;

#[derive(Parser)]
#[command(
    name = "dcert",
    version,
    about = "Issue and verify digital degree certificates (數位學位證書).",
    long_about = "Issue and verify digital degree certificates (數位學位證書).\n\n\
        A certificate is a signed PDF/A-3 file: the diploma page, a W3C Verifiable Credential \
        attached as credential.json, a QR code with a signed seal, and a PAdES signature over \
        every byte. The Ministry's trust list says which institutions and keys to trust.\n\n\
        A first walk-through:\n  \
        dcert keys init-root --registry http://localhost:8081 --out moe\n  \
        dcert trust pin ROOT-FINGERPRINT   (as init-root prints; verifiers trust only a pinned root)\n  \
        dcert keys new-issuer --root moe --id nkust --name-zh 國立高雄科技大學 \\\n      \
        --name-en \"National Kaohsiung University of Science and Technology\" --out nkust\n  \
        dcert trust export --root moe --issuer nkust --out trust.json\n  \
        dcert issue --issuer nkust --record examples/record.json --lang zh --out cert-zh.pdf\n  \
        dcert verify --trust trust.json cert-zh.pdf",
    after_help = "Exit status: 0 success (every file verified); 1 a file failed verification (without a \
        pinned root, every file fails) or a bench's check failed; 2 what the command was given is wrong \
        (arguments, a settings file, an input file, a trust list that does not verify), nothing changed; \
        3 no file failed but one is superseded (warning); 4 the command could not be carried out (a \
        database, the network, a port or a disk failed).\n\
        Private keys are written with mode 0600, encrypted when DCERT_KEY_PASSPHRASE is set."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the Ministry root and institutions' keys.
    #[command(subcommand)]
    Keys(files::KeysCommand),
    /// Build the signed trust list that verifiers use.
    #[command(subcommand)]
    Trust(files::TrustCommand),
    /// Issue one certificate file from a record.
    Issue(files::IssueArgs),
    /// Verify certificate files (PDF or credential.json) against a trust list offline, or
    /// through the Ministry's registry.
    Verify(verifier::VerifyArgs),
    /// Check a verification receipt from the Ministry's site: signed by its status signer,
    /// unchanged, and (with --file) about that file.
    VerifyReceipt(verifier::ReceiptArgs),
    /// Show, or check, certificate templates.
    #[command(subcommand)]
    Template(files::TemplateCommand),
    /// Show where the certificate fonts are found.
    Fonts,
    /// Set up a Ministry root, a university and the Ministry as issuers, and issue and verify
    /// sample certificates in a data directory.
    Demo {
        /// Where the demo keeps its keys, databases, accounts and samples.
        #[arg(long, default_value = "dcert-demo")]
        data_dir: PathBuf,
        /// The university's port; the Ministry is served on the next one.
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Set up and write the samples, then exit without serving.
        #[arg(long)]
        no_serve: bool,
    },
    /// Serve the university's portal and console, the worker, and optionally the Ministry's
    /// trust list and registry, with settings from a file and DCERT_<SECTION>__<KEY> variables.
    Serve {
        /// The settings file (see examples/dcert.toml).
        #[arg(long)]
        config: PathBuf,
    },
    /// The Ministry of Education's side: its site, and the registry of issuing institutions
    /// (onboarding, key rotation and revocation, publishing the signed trust list).
    #[command(subcommand)]
    Ministry(ministry::MinistryCommand),
    /// Import data into the university's database.
    #[command(subcommand)]
    Import(university::ImportCommand),
    /// Manage console accounts.
    #[command(subcommand)]
    Staff(university::StaffCommand),
    /// Manage graduates' sign-in.
    #[command(subcommand)]
    Graduates(university::GraduatesCommand),
    /// Watch the Ministry's transparency log in this institution's name.
    #[command(subcommand)]
    Log(log::LogCommand),
    /// Measure throughput.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        // What works on files alone fails on what it was given, or on the disk.
        Command::Keys(command) => usage_unless_disk(files::keys(command)),
        Command::Trust(command) => usage_unless_disk(files::trust(command)),
        Command::Issue(args) => usage_unless_disk(files::issue(args)),
        Command::Template(command) => usage_unless_disk(files::template(command)),
        Command::Fonts => usage_unless_disk(files::fonts()),
        Command::Verify(args) => usage_unless_disk(verifier::run(args)),
        Command::VerifyReceipt(args) => usage_unless_disk(verifier::verify_receipt(args)),
        Command::Demo { data_dir, port, no_serve } => commands::serve::demo(data_dir, port, no_serve),
        Command::Serve { config } => commands::serve::serve(config),
        Command::Ministry(command) => ministry::run(command),
        Command::Import(command) => university::import(command),
        Command::Staff(command) => university::staff(command),
        Command::Graduates(command) => university::graduates(command),
        Command::Log(command) => log::run(command),
        Command::Bench(command) => bench::run(command),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(commands::exit_status(&e))
        }
    }
}
