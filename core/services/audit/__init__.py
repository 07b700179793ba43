"""Audit log: an append-only, hash-chained record of every write, every login, every
reveal of personal data, every export in clear and every change of users, roles,
departments, plugin settings, tokens and keys (docs/security.md, "Audit").

Each tenant has its own chain; tenant 0 is the deployment's. A row's ``hash`` is an
HMAC-SHA256 (key derived from the application secret) over the previous row's hash and
the row's canonical JSON, so a database owner without the secret cannot recompute a
consistent chain, and the heads exported every day pin the history even against one who
has it. ``append`` runs inside the caller's transaction: the audit row commits or rolls
back with the write it records.

Who acts comes from the caller or from :data:`_actor`, set per request by the web
authentication middleware (``cli`` in the command line, ``open311`` for a public
submission, ``system`` otherwise). Not from the scope's principal: the command line
acting as a named user and Open311 registering as its service account are recorded as
``cli`` and ``open311``, as they always were.

A chain is named by its tenant id, the deployment's (0) included: ``append`` and the
verification take that id; what reads or writes for one tenant's staff takes its scope.
"""

from core.services.audit.chain import (
    CLI,
    DEPLOYMENT,
    GENESIS,
    OPEN311,
    SYSTEM,
    Actor,
    _actor,
    _message,
    acting,
    actor_of,
    append,
    canonical,
    case_action,
    record_export,
    record_reveal,
    reset_actor,
    set_actor,
)
from core.services.audit.head_export import export_heads, log
from core.services.audit.verification import (
    KIND_ZH,
    Break,
    ChainReport,
    head_of,
    heads,
    read_heads_file,
    recent,
    tenant_ids,
    verify,
    verify_chain,
)

__all__ = [
    "CLI",
    "DEPLOYMENT",
    "GENESIS",
    "KIND_ZH",
    "OPEN311",
    "SYSTEM",
    "Actor",
    "Break",
    "ChainReport",
    "_actor",
    "_message",
    "acting",
    "actor_of",
    "append",
    "canonical",
    "case_action",
    "export_heads",
    "head_of",
    "heads",
    "log",
    "read_heads_file",
    "recent",
    "record_export",
    "record_reveal",
    "reset_actor",
    "set_actor",
    "tenant_ids",
    "verify",
    "verify_chain",
]
