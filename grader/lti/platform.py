"""Talking to the LTI 1.3 platform: an OAuth2 access token, then POST <lineitem>/scores.

The token comes from the client-credentials grant with a JWT client assertion
(RFC 7523, as the IMS Security Framework profiles it), signed RS256 with PyJWT.
Transient trouble (5xx, 429, no connection) is retried with a doubling wait, a few
times at most; a 401 on a score means the token expired or was revoked, so the token
is renewed once and the score sent again. Other refusals are the platform's final word
and are returned as they came.
"""
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit, urlunsplit

from grader.i18n import _
from grader.lti.scores import SCORE_MEDIA_TYPE

SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 300  # seconds
ANSWER_LIMIT = 500  # characters of the platform's answer kept for messages and the ledger
LONGEST_WAIT = 30.0  # seconds between two tries, whatever Retry-After says


def scores_url(lineitem):
    """The line item URL with /scores appended to its path (before any query string), as AGS defines."""
    parts = urlsplit(lineitem)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/scores"))


@dataclass(frozen=True)
class PlatformAnswer:
    """The last answer to one request: an HTTP status, or None when the platform was never reached."""

    status: int | None
    text: str
    attempts: int
    data: object = field(default=None, compare=False, repr=False)  # the JSON body, when there was one

    @property
    def ok(self):
        return self.status is not None and 200 <= self.status < 300

    @property
    def transient(self):
        return self.status is None or self.status >= 500 or self.status == 429

    def describe(self):
        """The answer for a person: status and the platform's own words."""
        if self.status is None:
            return self.text
        return _("HTTP {status}: {answer}").format(status=self.status, answer=self.text or _("(no message)"))


class TokenRefused(Exception):
    """The platform would not give an access token; publishing cannot go on."""

    def __init__(self, answer, message):
        super().__init__(message)
        self.answer = answer


def _answer_text(response):
    """The platform's answer in one short line: the OAuth2 error fields or message of JSON, else the text of the body."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        words = [str(data[key]) for key in ("error", "error_description", "message") if data.get(key)]
        if words:
            return ": ".join(words)[:ANSWER_LIMIT], data
    text = response.text
    if "html" in response.headers.get("Content-Type", "") or text.lstrip().startswith("<"):
        text = re.sub(r"<(script|style)\b.*?</\1>|<[^>]*>", " ", text, flags=re.DOTALL | re.IGNORECASE)
    text = " ".join(text.split())
    return (text or response.reason or "")[:ANSWER_LIMIT], data


class AgsClient:
    """One platform, one tool registration; keeps the access token between scores."""

    def __init__(self, config, *, session=None, sleep=time.sleep, clock=time.time):
        import requests

        self.config = config
        self.session = session or requests.Session()
        self.sleep = sleep
        self.clock = clock
        self._token = None
        self._token_good_until = 0.0
        self.tokens_fetched = 0

    def close(self):
        self.session.close()

    # one request, retried while the trouble looks transient
    def _send(self, method, url, **kwargs):
        import requests

        answer = None
        for attempt in range(1, self.config.max_attempts + 1):
            retry_after = None
            request = {name: value() if callable(value) else value for name, value in kwargs.items()}
            try:
                response = self.session.request(method, url, timeout=self.config.timeout_seconds, **request)
            except (requests.ConnectionError, requests.Timeout) as exc:
                answer = PlatformAnswer(None, _("could not reach {url} ({problem})")
                                        .format(url=url, problem=type(exc).__name__), attempt)
            else:
                text, data = _answer_text(response)
                answer = PlatformAnswer(response.status_code, text, attempt, data)
                retry_after = response.headers.get("Retry-After", "")
            if not answer.transient or attempt == self.config.max_attempts:
                return answer
            wait = self.config.backoff_seconds * 2 ** (attempt - 1)
            if retry_after and retry_after.strip().isdigit():
                wait = max(wait, float(retry_after))
            self.sleep(min(wait, LONGEST_WAIT))
        return answer

    def client_assertion(self):
        """The signed JWT that proves to the token endpoint that this request comes from the tool."""
        import jwt

        now = int(self.clock())
        claims = {"iss": self.config.client_id, "sub": self.config.client_id,
                  "aud": self.config.assertion_audience, "iat": now - 5, "exp": now + ASSERTION_LIFETIME,
                  "jti": f"nn-grader-{uuid.uuid4()}"}
        return jwt.encode(claims, self.config.private_key_pem, algorithm="RS256",
                          headers={"kid": self.config.key_id})

    def access_token(self, *, renew=False):
        """A bearer token with the score scope, fetched again when `renew` or when it is about to expire."""
        if self._token and not renew and self.clock() < self._token_good_until:
            return self._token
        self._token = None
        form = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": self.client_assertion(), "scope": SCORE_SCOPE}
        answer = self._send("POST", self.config.token_url, data=form, headers={"Accept": "application/json"})
        if not answer.ok:
            if answer.transient:
                raise TokenRefused(answer, _("could not get an access token from {url} after {attempts} tries: {answer}")
                                   .format(url=self.config.token_url, attempts=answer.attempts,
                                           answer=answer.describe()))
            raise TokenRefused(answer, _("the platform refused an access token at {url}: {answer}")
                               .format(url=self.config.token_url, answer=answer.describe()))
        data = answer.data if isinstance(answer.data, dict) else {}
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise TokenRefused(answer, _("the token endpoint {url} answered without an access_token")
                               .format(url=self.config.token_url))
        granted = data.get("scope")
        if isinstance(granted, str) and SCORE_SCOPE not in granted.split():
            raise TokenRefused(answer, _("the platform did not grant the score scope (granted: {scopes})")
                               .format(scopes=granted or _("nothing")))
        lifetime = data.get("expires_in")
        lifetime = float(lifetime) if isinstance(lifetime, (int, float)) and lifetime > 0 else 3600.0
        self._token, self._token_good_until = token, self.clock() + lifetime - min(30.0, lifetime / 10)
        self.tokens_fetched += 1
        return token

    def post_score(self, score):
        """POST one ScoreToPublish to the line item; returns the last answer and the timestamp it carried.

        Every try carries a fresh timestamp: when a platform stored a score but its answer was lost, the
        next try is then a newer update, not a repeat that it would refuse as out of date (Moodle's 409).
        On a 401 the token is renewed once and the score sent again.
        """
        sent = []

        def body():
            sent.append(datetime.now(timezone.utc))
            return json.dumps(score.body(sent[-1])).encode("utf-8")

        answer = None
        for renew in (False, True):
            headers = {"Authorization": f"Bearer {self.access_token(renew=renew)}",
                       "Content-Type": SCORE_MEDIA_TYPE, "Accept": "application/json"}
            answer = self._send("POST", scores_url(self.config.lineitem), data=body, headers=headers)
            if answer.status != 401:
                break
        return answer, sent[-1]
