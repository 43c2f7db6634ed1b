use jixiao::letters::docx::{LetterDoc, write};
use jixiao::letters::markup::parse;
#[test]
fn proto() {
    let doc = parse("# 一、审核结论\n经审核，结论为**修改后通过**。\n\n| 单元格 | 字段 | 问题 |\n|---|---|---|\n| E8 | 年度资金总额 | 年度资金总额1300万元不等于财政拨款1000万元与其他资金200万元之和1200万元，请核对后修改 |\n\n1. 甲\n2. 乙\n", &[]).unwrap();
    let mut body = doc.body.clone();
    for _ in 0..12 { body.extend(doc.body.clone()); }
    let l = LetterDoc { office: "吉林省财政厅".into(), number: "吉财绩函〔2026〕12号".into(), title: "关于基层农技推广体系改革与建设补助项目绩效目标的审核意见".into(), addressee: "吉林省农业农村厅".into(), body, attachments: vec!["错误标注.xlsx".into()], signature: "吉林省财政厅".into(), date: "2026年11月25日".into(), cc: vec!["省审计厅".into()], created_at: "2026-11-25T00:00:00Z".into() };
    std::fs::write("/tmp/proto.docx", write(&l).unwrap()).unwrap();
}
