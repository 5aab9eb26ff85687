"""Shared helpers for the CRM API tests: bearer tokens without password hashing, error shape."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from crm.models import User
from crm.users import create_token


def bearer(db: Any, user: User) -> dict[str, str]:
    """A token issued the way ``dialflow token create`` does."""
    with db() as session:
        token = create_token(session, session.get(User, user.id))
    return {"Authorization": f"Bearer {token}"}


def error_of(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "details"}
    if code is not None:
        assert error["code"] == code, error
    return error


def fields_of(error: dict[str, Any]) -> set[str]:
    return {detail["field"] for detail in error["details"]}


def one_step_diagram(process_id: str, element_id: str, name: str | None) -> tuple[bytes, str]:
    """A process of one user task for its starter, the task named ``name`` (or unnamed): a
    file to deploy as ``(content, file name)``."""
    named = f' name="{name}"' if name is not None else ""
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs_{process_id}" targetNamespace="http://dialflow.example/bpmn">
  <bpmn:process id="{process_id}" name="Address check" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="{element_id}"{named}>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="{element_id}" />
    <bpmn:sequenceFlow id="f2" sourceRef="{element_id}" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""
    return xml.encode(), f"{process_id}.bpmn"


def deploy_and_start(
    client: Any,
    deployer: dict[str, str],
    starter: dict[str, str],
    diagram: tuple[bytes, str],
    customer_id: int,
) -> dict[str, Any]:
    """Deploy ``diagram`` and start its process for the customer: the started instance."""
    content, file_name = diagram
    deployed = client.post(
        "/api/v1/process-models",
        data={"file": [(BytesIO(content), file_name)]},
        content_type="multipart/form-data",
        headers=deployer,
    )
    assert deployed.status_code in (200, 201), deployed.get_json()
    started = client.post(
        "/api/v1/process-instances",
        json={
            "process_id": file_name.removesuffix(".bpmn"),
            "business_key": f"customer-{customer_id}",
        },
        headers=starter,
    )
    assert started.status_code == 201, started.get_json()
    return started.get_json()
