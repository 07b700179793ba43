"""The composition root: what needs both the web app (`core.web`) and the daemon — the
peers that import neither of each other — is put together here, above them."""
