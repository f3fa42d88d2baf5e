"""Login, logout and the user's own password."""

from flask import flash, redirect, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db
from ..htmx import render
from ..redirects import safe_local_path
from ..securitylog import security_event
from . import bp
from .forms import LoginForm, PasswordChangeForm
from .services import LoginRefused, checked_login, checked_password_change, end_all_sessions



@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in; a wrong password and a disabled account get the same message."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = checked_login(form.username.data, form.password.data, request.remote_addr or "-")
        except LoginRefused as refusal:
            form.password.errors.append(str(refusal))
            return render("auth/login.html", form=form, status=refusal.status)
        next_url = safe_local_path(request.args.get("next"))
        session.clear()  # a fresh session at login: nothing carried over from before
        login_user(user)
        db.session.commit()
        return redirect(next_url or url_for("main.home"))
    status = 422 if form.errors else 200
    return render("auth/login.html", form=form, status=status)


@bp.post("/logout")
def logout():
    """Sign out (POST only, so a link or an image cannot sign anyone out) on every device:
    the session cookie is signed, not stored, so only a new session version voids copies of it."""
    if current_user.is_authenticated:
        user = current_user._get_current_object()
        security_event("logout")
        end_all_sessions(user)
        db.session.commit()
    logout_user()
    session.clear()
    flash("您已安全退出，本账号在其他设备上的登录也已失效。", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    """Change one's own password; other sessions of the user end."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            checked_password_change(user, form.current_password.data, form.new_password.data,
                                    request.remote_addr or "-")
        except LoginRefused as refusal:
            form.current_password.errors.append(str(refusal))
            return render("auth/password.html", form=form, status=refusal.status)
        db.session.commit()
        security_event("password.change")
        login_user(user)  # keep this session, with the new version
        flash("密码已修改，其他设备上的登录已失效。", "success")
        return redirect(url_for("main.home"))
    status = 422 if form.errors else 200
    return render("auth/password.html", form=form, status=status)
