"""Exports: the compiled report (DOCX), the data workbook (XLSX) and a leader's written report (DOCX)."""

import io
import json
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from math import isinf, isnan
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import altair as alt
import pandas as pd
from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT, WD_TAB_LEADER
from docx.oxml import OxmlElement
from docx.oxml.ns import nsdecls, qn
from docx.oxml.parser import parse_xml
from docx.oxml.shape import CT_Inline
from docx.parts.document import DocumentPart
from docx.shared import Cm, Pt
from docx.table import Table
from lxml import etree
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.utils.exceptions import IllegalCharacterError
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet._writer import WorksheetWriter
from sqlite_utils import Database

from lib import assignments, charts, directory, domain, leaders, meetings, metrics, org
from lib.db import session
from lib.domain import (
    MeetingType,
    Rating,
    Thresholds,
    WeaknessCategory,
    WeaknessStatus,
    cell_in_sentence,
    mid_sentence,
    search_key,
)
from lib.domain import fmt_date as fmt_day
from lib.i18n import get_language, t
from lib.settings import get_settings

Progress = Callable[[float, str], None]

FONT = "Times New Roman"
BODY_PT = 14
TABLE_PT = 11
# The charts print in a serif close to the document's Times New Roman, with every Vietnamese glyph (charts.py says
# why FreeSerif before Liberation Serif).
CHART_FONT = charts.PRINT_FONTS
CHART_WIDTH_PX = 600
VI_NUMBERS = {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["", " ₫"]}
TEXT_WIDTH_CM = 16.5  # A4 less the 3 cm left and 1.5 cm right margins of party documents
LIST_LIMIT = 15
KEEP_TOGETHER_ROWS = 20
ROMAN = domain.ROMAN  # kept here for the pages that import it
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("docx", "xlsx", "pdf")  # pdf: the compiled report's DOCX rendered by LibreOffice (lib/pdf.py)
# the per-cell figures of metrics.report_page(by_cell=True) a report keeps (ReportData.by_cell)
BY_CELL_KEYS = ("attendance_by_cell", "quality_by_cell", "weaknesses_noted_by_cell")


def _noop(fraction: float, text: str) -> None:
    return None


# ---- numbers, dates and names as shown in the documents ------------------------------------


def fmt_num(value: float | int | None, decimals: int = 0) -> str:
    """A number in the user's language: 1.234,5 in Vietnamese, 1,234.5 in English; '–' when None."""
    if value is None:
        return "–"
    if decimals == 0 and float(value).is_integer():
        text = f"{int(value):,}"
    else:
        text = f"{value:,.{decimals or 2}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
    if get_language() == "vi":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def fmt_pct(rate: float | None) -> str:
    """A fraction as a percentage with one decimal ('89,3%'); '–' when there is no denominator."""
    if rate is None:
        return "–"
    text = f"{rate * 100:.1f}%"
    return text.replace(".", ",") if get_language() == "vi" else text


def period_text(period: metrics.Period | str) -> str:
    """The period in words, as a party document writes it: 'quý I năm 2025', 'tháng 3 năm 2025'."""
    period = metrics.parse_period(period)
    year, month = period.months[0]
    if period.kind == "year":
        return t("report.period_year", year=year)
    if period.kind == "quarter":
        return t("report.period_quarter", year=year, roman=ROMAN[(month - 1) // 3])
    return t("report.period_month", year=year, month=month)


def _committee(org_name: str, place_name: str) -> str:
    """The committee's kind, e.g. 'Huyện ủy' from 'Huyện ủy Càng Long'."""
    name = org_name.strip()
    if place_name and name.lower().endswith(place_name.strip().lower()) and len(name) > len(place_name):
        return name[: -len(place_name.strip())].strip()
    return name


def _symbol(org_name: str) -> str:
    """The issuing body's letters in a document number (HU for Huyện ủy, TU for Tỉnh ủy, ĐU for Đảng ủy)."""
    letters = "".join(w[0] for w in org_name.strip().split()[:2]).upper()
    # Document symbols drop the tone marks but keep Đ: "Huyện ủy" → HU, "Đảng ủy" → ĐU.
    plain = "".join(c for c in unicodedata.normalize("NFD", letters) if unicodedata.category(c) != "Mn")
    return unicodedata.normalize("NFC", plain)


def letterhead(body: dict[str, Any]) -> dict[str, Any]:
    """An issuing body (lib.org.issuer) as a document prints it. A blank field gets a neutral stand-in drawn from
    the same body, never another organisation's words: no upper line, the committee for its board, the committee's
    initials for its symbol, dots for the place and the signer's title, no capacity line, only the archive."""
    def text(key: str) -> str:
        return str(body.get(key) or "").strip()

    committee, place = text("committee"), text("place")
    kind = _committee(committee, place)
    # A committee typed in capitals as the header prints it ("ĐẢNG ỦY XÃ AN TRƯỜNG") reads in a sentence as one:
    # "Ban Thường vụ Đảng ủy xã", not "Ban Thường vụ ĐẢNG ỦY XÃ".
    if committee.isupper():
        kind = kind.capitalize()
        running = f"{kind} {place}" if place and kind != committee.capitalize() else committee.capitalize()
    else:
        running = committee
    return {"upper_line": text("upper_line"), "committee": committee, "committee_kind": kind,
            "board": text("board") or running, "board_given": bool(text("board")),
            "symbol": text("symbol_suffix") or _symbol(committee), "place": place,
            "signer_capacity": text("signer_capacity"), "signer_title": text("signer_title"),
            "recipients": [line for line in body.get("recipients") or () if line.strip()] or [t("report.to_archive")],
            "running": running, "id": body.get("id"), "unit_id": body.get("unit_id")}


# ---- what a report shows: every figure from lib.metrics ------------------------------------


@dataclass
class ReportData:
    """The figures of one period (and optional unit), all from lib.metrics, plus the names around them."""

    period: metrics.Period
    unit_code: str | None
    unit_name: str | None
    today: date
    settings: dict[str, str]
    threshold: float
    report_days: int
    figures: dict[str, Any]
    totals: dict[str, Any]
    headline: dict[str, Any]
    quality: list[dict]
    ratings: dict[str, int]
    properties: list[dict]
    groups: list[dict]
    leader_totals: dict[str, Any]
    leaders: list[dict]
    by_assignment: list[dict]
    report_status: dict[str, int]
    missing: list[dict]
    open_weaknesses: list[dict]
    matrix: list[dict]
    unit_names: dict[str, str]
    decisions: list[tuple[str, str | None]]
    # the units and cells shown by their validity (directory.renamed), for the listings read after the figures
    renames: tuple[dict[str, str], dict[str, str]] = ({}, {})
    # The issuing body in force at the period's end, as printed (letterhead); None when none is recorded.
    head: dict[str, Any] | None = None
    # leader group code → label (groups are data: an admin's new group prints its name)
    group_labels: dict[str, str] = field(default_factory=dict)
    # The node the report is for when its rows are its cells (metrics.cell_node: cells and no child unit), with the
    # per-cell figures (metrics.report_page by_cell); None keeps the rows by unit, as a province's report has them.
    cell_node: dict[str, Any] | None = None
    by_cell: dict[str, list[dict]] = field(default_factory=dict)
    # A year's report: the classification of cells per unit (metrics.classification_distribution); else empty.
    classification: list[dict] = field(default_factory=list)

    def group_label(self, code: str | None) -> str:
        """The printed name of a leader group."""
        return self.group_labels.get(code, code or "")

    @property
    def empty(self) -> bool:
        """Nothing to report: no meeting, no cell due to meet, no leader expected, no weakness noted."""
        return (self.totals["meetings"] == 0 and self.totals["cell_months"] == 0
                and not any(r["expected_thirds"] for r in self.leaders)
                and self.headline["weaknesses_noted"] == 0)

    @property
    def leader_rows(self) -> list[dict]:
        """The `metrics --json` leader rows with the missing reports of each leader added."""
        missing = {r["leader_code"]: r["missing_reports"] for r in self.leaders}
        return [{**r, "missing_reports": missing.get(r["leader_code"], 0)}
                for r in self.figures["leader_participation"]]


def _decisions(db: Database, period: metrics.Period, unit_code: str | None) -> list[tuple[str, str | None]]:
    """The assignment decisions in force during the period (number, date), oldest first."""
    found: dict[str, str | None] = {}
    start, end = period.start.isoformat(), period.end.isoformat()
    for a in assignments.list_assignments(db):
        if unit_code and a["unit_code"] != unit_code:
            continue
        if a["decision_no"] and a["valid_from"] <= end and (a["valid_to"] is None or a["valid_to"] >= start):
            found.setdefault(a["decision_no"], a["decision_date"])
    return sorted(found.items(), key=lambda kv: (kv[1] or "", kv[0]))


def gather(path_or_db: Any, period_label: str, unit_code: str | None = None, today: date | None = None,
           progress: Progress | None = None) -> ReportData:
    """Every figure a report needs, from one pass of the pages' bundles; ValueError for a bad period or unit."""
    period, today = metrics.parse_period(period_label), today or date.today()
    progress = progress or _noop
    unit_code = unit_code or None
    filters = metrics.Filters(unit_codes=(unit_code,) if unit_code else ())
    with session(path_or_db) as db:
        progress(0.05, t("report.progress_figures"))
        unit_names = directory.unit_display_names(db)
        renames = directory.renamed(db)
        if unit_code and unit_code not in unit_names:
            raise ValueError(t("metrics.unknown_unit", code=unit_code))
        # A node with cells and no child unit (a commune without sub-committees) has its cells as the rows.
        node = metrics.cell_node(db, unit_code)
        # same-named units and cells carry their validity in every name the report prints (directory.relabel)
        page = directory.relabel(metrics.report_page(db, period, filters, today, by_cell=node is not None), *renames)
        settings = get_settings(db)
        th = Thresholds.from_settings(settings)  # the settings just read, not read again
        decisions = _decisions(db, period, unit_code)
        body = org.issuer(db, period.end)
        group_labels = leaders.group_labels(db)
        classification = (metrics.classification_distribution(db, period, filters, today)
                          if period.kind == "year" else [])
    # the figures of `metrics --json` (metrics.compute), from the same bundle
    figures = {"period": period.as_dict(), "attendance_by_unit": page["attendance_by_unit"],
               "leader_participation": metrics.leader_participation_of(page["participation_by_leader"]),
               "weaknesses": page["weakness_summary"]}
    data = ReportData(
        period=period, unit_code=unit_code, unit_name=unit_names.get(unit_code) if unit_code else None,
        today=today, settings=settings, threshold=th.attendance, report_days=th.report_days,
        figures=figures, totals=page["attendance_totals"], headline=page["overview_current"],
        quality=page["quality_by_unit"], ratings=page["rating_distribution"], properties=page["properties"],
        groups=page["participation_by_group"], leader_totals=page["leader_totals"],
        leaders=page["participation_by_leader"], by_assignment=page["participation_by_assignment"],
        report_status=page["report_status"], missing=page["missing_meetings"],
        open_weaknesses=page["open_weaknesses"], matrix=page["weakness_matrix"], unit_names=unit_names,
        decisions=decisions, renames=renames, head=letterhead(body) if body else None,
        group_labels=group_labels, cell_node=node,
        by_cell={k: page[k] for k in BY_CELL_KEYS} if node else {},
        classification=classification,
    )
    progress(0.3, t("report.progress_figures"))
    return data


# ---- queries of this module (listings, not figures) -----------------------------------------

MEETING_RECORDS_SQL = """
select m.id, m.held_on, u.code as unit_code, u.name as unit_name, c.code as cell_code, c.name as cell_name,
       m.mtype, m.members_total, m.members_exempt, m.present, m.absent_excused, m.absent_unexcused,
       m.duration_minutes, m.score, m.rating, m.leadership, m.education, m.combativeness,
       (select json_group_array(json_array(x.full_name, x.report_submitted_on))
        from (select l.full_name, ml.report_submitted_on
              from meeting_leaders ml join leaders l on l.id = ml.leader_id
              where ml.meeting_id = m.id order by l.full_name) x) as leaders_json,
       m.topics, m.notes
from meetings m join cells c on c.id = m.cell_id join units u on u.id = c.unit_id
where m.deleted_at is null and m.held_on between :start and :end
  and (:unit_code is null or u.code = :unit_code)
order by m.held_on, u.code, c.code, m.id
"""



def meeting_records(db: Database, period: metrics.Period | str, unit_code: str | None = None) -> list[dict]:
    """Every live meeting of the period (optionally of one unit); leaders_present names each leader present
    with the day their written report came in, e.g. 'Nguyễn Văn An (03/02/2025); Trần Thị Bình'."""
    return list(iter_meeting_records(db, period, unit_code))


def iter_meeting_records(db: Database, period: metrics.Period | str,
                         unit_code: str | None = None) -> Iterator[dict]:
    """meeting_records one row at a time from the cursor (a year at 1,000,000 meetings is ~47,000 rows: the
    workbook streams them rather than holding them all as dicts)."""
    period = metrics.parse_period(period)
    params = {"start": period.start.isoformat(), "end": period.end.isoformat(), "unit_code": unit_code or None}
    for r in db.query(MEETING_RECORDS_SQL, params):
        leaders = json.loads(r.pop("leaders_json") or "[]")
        r["leaders_present"] = "; ".join(name + (f" ({fmt_day(day)})" if day else "") for name, day in leaders)
        yield r


def attended_meetings(db: Database, period: metrics.Period | str, unit_code: str | None = None,
                      limit: int = 500) -> list[dict]:
    """Meeting and leader pairs of the period where the leader was present, newest first."""
    period = metrics.parse_period(period)
    return meetings.leader_attendances(db, start=period.start.isoformat(), end=period.end.isoformat(),
                                       unit_code=unit_code, limit=limit)


# ---- charts as PNG ------------------------------------------------------------------------


def chart_spec(chart: alt.TopLevelMixin, width: int = CHART_WIDTH_PX) -> dict:
    """The Vega-Lite spec of a chart for print: fixed width, print font sizes, a font with Vietnamese glyphs."""
    spec = charts.styled(chart, 0.8).to_dict()
    if any(k in spec for k in ("hconcat", "vconcat", "concat")):
        spec.pop("autosize", None)  # Vega cannot fit a concatenation to a width: it would render nothing
    else:
        # The whole image, labels included, is `width` wide, so every chart prints at the same scale.
        spec["width"] = width
        spec["autosize"] = {"type": "fit-x", "contains": "padding"}
    config = spec.setdefault("config", {})
    config["font"] = CHART_FONT
    # Print has room for whole category and unit names, which the screen layout truncates.
    config.setdefault("axis", {})["labelLimit"] = 320
    spec["background"] = "white"
    return spec


def chart_png(chart: alt.TopLevelMixin, width: int = CHART_WIDTH_PX, scale: float = 2) -> bytes:
    """An Altair chart as a PNG (numbers written the Vietnamese way when the language is Vietnamese)."""
    import vl_convert

    spec = chart_spec(chart, width)
    locale = VI_NUMBERS if get_language() == "vi" else None
    return vl_convert.vegalite_to_png(json.dumps(spec), scale=scale, format_locale=locale)


def _category_chart(counts: dict[str, int]) -> alt.LayerChart:
    """Weaknesses noted by category, the five of the committee's list first (the print form of the matrix)."""
    labels = WeaknessCategory.labels()
    df = pd.DataFrame({"category": [labels[c] for c in counts], "count": list(counts.values())})
    bars = alt.Chart(df).mark_bar(color=charts.GREY).encode(
        y=alt.Y("category:N", sort=list(df["category"]), title=None),
        x=alt.X("count:Q", title=t("chart.count"), axis=alt.Axis(tickMinStep=1)),
    )
    text = bars.mark_text(align="left", dx=4).encode(text=alt.Text("count:Q", format=","), color=alt.value("#222"))
    return alt.layer(bars, text, title=alt.TitleParams(t("report.more.chart_categories"))).properties(
        height=max(120, 28 * len(df)))


def _ranked_rows(rows: Iterable[dict], name: str) -> pd.DataFrame:
    # Only what the chart shows: the printed spec carries no internal unit or cell code, not even unseen.
    return pd.DataFrame([{"unit_name": r[name], "rate": r["rate"], "present": r["present"], "required": r["required"]}
                         for r in rows if r["rate"] is not None], columns=["unit_name", "rate", "present", "required"])


REPORT_CHART_ROWS = 25  # bars of a printed ranking: a page's height; the whole list is the report's table


def _lowest(rows: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """A ranking for print: at most REPORT_CHART_ROWS bars, the lowest rates (ties by name), and the subtitle that
    says so; all rows, without a subtitle, when they fit."""
    # 124 communes in one chart ran over four pages and took most of a province report's time to draw.
    if len(rows) <= REPORT_CHART_ROWS:
        return rows, None
    lowest = rows.sort_values(["rate", "unit_name"], kind="stable").head(REPORT_CHART_ROWS)
    return lowest, t("report.chart_lowest", shown=REPORT_CHART_ROWS, total=len(rows))


def _report_charts(data: ReportData) -> dict[str, tuple[alt.TopLevelMixin, float]]:
    """The report's charts for black-and-white print (greys, labels), each with its printed width in cm, only those
    with something to show."""
    out: dict[str, tuple[alt.TopLevelMixin, float]] = {}
    if data.cell_node:
        # the cells ranked: the chart names its bars unit_name, and its title says cells
        rows, subtitle = _lowest(_ranked_rows(data.by_cell["attendance_by_cell"], "cell_name"))
        if len(rows):
            chart = charts.attendance_ranked_chart(rows, data.threshold, grey=True)
            title = alt.TitleParams(t("report_cells.chart_attendance"), subtitle=subtitle or alt.Undefined)
            out["attendance"] = (chart.properties(title=title), 15.5)
    elif len(rows := _ranked_rows(data.figures["attendance_by_unit"], "unit_name")):
        rows, subtitle = _lowest(rows)
        out["attendance"] = (charts.attendance_ranked_chart(rows, data.threshold, subtitle, grey=True), 15.5)
    if data.totals["meetings"]:
        ratings = charts.rating_chart(charts.rating_frame(data.ratings), grey=True).properties(width=250, height=220)
        props = charts.properties_chart(pd.DataFrame(data.properties), grey=True).properties(width=250, height=220)
        out["quality"] = (alt.hconcat(ratings, props, spacing=40), 15.5)
    groups = [g for g in data.groups if g["compliance"] is not None]
    if groups:
        out["groups"] = (charts.group_compliance_chart(pd.DataFrame(groups), labels=data.group_labels, grey=True), 14)
    if any(g["attended"] for g in data.groups):
        out["reports"] = (charts.reports_chart(pd.DataFrame(data.groups), labels=data.group_labels, grey=True), 14)
    counts = {c: n for c, n in data.figures["weaknesses"]["by_category"].items() if n}
    if counts:
        out["weaknesses"] = (_category_chart(counts), 15.5)
    return out


def _render(spec: str, scale: float, locale: dict | None) -> bytes:
    import vl_convert

    return vl_convert.vegalite_to_png(spec, scale=scale, format_locale=locale)


class _Pictures:
    """The report's charts: a centred paragraph kept for each while the text is written, each chart rendered once to
    PNG and put in its paragraph when the text is done."""

    # Rendered in the writing thread: vl-convert 1.9 holds the GIL while it renders (a thread spinning beside a render
    # got 2-3% of the turns it got alone), so a render thread overlapped nothing with the writing of the document.

    def __init__(self, data: ReportData | None):
        found = {} if data is None else _report_charts(data)
        # The specs (Altair, the language's number format) are made here, in the language of the caller.
        self._locale = VI_NUMBERS if get_language() == "vi" else None
        self._specs = {key: json.dumps(chart_spec(chart)) for key, (chart, _) in found.items()}
        self.widths = {key: width for key, (_, width) in found.items()}
        self._places: list[tuple[Any, str]] = []

    def __contains__(self, key: str) -> bool:
        return key in self._specs

    def place(self, doc: DocxDocument, key: str) -> None:
        """Keep a centred paragraph for the chart here; its picture is put in by finish()."""
        para = doc.add_paragraph()
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        para.paragraph_format.first_line_indent = None
        para.paragraph_format.space_after = Pt(8)
        self._places.append((para, key))

    def finish(self) -> None:
        """Render each kept chart and put its picture in its paragraph."""
        if not self._places:
            return
        part = self._places[0][0].part
        # python-docx's add_picture looks for the document's highest id at every picture, through the whole text (a
        # year's report at 1,000,000 meetings: ~50 ms a look); the ids are those it gives, from one look.
        shape_id = part.next_id
        for para, key in self._places:
            png = _render(self._specs[key], 2, self._locale)
            rid, image = part.get_or_add_image(io.BytesIO(png))
            cx, cy = image.scaled_dimensions(Cm(self.widths[key]), None)
            para.add_run()._r.add_drawing(CT_Inline.new_pic_inline(shape_id, rid, image.filename, cx, cy))
            shape_id += 1  # the picture's ids are shape_id and 0


# ---- DOCX building blocks ----------------------------------------------------------------


def _set_fonts(rpr: Any, name: str = FONT) -> None:
    """Name the font for Latin, East Asian and complex scripts so Word never falls back for ư, ơ, ạ…"""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in list(fonts.attrib):
        if attr.endswith("Theme"):
            del fonts.attrib[attr]
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), name)


def _new_document() -> DocxDocument:
    doc = Document()
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _set_fonts(rpr)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), "vi-VN")
    lang.set(qn("w:eastAsia"), "vi-VN")
    for style_name in ("Normal", "Header", "Footer"):
        style = doc.styles[style_name]
        _set_fonts(style.element.get_or_add_rPr())
        style.font.size = Pt(BODY_PT)
        size_cs = OxmlElement("w:szCs")
        size_cs.set(qn("w:val"), str(BODY_PT * 2))
        style.element.get_or_add_rPr().append(size_cs)
    normal = doc.styles["Normal"].paragraph_format
    normal.space_before, normal.space_after, normal.line_spacing = Pt(0), Pt(6), 1.1
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(2), Cm(2)
    section.left_margin, section.right_margin = Cm(3), Cm(1.5)
    section.header_distance = Cm(1)
    return doc


def _page_numbers(doc: DocxDocument) -> None:
    """Page numbers centred at the top from page 2, as party documents number them."""
    section = doc.sections[0]
    section.different_first_page_header_footer = True
    para = section.header.paragraphs[0]
    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = para.add_run()
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        else:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
        run._r.append(el)


def _para(container: Any, text: str = "", *, bold: bool = False, italic: bool = False, underline: bool = False,
          size: float | None = None, align: Any = WD_ALIGN_PARAGRAPH.JUSTIFY, indent: bool = True,
          after: float = 6, before: float = 0, keep: bool = False) -> Any:
    para = container.add_paragraph()
    fmt = para.paragraph_format
    fmt.alignment = align
    fmt.first_line_indent = Cm(1) if indent and align == WD_ALIGN_PARAGRAPH.JUSTIFY else None
    fmt.space_after, fmt.space_before = Pt(after), Pt(before)
    fmt.keep_with_next = keep
    if text:
        run = para.add_run(text)
        run.bold, run.italic, run.underline = bold or None, italic or None, underline or None
        if size:
            run.font.size = Pt(size)
    return para


def _centre(container: Any, text: str, **kw: Any) -> Any:
    kw.setdefault("after", 0)
    return _para(container, text, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False, **kw)


def _borderless(table: Table) -> None:
    props = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    props.append(borders)


def _widths(table: Table, widths_cm: Sequence[float]) -> None:
    """Fix the column widths for Word (cell widths) and LibreOffice (the table grid)."""
    table.autofit = False
    grid = table._tbl.tblGrid
    for col, width in zip(grid.findall(qn("w:gridCol")), widths_cm, strict=True):
        col.set(qn("w:w"), str(int(width * 567)))
    for row in table.rows:
        for cell, width in zip(row.cells, widths_cm, strict=True):
            cell.width = Cm(width)


def _cell_text(cell: Any, text: str, *, bold: bool = False, italic: bool = False, underline: bool = False,
               size: float | None = None, align: Any = WD_ALIGN_PARAGRAPH.CENTER, first: bool = True) -> Any:
    para = cell.paragraphs[0] if first and not cell.paragraphs[0].text else cell.add_paragraph()
    para.alignment = align
    para.paragraph_format.space_after = Pt(0)
    para.paragraph_format.first_line_indent = None
    run = para.add_run(text)
    run.bold, run.italic, run.underline = bold or None, italic or None, underline or None
    if size:
        run.font.size = Pt(size)
    return para


def _shade(cell: Any, fill: str = "E7E6E6") -> None:
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shd)


def _repeat_header(row: Any) -> None:
    trpr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    trpr.append(el)


def _plain(text: str) -> bool:
    """Text python-docx writes as one <w:t> with nothing around it: not empty, no tab or line break, no
    space at either end (those become other elements or attributes)."""
    return bool(text) and text == text.strip() and not any(c in text for c in "\t\r\n")


class _Tables:
    """Numbered figure tables: caption, shaded repeating header, figures right-aligned, a bold total row. A long
    table (more rows than APPENDIX_ROWS) given appendix=True is kept for the appendix after the signature (36-HD:
    a "PHỤ LỤC" of its own) and the body says where it is; write_appendix() writes them, numbered."""

    def __init__(self, doc: DocxDocument):
        self.doc = doc
        self.count = 0
        self.appendix: list[tuple[str, tuple]] = []

    def add(self, caption: str, headers: Sequence[str], rows: Iterable[Sequence[str]], widths: Sequence[float],
            total: Sequence[str] | None = None, text_cols: int = 2, appendix: bool = False) -> Table | None:
        rows = list(rows)
        if appendix and len(rows) > APPENDIX_ROWS:
            self.appendix.append((caption, (headers, rows, widths, total, text_cols)))
            _para(self.doc, t("report.f36.see_appendix", n=len(self.appendix), caption=caption), italic=True)
            return None
        self.count += 1
        _para(self.doc, t("report.table_caption", n=self.count, caption=caption), bold=True, italic=True,
              size=12, align=WD_ALIGN_PARAGRAPH.LEFT, indent=False, after=3, before=3, keep=True)
        return self._table(headers, rows, widths, total, text_cols)

    def write_appendix(self, reference: str) -> None:
        """Each kept table on a page of its own: "PHỤ LỤC n", its title in capitals, "(Kèm theo Báo cáo …)"."""
        for n, (caption, (headers, rows, widths, total, text_cols)) in enumerate(self.appendix, 1):
            para = _centre(self.doc, t("report.f36.appendix", n=n), bold=True)
            para.paragraph_format.page_break_before = True
            para.paragraph_format.keep_with_next = True
            _centre(self.doc, caption.upper(), bold=True, keep=True)
            _centre(self.doc, reference, italic=True, keep=True)
            _centre(self.doc, "-----", after=6, keep=True)
            self._table(headers, rows, widths, total, text_cols)

    def _table(self, headers: Sequence[str], rows: list[Sequence[str]], widths: Sequence[float],
               total: Sequence[str] | None, text_cols: int) -> Table:
        table = self.doc.add_table(rows=1, cols=len(headers))
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        # Widths are set on each row as it is made; a copied row carries its model's (a year's appendix at
        # 1,000,000 meetings has some 40,000 cells, and setting each through python-docx took seconds).
        lengths = _grid_widths(table, widths)
        _row_widths(table._tbl.tr_lst[0], lengths)
        for cell, text in zip(table.rows[0].cells, headers, strict=True):
            _cell_text(cell, text, bold=True, size=TABLE_PT)
            _shade(cell)
        _repeat_header(table.rows[0])
        everything = rows + ([total] if total else [])
        # the rows of a long table are not looked at again (only a short table's rows are all kept with the next)
        _BodyRows(table, lengths, text_cols, splice=len(everything) > KEEP_TOGETHER_ROWS).write(everything, total)
        # A short table moves to the next page whole rather than leaving its header behind.
        trs = table._tbl.tr_lst
        for tr in trs[:-1] if len(everything) <= KEEP_TOGETHER_ROWS else trs[:1]:
            for tc in tr.tc_lst:
                for para in tc.p_lst:
                    para.get_or_add_pPr().keepNext_val = True
        _para(self.doc, after=2)
        return table


# A body row is made from the XML python-docx writes for a row of the same kind (bold or not, each cell's text plain
# or empty): the texts put in a copy of that XML as text; a short table's rows parsed at once, a long table's kept as
# text and put in the saved part (_SplicedDocumentPart). A year's appendix at 1,000,000 meetings has some 40,000
# cells: cell by cell through python-docx took seconds, a deep copy of a model row per row ~0.4 s, parsing the text
# ~0.3 s, splicing it ~0.05 s.
_MARK = "\ue000"  # a private-use character: plain text that no report writes
_UNSAFE = re.compile("[\x00-\x1f\ud800-\udfff\ufffe\uffff\ue000]")  # python-docx's own path says what is wrong


class _BodyRows:
    """The body rows of one of the report's tables (_Tables._table), in order."""

    def __init__(self, table: Table, lengths: Sequence[Cm], text_cols: int, splice: bool = False):
        self.table, self.lengths, self.text_cols, self.splice = table, lengths, text_cols, splice
        self._kinds: dict[tuple, list[str]] = {}
        self._pending: list[str] = []

    def write(self, everything: Sequence[Sequence[Any]], total: Sequence[Any] | None) -> None:
        """Every row of the body, the total row (bold) last when given."""
        for values in everything:
            texts = [str(v) for v in values]
            bold = total is not None and values is total
            kind = (bold, *("t" if _plain(text) else "" if not text else None for text in texts))
            if None in kind or any(_UNSAFE.search(text) for text in texts):
                self._flush()
                self._python_docx_row(texts, bold)
                continue
            pieces = self._kinds.get(kind)
            if pieces is None:
                pieces = self._kinds[kind] = self._pieces(kind)
            out = [pieces[0]]
            for text, piece in zip((x for x in texts if x), pieces[1:], strict=True):
                out += (escape(text), piece)
            self._pending.append("".join(out))
        self._flush()

    def _python_docx_row(self, texts: Sequence[str], bold: bool) -> Any:
        row = self.table.add_row()
        _row_widths(row._tr, self.lengths)
        row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
        for i, (cell, text) in enumerate(zip(row.cells, texts, strict=True)):
            align = WD_ALIGN_PARAGRAPH.LEFT if 0 < i < self.text_cols else WD_ALIGN_PARAGRAPH.CENTER
            if i >= self.text_cols:
                align = WD_ALIGN_PARAGRAPH.RIGHT
            _cell_text(cell, text, bold=bold, size=TABLE_PT, align=align)
        return row._tr

    def _pieces(self, kind: tuple) -> list[str]:
        """The XML python-docx writes for a row of this kind, split where the plain texts go."""
        tr = self._python_docx_row([_MARK if k else "" for k in kind[1:]], kind[0])
        self.table._tbl.remove(tr)
        xml = etree.tostring(tr, encoding="unicode").replace(f" {nsdecls('w')}", "", 1)
        return xml.split(_MARK)

    def _flush(self) -> None:
        if not self._pending:
            return
        if self.splice:
            # kept as text and put in as the document is saved: not parsed, moved and serialised again
            part = self.table.part
            if not isinstance(part, _SplicedDocumentPart):
                part.__class__, part.spliced = _SplicedDocumentPart, []
            self.table._tbl.append(etree.Comment(f"spliced rows {len(part.spliced)}"))
            part.spliced.append("".join(self._pending).encode())
        else:
            self.table._tbl.extend(list(parse_xml(f"<w:tbl {nsdecls('w')}>{''.join(self._pending)}</w:tbl>")))
        self._pending = []


_SPLICED = re.compile(rb"<!--spliced rows (\d+)-->")


class _SplicedDocumentPart(DocumentPart):
    """The document part of a report with long tables: their body rows kept as XML text (_BodyRows, splice=True),
    each run of them put in where its comment stands when the part is saved."""

    spliced: list[bytes]

    @property
    def blob(self) -> bytes:
        """The part's XML, the rows in place of their comments: the bytes lxml writes for those rows in the tree
        (a text or attribute cannot hold a comment's marker: it would be escaped)."""
        return _SPLICED.sub(lambda found: self.spliced[int(found[1])], super().blob)


def _grid_widths(table: Table, widths_cm: Sequence[float]) -> list[Cm]:
    """The table's grid (LibreOffice) at these widths, autofit off; the cell widths (Word) to give each row."""
    table.autofit = False
    grid = table._tbl.tblGrid
    for col, width in zip(grid.findall(qn("w:gridCol")), widths_cm, strict=True):
        col.set(qn("w:w"), str(int(width * 567)))
    return [Cm(width) for width in widths_cm]


def _row_widths(tr: Any, lengths: Sequence[Cm]) -> None:
    for tc, length in zip(tr.tc_lst, lengths, strict=True):
        tc.width = length


def _zero(value: int, below: int) -> str:
    return f"{value:02d}" if value < below else str(value)


def party_date(day: date | str | None, sep: str = "-") -> str:
    """A date as party documents cite it: '21-02-2022', '05-01-2026', '10-5-2016' (36-HD: a day under 10 and the
    months 1 and 2 take a leading zero); '' when blank."""
    if not day:
        return ""
    if isinstance(day, str):
        day = date.fromisoformat(day[:10])
    return sep.join((_zero(day.day, 10), _zero(day.month, 3), str(day.year)))


def doc_symbol(head: dict[str, Any], kind: str, number: int | None) -> str:
    """The number and symbol of a document: '12-BC/ĐU'; dots for the number a draft does not have yet."""
    return t("report.f36.symbol", number=number if number else "…", kind=kind, symbol=head["symbol"])


def _place_date(head: dict[str, Any], issued_on: date | None, year: int) -> str:
    if issued_on is None:
        return t("report.place_date", place=head["place"] or "……", year=year)
    return t("report.f36.place_date", place=head["place"] or "……", day=_zero(issued_on.day, 10),
             month=_zero(issued_on.month, 3), year=issued_on.year)


def _header_block(doc: DocxDocument, head: dict[str, Any] | None, number_kind: str | None, year: int,
                  number: int | None = None, issued_on: date | None = None, place: str = "") -> None:
    """Left: the organisation above (when there is one: a provincial committee has none), the issuing committee,
    '*', the number; right: the Party, place and date (36-HD). All of the issuing body's wording is the body's
    (head). Without head (a member's personal report) the left side stays empty: the document is not the body's."""
    table = doc.add_table(rows=1, cols=2)
    _borderless(table)
    left, right = table.rows[0].cells
    first = True
    if head is not None:
        if head["upper_line"]:
            _cell_text(left, head["upper_line"].upper())
            first = False
        _cell_text(left, head["committee"].upper(), bold=True, first=first)
        _cell_text(left, "*", first=False)
        if number_kind:
            _cell_text(left, t("report.f36.number_line", symbol=doc_symbol(head, number_kind, number)) if number else
                       t("report.doc_number", kind=number_kind, symbol=head["symbol"]), first=False)
    _cell_text(right, t("report.party_name"), bold=True, underline=True, size=15)
    _cell_text(right, "", first=False)
    where = {"place": place} if head is None else head
    _cell_text(right, _place_date(where, issued_on, year), italic=True, first=False)
    _widths(table, (7.0, 9.5))
    _para(doc, after=6)


def _closing(doc: DocxDocument, recipients: Sequence[str], on_behalf: str, title: str,
             name: str = "", note: str = "") -> None:
    """'Nơi nhận' on the left (when there are recipients), the signature block on the right. 36-HD, unlike a state
    document: "Nơi nhận:" upright 14 pt underlined, the recipients upright 12 pt; capacity and title in bold
    capitals, the name in bold."""
    table = doc.add_table(rows=1, cols=2)
    _borderless(table)
    # The signature block never splits from its name line across a page.
    table.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    left, right = table.rows[0].cells
    if recipients:
        _cell_text(left, t("report.recipients"), underline=True, size=BODY_PT, align=WD_ALIGN_PARAGRAPH.LEFT)
    for line in recipients:
        _cell_text(left, line, size=12, align=WD_ALIGN_PARAGRAPH.LEFT, first=False)
    if on_behalf:
        _cell_text(right, on_behalf.upper(), bold=True)
    _cell_text(right, title.upper() if title != t("report.name_blank") else title, bold=True, first=not on_behalf)
    if note:
        _cell_text(right, note, italic=True, first=False)
    for _ in range(4):
        _cell_text(right, "", first=False)
    _cell_text(right, name or t("report.name_blank"), bold=bool(name), first=False)
    _widths(table, (7.5, 9.0))


def _to_bytes(doc: DocxDocument) -> bytes:
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


# ---- the compiled report ------------------------------------------------------------------


def _unit_label(data: ReportData, code: str) -> str:
    return data.unit_names.get(code, code)


def _decision_text(decisions: Sequence[tuple[str, str | None]] | Sequence[str]) -> str:
    """The decisions as a sentence cites them: the citations given (decision_citations), or from (number, day)."""
    parts = [d if isinstance(d, str) else
             t("report.f36.decision", no=d[0], date=party_date(d[1])) if d[1] else
             t("report.decision_no_date", no=d[0]) for d in decisions]
    return "; ".join(parts) if parts else t("report.decision_none")


# ---- a node whose rows are its cells (branch creport) ----------------------------------------------------------
# A commune committee without sub-committees reports on its own cells: tables 1-3 and 7 list them, the sentences
# say "chi bộ" and the recommendations go to the cells, never to the committee itself. The words are the same
# keys in the block report_cells.


def _word(data: ReportData, key: str, **params: Any) -> str:
    """The report's wording of key: the cells' (report_cells) when the rows are cells, else the units' (report)."""
    return t(("report_cells." if data.cell_node else "report.") + key, **params)


def _name_key(data: ReportData) -> str:
    """The key naming a row of tables 1-3: a cell's name, or a unit's."""
    return "cell_name" if data.cell_node else "unit_name"


def _attendance_rows(data: ReportData) -> list[dict]:
    """The rows of tables 1 and 2: the node's cells, or the units under it."""
    return data.by_cell["attendance_by_cell"] if data.cell_node else data.figures["attendance_by_unit"]


def _quality_rows(data: ReportData) -> list[dict]:
    return data.by_cell["quality_by_cell"] if data.cell_node else data.quality


def _node_name(data: ReportData) -> str:
    node = data.cell_node or {}
    return data.unit_names.get(node.get("code"), node.get("name") or "")


def _node_committee(data: ReportData) -> str:
    """The committee whose cells the rows are, as a sentence names it: 'Đảng ủy xã Nhị Long'; a name that is already
    a party body's ('Đảng bộ bộ phận …') stays as it is."""
    name = _node_name(data).strip()
    if name.lower().startswith(("đảng bộ", "đảng ủy", "đảng uỷ")):
        return name
    return t("report_cells.node_committee", unit=mid_sentence(name))


def _weakness_rows(data: ReportData) -> list[dict]:
    """Table 7 and its sheet: weaknesses noted in the period per unit, or per cell with those noted for the whole
    node (no cell) in a row of its own; each with its name."""
    if not data.cell_node:
        return [{**u, "unit_name": _unit_label(data, u["unit_code"])}
                for u in data.figures["weaknesses"]["by_unit"]]
    whole = t("report_cells.whole_node", unit=_node_name(data))
    return [{**w, "cell_name": w["cell_name"] if w["cell_code"] else whole}
            for w in data.by_cell["weaknesses_noted_by_cell"]]


# ---- the Party's format (Hướng dẫn 36-HD/VPTW, branch format36) ----------------------------------------------
# A report the board can sign: the header, number and date of the body valid at the period's end; the trích yếu in
# lower case; the legal basis and the decisions cited with their issuer and dashed dates; I. the figures, II. the
# assessment, III. the tasks, IV. the recommendations to the upper level, the last three written by the board (a
# draft's narrative, else dotted lines to fill); long tables in numbered appendices after the signature; the
# recipients built from the body's fixed list, its upper body and the bodies the figures concern.

NARRATIVE_KEYS = ("uu_diem", "han_che", "nguyen_nhan_khach_quan", "nguyen_nhan_chu_quan", "nhiem_vu", "kien_nghi")
# A table with more rows than this goes to an appendix (when the table may: per-unit tables of a province stay).
APPENDIX_ROWS = 12
PLACEHOLDER_LINES = 3
# The statements the Party's format reads beside the figures, whatever the size: the decisions with their issuers
# (assignments, bodies), the posts at the period's end, the signer's post, the overdue list as of the period's end
# (its statement and the flat-tree check).
FORMAT36_STATEMENTS = 6
# The counts the document and the workbook both say are "as of" a day (metrics.as_of_day).
AS_OF_KEYS = ("weaknesses_open", "weaknesses_overdue")


def _running(body: dict[str, Any]) -> str:
    """A body's committee as a sentence names it: 'Tỉnh ủy Vĩnh Long'; one typed in capitals reads as a sentence."""
    head = letterhead(body)
    committee = head["committee"]
    if committee.isupper():
        kind, place = head["committee_kind"], head["place"]
        return f"{kind} {place}" if place and kind != committee.capitalize() else committee.capitalize()
    return committee


def _office(head: dict[str, Any]) -> str:
    """The office that keeps the archive copy: 'Tỉnh ủy', 'Huyện ủy', 'Đảng ủy' (of 'Đảng ủy xã An Trường')."""
    words = head["committee_kind"].split()
    if len(words) >= 2 and words[1].lower() in ("ủy", "uỷ"):
        return " ".join(words[:2])
    return head["committee_kind"].strip()


def _standing(head: dict[str, Any]) -> str:
    """The standing committee that signs the report: 'Ban Thường vụ Tỉnh ủy Vĩnh Long'."""
    return t("report.f36.standing", committee=head.get("running") or head["committee"])


def _bodies_by_unit(bodies: Sequence[dict]) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {}
    for b in sorted(bodies, key=lambda b: str(b["effective_from"])):
        out.setdefault(b["unit_id"], []).append(b)
    return out


def _body_on(found: Sequence[dict], day: str) -> dict | None:
    """The body of a node in force on a day (the latest taking effect by then), else its first."""
    earlier = [b for b in found if str(b["effective_from"])[:10] <= day]
    return earlier[-1] if earlier else (found[0] if found else None)


def decision_issuer(assignment: dict[str, Any], bodies: Sequence[dict]) -> str | None:
    """Who issued an assignment decision, as a citation names it: 'Ban Thường vụ Huyện ủy Càng Long'. From the
    decision's issuer (assignments.issuer_unit_id) and that node's body on the decision's day; when the issuer is not
    stored, from the symbol's suffix ('…-QĐ/HU') and the one body of that symbol in force that day; None when
    neither tells (the citation then names no issuer rather than a guessed one)."""
    day = str(assignment.get("decision_date") or assignment.get("valid_from") or "9999-12-31")[:10]
    by_unit = _bodies_by_unit(bodies)
    issuer = assignment.get("issuer_unit_id")
    if issuer is not None:
        body = _body_on(by_unit.get(issuer, ()), day)
        return t("report.f36.standing", committee=_running(body)) if body else None
    number = str(assignment.get("decision_no") or "")
    if "/" not in number:
        return None
    suffix = number.rsplit("/", 1)[1].strip().upper()
    found = {id(b): b for unit in by_unit.values() if (b := _body_on([x for x in unit
                                                                      if str(x["effective_from"])[:10] <= day], day))
             and letterhead(b)["symbol"].upper() == suffix}
    if len(found) != 1:
        return None
    return t("report.f36.standing", committee=_running(next(iter(found.values()))))


def decision_citations(db: Database, period: metrics.Period, unit_code: str | None) -> list[str]:
    """The assignment decisions in force during the period as a party document cites them, oldest first:
    'Quyết định số 395-QĐ/HU, ngày 21-02-2022 của Ban Thường vụ Huyện ủy Càng Long'."""
    found: dict[str, dict] = {}
    start, end = period.start.isoformat(), period.end.isoformat()
    cursor = db.execute(assignments.LIST_SQL, {"unit_id": None, "leader_id": None, "on": None})  # one statement
    names = [d[0] for d in cursor.description]
    for row in cursor:
        a = dict(zip(names, row, strict=True))
        if unit_code and a["unit_code"] != unit_code:
            continue
        if a["decision_no"] and a["valid_from"] <= end and (a["valid_to"] is None or a["valid_to"] >= start):
            found.setdefault(a["decision_no"], a)
    if not found:
        return []
    bodies = org.list_bodies(db)
    out = []
    for a in sorted(found.values(), key=lambda a: (a["decision_date"] or "", a["decision_no"])):
        text = (t("report.f36.decision", no=a["decision_no"], date=party_date(a["decision_date"]))
                if a["decision_date"] else t("report.decision_no_date", no=a["decision_no"]))
        issuer = decision_issuer(a, bodies)
        out.append(text + (t("report.f36.decision_by", issuer=issuer) if issuer else ""))
    return out


@dataclass
class _Extras:
    """What the document reads beside the figures: the citations, the body's document settings, the posts at the
    period's end and the weaknesses overdue as of the counting day."""

    citations: list[str]
    document: dict[str, Any]
    posts: dict[str, dict]
    overdue: list[dict]
    as_of: date
    signer_name: str


def _signer_from_posts(db: Database, head: dict[str, Any], day: date) -> str:
    """The signer's name when the body names none: the one leader whose post at the body's node that day has the
    signer's title ('Phó Bí thư Tỉnh ủy' for 'PHÓ BÍ THƯ'); '' when none or several (the dots are signed over)."""
    title = str(head.get("signer_title") or "").strip()
    if not title or head.get("unit_id") is None:
        return ""
    names = leaders.holders(db, head["unit_id"], title, day)
    return names[0] if len(names) == 1 else ""


def _extras(path_or_db: Any, data: ReportData) -> _Extras:
    filters = metrics.Filters(unit_codes=(data.unit_code,) if data.unit_code else ())
    head = data.head or {}
    document = org.document_of(data.settings, head.get("id"))  # the settings gather read: no statement more
    with session(path_or_db) as db:
        signer = document["signer_name"] or _signer_from_posts(db, head, data.period.end)
        return _Extras(citations=decision_citations(db, data.period, data.unit_code), document=document,
                       posts=leaders.posts_on(db, data.period.end),
                       overdue=directory.relabel(metrics.overdue_as_of(db, data.period, filters, data.today),
                                                 *data.renames),
                       as_of=metrics.as_of_day(data.period, data.today), signer_name=signer)


def _committee_like(name: str) -> bool:
    """A row named as a party body already ('Huyện ủy Càng Long', 'Đảng bộ xã …'), not as a place ('Xã An Trường')."""
    words = name.lower().split()
    return name.lower().startswith(("đảng ủy", "đảng uỷ", "đảng bộ")) or (len(words) > 1 and words[1] in ("ủy", "uỷ"))


def _acting_line(data: ReportData, acting: Sequence[str], by_cells: bool) -> str:
    """The bodies concerned as one recipient line: 'Đảng ủy xã An Trường, xã Nhị Long' (or 'Chi bộ ấp 1, ấp 2'); a
    row already named as a committee keeps its name ('Huyện ủy Càng Long'), a sub-committee is its committee."""
    if by_cells:
        names = [mid_sentence(n) for n in acting]
        names = [n[len("chi bộ "):] if n.startswith("chi bộ ") else n for n in names]
        return t("report_cells.f36.to_acting", names=", ".join(names))
    plain = [mid_sentence(n) for n in acting if not _committee_like(n)]
    whole = [t("report.f36.committee_of", names=n[len("đảng bộ"):].strip()) if n.lower().startswith("đảng bộ")
             else n for n in acting if _committee_like(n)]
    parts = ([t("report.f36.committee_of", names=", ".join(plain))] if plain else []) + whole
    return t("report.f36.to_acting", names=", ".join(parts))


def _acting(data: ReportData, extras: _Extras) -> list[str]:
    """The units (or, at a node whose rows are cells, the cells) the figures show short of the mark, as named in
    the findings: low attendance, months without a regular meeting, weaknesses overdue. Only rows due to meet in
    the period: a unit gone before it (a district abolished mid-2025) is no one to send the report to."""
    name = _name_key(data)
    rows = _attendance_rows(data)
    active = {r[name] for r in rows if r["cell_months"] or r["meetings"]}
    found: list[str] = []
    for r in rows:
        if r["rate"] is not None and r["rate"] < data.threshold:
            found.append(r[name])
    found += [r[name] for r in data.missing if r["status"] == "missing"]
    found += [w[name] for w in extras.overdue if w.get(name)]
    return sorted({n for n in found if n in active}, key=lambda n: search_key(n))


GENERIC_UNITS = ("các xã", "các đảng bộ", "đảng ủy các", "đảng uỷ các", "các phường")
GENERIC_CELLS = ("các chi bộ",)


def report_recipients(data: ReportData, extras: _Extras) -> list[str]:
    """'Nơi nhận': the upper body (b/c) when set and not already listed, the body's fixed recipients, the bodies the
    figures concern (unless a fixed line already covers them all, "Đảng ủy các xã, phường"), the archive last."""
    head = data.head or {}
    fixed = [line for line in head.get("recipients") or () if line.strip() and line != t("report.to_archive")]
    archive = [line for line in fixed if line.strip("- ").lower().startswith("lưu")]
    fixed = [line for line in fixed if line not in archive]
    lower = " ".join(fixed).lower()
    out: list[str] = []
    upper = extras.document.get("upper_body") or ""
    if upper and upper.lower() not in lower:
        out.append(t("report.f36.to_upper", body=upper))
    out += fixed
    acting = _acting(data, extras)
    by_cells = data.cell_node is not None and not data.unit_code
    if acting and data.cell_node and data.unit_code:
        # a report narrowed to one commune goes to that commune's committee, not over its head to its cells
        acting = [data.unit_name or _node_name(data)]
    generic = GENERIC_CELLS if by_cells else GENERIC_UNITS
    if acting and not any(g in lower for g in generic):
        out.append(_acting_line(data, acting, by_cells))
    out += archive or [t("report.f36.archive", office=_office(head))]
    return out


def _missing_text(data: ReportData, tables: "_Tables") -> None:
    months: dict[tuple[str, str], list[str]] = {}
    for r in data.missing:
        if r["status"] == "missing":
            months.setdefault((r["cell_name"], r["unit_name"]), []).append(f"{r['month'][5:]}/{r['month'][:4]}")
    if not months:
        return
    if len(months) <= LIST_LIMIT:
        items = [_word(data, "missing_item", cell=mid_sentence(cell), unit=mid_sentence(unit), months=", ".join(ms))
                 for (cell, unit), ms in months.items()]
        _para(tables.doc, t("report.missing_list", items="; ".join(items)))
        return
    # Many cells: counted in the body, listed in an appendix (not in a file the reader does not have).
    _para(tables.doc, t("report.f36.missing_many", n=fmt_num(len(months))))
    tables.add(t("report.f36.t_missing"),
               [t("report.col_no"), t("report_cells.col_unit"), t("report.col_unit"), t("report.col_month")],
               [[fmt_num(i), cell, unit, ", ".join(ms)] for i, ((cell, unit), ms) in enumerate(months.items(), 1)],
               (1.2, 5.3, 5.0, 5.0), text_cols=4, appendix=True)


def _heading(doc: DocxDocument, text: str, before: float = 6) -> None:
    _para(doc, text, bold=True, keep=True, before=before)


def _section_meetings(doc: DocxDocument, tables: "_Tables", data: ReportData, pngs: "_Pictures") -> None:
    tot, units, name = data.totals, _attendance_rows(data), _name_key(data)
    # the rows of a province (its communes) stay in the body; a commune's cells go to an appendix when many
    long_ok = data.cell_node is not None
    _heading(doc, t("report.s1_1"), before=0)
    _para(doc, _word(data, "s1_coverage", period=period_text(data.period), units=fmt_num(len(units)),
                 node=_node_committee(data) if data.cell_node else "",
                 cell_months=fmt_num(tot["cell_months"]), held=fmt_num(tot["held"]),
                 coverage=fmt_pct(tot["coverage"]), missing=fmt_num(data.headline["missing_meetings"]),
                 on_schedule=fmt_pct(tot["on_schedule_rate"]), regular=fmt_num(tot["regular"]))
          + (" " + t("report.s1_upcoming", upcoming=fmt_num(tot["upcoming"])) if tot["upcoming"] else ""))
    tables.add(_word(data, "t_coverage"),
               [t("report.col_no"), _word(data, "col_unit"), t("report.col_cell_months"), t("report.col_held"),
                t("report.col_coverage"), t("report.col_on_schedule")],
               [[fmt_num(i), r[name], fmt_num(r["cell_months"]), fmt_num(r["held"]), fmt_pct(r["coverage"]),
                 fmt_pct(r["on_schedule_rate"])] for i, r in enumerate(units, 1)],
               (1.2, 5.3, 2.6, 2.4, 2.4, 2.6),
               total=["", t("report.total"), fmt_num(tot["cell_months"]), fmt_num(tot["held"]),
                      fmt_pct(tot["coverage"]), fmt_pct(tot["on_schedule_rate"])], appendix=long_ok)
    _missing_text(data, tables)

    _heading(doc, t("report.s1_2"))
    _para(doc, t("report.s1_attendance", meetings=fmt_num(tot["meetings"]), required=fmt_num(tot["required"]),
                 present=fmt_num(tot["present"]), rate=fmt_pct(tot["rate"]),
                 excused=fmt_num(tot["absent_excused"]), unexcused=fmt_num(tot["absent_unexcused"])))
    tables.add(_word(data, "t_attendance"),
               [t("report.col_no"), _word(data, "col_unit"), t("report.col_meetings"), t("report.col_required"),
                t("report.col_present"), t("report.col_excused"), t("report.col_unexcused"), t("report.col_rate")],
               [[fmt_num(i), r[name], fmt_num(r["meetings"]), fmt_num(r["required"]), fmt_num(r["present"]),
                 fmt_num(r["absent_excused"]), fmt_num(r["absent_unexcused"]), fmt_pct(r["rate"])]
                for i, r in enumerate(units, 1)],
               (1.2, 4.1, 1.6, 1.9, 1.9, 1.9, 1.9, 2.0),
               total=["", t("report.total"), fmt_num(tot["meetings"]), fmt_num(tot["required"]),
                      fmt_num(tot["present"]), fmt_num(tot["absent_excused"]), fmt_num(tot["absent_unexcused"]),
                      fmt_pct(tot["rate"])], appendix=long_ok)
    low = [r for r in units if r["rate"] is not None and r["rate"] < data.threshold]
    if low:
        _para(doc, _word(data, "low_units", n=fmt_num(len(low)), threshold=fmt_pct(data.threshold),
                         units=", ".join(f"{mid_sentence(r[name])} ({fmt_pct(r['rate'])})"
                                         for r in sorted(low, key=lambda r: r["rate"]))))
    elif any(r["rate"] is not None for r in units):
        _para(doc, _word(data, "all_units_above", threshold=fmt_pct(data.threshold)))
    if "attendance" in pngs:
        pngs.place(doc, "attendance")

    _heading(doc, t("report.s1_3"))
    props = {p["property"]: p for p in data.properties}
    r = data.ratings
    _para(doc, t("report.s1_quality", tot=fmt_num(r["tot"]), kha=fmt_num(r["kha"]),
                 trung_binh=fmt_num(r["trung_binh"]), kem=fmt_num(r["kem"]), unrated=fmt_num(r["unrated"]),
                 leadership=fmt_num(props["leadership"]["count"]),
                 leadership_share=fmt_pct(props["leadership"]["share"]),
                 education=fmt_num(props["education"]["count"]),
                 education_share=fmt_pct(props["education"]["share"]),
                 combativeness=fmt_num(props["combativeness"]["count"]),
                 combativeness_share=fmt_pct(props["combativeness"]["share"])))
    tables.add(_word(data, "t_quality"),
               [t("report.col_no"), _word(data, "col_unit"), t("report.col_meetings")]
               + [Rating(k).label for k in ("tot", "kha", "trung_binh", "kem")]
               + [t("report.col_leadership"), t("report.col_education"), t("report.col_combativeness")],
               [[fmt_num(i), q[name], fmt_num(q["meetings"]), fmt_num(q["tot"]), fmt_num(q["kha"]),
                 fmt_num(q["trung_binh"]), fmt_num(q["kem"]), fmt_num(q["leadership"]), fmt_num(q["education"]),
                 fmt_num(q["combativeness"])] for i, q in enumerate(_quality_rows(data), 1)],
               (1.2, 3.6, 1.3, 1.2, 1.2, 1.5, 1.2, 1.8, 1.7, 1.8),
               total=["", t("report.total"), fmt_num(tot["meetings"]), fmt_num(r["tot"]), fmt_num(r["kha"]),
                      fmt_num(r["trung_binh"]), fmt_num(r["kem"]), fmt_num(props["leadership"]["count"]),
                      fmt_num(props["education"]["count"]), fmt_num(props["combativeness"]["count"])],
               appendix=long_ok)
    if "quality" in pngs:
        pngs.place(doc, "quality")
    _classification_table(doc, tables, data)


def _classification_table(doc: DocxDocument, tables: "_Tables", data: ReportData) -> None:
    """A year's classification of cells per unit: decided levels, proposals not yet decided apart (when any)."""
    rows = data.classification
    tot = metrics.classification_totals(rows)
    if not rows or not (tot["decided"] or tot["proposed"]):
        return  # nothing classified this year: no table of zeros
    year = data.period.start.year
    _para(doc, t("class.report.intro", year=year, decided=fmt_num(tot["decided"]),
                 proposed=fmt_num(tot["proposed"]), unclassified=fmt_num(tot["unclassified"])))
    levels = [f"decided_{lv}" for lv in metrics.CLASS_LEVELS]
    keys = ["cells", *levels, "proposed", "unclassified"]
    tables.add(t("class.report.table", year=year),
               [t("report.col_no"), t("report.col_unit"), t("class.dist.cells"), t("class.report.col_xs"),
                t("class.report.col_tot"), t("class.report.col_ht"), t("class.report.col_kht"),
                t("class.report.col_proposed"), t("class.report.col_none")],
               [[fmt_num(i), r["unit_name"], *(fmt_num(r[k]) for k in keys)] for i, r in enumerate(rows, 1)],
               (1.2, 3.8, 1.5, 1.5, 1.5, 1.5, 1.5, 2.0, 2.0),
               total=["", t("report.total"), *(fmt_num(tot[k]) for k in keys)], appendix=True)


def short_leaders(data: ReportData) -> list[dict]:
    """Table 5: the leaders below 100% of the meetings their assignments ask, lowest first (a leader at 100% with a
    late or missing report is counted in the reports' paragraph, not here)."""
    return sorted((r for r in data.leader_rows if r["compliance"] is not None and r["compliance"] < 1),
                  key=lambda r: (r["compliance"], r["full_name"]))


def _section_leaders(doc: DocxDocument, tables: "_Tables", data: ReportData, pngs: "_Pictures",
                     extras: _Extras) -> None:
    head, status = data.headline, data.report_status
    assigned = [r for r in data.leaders if r["expected_thirds"]]
    group_totals = data.leader_totals
    expected = group_totals["expected"]
    _heading(doc, t("report.f36.s1_4"))
    _para(doc, t("report.s2_intro", decisions=_decision_text(extras.citations), leaders=fmt_num(len(assigned)),
                 expected=fmt_num(expected, 2), attended=fmt_num(status["attended"]),
                 compliance=fmt_pct(head["leader_compliance"])))
    _para(doc, t("report.f36.s1_4a"), italic=True, keep=True)
    tables.add(t("report.t_groups"),
               [t("report.col_no"), t("report.col_group"), t("report.col_leaders"), t("report.col_expected"),
                t("report.col_attended"), t("report.col_compliance"), t("report.col_reports"),
                t("report.col_late"), t("report.col_missing_reports")],
               [[fmt_num(i), data.group_label(g["grp"]), fmt_num(g["leaders"]), fmt_num(g["expected"], 2),
                 fmt_num(g["attended"]), fmt_pct(g["compliance"]), fmt_num(g["reports"]),
                 fmt_num(g["late_reports"]), fmt_num(g["missing_reports"])] for i, g in enumerate(data.groups, 1)],
               (1.2, 4.6, 1.4, 1.4, 1.3, 1.9, 1.7, 1.3, 1.7),
               total=["", t("report.total"), fmt_num(len(assigned)), fmt_num(expected, 2),
                      fmt_num(group_totals["attended"]), fmt_pct(group_totals["compliance"]),
                      fmt_num(group_totals["reports"]), fmt_num(group_totals["late_reports"]),
                      fmt_num(group_totals["missing_reports"])])
    if "groups" in pngs:
        pngs.place(doc, "groups")

    _para(doc, t("report.f36.s1_4b"), italic=True, keep=True)
    short = short_leaders(data)
    if short:
        _para(doc, t("report.f36.short_intro", n=fmt_num(len(short))), keep=True)

        def post(r: dict) -> str:
            found = extras.posts.get(r["leader_code"])
            return (found or {}).get("title") or (found or {}).get("grp_label") or data.group_label(r["grp"])

        tables.add(t("report.t_short"),
                   [t("report.col_no"), t("field.full_name"), t("field.position"), t("report.col_expected"),
                    t("report.col_attended"), t("report.col_compliance"), t("report.col_late"),
                    t("report.col_missing_reports")],
                   [[fmt_num(i), r["full_name"], post(r), fmt_num(r["expected"], 2), fmt_num(r["attended"]),
                     fmt_pct(r["compliance"]), fmt_num(r["late_reports"]), fmt_num(r["missing_reports"])]
                    for i, r in enumerate(short, 1)],
                   (1.2, 3.5, 4.4, 1.3, 1.2, 1.9, 1.3, 1.5), text_cols=3, appendix=True)
    else:
        _para(doc, t("report.f36.short_none"))

    _para(doc, t("report.f36.s1_4c"), italic=True, keep=True)
    _para(doc, t("report.s2_reports", reports=fmt_num(group_totals["reports"]),
                 attended=fmt_num(status["attended"]), on_time=fmt_num(status["on_time"]),
                 late=fmt_num(status["late"]), days=fmt_num(data.report_days), missing=fmt_num(status["missing"]),
                 board=_board(data.head)))
    if "reports" in pngs:
        pngs.place(doc, "reports")


def _section_weaknesses(doc: DocxDocument, tables: "_Tables", data: ReportData, pngs: "_Pictures",
                        extras: _Extras) -> None:
    weak = data.figures["weaknesses"]
    status = weak["by_status"]
    day = fmt_day(extras.as_of)
    _heading(doc, t("report.f36.s1_5"))
    # open and overdue as of the period's end (or today if earlier), as the workbook's summary counts them
    _para(doc, t("report.f36.s5_intro", noted=fmt_num(data.headline["weaknesses_noted"]),
                 resolved=fmt_num(status["resolved"]), in_progress=fmt_num(status["in_progress"]),
                 open=fmt_num(status["open"]), day=day, open_now=fmt_num(data.headline["weaknesses_open"]),
                 overdue=fmt_num(data.headline["weaknesses_overdue"])))
    cats = [(c, n) for c, n in weak["by_category"].items() if n]
    if cats:
        tables.add(t("report.t_categories"),
                   [t("report.col_no"), t("report.col_category"), t("report.col_count")],
                   [[fmt_num(i), WeaknessCategory(c).label, fmt_num(n)] for i, (c, n) in enumerate(cats, 1)],
                   (1.2, 12.3, 3.0),
                   total=["", t("report.total"), fmt_num(data.headline["weaknesses_noted"])])
    if weak["by_unit"]:
        tables.add(_word(data, "t_weak_units"),
                   [t("report.col_no"), _word(data, "col_unit"), t("report.col_weak_open"),
                    t("report.col_weak_resolved")],
                   [[fmt_num(i), u[_name_key(data)], fmt_num(u["open"]), fmt_num(u["resolved"])]
                    for i, u in enumerate(_weakness_rows(data), 1)],
                   (1.2, 8.3, 3.5, 3.5), appendix=data.cell_node is not None)
    if "weaknesses" in pngs:
        pngs.place(doc, "weaknesses")
    overdue = extras.overdue
    if overdue:
        _para(doc, t("report.f36.overdue_intro", n=fmt_num(len(overdue)), day=day), keep=True)
        tables.add(t("report.f36.t_overdue", day=day),
                   [t("report.col_no"), t("report.col_place"), t("report.col_category"), t("field.noted_on"),
                    t("field.due_on"), t("report.col_age")],
                   [[fmt_num(i), ", ".join(x for x in (w["cell_name"], w["unit_name"]) if x),
                     WeaknessCategory(w["category"]).label, fmt_day(w["noted_on"]), fmt_day(w["due_on"]),
                     fmt_num(w["age_days"])] for i, w in enumerate(overdue, 1)],
                   (1.2, 4.6, 4.5, 2.2, 2.2, 1.8), text_cols=3, appendix=True)


# ---- members the rules flag (issue 12, branch rules) ----------------------------------------------------------

# The flagged members a report names: a year's list is a handful per commune; more are counted, not listed.
FLAGGED_LIMIT = 500


def member_flags_section(doc: DocxDocument, tables: "_Tables", data: ReportData, flags: dict[str, Any],
                         number: int = 6) -> None:
    """"Members to be considered under Statute Art. 8 and 12-HD": the count per unit and the names (the report's
    unit, already held to the user's scope by the reports page); nothing when the period has no member marks."""
    if not flags.get("marked"):
        return
    art8, hd12 = flags["art8"], flags["hd12"]
    _heading(doc, f"{number}. {t('rules.report.title')}")
    _para(doc, t("rules.report.intro", period=period_text(data.period), art8=fmt_num(len(art8["flags"])),
                 n=fmt_num(art8["threshold"] or 0), hd12=fmt_num(len(hd12["flags"])),
                 m=fmt_num(hd12["threshold"] or 0)))
    rows = [(rule, f) for rule in ("art8", "hd12") for f in flags[rule]["flags"]]
    if not rows:
        return
    per_unit: dict[str, list[int]] = {}
    for rule, f in rows:
        per_unit.setdefault(f["unit_name"], [0, 0])[0 if rule == "art8" else 1] += 1
    tables.add(t("rules.report.t_units"),
               [t("report.col_no"), t("chart.unit"), t("rules.report.col_art8"), t("rules.report.col_hd12")],
               [[fmt_num(i), unit, fmt_num(a), fmt_num(h)] for i, (unit, (a, h)) in enumerate(per_unit.items(), 1)],
               (1.2, 8.3, 3.5, 3.5),
               total=["", t("report.total"), fmt_num(len(art8["flags"])), fmt_num(len(hd12["flags"]))])
    # names only: a member's code is the register's, not the reader's
    tables.add(t("rules.report.t_names"),
               [t("report.col_no"), t("rules.col_name"), t("report.col_place"), t("rules.report.col_rule"),
                t("rules.report.col_count")],
               [[fmt_num(i), f["full_name"], f"{f['cell_name']}, {f['unit_name']}",
                 t(f"rules.report.rule_{rule}"), fmt_num(f["count"])]
                for i, (rule, f) in enumerate(rows[:FLAGGED_LIMIT], 1)],
               (1.2, 5.0, 5.3, 3.0, 2.0), text_cols=4, appendix=True)
    if len(rows) > FLAGGED_LIMIT:
        _para(doc, t("report.f36.more_rows", n=fmt_num(len(rows) - FLAGGED_LIMIT)), italic=True)


def report_member_flags(path_or_db: Any, data: ReportData) -> dict[str, Any]:
    """The rule flags of a report's period and unit (metrics.member_flags), and whether the period has marks (one
    look-up, and nothing more, for a database without member lists)."""
    filters = metrics.Filters(unit_codes=(data.unit_code,) if data.unit_code else ())
    with session(path_or_db) as db:
        if not metrics.has_member_marks(db, data.period):
            return {"marked": False}
        return {**metrics.member_flags(db, domain.SYSTEM, data.period, filters, data.today), "marked": True}


def _board(head: dict[str, Any] | None) -> str:
    """The advising board as running text names it: the body's own, else its committee (letterhead)."""
    return head["board"] if head else t("report.board_none")


def _board_addressed(head: dict[str, Any]) -> str:
    """The board as a letter addresses it: 'Ban Tổ chức Huyện ủy' + ' Càng Long' when the committee is named after
    the place; a board left blank is the committee itself, already whole."""
    board, place = head["board"], head["place"]
    if head["board_given"] and place and head["committee"].lower().endswith(place.lower()) \
            and not board.lower().endswith(place.lower()):
        return f"{board} {place}"
    return board


def findings(data: ReportData, overdue: Sequence[dict] | None = None) -> list[str]:
    """What falls short, each from a figure, stated (not ordered): a draft's default for "hạn chế" (the board edits
    it). Bodies are named; cadres are counted, their names being in table 5."""
    if data.empty:
        return []
    out: list[str] = []
    name = _name_key(data)
    low = sorted((r for r in _attendance_rows(data) if r["rate"] is not None and r["rate"] < data.threshold),
                 key=lambda r: r["rate"])
    if low:
        out.append(_word(data, "f36.low", threshold=fmt_pct(data.threshold),
                         units=", ".join(f"{mid_sentence(r[name])} ({fmt_pct(r['rate'])})" for r in low)))
    gaps: dict[str, int] = {}
    for r in data.missing:
        if r["status"] == "missing":  # only months that are over: a cell yet to meet this month is not behind
            gaps[r[name]] = gaps.get(r[name], 0) + 1
    if gaps:
        out.append(_word(data, "f36.gaps", n=fmt_num(sum(gaps.values())), units=", ".join(
            f"{mid_sentence(n)} ({fmt_num(k)})" for n, k in sorted(gaps.items(), key=lambda kv: (-kv[1], kv[0])))))
    short = short_leaders(data)
    if short:
        out.append(t("report.f36.find_leaders", n=fmt_num(len(short))))
    status = data.report_status
    if status["missing"]:
        out.append(t("report.f36.find_missing", n=fmt_num(status["missing"]), board=_board(data.head)))
    if status["late"]:
        out.append(t("report.f36.find_late", n=fmt_num(status["late"]), days=fmt_num(data.report_days)))
    if data.headline["weaknesses_overdue"]:
        out.append(t("report.f36.find_overdue", n=fmt_num(data.headline["weaknesses_overdue"]),
                     day=fmt_day(metrics.as_of_day(data.period, data.today))))
    return out


def recommendations(data: ReportData) -> list[str]:
    """Tasks for the time ahead, each drawn from a figure that falls short, worded for the committee's own work (no
    order to a named cadre): a draft's default for "nhiệm vụ, giải pháp" that the board edits."""
    if data.empty:
        return [_word(data, "rec_no_data")]
    out: list[str] = []
    units = _attendance_rows(data)
    if any(r["rate"] is not None and r["rate"] < data.threshold for r in units):
        out.append(_word(data, "f36.task_attendance", threshold=fmt_pct(data.threshold)))
    if any(r["status"] == "missing" for r in data.missing):
        out.append(_word(data, "f36.task_coverage"))
    if short_leaders(data):
        out.append(t("report.f36.task_leaders"))
    if data.report_status["missing"] or data.report_status["late"]:
        out.append(t("report.f36.task_reports", days=fmt_num(data.report_days), board=_board(data.head)))
    if data.headline["weaknesses_overdue"]:
        out.append(_word(data, "f36.task_weaknesses"))
    return out or [_word(data, "rec_keep_up")]


def narrative_defaults(data: ReportData) -> dict[str, str]:
    """A new draft's narrative drawn from the figures: the shortfalls as "hạn chế", the tasks as "nhiệm vụ, giải
    pháp"; the rest (ưu điểm, nguyên nhân, kiến nghị) is the board's to write. One item a line, as the draft edits
    them (lib.register may start a draft with these)."""
    return {"han_che": "\n".join(f"- {line}" for line in findings(data)),
            "nhiem_vu": "\n".join(f"- {line}" for line in recommendations(data))}


def _subtitle(data: ReportData) -> str:
    """The trích yếu: in lower case, no stray comma (36-HD)."""
    text = t("report.subtitle", period=period_text(data.period))
    if data.unit_name:
        text += t("report.subtitle_unit", unit=mid_sentence(data.unit_name))
    return text


def _narrative(doc: DocxDocument, text: str | None) -> None:
    """A section the board writes: its text a paragraph a line; dotted lines to fill when it has none."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not lines:
        _dotted_lines(doc, PLACEHOLDER_LINES)
        return
    for line in lines:
        _para(doc, line)


def _appendix_reference(head: dict[str, Any], number: int | None, issued_on: date | None) -> str:
    return t("report.f36.appendix_of", symbol=doc_symbol(head, "BC", number),
             day=party_date(issued_on) if issued_on else "…", body=_standing(head))


def compiled_docx(path_or_db: Any, period_label: str, unit_code: str | None = None, today: date | None = None,
                  progress: Progress | None = None, *, narrative: Mapping[str, str] | None = None,
                  number: int | None = None, issued_on: date | None = None) -> bytes:
    """The compiled report of a period as a Vietnamese party document (DOCX bytes); narrative, number and
    issued_on are a draft's or an issued report's (lib.register): sections without text print dotted lines."""
    progress = progress or _noop
    data = gather(path_or_db, period_label, unit_code, today, progress)
    if data.head is None:  # a report with nobody to issue it is no report: say where to set the body
        raise org.NoIssuingBody(data.period.end)
    head = data.head
    narrative = narrative or {}
    extras = _extras(path_or_db, data)
    flags = report_member_flags(path_or_db, data)
    pngs = _Pictures(None if data.empty else data)
    progress(0.4, t("report.progress_charts"))
    doc = _new_document()
    _page_numbers(doc)
    # The header, symbol, board and signature of the body that issued reports at the period's end.
    _header_block(doc, head, "BC", (issued_on or data.today).year, number, issued_on)
    _centre(doc, t("report.title"), bold=True, size=16)
    _centre(doc, _subtitle(data), bold=True)
    _centre(doc, "-----", after=10)
    intro = _word(data, "intro", decisions=_decision_text(extras.citations), period=period_text(data.period),
                  board=_board(head), committee=head["committee_kind"])
    if extras.document["legal_basis"]:
        bases = "; ".join(b.rstrip(" ;,.") for b in extras.document["legal_basis"])
        intro = t("report.f36.legal_basis", bases=bases, rest=intro[:1].lower() + intro[1:])
    _para(doc, intro)
    tables = _Tables(doc)
    _para(doc, f"I. {t('report.f36.s1')}", bold=True, keep=True, before=6)
    if data.empty:
        _para(doc, t("report.no_data", period=period_text(data.period)))
    else:
        _section_meetings(doc, tables, data, pngs)
        _section_leaders(doc, tables, data, pngs, extras)
        _section_weaknesses(doc, tables, data, pngs, extras)
    member_flags_section(doc, tables, data, flags)
    progress(0.7, t("report.progress_document"))
    _para(doc, f"II. {t('report.f36.s2')}", bold=True, keep=True, before=6)
    for key, heading in (("uu_diem", "s2_1"), ("han_che", "s2_2")):
        _heading(doc, t(f"report.f36.{heading}"), before=0)
        _narrative(doc, narrative.get(key))
    _heading(doc, t("report.f36.s2_3"), before=0)
    for key, heading in (("nguyen_nhan_khach_quan", "s2_3a"), ("nguyen_nhan_chu_quan", "s2_3b")):
        _para(doc, t(f"report.f36.{heading}"), italic=True, keep=True)
        _narrative(doc, narrative.get(key))
    _para(doc, f"III. {t('report.f36.s3')}", bold=True, keep=True, before=6)
    _narrative(doc, narrative.get("nhiem_vu"))
    _para(doc, f"IV. {t('report.f36.s4')}", bold=True, keep=True, before=6)
    _narrative(doc, narrative.get("kien_nghi"))
    _para(doc, t("report.closing_text", period=period_text(data.period)), after=12, keep=True)
    _closing(doc, report_recipients(data, extras), head["signer_capacity"],
             head["signer_title"] or t("report.name_blank"), extras.signer_name)
    tables.write_appendix(_appendix_reference(head, number, issued_on))
    progress(0.85, t("report.progress_charts"))
    pngs.finish()
    out = _to_bytes(doc)
    progress(1.0, t("report.progress_done"))
    return out



# ---- the data workbook ------------------------------------------------------------------

# Column kinds: text, int (whole numbers, days included), num (a whole number without decimals, a fraction with
# two: "8", not "8,00" expected meetings), pct (one decimal, as the pages show rates), date.
NUMBER_FORMATS = {"int": "#,##0", "num": "#,##0.00", "pct": "0.0%", "date": "dd/mm/yyyy"}
WHOLE_FORMAT = "#,##0"
HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")
COLUMN_LETTERS = [get_column_letter(i) for i in range(1, 703)]
MIN_WIDTH, HEADER_WIDTH, TEXT_WIDTH = 8, 40, 60


def _column_width(values: list, kind: str) -> int:
    """The characters the longest of a column's values (none empty) takes once formatted as its column shows it."""
    if not values:
        return 0
    if kind == "date":
        return 10
    if kind not in NUMBER_FORMATS:
        return max(len(v) if isinstance(v, str) else len(str(v)) for v in values)
    # a number's width grows with its size: the smallest and the largest are the widest
    ends = (min(values), max(values))
    if kind == "pct":
        return max(len(f"{v * 100:.1f}%") for v in ends)
    if kind == "num" and not all(float(v).is_integer() for v in values):
        return max(len(f"{v:,.2f}") for v in ends)
    return max(len(f"{int(v):,}") for v in ends)


class _Width:
    """_column_width of a column measured one value at a time, as the rows stream past: the same number."""

    __slots__ = ("kind", "seen", "low", "high", "longest", "whole")

    def __init__(self, kind: str):
        self.kind, self.seen, self.low, self.high, self.longest, self.whole = kind, False, None, None, 0, True

    def add(self, value: Any) -> None:
        """Count one shown value (neither None nor empty)."""
        kind = self.kind
        if kind == "date":
            self.seen = True
        elif kind not in NUMBER_FORMATS:
            self.seen = True
            self.longest = max(self.longest, len(value) if isinstance(value, str) else len(str(value)))
        else:
            # min() and max() keep the first of equal values: so does this
            if not self.seen:
                self.seen, self.low, self.high = True, value, value
            elif value < self.low:
                self.low = value
            elif value > self.high:
                self.high = value
            if kind == "num" and self.whole and not float(value).is_integer():
                self.whole = False

    def value(self) -> int:
        """The width, as _column_width gives it for the values added."""
        if not self.seen:
            return 0
        kind = self.kind
        if kind == "date":
            return 10
        if kind not in NUMBER_FORMATS:
            return self.longest
        ends = (self.low, self.high)
        if kind == "pct":
            return max(len(f"{v * 100:.1f}%") for v in ends)
        if kind == "num" and not self.whole:
            return max(len(f"{v:,.2f}") for v in ends)
        return max(len(f"{int(v):,}") for v in ends)


class _Block(tuple):
    """Body rows for _StreamedSheet, each the XML text of one <row>, numbered by _sheet."""


class _StreamedSheet(WriteOnlyWorksheet):
    """A write-only sheet whose body rows are the XML openpyxl writes for them, made here as text a block of rows
    at a time and kept in a temporary file until the sheet is closed, then put in place of a marker element in
    openpyxl's file. openpyxl's own write-only path makes a Cell object per value and writes it through a dozen
    calls: seconds for a year's meeting records at 1,000,000 meetings (a million cells). The header row takes
    openpyxl's path, before the body. The column widths (<cols>, which openpyxl writes before the rows) are put in
    at close too, so that they can be measured on the rows as they stream past rather than on a list of them."""

    MARKER = b"<chiboBodyRows/>"
    COLS_MARKER = b"<chiboCols/>"

    def __init__(self, parent: Workbook, title: str):
        super().__init__(parent, title)
        self._body: Any = None

    def _get_writer(self) -> None:
        if self._writer is None:
            writer = self._writer = WorksheetWriter(self)
            writer.write_cols = lambda: writer.xf.send(etree.Element(self.COLS_MARKER[1:-2].decode()))
            writer.write_top()

    def _write_rows(self) -> Any:
        xf = self._writer.xf.send(True)
        with xf.element("sheetData"):
            row_idx = 1
            try:
                while True:
                    row = yield
                    if isinstance(row, _Block):
                        if self._body is None:
                            self._body = tempfile.TemporaryFile()
                            xf.write(etree.Element(self.MARKER[1:-2].decode()))
                        self._body.write("".join(row).encode("utf-8"))
                        row_idx += len(row)
                    elif self._body is not None:
                        raise ValueError("a streamed sheet takes openpyxl rows only before its body rows")
                    else:
                        self._writer.write_row(xf, self._values_to_row(row, row_idx), row_idx)
                        row_idx += 1
            except GeneratorExit:
                pass
        self._writer.xf.send(None)

    def close(self) -> None:
        """Close as openpyxl does, then splice the column widths and the body rows into its file at their
        markers."""
        super().close()
        out = Path(self._writer.out)
        before, marker, after = out.read_bytes().partition(self.COLS_MARKER)
        if not marker:
            raise ValueError("the streamed sheet's column marker is missing from openpyxl's file")
        cols = self.column_dimensions.to_tree()
        text = before + (b"" if cols is None else etree.tostring(cols)) + after
        if self._body is None:
            out.write_bytes(text)
            return
        head, marker, tail = text.partition(self.MARKER)
        if not marker:
            raise ValueError("the streamed sheet's marker is missing from openpyxl's file")
        with out.open("wb") as dest:
            dest.write(head)
            self._body.seek(0)
            shutil.copyfileobj(self._body, dest)
            dest.write(tail)
        self._body.close()
        self._body = None


def _xml_text(value: str) -> str:
    """A text cell's <t> as openpyxl writes it: at most 32,767 characters, control characters refused, markup
    escaped (a carriage return as a reference, which a parser would otherwise turn into a line feed)."""
    value = value[:32767]
    if ILLEGAL_CHARACTERS_RE.search(value):
        raise IllegalCharacterError(f"{value} cannot be used in worksheets.")
    text = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    return f'<t xml:space="preserve">{text}</t>' if value != value.strip() else f"<t>{text}</t>"


def _xml_number(value: Any) -> str:
    # as openpyxl's safe_string: 16 significant digits, an empty value for NaN and infinities
    return "" if isinstance(value, float) and (isnan(value) or isinf(value)) else f"{value:.16g}"


BLOCK_ROWS = 2000


def _sheet(wb: Workbook, title: str, columns: Sequence[tuple[str, str, str]], rows: Iterable[dict]) -> None:
    """One sheet of a write-only workbook, its rows streamed (any iterable, read once): headers frozen, a filter
    over the table, widths fitting the longest value as shown, typed cells in their column's number format (text
    never a formula)."""
    ws = _StreamedSheet(parent=wb, title=title[:31])
    wb._add_sheet(ws)
    keys = [key for key, _, _ in columns]
    kinds = [kind for _, _, kind in columns]
    # The widths are measured on the rows as they are written; _StreamedSheet puts them in at close.
    measures = [_Width(kind) for kind in kinds]
    ws.freeze_panes = "A2"
    header = []
    for _, label, _ in columns:
        cell = WriteOnlyCell(ws, value=label)
        cell.data_type = "s"
        cell.font, cell.fill = Font(bold=True), HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        header.append(cell)
    ws.append(header)
    # The style of each number format, by its id in the workbook's list of cell styles.
    styles: dict[str, str] = {}
    for fmt in {*NUMBER_FORMATS.values(), WHOLE_FORMAT}:
        model = WriteOnlyCell(ws)
        model.number_format = fmt
        styles[fmt] = f' s="{model.style_id}"'
    column_styles = [styles[NUMBER_FORMATS[kind]] if kind in NUMBER_FORMATS else "" for kind in kinds]
    whole = styles[WHOLE_FORMAT]
    serials: dict[str, str] = {}  # a date's Excel serial number, by its ISO text: a year has 365 of them
    # Names, labels and counts repeat from row to row: each is made into XML once (notes and topics seldom repeat,
    # and long texts are not kept).
    texts: dict[str, str] = {}
    numbers: dict[Any, str] = {}
    columns_of = list(zip(COLUMN_LETTERS, keys, kinds, column_styles, measures))  # noqa: B905 (never > 702 wide)
    block: list[str] = []
    count = 0
    for count, row in enumerate(rows, 1):
        index = str(count + 1)
        cells = [f'<row r="{index}">']
        for letter, key, kind, style, measure in columns_of:
            value = row.get(key)
            if value is None or value == "":
                continue
            ref = letter + index
            if isinstance(value, str) and kind != "date":
                if kind == "text":  # _Width.add of a text, without the call
                    measure.seen = True
                    if len(value) > measure.longest:
                        measure.longest = len(value)
                else:
                    measure.add(value)
                text = texts.get(value)
                if text is None:
                    text = _xml_text(value)
                    if len(value) <= 80:
                        texts[value] = text
                # Names, notes and topics are typed by clerks: written as text, never as a live formula.
                cells.append(f'<c r="{ref}" t="inlineStr"><is>{text}</is></c>')
                continue
            measure.add(value)
            if isinstance(value, bool):
                cells.append(f'<c r="{ref}"{"" if kind == "text" else style} t="b"><v>{int(value)}</v></c>')
            elif kind == "date":
                day = value if isinstance(value, str) else value.isoformat()
                serial = serials.get(day)
                if serial is None:
                    serial = serials[day] = _xml_number(to_excel(date.fromisoformat(day[:10])))
                cells.append(f'<c r="{ref}"{style} t="n"><v>{serial}</v></c>')
            else:
                # equal numbers (1 and 1.0 too) are written alike, so one key serves them
                number = numbers.get(value)
                if number is None:
                    number = numbers[value] = _xml_number(value)
                if kind == "text":
                    cells.append(f'<c r="{ref}" t="n"><v>{number}</v></c>')
                    continue
                if kind == "num" and float(value).is_integer():
                    style = whole
                cells.append(f'<c r="{ref}"{style} t="n"><v>{number}</v></c>')
        cells.append("</row>")
        block.append("".join(cells))
        if len(block) == BLOCK_ROWS:
            ws.append(_Block(block))
            block = []
    if block:
        ws.append(_Block(block))
    for i, ((_, label, _), measure) in enumerate(zip(columns, measures, strict=True), 1):
        width = max(min(max(len(label), MIN_WIDTH), HEADER_WIDTH), min(measure.value(), TEXT_WIDTH))
        ws.column_dimensions[get_column_letter(i)].width = width + 2
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{count + 1}"


def _col(key: str, label_key: str, kind: str = "int") -> tuple[str, str, str]:
    return key, t(label_key), kind


def _summary_rows(data: ReportData) -> list[dict]:
    head = data.headline
    rows = [{"item": t("report.x_org"), "value": data.head["committee"] if data.head else data.settings["org_name"]},
            {"item": t("report.x_period"), "value": domain.period_display(data.period)},
            {"item": t("report.x_from"), "value": fmt_day(data.period.start)},
            {"item": t("report.x_to"), "value": fmt_day(data.period.end)},
            {"item": t("report.x_unit"), "value": t("report_cells.x_unit", unit=_node_name(data)) if data.cell_node
             else data.unit_name or t("report.x_all_units")},
            {"item": t("report.x_made_on"), "value": fmt_day(data.today)}]
    if data.empty:
        rows.append({"item": t("report.x_note"), "value": t("report.no_data", period=period_text(data.period))})
    for key in metrics.HEADLINE_KEYS + ("meetings", "missing_meetings", "upcoming_meetings", "weaknesses_noted"):
        value = head.get(key)
        shown = fmt_pct(value) if key.endswith(("rate", "coverage", "compliance")) else fmt_num(value)
        item = t(f"metrics.{key}")
        if key in AS_OF_KEYS:  # the day they are counted on, the same the document says (branch format36)
            item = t("report.f36.as_of_label", label=item, day=fmt_day(metrics.as_of_day(data.period, data.today)))
        rows.append({"item": item, "value": shown})
    return rows


def _renamed_records(records: Iterable[dict], units: dict[str, str], cells: dict[str, str]) -> Iterator[dict]:
    """directory.relabel of each meeting record (flat rows: their names replaced in place, without a copy)."""
    for r in records:
        if r["unit_code"] in units:
            r["unit_name"] = units[r["unit_code"]]
        if r["cell_code"] in cells:
            r["cell_name"] = cells[r["cell_code"]]
        yield r


def _record_rows(records: Iterable[dict], flags: Sequence[str]) -> Iterator[dict]:
    """The meeting records with their type, rating and flags in words (labels looked up once, not per row), one
    at a time as they come."""
    mtypes = {m.value: m.label for m in MeetingType}
    ratings = {r.value: r.label for r in Rating}
    yes_no = {True: t("report.yes"), False: t("report.no")}
    for m in records:
        m["mtype_label"] = mtypes[m["mtype"]]
        m["rating_label"] = ratings[m["rating"]] if m["rating"] else ""
        for f in flags:
            m[f"{f}_label"] = yes_no[bool(m[f])]
        yield m


def data_xlsx(path_or_db: Any, period_label: str, unit_code: str | None = None, today: date | None = None,
              progress: Progress | None = None) -> bytes:
    """The figure tables of a period and its raw meeting records as an Excel workbook (XLSX bytes)."""
    progress = progress or _noop
    data = gather(path_or_db, period_label, unit_code, today, progress)
    progress(0.5, t("report.progress_workbook"))
    # Write-only: each sheet's rows are streamed to the file rather than kept as cells in memory.
    wb = Workbook(write_only=True)
    weak = data.figures["weaknesses"]
    _sheet(wb, t("report.sh_summary"), [_col("item", "report.col_item", "text"),
                                         _col("value", "report.col_value", "text")], _summary_rows(data))
    unit_cols = [_col("unit_code", "report.col_unit_code", "text"), _col("unit_name", "report.col_unit", "text")]
    # the rows of the attendance, quality and weakness sheets: the node's cells, or the units under it
    row_cols = ([_col("cell_code", "report_cells.col_unit_code", "text"), _col("cell_name", "report_cells.col_unit",
                                                                               "text")]
                if data.cell_node else unit_cols)
    _sheet(wb, _word(data, "sh_attendance"), row_cols + [
        _col("meetings", "report.col_meetings"), _col("required", "report.col_required"),
        _col("present", "report.col_present"), _col("absent_excused", "report.col_excused"),
        _col("absent_unexcused", "report.col_unexcused"), _col("rate", "report.col_rate", "pct"),
        _col("cell_months", "report.col_cell_months"), _col("held", "report.col_held"),
        _col("coverage", "report.col_coverage", "pct"), _col("on_schedule_rate", "report.col_on_schedule", "pct")],
        _attendance_rows(data))
    _sheet(wb, _word(data, "sh_quality"), row_cols + [
        _col("meetings", "report.col_meetings")] + [(k, Rating(k).label, "int") for k in Rating] + [
        _col("unrated", "metrics.unrated"), _col("leadership", "report.col_leadership"),
        _col("education", "report.col_education"), _col("combativeness", "report.col_combativeness"),
        _col("short", "report.col_short")], _quality_rows(data))
    progress(0.6, t("report.progress_workbook"))
    _sheet(wb, t("report.sh_leaders"), [
        _col("leader_code", "field.leader_code", "text"), _col("full_name", "field.full_name", "text"),
        _col("grp_label", "report.col_group", "text"), _col("expected", "report.col_expected", "num"),
        _col("attended", "report.col_attended"), _col("compliance", "report.col_compliance", "pct"),
        _col("reports", "report.col_reports"), _col("late_reports", "report.col_late"),
        _col("missing_reports", "report.col_missing_reports")],
        [{**r, "grp_label": data.group_label(r["grp"])} for r in data.leader_rows])
    _sheet(wb, t("report.sh_groups"), [
        _col("grp_label", "report.col_group", "text"), _col("leaders", "report.col_leaders"),
        _col("assignments", "report.col_assignments"), _col("expected", "report.col_expected", "num"),
        _col("attended", "report.col_attended"), _col("compliance", "report.col_compliance", "pct"),
        _col("reports", "report.col_reports"), _col("late_reports", "report.col_late"),
        _col("missing_reports", "report.col_missing_reports")],
        [{**g, "grp_label": data.group_label(g["grp"])} for g in data.groups])
    _sheet(wb, t("report.sh_assignments"), [
        _col("leader_code", "field.leader_code", "text"), _col("full_name", "field.full_name", "text"),
        _col("unit_name", "report.col_unit", "text"), _col("cell_name", "field.cell_id", "text"),
        _col("decision_no", "field.decision_no", "text"), _col("valid_from", "field.valid_from", "date"),
        _col("valid_to", "field.valid_to", "date"), _col("required_per_quarter", "field.required_per_quarter"),
        _col("expected", "report.col_expected", "num"), _col("attended", "report.col_attended"),
        _col("compliance", "report.col_compliance", "pct"), _col("reports", "report.col_reports"),
        _col("late_reports", "report.col_late"), _col("missing_reports", "report.col_missing_reports")],
        data.by_assignment)
    progress(0.7, t("report.progress_workbook"))
    _sheet(wb, t("report.sh_weak_categories"), [
        _col("label", "report.col_category", "text"), _col("count", "report.col_count")],
        [{"label": WeaknessCategory(c).label, "count": n} for c, n in weak["by_category"].items()])
    _sheet(wb, t("report.sh_weak_status"), [
        _col("label", "field.status", "text"), _col("count", "report.col_count")],
        [{"label": WeaknessStatus(s).label, "count": n} for s, n in weak["by_status"].items()])
    _sheet(wb, _word(data, "sh_weak_units"), row_cols + [
        _col("open", "report.col_weak_open"), _col("resolved", "report.col_weak_resolved")], _weakness_rows(data))
    _sheet(wb, t("report.sh_weak_open"), [
        _col("id", "field.id"), _col("unit_name", "report.col_unit", "text"),
        _col("cell_name", "field.cell_id", "text"), _col("category_label", "report.col_category", "text"),
        _col("severity_label", "field.severity", "text"), _col("status_label", "field.status", "text"),
        _col("noted_on", "field.noted_on", "date"), _col("due_on", "field.due_on", "date"),
        _col("age_days", "report.col_age"), _col("overdue_label", "report.col_overdue", "text")],
        [{**w, "category_label": WeaknessCategory(w["category"]).label,
          "severity_label": t(f"enum.Severity.{w['severity']}"), "status_label": WeaknessStatus(w["status"]).label,
          "overdue_label": t("report.yes") if w["overdue"] else ""} for w in data.open_weaknesses])
    _sheet(wb, t("report.sh_missing"), unit_cols + [
        _col("cell_code", "field.cell_code", "text"), _col("cell_name", "field.cell_id", "text"),
        _col("month_label", "report.col_month", "text"), _col("status_label", "field.status", "text")],
        [{**m, "month_label": f"{m['month'][5:]}/{m['month'][:4]}"} for m in data.missing])
    progress(0.8, t("report.progress_workbook"))
    flags = ("leadership", "education", "combativeness")
    with session(path_or_db) as db:
        # The records go from the cursor to the sheet's file a row at a time (a year at 1,000,000 meetings is
        # ~47,000 rows: as a list of dicts, about 150 MB).
        records = iter_meeting_records(db, data.period, data.unit_code)
        if any(data.renames):
            records = _renamed_records(records, *data.renames)
        _sheet(wb, t("report.sh_meetings"), [
            _col("id", "field.id"), _col("held_on", "field.held_on", "date"),
            _col("unit_name", "report.col_unit", "text"), _col("cell_code", "field.cell_code", "text"),
            _col("cell_name", "field.cell_id", "text"), _col("mtype_label", "field.mtype", "text"),
            _col("members_total", "field.members_total"), _col("members_exempt", "field.members_exempt"),
            _col("present", "field.present"), _col("absent_excused", "field.absent_excused"),
            _col("absent_unexcused", "field.absent_unexcused"), _col("duration_minutes", "field.duration_minutes"),
            _col("score", "field.score"), _col("rating_label", "field.rating", "text")]
            + [_col(f"{f}_label", f"field.{f}", "text") for f in flags]
            + [_col("leaders_present", "field.leaders_present", "text"), _col("topics", "field.topics", "text"),
               _col("notes", "field.notes", "text")],
            _record_rows(records, flags))
    buf = io.BytesIO()
    wb.save(buf)
    progress(1.0, t("report.progress_done"))
    return buf.getvalue()


# ---- the leader's written report --------------------------------------------------------


def _dotted_lines(doc: DocxDocument, count: int, lead: str = "") -> None:
    """Lines of dots to the right margin, for the leader to write on."""
    for i in range(count):
        para = _para(doc, lead if i == 0 else "", align=WD_ALIGN_PARAGRAPH.LEFT, indent=False, after=2)
        para.paragraph_format.line_spacing = 1.5
        para.paragraph_format.tab_stops.add_tab_stop(Cm(TEXT_WIDTH_CM), WD_TAB_ALIGNMENT.RIGHT, WD_TAB_LEADER.DOTS)
        para.add_run("\t")


def _field_line(doc: DocxDocument, label: str, value: str | None) -> None:
    """'Label: value', or 'Label:' then dots when there is no value."""
    para = _para(doc, align=WD_ALIGN_PARAGRAPH.LEFT, indent=False, after=3)
    para.add_run(f"{label}: ").bold = True
    if value:
        para.add_run(value)
    else:
        para.paragraph_format.tab_stops.add_tab_stop(Cm(TEXT_WIDTH_CM), WD_TAB_ALIGNMENT.RIGHT, WD_TAB_LEADER.DOTS)
        para.add_run("\t")


def _assignment_for(db: Database, leader_id: int, meeting: dict) -> dict | None:
    """The leader's assignment covering the meeting's cell on its day (a cell assignment before a unit one)."""
    rows = [a for a in assignments.list_assignments(db, leader_id=leader_id, on=meeting["held_on"])
            if a["unit_id"] == meeting["unit_id"] and a["cell_id"] in (None, meeting["cell_id"])]
    rows.sort(key=lambda a: a["cell_id"] is None)
    return rows[0] if rows else None


def leader_report_docx(path_or_db: Any, meeting_id: int, leader_id: int) -> bytes:
    """A leader's written report on one attended meeting: a personal report ("BÁO CÁO của đồng chí …") to the
    Standing Committee through its board, the meeting's record filled in, the assessment left for the leader."""
    with session(path_or_db) as db:
        m = meetings.get(db, meeting_id)
        if m["deleted_at"]:
            raise ValueError(t("report.meeting_deleted", id=meeting_id))
        leader = next((x for x in m["leaders"] if x["leader_id"] == leader_id), None)
        if leader is None:
            raise ValueError(t("report.leader_not_present", id=leader_id, meeting=meeting_id))
        assignment = _assignment_for(db, leader_id, m)
        m, assignment = directory.relabel([m, assignment], *directory.renamed(db))
        # The body in force on the meeting's day (lib.org.issuer), refused when none is recorded: the report goes
        # to its standing committee, through its board.
        body = org.require_issuer(db, m["held_on"])
        head = {**letterhead(body), "running": _running(body)}
        # the post the leader held on the meeting's day (posts change: a district post before 1/7/2025)
        post = leaders.post_on(db, leader_id, m["held_on"])
        position = post["title"] if post and post["title"] else leader["position"]
        group = post["grp_label"] if post else leaders.group_labels(db).get(leader["grp"], leader["grp"])
        decision = None
        if assignment:
            decision = (t("report.f36.decision", no=assignment["decision_no"],
                          date=party_date(assignment["decision_date"]))
                        if assignment["decision_date"] else t("report.decision_no_date", no=assignment["decision_no"]))
            issuer = decision_issuer(assignment, org.list_bodies(db))
            if issuer:
                decision += t("report.f36.decision_by", issuer=issuer)
    held = date.fromisoformat(m["held_on"])
    doc = _new_document()
    _page_numbers(doc)
    # A member's own report: the Party's title, place and date; no committee's name or number on the left.
    _header_block(doc, None, None, date.today().year, place=head["place"])
    _centre(doc, t("report.title"), bold=True, size=16)
    _centre(doc, t("report.f36.leader_subtitle", name=leader["full_name"], cell=cell_in_sentence(m["cell_name"]),
                   unit=mid_sentence(m["unit_name"]), day=party_date(held)), bold=True)
    _centre(doc, "-----", after=6)
    _centre(doc, t("report.f36.to_standing", standing=_standing(head), board=_board_addressed(head)), after=10)

    _para(doc, t("report.l_part1"), bold=True, indent=False, keep=True)
    _field_line(doc, t("field.full_name"), leader["full_name"])
    _field_line(doc, t("field.position"), position)
    _field_line(doc, t("report.l_group"), group)
    if assignment:
        place = assignment["cell_name"] or assignment["unit_name"]  # heads the value: keeps its capital
        _field_line(doc, t("report.l_assignment"), t("report.l_assignment_value", place=place, decision=decision))
    else:
        _field_line(doc, t("report.l_assignment"), None)

    _para(doc, t("report.l_part2"), bold=True, indent=False, keep=True, before=6)
    _field_line(doc, t("report.l_cell"), f"{m['cell_name']}, {m['unit_name']}")
    _field_line(doc, t("report.l_date"), t("report.l_date_value", day=fmt_day(held),
                                          mtype=MeetingType(m["mtype"]).label.lower()))
    _field_line(doc, t("report.l_members"), t(
        "report.l_members_value", total=fmt_num(m["members_total"]), exempt=fmt_num(m["members_exempt"]),
        present=fmt_num(m["present"]),
        excused=fmt_num(m["absent_excused"]), unexcused=fmt_num(m["absent_unexcused"])))
    _field_line(doc, t("field.duration_minutes"),
                fmt_num(m["duration_minutes"]) if m["duration_minutes"] is not None else None)
    _field_line(doc, t("field.topics"), m["topics"])
    # The cell's own rating is a fact of the record, said to be the cell's; the leader's assessment is theirs to make.
    rating = Rating(m["rating"]).label if m["rating"] else None
    if rating and m["score"] is not None:
        rating = t("report.l_rating_score", rating=rating, score=fmt_num(m["score"]))
    _field_line(doc, t("report.f36.l_cell_rating"), rating)

    _para(doc, t("report.f36.l_part3"), bold=True, indent=False, keep=True, before=6)
    _field_line(doc, t("report.f36.l_own_rating"), None)
    for p in ("leadership", "education", "combativeness"):
        _field_line(doc, t(f"field.{p}"), None)
    _dotted_lines(doc, 6, t("report.f36.l_comments"))
    _para(doc, t("report.f36.l_part4"), bold=True, indent=False, keep=True, before=6)
    _dotted_lines(doc, 5)
    _para(doc, after=6)
    _closing(doc, [], "", t("report.l_signer"), leader["full_name"], t("report.l_sign_note"))
    return _to_bytes(doc)



# ---- files ------------------------------------------------------------------------------


def compiled_pdf(path_or_db: Any, period_label: str, unit_code: str | None = None, today: date | None = None,
                 progress: Progress | None = None) -> bytes:
    """The compiled report as PDF, rendered from the very DOCX compiled_docx makes; pdf.PdfUnavailable without
    LibreOffice."""
    from lib import pdf

    if not pdf.available():  # say so before a minute of work, not after
        raise pdf.PdfUnavailable("missing")
    progress = progress or _noop
    docx = compiled_docx(path_or_db, period_label, unit_code, today, lambda f, text: progress(f * 0.8, text))
    progress(0.8, t("pdfcharts.progress_pdf"))
    out = pdf.docx_to_pdf(docx)
    progress(1.0, t("report.progress_done"))
    return out


MIMES = {"docx": DOCX_MIME, "xlsx": XLSX_MIME, "pdf": "application/pdf"}


def builder(fmt: str) -> Callable[..., bytes]:
    """The function that makes a report in this format (docx, xlsx or pdf)."""
    if fmt not in FORMATS:
        raise ValueError(t("report.bad_format", value=fmt, formats=", ".join(FORMATS)))
    return {"docx": compiled_docx, "xlsx": data_xlsx, "pdf": compiled_pdf}[fmt]


def write_report(path: Any, period: str, fmt: str, out: Path, unit_code: str | None = None,
                 progress: Progress | None = None) -> Path:
    """Write the compiled report (docx or pdf) or the data workbook (xlsx) of a period to out; return out."""
    content = builder(fmt)(path, period, unit_code, progress=progress)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(content)
    return out


def file_name(period_label: str, fmt: str, unit_code: str | None = None) -> str:
    """A download name such as bao-cao-2025-Q1.docx or so-lieu-2025-Q1-NL.xlsx."""
    stem = "so-lieu" if fmt == "xlsx" else "bao-cao"
    return f"{stem}-{metrics.parse_period(period_label).label}{'-' + unit_code if unit_code else ''}.{fmt}"

