//! `strata name [NAME...]`: parses layer file names (FORMAT.md section 10) with strata-key's
//! name module, from the arguments or, when none are given, one per line of stdin.
//!
//! Output, one line per valid name on stdout:
//! `<canonical name> <delta|image|temp> <key start> <key end> <lsn start> <lsn end>`, keys in 36
//! and LSNs in 16 hex digits, end bounds exclusive, `-` for what a temp name does not tell (a
//! delta's end key). For an invalid name, `invalid <name> <reason>` on stderr, and exit code 1
//! once every name has been looked at.
//!
//! Invariant: the canonical name is the parsed name formatted back, so for every name Neon
//! produces it is the name as given.

use std::io::{BufRead, Write};
use std::path::Path;

use strata_key::name::{LayerName, NameKind, TempLayerName, classify};
use strata_key::{Key, LsnRange};

use crate::error::{EXIT_INVALID, Exit};

/// Parses `names` (or stdin's lines when empty) and prints one line per name.
pub fn run(names: &[String], out: &mut impl Write) -> anyhow::Result<()> {
    let mut n_invalid = 0usize;
    if names.is_empty() {
        for line in std::io::stdin().lock().lines() {
            let line = line?;
            let name = line.trim_end_matches('\r');
            if !name.is_empty() {
                n_invalid += usize::from(!print_name(name, out)?);
            }
        }
    } else {
        for name in names {
            n_invalid += usize::from(!print_name(name, out)?);
        }
    }
    if n_invalid > 0 {
        out.flush()?;
        return Err(Exit(EXIT_INVALID).into());
    }
    Ok(())
}

/// Prints the line for `arg` (its last path component) and says whether it was valid.
fn print_name(arg: &str, out: &mut impl Write) -> anyhow::Result<bool> {
    let name = Path::new(arg)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(arg);
    match classify(name) {
        Ok(kind) => {
            writeln!(out, "{}", describe(&kind))?;
            Ok(true)
        }
        Err(e) => {
            out.flush()?;
            eprintln!("invalid {arg} {e}");
            Ok(false)
        }
    }
}

/// The output line of a valid name.
fn describe(kind: &NameKind) -> String {
    let (what, key_start, key_end, lsn_range) = match kind {
        NameKind::Layer(LayerName::Delta(d)) => (
            "delta",
            d.key_range.start,
            Some(d.key_range.end),
            d.lsn_range,
        ),
        NameKind::Layer(LayerName::Image(i)) => (
            "image",
            i.key_range.start,
            Some(i.key_range.end),
            i.lsn_range(),
        ),
        NameKind::Temp(TempLayerName::Delta {
            key_start,
            lsn_range,
            ..
        }) => ("temp", *key_start, None, *lsn_range),
        NameKind::Temp(TempLayerName::Image { name, .. }) => (
            "temp",
            name.key_range.start,
            Some(name.key_range.end),
            name.lsn_range(),
        ),
    };
    format!(
        "{kind} {what} {key_start} {} {}",
        key_end.map_or_else(|| "-".to_owned(), |k: Key| k.to_string()),
        lsn_fields(lsn_range)
    )
}

fn lsn_fields(r: LsnRange) -> String {
    format!("{} {}", r.start.to_hex16(), r.end.to_hex16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_an_image_with_its_one_lsn_range() {
        let name = "000000067F000032BE0000400000000020B6-000000067F000032BE0000400000000020B7__0000000001696070";
        let kind = classify(name).expect("valid image name");
        assert_eq!(
            describe(&kind),
            format!(
                "{name} image 000000067F000032BE0000400000000020B6 000000067F000032BE0000400000000020B7 0000000001696070 0000000001696071"
            )
        );
    }

    #[test]
    fn a_directory_part_is_ignored() {
        let mut out = Vec::new();
        let name = "000000000000000000000000000000000000-FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF__0000000001696070-00000000016960E9";
        let valid = print_name(&format!("some/dir/{name}"), &mut out).expect("write");
        assert!(valid);
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.starts_with(&format!("{name} delta ")), "{text}");
    }
}
