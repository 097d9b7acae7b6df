"""Version 1 of the public API. A breaking change goes to `/v2`, never here (API-3)."""

from fastapi import APIRouter

router = APIRouter(prefix="/v1")
