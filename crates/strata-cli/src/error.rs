//! How a failed command maps to an exit code: 1 when a file is invalid or a check failed, 2 for
//! usage and I/O problems. Commands return `anyhow::Error`; the library error inside it decides.
//!
//! Invariant: an I/O error of the operating system is never reported as "invalid file" (1), and a
//! corruption the library detected is never reported as an I/O problem (2).

use std::fmt;
use std::io;

/// Exit code: a file is invalid or a check failed.
pub const EXIT_INVALID: u8 = 1;
/// Exit code: a usage or I/O problem.
pub const EXIT_USAGE_OR_IO: u8 = 2;

/// The command has already printed what went wrong; exit with this code and print nothing more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit(pub u8);

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "exit code {}", self.0)
    }
}

impl std::error::Error for Exit {}

/// A check failed (for example a benchmark read returned the wrong history): exit code 1.
#[derive(Debug, thiserror::Error)]
#[error("check failed: {0}")]
pub struct CheckFailed(pub String);

/// The exit code for `e`: decided by the innermost error of a known kind.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if let Some(Exit(code)) = cause.downcast_ref::<Exit>() {
            return *code;
        }
        if cause.is::<CheckFailed>() {
            return EXIT_INVALID;
        }
        if let Some(e) = cause.downcast_ref::<strata_delta::Error>() {
            return match e {
                strata_delta::Error::Io(_) => EXIT_USAGE_OR_IO,
                _ => EXIT_INVALID,
            };
        }
        if let Some(e) = cause.downcast_ref::<strata_image::Error>() {
            return match e {
                strata_image::Error::Io(_) => EXIT_USAGE_OR_IO,
                _ => EXIT_INVALID,
            };
        }
        if let Some(e) = cause.downcast_ref::<strata_blob::Error>() {
            return match e {
                strata_blob::Error::Io(_) => EXIT_USAGE_OR_IO,
                _ => EXIT_INVALID,
            };
        }
        if cause.is::<io::Error>() {
            return EXIT_USAGE_OR_IO;
        }
    }
    EXIT_USAGE_OR_IO
}

/// `e` and its causes as one line, `outer: inner: ...`, like `{e:#}`, but without a cause whose
/// text the line already holds (a library error that prints its source in its own message
/// would otherwise say it twice: `corrupt layer x: 0 blocks: 0 blocks`).
pub fn message(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// True if `e` is a write to a closed pipe (`strata dump FILE | head`), wherever the I/O error
/// sits: on its own, inside the library's `Io` variant (which is transparent, so it is not a
/// separate link of the chain), or inside a JSON writer's error.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    let broken = |kind: Option<io::ErrorKind>| kind == Some(io::ErrorKind::BrokenPipe);
    e.chain().any(|c| {
        if let Some(io) = c.downcast_ref::<io::Error>() {
            return broken(Some(io.kind()));
        }
        if let Some(strata_delta::Error::Io(io)) = c.downcast_ref::<strata_delta::Error>() {
            return broken(Some(io.kind()));
        }
        if let Some(json) = c.downcast_ref::<serde_json::Error>() {
            return broken(json.io_error_kind());
        }
        false
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_is_2_and_check_failed_is_1() {
        let io = anyhow::Error::from(io::Error::from(io::ErrorKind::NotFound)).context("opening x");
        assert_eq!(exit_code(&io), EXIT_USAGE_OR_IO);
        let check = anyhow::Error::from(CheckFailed("bad".into())).context("lookup");
        assert_eq!(exit_code(&check), EXIT_INVALID);
        assert_eq!(exit_code(&anyhow::Error::from(Exit(1))), 1);
        assert_eq!(exit_code(&anyhow::anyhow!("usage")), EXIT_USAGE_OR_IO);
    }

    #[derive(Debug, thiserror::Error)]
    #[error("corrupt layer f: {0}")]
    struct Repeats(#[source] io::Error);

    #[test]
    fn a_message_says_each_cause_once() {
        let inner = io::Error::other("file has 0 whole blocks");
        let e = anyhow::Error::from(Repeats(inner)).context("opening f");
        assert_eq!(format!("{e:#}").matches("0 whole blocks").count(), 2);
        assert_eq!(
            message(&e),
            "opening f: corrupt layer f: file has 0 whole blocks"
        );
        let plain = anyhow::Error::from(io::Error::other("gone")).context("reading x");
        assert_eq!(message(&plain), "reading x: gone");
    }

    #[test]
    fn broken_pipe_is_recognised_through_context() {
        let e = anyhow::Error::from(io::Error::from(io::ErrorKind::BrokenPipe)).context("writing");
        assert!(is_broken_pipe(&e));
        let lib = strata_delta::Error::Io(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(is_broken_pipe(&anyhow::Error::from(lib).context("dump")));
        let json = serde_json::Error::io(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(is_broken_pipe(&anyhow::Error::from(json)));
        let other = strata_delta::Error::Io(io::Error::from(io::ErrorKind::NotFound));
        assert!(!is_broken_pipe(&anyhow::Error::from(other)));
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
    }
}
