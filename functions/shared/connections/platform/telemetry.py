"""Logger and Metrics, configured by the POWERTOOLS_* variables of template.yaml (one of each per process)."""

import warnings

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()
# Reads publish no business metrics by design; Powertools would warn on every one of them.
warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)
