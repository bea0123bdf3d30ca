//! Criterion benches of the page cache: the cost of a hit (the path every warm read takes), of a
//! miss that evicts (a cache smaller than the working set), and of many tasks hitting the same
//! cache at once. The inner reader is in memory, so the figures are the cache's own overhead.
//!
//! `neon-like-hit` is the baseline: the shape of Neon's hit path (a mapping behind a lock, then
//! a `tokio::sync::RwLock` per slot whose read guard is held while the page is used), built here
//! over the same pages so the two figures compare.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use strata_blob::{BlockNo, BlockReader, MemBlockReader, PAGE_SIZE};
use strata_cache::PageCache;
use tokio::runtime::{Builder, Runtime};

/// Pages in the source file.
const N_PAGES: u32 = 1024;
/// Reads per benchmark iteration.
const READS: u64 = 4096;

fn source() -> MemBlockReader {
    let bytes: Vec<u8> = (0..N_PAGES as usize * PAGE_SIZE)
        .map(|i| (i / PAGE_SIZE) as u8)
        .collect();
    MemBlockReader::from_bytes(&bytes)
}

fn runtime() -> Runtime {
    Builder::new_current_thread().build().expect("runtime")
}

/// A pseudo-random page sequence (xorshift), the same for every run.
fn pages(n: u64, modulo: u32) -> Vec<BlockNo> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            BlockNo((x % u64::from(modulo)) as u32)
        })
        .collect()
}

fn hits(c: &mut Criterion) {
    let rt = runtime();
    let cache = PageCache::new(N_PAGES as usize);
    let reader = cache.wrap(source());
    let order = pages(READS, N_PAGES);
    rt.block_on(async {
        for &p in &order {
            reader.read_block(p).await.expect("warm");
        }
    });
    let mut group = c.benchmark_group("strata-cache");
    group.throughput(Throughput::Elements(READS));
    group.bench_function("hit", |b| {
        b.iter(|| {
            rt.block_on(async {
                for &p in &order {
                    black_box(reader.read_block(p).await.expect("hit")[0]);
                }
            })
        })
    });
    group.bench_function("uncached-source", |b| {
        let plain = source();
        b.iter(|| {
            rt.block_on(async {
                for &p in &order {
                    black_box(plain.read_block(p).await.expect("read"));
                }
            })
        })
    });
    group.finish();
}

/// A slot of the baseline: the page's tag (file, block) and its bytes.
type NeonSlot = Option<((u64, u32), Box<[u8; PAGE_SIZE]>)>;

/// Neon's hit path in miniature: mapping lock, then the slot's tokio `RwLock` read guard.
struct NeonLikeCache {
    mapping: std::sync::RwLock<std::collections::HashMap<(u64, u32), usize>>,
    slots: Vec<tokio::sync::RwLock<NeonSlot>>,
}

impl NeonLikeCache {
    fn filled(n_pages: u32) -> NeonLikeCache {
        let mut mapping = std::collections::HashMap::new();
        let mut slots = Vec::new();
        for page in 0..n_pages {
            mapping.insert((1, page), slots.len());
            let bytes = Box::new([page as u8; PAGE_SIZE]);
            slots.push(tokio::sync::RwLock::new(Some(((1, page), bytes))));
        }
        NeonLikeCache {
            mapping: std::sync::RwLock::new(mapping),
            slots,
        }
    }

    /// Reads the first byte of the page under the slot's read guard, as a caller would use it.
    async fn read_first_byte(&self, page: u32) -> Option<u8> {
        let slot = *self.mapping.read().ok()?.get(&(1, page))?;
        let guard = self.slots.get(slot)?.read().await;
        match &*guard {
            Some((tag, bytes)) if *tag == (1, page) => Some(bytes[0]),
            _ => None,
        }
    }
}

fn neon_like_hits(c: &mut Criterion) {
    let rt = runtime();
    let cache = NeonLikeCache::filled(N_PAGES);
    let order = pages(READS, N_PAGES);
    let mut group = c.benchmark_group("strata-cache");
    group.throughput(Throughput::Elements(READS));
    group.bench_function("neon-like-hit", |b| {
        b.iter(|| {
            rt.block_on(async {
                for &p in &order {
                    black_box(cache.read_first_byte(p.0).await.expect("hit"));
                }
            })
        })
    });
    group.finish();
}

fn misses(c: &mut Criterion) {
    let rt = runtime();
    // A cache of a quarter of the pages read at random: about three reads in four miss and evict.
    let cache = PageCache::new(N_PAGES as usize / 4);
    let reader = cache.wrap(source());
    let order = pages(READS, N_PAGES);
    let mut group = c.benchmark_group("strata-cache");
    group.throughput(Throughput::Elements(READS));
    group.bench_function("mostly-miss", |b| {
        b.iter(|| {
            rt.block_on(async {
                for &p in &order {
                    black_box(reader.read_block(p).await.expect("read"));
                }
            })
        })
    });
    group.finish();
}

fn concurrent_hits(c: &mut Criterion) {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    let cache = PageCache::new(N_PAGES as usize);
    let reader = std::sync::Arc::new(cache.wrap(source()));
    let order = std::sync::Arc::new(pages(READS, N_PAGES));
    rt.block_on(async {
        for &p in order.iter() {
            reader.read_block(p).await.expect("warm");
        }
    });
    let mut group = c.benchmark_group("strata-cache");
    group.throughput(Throughput::Elements(READS * 4));
    group.bench_function("hit-4-tasks", |b| {
        b.iter(|| {
            rt.block_on(async {
                let tasks: Vec<_> = (0..4)
                    .map(|_| {
                        let reader = reader.clone();
                        let order = order.clone();
                        tokio::spawn(async move {
                            for &p in order.iter() {
                                black_box(reader.read_block(p).await.expect("hit"));
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.expect("task");
                }
            })
        })
    });
    group.finish();
}

criterion_group!(benches, hits, neon_like_hits, misses, concurrent_hits);
criterion_main!(benches);
