"""Version 1 of the public API. A breaking change goes to `/v2`, never here (API-3)."""

from fastapi import APIRouter

from app.api.v1 import account, auth, personal_access_tokens, posts, users, webhooks

router = APIRouter(prefix="/v1")
router.include_router(auth.router)
router.include_router(auth.token_router)
router.include_router(account.router)
router.include_router(personal_access_tokens.router)  # before users: "/users/me/tokens" is not a user id
router.include_router(users.router)
router.include_router(posts.router)
router.include_router(webhooks.router)
