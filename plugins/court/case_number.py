"""Court case numbers (案号): parsing, validation and routing to a court division.

Format from 最高人民法院《关于人民法院案件案号的若干规定》(in force 2016-01-01), Art 3:
"(" + 收案年度 + ")" + 法院代字 + 类型代字 + 案件编号 + "号", e.g. ``(2024)京0105民初12345号``.

- 法院代字: ``最高法`` for the Supreme People's Court, otherwise the province abbreviation
  followed by no digits (high court), 2 digits (intermediate court, incl. special courts
  such as 京73) or 4 digits (basic court).
- 类型代字: from the attached 《人民法院案件类型及其代字标准》 (subset below).

Case numbers are public (printed on judgments), so error messages may echo them.
Pure module: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Literal

from core.plugin_api import InvalidInput

__all__ = [
    "CASE_TYPES",
    "PROVINCES",
    "CaseCategory",
    "CaseNumber",
    "CaseStage",
    "CourtLevel",
    "Division",
    "parse_case_number",
    "route_division",
]

CaseCategory = Literal[
    "civil", "criminal", "administrative", "execution", "state_compensation", "other"
]
CaseStage = Literal[
    "first_instance",
    "appeal",
    "retrial_review",
    "retrial",
    "execution",
    "execution_objection",
    "execution_review",
    "preservation",
    "other",
]
CourtLevel = Literal["supreme", "high", "intermediate", "basic"]
Division = Literal["filing", "execution", "trial"]

EXAMPLE = "(2024)京0105民初12345号"
FIRST_YEAR = 1990
SUPREME_COURT = "最高法"
_MAX_SEQUENCE_DIGITS = 8  # 刑事复核 numbers are fixed at 8 digits, the longest in use

# 法院代字 of the 31 provincial high courts and the 兵团 branch of the Xinjiang high court.
# Court codes use 内 for Inner Mongolia and 黔 for Guizhou (not the vehicle-plate 蒙/贵).
PROVINCES: dict[str, str] = {
    "京": "北京市",
    "津": "天津市",
    "沪": "上海市",
    "渝": "重庆市",
    "冀": "河北省",
    "豫": "河南省",
    "云": "云南省",
    "辽": "辽宁省",
    "黑": "黑龙江省",
    "湘": "湖南省",
    "皖": "安徽省",
    "鲁": "山东省",
    "新": "新疆维吾尔自治区",
    "苏": "江苏省",
    "浙": "浙江省",
    "赣": "江西省",
    "鄂": "湖北省",
    "桂": "广西壮族自治区",
    "甘": "甘肃省",
    "晋": "山西省",
    "内": "内蒙古自治区",
    "陕": "陕西省",
    "吉": "吉林省",
    "闽": "福建省",
    "黔": "贵州省",
    "粤": "广东省",
    "青": "青海省",
    "藏": "西藏自治区",
    "川": "四川省",
    "宁": "宁夏回族自治区",
    "琼": "海南省",
    "兵": "新疆生产建设兵团",
}
# Common misspellings people copy from licence plates; folded to the official code.
_PROVINCE_ALIASES = {"蒙": "内", "贵": "黔"}

# 类型代字 → (category, stage).
CASE_TYPES: dict[str, tuple[CaseCategory, CaseStage]] = {
    # 民事
    "民初": ("civil", "first_instance"),
    "民终": ("civil", "appeal"),
    "民申": ("civil", "retrial_review"),  # 申请再审审查
    "民监": ("civil", "retrial_review"),  # 依职权再审审查
    "民抗": ("civil", "retrial_review"),  # 抗诉再审审查
    "民再": ("civil", "retrial"),
    "民撤": ("civil", "first_instance"),  # 第三人撤销之诉
    "民特": ("civil", "other"),  # 特别程序
    "民特监": ("civil", "retrial_review"),
    "民催": ("civil", "other"),  # 公示催告
    "民督": ("civil", "other"),  # 督促程序
    "民督监": ("civil", "retrial_review"),
    "民辖": ("civil", "other"),
    "民辖终": ("civil", "appeal"),
    "民辖监": ("civil", "retrial_review"),
    "民他": ("civil", "other"),
    "民请": ("civil", "other"),
    "知民初": ("civil", "first_instance"),  # 最高法知识产权法庭 (2019)
    "知民终": ("civil", "appeal"),
    # 刑事
    "刑初": ("criminal", "first_instance"),
    "刑终": ("criminal", "appeal"),
    "刑申": ("criminal", "retrial_review"),  # 申诉审查
    "刑抗": ("criminal", "retrial_review"),
    "刑再": ("criminal", "retrial"),
    "刑核": ("criminal", "other"),  # 死刑复核 etc.
    "刑更": ("criminal", "other"),  # 减刑、假释
    "刑医": ("criminal", "other"),  # 强制医疗
    "刑没": ("criminal", "other"),  # 违法所得没收
    "刑辖": ("criminal", "other"),
    "刑他": ("criminal", "other"),
    "刑请": ("criminal", "other"),
    # 行政
    "行初": ("administrative", "first_instance"),
    "行终": ("administrative", "appeal"),
    "行申": ("administrative", "retrial_review"),
    "行监": ("administrative", "retrial_review"),
    "行抗": ("administrative", "retrial_review"),
    "行再": ("administrative", "retrial"),
    "行审": ("administrative", "other"),  # 非诉行政行为申请执行审查
    "行审复": ("administrative", "other"),
    "行辖": ("administrative", "other"),
    "行辖终": ("administrative", "appeal"),
    "行赔初": ("administrative", "first_instance"),  # 行政赔偿
    "行赔终": ("administrative", "appeal"),
    "行赔申": ("administrative", "retrial_review"),
    "行赔再": ("administrative", "retrial"),
    "行他": ("administrative", "other"),
    "知行初": ("administrative", "first_instance"),
    "知行终": ("administrative", "appeal"),
    # 国家赔偿
    "法赔": ("state_compensation", "first_instance"),  # 法院作为赔偿义务机关
    "委赔": ("state_compensation", "other"),  # 赔偿委员会审理
    "委赔监": ("state_compensation", "retrial_review"),
    "委赔提": ("state_compensation", "retrial"),
    "委赔再": ("state_compensation", "retrial"),
    "赔": ("state_compensation", "other"),  # shortened form still seen in older files
    # 执行
    "执": ("execution", "execution"),  # 首次执行
    "执恢": ("execution", "execution"),  # 恢复执行
    "执保": ("execution", "preservation"),  # 财产保全执行
    "执异": ("execution", "execution_objection"),
    "执复": ("execution", "execution_review"),
    "执监": ("execution", "execution_review"),
    "执协": ("execution", "other"),
    "执他": ("execution", "other"),
    "执请": ("execution", "other"),
    # 非诉保全审查 (诉前/仲裁前)
    "财保": ("other", "preservation"),
    "行保": ("other", "preservation"),  # 行为保全
    "证保": ("other", "preservation"),
    # 破产、强制清算
    "破申": ("civil", "other"),
    "破": ("civil", "other"),
    "破终": ("civil", "appeal"),
    "破监": ("civil", "retrial_review"),
    "强清申": ("civil", "other"),
    "强清": ("civil", "other"),
    "强清终": ("civil", "appeal"),
    # 司法救助、司法制裁
    "司救": ("other", "other"),
    "司救刑": ("other", "other"),
    "司救民": ("other", "other"),
    "司救行": ("other", "other"),
    "司救赔": ("other", "other"),
    "司救执": ("other", "other"),
    "司救访": ("other", "other"),
    "司救他": ("other", "other"),
    "司惩": ("other", "other"),
    "司惩复": ("other", "other"),
}


@dataclass(frozen=True)
class CaseNumber:
    """A parsed, valid case number. ``text`` is the canonical spelling."""

    text: str
    year: int
    court_code: str  # "京0105", "京01", "京", "最高法"
    province: str  # "北京市"; "" for the Supreme People's Court
    case_type: str  # 类型代字, e.g. "民初"
    sequence: int
    category: CaseCategory
    stage: CaseStage

    @property
    def court_level(self) -> CourtLevel:
        """Supreme, high (no digits), intermediate (2 digits) or basic (4 digits)."""
        if self.court_code == SUPREME_COURT:
            return "supreme"
        if len(self.court_code) == 1:
            return "high"
        return "intermediate" if len(self.court_code) == 3 else "basic"

    def __str__(self) -> str:
        return self.text


# Bracket variants clerks type or paste; NFKC already folds （）［］ to ASCII.
_BRACKETS = str.maketrans({"〔": "(", "〕": ")", "[": "(", "]": ")", "【": "(", "】": ")"})
_WHITESPACE = re.compile(r"\s+")
_YEAR_PART = re.compile(r"\((?P<year>[^()]*)\)(?P<body>.*)")
_COURT = re.compile(r"(?P<prefix>最高法|[^\d])(?P<digits>\d*)")
_TYPE = re.compile(r"(?P<type>\D*?)第?(?P<rest>\d.*)?")


def _error(code: str, what: str, field: str) -> InvalidInput:
    return InvalidInput(code, f"{what}正确格式如 {EXAMPLE}。", field=field)


def parse_case_number(text: str, *, today: date, field: str = "case_number") -> CaseNumber:
    """Parse and validate a case number, returning its canonical form and parts.

    Accepts full-width （）, 〔〕, [] and 【】 brackets, full-width digits and spaces.
    Error codes (``InvalidInput``): ``case_number_format`` (overall shape, missing
    brackets or 号, pre-2016 ``字第`` numbers), ``case_number_year``,
    ``case_number_court``, ``case_number_type``, ``case_number_sequence``.
    """
    raw = _WHITESPACE.sub("", unicodedata.normalize("NFKC", text)).translate(_BRACKETS)
    if not raw:
        raise _error("case_number_format", "请填写案号。", field)
    # Format errors do not echo the input: it may be personal data typed into the wrong
    # field (an ID number, a phone). Later errors concern a case-number shape.
    shape = _YEAR_PART.fullmatch(raw)
    if shape is None:
        raise _error("case_number_format", "案号应以括号内的收案年度开头。", field)
    if not raw.endswith("号"):
        raise _error("case_number_format", "案号应以“号”字结尾。", field)
    if "字第" in raw:
        raise _error(
            "case_number_format",
            "该案号是2016年以前的旧式案号（含“字第”），系统只能解析现行格式，"
            "请在备注中记录原案号。",
            field,
        )

    year_text = shape["year"]
    if not (len(year_text) == 4 and year_text.isdigit()):
        raise _error("case_number_year", f"案号“{raw}”中的收案年度应为括号内的四位年份。", field)
    year = int(year_text)
    if not FIRST_YEAR <= year <= today.year:
        raise _error(
            "case_number_year",
            f"案号“{raw}”中的收案年度{year}不在{FIRST_YEAR}年至{today.year}年之间。",
            field,
        )

    body = shape["body"][:-1]  # without 号
    court = _COURT.match(body)
    prefix = court["prefix"] if court else ""
    prefix = _PROVINCE_ALIASES.get(prefix, prefix)
    if court is None or (prefix != SUPREME_COURT and prefix not in PROVINCES):
        raise _error(
            "case_number_court",
            f"案号“{raw}”中的法院代字不正确：年份之后应为省级简称（如“京”）或“最高法”。",
            field,
        )
    digits = court["digits"]
    if court.end() == len(body):
        # "(2024)京0112345号": the digits swallowed everything, the type is what is missing.
        raise _error(
            "case_number_type",
            f"案号“{raw}”中缺少案件类型代字（如民初、民终、执异）。",
            field,
        )
    if (prefix == SUPREME_COURT and digits) or len(digits) not in (0, 2, 4):
        raise _error(
            "case_number_court",
            f"案号“{raw}”中的法院代字不正确：省级简称后应无数字（高级法院）、"
            "2位数字（中级法院）或4位数字（基层法院）。",
            field,
        )
    court_code = prefix + digits

    kind = _TYPE.fullmatch(body[court.end() :])
    case_type = kind["type"] if kind else ""
    if case_type not in CASE_TYPES:
        shown = f"“{case_type}”" if case_type else "（缺失）"
        raise _error(
            "case_number_type",
            f"案号“{raw}”中的案件类型代字{shown}不是现行类型代字（如民初、民终、执异）。",
            field,
        )

    sequence_text = (kind["rest"] if kind else None) or ""
    if not (
        sequence_text.isdigit()
        and len(sequence_text) <= _MAX_SEQUENCE_DIGITS
        and int(sequence_text) > 0
    ):
        raise _error(
            "case_number_sequence",
            f"案号“{raw}”中的案件编号应为“号”字前的正整数。",
            field,
        )
    sequence = int(sequence_text)

    category, stage = CASE_TYPES[case_type]
    return CaseNumber(
        text=f"({year}){court_code}{case_type}{sequence}号",
        year=year,
        court_code=court_code,
        province=PROVINCES.get(prefix, ""),
        case_type=case_type,
        sequence=sequence,
        category=category,
        stage=stage,
    )


def route_division(case: CaseNumber) -> Division:
    """Which court division a petition about this case goes to first.

    - ``execution`` (执行局/执行庭): every 执* case, including objections (执异) and
      reviews (执复、执监), which the execution bureau's adjudication unit decides.
    - ``filing`` (立案庭/诉讼服务中心): requests to reopen a final judgment
      (民申、刑申、行申 and other retrial-review types) — under 立审分离 the filing
      division registers 申诉/申请再审 before the trial-supervision panel examines it —
      plus pre-action preservation (财保、证保、行保) and judicial aid (司救*), which
      the filing division handles in most courts.
    - ``trial``: everything else — pending first-instance, appeal and retrial cases
      belong to the division hearing them.
    """
    if case.category == "execution":
        return "execution"
    if case.stage in ("retrial_review", "preservation") or case.case_type.startswith("司救"):
        return "filing"
    return "trial"
