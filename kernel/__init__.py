"""The kernel: what every layer may use, below the layers.

Tracing vocabulary and context, the time budget of a flow, the base error types and their HTTP mapping,
the one guard for cache calls, retry timing, API declarations and the durable-work engine. It imports no
layer; import-linter keeps it the lowest.
"""
