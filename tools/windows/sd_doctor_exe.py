"""The script PyInstaller freezes into sd-doctor.exe (tools/build-windows): the Windows download's entry point."""

import sys

from sd_doctor.exe import main

sys.exit(main())
