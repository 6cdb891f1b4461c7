"""Lines typed into a shell opened elsewhere (a pod, a container, a debug node, a host reached by ssh) are modelled as
typed there: language ``remote-shell``, each with its own effect; the opener keeps its own (issue 12 item 4)."""

from __future__ import annotations

import pytest

from drillbook.runbook import Effect, parse_text
from drillbook.runbook.commands import commands_from_code
from drillbook.runbook.sessions import REMOTE_SHELL, opened_session


def _read(block: str, language: str = "bash") -> list[tuple[str, str]]:
    return [(c.text, c.language) for c in commands_from_code(block, language, 1)]


def test_lines_typed_after_kubectl_exec_bash_run_in_the_pod_until_exit() -> None:
    block = (
        "kubectl exec -it deploy/api -n prod -- bash\ndf -h\nrm -rf /tmp/cache/*\n"
        "curl -X POST https://prod.example.com/api/flush\nexit\nkubectl get pods -n prod"
    )
    commands = commands_from_code(block, "bash", 10)
    assert [(c.text, c.language) for c in commands] == [
        ("kubectl exec -it deploy/api -n prod -- bash", "bash"),
        ("df -h", REMOTE_SHELL),
        ("rm -rf /tmp/cache/*", REMOTE_SHELL),
        ("curl -X POST https://prod.example.com/api/flush", REMOTE_SHELL),
        ("kubectl get pods -n prod", "bash"),
    ]
    opener, df, rm, curl, _ = commands
    assert opener.effect is commands_from_code(opener.text, "bash", 1)[0].effect  # the opener keeps its own effect
    assert (df.effect, rm.effect, curl.effect) == (Effect.READ_ONLY, Effect.DESTRUCTIVE, Effect.EXTERNAL)
    assert [c.line for c in commands] == [10, 11, 12, 13, 15]


def test_a_shell_given_one_command_with_sh_c_opens_no_session() -> None:
    assert _read("kubectl exec -it api-0 -- sh -c 'df -h'\ndf -h") == [
        ("kubectl exec -it api-0 -- sh -c 'df -h'", "bash"),
        ("df -h", "bash"),
    ]


@pytest.mark.parametrize(
    "opener",
    [
        "kubectl exec -it deploy/api -n prod -- bash",
        "kubectl -n prod exec -ti api-0 -c app -- /bin/sh",
        "kubectl exec -it api-0 -- /bin/bash -l",
        "kubectl exec --stdin --tty api-0 -- zsh",
        "kubectl run dns-probe --rm -it --restart=Never --image=busybox:1.36 -- sh",
        "kubectl debug -it node/worker-2 --image=busybox:1.36",
        "docker exec -it web bash",
        "docker run --rm -it -v data:/data alpine sh",
        "podman exec -it -u root web /bin/sh",
        "oc rsh api-7d9f",
        "oc rsh -c app api-7d9f",
        "oc -n media rsh api-7d9f",
        "oc -n infra debug node/worker-3",
        "oc debug node/worker-3.ocp.acme.internal",
        "oc debug node/worker-3 -- chroot /host",
        "chroot /host",
        "ssh ops@edge-1.acme.internal",
        "ssh -i ~/.ssh/ops -p 2222 db-1",
    ],
)
def test_openers_of_a_shell_elsewhere(opener: str) -> None:
    assert opened_session(opener) == REMOTE_SHELL


@pytest.mark.parametrize(
    "command",
    [
        "kubectl exec api-0 -- bash",  # no stdin: the shell reads nothing and ends
        "kubectl exec -it api-0 -- sh -c 'rm -rf /tmp/x'",
        "kubectl exec -it api-0 -- df -h",
        "docker exec web bash",
        "docker exec -it web df -h",
        "oc rsh api-7d9f cat /etc/hosts",
        "oc debug node/worker-3 -- chroot /host journalctl -u kubelet",
        "kubectl debug node/worker-2 --image=busybox:1.36",
        "chroot /host systemctl status kubelet",
        "ssh db-1 uptime",
        "ssh -t db-1 'sudo systemctl restart postgresql'",
        "kubectl get pods -n prod",
    ],
)
def test_commands_that_run_one_thing_and_end_open_no_session(command: str) -> None:
    assert opened_session(command) is None


def test_a_bare_local_shell_is_still_this_machines_shell() -> None:
    assert opened_session("bash") == "bash"
    assert opened_session("sudo bash") == "bash"


def test_chroot_inside_oc_debug_is_part_of_that_session_and_each_exit_leaves_one_level() -> None:
    block = "oc debug node/worker-3\nchroot /host\ncrictl ps\nexit\ndf -h /host/var\nexit\noc get nodes"
    assert _read(block) == [
        ("oc debug node/worker-3", "bash"),
        ("chroot /host", REMOTE_SHELL),
        ("crictl ps", REMOTE_SHELL),
        ("df -h /host/var", REMOTE_SHELL),  # still in the debug pod after leaving the chroot
        ("oc get nodes", "bash"),
    ]


def test_a_workstation_tool_after_a_pods_shell_means_the_writer_left_it_without_showing_exit() -> None:
    block = "kubectl exec -it api-0 -- sh\nls /data\nkubectl rollout restart deployment/api\nls /data"
    assert [language for _, language in _read(block)] == ["bash", REMOTE_SHELL, "bash", "bash"]


def test_on_a_host_reached_by_ssh_kubectl_and_docker_are_typed_on_that_host() -> None:
    block = "ssh bastion-1.acme.internal\nkubectl get nodes\ndocker ps\nexit\nkubectl get pods"
    assert [language for _, language in _read(block)] == ["bash", REMOTE_SHELL, REMOTE_SHELL, "bash"]


def test_a_docker_shell_ends_at_the_next_docker_command() -> None:
    block = "docker exec -it web sh\nls /app\ndocker restart web"
    assert [language for _, language in _read(block)] == ["bash", REMOTE_SHELL, "bash"]


def test_psql_typed_in_a_pods_shell_is_sql_and_after_backslash_q_the_lines_are_the_pods_again() -> None:
    block = "kubectl exec -it db-0 -- bash\npsql -U app\nSELECT count(*) FROM orders;\n\\q\npg_isready\nexit\nls"
    assert _read(block) == [
        ("kubectl exec -it db-0 -- bash", "bash"),
        ("psql -U app", REMOTE_SHELL),
        ("SELECT count(*) FROM orders;", "sql"),
        ("pg_isready", REMOTE_SHELL),
        ("ls", "bash"),
    ]


def test_a_transcript_leaves_the_session_when_the_workstations_prompt_comes_back() -> None:
    block = (
        "you@laptop:~$ ssh ops-1.acme.internal\nyou@ops-1:~$ df -h\nFilesystem Size\nyou@laptop:~$ kubectl get nodes\n"
    )
    assert _read(block) == [
        ("ssh ops-1.acme.internal", "bash"),
        ("df -h", REMOTE_SHELL),
        ("kubectl get nodes", "bash"),
    ]


def test_a_chroot_keeps_the_prompt_and_stays_in_the_session() -> None:
    block = "$ oc debug node/w3\nsh-4.4# chroot /host\nsh-4.4# journalctl --disk-usage\nsh-4.4# exit\n"
    assert [language for _, language in _read(block)] == ["bash", REMOTE_SHELL, REMOTE_SHELL]


@pytest.mark.parametrize("prompt", ["sh-4.4# ", "I have no name!@report-worker-0:/$ ", "/ # "])
def test_a_prompt_only_a_container_or_debug_node_shows_marks_a_shell_whose_opener_is_not_shown(prompt: str) -> None:
    block = f"{prompt}journalctl --vacuum-time=2d\n{prompt}rm -rf /var/lib/systemd/coredump/*\n"
    commands = commands_from_code(block, "", 1)
    assert [(c.language, c.effect) for c in commands] == [
        (REMOTE_SHELL, commands_from_code("journalctl --vacuum-time=2d", "bash", 1)[0].effect),
        (REMOTE_SHELL, Effect.DESTRUCTIVE),
    ]


def test_a_workstation_prompt_is_no_remote_shell() -> None:
    assert _read("$ df -h\nops@laptop:~$ ls /tmp\n") == [("df -h", "bash"), ("ls /tmp", "bash")]


def test_a_remote_shells_lines_carry_their_placeholders_and_json_keeps_the_language() -> None:
    markdown = (
        "# API pod disk full\n\n## Fix\n\n```bash\nkubectl exec -it <pod> -n prod -- bash\n"
        "du -sh /var/log/$APP_DIR\nexit\n```\n"
    )
    incident = parse_text(markdown).incidents[0]
    typed = incident.steps[0].commands[1]
    assert (typed.language, typed.placeholders) == (REMOTE_SHELL, ("$APP_DIR",))
    data = parse_text(markdown).to_json()
    assert data["incidents"][0]["steps"][0]["commands"][1]["language"] == "remote-shell"
