//! Legacy Vietnamese encodings still found in government files: TCVN3
//! (ABC; fonts `.VnTime`, `.VnArial`…, and their capital variants
//! `.VnTimeH`… that show lower-case codes as capitals) and VNI-Windows
//! (fonts `VNI-Times`, `VNI-Helve`…). In a `.docx` such text is stored as
//! the Windows-1252 reading of the legacy bytes ("Hµ Néi", "Haø Noäi" for
//! *Hà Nội*). The tables below are written from the published code charts
//! of TCVN 5712:1993 (VN3) and of VNI-Windows.

use unicode_normalization::UnicodeNormalization;

/// A legacy encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Legacy {
    /// TCVN3 (ABC). `capitals`: an `…H` font, which shows every letter as a
    /// capital.
    Tcvn3 { capitals: bool },
    /// VNI-Windows: base letters followed by mark characters.
    Vni,
}

impl Legacy {
    /// The name told to officers in warnings.
    pub fn name(self) -> &'static str {
        match self {
            Legacy::Tcvn3 { .. } => "TCVN3 (ABC)",
            Legacy::Vni => "VNI-Windows",
        }
    }
}

/// The legacy encoding a font name implies, if any.
pub fn font_encoding(font: &str) -> Option<Legacy> {
    let f = font.trim();
    let lower = f.to_ascii_lowercase();
    if lower.starts_with(".vn") {
        // `.VnTimeH`, `.VnArialH`, `.VnAvantH`: capitals (a capital H
        // at the end; no TCVN3 font name ends in a lower-case "h").
        let capitals = f.ends_with('H');
        Some(Legacy::Tcvn3 { capitals })
    } else if lower.starts_with("vni-") || lower.starts_with("vni ") {
        Some(Legacy::Vni)
    } else {
        None
    }
}

/// TCVN3: one legacy byte (read as Windows-1252, i.e. the same code point
/// in Latin-1) → one Unicode letter.
fn tcvn3_char(c: char) -> Option<char> {
    Some(match c as u32 {
        0xA1 => 'Ă',
        0xA2 => 'Â',
        0xA3 => 'Ê',
        0xA4 => 'Ô',
        0xA5 => 'Ơ',
        0xA6 => 'Ư',
        0xA7 => 'Đ',
        0xA8 => 'ă',
        0xA9 => 'â',
        0xAA => 'ê',
        0xAB => 'ô',
        0xAC => 'ơ',
        0xAD => 'ư',
        0xAE => 'đ',
        0xB5 => 'à',
        0xB6 => 'ả',
        0xB7 => 'ã',
        0xB8 => 'á',
        0xB9 => 'ạ',
        0xBB => 'ằ',
        0xBC => 'ẳ',
        0xBD => 'ẵ',
        0xBE => 'ắ',
        0xC6 => 'ặ',
        0xC7 => 'ầ',
        0xC8 => 'ẩ',
        0xC9 => 'ẫ',
        0xCA => 'ấ',
        0xCB => 'ậ',
        0xCC => 'è',
        0xCE => 'ẻ',
        0xCF => 'ẽ',
        0xD0 => 'é',
        0xD1 => 'ẹ',
        0xD2 => 'ề',
        0xD3 => 'ể',
        0xD4 => 'ễ',
        0xD5 => 'ế',
        0xD6 => 'ệ',
        0xD7 => 'ì',
        0xD8 => 'ỉ',
        0xDC => 'ĩ',
        0xDD => 'í',
        0xDE => 'ị',
        0xDF => 'ò',
        0xE1 => 'ỏ',
        0xE2 => 'õ',
        0xE3 => 'ó',
        0xE4 => 'ọ',
        0xE5 => 'ồ',
        0xE6 => 'ổ',
        0xE7 => 'ỗ',
        0xE8 => 'ố',
        0xE9 => 'ộ',
        0xEA => 'ờ',
        0xEB => 'ở',
        0xEC => 'ỡ',
        0xED => 'ớ',
        0xEE => 'ợ',
        0xEF => 'ù',
        0xF1 => 'ủ',
        0xF2 => 'ũ',
        0xF3 => 'ú',
        0xF4 => 'ụ',
        0xF5 => 'ừ',
        0xF6 => 'ử',
        0xF7 => 'ữ',
        0xF8 => 'ứ',
        0xF9 => 'ự',
        0xFA => 'ỳ',
        0xFB => 'ỷ',
        0xFC => 'ỹ',
        0xFD => 'ý',
        0xFE => 'ỵ',
        _ => return None,
    })
}

/// VNI: characters that are letters by themselves.
fn vni_letter(c: char) -> Option<char> {
    Some(match c {
        'ô' => 'ơ',
        'Ô' => 'Ơ',
        'ö' => 'ư',
        'Ö' => 'Ư',
        'ñ' => 'đ',
        'Ñ' => 'Đ',
        'æ' => 'ỉ',
        'Æ' => 'Ỉ',
        'ó' => 'ĩ',
        'Ó' => 'Ĩ',
        'ò' => 'ị',
        'Ò' => 'Ị',
        'î' => 'ỵ',
        'Î' => 'Ỵ',
        _ => return None,
    })
}

/// VNI: mark characters that follow a vowel, as combining marks (shape
/// first, then tone; NFC composes them).
fn vni_marks(c: char) -> Option<&'static str> {
    Some(match c {
        'ø' | 'Ø' => "\u{300}",
        'ù' | 'Ù' => "\u{301}",
        'û' | 'Û' => "\u{309}",
        'õ' | 'Õ' => "\u{303}",
        'ï' | 'Ï' => "\u{323}",
        'â' | 'Â' => "\u{302}",
        'ê' | 'Ê' => "\u{306}",
        'à' | 'À' => "\u{302}\u{300}",
        'á' | 'Á' => "\u{302}\u{301}",
        'å' | 'Å' => "\u{302}\u{309}",
        'ã' | 'Ã' => "\u{302}\u{303}",
        'ä' | 'Ä' => "\u{302}\u{323}",
        'è' | 'È' => "\u{306}\u{300}",
        'é' | 'É' => "\u{306}\u{301}",
        'ú' | 'Ú' => "\u{306}\u{309}",
        'ü' | 'Ü' => "\u{306}\u{303}",
        'ë' | 'Ë' => "\u{306}\u{323}",
        _ => return None,
    })
}

/// Whether `c` (already converted) is a vowel a VNI mark may follow.
fn vni_vowel(c: char) -> bool {
    let base: String = c.to_string().nfd().take(1).collect();
    matches!(
        base.as_str(),
        "a" | "e" | "i" | "o" | "u" | "y" | "A" | "E" | "I" | "O" | "U" | "Y"
    )
}

/// Converts text written in a legacy encoding to Unicode (NFC).
pub fn convert(text: &str, enc: Legacy) -> String {
    match enc {
        Legacy::Tcvn3 { capitals } => {
            let s: String = text.chars().map(|c| tcvn3_char(c).unwrap_or(c)).collect();
            if capitals {
                s.to_uppercase()
            } else {
                s
            }
        }
        Legacy::Vni => {
            let mut out = String::with_capacity(text.len());
            // The last letter written, if a mark may still attach to it.
            let mut last_vowel = false;
            for c in text.chars() {
                if last_vowel {
                    if let Some(marks) = vni_marks(c) {
                        out.push_str(marks);
                        // A shape mark may be followed by a tone mark only
                        // within the combined characters; one mark per letter.
                        last_vowel = false;
                        continue;
                    }
                }
                let letter = vni_letter(c).unwrap_or(c);
                out.push(letter);
                last_vowel = vni_vowel(letter);
            }
            out.nfc().collect()
        }
    }
}

/// Latin-1 characters that never occur in Vietnamese written in Unicode but
/// make up legacy text.
fn is_marker(c: char) -> bool {
    let u = c as u32;
    (0xA1..=0xFF).contains(&u) && c != '°' && !"ÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝàáâãèéêìíòóôõùúý".contains(c)
}

/// Letters only Vietnamese in Unicode has (ă, đ, ơ, ư and the precomposed
/// letters with tone marks): text with them is not legacy text.
fn is_vietnamese_unicode(c: char) -> bool {
    matches!(
        c as u32,
        0x1EA0
            ..=0x1EF9
                | 0x102
                | 0x103
                | 0x110
                | 0x111
                | 0x1A0
                | 0x1A1
                | 0x1AF
                | 0x1B0
                | 0x128
                | 0x129
                | 0x168
                | 0x169
    )
}

/// Whether a piece of text looks like legacy text: legacy marker characters
/// and no letter that only Unicode Vietnamese has.
pub fn looks_legacy(text: &str) -> bool {
    text.chars().any(is_marker) && !text.chars().any(is_vietnamese_unicode)
}

/// Tone marks on a letter (grave, acute, hook, tilde, dot below).
fn tone_marks(c: char) -> usize {
    c.to_string()
        .nfd()
        .filter(|m| {
            matches!(
                *m,
                '\u{300}' | '\u{301}' | '\u{309}' | '\u{303}' | '\u{323}'
            )
        })
        .count()
}

/// A vowel without its tone mark, lower case (`ộ` → `ô`), or `None` for
/// anything that is not a Vietnamese vowel.
fn vowel_shape(c: char) -> Option<char> {
    let bare: String = c
        .to_lowercase()
        .collect::<String>()
        .nfd()
        .filter(|m| {
            !matches!(
                *m,
                '\u{300}' | '\u{301}' | '\u{309}' | '\u{303}' | '\u{323}'
            )
        })
        .nfc()
        .collect();
    let mut cs = bare.chars();
    match (cs.next(), cs.next()) {
        (Some(v), None) if "aăâeêioôơuưy".contains(v) => Some(v),
        _ => None,
    }
}

/// Vowel pairs that occur inside Vietnamese syllables (triphthongs are
/// made of two of them: o-a-i, u-y-ê, ư-ơ-i…).
const VOWEL_PAIRS: &[&str] = &[
    "ai", "ao", "au", "ay", "âu", "ây", "eo", "êu", "ia", "iê", "iu", "oa", "oă", "oe", "oi", "oo",
    "ôi", "ơi", "ơu", "ua", "uâ", "uê", "ui", "uô", "uơ", "uy", "ưa", "ưi", "ưu", "ươ", "yê", "yu",
];

/// How much a text reads like Vietnamese: letters only Vietnamese uses
/// count for it; legacy marker characters, stray combining marks, words
/// with more than one tone mark (no Vietnamese syllable has two) and vowel
/// pairs no syllable has (`aư`, `oọ`) against.
pub fn score(text: &str) -> i64 {
    let mut s = 0i64;
    let chars: Vec<char> = text.chars().collect();
    // A capital right after a small letter inside a word ("CÊp", "ThÞ"):
    // how TCVN3 looks when read as Latin-1, never how Vietnamese is written.
    for pair in chars.windows(2) {
        if pair[0].is_lowercase() && pair[1].is_uppercase() {
            s -= 3;
        }
    }
    for pair in chars.windows(2) {
        if let (Some(a), Some(b)) = (vowel_shape(pair[0]), vowel_shape(pair[1])) {
            if !VOWEL_PAIRS.iter().any(|p| p.chars().eq([a, b])) {
                s -= 3;
            }
        }
    }
    for word in text.split(|c: char| {
        !c.is_alphanumeric() && !is_marker(c) && !('\u{300}'..='\u{36F}').contains(&c)
    }) {
        let mut tones = 0;
        for c in word.chars() {
            if is_vietnamese_unicode(c) || "àáâãèéêìíòóôõùúýÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝ".contains(c)
            {
                s += 1;
            }
            if is_marker(c) || ('\u{300}'..='\u{36F}').contains(&c) {
                s -= 5;
            }
            tones += tone_marks(c);
        }
        if tones > 1 {
            s -= 5;
        }
    }
    s
}

/// Whether a piece of text can be legacy text once its file is known to
/// be: it has Latin-1 characters and no letter only Unicode Vietnamese has.
pub fn may_be_legacy(text: &str) -> bool {
    text.chars().any(|c| (0xA0..=0xFF).contains(&(c as u32)))
        && !text.chars().any(is_vietnamese_unicode)
}

/// Guesses the encoding of legacy-looking text: converts it both ways and
/// keeps the reading that looks most like Vietnamese.
pub fn guess(text: &str) -> Option<Legacy> {
    if !looks_legacy(text) {
        return None;
    }
    let t = Legacy::Tcvn3 { capitals: false };
    let (st, sv) = (score(&convert(text, t)), score(&convert(text, Legacy::Vni)));
    Some(if sv > st { Legacy::Vni } else { t })
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Legacy = Legacy::Tcvn3 { capitals: false };

    #[test]
    fn tcvn3_known_phrases() {
        assert_eq!(convert("Hµ Néi", T), "Hà Nội");
        assert_eq!(
            convert("Céng hoµ x· héi chñ nghÜa ViÖt Nam", T),
            "Cộng hoà xã hội chủ nghĩa Việt Nam"
        );
        assert_eq!(
            convert("§éc lËp - Tù do - H¹nh phóc", T),
            "Độc lập - Tự do - Hạnh phúc"
        );
        assert_eq!(
            convert("Phßng Tµi nguyªn vµ M«i tr\u{AD}êng", T),
            "Phòng Tài nguyên và Môi trường"
        );
        assert_eq!(convert("TrÇn ThÞ BÝch Ngäc", T), "Trần Thị Bích Ngọc");
        assert_eq!(convert("NguyÔn V¨n An", T), "Nguyễn Văn An");
        assert_eq!(convert("N÷", T), "Nữ");
    }

    #[test]
    fn tcvn3_capital_fonts_show_capitals() {
        assert_eq!(
            convert("UBND thµnh phè b¾c ninh", Legacy::Tcvn3 { capitals: true }),
            "UBND THÀNH PHỐ BẮC NINH"
        );
        assert_eq!(
            font_encoding(".VnTimeH"),
            Some(Legacy::Tcvn3 { capitals: true })
        );
        assert_eq!(
            font_encoding(".VnAvantH"),
            Some(Legacy::Tcvn3 { capitals: true })
        );
        assert_eq!(font_encoding(".VnTime"), Some(T));
        assert_eq!(font_encoding(".VnArial"), Some(T));
        assert_eq!(font_encoding("VNI-Times"), Some(Legacy::Vni));
        assert_eq!(font_encoding("Times New Roman"), None);
    }

    #[test]
    fn vni_known_phrases() {
        let v = Legacy::Vni;
        assert_eq!(convert("Haø Noäi", v), "Hà Nội");
        assert_eq!(
            convert("Coäng hoøa xaõ hoäi chuû nghóa Vieät Nam", v),
            "Cộng hòa xã hội chủ nghĩa Việt Nam"
        );
        assert_eq!(
            convert("Ñoäc laäp - Töï do - Haïnh phuùc", v),
            "Độc lập - Tự do - Hạnh phúc"
        );
        assert_eq!(
            convert("Phoøng Taøi nguyeân vaø Moâi tröôøng", v),
            "Phòng Tài nguyên và Môi trường"
        );
        assert_eq!(convert("Traàn Thò Bích Ngoïc", v), "Trần Thị Bích Ngọc");
        assert_eq!(convert("Nguyeãn Vaên An", v), "Nguyễn Văn An");
        assert_eq!(convert("Nöõ", v), "Nữ");
        assert_eq!(convert("VIEÄT NAM", v), "VIỆT NAM");
    }

    #[test]
    fn statistics_tell_the_encodings_apart_and_leave_unicode_alone() {
        assert_eq!(
            guess("NguyÔn V¨n An, Phßng Tµi nguyªn vµ M«i tr\u{AD}êng"),
            Some(T)
        );
        assert_eq!(
            guess("Nguyeãn Vaên An, Phoøng Taøi nguyeân vaø Moâi tröôøng"),
            Some(Legacy::Vni)
        );
        assert_eq!(guess("Nguyễn Văn An"), None);
        assert_eq!(guess("Nam"), None);
        assert_eq!(guess("Lê Đức Hoàng, Chuyên viên"), None);
        // Unicode text with letters Latin-1 also has (é, ó, ê) is not legacy.
        assert_eq!(guess("Bé Tê Lê"), None);
        // Short legacy pieces.
        assert_eq!(guess("N÷"), Some(T));
        assert_eq!(guess("Nöõ"), Some(Legacy::Vni));
        assert_eq!(guess("Haø Noäi"), Some(Legacy::Vni));
        assert_eq!(guess("Hµ Néi"), Some(T));
    }

    #[test]
    fn score_prefers_real_vietnamese() {
        assert!(score("Nguyễn Văn An") > score("NguyÔn V¨n An"));
        assert!(score("Nguyễn") > score("Nguyờịn"));
    }
}
