"""The HTTP edge: domain errors as answers, bounded request bodies, the admin token check."""
