"""Platform adapters: each parses its platform's input into core calls and renders core messages."""
