"""The registry of planters and what they share: the setting of a generated file and the
planted error it reports. Each planter registers itself for its rule ids with ``planter``.

Its own module, so that the planter modules (planting, planting_reference) import it and
neither imports the other back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from .context import add_months
from .layout import Layouts, load_layouts
from .reference import ReferenceSnapshot


@dataclass(frozen=True)
class PlantedError:
    line: int
    rule: str
    also: tuple[str, ...] = ()


@dataclass(frozen=True)
class Setting:
    version: str
    org: str
    month: date
    month_end: date
    as_of: date
    reference: ReferenceSnapshot
    layouts: Layouts

    @classmethod
    def build(cls, *, version: str, org: str, month: date, reference: ReferenceSnapshot) -> Setting:
        start = month.replace(day=1)
        nxt = add_months(start, 1)
        return cls(version, org, start, nxt - timedelta(days=1), nxt, reference, load_layouts())

    @property
    def v2(self) -> bool:
        return self.version == "2.0"

    @property
    def test(self) -> str:
        return "procedure_start" if self.v2 else "test_date"

    @property
    def report(self) -> str:
        return "report_issued" if self.v2 else "report_date"

    def same_version(self, day: date) -> bool:
        return self.layouts.version_for(day) == self.version


Record = dict[str, str | None]
Planter = Callable[[Record, Setting, Record | None], tuple[str, ...] | None]
PLANTERS: dict[str, Planter] = {}


def planter(*rule_ids: str) -> Callable[[Planter], Planter]:
    def register(fn: Planter) -> Planter:
        for rid in rule_ids:
            PLANTERS[rid] = fn
        return fn
    return register
