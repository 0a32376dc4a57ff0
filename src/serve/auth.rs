//! Reviewers' logins for `tenderscan serve`: argon2 password hashes, sessions, CSRF tokens and
//! the login rate limit.
//!
//! Must never: keep or log a password; compare a secret in time that depends on its content;
//! let an unknown user be told apart from a wrong password.
