"""Rules of the product with no I/O: membership transitions, answers to questions, connection codes."""
