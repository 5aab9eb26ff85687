"""Steps of the newest rounds' shapes, killed (SIGKILL) inside: nothing of the step is left.

The shapes of rounds 11 and 12 (``crash_shapes.py``): an event-based gateway inside a
subprocess inside a loop with event subprocesses at two levels, boundary events on call
activities three deep, an inclusive split and join and a multi-instance activity in a loop,
a message for one of two waiting catches, a cycle timer on a task; and the newest engine
paths: a Camunda 8 job worker whose outputs are mapped from its result (and whose retry maps
them again without the operator), messages matched by a Camunda 8 correlation key (sent, and
queued by another instance), the retry of a pre-script failed on a call activity or a
subprocess, a timer due before a reply fired in a pass of its own. Each step runs in a real
child process (``crash_matrix_worker.py``) through the API or the background pass and is
killed in a handler's CRM write, after the engine step (the CRM rows flushed, or the step's
writes sent) or at commit. Every row of every table is then as before (the background pass
leaves its claim only), the instance's view through the API is as before, and the same
request (or the next pass) applies the step once: its notes once, its waits renewed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from tests.engine import crash_shapes as shapes
from tests.engine.conftest import T0, Timed, notes_of
from tests.engine.test_crash_matrix import (
    CLAIMS,
    changes,
    crash,
    deploy,
    dump,
    install,
    outbox,
    subscribe,
)


@pytest.fixture
def timed_holding(timed: Timed) -> Timed:
    """A timed app whose engine knows ``test.hold``, with a webhook subscription."""
    install(timed.runtime)
    subscribe(timed.actor("admin", username="root", team=None))
    return timed


def view(timed: Timed, instance_id: int) -> dict[str, Any]:
    """What the API shows of the instance, its tasks' and waits' order left aside."""
    seen = timed.agent.instance(instance_id)
    return {
        "status": seen["status"],
        "data": seen["data"],
        "tasks": sorted((t["id"], t["name"]) for t in seen["ready_tasks"]),
        "waiting": sorted(
            (w["kind"], w["name"] or "", w.get("due_at") or "") for w in seen["waiting"]
        ),
        "incidents": seen["incidents"],
    }


class Killer:
    """Kills steps of one instance and checks that nothing of them is left."""

    def __init__(self, timed: Timed, tmp_path: Any, env: dict[str, str], instance_id: int):
        self.timed, self.tmp_path, self.env, self.instance_id = timed, tmp_path, env, instance_id
        self.db: Callable[..., Any] = timed.runtime.db.unit_of_work

    def post(
        self, point: str, url: str, body: dict[str, Any], *, nth: int = 1, actor: Any = None
    ) -> None:
        """POST ``url`` (as the agent, or ``actor``) in a child process on the test's clock,
        killed at ``point``: every row as before."""
        before, seen = dump(self.db), view(self.timed, self.instance_id)
        action = {"post": url, "body": body}
        actor, clock = actor or self.timed.agent, self.timed.clock.now()
        crash(self.tmp_path, self.env, point, action, actor=actor, nth=nth, clock=clock)
        assert changes(before, dump(self.db)) == {}
        assert view(self.timed, self.instance_id) == seen

    def background(self, point: str, *, nth: int = 1) -> None:
        """A background pass killed at ``point``: only its claim on the instance is left,
        which keeps the next pass off it until the claim runs out."""
        before, seen = dump(self.db, CLAIMS), view(self.timed, self.instance_id)
        clock = self.timed.clock.now()
        crash(self.tmp_path, self.env, point, {"pass": True}, clock=clock, nth=nth)
        assert changes(before, dump(self.db, CLAIMS)) == {}
        assert view(self.timed, self.instance_id) == seen
        assert self.timed.advance() == 0  # still claimed by the dead pass

    def queued(self, point: str) -> None:
        """A background pass delivering a queued message killed at ``point``: every row as
        before, the message still queued for the next pass."""
        before, seen = dump(self.db, CLAIMS), view(self.timed, self.instance_id)
        clock = self.timed.clock.now()
        crash(self.tmp_path, self.env, point, {"pass": True}, clock=clock)
        assert changes(before, dump(self.db, CLAIMS)) == {}
        assert view(self.timed, self.instance_id) == seen


def send(timed: Timed, body: dict[str, Any]) -> dict[str, Any]:
    response = timed.agent.post("/api/v1/messages", json=body)
    assert response.status_code == 202, response.get_json()
    return response.get_json()


ROUND_WAITS = [  # a round's waits beside the process's event subprocesses
    ("message", "offer_note"),
    ("message", "offer_reply"),
    ("message", "offer_withdrawn"),
    ("message", "offers_stopped"),
    ("timer", "o_hour"),
    ("timer", "o_remind_start"),
]


def kinds(timed: Timed, instance_id: int) -> list[tuple[str, str]]:
    return sorted((w["kind"], w["name"]) for w in timed.agent.instance(instance_id)["waiting"])


def test_offer_rounds_killed_in_every_kind_of_step(
    timed_holding: Timed, make_customer, test_env, tmp_path
):
    """The reply at the event-based gateway inside the round, the round's reminder (a
    non-interrupting timer event subprocess) fired by the background pass, a note (the
    process's non-interrupting message event subprocess), a withdrawal (the round's
    interrupting one) and the stop (the process's interrupting one), each killed once."""
    timed = timed_holding
    db = timed.runtime.db.unit_of_work
    deploy(timed.owner, shapes.OFFERS)
    customer = make_customer()
    started = timed.agent.start("held_offers", {"customer_id": customer.id}, business_key="of-1")
    assert kinds(timed, started["id"]) == ROUND_WAITS
    kill = Killer(timed, tmp_path, test_env, started["id"])
    reply = {"name": "offer_reply", "business_key": "of-1", "message_id": "reply-1"}
    reply["payload"] = {"answer": "yes"}

    kill.post("handler", "/api/v1/messages", reply)
    assert send(timed, reply)["duplicate"] is False
    assert (view(timed, started["id"])["data"]["rounds"], kinds(timed, started["id"])) == (
        1,
        ROUND_WAITS,
    )
    assert notes_of(db, customer.id) == ["reply yes"]

    timed.clock.advance(timedelta(minutes=45))
    kill.background("save")
    assert timed.advance(seconds=31) == 1
    assert notes_of(db, customer.id) == ["reply yes", "reminded"]
    assert ("timer", "o_remind_start") not in kinds(timed, started["id"])

    kill.post("writes", "/api/v1/messages", {"name": "offer_note", "business_key": "of-1"})
    send(timed, {"name": "offer_note", "business_key": "of-1"})
    assert notes_of(db, customer.id) == ["reply yes", "reminded", "noted"]

    kill.post("commit", "/api/v1/messages", {"name": "offer_withdrawn", "business_key": "of-1"})
    send(timed, {"name": "offer_withdrawn", "business_key": "of-1"})
    assert notes_of(db, customer.id) == ["reply yes", "reminded", "noted", "withdrawn"]
    assert view(timed, started["id"])["data"]["rounds"] == 2
    assert kinds(timed, started["id"]) == ROUND_WAITS  # round 3, its own reminder waiting

    kill.post("handler", "/api/v1/messages", {"name": "offers_stopped", "business_key": "of-1"})
    send(timed, {"name": "offers_stopped", "business_key": "of-1"})
    done = view(timed, started["id"])
    assert (done["status"], done["waiting"], done["incidents"]) == ("completed", [], [])
    assert notes_of(db, customer.id) == ["reply yes", "reminded", "noted", "withdrawn", "stopped"]
    assert timed.advance(hours=2) == 0
    assert outbox(db) == [("process_instance.completed", started["id"])]


def start_chain(timed: Timed, customer_id: int) -> tuple[int, str]:
    started = timed.agent.start(
        "held_chain", {"customer_id": customer_id}, business_key=f"d-{customer_id}"
    )
    [quote] = started["ready_tasks"]
    assert quote["name"] == "quote"
    return started["id"], quote["id"]


def test_a_deal_chain_three_calls_deep_killed_at_its_boundary_events(
    timed_holding: Timed, make_customer, test_env, tmp_path
):
    """A withdrawal (message boundary event on the second call) cancelling two levels, a
    missing budget (error end event three levels down, caught on the third call), a deep
    discount (escalation caught without interrupting) and the expiry (timer on the outer call,
    fired by the background pass) cancelling all three levels with two tasks open."""
    timed = timed_holding
    db = timed.runtime.db.unit_of_work
    deploy(timed.owner, *shapes.CHAINS)
    withdrawn, broke, deep = (make_customer() for _ in range(3))

    instance_id, quote = start_chain(timed, withdrawn.id)
    kill = Killer(timed, tmp_path, test_env, instance_id)
    kill.post(
        "save", "/api/v1/messages", {"name": "deal_withdrawn", "business_key": f"d-{withdrawn.id}"}
    )
    assert [t["id"] for t in timed.agent.tasks()] == [quote]
    assert send(timed, {"name": "deal_withdrawn", "business_key": f"d-{withdrawn.id}"})[
        "delivered_to"
    ] == [instance_id]
    assert view(timed, instance_id)["status"] == "completed"
    assert notes_of(db, withdrawn.id) == ["withdrawn", "chain done"]
    assert timed.agent.complete(quote, {"budget": 1, "discount": 1}).status_code == 409

    instance_id, quote = start_chain(timed, broke.id)
    kill = Killer(timed, tmp_path, test_env, instance_id)
    url = f"/api/v1/tasks/{quote}/complete"
    kill.post("handler", url, {"data": {"budget": 0, "discount": 0}})
    done = timed.agent.complete_ok(quote, {"budget": 0, "discount": 0})
    assert (done["status"], done["incidents"]) == ("completed", [])
    assert notes_of(db, broke.id) == ["no budget", "chain done"]

    instance_id, quote = start_chain(timed, deep.id)
    kill = Killer(timed, tmp_path, test_env, instance_id)
    url = f"/api/v1/tasks/{quote}/complete"
    kill.post("commit", url, {"data": {"budget": 5, "discount": 30}})
    opened = timed.agent.complete_ok(quote, {"budget": 5, "discount": 30})
    assert sorted(t["name"] for t in opened["ready_tasks"]) == ["approve", "confirm"]
    assert notes_of(db, deep.id) == ["deep discount"]

    timed.clock.advance(timedelta(days=1))
    kill.background("writes")
    assert timed.advance(seconds=31) == 1
    done = view(timed, instance_id)
    assert (done["status"], done["tasks"], done["waiting"]) == ("completed", [], [])
    assert notes_of(db, deep.id) == ["deep discount", "expired"]
    assert timed.agent.tasks() == []
    assert timed.advance(days=2) == 0


def test_inclusive_turns_and_each_contact_in_a_loop_killed_mid_turn(
    timed_holding: Timed, make_customer, test_env, tmp_path
):
    """The review's completion runs the next turn: an inclusive split and join in the loop
    (both branches on even turns), then a note per contact (multi-instance). Killed in the
    first contact's handler, after both branches' notes; then at the commit of the last turn."""
    timed = timed_holding
    db = timed.runtime.db.unit_of_work
    deploy(timed.owner, shapes.LOOPS)
    lead, *contacts = (make_customer() for _ in range(3))
    data = {"customer_id": lead.id, "customers": [c.id for c in contacts]}
    started = timed.agent.start("held_loops", data)
    [review] = started["ready_tasks"]
    assert notes_of(db, lead.id) == ["a1"]
    kill = Killer(timed, tmp_path, test_env, started["id"])

    kill.post("handler", f"/api/v1/tasks/{review['id']}/complete", {"data": {}}, nth=3)
    [review] = timed.agent.complete_ok(review["id"])["ready_tasks"]
    assert notes_of(db, lead.id) == ["a1", "a2", "b2"]
    assert [notes_of(db, c.id) for c in contacts] == [["each1", "each2"]] * 2

    kill.post("commit", f"/api/v1/tasks/{review['id']}/complete", {"data": {}})
    [review] = timed.agent.complete_ok(review["id"])["ready_tasks"]
    assert notes_of(db, lead.id) == ["a1", "a2", "b2", "a3"]
    assert [notes_of(db, c.id) for c in contacts] == [["each1", "each2", "each3"]] * 2
    done = timed.agent.complete_ok(review["id"])
    assert (done["status"], done["data"]["turn"]) == ("completed", 3)


def test_a_message_for_one_of_two_waiting_catches_killed(
    timed_holding: Timed, make_customer, test_env, tmp_path
):
    """Two catches wait for the same message; the one waiting longest takes the first. Killed,
    the order of the waits is kept: sent again, the message still moves that catch, and the
    next one the other."""
    timed = timed_holding
    db = timed.runtime.db.unit_of_work
    deploy(timed.owner, shapes.TWO_CATCHES)
    customer = make_customer()
    started = timed.agent.start(
        "held_two_catches", {"customer_id": customer.id}, business_key="t-1"
    )
    timed.agent.complete_ok(started["ready_tasks"][0]["id"])  # ``reply_a`` waits from now
    kill = Killer(timed, tmp_path, test_env, started["id"])
    first = {"name": "two_reply", "business_key": "t-1", "message_id": "r-1"}
    second = {"name": "two_reply", "business_key": "t-1", "message_id": "r-2"}

    kill.post("writes", "/api/v1/messages", first)
    assert send(timed, first) == {"delivered_to": [started["id"]], "duplicate": False}
    assert notes_of(db, customer.id) == ["b"]
    kill.post("handler", "/api/v1/messages", second)
    send(timed, second)
    assert notes_of(db, customer.id) == ["b", "a"]
    assert view(timed, started["id"])["status"] == "completed"


def test_a_cycle_timer_on_a_task_killed_while_firing_and_the_task_killed_while_completed(
    timed_holding: Timed, make_customer, test_env, tmp_path
):
    timed = timed_holding
    db = timed.runtime.db.unit_of_work
    deploy(timed.owner, shapes.REMINDED)
    customer = make_customer()
    started = timed.agent.start("held_reminded", {"customer_id": customer.id})
    [call] = started["ready_tasks"]
    kill = Killer(timed, tmp_path, test_env, started["id"])

    timed.clock.advance(timedelta(hours=1))
    kill.background("handler")
    assert timed.advance(seconds=31) == 1
    assert notes_of(db, customer.id) == ["reminder"]
    assert [t["id"] for t in timed.agent.tasks()] == [call["id"]]
    # the cycle keeps its times: the next reminder two hours after the start, as before
    [wait] = timed.agent.instance(started["id"])["waiting"]
    assert (wait["kind"], wait["due_at"]) == ("timer", (T0 + timedelta(hours=2)).isoformat())
    assert timed.advance(minutes=59) == 0
    assert timed.advance(seconds=29) == 1
    assert notes_of(db, customer.id) == ["reminder"] * 2

    kill.post("save", f"/api/v1/tasks/{call['id']}/complete", {"data": {}})
    done = timed.agent.complete_ok(call["id"])
    assert (done["status"], done["waiting"]) == ("completed", [])
    assert timed.advance(hours=3) == 0
    assert notes_of(db, customer.id) == ["reminder", "reminder", "called"]


# -- the newest engine paths ------------------------------------------------------------------

MESSAGES = "/api/v1/messages"


def retry_url(instance_id: int) -> str:
    return f"/api/v1/process-instances/{instance_id}/retry"


def retried(timed: Timed, instance_id: int, data: dict[str, Any]) -> dict[str, Any]:
    response = timed.owner.post(retry_url(instance_id), json={"data": data})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_camunda_8_job_with_output_mappings_killed_in_its_write_and_at_commit(
    timed_holding: Timed, make_customer, test_env, tmp_path
):
    """A job worker (``zeebe:taskDefinition``) whose outputs are mapped from its result: the
    step that runs it killed in the operator's note and at commit, then its output that reads
    a missing value an incident whose retry, killed at commit, maps the outputs again without
    running the operator: the note is written once."""
    timed = timed_holding
    db = timed.runtime.db.unit_of_work
    deploy(timed.owner, shapes.JOB_OUTPUTS)
    customer = make_customer()
    lead = {"id": "L-1", "customer_id": customer.id}
    started = timed.agent.start(
        "held_job_outputs", {"lead": lead, "seats": 4, "extra": 10**7}
    )  # a power too large to compute
    [prepare] = started["ready_tasks"]
    kill = Killer(timed, tmp_path, test_env, started["id"])
    url = f"/api/v1/tasks/{prepare['id']}/complete"

    kill.post("handler", url, {"data": {}})
    kill.post("commit", url, {"data": {}})
    failed = timed.agent.complete_ok(prepare["id"])
    [incident] = failed["incidents"]
    assert (failed["status"], incident["element_id"]) == ("error", "quote"), failed
    assert "the output 'total'" in incident["message"], incident
    assert notes_of(db, customer.id) == ["Quote for L-1"]

    kill.post("commit", retry_url(started["id"]), {"data": {"extra": 1}}, actor=timed.owner)
    done = retried(timed, started["id"], {"extra": 1})
    assert (done["status"], done["incidents"]) == ("running", [])
    assert [t["name"] for t in done["ready_tasks"]] == ["call"]
    assert (done["data"]["label"], done["data"]["total"]) == ("Quote for L-1 (L-1)", 5)
    assert not {"noted", "_zeebe_job_result"} & set(done["data"]), done["data"]
    assert notes_of(db, customer.id) == ["Quote for L-1"]


def test_camunda_8_keyed_messages_killed_mid_step_are_taken_once(
    timed_holding: Timed, make_customer, test_env, tmp_path
):
    """A message delivered by its correlation key (``zeebe:subscription``) to a receive task,
    killed in the note of its path, is taken once when resent with the same ``message_id``;
    one to an intermediate catch, killed at commit, is delivered when sent again; the other
    lead's instance keeps waiting for its own key, and takes the one another instance throws
    (queued) in the pass after the pass that delivered it was killed."""
    timed = timed_holding
    db = timed.runtime.db.unit_of_work
    deploy(timed.owner, shapes.KEYED)
    deploy(timed.owner, shapes.KEYED_THROWER)
    mine, other = make_customer(), make_customer()
    first, second = (
        timed.agent.start("held_keyed", {"lead": {"id": f"L-{n}", "customer_id": c.id}})
        for n, c in enumerate((mine, other), start=1)
    )
    kill = Killer(timed, tmp_path, test_env, first["id"])
    key = {"correlationKey": "L-1"}
    answer = {"name": "held_quote_answer", "correlation": key, "message_id": "answer-1"}
    answer["payload"] = {"answer": "yes"}

    kill.post("handler", MESSAGES, answer)
    kill.post("writes", MESSAGES, answer)
    assert send(timed, answer) == {"delivered_to": [first["id"]], "duplicate": False}
    assert send(timed, answer)["duplicate"] is True
    assert notes_of(db, mine.id) == ["Answer: yes"]

    follow_up = {"name": "held_follow_up", "correlation": key, "payload": {"topic": "price"}}
    kill.post("commit", MESSAGES, follow_up)
    assert send(timed, follow_up)["delivered_to"] == [first["id"]]
    assert notes_of(db, mine.id) == ["Answer: yes", "Follow-up: price"]
    assert [name for _, name in view(timed, first["id"])["tasks"]] == ["call"]

    answer = {**answer, "correlation": {"correlationKey": "L-2"}, "message_id": "answer-2"}
    assert send(timed, answer)["delivered_to"] == [second["id"]]
    assert (notes_of(db, mine.id)[-1], notes_of(db, other.id)) == (
        "Follow-up: price",
        ["Answer: yes"],
    )

    thrown = timed.agent.start("held_keyed_thrower", {"lead_id": "L-2", "topic": "queued"})
    assert thrown["status"] == "completed", thrown
    Killer(timed, tmp_path, test_env, second["id"]).queued("handler")
    assert timed.advance() == 1
    assert notes_of(db, other.id) == ["Answer: yes", "Follow-up: queued"]
    assert [name for _, name in view(timed, second["id"])["tasks"]] == ["call"]
    assert timed.advance() == 0
    assert notes_of(db, mine.id) == ["Answer: yes", "Follow-up: price"]


def test_retries_of_pre_scripts_failed_on_a_call_activity_and_a_subprocess_killed(
    timed_holding: Timed, make_customer, test_env, tmp_path
):
    """A pre-script failing on a call activity (or a subprocess) is an incident on it; the
    retry that runs it again, killed at commit (and in the subprocess's first note), is redone
    once: the called process's note once, the call beside it untouched. The call's reminder,
    come due before the retry (no pass ran), fires with the retry, once."""
    timed = timed_holding
    db = timed.runtime.db.unit_of_work
    deploy(timed.owner, shapes.PRE_SCRIPTED, shapes.SHARE)
    for mode, element, noted, points in (
        ("call", "called", ["called share 0.25", "reminded"], ["commit"]),
        ("sub", "sub", ["share 0.25"], ["handler", "commit"]),
    ):
        customer = make_customer()
        data = {"customer_id": customer.id, "parts": 0, "mode": mode}
        started = timed.agent.start("held_pre_scripted", data)
        [incident] = started["incidents"]
        assert (started["status"], incident["element_id"]) == ("error", element), started
        [call] = started["ready_tasks"]
        if mode == "call":  # the reminder comes due; the retry's step fires it
            timed.clock.advance(timedelta(hours=1, minutes=10))
        kill = Killer(timed, tmp_path, test_env, started["id"])
        for point in points:
            kill.post(point, retry_url(started["id"]), {"data": {"parts": 4}}, actor=timed.owner)
        again = retried(timed, started["id"], {"parts": 4})
        assert (again["status"], again["incidents"]) == ("running", []), again
        assert [t["id"] for t in again["ready_tasks"]] == [call["id"]]
        assert sorted(notes_of(db, customer.id)) == noted
        assert timed.advance(seconds=31) == 0  # nothing left due
        done = timed.agent.complete_ok(call["id"])
        assert (done["status"], done["data"]["share"]) == ("completed", 0.25)
        assert sorted(notes_of(db, customer.id)) == noted
        timed.clock.advance(timedelta(hours=2))


def test_a_timer_due_before_a_reply_fires_once_after_its_pass_is_killed_at_commit(
    timed_holding: Timed, make_customer, test_env, tmp_path
):
    """The reply comes at 1h30, its overdue reminder due since 1h not yet fired: the reply's
    step, killed at commit, and then the pass that fires the reminder in a step of its own,
    killed at commit; after restart the reminder fires exactly once."""
    timed = timed_holding
    db = timed.runtime.db.unit_of_work
    deploy(timed.owner, shapes.AWAIT_REPLY)
    customer = make_customer()
    data = {"customer_id": customer.id}
    started = timed.agent.start("held_await_reply", data, business_key="r-1")
    kill = Killer(timed, tmp_path, test_env, started["id"])
    timed.clock.advance(timedelta(hours=1, minutes=30))
    reply = {"name": "late_reply", "business_key": "r-1", "message_id": "late-1"}
    reply["payload"] = {"answer": "yes"}

    kill.post("commit", MESSAGES, reply)
    assert send(timed, reply)["delivered_to"] == [started["id"]]
    assert notes_of(db, customer.id) == ["replied yes"]
    seen = view(timed, started["id"])
    due = (T0 + timedelta(hours=1)).isoformat()
    assert (seen["tasks"][0][1], seen["waiting"]) == ("handle", [("timer", "overdue", due)])

    kill.background("commit")
    assert timed.advance(seconds=31) == 1
    assert notes_of(db, customer.id) == ["replied yes", "overdue"]
    seen = view(timed, started["id"])
    assert ([name for _, name in seen["tasks"]], seen["waiting"]) == (["handle"], [])
    assert timed.advance(hours=3) == 0
    [handle] = seen["tasks"]
    done = timed.agent.complete_ok(handle[0])
    assert (done["status"], done["waiting"]) == ("completed", [])
    assert notes_of(db, customer.id) == ["replied yes", "overdue"]
