"""PostgreSQL behind the sqlite_utils interface the app uses: one adapter, SQL translated in this one place."""

import functools
import itertools
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

import psycopg
import sqlglot
from psycopg.pq import TransactionStatus
from psycopg.types.numeric import IntDumper
from psycopg.types.string import StrDumper, TextLoader
from psycopg_pool import ConnectionPool
from sqlglot import exp
from sqlite_utils import Database
from sqlite_utils.db import NotFoundError

SCHEMES = ("postgresql://", "postgres://")
POOL_MAX = 20


def is_url(value: Any) -> bool:
    """Whether a database location names PostgreSQL (a postgresql:// URL) rather than a SQLite file."""
    return isinstance(value, str) and value.startswith(SCHEMES)


# ---- SQL translation: SQLite's dialect (as lib writes it) → PostgreSQL ------------------------------------------

# SQLite functions whose PostgreSQL namesakes differ (or are missing) are renamed to the sqlite_* functions that
# COMPAT_SQL defines with SQLite's results (text dates, julian days of SQLite's epoch, JSON arrays as rows).
_RENAMES = [(re.compile(rf"\b{name}\s*\(", re.IGNORECASE), f"{new}(") for name, new in (
    ("date", "sqlite_date"), ("julianday", "sqlite_julianday"), ("printf", "sqlite_printf"),
    ("json_each", "sqlite_json_each"), ("json_object", "json_build_object"), ("json_array", "json_build_array"),
    ("json_group_array", "json_agg"), ("json_patch", "sqlite_json_patch"),
    ("last_insert_rowid", "lastval"),
)]
# json_each's values come back as text: the left side of "x in (select value from json_each(...))" is compared
# as text too (SQLite compares a JSON number with an integer column as numbers; text of both agrees).
_IN_JSON = re.compile(r"([\w.]+)(\s+(?:not\s+)?in\s*\(\s*select\s+value\s+from\s+json_each\s*\()", re.IGNORECASE)
# A JSON parameter read with ->> must be typed for PostgreSQL to pick the json operator.
_JSON_PARAM = re.compile(r"(:\w+)(\s*->>)")
_NAMED = re.compile(r"(?<![\w:]):([A-Za-z_]\w*)")
_PASS = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|END|SAVEPOINT|RELEASE|SET)\b", re.IGNORECASE)
_PRAGMA = re.compile(r"^\s*PRAGMA\b", re.IGNORECASE)
_TRIGGER = re.compile(r"^\s*CREATE\s+TRIGGER\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", re.IGNORECASE)
_ABORT_TRIGGER = re.compile(
    r"^\s*CREATE\s+TRIGGER\s+(?P<name>\w+)\s+(?P<timing>BEFORE|AFTER)\s+(?P<event>INSERT|UPDATE|DELETE)\s+"
    r"ON\s+(?P<table>\w+)\s+(?:WHEN\s+(?P<when>.+?)\s+)?BEGIN\s+SELECT\s+RAISE\s*\(\s*ABORT\s*,\s*"
    r"'(?P<message>(?:[^']|'')*)'\s*\)\s*;\s*END\s*$", re.IGNORECASE | re.DOTALL)
# SQLite's CROSS JOIN fixes the order of the joins (lib writes one where the order matters: the period's meetings
# drive, each probing its leaders); PostgreSQL keeps the written order of explicit joins under join_collapse_limit 1.
_CROSS_JOIN = re.compile(r"\bcross\s+join\b", re.IGNORECASE)
_INSERT = re.compile(r"^\s*INSERT\s+(?:OR\s+\w+\s+)?INTO\s+(\w+)\s*\(([^)]*)\)", re.IGNORECASE)


_SUBQUERIES = itertools.count(1)
_PREDICATES = (exp.Predicate, exp.Connector, exp.Not)


def _outer_columns(node: exp.Expression) -> Iterator[exp.Column]:
    # The column references of an expression outside aggregates, windows and subqueries.
    if isinstance(node, exp.Column):
        yield node
        return
    if isinstance(node, exp.AggFunc | exp.Filter | exp.Window | exp.Subquery | exp.Select):
        return
    for child in node.iter_expressions():
        yield from _outer_columns(child)


def _group_bare_columns(select: exp.Select) -> None:
    # SQLite lets a grouped query name columns it does not group by (here always ones that depend on a grouped
    # key, such as a unit's code beside its id); PostgreSQL wants them grouped: grouping by them too changes no
    # group.
    group = select.args.get("group")
    if not group:
        return
    grouped = {g.sql() for g in group.expressions}
    aliases = {e.alias for e in select.expressions if e.alias}
    extra: list[exp.Expression] = []
    order = select.args.get("order")
    for item in [*select.expressions, *(order.expressions if order else [])]:
        expression = item.this if isinstance(item, exp.Alias | exp.Ordered) else item
        if expression.sql() in grouped:
            continue
        for column in _outer_columns(expression):
            if column.sql() in grouped or (not column.table and column.name in aliases):
                continue
            grouped.add(column.sql())
            extra.append(column.copy())
    if extra:
        group.set("expressions", [*group.expressions, *extra])


def _truth(node: exp.Expression, key: str) -> None:
    # Where SQLite takes any value as a condition (CASE WHEN upcoming, ON 1), PostgreSQL wants a boolean:
    # sqlite_truth(x) is x for a boolean and x <> 0 for a number (COMPAT_SQL), chosen by the value's type.
    arg = node.args.get(key)
    inner = arg.unnest() if isinstance(arg, exp.Paren) else arg
    if arg is None or isinstance(inner, (*_PREDICATES, exp.Boolean, exp.Exists, exp.Null)):
        return
    node.set(key, exp.Anonymous(this="sqlite_truth", expressions=[arg.copy()]))


def _fix(node: exp.Expression) -> exp.Expression:
    # sqlglot's output is PostgreSQL syntax; these keep SQLite's meaning where the two engines' functions differ.
    if isinstance(node, exp.Subquery) and isinstance(node.parent, exp.From | exp.Join) and not node.alias:
        # PostgreSQL 15 wants every subquery in FROM named; SQLite does not.
        node.set("alias", exp.TableAlias(this=exp.to_identifier(f"sqlite_sub_{next(_SUBQUERIES)}")))
        return node
    if isinstance(node, exp.Join) and (node.kind or "").upper() == "CROSS" and node.args.get("on"):
        node.set("kind", None)  # SQLite's CROSS JOIN … ON (an inner join in a fixed order) is a JOIN here
        return node
    if isinstance(node, exp.Coalesce | exp.Add | exp.Sub | exp.Mul | exp.Div | exp.Max | exp.Min | exp.Sum):
        # A comparison is the integer 0 or 1 in SQLite: where it meets numbers it is cast so here too (in sum() too:
        # the built-in sum of integers, not the sum(boolean) aggregate of COMPAT_SQL, a SQL call per row).
        for key in ("this", "expression", "expressions"):
            value = node.args.get(key)
            for arg in value if isinstance(value, list) else [value]:
                if isinstance(arg, _PREDICATES):
                    arg.replace(exp.Cast(this=arg.copy(), to=exp.DataType.build("int")))
        return node
    if isinstance(node, exp.If | exp.Where | exp.Having | exp.Not):
        _truth(node, "this")
    elif isinstance(node, exp.Join) and node.args.get("on") is not None:
        _truth(node, "on")
    elif isinstance(node, exp.Connector):
        _truth(node, "this")
        _truth(node, "expression")
    if isinstance(node, exp.Like):
        # SQLite's LIKE ignores the case of ASCII letters; ILIKE does (all letters, under a non-C ctype).
        return exp.ILike(this=node.this, expression=node.expression, escape=node.args.get("escape"))
    if isinstance(node, exp.Select):
        _group_bare_columns(node)
        return node
    if isinstance(node, exp.Ordered) and node.find_ancestor(exp.OnConflict) is not None:
        return node.this  # an ON CONFLICT target takes no NULLS FIRST
    if isinstance(node, exp.GroupConcat) or (isinstance(node, exp.Anonymous) and node.name.lower() == "string_agg"):
        # group_concat takes any value and ',' by default; string_agg wants text.
        node.set("this", exp.Cast(this=node.this, to=exp.DataType.build("text")))
        if not node.args.get("separator"):
            node.set("separator", exp.Literal.string(","))
    elif isinstance(node, exp.Greatest | exp.Least):
        # SQLite's scalar max/min are null when any argument is; GREATEST/LEAST skip nulls.
        args = [node.this, *node.expressions]
        any_null = exp.or_(*[exp.Is(this=a.copy(), expression=exp.Null()) for a in args])
        return exp.Case(ifs=[exp.If(this=any_null, true=exp.Null())], default=node)
    elif isinstance(node, exp.Literal) and not node.is_string and re.search(r"[.eE]", node.this):
        # SQLite's real is a double; a PostgreSQL decimal literal would make numeric arithmetic.
        return exp.Cast(this=node, to=exp.DataType.build("double precision"))
    elif isinstance(node, exp.Round) and isinstance(node.this, exp.Cast) and node.this.to.is_type("decimal"):
        # sqlglot casts ROUND's argument to numeric; rounding the double as SQLite does keeps results equal.
        node.set("this", node.this.this)
    return node


class Translation(NamedTuple):
    """One SQLite statement as PostgreSQL's: the statements, whether they take parameters (psycopg's %s style),
    and whether their values come tagged with their type (a UNION of differently typed columns: Cursor untags)."""

    statements: tuple[str, ...]
    takes: bool
    tagged: bool = False


def _branches(node: exp.Expression) -> Iterator[exp.Select]:
    if isinstance(node, exp.SetOperation):
        yield from _branches(node.this)
        yield from _branches(node.expression)
    elif isinstance(node, exp.Select):
        yield node
    elif isinstance(node, exp.Subquery):
        yield from _branches(node.this)


def _tag_union(tree: exp.Expression) -> bool:
    # SQLite's UNION takes any value in any column (a page's rows of several kinds in one statement); PostgreSQL's
    # wants one type per column. Each value goes as text tagged with its type (sqlite_any) and is read back as the
    # value SQLite would give. Only for a UNION that is not ordered (tagged text would sort differently).
    if not isinstance(tree, exp.SetOperation) or tree.args.get("order") or tree.args.get("limit"):
        return False
    for select in _branches(tree):
        wrapped = []
        for e in select.expressions:
            inner = e.this if isinstance(e, exp.Alias) else e
            if not isinstance(inner, exp.Null):
                tagged = exp.Anonymous(this="sqlite_any", expressions=[inner.copy()])
                name = e.alias if isinstance(e, exp.Alias) else e.output_name  # the column keeps its name
                e = exp.alias_(tagged, name) if name else tagged
            wrapped.append(e)
        select.set("expressions", wrapped)
    return True


def _untag(value: Any) -> Any:
    if not isinstance(value, str) or value[1:2] != ":":
        return value
    kind, text = value[0], value[2:]
    if kind == "i":
        return int(text)
    if kind == "f":
        return float(text)
    if kind == "n":
        return float(text) if "." in text or "e" in text.lower() else int(text)
    return text


@functools.lru_cache(maxsize=8192)
def translate(sql: str) -> Translation:
    """The PostgreSQL statements for one statement written for SQLite (none for a PRAGMA)."""
    if _PRAGMA.match(sql):
        return Translation((), False)
    if _PASS.match(sql):
        # BEGIN IMMEDIATE's whole-file lock has no counterpart: READ COMMITTED, and row locks where lib asks (lock()).
        begin = re.sub(r"^\s*BEGIN\s+(IMMEDIATE|DEFERRED|EXCLUSIVE)\b", "BEGIN", sql, flags=re.IGNORECASE)
        return Translation((begin,), False)
    trigger = _TRIGGER.match(sql)
    abort = _ABORT_TRIGGER.match(sql)
    if trigger and trigger.group(1) not in TRIGGERS and abort:
        # A guard that only refuses (BEGIN SELECT RAISE(ABORT, '…'); END): the same guard, row by row.
        when = f" WHEN ({abort.group('when')})" if abort.group("when") else ""
        message = abort.group("message")  # a SQL literal's text, its quotes already doubled
        head = f"CREATE TRIGGER {abort.group('name')} {abort.group('timing')} {abort.group('event')}"
        return Translation((f"{head} ON {abort.group('table')} FOR EACH ROW{when} "
                            f"EXECUTE FUNCTION sqlite_abort('{message}')",), False)
    if trigger:
        if trigger.group(1) not in TRIGGERS:
            raise NotImplementedError(f"trigger {trigger.group(1)} has no PostgreSQL version in lib/pg.TRIGGERS")
        return Translation(TRIGGERS[trigger.group(1)], False)
    text = _IN_JSON.sub(r"CAST(\1 AS TEXT)\2", sql)
    text = _JSON_PARAM.sub(r"CAST(\1 AS JSON)\2", text)
    for pattern, new in _RENAMES:
        text = pattern.sub(new, text)
    # A literal % is doubled for psycopg (which always gets parameters, so always reads %).
    text = text.replace("%", "%%")
    # A parameter may be named like a keyword (:on): renamed for the parser, named back in the output.
    text = _NAMED.sub(r":sqlite_p_\1", text)
    tree = sqlglot.parse_one(text, read="sqlite")
    tree = tree.transform(_fix)
    tagged = _tag_union(tree)
    out = tree.sql(dialect="postgres").replace("%(sqlite_p_", "%(")
    # AUTOINCREMENT / rowid survive only in hand-written SQL: rowid is the id column in this schema.
    out = re.sub(r"\browid\b", "id", out)
    if re.match(r"^\s*ALTER\s+TABLE\b", out, re.IGNORECASE):
        out = re.sub(r"(\bREFERENCES\s+\w+\s*\(\s*\w+\s*\))", rf"\1 {DEFERRABLE}", out, flags=re.IGNORECASE)
    return Translation((out,), True, tagged)


# ---- compatibility functions, triggers and the migration table's schema ---------------------------------------

COMPAT_SQL = r"""
CREATE OR REPLACE FUNCTION sqlite_ts(t text) RETURNS timestamp LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF t IS NULL THEN RETURN NULL; END IF;
    IF t = 'now' THEN RETURN (now() AT TIME ZONE 'UTC'); END IF;
    RETURN replace(t, 'T', ' ')::timestamp;
EXCEPTION WHEN others THEN RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION sqlite_shift(ts timestamp, modifier text) RETURNS timestamp LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE m text[]; n integer; unit text; y integer; mo integer;
BEGIN
    IF ts IS NULL OR modifier IS NULL THEN RETURN NULL; END IF;
    m := regexp_match(lower(trim(modifier)), '^([+-]?[0-9]+)\s+(day|month|year|hour|minute|second)s?$');
    IF m IS NULL THEN
        IF lower(trim(modifier)) = 'start of month' THEN RETURN date_trunc('month', ts); END IF;
        IF lower(trim(modifier)) = 'start of year' THEN RETURN date_trunc('year', ts); END IF;
        IF lower(trim(modifier)) = 'start of day' THEN RETURN date_trunc('day', ts); END IF;
        RETURN NULL;
    END IF;
    n := m[1]::integer; unit := m[2];
    IF unit IN ('month', 'year') THEN
        -- SQLite moves the month and lets an overflowing day run into the next month (31 Jan + 1 month = 2 Mar).
        IF unit = 'year' THEN n := n * 12; END IF;
        y := extract(year FROM ts)::integer; mo := extract(month FROM ts)::integer - 1 + n;
        y := y + floor(mo / 12.0)::integer; mo := mo - floor(mo / 12.0)::integer * 12 + 1;
        RETURN make_date(y, mo, 1) + (extract(day FROM ts)::integer - 1) * interval '1 day'
            + (ts - date_trunc('day', ts));
    END IF;
    RETURN ts + n * ('1 ' || unit)::interval;
END $$;

CREATE OR REPLACE FUNCTION sqlite_any_date(t text, VARIADIC modifiers text[] DEFAULT '{}') RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE ts timestamp := sqlite_ts(t); modifier text;
BEGIN
    FOREACH modifier IN ARRAY modifiers LOOP ts := sqlite_shift(ts, modifier); END LOOP;
    RETURN to_char(ts, 'YYYY-MM-DD');
END $$;

-- Whether a text is a plain day (YYYY-MM-DD, month 01-12, day 01-31, not year 0): the shape every stored date has.
-- Tested without a regular expression (PostgreSQL's cost about a microsecond a row).
CREATE OR REPLACE FUNCTION sqlite_is_day(t text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT length(t) = 10 AND translate(t, '0123456789', '') = '--' AND substr(t, 5, 1) = '-'
       AND substr(t, 6, 2) BETWEEN '01' AND '12' AND substr(t, 9, 2) BETWEEN '01' AND '31' AND t >= '0001'
$$;

-- The day of a plain day's text, as SQLite reads it: a day past the month's end runs into the next month.
CREATE OR REPLACE FUNCTION sqlite_day(t text) RETURNS date LANGUAGE sql IMMUTABLE AS $$
    SELECT make_date(substr(t, 1, 4)::integer, substr(t, 6, 2)::integer, 1) + (substr(t, 9, 2)::integer - 1)
$$;

-- A date's text (years 100 to 9999). to_char is stable (so are its callers, to be inlined): it reads no setting
-- with this format, but a date's ::text would follow DateStyle.
CREATE OR REPLACE FUNCTION sqlite_day_text(d date) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT to_char(d::timestamp, 'YYYY-MM-DD')
$$;

-- SQLite's date(x, modifiers…). Inlined into the query (LANGUAGE sql): a plain day with no modifier (as typed),
-- '+N day(s)' or '+1 month', '-1 day' (the figures' only shapes, run for many rows) is computed in place; anything
-- else goes to sqlite_any_date (PL/pgSQL), which reads the other forms.
CREATE OR REPLACE FUNCTION sqlite_date(t text, VARIADIC modifiers text[] DEFAULT '{}') RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN NOT coalesce(sqlite_is_day(t), false) THEN sqlite_any_date(t, VARIADIC modifiers)
        WHEN cardinality(modifiers) = 0 THEN t
        WHEN t NOT BETWEEN '0100' AND '9900' THEN sqlite_any_date(t, VARIADIC modifiers)
        WHEN cardinality(modifiers) = 1 AND modifiers[1] ~ '^[+-]?[0-9]{1,4} days?$'
            THEN sqlite_day_text(sqlite_day(t) + split_part(modifiers[1], ' ', 1)::integer)
        WHEN modifiers = '{"+1 month","-1 day"}' AND substr(t, 9, 2) <= '28'
            THEN sqlite_day_text((make_date(substr(t, 1, 4)::integer, substr(t, 6, 2)::integer, 1)
                                  + interval '1 month')::date + (substr(t, 9, 2)::integer - 2))
        ELSE sqlite_any_date(t, VARIADIC modifiers) END
$$;

CREATE OR REPLACE FUNCTION sqlite_julianday(t text) RETURNS double precision LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN sqlite_is_day(t) THEN (sqlite_day(t) - DATE '1970-01-01')::double precision + 2440587.5
                ELSE extract(epoch FROM sqlite_ts(t))::double precision / 86400.0 + 2440587.5 END
$$;

CREATE OR REPLACE FUNCTION sqlite_printf(fmt text, n bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN fmt ~ '^%0[0-9]+d$' THEN lpad(n::text, substr(fmt, 3, length(fmt) - 3)::integer, '0')
                WHEN fmt = '%d' THEN n::text END
$$;

CREATE OR REPLACE FUNCTION sqlite_json_each(doc text) RETURNS TABLE(key integer, value text)
LANGUAGE sql IMMUTABLE AS $$
    SELECT (i - 1)::integer, v FROM json_array_elements_text(doc::json) WITH ORDINALITY AS e(v, i)
$$;

CREATE OR REPLACE FUNCTION sqlite_json_patch(a json, b json) RETURNS json LANGUAGE sql IMMUTABLE AS $$
    SELECT (a::jsonb || b::jsonb)::json
$$;

CREATE OR REPLACE FUNCTION sqlite_truth(x boolean) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT x $$;
CREATE OR REPLACE FUNCTION sqlite_truth(x integer) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT x <> 0 $$;
CREATE OR REPLACE FUNCTION sqlite_truth(x bigint) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT x <> 0 $$;
CREATE OR REPLACE FUNCTION sqlite_truth(x numeric) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT x <> 0 $$;
CREATE OR REPLACE FUNCTION sqlite_truth(x double precision) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT x <> 0 $$;
CREATE OR REPLACE FUNCTION sqlite_truth(x text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN x ~ '^\s*[+-]?[0-9]*\.?[0-9]+' THEN substring(x from '^\s*([+-]?[0-9]*\.?[0-9]+)')::numeric <> 0
                ELSE false END $$;

CREATE OR REPLACE FUNCTION sqlite_any(x integer) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT 'i:' || x $$;
CREATE OR REPLACE FUNCTION sqlite_any(x bigint) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT 'i:' || x $$;
CREATE OR REPLACE FUNCTION sqlite_any(x boolean) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT 'i:' || x::integer $$;
CREATE OR REPLACE FUNCTION sqlite_any(x numeric) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT 'n:' || x $$;
CREATE OR REPLACE FUNCTION sqlite_any(x double precision) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT 'f:' || x $$;
CREATE OR REPLACE FUNCTION sqlite_any(x text) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT 's:' || x $$;

-- PL/pgSQL: an aggregate's step is never inlined, and a SQL function's call costs ~5× a PL/pgSQL one's (1,000,000
-- rows: 1.2 s against 0.25 s). sum() of a comparison written in the statement is the built-in sum (translate).
CREATE OR REPLACE FUNCTION sqlite_bool_sum(s bigint, x boolean) RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN CASE WHEN x IS NULL THEN s ELSE coalesce(s, 0) + x::integer END;
END $$;
DO $$ BEGIN
    -- sum(a = b) counts in SQLite, where a comparison is 0 or 1.
    CREATE AGGREGATE sum(boolean) (SFUNC = sqlite_bool_sum, STYPE = bigint);
EXCEPTION WHEN duplicate_function THEN NULL;
END $$;

CREATE OR REPLACE FUNCTION sqlite_abort() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION '%', TG_ARGV[0]; END $$;

CREATE OR REPLACE FUNCTION sqlite_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$;

CREATE OR REPLACE VIEW sqlite_master AS
    SELECT 'table'::text AS type, table_name::text AS name, table_name::text AS tbl_name
    FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE';
"""

# The PostgreSQL versions of the triggers db/migrations.py creates, by trigger name: same checks, same rows.
TRIGGERS: dict[str, tuple[str, ...]] = {
    "audit_log_no_update": (
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION sqlite_append_only()",),
    "audit_log_no_delete": (
        "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION sqlite_append_only()",),
    # Bumped at the commit (a deferred constraint trigger), once per transaction: the counter's row is locked only
    # while the commit runs, and versions follow the order in which writes become visible.
    "audit_log_data_version": (
        """CREATE OR REPLACE FUNCTION audit_log_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF current_setting('chibo.data_version_bumped', true) = txid_current()::text THEN RETURN NULL; END IF;
            PERFORM set_config('chibo.data_version_bumped', txid_current()::text, true);
            UPDATE data_version SET version = version + 1 WHERE id = 1;
            RETURN NULL;
        END $$""",
        "CREATE CONSTRAINT TRIGGER audit_log_data_version AFTER INSERT ON audit_log DEFERRABLE INITIALLY DEFERRED "
        "FOR EACH ROW WHEN (NEW.action NOT LIKE 'login%' AND NEW.action <> 'logout') "
        "EXECUTE FUNCTION audit_log_data_version()"),
    "units_tree_no_cycle": (
        """CREATE OR REPLACE FUNCTION units_tree_no_cycle() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.parent_id IS NOT NULL AND EXISTS (
                SELECT 1 FROM unit_tree WHERE ancestor_id = NEW.id AND descendant_id = NEW.parent_id) THEN
                RAISE EXCEPTION 'units.parent_id would make a cycle';
            END IF;
            RETURN NEW;
        END $$""",
        "CREATE TRIGGER units_tree_no_cycle BEFORE UPDATE OF parent_id ON units "
        "FOR EACH ROW EXECUTE FUNCTION units_tree_no_cycle()"),
    "units_tree_insert": (
        """CREATE OR REPLACE FUNCTION units_tree_insert() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO unit_tree(ancestor_id, descendant_id, depth) VALUES (NEW.id, NEW.id, 0);
            INSERT INTO unit_tree(ancestor_id, descendant_id, depth)
                SELECT ancestor_id, NEW.id, depth + 1 FROM unit_tree WHERE descendant_id = NEW.parent_id;
            RETURN NULL;
        END $$""",
        "CREATE TRIGGER units_tree_insert AFTER INSERT ON units FOR EACH ROW EXECUTE FUNCTION units_tree_insert()"),
    "units_tree_move": (
        """CREATE OR REPLACE FUNCTION units_tree_move() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM unit_tree
            WHERE descendant_id IN (SELECT descendant_id FROM unit_tree WHERE ancestor_id = NEW.id)
              AND ancestor_id NOT IN (SELECT descendant_id FROM unit_tree WHERE ancestor_id = NEW.id);
            INSERT INTO unit_tree(ancestor_id, descendant_id, depth)
                SELECT a.ancestor_id, d.descendant_id, a.depth + d.depth + 1
                FROM unit_tree a, unit_tree d
                WHERE a.descendant_id = NEW.parent_id AND d.ancestor_id = NEW.id;
            RETURN NULL;
        END $$""",
        "CREATE TRIGGER units_tree_move AFTER UPDATE OF parent_id ON units FOR EACH ROW "
        "WHEN (NEW.parent_id IS DISTINCT FROM OLD.parent_id) EXECUTE FUNCTION units_tree_move()"),
    "units_tree_delete": (
        """CREATE OR REPLACE FUNCTION units_tree_delete() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM unit_tree WHERE ancestor_id = OLD.id OR descendant_id = OLD.id;
            RETURN NULL;
        END $$""",
        "CREATE TRIGGER units_tree_delete AFTER DELETE ON units FOR EACH ROW EXECUTE FUNCTION units_tree_delete()"),
}

# Every foreign key can wait to the commit (SET CONSTRAINTS ALL DEFERRED), as SQLite's defer_foreign_keys lets a
# copy insert a unit before the unit it reports to; checked at once otherwise, as in SQLite.
DEFERRABLE = "DEFERRABLE INITIALLY IMMEDIATE"

# sqlite_utils' column types as PostgreSQL's: INTEGER (int4) so that sum() stays an integer (bigint), as in SQLite.
TYPES = {int: "INTEGER", str: "TEXT", float: "DOUBLE PRECISION", bytes: "BYTEA", bool: "INTEGER"}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# ---- errors: psycopg's as sqlite3's, so lib's handlers (refusals, busy pages) work on both engines -------------

def _sqlite_error(exc: psycopg.Error) -> sqlite3.Error:
    if isinstance(exc, psycopg.errors.IntegrityError | psycopg.errors.RaiseException):
        kind = sqlite3.IntegrityError
    elif isinstance(exc, psycopg.errors.LockNotAvailable | psycopg.errors.SerializationFailure
                    | psycopg.errors.DeadlockDetected):
        kind = sqlite3.OperationalError
        return kind(f"database is locked: {exc}")
    elif isinstance(exc, psycopg.OperationalError):
        kind = sqlite3.OperationalError
    else:
        kind = sqlite3.DatabaseError
    return kind(str(exc).strip())


# ---- the adapter ---------------------------------------------------------------------------------------------

class Cursor:
    """The sqlite3 cursor's face over psycopg's: rows as tuples, description, rowcount, lastrowid."""

    def __init__(self, db: "PgDatabase", cur: psycopg.Cursor | None, tagged: bool = False):
        self._db, self._cur, self._tagged = db, cur, tagged
        self._reads: bool | None = None

    def _has_rows(self) -> bool:
        # Asked once: psycopg builds its description's column objects anew on every call (it cost 4 of the
        # overview's 9 s at 10,000,000 meetings when asked per row).
        if self._reads is None:
            self._reads = self._cur is not None and self._cur.description is not None
        return self._reads

    def _row(self, row: tuple | None) -> tuple | None:
        return tuple(_untag(v) for v in row) if self._tagged and row is not None else row

    @property
    def description(self) -> list[tuple] | None:
        """Column names first, as sqlite3's description."""
        if self._cur is None or self._cur.description is None:
            return None
        return [(c.name, None, None, None, None, None, None) for c in self._cur.description]

    @property
    def rowcount(self) -> int:
        """Rows changed by the statement."""
        return self._cur.rowcount if self._cur is not None else -1

    @property
    def lastrowid(self) -> int | None:
        """The id the last insert generated in this session (lastval), as sqlite3's lastrowid."""
        row = self._db.conn.raw.execute("SELECT lastval()").fetchone()
        return row[0] if row else None

    def fetchone(self) -> tuple | None:
        """The next row or None."""
        if not self._has_rows():
            return None
        return self._row(self._cur.fetchone())

    def fetchall(self) -> list[tuple]:
        """The remaining rows."""
        if not self._has_rows():
            return []
        return [self._row(r) for r in self._cur.fetchall()]

    def fetchmany(self, size: int = 1) -> list[tuple]:
        """Up to size rows."""
        if not self._has_rows():
            return []
        return [self._row(r) for r in self._cur.fetchmany(size)]

    def __iter__(self) -> Iterator[tuple]:
        if not self._has_rows():
            return
        for row in self._cur:
            yield self._row(row)

    def close(self) -> None:
        """Nothing to free: the rows are client-side."""


class Connection:
    """The sqlite3 connection's face: in_transaction, execute, executemany, close."""

    def __init__(self, db: "PgDatabase", raw: psycopg.Connection):
        self._db, self.raw = db, raw

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open (BEGIN issued, not yet ended)."""
        return self.raw.info.transaction_status != TransactionStatus.IDLE

    def execute(self, sql: str, params: Any = None) -> Cursor:
        """As PgDatabase.execute."""
        return self._db.execute(sql, params)

    def executemany(self, sql: str, seq: Iterable[Any]) -> Cursor:
        """One statement for many parameter rows (psycopg pipelines them)."""
        return self._db.executemany(sql, seq)

    def commit(self) -> None:
        """Commit an open transaction, if any."""
        if self.in_transaction:
            self.raw.execute("COMMIT")

    def rollback(self) -> None:
        """Roll an open transaction back, if any."""
        if self.in_transaction:
            self.raw.execute("ROLLBACK")

    def close(self) -> None:
        """As PgDatabase.close."""
        self._db.close()


_PLACEHOLDER = re.compile(r"%%|%s|%\((\w+)\)s")


def _inline_nulls(sql: str, params: Any) -> tuple[str, Any]:
    # A null parameter is written into the statement as NULL: PostgreSQL must type every parameter, and
    # ":x is null or …" gives a null nothing to be typed by (SQLite types values, not parameters).
    if isinstance(params, dict):
        if all(v is not None for v in params.values()):
            return sql, params
        out = _PLACEHOLDER.sub(lambda m: "NULL" if m.group(1) and params.get(m.group(1), 0) is None else m.group(0),
                               sql)
        return out, {k: v for k, v in params.items() if v is not None}
    if not params or all(v is not None for v in params):
        return sql, params
    values = iter(params)
    kept: list[Any] = []

    def one(m: re.Match) -> str:
        if m.group(0) != "%s":
            return m.group(0)
        value = next(values)
        if value is None:
            return "NULL"
        kept.append(value)
        return "%s"

    return _PLACEHOLDER.sub(one, sql), tuple(kept)


def _params(params: Any) -> Any:
    if params is None:
        return ()
    if isinstance(params, Mapping):
        return dict(params)
    return tuple(params)


class Column:
    """A column as sqlite_utils lists it (name, type)."""

    def __init__(self, name: str, type_: str):
        self.name, self.type = name, type_


class PgTable:
    """The part of sqlite_utils' Table the app and the migrations use, on PostgreSQL."""

    def __init__(self, db: "PgDatabase", name: str):
        self.db, self.name = db, name
        self.last_pk: Any = None
        self.last_rowid: Any = None

    def exists(self) -> bool:
        """Whether the table exists."""
        return self.name in self.db.table_names()

    @property
    def columns(self) -> list[Column]:
        """The table's columns in order."""
        rows = self.db.conn.raw.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position", [self.name],
        ).fetchall()
        return [Column(name, type_) for name, type_ in rows]

    @property
    def columns_dict(self) -> dict[str, type]:
        """Column name → Python type."""
        back = {"integer": int, "bigint": int, "text": str, "double precision": float, "bytea": bytes}
        return {c.name: back.get(c.type, str) for c in self.columns}

    @property
    def pks(self) -> list[str]:
        """The primary key's columns."""
        return self.db.primary_key(self.name)

    @property
    def count(self) -> int:
        """Number of rows."""
        return self.db.conn.raw.execute(f"SELECT count(*) FROM {_quote(self.name)}").fetchone()[0]

    def create(self, columns: Mapping[str, type], pk: str | Sequence[str] | None = None,
               not_null: Iterable[str] = (), defaults: Mapping[str, Any] | None = None,
               foreign_keys: Iterable[Sequence[str]] = (), **_: Any) -> "PgTable":
        """CREATE TABLE as sqlite_utils builds it; a single integer id becomes an identity column."""
        not_null, defaults = set(not_null or ()), dict(defaults or {})
        refs = {fk[0]: (fk[1], fk[2] if len(fk) > 2 else "id") for fk in foreign_keys or ()}
        single = [pk] if isinstance(pk, str) else None
        parts = []
        for name, type_ in columns.items():
            sql = f"{_quote(name)} {TYPES.get(type_, 'TEXT')}"
            if single == [name]:
                sql += " GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY" if type_ is int else " PRIMARY KEY"
            if name in not_null:
                sql += " NOT NULL"
            if name in defaults:
                value = defaults[name]
                sql += f" DEFAULT {value}" if isinstance(value, int | float) else \
                    " DEFAULT '" + str(value).replace("'", "''") + "'"
            if name in refs:
                sql += f" REFERENCES {_quote(refs[name][0])}({_quote(refs[name][1])}) {DEFERRABLE}"
            parts.append(sql)
        if pk and not single:
            parts.append(f"PRIMARY KEY ({', '.join(_quote(c) for c in pk)})")
        self.db.conn.raw.execute(f"CREATE TABLE {_quote(self.name)} ({', '.join(parts)})")
        self.db.forget()
        return self

    def create_index(self, columns: Sequence[str], index_name: str | None = None, unique: bool = False,
                     if_not_exists: bool = False, **_: Any) -> "PgTable":
        """CREATE INDEX named as sqlite_utils names it."""
        name = index_name or "idx_{}_{}".format(self.name.replace(" ", "_"), "_".join(columns))
        self.db.conn.raw.execute(
            f"CREATE {'UNIQUE ' if unique else ''}INDEX {'IF NOT EXISTS ' if if_not_exists else ''}{_quote(name)} "
            f"ON {_quote(self.name)} ({', '.join(_quote(c) for c in columns)})")
        return self

    def add_column(self, name: str, type_: type = str, **_: Any) -> "PgTable":
        """ALTER TABLE … ADD COLUMN."""
        self.db.conn.raw.execute(
            f"ALTER TABLE {_quote(self.name)} ADD COLUMN {_quote(name)} {TYPES.get(type_, 'TEXT')}")
        return self

    def _where_pk(self, pk_values: Any) -> tuple[str, list]:
        pks = self.pks
        values = list(pk_values) if isinstance(pk_values, list | tuple) else [pk_values]
        return " AND ".join(f"{_quote(k)} = %s" for k in pks), values

    def get(self, pk_values: Any) -> dict:
        """One row by primary key, else NotFoundError."""
        where, values = self._where_pk(pk_values)
        cur = self.db.conn.raw.execute(f"SELECT * FROM {_quote(self.name)} WHERE {where}", values)
        row = cur.fetchone()
        if row is None:
            raise NotFoundError
        return dict(zip([c.name for c in cur.description], row, strict=True))

    def insert(self, record: Mapping[str, Any], pk: Any = None, **_: Any) -> "PgTable":
        """Insert one row; last_pk is its primary key."""
        cols = list(record)
        pks = self.pks
        sql = (f"INSERT INTO {_quote(self.name)} ({', '.join(_quote(c) for c in cols)}) "
               f"VALUES ({', '.join(['%s'] * len(cols))})")
        if pks:
            sql += f" RETURNING {', '.join(_quote(k) for k in pks)}"
        row = self.db.raw_execute(sql, [record[c] for c in cols]).fetchone()
        if pks and row is not None:
            self.last_pk = row[0] if len(pks) == 1 else tuple(row)
            self.last_rowid = self.last_pk
        if pks == ["id"] and "id" in cols:
            self.db.reset_sequence(self.name)
        return self

    def insert_all(self, records: Iterable[Mapping[str, Any]], **kwargs: Any) -> "PgTable":
        """Insert rows one by one."""
        for record in records:
            self.insert(record, **kwargs)
        return self

    def upsert(self, record: Mapping[str, Any], pk: Any = None, **_: Any) -> "PgTable":
        """Insert, or update the row with the same primary key."""
        keys = [pk] if isinstance(pk, str) else list(pk or self.pks)
        cols = list(record)
        rest = [c for c in cols if c not in keys]
        sets = ", ".join(f"{_quote(c)} = EXCLUDED.{_quote(c)}" for c in rest)
        sql = (f"INSERT INTO {_quote(self.name)} ({', '.join(_quote(c) for c in cols)}) "
               f"VALUES ({', '.join(['%s'] * len(cols))}) ON CONFLICT ({', '.join(_quote(k) for k in keys)}) "
               + (f"DO UPDATE SET {sets}" if sets else "DO NOTHING"))
        self.db.raw_execute(sql, [record[c] for c in cols])
        self.last_pk = record[keys[0]] if len(keys) == 1 else tuple(record[k] for k in keys)
        return self

    def update(self, pk_values: Any, updates: Mapping[str, Any] | None = None, **_: Any) -> "PgTable":
        """Change columns of one row (NotFoundError if there is none)."""
        if not updates:
            return self
        where, values = self._where_pk(pk_values)
        sets = ", ".join(f"{_quote(c)} = %s" for c in updates)
        cur = self.db.raw_execute(f"UPDATE {_quote(self.name)} SET {sets} WHERE {where}",
                                  [*updates.values(), *values])
        if cur.rowcount == 0:
            raise NotFoundError
        self.last_pk = pk_values
        return self

    def rows_where(self, where: str | None = None, where_args: Any = None, order_by: str | None = None,
                   **_: Any) -> Iterator[dict]:
        """Rows matching a SQLite-dialect condition, as dicts."""
        sql = f"SELECT * FROM {_quote(self.name)}"
        if where:
            sql += f" WHERE {where}"
        if order_by:
            sql += f" ORDER BY {order_by}"
        yield from self.db.query(sql, where_args)


class PgDatabase(Database):
    """sqlite_utils' Database as the app uses it, on a pooled PostgreSQL connection."""

    is_postgres = True

    def __init__(self, url: str, raw: psycopg.Connection, pool: ConnectionPool | None):
        # sqlite_utils' own __init__ opens SQLite: not called; every method the app uses is defined here.
        self.url, self._pool = url, pool
        self.conn = Connection(self, raw)
        self._savepoints = itertools.count()
        self._tables: set[str] | None = None
        self._pks: dict[str, list[str]] = {}
        self._tracer = None
        self.use_counts_table = False

    def __repr__(self) -> str:
        return f"<PgDatabase {self.url.split('@')[-1]}>"

    def raw_execute(self, sql: str, params: Any = ()) -> psycopg.Cursor:
        """A PostgreSQL statement as is (params None: no placeholders read); errors as sqlite3's."""
        try:
            return self.conn.raw.execute(sql, params)
        except psycopg.Error as exc:
            raise _sqlite_error(exc) from exc

    def _or_clause(self, sql: str) -> str:
        # INSERT OR IGNORE / OR REPLACE become PostgreSQL's ON CONFLICT on the table's primary key (the only
        # conflict these statements in lib meet).
        match = _INSERT.match(sql)
        found = re.match(r"^\s*INSERT\s+OR\s+(IGNORE|REPLACE)\s+INTO\b", sql, re.IGNORECASE)
        if not match or not found:
            return sql
        keys = self.primary_key(match.group(1))
        cols = [c.strip().strip('"') for c in match.group(2).split(",")]
        sets = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in keys)
        action = "DO NOTHING" if found.group(1).upper() == "IGNORE" or not sets else f"DO UPDATE SET {sets}"
        body = re.sub(r"^\s*INSERT\s+OR\s+\w+\s+INTO", "INSERT INTO", sql, flags=re.IGNORECASE).rstrip().rstrip(";")
        return f"{body} ON CONFLICT ({', '.join(keys)}) {action}"

    def execute(self, sql: str, parameters: Any = None) -> Cursor:
        """A statement written for SQLite, translated; the cursor reads as sqlite3's."""
        cur = None
        found = translate(self._or_clause(sql))
        ordered = _CROSS_JOIN.search(sql) is not None and found.takes
        if ordered:
            self.conn.raw.execute("SET join_collapse_limit = 1")
        try:
            for statement in found.statements:
                cur = self.raw_execute(*_inline_nulls(statement, _params(parameters))) if found.takes else \
                    self.raw_execute(statement, None)
        finally:
            # In a failed transaction the rollback undoes the SET; otherwise it is reset here.
            if ordered and self.conn.raw.info.transaction_status != TransactionStatus.INERROR:
                self.conn.raw.execute("RESET join_collapse_limit")
        self._after_write(sql)
        return Cursor(self, cur, found.tagged)

    def executemany(self, sql: str, seq: Iterable[Any]) -> Cursor:
        """One translated statement for many parameter rows."""
        (statement,) = translate(self._or_clause(sql)).statements
        rows = [_params(p) for p in seq]
        if rows:
            try:
                with self.conn.raw.cursor() as cur:
                    cur.executemany(statement, rows)
            except psycopg.Error as exc:
                raise _sqlite_error(exc) from exc
        self._after_write(sql)
        return Cursor(self, None)

    def executescript(self, script: str) -> None:
        """Statements separated by semicolons, each translated."""
        for statement in (s for s in script.split(";") if s.strip()):
            self.execute(statement)

    def _after_write(self, sql: str) -> None:
        # A row inserted with its id given (a demo load, a copy) leaves the identity sequence behind; SQLite's next
        # id is max(id) + 1 whatever was inserted, so the sequence is moved on to match.
        match = _INSERT.match(sql)
        if match and "id" in {c.strip().strip('"').lower() for c in match.group(2).split(",")} \
                and self.primary_key(match.group(1)) == ["id"]:
            self.reset_sequence(match.group(1))
        elif re.match(r"^\s*(CREATE|DROP|ALTER)\b", sql, re.IGNORECASE):
            self.forget()

    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        """Write rows into a table with COPY … FROM STDIN (a bulk load: no statement per row); the count written."""
        names = ", ".join(_quote(c) for c in columns)
        total = 0
        try:
            with self.conn.raw.cursor() as cur, cur.copy(f"COPY {_quote(table)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    total += 1
        except psycopg.Error as exc:
            raise _sqlite_error(exc) from exc
        return total

    def set_aside(self, table: str) -> list[str]:
        """Drop a table's secondary indexes and its own foreign keys for a bulk load (in the caller's transaction);
        the statements that put them back, to run after the load (an index built once over all rows, a foreign
        key checked by one query, instead of row by row)."""
        rows = self.conn.raw.execute(
            "SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
            "WHERE c.conrelid = to_regclass(%s) AND c.contype = 'f' ORDER BY c.conname", [_quote(table)]).fetchall()
        indexes = self.conn.raw.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid = to_regclass(%s) AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1", [_quote(table)]).fetchall()
        back = []
        for name, definition in rows:
            self.conn.raw.execute(f"ALTER TABLE {_quote(table)} DROP CONSTRAINT {_quote(name)}")
            back.append(f"ALTER TABLE {_quote(table)} ADD CONSTRAINT {_quote(name)} {definition}")
        for name, definition in indexes:
            self.conn.raw.execute(f"DROP INDEX {name}")
            back.append(definition)
        return back

    def put_back(self, statements: Sequence[str]) -> None:
        """Run what set_aside returned: the indexes rebuilt, the foreign keys added back and checked."""
        for statement in statements:
            self.raw_execute(statement, None)

    def analyze(self, tables: Sequence[str]) -> None:
        """VACUUM (ANALYZE) tables after a bulk load (outside a transaction): the planner's statistics, and the
        visibility map an index-only scan needs to skip the table."""
        for table in tables:
            self.raw_execute(f"VACUUM (ANALYZE) {_quote(table)}", None)

    def reset_sequence(self, table: str) -> None:
        """Move a table's id sequence past its largest id (forward only)."""
        # Never back: ids other sessions took from the sequence and have not committed yet would be handed out again.
        seq = self.conn.raw.execute("SELECT pg_get_serial_sequence(%s, 'id')", [_quote(table)]).fetchone()[0]
        if seq is None:
            return  # an id column without a sequence (a table of raw DDL): nothing hands out its ids
        self.conn.raw.execute(
            f"SELECT setval(%s::regclass, x.m + 1, false) FROM (SELECT coalesce(max(id), 0) AS m "
            f"FROM {_quote(table)}) x, {seq} s WHERE x.m + 1 > s.last_value + s.is_called::int", [seq])

    def next_ids(self, table: str, count: int) -> list[int]:
        """count ids taken from a table's id sequence (others' ids may fall between them)."""
        if count <= 0:
            return []
        rows = self.conn.raw.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                                     [table, count]).fetchall()
        return [r[0] for r in rows]

    def query(self, sql: str, params: Any = None) -> Iterator[dict]:
        """Rows as dicts."""
        cur = self.execute(sql, params)
        names = [d[0] for d in cur.description or []]
        for row in cur.fetchall():
            yield dict(zip(names, row, strict=True))

    def forget(self) -> None:
        """Drop the cached table names and keys (after DDL)."""
        self._tables = None
        self._pks.clear()

    def table_names(self, fts4: bool = False, fts5: bool = False) -> list[str]:
        """The tables of the current schema."""
        if self._tables is None:
            rows = self.conn.raw.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
                "AND table_type = 'BASE TABLE' ORDER BY table_name").fetchall()
            self._tables = {r[0] for r in rows}
        return sorted(self._tables)

    def primary_key(self, table: str) -> list[str]:
        """A table's primary key columns, in order."""
        if table not in self._pks:
            rows = self.conn.raw.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = to_regclass(%s) AND i.indisprimary "
                "ORDER BY array_position(i.indkey, a.attnum)", [_quote(table)]).fetchall()
            self._pks[table] = [r[0] for r in rows]
        return self._pks[table]

    def __getitem__(self, name: str) -> PgTable:
        return PgTable(self, name)

    def table(self, name: str, **_: Any) -> PgTable:
        """The table object (sqlite_utils' db.table)."""
        return PgTable(self, name)

    @contextmanager
    def atomic(self) -> Iterator["PgDatabase"]:
        """A transaction, or a savepoint inside an open one: all or nothing."""
        if not self.conn.in_transaction:
            self.conn.raw.execute("BEGIN")
            try:
                yield self
            except BaseException:
                self.conn.rollback()
                raise
            self.conn.commit()
            return
        name = f"sp_{next(self._savepoints)}"
        self.conn.raw.execute(f"SAVEPOINT {name}")
        try:
            yield self
        except BaseException:
            if self.conn.in_transaction:
                self.conn.raw.execute(f"ROLLBACK TO SAVEPOINT {name}")
                self.conn.raw.execute(f"RELEASE SAVEPOINT {name}")
            raise
        self.conn.raw.execute(f"RELEASE SAVEPOINT {name}")

    def lock(self, table: str, pk_value: Any) -> None:
        """Lock one row until the transaction ends (a check-then-write of it cannot interleave)."""
        where, values = PgTable(self, table)._where_pk(pk_value)
        # NO KEY UPDATE: as exclusive as FOR UPDATE between writers, yet rows that merely reference this one (a
        # meeting of a locked cell, a weakness of a locked meeting) can still be inserted by others meanwhile.
        self.raw_execute(f"SELECT 1 FROM {_quote(table)} WHERE {where} FOR NO KEY UPDATE", values)

    def lock_rows(self, table: str, ids: Sequence[Any]) -> None:
        """Lock rows by id, in the order given (sorted by the caller), in one statement."""
        if ids:
            self.raw_execute(f"SELECT 1 FROM {_quote(table)} WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
                             [list(ids)])

    def lock_name(self, name: str, shared: bool = False) -> None:
        """An advisory lock on a name until the transaction ends (its own key space: class 17); shared: against
        exclusive holders only."""
        kind = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        self.raw_execute(f"SELECT {kind}(17, hashtext(%s))", [name])

    def close(self) -> None:
        """End any open transaction and hand the connection back to the pool."""
        raw, self.conn.raw = self.conn.raw, None
        if raw is None:
            return
        if raw.info.transaction_status != TransactionStatus.IDLE:
            raw.execute("ROLLBACK")
        if self._pool is not None:
            self._pool.putconn(raw)
        else:
            raw.close()


# ---- connections ---------------------------------------------------------------------------------------------

class _NumericLoader(TextLoader):
    # numeric comes from sum() of bigints (an integer in SQLite) or from avg() (a real): told apart by the point.
    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        return float(text) if "." in text or "e" in text.lower() or text == "NaN" else int(text)


class _BoolLoader(TextLoader):
    # SQLite has no booleans: a comparison reads as 1 or 0.
    def load(self, data: Any) -> int:
        return 1 if bytes(data) == b"t" else 0


def _configure(conn: psycopg.Connection) -> None:
    # Values read back as SQLite gives them: numeric as float, booleans as 0/1, dates and JSON as their text;
    # Python's True/False written as 1/0 (SQLite stores them so).
    conn.adapters.register_loader("numeric", _NumericLoader)
    conn.adapters.register_loader("bool", _BoolLoader)
    for name in ("date", "timestamp", "timestamptz", "json", "jsonb", "interval", "time"):
        conn.adapters.register_loader(name, TextLoader)
    conn.adapters.register_dumper(bool, IntDumper)
    # Strings go as text, not psycopg's default "unknown": ":day is null or …" needs a typed parameter.
    conn.adapters.register_dumper(str, StrDumper)


_pools: dict[str, ConnectionPool] = {}
_pools_lock = threading.Lock()


def _pool(url: str) -> ConnectionPool:
    with _pools_lock:
        pool = _pools.get(url)
        if pool is None:
            pool = ConnectionPool(url, min_size=1, max_size=POOL_MAX, kwargs={"autocommit": True},
                                  configure=_configure, open=True, name="chibo")
            _pools[url] = pool
        return pool


def connect(url: str, pooled: bool = True) -> PgDatabase:
    """A connection from the URL's pool (or a fresh one), wrapped as the app's Database."""
    if pooled:
        pool = _pool(url)
        raw = pool.getconn()
    else:
        pool, raw = None, psycopg.connect(url, autocommit=True)
        _configure(raw)
    if raw.info.transaction_status != TransactionStatus.IDLE:
        raw.execute("ROLLBACK")
    return PgDatabase(url, raw, pool)


def close_pools(url: str | None = None) -> None:
    """Close the URL's pool, or every pool (tests, before a database is dropped)."""
    with _pools_lock:
        for key in [url] if url else list(_pools):
            pool = _pools.pop(key, None)
            if pool is not None:
                pool.close()


def prepare(db: PgDatabase) -> None:
    """Create the compatibility functions the translated SQL calls (idempotent; init runs it)."""
    db.conn.raw.execute("SELECT pg_advisory_lock(17017)")  # two servers' inits never interleave their DDL
    try:
        db.conn.raw.execute(COMPAT_SQL)
    finally:
        db.conn.raw.execute("SELECT pg_advisory_unlock(17017)")
    db.forget()
