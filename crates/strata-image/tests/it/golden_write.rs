//! The writer reproduces every golden image layer Neon wrote, byte for byte, from the entries
//! its data generator describes (`golden-image/README`), under Neon's final name.

use anyhow::Result;
use strata_testkit::{image_cases, image_layer_bytes};

use crate::support::{assert_same_file, golden_entries, write_layer};

#[test]
fn every_golden_image_layer_is_reproduced_byte_for_byte() -> Result<()> {
    let cases = image_cases();
    assert_eq!(cases.len(), 7);
    for case in &cases {
        let (m, entries) = golden_entries(case)?;
        let dir = tempfile::tempdir()?;
        let desc = write_layer(dir.path(), m.key_range, m.lsn, &entries)?;
        let ours = std::fs::read(&desc.path)?;
        assert_same_file(case, &ours, &image_layer_bytes(case))?;
        assert_eq!(desc.file_size, m.file_size, "{case}");
        assert_eq!(desc.n_entries as usize, m.entries.len(), "{case}");
        // Neon's name, and nothing else left in the directory.
        let names: Vec<String> = std::fs::read_dir(dir.path())?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<Result<_, _>>()?;
        assert_eq!(names, std::slice::from_ref(&desc.file_name), "{case}");
        let name = strata_key::ImageLayerName::new(m.key_range, m.lsn).to_string();
        assert_eq!(desc.file_name, name, "{case}");
    }
    Ok(())
}
