"""The reassignment rules as pure functions: one test per rule, no database."""

from __future__ import annotations

from dataclasses import replace

import pytest

from meetadmin.domain.ids import MeetingIdKind, parse_meeting_id
from meetadmin.domain.reassign import NewHost, SeriesFacts, host_refusal, id_refusal, why_not_reassignable

SITE = "example.webex.com"
SERIES = SeriesFacts(
    id="870f51ff287b41be84648412901e0402",
    site_url=SITE,
    host_key=1,
    scheduled_type="meeting",
    state="active",
    session_type_id="3",
    session_type_kind="meeting",
    callback=False,
    integration=None,
    scheduled_on_behalf=False,
)
HOST = NewHost(
    key=2,
    email="john@example.com",
    host=True,
    license_meeting=True,
    license_webinar=True,
    calling=True,
    session_type_ids=frozenset({"3", "9"}),
)


def verdict(
    series: SeriesFacts = SERIES, host: NewHost = HOST, allow_third_party: bool = False
) -> int | None:
    refusal = why_not_reassignable(series, host, SITE, allow_third_party)
    return None if refusal is None else refusal.status


def test_a_plain_meeting_moves() -> None:
    assert verdict() is None


def test_in_progress_meeting_is_refused_with_409() -> None:
    assert verdict(SERIES._replace(state="inProgress")) == 409
    assert verdict(SERIES._replace(state="lobby")) == 409


def test_callback_meeting_needs_a_host_with_calling_privilege() -> None:
    assert verdict(SERIES._replace(callback=True), replace(HOST, calling=False)) == 403
    assert verdict(SERIES._replace(callback=True)) is None
    assert verdict(SERIES, replace(HOST, calling=False)) is None


def test_session_type_must_be_held_by_the_new_host() -> None:
    assert verdict(SERIES._replace(session_type_id="20")) == 403


def test_mc_meeting_needs_an_mc_licence() -> None:
    assert verdict(SERIES, replace(HOST, license_meeting=False)) == 403


def test_webinar_needs_a_webinar_licence() -> None:
    webinar = SERIES._replace(session_type_id="9", session_type_kind="webinar", scheduled_type="webinar")
    assert verdict(webinar, replace(HOST, license_webinar=False)) == 403
    assert verdict(webinar, replace(HOST, license_meeting=False)) is None


@pytest.mark.parametrize("kind", ["TrainCenter", "EventCenter", "SupportCenter"])
def test_tc_ec_sc_meetings_never_move(kind: str) -> None:
    refusal = why_not_reassignable(SERIES._replace(session_type_kind=kind), HOST, SITE, False)
    assert refusal is not None and refusal.status == 400
    assert "cannot be reassigned" in refusal.description


def test_meeting_created_on_behalf_is_refused() -> None:
    assert verdict(SERIES._replace(scheduled_on_behalf=True)) == 400


def test_third_party_meeting_is_refused_unless_the_site_allows_it() -> None:
    outlook = SERIES._replace(integration="outlook")
    assert verdict(outlook) == 400
    assert verdict(outlook, allow_third_party=True) is None


def test_personal_room_meeting_is_refused() -> None:
    assert verdict(SERIES._replace(scheduled_type="personalRoomMeeting")) == 400


def test_meeting_on_another_site_is_refused() -> None:
    assert verdict(SERIES._replace(site_url="other.webex.com")) == 400


def test_site_comparison_ignores_case() -> None:
    assert verdict(SERIES._replace(site_url="Example.Webex.COM")) is None


def test_reassigning_to_the_current_host_is_harmless() -> None:
    # The new host lacks everything, but already hosts it: nothing to change, no refusal.
    same = replace(HOST, key=SERIES.host_key, license_meeting=False, session_type_ids=frozenset())
    assert verdict(SERIES, same) is None


def test_in_progress_is_refused_even_for_the_current_host() -> None:
    assert verdict(SERIES._replace(state="inProgress"), replace(HOST, key=SERIES.host_key)) == 409


def test_host_without_host_privilege_or_unknown_is_refused_with_403() -> None:
    assert host_refusal(None, SITE, "ghost@example.com") is not None
    refusal = host_refusal(replace(HOST, host=False), SITE, HOST.email)
    assert refusal is not None and refusal.status == 403
    assert host_refusal(HOST, SITE, HOST.email) is None


@pytest.mark.parametrize(
    ("meeting_id", "kind", "status"),
    [
        ("870f51ff287b41be84648412901e0402", MeetingIdKind.SERIES, None),
        ("870f51ff287b41be84648412901e0402_20191101T120000Z", MeetingIdKind.SCHEDULED, 400),
        ("870f51ff287b41be84648412901e0402_I_167427437874906709", MeetingIdKind.INSTANCE, 400),
        ("not-an-id", MeetingIdKind.UNKNOWN, 404),
        ("870F51FF287B41BE84648412901E0402", MeetingIdKind.UNKNOWN, 404),
        ("870f51ff287b41be84648412901e0402_20191399T120000Z", MeetingIdKind.UNKNOWN, 404),
        ("ünïcødé", MeetingIdKind.UNKNOWN, 404),
    ],
)
def test_only_series_ids_are_accepted(meeting_id: str, kind: MeetingIdKind, status: int | None) -> None:
    parsed = parse_meeting_id(meeting_id)
    assert parsed.kind is kind
    refusal = id_refusal(parsed.kind)
    assert (None if refusal is None else refusal.status) == status
