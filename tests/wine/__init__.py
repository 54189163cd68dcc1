"""The Windows test tier's bed: Windows CPython (the official embeddable build) under Wine, with sd-doctor's
dependencies as win_amd64 wheels. See bed.py."""
