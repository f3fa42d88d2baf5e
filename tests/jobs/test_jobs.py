"""The job layer with its embedded engine: state in the database, one job per key, one runner at a
time, a dead worker's job retried within the bound, progress and failures shown in Chinese."""
from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from qmonth import jobs
from qmonth.extensions import db
from qmonth.jobs.models import Job, JobState, machine_now
from qmonth.models import ActivityState
from qmonth.reports import printing, tasks

from tests.reports.support import add_photo, clear_unit

calls: list[int] = []


@jobs.task("test-count")
def _count_task(job):
    calls.append(job.id)
    job.progress(1, 2)
    return f"result-{job.payload['n']}"


@jobs.task("test-fail")
def _fail_task(job):
    raise jobs.JobError("测试任务失败：数据不完整。")


@jobs.task("test-crash")
def _crash_task(job):
    raise RuntimeError("boom")


def job_row(key: str) -> Job:
    db.session.expire_all()
    return db.session.scalar(select(Job).where(Job.key == key))


def wait_for(key: str, *, seconds: float = 60) -> Job:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        row = job_row(key)
        if row is not None and row.is_finished:
            return row
        time.sleep(0.1)
    pytest.fail(f"job {key} never finished")


def expire_lease(key: str) -> None:
    db.session.execute(update(Job).where(Job.key == key).values(lease_until=machine_now() - timedelta(seconds=1)))
    db.session.commit()


def test_a_job_runs_in_a_thread_of_the_web_process_with_its_state_in_the_database(app):
    assert jobs.engine().name == "embedded"
    job = jobs.submit("test-count", "test:a", {"n": 7}, total=2)
    assert job.state in (JobState.QUEUED, JobState.RUNNING, JobState.DONE)
    row = wait_for("test:a")
    assert row.state is JobState.DONE and row.result_key == "result-7"
    assert row.attempts == 1 and row.done == row.total == 2
    assert row.started_at is not None and row.finished_at >= row.started_at and row.lease_until is None


def test_the_same_key_is_one_job_and_a_done_jobs_result_is_reused(app):
    calls.clear()
    first = jobs.submit("test-count", "test:same", {"n": 1})
    wait_for("test:same")
    again = jobs.submit("test-count", "test:same", {"n": 1})
    assert again.id == first.id and again.state is JobState.DONE
    assert calls == [first.id]  # not run twice
    assert db.session.scalar(select(func.count()).select_from(Job).where(Job.key == "test:same")) == 1


def test_a_job_is_claimed_by_one_worker_only(app):
    job = jobs.submit("test-count", "test:claim", {"n": 1}, dispatch=False)
    first = jobs.claim(job.id)
    assert first is not None
    assert jobs.claim(job.id) is None  # running under a live lease: nobody else gets it
    assert jobs.run(job.id) is False


def test_a_job_whose_worker_died_is_retried_up_to_three_attempts_then_fails_in_chinese(app):
    job = jobs.submit("test-count", "test:dead", {"n": 3}, dispatch=False)
    for attempt in (1, 2, 3):
        assert jobs.claim(job.id) is not None  # a worker takes it... and dies: no heartbeat, no end
        assert job_row("test:dead").attempts == attempt
        assert jobs.claim(job.id) is None  # not while its lease runs
        expire_lease("test:dead")
    assert jobs.claim(job.id) is None  # the bound: no fourth attempt
    given_up = jobs.revive(job_row("test:dead"))
    assert given_up.state is JobState.FAILED and given_up.attempts == 3
    assert "已停止重试" in given_up.error
    # Asking again for the same work starts afresh.
    restarted = jobs.submit("test-count", "test:dead", {"n": 3})
    assert restarted.id == job.id
    row = wait_for("test:dead")
    assert row.state is JobState.DONE and row.attempts == 1 and row.error == ""


def test_the_sweeper_revives_a_running_job_whose_lease_ran_out(app):
    job = jobs.submit("test-count", "test:sweep", {"n": 5}, dispatch=False)
    assert jobs.claim(job.id) is not None
    expire_lease("test:sweep")
    assert jobs.sweep() == 1
    row = wait_for("test:sweep")
    assert row.state is JobState.DONE and row.attempts == 2 and row.result_key == "result-5"


def test_a_failing_task_keeps_its_chinese_message_and_a_crash_a_generic_one(app):
    jobs.submit("test-fail", "test:fail", {})
    jobs.submit("test-crash", "test:crash", {})
    failed, crashed = wait_for("test:fail"), wait_for("test:crash")
    assert failed.state is JobState.FAILED and failed.error == "测试任务失败：数据不完整。"
    assert crashed.state is JobState.FAILED and crashed.error == jobs.GENERIC_ERROR
    assert failed.attempts == 1  # a task that raised is not retried by itself


def test_healthz_says_the_broker_is_not_configured_without_redis(client):
    answer = client.get("/healthz").get_json()
    assert answer["broker"] == "not configured" and answer["status"] == "ok"


def test_a_broken_broker_url_is_refused_at_start(instance_dir):
    from qmonth import create_app

    with pytest.raises(ValueError, match="QMONTH_REDIS_URL"):
        create_app({"INSTANCE_PATH": instance_dir, "REDIS_URL": "localhost:6379"})


def test_the_worker_command_explains_that_no_worker_is_needed_without_redis(app):
    result = app.test_cli_runner().invoke(args=["jobs", "worker", "--burst"])
    assert result.exit_code != 0 and "QMONTH_REDIS_URL is not set" in result.output


# PDFs on the job layer -------------------------------------------------------------------

@pytest.fixture
def large_pdf(app, client, login_as, make_activity):
    clear_unit("jinan-zj")
    training = make_activity("jinan-zj", title="质量安全讲堂", kind="training", state=ActivityState.ACCEPTED)
    add_photo(training, seed=3, caption="专家授课")
    app.config["REPORT_SYNC_SECONDS"] = 0  # every document is made by a job
    login_as("jinan-zj-admin")
    client.get("/reports/jinan-zj")
    return training


def poll(client, status_url: str, until: str, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        fragment = client.get(status_url, headers={"HX-Request": "true"}).get_data(as_text=True)
        if until in fragment:
            return fragment
        time.sleep(0.2)
    pytest.fail(f"{until!r} never shown")


def test_a_large_pdf_is_a_job_in_the_database_found_again_by_its_fingerprint(app, client, large_pdf, user_named):
    response = client.get("/reports/jinan-zj.pdf")
    assert response.status_code == 202
    status_url = re.search(r'data-hx-get="([^"]+)"', response.get_data(as_text=True)).group(1).replace("&amp;", "&")
    fingerprint = status_url.rsplit("fp=", 1)[1]
    poll(client, status_url, "下载PDF")  # shown once the PDF is in the cache...
    row = wait_for(tasks.pdf_job_key(fingerprint))  # ...a moment before its job is marked done
    assert row.kind == "pdf" and row.state is JobState.DONE and row.attempts == 1
    assert row.result_key == printing.cache_key(fingerprint)
    assert row.requested_by_id == user_named("jinan-zj-admin").id
    assert client.get("/reports/jinan-zj.pdf").get_data().startswith(b"%PDF")
    assert db.session.scalar(select(func.count()).select_from(Job).where(Job.kind == "pdf")) == 1


def test_a_failed_render_shows_a_chinese_message_and_a_way_to_start_again(app, client, large_pdf, monkeypatch):
    def broken(document, cache):
        raise OSError("disk full")

    monkeypatch.setattr(printing, "build_pdf", broken)
    response = client.get("/reports/jinan-zj.pdf")
    assert response.status_code == 202
    status_url = re.search(r'data-hx-get="([^"]+)"', response.get_data(as_text=True)).group(1).replace("&amp;", "&")
    fragment = poll(client, status_url, "重新生成")
    assert "生成失败，请稍后重试" in fragment and 'href="/reports/jinan-zj.pdf"' in fragment
    page = client.get(status_url)
    assert page.status_code == 200 and "生成失败" in page.get_data(as_text=True)
    monkeypatch.undo()
    again = client.get("/reports/jinan-zj.pdf")  # the link starts the same job afresh
    assert again.status_code == 202
    poll(client, status_url, "下载PDF")
    assert db.session.scalar(select(func.count()).select_from(Job).where(Job.kind == "pdf")) == 1
