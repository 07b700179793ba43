"""Validation, canonical forms and masking of a petitioner's personal data.

Pure functions: no I/O, no clock (callers pass ``today``). Every refusal is an
``InvalidInput`` whose message names the field but never repeats the raw value, because
error messages end up in logs and HTTP responses (DOMAIN.md, "Privacy").
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Literal

from stdnum import numdb
from stdnum.cn import ric

from core.errors import InvalidInput

__all__ = [
    "birth_date_from_id",
    "gender_from_id",
    "mask_address",
    "mask_id_number",
    "mask_name",
    "mask_phone",
    "normalize_for_lookup",
    "normalize_id_number",
    "normalize_phone",
]

MAX_AGE_YEARS = 130

_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_WHITESPACE = re.compile(r"\s+")


def _compact(value: str) -> str:
    # NFKC folds full-width digits/letters typed with a Chinese IME (１１０…Ｘ) to ASCII.
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", value)).upper()


def _id_error(code: str, message: str, field: str) -> InvalidInput:
    return InvalidInput(code, message, field=field)


def _check_id_shape(number: str, field: str) -> None:
    """Length, character set and checksum: everything that does not need a date."""
    if len(number) == 15 and number.isascii() and number.isdigit():
        raise _id_error(
            "id_number_length",
            "身份证号码应为18位。15位的第一代身份证号码已停止使用，请填写现行18位居民身份证号码。",
            field,
        )
    if len(number) != 18:
        raise _id_error(
            "id_number_length",
            f"身份证号码应为18位，当前输入为{len(number)}位。",
            field,
        )
    if not _ID_SHAPE.fullmatch(number):
        raise _id_error(
            "id_number_format",
            "身份证号码格式不正确：前17位应为数字，最后一位为数字或字母X。",
            field,
        )
    if ric.calc_check_digit(number) != number[-1]:
        raise _id_error(
            "id_number_checksum",
            "身份证号码校验位不正确，请核对证件后重新输入。",
            field,
        )


def _birth_date(number: str, field: str) -> date:
    try:
        return ric.get_birth_date(number)
    except Exception as exc:  # stdnum raises InvalidComponent for impossible dates
        raise _id_error(
            "id_number_birth_date",
            "身份证号码中的出生日期不是有效日期。",
            field,
        ) from exc


def _region_known(number: str) -> bool:
    # Deliberately not ric.get_birth_place(): it requires the county code to have existed
    # in the birth year, but people born before a district was created (e.g. 西湖区
    # 330106, created 1983) carry its code on cards issued later. Any code the national
    # table has ever listed is accepted.
    info: dict[str, str] = {}
    for _part, props in numdb.get("cn/loc").info(number[:6]):
        info.update(props)
    return bool(info.get("province")) and bool(info.get("county"))


def normalize_id_number(value: str, *, today: date, field: str = "id_number") -> str:
    """Return the canonical 18-character 居民身份证 number or raise ``InvalidInput``.

    Accepts surrounding/inner spaces, full-width characters and a lowercase ``x``.
    Checks length, format, the GB 11643 checksum, the birth date (a real date, not in
    the future, age at most 130 years) and the 6-digit administrative region code.

    Error codes: ``id_number_length``, ``id_number_format``, ``id_number_checksum``,
    ``id_number_birth_date``, ``id_number_region``.
    """
    number = _compact(value)
    if not number:
        raise _id_error("id_number_length", "请填写身份证号码。", field)
    _check_id_shape(number, field)
    born = _birth_date(number, field)
    if born > today:
        raise _id_error("id_number_birth_date", "身份证号码中的出生日期晚于今天。", field)
    if _years_between(born, today) > MAX_AGE_YEARS:
        raise _id_error(
            "id_number_birth_date",
            f"身份证号码中的出生日期距今超过{MAX_AGE_YEARS}年，请核对。",
            field,
        )
    if not _region_known(number):
        raise _id_error(
            "id_number_region",
            "身份证号码前6位不是有效的行政区划代码，请核对。",
            field,
        )
    return number


def _years_between(born: date, today: date) -> int:
    """Completed years from ``born`` to ``today`` (age on ``today``)."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def birth_date_from_id(value: str, *, field: str = "id_number") -> date:
    """Birth date encoded in an 18-digit ID number (digits 7-14).

    Only the shape and the checksum are checked here, not plausibility against today:
    run ``normalize_id_number`` when accepting input.
    """
    number = _compact(value)
    _check_id_shape(number, field)
    return _birth_date(number, field)


def gender_from_id(value: str, *, field: str = "id_number") -> Literal["male", "female"]:
    """Gender encoded in the 17th digit of an ID number: odd is male, even is female."""
    number = _compact(value)
    _check_id_shape(number, field)
    return "male" if int(number[16]) % 2 == 1 else "female"


# --- phone numbers -----------------------------------------------------------------

# Country code 86 is optional; as digits only, "86" or "0086" then a mobile number is
# unambiguous because no area code or mobile prefix starts with 8.
_MOBILE = re.compile(r"(?:0086|86)?(1[3-9][0-9]{9})")
_EXTENSION = re.compile(r"^(?P<main>.*?)\s*(?:转|分机|ext\.?|x)\s*(?P<ext>[0-9]{1,6})$", re.I)
_PHONE_CHARS = re.compile(r"\+?[0-9\s\-()]+")
# For landlines a bare "86" must be set apart ("86 10 6512 3456").
_COUNTRY_CODE = re.compile(r"^(?:(?:\+|00)\s*86|86(?=[\s\-(]))")
_GROUP_SPLIT = re.compile(r"[\s\-()]+")

_PHONE_FORMAT_MESSAGE = (
    "电话号码格式不正确：请填写11位手机号码（如138 1234 5678），"
    "或带区号的固定电话（如010-12345678，分机可写作“转123”）。"
    "12345、95598等服务热线号码不能作为信访人本人联系电话。"
)


def _phone_error(field: str) -> InvalidInput:
    return InvalidInput("phone_format", _PHONE_FORMAT_MESSAGE, field=field)


def _area_code_length(digits: str) -> int | None:
    """Length of the leading area code: 010 and 02x are 3 digits, 03xx-09xx are 4."""
    if digits.startswith(("010", "02")):
        return 3
    if len(digits) >= 2 and digits[0] == "0" and digits[1] in "3456789":
        return 4
    return None


def normalize_phone(value: str, *, field: str = "phone") -> str:
    """Return a canonical mainland phone number or raise ``InvalidInput("phone_format")``.

    - Mobile: ``+86 138-1234-5678`` → ``13812345678``.
    - Landline: area code required (the office serves a whole region, a bare local
      number is ambiguous); ``(0571) 8888 8888`` → ``0571-88888888``; an extension
      written ``转123``, ``分机123``, ``ext 123`` or as a trailing ``-123`` group is kept
      as ``010-12345678转123``.
    - Short service numbers (12345, 95598, 400/800 numbers) are refused: the field holds
      the petitioner's own number for call-backs.
    """
    text = unicodedata.normalize("NFKC", value).strip()
    extension: str | None = None
    match = _EXTENSION.match(text)
    if match:
        text, extension = match["main"], match["ext"]
    if not text or not _PHONE_CHARS.fullmatch(text):
        raise _phone_error(field)

    all_digits = "".join(c for c in text if c.isdigit())
    if text.startswith(("+", "00")) and not all_digits.startswith(("86", "0086")):
        raise _phone_error(field)  # a foreign number
    mobile = _MOBILE.fullmatch(all_digits)
    if mobile:
        if extension is not None:
            raise _phone_error(field)
        return mobile[1]

    country = _COUNTRY_CODE.match(text)
    international = country is not None
    if country:
        text = text[country.end() :]
    groups = [g for g in _GROUP_SPLIT.split(text) if g]
    digits = "".join(groups)
    if not digits:
        raise _phone_error(field)

    if international and not digits.startswith("0"):
        # +86 10 12345678: the trunk prefix 0 is dropped in international notation.
        digits = "0" + digits
    area_len = _area_code_length(digits)
    if area_len is None:
        raise _phone_error(field)
    area, subscriber = digits[:area_len], digits[area_len:]

    if extension is None and len(subscriber) not in (7, 8) and len(groups) >= 2:
        # A trailing separated group after a complete subscriber number is an extension.
        last = groups[-1]
        head = subscriber[: len(subscriber) - len(last)]
        if len(head) in (7, 8) and len(last) <= 6:
            subscriber, extension = head, last

    # A leading 0 would be a second trunk prefix. A leading 1 is unusual for subscribers
    # but accepted: refusing a clerk's real number costs more than a rare typo.
    if len(subscriber) not in (7, 8) or subscriber[0] == "0":
        raise _phone_error(field)
    canonical = f"{area}-{subscriber}"
    return f"{canonical}转{extension}" if extension else canonical


# --- masking -------------------------------------------------------------------------


def mask_id_number(value: str) -> str:
    """``110105199001011234`` → ``110105********1234`` (region and last 4 visible).

    Anything that is not 18 characters is fully masked rather than guessed at.
    """
    number = _compact(value)
    if len(number) == 18:
        return f"{number[:6]}********{number[-4:]}"
    return "*" * max(len(number), 4)


def mask_phone(value: str) -> str:
    """Mask a phone number, keeping the last 4 digits (what clerks confirm as 尾号).

    - mobile ``13812345678`` → ``138****5678`` (carrier prefix visible);
    - landline ``010-12345678转123`` → ``010-****5678`` (area code visible, the
      extension dropped);
    - anything unparsable → every character but the last 4 masked.
    """
    try:
        canonical = normalize_phone(value)
    except InvalidInput:
        compact = _WHITESPACE.sub("", value)
        return "*" * max(len(compact) - 4, 4) + compact[-4:] if len(compact) > 4 else "****"
    if "-" not in canonical:
        return f"{canonical[:3]}****{canonical[-4:]}"
    area, rest = canonical.split("-", 1)
    subscriber = rest.split("转", 1)[0]
    return f"{area}-****{subscriber[-4:]}"


def mask_name(value: str) -> str:
    """Keep the first character (the surname in most cases), mask the rest.

    ``张三丰`` → ``张**``, ``张三`` → ``张*``. A one-character name is masked entirely
    (``*``): keeping its only character would reveal the whole name.
    """
    name = value.strip()
    if len(name) <= 1:
        return "*" if name else ""
    return name[0] + "*" * (len(name) - 1)


# Province (省/自治区), prefecture (市/州/盟/地区) and county-level (区/县/旗/市) prefix.
# The lookbehind keeps residential words (小区, 社区, 园区…) from passing for a district.
_ADMIN_PREFIX = re.compile(
    r"(?:[^\d\s]{2,8}?(?:省|自治区|特别行政区))?"
    r"(?:[^\d\s]{1,12}?(?:自治州|地区|市|州|盟))?"
    r"[^\d\s]{1,15}?(?:(?<![小社园校厂街景])区|县|旗|市)"
)
_ADDRESS_FALLBACK_CHARS = 6


def mask_address(value: str) -> str:
    """Keep the administrative prefix down to county level, mask the rest.

    ``北京市朝阳区建国路88号`` → ``北京市朝阳区****``. When no county-level unit is found
    the first 6 characters are kept (at most half of a short address).
    """
    text = _WHITESPACE.sub("", unicodedata.normalize("NFKC", value))
    if not text:
        return ""
    match = _ADMIN_PREFIX.match(text)
    fallback_len = min(_ADDRESS_FALLBACK_CHARS, len(text) // 2)
    return (match.group(0) if match else text[:fallback_len]) + "****"


# --- canonical text for the blind index --------------------------------------------

# Variants of the interpunct in minority names (阿卜杜拉·买买提).
_NAME_DOTS = re.compile(r"[.\u00b7\u2022\u2027\u2219\u22c5\u30fb]")


def normalize_for_lookup(kind: Literal["id_number", "phone", "name"], value: str) -> str:
    """The canonical text a keyed hash (blind index) is computed over.

    Two spellings of the same person's data yield the same text, so exact-match search
    works on encrypted columns:

    - ``id_number``: spaces removed, full-width folded, ``x`` upper-cased; shape and
      checksum are checked (no clock, so birth-date plausibility is not);
    - ``phone``: ``normalize_phone`` output;
    - ``name``: NFKC, whitespace removed, case-folded, interpunct variants unified.

    Raises ``InvalidInput`` for values that could never match a stored one.
    """
    if kind == "id_number":
        number = _compact(value)
        _check_id_shape(number, "id_number")
        return number
    if kind == "phone":
        return normalize_phone(value)
    if kind == "name":
        name = _WHITESPACE.sub("", unicodedata.normalize("NFKC", value)).casefold()
        name = _NAME_DOTS.sub("·", name)
        if not name:
            raise InvalidInput("name_required", "请填写姓名。", field="name")
        return name
    raise ValueError(f"unknown lookup kind: {kind!r}")
