"""`make bench`: numbers about the signup path, delivery, cold start, memory and cost. A benchmark, not a test."""
