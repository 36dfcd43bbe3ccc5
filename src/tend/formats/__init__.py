"""Date and number formats that complete Django's own per language (FORMAT_MODULE_PATH).
Each `<language>/formats.py` sets only what Django leaves out or gets wrong for Tend."""
