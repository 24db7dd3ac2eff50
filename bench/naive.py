"""The naive way, for comparison: load whole tables into pandas, then compute the same figures there."""

from datetime import date, timedelta
from typing import Any

import pandas as pd

from lib import metrics
from lib.domain import LeaderGroup, Rating, WeaknessCategory, WeaknessStatus
from lib.settings import thresholds

# The tables each page's naive version reads whole.
TABLES = {
    "overview": ("meetings", "cells", "units", "meeting_leaders", "assignments", "leaders", "leader_posts",
                 "leader_groups", "weaknesses"),
    "attendance": ("meetings", "cells", "units"),
    "leaders": ("meetings", "cells", "meeting_leaders", "assignments", "leaders", "leader_posts", "leader_groups"),
    "weaknesses": ("weaknesses", "units", "cells"),
    "quality": ("meetings", "cells", "units", "meeting_checklists"),
    "compute": ("meetings", "cells", "units", "meeting_leaders", "assignments", "leaders", "leader_posts",
                "leader_groups", "weaknesses"),
}

ATT_SUMS = ("meetings", "required", "present", "absent_excused", "absent_unexcused", "regular", "on_schedule", "held")
COUNTS = (*ATT_SUMS, "cell_months", "upcoming")


def _tree(db: Any) -> tuple[dict[int, int], pd.DataFrame]:
    """Each unit's row under the home node (the child of the home node it lies under, or the home node itself; with
    no home node, its root), units outside the home node's subtree left out; and every (ancestor, descendant)."""
    parent = dict(db.execute("select id, parent_id from units").fetchall())
    home = db.execute("select u.id from units u join settings s on s.key = 'home_unit' and s.value = u.code"
                      ).fetchone()
    roots = [u for u, p in parent.items() if p is None]
    home_id = home[0] if home else (roots[0] if len(roots) == 1 else None)
    report, pairs = {}, []
    for unit in parent:
        node, below = unit, None
        pairs.append((unit, unit))
        while True:
            if node == home_id:
                report[unit] = below if below is not None else node
                break
            up = parent[node]
            if up is None:
                if home_id is None:
                    report[unit] = node
                break
            pairs.append((up, unit))
            node, below = up, node
    return report, pd.DataFrame(pairs, columns=["ancestor", "descendant"])


def load(db: Any, tables: tuple[str, ...]) -> dict[str, Any]:
    """Every row of the tables as DataFrames, plus the thresholds; cells and weaknesses count under the row of the
    home node's child they lie under (own_unit_id keeps a cell's own unit, for the leaders' assignments)."""
    frames: dict[str, Any] = {name: pd.read_sql(f"select * from {name}", db.conn) for name in tables}
    frames["thresholds"] = thresholds(db)
    report, frames["unit_pairs"] = _tree(db)
    for name in ("cells", "weaknesses"):
        if name in frames:
            f = frames[name]
            mapped = f["unit_id"].map(report)
            f = f.assign(own_unit_id=f["unit_id"], unit_id=mapped)[mapped.notna()]
            frames[name] = f.astype({"unit_id": "int64"})
    return frames


def _rate(num: Any, den: Any) -> float | None:
    return round(int(num) / int(den), 4) if den else None


def _py(value: Any) -> Any:
    """A pandas/numpy scalar as the plain Python value SQLite would return (NaN as None)."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    return value.item() if hasattr(value, "item") else value


def _counted_months(period: metrics.Period, today: date) -> list[str]:
    return [f"{y}-{m:02d}" for y, m in period.months if (y, m) <= (today.year, today.month)]


def _valid_on(frame: pd.DataFrame, day: pd.Series | str) -> pd.Series:
    return ((frame["valid_from"].isna() | (frame["valid_from"] <= day))
            & (frame["valid_to"].isna() | (frame["valid_to"] >= day)))


def _cell_months(f: dict, months: list[str]) -> pd.DataFrame:
    cells = f["cells"][["id", "unit_id", "meeting_day", "valid_from", "valid_to"]].rename(columns={"id": "cell_id"})
    grid = cells.merge(pd.DataFrame({"month": months}, dtype=object), how="cross")
    return grid[_valid_on(grid, grid["month"] + "-01")][["unit_id", "cell_id", "month", "meeting_day"]]


def _due_on(month: str, meeting_day: Any, grace: int) -> date:
    """The fixed day of the cell in the month (the last when shorter or none) plus the grace days."""
    first = date(int(month[:4]), int(month[5:7]), 1)
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    day = last.day if meeting_day is None or meeting_day != meeting_day else min(int(meeting_day), last.day)
    return first.replace(day=day) + timedelta(days=grace)


def _unheld(f: dict, months: list[str], today: date) -> pd.DataFrame:
    """The cell-months without a regular meeting held by today, each marked upcoming while its due day is to come."""
    cm = _cell_months(f, months)
    m = f["meetings"]
    reg = m[m["deleted_at"].isna() & (m["mtype"] == "thuong_ky") & (m["held_on"] <= today.isoformat())]
    held = reg.assign(month=reg["held_on"].str[:7])[["cell_id", "month"]].drop_duplicates()
    miss = cm.merge(held, on=["cell_id", "month"], how="left", indicator=True)
    miss = miss[miss["_merge"] == "left_only"].drop(columns=["_merge"])
    grace = f["thresholds"].grace_days
    due = [_due_on(mo, md, grace) for mo, md in zip(miss["month"], miss["meeting_day"], strict=True)]
    return miss.assign(due_on=[d.isoformat() for d in due], upcoming=[int(d >= today) for d in due])


def _period_meetings(f: dict, period: metrics.Period) -> pd.DataFrame:
    m = f["meetings"]
    m = m[m["deleted_at"].isna() & (m["held_on"] >= period.start.isoformat())
          & (m["held_on"] <= period.end.isoformat())]
    cells = f["cells"][["id", "unit_id", "own_unit_id", "meeting_day", "valid_from", "valid_to"]].rename(
        columns={"id": "cell_id"})
    return m.drop(columns=["id"]).assign(meeting_id=m["id"]).merge(cells, on="cell_id")


def _attendance_frame(f: dict, period: metrics.Period, today: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per meeting of the period: the flags the figures sum; and the period's cell-months."""
    months = _counted_months(period, today)
    m = _period_meetings(f, period)
    held = pd.to_datetime(m["held_on"])
    day, md = held.dt.day, m["meeting_day"]
    regular = m["mtype"] == "thuong_ky"
    month = m["held_on"].str[:7]
    x = pd.DataFrame({
        "unit_id": m["unit_id"], "cell_id": m["cell_id"], "month": month, "meetings": 1,
        "required": m["members_total"] - m["members_exempt"], "present": m["present"],
        "absent_excused": m["absent_excused"], "absent_unexcused": m["absent_unexcused"],
        "regular": regular & md.notna(),
        "on_schedule": regular & md.notna() & ((day == md) | ((day < md) & (day == held.dt.days_in_month))),
        "counts_held": regular & month.isin(months) & _valid_on(m, month + "-01")
                       & (m["held_on"] <= today.isoformat()),
    })
    unheld = _unheld(f, months, today)
    cm = _cell_months(f, months).merge(unheld[["cell_id", "month", "upcoming"]], on=["cell_id", "month"], how="left")
    return x, cm.assign(upcoming=cm["upcoming"].fillna(0).astype(int))


def _attendance_rows(f: dict, period: metrics.Period, today: date, keys: list[str]) -> list[dict]:
    x, cm = _attendance_frame(f, period, today)
    att = x.groupby(keys)[list(ATT_SUMS[:-1])].sum()
    held = x[x["counts_held"]][["unit_id", "cell_id", "month"]].drop_duplicates().groupby(keys).size()
    att["held"] = held.reindex(att.index, fill_value=0)
    cov = cm.groupby(keys).agg(cell_months=("month", "size"), upcoming=("upcoming", "sum"))
    cov["cell_months"] -= cov["upcoming"]
    out = att.join(cov, how="outer").fillna(0).astype(int).reset_index()
    units = f["units"][["id", "code", "name"]].rename(columns={"id": "unit_id", "code": "unit_code",
                                                                 "name": "unit_name"})
    out = out.merge(units, on="unit_id").sort_values(["unit_code", *keys[1:]])
    rows = []
    for r in out.to_dict("records"):
        row = {"unit_code": r["unit_code"], "unit_name": r["unit_name"]}
        row.update({k: r[k] for k in keys[1:]})
        row.update({k: int(r[k]) for k in COUNTS})
        row.update(rate=_rate(row["present"], row["required"]), coverage=_rate(row["held"], row["cell_months"]),
                   on_schedule_rate=_rate(row["on_schedule"], row["regular"]))
        rows.append(row)
    return rows


def attendance_by_unit(f: dict, period: metrics.Period, today: date) -> list[dict]:
    """Per unit: attendance sums and rate, coverage, on-schedule rate."""
    return [{k: r[k] for k in metrics.UNIT_KEYS} for r in _attendance_rows(f, period, today, ["unit_id"])]


def attendance_by_unit_month(f: dict, period: metrics.Period, today: date) -> list[dict]:
    """Per unit and month: the unit figures."""
    return _attendance_rows(f, period, today, ["unit_id", "month"])


def attendance_totals(f: dict, period: metrics.Period, today: date) -> dict[str, Any]:
    """The unit figures summed."""
    rows = _attendance_rows(f, period, today, ["unit_id"])
    tot = {k: sum(r[k] for r in rows) for k in COUNTS}
    tot.update(rate=_rate(tot["present"], tot["required"]), coverage=_rate(tot["held"], tot["cell_months"]),
               on_schedule_rate=_rate(tot["on_schedule"], tot["regular"]))
    return tot


def absences(f: dict, period: metrics.Period, today: date) -> dict[str, Any]:
    """Required, present, absent with and without reason, and the shares of the required."""
    tot = attendance_totals(f, period, today)
    return {"required": tot["required"], "present": tot["present"], "absent_excused": tot["absent_excused"],
            "absent_unexcused": tot["absent_unexcused"],
            "excused_share": _rate(tot["absent_excused"], tot["required"]),
            "unexcused_share": _rate(tot["absent_unexcused"], tot["required"])}


def attendance_by_month(f: dict, period: metrics.Period, today: date) -> list[dict]:
    """Per counted month: everything summed."""
    rows = attendance_by_unit_month(f, period, today)
    out = []
    for month in _counted_months(period, today):
        tot = {k: sum(r[k] for r in rows if r["month"] == month) for k in COUNTS}
        tot.update(rate=_rate(tot["present"], tot["required"]), coverage=_rate(tot["held"], tot["cell_months"]),
                   on_schedule_rate=_rate(tot["on_schedule"], tot["regular"]))
        out.append({"month": month, **tot})
    return out


def _unheld_rows(f: dict, period: metrics.Period, today: date, upcoming: int) -> list[dict]:
    miss = _unheld(f, _counted_months(period, today), today)
    miss = miss[miss["upcoming"] == upcoming]
    units = f["units"][["id", "code", "name"]].rename(columns={"id": "unit_id", "code": "unit_code",
                                                                 "name": "unit_name"})
    cells = f["cells"][["id", "code", "name"]].rename(columns={"id": "cell_id", "code": "cell_code",
                                                                 "name": "cell_name"})
    miss = miss.merge(units, on="unit_id").merge(cells, on="cell_id").sort_values(["unit_code", "cell_code", "month"])
    return [{"unit_code": r["unit_code"], "unit_name": r["unit_name"], "cell_code": r["cell_code"],
             "cell_name": r["cell_name"], "month": r["month"], "status": "upcoming" if upcoming else "missing",
             **({"due_on": r["due_on"]} if upcoming else {})}
            for r in miss.to_dict("records")]


def missing_meetings(f: dict, period: metrics.Period, today: date) -> list[dict]:
    """Due cell-months without a regular meeting."""
    return _unheld_rows(f, period, today, 0)


def upcoming_meetings(f: dict, period: metrics.Period, today: date) -> list[dict]:
    """Cell-months without a regular meeting whose due day is still to come."""
    return _unheld_rows(f, period, today, 1)


def _per_assignment(f: dict, period: metrics.Period, today: date) -> pd.DataFrame:
    start, end = period.start.isoformat(), period.end.isoformat()
    a = f["assignments"]
    a = a[(a["valid_from"] <= end) & (a["valid_to"].isna() | (a["valid_to"] >= start))].copy()
    a["from_day"] = a["valid_from"].where(a["valid_from"] > start, start)
    to = a["valid_to"].fillna(end)
    a["to_day"] = to.where(to < end, end)
    a["months"] = 0
    for mo in _counted_months(period, today):
        y, n = int(mo[:4]), int(mo[5:])
        last = (date(y + n // 12, n % 12 + 1, 1) - timedelta(days=1)).isoformat()
        a["months"] += ((a["valid_from"] <= last) & (a["valid_to"].isna() | (a["valid_to"] >= mo + "-01"))).astype(int)
    m = _period_meetings(f, period)
    x = m[["meeting_id", "cell_id", "own_unit_id", "held_on"]].merge(
        f["meeting_leaders"][["meeting_id", "leader_id", "report_submitted_on"]], on="meeting_id")
    c = a[["id", "leader_id", "unit_id", "cell_id", "from_day", "to_day"]].rename(
        columns={"id": "assignment_id", "unit_id": "a_unit", "cell_id": "a_cell"}).merge(x, on="leader_id")
    # A unit-level assignment covers the meetings of every cell in the unit's subtree.
    below = pd.MultiIndex.from_arrays([c["a_unit"], c["own_unit_id"]]).isin(
        pd.MultiIndex.from_frame(f["unit_pairs"]))
    c = c[(c["held_on"] >= c["from_day"]) & (c["held_on"] <= c["to_day"])
          & ((c["cell_id"] == c["a_cell"]) | (c["a_cell"].isna() & below))]
    days = (pd.to_datetime(c["report_submitted_on"]) - pd.to_datetime(c["held_on"])).dt.days
    c = c.assign(report=c["report_submitted_on"].notna(), late=c["report_submitted_on"].notna()
                 & (days > f["thresholds"].report_days))
    n = c.groupby("assignment_id").agg(attended=("meeting_id", "size"), reports=("report", "sum"),
                                       late_reports=("late", "sum"))
    p = a.set_index("id").join(n).fillna({"attended": 0, "reports": 0, "late_reports": 0})
    p["expected_thirds"] = p["required_per_quarter"] * p["months"]
    p["capped_thirds"] = (3 * p["attended"]).where(3 * p["attended"] < p["expected_thirds"], p["expected_thirds"])
    p["missing_reports"] = p["attended"] - p["reports"]
    leaders = f["leaders"][["id", "code", "full_name", "grp"]].rename(columns={"id": "leader_id",
                                                                               "code": "leader_code"})
    period_grp = _period_groups(f, period)
    leaders["grp"] = [period_grp.get(i, g) for i, g in zip(leaders["leader_id"], leaders["grp"], strict=True)]
    return p.reset_index().merge(leaders, on="leader_id")


def _group_order(f: dict) -> dict[str, float]:
    """Group code → sort_order (the shipped enum's order when the table was not loaded)."""
    if "leader_groups" in f:
        return dict(zip(f["leader_groups"]["code"], f["leader_groups"]["sort_order"], strict=True))
    return {grp.value: i for i, grp in enumerate(LeaderGroup)}


def _period_groups(f: dict, period: metrics.Period) -> dict[int, str]:
    """Leader id → the group of their post that counts for the period (valid at its end, else the last valid in
    it; the most senior group on a tie), as lib.metrics.PERIOD_POST picks it."""
    posts = f.get("leader_posts")
    if posts is None or posts.empty:
        return {}
    start, end = period.start.isoformat(), period.end.isoformat()
    v = posts[(posts["valid_from"].isna() | (posts["valid_from"] <= end))
              & (posts["valid_to"].isna() | (posts["valid_to"] >= start))].copy()
    v["to_key"] = v["valid_to"].fillna(end).where(v["valid_to"].fillna(end) < end, end)
    v["rank"] = v["grp"].map(_group_order(f)).fillna(1e9)
    v["from_key"] = v["valid_from"].fillna("")
    v = v.sort_values(["leader_id", "to_key", "rank", "from_key", "id"], ascending=[True, False, True, False, False])
    first = v.drop_duplicates("leader_id")
    return dict(zip(first["leader_id"], first["grp"], strict=True))


PART_SUMS = ("expected_thirds", "attended", "capped_thirds", "reports", "late_reports", "missing_reports")


def _with_compliance(row: dict) -> dict:
    row = {k: _py(v) for k, v in row.items()}
    for k in PART_SUMS:
        row[k] = int(row[k])
    row["expected"] = round(row["expected_thirds"] / 3, 4)
    row["compliance"] = _rate(row["capped_thirds"], row["expected_thirds"])
    return row


def participation_by_leader(f: dict, period: metrics.Period, today: date) -> list[dict]:
    """Per leader: sums over their assignments and compliance."""
    p = _per_assignment(f, period, today)
    g = p.groupby(["leader_code", "full_name", "grp"]).agg(assignments=("id", "size"),
                                                           **{k: (k, "sum") for k in PART_SUMS})
    return [_with_compliance(r) for r in g.reset_index().sort_values("leader_code").to_dict("records")]


def leader_participation(f: dict, period: metrics.Period, today: date) -> list[dict]:
    """The CLI's per-leader figures."""
    keys = ("leader_code", "full_name", "grp", "expected", "attended", "compliance", "reports", "late_reports")
    return [{k: r[k] for k in keys} for r in participation_by_leader(f, period, today)]


def participation_by_group(f: dict, period: metrics.Period, today: date) -> list[dict]:
    """Per leader group, Standing Committee first."""
    p = _per_assignment(f, period, today)
    g = p.groupby("grp").agg(leaders=("leader_id", "nunique"), assignments=("id", "size"),
                             **{k: (k, "sum") for k in PART_SUMS})
    order = _group_order(f)
    rows = [_with_compliance(r) for r in g.reset_index().to_dict("records")]
    return sorted(rows, key=lambda r: (order.get(r["grp"], 1e9), r["grp"]))


def report_status(f: dict, period: metrics.Period, today: date) -> dict[str, int]:
    """Attendances counted, and their reports on time, late, missing."""
    rows = participation_by_group(f, period, today)
    attended, late = sum(r["attended"] for r in rows), sum(r["late_reports"] for r in rows)
    missing = sum(r["missing_reports"] for r in rows)
    return {"attended": attended, "on_time": attended - late - missing, "late": late, "missing": missing}


def leaders_without_attendance(f: dict, period: metrics.Period, today: date) -> list[dict]:
    """Leaders expected somewhere who attended nothing."""
    return [r for r in participation_by_leader(f, period, today) if r["expected_thirds"] > 0 and r["attended"] == 0]


def leaders_below_assignment(f: dict, period: metrics.Period, today: date) -> list[dict]:
    """Leaders under full compliance, lowest first."""
    rows = [r for r in participation_by_leader(f, period, today) if r["compliance"] is not None
            and r["compliance"] < 1]
    return sorted(rows, key=lambda r: (r["compliance"], r["leader_code"]))


def leader_totals(f: dict, period: metrics.Period, today: date) -> dict[str, Any]:
    """Expected, attended, compliance and reports over every assignment."""
    rows = participation_by_group(f, period, today)
    expected = sum(r["expected_thirds"] for r in rows)
    return {"expected": round(expected / 3, 4), "attended": sum(r["attended"] for r in rows),
            "compliance": _rate(sum(r["capped_thirds"] for r in rows), expected),
            **{k: sum(r[k] for r in rows) for k in ("reports", "late_reports", "missing_reports")}}


def _live_weaknesses(f: dict) -> pd.DataFrame:
    w = f["weaknesses"]
    return w[w["deleted_at"].isna()]


def weakness_summary(f: dict, period: metrics.Period, today: date) -> dict[str, Any]:
    """Weaknesses noted in the period by category, status, unit; open now and overdue."""
    w = _live_weaknesses(f)
    inp = w[(w["noted_on"] >= period.start.isoformat()) & (w["noted_on"] <= period.end.isoformat())]
    by_cat, by_status = inp["category"].value_counts(), inp["status"].value_counts()
    codes = f["units"].set_index("id")["code"]
    per_unit = inp.assign(unit_code=inp["unit_id"].map(codes), resolved=inp["status"] == "resolved")
    units = [{"unit_code": code, "open": int((~g["resolved"]).sum()), "resolved": int(g["resolved"].sum())}
             for code, g in per_unit.groupby("unit_code")]
    open_now = w["status"] != "resolved"
    return {"by_category": {c.value: int(by_cat.get(c.value, 0)) for c in WeaknessCategory},
            "by_status": {s.value: int(by_status.get(s.value, 0)) for s in WeaknessStatus},
            "by_unit": sorted(units, key=lambda u: u["unit_code"]), "open_now": int(open_now.sum()),
            "overdue": int((open_now & w["due_on"].notna() & (w["due_on"] < today.isoformat())).sum())}


def open_weaknesses(f: dict, today: date) -> list[dict]:
    """Weaknesses not resolved, oldest first, with age and overdue."""
    w = _live_weaknesses(f)
    w = w[w["status"] != "resolved"]
    age = (pd.Timestamp(today) - pd.to_datetime(w["noted_on"])).dt.days
    w = w.assign(age_days=age, overdue=(w["due_on"].notna() & (w["due_on"] < today.isoformat())).astype(int))
    w = w.sort_values(["age_days", "id"], ascending=[False, True])
    return [{"id": int(r["id"]), "category": r["category"], "status": r["status"], "noted_on": r["noted_on"],
             "due_on": _py(r["due_on"]), "age_days": int(r["age_days"]), "overdue": int(r["overdue"])}
            for r in w.to_dict("records")]


def weakness_ageing(f: dict, today: date) -> list[dict]:
    """Open weaknesses by age band."""
    w = _live_weaknesses(f)
    age = (pd.Timestamp(today) - pd.to_datetime(w[w["status"] != "resolved"]["noted_on"])).dt.days
    counts = [(age <= 30).sum(), ((age >= 31) & (age <= 90)).sum(), ((age >= 91) & (age <= 180)).sum(),
              (age > 180).sum()]
    return [{"bucket": band, "count": int(n)} for band, n in zip(metrics.AGE_BANDS, counts, strict=True)]


def weakness_matrix(f: dict, period: metrics.Period, today: date) -> list[dict]:
    """Weaknesses noted in the period per unit and category."""
    w = _live_weaknesses(f)
    w = w[(w["noted_on"] >= period.start.isoformat()) & (w["noted_on"] <= period.end.isoformat())]
    w = w.assign(unit_code=w["unit_id"].map(f["units"].set_index("id")["code"]),
                 open=(w["status"] != "resolved").astype(int), resolved=(w["status"] == "resolved").astype(int))
    g = w.groupby(["unit_code", "category"]).agg(n=("id", "size"), open=("open", "sum"), resolved=("resolved", "sum"))
    return [{k: _py(v) for k, v in r.items()} for r in g.reset_index().to_dict("records")]


def weakness_trend(f: dict, period: metrics.Period, today: date) -> list[dict]:
    """Per counted month: noted, resolved, open at the month's end."""
    w = _live_weaknesses(f)
    noted_m, resolved_m = w["noted_on"].str[:7], w["resolved_on"].str[:7]
    rows = []
    for month in _counted_months(period, today):
        y, n = int(month[:4]), int(month[5:])
        end = (date(y + n // 12, n % 12 + 1, 1) - timedelta(days=1)).isoformat()
        still = (w["status"] != "resolved") | (w["resolved_on"].notna() & (w["resolved_on"] > end))
        rows.append({"month": month, "noted": int((noted_m == month).sum()),
                     "resolved": int(((w["status"] == "resolved") & (resolved_m == month)).sum()),
                     "open_at_end": int(((w["noted_on"] <= end) & still).sum())})
    return rows


def _weaknesses_as_of(f: dict, period: metrics.Period, today: date) -> dict[str, int]:
    as_of = min(period.end, today).isoformat()
    w = _live_weaknesses(f)
    is_open = (w["noted_on"] <= as_of) & ((w["status"] != "resolved")
                                          | (w["resolved_on"].notna() & (w["resolved_on"] > as_of)))
    return {"open": int(is_open.sum()), "overdue": int((is_open & w["due_on"].notna() & (w["due_on"] < as_of)).sum()),
            "noted": int(((w["noted_on"] >= period.start.isoformat())
                          & (w["noted_on"] <= period.end.isoformat())).sum())}


def _headline(f: dict, period: metrics.Period, today: date) -> dict[str, Any]:
    att = attendance_totals(f, period, today)
    groups = participation_by_group(f, period, today)
    expected = sum(r["expected_thirds"] for r in groups)
    weak = _weaknesses_as_of(f, period, today)
    return {"attendance_rate": att["rate"], "coverage": att["coverage"], "on_schedule_rate": att["on_schedule_rate"],
            "leader_compliance": _rate(sum(r["capped_thirds"] for r in groups), expected),
            "reports_late": sum(r["late_reports"] for r in groups),
            "reports_missing": sum(r["missing_reports"] for r in groups), "weaknesses_open": weak["open"],
            "weaknesses_overdue": weak["overdue"], "meetings": att["meetings"],
            "missing_meetings": att["cell_months"] - att["held"], "weaknesses_noted": weak["noted"],
            "upcoming_meetings": att["upcoming"]}


def overview(f: dict, period: metrics.Period, today: date) -> dict[str, Any]:
    """Headline figures for the period and the one before, and the change."""
    prev, as_of = metrics.previous(period), today
    if today <= period.end:
        # like for like: the previous period up to the same point, today moved back by the period's months
        n = len(period.months)
        first = date(today.year - (n - today.month + 12) // 12, (today.month - 1 - n) % 12 + 1, 1)
        as_of = first.replace(day=min(today.day, _due_on(first.isoformat()[:7], None, 0).day))
        months = [ym for ym in prev.months if ym <= (as_of.year, as_of.month)]
        prev = metrics.Period(prev.label, prev.start, min(prev.end, as_of), months)
    current, before = _headline(f, period, today), _headline(f, prev, as_of)
    change = {k: (None if current[k] is None or before[k] is None else round(current[k] - before[k], 4))
              for k in current}
    return {"period": period.as_dict(), "previous_period": prev.as_dict(), "current": current, "previous": before,
            "change": change}


def quality_by_unit(f: dict, period: metrics.Period, today: date) -> list[dict]:
    """Per unit: meetings by rating, the three properties, timed and short meetings."""
    m = _period_meetings(f, period)
    minimum = f["thresholds"].min_duration
    x = pd.DataFrame({"unit_id": m["unit_id"], "meetings": 1, **{r.value: m["rating"] == r.value for r in Rating},
                      "unrated": m["rating"].isna(), "leadership": m["leadership"].fillna(0),
                      "education": m["education"].fillna(0), "combativeness": m["combativeness"].fillna(0),
                      "with_duration": m["duration_minutes"].notna(),
                      "short": m["duration_minutes"].notna() & (m["duration_minutes"] < minimum)})
    g = x.groupby("unit_id").sum().astype(int).reset_index()
    units = f["units"][["id", "code", "name"]].rename(columns={"id": "unit_id", "code": "unit_code",
                                                                 "name": "unit_name"})
    g = g.merge(units, on="unit_id").sort_values("unit_code").drop(columns=["unit_id"])
    return [{k: _py(v) for k, v in r.items()} for r in g.to_dict("records")]


def _quality_totals(f: dict, period: metrics.Period, today: date) -> dict[str, int]:
    rows = quality_by_unit(f, period, today)
    return {k: sum(r[k] for r in rows) for k in metrics.QUALITY_KEYS}


def rating_distribution(f: dict, period: metrics.Period, today: date) -> dict[str, int]:
    """Meetings per rating and unrated."""
    tot = _quality_totals(f, period, today)
    return {**{r.value: tot[r.value] for r in Rating}, "unrated": tot["unrated"]}


def properties(f: dict, period: metrics.Period, today: date) -> list[dict]:
    """Meetings showing each of the three properties, and the share."""
    tot = _quality_totals(f, period, today)
    return [{"property": p, "count": tot[p], "meetings": tot["meetings"], "share": _rate(tot[p], tot["meetings"])}
            for p in metrics.PROPERTIES]


def short_meetings(f: dict, period: metrics.Period, today: date) -> dict[str, Any]:
    """How many timed meetings fall under the minimum duration (the list itself is not compared)."""
    tot = _quality_totals(f, period, today)
    return {"min_duration": f["thresholds"].min_duration, "with_duration": tot["with_duration"],
            "short": tot["short"], "share": _rate(tot["short"], tot["with_duration"])}


def duration_bands(f: dict, period: metrics.Period, today: date) -> list[dict]:
    """Timed meetings by duration band, each marked short when the whole band is under the minimum."""
    d = _period_meetings(f, period)["duration_minutes"].dropna()
    counts = [(d < 60).sum(), ((d >= 60) & (d <= 89)).sum(), ((d >= 90) & (d <= 119)).sum(), (d >= 120).sum()]
    minimum = f["thresholds"].min_duration
    return [{"bucket": band, "count": int(n), "short": top is not None and top < minimum}
            for (band, top), n in zip(metrics.DURATION_BANDS, counts, strict=True)]


def checklist_ratings(f: dict, period: metrics.Period, today: date) -> dict[str, Any]:
    """Meetings with a 12-HD / 42-HD checklist, those rated otherwise than proposed, and proposed × final."""
    m = _period_meetings(f, period).merge(f["meeting_checklists"][["meeting_id", "proposed_rating"]], on="meeting_id")
    finals = [r.value for r in Rating] + ["unrated"]
    final = m["rating"].fillna("unrated")
    crosstab = []
    for proposed in [r.value for r in Rating] + [None]:
        rows = final[m["proposed_rating"] == proposed] if proposed else final[m["proposed_rating"].isna()]
        counts = {k: int((rows == k).sum()) for k in finals}
        if len(rows):
            crosstab.append({"proposed": proposed, **counts, "meetings": int(len(rows))})
    differs = int((m["proposed_rating"].notna() & m["rating"].notna() & (m["rating"] != m["proposed_rating"])).sum())
    return {"meetings": int(len(m)), "differs": differs, "share": _rate(differs, len(m)), "crosstab": crosstab}


def cells_missing_last_month(f: dict, today: date) -> list[dict]:
    """Cells without a regular meeting in the month before today's."""
    return missing_meetings(f, metrics.month_period(today.replace(day=1) - timedelta(days=1)), today)


def compute(f: dict, period: metrics.Period, today: date) -> dict[str, Any]:
    """The CLI's figures."""
    return {"period": period.as_dict(), "attendance_by_unit": attendance_by_unit(f, period, today),
            "leader_participation": leader_participation(f, period, today),
            "weaknesses": weakness_summary(f, period, today)}


def page_figures(f: dict, page: str, period: metrics.Period, today: date) -> dict[str, Any]:
    """The page's figures computed from the loaded frames, by the lib.metrics name they stand for."""
    quarter = metrics.parse_period(f"{today.year}-Q{(today.month - 1) // 3 + 1}")
    makers = {
        "overview": lambda: {"overview": overview(f, period, today),
                             "cells_missing_last_month": cells_missing_last_month(f, today),
                             "leaders_below_assignment": leaders_below_assignment(f, period, today),
                             "open_weaknesses": open_weaknesses(f, today)},
        "attendance": lambda: {"attendance_by_unit": attendance_by_unit(f, period, today),
                               "attendance_totals": attendance_totals(f, period, today),
                               "absences": absences(f, period, today),
                               "attendance_by_unit_month": attendance_by_unit_month(f, period, today),
                               "attendance_by_month": attendance_by_month(f, period, today),
                               "missing_meetings": missing_meetings(f, period, today),
                               "upcoming_meetings": upcoming_meetings(f, period, today)},
        "leaders": lambda: {"participation_by_leader": participation_by_leader(f, period, today),
                            "participation_by_group": participation_by_group(f, period, today),
                            "report_status": report_status(f, period, today),
                            "leader_totals": leader_totals(f, period, today),
                            "leaders_without_attendance": leaders_without_attendance(f, quarter, today)},
        "weaknesses": lambda: {"weakness_summary": weakness_summary(f, period, today),
                               "weakness_matrix": weakness_matrix(f, period, today),
                               "weakness_trend": weakness_trend(f, period, today),
                               "weakness_ageing": weakness_ageing(f, today),
                               "open_weaknesses": open_weaknesses(f, today)},
        "quality": lambda: {"quality_by_unit": quality_by_unit(f, period, today),
                            "rating_distribution": rating_distribution(f, period, today),
                            "properties": properties(f, period, today),
                            "short_meetings": short_meetings(f, period, today),
                            "duration_bands": duration_bands(f, period, today),
                            "checklist_ratings": checklist_ratings(f, period, today)},
        "compute": lambda: {"compute": compute(f, period, today)},
    }
    return makers[page]()
