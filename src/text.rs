//! Text that came from somewhere else (a bundle, a config.json, a journal, a plugin, the
//! store's own file names), made safe before a person sees or pastes it: escaped for a
//! terminal, quoted for a shell. Every output path goes through here (`commands::render`,
//! the binary's error printer), so a value cannot forge a line, rewrite the screen or reorder
//! what is shown.

use std::borrow::Cow;

/// Characters that reorder text on a terminal or in an editor without being shown: the
/// bidirectional embeddings, overrides and isolates (U+202A-202E, U+2066-2069) and the
/// invisible direction marks (U+200E, U+200F, U+061C). A name holding U+202E can show
/// `prod` where `dorp` was written.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Whether a character must never reach a terminal as it is.
fn is_unsafe(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

fn escape(c: char) -> String {
    if is_bidi_control(c) {
        format!("\\u{{{:x}}}", c as u32)
    } else {
        c.escape_default().to_string()
    }
}

/// A string from a bundle or a config.json as shown on a terminal: control characters (a
/// newline, an escape sequence that would rewrite the screen) and bidirectional controls
/// escaped.
pub fn printable(s: &str) -> Cow<'_, str> {
    if s.chars().any(is_unsafe) {
        s.chars()
            .map(|c| {
                if is_unsafe(c) {
                    escape(c)
                } else {
                    c.to_string()
                }
            })
            .collect::<String>()
            .into()
    } else {
        s.into()
    }
}

/// Text built from bundle or config.json values, made safe for a terminal: every control
/// and bidirectional character but the newlines that separate its lines and the tabs that
/// align them is escaped.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| is_unsafe(c) && c != '\n' && c != '\t') {
        return text.into();
    }
    text.split('\n')
        .map(|line| {
            line.split('\t')
                .map(|cell| printable(cell).into_owned())
                .collect::<Vec<_>>()
                .join("\t")
        })
        .collect::<Vec<_>>()
        .join("\n")
        .into()
}

/// A JSON document whose strings hold no raw bidirectional control (serde escapes the
/// control characters, not these): each is written as its `\uXXXX` escape, which parses
/// back to the same string.
pub fn json_safe(doc: String) -> String {
    if !doc.chars().any(is_bidi_control) {
        return doc;
    }
    doc.chars()
        .map(|c| {
            if is_bidi_control(c) {
                format!("\\u{:04x}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// One word for a POSIX shell command line: as it is when it holds only characters no
/// shell treats specially, else single-quoted.
pub fn shell_word(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_are_escaped_everywhere() {
        assert_eq!(printable("web"), "web");
        assert_eq!(printable("a\nb"), "a\\nb");
        assert_eq!(printable("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(printable("dev\u{202e}dorp"), "dev\\u{202e}dorp");
        for c in [
            '\u{202a}', '\u{202d}', '\u{2066}', '\u{2069}', '\u{200f}', '\u{61c}',
        ] {
            assert!(!printable(&format!("x{c}y")).contains(c), "{c:?}");
            assert!(!terminal_safe(&format!("x{c}y\n")).contains(c), "{c:?}");
        }
        assert_eq!(terminal_safe("a\tb\nc\r\n"), "a\tb\nc\\r\n");
        let json = serde_json::to_string(&"a\u{202e}b\nc").unwrap();
        let safe = json_safe(json);
        assert!(!safe.contains('\u{202e}'));
        assert_eq!(
            serde_json::from_str::<String>(&safe).unwrap(),
            "a\u{202e}b\nc"
        );
    }
}
