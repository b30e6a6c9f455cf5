from netop.cli import main

raise SystemExit(main())
