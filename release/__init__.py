"""Software updates delivered by USB: the office signs a package (.deb) or the Windows kit with
the pinned release key; a laptop verifies it before anything is installed.

A layer of its own beside sync/ and documents/: it moves software, not records, and knows no
store. ui/ and main.py call it; it calls only models/ (errors, paths) and sync.crypto's
fingerprint format, so a key reads the same everywhere.
"""
