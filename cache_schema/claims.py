"""Leases on videos: one writer per video group at a time, across processes, machines and retries.

A claim is a key ``_claims/<video_id>/<generation>`` (JSON: owner, token, expires_at, released)
created with an exclusive create, so of two writers racing for the same generation exactly one
wins. A writer may take generation n+1 only when generation n is released or expired, so a dead
writer's claim (SIGKILL, lost machine) times out after `lease_s` and another writer takes over.
The holder renews its lease from a heartbeat thread and checks that no newer generation exists
before it commits (writes the completion marker) or deletes anything. Leases compare wall
clocks: machines sharing a cache need clocks in sync to well under `lease_s`.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import zarr

from . import rawstore

CLAIMS = "_claims"
DEFAULT_LEASE_S = 120.0
_GROUP_META = json.dumps({"zarr_format": 3, "node_type": "group", "attributes": {}}).encode()


def owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


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
    """The live claim on a video (owner, expires_at), or None when nobody holds it."""
    gen = latest_generation(root, video_id)
    rec = _read(root, _gen_key(video_id, gen)) if gen else None
    if rec is None or rec.get("released") or float(rec.get("expires_at", 0)) <= time.time():
        return None
    return rec


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
        return json.dumps({**rec, "released": released, "lease_s": self.lease_s}).encode()

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
    rawstore.put_if_absent(root, f"{CLAIMS}/zarr.json", _GROUP_META)
    gen = latest_generation(root, video_id)
    if gen and holder(root, video_id) is not None:
        return None
    claim = Claim(root, video_id, gen + 1, uuid.uuid4().hex, owner_name(), float(lease_s))
    rawstore.put_if_absent(root, claim.key, claim._record())
    rec = _read(root, claim.key)
    if rec is None or rec.get("token") != claim.token:
        return None  # another writer won this generation
    return claim.start_heartbeat()
