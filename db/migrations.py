"""Schema of the store as append-only sqlite_utils migrations; never edit one that has shipped."""

from sqlite_utils import Database, Migrations

migrations = Migrations("chibo")


@migrations()
def m001_initial(db: Database) -> None:
    db["units"].create(
        {
            "id": int,
            "code": str,
            "name": str,
            "kind": str,
            "valid_from": str,
            "valid_to": str,
            "successor_id": int,
        },
        pk="id",
        not_null={"code", "name", "kind"},
        defaults={"kind": "xa"},
        foreign_keys=[("successor_id", "units", "id")],
    )
    db["units"].create_index(["code"], unique=True)
    db["cells"].create(
        {
            "id": int,
            "code": str,
            "unit_id": int,
            "name": str,
            "cell_type": str,
            "meeting_day": int,
            "valid_from": str,
            "valid_to": str,
            "successor_id": int,
        },
        pk="id",
        not_null={"code", "unit_id", "name", "cell_type"},
        defaults={"cell_type": "ap_khom"},
        foreign_keys=[("unit_id", "units", "id"), ("successor_id", "cells", "id")],
    )
    db["cells"].create_index(["code"], unique=True)
    db["cells"].create_index(["unit_id"])
    db["leaders"].create(
        {
            "id": int,
            "code": str,
            "full_name": str,
            "position": str,
            "grp": str,
            "active": int,
        },
        pk="id",
        not_null={"code", "full_name", "grp", "active"},
        defaults={"active": 1, "grp": "khac"},
    )
    db["leaders"].create_index(["code"], unique=True)
    db["assignments"].create(
        {
            "id": int,
            "leader_id": int,
            "unit_id": int,
            "cell_id": int,
            "decision_no": str,
            "decision_date": str,
            "valid_from": str,
            "valid_to": str,
            "required_per_quarter": int,
        },
        pk="id",
        not_null={"leader_id", "unit_id", "valid_from", "required_per_quarter"},
        defaults={"required_per_quarter": 1},
        foreign_keys=[
            ("leader_id", "leaders", "id"),
            ("unit_id", "units", "id"),
            ("cell_id", "cells", "id"),
        ],
    )
    db["assignments"].create_index(["leader_id"])
    db["assignments"].create_index(["unit_id"])
    db["meetings"].create(
        {
            "id": int,
            "cell_id": int,
            "held_on": str,
            "mtype": str,
            "members_total": int,
            "members_exempt": int,
            "present": int,
            "absent_excused": int,
            "absent_unexcused": int,
            "duration_minutes": int,
            "score": int,
            "rating": str,
            "leadership": int,
            "education": int,
            "combativeness": int,
            "topics": str,
            "notes": str,
            "created_by": str,
            "created_at": str,
            "updated_at": str,
            "deleted_at": str,
        },
        pk="id",
        not_null={
            "cell_id",
            "held_on",
            "mtype",
            "members_total",
            "members_exempt",
            "present",
            "absent_excused",
            "absent_unexcused",
        },
        defaults={"members_exempt": 0, "leadership": 0, "education": 0, "combativeness": 0},
        foreign_keys=[("cell_id", "cells", "id")],
    )
    # Figures filter live meetings by date, then group by cell; a partial index keeps
    # deleted rows out of every aggregate's scan.
    db.execute(
        "CREATE INDEX idx_meetings_live_held_cell ON meetings(held_on, cell_id, mtype) "
        "WHERE deleted_at IS NULL"
    )
    db["meetings"].create_index(["cell_id", "held_on"])
    db["meeting_leaders"].create(
        {
            "meeting_id": int,
            "leader_id": int,
            "report_submitted_on": str,
            "remarks": str,
        },
        pk=("meeting_id", "leader_id"),
        foreign_keys=[("meeting_id", "meetings", "id"), ("leader_id", "leaders", "id")],
    )
    db["meeting_leaders"].create_index(["leader_id", "meeting_id"])
    db["weaknesses"].create(
        {
            "id": int,
            "unit_id": int,
            "cell_id": int,
            "meeting_id": int,
            "category": str,
            "description": str,
            "noted_on": str,
            "noted_by": int,
            "severity": str,
            "status": str,
            "due_on": str,
            "resolved_on": str,
            "resolution": str,
            "created_by": str,
            "deleted_at": str,
        },
        pk="id",
        not_null={"unit_id", "category", "noted_on", "severity", "status"},
        defaults={"severity": "medium", "status": "open"},
        foreign_keys=[
            ("unit_id", "units", "id"),
            ("cell_id", "cells", "id"),
            ("meeting_id", "meetings", "id"),
            ("noted_by", "leaders", "id"),
        ],
    )
    db["weaknesses"].create_index(["noted_on"])
    db["weaknesses"].create_index(["status", "due_on"])
    db["users"].create(
        {
            "username": str,
            "full_name": str,
            "email": str,
            "password_hash": str,
            "role": str,
            "active": int,
            "failed_logins": int,
            "locked_until": str,
            "created_at": str,
        },
        pk="username",
        not_null={"full_name", "password_hash", "role", "active", "failed_logins"},
        defaults={"active": 1, "failed_logins": 0},
    )
    db["user_units"].create(
        {"username": str, "unit_id": int},
        pk=("username", "unit_id"),
        foreign_keys=[("username", "users", "username"), ("unit_id", "units", "id")],
    )
    db["audit_log"].create(
        {
            "id": int,
            "at": str,
            "username": str,
            "action": str,
            "table_name": str,
            "row_id": str,
            "before_json": str,
            "after_json": str,
        },
        pk="id",
        not_null={"at", "action"},
    )
    db["audit_log"].create_index(["at"])
    # The audit log is append-only, whatever code runs against the file.
    db.execute(
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
    )
    db.execute(
        "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
    )
    db["settings"].create({"key": str, "value": str}, pk="key")


@migrations()
def m002_add_password_changed_at(db: Database) -> None:
    # A re-login cookie issued before the last password change no longer logs in.
    db["users"].add_column("password_changed_at", str)


@migrations()
def m003_add_logged_out_at(db: Database) -> None:
    # Logging out voids the user's earlier re-login cookies on the server, whether or not the
    # browser managed to delete its copy.
    db["users"].add_column("logged_out_at", str)


@migrations()
def m004_index_regular_meetings_by_month(db: Database) -> None:
    # Coverage and the missing meetings ask, for every cell-month, whether it holds a live regular
    # meeting: an equality probe on (cell, month) that this partial index answers without the table.
    db.execute(
        "CREATE INDEX idx_meetings_regular_month ON meetings(cell_id, substr(held_on, 1, 7)) "
        "WHERE deleted_at IS NULL AND mtype = 'thuong_ky'"
    )


@migrations()
def m005_add_audit_client_and_login_guard(db: Database) -> None:
    # The audit log records the address each entry came from (null for the command line and for
    # entries written before this migration).
    db["audit_log"].add_column("client", str)
    # Login failures counted per client address (username ''), overall (username '', client '*') and per
    # account at one address; a row is forgotten once expires_at has passed, so the table stays small.
    db["login_guard"].create(
        {
            "username": str,
            "client": str,
            "since": str,
            "failures": int,
            "locked_until": str,
            "noted": int,
            "expires_at": str,
        },
        pk=("username", "client"),
        not_null={"username", "client", "since", "failures", "noted", "expires_at"},
        defaults={"failures": 0, "noted": 0},
    )
    db["login_guard"].create_index(["expires_at"])



# The organisation tree's closure: one row per (ancestor, descendant) pair, itself included at depth 0.
# Triggers keep it in step with units.parent_id whatever code writes units (lib, an import, a demo load
# or a hand-run SQL statement), so it can never drift from the parent links it is derived from.
UNIT_TREE_TRIGGERS = (
    """CREATE TRIGGER units_tree_no_cycle BEFORE UPDATE OF parent_id ON units
    WHEN NEW.parent_id IS NOT NULL AND EXISTS (
        SELECT 1 FROM unit_tree WHERE ancestor_id = NEW.id AND descendant_id = NEW.parent_id)
    BEGIN SELECT RAISE(ABORT, 'units.parent_id would make a cycle'); END""",
    """CREATE TRIGGER units_tree_insert AFTER INSERT ON units
    BEGIN
        INSERT INTO unit_tree(ancestor_id, descendant_id, depth) VALUES (NEW.id, NEW.id, 0);
        INSERT INTO unit_tree(ancestor_id, descendant_id, depth)
            SELECT ancestor_id, NEW.id, depth + 1 FROM unit_tree WHERE descendant_id = NEW.parent_id;
    END""",
    """CREATE TRIGGER units_tree_move AFTER UPDATE OF parent_id ON units
    WHEN NEW.parent_id IS NOT OLD.parent_id
    BEGIN
        DELETE FROM unit_tree
        WHERE descendant_id IN (SELECT descendant_id FROM unit_tree WHERE ancestor_id = NEW.id)
          AND ancestor_id NOT IN (SELECT descendant_id FROM unit_tree WHERE ancestor_id = NEW.id);
        INSERT INTO unit_tree(ancestor_id, descendant_id, depth)
            SELECT a.ancestor_id, d.descendant_id, a.depth + d.depth + 1
            FROM unit_tree a, unit_tree d
            WHERE a.descendant_id = NEW.parent_id AND d.ancestor_id = NEW.id;
    END""",
    """CREATE TRIGGER units_tree_delete AFTER DELETE ON units
    BEGIN DELETE FROM unit_tree WHERE ancestor_id = OLD.id OR descendant_id = OLD.id; END""",
)


@migrations()
def m006_org_tree(db: Database) -> None:
    # Units become nodes of a tree of any depth (province → commune/ward → party sub-committee; cells
    # stay leaves under their immediate node). An existing database gets one root over its units, the
    # district it was run for, and that root as its home node, so every figure reads as before.
    db.execute("ALTER TABLE units ADD COLUMN parent_id INTEGER REFERENCES units(id)")
    db["units"].create_index(["parent_id"])
    db["unit_tree"].create(
        {"ancestor_id": int, "descendant_id": int, "depth": int},
        pk=("ancestor_id", "descendant_id"),
        not_null={"depth"},
    )
    db["unit_tree"].create_index(["descendant_id", "depth"])
    for sql in UNIT_TREE_TRIGGERS:
        db.execute(sql)
    db.execute("INSERT INTO unit_tree(ancestor_id, descendant_id, depth) SELECT id, id, 0 FROM units")
    # The issuing body of a node, by the day it takes effect: the header, symbol, board and signature of
    # the documents it issues (a district-era report keeps the district's, a later one the commune's).
    db["issuing_bodies"].create(
        {
            "id": int,
            "unit_id": int,
            "effective_from": str,
            "upper_line": str,
            "committee": str,
            "board": str,
            "symbol_suffix": str,
            "place": str,
            "signer_capacity": str,
            "signer_title": str,
            "recipients": str,
        },
        pk="id",
        not_null={"unit_id", "effective_from", "committee"},
        foreign_keys=[("unit_id", "units", "id")],
    )
    db["issuing_bodies"].create_index(["unit_id", "effective_from"], unique=True)
    units = db.execute("SELECT count(*), count(valid_from), min(valid_from), count(valid_to), max(valid_to) "
                       "FROM units").fetchone()
    if not units[0]:
        return  # a fresh install starts empty: the setup page asks who we are
    stored = dict(db.execute("SELECT key, value FROM settings").fetchall())
    # The settings' defaults of the shipped versions, written out: a migration never reads code that changes.
    org_name = stored.get("org_name") or "Huyện ủy Càng Long"
    header = stored.get("report_header") or "ĐẢNG BỘ TỈNH VĨNH LONG"
    place = stored.get("place_name") or "Càng Long"
    taken = {r[0] for r in db.execute("SELECT code FROM units")}
    code = next(c for c in ("HUYEN", *(f"HUYEN-{i}" for i in range(1, 1000))) if c not in taken)
    valid_from = units[2] if units[1] == units[0] else None
    valid_to = units[4] if units[3] == units[0] else None
    root = db.execute(
        "INSERT INTO units(code, name, kind, valid_from, valid_to) VALUES (?, ?, 'huyen', ?, ?)",
        [code, org_name, valid_from, valid_to],
    ).lastrowid
    db.execute("UPDATE units SET parent_id = ? WHERE id != ?", [root, root])
    db.execute("INSERT OR REPLACE INTO settings(key, value) VALUES ('home_unit', ?)", [code])
    # The body the reports were issued by until now, from the settings they were written from; the parts the
    # report derived or took from its wording (board, symbol, signer, recipients) stay blank and are derived as
    # before, so existing reports read the same in either language.
    db.execute(
        "INSERT INTO issuing_bodies(unit_id, effective_from, upper_line, committee, symbol_suffix, place) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [root, valid_from or "1900-01-01", header, org_name, stored.get("doc_symbol") or None, place],
    )


@migrations()
def m007_user_prefs(db: Database) -> None:
    # Each user's last language and dashboard period, so a reload or a new login opens where they left off.
    db["user_prefs"].create(
        {"username": str, "lang": str, "period": str, "updated_at": str},
        pk="username",
        not_null={"username"},
        foreign_keys=[("username", "users", "username")],
    )


@migrations()
def m008_leader_posts(db: Database) -> None:
    # A leader's posts change over time (the district's secretary becomes a commune's secretary on 1/7/2025),
    # and the groups leaders are counted in belong to a level (UV BTV Tỉnh ủy at the province, Đảng ủy viên at a
    # commune). So both become data with validity dates; leaders.position and leaders.grp stay as the latest
    # known post, for the pages and imports that read them.
    db["leader_groups"].create(
        {"code": str, "name": str, "level": str, "sort_order": int},
        pk="code",
        not_null={"code", "name", "sort_order"},
        defaults={"sort_order": 0},
    )
    # The five groups of the shipped versions, any level (level null), in their shipped order.
    for order, (code, name) in enumerate((
        ("uv_btv", "Ủy viên Ban Thường vụ"),
        ("uv_bch", "Ủy viên Ban Chấp hành"),
        ("truong_ban_nganh", "Trưởng các ban, ngành"),
        ("mttq_doan_the", "Mặt trận Tổ quốc, đoàn thể"),
        ("khac", "Khác"),
    )):
        db.execute("INSERT INTO leader_groups(code, name, level, sort_order) VALUES (?, ?, NULL, ?)",
                   [code, name, order])
    db["leader_posts"].create(
        {"id": int, "leader_id": int, "unit_id": int, "title": str, "grp": str, "valid_from": str, "valid_to": str},
        pk="id",
        not_null={"leader_id", "grp"},
        foreign_keys=[("leader_id", "leaders", "id"), ("unit_id", "units", "id"), ("grp", "leader_groups", "code")],
    )
    db["leader_posts"].create_index(["leader_id", "valid_from"])
    # The node whose standing committee issued an assignment decision (null: not recorded).
    db.execute("ALTER TABLE assignments ADD COLUMN issuer_unit_id INTEGER REFERENCES units(id)")
    # Existing leaders keep their one post, open at both ends, held at the home node (if there is one), so every
    # figure grouped by post reads as it did by leaders.grp; existing decisions were issued by the home node.
    home = db.execute(
        "SELECT u.id FROM settings s JOIN units u ON u.code = s.value WHERE s.key = 'home_unit'"
    ).fetchone()
    home_id = home[0] if home else None
    db.execute(
        "INSERT INTO leader_posts(leader_id, unit_id, title, grp, valid_from, valid_to) "
        "SELECT id, ?, position, grp, NULL, NULL FROM leaders ORDER BY id",
        [home_id],
    )
    if home_id is not None:
        db.execute("UPDATE assignments SET issuer_unit_id = ?", [home_id])


@migrations()
def m009_members(db: Database) -> None:
    # The rules a committee enforces (Statute Art. 8, Hướng dẫn 12-HD/BTCTW) are about members, not counts: so
    # members per cell over time, a mark per member per meeting, the rule thresholds as versioned data, the
    # 12-HD / 42-HD checklist of a meeting and the year-end classification of cells.
    db["members"].create(
        {
            "id": int,
            "code": str,  # the member card number (số thẻ đảng viên)
            "full_name": str,
            "admitted_on": str,  # admitted to the Party: probationary (dự bị) from this day
            "official_on": str,  # official from this day; null while probationary
            "notes": str,
            "created_at": str,
        },
        pk="id",
        not_null={"code", "full_name"},
    )
    db["members"].create_index(["code"], unique=True)
    # Which cell a member belongs to, over time; a transfer closes one row and opens the next, so on any day a
    # member is in at most one cell (lib checks that rows of a member never overlap).
    db["member_cells"].create(
        {"id": int, "member_id": int, "cell_id": int, "valid_from": str, "valid_to": str, "note": str},
        pk="id",
        not_null={"member_id", "cell_id"},
        foreign_keys=[("member_id", "members", "id"), ("cell_id", "cells", "id")],
    )
    db["member_cells"].create_index(["cell_id", "valid_from"])
    db["member_cells"].create_index(["member_id", "valid_from"])
    # Exemption from meetings (miễn sinh hoạt: elderly, ill, special duty), over time.
    db["member_exemptions"].create(
        {"id": int, "member_id": int, "valid_from": str, "valid_to": str, "reason": str, "decision_no": str},
        pk="id",
        not_null={"member_id", "valid_from"},
        foreign_keys=[("member_id", "members", "id")],
    )
    db["member_exemptions"].create_index(["member_id", "valid_from"])
    # One mark per member listed at a meeting: present, excused (vắng có lý do), unexcused (vắng không lý do) or
    # exempt (miễn sinh hoạt that day: outside the denominator). A meeting with marks has its counts derived
    # from them; a meeting without keeps the counts typed.
    db["attendance_marks"].create(
        {"meeting_id": int, "member_id": int, "status": str, "reason": str},
        pk=("meeting_id", "member_id"),
        not_null={"status"},
        foreign_keys=[("meeting_id", "meetings", "id"), ("member_id", "members", "id")],
    )
    db["attendance_marks"].create_index(["member_id", "meeting_id"])
    # Rule thresholds as versioned data with the document that sets them; the version in force on a day is the
    # row with the latest valid_from on or before it.
    db["rule_thresholds"].create(
        {"id": int, "rule": str, "value": int, "valid_from": str, "document": str},
        pk="id",
        not_null={"rule", "value", "valid_from"},
    )
    db["rule_thresholds"].create_index(["rule", "valid_from"], unique=True)
    for rule, value, valid_from, document in (
        ("art8_unexcused_months", 3, "2011-01-19",
         "Điều lệ Đảng (2011), Điều 8, khoản 2: bỏ sinh hoạt chi bộ ba tháng trong năm không có lý do chính đáng"),
        ("hd12_excused_streak", 3, "2018-05-18",
         "Hướng dẫn 12-HD/BTCTW: không có đảng viên vắng có lý do quá ba lần liên tục"),
        ("hd12_good_attendance_pct", 85, "2018-05-18",
         "Hướng dẫn 12-HD/BTCTW: trên 85% đảng viên dự, không có đảng viên vắng không lý do"),
    ):
        db.execute("INSERT INTO rule_thresholds(rule, value, valid_from, document) VALUES (?, ?, ?, ?)",
                   [rule, value, valid_from, document])
    # The 12-HD / 42-HD checklist of a meeting; the rating proposed from it by the criteria version in force on
    # the meeting's day sits beside the clerk's final rating (meetings.rating).
    db["meeting_checklists"].create(
        {
            "meeting_id": int,
            "committee_prepared": int,  # the cell committee met to prepare
            "content_prepared": int,  # content prepared in advance
            "speakers": int,  # members who spoke
            "criticism_held": int,  # criticism and self-criticism held
            "resolution_issued": int,  # resolution or conclusion issued
            "minutes_complete": int,
            "followed_up": int,  # the previous resolution followed up
            "documents": str,  # higher-level documents disseminated (which)
            "criteria_version": str,
            "proposed_rating": str,
        },
        pk="meeting_id",
        foreign_keys=[("meeting_id", "meetings", "id")],
    )
    # Year-end classification of a cell: the level proposed from the year's record and the basis of it (JSON),
    # and the level the committee decided, with its decision.
    db["cell_classifications"].create(
        {
            "id": int,
            "cell_id": int,
            "year": int,
            "proposed_level": str,  # xuat_sac, tot, hoan_thanh, khong_hoan_thanh
            "basis_json": str,
            "decided_level": str,
            "decision_no": str,
            "decision_date": str,
            "decided_by": str,
            "decided_at": str,
        },
        pk="id",
        not_null={"cell_id", "year"},
        foreign_keys=[("cell_id", "cells", "id")],
    )
    db["cell_classifications"].create_index(["cell_id", "year"], unique=True)


@migrations()
def m010_marks_indexes(db: Database) -> None:
    # The member figures read a period's marks with their status (member attendance, a meeting's marks of a
    # member) from an index alone, not 2.5 million table rows; the rule flags read only the absences (about one
    # mark in ten) from a partial index, by meeting and status.
    db.execute("CREATE INDEX idx_marks_meeting_member_status ON attendance_marks(meeting_id, member_id, status)")
    db.execute("CREATE INDEX idx_marks_absent ON attendance_marks(meeting_id, status, member_id) "
               "WHERE status <> 'present'")


@migrations()
def m011_members_bench(db: Database) -> None:
    # The flags of a commune or a node read their candidates' absences by member (Art. 8 counts a member's marks in
    # every cell, so their meetings cannot be found through the scope's cells): the absences alone, by member and
    # status, from an index (about one mark in ten), not every mark of the member's history and its table row.
    db.execute("CREATE INDEX idx_marks_member_absent ON attendance_marks(member_id, status, meeting_id) "
               "WHERE status <> 'present'")


@migrations()
def m012_report_register(db: Database) -> None:
    # Issue 15: the Organisation Board drafts a period's report, writes its assessment, and issues it; what went out
    # (number, date, files, figures) is kept unchanged, so it can be downloaded later exactly as sent.
    # A draft of a period's report for one node (unit_code null: the home node); a later draft for the same period
    # and node is the next version. The six sections are the committee's own words (36-HD/VPTW's assessment part).
    db["report_drafts"].create(
        {
            "id": int,
            "period": str,  # the period label: 2025-Q1, 2025-03, 2025
            "unit_code": str,  # the node the report is for; null: the home node
            "body_id": int,  # the issuing body in force at the period's end (lib.org.issuer)
            "version": int,  # 1, 2, 3 per (period, node)
            "status": str,  # draft | issued
            "strengths": str,  # ưu điểm
            "limitations": str,  # hạn chế
            "causes_objective": str,  # nguyên nhân khách quan
            "causes_subjective": str,  # nguyên nhân chủ quan
            "tasks": str,  # nhiệm vụ, giải pháp thời gian tới
            "proposals": str,  # kiến nghị với cấp trên
            "created_by": str,
            "created_at": str,
            "updated_by": str,
            "updated_at": str,
        },
        pk="id",
        not_null={"period", "body_id", "version", "status"},
        defaults={"status": "draft"},
        foreign_keys=[("body_id", "issuing_bodies", "id")],
    )
    db.execute("CREATE UNIQUE INDEX idx_report_drafts_version ON report_drafts(period, ifnull(unit_code, ''), version)")
    # At most one open draft per period and node: the board works on it in turn.
    db.execute("CREATE UNIQUE INDEX idx_report_drafts_open ON report_drafts(period, ifnull(unit_code, '')) "
               "WHERE status = 'draft'")
    # The register of issued reports: numbers run 1, 2, 3 per body and year.
    db["report_register"].create(
        {"id": int, "body_id": int, "year": int, "number": int, "symbol": str, "issued_on": str, "draft_id": int,
         "issued_by": str, "issued_at": str},
        pk="id",
        not_null={"body_id", "year", "number", "symbol", "issued_on", "draft_id"},
        foreign_keys=[("body_id", "issuing_bodies", "id"), ("draft_id", "report_drafts", "id")],
    )
    db["report_register"].create_index(["body_id", "year", "number"], unique=True)
    db["report_register"].create_index(["draft_id"], unique=True)
    # The files as issued, with the figures of `metrics --json` at that moment and a sha256 of each.
    db["report_files"].create(
        {"register_id": int, "docx": bytes, "pdf": bytes, "xlsx": bytes, "figures_json": str,
         "docx_sha256": str, "pdf_sha256": str, "xlsx_sha256": str, "figures_sha256": str, "pdf_note": str},
        pk="register_id",
        not_null={"docx", "xlsx", "figures_json", "docx_sha256", "xlsx_sha256", "figures_sha256"},
        foreign_keys=[("register_id", "report_register", "id")],
    )
    # What was issued stays as issued, whatever code runs against the file: lib refuses first, these abort anyway.
    for table in ("report_register", "report_files"):
        for action in ("UPDATE", "DELETE"):
            db.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{table} is issued: never changed'); END")
    db.execute("CREATE TRIGGER report_drafts_issued_no_update BEFORE UPDATE ON report_drafts "
               "WHEN OLD.status = 'issued' BEGIN SELECT RAISE(ABORT, 'report_drafts: an issued draft is never "
               "changed'); END")
    db.execute("CREATE TRIGGER report_drafts_issued_no_delete BEFORE DELETE ON report_drafts "
               "WHEN OLD.status = 'issued' BEGIN SELECT RAISE(ABORT, 'report_drafts: an issued draft is never "
               "deleted'); END")


@migrations()
def m013_data_version(db: Database) -> None:
    # The key of the cached figures: a counter that moves with every audited change of data (sign-ins and sign-outs
    # change no figure). The newest audit entry's id served while one writer committed at a time; with several
    # writers (PostgreSQL) ids are handed out at insert, not in commit order, so a late commit could leave the key
    # as it was. Started at that id, so keys go on growing.
    db["data_version"].create({"id": int, "version": int}, pk="id", not_null={"version"})
    start = db.execute("SELECT coalesce(max(id), 0) FROM audit_log "
                       "WHERE action NOT LIKE 'login%' AND action <> 'logout'").fetchone()[0]
    db.execute("INSERT INTO data_version(id, version) VALUES (1, ?)", [start])
    db.execute(
        "CREATE TRIGGER audit_log_data_version AFTER INSERT ON audit_log "
        "WHEN NEW.action NOT LIKE 'login%' AND NEW.action <> 'logout' "
        "BEGIN UPDATE data_version SET version = version + 1 WHERE id = 1; END"
    )


@migrations()
def m014_pg_scale(db: Database) -> None:
    # PostgreSQL only (SQLite's plans are tuned and measured as they are): a commune's weakness figures find its
    # weaknesses by unit instead of reading all of them (at 10,000,000 meetings, 392,000 rows for ~3,000). The
    # index holds every column those figures read: a plan probing it once per unit of the whole tree (the planner
    # cannot count a CTE's units) then reads no table page (with the bare unit_id it read every page, slower than a
    # scan). PostgreSQL's own DDL (INCLUDE), not translated.
    if getattr(db, "is_postgres", False):
        db.conn.raw.execute(
            "CREATE INDEX IF NOT EXISTS idx_weaknesses_unit_id ON weaknesses (unit_id) "
            "INCLUDE (id, cell_id, category, severity, status, noted_on, due_on, resolved_on, deleted_at)")


def migrate(db: Database) -> None:
    """Apply every pending migration (on PostgreSQL, lib.pg translates each one's DDL and triggers)."""
    if getattr(db, "is_postgres", False):
        from lib import pg

        pg.prepare(db)
        # Two servers starting together: one applies the pending migrations, the other waits and finds none.
        db.execute("SELECT pg_advisory_lock(17018)")
        try:
            migrations.apply(db)
        finally:
            db.execute("SELECT pg_advisory_unlock(17018)")
        return
    migrations.apply(db)
