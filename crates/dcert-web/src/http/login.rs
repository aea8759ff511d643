//! The sign-in limits, written once for the portal and both consoles.
//!
//! Failed sign-ins are counted per account and per client (an IPv6 client by its /64, behind a
//! trusted proxy the address the proxy saw). Past five failures for an account, or thirty from a
//! client, in fifteen minutes, further attempts are refused with 429 until the window passes:
//! **except from a known device**. A successful sign-in leaves a device cookie bound to the
//! account (an HMAC under a key of this process); from that device, a correct password passes
//! both limits, so nobody can lock the registrar out by typing wrong passwords at their account
//! from elsewhere, or lock an office out from behind its own address. A device's own failures
//! are counted too: after five, it is just another device for the rest of the window.
//!
//! Everything is kept in memory, bounded: a restart forgets failures and known devices alike
//! (the window is short, and the password still decides).

use std::collections::HashMap;
use std::sync::Mutex;

use base64ct::{Base64UrlUnpadded, Encoding};
use ring::hmac;
use sha2::{Digest, Sha256};

/// Accounts, clients and devices remembered before the ones with no recent failure are forgotten.
const MAX_KEYS: usize = 100_000;

/// How long a device cookie is kept, in seconds (180 days).
pub const DEVICE_SECONDS: i64 = 180 * 86_400;

/// One sign-in attempt: who for, from where, with which device cookie.
#[derive(Clone, Copy, Debug)]
pub struct Attempt<'a> {
    /// The session kind signed in to (`graduate`, `staff`, `ministry`): an account name is
    /// counted per kind.
    pub kind: &'a str,
    /// The account as typed (compared without case).
    pub account: &'a str,
    /// The client, as [`super::client::TrustedProxies::client_group`] counts it.
    pub client: &'a str,
    /// The device cookie sent, if any.
    pub device: Option<&'a str>,
}

/// Failed sign-ins in a sliding window, and the key that makes device cookies.
pub struct LoginThrottle {
    failures: Mutex<Failures>,
    key: hmac::Key,
    /// The window, in seconds.
    pub window: i64,
    /// Failures allowed per account in the window, from devices not known to it.
    pub per_account: usize,
    /// Failures allowed per client in the window, from devices not known to the account.
    pub per_client: usize,
    /// Failures allowed per known device in the window before it counts as unknown.
    pub per_device: usize,
}

impl std::fmt::Debug for LoginThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginThrottle")
            .field("window", &self.window)
            .field("per_account", &self.per_account)
            .field("per_client", &self.per_client)
            .field("per_device", &self.per_device)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Failures {
    accounts: HashMap<String, Vec<i64>>,
    clients: HashMap<String, Vec<i64>>,
    devices: HashMap<String, Vec<i64>>,
    refusals: HashMap<String, Vec<i64>>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        let mut secret = [0u8; 32];
        // The operating system's generator failing is not recoverable for a server that signs people in.
        getrandom::fill(&mut secret).unwrap_or_else(|e| panic!("no randomness from the operating system: {e}"));
        LoginThrottle {
            failures: Mutex::default(),
            key: hmac::Key::new(hmac::HMAC_SHA256, &secret),
            window: 15 * 60,
            per_account: 5,
            per_client: 30,
            per_device: 5,
        }
    }
}

/// The failures of `key` still inside the window ending at `now`.
fn recent<'m>(map: &'m mut HashMap<String, Vec<i64>>, key: &str, now: i64, window: i64) -> &'m mut Vec<i64> {
    let times = map.entry(key.to_owned()).or_default();
    times.retain(|t| *t > now - window);
    times
}

/// Notes a failure of `key` at `now`, keeping only the newest `keep` (the ones that can decide
/// anything). Memory stays bounded: past [`MAX_KEYS`] keys, the ones whose failures have left the
/// window are forgotten, then, if a flood of names or addresses still fills the table, the tenth
/// whose last failure is oldest (never everyone's: an attacker cannot wipe the registrar's).
fn bounded(map: &mut HashMap<String, Vec<i64>>, key: &str, now: i64, window: i64, keep: usize) {
    if map.len() >= MAX_KEYS && !map.contains_key(key) {
        map.retain(|_, times| times.iter().any(|t| *t > now - window));
        if map.len() >= MAX_KEYS {
            let mut last: Vec<(i64, String)> =
                map.iter().map(|(k, times)| (times.last().copied().unwrap_or_default(), k.clone())).collect();
            last.sort_unstable();
            tracing::warn!(keys = map.len(), "the sign-in limits forgot the oldest tenth of their failures");
            for (_, k) in last.into_iter().take(MAX_KEYS / 10) {
                map.remove(&k);
            }
        }
    }
    let times = recent(map, key, now, window);
    times.push(now);
    if times.len() > keep {
        times.drain(..times.len() - keep);
    }
}

/// The failures of `key` still inside the window ending at `now`, read without remembering `key`.
fn within(map: &HashMap<String, Vec<i64>>, key: &str, now: i64, window: i64) -> Vec<i64> {
    map.get(key).map(|times| times.iter().copied().filter(|t| *t > now - window).collect()).unwrap_or_default()
}

/// Seconds until the oldest of `limit` failures leaves the window: when one more attempt is allowed.
fn wait(times: &[i64], limit: usize, now: i64, window: i64) -> Option<u64> {
    if times.len() < limit {
        return None;
    }
    let oldest_that_counts = times[times.len() - limit];
    Some((oldest_that_counts + window - now).max(1) as u64)
}

impl LoginThrottle {
    /// The account's key: a hash of kind and name, so that a name of any length costs the same
    /// memory.
    fn account_key(attempt: &Attempt<'_>) -> String {
        let name = format!("{}\0{}", attempt.kind, attempt.account.to_lowercase());
        let digest = Sha256::digest(name.as_bytes());
        Base64UrlUnpadded::encode_string(&digest[..16])
    }

    /// What a device cookie's MAC signs: the account's key and the device's nonce.
    fn device_message(account: &str, nonce: &str) -> String {
        format!("dcert-device\0{account}\0{nonce}")
    }

    /// The account's key and, when the attempt's device cookie was made by this throttle for this
    /// very account, the device's nonce: what every operation needs, computed once.
    fn identify<'a>(&self, attempt: &Attempt<'a>) -> (String, Option<&'a str>) {
        let account = Self::account_key(attempt);
        let nonce = attempt.device.and_then(|cookie| {
            let (nonce, mac) = cookie.split_once('.')?;
            let mac = Base64UrlUnpadded::decode_vec(mac).ok()?;
            hmac::verify(&self.key, Self::device_message(&account, nonce).as_bytes(), &mac).ok()?;
            Some(nonce)
        });
        (account, nonce)
    }

    /// Whether `attempt` may be tried at `now`; `Err` holds the seconds to wait.
    pub fn check(&self, attempt: &Attempt<'_>, now: i64) -> Result<(), u64> {
        let (account, nonce) = self.identify(attempt);
        let f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        self.check_locked(&f, attempt.client, &account, nonce, now)
    }

    fn check_locked(
        &self,
        f: &Failures,
        client: &str,
        account: &str,
        nonce: Option<&str>,
        now: i64,
    ) -> Result<(), u64> {
        let window = self.window;
        if let Some(nonce) = nonce
            && within(&f.devices, nonce, now, window).len() < self.per_device
        {
            return Ok(());
        }
        let account = wait(&within(&f.accounts, account, now, window), self.per_account, now, window);
        let client = wait(&within(&f.clients, client, now, window), self.per_client, now, window);
        match account.max(client) {
            Some(seconds) => Err(seconds),
            None => Ok(()),
        }
    }

    /// Starts an attempt: if it may be tried at `now`, it is counted as a failure at once, under
    /// the same lock, so that attempts racing each other cannot all pass the check before any
    /// failure is noted; [`succeeded`](Self::succeeded) takes it back. `Err` holds the seconds
    /// to wait.
    pub fn begin(&self, attempt: &Attempt<'_>, now: i64) -> Result<(), u64> {
        let (account, nonce) = self.identify(attempt);
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        self.check_locked(&f, attempt.client, &account, nonce, now)?;
        self.note(&mut f, attempt.client, &account, nonce, now);
        Ok(())
    }

    /// Notes a failed attempt, as [`begin`](Self::begin) does before the password is checked:
    /// for tests that pile failures up beyond the limits.
    #[cfg(test)]
    fn failed(&self, attempt: &Attempt<'_>, now: i64) {
        let (account, nonce) = self.identify(attempt);
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        self.note(&mut f, attempt.client, &account, nonce, now);
    }

    /// Whether a refusal of `attempt` at `now` is the first of its window, the one worth an
    /// audit entry (the others would let anyone fill the append-only log).
    pub fn first_refusal(&self, attempt: &Attempt<'_>, now: i64) -> bool {
        let key = Self::account_key(attempt);
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let first = within(&f.refusals, &key, now, self.window).is_empty();
        if first {
            bounded(&mut f.refusals, &key, now, self.window, 1);
        }
        first
    }

    /// Notes a failure against the account, the client, and the device if it is known.
    fn note(&self, f: &mut Failures, client: &str, account: &str, nonce: Option<&str>, now: i64) {
        let window = self.window;
        bounded(&mut f.accounts, account, now, window, self.per_account);
        bounded(&mut f.clients, client, now, window, self.per_client);
        if let Some(nonce) = nonce {
            bounded(&mut f.devices, nonce, now, window, self.per_device);
        }
    }

    /// Notes a successful sign-in: the account's failures are cleared, and the returned value is
    /// the device cookie that lets this device past the limits for this account from now on.
    pub fn succeeded(&self, attempt: &Attempt<'_>) -> String {
        let (account, known) = self.identify(attempt);
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        f.accounts.remove(&account);
        // The attempt was counted when it began: a right password is no failure of the client.
        if let Some(times) = f.clients.get_mut(attempt.client) {
            times.pop();
        }
        if let Some(nonce) = known
            && let Some(times) = f.devices.get_mut(nonce)
        {
            times.pop();
        }
        drop(f);
        let nonce = match known {
            Some(nonce) => nonce.to_owned(),
            None => {
                let mut bytes = [0u8; 16];
                getrandom::fill(&mut bytes).unwrap_or_else(|e| panic!("no randomness from the operating system: {e}"));
                Base64UrlUnpadded::encode_string(&bytes)
            }
        };
        let mac = hmac::sign(&self.key, Self::device_message(&account, &nonce).as_bytes());
        format!("{nonce}.{}", Base64UrlUnpadded::encode_string(mac.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt<'a>(account: &'a str, client: &'a str, device: Option<&'a str>) -> Attempt<'a> {
        Attempt { kind: "staff", account, client, device }
    }

    #[test]
    fn five_failures_hold_the_account_back_from_anywhere_until_the_window_passes() {
        let t = LoginThrottle::default();
        for _ in 0..5 {
            assert_eq!(t.check(&attempt("registrar", "1.2.3.4", None), 100), Ok(()));
            t.failed(&attempt("Registrar", "1.2.3.4", None), 100);
        }
        assert_eq!(t.check(&attempt("registrar", "5.6.7.8", None), 101), Err(899), "per account, whatever the client");
        assert_eq!(t.check(&attempt("other", "1.2.3.4", None), 101), Ok(()));
        assert_eq!(t.check(&attempt("registrar", "1.2.3.4", None), 100 + 15 * 60), Ok(()));
    }

    #[test]
    fn a_known_device_passes_the_limits_an_attacker_imposed_on_its_account() {
        let t = LoginThrottle::default();
        let device = t.succeeded(&attempt("registrar", "10.0.0.5", None));
        for i in 0..40 {
            t.failed(&attempt("registrar", "203.0.113.9", None), 100 + i);
        }
        assert!(t.check(&attempt("registrar", "203.0.113.9", None), 200).is_err());
        assert_eq!(t.check(&attempt("registrar", "203.0.113.9", Some(&device)), 200), Ok(()), "even from that client");
        assert_eq!(t.check(&attempt("registrar", "10.0.0.5", Some(&device)), 200), Ok(()));
        // The cookie is bound to its account and to this process's key.
        assert!(t.check(&attempt("admin", "198.51.100.7", Some(&device)), 200).is_ok(), "admin has no failures");
        for _ in 0..5 {
            t.failed(&attempt("admin", "198.51.100.7", None), 200);
        }
        assert!(t.check(&attempt("admin", "198.51.100.7", Some(&device)), 201).is_err(), "not admin's device");
        let other = LoginThrottle::default();
        for _ in 0..5 {
            other.failed(&attempt("registrar", "203.0.113.9", None), 100);
        }
        assert!(other.check(&attempt("registrar", "10.0.0.5", Some(&device)), 101).is_err());
        assert!(t.check(&attempt("registrar", "1.1.1.1", Some("forged.AAAA")), 200).is_err());
    }

    #[test]
    fn a_known_device_that_fails_five_times_is_just_another_device() {
        let t = LoginThrottle::default();
        let device = t.succeeded(&attempt("registrar", "10.0.0.5", None));
        for _ in 0..5 {
            t.failed(&attempt("registrar", "10.0.0.5", Some(&device)), 100);
        }
        assert!(t.check(&attempt("registrar", "10.0.0.5", Some(&device)), 101).is_err());
    }

    #[test]
    fn thirty_failures_hold_back_one_client_and_no_other() {
        let t = LoginThrottle::default();
        for i in 0..30 {
            t.failed(&attempt(&format!("s{i}"), "198.51.100.7", None), 100);
        }
        assert!(t.check(&attempt("fresh", "198.51.100.7", None), 101).is_err());
        assert_eq!(t.check(&attempt("fresh", "198.51.100.8", None), 101), Ok(()));
    }

    #[test]
    fn attempts_racing_each_other_are_counted_as_they_begin() {
        let t = LoginThrottle::default();
        // Twenty attempts begin before any password check ends: only five may go on.
        let begun = (0..20).filter(|_| t.begin(&attempt("registrar", "203.0.113.9", None), 100).is_ok()).count();
        assert_eq!(begun, 5);
        // A right password takes its attempt back from the client's count.
        let t = LoginThrottle::default();
        for _ in 0..40 {
            let _ = t.begin(&attempt("someone", "198.51.100.7", None), 100);
            t.succeeded(&attempt("someone", "198.51.100.7", None));
        }
        assert_eq!(
            t.check(&attempt("other", "198.51.100.7", None), 101),
            Ok(()),
            "forty right passwords are no failures"
        );
        assert!(t.first_refusal(&attempt("registrar", "1.1.1.1", None), 100));
        assert!(!t.first_refusal(&attempt("registrar", "2.2.2.2", None), 200), "one audit entry per window");
    }

    #[test]
    fn a_flood_of_names_forgets_the_oldest_failures_not_the_registrars() {
        let t = LoginThrottle::default();
        for _ in 0..5 {
            t.failed(&attempt("registrar", "203.0.113.9", None), 1_000);
        }
        for i in 0..(MAX_KEYS + 10) {
            t.failed(&attempt(&format!("name{i}"), "198.51.100.1", None), 900);
        }
        assert!(t.check(&attempt("registrar", "192.0.2.1", None), 1_001).is_err(), "still held back");
        let f = t.failures.lock().unwrap();
        assert!(f.accounts.len() <= MAX_KEYS);
    }

    #[test]
    fn an_account_name_of_any_length_takes_the_same_memory() {
        let t = LoginThrottle::default();
        t.failed(&attempt(&"x".repeat(1 << 20), "198.51.100.1", None), 100);
        let f = t.failures.lock().unwrap();
        assert!(f.accounts.keys().all(|k| k.len() < 32));
    }

    #[test]
    fn memory_stays_bounded_whatever_is_typed() {
        let t = LoginThrottle::default();
        for i in 0..(MAX_KEYS + 10) {
            t.failed(&attempt(&format!("name{i}"), "1.2.3.4", None), 100);
        }
        let f = t.failures.lock().unwrap();
        assert!(f.accounts.len() <= MAX_KEYS);
        assert_eq!(f.clients["1.2.3.4"].len(), 30, "only the failures that can decide are kept");
    }
}
