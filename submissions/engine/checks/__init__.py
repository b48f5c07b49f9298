"""Vectorised checks: one polars boolean expression per rule and item, built from the rules data.

Each rule's `kind` names a builder in this package; its `params` come from rules.toml.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from ..rules import Rule
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
STATEFUL_KINDS = {"file", "duplicate_key"}


def kind(name: str) -> Callable[[Builder], Builder]:
    def register(fn: Builder) -> Builder:
        KINDS[name] = fn
        return fn

    return register


def build_checks(rules: tuple[Rule, ...], env: Env) -> list[Check]:
    checks: list[Check] = []
    for rule in rules:
        if rule.kind in STATEFUL_KINDS:
            continue
        if rule.kind not in KINDS:
            raise ValueError(f"{rule.id}: no check of kind {rule.kind!r}")
        checks.extend(KINDS[rule.kind](rule, env))
    return checks


from . import dates, fields, refdata  # noqa: E402,F401  (register the builders)
