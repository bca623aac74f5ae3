"""Event Timeline page: lays out widgets, keeps them and the URL in step, and calls timeline/."""

from __future__ import annotations

import streamlit as st

from timeline import loading

st.set_page_config(page_title="Event Timeline", page_icon="🕑", layout="wide")
st.title("Event Timeline")
# The first paint of a session comes before the imports below: in a fresh server, pandas and pyarrow take
# a third of a second to import, and the browser meanwhile fetches and compiles Plotly's JavaScript
# (megabytes) for these empty axes instead of waiting for the events. Cleared once the page is drawn.
LOADING = st.empty()
if "painted" not in st.session_state and st.query_params.get("tab", "timeline") in loading.CHART_TABS:
    LOADING.plotly_chart(loading.loading_figure(), width="stretch")

import dataclasses
import functools
import hashlib
import json
import logging
import os
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

import ibis
import pandas as pd
import plotly.graph_objects as go
from streamlit.delta_generator import DeltaGenerator
from streamlit.runtime.scriptrunner import get_script_run_ctx

from timeline import (
    access,
    bundled,
    casualties,
    display,
    engines,
    exports,
    figure_parts,
    figures,
    import_job,
    mapping_form,
    query,
    reaction_figures,
    reactions,
    richtext,
    store,
    toll_figures,
)
from timeline import schema as s
from timeline import view as views
from timeline.errors import TimelineError
from timeline.import_job import ImportJob, JobState
from timeline.ingest import ImportOptions, ImportResult, version_meta

TAB_LABELS = {
    "timeline": "Timeline",
    "reactions": "Reactions",
    "casualties": "Casualties",
    "table": "Table",
    "dataset": "Dataset",
}
TABLE_ROWS_SHOWN = 5_000
MAX_TOLL_EVENTS = 50_000  # events reporting a toll read for the casualties view (the earliest, when more)
# Who, what and where first; the bookkeeping columns last.
TABLE_COLUMNS = (
    s.ACTOR,
    s.EVENT_TYPE,
    s.TITLE,
    s.DESCRIPTION,
    s.TARGET,
    s.ACTOR_GROUP,
    s.ACTOR_TYPE,
    s.LOCATION,
    s.FATALITIES,
    s.INJURED,
    s.SOURCE_NAME,
    s.SOURCE_URL,
    s.TIME_PRECISION,
    s.UTC_OFFSET_MINUTES,
    s.LATITUDE,
    s.LONGITUDE,
    s.EVENT_ID,
)
FILTER_FIELDS = ("actors", "groups", "types", "start", "end", "query")  # what "Reset filters" clears
_NO_FILTERS = {name: views.DEFAULTS[name] for name in FILTER_FIELDS}
AXIS_LABELS = {"time": "Clock time", "relative": "Time since anchor", "log": "Time since anchor (log)"}
TOLL_MODE_LABELS = {
    "reports": "Reports of one incident: the highest figure certainly public so far",
    "totals": "Totals per period: many incidents",
}
IMPORT_POLL_S = 2.0  # how often a running import's progress is redrawn (each redraw costs the server ~0.1 s)
QUICK_IMPORT_S = 1.5  # an import done within this shows at once, without a progress bar
IMPORTS_KEPT = 3  # a session's latest imports kept: the one shown, the last usable one (for "Undo")
MAX_LINKS_SHOWN = 8  # links of one description offered as buttons
LABEL_CHARS = 120  # longest button label (cut before it is written as Markdown, never inside an escape)
# "Copy link" in one click. The link is data, set as text (never as HTML). The clipboard API needs a secure
# context (https or localhost); on a plain-http server the older copy command of a selected field does it.
COPY_LINK = st.components.v2.component(
    "event_timeline_copy_link",
    html='<button type="button">Copy link</button><div class="said" role="status" aria-live="polite"></div>',
    css="""
button { width: 100%; padding: 0.4rem 0.6rem; border-radius: 0.5rem; cursor: pointer;
  border: 1px solid var(--st-border-color, #d0d0d0); background: var(--st-background-color, #fff);
  color: var(--st-text-color, #222); font: inherit; }
button:hover, button:focus-visible { border-color: var(--st-primary-color, #d33); }
.said { font-size: 0.8rem; margin-top: 0.2rem; overflow-wrap: anywhere; }
""",
    js="""
export default function (component) {
  const { data, parentElement } = component;
  const button = parentElement.querySelector("button");
  const said = parentElement.querySelector(".said");
  said.textContent = "";
  button.onclick = async () => {
    let copied = false;
    try {
      await navigator.clipboard.writeText(data.link);
      copied = true;
    } catch (error) {
      const field = document.createElement("textarea");
      field.value = data.link;
      field.setAttribute("readonly", "");
      parentElement.appendChild(field);
      field.select();
      try { copied = document.execCommand("copy"); } catch (ignored) { copied = false; }
      field.remove();
    }
    said.textContent = copied ? "Link copied" : "Copy this link: " + data.link;
  };
}
""",
)


@dataclass(frozen=True)
class _Anchor:
    """The view's time zero: its row (empty without one, or when this version lacks it) and the interval
    its start could lie in (None then)."""

    rows: pd.DataFrame
    origin: reactions.Anchor | None


def _engine() -> engines.Engine:
    """The engine that computes every view (TIMELINE_ENGINE: DuckDB embedded unless the operator chose
    Spark), one per server, shared with the download route."""
    return engines.shared(os.environ)


@st.cache_resource(max_entries=64, show_spinner=False)
def _rollups(dataset_id: str, version: str) -> store.Rollups:
    """What the store counted of a version once (its size, the values of its filter columns, its span)."""
    return store.rollups(dataset_id, version)


def _where(version: store.VersionInfo) -> query.Version:
    """Where the engine reads the version's events."""
    rollups = _rollups(version.dataset_id, version.version)
    return query.version(version.dataset_id, version.version, max_span_us=rollups.max_span_us)


def _events(version: store.VersionInfo) -> ibis.Table:
    """The version's events in the engine: an expression, nothing read yet."""
    return query.events(_engine(), _where(version))


@st.cache_data(max_entries=32, show_spinner=False)
def _default_anchor(dataset_id: str, version: str, declared: str | None) -> str | None:
    """The version's default anchor, found once."""
    return query.default_anchor(_events(store.version_info(dataset_id, version)), declared)


@st.cache_resource(max_entries=64, show_spinner=False)
def _event_rows(dataset_id: str, version: str, event_id: str | None) -> pd.DataFrame:
    """One event's row with every column (empty without an id, or when this version lacks it)."""
    return query.event(_events(store.version_info(dataset_id, version)), event_id)


@st.cache_data(max_entries=32, show_spinner=False)
def _default_toll_mode(dataset_id: str, version: str) -> str:
    """How the casualties view opens for a version: decided from all its reports, so filters never flip it."""
    return query.default_toll_mode(_events(store.version_info(dataset_id, version)))


@st.cache_data(max_entries=256, show_spinner=False)
def _has_event(dataset_id: str, version: str, event_id: str) -> bool:
    return query.has_event(_events(store.version_info(dataset_id, version)), event_id)


def _read_upload(data: bytes, options: ImportOptions, digest: str) -> ImportJob:
    """The session's import of this upload with these options, started in a worker process when new (or
    freed meanwhile). A session keeps its few latest imports (the one shown, the last one that read, for
    "Undo"); older ones are closed, and all go with the session, never shared with another."""
    jobs: dict[str, ImportJob] = st.session_state.setdefault("import_jobs", {})
    key = _import_key(digest, options)
    job = jobs.pop(key, None)
    if job is None or job.state in (JobState.ABANDONED, JobState.RELEASED):
        job = ImportJob(
            data, options, time_limit_s=import_job.time_limit_setting(), keep_running=_session_is_open()
        )
        # A small file is read before the first paint; a large one shows its progress meanwhile.
        job.wait(QUICK_IMPORT_S)
    jobs[key] = job  # the latest last
    while len(jobs) > IMPORTS_KEPT:
        jobs.pop(next(iter(jobs))).close()
    return job


def _import_key(digest: str, options: ImportOptions) -> str:
    return f"{digest}:{json.dumps(dataclasses.asdict(options), sort_keys=True)}"


def _session_is_open() -> Callable[[], bool]:
    """Whether this page's session is still connected, askable from any thread (an import's watcher)."""
    context = get_script_run_ctx()
    if context is None or not st.runtime.exists():
        return lambda: True  # run without a server (AppTest): nothing to ask
    return functools.partial(st.runtime.get_instance().is_active_session, context.session_id)


@st.cache_data
def _zones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


# --- the page's state ------------------------------------------------------------------------------------
# The view (timeline.view.View, the link's parameters) is the page's one state: st.session_state.view.
# Widgets only mirror it, and a widget's on_change callback, which Streamlit runs before the script, is the
# only way a choice enters the view. The browser must show the view's value whatever reruns interrupted
# before, without a run that a newer click has made stale overwriting what the reader typed meanwhile:
# - a widget's value is written from the view only when it differs from what the browser last sent (every
#   write makes the browser overwrite the widget, typing included);
# - the widget's own default is the view's value too, so a widget the browser draws afresh (an interrupted
#   first run) starts at the view's value, not at its first option (but for the tabs, see main).


def _view() -> views.View:
    return st.session_state.view


def _set_view(view: views.View) -> None:
    st.session_state.view = view


def _open_session() -> None:
    """Read the link the page was opened with into the view, once per session."""
    if "view" in st.session_state:
        return
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    opened, notices = views.from_query(params)
    _set_view(opened)
    st.session_state.notices = list(notices)  # what the link asked for and could not have
    st.session_state.notes = {}  # field -> what reading a typed value took (or why it was refused)
    st.session_state.drafts = {}  # field -> a typed value that was refused, kept in its box to be corrected
    st.session_state.reconciled = set()  # (dataset, version) pairs the view was checked against
    st.session_state.remembered = {}  # dataset -> the view last used for it, restored on switching back


def _mirror(key: str, value: object) -> bool:
    """Write a widget's value from the view before it is drawn, unless the browser already holds it (an empty
    box and no value are the same); returns whether it was written (see the comment above)."""
    if key in st.session_state and _same_value(st.session_state[key], value):
        return False
    st.session_state[key] = value
    return True


def _same_value(held: object, value: object) -> bool:
    return held == value or (held in (None, "") and value in (None, ""))


def _defaulted(written: bool, value: object, options: Sequence[object] | None, default: str | None) -> dict:
    """The keyword argument that makes value a widget's default (none when it was written this run:
    Streamlit takes one or the other): `default` names it, or `index` into the widget's options."""
    if written:
        return {}
    if options is None:
        return {default: value}
    return {"index": list(options).index(value)} if value in options else {}


def _take(field: str, key: str, from_widget: Callable[[object], object] | None = None) -> None:
    """on_change of a widget: its new value, checked with the link's rules, into the view."""
    value = st.session_state[key]
    _apply(field, value if from_widget is None else from_widget(value))


def _apply(field: str, value: object) -> None:
    """A value typed or chosen for a field into the view; refused, it is kept as a draft in its box. An
    accepted value may make a draft acceptable (a From after the old To, then a later To): drafts are
    retried."""
    edit = views.edited(_view(), field, value)
    _set_view(edit.view)
    st.session_state.notes[field] = list(edit.notices)
    if not edit.accepted:
        st.session_state.drafts[field] = value
        return
    st.session_state.drafts.pop(field, None)
    for other, draft in list(st.session_state.drafts.items()):
        retried = views.edited(_view(), other, draft)
        if retried.accepted:
            _set_view(retried.view)
            st.session_state.notes[other] = list(retried.notices)
            del st.session_state.drafts[other]


def _control(
    field: str,
    key: str | None = None,
    to_widget: Callable[[object], object] | None = None,
    from_widget: Callable[[object], object] | None = None,
    *,
    options: Sequence[object] | None = None,
    default: str | None = "value",
) -> dict:
    """The keyword arguments that bind a widget to a field of the view: key (value mirrored), on_change, and
    the view's value as the widget's default (`default` names that argument; with options, their index).
    to_widget / from_widget translate where the widget shows a value differently (a tab's label)."""
    key = key or f"w:{field}"
    value = getattr(_view(), field)
    shown = list(value) if isinstance(value, tuple) else value if to_widget is None else to_widget(value)
    shown = st.session_state.drafts.get(field, shown)
    if default is None:  # the tabs (see main): no default, so written on every run, as a click is whole
        st.session_state[key] = shown
        written = True
    else:
        written = _mirror(key, shown)
    return {
        "key": key,
        "on_change": _take,
        "args": (field, key, from_widget),
        **_defaulted(written, shown, options, default),
    }


def _switch_dataset(key: str) -> None:
    """on_change of the dataset box."""
    _show_dataset(st.session_state[key])


def _show_dataset(dataset_id: str, version: str | None = None) -> None:
    """Switch the view to a dataset (its newest version unless named), with the filters last used for it
    (none at first); the zone, tab and view options stay."""
    current = _view()
    if dataset_id == current.dataset and version in (None, current.version):
        return
    st.session_state.remembered[current.dataset] = current
    kept = {name: getattr(current, name) for name in ("tz", "tab", "lanes", "axis", "by", "reaction_axis")}
    remembered = st.session_state.remembered.get(dataset_id)
    if remembered is not None and version is None:
        _set_view(dataclasses.replace(views.in_zone(remembered, current.tz), tab=current.tab))
    else:
        _set_view(views.View(dataset=dataset_id, version=version, **kept))
    st.session_state.notes = {}
    st.session_state.drafts = {}


def _choose_dataset(datasets: list[store.DatasetInfo]) -> store.VersionInfo:
    """The dataset and version boxes; the view names a stored dataset and pins a version afterwards."""
    by_id = {d.dataset_id: d for d in datasets}
    view = _view()
    if view.dataset not in by_id:
        st.session_state.notices.append(
            f"Dataset {view.dataset!r} does not exist on this server; showing the bundled dataset."
        )
        fallback = bundled.DATASET_ID if bundled.DATASET_ID in by_id else datasets[0].dataset_id
        view = views.View(dataset=fallback, tz=view.tz, tab=view.tab, lanes=view.lanes, axis=view.axis)
    dataset = by_id[view.dataset]
    versions = [v.version for v in dataset.versions]
    if view.version is not None and view.version not in versions:
        withdrawn = next((w for w in dataset.withdrawn if w.version == view.version), None)
        st.session_state.notices.append(
            f"The {withdrawn.notice}; showing the newest version."
            if withdrawn is not None
            else f"Version {view.version!r} of {dataset.dataset_id!r} does not exist; showing the newest."
        )
        view = dataclasses.replace(view, version=None)
    if view.version is None:
        # Pinned from now on: a version saved later by someone else never changes what this page shows.
        view = dataclasses.replace(view, version=versions[0])
    _set_view(view)
    st.sidebar.selectbox(
        "Dataset",
        list(by_id),
        key="w:dataset",
        **_defaulted(_mirror("w:dataset", view.dataset), view.dataset, list(by_id), "index"),
        on_change=_switch_dataset,
        args=("w:dataset",),
        format_func=lambda i: by_id[i].name if by_id[i].name == i else f"{by_id[i].name} ({i})",
    )
    labels = {v.version: f"{v.version} · {v.created[:16].replace('T', ' ')} UTC" for v in dataset.versions}
    labels[versions[0]] += " (newest)"
    st.sidebar.selectbox("Version", versions, format_func=labels.get, **_control("version", options=versions))
    return next(v for v in dataset.versions if v.version == _view().version)


def _reconcile(version: store.VersionInfo) -> None:
    """Drop from the view what this dataset version lacks (actors, types, anchor…), once per version."""
    view = _view()
    opened = (view.dataset, view.version)
    if opened in st.session_state.reconciled:
        return
    st.session_state.reconciled.add(opened)
    counts = _rollups(version.dataset_id, version.version).counts
    present = views.Present(
        values={column: frozenset(values.index) for column, values in counts.items()},
        has_event=functools.partial(_has_event, version.dataset_id, version.version),
    )
    checked, notices = views.reconcile(view, present)
    st.session_state.notices.extend(notices)
    _set_view(checked)


def _reset_filters() -> None:
    view = _view()
    _set_view(dataclasses.replace(view, **_NO_FILTERS))
    st.session_state.notes = {}
    st.session_state.drafts = {}


def _labelled_counts(version: store.VersionInfo, column: str) -> tuple[list[str], dict[str, str]]:
    counts = _rollups(version.dataset_id, version.version).counts[column]
    return list(counts.index), {name: f"{name} ({n:,})" for name, n in counts.items()}


def _multiselect(label: str, version: store.VersionInfo, column: str, field: str) -> None:
    options, labels = _labelled_counts(version, column)
    st.sidebar.multiselect(
        label,
        options,
        format_func=labels.get,
        placeholder="All",
        help="Type to search; counts are events.",
        **_control(field, default="default"),
    )


def _field_notes(field: str) -> None:
    for note in st.session_state.notes.get(field, []):
        st.sidebar.warning(_plain(note))


def _filters(version: store.VersionInfo) -> views.View:
    st.sidebar.markdown("### Filters")
    _multiselect("Actors", version, s.ACTOR, "actors")
    _multiselect("Actor groups", version, s.ACTOR_GROUP, "groups")
    _multiselect("Event types", version, s.EVENT_TYPE, "types")
    for field, label, placeholder in (
        ("start", "From", "2024-03-22 or 2024-03-22T17:30"),
        ("end", "To (inclusive)", "2024-03-23"),
        ("query", "Search text", "words in title, text, actor, source"),
    ):
        st.sidebar.text_input(label, placeholder=placeholder, **_control(field))
        _field_notes(field)
    zones = _zones()
    st.sidebar.selectbox(
        "Display time zone",
        zones,
        help="Times are stored in UTC and shown in this zone. A typed window keeps its instants.",
        **_control("tz", options=zones),
    )
    st.sidebar.button("Reset filters", on_click=_reset_filters, width="stretch")
    return _view()


def _sync_url(current: views.View) -> str:
    """Write the view into the address bar and return the full shareable link (it always pins `v`)."""
    query = views.to_query(current, pinned=True)
    flat = {k: v if len(v) > 1 else v[0] for k, v in query.items()}
    if {k: st.query_params.get_all(k) for k in st.query_params} != query:
        st.query_params.from_dict(flat)
    address = urlsplit(st.context.url or "")
    return urlunsplit(address._replace(path=address.path or "/", query=urlencode(query, doseq=True)))


def _event_details(version: store.VersionInfo, current: views.View) -> None:
    """The open event (the view's `event`): its full text, links, source and every stored field."""
    rows = _event_rows(version.dataset_id, version.version, current.event)
    if rows.empty:
        return
    row = rows.iloc[0]
    with st.container(border=True):
        title = str(row[s.TITLE]) if pd.notna(row[s.TITLE]) else str(row[s.EVENT_TYPE])
        _heading(title)
        stated = display.stated_times(rows, current.tz).iloc[0]
        st.caption(_plain(f"{stated} · {row[s.ACTOR]} · {row[s.EVENT_TYPE]}"))
        if pd.notna(row[s.DESCRIPTION]):
            st.text(richtext.plain(str(row[s.DESCRIPTION])))
            for text, url in richtext.links(str(row[s.DESCRIPTION]))[:MAX_LINKS_SHOWN]:
                st.link_button(_plain(f"Link: {text or url}"[:LABEL_CHARS]), url)
        if pd.notna(row[s.SOURCE_URL]):
            source = row[s.SOURCE_NAME] if pd.notna(row[s.SOURCE_NAME]) else row[s.SOURCE_URL]
            st.link_button(_plain(f"Open source: {source}"[:LABEL_CHARS]), row[s.SOURCE_URL])
        elif pd.notna(row[s.SOURCE_NAME]):
            st.caption(_plain(f"Source: {row[s.SOURCE_NAME]}"))
        fields = {c: row[c] for c in s.COLUMN_NAMES if c != s.EXTRA and pd.notna(row[c])}
        if pd.notna(row[s.EXTRA]):
            fields.update({f"extra: {k}": v for k, v in json.loads(row[s.EXTRA]).items()})
        st.dataframe(
            pd.DataFrame({"field": list(fields), "value": [str(v) for v in fields.values()]}),
            hide_index=True,
            width="stretch",
        )
        left, right = st.columns(2)
        left.button(
            "Use as anchor (time zero)",
            key=f"anchor-{current.event}",
            on_click=_set_field,
            args=("anchor", current.event),
            disabled=current.anchor == current.event,
        )
        right.button("Close", key=f"close-{current.event}", on_click=_set_field, args=("event", None))


def _take_selection(key: str) -> None:
    """on_select of a chart or table that lists events: the chosen event opens (the view's `event`).

    A chart's points carry the event id as their first customdata; a table's rows are looked up in the
    ids it listed (kept beside it when it was drawn)."""
    selection = st.session_state[key].selection
    ids = [next(iter(figure_parts.customdata(p)), None) for p in selection.get("points", [])]
    listed = st.session_state.get(f"{key}:ids")
    if listed is not None:
        ids += [listed[r] for r in selection.get("rows", []) if 0 <= r < len(listed)]
    chosen = next((i for i in ids if isinstance(i, str) and i), None)
    if chosen is not None:
        _set_field("event", chosen)


def _set_field(field: str, value: object) -> None:
    """on_click of a button that sets one field of the view (an anchor, an open event)."""
    _set_view(views.edited(_view(), field, value).view)


def _plain(text: object) -> str:
    """Text for anything that renders Markdown (markdown, captions, alerts, headings, labels of buttons,
    checkboxes, radios and tabs), written so that the reader sees exactly this text and nothing else."""
    value = "" if text is None or (isinstance(text, float) and pd.isna(text)) else str(text)
    return richtext.literal_markdown(value)


def _heading(text: object) -> None:
    """A heading of text from data: one line (Markdown ends a heading at a line break)."""
    st.markdown(f"#### {_plain(' '.join(str(text).split()))}")


def _timeline_tab(
    shown: ibis.Table,
    count: int | None,
    current: views.View,
    anchor: _Anchor,
    version: store.VersionInfo,
    *,
    whole: bool,
) -> int:
    """shown: the events the filters keep, in the engine (count of them, when known; whole: all the
    version's, whose lanes the store has found): single events come back when few, else the engine counts
    them per lane and time bin. Returns how many events are in view (on a log axis, count must be given)."""
    left, right = st.columns(2)
    left.radio(
        "Lanes",
        views.LANES,
        horizontal=True,
        format_func={"actor": "One per actor", "group": "One per actor group"}.get,
        **_control("lanes", options=views.LANES),
    )
    right.radio(
        "Time axis",
        views.AXES,
        horizontal=True,
        format_func=AXIS_LABELS.get,
        **_control("axis", options=views.AXES),
    )
    origin = anchor.origin
    relative = current.axis != "time" and origin is not None
    if current.axis != "time" and origin is None:
        st.info("Time since the anchor needs an anchor event: pick one from an event's details.")
    window = views.window(current)
    windowed = window != (None, None)
    lane = s.ACTOR if current.lanes == "actor" else s.ACTOR_GROUP
    fig = figures.timeline_figure(
        events=shown,
        count=count,
        tz=current.tz,
        lane=lane,
        spans=_rollups(version.dataset_id, version.version).spans.get(lane) if whole else None,
        anchor_id=origin.event_id if origin is not None else None,
        focus_us=None if windowed or current.axis == "log" else reactions.focus_window(origin),
        relative_to_us=origin.start_us if relative else None,
        log=relative and current.axis == "log",
        anchor_frame=anchor.rows,
        window_us=window if windowed else None,
    )
    # What a box dragged over cells of counts is read against (the callback runs before the next figure).
    st.session_state["timeline_chart:layout"] = figures.drill_layout(fig)
    st.plotly_chart(
        fig,
        key="timeline_chart",
        width="stretch",
        on_select=functools.partial(_take_timeline_selection, "timeline_chart"),
        selection_mode=("points", "box"),
    )
    if current.event is None:
        st.caption("Click an event to see its full text, its source and every stored field.")
    _event_details(version, current)
    _figure_download(fig, "timeline", current)
    return count if count is not None else int(fig.layout.meta["events"])


def _selectable_chart(fig: go.Figure, key: str) -> None:
    """A chart whose points open their event's details when clicked."""
    st.plotly_chart(
        fig,
        width="stretch",
        key=key,
        on_select=functools.partial(_take_selection, key),
        selection_mode=("points",),
    )


def _take_timeline_selection(key: str) -> None:
    """on_select of the timeline: cells of counts narrow the view to their lanes and time span (a
    drill-down); an event opens its details."""
    layout = st.session_state.get(f"{key}:layout")
    drill = None if layout is None else figures.drill_down(st.session_state[key].selection, layout)
    if drill is None:
        _take_selection(key)
        return
    view = _view()
    lanes = "actors" if view.lanes == "actor" else "groups"
    start, end = views.window_text(drill.start_us, drill.stop_us, view.tz)
    known = tuple(lane for lane in drill.lanes if lane != figures.NO_GROUP)
    _set_view(dataclasses.replace(view, start=start, end=end, **({lanes: known} if known else {})))


def _figure_download(fig: go.Figure, name: str, current: views.View) -> None:
    """The figure as a standalone HTML page (plotly.js inside, so it opens offline)."""
    st.download_button(
        "Download figure (HTML)",
        lambda: figure_parts.standalone_html(fig, title=f"Event Timeline: {name} of {current.dataset}"),
        file_name=f"{current.dataset}-{name}.html",
        mime="text/html",
        key=f"download-{name}",
    )


def _anchor_caption(anchor: _Anchor, tz: str) -> None:
    origin = anchor.origin
    if origin is None:
        st.info("No anchor event: this dataset has no attack. Make any event the anchor from its details.")
        return
    stated = display.stated_times(anchor.rows, tz).iloc[0]
    st.caption(_plain(f"Time zero (anchor): {origin.title} · {stated} · event id {origin.event_id}"))


def _reactions_tab(
    shown: ibis.Table, current: views.View, anchor: _Anchor, version: store.VersionInfo
) -> None:
    """shown: the events the filters keep, in the engine; only each lane's first reaction comes back."""
    origin = anchor.origin
    _anchor_caption(anchor, current.tz)
    if origin is None:
        return
    left, middle, right = st.columns([2, 3, 2])
    left.radio(
        "One row per",
        views.GROUPINGS,
        horizontal=True,
        format_func=reactions.GROUPING_NAMES.get,
        **_control("by", options=views.GROUPINGS),
    )
    types = sorted(_rollups(version.dataset_id, version.version).counts[s.EVENT_TYPE].index)
    middle.multiselect(
        "Event types that count as a reaction",
        types,
        placeholder="All but " + " and ".join(reactions.NOT_REACTIONS),
        **_control("reacts", default="default"),
    )
    right.radio(
        "Time axis",
        views.REACTION_AXES,
        horizontal=True,
        format_func={"log": "Logarithmic", "linear": "Linear"}.get,
        **_control("reaction_axis", options=views.REACTION_AXES),
    )
    types = current.reacts or None
    candidates = query.reaction_rows(shown, origin, by=current.by, types=types)
    first = reactions.first_reactions(candidates, anchor=origin, by=current.by, types=types)
    fig = reaction_figures.reactions_figure(
        reactions=first, tz=current.tz, log=current.reaction_axis == "log", anchor=origin
    )
    _selectable_chart(fig, "reactions_chart")
    if len(first):
        st.markdown("**Who reacted first**, ranked by when each first reaction had certainly come")
        _event_list(
            "reactions_table",
            reactions.latency_table(first, current.tz, by=current.by),
            {
                reactions.SOURCE_LINK: st.column_config.LinkColumn(
                    "source link", display_text="open", validate=r"^https?://"
                ),
                reactions.FIRST_REACTION: st.column_config.TextColumn(width="large"),
            },
        )
        _event_details(version, current)
    silent = reactions.silent_lanes(query.lane_values(shown, by=current.by), first, by=current.by)
    if silent:
        listed = ", ".join(silent[:30]) + (f" and {len(silent) - 30} more" if len(silent) > 30 else "")
        st.caption(_plain(f"No reaction after the anchor from {len(silent)}: {listed}."))
    curve = reactions.reacted_curve(first)
    st.plotly_chart(
        reaction_figures.reacted_curve_figure(curve=curve, log=current.reaction_axis == "log"),
        width="stretch",
        key="reacted_curve_chart",
    )
    _figure_download(fig, "reactions", current)


def _event_list(key: str, table: pd.DataFrame, column_config: dict) -> None:
    """A table of events (its last column their ids, hidden) whose rows open an event when chosen."""
    st.session_state[f"{key}:ids"] = table[s.EVENT_ID].tolist()
    st.dataframe(
        table.drop(columns=[s.EVENT_ID]),
        hide_index=True,
        width="stretch",
        key=key,
        on_select=functools.partial(_take_selection, key),
        selection_mode="single-row",
        column_config=column_config,
    )


def _casualties_tab(
    shown: ibis.Table, current: views.View, anchor: _Anchor, version: store.VersionInfo
) -> None:
    """shown: the events the filters keep, in the engine; those that report a toll come back (the earliest
    MAX_TOLL_EVENTS of them)."""
    default = _default_toll_mode(version.dataset_id, version.version)
    st.radio(
        "Show",
        views.TOLL_MODES,
        horizontal=True,
        format_func=TOLL_MODE_LABELS.get,
        help="The dataset's default is chosen from its reports: many places mean many incidents.",
        **_control("toll", to_widget=lambda mode: mode or default, options=views.TOLL_MODES),
    )
    mode = current.toll or default
    reporting, total = query.toll_frame(shown, limit=MAX_TOLL_EVENTS)
    if total > len(reporting):
        st.warning(
            f"{total:,} events in view report casualties; this view reads the earliest {len(reporting):,} "
            "of them, so what follows them is not drawn. Narrow the time window or the filters to see all."
        )
    reports = casualties.with_disagreements(casualties.toll_reports(reporting))
    fig = toll_figures.toll_figure(reports=reports, tz=current.tz, anchor=anchor.origin, mode=mode)
    _selectable_chart(fig, "toll_chart")
    if len(reports):
        rows = reporting.set_index(s.EVENT_ID).loc[reports[s.EVENT_ID]].reset_index()
        listing = pd.DataFrame(
            {
                "time": display.stated_times(rows, current.tz).to_numpy(),
                "measure": reports[casualties.MEASURE].to_numpy(),
                "reported": reports[casualties.VALUE].to_numpy(),
                "reported by": reports[s.ACTOR].astype(str).to_numpy(),
                "kind": reports[casualties.REPORTER].to_numpy(),
                "disagrees with": casualties.disagreement_texts(reports, current.tz).to_numpy(),
                "source": reports[s.SOURCE_NAME].to_numpy(),
                "link": reports[s.SOURCE_URL].to_numpy(),
                s.EVENT_ID: reports[s.EVENT_ID].to_numpy(),
            }
        )
        _event_list(
            "toll_table",
            listing,
            {"link": st.column_config.LinkColumn("Source link", display_text="open", validate=r"^https?://")},
        )
        _event_details(version, current)
    _figure_download(fig, "casualties", current)


def _table_tab(
    shown: ibis.Table, count: int, current: views.View, version: store.VersionInfo, link: str
) -> None:
    """shown: the events the filters keep, in the engine (count of them); the first TABLE_ROWS_SHOWN come
    back to be listed, the downloads stream all of them from the server (link: the view's own link)."""
    listed = query.frame(shown, limit=TABLE_ROWS_SHOWN)
    table = pd.DataFrame(
        {
            # The time as the source stated it leads; the sortable start of its interval follows.
            "time": display.stated_times(listed, current.tz),
            "start": display.local_times(listed[s.TIMESTAMP], current.tz),
            **{c: listed[c] for c in TABLE_COLUMNS},
        }
    )
    table[s.DESCRIPTION] = richtext.plain_texts(table[s.DESCRIPTION])  # TimelineJS descriptions are HTML
    if count > TABLE_ROWS_SHOWN:
        st.caption(
            f"The first {TABLE_ROWS_SHOWN:,} of {count:,} events are listed; the downloads hold all of them."
        )
    st.session_state["events_table:ids"] = table[s.EVENT_ID].tolist()
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        key="events_table",
        on_select=functools.partial(_take_selection, "events_table"),
        selection_mode="single-row",
        column_config={
            "time": st.column_config.TextColumn("Time as stated", width="medium"),
            "start": st.column_config.DatetimeColumn(
                f"Earliest start ({current.tz})",
                format="YYYY-MM-DD HH:mm",
                help="the earliest moment the event could have started, in the display zone; sorts",
            ),
            s.SOURCE_URL: st.column_config.LinkColumn(
                "Source link", display_text="open", validate=r"^https?://"
            ),
            s.DESCRIPTION: st.column_config.TextColumn("Description", width="large"),
            s.EVENT_ID: st.column_config.TextColumn("Event id"),
        },
    )
    _event_details(version, current)
    left, right = st.columns(2)
    for column, fmt, label in ((left, "csv", "Download CSV"), (right, "parquet", "Download Parquet")):
        column.link_button(label, exports.download_link(link, fmt), width="stretch")


def _dataset_tab(version: store.VersionInfo) -> None:
    meta = version.meta
    _heading(meta.get("name", version.dataset_id))
    left, right = st.columns(2)
    layout = (
        f"{meta.get('preset', '?')}, {meta.get('encoding', '?')}, delimiter {meta.get('delimiter', '?')!r}"
    )
    left.markdown(
        f"- **Dataset id:** `{version.dataset_id}`\n- **Version:** `{version.version}`\n"
        f"- **Created:** {_plain(version.created)}\n"
        f"- **Source file:** {_plain(meta.get('source_file', '?'))}\n"
        f"- **Layout:** {_plain(layout)}\n- **Naive times read in:** {_plain(meta.get('tz', 'UTC'))}"
    )
    saved_by = version.saved_by
    left.markdown(
        f"- **Saved by:** {_plain(saved_by.describe())}"
        if saved_by is not None
        else "- **Saved by:** not recorded (saved before the store recorded who saves)"
    )
    withdrawn = store.withdrawals(version.dataset_id)
    if withdrawn:
        left.markdown(
            "**Withdrawn versions** (hidden from lists and links, kept on disk)\n"
            + "\n".join(f"- {_plain(w.notice)}" for w in withdrawn)
        )
    counts = {k: meta.get(k) for k in ("rows_read", "accepted", "rejected", "duplicates")}
    right.dataframe(pd.DataFrame({"count": counts}), width="stretch")
    st.markdown("**Column mapping** (canonical field ← input column)")
    st.dataframe(
        pd.DataFrame(
            {"field": list(meta.get("mapping", {})), "column": list(meta.get("mapping", {}).values())}
        ),
        hide_index=True,
    )
    for notice in meta.get("notices", []):
        st.info(_plain(notice))
    rejects = store.load_rejects(version.dataset_id, version.version).to_pandas()
    st.markdown(f"**Rejected rows ({len(rejects):,})**")
    if len(rejects):
        st.dataframe(rejects, hide_index=True, width="stretch")


def _import_panel(upload: st.runtime.uploaded_file_manager.UploadedFile) -> None:
    """Preview an uploaded CSV, let the user adjust the mapping and options, and save it."""
    data = upload.getvalue()
    _heading(f"Import {upload.name}")
    c1, c2, c3 = st.columns(3)
    order = c1.radio(
        "Numeric dates",
        ["auto", "dayfirst", "monthfirst"],
        horizontal=True,
        format_func={"auto": "detect", "dayfirst": "day first", "monthfirst": "month first"}.get,
    )
    tz = c2.selectbox("Times without offset are in", _zones(), index=_zones().index("UTC"), key="import_tz")
    name = c3.text_input("Dataset name", value=upload.name.rsplit(".", 1)[0], key="import_name")
    digest = hashlib.sha256(data).hexdigest()
    overrides: dict[str, str | None] = st.session_state.setdefault(f"overrides::{digest}", {})
    options = ImportOptions(file_name=upload.name, mapping=dict(overrides), tz=tz, date_order=order)
    try:
        job = _read_upload(data, options, digest)
    except TimelineError as exc:  # the server cannot start reading it (a full disk, a bad setting)
        st.error(_plain(f"This file cannot be imported: {exc}"))
        return
    if job.state is JobState.RUNNING:
        _import_progress(_import_key(digest, options))
        return
    if job.state is JobState.CANCELLED:
        st.info("The import was cancelled; nothing was saved.")
        st.button("Read the file again", on_click=_forget_import, args=(_import_key(digest, options),))
        return
    try:
        result = job.result()
    except TimelineError as exc:
        st.error(_plain(f"This file cannot be imported: {exc}"))
        # A mapping choice that made the file unreadable can be undone: the editor stays, as it was.
        usable = st.session_state.get(f"usable::{digest}")
        if usable is None:
            return
        st.button("Undo the last mapping change", on_click=_restore_mapping, args=(digest, usable))
        usable_options = dataclasses.replace(options, mapping=dict(usable))
        before = _read_upload(data, usable_options, digest)
        if before.state is JobState.RUNNING:  # freed meanwhile, and read again
            _import_progress(_import_key(digest, usable_options))
        elif before.state is JobState.DONE:
            _mapping_editor(before.result(), digest)
        return
    st.session_state[f"usable::{digest}"] = dict(overrides)
    _mapping_editor(result, digest)
    st.markdown(
        f"**{result.rows_read:,} rows read: {result.accepted:,} accepted, {result.rejected:,} rejected, "
        f"{result.duplicates:,} exact duplicates dropped** · layout {result.preset}, {result.encoding}, "
        f"delimiter `{result.delimiter!r}`"
    )
    for notice in result.notices:
        st.info(_plain(notice))
    preview = result.events.slice(0, 20).to_pandas()
    st.dataframe(preview.drop(columns=[s.EXTRA]), hide_index=True, width="stretch")
    if result.rejected:
        st.markdown("**Rejected rows and why**")
        st.dataframe(result.rejects.to_pandas(), hide_index=True, width="stretch")
    existing = {d.dataset_id for d in store.list_datasets()}
    try:
        dataset_id = store.slugify(name)
    except TimelineError as exc:
        st.error(_plain(exc))
        return
    # Said before Save is offered (the store refuses it anyway): a protected dataset takes no page versions.
    if refusal := store.write_refusal(dataset_id, access.page_author(_settings_and_user()[1])):
        st.error(_plain(f"This file cannot be saved under the name {name!r}: {refusal}"))
        return
    append = False
    if dataset_id in existing:
        append = st.checkbox(
            f"Merge into the newest version of {dataset_id!r} (otherwise replace it with a new version)"
        )
    if result.accepted == 0:
        st.error("No row could be imported, so there is nothing to save.")
        return
    st.button(
        f"Save as dataset {dataset_id!r}",
        type="primary",
        on_click=_save_upload,
        args=(data, result, options, name, dataset_id, append),
    )


@st.fragment(run_every=IMPORT_POLL_S)
def _import_progress(key: str) -> None:
    """The running import's stage and a Cancel button, redrawn on their own until it ends; then the page."""
    job = st.session_state.get("import_jobs", {}).get(key)
    if job is None or job.state is not JobState.RUNNING:
        st.rerun()
    progress = job.progress()
    st.progress(
        progress.fraction,
        text=f"Reading the file: {progress.stage} · {progress.elapsed_s:.0f} s "
        f"(stopped after {import_job.limit_words(job.time_limit_s)})",
    )
    st.button("Cancel the import", on_click=_cancel_import, args=(key,), key="cancel_import")


def _cancel_import(key: str) -> None:
    if (job := st.session_state.get("import_jobs", {}).get(key)) is not None:
        job.cancel()


def _forget_import(key: str) -> None:
    """on_click of "Read the file again": the next run starts a new import of it."""
    if (job := st.session_state.get("import_jobs", {}).pop(key, None)) is not None:
        job.close()


def _mapping_editor(result: ImportResult, digest: str) -> None:
    """Which input column holds each field, with sample values; a change reads the file again."""
    with st.expander("Column mapping: which column holds what (change any)", expanded=False):
        fields = mapping_form.form(result)
        folded = st.toggle("Show the fields of a date split over several columns", key=f"map-split::{digest}")
        for section in mapping_form.SECTIONS:
            shown = [f for f in fields if f.section == section and (folded or not f.advanced)]
            if not shown:
                continue
            st.markdown(f"**{section}**")
            grid = st.columns(3)
            choices = mapping_form.choices(result)
            for position, field in enumerate(shown):
                key = f"map::{digest}::{field.key}"
                grid[position % 3].selectbox(
                    field.label,
                    choices,
                    help=field.help,
                    format_func=functools.partial(_column_label, result.samples),
                    key=key,
                    **_defaulted(_mirror(key, field.column), field.column, choices, "index"),
                    on_change=_remap,
                    args=(digest, field.key, key, dict(result.mapping)),
                )


def _column_label(samples: dict, column: str | None) -> str:
    return mapping_form.column_choice_label(column, tuple(samples.get(column, ())) if column else ())


def _remap(digest: str, field_key: str, widget_key: str, mapping: dict[str, str]) -> None:
    """on_change of a mapping box: the overrides the file is read again with."""
    overrides = st.session_state.setdefault(f"overrides::{digest}", {})
    st.session_state[f"overrides::{digest}"] = mapping_form.overrides_after(
        field_key, st.session_state[widget_key], overrides, mapping=mapping
    )


def _restore_mapping(digest: str, overrides: dict[str, str | None]) -> None:
    st.session_state[f"overrides::{digest}"] = dict(overrides)


def _settings_and_user() -> tuple[access.AccessSettings, access.User | None]:
    """The operator's access settings, read afresh on every run, and the signed-in user (None: nobody)."""
    auth = st.secrets.get("auth") if st.secrets.load_if_toml_exists() else None
    return access.AccessSettings.read(os.environ, auth), access.User.from_claims(st.user.to_dict())


def _import_control() -> st.runtime.uploaded_file_manager.UploadedFile | None:
    """The sidebar's import: who may import here and why, the uploader for them, sign-in or sign-out."""
    shown = access.page_access(*_settings_and_user())
    st.sidebar.caption(_plain(shown.caption))
    upload = None
    if shown.may_write:
        upload = st.sidebar.file_uploader(
            "Import a CSV / TSV",
            type=["csv", "tsv", "txt"],
            key=f"upload::{st.session_state.get('uploader_generation', 0)}",
            help="Any common encoding, delimiter and date format; you review the mapping before saving.",
        )
    if shown.offer_sign_in:
        st.sidebar.button("Sign in to import", on_click=st.login, width="stretch")
    if shown.offer_sign_out:
        st.sidebar.button("Sign out", on_click=st.logout, width="stretch")
    return upload


def _save_upload(
    data: bytes, result: ImportResult, options: ImportOptions, name: str, dataset_id: str, append: bool
) -> None:
    """Store the import and switch the page to it (a callback: it runs before the widgets are drawn)."""
    # Asked again here: the session may have outlived the right to write (the operator changed the list).
    settings, user = _settings_and_user()
    if not access.may_write(user.verified_email if user else None, settings):
        refusal = access.page_access(settings, user).caption
        st.session_state.save_failed = f"The dataset was not saved: {refusal}"
        return
    meta = version_meta(result, name=name, source_file=options.file_name, options=options)
    try:
        info = store.save(
            result.events,
            result.rejects,
            meta,
            dataset_id=dataset_id,
            append=append,
            source=data,
            author=access.page_author(user),
        )
    except store.StoreWriteError as exc:  # its message says plainly that nothing was saved, and why
        st.session_state.save_failed = f"{str(exc)[:1].upper()}{str(exc)[1:]}"
        return
    except TimelineError as exc:
        st.session_state.save_failed = f"The dataset was not saved: {exc}"
        return
    _show_dataset(info.dataset_id, info.version)
    st.session_state.uploader_generation = st.session_state.get("uploader_generation", 0) + 1
    st.session_state.saved = (
        f"Saved {result.accepted:,} events as {info.dataset_id!r} (version {info.version})."
    )


@st.cache_resource(show_spinner=False)
def _remove_leftovers(root: str) -> int:
    """Once per server and store: what interrupted writes left in the store (store.remove_leftovers)."""
    return store.remove_leftovers(root=root)


def main() -> None:
    _open_session()
    _remove_leftovers(str(store.store_root()))
    datasets = store.list_datasets()
    if not datasets:
        st.error("The data store is empty. Rebuild the bundled dataset with `make data`.")
        return
    upload = _import_control()
    version = _choose_dataset(datasets)
    messages, header = st.container(), st.container()
    labels = {label: name for name, label in TAB_LABELS.items()}
    # No default for the tabs: st.tabs counts its default in its identity, so a default that followed the
    # view would make a new widget (and lose a click) at every change of tab.
    tab_objects = st.tabs(
        list(TAB_LABELS.values()), **_control("tab", "tab", TAB_LABELS.get, labels.get, default=None)
    )
    tabs = list(zip(TAB_LABELS, tab_objects, strict=True))
    name, tab = next(((n, t) for n, t in tabs if t.open), tabs[0])
    with tab:
        slot = st.empty()
    st.session_state.painted = True

    events = _events(version)
    _reconcile(version)
    current = _filters(version)
    link = _sync_url(current)

    with messages:
        if saved := st.session_state.pop("saved", None):
            st.success(_plain(saved))
        if failed := st.session_state.pop("save_failed", None):
            st.error(_plain(failed))
        for notice in st.session_state.notices:
            st.warning(_plain(notice))
        newest = next(d for d in datasets if d.dataset_id == current.dataset).versions[0].version
        if current.version != newest:
            st.info(
                _plain(f"This is version {current.version} of {current.dataset!r}; a newer version exists.")
            )
        if upload is not None:
            _import_panel(upload)
            st.divider()

    rollups = _rollups(version.dataset_id, version.version)
    if current.query:  # a search reads every text: its matches are kept for the passes after it
        shown, held_count = query.held(_engine(), events, _where(version), current)
    else:
        shown, held_count = query.filtered(events, current, max_span_us=rollups.max_span_us), None
    unfiltered = current == dataclasses.replace(current, **_NO_FILTERS)
    # The timeline counts the events it draws as it draws them (but not on a log axis, which leaves out
    # those before the anchor): counting them first would be one more pass over them.
    drawn_counts = name == "timeline" and current.axis != "log"
    if unfiltered:
        shown_count = rollups.rows
    elif held_count is not None or drawn_counts:
        shown_count = held_count
    else:
        shown_count = query.count(shown)
    anchor_id = current.anchor or _default_anchor(
        version.dataset_id, version.version, version.meta.get("anchor")
    )
    rows = _event_rows(version.dataset_id, version.version, anchor_id)
    anchor = _Anchor(rows, reactions.anchor_of(rows, anchor_id))

    try:
        with slot.container():
            if name == "timeline":
                shown_count = _timeline_tab(shown, shown_count, current, anchor, version, whole=unfiltered)
            elif name == "reactions":
                _reactions_tab(shown, current, anchor, version)
            elif name == "casualties":
                _casualties_tab(shown, current, anchor, version)
            elif name == "table":
                _table_tab(shown, shown_count, current, version, link)
            else:
                _dataset_tab(version)
    except Exception:  # the line stays when a view fails to draw
        _showing_line(
            header, query.count(shown) if shown_count is None else shown_count, rollups.rows, current, link
        )
        raise
    _showing_line(header, shown_count, rollups.rows, current, link)


def _showing_line(header: DeltaGenerator, shown: int, total: int, current: views.View, link: str) -> None:
    """The line "Showing N of M events", the zone and the filters, beside "Copy link"."""
    head, share = header.columns([5, 1])
    head.markdown(
        f"**Showing {shown:,} of {total:,} events** · "
        + _plain(f"times in {display.zone_label(current.tz)} · {views.describe(current)}")
    )
    with share:
        COPY_LINK(data={"link": link}, key="copy_link")


try:
    main()
except TimelineError as problem:
    st.error(_plain(problem))
except Exception:  # the last guard: a sentence on the page, the traceback only in the server log
    logging.getLogger("event_timeline").exception("the page failed")
    st.error(
        "Something went wrong while drawing this view. The details are in the server log. "
        "Try “Reset filters”, or open the page without its link parameters."
    )
finally:
    LOADING.empty()
