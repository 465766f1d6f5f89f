"""Signup webhooks: the logic and AWS access shared by every function of the stack."""
