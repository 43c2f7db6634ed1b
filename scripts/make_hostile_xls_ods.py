#!/usr/bin/env python3
"""Generate the hostile .xls, .ods and number fixtures of tests/fixtures/hostile/.

usage (from the repo root):  python3 scripts/make_hostile_xls_ods.py

Standard library only. The .xls files are BIFF8 workbook streams written here and wrapped in a
minimal compound file (one FAT sector, one directory sector); the .ods files are zip archives
written with zipfile; the number fixtures patch the shared examples in tests/fixtures/examples.
Each file is small (well under 300 KB) and would cost gigabytes, or minutes, or a panic, if read
without the guards. tests/hostile_xls_ods.rs says what each must be answered with.
"""
import re
import struct
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "tests" / "fixtures" / "hostile"
EXAMPLES = REPO / "tests" / "fixtures" / "examples"

# ---------------------------------------------------------------------------------------------
# .xls: BIFF8 records in a compound file

SECTOR = 512
ENDOFCHAIN = 0xFFFFFFFE
FREESECT = 0xFFFFFFFF
FATSECT = 0xFFFFFFFD
NOSTREAM = 0xFFFFFFFF


def record(typ, data=b""):
    assert len(data) <= 0xFFFF
    return struct.pack("<HH", typ, len(data)) + data


def bof(dt):
    # BIFF8, dt 0x0005 = workbook globals, 0x0010 = worksheet
    return record(0x0809, struct.pack("<HHHHII", 0x0600, dt, 0x0DBB, 0x07CC, 0, 0x0206))


EOF = record(0x000A)


def boundsheet(pos, name):
    raw = name.encode("latin-1")
    return record(0x0085, struct.pack("<IBBBB", pos, 0, 0, len(raw), 0) + raw)


def sst(strings):
    """An SST record with compressed (one byte per character) strings, each in one record."""
    body = struct.pack("<II", len(strings), len(strings))
    for s in strings:
        raw = s.encode("latin-1")
        body += struct.pack("<HB", len(raw), 0) + raw
    return record(0x00FC, body)


def dimensions(r0, r1, c0, c1):
    return record(0x0200, struct.pack("<IIHHH", r0, r1, c0, c1, 0))


def number(row, col, v):
    return record(0x0203, struct.pack("<HHHd", row, col, 0, v))


def labelsst(row, col, index):
    return record(0x00FD, struct.pack("<HHHI", row, col, 0, index))


def workbook_stream(sheet_records, strings=()):
    """Globals (BOF, one BOUNDSHEET, the SST, EOF) then one worksheet substream."""
    glob_head = bof(0x0005)
    glob_tail = (sst(list(strings)) if strings else b"") + EOF
    sheet_pos = len(glob_head) + len(boundsheet(0, "Sheet1")) + len(glob_tail)
    stream = glob_head + boundsheet(sheet_pos, "Sheet1") + glob_tail
    assert len(stream) == sheet_pos
    stream += bof(0x0010) + b"".join(sheet_records) + EOF
    return stream


def compound_file(stream):
    """A compound file holding `stream` as /Workbook, in regular sectors (at least 4096 bytes)."""
    if len(stream) < 4096:
        stream += b"\0" * (4096 - len(stream))
    n_stream = -(-len(stream) // SECTOR)
    data = stream + b"\0" * (n_stream * SECTOR - len(stream))
    dir_sector = n_stream
    fat_needed = 1
    while (n_stream + 1 + fat_needed) > fat_needed * (SECTOR // 4):
        fat_needed += 1
    assert fat_needed <= 109
    fat_start = n_stream + 1
    fat = [i + 1 for i in range(n_stream - 1)] + [ENDOFCHAIN]  # the stream's chain
    fat += [ENDOFCHAIN]  # the directory
    fat += [FATSECT] * fat_needed
    fat += [FREESECT] * (fat_needed * (SECTOR // 4) - len(fat))

    def entry(name, typ, start, size, child=NOSTREAM):
        raw = name.encode("utf-16-le") + b"\0\0"
        e = raw + b"\0" * (64 - len(raw))
        e += struct.pack("<HBB", len(raw), typ, 1)  # name length, type, colour black
        e += struct.pack("<III", NOSTREAM, NOSTREAM, child)
        e += b"\0" * 16 + struct.pack("<I", 0) + b"\0" * 16  # CLSID, state bits, times
        e += struct.pack("<IQ", start, size)
        assert len(e) == 128
        return e

    directory = entry("Root Entry", 5, ENDOFCHAIN, 0, child=1)
    directory += entry("Workbook", 2, 0, len(stream))
    directory += b"\0" * (SECTOR - len(directory))

    header = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1" + b"\0" * 16
    header += struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 9, 6)
    header += b"\0" * 6
    header += struct.pack("<IIIIIIIII", 0, fat_needed, dir_sector, 0, 4096, ENDOFCHAIN, 0,
                          ENDOFCHAIN, 0)
    difat = [fat_start + i for i in range(fat_needed)] + [FREESECT] * (109 - fat_needed)
    header += struct.pack("<109I", *difat)
    assert len(header) == SECTOR
    return header + data + directory + struct.pack(f"<{len(fat)}I", *fat)


def xls_files():
    # DIMENSIONS whose last column (0x00FF) is below its first (0x0100): calamine then takes the
    # first column as 0 and reserves 4,294,967,295 rows x 255 columns of cells.
    yield "xls-dimensions-reversed-columns.xls", compound_file(workbook_stream([
        dimensions(0, 0xFFFFFFFF, 0x0100, 0x00FF),
        number(0, 0, 1.0),
    ]))
    # DIMENSIONS whose last row is below its first: calamine's row count wraps around.
    yield "xls-dimensions-reversed-rows.xls", compound_file(workbook_stream([
        dimensions(0x8000, 0x0010, 0, 4),
        number(0, 0, 1.0),
    ]))
    # One string of 60,000 characters referenced by 15,000 cells: 900 million characters of
    # cell text from 300 KB of file.
    cells = [labelsst(r, 0, 0) for r in range(15000)]
    yield "xls-sst-fanout.xls", compound_file(workbook_stream(
        [dimensions(0, 15000, 0, 1)] + cells, strings=["x" * 60000]))
    # An empty chart substream (BOF .. EOF) inside the sheet: calamine skips it and goes on
    # adding the cells after it to the same sheet, whose grid then spans 65,536 x 256 cells.
    chart = bof(0x0020) + EOF
    yield "xls-nested-substream-far-cell.xls", compound_file(workbook_stream([
        number(0, 0, 1.0), chart, number(0xFFFF, 0x00FF, 2.0),
    ]))


# ---------------------------------------------------------------------------------------------
# .ods

MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>
"""

CONTENT_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<office:document-content'
                ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
                ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
                ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
                ' office:version="1.2"><office:body><office:spreadsheet>')
CONTENT_TAIL = "</office:spreadsheet></office:body></office:document-content>"


def entry(name):
    """A zip entry with a fixed time, so that the script writes the same bytes every time."""
    return zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))


def ods(tables):
    """An .ods archive whose content.xml holds `tables` (XML text of table:table elements)."""
    import io
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(entry("mimetype"), "application/vnd.oasis.opendocument.spreadsheet",
                   compress_type=zipfile.ZIP_STORED)
        z.writestr(entry("META-INF/manifest.xml"), MANIFEST, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr(entry("content.xml"), CONTENT_HEAD + "".join(tables) + CONTENT_TAIL,
                   compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buf.getvalue()


def table(name, rows):
    return f'<table:table table:name="{name}">' + "".join(rows) + "</table:table>"


def row(cells, repeat=None):
    attr = f' table:number-rows-repeated="{repeat}"' if repeat else ""
    return f"<table:table-row{attr}>" + "".join(cells) + "</table:table-row>"


EMPTY_CELL = "<table:table-cell/>"


def gap(n):
    return f'<table:table-cell table:number-columns-repeated="{n}"/>'


def ods_files():
    # Percent cells each repeated over 1,024 columns, 400,000 of them: the percent positions
    # alone would fill a set of 400 million entries.
    pct = ('<table:table-cell office:value-type="percentage" office:value="0.5"'
           ' table:number-columns-repeated="1024"/>')
    yield "ods-percent-columns-repeated.ods", ods([table("Sheet1", [row([pct] * 20)] * 20000)])
    # One row of 90 values repeated 1,000,000 times: a grid of 90 million cells.
    val = '<table:table-cell office:value-type="float" office:value="1"/>'
    yield "ods-rows-repeated.ods", ods([table("Sheet1", [row([val] * 90, repeat=1000000)])])
    # Values without office:value-type (office:value alone, a formula alone) at A1 and at row
    # 9,001, column 9,001: a grid of 81 million cells.
    bare = '<table:table-cell office:value="1"/>'
    formula = '<table:table-cell table:formula="of:=1+1"/>'
    yield "ods-no-value-type.ods", ods([table("Sheet1", [
        row([bare]),
        row([EMPTY_CELL], repeat=8999),
        row([gap(9000), formula]),
    ])])
    # Two tables named alike: the first spans 9,001 x 9,001 cells, the second is small.
    far = table("Sheet1", [
        row(['<table:table-cell office:value-type="float" office:value="1"/>']),
        row([EMPTY_CELL], repeat=8999),
        row([gap(9000), '<table:table-cell office:value-type="float" office:value="2"/>']),
    ])
    small = table("Sheet1", [row(['<table:table-cell office:value-type="float" office:value="3"/>'])])
    yield "ods-duplicate-table-name.ods", ods([far, small])
    # A text cell of 4,000,000,000 spaces (text:s text:c).
    spaces = ('<table:table-cell office:value-type="string"><text:p>'
              '<text:s text:c="4000000000"/></text:p></table:table-cell>')
    yield "ods-text-spaces.ods", ods([table("Sheet1", [row([spaces])])])
    # A text of 50,000 characters repeated over 16,000 columns and 100 rows.
    long_text = ('<table:table-cell office:value-type="string" table:number-columns-repeated="16000">'
                 "<text:p>" + "x" * 50000 + "</text:p></table:table-cell>")
    yield "ods-text-repeated.ods", ods([table("Sheet1", [row([long_text], repeat=100)])])


# ---------------------------------------------------------------------------------------------
# Numbers: the shared examples with a few cells replaced


def set_cell(xml, ref, text):
    """Replaces cell `ref` of a sheet's XML by an inline-string cell holding `text`."""
    pattern = re.compile(rf'<c r="{ref}"( s="\d+")?[^>]*?(/>|>.*?</c>)', re.S)
    m = pattern.search(xml)
    assert m, ref
    style = m.group(1) or ""
    return xml[:m.start()] + f'<c r="{ref}"{style} t="inlineStr"><is><t>{text}</t></is></c>' + xml[m.end():]


def patch_xlsx(example, edit):
    import io
    src = zipfile.ZipFile(EXAMPLES / example)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = edit(data.decode("utf-8")).encode("utf-8")
            out.writestr(entry(info.filename), data, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


HUGE = "99999999999999999999999"  # 23 digits: 1e23


def num_files():
    # Self-evaluation: 全年执行数 of the total row and the 分值 of the first indicator are 1e23.
    def self_eval(x):
        x = set_cell(x, "F8", HUGE)
        return set_cell(x, "G15", HUGE)
    yield "num-huge-amount-points.xlsx", patch_xlsx("农业农村厅-绩效自评表.xlsx", self_eval)

    # Performance report: 年初预算数 0.0001 and 1-7月执行数 1e23 on the total row (the execution
    # rate is 1e29 %); 年初预算数 1e-20 against 999,999,999,999 on the 其他资金 row.
    def report(x):
        x = set_cell(x, "D8", "0.0001")
        x = set_cell(x, "E8", HUGE)
        x = set_cell(x, "D10", "0.00000000000000000001")
        return set_cell(x, "E10", "999999999999")
    yield "num-huge-amount-report.xlsx", patch_xlsx("农业农村厅-绩效运行监控表.xlsx", report)

    # A declaration whose 填表人 line is gone and which has one more cell at row 4,294,967,295.
    def far_row(x):
        x = re.sub(r'<row r="22".*?</row>', "", x, flags=re.S)
        far = ('<row r="4294967295"><c r="D4294967295" t="inlineStr"><is><t>远处的指标</t></is>'
               "</c></row>")
        return x.replace("</sheetData>", far + "</sheetData>")
    yield "num-far-row.xlsx", patch_xlsx("农业农村厅-绩效目标申报表.xlsx", far_row)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for gen in (xls_files, ods_files, num_files):
        for name, data in gen():
            assert len(data) < 300 * 1024, (name, len(data))
            (OUT / name).write_bytes(data)
            print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
