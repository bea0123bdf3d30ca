//! The types against the golden files Neon wrote (read through `strata-testkit`): every key and
//! LSN text in the manifests formats back byte for byte, entries in index order are in `Key`/`Lsn`
//! order, each layer's bytes 4..96 decode under Neon's bincode options to the manifest's ids and
//! ranges, and the layer name Neon would give each file parses back to those ranges.
//!
//! The golden directory holds no layer file names, so the names here are built with FORMAT.md
//! section 10's format from the manifests' own range texts.

use bincode::Options;
use strata_key::name::classify;
use strata_key::{
    DeltaLayerName, ImageLayerName, Key, KeyRange, LayerName, Lsn, LsnRange, TenantId, TimelineId,
};
use strata_testkit::{Manifest, golden_cases, layer_bytes};

/// The two values of the manifest line starting with `tag`.
fn pair<'a>(text: &'a str, tag: &str) -> (&'a str, &'a str) {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(tag))
        .unwrap_or_else(|| panic!("no {tag} line"));
    let mut parts = line.split_whitespace();
    (parts.next().unwrap(), parts.next().unwrap())
}

/// The single value of the manifest line starting with `tag`.
fn one<'a>(text: &'a str, tag: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(tag))
        .unwrap_or_else(|| panic!("no {tag} line"))
}

#[test]
fn summary_texts_and_bytes() {
    let cases = golden_cases();
    assert!(cases.len() >= 9, "{cases:?}");
    for case in cases {
        let m = Manifest::load(&case);
        let s = &m.summary;
        let (ks, ke) = pair(&m.text, "summary.key_range ");
        let (ls, le) = pair(&m.text, "summary.lsn_range ");
        assert_eq!(s.key_range.start.to_string(), ks, "{case}");
        assert_eq!(s.key_range.end.to_string(), ke, "{case}");
        assert_eq!(s.lsn_range.start.to_hex16(), ls, "{case}");
        assert_eq!(s.lsn_range.end.to_hex16(), le, "{case}");
        assert_eq!(Lsn::from_hex16(ls), Ok(s.lsn_range.start), "{case}");
        assert_eq!(Lsn::from_hex16(le), Ok(s.lsn_range.end), "{case}");
        assert_eq!(s.tenant_id.to_string(), one(&m.text, "summary.tenant_id "));
        assert_eq!(
            s.timeline_id.to_string(),
            one(&m.text, "summary.timeline_id ")
        );
        assert!(!s.key_range.is_empty() && !s.lsn_range.is_empty(), "{case}");

        // The summary bytes, decoded with Neon's BeSer options.
        let bytes = layer_bytes(&case);
        let opts = bincode::DefaultOptions::new()
            .with_big_endian()
            .with_fixint_encoding();
        let summary = bytes.get(..96).expect("a summary");
        type Fields = (u16, u16, TenantId, TimelineId, KeyRange, LsnRange, u32, u32);
        let f: Fields = opts.deserialize(summary).unwrap();
        assert_eq!(f.0, s.magic, "{case}");
        assert_eq!(f.2, s.tenant_id, "{case}");
        assert_eq!(f.3, s.timeline_id, "{case}");
        assert_eq!(f.4, s.key_range, "{case}");
        assert_eq!(f.5, s.lsn_range, "{case}");
        assert_eq!((f.6, f.7), (s.index_start_blk, s.index_root_blk), "{case}");
        assert_eq!(opts.serialize(&f).unwrap(), summary, "{case}");
        assert_eq!(Key::from_slice(&summary[36..]), Some(s.key_range.start));
        assert_eq!(Key::from_slice(&summary[54..]), Some(s.key_range.end));

        // The file's name, as Neon would give it.
        let text = format!("{ks}-{ke}__{ls}-{le}");
        let name = DeltaLayerName::new(s.key_range, s.lsn_range);
        assert_eq!(name.to_string(), text, "{case}");
        assert_eq!(DeltaLayerName::parse(&text), Ok(name), "{case}");
        assert_eq!(
            classify(&text).unwrap().to_string(),
            text,
            "{case}: classify"
        );
        let generation = format!("{text}-v1-00000002");
        assert_eq!(
            LayerName::parse(&generation).unwrap().lsn_range(),
            s.lsn_range
        );
    }
}

#[test]
fn golden_key_ranges_cover_the_extremes() {
    let m = Manifest::load("extremes");
    assert_eq!(
        m.summary.key_range,
        KeyRange::new(Key::MIN, Key::MAX),
        "extremes spans every key"
    );
    assert_eq!(
        m.summary.lsn_range,
        LsnRange::new(Lsn(0), Lsn::MAX),
        "and every LSN"
    );
    // Its largest entry key is MAX - 1, whose next() is the exclusive end.
    let last = m.entries.last().unwrap().key;
    assert_eq!(last.checked_next(), Some(Key::MAX));
    // The compact i128 form exists for the relation keys and not for field1 = 0xFF.
    assert!(m.entries.first().unwrap().key.to_i128().is_some());
    assert_eq!(last.to_i128(), None);
}

#[test]
fn entry_texts_and_order() {
    // btree3's 150 000 entries cost too much in a debug build; the others hold every kind of
    // key (relation, SLRU, aux, MIN/MAX neighbours).
    for case in golden_cases().into_iter().filter(|c| c != "btree3") {
        let m = Manifest::load(&case);
        let lines = m.text.lines().filter(|l| l.starts_with("E "));
        let mut n = 0;
        for (line, e) in lines.zip(&m.entries) {
            let mut f = line.split(' ').skip(1);
            let (key_text, lsn_text) = (f.next().unwrap(), f.next().unwrap());
            assert_eq!(e.key.to_string(), key_text, "{case}");
            assert_eq!(e.lsn.to_hex16(), lsn_text, "{case}");
            assert_eq!(key_text.parse::<Key>(), Ok(e.key), "{case}");
            assert!(m.summary.key_range.contains(&e.key), "{case}: {line}");
            assert!(m.summary.lsn_range.contains(e.lsn), "{case}: {line}");
            n += 1;
        }
        assert_eq!(n, m.entries.len(), "{case}");
        // Index order is (key, lsn) order, and byte order of the 26-byte delta key.
        for w in m.entries.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            assert!((a.key, a.lsn) < (b.key, b.lsn), "{case}: {a:?} {b:?}");
            let bytes = |k: Key, l: Lsn| [k.to_array().as_slice(), &l.to_be_bytes()].concat();
            assert!(bytes(a.key, a.lsn) < bytes(b.key, b.lsn), "{case}");
        }
        // key_range.end is the last key's next(), as the README says the writer chose it.
        assert_eq!(m.entries[0].key, m.summary.key_range.start, "{case}");
        let last = m.entries.last().unwrap();
        assert_eq!(last.key.next(), m.summary.key_range.end, "{case}");
        // An image layer over each key at each of its LSNs has a name that round-trips.
        for e in m.entries.iter().step_by(97) {
            if let (Some(end), false) = (e.key.checked_next(), e.lsn == Lsn::MAX) {
                let name = ImageLayerName::new(KeyRange::new(e.key, end), e.lsn);
                assert_eq!(ImageLayerName::parse(&name.to_string()), Ok(name));
            }
        }
    }
}
