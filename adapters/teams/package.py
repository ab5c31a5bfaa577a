"""The Teams app package: the manifest template filled in, plus the two icons, zipped.

The template and icons are package data in ``adapters/teams/app_package/``, read
through ``importlib.resources`` so that an installed wheel finds them as a
checkout does. The manifest is a template: ``{{MICROSOFT_APP_ID}}`` (the app
and its bot share the Azure Bot's app id), ``{{PUBLIC_URL}}`` and
``{{PUBLIC_HOST}}`` (for ``validDomains``) are replaced from the settings.
The icons (``color.png`` 192x192, ``outline.png`` 32x32 white on
transparent, as Teams asks) are drawn by ``draw_icons``; the committed files
are its output (``python -m adapters.teams.package [ICON_DIR]`` rewrites them,
by default in the package-data folder of a checkout).
"""

from __future__ import annotations

import json
import math
import re
import struct
import sys
import zipfile
import zlib
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from bot.config import Settings
from bot.errors import ConfigurationError

APP_FILES = resources.files("adapters.teams") / "app_package"
ICONS = {"color.png": 192, "outline.png": 32}
ACCENT = (0x4F, 0x46, 0xE5)
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_PLACEHOLDER = re.compile(r"\{\{[A-Z_]+\}\}")


# --- icons ----------------------------------------------------------------------------


def png(pixels: list[list[tuple[int, int, int, int]]]) -> bytes:
    """RGBA rows as a PNG file."""
    height, width = len(pixels), len(pixels[0])
    raw = b"".join(b"\x00" + bytes(v for px in row for v in px) for row in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _clock(size: int, *, ink: tuple[int, int, int], ground: tuple[int, int, int, int]) -> bytes:
    """A clock face showing five to twelve: the last minutes before a deadline."""
    center = (size - 1) / 2
    radius = size * 0.36
    ring = max(1.0, size * 0.06)
    hand = max(1.0, size * 0.05)
    hands = [(math.radians(-30), radius * 0.75), (0.0, radius * 0.5)]  # minute, hour

    def near_hand(x: float, y: float) -> bool:
        for angle, length in hands:
            dx, dy = math.sin(angle), -math.cos(angle)
            along = x * dx + y * dy
            if 0 <= along <= length and abs(x * dy - y * dx) <= hand / 2:
                return True
        return False

    rows = []
    for j in range(size):
        row = []
        for i in range(size):
            x, y = i - center, j - center
            distance = math.hypot(x, y)
            drawn = abs(distance - radius) <= ring / 2 or near_hand(x, y) or distance <= hand
            row.append((*ink, 255) if drawn else ground)
        rows.append(row)
    return png(rows)


def draw_icons() -> dict[str, bytes]:
    return {
        "color.png": _clock(192, ink=(255, 255, 255), ground=(*ACCENT, 255)),
        "outline.png": _clock(32, ink=(255, 255, 255), ground=(0, 0, 0, 0)),
    }


def png_size(data: bytes) -> tuple[int, int]:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# --- manifest -------------------------------------------------------------------------


def manifest(settings: Settings, *, template: str) -> dict[str, Any]:
    """The manifest for this deployment; ``ConfigurationError`` says what is missing."""
    app_id = settings.microsoft_app_id
    if not app_id:
        raise ConfigurationError(
            "MICROSOFT_APP_ID is not set: the Teams package names the Azure Bot's app id"
        )
    if not _GUID.match(app_id):
        raise ConfigurationError(f"MICROSOFT_APP_ID must be a GUID (got {app_id!r})")
    public = urlparse(settings.public_url)
    if public.scheme != "https":
        raise ConfigurationError(
            f"PUBLIC_URL must be https for Teams (got {settings.public_url!r})"
        )
    values = {
        "{{MICROSOFT_APP_ID}}": app_id,
        "{{PUBLIC_URL}}": settings.public_url.rstrip("/"),
        "{{PUBLIC_HOST}}": public.netloc,
    }
    filled = _PLACEHOLDER.sub(lambda m: json.dumps(values[m.group(0)])[1:-1], template)
    data: dict[str, Any] = json.loads(filled)
    return data


def write_package(settings: Settings, *, output: Path) -> Path:
    """Write the zip Teams takes ("Upload a custom app") to ``output``."""
    try:
        template = (APP_FILES / "manifest.json").read_text(encoding="utf-8")
        icons = {name: (APP_FILES / name).read_bytes() for name in ICONS}
    except OSError as error:
        raise ConfigurationError(
            f"cannot read the Teams app files in {APP_FILES}: {error}"
        ) from None
    data = manifest(settings, template=template)
    for name, size in ICONS.items():
        if png_size(icons[name]) != (size, size):
            raise ConfigurationError(f"{APP_FILES / name} must be {size}x{size} pixels")
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        for name, content in icons.items():
            archive.writestr(name, content)
    return output


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else str(APP_FILES))
    for icon, content in draw_icons().items():
        (target / icon).write_bytes(content)
