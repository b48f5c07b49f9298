"""What every check needs: the layout, the context and the reference data as polars tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl

from ..context import CheckContext
from ..layout import Layout
from ..reference import ReferenceSnapshot


@dataclass
class Env:
    layout: Layout
    ctx: CheckContext
    ref: ReferenceSnapshot
    nicip: pl.DataFrame = field(init=False)
    snomed: pl.DataFrame = field(init=False)
    orgs: pl.DataFrame = field(init=False)
    sites: pl.DataFrame = field(init=False)
    org_tables: dict[str, pl.DataFrame] = field(init=False)

    def __post_init__(self) -> None:
        ref = self.ref
        self.nicip = pl.DataFrame(
            {
                "nicip_code": [n.code for n in ref.nicip.values()],
                "_n_mod": [n.modality for n in ref.nicip.values()],
                "_n_sct": [n.snomed_code for n in ref.nicip.values()],
                "_n_from": [n.valid_from for n in ref.nicip.values()],
                "_n_to": [n.valid_to for n in ref.nicip.values()],
            },
            schema={"nicip_code": pl.String, "_n_mod": pl.String, "_n_sct": pl.String,
                    "_n_from": pl.Date, "_n_to": pl.Date},
        ).with_columns(pl.lit(True).alias("_n_found"))
        self.snomed = pl.DataFrame(
            {
                "snomed_code": [s.concept_id for s in ref.snomed.values()],
                "_s_mod": [s.modality for s in ref.snomed.values()],
                "_s_from": [s.valid_from for s in ref.snomed.values()],
                "_s_to": [s.valid_to for s in ref.snomed.values()],
            },
            schema={"snomed_code": pl.String, "_s_mod": pl.String, "_s_from": pl.Date, "_s_to": pl.Date},
        ).with_columns(pl.lit(True).alias("_s_found"))
        self.orgs = pl.DataFrame(
            {
                "code": [o.code for o in ref.organisations.values()],
                "type": [o.type for o in ref.organisations.values()],
                "opened": [o.opened for o in ref.organisations.values()],
                "closed": [o.closed for o in ref.organisations.values()],
            },
            schema={"code": pl.String, "type": pl.String, "opened": pl.Date, "closed": pl.Date},
        )
        as_of = self.ctx.as_of_local_date
        sub = self.ctx.submitting_org
        self.sites = pl.DataFrame(
            {
                "code": [s.code for s in ref.sites.values()],
                "organisation": [s.organisation for s in ref.sites.values()],
                "opened": [s.opened for s in ref.sites.values()],
                "closed": [s.closed for s in ref.sites.values()],
                "owner_ok": [
                    True if sub is None else ref.may_submit_for(sub, s.organisation, as_of)
                    for s in ref.sites.values()
                ],
            },
            schema={"code": pl.String, "organisation": pl.String, "opened": pl.Date,
                    "closed": pl.Date, "owner_ok": pl.Boolean},
        )
        self.org_tables = org_frames(self)

    @property
    def version(self) -> str:
        return self.layout.version

    @property
    def as_of_date(self) -> date:
        return self.ctx.as_of_local_date

    def col(self, column: str) -> str:
        """The column a rule's item name reads in this layout."""
        return self.layout.resolve(column)

    def kind(self, column: str) -> str:
        return self.layout.item(self.col(column)).kind


def org_frames(env: Env) -> dict[str, pl.DataFrame]:
    """Join tables for the three organisation items, keyed on the item column."""
    orgs, sites = env.orgs, env.sites
    gp = orgs.select(
        pl.col("code").alias("gp_practice"),
        pl.col("opened").alias("_gp_opened"),
        pl.col("closed").alias("_gp_closed"),
    )
    referring = pl.concat(
        [
            orgs.select("code", "opened", "closed"),
            sites.filter(~pl.col("code").is_in(orgs["code"].implode())).select("code", "opened", "closed"),
        ]
    ).select(
        pl.col("code").alias("referring_org"),
        pl.col("opened").alias("_ro_opened"),
        pl.col("closed").alias("_ro_closed"),
    )
    site = sites.select(
        pl.col("code").alias("site_code"),
        pl.col("organisation").alias("_site_org"),
        pl.col("opened").alias("_site_opened"),
        pl.col("closed").alias("_site_closed"),
        pl.col("owner_ok").alias("_site_owner_ok"),
    )
    return {"gp_practice": gp, "referring_org": referring, "site_code": site}
