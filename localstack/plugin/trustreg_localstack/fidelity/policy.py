"""IAM identity-policy evaluation: what AWS decides for one action on one resource.

Pure Python, no LocalStack import: scripts/iam-report loads it too, to match recorded calls
against a role's grants with the same rules.

Why not moto's evaluator (moto/iam/access_control.py): it turns `*` into a regex without
escaping the rest of the pattern (`.` in ARNs matches anything), has no `?`, matches actions
case-sensitively and only knows the condition operators of trust policies.

Rules (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
an explicit Deny in any statement wins; otherwise an Allow is needed; otherwise implicit deny.
Action and Resource (and their Not- forms) match with `*` and `?` wildcards; actions are
case-insensitive, resources case-sensitive. Conditions: every operator in a statement and every
key under it must match (AND); values listed for one key match if any does (OR).
"""

import ipaddress
import json
import re
from functools import lru_cache

ALLOW, EXPLICIT_DENY, IMPLICIT_DENY = "allow", "explicit-deny", "implicit-deny"


@lru_cache(maxsize=4096)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern:
    # IAM wildcards are only * and ?; everything else is literal.
    parts = [".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern]
    return re.compile("^" + "".join(parts) + "$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def matches(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return _wildcard(pattern, ignore_case).match(value) is not None


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def statements(document) -> list[dict]:
    """The statements of a policy document (a JSON string or an already parsed dict)."""
    if isinstance(document, str):
        document = json.loads(document)
    return _as_list(document.get("Statement"))


def action_matches(statement: dict, action: str) -> bool:
    if "NotAction" in statement:
        return not any(matches(p, action, True) for p in _as_list(statement["NotAction"]))
    return any(matches(p, action, True) for p in _as_list(statement.get("Action")))


def resource_matches(statement: dict, resource: str) -> bool:
    if "NotResource" in statement:
        return not any(matches(p, resource) for p in _as_list(statement["NotResource"]))
    return any(matches(p, resource) for p in _as_list(statement.get("Resource")))


# ---------------------------------------------------------------- conditions
def _str_eq(want, have, ci=False):
    return want.lower() == have.lower() if ci else want == have


def _num(x):
    return float(x)


_OPERATORS = {
    "StringEquals": lambda w, h: _str_eq(w, h),
    "StringEqualsIgnoreCase": lambda w, h: _str_eq(w, h, True),
    "StringLike": lambda w, h: matches(w, h),
    "ArnEquals": lambda w, h: w == h,
    "ArnLike": lambda w, h: matches(w, h),
    "Bool": lambda w, h: str(w).lower() == str(h).lower(),
    "NumericEquals": lambda w, h: _num(h) == _num(w),
    "NumericLessThan": lambda w, h: _num(h) < _num(w),
    "NumericLessThanEquals": lambda w, h: _num(h) <= _num(w),
    "NumericGreaterThan": lambda w, h: _num(h) > _num(w),
    "NumericGreaterThanEquals": lambda w, h: _num(h) >= _num(w),
    "IpAddress": lambda w, h: ipaddress.ip_address(h) in ipaddress.ip_network(w, strict=False),
}
# Negated operators: true when no listed value matches.
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
    "NotIpAddress": "IpAddress",
}


class UnsupportedCondition(Exception):
    pass


def _key_matches(operator: str, wanted: list, present: list | None) -> bool:
    qualifier = None
    if ":" in operator:
        qualifier, operator = operator.split(":", 1)  # ForAnyValue / ForAllValues
    if_exists = operator.endswith("IfExists")
    if if_exists:
        operator = operator[: -len("IfExists")]
    if operator == "Null":
        # Null: true means "the key is absent".
        absent = not present
        return any(str(w).lower() == str(absent).lower() for w in wanted)
    if not present:
        if if_exists:
            return True
        # A negated operator on an absent key matches (nothing equals it); ForAllValues too.
        return operator in _NEGATED or qualifier == "ForAllValues"
    negated = operator in _NEGATED
    base = _NEGATED.get(operator, operator)
    test = _OPERATORS.get(base)
    if test is None:
        raise UnsupportedCondition(operator)

    def one(value) -> bool:
        hit = any(test(str(w), str(value)) for w in wanted)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(one(v) for v in present)
    return any(one(v) for v in present)  # single-valued keys, and ForAnyValue


def conditions_match(statement: dict, context: dict) -> bool:
    """Context keys are matched case-insensitively, as IAM does; values are lists."""
    lowered = {k.lower(): v for k, v in context.items()}
    for operator, block in (statement.get("Condition") or {}).items():
        for key, wanted in block.items():
            present = lowered.get(key.lower())
            if present is not None and not isinstance(present, list):
                present = [present]
            if not _key_matches(operator, _as_list(wanted), present):
                return False
    return True


# ---------------------------------------------------------------- decision
def evaluate(policies: list[tuple[str, object]], action: str, resource: str, context: dict):
    """policies: (name, document) pairs. Returns (decision, grant) where grant names the
    statement that decided: "<policy>#<Sid or index>", or None for an implicit deny."""
    allowed_by = None
    for name, document in policies:
        for index, st in enumerate(statements(document)):
            if not (action_matches(st, action) and resource_matches(st, resource)):
                continue
            if not conditions_match(st, context):
                continue
            label = f"{name}#{st.get('Sid') or index}"
            if st.get("Effect") == "Deny":
                return EXPLICIT_DENY, label
            if st.get("Effect") == "Allow" and allowed_by is None:
                allowed_by = label
    if allowed_by:
        return ALLOW, allowed_by
    return IMPLICIT_DENY, None

