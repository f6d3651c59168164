"""Authentication: which bearer token a route accepts. Management routes take the
management key, and only for the one team; api.x.ai routes take the inference key or the
secret of any enabled, unexpired key in State. Secrets are compared in constant time.
"""

import secrets

from .routing import MGMT
from .wire import ApiError

MSG_BAD_MGMT_KEY = "Invalid bearer token. Please ensure you use a valid management key."
MSG_BAD_API_KEY = "Incorrect API key provided. You can obtain an API key from https://console.x.ai."


def authenticate(req, route, state, config):
    """Check the request's bearer token for `route`; sets req.identity on api.x.ai routes
    ("inference" or the ApiKey). Raises ApiError 401/403."""
    auth = req.headers.get("Authorization", "")
    scheme, _, token = auth.partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    if route.auth == MGMT:
        if not same_secret(token, config.mgmt_key):
            raise ApiError(401, MSG_BAD_MGMT_KEY)
        team = req.params.get("teamId") or req.params.get("team_id")
        if team is not None and team != state.team_id:
            raise ApiError(403, "The management key has no access to team %s" % team)
        return
    if same_secret(token, config.api_key):
        req.identity = "inference"
        return
    with state.lock:
        key = state.key_by_secret(token) if token else None
    if key is None:
        raise ApiError(401, MSG_BAD_API_KEY)
    req.identity = key


def same_secret(token, secret):
    """Constant-time comparison; an empty token never matches."""
    return bool(token) and secrets.compare_digest(token.encode("utf-8", "surrogateescape"),
                                                  secret.encode())
