"""Login throttling, counted in the database so it holds across gunicorn workers."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select

from ..extensions import db
from ..models import CLIENT_ADDRESS_MAX, USERNAME_KEY_MAX, LoginAttempt
from ..timeutil import utcnow

WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 10
# Higher than per account: a bureau's clerks often share one office address behind NAT.
MAX_FAILURES_PER_ADDRESS = 30
# Old attempts are pruned as new ones arrive; a day is plenty for the security log's questions.
KEEP = timedelta(days=1)


def username_key(username: str) -> str:
    return (username or "").strip().lower()[:USERNAME_KEY_MAX]


def login_blocked_for(username: str, address: str) -> timedelta | None:
    """How long until this account and address may try again, or None when they may now.

    An account's failures count only since its last successful login, so a user who got in
    is not locked out by yesterday's typos; an address's failures all count.
    """
    now = utcnow()
    since = now - WINDOW
    key = username_key(username)
    last_success = db.session.scalar(
        select(func.max(LoginAttempt.at)).where(LoginAttempt.username == key, LoginAttempt.succeeded))
    account_since = max(since, last_success) if last_success else since
    waits = []
    account_failures = _failure_times(LoginAttempt.username == key, account_since, MAX_FAILURES_PER_ACCOUNT)
    if len(account_failures) >= MAX_FAILURES_PER_ACCOUNT:
        waits.append(account_failures[-1] + WINDOW - now)
    address_failures = _failure_times(LoginAttempt.address == address[:CLIENT_ADDRESS_MAX], since,
                                      MAX_FAILURES_PER_ADDRESS)
    if len(address_failures) >= MAX_FAILURES_PER_ADDRESS:
        waits.append(address_failures[-1] + WINDOW - now)
    if not waits:
        return None
    return max(max(waits), timedelta(seconds=1))


def _failure_times(condition, since, limit: int) -> list:
    """The newest `limit` failures since `since`, newest first (the last one decides the wait)."""
    return list(db.session.scalars(
        select(LoginAttempt.at).where(condition, LoginAttempt.at > since, LoginAttempt.succeeded.is_(False))
        .order_by(LoginAttempt.at.desc()).limit(limit)))


def note_attempt(username: str, address: str, *, succeeded: bool) -> None:
    """Record a try (the caller commits) and prune attempts older than a day."""
    now = utcnow()
    db.session.add(LoginAttempt(at=now, username=username_key(username), address=address[:CLIENT_ADDRESS_MAX],
                                succeeded=succeeded))
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - KEEP))


def minutes_to_wait(wait: timedelta) -> int:
    return max(1, -(-int(wait.total_seconds()) // 60))
