//! The commands on image layers, and the choice between the two kinds: [`kind_of`] reads block
//! 0's magic, and `main.rs` sends a file to this module's `manifest`, `query`, `summary`, `dump`,
//! `get` and `copy` when it is an image layer (`verify.rs` picks each file's verifier itself) (to the delta commands otherwise).
//! `workload --kind image` is [`workload`].
//!
//! Invariants: `manifest` and `query` print exactly the golden image formats
//! (`golden-image/README`) through the library's formatters; `copy` hands the writer the
//! stored images unchanged with the source's key range and LSN, so a file Neon wrote comes out
//! byte-identical, its path the last stdout line; the `--json` forms print one JSON document.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::Context;
use serde_json::{Value as Json, json};
use strata_blob::{FileTable, StdFs, TableFile};
use strata_cache::{CachedReader, PageCache};
use strata_image::{
    ImageLayer, ImageLayerWriter, ImageLayerWriterOptions, ImageWorkloadParams, Summary,
};
use strata_layer::LayerKind;

use crate::progress;

/// Page-cache slots of the inspection commands (their big reads go around the cache).
const INSPECT_CACHE_BLOCKS: usize = 1024;

/// `--kind` of `workload` and `bench`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum KindArg {
    /// The standard (delta) workload of WORKLOAD.md.
    #[default]
    Delta,
    /// The image workload of WORKLOAD.md ("The image workload"); `--records` is ignored.
    Image,
}

/// The kind block 0's magic names, or `None` for anything else, including a file that cannot
/// be read (a directory, a missing file): the delta commands then report it as they always have.
pub fn kind_of(file: &Path) -> Option<LayerKind> {
    let mut magic = [0u8; 2];
    let mut f = std::fs::File::open(file).ok()?;
    f.read_exact(&mut magic).ok()?;
    LayerKind::of_block0(&magic)
}

/// Whether `file` is an image layer (by its magic).
pub fn is_image(file: &Path) -> bool {
    kind_of(file) == Some(LayerKind::Image)
}

/// An image layer opened from a file through its own page cache and open-file table.
pub struct ImageSession {
    /// The page cache the layer reads through (kept as long as the layer).
    _cache: PageCache,
    _files: FileTable,
    /// The layer.
    pub layer: ImageLayer<CachedReader<TableFile>>,
}

impl ImageSession {
    /// Opens `path` with a fresh page cache of `cache_blocks` slots.
    pub async fn open(path: &Path, cache_blocks: usize) -> anyhow::Result<ImageSession> {
        let cache = PageCache::new(cache_blocks.max(1));
        let files = FileTable::new(4);
        let layer = ImageLayer::open(path, &cache, &files)
            .await
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(ImageSession {
            _cache: cache,
            _files: files,
            layer,
        })
    }
}

/// `strata manifest IMAGE_FILE`.
pub async fn manifest(file: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let s = ImageSession::open(file, INSPECT_CACHE_BLOCKS).await?;
    strata_image::write_manifest(&s.layer, out).await?;
    Ok(())
}

/// `strata query IMAGE_FILE QUERIES`: one full `Q` line per `Q` line of QUERIES (only the key
/// decides the answer: an image layer's lookup takes no LSN range).
pub async fn query(file: &Path, queries: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(queries)
        .with_context(|| format!("reading {}", queries.display()))?;
    let parsed = crate::inspect::parse_queries(&text)
        .with_context(|| format!("in {}", queries.display()))?;
    let s = ImageSession::open(file, INSPECT_CACHE_BLOCKS).await?;
    for (key, lsn_range) in parsed {
        let mut img = None;
        let result = s.layer.get_value_reconstruct_data(key, &mut img).await?;
        let img_lsn = img.map(|(lsn, _)| lsn);
        let line = strata_image::format_query_line(key, lsn_range, result, img_lsn);
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// `strata summary IMAGE_FILE [--json]`.
pub async fn summary(file: &Path, json_out: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let s = ImageSession::open(file, INSPECT_CACHE_BLOCKS).await?;
    let file_size = std::fs::metadata(file)?.len();
    let stats = s
        .layer
        .tree()
        .verify()
        .await
        .map_err(strata_image::Error::from)
        .map_err(|e| e.in_file(Some(file)))?;
    if json_out {
        let v = summary_json(s.layer.summary());
        return crate::inspect::write_summary_json(v, file, file_size, &stats, out);
    }
    writeln!(out, "file: {}", file.display())?;
    writeln!(out, "kind: image")?;
    writeln!(out, "file_size: {file_size}")?;
    strata_image::write_summary_lines(s.layer.summary(), out)?;
    writeln!(out, "btree_depth: {}", stats.depth)?;
    writeln!(out, "index_nodes: {}", stats.n_nodes)?;
    writeln!(out, "entries: {}", stats.n_entries)?;
    Ok(())
}

/// The summary fields as JSON.
fn summary_json(s: &Summary) -> Json {
    let own = json!({ "kind": "image", "lsn": s.lsn.to_hex16() });
    crate::inspect::layer_summary_json(&s.head(), s.index(), own)
}

/// `strata dump IMAGE_FILE [--values] [--json]`: every entry in key order. The JSON form is
/// `{"file", "summary", "entries": [{key, offset, len[, image]}]}`, streamed entry by entry.
pub async fn dump(
    file: &Path,
    values: bool,
    json_out: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let s = ImageSession::open(file, INSPECT_CACHE_BLOCKS).await?;
    if !json_out {
        s.layer.dump(out, values).await?;
        return Ok(());
    }
    crate::inspect::open_dump_json(summary_json(s.layer.summary()), file, out)?;
    let mut first = true;
    let mut res: anyhow::Result<()> = Ok(());
    s.layer
        .scan(|entry, image| {
            let mut v = json!({
                "key": entry.key.to_string(),
                "offset": entry.offset,
                "len": image.len(),
            });
            if values {
                v["image"] = json!(hex::encode(image));
            }
            let sep = if first { "\n" } else { ",\n" };
            first = false;
            res = write!(out, "{sep}")
                .map_err(anyhow::Error::from)
                .and_then(|()| Ok(serde_json::to_writer(&mut *out, &v)?));
            res.is_ok()
        })
        .await?;
    res?;
    writeln!(out, "\n]}}")?;
    Ok(())
}

/// `strata get IMAGE_FILE KEY LSN [--json]`: the page image of KEY visible at LSN. An image
/// layer is consulted only at or above its LSN: below it the answer is Missing.
pub async fn get(
    file: &Path,
    key: &str,
    lsn: &str,
    json_out: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let (key, lsn) = crate::inspect::parse_key_lsn(key, lsn)?;
    let s = ImageSession::open(file, INSPECT_CACHE_BLOCKS).await?;
    let mut img = None;
    let result = if lsn >= s.layer.lsn() {
        s.layer.get_value_reconstruct_data(key, &mut img).await?
    } else {
        strata_layer::ValueReconstructResult::Missing
    };
    if json_out {
        let image = img.as_ref().map(|(lsn, page)| {
            json!({ "lsn": lsn.to_hex16(), "len": page.len(), "page": hex::encode(page) })
        });
        let v = json!({
            "key": key.to_string(),
            "lsn": lsn.to_hex16(),
            "result": result.as_str(),
            "records": [],
            "image": image,
        });
        serde_json::to_writer_pretty(&mut *out, &v)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(out, "{} {key} {}", result.as_str(), lsn.to_hex16())?;
    if let Some((lsn, page)) = &img {
        writeln!(out, "{} Image len={}", lsn.to_hex16(), page.len())?;
    }
    Ok(())
}

/// `strata copy IMAGE_FILE DIR`: rewrites the layer image by image with Strata's writer.
pub async fn copy(file: &Path, dir: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    anyhow::ensure!(dir.is_dir(), "{} is not a directory", dir.display());
    let s = ImageSession::open(file, 256).await?;
    let sum = *s.layer.summary();
    let mut writer =
        ImageLayerWriter::new(dir, sum.tenant_id, sum.timeline_id, sum.key_range, sum.lsn)
            .with_context(|| format!("creating an image layer writer in {}", dir.display()))?;
    let mut res = Ok(());
    s.layer
        .scan(|entry, image| {
            res = writer.put_image(entry.key, image);
            res.is_ok()
        })
        .await?;
    res.with_context(|| format!("copying {}", file.display()))?;
    let desc = writer.finish()?;
    tracing::info!(
        "copied {} images ({} bytes) to {}",
        desc.n_entries,
        desc.file_size,
        desc.path.display()
    );
    writeln!(out, "{}", desc.path.display())?;
    Ok(())
}

/// `strata workload --kind image [...] DIR`: writes the image workload and prints its path.
pub fn workload(
    params: ImageWorkloadParams,
    dir: &Path,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    anyhow::ensure!(params.keys > 0, "--keys must be at least 1");
    anyhow::ensure!(dir.is_dir(), "{} is not a directory", dir.display());
    let bar = progress::bar(params.keys, "write");
    let opts = ImageLayerWriterOptions::default();
    let desc = strata_image::write_image_workload(StdFs, &params, dir, opts, |n| {
        if n % 1024 == 0 {
            bar.set_position(n);
        }
    })?;
    bar.finish_and_clear();
    writeln!(out, "{}", desc.path.display())?;
    Ok(())
}
