"""Social platform adapters: one `SocialProvider` per platform, speaking the platform's real
HTTP API through httpx (`base.py` the interface and registry, `providers.py` the five
platforms, `fakes.py` local fake servers for tests and the demo)."""
