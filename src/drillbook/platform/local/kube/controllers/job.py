"""Job controller (minimal): one pod at a time until ``completions`` succeed or ``backoffLimit`` failures."""

from __future__ import annotations

from typing import Any

from drillbook.platform.local.kube.api import Api
from drillbook.platform.local.kube.controllers.common import owned_by, pod_from_template, suffix
from drillbook.platform.local.kube.store import now_rfc3339

JsonObj = dict[str, Any]


def sync(api: Api) -> None:
    """Reconcile every Job once."""
    for job in api.store.list("jobs"):
        meta, spec = job["metadata"], job["spec"]
        pods = [p for p in api.store.view("pods", meta["namespace"]) if owned_by(p, meta["uid"])]
        phases = [(p.get("status") or {}).get("phase") for p in pods]
        succeeded, failed = phases.count("Succeeded"), phases.count("Failed")
        active = sum(
            1
            for p in pods
            if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
            and not p["metadata"].get("deletionTimestamp")
        )
        done = succeeded >= int(spec.get("completions", 1))
        gave_up = failed > int(spec.get("backoffLimit", 6))
        if not done and not gave_up and active == 0 and not spec.get("suspend"):
            name = f"{meta['name']}-{suffix()}"
            labels = {
                "job-name": meta["name"],
                "batch.kubernetes.io/job-name": meta["name"],
                "controller-uid": meta["uid"],
                "batch.kubernetes.io/controller-uid": meta["uid"],
            }
            api.create(
                "pods", pod_from_template(spec.get("template") or {}, job, name, labels), namespace=meta["namespace"]
            )
            api.events.record(job, "Normal", "SuccessfulCreate", f"Created pod: {name}", "job-controller")
            active = 1
        status: JsonObj = dict(job.get("status") or {})
        status.setdefault("startTime", now_rfc3339())
        status.update({"active": active, "succeeded": succeeded, "failed": failed})
        if done and "completionTime" not in status:
            status["completionTime"] = now_rfc3339()
            status["conditions"] = [
                {
                    "type": "Complete",
                    "status": "True",
                    "lastProbeTime": now_rfc3339(),
                    "lastTransitionTime": now_rfc3339(),
                }
            ]
            api.events.record(job, "Normal", "Completed", "Job completed", "job-controller")
        elif gave_up and not status.get("conditions"):
            status["conditions"] = [
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                    "lastProbeTime": now_rfc3339(),
                    "lastTransitionTime": now_rfc3339(),
                }
            ]
        status = {k: v for k, v in status.items() if v or k == "startTime"}
        if status != job.get("status"):
            job["status"] = status
            api.store.update("jobs", job)
