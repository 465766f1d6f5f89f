"""The pipeline: a notification's life by stage (prepare, attempts, exactly once, settle, announce), the one path every
trigger sends through (dispatch.py), and the triggers of the functions that deliver. Reaches storage only through
storage/ports.py."""
