"""What each admin route does (the single-URL webhook, the endpoints, the delivery log, resend, redrive, test sends)
and the admin page."""
