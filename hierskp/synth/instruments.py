"""Surgical instruments as anti-aliased thick segments, drawn onto channel-planar images.

Each operation has a characteristic tip path (stroke, circle, tremor, pull, sweep) and each
instrument its own silhouette and colour, so both the operation and the narrated tool leave
a visual trace that a frame-level model can learn.
"""

from __future__ import annotations

import numpy as np

from hierskp.synth.world_spec import OpLook, ToolLook

F32 = np.float32
TAU = 2 * np.pi


def paint(img: np.ndarray, mask: np.ndarray, rgb) -> None:
    """In-place alpha blend of a flat colour: img += mask * (rgb - img)."""
    delta = np.asarray(rgb, F32)[:, None, None] - img
    delta *= mask[:, None]
    img += delta


def capsule(xs: np.ndarray, ys: np.ndarray, a: np.ndarray, b: np.ndarray, w: float, px: float) -> np.ndarray:
    """Coverage (n, H, W) of thick segments a->b (a, b: (n, 2)) on the pixel grid given by
    its column/row coordinates xs (W,), ys (H,): separable projections keep it cheap."""
    a = a.astype(F32)
    d = b.astype(F32) - a
    length = np.sqrt((d * d).sum(1, keepdims=True)) + F32(1e-9)
    d /= length
    dx, dy, length = d[:, 0, None, None], d[:, 1, None, None], length[:, :, None]
    X, Y = xs[None, None, :] - a[:, 0, None, None], ys[None, :, None] - a[:, 1, None, None]
    u = X * dx + Y * dy  # along the segment, (n,1,W) + (n,H,1)
    v = Y * dx - X * dy  # across it
    beyond = np.maximum(u - length, 0)
    beyond += np.minimum(u, 0)
    beyond *= beyond
    v *= v
    v += beyond
    np.sqrt(v, out=v)
    v *= F32(-1 / px)
    v += F32(w / px + 0.5)
    return np.clip(v, 0, 1, out=v)


def motion(look: OpLook, t: np.ndarray, shaft: np.ndarray) -> np.ndarray:
    """Offset (n, 2) of the primary instrument tip: the operation's characteristic path."""
    w = TAU * look.speed * t[:, None]
    d = np.array([np.cos(look.angle), np.sin(look.angle)], F32)
    perp = np.array([-d[1], d[0]], F32)
    if look.motion == "stroke":
        return 0.3 * np.sin(w) * d
    if look.motion == "circle":
        return 0.15 * np.concatenate([np.cos(w), np.sin(w)], 1)
    if look.motion == "tremor":
        return 0.05 * np.concatenate([np.sin(w), np.sin(1.31 * w + 1)], 1)
    if look.motion == "pull":
        return -0.35 * (1 - np.cos(w)) / 2 * shaft
    return 0.35 * np.sin(w) * perp + 0.08 * np.sin(2 * w) * d  # sweep


def draw_tool(
    img: np.ndarray,
    tl: ToolLook,
    tip: np.ndarray,
    d: np.ndarray,
    t: np.ndarray,
    grid: tuple[np.ndarray, np.ndarray, float],
    sel: slice | np.ndarray = slice(None),
) -> None:
    """Draw an instrument that looks like `tl` with its tip at `tip` (n, 2) and shaft along unit `d` (n, 2)
    onto img[sel] (n, 3, H, W); grid = (xs, ys, pixel size)."""
    x, y, px = grid
    perp = np.stack([-d[:, 1], d[:, 0]], 1)
    far = tip + 3 * d
    parts: list[tuple[np.ndarray, tuple]] = []
    if tl.kind == "single":
        parts.append((capsule(x, y, tip, far, tl.width, px), tl.colour))
        if tl.tip:
            parts.append((capsule(x, y, tip, tip + 0.1 * d, tl.width * 0.9, px), tl.tip))
    elif tl.kind == "pair":
        gap = (0.015 + 0.02 * (1 + np.sin(TAU * 0.8 * t)))[:, None] * perp
        for sg in (1, -1):
            parts.append((capsule(x, y, tip + sg * gap, far + sg * 0.12 * perp, tl.width, px), tl.colour))
    elif tl.kind == "vee":
        pivot, opening = tip + 0.22 * d, (0.15 + 0.15 * np.sin(TAU * 1.2 * t))[:, None]
        for sg in (1, -1):
            blade = -d * np.cos(opening) + sg * perp * np.sin(opening)
            parts.append((capsule(x, y, pivot, pivot + 0.24 * blade, tl.width, px), tl.colour))
        parts.append((capsule(x, y, pivot, far, tl.width * 1.3, px), tl.colour))
    else:  # bar: retractor blade with a cross piece
        parts.append((capsule(x, y, tip, far, tl.width, px), tl.colour))
        parts.append((capsule(x, y, tip - 0.15 * perp, tip + 0.15 * perp, tl.width * 0.8, px), tl.colour))
    merged: dict[tuple, np.ndarray] = {}
    for mask, rgb in parts:  # one blend per colour
        merged[rgb] = np.maximum(merged[rgb], mask) if rgb in merged else mask
    sub = img[sel]  # a view for a slice, a copy for an index array
    for rgb, mask in merged.items():
        paint(sub, mask, rgb)
    if not isinstance(sel, slice):
        img[sel] = sub
