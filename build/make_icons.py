"""Render resources/icons/app.svg into app.png (512 px), app.ico and app.icns.

Uses only Qt (PySide6's QtSvg, already a dependency of the app) - no Pillow. The .ico
holds 16-256 px images (BMP for the small ones, PNG for 256, as Windows expects), the
.icns the PNG-based types macOS reads since 10.7 (16-1024 px incl. @2x).

Run: ``python build/make_icons.py`` (offscreen, no display needed). The outputs are
committed; rerun after editing the SVG.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ICONS = ROOT / "resources" / "icons"
SOURCE = ICONS / "app.svg"

PNG_SIZE = 512
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICO_PNG_FROM = 256  # sizes >= this are stored as PNG inside the .ico
#: (OSType, pixel size) of the PNG-based icns entries.
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"icp6", 64),
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic09", 512),
    (b"ic10", 1024),  # 512@2x
    (b"ic11", 32),  # 16@2x
    (b"ic12", 64),  # 32@2x
    (b"ic13", 256),  # 128@2x
    (b"ic14", 512),  # 256@2x
)


def _qt():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    return app, QBuffer, QByteArray, QIODevice, Qt, QImage, QPainter, QSvgRenderer


class Renderer:
    def __init__(self, svg: Path):
        (
            self._app,
            self._QBuffer,
            self._QByteArray,
            self._QIODevice,
            Qt,
            self._QImage,
            self._QPainter,
            QSvgRenderer,
        ) = _qt()
        self._transparent = Qt.GlobalColor.transparent
        self._svg = QSvgRenderer(str(svg))
        if not self._svg.isValid():
            raise SystemExit(f"cannot read {svg}")
        self._cache: dict[int, object] = {}

    def image(self, size: int):
        """ARGB32 (not premultiplied) image of the icon at size x size."""
        if size not in self._cache:
            img = self._QImage(size, size, self._QImage.Format.Format_ARGB32_Premultiplied)
            img.fill(self._transparent)
            painter = self._QPainter(img)
            painter.setRenderHint(self._QPainter.RenderHint.Antialiasing)
            painter.setRenderHint(self._QPainter.RenderHint.SmoothPixmapTransform)
            self._svg.render(painter)
            painter.end()
            self._cache[size] = img.convertToFormat(self._QImage.Format.Format_ARGB32)
        return self._cache[size]

    def png(self, size: int) -> bytes:
        data = self._QByteArray()
        buf = self._QBuffer(data)
        buf.open(self._QIODevice.OpenModeFlag.WriteOnly)
        if not self.image(size).save(buf, "PNG"):
            raise SystemExit(f"PNG encoding failed at {size}px")
        buf.close()
        return bytes(data.data())

    def bmp_dib(self, size: int) -> bytes:
        """ICO-style DIB: BITMAPINFOHEADER, 32-bit BGRA rows bottom-up, then the AND mask."""
        img = self.image(size)
        stride = img.bytesPerLine()
        raw = bytes(img.constBits())[: stride * size]
        # Format_ARGB32 is stored as 0xAARRGGBB words: little-endian bytes B, G, R, A.
        if sys.byteorder != "little":  # pragma: no cover
            raise SystemExit("big-endian hosts are not supported")
        rows = [raw[y * stride : y * stride + size * 4] for y in range(size)]
        xor = b"".join(reversed(rows))
        mask_stride = ((size + 31) // 32) * 4
        mask_rows = []
        for row in reversed(rows):
            bits = bytearray(mask_stride)
            for x in range(size):
                if row[x * 4 + 3] == 0:  # fully transparent -> masked
                    bits[x // 8] |= 0x80 >> (x % 8)
            mask_rows.append(bytes(bits))
        mask = b"".join(mask_rows)
        header = struct.pack(
            "<IiiHHIIiiII", 40, size, size * 2, 1, 32, 0, len(xor) + len(mask), 0, 0, 0, 0
        )
        return header + xor + mask


def ico_bytes(r: Renderer, sizes=ICO_SIZES) -> bytes:
    images = [r.png(s) if s >= ICO_PNG_FROM else r.bmp_dib(s) for s in sizes]
    offset = 6 + 16 * len(sizes)
    out = [struct.pack("<HHH", 0, 1, len(sizes))]
    for size, data in zip(sizes, images, strict=True):
        dim = 0 if size >= 256 else size
        out.append(struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset))
        offset += len(data)
    out.extend(images)
    return b"".join(out)


def icns_bytes(r: Renderer, types=ICNS_TYPES) -> bytes:
    chunks = [
        kind + struct.pack(">I", 8 + len(png)) + png
        for kind, png in ((k, r.png(s)) for k, s in types)
    ]
    body = b"".join(chunks)
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--svg", type=Path, default=SOURCE)
    parser.add_argument("--out", type=Path, default=ICONS)
    args = parser.parse_args(argv)
    r = Renderer(args.svg)
    args.out.mkdir(parents=True, exist_ok=True)
    outputs = {
        "app.png": r.png(PNG_SIZE),
        "app.ico": ico_bytes(r),
        "app.icns": icns_bytes(r),
    }
    for name, data in outputs.items():
        (args.out / name).write_bytes(data)
        print(f"wrote {args.out / name} ({len(data) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
