"""Media input against a real ffmpeg: containers, URLs from a local HTTP server, every bad input."""

from __future__ import annotations

import http.server
import subprocess
import threading
from functools import partial

import numpy as np
import pytest

from audiototext import media
from audiototext.errors import MediaError


@pytest.fixture(scope="module")
def http_root(tmp_path_factory, english_wav, english_mp4):
    """A local HTTP server serving a folder; yields (base_url, folder)."""
    root = tmp_path_factory.mktemp("www")
    (root / "speech.wav").write_bytes(english_wav.read_bytes())
    (root / "not media.txt").write_text("just text\n")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", *args], check=True)


@pytest.mark.parametrize(
    "ext,codec", [("mp3", "libmp3lame"), ("ogg", "libvorbis"), ("flac", "flac"), ("m4a", "aac"), ("opus", "libopus")]
)
def test_decodes_any_container_to_16k_mono_float32(tmp_path, english_wav, ext, codec):
    path = tmp_path / f"speech.{ext}"
    _ffmpeg("-i", str(english_wav), "-ac", "2", "-ar", "44100" if ext != "opus" else "48000", "-c:a", codec, str(path))
    audio = media.load_audio(path)
    reference = media.load_audio(english_wav)
    assert audio.dtype == np.float32 and audio.ndim == 1
    # Same length within codec padding (< 0.1 s), real signal in it.
    assert abs(len(audio) - len(reference)) < 1600
    assert 0.05 < float(np.abs(audio).max()) <= 1.0
    assert abs(media.probe(path).duration - len(reference) / 16000) < 0.15


def test_video_audio_track_is_decoded(english_mp4, english_wav):
    info = media.probe(english_mp4)
    assert info.video_streams == 1 and info.audio_streams == 1
    assert abs(len(media.load_audio(english_mp4)) - len(media.load_audio(english_wav))) < 3200


def test_missing_path(tmp_path):
    with pytest.raises(MediaError, match=r"nope\.mp3: no such file"):
        media.resolve(tmp_path / "nope.mp3")


def test_directory(tmp_path):
    with pytest.raises(MediaError, match="is a directory"):
        media.resolve(tmp_path)


def test_not_media(tmp_path):
    path = tmp_path / "notes.mp3"
    path.write_text("this is not audio at all\n" * 10)
    with pytest.raises(MediaError, match=r"notes\.mp3: not an audio or video file"):
        media.load_audio(path)


def test_video_without_audio(tmp_path):
    path = tmp_path / "mute.mp4"
    _ffmpeg("-f", "lavfi", "-i", "color=c=black:s=64x64:d=1", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path))
    with pytest.raises(MediaError, match=r"mute\.mp4: a video with no audio stream"):
        media.load_audio(path)


def test_zero_length_audio(tmp_path):
    path = tmp_path / "empty.wav"
    _ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "0", "-c:a", "pcm_s16le", str(path))
    with pytest.raises(MediaError, match=r"empty\.wav: the audio is empty"):
        media.load_audio(path)


def test_ffmpeg_not_installed(monkeypatch, english_wav):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(MediaError, match="ffmpeg is not installed.*apt-get install -y ffmpeg"):
        media.load_audio(english_wav)


def test_url_download(http_root, tmp_path):
    base, root = http_root
    item = media.resolve(f"{base}/speech.wav", download_dir=tmp_path, progress=False)
    assert item.stem == "speech" and item.path.read_bytes() == (root / "speech.wav").read_bytes()
    assert not list(tmp_path.glob("*.part"))


def test_url_with_quoted_name(http_root, tmp_path):
    base, _ = http_root
    item = media.resolve(f"{base}/not%20media.txt", download_dir=tmp_path, progress=False)
    assert item.path.name == "not media.txt"
    with pytest.raises(MediaError, match="not an audio or video file"):
        media.load_audio(item.path)


def test_url_404(http_root, tmp_path):
    base, _ = http_root
    with pytest.raises(MediaError, match="HTTP 404"):
        media.resolve(f"{base}/missing.mp3", download_dir=tmp_path, progress=False)


def test_url_size_limit(http_root, tmp_path):
    base, _ = http_root
    with pytest.raises(MediaError, match="limit of 1000 bytes"):
        media.resolve(f"{base}/speech.wav", download_dir=tmp_path, progress=False, max_bytes=1000)
    assert not list(tmp_path.iterdir())


def test_unreachable_url(tmp_path):
    with pytest.raises(MediaError, match="download failed"):
        media.resolve("http://127.0.0.1:9/x.mp3", download_dir=tmp_path, progress=False, timeout=5)


def test_other_schemes_refused():
    with pytest.raises(MediaError, match="only http:// and https://"):
        media.resolve("ftp://example.org/a.mp3")


def test_media_error_is_picklable(tmp_path):
    import pickle

    with pytest.raises(MediaError) as info:
        media.resolve(tmp_path / "gone.wav")
    clone = pickle.loads(pickle.dumps(info.value))
    assert type(clone) is MediaError and str(clone) == str(info.value) and clone.source == info.value.source


# --- the one ffmpeg runner -------------------------------------------------------------------------


def test_a_failure_names_the_input_quotes_ffmpeg_and_says_what_to_do(tmp_path):
    """One error style: the name the user gave (not the local file: path), ffmpeg's own reason,
    the fix; a name that looks like an option or a protocol is still a file."""
    path = tmp_path / "-notes:part1.mp3"
    path.write_text("this is not audio at all\n" * 10)
    with pytest.raises(MediaError) as caught:
        media.probe(path, name="https://example.org/notes")
    message = str(caught.value)
    assert message.startswith("https://example.org/notes: not an audio or video file ffmpeg can read (")
    assert message.endswith("); " + media.NOT_MEDIA_FIX)
    assert "file:" not in message and str(tmp_path) not in message
    assert caught.value.source == "https://example.org/notes"


def test_the_runner_passes_bytes_in_and_reads_ffmpeg_s_messages():
    tone = (0.5 * np.sin(np.arange(16000) * 2 * np.pi * 440 / 16000)).astype(np.float32)
    audio = np.concatenate([np.zeros(16000, np.float32), tone, np.zeros(16000, np.float32)])
    args = ["-f", "f32le", "-ar", "16000", "-ac", "1", "-i", "pipe:0", "-af", "silencedetect=d=0.5", "-f", "null", "-"]
    done = media.run_ffmpeg(args, name="tone", problem="p", fix="f", data=audio.tobytes(), loglevel="info")
    assert done.stderr.count(b"silence_start") == 2 and done.returncode == 0


def _slow_job(seconds: int) -> list[str]:
    # -re reads the input at its own pace: the job takes ``seconds`` unless it is stopped.
    return ["-re", "-f", "lavfi", "-i", f"anullsrc=r=8000:cl=mono:d={seconds}", "-f", "null", "-"]


def test_a_stopping_service_ends_any_ffmpeg_the_runner_started():
    """Every run is registered, so stop_children (a service stopping) ends it."""
    from audiototext import interrupts

    failed = []

    def run():
        try:
            media.run_ffmpeg(_slow_job(600), name="slow", problem="stopped", fix="run again")
        except MediaError as e:
            failed.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    for _ in range(600):
        if interrupts._PROCESSES:
            break
        thread.join(0.05)
    assert interrupts.stop_children() >= 1
    thread.join(60)
    assert (
        not thread.is_alive()
        and len(failed) == 1
        and str(failed[0]) == "slow: stopped (ffmpeg was stopped by signal 9); run again"
    )


def test_a_run_past_its_timeout_is_killed_and_says_so():
    with pytest.raises(MediaError, match=r"^slow: no answer \(ffmpeg took more than 0.5 s\); try again$"):
        media.run_ffmpeg(_slow_job(600), name="slow", problem="no answer", fix="try again", timeout=0.5)
    from audiototext import interrupts

    assert not interrupts._PROCESSES
