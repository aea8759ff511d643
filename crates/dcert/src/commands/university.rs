//! The university's data from the command line: `dcert import graduates`, `dcert graduates
//! set-password`, `dcert staff add`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;

use dcert_store::{Role, UniversityRole};

use super::{EXIT_SUCCESS, NewStaff, UsageExt, runtime, wrong};
use crate::{config, now, server, verifier};

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Import graduates from the student information system's CSV (UTF-8; see the console's
    /// import page for the columns). All rows or none.
    Graduates {
        /// The settings file.
        #[arg(long)]
        config: PathBuf,
        /// Accept only rows of this campus (e.g. 建工).
        #[arg(long)]
        campus: Option<String>,
        /// The CSV file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum GraduatesCommand {
    /// Set the portal passwords of graduates, read from standard input as CSV lines
    /// `student_number,password` (one graduate or a whole class; a header line is skipped).
    SetPassword {
        /// The settings file.
        #[arg(long)]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum StaffCommand {
    /// Add a console account; the password is read from standard input (one line).
    Add {
        #[command(flatten)]
        staff: NewStaff,
        /// The campus of a campus office.
        #[arg(long)]
        campus: Option<String>,
    },
}

/// `dcert import`.
pub fn import(command: ImportCommand) -> Result<u8> {
    match command {
        ImportCommand::Graduates { config, campus, file } => {
            let config = config::load(&config).usage()?;
            let bytes = verifier::read_bounded(&file, 64 << 20).usage()?;
            runtime()?.block_on(async {
                let store = server::open_university(&config.database.url).await?;
                server::prepare(&store, &config.campuses).await?;
                let all: Vec<String> = store.campuses().await?.into_iter().map(|c| c.code).collect();
                if let Some(c) = &campus
                    && !all.contains(c)
                {
                    return Err(wrong(format!("unknown campus {c}; the campuses are {}", all.join(", "))));
                }
                let allowed: Vec<&str> =
                    all.iter().map(String::as_str).filter(|c| campus.as_deref().is_none_or(|x| x == *c)).collect();
                let limits = dcert_core::roster::Limits::default();
                let rows =
                    match dcert_core::roster::parse_roster(&bytes, &config.site.school_names(), &allowed, &limits) {
                        Ok(rows) => rows,
                        Err(e) => {
                            let errors = e.problems();
                            for e in &errors {
                                eprintln!("{}: {e}", file.display());
                            }
                            return Err(wrong(format!("{} problem(s); nothing was imported", errors.len())));
                        }
                    };
                let audit = |s: &dcert_store::ImportSummary| {
                    dcert_store::AuditEntry::local(
                        now().unix(),
                        "cli",
                        "operator",
                        "import_graduates",
                        "graduates",
                        s.to_string(),
                    )
                };
                let s = store.import_graduates(&rows, now().unix(), audit).await?;
                println!(
                    "imported {} rows: {} new, {} updated, {} unchanged",
                    rows.len(),
                    s.inserted,
                    s.updated,
                    s.unchanged
                );
                anyhow::Ok(())
            })?;
            Ok(EXIT_SUCCESS)
        }
    }
}

/// `dcert graduates`.
pub fn graduates(command: GraduatesCommand) -> Result<u8> {
    match command {
        GraduatesCommand::SetPassword { config } => {
            let config = config::load(&config).usage()?;
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).context("cannot read standard input")?;
            let mut pairs = Vec::new();
            for (i, line) in text.lines().enumerate() {
                let line = line.trim_start_matches('\u{feff}').trim();
                if line.is_empty() || line.eq_ignore_ascii_case("student_number,password") {
                    continue;
                }
                let Some((number, password)) = line.split_once(',') else {
                    return Err(wrong(format!("line {}: expected student_number,password", i + 1)));
                };
                if password.chars().count() < 8 {
                    return Err(wrong(format!("line {}: the password must have at least 8 characters", i + 1)));
                }
                pairs.push((number.trim().to_uppercase(), password.to_owned()));
            }
            runtime()?.block_on(async {
                let store = server::open_university(&config.database.url).await?;
                for (number, _) in &pairs {
                    if store.graduate_terms(number).await?.is_empty() {
                        return Err(wrong(format!("{number} is not an imported graduate; import the class first")));
                    }
                }
                for (number, password) in &pairs {
                    store
                        .set_graduate_password(number, &dcert_web::auth::hash_password(password), now().unix())
                        .await?;
                }
                anyhow::Ok(())
            })?;
            println!("set {} password(s)", pairs.len());
            Ok(EXIT_SUCCESS)
        }
    }
}

/// `dcert staff`.
pub fn staff(command: StaffCommand) -> Result<u8> {
    match command {
        StaffCommand::Add { staff, campus } => {
            let config = config::load(&staff.config).usage()?;
            let roles = [
                Role::University(UniversityRole::Registrar),
                Role::University(UniversityRole::CampusOffice),
                Role::University(UniversityRole::Admin),
            ];
            let (role, hash) = staff.role_and_password(&roles, "the role is registrar, campus_office or admin")?;
            runtime()?.block_on(async {
                let store = server::open_university(&config.database.url).await?;
                server::prepare(&store, &config.campuses).await?;
                staff.add(&store, role, &hash, campus.as_deref()).await
            })?;
            Ok(EXIT_SUCCESS)
        }
    }
}
