"""The invented world of the demo: four organizations, one per sector, their
departments and staff, five petitioners and the matters each organization receives.

Every person here is invented; ID numbers are generated with valid checksums.
"""

from __future__ import annotations

from typing import Any

from stdnum.cn import ric

DEMO_PASSWORD = "xinfang-demo-2026"

TENANTS: list[dict[str, Any]] = [
    {
        "slug": "north-heating",
        "name": "北城热力集团",
        "plugins": ["enterprise_logistics"],
        "departments": [
            ("heating", "供热服务部", "office"),
            ("billing", "收费管理部", "office"),
            ("water", "供水服务部", "office"),
            ("petition", "信访接待室", "office"),
        ],
        "region": "110105",
    },
    {
        "slug": "district-court",
        "name": "朝阳区人民法院",
        "plugins": ["court"],
        "departments": [
            ("filing", "立案庭", "tribunal"),
            ("execution", "执行局", "division"),
            ("civil1", "民事审判一庭", "tribunal"),
            ("petition", "诉讼服务中心信访室", "office"),
        ],
        "region": "110105",
    },
    {
        "slug": "police-branch",
        "name": "溪湖公安分局",
        "plugins": ["police"],
        "departments": [
            ("inspection", "督察大队", "team"),
            ("station-hx", "河西派出所", "station"),
            ("petition", "信访科", "office"),
            ("traffic", "交警大队", "team"),
        ],
        "region": "210503",
    },
    {
        "slug": "petition-bureau",
        "name": "区信访局",
        "plugins": [],
        "departments": [
            ("reception", "接待科", "office"),
            ("supervision", "督查督办科", "office"),
            ("letters", "来信办理科", "office"),
        ],
        "region": "110105",
    },
]

STAFF = [
    ("admin", "系统管理员", ["admin"], None),
    ("clerk", "王接待", ["clerk"], "petition"),
    ("leader1", "李局长", ["leader"], None),
    ("leader2", "赵副局长", ["leader"], None),
    ("handler", "陈承办", ["handler"], None),
    ("supervisor", "孙督办", ["supervisor"], None),
]

PEOPLE = [
    ("张建国", "19650312", "13800138001"),
    ("李秀英", "19720705", "13900139002"),
    ("王磊", "19880118", "13700137003"),
    ("刘芳", "19910923", "15000150004"),
    ("陈志强", "19580430", "18600186005"),
]

CAUSES: dict[str, list[dict[str, Any]]] = {
    "north-heating": [
        {
            "cause": "家中暖气温度只有 15 度，老人受不了",
            "demand": "尽快维修，保证室温达标",
            "category": "heating",
            "locality": "朝阳区幸福小区 3 号楼",
            "form": {"estate": "幸福小区", "building": "3号楼", "room": "1201", "indoor_temp": 15},
        },
        {
            "cause": "本月水费比上月高出一倍，怀疑水表故障",
            "demand": "核查水表并退还多收费用",
            "category": "water",
            "locality": "朝阳区幸福小区 5 号楼",
            "form": {"estate": "幸福小区", "building": "5号楼", "meter_number": "WM-100234"},
        },
        {
            "cause": "小区 3 号楼整栋楼暖气不热",
            "demand": "集中排查管网",
            "category": "heating",
            "locality": "朝阳区幸福小区 3 号楼",
            "form": {"estate": "幸福小区", "building": "3号楼"},
            "headcount": 8,
            "reps": 3,
        },
    ],
    "district-court": [
        {
            "cause": "判决生效一年多仍未执行到位",
            "demand": "督促执行",
            "category": "execution",
            "locality": "朝阳区",
            "form": {"case_number": "(2024)京0105执1234号", "seeks": "complaint"},
        },
        {
            "cause": "对二审判决不服，认为事实认定错误",
            "demand": "申请再审",
            "category": "retrial",
            "locality": "朝阳区",
            # 诉访分离: asks to change a final judgment → redirected to 申请再审.
            "form": {"case_number": "(2023)京03民终5678号", "seeks": "change_judgment"},
        },
    ],
    "police-branch": [
        {
            "cause": "报警后出警民警态度恶劣",
            "demand": "调查处理",
            "category": "officer_conduct",
            "legal_category": "accusation",
            "purpose": "accusation",
            "locality": "溪湖区河西街道",
            "accused_department": "station-hx",
            "accused_description": "河西派出所出警民警（警号 012345）",
            "form": {"officer_badge": "012345", "officer_unit": "station-hx"},
        },
        {
            "cause": "户口迁移手续办理多次未果",
            "demand": "尽快办理",
            "category": "household",
            "locality": "溪湖区",
            "form": {"station": "station-hx"},
        },
    ],
    "petition-bureau": [
        {
            "cause": "小区供暖不达标，多次反映无果",
            "demand": "协调热力公司解决",
            "category": "general",
            "locality": "朝阳区幸福小区",
        },
        {
            "cause": "建议在社区增设老年食堂",
            "demand": "",
            "category": "general",
            "purpose": "suggestion",
            "legal_category": "suggestion",
            "locality": "朝阳区",
        },
        {
            "cause": "拆迁补偿款迟迟未到位",
            "demand": "落实补偿",
            "category": "general",
            "locality": "朝阳区东坝乡",
            "headcount": 6,
            "reps": 2,
        },
    ],
}


def demo_id_number(region: str, birth: str, seq: int) -> str:
    body = f"{region}{birth}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")  # stdnum wants a placeholder digit
