from django.apps import AppConfig


class SandboxSalesforceConfig(AppConfig):
    name = "sandbox.salesforce"
    label = "sandbox_salesforce"
    verbose_name = "Sandbox Salesforce"
