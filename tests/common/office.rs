//! Builds small Word and Excel files for tests, the way Office writes them
//! (only the parts mailprov reads), so every messy case has a fixture made
//! in the test itself.

#![allow(dead_code)]

use std::io::Write;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn zip(parts: &[(&str, String)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    for (name, body) in parts {
        w.start_file(*name, opts).unwrap();
        w.write_all(body.as_bytes()).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A run of text, optionally in a font.
pub fn run(text: &str, font: Option<&str>) -> String {
    let rpr = font
        .map(|f| format!(r#"<w:rPr><w:rFonts w:ascii="{f}" w:hAnsi="{f}" w:cs="{f}"/></w:rPr>"#))
        .unwrap_or_default();
    format!(
        r#"<w:r>{rpr}<w:t xml:space="preserve">{}</w:t></w:r>"#,
        esc(text)
    )
}

/// A paragraph of plain runs split at `|` (as Word splits text across runs).
pub fn para(text: &str, font: Option<&str>) -> String {
    let runs: String = text.split('|').map(|t| run(t, font)).collect();
    format!("<w:p>{runs}</w:p>")
}

/// A table cell holding one paragraph of `text` (`\n` → line break).
pub fn tc(text: &str, font: Option<&str>) -> String {
    let runs: Vec<String> = text.split('\n').map(|t| run(t, font)).collect();
    format!(
        "<w:tc><w:p>{}</w:p></w:tc>",
        runs.join("<w:r><w:br/></w:r>")
    )
}

/// A table from cells already built (`tc`, or raw `<w:tc>` XML).
pub fn table(rows: &[Vec<String>]) -> String {
    let rows: String = rows
        .iter()
        .map(|r| format!("<w:tr>{}</w:tr>", r.concat()))
        .collect();
    format!("<w:tbl>{rows}</w:tbl>")
}

/// A table of plain text cells.
pub fn text_table(rows: &[&[&str]], font: Option<&str>) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| tc(c, font)).collect())
        .collect();
    table(&rows)
}

/// A `.docx` with this body XML; `default_font` goes into styles.xml.
pub fn docx(body: &str, default_font: Option<&str>) -> Vec<u8> {
    let document = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><w:body>{body}</w:body></w:document>"#
    );
    let font = default_font.unwrap_or("Times New Roman");
    let styles = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii="{font}" w:hAnsi="{font}"/></w:rPr></w:rPrDefault></w:docDefaults><w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style></w:styles>"#
    );
    zip(&[
        ("[Content_Types].xml", r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#.to_string()),
        ("_rels/.rels", r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#.to_string()),
        ("word/document.xml", document),
        ("word/styles.xml", styles),
    ])
}

/// An Excel cell.
#[derive(Clone, Debug)]
pub enum X {
    S(String),
    /// A number in a General cell.
    N(f64),
    /// A date serial in a dd/mm/yyyy cell.
    D(f64),
    E,
}

pub fn s(t: &str) -> X {
    X::S(t.to_string())
}

/// A sheet: name and rows (hidden?, cells).
pub struct Sheet {
    pub name: String,
    pub rows: Vec<(bool, Vec<X>)>,
    /// Hidden in the workbook (state="hidden").
    pub hidden: bool,
}

/// An `.xlsx` of these sheets; `date1904` sets the 1904 date system.
pub fn xlsx(sheets: &[Sheet], date1904: bool) -> Vec<u8> {
    let mut parts: Vec<(String, String)> = Vec::new();
    let mut sheet_list = String::new();
    let mut rels = String::new();
    let mut overrides = String::new();
    for (i, sh) in sheets.iter().enumerate() {
        let n = i + 1;
        let state = if sh.hidden { r#" state="hidden""# } else { "" };
        sheet_list.push_str(&format!(
            r#"<sheet name="{}" sheetId="{n}"{state} r:id="rId{n}"/>"#,
            esc(&sh.name)
        ));
        rels.push_str(&format!(r#"<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{n}.xml"/>"#));
        overrides.push_str(&format!(r#"<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#));
        let mut data = String::new();
        for (r, (hidden, cells)) in sh.rows.iter().enumerate() {
            let r = r + 1;
            let h = if *hidden { r#" hidden="1""# } else { "" };
            data.push_str(&format!(r#"<row r="{r}"{h}>"#));
            for (c, x) in cells.iter().enumerate() {
                let col = (b'A' + c as u8) as char;
                match x {
                    X::S(t) => data.push_str(&format!(
                        r#"<c r="{col}{r}" t="inlineStr"><is><t>{}</t></is></c>"#,
                        esc(t)
                    )),
                    X::N(v) => data.push_str(&format!(r#"<c r="{col}{r}"><v>{v}</v></c>"#)),
                    X::D(v) => data.push_str(&format!(r#"<c r="{col}{r}" s="1"><v>{v}</v></c>"#)),
                    X::E => {}
                }
            }
            data.push_str("</row>");
        }
        parts.push((
            format!("xl/worksheets/sheet{n}.xml"),
            format!(r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{data}</sheetData></worksheet>"#),
        ));
    }
    let pr = if date1904 {
        r#"<workbookPr date1904="1"/>"#
    } else {
        "<workbookPr/>"
    };
    parts.push((
        "xl/workbook.xml".into(),
        format!(r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">{pr}<sheets>{sheet_list}</sheets></workbook>"#),
    ));
    parts.push((
        "xl/_rels/workbook.xml.rels".into(),
        format!(r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#),
    ));
    parts.push((
        "xl/styles.xml".into(),
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="165" formatCode="dd/mm/yyyy"/></numFmts><fonts count="1"><font><name val="Calibri"/></font></fonts><fills count="1"><fill><patternFill/></fill></fills><borders count="1"><border/></borders><cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0" xfId="0"/><xf numFmtId="165" xfId="0" applyNumberFormat="1"/></cellXfs></styleSheet>"#.into(),
    ));
    parts.push((
        "[Content_Types].xml".into(),
        format!(r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>{overrides}</Types>"#),
    ));
    parts.push((
        "_rels/.rels".into(),
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.into(),
    ));
    let refs: Vec<(&str, String)> = parts.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    zip(&refs)
}
