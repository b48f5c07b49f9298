import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from reference.choices import Modality, OrganisationType
from reference.models import Code, Organisation, Site, SnomedConcept, SubmittingArrangement
from tests.accounts.factories import UserFactory
from tests.reference.factories import (
    CodeFactory,
    CodeListFactory,
    OrganisationFactory,
    SiteFactory,
    SnomedConceptFactory,
)

pytestmark = pytest.mark.django_db

D = datetime.date


def _rejected_by_the_database():
    return pytest.raises(IntegrityError)


# Constraints


def test_organisation_closed_before_it_opened_is_rejected_by_the_database():
    with _rejected_by_the_database(), transaction.atomic():
        OrganisationFactory(opened=D(2020, 4, 1), closed=D(2020, 3, 31))


def test_organisation_closed_on_the_day_it_opened_is_accepted():
    organisation = OrganisationFactory(opened=D(2020, 4, 1), closed=D(2020, 4, 1))

    assert organisation.closed == organisation.opened


def test_organisation_in_scope_to_before_in_scope_from_is_rejected_by_the_database():
    with _rejected_by_the_database(), transaction.atomic():
        OrganisationFactory(in_scope_from=D(2020, 4, 1), in_scope_to=D(2019, 4, 1))


def test_organisation_code_in_lower_case_is_rejected_by_the_database():
    with _rejected_by_the_database(), transaction.atomic():
        OrganisationFactory(code="rr8")


def test_site_closed_before_it_opened_is_rejected_by_the_database():
    with _rejected_by_the_database(), transaction.atomic():
        SiteFactory(opened=D(2020, 4, 1), closed=D(2019, 4, 1))


@pytest.mark.parametrize("code", ["RR81", "rr801", "RR8-01"])
def test_site_code_that_is_not_5_to_12_upper_case_letters_and_digits_is_rejected(code):
    organisation = OrganisationFactory()

    with _rejected_by_the_database(), transaction.atomic():
        Site.objects.create(code=code, name="Hospital", organisation=organisation)


@pytest.mark.parametrize("code", ["RR801", "RR8010000001"])
def test_site_code_of_5_to_12_characters_is_accepted(code):
    site = SiteFactory(code=code)

    assert Site.objects.get(pk=site.pk).code == code


def test_site_code_over_12_characters_fails_model_validation():
    site = Site(code="RR80100000001", name="Hospital", organisation=OrganisationFactory())

    with pytest.raises(ValidationError) as excinfo:
        site.full_clean()

    assert "code" in excinfo.value.message_dict


def test_submitting_arrangement_of_an_organisation_for_itself_is_rejected_by_the_database():
    organisation = OrganisationFactory()

    with _rejected_by_the_database(), transaction.atomic():
        SubmittingArrangement.objects.create(submitter=organisation, organisation=organisation)


def test_submitting_arrangement_ending_before_it_starts_is_rejected_by_the_database():
    with _rejected_by_the_database(), transaction.atomic():
        SubmittingArrangement.objects.create(
            submitter=OrganisationFactory(), organisation=OrganisationFactory(),
            valid_from=D(2024, 4, 1), valid_to=D(2024, 3, 1),
        )


@pytest.mark.postgres
def test_same_submitting_arrangement_from_the_same_day_twice_is_rejected_by_postgresql():
    bureau, provider = OrganisationFactory(), OrganisationFactory()
    SubmittingArrangement.objects.create(submitter=bureau, organisation=provider,
                                         valid_from=D(2024, 4, 1))

    with _rejected_by_the_database(), transaction.atomic():
        SubmittingArrangement.objects.create(submitter=bureau, organisation=provider,
                                             valid_from=D(2024, 4, 1))


@pytest.mark.postgres
def test_same_open_ended_submitting_arrangement_twice_is_rejected_by_postgresql():
    bureau, provider = OrganisationFactory(), OrganisationFactory()
    SubmittingArrangement.objects.create(submitter=bureau, organisation=provider)

    with _rejected_by_the_database(), transaction.atomic():
        SubmittingArrangement.objects.create(submitter=bureau, organisation=provider)


@pytest.mark.postgres
def test_same_code_from_the_same_day_twice_is_rejected_by_postgresql():
    code = CodeFactory(code="01", valid_from=D(2024, 4, 1))

    with _rejected_by_the_database(), transaction.atomic():
        Code.objects.create(code_list=code.code_list, code="01", description="Again",
                            valid_from=D(2024, 4, 1))


@pytest.mark.postgres
def test_same_code_without_a_start_date_twice_is_rejected_by_postgresql():
    code = CodeFactory(code="01")

    with _rejected_by_the_database(), transaction.atomic():
        Code.objects.create(code_list=code.code_list, code="01", description="Again")


def test_same_code_without_a_start_date_twice_fails_model_validation():
    code = CodeFactory(code="01")
    duplicate = Code(code_list=code.code_list, code="01", description="Again")

    with pytest.raises(ValidationError):
        duplicate.full_clean()


def test_code_with_a_new_start_date_may_reuse_a_code():
    code = CodeFactory(code="01", valid_to=D(2026, 3, 31))

    CodeFactory(code_list=code.code_list, code="01", valid_from=D(2026, 4, 1))

    assert code.code_list.codes.filter(code="01").count() == 2


def test_code_ending_before_it_starts_is_rejected_by_the_database():
    with _rejected_by_the_database(), transaction.atomic():
        CodeFactory(valid_from=D(2024, 4, 1), valid_to=D(2024, 3, 31))


def test_snomed_concept_id_that_is_not_6_to_18_digits_is_rejected_by_the_database():
    with _rejected_by_the_database(), transaction.atomic():
        SnomedConceptFactory(concept_id="12345X")


# Model validation


def test_organisation_cannot_succeed_itself():
    organisation = OrganisationFactory(code="RDD")
    organisation.successor_id = "RDD"

    with pytest.raises(ValidationError) as excinfo:
        organisation.full_clean()

    assert "successor" in excinfo.value.message_dict


def test_only_provider_organisations_can_be_in_scope():
    organisation = Organisation(code="B86001", name="A practice", type=OrganisationType.GP_PRACTICE,
                                in_scope_from=D(2012, 4, 1))

    with pytest.raises(ValidationError) as excinfo:
        organisation.full_clean()

    assert "in_scope_from" in excinfo.value.message_dict


def test_provider_types_are_providers_and_gp_practices_are_not():
    assert OrganisationFactory(type=OrganisationType.FOUNDATION_TRUST).is_provider
    assert not OrganisationFactory(type=OrganisationType.GP_PRACTICE, in_scope_from=None).is_provider


def test_closing_date_error_message_names_both_dates():
    organisation = OrganisationFactory.build(code="RXX", opened=D(2020, 4, 1), closed=D(2020, 1, 1))

    with pytest.raises(ValidationError) as excinfo:
        organisation.full_clean()

    assert "closed must not be before opened." in excinfo.value.messages


# valid_on


@pytest.fixture
def quarter_code():
    return CodeFactory(valid_from=D(2024, 4, 1), valid_to=D(2024, 6, 30))


def test_valid_on_includes_a_row_on_its_first_day(quarter_code):
    assert quarter_code in Code.objects.valid_on(D(2024, 4, 1))


def test_valid_on_includes_a_row_on_its_last_day(quarter_code):
    assert quarter_code in Code.objects.valid_on(D(2024, 6, 30))


def test_valid_on_excludes_a_row_the_day_before_it_starts(quarter_code):
    assert quarter_code not in Code.objects.valid_on(D(2024, 3, 31))


def test_valid_on_excludes_a_row_the_day_after_it_ends(quarter_code):
    assert quarter_code not in Code.objects.valid_on(D(2024, 7, 1))


def test_valid_on_treats_empty_bounds_as_open_ended():
    code = CodeFactory(valid_from=None, valid_to=None)

    assert code in Code.objects.valid_on(D(1900, 1, 1))
    assert code in Code.objects.valid_on(D(2999, 12, 31))


def test_valid_on_uses_opened_and_closed_for_organisations():
    organisation = OrganisationFactory(opened=D(1992, 4, 1), closed=D(2020, 3, 31))

    assert organisation in Organisation.objects.valid_on(D(2020, 3, 31))
    assert organisation not in Organisation.objects.valid_on(D(2020, 4, 1))
    assert organisation not in Organisation.objects.valid_on(D(1992, 3, 31))


def test_valid_on_uses_opened_and_closed_for_sites():
    site = SiteFactory(opened=D(1998, 4, 1), closed=D(2008, 3, 31))

    assert site in Site.objects.valid_on(D(2008, 3, 31))
    assert site not in Site.objects.valid_on(D(2008, 4, 1))


def test_valid_on_filters_snomed_concepts_by_their_validity():
    retired = SnomedConceptFactory(concept_id="123456", modality=Modality.CT,
                                   valid_to=D(2020, 1, 1))

    assert retired not in SnomedConcept.objects.valid_on(D(2021, 1, 1))


def test_valid_on_filters_submitting_arrangements_by_their_validity():
    arrangement = SubmittingArrangement.objects.create(
        submitter=OrganisationFactory(), organisation=OrganisationFactory(),
        valid_from=D(2024, 4, 1),
    )

    assert arrangement in SubmittingArrangement.objects.valid_on(D(2024, 4, 1))
    assert arrangement not in SubmittingArrangement.objects.valid_on(D(2024, 3, 31))


# History


def test_saving_records_a_history_row_with_the_given_user_and_reason():
    user = UserFactory()
    code_list = CodeListFactory.build(name="gender")
    code_list._history_user = user
    code_list._change_reason = "New list"
    code_list.save()

    record = code_list.history.get()
    assert (record.history_user, record.history_change_reason) == (user, "New list")
