//! The image workload of WORKLOAD.md ("The image workload"): `K` keys `key(k)`, each with
//! `rng.bytes(S)` from one splitmix64 stream, at LSN `0x1000000`, key range
//! `key(0)..key(K-1).next()`. [`ImageWorkload`] yields it image by image;
//! [`write_image_workload`] writes it (the golden `stdsmall` is K = 300, S = 8192, seed 42).
//!
//! Invariant: the output is a function of the [`ImageWorkloadParams`] alone; the images are
//! generated one at a time into a reused buffer, so memory does not grow with `K`.

use std::path::Path;

use strata_blob::Fs;
use strata_key::{Key, KeyRange, Lsn};
use strata_layer::{
    LayerDesc, SplitMix64, WORKLOAD_LSN_BASE, WORKLOAD_TENANT, WORKLOAD_TIMELINE, workload_key,
};

use crate::error::Error;
use crate::writer::{ImageLayerWriter, ImageLayerWriterOptions};

/// Parameters of the image workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageWorkloadParams {
    /// `K`: number of keys (at least 1 for a writable layer).
    pub keys: u64,
    /// `S`: image size in bytes.
    pub image_size: usize,
    /// The random seed.
    pub seed: u64,
}

impl Default for ImageWorkloadParams {
    /// `K = 20000, S = 8192, seed 42`.
    fn default() -> ImageWorkloadParams {
        ImageWorkloadParams {
            keys: 20_000,
            image_size: 8192,
            seed: 42,
        }
    }
}

impl ImageWorkloadParams {
    /// The layer's one LSN.
    pub fn lsn(&self) -> Lsn {
        Lsn(WORKLOAD_LSN_BASE)
    }

    /// `key(0) .. key(K-1).next()`.
    pub fn key_range(&self) -> KeyRange {
        KeyRange::new(
            workload_key(0),
            workload_key(self.keys.saturating_sub(1)).next(),
        )
    }

    /// The image of `key(k)`, written into `buf` (resized to `S`), without generating the
    /// images before it: `key(k)`'s bytes are outputs `k * ceil(S/8) ..` of the stream.
    pub fn image_of(&self, k: u64, buf: &mut Vec<u8>) {
        let words = self.image_size.div_ceil(8) as u64;
        buf.resize(self.image_size, 0);
        SplitMix64::at(self.seed, k.wrapping_mul(words)).fill(buf);
    }

    /// The workload's images in key order.
    pub fn images(&self) -> ImageWorkload {
        ImageWorkload {
            params: *self,
            rng: SplitMix64::new(self.seed),
            k: 0,
        }
    }
}

/// The image workload's images, in key order.
#[derive(Clone, Debug)]
pub struct ImageWorkload {
    params: ImageWorkloadParams,
    rng: SplitMix64,
    k: u64,
}

impl ImageWorkload {
    /// The next key, its image written into `buf` (resized to `S`); `None` after `K` keys.
    pub fn next_into(&mut self, buf: &mut Vec<u8>) -> Option<Key> {
        if self.k >= self.params.keys {
            return None;
        }
        buf.resize(self.params.image_size, 0);
        self.rng.fill(buf);
        let key = workload_key(self.k);
        self.k += 1;
        Some(key)
    }
}

/// Writes the image workload into `dir` through `fs`, calling `progress` after each image.
pub fn write_image_workload<F: Fs>(
    fs: F,
    params: &ImageWorkloadParams,
    dir: &Path,
    opts: ImageLayerWriterOptions,
    mut progress: impl FnMut(u64),
) -> Result<LayerDesc, Error> {
    let mut w = ImageLayerWriter::with_fs(
        fs,
        dir,
        WORKLOAD_TENANT,
        WORKLOAD_TIMELINE,
        params.key_range(),
        params.lsn(),
        opts,
    )?;
    let mut images = params.images();
    let mut buf = Vec::with_capacity(params.image_size);
    while let Some(key) = images.next_into(&mut buf) {
        w.put_image(key, &buf)?;
        progress(w.n_entries());
    }
    w.finish()
}
