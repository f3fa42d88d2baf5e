"""How a report reaches the user: a PDF from the cache, made at once when it is small, or made by a
background thread while a page polls its status; and the HTML preview, a page of its own.

The views pick the document; everything about caching, background rendering and status is here.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Response, abort, current_app, make_response, request

from ..downloads import send_download
from ..htmx import render
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


def send_pdf(path, download_name: str) -> Response:
    response = send_download(path, mimetype=PDF_MIMETYPE, name=download_name, extension="pdf",
                             conditional=False, etag=False, max_age=0)
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
    cached = printing.cached_pdf(document, instance)
    if cached is not None:
        return send_pdf(cached, document.download_name)
    if renders_now(document, instance):
        return send_pdf(printing.build_pdf(document, instance), document.download_name)
    job = printing.start_background(document, instance)
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
    ready = (printing.cache_dir(instance) / f"{fingerprint}.pdf").is_file()
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
