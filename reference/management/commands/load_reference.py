"""Load reference data: the shipped sample, a release in the portal's layout, or ODS files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from reference.loaders import SAMPLE_DIR, ReleaseFileError, read_ods, read_portal_directory
from reference.services import ods_rows_as_organisations, reference_release_load


class Command(BaseCommand):
    help = (
        "Load reference data (code lists, organisations, sites, NICIP and SNOMED CT imaging "
        "codes) into the database, idempotently, and record the release. With no arguments "
        "loads the shipped SAMPLE release."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("directory", nargs="?", default=str(SAMPLE_DIR),
                            help="A release directory in the portal's CSV layout (default: the sample).")
        parser.add_argument("--ods-trusts", help="ODS trusts file (etr.csv), headerless.")
        parser.add_argument("--ods-independent", help="ODS independent-sector providers file (e.g. ephp.csv).")
        parser.add_argument("--ods-sites", help="ODS sites file (ets.csv), headerless; parent in column 15.")
        parser.add_argument("--ods-gp", help="ODS GP practices file (epraccur.csv), headerless.")
        parser.add_argument("--user", help="Email of the person loading (recorded in history).")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = None
        if options["user"]:
            actor = User.objects.filter(email=options["user"].lower()).first()
            if actor is None:
                raise CommandError(f"No user with email {options['user']}.")
        try:
            release = read_portal_directory(Path(options["directory"]))
            extra: dict[str, list[dict[str, Any]]] = {"organisations": [], "sites": []}
            for option, type_ in (("ods_trusts", "nhs_trust"), ("ods_independent", "independent_sector"),
                                  ("ods_gp", "gp_practice")):
                if options[option]:
                    path = Path(options[option])
                    release.paths.append(path)
                    kind = "gp" if type_ == "gp_practice" else "trusts"
                    extra["organisations"] += ods_rows_as_organisations(read_ods(path, kind=kind),
                                                                        type_=type_)
            if options["ods_sites"]:
                path = Path(options["ods_sites"])
                release.paths.append(path)
                extra["sites"] += read_ods(path, kind="sites")
            record, changed = reference_release_load(release=release, actor=actor, extra=extra)
        except (ReleaseFileError, OSError) as exc:
            raise CommandError(f"Nothing was loaded: {exc}") from exc
        if not changed:
            self.stdout.write(f"Reference release '{record.label}' is already loaded; nothing changed.")
            return
        self.stdout.write(self.style.SUCCESS(f"Loaded reference release '{record.label}'"
                                             + (" (SAMPLE data)" if record.is_sample else "")))
        for kind, counts in record.summary.items():
            self.stdout.write(f"  {kind}: {counts['created']} created, {counts['updated']} updated, "
                              f"{counts['unchanged']} unchanged")
