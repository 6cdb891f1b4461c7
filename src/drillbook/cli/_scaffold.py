"""The files ``drillbook init`` writes for one system, from what its runbook says (:mod:`drillbook.cli._facts`).

Every file is plain text with comments, in the formats of ``docs/scenario-files.md``; nothing here needs Python
to change later. Each drill's fault is the one the incident's own words suggest, and says which words chose it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from drillbook.cli._facts import SystemFacts, incident_text
from drillbook.drill.verdict import is_action
from drillbook.runbook.model import Incident

GOOD_TAG = "1.0.0"
PREVIOUS_TAG = "0.9.0"
BAD_TAG = "1.0.1"
CRASH_TAG = "1.0.2"


@dataclass(frozen=True)
class FaultChoice:
    """The fault a drill injects, the sentence that injects it and the words that chose it."""

    fault: str
    params: tuple[tuple[str, str], ...]
    breach_s: int
    because: str
    sure: bool = True

    @property
    def sentence(self) -> str:
        """The generic Gherkin sentence for this fault and its parameters."""
        if not self.params:
            return f'When the "{self.fault}" fault is injected'
        given = ", ".join(f'{key} "{value}"' for key, value in self.params)
        return f'When the "{self.fault}" fault is injected with {given}'


_RULES: tuple[tuple[str, str, tuple[tuple[str, str], ...], int], ...] = (
    (r"pg_terminate_backend|idle in transaction|batch job|long[- ]running quer", "pool-exhaustion",
     (("mode", "idle"),), 30),
    (r"connection pool|pool (?:is )?exhaust|too many connections|db_pool|pool size|acquiring connection",
     "connection-leak", (("share", "0.02"),), 60),  # a slow leak: a restart buys time, as it does in production
    (r"crashloop|crash(?:es|ing)? (?:loop|on start|after)|oomkill", "crashloop",
     (("mode", "release"), ("tag", CRASH_TAG)), 30),
    (r"redis", "redis-outage", (("mode", "stop"),), 30),
    (r"memory (?:leak|usage|grow)|out of memory", "memory-leak", (("mb_per_s", "10"),), 90),
    (r"slow (?:database )?quer|missing index|sequential scan", "slow-query", (("index", "idx_items_name"),), 30),
    (r"error rate|5xx|\b50[03]\b|bad (?:release|deploy)|rollout undo|roll(?:ed|ing)? back|after (?:a|the) deploy",
     "bad-release", (("tag", BAD_TAG),), 30),
    (r"latenc|slow|timeout|p9[59]", "latency", (("dependency", "postgres"), ("latency_ms", "2500")), 30),
    (r"cpu|traffic spike|load spike|surge", "load-spike", (("factor", "8"),), 30),
)  # fmt: skip
"""(words in the incident, fault, parameters, seconds to breach), first match wins."""


def choose_fault(incident: Incident) -> FaultChoice:
    """The fault the incident's symptoms, title and steps suggest; a bad release when nothing does."""
    text = incident_text(incident, "")
    for pattern, fault, params, breach in _RULES:
        if match := re.search(pattern, text, re.IGNORECASE):
            return FaultChoice(fault, params, breach, f"the incident says {match.group(0)!r}")
    return FaultChoice("bad-release", (("tag", BAD_TAG),), 30, "nothing in the incident names a cause", sure=False)


def drillable(incident: Incident, supplied: bool = False) -> bool:
    """Whether a drill can act on the incident: some step has a command that changes the system."""
    return supplied or any(is_action(c.effect.value, c.text) for s in incident.steps for c in s.commands)


def manifests(f: SystemFacts) -> str:
    """Namespace, Secrets, PostgreSQL, Redis and the app (Deployment + Service), in the runbook's names."""
    ns, app, system = f.namespace, f.app, f.system
    part_of = f"app.kubernetes.io/part-of: {system}"
    docs = [
        f"""# {system}: the system its runbook describes (written by drillbook init; edit freely).
# Names are the runbook's own: namespace {ns}, Deployment {app}.
apiVersion: v1
kind: Namespace
metadata:
  name: {ns}
  labels:
    {part_of}""",
        f"""apiVersion: v1
kind: Secret
metadata:
  name: {app}-secrets
  namespace: {ns}
  labels: {{app: {app}, {part_of}}}
type: Opaque
stringData:
  DATABASE_PASSWORD: {system}-db-pass
  POSTGRES_SUPERUSER_PASSWORD: {system}-admin-pass""",
        f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: {app}-config
  namespace: {ns}
  labels: {{app: {app}, {part_of}}}
data:
  # The stand-in's capacity: requests one replica serves at once, work per request, queue before 503.
  MAX_CONCURRENCY: '4'
  SERVICE_TIME_MS: '30'
  MAX_QUEUE: '64'
  DB_ACQUIRE_TIMEOUT_MS: '1000'
  {f.pool_var}: '10'
  STANDIN_SEED_ROWS: '20000'""",
        _datastore("postgres", 5432, ns, part_of, _postgres_env(f)),
    ]
    docs.append(_datastore("redis", 6379, ns, part_of, ""))
    docs.extend([_app_service(f, part_of), _app_deployment(f, part_of)])
    return "\n---\n".join(docs) + "\n"


def _postgres_env(f: SystemFacts) -> str:
    return f"""
        env:
        # The superuser is the operator's (PostgreSQL keeps reserved slots for it); the app logs in as its own
        # non-superuser role, which owns the database.
        - {{name: POSTGRES_USER, value: postgres}}
        - name: POSTGRES_PASSWORD
          valueFrom: {{secretKeyRef: {{name: {f.app}-secrets, key: POSTGRES_SUPERUSER_PASSWORD}}}}
        - {{name: POSTGRES_NON_ROOT_USER, value: {_role(f)}}}
        - name: POSTGRES_NON_ROOT_PASSWORD
          valueFrom: {{secretKeyRef: {{name: {f.app}-secrets, key: DATABASE_PASSWORD}}}}
        - {{name: POSTGRES_DB, value: {_database(f)}}}
        - {{name: POSTGRES_MAX_CONNECTIONS, value: '100'}}
        # `kubectl exec deployment/postgres -- psql -U postgres` reaches this server as the operator would: the
        # embedded platform has no local socket in the pod, so psql is pointed at the pod's own address.
        - name: POD_IP
          valueFrom: {{fieldRef: {{fieldPath: status.podIP}}}}
        - {{name: PGHOST, value: $(POD_IP)}}
        - name: PGPASSWORD
          valueFrom: {{secretKeyRef: {{name: {f.app}-secrets, key: POSTGRES_SUPERUSER_PASSWORD}}}}"""


def _datastore(name: str, port: int, ns: str, part_of: str, env: str) -> str:
    return f"""apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {ns}
  labels: {{app: {name}, {part_of}}}
spec:
  selector: {{app: {name}}}
  ports:
  - {{name: {name}, port: {port}, targetPort: {port}, protocol: TCP}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}
  labels: {{app: {name}, {part_of}}}
spec:
  replicas: 1
  strategy: {{type: Recreate}}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}, {part_of}}}
    spec:
      enableServiceLinks: false
      terminationGracePeriodSeconds: 10
      containers:
      - name: {name}
        image: {"postgres:15" if name == "postgres" else "redis:7"}
        ports:
        - {{name: {name}, containerPort: {port}, protocol: TCP}}
        readinessProbe: {{tcpSocket: {{port: {port}}}, periodSeconds: 2, timeoutSeconds: 1, failureThreshold: 3}}
        resources:
          requests: {{cpu: 100m, memory: 64Mi}}{env}"""


def _app_service(f: SystemFacts, part_of: str) -> str:
    return f"""apiVersion: v1
kind: Service
metadata:
  name: {f.app}
  namespace: {f.namespace}
  labels: {{app: {f.app}, {part_of}}}
spec:
  type: ClusterIP
  selector: {{app: {f.app}}}
  ports:
  - {{name: http, port: {f.port}, targetPort: http, protocol: TCP}}"""


def _app_deployment(f: SystemFacts, part_of: str) -> str:
    secret = f"{f.app}-secrets"
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {f.app}
  namespace: {f.namespace}
  labels: {{app: {f.app}, {part_of}}}
spec:
  replicas: 2
  revisionHistoryLimit: 10
  strategy:
    type: RollingUpdate
    rollingUpdate: {{maxSurge: 1, maxUnavailable: 0}}
  selector:
    matchLabels: {{app: {f.app}}}
  template:
    metadata:
      labels: {{app: {f.app}, {part_of}}}
    spec:
      terminationGracePeriodSeconds: 15
      containers:
      - name: {f.app}
        image: {image(f, GOOD_TAG)}
        imagePullPolicy: IfNotPresent
        ports:
        - {{name: http, containerPort: {f.port}, protocol: TCP}}
        envFrom:
        - configMapRef: {{name: {f.app}-config}}
        env:
        - {{name: PORT, value: '{f.port}'}}
        - name: DATABASE_PASSWORD
          valueFrom: {{secretKeyRef: {{name: {secret}, key: DATABASE_PASSWORD}}}}
        - name: DATABASE_URL
          value: postgresql://{_role(f)}:$(DATABASE_PASSWORD)@$(POSTGRES_SERVICE_HOST):$(POSTGRES_SERVICE_PORT)/{_database(f)}
        - {{name: REDIS_URL, value: 'redis://$(REDIS_SERVICE_HOST):$(REDIS_SERVICE_PORT)/0'}}
        # psql in the app's pod reaches the app's database as the app's role, as `kubectl exec … -- psql` does
        - {{name: PGHOST, value: $(POSTGRES_SERVICE_HOST)}}
        - {{name: PGPORT, value: $(POSTGRES_SERVICE_PORT)}}
        - {{name: PGUSER, value: {_role(f)}}}
        - {{name: PGPASSWORD, value: $(DATABASE_PASSWORD)}}
        - {{name: PGDATABASE, value: {_database(f)}}}
        - name: STANDIN_HEAP_LIMIT_MB
          valueFrom: {{resourceFieldRef: {{containerName: {f.app}, resource: limits.memory, divisor: 1Mi}}}}
        readinessProbe:
          httpGet: {{path: /api/health/ready, port: http}}
          periodSeconds: 5
          timeoutSeconds: 2
          failureThreshold: 2
        # Generous: a liveness probe that kills a replica still starting on a busy machine is a drill artefact.
        livenessProbe:
          httpGet: {{path: /api/health/live, port: http}}
          initialDelaySeconds: 30
          periodSeconds: 10
          timeoutSeconds: 5
          failureThreshold: 6
        resources:
          requests: {{cpu: 100m, memory: 128Mi}}
          limits: {{cpu: 500m, memory: 512Mi}}"""


def image(f: SystemFacts, tag: str) -> str:
    """The app's image reference at ``tag``."""
    return f"{f.system}/{f.app}:{tag}"


def _role(f: SystemFacts) -> str:
    return re.sub(r"[^a-z0-9_]", "_", f.system.casefold())


def _database(f: SystemFacts) -> str:
    return _role(f)


def images(f: SystemFacts, scenarios_dir: Path) -> str:
    """The image map: the app's releases onto the stand-in, one of them broken per failure the drills need."""
    where = scenarios_dir.resolve()

    def entry(tag: str, comment: str, env: dict[str, str]) -> str:
        lines = "".join(f"\n      {k}: '{v}'" for k, v in env.items())
        return f"""  # {comment}
  {image(f, tag)}:
    entrypoint: [python, -m, drillbook.standin]
    cmd: [--profile, {f.system}]
    env:
      # where the stand-in finds scenarios/{f.system}/standin.yaml (edit if the project moves)
      DRILLBOOK_SCENARIOS: '{where}'{lines}"""

    return (
        f"# {f.system}: container images -> the stand-in service (written by drillbook init).\n"
        "# Bad releases differ only by env defaults: the pod's own env still wins, as with a real image.\n"
        "images:\n"
        + "\n".join(
            [
                entry(GOOD_TAG, "current release", {"APP_VERSION": GOOD_TAG}),
                entry(PREVIOUS_TAG, "previous good release", {"APP_VERSION": PREVIOUS_TAG}),
                entry(BAD_TAG, "bad release: fails half its requests", {"STANDIN_ERROR_RATE": "0.5"}),
                entry(
                    CRASH_TAG,
                    "bad release: exits at start (a secret it needs is missing)",
                    {"STANDIN_REQUIRED_ENV": "PAYMENT_API_KEY"},
                ),
            ]
        )
        + "\n"
    )


def standin(f: SystemFacts) -> str:
    """The stand-in's profile: the runbook's pool variable, metric names and log sentence."""
    names = "".join(f"\n    {std}: {name}" for std, name in sorted(f.metric_names.items()))
    metrics = f"metrics:\n  names:{names}\n" if names else ""
    return f"""# {f.system}: how its stand-in plays {f.app} (format: docs/scenario-files.md; written by drillbook init).
service: {f.app}
port: {f.port}
database: {_database(f)}
required_env: [DATABASE_URL, REDIS_URL]
pool:
  size_vars: [{f.pool_var}]
  default_size: 10
  timeout_message: "timeout acquiring connection from pool ({f.pool_var}={{size}}, waited {{timeout}}ms)"
logs:
  level_case: lower
  correlation_key: correlationId
{metrics}resource:
  path: items
  table: items
  fields: [name]
  search: [name]
  slow_table: items
  index_sql: CREATE INDEX IF NOT EXISTS idx_items_name ON items(name)
"""


def scenario(f: SystemFacts) -> str:
    """Which Deployment is the app, where the datastores are and what users do."""
    ns = f.namespace
    return f"""# How drillbook drives the {f.system} sandbox (written by drillbook init). Names are the runbook's own.
app:
  namespace: {ns}
  deployment: {f.app}
  container: {f.app}
  selector: app={f.app}
  service: {f.app}
  port: {f.port}
postgres:
  namespace: {ns}
  service: postgres
  deployment: postgres
  # the app's role (not a superuser); the operator's superuser is the admin
  user: {_role(f)}
  password: {f.system}-db-pass
  database: {_database(f)}
  admin_user: postgres
  admin_password: {f.system}-admin-pass
redis:
  namespace: {ns}
  service: redis
  deployment: redis
traffic:
  - {{name: health, method: GET, path: /api/health, weight: 1}}
  - {{name: "search items", method: GET, path: "/api/items?name=item-1", weight: 4}}
  - {{name: "create items", method: POST, path: /api/items, weight: 1, json: {{name: drill}}}}
# The embedded platform answers in 100-400 ms on a loaded machine: the latency objective leaves room for that
# (an incident that states its own objective is measured by it instead).
slos: ["error rate < 1%", "p95 latency < 1000ms"]
"""


def bindings(f: SystemFacts) -> str:
    """Every URL, host and placeholder the runbook uses, onto the sandbox (or left unbound, saying why)."""
    lines = [f"# How {f.system}'s runbook maps onto the sandbox (written by drillbook init)."]
    if f.urls:
        lines.append("urls:  # the runbook's URLs -> the app's Service (edit any that is another system)")
        lines.extend(f"  {url}: {{service: {f.app}, namespace: {f.namespace}}}" for url in f.urls)
    lines.append("placeholders:")
    known = {
        "<pod-name>": f"{{pod: app={f.app}, namespace: {f.namespace}}}",
        "<pod>": f"{{pod: app={f.app}, namespace: {f.namespace}}}",
        "<namespace>": f"{{value: {f.namespace}}}",
        "<deployment>": f"{{value: {f.app}}}",
        "<service>": f"{{value: {f.app}}}",
        "<DB_HOST>": f"{{service_host: postgres, namespace: {f.namespace}}}",
        "<DB_USER>": "{value: postgres}",
        "<REDIS_HOST>": f"{{service_host: redis, namespace: {f.namespace}}}",
    }
    bound = [p for p in f.placeholders if p in known]
    lines.extend(f"  {p}: {known[p]}" for p in bound)
    if not bound:
        lines[-1] = "placeholders: {}"
    lines.append("hosts:")
    lines.append(f"  postgres: {{service: postgres, namespace: {f.namespace}, port: 5432}}")
    lines.append(f"  redis: {{service: redis, namespace: {f.namespace}, port: 6379}}")
    unbound = [p for p in f.placeholders if p not in known]
    if f.loopback_urls:
        lines.append("unbound:  # left as written: the policy blocks commands that use them")
        lines.extend(f"  {u}: an operator's port-forward; not part of the sandbox" for u in f.loopback_urls)
    for name in unbound:
        lines.append(f"# {name}: not bound (the operator chooses it): add it under placeholders to rehearse it")
    return "\n".join(lines) + "\n"


def feature(f: SystemFacts, runbook_rel: str, drills: list[tuple[Incident, FaultChoice]]) -> str:
    """One drill per drillable incident, with the fault its words suggest."""
    out = [
        f"Feature: {f.system} runbook ({runbook_rel})",
        "  Written by drillbook init: one drill per incident with a command that changes the system.",
        "",
        "  Background:",
        f'    Given the "{f.system}" system is running on the local platform',
        "    And steady traffic of 5 users",
    ]
    for incident, choice in drills:
        out += [
            "",
            f"  Scenario: {incident.id} {_plain(incident.title, incident.id)}",
            f"    # fault: {choice.fault}, because {choice.because} ({runbook_rel}:{incident.line})",
            f"    {choice.sentence}",
            f'    Then the SLOs of incident "{incident.id}" are breached within {choice.breach_s} seconds',
            f'    When the operator follows incident "{incident.id}"',
            "    Then the SLOs are restored within the incident's time target",
        ]
    return "\n".join(out) + "\n"


def _plain(title: str, ident: str) -> str:
    rest = title[len(ident) :].lstrip(" :-") if title.casefold().startswith(ident.casefold()) else title
    return " ".join(re.sub(r"[#:<>\"]", " ", rest).split()) or "is rehearsed"


def drills_yaml(whole: tuple[str, int, int, str] | None) -> str | None:
    """``drills.yaml`` when the runbook is one incident the parser did not find by its headings."""
    if whole is None:
        return None
    ident, first, last, title = whole
    return (
        "# Overrides of this system's drills (format: docs/scenario-files.md; written by drillbook init).\n"
        "incidents:\n"
        f"  {ident}:\n"
        f"    # the whole runbook is one incident (an alert page): read it from these lines\n"
        f"    lines: {first}-{last}\n"
        f"    title: {_yaml_string(title)}\n"
    )


def _yaml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
