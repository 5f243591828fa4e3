"""Policy stage between analyzers and reports: severity gate, ignore files, VEX, exit code."""

from lashing.policy.apply import PolicyGate, apply_policy
from lashing.policy.ignores import load_ignore_file
from lashing.policy.interface import (
    IgnoreRule,
    Policy,
    PolicyError,
    PolicyOutcome,
    Suppression,
    VexComponent,
    VexProduct,
    VexStatement,
    VexStatus,
)
from lashing.policy.vex import load_vex

__all__ = [
    "IgnoreRule",
    "Policy",
    "PolicyError",
    "PolicyGate",
    "PolicyOutcome",
    "Suppression",
    "VexComponent",
    "VexProduct",
    "VexStatement",
    "VexStatus",
    "apply_policy",
    "load_ignore_file",
    "load_vex",
]
