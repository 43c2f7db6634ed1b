//! The `jixiao check` contract from outside: one JSON object per file and line, exit codes 0 / 1
//! / 2, and human output with one line per problem.

use std::process::Command;

fn jixiao(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_jixiao"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

const SELF_EVAL: &str = "tests/fixtures/examples/农业农村厅-绩效自评表.xlsx";
const REJECTED: &str = "tests/fixtures/examples/退回示例-资金合计不符.xlsx";

#[test]
fn json_is_one_object_per_file_and_line() {
    let (code, out, _) = jixiao(&["check", "--json", SELF_EVAL, REJECTED]);
    assert_eq!(code, 1, "a rejected file makes the exit code 1");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let a = &lines[0];
    assert_eq!(a["file"], SELF_EVAL);
    assert_eq!(a["form"], "self_evaluation");
    assert_eq!(a["status"], "accepted");
    assert_eq!(a["project"]["code"], "22000026000101");
    assert_eq!(a["project"]["year"], 2026);
    assert_eq!(a["score"]["computed"], 96.45);
    assert_eq!(a["score"]["execution_rate"], 95.98);
    assert_eq!(a["score"]["execution_score"], 9.6);
    assert_eq!(a["score"]["grade"], "优");
    assert_eq!(a["score"]["claimed"], 96.45);
    assert_eq!(a["score"]["claimed_grade"], "优");
    assert!(a["review"].is_null());
    let b = &lines[1];
    assert_eq!(b["status"], "rejected");
    assert_eq!(b["errors"][0]["sheet"], "绩效目标申报表");
    assert_eq!(b["errors"][0]["cell"], "E8");
    assert_eq!(b["errors"][0]["field"], "年度资金总额");
    assert_eq!(b["errors"][0]["code"], "total_mismatch");
    assert_eq!(
        b["errors"][0]["message"],
        "年度资金总额1300万元不等于财政拨款1000万元与其他资金200万元之和1200万元，请核对后修改"
    );
    assert!(b["score"].is_null() && b["review"].is_null());
}

#[test]
fn exit_codes() {
    assert_eq!(jixiao(&["check", "--json", SELF_EVAL]).0, 0);
    assert_eq!(jixiao(&["check"]).0, 2, "no file is a usage error");
    assert_eq!(jixiao(&["check", "--frobnicate", SELF_EVAL]).0, 2);
    let (code, _, err) = jixiao(&["--forms", "/nonexistent", "check", SELF_EVAL]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent"), "{err}");
}

#[test]
fn human_output_has_one_line_per_problem() {
    let (code, out, _) = jixiao(&["check", SELF_EVAL, REJECTED]);
    assert_eq!(code, 1);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("[通过] tests/fixtures/examples/农业农村厅-绩效自评表.xlsx"),
        "{out}"
    );
    assert!(lines[0].contains("核定96.45分（优）"), "{out}");
    assert!(lines[1].starts_with("[退回]"), "{out}");
    assert!(
        lines[2].contains("E8")
            && lines[2].contains("年度资金总额：")
            && lines[2].contains("[total_mismatch]"),
        "{out}"
    );
    assert_eq!(lines.last().unwrap(), &"共2个文件：通过1个，退回1个");
}

#[test]
fn a_definition_error_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    for f in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/forms")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, dir.path().join(f.file_name().unwrap())).unwrap();
    }
    let broken = dir.path().join("self_evaluation.toml");
    let text = std::fs::read_to_string(&broken).unwrap();
    std::fs::write(&broken, text.replacen("[goal]", "[goal\n", 1)).unwrap();
    let (code, _, err) = jixiao(&["--forms", dir.path().to_str().unwrap(), "check", SELF_EVAL]);
    assert_eq!(code, 2);
    assert!(err.contains("self_evaluation.toml:"), "{err}");
    let line = text.lines().position(|l| l == "[goal]").unwrap() + 1;
    assert!(
        err.contains(&format!("self_evaluation.toml:{line}:")),
        "{err}"
    );
}

#[test]
fn an_alias_added_in_the_definitions_is_accepted() {
    // A department wrote 项目名 instead of 项目名称: rejected with the defaults, accepted once an
    // administrator adds the alias to forms/target_declaration.toml.
    let dir = tempfile::tempdir().unwrap();
    for f in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/forms")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, dir.path().join(f.file_name().unwrap())).unwrap();
    }
    let mut wb = jixiao::forms::blank::build(
        &jixiao::Definitions::embedded(),
        jixiao::FormKind::TargetDeclaration,
    )
    .unwrap();
    let ws = wb.worksheet_from_index(0).unwrap();
    ws.write_string(3, 0, "项目名").unwrap();
    ws.write_string(3, 1, "示例项目").unwrap();
    let file = dir.path().join("form.xlsx");
    wb.save(&file).unwrap();
    let (_, out, _) = jixiao(&["check", "--json", file.to_str().unwrap()]);
    assert!(
        out.contains(r#""cell":"B4","field":"项目名称","code":"field_missing""#)
            || out.contains(r#""field":"项目名称","code":"field_missing""#),
        "{out}"
    );
    let def = dir.path().join("target_declaration.toml");
    let text = std::fs::read_to_string(&def).unwrap();
    std::fs::write(
        &def,
        text.replacen(
            "label = \"项目名称\"\n",
            "label = \"项目名称\"\naliases = [\"项目名\"]\n",
            1,
        ),
    )
    .unwrap();
    let (_, out, err) = jixiao(&[
        "--forms",
        dir.path().to_str().unwrap(),
        "check",
        "--json",
        file.to_str().unwrap(),
    ]);
    assert!(
        !out.contains(r#""field":"项目名称","code":"field_missing""#),
        "{out}{err}"
    );
    assert!(out.contains("示例项目"), "{out}");
}

/// A configuration for `check --config` and `letter --config`: the example setup, whose
/// departments are 吉林省农业农村厅 (nyt) and 吉林省教育厅 (jyt), with its own `[letters]`.
fn config_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text = jixiao::config::EXAMPLE
        .replace("agency = \"吉财绩函\"", "agency = \"长财绩函\"")
        .replace("office = \"吉林省财政厅\"", "office = \"长春市财政局\"");
    std::fs::write(dir.path().join("jixiao.toml"), text).unwrap();
    dir
}

fn codes(json_line: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(json_line).unwrap();
    v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_string())
        .collect()
}

/// Regression: the identity rule lived in the daemon, so `check` accepted a form that the daemon
/// returns.
#[test]
fn check_with_a_config_applies_the_identity_rule() {
    let dir = config_dir();
    let cfg = dir.path().join("jixiao.toml");
    let cfg = cfg.to_str().unwrap();
    // Without a configuration nothing is known of departments.
    let (code, _, _) = jixiao(&["check", "--json", SELF_EVAL]);
    assert_eq!(code, 0);
    // With one, 吉林省农业农村厅 is a configured department: accepted.
    let (code, out, err) = jixiao(&["check", "--json", "--config", cfg, SELF_EVAL]);
    assert_eq!(code, 0, "{out}{err}");
    // Sent as 教育厅 (jyt): 主管部门 names another department.
    let (code, out, _) = jixiao(&[
        "check",
        "--json",
        "--config",
        cfg,
        "--department",
        "jyt",
        SELF_EVAL,
    ]);
    assert_eq!(code, 1);
    assert_eq!(codes(out.lines().next().unwrap()), ["wrong_department"]);
    // A department that is not configured.
    let text = std::fs::read_to_string(dir.path().join("jixiao.toml"))
        .unwrap()
        .replace("name = \"吉林省农业农村厅\"", "name = \"吉林省水利厅\"")
        .replace("aliases = [\"省农业农村厅\"]", "aliases = []");
    std::fs::write(dir.path().join("other.toml"), text).unwrap();
    let other = dir.path().join("other.toml");
    let (code, out, _) = jixiao(&[
        "check",
        "--json",
        "--config",
        other.to_str().unwrap(),
        SELF_EVAL,
    ]);
    assert_eq!(code, 1);
    let line = out.lines().next().unwrap();
    assert_eq!(codes(line), ["wrong_department"]);
    assert!(line.contains("不是已登记的部门"), "{line}");
    // An unknown --department is named as such.
    let (code, _, err) = jixiao(&["check", "--config", cfg, "--department", "xyz", SELF_EVAL]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown department xyz"), "{err}");
}

/// Regression: `letter` ignored `[letters]`: a preview carried the built-in office and 机关代字.
#[test]
fn letter_with_a_config_uses_its_letter_settings() {
    let dir = config_dir();
    let cfg = dir.path().join("jixiao.toml");
    let out = dir.path().join("out");
    let (code, stdout, err) = jixiao(&[
        "letter",
        SELF_EVAL,
        "--out",
        out.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}{err}");
    let docx = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().ends_with(".docx"))
        .unwrap()
        .path();
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&docx).unwrap()).unwrap();
    // The letter's text: the body and the header that carries the 发文机关标志.
    let mut xml = String::new();
    for part in ["word/document.xml", "word/header1.xml"] {
        std::io::Read::read_to_string(&mut zip.by_name(part).unwrap(), &mut xml).unwrap();
    }
    assert!(
        xml.contains("长春市财政局"),
        "the configured office heads the letter"
    );
    assert!(xml.contains("长财绩函〔2026〕"), "the configured 机关代字");
    assert!(!xml.contains("吉财绩函"));
}
