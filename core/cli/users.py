"""Staff accounts and their API tokens: createuser, user, token."""

from __future__ import annotations

from typing import Any

import click

from core.console import run_async, system_scope, with_db
from core.settings import load_settings


@click.command()
@click.option("--tenant", required=True, help="Tenant slug, e.g. north-heating.")
@click.option("--username", required=True)
@click.option("--name", "display_name", default="", help="Display name (姓名).")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(["admin", "clerk", "leader", "handler", "supervisor"]),
)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def createuser(
    tenant: str, username: str, display_name: str, roles: tuple[str, ...], password: str
) -> None:
    """Create a staff account in a tenant."""
    from core.services import users

    async def go(rt: Any) -> dict[str, Any]:
        return await users.create_user(
            await system_scope(rt, tenant),
            username=username,
            display_name=display_name or username,
            password=password,
            roles=list(roles),
        )

    user = run_async(lambda: with_db(load_settings(), go))
    click.echo(f"已创建用户 {user['username']}（id {user['id']}）")


@click.group()
def user() -> None:
    """Staff accounts: unlock after failed logins, deactivate (sessions end, tokens and
    feeds stop) and reactivate."""


@user.command("unlock")
@click.option("--tenant", required=True, help="Tenant slug.")
@click.argument("username")
def user_unlock(tenant: str, username: str) -> None:
    """Lift the lock on USERNAME after too many failed logins (clears the failure count)."""
    from core.services import users

    async def go(rt: Any) -> dict[str, Any]:
        sc = await system_scope(rt, tenant)
        return await users.unlock_login(sc, await users.user_id_of(sc, username))

    res = run_async(lambda: with_db(load_settings(), go, redis=True))
    state = "已解除锁定" if res["was_locked"] else "未被锁定；已清除失败计数"
    click.echo(f"{tenant}: {username} {state}")


@click.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.option("--tenant", required=True)
@click.option("--username", required=True)
@click.option("--name", default="cli", help="What the token is for.")
@click.option(
    "--days", type=int, default=None, help="Days until it expires (default: the tenant's maximum)."
)
def token_create(tenant: str, username: str, name: str, days: int | None) -> None:
    """Create an API token for a user and print it once."""
    from core.services import users

    async def go(rt: Any) -> str:
        sc = await system_scope(rt, tenant)
        user_id = await users.user_id_of(sc, username)
        tok, _ = await users.create_token(sc, user_id, name=name, ttl_days=days)
        return tok

    click.echo(run_async(lambda: with_db(load_settings(), go)))


@token.command("list")
@click.option("--tenant", required=True)
def token_list(tenant: str) -> None:
    """List the tenant's API tokens (id, user, name, prefix, expiry, state), never a secret."""
    from core.services import users

    async def go(rt: Any) -> list[dict[str, Any]]:
        return await users.list_tokens(await system_scope(rt, tenant))

    for r in run_async(lambda: with_db(load_settings(), go)):
        state = "已吊销" if r["revoked_at"] else "有效"
        expires = r["expires_at"].date().isoformat() if r["expires_at"] else "-"
        click.echo(
            f"{r['id']:>6} {r['username']:<16} {r['name']:<16} {r['prefix']}… {expires} {state}"
        )


@token.command("revoke")
@click.option("--tenant", required=True)
@click.argument("token_id", type=int)
def token_revoke(tenant: str, token_id: int) -> None:
    """Revoke the API token TOKEN_ID (see `token list`); it stops working at once."""
    from core.services import users

    async def go(rt: Any) -> dict[str, Any]:
        return await users.revoke_token(await system_scope(rt, tenant), token_id)

    run_async(lambda: with_db(load_settings(), go))
    click.echo(f"已吊销令牌 {token_id}")


def _set_active(tenant: str, username: str, active: bool) -> None:
    from core.services import users

    async def go(rt: Any) -> dict[str, Any]:
        sc = await system_scope(rt, tenant)
        return await users.set_active(sc, await users.user_id_of(sc, username), active)

    # Redis too: deactivation deletes the user's server-side sessions.
    run_async(lambda: with_db(load_settings(), go, redis=True))
    click.echo(f"已{'启用' if active else '停用'}用户 {username}")


@user.command("deactivate")
@click.option("--tenant", required=True)
@click.argument("username")
def user_deactivate(tenant: str, username: str) -> None:
    """Deactivate USERNAME: logged out everywhere, API tokens and iCal feed refused."""
    _set_active(tenant, username, False)


@user.command("activate")
@click.option("--tenant", required=True)
@click.argument("username")
def user_activate(tenant: str, username: str) -> None:
    """Reactivate USERNAME (tokens and feed resume; the user logs in again)."""
    _set_active(tenant, username, True)


commands = (
    createuser,
    user,
    token,
)
