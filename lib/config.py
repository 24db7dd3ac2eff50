"""Paths and default settings."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = ROOT / "db" / "app.db"

# Defaults for the settings table; an admin changes them on the Settings page.
DEFAULT_SETTINGS = {
    "org_name": "Huyện ủy Càng Long",
    "report_header": "ĐẢNG BỘ TỈNH VĨNH LONG",
    "place_name": "Càng Long",
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


def db_path() -> Path:
    """The database file: CHIBO_DB if set, else db/app.db."""
    return Path(os.environ.get("CHIBO_DB") or DEFAULT_DB)
