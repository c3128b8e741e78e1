"""Connections: the domain logic and data access every function of the service shares."""
