//! `strata page DIR KEY LSN`: one page read through a timeline, shown step by step: the layers
//! visited with the LSN range read from each, the records collected (oldest first), the base
//! image, and the page when redo could make it (a hex dump, or raw bytes with `--out`).
//!
//! Invariants: the traversal is shown even when redo cannot make the page (Postgres records
//! without a backend): that is exit 1 with the history printed, as is a key with no history.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use serde_json::{Value as Json, json};
use strata_delta::{Value, describe_value};
use strata_key::Key;
use strata_timeline::{PageHistory, Visit};

use crate::error::{EXIT_INVALID, Exit};
use crate::inspect::parse_lsn;
use crate::timeline::{fail, open};

/// Arguments of `strata page`.
#[derive(Debug, Args)]
pub struct PageArgs {
    /// The timeline directory.
    dir: PathBuf,
    /// The key: 36 hex digits.
    key: String,
    /// The LSN to read at (inclusive): 1-16 hex digits, or the X/Y form.
    lsn: String,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Write the page's raw bytes to FILE instead of a hex dump.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs `strata page`.
pub async fn run(args: PageArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let key: Key = args
        .key
        .parse()
        .map_err(|e| anyhow::anyhow!("KEY {:?}: expected 36 hex digits ({e})", args.key))?;
    let lsn = parse_lsn(&args.lsn)?;
    let tl = open(&args.dir)?;
    let read = tl.read_page(key, lsn).await.map_err(fail)?;
    let (traversal, page) = (read.traversal, read.page);
    if let (Some(path), Ok(bytes)) = (&args.out, &page) {
        std::fs::write(path, bytes)?;
    }
    if args.json {
        let v = json!({
            "key": key.to_string(),
            "lsn": lsn.to_string(),
            "visits": traversal.visits.iter().map(visit_json).collect::<Vec<_>>(),
            "image": traversal.history.img.as_ref().map(|(l, img)| json!({ "lsn": l.to_string(), "len": img.len() })),
            "records": records_json(&traversal.history),
            "page": page.as_ref().ok().map(|p| json!({ "len": p.len(), "hex": if args.out.is_some() { Json::Null } else { Json::String(hex::encode(p)) } })),
            "error": page.as_ref().err().map(ToString::to_string),
        });
        serde_json::to_writer_pretty(&mut *out, &v)?;
        writeln!(out)?;
    } else {
        writeln!(out, "page {key} at {lsn}")?;
        for (i, v) in traversal.visits.iter().enumerate() {
            writeln!(
                out,
                "visit {}: {} [{}, {}) level {} -> {} ({} records{})",
                i + 1,
                v.layer,
                v.lo,
                v.hi,
                v.level,
                v.result.as_str(),
                v.n_records,
                if v.found_image { ", image" } else { "" }
            )?;
        }
        match &traversal.history.img {
            Some((l, img)) => writeln!(out, "image {l} len={}", img.len())?,
            None => writeln!(out, "image none")?,
        }
        for (l, rec) in &traversal.history.records {
            writeln!(
                out,
                "record {l} {}",
                describe_value(&Value::WalRecord(rec.clone()))
            )?;
        }
        match &page {
            Ok(p) => {
                writeln!(out, "page len={}", p.len())?;
                match &args.out {
                    Some(path) => writeln!(out, "written to {}", path.display())?,
                    None => hex_dump(p, out)?,
                }
            }
            Err(e) => writeln!(out, "page not made: {e}")?,
        }
    }
    if page.is_err() {
        out.flush()?;
        return Err(Exit(EXIT_INVALID).into());
    }
    Ok(())
}

fn visit_json(v: &Visit) -> Json {
    json!({
        "layer": v.layer.to_string(),
        "level": v.level,
        "lo": v.lo.to_string(),
        "hi": v.hi.to_string(),
        "result": v.result.as_str(),
        "n_records": v.n_records,
        "image": v.found_image,
    })
}

fn records_json(h: &PageHistory) -> Vec<Json> {
    h.records
        .iter()
        .map(|(l, rec)| {
            json!({
                "lsn": l.to_string(),
                "kind": rec.kind_name(),
                "will_init": rec.will_init(),
                "description": describe_value(&Value::WalRecord(rec.clone())),
            })
        })
        .collect()
}

/// 16 bytes a line: offset, hex, printable ASCII.
fn hex_dump(bytes: &[u8], out: &mut impl Write) -> std::io::Result<()> {
    for (i, chunk) in bytes.chunks(16).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let ascii: String = chunk
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        writeln!(out, "{:08x}  {:<47}  {ascii}", i * 16, hex.join(" "))?;
    }
    Ok(())
}
