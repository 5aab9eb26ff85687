"""Customer use cases: create, update, fetch and search, with E.164 phones and duplicate checks."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy import text as sql_text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from crm import audit, events
from crm.models import (
    Customer,
    CustomerKind,
    CustomerPhone,
    CustomerTag,
    LeadStage,
    PoolStatus,
    Role,
    User,
)
from crm.phones import mask_phone, normalize_phone, try_normalize_phone
from crm.scoping import may_change_phone, visible_customers
from crm.text_search import contains, id_in, searched
from crm.usernames import normalise_username
from crm.validation import MAX_ID, FieldErrors, boolean, choice, email, text, timezone
from dialflow.errors import DuplicateCustomer, Forbidden, InvalidInput, NotFound

MAX_PHONES = 5
MAX_TAGS = 20
MAX_PAGE = 200
# Search totals are exact up to here; beyond it counting would read every matching row of a
# million-customer table on each page, so the total stops and says so (``total_capped``).
TOTAL_CAP = 10_000
NOT_NULL_FIELDS = frozenset({"consent", "do_not_call", "kind", "stage", "timezone"})
PHONE_CHANGE_FORBIDDEN = (
    "Only the customer's owner, their manager, directors and administrators may change the "
    "phone numbers."
)


@dataclass(frozen=True)
class Page:
    items: list[Customer]
    total: int  # exact, or TOTAL_CAP when ``total_capped``
    total_capped: bool = False


def parse_customer_input(
    session: Session, data: Mapping[str, Any], *, partial: bool, region: str = "CN"
) -> dict[str, Any]:
    """Validate API/form/import input into model values; every problem goes in one error."""
    if not isinstance(data, Mapping):
        raise InvalidInput("Expected a JSON object with the customer's fields.")
    errors = FieldErrors()
    values: dict[str, Any] = {}
    fields = {
        "name": lambda: text(data, "name", errors, max_len=200, required=not partial),
        "company": lambda: text(data, "company", errors, max_len=200),
        "address": lambda: text(data, "address", errors, max_len=400),
        "region": lambda: text(data, "region", errors, max_len=80),
        "source": lambda: text(data, "source", errors, max_len=80),
        "notes": lambda: text(data, "notes", errors, max_len=4000),
        "dnc_reason": lambda: text(data, "dnc_reason", errors, max_len=200),
        "email": lambda: email(data, "email", errors),
        "timezone": lambda: timezone(data, "timezone", errors),
        "consent": lambda: boolean(data, "consent", errors),
        "do_not_call": lambda: boolean(data, "do_not_call", errors),
        "kind": lambda: choice(data, "kind", errors, CustomerKind),
        "stage": lambda: choice(data, "stage", errors, LeadStage),
    }
    for key, parse in fields.items():
        if key in data:
            values[key] = parse()
    if not partial and "name" not in data:
        errors.add("name", "This field is required.")

    raw_phones = _phones_from(data)
    if raw_phones is not None:
        if len(raw_phones) > MAX_PHONES:
            errors.add("phones", f"At most {MAX_PHONES} phone numbers.")
        phones: list[str] = []
        for index, raw in enumerate(raw_phones[:MAX_PHONES]):
            field = "phone" if "phone" in data else f"phones[{index}]"
            e164 = errors.guard(
                field, lambda raw=raw, field=field: normalize_phone(str(raw), region, field=field)
            )
            if e164 and e164 not in phones:
                phones.append(e164)
        values["phones"] = phones
    if "tags" in data:
        values["tags"] = _tags(data["tags"], errors)
    if "owner" in data:
        values["owner"] = _owner(session, data["owner"], errors)
    errors.raise_if_any("The customer's data is not valid.")
    return values


def create_customer(
    session: Session,
    data: Mapping[str, Any],
    *,
    actor: User | None,
    region: str = "CN",
    default_timezone: str = "Asia/Shanghai",
) -> Customer:
    values = new_customer_values(session, data, region=region)
    ensure_no_duplicate(session, values.get("phones", []), values.get("email"))
    customer = build_customer(values, actor=actor, default_timezone=default_timezone)
    _save_or_duplicate(session, values, lambda: session.add(customer))
    record_created(session, customer, actor=actor)
    events.publish(session, "customers_created", {"customers": [customer]})
    return customer


def new_customer_values(
    session: Session, data: Mapping[str, Any], *, region: str = "CN"
) -> dict[str, Any]:
    """A new customer's validated values; it needs a name and a phone number or an email."""
    values = parse_customer_input(session, data, partial=False, region=region)
    if not values.get("phones") and not values.get("email"):
        raise InvalidInput(
            "A customer needs a phone number or an email address.",
            details=[{"field": "phone", "message": "Give a phone number or an email address."}],
        )
    return values


def build_customer(
    values: Mapping[str, Any], *, actor: User | None, default_timezone: str = "Asia/Shanghai"
) -> Customer:
    """A transient customer from ``new_customer_values``; the caller adds and flushes it (an
    agent's new customer is their own, anyone else's goes to the pool unless an owner is
    given)."""
    values = dict(values)
    owner = values.pop("owner", None) if "owner" in values else _default_owner(actor)
    customer = Customer(
        kind=CustomerKind.PERSON,
        timezone=default_timezone,
        owner_id=owner.id if owner else None,
        team_id=owner.team_id if owner else None,
        pool_status=PoolStatus.OWNED if owner else PoolStatus.POOL,
        created_by_id=actor.id if actor else None,
        phones=[],  # empty collections, not lazy loads (with an autoflush) later
        tag_rows=[],
    )
    _apply(customer, values)
    return customer


def record_created(
    session: Session, customer: Customer, *, actor: User | None, source: str | None = None
) -> None:
    audit.record(
        session,
        actor=actor,
        action="create",
        entity_type="customer",
        entity_id=customer.id,
        after=customer_to_dict(customer, reveal_phone=True),
        source=source,
    )


def update_customer(
    session: Session,
    customer_id: int,
    data: Mapping[str, Any],
    *,
    actor: User | None,
    region: str = "CN",
    scoped: bool = True,
) -> Customer:
    customer = get_customer(session, customer_id, viewer=actor if scoped else None)
    if scoped and actor is not None and not may_change_phone(actor, customer):
        _refuse_phone_change(customer, data, region)
    values = parse_customer_input(session, data, partial=True, region=region)
    if "name" in values and values["name"] is None:
        raise InvalidInput(
            "A customer needs a name.",
            details=[{"field": "name", "message": "This field is required."}],
        )
    if scoped and actor is not None and actor.role == Role.AGENT and "owner" in values:
        new_owner = values["owner"]
        if (new_owner.id if new_owner else None) != customer.owner_id:
            raise Forbidden(
                "Agents cannot change a customer's owner; claim pool leads from the pool.",
                code="owner_change_forbidden",
            )
    ensure_no_duplicate(
        session, values.get("phones", []), values.get("email"), exclude_id=customer.id
    )
    before = customer_to_dict(customer, reveal_phone=True)

    def change() -> None:
        if "owner" in values:
            owner = values.pop("owner")
            customer.owner_id = owner.id if owner else None
            customer.team_id = owner.team_id if owner else customer.team_id
            customer.pool_status = PoolStatus.OWNED if owner else PoolStatus.POOL
        _apply(customer, values)

    _save_or_duplicate(session, values, change)
    changed_before, changed_after = audit.changed_fields(
        before, customer_to_dict(customer, reveal_phone=True)
    )
    if changed_after:
        audit.record(
            session,
            actor=actor,
            action="update",
            entity_type="customer",
            entity_id=customer.id,
            before=changed_before,
            after=changed_after,
        )
    return customer


def get_customer(session: Session, customer_id: int, *, viewer: User | None = None) -> Customer:
    """The customer, if it exists, is not erased, and ``viewer`` (when given) may see it."""
    query = (
        select(Customer)
        .where(Customer.id == customer_id, Customer.erased_at.is_(None))
        .options(selectinload(Customer.phones), selectinload(Customer.tag_rows))
    )
    if viewer is not None:
        query = query.where(visible_customers(viewer))
    customer = session.scalar(query)
    if customer is None:
        raise NotFound(f"No customer #{customer_id}.", code="customer_not_found")
    return customer


def find_duplicates(
    session: Session,
    phones: Sequence[str],
    email_address: str | None,
    exclude_id: int | None = None,
) -> list[tuple[str, Customer]]:
    """Existing customers sharing a normalized phone or the email, as ``(field, customer)``."""
    found: list[tuple[str, Customer]] = []
    if phones:
        query = (
            select(CustomerPhone.e164, Customer)
            .join(Customer, Customer.id == CustomerPhone.customer_id)
            .where(CustomerPhone.e164.in_(list(phones)))
        )
        found += [("phone", customer) for _e164, customer in session.execute(query)]
    if email_address:
        query = select(Customer).where(
            func.lower(Customer.email) == email_address.lower(), Customer.erased_at.is_(None)
        )
        found += [("email", customer) for customer in session.scalars(query)]
    return [(field, c) for field, c in found if c.id != exclude_id]


def ensure_no_duplicate(
    session: Session,
    phones: Sequence[str],
    email_address: str | None,
    exclude_id: int | None = None,
) -> None:
    if email_address:
        _hold_email(session, email_address)
    duplicates = find_duplicates(session, phones, email_address, exclude_id)
    if duplicates:
        field, existing = duplicates[0]
        raise DuplicateCustomer(
            f"Customer #{existing.id} ({existing.name}) already has this {field}.",
            details=[
                {
                    "field": f,
                    "existing_id": c.id,
                    "existing_name": c.name,
                    "message": f"Same {f} as customer #{c.id} ({c.name}).",
                }
                for f, c in duplicates
            ],
        )


def _hold_email(session: Session, email_address: str) -> None:
    """On PostgreSQL, hold the email address until the transaction ends: two requests giving
    the same email at once are then checked one after the other, and the second finds the
    first's customer. (Phones have a unique index; an email may repeat on erased customers,
    so none can settle it. SQLite runs one writing transaction at a time already.)"""
    hold_emails(session, [email_address])


def hold_emails(session: Session, addresses: Sequence[str]) -> None:
    """``_hold_email`` for many addresses in one statement (an import's batch), taken in the
    order of their lock keys, so two writers holding several never wait on each other."""
    if not addresses or session.get_bind().dialect.name != "postgresql":
        return
    texts = sorted({f"customer email {address.lower()}" for address in addresses})
    session.execute(_HOLD_EMAILS, {"texts": texts})


_HOLD_EMAILS = sql_text(
    "SELECT count(pg_advisory_xact_lock(k)) FROM "
    "(SELECT DISTINCT hashtext(t) AS k FROM unnest(CAST(:texts AS text[])) AS t ORDER BY k) AS h"
)


def search_customers(
    session: Session,
    *,
    viewer: User | None,
    q: str | None = None,
    owner_id: int | None = None,
    stage: str | None = None,
    pool: bool | None = None,
    tag: str | None = None,
    limit: int = 50,
    offset: int = 0,
    region: str = "CN",
) -> Page:
    """Search by name, phone (any common format) or email, within what ``viewer`` may see."""
    query = customer_query(
        viewer=viewer, q=q, owner_id=owner_id, stage=stage, pool=pool, tag=tag, region=region
    )
    counted = query.with_only_columns(Customer.id).limit(TOTAL_CAP + 1)
    total = session.scalar(select(func.count()).select_from(counted.subquery())) or 0
    limit = max(1, min(limit, MAX_PAGE))
    items = session.scalars(
        query.order_by(Customer.updated_at.desc(), Customer.id.desc())
        .limit(limit)
        .offset(max(0, offset))
        .options(
            selectinload(Customer.phones),
            selectinload(Customer.tag_rows),
            selectinload(Customer.owner),
        )
    ).all()
    return Page(items=list(items), total=min(total, TOTAL_CAP), total_capped=total > TOTAL_CAP)


def customer_query(
    *,
    viewer: User | None,
    q: str | None = None,
    owner_id: int | None = None,
    stage: str | None = None,
    pool: bool | None = None,
    tag: str | None = None,
    region: str = "CN",
) -> Select[tuple[Customer]]:
    """The customers a search (or an export) with these filters selects, unordered."""
    query = select(Customer).where(Customer.erased_at.is_(None))
    if viewer is not None:
        query = query.where(visible_customers(viewer))
    if q and q.strip():
        query = query.where(_match(q.strip(), region))
    if owner_id is not None:
        query = query.where(Customer.owner_id == owner_id)
    if stage:
        try:
            query = query.where(Customer.stage == LeadStage(stage))
        except ValueError:
            allowed = ", ".join(s.value for s in LeadStage)
            raise InvalidInput(
                f"Unknown stage {stage!r}; use one of: {allowed}.",
                details=[{"field": "stage", "message": "unknown stage"}],
            ) from None
    if pool is not None:
        query = query.where(Customer.pool_status == (PoolStatus.POOL if pool else PoolStatus.OWNED))
    if tag:
        query = query.where(
            Customer.id.in_(select(CustomerTag.customer_id).where(CustomerTag.tag == tag))
        )
    return query


def customer_to_dict(customer: Customer, *, reveal_phone: bool) -> dict[str, Any]:
    phones = [p.e164 for p in customer.phones]
    return {
        "id": customer.id,
        "kind": customer.kind.value if customer.kind else None,
        "name": customer.name,
        "company": customer.company,
        "phones": phones if reveal_phone else [mask_phone(p) for p in phones],
        "email": customer.email,
        "address": customer.address,
        "region": customer.region,
        "timezone": customer.timezone,
        "source": customer.source,
        "stage": customer.stage.value if customer.stage else None,
        "tags": customer.tags,
        "owner_id": customer.owner_id,
        "team_id": customer.team_id,
        "pool_status": customer.pool_status.value if customer.pool_status else None,
        "consent": customer.consent,
        "do_not_call": customer.do_not_call,
        "created_at": customer.created_at.isoformat() if customer.created_at else None,
        "updated_at": customer.updated_at.isoformat() if customer.updated_at else None,
    }


def _match(q: str, region: str) -> Any:
    e164 = try_normalize_phone(q, region)
    if e164:
        return Customer.id.in_(select(CustomerPhone.customer_id).where(CustomerPhone.e164 == e164))
    if "@" in q:
        return func.lower(Customer.email) == q.lower()
    digits = "".join(ch for ch in q if ch.isdigit())
    if len(digits) >= 4 and len(digits) == len(q.replace(" ", "").replace("-", "")):
        # A partial number (e.g. the last four digits read out by a customer).
        return id_in(
            Customer.id,
            select(CustomerPhone.customer_id).where(
                CustomerPhone.e164.like(searched(f"%{digits}%"))
            ),
        )
    return contains([Customer.name, Customer.company], q)


def _apply(customer: Customer, values: dict[str, Any]) -> None:
    for key, value in values.items():
        if key == "phones":
            _set_phones(customer, value)
        elif key == "tags":
            current = {row.tag: row for row in customer.tag_rows}
            customer.tag_rows = [current.get(tag) or CustomerTag(tag=tag) for tag in value]
        elif key in NOT_NULL_FIELDS and value is None:
            continue  # an empty cell or field leaves a required column as it was
        else:
            setattr(customer, key, value)


def _set_phones(customer: Customer, numbers: list[str]) -> None:
    """Keep the rows of numbers the customer already has (re-inserting one would collide with
    the unique index before the old row is deleted); add new ones, drop the rest."""
    current = {row.e164: row for row in customer.phones}
    rows = []
    for position, e164 in enumerate(numbers):
        row = current.get(e164) or CustomerPhone(e164=e164)
        row.position = position
        rows.append(row)
    customer.phones = rows


def _save_or_duplicate(
    session: Session, values: dict[str, Any], change: Callable[[], None]
) -> None:
    """Apply ``change`` and flush inside a savepoint: the unique phone index settles races the
    duplicate check could not see. (``begin_nested`` flushes what is pending before the
    SAVEPOINT, so the change must be made inside it.)"""
    try:
        with session.begin_nested():
            change()
            session.flush()
    except IntegrityError:
        with session.no_autoflush:  # the failed rows are still pending; don't flush them again
            ensure_no_duplicate(session, values.get("phones", []), values.get("email"))
        raise


def _refuse_phone_change(customer: Customer, data: Mapping[str, Any], region: str) -> None:
    """For someone who may not change the phone numbers (``crm.scoping.may_change_phone``):
    refuse input that would change them, before anything is applied. The numbers as they are
    (in any format) pass, so a whole record sent back unchanged is no change."""
    if not isinstance(data, Mapping):
        return  # parse_customer_input refuses it
    raw_phones = _phones_from(data)
    if raw_phones is None:
        return
    numbers: list[str | None] = []
    for raw in raw_phones:
        e164 = try_normalize_phone(str(raw), region)
        if e164 is None or e164 not in numbers:
            numbers.append(e164)
    if numbers != [row.e164 for row in customer.phones]:
        field = "phone" if "phone" in data and "phones" not in data else "phones"
        raise Forbidden(
            PHONE_CHANGE_FORBIDDEN,
            code="phone_change_forbidden",
            details=[{"field": field, "message": PHONE_CHANGE_FORBIDDEN}],
        )


def _phones_from(data: Mapping[str, Any]) -> list[Any] | None:
    if "phones" in data:
        value = data["phones"]
        if value is None:
            return []
        return list(value) if isinstance(value, list | tuple) else [value]
    if "phone" in data:
        return [] if data["phone"] in (None, "") else [data["phone"]]
    return None


def _tags(value: Any, errors: FieldErrors) -> list[str]:
    raw = value.split(",") if isinstance(value, str) else value
    if not isinstance(raw, list | tuple):
        errors.add("tags", "Tags are a list of words.")
        return []
    tags = sorted({str(t).strip() for t in raw if str(t).strip()})
    if len(tags) > MAX_TAGS or any(len(t) > 40 for t in tags):
        errors.add("tags", f"At most {MAX_TAGS} tags of up to 40 characters.")
        return []
    return tags


def _owner(session: Session, value: Any, errors: FieldErrors) -> User | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        errors.add("owner", "Give the owner's username or user id.")
        return None
    if isinstance(value, int) and not 1 <= value <= MAX_ID:  # no such id; too large for SQL
        errors.add("owner", f"No active user {value!r}.")
        return None
    if isinstance(value, int):
        found = User.id == value
    else:
        found = User.username == normalise_username(value)  # as typed: 张三 , ｚｈａｎｇ
    user = session.scalar(select(User).where(found, User.active.is_(True)))
    if user is None:
        errors.add("owner", f"No active user {value!r}.")
    return user


def _default_owner(actor: User | None) -> User | None:
    return actor if actor is not None and actor.role == Role.AGENT else None
