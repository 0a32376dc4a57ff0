//! Reviewers' logins for `tenderscan serve`: argon2 password hashes, sessions, CSRF tokens and
//! the login rate limit.
//!
//! Must never: keep or log a password; compare a secret in time that depends on its content;
//! let an unknown user be told apart from a wrong password.
//!
//! Pure Rust, no HTTP framework: the server calls it. Its parts:
//! - [`hash_password`] makes the `$argon2id$...` strings of the password file.
//! - [`Reviewers`] holds the configured reviewers' hashes ([`Reviewers::load`]) and checks a
//!   login ([`Reviewers::verify`]); an unknown user costs one argon2 run like a known one.
//! - [`Sessions`] keeps logins in memory (a token for the cookie, a CSRF token for the forms)
//!   and the one-time nonces of the login form.
//! - [`LoginLimiter`] counts failed logins per user name and per client address.
//! - [`same_secret`], [`set_cookie`], [`clear_cookie`], [`cookie`]: the small helpers.
//!
//! Secrets (tokens, nonces, user names in the limiter) are kept under their SHA-256, so that a
//! map lookup's timing says nothing about a secret's content.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use argon2::password_hash::SaltString;
use argon2::{
    ARGON2ID_IDENT, Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier,
    Version,
};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::config::ServeConfig;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "tenderscan_session";

/// How long a login form's nonce stays valid.
pub const LOGIN_NONCE_TTL: Duration = Duration::from_secs(30 * 60);
/// At most this many login-form nonces are kept; beyond it the oldest are dropped (a flood of
/// login-page views can make an old form fail, never exhaust memory).
pub const MAX_LOGIN_NONCES: usize = 10_000;
/// At most this many sessions are kept; beyond it the one that expires first ends.
pub const MAX_SESSIONS: usize = 10_000;
/// The login limit: this many failures ...
pub const LOGIN_MAX_FAILURES: usize = 5;
/// ... within this window, per user name and per client address.
pub const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);
/// At most this many user names and this many client addresses are counted.
pub const LOGIN_MAX_ENTRIES: usize = 10_000;
/// A password hash that asks for more memory than this (KiB) is refused when loading: each
/// login would cost that much.
pub const MAX_HASH_MEMORY_KIB: u32 = 1024 * 1024;

/// Where a password hash line comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// `[serve] password_file`.
    File(PathBuf),
    /// `[serve] password_env`: the variable's name.
    Env(String),
}

impl fmt::Display for PasswordSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordSource::File(p) => write!(f, "{}", p.display()),
            PasswordSource::Env(v) => write!(f, "environment variable {v}"),
        }
    }
}

/// A line of a password file (1-based), or an entry of the environment variable (1-based,
/// entries separated by newlines or `;`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub source: PasswordSource,
    pub line: usize,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            PasswordSource::File(p) => write!(f, "{}:{}", p.display(), self.line),
            PasswordSource::Env(v) => write!(f, "environment variable {v}, entry {}", self.line),
        }
    }
}

/// What can go wrong with the reviewers' passwords. Never holds a hash or a password.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{}: cannot read the password file: {source}", file.display())]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("environment variable {var} ([serve] password_env) is not set")]
    EnvNotSet { var: String },
    #[error("environment variable {var} ([serve] password_env) is not valid UTF-8")]
    EnvNotUnicode { var: String },
    /// A line that is not `name:hash`, or a reviewer's hash that does not parse.
    #[error("{at}: {message}")]
    Line { at: Place, message: String },
    #[error(
        "{at}: a second password hash for reviewer `{user}` (the first is at {first}); keep one"
    )]
    Duplicate {
        user: String,
        at: Place,
        first: Place,
    },
    #[error(
        "reviewer `{user}` has no password hash in {searched} (add a line `{user}:$argon2id$...`, made with `tenderscan serve --hash-password`)"
    )]
    Missing { user: String, searched: String },
    #[error("[serve] reviewers need their password hashes: set password_file or password_env")]
    NoSource,
    #[error("an empty password cannot be hashed")]
    EmptyPassword,
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

/// An argon2id PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) of `password`, with a
/// random 16-byte salt and argon2's default (OWASP) costs.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    if password.is_empty() {
        return Err(AuthError::EmptyPassword);
    }
    hash_with(&Argon2::default(), password.as_bytes())
}

fn hash_with(argon: &Argon2<'_>, password: &[u8]) -> Result<String, AuthError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>())
        .map_err(|e| AuthError::Hash(e.to_string()))?;
    argon
        .hash_password(password, &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // ThreadRng: a CSPRNG seeded from the operating system.
    rand::rng().fill_bytes(&mut b);
    b
}

/// 256 random bits, hex.
fn random_token() -> String {
    hex::encode(random_bytes::<32>())
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// The reviewers who may log in, with their password hashes.
pub struct Reviewers {
    hashes: HashMap<String, String>,
    /// Verified against for an unknown user, with the costs of a reviewer's hash.
    dummy: Option<String>,
}

/// Names only: the hashes stay out of logs.
impl fmt::Debug for Reviewers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.names().collect();
        names.sort_unstable();
        f.debug_struct("Reviewers").field("names", &names).finish()
    }
}

impl Reviewers {
    /// The configured reviewers with their hashes from `password_file` and/or `password_env`.
    /// With no reviewers nothing is read (the page is read-only). Each reviewer needs exactly
    /// one hash across both; lines for other names are ignored.
    pub fn load(cfg: &ServeConfig) -> Result<Reviewers, AuthError> {
        if cfg.reviewers.is_empty() {
            return Reviewers::from_lines(&[], &[]);
        }
        let mut sources = Vec::new();
        if let Some(file) = &cfg.password_file {
            let text = std::fs::read_to_string(file).map_err(|source| AuthError::Read {
                file: file.clone(),
                source,
            })?;
            sources.push((PasswordSource::File(file.clone()), text));
        }
        if let Some(var) = &cfg.password_env {
            let text = match std::env::var(var) {
                Ok(t) => t,
                Err(std::env::VarError::NotPresent) => {
                    return Err(AuthError::EnvNotSet { var: var.clone() });
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(AuthError::EnvNotUnicode { var: var.clone() });
                }
            };
            sources.push((PasswordSource::Env(var.clone()), text));
        }
        let sources: Vec<(PasswordSource, &str)> = sources
            .iter()
            .map(|(s, t)| (s.clone(), t.as_str()))
            .collect();
        Reviewers::from_lines(&cfg.reviewers, &sources)
    }

    /// The reviewers `names` with their hashes from `sources`' text: a file's lines, or an
    /// environment variable's entries separated by newlines or `;`. `name:$argon2id$...` lines;
    /// blank lines and lines starting with `#` are skipped.
    pub fn from_lines(
        names: &[String],
        sources: &[(PasswordSource, &str)],
    ) -> Result<Reviewers, AuthError> {
        if names.is_empty() {
            return Ok(Reviewers {
                hashes: HashMap::new(),
                dummy: None,
            });
        }
        if sources.is_empty() {
            return Err(AuthError::NoSource);
        }
        let mut found: HashMap<&str, (String, Place)> = HashMap::new();
        for (source, text) in sources {
            // A byte-order mark (a file saved by Notepad) is no part of the first name.
            let text = text.strip_prefix('\u{feff}').unwrap_or(text);
            let entries: Vec<&str> = match source {
                PasswordSource::File(_) => text.split('\n').collect(),
                PasswordSource::Env(_) => text.split(['\n', ';']).collect(),
            };
            for (i, entry) in entries.iter().enumerate() {
                let at = Place {
                    source: source.clone(),
                    line: i + 1,
                };
                let entry = entry.trim();
                if entry.is_empty() || entry.starts_with('#') {
                    continue;
                }
                // The line may be a pasted password: never echo it.
                let Some((name, hash)) = entry.split_once(':') else {
                    return Err(AuthError::Line {
                        at,
                        message: "not a `name:$argon2id$...` line".into(),
                    });
                };
                let name = name.trim();
                let Some(user) = names.iter().find(|n| n.as_str() == name) else {
                    continue; // only reviewers may log in
                };
                if let Err(why) = check_hash(hash.trim()) {
                    return Err(AuthError::Line {
                        at,
                        message: format!(
                            "the password hash of reviewer `{user}` is not usable: {why} (make one with `tenderscan serve --hash-password`)"
                        ),
                    });
                }
                if let Some((_, first)) = found.get(user.as_str()) {
                    return Err(AuthError::Duplicate {
                        user: user.clone(),
                        at,
                        first: first.clone(),
                    });
                }
                found.insert(user, (hash.trim().to_string(), at));
            }
        }
        for user in names {
            if !found.contains_key(user.as_str()) {
                let searched: Vec<String> = sources.iter().map(|(s, _)| s.to_string()).collect();
                return Err(AuthError::Missing {
                    user: user.clone(),
                    searched: searched.join(" or "),
                });
            }
        }
        let hashes: HashMap<String, String> = found
            .into_iter()
            .map(|(user, (hash, _))| (user.to_string(), hash))
            .collect();
        // The dummy costs what the first reviewer's hash costs.
        let params = names
            .first()
            .and_then(|n| hashes.get(n))
            .and_then(|h| {
                PasswordHash::new(h)
                    .ok()
                    .and_then(|h| Params::try_from(&h).ok())
            })
            .unwrap_or_default();
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy = hash_with(&argon, &random_bytes::<32>())?;
        Ok(Reviewers {
            hashes,
            dummy: Some(dummy),
        })
    }

    /// Any reviewers: logins and verdict forms are on.
    pub fn enabled(&self) -> bool {
        !self.hashes.is_empty()
    }

    /// The reviewers' names, in no particular order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.hashes.keys().map(String::as_str)
    }

    /// Whether `password` is `user`'s. An unknown user's password is checked against a dummy
    /// hash all the same (and fails), so the time taken does not tell the two apart.
    pub fn verify(&self, user: &str, password: &str) -> bool {
        match (self.hashes.get(user), &self.dummy) {
            (Some(hash), _) => argon2_verify(hash, password),
            (None, Some(dummy)) => {
                let _ = std::hint::black_box(argon2_verify(dummy, password));
                false
            }
            (None, None) => false,
        }
    }
}

/// Why a hash string cannot be used (without quoting it).
fn check_hash(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("it is empty".into());
    }
    let hash = PasswordHash::new(s).map_err(|e| format!("not a PHC string ({e})"))?;
    if hash.algorithm != ARGON2ID_IDENT {
        return Err("not argon2id".into());
    }
    if hash.salt.is_none() || hash.hash.is_none() {
        return Err("the salt or the hash is missing".into());
    }
    let params = Params::try_from(&hash).map_err(|e| format!("bad parameters ({e})"))?;
    if params.m_cost() > MAX_HASH_MEMORY_KIB {
        return Err(format!(
            "it asks for {} MiB per login (at most {} MiB)",
            params.m_cost() / 1024,
            MAX_HASH_MEMORY_KIB / 1024
        ));
    }
    Ok(())
}

fn argon2_verify(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(h) => Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

/// Whether two secrets are equal, in time that depends on their length only.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let diff = a
        .iter()
        .zip(b)
        .fold(0u8, |acc, (x, y)| acc | std::hint::black_box(x ^ y));
    std::hint::black_box(diff) == 0
}

/// A reviewer's login.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    /// The session cookie's value: 256 random bits, hex.
    pub token: String,
    pub user: String,
    /// The forms' CSRF token (compare with [`same_secret`]): 256 other random bits, hex.
    pub csrf: String,
}

/// The user only: the tokens stay out of logs.
impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Logins in memory (a restart logs everyone out) and the login form's nonces.
pub struct Sessions {
    ttl: Duration,
    inner: Mutex<SessionsInner>,
}

struct SessionsInner {
    /// By the token's SHA-256: the session and when it expires.
    sessions: HashMap<[u8; 32], (Session, Instant)>,
    next_sweep: Option<Instant>,
    /// By the nonce's SHA-256: when it expires.
    nonces: HashMap<[u8; 32], Instant>,
    /// The nonces in the order made (some perhaps already taken), for dropping the oldest.
    nonce_order: VecDeque<[u8; 32]>,
}

/// How often expired sessions are swept out all at once.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

impl Sessions {
    /// Sessions that last `ttl` from the login (`[serve] session_hours`).
    pub fn new(ttl: Duration) -> Sessions {
        Sessions {
            ttl,
            inner: Mutex::new(SessionsInner {
                sessions: HashMap::new(),
                next_sweep: None,
                nonces: HashMap::new(),
                nonce_order: VecDeque::new(),
            }),
        }
    }

    /// How long a session lasts (the cookie's Max-Age).
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn lock(&self) -> MutexGuard<'_, SessionsInner> {
        // A panic elsewhere while holding the lock leaves the maps usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new session for `user` (who has just logged in).
    pub fn create(&self, user: &str) -> Session {
        self.create_at(user, Instant::now())
    }

    pub fn create_at(&self, user: &str, now: Instant) -> Session {
        let session = Session {
            token: random_token(),
            user: user.to_string(),
            csrf: random_token(),
        };
        // An overflowing expiry (an absurd ttl) fails safe: already expired.
        let expires = now.checked_add(self.ttl).unwrap_or(now);
        let mut inner = self.lock();
        inner.sweep(now, false);
        if inner.sessions.len() >= MAX_SESSIONS {
            inner.sweep(now, true);
        }
        if inner.sessions.len() >= MAX_SESSIONS
            && let Some(first) = inner
                .sessions
                .iter()
                .min_by_key(|(_, (_, exp))| *exp)
                .map(|(k, _)| *k)
        {
            inner.sessions.remove(&first);
        }
        inner
            .sessions
            .insert(digest(&session.token), (session.clone(), expires));
        session
    }

    /// The live session of a cookie's `token`; an expired one is removed.
    pub fn get(&self, token: &str) -> Option<Session> {
        self.get_at(token, Instant::now())
    }

    pub fn get_at(&self, token: &str, now: Instant) -> Option<Session> {
        let key = digest(token);
        let mut inner = self.lock();
        inner.sweep(now, false);
        match inner.sessions.get(&key) {
            Some((session, expires)) if now < *expires => Some(session.clone()),
            Some(_) => {
                inner.sessions.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Log out: the session of `token` is gone.
    pub fn end(&self, token: &str) {
        self.lock().sessions.remove(&digest(token));
    }

    /// How many sessions are kept (expired ones not yet swept included).
    pub fn len(&self) -> usize {
        self.lock().sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A one-time nonce for a login form (its CSRF protection), valid [`LOGIN_NONCE_TTL`].
    pub fn login_nonce(&self) -> String {
        self.login_nonce_at(Instant::now())
    }

    pub fn login_nonce_at(&self, now: Instant) -> String {
        let nonce = random_token();
        let key = digest(&nonce);
        let expires = now.checked_add(LOGIN_NONCE_TTL).unwrap_or(now);
        let mut inner = self.lock();
        while inner.nonce_order.len() >= MAX_LOGIN_NONCES {
            if let Some(old) = inner.nonce_order.pop_front() {
                inner.nonces.remove(&old);
            }
        }
        inner.nonces.insert(key, expires);
        inner.nonce_order.push_back(key);
        nonce
    }

    /// Whether `nonce` is a live login-form nonce; it is used up either way.
    pub fn take_login_nonce(&self, nonce: &str) -> bool {
        self.take_login_nonce_at(nonce, Instant::now())
    }

    pub fn take_login_nonce_at(&self, nonce: &str, now: Instant) -> bool {
        let key = digest(nonce);
        let mut inner = self.lock();
        // Drop the expired ones at the front (the oldest).
        while let Some(front) = inner.nonce_order.front().copied() {
            match inner.nonces.get(&front) {
                Some(exp) if now < *exp => break,
                _ => {
                    inner.nonces.remove(&front);
                    inner.nonce_order.pop_front();
                }
            }
        }
        matches!(inner.nonces.remove(&key), Some(exp) if now < exp)
    }
}

impl SessionsInner {
    /// Removes expired sessions, at most every [`SWEEP_EVERY`] unless `force`.
    fn sweep(&mut self, now: Instant, force: bool) {
        if !force && self.next_sweep.is_some_and(|next| now < next) {
            return;
        }
        self.sessions.retain(|_, (_, expires)| now < *expires);
        self.next_sweep = now.checked_add(SWEEP_EVERY);
    }
}

/// Failed logins counted per user name and per client address: after `max_failures` within
/// `window`, logins are refused until the oldest of them is `window` old. The server calls
/// [`check`](LoginLimiter::check) before verifying a password, then
/// [`failed`](LoginLimiter::failed) or [`succeeded`](LoginLimiter::succeeded).
pub struct LoginLimiter {
    max_failures: usize,
    window: Duration,
    max_entries: usize,
    inner: Mutex<LimiterInner>,
}

#[derive(Default)]
struct LimiterInner {
    /// By the user name's SHA-256 (any length of name costs the same).
    users: HashMap<[u8; 32], VecDeque<Instant>>,
    /// By address; IPv6 by its /64 (one host has them all).
    ips: HashMap<IpAddr, VecDeque<Instant>>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        LoginLimiter::new()
    }
}

impl LoginLimiter {
    /// [`LOGIN_MAX_FAILURES`] failures per [`LOGIN_WINDOW`], [`LOGIN_MAX_ENTRIES`] names and
    /// addresses.
    pub fn new() -> LoginLimiter {
        LoginLimiter::with_limits(LOGIN_MAX_FAILURES, LOGIN_WINDOW, LOGIN_MAX_ENTRIES)
    }

    pub fn with_limits(max_failures: usize, window: Duration, max_entries: usize) -> LoginLimiter {
        LoginLimiter {
            max_failures: max_failures.max(1),
            window,
            max_entries: max_entries.max(1),
            inner: Mutex::new(LimiterInner::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, LimiterInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `Err(retry_after)` while `user` or `ip` is locked out.
    pub fn check(&self, ip: IpAddr, user: &str) -> Result<(), Duration> {
        self.check_at(ip, user, Instant::now())
    }

    pub fn check_at(&self, ip: IpAddr, user: &str, now: Instant) -> Result<(), Duration> {
        let mut inner = self.lock();
        let a = self.locked_for(inner.users.get_mut(&digest(user)), now);
        let b = self.locked_for(inner.ips.get_mut(&ip_key(ip)), now);
        match a.max(b) {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// How long until `failures` allow another try, if they do not now.
    fn locked_for(
        &self,
        failures: Option<&mut VecDeque<Instant>>,
        now: Instant,
    ) -> Option<Duration> {
        let failures = failures?;
        self.forget_old(failures, now);
        if failures.len() < self.max_failures {
            return None;
        }
        let oldest = *failures.front()?;
        Some(
            self.window
                .saturating_sub(now.saturating_duration_since(oldest)),
        )
    }

    fn forget_old(&self, failures: &mut VecDeque<Instant>, now: Instant) {
        while failures
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.window)
        {
            failures.pop_front();
        }
    }

    /// A wrong password (or unknown user) for `user` from `ip`.
    pub fn failed(&self, ip: IpAddr, user: &str) {
        self.failed_at(ip, user, Instant::now())
    }

    pub fn failed_at(&self, ip: IpAddr, user: &str, now: Instant) {
        let mut inner = self.lock();
        let inner = &mut *inner;
        self.count(&mut inner.users, digest(user), now);
        self.count(&mut inner.ips, ip_key(ip), now);
    }

    fn count<K: std::hash::Hash + Eq + Copy>(
        &self,
        map: &mut HashMap<K, VecDeque<Instant>>,
        key: K,
        now: Instant,
    ) {
        if !map.contains_key(&key) && map.len() >= self.max_entries {
            // Full: forget the entries with no failure inside the window, else the one whose
            // last failure is the oldest.
            map.retain(|_, f| {
                f.back()
                    .is_some_and(|t| now.saturating_duration_since(*t) < self.window)
            });
            if map.len() >= self.max_entries
                && let Some(stalest) = map
                    .iter()
                    .min_by_key(|(_, f)| f.back().copied())
                    .map(|(k, _)| *k)
            {
                map.remove(&stalest);
            }
        }
        let failures = map.entry(key).or_default();
        self.forget_old(failures, now);
        failures.push_back(now);
        while failures.len() > self.max_failures {
            failures.pop_front();
        }
    }

    /// A successful login: `user`'s and `ip`'s failures are forgotten.
    pub fn succeeded(&self, ip: IpAddr, user: &str) {
        let mut inner = self.lock();
        inner.users.remove(&digest(user));
        inner.ips.remove(&ip_key(ip));
    }

    /// How many user names and addresses are counted.
    pub fn entries(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.users.len(), inner.ips.len())
    }
}

/// IPv4 as is (also when IPv4-mapped); IPv6 by its /64.
fn ip_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(bits.into())
            }
        },
    }
}

/// A `Set-Cookie` value for the session cookie: `HttpOnly; SameSite=Strict; Path=/`, `Max-Age`
/// of `max_age`, `Secure` when `secure`. Characters a cookie value cannot hold are left out of
/// `token` (a token from [`Sessions`] has none).
pub fn set_cookie(token: &str, max_age: Duration, secure: bool) -> String {
    let token: String = token.chars().filter(|c| is_cookie_octet(*c)).collect();
    format!(
        "{SESSION_COOKIE}={token}; Max-Age={}; Path=/; HttpOnly; SameSite=Strict{}",
        max_age.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// A `Set-Cookie` value that removes the session cookie (log out).
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// At most this long a cookie value is taken.
const MAX_COOKIE_VALUE: usize = 4096;

/// The value of cookie `name` in a `Cookie` request header (`a=1; b=2`): the first well-formed
/// one (surrounding double quotes removed), or `None`. Empty values, values with characters a
/// cookie cannot hold and values over 4096 bytes are skipped. With several `Cookie` headers
/// (HTTP/2), join them with `"; "` first.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    if name.is_empty() {
        return None;
    }
    header.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        if k.trim_matches([' ', '\t']) != name {
            return None;
        }
        let v = v.trim_matches([' ', '\t']);
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v);
        (!v.is_empty() && v.len() <= MAX_COOKIE_VALUE && v.chars().all(is_cookie_octet))
            .then_some(v)
    })
}

/// RFC 6265's cookie-octet: visible ASCII but `"`, `,`, `;` and `\`.
fn is_cookie_octet(c: char) -> bool {
    matches!(c, '\x21' | '\x23'..='\x2B' | '\x2D'..='\x3A' | '\x3C'..='\x5B' | '\x5D'..='\x7E')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// A real argon2id hash with the smallest costs, so that tests run fast.
    fn cheap_hash(password: &str) -> String {
        let params = Params::new(Params::MIN_M_COST, 1, 1, None).unwrap();
        hash_with(
            &Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            password.as_bytes(),
        )
        .unwrap()
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn file(name: &str) -> PasswordSource {
        PasswordSource::File(PathBuf::from(name))
    }

    #[test]
    fn a_real_hash_is_made_and_verified() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        let other = hash_password("correct horse battery").unwrap();
        assert_ne!(hash, other, "the salt is random");
        let text = format!("alice:{hash}\n");
        let r =
            Reviewers::from_lines(&names(&["alice"]), &[(file("pw.txt"), text.as_str())]).unwrap();
        assert!(r.enabled());
        assert!(r.verify("alice", "correct horse battery"));
        assert!(!r.verify("alice", "correct horse battery "));
        assert!(!r.verify("bob", "correct horse battery"));
        let debug = format!("{r:?}");
        assert!(
            debug.contains("alice") && !debug.contains("argon2"),
            "{debug}"
        );
        assert!(matches!(hash_password(""), Err(AuthError::EmptyPassword)));
    }

    #[test]
    fn wrong_password_and_unknown_user_fail_alike() {
        let text = format!(
            "alice:{}\nbob:{}\n",
            cheap_hash("a-pass"),
            cheap_hash("b-pass")
        );
        let r = Reviewers::from_lines(
            &names(&["alice", "bob"]),
            &[(file("pw.txt"), text.as_str())],
        )
        .unwrap();
        assert!(r.verify("alice", "a-pass"));
        assert!(r.verify("bob", "b-pass"));
        assert!(!r.verify("alice", "b-pass"), "another reviewer's password");
        assert!(!r.verify("alice", ""));
        assert!(!r.verify("Alice", "a-pass"), "names are exact");
        assert!(!r.verify("carol", "a-pass"));
        assert!(!r.verify("", ""));
        // The unknown user went through a dummy hash with a reviewer's costs.
        let dummy = r.dummy.as_deref().unwrap();
        assert!(dummy.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{dummy}");
        let mut sorted: Vec<&str> = r.names().collect();
        sorted.sort_unstable();
        assert_eq!(sorted, ["alice", "bob"]);
    }

    #[test]
    fn comments_blank_lines_crlf_and_other_names_are_skipped() {
        let text = format!(
            "\u{feff}# reviewers of the newsroom\r\n\r\n  alice : {} \r\nmallory:not a hash at all\r\n",
            cheap_hash("pw")
        );
        let r =
            Reviewers::from_lines(&names(&["alice"]), &[(file("pw.txt"), text.as_str())]).unwrap();
        assert!(r.verify("alice", "pw"));
        assert!(
            !r.verify("mallory", "not a hash at all"),
            "only reviewers may log in"
        );
        let text = format!("\u{feff}alice:{}\n", cheap_hash("pw"));
        let r = Reviewers::from_lines(&names(&["alice"]), &[(file("pw.txt"), text.as_str())]);
        assert!(
            r.unwrap().verify("alice", "pw"),
            "a byte-order mark is skipped"
        );
    }

    #[test]
    fn a_missing_hash_names_the_reviewer_and_where() {
        let text = format!("alice:{}\n", cheap_hash("pw"));
        let e = Reviewers::from_lines(
            &names(&["alice", "bob"]),
            &[
                (file("pw.txt"), text.as_str()),
                (PasswordSource::Env("TS_PW".into()), ""),
            ],
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(&e, AuthError::Missing { user, .. } if user == "bob"),
            "{msg}"
        );
        assert!(
            msg.contains("pw.txt or environment variable TS_PW") && msg.contains("`bob`"),
            "{msg}"
        );

        // `bob:` with nothing after it: the file and the line.
        let text = format!("# hashes\nalice:{}\nbob:\n", cheap_hash("pw"));
        let e = Reviewers::from_lines(
            &names(&["alice", "bob"]),
            &[(file("pw.txt"), text.as_str())],
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("pw.txt:3: "), "{msg}");
        assert!(msg.contains("`bob`") && msg.contains("empty"), "{msg}");
    }

    #[test]
    fn an_unparsable_hash_names_the_line_and_never_quotes_it() {
        let good = cheap_hash("pw");
        for (bad, why) in [
            (
                "$argon2id$v=19$m=8,t=1,p=1$c2VjcmV0c2FsdA",
                "salt or the hash",
            ),
            (
                "$argon2id$v=19$zz=1$c2VjcmV0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
                "parameters",
            ),
            ("s3cr3t-pa55word", "PHC"),
        ] {
            let text = format!("alice:{good}\n\nbob:{bad}\n");
            let e = Reviewers::from_lines(
                &names(&["alice", "bob"]),
                &[(file("pw.txt"), text.as_str())],
            )
            .unwrap_err();
            let msg = e.to_string();
            assert!(msg.starts_with("pw.txt:3: "), "{msg}");
            assert!(msg.contains("`bob`") && msg.contains(why), "{bad}: {msg}");
            assert!(!msg.contains(bad) && !msg.contains(&good), "{msg}");
            assert!(!format!("{e:?}").contains(bad), "{e:?}");
        }
        // argon2i is not argon2id.
        let argon2i = hash_with(
            &Argon2::new(
                Algorithm::Argon2i,
                Version::V0x13,
                Params::new(8, 1, 1, None).unwrap(),
            ),
            b"pw",
        )
        .unwrap();
        let text = format!("bob:{argon2i}");
        let e = Reviewers::from_lines(&names(&["bob"]), &[(file("pw.txt"), text.as_str())])
            .unwrap_err();
        assert!(e.to_string().contains("not argon2id"), "{e}");
        // Costs too high for a login page.
        let greedy = good.replace("m=8,", "m=4000000,");
        let text = format!("bob:{greedy}");
        let e = Reviewers::from_lines(&names(&["bob"]), &[(file("pw.txt"), text.as_str())])
            .unwrap_err();
        assert!(e.to_string().contains("3906 MiB per login"), "{e}");
    }

    #[test]
    fn a_line_without_a_name_is_an_error_that_does_not_echo_it() {
        // A password pasted where the hash line should be.
        let text = format!("alice:{}\nhunter2\n", cheap_hash("pw"));
        let e = Reviewers::from_lines(&names(&["alice"]), &[(file("pw.txt"), text.as_str())])
            .unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("pw.txt:2: not a `name:"), "{msg}");
        assert!(!msg.contains("hunter2"), "{msg}");
    }

    #[test]
    fn the_env_var_takes_semicolons_and_newlines() {
        let env = PasswordSource::Env("TS_PW".into());
        let text = format!(
            "alice:{};bob:{}\ncarol:{}",
            cheap_hash("a"),
            cheap_hash("b"),
            cheap_hash("c")
        );
        let r = Reviewers::from_lines(
            &names(&["alice", "bob", "carol"]),
            &[(env.clone(), text.as_str())],
        )
        .unwrap();
        assert!(r.verify("alice", "a") && r.verify("bob", "b") && r.verify("carol", "c"));

        let text = format!("alice:{};;bob:nope", cheap_hash("a"));
        let e =
            Reviewers::from_lines(&names(&["alice", "bob"]), &[(env, text.as_str())]).unwrap_err();
        assert!(
            e.to_string().starts_with(
                "environment variable TS_PW, entry 3: the password hash of reviewer `bob`"
            ),
            "{e}"
        );
    }

    #[test]
    fn two_hashes_for_one_reviewer_are_an_error() {
        let in_file = format!("alice:{}\n", cheap_hash("a"));
        let in_env = format!("alice:{}", cheap_hash("b"));
        let e = Reviewers::from_lines(
            &names(&["alice"]),
            &[
                (file("pw.txt"), in_file.as_str()),
                (PasswordSource::Env("TS_PW".into()), in_env.as_str()),
            ],
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "environment variable TS_PW, entry 1: a second password hash for reviewer `alice` (the first is at pw.txt:1); keep one"
        );
    }

    #[test]
    fn load_reads_the_password_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("passwords");
        std::fs::write(&path, format!("# ours\nalice:{}\n", cheap_hash("pw"))).unwrap();
        let mut cfg = ServeConfig {
            reviewers: names(&["alice"]),
            password_file: Some(path.clone()),
            ..ServeConfig::default()
        };
        let r = Reviewers::load(&cfg).unwrap();
        assert!(r.enabled() && r.verify("alice", "pw") && !r.verify("alice", "wp"));

        cfg.password_file = Some(dir.path().join("absent"));
        let e = Reviewers::load(&cfg).unwrap_err();
        assert!(matches!(e, AuthError::Read { .. }), "{e}");
        assert!(
            e.to_string()
                .contains("absent: cannot read the password file"),
            "{e}"
        );

        cfg.password_file = None;
        cfg.password_env = Some("TENDERSCAN_TEST_SURELY_UNSET_PASSWORDS".into());
        let e = Reviewers::load(&cfg).unwrap_err();
        assert!(matches!(e, AuthError::EnvNotSet { .. }), "{e}");

        cfg.password_env = None;
        assert!(matches!(Reviewers::load(&cfg), Err(AuthError::NoSource)));

        // No reviewers: read-only, nothing read, nobody logs in.
        cfg.reviewers.clear();
        cfg.password_file = Some(dir.path().join("absent"));
        let r = Reviewers::load(&cfg).unwrap();
        assert!(!r.enabled() && !r.verify("alice", "pw"));
    }

    #[test]
    fn same_secret_compares_whole_strings() {
        assert!(same_secret("abc", "abc"));
        assert!(same_secret("", ""));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert!(!same_secret("abc", "bbc"));
        assert!(!same_secret("", "a"));
    }

    #[test]
    fn sessions_last_their_ttl_and_end() {
        let t0 = Instant::now();
        let hour = Duration::from_secs(3600);
        let s = Sessions::new(12 * hour);
        let a = s.create_at("alice", t0);
        assert_eq!(a.token.len(), 64);
        assert!(a.token.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a.token, a.csrf);
        assert!(!format!("{a:?}").contains(&a.token));
        let got = s.get_at(&a.token, t0 + 11 * hour).unwrap();
        assert_eq!(got, a);
        assert_eq!(
            s.get_at(&a.csrf, t0),
            None,
            "the CSRF token is no session token"
        );
        assert_eq!(s.get_at("", t0), None);
        // Expired: gone, and removed.
        assert_eq!(s.get_at(&a.token, t0 + 12 * hour), None);
        assert_eq!(s.len(), 0);
        assert_eq!(s.get_at(&a.token, t0), None, "not back when the clock is");

        let b = s.create_at("bob", t0);
        let c = s.create_at("bob", t0 + hour);
        assert_ne!(b.token, c.token);
        s.end(&b.token);
        assert_eq!(s.get_at(&b.token, t0 + hour), None);
        assert_eq!(s.get_at(&c.token, t0 + hour).unwrap().user, "bob");
        // Expired sessions nobody asks for are swept.
        let d = s.create_at("dana", t0 + 14 * hour);
        assert_eq!(s.len(), 1);
        assert!(s.get_at(&d.token, t0 + 14 * hour).is_some());
    }

    #[test]
    fn sessions_are_bounded() {
        let t0 = Instant::now();
        let s = Sessions::new(Duration::from_secs(3600));
        let first = s.create_at("alice", t0);
        for i in 1..MAX_SESSIONS {
            s.create_at("alice", t0 + Duration::from_millis(i as u64));
        }
        assert_eq!(s.len(), MAX_SESSIONS);
        let last = s.create_at("alice", t0 + Duration::from_secs(10));
        assert_eq!(s.len(), MAX_SESSIONS);
        let now = t0 + Duration::from_secs(11);
        assert_eq!(
            s.get_at(&first.token, now),
            None,
            "the first to expire went"
        );
        assert!(s.get_at(&last.token, now).is_some());
    }

    #[test]
    fn login_nonces_are_one_time_short_lived_and_bounded() {
        let t0 = Instant::now();
        let s = Sessions::new(Duration::from_secs(3600));
        let n = s.login_nonce_at(t0);
        assert_eq!(n.len(), 64);
        let m = s.login_nonce_at(t0);
        assert_ne!(n, m);
        assert!(s.take_login_nonce_at(&n, t0 + Duration::from_secs(60)));
        assert!(
            !s.take_login_nonce_at(&n, t0 + Duration::from_secs(61)),
            "one time"
        );
        assert!(!s.take_login_nonce_at("", t0));
        assert!(!s.take_login_nonce_at(&"0".repeat(64), t0));
        // Expired, and used up by the try.
        assert!(!s.take_login_nonce_at(&m, t0 + LOGIN_NONCE_TTL));
        assert!(!s.take_login_nonce_at(&m, t0));

        // A flood keeps at most MAX_LOGIN_NONCES; the oldest go.
        let old = s.login_nonce_at(t0);
        let mut newest = String::new();
        for _ in 0..MAX_LOGIN_NONCES + 50 {
            newest = s.login_nonce_at(t0);
        }
        {
            let inner = s.lock();
            assert!(inner.nonces.len() <= MAX_LOGIN_NONCES);
            assert!(inner.nonce_order.len() <= MAX_LOGIN_NONCES);
        }
        assert!(!s.take_login_nonce_at(&old, t0));
        assert!(s.take_login_nonce_at(&newest, t0));
    }

    #[test]
    fn sessions_are_shared_between_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Sessions>();
        send_sync::<LoginLimiter>();
        send_sync::<Reviewers>();
    }

    #[test]
    fn the_limiter_locks_a_user_and_releases_them() {
        let t0 = Instant::now();
        let l = LoginLimiter::new();
        let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        for i in 0..5 {
            assert_eq!(l.check_at(ip, "alice", t0 + Duration::from_secs(i)), Ok(()));
            l.failed_at(ip, "alice", t0 + Duration::from_secs(i));
        }
        let at = t0 + Duration::from_secs(10);
        assert_eq!(
            l.check_at(ip, "alice", at),
            Err(LOGIN_WINDOW - Duration::from_secs(10))
        );
        // From another address too (per user name) ...
        let other = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        assert!(l.check_at(other, "alice", at).is_err());
        // ... and another name from the same address (per address).
        assert!(l.check_at(ip, "bob", at).is_err());
        assert_eq!(l.check_at(other, "bob", at), Ok(()));
        // Released when the first failure is a window old, one try at a time.
        assert_eq!(l.check_at(ip, "alice", t0 + LOGIN_WINDOW), Ok(()));
        l.failed_at(ip, "alice", t0 + LOGIN_WINDOW);
        assert_eq!(
            l.check_at(ip, "alice", t0 + LOGIN_WINDOW),
            Err(Duration::from_secs(1))
        );
    }

    #[test]
    fn the_limiter_counts_per_address_and_forgets_on_success() {
        let t0 = Instant::now();
        let l = LoginLimiter::new();
        let ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
        for (i, user) in ["a", "b", "c", "d"].iter().enumerate() {
            l.failed_at(ip, user, t0 + Duration::from_secs(i as u64));
        }
        assert_eq!(l.check_at(ip, "e", t0), Ok(()), "four failures are allowed");
        l.succeeded(ip, "e");
        l.failed_at(ip, "f", t0);
        assert_eq!(
            l.check_at(ip, "g", t0),
            Ok(()),
            "the success reset the address"
        );
        // A user name spread over many addresses is counted as one.
        for i in 0..5u8 {
            l.failed_at(IpAddr::V4(Ipv4Addr::new(198, 51, 100, i)), "alice", t0);
        }
        let fresh = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1));
        assert_eq!(l.check_at(fresh, "alice", t0), Err(LOGIN_WINDOW));
        l.succeeded(fresh, "alice");
        assert_eq!(l.check_at(fresh, "alice", t0), Ok(()));
    }

    #[test]
    fn the_limiter_takes_an_ipv6_host_as_its_64() {
        let t0 = Instant::now();
        let l = LoginLimiter::new();
        for i in 0..5u16 {
            let ip = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, i, 0xffff, i, i));
            l.failed_at(ip, &format!("user{i}"), t0);
        }
        let same_64 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 9, 9, 9, 9));
        let next_64 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 3, 0, 0, 0, 1));
        assert!(l.check_at(same_64, "new", t0).is_err());
        assert_eq!(l.check_at(next_64, "new", t0), Ok(()));
        // An IPv4-mapped address is its IPv4 address.
        for i in 0..5 {
            l.failed_at(IpAddr::V4(Ipv4Addr::new(10, 1, 1, 1)), &format!("v{i}"), t0);
        }
        let mapped = IpAddr::V6(Ipv4Addr::new(10, 1, 1, 1).to_ipv6_mapped());
        assert!(l.check_at(mapped, "new", t0).is_err());
    }

    #[test]
    fn the_limiter_memory_is_bounded() {
        let t0 = Instant::now();
        let l = LoginLimiter::with_limits(5, LOGIN_WINDOW, 100);
        for i in 0..1000u32 {
            let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
            l.failed_at(
                ip,
                &"x".repeat(i as usize),
                t0 + Duration::from_millis(i.into()),
            );
        }
        let (users, ips) = l.entries();
        assert!(users <= 100 && ips <= 100, "{users} {ips}");
        // The newest are still counted.
        let last = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + 999));
        for _ in 0..4 {
            l.failed_at(last, "y", t0 + Duration::from_secs(2));
        }
        assert!(l.check_at(last, "z", t0 + Duration::from_secs(2)).is_err());
        // Entries whose failures are a window old make room first.
        l.failed_at(last, "late", t0 + LOGIN_WINDOW + Duration::from_secs(5));
        assert_eq!(l.entries().0, 1, "all but the new one were a window old");
    }

    #[test]
    fn cookies_are_set_and_cleared() {
        let token = "ab".repeat(32);
        assert_eq!(
            set_cookie(&token, Duration::from_secs(12 * 3600), false),
            format!("tenderscan_session={token}; Max-Age=43200; Path=/; HttpOnly; SameSite=Strict")
        );
        assert!(set_cookie(&token, Duration::from_secs(60), true).ends_with("; Secure"));
        assert_eq!(
            set_cookie(
                "a; Domain=evil.example\r\nX: y",
                Duration::from_secs(1),
                false
            ),
            "tenderscan_session=aDomain=evil.exampleX:y; Max-Age=1; Path=/; HttpOnly; SameSite=Strict"
        );
        let clear = clear_cookie(true);
        assert!(
            clear.starts_with("tenderscan_session=; Max-Age=0;"),
            "{clear}"
        );
        assert!(
            clear.contains("HttpOnly") && clear.ends_with("; Secure"),
            "{clear}"
        );
        assert!(!clear_cookie(false).contains("Secure"));
    }

    #[test]
    fn cookie_headers_are_parsed_warily() {
        let c = SESSION_COOKIE;
        assert_eq!(cookie("tenderscan_session=abc", c), Some("abc"));
        assert_eq!(
            cookie("lang=kk; tenderscan_session=abc; x=y", c),
            Some("abc")
        );
        assert_eq!(cookie("lang=kk;tenderscan_session=abc", c), Some("abc"));
        assert_eq!(cookie(" \ttenderscan_session = abc \t", c), Some("abc"));
        assert_eq!(cookie("tenderscan_session=\"abc\"", c), Some("abc"));
        assert_eq!(cookie("tenderscan_session=a=b==", c), Some("a=b=="));
        assert_eq!(cookie("lang=kk", c), None);
        assert_eq!(cookie("", c), None);
        assert_eq!(cookie(";;;=;=", c), None);
        assert_eq!(cookie("tenderscan_session", c), None);
        assert_eq!(cookie("tenderscan_session=", c), None);
        assert_eq!(cookie("tenderscan_session=\"", c), None);
        assert_eq!(cookie("tenderscan_session=\"\"", c), None);
        assert_eq!(cookie("xtenderscan_session=abc", c), None);
        assert_eq!(cookie("tenderscan_sessionx=abc", c), None);
        assert_eq!(cookie("TENDERSCAN_SESSION=abc", c), None);
        assert_eq!(cookie("tender scan_session=abc", c), None);
        assert_eq!(cookie("lang=tenderscan_session=abc", c), None);
        // The first well-formed one wins; malformed ones are skipped.
        assert_eq!(
            cookie("tenderscan_session=a; tenderscan_session=b", c),
            Some("a")
        );
        assert_eq!(
            cookie("tenderscan_session=a\u{0}b; tenderscan_session=ok", c),
            Some("ok")
        );
        assert_eq!(cookie("tenderscan_session=a b", c), None);
        assert_eq!(cookie("tenderscan_session=a\\b", c), None);
        assert_eq!(cookie("tenderscan_session=a,b", c), None);
        assert_eq!(
            cookie(
                "tenderscan_session=\u{0442}\u{043e}\u{043a}\u{0435}\u{043d}",
                c
            ),
            None
        );
        assert_eq!(cookie("tenderscan_session=a\r\nSet-Cookie: x", c), None);
        let huge = format!("tenderscan_session={}", "a".repeat(MAX_COOKIE_VALUE + 1));
        assert_eq!(cookie(&huge, c), None);
        let big = format!("tenderscan_session={}", "a".repeat(MAX_COOKIE_VALUE));
        assert_eq!(cookie(&big, c).map(str::len), Some(MAX_COOKIE_VALUE));
        assert_eq!(cookie("=abc", ""), None);
    }
}
