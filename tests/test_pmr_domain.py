"""Pure rules of personal rooms (domain/pmr.py): no database, no HTTP."""

from __future__ import annotations

import re

import pytest

from meetadmin.domain.pmr import (
    AUTO_LOCK_MINUTES,
    ROOM_ID_RULE_TEXT,
    Problem,
    RoomIdRequest,
    RoomIdRule,
    access_code,
    default_host_pin,
    host_pin_problem,
    is_valid_room_id,
    request_problems,
    room_key,
    room_link,
    sip_address,
)

A = "a@example.com"
B = "b@example.com"


def by_email(*pairs: tuple[str, str]) -> list[RoomIdRequest]:
    return [RoomIdRequest(email=e, room_id=r) for e, r in pairs]


def test_a_clean_explicit_request_has_no_problems() -> None:
    assert request_problems(by_email((A, "prABCD11112222"), (B, "prABCD33334444"))) == []


def test_a_clean_generated_request_has_no_problems() -> None:
    items = [
        RoomIdRequest(person_id="p1", system_generated=True),
        RoomIdRequest(person_id="p2", system_generated=True),
    ]
    assert request_problems(items) == []


def test_items_with_both_identifiers_are_fine_when_all_have_one_kind() -> None:
    items = [
        RoomIdRequest(email=A, person_id="p1", room_id="room-a"),
        RoomIdRequest(email=B, room_id="room-b"),
    ]
    assert request_problems(items) == []


def test_mixing_email_and_person_id_is_one_whole_request_problem() -> None:
    items = [RoomIdRequest(email=A, room_id="room-a"), RoomIdRequest(person_id="p2", room_id="room-b")]
    problems = request_problems(items)
    assert len(problems) == 1
    assert problems[0].index is None
    assert "all by 'email' or all by 'personId'" in problems[0].description


def test_an_item_naming_nobody_is_a_problem_of_that_item() -> None:
    items = [RoomIdRequest(email=A, room_id="room-a"), RoomIdRequest(room_id="room-b")]
    assert request_problems(items) == [Problem(1, "item 2 names nobody: give 'email' or 'personId'.")]


def test_both_id_and_system_generated_in_one_item() -> None:
    problems = request_problems([RoomIdRequest(email=A, system_generated=True, room_id="room-a")])
    assert [p.index for p in problems] == [0]
    assert "both 'personalMeetingRoomId' and 'systemGenerated: true'" in problems[0].description
    assert "'a@example.com'" in problems[0].description


def test_neither_id_nor_system_generated() -> None:
    for item in (RoomIdRequest(email=A), RoomIdRequest(email=A, system_generated=False)):
        problems = request_problems([item])
        assert len(problems) == 1
        assert "needs 'personalMeetingRoomId' or 'systemGenerated: true'" in problems[0].description


def test_system_generated_false_with_an_id_is_explicit() -> None:
    assert request_problems([RoomIdRequest(email=A, system_generated=False, room_id="room-a")]) == []


def test_mixing_generated_and_explicit_items() -> None:
    items = [RoomIdRequest(email=A, system_generated=True), RoomIdRequest(email=B, room_id="room-b")]
    problems = request_problems(items)
    assert len(problems) == 1 and problems[0].index is None
    assert "mixes the two" in problems[0].description


@pytest.mark.parametrize("bad", ["ab", "-abc", ".abc", "_abc", "a b c", "a" * 65, "abc!", "zürich", ""])
def test_invalid_room_ids_are_named_with_the_rule(bad: str) -> None:
    problems = request_problems([RoomIdRequest(email=A, room_id=bad)])
    assert len(problems) == 1
    assert problems[0].index == 0
    assert ROOM_ID_RULE_TEXT in problems[0].description
    assert "'a@example.com'" in problems[0].description


@pytest.mark.parametrize("good", ["abc", "a" * 64, "9.x-y_z", "prABCD23670651", "John.Smith"])
def test_valid_room_ids(good: str) -> None:
    assert is_valid_room_id(good)
    assert request_problems([RoomIdRequest(email=A, room_id=good)]) == []


def test_the_same_id_twice_regardless_of_case_is_a_problem_of_the_second_item() -> None:
    problems = request_problems(by_email((A, "room-x"), (B, "ROOM-X")))
    assert len(problems) == 1
    assert problems[0].index == 1
    assert "also asked for by 'a@example.com'" in problems[0].description


def test_every_problem_is_reported() -> None:
    items = [
        RoomIdRequest(email=A, room_id="x"),
        RoomIdRequest(email=B, room_id="ok-id", system_generated=True),
        RoomIdRequest(room_id="other-id"),
    ]
    assert len(request_problems(items)) == 3


def test_labels_prefer_email_then_person_id_then_position() -> None:
    assert RoomIdRequest(email=A, person_id="p").label(0) == "'a@example.com'"
    assert RoomIdRequest(person_id="p").label(0) == "personId 'p'"
    assert RoomIdRequest().label(4) == "item 5"


@pytest.mark.parametrize("pin", ["4325", "0582", "9990", "1357", "2468", "1243", "7890"])
def test_good_host_pins(pin: str) -> None:
    assert host_pin_problem(pin) is None


@pytest.mark.parametrize(
    ("pin", "words"),
    [
        ("1234", "sequential"),
        ("4321", "sequential"),
        ("1111", "repeat"),
        ("0000", "repeat"),
        ("123", "exactly 4 digits"),
        ("12345", "exactly 4 digits"),
        ("12a4", "exactly 4 digits"),
        ("١٢٣٥", "exactly 4 digits"),  # Arabic-Indic digits are not ASCII digits
        ("", "exactly 4 digits"),
    ],
)
def test_bad_host_pins(pin: str, words: str) -> None:
    problem = host_pin_problem(pin)
    assert problem is not None and words in problem


def test_default_host_pin_is_stable_and_valid() -> None:
    for n in range(200):
        seed = f"site:{n}".encode()
        pin = default_host_pin(seed)
        assert pin == default_host_pin(seed)
        assert host_pin_problem(pin) is None


def test_access_code_is_ten_stable_digits() -> None:
    code = access_code(b"1:2")
    assert re.fullmatch(r"[1-9]\d{9}", code)
    assert code == access_code(b"1:2") != access_code(b"1:3")


def test_room_id_rule_generates_prefix_site_code_and_digits() -> None:
    value = RoomIdRule("pr", "ABCD", 8).generate()
    assert re.fullmatch(r"prABCD\d{8}", value)
    assert is_valid_room_id(value)


def test_links_and_keys() -> None:
    assert room_key("PrAbCd1") == "prabcd1"
    assert room_link("example.webex.com", "prABCD1") == "https://example.webex.com/meet/prABCD1"
    assert sip_address("example.webex.com", "prABCD1") == "prABCD1@example.webex.com"
    assert AUTO_LOCK_MINUTES == (0, 5, 10, 15, 20)


def test_generate_many_draws_each_id_by_the_rule() -> None:
    rule = RoomIdRule("pr", "ABCD", 10)
    ids = rule.generate_many(500)
    assert len(ids) == 500
    assert all(re.fullmatch(r"prABCD\d{10}", i) for i in ids)
    assert len(set(ids)) >= 499  # 10 digits: a repeat among 500 is a one-in-40,000 event
    assert len({i[6] for i in ids}) == 10  # every leading digit occurs (zero-padded, not truncated)
