"""Vectorised checks: one polars boolean expression per rule and item, built from the rules data.

Each rule's `kind` names a builder registered (see ``registry``) by the modules imported here;
its `params` come from rules.toml.
"""

from __future__ import annotations

from ..rules import Rule
from . import dates, fields, refdata  # noqa: F401  (register the builders)
from .env import Env
from .registry import KINDS, STATEFUL_KINDS, Check

__all__ = ["KINDS", "STATEFUL_KINDS", "Check", "build_checks"]


def build_checks(rules: tuple[Rule, ...], env: Env) -> list[Check]:
    checks: list[Check] = []
    for rule in rules:
        if rule.kind in STATEFUL_KINDS:
            continue
        if rule.kind not in KINDS:
            raise ValueError(f"{rule.id}: no check of kind {rule.kind!r}")
        checks.extend(KINDS[rule.kind](rule, env))
    return checks
