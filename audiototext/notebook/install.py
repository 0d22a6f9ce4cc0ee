"""Step 1's installer: audiototext from where the notebook came from, or from ``install_from``.

It runs before audiototext is installed, so AudioToText.ipynb's Setup cell holds a copy of this
file (tests/test_notebook_install.py keeps the copy identical): the standard library only.
``install_from`` empty means the GitHub repository and branch Colab opened the notebook from (the
runtime's Jupyter sessions API names ``github.com/<owner>/<repo>/blob/<ref>/...``), else
:data:`REPOSITORY_URL`. It may also be a repository (``https://github.com/you/audiototext``,
``you/audiototext@branch``, any ``git+`` URL), a wheel or sdist (a path or a link), or ``upload``
to upload one. A repository that cannot be reached fails at once, saying so and what to do; in
Colab the upload dialog then opens at once, for a wheel or sdist instead.
Packages Colab already has are pinned as they are (``pip list --format=freeze``); the rest at the
tested versions of the source's ``constraints/colab.txt`` when it can be read.
"""

import importlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

#: The configured repository: the badge's, and the install's when Colab names none.
REPOSITORY_URL = "https://github.com/audiototext/audiototext"
EXTRAS = "faster,deepl,api,pages"
CONSTRAINTS_FILE = "constraints/colab.txt"
PREINSTALLED = "/tmp/colab-preinstalled.txt"
PACKAGES = (".whl", ".tar.gz", ".zip")
FALLBACK = (
    "set install_from to a wheel or sdist (a link or a path: `python -m build` in a clone makes one in "
    "dist/), or to upload and choose one, then run this cell again"
)


class InstallError(Exception):
    """The install cannot go on; IPython shows the message alone."""

    def _render_traceback_(self):
        return [f"\x1b[1;31m❌ {self}\x1b[0m"]


def colab_notebook_url():
    """Where Colab opened this notebook from (``fileId=https://github.com/...``), or None outside Colab."""
    ip, port = os.environ.get("COLAB_JUPYTER_IP"), os.environ.get("KMP_TARGET_PORT", "9000")
    if not ip:
        return None
    try:
        with urllib.request.urlopen(f"http://{ip}:{port}/api/sessions", timeout=5) as answer:
            sessions = json.load(answer)
    except (OSError, ValueError):
        return None
    paths = [urllib.parse.unquote(str(s.get("path", ""))) for s in sessions if isinstance(s, dict)]
    return next((p.split("=", 1)[-1] for p in paths if "github.com/" in p), None)


def github_repository(url):
    """``(https://github.com/o/r, ref or None)`` of a GitHub address (``/blob/<ref>/``, ``/tree/<ref>``),
    also of a Colab page opened from GitHub (``colab.research.google.com/github/o/r/blob/<ref>/...``)."""
    found = re.search(
        r"(?:github\.com|colab\.research\.google\.com/github)/([\w.-]+)/([\w.-]+?)(?:\.git)?"
        r"(?:/(?:blob|tree)/([^/?#]+))?(?:[/?#]|$)",
        url or "",
    )
    return (f"https://github.com/{found[1]}/{found[2]}", found[3]) if found else None


def _package(text, local):
    """A wheel or sdist: its pip requirement's location; a local one that is not there is refused, named."""
    if re.match(r"https?://", text):
        return text
    if not os.path.isfile(local):
        raise InstallError(
            f"install_from {text!r}: the file {local} does not exist: check its name in the Files pane (📁), "
            "give its full path or a link, or set install_from to upload and choose it"
        )
    return "file://" + local


def source_for(install_from=""):
    """What to install: ``(pip requirement, repository URL to check or None, constraints URL or None)``."""
    text = str(install_from or "").strip().strip("\"'")
    local = os.path.abspath(os.path.expanduser(text)) if text else ""
    requirement = f"audiototext[{EXTRAS}] @ "
    if text and os.path.isdir(local):  # a clone: its own tested versions
        pins = os.path.join(local, CONSTRAINTS_FILE)
        return requirement + "file://" + local, None, pins if os.path.isfile(pins) else _constraints(None, None)
    if text.lower().endswith(PACKAGES):
        return requirement + _package(text, local), None, _constraints(None, None)
    if re.match(r"(?:[\w-]+\.)+[a-z]{2,}/", text):  # github.com/you/repo: a host without its scheme
        text = "https://" + text
    if "colab.research.google.com" in text and not github_repository(text):
        raise InstallError(
            f"install_from {text!r} is a Colab notebook's address, not where audiototext comes from: leave "
            "install_from empty, or give the GitHub repository (you/audiototext), a wheel or sdist, or upload"
        )
    if not text:
        repository, ref = github_repository(colab_notebook_url()) or (REPOSITORY_URL, None)
    elif text.startswith("git+"):
        repository, _, ref = text[4:].partition("@")
    elif re.fullmatch(r"\w[\w-]*/[\w.-]+(@\S+)?", text):
        repository, _, ref = f"https://github.com/{text}".partition("@")
    elif re.match(r"https?://", text):
        repository, ref = github_repository(text) or _split_ref(text)
    elif text.startswith((".", "/", "~")):
        raise InstallError(f"install_from {text!r}: {local} does not exist (no such file or folder): " + FALLBACK)
    else:
        raise InstallError(f"install_from {text!r} is no repository, wheel or sdist: " + FALLBACK)
    pinned = f"git+{repository}" + (f"@{ref}" if ref else "")
    return requirement + pinned, repository, _constraints(repository, ref)


def _split_ref(url):
    """``https://host/owner/repo@ref`` -> ``(https://host/owner/repo, ref)``; without ``@``: ``(url, None)``."""
    if "@" not in url.rsplit("/", 1)[-1]:
        return url.rstrip("/"), None
    repository, _, ref = url.rpartition("@")
    return repository, ref


def _constraints(repository, ref):
    """The tested versions of ``repository`` at ``ref`` (GitHub), else of the notebook's or the configured one."""
    if not (repository or "").startswith("https://github.com/"):
        repository, ref = github_repository(colab_notebook_url()) or (REPOSITORY_URL, None)
    owner_repo = repository.split("github.com/", 1)[1]
    return f"https://raw.githubusercontent.com/{owner_repo}/{ref or 'HEAD'}/{CONSTRAINTS_FILE}"


def check_reachable(repository):
    """Raise :class:`InstallError` when git cannot read ``repository`` (missing, private, offline)."""
    url = f"{repository}/info/refs?service=git-upload-pack"
    try:
        urllib.request.urlopen(urllib.request.Request(url, headers={"User-Agent": "git/2"}), timeout=20).close()
    except urllib.error.HTTPError as e:
        why = "it does not exist or is private" if e.code in (401, 403, 404) else e.reason
        raise InstallError(f"The repository {repository} cannot be reached (HTTP {e.code}: {why}): " + FALLBACK) from e
    except OSError as e:
        raise InstallError(f"The repository {repository} cannot be reached ({e}): " + FALLBACK) from e


def upload_package():
    """A wheel or sdist uploaded with Colab's dialog; its path."""
    try:
        from google.colab import files
    except ImportError:
        raise InstallError("install_from = upload works in Colab: give the wheel's path or link instead") from None
    names = [name for name in files.upload() if name.lower().endswith(PACKAGES)]
    if not names:
        raise InstallError(
            "No wheel or sdist (.whl, .tar.gz, .zip) was uploaded: run this cell again and choose one, or set "
            "install_from to a repository, wheel or sdist that can be reached"
        )
    return os.path.abspath(names[-1])


def _upload_instead(unreachable):
    """In Colab, the fallback offered at once when the repository cannot be reached: a wheel or sdist
    uploaded with Colab's dialog (its path); elsewhere the error stands."""
    try:
        import google.colab  # noqa: F401
    except ImportError:
        raise unreachable from None
    reason = str(unreachable).removesuffix(": " + FALLBACK)
    print(
        f"⚠️ {reason}. Upload a wheel or sdist of audiototext instead (`python -m build` in a clone makes "
        "one in dist/), or cancel and set install_from to where audiototext is"
    )
    return upload_package()


def pip_commands(requirement, constraints=None, python=sys.executable):
    """The two commands: pin what is installed as it is, then install ``requirement``."""
    pin = [python, "-m", "pip", "list", "--format=freeze"]
    extra = ["-c", constraints] if constraints else []
    return [pin, [python, "-m", "pip", "install", "-q", "-c", PREINSTALLED, *extra, requirement]]


def _read_constraints(url):
    if os.path.isfile(url):
        return url
    try:
        with urllib.request.urlopen(url, timeout=20) as answer:
            text = answer.read().decode("utf-8")
    except (OSError, ValueError) as e:
        print(f"⚠️ The tested versions ({url}) cannot be read ({e}): installing the newest that fit")
        return None
    path = "/tmp/audiototext-constraints.txt"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def installed():
    """Whether the package is installed: a folder named audiototext in the working directory (a
    namespace package, no ``__init__.py``) is importable too, but it is not the package."""
    try:
        spec = importlib.util.find_spec("audiototext")
    except (ImportError, ValueError):
        return False
    return bool(spec and spec.origin and os.path.basename(spec.origin) == "__init__.py")


def install(install_from="", *, run=subprocess.run, python=sys.executable):
    """Install audiototext (skipped when it is installed and ``install_from`` is empty)."""
    if not str(install_from or "").strip() and installed():
        print("audiototext is installed (set install_from to install another version)")
        return
    if str(install_from).strip().lower() == "upload":
        install_from = upload_package()
    requirement, repository, constraints = source_for(install_from)
    if repository:
        try:
            check_reachable(repository)
        except InstallError as unreachable:
            requirement, repository, constraints = source_for(_upload_instead(unreachable))
    print(f"Installing {requirement}")
    pin, command = pip_commands(requirement, _read_constraints(constraints) if constraints else None, python)
    with open(PREINSTALLED, "w", encoding="utf-8") as frozen:
        run(pin, stdout=frozen, check=True)
    done = run(command, capture_output=True, text=True)
    if done.returncode:
        tail = "\n".join((done.stderr or done.stdout or "").strip().splitlines()[-6:])
        raise InstallError(f"pip could not install {requirement}:\n{tail}\nCheck install_from, or " + FALLBACK)
    importlib.invalidate_caches()
