"""Customers: the people who book, per tenant, with a normalized phone, an e-mail and their consent.
Owns `customers`."""
