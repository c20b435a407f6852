"""An append-only JSON-lines journal, fsynced per record, that lets an interrupted bulk run resume."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import orjson

DEFAULT_DIR = Path(".meetadmin-journal")


def default_journal_path(kind: str, *parts: str, directory: Path = DEFAULT_DIR) -> Path:
    """``.meetadmin-journal/<kind>-<readable>-<hash>.jsonl``: one file per (base URL, people, site...) key."""
    digest = hashlib.sha256("\x1f".join([kind, *parts]).encode()).hexdigest()[:16]
    readable = re.sub(r"[^A-Za-z0-9.@-]+", "_", "-".join(p for p in parts[1:] if p))[:80]
    return directory / f"{kind}-{readable}-{digest}.jsonl"


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path

    def records(self) -> list[dict[str, Any]]:
        """Every complete record; a torn last line (a crash mid-write) is ignored."""
        if not self.path.exists():
            return []
        out: list[dict[str, Any]] = []
        for line in self.path.read_bytes().splitlines():
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(record, dict):
                out.append(record)
        return out

    def append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = orjson.dumps(record) + b"\n"
        if self.path.exists() and self.path.stat().st_size:
            with self.path.open("rb") as fh:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    data = b"\n" + data  # close a torn line left by a crash
        with self.path.open("ab") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
