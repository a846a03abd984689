"""The ``web:`` section of app.yaml."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class WebSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    auth_token: str = ""
    clock_control: bool = True
