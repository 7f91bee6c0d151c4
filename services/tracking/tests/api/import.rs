//! File import of the weekly progress sheet and CRM exports: CSV in any
//! of its encodings and XLSX as people fill it, Chinese or English titles,
//! people by name, lost deals, per-row errors by row and column, all or
//! nothing unless partial.

use attain_kit::{auth::Role, both_backends, testing::Backend};
use attain_proto::attain::{
    target::v1::{self as tpb, org_service_client::OrgServiceClient},
    tracking::v1::{self as pb, import_deals_request::Part},
};
use tonic::Code;

use crate::helpers::{Suite, Tracking, bearer, spawn_suite};

const SAMPLE_XLSX: &[u8] = include_bytes!("../data/weekly-progress-region-a.xlsx");
const SAMPLE_CSV: &[u8] = include_bytes!("../data/crm-export-utf8-bom.csv");

fn header(format: pb::FileFormat, request_id: &str) -> pb::ImportHeader {
    pb::ImportHeader {
        format: format as i32,
        file_name: "week".into(),
        request_id: request_id.into(),
        ..Default::default()
    }
}

/// Sends a file in 4 KB chunks; returns every progress message.
async fn import(
    t: &mut Tracking,
    format: pb::FileFormat,
    request_id: &str,
    bytes: Vec<u8>,
) -> Result<Vec<pb::ImportDealsResponse>, tonic::Status> {
    import_with(t, header(format, request_id), bytes).await
}

async fn import_with(
    t: &mut Tracking,
    header: pb::ImportHeader,
    bytes: Vec<u8>,
) -> Result<Vec<pb::ImportDealsResponse>, tonic::Status> {
    let mut msgs = vec![pb::ImportDealsRequest { part: Some(Part::Header(header)) }];
    msgs.extend(bytes.chunks(4096).map(|c| pb::ImportDealsRequest { part: Some(Part::Chunk(c.to_vec())) }));
    let mut stream = t.import_deals(tokio_stream::iter(msgs)).await?.into_inner();
    let mut out = Vec::new();
    while let Some(m) = stream.message().await? {
        out.push(m);
    }
    Ok(out)
}

fn errors(progress: &[pb::ImportDealsResponse]) -> Vec<(i64, String)> {
    progress.iter().flat_map(|p| p.errors.iter().map(|e| (e.row, e.field.clone()))).collect()
}

async fn deals_of(t: &mut Tracking, unit: &str) -> usize {
    t.list_deals(pb::ListDealsRequest { unit: format!("units/{unit}"), page_size: 1000, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .deals
        .len()
}

async fn gbk_csv_with_chinese_titles(backend: Backend) {
    let s = spawn_suite(backend).await;
    let mut manager = s.tracking("mgr-a", Role::Manager, "region-a");
    // The weekly progress record: follow-up lines have no amount; row 7 has a bad number.
    let mut text = String::from("日期,销售代表,客户名称,跟进阶段,成交金额,产品线\n");
    let rows = [
        ("2024-01-02", "rep-1", "华为", "签约", "\"8,000.00\""),
        ("2024/1/3", "rep-2", "联想", "报价", ""),
        ("2024-01-04", "rep-2", "小米", "签约", "12000"),
        ("2024-01-05", "rep-3", "京东", "签约", "￥5000.50"),
        ("2024-01-08", "rep-1", "美团", "签约", "9000"),
        ("2024-01-09", "rep-1", "滴滴", "签约", "12x"),
        ("2024-01-10", "rep-9", "百度", "签约", "100"),
        ("2024-01-11", "rep-3", "网易", "签约", "3000"),
    ];
    for (d, r, c, stage, a) in rows {
        text.push_str(&format!("{d},{r},{c},{stage},{a},硬件\n"));
    }
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    // All or nothing by default: two bad rows, nothing stored.
    let progress = import(&mut manager, pb::FileFormat::Csv, "week-2", gbk.to_vec()).await.unwrap();
    let last = progress.last().unwrap();
    assert!(last.done && !last.stored, "{last:?}");
    assert_eq!((last.rows_read, last.rows_refused), (8, 2));
    assert_eq!(last.encoding, "GBK/GB18030");
    assert_eq!(deals_of(&mut manager, "region-a").await, 0, "a refused row stores nothing");
    // Partial stores the good rows.
    let partial = pb::ImportHeader { partial: true, ..header(pb::FileFormat::Csv, "week-2") };
    let progress = import_with(&mut manager, partial, gbk.into_owned()).await.unwrap();
    let last = progress.last().unwrap();
    assert!(last.done && last.stored);
    assert_eq!((last.rows_read, last.rows_accepted), (8, 5), "{:?}", errors(&progress));
    let errs = errors(&progress);
    assert!(errs.contains(&(7, "成交金额".into())), "the bad number is named by row and column: {errs:?}");
    assert!(errs.iter().any(|(row, col)| *row == 8 && col == "销售代表"), "rep-9 is outside region A: {errs:?}");
    assert_eq!(deals_of(&mut manager, "region-a").await, 5);
    let a = manager
        .get_attainment(pb::GetAttainmentRequest {
            unit: "units/region-a".into(),
            period: "2024-01".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a.actual.unwrap().amount, "37000.50");

    // Sending the same file again stores nothing twice.
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    let partial = pb::ImportHeader { partial: true, ..header(pb::FileFormat::Csv, "week-2") };
    import_with(&mut manager, partial, gbk.into_owned()).await.unwrap();
    assert_eq!(deals_of(&mut manager, "region-a").await, 5);
}

async fn split_credit_column(backend: Backend) {
    let s = spawn_suite(backend).await;
    let mut manager = s.tracking("mgr-a", Role::Manager, "region-a");
    let csv = "date,rep,amount,业绩分配\n\
               2024-01-04,rep-1,1000,rep-1 70%; rep-2 30%\n\
               2024-01-05,rep-1,1000,rep-1 70%; rep-2 20%\n";
    let partial = pb::ImportHeader { partial: true, ..header(pb::FileFormat::Csv, "split") };
    let progress = import_with(&mut manager, partial, csv.as_bytes().to_vec()).await.unwrap();
    let last = progress.last().unwrap();
    assert_eq!((last.rows_read, last.rows_accepted), (2, 1));
    assert_eq!(errors(&progress), [(3, "业绩分配".to_owned())]);
    let rep2 = manager
        .get_attainment(pb::GetAttainmentRequest {
            unit: "units/rep-2".into(),
            period: "2024-01".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rep2.actual.unwrap().amount, "300.00");
}

async fn bad_files_get_clear_errors(backend: Backend) {
    let s = spawn_suite(backend).await;
    let mut admin = s.admin();
    let missing =
        import(&mut admin, pb::FileFormat::Csv, "m", "日期,客户,金额\n2024-01-02,x,1\n".into()).await.unwrap_err();
    assert_eq!(missing.code(), Code::InvalidArgument);
    assert!(missing.message().contains("row 1") && missing.message().contains("rep"), "{missing:?}");
    let no_header = import(&mut admin, pb::FileFormat::Csv, "n", "日期,客户\n2024-01-02,x\n".into()).await.unwrap_err();
    assert!(no_header.message().contains("no header row"), "{no_header:?}");
    let empty = import(&mut admin, pb::FileFormat::Csv, "e", Vec::new()).await.unwrap_err();
    assert_eq!(empty.code(), Code::InvalidArgument);
    assert!(empty.message().contains("empty"));
    let not_xlsx = import(&mut admin, pb::FileFormat::Xlsx, "x", b"this is no zip".to_vec()).await.unwrap_err();
    assert_eq!(not_xlsx.code(), Code::InvalidArgument);
    let no_format = import_with(&mut admin, header(pb::FileFormat::Unspecified, "f"), b"a".to_vec()).await.unwrap_err();
    assert_eq!(no_format.code(), Code::InvalidArgument);
    let no_header = admin
        .import_deals(tokio_stream::iter(vec![pb::ImportDealsRequest { part: Some(Part::Chunk(b"a".to_vec())) }]))
        .await
        .unwrap_err();
    assert_eq!(no_header.code(), Code::InvalidArgument);
}

async fn xlsx_with_english_titles(backend: Backend) {
    let s = spawn_suite(backend).await;
    let mut admin = s.admin();
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let date_format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    for (c, title) in ["Date", "Sales Rep", "Customer", "Amount Won", "Currency"].iter().enumerate() {
        sheet.write_string(0, u16::try_from(c).unwrap(), *title).unwrap();
    }
    for (i, (day, rep, amount)) in
        [(2u8, "rep-1", 1500.25), (3, "rep-9", 2000.0), (4, "rep-2", 700.0)].iter().enumerate()
    {
        let r = u32::try_from(i + 1).unwrap();
        let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2024, 1, *day).unwrap();
        sheet.write_datetime_with_format(r, 0, &date, &date_format).unwrap();
        sheet.write_string(r, 1, *rep).unwrap();
        sheet.write_string(r, 2, "ACME Ltd").unwrap();
        sheet.write_number(r, 3, *amount).unwrap();
        sheet.write_string(r, 4, "CNY").unwrap();
    }
    let bytes = book.save_to_buffer().unwrap();
    let progress = import(&mut admin, pb::FileFormat::Xlsx, "xlsx-1", bytes).await.unwrap();
    let last = progress.last().unwrap();
    assert_eq!((last.rows_read, last.rows_accepted), (3, 3), "{progress:?}");
    let a = admin
        .get_attainment(pb::GetAttainmentRequest {
            unit: "units/acme".into(),
            period: "2024-01".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a.actual.unwrap().amount, "4200.25");
}

async fn large_files_report_progress(backend: Backend) {
    let s = spawn_suite(backend).await;
    let mut rep = s.tracking("rep-1", Role::Rep, "rep-1");
    let mut text = String::from("rep,date,amount\n");
    for i in 0..1500 {
        text.push_str(&format!("rep-1,2024-01-{:02},{}.00\n", 1 + i % 16, 1 + i % 7));
    }
    let progress = import(&mut rep, pb::FileFormat::Csv, "big", text.into_bytes()).await.unwrap();
    assert!(progress.len() >= 4, "progress every 500 rows, then the end: {}", progress.len());
    let accepted: Vec<i64> = progress.iter().map(|p| p.rows_accepted).collect();
    assert!(accepted.windows(2).all(|w| w[0] <= w[1]), "{accepted:?}");
    assert_eq!(progress.last().unwrap().rows_accepted, 1500);
    assert_eq!(deals_of(&mut rep, "rep-1").await, 1000, "one page of deals (the rest on the next page)");
}

/// Gives reps the names people use in sheets: region A's 张伟, 王芳 and
/// 刘洋, and a second 王芳 in region B.
async fn name_the_reps(s: &Suite) {
    let mut org = OrgServiceClient::with_interceptor(s.target_channel(), bearer("ops", Role::Admin, ""));
    for (id, name, code) in
        [("rep-1", "张伟", "E001"), ("rep-2", "王芳", "E002"), ("rep-3", "刘洋", ""), ("rep-9", "王芳", "E009")]
    {
        org.update_unit(tpb::UpdateUnitRequest {
            unit: Some(tpb::Unit {
                name: format!("units/{id}"),
                display_name: name.into(),
                employee_code: code.into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["display_name".into(), "employee_code".into()] }),
            ..Default::default()
        })
        .await
        .unwrap();
    }
}

async fn actual(t: &mut Tracking, unit: &str) -> String {
    let a = t
        .get_attainment(pb::GetAttainmentRequest {
            unit: format!("units/{unit}"),
            period: "2024-01".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    a.actual.unwrap().amount
}

async fn lost_of(t: &mut Tracking, unit: &str) -> Vec<pb::Opportunity> {
    let r = pb::ListOpportunitiesRequest { unit: format!("units/{unit}"), page_size: 100, ..Default::default() };
    let all = t.list_opportunities(r).await.unwrap().into_inner().opportunities;
    all.into_iter().filter(|o| o.outcome == pb::OpportunityOutcome::Lost as i32).collect()
}

/// The two sample sheets, as a region's team fills them, import as they are.
async fn the_sample_sheets_import_as_teams_fill_them(backend: Backend) {
    let s = crate::helpers::spawn_suite_with(backend, |c| c.clock.today = chrono::NaiveDate::from_ymd_opt(2024, 1, 22))
        .await;
    name_the_reps(&s).await;
    let mut manager = s.tracking("mgr-a", Role::Manager, "region-a");

    // The weekly progress record: a preview first, nothing written.
    let preview = pb::ImportHeader { validate_only: true, ..header(pb::FileFormat::Xlsx, "week-3") };
    let progress = import_with(&mut manager, preview, SAMPLE_XLSX.to_vec()).await.unwrap();
    let last = progress.last().unwrap();
    assert!(errors(&progress).is_empty(), "{:?}", progress.iter().flat_map(|p| &p.errors).collect::<Vec<_>>());
    assert!(!last.stored);
    assert_eq!((last.sheet.as_str(), last.header_row), ("第3周", 4), "the data sheet under its title rows");
    assert_eq!((last.rows_read, last.rows_accepted, last.lost_accepted, last.rows_skipped), (16, 13, 2, 1));
    let amount = last.columns.iter().find(|c| c.title == "成交金额（万元）").unwrap();
    assert_eq!((amount.field.as_str(), amount.scale.as_str()), ("amount", "10000"));
    let rep_column = last.columns.iter().find(|c| c.title == "业务员").unwrap();
    assert_eq!(rep_column.field, "rep");
    let unused: Vec<&str> = last.columns.iter().filter(|c| c.field.is_empty()).map(|c| c.title.as_str()).collect();
    assert_eq!(unused, ["序号"], "columns not used are listed");
    let zhang = last.reps.iter().find(|r| r.rep == "units/rep-1").unwrap();
    assert_eq!((zhang.display_name.as_str(), zhang.deals, zhang.lost), ("张伟", 5, 0));
    let wang = last.reps.iter().find(|r| r.rep == "units/rep-2").unwrap();
    assert_eq!((wang.deals, wang.lost), (3, 2), "王芳 in region A is rep-2, not region B's 王芳");
    assert_eq!(last.preview[0].amount.as_ref().unwrap().amount, "8800.00", "0.88 万元 is 8,800");
    assert_eq!(last.preview[0].close_date, "2024-01-15");
    assert_eq!(last.skipped.iter().map(|k| k.row).collect::<Vec<_>>(), [20], "the total line: {:?}", last.skipped);
    assert_eq!(deals_of(&mut manager, "region-a").await, 0);

    // Then for real.
    let progress = import(&mut manager, pb::FileFormat::Xlsx, "week-3", SAMPLE_XLSX.to_vec()).await.unwrap();
    let last = progress.last().unwrap();
    assert!(last.stored);
    assert_eq!((last.rows_accepted, last.lost_accepted), (13, 2));
    assert_eq!(actual(&mut manager, "region-a").await, "187100.00");
    let lost = lost_of(&mut manager, "rep-2").await;
    let mut reasons: Vec<(i32, &str)> = lost.iter().map(|o| (o.loss_reason, o.loss_detail.as_str())).collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [(pb::LossReason::Price as i32, "价格偏高"), (pb::LossReason::NoDecision as i32, "大客户决策延迟")]
    );
    // Sent again, under another import name: nothing twice, lost deals
    // included, and the preview says so.
    let again = pb::ImportHeader { validate_only: true, ..header(pb::FileFormat::Xlsx, "week-3-again") };
    let progress = import_with(&mut manager, again, SAMPLE_XLSX.to_vec()).await.unwrap();
    assert_eq!((progress.last().unwrap().rows_duplicate, progress.last().unwrap().rows_accepted), (15, 0));
    import(&mut manager, pb::FileFormat::Xlsx, "", SAMPLE_XLSX.to_vec()).await.unwrap();
    assert_eq!(actual(&mut manager, "region-a").await, "187100.00");
    assert_eq!(lost_of(&mut manager, "rep-2").await.len(), 2);

    // The CRM export (UTF-8 with BOM, "Owner / 负责人", "¥59,000.00").
    let progress = import(&mut manager, pb::FileFormat::Csv, "crm-1", SAMPLE_CSV.to_vec()).await.unwrap();
    let last = progress.last().unwrap();
    assert!(errors(&progress).is_empty(), "{:?}", progress.iter().flat_map(|p| &p.errors).collect::<Vec<_>>());
    assert_eq!((last.rows_accepted, last.lost_accepted, last.encoding.as_str()), (11, 4, "UTF-8 (BOM)"));
    assert_eq!(actual(&mut manager, "region-a").await, "603100.00");

    // From the company, 王芳 is two people: each of her rows is named and
    // nothing is stored.
    let mut admin = s.admin();
    let progress = import(&mut admin, pb::FileFormat::Csv, "crm-admin", SAMPLE_CSV.to_vec()).await.unwrap();
    let last = progress.last().unwrap();
    assert!(!last.stored);
    let errs: Vec<&pb::RowError> = progress.iter().flat_map(|p| &p.errors).collect();
    assert_eq!(errs.len(), 5, "{errs:?}");
    assert!(errs.iter().all(|e| e.field == "Owner / 负责人" && e.description.contains("units/rep-9")), "{errs:?}");
    assert_eq!(actual(&mut manager, "region-a").await, "603100.00");
    // By employee code, 王芳 of region B is no one else.
    let csv = "成交日期,工号 / 销售人员,成交金额\n2024-01-10,E009,100\n2024-01-10,e002,50\n";
    let progress = import(&mut admin, pb::FileFormat::Csv, "codes", csv.into()).await.unwrap();
    let last = progress.last().unwrap();
    assert_eq!((last.rows_accepted, last.stored), (2, true), "{:?}", errors(&progress));
    assert_eq!(actual(&mut admin, "rep-9").await, "100.00");
}

/// Encodings are read without loss, or refused naming the row and column.
async fn encodings_without_loss(backend: Backend) {
    let s = spawn_suite(backend).await;
    let mut manager = s.tracking("mgr-a", Role::Manager, "region-a");
    let mut text = String::from("date,rep,customer,amount\n");
    // (The parser's own tests go past a megabyte; here the whole service.)
    while text.len() < 300_000 {
        text.push_str("2024-01-03,rep-1,ACME Trading Ltd,1.00\n");
    }
    let rows = text.lines().count() - 1;
    text.push_str("2024-01-04,rep-2,中国石化,100.00\n");
    // GBK whose first Chinese is past 300 KB of ASCII.
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    let progress = import(&mut manager, pb::FileFormat::Csv, "late-gbk", gbk.to_vec()).await.unwrap();
    let last = progress.last().unwrap();
    assert_eq!((last.rows_accepted, last.encoding.as_str()), (i64::try_from(rows + 1).unwrap(), "GBK/GB18030"));
    let deals = manager
        .list_deals(pb::ListDealsRequest { unit: "units/rep-2".into(), page_size: 10, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .deals;
    let customers: Vec<&str> = deals.iter().map(|d| d.customer.as_str()).collect();
    assert_eq!(customers, ["中国石化"]);

    // UTF-8 Chinese, then a GBK row: refused by row and column, nothing stored.
    let mut mixed = "日期,销售代表,客户,金额\n2024-01-05,rep-2,华为,10\n".as_bytes().to_vec();
    mixed.extend_from_slice(&encoding_rs::GBK.encode("2024-01-05,rep-2,联想,20\n").0);
    let progress = import(&mut manager, pb::FileFormat::Csv, "mixed", mixed).await.unwrap();
    assert_eq!(errors(&progress), [(3, "客户".to_owned())]);
    assert!(progress[0].errors[0].description.contains("mixes encodings"), "{:?}", progress[0].errors);
    assert!(!progress.last().unwrap().stored);
    assert_eq!(deals_of(&mut manager, "rep-2").await, 1, "only the earlier import's");

    // A named encoding is used as named; an unknown one is refused.
    let (gbk, _, _) = encoding_rs::GBK.encode("日期,销售代表,金额\n2024-01-05,rep-2,10\n");
    let forced = pb::ImportHeader { encoding: "gbk".into(), ..header(pb::FileFormat::Csv, "forced") };
    let progress = import_with(&mut manager, forced, gbk.to_vec()).await.unwrap();
    assert_eq!(progress.last().unwrap().rows_accepted, 1);
    let latin = pb::ImportHeader { encoding: "latin-1".into(), ..header(pb::FileFormat::Csv, "latin") };
    let refused = import_with(&mut manager, latin, b"x".to_vec()).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().contains("header.encoding"), "{refused:?}");
}

fn book(sheets: &[(&str, &[&[&str]])]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    for (name, rows) in sheets {
        let sheet = book.add_worksheet();
        sheet.set_name(*name).unwrap();
        for (r, cells) in rows.iter().enumerate() {
            for (c, v) in cells.iter().enumerate() {
                sheet.write_string(u32::try_from(r).unwrap(), u16::try_from(c).unwrap(), *v).unwrap();
            }
        }
    }
    book.save_to_buffer().unwrap()
}

/// Bad sheets get a clear error by row and column, and nothing is stored.
async fn bad_sheets_are_named_by_row_and_column(backend: Backend) {
    let s = spawn_suite(backend).await;
    name_the_reps(&s).await;
    let mut manager = s.tracking("mgr-a", Role::Manager, "region-a");
    let csv = "成交日期,业务员,成交金额,丢单原因\n\
               2024/13/01,张伟,100,\n\
               2024-01-03,张伟,1.2.3万,\n\
               2024-01-03,王芳,300,价格偏高\n\
               2024-01-03,rep-9,400,\n\
               2024-01-03,刘能,500,\n\
               成交日期,业务员,成交金额,丢单原因\n\
               2024-01-04,刘洋,600,\n";
    let progress = import(&mut manager, pb::FileFormat::Csv, "bad-1", csv.as_bytes().to_vec()).await.unwrap();
    let errs: Vec<(i64, String, String)> = progress
        .iter()
        .flat_map(|p| p.errors.iter().map(|e| (e.row, e.field.clone(), e.description.clone())))
        .collect();
    let at = |row: i64| errs.iter().find(|e| e.0 == row).unwrap_or_else(|| panic!("row {row}: {errs:?}"));
    assert!(at(2).1 == "成交日期" && at(2).2.contains("2024/13/01 is not a date"), "{errs:?}");
    assert!(at(3).1 == "成交金额" && at(3).2.contains("1.2.3万 is not an amount"), "{errs:?}");
    assert!(at(4).2.contains("a lost one no amount"), "{errs:?}");
    assert!(at(5).1 == "业务员" && at(5).2.contains("units/rep-9"), "out of scope, by row: {errs:?}");
    assert!(!at(5).2.starts_with("row "), "the row is named once, by the report: {errs:?}");
    assert!(at(6).2.contains("no rep named 刘能"), "{errs:?}");
    assert!(at(7).2.contains("repeats the header of row 1"), "{errs:?}");
    assert_eq!(errs.len(), 6, "row 8 is good: {errs:?}");
    let last = progress.last().unwrap();
    assert_eq!((last.rows_refused, last.stored), (6, false));
    assert_eq!(deals_of(&mut manager, "rep-3").await, 0, "nothing stored unless the whole file is good");

    // Duplicate columns, a sheet that is not there, an empty one.
    let dup = import(&mut manager, pb::FileFormat::Csv, "dup", "日期,销售,金额,成交金额\n".into()).await.unwrap_err();
    assert!(dup.message().contains("both read as amount"), "{dup:?}");
    let two = book(&[("Data", &[&["日期", "销售", "金额"], &["2024-01-03", "张伟", "5"]]), ("Empty", &[])]);
    let missing = pb::ImportHeader { sheet: "Week 9".into(), ..header(pb::FileFormat::Xlsx, "sheet-1") };
    let err = import_with(&mut manager, missing, two.clone()).await.unwrap_err();
    assert!(err.message().contains("no sheet named Week 9") && err.message().contains("Data, Empty"), "{err:?}");
    let empty = pb::ImportHeader { sheet: "Empty".into(), ..header(pb::FileFormat::Xlsx, "sheet-2") };
    let err = import_with(&mut manager, empty, two.clone()).await.unwrap_err();
    assert!(err.message().contains("sheet Empty is empty"), "{err:?}");
    let named = pb::ImportHeader { sheet: "Data".into(), ..header(pb::FileFormat::Xlsx, "sheet-3") };
    let progress = import_with(&mut manager, named, two).await.unwrap();
    assert_eq!(progress.last().unwrap().rows_accepted, 1);
}

/// A weekly sheet grows: imported again with rows added at the top and
/// two equal sales, each deal is stored once and the equal ones twice.
async fn a_sheet_imported_again_stores_each_deal_once(backend: Backend) {
    let s = spawn_suite(backend).await;
    let mut manager = s.tracking("mgr-a", Role::Manager, "region-a");
    let monday = "日期,销售,客户,金额\n2024-01-08,rep-1,华为,100\n2024-01-08,rep-2,联想,200\n";
    let progress = import(&mut manager, pb::FileFormat::Csv, "", monday.into()).await.unwrap();
    assert_eq!(progress.last().unwrap().rows_accepted, 2);
    let tuesday = "日期,销售,客户,金额\n\
                   2024-01-09,rep-1,小米,50\n\
                   2024-01-09,rep-1,小米,50\n\
                   2024-01-08,rep-1,华为,100\n\
                   2024-01-08,rep-2,联想,200\n\
                   2024-01-09,rep-3,京东,\n";
    let preview = pb::ImportHeader { validate_only: true, ..header(pb::FileFormat::Csv, "") };
    let last = import_with(&mut manager, preview, tuesday.into()).await.unwrap().pop().unwrap();
    assert_eq!((last.rows_read, last.rows_accepted, last.rows_duplicate, last.rows_skipped), (5, 2, 2, 1));
    assert!(last.skipped[0].reason.contains("follow-up"), "{:?}", last.skipped);
    let last = import(&mut manager, pb::FileFormat::Csv, "", tuesday.into()).await.unwrap().pop().unwrap();
    assert_eq!((last.rows_accepted, last.rows_duplicate, last.stored), (2, 2, true));
    assert_eq!(actual(&mut manager, "region-a").await, "400.00", "100 + 200 once, and both sales of 50");
    // The same sheet imported by someone else (the rep, after the manager):
    // still once — a row's id belongs to its rep, not to who imports it.
    let mut rep = s.tracking("rep-1", Role::Rep, "rep-1");
    let own = "日期,销售,客户,金额\n2024-01-08,rep-1,华为,100\n2024-01-09,rep-1,小米,50\n";
    let last = import(&mut rep, pb::FileFormat::Csv, "", own.into()).await.unwrap().pop().unwrap();
    assert_eq!((last.rows_accepted, last.rows_duplicate), (0, 2), "{last:?}");
    assert_eq!(actual(&mut manager, "region-a").await, "400.00");
    // A request id column naming one id twice is refused by row.
    let ids = "日期,销售,金额,request id\n2024-01-10,rep-1,1,a-1\n2024-01-10,rep-1,2,a-1\n";
    let progress = import(&mut manager, pb::FileFormat::Csv, "", ids.into()).await.unwrap();
    let errs: Vec<&pb::RowError> = progress.iter().flat_map(|p| &p.errors).collect();
    assert_eq!((errs.len(), errs[0].row, errs[0].field.as_str()), (1, 3, "request id"), "{errs:?}");
    assert!(errs[0].description.contains("row 2"), "{errs:?}");
}

/// Text that would be stored otherwise than it reads, lost deals in the
/// future, a workbook that declares a cell at XFD1048576: each refused,
/// the service still up.
async fn hostile_cells_and_workbooks_are_refused(backend: Backend) {
    let s = crate::helpers::spawn_suite_with(backend, |c| c.clock.today = chrono::NaiveDate::from_ymd_opt(2024, 1, 16))
        .await;
    let mut manager = s.tracking("mgr-a", Role::Manager, "region-a");
    let csv = "日期,销售,客户,金额,丢单原因\n\
               2024-01-10,rep-1,杭州\u{FFFD}哈哈,100,\n\
               2024-01-10,rep-1,\u{202E}exe.fdp,100,\n\
               2024-01-20,rep-2,美的,,价格偏高\n\
               2024-01-10,rep-3,\"美的,100\n\
               2024-01-10,rep-3,京东,300,\n";
    let progress = import(&mut manager, pb::FileFormat::Csv, "", csv.into()).await.unwrap();
    let errs: Vec<(i64, String, String)> = progress
        .iter()
        .flat_map(|p| p.errors.iter().map(|e| (e.row, e.field.clone(), e.description.clone())))
        .collect();
    assert!(errs.iter().any(|e| e.0 == 2 && e.1 == "客户" && e.2.contains("replacement character")), "{errs:?}");
    assert!(errs.iter().any(|e| e.0 == 3 && e.2.contains("invisible formatting")), "{errs:?}");
    assert!(errs.iter().any(|e| e.0 == 4 && e.1 == "日期" && e.2.contains("in the future")), "{errs:?}");
    assert!(errs.iter().any(|e| e.0 == 5 && e.2.contains("quote")), "an open quote swallowing rows: {errs:?}");
    assert_eq!(deals_of(&mut manager, "region-a").await, 0);

    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "日期").unwrap();
    sheet.write_number(1_048_575, 16_383, 1.0).unwrap();
    let far = import(&mut manager, pb::FileFormat::Xlsx, "", book.save_to_buffer().unwrap()).await.unwrap_err();
    assert_eq!(far.code(), Code::InvalidArgument);
    assert!(far.message().contains("XFD1048576"), "{far:?}");
    // An amount that is a formula nobody saved a value for is named, not
    // skipped; an open stage with an amount is not a sale.
    // (Written by openpyxl, which saves formulas without their values.)
    let formula = include_bytes!("../data/formula-without-values.xlsx").to_vec();
    let progress = import(&mut manager, pb::FileFormat::Xlsx, "", formula).await.unwrap();
    let errs: Vec<(i64, String, String)> = progress
        .iter()
        .flat_map(|p| p.errors.iter().map(|e| (e.row, e.field.clone(), e.description.clone())))
        .collect();
    assert!(errs.iter().any(|e| e.0 == 2 && e.1 == "金额" && e.2.contains("formula")), "{errs:?}");
    assert!(errs.iter().any(|e| e.0 == 3 && e.1 == "阶段" && e.2.contains("not a won stage")), "{errs:?}");
    // A second header after the file started is refused, not ignored.
    let msgs = vec![
        pb::ImportDealsRequest { part: Some(Part::Header(header(pb::FileFormat::Csv, ""))) },
        pb::ImportDealsRequest { part: Some(Part::Chunk(b"a,b\n".to_vec())) },
        pb::ImportDealsRequest { part: Some(Part::Header(header(pb::FileFormat::Xlsx, ""))) },
    ];
    let mut stream = manager.import_deals(tokio_stream::iter(msgs)).await.unwrap().into_inner();
    let mut outcome = Ok(());
    while let Some(m) = stream.message().await.transpose() {
        if let Err(e) = m {
            outcome = Err(e);
        }
    }
    let e = outcome.unwrap_err();
    assert!(e.code() == Code::InvalidArgument && e.message().contains("header"), "{e:?}");
    // Still serving.
    assert_eq!(deals_of(&mut manager, "region-a").await, 0);
}

both_backends!(
    split_credit_column,
    gbk_csv_with_chinese_titles,
    bad_files_get_clear_errors,
    xlsx_with_english_titles,
    large_files_report_progress,
    the_sample_sheets_import_as_teams_fill_them,
    encodings_without_loss,
    bad_sheets_are_named_by_row_and_column,
    a_sheet_imported_again_stores_each_deal_once,
    hostile_cells_and_workbooks_are_refused
);
