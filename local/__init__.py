"""The local stack: the whole system on loopback, with moto standing in for AWS. Never deployed."""
