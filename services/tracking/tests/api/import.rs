//! File import of the weekly progress sheet: CSV (UTF-8 or GBK) and XLSX,
//! Chinese or English titles, per-row errors by row and column.

use attain_kit::{auth::Role, both_backends, testing::Backend};
use attain_proto::attain::tracking::v1::{self as pb, import_deals_request::Part};
use tonic::Code;

use crate::helpers::{Tracking, spawn_suite};

fn header(format: pb::FileFormat, request_id: &str) -> pb::ImportDealsRequest {
    pb::ImportDealsRequest {
        part: Some(Part::Header(pb::ImportHeader {
            format: format as i32,
            file_name: "week.csv".into(),
            request_id: request_id.into(),
            validate_only: false,
        })),
    }
}

/// Sends a file in 4 KB chunks; returns every progress message.
async fn import(
    t: &mut Tracking,
    format: pb::FileFormat,
    request_id: &str,
    bytes: Vec<u8>,
) -> Result<Vec<pb::ImportDealsResponse>, tonic::Status> {
    let mut msgs = vec![header(format, request_id)];
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
    let progress = import(&mut manager, pb::FileFormat::Csv, "week-2", gbk.into_owned()).await.unwrap();
    let last = progress.last().unwrap();
    assert!(last.done);
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
    import(&mut manager, pb::FileFormat::Csv, "week-2", gbk.into_owned()).await.unwrap();
    assert_eq!(deals_of(&mut manager, "region-a").await, 5);
}

async fn split_credit_column(backend: Backend) {
    let s = spawn_suite(backend).await;
    let mut manager = s.tracking("mgr-a", Role::Manager, "region-a");
    let csv = "date,rep,amount,业绩分配\n\
               2024-01-04,rep-1,1000,rep-1 70%; rep-2 30%\n\
               2024-01-05,rep-1,1000,rep-1 70%; rep-2 20%\n";
    let progress = import(&mut manager, pb::FileFormat::Csv, "split", csv.as_bytes().to_vec()).await.unwrap();
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
    let missing = import(&mut admin, pb::FileFormat::Csv, "m", "日期,客户\n2024-01-02,x\n".into()).await.unwrap_err();
    assert_eq!(missing.code(), Code::InvalidArgument);
    assert!(missing.message().contains("rep, amount"), "{missing:?}");
    let empty = import(&mut admin, pb::FileFormat::Csv, "e", Vec::new()).await.unwrap_err();
    assert_eq!(empty.code(), Code::InvalidArgument);
    assert!(empty.message().contains("empty"));
    let not_xlsx = import(&mut admin, pb::FileFormat::Xlsx, "x", b"this is no zip".to_vec()).await.unwrap_err();
    assert_eq!(not_xlsx.code(), Code::InvalidArgument);
    let no_format =
        admin.import_deals(tokio_stream::iter(vec![header(pb::FileFormat::Unspecified, "f")])).await.unwrap_err();
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

both_backends!(
    split_credit_column,
    gbk_csv_with_chinese_titles,
    bad_files_get_clear_errors,
    xlsx_with_english_titles,
    large_files_report_progress
);
