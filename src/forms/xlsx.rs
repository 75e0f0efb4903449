//! `.xlsx` reader (calamine): every sheet becomes a table. Numbers are
//! marked as such so the interpreter can restore leading zeros of IDs and
//! read date serials; date cells are written day first.

use std::io::Cursor;

use std::collections::{HashMap, HashSet};

use calamine::{Data, Reader, Xlsx};
use quick_xml::events::Event;

use super::{read_zip_part, Cell, FormError, RawDocument};

pub fn read(bytes: &[u8]) -> Result<RawDocument, FormError> {
    // calamine reads the XML parts itself; refuse zip bombs and DTDs
    // before it does.
    let layout = {
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes))?;
        super::check_zip(&mut archive)?;
        let names: Vec<String> = archive
            .file_names()
            .filter_map(|n| n.ok().map(|n| n.into_owned()))
            .collect();
        for name in names
            .iter()
            .filter(|n| n.ends_with(".xml") || n.ends_with(".rels"))
        {
            if let Some(xml) = read_zip_part(&mut archive, name)? {
                super::refuse_dtd(&xml)?;
            }
        }
        layout(&mut archive)?
    };
    let mut wb: Xlsx<_> =
        Xlsx::new(Cursor::new(bytes)).map_err(|e| FormError::Xlsx(e.to_string()))?;
    let mut doc = RawDocument {
        date1904: layout.date1904,
        ..RawDocument::default()
    };
    for name in wb.sheet_names() {
        // A hidden sheet is not on the approved printout: not read.
        if layout.hidden_sheets.contains(&name) {
            doc.warnings.push(format!(
                "bỏ qua trang tính ẩn \"{name}\" (không có trên bản được phê duyệt)"
            ));
            continue;
        }
        let range = wb
            .worksheet_range(&name)
            .map_err(|e| FormError::Xlsx(e.to_string()))?;
        let first_row = range.start().map(|(r, _)| r).unwrap_or(0);
        let hidden = layout.hidden.get(&name).cloned().unwrap_or_default();
        let mut skipped = Vec::new();
        let mut table = Vec::new();
        for (i, row) in range.rows().enumerate() {
            let excel_row = first_row + i as u32 + 1;
            if hidden.contains(&excel_row) {
                if row.iter().any(|c| !matches!(c, Data::Empty)) {
                    skipped.push(excel_row.to_string());
                }
                continue;
            }
            table.push(row.iter().map(cell).collect::<Vec<_>>());
        }
        if !skipped.is_empty() {
            doc.warnings.push(format!(
                "trang tính \"{name}\": bỏ qua các dòng bị ẩn trong Excel (dòng {}); dòng ẩn không có trên bản được phê duyệt nên không được xử lý",
                skipped.join(", ")
            ));
        }
        doc.tables.push(table);
    }
    Ok(doc)
}

/// What calamine does not tell: the 1904 date system flag and which rows
/// are hidden, by sheet name (1-based Excel row numbers).
#[derive(Default)]
struct Layout {
    /// The workbook counts dates from 1904.
    date1904: bool,
    /// Hidden rows by sheet name.
    hidden: HashMap<String, HashSet<u32>>,
    /// Sheets hidden (or very hidden) in the workbook.
    hidden_sheets: HashSet<String>,
}

fn layout(archive: &mut zip::ZipArchive<Cursor<&[u8]>>) -> Result<Layout, FormError> {
    let mut out = Layout::default();
    let Some(workbook) = read_zip_part(archive, "xl/workbook.xml")? else {
        return Ok(out);
    };
    // Sheet name → relationship id, and the date system.
    let mut sheets: Vec<(String, String)> = Vec::new();
    each_element(&workbook, |name, attrs| match name {
        "workbookPr" => {
            out.date1904 = matches!(
                attrs.get("date1904").map(String::as_str),
                Some("1" | "true")
            );
        }
        "sheet" => {
            if let (Some(n), Some(id)) = (attrs.get("name"), attrs.get("r:id")) {
                sheets.push((n.clone(), id.clone()));
                if matches!(
                    attrs.get("state").map(String::as_str),
                    Some("hidden" | "veryHidden")
                ) {
                    out.hidden_sheets.insert(n.clone());
                }
            }
        }
        _ => {}
    })?;
    let mut targets: HashMap<String, String> = HashMap::new();
    if let Some(rels) = read_zip_part(archive, "xl/_rels/workbook.xml.rels")? {
        each_element(&rels, |name, attrs| {
            if name == "Relationship" {
                if let (Some(id), Some(t)) = (attrs.get("Id"), attrs.get("Target")) {
                    targets.insert(id.clone(), t.clone());
                }
            }
        })?;
    }
    for (sheet, id) in sheets {
        let Some(target) = targets.get(&id) else {
            continue;
        };
        let path = match target.strip_prefix('/') {
            Some(abs) => abs.to_string(),
            None => format!("xl/{target}"),
        };
        let Some(xml) = read_zip_part(archive, &path)? else {
            continue;
        };
        let mut hidden = HashSet::new();
        each_element(&xml, |name, attrs| {
            // Hidden, or zero height (as invisible on the printout).
            let zero_height = attrs.get("ht").and_then(|h| h.parse::<f64>().ok()) == Some(0.0);
            if name == "row"
                && (matches!(attrs.get("hidden").map(String::as_str), Some("1" | "true"))
                    || zero_height)
            {
                if let Some(r) = attrs.get("r").and_then(|r| r.parse().ok()) {
                    hidden.insert(r);
                }
            }
        })?;
        out.hidden.insert(sheet, hidden);
    }
    Ok(out)
}

/// Calls `f` with the local name and attributes of every element.
fn each_element(
    xml: &[u8],
    mut f: impl FnMut(&str, &HashMap<String, String>),
) -> Result<(), FormError> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    loop {
        match reader
            .read_event_into(&mut buf)
            .map_err(|e| FormError::Xml(e.to_string()))?
        {
            Event::DocType(_) => return Err(FormError::Dtd),
            Event::Start(e) | Event::Empty(e) => {
                let attrs: HashMap<String, String> = e
                    .attributes()
                    .flatten()
                    .map(|a| (a.key.as_ref().to_string(), a.value.to_string()))
                    .collect();
                f(e.local_name().as_ref(), &attrs);
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
        buf.clear();
    }
}

fn cell(d: &Data) -> Cell {
    match d {
        Data::String(s) => Cell::text(s.clone()),
        Data::Int(i) => Cell {
            text: i.to_string(),
            number: true,
        },
        Data::Float(f) => Cell {
            text: number_text(*f),
            number: true,
        },
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(t) => Cell::text(t.format("%d/%m/%Y").to_string()),
            None => Cell {
                text: number_text(dt.as_f64()),
                number: true,
            },
        },
        Data::DateTimeIso(s) => Cell::text(s.clone()),
        Data::Bool(b) => Cell::text(b.to_string()),
        Data::DurationIso(_) | Data::Error(_) | Data::Empty => Cell::default(),
    }
}

/// A number as a clerk would have typed it: integers without `.0` or
/// exponent (IDs stored as numbers often show as `2.7085E+10`).
fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_lose_exponent_and_point() {
        assert_eq!(number_text(27085001234.0), "27085001234");
        assert_eq!(number_text(1.0), "1");
        assert_eq!(number_text(1.5), "1.5");
    }
}
