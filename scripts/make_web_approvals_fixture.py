#!/usr/bin/env python3
"""The web console's approvals test fixture: the declaration concluded 修改后通过
(tests/fixtures/crossform/申报表-修改后通过.xlsx) with markup typed into 项目名称, to show that the
console prints what a department typed as text.

usage: make_web_approvals_fixture.py
Writes tests/fixtures/web/申报表-修改后通过-标记名称.xlsx. Needs openpyxl."""
import os
import openpyxl

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.dirname(here)
src = os.path.join(repo, "tests", "fixtures", "crossform", "申报表-修改后通过.xlsx")
out = os.path.join(repo, "tests", "fixtures", "web")
os.makedirs(out, exist_ok=True)

wb = openpyxl.load_workbook(src)
ws = wb["绩效目标申报表"]
assert ws["B4"].value == "基层农技推广体系改革与建设补助项目"
ws["B4"] = "<script>alert(1)</script>农技推广项目"
wb.save(os.path.join(out, "申报表-修改后通过-标记名称.xlsx"))
