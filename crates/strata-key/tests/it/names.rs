//! Final layer file names (FORMAT.md section 10): delta and image forms, the local `-v1-` and
//! remote generation suffixes, canonical formatting, and the specific `ParseError` of each
//! malformed name. Temp names are in `tests/it/temp_names.rs`.

use strata_key::name::{Generation, GenerationSuffix};
use strata_key::{
    DeltaLayerName, ImageLayerName, Key, KeyRange, LayerName, Lsn, LsnRange, ParseError,
};

const K_MIN: &str = "000000000000000000000000000000000000";
const K_MAX: &str = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF";
const KA: &str = "000000067F000032BE0000400000000020B6";
const KB: &str = "000000067F000032BE0000400000000030B6";
const L1: &str = "0000000001696070";
const L2: &str = "00000000016960E9";

/// The L0 delta name of FORMAT.md section 10.
fn l0_name() -> String {
    format!("{K_MIN}-{K_MAX}__{L1}-{L2}")
}

fn delta(keys: (&str, &str), lsns: (&str, &str)) -> String {
    format!("{}-{}__{}-{}", keys.0, keys.1, lsns.0, lsns.1)
}

fn image(keys: (&str, &str), lsn: &str) -> String {
    format!("{}-{}__{lsn}", keys.0, keys.1)
}

fn k(s: &str) -> Key {
    s.parse().unwrap()
}

fn l(s: &str) -> Lsn {
    Lsn::from_hex16(s).unwrap()
}

#[test]
fn l0_delta_name_from_the_spec() {
    let text = l0_name();
    let name = LayerName::parse(&text).unwrap();
    let want = DeltaLayerName::new(
        KeyRange::new(Key::MIN, Key::MAX),
        LsnRange::new(Lsn(0x1696070), Lsn(0x16960E9)),
    );
    assert_eq!(name, LayerName::Delta(want));
    assert!(name.is_delta());
    assert_eq!(name.key_range(), want.key_range);
    assert_eq!(name.lsn_range(), want.lsn_range);
    assert_eq!(name.generation(), None);
    assert_eq!(name.to_string(), text);
    assert_eq!(want.to_string(), text);
    assert_eq!(DeltaLayerName::parse(&text), Ok(want));
    assert_eq!(text.parse::<DeltaLayerName>(), Ok(want));
    assert_eq!(text.parse::<LayerName>(), Ok(name));
    assert_eq!(LayerName::from(want), name);
}

#[test]
fn image_name() {
    let text = image((KA, KB), L2);
    let name = LayerName::parse(&text).unwrap();
    let want = ImageLayerName::new(KeyRange::new(k(KA), k(KB)), l(L2));
    assert_eq!(name, LayerName::Image(want));
    assert!(!name.is_delta());
    assert_eq!(name.key_range(), KeyRange::new(k(KA), k(KB)));
    assert_eq!(name.lsn_range(), LsnRange::new(l(L2), Lsn(l(L2).0 + 1)));
    assert_eq!(want.lsn_range(), name.lsn_range());
    assert_eq!(name.to_string(), text);
    assert_eq!(ImageLayerName::parse(&text), Ok(want));
    assert_eq!(text.parse::<ImageLayerName>(), Ok(want));
    assert_eq!(LayerName::from(want), name);
    // The largest LSN an image name can carry.
    let top = image((KA, KB), "FFFFFFFFFFFFFFFE");
    assert_eq!(
        ImageLayerName::parse(&top).unwrap().lsn_range(),
        LsnRange::new(Lsn(u64::MAX - 1), Lsn::MAX)
    );
}

#[test]
fn typed_parsers_refuse_the_other_kind() {
    let d = l0_name();
    let i = image((KA, KB), L1);
    assert!(matches!(
        ImageLayerName::parse(&d),
        Err(ParseError::Malformed {
            what: "image layer name",
            ..
        })
    ));
    assert!(matches!(
        DeltaLayerName::parse(&i),
        Err(ParseError::Malformed {
            what: "delta layer name",
            ..
        })
    ));
}

#[test]
fn generation_suffixes() {
    let local = |g| Some(GenerationSuffix::Local(Generation(g)));
    let remote = |g| Some(GenerationSuffix::Remote(Generation(g)));
    let cases = [
        (format!("{}-v1-0000000a", l0_name()), true, local(10)),
        (format!("{}-v1-ffffffff", l0_name()), true, local(u32::MAX)),
        (format!("{}-00000001", l0_name()), true, remote(1)),
        (
            format!("{}-v1-00000000", image((KA, KB), L1)),
            false,
            local(0),
        ),
        (
            format!("{}-deadbeef", image((KA, KB), L1)),
            false,
            remote(0xDEAD_BEEF),
        ),
    ];
    for (text, is_delta, generation) in cases {
        let name = LayerName::parse(&text).unwrap();
        assert_eq!(name.is_delta(), is_delta, "{text}");
        assert_eq!(name.generation(), generation, "{text}");
        assert_eq!(name.to_string(), text);
        let base = text.rsplit_once('-').unwrap().0.trim_end_matches("-v1");
        let stripped = match name {
            LayerName::Delta(d) => d.without_generation().to_string(),
            LayerName::Image(i) => i.without_generation().to_string(),
        };
        assert_eq!(stripped, base);
    }
}

#[test]
fn generation_and_suffix_forms() {
    assert_eq!(Generation(0xA).to_string(), "0000000a");
    assert_eq!("0000000A".parse::<Generation>(), Ok(Generation(10)));
    assert_eq!("ffffffff".parse::<Generation>(), Ok(Generation(u32::MAX)));
    assert!(matches!(
        "a".parse::<Generation>(),
        Err(ParseError::Length {
            what: "generation",
            expected: 8,
            got: 1
        })
    ));
    assert!(matches!(
        "+0000001".parse::<Generation>(),
        Err(ParseError::InvalidChar {
            what: "generation",
            ..
        })
    ));
    let local = GenerationSuffix::Local(Generation(0x1F));
    let remote = GenerationSuffix::Remote(Generation(0x1F));
    assert_eq!(local.to_string(), "-v1-0000001f");
    assert_eq!(remote.to_string(), "-0000001f");
    assert_eq!(local.generation(), Generation(0x1F));
    assert_eq!(remote.generation(), Generation(0x1F));
}

#[test]
fn lowercase_names_parse_and_format_canonically() {
    let text = format!("{}-v1-0000ABCD", delta((KA, KB), (L1, L2))).to_ascii_lowercase();
    let name = LayerName::parse(&text).unwrap();
    let want = format!("{}-v1-0000abcd", delta((KA, KB), (L1, L2)));
    assert_eq!(name.to_string(), want);
    assert_eq!(LayerName::parse(&want), Ok(name));
}

#[test]
fn hand_built_empty_ranges_display_as_names_that_do_not_parse() {
    let d = DeltaLayerName::new(KeyRange::new(k(KA), k(KA)), LsnRange::new(l(L1), l(L2)));
    assert!(matches!(
        LayerName::parse(&d.to_string()),
        Err(ParseError::EmptyRange {
            what: "key range",
            ..
        })
    ));
    let i = ImageLayerName::new(KeyRange::new(k(KA), k(KB)), Lsn::MAX);
    assert_eq!(i.lsn_range(), LsnRange::new(Lsn::MAX, Lsn::MAX));
    assert!(matches!(
        LayerName::parse(&i.to_string()),
        Err(ParseError::Overflow {
            what: "image layer lsn",
            ..
        })
    ));
}

/// Asserts `text` is rejected by every final-name parser with an error `check` accepts.
#[track_caller]
fn rejects(text: &str, check: impl Fn(&ParseError) -> bool) {
    let err = LayerName::parse(text).expect_err(text);
    assert!(check(&err), "{text:?} gave {err:?}");
    assert!(DeltaLayerName::parse(text).is_err(), "{text:?}");
    assert!(ImageLayerName::parse(text).is_err(), "{text:?}");
}

fn is_length(what: &'static str, got: usize) -> impl Fn(&ParseError) -> bool {
    move |e| matches!(e, ParseError::Length { what: w, got: g, .. } if *w == what && *g == got)
}

fn is_invalid(what: &'static str) -> impl Fn(&ParseError) -> bool {
    move |e| matches!(e, ParseError::InvalidChar { what: w, .. } if *w == what)
}

fn is_empty_range(what: &'static str) -> impl Fn(&ParseError) -> bool {
    move |e| matches!(e, ParseError::EmptyRange { what: w, .. } if *w == what)
}

fn is_malformed(reason: &'static str) -> impl Fn(&ParseError) -> bool {
    move |e| matches!(e, ParseError::Malformed { reason: r, .. } if *r == reason)
}

#[test]
fn wrong_lengths() {
    rejects(&delta((&KA[1..], KB), (L1, L2)), is_length("key", 35));
    rejects(
        &delta((KA, &format!("{KB}0")), (L1, L2)),
        is_length("key", 37),
    );
    rejects(&delta(("", KB), (L1, L2)), is_length("key", 0));
    rejects(&delta((KA, KB), (&L1[1..], L2)), is_length("lsn", 15));
    rejects(
        &delta((KA, KB), (L1, &format!("0{L2}"))),
        is_length("lsn", 17),
    );
    // Neon takes any LSN length; we need the canonical 16 digits.
    rejects(
        &delta((KA, KB), ("1696070", "16960E9")),
        is_length("lsn", 7),
    );
    rejects(&image((KA, KB), "1696070"), is_length("lsn", 7));
    rejects(&delta((KA, KB), (L1, "")), is_length("lsn", 0));
    rejects(&image((KA, KB), ""), is_length("lsn", 0));
}

#[test]
fn non_hex_fields() {
    let bad_key = format!("{}G", &KA[..35]);
    rejects(&delta((&bad_key, KB), (L1, L2)), is_invalid("key"));
    rejects(
        &delta((KA, &format!("+{}", &KB[1..])), (L1, L2)),
        is_invalid("key"),
    );
    rejects(
        &delta((KA, KB), (&format!("+{}", &L1[1..]), L2)),
        is_invalid("lsn"),
    );
    rejects(
        &delta((KA, KB), (L1, &format!("{} ", &L2[..15]))),
        is_invalid("lsn"),
    );
    rejects(
        &image((KA, KB), &format!("{}x", &L1[..15])),
        is_invalid("lsn"),
    );
    // Non-ASCII is refused before anything else, wherever it is.
    let text = l0_name().replace("__", "＿");
    rejects(&text, is_invalid("layer name"));
    rejects(&format!("{}é", l0_name()), is_invalid("layer name"));
    rejects(
        &format!("{}-v1-0000000é", l0_name()),
        is_invalid("layer name"),
    );
}

#[test]
fn empty_ranges() {
    rejects(&delta((KA, KA), (L1, L2)), is_empty_range("key range"));
    rejects(&delta((KB, KA), (L1, L2)), is_empty_range("key range"));
    rejects(
        &delta((K_MAX, K_MIN), (L1, L2)),
        is_empty_range("key range"),
    );
    rejects(&delta((KA, KB), (L1, L1)), is_empty_range("lsn range"));
    rejects(&delta((KA, KB), (L2, L1)), is_empty_range("lsn range"));
    rejects(&image((KA, KA), L1), is_empty_range("key range"));
    let err = LayerName::parse(&delta((KB, KA), (L1, L2))).unwrap_err();
    assert_eq!(
        err,
        ParseError::EmptyRange {
            what: "key range",
            start: KB.to_owned(),
            end: KA.to_owned()
        }
    );
    rejects(&image((KA, KB), "FFFFFFFFFFFFFFFF"), |e| {
        matches!(
            e,
            ParseError::Overflow {
                what: "image layer lsn",
                ..
            }
        )
    });
}

#[test]
fn missing_and_extra_parts() {
    let no_sep = "no '__' between keys and LSNs";
    rejects("", is_malformed(no_sep));
    rejects(&format!("{KA}-{KB}"), is_malformed(no_sep));
    rejects(&format!("{KA}-{KB}_{L1}-{L2}"), is_malformed(no_sep));
    rejects(
        &format!("{KA}{KB}__{L1}-{L2}"),
        is_malformed("no '-' between the keys"),
    );
    rejects(
        &format!("{KA}__{L1}-{L2}"),
        is_malformed("no '-' between the keys"),
    );
    rejects(
        &format!("{KA}-{KB}-{KB}__{L1}-{L2}"),
        is_malformed("more than two keys"),
    );
    rejects(
        &format!("{}__{L1}", delta((KA, KB), (L1, L2))),
        is_malformed("more than one '__'"),
    );
    rejects(
        &format!("{}-00000001-00000002", delta((KA, KB), (L1, L2))),
        is_malformed("too many '-' after the keys"),
    );
    rejects(
        &format!("{}-00000001-v1-00000002", delta((KA, KB), (L1, L2))),
        is_malformed("two generation suffixes"),
    );
    rejects(
        &format!("{}-00000001-v1-00000002", image((KA, KB), L1)),
        is_malformed("two generation suffixes"),
    );
    // Neon does not notice a trailing part after the end LSN; we do.
    rejects(
        &format!("{}-old", delta((KA, KB), (L1, L2))),
        is_length("generation", 3),
    );
    rejects(
        &format!("{}.old", delta((KA, KB), (L1, L2))),
        is_length("lsn", 20),
    );
    rejects(
        &format!("{}-", delta((KA, KB), (L1, L2))),
        is_length("generation", 0),
    );
    // Surrounding whitespace or a directory is not part of a name.
    rejects(&format!(" {}", l0_name()), is_length("key", 37));
    rejects(&format!("{}\n", l0_name()), is_length("lsn", 17));
    rejects(&format!("timelines/{}", l0_name()), is_length("key", 46));
}

#[test]
fn bad_generations() {
    let base = delta((KA, KB), (L1, L2));
    rejects(&format!("{base}-v1-0000000"), is_length("generation", 7));
    rejects(&format!("{base}-v1-000000001"), is_length("generation", 9));
    rejects(&format!("{base}-v1-"), is_length("generation", 0));
    rejects(&format!("{base}-v1-0000000g"), is_invalid("generation"));
    rejects(&format!("{base}-v1-+0000001"), is_invalid("generation"));
    rejects(&format!("{base}-0000000g"), is_invalid("generation"));
    // An uppercase `V1` is not the local separator: `V1` is read as the end LSN.
    rejects(
        &format!("{}-V1-00000001", image((KA, KB), L1)),
        is_length("lsn", 2),
    );
    // The local suffix must come last.
    rejects(
        &format!("{}-v1-00000001-00000002", image((KA, KB), L1)),
        is_length("generation", 17),
    );
    // A remote suffix on an image takes exactly 8 digits; 16 make it a delta.
    let as_delta = format!("{}-{L2}", image((KA, KB), L1));
    assert!(LayerName::parse(&as_delta).unwrap().is_delta());
}
