"""decaylab_book: what builds and checks the book *Weight Decay, Verified*.

Readers import :mod:`decaylab` in the chapters; this package is the book's machinery, one
module per concern, above ``decaylab`` (it imports ``decaylab``; ``decaylab`` never imports it):

* :mod:`decaylab_book.files`: where the book's files are, the one list of notebooks (from
  ``_toc.yml``), the claim records and the specially compared cells stored in them;
* :mod:`decaylab_book.ledger`: the source posts' claims (``SEED_CLAIMS``) and the ledger's check;
* :mod:`decaylab_book.editions`: the two editions, the Chinese words and catalogues;
* :mod:`decaylab_book.boxes`: a claim record as a verdict box, in an edition's words;
* :mod:`decaylab_book.budgets`: the book's budgets (seconds per notebook, page weight, ...);
* :mod:`decaylab_book.sphinx`: the Sphinx extension;
* commands, run as ``python -m decaylab_book.<name>``: :mod:`~decaylab_book.nbtools` (execute,
  build), :mod:`~decaylab_book.meaning` (compare outputs by meaning),
  :mod:`~decaylab_book.tolerances`, :mod:`~decaylab_book.translations`,
  :mod:`~decaylab_book.fonts`, :mod:`~decaylab_book.mutation_score`.
"""
