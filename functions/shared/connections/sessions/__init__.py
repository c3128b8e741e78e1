"""Charging sessions: what chargers report of their transactions, priced at the driver's group price
(recording.py, pricing.py), and what drivers and admins see of them."""
