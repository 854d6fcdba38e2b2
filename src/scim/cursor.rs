//! Cursor paging (RFC 9865): the opaque `cursor` values of a list, and the `pagination` block
//! of ServiceProviderConfig.
//!
//! A cursor is a keyset position, not a stored result set: the sort key and id of the row next
//! to it, and which way to walk from there (`nextCursor` walks on from the last row of a page,
//! `previousCursor` back from the first). The next page is the rows strictly after that
//! position in the list's order, so a deep page costs what the first does, and a row that
//! existed throughout a walk is seen exactly once whatever was inserted or deleted meanwhile.
//! Nothing is kept on the server, so any replica answers any page.
//!
//! The text is base64url of a small JSON payload, encrypted (see `seal`), followed by an
//! HMAC-SHA256 tag of the plain payload (truncated to 128 bits). The tag covers the payload and the query the cursor belongs to (org, resource
//! type, filter, sortBy, sortOrder), so an edited cursor, or one of another query, is refused
//! as `invalidCursor`. Its key is derived from the caller's SCIM token, which every replica
//! sees in the request and nobody else knows: a cursor is only good for the token that
//! received it, and no server secret has to be shared between replicas.
//!
//! Expiry: each cursor carries the time it was issued, and one older than the timeout
//! (advertised as `cursorTimeout`) is `expiredCursor`. Every page issues fresh cursors, so the
//! timeout bounds the pause between two pages, not the length of a walk. A keyset cursor holds
//! nothing on the server that would need reclaiming; the timeout keeps a cursor that leaked
//! (in a log, a URL) from staying usable forever, and makes the advertised value true.

use super::error::{ScimError, ScimResult};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The value of a row's sort key, as the store compares it.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyValue {
    /// The row has no value: it sorts after every row that has one, in either direction.
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

/// A place in a list's order: the row with this key and id.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    pub key: KeyValue,
    pub id: String,
}

/// What a cursor says: walk forward from `at` (exclusive), or backward. Without `at`, from
/// the start (or, backward, from the end): what a page that came out empty offers.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub backward: bool,
    /// Which of a search's resource types `at` belongs to (0 when there is one type).
    pub part: u32,
    pub at: Option<Position>,
    /// Seconds since the Unix epoch.
    pub issued_at: u64,
}

/// The key that signs the cursors of one SCIM token.
#[derive(Clone)]
pub struct CursorKey([u8; 32]);

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(..)")
    }
}

impl CursorKey {
    /// Derived from the bearer token as presented (never stored, never logged).
    pub fn for_token(token: &str) -> CursorKey {
        let mut h = Sha256::new();
        h.update(b"scimdesk cursor key v1\0");
        h.update(token.as_bytes());
        CursorKey(h.finalize().into())
    }
}

/// A cursor issued this long after its issue time counts as the clock of another replica
/// running ahead, up to this many seconds; beyond, it is not a cursor this service issued.
const CLOCK_SKEW_SECS: u64 = 300;
const TAG_LEN: usize = 16;
const FORMAT: u64 = 2;

impl Cursor {
    /// The cursor's text for the query `binding` names (see [`binding`]).
    pub fn encode(&self, key: &CursorKey, binding: &str) -> String {
        let k = match self.at.as_ref().map(|a| &a.key) {
            None => json!("-"),
            Some(KeyValue::Null) => Value::Null,
            Some(KeyValue::Int(i)) => json!(["i", i]),
            // By its bits: a decimal round trip may not give the same float back.
            Some(KeyValue::Real(f)) => json!(["r", f.to_bits()]),
            Some(KeyValue::Text(s)) => json!(["s", s]),
        };
        let payload = json!({
            "v": FORMAT,
            "b": self.backward,
            "p": self.part,
            "k": k,
            "i": self.at.as_ref().map(|a| a.id.as_str()),
            "t": self.issued_at,
        })
        .to_string();
        let mut bytes = payload.into_bytes();
        let tag = tag(key, binding, &bytes);
        seal(key, &tag, &mut bytes);
        bytes.extend_from_slice(&tag);
        base64url(&bytes)
    }

    /// Reads a cursor's text: 400 `invalidCursor` unless it is one that `key` signed for the
    /// query `binding` names, 400 `expiredCursor` when it is older than `timeout_secs`.
    pub fn decode(
        text: &str,
        key: &CursorKey,
        binding: &str,
        now: u64,
        timeout_secs: u64,
    ) -> ScimResult<Cursor> {
        let invalid = || {
            ScimError::invalid_cursor(
                "cursor: not a cursor this service issued for this query (send the same \
                 filter, sortBy and sortOrder as the first page, and the nextCursor or \
                 previousCursor of a response; an empty cursor asks for the first page)",
            )
        };
        let bytes = unbase64url(text.trim()).ok_or_else(invalid)?;
        if bytes.len() <= TAG_LEN {
            return Err(invalid());
        }
        let (sealed, given) = bytes.split_at(bytes.len() - TAG_LEN);
        let mut payload = sealed.to_vec();
        let given: [u8; TAG_LEN] = given.try_into().map_err(|_| invalid())?;
        seal(key, &given, &mut payload);
        let expected = tag(key, binding, &payload);
        if !constant_time_eq(&expected, &given) {
            return Err(invalid());
        }
        let v: Value = serde_json::from_slice(&payload).map_err(|_| invalid())?;
        if v["v"].as_u64() != Some(FORMAT) {
            return Err(invalid());
        }
        let key_value = match &v["k"] {
            Value::String(s) if s == "-" => None,
            Value::Null => Some(KeyValue::Null),
            Value::Array(a) => match (a.first().and_then(Value::as_str), a.get(1)) {
                (Some("i"), Some(n)) => Some(KeyValue::Int(n.as_i64().ok_or_else(invalid)?)),
                (Some("r"), Some(n)) => Some(KeyValue::Real(f64::from_bits(
                    n.as_u64().ok_or_else(invalid)?,
                ))),
                (Some("s"), Some(Value::String(s))) => Some(KeyValue::Text(s.clone())),
                _ => return Err(invalid()),
            },
            _ => return Err(invalid()),
        };
        let cursor = Cursor {
            backward: v["b"].as_bool().ok_or_else(invalid)?,
            part: v["p"]
                .as_u64()
                .and_then(|p| u32::try_from(p).ok())
                .ok_or_else(invalid)?,
            at: match key_value {
                None => None,
                Some(key) => Some(Position {
                    key,
                    id: v["i"].as_str().ok_or_else(invalid)?.to_string(),
                }),
            },
            issued_at: v["t"].as_u64().ok_or_else(invalid)?,
        };
        if cursor.issued_at > now.saturating_add(CLOCK_SKEW_SECS) {
            return Err(invalid());
        }
        if now.saturating_sub(cursor.issued_at) > timeout_secs {
            return Err(ScimError::expired_cursor(format!(
                "cursor: expired (issued more than {timeout_secs} seconds ago, the \
                 cursorTimeout of ServiceProviderConfig); start again with an empty cursor"
            )));
        }
        Ok(cursor)
    }
}

/// The query a cursor belongs to, as the text its tag covers: what decides which rows a list
/// holds and in which order (not `count`, which any page may change, nor the projection).
pub fn binding(org_id: i64, resource: &str, parts: &[(&str, Option<String>)]) -> String {
    let mut s = format!("{org_id}\0{resource}");
    for (name, value) in parts {
        s.push('\0');
        s.push_str(name);
        s.push('=');
        match value {
            Some(v) => {
                s.push('+');
                s.push_str(v);
            }
            None => s.push('-'),
        }
    }
    s
}

/// A ListResponse of cursor paging: no `startIndex` (a cursor page has no index), and the
/// cursors where there are pages on either side.
pub fn list_response(
    resources: Vec<Value>,
    total_results: u64,
    next: Option<String>,
    previous: Option<String>,
) -> Value {
    let mut doc = json!({
        "schemas": [super::schema::LIST_RESPONSE_SCHEMA],
        "totalResults": total_results,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    });
    if let Some(c) = next {
        doc["nextCursor"] = json!(c);
    }
    if let Some(c) = previous {
        doc["previousCursor"] = json!(c);
    }
    doc
}

/// The `pagination` block of ServiceProviderConfig (RFC 9865 §4): both methods, index paging
/// by default (what clients that predate cursors expect).
pub fn pagination_config(default_page_size: u64, max_page_size: u64, timeout_secs: u64) -> Value {
    json!({
        "cursor": true,
        "index": true,
        "defaultPaginationMethod": "index",
        "defaultPageSize": default_page_size,
        "maxPageSize": max_page_size,
        "cursorTimeout": timeout_secs,
    })
}

fn tag(key: &CursorKey, binding: &str, payload: &[u8]) -> [u8; TAG_LEN] {
    let mut message = Vec::with_capacity(binding.len() + 1 + payload.len());
    message.extend_from_slice(binding.as_bytes());
    message.push(0);
    message.extend_from_slice(payload);
    let mac = hmac_sha256(&key.0, &message);
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(&mac[..TAG_LEN]);
    out
}

/// Encrypts (or, the same operation, decrypts) a cursor's payload in place, so that a cursor
/// in a URL or a log shows nothing of the row it points at (a `sortBy=userName` cursor holds
/// an email): XOR with a keystream of HMAC-SHA256 blocks under a key derived from the cursor
/// key, seeded by the payload's own tag (a synthetic IV: the tag differs whenever the payload
/// or query does, and is checked after decryption).
fn seal(key: &CursorKey, tag: &[u8; TAG_LEN], payload: &mut [u8]) {
    let enc_key = hmac_sha256(&key.0, b"scimdesk cursor encryption v1");
    for (i, chunk) in payload.chunks_mut(32).enumerate() {
        let mut block = Vec::with_capacity(TAG_LEN + 4);
        block.extend_from_slice(tag);
        block.extend_from_slice(&(i as u32).to_be_bytes());
        let stream = hmac_sha256(&enc_key, &block);
        for (b, s) in chunk.iter_mut().zip(stream) {
            *b ^= s;
        }
    }
}

/// HMAC-SHA256 (RFC 2104) with a key of one block or less.
fn hmac_sha256(key: &[u8; 32], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut ipad = [0x36u8; BLOCK];
    let mut opad = [0x5cu8; BLOCK];
    for (i, k) in key.iter().enumerate() {
        ipad[i] ^= k;
        opad[i] ^= k;
    }
    let inner = Sha256::new()
        .chain_update(ipad)
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(opad)
        .chain_update(inner)
        .finalize()
        .into()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url without padding (RFC 4648 §5): only characters that RFC 3986 leaves unreserved,
/// as RFC 9865 asks of cursors.
fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn unbase64url(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| B64.iter().position(|&d| d == c).map(|p| p as u32);
    let bytes = text.as_bytes();
    if bytes.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= digit(*c)? << (18 - 6 * i);
        }
        let len = chunk.len() - 1;
        for i in 0..len {
            out.push((n >> (16 - 8 * i)) as u8);
        }
        // Bits beyond the last byte must be zero, so that each byte string has one text.
        if n & ((1 << (24 - 8 * len)) - 1) != 0 {
            return None;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::ScimType;

    fn cursor(key: KeyValue) -> Cursor {
        Cursor {
            backward: false,
            part: 1,
            at: Some(Position {
                key,
                id: "0190-a".into(),
            }),
            issued_at: 1_000_000,
        }
    }

    fn scim_type(r: ScimResult<Cursor>) -> Option<ScimType> {
        r.err().and_then(|e| e.scim_type)
    }

    #[test]
    fn round_trips_every_kind_of_key() {
        let k = CursorKey::for_token("t1");
        let start = Cursor {
            at: None,
            ..cursor(KeyValue::Null)
        };
        let text = start.encode(&k, "q");
        assert_eq!(
            Cursor::decode(&text, &k, "q", 1_000_000, 60).unwrap(),
            start
        );
        for key in [
            KeyValue::Null,
            KeyValue::Int(-7),
            KeyValue::Real(0.1 + 0.2),
            KeyValue::Text("Ann \"O'Neil\" ü\u{0}".into()),
        ] {
            let c = cursor(key);
            let text = c.encode(&k, "q");
            assert!(
                text.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "{text}"
            );
            assert_eq!(Cursor::decode(&text, &k, "q", 1_000_010, 60).unwrap(), c);
        }
    }

    #[test]
    fn a_cursor_shows_nothing_of_the_row_it_points_at() {
        let k = CursorKey::for_token("t1");
        let c = cursor(KeyValue::Text("ceo@acme.example".into()));
        let text = c.encode(&k, "q");
        let bytes = unbase64url(&text).unwrap();
        let shown = String::from_utf8_lossy(&bytes);
        assert!(!shown.contains("ceo@acme"), "{shown}");
        assert!(!shown.contains("\"k\""), "{shown}");
        // Another token cannot read (or forge) it.
        let other = CursorKey::for_token("t2");
        assert!(Cursor::decode(&text, &other, "q", 1_000_010, 60).is_err());
        assert_eq!(Cursor::decode(&text, &k, "q", 1_000_010, 60).unwrap(), c);
    }

    #[test]
    fn another_query_token_or_an_edit_is_an_invalid_cursor() {
        let k = CursorKey::for_token("t1");
        let text = cursor(KeyValue::Int(1)).encode(&k, "q");
        let now = 1_000_000;
        let other_token = CursorKey::for_token("t2");
        assert_eq!(
            scim_type(Cursor::decode(&text, &other_token, "q", now, 60)),
            Some(ScimType::InvalidCursor)
        );
        assert_eq!(
            scim_type(Cursor::decode(&text, &k, "q2", now, 60)),
            Some(ScimType::InvalidCursor)
        );
        for i in 0..text.len() {
            let mut edited = text.clone().into_bytes();
            edited[i] = if edited[i] == b'A' { b'B' } else { b'A' };
            let edited = String::from_utf8(edited).unwrap();
            assert_eq!(
                scim_type(Cursor::decode(&edited, &k, "q", now, 60)),
                Some(ScimType::InvalidCursor),
                "{i}"
            );
        }
        for junk in ["", "x", "!!!!", "AAAA", "not a cursor"] {
            assert_eq!(
                scim_type(Cursor::decode(junk, &k, "q", now, 60)),
                Some(ScimType::InvalidCursor)
            );
        }
    }

    #[test]
    fn an_old_cursor_is_expired_and_one_from_the_future_invalid() {
        let k = CursorKey::for_token("t1");
        let text = cursor(KeyValue::Null).encode(&k, "q");
        assert!(Cursor::decode(&text, &k, "q", 1_000_060, 60).is_ok());
        assert_eq!(
            scim_type(Cursor::decode(&text, &k, "q", 1_000_061, 60)),
            Some(ScimType::ExpiredCursor)
        );
        assert!(Cursor::decode(&text, &k, "q", 1_000_000 - CLOCK_SKEW_SECS, 60).is_ok());
        assert_eq!(
            scim_type(Cursor::decode(
                &text,
                &k,
                "q",
                1_000_000 - CLOCK_SKEW_SECS - 1,
                60
            )),
            Some(ScimType::InvalidCursor)
        );
    }

    #[test]
    fn hmac_matches_rfc_4231_case_1() {
        // RFC 4231 test case 1: key 0x0b * 20, "Hi There".
        let mut key = [0u8; 32];
        key[..20].copy_from_slice(&[0x0b; 20]);
        let mac = hmac_sha256(&key, b"Hi There");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    #[test]
    fn base64url_round_trips_and_has_one_text_per_value() {
        for n in 0..10 {
            let bytes: Vec<u8> = (0..n).map(|i| (i * 37 + 250) as u8).collect();
            assert_eq!(unbase64url(&base64url(&bytes)).unwrap(), bytes);
        }
        assert_eq!(base64url(b"\xfb\xff"), "-_8");
        assert!(unbase64url("-_9").is_none(), "stray low bits");
    }

    #[test]
    fn binding_tells_absent_from_empty() {
        assert_ne!(
            binding(1, "User", &[("filter", None)]),
            binding(1, "User", &[("filter", Some(String::new()))])
        );
        assert_ne!(
            binding(1, "User", &[]),
            binding(2, "User", &[]),
            "another org"
        );
    }
}
