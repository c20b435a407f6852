"""Report files: CSV, or JSON when the name ends in .json."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import orjson


def report_format(path: Path) -> str | None:
    suffix = path.suffix.lower()
    return {".csv": "csv", ".json": "json"}.get(suffix)


def write_report(path: Path, fields: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if report_format(path) == "json":
        records = [dict(zip(fields, row, strict=True)) for row in rows]
        path.write_bytes(orjson.dumps(records, option=orjson.OPT_INDENT_2) + b"\n")
        return
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(fields)
        writer.writerows(rows)
