"""The store as the engine sees it: every audit entry committed is also counted in the metrics.

The audit trail already records each page, escalation and SLA warning or breach, so counting
entries as they are committed keeps the counters equal to what the audit log says, without the
engine having to remember a metric at each place it acts. Only entries of a commit that
succeeded are counted (a ``Conflict`` writes nothing, and the unit is run again).
"""

from __future__ import annotations

from typing import Any, cast

from bot.metrics import Metrics
from store.base import Committed, Store, UnitOfWork


class _Observed:
    def __init__(self, store: Store, metrics: Metrics) -> None:
        self._store = store
        self._metrics = metrics

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def commit(self, work: UnitOfWork) -> Committed:
        committed = await self._store.commit(work)
        for draft in work.audit:
            self._metrics.observe_audit(draft.action, draft.details)
        return committed


def observed(store: Store, metrics: Metrics) -> Store:
    """``store``, counting the audit entries of each successful commit in ``metrics``."""
    return cast(Store, _Observed(store, metrics))
