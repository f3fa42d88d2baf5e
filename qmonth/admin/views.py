"""Account management for province and unit admins."""
from flask import abort, flash, redirect, url_for
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from ..extensions import db
from ..htmx import render
from ..models import Role
from . import bp
from .forms import UserCreateForm
from .services import (
    AccountError,
    assignable_roles,
    assignable_units,
    create_user,
    get_manageable_user_or_404,
    manageable_users,
    set_user_enabled,
)



@bp.before_request
@login_required
def require_account_manager():
    if not current_user.can_manage_accounts:
        abort(403)


@bp.get("/users")
def users():
    """The accounts this admin manages."""
    rows = list(db.session.scalars(manageable_users(current_user)))
    return render("admin/users.html", users=rows)


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    """Create an account in a unit of the admin's subtree."""
    form = UserCreateForm()
    roles = assignable_roles(current_user)
    units = assignable_units(current_user)
    form.role.choices = [SelectChoice(role.value, role.label) for role in roles]
    form.unit.choices = [SelectChoice(u.code, "　" * u.depth + u.name) for u in units]
    if form.validate_on_submit():
        unit = next((u for u in units if u.code == form.unit.data), None)
        try:
            user = create_user(
                actor=current_user,
                username=form.username.data,
                display_name=form.display_name.data,
                role=Role(form.role.data),
                unit=unit,
                password=form.password.data,
            )
            db.session.commit()
        except AccountError as error:
            db.session.rollback()
            form.username.errors.append(str(error))
        else:
            flash(f"账号 {user.username} 已创建。", "success")
            return redirect(url_for("admin.users"))
    status = 422 if form.errors else 200
    return render("admin/user_form.html", form=form, status=status)


@bp.post("/users/<int:user_id>/disable")
def disable_user(user_id: int):
    """Disable an account (htmx row swap)."""
    return _set_enabled(user_id, False)


@bp.post("/users/<int:user_id>/enable")
def enable_user(user_id: int):
    """Enable an account again (htmx row swap)."""
    return _set_enabled(user_id, True)


def _set_enabled(user_id: int, enabled: bool):
    user = get_manageable_user_or_404(current_user, user_id)
    try:
        set_user_enabled(current_user, user, enabled)
        db.session.commit()
    except AccountError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        flash(f"账号 {user.username} 已{'启用' if enabled else '停用'}。", "success")
    return render("admin/users.html", "admin/_user_row.html", user=user, users=list(
        db.session.scalars(manageable_users(current_user))))
