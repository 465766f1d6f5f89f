"""One HTTP request to one receiver: what it says, its format, its template, where it may go, the transport, its
time limit, its signature, backoff and pacing. Imports only the model."""
