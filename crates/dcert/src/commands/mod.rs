//! One module per command group; each has its clap arguments and a `run` that returns the exit
//! status. What they share: the exit statuses, telling usage errors from runtime failures, the
//! argument parsers, a runtime for the commands that touch a database.

pub mod files;
pub mod log;
pub mod ministry;
pub mod serve;
pub mod university;

use std::fmt;

use anyhow::{Context, Result};
use dcert_core::model::{CredentialType, DegreeLevel, Language};
use dcert_store::Role;

use crate::now;

/// Exit status: the command succeeded; every file verified.
pub const EXIT_SUCCESS: u8 = 0;
/// Exit status: a file failed verification, or a bench's own check failed.
pub const EXIT_FAILURE: u8 = 1;
/// Exit status: what the command was given is wrong (arguments, a settings file, an input file,
/// a trust list that does not verify); nothing was changed.
pub const EXIT_USAGE: u8 = 2;
/// Exit status: no file failed, but at least one is superseded by a newer version.
pub const EXIT_WARNING: u8 = 3;
/// Exit status: the command was right but could not be carried out (a database, the network,
/// a port, a disk failed while it worked).
pub const EXIT_RUNTIME: u8 = 4;

/// An error in what the command was given: exit status 2. It reads exactly as the error it
/// wraps, causes included.
#[derive(Debug)]
pub struct Usage(anyhow::Error);

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for Usage {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Marks an error as the user's input being wrong.
pub trait UsageExt<T> {
    /// The same result, its error marked [`Usage`].
    fn usage(self) -> Result<T>;
}

impl<T, E: Into<anyhow::Error>> UsageExt<T> for std::result::Result<T, E> {
    fn usage(self) -> Result<T> {
        self.map_err(|e| anyhow::Error::new(Usage(e.into())))
    }
}

/// An error in what the command was given, in words.
pub fn wrong(message: impl fmt::Display + fmt::Debug + Send + Sync + 'static) -> anyhow::Error {
    anyhow::Error::new(Usage(anyhow::Error::msg(message)))
}

/// A result whose error is the input's fault unless a database or a file failed underneath
/// (for commands whose refusals are mostly about what they were given, such as the registry's).
pub fn usage_unless_io<T>(result: Result<T>) -> Result<T> {
    result.map_err(|e| {
        let io = e.chain().any(|cause| {
            cause.is::<std::io::Error>()
                || cause.downcast_ref::<dcert_store::StoreError>().is_some_and(|s| {
                    matches!(s, dcert_store::StoreError::Database(_) | dcert_store::StoreError::File { .. })
                })
        });
        if io { e } else { anyhow::Error::new(Usage(e)) }
    })
}

/// A result of a command that works on files (and, verifying, perhaps asks a registry): its error
/// is what it was given (a path that does not exist or exists already, a file that does not
/// read: exit status 2) unless the disk or the network failed under it (full, read-only, an I/O
/// error, a registry that does not answer: 4).
pub fn usage_unless_disk<T>(result: Result<T>) -> Result<T> {
    use std::io::ErrorKind as K;
    result.map_err(|e| {
        use dcert_web::http::outbound::OutboundError as O;
        let network = e.chain().filter_map(|cause| cause.downcast_ref::<O>()).any(|o| {
            matches!(o, O::Connect { .. } | O::Tls { .. } | O::Http { .. } | O::Body { .. } | O::Timeout { .. })
        });
        let disk = network
            || e.chain().filter_map(|cause| cause.downcast_ref::<std::io::Error>()).any(|io| {
                !matches!(
                    io.kind(),
                    K::NotFound
                        | K::AlreadyExists
                        | K::PermissionDenied
                        | K::InvalidInput
                        | K::InvalidData
                        | K::UnexpectedEof
                        | K::IsADirectory
                        | K::NotADirectory
                )
            });
        if disk || e.downcast_ref::<Usage>().is_some() { e } else { anyhow::Error::new(Usage(e)) }
    })
}

/// A store's refusal (a username taken, a campus it does not have) as the input's fault; any
/// other store error as a runtime failure.
pub fn refused_as_usage(e: dcert_store::StoreError) -> anyhow::Error {
    match e {
        dcert_store::StoreError::Conflict(message) => wrong(message),
        other => other.into(),
    }
}

/// The exit status of a failed command: 2 when its input was wrong, 4 otherwise.
pub fn exit_status(error: &anyhow::Error) -> u8 {
    if error.downcast_ref::<Usage>().is_some() { EXIT_USAGE } else { EXIT_RUNTIME }
}

/// A language argument: zh (zh-TW and zh-Hant are accepted too) or en.
pub fn parse_language(s: &str) -> std::result::Result<Language, String> {
    s.parse().map_err(|e: dcert_core::model::ModelError| e.to_string())
}

/// A credential type argument: degree or teacher.
pub fn parse_type(s: &str) -> std::result::Result<CredentialType, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| format!("{s:?} is not degree or teacher"))
}

/// A degree level argument.
pub fn parse_level(s: &str) -> std::result::Result<DegreeLevel, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| format!("{s:?} is not associate, bachelor, master or doctor"))
}

/// A runtime for a command's few database calls.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")
}

/// A new console account, as `dcert staff add` and `dcert ministry staff-add` name it.
#[derive(clap::Args)]
pub struct NewStaff {
    /// The settings file.
    #[arg(long)]
    pub config: std::path::PathBuf,
    /// The login name.
    #[arg(long)]
    pub username: String,
    /// The name shown in the console and the audit log.
    #[arg(long)]
    pub name: String,
    /// At a university: registrar, campus_office or admin. At the Ministry: ministry_admin
    /// (everything) or ministry_editor (news and FAQ).
    #[arg(long)]
    pub role: String,
}

impl NewStaff {
    /// The role asked for, if it is one of `roles` (`words` names them), and the hash of the new
    /// password read from standard input.
    pub fn role_and_password(&self, roles: &[Role], words: &'static str) -> Result<(Role, String)> {
        let role = self.role.parse().ok().filter(|r| roles.contains(r)).ok_or_else(|| wrong(words))?;
        Ok((role, dcert_web::auth::hash_password(&read_new_password()?)))
    }

    /// Adds the account to `store` (of `campus`, for a campus office), and says so.
    pub async fn add(&self, store: &dcert_store::Db, role: Role, hash: &str, campus: Option<&str>) -> Result<()> {
        store
            .create_staff(
                &dcert_store::NewAccount {
                    username: &self.username,
                    display_name: &self.name,
                    password_hash: hash,
                    role,
                    campus,
                    at: now().unix(),
                },
                &dcert_store::AuditEntry::local(
                    now().unix(),
                    "cli",
                    "operator",
                    "add_staff",
                    format!("staff:{}", self.username),
                    role.code(),
                ),
            )
            .await
            .map_err(refused_as_usage)?;
        println!("added {} ({})", self.username, role.code());
        Ok(())
    }
}

/// Reads a new password (one line) from standard input: at least 10 characters.
pub fn read_new_password() -> Result<String> {
    let mut password = String::new();
    std::io::stdin().read_line(&mut password).context("cannot read the password from standard input").usage()?;
    let password = password.trim_end_matches(['\r', '\n']).to_owned();
    if password.chars().count() < 10 {
        return Err(anyhow::anyhow!("the password must have at least 10 characters")).usage();
    }
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_usage_error_reads_as_its_cause_and_keeps_its_status_under_more_context() {
        let e = std::fs::read("/nonexistent/dcert").context("cannot read the record").usage().unwrap_err();
        let e = e.context("issuing");
        assert_eq!(exit_status(&e), EXIT_USAGE);
        assert_eq!(format!("{e:#}"), "issuing: cannot read the record: No such file or directory (os error 2)");
        let runtime = anyhow::anyhow!("the database does not answer");
        assert_eq!(exit_status(&runtime), EXIT_RUNTIME);
    }

    #[test]
    fn a_file_command_fails_on_its_input_with_2_and_on_a_failing_disk_with_4() {
        let io = |kind: std::io::ErrorKind| -> Result<()> {
            Err(anyhow::Error::new(std::io::Error::from(kind)).context("cannot write out.pdf"))
        };
        use std::io::ErrorKind as K;
        for kind in [K::NotFound, K::AlreadyExists, K::PermissionDenied, K::InvalidData] {
            assert_eq!(exit_status(&usage_unless_disk(io(kind)).unwrap_err()), EXIT_USAGE, "{kind:?}");
        }
        for kind in [K::StorageFull, K::ReadOnlyFilesystem, K::Other] {
            assert_eq!(exit_status(&usage_unless_disk(io(kind)).unwrap_err()), EXIT_RUNTIME, "{kind:?}");
        }
        let refused: Result<()> = Err(anyhow::anyhow!("the trust list does not verify"));
        assert_eq!(exit_status(&usage_unless_disk(refused).unwrap_err()), EXIT_USAGE);
    }
}
