"""Demo data: Càng Long district's units, cells, leaders, assignments and years of meetings, scalable for benchmarks."""

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from sqlite_utils import Database

from lib import assignments, audit, directory, org, settings, users
from lib import db as dbm
from lib.domain import SYSTEM, Role, last_day, rating_for_score, scheduled_day
from lib.i18n import t

MERGER_DAY = date(2025, 7, 1)
OLD_LAST_DAY = date(2025, 6, 30)
DECISION_395 = ("395-QĐ/HU", date(2022, 2, 21))
MERGER_DECISION = ("138-QĐ/TU", date(2025, 7, 4))
NATURAL_MONTHS = 36
# Average meetings per cell-month (regular ≈ 0.95, thematic ≈ 0.3, others): used only to size scaled loads.
MEETINGS_PER_CELL_MONTH = 1.31
SCALED_MONTHS = 48
MAX_CELLS = 3000
CHUNK_MEETINGS = 100_000
DATA_TABLES = ("units", "cells", "leaders", "assignments", "meetings", "meeting_leaders", "weaknesses")

DEMO_USERS = (
    ("admin", "Nguyễn Thị Thu Hà", "demo-quantri-2025", Role.ADMIN, ()),
    # The clerk of Nhị Long: the two old communes they kept records for, and since 1/7/2025 the new xã Nhị Long.
    ("thuky", "Lê Văn Tâm", "demo-nhaplieu-2025", Role.CLERK, ("NHILONG", "DAIPHUOC", "NHILONG25")),
    ("xem", "Trần Minh Quang", "demo-theodoi-2025", Role.VIEWER, ()),
)

# code, name, kind, hamlet names (DOMAIN.md gives the real ones for five communes; the rest are plausible).
REAL_UNITS = (
    ("TTCL", "Thị trấn Càng Long", "thi_tran", [f"Khóm {n}" for n in range(1, 8)]),
    ("ANTRUONG", "Xã An Trường", "xa", [f"Ấp {n}" for n in range(1, 10)]),
    ("ANTRUONGA", "Xã An Trường A", "xa", ["Ấp An Định", "Ấp An Bình", "Ấp An Chánh", "Ấp An Hòa",
                                            "Ấp An Thạnh", "Ấp An Thới", "Ấp An Phú"]),
    ("BINHPHU", "Xã Bình Phú", "xa", ["Ấp Bình Phú", "Ấp Đại Thôn", "Ấp Hiệp Phú", "Ấp Phú Hòa", "Ấp Phú Thọ",
                                     "Ấp Trà Ốp", "Ấp Nhà Thờ", "Ấp Bình Hòa", "Ấp Phú Lợi"]),
    ("DAIPHUC", "Xã Đại Phúc", "xa", ["Ấp Kinh Ngay", "Ấp Rạch Cát", "Ấp Tân Định", "Ấp Tân Hạnh", "Ấp Tất Vinh"]),
    ("DAIPHUOC", "Xã Đại Phước", "xa", ["Ấp Hạ", "Ấp Long Hòa", "Ấp Nhị Hòa", "Ấp Rạch Dừa", "Ấp Thượng",
                                       "Ấp Trà Gút", "Ấp Trại Luận", "Ấp Trung"]),
    ("DUCMY", "Xã Đức Mỹ", "xa", ["Ấp Đức Mỹ", "Ấp Giồng Dài", "Ấp Mỹ Hiệp", "Ấp Mỹ Thạnh", "Ấp Bà Tình",
                                 "Ấp Nguyệt Lãng A", "Ấp Nguyệt Lãng B", "Ấp Đức Hiệp"]),
    ("HUYENHOI", "Xã Huyền Hội", "xa", ["Ấp Bình Hội", "Ấp Cầu Xây", "Ấp Giồng Bèn", "Ấp Giồng Mới", "Ấp Kinh A",
                                       "Ấp Kinh B", "Ấp Lưu Tư", "Ấp Sóc", "Ấp Trà On"]),
    ("MYCAM", "Xã Mỹ Cẩm", "xa", ["Ấp Mỹ Cẩm A", "Ấp Mỹ Cẩm B", "Ấp Bà Tỵ", "Ấp Ông Rùm", "Ấp Thanh Hiệp",
                                 "Ấp Trà Ngoa", "Ấp Kinh Xáng", "Ấp Hòa Bình"]),
    ("NHILONG", "Xã Nhị Long", "xa", ["Ấp Cầu Đúc", "Ấp Dừa Đỏ 1", "Ấp Đon", "Ấp Long An", "Ấp Rạch Đập",
                                     "Ấp Rạch Mát", "Ấp Rạch Rô 1", "Ấp Rạch Rô 2"]),
    ("NHILONGPHU", "Xã Nhị Long Phú", "xa", ["Ấp Dừa Đỏ 2", "Ấp Dừa Đỏ 3", "Ấp Nhị Phú", "Ấp Phú Thạnh",
                                            "Ấp Phú Tân", "Ấp Long Thạnh", "Ấp Ba Se"]),
    ("PHUONGTHANH", "Xã Phương Thạnh", "xa", ["Ấp Dừa Đỏ", "Ấp Hiệp Hòa", "Ấp Phương Bình", "Ấp Phương Hòa",
                                             "Ấp Phương Thạnh", "Ấp Lò Ngò", "Ấp Trà Sết", "Ấp Ô Mịch",
                                             "Ấp Sóc Xoài"]),
    ("TANAN", "Xã Tân An", "xa", ["Ấp Tân An", "Ấp Tân Thành", "Ấp Tân Lợi", "Ấp Phú Phong", "Ấp Phú Hưng",
                                 "Ấp Thanh Bình", "Ấp An Thạnh", "Ấp Đầu Giồng"]),
    ("TANBINH", "Xã Tân Bình", "xa", ["Ấp Ngã Hậu", "Ấp Tân Ngại", "Ấp Tân Hiệp", "Ấp Tân Thới", "Ấp Tân Hòa",
                                     "Ấp Giồng Thanh", "Ấp Tân Phú", "Ấp Sâm Bua", "Ấp Tân Thành Tây"]),
)

# Agency, school, police, military and health cells: unit code → (cell_type, name).
OTHER_CELLS = {
    "TTCL": [("co_quan", "Cơ quan Đảng - Đoàn thể thị trấn Càng Long"), ("cong_an", "Công an thị trấn Càng Long"),
             ("quan_su", "Quân sự thị trấn Càng Long"), ("truong_hoc", "Trường THCS thị trấn Càng Long"),
             ("y_te", "Trạm Y tế thị trấn Càng Long")],
    "NHILONG": [("cong_an", "Công an xã Nhị Long"), ("truong_hoc", "Trường THCS Nhị Long")],
    "HUYENHOI": [("cong_an", "Công an xã Huyền Hội")],
    "DAIPHUOC": [("cong_an", "Công an xã Đại Phước"), ("y_te", "Trạm Y tế xã Đại Phước")],
    "ANTRUONG": [("cong_an", "Công an xã An Trường"), ("quan_su", "Quân sự xã An Trường")],
    "TANAN": [("cong_an", "Công an xã Tân An")],
    "BINHPHU": [("truong_hoc", "Trường Tiểu học Bình Phú")],
    "MYCAM": [("cong_an", "Công an xã Mỹ Cẩm")],
}

# The tree (docs/ORGANISATION.md, "Demo data"): the province committee is the root; Càng Long district hangs
# under it as a historic child (until 30/6/2025) over its 14 old communes; the new communes hang under the
# province from 1/7/2025. Before the merger (a demo dated earlier) the district is the root, in Trà Vinh.
PROVINCE = ("VINHLONG", "Tỉnh Vĩnh Long", "tinh")
DISTRICT = ("HUYEN", "Huyện Càng Long", "huyen")

# The 1/7/2025 merger: new code, name, kind, old unit codes, pairs of hamlets merged into one (new name).
# The whole former district became these five communes (Nghị quyết 1687/NQ-UBTVQH15 of 16/6/2025 on Vĩnh Long's
# communes; the province's draft of April 2025 names the same three first ones).
MERGERS = (
    ("CANGLONG25", "Xã Càng Long", "xa", ("TTCL", "MYCAM", "NHILONGPHU"), {("Khóm 6", "Khóm 7"): "Khóm 6"}),
    ("ANTRUONG25", "Xã An Trường", "xa", ("ANTRUONG", "ANTRUONGA", "TANBINH"),
     {("Ấp Tân Hòa", "Ấp Tân Phú"): "Ấp Tân Hòa Phú"}),
    ("TANAN25", "Xã Tân An", "xa", ("TANAN", "HUYENHOI"), {("Ấp Kinh A", "Ấp Kinh B"): "Ấp Kinh"}),
    ("NHILONG25", "Xã Nhị Long", "xa", ("NHILONG", "DUCMY", "DAIPHUOC"),
     {("Ấp Nguyệt Lãng A", "Ấp Nguyệt Lãng B"): "Ấp Nguyệt Lãng"}),
    ("BINHPHU25", "Xã Bình Phú", "xa", ("BINHPHU", "PHUONGTHANH", "DAIPHUC"),
     {("Ấp Phương Bình", "Ấp Phương Hòa"): "Ấp Phương Bình Hòa"}),
)
# One party sub-committee, so the demo has three levels: xã Càng Long's agency, police, military, school and
# health cells under it.
SUB_COMMITTEE = ("CANGLONG25-BP", "Đảng bộ bộ phận Khối cơ quan xã Càng Long", "CANGLONG25")
# Police, military, agency and health cells of merged units become one cell of the new unit; schools stay.
MERGED_TYPE_NAMES = {"co_quan": "Cơ quan Đảng - Đoàn thể {unit}", "cong_an": "Công an {unit}",
                     "quan_su": "Quân sự {unit}", "y_te": "Trạm Y tế {unit}"}

LEADERS = (
    ("HU01", "Nguyễn Văn Thành", "Bí thư Huyện ủy", "uv_btv"),
    ("HU02", "Trần Thị Hồng Nhung", "Phó Bí thư Thường trực Huyện ủy", "uv_btv"),
    ("HU03", "Lê Minh Tâm", "Phó Bí thư Huyện ủy, Chủ tịch UBND huyện", "uv_btv"),
    ("HU04", "Phạm Văn Dũng", "Trưởng Ban Tổ chức Huyện ủy", "uv_btv"),
    ("HU05", "Huỳnh Thanh Sơn", "Chủ nhiệm Ủy ban Kiểm tra Huyện ủy", "uv_btv"),
    ("HU06", "Võ Thị Kim Loan", "Trưởng Ban Tuyên giáo Huyện ủy", "uv_btv"),
    ("HU07", "Đặng Văn Hải", "Trưởng Ban Dân vận Huyện ủy", "uv_btv"),
    ("HU08", "Thạch Minh Phước", "Phó Chủ tịch UBND huyện", "uv_btv"),
    ("HU09", "Nguyễn Hoàng Phúc", "Chỉ huy trưởng Ban Chỉ huy Quân sự huyện", "uv_btv"),
    ("HU10", "Lê Thị Thu Trang", "Chánh Văn phòng Huyện ủy", "uv_bch"),
    ("HU11", "Trương Văn Lâm", "Phó Chủ tịch UBND huyện", "uv_bch"),
    ("HU12", "Kim Thị Sóc Kha", "Phó Trưởng Ban Tổ chức Huyện ủy", "uv_bch"),
    ("HU13", "Nguyễn Thanh Tùng", "Trưởng Công an huyện", "uv_bch"),
    ("HU14", "Bùi Văn Khánh", "Phó Chủ nhiệm Ủy ban Kiểm tra Huyện ủy", "uv_bch"),
    ("HU15", "Phan Thị Mỹ Linh", "Phó Trưởng Ban Tuyên giáo Huyện ủy", "uv_bch"),
    ("HU16", "Dương Văn Lợi", "Phó Trưởng Ban Dân vận Huyện ủy", "uv_bch"),
    ("HU17", "Ngô Văn Hiếu", "Trưởng phòng Nội vụ huyện", "truong_ban_nganh"),
    ("HU18", "Lâm Thị Ngọc Hân", "Trưởng phòng Tài chính - Kế hoạch huyện", "truong_ban_nganh"),
    ("HU19", "Hồ Văn Nhân", "Trưởng phòng Giáo dục và Đào tạo huyện", "truong_ban_nganh"),
    ("HU20", "Trần Văn Út", "Trưởng phòng Nông nghiệp và Phát triển nông thôn huyện", "truong_ban_nganh"),
    ("HU21", "Nguyễn Thị Bé Tư", "Trưởng phòng Văn hóa và Thông tin huyện", "truong_ban_nganh"),
    ("HU22", "Sơn Văn Thuận", "Giám đốc Trung tâm Y tế huyện", "truong_ban_nganh"),
    ("HU23", "Lê Văn Bảy", "Chủ tịch Ủy ban MTTQ Việt Nam huyện", "mttq_doan_the"),
    ("HU24", "Trần Thị Thanh Thúy", "Chủ tịch Hội Liên hiệp Phụ nữ huyện", "mttq_doan_the"),
    ("HU25", "Nguyễn Minh Trí", "Bí thư Huyện đoàn", "mttq_doan_the"),
    ("HU26", "Châu Văn Mười", "Chủ tịch Hội Nông dân huyện", "mttq_doan_the"),
    ("HU27", "Đỗ Văn Tư", "Chủ tịch Hội Cựu chiến binh huyện", "mttq_doan_the"),
    ("HU28", "Phạm Thị Diễm", "Chủ tịch Liên đoàn Lao động huyện", "mttq_doan_the"),
    ("HU29", "Lý Thanh Hùng", "Chuyên viên Ban Tổ chức Huyện ủy", "khac"),
    ("HU30", "Mai Thị Tuyết", "Phó Chánh Văn phòng Huyện ủy", "khac"),
)
RETIRED_LEADERS = {"HU05"}

# Leader groups per level (m008's leader_groups), after the five legacy ones of any level.
LEVEL_GROUPS = (
    ("uv_btv_tu", "Ủy viên Ban Thường vụ Tỉnh ủy", "tinh"),
    ("tinh_uy_vien", "Tỉnh ủy viên", "tinh"),
    ("lanh_dao_so_nganh", "Lãnh đạo sở, ban, ngành tỉnh", "tinh"),
    ("dang_uy_vien", "Đảng ủy viên phụ trách chi bộ", "xa"),
)
# Each district leader's post from 1/7/2025 (their district post ends on 30/6/2025): title, node, group.
POSTS_AFTER_MERGER = {
    "HU01": ("Bí thư Đảng ủy xã Càng Long", "CANGLONG25", "dang_uy_vien"),
    "HU02": ("Tỉnh ủy viên, Phó Trưởng Ban Tổ chức Tỉnh ủy", "VINHLONG", "tinh_uy_vien"),
    "HU03": ("Bí thư Đảng ủy xã An Trường", "ANTRUONG25", "dang_uy_vien"),
    "HU04": ("Ủy viên Ban Thường vụ Tỉnh ủy, Phó Chủ tịch UBND tỉnh", "VINHLONG", "uv_btv_tu"),
    "HU06": ("Bí thư Đảng ủy xã Nhị Long", "NHILONG25", "dang_uy_vien"),
    "HU07": ("Bí thư Đảng ủy xã Tân An", "TANAN25", "dang_uy_vien"),
    "HU08": ("Bí thư Đảng ủy xã Bình Phú", "BINHPHU25", "dang_uy_vien"),
    "HU09": ("Phó Chỉ huy trưởng Bộ Chỉ huy Quân sự tỉnh", "VINHLONG", "lanh_dao_so_nganh"),
    "HU10": ("Phó Bí thư Thường trực Đảng ủy xã Càng Long", "CANGLONG25", "dang_uy_vien"),
    "HU11": ("Phó Bí thư Đảng ủy, Chủ tịch UBND xã An Trường", "ANTRUONG25", "dang_uy_vien"),
    "HU12": ("Phó Bí thư Thường trực Đảng ủy xã Nhị Long", "NHILONG25", "dang_uy_vien"),
    "HU13": ("Tỉnh ủy viên, Phó Giám đốc Công an tỉnh", "VINHLONG", "tinh_uy_vien"),
    "HU14": ("Chủ nhiệm Ủy ban Kiểm tra Đảng ủy xã Bình Phú", "BINHPHU25", "dang_uy_vien"),
    "HU15": ("Phó Bí thư Thường trực Đảng ủy xã Tân An", "TANAN25", "dang_uy_vien"),
    "HU16": ("Trưởng Ban Xây dựng Đảng Đảng ủy xã Tân An", "TANAN25", "dang_uy_vien"),
    "HU17": ("Phó Giám đốc Sở Nội vụ", "VINHLONG", "lanh_dao_so_nganh"),
    "HU18": ("Phó Giám đốc Sở Tài chính", "VINHLONG", "lanh_dao_so_nganh"),
    "HU19": ("Phó Giám đốc Sở Giáo dục và Đào tạo", "VINHLONG", "lanh_dao_so_nganh"),
    "HU20": ("Phó Chủ tịch UBND xã Nhị Long", "NHILONG25", "dang_uy_vien"),
    "HU21": ("Trưởng Ban Xây dựng Đảng Đảng ủy xã Bình Phú", "BINHPHU25", "dang_uy_vien"),
    "HU22": ("Giám đốc Trung tâm Y tế khu vực Càng Long", "VINHLONG", "lanh_dao_so_nganh"),
    "HU23": ("Chủ tịch Ủy ban MTTQ Việt Nam xã Càng Long", "CANGLONG25", "dang_uy_vien"),
    "HU24": ("Chủ tịch Ủy ban MTTQ Việt Nam xã Tân An", "TANAN25", "dang_uy_vien"),
    "HU25": ("Phó Bí thư Tỉnh Đoàn", "VINHLONG", "lanh_dao_so_nganh"),
    "HU26": ("Phó Chủ tịch UBND xã Bình Phú", "BINHPHU25", "dang_uy_vien"),
    "HU27": ("Chủ tịch Ủy ban MTTQ Việt Nam xã Nhị Long", "NHILONG25", "dang_uy_vien"),
    "HU28": ("Phó Chủ tịch Liên đoàn Lao động tỉnh", "VINHLONG", "lanh_dao_so_nganh"),
    "HU29": ("Chuyên viên Ban Tổ chức Tỉnh ủy", "VINHLONG", "khac"),
    "HU30": ("Chánh Văn phòng Đảng ủy xã An Trường", "ANTRUONG25", "dang_uy_vien"),
}
POST_START = date(2020, 10, 1)  # the district congress of the 2020–2025 term: the district posts held since

# leader, unit, cell name (None = whole unit), required per quarter, decision, valid_from, valid_to
_D395 = (DECISION_395, DECISION_395[1])
ASSIGNMENTS = (
    ("HU01", "TTCL", None, 1, *_D395, None), ("HU10", "TTCL", None, 2, *_D395, None),
    ("HU23", "TTCL", None, 1, *_D395, None),
    ("HU02", "ANTRUONG", None, 1, *_D395, None), ("HU17", "ANTRUONG", None, 2, *_D395, None),
    ("HU11", "ANTRUONGA", None, 2, *_D395, None), ("HU26", "ANTRUONGA", None, 1, *_D395, None),
    ("HU03", "BINHPHU", None, 1, *_D395, None), ("HU18", "BINHPHU", None, 2, *_D395, None),
    ("HU04", "DAIPHUC", None, 1, *_D395, None), ("HU19", "DAIPHUC", None, 2, *_D395, None),
    ("HU27", "DAIPHUC", None, 1, *_D395, None),
    ("HU05", "DAIPHUOC", None, 1, *_D395, date(2024, 5, 31)), ("HU20", "DAIPHUOC", None, 2, *_D395, None),
    ("HU06", "DUCMY", None, 1, *_D395, None), ("HU21", "DUCMY", None, 2, *_D395, None),
    ("HU07", "HUYENHOI", None, 1, *_D395, None), ("HU24", "HUYENHOI", None, 1, *_D395, None),
    ("HU08", "MYCAM", None, 1, *_D395, None), ("HU28", "MYCAM", None, 2, *_D395, None),
    ("HU09", "NHILONG", None, 1, *_D395, None), ("HU12", "NHILONG", None, 2, *_D395, None),
    ("HU25", "NHILONG", None, 1, *_D395, date(2023, 8, 15)),
    ("HU13", "NHILONGPHU", None, 1, *_D395, None), ("HU22", "NHILONGPHU", None, 2, *_D395, None),
    ("HU14", "PHUONGTHANH", None, 2, *_D395, None),
    ("HU15", "TANAN", None, 2, *_D395, None), ("HU16", "TANAN", None, 1, *_D395, None),
    ("HU29", "TANBINH", None, 2, *_D395, None), ("HU30", "TANBINH", "Ấp Ngã Hậu", 1, *_D395, None),
    # Mid-term changes: a replacement after a retirement, and a cell-level assignment added later.
    ("HU14", "DAIPHUOC", None, 1, ("768-QĐ/HU", date(2024, 6, 5)), date(2024, 6, 10), None),
    ("HU21", "PHUONGTHANH", "Ấp Lò Ngò", 1, ("812-QĐ/HU", date(2024, 9, 12)), date(2024, 9, 16), None),
    ("HU25", "HUYENHOI", None, 1, ("512-QĐ/HU", date(2023, 8, 10)), date(2023, 8, 16), None),
)
# After the merger the province's Standing Committee puts its own leaders in charge of the new communes
# (decision 138-QĐ/TU, issued by the province node) ...
MERGER_ASSIGNMENTS = (
    ("HU02", "CANGLONG25", 1), ("HU13", "CANGLONG25", 2), ("HU29", "CANGLONG25", 2),
    ("HU04", "ANTRUONG25", 1), ("HU17", "ANTRUONG25", 2),
    ("HU25", "TANAN25", 1), ("HU19", "TANAN25", 2),
    ("HU09", "NHILONG25", 1), ("HU22", "NHILONG25", 2),
    ("HU18", "BINHPHU25", 2), ("HU28", "BINHPHU25", 1),
)
# ... and each new commune's Đảng ủy puts its own Đảng ủy viên in charge of its cells (decisions issued by that
# commune's node): leader, commune, cell name, required per quarter (a cell meets monthly).
COMMUNE_DECISION_DAY = date(2025, 7, 10)
COMMUNE_ASSIGNMENTS = (
    ("HU01", "CANGLONG25", "Khóm 1", 3), ("HU10", "CANGLONG25", "Khóm 2", 3),
    ("HU23", "CANGLONG25", "Công an xã Càng Long", 2),
    ("HU03", "ANTRUONG25", "Ấp 1", 3), ("HU11", "ANTRUONG25", "Ấp 2", 3), ("HU30", "ANTRUONG25", "Ấp Ngã Hậu", 3),
    ("HU07", "TANAN25", "Ấp Tân An", 3), ("HU15", "TANAN25", "Ấp Bình Hội", 3), ("HU16", "TANAN25", "Ấp Kinh", 2),
    ("HU24", "TANAN25", "Ấp Sóc", 2),
    ("HU06", "NHILONG25", "Ấp Cầu Đúc", 3), ("HU12", "NHILONG25", "Ấp Đon", 3),
    ("HU20", "NHILONG25", "Ấp Long Hòa", 3), ("HU27", "NHILONG25", "Ấp Nguyệt Lãng", 2),
    ("HU08", "BINHPHU25", "Ấp Bình Phú", 3), ("HU14", "BINHPHU25", "Ấp Phương Thạnh", 3),
    ("HU21", "BINHPHU25", "Ấp Lò Ngò", 3), ("HU26", "BINHPHU25", "Ấp Kinh Ngay", 2),
)

SYLLABLES = ("Tân", "Phú", "Long", "Hòa", "Bình", "An", "Mỹ", "Vĩnh", "Thạnh", "Hiếu", "Trung", "Nhơn", "Đông",
             "Tây", "Quới", "Lộc", "Thuận", "Hưng", "Phước", "Thới", "Hiệp", "Lương", "Xuân", "Khánh")
FAMILY = ("Nguyễn", "Nguyễn", "Nguyễn", "Trần", "Trần", "Lê", "Lê", "Phạm", "Huỳnh", "Võ", "Đặng", "Bùi", "Đỗ",
          "Hồ", "Ngô", "Dương", "Lý", "Thạch", "Kim", "Sơn", "Lâm", "Châu", "Mai", "Phan", "Trương")
MIDDLE_M = ("Văn", "Văn", "Minh", "Thanh", "Hoàng", "Hữu", "Quốc", "Công")
MIDDLE_F = ("Thị", "Thị", "Thị Ngọc", "Thị Kim", "Thị Thanh", "Thị Mỹ")
GIVEN_M = ("Hùng", "Dũng", "Tâm", "Phúc", "Lộc", "Thành", "Hải", "Sơn", "Tuấn", "Khải", "Nghĩa", "Trung", "Bảo")
GIVEN_F = ("Lan", "Hoa", "Mai", "Trang", "Nhung", "Hạnh", "Thảo", "Linh", "Hằng", "Yến", "Phượng", "Diễm")
SYNTHETIC_POSITIONS = (
    ("Ủy viên Ban Thường vụ Tỉnh ủy", "uv_btv"), ("Phó Trưởng Ban Tổ chức Tỉnh ủy", "uv_bch"),
    ("Ủy viên Ban Chấp hành Đảng bộ tỉnh", "uv_bch"), ("Giám đốc Sở Nội vụ", "truong_ban_nganh"),
    ("Giám đốc Sở Nông nghiệp và Môi trường", "truong_ban_nganh"), ("Phó Chủ tịch Ủy ban MTTQ tỉnh", "mttq_doan_the"),
    ("Phó Chủ tịch Hội Nông dân tỉnh", "mttq_doan_the"), ("Chuyên viên Ban Tổ chức Tỉnh ủy", "khac"),
)

REGULAR_TOPICS = (
    "Đánh giá kết quả thực hiện nghị quyết tháng trước; triển khai nhiệm vụ tháng",
    "Quán triệt văn bản của cấp trên; phân công nhiệm vụ cho đảng viên",
    "Thu đảng phí; sinh hoạt tư tưởng",
    "Vận động nhân dân tham gia xây dựng nông thôn mới",
    "Phòng, chống dịch bệnh trên cây trồng, vật nuôi",
    "Bảo đảm an ninh trật tự trên địa bàn",
    "Theo dõi, giúp đỡ quần chúng ưu tú phấn đấu vào Đảng",
    "Triển khai kế hoạch phòng, chống hạn mặn",
    "Vận động đóng góp quỹ vì người nghèo",
    "Chuyển đổi cơ cấu cây trồng, vật nuôi",
    "Tuyên truyền chuyển đổi số, thanh toán không dùng tiền mặt",
)
THEMATIC_TOPICS = (
    "Học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh",
    "Nâng cao chất lượng sinh hoạt chi bộ",
    "Công tác phát triển đảng viên mới",
    "Xây dựng ấp văn hóa, nông thôn mới nâng cao",
    "Vai trò đảng viên trong phát triển kinh tế hộ gia đình",
    "Chuyển đổi số ở cơ sở",
    "Phòng, chống suy thoái tư tưởng chính trị, đạo đức, lối sống",
    "Bảo vệ nền tảng tư tưởng của Đảng",
    "Công tác dân vận khéo",
)
EXTRA_TOPICS = (
    "Triển khai phòng, chống thiên tai",
    "Quán triệt chủ trương sắp xếp đơn vị hành chính",
    "Xem xét đề nghị kết nạp đảng viên",
    "Giới thiệu nhân sự",
    "Phòng, chống dịch bệnh",
)
REVIEW_TOPIC = "Kiểm điểm tập thể, cá nhân cuối năm; đánh giá, xếp loại chất lượng đảng viên"
OFF_DAY_NOTES = ("Dời ngày sinh hoạt do trùng lịch thu hoạch lúa", "Dời ngày do trùng lịch họp của xã",
                 "Dời ngày do mưa bão", "Dời ngày do bí thư chi bộ đi tập huấn")
LOW_ATTENDANCE_NOTES = ("Nhiều đảng viên đi làm ăn xa", "Đảng viên bận mùa vụ", "Một số đảng viên đau ốm")
SHORT_NOTE = "Thời gian sinh hoạt chưa bảo đảm 90 phút"
REMARKS_GOOD = ("Chi bộ chuẩn bị nội dung chu đáo", "Sinh hoạt nền nếp, đúng nguyên tắc",
                "Đảng viên phát biểu sôi nổi")
REMARKS_POOR = ("Cần nâng cao chất lượng sinh hoạt", "Tỷ lệ đảng viên dự còn thấp",
                "Nội dung sinh hoạt còn chung chung", "Chưa bảo đảm thời gian sinh hoạt")

WEAKNESS_TEXT = {
    "pho_bien_van_ban": ("Việc quán triệt văn bản cấp trên tại {place} còn chung chung, chưa liên hệ thực tế.",
                         "{place} chưa phổ biến kịp thời nghị quyết, chỉ thị mới của cấp trên."),
    "xay_dung_dang": ("Nội dung sinh hoạt của {place} chưa đi sâu công tác xây dựng Đảng, đoàn thể.",
                      "{place} chưa bàn giải pháp phát triển đảng viên mới."),
    "danh_gia_tu_tuong": ("Đánh giá tình hình tư tưởng đảng viên tại {place} chưa sát thực tế.",
                          "{place} chưa nắm chắc tư tưởng đảng viên đi làm ăn xa."),
    "khac_phuc_kiem_diem": ("{place} chưa khắc phục đầy đủ hạn chế đã chỉ ra qua kiểm điểm.",
                            "Kế hoạch khắc phục sau kiểm điểm của {place} chậm triển khai."),
    "y_kien_trong_tam": ("Ý kiến phát biểu tại {place} còn dàn trải, chưa đi vào trọng tâm.",
                         "Đảng viên {place} ít phát biểu, chưa tập trung vào vấn đề trọng tâm."),
    "attendance_low": ("Tỷ lệ đảng viên dự sinh hoạt tại {place} chỉ đạt {rate}.",),
    "not_held": ("{place} không tổ chức sinh hoạt thường kỳ tháng {month}.",),
    "off_schedule": ("{place} sinh hoạt ngày {day}, không đúng ngày cố định (ngày {fixed}).",),
    "report_missing": ("Đồng chí {leader} chưa nộp báo cáo bằng văn bản sau buổi dự sinh hoạt ngày {day} "
                       "tại {place}.",),
}
RESOLUTIONS = {
    "attendance_low": "Chi bộ đã rà soát, nhắc nhở đảng viên vắng; tỷ lệ dự các kỳ sau đạt yêu cầu.",
    "not_held": "Chi bộ đã tổ chức sinh hoạt bù và kiểm điểm trách nhiệm bí thư chi bộ.",
    "off_schedule": "Chi bộ đã thống nhất giữ đúng ngày sinh hoạt cố định.",
    "report_missing": "Đồng chí phụ trách đã nộp báo cáo bổ sung.",
}
DEFAULT_RESOLUTION = "Chi bộ đã xây dựng kế hoạch khắc phục và báo cáo kết quả thực hiện."

REGULAR, THEMATIC, EXTRA, REVIEW = 1, 2, 4, 8
MTYPES = {REGULAR: "thuong_ky", THEMATIC: "chuyen_de", EXTRA: "dot_xuat", REVIEW: "kiem_diem"}
MEMBER_RANGES = {"ap_khom": (14, 45), "co_quan": (10, 25), "cong_an": (8, 20), "quan_su": (5, 10),
                 "truong_hoc": (10, 30), "y_te": (6, 14)}

MEETING_COLUMNS = ("id", "cell_id", "held_on", "mtype", "members_total", "members_exempt", "present",
                   "absent_excused", "absent_unexcused", "duration_minutes", "score", "rating", "leadership",
                   "education", "combativeness", "topics", "notes", "created_by", "created_at", "updated_at",
                   "deleted_at")
LEADER_COLUMNS = ("meeting_id", "leader_id", "report_submitted_on", "remarks")
WEAKNESS_COLUMNS = ("id", "unit_id", "cell_id", "meeting_id", "category", "description", "noted_on", "noted_by",
                    "severity", "status", "due_on", "resolved_on", "resolution", "created_by", "deleted_at")


def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    # Positional placeholders: binding a million tuples is markedly faster than binding dicts by name.
    return f"""
insert into {table} ({", ".join(columns)})
values ({", ".join("?" * len(columns))})
"""


INSERT_MEETINGS_SQL = _insert_sql("meetings", MEETING_COLUMNS)
INSERT_LEADERS_SQL = _insert_sql("meeting_leaders", LEADER_COLUMNS)
INSERT_WEAKNESSES_SQL = _insert_sql("weaknesses", WEAKNESS_COLUMNS)


class NotEmptyError(ValueError):
    """Raised when demo data would be loaded into a database that already holds data."""


@dataclass(slots=True)
class _Unit:
    code: str
    name: str
    kind: str
    valid_from: date | None = None
    valid_to: date | None = None
    successor: str | None = None
    parent: str | None = None
    id: int = 0


@dataclass(slots=True)
class _Cell:
    code: str
    unit: str
    name: str
    cell_type: str
    meeting_day: int
    p_held: float
    p_off: float
    p_thematic: float
    thematic_offset: int
    attendance: float
    unexcused_share: float
    duration: float
    quality: float
    members: int
    exempt: int
    first_m: int | None = None  # earliest month it may exist in (merged-in cells); None = any
    last_m: int | None = None
    successor: str | None = None
    predecessors: list = field(default_factory=list)
    start_m: int = 0  # first month in the system, fixed after scheduling
    id: int = 0
    unit_id: int = 0


@dataclass(slots=True)
class _Leader:
    code: str
    full_name: str
    position: str
    grp: str
    diligence: float
    p_missing: float
    p_late: float
    active: bool = True
    id: int = 0


@dataclass(slots=True)
class _Assignment:
    leader: str
    unit: str
    cell: str | None
    required: int
    decision: tuple
    valid_from: date
    valid_to: date | None
    cell_id: int | None = None
    issuer: str | None = None  # the code of the node whose committee issued the decision


def _month(d: date) -> int:
    return d.year * 12 + d.month - 1


def _first_day(m: int) -> date:
    return date(m // 12, m % 12 + 1, 1)


def _dmy(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def _place(cell_name: str) -> str:
    """'Ấp Cầu Đúc' → 'Chi bộ ấp Cầu Đúc'."""
    if cell_name.startswith(("Ấp ", "Khóm ")):
        return "Chi bộ " + cell_name[0].lower() + cell_name[1:]
    return "Chi bộ " + cell_name


def _party_body(unit_name: str) -> str:
    """'Xã Nhị Long' → 'Đảng bộ xã Nhị Long' (a sub-committee's name already says Đảng bộ)."""
    if unit_name.startswith("Đảng bộ"):
        return unit_name
    return "Đảng bộ " + unit_name[0].lower() + unit_name[1:]


def _new_cell(rng: random.Random, code: str, unit: str, name: str, cell_type: str) -> _Cell:
    """A cell with its own habits: how reliably it meets, on which day, how well attended."""
    roll = rng.random()
    p_held = 0.80 if roll < 0.06 else 0.93 if roll < 0.30 else 0.985
    roll = rng.random()
    p_off = 0.35 if roll < 0.05 else 0.15 if roll < 0.25 else 0.05
    low = rng.random() < 0.12 and cell_type == "ap_khom"
    lo, hi = MEMBER_RANGES.get(cell_type, (8, 20))
    if cell_type == "ap_khom":
        day = rng.choice((30, 31)) if rng.random() < 0.04 else rng.randint(1, 28)
        exempt = rng.randint(0, 4)
    else:
        day = rng.randint(1, 10)
        exempt = 0
    return _Cell(
        code=code, unit=unit, name=name, cell_type=cell_type, meeting_day=day,
        p_held=p_held, p_off=p_off, p_thematic=0.7 if p_held < 0.9 else 0.9,
        thematic_offset=rng.randint(0, 2),
        attendance=rng.uniform(0.62, 0.74) if low else rng.uniform(0.86, 0.97),
        unexcused_share=0.45 if low else 0.12,
        duration=rng.uniform(70, 85) if rng.random() < 0.15 else rng.uniform(100, 125),
        quality=rng.gauss(80, 6), members=rng.randint(lo, hi), exempt=exempt,
    )


def _real_directory(rng: random.Random, merger: bool) -> tuple[list[_Unit], list[_Cell]]:
    """The tree: (after 1/7/2025) the province root over Càng Long district, its 14 units and their cells, and the
    five merged communes with their cells and one party sub-committee; before, the district is the root."""
    units, cells, by_unit = [], [], defaultdict(list)
    if merger:
        units.append(_Unit(*PROVINCE))
    units.append(_Unit(*DISTRICT, valid_to=OLD_LAST_DAY if merger else None,
                       parent=PROVINCE[0] if merger else None))
    for code, name, kind, hamlets in REAL_UNITS:
        units.append(_Unit(code, name, kind, parent=DISTRICT[0]))
        named = [("ap_khom", h) for h in hamlets] + OTHER_CELLS.get(code, [])
        for n, (cell_type, cell_name) in enumerate(named, 1):
            cell = _new_cell(rng, f"{code}-{n:02d}", code, cell_name, cell_type)
            cells.append(cell)
            by_unit[code].append(cell)
    if not merger:
        return units, cells
    last_old = _month(MERGER_DAY) - 1
    unit_by_code = {u.code: u for u in units}
    for new_code, new_name, kind, olds, pairs in MERGERS:
        units.append(_Unit(new_code, new_name, kind, valid_from=MERGER_DAY, parent=PROVINCE[0]))
        groups: list[tuple[str, str, list[_Cell]]] = []
        merged_into = {old: new for pair, new in pairs.items() for old in pair}
        pair_groups: dict[str, list[_Cell]] = {}
        type_groups: dict[str, list[_Cell]] = {}
        for old in olds:
            unit_by_code[old].valid_to = OLD_LAST_DAY
            unit_by_code[old].successor = new_code
            for cell in by_unit[old]:
                cell.last_m = last_old
                if cell.cell_type == "ap_khom" and cell.name in merged_into:
                    target = merged_into[cell.name]
                    if target not in pair_groups:
                        pair_groups[target] = []
                        groups.append(("ap_khom", target, pair_groups[target]))
                    pair_groups[target].append(cell)
                elif cell.cell_type in MERGED_TYPE_NAMES:
                    if cell.cell_type not in type_groups:
                        type_groups[cell.cell_type] = []
                        unit_label = new_name[0].lower() + new_name[1:]
                        groups.append((cell.cell_type, MERGED_TYPE_NAMES[cell.cell_type].format(unit=unit_label),
                                       type_groups[cell.cell_type]))
                    type_groups[cell.cell_type].append(cell)
                else:
                    groups.append((cell.cell_type, cell.name, [cell]))
        # Hamlets first, then the agencies, as a commune lists them.
        groups.sort(key=lambda g: g[0] != "ap_khom")
        sub = SUB_COMMITTEE[2] == new_code
        if sub:
            units.append(_Unit(SUB_COMMITTEE[0], SUB_COMMITTEE[1], "dang_bo_bo_phan", valid_from=MERGER_DAY,
                               parent=new_code))
        for n, (cell_type, name, preds) in enumerate(groups, 1):
            first = preds[0]
            cell = _Cell(
                code=f"{new_code}-{n:02d}", unit=SUB_COMMITTEE[0] if sub and cell_type != "ap_khom" else new_code,
                name=name, cell_type=cell_type,
                meeting_day=first.meeting_day, p_held=first.p_held, p_off=first.p_off,
                p_thematic=first.p_thematic, thematic_offset=first.thematic_offset,
                attendance=first.attendance, unexcused_share=first.unexcused_share, duration=first.duration,
                quality=first.quality, members=sum(p.members for p in preds), exempt=sum(p.exempt for p in preds),
                first_m=last_old + 1, predecessors=preds,
            )
            for p in preds:
                p.successor = cell.code
            cells.append(cell)
    unit_by_code[DISTRICT[0]].valid_to = OLD_LAST_DAY
    return units, cells


def _synthetic_directory(rng: random.Random, n_cells: int, parent: str) -> tuple[list[_Unit], list[_Cell]]:
    """Extra communes of plausible names, ~26 cells each, for benchmark-scale loads."""
    real = {name.split(" ", 1)[1] for _, name, _, _ in REAL_UNITS}
    names = [f"{a} {b}" for a in SYLLABLES for b in SYLLABLES if a != b and f"{a} {b}" not in real]
    rng.shuffle(names)
    units, cells = [], []
    n_units = max(1, round(n_cells / 26))
    sizes = [n_cells // n_units + (1 if i < n_cells % n_units else 0) for i in range(n_units)]
    for i, size in enumerate(sizes):
        place = names[i % len(names)] + ("" if i < len(names) else f" {i // len(names) + 1}")
        kind = "phuong" if rng.random() < 0.1 else "xa"
        unit_name = ("Phường " if kind == "phuong" else "Xã ") + place
        code = f"VL{i + 1:03d}"
        units.append(_Unit(code, unit_name, kind, parent=parent))
        label = unit_name[0].lower() + unit_name[1:]
        others = [("cong_an", f"Công an {label}"), ("quan_su", f"Quân sự {label}"),
                  ("truong_hoc", f"Trường THCS {place}")][: max(0, min(3, size - 1))]
        hamlets = rng.sample(names, min(len(names), size - len(others)))
        named = [("ap_khom", f"Ấp {h}") for h in hamlets] + others
        for n, (cell_type, cell_name) in enumerate(named, 1):
            cells.append(_new_cell(rng, f"{code}-{n:02d}", code, cell_name, cell_type))
    return units, cells


def _person(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE_M)} {rng.choice(GIVEN_M)}"
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE_F)} {rng.choice(GIVEN_F)}"


def _leader(rng: random.Random, code: str, full_name: str, position: str, grp: str) -> _Leader:
    roll = rng.random()
    diligence = rng.uniform(0.2, 0.45) if roll < 0.08 else rng.uniform(0.55, 0.85) if roll < 0.3 \
        else rng.uniform(0.95, 1.25)
    careless = rng.random() < 0.15
    return _Leader(code, full_name, position, grp, diligence,
                   p_missing=0.35 if careless else rng.uniform(0.03, 0.12),
                   p_late=0.4 if careless else rng.uniform(0.08, 0.2))


def _cells_target(meetings: int | None, real_cells: int) -> int:
    """How many synthetic cells a load of this many meetings needs to span ~4 years."""
    if meetings is None:
        return 0
    wanted = min(MAX_CELLS, round(meetings / (MEETINGS_PER_CELL_MONTH * SCALED_MONTHS)))
    return max(0, wanted - real_cells) if wanted > real_cells * 1.25 else 0


def _schedule(cells: list[_Cell], today: date, target: int | None, rng: random.Random) -> dict[int, bytearray]:
    """Which meetings each cell holds each month (a bitmask), walking back from today until target is met."""
    now_m = _month(today)
    masks: dict[int, bytearray] = {}
    total = 0
    if target == 0:
        return masks
    m = now_m
    disrupted = {_month(MERGER_DAY), _month(MERGER_DAY) + 1}
    while True:
        mask = bytearray(len(cells))
        month = m % 12 + 1
        for i, c in enumerate(cells):
            if (c.last_m is not None and m > c.last_m) or (c.first_m is not None and m < c.first_m):
                continue
            bits = 0
            p = c.p_held * (0.93 if month == 2 else 1.0) * (0.92 if m in disrupted and c.first_m else 1.0)
            if rng.random() < p and (m < now_m or scheduled_day(c.meeting_day, m // 12, month) <= today.day):
                bits |= REGULAR
            if m % 3 == c.thematic_offset and rng.random() < c.p_thematic and (m < now_m or today.day >= 3):
                bits |= THEMATIC
            if rng.random() < 0.015:
                bits |= EXTRA
            if month == 12 and rng.random() < 0.45 and (m < now_m or today.day >= 10):
                bits |= REVIEW
            if bits:
                mask[i] = bits
                total += (bits & 1) + (bits >> 1 & 1) + (bits >> 2 & 1) + (bits >> 3 & 1)
        masks[m] = mask
        if target is None:
            if now_m - m + 1 >= NATURAL_MONTHS:
                break
        elif total >= target:
            _trim(mask, total - target, rng)
            break
        if now_m - m > 12 * 400:
            raise ValueError("demo: no cells to hold meetings")
        m -= 1
    return masks


def _trim(mask: bytearray, excess: int, rng: random.Random) -> None:
    """Drop excess meetings from the earliest month: other meetings first, then regular ones."""
    others = [(i, b) for i, v in enumerate(mask) for b in (THEMATIC, EXTRA, REVIEW) if v & b]
    regular = [(i, REGULAR) for i, v in enumerate(mask) if v & REGULAR]
    rng.shuffle(others)
    rng.shuffle(regular)
    for i, b in (others + regular)[:excess]:
        mask[i] &= ~b


def _ensure_empty(db: Database, path: str | Path) -> None:
    full = [name for name in DATA_TABLES if db.execute(f"select exists(select 1 from {name})").fetchone()[0]]
    if full:
        raise NotEmptyError(t("demo.not_empty", path=path, tables=", ".join(full)))


def _write_directory(db: Database, units: list[_Unit], cells: list[_Cell], leaders: list[_Leader],
                     plan: list[_Assignment], today: date, accounts: bool = True, tree: bool = True) -> None:
    """Units, cells, leaders, assignments and (with accounts) the demo users through the audited store functions;
    with tree, the parent links, the leaders' posts and the assignments' issuers too."""
    unit_by_code = {u.code: u for u in units}
    for u in units:
        raw = {"code": u.code, "name": u.name, "kind": u.kind, "valid_from": u.valid_from}
        if tree:
            raw["parent_id"] = unit_by_code[u.parent].id if u.parent else None
        u.id = directory.create_unit(db, SYSTEM, raw)
    for u in units:
        if u.successor:
            directory.merge_unit(db, SYSTEM, u.id, unit_by_code[u.successor].id, u.valid_to)
        elif u.valid_to:
            directory.update(db, SYSTEM, "units", u.id, {"valid_to": u.valid_to})
    cell_by_code = {c.code: c for c in cells}
    for c in cells:
        c.unit_id = unit_by_code[c.unit].id
        c.id = directory.create_cell(db, SYSTEM, {
            "code": c.code, "unit_id": c.unit_id, "name": c.name, "cell_type": c.cell_type,
            "meeting_day": c.meeting_day, "valid_from": _first_day(c.start_m),
            "valid_to": None if c.last_m is None else OLD_LAST_DAY})
    for c in cells:
        if c.successor:
            directory.update(db, SYSTEM, "cells", c.id, {"successor_id": cell_by_code[c.successor].id})
    for ldr in leaders:
        ldr.id = directory.create_leader(db, SYSTEM, {"code": ldr.code, "full_name": ldr.full_name,
                                                      "position": ldr.position, "grp": ldr.grp,
                                                      "active": ldr.active})
    leader_by_code = {ldr.code: ldr for ldr in leaders}
    cells_by_name = {(c.unit, c.name): c for c in cells}
    issued: list[tuple[int, int]] = []
    for a in plan:
        row_id = assignments.create(db, SYSTEM, {
            "leader_id": leader_by_code[a.leader].id, "unit_id": unit_by_code[a.unit].id,
            "cell_id": cells_by_name[(a.unit, a.cell)].id if a.cell else None,
            "decision_no": a.decision[0], "decision_date": a.decision[1], "valid_from": a.valid_from,
            "valid_to": a.valid_to, "required_per_quarter": a.required}, today=today)
        if a.issuer in unit_by_code:
            issued.append((unit_by_code[a.issuer].id, row_id))
    if tree:
        _write_org(db, units, leaders, issued, today)
    if not accounts:
        return
    taken = {r[0] for r in db.execute("select username from users")}
    for username, full_name, password, role, scope in DEMO_USERS:
        if username not in taken:
            users.create_user(db, SYSTEM, username, full_name, password, role,
                              [unit_by_code[code].id for code in scope if code in unit_by_code])


def _dated(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _write_org(db: Database, units: list[_Unit], leaders: list[_Leader], issued: list[tuple[int, int]],
               today: date) -> None:
    """The issuing bodies by date, the level groups, each leader's posts over time and the decisions' issuers."""
    by_code = {u.code: u for u in units}
    for code, body in _bodies(by_code):
        body_id = org.create_body(db, SYSTEM, {"unit_id": by_code[code].id, **body})
        if code in BODY_DOCUMENTS:
            org.save_body_document(db, SYSTEM, body_id, BODY_DOCUMENTS[code])
    # m008's tables: written as data (the posts helper's lib functions read them); the legacy groups are there.
    for order, (code, name, level) in enumerate(LEVEL_GROUPS, 5):
        db.execute("insert or ignore into leader_groups(code, name, level, sort_order) values (?, ?, ?, ?)",
                   [code, name, level, order])
    merger = PROVINCE[0] in by_code and today >= MERGER_DAY
    district = by_code[DISTRICT[0]].id
    posts = []
    for ldr in leaders:
        if ldr.code.startswith("TU"):  # a synthetic province leader of a scaled load: one open post
            posts.append((ldr.id, by_code[PROVINCE[0]].id if merger else district, ldr.position, ldr.grp, None, None))
            continue
        ended = OLD_LAST_DAY if merger else None
        if not ldr.active:
            ended = date(2024, 5, 31)  # retired when their assignment ended
        posts.append((ldr.id, district, ldr.position, ldr.grp, _dated(POST_START), _dated(ended)))
        after = POSTS_AFTER_MERGER.get(ldr.code) if merger and ldr.active else None
        if after:
            title, node, grp = after
            posts.append((ldr.id, by_code[node].id, title, grp, _dated(MERGER_DAY), None))
            # leaders.position / grp: the latest post, as lib.leaders keeps them
            db.execute("update leaders set position = ?, grp = ? where id = ?", [title, grp, ldr.id])
    # directory.create_leader gave each leader a first post open at both ends; the history below replaces it
    db.conn.executemany("delete from leader_posts where leader_id = ?", [(ldr.id,) for ldr in leaders])
    db.conn.executemany("insert into leader_posts(leader_id, unit_id, title, grp, valid_from, valid_to) "
                        "values (?, ?, ?, ?, ?, ?)", posts)
    db.conn.executemany("update assignments set issuer_unit_id = ? where id = ?", issued)


# What the bodies' reports cite first (branch format36): the provincial regulation on leaders attending cell meetings
# (DOMAIN.md) and the Central Organisation Commission's guidance; a date not known here is left out of the citation.
BODY_DOCUMENTS = {
    DISTRICT[0]: {"legal_basis": ["Quy định số 784-QĐ/TU, ngày 10-5-2016 của Ban Thường vụ Tỉnh ủy Trà Vinh",
                                  "Hướng dẫn số 12-HD/BTCTW của Ban Tổ chức Trung ương về nâng cao chất lượng "
                                  "sinh hoạt chi bộ"],
                  "upper_body": "Ban Thường vụ Tỉnh ủy Trà Vinh"},
    PROVINCE[0]: {"legal_basis": ["Hướng dẫn số 12-HD/BTCTW của Ban Tổ chức Trung ương về nâng cao chất lượng "
                                  "sinh hoạt chi bộ"]},
}


def _bodies(by_code: dict[str, _Unit]) -> list[tuple[str, dict]]:
    """The issuing bodies (36-HD/VPTW header rules): the district's until 30/6/2025, the province's and each new
    commune's from 1/7/2025."""
    out = [(DISTRICT[0], {
        "effective_from": POST_START, "upper_line": "ĐẢNG BỘ TỈNH TRÀ VINH", "committee": "HUYỆN ỦY CÀNG LONG",
        "board": "Ban Tổ chức Huyện ủy", "symbol_suffix": "HU", "place": "Càng Long",
        "signer_capacity": "T/M BAN THƯỜNG VỤ", "signer_title": "PHÓ BÍ THƯ",
        "recipients": ["- Ban Thường vụ Tỉnh ủy Trà Vinh (b/c),", "- Ban Tổ chức Tỉnh ủy (b/c),",
                       "- Các đồng chí Ủy viên Ban Thường vụ Huyện ủy,", "- Đảng ủy các xã, thị trấn,",
                       "- Lưu Văn phòng Huyện ủy."]})]
    if PROVINCE[0] not in by_code:
        return out
    # A provincial committee's documents carry its own name alone (no upper line: it answers to the Central
    # Committee directly).
    out.append((PROVINCE[0], {
        "effective_from": MERGER_DAY, "upper_line": None, "committee": "TỈNH ỦY VĨNH LONG",
        "board": "Ban Tổ chức Tỉnh ủy", "symbol_suffix": "TU", "place": "Vĩnh Long",
        "signer_capacity": "T/M BAN THƯỜNG VỤ", "signer_title": "PHÓ BÍ THƯ",
        "recipients": ["- Ban Tổ chức Trung ương (b/c),", "- Thường trực Tỉnh ủy,",
                       "- Các đồng chí Ủy viên Ban Thường vụ Tỉnh ủy,", "- Đảng ủy các xã, phường,",
                       "- Lưu Văn phòng Tỉnh ủy."]}))
    for code, name, _, _, _ in MERGERS:
        place = name.split(" ", 1)[1]
        out.append((code, {
            "effective_from": MERGER_DAY, "upper_line": "ĐẢNG BỘ TỈNH VĨNH LONG",
            "committee": f"ĐẢNG ỦY XÃ {place.upper()}", "board": "Ban Xây dựng Đảng Đảng ủy xã",
            "symbol_suffix": "ĐU",
            "place": place, "signer_capacity": "T/M BAN THƯỜNG VỤ", "signer_title": "BÍ THƯ",
            "recipients": ["- Ban Thường vụ Tỉnh ủy (b/c),", "- Ban Tổ chức Tỉnh ủy (b/c),",
                           "- Thường trực Đảng ủy,", "- Các chi bộ trực thuộc,", "- Lưu Văn phòng Đảng ủy."]}))
    return out


def _assignment_plan(units: list[_Unit], cells: list[_Cell], leaders: list[_Leader], synthetic: list[_Unit],
                     start: date, today: date, merger: bool, rng: random.Random) -> list[_Assignment]:
    """Decision 395's lines, the mid-term changes, the post-merger decisions (province and communes) and
    synthetic ones, each with the node that issued it."""
    codes = {u.code for u in units}
    merged_old = {old for _, _, _, olds, _ in MERGERS for old in olds} if merger else set()
    plan = []
    for leader, unit, cell, req, decision, vf, vt in ASSIGNMENTS:
        if decision[1] > today or unit not in codes:
            continue
        if unit in merged_old:
            vt = min(vt or OLD_LAST_DAY, OLD_LAST_DAY)
        if vt is not None and vt < vf:
            continue
        plan.append(_Assignment(leader, unit, cell, req, decision, vf, vt, issuer=DISTRICT[0]))
    if merger and MERGER_DECISION[1] <= today:
        for leader, unit, req in MERGER_ASSIGNMENTS:
            plan.append(_Assignment(leader, unit, None, req, MERGER_DECISION, MERGER_DAY, None, issuer=PROVINCE[0]))
    if merger and COMMUNE_DECISION_DAY <= today:
        # A cell of a commune's sub-committee is assigned under the sub-committee (the cell's own unit).
        cell_unit = {(c.unit if c.unit != SUB_COMMITTEE[0] else SUB_COMMITTEE[2], c.name): c.unit
                     for c in cells if c.first_m is not None}
        numbers = {code: n for n, (code, *_) in enumerate(MERGERS, 1)}
        for leader, commune, cell, req in COMMUNE_ASSIGNMENTS:
            decision = (f"{numbers[commune]:02d}-QĐ/ĐU", COMMUNE_DECISION_DAY)
            plan.append(_Assignment(leader, cell_unit[(commune, cell)], cell, req, decision, COMMUNE_DECISION_DAY,
                                    None, issuer=commune))
    syn_leaders = [ldr for ldr in leaders if ldr.code.startswith("TU")]
    issuer = PROVINCE[0] if merger else DISTRICT[0]
    for u in synthetic:
        for ldr in rng.sample(syn_leaders, min(len(syn_leaders), rng.choice((1, 2, 2)))):
            plan.append(_Assignment(ldr.code, u.code, None, rng.choice((1, 2)), ("01-QĐ/TU", start), start, None,
                                    issuer=issuer))
    return plan


@dataclass(slots=True)
class _Gen:
    """State of the meeting generator shared across quarters."""

    rng: random.Random
    today: date
    ratings: list
    cells: list
    leaders: dict
    units: dict
    next_meeting: int = 1
    next_weakness: int = 1
    iso: dict = field(default_factory=dict)
    pos: dict = field(default_factory=dict)

    def day(self, ordinal: int) -> str:
        s = self.iso.get(ordinal)
        if s is None:
            s = self.iso[ordinal] = date.fromordinal(ordinal).isoformat()
        return s


def _meeting(g: _Gen, i: int, c: _Cell, state: list, held: int, kind: int, off: bool) -> list:
    """One meeting row (without id) and its facts for the leader and weakness passes."""
    rng = g.rng
    total, exempt = state[i]
    if kind == EXTRA:
        exempt = min(exempt, total - 1)
    required = total - exempt
    rate = c.attendance + rng.gauss(0, 0.05) + (0.03 if kind == REVIEW else -0.05 if kind == EXTRA else 0.0)
    present = min(required, max(1, round(required * min(rate, 1.0))))
    absent = required - present
    unexcused = min(absent, int(absent * c.unexcused_share * 2 * rng.random() + 0.3)) if absent else 0
    duration = c.duration + rng.gauss(0, 12) + (20 if kind == THEMATIC else 35 if kind == REVIEW else
                                                -25 if kind == EXTRA else 0)
    duration = max(30, min(240, int(duration / 5) * 5))
    attendance = present / required
    if kind == EXTRA and rng.random() < 0.3:
        score = rating = None
        lead = edu = combat = 0
    else:
        s = c.quality + rng.gauss(0, 6) + (attendance - 0.9) * 60 - 3 * min(unexcused, 3)
        s -= max(0, 90 - duration) / 3 + (3 if off else 0) - (2 if kind == THEMATIC else 0)
        score = max(20, min(100, int(s)))
        rating = g.ratings[score]
        lead = int(score + rng.gauss(0, 8) >= 55)
        edu = int(score + rng.gauss(0, 8) >= 62)
        combat = int(score + rng.gauss(0, 8) >= 76)
    if kind == REGULAR:
        topics = "; ".join(rng.sample(REGULAR_TOPICS, 2))
    elif kind == THEMATIC:
        topics = rng.choice(THEMATIC_TOPICS)
    elif kind == EXTRA:
        topics = rng.choice(EXTRA_TOPICS)
    else:
        topics = REVIEW_TOPIC
    notes = None
    if off and rng.random() < 0.6:
        notes = rng.choice(OFF_DAY_NOTES)
    elif attendance < 0.75:
        notes = rng.choice(LOW_ATTENDANCE_NOTES)
    elif duration < 90 and rng.random() < 0.5:
        notes = SHORT_NOTE
    today = g.today.toordinal()
    entered = min(held + int(rng.random() * 6), today)
    clock = "00:05" if entered == today else f"{rng.randint(7, 17):02d}:{rng.randint(0, 59):02d}"
    created = f"{g.day(entered)}T{clock}:00"
    deleted = None
    if kind == EXTRA and rng.random() < 0.1:
        deleted = created  # entered twice by mistake and removed the same day
    author = "thuky" if c.unit in ("NHILONG", "DAIPHUOC", "NHILONG25") else "admin"
    row = [0, c.id, g.day(held), MTYPES[kind], total, exempt, present, absent - unexcused, unexcused, duration,
           score, rating, lead, edu, combat, topics, notes, author, created, created, deleted]
    # facts: held ordinal, cell index, kind, score, attendance, off-day, row
    return [held, i, kind, score, attendance, off, row]


def _quarter(g: _Gen, months: list[int], masks: dict[int, bytearray], state: list,
             plan: list[_Assignment], now_m: int) -> tuple[list, list, list]:
    """Generate one quarter's meetings, the leaders at them and the weaknesses noted."""
    rng, cells = g.rng, g.cells
    today = g.today.toordinal()
    recs, missed = [], []
    for m in months:
        year, month = m // 12, m % 12 + 1
        first = date(year, month, 1).toordinal()
        max_day = g.today.day if m == now_m else last_day(year, month)
        mask = masks[m]
        for i, c in enumerate(cells):
            if m < c.start_m or (c.last_m is not None and m > c.last_m):
                continue
            if m == c.start_m and c.predecessors:
                started = [state[g.pos[p.code]] for p in c.predecessors]
                state[i] = [sum(s[0] for s in started), sum(s[1] for s in started)]
            total, exempt = state[i]
            if rng.random() < 0.05:
                total = max(3, total + rng.choice((-1, 1, 1)))
            if rng.random() < 0.03:
                exempt = max(0, min(total // 3, exempt + rng.choice((-1, 1))))
            state[i] = [total, exempt]
            bits = mask[i]
            if not bits & REGULAR and m < now_m:
                missed.append((i, m))
            if not bits:
                continue
            if bits & REGULAR:
                fixed = scheduled_day(c.meeting_day, year, month)
                off = rng.random() < c.p_off * (2 if month == 2 else 1)
                day = fixed
                if off:
                    day = max(1, min(max_day, fixed + rng.choice((-5, -3, -2, -1, 1, 2, 3, 4, 7, 10))))
                recs.append(_meeting(g, i, c, state, first + day - 1, REGULAR, day != fixed))
            if bits & THEMATIC:
                recs.append(_meeting(g, i, c, state, first + rng.randint(1, max_day) - 1, THEMATIC, False))
            if bits & EXTRA:
                recs.append(_meeting(g, i, c, state, first + rng.randint(1, max_day) - 1, EXTRA, False))
            if bits & REVIEW:
                recs.append(_meeting(g, i, c, state, first + rng.randint(min(10, max_day), max_day) - 1,
                                     REVIEW, False))
    recs.sort(key=lambda r: (r[0], r[1], r[2]))
    by_unit: dict[int, list] = defaultdict(list)
    for r in recs:
        r[6][0] = g.next_meeting
        g.next_meeting += 1
        if r[2] != EXTRA:
            by_unit[cells[r[1]].unit_id].append(r)
    meetings = [tuple(r[6]) for r in recs]
    attended = _leaders_at(g, months, by_unit, plan)
    weaknesses = _weaknesses(g, recs, attended, missed, months, now_m, today)
    return meetings, [a[:4] for a in attended], weaknesses


def _leaders_at(g: _Gen, months: list[int], by_unit: dict, plan: list[_Assignment]) -> list[tuple]:
    """Pick the meetings each assigned leader attends this quarter, with report dates and remarks."""
    rng, today = g.rng, g.today.toordinal()
    q_start = _first_day(months[0]).toordinal()
    q_end = min(today, _first_day(months[-1] + 1).toordinal() - 1)
    taken: set[tuple[int, int]] = set()
    rows = []
    for a in plan:
        lo = max(q_start, a.valid_from.toordinal())
        hi = min(q_end, a.valid_to.toordinal() if a.valid_to else q_end)
        if lo > hi:
            continue
        ldr = g.leaders[a.leader]
        unit_id = g.units[a.unit].id
        cell_id = a.cell_id if a.cell else None
        pool = [r for r in by_unit.get(unit_id, ()) if lo <= r[0] <= hi and r[6][20] is None
                and (cell_id is None or r[6][1] == cell_id)]
        if not pool:
            continue
        months_valid = sum(1 for m in months if _first_day(m).toordinal() <= hi
                           and _first_day(m + 1).toordinal() - 1 >= lo)
        wanted = a.required * months_valid / 3 * ldr.diligence
        k = min(len(pool), int(wanted + rng.random()))
        for r in rng.sample(pool, k):
            key = (r[6][0], ldr.id)
            if key in taken:
                continue
            taken.add(key)
            held = r[0]
            roll = rng.random()
            if roll < ldr.p_missing:
                submitted = None
            else:
                delay = rng.randint(8, 35) if roll < ldr.p_missing + ldr.p_late else rng.randint(0, 6)
                submitted = g.day(held + delay) if held + delay <= today else None
            remarks = None
            if rng.random() < 0.2 and r[3] is not None:
                remarks = rng.choice(REMARKS_GOOD if r[3] >= 80 else REMARKS_POOR)
            rows.append((r[6][0], ldr.id, submitted, remarks, r, ldr))
    return rows


def _status(g: _Gen, noted: int, category: str) -> tuple:
    """Status, due date, resolution date and text for a weakness noted on a day: old ones mostly resolved."""
    rng, today = g.rng, g.today.toordinal()
    due = noted + rng.choice((30, 45, 60, 90))
    age = today - noted
    roll = rng.random()
    p_resolved = 0.85 if age > 120 else 0.5 if age > 30 else 0.1
    if roll < p_resolved:
        done = min(today, noted + rng.randint(7, max(8, min(age, 120))))
        return "resolved", due, g.day(done), RESOLUTIONS.get(category, DEFAULT_RESOLUTION)
    status = "in_progress" if rng.random() < 0.5 else "open"
    return status, due, None, None


def _weakness(g: _Gen, unit_id: int, cell_id: int | None, meeting_id: int | None, category: str, text: str,
              noted: int, noted_by: int | None, severity: str) -> tuple:
    status, due, resolved, resolution = _status(g, noted, category)
    row = (g.next_weakness, unit_id, cell_id, meeting_id, category, text, g.day(noted), noted_by, severity, status,
           g.day(due), resolved, resolution, "admin", None)
    g.next_weakness += 1
    return row


def _weaknesses(g: _Gen, recs: list, attended: list, missed: list, months: list[int], now_m: int,
                today: int) -> list[tuple]:
    """Weaknesses the committee notes: the five of the seed article plus data-driven ones."""
    rng, cells = g.rng, g.cells
    seed = list(WEAKNESS_TEXT)[:5]
    rows = []
    for meeting_id, leader_id, submitted, _, r, ldr in attended:
        c = cells[r[1]]
        if r[3] is not None and r[3] < 80 and rng.random() < 0.4:
            category = rng.choice(seed)
            text = rng.choice(WEAKNESS_TEXT[category]).format(place=_place(c.name))
            rows.append(_weakness(g, c.unit_id, c.id, meeting_id, category, text, r[0], leader_id,
                                  "high" if r[3] < 50 else "medium"))
        if submitted is None and r[0] + 30 <= today and rng.random() < 0.4:
            text = WEAKNESS_TEXT["report_missing"][0].format(leader=ldr.full_name, day=_dmy(date.fromordinal(r[0])),
                                                             place=_place(c.name))
            rows.append(_weakness(g, c.unit_id, c.id, meeting_id, "report_missing", text,
                                  r[0] + 30 + rng.randint(0, 5) if r[0] + 35 <= today else today, None, "low"))
    for r in recs:
        c, row = cells[r[1]], r[6]
        if row[20] is not None:
            continue
        if r[4] < 0.72 and rng.random() < 0.2 and r[0] + 3 <= today:
            text = WEAKNESS_TEXT["attendance_low"][0].format(place=_place(c.name), rate=f"{r[4]:.0%}")
            rows.append(_weakness(g, c.unit_id, c.id, row[0], "attendance_low", text, r[0] + rng.randint(3, 10)
                                  if r[0] + 10 <= today else today, None, "high" if r[4] < 0.6 else "medium"))
        elif r[5] and rng.random() < 0.06:
            text = WEAKNESS_TEXT["off_schedule"][0].format(place=_place(c.name), day=_dmy(date.fromordinal(r[0])),
                                                           fixed=c.meeting_day)
            rows.append(_weakness(g, c.unit_id, c.id, row[0], "off_schedule", text, r[0], None, "low"))
    for i, m in missed:
        if rng.random() < 0.35:
            noted = _first_day(m + 1).toordinal() + rng.randint(2, 10)
            if noted <= today:
                c = cells[i]
                text = WEAKNESS_TEXT["not_held"][0].format(place=_place(c.name), month=f"{m % 12 + 1:02d}/{m // 12}")
                rows.append(_weakness(g, c.unit_id, c.id, None, "not_held", text, noted, None, "high"))
    if months[-1] < now_m:
        review = _first_day(months[-1] + 1).toordinal()
        for u in g.units.values():
            valid = (u.valid_from is None or u.valid_from.toordinal() < review) and \
                    (u.valid_to is None or u.valid_to.toordinal() >= review - 1)
            if valid and u.id and u.kind not in ("tinh", "huyen") and rng.random() < 0.2:
                noted = review + rng.randint(5, 20)
                if noted <= today:
                    category = rng.choice(seed)
                    text = rng.choice(WEAKNESS_TEXT[category]).format(place=_party_body(u.name))
                    rows.append(_weakness(g, u.id, None, None, category, text, noted, None, "medium"))
    return rows


# ---- members and attendance marks (issue 12): one commune's cells from the merger on -------------------------

MEMBERS_UNIT = "NHILONG25"
EXEMPT_REASONS = ("Tuổi cao, sức yếu", "Bệnh nặng, điều trị dài ngày", "Đi làm ăn xa có xác nhận")
MARK_EXCUSE = ("Ốm", "Đi công tác", "Việc gia đình", "Đi làm ăn xa")

MEMBER_MEETINGS_SQL = """
SELECT m.id, m.cell_id, m.held_on, m.members_total, m.members_exempt, m.present, m.absent_excused,
       m.absent_unexcused
FROM meetings m JOIN cells c ON c.id = m.cell_id JOIN units u ON u.id = c.unit_id
WHERE u.code = ? AND m.held_on >= ? AND m.deleted_at IS NULL
ORDER BY m.cell_id, m.held_on, m.id
"""

# A meeting's counts as its marks give them (members listed, exempt, present, excused, unexcused).
DERIVE_COUNTS_SQL = """
UPDATE meetings SET
  members_total = (SELECT count(*) FROM attendance_marks a WHERE a.meeting_id = meetings.id),
  members_exempt = (SELECT count(*) FROM attendance_marks a WHERE a.meeting_id = meetings.id AND status = 'exempt'),
  present = (SELECT count(*) FROM attendance_marks a WHERE a.meeting_id = meetings.id AND status = 'present'),
  absent_excused = (SELECT count(*) FROM attendance_marks a WHERE a.meeting_id = meetings.id AND status = 'excused'),
  absent_unexcused = (SELECT count(*) FROM attendance_marks a WHERE a.meeting_id = meetings.id
                      AND status = 'unexcused')
WHERE id IN (SELECT DISTINCT meeting_id FROM attendance_marks)
"""


@dataclass(slots=True)
class _Member:
    id: int
    code: str
    name: str
    admitted: str
    official: str | None
    stays: bool = False  # kept in the cell, never exempt: the members the flag scenarios are written on
    cells: list = field(default_factory=list)  # [cell_id, valid_from, valid_to]
    exempt: list = field(default_factory=list)  # [valid_from, valid_to, reason, decision]


def _minus(day: str, days: int = 1) -> str:
    return (date.fromisoformat(day) - timedelta(days=days)).isoformat()


def _in_cell(m: _Member, cell_id: int, day: str) -> bool:
    return any(c == cell_id and f <= day and (t_ is None or t_ >= day) for c, f, t_ in m.cells)


def _exempt_on(m: _Member, day: str) -> bool:
    return any(f <= day and (t_ is None or t_ >= day) for f, t_, *_ in m.exempt)


def _demo_members(db: Database, rng: random.Random) -> dict[str, int]:
    """Members of one commune's cells from 1/7/2025 following each meeting's counts, and a mark per member per
    meeting whose counts equal the meeting's (rewritten from the marks, so they cannot disagree)."""
    start = MERGER_DAY.isoformat()
    rows = [dict(r) for r in db.query(MEMBER_MEETINGS_SQL, [MEMBERS_UNIT, start])]
    if not rows:
        return {"members": 0, "attendance_marks": 0}
    by_cell: dict[int, list[dict]] = defaultdict(list)
    for r in rows:
        by_cell[r["cell_id"]].append(r)
    people: list[_Member] = []

    def new_member(cell_id: int, since: str, stays: bool = False) -> _Member:
        year = rng.randint(1975, 2024)
        admitted = date(year, rng.randint(1, 12), rng.randint(1, 28))
        official = admitted.replace(year=year + 1) if year < 2024 or rng.random() < 0.3 else None
        n = len(people) + 1
        m = _Member(n, f"8{rng.randint(10, 99)}{n:06d}", _person(rng), admitted.isoformat(),
                    official.isoformat() if official else None, stays)
        if stays:
            m.official = m.official or admitted.replace(year=year + 1).isoformat()
        m.cells.append([cell_id, since, None])
        people.append(m)
        return m

    # The scenarios the flags page shows (issue 12): a member absent without reason in three months, one absent with
    # reason four meetings in a row — each on a cell whose meetings have such absences to give.
    cells = sorted(by_cell)
    months_with = {c: sorted({r["held_on"][:7] for r in by_cell[c] if r["absent_unexcused"]}) for c in cells}
    art8_cell = next((c for c in cells if len(months_with[c]) >= 3), None)
    streak_cell, streak_at = None, None
    for c in cells:
        run = 0
        for k, r in enumerate(by_cell[c]):
            run = run + 1 if r["absent_excused"] else 0
            if run == 4 and c != art8_cell:
                streak_cell, streak_at = c, k - 3
                break
        if streak_cell is not None:
            break
    transfer_day = "2025-09-15"
    transfer = tuple(c for c in cells if c not in (art8_cell, streak_cell))[:2]

    marks: list[tuple] = []
    roster: dict[int, list[_Member]] = {}
    for c in cells:
        first = by_cell[c][0]
        members = [new_member(c, start, stays=k < 2) for k in range(first["members_total"])]
        roster[c] = members
        for m in members[-first["members_exempt"]:] if first["members_exempt"] else []:
            m.exempt.append([start, None, rng.choice(EXEMPT_REASONS), f"{rng.randint(10, 99)}-QĐ/ĐU"])
    # one transfer mid-September between two cells: the old cell takes in a newly admitted member the same day
    # and the new cell sees one member move out of the commune, so each cell's count stays as its meetings say
    if len(transfer) == 2:
        old, new = transfer
        mover = next(m for m in roster[old] if not m.stays and not m.exempt)
        mover.cells[0][2] = _minus(transfer_day)
        mover.cells.append([new, transfer_day, None])
        roster[new].append(mover)
        roster[old].append(new_member(old, transfer_day))
        leaver = next(m for m in roster[new] if m is not mover and not m.stays and not m.exempt)
        leaver.cells[0][2] = _minus(transfer_day)
    for c in cells:
        art8_months = set(months_with[c][:3]) if c == art8_cell else set()
        streak = {r["id"] for r in by_cell[c][streak_at:streak_at + 4]} if c == streak_cell else set()
        previous = start
        for r in by_cell[c]:
            day = r["held_on"]
            listed = [m for m in roster[c] if _in_cell(m, c, day)]
            # the meeting's counts changed since the last one: members join or leave, exemptions begin or end
            while len(listed) < r["members_total"]:
                m = new_member(c, max(_minus(previous, -1), _minus(day, 3)))  # after the last meeting
                roster[c].append(m)
                listed.append(m)
            while len(listed) > r["members_total"]:
                m = next(m for m in reversed(listed) if not m.stays and not _exempt_on(m, day))
                m.cells[-1][2] = _minus(day)
                listed.remove(m)
            exempt = [m for m in listed if _exempt_on(m, day)]
            while len(exempt) < r["members_exempt"]:
                m = next(m for m in listed if not m.stays and not _exempt_on(m, day) and not m.exempt)
                m.exempt.append([max(_minus(previous, -1), _minus(day, 3)), None, rng.choice(EXEMPT_REASONS),
                                 f"{rng.randint(10, 99)}-QĐ/ĐU"])
                exempt.append(m)
            while len(exempt) > r["members_exempt"]:
                m = exempt.pop()
                m.exempt[-1][1] = _minus(day)
            required = [m for m in listed if m not in exempt]
            pinned_unexcused = [required[0]] if day[:7] in art8_months and r["absent_unexcused"] else []
            pinned_excused = [required[1]] if r["id"] in streak else []
            others = [m for m in required if not m.stays]
            rng.shuffle(others)
            # absence without reason is a habit of a few, as the minutes books show: they are picked first
            by_habit = sorted(others, key=lambda m: m.id % 7 != 0)
            unexcused = pinned_unexcused + by_habit[:r["absent_unexcused"] - len(pinned_unexcused)]
            others = [m for m in others if m not in unexcused]
            excused = pinned_excused + others[:r["absent_excused"] - len(pinned_excused)]
            status = {m.id: "present" for m in required}
            status.update({m.id: "unexcused" for m in unexcused})
            status.update({m.id: "excused" for m in excused})
            status.update({m.id: "exempt" for m in exempt})
            for m in listed:
                reason = rng.choice(MARK_EXCUSE) if status[m.id] == "excused" else None
                marks.append((r["id"], m.id, status[m.id], reason))
            previous = day
    db.conn.executemany("INSERT INTO members (id, code, full_name, admitted_on, official_on, created_at) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        [(m.id, m.code, m.name, m.admitted, m.official, f"{start}T08:00:00") for m in people])
    db.conn.executemany("INSERT INTO member_cells (member_id, cell_id, valid_from, valid_to, note) "
                        "VALUES (?, ?, ?, ?, ?)",
                        [(m.id, c, f, t_, "Chuyển sinh hoạt trong xã" if k and len(m.cells) > 1 else None)
                         for m in people for k, (c, f, t_) in enumerate(m.cells)])
    db.conn.executemany("INSERT INTO member_exemptions (member_id, valid_from, valid_to, reason, decision_no) "
                        "VALUES (?, ?, ?, ?, ?)", [(m.id, *e) for m in people for e in m.exempt])
    db.conn.executemany("INSERT INTO attendance_marks (meeting_id, member_id, status, reason) VALUES (?, ?, ?, ?)",
                        marks)
    db.execute(DERIVE_COUNTS_SQL)
    return {"members": len(people), "attendance_marks": len(marks)}


def _insert_rows(db: Database, meetings: list, leaders: list, weaknesses: list) -> None:
    # A bigger page cache keeps the meeting indexes in memory while a chunk goes in.
    db.execute("PRAGMA cache_size = -65536")
    db.conn.executemany(INSERT_MEETINGS_SQL, meetings)
    db.conn.executemany(INSERT_LEADERS_SQL, leaders)
    db.conn.executemany(INSERT_WEAKNESSES_SQL, weaknesses)


HOME_PROVINCE = "province"
HOME_COMMUNE = "commune"


def _home_code(home: str | tuple[str, str] | None, units: list[_Unit], merger: bool) -> str:
    """The code of the home node asked for, or a refusal naming --home: a new commune, or the root."""
    if home is None or home == HOME_PROVINCE:
        return units[0].code  # the province root (before the merger, the district)
    kind, code = home if isinstance(home, tuple) and len(home) == 2 else (None, None)
    if kind != HOME_COMMUNE or not code:
        raise ValueError(t("demo_reorg.home_usage"))
    by_code = {u.code: u for u in units}
    communes = [u.code for u in units if u.kind in ("xa", "phuong") and u.valid_to is None and u.parent
                and by_code[u.parent].kind == "tinh"]
    shown = ", ".join(communes[:8]) + (", …" if len(communes) > 8 else "") or "–"
    unit = by_code.get(code)
    if unit is None:
        raise ValueError(t("demo_reorg.home_unknown", code=code, codes=shown))
    if code not in communes:
        raise ValueError(t("demo_reorg.home_not_commune", code=code, name=unit.name, codes=shown))
    return code


def load(path: str | Path, *, meetings: int | None = None, seed: int = 42, today: date | None = None,
         accounts: bool = True, home: str | tuple[str, str] | None = None, tree: bool = True) -> dict:
    """Load the Càng Long demo (or, with meetings=N, a scaled one of N meetings) into an empty database.

    home: "province" (the default: the province root is the home node) or ("commune", CODE) for one of the new
    communes; refused (ValueError naming --home) before anything is written. tree=False writes the forest of
    communes the versions before the organisation tree wrote (no parents, bodies, posts or home); so does a
    database whose schema has no tree yet. accounts=False leaves out the demo users (their passwords are published
    in the README): the setup page.
    """
    today = today or date.today()
    if meetings is not None and meetings < 0:
        raise ValueError(t("demo.errors.negative_meetings", value=meetings))
    dir_rng = random.Random(f"directory:{seed}")
    merger = today >= MERGER_DAY
    units, cells = _real_directory(dir_rng, merger)
    extra = _cells_target(meetings, sum(1 for c in cells if c.last_m is None))
    syn_units, syn_cells = _synthetic_directory(dir_rng, extra, units[0].code) if extra else ([], [])
    units += syn_units
    cells += syn_cells
    home_code = _home_code(home, units, merger)
    path = dbm.init(path)
    with dbm.read(path) as db:
        _ensure_empty(db, path)
        ratings = [rating_for_score(s, settings.thresholds(db)).value for s in range(101)]
        # A schema before the tree (a migration test writes the shipped shape) gets the forest.
        tree = tree and "parent_id" in db["units"].columns_dict and db["leader_posts"].exists()
    if not tree:
        for u in units:
            u.parent = None
        units = [u for u in units if u.kind not in ("tinh", "huyen", "dang_bo_bo_phan")]
        for c in cells:
            if c.unit == SUB_COMMITTEE[0]:
                c.unit = SUB_COMMITTEE[2]
    leaders = [_leader(dir_rng, *row) for row in LEADERS]
    for ldr in leaders:
        ldr.active = ldr.code not in RETIRED_LEADERS
    n_syn_leaders = -(-len(syn_units) * 3 // 5)  # each synthetic leader oversees two or three communes
    for n in range(1, n_syn_leaders + 1):
        position, grp = dir_rng.choice(SYNTHETIC_POSITIONS)
        leaders.append(_leader(dir_rng, f"TU{n:03d}", _person(dir_rng), position, grp))

    masks = _schedule(cells, today, meetings, random.Random(f"schedule:{seed}"))
    now_m = _month(today)
    first_m = min(masks) if masks else now_m
    for i, c in enumerate(cells):
        c.start_m = max(first_m, c.first_m) if c.first_m is not None else first_m
        if c.last_m is not None:
            c.start_m = min(c.start_m, c.last_m)
        elif c.start_m == first_m and masks and masks[first_m][i] == 0 and meetings is not None \
                and c.first_m is None:
            # The earliest month may be trimmed to hit the count exactly: a cell left without a
            # meeting there enters the system a month later rather than showing a false gap.
            c.start_m = min(first_m + 1, now_m)
    plan = _assignment_plan(units, cells, leaders, syn_units, _first_day(first_m), today, merger,
                            random.Random(f"assignments:{seed}"))

    with dbm.write(path) as db:
        _write_directory(db, units, cells, leaders, plan, today, accounts, tree)
        if tree:
            org.set_home(db, SYSTEM, home_code)
    cell_ids = {(c.unit, c.name): c.id for c in cells}
    for a in plan:
        a.cell_id = cell_ids[(a.unit, a.cell)] if a.cell else None

    g = _Gen(rng=random.Random(f"meetings:{seed}"), today=today, ratings=ratings, cells=cells,
             leaders={ldr.code: ldr for ldr in leaders}, units={u.code: u for u in units},
             pos={c.code: i for i, c in enumerate(cells)})
    state = [[c.members, c.exempt] for c in cells]
    pending: tuple[list, list, list] = ([], [], [])
    if masks:
        for q in range(first_m - first_m % 3, now_m + 1, 3):
            months = [m for m in range(q, q + 3) if first_m <= m <= now_m]
            for part, rows in zip(pending, _quarter(g, months, masks, state, plan, now_m), strict=True):
                part.extend(rows)
            if len(pending[0]) >= CHUNK_MEETINGS:
                with dbm.write(path) as db:
                    _insert_rows(db, *pending)
                pending = ([], [], [])
    with dbm.write(path) as db:
        _insert_rows(db, *pending)
        marked = _demo_members(db, random.Random(f"members:{seed}")) if db["members"].exists() else {}
        counts = {name: db.execute(f"select count(*) from {name}").fetchone()[0]
                  for name in (*DATA_TABLES, "users")}
        counts.update(marked)
        audit.record(db, SYSTEM, "demo", None, None, None,
                     {"seed": seed, "today": today.isoformat(), "meetings_requested": meetings, **counts})
    return counts
