"""The tree screens: a node's admin adds, renames, moves and retires the units below it, and moves
an account between units (rules and audit records: qmonth/units.py)."""
from __future__ import annotations

from flask import flash, redirect, url_for
from flask_login import current_user
from sqlalchemy import func, select
from wtforms.fields.choices import SelectChoice

from ..access import campaign_or_404, scoped_to_units, unit_below_or_404
from ..extensions import db
from ..htmx import render
from ..models import Activity, Unit, User
from ..units import TreeError, add_child, in_subtree, move_account, move_unit, rename_unit, retire_unit
from . import bp
from .forms import AccountMoveForm, UnitAddForm, UnitMoveForm, UnitRenameForm
from .services import assignable_units, get_manageable_user_or_404


def _tree() -> list[Unit]:
    """The admin's own unit and everything below it, each parent before its children."""
    query = scoped_to_units(select(Unit), current_user, Unit.id)
    units = list(db.session.scalars(query.order_by(Unit.path)))
    # Paths sort "/1/10/" before "/1/2/": order siblings by position instead, depth-first.
    by_parent: dict[int | None, list[Unit]] = {}
    for unit in units:
        by_parent.setdefault(unit.parent_id, []).append(unit)
    ids = {unit.id for unit in units}
    ordered: list[Unit] = []

    def walk(unit: Unit) -> None:
        ordered.append(unit)
        for child in sorted(by_parent.get(unit.id, []), key=lambda u: (u.position, u.id)):
            walk(child)

    for top in sorted((u for u in units if u.parent_id not in ids), key=lambda u: (u.depth, u.position, u.id)):
        walk(top)
    return ordered


def _parent_choices(exclude: Unit | None = None) -> list[SelectChoice]:
    """Units that may take a child: not retired, and (when moving) not the unit or its subtree."""
    return [SelectChoice(unit.code, "　" * unit.depth + unit.name) for unit in _tree()
            if unit.retired_at is None and (exclude is None or not in_subtree(exclude, unit))]


def _page(*, add_form: UnitAddForm | None = None, row_errors: dict | None = None,
          row_input: dict | None = None, status: int = 200):
    units = _tree()
    campaign = campaign_or_404()
    counts = dict(db.session.execute(
        select(Activity.unit_id, func.count(Activity.id))
        .where(Activity.campaign_id == campaign.id, Activity.unit_id.in_([u.id for u in units]))
        .group_by(Activity.unit_id)).all())
    accounts = dict(db.session.execute(
        select(User.unit_id, func.count(User.id)).where(User.unit_id.in_([u.id for u in units]), User.is_enabled)
        .group_by(User.unit_id)).all())
    if add_form is None:
        add_form = UnitAddForm(formdata=None)
        own = current_user.unit
        add_form.parent.data = own.code if own is not None else ""
    add_form.parent.choices = _parent_choices()
    return render("admin/units.html", units=units, add_form=add_form, counts=counts, accounts=accounts,
                  campaign=campaign, row_errors=row_errors or {}, row_input=row_input or {},
                  move_choices=_parent_choices(), status=status)


@bp.get("/units")
def units():
    """The admin's unit and the units below it, with the forms that change them."""
    return _page()


@bp.post("/units/new")
def add_unit():
    """Add a unit below one of the admin's subtree."""
    form = UnitAddForm()
    form.parent.choices = _parent_choices()
    if form.validate_on_submit():
        parent = next((u for u in _tree() if u.code == form.parent.data and u.retired_at is None), None)
        if parent is None:
            form.parent.errors = ["请选择上级单位。"]
        else:
            try:
                unit = add_child(parent, code=form.code.data, name=form.name.data, by=current_user)
                db.session.commit()
            except TreeError as error:
                db.session.rollback()
                form.code.errors = [str(error)]
            else:
                flash(f"已在“{parent.name}”下添加“{unit.name}”。", "success")
                return redirect(url_for(".units"))
    return _page(add_form=form, status=422)


def _row_change(code: str, change, done: str, typed: str | None = None):
    """Run one change of a unit below the admin and commit it; a refusal comes back beside its row."""
    unit = unit_below_or_404(current_user, code)
    try:
        change(unit)
        db.session.commit()
    except TreeError as error:
        db.session.rollback()
        return _page(row_errors={code: str(error)}, row_input={code: typed} if typed is not None else None,
                     status=409)
    flash(done.format(name=unit.name), "success")
    return redirect(url_for(".units") + f"#unit-{unit.id}")


@bp.post("/units/<code>/rename")
def rename(code: str):
    """Rename a unit below the admin's own."""
    form = UnitRenameForm()
    if not form.validate_on_submit():
        unit_below_or_404(current_user, code)
        message = next(iter(form.errors.values()))[0]
        return _page(row_errors={code: message}, row_input={code: form.name.data or ""}, status=422)
    return _row_change(code, lambda unit: rename_unit(unit, name=form.name.data, by=current_user),
                       "单位已改名为“{name}”。", typed=form.name.data)


@bp.post("/units/<code>/move")
def move(code: str):
    """Put a unit (and all below it) under another unit of the admin's subtree."""
    form = UnitMoveForm()
    form.parent.choices = _parent_choices()
    unit = unit_below_or_404(current_user, code)
    parent = next((u for u in _tree() if u.code == form.parent.data), None) if form.validate_on_submit() else None
    if parent is None:
        return _page(row_errors={code: "请选择要移到的上级单位。"}, status=422)
    return _row_change(unit.code, lambda unit: move_unit(unit, parent, by=current_user), "“{name}”已移到“"
                       + parent.name + "”之下。")


@bp.post("/units/<code>/retire")
def retire(code: str):
    """Retire a unit below the admin's own (refused while it holds entries or units)."""
    return _row_change(code, lambda unit: retire_unit(unit, by=current_user), "“{name}”已撤销。")


@bp.route("/users/<int:user_id>/move", methods=["GET", "POST"])
def move_user(user_id: int):
    """Move an account to another unit of the admin's subtree."""
    user = get_manageable_user_or_404(current_user, user_id)
    form = AccountMoveForm()
    units = assignable_units(current_user)
    form.unit.choices = [SelectChoice(u.code, "　" * u.depth + u.name) for u in units]
    if form.unit.data is None and user.unit is not None:
        form.unit.data = user.unit.code
    status = 200
    if form.validate_on_submit():
        target = next((u for u in units if u.code == form.unit.data), None)
        try:
            if target is None:
                raise TreeError("请选择调往的单位。")
            move_account(user, target, by=current_user)
            db.session.commit()
        except TreeError as error:
            db.session.rollback()
            form.unit.errors = [str(error)]
        else:
            flash(f"账号 {user.username} 已调到“{target.name}”。", "success")
            return redirect(url_for(".users"))
    if form.errors:
        status = 422
    return render("admin/user_move.html", form=form, user=user, status=status)
