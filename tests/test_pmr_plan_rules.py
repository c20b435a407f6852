"""The refresh planner (domain/pmr_plan.py) as pure functions: one test per rule, no database."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from meetadmin.domain.pmr import ROOM_ID_IN_USE, Problem, RoomIdRequest, request_problems
from meetadmin.domain.pmr_plan import (
    IdChooser,
    Person,
    Room,
    choose_ids,
    identify,
    plan_rooms,
    sorted_problems,
    too_few_ids,
    wanted_keys,
    wanted_people,
)

SITE = "example.webex.com"
NOW = datetime(2026, 6, 1, 12, 0)
ANN = Person(1, "pid-ann", "Ann@example.com", True)
BOB = Person(2, "pid-bob", "bob@example.com", True)
CAT = Person(3, "pid-cat", "cat@example.com", False)  # no host privilege on the site
ORG = [ANN, BOB, CAT]


def held(row_id: int, person: Person, room_id: str) -> Room:
    return Room(row_id, person.key, room_id, room_id.lower(), True, None)


def reserved(row_id: int, person: Person, room_id: str, days_left: int) -> Room:
    return Room(row_id, person.key, room_id, room_id.lower(), False, NOW + timedelta(days=days_left))


ANN_ROOM = held(10, ANN, "ann-room")
BOB_ROOM = held(20, BOB, "bob-room")


def explicit(*pairs: tuple[str, str]) -> list[RoomIdRequest]:
    return [RoomIdRequest(email=e, room_id=r) for e, r in pairs]


def who(items: list[RoomIdRequest]) -> tuple[list[Person | None], list[Problem]]:
    return identify(items, ORG, SITE, request_problems(items))


# --- who each item names ---------------------------------------------------------------------------


def test_items_name_people_by_email_regardless_of_case_or_by_person_id() -> None:
    assert wanted_people(explicit((" ANN@example.com", "a-1"))) == (["ann@example.com"], [])
    by_pid = [RoomIdRequest(person_id="pid-ann", room_id="a-1")]
    assert wanted_people(by_pid) == ([], ["pid-ann"])
    assert who(explicit((" ANN@example.com", "a-1"))) == ([ANN], [])
    assert who(by_pid) == ([ANN], [])


def test_an_unknown_person_is_not_a_user_of_the_organisation() -> None:
    people, problems = who(explicit(("ann@example.com", "a-1"), ("nobody@example.com", "a-2")))
    assert people == [ANN, None]
    assert problems == [Problem(1, "'nobody@example.com' is not a user of your organisation.")]


def test_an_email_and_a_person_id_of_two_people_read_as_unknown() -> None:
    by_pid = [RoomIdRequest(email="bob@example.com", person_id="pid-ann", room_id="a-1")]
    by_email = [
        RoomIdRequest(email="ann@example.com", person_id="pid-bob", room_id="a-1"),
        RoomIdRequest(email="bob@example.com", room_id="a-2"),
    ]
    assert who(by_pid) == ([None], [Problem(0, "'bob@example.com' is not a user of your organisation.")])
    assert who(by_email) == (
        [None, BOB],
        [Problem(0, "'ann@example.com' is not a user of your organisation.")],
    )


def test_a_person_without_host_privilege_has_no_personal_room() -> None:
    assert who(explicit(("cat@example.com", "c-1"))) == (
        [None],
        [Problem(0, f"'cat@example.com' has no host privilege on {SITE}, so has no personal room.")],
    )


def test_the_same_person_twice_is_a_problem_of_the_second_item() -> None:
    people, problems = who(explicit(("ann@example.com", "a-1"), ("ANN@example.com", "a-2")))
    assert people == [ANN, None]
    assert problems == [
        Problem(1, "'ANN@example.com' is the same person as 'ann@example.com'; name each person once.")
    ]


def test_the_same_id_twice_leaves_the_second_item_out() -> None:
    items = explicit(("ann@example.com", "same-id"), ("bob@example.com", "SAME-ID"))
    people, problems = who(items)
    assert people == [ANN, None]
    assert [p.index for p in problems] == [1] and "each ID can go to one person only" in problems[
        0
    ].description
    plan, in_use = plan_rooms(people, ["same-id", "SAME-ID"], [ANN_ROOM, BOB_ROOM], NOW)
    assert in_use == [] and plan.add == [(ANN.key, "same-id", "same-id")]


def test_problems_are_sorted_whole_request_first_then_by_item() -> None:
    mixed = [Problem(2, "c"), Problem(None, "whole"), Problem(0, "a")]
    assert sorted_problems(mixed) == [Problem(None, "whole"), Problem(0, "a"), Problem(2, "c")]


# --- what becomes of the rows --------------------------------------------------------------------


def test_a_new_id_replaces_the_current_one_which_goes_into_quarantine() -> None:
    plan, in_use = plan_rooms([ANN], ["Ann-New"], [ANN_ROOM], NOW)
    assert in_use == []
    assert (plan.delete, plan.release, plan.reclaim) == ([], [ANN_ROOM.id], [])
    assert plan.add == [(ANN.key, "Ann-New", "ann-new")]
    assert plan.changes == [(ANN, "ann-room", "Ann-New")]
    assert plan.all_new(1)


def test_a_first_id_replaces_nothing() -> None:
    plan, _ = plan_rooms([ANN], ["ann-first"], [], NOW)
    assert plan.release == [] and plan.changes == [(ANN, None, "ann-first")]


def test_an_id_held_by_someone_else_is_in_use() -> None:
    plan, in_use = plan_rooms([ANN], ["BOB-ROOM"], [ANN_ROOM, BOB_ROOM], NOW)
    assert in_use == [Problem(0, ROOM_ID_IN_USE)]
    assert plan.changes == [] and plan.add == []


def test_an_id_reserved_for_someone_else_is_in_use() -> None:
    bob_old = reserved(21, BOB, "bob-old", days_left=1)
    _plan, in_use = plan_rooms([ANN], ["bob-old"], [ANN_ROOM, bob_old], NOW)
    assert in_use == [Problem(0, ROOM_ID_IN_USE)]


def test_an_expired_quarantine_is_reused_and_its_old_row_deleted() -> None:
    bob_old = reserved(21, BOB, "bob-old", days_left=0)  # runs out now
    plan, in_use = plan_rooms([ANN], ["Bob-Old"], [ANN_ROOM, bob_old], NOW)
    assert in_use == []
    assert (plan.delete, plan.release) == ([bob_old.id], [ANN_ROOM.id])
    assert plan.add == [(ANN.key, "Bob-Old", "bob-old")]
    assert not plan.all_new(1)


def test_ones_own_quarantined_id_is_taken_back() -> None:
    ann_old = reserved(11, ANN, "ann-old", days_left=30)
    plan, in_use = plan_rooms([ANN], ["ANN-old"], [ANN_ROOM, ann_old], NOW)
    assert in_use == []
    assert (plan.release, plan.reclaim, plan.add, plan.delete) == (
        [ANN_ROOM.id],
        [(ann_old.id, "ANN-old")],
        [],
        [],
    )
    assert plan.changes == [(ANN, "ann-room", "ANN-old")]


def test_keeping_the_current_id_changes_nothing() -> None:
    plan, in_use = plan_rooms([ANN], ["ann-room"], [ANN_ROOM], NOW)
    assert in_use == [] and plan.changes == [] and plan.release == [] and plan.add == []
    assert not plan.all_new(1)


def test_another_spelling_of_the_current_id_changes_it_in_place() -> None:
    plan, in_use = plan_rooms([ANN], ["ANN-Room"], [ANN_ROOM], NOW)
    assert in_use == []
    assert (plan.release, plan.reclaim, plan.add) == ([], [(ANN_ROOM.id, "ANN-Room")], [])
    assert plan.changes == [(ANN, "ann-room", "ANN-Room")]


def test_swapping_ids_is_in_use_for_both() -> None:
    _plan, in_use = plan_rooms([ANN, BOB], ["bob-room", "ann-room"], [ANN_ROOM, BOB_ROOM], NOW)
    assert in_use == [Problem(0, ROOM_ID_IN_USE), Problem(1, ROOM_ID_IN_USE)]


def test_items_without_a_person_take_no_part_and_adds_come_in_key_order() -> None:
    plan, in_use = plan_rooms([BOB, None, ANN], ["zz-bob", "ignored", "aa-ann"], [ANN_ROOM, BOB_ROOM], NOW)
    assert in_use == []
    assert plan.add == [(ANN.key, "aa-ann", "aa-ann"), (BOB.key, "zz-bob", "zz-bob")]
    assert [c[0] for c in plan.changes] == [BOB, ANN]
    assert sorted(plan.release) == [ANN_ROOM.id, BOB_ROOM.id]


def test_wanted_keys_are_the_explicit_ids_lower_cased() -> None:
    assert wanted_keys(explicit(("a", "Ann-X"), ("b", "BOB"))) == ["ann-x", "bob"]
    assert wanted_keys([RoomIdRequest(email="a", system_generated=True)]) == []


# --- generated IDs --------------------------------------------------------------------------------


class Site:
    """A fake site for the chooser: its rows, the draws, and every lookup made."""

    def __init__(self, rows: Iterable[Room], draws: list[str]) -> None:
        self.rows = {r.room_key: r for r in rows}
        self.draws = iter(draws)
        self.lookups: list[list[str]] = []

    def draw(self, n: int) -> list[str]:
        return [next(self.draws) for _ in range(n)]

    def look_up(self, keys: list[str]) -> list[Room]:
        self.lookups.append(keys)
        return [self.rows[k] for k in keys if k in self.rows]


def test_generation_redraws_taken_reserved_repeated_and_own_ids() -> None:
    ann_old = reserved(11, ANN, "ann-old", days_left=30)
    bob_old = reserved(21, BOB, "bob-old", days_left=30)
    site = Site(
        [ANN_ROOM, BOB_ROOM, ann_old, bob_old],
        [
            "ann-room",  # ann: her own current ID
            "bob-room",  # bob: his own current ID
            "ann-old",  # ann: her own quarantined ID is not taken back by generation
            "ANN-ROOM",  # bob: held by Ann
            "bob-old",  # ann: reserved for Bob
            "gen-1",  # bob: ok
            "GEN-1",  # ann: already chosen for Bob
            "gen-2",  # ann: ok
        ],
    )
    chooser = IdChooser([ANN, BOB], [ANN_ROOM, BOB_ROOM], NOW)
    assert choose_ids(chooser, site.draw, site.look_up)
    assert chooser.targets() == ["gen-2", "gen-1"]
    assert next(site.draws, None) is None
    # current IDs are known without a lookup; an ID seen once is not looked up again
    assert site.lookups == [[], ["ann-old"], ["bob-old", "gen-1"], [], ["gen-2"]]


def test_generation_may_reuse_an_expired_quarantine() -> None:
    bob_old = reserved(21, BOB, "bob-old", days_left=-1)
    site = Site([ANN_ROOM, bob_old], ["bob-old"])
    chooser = IdChooser([ANN], [ANN_ROOM], NOW)
    assert choose_ids(chooser, site.draw, site.look_up)
    plan, in_use = plan_rooms([ANN], chooser.targets(), [ANN_ROOM, *chooser.found], NOW)
    assert in_use == [] and plan.delete == [bob_old.id] and plan.add == [(ANN.key, "bob-old", "bob-old")]


def test_the_first_draw_may_be_given_and_items_without_a_person_draw_nothing() -> None:
    site = Site([BOB_ROOM], ["gen-3"])
    chooser = IdChooser([None, ANN, BOB], [ANN_ROOM, BOB_ROOM], NOW)
    assert choose_ids(chooser, site.draw, site.look_up, first=["gen-1", "ann-room"])
    assert chooser.targets() == ["", "gen-1", "gen-3"]  # Ann takes the first draw's ID


def test_too_few_free_ids_is_the_conflict() -> None:
    site = Site([BOB_ROOM], ["bob-room"] * 40)
    chooser = IdChooser([ANN], [ANN_ROOM], NOW)
    assert not choose_ids(chooser, site.draw, site.look_up)
    assert chooser.pending == 1
    assert too_few_ids(SITE) == (
        f"The personal room ID rule of {SITE} has too few free IDs left to generate new ones; "
        "ask for specific IDs instead, or widen the site's rule."
    )


# --- the quick path's plan -----------------------------------------------------------------------


def test_with_only_the_current_rooms_known_every_new_id_is_an_add() -> None:
    """What the quick path carries out: the rows the release returns are all the plan sees."""
    plan, in_use = plan_rooms([ANN, BOB], ["new-a", "new-b"], [ANN_ROOM, BOB_ROOM], NOW)
    assert in_use == [] and plan.all_new(2)
    assert plan.changes == [(ANN, "ann-room", "new-a"), (BOB, "bob-room", "new-b")]
    # keeping one's ID, or taking another's, is not something the quick path can do
    assert not plan_rooms([ANN, BOB], ["ann-room", "new-b"], [ANN_ROOM, BOB_ROOM], NOW)[0].all_new(2)
    assert plan_rooms([ANN, BOB], ["bob-room", "new-b"], [ANN_ROOM, BOB_ROOM], NOW)[1] != []
