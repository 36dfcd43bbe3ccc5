"""`tend backup [FILE]`: a consistent copy of the whole database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tend.core.backup import BackupError, backup_database, default_backup_path


class Command(BaseCommand):
    help = "Back up the database to a file (SQLite online backup / pg_dump)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", default="",
                            help="Where to write (default: DATA_DIR/backups/tend-<time>.*).")
        parser.add_argument("--force", action="store_true",
                            help="Replace the file if it exists.")

    def handle(self, *args: Any, **options: Any) -> None:
        target = Path(options["file"]) if options["file"] else default_backup_path()
        try:
            written = backup_database(target, force=options["force"])
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        size = written.stat().st_size
        self.stdout.write(f"Backed up to {written} ({size:,} bytes).")
