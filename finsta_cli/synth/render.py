"""Pixels of the synthetic benchmark: shaded shape sprites, textured backgrounds, compositing, mp4.

Everything is drawn with numpy (and PIL for resampling): a sprite is an RGB image with an alpha
mask, shaded by a fixed light from the upper left so that objects are not flat colour blobs; a
background is a muted procedural texture (tiles, wood grain, cloudy noise, stripes); objects cast a
soft shadow on the background. Frames are composited far-to-near, so nearer objects occlude
farther ones, and the visible part of every object is measured from the masks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

# Class ids are the detector's: do not reorder.
SHAPES: tuple[str, ...] = ("ball", "cube", "cylinder", "cone", "ring", "star")
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (205, 38, 38),
    "green": (42, 168, 62),
    "blue": (40, 82, 215),
    "yellow": (232, 205, 40),
    "purple": (135, 55, 190),
    "cyan": (40, 200, 210),
    "orange": (240, 130, 30),
    "pink": (240, 120, 185),
}
SIZES: tuple[str, ...] = ("small", "large")
# Sprite side as a fraction of the frame's shorter side.
SIZE_FRACTION: dict[str, float] = {"small": 0.12, "large": 0.18}
BACKGROUNDS: tuple[str, ...] = ("tiles", "wood", "clouds", "stripes")
SUPERSAMPLE = 3
_LIGHT = np.array([-0.45, -0.6, 0.66])  # x right, y down, z toward the camera
_LIGHT = _LIGHT / np.linalg.norm(_LIGHT)


@dataclass(frozen=True)
class Sprite:
    """A shaded object image: ``rgb`` float32 (S, S, 3) in [0, 255], ``alpha`` float32 (S, S)."""

    rgb: np.ndarray
    alpha: np.ndarray
    shadow: np.ndarray  # (S, S) soft shadow mask in [0, 1], same frame as alpha
    # Tight extent of the opaque part relative to the sprite centre, in pixels.
    left: float
    top: float
    right: float
    bottom: float

    @property
    def side(self) -> int:
        return int(self.alpha.shape[0])

    @property
    def area(self) -> float:
        return float((self.alpha > 0.5).sum())


def sprite_side(size: str, frame_side: int) -> int:
    side = round(SIZE_FRACTION[size] * frame_side)
    return side + (side % 2)  # even, so that the centre falls between pixels alike everywhere


def _grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in [-1, 1] (x right, y down) of an n x n canvas."""
    axis = (np.arange(n, dtype=np.float64) + 0.5) / n * 2.0 - 1.0
    return np.meshgrid(axis, axis)


def _lambert(normal_x: np.ndarray, normal_y: np.ndarray, normal_z: np.ndarray) -> np.ndarray:
    dot = normal_x * _LIGHT[0] + normal_y * _LIGHT[1] + normal_z * _LIGHT[2]
    return np.clip(dot, 0.0, 1.0)


def _specular(shade: np.ndarray, power: float = 18.0) -> np.ndarray:
    return np.power(np.clip(shade, 0.0, 1.0), power)


def _polygon_mask(n: int, points: Sequence[tuple[float, float]]) -> np.ndarray:
    """Filled polygon given in [-1, 1] coordinates, as a float mask on an n x n canvas."""
    image = Image.new("L", (n, n), 0)
    pixels = [((x + 1.0) / 2.0 * n, (y + 1.0) / 2.0 * n) for x, y in points]
    ImageDraw.Draw(image).polygon(pixels, fill=255)
    return np.asarray(image, dtype=np.float64) / 255.0


def _draw_shape(shape: str, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coverage mask, diffuse brightness and highlight of a shape on an n x n canvas."""
    x, y = _grid(n)
    if shape == "ball":
        r2 = (x / 0.96) ** 2 + (y / 0.96) ** 2
        mask = (r2 <= 1.0).astype(np.float64)
        nz = np.sqrt(np.clip(1.0 - r2, 0.0, 1.0))
        diffuse = _lambert(x / 0.96, y / 0.96, nz)
        return mask, diffuse, _specular(diffuse, 30.0)
    if shape == "cube":
        # A cube seen from above and the front: top face, front face, right face.
        top_face = [(-0.9, -0.55), (-0.45, -0.95), (0.95, -0.95), (0.5, -0.55)]
        front_face = [(-0.9, -0.55), (0.5, -0.55), (0.5, 0.95), (-0.9, 0.95)]
        side_face = [(0.5, -0.55), (0.95, -0.95), (0.95, 0.5), (0.5, 0.95)]
        m_top, m_front, m_side = (_polygon_mask(n, p) for p in (top_face, front_face, side_face))
        mask = np.clip(m_top + m_front + m_side, 0.0, 1.0)
        diffuse = m_top * 0.95 + m_front * 0.62 * (1 - m_top) + m_side * 0.38 * (1 - m_top)
        diffuse = diffuse * (1.0 - 0.12 * (y + 1.0) / 2.0)
        return mask, np.clip(diffuse, 0, 1), np.zeros_like(mask)
    if shape == "cylinder":
        half_w, cap = 0.8, 0.22
        trunk = (np.abs(x) <= half_w) & (y >= -0.95 + cap) & (y <= 0.95 - cap)
        bottom = ((x / half_w) ** 2 + ((y - (0.95 - cap)) / cap) ** 2) <= 1.0
        top = ((x / half_w) ** 2 + ((y - (-0.95 + cap)) / cap) ** 2) <= 1.0
        mask = (trunk | bottom | top).astype(np.float64)
        u = np.clip(x / half_w, -1.0, 1.0)
        side_shade = _lambert(u, np.zeros_like(u), np.sqrt(np.clip(1 - u**2, 0, 1)))
        diffuse = np.where(top, 0.97, side_shade * 0.9 + 0.05)
        return mask, diffuse, np.where(top, 0.0, _specular(side_shade, 25.0))
    if shape == "cone":
        apex, base_y, half_w, cap = -0.95, 0.75, 0.85, 0.2
        t = np.clip((y - apex) / (base_y - apex), 0.0, 1.0)
        inside = (np.abs(x) <= half_w * t) & (y >= apex) & (y <= base_y)
        base = ((x / half_w) ** 2 + ((y - base_y) / cap) ** 2) <= 1.0
        mask = (inside | base).astype(np.float64)
        u = np.clip(x / np.maximum(half_w * t, 1e-6), -1.0, 1.0)
        shade = _lambert(u * 0.9, np.full_like(u, -0.35), np.sqrt(np.clip(1 - u**2, 0, 1)))
        diffuse = shade * 0.9 + 0.08
        return mask, diffuse, _specular(shade, 22.0)
    if shape == "ring":
        r = np.sqrt(x**2 + y**2)
        big, tube = 0.66, 0.3
        d = (r - big) / tube
        mask = (np.abs(d) <= 1.0).astype(np.float64)
        nz = np.sqrt(np.clip(1 - d**2, 0, 1))
        ux, uy = x / np.maximum(r, 1e-6), y / np.maximum(r, 1e-6)
        diffuse = _lambert(ux * d, uy * d, nz)
        return mask, diffuse * 0.92 + 0.06, _specular(diffuse, 26.0)
    if shape == "star":
        outer, inner = 0.98, 0.45
        points = []
        for k in range(10):
            angle = -math.pi / 2 + k * math.pi / 5
            radius = outer if k % 2 == 0 else inner
            points.append((radius * math.cos(angle), radius * math.sin(angle) + 0.06))
        mask = _polygon_mask(n, points)
        # Bevelled facets: brightness from the direction of the nearest point of the star.
        angle = np.arctan2(y - 0.06, x)
        facet = np.round((angle + math.pi / 2) / (math.pi / 5)) * (math.pi / 5) - math.pi / 2
        half = np.sign(np.sin((angle + math.pi / 2) * 5 / 2 * 2))
        nx = np.cos(facet) * 0.7 + np.cos(facet + half * math.pi / 2) * 0.25
        ny = np.sin(facet) * 0.7 + np.sin(facet + half * math.pi / 2) * 0.25
        diffuse = _lambert(nx, ny, np.full_like(nx, 0.65))
        return mask, diffuse * 0.85 + 0.12, np.zeros_like(mask)
    raise ValueError(f"unknown shape {shape!r}")


@lru_cache(maxsize=512)
def make_sprite(shape: str, colour: str, side: int) -> Sprite:
    """The shaded sprite of one (shape, colour) at ``side`` pixels, anti-aliased."""
    n = side * SUPERSAMPLE
    mask, diffuse, highlight = _draw_shape(shape, n)
    base = np.array(COLOURS[colour], dtype=np.float64)
    ambient = 0.28
    rgb = base[None, None, :] * (ambient + (1 - ambient) * diffuse[..., None])
    rgb = rgb + 190.0 * highlight[..., None]
    rgb = np.clip(rgb, 0, 255) * mask[..., None]

    def down(array: np.ndarray) -> np.ndarray:
        return array.reshape(side, SUPERSAMPLE, side, SUPERSAMPLE, *array.shape[2:]).mean((1, 3))

    alpha = down(mask)
    colour_sum = down(rgb)
    rgb_small = np.where(
        alpha[..., None] > 1e-6, colour_sum / np.maximum(alpha, 1e-6)[..., None], 0
    )
    shadow_image = Image.fromarray((alpha * 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(radius=max(1.0, side / 14))
    )
    shadow = np.asarray(shadow_image, dtype=np.float32) / 255.0
    ys, xs = np.nonzero(alpha > 0.5)
    half = side / 2.0
    return Sprite(
        rgb=rgb_small.astype(np.float32),
        alpha=alpha.astype(np.float32),
        shadow=shadow,
        left=float(xs.min()) - half,
        top=float(ys.min()) - half,
        right=float(xs.max() + 1) - half,
        bottom=float(ys.max() + 1) - half,
    )


def _smooth_noise(rng: np.random.Generator, height: int, width: int, cells: int) -> np.ndarray:
    """Value noise in [0, 1]: a coarse random grid upsampled bicubically."""
    coarse = rng.random((cells, cells)).astype(np.float32)
    image = Image.fromarray((coarse * 255).astype(np.uint8)).resize(
        (width, height), Image.Resampling.BICUBIC
    )
    return np.asarray(image, dtype=np.float32) / 255.0


def _hsv_to_rgb(h: float, s: float, v: float) -> np.ndarray:
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    rgb = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return np.array(rgb, dtype=np.float32) * 255.0


def make_background(
    rng: np.random.Generator, kind: str, width: int, height: int
) -> tuple[np.ndarray, dict[str, float | str]]:
    """A muted textured backdrop (float32 (H, W, 3)) and the parameters that made it."""
    hue = float(rng.random())
    sat = float(rng.uniform(0.05, 0.22))
    val = float(rng.uniform(0.42, 0.72))
    contrast = float(rng.uniform(0.08, 0.2))
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    if kind == "tiles":
        tile = int(rng.integers(max(8, width // 16), max(9, width // 5)))
        pattern = ((xs // tile + ys // tile) % 2).astype(np.float32)
        grout = ((xs % tile) < 1.5) | ((ys % tile) < 1.5)
        pattern = np.where(grout, -0.6, pattern * 2 - 1)
    elif kind == "wood":
        angle = float(rng.uniform(0, math.pi))
        freq = float(rng.uniform(0.08, 0.22))
        warp = _smooth_noise(rng, height, width, 6) * 14.0
        coord = xs * math.cos(angle) + ys * math.sin(angle) + warp
        pattern = np.sin(coord * freq)
    elif kind == "clouds":
        pattern = (
            _smooth_noise(rng, height, width, 5) * 0.6 + _smooth_noise(rng, height, width, 17) * 0.4
        ) * 2 - 1
    elif kind == "stripes":
        period = float(rng.uniform(10, 30))
        angle = float(rng.uniform(0, math.pi))
        coord = xs * math.cos(angle) + ys * math.sin(angle)
        pattern = np.where((coord % period) < period / 2, 1.0, -1.0)
    else:
        raise ValueError(f"unknown background {kind!r}")
    grain = _smooth_noise(rng, height, width, max(8, width // 4)) * 2 - 1
    shade = 1.0 + contrast * pattern + 0.05 * grain
    # A soft vignette, as if lit from the top left.
    light = 1.0 - 0.18 * ((xs / width) * 0.6 + (ys / height) * 0.4)
    base = _hsv_to_rgb(hue, sat, val)
    image = base[None, None, :] * (shade * light)[..., None]
    params: dict[str, float | str] = {
        "kind": kind,
        "hue": round(hue, 4),
        "saturation": round(sat, 4),
        "value": round(val, 4),
    }
    return np.clip(image, 0, 255).astype(np.float32), params


@dataclass(frozen=True)
class Placement:
    """One object in one frame: sprite centre in pixels, depth (larger = nearer), brightness."""

    track_id: int
    sprite: Sprite
    cx: float
    cy: float
    depth: float
    brightness: float = 1.0


@dataclass(frozen=True)
class Visibility:
    """What the camera sees of one object in one frame."""

    track_id: int
    visible_box: tuple[float, float, float, float] | None  # xyxy pixels, None when unseen
    visible_fraction: float  # visible opaque pixels / all opaque pixels of the sprite
    in_frame_fraction: float  # opaque pixels inside the frame / all opaque pixels


def _window(cx: float, cy: float, side: int, width: int, height: int) -> tuple[int, ...]:
    """Integer paste window of a sprite centred at (cx, cy): frame slice and sprite slice."""
    x0 = round(cx - side / 2.0)
    y0 = round(cy - side / 2.0)
    fx0, fy0 = max(0, x0), max(0, y0)
    fx1, fy1 = min(width, x0 + side), min(height, y0 + side)
    return fx0, fy0, fx1, fy1, fx0 - x0, fy0 - y0, fx1 - x0, fy1 - y0


def composite_frame(
    background: np.ndarray, placements: Sequence[Placement]
) -> tuple[np.ndarray, list[Visibility]]:
    """Draw shadows, then objects far to near; return the uint8 frame and what shows of each."""
    height, width = background.shape[:2]
    frame = background.copy()
    order = sorted(placements, key=lambda p: (p.depth, p.track_id))
    shadow_offset = max(2, round(width / 80))
    for place in order:
        side = place.sprite.side
        fx0, fy0, fx1, fy1, sx0, sy0, sx1, sy1 = _window(
            place.cx + shadow_offset, place.cy + shadow_offset * 1.4, side, width, height
        )
        if fx1 > fx0 and fy1 > fy0:
            shadow = place.sprite.shadow[sy0:sy1, sx0:sx1]
            frame[fy0:fy1, fx0:fx1] *= (1.0 - 0.45 * shadow)[..., None]
    coverage: list[tuple[Placement, np.ndarray]] = []  # full-frame opaque masks, far to near
    for place in order:
        sprite = place.sprite
        fx0, fy0, fx1, fy1, sx0, sy0, sx1, sy1 = _window(
            place.cx, place.cy, sprite.side, width, height
        )
        mask = np.zeros((height, width), dtype=bool)
        if fx1 > fx0 and fy1 > fy0:
            alpha = sprite.alpha[sy0:sy1, sx0:sx1, None]
            rgb = sprite.rgb[sy0:sy1, sx0:sx1] * place.brightness
            window = frame[fy0:fy1, fx0:fx1]
            frame[fy0:fy1, fx0:fx1] = window * (1.0 - alpha) + rgb * alpha
            mask[fy0:fy1, fx0:fx1] = sprite.alpha[sy0:sy1, sx0:sx1] > 0.5
        coverage.append((place, mask))
    visibility: dict[int, Visibility] = {}
    nearer = np.zeros((height, width), dtype=bool)
    for place, mask in reversed(coverage):
        total = place.sprite.area
        seen = mask & ~nearer
        count = int(seen.sum())
        box: tuple[float, float, float, float] | None = None
        if count:
            rows = np.flatnonzero(seen.any(axis=1))
            cols = np.flatnonzero(seen.any(axis=0))
            box = (float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1))
        visibility[place.track_id] = Visibility(
            track_id=place.track_id,
            visible_box=box,
            visible_fraction=count / total if total else 0.0,
            in_frame_fraction=int(mask.sum()) / total if total else 0.0,
        )
        nearer |= mask
    pixels = np.clip(frame + 0.5, 0, 255).astype(np.uint8)
    return pixels, [visibility[p.track_id] for p in placements]


def write_mp4(path: Path, frames: Sequence[np.ndarray], fps: int, crf: int = 20) -> None:
    """Encode RGB frames as H.264 (libx264, yuv420p; one thread, so the bytes repeat)."""
    import av

    height, width = frames[0].shape[:2]
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream(
            "libx264", rate=fps, options={"crf": str(crf), "preset": "medium", "threads": "1"}
        )
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        for pixels in frames:
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
