import sys

from alphax.cli import main

sys.exit(main())
