"""`alphax report` (in progress)."""


def add_parser(sub) -> None:
    """Registers nothing yet."""
