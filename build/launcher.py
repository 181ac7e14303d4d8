"""Entry script of the frozen app (PyInstaller): the same arguments as the ``rfm-desktop`` command."""

import multiprocessing
import os
import sys

if __name__ == "__main__":
    # joblib/loky or multiprocessing children re-run this executable: let them be workers.
    multiprocessing.freeze_support()
    if sys.platform.startswith("linux") and getattr(sys, "frozen", False):
        # The Linux bundle ships Qt's xcb platform (GLX), not native Wayland: on a Wayland
        # session run through XWayland, and keep PyOpenGL on GLX too (it would pick EGL there).
        if os.environ.get("XDG_SESSION_TYPE") == "wayland":
            os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
        if not os.environ.get("QT_QPA_PLATFORM", "").startswith(("wayland", "eglfs")):
            os.environ.setdefault("PYOPENGL_PLATFORM", "glx")

    from rfm_desktop.cli import entry

    entry()  # main(), then its exit status (130 after Ctrl-C, see entry)
