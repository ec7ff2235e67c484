"""Publishing grades to an LMS over LTI 1.3 Assignment and Grade Services (AGS).

The stages, one module each:

    config (the [lti] table, the tool's key)  users (student -> LTI user id)
    scores (results JSON + report -> one Score per student)
    platform (OAuth2 client-credentials token, POST <lineitem>/scores, retries)
    ledger (what was published, so that a rerun posts only what changed)
    publish (ties them together and sums up what happened)
"""
from grader.lti.config import LtiConfig, load_lti_config
from grader.lti.publish import PublishSummary, publish_scores
from grader.lti.users import read_users

__all__ = ["LtiConfig", "PublishSummary", "load_lti_config", "publish_scores", "read_users"]
