"""Analytics (数据分析): the sales funnel, agent KPIs and process KPIs, read with SQL aggregates.

One module per report (``funnel``, ``agents``, ``steps``), each a function
``report(session, scope, ...) -> dataclass`` whose docstrings define every figure exactly.
``filters`` turns the query string (dates, team, agent) into a :class:`~.filters.Scope` the
viewer is allowed to see; ``sql`` holds the few expressions that differ between SQLite and
PostgreSQL; ``export`` writes a report as CSV (permission + audit entry).

Figures follow people: a call is its agent's, a deal its owner's, a work item its completer's
(else its assignee's); a row belongs to the team its person is in now. Agents see their own
figures, managers their team's, directors, process owners and administrators everyone's.
"""

from __future__ import annotations

from processes.analytics.filters import Scope, resolve_scope

__all__ = ["Scope", "resolve_scope"]
