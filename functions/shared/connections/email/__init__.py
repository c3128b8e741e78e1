"""The emails people get: what a change calls for, rendering, sending through SES and suppression."""
