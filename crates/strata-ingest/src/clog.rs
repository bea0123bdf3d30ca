//! Transaction status records for CLOG pages (WAL.md section 5.3).
//!
//! A commit or abort names a transaction and its subtransactions; Neon stores one
//! `ClogSetCommitted` / `ClogSetAborted` record per CLOG page those xids fall on, at the key of
//! that page. [`xids_by_page`] does the grouping. Unlike Neon, which starts a new list whenever
//! the page changes (so a revisited page would lose its first list at the same LSN), it merges
//! every xid of one page into one list, keeping record order within the page.
//!
//! Invariant: every xid given appears in exactly one list, under the page `clog_page(xid)`.

use strata_key::{Key, SlruKind};

use crate::datadir::SLRU_PAGES_PER_SEGMENT;

/// Transactions per CLOG page: two status bits each, 8192 bytes.
pub const CLOG_XACTS_PER_PAGE: u32 = 8192 * 4;

/// The CLOG page number (`pageno`) holding `xid`'s status.
pub fn clog_pageno(xid: u32) -> u32 {
    xid / CLOG_XACTS_PER_PAGE
}

/// The key of the CLOG page `pageno` (segment `pageno / 32`, page `pageno % 32`).
pub fn clog_page_key(pageno: u32) -> Key {
    Key::slru_block(
        SlruKind::Clog,
        pageno / SLRU_PAGES_PER_SEGMENT,
        pageno % SLRU_PAGES_PER_SEGMENT,
    )
}

/// The xids `[xid, subxids...]` grouped by CLOG page: `(page key, xids on it)`, pages in
/// first-seen order, xids in record order within a page.
pub fn xids_by_page(xid: u32, subxids: &[u32]) -> Vec<(Key, Vec<u32>)> {
    let mut pages: Vec<(u32, Vec<u32>)> = Vec::new();
    for x in std::iter::once(xid).chain(subxids.iter().copied()) {
        let pageno = clog_pageno(x);
        match pages.iter_mut().find(|(p, _)| *p == pageno) {
            Some((_, xids)) => xids.push(x),
            None => pages.push((pageno, vec![x])),
        }
    }
    pages
        .into_iter()
        .map(|(pageno, xids)| (clog_page_key(pageno), xids))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wal_md_commit_example() {
        // WAL.md 5.3: xid 1081338 with subxacts 1081339..=1081344 and 1081346..=1081351.
        let subxids: Vec<u32> = (1_081_339..=1_081_344)
            .chain(1_081_346..=1_081_351)
            .collect();
        let pages = xids_by_page(1_081_338, &subxids);
        assert_eq!(pages.len(), 2);
        assert_eq!(
            pages[0].0.to_string(),
            "010000000000000001000000010000000000"
        );
        assert_eq!(pages[0].1, (1_081_338..=1_081_343).collect::<Vec<_>>());
        assert_eq!(
            pages[1].0.to_string(),
            "010000000000000001000000010000000001"
        );
        let second: Vec<u32> = std::iter::once(1_081_344)
            .chain(1_081_346..=1_081_351)
            .collect();
        assert_eq!(pages[1].1, second);
    }

    #[test]
    fn a_revisited_page_is_merged() {
        let pages = xids_by_page(5, &[CLOG_XACTS_PER_PAGE + 1, 6]);
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[0], (clog_page_key(0), vec![5, 6]));
        assert_eq!(pages[1], (clog_page_key(1), vec![CLOG_XACTS_PER_PAGE + 1]));
    }

    #[test]
    fn page_keys_cross_segments() {
        assert_eq!(clog_pageno(32 * CLOG_XACTS_PER_PAGE), 32);
        assert_eq!(clog_page_key(32), Key::slru_block(SlruKind::Clog, 1, 0));
        assert_eq!(
            clog_page_key(u32::MAX / CLOG_XACTS_PER_PAGE),
            Key::slru_block(SlruKind::Clog, 4095, 31)
        );
    }
}
