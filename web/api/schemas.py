"""JSON shapes shared by the API's OpenAPI documentation."""

from __future__ import annotations

from typing import Any


def obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def page(item: dict[str, Any]) -> dict[str, Any]:
    return obj({"items": {"type": "array", "items": item}, "total": {"type": "integer"}})


STR = {"type": "string"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
ANY_OBJECT = {"type": "object", "additionalProperties": True}
TIME = {"type": "string", "format": "date-time", "nullable": True}
# A business key a request gives: text, or an integer taken as its digits (an order number).
KEY = {
    "oneOf": [{"type": "string"}, {"type": "integer"}],
    "description": (
        "text; an integer is taken as its digits. Stored and matched in Unicode NFC (é as one "
        "code point or as e and a combining accent is one key); width and case are kept"
    ),
}
# A date-time a request may leave empty ("" or null, as a form sends it): then it is now.
TIME_OR_NOW = {
    "type": "string",
    "nullable": True,
    "anyOf": [{"format": "date-time"}, {"maxLength": 0}],
    "description": "date-time with offset; empty or null: now",
}

TASK = obj(
    {
        "id": STR,
        "name": STR,
        "title": STR,
        "lane": {"type": "string", "nullable": True},
        "process_instance_id": INT,
        "process_id": STR,
        "business_key": {"type": "string", "nullable": True},
        "assignee": {"type": "integer", "nullable": True},
        "candidates": {"type": "array", "items": STR},
        "due_at": TIME,
        "follow_up_at": {
            **TIME,
            "description": "when to look at the task again (zeebe:taskSchedule followUpDate, "
            "the followUpAt/followUpIn properties); null when none",
        },
        "priority": INT,
        "kind": {"type": "string", "nullable": True},
        "form_schema": {"type": "object", "nullable": True},
        "values": {
            "type": "object",
            "description": (
                "the instance's values of the form's own fields (none marked writeOnly), "
                "the fields' initial values; a field not here starts with its default. On one "
                "task's answers always; in the inbox list only with values=1"
            ),
        },
        "instructions": {"type": "string", "nullable": True},
        "status": STR,
        "created_at": {"type": "string", "format": "date-time"},
    }
)

INSTANCE = obj(
    {
        "id": INT,
        "process_id": STR,
        "version": INT,
        "business_key": {"type": "string", "nullable": True},
        "status": {
            "type": "string",
            "enum": ["running", "waiting", "completed", "error", "terminated"],
        },
        "data": ANY_OBJECT,
        "ready_tasks": {"type": "array", "items": TASK},
        "waiting": {
            "type": "array",
            "items": obj(
                {
                    "kind": STR,
                    "name": STR,
                    "due_at": TIME,
                    "correlation": {
                        "type": "object",
                        "additionalProperties": STR,
                        "description": "a message wait that takes only this correlation value: "
                        "its property (correlationKey for a Camunda 8 subscription) and the "
                        "value as text; absent when any value is taken or it is not known",
                    },
                }
            ),
        },
        "incidents": {
            "type": "array",
            "items": obj(
                {
                    "id": INT,
                    "task_id": STR,
                    "element_id": STR,
                    "kind": STR,
                    "message": STR,
                    "line": {"type": "integer", "nullable": True},
                    "attempts": INT,
                }
            ),
        },
        "started_at": {"type": "string", "format": "date-time"},
        "ended_at": TIME,
    }
)

CUSTOMER = obj(
    {
        "id": INT,
        "kind": STR,
        "name": STR,
        "company": {"type": "string", "nullable": True},
        "phones": {"type": "array", "items": STR},
        "email": {"type": "string", "nullable": True},
        "region": {"type": "string", "nullable": True},
        "timezone": STR,
        "source": {"type": "string", "nullable": True},
        "stage": STR,
        "tags": {"type": "array", "items": STR},
        "owner_id": {"type": "integer", "nullable": True},
        "pool_status": STR,
        "consent": {"type": "boolean"},
        "do_not_call": {"type": "boolean"},
        "address": {"type": "string", "nullable": True},
        "team_id": {"type": "integer", "nullable": True},
        "created_at": TIME,
        "updated_at": TIME,
    }
)
