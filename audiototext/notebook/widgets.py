"""The widget form for plain Jupyter (JupyterLab, VS Code): every step's fields, an upload box and a
Run button, built from the same field lists as the notebook's form cells (:data:`form.STEPS`).

Colab shows the form cells' ``# @param`` fields as a form itself; there :func:`form` only says
so, so that "Run all" never shows the form twice.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from ..errors import AudioToTextError, OptionsError
from . import colab, fields
from .output import NotebookError, display, setup_logging, show, stop
from .saving import save
from .steps import Inputs, Transcription, choose_input, show_results, transcribe, translate

#: The dropdown entry for "no DeepL translation".
NO_TRANSLATION = ("(no DeepL translation)", "")


@dataclass
class Form:
    """The widget form: ``fields`` by name (the notebook's names), the upload box, the Run button,
    the output area."""

    widget: object
    fields: dict
    upload: object
    run: object
    output: object

    def values(self) -> dict:
        return {name: w.value for name, w in self.fields.items()}


def run_form(values: dict, *, upload=None) -> Transcription:
    """What the form's Run button does: the Input, Transcribe, DeepL, Save and Results steps in turn;
    with ``from_json`` only the Save and Results steps (the files are written from the .json)."""
    defaults = fields.defaults()
    unknown = sorted(set(values) - set(defaults))
    if unknown:
        raise stop(OptionsError(f"Unknown field(s) {', '.join(unknown)}: use {', '.join(defaults)}"))
    values = {**defaults, **values}
    if str(values["from_json"]).strip():
        transcription = save(save_formats=values["save_formats"], from_json=values["from_json"])
        show_results(transcription, burn_subtitles=False)
        return transcription
    audio_file = str(values["audio_file"]).strip()
    inputs = choose_input(audio_file) if audio_file else Inputs(upload=upload)
    transcription = transcribe(inputs, **{k: values[k] for k in fields.STEPS["transcribe"]})
    if values["deepl_target_language"]:
        translate(transcription, **{k: values[k] for k in fields.STEPS["translate"]})
    if str(values["save_formats"]).strip():
        save(transcription, save_formats=values["save_formats"])
    show_results(transcription, burn_subtitles=bool(values["burn_subtitles"]))
    return transcription


def deepl_targets(key: str | None = None) -> list[tuple[str, str]]:
    """The target dropdown: DeepL's current list when a key is known (the field, the Colab secret or
    ``$DEEPL_AUTH_KEY``), else the built-in one."""
    from ..translation import available_targets

    key = colab.deepl_key(key)
    names = available_targets(key) if key else tuple(c for c in fields.choices("deepl_target_language") if c)
    return [NO_TRANSLATION, *((n, n) for n in names)]


def _widget(name: str, value: Any):
    import ipywidgets as widgets

    field = fields.all_fields()[name]
    common = {"description": name, "style": {"description_width": "210px"}}
    wide = widgets.Layout(width="680px")
    listed = list(fields.choices(name))
    if name == "deepl_target_language":
        return widgets.Dropdown(options=deepl_targets(), value=value, layout=wide, **common)
    if listed and field.free:
        return widgets.Combobox(value=str(value), options=listed, ensure_option=False, layout=wide, **common)
    if listed:
        return widgets.Dropdown(options=listed, value=value, layout=wide, **common)
    if field.type is bool:
        return widgets.Checkbox(value=bool(value), indent=False, **common)
    if field.type is int:
        return widgets.BoundedIntText(value=int(value or 0), min=0, max=int(field.maximum or 100_000), **common)
    if field.type is float:
        return widgets.BoundedFloatText(
            value=float(value or 0.0),
            min=field.minimum or 0.0,
            max=field.maximum if field.maximum is not None else 1e6,
            step=0.1,
            **common,
        )
    if name.endswith("api_key"):
        return widgets.Password(value=str(value), layout=wide, **common)
    return widgets.Text(value=str(value), layout=wide, **common)


def _field_widgets(values: dict) -> dict:
    made = {}
    for name, value in values.items():
        w = _widget(name, value)
        w.add_class(f"audiototext-{name}")
        try:
            w.tooltip = fields.help_text(name)  # ipywidgets 8
        except Exception:  # noqa: BLE001 - older ipywidgets: no tooltip, the form still works
            pass
        made[name] = w
    return made


def build_form(**values) -> Form:
    """The same fields as the notebook's form cells, an upload box, a Run button and an output area.

    Raises:
        OptionsError: a field the notebook does not have.
    """
    import ipywidgets as widgets

    defaults = fields.defaults()
    unknown = sorted(set(values) - set(defaults))
    if unknown:
        raise OptionsError(f"Unknown field(s) {', '.join(unknown)}: use {', '.join(defaults)}")
    made = _field_widgets({**defaults, **values})
    upload = widgets.FileUpload(accept="audio/*,video/*", multiple=True, description="Upload")
    upload.add_class("audiototext-upload")
    run = widgets.Button(description="Run", button_style="primary", icon="play", tooltip="Run every step")
    run.add_class("audiototext-run")
    output = widgets.Output()
    output.add_class("audiototext-output")
    form = Form(_layout(made, upload, run, output), made, upload, run, output)
    _wire(form)
    return form


def _layout(made: dict, upload, run, output):
    import ipywidgets as widgets

    def section(title: str, names) -> list:
        return [widgets.HTML(f"<b>{html.escape(title)}</b>"), *(made[n] for n in names)]

    main = [n for n in fields.STEPS["transcribe"] if n not in fields.ADVANCED]
    advanced = widgets.Accordion(children=[widgets.VBox([made[n] for n in fields.ADVANCED])])
    advanced.set_title(0, "Long audio, music and decoding")
    coherence = widgets.HTML(f"<small>coherence_preference {html.escape(fields.COHERENCE_HELP)}.</small>")
    box = widgets.VBox(
        [
            widgets.HTML(
                f"<h3>🗣️ AudioToText</h3><p>Whisper subtitles from any audio or video; the files go to "
                f"<code>output_dir</code> (default <code>{fields.OUTPUT_DIR}/</code>).</p>"
            ),
            *section("Input", fields.STEPS["input"]),
            upload,
            *section("Transcribe", main),
            coherence,
            advanced,
            *section("DeepL (optional)", fields.STEPS["translate"]),
            *section("Save in more formats (optional)", fields.STEPS["save"]),
            *section("Results", fields.STEPS["results"]),
            run,
            output,
        ]
    )
    box.add_class("audiototext-form")
    return box


def _wire(form: Form) -> None:
    """Run button -> every step; a DeepL key typed in -> DeepL's current target list."""
    target = form.fields["deepl_target_language"]

    def on_key(change) -> None:
        chosen = target.value
        target.options = deepl_targets(change["new"])
        target.value = chosen if chosen in [v for _, v in target.options] else ""

    form.fields["deepl_api_key"].continuous_update = False
    form.fields["deepl_api_key"].observe(on_key, names="value")

    def on_run(_button) -> None:
        form.run.disabled = True
        form.output.clear_output()
        with form.output:
            try:
                run_form(form.values(), upload=form.upload)
            except NotebookError as e:
                show(f"<p style='color:#c00'>❌ {html.escape(str(e))}</p>", f"❌ {e}")
            finally:
                form.run.disabled = False

    form.run.on_click(on_run)


def form(**values) -> None:
    """Show the widget form in Jupyter; in Colab say that the form cells above are the form.

    Args:
        **values: initial field values, e.g. ``use_model="small"``.
    """
    setup_logging()
    if colab.in_colab():
        print("In Colab the form cells above are the form: fill them in and press ▶ on each step.")
        return
    if not colab.in_jupyter():
        print("The widget form needs Jupyter (ipywidgets); call the steps instead.")
        return
    try:
        built = build_form(**values)
    except AudioToTextError as e:
        raise stop(e) from e
    display(built.widget)


__all__ = ["Form", "NO_TRANSLATION", "run_form", "deepl_targets", "build_form", "form"]
