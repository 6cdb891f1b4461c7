"""``crashloop``: a bad deploy, rolled out for real so that ``kubectl rollout undo`` can heal it.

Modes (parameter ``mode``):

* ``missing-env`` (default) — remove the required variable ``variable`` (default ``DATABASE_URL``)
  from the app container: the app exits at start with "Missing required environment variable".
* ``bad-command`` — replace the container's command with one that fails at start.
* ``bad-image`` — point the container at an image tag that cannot be pulled (ImagePullBackOff).
* ``release`` — roll out the image tag ``tag``: a real release of the app that fails at start (the
  scenario's image map says how that release behaves).

The deploy carries a ``kubernetes.io/change-cause`` so ``kubectl rollout history`` shows it. Revert:
put the recorded pod template back (a rollout to the previous ReplicaSet; a no-op if already healed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from drillbook.errors import FaultInjectionError
from drillbook.faults import _kube
from drillbook.faults._rollout import TemplateFault
from drillbook.faults.base import register
from drillbook.faults.params import FaultParameterError, Param, ParamValue


@register
class Crashloop(TemplateFault):
    """Roll out a broken version of the app."""

    name: ClassVar[str] = "crashloop"
    symptoms: ClassVar[tuple[str, ...]] = ("error_rate",)
    summary: ClassVar[str] = "a bad deploy (mode missing-env|bad-command|bad-image|release) rolled out via the API"
    parameters: ClassVar[tuple[Param, ...]] = (
        Param(
            "mode",
            "str",
            "how the deploy is broken",
            default="missing-env",
            choices=("missing-env", "bad-command", "bad-image", "release"),
        ),
        Param("variable", "str", "mode missing-env: the variable removed from the app container", "DATABASE_URL"),
        Param("tag", "str", "mode release: the release rolled out (required); mode bad-image: the unpullable tag"),
    )

    @classmethod
    def check_params(cls, given: Mapping[str, str]) -> dict[str, ParamValue]:
        """Mode ``release`` needs the release's ``tag``."""
        options = super().check_params(given)
        if options.get("mode") == "release" and "tag" not in options:
            raise FaultParameterError(
                f'fault "{cls.name}": mode "release" needs the parameter "tag" (the release to roll out, as the '
                f'scenario\'s image map names it); give it as: with tag "…"'
            )
        return options

    def apply(self) -> None:
        index = _kube.container_index(self._deployment, self.target.app.container)
        container = self._deployment["spec"]["template"]["spec"]["containers"][index]
        mode = self.text("mode")
        ops: list[dict[str, Any]]
        if mode == "missing-env":
            variable = self.text("variable")
            env = container.get("env") or []
            names = [e.get("name") for e in env]
            if variable not in names:
                raise FaultInjectionError(
                    f"crashloop: the app container has no variable {variable!r} to remove; it has: {', '.join(names)}"
                )
            ops = [{"op": "remove", "path": f"/spec/template/spec/containers/{index}/env/{names.index(variable)}"}]
            cause = f"remove {variable} from {container['name']}"
        elif mode == "bad-command":
            command = ["sh", "-c", "echo 'Error: Cannot find module /app/dist/server.js' >&2; exit 1"]
            ops = [{"op": "add", "path": f"/spec/template/spec/containers/{index}/command", "value": command}]
            cause = "deploy a build whose entrypoint is missing"
        elif mode == "release":
            tag = self.text("tag")  # check_params refused mode release without one
            image = container["image"].rsplit(":", 1)[0] + ":" + tag
            ops = [{"op": "replace", "path": f"/spec/template/spec/containers/{index}/image", "value": image}]
            cause = f"deploy release {image}"
        elif mode == "bad-image":
            image = container["image"].rsplit(":", 1)[0] + ":" + self.text("tag", "does-not-exist")
            ops = [{"op": "replace", "path": f"/spec/template/spec/containers/{index}/image", "value": image}]
            cause = f"deploy image {image}"
        else:
            raise FaultInjectionError(
                f"crashloop: mode must be missing-env, bad-command, bad-image or release, got {mode!r}"
            )
        annotations = self._deployment["metadata"].get("annotations") or {}
        annotations = {**annotations, "kubernetes.io/change-cause": f"drillbook fault crashloop: {cause}"}
        ops.append({"op": "add", "path": "/metadata/annotations", "value": annotations})
        with _kube.api(self.target.kube_env) as api_client:
            _kube.patch_deployment(api_client, self.target.app, ops)
