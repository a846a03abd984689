"""The ``teams:`` section of app.yaml."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, model_validator


class TeamsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    app_id: str = ""
    app_password: str = ""
    tenant_id: str = ""
    spoc_channel: str = ""

    @model_validator(mode="after")
    def _password_with_id(self) -> TeamsSettings:
        if self.app_id and not self.app_password:
            raise ValueError("teams.app_id is set but teams.app_password is empty: set it")
        return self
