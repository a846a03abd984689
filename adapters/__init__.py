"""Platform adapters: payloads to Inbound, neutral messages to platform formats."""
