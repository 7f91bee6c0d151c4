//! The review workbook as a sales-ops lead opens it: amounts are numbers a
//! SUM adds, totals are formulas whose cached values LibreOffice computes
//! again to the same figure, the unit is its members plus its own, and each
//! language's file speaks only that language.

use std::{collections::HashMap, path::Path, process::Command};

use attain_kit::{auth::Role, both_backends, testing::Backend};
use attain_proto::attain::{
    common::v1::{Language, Period},
    review::v1::{self as pb},
};
use calamine::{Data, Reader, Xlsx};

use crate::helpers::spawn_suite;

type Book = Xlsx<std::io::Cursor<Vec<u8>>>;

fn open(bytes: &[u8]) -> Book {
    Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap()
}

fn number(book: &mut Book, sheet: &str, r: u32, c: u32) -> f64 {
    match book.worksheet_range(sheet).unwrap().get_value((r, c)) {
        Some(Data::Float(f)) => *f,
        other => panic!("{sheet} row {} column {}: not a number but {other:?}", r + 1, c + 1),
    }
}

fn text(book: &mut Book, sheet: &str, r: u32, c: u32) -> String {
    match book.worksheet_range(sheet).unwrap().get_value((r, c)) {
        Some(Data::String(s)) => s.clone(),
        other => format!("{other:?}"),
    }
}

/// Every string cell of every sheet.
fn strings(book: &mut Book) -> Vec<String> {
    let mut out = Vec::new();
    for name in book.sheet_names() {
        let range = book.worksheet_range(&name).unwrap();
        out.extend(range.used_cells().filter_map(|(_, _, d)| match d {
            Data::String(s) => Some(s.clone()),
            _ => None,
        }));
        out.push(name);
    }
    out
}

/// Each formula cell of the book: (sheet, row, column) → its cached value.
fn formulas(book: &mut Book) -> HashMap<(String, usize, usize), String> {
    let mut out = HashMap::new();
    for name in book.sheet_names() {
        let f = book.worksheet_formula(&name).unwrap();
        let values = book.worksheet_range(&name).unwrap();
        let (r0, c0) = f.start().unwrap_or((0, 0));
        for (r, c, expr) in f.used_cells() {
            if expr.is_empty() {
                continue;
            }
            let (r, c) = (r + r0 as usize, c + c0 as usize);
            let cached = match values.get_value((r as u32, c as u32)) {
                Some(Data::Float(x)) => format!("{x}"),
                Some(Data::Int(x)) => format!("{x}"),
                other => format!("{other:?}"),
            };
            out.insert((name.clone(), r, c), cached);
        }
    }
    out
}

/// The sheets as LibreOffice computes them after recalculating every
/// formula on load: sheet name → rows of raw (unformatted) values.
fn recalculated(xlsx: &[u8], dir: &Path) -> HashMap<String, Vec<Vec<String>>> {
    let profile = dir.join("profile");
    let user = profile.join("user");
    std::fs::create_dir_all(&user).unwrap();
    // Calc keeps an OOXML file's cached values unless told to recalculate.
    std::fs::write(
        user.join("registrymodifications.xcu"),
        r#"<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"#,
    )
    .unwrap();
    let input = dir.join("book.xlsx");
    std::fs::write(&input, xlsx).unwrap();
    let out = Command::new("soffice")
        .arg(format!("-env:UserInstallation=file://{}", profile.display()))
        .args(["--headless", "--norestore", "--convert-to"])
        // UTF-8, raw values (not as shown), every sheet to its own file.
        .arg("csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1")
        .arg("--outdir")
        .arg(dir)
        .arg(&input)
        .output()
        .expect("LibreOffice (soffice) is installed: Debian's libreoffice-calc-nogui; .ci/run installs it");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut sheets = HashMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(sheet) = file.strip_prefix("book-").and_then(|f| f.strip_suffix(".csv")) else { continue };
        sheets.insert(sheet.to_owned(), csv_rows(&std::fs::read_to_string(&path).unwrap()));
    }
    sheets
}

/// RFC 4180 rows: quoted fields may hold commas, quotes and line breaks.
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field, mut quoted) = (Vec::new(), Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            ('\r', false) => {}
            _ => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// LibreOffice's raw value (a percentage keeps its sign: "78.7%") equals
/// the cached one to the last bits a sum order may change.
fn same(lo: &str, b: &str) -> bool {
    let a = match lo.strip_suffix('%') {
        Some(p) => p.parse::<f64>().map(|x| x / 100.0).map(|x| x.to_string()).unwrap_or_default(),
        None => lo.to_owned(),
    };
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => (x - y).abs() <= 1e-9 * x.abs().max(1.0),
        _ => a == *b,
    }
}

/// Checks every formula's cached value against LibreOffice's own result.
fn recalculates_to_cached(xlsx: &[u8], tag: &str) -> usize {
    let dir = std::env::temp_dir().join(format!("attain-workbook-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let computed = recalculated(xlsx, &dir);
    let mut book = open(xlsx);
    let cached = formulas(&mut book);
    for ((sheet, r, c), value) in &cached {
        let lo = computed
            .get(sheet)
            .unwrap_or_else(|| panic!("LibreOffice wrote no {sheet}: {:?}", computed.keys()))
            .get(*r)
            .and_then(|row| row.get(*c))
            .unwrap_or_else(|| panic!("{sheet} row {} column {}: no value", r + 1, c + 1));
        assert!(same(lo, value), "{sheet} row {} column {}: cached {value}, LibreOffice {lo}", r + 1, c + 1);
    }
    let _ = std::fs::remove_dir_all(&dir);
    cached.len()
}

/// Strings a user typed (names, texts) removed, what is left of `s`.
fn words_of(s: &str, typed: &[&str]) -> String {
    let mut s = s.to_owned();
    for t in typed {
        s = s.replace(t, " ");
    }
    s
}

async fn the_review_workbook(backend: Backend) {
    let s = spawn_suite(backend).await;
    let mut manager = s.reviews("mgr-a", Role::Manager, "region-a");
    let review = manager
        .create_review(pb::CreateReviewRequest {
            review: Some(pb::Review {
                unit: "units/region-a".into(),
                period: Some(Period { expression: "2024-01".into(), ..Default::default() }),
                cadence: pb::Cadence::Monthly as i32,
                ..Default::default()
            }),
            request_id: "jan".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let cause = manager
        .create_cause(pb::CreateCauseRequest {
            parent: review.name.clone(),
            cause: Some(pb::Cause {
                unit: "units/rep-2".into(),
                category: pb::CauseCategory::Subjective as i32,
                kind: pb::CauseKind::SkillGap as i32,
                text: "议价能力不足".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    for (owner, text) in [("rep-2", "价格谈判培训"), ("mgr-a", "每周陪访重点客户")] {
        manager
            .create_action_item(pb::CreateActionItemRequest {
                parent: review.name.clone(),
                action_item: Some(pb::ActionItem {
                    owner: owner.into(),
                    text: text.into(),
                    due_date: "2024-02-15".into(),
                    cause: cause.name.clone(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap();
    }
    let report_in = |format: pb::ReportFormat, language: Language, unit: pb::ReportMoneyUnit| {
        let mut m = manager.clone();
        let name = review.name.clone();
        async move {
            m.generate_report(pb::GenerateReportRequest {
                name,
                format: format as i32,
                language: language as i32,
                money_unit: unit as i32,
            })
            .await
            .unwrap()
            .into_inner()
            .content
        }
    };
    let report = |format, language| report_in(format, language, pb::ReportMoneyUnit::Unspecified);
    let zh = report(pb::ReportFormat::Xlsx, Language::Zh).await;
    let en = report(pb::ReportFormat::Xlsx, Language::En).await;

    // Amounts are numbers; the unit's row is the brief's figures.
    let brief = review.brief.as_ref().unwrap();
    let unit = brief.unit.as_ref().unwrap();
    let money =
        |m: &Option<attain_proto::attain::common::v1::Money>| m.as_ref().unwrap().amount.parse::<f64>().unwrap();
    let mut book = open(&zh);
    assert_eq!(
        book.sheet_names(),
        ["年度业绩目标总表", "目标分解", "阶段目标与里程碑", "周度销售进展记录表", "复盘与行动计划"]
    );
    assert_eq!(number(&mut book, "年度业绩目标总表", 1, 5), 10_000_000.0);
    assert_eq!(number(&mut book, "年度业绩目标总表", 1, 3), 8_000_000.0);
    assert_eq!(number(&mut book, "年度业绩目标总表", 1, 4), 0.25, "growth as a fraction, shown as a percentage");
    let d = "目标分解";
    assert_eq!(text(&mut book, d, 1, 0), "REGION-A");
    assert_eq!(number(&mut book, d, 1, 1), money(&unit.target));
    assert_eq!(number(&mut book, d, 1, 3), money(&unit.actual));
    assert_eq!(number(&mut book, d, 1, 3), 160_000.0, "January's actual is in the workbook");
    assert_eq!(number(&mut book, d, 1, 4), unit.attainment_rate.parse::<f64>().unwrap());
    assert_eq!(text(&mut book, d, 1, 10), "红灯");
    // Members, their total (a formula) and the unit's own remainder: the
    // unit's target is exactly members + own.
    let members = brief.members.len() as u32;
    assert_eq!(members, 2);
    let total_row = 2 + members;
    let f = book.worksheet_formula(d).unwrap();
    let expr = |r: u32, c: u32| f.get_value((r, c)).cloned().unwrap_or_default();
    assert_eq!(expr(total_row, 1), "SUM(B3:B4)");
    assert_eq!(expr(total_row + 1, 1), "B2-B5");
    let member_sum = number(&mut book, d, 2, 1) + number(&mut book, d, 3, 1);
    assert_eq!(number(&mut book, d, total_row, 1), member_sum);
    assert_eq!(number(&mut book, d, total_row, 1) + number(&mut book, d, total_row + 1, 1), money(&unit.target));
    assert_eq!(number(&mut book, d, total_row, 3), 160_000.0, "the reps sold all of January's 160,000");
    // The deals: a date cell, a number cell, a total.
    let w = "周度销售进展记录表";
    assert!(matches!(book.worksheet_range(w).unwrap().get_value((1, 1)), Some(Data::DateTime(_))), "a date cell");
    let deals = book.worksheet_range(w).unwrap();
    assert_eq!(deals.get_value((4, 4)), Some(&Data::Float(160_000.0)), "three deals and their total: {deals:?}");
    // Owners by name: a rep by its unit's name, a manager as its unit's.
    let r = "复盘与行动计划";
    let all = strings(&mut book);
    assert!(all.iter().any(|s| s == "REP-2"), "{all:?}");
    assert!(all.iter().any(|s| s == "REGION-A负责人"), "{all:?}");
    assert!(all.iter().any(|s| s == "技能不足(主观)"), "{all:?}");
    assert!(all.iter().any(|s| s == "丢单:价格"), "{all:?}");
    assert_eq!(text(&mut book, r, 0, 0), "未达成主要原因");

    // One language at a time: what is left once the user's own words are
    // taken out has no Latin letters in Chinese, no Chinese in English.
    let typed = ["REGION-A", "REP-1", "REP-2", "FY2024", "CNY", "议价能力不足", "价格谈判培训", "每周陪访重点客户"];
    for s in &all {
        let left = words_of(s, &typed);
        assert!(!left.chars().any(|c| c.is_ascii_alphabetic()), "English in the Chinese workbook: {s:?}");
    }
    for s in strings(&mut open(&en)) {
        let left = words_of(&s, &typed);
        assert!(
            !left.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "Chinese in the English workbook: {s:?}"
        );
    }
    for (language, lang) in [(Language::Zh, "zh"), (Language::En, "en")] {
        let md = String::from_utf8(report(pb::ReportFormat::Markdown, language).await).unwrap();
        let left = words_of(&md, &typed);
        let foreign = |c: char| match lang {
            "zh" => c.is_ascii_alphabetic(),
            _ => ('\u{4e00}'..='\u{9fff}').contains(&c),
        };
        assert!(!left.chars().any(foreign), "{lang} Markdown mixes languages: {left}");
    }

    // In 万: every amount divided by 10,000, every digit kept.
    let wan = report_in(pb::ReportFormat::Xlsx, Language::Zh, pb::ReportMoneyUnit::TenThousand).await;
    let mut wan_book = open(&wan);
    assert_eq!(text(&mut wan_book, d, 0, 1), "目标(万元)");
    assert_eq!(number(&mut wan_book, d, 1, 1), money(&unit.target) / 10_000.0);
    assert_eq!(number(&mut wan_book, d, 1, 3), 16.0);
    assert_eq!(number(&mut wan_book, d, 1, 4), number(&mut book, d, 1, 4), "a rate is the same in any unit");

    // LibreOffice recalculates every formula to the value cached with it.
    let checked =
        recalculates_to_cached(&zh, "zh") + recalculates_to_cached(&en, "en") + recalculates_to_cached(&wan, "wan");
    assert!(checked >= 20, "totals, remainders, milestones and weekly sums: {checked}");
}

both_backends!(the_review_workbook);

/// The recalculation check can fail: a workbook whose cached value is
/// wrong is caught.
#[test]
fn a_wrong_cached_value_is_caught_by_recalculation() {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet().set_name("check").unwrap();
    sheet.write_number(0, 0, 2.0).unwrap();
    sheet.write_formula(0, 1, rust_xlsxwriter::Formula::new("=A1*2").set_result("5")).unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let caught = std::panic::catch_unwind(|| recalculates_to_cached(&bytes, "wrong"));
    assert!(caught.is_err(), "a cached 5 for =A1*2 (4) must not pass");
}
