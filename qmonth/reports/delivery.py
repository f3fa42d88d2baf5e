"""How a report reaches the user: a PDF from the cache, made at once when it is small, or made by a
background thread while a page polls its status; and the HTML preview, a page of its own.

The views pick the document; everything about caching, background rendering and status is here.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Response, abort, current_app, make_response, request

from ..downloads import content_disposition
from ..htmx import render
from ..storage import pdf_cache, send_stored
from . import printing
from .printing import Job, PrintDocument

PDF_MIMETYPE = "application/pdf"
PREVIEW_CSP = "default-src 'none'; style-src 'self'; font-src 'self'; img-src 'self'; frame-ancestors 'none'"
INTERRUPTED = "生成已中断，请点击重新生成。"


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


def renders_now(document: PrintDocument, instance: str) -> bool:
    """Small enough to make within the request (REPORT_SYNC_SECONDS), and no renderer busy with it or another."""
    limit = float(current_app.config.get("REPORT_SYNC_SECONDS", 2.0))
    busy = printing.is_rendering(document.fingerprint, instance) or printing.renderer_busy()
    return document.estimated_seconds <= limit and not busy


def pdf_response(document: PrintDocument, *, status_url: str, back_url: str, title: str) -> Response:
    """Cached → the file at once; small → made now; large → a thread makes it and the page polls."""
    instance = current_app.instance_path
    cache = pdf_cache()
    cached = printing.cached_pdf(document, cache)
    if cached is not None:
        return send_pdf(cache, cached, document.download_name)
    if renders_now(document, instance):
        return send_pdf(cache, printing.build_pdf(document, cache), document.download_name)
    job = printing.start_background(document, cache, instance)
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


def pdf_status(fingerprint: str, instance: str) -> PdfStatus:
    """Is the PDF with this fingerprint cached, still being made, or lost (failed, or a restart)?"""
    ready = pdf_cache().exists(printing.cache_key(fingerprint))
    job = printing.job_for(fingerprint)
    failed = bool(job and job.finished and job.error) and not ready
    if not ready and not failed and not printing.is_rendering(fingerprint, instance):
        failed = True  # nothing is making it (a restart): the link starts it again
    return PdfStatus(ready=ready, failed=failed, job=job)


def pdf_status_response(download_url: str, status_url: str) -> Response:
    """The polled fragment: a progress line, the download link, or the link to start again."""
    fingerprint = request.args.get("fp", "")
    if len(fingerprint) != 64 or any(c not in "0123456789abcdef" for c in fingerprint):
        abort(404)
    status = pdf_status(fingerprint, current_app.instance_path)
    return render("reports/_pdf_status.html", "reports/_pdf_status.html", ready=status.ready, failed=status.failed,
                  job=status.job, status_url=f"{status_url}?fp={fingerprint}", download_url=download_url,
                  error=status.error)
