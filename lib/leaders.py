"""Leaders' posts over time and the leader groups of each level.

A leader holds posts (title, group, unit) with validity dates; leaders.position and leaders.grp stay the
latest post, kept in step by every write here, for the pages and imports that read them. Groups are data
(leader_groups) per level: a group's level is a unit kind (a post in it must be held at a unit of that kind)
or blank for any level. The figures count a leader in the group of the post valid at the period's end
(lib.metrics, BY_LEADER_SQL).
"""

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlite_utils import Database

from lib import db as dbm
from lib import org, store
from lib.domain import (
    Actor,
    FieldError,
    LeaderGroup,
    ParseError,
    UnitKind,
    ValidationError,
    _fold,
    coerce,
    fmt_date,
    parse_enum,
    validate_validity,
    with_rules,
)
from lib.users import require_admin

GROUP_FIELDS = {"code": "str", "name": "str", "level": UnitKind, "sort_order": "int"}
POST_FIELDS = {"leader_id": "int", "unit_id": "int", "title": "str", "grp": "str", "valid_from": "date",
               "valid_to": "date"}
SHIPPED = {g.value for g in LeaderGroup}


# ---- groups ---------------------------------------------------------------------------------

def list_groups(db: Database, level: str | None = None) -> list[dict]:
    """The leader groups in their order (those of one unit kind and those of any level, if a kind is given)."""
    rows = db.query("select * from leader_groups where :level is null or level is null or level = :level "
                    "order by sort_order, code", {"level": level})
    return [dict(r, label=group_label(r["code"], r["name"])) for r in rows]


def group_label(code: str | None, name: str | None = None) -> str:
    """A group's label: the translated label of the five shipped codes, else its name (else its code)."""
    if code in SHIPPED:
        return LeaderGroup(code).label
    return name or (code or "")


def group_labels(db: Database) -> dict[str, str]:
    """Map of group code → label, in the groups' order."""
    return {r["code"]: r["label"] for r in list_groups(db)}


def parse_group(db: Database, value: Any) -> tuple[str | None, list[FieldError]]:
    """A group code from its code, its name or (the shipped five) its vi/en label, accents optional."""
    if value is None or not str(value).strip():
        return None, []
    text = str(value).strip()
    if hasattr(value, "value") and isinstance(value.value, str):
        text = value.value
    if not has_posts(db):
        # A database before m008 (only the tests build one): the shipped five, as the enum had them.
        try:
            return parse_enum(LeaderGroup, text).value, []
        except ParseError as exc:
            return None, [FieldError("grp", exc.key, exc.params)]
    rows = [dict(r) for r in db.query("select code, name from leader_groups order by sort_order, code")]
    if any(r["code"] == text for r in rows):
        return text, []
    wanted = _fold(text)
    for r in rows:
        names = {r["code"], r["name"] or ""}
        if r["code"] in SHIPPED:
            names |= {LeaderGroup(r["code"]).label, _label_in(r["code"], "vi"), _label_in(r["code"], "en")}
        if wanted in {_fold(n) for n in names if n}:
            return r["code"], []
    choices = ", ".join(group_label(r["code"], r["name"]) for r in rows)
    return None, [FieldError("grp", "bad_choice", value=text, choices=choices)]


def has_posts(db: Database) -> bool:
    """Whether the database has leaders' posts and groups (migration m008)."""
    return db.execute("select 1 from sqlite_master where type = 'table' and name = 'leader_posts'").fetchone() \
        is not None


def _label_in(code: str, language: str) -> str:
    from lib.i18n import t

    return t(f"enum.LeaderGroup.{code}", language)


def _check_group(db: Database, raw: Mapping[str, Any], own_code: str | None) -> dict:
    clean, errors = coerce(raw, GROUP_FIELDS)
    if own_code is None:
        errors = with_rules(errors, [FieldError(n, "required") for n in ("code", "name") if clean.get(n) is None])
    elif "name" in raw and clean.get("name") is None and not any(e.field == "name" for e in errors):
        errors.append(FieldError("name", "required"))
    if clean.get("sort_order") is None:
        clean.pop("sort_order", None)
        if own_code is None and not any(e.field == "sort_order" for e in errors):
            clean["sort_order"] = db.execute("select coalesce(max(sort_order), -1) + 1 from leader_groups"
                                             ).fetchone()[0]
    code = clean.get("code")
    if own_code is None and code is not None and db.execute("select 1 from leader_groups where code = ?",
                                                            [code]).fetchone():
        errors.append(FieldError("code", "duplicate_code", value=code))
    if errors:
        raise ValidationError(errors)
    return clean


def create_group(db: Database, actor: Actor, raw: Mapping[str, Any]) -> str:
    """Add a leader group (admin only, audited); return its code."""
    require_admin(db, actor)
    with store.transaction(db):
        dbm.lock_name(db, "leader_groups")  # codes, order and use of the groups: one writer at a time
        clean = _check_group(db, raw, None)
        row = store.to_row(clean)
        db["leader_groups"].insert(row)
        from lib import audit

        audit.record(db, actor, "create", "leader_groups", clean["code"], None, row)
    return clean["code"]


def update_group(db: Database, actor: Actor, code: str, changes: Mapping[str, Any]) -> dict:
    """Rename, re-level or reorder a leader group (admin only, audited); its code stays (posts name it)."""
    require_admin(db, actor)
    if "code" in changes and changes["code"] != code:
        raise ValidationError([FieldError("code", "code_fixed")])
    with store.transaction(db):
        dbm.lock_name(db, "leader_groups")  # codes, order and use of the groups: one writer at a time
        store.get(db, "leader_groups", code)
        clean = _check_group(db, {k: v for k, v in changes.items() if k != "code"}, code)
        return store.update(db, actor, "leader_groups", code, clean)


def delete_group(db: Database, actor: Actor, code: str) -> None:
    """Remove a leader group no post and no leader names (admin only, audited)."""
    require_admin(db, actor)
    with store.transaction(db):
        dbm.lock_name(db, "leader_groups")  # codes, order and use of the groups: one writer at a time
        before = store.get(db, "leader_groups", code)
        used = db.execute("select (select count(*) from leader_posts where grp = :c) + "
                          "(select count(*) from leaders where grp = :c)", {"c": code}).fetchone()[0]
        if used:
            raise ValidationError([FieldError("code", "group_in_use", count=used)])
        db.execute("delete from leader_groups where code = ?", [code])
        from lib import audit

        audit.record(db, actor, "delete", "leader_groups", code, before, None)


# ---- posts ----------------------------------------------------------------------------------

OVERLAP_SQL = """
select id, valid_from, valid_to from leader_posts
where leader_id = :leader_id and grp = :grp and (:own_id is null or id != :own_id)
  and (valid_from is null or :to_day is null or valid_from <= :to_day)
  and (valid_to is null or :from_day is null or valid_to >= :from_day)
order by valid_from limit 1
"""


def _check_post(db: Database, raw: Mapping[str, Any], own_id: int | None) -> dict:
    clean, errors = coerce(raw, POST_FIELDS)
    grp, group_errors = parse_group(db, raw.get("grp"))
    errors = [e for e in errors if e.field != "grp"] + group_errors
    clean["grp"] = grp
    rules = [FieldError(n, "required") for n in ("leader_id", "grp") if clean.get(n) is None]
    rules += validate_validity(clean.get("valid_from"), clean.get("valid_to"))
    errors = with_rules(errors, rules)
    errors += store.missing_refs(db, clean, {"leader_id": "leaders", "unit_id": "units"})
    if not errors and clean.get("unit_id") is not None:
        # A group of one level (UV BTV Tỉnh ủy) is held at a unit of that kind only.
        level = db.execute("select level from leader_groups where code = ?", [grp]).fetchone()[0]
        kind = db.execute("select kind from units where id = ?", [clean["unit_id"]]).fetchone()[0]
        if level and level != kind:
            errors.append(FieldError("grp", "group_other_level", level=UnitKind(level).label))
    if not errors:
        vf, vt = clean.get("valid_from"), clean.get("valid_to")
        other = db.execute(OVERLAP_SQL, {"leader_id": clean["leader_id"], "grp": grp, "own_id": own_id,
                                         "from_day": vf.isoformat() if vf else None,
                                         "to_day": vt.isoformat() if vt else None}).fetchone()
        if other is not None:
            # Two posts of one group at once would count the leader twice over; different groups may overlap
            # (a Tỉnh ủy viên heading a department), and the figures then take the most senior group.
            errors.append(FieldError("valid_from", "post_overlap", start=fmt_date(other[1]) or "…",
                                     end=fmt_date(other[2]) or "…"))
    if errors:
        raise ValidationError(errors)
    return clean


LATEST_SQL = """
select p.id, p.title, p.grp from leader_posts p left join leader_groups g on g.code = p.grp
where p.leader_id = ?
order by p.valid_from is not null desc, p.valid_from desc, coalesce(g.sort_order, 1e9), p.id desc
limit 1
"""


def latest_post(db: Database, leader_id: int) -> dict | None:
    """The leader's latest post (latest start, a blank start the earliest; the most senior group on a tie)."""
    # "Latest" is by start, not "valid today": an ended post stays the leader's last known post.
    found = db.execute(LATEST_SQL, [leader_id]).fetchone()
    return None if found is None else {"id": found[0], "title": found[1], "grp": found[2]}


def sync_leader(db: Database, actor: Actor, leader_id: int) -> None:
    """Set leaders.position and leaders.grp to the latest post."""
    latest = latest_post(db, leader_id)
    if latest is None:
        return
    before = store.get(db, "leaders", leader_id)
    if (before["position"], before["grp"]) != (latest["title"], latest["grp"]):
        store.update(db, actor, "leaders", leader_id, {"position": latest["title"], "grp": latest["grp"]})


def _lock_leaders(db: Database, *leader_ids: Any) -> None:
    # PostgreSQL: a leader's posts are checked for overlap before one is written; the leader's row is held
    # meanwhile (leaders before their posts, in id order), so two posts of one group cannot both pass.
    dbm.lock_rows(db, "leaders", [i for i in (store.parse_id(x) for x in leader_ids) if i is not None])


def create_post(db: Database, actor: Actor, raw: Mapping[str, Any]) -> int:
    """Give a leader a post from a day on (admin only, audited); return its id."""
    require_admin(db, actor)
    with store.transaction(db):
        _lock_leaders(db, raw.get("leader_id"))
        post_id = store.insert(db, actor, "leader_posts", _check_post(db, raw, None))
        sync_leader(db, actor, store.get(db, "leader_posts", post_id)["leader_id"])
    return post_id


def update_post(db: Database, actor: Actor, post_id: int, changes: Mapping[str, Any], *,
                version: str | None = None) -> dict:
    """Correct a post (admin only, audited); refused if it changed since version (version_of)."""
    require_admin(db, actor)
    with store.transaction(db):
        before = store.get(db, "leader_posts", post_id)
        _lock_leaders(db, before["leader_id"], changes.get("leader_id"))
        dbm.lock(db, "leader_posts", post_id)
        before = store.get(db, "leader_posts", post_id)  # as it is now that it is held
        store.require_version(db, "leader_posts", post_id, version, before)
        clean = _check_post(db, {k: before[k] for k in POST_FIELDS} | dict(changes), post_id)
        after = store.update(db, actor, "leader_posts", post_id, clean)
        for leader_id in {before["leader_id"], after["leader_id"]}:
            sync_leader(db, actor, leader_id)
        return after


def end_post(db: Database, actor: Actor, post_id: int, last_day: Any, *, version: str | None = None) -> dict:
    """End a post on last_day, keeping its history."""
    if last_day is None or (isinstance(last_day, str) and not last_day.strip()):
        raise ValidationError([FieldError("valid_to", "required")])
    return update_post(db, actor, post_id, {"valid_to": last_day}, version=version)


def version_of(db: Database, row: Mapping[str, Any]) -> str:
    """The version of a post row as listed, for the form to carry."""
    return store.row_version(db, "leader_posts", row)


POSTS_SQL = """
select p.*, l.code as leader_code, l.full_name, u.code as unit_code, u.name as unit_name,
       g.name as grp_name, g.sort_order
from leader_posts p join leaders l on l.id = p.leader_id
left join units u on u.id = p.unit_id
left join leader_groups g on g.code = p.grp
where (:leader_id is null or p.leader_id = :leader_id)
order by l.full_name, p.leader_id, p.valid_from is not null, p.valid_from, p.id
"""


def list_posts(db: Database, leader_id: int | None = None) -> list[dict]:
    """The posts of a leader (or of all), oldest first, with unit and group names."""
    return [dict(r, grp_label=group_label(r["grp"], r["grp_name"]))
            for r in db.query(POSTS_SQL, {"leader_id": leader_id})]


POST_ON_SQL = """
select p.*, g.name as grp_name from leader_posts p left join leader_groups g on g.code = p.grp
where p.leader_id = :leader_id
  and (p.valid_from is null or p.valid_from <= :day) and (p.valid_to is null or p.valid_to >= :day)
order by coalesce(g.sort_order, 1e9), p.valid_from is null, p.valid_from desc, p.id desc
limit 1
"""


def post_on(db: Database, leader_id: int, day: date | str) -> dict | None:
    """The leader's post valid on a day (the most senior group if several), or None."""
    on = day.isoformat() if isinstance(day, date) else str(day)[:10]
    row = db.execute(POST_ON_SQL, {"leader_id": leader_id, "day": on})
    found = row.fetchone()
    if found is None:
        return None
    post = dict(zip([d[0] for d in row.description], found, strict=True))
    return post | {"grp_label": group_label(post["grp"], post["grp_name"])}


def first_post(db: Database, leader: Mapping[str, Any], unit_id: int | None = None) -> dict:
    """The first post of a new leader: their position and group, open at both ends, at unit_id or the home node."""
    if unit_id is None:
        home = org.home_node(db)
        unit_id = home["id"] if home else None
    return {"leader_id": leader["id"], "unit_id": unit_id, "title": leader.get("position"), "grp": leader["grp"],
            "valid_from": None, "valid_to": None}



POSTS_ON_SQL = """
select l.code as leader_code, p.title, p.grp, g.name as grp_name, p.unit_id from leader_posts p
join leaders l on l.id = p.leader_id left join leader_groups g on g.code = p.grp
where (p.valid_from is null or p.valid_from <= :day) and (p.valid_to is null or p.valid_to >= :day)
order by l.code, coalesce(g.sort_order, 1e9), p.valid_from is null, p.valid_from desc, p.id desc
"""


def posts_on(db: Database, day: date | str) -> dict[str, dict]:
    """Every leader's post valid on a day (the most senior group if several), by leader code, in one statement."""
    on = day.isoformat() if isinstance(day, date) else str(day)[:10]
    out: dict[str, dict] = {}
    cursor = db.execute(POSTS_ON_SQL, {"day": on})  # one statement: the report counts its statements
    names = [d[0] for d in cursor.description]
    for row in cursor:
        r = dict(zip(names, row, strict=True))
        out.setdefault(r["leader_code"], {**r, "grp_label": group_label(r["grp"], r["grp_name"])})
    return out


HOLDERS_SQL = """
select l.full_name, p.title from leader_posts p join leaders l on l.id = p.leader_id
where p.unit_id = :unit_id and p.title is not null
  and (p.valid_from is null or p.valid_from <= :day) and (p.valid_to is null or p.valid_to >= :day)
"""


def holders(db: Database, unit_id: int, title: str, day: date | str) -> list[str]:
    """The names of the leaders whose post at a node on a day has this title ('Phó Bí thư Tỉnh ủy' for 'PHÓ BÍ
    THƯ'; a deputy's title is not the title itself), in one statement (compared here: SQLite's lower() is ASCII)."""
    on = day.isoformat() if isinstance(day, date) else str(day)[:10]
    want = " ".join(title.lower().split())
    names = []
    for name, held in db.execute(HOLDERS_SQL, {"unit_id": unit_id, "day": on}):
        held = " ".join(held.lower().split())
        if (held == want or held.startswith(want + " ")) and name not in names:
            names.append(name)
    return names
