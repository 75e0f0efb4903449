//! Reading every file a unit really sends: Word, Excel and CSV fixtures made
//! here, each showing one kind of mess, read through the library's public
//! readers, interpreter and validation (no directory needed).

mod common;

use common::office::{self, docx, para, run, s, table, tc, text_table, xlsx, Sheet, X};
use mailprov::forms::{self, Column, Form, FormKind};
use mailprov::identity::IdHasher;
use mailprov::model::{Action, Field, Request};
use mailprov::validate::{validate, Rules};

const HEADER: &[&str] = &[
    "STT",
    "Họ và tên",
    "Ngày sinh",
    "Giới tính",
    "Số CMT/CCCD",
    "Chức vụ",
    "Đơn vị công tác",
    "Nội dung đề nghị",
];

fn read(name: &str, bytes: &[u8]) -> Form {
    forms::interpret(&forms::read(name, bytes).unwrap()).unwrap()
}

/// Validates with a fixed key and date.
fn check_rows(form: &Form) -> Result<Vec<Request>, Vec<mailprov::model::RowError>> {
    let hasher = IdHasher::new(secrecy::SecretBox::new(Box::new(
        b"0123456789abcdef".to_vec(),
    )));
    let rules = Rules {
        domain: "bacninh.gov.vn",
        hasher: &hasher,
        today: chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
    };
    validate(form, &rules)
}

fn requests(form: &Form) -> Vec<Request> {
    check_rows(form).unwrap_or_else(|e| panic!("{e:?}"))
}

fn names(form: &Form) -> Vec<String> {
    form.rows
        .iter()
        .map(|r| r.get(Column::Name).to_string())
        .collect()
}

#[test]
fn word_text_split_across_runs_fields_links_and_tracked_changes() {
    let name_cell = concat!(
        "<w:tc><w:p>",
        r#"<w:r><w:t>Nguy</w:t></w:r><w:proofErr w:type="spellStart"/><w:r><w:t>ễn</w:t></w:r><w:proofErr w:type="spellEnd"/>"#,
        r#"<w:r><w:t xml:space="preserve"> Văn</w:t></w:r><w:r><w:tab/></w:r>"#,
        r#"<w:del w:id="1" w:author="x"><w:r><w:delText>Bình</w:delText></w:r></w:del>"#,
        r#"<w:ins w:id="2" w:author="x"><w:r><w:t>An</w:t></w:r></w:ins>"#,
        "</w:p></w:tc>"
    )
    .to_string();
    let unit_cell = concat!(
        "<w:tc><w:p>",
        r#"<w:hyperlink r:id="rId9"><w:r><w:t>Phòng Tài nguyên</w:t></w:r></w:hyperlink>"#,
        r#"<w:fldSimple w:instr=" MERGEFIELD don_vi "><w:r><w:t xml:space="preserve"> và Môi </w:t></w:r></w:fldSimple>"#,
        r#"<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> REF x </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r>"#,
        r#"<w:r><w:t>trư</w:t></w:r><w:r><w:softHyphen/><w:t>&#173;ờng</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r>"#,
        "</w:p></w:tc>"
    )
    .to_string();
    let header: Vec<String> = [
        "STT",
        "Họ và\ntên",
        "Ngày sinh",
        "Giới tính",
        "Số CMT/\nCCCD",
        "Chức vụ",
        "Đơn vị công tác",
        "Nội dung\nđề nghị",
    ]
    .iter()
    .map(|h| tc(h, None))
    .collect();
    let row: Vec<String> = vec![
        tc("1)", None),
        name_cell,
        tc("12/3/1985", None),
        tc("Nam", None),
        tc("027\u{00A0}085\u{200B}001234", None),
        tc("Chuyên viên", None),
        unit_cell,
        tc("cấp  MỚI", None),
    ];
    let body = format!("{}{}", para("Số: 41/|TNMT-VP", None), table(&[header, row]));
    let form = read("a.docx", &docx(&body, None));
    assert_eq!(form.meta.doc_number.as_deref(), Some("41/TNMT-VP"));
    assert_eq!(names(&form), vec!["Nguyễn Văn An"]);
    assert_eq!(
        form.rows[0].get(Column::Unit),
        "Phòng Tài nguyên và Môi trường"
    );
    assert_eq!(form.rows[0].row.stt, "1)");
    let Request::Account(r) = &requests(&form)[0] else {
        panic!()
    };
    assert_eq!(r.action, Action::Create);
    assert_eq!(r.person.id.digits(), "027085001234");
}

#[test]
fn word_merged_cells_title_rows_blank_rows_and_a_second_table_after_a_page_break() {
    let h: Vec<String> = HEADER.iter().map(|c| tc(c, None)).collect();
    let title = vec![r#"<w:tc><w:tcPr><w:gridSpan w:val="8"/></w:tcPr><w:p><w:r><w:t>I. Phòng Tài nguyên và Môi trường</w:t></w:r></w:p></w:tc>"#.to_string()];
    let row = |stt: &str, name: &str, id: &str, unit: Option<&str>| -> Vec<String> {
        let unit_cell = match unit {
            Some(u) => format!(
                r#"<w:tc><w:tcPr><w:vMerge w:val="restart"/></w:tcPr><w:p><w:r><w:t>{u}</w:t></w:r></w:p></w:tc>"#
            ),
            None => r#"<w:tc><w:tcPr><w:vMerge/></w:tcPr><w:p/></w:tc>"#.to_string(),
        };
        vec![
            tc(stt, None),
            tc(name, None),
            tc("01/01/1990", None),
            tc("Nam", None),
            tc(id, None),
            tc("Chuyên viên", None),
            unit_cell,
            tc("Cấp mới", None),
        ]
    };
    let blank: Vec<String> = (0..8).map(|_| tc("", None)).collect();
    let first = table(&[
        h,
        title,
        row(
            "1.",
            "Lê Văn Một",
            "027090000001",
            Some("Phòng Tài nguyên và Môi trường"),
        ),
        row("2.", "Lê Văn Hai", "027090000002", None),
        blank.clone(),
    ]);
    let second = table(&[row("3.", "Lê Văn Ba", "027090000003", None), blank]);
    let page_break = r#"<w:p><w:r><w:br w:type="page"/></w:r></w:p>"#;
    let signature = text_table(&[&["Nơi nhận:\n- Như trên;", "THỦ TRƯỞNG ĐƠN VỊ"]], None);
    let body = format!("{first}{page_break}{second}{signature}");
    let form = read("b.docx", &docx(&body, None));
    assert_eq!(names(&form), vec!["Lê Văn Một", "Lê Văn Hai", "Lê Văn Ba"]);
    // The merged unit cell applies to every row it spans, across the page
    // break too (Word repeats the merge in the next table).
    for r in &form.rows[..2] {
        assert_eq!(r.get(Column::Unit), "Phòng Tài nguyên và Môi trường");
    }
    assert_eq!(requests(&form).len(), 3);
}

#[test]
fn word_in_tcvn3_fonts_letter_head_in_capitals() {
    let vn = Some(".VnTime");
    let head = table(&[
        vec![
            tc(
                "UBND thµnh phè b¾c ninh\nphßng tµi nguyªn vµ m«i tr\u{AD}êng",
                Some(".VnTimeH"),
            ),
            tc("Céng hoµ x· héi chñ nghÜa ViÖt Nam", vn),
        ],
        vec![
            tc("Sè: 42/TNMT-VP", vn),
            tc("B¾c Ninh, ngµy 1 th¸ng 12 n¨m 2026", vn),
        ],
    ]);
    let body_table = text_table(
        &[
            &[
                "STT",
                "Hä vµ tªn",
                "Ngµy sinh",
                "Giíi tÝnh",
                "Sè CMT/CCCD",
                "Chøc vô",
                "§¬n vÞ c«ng t¸c",
                "Néi dung ®Ò nghÞ",
            ],
            &[
                "1",
                "TrÇn ThÞ BÝch Ngäc",
                "05/11/1990",
                "N÷",
                "027190004567",
                "Phã Tr\u{AD}ëng phßng",
                "Phßng Tµi nguyªn vµ M«i tr\u{AD}êng",
                "CÊp míi",
            ],
        ],
        vn,
    );
    let form = read("c.docx", &docx(&format!("{head}{body_table}"), None));
    assert_eq!(form.kind, FormKind::Accounts);
    assert_eq!(
        form.meta.issuing_unit.as_deref(),
        Some("PHÒNG TÀI NGUYÊN VÀ MÔI TRƯỜNG")
    );
    assert_eq!(form.meta.doc_number.as_deref(), Some("42/TNMT-VP"));
    assert_eq!(names(&form), vec!["Trần Thị Bích Ngọc"]);
    assert_eq!(form.rows[0].get(Column::Title), "Phó Trưởng phòng");
    assert!(
        form.warnings.iter().any(|w| w.contains("TCVN3")),
        "{:?}",
        form.warnings
    );
    let Request::Account(r) = &requests(&form)[0] else {
        panic!()
    };
    assert_eq!(r.person.gender, Some(mailprov::model::Gender::Female));
}

#[test]
fn word_in_vni_by_the_document_default_font() {
    let t = text_table(
        &[
            &[
                "STT",
                "Hoï vaø teân",
                "Ngaøy sinh",
                "Giôùi tính",
                "Soá CMT/CCCD",
                "Chöùc vuï",
                "Ñôn vò coâng taùc",
                "Noäi dung ñeà nghò",
            ],
            &[
                "1",
                "Nguyeãn Vaên An",
                "12/03/1985",
                "Nam",
                "027085001234",
                "Chuyeân vieân",
                "Phoøng Taøi nguyeân vaø Moâi tröôøng",
                "Taïm khoùa",
            ],
        ],
        None,
    );
    let form = read("d.docx", &docx(&t, Some("VNI-Times")));
    assert_eq!(names(&form), vec!["Nguyễn Văn An"]);
    assert_eq!(
        form.rows[0].get(Column::Unit),
        "Phòng Tài nguyên và Môi trường"
    );
    let Request::Account(r) = &requests(&form)[0] else {
        panic!()
    };
    assert_eq!(r.action, Action::Lock);
}

#[test]
fn legacy_text_without_a_legacy_font_is_found_by_its_statistics() {
    // Pasted from an old file: TCVN3 text, but the run says Times New Roman.
    let t = office::table(&[
        HEADER.iter().map(|c| tc(c, None)).collect(),
        [
            "1",
            "NguyÔn V¨n An",
            "12/03/1985",
            "Nam",
            "027085001234",
            "Chuyªn viªn",
            "Phßng Néi vô",
            "CÊp míi",
        ]
        .iter()
        .map(|c| tc(c, Some("Times New Roman")))
        .collect(),
    ]);
    let form = read("e.docx", &docx(&t, None));
    assert_eq!(names(&form), vec!["Nguyễn Văn An"]);
    assert_eq!(form.rows[0].get(Column::Unit), "Phòng Nội vụ");
    assert!(form.warnings.iter().any(|w| w.contains("TCVN3")));
    let _ = run("x", None);
}

fn sheet(name: &str, rows: Vec<(bool, Vec<X>)>) -> Sheet {
    Sheet {
        name: name.into(),
        rows,
        hidden: false,
    }
}

fn header_row() -> (bool, Vec<X>) {
    (
        false,
        HEADER
            .iter()
            .map(|h| s(h))
            .chain([s("Điện thoại"), s("Ghi chú")])
            .collect(),
    )
}

#[test]
fn excel_titles_several_sheets_hidden_rows_numbers_and_dates() {
    let p = |stt: f64, name: &str, dob: X, gender: &str, id: X| -> (bool, Vec<X>) {
        (
            false,
            vec![
                X::N(stt),
                s(name),
                dob,
                s(gender),
                id,
                s("Chuyên viên"),
                s("UBND phường Vũ Ninh"),
                s("Cấp mới"),
                s("0912345678"),
                X::E,
            ],
        )
    };
    let mut hidden = p(
        9.0,
        "Người Bị Ẩn",
        s("01/01/1990"),
        "Nam",
        s("027090009999"),
    );
    hidden.0 = true;
    let book = xlsx(
        &[
            sheet(
                "Hướng dẫn",
                vec![(false, vec![s("Điền danh sách ở trang sau")])],
            ),
            sheet(
                "Danh sách",
                vec![
                    (
                        false,
                        vec![s("DANH SÁCH ĐĂNG KÝ CẤP MỚI TÀI KHOẢN THƯ ĐIỆN TỬ CÔNG VỤ")],
                    ),
                    (false, vec![]),
                    header_row(),
                    p(
                        1.0,
                        "Đặng Thị Đào",
                        X::D(32187.0),
                        "Nữ",
                        X::N(27188005555.0),
                    ),
                    p(
                        2.0,
                        "Phạm Quốc Việt",
                        X::N(33877.0),
                        "Nam",
                        s("027092006666"),
                    ),
                    hidden,
                    p(
                        3.0,
                        "Lê Văn Hà Nội",
                        s("5.11.1990"),
                        "Nam",
                        X::N(1090000401.0),
                    ),
                    p(4.0, "Vũ Minh Đức", s("2001-04-08"), "Nam", X::N(12345678.0)),
                ],
            ),
        ],
        false,
    );
    let form = read("f.xlsx", &book);
    assert_eq!(
        names(&form),
        vec![
            "Đặng Thị Đào",
            "Phạm Quốc Việt",
            "Lê Văn Hà Nội",
            "Vũ Minh Đức"
        ]
    );
    let get = |i: usize, c| form.rows[i].get(c).to_string();
    assert_eq!(get(0, Column::BirthDate), "14/02/1988");
    assert_eq!(
        get(1, Column::BirthDate),
        "30/09/1992",
        "a serial in a General cell"
    );
    assert_eq!(get(0, Column::Id), "027188005555", "one lost zero restored");
    assert_eq!(
        get(2, Column::Id),
        "001090000401",
        "two lost zeros restored (province 001)"
    );
    assert_eq!(get(3, Column::Id), "012345678", "a CMND of 9 digits");
    assert!(
        form.warnings
            .iter()
            .any(|w| w.contains("dòng bị ẩn") && w.contains("6")),
        "{:?}",
        form.warnings
    );
    assert!(
        form.warnings
            .iter()
            .filter(|w| w.contains("khôi phục"))
            .count()
            == 3
    );
    // Dates of every shape are understood.
    assert_eq!(requests(&form).len(), 4);
}

#[test]
fn excel_1904_date_system() {
    let book = xlsx(
        &[sheet(
            "Sheet1",
            vec![
                header_row(),
                (
                    false,
                    vec![
                        X::N(1.0),
                        s("Đặng Thị Đào"),
                        X::N(30725.0),
                        s("Nữ"),
                        s("027188005555"),
                        s("CV"),
                        s("P"),
                        s("Cấp mới"),
                    ],
                ),
            ],
        )],
        true,
    );
    let form = read("g.xlsx", &book);
    assert_eq!(form.rows[0].get(Column::BirthDate), "14/02/1988");
}

#[test]
fn excel_scientific_id_is_a_clear_row_error() {
    let book = xlsx(
        &[sheet(
            "S",
            vec![
                header_row(),
                (
                    false,
                    vec![
                        X::N(1.0),
                        s("Lê Văn An"),
                        s("01/01/1985"),
                        s("Nam"),
                        s("2.70851E+10"),
                        s("CV"),
                        s("P"),
                        s("Cấp mới"),
                    ],
                ),
            ],
        )],
        false,
    );
    let form = read("h.xlsx", &book);
    let e = check_rows(&form).unwrap_err();
    assert!(e[0].message.contains("số mũ"), "{e:?}");
}

#[test]
fn csv_windows_1258_semicolons_quotes_and_line_breaks() {
    // "Nữ" and "Nguyễn" in Windows-1258: tones are combining bytes.
    let mut bytes = b"STT;Ho\xf2 va\xcc t\xean;Nga\xccy sinh;Gi\xf5\xeci ti\xecnh;S\xe4\xec CMT/CCCD;Ch\xfd\xecc vu\xf2;\xd0\xf5n vi\xf2 c\xf4ng ta\xecc;N\xf4\xf2i dung \xf0\xea\xcc nghi\xf2\r\n".to_vec();
    bytes.extend_from_slice(b"1;\"Nguy\xea\xden V\xe3n\r\nAn\";12/03/1985;Nam;027085001234;\"Chuy\xean vi\xean; t\xf4\xd2ng h\xf5\xf2p\";Pho\xccng N\xf4\xf2i vu\xf2;C\xe2\xecp m\xf5\xeci\r\n");
    let form = read("i.csv", &bytes);
    assert_eq!(form.kind, FormKind::Accounts);
    assert_eq!(form.rows[0].get(Column::Title), "Chuyên viên; tổng hợp");
    assert_eq!(
        form.rows[0].get(Column::Name),
        "Nguyễn Văn\nAn",
        "a line break inside quotes"
    );
    assert_eq!(form.rows[0].get(Column::Unit), "Phòng Nội vụ");
    assert_eq!(requests(&form).len(), 1);
}

#[test]
fn header_and_action_synonyms_in_any_case_and_tone_placement() {
    let csv = "TT,\"HỌ, CHỮ ĐỆM VÀ TÊN\",Năm sinh,Giới tính,Số định danh cá nhân,Chức danh,Cơ quan,Hình thức\n\
               1,Lê Văn Một,01/01/1990,Nam,027090000001,CV,P,Đăng ký mới\n\
               2,Lê Văn Hai,01/01/1990,Nam,027090000002,CV,P,Cấp tài khoản\n\
               3,Lê Văn Ba,01/01/1990,Nam,027090000003,CV,P,tạm dừng\n\
               4,Lê Văn Bốn,01/01/1990,Nam,027090000004,CV,P,KÍCH HOẠT LẠI\n\
               5,Lê Văn Năm,01/01/1990,Nam,027090000005,CV,P,Thu hồi\n\
               6,Lê Văn Sáu,01/01/1990,Nam,027090000006,CV,P,Xoá\n\
               7,Lê Văn Bảy,01/01/1990,Nam,027090000007,CV,P,huỷ\n";
    let form = read("j.csv", csv.as_bytes());
    let actions: Vec<Action> = requests(&form)
        .into_iter()
        .map(|r| match r {
            Request::Account(a) => a.action,
            _ => panic!(),
        })
        .collect();
    use Action::*;
    assert_eq!(
        actions,
        vec![Create, Create, Lock, Unlock, Delete, Delete, Delete]
    );
}

#[test]
fn form_two_in_other_words_with_the_address_anywhere() {
    let csv = "STT;Nội dung thay đổi;Thông tin mới;Ghi chú\n\
               1;Chức danh;Phó Chủ tịch;Tài khoản giangnth@bacninh.gov.vn\n\
               2;Đơn vị (email: ducvm@bacninh.gov.vn);UBND phường Vũ Ninh;\n\
               3;Họ tên tài khoản <hahtt@bacninh.gov.vn>;HOÀNG THỊ THU HÀ;\n\
               4;Địa chỉ thư daodt@bacninh.gov.vn;dao.dang@bacninh.gov.vn;\n";
    let form = read("k.csv", csv.as_bytes());
    assert_eq!(form.kind, FormKind::Changes);
    let got: Vec<(String, Field)> = requests(&form)
        .into_iter()
        .map(|r| match r {
            Request::Change(c) => (c.account, c.field),
            _ => panic!(),
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("giangnth".into(), Field::Title),
            ("ducvm".into(), Field::Unit),
            ("hahtt".into(), Field::FullName),
            ("daodt".into(), Field::Address),
        ]
    );
}

#[test]
fn within_one_file_the_same_id_twice_is_an_error_on_the_later_row() {
    let csv = "STT,Họ và tên,Ngày sinh,Giới tính,Số CMT/CCCD,Chức vụ,Đơn vị,Nội dung\n\
               1,Lê Văn Một,01/01/1990,Nam,027090000001,CV,P,Cấp mới\n\
               2,Lê Văn Một,01/01/1990,Nam,027 090 000 001,CV,P,Hủy bỏ\n";
    let form = read("l.csv", csv.as_bytes());
    let e = check_rows(&form).unwrap_err();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].row.index, 2);
    assert!(e[0].message.contains("trùng với dòng 1"), "{e:?}");
}

#[test]
fn regression_a_hidden_sheet_is_not_read() {
    let row = |stt: f64, name: &str, id: &str, action: &str| -> (bool, Vec<X>) {
        (
            false,
            vec![
                X::N(stt),
                s(name),
                s("01/01/1990"),
                s("Nam"),
                s(id),
                s("CV"),
                s("P"),
                s(action),
            ],
        )
    };
    let mut old = sheet(
        "Danh sách cũ",
        vec![
            header_row(),
            row(1.0, "Lê Văn Cũ", "027090000009", "Hủy bỏ"),
        ],
    );
    old.hidden = true;
    let book = xlsx(
        &[
            old,
            sheet(
                "Danh sách",
                vec![
                    header_row(),
                    row(1.0, "Lê Văn Mới", "027090000001", "Cấp mới"),
                ],
            ),
        ],
        false,
    );
    let form = read("hidden-sheet.xlsx", &book);
    assert_eq!(names(&form), vec!["Lê Văn Mới"]);
    assert!(
        form.warnings.iter().any(|w| w.contains("trang tính ẩn")),
        "{:?}",
        form.warnings
    );
}

#[test]
fn regression_a_list_on_two_visible_sheets_is_refused_not_half_read() {
    let row = |stt: f64, name: &str, id: &str| -> (bool, Vec<X>) {
        (
            false,
            vec![
                X::N(stt),
                s(name),
                s("01/01/1990"),
                s("Nam"),
                s(id),
                s("CV"),
                s("P"),
                s("Cấp mới"),
            ],
        )
    };
    let book = xlsx(
        &[
            sheet(
                "Trang 1",
                vec![header_row(), row(1.0, "Lê Văn Một", "027090000001")],
            ),
            sheet(
                "Trang 2",
                vec![header_row(), row(2.0, "Lê Văn Hai", "027090000002")],
            ),
        ],
        false,
    );
    let e = forms::interpret(&forms::read("two.xlsx", &book).unwrap()).unwrap_err();
    assert!(e.vietnamese().contains("nhiều trang tính"), "{e}");
}

#[test]
fn regression_the_unit_is_not_taken_from_an_instructions_sheet() {
    let book = xlsx(
        &[
            sheet(
                "Hướng dẫn",
                vec![(false, vec![s("Điền danh sách ở trang tính \"Danh sách\"")])],
            ),
            sheet(
                "Danh sách",
                vec![
                    header_row(),
                    (
                        false,
                        vec![
                            X::N(1.0),
                            s("Lê Văn Một"),
                            s("01/01/1990"),
                            s("Nam"),
                            s("027090000001"),
                            s("CV"),
                            s("Phòng Tài nguyên và Môi trường"),
                            s("Cấp mới"),
                        ],
                    ),
                ],
            ),
        ],
        false,
    );
    let form = read("units.xlsx", &book);
    assert_eq!(
        form.requesting_unit().as_deref(),
        Some("Phòng Tài nguyên và Môi trường")
    );
}

#[test]
fn regression_vni_marks_in_the_next_run_still_find_their_vowel() {
    // "Nguyeãn" split as "Nguye" + "ãn", "Traàn" as "Tra" + "àn".
    let cell = |parts: &[&str]| -> String {
        format!(
            "<w:tc><w:p>{}</w:p></w:tc>",
            parts
                .iter()
                .map(|p| run(p, Some("VNI-Times")))
                .collect::<String>()
        )
    };
    let header: Vec<String> = [
        "STT",
        "Hoï vaø teân",
        "Ngaøy sinh",
        "Giôùi tính",
        "Soá CMT/CCCD",
        "Chöùc vuï",
        "Ñôn vò coâng taùc",
        "Noäi dung ñeà nghò",
    ]
    .iter()
    .map(|h| tc(h, Some("VNI-Times")))
    .collect();
    let row = vec![
        tc("1", None),
        cell(&["Nguye", "ãn Va", "ên Huø", "ng"]),
        tc("12/03/1985", None),
        tc("Nam", None),
        tc("027085001234", None),
        cell(&["Chuye", "ân vie", "ân"]),
        cell(&["Phoøng No", "äi vuï"]),
        cell(&["Ca", "áp mô", "ùi"]),
    ];
    let form = read("vni-split.docx", &docx(&table(&[header, row]), None));
    assert_eq!(names(&form), vec!["Nguyễn Văn Hùng"]);
    assert_eq!(form.rows[0].get(Column::Unit), "Phòng Nội vụ");
    assert_eq!(requests(&form).len(), 1);
}

#[test]
fn regression_tcvn3_without_a_font_keeps_its_soft_hyphen_u() {
    // U+00AD is TCVN3's "ư"; it must not be dropped as a soft hyphen first.
    let t = text_table(
        &[
            HEADER,
            &[
                "1",
                "L\u{AD}¬ng ThÞ Th\u{AD}êng",
                "12/03/1985",
                "N÷",
                "027185001234",
                "Chuyªn viªn",
                "Phßng Néi vô",
                "CÊp míi",
            ],
        ],
        None,
    );
    let form = read("tcvn3-nofont.docx", &docx(&t, None));
    assert_eq!(names(&form), vec!["Lương Thị Thường"]);
    assert_eq!(requests(&form).len(), 1, "CÊp míi is Cấp mới");
}

/// A TCVN3 workbook of one request row; its title cell as given.
fn tcvn3_workbook(title: &str) -> Vec<u8> {
    let header = [
        "STT",
        "Hä vµ tªn",
        "Ngµy sinh",
        "Giíi tÝnh",
        "Sè CMT/CCCD",
        "Chøc vô",
        "§¬n vÞ c«ng t¸c",
        "Néi dung ®Ò nghÞ",
    ];
    let row = vec![
        X::N(1.0),
        s("TrÇn ThÞ BÝch Ngäc"),
        s("05/11/1990"),
        s("N÷"),
        s("027190004567"),
        s(title),
        s("Phßng Néi vô"),
        s("CÊp míi"),
    ];
    xlsx(
        &[sheet(
            "DS",
            vec![(false, header.iter().map(|h| s(h)).collect()), (false, row)],
        )],
        false,
    )
}

#[test]
fn regression_an_excel_workbook_in_tcvn3() {
    let form = read("tcvn3.xlsx", &tcvn3_workbook("Chuyªn viªn"));
    assert_eq!(names(&form), vec!["Trần Thị Bích Ngọc"]);
    assert_eq!(form.rows[0].get(Column::Title), "Chuyên viên");
    assert_eq!(requests(&form).len(), 1);
}

#[test]
fn regression_a_row_in_hidden_text_is_not_read() {
    let hidden = |t: &str| {
        format!(r#"<w:tc><w:p><w:r><w:rPr><w:vanish/></w:rPr><w:t>{t}</w:t></w:r></w:p></w:tc>"#)
    };
    let header: Vec<String> = HEADER.iter().map(|h| tc(h, None)).collect();
    let visible: Vec<String> = [
        "1",
        "Lê Văn Một",
        "01/01/1990",
        "Nam",
        "027090000001",
        "CV",
        "P",
        "Cấp mới",
    ]
    .iter()
    .map(|c| tc(c, None))
    .collect();
    let secret: Vec<String> = [
        "2",
        "Lê Văn Hai",
        "01/01/1990",
        "Nam",
        "027090000002",
        "CV",
        "P",
        "Hủy bỏ",
    ]
    .iter()
    .map(|c| hidden(c))
    .collect();
    let form = read(
        "vanish.docx",
        &docx(&table(&[header, visible, secret]), None),
    );
    assert_eq!(names(&form), vec!["Lê Văn Một"]);
    assert!(
        form.warnings.iter().any(|w| w.contains("chữ bị ẩn")),
        "{:?}",
        form.warnings
    );
}

#[test]
fn regression_a_list_continued_on_a_second_sheet_without_header_is_refused_an_empty_template_is_not(
) {
    let row = |stt: f64, name: &str, id: &str| -> (bool, Vec<X>) {
        (
            false,
            vec![
                X::N(stt),
                s(name),
                s("01/01/1990"),
                s("Nam"),
                s(id),
                s("CV"),
                s("P"),
                s("Cấp mới"),
            ],
        )
    };
    let book = xlsx(
        &[
            sheet(
                "Trang 1",
                vec![header_row(), row(1.0, "Lê Văn Một", "027090000001")],
            ),
            sheet("Trang 2", vec![row(2.0, "Lê Văn Hai", "027090000002")]),
        ],
        false,
    );
    assert!(matches!(
        forms::interpret(&forms::read("cont.xlsx", &book).unwrap()),
        Err(forms::FormError::SeveralLists)
    ));
    let book = xlsx(
        &[
            sheet(
                "Danh sách",
                vec![header_row(), row(1.0, "Lê Văn Một", "027090000001")],
            ),
            sheet("Mẫu trống", vec![header_row()]),
        ],
        false,
    );
    assert_eq!(names(&read("template.xlsx", &book)), vec!["Lê Văn Một"]);
}

#[test]
fn regression_unicode_cells_in_a_tcvn3_workbook_are_left_alone() {
    // TCVN3 typed by hand, but the title comes from a Unicode drop-down.
    let form = read("mixed.xlsx", &tcvn3_workbook("Chuyên viên"));
    assert_eq!(names(&form), vec!["Trần Thị Bích Ngọc"]);
    assert_eq!(form.rows[0].get(Column::Title), "Chuyên viên");
    assert_eq!(requests(&form).len(), 1);
}
