import sys

from drift.native import main

sys.exit(main())
