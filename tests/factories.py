"""Small hand-built directories for tests, written through the stores with the SYSTEM actor."""

from lib import assignments, directory, meetings
from lib import db as dbm
from lib.domain import SYSTEM


def small_directory(path) -> dict:
    """Two units with one cell each (fixed days 31 and 10) and two leaders; returns their ids."""
    with dbm.write(path) as db:
        u1 = directory.create_unit(db, SYSTEM, {"code": "NL", "name": "Xã Nhị Long", "kind": "xa"})
        u2 = directory.create_unit(db, SYSTEM, {"code": "DP", "name": "Xã Đại Phước", "kind": "xa"})
        c1 = directory.create_cell(db, SYSTEM, {"code": "NL-CD", "unit_id": u1, "name": "Chi bộ ấp Cầu Đúc",
                                                "cell_type": "ap_khom", "meeting_day": 31,
                                                "valid_from": "2020-01-01"})
        c2 = directory.create_cell(db, SYSTEM, {"code": "DP-LH", "unit_id": u2, "name": "Chi bộ ấp Long Hòa",
                                                "cell_type": "ap_khom", "meeting_day": 10,
                                                "valid_from": "2020-01-01"})
        l1 = directory.create_leader(db, SYSTEM, {"code": "L1", "full_name": "Nguyễn Văn An", "grp": "uv_btv",
                                                  "position": "Phó Bí thư"})
        l2 = directory.create_leader(db, SYSTEM, {"code": "L2", "full_name": "Trần Thị Bình", "grp": "uv_bch"})
        a1 = assignments.create(db, SYSTEM, {"leader_id": l1, "unit_id": u1, "decision_no": "395-QĐ/HU",
                                             "decision_date": "2022-02-21", "valid_from": "2022-02-21"})
    return {"u1": u1, "u2": u2, "c1": c1, "c2": c2, "l1": l1, "l2": l2, "a1": a1}


def meeting(cell_id: int, held_on: str, present: int = 25, **extra) -> dict:
    """A valid regular meeting of 30 members, 2 exempt: present + excused + unexcused = 28."""
    excused = extra.pop("absent_excused", 28 - present)
    return {"cell_id": cell_id, "held_on": held_on, "mtype": extra.pop("mtype", "thuong_ky"),
            "members_total": 30, "members_exempt": 2, "present": present, "absent_excused": excused,
            "absent_unexcused": 28 - present - excused, "duration_minutes": 120, **extra}


def add_meeting(path, cell_id: int, held_on: str, leaders=(), **kw) -> int:
    """Save one meeting as SYSTEM; return its id."""
    with dbm.write(path) as db:
        return meetings.create(db, SYSTEM, meeting(cell_id, held_on, **kw), leaders)
