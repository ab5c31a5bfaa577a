"""The local console adapter: type commands as a user in a channel; replies and alerts print."""
