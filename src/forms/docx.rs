//! `.docx` reader: walks `word/document.xml` and collects tables and
//! paragraphs. Text split across runs is joined; `w:br`/`w:cr` become line
//! breaks; deleted text of tracked changes is skipped; merged cells are
//! spread over the grid columns and rows they cover.

use std::io::Cursor;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use std::collections::HashMap;

use super::legacy::{convert, font_encoding, Legacy};
use super::{read_zip_part, Cell, FormError, RawDocument, Table};

/// A table being built while its XML is read.
#[derive(Default)]
struct TableBuilder {
    /// Finished rows, one cell per grid column.
    rows: Table,
    /// The row being read.
    row: Vec<Cell>,
    /// Text of the cell being read, paragraphs joined by `\n`.
    cell: String,
    /// `w:gridSpan` of the cell being read.
    span: usize,
    /// The cell being read continues a vertical merge (`w:vMerge` without
    /// `restart`): it takes the text of the cell above.
    vmerge_continue: bool,
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name)
        .map(|a| a.value.to_string())
}

pub fn read(bytes: &[u8]) -> Result<RawDocument, FormError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))?;
    super::check_zip(&mut archive)?;
    let xml = read_zip_part(&mut archive, "word/document.xml")?
        .ok_or_else(|| FormError::Xml("word/document.xml is missing".into()))?;
    let fonts = match read_zip_part(&mut archive, "word/styles.xml")? {
        Some(styles) => parse_styles(&styles)?,
        None => Fonts::default(),
    };
    parse_document_xml(&xml, &fonts)
}

/// Fonts the styles give text that names none itself.
#[derive(Debug, Default)]
pub(crate) struct Fonts {
    /// The document's default font (docDefaults, then the default
    /// paragraph style).
    default: Option<String>,
    /// Style id → (its own font, the style it is based on).
    styles: HashMap<String, (Option<String>, Option<String>)>,
}

impl Fonts {
    /// The font of a style, following `basedOn` (a few levels at most).
    fn of_style(&self, id: &str) -> Option<String> {
        let mut id = id.to_string();
        for _ in 0..10 {
            let (font, based_on) = self.styles.get(&id)?;
            if let Some(f) = font {
                return Some(f.clone());
            }
            id = based_on.clone()?;
        }
        None
    }
}

/// The ASCII font of an `rFonts` element (`w:ascii`, else `w:hAnsi`).
fn rfonts(e: &BytesStart<'_>) -> Option<String> {
    attr(e, "w:ascii").or_else(|| attr(e, "w:hAnsi"))
}

/// Reads `word/styles.xml` for fonts only.
pub(crate) fn parse_styles(xml: &[u8]) -> Result<Fonts, FormError> {
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut fonts = Fonts::default();
    let mut doc_default: Option<String> = None;
    let mut default_style: Option<String> = None;
    // The style being read: (id, font, basedOn).
    let mut style: Option<(String, Option<String>, Option<String>)> = None;
    let mut in_defaults = false;
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| FormError::Xml(e.to_string()))?;
        match event {
            Event::DocType(_) => return Err(FormError::Dtd),
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                "docDefaults" => in_defaults = true,
                "style" => {
                    let id = attr(&e, "w:styleId").unwrap_or_default();
                    if attr(&e, "w:default").as_deref() == Some("1")
                        && attr(&e, "w:type").as_deref() == Some("paragraph")
                    {
                        default_style = Some(id.clone());
                    }
                    style = Some((id, None, None));
                }
                "basedOn" => {
                    if let Some(s) = style.as_mut() {
                        s.2 = attr(&e, "w:val");
                    }
                }
                "rFonts" => {
                    if let Some(s) = style.as_mut() {
                        s.1 = s.1.take().or_else(|| rfonts(&e));
                    } else if in_defaults {
                        doc_default = doc_default.or_else(|| rfonts(&e));
                    }
                }
                _ => {}
            },
            Event::End(e) => match e.local_name().as_ref() {
                "docDefaults" => in_defaults = false,
                "style" => {
                    if let Some((id, font, based_on)) = style.take() {
                        fonts.styles.insert(id, (font, based_on));
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    fonts.default = default_style
        .and_then(|id| fonts.of_style(&id))
        .or(doc_default);
    Ok(fonts)
}

/// Most cells a document may spread into (merged cells count once per grid
/// column and row they cover). A real request file has a few hundred.
const MAX_CELLS: usize = 200_000;
/// Most text all cells together may hold, merged copies included.
const MAX_CELL_TEXT: usize = 16 * 1024 * 1024;

pub(crate) fn parse_document_xml(xml: &[u8], fonts: &Fonts) -> Result<RawDocument, FormError> {
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut doc = RawDocument {
        continues: true,
        ..RawDocument::default()
    };
    let mut tables: Vec<TableBuilder> = Vec::new();
    // Text of the paragraph being read, as written, in segments of one
    // encoding: a legacy segment is converted whole when the paragraph
    // ends, so a VNI mark in the next run still finds its vowel.
    let mut para: Vec<(Option<Legacy>, String)> = Vec::new();
    let push =
        |para: &mut Vec<(Option<Legacy>, String)>, enc: Option<Legacy>, text: &str| match para
            .last_mut()
        {
            Some((e, s)) if *e == enc => s.push_str(text),
            _ => para.push((enc, text.to_string())),
        };
    let finish = |para: &mut Vec<(Option<Legacy>, String)>| -> String {
        std::mem::take(para)
            .into_iter()
            .map(|(enc, s)| match enc {
                Some(enc) => convert(&s, enc),
                None => s,
            })
            .collect()
    };
    // Inside `w:t` (text we keep).
    let mut in_text = false;
    // Depth of `w:del` (tracked deletions: not read).
    let mut in_del = 0usize;
    // Cells and cell text so far, against MAX_CELLS and MAX_CELL_TEXT: a
    // small file of merged cells must not spread into gigabytes.
    let mut cells = 0usize;
    let mut cell_text = 0usize;
    // Font of the text being read, for legacy encodings: the run's own
    // font, else its character style's, else its paragraph style's, else
    // the document default.
    let mut in_run = false;
    let mut in_ppr = false;
    let mut para_style: Option<String> = None;
    let mut run_style: Option<String> = None;
    let mut run_font: Option<String> = None;
    // The run is hidden text (`w:vanish`): not on the printed, approved
    // copy, so not read.
    let mut run_hidden = false;
    let mut saw_hidden = false;
    let mut used: Vec<Legacy> = Vec::new();
    let encoding =
        |run_font: &Option<String>, run_style: &Option<String>, para_style: &Option<String>| {
            run_font
                .clone()
                .or_else(|| run_style.as_deref().and_then(|s| fonts.of_style(s)))
                .or_else(|| para_style.as_deref().and_then(|s| fonts.of_style(s)))
                .or_else(|| fonts.default.clone())
                .and_then(|f| font_encoding(&f))
        };

    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| FormError::Xml(e.to_string()))?;
        match event {
            Event::DocType(_) => return Err(FormError::Dtd),
            Event::Start(e) => match e.local_name().as_ref() {
                "tbl" => tables.push(TableBuilder::default()),
                "tr" => {
                    if let Some(t) = tables.last_mut() {
                        t.row.clear();
                    }
                }
                "tc" => {
                    if let Some(t) = tables.last_mut() {
                        t.cell.clear();
                        t.span = 1;
                        t.vmerge_continue = false;
                    }
                }
                "t" if in_del == 0 => in_text = true,
                "del" => in_del += 1,
                "p" => {
                    para.clear();
                    para_style = None;
                }
                "pPr" => in_ppr = true,
                "r" => {
                    in_run = true;
                    run_style = None;
                    run_font = None;
                    run_hidden = false;
                }
                _ => {}
            },
            Event::Empty(e) => match e.local_name().as_ref() {
                "pStyle" if in_ppr => para_style = attr(&e, "w:val"),
                "rStyle" if in_run => run_style = attr(&e, "w:val"),
                "rFonts" if in_run => run_font = rfonts(&e),
                "vanish" if in_run => {
                    run_hidden =
                        !matches!(attr(&e, "w:val").as_deref(), Some("0" | "false" | "off"));
                }
                "br" | "cr" if in_del == 0 => push(&mut para, None, "\n"),
                "tab" if in_del == 0 => push(&mut para, None, " "),
                "noBreakHyphen" if in_del == 0 => push(&mut para, None, "-"),
                "gridSpan" => {
                    if let Some(t) = tables.last_mut() {
                        t.span = attr(&e, "w:val")
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(1)
                            .clamp(1, 64);
                    }
                }
                "vMerge" => {
                    if let Some(t) = tables.last_mut() {
                        t.vmerge_continue = attr(&e, "w:val").as_deref() != Some("restart");
                    }
                }
                _ => {}
            },
            Event::Text(_) | Event::GeneralRef(_) if in_text && run_hidden => saw_hidden = true,
            Event::Text(e) if in_text => {
                let text = e.xml10_content();
                let enc = encoding(&run_font, &run_style, &para_style);
                if let Some(enc) = enc {
                    if !used.contains(&enc) {
                        used.push(enc);
                    }
                }
                push(&mut para, enc, &text);
            }
            Event::GeneralRef(r) if in_text => {
                let c = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c),
                    _ => match &*r {
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        _ => None,
                    },
                };
                if let Some(c) = c {
                    push(
                        &mut para,
                        encoding(&run_font, &run_style, &para_style),
                        &c.to_string(),
                    );
                }
            }
            Event::End(e) => match e.local_name().as_ref() {
                "t" => in_text = false,
                "pPr" => in_ppr = false,
                "r" => in_run = false,
                "del" => in_del = in_del.saturating_sub(1),
                "p" => {
                    let text = finish(&mut para);
                    match tables.last_mut() {
                        Some(t) => {
                            if !t.cell.is_empty() {
                                t.cell.push('\n');
                            }
                            t.cell.push_str(&text);
                        }
                        None => {
                            // Kept as written (a soft hyphen is TCVN3's ư):
                            // cleaned after the legacy check.
                            if !crate::text::clean(&text).is_empty() {
                                doc.text.push(text);
                            }
                        }
                    }
                }
                "tc" => {
                    if let Some(t) = tables.last_mut() {
                        let col = t.row.len();
                        let text = if t.vmerge_continue {
                            t.rows
                                .last()
                                .and_then(|above| above.get(col))
                                .map(|c| c.text.clone())
                                .unwrap_or_default()
                        } else {
                            t.cell.clone()
                        };
                        cells += t.span;
                        cell_text += text.len();
                        if cells > MAX_CELLS || cell_text > MAX_CELL_TEXT {
                            return Err(FormError::TooLarge);
                        }
                        // A horizontally merged cell belongs to every grid
                        // column it spans; the first carries the text.
                        t.row.push(Cell::text(text));
                        for _ in 1..t.span {
                            t.row.push(Cell::default());
                        }
                    }
                }
                "tr" => {
                    if let Some(t) = tables.last_mut() {
                        let row = std::mem::take(&mut t.row);
                        t.rows.push(row);
                    }
                }
                "tbl" => {
                    if let Some(t) = tables.pop() {
                        doc.tables.push(t.rows);
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if saw_hidden {
        doc.warnings.push("văn bản có chữ bị ẩn (hidden text); phần chữ ẩn không có trên bản được phê duyệt nên không được đọc".into());
    }
    for enc in used {
        doc.warnings.push(format!(
            "văn bản dùng phông chữ bảng mã cũ {}; đã chuyển sang Unicode",
            enc.name()
        ));
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(t: &Table, r: usize) -> Vec<&str> {
        t[r].iter().map(|c| c.text.as_str()).collect()
    }

    #[test]
    fn runs_breaks_and_deletions() {
        let xml = r#"<w:document xmlns:w="w"><w:body>
            <w:p><w:r><w:t>Số: 15/</w:t></w:r><w:r><w:t>TNMT-VP</w:t></w:r></w:p>
            <w:tbl><w:tr>
              <w:tc><w:p><w:r><w:t>Họ và</w:t><w:br/><w:t>tên</w:t></w:r></w:p></w:tc>
              <w:tc><w:p><w:del><w:r><w:delText>old</w:delText></w:r></w:del><w:ins><w:r><w:t>Ng&#224;y sinh</w:t></w:r></w:ins></w:p></w:tc>
            </w:tr></w:tbl></w:body></w:document>"#;
        let doc = parse_document_xml(xml.as_bytes(), &Fonts::default()).unwrap();
        assert_eq!(doc.text, vec!["Số: 15/TNMT-VP"]);
        assert_eq!(cells(&doc.tables[0], 0), vec!["Họ và\ntên", "Ngày sinh"]);
    }

    #[test]
    fn merged_cells_spread_over_the_grid() {
        let xml = r#"<w:document xmlns:w="w"><w:body><w:tbl>
            <w:tr><w:tc><w:tcPr><w:gridSpan w:val="2"/></w:tcPr><w:p><w:r><w:t>A</w:t></w:r></w:p></w:tc><w:tc><w:tcPr><w:vMerge w:val="restart"/></w:tcPr><w:p><w:r><w:t>Unit</w:t></w:r></w:p></w:tc></w:tr>
            <w:tr><w:tc><w:p/></w:tc><w:tc><w:p><w:r><w:t>B</w:t></w:r></w:p></w:tc><w:tc><w:tcPr><w:vMerge/></w:tcPr><w:p/></w:tc></w:tr>
            </w:tbl></w:body></w:document>"#;
        let doc = parse_document_xml(xml.as_bytes(), &Fonts::default()).unwrap();
        assert_eq!(cells(&doc.tables[0], 0), vec!["A", "", "Unit"]);
        assert_eq!(cells(&doc.tables[0], 1), vec!["", "B", "Unit"]);
    }

    #[test]
    fn regression_vmerge_copies_cannot_blow_up_memory() {
        // One cell of 1 MB continued down 3000 rows: 3 GB if copied freely.
        let big = "x".repeat(1 << 20);
        let mut xml = format!(
            r#"<w:document xmlns:w="w"><w:body><w:tbl><w:tr><w:tc><w:p><w:r><w:t>{big}</w:t></w:r></w:p></w:tc></w:tr>"#
        );
        for _ in 0..3000 {
            xml.push_str(r#"<w:tr><w:tc><w:tcPr><w:vMerge/></w:tcPr></w:tc></w:tr>"#);
        }
        xml.push_str("</w:tbl></w:body></w:document>");
        assert!(matches!(
            parse_document_xml(xml.as_bytes(), &Fonts::default()),
            Err(FormError::TooLarge)
        ));
    }

    #[test]
    fn regression_wide_grid_spans_are_bounded() {
        let row = r#"<w:tc><w:tcPr><w:gridSpan w:val="64"/></w:tcPr><w:p/></w:tc>"#.repeat(20);
        let xml = format!(
            r#"<w:document xmlns:w="w"><w:body><w:tbl>{}</w:tbl></w:body></w:document>"#,
            format!("<w:tr>{row}</w:tr>").repeat(200)
        );
        assert!(matches!(
            parse_document_xml(xml.as_bytes(), &Fonts::default()),
            Err(FormError::TooLarge)
        ));
    }

    #[test]
    fn doctype_is_refused() {
        let xml = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><w:document/>"#;
        assert!(matches!(
            parse_document_xml(xml.as_bytes(), &Fonts::default()),
            Err(FormError::Dtd)
        ));
    }
}
