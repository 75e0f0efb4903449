//! CSV reader: UTF-8 (with or without BOM), UTF-16 with BOM (Excel's
//! "Unicode text") and Windows-1258; separator sniffed among `,` `;` tab.

use unicode_normalization::UnicodeNormalization;

use super::legacy::{convert, score, Legacy};
use super::{Cell, FormError, RawDocument};

/// Decodes the bytes of a text file: by its BOM (UTF-8, UTF-16), as
/// UTF-8 when it is valid UTF-8, else as whichever of the 8-bit encodings
/// of Vietnamese Windows reads most like Vietnamese: Windows-1258, or
/// TCVN3 / VNI-Windows text saved as "ANSI". Returns the legacy encoding
/// used, if any.
pub fn decode(bytes: &[u8]) -> (String, Option<Legacy>) {
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        return (text.into_owned(), None);
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return (s.to_string(), None);
    }
    let cp1258: String = encoding_rs::WINDOWS_1258
        .decode_without_bom_handling(bytes)
        .0
        .nfc()
        .collect();
    // Latin-1 reading: every byte its own code point, as the legacy tables
    // are written.
    let latin: String = bytes.iter().map(|&b| b as char).collect();
    let t = Legacy::Tcvn3 { capitals: false };
    let candidates = [
        (cp1258, None),
        (convert(&latin, t), Some(t)),
        (convert(&latin, Legacy::Vni), Some(Legacy::Vni)),
    ];
    // Ties go to Windows-1258, the first candidate.
    candidates
        .into_iter()
        .enumerate()
        .max_by_key(|(i, (text, _))| (score(text), std::cmp::Reverse(*i)))
        .map(|(_, c)| c)
        .expect("three candidates")
}

/// The separator of the table: among `,` `;` tab, the one that appears
/// most often (outside quotes) on any single one of the first lines. A
/// title line such as "Bắc Ninh, ngày 01 tháng 12" above a `;` table has
/// one comma; the header row has seven semicolons.
fn sniff(text: &str) -> u8 {
    let mut best = (b',', 0usize);
    for line in text.lines().filter(|l| !l.trim().is_empty()).take(30) {
        let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
        let mut quoted = false;
        for c in line.bytes() {
            if c == b'"' {
                quoted = !quoted;
            } else if !quoted {
                for (sep, n) in counts.iter_mut() {
                    if *sep == c {
                        *n += 1;
                    }
                }
            }
        }
        for (sep, n) in counts {
            if n > best.1 {
                best = (sep, n);
            }
        }
    }
    best.0
}

pub fn read(bytes: &[u8]) -> Result<RawDocument, FormError> {
    let (text, legacy) = decode(bytes);
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(sniff(&text))
        .from_reader(text.as_bytes());
    let mut table = Vec::new();
    for record in reader.records() {
        table.push(record?.iter().map(Cell::text).collect());
    }
    let warnings = legacy
        .map(|enc| {
            vec![format!(
                "tệp CSV dùng bảng mã cũ {}; đã chuyển sang Unicode",
                enc.name()
            )]
        })
        .unwrap_or_default();
    Ok(RawDocument {
        tables: vec![table],
        warnings,
        ..RawDocument::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_and_semicolons() {
        let doc = read("\u{FEFF}STT;Họ và tên\n1;\"Lê, Văn\"\n".as_bytes()).unwrap();
        assert_eq!(doc.tables[0][0][1].text, "Họ và tên");
        assert_eq!(doc.tables[0][1][1].text, "Lê, Văn");
    }

    #[test]
    fn regression_title_line_with_a_comma_above_a_semicolon_table() {
        let text = "Bắc Ninh, ngày 01 tháng 12 năm 2026\nSTT;Họ và tên;Ngày sinh;Giới tính\n1;An;1/1/1990;Nam\n";
        let doc = read(text.as_bytes()).unwrap();
        assert_eq!(doc.tables[0][1][1].text, "Họ và tên");
    }

    #[test]
    fn ansi_files_in_tcvn3_and_vni_are_recognised() {
        // Bytes as Vietnamese Windows saved them: each legacy character is
        // one byte (its Latin-1 code point).
        let bytes = |s: &str| s.chars().map(|c| c as u32 as u8).collect::<Vec<u8>>();
        let (t, enc) = decode(&bytes("Hä vµ tªn;Giíi tÝnh\nNguyÔn V¨n An;N÷\n"));
        assert_eq!(t, "Họ và tên;Giới tính\nNguyễn Văn An;Nữ\n");
        assert_eq!(enc, Some(Legacy::Tcvn3 { capitals: false }));
        let (t, enc) = decode(&bytes("Hoï vaø teân;Giôùi tính\nNguyeãn Vaên An;Nöõ\n"));
        assert_eq!(t, "Họ và tên;Giới tính\nNguyễn Văn An;Nữ\n");
        assert_eq!(enc, Some(Legacy::Vni));
    }

    #[test]
    fn utf16_tab_separated() {
        let mut bytes = vec![0xFF, 0xFE];
        for u in "STT\tHọ và tên\r\n1\tAn\r\n".encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        let doc = read(&bytes).unwrap();
        assert_eq!(doc.tables[0][0][1].text, "Họ và tên");
        assert_eq!(doc.tables[0][1][1].text, "An");
    }

    #[test]
    fn windows_1258_falls_back() {
        // "Nam" and "Nữ" in cp1258: ữ is ư (0xFD) + combining tilde (0xDE).
        let bytes = b"Gioi;N\xfd\xde\n";
        let doc = read(bytes).unwrap();
        assert_eq!(crate::text::clean(&doc.tables[0][0][1].text), "Nữ");
    }
}
