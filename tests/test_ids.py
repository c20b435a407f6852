"""Webex-style IDs (domain/ids.py): one base64url ``ciscospark://us/<KIND>/<value>`` scheme for every kind."""

from __future__ import annotations

from unittest.mock import ANY

import pytest

from meetadmin.domain.ids import (
    FULL_ADMIN_ROLE,
    licence_id,
    org_webex_id_for,
    person_id_for,
    role_id,
    spark_id,
    spark_id_parts,
)


def test_ids_are_stable_across_releases() -> None:
    # pinned: fixtures reload to the same IDs, and clients may have stored them
    assert person_id_for("John.Andersen@example.com") == (
        "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9hODUzNzgzYi0zZTI1LTVmNTQtYjY0NS03MDdhOWUyMjhhYTA"
    )
    assert org_webex_id_for("example") == (
        "Y2lzY29zcGFyazovL3VzL09SR0FOSVpBVElPTi83OGM0OTczMS03MTkwLTUzOGYtYTA3Yi0zMzdlY2Q0MDEzM2U"
    )
    assert role_id(FULL_ADMIN_ROLE) == "Y2lzY29zcGFyazovL3VzL1JPTEUvaWRfZnVsbF9hZG1pbg"
    assert licence_id("example", "Example.webex.com", "meeting") == (
        "Y2lzY29zcGFyazovL3VzL0xJQ0VOU0UvZDE3MzVlZmMtNmRlYS01OTA2LTljZjUtN2Q0ZWQ3NGM3YjNl"
    )


def test_each_kind_reads_back_with_its_kind() -> None:
    assert spark_id_parts(person_id_for("a@example.com")) == ("PEOPLE", ANY)
    assert spark_id_parts(org_webex_id_for("example")) == ("ORGANIZATION", ANY)
    assert spark_id_parts(role_id(FULL_ADMIN_ROLE)) == ("ROLE", FULL_ADMIN_ROLE)
    assert spark_id_parts(licence_id("example", "example.webex.com", "webinar")) == ("LICENSE", ANY)
    assert person_id_for("A@Example.com") == person_id_for("a@example.com")
    assert licence_id("o", "s.webex.com", "meeting") != licence_id("o", "s.webex.com", "webinar")


@pytest.mark.parametrize(
    "value", ["", "not base64!", spark_id("", "x"), "aGVsbG8", "Y2lzY29zcGFyazovL3VzL1BFT1BMRQ"]
)
def test_what_is_not_a_spark_id_reads_back_as_none(value: str) -> None:
    assert spark_id_parts(value) is None
