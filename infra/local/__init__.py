"""`make run`: the whole service on one machine, built from template.yaml, with no AWS account."""
