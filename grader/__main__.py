import os
import sys

from grader.cli import main

status = main()
sys.stdout.flush()
sys.stderr.flush()
# Every file is written and closed, the gradebook committed and the workers stopped by now: skip the
# interpreter's teardown, which spends most of a second unloading torch where it was imported (check).
os._exit(status)
