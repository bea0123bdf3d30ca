//! The reader decodes every golden image layer exactly as Neon's reader did: the manifest
//! (summary, layout, every entry) and the 200 queries of each case, through a page cache;
//! point, vectored and full reads agree with the manifest, and `verify` finds nothing.

use anyhow::{Result, ensure};
use strata_blob::FileTable;
use strata_cache::PageCache;
use strata_image::{ImageLayer, OpenOptions, Summary, format_query_line, write_manifest};
use strata_key::{KeyRange, LsnRange};
use strata_layer::ValueReconstructResult;
use strata_testkit::{ImageManifest, image_cases, image_layer_path, load_image_queries};

use crate::support::golden_entries;

async fn open(
    case: &str,
) -> Result<ImageLayer<strata_cache::CachedReader<strata_blob::TableFile>>> {
    let (cache, files) = (PageCache::new(512), FileTable::new(4));
    Ok(ImageLayer::open(&image_layer_path(case), &cache, &files).await?)
}

#[tokio::test]
async fn manifests_match_neons() -> Result<()> {
    for case in image_cases() {
        let layer = open(&case).await?;
        let mut out = Vec::new();
        write_manifest(&layer, &mut out).await?;
        let ours = String::from_utf8(out)?;
        let golden = ImageManifest::load(&case).text;
        if ours != golden {
            let diff = ours.lines().zip(golden.lines()).find(|(a, b)| a != b);
            anyhow::bail!("{case}: manifest differs, first: {diff:?}");
        }
    }
    Ok(())
}

#[tokio::test]
async fn queries_match_neons() -> Result<()> {
    for case in image_cases() {
        let layer = open(&case).await?;
        for q in load_image_queries(&case) {
            let mut img = None;
            let result = layer.get_value_reconstruct_data(q.key, &mut img).await?;
            let range = LsnRange::new(q.lsn_start, q.lsn_end);
            let line = format_query_line(q.key, range, result, img.as_ref().map(|(l, _)| *l));
            ensure!(
                line == q.line,
                "{case}: ours {line:?}\n golden {:?}",
                q.line
            );
            let got = layer.get(q.key).await?;
            ensure!(got.is_some() == (result == ValueReconstructResult::Complete));
            ensure!(
                got == img.map(|(_, i)| i),
                "{case}: get and reconstruct differ"
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn point_vectored_and_full_reads_agree_with_the_manifest() -> Result<()> {
    for case in image_cases() {
        let (m, entries) = golden_entries(&case)?;
        let layer = open(&case).await?;
        assert!(layer.verify().await?.is_empty(), "{case}");
        let mut scanned = Vec::new();
        let n = layer
            .scan(|e, img| {
                scanned.push((e.key, img.to_vec()));
                true
            })
            .await?;
        ensure!(
            n as usize == entries.len() && scanned == entries,
            "{case}: scan"
        );
        ensure!(
            layer.get_vectored(&[m.key_range]).await? == entries,
            "{case}: vectored"
        );
        // Point reads of a sample, and two ranges: a middle slice and one past the end.
        let step = (entries.len() / 50).max(1);
        for (key, img) in entries.iter().step_by(step) {
            ensure!(
                layer.get(*key).await?.as_ref() == Some(img),
                "{case}: get {key}"
            );
        }
        let (a, b) = (entries.len() / 3, 2 * entries.len() / 3 + 1);
        let mid = KeyRange::new(entries[a].0, entries[b.min(entries.len() - 1)].0);
        let past = KeyRange::new(m.key_range.end, m.key_range.end.next());
        let got = layer.get_vectored(&[mid, past]).await?;
        let want: Vec<_> = entries
            .iter()
            .filter(|(k, _)| mid.contains(k))
            .cloned()
            .collect();
        ensure!(got == want, "{case}: vectored slice");
        // Opening with the expected summary (index pointers ignored) works; any other differs.
        let s = *layer.summary();
        let expected = Summary {
            index_start_blk: 0,
            index_root_blk: 0,
            ..s
        };
        let opts = OpenOptions {
            expected_summary: Some(expected),
            ..OpenOptions::default()
        };
        let reader = strata_blob::FileBlockReader::open(image_layer_path(&case))?;
        ImageLayer::from_reader(reader, opts).await?;
        let wrong = Summary {
            lsn: strata_key::Lsn(s.lsn.0 - 1),
            ..expected
        };
        let opts = OpenOptions {
            expected_summary: Some(wrong),
            ..OpenOptions::default()
        };
        let reader = strata_blob::FileBlockReader::open(image_layer_path(&case))?;
        let err = ImageLayer::from_reader(reader, opts).await.unwrap_err();
        ensure!(err.is_corrupt(), "{case}: {err}");
    }
    Ok(())
}
