"""Where the book's files are: shared by the tests, the benchmarks and the tools."""

from pathlib import Path

from decaylab.ledger import book_notebooks

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"


def notebooks() -> list[Path]:
    """Every notebook of the book, in file order (the one list the tests and tools use)."""
    return book_notebooks(BOOK)
