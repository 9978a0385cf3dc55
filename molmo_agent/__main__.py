import sys

from molmo_agent.cli import main

sys.exit(main())
