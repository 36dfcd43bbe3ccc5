"""The `tend` command: thin wrapper over Django management commands.

`tend serve`, `tend worker`, `tend migrate`, … run the management command of the same name
with Tend's settings; `tend manage <command>` reaches any other Django command.
"""

from __future__ import annotations

import os
import sys

COMMANDS: dict[str, str] = {
    "serve": "Migrate, create the demo organization on first run, serve UI + API and a worker",
    "worker": "Run the background task worker and the periodic tick (production)",
    "migrate": "Apply database migrations",
    "createtenant": "Create an organization (and optionally its owner)",
    "createuser": "Create a staff account, optionally adding it to an organization",
    "demo": "Load demo data into an organization (creates the demo organization if needed)",
    "audit": "Audit log tools: `tend audit verify [--tenant SLUG]`",
    "backup": "Back up the database to a file (SQLite online backup / pg_dump)",
    "restore": "Restore the database from a backup file",
    "manage": "Run any Django management command: `tend manage <command> …`",
}


def usage() -> str:
    width = max(len(c) for c in COMMANDS)
    lines = ["usage: tend <command> [options]", "", "commands:"]
    lines += [f"  {name.ljust(width)}  {text}" for name, text in COMMANDS.items()]
    lines += ["", "`tend <command> --help` shows a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tend.settings")
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(usage())
        return
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"tend: unknown command {command!r}\n", file=sys.stderr)
        print(usage(), file=sys.stderr)
        sys.exit(2)
    from django.core.management import execute_from_command_line

    if command == "manage":
        execute_from_command_line(["tend", *rest])
    else:
        execute_from_command_line(["tend", command, *rest])


if __name__ == "__main__":
    main()
