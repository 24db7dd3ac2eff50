"""The organisation tree (units as nodes of any depth), the home node, and the issuing bodies by date.

The tree is units.parent_id; unit_tree is its closure (ancestor_id, descendant_id, depth), itself included
at depth 0, kept by triggers of migration m006 on every insert, move or delete of a unit, whatever code
writes it, so a roll-up or a scope test is one indexed lookup instead of a walk. rebuild_tree recomputes it
from the parent links (a repair; the triggers make it unnecessary in normal use). Cells stay leaves under
their immediate node (cells.unit_id). docs/ORGANISATION.md tells the whole design.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlite_utils import Database

from lib import audit, store
from lib import db as dbm
from lib.domain import Actor, FieldError, PermissionDenied, Role, UnitKind, ValidationError, coerce
from lib.i18n import t
from lib.users import actor_for, require_admin

HOME_KEY = "home_unit"

REBUILD_SQL = """
insert into unit_tree(ancestor_id, descendant_id, depth)
with recursive up(descendant_id, ancestor_id, depth) as (
    select id, id, 0 from units
    union all
    select up.descendant_id, u.parent_id, up.depth + 1
    from up join units u on u.id = up.ancestor_id
    where u.parent_id is not null and up.depth < 64
)
select ancestor_id, descendant_id, min(depth) from up group by ancestor_id, descendant_id
"""


def rebuild_tree(db: Database) -> int:
    """Recompute the closure table from the parent links; return its row count."""
    with store.transaction(db):
        dbm.lock_name(db, "units")  # PostgreSQL: no unit written while the closure is made again
        db.execute("delete from unit_tree")
        db.execute(REBUILD_SQL)
    return db.execute("select count(*) from unit_tree").fetchone()[0]


def home_node(db: Database) -> dict | None:
    """The home node: the unit of setting home_unit, else the only root; None when there are several or none."""
    row = db.execute("select u.* from units u join settings s on s.key = ? and s.value = u.code", [HOME_KEY]
                     ).fetchone()
    if row is None:
        roots = db.execute("select * from units where parent_id is null limit 2").fetchall()
        row = roots[0] if len(roots) == 1 else None
    if row is None:
        return None
    names = [d[0] for d in db.execute("select * from units limit 0").description]
    return dict(zip(names, row, strict=True))


def set_home(db: Database, actor: Actor, code: str | None) -> None:
    """Make the unit with this code the home node (admin only); None or blank goes back to the only root."""
    require_admin(db, actor)
    code = (code or "").strip() or None
    if code is not None and db.execute("select 1 from units where code = ?", [code]).fetchone() is None:
        raise ValidationError([FieldError("home_unit", "unknown_code", value=code)])
    with store.transaction(db):
        dbm.lock_name(db, "settings")  # the audit entry's before is the value this write replaces
        before = db.execute("select value from settings where key = ?", [HOME_KEY]).fetchone()
        if code is None:
            db.execute("delete from settings where key = ?", [HOME_KEY])
        else:
            db.execute("insert or replace into settings(key, value) values (?, ?)", [HOME_KEY, code])
        audit.record(db, actor, "update", "settings", HOME_KEY, {HOME_KEY: before[0] if before else None},
                     {HOME_KEY: code})


def _units(db: Database, sql: str, params: Iterable[Any]) -> list[dict]:
    cursor = db.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def children(db: Database, unit_id: int | None) -> list[dict]:
    """The units directly under a node (under none: the roots), by code."""
    return _units(db, "select * from units where parent_id is ? order by code", [unit_id])


def ancestors(db: Database, unit_id: int) -> list[dict]:
    """The path from the root down to a unit, the unit last (for breadcrumbs)."""
    return _units(db, "select u.*, t.depth from unit_tree t join units u on u.id = t.ancestor_id "
                      "where t.descendant_id = ? order by t.depth desc", [unit_id])


def subtree_ids(db: Database, unit_ids: Iterable[int]) -> frozenset[int]:
    """The given units and every unit below them."""
    ids = json.dumps(sorted({int(u) for u in unit_ids}))
    return frozenset(r[0] for r in db.execute(
        "select descendant_id from unit_tree where ancestor_id in (select value from json_each(?))", [ids]))


def tree(db: Database) -> list[dict]:
    """Every unit in tree order (a parent before its children, siblings by code), with its depth and cells."""
    rows = _units(db, """
        with recursive walk(id, depth, path) as (
            select id, 0, code from units where parent_id is null
            union all
            select u.id, walk.depth + 1, walk.path || char(31) || u.code
            from walk join units u on u.parent_id = walk.id where walk.depth < 64
        )
        select u.*, walk.depth, s.code as successor_code,
               (select count(*) from cells c where c.unit_id = u.id) as cells
        from walk join units u on u.id = walk.id left join units s on s.id = u.successor_id
        order by walk.path""", [])
    return rows


def check_parent(db: Database, unit_id: int | None, parent_id: int | None) -> list[FieldError]:
    """Refusals for a parent that does not exist, or that is the unit itself or below it (a cycle)."""
    if parent_id is None:
        return []
    if db.execute("select 1 from units where id = ?", [parent_id]).fetchone() is None:
        return [FieldError("parent_id", "unknown_id")]
    if unit_id is not None and db.execute("select 1 from unit_tree where ancestor_id = ? and descendant_id = ?",
                                          [unit_id, parent_id]).fetchone():
        return [FieldError("parent_id", "parent_cycle")]
    return []


def default_parent(db: Database) -> int | None:
    """Where a new unit goes when no parent is named: under the home node when one is set (setting home_unit), so
    it is counted in its figures; else it is a root, beside the others (never under a lone first unit)."""
    row = db.execute("select u.id from units u join settings s on s.key = ? and s.value = u.code", [HOME_KEY]
                     ).fetchone()
    return row[0] if row else None


# ---- scope: a clerk's units are whole subtrees ------------------------------------------------

def scope_codes(db: Database, actor: Actor) -> tuple[str, ...] | None:
    """The codes of the units whose subtrees a user may see on the dashboards; None when they see everything.

    A clerk is held to their units (none: nothing). A viewer is held to theirs only if they have any: users.py
    gives viewers no units, so today a viewer sees the whole organisation, like an administrator."""
    fresh = actor_for(db, actor.username) if actor.username != "system" else actor
    if fresh is None:
        raise PermissionDenied("inactive")
    if fresh.role == Role.ADMIN:
        return None
    rows = db.execute("select u.code from user_units uu join units u on u.id = uu.unit_id "
                      "where uu.username = ? order by u.code", [fresh.username]).fetchall()
    if fresh.role != Role.CLERK and not rows:
        return None
    return tuple(r[0] for r in rows)


def _ids(db: Database, codes: Iterable[str]) -> list[int]:
    return [r[0] for r in db.execute("select id from units where code in (select value from json_each(?))",
                                     [json.dumps(list(codes))])]


def scope_top(db: Database, actor: Actor) -> dict | None:
    """The node a user's dashboards open at: the lowest node covering all their subtrees (a clerk of one commune:
    that commune); the home node for everyone not scoped, or when the subtrees share no node."""
    mine = scope_codes(db, actor)
    if not mine:
        return home_node(db)
    ids = _ids(db, mine)
    # the common ancestors of every unit of the user, the deepest first
    row = db.execute("""
        select t.ancestor_id from unit_tree t where t.descendant_id in (select value from json_each(:ids))
        group by t.ancestor_id having count(distinct t.descendant_id) = :n
        order by sum(t.depth) limit 1""",
                     {"ids": json.dumps(ids), "n": len(ids)}).fetchone()
    return _units(db, "select * from units where id = ?", [row[0]])[0] if row else None


def scoped_filters(db: Database, actor: Actor, filters: Any) -> Any:
    """The dashboard filters narrowed to what the actor may see (refused when they name a unit or node outside).

    A scoped user's chosen units must lie inside their subtrees, no choice meaning all of them; the node in view
    must lie inside them, or be the node their dashboards open at (scope_top) or a node between it and their
    units; no node means that opening node."""
    from dataclasses import replace

    mine = scope_codes(db, actor)
    if mine is None:
        return filters
    if not mine:
        # a clerk with no unit yet sees no figures (users.user_warnings tells the administrator)
        asked = (*filters.unit_codes, *([filters.node] if filters.node else []))
        if asked:
            raise PermissionDenied("drill.view_out_of_scope", unit=asked[0])
        return replace(filters, unit_codes=("\x00",))
    mine_ids = _ids(db, mine)
    allowed = subtree_ids(db, mine_ids)
    top = scope_top(db, actor)
    for code in filters.unit_codes:
        row = db.execute("select id, name from units where code = ?", [code]).fetchone()
        if row is None or row[0] not in allowed:
            raise PermissionDenied("drill.view_out_of_scope", unit=row[1] if row else code)
    node = filters.node or (top["code"] if top else None)
    inside = True
    if node is not None:
        row = db.execute("select id, name from units where code = ?", [node]).fetchone()
        between = row is not None and top is not None and db.execute(
            "select 1 from unit_tree a join unit_tree b on b.ancestor_id = a.descendant_id "
            "where a.ancestor_id = ? and a.descendant_id = ? "
            "and b.descendant_id in (select value from json_each(?)) limit 1",
            [top["id"], row[0], json.dumps(mine_ids)]).fetchone() is not None
        if row is None or not (row[0] in allowed or between):
            raise PermissionDenied("drill.view_out_of_scope", unit=row[1] if row else node)
        inside = row[0] in allowed
    if filters.unit_codes or (inside and node is not None):
        # a node inside their subtrees needs no narrowing: everything under it is theirs
        return replace(filters, node=node)
    return replace(filters, node=node, unit_codes=mine)


def visible_units(db: Database, actor: Actor) -> list[dict]:
    """The units a user may choose on the dashboards (every one, or a scoped user's subtrees), by name, each with
    its successor's code."""
    from lib import directory

    rows = directory.list_units(db)
    mine = scope_codes(db, actor)
    if mine is None:
        return rows
    allowed = subtree_ids(db, _ids(db, mine))
    return [r for r in rows if r["id"] in allowed]


def report_units(db: Database, actor: Actor) -> list[dict]:
    """The units a report can be narrowed to: the subtree under the user's opening node in tree order, each with
    its depth below that node (1 = a child, the rows of the report)."""
    top = scope_top(db, actor)
    mine = scope_codes(db, actor)
    allowed = subtree_ids(db, _ids(db, mine)) if mine is not None else None
    under = subtree_ids(db, [top["id"]]) if top else None
    rows = tree(db)
    base = next((r["depth"] for r in rows if top and r["id"] == top["id"]), -1)
    return [{**r, "depth": r["depth"] - base} for r in rows
            if (top is None or (r["id"] in under and r["id"] != top["id"]))
            and (allowed is None or r["id"] in allowed)]


@dataclass(frozen=True)
class NodeView:
    """What a dashboard shows at a node: the trail from the user's opening node down to it (breadcrumbs), its
    child units (the rows, each a drill-down), whether cells hang directly under it, and the node itself."""

    code: str | None
    name: str | None
    trail: tuple[tuple[str | None, str], ...]
    children: tuple[tuple[str, str], ...]
    cells: int
    top: str | None


def node_view(db: Database, actor: Actor, code: str | None) -> NodeView:
    """The node in view for a user: code None opens at their own top node; an unknown code is refused (field
    node), a node outside their scope too (PermissionDenied)."""
    top = scope_top(db, actor)
    mine = scope_codes(db, actor)
    code = (code or "").strip() or None
    if code is None:
        node = top
    else:
        found = _units(db, "select * from units where code = ?", [code])
        if not found:
            raise ValidationError([FieldError("drill.node", "unknown_code", value=code)])
        node = found[0]
        if mine is not None:
            scoped_filters(db, actor, _Asked(node=code))
        elif top is not None and db.execute("select 1 from unit_tree where ancestor_id = ? and descendant_id = ?",
                                            [top["id"], node["id"]]).fetchone() is None:
            # outside the home node's tree: a unit of another organisation, or an old root left beside it
            raise ValidationError([FieldError("drill.node", "drill.outside_tree", value=code)])
    trail: list[tuple[str | None, str]] = []
    if node is not None:
        path = ancestors(db, node["id"])
        if top is not None:
            depth_of_top = next((i for i, u in enumerate(path) if u["id"] == top["id"]), 0)
            path = path[depth_of_top:]
        trail = [(u["code"], u["name"]) for u in path]
    if top is None:
        # no single home node: the roots are the rows of the first level
        trail.insert(0, (None, ""))
    kids = children(db, node["id"] if node else None)
    if mine is not None:
        allowed = subtree_ids(db, _ids(db, mine))
        up = {r[0] for r in db.execute("select t.ancestor_id from unit_tree t where t.descendant_id in "
                                       "(select value from json_each(?))", [json.dumps(sorted(allowed))])}
        kids = [k for k in kids if k["id"] in allowed or k["id"] in up]
    cells = db.execute("select count(*) from cells where unit_id = ?", [node["id"]]).fetchone()[0] if node else 0
    return NodeView(node["code"] if node else None, node["name"] if node else None, tuple(trail),
                    tuple((k["code"], k["name"]) for k in kids), cells, top["code"] if top else None)


@dataclass(frozen=True)
class _Asked:
    node: str | None = None
    unit_codes: tuple[str, ...] = ()


# ---- issuing bodies ---------------------------------------------------------------------

BODY_FIELDS = {"unit_id": "int", "effective_from": "date", "upper_line": "str", "committee": "str", "board": "str",
               "symbol_suffix": "str", "place": "str", "signer_capacity": "str", "signer_title": "str"}


def _body_row(row: Mapping[str, Any]) -> dict:
    body = dict(row)
    body["recipients"] = json.loads(body["recipients"]) if body.get("recipients") else None
    return body


def body_for(db: Database, unit_id: int, on_date: date | str) -> dict | None:
    """The issuing body of a node in force on a day (the latest taking effect by then), or None."""
    on = on_date.isoformat() if isinstance(on_date, date) else str(on_date)[:10]
    cursor = db.execute("select * from issuing_bodies where unit_id = ? and effective_from <= ? "
                        "order by effective_from desc limit 1", [unit_id, on])
    row = cursor.fetchone()
    if row is None:
        return None
    return _body_row(dict(zip([d[0] for d in cursor.description], row, strict=True)))


def list_bodies(db: Database, unit_id: int | None = None) -> list[dict]:
    """The issuing bodies (of one node, if given), by node and date."""
    rows = _units(db, "select b.*, u.code as unit_code, u.name as unit_name from issuing_bodies b "
                      "join units u on u.id = b.unit_id where ? is null or b.unit_id = ? "
                      "order by u.code, b.effective_from", [unit_id, unit_id])
    return [_body_row(r) for r in rows]


def _check_body(db: Database, raw: Mapping[str, Any], own_id: int | None) -> dict:
    clean, errors = coerce(raw, BODY_FIELDS)
    for name in ("unit_id", "effective_from", "committee"):
        if clean.get(name) is None and not any(e.field == name for e in errors):
            errors.append(FieldError(name, "required"))
    errors += store.missing_refs(db, clean, {"unit_id": "units"})
    recipients = raw.get("recipients")
    if isinstance(recipients, str):
        recipients = [line for line in recipients.splitlines()]
    if recipients is not None and not (isinstance(recipients, list | tuple) and all(isinstance(x, str)
                                                                                 for x in recipients)):
        errors.append(FieldError("recipients", "not_lines"))
    else:
        lines = [x.strip() for x in recipients or () if x.strip()]
        clean["recipients"] = json.dumps(lines, ensure_ascii=False) if lines else None
    if not errors:
        other = db.execute("select id from issuing_bodies where unit_id = ? and effective_from = ?",
                           [clean["unit_id"], clean["effective_from"].isoformat()]).fetchone()
        if other and other[0] != own_id:
            errors.append(FieldError("effective_from", "duplicate_body", day=clean["effective_from"]
                                     .strftime("%d/%m/%Y")))
    if errors:
        raise ValidationError(errors)
    return clean


def create_body(db: Database, actor: Actor, raw: Mapping[str, Any]) -> int:
    """Add an issuing body of a node from a day on (admin only, audited); return its id."""
    require_admin(db, actor)
    with store.transaction(db):
        _lock_bodies(db, raw.get("unit_id"))
        return store.insert(db, actor, "issuing_bodies", _check_body(db, raw, None))


def _lock_bodies(db: Database, *unit_ids: Any) -> None:
    # PostgreSQL: one body per node and day is checked before the write; the node's row is held meanwhile.
    dbm.lock_rows(db, "units", [u for u in (store.parse_id(x) for x in unit_ids) if u is not None])


def update_body(db: Database, actor: Actor, body_id: int, changes: Mapping[str, Any]) -> dict:
    """Change an issuing body (admin only, audited)."""
    require_admin(db, actor)
    with store.transaction(db):
        before = _body_row(store.get(db, "issuing_bodies", body_id))
        _lock_bodies(db, before["unit_id"], changes.get("unit_id"))
        dbm.lock(db, "issuing_bodies", body_id)
        before = _body_row(store.get(db, "issuing_bodies", body_id))  # as it is now that it is held
        clean = _check_body(db, {**before, **dict(changes)}, body_id)
        return store.update(db, actor, "issuing_bodies", body_id, clean)


class NoIssuingBody(ValueError):
    """No issuing body is recorded for the home node (a fresh install, or a database without a tree)."""

    def __init__(self, on_date: date | str):
        day = on_date if isinstance(on_date, date) else date.fromisoformat(str(on_date)[:10])
        self.day = day
        super().__init__(t("report.no_body", day=day.strftime("%d/%m/%Y")))


BELOW_SQL = """
select b.* from unit_tree t join units u on u.id = t.descendant_id join issuing_bodies b on b.unit_id = u.id
where t.ancestor_id = :home and t.depth > 0 and b.effective_from <= :on
  and (u.valid_from is null or u.valid_from <= :on) and (u.valid_to is null or u.valid_to >= :on)
  and b.effective_from = (select max(x.effective_from) from issuing_bodies x
                          where x.unit_id = b.unit_id and x.effective_from <= :on)
limit 2
"""


def issuer(db: Database, on_date: date | str) -> dict | None:
    """The body our documents are issued by on a day: the home node's body in force then; failing that, the one
    node below the home node that was in being that day and had a body (the district, for a province deployment's
    periods before 1/7/2025); failing that, the home node's first body (a commune formed on 1/7/2025 reporting on
    an earlier period: it is the one issuing the report now). None when nothing fits (see NoIssuingBody)."""
    home = home_node(db)
    if home is None:
        return None
    on = on_date.isoformat() if isinstance(on_date, date) else str(on_date)[:10]
    body = body_for(db, home["id"], on)
    if body is not None:
        return body
    cursor = db.execute(BELOW_SQL, {"home": home["id"], "on": on})
    rows = cursor.fetchall()
    # Two nodes below with a body that day (say, two communes): neither speaks for the home node.
    if len(rows) == 1:
        return _body_row(dict(zip([d[0] for d in cursor.description], rows[0], strict=True)))
    cursor = db.execute("select * from issuing_bodies where unit_id = ? order by effective_from limit 1", [home["id"]])
    row = cursor.fetchone()
    return _body_row(dict(zip([d[0] for d in cursor.description], row, strict=True))) if row else None


def require_issuer(db: Database, on_date: date | str) -> dict:
    """The issuing body of the day (issuer), or NoIssuingBody saying it must be set on the Settings page."""
    body = issuer(db, on_date)
    if body is None:
        raise NoIssuingBody(on_date)
    return body


# ---- what a body's documents add (branch format36) ------------------------------------------------------------
# The signer's name, the legal basis a report cites first ("căn cứ": the regulation fixing meeting days, the
# provincial guidance...) and the upper body a report is sent to. They are the body's data, kept as settings keys
# "body.<id>.<field>" (no new column, no migration), edited by an administrator on the Settings page beside the
# body, audited like every setting; never words of the locale files.
DOC_FIELDS = ("signer_name", "legal_basis", "upper_body")


def _doc_key(body_id: int, name: str) -> str:
    return f"body.{int(body_id)}.{name}"


def body_document(db: Database, body_id: int | None) -> dict[str, Any]:
    """A body's document extras: signer_name and upper_body (text, blank when unset) and legal_basis (lines)."""
    if body_id is None:
        return document_of({}, None)
    rows = db.execute("select key, value from settings where key in (?, ?, ?)",
                      [_doc_key(body_id, n) for n in DOC_FIELDS]).fetchall()
    return document_of(dict(rows), body_id)


def document_of(settings: Mapping[str, Any], body_id: int | None) -> dict[str, Any]:
    """body_document from settings already read (lib.settings.get_settings holds every key)."""
    out: dict[str, Any] = {"signer_name": "", "legal_basis": [], "upper_body": ""}
    if body_id is None:
        return out
    for name in DOC_FIELDS:
        value = str(settings.get(_doc_key(body_id, name)) or "")
        if name == "legal_basis":
            out[name] = [line.strip() for line in value.splitlines() if line.strip()]
        else:
            out[name] = value.strip()
    return out


def save_body_document(db: Database, actor: Actor, body_id: int, values: Mapping[str, Any]) -> None:
    """Store a body's document extras (admin only, audited as settings); legal_basis is text, one basis a line."""
    from lib import settings

    require_admin(db, actor)
    store.get(db, "issuing_bodies", body_id)  # an unknown body is refused before anything is written
    clean: dict[str, str] = {}
    for name in DOC_FIELDS:
        if name not in values:
            continue
        value = values[name]
        if name == "legal_basis" and isinstance(value, list | tuple):
            value = "\n".join(str(v) for v in value)
        clean[_doc_key(body_id, name)] = "\n".join(line.strip() for line in str(value or "").strip().splitlines()
                                                   if line.strip())
    with store.transaction(db):
        settings.save_settings(db, actor, clean)


# ---- setup: who are we? ---------------------------------------------------------------------

# The kinds a deployment's home node may have (issue 11): a province committee, a commune's or a ward's party
# committee, or the grassroots committee of an agency or enterprise.
HOME_KINDS = (UnitKind.TINH, UnitKind.XA, UnitKind.PHUONG, UnitKind.CO_SO)
HOME_NODE_FIELDS = {"home_kind": "kind", "home_code": "code", "home_name": "name"}


def check_home(values: Mapping[str, Any]) -> list[FieldError]:
    """Every refusal of the setup's "who are we?" at once, in the form's order: the home node (home_kind, home_code,
    home_name) and its issuing body (effective_from, upper_line, committee, ...)."""
    errors: list[FieldError] = []
    kind = str(values.get("home_kind") or "").strip()
    if not kind:
        errors.append(FieldError("home_kind", "required"))
    elif kind not in {k.value for k in HOME_KINDS}:
        errors.append(FieldError("home_kind", "not_home_kind", kinds=", ".join(k.label for k in HOME_KINDS)))
    for name in ("home_code", "home_name"):
        if not str(values.get(name) or "").strip():
            errors.append(FieldError(name, "required"))
    spec = {k: v for k, v in BODY_FIELDS.items() if k != "unit_id"}
    clean, problems = coerce({k: v for k, v in values.items() if k in spec}, spec)
    errors += problems
    for name in ("effective_from", "committee"):
        if clean.get(name) is None and not any(e.field == name for e in problems):
            errors.append(FieldError(name, "required"))
    recipients = values.get("recipients")
    if recipients is not None and not (isinstance(recipients, str) or (
            isinstance(recipients, list | tuple) and all(isinstance(x, str) for x in recipients))):
        errors.append(FieldError("recipients", "not_lines"))
    return errors


def setup_home(db: Database, actor: Actor, values: Mapping[str, Any]) -> int:
    """Create the home node and its first issuing body, make it home, put the units already there (roots of an
    import made before setup) under it, and name the organisation after its committee (admin only, one
    transaction, audited); refused once a home node is set. Return the node's id."""
    require_admin(db, actor)
    with store.transaction(db):
        # PostgreSQL: two setups at once queue here, and the second finds the first's home node (names before rows:
        # the unit tree's, then the settings').
        dbm.lock_name(db, "units")
        dbm.lock_name(db, "settings")
        if db.execute("select 1 from settings where key = ?", [HOME_KEY]).fetchone() is not None:
            raise ValidationError([FieldError("home_code", "home_exists")])
        roots = [r[0] for r in db.execute("select id from units where parent_id is null order by id")]
        errors = check_home(values)
        if errors:
            raise ValidationError(errors)
        from lib import directory, settings

        try:
            unit_id = directory.create_unit(db, actor, {HOME_NODE_FIELDS[k]: str(values[k]).strip()
                                                        for k in HOME_NODE_FIELDS})
        except ValidationError as exc:
            fields = {v: k for k, v in HOME_NODE_FIELDS.items()}
            raise ValidationError([FieldError(fields.get(e.field, e.field), e.key, e.params)
                                   for e in exc.errors]) from None
        create_body(db, actor, {**{k: v for k, v in values.items() if k in BODY_FIELDS or k == "recipients"},
                                "unit_id": unit_id})
        for root in roots:  # audited moves; the triggers of m006 keep the closure in step
            store.update(db, actor, "units", root, {"parent_id": unit_id})
        set_home(db, actor, str(values["home_code"]).strip())
        settings.save_settings(db, actor, {"org_name": str(values["committee"]).strip()})
    return unit_id
