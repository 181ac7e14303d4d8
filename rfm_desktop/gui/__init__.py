"""The desktop app (Qt). ``main(argv)`` is what ``rfm-desktop`` runs.

``argv`` are the arguments after the program name:

* ``[]`` – the main window with the welcome screen
* ``[FILE]`` – the main window reading FILE (a data file or a saved ``.rfm.json`` analysis)
* ``["--demo"]`` – the bundled sample loaded, analysed and shown on the results
* ``["--selftest", OUTDIR]`` – a scripted run of the real window; screenshots and
  ``result.json`` in OUTDIR; exit code 0 when everything worked
"""

from __future__ import annotations

import argparse
import sys

#: the background import starts once the window is up (it competes for the CPU and the GIL)
PRELOAD_DELAY_MS = 300


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="rfm-desktop", description="RFM customer segmentation.")
    parser.add_argument("file", nargs="?", help="a transactions file or a saved analysis to open")
    parser.add_argument("--demo", action="store_true", help="open the bundled sample, analysed")
    parser.add_argument(
        "--selftest", metavar="OUTDIR", help="run the self test, write screenshots to OUTDIR"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(list(sys.argv[1:] if argv is None else argv))
    if args.selftest:
        from rfm_desktop.gui.selftest import run_selftest

        return run_selftest(args.selftest)

    from PySide6.QtCore import QTimer

    from rfm_desktop.gui import crash, worker
    from rfm_desktop.gui.app import create_app, create_main_window

    app = create_app()
    window = create_main_window()
    crash.install(window)
    window.show()
    # the wizard's libraries load in the background while the analyst looks at the start page
    QTimer.singleShot(PRELOAD_DELAY_MS, window, window.preload)
    if args.demo:
        window.open_demo()
    elif args.file:
        window.open_path(args.file)
    code = app.exec()
    worker.shutdown(3000)
    return int(code)
