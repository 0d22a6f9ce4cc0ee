"""The notebook's install cell cannot drift: resolved with ``pip install --dry-run
--report`` in an environment that holds exactly Colab's preinstalled packages
(tests/data/colab_pip_freeze_gpu.txt, as metadata only, under Colab's Python), it installs what
constraints/colab.txt pins and changes nothing Colab ships (torch, numpy, ...)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from audiototext.notebook import fields
from audiototext.notebook import install as installer


ROOT = Path(__file__).resolve().parents[1]
COLAB_FREEZE = ROOT / "tests" / "data" / "colab_pip_freeze_gpu.txt"
CONSTRAINTS = ROOT / fields.CONSTRAINTS_FILE
INDEX = "https://pypi.org/simple"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def colab_packages() -> dict[str, str]:
    """Colab's preinstalled packages: canonical name -> version (``name @ url`` lines: from the file name)."""
    found = {}
    for line in COLAB_FREEZE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        pinned = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        direct = re.match(r"([A-Za-z0-9_.-]+) @ \S*?[-_](\d[\w.+]*?)(?:-py\d|-cp\d+|\.tar\.gz|\.whl)", line)
        match = pinned or direct
        if match:
            found[canonical(match[1])] = match[2]
    return found


def pinned() -> dict[str, str]:
    rows = [line.split("#")[0].strip() for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines()]
    return {canonical(name): version for name, version in (row.split("==") for row in rows if row)}


def colab_python() -> str:
    """An interpreter of Colab's Python version (the freeze file says which), else this one."""
    version = re.search(r"^# python: (\d+\.\d+)", COLAB_FREEZE.read_text(encoding="utf-8"), re.M)[1]
    for candidate in (
        shutil.which(f"python{version}"),
        *sorted(Path("~/.pyenv/versions").expanduser().glob(f"{version}.*/bin/python{version}")),
    ):
        if candidate and subprocess.run([str(candidate), "-c", "pass"], capture_output=True).returncode == 0:
            return str(candidate)
    return sys.executable


def pypi_reachable() -> bool:
    try:
        urllib.request.urlopen(f"{INDEX}/pip/", timeout=10).close()
        return True
    except OSError:
        return False


def fake_colab_environment(folder: Path) -> Path:
    """A virtual environment with its own pip (ensurepip's, offline) whose site-packages hold
    Colab's packages as metadata only."""
    subprocess.run([colab_python(), "-m", "venv", str(folder)], check=True)
    python = folder / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    for name, version in colab_packages().items():
        if name == "pip":  # the environment's own pip stands in for Colab's
            continue
        info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        (info / "INSTALLER").write_text("colab\n")
    return python


def project_copy(folder: Path) -> Path:
    """What pip reads to build audiototext's metadata, and its tested versions (the repository itself
    is not touched)."""
    for name in ("setup.cfg", "pyproject.toml", "README.md", "audiototext/__init__.py", fields.CONSTRAINTS_FILE):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, folder / name)
    return folder


def dry_run(python: Path, report: Path, env: dict):
    """``subprocess.run`` for the installer: in the fake Colab, pip's install a dry run with a report."""

    def run(command, **kwargs):
        command = [str(python), *command[1:]]
        if command[3] == "install":
            command[4:4] = ["--dry-run", "--report", str(report)]
        return subprocess.run(command, env=env, timeout=600, **kwargs)

    return run


def test_the_constraints_pin_only_what_colab_lacks():
    shipped = colab_packages()
    assert {"torch", "numpy", "tqdm", "openai", "requests", "tokenizers"} <= set(shipped)
    assert not set(pinned()) & set(shipped), "a pin on a package Colab ships would conflict when Colab changes it"
    assert {"faster-whisper", "ctranslate2", "openai-whisper", "deepl"} <= set(pinned())


@pytest.mark.slow  # pip installs for seconds
def test_the_install_cell_installs_the_pins_and_changes_nothing_colab_ships(tmp_path, monkeypatch):
    if not pypi_reachable():
        pytest.skip(f"PyPI ({INDEX}) cannot be reached: the install cell's dry run needs it")
    python = fake_colab_environment(tmp_path / "colab")
    report = tmp_path / "report.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_INDEX_URL=INDEX, PIP_DISABLE_PIP_VERSION_CHECK="1")
    monkeypatch.setattr(installer, "PREINSTALLED", str(tmp_path / "preinstalled.txt"))
    # The Setup cell's installer, given a clone of the project (a wheel, a repository go the same way).
    installer.install(str(project_copy(tmp_path / "project")), run=dry_run(python, report, env), python=str(python))
    listed = (tmp_path / "preinstalled.txt").read_text().splitlines()
    assert len(listed) == len(colab_packages()) and "torch==2.11.0+cu128" in listed
    installs = {
        canonical(i["metadata"]["name"]): i["metadata"]["version"] for i in json.loads(report.read_text())["install"]
    }
    shipped = colab_packages()
    assert not {name: (shipped[name], v) for name, v in installs.items() if name in shipped}, (
        "the install would change a package Colab ships"
    )
    assert installs.pop("audiototext")
    assert installs == pinned(), "everything installed is a tested, pinned version"


# --- where the Setup cell installs from -------------------------------------------


SESSIONS = [
    {
        "id": "7f1c",
        "name": "AudioToText.ipynb",
        "path": "fileId=https%3A%2F%2Fgithub.com%2Fsomeone%2Ffork%2Fblob%2Fdev%2FAudioToText.ipynb",
        "type": "notebook",
    }
]


@pytest.fixture
def git_host():
    """A server on 127.0.0.1: Colab's sessions API (``/api/sessions``), a git repository ``/good/repo``
    (smart HTTP's first request answers 200), and 404 for anything else (a repository that does not exist)."""
    import http.server
    import threading

    requests = []

    class Host(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            body, status = b"Not Found", 404
            if self.path == "/api/sessions":
                body, status = json.dumps(SESSIONS).encode(), 200
            elif self.path.startswith("/good/repo/info/refs?service=git-upload-pack"):
                body, status = b"001e# service=git-upload-pack\n0000", 200
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Host)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()


def refuse(*args, **kwargs):
    raise AssertionError(f"pip ran: {args}")


def test_a_repository_that_cannot_be_reached_is_one_clear_message(git_host, tmp_path, monkeypatch):
    base, requests = git_host
    monkeypatch.setattr(installer, "PREINSTALLED", str(tmp_path / "preinstalled.txt"))
    with pytest.raises(installer.InstallError) as caught:
        installer.install(f"{base}/someone/audiototext", run=refuse)
    message = str(caught.value)
    assert message.startswith(f"The repository {base}/someone/audiototext cannot be reached (HTTP 404: it does not")
    assert "set install_from to a wheel or sdist" in message and "or to upload" in message
    assert requests == ["/someone/audiototext/info/refs?service=git-upload-pack"], "asked as git asks, once"
    assert caught.value._render_traceback_() == [f"\x1b[1;31m❌ {message}\x1b[0m"], "one line in IPython"
    with pytest.raises(installer.InstallError, match=r"cannot be reached \(<urlopen error"):
        installer.install("http://127.0.0.1:9/someone/audiototext", run=refuse)  # nothing listens there


def test_in_colab_a_repository_that_cannot_be_reached_opens_the_upload_at_once(git_host, tmp_path, monkeypatch, capsys):
    """The fallback needs no second run: Colab's upload dialog (the fake google.colab) opens right
    after the message, and pip installs the uploaded wheel; a cancelled upload says what to do."""
    from fake_colab import install as install_colab

    base, requests = git_host
    monkeypatch.chdir(tmp_path)
    colab = install_colab(monkeypatch, tmp_path)
    wheel = "audiototext-0.1.0-py3-none-any.whl"
    colab.uploads.append([(wheel, b"PK\x05\x06" + bytes(18))])
    monkeypatch.setattr(installer, "PREINSTALLED", str(tmp_path / "preinstalled.txt"))
    ran = []

    def run(command, **kwargs):
        ran.append(command)
        return subprocess.CompletedProcess(command, 0, "", "")

    installer.install(f"{base}/someone/audiototext", run=run, python="python3")
    out = capsys.readouterr().out
    assert f"⚠️ The repository {base}/someone/audiototext cannot be reached (HTTP 404: it does not" in out
    assert "Upload a wheel or sdist of audiototext instead" in out and "set install_from to a wheel" not in out
    assert requests == ["/someone/audiototext/info/refs?service=git-upload-pack"]
    assert ran[1][-1] == f"audiototext[{installer.EXTRAS}] @ file://{tmp_path / wheel}", "the upload, installed"
    assert (tmp_path / wheel).is_file()
    with pytest.raises(installer.InstallError, match=r"No wheel or sdist .* was uploaded: run this cell again"):
        installer.install(f"{base}/someone/audiototext", run=refuse)  # the dialog cancelled: nothing uploaded


def test_empty_means_the_repository_colab_opened_the_notebook_from(git_host, monkeypatch):
    base, _ = git_host
    monkeypatch.delenv("COLAB_JUPYTER_IP", raising=False)
    requirement, repository, constraints = installer.source_for("")
    assert (repository, requirement) == (
        installer.REPOSITORY_URL,
        f"audiototext[{installer.EXTRAS}] @ git+{repository}",
    )
    port = base.rsplit(":", 1)[1]
    monkeypatch.setenv("COLAB_JUPYTER_IP", "127.0.0.1")  # what Colab's runtime sets, with KMP_TARGET_PORT
    monkeypatch.setenv("KMP_TARGET_PORT", port)
    assert installer.colab_notebook_url() == "https://github.com/someone/fork/blob/dev/AudioToText.ipynb"
    requirement, repository, constraints = installer.source_for("")
    assert requirement == f"audiototext[{installer.EXTRAS}] @ git+https://github.com/someone/fork@dev"
    assert repository == "https://github.com/someone/fork"
    assert constraints == "https://raw.githubusercontent.com/someone/fork/dev/constraints/colab.txt"


@pytest.mark.parametrize(
    "given, requirement",
    [
        ("you/audiototext", "git+https://github.com/you/audiototext"),
        ("you/audiototext@v2", "git+https://github.com/you/audiototext@v2"),
        ("https://github.com/you/audiototext/tree/fix", "git+https://github.com/you/audiototext@fix"),
        ("git+https://gitlab.com/you/audiototext@main", "git+https://gitlab.com/you/audiototext@main"),
        ("https://example.org/audiototext-1.0.tar.gz", "https://example.org/audiototext-1.0.tar.gz"),
    ],
)
def test_install_from_takes_a_repository_or_a_package(given, requirement):
    assert installer.source_for(given)[0] == f"audiototext[{installer.EXTRAS}] @ {requirement}"


def test_a_reachable_repository_is_installed_with_what_is_installed_pinned(git_host, tmp_path, monkeypatch, capsys):
    base, _ = git_host
    monkeypatch.setattr(installer, "PREINSTALLED", str(tmp_path / "preinstalled.txt"))
    ran = []

    def run(command, **kwargs):
        ran.append(command)
        if "freeze" in command[-1]:
            kwargs["stdout"].write("torch==2.11.0\n")
        return subprocess.CompletedProcess(command, 0, "", "")

    installer.install(f"{base}/good/repo@v1", run=run, python="python3")
    assert ran[0] == ["python3", "-m", "pip", "list", "--format=freeze"]
    assert ran[1][:7] == ["python3", "-m", "pip", "install", "-q", "-c", str(tmp_path / "preinstalled.txt")]
    assert ran[1][-1] == f"audiototext[{installer.EXTRAS}] @ git+{base}/good/repo@v1"
    assert (tmp_path / "preinstalled.txt").read_text() == "torch==2.11.0\n"
    assert f"Installing audiototext[{installer.EXTRAS}] @ git+{base}/good/repo@v1" in capsys.readouterr().out


def test_pip_failing_says_why_and_what_to_do(git_host, tmp_path, monkeypatch):
    base, _ = git_host
    monkeypatch.setattr(installer, "PREINSTALLED", str(tmp_path / "preinstalled.txt"))

    def run(command, **kwargs):
        return subprocess.CompletedProcess(command, 1 if "install" in command else 0, "", "ERROR: git clone failed\n")

    with pytest.raises(installer.InstallError, match=r"pip could not install .*\nERROR: git clone failed\nCheck"):
        installer.install(f"{base}/good/repo", run=run)


def test_installed_already_is_left_alone(capsys):
    installer.install("", run=refuse)
    assert "audiototext is installed (set install_from to install another version)" in capsys.readouterr().out


def test_a_wheel_uploaded_in_colab_is_installed(tmp_path, monkeypatch):
    """The fallback when no repository can be reached: a real wheel of this project, uploaded with
    Colab's dialog (the fake google.colab), resolved by pip (a dry run without dependencies)."""
    from fake_colab import install as install_colab

    monkeypatch.chdir(tmp_path)
    colab = install_colab(monkeypatch, tmp_path)
    built, project = tmp_path / "dist", project_copy(tmp_path / "project")  # built from a copy: no build/ here
    shutil.copytree(
        ROOT / "audiototext", project / "audiototext", dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(built),
            str(project),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    [wheel] = built.glob("audiototext-*.whl")
    colab.uploads.append([(wheel.name, wheel.read_bytes())])
    monkeypatch.setattr(installer, "PREINSTALLED", str(tmp_path / "preinstalled.txt"))
    report = tmp_path / "report.json"

    def run(command, **kwargs):
        if command[3] == "install":
            command = [
                *command[:4],
                "--dry-run",
                "--no-deps",
                "--ignore-installed",
                "--report",
                str(report),
                *command[4:],
            ]
        return subprocess.run(command, timeout=600, **kwargs)

    installer.install("upload", run=run)
    [item] = json.loads(report.read_text())["install"]
    assert (
        item["metadata"]["name"] == "audiototext" and item["download_info"]["url"] == f"file://{tmp_path / wheel.name}"
    )
    assert sorted(item["requested_extras"]) == sorted(installer.EXTRAS.split(","))


def test_set_repository_points_every_badge_and_the_install_at_a_repository(tmp_path):
    """scripts/set_repository.py on a copy: the badges, links and the Setup cell's copy of install.py."""
    for name in ("README.md", "AudioToText.ipynb", "audiototext/notebook/install.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "set_repository.py"),
            "https://github.com/someone/fork",
            "--root",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.count("Rewrote") == 3
    readme, notebook_text = (tmp_path / "README.md").read_text(), (tmp_path / "AudioToText.ipynb").read_text()
    assert "colab.research.google.com/github/someone/fork/blob/main/AudioToText.ipynb" in readme
    assert 'REPOSITORY_URL = \\"https://github.com/someone/fork\\"' in notebook_text, "the Setup cell's copy"
    assert "colab.research.google.com/github/someone/fork/blob/main/AudioToText.ipynb" in notebook_text
    old = installer.REPOSITORY_URL.split("github.com/")[1]
    assert old not in readme + notebook_text + (tmp_path / "audiototext/notebook/install.py").read_text()


@pytest.mark.parametrize(
    "given, requirement",
    [
        ("github.com/you/audiototext", "git+https://github.com/you/audiototext"),
        ("github.com/you/audiototext@dev", "git+https://github.com/you/audiototext@dev"),
        (
            "https://colab.research.google.com/github/you/audiototext/blob/dev/AudioToText.ipynb",
            "git+https://github.com/you/audiototext@dev",
        ),
    ],
)
def test_a_repository_without_scheme_or_as_its_colab_page_is_that_repository(given, requirement):
    assert installer.source_for(given)[0] == f"audiototext[{installer.EXTRAS}] @ {requirement}"


def test_a_local_wheel_that_is_not_there_is_named_not_taken_for_a_repository(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for given in ("./audiototext-1.0-py3-none-any.whl", "dist/audiototext-1.0.tar.gz"):
        with pytest.raises(installer.InstallError) as caught:
            installer.install(given, run=refuse)
        assert f"the file {tmp_path / given.removeprefix('./')} does not exist" in str(caught.value)
        assert "github" not in str(caught.value)
    (tmp_path / "audiototext-1.0-py3-none-any.whl").write_bytes(b"PK")
    requirement = installer.source_for("./audiototext-1.0-py3-none-any.whl")[0]
    assert requirement.endswith(f"@ file://{tmp_path / 'audiototext-1.0-py3-none-any.whl'}")
    with pytest.raises(installer.InstallError, match=r"no such file or folder"):
        installer.source_for("./my-clone")


def test_a_colab_page_that_names_no_repository_is_refused_with_the_fix():
    with pytest.raises(installer.InstallError) as caught:
        installer.source_for("https://colab.research.google.com/drive/1AbCdEf")
    assert "is a Colab notebook's address, not where audiototext comes from: leave install_from empty" in str(
        caught.value
    )


def test_a_folder_named_audiototext_is_not_taken_for_the_installed_package(tmp_path):
    """In a fresh interpreter without site-packages (as before Step 1 installs anything), a folder
    ``audiototext`` in the working directory imports as a namespace package: not installed; one with
    ``__init__.py`` is."""
    (tmp_path / "audiototext").mkdir()
    probe = [sys.executable, "-S", "-c", f"import runpy; print(runpy.run_path({installer.__file__!r})['installed']())"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # only the working directory's folder

    def installed():
        return subprocess.run(probe, cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout.strip()

    assert installed() == "False"
    (tmp_path / "audiototext" / "__init__.py").write_text("__version__ = '0'\n")
    assert installed() == "True"
