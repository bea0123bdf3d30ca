//! `strata verify FILE...`: every invariant of FORMAT.md section 9, through the library's
//! strict verifier (`strata_delta::verify_file`, which also examines files too broken to open).
//!
//! Output: `ok <file>` for a sound file, else one line per finding,
//! `<file>: rule <n> (<Rule>) at <where>: <what>`. Exit code: 2 if any file could not be read or
//! is a directory (reported on stderr), else 1 if any file has a finding, else 0.

use std::io::Write;
use std::path::PathBuf;

use strata_delta::OpenOptions;

use crate::error::{EXIT_INVALID, EXIT_USAGE_OR_IO, Exit};
use crate::ops::reject_directory;

/// Verifies each of `files`, reporting as described in the module docs.
pub async fn run(files: &[PathBuf], out: &mut impl Write) -> anyhow::Result<()> {
    let mut code = 0u8;
    let opts = OpenOptions::default();
    for file in files {
        if let Err(e) = reject_directory(file) {
            out.flush()?;
            eprintln!("strata: error: {e}");
            code = code.max(EXIT_USAGE_OR_IO);
            continue;
        }
        match strata_delta::verify_file(file, &opts).await {
            Ok(findings) if findings.is_empty() => writeln!(out, "ok {}", file.display())?,
            Ok(findings) => {
                for finding in &findings {
                    writeln!(out, "{}: {finding}", file.display())?;
                }
                code = code.max(EXIT_INVALID);
            }
            Err(e @ strata_delta::Error::Io(_)) => {
                out.flush()?;
                eprintln!("strata: error: {}: {e}", file.display());
                code = code.max(EXIT_USAGE_OR_IO);
            }
            Err(e) => {
                writeln!(out, "{}: {e}", file.display())?;
                code = code.max(EXIT_INVALID);
            }
        }
    }
    if code == 0 {
        Ok(())
    } else {
        out.flush()?;
        Err(Exit(code).into())
    }
}
