//! Whole-timeline checks: [`Timeline::verify`] (every layer opened and verified, its summary
//! against its name) and [`check_layer_shapes`], the pure check of the layer set itself:
//! overlaps Neon would not produce and LSN gaps in the WAL the deltas hold.
//!
//! Invariants: verification never stops at the first problem and never fails; every problem
//! is a [`Finding`] naming the layer. The shape rules (documented on [`check_layer_shapes`])
//! look at descriptors only, so they are cheap and fuzzable.

use std::fmt;

use strata_key::Lsn;

use crate::desc::LayerDesc;
use crate::timeline::Timeline;

/// One problem found by verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The layer at fault (its file name or descriptor), if one.
    pub layer: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.layer {
            Some(layer) => write!(f, "{layer}: {}", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

/// Problems of a layer set that Neon's ingest and compaction never produce:
/// * two deltas whose key ranges overlap and whose LSN ranges overlap without one containing
///   the other (the map assumes overlapping deltas hold the same WAL; partial overlaps mean
///   it would read one and skip part of the other);
/// * two images at the same LSN with overlapping key ranges;
/// * an LSN gap in the union of the deltas' LSN ranges (WAL nobody holds), unless an image
///   layer sits right below the next delta (`lsn + 1 == gap end`: an image, then deltas on
///   top of it, the shape after image creation and GC).
///
/// The gap rule works on the whole key space at once; it cannot tell a gap that matters for
/// some keys only.
pub fn check_layer_shapes(descs: &[LayerDesc]) -> Vec<Finding> {
    let mut out = Vec::new();
    let overlaps_keys = |a: &LayerDesc, b: &LayerDesc| {
        a.key_range.start < b.key_range.end && b.key_range.start < a.key_range.end
    };
    let mut sorted: Vec<&LayerDesc> = descs.iter().collect();
    sorted.sort();
    for (i, a) in sorted.iter().enumerate() {
        for b in sorted.iter().skip(i + 1) {
            if !overlaps_keys(a, b) {
                continue;
            }
            let (al, bl) = (a.lsn_range, b.lsn_range);
            if a.is_delta && b.is_delta {
                let intersect = al.start < bl.end && bl.start < al.end;
                let nested = (al.start <= bl.start && bl.end <= al.end)
                    || (bl.start <= al.start && al.end <= bl.end);
                if intersect && !nested {
                    out.push(Finding {
                        layer: Some(b.to_string()),
                        message: format!("LSN range partly overlaps layer {a}"),
                    });
                }
            } else if !a.is_delta && !b.is_delta && a.lsn() == b.lsn() {
                out.push(Finding {
                    layer: Some(b.to_string()),
                    message: format!("image at the same LSN as {a} with overlapping keys"),
                });
            }
        }
    }
    let mut deltas: Vec<(Lsn, Lsn)> = descs
        .iter()
        .filter(|d| d.is_delta)
        .map(|d| (d.lsn_range.start, d.lsn_range.end))
        .collect();
    deltas.sort();
    let mut covered_to: Option<Lsn> = None;
    for (start, end) in deltas {
        if let Some(to) = covered_to
            && start > to
        {
            let bridged = descs
                .iter()
                .any(|d| !d.is_delta && d.lsn().checked_add(1) == Some(start));
            if !bridged {
                out.push(Finding {
                    layer: None,
                    message: format!("LSN gap {to}..{start}: no delta layer holds WAL there"),
                });
            }
        }
        covered_to = Some(covered_to.map_or(end, |to| to.max(end)));
    }
    out
}

impl Timeline {
    /// Opens and verifies every layer, checks each summary against its name, and checks the
    /// layer set's shape ([`check_layer_shapes`]).
    pub async fn verify(&self) -> Vec<Finding> {
        let map = self.layers();
        let mut out = Vec::new();
        for (_, layer) in map.layers() {
            match layer.verify().await {
                Ok(findings) => out.extend(findings.into_iter().map(|message| Finding {
                    layer: Some(layer.file_name().to_owned()),
                    message,
                })),
                Err(e) => out.push(Finding {
                    layer: Some(layer.file_name().to_owned()),
                    message: e.to_string(),
                }),
            }
        }
        let descs: Vec<LayerDesc> = map.layers().iter().map(|(d, _)| *d).collect();
        out.extend(check_layer_shapes(&descs));
        out
    }
}

#[cfg(test)]
mod tests {
    use strata_key::{Key, KeyRange, LsnRange};

    use super::*;

    fn delta(a: u64, b: u64) -> LayerDesc {
        LayerDesc::delta(
            KeyRange::new(Key::MIN, Key::MAX),
            LsnRange::new(Lsn(a), Lsn(b)),
        )
    }

    #[test]
    fn shapes() {
        assert!(check_layer_shapes(&[delta(1, 10), delta(10, 20), delta(1, 20)]).is_empty());
        let f = check_layer_shapes(&[delta(1, 10), delta(5, 20)]);
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("partly overlaps"), "{f:?}");
        let f = check_layer_shapes(&[delta(1, 10), delta(12, 20)]);
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("LSN gap"));
        let img = LayerDesc::image(KeyRange::new(Key::MIN, Key::MAX), Lsn(11));
        assert!(check_layer_shapes(&[delta(1, 10), img, delta(12, 20)]).is_empty());
        assert_eq!(check_layer_shapes(&[img, img]).len(), 1);
    }
}
