//! [`Lsn`]: a WAL position, and [`LsnRange`].
//!
//! Two text forms: the 16-hex-digit form of layer file names (`{:016X}`, see [`Lsn::to_hex16`])
//! and the `X/Y` form Postgres users read ([`Display`](std::fmt::Display) and
//! [`FromStr`](std::str::FromStr)).

use std::fmt;
use std::str::FromStr;

use crate::error::{ParseError, parse_hex_exact, parse_hex_u64};

/// A log sequence number: a byte position in the WAL.
///
/// With the `serde` feature it serializes as Neon's `Lsn` does: the `u64` in binary formats
/// (8 bytes big-endian under Neon's bincode options, FORMAT.md section 3) and the `X/Y` string
/// in human-readable ones (JSON).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

impl Lsn {
    /// The invalid LSN 0.
    pub const INVALID: Lsn = Lsn(0);
    /// The largest LSN.
    pub const MAX: Lsn = Lsn(u64::MAX);

    /// `self + n`, or `None` on overflow.
    pub fn checked_add(self, n: u64) -> Option<Lsn> {
        self.0.checked_add(n).map(Lsn)
    }

    /// `self - n`, or `None` on underflow.
    pub fn checked_sub(self, n: u64) -> Option<Lsn> {
        self.0.checked_sub(n).map(Lsn)
    }

    /// The 16 uppercase hex digits used in layer file names.
    pub fn to_hex16(self) -> String {
        format!("{:016X}", self.0)
    }

    /// Parses 1 to 16 hex digits (either case), as Neon parses file-name LSNs.
    pub fn from_hex(s: &str) -> Result<Lsn, ParseError> {
        parse_hex_u64("lsn", s).map(Lsn)
    }

    /// Parses exactly 16 hex digits (either case): the canonical file-name form that
    /// [`Lsn::to_hex16`] writes. Layer file names are parsed with this (see [`crate::name`]).
    pub fn from_hex16(s: &str) -> Result<Lsn, ParseError> {
        parse_hex_exact::<8>("lsn", s).map(|b| Lsn(u64::from_be_bytes(b)))
    }

    /// The 8-byte big-endian form.
    pub fn to_be_bytes(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }
}

impl fmt::Display for Lsn {
    /// The `X/Y` form: high and low 32 bits in uppercase hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

impl fmt::Debug for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Lsn {
    type Err = ParseError;

    /// Parses the `X/Y` form, each side 1 to 8 hex digits.
    fn from_str(s: &str) -> Result<Lsn, ParseError> {
        let malformed = |reason| ParseError::Malformed {
            what: "lsn",
            text: s.to_owned(),
            reason,
        };
        let (hi, lo) = s.split_once('/').ok_or_else(|| malformed("expected X/Y"))?;
        // Checked here, not left to `parse_hex_u64`, whose length error speaks of 16 digits.
        let side_ok = |side: &str| (1..=8).contains(&side.len());
        if !side_ok(hi) || !side_ok(lo) {
            return Err(malformed("each side of X/Y has 1 to 8 hex digits"));
        }
        let hi = parse_hex_u64("lsn", hi)?;
        let lo = parse_hex_u64("lsn", lo)?;
        Ok(Lsn((hi << 32) | lo))
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Lsn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            s.serialize_u64(self.0)
        }
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Lsn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Lsn, D::Error> {
        if d.is_human_readable() {
            let text = <String as serde::Deserialize>::deserialize(d)?;
            text.parse().map_err(serde::de::Error::custom)
        } else {
            <u64 as serde::Deserialize>::deserialize(d).map(Lsn)
        }
    }
}

impl From<u64> for Lsn {
    fn from(v: u64) -> Lsn {
        Lsn(v)
    }
}

/// A half-open range of LSNs, `start..end`. Serializes as `start ‖ end`, like `Range<Lsn>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LsnRange {
    /// First LSN in the range.
    pub start: Lsn,
    /// First LSN after the range (exclusive).
    pub end: Lsn,
}

impl LsnRange {
    /// The range `start..end`.
    pub fn new(start: Lsn, end: Lsn) -> LsnRange {
        LsnRange { start, end }
    }

    /// True if `lsn` is in `start..end`.
    pub fn contains(&self, lsn: Lsn) -> bool {
        self.start <= lsn && lsn < self.end
    }

    /// True if the range holds no LSN (`start >= end`).
    pub fn is_empty(&self) -> bool {
        self.start >= self.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms() {
        let l = Lsn(0x1_0169_6070);
        assert_eq!(l.to_string(), "1/1696070");
        assert_eq!("1/1696070".parse::<Lsn>().unwrap(), l);
        assert_eq!(l.to_hex16(), "0000000101696070");
        assert_eq!(Lsn::from_hex("0000000101696070").unwrap(), l);
        assert!("1696070".parse::<Lsn>().is_err());
        assert!("/1".parse::<Lsn>().is_err());
        assert!("123456789/0".parse::<Lsn>().is_err());
        assert!(Lsn::from_hex("+1").is_err());
        assert!(Lsn::from_hex("10000000000000000").is_err());
        assert_eq!(
            Lsn::from_hex16("000000010169607a").unwrap(),
            Lsn(0x1_0169_607A)
        );
        assert!(Lsn::from_hex16("101696070").is_err());
        assert!(Lsn::from_hex16("+000000101696070").is_err());
    }

    #[test]
    fn checked_arithmetic() {
        assert_eq!(Lsn::MAX.checked_add(1), None);
        assert_eq!(Lsn(0).checked_sub(1), None);
        assert_eq!(Lsn(5).checked_sub(1), Some(Lsn(4)));
    }
}
