"""An admin audit event as the store reads it and the services return it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class AuditRow:
    id: str
    created: datetime
    category: str
    action: str
    target_type: str
    target_id: str
    target_name: str
    tracking_id: str
    data: dict[str, Any]
    actor_id: str
    actor_name: str
    actor_email: str
    actor_is_admin: bool
    org_webex_id: str
    org_name: str
