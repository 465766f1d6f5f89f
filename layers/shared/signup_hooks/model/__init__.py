"""The nouns: fixed names, the user, events as data, the delivery log's values, queue messages, health, schedule,
cursors, URLs, clock. Imports only the foundation (errors, digits)."""
