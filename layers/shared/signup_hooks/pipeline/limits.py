"""The limits the functions that deliver share, each defined once."""

from __future__ import annotations

# How long before its timeout a function stops starting attempts: what is left is for settling what it holds.
DELIVERY_DEADLINE_MARGIN_SECONDS = 2.0  # the notifier and the retry function
ADMIN_DEADLINE_MARGIN_SECONDS = 3.0  # the admin function: its answer, and the visibility reset of what still fails
