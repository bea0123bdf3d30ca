//! What opening and verifying a layer do with its summary, whatever its kind: the
//! [`LayerSummary`] trait both summaries implement, the reader knobs ([`OpenOptions`]), the
//! checks made on open ([`check_on_open`]) and the summary part of strict verification
//! ([`summary_findings`], [`verify_head`]) with its driver over either kind ([`VerifyLayer`],
//! [`verify_layer`], [`verify_reader`]).
//!
//! Invariants:
//! * Open and verify apply the same rules (items 1–5 of FORMAT.md section 9): open stops at the
//!   first problem ([`SummaryRefusal`]) in the order a reader meets them (file size, expected
//!   summary, magic, version, key range, index pointers, then the kind's LSN rule), verify lists
//!   every one as a [`Finding`].
//! * The expected summary is compared with every field but the index pointers.

use std::fmt::Debug;
use std::future::Future;
use std::path::Path;

use strata_blob::{BlobReadOptions, BlockReader, FileBlockReader};

use crate::check::{IndexPointers, SummaryProblem, check_file_blocks, check_summary_fields};
use crate::check::{MIN_LAYER_BLOCKS, index_in_file, summary_problems};
use crate::format::{LayerKind, SummaryHead};
use crate::verify::{Finding, Findings, Location, Rule, check_block0_padding};

/// Default for [`OpenOptions::max_run_bytes`]: Neon's default `max_vectored_read_bytes`.
pub const DEFAULT_MAX_RUN_BYTES: u64 = 128 * 1024;

/// A layer kind's decoded summary, as the shared open and verify steps see it.
pub trait LayerSummary: Copy + PartialEq + Debug {
    /// The kind whose summary this is.
    const KIND: LayerKind;
    /// The fields both kinds share.
    fn head(&self) -> SummaryHead;
    /// The index pointers.
    fn index(&self) -> IndexPointers;
    /// The same summary with other index pointers.
    fn with_index(self, index: IndexPointers) -> Self;
    /// Item 3's LSN part, which differs by kind: `None` when sound, else what is wrong.
    fn lsn_problem(&self) -> Option<String>;
}

/// Knobs of opening a layer whose summary is `S` (each layer crate names it `OpenOptions`).
#[derive(Debug, Clone)]
pub struct OpenOptions<S> {
    /// The summary the caller expects (Neon's production path builds it from the file name and
    /// the owning timeline). Every field but `index_start_blk` / `index_root_blk` must match,
    /// or opening fails with the kind's `SummaryMismatch` corruption.
    pub expected_summary: Option<S>,
    /// The file's length in bytes, when the caller knows it (set when a layer is opened from a
    /// path); only `verify` uses it, to check that it is a multiple of 8192.
    pub file_len: Option<u64>,
    /// How blob headers are read (default: seed and newer compressed headers, see
    /// [`strata_blob::HeaderMode::Auto`]).
    pub blob: BlobReadOptions,
    /// Largest run of adjacent blobs a vectored read or a scan fetches with one I/O (a single
    /// larger blob is read alone).
    pub max_run_bytes: u64,
}

impl<S> Default for OpenOptions<S> {
    fn default() -> OpenOptions<S> {
        OpenOptions {
            expected_summary: None,
            file_len: None,
            blob: BlobReadOptions::default(),
            max_run_bytes: DEFAULT_MAX_RUN_BYTES,
        }
    }
}

/// Why open refuses a summary: the first problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SummaryRefusal<S> {
    /// A rule both kinds share.
    Problem(SummaryProblem),
    /// The summary differs from the expected one, given here with the file's index pointers.
    Mismatch(S),
    /// The kind's LSN rule is broken.
    Lsn,
}

/// The expected summary (with the file's index pointers) when it differs from `summary`.
pub fn expected_mismatch<S: LayerSummary>(summary: &S, expected: Option<&S>) -> Option<S> {
    let expected = expected?.with_index(summary.index());
    (expected != *summary).then_some(expected)
}

/// The checks made on open, in the order of the module docs.
pub fn check_on_open<S: LayerSummary>(
    summary: &S,
    n_blocks: u32,
    expected: Option<&S>,
) -> Result<(), SummaryRefusal<S>> {
    check_file_blocks(n_blocks).map_err(SummaryRefusal::Problem)?;
    if let Some(expected) = expected_mismatch(summary, expected) {
        return Err(SummaryRefusal::Mismatch(expected));
    }
    check_summary_fields(S::KIND, &summary.head(), summary.index(), n_blocks)
        .map_err(SummaryRefusal::Problem)?;
    match summary.lsn_problem() {
        Some(_) => Err(SummaryRefusal::Lsn),
        None => Ok(()),
    }
}

/// Items 1–5 on the summary as verify findings: every shared problem, the kind's LSN rule and
/// the expected summary (`file_len` is the file's length when known).
pub fn summary_findings<S: LayerSummary>(
    s: &S,
    n_blocks: u32,
    file_len: Option<u64>,
    expected: Option<&S>,
    out: &mut Findings,
) {
    for p in summary_problems(S::KIND, &s.head(), s.index(), n_blocks, file_len) {
        let location = match p.rule() {
            Rule::FileSize => Location::File,
            _ => Location::Summary,
        };
        out.add(p.rule(), location, p.to_string());
    }
    if let Some(msg) = s.lsn_problem() {
        out.add(Rule::NonEmptyRanges, Location::Summary, msg);
    }
    if let Some(expected) = expected_mismatch(s, expected) {
        let msg = format!("summary {s:?} differs from the expected {expected:?}");
        out.add(Rule::MatchesName, Location::Summary, msg);
    }
}

/// The finding of a file whose summary cannot even be read.
pub fn no_summary_finding(n_blocks: u32, out: &mut Findings) {
    let msg = format!("{n_blocks} whole blocks: no summary");
    out.add(Rule::FileSize, Location::File, msg);
}

/// The block-0 part of strict verification: the findings of the summary (or, for `None`, of a
/// summary that cannot be read) and of block 0's padding. True when verify can go on to the
/// index and the value area.
pub async fn verify_head<R: BlockReader, S: LayerSummary>(
    reader: &R,
    summary: Option<&S>,
    file_len: Option<u64>,
    expected: Option<&S>,
    out: &mut Findings,
) -> std::io::Result<bool> {
    let n_blocks = reader.n_blocks();
    let Some(summary) = summary else {
        no_summary_finding(n_blocks, out);
        return Ok(false);
    };
    summary_findings(summary, n_blocks, file_len, expected, out);
    check_block0_padding(reader, S::KIND.summary_len(), out).await?;
    Ok(body_readable(summary, n_blocks))
}

/// A layer kind's reader as the shared verify driver ([`verify_layer`], [`verify_reader`])
/// sees it: how to read its summary, build it unchecked, and check its index and value area.
pub trait VerifyLayer<R: BlockReader>: Sized {
    /// The kind's summary.
    type Summary: LayerSummary;
    /// The kind's error.
    type Error: From<std::io::Error>;
    /// Block 0's summary, or `Ok(None)` when the bytes hold none (a corruption error).
    fn read_summary(reader: &R)
    -> impl Future<Output = Result<Option<Self::Summary>, Self::Error>>;
    /// The layer over `reader` with `summary` as is, without any check.
    fn unchecked(
        reader: R,
        summary: Self::Summary,
        path: Option<&Path>,
        opts: &OpenOptions<Self::Summary>,
    ) -> Self;
    /// The block source, the summary and the file's length (when known).
    fn parts(&self) -> (&R, &Self::Summary, Option<u64>);
    /// The checks after block 0 (the index and the value area), adding findings to `out`.
    fn check_body(&self, out: &mut Findings) -> impl Future<Output = Result<(), Self::Error>>;
}

/// `verify` of an open layer: every rule, block 0 first.
pub async fn verify_layer<R: BlockReader, L: VerifyLayer<R>>(
    layer: &L,
) -> Result<Vec<Finding>, L::Error> {
    let mut out = Findings::new();
    let (reader, summary, file_len) = layer.parts();
    verify_head(reader, Some(summary), file_len, None, &mut out).await?;
    layer.check_body(&mut out).await?;
    Ok(out.into_vec())
}

/// `verify_reader` of either kind: the layer held by `reader`, even one that open refuses;
/// `opts.expected_summary` is checked as item 4, `opts.file_len` as item 1.
pub async fn verify_reader<R: BlockReader, L: VerifyLayer<R>>(
    reader: R,
    path: Option<&Path>,
    opts: &OpenOptions<L::Summary>,
) -> Result<Vec<Finding>, L::Error> {
    let mut out = Findings::new();
    let summary = L::read_summary(&reader).await?;
    let expected = opts.expected_summary.as_ref();
    let readable =
        verify_head(&reader, summary.as_ref(), opts.file_len, expected, &mut out).await?;
    if let Some(summary) = summary.filter(|_| readable) {
        L::unchecked(reader, summary, path, opts)
            .check_body(&mut out)
            .await?;
    }
    Ok(out.into_vec())
}

/// `Ok(Some(v))`, `Ok(None)` for an error `is_corrupt` accepts, or the error.
pub fn corrupt_as_none<T, E>(
    res: Result<T, E>,
    is_corrupt: impl Fn(&E) -> bool,
) -> Result<Option<T>, E> {
    match res {
        Ok(v) => Ok(Some(v)),
        Err(e) if is_corrupt(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether verify can go on past the summary to the index and the value area: enough blocks,
/// and index pointers inside the file.
pub fn body_readable<S: LayerSummary>(summary: &S, n_blocks: u32) -> bool {
    n_blocks >= MIN_LAYER_BLOCKS && index_in_file(summary.index(), n_blocks)
}

/// The reader and options `verify_file` uses: the file at `path` read directly (no page
/// cache), with `file_len` taken from the file.
pub fn verify_file_source<S: Clone>(
    path: &Path,
    opts: &OpenOptions<S>,
) -> Result<(FileBlockReader, OpenOptions<S>), strata_blob::Error> {
    let reader = FileBlockReader::open(path)?;
    let mut opts = opts.clone();
    opts.file_len = Some(std::fs::metadata(path)?.len());
    Ok((reader, opts))
}

#[cfg(test)]
mod tests {
    use strata_key::{Key, KeyRange, TenantId, TimelineId};

    use super::*;

    /// A summary of the image kind with a settable LSN flag.
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct S {
        head: SummaryHead,
        index: IndexPointers,
        lsn_bad: bool,
    }

    impl LayerSummary for S {
        const KIND: LayerKind = LayerKind::Image;
        fn head(&self) -> SummaryHead {
            self.head
        }
        fn index(&self) -> IndexPointers {
            self.index
        }
        fn with_index(self, index: IndexPointers) -> S {
            S { index, ..self }
        }
        fn lsn_problem(&self) -> Option<String> {
            self.lsn_bad.then(|| "bad lsn".to_owned())
        }
    }

    fn sound() -> S {
        S {
            head: SummaryHead::new(
                LayerKind::Image,
                TenantId([1; 16]),
                TimelineId([2; 16]),
                KeyRange::new(Key::MIN, Key::MAX),
            ),
            index: IndexPointers {
                index_start_blk: 2,
                index_root_blk: 0,
            },
            lsn_bad: false,
        }
    }

    #[test]
    fn open_and_verify_agree() {
        let s = sound();
        assert_eq!(check_on_open(&s, 3, None), Ok(()));
        let mut out = Findings::new();
        summary_findings(&s, 3, Some(3 * 8192), None, &mut out);
        assert!(out.into_vec().is_empty());
        assert!(body_readable(&s, 3) && !body_readable(&s, 2));

        let bad = S { lsn_bad: true, ..s };
        assert_eq!(check_on_open(&bad, 3, None), Err(SummaryRefusal::Lsn));
        assert_eq!(
            check_on_open(&s, 2, None),
            Err(SummaryRefusal::Problem(SummaryProblem::FileTooShort {
                n_blocks: 2
            }))
        );
        let mut out = Findings::new();
        summary_findings(&bad, 3, None, None, &mut out);
        let found = out.into_vec();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rule, Rule::NonEmptyRanges);
    }

    #[test]
    fn expected_summary_ignores_the_index() {
        let s = sound();
        let other_index = s.with_index(IndexPointers {
            index_start_blk: 9,
            index_root_blk: 9,
        });
        assert_eq!(expected_mismatch(&s, Some(&other_index)), None);
        let mut other = s;
        other.head.tenant_id = TenantId([7; 16]);
        assert_eq!(
            check_on_open(&s, 3, Some(&other)),
            Err(SummaryRefusal::Mismatch(other))
        );
        let mut out = Findings::new();
        summary_findings(&s, 3, None, Some(&other), &mut out);
        assert_eq!(out.into_vec()[0].rule, Rule::MatchesName);
    }
}
