from django.apps import AppConfig


class SandboxServiceNowConfig(AppConfig):
    name = "sandbox.servicenow"
    label = "sandbox_servicenow"
    verbose_name = "Sandbox ServiceNow"
