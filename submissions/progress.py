"""A version's job progress, written where pages can see it while the version is loading."""

from __future__ import annotations

import logging
from typing import Any

from django.db import connection
from django.utils import timezone

from submissions.choices import JobState
from submissions.models import SubmissionJob

logger = logging.getLogger("submissions.services")

class JobProgress:
    """Writes job progress where pages can see it while the version's transaction is open.

    On PostgreSQL it uses its own autocommit connection; elsewhere (SQLite, one writer at a
    time) progress becomes visible when the version commits.
    """

    def __init__(self, job_pk: int) -> None:
        self.job_pk = job_pk
        self.conn: Any = None
        if connection.vendor == "postgresql":
            import psycopg

            try:
                params = connection.get_connection_params()
                self.conn = psycopg.connect(**params, autocommit=True)
            except psycopg.Error:  # progress is a nicety; the version does not depend on it
                self.conn = None

    def execute(self, sql: str, params: list[Any]) -> list[Any] | None:
        if self.conn is None:
            return None
        try:
            with self.conn.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchone() if cursor.description else None
        except Exception:
            logger.warning("Could not record progress of job %s", self.job_pk)
            return None

    def start(self) -> int | None:
        table = SubmissionJob._meta.db_table
        row = self.execute(
            f"UPDATE {table} SET attempts = attempts + 1, state = %s, started_at = %s, "  # noqa: S608
            "rows_done = 0 WHERE submission_id = %s RETURNING attempts",
            [JobState.VALIDATING, timezone.now(), self.job_pk])
        return row[0] if row else None

    def rows(self, done: int) -> None:
        table = SubmissionJob._meta.db_table
        self.execute(f"UPDATE {table} SET rows_done = %s WHERE submission_id = %s",  # noqa: S608
                     [done, self.job_pk])

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
