#!/usr/bin/env python3
"""Writes the standard self-evaluation in the shapes office software gives it that are not a plain
.xlsx, into tests/fixtures/variants/, and adds their expectations (the same form, read the same):

  变体-图表工作表在前-自评表.xlsx   a chart sheet (openpyxl) in front of the form sheet
  变体-图表工作表在后-自评表.xlsx   a chart sheet after it
  变体-启用宏-自评表.xlsm           macro-enabled, with a VBA project part
  变体-启用宏含宏表-自评表.xlsm     macro-enabled, with an Excel 4.0 macro sheet in front
  变体-反斜杠路径-自评表.xlsx       zip entries named with backslashes (xl\\worksheets\\sheet1.xml)
  变体-工作簿在包根-自评表.xlsx     workbook.xml at the package root, found through _rels/.rels

Run from the repository root: python3 scripts/make_package_variants.py (needs openpyxl).
"""
import io
import json
import re
import zipfile

import openpyxl
from openpyxl.chart import BarChart, Reference

BASE = "tests/fixtures/examples/农业农村厅-绩效自评表.xlsx"
OUT = "tests/fixtures/variants/"


def entries(data):
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]


def write(path, items):
    # A fixed date on every entry: the same bytes on every run.
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in items:
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)


def with_chart_sheet(index):
    wb = openpyxl.load_workbook(BASE)
    ws = wb.worksheets[0]
    cs = wb.create_chartsheet("指标图表", index)
    chart = BarChart()
    chart.title = "指标得分"
    chart.add_data(Reference(ws, min_col=8, min_row=15, max_row=23))
    chart.set_categories(Reference(ws, min_col=4, min_row=15, max_row=23))
    cs.add_chart(chart)
    import datetime
    wb.properties.created = wb.properties.modified = datetime.datetime(2026, 1, 1)
    buf = io.BytesIO()
    wb.save(buf)
    # openpyxl stamps the time of saving into the core properties.
    return [
        (n, re.sub(rb"<dcterms:modified([^>]*)>[^<]*<", rb"<dcterms:modified\1>2026-01-01T00:00:00Z<", d))
        for n, d in entries(buf.getvalue())
    ]


def macro_enabled():
    items = entries(open(BASE, "rb").read())
    out = []
    for name, data in items:
        if name == "[Content_Types].xml":
            data = data.replace(
                b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
            ).replace(
                b"</Types>",
                b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>',
            )
        elif name == "xl/_rels/workbook.xml.rels":
            data = data.replace(
                b"</Relationships>",
                b'<Relationship Id="rIdV1" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" '
                b'Target="vbaProject.bin"/></Relationships>',
            )
        out.append((name, data))
    # Not a real VBA project: macros are never run, only the part's presence matters.
    out.append(("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504))
    return out


def with_macro_sheet():
    out = []
    for name, data in macro_enabled():
        if name == "[Content_Types].xml":
            data = data.replace(
                b"</Types>",
                b'<Override PartName="/xl/macrosheets/sheet1.xml" '
                b'ContentType="application/vnd.ms-excel.macrosheet+xml"/></Types>',
            )
        elif name == "xl/_rels/workbook.xml.rels":
            data = data.replace(
                b"</Relationships>",
                b'<Relationship Id="rIdM1" Type="http://schemas.microsoft.com/office/2006/relationships/xlMacrosheet" '
                b'Target="macrosheets/sheet1.xml"/></Relationships>',
            )
        elif name == "xl/workbook.xml":
            data = re.sub(rb"<sheets>", b'<sheets><sheet name="Macro1" sheetId="9" r:id="rIdM1"/>', data, count=1)
            assert b"Macro1" in data
        out.append((name, data))
    out.append((
        "xl/macrosheets/sheet1.xml",
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<xm:macrosheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        b'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
        b'<sheetData><row r="1"><c r="A1" t="str"><f>HALT()</f><v>TRUE</v></c></row></sheetData>'
        b"</xm:macrosheet>",
    ))
    return out


def backslashes():
    return [(name.replace("/", "\\"), data) for name, data in entries(open(BASE, "rb").read())]


def at_root():
    out = []
    for name, data in entries(open(BASE, "rb").read()):
        if name == "_rels/.rels":
            data = data.replace(b'Target="xl/workbook.xml"', b'Target="workbook.xml"')
            assert b'Target="workbook.xml"' in data
        elif name == "[Content_Types].xml":
            data = data.replace(b'PartName="/xl/', b'PartName="/')
        elif name.startswith("xl/"):
            name = name[3:]
            if name.endswith(".rels"):
                data = data.replace(b'Target="/xl/', b'Target="/')
        out.append((name, data))
    return out


def main():
    made = {
        "变体-图表工作表在前-自评表.xlsx": ("a chart sheet (openpyxl) in front of the form sheet; chart sheets are skipped wherever they stand", with_chart_sheet(0)),
        "变体-图表工作表在后-自评表.xlsx": ("a chart sheet after the form sheet", with_chart_sheet(1)),
        "变体-启用宏-自评表.xlsm": ("macro-enabled .xlsm with a vbaProject part; macros are never run", macro_enabled()),
        "变体-启用宏含宏表-自评表.xlsm": ("macro-enabled .xlsm with an Excel 4.0 macro sheet in front of the form sheet; macro sheets are skipped, macros never run", with_macro_sheet()),
        "变体-反斜杠路径-自评表.xlsx": ("zip entries named with backslashes (xl\\worksheets\\sheet1.xml), as a Chinese reporting tool writes them", backslashes()),
        "变体-工作簿在包根-自评表.xlsx": ("workbook.xml at the package root, found through _rels/.rels", at_root()),
    }
    for name, (_, content) in made.items():
        write(OUT + name, content)
    base = next(
        c for c in json.load(open("tests/fixtures/examples/expectations.json", encoding="utf-8"))
        if c["file"] == "农业农村厅-绩效自评表.xlsx"
    )
    path = OUT + "expectations.json"
    cases = [c for c in json.load(open(path, encoding="utf-8")) if c["file"] not in made]
    for name, (note, _) in made.items():
        case = dict(base)
        case["file"] = name
        case["note"] = note + "; same as the standard self-evaluation"
        cases.append(case)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {len(made)} variants")


if __name__ == "__main__":
    main()
