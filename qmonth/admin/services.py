"""Accounts: who may manage whom, creating and disabling users."""
from __future__ import annotations

import re

from flask import abort
from sqlalchemy import Select, select

from ..access import scoped_to_units
from ..extensions import db
from ..models import Role, Unit, User
from ..auth.services import end_all_sessions, hash_password
from ..campaigns.services import active_campaign
from ..textnorm import control_character_problem
from ..units import campaign_root

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,59}$")


class AccountError(ValueError):
    """A Chinese message for a refused account change."""


def manageable_users(actor: User) -> Select:
    """The users an admin may see and manage: those of the admin's subtree (all for the province)."""
    # Top of the tree first (an account without a unit before all): SQLite sorts NULL first, PostgreSQL last.
    query = (select(User).outerjoin(Unit, User.unit_id == Unit.id)
             .order_by(Unit.depth.asc().nulls_first(), Unit.position.asc().nulls_first(), User.role, User.username))
    if actor.is_province:
        return query
    if actor.is_unit_admin:
        return scoped_to_units(query, actor, User.unit_id)
    return query.where(False)


def get_manageable_user_or_404(actor: User, user_id: int) -> User:
    user = db.session.scalar(manageable_users(actor).where(User.id == user_id))
    if user is None:
        abort(404)
    return user


def assignable_roles(actor: User) -> list[Role]:
    if actor.is_province:
        return [Role.REPORTER, Role.UNIT_ADMIN, Role.PROVINCE_ADMIN]
    if actor.is_unit_admin:
        return [Role.REPORTER, Role.UNIT_ADMIN]
    return []


def assignable_units(actor: User) -> list[Unit]:
    """The units of the admin's subtree that take accounts (not retired), top of the tree first."""
    if not actor.can_manage_accounts:
        return []
    query = scoped_to_units(select(Unit).where(Unit.retired_at.is_(None)), actor, Unit.id)
    return list(db.session.scalars(query.order_by(Unit.depth, Unit.position, Unit.id)))


def create_user(
    *, actor: User | None, username: str, display_name: str, role: Role, unit: Unit | None, password: str
) -> User:
    """Create an account. `actor` None means an operator at the command line."""
    username = username.strip().lower()
    if not USERNAME_PATTERN.match(username):
        raise AccountError("用户名须为 3–60 位小写字母、数字、点、下划线或连字符，并以字母或数字开头。")
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(f"用户名 {username} 已存在。")
    # The form checks this too; the command line passes undecodable bytes on as surrogates.
    problem = control_character_problem(display_name)
    if problem:
        raise AccountError(f"姓名：{problem}")
    if role is Role.PROVINCE_ADMIN:  # the issuing department's admins belong to the root
        unit = campaign_root(active_campaign()) or (actor.unit if actor is not None else None)
    elif unit is None:
        raise AccountError("填报员和单位管理员必须属于一个单位。")
    if actor is not None:
        if role not in assignable_roles(actor):
            raise AccountError("您不能创建该角色的账号。")
        if unit is not None and unit not in assignable_units(actor):
            raise AccountError("您只能为本单位及下级单位创建账号。")
    user = User(
        username=username,
        display_name=display_name.strip() or username,
        role=role,
        unit=unit,
        password_hash=hash_password(password),
        is_enabled=True,
    )
    db.session.add(user)
    return user


def set_user_enabled(actor: User, user: User, enabled: bool) -> None:
    """Enable or disable an account; disabling ends its sessions."""
    if user.id == actor.id:
        raise AccountError("不能停用自己的账号。")
    if user.is_enabled == enabled:
        return
    user.is_enabled = enabled
    end_all_sessions(user)
