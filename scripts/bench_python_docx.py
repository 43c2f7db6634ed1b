#!/usr/bin/env python3
"""python-docx writing a letter like jixiao's target review opinion, N times, on one core.

    python3 -m pip install python-docx
    python3 scripts/bench_python_docx.py [N]

The letter has the same parts: A4 with the GB/T 9704 margins, a red letterhead with a bottom
border, number, title, addressee, three headings, ten body paragraphs, a 5 x 3 table, signature,
date and 抄送, with East Asian fonts set on every run.
"""
import io
import sys
import time

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor


def run(p, text, font="仿宋_GB2312", size=16, red=False):
    r = p.add_run(text)
    r.font.size = Pt(size)
    r.font.name = "Times New Roman"
    r._element.rPr.rFonts.set(qn("w:eastAsia"), font)
    if red:
        r.font.color.rgb = RGBColor(0xFF, 0, 0)
    return r


def letter():
    doc = Document()
    s = doc.sections[0]
    s.page_width, s.page_height = Mm(210), Mm(297)
    s.top_margin, s.left_margin, s.right_margin, s.bottom_margin = Mm(37), Mm(28), Mm(26), Mm(35)
    s.different_first_page_header_footer = True
    p = s.first_page_header.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run(p, "吉林省财政厅", "方正小标宋简体", 26, red=True)
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    run(p, "吉财绩函〔2026〕12号")
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run(p, "关于基层农技推广体系改革与建设补助项目绩效目标的审核意见", "方正小标宋简体", 22)
    run(doc.add_paragraph(), "吉林省农业农村厅：")
    for h in range(3):
        run(doc.add_paragraph(), "一、审核结论", "黑体")
        for _ in range(3):
            p = doc.add_paragraph()
            p.paragraph_format.first_line_indent = Pt(32)
            run(p, "经审核，该项目绩效目标基本符合要求，审核结论为修改后通过。请按审核意见修改完善。")
    table = doc.add_table(rows=5, cols=3)
    for row in table.rows:
        for cell in row.cells:
            run(cell.paragraphs[0], "指标值“明显提升”含模糊表述", size=12)
    for text in ["吉林省财政厅", "2026年11月25日", "抄送：省审计厅。"]:
        p = doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        run(p, text)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    start = time.perf_counter()
    size = 0
    for _ in range(n):
        size += len(letter())
    took = time.perf_counter() - start
    print(f"python-docx {n} letters in {took:.2f} s = {n / took:.0f} letters/s ({size // n // 1024} KB each)")


if __name__ == "__main__":
    main()
