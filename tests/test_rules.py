"""lib.rules: rule thresholds as versioned data, added by an administrator, audited, never edited in place."""

import json

import pytest

from lib import db as dbm
from lib import rules
from lib.domain import SYSTEM, Actor, PermissionDenied, ValidationError
from tests.helpers import make_user

NEW = {"rule": rules.ART8_MONTHS, "value": 4, "valid_from": "2027-01-01", "document": "Điều lệ Đảng (sửa đổi), Điều 8"}


def test_seeded_versions_are_in_force_from_their_day(db):
    assert rules.value_on(db, rules.ART8_MONTHS, "2025-06-30") == 3
    assert rules.value_on(db, rules.HD12_STREAK, "2025-06-30") == 3
    assert rules.value_on(db, rules.HD12_GOOD_PCT, "2025-06-30") == 85
    # before 12-HD was issued there is no version of its rules
    assert rules.value_on(db, rules.HD12_STREAK, "2018-05-17") is None
    version = rules.in_force(db, rules.ART8_MONTHS, "2025-06-30")
    assert version["valid_from"] == "2011-01-19" and "Điều 8" in version["document"]


def test_a_new_version_applies_from_its_day_and_the_old_one_before(db):
    rules.add_version(db, SYSTEM, NEW)
    assert rules.value_on(db, rules.ART8_MONTHS, "2026-12-31") == 3
    assert rules.value_on(db, rules.ART8_MONTHS, "2027-01-01") == 4
    assert [v["value"] for v in rules.versions(db, rules.ART8_MONTHS)] == [3, 4]
    assert len(rules.versions(db)) == 4


def test_adding_a_version_is_audited(db):
    row_id = rules.add_version(db, SYSTEM, NEW)
    entry = db.execute("select username, action, table_name, row_id, after_json from audit_log "
                       "where table_name = 'rule_thresholds'").fetchone()
    assert entry[:4] == ("system", "create", "rule_thresholds", str(row_id))
    assert json.loads(entry[4])["document"] == NEW["document"]


@pytest.mark.parametrize(("values", "field", "key"), [
    ({"value": None}, "rules.value", "required"),
    ({"value": "bốn"}, "rules.value", "not_whole"),
    ({"value": 13}, "rules.value", "rules.value_range"),
    ({"value": 0}, "rules.value", "rules.value_range"),
    ({"valid_from": ""}, "rules.valid_from", "required"),
    ({"valid_from": "31/02/2027"}, "rules.valid_from", "impossible_date"),
    ({"document": "  "}, "rules.document", "required"),
    ({"rule": "made_up"}, "rules.rule", "bad_choice"),
])
def test_each_missing_or_bad_field_is_refused_by_name(db, values, field, key):
    with pytest.raises(ValidationError) as exc:
        rules.add_version(db, SYSTEM, {**NEW, **values})
    assert [(e.field, e.key) for e in exc.value.errors] == [(field, key)]


def test_history_is_never_rewritten(db):
    # on or before the latest version's day: that would change what earlier figures were judged by
    for day in ("2011-01-19", "2010-01-01"):
        with pytest.raises(ValidationError) as exc:
            rules.add_version(db, SYSTEM, {**NEW, "valid_from": day})
        assert exc.value.fields() == {"rules.valid_from"}
    rules.add_version(db, SYSTEM, NEW)
    with pytest.raises(ValidationError):
        rules.add_version(db, SYSTEM, {**NEW, "value": 5})  # the same day again
    assert [v["value"] for v in rules.versions(db, rules.ART8_MONTHS)] == [3, 4]


def test_only_an_administrator_adds_a_version(db_path):
    make_user(db_path, "clerk1", "clerk")
    make_user(db_path, "viewer1", "viewer")
    with dbm.write(db_path) as db:
        for who in (Actor("clerk1", "clerk"), Actor("viewer1", "viewer")):
            with pytest.raises(PermissionDenied):
                rules.add_version(db, who, NEW)
        assert len(rules.versions(db)) == 3
