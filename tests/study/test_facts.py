"""The study facts of study/facts.py: each in one file, consistent with the rest of study/."""

from __future__ import annotations

import study
from study import facts


def test_visit_forms_are_the_forms_with_a_visit_and_name_their_date_column():
    forms = study.form_columns()
    with_visit = forms.loc[forms["COLUMN"] == "VISIT", "FORM"].tolist()
    assert list(facts.visit_forms()) == with_visit
    for form, dtc in facts.visit_forms().items():
        # the harmonized column of the form's DATE column (VSDAT as sent -> VSDTC)
        cols = study.form_columns(form)
        assert dtc.endswith("DTC")
        assert cols.set_index("COLUMN").loc[dtc[:-3] + "DAT", "TYPE"] == "DATE"


def test_disposition_terms_are_the_dsdecod_value_set():
    assert tuple(facts.disposition()["DSDECOD"]) == study.valueset("DSDECOD")


def test_disposition_roles_and_end_of_study_status():
    assert facts.milestones() == ("INFORMED CONSENT OBTAINED", "RANDOMIZED")
    status = facts.end_of_study_status()
    assert status["COMPLETED"] == "COMPLETED"
    assert set(status.values()) == {"COMPLETED", "DISCONTINUED"}
    assert not set(status) & set(facts.milestones())
    for role in ("COMPLETION", "DEATH", "SCREEN FAILURE"):
        assert facts.disposition_term(role) in status
    roles = facts.disposition()["ROLE"]
    assert roles[roles != ""].is_unique


def test_primary_endpoint_visit_is_a_scheduled_sledai_visit():
    visit = facts.primary_endpoint_visit()
    assert visit == "WEEK 24"
    v = study.visits().set_index("VISIT")
    assert v.loc[visit, "SLEDAI"] == "Y"


def test_planned_ages_only_in_protocol_limits():
    assert not {"age_min", "age_max"} & set(study.study())
    limits = study.protocol_limits()
    assert (limits["AGE_MIN"], limits["AGE_MAX"]) == (18.0, 75.0)
