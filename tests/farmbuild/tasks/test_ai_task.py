"""The ``ai`` task against a local server speaking Ollama's wire format (the backend side is in the e2e test)."""

from __future__ import annotations

import json
import logging
import textwrap
from pathlib import Path

import pytest

from farmbuild.build import BuildOptions, build
from farmbuild.check import check
from tests.conftest import failed, ran
from tests.fake_ollama import FakeOllama, PullPlan, closed_port_url, fake_ollama  # noqa: F401


def write_config(root: Path, ollama_url: str, models: list[str], *, backend: str | None = None,
                 extra: str = "") -> None:
    (root / "farm.toml").write_text(textwrap.dedent(f"""\
        [ai.providers.ollama]
        url = "{ollama_url}"
        models = {json.dumps(models)}

        [development.servers]
        backend_url = "{backend or closed_port_url()}"
        {extra}
        """))


def build_ai(root: Path):  # noqa: ANN201
    return build(root, BuildOptions(tasks=["ai"]))


def status(report, task: str = "ai") -> str:  # noqa: ANN001
    return next(r.status for r in report.results if r.id == task)


def ai_state(root: Path) -> dict:
    return json.loads((root / ".farm" / "state" / "ai.json").read_text())


@pytest.fixture
def project(make_project) -> Path:  # noqa: ANN001
    return make_project()


def test_a_bare_machine_reports_one_line_and_does_not_fail(project: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_config(project, closed_port_url(), ["llama3.2"])
    caplog.set_level(logging.INFO, logger="farmbuild")
    report = build_ai(project)
    assert report.ok and status(report) == "ran"
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ai:")]
    assert len(lines) == 1
    assert "2 changes pending (add provider ollama; add model ollama/llama3.2)" in lines[0]
    assert "Ollama at http://127.0.0.1:" in lines[0] and "the backend at" in lines[0] and "retries" in lines[0]
    assert ai_state(project)["pending"] == ["backend", "ollama:ollama"]
    # the next build retries only if something answers: here nothing does, so it stays a no-op
    caplog.clear()
    again = build_ai(project)
    assert again.ok and status(again) == "up-to-date"
    assert any("still not reachable" in r.getMessage() for r in caplog.records)


def test_pulls_with_progress_then_skips_what_is_present(project: Path, fake_ollama: FakeOllama,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    fake_ollama.plans["llama3.2"] = PullPlan(layers=[2_000_000_000, 5_000], steps=10)
    write_config(project, fake_ollama.url, ["llama3.2"])
    caplog.set_level(logging.INFO, logger="farmbuild")
    report = build_ai(project)
    assert report.ok
    assert fake_ollama.pulls() == ["llama3.2"]
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "ai: ollama/llama3.2: pulling from Ollama at" in text
    assert "ai: ollama/llama3.2: pulling manifest" in text
    assert "(50%)" in text and "1.9 GB/1.9 GB (100%)" in text  # completed/total per digest
    assert "ai: ollama/llama3.2 pulled" in text
    st = ai_state(project)
    assert st["components"]["ollama:ollama"]["models"] == ["llama3.2"]
    assert st["pending"] == ["backend"]  # no backend running: retried when it answers
    # up to date while the backend stays down; Ollama is not asked again
    n = len(fake_ollama.requests)
    assert status(build_ai(project)) == "up-to-date"
    assert len(fake_ollama.requests) == n
    # another model: present already (tags say so, under its :latest name) -> no pull
    fake_ollama.models.add("qwen2.5:latest")
    write_config(project, fake_ollama.url, ["llama3.2", "qwen2.5"])
    assert build_ai(project).ok
    assert fake_ollama.pulls() == ["llama3.2"]


def test_a_pull_failing_mid_stream_fails_and_the_next_build_retries(project: Path, fake_ollama: FakeOllama) -> None:
    fake_ollama.plans["llama3.2"] = PullPlan(error_after=3, error="max retries exceeded: unexpected EOF")
    write_config(project, fake_ollama.url, ["llama3.2"])
    report = build_ai(project)
    assert failed(report) == {"ai"} and not report.ok
    [res] = [r for r in report.results if r.id == "ai"]
    assert "pulling llama3.2 failed: max retries exceeded: unexpected EOF" in (res.error or "")
    assert "farm.toml [ai.providers.ollama]" in (res.error or "")
    assert not (project / ".farm" / "state" / "ai.json").exists()  # not marked applied
    # the next build retries (same config): and succeeds once Ollama does
    del fake_ollama.plans["llama3.2"]
    report = build_ai(project)
    assert report.ok and ran(report) == {"ai"}
    assert fake_ollama.pulls() == ["llama3.2", "llama3.2"]


@pytest.mark.parametrize("plan", [PullPlan(status=500, error="no space left on device"), PullPlan(cut_after=5)])
def test_other_pull_failures_fail_the_task(project: Path, fake_ollama: FakeOllama, plan: PullPlan) -> None:
    fake_ollama.plans["llama3.2"] = plan
    write_config(project, fake_ollama.url, ["llama3.2"])
    report = build_ai(project)
    assert failed(report) == {"ai"}


def test_a_removed_model_is_unloaded_not_deleted(project: Path, fake_ollama: FakeOllama) -> None:
    write_config(project, fake_ollama.url, ["llama3.2", "qwen2.5:0.5b"])
    assert build_ai(project).ok
    write_config(project, fake_ollama.url, ["llama3.2"])
    assert build_ai(project).ok
    assert fake_ollama.unloads() == ["qwen2.5:0.5b"]
    assert fake_ollama.calls("DELETE", "/api/delete") == []
    assert "qwen2.5:0.5b" in fake_ollama.models  # still on disk: deleting is `farm ai delete`
    # removing the whole provider unloads what it served
    write_config(project, fake_ollama.url, [], extra="")
    (project / "farm.toml").write_text(f'[development.servers]\nbackend_url = "{closed_port_url()}"\n')
    assert build_ai(project).ok
    assert fake_ollama.unloads() == ["qwen2.5:0.5b", "llama3.2"]


def test_pending_changes_are_applied_when_ollama_comes_up(project: Path) -> None:
    fake = FakeOllama().start()
    url = fake.url
    fake.stop()
    write_config(project, url, ["llama3.2"])
    assert status(build_ai(project)) == "ran"  # nothing reachable: pending
    fake = FakeOllama(port=int(url.rsplit(":", 1)[1])).start()
    try:
        report = build_ai(project)
        assert status(report) == "ran" and report.ok
        assert fake.pulls() == ["llama3.2"]
        assert ai_state(project)["pending"] == ["backend"]
    finally:
        fake.stop()


def test_auto_pull_off_warns_instead_of_pulling(project: Path, fake_ollama: FakeOllama,
                                                caplog: pytest.LogCaptureFixture) -> None:
    (project / "farm.toml").write_text(textwrap.dedent(f"""\
        [ai.providers.ollama]
        url = "{fake_ollama.url}"
        models = ["llama3.2"]
        auto_pull = false
        [development.servers]
        backend_url = "{closed_port_url()}"
        """))
    caplog.set_level(logging.INFO, logger="farmbuild")
    assert build_ai(project).ok
    assert fake_ollama.pulls() == []
    assert any("auto_pull is off: run `ollama pull llama3.2`" in r.getMessage() for r in caplog.records)


def test_preload_loads_the_default_model(project: Path, fake_ollama: FakeOllama) -> None:
    write_config(project, fake_ollama.url, ["llama3.2", "qwen2"],
                 extra="[development.hot_reload.ai_models]\npreload_models = true\n")
    assert build_ai(project).ok
    loads = [c.body for c in fake_ollama.calls("POST", "/api/generate") if "keep_alive" not in c.body]
    assert loads == [{"model": "llama3.2", "stream": False}]
    assert fake_ollama.loaded == {"llama3.2:latest"}


def test_farm_build_check_touches_no_server(project: Path, fake_ollama: FakeOllama) -> None:
    write_config(project, fake_ollama.url, ["llama3.2"])
    res = check(project, BuildOptions(tasks=["ai"]))
    assert res.report.ok
    assert fake_ollama.requests == []


def test_disabled_means_no_task(project: Path) -> None:
    write_config(project, closed_port_url(), ["llama3.2"],
                 extra="[development.hot_reload.ai_models]\nenabled = false\n")
    report = build(project)
    assert "ai" not in {r.id for r in report.results}


def test_no_providers_nothing_pending(project: Path, caplog: pytest.LogCaptureFixture) -> None:
    (project / "farm.toml").write_text(f'[development.servers]\nbackend_url = "{closed_port_url()}"\n')
    caplog.set_level(logging.INFO, logger="farmbuild")
    assert status(build_ai(project)) == "ran"
    assert ai_state(project)["pending"] == []
    assert not [r for r in caplog.records if r.getMessage().startswith("ai:")]  # nothing to say
    assert status(build_ai(project)) == "up-to-date"
