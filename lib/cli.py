"""`python -m lib ...`: init, demo, import, metrics, units, create-user, backup, report, report-pages, serve."""

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from lib import db as dbm
from lib.domain import SYSTEM, PermissionDenied, ValidationError
from lib.i18n import set_language, t


def _path(args: argparse.Namespace) -> Path:
    return dbm.location(args.db)


def cmd_init(args: argparse.Namespace) -> int:
    path = dbm.init(_path(args))
    print(t("cli.initialised", path=path))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from lib import demo, users

    path = dbm.init(_path(args))
    with dbm.read(path) as db:
        populated = users.count_users(db) > 0 or db["meetings"].count > 0
    if populated:
        if args.if_empty:
            print(t("cli.demo_skipped", path=path))
            return 0
        print(t("cli.not_empty", path=path), file=sys.stderr)
        return 1
    home = args.home
    if home is not None:
        home = home[0] if home == [demo.HOME_PROVINCE] else tuple(home)
    try:
        counts = demo.load(path, meetings=args.meetings, seed=args.seed, home=home)
    except ValueError as exc:  # a wrong --home, or data already there: the message says what to do
        print(str(exc), file=sys.stderr)
        return 1 if isinstance(exc, demo.NotEmptyError) else 2
    print(t("cli.demo_loaded", path=path, counts=", ".join(f"{k}={v}" for k, v in counts.items())))
    from lib import org

    with dbm.read(path) as db:
        node = org.home_node(db)
    if node:
        print(t("demo_reorg.home_set", name=node["name"], code=node["code"]))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from lib import importer

    path = dbm.init(_path(args))
    file = Path(args.file)
    if not file.is_file():
        print(t("cli.no_file", file=file), file=sys.stderr)
        return 2
    result = importer.run(path, args.kind, file.read_bytes(), file.name, SYSTEM)
    if result.errors:
        for line in result.error_lines():
            print(line, file=sys.stderr)
        print(result.summary(), file=sys.stderr)
        return 1
    print(result.summary())
    return 0


def cmd_units(args: argparse.Namespace) -> int:
    from lib import org
    from lib.domain import UnitKind, fmt_date

    path = dbm.init(_path(args))
    with dbm.read(path) as db:
        rows, home = org.tree(db), org.home_node(db)
    if not rows:
        print(t("cli.no_units"))
    for r in rows:
        kind = UnitKind(r["kind"]).label if r["kind"] in UnitKind.labels() else r["kind"]
        validity = f"{fmt_date(r['valid_from']) or '…'}–{fmt_date(r['valid_to']) or '…'}"
        successor = f" → {r['successor_code']}" if r["successor_code"] else ""
        mark = f" {t('cli.home_mark')}" if home and home["id"] == r["id"] else ""
        print(f"{'  ' * r['depth']}{r['code']}  {r['name']} [{kind}] {validity}{successor}{mark}")
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    from lib import metrics

    path = dbm.init(_path(args))
    with dbm.read(path) as db:
        try:
            data = metrics.compute(db, args.period, args.unit)
        except ValueError as exc:
            print(str(exc), file=sys.stderr)
            return 2
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        for row in data["attendance_by_unit"]:
            rate = "–" if row["rate"] is None else f"{row['rate']:.1%}"
            cov = "–" if row["coverage"] is None else f"{row['coverage']:.1%}"
            print(f"{row['unit_code']:<12} {row['unit_name']:<28} {rate:>7} {cov:>7}")
    return 0


def cmd_create_user(args: argparse.Namespace) -> int:
    from lib import users

    path = dbm.init(_path(args))
    if not args.password_stdin:
        print(t("cli.password_stdin_required"), file=sys.stderr)
        return 2
    password = sys.stdin.readline().rstrip("\r\n")
    with dbm.write(path) as db:
        codes = {row["code"]: row["id"] for row in db.query("select id, code from units")}
        unknown = [c for c in args.unit or [] if c not in codes]
        if unknown:
            print(t("err.unknown_code", value=", ".join(unknown)), file=sys.stderr)
            return 1
        warnings = users.create_user(db, SYSTEM, args.username, args.full_name or args.username, password,
                                     args.role, [codes[c] for c in args.unit or []])
    print(t("cli.user_created", username=args.username.strip().lower(), role=args.role))
    for warning in warnings:
        print(warning, file=sys.stderr)  # saved all the same: advice, not a refusal
    return 0


def _recipients(args: argparse.Namespace) -> tuple[Path | None, int]:
    """The age recipients file to encrypt to (None: a plain backup), or an exit code when it is unusable."""
    if args.recipients:
        file = Path(args.recipients)
        if not file.is_file():
            print(t("db.backup_no_recipients", recipients=file), file=sys.stderr)
            return None, 2
        return file, 0
    configured = os.environ.get("CHIBO_BACKUP_RECIPIENTS")
    if configured and Path(configured).is_file():
        return Path(configured), 0
    if configured:
        # Encryption is optional: a server set up before it keeps its nightly copies, with a word in the log.
        print(t("db.backup_plain", recipients=configured), file=sys.stderr)
    return None, 0


def _private(file: Path) -> None:
    # Backups hold the password hashes and the cookie key: only their owner may read them.
    file.touch(mode=0o600, exist_ok=True)
    file.chmod(0o600)


def cmd_backup(args: argparse.Namespace) -> int:
    path = _path(args)
    if args.keep_days is not None and args.keep_days < 1:
        print(t("pgdeploy.keep_days_bad", value=args.keep_days), file=sys.stderr)
        return 2
    dest = Path(args.dest)
    if not dest.is_dir() and not dest.parent.is_dir():
        print(t("pgdeploy.no_folder", dest=dest, folder=dest.parent), file=sys.stderr)
        return 2
    code = _backup_pg(args, path) if dbm.pg_url(path) else _backup_sqlite(args, path)
    if code == 0 and args.keep_days is not None and Path(args.dest).is_dir():
        removed = _rotate(Path(args.dest), args.keep_days)
        if removed:
            print(t("pgdeploy.rotated", n=removed, days=args.keep_days))
    return code


# What backup writes into a folder (SQLite copies, PostgreSQL dumps, either encrypted): what --keep-days removes.
BACKUP_NAMES = ("app-*.db", "app-*.db.age", "app-*.dump", "app-*.dump.age")


def _rotate(folder: Path, days: int) -> int:
    """Delete the folder's backups older than days (the nightly unit's rotation); the number deleted."""
    import time

    cutoff = time.time() - days * 86400
    old = {f for pattern in BACKUP_NAMES for f in folder.glob(pattern) if f.is_file() and f.stat().st_mtime < cutoff}
    # a .part is a copy cut off midway (power loss, a kill): gone after an hour
    old |= {f for f in folder.glob("app-*.part") if f.stat().st_mtime < time.time() - 3600}
    for f in old:
        f.unlink(missing_ok=True)
    return len(old)


def pg_tool(name: str) -> str | None:
    """A PostgreSQL client program (pg_dump, pg_restore): on PATH (Debian's wrapper), else the newest installed."""
    import glob

    found = shutil.which(name)
    if found:
        return found
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    return versions[-1] if versions else None


def pg_client_args(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string for --dbname and the environment for a client program: the password goes in
    PGPASSWORD, never on a command line (which every user of the machine can read in ps)."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url)
    password = params.pop("password", None)
    env = {**os.environ, **({"PGPASSWORD": str(password)} if password else {})}
    return make_conninfo(**params), env


def _backup_target(args: argparse.Namespace, suffix: str) -> tuple[Path, Path, Path | None, str | None] | int:
    # Where a copy goes (a folder gets a dated name), its .part file beside it, and the age recipients if encrypted;
    # an exit code when the recipients or age are missing.
    recipients, code = _recipients(args)
    if code:
        return code
    age = shutil.which("age") if recipients else None
    if recipients and age is None:
        print(t("db.backup_no_age", recipients=recipients), file=sys.stderr)
        return 1
    dest = Path(args.dest)
    if dest.is_dir():
        from datetime import datetime

        dest = dest / f"app-{datetime.now():%Y%m%d-%H%M%S}{suffix}"
    if recipients and dest.suffix != ".age":
        dest = dest.with_name(dest.name + ".age")
    return dest, dest.with_name(dest.name + ".part"), recipients, age


def _backup_failed(tmp: Path, message: str) -> int:
    """A failed backup: its .part file removed (no half copy left), the message on stderr; exit code 1."""
    tmp.unlink(missing_ok=True)
    print(message, file=sys.stderr)
    return 1


def _error_of(run: subprocess.CompletedProcess) -> str:
    """What a failed client program (age, pg_dump) said on stderr, else its exit code."""
    return run.stderr.decode("utf-8", "replace").strip() or f"exit {run.returncode}"


def _backup_keep(dest: Path, tmp: Path, recipients: Path | None, age: str | None, image: bytes | None) -> int:
    # Encrypted: only the ciphertext of the checked image reaches the disk. The .part file becomes the copy last.
    if recipients:
        run = subprocess.run([age, "--encrypt", "--recipients-file", str(recipients), "--output", str(tmp)],
                             input=image, capture_output=True)
        if run.returncode != 0:
            return _backup_failed(tmp, t("db.backup_encrypt_failed", error=_error_of(run)))
    _private(tmp)
    tmp.replace(dest)
    print(t("db.backup_encrypted" if recipients else "cli.backup_done", dest=dest))
    return 0


def _backup_pg(args: argparse.Namespace, url: str) -> int:
    # pg_dump's custom format (-Fc): compressed, one consistent snapshot while the app writes; pg_restore reads it.
    dump, restore = pg_tool("pg_dump"), pg_tool("pg_restore")
    if dump is None or restore is None:
        print(t("pgdeploy.no_pg_dump"), file=sys.stderr)
        return 1
    target = _backup_target(args, ".dump")
    if isinstance(target, int):
        return target
    dest, tmp, recipients, age = target
    dbname, env = pg_client_args(url)
    _private(tmp)
    # Encrypted: the dump is held in memory (its compressed size) and only its ciphertext reaches the disk.
    run = subprocess.run([dump, "--format=custom", f"--dbname={dbname}", *([] if recipients else [f"--file={tmp}"])],
                         capture_output=True, env=env)
    if run.returncode != 0:
        return _backup_failed(tmp, t("pgdeploy.dump_failed", error=_error_of(run)))
    image = run.stdout if recipients else None
    # The archive must read back (its table of contents, with the tables' data in it) before it is kept, as a SQLite
    # copy must pass integrity_check.
    listed = subprocess.run([restore, "--list", *([] if recipients else [str(tmp)])], input=image,
                            capture_output=True)
    if listed.returncode != 0 or b"TABLE DATA" not in listed.stdout:
        return _backup_failed(tmp, t("cli.backup_failed", dest=dest))
    return _backup_keep(dest, tmp, recipients, age, image)


def _backup_sqlite(args: argparse.Namespace, path: Path) -> int:
    if not path.is_file():
        print(t("cli.no_file", file=path), file=sys.stderr)
        return 2
    target = _backup_target(args, ".db")
    if isinstance(target, int):
        return target
    dest, tmp, recipients, age = target
    _private(tmp)
    src = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=30)  # never creates the file
    # Encrypted: the copy is made in memory and only its ciphertext reaches the disk (memory: the database's size).
    out = sqlite3.connect(":memory:" if recipients else str(tmp))
    try:
        # The online backup API copies a consistent snapshot while writers carry on.
        src.backup(out)
        ok = out.execute("pragma integrity_check").fetchone()[0] == "ok"
        image = out.serialize() if recipients and ok else None
    finally:
        out.close()
        src.close()
    if not ok:
        return _backup_failed(tmp, t("cli.backup_failed", dest=dest))
    return _backup_keep(dest, tmp, recipients, age, image)


def cmd_report(args: argparse.Namespace) -> int:
    from lib import reports
    from lib.pdf import PdfUnavailable

    path = dbm.init(_path(args))
    try:
        out = reports.write_report(path, args.period, args.format, Path(args.out), unit_code=args.unit)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except PdfUnavailable as exc:  # no LibreOffice here: the message names what to install
        print(str(exc), file=sys.stderr)
        return 3
    print(t("cli.report_done", file=out))
    return 0


# register (issue 15): the register of issued reports from the command line
def cmd_register(args: argparse.Namespace) -> int:
    from lib import register
    from lib.domain import fmt_date

    path = dbm.init(_path(args))
    if args.action == "issue":
        if args.draft is None:
            print(t("register.cli.draft_needed"), file=sys.stderr)
            return 2
        with dbm.read(path) as db:  # issue opens its own short write transaction once the files are made
            entry = register.issue(db, SYSTEM, args.draft, None)
        print(t("register.cli.issued", symbol=entry["symbol"], day=fmt_date(entry["issued_on"])))
        return 0
    with dbm.read(path) as db:
        rows = register.register_list(db, SYSTEM, args.period)
    for r in rows:
        print(f"{r['symbol']:<14} {fmt_date(r['issued_on'])}  {r['period']:<8} {r['unit_code'] or '-':<12} "
              f"v{r['version']}  {'PDF' if r['has_pdf'] else '-':<3}  {r['docx_sha256']}")
    return 0


def cmd_report_pages(args: argparse.Namespace) -> int:
    from lib import pdf, reports

    # A DOCX given (the issued one, as sent) is shown as it is; otherwise the period's report is compiled now.
    try:
        if args.docx:
            docx = Path(args.docx).read_bytes()
            stem = Path(args.docx).stem
        else:
            if not args.period:
                print(t("pdfcharts.pages_need_source"), file=sys.stderr)
                return 2
            docx = reports.compiled_docx(dbm.init(_path(args)), args.period, args.unit)
            stem = Path(reports.file_name(args.period, "docx", args.unit)).stem
        pages = pdf.pdf_pages_png(pdf.docx_to_pdf(docx), Path(args.out), stem, args.dpi)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except OSError as exc:
        print(t("pdfcharts.pages_unreadable", file=args.docx, error=exc), file=sys.stderr)
        return 2
    except pdf.PdfUnavailable as exc:
        print(str(exc), file=sys.stderr)
        return 3
    for page in pages:
        print(page)
    print(t("pdfcharts.pages_done", count=len(pages), folder=args.out))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from lib import ui  # only for this command: the others never load Streamlit

    if args.db:
        where = dbm.location(args.db)
        os.environ["CHIBO_DB"] = where if dbm.pg_url(where) else str(Path(where).resolve())
    return ui.serve(args.options)


def cmd_copy_db(args: argparse.Namespace) -> int:
    try:
        counts = dbm.copy(args.source, args.dest)
    except dbm.CopyRefused as exc:
        print(t("pg.copy_refused", reason=exc), file=sys.stderr)
        return 2
    print(t("pg.copied", dest=args.dest, counts=", ".join(f"{k}={v}" for k, v in counts.items())))
    return 0


def parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    p = argparse.ArgumentParser(prog="python -m lib", description=t("cli.description"))
    p.add_argument("--db", help=t("cli.help_db"))
    p.add_argument("--lang", choices=["vi", "en"], default="vi", help=t("cli.help_lang"))
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("init", help=t("cli.help_init")).set_defaults(fn=cmd_init)
    d = sub.add_parser("demo", help=t("cli.help_demo"))
    d.add_argument("--meetings", type=int, default=None)
    d.add_argument("--seed", type=int, default=42)
    d.add_argument("--if-empty", action="store_true", help=t("cli.help_if_empty"))
    d.add_argument("--home", nargs="+", metavar=("province|commune", "CODE"), help=t("demo_reorg.help_home"))
    d.set_defaults(fn=cmd_demo)
    i = sub.add_parser("import", help=t("cli.help_import"))
    i.add_argument("kind", choices=["units", "cells", "leaders", "posts", "assignments", "meetings", "weaknesses",
                                    "members"])
    i.add_argument("file")
    i.set_defaults(fn=cmd_import)
    m = sub.add_parser("metrics", help=t("cli.help_metrics"))
    m.add_argument("--period", required=True)
    m.add_argument("--unit", help=t("cli.help_node"))
    m.add_argument("--json", action="store_true")
    m.set_defaults(fn=cmd_metrics)
    sub.add_parser("units", help=t("cli.help_units")).set_defaults(fn=cmd_units)
    u = sub.add_parser("create-user", help=t("cli.help_create_user"))
    u.add_argument("username")
    u.add_argument("--role", required=True, choices=["admin", "clerk", "viewer"])
    u.add_argument("--unit", action="append", help=t("cli.help_unit"))
    u.add_argument("--full-name")
    u.add_argument("--password-stdin", action="store_true")
    u.set_defaults(fn=cmd_create_user)
    b = sub.add_parser("backup", help=t("cli.help_backup"))
    b.add_argument("dest")
    b.add_argument("--recipients", help=t("db.help_recipients"))
    b.add_argument("--keep-days", type=int, help=t("pgdeploy.help_keep_days"))
    b.set_defaults(fn=cmd_backup)
    r = sub.add_parser("report", help=t("cli.help_report"))
    r.add_argument("--period", required=True)
    r.add_argument("--format", choices=["docx", "xlsx", "pdf"], required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--unit")
    r.set_defaults(fn=cmd_report)
    g = sub.add_parser("register", help=t("register.cli.help"))
    g.add_argument("action", choices=["list", "issue"])
    g.add_argument("--period", help=t("register.cli.help_period"))
    g.add_argument("--draft", help=t("register.cli.help_draft"))
    g.set_defaults(fn=cmd_register)
    rp = sub.add_parser("report-pages", help=t("pdfcharts.help_report_pages"))
    rp.add_argument("--period")
    rp.add_argument("--unit")
    rp.add_argument("--docx", help=t("pdfcharts.help_docx"))
    rp.add_argument("--out", required=True)
    rp.add_argument("--dpi", type=int, default=60)
    rp.set_defaults(fn=cmd_report_pages)
    c = sub.add_parser("copy-db", help=t("pg.help_copy"))
    c.add_argument("--from", dest="source", required=True, help=t("pg.help_copy_from"))
    c.add_argument("--to", dest="dest", required=True, help=t("pg.help_copy_to"))
    c.set_defaults(fn=cmd_copy_db)
    # serve passes every option it does not know on to Streamlit (see main)
    s = sub.add_parser("serve", help=t("cli.help_serve"), description=t("cli.help_serve_options"))
    s.set_defaults(fn=cmd_serve, options=[])
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one command; refusals print a message and exit non-zero, never a traceback."""
    p = parser()
    args, rest = p.parse_known_args(argv)
    if rest and args.command != "serve":
        p.error(t("cli.unknown_arguments", args=" ".join(rest)))
    args.options = rest
    set_language(args.lang)
    try:
        return args.fn(args)
    except ValidationError as exc:
        for error in exc.errors:
            print(str(error), file=sys.stderr)
        return 1
    except PermissionDenied as exc:
        print(exc.message, file=sys.stderr)
        return 1
    except sqlite3.DatabaseError as exc:
        print(t("cli.db_error", error=exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
