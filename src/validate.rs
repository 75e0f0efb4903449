//! Row checks: every row of a [`Form`] becomes a [`Request`] or one or more
//! [`RowError`]s in Vietnamese. A file with any error is rejected whole by
//! the pipeline; this module only says what is wrong.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};

use crate::forms::{Column, Form, FormKind, FormRow};
use crate::identity::{IdHasher, IdNumber};
use crate::model::{
    AccountRequest, Action, ChangeRequest, Field, Gender, NewValue, Person, Request, RowError,
};
use crate::text::{clean_line, fold, name_case};

/// Longest title or unit we accept; longer text is a pasted paragraph.
const MAX_TEXT: usize = 200;

/// What validation needs besides the rows.
pub struct Rules<'a> {
    /// Our mail domain: Form 2 addresses must be in it.
    pub domain: &'a str,
    /// Hashes IDs so that only the hash travels on.
    pub hasher: &'a IdHasher,
    /// Today, for birth dates in the future.
    pub today: NaiveDate,
}

/// Checks every row. Returns the requests when every row is valid, else
/// every problem found (all rows are checked, not just up to the first).
pub fn validate(form: &Form, rules: &Rules<'_>) -> Result<Vec<Request>, Vec<RowError>> {
    let mut requests = Vec::new();
    let mut errors = Vec::new();
    if form.rows.is_empty() {
        return Err(vec![RowError {
            row: crate::model::RowRef {
                index: 0,
                stt: String::new(),
            },
            message: "bảng danh sách không có dòng nào".into(),
        }]);
    }
    // First row of each ID, to report duplicates within the file.
    let mut seen_ids: HashMap<String, usize> = HashMap::new();
    for row in &form.rows {
        let mut problems = Vec::new();
        let request = match form.kind {
            FormKind::Accounts => account_row(row, rules, &mut problems).map(Request::Account),
            FormKind::Changes => change_row(row, rules, &mut problems).map(Request::Change),
        };
        if let Some(Request::Account(r)) = &request {
            if let Some(first) = seen_ids.get(&r.person.id_hash) {
                problems.push(format!(
                    "số CMT/CCCD trùng với dòng {first} trong cùng danh sách"
                ));
            } else {
                seen_ids.insert(r.person.id_hash.clone(), row.row.index);
            }
        }
        if problems.is_empty() {
            requests.push(request.expect("no problems means a request"));
        } else {
            // A clerk may put an ID in the wrong column; messages quote
            // cells, so every ID-like number in them is masked.
            errors.extend(problems.into_iter().map(|message| RowError {
                row: row.row.clone(),
                message: crate::identity::redact(&message),
            }));
        }
    }
    if errors.is_empty() {
        Ok(requests)
    } else {
        Err(errors)
    }
}

fn account_row(
    row: &FormRow,
    rules: &Rules<'_>,
    problems: &mut Vec<String>,
) -> Option<AccountRequest> {
    let name = check_name(row.get(Column::Name), "họ và tên", problems);
    let action = match parse_action(row.get(Column::Action)) {
        Ok(a) => Some(a),
        Err(e) => {
            problems.push(e);
            None
        }
    };
    let required = action == Some(Action::Create);
    let birth = {
        let raw = row.get(Column::BirthDate);
        if raw.is_empty() {
            if required {
                problems.push("thiếu ngày sinh".into());
            }
            None
        } else {
            match parse_date(raw, rules.today) {
                Ok(d) => Some(d),
                Err(e) => {
                    problems.push(e);
                    None
                }
            }
        }
    };
    let gender = {
        let raw = row.get(Column::Gender);
        if raw.is_empty() {
            if required {
                problems.push("thiếu giới tính".into());
            }
            None
        } else {
            match parse_gender(raw) {
                Ok(g) => Some(g),
                Err(e) => {
                    problems.push(e);
                    None
                }
            }
        }
    };
    let id = match IdNumber::parse(row.get(Column::Id)) {
        Ok(id) => {
            problems.extend(id.cross_check(birth, gender));
            Some(id)
        }
        Err(e) => {
            problems.push(e);
            None
        }
    };
    let title = check_text(row.get(Column::Title), "chức vụ", problems);
    let unit = check_text(row.get(Column::Unit), "đơn vị công tác", problems);
    if !problems.is_empty() {
        return None;
    }
    let id = id?;
    Some(AccountRequest {
        row: row.row.clone(),
        action: action?,
        person: Person {
            full_name: name?,
            birth_date: birth,
            gender,
            id_hash: rules.hasher.hash(&id),
            id,
            title,
            unit,
        },
    })
}

fn change_row(
    row: &FormRow,
    rules: &Rules<'_>,
    problems: &mut Vec<String>,
) -> Option<ChangeRequest> {
    let what = row.get(Column::What);
    let new = row.get(Column::NewValue);
    let field = parse_field(what);
    if field.is_none() {
        problems.push(format!(
            "không xác định được thông tin cần thay đổi trong \"{}\" (ghi rõ Họ và tên, Chức vụ, Đơn vị công tác, Ngày sinh, Giới tính, Số CMT/CCCD hoặc Địa chỉ thư)",
            clean_line(what)
        ));
    }
    // The account: an address in our domain anywhere in the row but the new
    // value (which, for an address change, is the new address).
    let mut accounts = Vec::new();
    for (col, text) in row.all_text() {
        if col == Column::NewValue {
            continue;
        }
        for token in address_tokens(text) {
            match local_part(&token, rules.domain) {
                Ok(l) => {
                    if !accounts.contains(&l) {
                        accounts.push(l)
                    }
                }
                Err(e) => problems.push(e),
            }
        }
    }
    let account = match accounts.len() {
        0 => {
            problems.push(format!(
                "không tìm thấy địa chỉ thư (…@{}) của tài khoản cần thay đổi",
                rules.domain
            ));
            None
        }
        1 => accounts.pop(),
        _ => {
            problems.push(
                "dòng ghi nhiều địa chỉ thư khác nhau; mỗi dòng chỉ thay đổi một tài khoản".into(),
            );
            None
        }
    };
    let value = if new.is_empty() {
        problems.push("thiếu thông tin mới".into());
        None
    } else {
        match field {
            Some(Field::FullName) => check_name(new, "họ và tên mới", problems).map(NewValue::Text),
            Some(Field::Title) => Some(NewValue::Text(check_text(new, "chức vụ", problems))),
            Some(Field::Unit) => Some(NewValue::Text(check_text(new, "đơn vị công tác", problems))),
            Some(Field::BirthDate) => match parse_date(new, rules.today) {
                Ok(d) => Some(NewValue::Date(d)),
                Err(e) => {
                    problems.push(e);
                    None
                }
            },
            Some(Field::Gender) => match parse_gender(new) {
                Ok(g) => Some(NewValue::Gender(g)),
                Err(e) => {
                    problems.push(e);
                    None
                }
            },
            Some(Field::IdNumber) => match IdNumber::parse(new) {
                Ok(id) => Some(NewValue::Id {
                    masked: id.masked(),
                    hash: rules.hasher.hash(&id),
                }),
                Err(e) => {
                    problems.push(e);
                    None
                }
            },
            Some(Field::Address) => {
                let token = address_tokens(new)
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| clean_line(new));
                let token = if token.contains('@') {
                    token
                } else {
                    format!("{token}@{}", rules.domain)
                };
                match local_part(&token, rules.domain) {
                    Ok(l) => Some(NewValue::Address(l)),
                    Err(e) => {
                        problems.push(e);
                        None
                    }
                }
            }
            None => None,
        }
    };
    if !problems.is_empty() {
        return None;
    }
    Some(ChangeRequest {
        row: row.row.clone(),
        account: account?,
        field: field?,
        value: value?,
    })
}

/// A personal name: letters, spaces and a few marks, at least two words.
fn check_name(raw: &str, what: &str, problems: &mut Vec<String>) -> Option<String> {
    let name = clean_line(raw);
    if name.is_empty() {
        problems.push(format!("thiếu {what}"));
        return None;
    }
    if !name
        .chars()
        .all(|c| c.is_alphabetic() || c == ' ' || c == '-' || c == '\'')
    {
        problems.push(format!(
            "{what} \"{name}\" có ký tự không hợp lệ (chỉ gồm chữ cái và dấu cách)"
        ));
        return None;
    }
    if name.split(' ').count() < 2 {
        problems.push(format!("{what} \"{name}\" phải gồm cả họ và tên"));
        return None;
    }
    Some(name_case(&name))
}

/// Free text (title, unit): one line, no control characters, bounded.
/// Characters no unit name or title uses, but LDAP filters and DNs do
/// (`=`, `*`, `\\`…): a cell holding them is a mistake or an attack.
/// (Commas and semicolons are ordinary punctuation in titles and units;
/// values are escaped wherever they reach a filter or a DN anyway.)
const NOT_IN_TEXT: &[char] = &[
    '=', '*', '\\', '<', '>', '"', '#', '+', '|', '~', '{', '}', '[', ']', '^', '$',
];

fn check_text(raw: &str, what: &str, problems: &mut Vec<String>) -> String {
    let text = clean_line(raw);
    if text.chars().count() > MAX_TEXT {
        problems.push(format!("{what} dài quá {MAX_TEXT} ký tự"));
    } else if text.chars().any(|c| c.is_control()) {
        problems.push(format!("{what} có ký tự điều khiển không hợp lệ"));
    } else if let Some(c) = text.chars().find(|c| NOT_IN_TEXT.contains(c)) {
        problems.push(format!("{what} \"{text}\" có ký tự không hợp lệ \"{c}\""));
    } else if crate::identity::redact(&text) != text {
        // The directory would hold it in clear: an ID has no place here.
        problems.push(format!("{what} không được ghi số CMT/CCCD hoặc dãy số dài"));
    }
    text
}

/// Recognises the action column, any case, spacing or tone placement.
pub fn parse_action(raw: &str) -> Result<Action, String> {
    let f = fold(raw);
    let f = f.trim_matches(|c: char| !c.is_alphanumeric());
    Ok(match f {
        "" => return Err("thiếu nội dung đề nghị".into()),
        "cap moi" | "tao moi" | "dang ky moi" | "cap tai khoan" | "dang ky cap moi" => Action::Create,
        "tam khoa" | "khoa" | "tam dung" | "khoa tai khoan" => Action::Lock,
        "mo khoa" | "kich hoat lai" | "mo lai" => Action::Unlock,
        "huy bo" | "huy" | "xoa" | "thu hoi" | "huy tai khoan" => Action::Delete,
        _ => {
            return Err(format!(
                "nội dung đề nghị \"{}\" không hợp lệ (chỉ nhận Cấp mới, Tạm khóa, Mở khóa hoặc Hủy bỏ)",
                clean_line(raw)
            ))
        }
    })
}

pub fn parse_gender(raw: &str) -> Result<Gender, String> {
    match fold(raw).as_str() {
        "nam" => Ok(Gender::Male),
        "nu" => Ok(Gender::Female),
        _ => Err(format!(
            "giới tính phải là Nam hoặc Nữ (đã ghi \"{}\")",
            clean_line(raw)
        )),
    }
}

/// Dates are day first: `d/m/yyyy`, `dd/mm/yyyy`, `d-m-yyyy`,
/// `dd.mm.yyyy`; also ISO `yyyy-mm-dd` (with or without a time).
pub fn parse_date(raw: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let text = clean_line(raw);
    let head = text.split([' ', 'T']).next().unwrap_or("");
    let parts: Vec<&str> = head.split(['/', '-', '.']).collect();
    let bad_shape =
        || format!("ngày sinh \"{text}\" không đúng dạng ngày/tháng/năm (ví dụ 05/11/1990)");
    if parts.len() != 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(bad_shape());
    }
    let (d, m, y) = if parts[0].len() == 4 {
        (parts[2], parts[1], parts[0])
    } else if parts[2].len() == 4 {
        (parts[0], parts[1], parts[2])
    } else {
        return Err(bad_shape());
    };
    let (d, m, y): (u32, u32, i32) = match (d.parse(), m.parse(), y.parse()) {
        (Ok(d), Ok(m), Ok(y)) => (d, m, y),
        _ => return Err(bad_shape()),
    };
    let date = NaiveDate::from_ymd_opt(y, m, d)
        .ok_or_else(|| format!("ngày sinh \"{text}\" không có thật"))?;
    if date.year() < 1900 || date > today {
        return Err(format!("ngày sinh \"{text}\" không hợp lệ"));
    }
    Ok(date)
}

/// Which field a Form 2 row names: the field word that comes first in the
/// cell, once addresses are taken out ("Chức vụ (tài khoản x@…)" is a
/// title change, "Tài khoản x@…" an address change).
pub fn parse_field(raw: &str) -> Option<Field> {
    let without_addresses: String = clean_line(raw)
        .split(' ')
        .filter(|w| !w.contains('@'))
        .collect::<Vec<_>>()
        .join(" ");
    let f = fold(&without_addresses);
    const WORDS: &[(&str, Field)] = &[
        ("ho va ten", Field::FullName),
        ("ho ten", Field::FullName),
        ("chuc vu", Field::Title),
        ("chuc danh", Field::Title),
        ("don vi", Field::Unit),
        ("co quan", Field::Unit),
        ("ngay sinh", Field::BirthDate),
        ("gioi tinh", Field::Gender),
        ("cmt", Field::IdNumber),
        ("cmnd", Field::IdNumber),
        ("cccd", Field::IdNumber),
        ("dinh danh", Field::IdNumber),
        ("dia chi thu", Field::Address),
        ("dia chi email", Field::Address),
        ("email", Field::Address),
        ("tai khoan", Field::Address),
    ];
    WORDS
        .iter()
        .filter_map(|(w, field)| f.find(w).map(|pos| (pos, *field)))
        .min_by_key(|(pos, _)| *pos)
        .map(|(_, field)| field)
}

/// Words of a cell that look like mail addresses, trimmed of brackets and
/// punctuation around them.
fn address_tokens(text: &str) -> Vec<String> {
    text.split(|c: char| {
        c.is_whitespace() || matches!(c, '(' | ')' | '<' | '>' | ',' | ';' | '"' | '\'')
    })
    .map(|t| t.trim_end_matches(['.', ':']).to_string())
    .filter(|t| t.contains('@'))
    .collect()
}

/// The local part of an address, which must be in our domain and made of
/// the characters our addresses use.
pub fn local_part(address: &str, domain: &str) -> Result<String, String> {
    let lower = address.trim().to_ascii_lowercase();
    let Some((local, dom)) = lower.rsplit_once('@') else {
        return Err(format!("\"{address}\" không phải địa chỉ thư"));
    };
    if dom != domain.to_ascii_lowercase() {
        return Err(format!(
            "địa chỉ \"{address}\" không thuộc tên miền {domain}"
        ));
    }
    let ok = !local.is_empty()
        && local.len() <= 64
        && local
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        && !local.starts_with('.')
        && !local.ends_with('.');
    if !ok {
        return Err(format!("địa chỉ \"{address}\" không hợp lệ"));
    }
    Ok(local.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 3).unwrap()
    }

    #[test]
    fn dates_are_day_first_in_every_shape() {
        let want = NaiveDate::from_ymd_opt(1985, 3, 12).unwrap();
        for s in [
            "12/03/1985",
            "12/3/1985",
            "12-3-1985",
            "12.03.1985",
            "1985-03-12",
            "1985-03-12 00:00:00",
        ] {
            assert_eq!(parse_date(s, today()), Ok(want), "{s}");
        }
    }

    #[test]
    fn impossible_and_malformed_dates() {
        assert!(parse_date("31/02/1990", today())
            .unwrap_err()
            .contains("không có thật"));
        assert!(parse_date("12/03/85", today())
            .unwrap_err()
            .contains("không đúng dạng"));
        assert!(parse_date("hôm qua", today()).is_err());
        assert!(parse_date("01/01/2030", today()).is_err());
    }

    #[test]
    fn actions_in_any_case_spacing_and_tone_placement() {
        assert_eq!(parse_action("Cấp mới"), Ok(Action::Create));
        assert_eq!(parse_action("  CẤP   MỚI "), Ok(Action::Create));
        assert_eq!(parse_action("Tạm khoá"), Ok(Action::Lock));
        assert_eq!(parse_action("tạm khóa"), Ok(Action::Lock));
        assert_eq!(parse_action("Mở khóa"), Ok(Action::Unlock));
        assert_eq!(parse_action("Huỷ bỏ"), Ok(Action::Delete));
        assert!(parse_action("Chuyển đơn vị")
            .unwrap_err()
            .contains("Chuyển đơn vị"));
        assert!(parse_action("").unwrap_err().contains("thiếu"));
    }

    #[test]
    fn genders() {
        assert_eq!(parse_gender("Nam"), Ok(Gender::Male));
        assert_eq!(parse_gender("NỮ"), Ok(Gender::Female));
        assert!(parse_gender("X").unwrap_err().contains("\"X\""));
    }

    #[test]
    fn form_two_fields_by_first_word() {
        assert_eq!(
            parse_field("Chức vụ (tài khoản ngocttb@bacninh.gov.vn)"),
            Some(Field::Title)
        );
        assert_eq!(
            parse_field("Họ và tên của tài khoản annv@bacninh.gov.vn"),
            Some(Field::FullName)
        );
        assert_eq!(
            parse_field("Tài khoản annv@bacninh.gov.vn"),
            Some(Field::Address)
        );
        assert_eq!(parse_field("Chức danh"), Some(Field::Title));
        assert_eq!(parse_field("Đơn vị công tác"), Some(Field::Unit));
        assert_eq!(parse_field("Số CMT/CCCD"), Some(Field::IdNumber));
        assert_eq!(parse_field("Địa chỉ thư"), Some(Field::Address));
        assert_eq!(parse_field("Sở thích"), None);
    }

    #[test]
    fn units_and_titles_refuse_filter_and_dn_syntax() {
        let mut p = Vec::new();
        for bad in ["Phòng A,ou=archive,dc=x", "x)(objectClass=*", "a\\2c", "*"] {
            check_text(bad, "đơn vị công tác", &mut p);
        }
        assert_eq!(p.len(), 4, "{p:?}");
        let mut ids = Vec::new();
        check_text("Chuyên viên (CCCD 027 085 009 876)", "chức vụ", &mut ids);
        check_text("027085005555", "đơn vị công tác", &mut ids);
        assert_eq!(
            ids.len(),
            2,
            "an ID would reach the directory in clear: {ids:?}"
        );
        let mut ok = Vec::new();
        for good in [
            "Trung tâm Văn hóa, Thể thao và Du lịch",
            "Phòng Tài chính - Kế hoạch",
            "Tổ 1 (khu phố 2)",
            "Văn phòng HĐND & UBND",
        ] {
            check_text(good, "đơn vị công tác", &mut ok);
        }
        assert!(ok.is_empty(), "{ok:?}");
    }

    #[test]
    fn addresses_must_be_ours_and_plain() {
        assert_eq!(
            local_part("AnNV@bacninh.gov.vn", "bacninh.gov.vn"),
            Ok("annv".into())
        );
        assert!(local_part("annv@gmail.com", "bacninh.gov.vn").is_err());
        assert!(local_part("*@bacninh.gov.vn", "bacninh.gov.vn").is_err());
        assert!(local_part("a)(uid=*@bacninh.gov.vn", "bacninh.gov.vn").is_err());
        assert_eq!(
            address_tokens("(tài khoản ngocttb@bacninh.gov.vn)"),
            vec!["ngocttb@bacninh.gov.vn"]
        );
    }
}
