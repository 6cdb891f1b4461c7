"""Running runbook steps safely: bindings map the runbook's world onto the sandbox, a policy judges every
command before it runs, and a sandboxed shell runs what may run."""

from drillbook.execute.bindings import Bindings, Resolver, SandboxView
from drillbook.execute.executor import Outcome, StepExecutor
from drillbook.execute.policy import Judgement, judge

__all__ = ["Bindings", "Judgement", "Outcome", "Resolver", "SandboxView", "StepExecutor", "judge"]
