"""Signup webhooks: the logic and AWS access shared by every function of the stack, in wings that import only the
wings below them. `model/` holds the nouns (names, the user, events as data, the log's values, queue messages,
health, schedule, clock); `api/` the HTTP edge; `sending/` one HTTP request to one receiver (content, formats,
template, SSRF guard, transport, signing, backoff, pacing); `signup.py` and `config.py` the signup and the
environment; `endpoints/` an endpoint's settings, options and registry; `storage/` the only wing that talks to AWS,
its ports beside its adapters; `pipeline/` a notification's life by stage and the one path every trigger sends
through (`pipeline/dispatch.py`); `admin/` what each admin route does and the page. docs/architecture.md has a
section per wing; tests/unit/test_layering.py keeps the plan."""
