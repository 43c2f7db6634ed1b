#!/usr/bin/env bash
# Convert a subset of the fixtures with LibreOffice (headless) into tests/fixtures/libreoffice/
# as .xls, .ods and LibreOffice-written .xlsx (*.lo.xlsx), write its expectations.json and verify
# every converted file with python-calamine.
#
# usage (from the repo root, after scripts/make_fixtures.py):  bash scripts/convert_fixtures.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
command -v soffice >/dev/null 2>&1 || bash scripts/install-libreoffice.sh

OUT=tests/fixtures/libreoffice
EXA=tests/fixtures/examples
VAR=tests/fixtures/variants
[ -f "$VAR/expectations.json" ] || python3 scripts/make_fixtures.py

# converted to .xls, .ods and .lo.xlsx
ALL=(
  "$EXA/农业农村厅-绩效目标申报表.xlsx"
  "$EXA/教育厅-绩效目标申报表.xlsx"
  "$EXA/农业农村厅-绩效运行监控表.xlsx"
  "$EXA/农业农村厅-绩效自评表.xlsx"
  "$EXA/教育厅-绩效自评表.xlsx"
  "$EXA/退回示例-资金合计不符.xlsx"
  "$VAR/变体-填表说明在前-申报表.xlsx"
  "$VAR/变体-标题上方附件2-下移2行-监控表.xlsx"
  "$VAR/变体-标签空格全角空格冒号-自评表.xlsx"
  "$VAR/变体-WPS取消合并留空-申报表.xlsx"
  "$VAR/变体-指标表中空行-组内-自评表.xlsx"
  "$VAR/变体-金额文本-千分位与万元-申报表.xlsx"
  "$VAR/变体-金额全角数字-申报表.xlsx"
  "$VAR/变体-标题-项目支出绩效目标执行监控表.xlsx"
  "$VAR/变体-1-6月-监控表.xlsx"
  "$VAR/变体-2021框架-成本指标一级-自评表.xlsx"
  "$VAR/变体-公式无缓存-执行率-自评表.xlsx"
  "$VAR/规则-年度资金总额公式无缓存-申报表.xlsx"
  "$VAR/规则-全年预算数公式无缓存-自评表.xlsx"
  "$VAR/规则-年度行无年份-申报表.xlsx"
  "$VAR/规则-预计完成不足未说明偏差-监控表.xlsx"
  "$VAR/规则-得分超分值-自评表.xlsx"
  "$VAR/发现-自评总分不符-自评表.xlsx"
  "$VAR/评分-等级差-自评表.xlsx"
  "$VAR/审核-修改后通过-模糊词明显-申报表.xlsx"
)
# percent shown by a number format: .xls carries no number formats to the reader → ods + lo.xlsx only
NOXLS=(
  "$VAR/变体-百分比数字格式-自评表.xlsx"
  "$VAR/变体-百分比数字格式-监控表.xlsx"
  "$VAR/变体-公式无缓存-执行率-监控表.xlsx"
)

rm -rf "$OUT"
mkdir -p "$OUT"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
PROFILE="file://$TMP/profile"

lo() {  # lo FILTER OUTDIR FILES...
  local filter=$1 dir=$2; shift 2
  soffice -env:UserInstallation="$PROFILE" --headless --norestore --convert-to "$filter" --outdir "$dir" "$@" \
    >"$TMP/lo.log" 2>&1 || { cat "$TMP/lo.log"; exit 1; }
}

lo xls "$OUT" "${ALL[@]}"
lo ods "$OUT" "${ALL[@]}" "${NOXLS[@]}"
mkdir -p "$TMP/xlsx"
lo 'xlsx:Calc MS Excel 2007 XML' "$TMP/xlsx" "${ALL[@]}" "${NOXLS[@]}"
for f in "$TMP"/xlsx/*.xlsx; do
  b=$(basename "$f" .xlsx)
  mv "$f" "$OUT/$b.lo.xlsx"
done

python3 - "$ROOT" <<'PY'
import json, os, sys, math, unicodedata, re
from python_calamine import CalamineWorkbook
from openpyxl.utils import get_column_letter

root = sys.argv[1]
out = os.path.join(root, "tests/fixtures/libreoffice")
src = {}
for d in ("tests/fixtures/examples", "tests/fixtures/variants"):
    for e in json.load(open(os.path.join(root, d, "expectations.json"), encoding="utf-8")):
        src[e["file"]] = (os.path.join(root, d, e["file"]), e)

# Formula fixtures: openpyxl wrote no cached value (empty cell → error); LibreOffice recalculates
# and stores the value, so its copies are accepted like the base example.
OVERRIDE = {
    "规则-年度资金总额公式无缓存-申报表.xlsx": dict(
        status="accepted", error_cells=[], error_codes=[], conclusion="通过",
        note="E8 '=E9+E10': LibreOffice stored the cached value 1000+200 = 1200 → accepted, 通过 like the base"),
    "规则-全年预算数公式无缓存-自评表.xlsx": dict(
        status="accepted", error_cells=[], error_codes=[], execution_rate=95.98, execution_score=9.6,
        computed=96.45, grade="优",
        note="E8 '=E9+E10+E11': LibreOffice stored 983.33+0+196.67 = 1180 → accepted; 1132.6/1180 = 95.98%, 9.60; "
             "indicators 86.85; total 96.45 优"),
}
# same outcome as the openpyxl file, but the reason differs (the formula now has a value)
NOTE = {
    "变体-公式无缓存-执行率-自评表.xlsx": "H8/H9/H11 '=F8/E8'…: LibreOffice stored 0.9598…, 0.9598…, 0.9598… (执行率 is not "
        "used by the score); 1132.6/1180 = 95.98%, 9.60; indicators 86.85; total 96.45 优",
    "变体-公式无缓存-执行率-监控表.xlsx": "F8 '=E8/D8' (0.00%): LibreOffice stored 610/1200 = 0.508333 shown as 50.83% = the "
        "amounts → no rate_differs; elapsed 58.33% − 50.83% = 7.5 ≤ 15 → no lag",
}
# cells whose value LibreOffice computes (source cell is an uncached formula)
COMPUTED = {
    "规则-年度资金总额公式无缓存-申报表.xlsx": {"E8": 1200},
    "规则-全年预算数公式无缓存-自评表.xlsx": {"E8": 1180},
    "变体-公式无缓存-执行率-自评表.xlsx": {"H8": 1132.6 / 1180, "H9": 943.83 / 983.33, "H11": 188.77 / 196.67},
    "变体-公式无缓存-执行率-监控表.xlsx": {"F8": 610 / 1200, "F9": 508.33 / 1000, "F10": 101.67 / 200},
}
TITLES = {"项目支出绩效目标申报表", "项目支出绩效目标表", "项目支出绩效运行监控表", "项目支出绩效目标执行监控表",
          "项目支出绩效自评表"}


def norm(v):
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", str(v)))


def grid(path):
    wb = CalamineWorkbook.from_path(path)
    for name in wb.sheet_names:
        sh = wb.get_sheet_by_name(name)
        r0, c0 = sh.start if sh.start else (0, 0)
        g = {}
        for i, row in enumerate(sh.to_python()):
            for j, v in enumerate(row):
                if v not in ("", None):
                    g[f"{get_column_letter(c0 + j + 1)}{r0 + i + 1}"] = v
        if any(isinstance(v, str) and norm(v) in TITLES for v in g.values()):
            return name, g
    raise SystemExit(f"{path}: no form title found")


def same(a, b):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)
    return a == b


exps, problems, n = [], [], 0
for f in sorted(os.listdir(out)):
    if f == "expectations.json":
        continue
    stem = f[:-len(".lo.xlsx")] if f.endswith(".lo.xlsx") else os.path.splitext(f)[0]
    orig = stem + ".xlsx"
    path0, e0 = src[orig]
    e = dict(e0)
    e["file"] = f
    e["note"] = (f"LibreOffice {f.rsplit('.', 1)[-1] if not f.endswith('.lo.xlsx') else 'xlsx'} copy of {orig}; "
                 + (e0.get("note") or "same as the source"))
    if orig in NOTE:
        e["note"] = f"LibreOffice copy of {orig}; " + NOTE[orig]
    if orig in OVERRIDE:
        for k in ("conclusion", "execution_rate", "execution_score", "computed", "grade", "warning_codes"):
            e.pop(k, None)
        e.update(OVERRIDE[orig])
        e["note"] = f"LibreOffice copy of {orig}; " + OVERRIDE[orig]["note"]
    # The shared examples carry no codes: name them for the rejected ones.
    SHARED_CODES = {"退回示例-资金合计不符.xlsx": ["total_mismatch"],
                    "退回示例-缺项目名称.xlsx": ["field_missing"],
                    "退回示例-未说明偏差原因.xlsx": ["improvement_missing"]}
    e.setdefault("error_codes", SHARED_CODES.get(orig, []))
    exps.append(e)
    # verification: same sheet, same values as the source (formula cells: the value LO computed)
    name0, g0 = grid(path0)
    name1, g1 = grid(os.path.join(out, f))
    comp = COMPUTED.get(orig, {})
    for a in sorted(set(g0) | set(g1)):
        want = comp.get(a, g0.get(a))
        got = g1.get(a)
        if not same(want, got):
            problems.append(f"{f} {a}: expected {want!r}, got {got!r}")
    if name0 != name1:
        problems.append(f"{f}: sheet {name1!r} != {name0!r}")
    n += 1

json.dump(exps, open(os.path.join(out, "expectations.json"), "w", encoding="utf-8"), ensure_ascii=False, indent=1)
print(f"{n} LibreOffice files verified with python-calamine, expectations.json written")
if problems:
    print("\n".join(problems))
    sys.exit(1)
PY
