//! The parse error shared by every text form in this crate.

/// Why a string is not a valid key, LSN, id or layer file name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The text has the wrong number of bytes for its form.
    #[error("{what}: expected {expected} characters, got {got}")]
    Length {
        /// What was being parsed.
        what: &'static str,
        /// The number of characters the form takes.
        expected: usize,
        /// The number of bytes given.
        got: usize,
    },
    /// A character that is not a hex digit (or not allowed at that place).
    #[error("{what}: invalid character in {text:?}")]
    InvalidChar {
        /// What was being parsed.
        what: &'static str,
        /// The offending text.
        text: String,
    },
    /// A value does not fit its type.
    #[error("{what}: value out of range in {text:?}")]
    Overflow {
        /// What was being parsed.
        what: &'static str,
        /// The offending text.
        text: String,
    },
    /// A range whose start is not below its end.
    #[error("{what}: empty range {start}..{end}")]
    EmptyRange {
        /// What was being parsed.
        what: &'static str,
        /// The range start, as written.
        start: String,
        /// The range end, as written.
        end: String,
    },
    /// The text does not have the structure of the form (missing or extra parts).
    #[error("{what}: malformed {text:?}: {reason}")]
    Malformed {
        /// What was being parsed.
        what: &'static str,
        /// The offending text.
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Parses exactly `N * 2` hex digits into `N` bytes. Rejects signs, spaces and non-ASCII.
pub(crate) fn parse_hex_exact<const N: usize>(
    what: &'static str,
    text: &str,
) -> Result<[u8; N], ParseError> {
    let bytes = text.as_bytes();
    if bytes.len() != N * 2 {
        return Err(ParseError::Length {
            what,
            expected: N * 2,
            got: bytes.len(),
        });
    }
    let mut out = [0u8; N];
    for (dst, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let (Some(hi), Some(lo)) = (hex_val(pair[0]), hex_val(pair[1])) else {
            return Err(ParseError::InvalidChar {
                what,
                text: text.to_owned(),
            });
        };
        *dst = (hi << 4) | lo;
    }
    Ok(out)
}

/// Parses 1 to 16 hex digits as a u64 (no sign, no prefix).
pub(crate) fn parse_hex_u64(what: &'static str, text: &str) -> Result<u64, ParseError> {
    let bytes = text.as_bytes();
    if bytes.is_empty() || bytes.len() > 16 {
        return Err(ParseError::Length {
            what,
            expected: 16,
            got: bytes.len(),
        });
    }
    let mut v: u64 = 0;
    for &b in bytes {
        let Some(d) = hex_val(b) else {
            return Err(ParseError::InvalidChar {
                what,
                text: text.to_owned(),
            });
        };
        v = (v << 4) | u64::from(d);
    }
    Ok(v)
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}
