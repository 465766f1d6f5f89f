"""An endpoint: its custom header, its stored settings and what an administrator may change in them, the options
one delivery uses, and the registry of every endpoint."""
