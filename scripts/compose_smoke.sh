#!/usr/bin/env bash
# The README's tour against a running stack: sign-up, the welcome mail in Mailpit, a token,
# a published post that the public list shows. Exits non-zero at the first step that fails.
#
#   docker compose up -d --wait
#   bash scripts/compose_smoke.sh
#
# Reads the published ports the way docker-compose.yml does: HOST_PORT_API (default 8000) and
# HOST_PORT_MAILPIT (default 8025). Needs curl and python3 (for JSON); nothing else.
set -euo pipefail

API="http://127.0.0.1:${HOST_PORT_API:-8000}"
MAILPIT="http://127.0.0.1:${HOST_PORT_MAILPIT:-8025}"
# How long the worker may take to send the welcome mail (outbox → queue → SMTP).
MAIL_TIMEOUT_SECONDS=${MAIL_TIMEOUT_SECONDS:-30}
READY_TIMEOUT_SECONDS=${READY_TIMEOUT_SECONDS:-60}

# Bash's own clock (seconds since the script started): `date +%N` is not portable (macOS).
step() { printf '== [%3d s] %s\n' "$SECONDS" "$*"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }
# json FIELD < body: one field of a JSON object, by a dotted path (`items.0.id`).
json() {
  python3 -c '
import json, sys
value = json.load(sys.stdin)
for part in sys.argv[1].split("."):
    value = value[int(part)] if isinstance(value, list) else value[part]
print(value)' "$1"
}
# request EXPECTED_STATUS curl-arguments...: the body on stdout; a different status fails the run.
request() {
  local expected=$1 body status
  shift
  body=$(mktemp)
  status=$(curl -sS -o "$body" -w '%{http_code}' "$@") || { rm -f "$body"; fail "curl $*"; }
  if [ "$status" != "$expected" ]; then
    cat "$body" >&2; echo >&2; rm -f "$body"
    fail "expected HTTP $expected, got $status from: curl $*"
  fi
  cat "$body"; rm -f "$body"
}

step "waiting for $API/health/ready"
deadline=$(($(date +%s) + READY_TIMEOUT_SECONDS))
until curl -fs -o /dev/null "$API/health/ready"; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "$API/health/ready did not answer 200 within ${READY_TIMEOUT_SECONDS}s"
  sleep 1
done

# A fresh address each run, so the script can run again against the same stack.
email="smoke-$(date +%s)-$RANDOM@example.com"
password="smoke-test-password-$RANDOM$RANDOM"

step "sign-up as $email"
user=$(request 201 -H 'Content-Type: application/json' \
  -d "{\"email\":\"$email\",\"name\":\"Smoke Test\",\"password\":\"$password\"}" "$API/v1/auth/signup")
user_id=$(json id <<<"$user")

# mail_to ADDRESS: true once Mailpit lists a message to ADDRESS.
mail_to() {
  local messages
  messages=$(curl -fsS "$MAILPIT/api/v1/messages") || return 1
  python3 -c '
import json, sys
messages = json.loads(sys.argv[2]).get("messages") or []
sys.exit(0 if any(to.get("Address") == sys.argv[1] for m in messages for to in m.get("To") or []) else 1)' "$1" "$messages"
}

step "welcome mail in Mailpit ($MAILPIT/api/v1/messages)"
deadline=$(($(date +%s) + MAIL_TIMEOUT_SECONDS))
until mail_to "$email"; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "no mail to $email in Mailpit after ${MAIL_TIMEOUT_SECONDS}s (is the worker running?)"
  sleep 1
done

step "token (password grant)"
tokens=$(request 200 --data-urlencode grant_type=password --data-urlencode "username=$email" \
  --data-urlencode "password=$password" "$API/v1/auth/token")
access_token=$(json access_token <<<"$tokens")
auth=(-H "Authorization: Bearer $access_token")

step "GET /v1/users/me"
[ "$(request 200 "${auth[@]}" "$API/v1/users/me" | json id)" = "$user_id" ] || fail "/v1/users/me is another user"

step "a published post"
post=$(request 201 "${auth[@]}" -H 'Content-Type: application/json' \
  -d '{"title":"Hello from the smoke test","body":"It works.","status":"published"}' "$API/v1/posts")
post_id=$(json id <<<"$post")
[ "$(json status <<<"$post")" = published ] || fail "the post is not published: $post"

step "the post is in the public list"
request 200 "$API/v1/posts?author_id=$user_id" | python3 -c '
import json, sys
sys.exit(0 if sys.argv[1] in [item["id"] for item in json.load(sys.stdin)["items"]] else 1)' "$post_id" \
  || fail "post $post_id is not in GET /v1/posts?author_id=$user_id"

step "passed"
