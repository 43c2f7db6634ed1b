#!/usr/bin/env python3
"""Generate the fixture corpus for jixiao from the shared filled examples.

usage (from the repo root):  python3 scripts/make_fixtures.py [SHARED_DIR]

SHARED_DIR defaults to ../shared/standard-forms (relative to the repo root); either the
`shared` folder or its `standard-forms` sub-folder may be given.

Writes
  tests/fixtures/examples/      the shared examples + expectations.json, unchanged
  tests/fixtures/variants/      one workbook per variation / rule + expectations.json
  tests/fixtures/bad/           lock/temp files, broken files, bomb, README.md, expectations.json

Every expected number is computed by hand from the README rules (2 decimals, half away from zero)
and written into `note`; for self-evaluations the script only re-adds the hand-written parts with
Decimal to catch typing mistakes (see check_parts).
"""
import io
import json
import os
import re
import shutil
import struct
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
from openpyxl.utils import range_boundaries

REPO = Path(__file__).resolve().parent.parent
FIX = REPO / "tests" / "fixtures"
OUT = FIX / "variants"
BAD = FIX / "bad"
EXAMPLES_OUT = FIX / "examples"


def shared_dir():
    cand = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / ".." / "shared" / "standard-forms"
    for c in (cand, cand / "standard-forms"):
        if (c / "examples" / "expectations.json").exists():
            return c.resolve()
    sys.exit(f"shared examples not found under {cand}")


SHARED = shared_dir()
EX = SHARED / "examples"
BASE_EXP = {e["file"]: e for e in json.load(open(EX / "expectations.json", encoding="utf-8"))}

D1 = "农业农村厅-绩效目标申报表.xlsx"   # declaration, merged 一级/二级
D2 = "教育厅-绩效目标申报表.xlsx"       # declaration, 一级 repeated on every row
R1 = "农业农村厅-绩效运行监控表.xlsx"   # performance report 1-7月
S1 = "农业农村厅-绩效自评表.xlsx"       # self-evaluation 96.45 优
S2 = "教育厅-绩效自评表.xlsx"           # self-evaluation 99.99 优

S1_NOTE = ("base: 执行率 1132.6/1180=95.983%→95.98, 执行得分 10×0.95983=9.598→9.60; 指标 "
           "10(3150≥3000)+9.60(10×48/50)+10(96.2≥95)+10(100≥100)+10(760≤800)+10(6.3≥5)"
           "+9.25(10×18500/20000)+8(定性,自评)+10(93.5≥90)=86.85")
S2_NOTE = ("base: 执行率 8791.2/8800=99.9%→99.90, 执行得分 9.99; 指标 15(42.6≥42万人)+15(0=0起)"
           "+10(定性)+10(5≤5元)+20(定性)+10(91≥90)+10(95≥90)=90")

# ----------------------------------------------------------------------------- helpers


def load(base):
    wb = openpyxl.load_workbook(EX / base)
    return wb, wb.worksheets[0]


def _merges(ws):
    rs = [range_boundaries(str(r)) for r in list(ws.merged_cells.ranges)]
    for r in list(ws.merged_cells.ranges):
        ws.unmerge_cells(str(r))
    return rs


def _remerge(ws, rs):
    for c1, r1, c2, r2 in rs:
        if (c1, r1) != (c2, r2):
            ws.merge_cells(start_row=r1, start_column=c1, end_row=r2, end_column=c2)


def insert_rows(ws, idx, n=1):
    """Insert n rows before row idx, moving merged ranges too (openpyxl does not)."""
    rs = _merges(ws)
    ws.insert_rows(idx, n)
    out = []
    for c1, r1, c2, r2 in rs:
        if r1 >= idx:
            r1, r2 = r1 + n, r2 + n
        elif r2 >= idx:          # range spans the insertion point: it grows
            r2 += n
        out.append((c1, r1, c2, r2))
    _remerge(ws, out)


def delete_rows(ws, idx, n=1):
    """Delete rows idx..idx+n-1, moving/shrinking/dropping merged ranges."""
    rs = _merges(ws)
    ws.delete_rows(idx, n)
    last = idx + n - 1
    out = []
    for c1, r1, c2, r2 in rs:
        rows = [r if r < idx else r - n for r in range(r1, r2 + 1) if not idx <= r <= last]
        if rows:
            out.append((c1, min(rows), c2, max(rows)))
    _remerge(ws, out)


def unmerge(ws, *coords):
    for c in coords:
        ws.unmerge_cells(c)


def put(ws, addr, value, fmt=None):
    """Set a cell. A string starting with '=' is a formula only when a cell reference follows
    ('=E9+E10'); '=100%' or '=0起' (an 指标值 with the = comparator) stays text."""
    ws[addr].value = value
    if isinstance(value, str) and value.startswith("=") and not re.match(r"=\$?[A-Z]{1,3}\$?\d", value):
        ws[addr].data_type = "s"
    if fmt:
        ws[addr].number_format = fmt


def add_instructions_sheet(wb):
    s = wb.create_sheet("填表说明", 0)
    s["A1"] = "填表说明"
    s["A2"] = "一、本表由项目实施单位填写，主管部门审核后报送财政部门，金额单位为万元。"
    s["A3"] = "二、绩效指标按一级指标、二级指标、三级指标逐项填写，指标值应尽量量化。"
    s["A4"] = "三、项目支出绩效目标申报表、绩效运行监控表、绩效自评表的格式不得擅自改动。"
    s.column_dimensions["A"].width = 90
    wb.active = 0


def add_cached_values(path, cached):
    """openpyxl writes formulas without cached values; add <v> like Excel does. cached: {addr: value}"""
    with zipfile.ZipFile(path) as z:
        items = [(i, z.read(i.filename)) for i in z.infolist()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in items:
            if info.filename.startswith("xl/worksheets/sheet") and info.filename.endswith(".xml"):
                xml = data.decode("utf-8")
                for addr, val in cached.items():
                    pat = re.compile(r'(<c r="%s"[^>]*>)<f>(.*?)</f>(<v\s*/>|<v></v>)?' % addr)
                    xml, k = pat.subn(lambda m: f"{m.group(1)}<f>{m.group(2)}</f><v>{val}</v>", xml)
                    assert k == 1, (path, addr)
                data = xml.encode("utf-8")
            z.writestr(info, data)
    Path(path).write_bytes(out.getvalue())


FIXED_TIME = (2026, 1, 1, 0, 0, 0)


def normalize(path, compresslevel=None):
    """Make the output reproducible: fixed zip entry times and docProps modified = created."""
    with zipfile.ZipFile(path) as z:
        items = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(path, "w") as z:
        for name, data in items:
            if name == "docProps/core.xml":
                xml = data.decode("utf-8")
                m = re.search(r"<dcterms:created[^>]*>([^<]*)<", xml)
                if m:
                    xml = re.sub(r"(<dcterms:modified[^>]*>)[^<]*<", lambda k: k.group(1) + m.group(1) + "<", xml)
                data = xml.encode("utf-8")
            zi = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            z.writestr(zi, data, compresslevel=compresslevel)


def fill_down(ws, col, rows, value):
    for r in rows:
        ws[f"{col}{r}"].value = value


# ----------------------------------------------------------------------------- registry

FIXTURES = []


def fixture(name, base, **exp):
    def deco(fn):
        FIXTURES.append((name, base, fn, exp))
        return fn
    return deco


def expectation(name, base, exp):
    b = BASE_EXP[base]
    e = {"file": name, "form": b["form"], "status": exp.get("status", "accepted"),
         "project": dict(b["project"]), "error_cells": exp.get("error_cells", []),
         "note": exp.get("note", "")}
    if "form" in exp:
        e["form"] = exp["form"]
    e["project"].update(exp.get("project", {}))
    if e["form"] is None:
        e["project"] = None
    if e["status"] == "accepted":
        if e["form"] == "target_declaration":
            e["conclusion"] = exp.get("conclusion", b.get("conclusion"))
        if e["form"] == "self_evaluation":
            for k in ("execution_rate", "execution_score", "computed", "grade"):
                e[k] = exp.get(k, b.get(k))
            parts = exp.get("check_parts")
            if parts is not None:   # re-add the hand-written rounded parts
                tot = sum(Decimal(p) for p in parts)
                assert tot == Decimal(str(e["computed"])), (name, tot, e["computed"])
                g = "优" if tot >= 90 else "良" if tot >= 80 else "中" if tot >= 60 else "差"
                assert g == e["grade"], (name, g)
    e["error_codes"] = exp.get("error_codes", [])
    if e["status"] == "rejected":
        assert e["error_codes"], name
    if exp.get("warning_codes"):
        e["warning_codes"] = exp["warning_codes"]
    return e


S1_PARTS = ["9.60", "10", "9.60", "10", "10", "10", "10", "9.25", "8", "10"]


def s1_parts(**repl):
    """S1 parts: index 0 execution score, 1..9 rows 15..23."""
    p = list(S1_PARTS)
    for k, v in repl.items():
        p[int(k[1:]) - 14 if k.startswith("r") else 0] = v
    return p

# ============================================================================= VARIATIONS
# all accepted with the same results as their base example


@fixture("变体-填表说明在前-申报表.xlsx", D1, note="form sheet is the 2nd sheet; a 填表说明 sheet comes first; same as base")
def _(wb, ws):
    add_instructions_sheet(wb)


@fixture("变体-填表说明在前-自评表.xlsx", S1, note="填表说明 sheet first; " + S1_NOTE, check_parts=S1_PARTS)
def _(wb, ws):
    add_instructions_sheet(wb)


@fixture("变体-标题上方附件2-下移1行-申报表.xlsx", D1, note="A1=附件2, every address +1 row (title A2, year A3, total E9)")
def _(wb, ws):
    insert_rows(ws, 1, 1)
    put(ws, "A1", "附件2")


@fixture("变体-标题上方附件2-下移2行-监控表.xlsx", R1,
         note="A1=附件2, row 2 blank, every address +2 rows; 1-7月: 610/1200=50.83%, elapsed 7/12=58.33%, lag 7.5 ≤ 15")
def _(wb, ws):
    insert_rows(ws, 1, 2)
    put(ws, "A1", "附件2")


@fixture("变体-标题上方附件2-下移1行-自评表.xlsx", S1, note="A1=附件2, +1 row; " + S1_NOTE, check_parts=S1_PARTS)
def _(wb, ws):
    insert_rows(ws, 1, 1)
    put(ws, "A1", "附件2")


@fixture("变体-标签空格全角空格冒号-申报表.xlsx", D1,
         note="title/labels/headers/一级二级 padded with ASCII and U+3000 spaces, spaces inside (其 他 资 金), 其中:财政拨款 with ASCII colon")
def _(wb, ws):
    for a, v in {"A1": "  项目支出绩效目标申报表\u3000", "A4": "项目名称 ", "A5": "\u3000项目编码",
                 "E5": "项目 属性", "A6": "主管部门\u3000", "E6": " 实施单位 ", "A7": "项目负责人 ",
                 "E7": "联系\u3000电话", "A8": "项目\n资金", "B8": "年度资金总额  ", "B9": "其中:财政拨款",
                 "B10": "其 他 资 金", "A11": "年度总体目标\u3000", "A12": "绩效\n指标", "B12": "一级指标 ",
                 "C12": "二级\u3000指标", "D12": " 三级指标", "G12": "指标值\u3000", "B13": "产出指标 ",
                 "C13": "数量指标\u3000", "B18": " 效益指标", "A22": "填 表 人"}.items():
        put(ws, a, v)


@fixture("变体-标签空格全角空格冒号-监控表.xlsx", R1,
         note="labels padded (ASCII/U+3000), 其中:财政拨款, full-width hyphen in header 1－7月执行数 (NFKC → 1-7月执行数); same as base")
def _(wb, ws):
    for a, v in {"A1": "项目支出绩效运行监控表 ", "A4": " 项目名称", "E5": "监控\u3000期间", "A6": "主管部门 ",
                 "E6": "\u3000实施单位", "D7": "年初 预算数", "E7": "1－7月执行数", "F7": "执行率 ",
                 "G7": "全年预计执行数\u3000", "B8": " 年度资金总额", "B9": "其中:财政拨款", "B10": "其他资金 ",
                 "A11": "年度总体目标 ", "B11": "全年预期目标\u3000", "B13": "一级指标\u3000", "C13": " 二级指标",
                 "E13": "年度指标值 ", "G13": "全年预计完成情况 ", "H13": "偏差原因分析\u3000",
                 "I13": "完成目标可能性 ", "J13": " 纠偏措施", "A23": "填表人\u3000"}.items():
        put(ws, a, v)


@fixture("变体-标签空格全角空格冒号-自评表.xlsx", S1,
         note="labels padded, 其中:当年财政拨款, 总 分 / 自评等级 padded; " + S1_NOTE, check_parts=S1_PARTS)
def _(wb, ws):
    for a, v in {"A1": "\u3000项目支出绩效自评表", "A4": "项目名称\u3000", "E5": "实施 单位", "A6": " 主管部门",
                 "D7": "年初预算数 ", "E7": "全年 预算数", "F7": "全年执行数\u3000", "G7": " 分值", "H7": "执行率 ",
                 "I7": "得\u3000分", "B8": "年度资金总额 ", "B9": "其中:当年财政拨款", "B10": "上年结转资金\u3000",
                 "B12": "预期目标 ", "F12": " 实际完成情况", "B14": " 一级指标", "E14": "年度指标值\u3000",
                 "F14": "实际完成值 ", "G14": "分 值", "H14": "得分 ", "I14": "偏差原因分析及改进措施\u3000",
                 "A24": "总  分", "A25": " 自评等级 "}.items():
        put(ws, a, v)


@fixture("变体-一级二级合并单元格-申报表.xlsx", D2,
         note="D2 has 一级 repeated; here B13:B16 and B17:B18 merged (value in top cell only); same as base 通过")
def _(wb, ws):
    ws.merge_cells("B13:B16")
    ws.merge_cells("B17:B18")


@fixture("变体-一级二级每行重复-申报表.xlsx", D1, note="merges B13:B17, B18:B20, C13:C14 removed, 一级/二级 typed on every row")
def _(wb, ws):
    unmerge(ws, "B13:B17", "B18:B20", "C13:C14")
    fill_down(ws, "B", range(14, 18), "产出指标")
    fill_down(ws, "B", range(19, 21), "效益指标")
    put(ws, "C14", "数量指标")


@fixture("变体-一级二级每行重复-自评表.xlsx", S1, note="一级/二级 repeated on every row; " + S1_NOTE, check_parts=S1_PARTS)
def _(wb, ws):
    unmerge(ws, "B15:B19", "B20:B22", "C15:C16")
    fill_down(ws, "B", range(16, 20), "产出指标")
    fill_down(ws, "B", range(21, 23), "效益指标")
    put(ws, "C16", "数量指标")


@fixture("变体-WPS取消合并留空-申报表.xlsx", D1,
         note="B13:B17, B18:B20, C13:C14 unmerged, cells below the first left empty → carried down")
def _(wb, ws):
    unmerge(ws, "B13:B17", "B18:B20", "C13:C14")


@fixture("变体-WPS取消合并留空-监控表.xlsx", R1, note="B14:B18, B19:B21, C14:C15 unmerged and left empty; same as base")
def _(wb, ws):
    unmerge(ws, "B14:B18", "B19:B21", "C14:C15")


@fixture("变体-WPS取消合并留空-自评表.xlsx", S1, note="B15:B19, B20:B22, C15:C16 unmerged and left empty; " + S1_NOTE,
         check_parts=S1_PARTS)
def _(wb, ws):
    unmerge(ws, "B15:B19", "B20:B22", "C15:C16")


@fixture("变体-指标表中空行-申报表.xlsx", D1, note="blank row 18 inserted between 产出 and 效益 groups (skipped)")
def _(wb, ws):
    insert_rows(ws, 18, 1)


@fixture("变体-指标表中空行-组内-自评表.xlsx", S1,
         note="blank row 17 inside the merged 产出指标 group (B15:B20); blank apart from the carried-down 一级 → skipped; 总分 now row 25; "
              + S1_NOTE, check_parts=S1_PARTS)
def _(wb, ws):
    insert_rows(ws, 17, 1)


@fixture("变体-指标表中空行-WPS留空-申报表.xlsx", D1,
         note="unmerged+empty 一级/二级 and a blank row 16 inside the 产出 group; rows below the blank carry 产出指标/质量指标 down")
def _(wb, ws):
    unmerge(ws, "B13:B17", "B18:B20", "C13:C14")
    insert_rows(ws, 16, 1)


@fixture("变体-金额文本-千分位与万元-申报表.xlsx", D1, note="E8='1,200.00', E9='1000' (text), E10='200万元': 1200 = 1000+200")
def _(wb, ws):
    put(ws, "E8", "1,200.00")
    put(ws, "E9", "1000")
    put(ws, "E10", "200万元")


@fixture("变体-金额全角数字-申报表.xlsx", D1, note="E8='１２００．００', E9='１０００', E10='２００' (full-width, NFKC)")
def _(wb, ws):
    put(ws, "E8", "１２００．００")
    put(ws, "E9", "１０００")
    put(ws, "E10", "２００")


@fixture("变体-金额文本-监控表.xlsx", R1,
         note="amounts as text: D8 '1,200.00', E8 '６１０', G8 '1180万元', D9 '1000', E9 '508.33'...; 610/1200=50.83% = stated")
def _(wb, ws):
    for a, v in {"D8": "1,200.00", "E8": "６１０", "G8": "1180万元", "D9": "1000", "E9": "508.33",
                 "G9": "983.33万元", "D10": "２００", "E10": "101.67", "G10": "196.67"}.items():
        put(ws, a, v)


@fixture("变体-数字文本-自评表.xlsx", S1,
         note="D8 '1,200.00', E8 '1180万元', F8 '１１３２．６０', G8 '10', I8 '9.6', G15 '10', H16 '9.6', G24 '100', H24 '96.45' as text; "
              + S1_NOTE, check_parts=S1_PARTS)
def _(wb, ws):
    for a, v in {"D8": "1,200.00", "E8": "1180万元", "F8": "１１３２．６０", "G8": "10", "I8": "9.6",
                 "G15": "10", "H16": "9.6", "G24": "100", "H24": "96.45"}.items():
        put(ws, a, v)


@fixture("变体-金额四位小数-自评表.xlsx", S1, note="D9 = 1000.1234 (4 decimals allowed); " + S1_NOTE, check_parts=S1_PARTS)
def _(wb, ws):
    put(ws, "D9", 1000.1234)


@fixture("变体-百分比数字格式-自评表.xlsx", S1,
         note="percent as numbers with percent format: H8/H9/H11 0.9598 '0.00%', F17 0.962 '0.0%' (=96.2% ≥95%), F18 1 '0%', "
              "F20 0.063 '0.0%', F23 0.935 '0.0%'; " + S1_NOTE, check_parts=S1_PARTS)
def _(wb, ws):
    for a in ("H8", "H9", "H11"):
        put(ws, a, 0.9598, "0.00%")
    put(ws, "F17", 0.962, "0.0%")
    put(ws, "F18", 1, "0%")
    put(ws, "F20", 0.063, "0.0%")
    put(ws, "F23", 0.935, "0.0%")


@fixture("变体-百分比数字格式-监控表.xlsx", R1,
         note="F8..F10 0.5083 '0.00%' (=50.83%, amounts 50.83%), F16 0.955 '0.0%', G16 0.96 '0%', F17/G17 1 '0%', G22 0.92 '0%'")
def _(wb, ws):
    for a in ("F8", "F9", "F10"):
        put(ws, a, 0.5083, "0.00%")
    put(ws, "F16", 0.955, "0.0%")
    put(ws, "G16", 0.96, "0%")
    put(ws, "F17", 1, "0%")
    put(ws, "G17", 1, "0%")
    put(ws, "G22", 0.92, "0%")


@fixture("变体-公式带缓存值-申报表.xlsx", D1, note="E8 '=E9+E10' with cached value 1200 (added to the XML like Excel) → counts as 1200")
def _(wb, ws):
    put(ws, "E8", "=E9+E10")
    return {"cached": {"E8": 1200}}


@fixture("变体-公式无缓存-执行率-自评表.xlsx", S1,
         note="H8 '=F8/E8', H9 '=F9/E9', H11 '=F11/E11' (0.00%) without cached value → empty 执行率 cells, not used by the score; "
              + S1_NOTE, check_parts=S1_PARTS)
def _(wb, ws):
    for r in (8, 9, 11):
        put(ws, f"H{r}", f"=F{r}/E{r}", "0.00%")


@fixture("变体-公式无缓存-执行率-监控表.xlsx", R1,
         note="F8 '=E8/D8' etc. without cached value → stated 执行率 empty → nothing to compare, no rate_differs; 50.83% vs 58.33% no lag")
def _(wb, ws):
    for r in (8, 9, 10):
        put(ws, f"F{r}", f"=E{r}/D{r}", "0.00%")


@fixture("变体-标题-项目支出绩效目标表.xlsx", D1, note="national-template title 项目支出绩效目标表")
def _(wb, ws):
    put(ws, "A1", "项目支出绩效目标表")


@fixture("变体-标题-项目支出绩效目标执行监控表.xlsx", R1, note="national-template title 项目支出绩效目标执行监控表")
def _(wb, ws):
    put(ws, "A1", "项目支出绩效目标执行监控表")


@fixture("变体-2021框架-成本指标一级-申报表.xlsx", D1,
         note="row 17 人均培训成本 moved to 一级 成本指标 / 二级 经济成本指标 (2021 framework; a cost 二级 → no finding) → 通过")
def _(wb, ws):
    unmerge(ws, "B13:B17")
    ws.merge_cells("B13:B16")
    put(ws, "B17", "成本指标")
    put(ws, "C17", "经济成本指标")


@fixture("变体-2021框架-成本指标一级-自评表.xlsx", S1,
         note="row 19 under 一级 成本指标 / 二级 经济成本指标, ≤800元 vs 760元 → 10; " + S1_NOTE, check_parts=S1_PARTS)
def _(wb, ws):
    unmerge(ws, "B15:B19")
    ws.merge_cells("B15:B18")
    put(ws, "B19", "成本指标")
    put(ws, "C19", "经济成本指标")


@fixture("变体-1-6月-监控表.xlsx", R1,
         note="监控期间 1-6月, headers 1-6月执行数 / 1-6月执行情况 (both); 610/1200=50.83% vs elapsed 6/12=50% → no lag, no period_mismatch")
def _(wb, ws):
    put(ws, "F5", "1-6月")
    put(ws, "E7", "1-6月执行数")
    put(ws, "F11", "1-6月执行情况")
    put(ws, "F13", "1-6月执行情况")


@fixture("变体-执行率差0.37点-监控表.xlsx", R1,
         note="stated F8 51.20% vs 610/1200=50.83%: |51.20-50.83|=0.37 ≤ 0.5 → no rate_differs (nothing else)")
def _(wb, ws):
    put(ws, "F8", "51.20%")


@fixture("变体-其他资金为空-申报表.xlsx", D2, note="E10 (其他资金) empty counts as 0: 8800 = 8800 + 0")
def _(wb, ws):
    put(ws, "E10", None)


@fixture("变体-无项目编码-申报表.xlsx", D1, project={"code": None},
         note="项目编码 optional; project identified by 2026 + 吉林省农业农村厅 + 项目名称")
def _(wb, ws):
    put(ws, "B5", None)


@fixture("变体-项目编码为数字-申报表.xlsx", D1, note="B5 = 22000026000101 stored as a number; code must read '22000026000101'")
def _(wb, ws):
    put(ws, "B5", 22000026000101, "0")


@fixture("变体-无填表人行-申报表.xlsx", D1, note="填表人 row deleted: indicator table ends at the end of the sheet")
def _(wb, ws):
    delete_rows(ws, 22, 1)


# ============================================================================= RULES – every form

@fixture("规则-年度行无年份-申报表.xlsx", D1, status="rejected", error_cells=["A2"], error_codes=["year_missing"],
         project={"year": None}, note="A2 = '（    年度）' has no year")
def _(wb, ws):
    put(ws, "A2", "（    年度）")


@fixture("规则-年度行无年份-自评表.xlsx", S1, status="rejected", error_cells=["A2"], error_codes=["year_missing"],
         project={"year": None}, note="A2 = '（年度）' has no year")
def _(wb, ws):
    put(ws, "A2", "（年度）")


@fixture("规则-年度行删除-申报表.xlsx", D1, status="rejected", error_cells=["A2"], error_codes=["year_missing"],
         project={"year": None}, note="row 2 deleted: error at the cell below the title (A2, now the 单位：万元 row); all rows -1")
def _(wb, ws):
    delete_rows(ws, 2, 1)


@fixture("规则-缺项目名称-监控表.xlsx", R1, status="rejected", error_cells=["B4"], error_codes=["field_missing"],
         project={"name": None}, note="项目名称 value B4 empty")
def _(wb, ws):
    put(ws, "B4", None)


@fixture("规则-缺主管部门-申报表.xlsx", D1, status="rejected", error_cells=["B6"], error_codes=["field_missing"],
         project={"department": None}, note="主管部门 value B6 empty")
def _(wb, ws):
    put(ws, "B6", None)


@fixture("规则-缺实施单位-自评表.xlsx", S1, status="rejected", error_cells=["F5"], error_codes=["field_missing"],
         note="实施单位 value F5 empty")
def _(wb, ws):
    put(ws, "F5", None)


@fixture("规则-金额非数字-监控表.xlsx", R1, status="rejected", error_cells=["G8"], error_codes=["amount_not_number"],
         note="G8 (全年预计执行数) = '一千一百八十' is not a number; G8 takes part in no other rule")
def _(wb, ws):
    put(ws, "G8", "一千一百八十")


@fixture("规则-金额非数字-申报表.xlsx", D1, status="rejected", error_cells=["E8"], error_codes=["amount_not_number"],
         note="E8 (年度资金总额) = '一千二': present but not a number → amount_not_number only (decided: not also "
              "total_missing, and the sum check is skipped because the total is unreadable)")
def _(wb, ws):
    put(ws, "E8", "一千二")


@fixture("规则-金额为负-自评表.xlsx", S1, status="rejected", error_cells=["D11"], error_codes=["amount_negative"],
         note="D11 (其他资金 年初预算数) = -200; used by no other rule")
def _(wb, ws):
    put(ws, "D11", -200)


@fixture("规则-金额五位小数-自评表.xlsx", S1, status="rejected", error_cells=["D9"], error_codes=["amount_precision"],
         note="D9 (当年财政拨款 年初预算数) = 1000.00001: 5 decimals > 4")
def _(wb, ws):
    put(ws, "D9", 1000.00001)

# ============================================================================= RULES – declaration


@fixture("规则-年度资金总额缺失-申报表.xlsx", D1, status="rejected", error_cells=["E8"], error_codes=["total_missing"],
         note="E8 empty")
def _(wb, ws):
    put(ws, "E8", None)


@fixture("规则-年度资金总额公式无缓存-申报表.xlsx", D1, status="rejected", error_cells=["E8"], error_codes=["total_missing"],
         note="E8 '=E9+E10' written by openpyxl without cached value → empty cell → total_missing "
              "(LibreOffice re-saved copies get the cached 1200 and are accepted)")
def _(wb, ws):
    put(ws, "E8", "=E9+E10")


@fixture("规则-资金合计不符-教育厅-申报表.xlsx", D2, status="rejected", error_cells=["E8"], error_codes=["total_mismatch"],
         note="E9 = 8000, E10 = 0: 8800 ≠ 8000 + 0")
def _(wb, ws):
    put(ws, "E9", 8000)


@fixture("规则-附件2偏移-资金合计不符-申报表.xlsx", D1, status="rejected", error_cells=["E9"], error_codes=["total_mismatch"],
         note="附件2 row inserted (all +1); E9 (年度资金总额) = 1300 ≠ 1000 + 200 (at E10, E11)")
def _(wb, ws):
    insert_rows(ws, 1, 1)
    put(ws, "A1", "附件2")
    put(ws, "E9", 1300)


@fixture("规则-年度总体目标为空-申报表.xlsx", D1, status="rejected", error_cells=["B11"], error_codes=["goal_missing"],
         note="年度总体目标 value B11 empty")
def _(wb, ws):
    put(ws, "B11", None)


@fixture("规则-无绩效指标-申报表.xlsx", D1, status="rejected", error_cells=[], error_codes=["no_indicators"],
         note="rows 13-21 deleted: header row 12 is followed directly by 填表人; no cell required (header B12 or null)")
def _(wb, ws):
    delete_rows(ws, 13, 9)


@fixture("规则-一级指标未知-申报表.xlsx", D1, status="rejected", error_cells=["B21"], error_codes=["level1_unknown"],
         note="B21 = '满意指标' (not in the framework); its 二级 is not checked against an unknown 一级")
def _(wb, ws):
    put(ws, "B21", "满意指标")


@fixture("规则-二级指标未知-申报表.xlsx", D1, status="rejected", error_cells=["C16"], error_codes=["level2_unknown"],
         note="C16 = '时效性指标' is no 二级 at all")
def _(wb, ws):
    put(ws, "C16", "时效性指标")


@fixture("规则-二级指标不属于一级-申报表.xlsx", D1, status="rejected", error_cells=["C19"], error_codes=["level2_unknown"],
         note="C19 = '数量指标' under 一级 效益指标 (belongs to 产出指标)")
def _(wb, ws):
    put(ws, "C19", "数量指标")


@fixture("规则-缺一级指标-申报表.xlsx", D2, status="rejected", error_cells=["B13"], error_codes=["level1_missing"],
         note="B13 empty on the first indicator row (nothing above to carry down); B14.. still say 产出指标")
def _(wb, ws):
    put(ws, "B13", None)


@fixture("规则-缺二级指标-申报表.xlsx", D2, status="rejected", error_cells=["C13"], error_codes=["level2_missing"],
         note="C13 empty on the first indicator row (nothing above to carry down)")
def _(wb, ws):
    put(ws, "C13", None)


@fixture("规则-缺三级指标-申报表.xlsx", D1, status="rejected", error_cells=["D15"], error_codes=["level3_missing"],
         note="三级指标 D15 (merged D15:F15) empty")
def _(wb, ws):
    put(ws, "D15", None)


@fixture("规则-缺指标值-申报表.xlsx", D1, status="rejected", error_cells=["G19"], error_codes=["target_missing"],
         note="指标值 G19 (merged G19:H19) empty")
def _(wb, ws):
    put(ws, "G19", None)


@fixture("规则-缺年度指标值-自评表.xlsx", S1, status="rejected", error_cells=["E20"], error_codes=["target_missing"],
         note="年度指标值 E20 empty (score 10/10 so no other rule applies)")
def _(wb, ws):
    put(ws, "E20", None)


@fixture("规则-缺年度指标值-监控表.xlsx", R1, status="rejected", error_cells=["E17"], error_codes=["target_missing"],
         note="年度指标值 E17 empty (完成目标可能性 确定能, no shortfall possible)")
def _(wb, ws):
    put(ws, "E17", None)

# ============================================================================= RULES – report


@fixture("规则-完成目标可能性为空-监控表.xlsx", R1, status="rejected", error_cells=["I16"], error_codes=["likelihood_invalid"],
         note="I16 empty; treated as absent by the next two rules, and 96%≥95% does not fall short → only likelihood_invalid")
def _(wb, ws):
    put(ws, "I16", None)


@fixture("规则-完成目标可能性无效-监控表.xlsx", R1, status="rejected", error_cells=["I17"], error_codes=["likelihood_invalid"],
         note="I17 = '基本能' is not 确定能/有可能/完全不可能; 100%≥100% no shortfall")
def _(wb, ws):
    put(ws, "I17", "基本能")


@fixture("规则-预计完成不足未说明偏差-监控表.xlsx", R1, status="rejected", error_cells=["H14"],
         error_codes=["deviation_reason_missing"],
         note="G14 = '2900人次' < ≥3000人次 (falls short), I14 确定能, H14 empty")
def _(wb, ws):
    put(ws, "G14", "2900人次")


@fixture("规则-成本超标未说明偏差-监控表.xlsx", R1, status="rejected", error_cells=["H18"],
         error_codes=["deviation_reason_missing"],
         note="G18 = '820元' > ≤800元 (falls short for ≤), I18 确定能, H18 empty")
def _(wb, ws):
    put(ws, "G18", "820元")


@fixture("规则-有可能未说明偏差-监控表.xlsx", R1, status="rejected", error_cells=["H16"],
         error_codes=["deviation_reason_missing"],
         note="I16 = 有可能 (not 确定能), J16 filled, H16 empty; 96%≥95% so only the likelihood triggers it")
def _(wb, ws):
    put(ws, "I16", "有可能")
    put(ws, "J16", "加强技术指导，逐村督导。")


@fixture("规则-有可能缺纠偏措施-监控表.xlsx", R1, status="rejected", error_cells=["J15"], error_codes=["correction_missing"],
         note="I15 有可能, H15 filled, J15 emptied")
def _(wb, ws):
    put(ws, "J15", None)


@fixture("规则-完全不可能缺纠偏措施-监控表.xlsx", R1, status="rejected", error_cells=["J20"],
         error_codes=["correction_missing"], note="I20 = 完全不可能, H20 filled, J20 emptied")
def _(wb, ws):
    put(ws, "I20", "完全不可能")
    put(ws, "J20", None)

# ----------------------------------------------------------------------------- report findings


@fixture("发现-执行进度滞后-监控表.xlsx", R1, warning_codes=["execution_lag"],
         note="E8=400: 400/1200=33.33%, elapsed 7/12=58.33%, lag 25.00 > 15; stated F8/F9 33.33% (333.33/1000), F10 33.34% "
              "(66.67/200=33.335%) match the amounts → no rate_differs")
def _(wb, ws):
    for a, v in {"E8": 400, "F8": "33.33%", "E9": 333.33, "F9": "33.33%", "E10": 66.67, "F10": "33.34%"}.items():
        put(ws, a, v)


@fixture("发现-执行率填报不符-监控表.xlsx", R1, warning_codes=["rate_differs"],
         note="stated F8 55.00% vs 610/1200=50.83%: differs by 4.17 > 0.5 points; lag 58.33-50.83=7.5 ≤ 15")
def _(wb, ws):
    put(ws, "F8", "55.00%")


@fixture("发现-表头期间与监控期间不符-监控表.xlsx", R1, warning_codes=["period_mismatch"],
         note="监控期间 F5 1-7月 but header E7 '1-6月执行数'; months elapsed from 监控期间 = 7, lag 7.5 ≤ 15")
def _(wb, ws):
    put(ws, "E7", "1-6月执行数")

# ============================================================================= RULES – self-evaluation


@fixture("规则-缺分值-自评表.xlsx", S1, status="rejected", error_cells=["G17"], error_codes=["weight_missing"],
         note="G17 empty; G18/H18 raised to 20/20 so 分值 still add to 100 (10+10+10+0+20+10+10+10+10+10); "
              "H17=10 is not compared with a missing 分值")
def _(wb, ws):
    put(ws, "G17", None)
    put(ws, "G18", 20)
    put(ws, "H18", 20)


@fixture("规则-缺得分-自评表.xlsx", S1, status="rejected", error_cells=["H17"], error_codes=["score_missing"],
         note="得分 H17 empty")
def _(wb, ws):
    put(ws, "H17", None)


@fixture("规则-得分超分值-自评表.xlsx", S1, status="rejected", error_cells=["H17"], error_codes=["score_exceeds_weight"],
         note="H17 = 12 > 分值 10")
def _(wb, ws):
    put(ws, "H17", 12)


@fixture("规则-扣分未说明原因-定性指标-自评表.xlsx", S1, status="rejected", error_cells=["I22"],
         error_codes=["improvement_missing"], note="H22 = 8 < 10 and I22 emptied")
def _(wb, ws):
    put(ws, "I22", None)


@fixture("规则-缺全年预算数-自评表.xlsx", S1, status="rejected", error_cells=["E8"], error_codes=["budget_missing"],
         note="年度资金总额 全年预算数 E8 empty")
def _(wb, ws):
    put(ws, "E8", None)


@fixture("规则-全年预算数为零-自评表.xlsx", S1, status="rejected", error_cells=["E8"], error_codes=["budget_missing"],
         note="年度资金总额 全年预算数 E8 = 0")
def _(wb, ws):
    put(ws, "E8", 0)


@fixture("规则-全年预算数公式无缓存-自评表.xlsx", S1, status="rejected", error_cells=["E8"], error_codes=["budget_missing"],
         note="E8 '=E9+E10+E11' without cached value → empty → budget_missing "
              "(LibreOffice copies: 983.33+0+196.67=1180 → accepted like the base)")
def _(wb, ws):
    put(ws, "E8", "=E9+E10+E11")


@fixture("规则-缺全年执行数-自评表.xlsx", S1, status="rejected", error_cells=["F8"], error_codes=["spent_missing"],
         note="年度资金总额 全年执行数 F8 empty")
def _(wb, ws):
    put(ws, "F8", None)


@fixture("规则-分值合计不为100-自评表.xlsx", S1, status="rejected", error_cells=["G24"], error_codes=["weights_not_100"],
         note="G23/H23 = 15/15: 10 (执行率) + 10×8 + 15 = 105 ≠ 100 → error at 总分 分值 G24")
def _(wb, ws):
    put(ws, "G23", 15)
    put(ws, "H23", 15)

# ----------------------------------------------------------------------------- self-evaluation findings and scoring


@fixture("发现-自评总分不符-自评表.xlsx", S1, warning_codes=["score_differs"], check_parts=S1_PARTS,
         note="claimed H24 = 98 vs computed 96.45 (warning at H24); " + S1_NOTE)
def _(wb, ws):
    put(ws, "H24", 98)


@fixture("发现-自评等级不符-自评表.xlsx", S1, warning_codes=["grade_differs"], check_parts=S1_PARTS,
         note="claimed G25 = 良, computed 96.45 → 优; " + S1_NOTE)
def _(wb, ws):
    put(ws, "G25", "良")


@fixture("发现-单位不符-人与人次-自评表.xlsx", S1, warning_codes=["unit_mismatch"], computed=95.45,
         check_parts=s1_parts(r15="9"),
         note="F15 '3150人' vs '≥3000人次': unit differs → keeps department's H15 = 9 (I15 filled); "
              "9.60+9+9.60+10+10+10+10+9.25+8+10 = 95.45 优 (claimed H24 95.45)")
def _(wb, ws):
    put(ws, "F15", "3150人")
    put(ws, "H15", 9)
    put(ws, "I15", "统计口径为人数，与年度指标人次口径不一致，按自评扣1分。")
    put(ws, "H24", 95.45)


@fixture("发现-百分比无格式数字-单位不符-自评表.xlsx", S1, warning_codes=["unit_mismatch"], computed=95.95,
         check_parts=s1_parts(r17="9.5"),
         note="F17 = 0.962 (General, no percent format) vs '≥95%': a unitless number is not a percent → unit mismatch, "
              "keeps H17 = 9.5 (I17 filled); 9.60+10+9.60+9.5+10+10+10+9.25+8+10 = 95.95 优")
def _(wb, ws):
    put(ws, "F17", 0.962)
    put(ws, "H17", 9.5)
    put(ws, "I17", "到位率统计表未按百分比填报，按自评扣0.5分。")
    put(ws, "H24", 95.95)


@fixture("评分-小于等于超标-自评表.xlsx", S1, computed=95.86, check_parts=s1_parts(r19="9.41"),
         note="F19 '850元' vs ≤800元: 10×800/850 = 9.4118 → 9.41; 9.60+10+9.60+10+10+9.41+10+9.25+8+10 = 95.86 优")
def _(wb, ws):
    put(ws, "F19", "850元")
    put(ws, "H19", 9.41)
    put(ws, "I19", "培训物价上涨导致人均成本超标；下年度改为集中培训。")
    put(ws, "H24", 95.86)


@fixture("评分-成本指标裸数按小于等于-自评表.xlsx", S1, computed=95.86, check_parts=s1_parts(r19="9.41"),
         note="E19 bare '800元' under 二级 成本指标 means ≤800元; F19 '850元': 10×800/850 = 9.41 (as ≥ it would be 10); total 95.86 优")
def _(wb, ws):
    put(ws, "E19", "800元")
    put(ws, "F19", "850元")
    put(ws, "H19", 9.41)
    put(ws, "I19", "培训物价上涨导致人均成本超标；下年度改为集中培训。")
    put(ws, "H24", 95.86)


@fixture("评分-2021框架经济成本裸数-自评表.xlsx", S1, computed=95.86, check_parts=s1_parts(r19="9.41"),
         note="row 19 一级 成本指标 / 二级 经济成本指标, bare '800元' means ≤; F19 '850元' → 10×800/850 = 9.41; total 95.86 优")
def _(wb, ws):
    unmerge(ws, "B15:B19")
    ws.merge_cells("B15:B18")
    put(ws, "B19", "成本指标")
    put(ws, "C19", "经济成本指标")
    put(ws, "E19", "800元")
    put(ws, "F19", "850元")
    put(ws, "H19", 9.41)
    put(ws, "I19", "培训物价上涨导致人均成本超标；下年度改为集中培训。")
    put(ws, "H24", 95.86)


@fixture("评分-等于不足-百分比-自评表.xlsx", S1, computed=96.25, check_parts=s1_parts(r18="9.8"),
         note="E18 '=100%', F18 '98%': 10×min/max = 10×98/100 = 9.80; 9.60+10+9.60+10+9.8+10+10+9.25+8+10 = 96.25 优")
def _(wb, ws):
    put(ws, "E18", "=100%")
    put(ws, "F18", "98%")
    put(ws, "H18", 9.8)
    put(ws, "I18", "个别县区拨付滞后；已建立按月调度机制。")
    put(ws, "H24", 96.25)


@fixture("评分-等于不足-良-自评表.xlsx", S2, computed=84.99, grade="良",
         check_parts=["9.99", "15", "0", "10", "10", "20", "10", "10"],
         note="E16 '=0起', F16 '1起': 15×min(0,1)/max(0,1) = 0; 9.99+15+0+10+10+20+10+10 = 84.99 → 良 (claimed 84.99 良)")
def _(wb, ws):
    put(ws, "F16", "1起")
    put(ws, "H16", 0)
    put(ws, "I16", "发生1起轻微食品安全事件，已追责并加强食堂检查。")
    put(ws, "H22", 84.99)
    put(ws, "G23", "良")


@fixture("评分-等级边界90-优-自评表.xlsx", S2, computed=90.0, grade="优",
         check_parts=["9.99", "15", "15", "10", "10", "10.01", "10", "10"],
         note="qualitative H19 = 10.01 (of 20, I19 filled): 9.99+15+15+10+10+10.01+10+10 = 90.00 → 优 (≥ 90)")
def _(wb, ws):
    put(ws, "H19", 10.01)
    put(ws, "I19", "部分学校膳食结构单一，营养改善效果未全面显现；下年度开展营养配餐指导。")
    put(ws, "H22", 90)


@fixture("评分-等级边界80-良-自评表.xlsx", S2, computed=80.0, grade="良",
         check_parts=["9.99", "15", "15", "10", "10", "0.01", "10", "10"],
         note="qualitative H19 = 0.01 (I19 filled): 9.99+15+15+10+10+0.01+10+10 = 80.00 → 良 (≥ 80)")
def _(wb, ws):
    put(ws, "H19", 0.01)
    put(ws, "I19", "营养改善效果未达预期；下年度开展营养配餐指导。")
    put(ws, "H22", 80)
    put(ws, "G23", "良")


@fixture("评分-等级中-自评表.xlsx", S2, computed=78.7, grade="中",
         check_parts=["9.99", "10.71", "15", "10", "10", "10", "5", "8"],
         note="F15 '30万人': 15×30/42 = 10.714 → 10.71; H19 qualitative 10; F20 '45%': 10×45/90 = 5; F21 '72%': 10×72/90 = 8; "
              "9.99+10.71+15+10+10+10+5+8 = 78.70 → 中")
def _(wb, ws):
    put(ws, "F15", "30万人")
    put(ws, "H15", 10.71)
    put(ws, "I15", "部分县区学生数减少；据实调整下年度目标。")
    put(ws, "H19", 10)
    put(ws, "I19", "营养改善效果未全面显现；开展营养配餐指导。")
    put(ws, "F20", "45%")
    put(ws, "H20", 5)
    put(ws, "I20", "食堂建设滞后；加快食堂改造。")
    put(ws, "F21", "72%")
    put(ws, "H21", 8)
    put(ws, "I21", "供餐品种单一；改进菜谱。")
    put(ws, "H22", 78.7)
    put(ws, "G23", "中")


@fixture("评分-等级边界60-中-自评表.xlsx", S2, computed=60.0, grade="中",
         check_parts=["9.99", "10", "15", "5.01", "10", "0", "5", "5"],
         note="F15 '28万人': 15×28/42 = 10; H17 qualitative 5.01; H19 qualitative 0; F20 '45%' → 5; F21 '45%' → 5; "
              "9.99+10+15+5.01+10+0+5+5 = 60.00 → 中 (≥ 60)")
def _(wb, ws):
    for a, v in {"F15": "28万人", "H15": 10, "I15": "学生数减少。", "H17": 5.01, "I17": "部分月份拨付延迟。",
                 "H19": 0, "I19": "未开展营养监测。", "F20": "45%", "H20": 5, "I20": "食堂建设滞后。",
                 "F21": "45%", "H21": 5, "I21": "满意度调查覆盖不足。", "H22": 60, "G23": "中"}.items():
        put(ws, a, v)


@fixture("评分-等级差-自评表.xlsx", S1, computed=50.0, grade="差", execution_rate=50.0, execution_score=5.0,
         check_parts=["5", "5", "5", "5", "5", "5", "5", "5", "5", "5"],
         note="F8 590: 590/1180 = 50.00%, 10×0.5 = 5.00; 1500/3000, 25/50, 47.5/95, 50/100, 800/1600 (≤), 2.5/5, "
              "10000/20000, 45/90 → 5 each, qualitative H22 5 → 5+9×5 = 50.00 → 差")
def _(wb, ws):
    vals = {"F8": 590, "H8": "50.00%", "I8": 5, "F9": 491.67, "H9": "50.00%", "F11": 98.33, "H11": "50.00%",
            "F15": "1500人次", "F16": "25个", "F17": "47.5%", "F18": "50%", "F19": "1600元", "F20": "2.5%",
            "F21": "10000户", "F23": "45%", "H24": 50, "G25": "差"}
    for a, v in vals.items():
        put(ws, a, v)
    for r in range(15, 24):
        put(ws, f"H{r}", 5)
        put(ws, f"I{r}", "项目实施严重滞后；已约谈实施单位并制定整改方案。")


@fixture("评分-四舍五入半数进位-自评表.xlsx", S1, computed=93.27, check_parts=s1_parts(r21="6.07"),
         note="F21 '12130户': 10×12130/20000 = 6.065 exactly → 6.07 (half away from zero, not 6.06); "
              "9.60+10+9.60+10+10+10+10+6.07+8+10 = 93.27 优")
def _(wb, ws):
    put(ws, "F21", "12130户")
    put(ws, "H21", 6.07)
    put(ws, "H24", 93.27)


@fixture("评分-执行率半数进位-自评表.xlsx", S1, execution_rate=95.99, execution_score=9.6, check_parts=S1_PARTS,
         note="F8 1132.623: 1132.623/1180 = 0.95985 exactly → execution_rate 95.985 → 95.99, score 10×0.95985 = 9.5985 → 9.60; "
              "total 9.60+86.85 = 96.45 优")
def _(wb, ws):
    put(ws, "F8", 1132.623)
    put(ws, "H8", "95.99%")

# ============================================================================= declaration review conclusions


@fixture("审核-不通过-无数量指标-申报表.xlsx", D1, conclusion="不通过", warning_codes=["no_quantity_indicator"],
         note="C13 (merged C13:C14) 数量指标 → 质量指标: no 产出指标/数量指标 → 不通过")
def _(wb, ws):
    put(ws, "C13", "质量指标")


@fixture("审核-不通过-无效益指标-申报表.xlsx", D1, conclusion="不通过", warning_codes=["no_benefit_indicator"],
         note="rows 18-20 (效益指标) deleted → 不通过; 6/6 quantitative")
def _(wb, ws):
    delete_rows(ws, 18, 3)


@fixture("审核-修改后通过-无满意度指标-申报表.xlsx", D1, conclusion="修改后通过", warning_codes=["no_satisfaction_indicator"],
         note="row 21 (满意度指标) deleted")
def _(wb, ws):
    delete_rows(ws, 21, 1)


@fixture("审核-修改后通过-无成本指标-申报表.xlsx", D1, conclusion="修改后通过", warning_codes=["no_cost_indicator"],
         note="row 17 (产出指标/成本指标) deleted; no cost 二级 left")
def _(wb, ws):
    delete_rows(ws, 17, 1)


@fixture("审核-修改后通过-定量指标不足一半-申报表.xlsx", D2, conclusion="修改后通过", warning_codes=["few_quantitative"],
         note="G16 '按标准足额发放', G18 '稳步提高': quantitative 3 of 7 (≥42万人, =0起, ≥90%) < 3.5; no vague word")
def _(wb, ws):
    put(ws, "G16", "按标准足额发放")
    put(ws, "G18", "稳步提高")


for _word, _val in [("明显", "明显提升"), ("有所", "有所提升"), ("进一步", "进一步提升"), ("较好", "服务能力较好"),
                    ("大幅", "大幅提升")]:
    def _mk(v):
        def f(wb, ws):
            put(ws, "G20", v)
        return f
    FIXTURES.append((f"审核-修改后通过-模糊词{_word}-申报表.xlsx", D1, _mk(_val),
                     dict(conclusion="修改后通过", warning_codes=["vague_target"],
                          note=f"qualitative G20 = '{_val}' contains vague word {_word}")))


@fixture("审核-修改后通过-三级指标重复-申报表.xlsx", D1, conclusion="修改后通过", warning_codes=["duplicate_indicator"],
         note="D14 = '培训基层农技人员人数' (same as D13)")
def _(wb, ws):
    put(ws, "D14", "培训基层农技人员人数")


# ============================================================================= not a form

def not_a_form_random(path):
    import datetime
    wb = openpyxl.Workbook()
    wb.properties.created = datetime.datetime(2026, 1, 1)
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(["序号", "姓名", "部门", "金额", "日期"])
    for i, (n, d, a) in enumerate([("王芳", "办公室", 1200), ("刘强", "财务处", 350.5), ("陈静", "规划处", 80)], 1):
        ws.append([i, n, d, a, f"2026-0{i}-15"])
    ws.append(["合计", None, None, "=SUM(D2:D4)", None])
    wb.create_sheet("Sheet2")["B3"] = "项目名称"
    wb.save(path)


def not_a_form_title(path):
    wb, ws = load(D1)
    put(ws, "A1", "关于项目支出绩效目标申报表的填报说明")
    wb.save(path)


NOT_FORMS = [
    ("非表单-随机工作表.xlsx", not_a_form_random, "random sheet (a staff/amount list) — no known title"),
    ("非表单-标题不完全匹配.xlsx", not_a_form_title,
     "D1 with A1 '关于项目支出绩效目标申报表的填报说明': the title only matches as whole normalised text"),
]

# ============================================================================= bad files


def make_bad():
    BAD.mkdir(parents=True, exist_ok=True)
    for p in BAD.iterdir():
        if p.is_file():
            p.unlink()
    rows = []
    # Office owner file: 1 byte length + user name padded to 54 bytes, UTF-16 name, padding: 165 bytes
    user = b"zhangwei"
    owner = bytes([len(user)]) + user.ljust(53, b" ") + struct.pack("<H", len(user)) + "zhangwei".encode("utf-16-le")
    owner = owner.ljust(165, b"\x00")
    assert len(owner) == 165
    (BAD / "~$报表.xlsx").write_bytes(owner)
    rows.append(("~$报表.xlsx", ["lock_file"], "Office owner/temp file (165 bytes, `~$` prefix) — not a form"))
    (BAD / ".~lock.报表.xlsx#").write_text(
        ",zhangwei,jixiao-pc,25.11.2026 10:00,file:///home/zhangwei/.config/libreoffice/4;", encoding="utf-8")
    rows.append((".~lock.报表.xlsx#", ["lock_file"], "LibreOffice lock file — not a form"))
    (BAD / "empty.xlsx").write_bytes(b"")
    rows.append(("empty.xlsx", [], "0 bytes: empty file, not a workbook"))
    (BAD / "not-a-workbook.xlsx").write_bytes(
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        b"% this is a PDF (or plain text) renamed to .xlsx\n%%EOF\n")
    rows.append(("not-a-workbook.xlsx", [], "a PDF header renamed to .xlsx: not a zip / OLE file"))
    src = (EX / S1).read_bytes()
    (BAD / "truncated.xlsx").write_bytes(src[: len(src) // 2])
    rows.append(("truncated.xlsx", [], f"a real xlsx cut to half ({len(src)//2} of {len(src)} bytes): zip central directory missing"))
    try:
        from msoffcrypto.format.ooxml import OOXMLFile
        with open(EX / S1, "rb") as f, open(BAD / "password.xlsx", "wb") as o:
            OOXMLFile(f).encrypt("1234", o)
        rows.append(("password.xlsx", [], "password-protected (password 1234, msoffcrypto-tool): an OLE/CFB "
                                          "container with EncryptionInfo/EncryptedPackage, not a zip — report it as encrypted"))
    except ImportError:
        print("WARNING: msoffcrypto-tool missing (pip install msoffcrypto-tool): password.xlsx not written")
    bomb = BAD / "bomb.xlsx"
    make_bomb(EX / S1, bomb, 64 * 1024 * 1024)
    rows.append(("bomb.xlsx", [], f"valid xlsx whose xl/worksheets/sheet1.xml inflates to > 64 MiB of whitespace "
                                  f"({bomb.stat().st_size} bytes on disk): refuse past the 50 MB per-entry limit, "
                                  "measured while inflating"))
    lying = BAD / "bomb-declared-small.xlsx"
    make_lying_bomb(bomb, lying, 4096)
    rows.append(("bomb-declared-small.xlsx", [], "the same bomb, but the local header and central directory declare "
                                                 "sheet1.xml as 4096 bytes uncompressed: the limit must be enforced while "
                                                 "inflating, not from the declared size"))
    readme = ["# Bad files", "",
              "Each must be rejected fast (seconds) and in bounded memory, with `form: null`, status `rejected`,",
              "and a clear reason. Generated by `scripts/make_fixtures.py`.", "",
              "| file | expected code | reason |", "|---|---|---|"]
    exps = []
    for name, codes, why in rows:
        readme.append(f"| `{name}` | {', '.join(codes) or '(any code; reason in the message)'} | {why} |")
        e = {"file": name, "form": None, "status": "rejected", "project": None, "error_cells": [], "note": why,
             "error_codes": codes}
        exps.append(e)
    readme += ["", "The README names no code for empty/corrupt/encrypted/oversized files; `error_codes` is left empty",
               "for them in `expectations.json` (any error code is accepted; the message must say what is wrong:",
               "empty file, not a workbook, damaged/truncated, password-protected, too large when inflated).", ""]
    (BAD / "README.md").write_text("\n".join(readme), encoding="utf-8")
    json.dump(exps, open(BAD / "expectations.json", "w", encoding="utf-8"), ensure_ascii=False, indent=1)


def make_bomb(src, dst, pad_bytes):
    with zipfile.ZipFile(src) as z:
        items = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for name, data in items:
            if name == "xl/worksheets/sheet1.xml":
                xml = data.decode("utf-8")
                i = xml.index("<sheetData>") + len("<sheetData>")
                with out.open(name, "w") as f:
                    f.write(xml[:i].encode())
                    chunk = (b" " * 1023 + b"\n") * 1024   # 1 MiB of whitespace
                    for _ in range(pad_bytes // len(chunk)):
                        f.write(chunk)
                    f.write(xml[i:].encode())
            else:
                out.writestr(name, data)
    normalize(dst, compresslevel=9)
    assert dst.stat().st_size < 1_000_000, dst.stat().st_size

def make_lying_bomb(src, dst, declared):
    data = bytearray(src.read_bytes())
    with zipfile.ZipFile(src) as z:
        zi = z.getinfo("xl/worksheets/sheet1.xml")
    lh = zi.header_offset
    assert data[lh:lh + 4] == b"PK\x03\x04"
    struct.pack_into("<I", data, lh + 22, declared)          # local header: uncompressed size
    name = zi.filename.encode()
    i = data.find(b"PK\x01\x02")
    while i >= 0:                                             # central directory entries
        n = struct.unpack_from("<H", data, i + 28)[0]
        if data[i + 46:i + 46 + n] == name:
            struct.pack_into("<I", data, i + 24, declared)
        i = data.find(b"PK\x01\x02", i + 4)
    dst.write_bytes(bytes(data))


# ============================================================================= main


def main():
    # 4. examples, unchanged
    EXAMPLES_OUT.mkdir(parents=True, exist_ok=True)
    for p in EX.iterdir():
        if p.is_file():
            shutil.copyfile(p, EXAMPLES_OUT / p.name)

    OUT.mkdir(parents=True, exist_ok=True)
    for p in OUT.iterdir():
        if p.is_file():
            p.unlink()
    exps, names = [], set()
    for name, base, fn, exp in FIXTURES:
        assert name not in names, name
        names.add(name)
        wb, ws = load(base)
        extra = fn(wb, wb[ws.title]) or {}
        path = OUT / name
        wb.save(path)
        if extra.get("cached"):
            add_cached_values(path, extra["cached"])
        normalize(path)
        exps.append(expectation(name, base, exp))
    for name, fn, note in NOT_FORMS:
        fn(OUT / name)
        normalize(OUT / name)
        exps.append({"file": name, "form": None, "status": "rejected", "project": None, "error_cells": [],
                     "note": note, "error_codes": ["not_a_form"]})
    json.dump(exps, open(OUT / "expectations.json", "w", encoding="utf-8"), ensure_ascii=False, indent=1)
    make_bad()
    print(f"{len(exps)} variant fixtures in {OUT}; bad files in {BAD}; examples in {EXAMPLES_OUT}")


if __name__ == "__main__":
    main()
