"""API policies of the Experience layer: who is calling (client address), how often (rate limits)."""
