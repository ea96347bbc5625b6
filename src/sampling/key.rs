//! Request keys: what makes two requests "the same logical request" in
//! request-mode replay, and the stable hash that names one.
//!
//! A key is the hash of the request's id — the first of the profile's
//! `replay_options.key_headers` it carries — and, with `key_body = true`,
//! of its body in canonical form (JSON whitespace between tokens ignored).
//! Without any of those headers the body alone is the key, so two identical
//! contents sent without ids share one key and their sends count as attempts
//! 1, 2, 3 … of it.
//!
//! The hash is mockdet's own, fixed across versions, platforms and
//! processes (tests pin known values), so replicas and a replayed journal
//! name a request the same way.

use std::fmt;

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use crate::profile::{FieldError, MAX_REPLAY_CAPACITY, Replay, ReplayOptions};

/// The hash naming one logical request on one detector; shown as 16 hex
/// digits in the journal.
///
/// ```
/// use mockdet::RequestKey;
///
/// let key = RequestKey::new(Some(("x-correlation-id", "order-17")), Some(br#"{"content":"hi"}"#));
/// // Whitespace between JSON tokens does not change the key.
/// let spaced = RequestKey::new(Some(("x-correlation-id", "order-17")), Some(b"{ \"content\" : \"hi\" }"));
/// assert_eq!(key, spaced);
/// assert_eq!(key.to_string().parse::<RequestKey>().unwrap(), key);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestKey(pub(crate) u64);

impl RequestKey {
    /// The key of a request carrying the id `(header, value)` (if any) and
    /// the body `body` (if the body is part of the key).
    pub fn new(id: Option<(&str, &str)>, body: Option<&[u8]>) -> Self {
        let mut hasher = StableHasher::default();
        if let Some((header, value)) = id {
            hasher.write(header.to_ascii_lowercase().as_bytes());
            hasher.write(b":");
            hasher.write(value.as_bytes());
        }
        hasher.write(&[0xff]);
        if let Some(body) = body {
            canonical_json(body, &mut hasher);
        }
        Self(hasher.finish())
    }

    /// The key a detector with `options` finds for a request with `headers`
    /// and `body` (what `mockdet record` files recorded answers under).
    /// Header names that are not valid are skipped (a profile holding one
    /// is refused anyway).
    pub fn of_request(headers: &HeaderMap, body: &[u8], options: &ReplayOptions) -> Self {
        let rule = KeyRule {
            headers: options
                .key_headers
                .iter()
                .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
                .collect(),
            body: options.key_body,
        };
        rule.key(headers, body)
    }

    /// The generator stream of `attempt` of this key: where its latency,
    /// fault and item draws come from.
    pub(crate) fn stream(self, attempt: u32) -> u64 {
        let mut state = self.0 ^ u64::from(attempt).wrapping_mul(0xa076_1d64_78bd_642f);
        super::rng::splitmix64(&mut state)
    }
}

impl fmt::Display for RequestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl std::str::FromStr for RequestKey {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let refused = || format!("`{s}` is not a request key (16 hex digits)");
        if s.len() != 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(refused());
        }
        u64::from_str_radix(s, 16).map(Self).map_err(|_| refused())
    }
}

/// How one detector finds a request's key.
#[derive(Debug, Clone)]
pub(crate) struct KeyRule {
    /// Headers naming the request, first present wins.
    pub(crate) headers: Vec<HeaderName>,
    /// Whether the body is part of the key even when a header names the
    /// request (`replay_options.key_body`).
    pub(crate) body: bool,
}

/// `replay` and `replay_options`, checked.
#[derive(Debug, Clone)]
pub(crate) struct ReplayPolicy {
    pub(crate) mode: Replay,
    pub(crate) keys: KeyRule,
    pub(crate) capacity: usize,
    pub(crate) attempt_header: Option<HeaderName>,
}

impl ReplayPolicy {
    /// Checks `options` for a detector replaying by `mode`.
    pub(crate) fn new(mode: Replay, options: &ReplayOptions) -> Result<Self, FieldError> {
        let header = |field: &str, name: &str| {
            HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
                FieldError::new(
                    format!("replay_options.{field}"),
                    format!("`{name}` is not an HTTP header name"),
                )
            })
        };
        let headers = options
            .key_headers
            .iter()
            .map(|name| header("key_headers", name))
            .collect::<Result<Vec<_>, _>>()?;
        if !(1..=MAX_REPLAY_CAPACITY).contains(&options.capacity) {
            return Err(FieldError::new(
                "replay_options.capacity",
                format!(
                    "{} is not between 1 and {MAX_REPLAY_CAPACITY} keys",
                    options.capacity
                ),
            ));
        }
        let attempt_header = match &options.attempt_header {
            Some(name) => Some(header("attempt_header", name)?),
            None => None,
        };
        Ok(Self {
            mode,
            keys: KeyRule {
                headers,
                body: options.key_body,
            },
            capacity: options.capacity,
            attempt_header,
        })
    }
}

/// A request with at most this many headers is searched by comparing names,
/// not by hashing the one looked up (what `HeaderMap::get` does).
const SCANNED_UP_TO: usize = 12;

/// The first value of `name` in `headers`, as [`HeaderMap::get`] gives it.
/// Requests carry a handful of headers and the engine looks up a dozen
/// names, most of them absent: comparing a few names is cheaper than
/// hashing each name looked up, so small maps are scanned.
pub(crate) fn header<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Option<&'h HeaderValue> {
    if headers.keys_len() > SCANNED_UP_TO {
        return headers.get(name);
    }
    // `iter` yields a name's first value before its others.
    headers
        .iter()
        .find_map(|(sent, value)| (sent == name).then_some(value))
}

/// `traceparent`: keyed by its trace id alone, which every retry of a
/// traced call shares (the parent span id changes per attempt).
const TRACEPARENT: &str = "traceparent";

impl KeyRule {
    /// The key of a request with `headers` and `body`.
    pub(crate) fn key(&self, headers: &HeaderMap, body: &[u8]) -> RequestKey {
        let id = self.headers.iter().find_map(|name| {
            let value = header(headers, name)?.to_str().ok()?;
            let value = if name.as_str() == TRACEPARENT {
                trace_id(value)
            } else {
                value
            };
            Some((name.as_str(), value))
        });
        let body = (self.body || id.is_none()).then_some(body);
        RequestKey::new(id, body)
    }
}

/// The trace id of a W3C `traceparent` (`00-<trace id>-<span id>-<flags>`);
/// the whole value if it is not shaped like one.
fn trace_id(traceparent: &str) -> &str {
    let mut fields = traceparent.trim().split('-');
    match (fields.next(), fields.next()) {
        (Some(_version), Some(trace)) if trace.len() == 32 => trace,
        _ => traceparent,
    }
}

/// Hashes `body` without the whitespace between JSON tokens: the same JSON
/// sent compact or pretty-printed gives the same key. Bytes in strings are
/// kept as they are (escapes are not decoded). Strings — most of a body —
/// are found with `memchr` and hashed eight bytes at a time.
fn canonical_json(body: &[u8], hasher: &mut StableHasher) {
    let mut rest = body;
    loop {
        // Outside a string: everything but whitespace, up to the next quote.
        let quote = memchr::memchr(b'"', rest);
        let outside = &rest[..quote.unwrap_or(rest.len())];
        for &byte in outside {
            if !matches!(byte, b' ' | b'\t' | b'\n' | b'\r') {
                hasher.byte(byte);
            }
        }
        let Some(quote) = quote else {
            return;
        };
        hasher.byte(b'"');
        // Inside: up to the closing quote, an escaped character included as is.
        let mut inside = &rest[quote + 1..];
        loop {
            match memchr::memchr2(b'"', b'\\', inside) {
                // Unterminated: the rest is the string's.
                None => {
                    hasher.write(inside);
                    return;
                }
                Some(i) if inside[i] == b'\\' => {
                    let end = (i + 2).min(inside.len());
                    hasher.write(&inside[..end]);
                    inside = &inside[end..];
                }
                Some(i) => {
                    hasher.write(&inside[..=i]);
                    rest = &inside[i + 1..];
                    break;
                }
            }
        }
    }
}

/// A 64-bit hash fixed by this code alone (std's and most crates' hashers
/// may change between versions): bytes are packed into 64-bit words, each
/// word multiplied in, and the result finished with SplitMix64.
#[derive(Default)]
struct StableHasher {
    state: u64,
    word: u64,
    filled: u32,
    len: u64,
}

impl StableHasher {
    fn byte(&mut self, byte: u8) {
        self.word |= u64::from(byte) << (8 * self.filled);
        self.filled += 1;
        self.len += 1;
        if self.filled == 8 {
            self.mix();
        }
    }

    /// The same as [`byte`](Self::byte) for each of `bytes`, whole words
    /// at a time where the packing allows.
    fn write(&mut self, mut bytes: &[u8]) {
        while self.filled != 0 {
            let Some((&first, rest)) = bytes.split_first() else {
                return;
            };
            self.byte(first);
            bytes = rest;
        }
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut packed = [0u8; 8];
            packed.copy_from_slice(word);
            self.word = u64::from_le_bytes(packed);
            self.len += 8;
            self.mix();
        }
        for &byte in words.remainder() {
            self.byte(byte);
        }
    }

    fn mix(&mut self) {
        self.state = (self.state ^ self.word)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
        self.word = 0;
        self.filled = 0;
    }

    fn finish(mut self) -> u64 {
        self.mix();
        let mut state = self.state ^ self.len;
        super::rng::splitmix64(&mut state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_is_found_as_header_map_get_finds_it_in_maps_of_any_size() {
        let names = ["x-request-id", "traceparent", "content-type", "x-absent"];
        for size in [0, 1, 3, SCANNED_UP_TO, SCANNED_UP_TO + 1, 40] {
            let mut headers = HeaderMap::new();
            for i in 0..size {
                let name = HeaderName::try_from(format!("x-filler-{i}")).unwrap();
                headers.insert(name, HeaderValue::from(i));
            }
            headers.append("x-request-id", HeaderValue::from_static("first"));
            headers.append("x-request-id", HeaderValue::from_static("second"));
            headers.insert("content-type", HeaderValue::from_static("application/json"));
            for name in names {
                let name = HeaderName::from_static(name);
                assert_eq!(
                    header(&headers, &name),
                    headers.get(&name),
                    "{name} in {size}"
                );
            }
            assert_eq!(
                header(&headers, &HeaderName::from_static("x-request-id")).unwrap(),
                "first"
            );
        }
    }

    fn rule(headers: &[&str], body: bool) -> KeyRule {
        KeyRule {
            headers: headers
                .iter()
                .map(|h| HeaderName::from_bytes(h.as_bytes()).unwrap())
                .collect(),
            body,
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    #[test]
    fn the_hash_is_pinned_so_replicas_and_versions_agree() {
        // Changing these values breaks every saved journal: do not.
        assert_eq!(RequestKey::new(None, None).to_string(), "1d4f9cf241ace07f");
        assert_eq!(
            RequestKey::new(Some(("x-correlation-id", "abc")), None).to_string(),
            "430bf920176bdd4b"
        );
        assert_eq!(
            RequestKey::new(None, Some(br#"{"content":"hello"}"#)).to_string(),
            "6be0024fc5f6929b"
        );
    }

    /// The byte-at-a-time definition of the canonical form, which the fast
    /// path must match exactly.
    fn canonical_bytes(body: &[u8]) -> Vec<u8> {
        let (mut out, mut in_string, mut escaped) = (Vec::new(), false, false);
        for &byte in body {
            if in_string {
                if escaped {
                    escaped = false;
                } else if byte == b'\\' {
                    escaped = true;
                } else if byte == b'"' {
                    in_string = false;
                }
            } else if matches!(byte, b' ' | b'\t' | b'\n' | b'\r') {
                continue;
            } else if byte == b'"' {
                in_string = true;
            }
            out.push(byte);
        }
        out
    }

    fn slow_hash(body: &[u8]) -> u64 {
        let mut hasher = StableHasher::default();
        hasher.byte(0xff);
        for byte in canonical_bytes(body) {
            hasher.byte(byte);
        }
        hasher.finish()
    }

    #[test]
    fn the_fast_canonical_hash_equals_the_byte_at_a_time_definition() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let alphabet = b"{}[]:,\" \\\t\n\rab12\xc3\xa9";
        for _ in 0..20_000 {
            let len = rng.random_range(0..80);
            let body: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                .collect();
            assert_eq!(
                RequestKey::new(None, Some(&body)).0,
                slow_hash(&body),
                "{body:?}"
            );
        }
    }

    #[test]
    fn whitespace_between_tokens_is_ignored_but_not_inside_strings() {
        let compact = RequestKey::new(None, Some(br#"{"content":"a b","x":[1,2]}"#));
        let pretty = RequestKey::new(
            None,
            Some(b"{\n  \"content\": \"a b\",\n  \"x\": [ 1, 2 ]\n}\r\n"),
        );
        assert_eq!(compact, pretty);
        let other = RequestKey::new(None, Some(br#"{"content":"ab","x":[1,2]}"#));
        assert_ne!(compact, other);
        // An escaped quote does not end the string.
        let escaped = RequestKey::new(None, Some(br#"{"content":"\" a"}"#));
        let unspaced = RequestKey::new(None, Some(br#"{"content":"\"a"}"#));
        assert_ne!(escaped, unspaced);
    }

    #[test]
    fn the_first_present_header_names_the_request() {
        let rule = rule(&["x-correlation-id", "x-request-id", "traceparent"], false);
        let body = br#"{"content":"same"}"#;
        let by_correlation = rule.key(
            &headers(&[("x-correlation-id", "c1"), ("x-request-id", "r1")]),
            body,
        );
        assert_eq!(
            by_correlation,
            RequestKey::new(Some(("x-correlation-id", "c1")), None)
        );
        let by_request = rule.key(&headers(&[("x-request-id", "r1")]), body);
        assert_eq!(
            by_request,
            RequestKey::new(Some(("x-request-id", "r1")), None)
        );
        // No header: the body alone.
        assert_eq!(
            rule.key(&HeaderMap::new(), body),
            RequestKey::new(None, Some(body))
        );
    }

    #[test]
    fn a_traceparent_is_keyed_by_its_trace_id_alone() {
        let rule = rule(&["traceparent"], false);
        let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
        let first = headers(&[("traceparent", &format!("00-{trace}-00f067aa0ba902b7-01"))]);
        let retry = headers(&[("traceparent", &format!("00-{trace}-b7ad6b7169203331-01"))]);
        assert_eq!(rule.key(&first, b"{}"), rule.key(&retry, b"{}"));
        assert_eq!(
            rule.key(&first, b"{}"),
            RequestKey::new(Some(("traceparent", trace)), None)
        );
        // Not shaped like one: the whole value.
        let odd = headers(&[("traceparent", "not-a-trace")]);
        assert_eq!(
            rule.key(&odd, b"{}"),
            RequestKey::new(Some(("traceparent", "not-a-trace")), None)
        );
    }

    #[test]
    fn with_the_body_in_the_key_one_id_covers_different_calls_apart() {
        let rule = rule(&["traceparent"], true);
        let trace = headers(&[(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )]);
        let a = rule.key(&trace, br#"{"content":"chunk one"}"#);
        let b = rule.key(&trace, br#"{"content":"chunk two"}"#);
        assert_ne!(a, b);
        // And one body under two ids is two keys.
        let c1 = rule.key(
            &headers(&[(
                "traceparent",
                "00-11111111111111111111111111111111-00f067aa0ba902b7-01",
            )]),
            b"{}",
        );
        let c2 = rule.key(
            &headers(&[(
                "traceparent",
                "00-22222222222222222222222222222222-00f067aa0ba902b7-01",
            )]),
            b"{}",
        );
        assert_ne!(c1, c2);
    }

    #[test]
    fn attempts_of_one_key_draw_from_different_streams() {
        let key = RequestKey::new(Some(("x-request-id", "r")), None);
        let streams: std::collections::HashSet<u64> = (1..=1000).map(|a| key.stream(a)).collect();
        assert_eq!(streams.len(), 1000);
    }

    #[test]
    fn keys_parse_back_from_their_hex_and_refuse_anything_else() {
        let key = RequestKey(0x0123_4567_89ab_cdef);
        assert_eq!(key.to_string(), "0123456789abcdef");
        assert_eq!("0123456789abcdef".parse::<RequestKey>(), Ok(key));
        assert!("123".parse::<RequestKey>().is_err());
        assert!("0123456789abcdeg".parse::<RequestKey>().is_err());
        assert!("+123456789abcdef".parse::<RequestKey>().is_err());
    }

    #[test]
    fn options_are_checked_with_their_field_named() {
        let ok = ReplayOptions::default();
        let policy = ReplayPolicy::new(Replay::Request, &ok).unwrap();
        assert_eq!(policy.keys.headers.len(), 3);
        assert_eq!(policy.attempt_header.unwrap().as_str(), "x-attempt");

        let mut bad = ok.clone();
        bad.key_headers.push("not a header".into());
        let err = ReplayPolicy::new(Replay::Request, &bad).unwrap_err();
        assert_eq!(err.field, "replay_options.key_headers");
        assert!(err.reason.contains("`not a header`"), "{err:?}");

        for capacity in [0, MAX_REPLAY_CAPACITY + 1] {
            let mut bad = ok.clone();
            bad.capacity = capacity;
            let err = ReplayPolicy::new(Replay::Request, &bad).unwrap_err();
            assert_eq!(err.field, "replay_options.capacity");
        }

        let mut bad = ok;
        bad.attempt_header = Some("x attempt".into());
        let err = ReplayPolicy::new(Replay::Sequence, &bad).unwrap_err();
        assert_eq!(err.field, "replay_options.attempt_header");
    }
}
