#!/usr/bin/env python3
"""Makes tests/fixtures/web/signoff-script-name.xlsx: the example target declaration of 农业农村厅
with `<script>` in its project name (and its own project code), for tests/web_signoff.rs: a
department's text must stay text on the 待签发 pages. Run from the repository's root."""

import openpyxl

SOURCE = "tests/fixtures/examples/农业农村厅-绩效目标申报表.xlsx"
TARGET = "tests/fixtures/web/signoff-script-name.xlsx"

wb = openpyxl.load_workbook(SOURCE)
ws = wb["绩效目标申报表"]
assert ws["A4"].value == "项目名称" and ws["A5"].value == "项目编码"
ws["B4"] = "<script>alert(1)</script>农技推广项目"
ws["B5"] = "22000026000199"
wb.save(TARGET)
print(TARGET)
