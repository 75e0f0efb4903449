//! Reading request files: one reader per format produces the same neutral
//! [`RawDocument`]; [`interpret`] maps its header words to fields.

mod csv;
mod docx;
mod interpret;
mod legacy;
mod xlsx;

pub use interpret::{interpret, Column, Form, FormKind, FormRow};

use std::io::Read;

/// Largest decompressed part of a `.docx`/`.xlsx` we read; a real request
/// file's XML is a few hundred kilobytes.
pub(crate) const MAX_PART_BYTES: u64 = 32 * 1024 * 1024;

/// Why a file could not be read as a request form.
#[derive(Debug, thiserror::Error)]
pub enum FormError {
    #[error("unsupported file type {0:?} (expected .docx, .xlsx or .csv)")]
    UnsupportedType(String),
    #[error("not a valid Office file (zip): {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("the Word document's XML is malformed: {0}")]
    Xml(String),
    #[error("the Excel workbook cannot be read: {0}")]
    Xlsx(String),
    #[error("the CSV file cannot be read: {0}")]
    Csv(#[from] ::csv::Error),
    #[error("a part of the file is larger than {MAX_PART_BYTES} bytes once decompressed")]
    TooLarge,
    #[error("the file contains a DTD or entity declaration, which request files never do")]
    Dtd,
    #[error("no request table found (no row with the form's column headers)")]
    NoRequestTable,
    #[error("several sheets of the workbook hold a request list")]
    SeveralLists,
    #[error("I/O error while reading the file: {0}")]
    Io(#[from] std::io::Error),
}

impl FormError {
    /// What the unit is told when its whole file cannot be read.
    pub fn vietnamese(&self) -> String {
        match self {
            FormError::UnsupportedType(_) => {
                "Tệp không đúng định dạng: chỉ nhận tệp Word (.docx), Excel (.xlsx) hoặc CSV."
                    .into()
            }
            FormError::NoRequestTable => "Không tìm thấy bảng danh sách đề nghị theo mẫu (cần có hàng tiêu đề như STT, Họ và tên, Số CMT/CCCD, Nội dung đề nghị hoặc Thông tin cần thay đổi, Thông tin mới).".into(),
                        FormError::SeveralLists => "Tệp Excel có nhiều trang tính cùng chứa danh sách đề nghị; đề nghị gộp toàn bộ danh sách vào một trang tính (hoặc xóa trang tính cũ) rồi gửi lại.".into(),
            FormError::TooLarge | FormError::Dtd => {
                "Tệp có cấu trúc bất thường nên không được xử lý; đề nghị gửi lại tệp theo mẫu."
                    .into()
            }
            _ => "Tệp bị hỏng hoặc không đọc được; đề nghị lưu lại theo mẫu và gửi lại.".into(),
        }
    }
}

/// One cell of a table as a reader found it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cell {
    /// The cell's text; line breaks inside the cell kept as `\n`.
    pub text: String,
    /// The cell held a number (Excel), so leading zeros may have been lost
    /// and a date may be a serial number.
    pub number: bool,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell {
            text: s.into(),
            number: false,
        }
    }
}

/// A table: rows of cells, merged cells already spread to every grid column
/// and row they cover.
pub type Table = Vec<Vec<Cell>>;

/// What every reader produces: the tables of the file and its free text
/// (letter head, paragraphs), in document order.
#[derive(Clone, Debug, Default)]
pub struct RawDocument {
    /// Every table, nested ones included, in document order.
    pub tables: Vec<Table>,
    /// Paragraphs outside tables.
    pub text: Vec<String>,
    /// Whether later tables may continue the request table (Word: a list
    /// broken by a page break). Sheets of a workbook stand alone.
    pub continues: bool,
    /// What the reader corrected (legacy encodings…), for the officer.
    pub warnings: Vec<String>,
    /// Excel's 1904 date system: date serials count from 1904-01-01.
    pub date1904: bool,
}

/// Reads a file by its extension (case-insensitive).
pub fn read(file_name: &str, bytes: &[u8]) -> Result<RawDocument, FormError> {
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let mut doc = match ext.as_str() {
        "docx" => docx::read(bytes)?,
        "xlsx" => xlsx::read(bytes)?,
        "csv" | "txt" => csv::read(bytes)?,
        other => return Err(FormError::UnsupportedType(other.to_string())),
    };
    fix_legacy_text(&mut doc);
    Ok(doc)
}

/// Text that carries no font (CSV, Excel cells, Word text whose font was
/// not a legacy one) may still be legacy text: decided for the whole file
/// by its statistics, then converted cell by cell where it looks legacy.
fn fix_legacy_text(doc: &mut RawDocument) {
    let suspicious: String = doc
        .tables
        .iter()
        .flatten()
        .flatten()
        .map(|c| c.text.as_str())
        .chain(doc.text.iter().map(String::as_str))
        .filter(|t| legacy::looks_legacy(t))
        .collect::<Vec<_>>()
        .join(" ");
    let Some(enc) = legacy::guess(&suspicious) else {
        return;
    };
    // Cells with marker characters are converted; cells written in
    // Latin-1 letters only ("CÊp míi", but also a Unicode "Chuyên viên"
    // from a template's drop-down) only when the converted text reads more
    // like Vietnamese than the text as it is.
    let fix = |t: &mut String| {
        if legacy::looks_legacy(t) {
            *t = legacy::convert(t, enc);
        } else if legacy::may_be_legacy(t) {
            let converted = legacy::convert(t, enc);
            if legacy::score(&converted) > legacy::score(t) {
                *t = converted;
            }
        }
    };
    for cell in doc.tables.iter_mut().flatten().flatten() {
        fix(&mut cell.text);
    }
    for t in doc.text.iter_mut() {
        fix(t);
    }
    if !doc.warnings.iter().any(|w| w.contains(enc.name())) {
        doc.warnings.push(format!(
            "văn bản dùng bảng mã cũ {}; đã chuyển sang Unicode",
            enc.name()
        ));
    }
}

/// Most entries an Office file may have; a real one has a few dozen.
const MAX_ENTRIES: usize = 1000;
/// Most all parts together may inflate to.
const MAX_TOTAL_BYTES: u64 = 64 * 1024 * 1024;
/// Most a part may inflate relative to its compressed size (XML compresses
/// about 10:1; a bomb a thousand times more).
const MAX_RATIO: u64 = 200;

/// Refuses zip bombs before anything is inflated: too many entries, a part
/// or all parts too large, or a compression ratio no Office file has. The
/// sizes are the declared ones; [`read_zip_part`] also stops reading at
/// the limit, whatever a part declares.
pub(crate) fn check_zip(
    archive: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>,
) -> Result<(), FormError> {
    if archive.len() > MAX_ENTRIES {
        return Err(FormError::TooLarge);
    }
    let mut total = 0u64;
    for i in 0..archive.len() {
        let f = archive.by_index_raw(i)?;
        let (size, packed) = (f.size(), f.compressed_size());
        total = total.saturating_add(size);
        if size > MAX_PART_BYTES
            || total > MAX_TOTAL_BYTES
            || (size > 1024 * 1024 && size / packed.max(1) > MAX_RATIO)
        {
            return Err(FormError::TooLarge);
        }
    }
    Ok(())
}

/// Refuses XML with a document type declaration (entity definitions, the
/// "billion laughs"): no Office part has one.
pub(crate) fn refuse_dtd(xml: &[u8]) -> Result<(), FormError> {
    let head = &xml[..xml.len().min(4096)];
    if head
        .windows(9)
        .any(|w| w.eq_ignore_ascii_case(b"<!DOCTYPE"))
        || xml.windows(8).any(|w| w == b"<!ENTITY")
    {
        return Err(FormError::Dtd);
    }
    Ok(())
}

/// Reads one part of an Office zip, refusing parts that inflate beyond
/// [`MAX_PART_BYTES`].
pub(crate) fn read_zip_part(
    archive: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>,
    name: &str,
) -> Result<Option<Vec<u8>>, FormError> {
    let file = match archive.by_name(name) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if file.size() > MAX_PART_BYTES {
        return Err(FormError::TooLarge);
    }
    let mut out = Vec::with_capacity(file.size() as usize);
    file.take(MAX_PART_BYTES + 1).read_to_end(&mut out)?;
    if out.len() as u64 > MAX_PART_BYTES {
        return Err(FormError::TooLarge);
    }
    Ok(Some(out))
}
