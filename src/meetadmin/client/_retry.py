"""Bounded, jittered retries with tenacity, honouring ``Retry-After``."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
)
from tenacity.nap import sleep as _default_sleep

from meetadmin.client._errors import RetryableError, TransportError


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: ``attempts`` in all per call, each wait at most ``max_wait`` seconds.

    Without ``Retry-After`` the wait grows exponentially from ``base_wait``; ``jitter`` adds up to that
    many random seconds to every wait so that many clients do not retry in step.
    """

    attempts: int = 6
    base_wait: float = 0.5
    max_wait: float = 60.0
    jitter: float = 0.5
    retry_transport_errors: bool = True
    sleep: Callable[[float], None] = _default_sleep

    def wait_seconds(self, attempt: int, retry_after: float | None) -> float:
        base = retry_after if retry_after is not None else self.base_wait * 2 ** max(0, attempt - 1)
        extra = random.uniform(0, self.jitter) if self.jitter > 0 else 0.0
        return min(self.max_wait, base + extra)

    def should_retry(self, exc: BaseException) -> bool:
        if isinstance(exc, RetryableError):
            return True
        return self.retry_transport_errors and isinstance(exc, TransportError)

    def retrying(self, retry_on: Callable[[BaseException], bool] | None = None) -> Retrying:
        """A tenacity controller; ``retry_on`` widens what counts as retryable."""

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            retry_after = getattr(exc, "retry_after", None)
            return self.wait_seconds(state.attempt_number, retry_after)

        def retry(exc: BaseException) -> bool:
            return self.should_retry(exc) or (retry_on is not None and retry_on(exc))

        return Retrying(
            stop=stop_after_attempt(max(1, self.attempts)),
            wait=wait,
            retry=retry_if_exception(retry),
            sleep=self.sleep,
            reraise=True,
        )
