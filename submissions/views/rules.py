"""The public page of every data item and validation rule."""

from __future__ import annotations

from typing import Any

from django.views.generic import TemplateView

from submissions.engine import rules_documentation
from submissions.engine.scoring import SCORED_ITEMS
from submissions.plausibility import HISTORY_MONTHS, MIN_HISTORY, Thresholds
from submissions.selectors import code_list_codes


class RulesView(TemplateView):
    """Every data item and validation rule, generated from the layout and rules data.

    Public: it holds no patient data, and RIS suppliers read it before they have accounts.
    Each rule has an anchor (``#DIDS001``) that findings link to.
    """

    template_name = "submissions/rules.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        docs = rules_documentation(code_list_codes())
        severity_order = {"file": 0, "reject": 1, "warn": 2}
        for item in docs["items"]:
            item["position_text"] = " / ".join(str(item["positions"].get(v, "—"))
                                               for v in ("1.0", "2.0"))
        context.update(
            ruleset_version=docs["ruleset_version"],
            items=docs["items"],
            rules=sorted(docs["rules"], key=lambda r: (severity_order.get(r["severity"], 9), r["id"])),
            scored_items=SCORED_ITEMS, plausibility=Thresholds.from_settings(),
            history_months=HISTORY_MONTHS, min_history=MIN_HISTORY,
        )
        return context
