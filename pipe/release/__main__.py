import gc
import os
import sys

# A short run that builds ~100,000 objects and few cycles: the cyclic collector would run ~230 times on
# a 10,000-commit changelog (~70 ms). Only this command line turns it off; the pipe's own runs keep it.
gc.disable()

from pipe.release.cli import main  # noqa: E402

status = main()
# Leave without tearing the interpreter down (freeing every module and object costs ~6 ms of the latest
# release's notes): nothing is left to do but write out what is buffered.
try:
    sys.stdout.flush()
except BrokenPipeError:  # the reader went away (`| head`): what it read is all it wanted
    status = status or 1
sys.stderr.flush()
os._exit(status)
