//! Layer file names (FORMAT.md section 10): [`LayerName`] (a delta or image layer's final name,
//! with an optional [`GenerationSuffix`]), [`TempLayerName`] (the name a writer uses until it
//! renames the file) and [`classify`], which tells them apart.
//!
//! Forms (keys are 36 hex digits, section 5.1; LSNs 16 hex digits, the raw u64):
//!
//! ```text
//! delta        {key_start}-{key_end}__{lsn_start}-{lsn_end}[gen]
//! image        {key_start}-{key_end}__{lsn}[gen]
//! delta temp   {key_start}-XXX__{lsn_start}-{lsn_end}.{8 x [A-Za-z0-9]}.___temp
//! image temp   {image name without gen}.{8 x [A-Za-z0-9]}.___temp
//! gen          -v1-{generation:08x}   local file of newer Neon versions
//!              -{generation:08x}      remote (S3) object name
//! ```
//!
//! # How strict we are
//!
//! Parsing accepts every name Neon writes. [`Display`](fmt::Display) gives the canonical name:
//! keys and LSNs in uppercase hex, the generation in lowercase hex. Because every field has
//! exactly one length, a parsed name differs from its canonical form at most in the case of its
//! hex digits. Relative to Neon's own parser:
//!
//! * Accepted: lowercase (or mixed-case) hex anywhere, as Neon does. The canonical form is
//!   uppercase for keys and LSNs, lowercase for the generation.
//! * Rejected, though Neon accepts them: LSNs that are not exactly 16 digits (Neon takes any
//!   length that fits a u64), a leading `+` in any field (Rust's `from_str_radix` allows one),
//!   and anything after the end LSN other than a generation suffix (Neon's check for extra
//!   parts looks at the key part twice and never at the LSN part). Needing 16 digits is also
//!   what tells `{lsn_start}-{lsn_end}` (a delta) from `{lsn}-{generation}` (a remote image).
//! * Rejected, though Neon does not check it: an image name with an empty key range, and an
//!   image at LSN `FFFFFFFFFFFFFFFF`, whose range `lsn..lsn+1` does not fit (Neon's addition
//!   would panic).
//! * Temp names are parsed as strictly as final names. Neon treats *any* name ending in
//!   `___temp` as a temp file to delete; [`is_temp_file_name`] is that lenient test.
//! * Non-ASCII input is rejected before anything else.
//!
//! Invariant: for every string `s`, parsing either returns a typed [`ParseError`] or a value `v`
//! such that `v.to_string()` equals `s` ignoring ASCII case and parses back to `v`.
//! [`crate::testing::check_text`] checks exactly that.

#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

use std::fmt;
use std::str::FromStr;

use crate::error::{ParseError, parse_hex_exact};
use crate::key::{Key, KeyRange};
use crate::lsn::{Lsn, LsnRange};

/// Suffix of temporary layer file names (FORMAT.md sections 1 and 10): three underscores.
pub const TEMP_FILE_SUFFIX: &str = "___temp";
/// Number of random alphanumerics in a temp file name.
pub const TEMP_RANDOM_LEN: usize = 8;
/// Stands in for the end key in a delta layer's temp name, which is not known yet.
pub const TEMP_KEY_END: &str = "XXX";

/// Separator of a local generation suffix (`-v1-{generation:08x}`).
const LOCAL_GENERATION_SEP: &str = "-v1-";
/// Hex digits of a generation.
const GENERATION_DIGITS: usize = 8;

/// A tenant's attachment generation, as it appears in layer names of newer Neon versions.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Generation(pub u32);

/// A generation suffix after a layer name, in one of the two forms Neon writes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum GenerationSuffix {
    /// `-v1-{generation:08x}`: the local file name of newer Neon versions.
    Local(Generation),
    /// `-{generation:08x}`: the remote (S3) object name.
    Remote(Generation),
}

/// The final name of a delta layer file.
///
/// A value built by hand with an empty key or LSN range displays as a name that does not parse.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct DeltaLayerName {
    /// The keys the layer covers (end exclusive).
    pub key_range: KeyRange,
    /// The LSNs the layer covers (end exclusive).
    pub lsn_range: LsnRange,
    /// The generation suffix, if the name has one.
    pub generation: Option<GenerationSuffix>,
}

/// The final name of an image layer file.
///
/// A value built by hand with an empty key range or `lsn == Lsn::MAX` displays as a name that
/// does not parse.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ImageLayerName {
    /// The keys the layer covers (end exclusive).
    pub key_range: KeyRange,
    /// The LSN of the images; the layer's LSN range is `lsn..lsn+1`.
    pub lsn: Lsn,
    /// The generation suffix, if the name has one.
    pub generation: Option<GenerationSuffix>,
}

/// The final name of a layer file: delta or image.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum LayerName {
    /// A delta layer.
    Delta(DeltaLayerName),
    /// An image layer.
    Image(ImageLayerName),
}

/// The random part of a temp name: exactly [`TEMP_RANDOM_LEN`] ASCII alphanumerics.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct TempRandom([u8; TEMP_RANDOM_LEN]);

/// The name of a layer file that is still being written.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum TempLayerName {
    /// `{key_start}-XXX__{lsn_start}-{lsn_end}.{random}.___temp`.
    Delta {
        /// The first key of the layer being written.
        key_start: Key,
        /// The layer's LSN range.
        lsn_range: LsnRange,
        /// The random part.
        random: TempRandom,
    },
    /// `{image name}.{random}.___temp`; the image name has no generation suffix.
    Image {
        /// The final name the file will get.
        name: ImageLayerName,
        /// The random part.
        random: TempRandom,
    },
}

/// What a file name in a timeline directory is, as told by [`classify`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum NameKind {
    /// A finished layer file.
    Layer(LayerName),
    /// A layer file being written (or left behind by a crash).
    Temp(TempLayerName),
}

/// Parses a file name as a final layer name or a temp name (by its `___temp` suffix).
pub fn classify(name: &str) -> Result<NameKind, ParseError> {
    if is_temp_file_name(name) {
        TempLayerName::parse(name).map(NameKind::Temp)
    } else {
        LayerName::parse(name).map(NameKind::Layer)
    }
}

/// Neon's test for a temp file: the name ends in [`TEMP_FILE_SUFFIX`], whatever comes before.
pub fn is_temp_file_name(name: &str) -> bool {
    name.ends_with(TEMP_FILE_SUFFIX)
}

/// The temp name of a delta layer being written:
/// `{key_start}-XXX__{lsn_start:016X}-{lsn_end:016X}.{random8}.___temp`.
///
/// `random8` should be [`TEMP_RANDOM_LEN`] ASCII alphanumerics drawn by the caller; otherwise
/// the name is still formed but does not parse back (see [`TempRandom::new`] to check first).
pub fn delta_temp_name(key_start: Key, lsn_range: LsnRange, random8: &str) -> String {
    format!(
        "{key_start}-{TEMP_KEY_END}__{}-{}.{random8}.{TEMP_FILE_SUFFIX}",
        lsn_range.start.to_hex16(),
        lsn_range.end.to_hex16()
    )
}

impl fmt::Display for Generation {
    /// 8 lowercase hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

impl FromStr for Generation {
    type Err = ParseError;

    /// Exactly 8 hex digits (either case).
    fn from_str(s: &str) -> Result<Generation, ParseError> {
        parse_hex_exact::<4>("generation", s).map(|b| Generation(u32::from_be_bytes(b)))
    }
}

impl GenerationSuffix {
    /// The generation, whatever the form.
    pub fn generation(&self) -> Generation {
        match *self {
            GenerationSuffix::Local(g) | GenerationSuffix::Remote(g) => g,
        }
    }
}

impl fmt::Display for GenerationSuffix {
    /// `-v1-{:08x}` or `-{:08x}`, including the leading `-`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GenerationSuffix::Local(g) => write!(f, "{LOCAL_GENERATION_SEP}{g}"),
            GenerationSuffix::Remote(g) => write!(f, "-{g}"),
        }
    }
}

impl DeltaLayerName {
    /// The name of a delta layer over `key_range` and `lsn_range`, without generation.
    pub fn new(key_range: KeyRange, lsn_range: LsnRange) -> DeltaLayerName {
        DeltaLayerName {
            key_range,
            lsn_range,
            generation: None,
        }
    }

    /// Parses a delta layer name; any other name (image, temp, garbage) is an error.
    pub fn parse(s: &str) -> Result<DeltaLayerName, ParseError> {
        match LayerName::parse(s)? {
            LayerName::Delta(d) => Ok(d),
            LayerName::Image(_) => Err(malformed("delta layer name", s, "an image layer name")),
        }
    }

    /// The same name without its generation suffix.
    pub fn without_generation(&self) -> DeltaLayerName {
        DeltaLayerName {
            generation: None,
            ..*self
        }
    }
}

impl ImageLayerName {
    /// The name of an image layer over `key_range` at `lsn`, without generation.
    pub fn new(key_range: KeyRange, lsn: Lsn) -> ImageLayerName {
        ImageLayerName {
            key_range,
            lsn,
            generation: None,
        }
    }

    /// Parses an image layer name; any other name (delta, temp, garbage) is an error.
    pub fn parse(s: &str) -> Result<ImageLayerName, ParseError> {
        match LayerName::parse(s)? {
            LayerName::Image(i) => Ok(i),
            LayerName::Delta(_) => Err(malformed("image layer name", s, "a delta layer name")),
        }
    }

    /// `lsn..lsn+1`, the layer's LSN range (the end saturates at [`Lsn::MAX`], which a parsed
    /// name never has).
    pub fn lsn_range(&self) -> LsnRange {
        LsnRange::new(self.lsn, Lsn(self.lsn.0.saturating_add(1)))
    }

    /// The same name without its generation suffix.
    pub fn without_generation(&self) -> ImageLayerName {
        ImageLayerName {
            generation: None,
            ..*self
        }
    }
}

impl LayerName {
    /// Parses a final layer name, delta or image, with or without a generation suffix.
    pub fn parse(s: &str) -> Result<LayerName, ParseError> {
        const WHAT: &str = "layer name";
        check_ascii(WHAT, s)?;
        let (base, local) = split_local_generation(s)?;
        let (keys, lsns) = split_keys_lsns(WHAT, base)?;
        let key_range = parse_key_range(WHAT, keys)?;
        let mut parts = lsns.split('-');
        let (first, second, third, fourth) =
            (parts.next(), parts.next(), parts.next(), parts.next());
        let (lsn_texts, remote) = match (first, second, third, fourth) {
            (Some(lsn), None, _, _) => ((lsn, None), None),
            (Some(lsn), Some(g), None, _) if g.len() == GENERATION_DIGITS => ((lsn, None), Some(g)),
            (Some(start), Some(end), None, _) => ((start, Some(end)), None),
            (Some(start), Some(end), Some(g), None) => ((start, Some(end)), Some(g)),
            _ => return Err(malformed(WHAT, s, "too many '-' after the keys")),
        };
        let generation = match (local, remote) {
            (Some(_), Some(_)) => return Err(malformed(WHAT, s, "two generation suffixes")),
            (Some(g), None) => Some(GenerationSuffix::Local(g)),
            (None, Some(text)) => Some(GenerationSuffix::Remote(text.parse()?)),
            (None, None) => None,
        };
        match lsn_texts {
            (lsn, None) => {
                let lsn = parse_image_lsn(lsn)?;
                Ok(LayerName::Image(ImageLayerName {
                    key_range,
                    lsn,
                    generation,
                }))
            }
            (start, Some(end)) => Ok(LayerName::Delta(DeltaLayerName {
                key_range,
                lsn_range: parse_lsn_range(start, end)?,
                generation,
            })),
        }
    }

    /// The keys the layer covers.
    pub fn key_range(&self) -> KeyRange {
        match self {
            LayerName::Delta(d) => d.key_range,
            LayerName::Image(i) => i.key_range,
        }
    }

    /// The LSNs the layer covers (`lsn..lsn+1` for an image).
    pub fn lsn_range(&self) -> LsnRange {
        match self {
            LayerName::Delta(d) => d.lsn_range,
            LayerName::Image(i) => i.lsn_range(),
        }
    }

    /// The generation suffix, if any.
    pub fn generation(&self) -> Option<GenerationSuffix> {
        match self {
            LayerName::Delta(d) => d.generation,
            LayerName::Image(i) => i.generation,
        }
    }

    /// True for a delta layer.
    pub fn is_delta(&self) -> bool {
        matches!(self, LayerName::Delta(_))
    }
}

impl TempRandom {
    /// Checks that `s` is exactly [`TEMP_RANDOM_LEN`] ASCII alphanumerics.
    pub fn new(s: &str) -> Result<TempRandom, ParseError> {
        const WHAT: &str = "temp name random part";
        let bytes: [u8; TEMP_RANDOM_LEN] =
            s.as_bytes().try_into().map_err(|_| ParseError::Length {
                what: WHAT,
                expected: TEMP_RANDOM_LEN,
                got: s.len(),
            })?;
        if !bytes.iter().all(u8::is_ascii_alphanumeric) {
            return Err(ParseError::InvalidChar {
                what: WHAT,
                text: s.to_owned(),
            });
        }
        Ok(TempRandom(bytes))
    }

    /// The random part drawn from `bytes` (any values, from a random source): each byte picks
    /// one of the 62 ASCII alphanumerics, so the result is always valid.
    pub fn from_random_bytes(bytes: [u8; TEMP_RANDOM_LEN]) -> TempRandom {
        const ALPHANUMERICS: &[u8; 62] =
            b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        TempRandom(bytes.map(|b| {
            let i = usize::from(b) % ALPHANUMERICS.len();
            ALPHANUMERICS.get(i).copied().unwrap_or(b'0')
        }))
    }

    /// The characters, as bytes.
    pub fn as_bytes(&self) -> &[u8; TEMP_RANDOM_LEN] {
        &self.0
    }
}

impl fmt::Display for TempRandom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0
            .iter()
            .try_for_each(|&b| fmt::Write::write_char(f, char::from(b)))
    }
}

impl TempLayerName {
    /// Parses a temp name, delta or image form.
    pub fn parse(s: &str) -> Result<TempLayerName, ParseError> {
        const WHAT: &str = "temp layer name";
        check_ascii(WHAT, s)?;
        let (base, random) = s
            .strip_suffix(TEMP_FILE_SUFFIX)
            .and_then(|rest| rest.strip_suffix('.'))
            .and_then(|rest| rest.rsplit_once('.'))
            .ok_or_else(|| malformed(WHAT, s, "expected {name}.{random}.___temp"))?;
        let random = TempRandom::new(random)?;
        let (keys, lsns) = split_keys_lsns(WHAT, base)?;
        let (key_start, key_end) = split_keys(WHAT, keys)?;
        if key_end == TEMP_KEY_END {
            let key_start = key_start.parse()?;
            let (start, end) = lsns
                .split_once('-')
                .ok_or_else(|| malformed(WHAT, s, "expected two LSNs"))?;
            Ok(TempLayerName::Delta {
                key_start,
                lsn_range: parse_lsn_range(start, end)?,
                random,
            })
        } else {
            let key_range = parse_key_range(WHAT, keys)?;
            let lsn = parse_image_lsn(lsns)?;
            Ok(TempLayerName::Image {
                name: ImageLayerName::new(key_range, lsn),
                random,
            })
        }
    }

    /// The random part.
    pub fn random(&self) -> TempRandom {
        match *self {
            TempLayerName::Delta { random, .. } | TempLayerName::Image { random, .. } => random,
        }
    }
}

impl fmt::Display for DeltaLayerName {
    /// The canonical name: uppercase hex keys and 16-digit LSNs, then the generation suffix.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}__{:016X}-{:016X}",
            self.key_range.start, self.key_range.end, self.lsn_range.start.0, self.lsn_range.end.0
        )?;
        fmt_generation(f, self.generation)
    }
}

impl fmt::Display for ImageLayerName {
    /// The canonical name: uppercase hex keys and a 16-digit LSN, then the generation suffix.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}__{:016X}",
            self.key_range.start, self.key_range.end, self.lsn.0
        )?;
        fmt_generation(f, self.generation)
    }
}

impl fmt::Display for LayerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayerName::Delta(d) => d.fmt(f),
            LayerName::Image(i) => i.fmt(f),
        }
    }
}

impl fmt::Display for TempLayerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TempLayerName::Delta {
                key_start,
                lsn_range,
                random,
            } => f.write_str(&delta_temp_name(
                *key_start,
                *lsn_range,
                &random.to_string(),
            )),
            TempLayerName::Image { name, random } => {
                write!(
                    f,
                    "{}.{random}.{TEMP_FILE_SUFFIX}",
                    name.without_generation()
                )
            }
        }
    }
}

impl fmt::Display for NameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameKind::Layer(l) => l.fmt(f),
            NameKind::Temp(t) => t.fmt(f),
        }
    }
}

impl FromStr for DeltaLayerName {
    type Err = ParseError;

    /// See [`DeltaLayerName::parse`].
    fn from_str(s: &str) -> Result<Self, ParseError> {
        DeltaLayerName::parse(s)
    }
}

impl FromStr for ImageLayerName {
    type Err = ParseError;

    /// See [`ImageLayerName::parse`].
    fn from_str(s: &str) -> Result<Self, ParseError> {
        ImageLayerName::parse(s)
    }
}

impl FromStr for LayerName {
    type Err = ParseError;

    /// See [`LayerName::parse`].
    fn from_str(s: &str) -> Result<Self, ParseError> {
        LayerName::parse(s)
    }
}

impl FromStr for TempLayerName {
    type Err = ParseError;

    /// See [`TempLayerName::parse`].
    fn from_str(s: &str) -> Result<Self, ParseError> {
        TempLayerName::parse(s)
    }
}

impl FromStr for NameKind {
    type Err = ParseError;

    /// See [`classify`].
    fn from_str(s: &str) -> Result<Self, ParseError> {
        classify(s)
    }
}

impl From<DeltaLayerName> for LayerName {
    fn from(d: DeltaLayerName) -> LayerName {
        LayerName::Delta(d)
    }
}

impl From<ImageLayerName> for LayerName {
    fn from(i: ImageLayerName) -> LayerName {
        LayerName::Image(i)
    }
}

fn fmt_generation(f: &mut fmt::Formatter<'_>, g: Option<GenerationSuffix>) -> fmt::Result {
    match g {
        Some(g) => fmt::Display::fmt(&g, f),
        None => Ok(()),
    }
}

fn malformed(what: &'static str, text: &str, reason: &'static str) -> ParseError {
    ParseError::Malformed {
        what,
        text: text.to_owned(),
        reason,
    }
}

fn check_ascii(what: &'static str, s: &str) -> Result<(), ParseError> {
    if s.is_ascii() {
        Ok(())
    } else {
        Err(ParseError::InvalidChar {
            what,
            text: s.to_owned(),
        })
    }
}

/// Splits off a `-v1-{generation}` suffix. Any `-v1-` is taken as one (`v` is not a hex digit,
/// so it cannot occur in the rest of a name), and what follows must be a generation.
fn split_local_generation(s: &str) -> Result<(&str, Option<Generation>), ParseError> {
    match s.rsplit_once(LOCAL_GENERATION_SEP) {
        Some((base, generation)) => Ok((base, Some(generation.parse()?))),
        None => Ok((s, None)),
    }
}

/// Splits `{keys}__{lsns}`; a second `__` is an error.
fn split_keys_lsns<'a>(what: &'static str, s: &'a str) -> Result<(&'a str, &'a str), ParseError> {
    let (keys, lsns) = s
        .split_once("__")
        .ok_or_else(|| malformed(what, s, "no '__' between keys and LSNs"))?;
    if lsns.contains("__") {
        return Err(malformed(what, s, "more than one '__'"));
    }
    Ok((keys, lsns))
}

/// Splits `{key_start}-{key_end}`; a second `-` is an error.
fn split_keys<'a>(what: &'static str, keys: &'a str) -> Result<(&'a str, &'a str), ParseError> {
    let (start, end) = keys
        .split_once('-')
        .ok_or_else(|| malformed(what, keys, "no '-' between the keys"))?;
    if end.contains('-') {
        return Err(malformed(what, keys, "more than two keys"));
    }
    Ok((start, end))
}

/// Parses `{key_start}-{key_end}` with `key_start < key_end`.
fn parse_key_range(what: &'static str, keys: &str) -> Result<KeyRange, ParseError> {
    let (start_text, end_text) = split_keys(what, keys)?;
    let range = KeyRange::new(start_text.parse()?, end_text.parse()?);
    if range.is_empty() {
        return Err(ParseError::EmptyRange {
            what: "key range",
            start: start_text.to_owned(),
            end: end_text.to_owned(),
        });
    }
    Ok(range)
}

/// Parses two 16-digit LSNs with `start < end`.
fn parse_lsn_range(start_text: &str, end_text: &str) -> Result<LsnRange, ParseError> {
    let range = LsnRange::new(Lsn::from_hex16(start_text)?, Lsn::from_hex16(end_text)?);
    if range.is_empty() {
        return Err(ParseError::EmptyRange {
            what: "lsn range",
            start: start_text.to_owned(),
            end: end_text.to_owned(),
        });
    }
    Ok(range)
}

/// Parses an image layer's 16-digit LSN; [`Lsn::MAX`] has no `lsn..lsn+1` and is rejected.
fn parse_image_lsn(text: &str) -> Result<Lsn, ParseError> {
    let lsn = Lsn::from_hex16(text)?;
    if lsn == Lsn::MAX {
        return Err(ParseError::Overflow {
            what: "image layer lsn",
            text: text.to_owned(),
        });
    }
    Ok(lsn)
}

const _: () = assert!(GENERATION_DIGITS == 2 * std::mem::size_of::<u32>());
