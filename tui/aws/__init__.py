"""AWS access: one aiobotocore session, long-lived clients, rate limits and errors. No UI imports."""
