"""meetadmin: a self-hosted, Webex-compatible server and CLI for Webex Meetings admin operations."""

__version__ = "0.1.0"
