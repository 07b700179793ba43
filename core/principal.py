"""Who is acting: always resolved from credentials, never from a request body."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["admin", "clerk", "leader", "handler", "supervisor"]
ROLES: tuple[str, ...] = ("admin", "clerk", "leader", "handler", "supervisor")
ROLE_NAMES_ZH = {
    "admin": "系统管理员",
    "clerk": "接访人员",
    "leader": "值班领导",
    "handler": "承办人员",
    "supervisor": "督查督办",
}


@dataclass(frozen=True)
class Principal:
    tenant_id: int
    tenant_slug: str
    user_id: int
    username: str
    display_name: str
    roles: frozenset[str]
    department_id: int | None = None
    refs: frozenset[str] = frozenset()
    """Keyed hashes of the names (username, title) an accusation may name them by."""

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))
