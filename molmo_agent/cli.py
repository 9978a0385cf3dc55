"""The ``molmo-agent`` command line.

Each subcommand lives in its own module in ``molmo_agent/commands/`` that exposes
``register(subparsers)``; that function adds its parser and sets ``func`` (called with the parsed
args, returns an exit code). Modules are discovered, so adding a command is adding a file. Command
modules import heavy dependencies inside ``func`` so that ``molmo-agent --help`` stays fast.

    $ molmo-agent --help
    $ molmo-agent point photo.jpg "the red mug" --json
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from molmo_agent.errors import MolmoAgentError


def _command_modules() -> list[str]:
    from molmo_agent import commands

    return sorted(
        f"molmo_agent.commands.{info.name}"
        for info in pkgutil.iter_modules(commands.__path__)
        if not info.name.startswith("_")
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="molmo-agent",
        description="Ground language in pixels with Molmo and turn it into actions.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in _command_modules():
        importlib.import_module(module_name).register(subparsers)
    return parser


def _version() -> str:
    from molmo_agent import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except MolmoAgentError as error:
        print(f"molmo-agent {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
