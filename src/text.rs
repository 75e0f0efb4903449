//! Text normalisation shared by every stage.
//!
//! Request files arrive in NFC and NFD, with non-breaking spaces, zero-width
//! characters and stray runs of spaces. Everything read is passed through
//! [`clean`] once; comparisons of words use [`fold`] (no case, no marks) and
//! comparisons of names that must keep their diacritics use [`key`].

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Characters that carry no text but break comparisons.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}'
    )
}

/// NFC, invisible characters removed, every kind of space folded into one
/// ASCII space, trimmed. Line breaks are kept as `\n` (they separate lines of
/// a header cell) but spaces around them are removed.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for line in s.nfc().collect::<String>().split(['\n', '\r', '\u{000B}']) {
        let mut words = line
            .chars()
            .filter(|c| !is_invisible(*c))
            .map(|c| if c.is_whitespace() { ' ' } else { c })
            .collect::<String>();
        words = words
            .split(' ')
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if words.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&words);
    }
    out
}

/// [`clean`] on one line: line breaks become spaces.
pub fn clean_line(s: &str) -> String {
    clean(s).replace('\n', " ")
}

/// Lower-case ASCII-ish form for matching words: diacritics removed,
/// `đ` → `d`, case folded, spaces folded. Both tone placements
/// (`khóa`/`khoá`) give the same result.
pub fn fold(s: &str) -> String {
    clean_line(s)
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .map(|c| match c {
            'đ' | 'Đ' => 'd',
            c => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// Comparison key that keeps diacritics: NFC, lower case, spaces folded.
/// Used for unit names ("ignoring case, diacritic form and spacing").
pub fn key(s: &str) -> String {
    clean_line(s).to_lowercase().nfc().collect()
}

/// Vietnamese capitalisation of a personal name: every word starts with a
/// capital letter and continues in lower case. Applied only when the name
/// was typed all in capitals or all in lower case, so that deliberate
/// spellings are left alone.
pub fn name_case(s: &str) -> String {
    let s = clean_line(s);
    let has_upper = s.chars().any(char::is_uppercase);
    let has_lower = s.chars().any(char::is_lowercase);
    if has_upper && has_lower {
        return s;
    }
    s.split(' ')
        .map(|w| {
            let mut cs = w.chars();
            match cs.next() {
                Some(first) => first
                    .to_uppercase()
                    .chain(cs.flat_map(char::to_lowercase))
                    .collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
        .nfc()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_folds_spaces_and_invisibles() {
        assert_eq!(clean("  Nguyễn\u{00A0}\u{200B}Văn   An "), "Nguyễn Văn An");
        assert_eq!(clean("Họ và\n  tên"), "Họ và\ntên");
        assert_eq!(clean_line("Họ và\n  tên"), "Họ và tên");
    }

    #[test]
    fn clean_turns_nfd_into_nfc() {
        let nfd: String = "Nguyễn".nfd().collect();
        assert_ne!(nfd, "Nguyễn");
        assert_eq!(clean(&nfd), "Nguyễn");
    }

    #[test]
    fn fold_ignores_tone_placement_case_and_d() {
        assert_eq!(fold("Tạm khóa"), "tam khoa");
        assert_eq!(fold("TẠM KHOÁ"), "tam khoa");
        assert_eq!(fold("Đơn vị"), "don vi");
        assert_eq!(fold("  Hủy   bỏ "), fold("huỷ bỏ"));
    }

    #[test]
    fn key_keeps_marks_but_not_case_or_form() {
        let nfd: String = "Phòng Tài nguyên".nfd().collect();
        assert_eq!(key(&nfd), key("PHÒNG  TÀI NGUYÊN"));
        assert_ne!(key("Phòng"), key("Phong"));
    }

    #[test]
    fn name_case_only_touches_single_case_names() {
        assert_eq!(name_case("NGUYỄN VĂN AN"), "Nguyễn Văn An");
        assert_eq!(name_case("trần thị bích ngọc"), "Trần Thị Bích Ngọc");
        assert_eq!(name_case("Nguyễn văn An"), "Nguyễn văn An");
    }
}
