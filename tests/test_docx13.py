"""Issue 13 (docx13): the compiled report's DOCX made faster without a change in the document. Its parts are main's
(the code of MAIN, taken with git archive, run on the same databases; document.xml also against digests taken with
main's code before the change), its tables' rows and texts those tests/test_report_format36.py reads; the speed
itself is measured by `python -m bench.speed13` (bench/RESULTS.md), not here. What is checked here is how it is
made: the body rows of a table not through python-docx row by row, the picture ids from one look at the document,
the charts rendered in the writing thread (vl-convert 1.9 holds the GIL: a render thread overlapped nothing)."""

import hashlib
import io
import json
import threading
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from docx.parts.story import StoryPart
from docx.table import Table

from lib import reports
from tests.helpers import REPO, run_with_code
from tests.test_report_format36 import NARRATIVE, PERIOD, TODAY, world  # noqa: F401 (world: a fixture)

MAIN = "8d6b192"  # main when this work began: conftest's main_dir takes its code
DEMO_TODAY = date(2026, 6, 30)  # conftest's demo_db: the demo up to this day

# sha256 of word/document.xml of the demo's reports (demo.load(meetings=3000, seed=11, today=DEMO_TODAY)), made by
# main's code (MAIN) before the change, in the default language: (period, unit, issued) -> digest.
MAINS_DOCUMENT_XML = {
    "2025 None False": "65657fe91bf50430a35120f713b75ec4a7e7d6c89cc57ae1b1ab1b3817b2ee82",
    "2026-Q2 None False": "3257da8a2e4657976834ab94badca7ad5605ccbab7096c1124e29b9281f4c988",
    "2025-Q3 NHILONG25 False": "9eba3e10ee115c9c1adf87487143625efb97f6c768100691e838496ef0b4dad8",
    "2025 None True": "49e9ba9a785430aca0901f85abeba21db64d8438915ea226a2d6cd069e35572f",
}

# Every part of each report but docProps/core.xml (which carries the time it was made), as sha256; the tables' cells
# as python-docx reads them. argv: database, today, then "demo" or "world".
PARTS_SCRIPT = r"""
import hashlib, io, json, sys, zipfile
from datetime import date
from docx import Document
from lib import reports
path, today, which = sys.argv[1], date.fromisoformat(sys.argv[2]), sys.argv[3]
if which == "demo":
    unit = reports.gather(path, "2025-Q3", None, today).figures["attendance_by_unit"]
    busiest = max(unit, key=lambda r: r["meetings"])["unit_code"]
    cases = (("2025", None, {}), ("2026-Q2", None, {}), ("2025-Q3", busiest, {}),
             ("2025", None, {"number": 7, "issued_on": date(2026, 1, 15), "narrative": {"uu_diem": "A.\nB."}}))
else:
    reports.APPENDIX_ROWS = 2  # every long table in an appendix, as test_report_format36 makes them
    cases = ((sys.argv[4], None, {"number": 12, "issued_on": today, "narrative": json.loads(sys.argv[5])}),
             (sys.argv[4], None, {}))
out = {}
for period, code, kw in cases:
    made = reports.compiled_docx(path, period, code, today=today, **kw)
    z = zipfile.ZipFile(io.BytesIO(made))
    key = f"{period} {code} {bool(kw)}"
    out[key] = {n: hashlib.sha256(z.read(n)).hexdigest() for n in z.namelist() if n != "docProps/core.xml"}
    out["tables " + key] = [[[c.text for c in row.cells] for row in t.rows] for t in Document(io.BytesIO(made)).tables]
print(json.dumps(out))
"""


def _parts(code_dir: Path, *args) -> dict:
    return run_with_code(code_dir, PARTS_SCRIPT, *args)


# ---- the same document ----------------------------------------------------------------------------------------------


def test_the_demos_reports_are_mains_part_for_part(demo_db, main_dir):
    ours = _parts(REPO, demo_db, DEMO_TODAY.isoformat(), "demo")
    theirs = _parts(main_dir, demo_db, DEMO_TODAY.isoformat(), "demo")
    assert ours.keys() == theirs.keys()
    for key in ours:
        assert ours[key] == theirs[key], key
    for key, digest in MAINS_DOCUMENT_XML.items():
        assert ours[key]["word/document.xml"] == digest, key
        assert sum(n.startswith("word/media/") for n in ours[key]) >= 4, key  # the charts are in it
    # the year's report has tables long enough to be made from copies (appendices of cells)
    assert max(len(t) for t in ours["tables 2025 None False"]) > 50


def test_the_demos_document_xml_is_the_one_main_made_in_process(demo_db):
    """The same digests from a build in the test's own process (its language and settings)."""
    made = reports.compiled_docx(demo_db, "2025", today=DEMO_TODAY)
    xml = zipfile.ZipFile(io.BytesIO(made)).read("word/document.xml")
    assert hashlib.sha256(xml).hexdigest() == MAINS_DOCUMENT_XML["2025 None False"]


def test_the_format36_reports_tables_rows_and_texts_are_mains(world, main_dir):  # noqa: F811 (the fixture)
    args = (world["path"], TODAY.isoformat(), "world", PERIOD, json.dumps(NARRATIVE, ensure_ascii=False))
    ours, theirs = _parts(REPO, *args), _parts(main_dir, *args)
    assert ours == theirs
    tables = ours[f"tables {PERIOD} None True"]
    # test_report_format36's appendix: header and W4, W1, W2 (the overdue items, oldest first)
    overdue = next(t for t in tables if len(t) == 4 and t[0][1] == "Nơi ghi nhận")
    assert [row[0] for row in overdue] == ["STT", "1", "2", "3"]
    assert [row[4] for row in overdue[1:]] == ["10/02/2024", "30/06/2024", "28/02/2025"]


# ---- how it is made -------------------------------------------------------------------------------------------------


def _counted(monkeypatch, owner: object, name: str) -> list:
    calls: list = []
    real = getattr(owner, name)

    def wrapper(*args, **kw):
        calls.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(owner, name, wrapper)
    return calls


def _table_document(rows: list[list[str]], total: list[str] | None) -> tuple[Any, bytes]:
    """A document of one table of these rows: the document (before it is saved) and its saved document.xml."""
    doc = reports._new_document()
    tables = reports._Tables(doc)
    tables.add("Bảng", ["TT", "Đơn vị", "Số", "Tỷ lệ"], rows, (1.2, 5.3, 5.0, 5.0), total=total)
    return doc, zipfile.ZipFile(io.BytesIO(reports._to_bytes(doc))).read("word/document.xml")


def test_a_tables_body_rows_are_not_made_through_python_docx_row_by_row(monkeypatch):
    # 1,000 rows, every other one with an empty cell (a rate that cannot be worked out), a total row: main made the
    # first plain row and every row with an empty cell through python-docx (501 rows), now one row of each kind
    rows = [[str(i), f"Chi bộ ấp {i} & <{i}>", f"{i:,}".replace(",", "."), "" if i % 2 else f"{i % 100},5%"]
            for i in range(1, 1001)]
    total = ["", "Tổng cộng", "500.500", "50,0%"]
    add_row = _counted(monkeypatch, Table, "add_row")
    doc, made = _table_document(rows, total)
    assert len(add_row) == 3  # a plain row, a row with an empty cell, the bold total row
    # the long table's rows stay text until the document is saved: the table holds the header and a marker
    tbl = doc.element.body.find(reports.qn("w:tbl"))
    assert len(tbl.findall(reports.qn("w:tr"))) == 1
    assert made.count(b"<w:tr>") + made.count(b"<w:tr ") == 1002 and b"<!--" not in made
    monkeypatch.undo()
    # and the document is the one python-docx writes cell by cell
    slow = []

    def by_python_docx(self, everything, total):
        for values in everything:
            slow.append(1)
            self._python_docx_row([str(v) for v in values], total is not None and values is total)

    monkeypatch.setattr(reports._BodyRows, "write", by_python_docx)
    assert _table_document(rows, total)[1] == made
    assert len(slow) == 1001


def test_text_python_docx_writes_otherwise_takes_python_docxs_own_path(monkeypatch):
    """Spaces at either end, tabs and line breaks become attributes or elements of their own: such a row is made
    by python-docx, and the rows around it keep their order."""
    rows = [["1", "A", "1", "2"], ["2", " B ", "3", "4"], ["3", "C\nD", "5", "6"], ["4", "E", "7", "8"]]
    add_row = _counted(monkeypatch, Table, "add_row")
    doc = reports._new_document()
    table = reports._Tables(doc).add("Bảng", ["TT", "Đơn vị", "Số", "Tỷ lệ"], rows, (1.2, 5.3, 5.0, 5.0))
    assert len(add_row) == 3  # the template of a plain row, " B ", "C\nD" (the header comes with the table)
    assert [[c.text for c in row.cells] for row in table.rows][1:] == rows
    assert table.rows[2].cells[1].paragraphs[0].runs[0]._r.find(reports.qn("w:t")).get(
        reports.qn("xml:space")) == "preserve"


def test_a_control_character_is_refused_as_python_docx_refuses_it():
    doc = reports._new_document()
    with pytest.raises(ValueError, match="XML compatible"):
        reports._Tables(doc).add("Bảng", ["TT", "Đơn vị"], [["1", "A"], ["2", "B\x01"]], (1.2, 5.3))


def test_the_picture_ids_come_from_one_look_at_the_document(demo_db, monkeypatch):
    looks = []
    real = StoryPart.next_id

    def counted(self):
        looks.append(1)
        return real.fget(self)

    monkeypatch.setattr(StoryPart, "next_id", property(counted))
    made = Document(io.BytesIO(reports.compiled_docx(demo_db, "2025", today=DEMO_TODAY)))
    shapes = made.inline_shapes
    assert len(shapes) >= 4
    assert len(looks) == 1  # main: one look through the whole document per picture
    assert [s._inline.docPr.id for s in shapes] == list(range(1, len(shapes) + 1))


def test_the_charts_are_rendered_once_each_in_the_writing_thread(demo_db, monkeypatch):
    threads = []
    real = reports._render

    def render(spec, scale, locale):
        threads.append(threading.current_thread())
        return real(spec, scale, locale)

    monkeypatch.setattr(reports, "_render", render)
    made = Document(io.BytesIO(reports.compiled_docx(demo_db, "2025", today=DEMO_TODAY)))
    assert len(threads) == len(made.inline_shapes) >= 4
    assert set(threads) == {threading.current_thread()}
