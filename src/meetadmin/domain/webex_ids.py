"""Webex-style IDs for things meetadmin only names: roles and licences (base64url ``ciscospark://`` URIs)."""

from __future__ import annotations

import base64
import uuid

_NAMESPACE = uuid.UUID("0f5c8b1e-2f44-4c59-9d1e-6a2b1d7c3e42")
FULL_ADMIN_ROLE = "id_full_admin"


def _encode(kind: str, value: str) -> str:
    return base64.urlsafe_b64encode(f"ciscospark://us/{kind}/{value}".encode()).decode().rstrip("=")


def role_id(role: str) -> str:
    return _encode("ROLE", role)


def licence_id(org_id: str, site_url: str, kind: str) -> str:
    """A stable licence ID per organisation, site and kind (``meeting`` or ``webinar``)."""
    return _encode("LICENSE", str(uuid.uuid5(_NAMESPACE, f"{org_id}:{site_url.lower()}:{kind}")))
