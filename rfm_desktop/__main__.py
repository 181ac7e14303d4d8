from rfm_desktop.cli import entry

entry()
