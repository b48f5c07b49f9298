"""The registry of check builders: each rule ``kind`` names a builder, registered with ``kind``.

Its own module, so that the builder modules (dates, fields, refdata) import it and the
package imports them, with no import running back up to the package.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from ..rules import FILE_KINDS, Rule
from .env import Env


@dataclass(frozen=True)
class Check:
    rule: Rule
    item: str | None  # the file column the finding is about
    mask: pl.Expr  # True where the record fails
    other_item: str | None = None
    extras: dict[str, pl.Expr] = field(default_factory=dict)  # message values, failing rows only
    params: dict[str, object] = field(default_factory=dict)  # message values, the same for every row


Builder = Callable[[Rule, Env], list[Check]]
KINDS: dict[str, Builder] = {}
STATEFUL_KINDS = {*FILE_KINDS, "duplicate_key"}  # checked by the reader and validate, not a builder


def kind(name: str) -> Callable[[Builder], Builder]:
    def register(fn: Builder) -> Builder:
        KINDS[name] = fn
        return fn

    return register
