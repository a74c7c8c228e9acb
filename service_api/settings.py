"""Service API settings: one TOML file; built in main() and passed to create_app()."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ServiceApiSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    database_url: str = "sqlite:///var/forewarn-api.sqlite"
    dashboard: bool = True
