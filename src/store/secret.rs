//! Random ids and bearer tokens.
//!
//! A token reads `<prefix><id>_<secret>`: the id (16 hex digits) finds the row, and the
//! 256-bit secret is compared, as a SHA-256 hash, in constant time. Only the hash is stored,
//! so a leaked database does not leak working tokens.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const SCIM_TOKEN_PREFIX: &str = "scimdesk_scim_";
pub const ADMIN_TOKEN_PREFIX: &str = "scimdesk_admin_";

const ID_HEX_LEN: usize = 16;
const SECRET_HEX_LEN: usize = 64;

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // The OS random source failing means the machine cannot mint anything safe: stop.
    getrandom::fill(&mut buf).expect("the operating system's random source failed");
    buf
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// A UUID in the version 7 format (RFC 9562): the creation time in milliseconds, then 74
/// random bits. Used for SCIM resource ids and other row ids. Ids made one after another sort
/// one after another, so a batch of creates adds to the last pages of each id index instead of
/// dirtying a random page of each per create (measured: fewer WAL pages written per commit).
/// The time it shows is the resource's `meta.created` anyway.
pub fn new_uuid() -> String {
    let mut b = random_bytes::<16>();
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    b[6] = (b[6] & 0x0f) | 0x70;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A short random identifier (lowercase hex) for orgs and token ids.
pub fn new_hex_id(bytes: usize) -> String {
    let b = random_bytes::<32>();
    hex(&b[..bytes.min(32)])
}

/// A new token: (id, full token string to hand out once, hash of its secret to store).
pub fn mint(prefix: &str) -> (String, String, Vec<u8>) {
    let id = new_hex_id(ID_HEX_LEN / 2);
    let secret = hex(&random_bytes::<32>());
    let token = format!("{prefix}{id}_{secret}");
    (id, token, hash_secret(&secret))
}

pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Splits a presented token into (id, secret) if it has the shape of a `prefix` token.
pub fn parse<'a>(prefix: &str, token: &'a str) -> Option<(&'a str, &'a str)> {
    let rest = token.strip_prefix(prefix)?;
    if rest.len() != ID_HEX_LEN + 1 + SECRET_HEX_LEN || !rest.is_ascii() {
        return None;
    }
    let (id, tail) = rest.split_at(ID_HEX_LEN);
    let secret = tail.strip_prefix('_')?;
    let is_hex = |s: &str| s.bytes().all(|c| c.is_ascii_hexdigit());
    (is_hex(id) && is_hex(secret)).then_some((id, secret))
}

/// Compares a presented secret with a stored hash without leaking, through timing, how
/// much of it matched.
pub fn verify(secret: &str, stored_hash: &[u8]) -> bool {
    let presented = hash_secret(secret);
    presented.len() == stored_hash.len() && bool::from(presented.ct_eq(stored_hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_has_the_v7_shape_and_sorts_by_time() {
        let u = new_uuid();
        assert_eq!(u.len(), 36);
        let parts: Vec<&str> = u.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('7'));
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"));
        assert_ne!(new_uuid(), u);
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(new_uuid() > u, "a later id sorts after");
        let ms = u64::from_str_radix(&u.replace('-', "")[..12], 16).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        assert!(now - ms < 60_000, "the first 48 bits are the time in ms");
    }

    #[test]
    fn minted_token_parses_and_verifies() {
        let (id, token, hash) = mint(SCIM_TOKEN_PREFIX);
        let (pid, secret) = parse(SCIM_TOKEN_PREFIX, &token).expect("parses");
        assert_eq!(pid, id);
        assert!(verify(secret, &hash));
        assert!(!verify(&secret.replace(&secret[..1], "x"), &hash));
    }

    #[test]
    fn tokens_of_the_other_kind_or_mangled_do_not_parse() {
        let (_, token, _) = mint(ADMIN_TOKEN_PREFIX);
        assert!(parse(SCIM_TOKEN_PREFIX, &token).is_none());
        assert!(parse(ADMIN_TOKEN_PREFIX, &token[..token.len() - 1]).is_none());
        assert!(parse(ADMIN_TOKEN_PREFIX, "scimdesk_admin_").is_none());
        let swapped = token.replacen('_', "-", 3);
        assert!(parse(ADMIN_TOKEN_PREFIX, &swapped).is_none());
    }
}
