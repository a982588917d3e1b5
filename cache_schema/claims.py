"""Leases on videos: one writer per video group at a time, across processes, machines and retries.

A claim is a key ``_claims/<video_id>/<generation>`` (JSON: owner, host, pid, pid_start, token,
expires_at, released) created with an exclusive create, so of two writers racing for the same
generation exactly one wins. A writer may take generation n+1 only when generation n is released or
expired, or when its owner is a dead process on this same host (pid and process start time no longer
match: taken over at once), so a dead writer's claim (SIGKILL, lost machine) never blocks for long:
on another host it times out after `lease_s` and another writer takes over.

``_claims`` itself is marked as an empty Zarr *array* (its zarr.json): Zarr never walks below an
array, so the claim keys are outside the hierarchy that Zarr, consolidation and xarray traverse (as a
plain folder each video's claims would be an unrecognised object, warned about once per video).
Caches from before keep their group marker until their next claim rewrites it; their claims are read
as before.
The holder renews its lease from a heartbeat thread and checks that no newer generation exists
before it commits (writes the completion marker) or deletes anything. Leases compare wall
clocks: machines sharing a cache need clocks in sync to well under `lease_s`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import zarr

from . import layout as L
from . import rawstore

CLAIMS = "_claims"
DEFAULT_LEASE_S = 120.0
_ARRAY_META = L.empty_array_node(
    "claim", "per-video write claims are keys below this empty array (cache_schema/claims.py)"
)
# names a video id may never take: the store's own metadata and the claims key (any case: some file
# systems fold it), and names Windows reserves
RESERVED_IDS = frozenset(
    {"zarr.json", ".zattrs", ".zgroup", ".zarray", ".zmetadata", "zarr.consolidated", CLAIMS, "videos"}
    | {"con", "prn", "aux", "nul"}
    | {f"{d}{i}" for d in ("com", "lpt") for i in range(1, 10)}
)


def reserved_id_problem(video_id: str) -> str | None:
    """Why `video_id` cannot name a video in a cache (None when it can)."""
    low = video_id.lower()
    if low in RESERVED_IDS or low.split(".")[0] in {"con", "prn", "aux", "nul"}:
        return f"{video_id!r} is a name the cache store uses or reserves for itself ({', '.join(sorted(RESERVED_IDS)[:6])}, ...)"
    return None


def owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def process_start(pid: int) -> str | None:
    """An identity of the process `pid` that a reused pid does not share (boot id + start time in
    clock ticks, Linux /proc); None when the process does not exist, "" where /proc cannot tell."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode(errors="replace")
        return f"{_boot_id()}:{stat.rpartition(')')[2].split()[19]}"
    except FileNotFoundError:
        return None
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return ""


def pid_namespace() -> str:
    """The pid namespace of this process: containers that share a host name and a cache may not share it."""
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return ""


def owner_is_dead(rec: dict[str, Any]) -> bool:
    """The claim's owner is a process of this host (and pid namespace) that no longer runs (a reused pid
    does not count as it)."""
    same_host = rec.get("host") == socket.gethostname() and rec.get("pid_ns", "") == pid_namespace()
    if not same_host or not isinstance(rec.get("pid"), int):
        return False
    now = process_start(rec["pid"])
    return now is None or bool(now and rec.get("pid_start") and now != rec["pid_start"])


def _gen_key(video_id: str, gen: int) -> str:
    return f"{CLAIMS}/{video_id}/{gen:08d}"


def _read(root: zarr.Group, key: str) -> dict[str, Any] | None:
    for _ in range(20):  # an exclusive create is visible before its bytes are: retry briefly
        raw = rawstore.get_bytes(root, key)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            time.sleep(0.01)
    return {"expires_at": 0, "released": True, "owner": "unreadable", "token": ""}


def latest_generation(root: zarr.Group, video_id: str) -> int:
    gens = [int(k) for k in rawstore.list_dir(root, f"{CLAIMS}/{video_id}") if k.isdigit()]
    return max(gens, default=0)


def holder(root: zarr.Group, video_id: str) -> dict[str, Any] | None:
    """The live claim on a video (owner, host, pid, expires_at), or None when nobody holds it: released,
    expired, or its owner is a dead process on this host."""
    gen = latest_generation(root, video_id)
    rec = _read(root, _gen_key(video_id, gen)) if gen else None
    if rec is None or rec.get("released") or float(rec.get("expires_at", 0)) <= time.time() or owner_is_dead(rec):
        return None
    return rec


def describe_holder(rec: dict[str, Any]) -> str:
    """'host:pid (pid P on H) until 12:00:05 UTC': who holds a claim and when its lease runs out."""
    until = dt.datetime.fromtimestamp(float(rec.get("expires_at", 0)), dt.UTC).strftime("%H:%M:%S UTC")
    return f"{rec.get('owner', '?')} until {until} unless renewed"


@dataclass
class Claim:
    root: zarr.Group
    video_id: str
    generation: int
    token: str
    owner: str
    lease_s: float
    lost: bool = False
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def key(self) -> str:
        return _gen_key(self.video_id, self.generation)

    def _record(self, released: bool = False) -> bytes:
        rec = {"owner": self.owner, "token": self.token, "expires_at": 0.0 if released else time.time() + self.lease_s}
        me = {
            "host": socket.gethostname(),
            "pid_ns": pid_namespace(),
            "pid": os.getpid(),
            "pid_start": process_start(os.getpid()) or "",
        }
        return json.dumps({**rec, **me, "released": released, "lease_s": self.lease_s}).encode()

    def held(self) -> bool:
        """Still ours: not released, and no other writer took a newer generation (checked in the store)."""
        if not self.lost and rawstore.exists(self.root, _gen_key(self.video_id, self.generation + 1)):
            self.lost = True
        return not self.lost and not self._stop.is_set()

    def renew(self) -> bool:
        if not self.held():
            return False
        rawstore.put_bytes(self.root, self.key, self._record())
        return True

    def _beat(self) -> None:
        while not self._stop.wait(self.lease_s / 4):
            try:
                if not self.renew():
                    return
            except Exception:  # noqa: BLE001 - a missed beat only shortens the lease
                continue

    def start_heartbeat(self) -> Claim:
        self._thread = threading.Thread(target=self._beat, name=f"claim-{self.video_id}", daemon=True)
        self._thread.start()
        return self

    def release(self) -> None:
        held = self.held()
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if held:
            rawstore.put_bytes(self.root, self.key, self._record(released=True))


def try_claim(root: zarr.Group, video_id: str, lease_s: float = DEFAULT_LEASE_S) -> Claim | None:
    """Claim a video for writing (with a running heartbeat), or None while another writer holds it."""
    problem = reserved_id_problem(video_id)
    if problem:
        raise ValueError(f"video_id {problem}: it cannot be claimed or stored")
    if rawstore.get_bytes(root, f"{CLAIMS}/zarr.json") != _ARRAY_META:  # new, or a group marker from before
        rawstore.put_bytes(root, f"{CLAIMS}/zarr.json", _ARRAY_META)
    gen = latest_generation(root, video_id)
    if gen and holder(root, video_id) is not None:
        return None
    claim = Claim(root, video_id, gen + 1, uuid.uuid4().hex, owner_name(), float(lease_s))
    rawstore.put_if_absent(root, claim.key, claim._record())
    rec = _read(root, claim.key)
    if rec is None or rec.get("token") != claim.token:
        return None  # another writer won this generation
    return claim.start_heartbeat()
