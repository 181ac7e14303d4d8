from rfm_desktop.cli import main

raise SystemExit(main())
