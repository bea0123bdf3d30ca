//! `strata verify FILE...`: every invariant of FORMAT.md section 9 (section 11 for image
//! layers), through the library's strict verifier of each file's kind, chosen by block 0's magic
//! (`strata_delta::verify_file` or `strata_image::verify_file`, which also examine files too
//! broken to open).
//!
//! Output: `ok <file>` for a sound file, else one line per finding,
//! `<file>: rule <n> (<Rule>) at <where>: <what>`. Exit code: 2 if any file could not be read or
//! is a directory (reported on stderr), else 1 if any file has a finding, else 0.

use std::fmt::Display;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{EXIT_INVALID, EXIT_USAGE_OR_IO, Exit};
use crate::ops::reject_directory;

/// What verifying one file gave, whatever its kind.
enum Checked {
    /// The findings, printed (none: a sound file).
    Findings(Vec<String>),
    /// The file could not be read.
    Io(String),
    /// Another error (the file is invalid).
    Invalid(String),
}

/// Sorts a verifier's result into [`Checked`].
fn sort<F: Display, E: Display>(res: Result<Vec<F>, E>, is_io: impl Fn(&E) -> bool) -> Checked {
    match res {
        Ok(findings) => Checked::Findings(findings.iter().map(ToString::to_string).collect()),
        Err(e) if is_io(&e) => Checked::Io(e.to_string()),
        Err(e) => Checked::Invalid(e.to_string()),
    }
}

/// Verifies `file` with its kind's verifier.
async fn check(file: &Path) -> Checked {
    if crate::image::is_image(file) {
        let res = strata_image::verify_file(file, &strata_image::OpenOptions::default()).await;
        sort(res, |e| matches!(e, strata_image::Error::Io(_)))
    } else {
        let res = strata_delta::verify_file(file, &strata_delta::OpenOptions::default()).await;
        sort(res, |e| matches!(e, strata_delta::Error::Io(_)))
    }
}

/// Verifies each of `files`, reporting as described in the module docs.
pub async fn run(files: &[PathBuf], out: &mut impl Write) -> anyhow::Result<()> {
    let mut code = 0u8;
    for file in files {
        if let Err(e) = reject_directory(file) {
            out.flush()?;
            eprintln!("strata: error: {e}");
            code = code.max(EXIT_USAGE_OR_IO);
            continue;
        }
        match check(file).await {
            Checked::Findings(findings) if findings.is_empty() => {
                writeln!(out, "ok {}", file.display())?;
            }
            Checked::Findings(findings) => {
                for finding in &findings {
                    writeln!(out, "{}: {finding}", file.display())?;
                }
                code = code.max(EXIT_INVALID);
            }
            Checked::Io(e) => {
                out.flush()?;
                eprintln!("strata: error: {}: {e}", file.display());
                code = code.max(EXIT_USAGE_OR_IO);
            }
            Checked::Invalid(e) => {
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
