"""Paths and default settings."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = ROOT / "db" / "app.db"

# Defaults for the settings table; an admin changes them on the Settings page. The organisation is nobody until
# setup says who we are: its name comes from the home node's committee, and every report's header, symbol, board
# and signer from the issuing bodies (lib.org), never from a default. report_header and place_name are the
# wording of databases from before the issuing bodies (migration m006 turned them into the root's body).
DEFAULT_SETTINGS = {
    "org_name": "",
    "report_header": "",
    "place_name": "",
    "threshold_tot": "90",
    "threshold_kha": "70",
    "threshold_trung_binh": "50",
    "attendance_threshold": "0.85",
    "min_duration_minutes": "90",
    "report_days": "7",
    "grace_days": "0",
    "refresh_seconds": "30",
    "criteria_version": "42-HD/BTCTW",
}


def db_path() -> Path | str:
    """The database: CHIBO_DB if set (a file path, or a postgresql:// URL kept as text), else db/app.db."""
    value = os.environ.get("CHIBO_DB") or ""
    if value.startswith(("postgresql://", "postgres://")):
        return value
    return Path(value or DEFAULT_DB)
