"""Errors in one place: a Chinese page, or a small alert fragment for htmx."""
import errno

from flask import current_app, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .bodysize import too_large_message
from .extensions import db
from .htmx import is_htmx
from .securitylog import security_event
from .storage import StorageError
from .textnorm import NulCharacterRefused

# What a full, read-only or failing disk raises where a file is written (a photo, a piece of one,
# a PDF): the store cannot take the file now, as when the object store is down, and nothing the
# user did. Any other OSError is still an error of ours (a 500, logged with its traceback).
DISK_FAILURES = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO})
STORAGE_MESSAGE = "文件存储暂时无法访问，文件未能保存或读取，请稍后重试。如问题持续，请联系省厅管理员。"
DATABASE_MESSAGE = "数据库暂时无法访问，本次操作未能完成，请稍后重试。如问题持续，请联系省厅管理员。"

MESSAGES = {
    400: "请求无效，请返回重试。",
    403: "您没有权限访问此页面。",
    404: "您访问的页面不存在，或您无权查看。",
    405: "不支持此操作。",
    413: "提交的内容过大，请删减内容或缩小文件后重试。",
    422: "提交的内容有误，请检查后重试。",
    429: "操作过于频繁，请稍后再试。",
    500: "系统出现错误，请稍后重试。如问题持续，请联系省厅管理员。",
    503: "系统暂时无法提供服务，请稍后重试。",
}


def render_error(code: int, message: str | None = None, *, page: str | None = None, render=render_template):
    """The error as a page, or as an alert when htmx asked. `page` names another page template;
    `render` another way to render (one that asks nothing of the database, say)."""
    message = message or MESSAGES.get(code, MESSAGES[500])
    if is_htmx():
        response = render("errors/_alert.html", code=code, message=message), code
        return _retarget_to_alerts(response)
    template = page or (f"errors/{code}.html" if code in (403, 404, 500) else "errors/generic.html")
    return render(template, code=code, message=message), code


def _render_without_context(template: str, **context) -> str:
    """A template rendered without the context processors, which ask the database who is signed in."""
    return current_app.jinja_env.get_template(template).render(**context)


def _retarget_to_alerts(response):
    body, code = response
    from flask import make_response

    resp = make_response(body, code)
    resp.headers["HX-Retarget"] = "#alerts"
    resp.headers["HX-Reswap"] = "afterbegin"
    return resp


def register(app) -> None:
    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        return render_error(error.code, getattr(error, "qmonth_message", None))

    @app.errorhandler(RequestEntityTooLarge)
    def handle_too_large(_error: RequestEntityTooLarge):
        return render_error(413, too_large_message())

    @app.errorhandler(NulCharacterRefused)
    def handle_nul_character(error: NulCharacterRefused):
        db.session.rollback()  # the refused statement may have been part of a flush
        return render_error(400, error.qmonth_message)

    @app.errorhandler(CSRFError)
    def handle_csrf_error(error: CSRFError):
        security_event("csrf.failure", reason=error.description)
        if request.headers.get("X-Requested-With") == "qmonth-upload":
            # The phone's outbox: its token belongs to a session that ended; it keeps what it holds.
            return jsonify(ok=False, relogin=True, error="页面已过期，请刷新后重试。"), 400
        return render_error(400, "页面已过期，请刷新后重试。")

    @app.errorhandler(StorageError)
    def handle_storage_error(error: StorageError):
        # The object store is down or refuses our keys: nothing the user did; nothing is saved.
        db.session.rollback()
        app.logger.error("storage: %s", error)
        return render_error(503, STORAGE_MESSAGE)

    @app.errorhandler(OSError)
    def handle_disk_failure(error: OSError):
        if error.errno not in DISK_FAILURES:
            raise error  # on to Flask's own handling: logged, and a 500
        db.session.rollback()
        app.logger.error("storage: disk: %s", error)
        return render_error(503, STORAGE_MESSAGE)

    @app.errorhandler(OperationalError)
    def handle_database_unavailable(error: OperationalError):
        # PostgreSQL down or gone mid-request, SQLite's file unreadable or locked past its wait:
        # nothing the user did, and the transaction is not committed. The page is rendered without
        # the context processors, which ask the database who is signed in and would raise again.
        db.session.remove()
        app.logger.error("database: %s", error, exc_info=error)
        # The rest of the request (the security headers' hook) must not ask again who is signed in.
        g._login_user = app.login_manager.anonymous_user()
        return render_error(503, DATABASE_MESSAGE, page="errors/unavailable.html", render=_render_without_context)

    @app.errorhandler(500)
    def handle_server_error(error):
        db.session.rollback()
        return render_error(500)
