"""Issue 13: the server's part of a page. A chart's spec is built once and shared by every session that shows
the same chart, in the same bytes st.altair_chart would send; its PNG is built when asked for, in the language of
the run that drew its button; the server sends each message at once (no Nagle delay on its connections).

Structural checks only (no timing): how many times a chart is built, what the browser is sent, a socket option.
"""

import contextvars
import functools
import json
import socket
from datetime import date

import pytest
from streamlit.testing.v1 import AppTest

from lib import charts, demo, i18n, ui
from tests.helpers import TIMEOUT, app_test, current_page, login, switch_language

DEMO_ADMIN = ("admin", "demo-quantri-2025")  # lib/demo.py's administrator

DEMO_TODAY = date(2026, 6, 30)
YEAR = "2026"


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    """The Càng Long demo at 600 meetings up to DEMO_TODAY (fixed seed), with its demo accounts."""
    path = tmp_path_factory.mktemp("page_server") / "demo.db"
    demo.load(path, meetings=600, seed=11, today=DEMO_TODAY)
    return path


@pytest.fixture
def counted(monkeypatch):
    """lib.charts.monthly_rates_chart counting its calls (the same name and behaviour); the spec cache emptied."""
    calls = []
    real = charts.monthly_rates_chart

    @functools.wraps(real)
    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(charts, "monthly_rates_chart", counting)
    ui._screen_spec.clear()
    yield calls
    ui._screen_spec.clear()


def overview(path, monkeypatch, lang: str = "vi") -> AppTest:
    """The overview for YEAR in a new session of the app, signed in as the demo admin, in lang."""
    monkeypatch.setenv("CHIBO_DB", str(path))
    at = app_test(path)
    at.query_params["ky"] = YEAR
    login(at, *DEMO_ADMIN)
    # the account keeps the language last chosen (an earlier test may have switched it)
    def shown() -> str:
        return at.session_state["lang"] if "lang" in at.session_state else i18n.DEFAULT_LANGUAGE

    if shown() != lang:
        switch_language(at)
    assert current_page(at) == "pages/overview.py" and shown() == lang
    assert not at.exception, [e.value for e in at.exception]
    return at


def chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def test_a_chart_is_built_once_for_every_session_that_shows_it(small_demo, monkeypatch, counted):
    first = overview(small_demo, monkeypatch)
    assert len(counted) == 1
    second = overview(small_demo, monkeypatch)  # another session, the same figures
    assert len(counted) == 1  # drawn from the spec the first session made
    (a,), (b,) = first.get("vega_lite_chart"), second.get("vega_lite_chart")
    assert a.proto.spec == b.proto.spec  # the same chart
    assert a.proto.datasets and [d.data.data for d in a.proto.datasets] == [d.data.data for d in b.proto.datasets]
    first.run()  # a rerun of the same session (a live refresh that found new data would do the same)
    assert len(counted) == 1


def test_each_language_has_its_own_spec(small_demo, monkeypatch, counted):
    (vi,) = chart_specs(overview(small_demo, monkeypatch, "vi"))
    (en,) = chart_specs(overview(small_demo, monkeypatch, "en"))
    assert len(counted) == 2
    assert vi["title"]["text"] == i18n.t("chart.monthly_rates", lang="vi")
    assert en["title"]["text"] == i18n.t("chart.monthly_rates", lang="en")
    assert vi["config"]["locale"]["number"]["decimal"] == "," and en["config"]["locale"]["number"]["decimal"] == "."


def _altair_page(path: str, year: str) -> None:
    # a page of its own drawing the overview's monthly chart with st.altair_chart, as the pages did before
    import os
    from datetime import date

    import streamlit as st

    from lib import charts, metrics
    from lib import db as dbm

    os.environ["CHIBO_DB"] = path
    with dbm.read(path) as db:
        figures = metrics.attendance_page(db, metrics.parse_period(year), metrics.Filters(), today=date.today())
    chart = charts.monthly_rates_chart(charts.monthly_rates_frame(figures["attendance_by_month"]))
    st.altair_chart(charts.styled(chart, screen=True), width="stretch", key="ov_months")


def test_the_cached_spec_is_what_st_altair_chart_sends(small_demo, monkeypatch, counted):
    (ours,) = overview(small_demo, monkeypatch).get("vega_lite_chart")
    at = AppTest.from_function(_altair_page, args=(str(small_demo), YEAR), default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    (theirs,) = at.get("vega_lite_chart")
    assert ours.proto.spec == theirs.proto.spec
    assert [d.name for d in ours.proto.datasets] == [d.name for d in theirs.proto.datasets]
    assert [d.data.data for d in ours.proto.datasets] == [d.data.data for d in theirs.proto.datasets]


def test_the_png_is_built_in_the_language_of_the_run_that_drew_its_button(monkeypatch):
    specs = []
    monkeypatch.setattr(ui, "chart_png", lambda spec_json: specs.append(json.loads(spec_json)) or b"\x89PNG")
    months = charts.monthly_rates_frame([{"month": "2026-01", "rate": 0.8, "coverage": 0.9}])
    recipe = ui.chart(charts.monthly_rates_chart, months)
    i18n.set_language("en")  # the thread that asks for the file (a download request) may be in another language
    try:
        png = contextvars.copy_context().run(ui._png, "vi", recipe, 1.0)
        assert i18n.get_language() == "en"  # the caller's language is left alone
    finally:
        i18n.set_language(i18n.DEFAULT_LANGUAGE)
    assert png == b"\x89PNG"
    (spec,) = specs
    assert spec["title"]["text"] == i18n.t("chart.monthly_rates", lang="vi")
    assert spec["config"]["font"] == charts.PNG_FONT and spec["width"] == 1000


def test_a_recipe_with_properties_builds_the_chart_with_them():
    months = charts.monthly_rates_frame([{"month": "2026-01", "rate": 0.8, "coverage": 0.9}])
    built = ui.chart(charts.monthly_rates_chart, months).properties(title="", height=321).chart()
    assert built.to_dict()["height"] == 321 and built.to_dict()["title"] == ""


def test_the_server_turns_nagle_off_on_every_connection_it_accepts():
    from streamlit.web.server.starlette import starlette_server

    ui.no_nagle()
    ui.no_nagle()  # twice (a second start in one process) wraps once
    assert getattr(starlette_server._bind_socket, "no_nagle", False)
    assert not getattr(starlette_server._bind_socket.__wrapped__, "no_nagle", False)
    listener = starlette_server._bind_socket("127.0.0.1", 0, 8)
    try:
        listener.setblocking(True)
        with socket.create_connection(listener.getsockname()) as client:
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
                client.sendall(b"x")
                assert accepted.recv(1) == b"x"
    finally:
        listener.close()


# ---- a table's rows: the display names and the words of each distinct value ------------------------------------

def test_a_table_shows_the_same_names_as_display_without_copying_the_nested_figures(monkeypatch):
    renamed = ({"XA": "Xã An (đến 30/06/2025)"}, {"XA-1": "Chi bộ ấp 1 (đến 30/06/2025)"})
    monkeypatch.setattr(ui, "renamed", lambda: renamed)
    basis = {"unit_code": "XA", "unit_name": "Xã An"}  # nested: a table shows no such column
    rows = [{"unit_code": "XA", "unit_name": "Xã An", "cell_code": "XA-1", "cell_name": "Chi bộ ấp 1",
             "basis": basis},
            {"unit_code": "XB", "unit_name": "Xã Bình", "cell_code": "XB-1", "cell_name": "Chi bộ ấp 1"},
            {"unit_code": "XA", "unit_name": "Xã An", "n": 3}]
    shown = ui._display_rows(rows)
    deep = ui.display(rows)
    top = ("unit_code", "unit_name", "cell_code", "cell_name", "n")
    assert [{k: r.get(k) for k in top} for r in shown] == [{k: r.get(k) for k in top} for r in deep]
    assert [r["unit_name"] for r in shown] == ["Xã An (đến 30/06/2025)", "Xã Bình", "Xã An (đến 30/06/2025)"]
    assert shown[0]["cell_name"] == "Chi bộ ấp 1 (đến 30/06/2025)" and shown[1]["cell_name"] == "Chi bộ ấp 1"
    assert shown[1] is rows[1]  # nothing to rename: the row itself
    assert shown[0]["basis"] is basis and rows[0]["unit_name"] == "Xã An"  # the cached figures left as they were
    monkeypatch.setattr(ui, "renamed", lambda: ({}, {}))
    assert ui._display_rows(rows) is rows


def test_each_distinct_value_is_worded_once_and_a_missing_one_is_empty():
    import pandas as pd

    calls = []

    def word(value):
        calls.append(value)
        return f"<{value}>"

    column = pd.Series(["b", None, "a", "b", float("nan"), "a", "b"])
    out = ui._each_distinct(column, word)
    assert list(out) == ["<b>", "", "<a>", "<b>", "", "<a>", "<b>"] and out.dtype == object
    assert sorted(calls) == ["a", "b"]
    dates = ui._each_distinct(pd.Series(["2026-01-05", None, ""]),
                              lambda v: ui.fmt_date(v) if isinstance(v, str) and v else "")
    assert list(dates) == ["05/01/2026", "", ""]
    assert list(ui._each_distinct(pd.Series([None, None], dtype=object), word)) == ["", ""]


def test_streamlit_compiles_the_scripts_without_magic_and_no_page_needed_it():
    import ast
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for config in (root / ".streamlit" / "config.toml", root / "deploy" / "streamlit-config.toml"):
        assert tomllib.loads(config.read_text())["runner"]["magicEnabled"] is False, config
    # magic wrote a statement that is a bare value (not a call, not a docstring): none may be left to lose
    for script in (root / "app.py", *sorted((root / "pages").glob("*.py"))):
        tree = ast.parse(script.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            for i, statement in enumerate(body if isinstance(body, list) else []):
                if isinstance(statement, ast.Expr) and not isinstance(statement.value, (ast.Call, ast.Await)):
                    docstring = i == 0 and isinstance(statement.value, ast.Constant) and isinstance(
                        statement.value.value, str)
                    assert docstring, f"{script.name}:{statement.lineno} would have been written by magic"


# ---- a cached figure's key: its arguments' pickle, hashed by Streamlit at once ------------------------------------

def test_equal_arguments_give_one_key_and_any_difference_another():
    from lib import metrics

    period = metrics.parse_period("2025-Q1")
    key = ui.args_key((period, metrics.Filters(unit_codes=("NL",))), {"today": date(2026, 1, 5)})
    assert key == ui.args_key((metrics.parse_period("2025-Q1"), metrics.Filters(unit_codes=("NL",))),
                              {"today": date(2026, 1, 5)})
    assert len({key,
                ui.args_key((period, metrics.Filters(unit_codes=("DP",))), {"today": date(2026, 1, 5)}),
                ui.args_key((period, metrics.Filters(unit_codes=("NL",), rollup=True)), {"today": date(2026, 1, 5)}),
                ui.args_key((metrics.parse_period("2025-Q2"), metrics.Filters(unit_codes=("NL",))),
                            {"today": date(2026, 1, 5)}),
                ui.args_key((period, metrics.Filters(unit_codes=("NL",))), {"today": date(2026, 1, 6)}),
                ui.args_key((period,), {"filters": metrics.Filters(unit_codes=("NL",)), "today": date(2026, 1, 5)}),
                }) == 6


def test_a_cached_figure_is_computed_once_per_distinct_arguments(tmp_path):
    made: list = []

    def figure(db, n, *, scale=1):
        made.append((n, scale))
        return n * scale

    def shared(*args, **kwargs):
        return ui._cached(path=str(tmp_path / "x.db"), version=0, fn_name="tests.figure_args",
                          key=ui.args_key(args, kwargs), _fn=figure, _args=args, _kwargs=kwargs)

    assert [shared(2), shared(2), shared(3), shared(2, scale=5), shared(2, scale=5)] == [2, 2, 3, 10, 10]
    assert made == [(2, 1), (3, 1), (2, 5)]
