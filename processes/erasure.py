"""Erasing a customer's personal data (``crm.erasure``) ends the processes working on them.

A lead's call cadence, callbacks and approvals are keyed by the customer's id (the business
key every shipped process is started with). Once the customer was erased, their open call
task could never be completed (the compliance gate answers ``customer_not_found`` whatever
the disposition) and stayed in the agent's inbox for good, with timers still firing for a
customer no one may call. Erasure now terminates the unfinished instances of that business
key in the same transaction, audited as terminations by the administrator who erased. The
customer's keys are those of their timeline (``crm.timeline.business_keys``): ``customer-<id>``
as well as the bare id; an instance keyed ``customer-<id>`` went on running, its data intact.

The processes also kept copies of the customer's name, phone and email in their stored data
(the instance's ``data``, every task's data in the workflow, work-item titles such as "Call
王芳"), finished instances too, readable through the API after the erasure. Every instance
keyed by the customer (or whose data's ``customer_id`` is theirs) now has those values
replaced with ``[erased]`` (``engine.scrubbing``), in the same transaction.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from crm.erasure import ERASED_TEXT, erase_customer, personal_texts
from crm.models import Customer, User
from crm.timeline import business_keys
from engine import stepper
from engine.instances import terminate
from engine.models import InstanceStatus, ProcessInstance
from engine.scrubbing import scrub_instances
from engine.service import ProcessEngine

_UNFINISHED = (InstanceStatus.RUNNING, InstanceStatus.WAITING, InstanceStatus.ERROR)


def erase_customer_and_end_processes(
    engine: ProcessEngine, session: Session, customer_id: int, *, actor: User
) -> Customer:
    """``crm.erasure.erase_customer``, then every unfinished instance keyed by the customer
    is terminated (none again on a repeated erasure: they are finished), and the customer's
    personal data is scrubbed from the stored data of all their instances.

    The instances are locked first, in id order, as every step locks its instance before it
    writes CRM rows: a step under way on one of them (a completion writing the customer's
    note) finishes before the erasure reads anything, so what it wrote is erased too and its
    instance, now finished, is left as it ended. Locked after the erasure's writes, the
    erasure had scrubbed only the notes it could see, then found the instance completed and
    was refused (409), or deadlocked with a step that updated the customer."""
    # Every instance the erasure scrubs, those found by their data's customer_id too: one
    # started under another key with a step under way was read before the step committed
    # and written back after it, and the erasure failed on the instance's changed version.
    scrubbed = _instances_of(session, customer_id)
    instance_ids = session.scalars(
        select(ProcessInstance.id)
        .where(
            ProcessInstance.business_key.in_(business_keys(customer_id)),
            ProcessInstance.status.in_(_UNFINISHED),
        )
        .order_by(ProcessInstance.id)
        .with_for_update()
    ).all()
    found = session.get(Customer, customer_id)
    texts = personal_texts(found) if found is not None else set()
    customer = erase_customer(session, customer_id, actor=actor)
    for instance_id in instance_ids:
        if stepper.lock_instance(session, instance_id).status in _UNFINISHED:
            terminate(engine, session, instance_id, actor=actor)
    if texts:
        scrub_instances(
            session,
            scrubbed,
            texts,
            ERASED_TEXT,
            business_keys=business_keys(customer.id),
        )
    return customer


def _instances_of(session: Session, customer_id: int) -> list[int]:
    """Every instance, of any status, keyed by the customer (``customer-<id>`` or the bare
    id, as the customer's timeline reads them) or whose data's ``customer_id`` is theirs (a
    process started by hand with another business key), locked in id order as a step locks
    its instance."""
    customer_field = ProcessInstance.data["customer_id"]
    if session.get_bind().dialect.name == "sqlite":  # a number or its text, as stored
        refers = func.json_extract(ProcessInstance.data, "$.customer_id").in_(
            [customer_id, str(customer_id)]
        )
    else:
        refers = customer_field.as_string() == str(customer_id)
    query = (
        select(ProcessInstance.id)
        .where(or_(ProcessInstance.business_key.in_(business_keys(customer_id)), refers))
        .order_by(ProcessInstance.id)
    )
    return list(session.scalars(query.with_for_update()))
