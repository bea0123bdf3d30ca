//! The AUX files directory value (TIMELINE.md 4.5, `AuxFile`): a map of file path to content,
//! bincode big-endian (`u64` count, then per entry `u64` length + UTF-8 path, `u64` length +
//! bytes), and the edit an `AuxFile` record makes to it.
//!
//! Invariants: decoding checks every length against the bytes left before allocating, and
//! rejects trailing bytes (Neon's `des`); encoding writes entries sorted by path (Neon's hash
//! map order is arbitrary, so AUX values are compared decoded, never byte for byte).

#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::error::RedoError;

/// Decodes an AUX files directory.
pub fn decode_aux_dir(mut bytes: &[u8]) -> Result<BTreeMap<String, Bytes>, RedoError> {
    let n = take_u64(&mut bytes)?;
    let mut files = BTreeMap::new();
    for _ in 0..n {
        let path = take_bytes(&mut bytes)?;
        let path = String::from_utf8(path.to_vec())
            .map_err(|_| RedoError::AuxDirectory("a path is not UTF-8".into()))?;
        let content = Bytes::copy_from_slice(take_bytes(&mut bytes)?);
        files.insert(path, content);
    }
    if !bytes.is_empty() {
        return Err(RedoError::AuxDirectory(format!(
            "{} trailing bytes",
            bytes.len()
        )));
    }
    Ok(files)
}

/// Encodes an AUX files directory (paths in sorted order).
pub fn encode_aux_dir(files: &BTreeMap<String, Bytes>) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(files.len() as u64).to_be_bytes());
    for (path, content) in files {
        out.extend_from_slice(&(path.len() as u64).to_be_bytes());
        out.extend_from_slice(path.as_bytes());
        out.extend_from_slice(&(content.len() as u64).to_be_bytes());
        out.extend_from_slice(content);
    }
    out
}

/// The directory `page` with `path` set to `content`, or removed when `content` is `None`.
pub(crate) fn apply_aux_file(
    page: &[u8],
    path: &str,
    content: Option<&Bytes>,
) -> Result<Vec<u8>, RedoError> {
    let mut files = decode_aux_dir(page)?;
    match content {
        Some(content) => {
            files.insert(path.to_owned(), content.clone());
        }
        None => {
            files.remove(path);
        }
    }
    Ok(encode_aux_dir(&files))
}

fn take_u64(bytes: &mut &[u8]) -> Result<u64, RedoError> {
    let Some((head, rest)) = bytes.split_first_chunk::<8>() else {
        return Err(RedoError::AuxDirectory("ends inside a length".into()));
    };
    *bytes = rest;
    Ok(u64::from_be_bytes(*head))
}

fn take_bytes<'a>(bytes: &mut &'a [u8]) -> Result<&'a [u8], RedoError> {
    let len = take_u64(bytes)?;
    let len = usize::try_from(len)
        .ok()
        .filter(|len| *len <= bytes.len())
        .ok_or_else(|| RedoError::AuxDirectory(format!("length {len} past the end")))?;
    let (head, rest) = bytes.split_at(len);
    *bytes = rest;
    Ok(head)
}
