//! `.xlsx` reader (calamine): every sheet becomes a table. Numbers are
//! marked as such so the interpreter can restore leading zeros of IDs and
//! read date serials; date cells are written day first.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};

use super::{Cell, FormError, RawDocument};

pub fn read(bytes: &[u8]) -> Result<RawDocument, FormError> {
    // calamine reads the XML parts itself; refuse zip bombs before it does.
    {
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes))?;
        for i in 0..archive.len() {
            let f = archive.by_index(i)?;
            if f.size() > super::MAX_PART_BYTES {
                return Err(FormError::TooLarge);
            }
        }
    }
    let mut wb: Xlsx<_> =
        Xlsx::new(Cursor::new(bytes)).map_err(|e| FormError::Xlsx(e.to_string()))?;
    let mut doc = RawDocument::default();
    for name in wb.sheet_names() {
        let range = wb
            .worksheet_range(&name)
            .map_err(|e| FormError::Xlsx(e.to_string()))?;
        let table = range
            .rows()
            .map(|row| row.iter().map(cell).collect::<Vec<_>>())
            .collect();
        doc.tables.push(table);
    }
    Ok(doc)
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
