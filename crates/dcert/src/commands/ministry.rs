//! `dcert ministry`: the Ministry's site, its console accounts, and the registry of issuing
//! institutions.

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;

use super::{EXIT_SUCCESS, UsageExt, read_new_password, refused_as_usage, runtime, usage_unless_io, wrong};
use crate::{config, now, registry_cli, server};

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
    StaffAdd {
        /// The Ministry's settings file.
        #[arg(long)]
        config: PathBuf,
        /// The login name.
        #[arg(long)]
        username: String,
        /// The name shown in the console and the audit log.
        #[arg(long)]
        name: String,
        /// ministry_admin (everything) or ministry_editor (news and FAQ).
        #[arg(long)]
        role: String,
    },
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
        MinistryCommand::StaffAdd { config, username, name, role } => {
            let config: config::MinistryFile = config::load_as(&config).usage()?;
            let role: dcert_store::Role = role
                .parse()
                .ok()
                .filter(|r| matches!(r, dcert_store::Role::MinistryAdmin | dcert_store::Role::MinistryEditor))
                .ok_or_else(|| wrong("the role is ministry_admin or ministry_editor"))?;
            let hash = dcert_web::auth::hash_password(&read_new_password()?);
            runtime()?.block_on(async {
                let store = server::open_ministry(&config.database.url).await?;
                store
                    .create_staff(&username, &name, &hash, role, None, now().unix())
                    .await
                    .map_err(refused_as_usage)?;
                anyhow::Ok(())
            })?;
            println!("added {username} ({})", role.code());
            Ok(EXIT_SUCCESS)
        }
        MinistryCommand::Registry(command) => {
            usage_unless_io(registry_cli::run(command))?;
            Ok(EXIT_SUCCESS)
        }
    }
}
