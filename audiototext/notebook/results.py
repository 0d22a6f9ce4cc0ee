"""The Results step's pieces: the file list, the zip, the player with subtitle tracks, burned subtitles.

Pure where it can be (HTML and names are built from data and tested without a model); ffmpeg is
called with argument lists, never through a shell.
"""

from __future__ import annotations

import base64
import html
import io
import mimetypes
import os
import tempfile
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable, Sequence

from ..errors import MediaError
from ..languages import language_name
from ..media import ffmpeg_path, is_url, run_ffmpeg
from ..pipeline import FileResult
from ..style import NETFLIX, SubtitleStyle
from ..formats import write
from ..transcript import Transcript
from .output import human_size

#: Burned-in copies: ``<name>_subtitled.mp4``.
BURNED_SUFFIX = "_subtitled"
#: The picture behind the subtitles when the input has no video.
BACKGROUND = "color=c=black:s=1280x720:r=15"
#: How many lines of each subtitle file the Results step previews.
PREVIEW_LINES = 24


@dataclass(frozen=True)
class Track:
    """One subtitle track of the player.

    Attributes:
        label: what the player's menu shows ("Spanish", "English (British)").
        srclang: BCP 47 language tag ("es", "en-gb").
        transcript: the lines.
        reference: for a translation, the source transcript (its word times time the cues).
    """

    label: str
    srclang: str
    transcript: Transcript
    reference: Transcript | None = None


def subtitle_lines(found: Sequence[FileResult]) -> list[str]:
    """One line per srt/vtt file on disk: how its cues measure against the reading rules."""
    return [
        f"{Path(path).name}: {report.summary()}"
        for result in found
        for path, report in result.subtitles.items()
        if Path(path).is_file()
    ]


def lines_html(lines: Sequence[str]) -> str:
    return "<p>" + "<br>".join(html.escape(line) for line in lines) + "</p>"


def tracks(result: FileResult, translations: Sequence = ()) -> list[Track]:
    """The transcript's track, then one per DeepL translation (``TranslationResult``), in order."""
    if result.transcript is None:
        return []
    transcript = result.transcript
    code = transcript.text_language or transcript.language or "und"
    found = [Track(language_name(code) if code != "und" else "Subtitles", code.lower(), transcript)]
    for translation in translations:
        if translation.transcript is not None and not translation.skipped:
            found.append(
                Track(translation.target.name, translation.target.code.lower(), translation.transcript, transcript)
            )
    return found


def vtt_text(transcript: Transcript, style: SubtitleStyle = NETFLIX, reference: Transcript | None = None) -> str:
    """The transcript as WebVTT, written in memory (the user's formats may lack vtt; no file is listed)."""
    stream = io.StringIO()
    write(transcript, "vtt", stream, style, reference=reference)
    return stream.getvalue()


def data_url(content: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(content).decode('ascii')}"


def player_html(src: str, found: Sequence[Track], *, video: bool = True, cue_style: SubtitleStyle = NETFLIX) -> str:
    """An HTML5 player of ``src`` with each track selectable (the first shown by default).

    Audio plays in a ``<video>`` element too (an ``<audio>`` element has no subtitle menu); browsers
    draw no captions over audio, so a line under it shows the chosen track's current cue.
    """
    player_id = f"audiototext-player-{uuid.uuid4().hex[:12]}"
    style = "width:100%;max-width:720px" + ("" if video else ";height:120px;background:#000")
    rows = [
        f'<video id="{player_id}" class="audiototext-player" controls preload="metadata" style="{style}" '
        f'src="{html.escape(src, quote=True)}">'
    ]
    for i, track in enumerate(found):
        vtt = data_url(vtt_text(track.transcript, cue_style, track.reference).encode("utf-8"), "text/vtt")
        rows.append(
            f'  <track kind="subtitles" srclang="{html.escape(track.srclang, quote=True)}" '
            f'label="{html.escape(track.label, quote=True)}" src="{vtt}"{" default" if i == 0 else ""}>'
        )
    rows.append("</video>")
    if not video:
        rows.append(_CAPTIONS.replace("PLAYER_ID", player_id))
    return "\n".join(rows)


#: The caption line under an audio player: the showing track's active cue, updated as it plays.
_CAPTIONS = """<div class="audiototext-captions" id="PLAYER_ID-captions" style="max-width:720px;min-height:2.6em;\
box-sizing:border-box;padding:4px 8px;background:#000;color:#fff;font-size:1.2em;text-align:center"></div>
<script>
(function () {
  const video = document.getElementById("PLAYER_ID"), line = document.getElementById("PLAYER_ID-captions");
  if (!video || !line) return;
  const show = () => {
    const track = Array.from(video.textTracks).find((t) => t.mode === "showing");
    line.textContent = track && track.activeCues ? Array.from(track.activeCues).map((c) => c.text).join(" ") : "";
  };
  for (const track of video.textTracks) track.addEventListener("cuechange", show);
  video.textTracks.addEventListener("change", show);
  video.addEventListener("timeupdate", show);
})();
</script>"""


def media_source(
    source: str, environment: str, *, stream: Callable[[Path], str] | None = None
) -> tuple[str | None, str]:
    """Where the player takes ``source`` from, or why it cannot: ``(src, "")`` or ``(None, reason)``.

    Never the media itself inside the notebook (it would be saved with it, as base64): a link is played from the
    link; in Jupyter a file under the notebook's folder by its relative path (Jupyter serves it);
    otherwise by ``stream`` (Colab: this kernel's media server through Colab's port proxy), when given.
    """
    if is_url(source):
        return source, ""
    path = Path(source).expanduser()
    if not path.is_file():
        return None, f"{source} is no longer here: nothing to play"
    if environment == "jupyter":
        relative = os.path.relpath(path.resolve(), Path.cwd().resolve()) if path.is_absolute() else str(path)
        if not relative.startswith(".."):
            return "/".join(Path(relative).parts), ""
    if stream is not None:
        try:
            return stream(path), ""
        except Exception as e:  # noqa: BLE001 - no player is no failure: the files are written
            return None, f"{path.name} cannot be streamed to the player here ({e}): open it with its .srt in VLC"
    where = "is outside the notebook's folder" if environment == "jupyter" else "cannot be streamed here"
    return None, f"{path.name} {where}: open it with its .srt in a player such as VLC, or set burn_subtitles"


def has_video(source: str) -> bool:
    """Whether the input has a picture (ffprobe for files, the extension for links)."""
    if is_url(source):
        return (mimetypes.guess_type(source.split("?")[0])[0] or "").startswith("video/")
    from ..media import probe

    try:
        return probe(source).video_streams > 0
    except MediaError:
        return False


#: The burned video's encoding: H.264 and AAC, playable anywhere, the subtitles drawn by libass.
_ENCODE = (
    *("-vf", "subtitles=subtitles.srt", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"),
    *("-c:a", "aac", "-b:a", "160k", "-movflags", "+faststart"),
)


def burn(source: str, track: Track, target: Path, *, video: bool, style: SubtitleStyle = NETFLIX) -> Path:
    """Write ``target`` (mp4, H.264 + AAC): ``source`` with ``track`` burned into the picture.

    An input without video gets a plain black picture. The file appears only when complete.

    Raises:
        MediaError: ffmpeg failed (or cannot render subtitles); the message says why.
    """
    local = None if is_url(source) else Path(source).expanduser().resolve()
    src = source if local is None else ffmpeg_path(local)
    target = Path(target).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.stem}.partial.mp4")
    picture = (
        ["-i", src, "-map", "0:v:0", "-map", "0:a:0?"]
        if video
        else ["-f", "lavfi", "-i", BACKGROUND, "-i", src, "-map", "0:v", "-map", "1:a:0", "-shortest"]
    )
    with tempfile.TemporaryDirectory(prefix="audiototext-burn-") as folder:
        with open(Path(folder) / "subtitles.srt", "w", encoding="utf-8") as stream:
            write(track.transcript, "srt", stream, style, reference=track.reference)
        # Run where subtitles.srt is, so the filter's argument needs no escaping of the user's path.
        args = ["-y", *picture, *_ENCODE, str(partial)]
        try:
            run_ffmpeg(
                args,
                name=source,
                problem="could not burn the subtitles in",
                fix="the subtitle files are kept; check that the input plays and that this ffmpeg renders "
                "subtitles (built with libass)",
                path=local,
                cwd=folder,
            )
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    os.replace(partial, target)
    return target


def burned_name(stem: str, track_suffix: str = "") -> str:
    """ "clip" -> "clip_subtitled.mp4"; with a translation "clip_English (British)_subtitled.mp4"."""
    return f"{stem}{track_suffix}{BURNED_SUFFIX}.mp4"


def zip_files(files: Sequence[Path], target: str | Path) -> Path:
    """One zip of ``files``, each stored under its folder's name (``audio_transcription/x.srt``).

    Videos are stored as they are (compressing them again gains nothing and takes time).
    """
    target = Path(target)
    partial = target.with_name(f".{target.name}.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            path = Path(path)
            stored = path.suffix.lower() in (".mp4", ".mkv", ".webm", ".mov")
            archive.write(
                path,
                f"{path.parent.name}/{path.name}",
                compress_type=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED,
            )
    os.replace(partial, target)
    return target


def file_link(path: Path, environment: str) -> str:
    """A download link in Jupyter (for files under the notebook's folder), the name elsewhere."""
    name = html.escape(path.name)
    if environment != "jupyter":
        return name
    try:
        relative = os.path.relpath(Path(path).resolve(), Path.cwd().resolve())
    except ValueError:
        return name
    if relative.startswith(".."):
        return name
    href = html.escape("/".join(Path(relative).parts), quote=True)
    return f'<a href="{href}" download="{html.escape(path.name, quote=True)}" target="_blank">{name}</a>'


def input_names(results: Sequence[FileResult]) -> list[tuple[str, str]]:
    """(input, the name its files got) per input: same-named inputs get ``clip``, ``clip (2)``."""
    return [(r.source, r.stem or Path(r.source).stem) for r in results]


def table_html(results: Sequence[FileResult], files: Sequence[Sequence[Path]], environment: str) -> str:
    """One row per input: the input, its files' name, and its files (``files``, per input) or its error."""
    rows = []
    for result, (source, name), paths in zip(results, input_names(results), files):
        if result.ok:
            cell = ", ".join(
                f"{file_link(p, environment)} <small>({human_size(p.stat().st_size)})</small>"
                for p in paths
                if p.is_file()
            )
        else:
            cell = f"<span style='color:#c00'>❌ {html.escape(str(result.error))}</span>"
        rows.append(f"<tr><td>{html.escape(source)}</td><td>{html.escape(name)}.*</td><td>{cell}</td></tr>")
    return (
        "<table class='audiototext-files' style='text-align:left'><tr><th style='text-align:left'>input</th>"
        "<th style='text-align:left'>name</th><th style='text-align:left'>files</th></tr>" + "".join(rows) + "</table>"
    )


def table_text(results: Sequence[FileResult], files: Sequence[Sequence[Path]]) -> str:
    """The same as :func:`table_html`, as plain text."""
    lines = []
    for result, (source, name), paths in zip(results, input_names(results), files):
        lines.append(f"  {source} -> {name}.*")
        if not result.ok:
            lines.append(f"    ❌ {result.error}")
        for path in paths:
            if path.is_file():
                lines.append(f"    {path}  ({human_size(path.stat().st_size)})")
    return "\n".join(lines)


def preview_file(paths: Sequence[Path]) -> Path | None:
    """The subtitle file to preview among ``paths``: srt, else vtt, else txt."""
    by_format = {p.suffix.lstrip("."): p for p in paths}
    for fmt in ("srt", "vtt", "txt"):
        if fmt in by_format and by_format[fmt].is_file():
            return by_format[fmt]
    return None


def preview(path: Path) -> tuple[str, str]:
    """The first lines of a subtitle file, as (HTML, plain text)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    head = "\n".join(lines[:PREVIEW_LINES]) + ("\n…" if len(lines) > PREVIEW_LINES else "")
    return (
        f"<details open><summary>{html.escape(path.name)}</summary><pre>{html.escape(head)}</pre></details>",
        f"\n--- {path.name} ---\n{head}",
    )


def preview_files(outputs: Sequence[Path], translated: Sequence[Path] = ()) -> list[Path]:
    """The file to preview of the transcript, then of each translation (one per target language)."""
    by_name: dict[str, list[Path]] = {}
    for path in translated:
        by_name.setdefault(path.stem, []).append(path)
    found = [preview_file(outputs), *(preview_file(group) for group in by_name.values())]
    return [p for p in found if p is not None]


def previews(paths: Sequence[Path]) -> tuple[str, str]:
    """The files' first lines side by side, the transcript beside its translations (HTML), or one
    after the other (plain text)."""
    shown = [preview(p) for p in paths]
    columns = "".join(f"<div style='flex:1 1 0;min-width:16em'>{page}</div>" for page, _ in shown)
    return (
        f"<div class='audiototext-previews' style='display:flex;gap:1em;overflow-x:auto'>{columns}</div>",
        "".join(text for _, text in shown),
    )


def can_burn() -> bool:
    """Whether ffmpeg here renders subtitles (built with libass)."""
    try:
        done = run_ffmpeg(["-filters"], name="ffmpeg", problem="cannot list its filters", fix="", timeout=30)
    except MediaError:
        return False
    out = done.stdout.decode("utf-8", "replace")
    return any(line.split()[1:2] == ["subtitles"] for line in out.splitlines() if line.strip())


__all__ = [
    "BURNED_SUFFIX",
    "PREVIEW_LINES",
    "Track",
    "tracks",
    "vtt_text",
    "data_url",
    "player_html",
    "subtitle_lines",
    "lines_html",
    "media_source",
    "has_video",
    "burn",
    "burned_name",
    "zip_files",
    "file_link",
    "input_names",
    "table_html",
    "table_text",
    "preview_file",
    "preview",
    "preview_files",
    "previews",
    "can_burn",
]
