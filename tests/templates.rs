//! `jixiao templates`: the blank forms written from the definitions have the same labels in the
//! same cells and the same merged ranges as the standard templates, carry the drop-down lists and
//! print setup, and a filled-in copy passes `check`.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

use jixiao::check::Status;
use jixiao::forms::definitions::FormKind;
use jixiao::rules::review::Conclusion;
use jixiao::workbook::{Value, Workbook};
use jixiao::{Checker, Definitions, Limits};

fn cells_and_merges(bytes: &[u8]) -> (BTreeSet<(u32, u32, String)>, BTreeSet<String>) {
    let mut wb = Workbook::open(bytes, Limits::default()).unwrap();
    let name = wb.sheet_names()[0].clone();
    let mut sheet = wb.load_sheet(&name).unwrap();
    wb.load_merges(&mut sheet).unwrap();
    let cells = sheet
        .cells
        .iter()
        .map(|c| {
            let v = match &c.value {
                Value::Text(t) => t.clone(),
                Value::Number { v, .. } => v.to_string(),
                other => format!("{other:?}"),
            };
            (c.pos.0, c.pos.1, v)
        })
        .collect();
    let merges = sheet
        .merges
        .iter()
        .map(|(a, b)| format!("{}:{}", jixiao::cellref::a1(*a), jixiao::cellref::a1(*b)))
        .collect();
    (cells, merges)
}

fn zip_entry(bytes: &[u8], name: &str) -> String {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut s = String::new();
    z.by_name(name).unwrap().read_to_string(&mut s).unwrap();
    s
}

#[test]
fn generated_templates_match_the_standard_ones() {
    let defs = Definitions::embedded();
    let dir = tempfile::tempdir().unwrap();
    for kind in FormKind::ALL {
        let path = jixiao::forms::blank::write_blank(&defs, kind, dir.path()).unwrap();
        let ours = std::fs::read(&path).unwrap();
        let standard = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/templates")
                .join(path.file_name().unwrap()),
        )
        .unwrap();
        let (our_cells, our_merges) = cells_and_merges(&ours);
        let (std_cells, std_merges) = cells_and_merges(&standard);
        assert_eq!(our_cells, std_cells, "{kind:?}: labels differ");
        assert_eq!(our_merges, std_merges, "{kind:?}: merged ranges differ");

        let sheet = zip_entry(&ours, "xl/worksheets/sheet1.xml");
        // A4 landscape, fitted to one page wide.
        assert!(sheet.contains(r#"paperSize="9""#), "{kind:?}: not A4");
        assert!(
            sheet.contains(r#"orientation="landscape""#),
            "{kind:?}: not landscape"
        );
        assert!(
            sheet.contains(r#"fitToHeight="0""#),
            "{kind:?}: not fitted to width"
        );
        assert!(sheet.contains("<cols>"), "{kind:?}: no column widths");
        // Drop-down lists for 一级 and 二级 on every form.
        assert!(
            sheet.contains(r#""产出指标,效益指标,满意度指标,成本指标""#),
            "{kind:?}: no 一级 list"
        );
        assert!(
            sheet.contains("数量指标,质量指标"),
            "{kind:?}: no 二级 list"
        );
        let styles = zip_entry(&ours, "xl/styles.xml");
        assert!(styles.contains("#,##0.00"), "{kind:?}: no amount format");
        match kind {
            FormKind::TargetDeclaration => {
                assert!(sheet.contains(r#""新增项目,延续项目""#), "no 项目属性 list")
            }
            FormKind::PerformanceReport => {
                assert!(
                    sheet.contains(r#""确定能,有可能,完全不可能""#),
                    "no 完成目标可能性 list"
                );
                assert!(styles.contains("0.00%"), "no percent format");
            }
            FormKind::SelfEvaluation => assert!(styles.contains("0.00%")),
        }
    }
}

/// Fills the generated template the way a department would and checks it.
#[test]
fn filled_in_template_passes_check() {
    let defs = Definitions::embedded();
    let mut wb = jixiao::forms::blank::build(&defs, FormKind::SelfEvaluation).unwrap();
    let ws = wb.worksheet_from_index(0).unwrap();
    let text: &[(u32, u16, &str)] = &[
        (1, 0, "（2026年度）"),
        (3, 1, "基层农技推广体系改革与建设补助项目"),
        (4, 1, "22000026000101"),
        (4, 5, "吉林省农业技术推广总站"),
        (5, 1, "吉林省农业农村厅"),
        (12, 1, "培训基层农技人员不少于3000人次"),
        (12, 5, "培训基层农技人员3150人次"),
        (24, 6, "优"),
    ];
    for (r, c, s) in text {
        ws.write_string(*r, *c, *s).unwrap();
    }
    for (r, c, v) in [
        (7, 3, 1200.0),
        (7, 4, 1180.0),
        (7, 5, 1132.6),
        (7, 7, 0.9598),
        (7, 8, 9.6),
    ] {
        ws.write_number(r, c, v).unwrap();
    }
    // One indicator per template row: 9 rows × 10 points = 90, plus 10 for 预算执行率.
    let rows = [
        ("培训人数", "≥3000人次", "3150人次", 10.0),
        ("示范基地数量", "≥50个", "48个", 9.6),
        ("技术到位率", "≥95%", "96.2%", 10.0),
        ("拨付及时率", "100%", "100%", 10.0),
        ("人均培训成本", "≤800元", "760元", 10.0),
        ("亩均增产", "≥5%", "6.3%", 10.0),
        ("覆盖农户数", "≥20000户", "18500户", 9.25),
        ("服务能力", "持续提升", "基本实现", 8.0),
        ("满意度", "≥90%", "93.5%", 10.0),
    ];
    for (i, (name, target, actual, score)) in rows.iter().enumerate() {
        let r = 14 + i as u32;
        ws.write_string(r, 3, *name).unwrap();
        ws.write_string(r, 4, *target).unwrap();
        ws.write_string(r, 5, *actual).unwrap();
        ws.write_number(r, 6, 10.0).unwrap();
        ws.write_number(r, 7, *score).unwrap();
        if *score < 10.0 {
            ws.write_string(r, 8, "原因已分析，明年改进").unwrap();
        }
    }
    ws.write_number(23, 7, 96.45).unwrap();
    let bytes = wb.save_to_buffer().unwrap();
    let checker = Checker::new(defs, Limits::default());
    let r = checker.check_bytes("filled.xlsx", &bytes).result;
    assert_eq!(r.errors, vec![], "{r:#?}");
    assert_eq!(r.status, Status::Accepted);
    let s = r.score.unwrap();
    assert_eq!(
        (s.computed, s.execution_rate, s.grade.as_str()),
        (96.45, 95.98, "优")
    );
}

/// Regression: the unused first row of a merged 一级 group (only its printed names left) was
/// skipped without carrying its 一级, so the group's next rows took the 一级 of the group above;
/// and `填表人：` with a colon did not end the indicator table.
#[test]
fn unused_first_row_of_a_group_and_a_filer_label_with_colon() {
    let defs = Definitions::embedded();
    let mut wb = jixiao::forms::blank::build(&defs, FormKind::TargetDeclaration).unwrap();
    let ws = wb.worksheet_from_index(0).unwrap();
    for (r, c, t) in [
        (1u32, 0u16, "（2026年度）"),
        (3, 1, "示例项目"),
        (5, 1, "吉林省农业农村厅"),
        (5, 5, "吉林省农业技术推广总站"),
        (10, 1, "年度目标"),
        (12, 3, "培训人数"),
        (12, 6, "≥100人"),
        (15, 3, "人均成本"),
        (15, 6, "≤800元"),
        // row 17 (经济效益指标, the top of the merged 效益指标 group) is left unused
        (17, 3, "带动就业"),
        (17, 6, "≥50人"),
        (20, 3, "满意度"),
        (20, 6, "≥90%"),
        (21, 0, "填表人："),
        (21, 1, "李明"),
    ] {
        ws.write_string(r, c, t).unwrap();
    }
    ws.write_number(7, 4, 100.0).unwrap();
    ws.write_number(8, 4, 100.0).unwrap();
    let bytes = wb.save_to_buffer().unwrap();
    let r = Checker::new(defs, Limits::default())
        .check_bytes("form.xlsx", &bytes)
        .result;
    assert_eq!(r.errors, vec![], "{r:#?}");
    assert_eq!(r.review.unwrap().conclusion, Conclusion::Pass);
}
