//! Progress bars for the long-running commands (`demo`, `bench`).
//!
//! Invariant: bars draw to stderr only, and only when stderr is a terminal (indicatif hides its
//! stderr target otherwise), so they never mix into stdout contracts or captured logs.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar counting `len` units of work, labelled `msg`.
pub fn bar(len: u64, msg: &'static str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{msg:>14} [{bar:32.cyan/blue}] {human_pos}/{human_len} ({per_sec}, {elapsed})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(msg);
    bar
}

/// A spinner for work of unknown length, labelled `msg`.
pub fn spinner(msg: &'static str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{msg:>14} {spinner} {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    bar.set_style(style);
    bar.set_message(msg);
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}
