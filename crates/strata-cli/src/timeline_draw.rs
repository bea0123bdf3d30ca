//! The picture of a layer map (`strata timeline draw`), after Neon's `pagectl draw-timeline`:
//! keys across, LSN up, one rectangle per delta layer (blue) and one bar per image layer
//! (orange), each with its file name as a tooltip.
//!
//! Invariants: [`svg`] is a pure function of the descriptors. Both axes are *ranked*: every
//! distinct key-range and LSN-range boundary gets an evenly spaced position, so small layers
//! stay visible next to huge ones (the axes are ordinal, as in Neon's tool), and tick labels
//! give the real values.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use strata_key::{Key, Lsn};
use strata_timeline::LayerDesc;

const WIDTH: f64 = 1200.0;
const HEIGHT: f64 = 800.0;
const LEFT: f64 = 140.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 60.0;
const BOTTOM: f64 = 230.0;
/// At most this many tick labels per axis.
const MAX_TICKS: usize = 40;

/// The SVG document for `layers`, titled `title`.
pub fn svg(layers: &[LayerDesc], title: &str) -> String {
    let keys: Vec<Key> = layers
        .iter()
        .flat_map(|d| [d.key_range.start, d.key_range.end])
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let lsns: Vec<Lsn> = layers
        .iter()
        .flat_map(|d| [d.lsn_range.start, d.lsn_range.end])
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let step = |n: usize, len: f64| if n > 1 { len / (n - 1) as f64 } else { len };
    let (kx, ly) = (step(keys.len(), plot_w), step(lsns.len(), plot_h));
    let x = |k: &Key| LEFT + keys.binary_search(k).unwrap_or(0) as f64 * kx;
    let y = |l: &Lsn| TOP + plot_h - lsns.binary_search(l).unwrap_or(0) as f64 * ly;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="monospace" font-size="11">"#
    );
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    let n_delta = layers.iter().filter(|d| d.is_delta).count();
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="24" font-size="16">{} — {} layers ({} delta, {} image)</text>"#,
        escape(title),
        layers.len(),
        n_delta,
        layers.len() - n_delta
    );
    legend(&mut s);
    // Axes.
    let _ = writeln!(
        s,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>"##
    );
    for (i, l) in lsns
        .iter()
        .enumerate()
        .filter(|(i, _)| i % tick_every(lsns.len()) == 0)
    {
        let yy = TOP + plot_h - i as f64 * ly;
        let _ = writeln!(
            s,
            r##"<line x1="{}" y1="{yy}" x2="{LEFT}" y2="{yy}" stroke="#999"/><text x="{}" y="{}" text-anchor="end">{l}</text>"##,
            LEFT - 5.0,
            LEFT - 8.0,
            yy + 4.0
        );
    }
    for (i, k) in keys
        .iter()
        .enumerate()
        .filter(|(i, _)| i % tick_every(keys.len()) == 0)
    {
        let xx = LEFT + i as f64 * kx;
        let yy = TOP + plot_h;
        let _ = writeln!(
            s,
            r##"<line x1="{xx}" y1="{yy}" x2="{xx}" y2="{}" stroke="#999"/><text font-size="9" transform="translate({},{}) rotate(60)">{}</text>"##,
            yy + 5.0,
            xx,
            yy + 10.0,
            short_key(k)
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">key (ranked)</text><text transform="translate(16,{}) rotate(-90)" text-anchor="middle">LSN (ranked)</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 8.0,
        TOP + plot_h / 2.0
    );
    // Deltas first, images on top.
    for d in layers.iter().filter(|d| d.is_delta) {
        let (x0, x1) = (x(&d.key_range.start), x(&d.key_range.end));
        let (y0, y1) = (y(&d.lsn_range.end), y(&d.lsn_range.start));
        let _ = writeln!(
            s,
            r##"<rect x="{x0:.1}" y="{y0:.1}" width="{:.1}" height="{:.1}" fill="#4a90d9" fill-opacity="0.35" stroke="#1f4e85" stroke-width="1"><title>{d}</title></rect>"##,
            (x1 - x0).max(1.0),
            (y1 - y0).max(1.0)
        );
    }
    for d in layers.iter().filter(|d| !d.is_delta) {
        let (x0, x1) = (x(&d.key_range.start), x(&d.key_range.end));
        let yy = y(&d.lsn_range.start);
        let _ = writeln!(
            s,
            r##"<rect x="{x0:.1}" y="{:.1}" width="{:.1}" height="5" fill="#f28e2b" stroke="#b35900"><title>{d}</title></rect>"##,
            yy - 2.5,
            (x1 - x0).max(1.0)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn legend(s: &mut String) {
    let x = WIDTH - RIGHT - 260.0;
    let _ = writeln!(
        s,
        r##"<rect x="{x}" y="12" width="18" height="12" fill="#4a90d9" fill-opacity="0.35" stroke="#1f4e85"/><text x="{}" y="22">delta layer</text><rect x="{}" y="15" width="18" height="5" fill="#f28e2b" stroke="#b35900"/><text x="{}" y="22">image layer</text>"##,
        x + 24.0,
        x + 120.0,
        x + 144.0
    );
}

fn tick_every(n: usize) -> usize {
    n.div_ceil(MAX_TICKS).max(1)
}

/// A key as its hex form with leading zero fields trimmed (`MIN` and `MAX` by name).
fn short_key(k: &Key) -> String {
    if *k == Key::MIN {
        return "MIN".into();
    }
    if *k == Key::MAX {
        return "MAX".into();
    }
    k.to_string()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use strata_key::{KeyRange, LsnRange};

    use super::*;

    #[test]
    fn deltas_and_images_are_drawn_with_names() {
        let all = KeyRange::new(Key::MIN, Key::MAX);
        let layers = [
            LayerDesc::image(all, Lsn(0x10)),
            LayerDesc::delta(all, LsnRange::new(Lsn(0x11), Lsn(0x30))),
        ];
        let svg = svg(&layers, "t<1>");
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("#4a90d9").count(), 2, "one delta + legend");
        assert_eq!(svg.matches("#f28e2b").count(), 2, "one image + legend");
        assert!(svg.contains(&layers[1].to_string()));
        assert!(svg.contains("t&lt;1&gt;"));
        assert!(svg.contains(">0/10<"), "LSN tick labels");
    }
}
