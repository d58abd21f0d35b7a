"""Array plumbing under the book's modules: namespaces and devices (``compat``), one row of capabilities per
library (``rows``, ``derived`` for any other namespace) and the backends built on them (``registry``), the
operations layers and the trainer call with each library's overrides (``ops*``), seeded random numbers
(``random``), and the checks public functions make once (``checks``, ``numbers``, ``labels``, ``trust``)."""
