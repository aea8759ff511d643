//! Passwords and tokens.
//!
//! - Passwords are argon2id PHC strings, checked off the async threads; an unknown account costs
//!   the same as a wrong password.
//! - Tokens (sessions, CSRF, email links) are 256 random bits; the store keeps only their SHA-256.
//!
//! Sessions, CSRF and the sign-in limits are in [`crate::http`].

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use sha2::{Digest, Sha256};

/// A random token: 32 bytes, URL-safe base64.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // The operating system's generator failing is not recoverable for a server that signs people in.
    getrandom::fill(&mut bytes).unwrap_or_else(|e| panic!("no randomness from the operating system: {e}"));
    <base64ct::Base64UrlUnpadded as base64ct::Encoding>::encode_string(&bytes)
}

/// The SHA-256 of a token, hex, as the store keeps it.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> String {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).unwrap_or_else(|e| panic!("no randomness from the operating system: {e}"));
    PasswordHasher::<PasswordHash>::hash_password_with_salt(&Argon2::default(), password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .unwrap_or_else(|e| panic!("argon2 with default parameters cannot fail: {e}"))
}

/// A hash of a password nobody has, verified when the account does not exist so that an unknown
/// account takes as long as a wrong password.
static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| hash_password("not a password"));

/// Whether `password` matches `hash` (or, with no hash, spends the same time and says no).
pub fn verify_password(password: &str, hash: Option<&str>) -> bool {
    let hash = hash.unwrap_or(&DUMMY_HASH);
    let Ok(parsed) = PasswordHash::new(hash) else { return false };
    let ok = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
    ok && hash != DUMMY_HASH.as_str()
}

/// Whether `password` matches `hash`, checked on a blocking thread: argon2 takes tens of
/// milliseconds of CPU, which must not stall the async threads serving everyone else.
pub async fn check_password(password: String, hash: Option<String>) -> Result<bool, crate::http::AppError> {
    tokio::task::spawn_blocking(move || verify_password(&password, hash.as_deref()))
        .await
        .map_err(|e| crate::http::AppError::internal("checking a password", e))
}

/// Compares two strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What [`GraduateAuth::check`] returns.
pub type AuthFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<bool, dcert_store::StoreError>> + Send + 'a>>;

/// How a graduate proves who they are. The built-in [`StorePasswords`] checks argon2id hashes in
/// the store (set by `dcert graduates set-password`); a school's single sign-on would be another
/// implementation of this trait, with the rest of the portal unchanged.
pub trait GraduateAuth: Send + Sync {
    /// Whether `password` is the password of `student_number`.
    fn check<'a>(&'a self, student_number: &'a str, password: &'a str) -> AuthFuture<'a>;
}

/// Graduates' passwords kept in the store as argon2id hashes.
#[derive(Clone, Debug)]
pub struct StorePasswords {
    /// The university's store.
    pub store: dcert_store::UniversityStore,
}

impl GraduateAuth for StorePasswords {
    fn check<'a>(&'a self, student_number: &'a str, password: &'a str) -> AuthFuture<'a> {
        Box::pin(async move {
            let hash = self.store.graduate_password(student_number).await?;
            Ok(check_password(password.to_owned(), hash).await.unwrap_or(false))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_hash_only() {
        let h = hash_password("correct horse");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", Some(&h)));
        assert!(!verify_password("wrong", Some(&h)));
        assert!(!verify_password("not a password", None), "no account, no login");
    }

    #[test]
    fn tokens_are_random_and_stored_only_as_hashes() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a).len(), 64);
        assert!(constant_time_eq(&a, &a.clone()) && !constant_time_eq(&a, &b));
    }
}
