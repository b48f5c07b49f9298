import datetime

import factory

from reference.choices import Modality, OrganisationType
from reference.models import Code, CodeList, NicipCode, Organisation, Site, SnomedConcept


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"T{n:02d}")
    name = factory.LazyAttribute(lambda o: f"Test Provider {o.code} NHS Trust")
    type = OrganisationType.NHS_TRUST
    region = "London"
    in_scope_from = datetime.date(2012, 4, 1)
    opened = datetime.date(2000, 4, 1)


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    organisation = factory.SubFactory(OrganisationFactory)
    code = factory.Sequence(lambda n: f"TS{n:03d}")
    name = factory.LazyAttribute(lambda s: f"Hospital {s.code}")
    opened = datetime.date(2000, 4, 1)


class CodeListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CodeList
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"list_{n}")
    title = factory.LazyAttribute(lambda o: o.name.replace("_", " ").title())


class CodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Code

    code_list = factory.SubFactory(CodeListFactory)
    code = factory.Sequence(lambda n: f"{n:02d}")
    description = factory.LazyAttribute(lambda o: f"Code {o.code}")


class SnomedConceptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SnomedConcept

    concept_id = "399208008"
    description = "Plain X-ray of chest"
    modality = Modality.XRAY


class NicipCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NicipCode

    code = factory.Sequence(lambda n: f"Z{n:04d}")
    description = "Test imaging code"
    modality = Modality.XRAY
