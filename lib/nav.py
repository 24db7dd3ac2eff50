"""Which pages exist, in which section, and which roles may open them (no streamlit here)."""

from dataclasses import dataclass

from lib.domain import Role

ALL = frozenset(Role)
WRITERS = frozenset({Role.ADMIN, Role.CLERK})
ADMIN = frozenset({Role.ADMIN})
READERS = frozenset({Role.ADMIN, Role.VIEWER})


@dataclass(frozen=True)
class PageSpec:
    """A page file, its URL path, title key, icon, section key and the roles that see it."""

    file: str
    url_path: str
    title_key: str
    icon: str
    section: str
    roles: frozenset


PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/overview.py", "tong-quan", "nav.overview", ":material/dashboard:", "nav.dashboards", ALL),
    # the reminders' title carries their count (app.py): a badge in the menu that opens the list
    PageSpec("pages/reminders.py", "nhac-viec", "ux.nav.reminders", ":material/notifications:", "nav.dashboards",
             ALL),
    PageSpec("pages/attendance.py", "du-hop", "nav.attendance", ":material/groups:", "nav.dashboards", ALL),
    PageSpec("pages/leaders.py", "can-bo-phu-trach", "nav.leaders", ":material/badge:", "nav.dashboards", ALL),
    PageSpec("pages/weakness_board.py", "han-che", "nav.weakness_board", ":material/report:", "nav.dashboards", ALL),
    PageSpec("pages/quality.py", "chat-luong", "nav.quality", ":material/star:", "nav.dashboards", ALL),
    PageSpec("pages/member_flags.py", "dang-vien-can-xem-xet", "rules.nav", ":material/flag:", "nav.dashboards", ALL),
    PageSpec("pages/presentation.py", "trinh-chieu", "nav.presentation", ":material/slideshow:", "nav.dashboards",
             ALL),
    PageSpec("pages/record_meeting.py", "nhap-buoi-sinh-hoat", "nav.record_meeting", ":material/edit_note:",
             "nav.entry", WRITERS),
    PageSpec("pages/records.py", "ho-so", "nav.records", ":material/table_rows:", "nav.entry", WRITERS),
    PageSpec("pages/members.py", "dang-vien", "nav.members", ":material/diversity_3:", "nav.entry", WRITERS),
    PageSpec("pages/leader_reports.py", "bao-cao-can-bo", "nav.leader_reports", ":material/assignment_turned_in:",
             "nav.entry", WRITERS),
    PageSpec("pages/weaknesses.py", "theo-doi-han-che", "nav.weaknesses", ":material/build:", "nav.entry",
             WRITERS),
    PageSpec("pages/import_data.py", "nhap-tep", "nav.import", ":material/upload_file:", "nav.entry", WRITERS),
    PageSpec("pages/reports.py", "bao-cao", "nav.reports", ":material/description:", "nav.reports", READERS),
    PageSpec("pages/classification.py", "xep-loai-chi-bo", "nav.classification", ":material/military_tech:",
             "nav.reports", READERS),
    PageSpec("pages/directory.py", "danh-muc", "nav.directory", ":material/account_tree:", "nav.admin", ADMIN),
    PageSpec("pages/assignments.py", "phan-cong", "nav.assignments", ":material/assignment_ind:", "nav.admin",
             ADMIN),
    PageSpec("pages/users.py", "nguoi-dung", "nav.users", ":material/manage_accounts:", "nav.admin", ADMIN),
    PageSpec("pages/settings.py", "cai-dat", "nav.settings", ":material/settings:", "nav.admin", ADMIN),
    PageSpec("pages/audit.py", "nhat-ky", "nav.audit", ":material/history:", "nav.admin", ADMIN),
    PageSpec("pages/account.py", "tai-khoan", "nav.account", ":material/person:", "nav.account", ALL),
)

REMINDERS = "pages/reminders.py"
# The addresses of the pages outside the menu: the login form (signed out) and the first-run setup
LOGIN_PATH, SETUP_PATH = "dang-nhap", "thiet-lap"


def placeholder(url_path: str) -> str:
    """The url_path a default page takes: Streamlit serves it at "/" and keeps its own url_path taken without
    answering it, so the real address goes to a hidden twin (app.py)."""
    return f"{url_path}-trang-dau"

SECTIONS = ("nav.dashboards", "nav.entry", "nav.reports", "nav.admin", "nav.account")


def pages_for(role: str | None) -> list[PageSpec]:
    """The pages a role may see, in menu order."""
    return [p for p in PAGES if role in p.roles]


def allowed(role: str | None, file: str) -> bool:
    """Whether a role may open a page file (each write page checks this again)."""
    return any(p.file == file and role in p.roles for p in PAGES)
