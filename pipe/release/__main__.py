import gc

# A short run that builds ~100,000 objects and few cycles: the cyclic collector would run ~230 times on
# a 10,000-commit changelog (~70 ms). Only this command line turns it off; the pipe's own runs keep it.
gc.disable()

from pipe.release.cli import main  # noqa: E402

raise SystemExit(main())
