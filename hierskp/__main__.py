import sys

from hierskp.cli import main

sys.exit(main())
