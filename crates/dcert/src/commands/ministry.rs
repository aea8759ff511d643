//! `dcert ministry`: the Ministry's site, its console accounts, and the registry of issuing
//! institutions.

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;

use dcert_store::{MinistryRole, Role};

use super::{EXIT_SUCCESS, NewStaff, UsageExt, runtime, usage_unless_io};
use crate::{config, registry_cli, server};

#[derive(Subcommand)]
pub enum MinistryCommand {
    /// Serve the Ministry's site alone: verification pages, the JSON API, the signed
    /// issuance-records API and the trust list, with settings from a file (see
    /// examples/ministry.toml) and DCERT_<SECTION>__<KEY> variables.
    Serve {
        /// The settings file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Add a Ministry console account; the password is read from standard input (one line).
    StaffAdd(NewStaff),
    #[command(flatten)]
    Registry(registry_cli::RegistryCommand),
}

/// `dcert ministry`.
pub fn run(command: MinistryCommand) -> Result<u8> {
    match command {
        MinistryCommand::Serve { config } => {
            server::init_logging();
            let config: config::MinistryFile = config::load_as(&config).usage()?;
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(server::serve_ministry(config))?;
            Ok(EXIT_SUCCESS)
        }
        MinistryCommand::StaffAdd(staff) => {
            let config: config::MinistryFile = config::load_as(&staff.config).usage()?;
            let roles = [Role::Ministry(MinistryRole::Admin), Role::Ministry(MinistryRole::Editor)];
            let (role, hash) = staff.role_and_password(&roles, "the role is ministry_admin or ministry_editor")?;
            runtime()?.block_on(async {
                let store = server::open_ministry(&config.database.url).await?;
                staff.add(&store, role, &hash, None).await
            })?;
            Ok(EXIT_SUCCESS)
        }
        MinistryCommand::Registry(command) => {
            usage_unless_io(registry_cli::run(command))?;
            Ok(EXIT_SUCCESS)
        }
    }
}
