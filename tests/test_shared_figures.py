"""Cached figures are shared between sessions, not copied (ui.cached and ui.figure keep them in st.cache_resource):
a page that changed one would change it for every other session until the data changes. Every page is run here
as the demo administrator, for a year and for a quarter, at the top of the tree and at a commune with only cells,
with every tab of every set of tabs picked; then each figure handed out must still be what it was when it was
handed out (the same pickle)."""

import pickle
from datetime import date

import pytest

from lib import demo, nav, ui
from tests.helpers import app_test, login

DEMO_TODAY = date(2026, 6, 30)
ADMIN = next((u[0], u[2]) for u in demo.DEMO_USERS if u[0] == "admin")


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    """The Càng Long demo at 600 meetings up to DEMO_TODAY (fixed seed), with its demo accounts."""
    path = tmp_path_factory.mktemp("shared") / "demo.db"
    demo.load(path, meetings=600, seed=11, today=DEMO_TODAY)
    return path


def watch_shared(monkeypatch) -> dict[int, tuple[str, object, bytes]]:
    """Every value the figure caches hand out (by identity): the figure's name, the value, and its pickle at the
    time it was first handed out."""
    handed: dict[int, tuple[str, object, bytes]] = {}
    for name in ("_cached", "_displayed"):
        real = getattr(ui, name)
        real.clear()

        def shared(*, _real=real, **kwargs):
            value = _real(**kwargs)
            handed.setdefault(id(value), (kwargs["fn_name"], value, pickle.dumps(value)))
            return value

        monkeypatch.setattr(ui, name, shared)
    return handed


def watch_tabs(monkeypatch) -> dict[str, list[str]]:
    """The sets of tabs the pages draw (ui.lazy_tabs): key → labels."""
    tab_sets: dict[str, list[str]] = {}
    real = ui.lazy_tabs

    def recorded(parts, key):
        tab_sets[key] = list(parts)
        return real(parts, key)

    monkeypatch.setattr(ui, "lazy_tabs", recorded)
    return tab_sets


def run_every_tab(at, tab_sets: dict[str, list[str]]) -> int:
    """Run the page, then once more with each tab of each set picked; the number of runs."""
    tab_sets.clear()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    runs, done = 1, set()
    while pending := [(k, label) for k, labels in tab_sets.items() for label in labels if (k, label) not in done]:
        key, label = pending[0]
        done.add((key, label))
        at.session_state[key] = label
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        runs += 1
    return runs


def test_no_page_changes_a_figure_it_shares_with_other_sessions(small_demo, monkeypatch):
    monkeypatch.setenv("CHIBO_DB", str(small_demo))
    handed = watch_shared(monkeypatch)
    tab_sets = watch_tabs(monkeypatch)
    runs = 0
    for spec in nav.PAGES:
        for period in ("2026", "2026-Q1"):
            for node in (None, "TANAN25"):  # a commune of the demo with only cells: its rows are its cells
                at = app_test(small_demo)
                at.query_params[ui.DASH_URL["period"]] = period
                if node:
                    at.query_params[ui.DASH_URL["node"]] = node
                login(at, *ADMIN)
                assert not at.exception, [e.value for e in at.exception]
                at.switch_page(spec.file)
                runs += run_every_tab(at, tab_sets)
                # and again: the second run is given the figures the first one was given
                at.run()
                assert not at.exception, [e.value for e in at.exception]
    assert runs > 4 * len(nav.PAGES)
    # every dashboard's bundle was handed out, and more than once (a figure is shared by the runs that show it)
    names = {name.rsplit(".", 1)[-1] for name, _, _ in handed.values()}
    assert {"overview_page", "attendance_page", "leaders_page", "weakness_page", "quality_page",
            "renamed"} <= names, names
    changed = [name for name, value, before in handed.values() if pickle.dumps(value) != before]
    assert changed == []


def test_a_figure_is_handed_out_once_and_shared(tmp_path):
    """A second session is given the very object the first one was, not a copy: what the test above keeps safe."""
    made: list = []

    def figure(db, n):
        made.append(n)
        return {"rows": [{"n": n}]}

    def shared(n):
        return ui._cached(path=str(tmp_path / "x.db"), version=0, fn_name="tests.shared_figure",
                          key=ui.args_key((n,), {}), _fn=figure, _args=(n,), _kwargs={})

    first = shared(1)
    assert shared(1) is first and shared(2) is not first
    assert made == [1, 2]
