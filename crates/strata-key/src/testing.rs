//! Test support, not API: hidden from the docs (`#[doc(hidden)]`), with no stability promise;
//! it may change or go in any release.
//!
//! The oracle of the `key_name_parse` fuzz target (`fuzz/fuzz_targets/key_name_parse.rs`),
//! shared with this crate's property tests so that whatever the fuzzer explores also runs under
//! `cargo test`.
//!
//! Invariant checked: every text parser of the crate, given any string, returns a typed error or
//! a value whose text form parses back to the same value. For the fixed-width forms (keys, ids,
//! 16-digit LSNs, generations, layer and temp names) the text form also equals the input up to
//! ASCII case. The functions here panic only when that invariant breaks, which is the bug the
//! fuzzer looks for.

use std::fmt::{Debug, Display};
use std::str::FromStr;

use crate::error::ParseError;
use crate::id::{TenantId, TimelineId};
use crate::key::Key;
use crate::lsn::Lsn;
use crate::name::{
    DeltaLayerName, Generation, ImageLayerName, LayerName, NameKind, TempLayerName, TempRandom,
    classify, is_temp_file_name,
};

/// Runs [`check_text`] on `data` if it is UTF-8, else on its lossy conversion (so the
/// replacement character gets exercised too). Returns what [`check_text`] returns.
///
/// # Panics
///
/// When a parser breaks the module's invariant.
pub fn check_bytes(data: &[u8]) -> usize {
    match std::str::from_utf8(data) {
        Ok(text) => check_text(text),
        Err(_) => check_text(&String::from_utf8_lossy(data)),
    }
}

/// Runs every parser of the crate on `text` and checks the round trip of each value it accepts.
/// Returns how many parsers accepted `text`.
///
/// # Panics
///
/// When a parser breaks the module's invariant.
pub fn check_text(text: &str) -> usize {
    let mut n_accepted = 0;
    let mut accept = |ok: bool| n_accepted += usize::from(ok);

    accept(fixed_width::<Key>(text, |k| {
        assert_eq!(Key::from_array(&k.to_array()), *k, "bytes of {k}");
        if let Some(x) = k.to_i128() {
            assert_eq!(Key::from_i128(x), *k, "i128 of {k}");
        }
    }));
    accept(fixed_width::<TenantId>(text, |_| {}));
    accept(fixed_width::<TimelineId>(text, |_| {}));
    accept(fixed_width::<Generation>(text, |_| {}));
    accept(fixed_width::<LayerName>(text, |name| {
        assert!(!is_temp_file_name(text), "{text:?} parsed as a final name");
        let delta = DeltaLayerName::parse(text).ok().map(LayerName::Delta);
        let image = ImageLayerName::parse(text).ok().map(LayerName::Image);
        assert_eq!(
            delta.or(image),
            Some(*name),
            "typed parsers disagree on {text:?}"
        );
        assert!(!name.key_range().is_empty() && !name.lsn_range().is_empty());
    }));
    accept(fixed_width::<TempLayerName>(text, |_| {}));
    accept(fixed_width::<NameKind>(text, |kind| match kind {
        NameKind::Layer(name) => assert_eq!(LayerName::parse(text).ok(), Some(*name)),
        NameKind::Temp(temp) => assert_eq!(TempLayerName::parse(text).ok(), Some(*temp)),
    }));
    accept(check(classify(text), |kind| {
        assert_eq!(
            text.parse::<NameKind>().ok(),
            Some(*kind),
            "classify({text:?})"
        );
    }));
    accept(check(TempRandom::new(text), |random| {
        assert_eq!(random.to_string(), text);
    }));
    accept(check(Lsn::from_hex16(text), |lsn| {
        assert!(
            lsn.to_hex16().eq_ignore_ascii_case(text),
            "{text:?} -> {lsn:?}"
        );
    }));
    accept(check(Lsn::from_hex(text), |lsn| {
        assert_eq!(Lsn::from_hex(&lsn.to_hex16()).ok(), Some(*lsn));
    }));
    accept(check(text.parse::<Lsn>(), |lsn| {
        assert_eq!(lsn.to_string().parse::<Lsn>().ok(), Some(*lsn));
    }));
    n_accepted
}

/// Parses `text` as `T`; if that succeeds, checks that the value displays as `text` up to ASCII
/// case and parses back to itself, then runs `more` on it.
fn fixed_width<T>(text: &str, more: impl FnOnce(&T)) -> bool
where
    T: FromStr<Err = ParseError> + Display + PartialEq + Debug,
{
    check(text.parse::<T>(), |value| {
        let shown = value.to_string();
        assert!(
            shown.eq_ignore_ascii_case(text),
            "{text:?} parsed to {value:?}, which displays as {shown:?}"
        );
        assert_eq!(
            shown.parse::<T>().as_ref(),
            Ok(value),
            "reparse of {shown:?}"
        );
        more(value);
    })
}

/// Runs `on_ok` on a parsed value; true if there was one.
fn check<T>(parsed: Result<T, ParseError>, on_ok: impl FnOnce(&T)) -> bool {
    match parsed {
        Ok(value) => {
            on_ok(&value);
            true
        }
        Err(_) => false,
    }
}
