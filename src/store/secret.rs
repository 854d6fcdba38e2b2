//! Random ids and bearer tokens.
//!
//! A token reads `<prefix><id>_<secret><check>`: the id (12 hex digits) finds the row; the
//! secret is 43 base62 characters (256 bits), compared as a SHA-256 hash in constant time; the
//! check is 6 base62 characters of a CRC-32 of everything before it, so that a secret scanner
//! (or the server) tells a real token from a typo without asking the database. 69 characters
//! for a SCIM token (`sdscim_`), 68 for an admin token (`sdadm_`): one line at 80 columns.
//! Only the hash is stored, so a leaked database does not leak working tokens.
//!
//! Tokens issued before this format (`scimdesk_scim_` / `scimdesk_admin_`, 16 hex digits of
//! id, 64 of secret: 95 characters) keep working.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const SCIM_TOKEN_PREFIX: &str = "sdscim_";
pub const ADMIN_TOKEN_PREFIX: &str = "sdadm_";
/// The prefixes of the first format, still accepted.
const LEGACY_SCIM_PREFIX: &str = "scimdesk_scim_";
const LEGACY_ADMIN_PREFIX: &str = "scimdesk_admin_";

const ID_HEX_LEN: usize = 12;
const SECRET_LEN: usize = 43;
const CHECK_LEN: usize = 6;
const LEGACY_ID_HEX_LEN: usize = 16;
const LEGACY_SECRET_HEX_LEN: usize = 64;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// 256 random bits as 43 base62 digits (62^43 > 2^256): each digit by rejection sampling, so
/// every digit is uniform.
fn base62_secret() -> String {
    let mut out = String::with_capacity(SECRET_LEN);
    while out.len() < SECRET_LEN {
        for b in random_bytes::<64>() {
            // 248 = 4 × 62: bytes above are dropped so that no digit is likelier.
            if b < 248 && out.len() < SECRET_LEN {
                out.push(BASE62[(b % 62) as usize] as char);
            }
        }
    }
    out
}

/// CRC-32 (IEEE, as zlib's) of `bytes`.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc = (crc >> 8) ^ CRC_TABLE[((crc ^ u32::from(b)) & 0xFF) as usize];
    }
    !crc
}

/// CRC-32's table, one entry per byte value (every request's token is checked).
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// The check digits of a token's text before them: its CRC-32 in 6 base62 digits.
fn check_digits(body: &str) -> [u8; CHECK_LEN] {
    let mut n = crc32(body.as_bytes());
    let mut digits = [b'0'; CHECK_LEN];
    for d in digits.iter_mut().rev() {
        *d = BASE62[(n % 62) as usize];
        n /= 62;
    }
    digits
}

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
    let secret = base62_secret();
    let body = format!("{prefix}{id}_{secret}");
    let check = check_digits(&body);
    let token = format!("{body}{}", String::from_utf8_lossy(&check));
    (id, token, hash_secret(&secret))
}

pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Splits a presented token into (id, secret) if it has the shape of a `prefix` token (or of
/// the first format's token of the same kind) and, in the current format, its check digits
/// match.
pub fn parse<'a>(prefix: &str, token: &'a str) -> Option<(&'a str, &'a str)> {
    if !token.is_ascii() {
        return None;
    }
    if let Some(rest) = token.strip_prefix(prefix) {
        if rest.len() != ID_HEX_LEN + 1 + SECRET_LEN + CHECK_LEN {
            return None;
        }
        let (body, check) = token.split_at(token.len() - CHECK_LEN);
        if check_digits(body) != check.as_bytes() {
            return None;
        }
        let (id, tail) = rest.split_at(ID_HEX_LEN);
        let secret = tail.strip_prefix('_')?.get(..SECRET_LEN)?;
        let ok = id.bytes().all(|c| c.is_ascii_hexdigit())
            && secret.bytes().all(|c| c.is_ascii_alphanumeric());
        return ok.then_some((id, secret));
    }
    let legacy = match prefix {
        SCIM_TOKEN_PREFIX => LEGACY_SCIM_PREFIX,
        ADMIN_TOKEN_PREFIX => LEGACY_ADMIN_PREFIX,
        _ => return None,
    };
    let rest = token.strip_prefix(legacy)?;
    if rest.len() != LEGACY_ID_HEX_LEN + 1 + LEGACY_SECRET_HEX_LEN {
        return None;
    }
    let (id, tail) = rest.split_at(LEGACY_ID_HEX_LEN);
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
        let other = if secret.starts_with('x') { "y" } else { "x" };
        assert!(!verify(&format!("{other}{}", &secret[1..]), &hash));
    }

    #[test]
    fn a_token_fits_one_line_carries_a_check_and_old_tokens_still_parse() {
        let (_, scim, _) = mint(SCIM_TOKEN_PREFIX);
        let (_, admin, _) = mint(ADMIN_TOKEN_PREFIX);
        assert_eq!(scim.len(), 69, "{scim}");
        assert_eq!(admin.len(), 68, "{admin}");
        assert!(scim.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_'));
        // One character changed anywhere fails the check.
        let mut typo = scim.clone().into_bytes();
        let at = 30;
        typo[at] = if typo[at] == b'a' { b'b' } else { b'a' };
        assert!(parse(SCIM_TOKEN_PREFIX, std::str::from_utf8(&typo).unwrap()).is_none());
        // The first format (95 characters) is still read.
        let old = format!("scimdesk_scim_{}_{}", "a1".repeat(8), "f0".repeat(32));
        let (id, secret) = parse(SCIM_TOKEN_PREFIX, &old).unwrap();
        assert_eq!((id.len(), secret.len()), (16, 64));
        assert!(parse(ADMIN_TOKEN_PREFIX, &old).is_none());
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926, "the standard check value");
    }

    #[test]
    fn tokens_of_the_other_kind_or_mangled_do_not_parse() {
        let (_, token, _) = mint(ADMIN_TOKEN_PREFIX);
        assert!(parse(SCIM_TOKEN_PREFIX, &token).is_none());
        assert!(parse(ADMIN_TOKEN_PREFIX, &token[..token.len() - 1]).is_none());
        assert!(parse(ADMIN_TOKEN_PREFIX, "sdadm_").is_none());
        let swapped = token.replacen('_', "-", 3);
        assert!(parse(ADMIN_TOKEN_PREFIX, &swapped).is_none());
    }
}
