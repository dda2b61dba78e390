"""The ``deltascf`` command line: one options table (:mod:`.options`), input files (:mod:`.toml`), the
equivalent script (:mod:`.script`), molecules (:mod:`.molecule`) and the commands (:mod:`.commands`)."""
from .commands import console, main, make_task
from .options import InputError, build_parser

__all__ = ["main", "console", "make_task", "build_parser", "InputError"]
