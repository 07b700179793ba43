"""ASGI entry point for uvicorn/gunicorn: ``core.web.asgi:app``."""

from core.runtime import Runtime
from core.web.app import create_app

app = create_app(Runtime.build())
