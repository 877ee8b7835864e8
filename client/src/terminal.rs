//! Printing what others wrote. An organisation's name, a voyage reference, a node's error
//! message: printed raw to a terminal, the control characters in such a string (escape
//! sequences that erase a line, move the cursor or set the window title) or a bidirectional
//! override (which reorders what follows it on the line) make the terminal show something the
//! ledger does not say: a name that erases its own line and prints a fake entry instead.
//!
//! So every string that came from the ledger or a node goes through [`text`] before the CLI
//! prints it, which writes each such character as a visible escape (`\u{1b}`). JSON output goes
//! through [`json`] instead: it stays exact JSON (the same value for any parser), with the
//! characters that JSON allows raw written as `\uXXXX` escapes.
//!
//! The characters: C0 controls (U+0000-U+001F, tab and newline included: a field is one line),
//! DEL (U+007F), C1 controls (U+0080-U+009F, which some terminals read as escape sequences),
//! and the bidirectional embeddings, overrides and isolates U+202A-U+202E, U+2066-U+2069.

use std::borrow::Cow;
use std::fmt::Write as _;

/// True for a character that [`text`] and [`json`] escape: the characters the protocol refuses
/// in organisation names (PROTOCOL.md 8), which other ledger strings may still carry.
pub use tradelog_protocol::roles::is_display_control as is_unsafe;

/// `s` for a terminal: every character of [`is_unsafe`] written as `\u{..}` (Rust's notation,
/// lower-case hex), everything else as is.
pub fn text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`text`] of a value's `Display` form.
pub fn show(v: impl std::fmt::Display) -> String {
    text(&v.to_string()).into_owned()
}

/// JSON text for a terminal: the characters of [`is_unsafe`] that JSON allows unescaped (DEL,
/// C1, bidirectional controls) written as `\uXXXX`. `json` must be valid JSON (as serde_json
/// writes it, which escapes C0 controls in strings itself): these characters can then only
/// occur inside strings, where the escape stands for the same character, so the output is the
/// same JSON value. Formatting whitespace (newlines, indentation) is kept.
pub fn json(json: &str) -> Cow<'_, str> {
    let raw = |c: char| is_unsafe(c) && !c.is_ascii_whitespace();
    if !json.chars().any(raw) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 12);
    for c in json.chars() {
        if raw(c) {
            // Every such character is in the Basic Multilingual Plane: one escape.
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A node's answer for a terminal: [`json`] if it is JSON, otherwise [`text`].
pub fn answer(body: &str) -> Cow<'_, str> {
    if serde_json::from_str::<serde::de::IgnoredAny>(body).is_ok() {
        json(body)
    } else {
        text(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_overrides_are_escaped_the_rest_kept() {
        // Erase the line, return, print a fake entry.
        let name = "Evil Corp\u{1b}[2K\r  blue-anchor-lines (Blue Anchor Lines, carrier)";
        assert_eq!(
            text(name),
            "Evil Corp\\u{1b}[2K\\u{d}  blue-anchor-lines (Blue Anchor Lines, carrier)"
        );
        for (raw, shown) in [
            ("a\u{0}b", "a\\u{0}b"),
            ("tab\there", "tab\\u{9}here"),
            ("two\nlines", "two\\u{a}lines"),
            ("del\u{7f}", "del\\u{7f}"),
            ("csi\u{9b}31m", "csi\\u{9b}31m"),
            ("\u{202e}txt.exe", "\\u{202e}txt.exe"),
            ("\u{2066}iso\u{2069}", "\\u{2066}iso\\u{2069}"),
            (
                "\u{202a}\u{202b}\u{202c}\u{202d}",
                "\\u{202a}\\u{202b}\\u{202c}\\u{202d}",
            ),
            ("\u{2067}\u{2068}", "\\u{2067}\\u{2068}"),
        ] {
            assert_eq!(text(raw), shown, "{raw:?}");
        }
        for kept in [
            "Blue Anchor Lines",
            "Zoll — Hamburg",
            "北京海关",
            "שלום",
            "a\\u{1b}b",
            "\u{a0}\u{200b}\u{2029}",
        ] {
            assert!(matches!(text(kept), Cow::Borrowed(_)), "{kept:?}");
        }
        assert_eq!(show(format_args!("x{}y", '\u{1b}')), "x\\u{1b}y");
    }

    #[test]
    fn json_stays_the_same_json() {
        let value = serde_json::json!({
            "name": "Evil\u{1b}[2K\r\u{7f}\u{85}\u{202e}gnp.exe\u{2066}",
            "list": ["\t", "ok"],
        });
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        let shown = json(&pretty);
        assert!(!shown.chars().any(|c| is_unsafe(c) && c != '\n'), "{shown}");
        assert!(
            shown.contains("\\u007f\\u0085\\u202egnp.exe\\u2066"),
            "{shown}"
        );
        assert!(shown.contains('\n'), "formatting is kept");
        let back: serde_json::Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(back, value);
        assert!(matches!(json("{\"a\": 1}\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_node_answer_is_json_or_text() {
        assert_eq!(answer("{\"id\":\"\u{202e}\"}"), "{\"id\":\"\\u202e\"}");
        assert_eq!(answer("<html>\u{1b}[31m"), "<html>\\u{1b}[31m");
    }
}
