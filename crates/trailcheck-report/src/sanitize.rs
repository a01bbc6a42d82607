//! Escaping untrusted text (bucket names, object keys, reasons quoting them) for a terminal.
//!
//! Object keys are chosen by whoever can write to the bucket, which includes the attacker this
//! tool exists to catch. A key holding a tab and a newline could otherwise print a forged
//! `Log file<TAB>s3://...<TAB>valid` line, and an ANSI escape could rewrite what is already on
//! the screen. Every character that moves the cursor, starts an escape sequence or reorders
//! text is shown as a visible escape instead, so one file always prints as one line.

use std::borrow::Cow;

/// Returns `text` with control and bidirectional-formatting characters made visible:
/// tab, newline and carriage return as `\t`, `\n`, `\r`, every other one as `\u{..}`.
///
/// Backslashes are left as they are, so ordinary keys stay copyable; the escapes never forge
/// a line, because every real control character is escaped.
pub fn terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_dangerous) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_escaped(&mut escaped, c);
    }
    Cow::Owned(escaped)
}

fn push_escaped(escaped: &mut String, c: char) {
    match c {
        '\t' | '\n' | '\r' => escaped.extend(c.escape_default()),
        c if is_dangerous(c) => escaped.extend(c.escape_unicode()),
        c => escaped.push(c),
    }
}

/// C0 and C1 controls and DEL (`char::is_control`), the Unicode line and paragraph
/// separators, and the bidirectional marks, embeddings, overrides and isolates that can make
/// a terminal show text in a different order from the bytes ("Trojan Source").
fn is_dangerous(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_keys_are_borrowed_unchanged() {
        let key = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/01/a b+c=d\\e.json.gz";
        assert!(matches!(terminal(key), Cow::Borrowed(k) if k == key));
    }

    #[test]
    fn tab_and_newline_cannot_forge_a_valid_line() {
        let key = "x.json.gz\tvalid\nLog file\ts3://b/forged.json.gz\tvalid";
        let shown = terminal(key);
        assert!(!shown.contains('\t'));
        assert!(!shown.contains('\n'));
        assert_eq!(
            shown,
            "x.json.gz\\tvalid\\nLog file\\ts3://b/forged.json.gz\\tvalid"
        );
    }

    #[test]
    fn carriage_return_cannot_overwrite_the_line() {
        assert_eq!(terminal("a\rvalid"), "a\\rvalid");
    }

    #[test]
    fn ansi_escape_sequences_are_shown_not_run() {
        let shown = terminal("k\u{1b}[2K\u{1b}[1A\u{9b}31m\u{7f}\u{0}");
        assert!(!shown.chars().any(|c| c.is_control()));
        assert_eq!(shown, "k\\u{1b}[2K\\u{1b}[1A\\u{9b}31m\\u{7f}\\u{0}");
    }

    #[test]
    fn bidi_overrides_and_line_separators_are_escaped() {
        let shown = terminal("log\u{202E}zg.nosj\u{2066}\u{2028}");
        assert_eq!(shown, "log\\u{202e}zg.nosj\\u{2066}\\u{2028}");
    }

    #[test]
    fn printable_unicode_is_kept() {
        assert_eq!(terminal("Grüße/日本/é"), "Grüße/日本/é");
    }
}
