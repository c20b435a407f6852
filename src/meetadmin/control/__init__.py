"""The sandbox's control plane, ``/_meetadmin/...`` (contract-notes §8.4): rate limits, faults, state,
meetings' life and the clock. Outside Webex's ``/v1`` namespace; it answers only to the control token
(``MEETADMIN_CONTROL_TOKEN`` or ``serve --control-token``), and with none set every path is 404.

Each area is a module with an ``APIRouter`` of its own, listed in ``ROUTERS`` (``control/routers.py``).
"""
