"""The Slack Experience API: the support team files and follows incidents with `/incident`.

Built on the Process APIs alone (and the kernel): nothing below the experience layer knows it exists.
"""
