"""Two people complete the same task at the same moment: one wins, the step runs once."""

from __future__ import annotations

from sqlalchemy import func, select

from crm.models import Activity
from engine.models import WorkItem
from tests.engine.conftest import post_together

ROUNDS = 4


def test_same_task_completed_twice_at_once(app, owner, agent, actor, make_customer, db):
    colleague = actor("agent", username="agent_east2", team="East")
    owner.deploy("call_note.bpmn", "call-form.json")
    for round_number in range(ROUNDS):
        customer = make_customer()
        instance = agent.start("call_note", {"customer_id": customer.id})
        task_id = instance["ready_tasks"][0]["id"]

        results = post_together(
            app,
            f"/api/v1/tasks/{task_id}/complete",
            [
                (agent.headers, {"data": {"outcome": "interested"}}),
                (colleague.headers, {"data": {"outcome": "no_answer"}}),
            ],
        )
        statuses = sorted(status for status, _body in results)
        assert statuses == [200, 409], (round_number, results)
        winner = next(body for status, body in results if status == 200)
        loser = next(body for status, body in results if status == 409)
        assert winner["status"] == "completed"
        assert loser["error"]["code"] in ("task_closed", "task_conflict")

        with db() as session:
            notes = session.scalars(
                select(Activity.body).where(Activity.customer_id == customer.id)
            ).all()
            item = session.get(WorkItem, task_id)
            assert item is not None
            assert item.status.value == "completed"
        assert notes == [f"Outcome: {winner['data']['outcome']}"]

    assert agent.tasks() == []
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Activity)) == ROUNDS


def test_same_task_claimed_twice_at_once(app, owner, agent, actor):
    colleague = actor("agent", username="agent_east2", team="East")
    owner.deploy("call_note.bpmn", "call-form.json")
    for round_number in range(ROUNDS):
        instance = agent.start("call_note", {"customer_id": 1})
        task_id = instance["ready_tasks"][0]["id"]
        results = post_together(
            app,
            f"/api/v1/tasks/{task_id}/claim",
            [(agent.headers, {}), (colleague.headers, {})],
        )
        assert sorted(status for status, _body in results) == [200, 409], (round_number, results)
        winner = next(body for status, body in results if status == 200)
        held = [t for t in agent.tasks() + colleague.tasks() if t["id"] == task_id]
        assert {t["assignee"] for t in held} == {winner["assignee"]}
