"""Plumbing for files from strangers and files written atomically, below the book modules (imports only ``errors``)."""
