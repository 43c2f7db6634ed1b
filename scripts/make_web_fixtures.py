#!/usr/bin/env python3
"""Fixtures of the web console's tests: a valid declaration of 农业农村厅 whose 项目名称 is markup,
to show that whatever a department typed is shown as text.

usage: make_web_fixtures.py
Reads tests/fixtures/examples/, writes tests/fixtures/web/*.xlsx. Needs openpyxl."""
import os
import openpyxl

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.dirname(here)
examples = os.path.join(repo, "tests", "fixtures", "examples")
out = os.path.join(repo, "tests", "fixtures", "web")
os.makedirs(out, exist_ok=True)

# The 农业农村厅 declaration with a script tag as 项目名称 and a code of its own (another project).
wb = openpyxl.load_workbook(os.path.join(examples, "农业农村厅-绩效目标申报表.xlsx"))
ws = wb.active
assert ws["A4"].value == "项目名称" and ws["A5"].value == "项目编码"
ws["B4"] = "<script>alert(1)</script>"
ws["B5"] = "22000026000999"
wb.save(os.path.join(out, "申报表-脚本项目名称.xlsx"))
