"""On PostgreSQL the customer searches can be answered from their indexes.

With a handful of rows the planner prefers reading the table, so sequential scans are
switched off: the plan then shows whether an index *can* serve the query the search builds.
An index whose expression stops matching the query (a renamed function, a changed cast)
would otherwise go unnoticed until a million customers.
"""

from __future__ import annotations

import pytest

from crm.customers import customer_query
from tests.conftest import backend

pytestmark = pytest.mark.skipif(backend() != "postgresql", reason="PostgreSQL indexes")

SEARCHES = {
    "王伟": "ix_customers_name_grams",  # two Chinese characters: trigrams cannot serve it
    "伟": "ix_customers_name_grams",
    "华信科技": "ix_customers_company_grams",
    "Wei.Wang@Example.com": "ix_customers_lower_email",
    "5678": "ix_customer_phones_e164_trgm",
    "+86 138 1234 5678": "ix_customer_phones_e164",
}


def plan(session, q: str) -> str:
    connection = session.connection()
    statement = customer_query(viewer=None, q=q).compile(
        bind=connection, compile_kwargs={"render_postcompile": True}
    )
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    rows = connection.exec_driver_sql("EXPLAIN " + str(statement), statement.params)
    return "\n".join(row[0] for row in rows)


def test_each_kind_of_search_uses_its_index(db, make_customer, subtests):
    make_customer(name="王伟", company="华信科技有限公司", phone="13812345678")
    make_customer(name="张伟", email="wei.wang@example.com", phone="13900001111")
    with db() as session:
        for q, index in SEARCHES.items():
            with subtests.test(q=q):
                assert index in plan(session, q)
