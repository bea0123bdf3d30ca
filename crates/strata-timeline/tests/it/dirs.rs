//! Directory handling end to end: leftovers reported and removed only on request, unknown
//! files, generation suffixes, `metadata` (future layers, ancestors on disk).

use std::path::Path;

use strata_blob::FileTable;
use strata_cache::PageCache;
use strata_delta::WORKLOAD_TIMELINE;
use strata_key::{Key, KeyRange, Lsn, LsnRange, TimelineId};
use strata_timeline::{Error, ProblemKind, Timeline, TimelineMetadata, TimelineOptions};

use crate::support::{Entries, clear, image, model_page, open, options, vm_key, write_delta};

fn all() -> KeyRange {
    KeyRange::new(Key::MIN, Key::MAX)
}

fn two_layers(dir: &Path) -> (Entries, Vec<String>) {
    let mut e = Entries::new();
    e.insert((vm_key(0), Lsn(0x10)), image(0xFF));
    e.insert((vm_key(0), Lsn(0x30)), clear(0, 1, 3));
    let a = write_delta(dir, &e, all(), LsnRange::new(Lsn(1), Lsn(0x20))).unwrap();
    let b = write_delta(dir, &e, all(), LsnRange::new(Lsn(0x20), Lsn(0x40))).unwrap();
    (e, vec![a, b])
}

#[tokio::test]
async fn leftovers_and_unknown_files() {
    let dir = tempfile::tempdir().unwrap();
    let (e, _) = two_layers(dir.path());
    for name in [
        "ephemeral-7",
        "x.temp_download",
        "metadata.___temp",
        "a.0.old",
    ] {
        std::fs::write(dir.path().join(name), b"x").unwrap();
    }
    let tl = open(dir.path());
    let kinds: Vec<_> = tl
        .problems()
        .iter()
        .map(|p| (p.name.as_str(), p.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("a.0.old", ProblemKind::Backup),
            ("ephemeral-7", ProblemKind::Leftover),
            ("metadata.___temp", ProblemKind::Leftover),
            ("x.temp_download", ProblemKind::Leftover),
        ]
    );
    assert!(dir.path().join("ephemeral-7").exists());
    let page = tl.get_page(vm_key(0), Lsn(0x30)).await.unwrap();
    assert_eq!(Some(page), model_page(&e, vm_key(0), Lsn(0x30)));

    let opts = TimelineOptions {
        remove_leftovers: true,
        ..options()
    };
    let tl = Timeline::open(dir.path(), &FileTable::new(4), &PageCache::new(16), opts).unwrap();
    assert_eq!(
        tl.problems()
            .iter()
            .filter(|p| p.kind == ProblemKind::Removed)
            .count(),
        3
    );
    assert!(!dir.path().join("ephemeral-7").exists());
    assert!(dir.path().join("a.0.old").exists());

    std::fs::write(dir.path().join("junk.txt"), b"x").unwrap();
    let err = Timeline::open(
        dir.path(),
        &FileTable::new(4),
        &PageCache::new(16),
        options(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::UnknownFiles { names } if names == &["junk.txt"]),
        "{err}"
    );
    assert!(err.to_string().contains("junk.txt"));
    let opts = TimelineOptions {
        ignore_unknown_files: true,
        ..options()
    };
    let tl = Timeline::open(dir.path(), &FileTable::new(4), &PageCache::new(16), opts).unwrap();
    assert!(
        tl.problems()
            .iter()
            .any(|p| p.name == "junk.txt" && p.kind == ProblemKind::Unknown)
    );
    assert!(tl.get_page(vm_key(0), Lsn(0x30)).await.is_ok());
}

#[tokio::test]
async fn generation_suffix_is_read_as_the_layer() {
    let dir = tempfile::tempdir().unwrap();
    let (e, names) = two_layers(dir.path());
    let renamed = format!("{}-v1-00000002", names[1]);
    std::fs::rename(dir.path().join(&names[1]), dir.path().join(&renamed)).unwrap();
    let tl = open(dir.path());
    assert!(
        tl.layers()
            .layers()
            .iter()
            .any(|(_, l)| l.file_name() == renamed)
    );
    let page = tl.get_page(vm_key(0), Lsn(0x35)).await.unwrap();
    assert_eq!(Some(page), model_page(&e, vm_key(0), Lsn(0x35)));
}

#[tokio::test]
async fn metadata_future_layers_and_ancestors() {
    let root = tempfile::tempdir().unwrap();
    let timelines = root.path().join("tenants").join("t").join("timelines");
    let parent_id = TimelineId([0x11; 16]);
    let parent_dir = timelines.join(parent_id.to_string());
    let child_dir = timelines.join(WORKLOAD_TIMELINE.to_string());
    std::fs::create_dir_all(&parent_dir).unwrap();
    std::fs::create_dir_all(&child_dir).unwrap();

    // The parent: image at 0x10, records at 0x30 and 0x50; consistent up to 0x5F.
    let mut parent = Entries::new();
    parent.insert((vm_key(0), Lsn(0x10)), image(0xFF));
    parent.insert((vm_key(0), Lsn(0x30)), clear(0, 1, 1));
    parent.insert((vm_key(0), Lsn(0x50)), clear(0, 2, 1));
    let lsns = LsnRange::new(Lsn(1), Lsn(0x60));
    let tmp = tempfile::tempdir().unwrap();
    let name = write_delta(tmp.path(), &parent, all(), lsns).unwrap();
    // Written with the workload's ids; the parent directory expects its own id, so copy the
    // bytes with the timeline id patched (summary bytes 20..36).
    let mut bytes = std::fs::read(tmp.path().join(&name)).unwrap();
    bytes[20..36].copy_from_slice(parent_id.as_bytes());
    std::fs::write(parent_dir.join(&name), bytes).unwrap();
    let md = TimelineMetadata::root(Lsn(0x5F), 16);
    std::fs::write(parent_dir.join("metadata"), md.encode()).unwrap();

    // The child, branched at 0x40: a record at 0x60, and a future layer above its DCL.
    let mut child = Entries::new();
    child.insert((vm_key(0), Lsn(0x60)), clear(0, 3, 1));
    write_delta(
        &child_dir,
        &child,
        all(),
        LsnRange::new(Lsn(0x41), Lsn(0x70)),
    )
    .unwrap();
    child.insert((vm_key(0), Lsn(0x90)), clear(0, 4, 1));
    write_delta(
        &child_dir,
        &child,
        all(),
        LsnRange::new(Lsn(0x80), Lsn(0xA0)),
    )
    .unwrap();
    let md = TimelineMetadata {
        ancestor_timeline: Some(parent_id),
        ancestor_lsn: Lsn(0x40),
        ..TimelineMetadata::root(Lsn(0x6F), 16)
    };
    std::fs::write(child_dir.join("metadata"), md.encode()).unwrap();

    let opts = TimelineOptions {
        ids: None,
        ..options()
    };
    let tl = Timeline::open(
        &child_dir,
        &FileTable::new(4),
        &PageCache::new(16),
        opts.clone(),
    )
    .unwrap();
    assert!(tl.problems().iter().any(|p| p.kind == ProblemKind::Future));
    assert_eq!(tl.layers().len(), 1);
    assert_eq!(tl.ancestor().map(|(_, lsn)| lsn), Some(Lsn(0x40)));
    // Model: the parent's history up to 0x40, then the child's.
    let mut model = Entries::new();
    model.extend(
        parent
            .range(..(vm_key(0), Lsn(0x41)))
            .map(|(k, v)| (*k, v.clone())),
    );
    model.insert((vm_key(0), Lsn(0x60)), clear(0, 3, 1));
    for lsn in [0x10, 0x30, 0x40, 0x50, 0x60, 0x6F] {
        let page = tl.get_page(vm_key(0), Lsn(lsn)).await.unwrap();
        assert_eq!(
            Some(page),
            model_page(&model, vm_key(0), Lsn(lsn)),
            "at {lsn:#x}"
        );
    }
    // The parent on its own still sees its 0x50 record.
    let (parent_tl, _) = tl.ancestor().unwrap();
    let page = parent_tl.get_page(vm_key(0), Lsn(0x50)).await.unwrap();
    assert_eq!(Some(page), model_page(&parent, vm_key(0), Lsn(0x50)));

    // A parent consistent only below the branch point is refused.
    let md = TimelineMetadata::root(Lsn(0x30), 16);
    std::fs::write(parent_dir.join("metadata"), md.encode()).unwrap();
    let err = Timeline::open(
        &child_dir,
        &FileTable::new(4),
        &PageCache::new(16),
        opts.clone(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Ancestor { .. }), "{err}");
    // Without opening ancestors, reads below the branch point fail clearly.
    let opts = TimelineOptions {
        open_ancestor: false,
        ..opts
    };
    let tl = Timeline::open(&child_dir, &FileTable::new(4), &PageCache::new(16), opts).unwrap();
    let err = tl.get_page(vm_key(0), Lsn(0x60)).await.unwrap_err();
    assert!(matches!(err, Error::Ancestor { .. }), "{err}");
}
