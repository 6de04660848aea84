"""The scheduled jobs and the one scheduler process that runs them (an entry point, like the webhooks)."""
