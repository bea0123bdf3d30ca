//! `strata name [NAME...]`: parses layer file names (placeholder until strata-key's name module
//! lands).

use std::io::Write;

/// Parses each name.
pub fn run(_names: &[String], _out: &mut impl Write) -> anyhow::Result<()> {
    anyhow::bail!("not available yet")
}
