import sys

from sd_doctor.cli import main

sys.exit(main())
