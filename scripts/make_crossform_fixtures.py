#!/usr/bin/env python3
"""Fixtures for the cross-form checks (one project through the year): forms of the 农业农村厅
project 22000026000101 whose indicators differ from its approved declaration.

usage: make_crossform_fixtures.py [SHARED_DIR]   (default ../shared/standard-forms)
Writes tests/fixtures/crossform/*.xlsx. Needs openpyxl."""
import os, sys
import openpyxl

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.dirname(here)
shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(repo, "..", "shared", "standard-forms")
examples = os.path.join(shared, "examples")
out = os.path.join(repo, "tests", "fixtures", "crossform")
os.makedirs(out, exist_ok=True)

def load(name):
    return openpyxl.load_workbook(os.path.join(examples, name))

def save(wb, name):
    wb.save(os.path.join(out, name))

# Report with the target of row 14 (培训基层农技人员人数 ≥3000人次) lowered to ≥2800人次.
wb = load("农业农村厅-绩效运行监控表.xlsx")
ws = wb.active
assert ws["D14"].value == "培训基层农技人员人数"
ws["E14"] = "≥2800人次"
save(wb, "监控表-调低指标值.xlsx")

# Report with an indicator not in the declaration (replaces 主推技术到位率 in row 16).
wb = load("农业农村厅-绩效运行监控表.xlsx")
ws = wb.active
assert ws["D16"].value == "主推技术到位率"
ws["D16"] = "新增的技术示范面积"
ws["E16"] = "≥1000亩"
ws["F16"] = "600亩"
ws["G16"] = "1100亩"
save(wb, "监控表-新增指标.xlsx")

# Self-evaluation with 参训农技人员满意度 (row 23) removed: its 10 points moved to row 22.
wb = load("农业农村厅-绩效自评表.xlsx")
ws = wb.active
assert ws["D23"].value == "参训农技人员满意度"
for col in "BCDEFGHI":
    if type(ws[f"{col}23"]).__name__ != "MergedCell":
        ws[f"{col}23"] = None
ws["G22"] = 20
ws["H22"] = 18
ws["H24"] = 96.45
save(wb, "自评表-删除指标.xlsx")

# A declaration concluded 修改后通过 (no 满意度指标), then approved by the finance office.
wb = load("农业农村厅-绩效目标申报表.xlsx")
ws = wb.active
assert ws["B21"].value == "满意度指标"
for col in "BCDGI":
    ws[f"{col}21"] = None
save(wb, "申报表-修改后通过.xlsx")
print("wrote", sorted(os.listdir(out)))
