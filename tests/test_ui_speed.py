"""Pages as fast as their figures (issue 13): downloads built when clicked, numbers formatted by the table
widget, long lists capped with the whole list in the download, live refresh that recomputes nothing when
nothing changed."""

import io
import unicodedata
from datetime import date

import pandas as pd
import pytest
from openpyxl import load_workbook
from streamlit.runtime.media_file_manager import MediaFileManager

from lib import demo, ui
from lib.i18n import t
from tests.helpers import log_out, page_test

DEMO_TODAY = date(2026, 6, 30)


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    """The Càng Long demo at 600 meetings up to DEMO_TODAY (fixed seed), with its demo accounts."""
    path = tmp_path_factory.mktemp("speed") / "demo.db"
    demo.load(path, meetings=600, seed=11, today=DEMO_TODAY)
    return path


def run_page(path, monkeypatch, page: str, period: str = "2025"):
    """page run on its own as the demo admin, the period in the URL; returns the AppTest."""
    monkeypatch.setenv("CHIBO_DB", str(path))
    at = page_test(page, "admin")
    at.query_params["ky"] = period
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def counting(monkeypatch, name: str) -> list:
    """Replace ui.<name> by a wrapper that records each call; returns the list of calls."""
    calls: list = []
    fn = getattr(ui, name)

    def wrapper(*args, **kwargs):
        calls.append(args)
        return fn(*args, **kwargs)

    monkeypatch.setattr(ui, name, wrapper)
    return calls


def deferred_downloads(monkeypatch) -> dict[str, object]:
    """Record each callable a download button hands Streamlit, by file name (what a click would run)."""
    found: dict[str, object] = {}
    add = MediaFileManager.add_deferred

    def recording(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        found[file_name] = data_callable
        return add(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", recording)
    return found


def sheet_rows(data: bytes) -> list[tuple]:
    return list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))


# ---- 1. downloads made when asked for ----------------------------------------------------------------------

def test_a_page_run_builds_no_download_until_one_is_clicked(small_demo, monkeypatch):
    xlsx, csv = counting(monkeypatch, "to_xlsx"), counting(monkeypatch, "to_csv")
    files = deferred_downloads(monkeypatch)
    at = run_page(small_demo, monkeypatch, "pages/weakness_board.py")
    # the tables are in tabs, one drawn at a time (tests/test_page_drawing.py): the table by category, then the
    # list of every open weakness, picked as a click does
    for key, label in (("weak_tables", t("dash.by_category")),
                       ("weak_lists", next(tab.label for tab in at.tabs if tab.label.startswith(
                           t("dash.open_list", n="").split("(")[0])))):
        at.session_state[key] = label
        at.run()
    assert not at.exception
    assert xlsx == [] and csv == [], "no table's file is built while the page draws"
    # every table drawn offers both files, each a callable Streamlit runs on the click
    tables = [n for n in ("han-che-theo-loai", "han-che-theo-don-vi", "han-che-qua-han", "han-che-chua-khac-phuc")
              if f"{n}.csv" in files]
    assert "han-che-theo-loai" in tables and "han-che-chua-khac-phuc" in tables
    for name in tables:
        assert callable(files[f"{name}.csv"]) and callable(files[f"{name}.xlsx"])
    # the click gives the same file as before: to_csv / to_xlsx of the table's frame, numbers as numbers
    shown = next(f.value for f in at.dataframe if t("chart.count") in f.value.columns
                 and t("dash.w_open") not in f.value.columns)
    assert files["han-che-theo-loai.csv"]() == ui.to_csv(shown)
    assert len(csv) == 2  # the click's and ours
    rows = sheet_rows(files["han-che-theo-loai.xlsx"]())
    assert rows == sheet_rows(ui.to_xlsx(shown))
    assert rows[0] == (t("field.category"), t("chart.count"))
    assert [r[1] for r in rows[1:]] == list(shown[t("chart.count")]) and all(isinstance(r[1], int) for r in rows[1:])
    assert len(rows) == len(shown) + 1 > 2
    assert len(xlsx) == 2


def test_downloads_keep_their_formula_protection(small_demo, monkeypatch):
    # the deferred files are still ui.to_csv / ui.to_xlsx, which quote or type text that would start a formula
    frame = pd.DataFrame({"Tên": ["=1+1", "+84 ấp"], "Số": [1, 2]})
    assert ui.to_csv(frame).decode("utf-8-sig").splitlines()[1:] == ["'=1+1,1", "'+84 ấp,2"]
    cells = load_workbook(io.BytesIO(ui.to_xlsx(frame))).active
    assert cells["A2"].data_type == "s" and cells["A2"].value == "=1+1"


# ---- 2. numbers formatted by the table widget ----------------------------------------------------------------

def test_number_formats_by_kind_of_column():
    frame = pd.DataFrame({"Mã": [1234], "Tỉ lệ": [0.375], "Phải dự": [2 / 3], "Số buổi": [2147], "Tên": ["a"],
                          "Có": [True]})
    columns = {"id": "Mã", "rate": "Tỉ lệ", "expected": "Phải dự", "meetings": "Số buổi", "name": "Tên", "ok": "Có"}
    assert ui.number_formats(frame, columns, pct=("rate",), decimals=("expected",)) == {
        "Tỉ lệ": {"format": "percent", "step": 0.001},  # "37,5%" in a Vietnamese browser
        "Phải dự": {"format": "localized"},  # "0,67" (rounded by table), "8" not "8,00"
        "Số buổi": {"format": "localized", "step": 1},  # "2.147"
    }  # an id keeps Streamlit's plain digits ("1234"); text and yes/no are not numbers


@pytest.mark.parametrize("page", ["pages/weakness_board.py", "pages/attendance.py", "pages/quality.py",
                                  "pages/leaders.py", "pages/overview.py"])
def test_dashboard_tables_keep_numbers_and_use_no_styler(small_demo, monkeypatch, page):
    import json

    at = run_page(small_demo, monkeypatch, page)
    for frame in at.dataframe:
        assert not frame.proto.arrow_data.styler.display_values, "no cell is formatted in Python"
        assert frame.proto.placeholder == ""  # a missing number is an empty cell
        config = json.loads(frame.proto.columns or "{}")
        for col in frame.value.columns:
            if pd.api.types.is_float_dtype(frame.value[col]) or pd.api.types.is_integer_dtype(frame.value[col]):
                # numbers stay numbers (the widget sorts them as numbers); each has a format unless it is an id
                fmt = config.get(col, {}).get("type_config", {}).get("format")
                assert fmt in ("percent", "localized") or col == t("field.id"), (page, col)


# ---- 3. long lists capped, with a search box and the whole list in the download ------------------------------

def open_list(at) -> pd.DataFrame:
    """The weakness board's list of every open weakness (its last table, in the tab it is drawn in), as shown."""
    label = next(tab.label for tab in at.tabs if tab.label.startswith(t("dash.open_list", n="").split("(")[0]))
    if at.session_state["weak_lists"] != label:
        at.session_state["weak_lists"] = label
        at.run()
    return at.dataframe[-1].value


def test_a_long_list_shows_its_first_rows_a_count_and_a_search_box(small_demo, monkeypatch):
    from lib import db as dbm
    from lib import metrics

    monkeypatch.setattr(ui, "TABLE_ROWS", 5)
    files = deferred_downloads(monkeypatch)
    at = run_page(small_demo, monkeypatch, "pages/weakness_board.py")
    with dbm.read(small_demo) as db:
        every = metrics.open_weaknesses(db, today=date.today())
    assert len(every) > 5 + 1
    assert t("dash.open_list", n=len(every)) in [tab.label for tab in at.tabs]
    shown = open_list(at)
    assert len(shown) == 5
    assert list(shown[t("chart.unit")]) == [w["unit_name"] for w in every[:5]]  # the list's own order, first rows
    assert t("table.capped", shown="5", total=ui.fmt_num(len(every))) in [c.value for c in at.caption]
    # the download has the whole list
    lines = files["han-che-chua-khac-phuc.csv"]().decode("utf-8-sig").splitlines()
    assert len(lines) == len(every) + 1
    rows = sheet_rows(files["han-che-chua-khac-phuc.xlsx"]())
    assert [r[0] for r in rows[1:]] == [w["unit_name"] for w in every]

    # a commune typed without accents finds its rows, all of them counted
    def plain(text):
        text = unicodedata.normalize("NFD", (text or "").lower().replace("đ", "d"))
        return "".join(c for c in text if unicodedata.category(c) != "Mn")

    names = {w["unit_name"] for w in every}
    commune = next(n for n in sorted(names) if not any(plain(n) in plain(o) for o in names - {n}))
    typed = plain(commune)
    wanted = [w for w in every if typed in plain(w["unit_name"]) or typed in plain(w["cell_name"])]
    at.text_input(key="weak_open_search").input(typed).run()
    assert not at.exception
    shown = open_list(at)
    assert all(commune in " ".join(map(str, r)) for r in shown.values)
    assert len(shown) == min(5, len(wanted))
    expected = t("table.found", shown=ui.fmt_num(min(5, len(wanted))), found=ui.fmt_num(len(wanted)),
                 total=ui.fmt_num(len(every)))
    assert expected in [c.value for c in at.caption]
    # nothing matches: an empty list and a line saying what to do
    at.text_input(key="weak_open_search").input("khong co xa nao ten nay").run()
    assert len(open_list(at)) == 0
    assert t("table.no_match", total=ui.fmt_num(len(every))) in [c.value for c in at.caption]


def test_a_short_list_has_no_search_box(small_demo, monkeypatch):
    at = run_page(small_demo, monkeypatch, "pages/weakness_board.py")
    assert len(at.dataframe[-1].value) <= ui.TABLE_ROWS
    assert not [w for w in at.text_input if w.key and w.key.endswith("_search")]


def test_search_key_folds_vietnamese():
    from lib.domain import search_key

    assert search_key("Xã Đông Hòa") == "xa dong hoa" == search_key("XA DONG HOA")


# ---- 4. live refresh: figures keyed by the data version, shared, computed again only after a change ----------

def counted_figure(monkeypatch, name: str) -> list:
    """Replace lib.metrics.<name> by a wrapper that records each computation (its cache key is its own)."""
    from lib import metrics

    real = getattr(metrics, name)
    calls: list = []

    def figure(db, *args, today=None, **kwargs):  # `today` named: ui.figure passes the day to functions taking it
        calls.append(args)
        return real(db, *args, today=today, **kwargs)

    monkeypatch.setattr(metrics, name, figure)
    ui._cached.clear()
    ui._displayed.clear()
    return calls


def flag_weakness(path) -> None:
    """A write made outside the app's sessions (as the command line or another process would): a new weakness."""
    from lib import db as dbm
    from lib import weaknesses
    from lib.domain import SYSTEM

    with dbm.write(path) as db:
        unit_id = db.execute("select id from units order by id limit 1").fetchone()[0]
        weaknesses.create(db, SYSTEM, {"unit_id": unit_id, "category": "khac", "severity": "medium",
                                       "description": "Một hạn chế mới"})


def test_figures_are_computed_again_only_after_the_data_changed(small_demo, monkeypatch):
    from lib import audit
    from lib import db as dbm

    calls = counted_figure(monkeypatch, "weakness_page")
    at = run_page(small_demo, monkeypatch, "pages/weakness_board.py")
    open_before = at.metric[2].value
    at.run()  # a refresh with nothing changed
    assert not at.exception
    assert len(calls) == 1, "nothing changed: the figures come from the cache"
    # a second session looking at the same thing shares them
    run_page(small_demo, monkeypatch, "pages/weakness_board.py")
    assert len(calls) == 1
    # signing in changes no figure: it does not throw the cache away
    with dbm.write(small_demo) as db:
        audit.record(db, "admin", "login")
        audit.record(db, "admin", "logout")
    at.run()
    assert len(calls) == 1
    # a write anywhere (here outside the app, as an import from the command line) gives the data a new version
    flag_weakness(small_demo)
    at.run()
    assert not at.exception
    assert len(calls) == 2
    assert int(at.metric[2].value.replace(".", "")) == int(open_before.replace(".", "")) + 1
    at.run()
    assert len(calls) == 2


def test_data_version_grows_with_every_audited_write(small_demo, tmp_path):
    import shutil

    from lib import audit, importer
    from lib import db as dbm
    from lib.domain import SYSTEM

    path = tmp_path / "copy.db"
    shutil.copy(small_demo, path)
    with dbm.read(path) as db:
        first = audit.data_version(db)
    assert first > 0
    flag_weakness(path)
    with dbm.read(path) as db:
        second = audit.data_version(db)
    assert second > first
    # the importer's bulk write audits every row: the version moves too
    with dbm.read(path) as db:
        rows = importer.records(db, "leaders")[:1]
    csv = importer.export_csv("leaders", [dict(rows[0], code="L999", full_name="Cán bộ mới")])
    result = importer.run(path, "leaders", csv, "leaders.csv", SYSTEM)
    assert not result.errors, result.errors
    with dbm.read(path) as db:
        assert audit.data_version(db) > second


# ---- 5. the app shell: no cookie component on a signed-in page, no garbage collection after every run -------

def component_keys(at) -> list:
    return [getattr(e, "key", None) for e in at.main.children.values()]


def test_a_signed_in_page_draws_no_cookie_component_and_reads_no_password_hash(small_demo, monkeypatch):
    from lib import auth
    from tests.helpers import app_test, login

    monkeypatch.setenv("CHIBO_DB", str(small_demo))
    at = app_test(small_demo).run()
    assert "init" in component_keys(at), "the login page keeps the cookie manager mounted for the sign-in"
    login(at, "admin", "demo-quantri-2025")
    assert "set" in component_keys(at), "the sign-in still writes the re-login cookie"
    made: list = []
    real = auth.authenticator
    monkeypatch.setattr(auth, "authenticator", lambda: made.append(1) or real())
    for page in ("pages/account.py", "pages/weakness_board.py"):
        at.switch_page(page).run()
        assert not at.exception
        # streamlit-authenticator (its cookie component: an iframe and a second run of the app on every load,
        # and every user's bcrypt hash read) is not built while nothing is to be written
        assert "init" not in component_keys(at) and "set" not in component_keys(at), page
    assert made == []
    log_out(at)
    assert "delete" in component_keys(at) and made == [1]


def test_streamlit_runs_no_full_garbage_collection_after_each_run():
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for config in (root / ".streamlit" / "config.toml", root / "deploy" / "streamlit-config.toml"):
        assert tomllib.loads(config.read_text())["runner"]["postScriptGC"] is False, config
