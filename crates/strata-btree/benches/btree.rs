//! Criterion benches of the B-tree: build throughput, warm point gets in a 3-level in-memory
//! tree, and a full forward scan. In-memory reads complete at once, so the async reader is
//! polled directly (`testing::poll_ready`): the numbers exclude any runtime overhead.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use strata_blob::{BlockBuf, MemBlockReader};
use strata_btree::testing::poll_ready;
use strata_btree::{DiskBtreeBuilder, DiskBtreeReader, MAX_VALUE, VisitDirection};

const N: usize = 200_000;

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `N` sorted random 26-byte keys (they barely compress: a 3-level tree).
fn entries() -> Vec<([u8; 26], u64)> {
    let mut state = 1;
    let mut map = BTreeMap::new();
    while map.len() < N {
        let mut key = [0u8; 26];
        for chunk in key.chunks_mut(8) {
            chunk.copy_from_slice(&splitmix(&mut state).to_be_bytes()[..chunk.len()]);
        }
        map.insert(key, splitmix(&mut state) & MAX_VALUE);
    }
    map.into_iter().collect()
}

fn build(entries: &[([u8; 26], u64)]) -> (u32, BlockBuf) {
    let mut builder = DiskBtreeBuilder::<_, 26>::new(BlockBuf::new());
    for (key, value) in entries {
        builder.append(key, *value).expect("sorted input");
    }
    builder.finish().expect("non-empty")
}

fn benches(c: &mut Criterion) {
    let entries = entries();
    let (root, buf) = build(&entries);
    let tree = DiskBtreeReader::<MemBlockReader, 26>::new(0, root, buf.into_reader());
    let depth = poll_ready(tree.depth()).and_then(Result::ok);
    assert_eq!(depth, Some(3), "the get bench wants a 3-level tree");

    let mut group = c.benchmark_group("strata-btree/build");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(10);
    group.bench_function("random26", |b| b.iter(|| black_box(build(&entries))));
    group.finish();

    let mut group = c.benchmark_group("strata-btree/get");
    let mut state = 9;
    group.bench_function("warm_3_levels", |b| {
        b.iter_batched(
            || entries[(splitmix(&mut state) % N as u64) as usize].0,
            |key| poll_ready(tree.get(&key)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("warm_3_levels_absent", |b| {
        b.iter_batched(
            || {
                let mut key = entries[(splitmix(&mut state) % N as u64) as usize].0;
                key[25] ^= 1;
                key
            },
            |key| poll_ready(tree.get(&key)),
            BatchSize::SmallInput,
        )
    });
    group.finish();

    let mut group = c.benchmark_group("strata-btree/scan");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(10);
    group.bench_function("forwards", |b| {
        b.iter(|| {
            let mut n = 0u64;
            let done = poll_ready(tree.visit(&[0; 26], VisitDirection::Forwards, |_, v| {
                n = n.wrapping_add(v);
                true
            }));
            black_box((done.map(|r| r.is_ok()), n))
        })
    });
    group.bench_function("iter_backwards", |b| {
        b.iter(|| {
            let mut iter = tree.iter(&[0xff; 26], VisitDirection::Backwards);
            let mut n = 0u64;
            while let Some(Some(Ok((_, v)))) = poll_ready(iter.next()) {
                n = n.wrapping_add(v);
            }
            black_box(n)
        })
    });
    group.finish();
}

criterion_group!(btree, benches);
criterion_main!(btree);
