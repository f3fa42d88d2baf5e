"""Report jobs: a PDF made in the background, and the ZIP of every unit's 总结报告.

The queue is qmonth/jobs (a thread of the web process, or RQ workers); here is what the jobs do.
A PDF job is keyed by the document's fingerprint, so asking twice for the same PDF is one job
and a cached PDF is never made again. The ZIP job is keyed by the fingerprints of all its
PDFs: it asks for one PDF job per unit whose PDF is not cached, helps render them itself
(claiming each like any worker would), waits for those other workers have, then writes the
ZIP into the PDF cache store.
"""
from __future__ import annotations

import hashlib
import time
import zipfile
from contextlib import closing
from dataclasses import dataclass

from flask import current_app

from .. import jobs
from ..board.highlights import safe_name
from ..extensions import db
from ..jobs import JobError, RunningJob
from ..jobs.models import Job, JobState
from ..models import Campaign, Unit, User
from ..storage import pdf_cache, uploads
from . import printing
from .printing import PrintDocument

PDF_KIND = "pdf"
ZIP_KIND = "reports-zip"
ZIP_PREFIX = "zips/"  # beside the PDFs in the cache store; printing._prune leaves sub-folders alone
WAIT_SECONDS = 0.3
# A fixed time in every ZIP entry: the same PDFs give the same ZIP.
ZIP_ENTRY_TIME = (2024, 1, 1, 0, 0, 0)


def pdf_job_key(fingerprint: str) -> str:
    return f"{PDF_KIND}:{fingerprint}"


def start_pdf(document: PrintDocument, *, requested_by_id: int | None = None, dispatch: bool = True) -> Job:
    """The job making this PDF (joined when one exists; done at once when it is cached)."""
    cache = pdf_cache()
    key = printing.cache_key(document.fingerprint)
    return jobs.submit(PDF_KIND, pdf_job_key(document.fingerprint), printing.document_payload(document),
                       requested_by_id=requested_by_id, result_exists=lambda job: cache.exists(key),
                       dispatch=dispatch)


@jobs.task(PDF_KIND)
def render_pdf_job(job: RunningJob) -> str:
    """Render one document into the PDF cache store; its cache key is the result."""
    document = printing.document_from_payload(job.payload, current_app.static_folder, uploads())
    return printing.build_pdf(document, pdf_cache())


# The ZIP of all reports ----------------------------------------------------------------

@dataclass(frozen=True)
class ZipPart:
    name: str  # the file name inside the ZIP (Chinese)
    fingerprint: str
    unit_name: str


def unit_documents(campaign: Campaign, viewer: User) -> list[tuple[Unit, PrintDocument]]:
    """The 总结报告 of every unit the campaign addresses (the root's children), as `viewer`
    would print it, in the official order."""
    from ..units import addressed_units
    from .data import build_unit_report
    from .documents import unit_document
    from .services import report_for

    documents = []
    for unit in db.session.scalars(addressed_units(campaign)):
        report = report_for(viewer, campaign, unit, for_writing=False)
        documents.append((unit, unit_document(build_unit_report(campaign, unit, report, viewer=viewer))))
    return documents


def zip_name(campaign: Campaign) -> str:
    return f"{campaign.title}各单位总结报告"


def start_reports_zip(campaign: Campaign, viewer: User) -> Job:
    """The job making the ZIP of every unit's report: one PDF job per PDF not yet cached
    (dispatched to the workers when there are several), then the ZIP job itself."""
    cache = pdf_cache()
    parallel = jobs.engine().parallel
    parts, seen = [], set()
    for number, (unit, document) in enumerate(unit_documents(campaign, viewer), start=1):
        fingerprint = document.fingerprint
        if fingerprint not in seen and not cache.exists(printing.cache_key(fingerprint)):
            start_pdf(document, requested_by_id=viewer.id, dispatch=parallel)
        seen.add(fingerprint)
        parts.append(ZipPart(f"{number:02d}-{safe_name(unit.name, 60)}-总结报告.pdf", fingerprint, unit.name))
    digest = hashlib.sha256("\n".join(f"{p.name}:{p.fingerprint}" for p in parts).encode()).hexdigest()
    payload = {"name": zip_name(campaign), "digest": digest,
               "parts": [{"name": p.name, "fingerprint": p.fingerprint, "unit_name": p.unit_name} for p in parts]}
    zip_key = f"{ZIP_PREFIX}{digest}.zip"
    return jobs.submit(ZIP_KIND, f"{ZIP_KIND}:{digest}", payload, requested_by_id=viewer.id, total=len(parts),
                       result_exists=lambda job: cache.exists(zip_key))


@jobs.task(ZIP_KIND)
def reports_zip_job(job: RunningJob) -> str:
    """Wait for (and help make) every PDF, then write them into one ZIP in the cache store."""
    cache = pdf_cache()
    parts = [ZipPart(**part) for part in job.payload["parts"]]
    pending = {part.fingerprint: part for part in parts}
    while True:
        pending = {fp: part for fp, part in pending.items() if not cache.exists(printing.cache_key(fp))}
        job.progress(len(parts) - len(pending), len(parts))
        if not pending:
            break
        helped = False
        for fingerprint, part in pending.items():
            child = jobs.find(pdf_job_key(fingerprint))
            if child is None:
                raise JobError(f"{part.unit_name}的报告已有变化，请重新打包下载。")
            if child.state is JobState.FAILED:
                raise JobError(f"{part.unit_name}的报告生成失败：{child.error}")
            if child.state is JobState.DONE and not cache.exists(printing.cache_key(fingerprint)):
                raise JobError(f"{part.unit_name}的报告已被清理，请重新打包下载。")
            if jobs.run(child.id):  # not claimed by another worker: make it here
                helped = True
                break  # count it at once, then look again
            jobs.revive(child)  # its worker may have died
        if not helped:
            time.sleep(WAIT_SECONDS)
    return _write_zip(cache, parts, f"{ZIP_PREFIX}{job.payload['digest']}.zip")


def _write_zip(cache, parts: list[ZipPart], key: str) -> str:
    """The PDFs, stored (they are compressed already), under Chinese names with the UTF-8 flag."""
    if cache.exists(key):
        return key
    temp = cache.scratch_path(key)
    try:
        with zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_STORED) as archive:
            for part in parts:
                info = zipfile.ZipInfo(part.name, date_time=ZIP_ENTRY_TIME)
                info.flag_bits |= 0x800  # UTF-8 names (zipfile sets it too for non-ASCII ones)
                with closing(cache.open(printing.cache_key(part.fingerprint))) as source, \
                        archive.open(info, "w") as target:
                    while chunk := source.read(1024 * 1024):
                        target.write(chunk)
        cache.put_file(key, temp)
    finally:
        temp.unlink(missing_ok=True)
    return key
