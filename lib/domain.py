"""Domain vocabulary (enums with vi/en labels), value parsing and the record rules, all pure."""

import calendar
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from lib.i18n import t


class Labelled(StrEnum):
    """An enum whose members have a translated label."""

    @property
    def label(self) -> str:
        return t(f"enum.{type(self).__name__}.{self.value}")

    @classmethod
    def labels(cls) -> dict[str, str]:
        return {m.value: m.label for m in cls}


# Labels a code once had, still read back from older files and typed by habit (parse_enum): the labels follow
# today's wording (issue 11), the codes stay.
FORMER_LABELS: dict[str, dict[str, tuple[str, ...]]] = {
    "MeetingType": {"dot_xuat": ("Đột xuất",)},
    "Severity": {"medium": ("Trung bình",)},
}


class UnitKind(Labelled):
    XA = "xa"
    THI_TRAN = "thi_tran"
    PHUONG = "phuong"
    CO_QUAN = "co_quan"
    KHAC = "khac"
    # Nodes of the organisation tree above and below the commune (issue 11): the province committee, the
    # district committee (gone since 1/7/2025, kept for history), the grassroots committee of an agency or
    # enterprise, and the party sub-committee between a committee and its cells.
    TINH = "tinh"
    HUYEN = "huyen"
    CO_SO = "co_so"
    DANG_BO_BO_PHAN = "dang_bo_bo_phan"


class CellType(Labelled):
    AP_KHOM = "ap_khom"
    CO_QUAN = "co_quan"
    TRUONG_HOC = "truong_hoc"
    CONG_AN = "cong_an"
    QUAN_SU = "quan_su"
    Y_TE = "y_te"
    DOANH_NGHIEP = "doanh_nghiep"
    KHAC = "khac"


class LeaderGroup(Labelled):
    UV_BTV = "uv_btv"
    UV_BCH = "uv_bch"
    TRUONG_BAN_NGANH = "truong_ban_nganh"
    MTTQ_DOAN_THE = "mttq_doan_the"
    KHAC = "khac"


class MeetingType(Labelled):
    THUONG_KY = "thuong_ky"
    CHUYEN_DE = "chuyen_de"
    DOT_XUAT = "dot_xuat"
    KIEM_DIEM = "kiem_diem"


class Rating(Labelled):
    TOT = "tot"
    KHA = "kha"
    TRUNG_BINH = "trung_binh"
    KEM = "kem"


class WeaknessCategory(Labelled):
    PHO_BIEN_VAN_BAN = "pho_bien_van_ban"
    XAY_DUNG_DANG = "xay_dung_dang"
    DANH_GIA_TU_TUONG = "danh_gia_tu_tuong"
    KHAC_PHUC_KIEM_DIEM = "khac_phuc_kiem_diem"
    Y_KIEN_TRONG_TAM = "y_kien_trong_tam"
    ATTENDANCE_LOW = "attendance_low"
    NOT_HELD = "not_held"
    OFF_SCHEDULE = "off_schedule"
    REPORT_MISSING = "report_missing"
    OTHER = "other"


SEED_CATEGORIES = tuple(WeaknessCategory)[:5]


class Severity(Labelled):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class WeaknessStatus(Labelled):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"


class Role(Labelled):
    ADMIN = "admin"
    CLERK = "clerk"
    VIEWER = "viewer"


ENUMS: dict[str, type[Labelled]] = {
    "kind": UnitKind,
    "cell_type": CellType,
    "grp": LeaderGroup,
    "mtype": MeetingType,
    "rating": Rating,
    "category": WeaknessCategory,
    "severity": Severity,
    "status": WeaknessStatus,
    "role": Role,
}


class FieldError:
    """A refusal naming the field and the reason, translated when shown."""

    __slots__ = ("field", "key", "params")

    def __init__(self, field: str, key: str, params: dict | None = None, **kwargs: object):
        self.field = field
        self.key = key
        self.params = {**(params or {}), **kwargs}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldError) and (self.field, self.key) == (other.field, other.key)

    def __hash__(self) -> int:
        return hash((self.field, self.key))

    def __repr__(self) -> str:
        return f"FieldError({self.field!r}, {self.key!r}, {self.params!r})"

    @property
    def field_label(self) -> str:
        return t(f"field.{self.field}")

    prefix = "err"

    @property
    def message(self) -> str:
        return t(f"{self.prefix}.{self.key}", **self.params)

    def __str__(self) -> str:
        return f"{self.field_label}: {self.message}"


class FieldWarning(FieldError):
    """Advice about a field that does not block a save."""

    __slots__ = ()
    prefix = "warn"


class ValidationError(ValueError):
    """Raised when a record breaks a rule; carries every field error."""

    def __init__(self, errors: Iterable[FieldError]):
        self.errors = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors))

    def fields(self) -> set[str]:
        return {e.field for e in self.errors}


class PermissionDenied(PermissionError):
    """Raised when the acting user may not make this change."""

    def __init__(self, key: str = "forbidden", **params: object):
        self.key = key
        self.params = params
        super().__init__(t(f"perm.{key}", **params))

    @property
    def message(self) -> str:
        return t(f"perm.{self.key}", **self.params)


@dataclass(frozen=True)
class Actor:
    """Who is making a change: username, role, and for a clerk the unit ids in scope."""

    username: str
    role: str
    unit_ids: frozenset[int] = frozenset()

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


SYSTEM = Actor("system", Role.ADMIN)


# More district leaders than this at one cell's meeting is unusual (a hamlet meeting has one or two):
# the form warns, as a mis-click in the leaders list once added 29 (issue 16). A "max_leaders" setting
# overrides it.
MAX_LEADERS_AT_MEETING = 5


@dataclass(frozen=True)
class Thresholds:
    """Score thresholds for the ratings and the quality warnings (settings)."""

    tot: int = 90
    kha: int = 70
    trung_binh: int = 50
    attendance: float = 0.85
    min_duration: int = 90
    report_days: int = 7
    grace_days: int = 0
    max_leaders: int = MAX_LEADERS_AT_MEETING

    @classmethod
    def from_settings(cls, s: Mapping[str, str]) -> "Thresholds":
        def num(key: str, default: float, kind: type) -> Any:
            try:
                return kind(s.get(key, default))
            except (TypeError, ValueError):
                return default

        return cls(
            tot=num("threshold_tot", 90, int),
            kha=num("threshold_kha", 70, int),
            trung_binh=num("threshold_trung_binh", 50, int),
            attendance=num("attendance_threshold", 0.85, float),
            min_duration=num("min_duration_minutes", 90, int),
            report_days=num("report_days", 7, int),
            grace_days=num("grace_days", 0, int),
            max_leaders=num("max_leaders", MAX_LEADERS_AT_MEETING, int),
        )


def rating_for_score(score: int, th: Thresholds = Thresholds()) -> Rating:
    """The rating a score earns under the thresholds."""
    if score >= th.tot:
        return Rating.TOT
    if score >= th.kha:
        return Rating.KHA
    if score >= th.trung_binh:
        return Rating.TRUNG_BINH
    return Rating.KEM


# ---- parsing raw values (forms, CSV, XLSX) --------------------------------------------

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_VN = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_TRUE = {"1", "true", "có", "co", "x", "yes", "y", "đúng", "dung"}
_FALSE = {"0", "false", "không", "khong", "no", "n", "", "sai"}


class ParseError(ValueError):
    """A raw value that cannot be read; key names the reason."""

    def __init__(self, key: str, **params: object):
        self.key = key
        self.params = params
        super().__init__(key)


def is_blank(value: Any) -> bool:
    """None, NaN or a string of spaces."""
    if value is None:
        return True
    if isinstance(value, float) and value != value:
        return True
    return isinstance(value, str) and not value.strip()


def parse_date(value: Any) -> date | None:
    """A date from a date, YYYY-MM-DD or DD/MM/YYYY; None when blank."""
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if " " in text and _ISO.match(text.split(" ")[0]):
        text = text.split(" ")[0]  # "2025-03-05 00:00:00" from spreadsheets
    if m := _ISO.match(text):
        y, mo, d = (int(g) for g in m.groups())
    elif m := _VN.match(text):
        d, mo, y = (int(g) for g in m.groups())
    else:
        raise ParseError("bad_date", value=text)
    try:
        return date(y, mo, d)
    except ValueError:
        raise ParseError("impossible_date", value=text) from None


def _storable(number: int | str) -> int:
    # SQLite holds 64-bit integers: a larger number must be refused here, by field,
    # rather than fail with OverflowError at the write.
    try:
        number = int(number)
    except ValueError:  # text past Python's 4,300-digit conversion limit
        raise ParseError("number.too_large") from None
    if not -(2**63) <= number < 2**63:
        raise ParseError("number.too_large")
    return number


# One separator, used between every group of three digits, and optionally whole decimals
# after the other separator: 1.000 · 1,000 · 1 000 · 12.345.678 · 1.000,00 · 1,000.00.
_GROUPED = re.compile(
    r"([+-]?\d{1,3})(?:((?:\.\d{3})+)(?:,0+)?|((?:,\d{3})+)(?:\.0+)?|((?:[ \u00a0\u202f]\d{3})+)(?:[.,]0+)?)"
)


def parse_int(value: Any) -> int | None:
    """A whole number that the database can store; None when blank."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return _storable(value)
    if isinstance(value, float):
        if value.is_integer():
            return _storable(int(value))
        raise ParseError("not_whole", value=value)
    text = str(value).strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return _storable(text)
    # Thousands: "1.000" (Vietnamese), "1,000" or "1 000" is one thousand when every group
    # after the first has exactly three digits; never the decimal 1.000 read as 1.
    if m := _GROUPED.fullmatch(text):
        groups = next(g for g in m.groups()[1:] if g)
        return _storable(m.group(1) + re.sub(r"\D", "", groups))
    # A whole number written with decimals: "25,00", "4.0" (but not "1.000", a thousand).
    if m := re.fullmatch(r"([+-]?\d+)[.,]0+", text):
        return _storable(m.group(1))
    if re.fullmatch(r"[+-]?[\d.,\s]*\d[\d.,\s]*", text):
        raise ParseError("not_whole", value=text)  # "1,5", "2.5", "1.00.0": not a count
    raise ParseError("not_number", value=text)


def parse_bool(value: Any) -> bool:
    """1/0, true/false, có/không, x/blank."""
    if is_blank(value):
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ParseError("not_bool", value=value)


def _fold(text: str) -> str:
    import unicodedata

    text = text.replace("đ", "d").replace("Đ", "D")
    text = unicodedata.normalize("NFD", text)
    return "".join(c for c in text if unicodedata.category(c) != "Mn").casefold().strip()


def search_key(text: str) -> str:
    """Text as a search compares it: without accents, đ as d, case-free ("Đông Hòa" gives "dong hoa")."""
    return _fold(text)


def parse_enum(enum: type[Labelled], value: Any) -> Labelled | None:
    """An enum member from its code or its vi/en label (accents optional); None when blank."""
    if is_blank(value):
        return None
    text = str(value).strip()
    try:
        return enum(text)
    except ValueError:
        pass
    wanted = _fold(text)
    for member in enum:
        names = {member.value, t(f"enum.{enum.__name__}.{member.value}", "vi"),
                 t(f"enum.{enum.__name__}.{member.value}", "en"),
                 *FORMER_LABELS.get(enum.__name__, {}).get(member.value, ())}
        if wanted in {_fold(n) for n in names}:
            return member
    raise ParseError("bad_choice", value=text, choices=", ".join(enum.labels().values()))


# Field kinds for coerce(): "int", "date", "bool", "str", or an enum class.
MEETING_FIELDS: dict[str, Any] = {
    "cell_id": "int",
    "held_on": "date",
    "mtype": MeetingType,
    "members_total": "int",
    "members_exempt": "int",
    "present": "int",
    "absent_excused": "int",
    "absent_unexcused": "int",
    "duration_minutes": "int",
    "score": "int",
    "rating": Rating,
    "leadership": "bool",
    "education": "bool",
    "combativeness": "bool",
    "topics": "str",
    "notes": "str",
}


def coerce(raw: Mapping[str, Any], spec: Mapping[str, Any]) -> tuple[dict, list[FieldError]]:
    """Parse the raw values named in spec; return the typed record and the field errors."""
    clean: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, kind in spec.items():
        if name not in raw:
            continue
        value = raw[name]
        try:
            if kind == "int":
                clean[name] = parse_int(value)
            elif kind == "date":
                clean[name] = parse_date(value)
            elif kind == "bool":
                clean[name] = parse_bool(value)
            elif kind == "str":
                clean[name] = None if is_blank(value) else str(value).strip()
            else:
                clean[name] = parse_enum(kind, value)
        except ParseError as exc:
            errors.append(FieldError(name, exc.key, exc.params))
    return clean, errors


# ---- wording: periods and names as a sentence writes them ------------------------------

ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")


def roman(number: int) -> str:
    """1 to 12 in Roman numerals (quarters and report sections): 2 gives "II"."""
    return ROMAN[number - 1]


def period_display(period: Any) -> str:
    """A period (lib.metrics.Period) as people read it: "Năm 2025", "Quý II/2025", "Tháng 03/2025"."""
    year, month = period.months[0]
    if period.kind == "year":
        return t("dash.label_year", year=year)
    if period.kind == "quarter":
        quarter = (month - 1) // 3 + 1
        return t("dash.label_quarter", quarter=quarter, roman=roman(quarter), year=year)
    return t("dash.label_month", month=f"{month:02d}", year=year)


# The common nouns a unit or cell name may start with. Names are stored capitalised ("Xã Đại Phước", "Chi bộ
# ấp Mẫu") as they head a row; inside a sentence Vietnamese writes these nouns in lower case ("xã Đại Phước").
# "Đảng bộ", "Đảng ủy", "Huyện ủy" and the like name an organisation and keep their capital.
COMMON_NOUNS = ("chi bộ", "thị trấn", "thị xã", "thành phố", "tổ dân phố", "khu phố", "xã", "phường", "ấp",
                "khóm", "tỉnh", "huyện", "quận")


_COMMITTEE = re.compile(r"^ (ủy|uỷ)\b", re.IGNORECASE)  # "Huyện ủy", "Tỉnh ủy": a body's name, capitalised


def mid_sentence(name: Any) -> str:
    """A unit or cell name as it sits inside a sentence: its leading common nouns in lower case
    ("Xã Đại Phước" gives "xã Đại Phước", "Chi bộ Ấp Mẫu" gives "chi bộ ấp Mẫu"); proper names unchanged."""
    text = "" if name is None else str(name)
    done, rest = "", text
    while True:
        for noun in COMMON_NOUNS:
            head = rest[: len(noun)]
            after = rest[len(noun):]
            if head.lower() == noun and (not after or after[0] == " ") and not _COMMITTEE.match(after):
                done, rest = done + noun, after
                break
        else:
            return done + rest
        if not rest:
            return done
        done, rest = done + " ", rest[1:]


def cell_in_sentence(name: Any) -> str:
    """A cell named inside a sentence: "chi bộ ấp Mẫu" from "Ấp Mẫu" or "Chi bộ ấp Mẫu" (never "chi bộ chi bộ")."""
    text = mid_sentence(name)
    return text if text.startswith("chi bộ") else t("wording.cell", name=text)


def fmt_day_short(value: Any) -> str:
    """A date (or ISO text) as a document writes it, without leading zeros: 30/6/2025 ('' when blank)."""
    if not value:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return f"{value.day}/{value.month}/{value.year}"


# ---- the record rules ---------------------------------------------------------------

def fmt_date(value: Any) -> str:
    """A date (or ISO text) as dd/mm/yyyy for people ('' when blank)."""
    if not value:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return value.strftime("%d/%m/%Y")


def last_day(year: int, month: int) -> int:
    """Number of days in a month."""
    return calendar.monthrange(year, month)[1]


def scheduled_day(meeting_day: int, year: int, month: int) -> int:
    """The fixed meeting day in a month, clamped to the month's last day."""
    return min(meeting_day, last_day(year, month))


def _iso(d: date | str | None) -> str | None:
    return d.isoformat() if isinstance(d, date) else d


def within_validity(day: date, valid_from: Any, valid_to: Any) -> bool:
    """Whether a day falls inside [valid_from, valid_to] (open ends allowed)."""
    iso = day.isoformat()
    vf, vt = _iso(valid_from), _iso(valid_to)
    return (not vf or vf <= iso) and (not vt or iso <= vt)


def _required(rec: Mapping, names: Iterable[str]) -> list[FieldError]:
    return [FieldError(n, "required") for n in names if rec.get(n) is None]


def with_rules(errors: list[FieldError], rule_errors: Iterable[FieldError]) -> list[FieldError]:
    """The parse errors plus the rule errors of the fields that parsed, so a row lists every problem at once.

    A field that failed to parse reads as blank to the rules; its "required" (or any other rule error)
    would only repeat the parse error, so the parse error alone is kept for it.
    """
    bad = {e.field for e in errors}
    return errors + [e for e in rule_errors if e.field not in bad]


def validate_meeting(
    m: Mapping[str, Any],
    *,
    today: date,
    cell: Mapping[str, Any] | None = None,
    thresholds: Thresholds = Thresholds(),
) -> list[FieldError]:
    """The meeting rules of DESIGN.md on a typed record (duplicates are checked in the store)."""
    errors = _required(
        m, ("cell_id", "held_on", "mtype", "members_total", "present",
            "absent_excused", "absent_unexcused"),
    )
    counts = ("members_total", "members_exempt", "present", "absent_excused", "absent_unexcused",
              "duration_minutes")
    for name in counts:
        if m.get(name) is not None and m[name] < 0:
            errors.append(FieldError(name, "negative"))
    total, exempt = m.get("members_total"), m.get("members_exempt") or 0
    if total is not None and total < 1:
        errors.append(FieldError("members_total", "total_min"))
    if total is not None and exempt > total:
        errors.append(FieldError("members_exempt", "exempt_over_total", total=total))
    parts = [m.get("present"), m.get("absent_excused"), m.get("absent_unexcused")]
    if total is not None and None not in parts and not errors:  # a sum of wrong counts says nothing more
        required = total - exempt
        if sum(parts) != required:
            errors.append(FieldError("present", "counts_mismatch", required=required, given=sum(parts)))
    held = m.get("held_on")
    if held is not None:
        if held > today:
            errors.append(FieldError("held_on", "future", today=today.strftime("%d/%m/%Y")))
        elif cell is not None and not within_validity(held, cell.get("valid_from"), cell.get("valid_to")):
            errors.append(FieldError("held_on", "outside_cell_validity", cell=cell_in_sentence(cell.get("name", ""))))
    score, rating = m.get("score"), m.get("rating")
    if score is not None:
        if not 0 <= score <= 100:
            errors.append(FieldError("score", "score_range"))
        elif rating is not None and rating != rating_for_score(score, thresholds):
            expected = rating_for_score(score, thresholds)
            errors.append(FieldError("rating", "rating_mismatch", score=score, expected=expected.label))
    if m.get("duration_minutes") is not None and m["duration_minutes"] > 24 * 60:
        errors.append(FieldError("duration_minutes", "duration_too_long"))
    return errors


def validate_leader_report(held_on: date | None, submitted_on: date | None, today: date) -> list[FieldError]:
    """A written report is dated on or after the meeting and not in the future."""
    errors = []
    if submitted_on is not None:
        if held_on is not None and submitted_on < held_on:
            errors.append(FieldError("report_submitted_on", "report_before_meeting"))
        if submitted_on > today:
            errors.append(FieldError("report_submitted_on", "future", today=today.strftime("%d/%m/%Y")))
    return errors


def meeting_warnings(
    m: Mapping[str, Any], *, meeting_day: int | None, thresholds: Thresholds = Thresholds(), leaders: int = 0
) -> list[FieldWarning]:
    """Advice that does not block a save: off-day, short meeting, low attendance, more leaders than plausible."""
    warnings = []
    held = m.get("held_on")
    if held is not None and meeting_day and m.get("mtype") == MeetingType.THUONG_KY:
        if held.day != scheduled_day(meeting_day, held.year, held.month):
            warnings.append(FieldWarning("held_on", "off_day", day=meeting_day))
    dur = m.get("duration_minutes")
    if dur is not None and dur < thresholds.min_duration:
        warnings.append(FieldWarning("duration_minutes", "short", minutes=thresholds.min_duration))
    required = (m.get("members_total") or 0) - (m.get("members_exempt") or 0)
    if required > 0 and m.get("present") is not None:
        rate = m["present"] / required
        if rate < thresholds.attendance:
            warnings.append(FieldWarning("present", "low_attendance",
                                       rate=f"{rate:.0%}", threshold=f"{thresholds.attendance:.0%}"))
    if leaders > thresholds.max_leaders:
        warnings.append(FieldWarning("leaders_present", "many_leaders", count=leaders, limit=thresholds.max_leaders))
    return warnings


def validate_validity(valid_from: date | None, valid_to: date | None) -> list[FieldError]:
    """valid_to, when given, is not before valid_from."""
    if valid_from and valid_to and valid_to < valid_from:
        return [FieldError("valid_to", "to_before_from")]
    return []


def validate_cell(c: Mapping[str, Any]) -> list[FieldError]:
    """Cell rules: code, name, unit, type, meeting day 1-31, validity."""
    errors = _required(c, ("code", "name", "unit_id", "cell_type"))
    day = c.get("meeting_day")
    if day is not None and not 1 <= day <= 31:
        errors.append(FieldError("meeting_day", "day_range"))
    return errors + validate_validity(c.get("valid_from"), c.get("valid_to"))


def validate_unit(u: Mapping[str, Any]) -> list[FieldError]:
    """Unit rules: code, name, kind, validity."""
    return _required(u, ("code", "name", "kind")) + validate_validity(u.get("valid_from"), u.get("valid_to"))


def validate_leader(ldr: Mapping[str, Any]) -> list[FieldError]:
    """Leader rules: code, name, group."""
    return _required(ldr, ("code", "full_name", "grp"))


def validate_assignment(a: Mapping[str, Any], today: date) -> list[FieldError]:
    """Assignment rules: leader, unit, start date, required attendances ≥ 1, validity."""
    errors = _required(a, ("leader_id", "unit_id", "valid_from"))
    req = a.get("required_per_quarter")
    if req is not None and req < 1:
        errors.append(FieldError("required_per_quarter", "min_one"))
    dd = a.get("decision_date")
    if dd is not None and dd > today:
        errors.append(FieldError("decision_date", "future", today=today.strftime("%d/%m/%Y")))
    return errors + validate_validity(a.get("valid_from"), a.get("valid_to"))


def validate_weakness(w: Mapping[str, Any], today: date) -> list[FieldError]:
    """Weakness rules: unit, category, description, dates in order, resolution when resolved."""
    errors = _required(w, ("unit_id", "category", "noted_on"))
    if not w.get("description"):
        errors.append(FieldError("description", "required"))
    noted = w.get("noted_on")
    if noted is not None and noted > today:
        errors.append(FieldError("noted_on", "future", today=today.strftime("%d/%m/%Y")))
    if noted and w.get("due_on") and w["due_on"] < noted:
        errors.append(FieldError("due_on", "due_before_noted"))
    resolved = w.get("resolved_on")
    if resolved is not None:
        if noted and resolved < noted:
            errors.append(FieldError("resolved_on", "resolved_before_noted"))
        if resolved > today:
            errors.append(FieldError("resolved_on", "future", today=today.strftime("%d/%m/%Y")))
    if w.get("status") == WeaknessStatus.RESOLVED and not w.get("resolution"):
        errors.append(FieldError("resolution", "resolution_required"))
    return errors
