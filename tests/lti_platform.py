"""A small LTI 1.3 platform on loopback for the publishing tests, built on the `lti1p3platform` library.

From the library: the registration of the tool (its JWKS, the platform's key pair), the
token endpoint's checks of the client assertion (`get_access_token`: required form fields,
grant type, the RS256 signature found by `kid` in the tool's key set) and the access
tokens it signs, the bearer-token and scope check of the AGS score endpoint
(`AssignmentsGradesService.handle_update_score`) and its status codes (201 created,
200 success, 409 old timestamp, 404 unknown line item).

Built here, because the library lacks it: the HTTP app (Flask, served by werkzeug in a
thread); the client assertion's `aud`, `iss`, `sub`, `exp` and `jti` (replay) checks with
PyJWT (the library decodes with `verify_aud` off and keeps no jti); a 401 answer for an
expired or forged access token (the library lets PyJWT's exception escape); validation of
the Score body (a TODO in the library), following Moodle's rules; the score store; and
the faults the tests inject (5xx answers, short-lived tokens, a roster).
"""
import collections
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, jsonify, request
from lti1p3platform.exceptions import (LineItemNotFoundException, LtiException, LtiServiceException,
                                       MissingRequiredClaim, UnsupportedGrantType)
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request
from lti1p3platform.score import ActivityProgress, GradeProgress, UpdateScoreStatus
from lti1p3platform.service_connector import AssignmentsGradesService
from werkzeug.serving import WSGIRequestHandler, make_server

SCORE_MEDIA_TYPE = "application/vnd.ims.lis.v1.score+json"
ISSUER = "https://lms.example.edu"


def rsa_key_pair():
    """(private PEM, public PEM) of a fresh 2048-bit RSA key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def free_port():
    """A loopback port that nothing listens on (for 'connection refused')."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class PlatformState:
    """What the platform stored and what the tests asked it to do."""

    lineitems: set = field(default_factory=lambda: {"7"})
    scores: dict = field(default_factory=dict)  # line item id -> {userId: [accepted Score bodies, oldest first]}
    score_requests: list = field(default_factory=list)  # (path, query args, content type) of every score POST
    token_requests: int = 0
    token_forms: list = field(default_factory=list)  # the form of every token request
    granted_scope: str = None  # replaces the scope the library grants, to test a stingy platform
    tokens_issued: int = 0
    score_faults: collections.deque = field(default_factory=collections.deque)  # status codes for the next POSTs
    token_faults: collections.deque = field(default_factory=collections.deque)
    always_fail_scores: int = 0  # a status code for every score POST, 0 for none
    lost_answers: collections.deque = field(default_factory=collections.deque)  # codes sent after storing a score
    token_lifetimes: collections.deque = field(default_factory=collections.deque)  # seconds; default 3600
    roster: set = None  # user ids that can be graded; None: anyone
    seen_jtis: set = field(default_factory=set)

    def stored(self, lineitem="7"):
        """{userId: [scores]} of one line item."""
        return self.scores.get(lineitem, {})


class _Registration(Registration):
    """A registration whose access tokens live as long as the test says (the library fixes 3600 s)."""

    def __init__(self, state):
        self.state = state

    def encode_and_sign(self, payload, private_key, headers=None, expiration=None):
        if expiration and self.state.token_lifetimes:
            expiration = self.state.token_lifetimes.popleft()
        return Registration.encode_and_sign(payload, private_key, headers, expiration=expiration)


class _PlatformConf(LTI1P3PlatformConfAbstract):
    """One per request: the library keeps the JWT it is checking on the instance."""

    def init_platform_config(self, registration):
        self._registration = registration

    def get_registration_by_params(self, **kwargs):
        return self._registration


class _FlaskRequest(Request):
    def build_metadata(self, flask_request):
        content_type = flask_request.content_type or ""
        return {"method": flask_request.method, "form_data": flask_request.form.to_dict(),
                "get_data": flask_request.args.to_dict(), "headers": flask_request.headers,
                "content_type": content_type, "path": flask_request.path,
                "json": flask_request.get_json(force=True, silent=True) if "json" in content_type else None}


def _score_problem(score):
    """Why a Score body is refused, the way Moodle's scores endpoint refuses it; None when it is fine."""
    if not isinstance(score, dict):
        return "the body is not a JSON object"
    for name in ("userId", "timestamp", "activityProgress", "gradingProgress"):
        if name not in score:
            return f"{name} is required"
    for name in ("scoreGiven", "scoreMaximum"):
        if name in score and (isinstance(score[name], bool) or not isinstance(score[name], (int, float))):
            return f"{name} must be a number"
    if "scoreGiven" in score and "scoreMaximum" not in score:
        return "scoreMaximum must be given with scoreGiven"
    try:
        stamp = datetime.fromisoformat(score["timestamp"])
    except (TypeError, ValueError):
        return "timestamp must be ISO 8601"
    if stamp.tzinfo is None:
        return "timestamp must carry a time zone"
    if score["activityProgress"] not in {item.value for item in ActivityProgress}:
        return "unknown activityProgress"
    if score["gradingProgress"] not in {item.value for item in GradeProgress}:
        return "unknown gradingProgress"
    return None


class _GradeService(AssignmentsGradesService):
    """The AGS scores service over the state's store; line items themselves are fixed by the test."""

    def __init__(self, flask_request, registration, state, base_url):
        super().__init__(_FlaskRequest(flask_request), _PlatformConf(registration=registration),
                         lineitems_url=f"{base_url}/lineitems")
        self.state = state

    def update_score(self, line_item_id, score):
        if line_item_id not in self.state.lineitems:
            raise LineItemNotFoundException(line_item_id)
        problem = _score_problem(score)
        if problem:
            raise LtiServiceException(problem, 400)
        if self.state.roster is not None and score["userId"] not in self.state.roster:
            raise LtiServiceException(f"user {score['userId']} is not a gradable member of this course", 400)
        history = self.state.scores.setdefault(line_item_id, {}).setdefault(score["userId"], [])
        if history and datetime.fromisoformat(score["timestamp"]) <= datetime.fromisoformat(history[-1]["timestamp"]):
            return UpdateScoreStatus.OLD_TIMESTAMP
        history.append(score)
        return UpdateScoreStatus.CREATED if len(history) == 1 else UpdateScoreStatus.SUCCESS

    def _not_offered(self, *args, **kwargs):
        raise LtiServiceException("not offered by this test platform", 501)

    find_lineitems = find_lineitem = create_lineitem = update_lineitem = delete_lineitem = get_results = _not_offered


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


class LoopbackPlatform:
    """The platform, serving on 127.0.0.1 while the `with` block runs."""

    def __init__(self, *, client_id, tool_public_pem, key_id, deployment_id="deployment-1", platform_keys=None):
        self.client_id = client_id
        self.tool_public_pem = tool_public_pem
        self.state = PlatformState()
        platform_private, platform_public = platform_keys or rsa_key_pair()
        tool_jwk = Registration.get_jwk(tool_public_pem.decode("ascii"))
        tool_jwk["kid"] = key_id
        self.registration = (_Registration(self.state).set_iss(ISSUER).set_client_id(client_id)
                             .set_deployment_id(deployment_id)
                             .set_platform_private_key(platform_private.decode("ascii"))
                             .set_platform_public_key(platform_public.decode("ascii"))
                             .set_tool_key_set({"keys": [tool_jwk]}))
        self._server = make_server("127.0.0.1", 0, self._app(), threaded=True, request_handler=_QuietHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self.token_url = f"{self.url}/token"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def lineitem_url(self, lineitem="7", query=""):
        return f"{self.url}/lineitems/{lineitem}" + (f"?{query}" if query else "")

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()

    def _app(self):
        app = Flask("lti-test-platform")
        app.add_url_rule("/token", view_func=self._token, methods=["POST"])
        app.add_url_rule("/lineitems/<line_item_id>/scores", view_func=self._scores, methods=["GET", "POST"])
        return app

    def _token(self):
        state = self.state
        state.token_requests += 1
        if state.token_faults:
            return jsonify(error="server_error", error_description="injected fault"), state.token_faults.popleft()
        form = request.form.to_dict()
        state.token_forms.append(form)
        conf = _PlatformConf(registration=self.registration)
        try:
            answer = conf.get_access_token(form)
        except MissingRequiredClaim as exc:
            return jsonify(error="invalid_request", error_description=str(exc)), 400
        except UnsupportedGrantType:
            return jsonify(error="unsupported_grant_type"), 400
        except (LtiException, jwt.PyJWTError) as exc:
            return jsonify(error="invalid_client", error_description=str(exc) or type(exc).__name__), 401
        try:
            claims = jwt.decode(form["client_assertion"], conf.get_tool_public_key(), algorithms=["RS256"],
                                audience=self.token_url, issuer=self.client_id,
                                options={"require": ["iss", "sub", "aud", "iat", "exp", "jti"]})
        except jwt.PyJWTError as exc:
            return jsonify(error="invalid_client", error_description=str(exc)), 401
        if claims["sub"] != self.client_id:
            return jsonify(error="invalid_client", error_description="sub is not the client_id"), 401
        if claims["jti"] in state.seen_jtis:
            return jsonify(error="invalid_client", error_description="client assertion replayed (jti seen)"), 401
        state.seen_jtis.add(claims["jti"])
        state.tokens_issued += 1
        if state.granted_scope is not None:
            answer["scope"] = state.granted_scope
        return jsonify(answer), 200

    def _scores(self, line_item_id):
        state = self.state
        state.score_requests.append((request.path, request.args.to_dict(), request.content_type))
        if state.score_faults:
            return jsonify(message="injected fault"), state.score_faults.popleft()
        if state.always_fail_scores:
            return "<html><body>Internal Server Error</body></html>", state.always_fail_scores
        if request.method == "POST" and request.mimetype != SCORE_MEDIA_TYPE:
            return jsonify(message=f"Content-Type must be {SCORE_MEDIA_TYPE}"), 415
        service = _GradeService(request, self.registration, state, self.url)
        try:
            response = service.handle_resp(service.handle_update_score, line_item_id=line_item_id)
        except (LtiException, jwt.PyJWTError) as exc:
            return jsonify(error="invalid_token", error_description=str(exc) or type(exc).__name__), 401
        if response.code < 300 and state.lost_answers:  # stored, but the answer never reaches the tool
            return jsonify(message="gateway timeout"), state.lost_answers.popleft()
        return jsonify(message=response.message), response.code
