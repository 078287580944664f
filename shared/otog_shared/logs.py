"""Structured JSON logs that carry the request id, and no personal data.

Both formatters tell exceptions through :func:`otog_shared.dbfaults.format_exception`,
so a traceback logged by anyone (our handlers, uvicorn's "Exception in ASGI
application", SQLAlchemy's pool) carries no SQL parameters, no PostgreSQL DETAIL
and no validation input: a failing insert of a worker would otherwise put the
person's name, birth date and phone into the log.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from otog_shared.context import client_id_var, request_id_var
from otog_shared.dbfaults import describe, format_exception

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()) | {"message"}


def _safe_message(record: logging.LogRecord) -> str:
    """The record's message, with exceptions passed as arguments told safely."""
    args = record.args
    if isinstance(args, tuple) and any(isinstance(a, BaseException) for a in args):
        safe = tuple(describe(a) if isinstance(a, BaseException) else a for a in args)
        return str(record.msg) % safe
    return record.getMessage()


def _format_exc_info(ei: Any) -> str:
    exc = ei[1] if isinstance(ei, tuple) else None
    return format_exception(exc) if isinstance(exc, BaseException) else ""


class PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.exc_text = None  # not another formatter's rendering of the traceback
        return super().format(record)

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = _safe_message(record)
        return super().formatMessage(record)

    def formatException(self, ei: Any) -> str:
        return _format_exc_info(ei)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def formatException(self, ei: Any) -> str:
        return _format_exc_info(ei)

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": _safe_message(record),
        }
        rid = request_id_var.get()
        if rid:
            payload["request_id"] = rid
        cid = client_id_var.get()
        if cid:
            payload["client_id"] = cid
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                payload[key] = describe(value) if isinstance(value, BaseException) else value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False, default=str)


def configure_logging(service: str, level: str = "INFO", json_logs: bool = True) -> None:
    handler = logging.StreamHandler(sys.stdout)
    if json_logs:
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(PlainFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's own access log lacks the request id; ours replaces it.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # httpx logs every service-to-service call at INFO; the callee's access log
    # already has it under the same request id, so here it only costs time.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
