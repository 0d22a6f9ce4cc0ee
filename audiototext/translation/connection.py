"""The connection to DeepL through the ``deepl`` package: a translator whose errors become
:class:`~audiototext.errors.TranslationError`, and the live list of target languages (which the
DeepL options read to check a target the built-in list lacks, before anything is translated).

``deepl`` is imported inside the functions that talk to DeepL, so the module imports without it.
"""

from __future__ import annotations

import logging
import os
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import TranslationError
from .targets import DeepLTarget, known_targets, register_targets

log = logging.getLogger(__name__)

#: The environment variables a DeepL key and server are read from when none is given (read by
#: :func:`deepl_key` and :func:`deepl_server_url` only; the faces resolve their own sources, such
#: as the notebook's field and Colab secret, and pass the value).
KEY_VARIABLE = "DEEPL_AUTH_KEY"
SERVER_VARIABLE = "DEEPL_SERVER_URL"


def deepl_key(given: str | None = None) -> str:
    """The DeepL key: ``given`` when not blank, else ``$DEEPL_AUTH_KEY``; "" when neither."""
    return (given or "").strip() or os.environ.get(KEY_VARIABLE, "").strip()


def deepl_server_url(given: str | None = None) -> str | None:
    """The DeepL server: ``given``, else ``$DEEPL_SERVER_URL``; None for DeepL's own."""
    return given or os.environ.get(SERVER_VARIABLE) or None


def available_targets(auth_key: str | None = None, *, server_url: str | None = None) -> tuple[str, ...]:
    """Display names of the languages DeepL translates into now, for a dropdown: DeepL adds
    languages, and a list written into the package would hide them.

    Asks DeepL (``/v2/languages?type=target``) and merges its answer into the built-in list:
    known codes keep their built-in names, so names typed before still resolve; a code DeepL added
    appears with DeepL's name and from then on :func:`resolve_target` finds it (by name or code)
    in this process. Never raises: without a key, without the ``deepl`` package, or when DeepL
    cannot be reached or refuses, it logs why at INFO and returns the built-in (and previously
    read) names.

    Args:
        auth_key: DeepL API key; ``None`` reads the environment variable ``DEEPL_AUTH_KEY``.
        server_url: another DeepL-compatible server; ``None`` reads ``DEEPL_SERVER_URL``.

    Returns:
        The names, sorted.
    """
    key = deepl_key(auth_key)
    server_url = deepl_server_url(server_url)
    if not key:
        log.debug("DeepL: No API key: showing the built-in list of target languages")
    else:
        try:
            with _translator(key, server_url) as translator:
                reported = translator.get_target_languages()
            added = register_targets(
                DeepLTarget(str(lang.code), str(lang.name), bool(lang.supports_formality)) for lang in reported
            )
            if added:
                log.debug("DeepL: New target languages: %s", ", ".join(f"{t.name} [{t.code}]" for t in added))
        except Exception as e:  # never raise: the built-in list is a complete answer; log why
            log.info("DeepL: Cannot read the target languages (%s): showing the built-in list", e)
    return tuple(t.name for t in known_targets())


class OddAnswer(Exception):
    """An answer the ``deepl`` package read but that lacks what it must hold (raised inside
    :func:`_translator`, which names the server); the message says what was missing."""


@contextmanager
def _translator(auth_key: str, server_url: str | None):
    """A ``deepl.Translator``, closed at the end; its errors become :class:`TranslationError`."""
    deepl = _import_deepl()
    with _deepl_errors(server_url, auth_key):
        translator = deepl.Translator(auth_key, server_url=server_url)
        try:
            yield translator
        finally:
            translator.close()


@contextmanager
def _deepl_errors(server_url: str | None, auth_key: str) -> Iterator[None]:
    """Turn the ``deepl`` package's exceptions into one :class:`TranslationError` each."""
    import deepl

    where = server_url or ("api-free.deepl.com" if auth_key.endswith(":fx") else "api.deepl.com")  # as deepl picks
    try:
        yield
    except deepl.AuthorizationException as e:
        raise TranslationError(
            "DeepL rejected the key: check deepl_api_key / DEEPL_AUTH_KEY", kind="auth", status=403
        ) from e
    except deepl.QuotaExceededException as e:
        raise TranslationError(
            "DeepL character quota exceeded for this billing period: wait for the next period, "
            "raise the limit in your DeepL account, or use another key",
            kind="quota",
            status=456,
        ) from e
    except deepl.TooManyRequestsException as e:
        raise TranslationError(
            "DeepL answered 'too many requests' even after retrying: wait a few minutes and run again",
            kind="rate",
            status=429,
        ) from e
    except deepl.ConnectionException as e:
        raise TranslationError(
            f"Cannot reach DeepL at {where} ({e}): check the network connection"
            + (" and DEEPL_SERVER_URL / --deepl-server-url" if server_url else ""),
            kind="network",
        ) from e
    except OddAnswer as e:
        raise TranslationError(
            f"The DeepL server at {where} answered {e}. Is {where} DeepL's API or a compatible server? "
            "Check DEEPL_SERVER_URL / --deepl-server-url; nothing of this translation was written",
            kind="config",
        ) from e
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        failed_in = traceback.extract_tb(e.__traceback__)[-1]
        if f"{os.sep}deepl{os.sep}" not in failed_in.filename:
            raise  # not the deepl package's: a fault of ours, shown as it is
        raise TranslationError(
            f"The DeepL server at {where} answered something the deepl package cannot read: it failed at "
            f"`{(failed_in.line or '').strip()}` ({type(e).__name__}: {e}). Is {where} DeepL's API or a compatible "
            "server? Check DEEPL_SERVER_URL / --deepl-server-url",
            kind="config",
        ) from e
    except deepl.DeepLException as e:
        status = getattr(e, "http_status_code", None)
        if status is not None and 400 <= status < 500:
            raise TranslationError(
                f"DeepL refused the request ({e}): check the target language and the glossary",
                kind="config",
                status=status,
            ) from e
        raise TranslationError(
            f"DeepL service unavailable ({e}): try again later", kind="unavailable", status=status
        ) from e


def _import_deepl():
    try:
        import deepl
    except ImportError as e:
        raise TranslationError(
            "DeepL translation needs the deepl package: pip install 'audiototext[deepl]'", kind="config"
        ) from e
    return deepl


__all__ = ["available_targets", "deepl_key", "deepl_server_url"]
