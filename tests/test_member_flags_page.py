"""pages/member_flags.py through AppTest from app.py: the flags with links to their meetings, kept to the user's
scope; the records page lists the meetings a flag's link names; the settings page lists the threshold versions."""

from datetime import date

import pytest

from lib import nav
from lib.i18n import t
from tests.helpers import app_test, current_page, fast_hashing, login, make_user
from tests.test_member_flags import Book

PAGE = "pages/member_flags.py"
YEAR = "2025"
PASSWORD = "Matkhau123"


@pytest.fixture
def world(db_path, monkeypatch):
    """A in NL-CD unexcused in 3 months of this year; B in DP-LH excused 4 times in a row; users of each kind."""
    fast_hashing(monkeypatch)
    book = Book(db_path)
    a = book.member("A1", "Nguyễn Văn An", "c1")
    b = book.member("B1", "Trần Thị Bình", "c2")
    year = 2025
    book.ids["art8"] = [book.meeting("c1", f"{year}-{m:02d}-01", {a: "unexcused"}) for m in (1, 2, 3)]
    book.ids["hd12"] = [book.meeting("c2", f"{year}-{m:02d}-01", {b: "excused"}) for m in (1, 2, 3, 4)]
    for name, role, units in (("quantri", "admin", ()), ("thuky_nl", "clerk", (book.ids["u1"],)),
                              ("thuky_dp", "clerk", (book.ids["u2"],)), ("xem", "viewer", ())):
        make_user(db_path, name, role, units)
    return book


def start(path, user: str, **params):
    at = app_test(path)
    for name, value in params.items():
        at.query_params[name] = value
    login(at, user, PASSWORD)
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_flags(at):
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert current_page(at) == PAGE
    return at


def flag_tables(at) -> dict[str, list[dict]]:
    """The art8 and hd12 tables shown (by their count column), as rows."""
    out = {}
    for rule in ("art8", "hd12"):
        for frame in at.dataframe:
            if t(f"rules.{rule}_count") in frame.value.columns:
                out[rule] = frame.value.to_dict("records")
    return out


def test_page_is_listed_for_every_role_after_the_quality_page():
    files = [p.file for p in nav.PAGES]
    assert files.index(PAGE) == files.index("pages/quality.py") + 1
    spec = next(p for p in nav.PAGES if p.file == PAGE)
    assert spec.section == "nav.dashboards" and {"admin", "clerk", "viewer"} <= set(spec.roles)


def test_admin_sees_both_flags_with_their_documents_and_links(world):
    at = open_flags(start(world.path, "quantri", ky=YEAR))
    tables = flag_tables(at)
    art8, hd12 = tables["art8"], tables["hd12"]
    assert [(r[t("rules.col_name")], r[t("rules.art8_count")]) for r in art8] == [("Nguyễn Văn An", 3)]
    assert [(r[t("rules.col_name")], r[t("rules.hd12_count")]) for r in hd12] == [("Trần Thị Bình", 4)]
    link = t("rules.col_open")
    assert art8[0][link] == "ho-so?ids=" + ",".join(str(i) for i in world.ids["art8"])
    assert hd12[0][link] == "ho-so?ids=" + ",".join(str(i) for i in world.ids["hd12"])
    captions = " ".join(c.value for c in at.caption)
    assert "Điều lệ Đảng (2011), Điều 8" in captions and "12-HD/BTCTW" in captions


def test_page_opens_on_the_year_to_date(world):
    at = open_flags(start(world.path, "quantri"))
    assert at.query_params["ky"] == str(date.today().year)
    assert t("dash.kind_year") in str(at.caption[0].value) or at.session_state["dash_kind"] == "year"


def test_clerk_of_another_commune_sees_none_of_them(world):
    at = open_flags(start(world.path, "thuky_dp", ky=YEAR))
    tables = flag_tables(at)
    assert "art8" not in tables  # NL's member is outside this clerk's scope
    assert [r[t("rules.col_name")] for r in tables["hd12"]] == ["Trần Thị Bình"]
    names = " ".join(str(v) for frame in at.dataframe for v in frame.value.to_numpy().ravel())
    assert "Nguyễn Văn An" not in names


def test_viewer_reads_the_meeting_numbers_without_links(world):
    at = open_flags(start(world.path, "xem", ky=YEAR))
    art8 = flag_tables(at)["art8"]
    assert t("rules.col_open") not in art8[0]
    assert art8[0][t("rules.col_meetings")] == ", ".join(f"#{i}" for i in world.ids["art8"])


def test_anonymous_session_is_refused(world):
    from tests.helpers import page_test

    at = page_test(PAGE, "")
    at.session_state["authentication_status"] = None
    at.run()
    assert not at.dataframe
    assert any(t("perm.forbidden") in e.value for e in at.error)


def test_records_page_lists_the_meetings_a_link_names_within_scope(world):
    ids = world.ids["art8"] + world.ids["hd12"]
    at = start(world.path, "thuky_nl", ids=",".join(map(str, ids)))
    at.switch_page("pages/records.py").run()
    assert not at.exception, [e.value for e in at.exception]
    linked = next(f.value for f in at.dataframe if "recs_linked" == f.key)
    # the clerk of NL reads NL's three meetings; DP's four are left out
    assert sorted(linked[t("field.id")].tolist()) == world.ids["art8"]


def test_settings_page_lists_the_versions_with_their_documents(world):
    at = start(world.path, "quantri")
    at.switch_page("pages/settings.py").run()
    assert not at.exception, [e.value for e in at.exception]
    versions = next(f.value for f in at.dataframe if t("field.rules.document") in f.value.columns)
    assert len(versions) == 3
    assert any("12-HD/BTCTW" in d for d in versions[t("field.rules.document")])
    at.selectbox(key="rules_rule").set_value("art8_unexcused_months")
    at.number_input(key="rules_value").set_value(4)
    at.text_input(key="rules_document").input("Quy định thử")
    at.date_input(key="rules_valid_from").set_value(date(2030, 1, 1))
    next(b for b in at.button if b.key == "rules_submit").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    versions = next(f.value for f in at.dataframe if t("field.rules.document") in f.value.columns)
    assert len(versions) == 4 and "Quy định thử" in versions[t("field.rules.document")].tolist()


def test_a_link_repeating_a_meeting_or_naming_nonsense_lists_each_meeting_once(world):
    first = world.ids["art8"][0]
    at = start(world.path, "quantri", ids=f"{first},{first}, {first},abc,,-1,{'9' * 400}")
    at.switch_page("pages/records.py").run()
    assert not at.exception, [e.value for e in at.exception]
    linked = next(f.value for f in at.dataframe if "recs_linked" == f.key)
    assert linked[t("field.id")].tolist() == [first]
