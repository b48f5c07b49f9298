"""Services queue tasks by name (tasks import services, never the other way round)."""

from __future__ import annotations

from celery import current_app

from submissions import tasks
from submissions.cycle.extract_services import EXTRACT_TASK
from submissions.services import PROCESS_TASK


def test_the_names_services_send_are_the_registered_tasks() -> None:
    assert current_app.tasks[PROCESS_TASK] is tasks.process_submission._get_current_object()
    assert current_app.tasks[EXTRACT_TASK] is tasks.build_extract._get_current_object()


def test_a_task_sent_by_name_runs_eagerly_in_the_tests(monkeypatch) -> None:
    from dids_portal.lib.tasks import task_send

    ran: list[int] = []
    monkeypatch.setattr(tasks, "submission_process",
                        lambda *, submission_id: ran.append(submission_id) or "done")
    task_send(PROCESS_TASK, 41)
    assert ran == [41]
