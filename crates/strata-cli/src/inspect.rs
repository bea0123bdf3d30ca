//! The reading commands: `manifest`, `query`, `summary`, `dump` and `get`.
//!
//! Invariants: `manifest` and `query` print exactly the golden formats (golden/README), through
//! the library's formatters (`write_manifest`, `format_query_line`), never a copy of them; the
//! `--json` forms print one JSON document each, with keys as 36 hex digits and LSNs as 16.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use serde_json::{Value as Json, json};
use strata_delta::{NeonWalRecord, Summary, Value, ValueReconstructState};
use strata_key::{Key, Lsn, LsnRange, ParseError};
use strata_layer::{IndexPointers, SummaryHead};

use crate::ops::LayerSession;

/// Page-cache slots of the inspection commands (their big reads go around the cache).
const INSPECT_CACHE_BLOCKS: u64 = 1024;

/// `strata manifest FILE`.
pub async fn manifest(file: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let s = LayerSession::open(file, INSPECT_CACHE_BLOCKS).await?;
    strata_delta::text::write_manifest(&s.layer, out).await?;
    Ok(())
}

/// `strata query FILE QUERIES`: one full `Q` line per `Q` line of QUERIES.
pub async fn query(file: &Path, queries: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(queries)
        .with_context(|| format!("reading {}", queries.display()))?;
    let parsed = parse_queries(&text).with_context(|| format!("in {}", queries.display()))?;
    let s = LayerSession::open(file, INSPECT_CACHE_BLOCKS).await?;
    let mut state = ValueReconstructState::default();
    for (key, lsn_range) in parsed {
        state.records.clear();
        state.img = None;
        let result = s
            .layer
            .get_value_reconstruct_data(key, lsn_range, &mut state)
            .await?;
        let line = strata_delta::text::format_query_line(key, lsn_range, result, &state);
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// The inputs of the `Q` lines of a queries file: `Q <key> <lsn_start> <lsn_end> ...`, LSNs in
/// hex. Other lines are skipped.
pub(crate) fn parse_queries(text: &str) -> anyhow::Result<Vec<(Key, LsnRange)>> {
    let mut out = Vec::new();
    for (line_idx, line) in text.lines().enumerate() {
        let Some(rest) = line.strip_prefix("Q ") else {
            continue;
        };
        let ctx = || format!("line {}: {line:?}", line_idx + 1);
        let mut fields = rest.split(' ');
        let (Some(key), Some(start), Some(end)) = (fields.next(), fields.next(), fields.next())
        else {
            anyhow::bail!("{}: expected Q <key> <lsn_start> <lsn_end>", ctx());
        };
        let key: Key = key.parse().with_context(ctx)?;
        let start = Lsn::from_hex(start).with_context(ctx)?;
        let end = Lsn::from_hex(end).with_context(ctx)?;
        out.push((key, LsnRange::new(start, end)));
    }
    Ok(out)
}

/// `strata summary FILE [--json]`: block 0 and facts about the file and its index.
pub async fn summary(file: &Path, json_out: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let s = LayerSession::open(file, INSPECT_CACHE_BLOCKS).await?;
    let sum = s.layer.summary();
    let file_size = std::fs::metadata(file)
        .with_context(|| format!("reading the size of {}", file.display()))?
        .len();
    let stats = s.layer.index_stats().await?;
    if json_out {
        return write_summary_json(summary_json(sum), file, file_size, &stats, out);
    }
    writeln!(out, "file: {}", file.display())?;
    writeln!(out, "file_size: {file_size}")?;
    writeln!(out, "magic: {:04X}", sum.magic)?;
    writeln!(out, "format_version: {}", sum.format_version)?;
    writeln!(out, "tenant_id: {}", sum.tenant_id)?;
    writeln!(out, "timeline_id: {}", sum.timeline_id)?;
    writeln!(
        out,
        "key_range: {} {}",
        sum.key_range.start, sum.key_range.end
    )?;
    writeln!(
        out,
        "lsn_range: {} {}",
        sum.lsn_range.start.to_hex16(),
        sum.lsn_range.end.to_hex16()
    )?;
    writeln!(out, "index_start_blk: {}", sum.index_start_blk)?;
    writeln!(out, "index_root_blk: {}", sum.index_root_blk)?;
    writeln!(out, "btree_depth: {}", stats.depth)?;
    writeln!(out, "index_nodes: {}", stats.n_nodes)?;
    writeln!(out, "entries: {}", stats.n_entries)?;
    Ok(())
}

/// `summary --json`: the summary's fields `v` with the file's facts and index statistics.
pub(crate) fn write_summary_json(
    mut v: Json,
    file: &Path,
    file_size: u64,
    stats: &strata_delta::TreeStats,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    v["file"] = json!(file.display().to_string());
    v["file_size"] = json!(file_size);
    v["btree_depth"] = json!(stats.depth);
    v["index_nodes"] = json!(stats.n_nodes);
    v["entries"] = json!(stats.n_entries);
    serde_json::to_writer_pretty(&mut *out, &v)?;
    writeln!(out)?;
    Ok(())
}

/// The start of `dump --json`, `{"file":..,"summary":{..},"entries":[`; the caller streams the
/// entries and closes with `]}`.
pub(crate) fn open_dump_json(
    summary: Json,
    file: &Path,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let head = json!({ "file": file.display().to_string(), "summary": summary });
    let head = serde_json::to_string(&head)?;
    let open = head.strip_suffix('}').unwrap_or(&head);
    write!(out, "{open},\"entries\":[")?;
    Ok(())
}

/// The summary fields as JSON.
fn summary_json(s: &Summary) -> Json {
    let lsns = &s.lsn_range;
    let own = json!({
        "lsn_range": { "start": lsns.start.to_hex16(), "end": lsns.end.to_hex16() },
    });
    layer_summary_json(&s.head(), s.index(), own)
}

/// The summary fields both kinds share (magic, version, ids, key range, index pointers) as
/// JSON, with the kind's own fields `own` (an object) added.
pub(crate) fn layer_summary_json(head: &SummaryHead, index: IndexPointers, own: Json) -> Json {
    let kr = &head.key_range;
    let mut v = json!({
        "magic": format!("{:04X}", head.magic),
        "format_version": head.format_version,
        "tenant_id": head.tenant_id.to_string(),
        "timeline_id": head.timeline_id.to_string(),
        "key_range": { "start": kr.start.to_string(), "end": kr.end.to_string() },
        "index_start_blk": index.index_start_blk,
        "index_root_blk": index.index_root_blk,
    });
    if let (Some(map), Json::Object(own)) = (v.as_object_mut(), own) {
        map.extend(own);
    }
    v
}

/// `strata dump FILE [--values] [--json]`.
///
/// The JSON form is `{"file", "summary", "entries": [{key, lsn, will_init, kind, len, offset,
/// size[, value]}]}` where `len` is the serialized value's length and `value` its hex; it is
/// streamed entry by entry, so it needs no memory for the whole file.
pub async fn dump(
    file: &Path,
    values: bool,
    json_out: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let s = LayerSession::open(file, INSPECT_CACHE_BLOCKS).await?;
    if !json_out {
        strata_delta::text::dump(&s.layer, out, values).await?;
        return Ok(());
    }
    open_dump_json(summary_json(s.layer.summary()), file, out)?;
    let mut iter = s.layer.iter();
    let mut first = true;
    while let Some(entry) = iter.next().await {
        let entry = entry?;
        let bytes = iter.load_bytes(&entry).await?;
        let value = Value::decode(&bytes).map_err(|e| {
            anyhow::Error::new(e).context(format!(
                "decoding the value of {} @ {} at offset {:#x}",
                entry.key,
                entry.lsn.to_hex16(),
                entry.blob_ref.pos()
            ))
        })?;
        let mut v = json!({
            "key": entry.key.to_string(),
            "lsn": entry.lsn.to_hex16(),
            "will_init": entry.blob_ref.will_init(),
            "kind": value.kind_name(),
            "len": bytes.len(),
            "offset": entry.blob_ref.pos(),
            "size": entry.size,
        });
        if values {
            v["value"] = json!(hex::encode(&bytes));
        }
        if !first {
            write!(out, ",")?;
        }
        first = false;
        writeln!(out)?;
        serde_json::to_writer(&mut *out, &v)?;
    }
    writeln!(out, "\n]}}")?;
    Ok(())
}

/// `strata get FILE KEY LSN [--json]`: the history of KEY visible at LSN (inclusive), newest
/// first, and whether it is Complete (ends at an image or a will_init record) or needs older
/// layers (Continue).
pub async fn get(
    file: &Path,
    key: &str,
    lsn: &str,
    json_out: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let (key, lsn) = parse_key_lsn(key, lsn)?;
    let s = LayerSession::open(file, INSPECT_CACHE_BLOCKS).await?;
    // Everything up to and including `lsn` (Lsn::MAX itself cannot be included: ranges are
    // half-open).
    let lsn_range = LsnRange::new(Lsn(0), Lsn(lsn.0.saturating_add(1)));
    let mut state = ValueReconstructState::default();
    let result = s
        .layer
        .get_value_reconstruct_data(key, lsn_range, &mut state)
        .await?;
    if json_out {
        let records: Vec<Json> = state
            .records
            .iter()
            .map(|(lsn, rec)| {
                json!({
                    "lsn": lsn.to_hex16(),
                    "kind": rec.kind_name(),
                    "will_init": rec.will_init(),
                    "value": hex::encode(Value::WalRecord(rec.clone()).encode()),
                })
            })
            .collect();
        let image = state.img.as_ref().map(|(lsn, img)| {
            json!({ "lsn": lsn.to_hex16(), "len": img.len(), "page": hex::encode(img) })
        });
        let v = json!({
            "key": key.to_string(),
            "lsn": lsn.to_hex16(),
            "result": result.as_str(),
            "records": records,
            "image": image,
        });
        serde_json::to_writer_pretty(&mut *out, &v)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(out, "{} {key} {}", result.as_str(), lsn.to_hex16())?;
    for (lsn, rec) in &state.records {
        writeln!(out, "{} {}", lsn.to_hex16(), describe_record(rec))?;
    }
    if let Some((lsn, img)) = &state.img {
        writeln!(out, "{} Image len={}", lsn.to_hex16(), img.len())?;
    }
    Ok(())
}

/// The KEY and LSN arguments of `get` (either kind), or one message naming what is wrong.
pub(crate) fn parse_key_lsn(key: &str, lsn: &str) -> anyhow::Result<(Key, Lsn)> {
    let key: Key = key
        .parse()
        .map_err(|e| bad_argument("KEY", key, "36 hex digits", &e))?;
    Ok((key, parse_lsn(lsn)?))
}

/// An LSN argument: `X/Y`, or 1 to 16 hex digits.
pub(crate) fn parse_lsn(text: &str) -> anyhow::Result<Lsn> {
    let lsn = if text.contains('/') {
        text.parse()
    } else {
        Lsn::from_hex(text)
    };
    lsn.map_err(|e| bad_argument("LSN", text, "X/Y or 1 to 16 hex digits", &e))
}

/// One message for an argument that does not parse: what it is, what was expected and what
/// was wrong, without repeating the parser's own `what:` prefix (`KEY "x1": expected 36 hex
/// digits, got 2 characters`). Exit code 2, like every usage problem.
fn bad_argument(name: &str, text: &str, expected: &str, e: &ParseError) -> anyhow::Error {
    let problem = match e {
        ParseError::Length { got, .. } => format!("got {got} characters"),
        ParseError::InvalidChar { .. } => "got a character that is not a hex digit".to_owned(),
        ParseError::Overflow { .. } => "got a value out of range".to_owned(),
        ParseError::Malformed { reason, .. } => format!("got a malformed value ({reason})"),
        other => other.to_string(),
    };
    anyhow::anyhow!("{name} {text:?}: expected {expected}, {problem}")
}

/// One line for a WAL record (the library's description of values).
fn describe_record(rec: &NeonWalRecord) -> String {
    strata_delta::text::describe_value(&Value::WalRecord(rec.clone()))
}
