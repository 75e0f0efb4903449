//! Maps a [`RawDocument`] to a [`Form`]: finds the request table by its
//! header words (never by position), names each column, drops blank and
//! title rows, and reads the letter head (issuing unit, document number).

use std::collections::BTreeMap;

use super::{Cell, FormError, RawDocument, Table};
use crate::model::{Meta, RowRef};
use crate::text::{clean, clean_line, fold};

/// Which official form a file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum FormKind {
    /// Form 1: create, lock, unlock, delete.
    Accounts,
    /// Form 2: change information of existing accounts.
    Changes,
}

/// A column of either form, named by its meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Column {
    Stt,
    Name,
    BirthDate,
    Gender,
    Id,
    Title,
    Unit,
    Action,
    /// Form 2: Thông tin cần thay đổi.
    What,
    /// Form 2: Thông tin mới.
    NewValue,
    /// Form 2: Ghi chú.
    Note,
}

impl Column {
    /// Recognises a header cell. Order matters: "Thông tin cần thay đổi"
    /// must not be read as the action column's "nội dung".
    fn of_header(text: &str) -> Option<Column> {
        let f = fold(text);
        let f = f.trim_matches(|c: char| !c.is_alphanumeric());
        let has = |w: &str| f.contains(w);
        Some(match () {
            _ if f == "stt" || f == "tt" || f == "so tt" || f == "so thu tu" => Column::Stt,
            _ if has("thong tin can thay doi")
                || has("noi dung thay doi")
                || has("thong tin cu") =>
            {
                Column::What
            }
            _ if has("thong tin moi") || has("noi dung moi") => Column::NewValue,
            _ if has("ghi chu") => Column::Note,
            _ if has("ho va ten")
                || has("ho ten")
                || has("ho, chu dem va ten")
                || has("ho, ten") =>
            {
                Column::Name
            }
            _ if has("ngay sinh") || has("nam sinh") || has("ngay, thang, nam sinh") => {
                Column::BirthDate
            }
            _ if has("gioi tinh") => Column::Gender,
            _ if has("cmt")
                || has("cmnd")
                || has("cccd")
                || has("dinh danh")
                || has("can cuoc") =>
            {
                Column::Id
            }
            _ if has("chuc vu") || has("chuc danh") => Column::Title,
            _ if has("don vi") || has("co quan") => Column::Unit,
            _ if has("noi dung") || has("de nghi") || has("hinh thuc") => Column::Action,
            _ => return None,
        })
    }
}

/// A data row of the request table, cells named by column.
#[derive(Clone, Debug, PartialEq)]
pub struct FormRow {
    /// Where the row is in the table.
    pub row: RowRef,
    /// Its cells, by column meaning (only the columns the header has).
    pub cells: BTreeMap<Column, Cell>,
}

impl FormRow {
    /// The cleaned text of a column, empty when the column is absent.
    pub fn get(&self, c: Column) -> &str {
        self.cells.get(&c).map(|c| c.text.as_str()).unwrap_or("")
    }

    /// All cells' text, for finding an address anywhere in the row.
    pub fn all_text(&self) -> impl Iterator<Item = (Column, &str)> {
        self.cells.iter().map(|(c, cell)| (*c, cell.text.as_str()))
    }
}

/// A request file understood: which form, its letter head, its rows.
#[derive(Clone, Debug)]
pub struct Form {
    /// Form 1 or Form 2, decided by the header.
    pub kind: FormKind,
    /// Letter head: issuing unit, document number, date.
    pub meta: Meta,
    /// Data rows, blank and title rows left out.
    pub rows: Vec<FormRow>,
    /// Things read with a correction the officer should know about (for
    /// example a leading 0 restored). Never contains a clear ID.
    pub warnings: Vec<String>,
}

impl Form {
    /// The unit that sent the file: the letter head's issuing unit, else the
    /// unit every row names, if they all name the same one.
    pub fn requesting_unit(&self) -> Option<String> {
        let from_rows = self.row_unit();
        match (&self.meta.issuing_unit, from_rows) {
            // The letter head is often in capitals; the rows spell the same
            // unit in normal case.
            (Some(head), Some(rows)) if crate::text::key(head) == crate::text::key(&rows) => {
                Some(rows)
            }
            (Some(head), _) => Some(head.clone()),
            (None, rows) => rows,
        }
    }

    /// The unit every row names, if they all name the same one.
    fn row_unit(&self) -> Option<String> {
        let mut units = self
            .rows
            .iter()
            .map(|r| clean_line(r.get(Column::Unit)))
            .filter(|u| !u.is_empty());
        let first = units.next()?;
        let key = crate::text::key(&first);
        units.all(|u| crate::text::key(&u) == key).then_some(first)
    }
}

/// Header mapping of one row: column → index.
fn header_of(row: &[Cell]) -> Option<(FormKind, BTreeMap<Column, usize>)> {
    let mut map = BTreeMap::new();
    for (i, cell) in row.iter().enumerate() {
        if let Some(c) = Column::of_header(&cell.text) {
            map.entry(c).or_insert(i);
        }
    }
    let has = |c| map.contains_key(&c);
    if has(Column::What) && has(Column::NewValue) {
        Some((FormKind::Changes, map))
    } else if has(Column::Name) && has(Column::Id) && has(Column::Action) {
        Some((FormKind::Accounts, map))
    } else {
        None
    }
}

/// How many rows from the top of a table a header may sit.
const HEADER_SEARCH_ROWS: usize = 20;

fn is_numbering_row(cells: &[&str]) -> bool {
    // Rows such as "(1) (2) (3) …" under the header.
    let numbered = cells
        .iter()
        .filter(|t| {
            let t = t.trim_matches(|c| c == '(' || c == ')');
            !t.is_empty() && t.chars().all(|c| c.is_ascii_digit())
        })
        .count();
    numbered >= 3 && numbered == cells.iter().filter(|t| !t.is_empty()).count()
}

fn looks_like_stt(t: &str) -> bool {
    let t = t.trim_end_matches(['.', ')']);
    !t.is_empty() && t.chars().all(|c| c.is_ascii_digit())
}

pub fn interpret(doc: &RawDocument) -> Result<Form, FormError> {
    // The first table with a recognised header decides the form.
    let mut found: Option<(usize, usize, FormKind, BTreeMap<Column, usize>)> = None;
    for (ti, table) in doc.tables.iter().enumerate() {
        for (ri, row) in table.iter().take(HEADER_SEARCH_ROWS).enumerate() {
            if let Some((kind, map)) = header_of(row) {
                found = Some((ti, ri, kind, map));
                break;
            }
        }
        if found.is_some() {
            break;
        }
    }
    let (first_table, header_row, kind, first_map) = found.ok_or(FormError::NoRequestTable)?;
    let width = doc.tables[first_table][header_row].len();

    let mut rows = Vec::new();
    let mut warnings = doc.warnings.clone();
    let start = (header_row + 1).min(doc.tables[first_table].len());
    collect_rows(
        &doc.tables[first_table][start..],
        &first_map,
        kind,
        doc.date1904,
        &mut rows,
        &mut warnings,
    );

    // In Word, a list broken by a page break goes on in the next tables:
    // with the header repeated, or without it but with numbered rows (after
    // a section row or a numbering row, perhaps with an extra column).
    if doc.continues {
        for table in &doc.tables[first_table + 1..] {
            let repeated =
                table
                    .iter()
                    .take(HEADER_SEARCH_ROWS)
                    .enumerate()
                    .find_map(|(ri, row)| {
                        header_of(row)
                            .filter(|(k, _)| *k == kind)
                            .map(|(_, m)| (ri + 1, m))
                    });
            let (start, map) = match repeated {
                Some((start, map)) => (start, map),
                None => {
                    let numbered = table.iter().take(5).any(|r| {
                        r.len() + 1 >= width
                            && r.first().is_some_and(|c| looks_like_stt(&clean(&c.text)))
                    });
                    if !numbered {
                        continue;
                    }
                    (0, first_map.clone())
                }
            };
            collect_rows(
                &table[start.min(table.len())..],
                &map,
                kind,
                doc.date1904,
                &mut rows,
                &mut warnings,
            );
        }
    } else {
        // Workbook sheets stand alone; a second sheet with the same header
        // is either an old list or the rest of this one, and only a person
        // can tell: the file is refused rather than half read.
        let others = doc
            .tables
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != first_table)
            .filter(|(_, t)| holds_request_rows(t, first_map.len()))
            .count();
        if others > 0 {
            return Err(FormError::SeveralLists);
        }
    }

    let meta = letter_head(doc, first_table, header_row);
    // The same note once, in the order first seen.
    let mut seen = std::collections::HashSet::new();
    warnings.retain(|w| seen.insert(w.clone()));
    Ok(Form {
        kind,
        meta,
        rows,
        warnings,
    })
}

fn collect_rows(
    table: &[Vec<Cell>],
    map: &BTreeMap<Column, usize>,
    kind: FormKind,
    date1904: bool,
    rows: &mut Vec<FormRow>,
    warnings: &mut Vec<String>,
) {
    for raw in table {
        let mut cells: BTreeMap<Column, Cell> = map
            .iter()
            .map(|(c, i)| {
                let cell = raw.get(*i).cloned().unwrap_or_default();
                (
                    *c,
                    Cell {
                        text: clean(&cell.text),
                        number: cell.number,
                    },
                )
            })
            .collect();
        let texts: Vec<&str> = cells.values().map(|c| c.text.as_str()).collect();
        let filled: Vec<&&str> = texts.iter().filter(|t| !t.is_empty()).collect();
        if filled.is_empty() || is_numbering_row(&texts) {
            continue;
        }
        // A title row inside the table ("I. Khối phòng ban"): one filled
        // cell, in the first column, that is not a row number.
        let first_col = map.values().min().copied().unwrap_or(0);
        let first_text = clean(raw.get(first_col).map(|c| c.text.as_str()).unwrap_or(""));
        if filled.len() == 1 && !first_text.is_empty() && !looks_like_stt(&first_text) {
            continue;
        }
        let index = rows.len() + 1;
        let stt = cells
            .get(&Column::Stt)
            .map(|c| c.text.clone())
            .unwrap_or_default();
        let row = RowRef { index, stt };
        if kind == FormKind::Accounts {
            fix_numbers(&row, &mut cells, date1904, warnings);
        }
        rows.push(FormRow { row, cells });
    }
}

/// Whether another sheet holds request rows: numbered rows about as wide
/// as the form's columns (after a header or not). A sheet with only a
/// header (an empty template) or only notes holds none.
fn holds_request_rows(table: &Table, columns: usize) -> bool {
    table.iter().any(|r| {
        r.len() + 1 >= columns
            && r.first().is_some_and(|c| looks_like_stt(&clean(&c.text)))
            && r.iter().filter(|c| !clean(&c.text).is_empty()).count() >= 3
    })
}

/// Undoes what Excel does to IDs and dates stored as numbers.
fn fix_numbers(
    row: &RowRef,
    cells: &mut BTreeMap<Column, Cell>,
    date1904: bool,
    warnings: &mut Vec<String>,
) {
    if let Some(id) = cells.get_mut(&Column::Id) {
        // Every CCCD starts with 0 (provinces 001–096; 001–009 lose two
        // zeros); a CMND may start with 0.
        let want = match id.text.len() {
            10 | 11 => 12,
            8 => 9,
            _ => 0,
        };
        if id.number && want > 0 && id.text.chars().all(|c| c.is_ascii_digit()) {
            id.text = format!("{:0>want$}", id.text);
            warnings.push(format!(
                "{row}: đã khôi phục chữ số 0 đầu của số CMT/CCCD bị Excel lưu dạng số"
            ));
        }
    }
    if let Some(d) = cells.get_mut(&Column::BirthDate) {
        if d.number {
            if let Ok(serial) = d.text.parse::<i64>() {
                // 1900–2100 is a year typed as a number ("Năm sinh"), not a
                // date serial (those are 1905–2187): left for validation
                // to say that a full date is needed.
                if (1..=80_000).contains(&serial) && !(1900..=2100).contains(&serial) {
                    // Serial 1 is 1900-01-01 (counting Excel's phantom
                    // 29/02/1900), or 1904-01-02 in the 1904 system.
                    let base = if date1904 {
                        chrono::NaiveDate::from_ymd_opt(1904, 1, 1)
                    } else {
                        chrono::NaiveDate::from_ymd_opt(1899, 12, 30)
                    }
                    .expect("valid date");
                    if let Some(date) = base.checked_add_days(chrono::Days::new(serial as u64)) {
                        d.text = date.format("%d/%m/%Y").to_string();
                        d.number = false;
                    }
                }
            }
        }
    }
}

/// Letter-head facts: from the tables before the request table (Word only:
/// in a workbook those are other sheets), the free text, and the rows above
/// the header.
fn letter_head(doc: &RawDocument, request_table: usize, header_row: usize) -> Meta {
    let mut lines: Vec<String> = Vec::new();
    let mut issuing_unit = None;
    let before = if doc.continues { request_table } else { 0 };
    for table in doc.tables.iter().take(before) {
        if issuing_unit.is_none() {
            issuing_unit = first_cell_unit(table);
        }
        for row in table {
            for cell in row {
                lines.extend(cell.text.lines().map(str::to_string));
            }
        }
    }
    for row in doc.tables[request_table].iter().take(header_row) {
        for cell in row {
            lines.extend(cell.text.lines().map(str::to_string));
        }
    }
    lines.extend(doc.text.iter().flat_map(|p| p.lines().map(str::to_string)));

    let mut meta = Meta {
        issuing_unit,
        ..Meta::default()
    };
    for line in &lines {
        let line = clean_line(line);
        let f = fold(&line);
        if meta.doc_number.is_none() && (f.starts_with("so:") || f.starts_with("so ")) {
            let rest = line
                .split_once(':')
                .map(|(_, r)| r)
                .unwrap_or_else(|| &line[line.find(' ').unwrap_or(0)..]);
            if let Some(tok) = rest.split_whitespace().next() {
                if tok.contains('/') && tok.chars().any(|c| c.is_ascii_digit()) {
                    meta.doc_number = Some(tok.trim_end_matches([',', ';', '.']).to_string());
                }
            }
        }
        if meta.doc_date.is_none()
            && f.contains("ngay ")
            && f.contains(" thang ")
            && f.contains(" nam ")
            && f.chars().any(|c| c.is_ascii_digit())
        {
            meta.doc_date = Some(line.clone());
        }
    }
    meta
}

/// The issuing unit in the letter head: the last line of the first cell
/// (the line under the parent body, e.g. "UBND THÀNH PHỐ …" / "PHÒNG …").
fn first_cell_unit(table: &Table) -> Option<String> {
    let cell = table.first()?.first()?;
    let lines: Vec<&str> = cell
        .text
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !fold(l).starts_with("so:") && !l.chars().all(|c| c == '-' || c == '_')
        })
        .collect();
    lines.last().map(|l| clean_line(l))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(rows: &[&[&str]]) -> Table {
        rows.iter()
            .map(|r| r.iter().map(|s| Cell::text(*s)).collect())
            .collect()
    }

    const HEADER: &[&str] = &[
        "STT",
        "Họ và\ntên",
        "Ngày sinh",
        "Giới tính",
        "Số CMT/CCCD",
        "Chức vụ",
        "Đơn vị công tác",
        "Nội dung đề nghị",
    ];

    #[test]
    fn finds_the_request_table_among_letter_head_tables() {
        let doc = RawDocument {
            tables: vec![
                t(&[
                    &[
                        "UBND THÀNH PHỐ BẮC NINH\nPHÒNG TÀI NGUYÊN VÀ MÔI TRƯỜNG",
                        "CỘNG HÒA",
                    ],
                    &[
                        "Số: 15/TNMT-VP\nV/v đăng ký",
                        "Bắc Ninh, ngày 10 tháng 6 năm 2022",
                    ],
                ]),
                t(&[
                    HEADER,
                    &[
                        "1.",
                        "Nguyễn Văn An",
                        "12/03/1985",
                        "Nam",
                        "027085001234",
                        "CV",
                        "P",
                        "Cấp mới",
                    ],
                    &["", "", "", "", "", "", "", ""],
                ]),
                t(&[&["Nơi nhận:", "THỦ TRƯỞNG"]]),
            ],
            text: vec![],
            continues: true,
            warnings: vec![],
            date1904: false,
        };
        let form = interpret(&doc).unwrap();
        assert_eq!(form.kind, FormKind::Accounts);
        assert_eq!(form.rows.len(), 1);
        assert_eq!(form.rows[0].get(Column::Name), "Nguyễn Văn An");
        assert_eq!(form.rows[0].row.stt, "1.");
        assert_eq!(form.meta.doc_number.as_deref(), Some("15/TNMT-VP"));
        assert_eq!(
            form.meta.issuing_unit.as_deref(),
            Some("PHÒNG TÀI NGUYÊN VÀ MÔI TRƯỜNG")
        );
        assert_eq!(
            form.meta.doc_date.as_deref(),
            Some("Bắc Ninh, ngày 10 tháng 6 năm 2022")
        );
    }

    #[test]
    fn header_below_title_rows_and_title_rows_inside() {
        let doc = RawDocument {
            tables: vec![t(&[
                &["DANH SÁCH ĐĂNG KÝ", "", ""],
                &[],
                &["STT", "Họ tên", "CCCD", "Đề nghị"],
                &["(1)", "(2)", "(3)", "(4)"],
                &["I. Khối phường", "", "", ""],
                &["1", "Lê Văn B", "027085001234", "Cấp mới"],
            ])],
            text: vec![],
            continues: true,
            warnings: vec![],
            date1904: false,
        };
        let form = interpret(&doc).unwrap();
        assert_eq!(form.rows.len(), 1);
        assert_eq!(form.rows[0].get(Column::Id), "027085001234");
        assert_eq!(form.rows[0].row.index, 1);
    }

    #[test]
    fn form_two_is_recognised() {
        let doc = RawDocument {
            tables: vec![t(&[
                &["STT", "Thông tin cần thay đổi", "Thông tin mới", "Ghi chú"],
                &[
                    "1",
                    "Chức vụ (tài khoản ngocttb@bacninh.gov.vn)",
                    "Trưởng phòng",
                    "",
                ],
            ])],
            text: vec![],
            continues: true,
            warnings: vec![],
            date1904: false,
        };
        let form = interpret(&doc).unwrap();
        assert_eq!(form.kind, FormKind::Changes);
        assert_eq!(form.rows[0].get(Column::NewValue), "Trưởng phòng");
    }

    #[test]
    fn word_table_continued_after_a_page_break() {
        let doc = RawDocument {
            tables: vec![
                t(&[
                    HEADER,
                    &[
                        "1",
                        "Nguyễn Văn An",
                        "12/03/1985",
                        "Nam",
                        "027085001234",
                        "CV",
                        "P",
                        "Cấp mới",
                    ],
                ]),
                // Header repeated.
                t(&[
                    HEADER,
                    &[
                        "2",
                        "Lê Văn Bình",
                        "12/03/1985",
                        "Nam",
                        "027085001235",
                        "CV",
                        "P",
                        "Cấp mới",
                    ],
                ]),
                // No header, same columns, numbered.
                t(&[&[
                    "3",
                    "Lê Văn Chi",
                    "12/03/1985",
                    "Nam",
                    "027085001236",
                    "CV",
                    "P",
                    "Cấp mới",
                ]]),
                // The signature table is not a continuation.
                t(&[&["Nơi nhận:", "THỦ TRƯỞNG ĐƠN VỊ"]]),
            ],
            text: vec![],
            continues: true,
            warnings: vec![],
            date1904: false,
        };
        let form = interpret(&doc).unwrap();
        let names: Vec<&str> = form.rows.iter().map(|r| r.get(Column::Name)).collect();
        assert_eq!(names, vec!["Nguyễn Văn An", "Lê Văn Bình", "Lê Văn Chi"]);
        assert_eq!(form.rows[2].row.index, 3);
    }

    #[test]
    fn regression_continuation_after_a_section_row_a_numbering_row_or_a_wider_grid() {
        let row = |stt: &str, name: &str, id: &str| -> Vec<&'static str> {
            vec![
                Box::leak(stt.to_string().into_boxed_str()),
                Box::leak(name.to_string().into_boxed_str()),
                "01/01/1990",
                "Nam",
                Box::leak(id.to_string().into_boxed_str()),
                "CV",
                "P",
                "Cấp mới",
            ]
        };
        let first = vec![HEADER.to_vec(), row("1", "Lê Văn Một", "027090000001")];
        let mut wider = row("4", "Lê Văn Bốn", "027090000004");
        wider.push("ghi chú");
        let tables = [
            first,
            vec![
                vec!["II. Khối phường, xã", "", "", "", "", "", "", ""],
                row("2", "Lê Văn Hai", "027090000002"),
            ],
            vec![
                vec!["(1)", "(2)", "(3)", "(4)", "(5)", "(6)", "(7)", "(8)"],
                row("3", "Lê Văn Ba", "027090000003"),
            ],
            vec![wider],
        ];
        let doc = RawDocument {
            tables: tables
                .iter()
                .map(|rows| {
                    rows.iter()
                        .map(|r| r.iter().map(|c| Cell::text(*c)).collect())
                        .collect()
                })
                .collect(),
            continues: true,
            ..RawDocument::default()
        };
        let form = interpret(&doc).unwrap();
        let names: Vec<&str> = form.rows.iter().map(|r| r.get(Column::Name)).collect();
        assert_eq!(
            names,
            vec!["Lê Văn Một", "Lê Văn Hai", "Lê Văn Ba", "Lê Văn Bốn"]
        );
    }

    #[test]
    fn regression_other_sheets_of_a_workbook_are_not_merged_in() {
        let doc = RawDocument {
            tables: vec![
                t(&[
                    HEADER,
                    &[
                        "1",
                        "Nguyễn Văn An",
                        "12/03/1985",
                        "Nam",
                        "027085001234",
                        "CV",
                        "P",
                        "Cấp mới",
                    ],
                ]),
                t(&[
                    HEADER,
                    &[
                        "1",
                        "Danh sách cũ",
                        "12/03/1985",
                        "Nam",
                        "027085009999",
                        "CV",
                        "P",
                        "Hủy bỏ",
                    ],
                ]),
            ],
            text: vec![],
            continues: false,
            warnings: vec![],
            date1904: false,
        };
        assert!(matches!(interpret(&doc), Err(FormError::SeveralLists)));
    }

    #[test]
    fn no_header_is_an_error() {
        let doc = RawDocument {
            tables: vec![t(&[&["a", "b"]])],
            text: vec![],
            continues: true,
            warnings: vec![],
            date1904: false,
        };
        assert!(matches!(interpret(&doc), Err(FormError::NoRequestTable)));
    }

    #[test]
    fn excel_numbers_get_their_zero_and_dates_back() {
        let mut table = t(&[&["STT", "Họ và tên", "Ngày sinh", "Số CCCD", "Nội dung"]]);
        table.push(vec![
            Cell {
                text: "1".into(),
                number: true,
            },
            Cell::text("Lê Văn B"),
            Cell {
                text: "32187".into(),
                number: true,
            },
            Cell {
                text: "27085001234".into(),
                number: true,
            },
            Cell::text("Cấp mới"),
        ]);
        let form = interpret(&RawDocument {
            tables: vec![table],
            text: vec![],
            continues: false,
            warnings: vec![],
            date1904: false,
        })
        .unwrap();
        assert_eq!(form.rows[0].get(Column::Id), "027085001234");
        assert_eq!(form.rows[0].get(Column::BirthDate), "14/02/1988");
        assert_eq!(form.warnings.len(), 1);
        assert!(!form.warnings[0].contains("27085001234"));
    }

    #[test]
    fn requesting_unit_from_rows_when_no_letter_head() {
        let doc = RawDocument {
            tables: vec![t(&[
                &["STT", "Họ và tên", "Số CCCD", "Đơn vị", "Nội dung"],
                &["1", "A B", "1", "UBND phường Vũ Ninh", "Cấp mới"],
                &["2", "C D", "2", "UBND PHƯỜNG VŨ  NINH", "Cấp mới"],
            ])],
            text: vec![],
            continues: true,
            warnings: vec![],
            date1904: false,
        };
        let form = interpret(&doc).unwrap();
        assert_eq!(
            form.requesting_unit().as_deref(),
            Some("UBND phường Vũ Ninh")
        );
    }
}
