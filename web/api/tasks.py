"""``/api/v1/tasks``: the inbox, claim, unclaim, assign and complete."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from engine.instances import instance_to_dict
from engine.models import WorkItem
from engine.task_order import DEFAULT_ORDER, TaskOrder, parse_order
from engine.tasks import (
    assign,
    claim,
    complete,
    form_sources,
    list_tasks,
    unclaim,
    work_item_to_dict,
)
from web.api import api_bp
from web.api.auth import api_user, json_body, paging, token_required
from web.api.openapi import choice, documented
from web.api.schemas import ANY_OBJECT, INSTANCE, STR, TASK, obj, page
from web.context import runtime, unit_of_work


def _task(db: Session, item: WorkItem) -> dict[str, Any]:
    """The task as the API shows it, with its form's ``values`` from its instance's data."""
    return work_item_to_dict(item, form_sources(db, [item]))


def _flag(name: str) -> bool:
    return request.args.get(name, "").lower() in ("1", "true", "yes")


@api_bp.get("/tasks")
@documented(
    "Open tasks: mine, claimable by my groups, or all (managers)",
    tag="tasks",
    errors=(401, 403, 422),
    response=page(TASK),
    query={
        "mine": "1 = assigned to me",
        "candidate": "1 = claimable by me",
        "all": "1 = every open task (managers)",
        "process_id": "filter",
        "business_key": "filter",
        "values": (
            "1 = each task with its form's values (two more reads: the instances' data and "
            "their completed tasks' forms); without it the inbox reads the work items only"
        ),
        "sort": choice(
            f"order (default {DEFAULT_ORDER.value}): urgency = overdue first, then higher "
            "priority, then sooner due (none last), then older; due = sooner due first (none "
            "last), then higher priority, then older; priority = higher priority first, then "
            "sooner due, then older; created = older first; follow_up = sooner follow-up date "
            "first (those whose follow-up date has passed lead; none last), then higher "
            "priority, then sooner due, then older",
            TaskOrder,
        ),
        "limit": "page size",
        "offset": "skip",
    },
)
@token_required
def inbox() -> ResponseReturnValue:
    limit, offset = paging()
    order = parse_order(request.args.get("sort"))
    with unit_of_work(read_only=True) as db:
        items, total = list_tasks(
            db,
            api_user(),
            mine=_flag("mine"),
            candidate=_flag("candidate"),
            all_tasks=_flag("all"),
            process_id=request.args.get("process_id"),
            business_key=request.args.get("business_key"),
            limit=limit,
            offset=offset,
            order=order,
            now=runtime().clock.now(),
        )
        if _flag("values"):
            sources = form_sources(db, items)
            tasks = [work_item_to_dict(i, sources) for i in items]
        else:
            tasks = [work_item_to_dict(i, with_values=False) for i in items]
        body = {"items": tasks, "total": total}
    return jsonify(body)


@api_bp.post("/tasks/<task_id>/claim")
@documented("Claim a task", tag="tasks", errors=(401, 403, 404, 409), response=TASK)
@token_required
def claim_task(task_id: str) -> ResponseReturnValue:
    with unit_of_work() as db:
        item = claim(db, task_id, actor=api_user(), now=runtime().clock.now())
        body = _task(db, item)
    return jsonify(body)


@api_bp.post("/tasks/<task_id>/unclaim")
@documented(
    "Give a claimed task back to its candidates",
    tag="tasks",
    errors=(401, 403, 404, 409),
    response=TASK,
)
@token_required
def unclaim_task(task_id: str) -> ResponseReturnValue:
    with unit_of_work() as db:
        body = _task(db, unclaim(db, task_id, actor=api_user()))
    return jsonify(body)


@api_bp.post("/tasks/<task_id>/assign")
@documented(
    "Assign (managers) or delegate (its assignee, to one of its candidates) a task to a user",
    tag="tasks",
    errors=(401, 403, 404, 409, 422),
    response=TASK,
    request=obj({"user": STR}, required=["user"]),
)
@token_required
def assign_task(task_id: str) -> ResponseReturnValue:
    body = json_body()
    with unit_of_work() as db:
        item = assign(db, task_id, body.get("user"), actor=api_user(), now=runtime().clock.now())
        result = _task(db, item)
    return jsonify(result)


@api_bp.post("/tasks/<task_id>/complete")
@documented(
    "Complete a task with form data (validated against its JSON Schema)",
    tag="tasks",
    description=(
        "Values sent for fields the form hides (a field's `x-hide-if`, a Camunda Form's "
        "`conditional.hide`) are dropped: the instance does not keep them, and a hidden "
        "required field is not asked for. Which fields are hidden is read on the data sent "
        "(and the instance's values of what the form does not send), as the task page hides "
        "them; a read-only cell of a list's item is kept even when its row hides it or the "
        "group holding it. A list's items replace the list. Send each item kept with its "
        "read-only cells (`readOnly` in the form, such as an `id`) as the task shows them: "
        "an item sent with another value there is refused (422, `contacts.1.id`). An item "
        "sent without any of its read-only cells (or with a cell's `default` alone) whose "
        "other values are all those of an item "
        "the instance holds (matched once each, in order; a null value counts as none, a "
        "group sent empty as one left out; the items of a list inside it are matched so "
        "within that item) is that item and keeps its read-only cells, as a client leaving "
        "`readOnly` properties out sends an unchanged item back; an item whose values match "
        "no item's is a new item, without read-only "
        "values: an edited item sent without its read-only cells cannot be told from a new "
        "one, so its `id` is not guessed and the stored item it was is removed."
    ),
    errors=(401, 403, 404, 409, 422),
    response=INSTANCE,
    request=obj({"data": ANY_OBJECT}),
)
@token_required
def complete_task(task_id: str) -> ResponseReturnValue:
    body = json_body()
    data = body.get("data", {})
    with unit_of_work() as db:
        row = complete(runtime().engine, db, task_id, data, actor=api_user())
        result = instance_to_dict(db, row)
    return jsonify(result)
