"""``python -m deltascf`` = the ``deltascf`` command."""
from .cli import console

console()
