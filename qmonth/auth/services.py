"""Passwords, logins and sessions."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import joinedload

from ..audit import record
from ..extensions import db
from ..models import User
from ..parsing import positive_int
from ..securitylog import security_event
from ..timeutil import utcnow
from .throttle import login_blocked_for, minutes_to_wait, note_attempt

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both paths take the same time.
_DUMMY_HASH = _hasher.hash("qmonth-timing-equaliser")

MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def find_user(username: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))


def authenticate(username: str, password: str) -> User | None:
    """The user if the password is right and the account enabled; None otherwise."""
    user = find_user(username)
    password_hash = user.password_hash if user is not None else _DUMMY_HASH
    # Nothing is written yet: end the transaction so that this POST, which began
    # IMMEDIATE (see create_app), does not hold the database's write lock while
    # argon2 works; otherwise every login and every save would queue behind it.
    db.session.commit()
    if not verify_password(password_hash, password) or user is None or not user.is_enabled:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


LOGIN_FAILED = "用户名或密码错误，或账号已停用。"
LOGIN_THROTTLED = "登录失败次数过多，请 {minutes} 分钟后再试。如忘记密码，请联系单位管理员重置。"


class LoginRefused(Exception):
    """A login that did not pass: the Chinese message for the form and the HTTP status."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def checked_login(username: str, password: str, address: str) -> User:
    """Every sign-in goes through here (login page and the form's re-login): throttle first,
    then the password; failures are committed at once, a success is left for the caller's commit."""
    wait = login_blocked_for(username, address)
    if wait is not None:
        # Checked before the password, so a guesser learns nothing while blocked.
        security_event("login.throttled", username=username.strip(), unit="-")
        raise LoginRefused(LOGIN_THROTTLED.format(minutes=minutes_to_wait(wait)), 429)
    user = authenticate(username, password)
    if user is not None:
        note_attempt(username, address, succeeded=True)
        record("auth.login", actor=user, unit_id=user.unit_id)
        security_event("login.success", username=user.username, unit=user.unit.code if user.unit else "-")
        return user
    db.session.rollback()
    known = find_user(username)
    note_attempt(username, address, succeeded=False)
    record("auth.login_failed", actor=None, obj=known, changes={"username": username.strip()[:60]})
    db.session.commit()
    security_event("login.failure", username=username.strip(), unit=known.unit.code if known and known.unit else "-",
                   reason="disabled" if known and not known.is_enabled else "credentials")
    raise LoginRefused(LOGIN_FAILED, 422)


# The signed-in user with their unit: nearly every page reads it (scope, header, menus), one query
# fewer each. Built once: SQLAlchemy then finds its compiled form without walking a new statement,
# and a request spends 0.8 ms of CPU on it instead of 1.2 with Session.get.
USER_WITH_UNIT = select(User).options(joinedload(User.unit)).where(User.id == bindparam("user_id"))


def load_user_from_session_id(session_id: str) -> User | None:
    """Flask-Login loader: the id carries the session version, so old sessions die."""
    # Plain digits within an id's range, as the URLs' ids: str.isdigit() also took '²' (which int()
    # refuses) and a number past what SQLite's and PostgreSQL's integers hold, each a 500.
    user_id, version = (positive_int(part) for part in session_id.partition(":")[::2])
    if user_id is None or version is None:
        return None
    user = db.session.execute(USER_WITH_UNIT, {"user_id": user_id}).scalar_one_or_none()
    if user is None or user.session_version != version or not user.is_enabled:
        return None
    return user


PASSWORD_THROTTLED = "当前密码输错次数过多，请 {minutes} 分钟后再试。如忘记密码，请联系单位管理员重置。"
WRONG_CURRENT_PASSWORD = "当前密码不正确。"


def checked_password_change(user: User, current_password: str, new_password: str, address: str) -> None:
    """Change one's own password once the current one is right, throttled like a login and on the
    same counters: a session left open on a shared PC must not become a way to guess the password.
    A wrong password is committed at once; the change is left for the caller's commit."""
    wait = login_blocked_for(user.username, address)
    if wait is not None:
        security_event("password.throttled")
        raise LoginRefused(PASSWORD_THROTTLED.format(minutes=minutes_to_wait(wait)), 429)
    password_hash = user.password_hash
    db.session.commit()  # as in authenticate(): no write lock held while argon2 works
    if not verify_password(password_hash, current_password):
        note_attempt(user.username, address, succeeded=False)
        db.session.commit()
        security_event("password.change_failed")
        raise LoginRefused(WRONG_CURRENT_PASSWORD, 422)
    note_attempt(user.username, address, succeeded=True)
    change_password(user, new_password)


def change_password(user: User, new_password: str) -> None:
    """Set a new password and end every other session of the user."""
    user.password_hash = hash_password(new_password)
    end_all_sessions(user)


def end_all_sessions(user: User) -> None:
    """Sessions carry the user's session version: bumping it voids every one of them."""
    user.session_version += 1


def password_problem(password: str) -> str | None:
    """A Chinese reason why a new password is not acceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符。"
    if len(password) > 128:
        return "密码不能超过 128 个字符。"
    if password.lower() in COMMON_PASSWORDS or len(set(password)) < 4:
        return "密码过于简单，请换一个不易被猜到的密码。"
    return None


COMMON_PASSWORDS = {
    "1234567890", "12345678910", "123456789a", "a123456789", "qwertyuiop", "1qaz2wsx3edc",
    "password123", "password1234", "passw0rd123", "admin12345", "admin123456", "administrator",
    "qazwsxedc123", "abc1234567", "abcd123456", "iloveyou123", "woaini1314", "woaini520",
    "0123456789", "9876543210", "1111111111", "0000000000", "88888888888", "66666666666",
    "qmonth-demo", "qmonth2024", "shandong123", "zhiliangyue",
}
