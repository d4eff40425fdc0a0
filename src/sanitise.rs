//! Strings from the evidence are attacker-controlled. Two ways of showing them:
//!
//! - [`quote`] for evidence and explanations (CSV, JSON, HTML): the real characters,
//!   between double quotes, never Debug-escaped, so a copied path is the real path;
//! - [`terminal`] for everything written to a terminal (table, process tree, progress,
//!   stderr): control, format, separator, private-use and default-ignorable code points
//!   are shown as `\u{…}`, so nothing is invisible and no escape sequence reaches the
//!   analyst's terminal. [`clip`] and [`pad`] measure by display width.

use unicode_width::UnicodeWidthChar;

/// `"value"` with the value exactly as in the evidence.
pub fn quote(s: &str) -> String {
    format!("\"{s}\"")
}

/// [`quote`] for an optional value; `None` is shown as `(absent)`.
pub fn quote_opt(s: Option<&str>) -> String {
    s.map(quote).unwrap_or_else(|| "(absent)".into())
}

/// True for a code point that must not reach a terminal as is.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || is_format(c)
        || is_default_ignorable(c)
        || matches!(c, '\u{2028}' | '\u{2029}')
        || is_private_use(c)
}

/// General category Cf (Unicode 15.1).
fn is_format(c: char) -> bool {
    matches!(c,
        '\u{AD}' | '\u{600}'..='\u{605}' | '\u{61C}' | '\u{6DD}' | '\u{70F}'
        | '\u{890}'..='\u{891}' | '\u{8E2}' | '\u{180E}' | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}' | '\u{110BD}' | '\u{110CD}'
        | '\u{13430}'..='\u{1343F}' | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0001}' | '\u{E0020}'..='\u{E007F}')
}

/// Default_Ignorable_Code_Point (DerivedCoreProperties.txt): rendered as nothing.
fn is_default_ignorable(c: char) -> bool {
    matches!(c,
        '\u{AD}' | '\u{34F}' | '\u{61C}' | '\u{115F}'..='\u{1160}' | '\u{17B4}'..='\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}' | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

fn is_private_use(c: char) -> bool {
    matches!(c, '\u{E000}'..='\u{F8FF}' | '\u{F0000}'..='\u{FFFFD}' | '\u{100000}'..='\u{10FFFD}')
}

/// One terminal-safe line: every hidden code point as `\u{…}`, visibly.
pub fn terminal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_hidden(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// Columns a terminal uses for `s` (already sanitised).
pub fn width(s: &str) -> usize {
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// [`terminal`], cut to at most `max` columns with `…` when it is longer.
pub fn clip(s: &str, max: usize) -> String {
    let out = terminal(s);
    if width(&out) <= max {
        return out;
    }
    let mut cut = String::new();
    let mut used = 0;
    for c in out.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > max {
            break;
        }
        used += w;
        cut.push(c);
    }
    cut.push('…');
    cut
}

/// `s` followed by spaces up to `cols` display columns.
pub fn pad(s: &str, cols: usize) -> String {
    let fill = cols.saturating_sub(width(s));
    format!("{s}{}", " ".repeat(fill))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_code_points_are_shown() {
        assert_eq!(terminal("sm\u{200B}ss.exe"), "sm\\u{200b}ss.exe");
        assert_eq!(terminal("a\u{1b}]0;x\u{7}b"), "a\\u{1b}]0;x\\u{7}b");
        assert_eq!(terminal("wininit.exe\u{FE0F}"), "wininit.exe\\u{fe0f}");
        assert_eq!(
            terminal("x\u{61C}\u{2028}\u{E000}"),
            "x\\u{61c}\\u{2028}\\u{e000}"
        );
        assert_eq!(terminal("ｓｍｓｓ.exe"), "ｓｍｓｓ.exe");
    }

    #[test]
    fn width_counts_columns() {
        assert_eq!(width("ｓｍｓｓ"), 8);
        assert_eq!(width("smss"), 4);
        assert_eq!(pad("ｓｍ", 6), "ｓｍ  ");
        let c = clip("ｓｍｓｓｓｓｓｓ", 7);
        assert!(width(&c) <= 7, "{c}");
        assert!(c.ends_with('…'));
        assert_eq!(clip("short", 7), "short");
    }

    #[test]
    fn quote_keeps_the_real_characters() {
        assert_eq!(
            quote(r"\??\C:\ProgramData\Update\svc.exe"),
            r#""\??\C:\ProgramData\Update\svc.exe""#
        );
    }
}
