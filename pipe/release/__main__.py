from pipe.release.cli import main

raise SystemExit(main())
