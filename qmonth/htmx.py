"""One view, one data path: the template is chosen at the end."""
from flask import make_response, render_template, request


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def render(page_template: str, fragment_template: str | None = None, status: int = 200, **context):
    """Render the fragment for htmx requests and the full page otherwise."""
    template = fragment_template if fragment_template and is_htmx() else page_template
    response = make_response(render_template(template, **context), status)
    response.headers.add("Vary", "HX-Request")
    return response
