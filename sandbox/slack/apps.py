from django.apps import AppConfig


class SandboxSlackConfig(AppConfig):
    name = "sandbox.slack"
    label = "sandbox_slack"
    verbose_name = "Sandbox Slack"
