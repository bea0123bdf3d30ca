//! [`Timeline`]: a timeline directory opened for reads (TIMELINE.md 1.7), its layer map kept
//! behind an atomically swapped `Arc`, and the page reads `get_page` / `get_pages`.
//!
//! Invariants:
//! * Opening lists the directory once and never deletes anything unless
//!   [`TimelineOptions::remove_leftovers`] asks; unknown names fail the open with
//!   [`Error::UnknownFiles`] unless [`TimelineOptions::ignore_unknown_files`]; layers are not
//!   opened until read.
//! * The map is replaced whole ([`Timeline::add_layer`], [`Timeline::replace_layers`]) under
//!   a short write lock; a reader clones the `Arc` once per call and reads that map to the
//!   end, so it sees the old map or the new one, never a mix, and the layers it uses stay
//!   open until it drops them.
//! * With a `metadata` file, layers above its `disk_consistent_lsn` (image LSN > DCL, delta
//!   end > DCL + 1) are left out of the map and reported, not deleted; an ancestor named
//!   there is opened from the sibling directory and must be consistent up to the branch
//!   point.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use strata_blob::FileTable;
use strata_cache::PageCache;
use strata_key::{Key, KeyRange, Lsn, TenantId, TimelineId};

use crate::desc::LayerDesc;
use crate::dir::{self, DirEntry, EntryClass};
use crate::error::Error;
use crate::layer::{TimelineIds, TimelineLayer};
use crate::layer_map::LayerMap;
use crate::metadata::TimelineMetadata;
use crate::reconstruct::{Level, Traversal, materialize, reconstruct, reconstruct_many};
use crate::redo::{NeonRedo, Redo};

/// Longest chain of ancestors opened (a longer one is taken for a cycle).
pub const MAX_ANCESTOR_DEPTH: usize = 256;

/// The layer map of a timeline, with its layers.
pub type TimelineMap = LayerMap<Arc<TimelineLayer>>;

/// Knobs of [`Timeline::open`].
#[derive(Clone)]
pub struct TimelineOptions {
    /// Treat unknown file names as problems to report instead of failing the open.
    pub ignore_unknown_files: bool,
    /// Remove temp, download and ephemeral leftovers (Neon's load does; a reader of a
    /// directory it does not own should not).
    pub remove_leftovers: bool,
    /// The ids layer summaries must carry; by default taken from the directory names
    /// (`.../tenants/<tenant>/timelines/<timeline>`), unchecked when they do not parse.
    pub ids: Option<TimelineIds>,
    /// Open the ancestor timeline the metadata names (default true).
    pub open_ancestor: bool,
    /// The redo to make pages with (default: [`NeonRedo`] without a Postgres backend).
    pub redo: Arc<dyn Redo>,
    /// The Postgres version handed to redo when there is no metadata (default 16).
    pub pg_version: u32,
    /// Largest number of keys one [`Timeline::get_pages`] call may ask for (default 1024).
    pub max_get_pages_keys: usize,
}

impl Default for TimelineOptions {
    fn default() -> TimelineOptions {
        TimelineOptions {
            ignore_unknown_files: false,
            remove_leftovers: false,
            ids: None,
            open_ancestor: true,
            redo: Arc::new(NeonRedo::new()),
            pg_version: 16,
            max_get_pages_keys: 1024,
        }
    }
}

impl std::fmt::Debug for TimelineOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimelineOptions")
            .field("ignore_unknown_files", &self.ignore_unknown_files)
            .field("remove_leftovers", &self.remove_leftovers)
            .field("ids", &self.ids)
            .field("open_ancestor", &self.open_ancestor)
            .field("pg_version", &self.pg_version)
            .field("max_get_pages_keys", &self.max_get_pages_keys)
            .finish_non_exhaustive()
    }
}

/// Something found at open that is not an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file name.
    pub name: String,
    /// What it is.
    pub kind: ProblemKind,
}

/// The kinds of [`Problem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// A temp, download or ephemeral leftover, left in place.
    Leftover,
    /// A leftover removed at the caller's request.
    Removed,
    /// A `.old` backup, left alone.
    Backup,
    /// An unknown file, ignored at the caller's request.
    Unknown,
    /// A layer above the metadata's disk-consistent LSN, left out of the map.
    Future,
    /// A second file for a layer already in the map (another generation), left out.
    Duplicate,
}

impl ProblemKind {
    /// A short lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Leftover => "leftover",
            ProblemKind::Removed => "removed",
            ProblemKind::Backup => "backup",
            ProblemKind::Unknown => "unknown",
            ProblemKind::Future => "future",
            ProblemKind::Duplicate => "duplicate",
        }
    }
}

/// A page read with its traversal, for tools that show how a page was made.
#[derive(Debug)]
pub struct PageRead {
    /// What the traversal collected.
    pub traversal: Traversal,
    /// The page, or why redo could not make it.
    pub page: Result<Bytes, Error>,
}

/// A timeline directory opened for reads.
pub struct Timeline {
    dir: PathBuf,
    ids: TimelineIds,
    files: FileTable,
    cache: PageCache,
    opts: TimelineOptions,
    metadata: Option<TimelineMetadata>,
    ancestor_lsn: Option<Lsn>,
    ancestor: Option<Arc<Timeline>>,
    entries: Vec<DirEntry>,
    problems: Vec<Problem>,
    map: RwLock<Arc<TimelineMap>>,
}

impl std::fmt::Debug for Timeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timeline")
            .field("dir", &self.dir)
            .field("ids", &self.ids)
            .field("n_layers", &self.layers().len())
            .field("ancestor_lsn", &self.ancestor_lsn)
            .finish_non_exhaustive()
    }
}

impl Timeline {
    /// Opens the timeline in `dir`, reading layers through `files` and `cache`.
    pub fn open(
        dir: &Path,
        files: &FileTable,
        cache: &PageCache,
        opts: TimelineOptions,
    ) -> Result<Timeline, Error> {
        Timeline::open_at_depth(dir, files, cache, opts, 0)
    }

    fn open_at_depth(
        dir: &Path,
        files: &FileTable,
        cache: &PageCache,
        opts: TimelineOptions,
        depth: usize,
    ) -> Result<Timeline, Error> {
        let ids = opts.ids.unwrap_or_else(|| ids_from_path(dir));
        let entries = dir::scan_dir(dir)?;
        let mut problems = Vec::new();
        let unknown: Vec<String> = entries
            .iter()
            .filter(|e| e.class == EntryClass::Unknown)
            .map(|e| e.name.clone())
            .collect();
        if !unknown.is_empty() && !opts.ignore_unknown_files {
            return Err(Error::UnknownFiles { names: unknown });
        }
        let removed = if opts.remove_leftovers {
            dir::remove_leftovers(dir, &entries)?
        } else {
            Vec::new()
        };
        let metadata = match entries.iter().find(|e| e.class == EntryClass::Metadata) {
            Some(e) => Some(TimelineMetadata::decode(&std::fs::read(
                dir.join(&e.name),
            )?)?),
            None => None,
        };
        let mut layers = Vec::new();
        for entry in &entries {
            let kind = match entry.class {
                EntryClass::Layer(name) => {
                    let desc = LayerDesc::from_name(&name);
                    if metadata.is_some_and(|md| is_future(&desc, md.disk_consistent_lsn)) {
                        Some(ProblemKind::Future)
                    } else {
                        let layer = TimelineLayer::new(
                            desc,
                            dir,
                            entry.name.clone(),
                            entry.size,
                            ids,
                            files.clone(),
                            cache.clone(),
                        );
                        layers.push((desc, Arc::new(layer)));
                        None
                    }
                }
                EntryClass::Metadata => None,
                EntryClass::IgnoredBackup => Some(ProblemKind::Backup),
                EntryClass::Unknown => Some(ProblemKind::Unknown),
                _ if removed.contains(&entry.name) => Some(ProblemKind::Removed),
                _ => Some(ProblemKind::Leftover),
            };
            if let Some(kind) = kind {
                problems.push(Problem {
                    name: entry.name.clone(),
                    kind,
                });
            }
        }
        let (map, dropped) = LayerMap::new(layers);
        problems.extend(dropped.into_iter().map(|(_, layer)| Problem {
            name: layer.file_name().to_owned(),
            kind: ProblemKind::Duplicate,
        }));
        let ancestor_lsn = metadata.and_then(|md| md.ancestor_timeline.map(|_| md.ancestor_lsn));
        let ancestor = match metadata.and_then(|md| md.ancestor_timeline) {
            Some(id) if opts.open_ancestor => Some(Arc::new(open_ancestor(
                dir,
                id,
                ancestor_lsn,
                files,
                cache,
                &opts,
                ids,
                depth,
            )?)),
            _ => None,
        };
        Ok(Timeline {
            dir: dir.to_path_buf(),
            ids,
            files: files.clone(),
            cache: cache.clone(),
            opts,
            metadata,
            ancestor_lsn,
            ancestor,
            entries,
            problems,
            map: RwLock::new(Arc::new(map)),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The ids layers are checked against.
    pub fn ids(&self) -> TimelineIds {
        self.ids
    }

    /// The `metadata` file's contents, if there is one.
    pub fn metadata(&self) -> Option<&TimelineMetadata> {
        self.metadata.as_ref()
    }

    /// The ancestor timeline, if opened, and the branch point.
    pub fn ancestor(&self) -> Option<(&Arc<Timeline>, Lsn)> {
        self.ancestor.as_ref().zip(self.ancestor_lsn)
    }

    /// The directory's entries at open, sorted by name.
    pub fn entries(&self) -> &[DirEntry] {
        &self.entries
    }

    /// What open found that is not an error.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// The current layer map (a snapshot: later changes do not show in it).
    pub fn layers(&self) -> Arc<TimelineMap> {
        match self.map.read() {
            Ok(map) => Arc::clone(&map),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Adds the layer file `file_name`, already complete in the directory (a writer
    /// finished), to the map: the API ingest calls after each flush. Readers that started
    /// before keep their map; readers that start after see the layer.
    pub fn add_layer(&self, file_name: &str) -> Result<Arc<TimelineLayer>, Error> {
        let layer = self.new_layer(file_name)?;
        self.swap(&[], vec![Arc::clone(&layer)])?;
        Ok(layer)
    }

    /// Replaces the layers `remove` by the complete layer files `add` in one step (what
    /// compaction does). Readers see the old set or the new one, never a mix; a removed
    /// layer stays open until its last reader is done. The files of removed layers are not
    /// deleted.
    pub fn replace_layers(&self, remove: &[LayerDesc], add: &[&str]) -> Result<(), Error> {
        let layers = add
            .iter()
            .map(|name| self.new_layer(name))
            .collect::<Result<Vec<_>, _>>()?;
        self.swap(remove, layers)
    }

    fn new_layer(&self, file_name: &str) -> Result<Arc<TimelineLayer>, Error> {
        let EntryClass::Layer(name) = dir::classify_entry(file_name) else {
            return Err(Error::UnknownFiles {
                names: vec![file_name.to_owned()],
            });
        };
        let size = std::fs::metadata(self.dir.join(file_name))
            .map_err(|source| Error::LayerIo {
                layer: file_name.to_owned(),
                source,
            })?
            .len();
        Ok(Arc::new(TimelineLayer::new(
            LayerDesc::from_name(&name),
            &self.dir,
            file_name.to_owned(),
            size,
            self.ids,
            self.files.clone(),
            self.cache.clone(),
        )))
    }

    fn swap(&self, remove: &[LayerDesc], add: Vec<Arc<TimelineLayer>>) -> Result<(), Error> {
        let add = add.into_iter().map(|l| (*l.desc(), l)).collect();
        let mut guard = match self.map.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let next = guard.with_changes(remove, add)?;
        *guard = Arc::new(next);
        Ok(())
    }

    /// The page of `key` as of `lsn` (inclusive).
    pub async fn get_page(&self, key: Key, lsn: Lsn) -> Result<Bytes, Error> {
        let traversal = self.get_history(key, lsn).await?;
        materialize(
            &*self.opts.redo,
            key,
            lsn,
            &traversal.history,
            self.pg_version(),
        )
    }

    /// The history of `key` as of `lsn`: the image and records redo would get, and the
    /// layers visited.
    pub async fn get_history(&self, key: Key, lsn: Lsn) -> Result<Traversal, Error> {
        let maps = self.chain();
        reconstruct(&levels(&maps), key, lsn).await
    }

    /// [`Timeline::get_page`] with the traversal kept, for tools: fails only when the
    /// traversal does; a page redo cannot make is [`PageRead::page`]'s error.
    pub async fn read_page(&self, key: Key, lsn: Lsn) -> Result<PageRead, Error> {
        let traversal = self.get_history(key, lsn).await?;
        let page = materialize(
            &*self.opts.redo,
            key,
            lsn,
            &traversal.history,
            self.pg_version(),
        );
        Ok(PageRead { traversal, page })
    }

    /// The page of every key in `keyspace` as of `lsn`: per key, what [`Timeline::get_page`]
    /// answers, with each layer read once per distinct ceiling and its blobs read in
    /// coalesced runs. A failed layer read fails the call.
    pub async fn get_pages(
        &self,
        keyspace: &[KeyRange],
        lsn: Lsn,
    ) -> Result<BTreeMap<Key, Result<Bytes, Error>>, Error> {
        let keys = enumerate_keys(keyspace, self.opts.max_get_pages_keys)?;
        let maps = self.chain();
        let histories = reconstruct_many(&levels(&maps), &keys, lsn).await?;
        Ok(histories
            .into_iter()
            .map(|(key, t)| {
                let page = t.and_then(|t| {
                    materialize(&*self.opts.redo, key, lsn, &t.history, self.pg_version())
                });
                (key, page)
            })
            .collect())
    }

    fn pg_version(&self) -> u32 {
        self.metadata
            .map_or(self.opts.pg_version, |md| md.pg_version)
    }

    /// Snapshots of this timeline's map and its ancestors', with branch points.
    fn chain(&self) -> Vec<(Arc<TimelineMap>, Option<Lsn>)> {
        let mut out = vec![(self.layers(), self.ancestor_lsn)];
        let mut next = self.ancestor.as_ref();
        while let Some(tl) = next {
            out.push((tl.layers(), tl.ancestor_lsn));
            next = tl.ancestor.as_ref();
        }
        out
    }
}

fn levels(maps: &[(Arc<TimelineMap>, Option<Lsn>)]) -> Vec<Level<'_, TimelineLayer>> {
    maps.iter()
        .map(|(map, ancestor_lsn)| Level {
            map,
            ancestor_lsn: *ancestor_lsn,
        })
        .collect()
}

/// Every key of `keyspace`, sorted and distinct, at most `max`.
fn enumerate_keys(keyspace: &[KeyRange], max: usize) -> Result<Vec<Key>, Error> {
    let mut keys = std::collections::BTreeSet::new();
    for range in keyspace {
        let mut key = range.start;
        while key < range.end {
            keys.insert(key);
            if keys.len() > max {
                return Err(Error::TooManyKeys {
                    n_keys: keys.len(),
                    max,
                });
            }
            match key.checked_next() {
                Some(next) => key = next,
                None => break,
            }
        }
    }
    Ok(keys.into_iter().collect())
}

/// TIMELINE.md 1.4: image LSN > DCL, or delta end > DCL + 1.
fn is_future(desc: &LayerDesc, dcl: Lsn) -> bool {
    if desc.is_delta {
        desc.lsn_range.end.0 > dcl.0.saturating_add(1)
    } else {
        desc.lsn() > dcl
    }
}

/// Ids from `.../tenants/<tenant_shard_id>/timelines/<timeline_id>`.
fn ids_from_path(dir: &Path) -> TimelineIds {
    let name = |p: Option<&Path>| {
        p.and_then(Path::file_name)
            .and_then(|n| n.to_str())
            .map(str::to_owned)
    };
    let timeline_id = name(Some(dir)).and_then(|n| n.parse::<TimelineId>().ok());
    let tenant_id = name(dir.parent().and_then(Path::parent))
        .and_then(|n| n.get(..32).and_then(|t| t.parse::<TenantId>().ok()));
    TimelineIds {
        tenant_id,
        timeline_id,
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "the open's own parameters, passed down"
)]
fn open_ancestor(
    dir: &Path,
    id: TimelineId,
    ancestor_lsn: Option<Lsn>,
    files: &FileTable,
    cache: &PageCache,
    opts: &TimelineOptions,
    ids: TimelineIds,
    depth: usize,
) -> Result<Timeline, Error> {
    let ancestor_dir = dir
        .parent()
        .map(|p| p.join(id.to_string()))
        .unwrap_or_else(|| PathBuf::from(id.to_string()));
    let fail = |what: String| Error::Ancestor {
        ancestor: ancestor_dir.display().to_string(),
        what,
    };
    if depth >= MAX_ANCESTOR_DEPTH {
        return Err(fail(format!(
            "more than {MAX_ANCESTOR_DEPTH} ancestors (a cycle?)"
        )));
    }
    if !ancestor_dir.is_dir() {
        return Err(fail("Ancestor is missing: no such directory".into()));
    }
    let mut ancestor_opts = opts.clone();
    ancestor_opts.ids = Some(TimelineIds {
        tenant_id: ids.tenant_id,
        timeline_id: Some(id),
    });
    let tl = Timeline::open_at_depth(&ancestor_dir, files, cache, ancestor_opts, depth + 1)?;
    if let (Some(md), Some(lsn)) = (tl.metadata, ancestor_lsn)
        && md.disk_consistent_lsn < lsn
    {
        return Err(fail(format!(
            "disk consistent LSN {} is below the branch point {lsn}",
            md.disk_consistent_lsn
        )));
    }
    Ok(tl)
}
