"""The ``slack:`` section of app.yaml."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, model_validator


class SlackSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    signing_secret: str = ""
    bot_token: str = ""
    app_token: str = ""
    api_url: str = "https://slack.com/api/"
    spoc_channel: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.bot_token)

    @model_validator(mode="after")
    def _secrets_together(self) -> SlackSettings:
        if self.bot_token and not (self.signing_secret or self.app_token):
            raise ValueError(
                "slack.bot_token is set but slack.signing_secret is empty: set "
                "SLACK_SIGNING_SECRET (or slack.app_token for Socket Mode)"
            )
        return self
