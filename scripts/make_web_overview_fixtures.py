#!/usr/bin/env python3
"""Makes tests/fixtures/web/overview-script-申报表.xlsx: the example 教育厅 declaration whose
项目名称 is markup (`<script>…`), for the console's tests that such a name stays text.

Run from the repository root: python3 scripts/make_web_overview_fixtures.py
"""
import openpyxl

SRC = "tests/fixtures/examples/教育厅-绩效目标申报表.xlsx"
OUT = "tests/fixtures/web/overview-script-申报表.xlsx"

wb = openpyxl.load_workbook(SRC)
ws = wb["绩效目标申报表"]
assert ws["B4"].value == "农村义务教育学生营养改善计划"
ws["B4"] = "<script>alert(1)</script>营养改善计划"
wb.save(OUT)
print(OUT)
