//! Property tests of layer and temp names, and the `key_name_parse` fuzz oracle
//! (`strata_key::testing::check_text`/`check_bytes`) under `cargo test`: names generated from parts
//! format and parse back (also lowercased), any one-character deletion or foreign-character
//! substitution in a valid name is a typed error, and the oracle holds on arbitrary text, bytes
//! and mutations of valid names.

use proptest::prelude::*;
use strata_key::name::{Generation, GenerationSuffix, NameKind, TempRandom, classify};
use strata_key::testing::{check_bytes, check_text};
use strata_key::{
    DeltaLayerName, ImageLayerName, Key, KeyRange, LayerName, Lsn, LsnRange, TempLayerName,
};

fn key() -> impl Strategy<Value = Key> {
    prop_oneof![
        Just(Key::MIN),
        Just(Key::MAX),
        any::<[u8; 18]>().prop_map(|b| Key::from_array(&b)),
        (any::<u32>(), any::<u32>()).prop_map(|(f4, f6)| Key {
            field1: 0,
            field2: 1663,
            field3: 16384,
            field4: f4,
            field5: 0,
            field6: f6,
        }),
    ]
}

fn lsn() -> impl Strategy<Value = Lsn> {
    prop_oneof![
        Just(Lsn(0)),
        Just(Lsn::MAX),
        Just(Lsn(u64::MAX - 1)),
        any::<u64>().prop_map(Lsn),
        (0u64..0x1_0000_0000).prop_map(Lsn),
    ]
}

/// A non-empty key range.
fn key_range() -> impl Strategy<Value = KeyRange> {
    (key(), key())
        .prop_filter("distinct keys", |(a, b)| a != b)
        .prop_map(|(a, b)| KeyRange::new(a.min(b), a.max(b)))
}

/// A non-empty LSN range.
fn lsn_range() -> impl Strategy<Value = LsnRange> {
    (lsn(), lsn())
        .prop_filter("distinct lsns", |(a, b)| a != b)
        .prop_map(|(a, b)| LsnRange::new(a.min(b), a.max(b)))
}

fn generation() -> impl Strategy<Value = Option<GenerationSuffix>> {
    prop_oneof![
        Just(None),
        any::<u32>().prop_map(|g| Some(GenerationSuffix::Local(Generation(g)))),
        any::<u32>().prop_map(|g| Some(GenerationSuffix::Remote(Generation(g)))),
    ]
}

fn layer_name() -> impl Strategy<Value = LayerName> {
    let delta = (key_range(), lsn_range(), generation()).prop_map(|(k, l, g)| {
        LayerName::Delta(DeltaLayerName {
            key_range: k,
            lsn_range: l,
            generation: g,
        })
    });
    let image = (
        key_range(),
        lsn().prop_filter("image lsn", |l| *l != Lsn::MAX),
        generation(),
    )
        .prop_map(|(k, lsn, g)| {
            LayerName::Image(ImageLayerName {
                key_range: k,
                lsn,
                generation: g,
            })
        });
    prop_oneof![delta, image]
}

fn temp_name() -> impl Strategy<Value = TempLayerName> {
    let random = "[A-Za-z0-9]{8}".prop_map(|s| TempRandom::new(&s).unwrap());
    let delta = (key(), lsn_range(), random.clone()).prop_map(|(key_start, lsn_range, random)| {
        TempLayerName::Delta {
            key_start,
            lsn_range,
            random,
        }
    });
    let image = (
        key_range(),
        lsn().prop_filter("image lsn", |l| *l != Lsn::MAX),
        random,
    )
        .prop_map(|(k, lsn, random)| TempLayerName::Image {
            name: ImageLayerName::new(k, lsn),
            random,
        });
    prop_oneof![delta, image]
}

/// Any valid file name, final or temp, as text.
fn any_name() -> impl Strategy<Value = String> {
    prop_oneof![
        layer_name().prop_map(|n| n.to_string()),
        temp_name().prop_map(|n| n.to_string()),
    ]
}

/// One edit of a byte string.
#[derive(Debug, Clone)]
enum Mutation {
    Replace(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
    /// Copies `len` bytes from `from` to just after them.
    Duplicate(usize, usize),
    Swap(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Bytes a name is made of, its near misses, and bytes that break UTF-8.
    let byte = prop_oneof![
        prop::sample::select(b"0123456789abcdefABCDEFgGxXv-_.1/ +\n".to_vec()),
        any::<u8>(),
    ];
    let at = any::<prop::sample::Index>();
    prop_oneof![
        (at.clone(), byte.clone()).prop_map(|(i, b)| Mutation::Replace(i.index(usize::MAX), b)),
        (at.clone(), byte).prop_map(|(i, b)| Mutation::Insert(i.index(usize::MAX), b)),
        at.clone()
            .prop_map(|i| Mutation::Delete(i.index(usize::MAX))),
        at.clone()
            .prop_map(|i| Mutation::Truncate(i.index(usize::MAX))),
        (at.clone(), 1usize..20).prop_map(|(i, n)| Mutation::Duplicate(i.index(usize::MAX), n)),
        (at.clone(), at)
            .prop_map(|(i, j)| Mutation::Swap(i.index(usize::MAX), j.index(usize::MAX))),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len().max(1);
    match *m {
        Mutation::Replace(i, b) => {
            if let Some(x) = bytes.get_mut(i % len) {
                *x = b;
            }
        }
        Mutation::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
        Mutation::Delete(i) => {
            if !bytes.is_empty() {
                bytes.remove(i % len);
            }
        }
        Mutation::Truncate(i) => bytes.truncate(i % len),
        Mutation::Duplicate(i, n) => {
            let start = i % len;
            let end = (start + n).min(bytes.len());
            let copy = bytes.get(start..end).unwrap_or_default().to_vec();
            bytes.splice(end..end, copy);
        }
        Mutation::Swap(i, j) => {
            if !bytes.is_empty() {
                bytes.swap(i % len, j % len);
            }
        }
    }
}

proptest! {
    #[test]
    fn layer_names_round_trip(name in layer_name()) {
        let text = name.to_string();
        prop_assert_eq!(LayerName::parse(&text), Ok(name));
        prop_assert_eq!(classify(&text), Ok(NameKind::Layer(name)));
        prop_assert_eq!(LayerName::parse(&text.to_ascii_lowercase()), Ok(name));
        prop_assert_eq!(LayerName::parse(&text.to_ascii_uppercase().replace("-V1-", "-v1-")), Ok(name));
        match name {
            LayerName::Delta(d) => prop_assert_eq!(DeltaLayerName::parse(&text), Ok(d)),
            LayerName::Image(i) => prop_assert_eq!(ImageLayerName::parse(&text), Ok(i)),
        }
        prop_assert_eq!(name.key_range().is_empty(), false);
        prop_assert!(!name.lsn_range().is_empty());
    }

    #[test]
    fn temp_names_round_trip(temp in temp_name()) {
        let text = temp.to_string();
        prop_assert!(text.ends_with(".___temp"), "{}", text);
        prop_assert_eq!(TempLayerName::parse(&text), Ok(temp));
        prop_assert_eq!(classify(&text), Ok(NameKind::Temp(temp)));
        prop_assert!(LayerName::parse(&text).is_err());
    }

    #[test]
    fn deleting_any_character_breaks_a_final_name(name in layer_name(), at in any::<prop::sample::Index>()) {
        let text = name.to_string();
        let i = at.index(text.len());
        let shorter = format!("{}{}", &text[..i], &text[i + 1..]);
        prop_assert!(LayerName::parse(&shorter).is_err(), "{} parsed", shorter);
    }

    #[test]
    fn a_foreign_character_breaks_a_final_name(
        name in layer_name(),
        at in any::<prop::sample::Index>(),
        c in prop::sample::select(vec!['g', 'Z', 'x', ' ', '+', '.', '/', 'é', '\0']),
    ) {
        let text = name.to_string();
        let i = at.index(text.len());
        let changed = format!("{}{c}{}", &text[..i], &text[i + 1..]);
        prop_assert!(LayerName::parse(&changed).is_err(), "{} parsed", changed);
    }

    #[test]
    fn oracle_on_valid_names(text in any_name()) {
        // A final name is accepted by LayerName, NameKind and classify; a temp name by
        // TempLayerName, NameKind and classify. Nothing else takes either.
        prop_assert_eq!(check_text(&text), 3, "{}", text);
        // Lowercase hex is accepted too; the `XXX` of a delta temp name is literal.
        let lower = text.to_ascii_lowercase().replace("-xxx__", "-XXX__");
        prop_assert_eq!(check_text(&lower), 3, "{}", lower);
    }

    #[test]
    fn oracle_on_mutated_names(text in any_name(), edits in proptest::collection::vec(mutation(), 1..4)) {
        let mut bytes = text.into_bytes();
        for m in &edits {
            apply(&mut bytes, m);
        }
        let n = check_bytes(&bytes);
        prop_assert!(n <= 3);
    }

    #[test]
    fn oracle_on_arbitrary_text(text in any::<String>()) {
        check_text(&text);
    }

    #[test]
    fn oracle_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        check_bytes(&bytes);
    }

    #[test]
    fn oracle_on_hexish_text(text in "[0-9a-fA-F/_.v-]{0,120}") {
        check_text(&text);
    }
}

#[test]
fn oracle_counts_what_each_form_is() {
    assert_eq!(
        check_text("000000067F000032BE0000400000000020B6"),
        1,
        "a key"
    );
    assert_eq!(
        check_text("11223344556677889900aabbccddeeff"),
        2,
        "tenant and timeline id"
    );
    assert_eq!(check_text("0000000001696070"), 2, "from_hex16 and from_hex");
    assert_eq!(
        check_text("0000000a"),
        3,
        "generation, temp random part, from_hex"
    );
    assert_eq!(check_text("abcdefgh"), 1, "only the temp random part");
    assert_eq!(check_text("1/1696070"), 1, "the X/Y form");
    assert_eq!(check_text("a"), 1, "from_hex");
    assert_eq!(check_text(""), 0);
    assert_eq!(check_text("garbage___temp"), 0);
    assert_eq!(check_bytes(&[0xFF, 0xFE, b'0']), 0);
}
