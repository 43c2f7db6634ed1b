#!/usr/bin/env python3
"""Writes the hostile .xlsx fixtures of tests/fixtures/hostile/ (described in
tests/fixtures/README.md). Each is a small file whose XML makes a naive reader spend gigabytes or
minutes, or misread a form. Python's zipfile only; run from the repository root:

    python3 scripts/make_hostile_xlsx.py
"""

import os
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "hostile")
EXAMPLE = os.path.join(ROOT, "tests", "fixtures", "examples", "教育厅-绩效自评表.xlsx")

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
WS_TYPE = REL + "/worksheet"

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)

ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    f'<Relationships xmlns="{PKG_REL}">'
    f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)

STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    f'<styleSheet xmlns="{MAIN}">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellXfs>'
    "</styleSheet>"
)


def workbook(sheets):
    """workbook.xml and its rels for sheets given as (name, target) pairs."""
    wb = [f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>']
    rels = [f'<Relationships xmlns="{PKG_REL}">']
    for i, (name, target) in enumerate(sheets, start=1):
        wb.append(f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>')
        rels.append(f'<Relationship Id="rId{i}" Type="{WS_TYPE}" Target="{target}"/>')
    n = len(sheets) + 1
    rels.append(f'<Relationship Id="rId{n}" Type="{REL}/styles" Target="styles.xml"/>')
    wb.append("</sheets></workbook>")
    rels.append("</Relationships>")
    return "".join(wb), "".join(rels)


def sheet(rows_xml):
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<worksheet xmlns="{MAIN}"><sheetData>{rows_xml}</sheetData></worksheet>'
    )


def write(name, parts):
    """Writes a workbook from {path: text or bytes}, deflated at the best level."""
    path = os.path.join(OUT, name)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for part, data in parts.items():
            if isinstance(data, str):
                data = data.encode("utf-8")
            # A fixed date keeps the output the same from run to run.
            info = zipfile.ZipInfo(part, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data, compresslevel=9)
    print(f"{name}: {os.path.getsize(path)} bytes")


def simple(name, sheet_xml, styles=STYLES, shared=None, sheets=None):
    sheets = sheets or [("Sheet1", "worksheets/sheet1.xml")]
    wb, rels = workbook(sheets)
    parts = {
        "[Content_Types].xml": CONTENT_TYPES,
        "_rels/.rels": ROOT_RELS,
        "xl/workbook.xml": wb,
        "xl/_rels/workbook.xml.rels": rels,
        "xl/styles.xml": styles,
        "xl/worksheets/sheet1.xml": sheet_xml,
    }
    if shared is not None:
        parts["xl/sharedStrings.xml"] = shared
    write(name, parts)


def sst(unique_count, items):
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<sst xmlns="{MAIN}" count="{unique_count}" uniqueCount="{unique_count}">'
        + items
        + "</sst>"
    )


def main():
    os.makedirs(OUT, exist_ok=True)
    one_cell = sheet('<row r="1"><c r="A1" t="s"><v>0</v></c></row>')

    # 1. A shared-string table declaring far more strings than its few bytes can hold.
    for power in (27, 45):
        simple(
            f"xlsx-sst-unique-count-2p{power}.xlsx",
            one_cell,
            shared=sst(2**power, "<si><t>项目名称</t></si>"),
        )

    # 2. One shared string of 1 MiB, referenced by 1,000 cells.
    big = "预算绩效" * (1024 * 1024 // 12)
    rows = "".join(f'<row r="{r}"><c r="A{r}" t="s"><v>0</v></c></row>' for r in range(1, 1001))
    simple(
        "xlsx-shared-string-1mb-x1000.xlsx",
        sheet(rows),
        shared=sst(1, f"<si><t>{big}</t></si>"),
    )

    # 3a. 9.5 million empty cell formats.
    xfs = "<xf/>" * 9_500_000
    simple(
        "xlsx-styles-9m-xf.xlsx",
        one_cell,
        styles=(
            f'<styleSheet xmlns="{MAIN}">'
            '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
            f'<cellXfs count="9500000">{xfs}</cellXfs></styleSheet>'
        ),
        shared=sst(1, "<si><t>项目名称</t></si>"),
    )

    # 3b. Few enough cell formats, but each copies a font whose name is 16 KiB long.
    font_name = "宋" * (16 * 1024 // 3)
    xfs = '<xf numFmtId="0" fontId="0"/>' * 60_000
    simple(
        "xlsx-styles-font-per-xf.xlsx",
        one_cell,
        styles=(
            f'<styleSheet xmlns="{MAIN}">'
            f'<fonts count="1"><font><sz val="11"/><name val="{font_name}"/></font></fonts>'
            f"<cellXfs>{xfs}</cellXfs></styleSheet>"
        ),
        shared=sst(1, "<si><t>项目名称</t></si>"),
    )

    # 4. 64 sheets pointing, through their relationships, at one worksheet part of 48 MB.
    simple(
        "xlsx-64-sheets-one-part.xlsx",
        sheet("<row/>" * 8_000_000),
        sheets=[(f"表{i}", "worksheets/sheet1.xml") for i in range(1, 65)],
    )

    # 5. A real self-evaluation form with the words of a merge element typed into a cell below it.
    with zipfile.ZipFile(EXAMPLE) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    xml = parts["xl/worksheets/sheet1.xml"].decode("utf-8")
    typed = (
        '<row r="26"><c r="A26" t="inlineStr"><is><t>'
        '备注：mergeCells mergeCell ref="A4:H4"'
        "</t></is></c></row></sheetData>"
    )
    assert xml.count("</sheetData>") == 1
    parts["xl/worksheets/sheet1.xml"] = xml.replace("</sheetData>", typed).encode("utf-8")
    write("xlsx-merge-words-in-a-cell.xlsx", parts)


if __name__ == "__main__":
    main()
