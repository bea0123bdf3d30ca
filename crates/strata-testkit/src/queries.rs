//! `CASE.queries`: reconstruct-data queries and the lines Neon's reader printed for them.

use anyhow::{Context, bail};
use strata_key::{Key, Lsn};

use crate::golden::{golden_dir, read_to_string};

/// One `Q` line: its inputs, and the whole line as expected output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The key asked for.
    pub key: Key,
    /// Start of the LSN range (inclusive).
    pub lsn_start: Lsn,
    /// End of the LSN range (exclusive).
    pub lsn_end: Lsn,
    /// The expected full line.
    pub line: String,
}

/// Loads `CASE.queries` from the golden directory.
///
/// # Panics
/// If the file is missing or malformed.
pub fn load_queries(case: &str) -> Vec<Query> {
    let path = golden_dir().join(format!("{case}.queries"));
    parse_queries(&read_to_string(&path))
        .unwrap_or_else(|e| panic!("parsing {}: {e:#}", path.display()))
}

/// Parses the `Q` lines of a queries file (other lines are ignored). Only the first four
/// fields are needed; the line is kept whole.
pub fn parse_queries(text: &str) -> anyhow::Result<Vec<Query>> {
    let mut out = Vec::new();
    for (line_idx, line) in text.lines().enumerate() {
        if !line.starts_with("Q ") {
            continue;
        }
        let ctx = || format!("line {}: {line:?}", line_idx + 1);
        let f: Vec<&str> = line.split(' ').collect();
        if f.len() < 4 {
            bail!("line {}: too few fields", line_idx + 1);
        }
        out.push(Query {
            key: f[1].parse().with_context(ctx)?,
            lsn_start: Lsn::from_hex(f[2]).with_context(ctx)?,
            lsn_end: Lsn::from_hex(f[3]).with_context(ctx)?,
            line: line.to_owned(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_has_200_queries() {
        for case in crate::golden_cases() {
            let q = load_queries(&case);
            assert_eq!(q.len(), 200, "{case}");
            assert!(q.iter().all(|q| q.line.contains(" img=")), "{case}");
        }
    }
}
