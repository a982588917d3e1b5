"""Vectorised frame rendering: each frame is a crossfaded blend of operation layers
(tissue texture + progress-dependent overlay + instruments), seen through a per-video
camera and recording nuisance. Everything is a pure function of time except the sensor
noise, whose stream is consumed frame by frame, so chunking cannot change the pixels.
Images are channel-planar (n, 3, H, W) while rendering: numpy broadcasts far faster over
a long last axis than over a last axis of 3.
"""

from __future__ import annotations

import numpy as np

from hierskp.synth.appearance import Nuisance, WorldLook
from hierskp.synth.config import SynthConfig
from hierskp.synth.grammar import DEFAULT_WORLD, ProcedureInstance, Segment
from hierskp.synth.instruments import draw_tool, motion, paint
from hierskp.synth.world import look_key
from hierskp.synth.world_spec import OpLook, World

F32 = np.float32
TAU = 2 * np.pi


def _soft(dist_inside: np.ndarray, px: float) -> np.ndarray:
    """Anti-aliased coverage from a signed distance (positive = inside)."""
    return np.clip(dist_inside / px + 0.5, 0.0, 1.0)


def _texture(look: OpLook, waves: np.ndarray, X, Y, tt) -> np.ndarray:
    f, c, s = TAU * look.freq, float(np.cos(look.angle)), float(np.sin(look.angle))
    if look.texture == "stripes":
        return 0.5 + 0.5 * np.sin(f * (X * c + Y * s) + tt)
    if look.texture == "checker":
        return 0.5 + 0.5 * np.tanh(4 * np.sin(f * (X * c + Y * s) + tt) * np.sin(f * (Y * c - X * s)))
    if look.texture == "rings":
        return 0.5 + 0.5 * np.sin(f * np.sqrt(X * X + Y * Y + 1e-4) - tt)
    acc = sum(
        np.sin(f * (X * float(np.cos(a)) + Y * float(np.sin(a))) + float(p) + tt * (0.5 + 0.3 * j))
        for j, (a, p) in enumerate(waves)
    )
    return 1 / (1 + np.exp(-1.8 * acc))


class VideoRenderer:
    """Renders frames [i0, i1) of one procedure instance."""

    def __init__(
        self,
        inst: ProcedureInstance,
        cfg: SynthConfig,
        world: WorldLook,
        nuisance: Nuisance,
        rng: np.random.Generator,
        spec: World = DEFAULT_WORLD,
    ) -> None:
        self.inst, self.cfg, self.world, self.nz, self.rng, self.spec = inst, cfg, world, nuisance, rng, spec
        h, w = cfg.height, cfg.width
        ys = ((np.arange(h) + 0.5) / h * 2 - 1).astype(F32)
        xs = ((np.arange(w) + 0.5) / w * 2 - 1).astype(F32) * (w / h)
        self.xs, self.ys, self.px = xs, ys, 2.0 / h
        self.vignette = 1 - nuisance.vignette * (xs**2 + ys[:, None] ** 2) / (1 + (w / h) ** 2)
        self.tint = world.tint[inst.procedure]
        self.edges = np.array([s.start for s in inst.segments] + [inst.duration])

    def weights(self, t: np.ndarray) -> np.ndarray:
        """(n_segments, n) blend weights: 1 inside a segment, linear crossfades centred on
        boundaries (fade <= both neighbours' lengths, so fades never overlap; sums are 1)."""
        e, k = self.edges, len(self.edges) - 1
        out = np.ones((k, len(t)))
        for j in range(1, k):  # boundary between segment j-1 and j
            fade = max(min(self.cfg.crossfade, e[j] - e[j - 1], e[j + 1] - e[j]), 1e-6)
            alpha = np.clip((t - (e[j] - fade / 2)) / fade, 0, 1)
            out[j - 1] *= 1 - alpha
            out[j] *= alpha
        return out

    def frames(self, i0: int, i1: int) -> np.ndarray:
        """RGB uint8 frames (n, H, W, 3) for frame indices [i0, i1)."""
        t = np.arange(i0, i1) / self.cfg.fps
        off, rot = self.nz.camera(t)
        col = lambda v: np.asarray(v, F32)[:, None, None]  # noqa: E731  per-frame scalar -> (n,1,1)
        c, s = col(np.cos(rot) * self.nz.zoom), col(np.sin(rot) * self.nz.zoom)
        X = (c * self.xs + col(off[:, 0])) - s * self.ys[:, None]  # separable: one full-size pass
        Y = (c * self.ys[:, None] + col(off[:, 1])) + s * self.xs
        wts = self.weights(t)
        out = None
        for k, seg in enumerate(self.inst.segments):
            idx = np.nonzero(wts[k] > 0)[0]
            if not len(idx):
                continue
            sl = slice(idx[0], idx[-1] + 1)  # contiguous: views, not copies
            layer = self._layer(seg, t[sl], X[sl], Y[sl])
            if sl == slice(0, len(t)) and np.all(wts[k] == 1):
                out = layer
                break
            if out is None:
                out = np.zeros((len(t), 3) + X.shape[1:], F32)
            out[sl] += col(wts[k, sl])[:, None] * layer
        gain = self.nz.gain[:, None, None] * col(1 + 0.03 * np.sin(TAU * 0.25 * t + self.nz.phase))[:, None]
        out *= gain * self.nz.contrast
        out += gain * (0.5 - 0.5 * self.nz.contrast) + self.nz.offset[:, None, None]
        out *= self.vignette
        noise = self.rng.random((len(t), 1) + X.shape[1:], dtype=F32)  # uniform luma noise, std = nz.noise
        noise -= 0.5
        noise *= F32(self.nz.noise * np.sqrt(12.0))
        out += noise
        out *= 255
        out += 0.5
        planar = np.clip(out, 0, 255, out=out).astype(np.uint8)
        return np.ascontiguousarray(planar.transpose(0, 2, 3, 1))

    def _layer(self, seg: Segment, t: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        key = look_key(self.spec, seg.op)  # a look-alike is drawn exactly as the operation it copies
        look, waves = self.spec.operations[key].look, self.world.waves[key]
        palette = self.spec.palettes[look.palette]
        base, accent = (np.asarray(p, F32) * self.tint for p in (palette.base, palette.accent))
        tex = _texture(look, waves, X, Y, (look.drift * t + self.nz.phase).astype(F32)[:, None, None])
        img = base[:, None, None] + (accent - base)[:, None, None] * tex[:, None]
        prog = np.clip((t - seg.start) / (seg.end - seg.start), 0, 1).astype(F32)[:, None, None]
        self._overlay(img, look, waves, X, Y, t, prog)
        self._tools(img, seg, look, t)
        return img

    def _overlay(self, img, look: OpLook, waves, X, Y, t, prog) -> None:
        """Progress-dependent marks on the tissue (they move with the camera, not the tools)."""
        if look.overlay == "none":
            return
        a, px = look.angle + 0.5, self.px
        ca, sa = float(np.cos(a)), float(np.sin(a))
        u, v = X * ca + Y * sa, Y * ca - X * sa
        along = (u + 0.7) / 1.4  # 0..1 along the wound line
        on_line = (along >= 0) & (along <= prog)
        if look.overlay == "cutline":
            mask = _soft(0.025 - np.abs(v), px) * on_line
        elif look.overlay == "stitches":
            mask = _soft(0.06 - np.abs(v), px) * (np.abs(np.mod(along * 10, 1) - 0.5) < 0.08) * on_line
        elif look.overlay == "tube":
            mask = _soft(0.05 - np.abs(v - 0.2), px) * (along <= prog)
        elif look.overlay == "mesh":
            grid = np.minimum(np.abs(np.sin(np.pi * 6 * u)), np.abs(np.sin(np.pi * 6 * v)))
            mask = (grid < 0.25) * ((np.abs(u) < 0.6) & (np.abs(v) < 0.6)) * np.minimum(1, 0.3 + prog)
        elif look.overlay == "blood":
            acc = sum(np.sin(8 * (X * float(np.cos(w)) + Y * float(np.sin(w))) + float(p)) for w, p in waves)
            mask = 1 / (1 + np.exp(-6 * (acc - (3 * prog - 1.0))))
        else:  # shimmer: moving specular highlights of fluid
            tt = t.astype(F32)[:, None, None]
            mask = np.clip((np.sin(30 * X + 5 * tt) * np.sin(30 * Y - 4 * tt) - 0.75) * 4, 0, 1)
        paint(img, mask.astype(F32), self.spec.overlays[look.overlay])

    def _tools(self, img, seg: Segment, look: OpLook, t: np.ndarray) -> None:
        """Primary instrument of each phase (its path is the operation's motion) + assistant's."""
        centre, grid = self.world.centre[look_key(self.spec, seg.op)] + self.nz.tool_shift, (self.xs, self.ys, self.px)
        ang = self.nz.tool_angle + 0.25 * np.sin(TAU * 0.05 * t)
        shaft = np.stack([np.cos(ang), np.sin(ang)], 1)
        tip = centre + motion(look, t, shaft)
        tools = self.spec.instruments
        starts = np.array([p.start for p in seg.phases])
        phase_tool = np.array([p.instrument for p in seg.phases])[
            np.clip(np.searchsorted(starts, t, "right") - 1, 0, None)
        ]
        if look.assist:
            ang2 = ang + 0.6 * np.pi
            dir2 = np.stack([np.cos(ang2), np.sin(ang2)], 1)
            draw_tool(img, tools[look.assist].look, centre - 0.45 * dir2 + 0.02 * np.sin(t)[:, None], dir2, t, grid)
        names = np.unique(phase_tool)
        for name in names:
            sel = slice(None) if len(names) == 1 else np.nonzero(phase_tool == name)[0]
            draw_tool(img, tools[str(name)].look, tip[sel], shaft[sel], t[sel], grid, sel)
