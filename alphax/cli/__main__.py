import sys

from alphax.cli import console_main

sys.exit(console_main())
