from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gatehouse.config import Settings


async def get_settings(request: Request) -> Settings:  # async: a sync dependency costs a thread hop
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]
