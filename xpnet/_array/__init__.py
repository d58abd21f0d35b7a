"""Array plumbing under the book's modules: namespaces and devices (``compat``), the backend
registry (``registry``), seeded host random numbers (``random``) and the input checks every
public function makes once (``checks``)."""
