//! The image workload: `K = 300, S = 8192, seed 42` is the golden `stdsmall` byte for byte, and
//! `image_of` (random access) agrees with the sequential stream for other sizes.

use anyhow::Result;
use strata_blob::StdFs;
use strata_image::{ImageLayerWriterOptions, ImageWorkloadParams, write_image_workload};
use strata_testkit::image_layer_bytes;

use crate::support::assert_same_file;

#[test]
fn stdsmall_is_the_image_workload() -> Result<()> {
    let params = ImageWorkloadParams {
        keys: 300,
        image_size: 8192,
        seed: 42,
    };
    let dir = tempfile::tempdir()?;
    let mut calls = 0;
    let opts = ImageLayerWriterOptions::default();
    let desc = write_image_workload(StdFs, &params, dir.path(), opts, |_| calls += 1)?;
    assert_eq!(calls, 300);
    assert_same_file(
        "stdsmall",
        &std::fs::read(&desc.path)?,
        &image_layer_bytes("stdsmall"),
    )
}

#[test]
fn random_access_images_match_the_stream() {
    for image_size in [0, 1, 7, 8, 13, 8192] {
        let params = ImageWorkloadParams {
            keys: 20,
            image_size,
            seed: 5,
        };
        let mut images = params.images();
        let (mut seq, mut direct) = (Vec::new(), Vec::new());
        let mut k = 0;
        while images.next_into(&mut seq).is_some() {
            params.image_of(k, &mut direct);
            assert_eq!(seq, direct, "S = {image_size}, k = {k}");
            k += 1;
        }
        assert_eq!(k, 20);
    }
}
