//! [`TenantId`] and [`TimelineId`]: 128-bit ids, stored as 16 raw bytes (FORMAT.md section 3)
//! and written as 32 lowercase hex digits.

use std::fmt;
use std::str::FromStr;

use crate::error::{ParseError, parse_hex_exact};

macro_rules! id_type {
    ($name:ident, $what:literal, $doc:literal) => {
        #[doc = $doc]
        ///
        /// With the `serde` feature it serializes as Neon's ids do: the 16 raw bytes in binary
        /// formats (no length prefix under bincode, FORMAT.md section 3) and the 32-hex-digit
        /// string in human-readable ones (JSON).
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub [u8; 16]);

        impl $name {
            /// The 16 raw bytes, in the order the hex form prints them.
            pub fn as_bytes(&self) -> &[u8; 16] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                for b in self.0 {
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        #[cfg(feature = "serde")]
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                if s.is_human_readable() {
                    s.collect_str(self)
                } else {
                    serde::Serialize::serialize(&self.0, s)
                }
            }
        }

        #[cfg(feature = "serde")]
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                if d.is_human_readable() {
                    let text = <String as serde::Deserialize>::deserialize(d)?;
                    text.parse().map_err(serde::de::Error::custom)
                } else {
                    <[u8; 16] as serde::Deserialize>::deserialize(d).map($name)
                }
            }
        }

        impl FromStr for $name {
            type Err = ParseError;

            /// Exactly 32 hex digits (either case).
            fn from_str(s: &str) -> Result<Self, ParseError> {
                parse_hex_exact::<16>($what, s).map($name)
            }
        }
    };
}

id_type!(
    TenantId,
    "tenant id",
    "The id of a tenant (a Neon project's storage)."
);
id_type!(
    TimelineId,
    "timeline id",
    "The id of a timeline (a branch) within a tenant."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let t: TenantId = "11223344556677889900AABBCCDDEEFF".parse().unwrap();
        assert_eq!(t.0[0], 0x11);
        assert_eq!(t.0[15], 0xFF);
        assert_eq!(t.to_string(), "11223344556677889900aabbccddeeff");
        assert!("1122".parse::<TimelineId>().is_err());
        assert!(
            "g1223344556677889900aabbccddeeff"
                .parse::<TimelineId>()
                .is_err()
        );
    }
}
