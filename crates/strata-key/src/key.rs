//! [`Key`]: the 18-byte page key of FORMAT.md section 5.1, and [`KeyRange`].
//!
//! Invariant: the byte form is the six fields big-endian, so byte order, field-tuple order and
//! the derived `Ord` all agree.

use std::fmt;
use std::str::FromStr;

use crate::error::{ParseError, parse_hex_exact};

/// Size of a [`Key`] in its binary form.
pub const KEY_SIZE: usize = 18;

/// A page key: which relation fork block (or other object) a value belongs to.
///
/// Field order is significant: the derived `Ord` compares field1 first, which is the same order
/// as comparing the 18-byte big-endian forms.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Key {
    /// Kind of object: 0x00 relation data, 0x01 SLRU, 0x02 twophase, 0x03 misc/aux.
    pub field1: u8,
    /// Tablespace OID for relation keys.
    pub field2: u32,
    /// Database OID for relation keys.
    pub field3: u32,
    /// Relation OID for relation keys.
    pub field4: u32,
    /// Fork number for relation keys.
    pub field5: u8,
    /// Block number for relation keys.
    pub field6: u32,
}

impl Key {
    /// The smallest key, all bytes zero.
    pub const MIN: Key = Key {
        field1: 0,
        field2: 0,
        field3: 0,
        field4: 0,
        field5: 0,
        field6: 0,
    };
    /// The largest key, all bytes 0xFF.
    pub const MAX: Key = Key {
        field1: 0xFF,
        field2: 0xFFFF_FFFF,
        field3: 0xFFFF_FFFF,
        field4: 0xFFFF_FFFF,
        field5: 0xFF,
        field6: 0xFFFF_FFFF,
    };

    /// Decodes the 18-byte big-endian form.
    #[inline]
    pub fn from_array(b: &[u8; KEY_SIZE]) -> Key {
        let u32_at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Key {
            field1: b[0],
            field2: u32_at(1),
            field3: u32_at(5),
            field4: u32_at(9),
            field5: b[13],
            field6: u32_at(14),
        }
    }

    /// Decodes the first [`KEY_SIZE`] bytes of `b`; `None` if `b` is shorter.
    pub fn from_slice(b: &[u8]) -> Option<Key> {
        let arr: &[u8; KEY_SIZE] = b.get(..KEY_SIZE)?.try_into().ok()?;
        Some(Key::from_array(arr))
    }

    /// The 18-byte big-endian form.
    pub fn to_array(&self) -> [u8; KEY_SIZE] {
        let mut b = [0u8; KEY_SIZE];
        self.write_to(&mut b);
        b
    }

    /// Writes the 18-byte big-endian form into `out`.
    pub fn write_to(&self, out: &mut [u8; KEY_SIZE]) {
        out[0] = self.field1;
        out[1..5].copy_from_slice(&self.field2.to_be_bytes());
        out[5..9].copy_from_slice(&self.field3.to_be_bytes());
        out[9..13].copy_from_slice(&self.field4.to_be_bytes());
        out[13] = self.field5;
        out[14..18].copy_from_slice(&self.field6.to_be_bytes());
    }

    /// The key `x` blocks further, carrying from field6 into field5, field4, ... as Neon's
    /// `Key::add` does. Wraps from [`Key::MAX`] to [`Key::MIN`].
    pub fn add(&self, x: u32) -> Key {
        let mut k = *self;
        let (f6, c) = k.field6.overflowing_add(x);
        k.field6 = f6;
        if !c {
            return k;
        }
        let (f5, c) = k.field5.overflowing_add(1);
        k.field5 = f5;
        if !c {
            return k;
        }
        let (f4, c) = k.field4.overflowing_add(1);
        k.field4 = f4;
        if !c {
            return k;
        }
        let (f3, c) = k.field3.overflowing_add(1);
        k.field3 = f3;
        if !c {
            return k;
        }
        let (f2, c) = k.field2.overflowing_add(1);
        k.field2 = f2;
        if !c {
            return k;
        }
        k.field1 = k.field1.wrapping_add(1);
        k
    }

    /// The next key (`add(1)`); [`Key::MAX`] wraps to [`Key::MIN`] as in Neon.
    pub fn next(&self) -> Key {
        self.add(1)
    }

    /// The next key, or `None` for [`Key::MAX`].
    pub fn checked_next(&self) -> Option<Key> {
        (*self != Key::MAX).then(|| self.next())
    }

    /// Neon's compact i128 form (`field1 & 0x7F` in bits 120.., `field2 & 0xFFFF` in 104..).
    ///
    /// Only keys with `field1 <= 0x7F` and `field2 <= 0xFFFF` have one; others give `None`
    /// (Neon asserts instead).
    pub fn to_i128(&self) -> Option<i128> {
        if self.field1 > 0x7F || self.field2 > 0xFFFF {
            return None;
        }
        Some(
            (i128::from(self.field1) << 120)
                | (i128::from(self.field2) << 104)
                | (i128::from(self.field3) << 72)
                | (i128::from(self.field4) << 40)
                | (i128::from(self.field5) << 32)
                | i128::from(self.field6),
        )
    }

    /// The inverse of [`Key::to_i128`]: exact for every value it returns.
    pub fn from_i128(x: i128) -> Key {
        Key {
            field1: ((x >> 120) & 0x7F) as u8,
            field2: ((x >> 104) & 0xFFFF) as u32,
            field3: (x >> 72) as u32,
            field4: (x >> 40) as u32,
            field5: (x >> 32) as u8,
            field6: x as u32,
        }
    }
}

impl fmt::Display for Key {
    /// 36 uppercase hex digits, the form used in layer file names.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02X}{:08X}{:08X}{:08X}{:02X}{:08X}",
            self.field1, self.field2, self.field3, self.field4, self.field5, self.field6
        )
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Key {
    type Err = ParseError;

    /// Exactly 36 hex digits (either case); anything else is an error.
    fn from_str(s: &str) -> Result<Key, ParseError> {
        let b = parse_hex_exact::<KEY_SIZE>("key", s)?;
        Ok(Key::from_array(&b))
    }
}

/// A half-open range of keys, `start..end`. Serializes as `start ‖ end`, like `Range<Key>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct KeyRange {
    /// First key in the range.
    pub start: Key,
    /// First key after the range (exclusive).
    pub end: Key,
}

impl KeyRange {
    /// The range `start..end`.
    pub fn new(start: Key, end: Key) -> KeyRange {
        KeyRange { start, end }
    }

    /// True if `key` is in `start..end`.
    pub fn contains(&self, key: &Key) -> bool {
        self.start <= *key && *key < self.end
    }

    /// True if the range holds no key (`start >= end`).
    pub fn is_empty(&self) -> bool {
        self.start >= self.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_and_text_agree() {
        let k: Key = "000000067F000032BE0000400000000020B6".parse().unwrap();
        assert_eq!(k.field2, 0x67F);
        assert_eq!(k.field3, 0x32BE);
        assert_eq!(k.field4, 0x4000);
        assert_eq!(k.field6, 0x20B6);
        assert_eq!(Key::from_array(&k.to_array()), k);
        assert_eq!(k.to_string(), "000000067F000032BE0000400000000020B6");
    }

    #[test]
    fn add_carries_and_wraps() {
        let k = Key {
            field5: 0xFF,
            field6: 0xFFFF_FFFF,
            ..Key::MIN
        };
        assert_eq!(
            k.next(),
            Key {
                field4: 1,
                ..Key::MIN
            }
        );
        assert_eq!(Key::MAX.next(), Key::MIN);
        assert_eq!(Key::MAX.checked_next(), None);
    }

    #[test]
    fn rejects_bad_text_without_panicking() {
        for bad in [
            "",
            "00",
            "000000067F000032BE0000400000000020B",
            "000000067F000032BE0000400000000020B6X",
            "+00000067F000032BE0000400000000020B6",
            "00000006\u{e9}F000032BE0000400000000020B",
            "€€€€€€€€€€€€",
        ] {
            assert!(bad.parse::<Key>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn i128_round_trip() {
        let k = Key {
            field1: 0x7F,
            field2: 0xFFFF,
            field3: 0x8000_0001,
            field4: 0xFFFF_FFFF,
            field5: 0x80,
            field6: 0xFFFF_FFFE,
        };
        assert_eq!(Key::from_i128(k.to_i128().unwrap()), k);
        assert_eq!(Key::MAX.to_i128(), None);
    }
}
