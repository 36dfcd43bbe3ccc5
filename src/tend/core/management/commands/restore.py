"""`tend restore FILE`: replace the database's contents with a backup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tend.core.backup import BackupError, restore_database


class Command(BaseCommand):
    help = "Restore the database from a backup file (stop `tend serve` and workers first)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="A file written by `tend backup`.")
        parser.add_argument("--force", action="store_true",
                            help="Overwrite a database that already holds data.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            restore_database(Path(options["file"]), force=options["force"])
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Restored from {options['file']}. Run `tend migrate` if the backup "
                          "is older than this version of Tend.")
