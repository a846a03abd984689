"""Platform adapters: translate platform payloads to Inbound and neutral messages to platform formats."""
