"""The organisation tree in the directory page and the units import (issue 11, branch bodies): the unit above
(parent) shown and edited, the import's optional parent_code column checked by row and field."""

import io

import pytest
from openpyxl import load_workbook

from lib import db as dbm
from lib import directory, importer, org
from lib.domain import SYSTEM
from lib.i18n import t
from tests.helpers import app_test, login, make_user

# The tree built here: TINH (tinh, home) → XA-A, XA-B (xa); XA-A → BP (dang_bo_bo_phan).
HEAD = "code,name,kind,parent_code\n"


@pytest.fixture
def tree(db_path):
    with dbm.write(db_path) as db:
        home = directory.create_unit(db, SYSTEM, {"code": "TINH", "name": "Tỉnh ủy Vĩnh Long", "kind": "tinh"})
        org.set_home(db, SYSTEM, "TINH")
        a = directory.create_unit(db, SYSTEM, {"code": "XA-A", "name": "Xã An Trường", "kind": "xa"})
        b = directory.create_unit(db, SYSTEM, {"code": "XA-B", "name": "Xã Bình Phú", "kind": "xa"})
        bp = directory.create_unit(db, SYSTEM, {"code": "BP", "name": "Đảng bộ bộ phận ấp 1",
                                                "kind": "dang_bo_bo_phan", "parent_id": a})
    return db_path, {"TINH": home, "XA-A": a, "XA-B": b, "BP": bp}


def parents(path) -> dict[str, str | None]:
    with dbm.read(path) as db:
        return {u["code"]: u["parent_code"] for u in directory.list_units(db)}


def test_list_units_names_the_parent(tree):
    path, _ = tree
    with dbm.read(path) as db:
        rows = {u["code"]: (u["parent_code"], u["parent_name"]) for u in directory.list_units(db)}
    assert rows == {"TINH": (None, None), "XA-A": ("TINH", "Tỉnh ủy Vĩnh Long"), "XA-B": ("TINH", "Tỉnh ủy Vĩnh Long"),
                    "BP": ("XA-A", "Xã An Trường")}


# ---- the directory page --------------------------------------------------------------------------------------


def open_directory(path):
    make_user(path, "quantri", "admin")
    at = login(app_test(path), "quantri", "Matkhau123")
    at.switch_page("pages/directory.py").run()
    assert not at.exception
    return at


def test_directory_page_shows_the_parent_and_edits_it(tree):
    path, u = tree
    at = open_directory(path)
    table = at.dataframe[0].value  # the units tab comes first
    shown = dict(zip(table[t("field.code")], table[t("field.parent_name")], strict=True))
    assert shown["BP"] == "Xã An Trường" and shown["XA-B"] == "Tỉnh ủy Vĩnh Long"
    # a new unit goes under our own organisation unless told otherwise (the sections' forms, opened: a folded
    # section is not drawn)
    at.session_state["dir_box_un"] = at.session_state["dir_box_ue"] = True
    at.run()
    assert at.selectbox(key="dir_un_parent_id").value == u["TINH"]
    at.text_input(key="dir_un_code").input("BP2")
    at.text_input(key="dir_un_name").input("Đảng bộ bộ phận ấp 2")
    at.selectbox(key="dir_un_kind").set_value("dang_bo_bo_phan")
    at.selectbox(key="dir_un_parent_id").set_value(u["XA-B"])
    at.button(key="dir_un_save").click().run()
    assert not at.error
    assert parents(path)["BP2"] == "XA-B"
    # moving XA-A under its own sub-committee is a loop: refused, naming the field
    at.selectbox(key="dir_ue_pick").set_value(u["XA-A"]).run()
    assert at.selectbox(key="dir_ue_parent_id").value == u["TINH"]
    at.selectbox(key="dir_ue_parent_id").set_value(u["BP"])
    at.button(key="dir_ue_save").click().run()
    assert any(e.value.startswith(t("field.parent_id")) and t("err.parent_cycle") in e.value for e in at.error)
    assert parents(path)["XA-A"] == "TINH"
    # moving XA-B under XA-A is fine
    at.selectbox(key="dir_ue_pick").set_value(u["XA-B"]).run()
    at.selectbox(key="dir_ue_parent_id").set_value(u["XA-A"])
    at.button(key="dir_ue_save").click().run()
    assert not at.error and parents(path)["XA-B"] == "XA-A"
    with dbm.read(path) as db:
        assert u["XA-B"] in org.subtree_ids(db, [u["XA-A"]])


# ---- the units import ----------------------------------------------------------------------------------------


def run(path, text: str):
    return importer.run(path, "units", text.encode(), "units.csv", SYSTEM)


def test_import_puts_units_under_a_stored_parent_one_from_the_file_or_home(tree):
    path, u = tree
    # X3 names X2, which comes later in the file; X1 names a stored unit; X4 names nothing: under home.
    done = run(path, HEAD + "X1,Chi bộ cơ sở 1,co_quan,XA-B\nX3,Ấp 3,dang_bo_bo_phan,X2\n"
                            "X2,Xã mới,xa,TINH\nX4,Xã bốn,xa,\n")
    assert done.ok, done.error_lines()
    assert {k: v for k, v in parents(path).items() if k.startswith("X")} == {
        "X1": "XA-B", "X2": "TINH", "X3": "X2", "X4": "TINH", "XA-A": "TINH", "XA-B": "TINH"}
    with dbm.read(path) as db:
        x2 = db.execute("select id from units where code = 'X2'").fetchone()[0]
        x3 = db.execute("select id from units where code = 'X3'").fetchone()[0]
        # the closure followed (triggers of m006): X3 is two levels below the home node
        assert db.execute("select depth from unit_tree where ancestor_id = ? and descendant_id = ?",
                          [u["TINH"], x3]).fetchone()[0] == 2
        assert x3 in org.subtree_ids(db, [x2])


def test_import_headers_in_vietnamese(tree):
    path, _ = tree
    head = ",".join(t(f"field.{c}", "vi") for c in ("code", "name", "kind", "parent_code"))
    assert t("field.parent_code", "vi") == "Mã đơn vị cấp trên"
    done = run(path, head + "\nX9,Xã chín,Xã,XA-A\n")
    assert done.ok, done.error_lines()
    assert parents(path)["X9"] == "XA-A"


def test_import_refuses_an_unknown_parent_and_a_loop_by_row_and_field(tree):
    path, _ = tree
    done = run(path, HEAD + "Y1,Một,xa,KHONG\nY2,Hai,xa,Y3\nY3,Ba,xa,Y2\nY4,Bốn,xa,Y4\nY5,Năm,xa,TINH\n")
    assert not done.ok and not done.written
    found = {(e.row, e.field) for e in done.errors}
    assert found == {(2, "parent_code"), (3, "parent_code"), (4, "parent_code"), (5, "parent_code")}
    lines = done.error_lines()
    assert any("Dòng 2" in line and "Mã đơn vị cấp trên" in line and "KHONG" in line for line in lines)
    assert sum(t("err.parent_cycle") in line for line in lines) == 3
    assert set(parents(path)) == {"TINH", "XA-A", "XA-B", "BP"}  # all or nothing


def test_template_and_export_carry_the_parent_column(tree):
    path, _ = tree
    wb = load_workbook(io.BytesIO(importer.template_xlsx("units")))
    headers = [c.value for c in wb.worksheets[0][1]]
    assert headers[-1] == "Mã đơn vị cấp trên"
    columns = {row[0].value: row for row in wb.worksheets[1].iter_rows(min_row=2)}
    assert columns["parent_code"][3].value == t("import.template.no", "vi")
    assert t("import.hint.parent_code", "vi") == columns["parent_code"][4].value
    exported = {r["code"]: r["parent_code"] for r in importer.records(path, "units")}
    assert exported == {"TINH": None, "XA-A": "TINH", "XA-B": "TINH", "BP": "XA-A"}
