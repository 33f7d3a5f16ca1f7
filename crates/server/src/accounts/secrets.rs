//! Passwords and tokens: Argon2id for passwords (PHC strings, so the parameters travel with
//! each hash), 32 random bytes for tokens, and only a SHA-256 of a token ever stored.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};
use yichuang_domain::{Error, Result};

/// Session tokens and API tokens look different, so a lookup goes straight to the right table
/// and a leaked token in a log or a script is recognisable for what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Session,
    Api,
}

impl TokenKind {
    fn prefix(self) -> &'static str {
        match self {
            TokenKind::Session => "ycs_",
            TokenKind::Api => "yct_",
        }
    }

    pub fn of(token: &str) -> Option<TokenKind> {
        [TokenKind::Session, TokenKind::Api]
            .into_iter()
            .find(|k| token.starts_with(k.prefix()))
    }
}

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| Error::internal(format!("no randomness: {e}")))?;
    Ok(b)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new secret token: its kind's prefix and 32 random bytes as hex.
pub fn new_token(kind: TokenKind) -> Result<String> {
    Ok(format!("{}{}", kind.prefix(), hex(&random_bytes::<32>()?)))
}

/// What the database keeps of a token.
pub fn token_digest(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

fn hash_now(password: &str) -> Result<String> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()?).map_err(Error::internal)?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(Error::internal)
}

fn verify_now(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// Argon2 takes tens of milliseconds of CPU on purpose: run it off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal(format!("hashing task failed: {e}")))
}

pub async fn hash_password(password: &str) -> Result<String> {
    let p = password.to_string();
    blocking(move || hash_now(&p)).await?
}

pub async fn verify_password(hash: &str, password: &str) -> Result<bool> {
    let (h, p) = (hash.to_string(), password.to_string());
    blocking(move || verify_now(&h, &p)).await
}

/// Checks a password for a username that does not exist against a throw-away hash, so an
/// unknown user takes as long to refuse as a wrong password (no probing for usernames).
pub async fn verify_nobody(password: &str) -> Result<bool> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let p = password.to_string();
    blocking(move || {
        let h = DUMMY.get_or_init(|| hash_now("no-such-account-0").unwrap_or_default());
        verify_now(h, &p);
        false
    })
    .await
}

/// A password for an administrator to hand over once: 12 characters without look-alikes
/// (0/O, 1/l/I), always with letters and digits so it meets the password rule.
pub fn generate_password() -> Result<String> {
    const LETTERS: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGITS: &[u8] = b"23456789";
    let bytes = random_bytes::<12>()?;
    Ok(bytes
        .iter()
        .enumerate()
        .map(|(i, b)| {
            // Every third character a digit: letters and digits both guaranteed.
            let set = if i % 3 == 2 { DIGITS } else { LETTERS };
            set[*b as usize % set.len()] as char
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_verifies_only_against_its_own_argon2id_hash() {
        let h = hash_password("abcd1234").await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "abcd1234").await.unwrap());
        assert!(!verify_password(&h, "abcd12345").await.unwrap());
        assert!(!verify_password("not a hash", "abcd1234").await.unwrap());
        assert_ne!(h, hash_password("abcd1234").await.unwrap(), "salted");
    }

    #[test]
    fn tokens_are_random_prefixed_and_stored_only_as_a_digest() {
        let a = new_token(TokenKind::Session).unwrap();
        let b = new_token(TokenKind::Api).unwrap();
        assert_eq!(a.len(), 4 + 64);
        assert_eq!(TokenKind::of(&a), Some(TokenKind::Session));
        assert_eq!(TokenKind::of(&b), Some(TokenKind::Api));
        assert_eq!(TokenKind::of("Bearer x"), None);
        assert_ne!(a, new_token(TokenKind::Session).unwrap());
        let d = token_digest(&a);
        assert_eq!(d.len(), 64);
        assert!(!d.contains(&a[4..]));
    }

    #[test]
    fn a_generated_password_meets_the_password_rule() {
        for _ in 0..50 {
            let pw = generate_password().unwrap();
            let mut p = yichuang_domain::Problems::new();
            yichuang_domain::accounts::check_password(&pw, "zhangsan", "password", &mut p);
            assert!(p.is_empty(), "{pw}");
        }
    }
}
