"""How a report reaches the user: a PDF from the cache, made at once when it is small, or made by a
background job (qmonth/reports/tasks.py) while a page polls its status; and the HTML preview.

The views pick the document; everything about caching, background rendering and status is here.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Response, abort, current_app, make_response, request
from flask_login import current_user

from .. import jobs
from ..downloads import content_disposition
from ..htmx import render
from ..jobs.models import Job, JobState
from ..storage import pdf_cache, send_stored
from . import printing, tasks
from .printing import PrintDocument

PDF_MIMETYPE = "application/pdf"
PREVIEW_CSP = "default-src 'none'; style-src 'self'; font-src 'self'; img-src 'self'; frame-ancestors 'none'"
INTERRUPTED = "生成已中断，请点击重新生成。"


def light_preview() -> bool:
    """?light=1: the preview without the print fonts, for a phone on a weak link (the PDF is exact)."""
    return request.args.get("light") == "1"


def preview_response(html: str) -> Response:
    """The print HTML as a page; only ever opened as a page of its own, under its own strict CSP."""
    response = make_response(html)
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    return response


def send_pdf(cache, key: str, download_name: str) -> Response:
    """The cached PDF, streamed from the PDF cache (a local folder or the object store)."""
    response = send_stored(cache, key, mimetype=PDF_MIMETYPE, max_age=0)
    if response is None:
        abort(404)  # pruned or removed between the check and now: the next request renders it again
    response.headers["Content-Disposition"] = content_disposition(download_name, "pdf")
    response.headers["Cache-Control"] = "no-store"
    return response


def is_rendering(fingerprint: str) -> bool:
    """A job for this PDF is queued or running, on any node."""
    job = jobs.find(tasks.pdf_job_key(fingerprint))
    return job is not None and not job.is_finished


def renders_now(document: PrintDocument) -> bool:
    """Small enough to make within the request (REPORT_SYNC_SECONDS), and no renderer busy with it or another."""
    limit = float(current_app.config.get("REPORT_SYNC_SECONDS", 2.0))
    if document.estimated_seconds > limit or printing.renderer_busy():
        return False
    return not is_rendering(document.fingerprint)


def pdf_response(document: PrintDocument, *, status_url: str, back_url: str, title: str) -> Response:
    """Cached → the file at once; small → made now; large → a job makes it and the page polls."""
    cache = pdf_cache()
    cached = printing.cached_pdf(document, cache)
    if cached is not None:
        return send_pdf(cache, cached, document.download_name)
    if renders_now(document):
        return send_pdf(cache, printing.build_pdf(document, cache), document.download_name)
    job = tasks.start_pdf(document, requested_by_id=current_user.id)
    status_url = f"{status_url}?fp={document.fingerprint}"
    return render("reports/pdf_progress.html", status=202, title=title, job=job, status_url=status_url,
                  download_url=request.path, back_url=back_url)


@dataclass
class PdfStatus:
    ready: bool
    failed: bool
    job: Job | None

    @property
    def error(self) -> str:
        return self.job.error if self.job and self.job.error else INTERRUPTED


def pdf_status(fingerprint: str) -> PdfStatus:
    """Is the PDF with this fingerprint cached, still being made, or lost (failed, or forgotten)?"""
    ready = pdf_cache().exists(printing.cache_key(fingerprint))
    job = jobs.find(tasks.pdf_job_key(fingerprint))
    if job is not None and not ready:
        job = jobs.revive(job)  # its worker may have died: the job goes back to the queue
    # No job, or one done whose PDF is gone: nothing is making it; the link starts it again.
    failed = not ready and (job is None or job.state in (JobState.FAILED, JobState.DONE))
    return PdfStatus(ready=ready, failed=failed, job=job)


def pdf_status_response(download_url: str, status_url: str) -> Response:
    """The polled fragment: a progress line, the download link, or the link to start again."""
    fingerprint = request.args.get("fp", "")
    if len(fingerprint) != 64 or any(c not in "0123456789abcdef" for c in fingerprint):
        abort(404)
    status = pdf_status(fingerprint)
    return render("reports/_pdf_status.html", "reports/_pdf_status.html", ready=status.ready, failed=status.failed,
                  job=status.job, status_url=f"{status_url}?fp={fingerprint}", download_url=download_url,
                  error=status.error)
