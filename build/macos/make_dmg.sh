#!/usr/bin/env bash
# Wrap "dist/RFM Desktop.app" (made by `python build/build.py` on macOS) into a compressed
# disk image: dist/rfm-desktop-<version>-macos.dmg, with an /Applications link to drag onto.
# Usage: build/macos/make_dmg.sh [VERSION]   (default: rfm_desktop.__version__)
set -euo pipefail
cd "$(dirname "$0")/../.."

APP="dist/RFM Desktop.app"
VERSION="${1:-$(python -c 'import rfm_desktop; print(rfm_desktop.__version__)')}"
DMG="dist/rfm-desktop-${VERSION}-macos.dmg"
STAGE="build/_work/dmg"

[ -d "$APP" ] || { echo "missing $APP: run python build/build.py first" >&2; exit 1; }
rm -rf "$STAGE" && mkdir -p "$STAGE"
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
rm -f "$DMG"
hdiutil create -volname "RFM Desktop" -srcfolder "$STAGE" -ov -format UDZO "$DMG"
rm -rf "$STAGE"
echo "wrote $DMG"
