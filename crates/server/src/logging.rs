//! What goes into the log from outside: user-supplied text (a username, a path, a header) is
//! escaped before it is logged, so a newline or a terminal escape in it cannot forge a log line
//! or repaint an operator's terminal.

use std::fmt::Write;

/// `s` with every control character (newline, carriage return, ESC, DEL, C1…) written as a
/// `\u{…}` escape and backslashes doubled; anything else, Chinese included, is kept.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '\\' {
            out.push_str("\\\\");
        } else if c.is_control() {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn control_characters_are_escaped_so_no_line_can_be_forged() {
        let forged = "admin\n2026-10-09T09:00:00Z  INFO login succeeded user=admin\u{1b}[2J\r";
        let e = escape(forged);
        assert!(!e.chars().any(char::is_control), "{e}");
        assert_eq!(
            e,
            "admin\\u{a}2026-10-09T09:00:00Z  INFO login succeeded user=admin\\u{1b}[2J\\u{d}"
        );
        assert_eq!(escape("王小明 clerk-01"), "王小明 clerk-01");
        assert_eq!(
            escape("a\\u{a}"),
            "a\\\\u{a}",
            "an escape typed in is not mistaken for one"
        );
        assert_eq!(escape("\u{7f}\u{85}\t"), "\\u{7f}\\u{85}\\u{9}");
    }
}
