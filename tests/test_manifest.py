"""The manifest, the per-issue journal and the send lock."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from newsletter.errors import LockError, ManifestError
from newsletter.send.journal import Journal
from newsletter.send.lock import SendLock
from newsletter.send.manifest import Manifest, SentIssue, load_manifest, write_manifest


def _issue(slug: str, **changes) -> SentIssue:
    values = dict(slug=slug, id=f"tag:example.com,2025-04-01:/{slug}", subject=f"About {slug}",
                  sent_at="2025-04-01T09:00:00+00:00", sha256="ab" * 32, sent=3)
    values.update(changes)
    return SentIssue(**values)


def test_manifest_is_sorted_indented_and_ends_with_a_newline(tmp_path):
    manifest = Manifest(tmp_path / "manifest.json").with_issue(_issue("zebra")).with_issue(
        _issue("alpha", failed=1, uncertain=2))
    write_manifest(manifest)

    text = (tmp_path / "manifest.json").read_text()
    assert text == (
        '{\n'
        '  "issues": {\n'
        '    "alpha": {\n'
        '      "id": "tag:example.com,2025-04-01:/alpha",\n'
        '      "recipients": {\n'
        '        "failed": 1,\n'
        '        "sent": 3,\n'
        '        "uncertain": 2\n'
        '      },\n'
        '      "sent_at": "2025-04-01T09:00:00+00:00",\n'
        f'      "sha256": "{"ab" * 32}",\n'
        '      "subject": "About alpha"\n'
        '    },\n'
        '    "zebra": {\n'
        '      "id": "tag:example.com,2025-04-01:/zebra",\n'
        '      "recipients": {\n'
        '        "failed": 0,\n'
        '        "sent": 3\n'
        '      },\n'
        '      "sent_at": "2025-04-01T09:00:00+00:00",\n'
        f'      "sha256": "{"ab" * 32}",\n'
        '      "subject": "About zebra"\n'
        '    }\n'
        '  }\n'
        '}\n')
    assert load_manifest(tmp_path) == manifest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json"]  # no temporary file left


def test_a_resent_issue_replaces_its_record_matched_by_slug_or_id(tmp_path):
    manifest = Manifest(tmp_path / "manifest.json").with_issue(_issue("day-two"))
    renamed = _issue("day-2", id="tag:example.com,2025-04-01:/day-two", sent=5)
    updated = manifest.with_issue(renamed)
    assert updated.issues == (renamed,)
    assert updated.find("day-two", "tag:example.com,2025-04-01:/day-two") == renamed


def test_a_missing_manifest_is_empty(tmp_path):
    assert load_manifest(tmp_path).issues == ()


@pytest.mark.parametrize(("text", "message"), [
    ('{\n  "issues": {\n    "a": 1,\n  }\n}\n', "manifest.json:4: not valid JSON"),
    ('[]\n', "manifest.json: expected an object with an \"issues\" object"),
    ('{"issues": {"a": {"id": "x", "subject": "s", "sent_at": "t", "sha256": "h", "recipients": {"sent": "3"}}}}',
     "manifest.json: issues.a.recipients.sent: expected a whole number"),
    ('{"issues": {"a": {"subject": "s"}}}', "manifest.json: issues.a.id: expected a string"),
])
def test_a_broken_manifest_is_an_error_naming_the_file(tmp_path, text, message):
    (tmp_path / "manifest.json").write_text(text)
    with pytest.raises(ManifestError) as caught:
        load_manifest(tmp_path)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_journal_records_survive_and_a_torn_last_line_is_cut_off(tmp_path):
    path = Journal.path_for(tmp_path, "day-two")
    journal = Journal(path, tmp_path)
    journal.open()
    journal.append({"type": "start", "run": "r1", "slug": "day-two"})
    journal.append({"type": "sending", "to": "Ann@example.com"}, sync=False)
    journal.append({"type": "sent", "to": "Ann@example.com"})
    journal.append({"type": "sending", "to": "bob@example.com"}, sync=False)
    journal.close()
    with open(path, "ab") as handle:
        handle.write(b'{"type":"sent","to":"bo')  # killed in the middle of a write

    reopened = Journal(path, tmp_path)
    state = reopened.open()
    assert state.start == {"type": "start", "run": "r1", "slug": "day-two"}
    assert state.state("ann@example.com") == "sent"
    assert state.state("bob@example.com") == "sending"  # uncertain: never sent again
    assert state.is_done("bob@example.com")
    reopened.append({"type": "sent", "to": "carol@example.com"})
    reopened.close()
    lines = path.read_text().splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["start", "sending", "sent", "sending", "sent"]


def test_a_damaged_journal_line_before_the_end_is_an_error(tmp_path):
    path = Journal.path_for(tmp_path, "day-two")
    path.parent.mkdir(parents=True)
    path.write_text('{"type":"start"}\nnot json\n{"type":"sent","to":"a@example.com"}\n')
    with pytest.raises(ManifestError) as caught:
        Journal(path, tmp_path).open()
    assert str(caught.value).startswith(".newsletter/journal/day-two.jsonl:2: damaged journal line")


def test_a_retry_or_deferral_leaves_a_recipient_to_send(tmp_path):
    journal = Journal(Journal.path_for(tmp_path, "x"), tmp_path)
    journal.open()
    journal.append({"type": "sending", "to": "a@example.com"})
    journal.append({"type": "retry", "to": "a@example.com", "reply": "451 later"})
    journal.append({"type": "deferred", "to": "b@example.com", "reply": "451 later"})
    journal.append({"type": "failed", "to": "c@example.com", "reply": "550 no such user"})
    state = journal.read()
    journal.close()
    assert not state.is_done("a@example.com") and not state.is_done("b@example.com")
    assert state.is_done("c@example.com")
    assert state.listed("failed") == [("c@example.com", "550 no such user")]


def test_the_lock_is_exclusive_and_released(tmp_path):
    first = SendLock(tmp_path)
    first.acquire()
    owner = json.loads(first.path.read_text())
    assert owner["pid"] == os.getpid() and owner["host"] == socket.gethostname()
    with pytest.raises(LockError) as caught:
        SendLock(tmp_path).acquire()
    assert f"another send is running (process {os.getpid()} on {socket.gethostname()}" in str(caught.value)
    first.release()
    assert not first.path.exists()
    with SendLock(tmp_path) as again:
        assert again.took_over is None


def test_a_lock_from_a_dead_process_is_taken_over(tmp_path):
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    lock = SendLock(tmp_path)
    lock.path.parent.mkdir(parents=True)
    lock.path.write_text(json.dumps({"pid": int(done.stdout), "host": socket.gethostname(), "started": "then"}))

    lock.acquire()

    assert lock.took_over is not None and lock.took_over.pid == int(done.stdout)
    assert json.loads(lock.path.read_text())["pid"] == os.getpid()
    lock.release()


def test_a_lock_from_another_machine_is_never_taken_over(tmp_path):
    lock = SendLock(tmp_path)
    lock.path.parent.mkdir(parents=True)
    lock.path.write_text(json.dumps({"pid": 1, "host": "ci-runner-elsewhere", "started": "then"}))
    with pytest.raises(LockError) as caught:
        lock.acquire()
    assert "process 1 on ci-runner-elsewhere" in str(caught.value)
    assert "delete .newsletter/send.lock" in str(caught.value)


def test_an_empty_lock_is_stale_only_once_it_is_old(tmp_path):
    lock = SendLock(tmp_path)
    lock.path.parent.mkdir(parents=True)
    lock.path.write_text("")
    with pytest.raises(LockError):
        lock.acquire()  # perhaps being written this very moment
    os.utime(lock.path, (0, 0))
    lock.acquire()
    assert lock.took_over is not None
    lock.release()
