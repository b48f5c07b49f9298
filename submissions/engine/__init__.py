"""The DIDS validation engine: a plain Python library (no Django).

    from submissions.engine import ReferenceSnapshot, CheckContext, validate
    report = validate(path, context=CheckContext(submitting_org="RR8", ...), reference=snapshot)
"""

from .context import CheckContext
from .generate import PlantedError, generate_file
from .layout import STORAGE_COLUMNS, load_layouts, stored_columns
from .reference import Arrangement, NicipCode, OrgRef, ReferenceSnapshot, SiteRef, SnomedCode
from .report import Finding, Report
from .rules import RULESET_VERSION, load_rules, rules_documentation
from .validate import validate

__all__ = [
    "RULESET_VERSION",
    "STORAGE_COLUMNS",
    "Arrangement",
    "CheckContext",
    "Finding",
    "NicipCode",
    "OrgRef",
    "PlantedError",
    "ReferenceSnapshot",
    "Report",
    "SiteRef",
    "SnomedCode",
    "generate_file",
    "load_layouts",
    "load_rules",
    "rules_documentation",
    "stored_columns",
    "validate",
]
