//! Vietnamese ID numbers (CMND/CCCD): shape rules, the cross-check of a CCCD
//! against birth date and gender, masking for reports, and the keyed hash
//! that is the only form the directory ever stores.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;

use crate::model::Gender;

/// A syntactically valid ID number: 9 digits (old CMND) or 12 (CCCD).
///
/// `Debug` and `Display` show it masked, so it cannot reach a log by accident;
/// [`IdNumber::digits`] is the only way to the clear value.
#[derive(Clone, PartialEq, Eq)]
pub struct IdNumber(String);

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// Masks an ID for reports: `027******234`.
pub fn mask(digits: &str) -> String {
    let n = digits.chars().count();
    if n <= 6 {
        return "*".repeat(n);
    }
    digits
        .chars()
        .enumerate()
        .map(|(i, c)| if i < 3 || i >= n - 3 { c } else { '*' })
        .collect()
}

/// Masks every ID-like number in a text: 8 or more digits, also when
/// written in groups separated by single spaces, dots or dashes
/// ("027 085 001 234"). Dates (12/03/1985) and row numbers are shorter and
/// stay readable.
pub fn redact(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // The longest span of digit groups joined by one separator.
        let start = i;
        let mut end;
        let mut digits = String::new();
        let mut j = i;
        loop {
            let group_start = j;
            while j < chars.len() && chars[j].is_ascii_digit() {
                digits.push(chars[j]);
                j += 1;
            }
            end = j;
            // Groups of three or more digits join ("027 085 001 234");
            // shorter ones do not, so dates (31.02.1985) stay as written.
            let next_len = chars[(j + 1).min(chars.len())..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            if j - group_start >= 3
                && next_len >= 3
                && matches!(chars.get(j), Some(' ' | '.' | '-'))
            {
                j += 1;
            } else {
                break;
            }
        }
        if digits.len() >= 8 {
            out.push_str(&mask(&digits));
        } else {
            out.extend(&chars[start..end]);
        }
        i = end;
    }
    out
}

impl IdNumber {
    /// Checks the shape of an ID as written in a row. Spaces and dots that
    /// clerks put between digit groups are ignored. Errors are Vietnamese.
    pub fn parse(raw: &str) -> Result<IdNumber, String> {
        let digits: String = raw
            .chars()
            .filter(|c| !matches!(c, ' ' | '.' | '-'))
            .collect();
        if digits.is_empty() {
            return Err("thiếu số CMT/CCCD".into());
        }
        if raw.contains(['E', 'e']) && raw.contains('+') {
            // "2.70851E+10": Excel showed a long number in scientific form
            // and the clerk copied it; its last digits are lost.
            return Err(
                "số CMT/CCCD đã bị Excel đổi sang dạng số mũ (ví dụ 2,7E+10) nên mất chữ số; đề nghị định dạng cột là Văn bản (Text) và nhập lại số"
                    .into(),
            );
        }
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err("số CMT/CCCD chỉ được gồm các chữ số".into());
        }
        match digits.len() {
            9 => Ok(IdNumber(digits)),
            12 => {
                let province: u32 = digits[..3].parse().unwrap_or(0);
                if !(1..=96).contains(&province) {
                    return Err(format!(
                        "số CCCD có mã tỉnh {} không hợp lệ (3 chữ số đầu phải từ 001 đến 096)",
                        &digits[..3]
                    ));
                }
                if !matches!(digits.as_bytes()[3], b'0'..=b'3') {
                    return Err(
                        "chữ số thứ 4 của số CCCD (mã thế kỷ và giới tính) phải là 0, 1, 2 hoặc 3"
                            .into(),
                    );
                }
                Ok(IdNumber(digits))
            }
            n => Err(format!(
                "số CMT/CCCD phải có 9 chữ số (CMND) hoặc 12 chữ số (CCCD), số đã ghi có {n} chữ số"
            )),
        }
    }

    pub fn digits(&self) -> &str {
        &self.0
    }

    pub fn masked(&self) -> String {
        mask(&self.0)
    }

    pub fn is_cccd(&self) -> bool {
        self.0.len() == 12
    }

    /// For a CCCD, what its 4th to 6th digits say: (gender, birth year).
    pub fn cccd_facts(&self) -> Option<(Gender, i32)> {
        if !self.is_cccd() {
            return None;
        }
        let b = self.0.as_bytes();
        let code = b[3] - b'0';
        let gender = if code.is_multiple_of(2) {
            Gender::Male
        } else {
            Gender::Female
        };
        let century = 1900 + 100 * i32::from(code / 2);
        let yy: i32 = self.0[4..6].parse().ok()?;
        Some((gender, century + yy))
    }

    /// Cross-checks a CCCD against the row's birth date and gender. Returns
    /// one Vietnamese message per disagreement.
    pub fn cross_check(&self, birth: Option<NaiveDate>, gender: Option<Gender>) -> Vec<String> {
        let Some((id_gender, id_year)) = self.cccd_facts() else {
            return Vec::new();
        };
        let mut errors = Vec::new();
        if let Some(g) = gender {
            if g != id_gender {
                errors.push(format!(
                    "số CCCD ứng với giới tính {} nhưng cột Giới tính ghi {}",
                    id_gender.vietnamese(),
                    g.vietnamese()
                ));
            }
        }
        if let Some(d) = birth {
            if d.year() != id_year {
                errors.push(format!(
                    "số CCCD ứng với năm sinh {id_year} nhưng ngày sinh ghi năm {}",
                    d.year()
                ));
            }
        }
        errors
    }
}

/// Keyed hash of ID numbers (HMAC-SHA-256). The key comes from a secrets
/// file; without it, the hash cannot be reversed by trying every ID.
pub struct IdHasher {
    /// The HMAC key; zeroized on drop.
    key: SecretBox<Vec<u8>>,
}

impl IdHasher {
    pub fn new(key: SecretBox<Vec<u8>>) -> IdHasher {
        IdHasher { key }
    }

    /// Lower-case hex of HMAC-SHA-256(key, digits).
    pub fn hash(&self, id: &IdNumber) -> String {
        self.hash_digits(id.digits())
    }

    fn hash_digits(&self, digits: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.key.expose_secret())
            .expect("HMAC accepts keys of any length");
        mac.update(digits.as_bytes());
        crate::hex(&mac.finalize().into_bytes())
    }
}

impl fmt::Debug for IdHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdHasher(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, day)
    }

    #[test]
    fn accepts_cmnd_and_cccd() {
        assert!(IdNumber::parse("027085001234").unwrap().is_cccd());
        assert!(!IdNumber::parse("125678901").unwrap().is_cccd());
        assert_eq!(
            IdNumber::parse("027 085 001 234").unwrap().digits(),
            "027085001234"
        );
    }

    #[test]
    fn rejects_wrong_lengths_and_letters() {
        let e = IdNumber::parse("02708700123").unwrap_err();
        assert!(e.contains("11 chữ số"), "{e}");
        assert!(IdNumber::parse("02708700123x").is_err());
        assert!(IdNumber::parse("*").is_err());
        assert!(IdNumber::parse("").unwrap_err().contains("thiếu"));
    }

    #[test]
    fn regression_scientific_notation_from_excel_is_explained() {
        assert!(IdNumber::parse("2.70851E+10")
            .unwrap_err()
            .contains("số mũ"));
        assert!(IdNumber::parse("2,70851e+10")
            .unwrap_err()
            .contains("số mũ"));
    }

    #[test]
    fn rejects_bad_province_and_century_digit() {
        assert!(IdNumber::parse("000085001234")
            .unwrap_err()
            .contains("mã tỉnh"));
        assert!(IdNumber::parse("097085001234")
            .unwrap_err()
            .contains("mã tỉnh"));
        assert!(IdNumber::parse("027585001234")
            .unwrap_err()
            .contains("thứ 4"));
    }

    #[test]
    fn cccd_facts_follow_the_century_gender_digit() {
        let f = |s: &str| IdNumber::parse(s).unwrap().cccd_facts().unwrap();
        assert_eq!(f("027085001234"), (Gender::Male, 1985));
        assert_eq!(f("027190004567"), (Gender::Female, 1990));
        assert_eq!(f("027201008888"), (Gender::Male, 2001));
        assert_eq!(f("027305000000"), (Gender::Female, 2005));
    }

    #[test]
    fn cross_check_reports_gender_and_year() {
        let id = IdNumber::parse("027084007878").unwrap();
        assert!(id.cross_check(d(1984, 4, 4), Some(Gender::Male)).is_empty());
        let e = id.cross_check(d(1984, 4, 4), Some(Gender::Female));
        assert_eq!(e.len(), 1);
        assert!(e[0].contains("giới tính Nam"), "{e:?}");
        let e = id.cross_check(d(1985, 4, 4), Some(Gender::Male));
        assert!(e[0].contains("năm sinh 1984"), "{e:?}");
        // A CMND carries no such facts.
        let cmnd = IdNumber::parse("125678901").unwrap();
        assert!(cmnd
            .cross_check(d(1999, 1, 1), Some(Gender::Female))
            .is_empty());
    }

    #[test]
    fn debug_and_display_are_masked() {
        let id = IdNumber::parse("027085001234").unwrap();
        assert_eq!(id.to_string(), "027******234");
        assert!(!format!("{id:?}").contains("085001"));
        assert_eq!(mask("125678901"), "125***901");
    }

    #[test]
    fn redact_masks_id_like_runs_only() {
        assert_eq!(
            redact("họ và tên \"027085000181\" có ký tự"),
            "họ và tên \"027******181\" có ký tự"
        );
        assert_eq!(
            redact("ngày 12/03/1985, dòng 12"),
            "ngày 12/03/1985, dòng 12"
        );
        assert_eq!(redact("1085000401"), "108****401");
        assert_eq!(redact("tên \"027 085 001 234\""), "tên \"027******234\"");
        assert_eq!(
            redact("027.085.001.234 và 027-085-001-234"),
            "027******234 và 027******234"
        );
        assert_eq!(redact("1 2 3 4 5 6 7 8"), "1 2 3 4 5 6 7 8");
        assert_eq!(
            redact("ngày sinh \"31.02.1985\" không có thật"),
            "ngày sinh \"31.02.1985\" không có thật"
        );
        assert_eq!(redact("dòng 12, 13 và 14"), "dòng 12, 13 và 14");
    }

    #[test]
    fn hash_is_keyed_and_stable() {
        let a = IdHasher::new(SecretBox::new(Box::new(b"key one".to_vec())));
        let b = IdHasher::new(SecretBox::new(Box::new(b"key two".to_vec())));
        let id = IdNumber::parse("027085001234").unwrap();
        assert_eq!(a.hash(&id), a.hash(&id));
        assert_ne!(a.hash(&id), b.hash(&id));
        assert_eq!(a.hash(&id).len(), 64);
        assert!(!a.hash(&id).contains("027085001234"));
    }
}
