//! A small Rust lexer for tidy: turns a source file into its lines with comments removed and
//! the insides of string and character literals blanked, so that pattern checks (banned
//! attributes, printing macros) see only code and never a string or a doc example.
//!
//! Invariants: the result has exactly one entry per line of the input (`str::lines`), so line
//! numbers carry over; it never panics, whatever the input (unterminated literals or comments
//! simply run to the end of the file).

/// The code of each line of `src`: comments dropped, literal contents replaced by spaces (the
/// quotes stay).
pub fn code_lines(src: &str) -> Vec<String> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut idx = 0;
    while let Some(&c) = chars.get(idx) {
        let next = chars.get(idx + 1).copied();
        idx = match (c, next) {
            ('/', Some('/')) => skip_line_comment(&chars, idx),
            ('/', Some('*')) => skip_block_comment(&chars, idx, &mut out),
            ('"', _) => {
                out.push('"');
                skip_literal(
                    &chars,
                    idx + 1,
                    Quote {
                        close: '"',
                        raw: false,
                        hashes: 0,
                    },
                    &mut out,
                )
            }
            ('r' | 'b', _) if !prev_is_ident(&chars, idx) => match string_prefix(&chars, idx) {
                Some((quote, body)) => {
                    out.extend(chars.get(idx..body).unwrap_or_default());
                    skip_literal(&chars, body, quote, &mut out)
                }
                None => {
                    out.push(c);
                    idx + 1
                }
            },
            ('\'', _) => skip_char_literal(&chars, idx, &mut out),
            _ => {
                out.push(c);
                idx + 1
            }
        };
    }
    out.lines().map(str::to_owned).collect()
}

/// How a literal ends: its closing quote, whether escapes count, and the `#`s after the quote.
#[derive(Clone, Copy)]
struct Quote {
    close: char,
    raw: bool,
    hashes: usize,
}

fn prev_is_ident(chars: &[char], idx: usize) -> bool {
    idx.checked_sub(1)
        .and_then(|prev| chars.get(prev))
        .is_some_and(|c| c.is_alphanumeric() || *c == '_')
}

/// For `b"`, `r"`, `r#"`, `br#"`..: how the literal ends and the index just past its opening
/// quote; `None` when `idx` does not start a string literal.
fn string_prefix(chars: &[char], idx: usize) -> Option<(Quote, usize)> {
    let mut pos = idx;
    if chars.get(pos) == Some(&'b') {
        pos += 1;
        if chars.get(pos) == Some(&'"') {
            return Some((
                Quote {
                    close: '"',
                    raw: false,
                    hashes: 0,
                },
                pos + 1,
            ));
        }
    }
    if chars.get(pos) != Some(&'r') {
        return None;
    }
    pos += 1;
    let hashes = chars
        .get(pos..)
        .unwrap_or_default()
        .iter()
        .take_while(|c| **c == '#')
        .count();
    pos += hashes;
    (chars.get(pos) == Some(&'"')).then_some((
        Quote {
            close: '"',
            raw: true,
            hashes,
        },
        pos + 1,
    ))
}

fn skip_line_comment(chars: &[char], idx: usize) -> usize {
    let len = chars
        .get(idx..)
        .unwrap_or_default()
        .iter()
        .take_while(|c| **c != '\n')
        .count();
    idx + len
}

fn skip_block_comment(chars: &[char], mut idx: usize, out: &mut String) -> usize {
    let mut depth = 0usize;
    while let Some(&c) = chars.get(idx) {
        match (c, chars.get(idx + 1).copied()) {
            ('/', Some('*')) => {
                depth += 1;
                idx += 2;
            }
            ('*', Some('/')) => {
                depth = depth.saturating_sub(1);
                idx += 2;
                if depth == 0 {
                    return idx;
                }
            }
            ('\n', _) => {
                out.push('\n');
                idx += 1;
            }
            _ => idx += 1,
        }
    }
    idx
}

/// Skips a literal's body from `idx` (just past the opening quote), emitting a blank per
/// character (newlines kept) and then the closing quote and `#`s; returns the index after them.
fn skip_literal(chars: &[char], mut idx: usize, quote: Quote, out: &mut String) -> usize {
    while let Some(&c) = chars.get(idx) {
        if c == '\\' && !quote.raw {
            out.push(' ');
            if let Some(&escaped) = chars.get(idx + 1) {
                out.push(if escaped == '\n' { '\n' } else { ' ' });
            }
            idx += 2;
            continue;
        }
        if c == quote.close {
            let end = idx + 1 + quote.hashes;
            if chars
                .get(idx + 1..end)
                .is_some_and(|tail| tail.iter().all(|h| *h == '#'))
            {
                out.push(c);
                out.extend(std::iter::repeat_n('#', quote.hashes));
                return end;
            }
        }
        out.push(if c == '\n' { '\n' } else { ' ' });
        idx += 1;
    }
    idx
}

/// A character literal (`'x'`, `'\n'`, `'\u{1F600}'`) is blanked; a lifetime or label
/// (`'a`, `'static`) is kept as code.
fn skip_char_literal(chars: &[char], idx: usize, out: &mut String) -> usize {
    match (chars.get(idx + 1), chars.get(idx + 2)) {
        (Some('\\'), _) => {
            out.push('\'');
            skip_literal(
                chars,
                idx + 1,
                Quote {
                    close: '\'',
                    raw: false,
                    hashes: 0,
                },
                out,
            )
        }
        (Some(c), Some('\'')) if *c != '\n' => {
            out.push_str("' '");
            idx + 3
        }
        _ => {
            out.push('\'');
            idx + 1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_removed_and_lines_kept() {
        let src = "let a = 1; // println!(\"x\")\n/// dbg!(a)\n/* multi\nline println! */ f();\n";
        assert_eq!(code_lines(src), ["let a = 1; ", "", "", " f();"]);
    }

    #[test]
    fn nested_block_comments_end_at_the_outer_close() {
        assert_eq!(code_lines("a /* x /* y */ z */ b"), ["a  b"]);
    }

    #[test]
    fn string_contents_are_blanked() {
        let lines = code_lines("let s = \"#[allow(x)] \\\" dbg!()\"; g();");
        assert_eq!(lines.len(), 1);
        assert!(
            !lines[0].contains("allow") && !lines[0].contains("dbg"),
            "{lines:?}"
        );
        assert!(lines[0].ends_with("; g();"), "{lines:?}");
    }

    #[test]
    fn raw_and_byte_strings_are_blanked() {
        let lines = code_lines("x(r#\"a \" println!()\"#, br\"\\\", b\"dbg!()\"); println!();");
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].matches("println!").count(), 1, "{lines:?}");
        assert!(!lines[0].contains("dbg"), "{lines:?}");
    }

    #[test]
    fn multi_line_strings_keep_the_line_count() {
        let lines = code_lines("let s = \"a\n#[ignore]\nb\";\n#[test]");
        assert_eq!(lines.len(), 4);
        assert!(!lines[1].contains("ignore"));
        assert_eq!(lines[3], "#[test]");
    }

    #[test]
    fn char_literals_are_blanked_and_lifetimes_kept() {
        let lines = code_lines("f('\"', '\\'', 'x'); fn g<'a>(s: &'a str) {} // '");
        assert_eq!(lines, ["f(' ', '  ', ' '); fn g<'a>(s: &'a str) {} "]);
    }

    #[test]
    fn identifiers_ending_in_r_or_b_are_not_raw_strings() {
        assert_eq!(code_lines("for x in \"ab\" {}"), ["for x in \"  \" {}"]);
        assert_eq!(code_lines("bar\"ab\""), ["bar\"  \""]);
    }

    #[test]
    fn unterminated_input_does_not_panic() {
        for src in ["\"abc", "r#\"abc", "/* abc", "'\\", "'", "b", "r#", "x'"] {
            assert!(code_lines(src).len() <= 1, "{src:?}");
        }
    }
}
