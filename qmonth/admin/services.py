"""Accounts: who may manage whom, creating and disabling users."""
from __future__ import annotations

import re

from flask import abort
from sqlalchemy import Select, select

from ..access import scoped_to_units
from ..extensions import db
from ..models import Role, Unit, User
from ..auth.services import end_all_sessions, hash_password
from ..textnorm import control_character_problem

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,59}$")


class AccountError(ValueError):
    """A Chinese message for a refused account change."""


def manageable_users(actor: User) -> Select:
    """The users an admin may see and manage: all for the province, own unit otherwise."""
    # The province's accounts (no unit) first on every database: SQLite sorts NULL first, PostgreSQL last.
    query = (select(User).outerjoin(Unit, User.unit_id == Unit.id)
             .order_by(Unit.position.asc().nulls_first(), User.role, User.username))
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
    if actor.is_province:
        return list(db.session.scalars(select(Unit).order_by(Unit.position)))
    if actor.is_unit_admin:
        return list(db.session.scalars(scoped_to_units(select(Unit), actor, Unit.id).order_by(Unit.position)))
    return []


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
    if role is Role.PROVINCE_ADMIN:
        unit = None
    elif unit is None:
        raise AccountError("填报员和单位管理员必须属于一个单位。")
    if actor is not None:
        if role not in assignable_roles(actor):
            raise AccountError("您不能创建该角色的账号。")
        if unit is not None and unit not in assignable_units(actor):
            raise AccountError("您只能为本单位创建账号。")
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
