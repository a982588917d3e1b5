"""A search asked of a running `hierskp serve` over HTTP (`hierskp search --server URL`): standard library
only, so the asking process starts without torch; the server keeps the run, the cache and the index loaded,
and checks the index against the cache's commit log on every query, as a local search does."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

TIMEOUT_S = 120.0  # a first query of a level may build the server's index


class ServerError(ValueError):
    """The server could not be asked, or refused the query: the message says which and what to do."""


def ask_server(
    server: str, text: str, level: str, k: int, refused: list[str], splits: list[str] | None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(hits, index info) of `text` at `level` from the server at `server`; `refused` names options the
    server's library decides, which are refused rather than silently ignored."""
    if refused:
        raise ServerError(
            f"--server {server} searches with the server's run, cache and index options: drop {', '.join(refused)} "
            "(or search here without --server)"
        )
    parts = urllib.parse.urlsplit(server)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ServerError(f"--server {server!r} is not an http(s) URL such as http://127.0.0.1:8000")
    params = {"q": text, "level": level, "k": k, **({"split": splits[0]} if splits else {})}
    url = f"{server.rstrip('/')}/api/search?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp:
            body = json.load(resp)
    except urllib.error.HTTPError as exc:
        raise ServerError(f"{server} refused the query ({exc.code}): {_detail(exc)}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ServerError(
            f"no hierskp serve answers at {server} ({reason}); start one with "
            "`hierskp serve --run RUN --cache CACHE --port PORT`, or search here with --run and --cache"
        ) from None
    except ValueError:
        raise ServerError(f"{server} answered something other than JSON: is it a `hierskp serve`?") from None
    if not isinstance(body, dict) or not isinstance(body.get("hits"), list):
        raise ServerError(f"{server} answered JSON without hits: is it a `hierskp serve`?")
    return body["hits"], body.get("index") or {}


def _detail(exc: urllib.error.HTTPError) -> str:
    try:
        detail = json.load(exc).get("detail")
    except (ValueError, AttributeError, OSError):
        return exc.reason or "no detail"
    return detail if isinstance(detail, str) else json.dumps(detail)
