"""Logging for workflow scripts: the job's log file and stderr, with counts and timings."""

from __future__ import annotations

import logging
import sys
import warnings


def setup_logging(log_path: str | None = None, level: int = logging.INFO) -> logging.Logger:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        handlers.append(logging.FileHandler(log_path, mode="w"))
    logging.basicConfig(
        level=level, format="%(asctime)s %(name)s %(levelname)s: %(message)s", handlers=handlers, force=True
    )
    logging.captureWarnings(True)
    warnings.filterwarnings("default")
    # an uncaught error goes to the job's log file too, not only to the terminal
    sys.excepthook = lambda *exc: logging.getLogger("fairforget").critical("uncaught exception", exc_info=exc)
    for noisy in ("httpx", "urllib3", "filelock", "fsspec"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return logging.getLogger("fairforget")
